/* ustack tunnel: a small IPv4 VPN over UDP between a server and its clients,
 * each on a kernel TUN device, encrypted with a pre-shared key.
 *
 *   ustack tunnel genkey FILE
 *   ustack tunnel server --listen ADDR:PORT --tun NAME --ip ADDR/PREFIX --key FILE
 *   ustack tunnel client --server ADDR:PORT --tun NAME --ip ADDR/PREFIX --key FILE
 *
 * The TUN device is created and configured (MTU, address, up) through the
 * project's own rtnetlink code; it disappears when the program exits.
 *
 * Keys. The key file holds 32 random bytes as 64 hex digits (genkey writes
 * it with mode 0600 and refuses to overwrite; a key file readable by group
 * or others is refused). Two keys are derived from it with crypto_kdf
 * (context "ustnlv01"): id 1 for client-to-server packets, id 2 for
 * server-to-client packets, so the two directions never share a key.
 *
 * Packet format (every datagram, both directions):
 *
 *   0      type   (0x01 HELLO, 0x02 DATA, 0x03 BYE: client to server;
 *                  0x81 CHALLENGE, 0x82 ACK, 0x83 DATA, 0x84 PROBE,
 *                  0x85 NAK: server to client)
 *   1      version (1)
 *   2..3   zero
 *   4..11  csid: the client's session id, random per client process
 *   12..19 ssid: the server's session id for this client (random per
 *                session; 0 before the client knows it; the server's
 *                random instance id in a CHALLENGE)
 *   20..27 counter, starting at 1, one up per packet sent with this key
 *                and csid (client) or session (server); never reused
 *   28..   XChaCha20-Poly1305 (IETF) ciphertext of the payload + 16-byte tag
 *
 * The nonce is bytes 4..27 (csid, ssid, counter: 24 bytes) and the whole
 * 28-byte header is authenticated as associated data. Nonces never repeat
 * under a key: a client picks a fresh random csid each time it starts and
 * counts up; the server sends with a fresh random ssid per session (or its
 * random instance id for challenges) and counts up. Overhead per packet:
 * 28 + 16 = 44 bytes, plus 28 bytes of outer IPv4 and UDP header, so the
 * default TUN MTU is 1500 - 72 = 1428: an inner packet of the device's MTU
 * makes an outer datagram of exactly 1500 bytes and inner TCP never
 * fragments on a 1500-byte path.
 *
 * Sessions. A client sends HELLO {inner address, prefix, echo} every second
 * until it has a session, then every --keepalive seconds (default 20) as a
 * keepalive that also keeps NAT mappings open. The server answers a HELLO
 * from an unknown csid with a CHALLENGE: 8 bytes of SipHash (keyed with a
 * random per-run secret) over csid, the client's address and port and a
 * time bucket B (a third of --timeout, at most 10 s). Only a HELLO that
 * echoes a challenge of the current or previous bucket creates a session,
 * so a captured HELLO replayed more than 2B later cannot re-create a
 * session. Sooner, it meets its session's replay window: a live session
 * lasts at least --timeout = 3B after its last packet, and a closed or
 * evicted one is kept as a tombstone for 2.5B, dropping everything, before
 * its csid is forgotten. The server answers with ACK {its inner address,
 * the HELLO's counter}; the client adopts a (new) ssid only from an ACK
 * echoing one of the HELLOs it sent in the last 10 s. (So an old ACK
 * replayed right after a server restart can at worst point a client at the
 * dead session until its next keepalive is answered.) A restarted client
 * has a new csid and so simply starts a new session; a restarted server
 * answers a client's next DATA or keepalive with a CHALLENGE and the client
 * joins it again.
 *
 * Replays. Each receiver keeps a 2048-packet sliding window
 * (tunnel_replay.h) per session and direction (the server one per client,
 * the client one for its server session): a counter seen before, or 2048
 * or more behind the highest one, is dropped (RxReplay), after the packet
 * authenticated. A new window starts with everything up to the packet that
 * created it marked seen.
 *
 * Inner addresses. The inner address a client registers is inside the
 * encrypted HELLO. It must lie in the server's --ip prefix and not be the
 * server's own address or the prefix's network or broadcast address (NAK,
 * AddrRefused). Rule for an address already held by another session: the
 * server probes the holder (PROBE, which a live client answers at once with
 * a HELLO); if the holder answers, the newcomer is refused (NAK,
 * AddrConflicts) and the holder keeps its address; if the holder stays
 * silent for 3 s it is evicted (PeersEvicted) and the newcomer gets the
 * address. So a live client cannot be displaced, while a client that was
 * killed and restarted gets its address back within about 4 s without a
 * restart of the server. (Every client holds the same key, so this guards
 * against mistakes and stale sessions, not against a malicious key holder.)
 * A client's DATA whose inner source is not its registered address is
 * dropped (RxSpoofed).
 *
 * Routing (server). An inner packet, from a client or from the server's own
 * TUN device, goes to the client that registered its destination address;
 * a packet from a client to any other destination (the server's address,
 * elsewhere, broadcast or multicast) is written to the server's TUN device
 * for its kernel to handle, except one for a client address in the prefix
 * that no client holds, which is dropped (NoRoute), as is a packet from the
 * TUN device for such an address. Nothing is ever copied to several clients.
 * Client-to-client traffic passes through the server (decrypted and
 * encrypted again). Only IPv4 is carried; other packets read from the TUN
 * device are dropped (TunNotIpv4).
 *
 * Expiry. The server drops a session that sent nothing authentic for
 * --timeout seconds (default 60; PeersExpired), or on the client's BYE,
 * sent when a client exits cleanly (PeersClosed). A client that heard
 * nothing authentic from the server for --timeout seconds starts over
 * (ServerLost).
 *
 * Every datagram is hostile until it authenticates: lengths and the header
 * are checked first (RxMalformed), then the tag (RxAuthFail), then the
 * session (RxNoSession, RxStale) and the replay window (RxReplay), then the
 * inner packet (RxBadInner). Each drop is counted; counters are printed on
 * SIGUSR1, every --stats seconds and at exit (SIGINT/SIGTERM).
 *
 * Event loop: poll() over the UDP socket, the TUN device and a signalfd;
 * datagrams are read with recvmmsg and sent with sendmmsg in batches of up
 * to 32, the TUN device is read up to 64 packets per wakeup. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "tunnel_replay.h"
#include "ustack/host.h"

#define TNL_VERSION 1
#define TNL_HDR 28
#define TNL_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define TNL_OVERHEAD (TNL_HDR + TNL_TAG)
#define TNL_OUTER (20 + 8)   /* IPv4 + UDP */
#define TNL_DEFAULT_MTU (1500 - TNL_OUTER - TNL_OVERHEAD)
#define TNL_MTU_MIN 576
#define TNL_MTU_MAX 65000
#define TNL_BATCH 32
#define TNL_TUN_READS 64
#define TNL_UDP_ROUNDS 4
#define TNL_SLOT 65536        /* one datagram or inner packet */
#define TNL_CTL_LEN 16        /* payload of every control message */
#define CHAL_BUCKET_MAX_MS 10000  /* a challenge is good for its bucket and the next */
#define PROBE_WAIT_MS 3000    /* silence of a probed holder before eviction */
#define PROBE_GAP_MS 500
#define PROBE_FORGET_MS 10000
#define HELLO_CONNECT_MS 1000
#define HELLO_RING 16
#define HELLO_FRESH_MS 10000
#define CHAL_BURST 64         /* challenges: at most this many per second */
#define TICK_MS 250
#define KDF_CTX "ustnlv01"

