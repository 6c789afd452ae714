/* The tunnel's protocol: the wire format, sealing and opening datagrams,
 * the server's sessions and the client's state machine. No I/O and no
 * clock: time comes in as an argument, control datagrams to send go into
 * a queue the caller drains (struct tnl_ctl), and each received datagram
 * gets a verdict the caller acts on. apps/tunnel.c does the I/O and the
 * CLI; tests/unit/test_tunnel_proto.c runs a server and clients against
 * each other in memory. The format and the rules are described at the top
 * of apps/tunnel_proto.c.
 *
 * Threads. Several workers may share one struct tnl_srv (or tnl_cli):
 *  - each session has one owner worker (csid % nworkers; the I/O steers
 *    its datagrams there), which alone reads its receive state (replay
 *    window, timers) and is the only one to change the session;
 *  - any worker may send to any session: tnl_srv_lookup() takes a
 *    consistent snapshot under a sequence lock (readers never wait, they
 *    retry when a change overlapped), and counters come from
 *    tnl_srv_reserve(), one atomic add per batch;
 *  - changes to the tables (join, leave, expiry) take a mutex, a slow path.
 * Transmit counters are never reset, not even when a peer slot is reused,
 * so a nonce never repeats however a snapshot raced a change. */
#ifndef US_APP_TUNNEL_PROTO_H
#define US_APP_TUNNEL_PROTO_H
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "tunnel_replay.h"

#define TNL_VERSION 2
#define TNL_HDR 28
#define TNL_TAG 16
#define TNL_OVERHEAD (TNL_HDR + TNL_TAG)
#define TNL_CTL_LEN 32         /* payload of every control message */
#define TNL_KEY_LEN 32
#define TNL_CTL_MAX 64         /* queued control datagrams */

enum {
	T_HELLO = 0x01, T_DATA = 0x02, T_BYE = 0x03,
	T_CHALLENGE = 0x81, T_ACK = 0x82, T_SDATA = 0x83, T_PROBE = 0x84, T_NAK = 0x85,
};
enum { NAK_IN_USE = 1, NAK_REFUSED = 2, NAK_FULL = 3 };

/* The tunnel's counters, one X(Name, "description") a line (the format of
 * include/ustack/stats.h's lists): `ustack stats` and the Prometheus HELP. */
