/* The tunnel's protocol (no I/O): wire format, sealing, sessions.
 *
 * Keys. The key file holds 32 random bytes. Two keys are derived from it
 * with crypto_kdf (context "ustnlv01"): id 1 for client-to-server packets,
 * id 2 for server-to-client packets, so the two directions never share a key.
 *
 * Packet format (every datagram, both directions):
 *
 *   0      type   (0x01 HELLO, 0x02 DATA, 0x03 BYE: client to server;
 *                  0x81 CHALLENGE, 0x82 ACK, 0x83 DATA, 0x84 PROBE,
 *                  0x85 NAK: server to client)
 *   1      version (2)
 *   2..3   zero
 *   4..11  csid: the client's session id, random per client process
 *   12..19 ssid: the server's session id for this client (random per
 *                session; 0 before the client knows it; the server's
 *                random instance id in a CHALLENGE or NAK)
 *   20..27 counter, nonzero, one up per packet sent with this key and csid
 *                (client) or peer slot (server); never reused
 *   28..   XChaCha20-Poly1305 (IETF) ciphertext of the payload + 16-byte tag
 *
 * The nonce is bytes 4..27 (csid, ssid, counter: 24 bytes) and the whole
 * 28-byte header is authenticated as associated data. Nonces never repeat
 * under a key: a client picks a fresh random csid each time it starts and
 * counts up; the server sends with a fresh random ssid per session (or its
 * random instance id for challenges) and a counter per peer slot that is
 * never reset. XChaCha20 is HChaCha20 of the key and the nonce's first 16
 * bytes, then ChaCha20 with the last 8: the first 16 bytes are the same for
 * a whole session, so the subkey is computed once per session (libsodium's
 * crypto_core_hchacha20) and each packet is sealed with ChaCha20-Poly1305
 * (OpenSSL's, about twice as fast as libsodium's on short messages; the
 * unit test checks the bytes against libsodium's XChaCha20-Poly1305).
 *
 * Control payloads are 32 bytes: HELLO and ACK {IPv4 address [0..3], IPv4
 * prefix [4], IPv6 prefix [5], flags [6] (1: has IPv4, 2: has IPv6), 0,
 * echo [8..15], IPv6 address [16..31]}; CHALLENGE {cookie, echo}; NAK
 * {reason [0], echo [8..15]}; PROBE and BYE zeros.
 *
 * Sessions. A client sends HELLO {inner addresses, echo} every second
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
 * its csid is forgotten. The server answers with ACK {its inner addresses,
 * the HELLO's counter}; the client adopts a (new) ssid only from an ACK
 * echoing one of the HELLOs it sent in the last 10 s. A restarted client
 * has a new csid and so simply starts a new session; a restarted server
 * answers a client's next DATA or keepalive with a CHALLENGE and the client
 * joins it again.
 *
 * Replays. Each receiver keeps a 2048-packet sliding window
 * (tunnel_replay.h) per session and direction: a counter seen before, or
 * 2048 or more behind the highest one, is dropped (RxReplay), after the
 * packet authenticated. A new window starts with everything up to the
 * packet that created it marked seen.
 *
 * Inner addresses. A client registers one IPv4 address, one IPv6 address
 * or both, inside the encrypted HELLO. Each must lie in the server's prefix
 * of its family and not be the server's own address or the prefix's
 * network (or IPv4 broadcast) address (NAK, AddrRefused). Rule for an
 * address already held by another session: the server probes the holder
 * (PROBE, which a live client answers at once with a HELLO); if the holder
 * answers, the newcomer is refused (NAK, AddrConflicts) and the holder
 * keeps its address; if the holder stays silent for 3 s it is evicted
 * (PeersEvicted) and the newcomer gets the address. (Every client holds the
 * same key, so this guards against mistakes and stale sessions, not
 * against a malicious key holder.) A client's DATA whose inner source is
 * not its registered address of that family is dropped (RxSpoofed).
 *
 * Routing (server). An inner packet, from a client or from the server's own
 * TUN device, goes to the client that registered its destination address;
 * a packet from a client to any other destination (the server's address,
 * elsewhere, multicast) is written to the server's TUN device for its
 * kernel to handle, except one for a client address in a prefix that no
 * client holds, which is dropped (NoRoute), as is a packet from the TUN
 * device for such an address. Nothing is ever copied to several clients.
 * IPv6 packets that belong on their link (link-local or unspecified
 * source, link-local destination: router solicitations, MLD reports) are
 * never tunnelled (TunLinkScope).
 *
 * Expiry. The server drops a session that sent nothing authentic for
 * --timeout seconds (PeersExpired), or on the client's BYE (PeersClosed).
 * A client that heard nothing authentic from the server for --timeout
 * seconds starts over (ServerLost).
 *
 * Every datagram is hostile until it authenticates: lengths and the header
 * are checked first (RxMalformed), then the tag (RxAuthFail), then the
 * session (RxNoSession, RxStale) and the replay window (RxReplay), then the
 * inner packet (RxBadInner, RxSpoofed). Each drop is counted. */
#include "tunnel_proto.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAL_BUCKET_MAX_MS 10000
#define PROBE_WAIT_MS 3000
#define PROBE_GAP_MS 500
#define PROBE_FORGET_MS 10000
#define HELLO_CONNECT_MS 1000
#define HELLO_FRESH_MS 10000
#define CHAL_BURST 64
#define KDF_CTX "ustnlv01"
#define F_HAS4 1
#define F_HAS6 2

const char *const tnl_counter_names[C_COUNT] = {
#define X(n, d) #n,
	TNL_COUNTERS(X)
#undef X
};
const char *const tnl_counter_descs[C_COUNT] = {
#define X(n, d) d,
	TNL_COUNTERS(X)
#undef X
};

static void logf_(const struct tnl_cfg *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const struct tnl_cfg *cfg, const char *fmt, ...)
{
	if (!cfg->log)
		return;
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cfg->log(line);
}

/* ---- addresses and endpoints ---- */

int tnl_ep_eq(const struct tnl_ep *a, const struct tnl_ep *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port && a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port &&
	       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) && a->in6.sin6_scope_id == b->in6.sin6_scope_id;
}

