/* Unit tests for wire/: UDP and TCP codecs. The captured frames were
 * recorded with tshark on a veth pair with TX checksum offload off, so the
 * checksums are the ones Linux computed (tshark reports them valid). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/bytes.h"
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

/* Linux connect() to 10.9.0.2:80: SYN with MSS 1460, SACK-permitted +
 * timestamps (the combined "04 02 08 0a" form), NOP, window scale 10. */
static const uint8_t cap_tcp_syn[] = {
	0x02, 0x00, 0x5e, 0x10, 0x00, 0x02, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x3c, 0xf0, 0xf8, 0x40, 0x00, 0x40, 0x06,
	0x35, 0xaf, 0x0a, 0x09, 0x00, 0x01, 0x0a, 0x09, 0x00, 0x02, 0xbc, 0x82,
	0x00, 0x50, 0xc6, 0x32, 0x67, 0xd6, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
	0xfa, 0xf0, 0x73, 0x8a, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02,
	0x08, 0x0a, 0x72, 0xd5, 0x67, 0xbc, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03,
	0x03, 0x0a,
};

/* Linux sendto() of a DNS query (id 0xabcd, A example.com) to 10.9.0.2:53. */
static const uint8_t cap_dns[] = {
	0x02, 0x00, 0x5e, 0x10, 0x00, 0x02, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x39, 0x1e, 0xc2, 0x40, 0x00, 0x40, 0x11,
	0x07, 0xde, 0x0a, 0x09, 0x00, 0x01, 0x0a, 0x09, 0x00, 0x02, 0xc2, 0x47,
	0x00, 0x35, 0x00, 0x25, 0xad, 0xd7, 0xab, 0xcd, 0x01, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01,
};

#define SRC 0x0a090001u /* 10.9.0.1 */
#define DST 0x0a090002u /* 10.9.0.2 */

/* ---- helpers ---- */

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}
static void rnd_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* RFC 1071 reference over a pseudo-header and the bytes. */
static uint16_t ref_csum4(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *p, size_t n)
{
	uint64_t s = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + proto + n;
	size_t i;
	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint16_t)~s;
}

/* A TCP segment with these raw option bytes (padded with EOL to a multiple
 * of 4) and plen payload bytes 0xA5, with a correct checksum. */
static size_t mk_tcp(uint8_t *b, const uint8_t *opt, size_t olen, size_t plen)
{
	size_t ol = (olen + 3) & ~(size_t)3;
	size_t hl = 20 + ol;
	memset(b, 0, hl);
	wr_be16(b, 1234);
	wr_be16(b + 2, 80);
	wr_be32(b + 4, 1000);
	wr_be32(b + 8, 2000);
	b[12] = (uint8_t)((hl / 4) << 4);
	b[13] = TCP_ACK;
	wr_be16(b + 14, 512);
	if (olen)
		memcpy(b + 20, opt, olen);
	memset(b + hl, 0xA5, plen);
	wr_be16(b + 16, ref_csum4(SRC, DST, IP_PROTO_TCP, b, hl + plen));
	return hl + plen;
}

static int tcp_opts(const uint8_t *opt, size_t olen, struct tcp_repr *r)
{
	uint8_t b[80];
	assert_true(olen <= 40);
	size_t n = mk_tcp(b, opt, olen, 0);
	int err = tcp_parse(b, n, SRC, DST, r, 1);
	r->payload = NULL; /* points into b */
	return err;
}

static void assert_tcp_same_opts(const struct tcp_repr *a, const struct tcp_repr *b)
{
	assert_int_equal(a->has_mss, b->has_mss);
	assert_int_equal(a->has_wscale, b->has_wscale);
	assert_int_equal(a->sack_perm, b->sack_perm);
	assert_int_equal(a->has_ts, b->has_ts);
	if (a->has_mss)
		assert_int_equal(a->mss, b->mss);
	if (a->has_wscale)
		assert_int_equal(a->wscale, b->wscale);
	if (a->has_ts) {
		assert_int_equal(a->tsval, b->tsval);
		assert_int_equal(a->tsecr, b->tsecr);
	}
	assert_int_equal(a->n_sack, b->n_sack);
	for (int i = 0; i < a->n_sack; i++) {
		assert_int_equal(a->sack[i].left, b->sack[i].left);
		assert_int_equal(a->sack[i].right, b->sack[i].right);
	}
}

/* ---- UDP ---- */

static void test_udp_captured(void **s)
{
	(void)s;
	struct ipv4_repr ip;
	struct udp_repr u;
	assert_int_equal(ipv4_parse(cap_dns + 14, sizeof cap_dns - 14, &ip, 1), 0);
	assert_int_equal(ip.proto, IP_PROTO_UDP);
	const uint8_t *p = cap_dns + 34;
	assert_int_equal(udp_parse(p, ip.payload_len, ip.src, ip.dst, &u, 1), 0);
	assert_int_equal(u.sport, 0xc247);
	assert_int_equal(u.dport, 53);
	assert_int_equal(u.len, 37);
	assert_int_equal(u.csum, 0xadd7);
	assert_ptr_equal(u.payload, p + 8);
	assert_int_equal(u.payload_len, 29);
	assert_int_equal(rd_be16(u.payload), 0xabcd); /* DNS id */
	assert_memory_equal(u.payload + 13, "example", 7);
	/* Wrong addresses break the pseudo-header sum. */
	assert_int_equal(udp_parse(p, 37, ip.src, ip.dst + 1, &u, 1), -EBADMSG);
	assert_int_equal(udp_parse(p, 37, ip.dst, ip.src, &u, 1), 0); /* swap is the same sum */
	/* Emit reproduces Linux's bytes. */
	uint8_t b[37];
	memcpy(b, p, sizeof b);
	memset(b, 0, 8);
	udp_emit(0xc247, 53, SRC, DST, b, 29);
	assert_memory_equal(b, p, sizeof b);
}