#define TNL_COUNTERS(X) \
	X(RxDatagrams, "UDP datagrams received (after UDP GRO: each segment counts)") \
	X(RxBytes, "bytes of UDP datagrams received") \
	X(RxCalls, "recvmmsg calls that returned datagrams") \
	X(RxMalformed, "datagrams dropped: truncated, too short or a bad tunnel header") \
	X(RxAuthFail, "datagrams dropped: they failed authentication (wrong key or tampered)") \
	X(RxReplay, "datagrams dropped: replayed or too old for the replay window") \
	X(RxNoSession, "datagrams dropped: for no session this end knows") \
	X(RxStale, "control messages dropped: they answer no recent HELLO") \
	X(RxBadInner, "datagrams dropped: the packet inside is not a valid IPv4 or IPv6 packet") \
	X(RxSpoofed, "packets dropped: a client sent with a source address not its own") \
	X(RxWrongWorker, "datagrams a worker got for a session another worker owns (steering failed)") \
	X(RxErrors, "recvmmsg calls that failed (e.g. connection refused: the server is not there)") \
	X(TxDatagrams, "UDP datagrams sent (a GSO message counts as the datagrams it becomes)") \
	X(TxBytes, "bytes of UDP datagrams sent") \
	X(TxCalls, "sendmmsg or sendmsg calls made") \
	X(TxErrors, "sends that failed") \
	X(TunReadFrames, "frames read from the TUN device (with offloads: a super-frame counts once)") \
	X(TunReadPackets, "packets read from the TUN device (super-frames counted as their segments)") \
	X(TunReadBytes, "bytes read from the TUN device") \
	X(TunBadFrame, "frames from the TUN device dropped: bad virtio-net header or super-frame") \
	X(TunNotIp, "frames from the TUN device dropped: not a valid IPv4 or IPv6 packet") \
	X(TunLinkScope, "IPv6 packets kept off the tunnel: link-local scope (router solicitations, MLD, ...)") \
	X(TunBadSource, "packets from the TUN device dropped: source not the client's own address") \
	X(TunWriteFrames, "frames written to the TUN device (joined by GRO: one write for many packets)") \
	X(TunWritePackets, "packets written to the TUN device") \
	X(TunWriteBytes, "bytes written to the TUN device") \
	X(TunWriteErrors, "writes to the TUN device that failed") \
	X(NoRoute, "packets dropped: to a client address nobody holds") \
	X(TunNoSession, "packets from the TUN device dropped: the client has no session yet") \
	X(Forwarded, "packets the server passed from one client to another") \
	X(HellosSent, "HELLOs sent (the client joining or keeping its session alive)") \
	X(HellosRecv, "HELLOs received by the server") \
	X(ChallengesSent, "challenges the server sent in answer to a new HELLO") \
	X(ChallengesRecv, "challenges received by the client") \
	X(ChallengesLimited, "challenges not sent: rate limit") \
	X(Handshakes, "sessions established") \
	X(ProbesSent, "probes the server sent to the holder of a claimed address") \
	X(ProbesRecv, "probes received by the client (answered at once)") \
	X(AddrConflicts, "HELLOs claiming an address a live client holds (refused)") \
	X(AddrRefused, "HELLOs refused: addresses missing or outside the server's prefixes") \
	X(PeersExpired, "sessions ended: the client was silent for --timeout") \
	X(PeersEvicted, "sessions ended: their address went to a newcomer after the holder stayed silent") \
	X(PeersClosed, "sessions ended by the client's BYE") \
	X(PeersFull, "HELLOs refused: --max-peers clients already") \
	X(ServerLost, "times the client lost its session: the server was silent for --timeout")

enum {
#define X(n, d) C_##n,
	TNL_COUNTERS(X)
#undef X
	C_COUNT
};
extern const char *const tnl_counter_names[C_COUNT];
extern const char *const tnl_counter_descs[C_COUNT];

/* One worker's counters. Only that worker writes them (relaxed stores,
 * no locked instructions); others may read them to print. */
struct tnl_stats {
	_Atomic uint64_t c[C_COUNT];
};
static inline void tnl_add(struct tnl_stats *s, int i, uint64_t v)
{
	atomic_store_explicit(&s->c[i], atomic_load_explicit(&s->c[i], memory_order_relaxed) + v,
			      memory_order_relaxed);
}
#define TNL_INC(s, name) tnl_add((s), C_##name, 1)

/* An inner address: family 4 or 6 (0: none), prefix length, bytes (v4 in a[0..3]). */
struct tnl_addr {
	uint8_t fam, plen;
	uint8_t a[16];
};
/* An outer endpoint (the kernel's socket address, either family). */
struct tnl_ep {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	};
};
int tnl_ep_eq(const struct tnl_ep *a, const struct tnl_ep *b);
socklen_t tnl_ep_len(const struct tnl_ep *e);
/* "1.2.3.4:5" or "[fd00::1]:5" */
const char *tnl_ep_str(const struct tnl_ep *e, char *buf, size_t len);
const char *tnl_addr_str(const struct tnl_addr *a, char *buf, size_t len);
/* "ADDR/PREFIX" of either family into a; 0 or -1. */
int tnl_parse_cidr(const char *s, struct tnl_addr *a);
/* "ADDR:PORT", "[V6ADDR]:PORT"; 0 or -1. */
int tnl_parse_ep(const char *s, struct tnl_ep *e);

/* ---- inner packets ---- */
/* The family (4 or 6) of a well-formed IP packet of exactly n bytes, else 0. */
int tnl_ip_ok(const uint8_t *p, size_t n);
/* Source and destination (family from the packet, checked by tnl_ip_ok). */
void tnl_ip_src(const uint8_t *p, struct tnl_addr *a);
void tnl_ip_dst(const uint8_t *p, struct tnl_addr *a);
/* An IPv6 packet that belongs on its link only (link-local or unspecified
 * source, link- or interface-local destination): never tunnelled. */