enum {
	T_HELLO = 0x01, T_DATA = 0x02, T_BYE = 0x03,
	T_CHALLENGE = 0x81, T_ACK = 0x82, T_SDATA = 0x83, T_PROBE = 0x84, T_NAK = 0x85,
};
enum { NAK_IN_USE = 1, NAK_REFUSED = 2, NAK_FULL = 3 };

#define TNL_COUNTERS(X)                                                                         \
	X(RxDatagrams) X(RxBytes) X(RxMalformed) X(RxAuthFail) X(RxReplay) X(RxNoSession)       \
	X(RxStale) X(RxBadInner) X(RxSpoofed) X(RxErrors)                                       \
	X(TxDatagrams) X(TxBytes) X(TxErrors)                                                   \
	X(TunReadPackets) X(TunReadBytes) X(TunWritePackets) X(TunWriteBytes) X(TunWriteErrors) \
	X(TunNotIpv4) X(NoRoute) X(TunNoSession) X(Forwarded)                                \
	X(HellosSent) X(HellosRecv) X(ChallengesSent) X(ChallengesRecv) X(ChallengesLimited)    \
	X(Handshakes) X(ProbesSent) X(ProbesRecv) X(AddrConflicts) X(AddrRefused)               \
	X(PeersExpired) X(PeersEvicted) X(PeersClosed) X(PeersFull) X(ServerLost)

enum {
#define X(n) C_##n,
	TNL_COUNTERS(X)
#undef X
	C_COUNT
};
static const char *const counter_names[C_COUNT] = {
#define X(n) #n,
	TNL_COUNTERS(X)
#undef X
};

enum { P_FREE = 0, P_ACTIVE, P_TOMB };

struct peer {
	int state;
	uint64_t csid, ssid;
	struct sockaddr_in ep;
	struct in_addr inner;     /* 0 unless active */
	uint64_t tx_ctr;
	struct tnl_replay rx;
	uint64_t created_ms, last_rx_ms, tomb_until_ms;
	uint64_t probe_started_ms, last_probe_ms;
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes;
	int next_csid, next_addr;  /* hash chains, -1 ends */
};

struct txslot {
	uint8_t *buf;
	size_t len;
	struct sockaddr_in to;
};

struct tnl {
	int server;
	int tun_fd, udp_fd, sig_fd;
	char dev[IFNAMSIZ];
	struct in_addr ip;
	int plen;
	uint32_t mtu, txqlen;
	unsigned keepalive_s, timeout_s, stats_s;
	uint8_t k_c2s[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t k_s2c[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint64_t c[C_COUNT];
	uint64_t now;
	int stop;

	/* server */
	struct sockaddr_in listen;
	struct peer *peers;
	int max_peers, nbuckets;
	int *head_csid, *head_addr;
	uint8_t cookie_key[crypto_shorthash_KEYBYTES];
	uint64_t instance_id, chal_ctr, bucket_ms;
	uint64_t chal_tokens, chal_refill_ms;

	/* client */
	struct sockaddr_in server_ep;
	uint64_t csid, ssid, tx_ctr;
	struct tnl_replay rx;
	uint64_t last_rx_ms, last_hello_ms, last_chal_hello_ms;
	uint64_t challenge;
	int have_challenge, ever_connected, last_nak;
	struct { uint64_t ctr, ms; } hellos[HELLO_RING];
	unsigned hello_pos;
	struct in_addr server_inner;

	/* buffers */
	uint8_t *rxbuf[TNL_BATCH];
	struct mmsghdr rxmsg[TNL_BATCH];
	struct iovec rxiov[TNL_BATCH];
	struct sockaddr_in rxfrom[TNL_BATCH];
	struct txslot tx[TNL_BATCH];
	struct mmsghdr txmsg[TNL_BATCH];
	struct iovec txiov[TNL_BATCH];
	int ntx;
	uint8_t *pt;   /* decrypted payload / inner packet read from TUN */
};

/* ---- small helpers ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t rand64_nonzero(void)
{
	uint64_t v = 0;
	while (!v)
		randombytes_buf(&v, sizeof(v));
	return v;
}

static const char *ep_str(const struct sockaddr_in *sa, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u", ip, ntohs(sa->sin_port));
	return buf;
}

static const char *ip_str(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;
	fputs("ustack: tunnel: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* A well-formed IPv4 packet of exactly n bytes. */
static int ipv4_ok(const uint8_t *p, size_t n)
{
	if (n < 20 || (p[0] >> 4) != 4)
		return 0;
	size_t ihl = (size_t)(p[0] & 15) * 4;
	size_t tot = (size_t)p[2] << 8 | p[3];
	return ihl >= 20 && ihl <= n && tot == n;
}

static struct in_addr ipv4_src(const uint8_t *p)
{
	struct in_addr a;
	memcpy(&a, p + 12, 4);
	return a;
}

static struct in_addr ipv4_dst(const uint8_t *p)
{
	struct in_addr a;
	memcpy(&a, p + 16, 4);
	return a;
}

/* ---- sending ---- */

static void tx_flush(struct tnl *t)
{
	int n = t->ntx, done = 0;
	for (int i = 0; i < n; i++) {
		t->txiov[i].iov_base = t->tx[i].buf;
		t->txiov[i].iov_len = t->tx[i].len;
		memset(&t->txmsg[i], 0, sizeof(t->txmsg[i]));
		t->txmsg[i].msg_hdr.msg_iov = &t->txiov[i];
		t->txmsg[i].msg_hdr.msg_iovlen = 1;
		if (t->server) {
			t->txmsg[i].msg_hdr.msg_name = &t->tx[i].to;
			t->txmsg[i].msg_hdr.msg_namelen = sizeof(t->tx[i].to);
		}
	}
	/* Each round sends at least one message or skips one that failed. */
	while (done < n) {
		int r = sendmmsg(t->udp_fd, t->txmsg + done, (unsigned)(n - done), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			t->c[C_TxErrors]++;
			done++;
			continue;
		}
		for (int i = done; i < done + r; i++) {
			t->c[C_TxDatagrams]++;
			t->c[C_TxBytes] += t->tx[i].len;
		}
		done += r;
	}
	t->ntx = 0;
}

/* Seals a message into the next send slot (flushing when full). The
 * server gives the destination; the client's socket is connected. */
static void tx_seal(struct tnl *t, const struct sockaddr_in *to, uint8_t type, uint64_t csid, uint64_t ssid,
		    uint64_t ctr, const uint8_t *pt, size_t ptlen)
{
	if (ptlen > TNL_SLOT - TNL_OVERHEAD) {
		t->c[C_TxErrors]++;
		return;
	}
	if (t->ntx == TNL_BATCH)
		tx_flush(t);
	struct txslot *s = &t->tx[t->ntx];
	uint8_t *h = s->buf;
	h[0] = type;
	h[1] = TNL_VERSION;
	h[2] = h[3] = 0;
	put64(h + 4, csid);
	put64(h + 12, ssid);
	put64(h + 20, ctr);
	unsigned long long clen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(h + TNL_HDR, &clen, pt, ptlen, h, TNL_HDR, NULL, h + 4,
						   (type & 0x80) ? t->k_s2c : t->k_c2s);
	s->len = TNL_HDR + (size_t)clen;
	if (to)
		s->to = *to;
	t->ntx++;
}

static void tun_write(struct tnl *t, const uint8_t *p, size_t n)
{
	ssize_t w;
	do
		w = write(t->tun_fd, p, n);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)n) {
		t->c[C_TunWritePackets]++;
		t->c[C_TunWriteBytes] += n;
	} else {
		t->c[C_TunWriteErrors]++;
	}
}