static void test_udp_roundtrip(void **s)
{
	(void)s;
	static uint8_t b[8 + 65507], pay[65507];
	for (int i = 0; i < 500; i++) {
		size_t n = i == 0 ? sizeof pay : rnd() % 1473;
		uint16_t sp = (uint16_t)rnd(), dp = (uint16_t)rnd();
		uint32_t src = (uint32_t)rnd(), dst = (uint32_t)rnd();
		rnd_fill(pay, n);
		memcpy(b + 8, pay, n);
		udp_emit(sp, dp, src, dst, b, n);
		uint16_t got = rd_be16(b + 6);
		wr_be16(b + 6, 0);
		uint16_t want = ref_csum4(src, dst, IP_PROTO_UDP, b, 8 + n);
		assert_int_equal(got, want ? want : 0xFFFF);
		wr_be16(b + 6, got);
		struct udp_repr u;
		assert_int_equal(udp_parse(b, 8 + n, src, dst, &u, 1), 0);
		assert_int_equal(u.sport, sp);
		assert_int_equal(u.dport, dp);
		assert_int_equal(u.len, 8 + n);
		assert_int_equal(u.payload_len, n);
		assert_ptr_equal(u.payload, b + 8);
		assert_memory_equal(u.payload, pay, n);
	}
}

/* A payload whose checksum computes to 0 is sent as 0xFFFF (RFC 768). */
static void test_udp_zero_csum_sent_as_ffff(void **s)
{
	(void)s;
	uint8_t b[8 + 10];
	memset(b + 8, 0x11, 10);
	wr_be16(b + 16, 0);
	udp_emit(7, 9, SRC, DST, b, 10);
	/* Putting the checksum into the payload makes the total sum 0xFFFF. */
	wr_be16(b + 16, rd_be16(b + 6));
	udp_emit(7, 9, SRC, DST, b, 10);
	assert_int_equal(rd_be16(b + 6), 0xFFFF);
	struct udp_repr u;
	assert_int_equal(udp_parse(b, sizeof b, SRC, DST, &u, 1), 0);
	assert_int_equal(u.csum, 0xFFFF);
	/* And that datagram with 0 in the field is "no checksum", accepted. */
	wr_be16(b + 6, 0);
	assert_int_equal(udp_parse(b, sizeof b, SRC, DST, &u, 1), 0);
	assert_int_equal(u.csum, 0);
}

static void test_udp_no_checksum(void **s)
{
	(void)s;
	uint8_t b[37];
	struct udp_repr u;
	memcpy(b, cap_dns + 34, sizeof b);
	wr_be16(b + 6, 0);
	b[20] ^= 0xFF; /* anything goes without a checksum */
	assert_int_equal(udp_parse(b, sizeof b, SRC, DST, &u, 1), 0);
	assert_int_equal(u.payload_len, 29);
}

static void test_udp_truncated(void **s)
{
	(void)s;
	struct udp_repr u;
	const uint8_t *p = cap_dns + 34;
	for (size_t n = 0; n < 37; n++) {
		assert_int_equal(udp_parse(p, n, SRC, DST, &u, 1), -EINVAL);
		assert_int_equal(udp_parse(p, n, SRC, DST, &u, 0), -EINVAL);
	}
	assert_int_equal(udp_parse(p, 37, SRC, DST, &u, 1), 0);
}

static void test_udp_bad_lengths(void **s)
{
	(void)s;
	struct udp_repr u;
	uint8_t b[64];
	memcpy(b, cap_dns + 34, 37);
	memset(b + 37, 0xEE, sizeof b - 37);
	/* Length field below 8. */
	for (uint16_t l = 0; l < 8; l++) {
		wr_be16(b + 4, l);
		assert_int_equal(udp_parse(b, sizeof b, SRC, DST, &u, 0), -EINVAL);
	}
	/* Length field past the buffer. */
	wr_be16(b + 4, 65);
	assert_int_equal(udp_parse(b, sizeof b, SRC, DST, &u, 0), -EINVAL);
	wr_be16(b + 4, 0xFFFF);
	assert_int_equal(udp_parse(b, sizeof b, SRC, DST, &u, 0), -EINVAL);
	/* Length field below the buffer: bytes past it are ignored, also by
	 * the checksum. */
	wr_be16(b + 4, 37);
	assert_int_equal(udp_parse(b, sizeof b, SRC, DST, &u, 1), 0);
	assert_int_equal(u.len, 37);
	assert_int_equal(u.payload_len, 29);
	/* Header only. */
	uint8_t h[8];
	udp_emit(1, 2, SRC, DST, h, 0);
	assert_int_equal(udp_parse(h, 8, SRC, DST, &u, 1), 0);
	assert_int_equal(u.payload_len, 0);
}