socklen_t tnl_ep_len(const struct tnl_ep *e)
{
	return e->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

const char *tnl_ep_str(const struct tnl_ep *e, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	if (e->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &e->in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(e->in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &e->in4.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(e->in4.sin_port));
	}
	return buf;
}

const char *tnl_addr_str(const struct tnl_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "-";
	if (a->fam == 4)
		inet_ntop(AF_INET, a->a, ip, sizeof(ip));
	else if (a->fam == 6)
		inet_ntop(AF_INET6, a->a, ip, sizeof(ip));
	snprintf(buf, len, "%s", ip);
	return buf;
}

int tnl_parse_cidr(const char *s, struct tnl_addr *a)
{
	char buf[64];
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = 0;
	char *end;
	long v = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1)
		return -1;
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, a->a) == 1) {
		if (v < 1 || v > 32)
			return -1;
		a->fam = 4;
	} else if (inet_pton(AF_INET6, buf, a->a) == 1) {
		if (v < 1 || v > 128)
			return -1;
		a->fam = 6;
	} else {
		return -1;
	}
	a->plen = (uint8_t)v;
	return 0;
}

int tnl_parse_ep(const char *s, struct tnl_ep *e)
{
	char buf[80];
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	char *colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = 0;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535)
		return -1;
	memset(e, 0, sizeof(*e));
	if (buf[0] == '[') {
		size_t l = strlen(buf);
		if (l < 3 || buf[l - 1] != ']')
			return -1;
		buf[l - 1] = 0;
		if (inet_pton(AF_INET6, buf + 1, &e->in6.sin6_addr) != 1)
			return -1;
		e->in6.sin6_family = AF_INET6;
		e->in6.sin6_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET, buf, &e->in4.sin_addr) != 1)
		return -1;
	e->in4.sin_family = AF_INET;
	e->in4.sin_port = htons((uint16_t)port);
	return 0;
}

static int addr_eq(const struct tnl_addr *a, const struct tnl_addr *b)
{
	return a->fam && a->fam == b->fam && !memcmp(a->a, b->a, a->fam == 4 ? 4 : 16);
}

/* ---- inner packets ---- */

int tnl_ip_ok(const uint8_t *p, size_t n)
{
	if (n < 20)
		return 0;
	if ((p[0] >> 4) == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4;
		size_t tot = (size_t)p[2] << 8 | p[3];
		return ihl >= 20 && ihl <= n && tot == n ? 4 : 0;
	}
	if ((p[0] >> 4) == 6 && n >= 40)
		return ((size_t)p[4] << 8 | p[5]) + 40 == n ? 6 : 0;
	return 0;
}

void tnl_ip_src(const uint8_t *p, struct tnl_addr *a)
{
	memset(a, 0, sizeof(*a));
	if ((p[0] >> 4) == 4) {
		a->fam = 4;
		memcpy(a->a, p + 12, 4);
	} else {
		a->fam = 6;
		memcpy(a->a, p + 8, 16);
	}
}

void tnl_ip_dst(const uint8_t *p, struct tnl_addr *a)
{
	memset(a, 0, sizeof(*a));
	if ((p[0] >> 4) == 4) {
		a->fam = 4;
		memcpy(a->a, p + 16, 4);
	} else {
		a->fam = 6;
		memcpy(a->a, p + 24, 16);
	}
}

int tnl_ip6_link_scope(const uint8_t *p)
{
	static const uint8_t zero[16];
	const uint8_t *s = p + 8, *d = p + 24;
	if ((s[0] == 0xfe && (s[1] & 0xc0) == 0x80) || !memcmp(s, zero, 16))
		return 1;
	if (d[0] == 0xfe && (d[1] & 0xc0) == 0x80)
		return 1;
	return d[0] == 0xff && ((d[1] & 0x0f) == 1 || (d[1] & 0x0f) == 2);
}

/* ---- sealing ---- */

int tnl_crypto_init(struct tnl_crypto *c)
{
	memset(c, 0, sizeof(*c));
	struct tnl_crypto_dir *d[2] = {&c->enc, &c->dec};
	for (int i = 0; i < 2; i++) {
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
		if (!ctx || EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL, i == 0) != 1) {
			EVP_CIPHER_CTX_free(ctx);
			tnl_crypto_free(c);
			return -1;
		}
		d[i]->ctx = ctx;
	}
	return 0;
}

void tnl_crypto_free(struct tnl_crypto *c)
{
	EVP_CIPHER_CTX_free(c->enc.ctx);
	EVP_CIPHER_CTX_free(c->dec.ctx);
	memset(c, 0, sizeof(*c));
}

/* Sets the nonce of a packet (header hdr) on the context, first keying it
 * with the session subkey, HChaCha20(key, nonce[0..15]), if the session
 * (csid, ssid) or the direction key changed. */
static int crypto_start(struct tnl_crypto_dir *d, const uint8_t *key, const uint8_t *hdr, int enc)
{
	uint64_t csid = tnl_get64(hdr + 4), ssid = tnl_get64(hdr + 12);
	uint8_t iv[12] = {0};
	memcpy(iv + 4, hdr + 20, 8);
	if (!d->ok || d->key != key || d->csid != csid || d->ssid != ssid) {
		uint8_t sub[TNL_KEY_LEN];
		crypto_core_hchacha20(sub, hdr + 4, key, NULL);
		int r = EVP_CipherInit_ex(d->ctx, NULL, NULL, sub, iv, enc);
		sodium_memzero(sub, sizeof(sub));
		d->ok = r == 1;
		d->key = key;
		d->csid = csid;
		d->ssid = ssid;
		return d->ok ? 0 : -1;
	}
	return EVP_CipherInit_ex(d->ctx, NULL, NULL, NULL, iv, enc) == 1 ? 0 : -1;
}

size_t tnl_seal(struct tnl_crypto *c, const uint8_t key[TNL_KEY_LEN], uint8_t *out, uint8_t type, uint64_t csid,
		uint64_t ssid, uint64_t ctr, const uint8_t *pt, size_t len)
{
	out[0] = type;
	out[1] = TNL_VERSION;
	out[2] = out[3] = 0;
	tnl_put64(out + 4, csid);
	tnl_put64(out + 12, ssid);
	tnl_put64(out + 20, ctr);
	if (len > 65535)
		return 0;
	EVP_CIPHER_CTX *ctx = c->enc.ctx;
	int ol = 0, fl = 0;
	if (crypto_start(&c->enc, key, out, 1) < 0 || EVP_CipherUpdate(ctx, NULL, &ol, out, TNL_HDR) != 1 ||
	    EVP_CipherUpdate(ctx, out + TNL_HDR, &ol, pt, (int)len) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + TNL_HDR + ol, &fl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TNL_TAG, out + TNL_HDR + len) != 1) {
		c->enc.ok = 0;
		return 0;
	}
	return TNL_HDR + len + TNL_TAG;
}