/* ---- counters ---- */

static void print_stats(struct tnl *t)
{
	char a[INET_ADDRSTRLEN], e[64];
	printf("Tunnel:\n");
	for (int i = 0; i < C_COUNT; i++)
		printf("    %-20s %" PRIu64 "\n", counter_names[i], t->c[i]);
	if (t->server) {
		int n = 0;
		for (int i = 0; i < t->max_peers; i++)
			n += t->peers[i].state == P_ACTIVE;
		printf("Peers: %d\n", n);
		for (int i = 0; i < t->max_peers; i++) {
			struct peer *p = &t->peers[i];
			if (p->state != P_ACTIVE)
				continue;
			printf("    %-15s from %-21s session %016" PRIx64 "/%016" PRIx64
			       " rx %" PRIu64 " pkts %" PRIu64 " B, tx %" PRIu64 " pkts %" PRIu64 " B, idle %" PRIu64
			       " s\n",
			       ip_str(p->inner, a), ep_str(&p->ep, e, sizeof(e)), p->csid, p->ssid, p->rx_pkts,
			       p->rx_bytes, p->tx_pkts, p->tx_bytes, (t->now - p->last_rx_ms) / 1000);
		}
	} else if (t->ssid) {
		printf("Session: %016" PRIx64 "/%016" PRIx64 " with %s, idle %" PRIu64 " s\n", t->csid, t->ssid,
		       ep_str(&t->server_ep, e, sizeof(e)), (t->now - t->last_rx_ms) / 1000);
	} else {
		printf("Session: none\n");
	}
	fflush(stdout);
}

/* ---- server ---- */

static unsigned hash64(uint64_t v, int nbuckets)
{
	v ^= v >> 33;
	v *= UINT64_C(0xff51afd7ed558ccd);
	v ^= v >> 33;
	return (unsigned)(v & (uint64_t)(nbuckets - 1));
}

static void srv_rehash(struct tnl *t)
{
	for (int b = 0; b < t->nbuckets; b++)
		t->head_csid[b] = t->head_addr[b] = -1;
	for (int i = 0; i < t->max_peers; i++) {
		struct peer *p = &t->peers[i];
		p->next_csid = p->next_addr = -1;
		if (p->state == P_FREE)
			continue;
		unsigned b = hash64(p->csid, t->nbuckets);
		p->next_csid = t->head_csid[b];
		t->head_csid[b] = i;
		if (p->state == P_ACTIVE) {
			b = hash64(p->inner.s_addr, t->nbuckets);
			p->next_addr = t->head_addr[b];
			t->head_addr[b] = i;
		}
	}
}

static struct peer *srv_by_csid(struct tnl *t, uint64_t csid)
{
	for (int i = t->head_csid[hash64(csid, t->nbuckets)]; i >= 0; i = t->peers[i].next_csid)
		if (t->peers[i].csid == csid)
			return &t->peers[i];
	return NULL;
}

static struct peer *srv_by_addr(struct tnl *t, struct in_addr a)
{
	for (int i = t->head_addr[hash64(a.s_addr, t->nbuckets)]; i >= 0; i = t->peers[i].next_addr)
		if (t->peers[i].inner.s_addr == a.s_addr)
			return &t->peers[i];
	return NULL;
}

static void srv_bury(struct tnl *t, struct peer *p, const char *why)
{
	char a[INET_ADDRSTRLEN], e[64];
	logf_("peer %s at %s (session %016" PRIx64 ") %s", ip_str(p->inner, a), ep_str(&p->ep, e, sizeof(e)), p->csid,
	      why);
	p->state = P_TOMB;
	p->inner.s_addr = 0;
	p->tomb_until_ms = t->now + t->bucket_ms * 5 / 2;   /* > 2 buckets: a challenge's life */
	srv_rehash(t);
}

static void srv_send(struct tnl *t, struct peer *p, uint8_t type, const uint8_t *pt, size_t len)
{
	tx_seal(t, &p->ep, type, p->csid, p->ssid, ++p->tx_ctr, pt, len);
	p->tx_pkts++;
	p->tx_bytes += len;
}

/* ACK and NAK: 16 bytes, the HELLO's counter last. */
static void srv_ack(struct tnl *t, struct peer *p, uint64_t echo)
{
	uint8_t m[TNL_CTL_LEN] = {0};
	memcpy(m, &t->ip, 4);
	m[4] = (uint8_t)t->plen;
	put64(m + 8, echo);
	srv_send(t, p, T_ACK, m, sizeof(m));
}

static void srv_nak(struct tnl *t, const struct sockaddr_in *to, uint64_t csid, int reason, uint64_t echo)
{
	uint8_t m[TNL_CTL_LEN] = {0};
	m[0] = (uint8_t)reason;
	put64(m + 8, echo);
	tx_seal(t, to, T_NAK, csid, t->instance_id, ++t->chal_ctr, m, sizeof(m));
}

static uint64_t srv_cookie(struct tnl *t, uint64_t csid, const struct sockaddr_in *from, uint64_t bucket)
{
	uint8_t in[8 + 4 + 2 + 8], out[crypto_shorthash_BYTES];
	put64(in, csid);
	memcpy(in + 8, &from->sin_addr, 4);
	memcpy(in + 12, &from->sin_port, 2);
	put64(in + 14, bucket);
	crypto_shorthash(out, in, sizeof(in), t->cookie_key);
	return get64(out);
}

