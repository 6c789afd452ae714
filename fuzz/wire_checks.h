/* The checks every wire/ fuzz target shares: each parser is run on the
 * input with and without checksum verification; every successful parse is
 * re-emitted into a scratch buffer and parsed again, and the two parses
 * must agree. A broken check abort()s, which libFuzzer reports as a crash. */
#ifndef US_FUZZ_WIRE_CHECKS_H
#define US_FUZZ_WIRE_CHECKS_H
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "wire/arp.h"
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Scratch for re-emitted packets: room for any IPv4 datagram. */
static uint8_t scratch[IPV4_MAX_LEN + 64];

#define CHECK(c) \
	do { \
		if (!(c)) \
			abort(); \
	} while (0)

/* Two checksums that both verify: equal, or 0 and 0xFFFF (one's
 * complement has two zeros). */
static inline int same_csum(uint16_t x, uint16_t y)
{
	return x == y || (x == 0 && y == 0xFFFF) || (x == 0xFFFF && y == 0);
}

static inline void fuzz_eth(const uint8_t *d, size_t n)
{
	struct eth_repr a, b;
	if (eth_parse(d, n, &a) != 0)
		return;
	CHECK(a.hdr_len == (a.has_vlan ? 18 : 14) && a.hdr_len <= n);
	CHECK(a.type >= 0x600 && a.type != ETH_P_VLAN && a.type != ETH_P_QINQ);
	eth_emit(&a, scratch);
	CHECK(eth_parse(scratch, ETH_HDR_LEN, &b) == 0);
	CHECK(!memcmp(a.dst, b.dst, 6) && !memcmp(a.src, b.src, 6));
	CHECK(b.type == a.type && !b.has_vlan && b.hdr_len == 14 && b.vlan_tci == 0);
}

static inline void fuzz_arp(const uint8_t *d, size_t n)
{
	struct arp_repr a, b;
	if (arp_parse(d, n, &a) != 0)
		return;
	arp_emit(&a, scratch);
	CHECK(!memcmp(scratch, d, ARP_LEN)); /* the format has no slack */
	CHECK(arp_parse(scratch, ARP_LEN, &b) == 0);
	CHECK(!memcmp(&a, &b, sizeof a));
}

static inline void fuzz_ipv4(const uint8_t *d, size_t n)
{
	struct ipv4_repr a, b;
	int err = ipv4_parse(d, n, &a, 0);
	int err_c = ipv4_parse(d, n, &b, 1);
	/* The checksum only adds a reason to fail, and it is checked before
	 * the options walk, so it can hide a bad option. */
	CHECK(err_c == err || (err_c == -EBADMSG && (err == 0 || err == -EINVAL)));
	if (err != 0)
		return;
	CHECK(a.hdr_len >= 20 && a.hdr_len <= 60 && a.hdr_len % 4 == 0);
	CHECK(a.total_len <= n && a.hdr_len <= a.total_len);
	CHECK(a.payload_len == a.total_len - a.hdr_len);
	CHECK(a.frag_off % 8 == 0);
	ipv4_emit(&a, scratch);
	CHECK(ipv4_parse(scratch, IPV4_HDR_LEN + (size_t)a.payload_len, &b, 1) == 0);
	CHECK(b.src == a.src && b.dst == a.dst && b.proto == a.proto && b.ttl == a.ttl && b.tos == a.tos);
	CHECK(b.df == a.df && b.mf == a.mf && b.id == a.id && b.frag_off == a.frag_off);
	CHECK(b.hdr_len == 20 && b.payload_len == a.payload_len && b.opt_unknown == 0);
	/* A valid header without options re-emits byte for byte, but for
	 * the reserved flag bit, which emit does not carry. */
	if (a.hdr_len == 20 && err_c == 0 && !(d[6] & 0x80)) {
		CHECK(!memcmp(scratch, d, 10) && !memcmp(scratch + 12, d + 12, 8));
		CHECK(same_csum(rd_be16(scratch + 10), rd_be16(d + 10)));
	}
}

static inline void fuzz_icmp4(const uint8_t *d, size_t n)
{
	struct icmp4_repr a, b;
	int err = icmp4_parse(d, n, &a, 0);
	int err_c = icmp4_parse(d, n, &b, 1);
	CHECK(err_c == err || (err == 0 && err_c == -EBADMSG));
	if (err != 0)
		return;
	CHECK(a.payload == d + 8 && a.payload_len == n - 8);
	icmp4_emit(&a, scratch); /* moves the payload from d */
	CHECK(icmp4_parse(scratch, ICMP4_HDR_LEN + a.payload_len, &b, 1) == 0);
	CHECK(b.type == a.type && b.code == a.code && b.rest == a.rest);
	CHECK(b.payload_len == a.payload_len && !memcmp(b.payload, d + 8, a.payload_len));
	if (err_c == 0) /* a valid checksum is the one emit computes */
		CHECK(same_csum(b.csum, a.csum));
}

static inline void fuzz_udp(const uint8_t *d, size_t n, uint32_t src, uint32_t dst)
{
	struct udp_repr a, b;
	int err = udp_parse(d, n, src, dst, &a, 0);
	int err_c = udp_parse(d, n, src, dst, &b, 1);
	CHECK(err_c == err || (err == 0 && err_c == -EBADMSG));
	if (err != 0)
		return;
	CHECK(a.len >= 8 && a.len <= n && a.payload_len == a.len - 8u && a.payload == d + 8);
	if (a.csum == 0)
		CHECK(err_c == 0);
	memcpy(scratch + UDP_HDR_LEN, a.payload, a.payload_len);
	udp_emit(a.sport, a.dport, src, dst, scratch, a.payload_len);
	CHECK(rd_be16(scratch + 6) != 0);
	CHECK(udp_parse(scratch, UDP_HDR_LEN + a.payload_len, src, dst, &b, 1) == 0);
	CHECK(b.sport == a.sport && b.dport == a.dport && b.len == a.len && b.payload_len == a.payload_len);
	CHECK(!memcmp(b.payload, a.payload, a.payload_len));
	if (err_c == 0 && a.csum != 0)
		CHECK(same_csum(b.csum, a.csum));
}