long tnl_open(struct tnl_crypto *c, const uint8_t key[TNL_KEY_LEN], const uint8_t *d, size_t n, uint8_t *pt)
{
	if (n < TNL_OVERHEAD || n - TNL_OVERHEAD > 65535)
		return -1;
	size_t len = n - TNL_OVERHEAD;
	uint8_t tag[TNL_TAG];
	memcpy(tag, d + n - TNL_TAG, TNL_TAG);   /* before an in-place open writes near it */
	EVP_CIPHER_CTX *ctx = c->dec.ctx;
	int ol = 0, fl = 0;
	if (crypto_start(&c->dec, key, d, 0) < 0 || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TNL_TAG, tag) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &ol, d, TNL_HDR) != 1 ||
	    EVP_CipherUpdate(ctx, pt, &ol, d + TNL_HDR, (int)len) != 1 || EVP_CipherFinal_ex(ctx, pt + ol, &fl) != 1)
		return -1;
	return (long)len;
}

int tnl_hdr_ok(const uint8_t *d, size_t n)
{
	return n >= TNL_OVERHEAD && d[1] == TNL_VERSION && !d[2] && !d[3] && tnl_get64(d + 20) != 0;
}

void tnl_derive_keys(const uint8_t master[32], uint8_t c2s[TNL_KEY_LEN], uint8_t s2c[TNL_KEY_LEN])
{
	crypto_kdf_derive_from_key(c2s, TNL_KEY_LEN, 1, KDF_CTX, master);
	crypto_kdf_derive_from_key(s2c, TNL_KEY_LEN, 2, KDF_CTX, master);
}

static uint64_t rand64_nonzero(void)
{
	uint64_t v = 0;
	while (!v)
		randombytes_buf(&v, sizeof(v));
	return v;
}

/* Queues a sealed control datagram (dropped and counted when full). */
static void ctl_seal(struct tnl_wk *w, const uint8_t *key, const struct tnl_ep *to, uint8_t type, uint64_t csid,
		     uint64_t ssid, uint64_t ctr, const uint8_t m[TNL_CTL_LEN])
{
	if (w->ctl.n == TNL_CTL_MAX) {
		TNL_INC(w->st, TxErrors);
		return;
	}
	size_t l = tnl_seal(&w->cr, key, w->ctl.m[w->ctl.n].buf, type, csid, ssid, ctr, m, TNL_CTL_LEN);
	if (!l) {
		TNL_INC(w->st, TxErrors);
		return;
	}
	w->ctl.m[w->ctl.n].len = l;
	if (to)
		w->ctl.m[w->ctl.n].to = *to;
	else
		memset(&w->ctl.m[w->ctl.n].to, 0, sizeof(struct tnl_ep));
	w->ctl.n++;
}

/* HELLO/ACK payload: own addresses. */
static void put_addrs(uint8_t m[TNL_CTL_LEN], const struct tnl_addr *a4, const struct tnl_addr *a6)
{
	if (a4->fam == 4) {
		memcpy(m, a4->a, 4);
		m[4] = a4->plen;
		m[6] |= F_HAS4;
	}
	if (a6->fam == 6) {
		memcpy(m + 16, a6->a, 16);
		m[5] = a6->plen;
		m[6] |= F_HAS6;
	}
}

static void get_addrs(const uint8_t m[TNL_CTL_LEN], struct tnl_addr *a4, struct tnl_addr *a6)
{
	memset(a4, 0, sizeof(*a4));
	memset(a6, 0, sizeof(*a6));
	if (m[6] & F_HAS4) {
		a4->fam = 4;
		a4->plen = m[4];
		memcpy(a4->a, m, 4);
	}
	if (m[6] & F_HAS6) {
		a6->fam = 6;
		a6->plen = m[5];
		memcpy(a6->a, m + 16, 16);
	}
}

/* ---- server: tables ---- */

static unsigned hash_bytes(const uint8_t *p, size_t n, int nbuckets)
{
	uint64_t v = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++)
		v = (v ^ p[i]) * 0x100000001b3u;
	v ^= v >> 33;
	v *= UINT64_C(0xff51afd7ed558ccd);
	v ^= v >> 33;
	return (unsigned)(v & (uint64_t)(nbuckets - 1));
}

static unsigned hash_csid(uint64_t v, int nbuckets)
{
	uint8_t b[8];
	tnl_put64(b, v);
	return hash_bytes(b, 8, nbuckets);
}

static unsigned hash_addr(const struct tnl_addr *a, int nbuckets)
{
	return hash_bytes(a->a, a->fam == 4 ? 4 : 16, nbuckets);
}