/* Challenges answer authentic packets of unknown sessions; a token bucket
 * bounds them (a flood of replays cannot make the server a reflector). */
static void srv_challenge(struct tnl *t, uint64_t csid, uint64_t echo, const struct sockaddr_in *from)
{
	if (t->now >= t->chal_refill_ms + 1000) {
		t->chal_tokens = CHAL_BURST;
		t->chal_refill_ms = t->now;
	}
	if (!t->chal_tokens) {
		t->c[C_ChallengesLimited]++;
		return;
	}
	t->chal_tokens--;
	uint8_t m[TNL_CTL_LEN];
	put64(m, srv_cookie(t, csid, from, t->now / t->bucket_ms));
	put64(m + 8, echo);
	tx_seal(t, from, T_CHALLENGE, csid, t->instance_id, ++t->chal_ctr, m, sizeof(m));
	t->c[C_ChallengesSent]++;
}

static int srv_addr_allowed(struct tnl *t, struct in_addr a)
{
	uint32_t mask = t->plen ? htonl(~UINT32_C(0) << (32 - t->plen)) : 0;
	if ((a.s_addr & mask) != (t->ip.s_addr & mask) || a.s_addr == t->ip.s_addr)
		return 0;
	if (t->plen <= 30 && ((a.s_addr & ~mask) == 0 || (a.s_addr & ~mask) == ~mask))
		return 0;
	return 1;
}

/* A HELLO from a csid with no session. */
static void srv_hello_new(struct tnl *t, uint64_t csid, uint64_t ctr, const uint8_t *m,
			  const struct sockaddr_in *from)
{
	uint64_t echo = get64(m + 8), bucket = t->now / t->bucket_ms;
	if (!echo || (echo != srv_cookie(t, csid, from, bucket) && echo != srv_cookie(t, csid, from, bucket - 1))) {
		srv_challenge(t, csid, ctr, from);
		return;
	}
	struct in_addr a;
	memcpy(&a, m, 4);
	char as[INET_ADDRSTRLEN], e[64];
	if (!srv_addr_allowed(t, a)) {
		t->c[C_AddrRefused]++;
		srv_nak(t, from, csid, NAK_REFUSED, ctr);
		return;
	}
	struct peer *h = srv_by_addr(t, a);
	if (h) {
		if (h->probe_started_ms && t->now - h->probe_started_ms > PROBE_FORGET_MS)
			h->probe_started_ms = 0;
		if (!h->probe_started_ms) {
			/* Is the holder alive? A live client answers at once. */
			h->probe_started_ms = h->last_probe_ms = t->now;
			srv_send(t, h, T_PROBE, (const uint8_t[TNL_CTL_LEN]){0}, TNL_CTL_LEN);
			t->c[C_ProbesSent]++;
			return;
		}
		if (h->last_rx_ms >= h->probe_started_ms) {
			t->c[C_AddrConflicts]++;
			logf_("refused %s to %s (session %016" PRIx64 "): in use by a live peer", ip_str(a, as),
			      ep_str(from, e, sizeof(e)), csid);
			h->probe_started_ms = 0;
			srv_nak(t, from, csid, NAK_IN_USE, ctr);
			return;
		}
		if (t->now - h->probe_started_ms < PROBE_WAIT_MS) {
			if (t->now - h->last_probe_ms >= PROBE_GAP_MS) {
				h->last_probe_ms = t->now;
				srv_send(t, h, T_PROBE, (const uint8_t[TNL_CTL_LEN]){0}, TNL_CTL_LEN);
				t->c[C_ProbesSent]++;
			}
			return;   /* the newcomer's next HELLO asks again */
		}
		t->c[C_PeersEvicted]++;
		srv_bury(t, h, "evicted: silent for 3 s while its address was claimed");
	}
	struct peer *p = NULL;
	for (int i = 0; i < t->max_peers && !p; i++)
		if (t->peers[i].state == P_FREE)
			p = &t->peers[i];
	for (int i = 0; i < t->max_peers && !p; i++)   /* else the tombstone closest to its end */
		if (t->peers[i].state == P_TOMB &&
		    (!p || t->peers[i].tomb_until_ms < p->tomb_until_ms))
			p = &t->peers[i];
	if (!p) {
		t->c[C_PeersFull]++;
		srv_nak(t, from, csid, NAK_FULL, ctr);
		return;
	}
	memset(p, 0, sizeof(*p));
	p->state = P_ACTIVE;
	p->csid = csid;
	p->ssid = rand64_nonzero();
	p->ep = *from;
	p->inner = a;
	tnl_replay_init(&p->rx, ctr);
	p->created_ms = p->last_rx_ms = t->now;
	srv_rehash(t);
	t->c[C_Handshakes]++;
	logf_("peer %s joined from %s (session %016" PRIx64 ")", ip_str(a, as), ep_str(from, e, sizeof(e)), csid);
	srv_ack(t, p, ctr);
}

/* An inner packet for dst, from a client (src_peer) or the TUN device. */
static void srv_route(struct tnl *t, struct peer *src_peer, const uint8_t *pkt, size_t n)
{
	struct in_addr dst = ipv4_dst(pkt);
	struct peer *p = dst.s_addr == t->ip.s_addr ? NULL : srv_by_addr(t, dst);
	if (p && p != src_peer) {
		srv_send(t, p, T_SDATA, pkt, n);
		if (src_peer)
			t->c[C_Forwarded]++;
	} else if (src_peer && (p || !srv_addr_allowed(t, dst))) {
		tun_write(t, pkt, n);   /* the server itself, elsewhere, broadcast */
	} else {
		t->c[C_NoRoute]++;      /* a client address nobody holds now */
	}
}