static void test_udp_bad_checksum(void **s)
{
	(void)s;
	struct udp_repr u;
	uint8_t b[37];
	memcpy(b, cap_dns + 34, sizeof b);
	for (size_t i = 0; i < sizeof b; i++) {
		if (i == 4 || i == 5)
			continue; /* the length field */
		b[i] ^= 0x04;
		int want = (i == 6 || i == 7) && rd_be16(b + 6) == 0 ? 0 : -EBADMSG;
		assert_int_equal(udp_parse(b, sizeof b, SRC, DST, &u, 1), want);
		assert_int_equal(udp_parse(b, sizeof b, SRC, DST, &u, 0), 0);
		b[i] ^= 0x04;
	}
}

/* ---- TCP ---- */

static void test_tcp_captured_syn(void **s)
{
	(void)s;
	struct ipv4_repr ip;
	struct tcp_repr t;
	assert_int_equal(ipv4_parse(cap_tcp_syn + 14, sizeof cap_tcp_syn - 14, &ip, 1), 0);
	assert_int_equal(ip.proto, IP_PROTO_TCP);
	const uint8_t *p = cap_tcp_syn + 34;
	assert_int_equal(tcp_parse(p, ip.payload_len, ip.src, ip.dst, &t, 1), 0);
	assert_int_equal(t.sport, 48258);
	assert_int_equal(t.dport, 80);
	assert_int_equal(t.seq, 0xc63267d6);
	assert_int_equal(t.ack, 0);
	assert_int_equal(t.flags, TCP_SYN);
	assert_int_equal(t.win, 64240);
	assert_int_equal(t.urg, 0);
	assert_int_equal(t.hdr_len, 40);
	assert_int_equal(t.has_mss, 1);
	assert_int_equal(t.mss, 1460);
	assert_int_equal(t.sack_perm, 1);
	assert_int_equal(t.has_ts, 1);
	assert_int_equal(t.tsval, 0x72d567bc);
	assert_int_equal(t.tsecr, 0);
	assert_int_equal(t.has_wscale, 1);
	assert_int_equal(t.wscale, 10);
	assert_int_equal(t.n_sack, 0);
	assert_int_equal(t.bad_opts, 0);
	assert_int_equal(t.payload_len, 0);
	assert_ptr_equal(t.payload, p + 40);

	/* Re-emit: the captured (Linux) SYN byte for byte, options in the
	 * same order (MSS, SACKP+TS, NOP WS), checksum included. */
	assert_int_equal(tcp_hdr_len_for(&t), 40);
	uint8_t b[60];
	assert_int_equal(tcp_emit(&t, SRC, DST, b, 0), 40);
	assert_memory_equal(b, p, 40);
	assert_int_equal(ref_csum4(SRC, DST, IP_PROTO_TCP, b, 40), 0);
	struct tcp_repr t2;
	assert_int_equal(tcp_parse(b, 40, SRC, DST, &t2, 1), 0);
	assert_tcp_same_opts(&t, &t2);

	/* Wrong pseudo-header. */
	assert_int_equal(tcp_parse(p, 40, SRC, DST + 1, &t2, 1), -EBADMSG);
	assert_int_equal(tcp_parse(p, 40, SRC, DST + 1, &t2, 0), 0);
}

/* The exact bytes for each option combination. */
static void test_tcp_emit_layout(void **s)
{
	(void)s;
	struct tcp_repr r;
	uint8_t b[60];
	memset(&r, 0, sizeof r);
	r.flags = TCP_ACK;

	assert_int_equal(tcp_emit(&r, SRC, DST, b, 0), 20);
	assert_int_equal(b[12], 0x50);

	r.has_ts = 1;
	r.tsval = 0x01020304;
	r.tsecr = 0x05060708;
	static const uint8_t ts[] = {1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8};
	assert_int_equal(tcp_emit(&r, SRC, DST, b, 0), 32);
	assert_int_equal(b[12], 0x80);
	assert_memory_equal(b + 20, ts, sizeof ts);

	r.has_ts = 0;
	r.sack_perm = 1;
	static const uint8_t sp[] = {1, 1, 4, 2};
	assert_int_equal(tcp_emit(&r, SRC, DST, b, 0), 24);
	assert_memory_equal(b + 20, sp, sizeof sp);

	r.sack_perm = 0;
	r.has_mss = 1;
	r.mss = 536;
	static const uint8_t mss[] = {2, 4, 0x02, 0x18};
	assert_int_equal(tcp_emit(&r, SRC, DST, b, 0), 24);
	assert_memory_equal(b + 20, mss, sizeof mss);

	r.has_mss = 0;
	r.has_wscale = 1;
	r.wscale = 7;
	static const uint8_t ws[] = {1, 3, 3, 7};
	assert_int_equal(tcp_emit(&r, SRC, DST, b, 0), 24);
	assert_memory_equal(b + 20, ws, sizeof ws);

	r.has_wscale = 0;
	r.n_sack = 2;
	r.sack[0] = (struct tcp_sack_block){0x10, 0x20};
	r.sack[1] = (struct tcp_sack_block){0xAABBCCDD, 0xEEFF0011};
	static const uint8_t sk[] = {1, 1, 5, 18, 0, 0, 0, 0x10, 0, 0, 0, 0x20,
				     0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00, 0x11};
	assert_int_equal(tcp_emit(&r, SRC, DST, b, 0), 40);
	assert_memory_equal(b + 20, sk, sizeof sk);

	/* Everything, in Linux's order: MSS, SACKP TS, NOP WS, then the SACK
	 * blocks that fit. */
	r.has_mss = r.has_wscale = r.sack_perm = r.has_ts = 1;
	r.n_sack = 4;
	r.sack[2] = (struct tcp_sack_block){3, 4};
	r.sack[3] = (struct tcp_sack_block){5, 6};
	static const uint8_t all[] = {2, 4, 0x02, 0x18, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7,
				      1, 1, 5, 18, 0, 0, 0, 0x10, 0, 0, 0, 0x20,
				      0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00, 0x11};
	assert_int_equal(tcp_hdr_len_for(&r), 60);
	assert_int_equal(tcp_emit(&r, SRC, DST, b, 0), 60);
	assert_int_equal(b[12], 0xF0);
	assert_memory_equal(b + 20, all, sizeof all);
	struct tcp_repr p;
	assert_int_equal(tcp_parse(b, 60, SRC, DST, &p, 1), 0);
	assert_int_equal(p.n_sack, 2);
	assert_int_equal(p.bad_opts, 0);
}