static void tbl_begin(struct tnl_srv *s)
{
	atomic_fetch_add_explicit(&s->tbl_seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void tbl_end(struct tnl_srv *s)
{
	atomic_fetch_add_explicit(&s->tbl_seq, 1, memory_order_release);
}

static void peer_begin(struct tnl_peer *p)
{
	atomic_fetch_add_explicit(&p->seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void peer_end(struct tnl_peer *p)
{
	atomic_fetch_add_explicit(&p->seq, 1, memory_order_release);
}

/* Rebuilds the chains (under wlock). */
static void srv_rehash(struct tnl_srv *s)
{
	tbl_begin(s);
	for (int b = 0; b < s->nbuckets; b++)
		s->head_csid[b] = s->head_a4[b] = s->head_a6[b] = -1;
	for (int i = 0; i < s->max_peers; i++) {
		struct tnl_peer *p = &s->peers[i];
		p->next_csid = p->next_a4 = p->next_a6 = -1;
		if (p->state == P_FREE)
			continue;
		unsigned b = hash_csid(p->csid, s->nbuckets);
		p->next_csid = s->head_csid[b];
		s->head_csid[b] = i;
		if (p->state != P_ACTIVE)
			continue;
		if (p->in4.fam) {
			b = hash_addr(&p->in4, s->nbuckets);
			p->next_a4 = s->head_a4[b];
			s->head_a4[b] = i;
		}
		if (p->in6.fam) {
			b = hash_addr(&p->in6, s->nbuckets);
			p->next_a6 = s->head_a6[b];
			s->head_a6[b] = i;
		}
	}
	tbl_end(s);
}

int tnl_srv_init(struct tnl_srv *s, const struct tnl_cfg *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->max_peers = cfg->max_peers;
	s->nbuckets = 16;
	while (s->nbuckets < 2 * s->max_peers)
		s->nbuckets *= 2;
	s->peers = calloc((size_t)s->max_peers, sizeof(*s->peers));
	s->head_csid = malloc(sizeof(int) * (size_t)s->nbuckets);
	s->head_a4 = malloc(sizeof(int) * (size_t)s->nbuckets);
	s->head_a6 = malloc(sizeof(int) * (size_t)s->nbuckets);
	if (!s->peers || !s->head_csid || !s->head_a4 || !s->head_a6 || pthread_mutex_init(&s->wlock, NULL)) {
		free(s->peers);
		free(s->head_csid);
		free(s->head_a4);
		free(s->head_a6);
		return -1;
	}
	srv_rehash(s);
	randombytes_buf(s->cookie_key, sizeof(s->cookie_key));
	s->instance_id = rand64_nonzero();
	s->bucket_ms = (uint64_t)cfg->timeout_s * 1000 / 3;
	if (s->bucket_ms > CHAL_BUCKET_MAX_MS)
		s->bucket_ms = CHAL_BUCKET_MAX_MS;
	if (!s->bucket_ms)
		s->bucket_ms = 1;
	return 0;
}

void tnl_srv_free(struct tnl_srv *s)
{
	free(s->peers);
	free(s->head_csid);
	free(s->head_a4);
	free(s->head_a6);
	pthread_mutex_destroy(&s->wlock);
	sodium_memzero(s->cookie_key, sizeof(s->cookie_key));
	s->peers = NULL;
}

int tnl_srv_owner(const struct tnl_srv *s, uint64_t csid)
{
	/* The I/O steers by the low 32 bits of csid (bytes 8..11). */
	return (int)((uint32_t)csid % (uint32_t)s->cfg->nworkers);
}

/* The owner's (or a writer's) lookup: no snapshot needed. */
static struct tnl_peer *srv_by_csid(struct tnl_srv *s, uint64_t csid)
{
	int steps = 0;
	for (int i = s->head_csid[hash_csid(csid, s->nbuckets)]; i >= 0 && steps++ < s->max_peers;
	     i = s->peers[i].next_csid)
		if (s->peers[i].csid == csid)
			return &s->peers[i];
	return NULL;
}

static struct tnl_peer *srv_by_addr(struct tnl_srv *s, const struct tnl_addr *a)
{
	int steps = 0;
	int *head = a->fam == 4 ? s->head_a4 : s->head_a6;
	for (int i = head[hash_addr(a, s->nbuckets)]; i >= 0 && steps++ < s->max_peers;) {
		struct tnl_peer *p = &s->peers[i];
		if (addr_eq(a->fam == 4 ? &p->in4 : &p->in6, a))
			return p;
		i = a->fam == 4 ? p->next_a4 : p->next_a6;
	}
	return NULL;
}

/* A consistent copy of the peer holding address a, or -1 (any worker). */
static int srv_lookup(struct tnl_srv *s, const struct tnl_addr *a, struct tnl_dest *d)
{
	for (int tries = 0; tries < 1000; tries++) {
		unsigned t1 = atomic_load_explicit(&s->tbl_seq, memory_order_acquire);
		if (t1 & 1)
			continue;
		struct tnl_peer *p = srv_by_addr(s, a);
		int found = 0;
		if (p) {
			unsigned p1 = atomic_load_explicit(&p->seq, memory_order_acquire);
			if (p1 & 1)
				continue;
			found = p->state == P_ACTIVE && addr_eq(a->fam == 4 ? &p->in4 : &p->in6, a);
			d->slot = (int)(p - s->peers);
			d->csid = p->csid;
			d->ssid = p->ssid;
			d->ep = p->ep;
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&p->seq, memory_order_relaxed) != p1)
				continue;
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->tbl_seq, memory_order_relaxed) != t1)
			continue;
		return found ? 0 : -1;
	}
	return -1;
}

static void peer_dest(struct tnl_srv *s, struct tnl_peer *p, struct tnl_dest *d)
{
	d->slot = (int)(p - s->peers);
	d->csid = p->csid;
	d->ssid = p->ssid;
	d->ep = p->ep;
}

uint64_t tnl_srv_reserve(struct tnl_srv *s, int slot, unsigned n, size_t bytes)
{
	struct tnl_peer *p = &s->peers[slot];
	atomic_fetch_add_explicit(&p->tx_pkts, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->tx_bytes, bytes, memory_order_relaxed);
	return atomic_fetch_add_explicit(&p->tx_ctr, n, memory_order_relaxed) + 1;
}

int tnl_srv_active(struct tnl_srv *s)
{
	int n = 0;
	for (int i = 0; i < s->max_peers; i++)
		n += s->peers[i].state == P_ACTIVE;
	return n;
}

void tnl_srv_print_peers(struct tnl_srv *s, uint64_t now, void *file)
{
	FILE *f = file;
	char a4[INET6_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], e[80];
	pthread_mutex_lock(&s->wlock);
	fprintf(f, "Peers: %d\n", tnl_srv_active(s));
	for (int i = 0; i < s->max_peers; i++) {
		struct tnl_peer *p = &s->peers[i];
		if (p->state != P_ACTIVE)
			continue;
		fprintf(f,
			"    %-15s %-20s from %-24s session %016" PRIx64 "/%016" PRIx64 " rx %" PRIu64 " pkts %" PRIu64
			" B, tx %" PRIu64 " pkts %" PRIu64 " B, idle %" PRIu64 " s\n",
			tnl_addr_str(&p->in4, a4, sizeof(a4)), tnl_addr_str(&p->in6, a6, sizeof(a6)),
			tnl_ep_str(&p->ep, e, sizeof(e)), p->csid, p->ssid, atomic_load(&p->rx_pkts),
			atomic_load(&p->rx_bytes), atomic_load(&p->tx_pkts), atomic_load(&p->tx_bytes),
			(now - p->last_rx_ms) / 1000);
	}
	pthread_mutex_unlock(&s->wlock);
}

static void srv_bury(struct tnl_srv *s, struct tnl_peer *p, uint64_t now, const char *why)
{
	char a4[INET6_ADDRSTRLEN], a6[INET6_ADDRSTRLEN], e[80];
	logf_(s->cfg, "peer %s%s%s at %s (session %016" PRIx64 ") %s", p->in4.fam ? tnl_addr_str(&p->in4, a4, sizeof(a4)) : "",
	      p->in4.fam && p->in6.fam ? " " : "", p->in6.fam ? tnl_addr_str(&p->in6, a6, sizeof(a6)) : "",
	      tnl_ep_str(&p->ep, e, sizeof(e)), p->csid, why);
	peer_begin(p);
	p->state = P_TOMB;
	memset(&p->in4, 0, sizeof(p->in4));
	memset(&p->in6, 0, sizeof(p->in6));
	p->tomb_until_ms = now + s->bucket_ms * 5 / 2;   /* > 2 buckets: a challenge's life */
	peer_end(p);
	srv_rehash(s);
}

static void srv_send(struct tnl_srv *s, struct tnl_wk *w, struct tnl_peer *p, uint8_t type, const uint8_t *m)
{
	struct tnl_dest d;
	peer_dest(s, p, &d);
	uint64_t ctr = tnl_srv_reserve(s, d.slot, 1, TNL_CTL_LEN);
	ctl_seal(w, s->cfg->k_s2c, &d.ep, type, d.csid, d.ssid, ctr, m);
}

static void srv_ack(struct tnl_srv *s, struct tnl_wk *w, struct tnl_peer *p, uint64_t echo)
{
	uint8_t m[TNL_CTL_LEN] = {0};
	put_addrs(m, &s->cfg->ip4, &s->cfg->ip6);
	tnl_put64(m + 8, echo);
	srv_send(s, w, p, T_ACK, m);
}

static void srv_nak(struct tnl_srv *s, struct tnl_wk *w, const struct tnl_ep *to, uint64_t csid, int reason,
		    uint64_t echo)
{
	uint8_t m[TNL_CTL_LEN] = {0};
	m[0] = (uint8_t)reason;
	tnl_put64(m + 8, echo);
	ctl_seal(w, s->cfg->k_s2c, to, T_NAK, csid, s->instance_id,
		 atomic_fetch_add_explicit(&s->chal_ctr, 1, memory_order_relaxed) + 1, m);
}

static uint64_t srv_cookie(struct tnl_srv *s, uint64_t csid, const struct tnl_ep *from, uint64_t bucket)
{
	uint8_t in[8 + 16 + 2 + 8] = {0}, out[crypto_shorthash_BYTES];
	tnl_put64(in, csid);
	if (from->sa.sa_family == AF_INET6) {
		memcpy(in + 8, &from->in6.sin6_addr, 16);
		memcpy(in + 24, &from->in6.sin6_port, 2);
	} else {
		memcpy(in + 8, &from->in4.sin_addr, 4);
		memcpy(in + 24, &from->in4.sin_port, 2);
	}
	tnl_put64(in + 26, bucket);
	crypto_shorthash(out, in, sizeof(in), s->cookie_key);
	return tnl_get64(out);
}

/* Challenges answer authentic packets of unknown sessions; a token bucket
 * per worker bounds them (a flood of replays cannot make the server a
 * reflector). */
static void srv_challenge(struct tnl_srv *s, struct tnl_wk *w, uint64_t now, uint64_t csid, uint64_t echo,
			  const struct tnl_ep *from)
{
	if (now >= w->chal_refill_ms + 1000) {
		w->chal_tokens = CHAL_BURST;
		w->chal_refill_ms = now;
	}
	if (!w->chal_tokens) {
		TNL_INC(w->st, ChallengesLimited);
		return;
	}
	w->chal_tokens--;
	uint8_t m[TNL_CTL_LEN] = {0};
	tnl_put64(m, srv_cookie(s, csid, from, now / s->bucket_ms));
	tnl_put64(m + 8, echo);
	ctl_seal(w, s->cfg->k_s2c, from, T_CHALLENGE, csid, s->instance_id,
		 atomic_fetch_add_explicit(&s->chal_ctr, 1, memory_order_relaxed) + 1, m);
	TNL_INC(w->st, ChallengesSent);
}

static int in_prefix(const struct tnl_addr *net, const struct tnl_addr *a)
{
	if (!net->fam || net->fam != a->fam)
		return 0;
	int bits = net->plen;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a->a[i] & mask) != (net->a[i] & mask))
			return 0;
	}
	return 1;
}