static void srv_datagram(struct tnl *t, const uint8_t *b, size_t n, const struct sockaddr_in *from)
{
	uint8_t type = b[0];
	if (type != T_HELLO && type != T_DATA && type != T_BYE) {
		t->c[C_RxMalformed]++;
		return;
	}
	uint64_t csid = get64(b + 4), ctr = get64(b + 20);
	unsigned long long mlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(t->pt, &mlen, NULL, b + TNL_HDR, n - TNL_HDR, b, TNL_HDR,
						       b + 4, t->k_c2s) != 0) {
		t->c[C_RxAuthFail]++;
		return;
	}
	if ((type != T_DATA && mlen != TNL_CTL_LEN)) {
		t->c[C_RxMalformed]++;
		return;
	}
	struct peer *p = srv_by_csid(t, csid);
	if (!p || p->state != P_ACTIVE) {
		if (type == T_HELLO && !p) {
			t->c[C_HellosRecv]++;
			srv_hello_new(t, csid, ctr, t->pt, from);
		} else {
			t->c[C_RxNoSession]++;
			if (!p && type == T_DATA)
				srv_challenge(t, csid, ctr, from);
		}
		return;
	}
	if (tnl_replay_check(&p->rx, ctr) < 0) {
		t->c[C_RxReplay]++;
		return;
	}
	p->last_rx_ms = t->now;
	p->rx_pkts++;
	p->rx_bytes += mlen;
	if (p->ep.sin_addr.s_addr != from->sin_addr.s_addr || p->ep.sin_port != from->sin_port)
		p->ep = *from;   /* roaming: the newest authentic packet's source */
	switch (type) {
	case T_HELLO: {
		t->c[C_HellosRecv]++;
		struct in_addr a;
		memcpy(&a, t->pt, 4);
		if (a.s_addr != p->inner.s_addr) {
			t->c[C_AddrConflicts]++;
			return;
		}
		srv_ack(t, p, ctr);
		return;
	}
	case T_BYE:
		t->c[C_PeersClosed]++;
		srv_bury(t, p, "left");
		return;
	default:
		break;
	}
	if (!ipv4_ok(t->pt, mlen)) {
		t->c[C_RxBadInner]++;
		return;
	}
	if (ipv4_src(t->pt).s_addr != p->inner.s_addr) {
		t->c[C_RxSpoofed]++;
		return;
	}
	srv_route(t, p, t->pt, mlen);
}

static void srv_tick(struct tnl *t)
{
	for (int i = 0; i < t->max_peers; i++) {
		struct peer *p = &t->peers[i];
		if (p->state == P_ACTIVE && t->now - p->last_rx_ms >= (uint64_t)t->timeout_s * 1000) {
			t->c[C_PeersExpired]++;
			srv_bury(t, p, "expired: silent too long");
		} else if (p->state == P_TOMB && t->now >= p->tomb_until_ms) {
			p->state = P_FREE;
			srv_rehash(t);
		}
	}
}

/* ---- client ---- */

static void cli_hello(struct tnl *t)
{
	uint8_t m[TNL_CTL_LEN] = {0};
	memcpy(m, &t->ip, 4);
	m[4] = (uint8_t)t->plen;
	/* Only a HELLO that opens a session carries the challenge. */
	if (!t->ssid && t->have_challenge)
		put64(m + 8, t->challenge);
	uint64_t ctr = ++t->tx_ctr;
	tx_seal(t, NULL, T_HELLO, t->csid, t->ssid, ctr, m, sizeof(m));
	t->hellos[t->hello_pos % HELLO_RING].ctr = ctr;
	t->hellos[t->hello_pos % HELLO_RING].ms = t->now;
	t->hello_pos++;
	t->last_hello_ms = t->now;
	t->c[C_HellosSent]++;
}

static int cli_recent_hello(struct tnl *t, uint64_t ctr)
{
	for (int i = 0; i < HELLO_RING; i++)
		if (t->hellos[i].ctr == ctr && ctr && t->now - t->hellos[i].ms <= HELLO_FRESH_MS)
			return 1;
	return 0;
}

static void cli_datagram(struct tnl *t, const uint8_t *b, size_t n)
{
	uint8_t type = b[0];
	if (type < T_CHALLENGE || type > T_NAK) {
		t->c[C_RxMalformed]++;
		return;
	}
	uint64_t csid = get64(b + 4), ssid = get64(b + 12), ctr = get64(b + 20);
	unsigned long long mlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(t->pt, &mlen, NULL, b + TNL_HDR, n - TNL_HDR, b, TNL_HDR,
						       b + 4, t->k_s2c) != 0) {
		t->c[C_RxAuthFail]++;
		return;
	}
	if (type != T_SDATA && mlen != TNL_CTL_LEN) {
		t->c[C_RxMalformed]++;
		return;
	}
	if (csid != t->csid) {
		t->c[C_RxNoSession]++;
		return;
	}
	char e[64], a[INET_ADDRSTRLEN];
	uint64_t echo = type == T_SDATA ? 0 : get64(t->pt + 8);   /* control payloads are 16 bytes */
	switch (type) {
	case T_CHALLENGE:
		/* Harmless even if replayed: it only makes us send a HELLO. */
		t->c[C_ChallengesRecv]++;
		t->challenge = get64(t->pt);
		t->have_challenge = 1;
		if (!t->ssid && t->now - t->last_chal_hello_ms >= 200) {
			t->last_chal_hello_ms = t->now;
			cli_hello(t);
		} else if (t->ssid && t->now - t->last_chal_hello_ms >= 1000) {
			/* The server lost our session (it restarted): join again,
			 * keeping the old one until an ACK replaces it. */
			uint64_t keep = t->ssid;
			t->ssid = 0;
			t->last_chal_hello_ms = t->now;
			cli_hello(t);
			t->ssid = keep;
		}
		return;
	case T_NAK:
		if (!cli_recent_hello(t, echo)) {
			t->c[C_RxStale]++;
			return;
		}
		if (t->pt[0] == NAK_IN_USE)
			t->c[C_AddrConflicts]++;
		else
			t->c[C_AddrRefused]++;
		if (t->last_nak != t->pt[0]) {
			t->last_nak = t->pt[0];
			logf_("the server refused %s: %s", ip_str(t->ip, a),
			      t->pt[0] == NAK_IN_USE ? "address in use by a live peer"
			      : t->pt[0] == NAK_FULL ? "no room for more peers"
						     : "address not allowed in its prefix");
		}
		return;
	case T_ACK:
		if (ssid && ssid == t->ssid) {
			if (tnl_replay_check(&t->rx, ctr) < 0) {
				t->c[C_RxReplay]++;
				return;
			}
			t->last_rx_ms = t->now;
			return;
		}
		if (!ssid || !cli_recent_hello(t, echo)) {
			t->c[C_RxStale]++;
			return;
		}
		t->ssid = ssid;
		tnl_replay_init(&t->rx, ctr);
		t->last_rx_ms = t->now;
		t->have_challenge = 0;
		t->last_nak = 0;
		memcpy(&t->server_inner, t->pt, 4);
		t->c[C_Handshakes]++;
		char sa[INET_ADDRSTRLEN];
		logf_("%s to %s as %s, server %s (session %016" PRIx64 "/%016" PRIx64 ")",
		      t->ever_connected ? "reconnected" : "connected", ep_str(&t->server_ep, e, sizeof(e)),
		      ip_str(t->ip, a), ip_str(t->server_inner, sa), t->csid, t->ssid);
		t->ever_connected = 1;
		return;
	default:
		break;
	}
	/* SDATA, PROBE: only within the current session. */
	if (!t->ssid || ssid != t->ssid) {
		t->c[C_RxNoSession]++;
		return;
	}
	if (tnl_replay_check(&t->rx, ctr) < 0) {
		t->c[C_RxReplay]++;
		return;
	}
	t->last_rx_ms = t->now;
	if (type == T_PROBE) {
		t->c[C_ProbesRecv]++;
		cli_hello(t);
		return;
	}
	if (!ipv4_ok(t->pt, mlen)) {
		t->c[C_RxBadInner]++;
		return;
	}
	tun_write(t, t->pt, mlen);
}