/* tcp_hdr_len_for matches tcp_emit for every combination, never exceeds 60
 * and the parse gets back what fit. */
static void test_tcp_hdr_len_all_combos(void **s)
{
	(void)s;
	for (unsigned m = 0; m < 16; m++) {
		for (unsigned ns = 0; ns <= 6; ns++) {
			struct tcp_repr r, p;
			uint8_t b[60 + 4];
			memset(&r, 0, sizeof r);
			r.has_mss = m & 1;
			r.mss = 1460;
			r.has_wscale = (m >> 1) & 1;
			r.wscale = 14;
			r.sack_perm = (m >> 2) & 1;
			r.has_ts = (m >> 3) & 1;
			r.tsval = 77;
			r.tsecr = 88;
			r.n_sack = (uint8_t)ns; /* above 4 is clamped */
			for (int i = 0; i < TCP_MAX_SACK; i++)
				r.sack[i] = (struct tcp_sack_block){(uint32_t)i * 100, (uint32_t)i * 100 + 50};
			size_t hl = tcp_hdr_len_for(&r);
			memcpy(b + hl, "data", 4);
			assert_int_equal(tcp_emit(&r, SRC, DST, b, 4), hl);
			assert_true(hl <= 60 && hl % 4 == 0);
			assert_int_equal(b[12] >> 4, hl / 4);
			assert_int_equal(tcp_parse(b, hl + 4, SRC, DST, &p, 1), 0);
			assert_int_equal(p.hdr_len, hl);
			assert_int_equal(p.bad_opts, 0);
			assert_int_equal(p.payload_len, 4);
			assert_memory_equal(p.payload, "data", 4);
			size_t used = (r.has_mss ? 4 : 0) + (r.has_wscale ? 4 : 0) + (r.has_ts ? 12 : r.sack_perm ? 4 : 0);
			size_t fit = used + 12 <= 40 ? (40 - used - 4) / 8 : 0;
			size_t want = US_MIN(US_MIN((size_t)ns, (size_t)TCP_MAX_SACK), fit);
			assert_int_equal(p.n_sack, want);
			assert_int_equal(hl, 20 + used + (want ? 4 + 8 * want : 0));
			r.n_sack = (uint8_t)want;
			assert_tcp_same_opts(&r, &p);
		}
	}
}

static void test_tcp_roundtrip(void **s)
{
	(void)s;
	static uint8_t b[60 + 65455], pay[65455]; /* 20 + 60 + 65455 = 65535 */
	for (int i = 0; i < 2000; i++) {
		struct tcp_repr a, p;
		memset(&a, 0, sizeof a);
		a.sport = (uint16_t)rnd();
		a.dport = (uint16_t)rnd();
		a.seq = (uint32_t)rnd();
		a.ack = (uint32_t)rnd();
		a.flags = (uint8_t)rnd();
		a.win = (uint16_t)rnd();
		a.urg = (uint16_t)rnd();
		a.has_mss = rnd() & 1;
		a.mss = (uint16_t)rnd();
		a.has_wscale = rnd() & 1;
		a.wscale = (uint8_t)rnd();
		a.sack_perm = rnd() & 1;
		a.has_ts = rnd() & 1;
		a.tsval = (uint32_t)rnd();
		a.tsecr = (uint32_t)rnd();
		a.n_sack = (uint8_t)(rnd() % 5);
		for (int j = 0; j < TCP_MAX_SACK; j++)
			a.sack[j] = (struct tcp_sack_block){(uint32_t)rnd(), (uint32_t)rnd()};
		uint32_t src = (uint32_t)rnd(), dst = (uint32_t)rnd();
		size_t n = i == 0 ? sizeof pay : rnd() % 1461;
		size_t hl = tcp_hdr_len_for(&a);
		rnd_fill(pay, n);
		memcpy(b + hl, pay, n);
		assert_int_equal(tcp_emit(&a, src, dst, b, n), hl);
		assert_int_equal(ref_csum4(src, dst, IP_PROTO_TCP, b, hl + n), 0);
		assert_int_equal(tcp_parse(b, hl + n, src, dst, &p, 1), 0);
		assert_int_equal(p.sport, a.sport);
		assert_int_equal(p.dport, a.dport);
		assert_int_equal(p.seq, a.seq);
		assert_int_equal(p.ack, a.ack);
		assert_int_equal(p.flags, a.flags);
		assert_int_equal(p.win, a.win);
		assert_int_equal(p.urg, a.urg);
		assert_int_equal(p.hdr_len, hl);
		assert_int_equal(p.bad_opts, 0);
		if (p.n_sack < a.n_sack) {
			assert_true(hl + 8 > 60); /* dropped only for lack of room */
			a.n_sack = p.n_sack;
		}
		assert_tcp_same_opts(&a, &p);
		assert_ptr_equal(p.payload, b + hl);
		assert_int_equal(p.payload_len, n);
		assert_memory_equal(p.payload, pay, n);
	}
}

