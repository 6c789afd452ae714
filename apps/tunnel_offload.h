/* The tunnel's offloads in user space (no I/O, no crypto):
 *  - TSO: a TCP super-frame the kernel hands over through the TUN device's
 *    virtio-net header (up to 64 KiB, IPv4 or IPv6) is cut into packets of
 *    gso_size payload bytes, each with its own IP and TCP header and full
 *    checksums, as the kernel's tcp_gso_segment would;
 *  - checksum: a single packet with a partial checksum is finished;
 *  - GRO: consecutive inner TCP segments of one flow are joined into one
 *    super-frame for the TUN device (virtio-net header with GSO and a
 *    partial checksum), under the rules of the kernel's tcp_gro_receive:
 *    same addresses, ports, TOS/traffic class, TTL, ack and options; only
 *    ACK and PSH set; each segment's sequence number follows the last; all
 *    but the last of one size; each segment's checksum verified first.
 * tests/unit/test_tunnel_offload.c checks both against each other. */
#ifndef US_APP_TUNNEL_OFFLOAD_H
#define US_APP_TUNNEL_OFFLOAD_H
#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>

#define TNL_VNET_LEN ((size_t)sizeof(struct virtio_net_hdr))
#define TNL_SUPER_MAX 65535u   /* an IP super-frame's bytes (IPv4 total length, IPv6 40 + payload) */

/* Internet checksum pieces: a 32-bit running sum of native 16-bit words,
 * folded and stored natively gives the right bytes (RFC 1071). */
uint32_t tnl_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t tnl_csum_fold(uint32_t sum);
/* The pseudo-header sum of an IPv4 or IPv6 packet for protocol proto and
 * an upper-layer length len (not folded). */
uint32_t tnl_csum_pseudo(const uint8_t *ip, uint8_t proto, uint32_t len);
/* 1 if the TCP or UDP checksum of a well-formed packet checks. */
int tnl_l4_csum_ok(const uint8_t *pkt, size_t n, size_t l4off, uint8_t proto);

/* Cutting a super-frame. tnl_tso_begin checks the header against the
 * frame; it returns the number of packets it will make (1 for a frame
 * without GSO: its partial checksum, if any, is finished in place), or -1
 * for a frame that is malformed or of a kind not offered (dropped). */
struct tnl_tso {
	const uint8_t *f;
	size_t n, hlen, ipl, gso;
	int fam, count, i;
	uint16_t id;
	uint32_t seq;
};
int tnl_tso_begin(struct tnl_tso *t, const struct virtio_net_hdr *vh, uint8_t *frame, size_t n);
/* The next packet into out (room for hlen + gso bytes); its length. */
size_t tnl_tso_next(struct tnl_tso *t, uint8_t *out);
/* The largest packet tnl_tso_next can make for this frame. */
static inline size_t tnl_tso_max(const struct tnl_tso *t) { return t->count > 1 ? t->hlen + t->gso : t->n; }

/* Joining segments for the TUN device. emit gets a frame that starts with
 * its virtio-net header (TNL_VNET_LEN bytes) and the number of inner
 * packets in it, and returns 0 or -1. A packet that is not held is given to
 * emit straight away; the TNL_VNET_LEN bytes before it must be writable. */
#define TNL_GRO_FLOWS 8
#define TNL_GRO_SEGS 64
typedef int (*tnl_emit_fn)(void *arg, uint8_t *frame, size_t len, unsigned pkts, uint32_t flow_hash);
struct tnl_gro_flow {
	uint8_t *buf;          /* TNL_VNET_LEN + TNL_SUPER_MAX bytes */
	size_t len;            /* IP bytes held (after the header room) */
	size_t hlen, ipl;      /* IP + TCP header length, IP header length */
	unsigned segs;
	uint32_t next_seq, gso, hash;
	int fam, open;         /* open: may take more */
	uint64_t age;
};
struct tnl_gro {
	struct tnl_gro_flow f[TNL_GRO_FLOWS];
	uint64_t clock;
	uint64_t merged, held;   /* statistics: segments joined, frames made */
};
int tnl_gro_init(struct tnl_gro *g);
void tnl_gro_free(struct tnl_gro *g);
/* pkt: a well-formed IP packet of len bytes (tnl_ip_ok). Returns what emit
 * returned for anything it emitted (or 0). */
int tnl_gro_add(struct tnl_gro *g, uint8_t *pkt, size_t len, tnl_emit_fn emit, void *arg);
/* Emits everything held. */
int tnl_gro_flush(struct tnl_gro *g, tnl_emit_fn emit, void *arg);
/* A flow's hash (addresses and ports) for choosing a TUN queue; 0 for non-TCP/UDP. */
uint32_t tnl_flow_hash(const uint8_t *pkt, size_t len);
#endif