/* How many SACK blocks tcp_emit has room for beside the other options:
 * what they take (the header length without SACK blocks, less 20) leaves
 * the rest of the 40 bytes for NOP NOP SACK, 4 + 8n. */
static inline size_t sack_room(const struct tcp_repr *r)
{
	struct tcp_repr no_sack = *r;
	no_sack.n_sack = 0;
	size_t used = tcp_hdr_len_for(&no_sack) - 20;
	return used + 12 <= 40 ? (40 - used - 4) / 8 : 0;
}

static inline void fuzz_tcp(const uint8_t *d, size_t n, uint32_t src, uint32_t dst)
{
	struct tcp_repr a, b;
	int err = tcp_parse(d, n, src, dst, &a, 0);
	int err_c = tcp_parse(d, n, src, dst, &b, 1);
	CHECK(err_c == err || (err == 0 && err_c == -EBADMSG));
	if (err != 0)
		return;
	CHECK(a.hdr_len >= 20 && a.hdr_len <= 60 && a.hdr_len % 4 == 0 && a.hdr_len <= n);
	CHECK(a.payload == d + a.hdr_len && a.payload_len == n - a.hdr_len);
	CHECK(a.n_sack <= TCP_MAX_SACK);
	size_t hl = tcp_hdr_len_for(&a);
	CHECK(hl >= 20 && hl <= 60 && hl % 4 == 0);
	memcpy(scratch + hl, a.payload, a.payload_len);
	CHECK(tcp_emit(&a, src, dst, scratch, a.payload_len) == hl);
	CHECK(tcp_parse(scratch, hl + a.payload_len, src, dst, &b, 1) == 0);
	CHECK(b.sport == a.sport && b.dport == a.dport && b.seq == a.seq && b.ack == a.ack);
	CHECK(b.flags == a.flags && b.win == a.win && b.urg == a.urg && b.hdr_len == hl);
	CHECK(b.bad_opts == 0);
	CHECK(b.has_mss == a.has_mss && (!a.has_mss || b.mss == a.mss));
	CHECK(b.has_wscale == a.has_wscale && (!a.has_wscale || b.wscale == a.wscale));
	CHECK(b.sack_perm == a.sack_perm);
	CHECK(b.has_ts == a.has_ts && (!a.has_ts || (b.tsval == a.tsval && b.tsecr == a.tsecr)));
	size_t ns = a.n_sack < sack_room(&a) ? a.n_sack : sack_room(&a);
	CHECK(b.n_sack == ns);
	for (size_t i = 0; i < ns; i++)
		CHECK(b.sack[i].left == a.sack[i].left && b.sack[i].right == a.sack[i].right);
	CHECK(b.payload_len == a.payload_len && !memcmp(b.payload, a.payload, a.payload_len));
	/* The re-emitted header parses back to the same, so emit is a fixed point. */
	uint8_t again[60];
	CHECK(tcp_hdr_len_for(&b) == hl);
	tcp_emit(&b, src, dst, again, 0);
	CHECK(!memcmp(again + 18, scratch + 18, hl - 18) && !memcmp(again, scratch, 16));
}

static inline void fuzz_chain6(const uint8_t *d, size_t n); /* wire6_checks.h */

/* Walk the frame as a stack's receive path does. */
static inline void fuzz_chain(const uint8_t *d, size_t n)
{
	struct eth_repr e;
	struct ipv4_repr ip;
	if (eth_parse(d, n, &e) != 0)
		return;
	d += e.hdr_len;
	n -= e.hdr_len;
	if (e.type == ETH_P_ARP) {
		fuzz_arp(d, n);
		return;
	}
	if (e.type == ETH_P_IPV6) {
		fuzz_chain6(d, n);
		return;
	}
	if (e.type != ETH_P_IPV4 || ipv4_parse(d, n, &ip, 0) != 0)
		return;
	const uint8_t *l4 = d + ip.hdr_len;
	size_t l4n = ip.payload_len; /* link padding trimmed */
	switch (ip.proto) {
	case IP_PROTO_ICMP:
		fuzz_icmp4(l4, l4n);
		break;
	case IP_PROTO_UDP:
		fuzz_udp(l4, l4n, ip.src, ip.dst);
		break;
	case IP_PROTO_TCP:
		fuzz_tcp(l4, l4n, ip.src, ip.dst);
		break;
	}
}


/* The Internet checksum by its definition (RFC 1071): 16-bit big-endian
 * words summed with end-around carry, a lone last byte as a high half. */
static inline uint32_t naive_csum(const uint8_t *d, size_t n, uint32_t sum)
{
	uint64_t s = sum;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (n & 1)
		s += (uint32_t)d[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint32_t)s;
}

/* Pseudo-header addresses for the UDP and TCP targets: the input's first
 * 8 bytes, so the fuzzer steers the checksum paths too. */
static inline int take_addrs(const uint8_t **d, size_t *n, uint32_t *src, uint32_t *dst)
{
	if (*n < 8 || *n - 8 > IPV4_MAX_LEN)
		return -1;
	*src = rd_be32(*d);
	*dst = rd_be32(*d + 4);
	*d += 8;
	*n -= 8;
	return 0;
}

#include "wire6_checks.h"
#endif