static void test_tcp_truncated(void **s)
{
	(void)s;
	struct tcp_repr t;
	const uint8_t *p = cap_tcp_syn + 34;
	for (size_t n = 0; n < 40; n++) {
		assert_int_equal(tcp_parse(p, n, SRC, DST, &t, 1), -EINVAL);
		assert_int_equal(tcp_parse(p, n, SRC, DST, &t, 0), -EINVAL);
	}
	assert_int_equal(tcp_parse(p, 40, SRC, DST, &t, 1), 0);
	/* A segment with data: cut in the data is a checksum failure only. */
	uint8_t b[100];
	size_t n = mk_tcp(b, NULL, 0, 50);
	for (size_t len = 20; len < n; len++) {
		assert_int_equal(tcp_parse(b, len, SRC, DST, &t, 0), 0);
		assert_int_equal(t.payload_len, len - 20);
	}
}

static void test_tcp_bad_data_offset(void **s)
{
	(void)s;
	struct tcp_repr t;
	uint8_t b[80];
	size_t n = mk_tcp(b, NULL, 0, 20); /* 40 bytes */
	for (int off = 0; off < 16; off++) {
		b[12] = (uint8_t)(off << 4);
		wr_be16(b + 16, 0);
		wr_be16(b + 16, ref_csum4(SRC, DST, IP_PROTO_TCP, b, n));
		int want = off >= 5 && off * 4 <= (int)n ? 0 : -EINVAL;
		assert_int_equal(tcp_parse(b, n, SRC, DST, &t, 1), want);
		if (!want)
			assert_int_equal(t.payload_len, n - (size_t)off * 4);
	}
	/* The low nibble (reserved bits, AE) is ignored. */
	b[12] = 0x5F;
	wr_be16(b + 16, 0);
	wr_be16(b + 16, ref_csum4(SRC, DST, IP_PROTO_TCP, b, n));
	assert_int_equal(tcp_parse(b, n, SRC, DST, &t, 1), 0);
	assert_int_equal(t.hdr_len, 20);
}

static void test_tcp_bad_checksum(void **s)
{
	(void)s;
	struct tcp_repr t;
	uint8_t b[100];
	size_t n = mk_tcp(b, NULL, 0, 51); /* odd length */
	assert_int_equal(tcp_parse(b, n, SRC, DST, &t, 1), 0);
	for (size_t i = 0; i < n; i++) {
		if (i == 12)
			continue; /* the data offset */
		b[i] ^= 0x80;
		assert_int_equal(tcp_parse(b, n, SRC, DST, &t, 1), -EBADMSG);
		assert_int_equal(tcp_parse(b, n, SRC, DST, &t, 0), 0);
		b[i] ^= 0x80;
	}
}

/* A segment whose checksum computes to 0: ustack sends 0x0000, the value
 * the computation gives (0xFFFF, "-0", is what Linux's skb_checksum_help
 * writes when it finishes an offloaded checksum, CSUM_MANGLED_0; RFC 1624
 * and Wireshark take 0x0000 as the canonical form for TCP). Either is
 * accepted on input: they are equal in one's complement. */
static void test_tcp_zero_csum(void **s)
{
	(void)s;
	struct tcp_repr t = {.sport = 1234, .dport = 80, .seq = 1000, .ack = 2000, .flags = TCP_ACK, .win = 512};
	uint8_t b[20 + 10];
	memset(b + 20, 0x5A, 10);
	wr_be16(b + 20, 0);
	tcp_emit(&t, SRC, DST, b, 10);
	/* Putting the checksum into the payload makes the total sum 0xFFFF. */
	wr_be16(b + 20, rd_be16(b + 16));
	tcp_emit(&t, SRC, DST, b, 10);
	assert_int_equal(rd_be16(b + 16), 0x0000);
	struct tcp_repr r;
	assert_int_equal(tcp_parse(b, sizeof b, SRC, DST, &r, 1), 0);
	wr_be16(b + 16, 0xFFFF);
	assert_int_equal(tcp_parse(b, sizeof b, SRC, DST, &r, 1), 0);
	/* Finished from a partial checksum (as the pcap link and a device do):
	 * the same 0x0000. */
	tcp_emit_partial(&t, SRC, DST, b, 10);
	wr_be16(b + 16, csum_fold(csum_partial(b, sizeof b, 0)));
	assert_int_equal(rd_be16(b + 16), 0x0000);
}