static void cli_tick(struct tnl *t)
{
	if (t->ssid && t->now - t->last_rx_ms >= (uint64_t)t->timeout_s * 1000) {
		char e[64];
		t->c[C_ServerLost]++;
		logf_("nothing from %s for %u s; joining again", ep_str(&t->server_ep, e, sizeof(e)), t->timeout_s);
		t->ssid = 0;
		t->have_challenge = 0;
	}
	uint64_t gap = t->ssid ? (uint64_t)t->keepalive_s * 1000 : HELLO_CONNECT_MS;
	if (t->now - t->last_hello_ms >= gap)
		cli_hello(t);
}

/* ---- loop ---- */

static void on_udp(struct tnl *t)
{
	for (int round = 0; round < TNL_UDP_ROUNDS; round++) {
		for (int i = 0; i < TNL_BATCH; i++) {
			t->rxiov[i].iov_base = t->rxbuf[i];
			t->rxiov[i].iov_len = TNL_SLOT;
			memset(&t->rxmsg[i], 0, sizeof(t->rxmsg[i]));
			t->rxmsg[i].msg_hdr.msg_iov = &t->rxiov[i];
			t->rxmsg[i].msg_hdr.msg_iovlen = 1;
			t->rxmsg[i].msg_hdr.msg_name = &t->rxfrom[i];
			t->rxmsg[i].msg_hdr.msg_namelen = sizeof(t->rxfrom[i]);
		}
		int n = recvmmsg(t->udp_fd, t->rxmsg, TNL_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				t->c[C_RxErrors]++;   /* e.g. ECONNREFUSED: the server is not there */
			break;
		}
		for (int i = 0; i < n; i++) {
			size_t len = t->rxmsg[i].msg_len;
			const uint8_t *b = t->rxbuf[i];
			t->c[C_RxDatagrams]++;
			t->c[C_RxBytes] += len;
			if ((t->rxmsg[i].msg_hdr.msg_flags & MSG_TRUNC) || len < TNL_OVERHEAD || b[1] != TNL_VERSION ||
			    b[2] || b[3] || t->rxmsg[i].msg_hdr.msg_namelen != sizeof(struct sockaddr_in) ||
			    t->rxfrom[i].sin_family != AF_INET || get64(b + 20) == 0) {
				t->c[C_RxMalformed]++;
				continue;
			}
			if (t->server)
				srv_datagram(t, b, len, &t->rxfrom[i]);
			else
				cli_datagram(t, b, len);
		}
		tx_flush(t);
		if (n < TNL_BATCH)
			break;
	}
}

static void on_tun(struct tnl *t)
{
	for (int i = 0; i < TNL_TUN_READS; i++) {
		ssize_t n = read(t->tun_fd, t->pt, TNL_SLOT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		t->c[C_TunReadPackets]++;
		t->c[C_TunReadBytes] += (uint64_t)n;
		if (!ipv4_ok(t->pt, (size_t)n)) {
			t->c[C_TunNotIpv4]++;
			continue;
		}
		if (t->server) {
			srv_route(t, NULL, t->pt, (size_t)n);
		} else if (!t->ssid) {
			t->c[C_TunNoSession]++;
		} else {
			tx_seal(t, NULL, T_DATA, t->csid, t->ssid, ++t->tx_ctr, t->pt, (size_t)n);
		}
	}
	tx_flush(t);
}

static void on_signal(struct tnl *t)
{
	struct signalfd_siginfo si;
	while (read(t->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			print_stats(t);
		else
			t->stop = 1;
	}
}

static int run_loop(struct tnl *t)
{
	struct pollfd pfd[3] = {
		{.fd = t->sig_fd, .events = POLLIN},
		{.fd = t->udp_fd, .events = POLLIN},
		{.fd = t->tun_fd, .events = POLLIN},
	};
	uint64_t next_tick = 0, next_stats = t->stats_s ? mono_ms() + (uint64_t)t->stats_s * 1000 : 0;
	while (!t->stop) {
		int r = poll(pfd, 3, TICK_MS);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "ustack: poll: %s\n", strerror(errno));
			return -1;
		}
		t->now = mono_ms();
		if (r > 0) {
			if (pfd[0].revents)
				on_signal(t);
			if (pfd[1].revents)
				on_udp(t);
			if (pfd[2].revents & POLLIN)
				on_tun(t);
			if (pfd[2].revents & (POLLERR | POLLHUP | POLLNVAL)) {
				fprintf(stderr, "ustack: the TUN device went away\n");
				return -1;
			}
		}
		if (t->now >= next_tick) {
			next_tick = t->now + TICK_MS;
			if (t->server)
				srv_tick(t);
			else
				cli_tick(t);
			tx_flush(t);
		}
		if (next_stats && t->now >= next_stats) {
			next_stats = t->now + (uint64_t)t->stats_s * 1000;
			print_stats(t);
		}
	}
	return 0;
}

/* ---- keys ---- */

static int cmd_genkey(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		puts("usage: ustack tunnel genkey FILE\n\n"
		     "Writes a new random 32-byte key, as 64 hex digits, to FILE (mode 0600).\n"
		     "An existing FILE is never overwritten.");
		return 0;
	}
	if (argc != 2)
		app_usage_error("tunnel genkey wants exactly one argument, the key file");
	if (argv[1][0] == '-')
		app_usage_error("tunnel genkey: unknown option '%s'", argv[1]);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "ustack: cannot create %s: %s%s\n", argv[1], strerror(errno),
			errno == EEXIST ? " (refusing to overwrite a key)" : "");
		return 1;
	}
	uint8_t key[32];
	char hex[65];
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	hex[64] = '\n';
	int ok = fchmod(fd, 0600) == 0 && write(fd, hex, 65) == 65 && fsync(fd) == 0;
	int e = errno;
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	if (close(fd) < 0 && ok) {
		ok = 0;
		e = errno;
	}
	if (!ok) {
		fprintf(stderr, "ustack: cannot write %s: %s\n", argv[1], strerror(e));
		unlink(argv[1]);
		return 1;
	}
	return 0;
}