int tnl_ip6_link_scope(const uint8_t *p);

/* ---- sealing ---- */
/* Per worker: a cipher context for each way, keyed with the last session
 * subkey it used (re-keyed only when the session changes). */
struct tnl_crypto_dir {
	void *ctx;                 /* EVP_CIPHER_CTX */
	const uint8_t *key;        /* the direction key the subkey came from */
	uint64_t csid, ssid;
	int ok;
};
struct tnl_crypto {
	struct tnl_crypto_dir enc, dec;
};
int tnl_crypto_init(struct tnl_crypto *c);
void tnl_crypto_free(struct tnl_crypto *c);
/* Writes the header and the sealed payload to out (len + TNL_OVERHEAD
 * bytes). pt may be out + TNL_HDR (sealing in place). Returns the datagram's
 * length, or 0 on a crypto library failure. */
size_t tnl_seal(struct tnl_crypto *c, const uint8_t key[TNL_KEY_LEN], uint8_t *out, uint8_t type, uint64_t csid,
		uint64_t ssid, uint64_t ctr, const uint8_t *pt, size_t len);
/* Opens a datagram of n >= TNL_OVERHEAD bytes whose header passed
 * tnl_hdr_ok; the plaintext goes to pt (may be d + TNL_HDR: in place).
 * Returns its length, or -1 if it does not authenticate (pt's contents are
 * then undefined). */
long tnl_open(struct tnl_crypto *c, const uint8_t key[TNL_KEY_LEN], const uint8_t *d, size_t n, uint8_t *pt);
/* Length, version, zero bytes and a nonzero counter: 1 if plausible. */
int tnl_hdr_ok(const uint8_t *d, size_t n);
static inline uint64_t tnl_get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}
static inline void tnl_put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}
/* The two direction keys from the master key (crypto_kdf, "ustnlv01"). */
void tnl_derive_keys(const uint8_t master[32], uint8_t c2s[TNL_KEY_LEN], uint8_t s2c[TNL_KEY_LEN]);

/* ---- control datagrams to send ---- */
struct tnl_ctl {
	int n;
	struct {
		struct tnl_ep to;   /* server; the client's socket is connected */
		size_t len;
		uint8_t buf[TNL_HDR + TNL_CTL_LEN + TNL_TAG];
	} m[TNL_CTL_MAX];
};

/* ---- configuration shared by both sides ---- */
struct tnl_cfg {
	struct tnl_addr ip4, ip6;       /* own inner addresses (fam 0: absent) */
	uint8_t k_c2s[TNL_KEY_LEN], k_s2c[TNL_KEY_LEN];
	unsigned keepalive_s, timeout_s;
	int max_peers;
	int nworkers;                   /* >= 1 */
	/* A line about an event (join, leave, refusal); may be NULL. */
	void (*log)(const char *line);
};

/* What the caller does with a datagram's plaintext. */
enum tnl_verdict {
	TNL_DROP = 0,   /* dropped (counted) or a control message (handled) */
	TNL_TUN,        /* an inner packet for the TUN device */
	TNL_FWD,        /* server: an inner packet for another peer (out->fwd) */
};

/* A worker's private protocol state. */
struct tnl_wk {
	int id;
	struct tnl_stats *st;
	struct tnl_crypto cr;
	struct tnl_ctl ctl;
	uint64_t chal_tokens, chal_refill_ms;
};