static void test_tcp_opts_malformed_length(void **s)
{
	(void)s;
	struct tcp_repr t;
	/* Unknown kind with length 0 and 1: the walk stops, earlier options
	 * are kept, later ones are not. */
	static const uint8_t len0[] = {2, 4, 5, 0xb4, 0x99, 0, 1, 3, 3, 7};
	assert_int_equal(tcp_opts(len0, sizeof len0, &t), 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.has_mss, 1);
	assert_int_equal(t.has_wscale, 0);
	static const uint8_t len1[] = {2, 4, 5, 0xb4, 0x99, 1, 1, 3, 3, 7};
	assert_int_equal(tcp_opts(len1, sizeof len1, &t), 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.has_mss, 1);
	assert_int_equal(t.has_wscale, 0);
	/* Known kinds with length 0 / 1. */
	static const uint8_t mss0[] = {2, 0, 5, 0xb4};
	static const uint8_t ts1[] = {8, 1, 0, 0};
	assert_int_equal(tcp_opts(mss0, sizeof mss0, &t), 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.has_mss, 0);
	assert_int_equal(tcp_opts(ts1, sizeof ts1, &t), 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.has_ts, 0);
	/* Length past the end of the header. */
	static const uint8_t past[] = {1, 1, 3, 3, 7, 0x99, 4, 0};
	assert_int_equal(tcp_opts(past, sizeof past, &t), 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.has_wscale, 1);
	static const uint8_t tspast[] = {1, 1, 8, 10, 0, 0, 0, 0};
	assert_int_equal(tcp_opts(tspast, sizeof tspast, &t), 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.has_ts, 0);
	/* A kind in the last byte with no room for its length. */
	static const uint8_t nolen[] = {1, 1, 1, 2};
	assert_int_equal(tcp_opts(nolen, sizeof nolen, &t), 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.has_mss, 0);
}

static void test_tcp_opts_known_wrong_length(void **s)
{
	(void)s;
	struct tcp_repr t;
	/* MSS length 3 and 5: skipped by length and counted; the walk goes on. */
	static const uint8_t mss3[] = {2, 3, 5, 1, 3, 3, 7, 0};
	assert_int_equal(tcp_opts(mss3, sizeof mss3, &t), 0);
	assert_int_equal(t.has_mss, 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.has_wscale, 1);
	assert_int_equal(t.wscale, 7);
	static const uint8_t mss5[] = {2, 5, 5, 0xb4, 0, 1, 3, 3, 7};
	assert_int_equal(tcp_opts(mss5, sizeof mss5, &t), 0);
	assert_int_equal(t.has_mss, 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.has_wscale, 1);
	/* WS length 2 and 4. */
	static const uint8_t ws2[] = {3, 2, 3, 4, 7, 0, 1, 1};
	assert_int_equal(tcp_opts(ws2, sizeof ws2, &t), 0);
	assert_int_equal(t.has_wscale, 0);
	assert_int_equal(t.bad_opts, 2);
	/* SACK-permitted length 3. */
	static const uint8_t sp3[] = {4, 3, 0, 2, 4, 5, 0xb4};
	assert_int_equal(tcp_opts(sp3, sizeof sp3, &t), 0);
	assert_int_equal(t.sack_perm, 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.has_mss, 1);
	assert_int_equal(t.mss, 1460);
	/* Timestamps length 9 and 11. */
	static const uint8_t ts9[] = {8, 9, 1, 2, 3, 4, 5, 6, 7, 4, 2};
	assert_int_equal(tcp_opts(ts9, sizeof ts9, &t), 0);
	assert_int_equal(t.has_ts, 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.sack_perm, 1);
	static const uint8_t ts11[] = {8, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 4, 2};
	assert_int_equal(tcp_opts(ts11, sizeof ts11, &t), 0);
	assert_int_equal(t.has_ts, 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.sack_perm, 1);
}

static void test_tcp_opts_values_kept_raw(void **s)
{
	(void)s;
	struct tcp_repr t;
	static const uint8_t mss0[] = {2, 4, 0, 0};
	assert_int_equal(tcp_opts(mss0, sizeof mss0, &t), 0);
	assert_int_equal(t.has_mss, 1);
	assert_int_equal(t.mss, 0);
	assert_int_equal(t.bad_opts, 0);
	static const uint8_t msshi[] = {2, 4, 0xFF, 0xFF};
	assert_int_equal(tcp_opts(msshi, sizeof msshi, &t), 0);
	assert_int_equal(t.mss, 0xFFFF);
	static const uint8_t ws15[] = {1, 3, 3, 15};
	assert_int_equal(tcp_opts(ws15, sizeof ws15, &t), 0);
	assert_int_equal(t.has_wscale, 1);
	assert_int_equal(t.wscale, 15);
	assert_int_equal(t.bad_opts, 0);
	static const uint8_t ws255[] = {1, 3, 3, 255};
	assert_int_equal(tcp_opts(ws255, sizeof ws255, &t), 0);
	assert_int_equal(t.wscale, 255);
	/* Re-emitting keeps the raw value too. */
	uint8_t b[60];
	assert_int_equal(tcp_emit(&t, SRC, DST, b, 0), 24);
	assert_int_equal(b[23], 255);
}