/* Reads and checks the key file; prints why and returns -1 on failure. */
static int load_key(const char *path, uint8_t key[32])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fprintf(stderr, "ustack: cannot open the key file %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "ustack: the key file %s is not a regular file\n", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		fprintf(stderr,
			"ustack: the key file %s is accessible by group or others (mode %04o); "
			"refusing to use it (chmod 600 %s)\n",
			path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	char buf[160];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	size_t got = 0;
	int bad = n != 64 || sodium_hex2bin(key, 32, buf, 64, NULL, &got, NULL) != 0 || got != 32;
	sodium_memzero(buf, sizeof(buf));
	if (bad) {
		fprintf(stderr, "ustack: the key file %s does not hold a key (64 hex digits, as written by "
				"`ustack tunnel genkey`)\n", path);
		return -1;
	}
	return 0;
}

/* ---- set-up ---- */

static void tunnel_usage(FILE *out)
{
	fprintf(out,
		"usage: ustack tunnel genkey FILE\n"
		"       ustack tunnel server --listen ADDR:PORT --tun NAME --ip ADDR/PREFIX --key FILE [options]\n"
		"       ustack tunnel client --server ADDR:PORT --tun NAME --ip ADDR/PREFIX --key FILE [options]\n"
		"\n"
		"An IPv4 VPN over UDP: clients' packets travel, encrypted with the pre-shared key\n"
		"(XChaCha20-Poly1305), to the server, which hands each to the client that owns its\n"
		"destination address or to its own TUN device. Creates the TUN device NAME with\n"
		"ADDR/PREFIX and removes it on SIGINT/SIGTERM. SIGUSR1 prints the counters.\n"
		"\n"
		"options:\n"
		"  --mtu N          the TUN device's MTU (default %d: 1500 minus outer IPv4+UDP (28)\n"
		"                   and the tunnel's own %d bytes)\n"
		"  --keepalive S    client: HELLO every S seconds (default 20) to keep the session\n"
		"                   and NAT mappings alive\n"
		"  --timeout S      a silent peer (server) or server (client) is dropped after S\n"
		"                   seconds (default 60, at least 3 and twice --keepalive)\n"
		"  --stats S        print the counters every S seconds too\n"
		"  --max-peers N    server: at most N clients (default 256)\n"
		"  --txqueuelen N   the TUN device's transmit queue (kernel default 500); longer\n"
		"                   means fewer drops under bursts, more queueing delay\n",
		(int)TNL_DEFAULT_MTU, (int)TNL_OVERHEAD);
}

static int parse_endpoint(const char *s, struct sockaddr_in *sa)
{
	char buf[64];
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	char *colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = 0;
	uint16_t port;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (app_parse_ip(buf, &sa->sin_addr) < 0 || app_parse_port(colon + 1, &port) < 0)
		return -1;
	sa->sin_port = htons(port);
	return 0;
}

static long parse_num(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		app_usage_error("--%s wants a number %ld..%ld, got '%s'", opt, lo, hi, s);
	return v;
}