/* May a client hold a? (In the server's prefix, not its own address, not
 * the network address, not IPv4 broadcast.) */
static int srv_addr_allowed(struct tnl_srv *s, const struct tnl_addr *a)
{
	const struct tnl_addr *own = a->fam == 4 ? &s->cfg->ip4 : &s->cfg->ip6;
	if (!in_prefix(own, a) || addr_eq(own, a))
		return 0;
	int alen = a->fam == 4 ? 32 : 128;
	if (own->plen >= alen - 1)
		return 1;
	int zero = 1, ones = 1;
	for (int bit = own->plen; bit < alen; bit++) {
		int v = (a->a[bit / 8] >> (7 - bit % 8)) & 1;
		zero &= !v;
		ones &= v;
	}
	return !zero && !(a->fam == 4 && ones);
}

/* A HELLO from a csid with no session (under wlock). */
static void srv_hello_new(struct tnl_srv *s, struct tnl_wk *w, uint64_t now, uint64_t csid, uint64_t ctr,
			  const uint8_t *m, const struct tnl_ep *from)
{
	uint64_t echo = tnl_get64(m + 8), bucket = now / s->bucket_ms;
	if (!echo || (echo != srv_cookie(s, csid, from, bucket) && echo != srv_cookie(s, csid, from, bucket - 1))) {
		srv_challenge(s, w, now, csid, ctr, from);
		return;
	}
	struct tnl_addr a4, a6;
	get_addrs(m, &a4, &a6);
	char as[INET6_ADDRSTRLEN], e[80];
	if ((!a4.fam && !a6.fam) || (a4.fam && !srv_addr_allowed(s, &a4)) || (a6.fam && !srv_addr_allowed(s, &a6))) {
		TNL_INC(w->st, AddrRefused);
		srv_nak(s, w, from, csid, NAK_REFUSED, ctr);
		return;
	}
	struct tnl_peer *hold[2] = {a4.fam ? srv_by_addr(s, &a4) : NULL, a6.fam ? srv_by_addr(s, &a6) : NULL};
	if (hold[1] == hold[0])
		hold[1] = NULL;
	int waiting = 0;
	for (int k = 0; k < 2; k++) {
		struct tnl_peer *h = hold[k];
		if (!h)
			continue;
		if (h->probe_started_ms && now - h->probe_started_ms > PROBE_FORGET_MS)
			h->probe_started_ms = 0;
		if (!h->probe_started_ms) {
			/* Is the holder alive? A live client answers at once. */
			h->probe_started_ms = h->last_probe_ms = now;
			srv_send(s, w, h, T_PROBE, (const uint8_t[TNL_CTL_LEN]){0});
			TNL_INC(w->st, ProbesSent);
			waiting = 1;
			continue;
		}
		if (h->last_rx_ms >= h->probe_started_ms) {
			TNL_INC(w->st, AddrConflicts);
			logf_(s->cfg, "refused %s to %s (session %016" PRIx64 "): in use by a live peer",
			      tnl_addr_str(k ? &a6 : &a4, as, sizeof(as)), tnl_ep_str(from, e, sizeof(e)), csid);
			h->probe_started_ms = 0;
			srv_nak(s, w, from, csid, NAK_IN_USE, ctr);
			return;
		}
		if (now - h->probe_started_ms < PROBE_WAIT_MS) {
			if (now - h->last_probe_ms >= PROBE_GAP_MS) {
				h->last_probe_ms = now;
				srv_send(s, w, h, T_PROBE, (const uint8_t[TNL_CTL_LEN]){0});
				TNL_INC(w->st, ProbesSent);
			}
			waiting = 1;
		}
	}
	if (waiting)
		return;   /* the newcomer's next HELLO asks again */
	for (int k = 0; k < 2; k++) {
		if (hold[k] && hold[k]->state == P_ACTIVE) {
			TNL_INC(w->st, PeersEvicted);
			srv_bury(s, hold[k], now, "evicted: silent for 3 s while its address was claimed");
		}
	}
	struct tnl_peer *p = NULL;
	for (int i = 0; i < s->max_peers && !p; i++)
		if (s->peers[i].state == P_FREE)
			p = &s->peers[i];
	for (int i = 0; i < s->max_peers && (!p || p->state == P_TOMB); i++)   /* else the tombstone closest to its end */
		if (s->peers[i].state == P_TOMB && (!p || s->peers[i].tomb_until_ms < p->tomb_until_ms))
			p = &s->peers[i];
	if (!p) {
		TNL_INC(w->st, PeersFull);
		srv_nak(s, w, from, csid, NAK_FULL, ctr);
		return;
	}
	peer_begin(p);
	p->state = P_ACTIVE;
	p->csid = csid;
	p->ssid = rand64_nonzero();
	p->ep = *from;
	p->in4 = a4;
	p->in6 = a6;
	tnl_replay_init(&p->rx, ctr);
	p->created_ms = p->last_rx_ms = now;
	p->tomb_until_ms = p->probe_started_ms = p->last_probe_ms = 0;
	atomic_store(&p->rx_pkts, 0);
	atomic_store(&p->rx_bytes, 0);
	atomic_store(&p->tx_pkts, 0);
	atomic_store(&p->tx_bytes, 0);
	peer_end(p);
	srv_rehash(s);
	TNL_INC(w->st, Handshakes);
	char a6s[INET6_ADDRSTRLEN];
	logf_(s->cfg, "peer %s%s%s joined from %s (session %016" PRIx64 ")", a4.fam ? tnl_addr_str(&a4, as, sizeof(as)) : "",
	      a4.fam && a6.fam ? " " : "", a6.fam ? tnl_addr_str(&a6, a6s, sizeof(a6s)) : "",
	      tnl_ep_str(from, e, sizeof(e)), csid);
	srv_ack(s, w, p, ctr);
}