static void test_tcp_opts_nop_eol(void **s)
{
	(void)s;
	struct tcp_repr t;
	uint8_t o[40];
	memset(o, TCPOPT_NOP, sizeof o);
	assert_int_equal(tcp_opts(o, 40, &t), 0);
	assert_int_equal(t.hdr_len, 60);
	assert_int_equal(t.bad_opts, 0);
	assert_int_equal(t.has_mss | t.has_wscale | t.sack_perm | t.has_ts | t.n_sack, 0);
	/* EOL followed by garbage (which would be malformed) is never read. */
	memset(o, 0xEE, sizeof o);
	o[0] = 2;
	o[1] = 4;
	o[2] = 1;
	o[3] = 0;
	o[4] = TCPOPT_EOL;
	o[5] = 2;
	o[6] = 4;
	o[7] = 0;
	o[8] = 0;
	assert_int_equal(tcp_opts(o, 40, &t), 0);
	assert_int_equal(t.has_mss, 1);
	assert_int_equal(t.mss, 256);
	assert_int_equal(t.bad_opts, 0);
	/* All EOL. */
	memset(o, 0, sizeof o);
	assert_int_equal(tcp_opts(o, 40, &t), 0);
	assert_int_equal(t.bad_opts, 0);
	/* Unknown kinds with valid lengths are skipped, not counted (an
	 * experimental option with some other experiment's magic too). */
	static const uint8_t unk[] = {30, 4, 0x10, 0x01, 0xFE, 6, 0x12, 0x34, 1, 2, 1, 3, 3, 9};
	assert_int_equal(tcp_opts(unk, sizeof unk, &t), 0);
	assert_int_equal(t.bad_opts, 0);
	assert_int_equal(t.has_wscale, 1);
	assert_int_equal(t.wscale, 9);
}

/* Fast Open (RFC 7413 4.1.1): kind 34, or 254 with magic 0xF989; an empty
 * cookie is a request; cookies are 4 to 16 bytes, an even count. */
static void test_tcp_opts_fastopen(void **s)
{
	(void)s;
	struct tcp_repr t;
	static const uint8_t req[] = {34, 2, 1, 1};
	assert_int_equal(tcp_opts(req, sizeof req, &t), 0);
	assert_int_equal(t.fo, TCP_FO_RFC);
	assert_int_equal(t.fo_len, 0);
	assert_int_equal(t.bad_opts, 0);
	static const uint8_t rfc[] = {34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1};
	assert_int_equal(tcp_opts(rfc, sizeof rfc, &t), 0);
	assert_int_equal(t.fo, TCP_FO_RFC);
	assert_int_equal(t.fo_len, 8);
	assert_memory_equal(t.fo_cookie, rfc + 2, 8);
	static const uint8_t exp[] = {254, 8, 0xF9, 0x89, 9, 8, 7, 6};
	assert_int_equal(tcp_opts(exp, sizeof exp, &t), 0);
	assert_int_equal(t.fo, TCP_FO_EXP);
	assert_int_equal(t.fo_len, 4);
	assert_memory_equal(t.fo_cookie, exp + 4, 4);
	/* Cookies of 2, 5 and 18 bytes: skipped and counted. */
	static const uint8_t bad1[] = {34, 4, 1, 2};
	static const uint8_t bad2[] = {34, 7, 1, 2, 3, 4, 5, 1};
	uint8_t bad3[20] = {34, 20};
	assert_int_equal(tcp_opts(bad1, sizeof bad1, &t), 0);
	assert_int_equal(t.fo, 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(tcp_opts(bad2, sizeof bad2, &t), 0);
	assert_int_equal(t.fo, 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(tcp_opts(bad3, sizeof bad3, &t), 0);
	assert_int_equal(t.fo, 0);
	assert_int_equal(t.bad_opts, 1);

	/* Written last, in Linux's layout: NOP NOP pad after an odd pair. */
	struct tcp_repr r;
	uint8_t b[64];
	memset(&r, 0, sizeof r);
	r.has_mss = 1;
	r.mss = 1460;
	r.fo = TCP_FO_RFC;
	assert_int_equal(tcp_emit(&r, SRC, DST, b, 0), 28);
	static const uint8_t w1[] = {2, 4, 0x05, 0xb4, 34, 2, 1, 1};
	assert_memory_equal(b + 20, w1, sizeof w1);
	r.fo = TCP_FO_EXP;
	r.fo_len = 8;
	memcpy(r.fo_cookie, "\x30\x21\xb9\xd8\x89\x01\x7e\xeb", 8);
	assert_int_equal(tcp_emit(&r, SRC, DST, b, 0), 36);
	static const uint8_t w2[] = {2, 4, 0x05, 0xb4, 254, 12, 0xF9, 0x89, 0x30, 0x21, 0xb9, 0xd8, 0x89, 0x01, 0x7e, 0xeb};
	assert_memory_equal(b + 20, w2, sizeof w2);
	/* Everything a SYN carries, the largest cookie: 40 bytes exactly. */
	r.has_wscale = r.sack_perm = r.has_ts = 1;
	r.fo_len = 16;
	assert_int_equal(tcp_hdr_len_for(&r), 60);
	assert_int_equal(tcp_emit(&r, SRC, DST, b, 0), 60);
	struct tcp_repr p;
	assert_int_equal(tcp_parse(b, 60, SRC, DST, &p, 1), 0);
	assert_int_equal(p.bad_opts, 0);
	assert_int_equal(p.fo, TCP_FO_EXP);
	assert_int_equal(p.fo_len, 16);
	assert_int_equal(p.has_ts, 1);
	assert_int_equal(p.has_wscale, 1);
}

static void test_tcp_opts_sack(void **s)
{
	(void)s;
	struct tcp_repr t;
	uint8_t o[40];
	/* Four blocks: 2 + 32 bytes. */
	memset(o, 0, sizeof o);
	o[0] = o[1] = TCPOPT_NOP;
	o[2] = TCPOPT_SACK;
	o[3] = 34;
	for (int i = 0; i < 8; i++)
		wr_be32(o + 4 + 4 * i, 0x11111111u * (uint32_t)(i + 1));
	assert_int_equal(tcp_opts(o, 36, &t), 0);
	assert_int_equal(t.n_sack, 4);
	assert_int_equal(t.bad_opts, 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t.sack[i].left, 0x11111111u * (uint32_t)(2 * i + 1));
		assert_int_equal(t.sack[i].right, 0x11111111u * (uint32_t)(2 * i + 2));
	}
	/* Lengths that are not 2 + 8n with n in 1..4. */
	for (int len = 2; len <= 38; len++) {
		o[3] = (uint8_t)len;
		assert_int_equal(tcp_opts(o, 40, &t), 0);
		int ok = (len - 2) % 8 == 0 && len >= 10 && len <= 34;
		assert_int_equal(t.n_sack, ok ? (len - 2) / 8 : 0);
		/* Skipped by its length; the bytes after are 0x.. block data
		 * which may themselves be malformed, so count at least one. */
		if (!ok)
			assert_true(t.bad_opts >= 1);
	}
	/* SACK with (len - 2) % 8 != 0 followed by a good option. */
	static const uint8_t odd[] = {5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 3, 3, 4};
	assert_int_equal(tcp_opts(odd, sizeof odd, &t), 0);
	assert_int_equal(t.n_sack, 0);
	assert_int_equal(t.bad_opts, 1);
	assert_int_equal(t.has_wscale, 1);
	assert_int_equal(t.wscale, 4);
	/* SACK with no blocks. */
	static const uint8_t empty[] = {1, 1, 5, 2};
	assert_int_equal(tcp_opts(empty, sizeof empty, &t), 0);
	assert_int_equal(t.n_sack, 0);
	assert_int_equal(t.bad_opts, 1);
	/* Five blocks do not fit in 40 bytes: length past the end. */
	o[0] = TCPOPT_SACK;
	o[1] = 42;
	assert_int_equal(tcp_opts(o, 40, &t), 0);
	assert_int_equal(t.n_sack, 0);
	assert_int_equal(t.bad_opts, 1);
	/* Timestamps and three blocks, as a receiver with loss sends them. */
	static const uint8_t ts3[] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 5, 26,
				      0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40, 0, 0, 0, 50, 0, 0, 0, 60};
	assert_int_equal(tcp_opts(ts3, sizeof ts3, &t), 0);
	assert_int_equal(t.has_ts, 1);
	assert_int_equal(t.tsval, 1);
	assert_int_equal(t.tsecr, 2);
	assert_int_equal(t.n_sack, 3);
	assert_int_equal(t.sack[2].left, 50);
	assert_int_equal(t.sack[2].right, 60);
	assert_int_equal(t.bad_opts, 0);
	/* Emitted again it is the same bytes. */
	uint8_t b[60];
	assert_int_equal(tcp_emit(&t, SRC, DST, b, 0), 60);
	assert_memory_equal(b + 20, ts3, sizeof ts3);
}