static void sock_buf(int fd, int opt_force, int opt, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, opt_force, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

static void tnl_free(struct tnl *t)
{
	for (int i = 0; i < TNL_BATCH; i++) {
		free(t->rxbuf[i]);
		free(t->tx[i].buf);
	}
	free(t->pt);
	free(t->peers);
	free(t->head_csid);
	free(t->head_addr);
	sodium_memzero(t->k_c2s, sizeof(t->k_c2s));
	sodium_memzero(t->k_s2c, sizeof(t->k_s2c));
	sodium_memzero(t->cookie_key, sizeof(t->cookie_key));
}

static int run_side(int server, int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, 0, 'l'}, {"server", required_argument, 0, 's'},
		{"tun", required_argument, 0, 'U'},    {"ip", required_argument, 0, 'i'},
		{"key", required_argument, 0, 'k'},    {"mtu", required_argument, 0, 'm'},
		{"keepalive", required_argument, 0, 'K'}, {"timeout", required_argument, 0, 't'},
		{"stats", required_argument, 0, 'S'},  {"max-peers", required_argument, 0, 'P'},
		{"txqueuelen", required_argument, 0, 'Q'},
		{"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
	};
	const char *side = server ? "server" : "client";
	const char *tun = NULL, *keyfile = NULL;
	struct sockaddr_in ep;
	int has_ep = 0, has_ip = 0, has_keepalive = 0;
	static struct tnl T;   /* large: keep it off the stack */
	struct tnl *t = &T;
	memset(t, 0, sizeof(*t));
	t->server = server;
	t->tun_fd = t->udp_fd = t->sig_fd = -1;
	t->mtu = TNL_DEFAULT_MTU;
	t->keepalive_s = 20;
	t->timeout_s = 60;
	t->max_peers = 256;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
		case 's':
			if ((c == 'l') != server)
				app_usage_error("tunnel %s does not take --%s", side, c == 'l' ? "listen" : "server");
			if (parse_endpoint(optarg, &ep) < 0)
				app_usage_error("--%s wants an IPv4 ADDR:PORT, got '%s'", c == 'l' ? "listen" : "server",
						optarg);
			has_ep = 1;
			break;
		case 'U':
			if (!*optarg || strlen(optarg) >= IFNAMSIZ || strchr(optarg, '/') || strchr(optarg, ' ') ||
			    strchr(optarg, '%'))
				app_usage_error("--tun wants a device name of 1..15 characters, got '%s'", optarg);
			tun = optarg;
			break;
		case 'i':
			if (app_parse_cidr(optarg, &t->ip, &t->plen, 1) < 0 || t->plen < 1 || t->plen > 32)
				app_usage_error("--ip wants ADDR/PREFIX (prefix 1..32), got '%s'", optarg);
			has_ip = 1;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'm':
			t->mtu = (uint32_t)parse_num("mtu", optarg, TNL_MTU_MIN, TNL_MTU_MAX);
			break;
		case 'K':
			if (server)
				app_usage_error("--keepalive is a client option (the server answers the client's)");
			t->keepalive_s = (unsigned)parse_num("keepalive", optarg, 1, 600);
			has_keepalive = 1;
			break;
		case 't':
			t->timeout_s = (unsigned)parse_num("timeout", optarg, 3, 86400);
			break;
		case 'S':
			t->stats_s = (unsigned)parse_num("stats", optarg, 0, 86400);
			break;
		case 'Q':
			t->txqlen = (uint32_t)parse_num("txqueuelen", optarg, 16, 100000);
			break;
		case 'P':
			if (!server)
				app_usage_error("--max-peers is a server option");
			t->max_peers = (int)parse_num("max-peers", optarg, 1, 65536);
			break;
		case 'h':
			tunnel_usage(stdout);
			return 0;
		case ':':
			app_usage_error("option '%s' wants a value", argv[optind - 1]);
		default:
			app_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		app_usage_error("unexpected argument '%s'", argv[optind]);
	if (!has_ep)
		app_usage_error("tunnel %s needs --%s ADDR:PORT", side, server ? "listen" : "server");
	if (!tun)
		app_usage_error("tunnel %s needs --tun NAME", side);
	if (!has_ip)
		app_usage_error("tunnel %s needs --ip ADDR/PREFIX", side);
	if (!keyfile)
		app_usage_error("tunnel %s needs --key FILE (make one with `ustack tunnel genkey FILE`)", side);
	if (!server && !has_keepalive && t->timeout_s < 2 * t->keepalive_s)
		t->keepalive_s = t->timeout_s / 2;
	if (!server && t->timeout_s < 2 * t->keepalive_s)
		app_usage_error("--timeout (%u s) must be at least twice --keepalive (%u s)", t->timeout_s,
				t->keepalive_s);
	if (server && ep.sin_port == 0)
		app_usage_error("--listen needs a port");
	if (!server && ep.sin_addr.s_addr == 0)
		app_usage_error("--server needs an address other than 0.0.0.0");

	uint8_t master[32];
	if (load_key(keyfile, master) < 0)
		return 1;
	crypto_kdf_derive_from_key(t->k_c2s, sizeof(t->k_c2s), 1, KDF_CTX, master);
	crypto_kdf_derive_from_key(t->k_s2c, sizeof(t->k_s2c), 2, KDF_CTX, master);
	sodium_memzero(master, sizeof(master));

	int rc = 1;
	t->sig_fd = app_signal_fd();
	if (t->sig_fd < 0) {
		perror("ustack: signalfd");
		goto out;
	}
	for (int i = 0; i < TNL_BATCH; i++) {
		t->rxbuf[i] = malloc(TNL_SLOT);
		t->tx[i].buf = malloc(TNL_SLOT);
		if (!t->rxbuf[i] || !t->tx[i].buf)
			goto nomem;
	}
	t->pt = malloc(TNL_SLOT);
	if (!t->pt)
		goto nomem;
	if (server) {
		t->nbuckets = 16;
		while (t->nbuckets < 2 * t->max_peers)
			t->nbuckets *= 2;
		t->peers = calloc((size_t)t->max_peers, sizeof(*t->peers));
		t->head_csid = malloc(sizeof(int) * (size_t)t->nbuckets);
		t->head_addr = malloc(sizeof(int) * (size_t)t->nbuckets);
		if (!t->peers || !t->head_csid || !t->head_addr)
			goto nomem;
		srv_rehash(t);
		randombytes_buf(t->cookie_key, sizeof(t->cookie_key));
		t->instance_id = rand64_nonzero();
		t->bucket_ms = (uint64_t)t->timeout_s * 1000 / 3;
		if (t->bucket_ms > CHAL_BUCKET_MAX_MS)
			t->bucket_ms = CHAL_BUCKET_MAX_MS;
		t->chal_tokens = CHAL_BURST;
		t->listen = ep;
	} else {
		t->server_ep = ep;
		t->csid = rand64_nonzero();
	}

	/* The socket first: a busy port fails before any device exists. */
	char e[64], a[INET_ADDRSTRLEN];
	t->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->udp_fd < 0) {
		perror("ustack: socket");
		goto out;
	}
	sock_buf(t->udp_fd, SO_RCVBUFFORCE, SO_RCVBUF, 4 << 20);
	sock_buf(t->udp_fd, SO_SNDBUFFORCE, SO_SNDBUF, 4 << 20);
	if (server ? bind(t->udp_fd, (struct sockaddr *)&ep, sizeof(ep)) < 0
		   : connect(t->udp_fd, (struct sockaddr *)&ep, sizeof(ep)) < 0) {
		fprintf(stderr, "ustack: cannot %s %s: %s\n", server ? "listen on" : "use the server address",
			ep_str(&ep, e, sizeof(e)), strerror(errno));
		goto out;
	}

	struct us_tun_open_info info;
	int fd = us_tun_open(tun, IFF_TUN | IFF_NO_PI, &info);
	if (fd < 0) {
		char buf[256];
		fprintf(stderr, "ustack: %s\n", us_tun_strerror(fd, buf, sizeof(buf)));
		goto out;
	}
	t->tun_fd = fd;
	snprintf(t->dev, sizeof(t->dev), "%s", info.name);
	int r;
	const char *what = NULL;
	if ((r = us_nl_link_set_mtu(t->dev, t->mtu)) < 0)
		what = "cannot set the device's MTU";
	else if (t->txqlen && (r = us_nl_link_set_txqlen(t->dev, t->txqlen)) < 0)
		what = "cannot set the device's transmit queue length";
	else if ((r = us_nl_addr_add(t->dev, t->ip, t->plen)) < 0 && r != -EEXIST)
		what = "cannot add the device's address";
	else if ((r = us_nl_link_set_up(t->dev, 1)) < 0)
		what = "cannot bring the device up";
	if (what) {
		fprintf(stderr, "ustack: %s: %s\n", what, strerror(-r));
		goto out;
	}
	t->now = mono_ms();
	if (server)
		printf("ustack: tunnel server on %s %s/%d mtu %u%s, listening on %s\n", t->dev, ip_str(t->ip, a), t->plen,
		       t->mtu, info.created ? " (device created)" : "", ep_str(&ep, e, sizeof(e)));
	else
		printf("ustack: tunnel client on %s %s/%d mtu %u%s, server %s\n", t->dev, ip_str(t->ip, a), t->plen,
		       t->mtu, info.created ? " (device created)" : "", ep_str(&ep, e, sizeof(e)));
	fflush(stdout);
	if (!server)
		cli_hello(t), tx_flush(t);

	rc = run_loop(t) < 0 ? 1 : 0;
	t->now = mono_ms();
	if (!server && t->ssid) {
		tx_seal(t, NULL, T_BYE, t->csid, t->ssid, ++t->tx_ctr, (const uint8_t[TNL_CTL_LEN]){0}, TNL_CTL_LEN);
		tx_flush(t);
	}
	printf("ustack: stopping\n");
	print_stats(t);
	goto out;
nomem:
	fprintf(stderr, "ustack: out of memory\n");
out:
	/* Closing the fd removes a device this program created. */
	if (t->tun_fd >= 0)
		close(t->tun_fd);
	if (t->udp_fd >= 0)
		close(t->udp_fd);
	if (t->sig_fd >= 0)
		close(t->sig_fd);
	tnl_free(t);
	return rc;
}

int cmd_tunnel(int argc, char **argv)
{
	if (argc < 2)
		app_usage_error("tunnel wants a command: genkey, server or client");
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		tunnel_usage(stdout);
		return 0;
	}
	if (strcmp(sub, "genkey") && strcmp(sub, "server") && strcmp(sub, "client"))
		app_usage_error("unknown tunnel command '%s' (genkey, server or client)", sub);
	if (sodium_init() < 0) {
		fprintf(stderr, "ustack: cannot initialise libsodium\n");
		return 1;
	}
	if (!strcmp(sub, "genkey"))
		return cmd_genkey(argc - 1, argv + 1);
	return run_side(!strcmp(sub, "server"), argc - 1, argv + 1);
}