int tnl_srv_route(struct tnl_srv *s, struct tnl_wk *w, int src_slot, const uint8_t *pkt, struct tnl_dest *to)
{
	struct tnl_addr dst;
	tnl_ip_dst(pkt, &dst);
	if (src_slot < 0 && dst.fam == 6 && tnl_ip6_link_scope(pkt)) {
		TNL_INC(w->st, TunLinkScope);
		return -1;
	}
	const struct tnl_addr *own = dst.fam == 4 ? &s->cfg->ip4 : &s->cfg->ip6;
	int found = !addr_eq(own, &dst) && srv_lookup(s, &dst, to) == 0;
	if (found && to->slot != src_slot)
		return 1;
	if (src_slot >= 0 && (found || !srv_addr_allowed(s, &dst)))
		return 0;   /* the server itself, elsewhere, multicast */
	TNL_INC(w->st, NoRoute);   /* a client address nobody holds now */
	return -1;
}

enum tnl_verdict tnl_srv_input(struct tnl_srv *s, struct tnl_wk *w, uint64_t now, const struct tnl_ep *from,
			       const uint8_t *d, size_t n, uint8_t *pt, size_t *ptlen, struct tnl_dest *fwd)
{
	uint8_t type = d[0];
	if (type != T_HELLO && type != T_DATA && type != T_BYE) {
		TNL_INC(w->st, RxMalformed);
		return TNL_DROP;
	}
	uint64_t csid = tnl_get64(d + 4), ctr = tnl_get64(d + 20);
	long ml = tnl_open(&w->cr, s->cfg->k_c2s, d, n, pt);
	if (ml < 0) {
		TNL_INC(w->st, RxAuthFail);
		return TNL_DROP;
	}
	size_t mlen = (size_t)ml;
	if (type != T_DATA && mlen != TNL_CTL_LEN) {
		TNL_INC(w->st, RxMalformed);
		return TNL_DROP;
	}
	if (tnl_srv_owner(s, csid) != w->id) {
		TNL_INC(w->st, RxWrongWorker);   /* the I/O's steering failed */
		return TNL_DROP;
	}
	int locked = type != T_DATA;
	if (locked)
		pthread_mutex_lock(&s->wlock);
	enum tnl_verdict v = TNL_DROP;
	struct tnl_peer *p = srv_by_csid(s, csid);
	if (!p || p->state != P_ACTIVE) {
		if (type == T_HELLO && !p) {
			TNL_INC(w->st, HellosRecv);
			if (!locked)
				pthread_mutex_lock(&s->wlock), locked = 1;
			srv_hello_new(s, w, now, csid, ctr, pt, from);
		} else {
			TNL_INC(w->st, RxNoSession);
			if (!p && type == T_DATA)
				srv_challenge(s, w, now, csid, ctr, from);
		}
		goto out;
	}
	if (tnl_replay_check(&p->rx, ctr) < 0) {
		TNL_INC(w->st, RxReplay);
		goto out;
	}
	p->last_rx_ms = now;
	atomic_store_explicit(&p->rx_pkts, atomic_load_explicit(&p->rx_pkts, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&p->rx_bytes, atomic_load_explicit(&p->rx_bytes, memory_order_relaxed) + mlen,
			      memory_order_relaxed);
	if (!tnl_ep_eq(&p->ep, from)) {
		/* roaming: the newest authentic packet's source */
		if (!locked)
			pthread_mutex_lock(&s->wlock), locked = 1;
		peer_begin(p);
		p->ep = *from;
		peer_end(p);
	}
	if (type == T_HELLO) {
		TNL_INC(w->st, HellosRecv);
		struct tnl_addr a4, a6;
		get_addrs(pt, &a4, &a6);
		if (a4.fam != p->in4.fam || a6.fam != p->in6.fam || (a4.fam && !addr_eq(&a4, &p->in4)) ||
		    (a6.fam && !addr_eq(&a6, &p->in6))) {
			TNL_INC(w->st, AddrConflicts);
			goto out;
		}
		srv_ack(s, w, p, ctr);
		goto out;
	}
	if (type == T_BYE) {
		TNL_INC(w->st, PeersClosed);
		srv_bury(s, p, now, "left");
		goto out;
	}
	int fam = tnl_ip_ok(pt, mlen);
	if (!fam) {
		TNL_INC(w->st, RxBadInner);
		goto out;
	}
	struct tnl_addr src;
	tnl_ip_src(pt, &src);
	if (!addr_eq(fam == 4 ? &p->in4 : &p->in6, &src)) {
		TNL_INC(w->st, RxSpoofed);
		goto out;
	}
	*ptlen = mlen;
	int r = tnl_srv_route(s, w, (int)(p - s->peers), pt, fwd);
	v = r > 0 ? TNL_FWD : r == 0 ? TNL_TUN : TNL_DROP;
	if (v == TNL_FWD)
		TNL_INC(w->st, Forwarded);
out:
	if (locked)
		pthread_mutex_unlock(&s->wlock);
	return v;
}

void tnl_srv_tick(struct tnl_srv *s, struct tnl_wk *w, uint64_t now)
{
	pthread_mutex_lock(&s->wlock);
	for (int i = 0; i < s->max_peers; i++) {
		struct tnl_peer *p = &s->peers[i];
		if (p->state == P_FREE || tnl_srv_owner(s, p->csid) != w->id)
			continue;
		if (p->state == P_ACTIVE && now - p->last_rx_ms >= (uint64_t)s->cfg->timeout_s * 1000) {
			TNL_INC(w->st, PeersExpired);
			srv_bury(s, p, now, "expired: silent too long");
		} else if (p->state == P_TOMB && now >= p->tomb_until_ms) {
			peer_begin(p);
			p->state = P_FREE;
			peer_end(p);
			srv_rehash(s);
		}
	}
	pthread_mutex_unlock(&s->wlock);
}

/* ---- client ---- */

void tnl_cli_init(struct tnl_cli *c, const struct tnl_cfg *cfg, uint64_t csid)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->csid = csid ? csid : rand64_nonzero();
	atomic_init(&c->ssid, 0);
	atomic_init(&c->tx_ctr, 0);
}

