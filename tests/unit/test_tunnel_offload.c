/* Unit tests for the tunnel's offloads (apps/tunnel_offload.c): checksums
 * against a plain RFC 1071 sum, TSO cutting of IPv4 and IPv6 super-frames
 * (headers, sequence numbers, flags, IP IDs, checksums, payload), finishing
 * partial checksums, refusing malformed headers, and GRO joining the cut
 * packets back into the original super-frame, in order, per flow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../apps/tunnel_offload.h"

static uint64_t rng = 0x243f6a8885a308d3u;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint16_t naive_csum(const uint8_t *p, size_t n, uint32_t init)
{
	uint64_t s = init;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void csum_matches_naive(void **state)
{
	(void)state;
	uint8_t buf[3000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	for (int k = 0; k < 2000; k++) {
		size_t off = rnd() % 64, n = rnd() % (sizeof(buf) - 64);
		uint16_t got = tnl_csum_fold(tnl_csum_add(0, buf + off, n));
		/* native sum: stored natively it reads as the big-endian sum */
		uint8_t b[2];
		memcpy(b, &got, 2);
		assert_int_equal(be16(b), naive_csum(buf + off, n, 0));
	}
}

/* A TCP super-frame: IPv4 or IPv6, 12 bytes of options, pay bytes. */
static size_t make_frame(uint8_t *f, int fam, size_t pay, uint8_t flags)
{
	size_t ipl = fam == 4 ? 20 : 40, thl = 32, n = ipl + thl + pay;
	memset(f, 0, ipl + thl);
	if (fam == 4) {
		f[0] = 0x45;
		f[1] = 0x02;   /* ECT(0) */
		f[2] = (uint8_t)(n >> 8), f[3] = (uint8_t)n;
		f[4] = 0x12, f[5] = 0x34;
		f[6] = 0x40;   /* DF */
		f[8] = 64, f[9] = 6;
		memcpy(f + 12, "\x0a\x00\x00\x02\x0a\x00\x00\x01", 8);
	} else {
		f[0] = 0x60;
		f[4] = (uint8_t)((n - 40) >> 8), f[5] = (uint8_t)(n - 40);
		f[6] = 6, f[7] = 64;
		memcpy(f + 8, "\xfd\x00\0\0\0\0\0\0\0\0\0\0\0\0\0\x02", 16);
		memcpy(f + 24, "\xfd\x00\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	}
	uint8_t *t = f + ipl;
	t[0] = 0x9c, t[1] = 0x40, t[2] = 0x14, t[3] = 0x51;
	t[4] = 0xff, t[5] = 0xff, t[6] = 0xf0, t[7] = 0x00;   /* wraps during the frame */
	t[8] = 1, t[9] = 2, t[10] = 3, t[11] = 4;
	t[12] = (uint8_t)((thl / 4) << 4);
	t[13] = flags;
	t[14] = 0x01, t[15] = 0xf5;
	memcpy(t + 20, "\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02", 12);
	for (size_t i = 0; i < pay; i++)
		f[ipl + thl + i] = (uint8_t)rnd();
	return n;
}

static int l4_ok(const uint8_t *p, size_t n, size_t ipl)
{
	return tnl_l4_csum_ok(p, n, ipl, 6);
}

static void tso_cut(int fam)
{
	static uint8_t f[70000], seg[2000], joined[70000];
	size_t ipl = fam == 4 ? 20 : 40, hl = ipl + 32, pay = 64000 - hl;
	size_t n = make_frame(f, fam, pay, 0x10 | 0x08 | 0x01 | 0x80);   /* ACK PSH FIN CWR */
	struct virtio_net_hdr vh = {0};
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = fam == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	vh.gso_size = 1376;
	vh.hdr_len = (uint16_t)hl;
	vh.csum_start = (uint16_t)ipl;
	vh.csum_offset = 16;
	struct tnl_tso t;
	int cnt = tnl_tso_begin(&t, &vh, f, n);
	assert_int_equal(cnt, (int)((pay + 1375) / 1376));
	assert_int_equal(tnl_tso_max(&t), hl + 1376);
	size_t got = 0;
	for (int i = 0; i < cnt; i++) {
		size_t l = tnl_tso_next(&t, seg);
		size_t want = i < cnt - 1 ? 1376 : pay - 1376 * (size_t)(cnt - 1);
		assert_int_equal(l, hl + want);
		if (fam == 4) {
			assert_int_equal(be16(seg + 2), l);
			assert_int_equal(be16(seg + 4), 0x1234 + i);
			assert_int_equal(naive_csum(seg, 20, 0), 0xffff);
			assert_int_equal(seg[6], 0x40);
		} else {
			assert_int_equal(be16(seg + 4), l - 40);
		}
		assert_true(l4_ok(seg, l, ipl));
		const uint8_t *th = seg + ipl;
		assert_int_equal(be32(th + 4), (uint32_t)(0xfffff000u + 1376u * (uint32_t)i));
		uint8_t fl = th[13];
		assert_int_equal(fl & 0x10, 0x10);
		assert_int_equal(!!(fl & 0x09), i == cnt - 1);   /* PSH, FIN last */
		assert_int_equal(!!(fl & 0x80), i == 0);          /* CWR first */
		assert_memory_equal(th + 20, f + ipl + 20, 12);
		memcpy(joined + got, seg + hl, want);
		got += want;
	}
	assert_int_equal(got, pay);
	assert_memory_equal(joined, f + hl, pay);
	assert_int_equal(tnl_tso_next(&t, seg), 0);
}

static void tso_v4(void **state) { (void)state; tso_cut(4); }
static void tso_v6(void **state) { (void)state; tso_cut(6); }

static void csum_finish_and_refusals(void **state)
{
	(void)state;
	static uint8_t f[3000];
	for (int fam = 4; fam <= 6; fam += 2) {
		size_t ipl = fam == 4 ? 20 : 40;
		size_t n = make_frame(f, fam, 1000, 0x18);
		/* a partial checksum as the kernel leaves it: the pseudo-header sum */
		uint16_t ps = tnl_csum_fold(tnl_csum_pseudo(f, 6, (uint32_t)(n - ipl)));
		memcpy(f + ipl + 16, &ps, 2);
		assert_false(l4_ok(f, n, ipl));
		struct virtio_net_hdr vh = {0};
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.csum_start = (uint16_t)ipl;
		vh.csum_offset = 16;
		struct tnl_tso t;
		assert_int_equal(tnl_tso_begin(&t, &vh, f, n), 1);
		assert_true(l4_ok(f, n, ipl));
		/* csum_start + offset past the end */
		vh.csum_start = (uint16_t)(n - 1);
		assert_int_equal(tnl_tso_begin(&t, &vh, f, n), -1);
		/* GSO type of the other family, UDP GSO, no gso_size, bad lengths */
		memset(&vh, 0, sizeof(vh));
		vh.gso_type = fam == 4 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		vh.gso_size = 1000;
		assert_int_equal(tnl_tso_begin(&t, &vh, f, n), -1);
		vh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
		assert_int_equal(tnl_tso_begin(&t, &vh, f, n), -1);
		vh.gso_type = fam == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
		vh.gso_size = 0;
		assert_int_equal(tnl_tso_begin(&t, &vh, f, n), -1);
		vh.gso_size = 100;
		assert_int_equal(tnl_tso_begin(&t, &vh, f, n - 1), -1);
		f[ipl + 12] = 0x40;   /* TCP header of 16 bytes */
		assert_int_equal(tnl_tso_begin(&t, &vh, f, n), -1);
		f[ipl + 12] = 0xf0;   /* 60 bytes: fits */
		assert_int_equal(tnl_tso_begin(&t, &vh, f, n), (int)((n - ipl - 60 + 99) / 100));
	}
}

/* GRO's emit: collects frames. */
struct sink {
	int n;
	size_t len[64];
	unsigned pkts[64];
	uint8_t *buf[64];
};
static int sink_emit(void *arg, uint8_t *frame, size_t len, unsigned pkts, uint32_t hash)
{
	(void)hash;
	struct sink *s = arg;
	assert_true(s->n < 64);
	s->buf[s->n] = malloc(len);
	memcpy(s->buf[s->n], frame, len);
	s->len[s->n] = len;
	s->pkts[s->n] = pkts;
	s->n++;
	return 0;
}
static void sink_free(struct sink *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->buf[i]);
	s->n = 0;
}

/* Cuts a frame into packets (each with TNL_VNET_LEN bytes of room before). */
static int cut(uint8_t *f, size_t n, int fam, uint16_t gso, uint8_t pk[][1600], size_t *len)
{
	size_t ipl = fam == 4 ? 20 : 40;
	struct virtio_net_hdr vh = {0};
	vh.gso_type = fam == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	vh.gso_size = gso;
	vh.hdr_len = (uint16_t)(ipl + 32);
	struct tnl_tso t;
	int cnt = tnl_tso_begin(&t, &vh, f, n);
	for (int i = 0; i < cnt; i++)
		len[i] = tnl_tso_next(&t, pk[i] + TNL_VNET_LEN);
	return cnt;
}

static void gro_rejoins(int fam)
{
	static uint8_t f[70000], pk[64][1600];
	size_t len[64];
	size_t ipl = fam == 4 ? 20 : 40, hl = ipl + 32;
	size_t n = make_frame(f, fam, 40 * 1376 + 500, 0x18);   /* ACK PSH */
	int cnt = cut(f, n, fam, 1376, pk, len);
	assert_int_equal(cnt, 41);
	struct tnl_gro g;
	assert_int_equal(tnl_gro_init(&g), 0);
	struct sink s = {0};
	for (int i = 0; i < cnt; i++)
		assert_int_equal(tnl_gro_add(&g, pk[i] + TNL_VNET_LEN, len[i], sink_emit, &s), 0);
	tnl_gro_flush(&g, sink_emit, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.pkts[0], 41);
	assert_int_equal(s.len[0], TNL_VNET_LEN + n);
	struct virtio_net_hdr vh;
	memcpy(&vh, s.buf[0], TNL_VNET_LEN);
	assert_int_equal(vh.gso_type, fam == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(vh.gso_size, 1376);
	assert_int_equal(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(vh.csum_start, ipl);
	assert_int_equal(vh.csum_offset, 16);
	assert_int_equal(vh.hdr_len, hl);
	uint8_t *j = s.buf[0] + TNL_VNET_LEN;
	assert_memory_equal(j + hl, f + hl, n - hl);       /* the payload, whole and in order */
	assert_int_equal(fam == 4 ? be16(j + 2) : be16(j + 4) + 40u, n);
	/* finishing the partial checksum gives a valid one */
	uint16_t c = (uint16_t)~tnl_csum_fold(tnl_csum_add(0, j + ipl, n - ipl));
	memcpy(j + ipl + 16, &c, 2);
	assert_true(l4_ok(j, n, ipl));
	if (fam == 4)
		assert_int_equal(naive_csum(j, 20, 0), 0xffff);
	assert_int_equal(j[ipl + 13], 0x18);
	sink_free(&s);
	tnl_gro_free(&g);
}

static void gro_v4(void **state) { (void)state; gro_rejoins(4); }
static void gro_v6(void **state) { (void)state; gro_rejoins(6); }

static void gro_keeps_order_and_refuses(void **state)
{
	(void)state;
	static uint8_t f[70000], pk[64][1600], f2[70000], pk2[64][1600];
	size_t len[64], len2[64];
	size_t n = make_frame(f, 4, 10 * 1000, 0x10);
	int cnt = cut(f, n, 4, 1000, pk, len);
	assert_int_equal(cnt, 10);
	struct tnl_gro g;
	assert_int_equal(tnl_gro_init(&g), 0);
	struct sink s = {0};
	/* a gap: 0,1,2 then 4: two frames, in order */
	for (int i = 0; i < 3; i++)
		tnl_gro_add(&g, pk[i] + TNL_VNET_LEN, len[i], sink_emit, &s);
	tnl_gro_add(&g, pk[4] + TNL_VNET_LEN, len[4], sink_emit, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.pkts[0], 3);
	/* a bad checksum is not joined; what the flow held goes out before it */
	pk[5][TNL_VNET_LEN + 60] ^= 1;
	tnl_gro_add(&g, pk[5] + TNL_VNET_LEN, len[5], sink_emit, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.pkts[1], 1);
	assert_int_equal(s.len[2], TNL_VNET_LEN + len[5]);
	struct virtio_net_hdr vh;
	memcpy(&vh, s.buf[2], TNL_VNET_LEN);
	assert_int_equal(vh.gso_type, 0);
	assert_int_equal(vh.flags, 0);
	sink_free(&s);
	/* two flows interleaved: each joined on its own */
	size_t n2 = make_frame(f2, 4, 10 * 1000, 0x10);
	f2[20 + 1] = 0x41;   /* another source port */
	struct virtio_net_hdr vz = {0};
	struct tnl_tso t;
	assert_int_equal(tnl_tso_begin(&t, &vz, f2, n2), 1);   /* (checksum needs no finishing) */
	int cnt2 = cut(f2, n2, 4, 1000, pk2, len2);
	for (int i = 6; i < 10; i++) {
		tnl_gro_add(&g, pk[i] + TNL_VNET_LEN, len[i], sink_emit, &s);
		tnl_gro_add(&g, pk2[i - 6] + TNL_VNET_LEN, len2[i - 6], sink_emit, &s);
	}
	assert_int_equal(cnt2, 10);
	tnl_gro_flush(&g, sink_emit, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.pkts[0] + s.pkts[1], 8);
	assert_int_equal(s.pkts[0], 4);
	sink_free(&s);
	/* a FIN or SYN is never held, and flushes its flow first */
	tnl_gro_add(&g, pk[0] + TNL_VNET_LEN, len[0], sink_emit, &s);
	pk[1][TNL_VNET_LEN + 20 + 13] |= 0x01;
	uint16_t zero = 0;
	memcpy(pk[1] + TNL_VNET_LEN + 36, &zero, 2);
	uint16_t c = (uint16_t)~tnl_csum_fold(tnl_csum_add(tnl_csum_pseudo(pk[1] + TNL_VNET_LEN, 6, (uint32_t)(len[1] - 20)),
							    pk[1] + TNL_VNET_LEN + 20, len[1] - 20));
	memcpy(pk[1] + TNL_VNET_LEN + 36, &c, 2);
	tnl_gro_add(&g, pk[1] + TNL_VNET_LEN, len[1], sink_emit, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.pkts[0], 1);
	assert_int_equal(be32(s.buf[0] + TNL_VNET_LEN + 24), be32(pk[0] + TNL_VNET_LEN + 24));
	assert_int_equal(be32(s.buf[1] + TNL_VNET_LEN + 24), be32(pk[1] + TNL_VNET_LEN + 24));
	sink_free(&s);
	tnl_gro_flush(&g, sink_emit, &s);
	assert_int_equal(s.n, 0);
	tnl_gro_free(&g);
}

static void gro_limits(void **state)
{
	(void)state;
	/* 50 segments of 1300 bytes fill one frame (65052 bytes); 10 more of
	 * the same flow, in sequence, must start a second one */
	static uint8_t f[70000], pk[64][1600], pk2[64][1600];
	size_t len[64], len2[64];
	struct tnl_gro g;
	assert_int_equal(tnl_gro_init(&g), 0);
	struct sink s = {0};
	size_t n = make_frame(f, 4, 50 * 1300, 0x10);
	int cnt = cut(f, n, 4, 1300, pk, len);
	assert_int_equal(cnt, 50);
	uint32_t seq = be32(f + 24) + 50 * 1300;
	f[24] = (uint8_t)(seq >> 24), f[25] = (uint8_t)(seq >> 16), f[26] = (uint8_t)(seq >> 8), f[27] = (uint8_t)seq;
	assert_int_equal(cut(f, n, 4, 1300, pk2, len2), 50);
	for (int i = 0; i < 50; i++)
		tnl_gro_add(&g, pk[i] + TNL_VNET_LEN, len[i], sink_emit, &s);
	for (int i = 0; i < 10; i++)
		tnl_gro_add(&g, pk2[i] + TNL_VNET_LEN, len2[i], sink_emit, &s);
	tnl_gro_flush(&g, sink_emit, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.pkts[0], 50);
	assert_int_equal(s.pkts[1], 10);
	assert_int_equal(s.len[0] - TNL_VNET_LEN, 52 + 50 * 1300);
	sink_free(&s);
	tnl_gro_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(csum_matches_naive),
		cmocka_unit_test(tso_v4),
		cmocka_unit_test(tso_v6),
		cmocka_unit_test(csum_finish_and_refusals),
		cmocka_unit_test(gro_v4),
		cmocka_unit_test(gro_v6),
		cmocka_unit_test(gro_keeps_order_and_refuses),
		cmocka_unit_test(gro_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