/* ---- server ---- */
enum { P_FREE = 0, P_ACTIVE, P_TOMB };
struct tnl_peer {
	atomic_uint seq;             /* odd while the owner changes the fields below */
	int state;
	uint64_t csid, ssid;
	struct tnl_ep ep;
	struct tnl_addr in4, in6;    /* registered inner addresses */
	_Atomic uint64_t tx_ctr;     /* never reset */
	_Atomic uint64_t tx_pkts, tx_bytes;
	/* the owner's alone: */
	struct tnl_replay rx;
	uint64_t created_ms, last_rx_ms, tomb_until_ms, probe_started_ms, last_probe_ms;
	_Atomic uint64_t rx_pkts, rx_bytes;
	int next_csid, next_a4, next_a6;   /* hash chains, -1 ends */
};
struct tnl_srv {
	const struct tnl_cfg *cfg;
	struct tnl_peer *peers;
	int max_peers, nbuckets;
	int *head_csid, *head_a4, *head_a6;
	atomic_uint tbl_seq;             /* odd while the hash chains change */
	pthread_mutex_t wlock;           /* writers only */
	uint8_t cookie_key[16];
	uint64_t instance_id, bucket_ms;
	_Atomic uint64_t chal_ctr;
};
/* The snapshot a sender needs. */
struct tnl_dest {
	int slot;
	uint64_t csid, ssid;
	struct tnl_ep ep;
};
int tnl_srv_init(struct tnl_srv *s, const struct tnl_cfg *cfg);
void tnl_srv_free(struct tnl_srv *s);
/* A datagram from `from` (header checked by tnl_hdr_ok). The plaintext
 * goes to pt (in place allowed: d + TNL_HDR); *ptlen its length; for
 * TNL_FWD, *fwd the peer to send it to. */
enum tnl_verdict tnl_srv_input(struct tnl_srv *s, struct tnl_wk *w, uint64_t now, const struct tnl_ep *from,
			       const uint8_t *d, size_t n, uint8_t *pt, size_t *ptlen, struct tnl_dest *fwd);
/* Where an inner packet from the TUN device (src_slot -1) or from a peer
 * goes: 1 and *to for a peer, 0 for the TUN device (from a peer only),
 * -1 dropped (counted). */
int tnl_srv_route(struct tnl_srv *s, struct tnl_wk *w, int src_slot, const uint8_t *pkt, struct tnl_dest *to);
/* n consecutive transmit counters for a peer (the first returned). */
uint64_t tnl_srv_reserve(struct tnl_srv *s, int slot, unsigned n, size_t bytes);
/* Expiry and tombstones of the worker's own sessions. */
void tnl_srv_tick(struct tnl_srv *s, struct tnl_wk *w, uint64_t now);
int tnl_srv_owner(const struct tnl_srv *s, uint64_t csid);
int tnl_srv_active(struct tnl_srv *s);
/* One line per active peer. */
void tnl_srv_print_peers(struct tnl_srv *s, uint64_t now, void *file);

/* ---- client ---- */
struct tnl_cli {
	const struct tnl_cfg *cfg;
	uint64_t csid;
	_Atomic uint64_t ssid;        /* 0: no session; read by every worker */
	_Atomic uint64_t tx_ctr;      /* never reset */
	/* worker 0's alone: */
	struct tnl_replay rx;
	uint64_t last_rx_ms, last_hello_ms, last_chal_hello_ms;
	uint64_t challenge;
	int have_challenge, ever_connected, last_nak;
	struct { uint64_t ctr, ms; } hellos[16];
	unsigned hello_pos;
	struct tnl_addr server4, server6;
};
void tnl_cli_init(struct tnl_cli *c, const struct tnl_cfg *cfg, uint64_t csid);
enum tnl_verdict tnl_cli_input(struct tnl_cli *c, struct tnl_wk *w, uint64_t now, const uint8_t *d, size_t n,
			       uint8_t *pt, size_t *ptlen);
/* HELLOs, keepalives and loss of the server. */
void tnl_cli_tick(struct tnl_cli *c, struct tnl_wk *w, uint64_t now);
void tnl_cli_hello(struct tnl_cli *c, struct tnl_wk *w, uint64_t now);
/* A clean exit's BYE (if there is a session). */
void tnl_cli_bye(struct tnl_cli *c, struct tnl_wk *w);
/* Whether an inner packet read from the TUN device may be sent (its source
 * is one of ours): 1, else 0 (counted). */
int tnl_cli_src_ok(const struct tnl_cli *c, struct tnl_wk *w, const uint8_t *pkt);
#endif