void tnl_cli_hello(struct tnl_cli *c, struct tnl_wk *w, uint64_t now)
{
	uint8_t m[TNL_CTL_LEN] = {0};
	put_addrs(m, &c->cfg->ip4, &c->cfg->ip6);
	uint64_t ssid = atomic_load(&c->ssid);
	/* Only a HELLO that opens a session carries the challenge. */
	if (!ssid && c->have_challenge)
		tnl_put64(m + 8, c->challenge);
	uint64_t ctr = atomic_fetch_add(&c->tx_ctr, 1) + 1;
	ctl_seal(w, c->cfg->k_c2s, NULL, T_HELLO, c->csid, ssid, ctr, m);
	c->hellos[c->hello_pos % 16].ctr = ctr;
	c->hellos[c->hello_pos % 16].ms = now;
	c->hello_pos++;
	c->last_hello_ms = now;
	TNL_INC(w->st, HellosSent);
}

void tnl_cli_bye(struct tnl_cli *c, struct tnl_wk *w)
{
	uint64_t ssid = atomic_load(&c->ssid);
	if (ssid)
		ctl_seal(w, c->cfg->k_c2s, NULL, T_BYE, c->csid, ssid, atomic_fetch_add(&c->tx_ctr, 1) + 1,
			 (const uint8_t[TNL_CTL_LEN]){0});
}

static int cli_recent_hello(struct tnl_cli *c, uint64_t now, uint64_t ctr)
{
	for (int i = 0; i < 16; i++)
		if (c->hellos[i].ctr == ctr && ctr && now - c->hellos[i].ms <= HELLO_FRESH_MS)
			return 1;
	return 0;
}

int tnl_cli_src_ok(const struct tnl_cli *c, struct tnl_wk *w, const uint8_t *pkt)
{
	struct tnl_addr src;
	tnl_ip_src(pkt, &src);
	if (src.fam == 6 && tnl_ip6_link_scope(pkt)) {
		TNL_INC(w->st, TunLinkScope);
		return 0;
	}
	if (!addr_eq(src.fam == 4 ? &c->cfg->ip4 : &c->cfg->ip6, &src)) {
		TNL_INC(w->st, TunBadSource);
		return 0;
	}
	return 1;
}