/* Every option byte string of the torture set, at every length: the walk
 * never reads past the header (ASan watches) and always terminates. */
static void test_tcp_opts_random_walks(void **s)
{
	(void)s;
	for (int i = 0; i < 200000; i++) {
		uint8_t o[40];
		size_t olen = (rnd() % 11) * 4;
		for (size_t j = 0; j < olen; j++) {
			uint64_t x = rnd();
			/* Bias towards the interesting kinds and small lengths. */
			o[j] = (uint8_t)((x & 3) == 0 ? (x >> 8) % 10 : (x & 3) == 1 ? (x >> 8) % 12 : x >> 8);
		}
		struct tcp_repr t;
		uint8_t b[60];
		size_t n = mk_tcp(b, o, olen, 0);
		assert_int_equal(tcp_parse(b, n, SRC, DST, &t, 1), 0);
		assert_true(t.n_sack <= TCP_MAX_SACK);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_captured),
		cmocka_unit_test(test_udp_roundtrip),
		cmocka_unit_test(test_udp_zero_csum_sent_as_ffff),
		cmocka_unit_test(test_udp_no_checksum),
		cmocka_unit_test(test_udp_truncated),
		cmocka_unit_test(test_udp_bad_lengths),
		cmocka_unit_test(test_udp_bad_checksum),
		cmocka_unit_test(test_tcp_captured_syn),
		cmocka_unit_test(test_tcp_emit_layout),
		cmocka_unit_test(test_tcp_hdr_len_all_combos),
		cmocka_unit_test(test_tcp_roundtrip),
		cmocka_unit_test(test_tcp_truncated),
		cmocka_unit_test(test_tcp_bad_data_offset),
		cmocka_unit_test(test_tcp_bad_checksum),
		cmocka_unit_test(test_tcp_zero_csum),
		cmocka_unit_test(test_tcp_opts_malformed_length),
		cmocka_unit_test(test_tcp_opts_known_wrong_length),
		cmocka_unit_test(test_tcp_opts_values_kept_raw),
		cmocka_unit_test(test_tcp_opts_nop_eol),
		cmocka_unit_test(test_tcp_opts_fastopen),
		cmocka_unit_test(test_tcp_opts_sack),
		cmocka_unit_test(test_tcp_opts_random_walks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