enum tnl_verdict tnl_cli_input(struct tnl_cli *c, struct tnl_wk *w, uint64_t now, const uint8_t *d, size_t n,
			       uint8_t *pt, size_t *ptlen)
{
	uint8_t type = d[0];
	if (type < T_CHALLENGE || type > T_NAK) {
		TNL_INC(w->st, RxMalformed);
		return TNL_DROP;
	}
	uint64_t csid = tnl_get64(d + 4), ssid = tnl_get64(d + 12), ctr = tnl_get64(d + 20);
	long ml = tnl_open(&w->cr, c->cfg->k_s2c, d, n, pt);
	if (ml < 0) {
		TNL_INC(w->st, RxAuthFail);
		return TNL_DROP;
	}
	size_t mlen = (size_t)ml;
	if (type != T_SDATA && mlen != TNL_CTL_LEN) {
		TNL_INC(w->st, RxMalformed);
		return TNL_DROP;
	}
	if (csid != c->csid) {
		TNL_INC(w->st, RxNoSession);
		return TNL_DROP;
	}
	char e[80], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	uint64_t echo = type == T_SDATA ? 0 : tnl_get64(pt + 8);
	uint64_t cur = atomic_load(&c->ssid);
	switch (type) {
	case T_CHALLENGE:
		/* Harmless even if replayed: it only makes us send a HELLO. */
		TNL_INC(w->st, ChallengesRecv);
		c->challenge = tnl_get64(pt);
		c->have_challenge = 1;
		if (!cur && now - c->last_chal_hello_ms >= 200) {
			c->last_chal_hello_ms = now;
			tnl_cli_hello(c, w, now);
		} else if (cur && now - c->last_chal_hello_ms >= 1000) {
			/* The server lost our session (it restarted): join again,
			 * keeping the old one until an ACK replaces it. */
			c->last_chal_hello_ms = now;
			uint8_t m[TNL_CTL_LEN] = {0};
			put_addrs(m, &c->cfg->ip4, &c->cfg->ip6);
			tnl_put64(m + 8, c->challenge);
			uint64_t hc = atomic_fetch_add(&c->tx_ctr, 1) + 1;
			ctl_seal(w, c->cfg->k_c2s, NULL, T_HELLO, c->csid, 0, hc, m);
			c->hellos[c->hello_pos % 16].ctr = hc;
			c->hellos[c->hello_pos % 16].ms = now;
			c->hello_pos++;
			c->last_hello_ms = now;
			TNL_INC(w->st, HellosSent);
		}
		return TNL_DROP;
	case T_NAK:
		if (!cli_recent_hello(c, now, echo)) {
			TNL_INC(w->st, RxStale);
			return TNL_DROP;
		}
		if (pt[0] == NAK_IN_USE)
			TNL_INC(w->st, AddrConflicts);
		else
			TNL_INC(w->st, AddrRefused);
		if (c->last_nak != pt[0]) {
			c->last_nak = pt[0];
			char mine[2 * INET6_ADDRSTRLEN + 2];
			snprintf(mine, sizeof(mine), "%s%s%s",
				 c->cfg->ip4.fam ? tnl_addr_str(&c->cfg->ip4, a, sizeof(a)) : "",
				 c->cfg->ip4.fam && c->cfg->ip6.fam ? " " : "",
				 c->cfg->ip6.fam ? tnl_addr_str(&c->cfg->ip6, b, sizeof(b)) : "");
			logf_(c->cfg, "the server refused %s: %s", mine,
			      pt[0] == NAK_IN_USE ? "address in use by a live peer"
			      : pt[0] == NAK_FULL ? "no room for more peers"
						  : "address not allowed in its prefix");
		}
		return TNL_DROP;
	case T_ACK:
		if (ssid && ssid == cur) {
			if (tnl_replay_check(&c->rx, ctr) < 0) {
				TNL_INC(w->st, RxReplay);
				return TNL_DROP;
			}
			c->last_rx_ms = now;
			return TNL_DROP;
		}
		if (!ssid || !cli_recent_hello(c, now, echo)) {
			TNL_INC(w->st, RxStale);
			return TNL_DROP;
		}
		tnl_replay_init(&c->rx, ctr);
		atomic_store(&c->ssid, ssid);
		c->last_rx_ms = now;
		c->have_challenge = 0;
		c->last_nak = 0;
		get_addrs(pt, &c->server4, &c->server6);
		TNL_INC(w->st, Handshakes);
		{
			char mine[2 * INET6_ADDRSTRLEN + 2], srv[2 * INET6_ADDRSTRLEN + 2];
			snprintf(mine, sizeof(mine), "%s%s%s",
				 c->cfg->ip4.fam ? tnl_addr_str(&c->cfg->ip4, a, sizeof(a)) : "",
				 c->cfg->ip4.fam && c->cfg->ip6.fam ? " " : "",
				 c->cfg->ip6.fam ? tnl_addr_str(&c->cfg->ip6, b, sizeof(b)) : "");
			snprintf(srv, sizeof(srv), "%s%s%s", c->server4.fam ? tnl_addr_str(&c->server4, a, sizeof(a)) : "",
				 c->server4.fam && c->server6.fam ? " " : "",
				 c->server6.fam ? tnl_addr_str(&c->server6, b, sizeof(b)) : "");
			snprintf(e, sizeof(e), "%016" PRIx64 "/%016" PRIx64, c->csid, ssid);
			logf_(c->cfg, "%s as %s, server %s (session %s)", c->ever_connected ? "reconnected" : "connected",
			      mine, srv, e);
		}
		c->ever_connected = 1;
		return TNL_DROP;
	default:
		break;
	}
	/* SDATA, PROBE: only within the current session. */
	if (!cur || ssid != cur) {
		TNL_INC(w->st, RxNoSession);
		return TNL_DROP;
	}
	if (tnl_replay_check(&c->rx, ctr) < 0) {
		TNL_INC(w->st, RxReplay);
		return TNL_DROP;
	}
	c->last_rx_ms = now;
	if (type == T_PROBE) {
		TNL_INC(w->st, ProbesRecv);
		tnl_cli_hello(c, w, now);
		return TNL_DROP;
	}
	if (!tnl_ip_ok(pt, mlen)) {
		TNL_INC(w->st, RxBadInner);
		return TNL_DROP;
	}
	*ptlen = mlen;
	return TNL_TUN;
}

void tnl_cli_tick(struct tnl_cli *c, struct tnl_wk *w, uint64_t now)
{
	uint64_t cur = atomic_load(&c->ssid);
	if (cur && now - c->last_rx_ms >= (uint64_t)c->cfg->timeout_s * 1000) {
		TNL_INC(w->st, ServerLost);
		logf_(c->cfg, "nothing from the server for %u s; joining again", c->cfg->timeout_s);
		atomic_store(&c->ssid, 0);
		cur = 0;
		c->have_challenge = 0;
	}
	uint64_t gap = cur ? (uint64_t)c->cfg->keepalive_s * 1000 : HELLO_CONNECT_MS;
	if (now - c->last_hello_ms >= gap)
		tnl_cli_hello(c, w, now);
}
