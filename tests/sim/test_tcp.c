/* TCP between two stacks over in-memory links on a virtual clock:
 * handshakes, transfers under loss/reordering/duplication/corruption
 * checked by content, state transitions, RST and refusal cases,
 * zero windows, keepalive, TIME_WAIT. Pools return to zero after each. */
#include <errno.h>
#include <linux/net_tstamp.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/sim.h"
#include "core/bytes.h"
#include "link/link.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "net/neigh.h"
#include "net/route.h"
#include "stack.h"
#include "transport/tcp.h"

static void finish(struct sim *s)
{
	sim_run(s, SEC(300));   /* TIME_WAIT and every other timer runs out */
	assert_int_equal(us_stack_bufs_in_use(s->a), 0);
	assert_int_equal(us_stack_bufs_in_use(s->b), 0);
	sim_free(s);
}

static void test_handshake_and_close(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 80), 0);
	assert_int_equal(sim_tcp_state(s.b, p.afd), US_TCP_ESTABLISHED);
	int err = -1;
	socklen_t el = sizeof(err);
	assert_int_equal(us_getsockopt(s.a, p.cfd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
	assert_int_equal(err, 0);
	struct us_tcp_info i;
	socklen_t il = sizeof(i);
	assert_int_equal(us_getsockopt(s.a, p.cfd, IPPROTO_TCP, TCP_INFO, &i, &il), 0);
	assert_true(i.sack_ok && i.ts_ok);
	assert_int_equal(i.snd_mss, 1500 - 40 - 12);
	assert_int_equal(i.delivered, 1);   /* the SYN */
	assert_int_equal(us_send(s.a, p.cfd, "hello", 5, 0), 5);
	sim_run(&s, MS(100));
	assert_int_equal(us_getsockopt(s.a, p.cfd, IPPROTO_TCP, TCP_INFO, &i, &il), 0);
	assert_int_equal(i.delivered, 2);
	assert_int_equal(us_getsockopt(s.b, p.afd, IPPROTO_TCP, TCP_INFO, &i, &il), 0);
	assert_int_equal(i.delivered, 1);   /* the SYN-ACK */
	assert_true(i.last_data_recv_ms >= 90 && i.last_data_recv_ms <= 100);   /* "hello", a run of 100 ms ago */
	char buf[16];
	assert_int_equal(us_recv(s.b, p.afd, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	/* Active close from a: FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT; b: CLOSE_WAIT -> LAST_ACK -> CLOSED. */
	assert_int_equal(us_shutdown(s.a, p.cfd, SHUT_WR), 0);
	sim_run(&s, MS(100));
	assert_int_equal(sim_tcp_state(s.a, p.cfd), US_TCP_FIN_WAIT_2);
	assert_int_equal(sim_tcp_state(s.b, p.afd), US_TCP_CLOSE_WAIT);
	assert_int_equal(us_recv(s.b, p.afd, buf, sizeof(buf), 0), 0);   /* EOF */
	assert_int_equal(us_send(s.a, p.cfd, "x", 1, 0), -EPIPE);
	assert_int_equal(us_send(s.b, p.afd, "bye", 3, 0), 3);   /* half close: b can still send */
	sim_run(&s, MS(100));
	assert_int_equal(us_recv(s.a, p.cfd, buf, sizeof(buf), 0), 3);
	us_close(s.b, p.afd);
	sim_run(&s, MS(100));
	assert_int_equal(sim_tcp_state(s.a, p.cfd), US_TCP_TIME_WAIT);
	const struct us_stats *a = us_stack_stats(s.a), *b = us_stack_stats(s.b);
	assert_int_equal(a->tcp.ActiveOpens, 1);
	assert_int_equal(b->tcp.PassiveOpens, 1);
	us_close(s.a, p.cfd);
	us_close(s.b, p.lfd);
	finish(&s);
}

static void test_refused_and_rst(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int fd = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = sim_addr(SIM_B, 81);
	assert_int_equal(us_connect(s.a, fd, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, MS(100));
	int err = 0;
	socklen_t el = sizeof(err);
	assert_int_equal(us_getsockopt(s.a, fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
	assert_int_equal(err, ECONNREFUSED);
	assert_int_equal(us_stack_stats(s.a)->tcp.AttemptFails, 1);
	assert_int_equal(us_stack_stats(s.b)->tcp.OutRsts, 1);
	us_close(s.a, fd);
	/* Abort with unread data gives the peer ECONNRESET. */
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 82), 0);
	us_send(s.a, p.cfd, "unread", 6, 0);
	sim_run(&s, MS(100));
	us_close(s.b, p.afd);   /* data still unread: RST */
	sim_run(&s, MS(100));
	char buf[8];
	assert_int_equal(us_recv(s.a, p.cfd, buf, sizeof(buf), 0), -ECONNRESET);
	us_close(s.a, p.cfd);
	us_close(s.b, p.lfd);
	finish(&s);
}

/* Bulk transfer a -> b (and optionally b -> a) of n bytes, checked byte for byte. */
struct xfer {
	struct sim *s;
	struct sim_pair *p;
	uint8_t *src;
	size_t n, sent, got, sent2, got2;
	uint8_t *dst, *dst2;
	int both;
};

static void pump(struct xfer *x)
{
	struct sim *s = x->s;
	while (x->sent < x->n) {
		ssize_t w = us_send(s->a, x->p->cfd, x->src + x->sent, x->n - x->sent, 0);
		if (w <= 0)
			break;
		x->sent += (size_t)w;
	}
	for (;;) {
		ssize_t r = us_recv(s->b, x->p->afd, x->dst + x->got, x->n - x->got + 1, 0);
		if (r <= 0)
			break;
		x->got += (size_t)r;
	}
	if (x->both) {
		while (x->sent2 < x->n) {
			ssize_t w = us_send(s->b, x->p->afd, x->src + x->sent2, x->n - x->sent2, 0);
			if (w <= 0)
				break;
			x->sent2 += (size_t)w;
		}
		for (;;) {
			ssize_t r = us_recv(s->a, x->p->cfd, x->dst2 + x->got2, x->n - x->got2 + 1, 0);
			if (r <= 0)
				break;
			x->got2 += (size_t)r;
		}
	}
}

static int xfer_done(void *arg)
{
	struct xfer *x = arg;
	pump(x);
	return x->got == x->n && (!x->both || x->got2 == x->n);
}

#define WRAP_PORT 40001
/* The ISN aimed at: 2^32 - WRAP_BELOW, so the wrap comes about 1 MB into
 * the transfer even if the handshake loses a SYN or two (each second of
 * retransmission delay moves the ISN on by 250,000). */
#define WRAP_BELOW 1000000u

/* The side's connection (0: a, the client; 1: b, the server). */
static struct tcp_conn *wrap_conn(struct sim *s, int side)
{
	struct us_addr a = addr_from_v4(sim_ip(SIM_A)), b = addr_from_v4(sim_ip(SIM_B));
	return side ? tcp_lookup(s->b, &b, 5001, &a, WRAP_PORT) : tcp_lookup(s->a, &a, WRAP_PORT, &b, 5001);
}

/* wrap_side 0 or 1: before connecting, run the virtual clock on until that
 * side's ISN (RFC 6528: 4 us clock + keyed hash of the tuple) falls about
 * WRAP_BELOW below 2^32, so its data crosses the wrap; -1: no. */
static void run_transfer_ex(size_t n, const struct us_fault_cfg *fa, const struct us_fault_cfg *fb, int both,
			    uint64_t seed, int cc, int wrap_side)
{
	struct sim_opts o = {.a_tx = fa, .b_tx = fb, .seed = seed, .pcap_a = getenv("TCP_PCAP"),
			   .pcap_b = getenv("TCP_PCAP_B")};
	static const char *const ccs[] = {"cubic", "reno", "bbr"};
	o.cfg.tcp_cc = ccs[cc % 3];
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	struct sim_pair p;
	if (wrap_side < 0) {
		assert_int_equal(sim_tcp_connect(&s, &p, 5001), 0);
	} else {
		struct us_addr a = addr_from_v4(sim_ip(SIM_A)), b = addr_from_v4(sim_ip(SIM_B));
		uint32_t isn = wrap_side ? tcp_isn(s.b, &b, 5001, &a, WRAP_PORT) : tcp_isn(s.a, &a, WRAP_PORT, &b, 5001);
		sim_run(&s, (uint64_t)(uint32_t)(0u - WRAP_BELOW - isn) * 4000u);
		assert_int_equal(sim_tcp_connect_from(&s, &p, 5001, WRAP_PORT), 0);
		struct tcp_conn *c = wrap_conn(&s, wrap_side);
		assert_non_null(c);
		/* the wrap falls inside the data to send */
		printf("    %s's ISN %u: %u below 2^32\n", wrap_side ? "b" : "a", c->iss, 0u - c->iss);
		assert_in_range(0u - c->iss, 2, n - 1);
	}
	struct xfer x = {.s = &s, .p = &p, .n = n, .both = both};
	x.src = malloc(n);
	x.dst = malloc(n + 1);
	x.dst2 = malloc(n + 1);
	uint64_t r = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < n; i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		x.src[i] = (uint8_t)r;
	}
	if (getenv("TCP_PATTERN"))   /* each 4-byte word holds its own offset: shows where bad bytes came from */
		for (size_t i = 0; i + 4 <= n; i += 4)
			wr_be32(x.src + i, (uint32_t)i);
	uint64_t t0 = s.now;
	int ok = sim_run_until(&s, SEC(600), xfer_done, &x);
	uint64_t took = s.now - t0;
	const struct us_stats *a = us_stack_stats(s.a);
	struct us_tcp_info i;
	socklen_t il = sizeof(i);
	us_getsockopt(s.a, p.cfd, IPPROTO_TCP, TCP_INFO, &i, &il);
	printf("    seed %llu %s %zu bytes%s: %s in %.2f s virtual, %.1f Mbit/s, retrans %llu, RTOs %llu, fast %llu, "
	       "srtt %u us cwnd %u\n",
	       (unsigned long long)seed, ccs[cc % 3], n, both ? " each way" : "", ok ? "done" : "STALLED", took / 1e9,
	       n * 8.0 / (took / 1e9) / 1e6, (unsigned long long)a->tcp.RetransSegs,
	       (unsigned long long)a->tcpext.TCPTimeouts, (unsigned long long)a->tcpext.TCPFastRetrans, i.srtt_us,
	       i.cwnd);
	if (!ok)
		printf("    stalled: a->b got %zu of %zu (sent %zu), b->a got %zu (sent %zu)\n", x.got, n, x.sent, x.got2,
		       x.sent2);
	assert_true(ok);
	for (size_t w = 0; w + 4 <= n && getenv("TCP_PATTERN"); w += 4)
		if (memcmp(x.dst + w, x.src + w, 4)) {
			printf("    first bad word at %zu holds %u (delta %lld)\n", w, rd_be32(x.dst + w),
			       (long long)rd_be32(x.dst + w) - (long long)w);
			break;
		}
	assert_memory_equal(x.dst, x.src, n);
	if (both)
		assert_memory_equal(x.dst2, x.src, n);
	if (wrap_side >= 0) {
		/* every byte sent (after the SYN): the send sequence went past
		 * 2^32 and on */
		struct tcp_conn *c = wrap_conn(&s, wrap_side);
		assert_non_null(c);
		assert_true(c->snd_max < c->iss);
		assert_int_equal(c->snd_max - c->iss, (uint32_t)n + 1);
	}
	us_close(s.a, p.cfd);
	us_close(s.b, p.afd);
	us_close(s.b, p.lfd);
	free(x.src);
	free(x.dst);
	free(x.dst2);
	finish(&s);
}

static void run_transfer(size_t n, const struct us_fault_cfg *fa, const struct us_fault_cfg *fb, int both,
			 uint64_t seed, int cc)
{
	run_transfer_ex(n, fa, fb, both, seed, cc, -1);
}

/* RFC 9293 3.4 (sequence numbers modulo 2^32), on ustack's own side: each
 * side in turn starts below 2^32 and sends 2 MB each way across the
 * wrap, clean and under 5% loss with reordering, duplication and
 * corruption (SACK blocks, retransmissions and RTT samples straddle it). */
static void test_transfer_seq_wrap(void **state)
{
	(void)state;
	struct us_fault_cfg f = {.seed = 41, .drop = 0.05, .reorder = 0.02, .dup = 0.01, .corrupt = 0.005,
				 .delay_ns = MS(5)};
	struct us_fault_cfg g = f;
	g.seed += 7;
	for (int side = 0; side < 2; side++) {
		run_transfer_ex(2 << 20, NULL, NULL, 1, 40 + (uint64_t)side, 0, side);
		run_transfer_ex(2 << 20, &f, &g, 1, 42 + (uint64_t)side, side, side);
	}
}

static void test_transfer_clean(void **state)
{
	(void)state;
	run_transfer(4 << 20, NULL, NULL, 1, 1, 0);
	run_transfer(4 << 20, NULL, NULL, 0, 2, 1);
	run_transfer(4 << 20, NULL, NULL, 1, 3, 2);
}

/* Links with offloads (mem_link_offloads, as a TAP with a virtio-net
 * header): TCP sends TSO super-frames with partial checksums and the
 * receiver takes them checksum-verified. 4 MB each way arrive intact in
 * far fewer frames than segments. */
static void test_transfer_offload(void **state)
{
	(void)state;
	struct sim_opts o = {.seed = 9, .offload = 1};
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	assert_true((s.la->flags & US_LINK_TSO4) && (s.lb->flags & US_LINK_CSUM));
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 5002), 0);
	size_t n = 4 << 20;
	struct xfer x = {.s = &s, .p = &p, .n = n, .both = 1};
	x.src = malloc(n);
	x.dst = malloc(n + 1);
	x.dst2 = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		x.src[i] = (uint8_t)(i * 131 + (i >> 11));
	uint64_t f0 = s.la->tx_frames;
	assert_true(sim_run_until(&s, SEC(60), xfer_done, &x));
	assert_memory_equal(x.dst, x.src, n);
	assert_memory_equal(x.dst2, x.src, n);
	uint64_t frames = s.la->tx_frames - f0, segs = us_stack_stats(s.a)->tcp.OutSegs;
	printf("    a sent %llu frames for %llu segments\n", (unsigned long long)frames, (unsigned long long)segs);
	assert_true(segs >= n / 1448);
	assert_true(frames * 4 < segs);   /* super-frames, not one frame per segment */
	us_close(s.a, p.cfd);
	us_close(s.b, p.afd);
	us_close(s.b, p.lfd);
	free(x.src);
	free(x.dst);
	free(x.dst2);
	finish(&s);
}

/* One lossy case; everything derives from these numbers, so a failure
 * printed as "replay: TCP_REPLAY=..." reproduces exactly. */
/* cc: 0 CUBIC, 1 NewReno, 2 BBR. */
static void run_case(uint64_t seed, double drop, double reo, double dup, double cor, size_t bytes, int cc)
{
	printf("    replay: TCP_REPLAY=\"%llu %g %g %g %g %zu %d\"\n", (unsigned long long)seed, drop, reo, dup, cor,
	       bytes, cc);
	struct us_fault_cfg f = {.seed = seed, .drop = drop, .reorder = reo, .dup = dup, .corrupt = cor,
				 .delay_ns = MS(5)};
	struct us_fault_cfg g = f;
	g.seed += 7;
	run_transfer(bytes, &f, &g, 1, seed, cc);
}

static void test_replay(void **state)
{
	(void)state;
	unsigned long long seed = 1, bytes = 1 << 20;
	double drop = 0, reo = 0, dup = 0, cor = 0;
	int cc = 0;
	assert_true(sscanf(getenv("TCP_REPLAY"), "%llu %lf %lf %lf %lf %llu %d", &seed, &drop, &reo, &dup, &cor, &bytes,
			   &cc) >= 5);
	run_case(seed, drop, reo, dup, cor, (size_t)bytes, cc);
}

/* One seeded transfer for test_header_prediction: 1 MB a -> b, and as
 * much b -> a at the same time if both, the readers through us_recv on a
 * and zero-copy receive on b; faults (drop, with reordering, duplication
 * and corruption) or a clean path; the counters of both stacks when it is
 * done, and the virtual time it took. */
static void hp_once(int slow, uint64_t seed, int faults, double drop, int both, struct us_stats *sa,
		    struct us_stats *sb, uint64_t *took)
{
	struct us_fault_cfg f = {.seed = seed, .delay_ns = MS(2)};
	if (faults) {
		f.drop = drop;
		f.reorder = 0.02;
		f.dup = 0.01;
		f.corrupt = 0.005;
	}
	struct us_fault_cfg g = f;
	g.seed += 3;
	struct sim_opts o = {.a_tx = &f, .b_tx = &g, .seed = seed};
	o.cfg.tcp_cc = "cubic";
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	s.a->tcp_no_prediction = slow;
	s.b->tcp_no_prediction = slow;
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 5003), 0);
	int one = 1;
	assert_int_equal(us_setsockopt(s.b, p.afd, IPPROTO_TCP, US_TCP_RECV_INPLACE, &one, sizeof(one)), 0);
	size_t n = 1 << 20, sent = 0, got = 0, sent2 = both ? 0 : n, got2 = both ? 0 : n;
	uint8_t *src = malloc(n), *dst = malloc(n), *dst2 = malloc(n + 1);
	assert_non_null(src);
	assert_non_null(dst);
	assert_non_null(dst2);
	for (size_t i = 0; i < n; i++)
		src[i] = (uint8_t)(i * 13 + (i >> 9) + seed);
	uint64_t t0 = s.now;
	for (int round = 0; round < 200000 && (got < n || got2 < n); round++) {
		ssize_t w;
		while (sent < n && (w = us_send(s.a, p.cfd, src + sent, n - sent, 0)) > 0)
			sent += (size_t)w;
		while (sent2 < n && (w = us_send(s.b, p.afd, src + sent2, n - sent2, 0)) > 0)
			sent2 += (size_t)w;
		for (;;) {
			struct iovec v[2];
			int cnt = 0;
			ssize_t r = us_recv_zc(s.b, p.afd, v, &cnt);
			if (r <= 0)
				break;
			assert_true((size_t)r <= n - got);
			for (int k = 0; k < cnt; k++) {
				memcpy(dst + got, v[k].iov_base, v[k].iov_len);
				got += v[k].iov_len;
			}
			assert_int_equal(us_recv_done(s.b, p.afd, (size_t)r), 0);
		}
		while ((w = us_recv(s.a, p.cfd, dst2 + got2, n - got2 + 1, 0)) > 0)
			got2 += (size_t)w;
		sim_run(&s, MS(1));
	}
	*took = s.now - t0;
	assert_int_equal(got, n);
	assert_int_equal(got2, n);
	assert_memory_equal(dst, src, n);
	if (both)
		assert_memory_equal(dst2, src, n);
	*sa = *us_stack_stats(s.a);
	*sb = *us_stack_stats(s.b);
	us_close(s.a, p.cfd);
	us_close(s.b, p.afd);
	us_close(s.b, p.lfd);
	free(src);
	free(dst);
	free(dst2);
	finish(&s);
}

/* Header prediction (the fast path for in-order data) is only a shortcut:
 * the same seeded transfers, clean and under loss, reordering,
 * duplication and corruption, one way and both ways at once, run with it
 * and with every segment through the full input path, take the same
 * virtual time and end with every counter of both stacks equal but
 * TCPHPHits; and the shortcut took most of what the receiver got on the
 * clean one-way path, and some of it in every run. */
static void test_header_prediction(void **state)
{
	(void)state;
	static const struct {
		int faults, both;
		double drop;
	} runs[] = {{0, 0, 0}, {0, 1, 0}, {1, 0, 0}, {1, 1, 0.01}, {1, 0, 0.05}, {1, 1, 0.05}};
	for (size_t k = 0; k < US_ARRAY_LEN(runs); k++) {
		struct us_stats fa, fb, sa, sb;
		uint64_t tf, ts;
		hp_once(0, 70 + k, runs[k].faults, runs[k].drop, runs[k].both, &fa, &fb, &tf);
		hp_once(1, 70 + k, runs[k].faults, runs[k].drop, runs[k].both, &sa, &sb, &ts);
		printf("    %s, drop %.2f, %s: %.3f s virtual; fast path took %llu of %llu segments into a, %llu of %llu "
		       "into b\n",
		       runs[k].faults ? "faults" : "clean", runs[k].drop, runs[k].both ? "both ways" : "one way",
		       tf / 1e9, (unsigned long long)fa.tcpext.TCPHPHits, (unsigned long long)fa.tcp.InSegs,
		       (unsigned long long)fb.tcpext.TCPHPHits, (unsigned long long)fb.tcp.InSegs);
		assert_int_equal(sa.tcpext.TCPHPHits, 0);
		assert_int_equal(sb.tcpext.TCPHPHits, 0);
		assert_true(fb.tcpext.TCPHPHits > (k == 0 ? fb.tcp.InSegs * 3 / 4 : 0));
		if (runs[k].both)
			assert_true(fa.tcpext.TCPHPHits > 0);
		fa.tcpext.TCPHPHits = fb.tcpext.TCPHPHits = 0;
		assert_int_equal(tf, ts);
		assert_memory_equal(&fa, &sa, sizeof(fa));
		assert_memory_equal(&fb, &sb, sizeof(fb));
	}
}

static void test_transfer_lossy(void **state)
{
	(void)state;
	/* 3 MB each way under 0, 1, 5 and 20% loss in both directions, always
	 * with reordering, duplication and corruption; CUBIC, NewReno and BBR
	 * take turns (each at every loss rate). TCP_SEEDS=N runs N seeds per
	 * loss rate (default 5). */
	double loss[] = {0, 0.01, 0.05, 0.20};
	const char *e = getenv("TCP_SEEDS");
	int seeds = e ? atoi(e) : 5;
	for (size_t k = 0; k < US_ARRAY_LEN(loss); k++)
		for (int seed = 1; seed <= seeds; seed++)
			run_case((uint64_t)seed * 10 + k, loss[k], 0.02, 0.01, 0.005, 3 << 20, seed % 3);
}

/* One-way transfer of n bytes a -> b over a clean path with delay_ms each
 * way: the virtual seconds it took, and b's receive and a's send buffer at
 * the end. lock_rcvbuf: b's listener sets SO_RCVBUF first (no autotuning). */
static double timed_transfer(size_t n, uint64_t delay_ms, int moderate, int lock_rcvbuf, uint32_t *rcvbuf,
			     uint32_t *sndbuf)
{
	struct us_fault_cfg f = {.seed = 5, .delay_ns = MS(delay_ms)};
	struct sim_opts o = {.a_tx = &f, .b_tx = &f, .seed = 77};
	o.cfg.tcp_moderate_rcvbuf = moderate;
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	struct sim_pair p = {.s = &s};
	if (lock_rcvbuf) {
		/* sim_tcp_connect makes its own listener: set the option on the
		 * accepted socket's parent by connecting by hand. */
		p.lfd = us_socket(s.b, AF_INET, SOCK_STREAM, 0);
		int v = 128 << 10;   /* doubled, as Linux: 256 KiB, the default */
		assert_int_equal(us_setsockopt(s.b, p.lfd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
		struct sockaddr_in la = sim_addr("0.0.0.0", 5002);
		assert_int_equal(us_bind(s.b, p.lfd, (struct sockaddr *)&la, sizeof(la)), 0);
		assert_int_equal(us_listen(s.b, p.lfd, 4), 0);
		p.cfd = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in to = sim_addr(SIM_B, 5002);
		assert_int_equal(us_connect(s.a, p.cfd, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
		p.afd = -1;
		for (int i = 0; i < 1000 && p.afd < 0; i++) {
			sim_run(&s, MS(10));
			p.afd = us_accept(s.b, p.lfd, NULL, NULL);
		}
		assert_true(p.afd >= 0);
	} else {
		assert_int_equal(sim_tcp_connect(&s, &p, 5002), 0);
	}
	struct xfer x = {.s = &s, .p = &p, .n = n};
	x.src = malloc(n);
	x.dst = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		x.src[i] = (uint8_t)(i * 7 + (i >> 11));
	uint64_t t0 = s.now;
	assert_true(sim_run_until(&s, SEC(600), xfer_done, &x));
	double secs = (s.now - t0) / 1e9;
	assert_memory_equal(x.dst, x.src, n);
	int v = 0;
	socklen_t vl = sizeof(v);
	assert_int_equal(us_getsockopt(s.b, p.afd, SOL_SOCKET, SO_RCVBUF, &v, &vl), 0);
	*rcvbuf = (uint32_t)v;
	vl = sizeof(v);
	assert_int_equal(us_getsockopt(s.a, p.cfd, SOL_SOCKET, SO_SNDBUF, &v, &vl), 0);
	*sndbuf = (uint32_t)v;
	printf("    %zu bytes, %llu ms each way, autotuning %s%s: %.2f s virtual, %.1f Mbit/s, rcvbuf %u sndbuf %u\n", n,
	       (unsigned long long)delay_ms, moderate < 0 ? "off" : "on", lock_rcvbuf ? " (SO_RCVBUF set)" : "", secs,
	       n * 8.0 / secs / 1e6, *rcvbuf, *sndbuf);
	us_close(s.a, p.cfd);
	us_close(s.b, p.afd);
	us_close(s.b, p.lfd);
	free(x.src);
	free(x.dst);
	finish(&s);
	return secs;
}

/* Buffer autotuning (dynamic right-sizing): over a 40 ms RTT the default
 * 256 KiB buffers hold the sender to 256 KiB a round trip; grown, the
 * receive buffer lets it send as much as the window scale allows, and the
 * send buffer follows the congestion window. A buffer the application set
 * stays as it is. */
static void test_buffer_autotuning(void **state)
{
	(void)state;
	uint32_t rb_off, sb_off, rb_on, sb_on, rb_lock, sb_lock;
	double off = timed_transfer(16 << 20, 20, -1, 0, &rb_off, &sb_off);
	double on = timed_transfer(16 << 20, 20, 1, 0, &rb_on, &sb_on);
	double locked = timed_transfer(16 << 20, 20, 1, 1, &rb_lock, &sb_lock);
	assert_int_equal(rb_off, 256u << 10);
	assert_int_equal(sb_off, 256u << 10);
	assert_true(rb_on > rb_off);
	assert_true(sb_on > sb_off);
	/* the fixed buffers cannot do better than 256 KiB per 40 ms RTT */
	assert_true(off >= (16 << 20) / (256.0 * 1024) * 0.040 * 0.95);
	assert_true(on < off * 0.75);
	assert_int_equal(rb_lock, 256u << 10);
	assert_true(locked > on);
}

/* One-way CUBIC transfer a -> b through a 20 Mbit/s bottleneck with a
 * 100-frame queue and 20 ms RTT: a's retransmissions and the time taken. */
static uint64_t bottleneck_transfer(int hystart, double *secs)
{
	struct us_fault_cfg fa = {.seed = 9, .delay_ns = MS(10), .rate_bps = 20000000, .max_held = 100};
	struct us_fault_cfg fb = {.seed = 10, .delay_ns = MS(10)};
	struct sim_opts o = {.a_tx = &fa, .b_tx = &fb, .seed = 21};
	o.cfg.tcp_hystart = hystart;
	o.cfg.tcp_cc = "cubic";
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 5003), 0);
	size_t n = 8 << 20;
	struct xfer x = {.s = &s, .p = &p, .n = n};
	x.src = malloc(n);
	x.dst = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		x.src[i] = (uint8_t)(i * 13 + (i >> 9));
	uint64_t t0 = s.now;
	assert_true(sim_run_until(&s, SEC(600), xfer_done, &x));
	*secs = (s.now - t0) / 1e9;
	assert_memory_equal(x.dst, x.src, n);
	uint64_t rtx = us_stack_stats(s.a)->tcp.RetransSegs;
	printf("    HyStart++ %s: %.2f s virtual, %.1f Mbit/s, %llu retransmissions, %llu RTOs\n", hystart < 0 ? "off" : "on",
	       *secs, n * 8.0 / *secs / 1e6, (unsigned long long)rtx,
	       (unsigned long long)us_stack_stats(s.a)->tcpext.TCPTimeouts);
	us_close(s.a, p.cfd);
	us_close(s.b, p.afd);
	us_close(s.b, p.lfd);
	free(x.src);
	free(x.dst);
	finish(&s);
	return rtx;
}

/* HyStart++ (RFC 9406): slow start sees the queue's delay grow and slows
 * down before it overflows, so the first window does not end in a burst
 * of losses. */
static void test_hystart(void **state)
{
	(void)state;
	double t_off, t_on;
	uint64_t off = bottleneck_transfer(-1, &t_off);
	uint64_t on = bottleneck_transfer(1, &t_on);
	assert_true(off > 0);
	assert_true(on * 2 < off);
	assert_true(t_on <= t_off * 1.05);
}

/* The default congestion control by name (us_stack_config.tcp_cc): new
 * connections get it, TCP_CONGESTION reads and changes it, and an unknown
 * name is refused when the stack is made. */
static void test_cc_by_name(void **state)
{
	(void)state;
	struct us_stack_config bad = {.tcp_cc = "no-such-cc"};
	errno = 0;
	assert_null(us_stack_new(&bad));
	assert_int_equal(errno, EINVAL);
	char name[] = "reno";
	struct sim_opts o = {.seed = 3};
	o.cfg.tcp_cc = name;
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	name[0] = 'x';   /* the stack keeps its own copy of the choice */
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 80), 0);
	char got[16] = {0};
	socklen_t gl = sizeof(got);
	assert_int_equal(us_getsockopt(s.a, p.cfd, IPPROTO_TCP, TCP_CONGESTION, got, &gl), 0);
	assert_string_equal(got, "reno");
	assert_int_equal(us_setsockopt(s.a, p.cfd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5), 0);
	gl = sizeof(got);
	assert_int_equal(us_getsockopt(s.a, p.cfd, IPPROTO_TCP, TCP_CONGESTION, got, &gl), 0);
	assert_string_equal(got, "cubic");
	assert_int_equal(us_setsockopt(s.a, p.cfd, IPPROTO_TCP, TCP_CONGESTION, "vegas", 5), -ENOENT);
	us_close(s.a, p.cfd);
	us_close(s.b, p.afd);
	us_close(s.b, p.lfd);
	finish(&s);
}

/* The error queue: MSG_ZEROCOPY ids complete when their data is
 * acknowledged (merged while unread), transmit timestamps of each write's
 * last byte keyed from SND.UNA; POLLERR while any wait. */
static void test_error_queue(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int fd = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	int one = 1;
	assert_int_equal(us_setsockopt(s.a, fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)), 0);
	assert_int_equal(us_send(s.a, fd, "x", 1, MSG_ZEROCOPY), -EPIPE);   /* never connected (Linux) */
	struct us_sock_err e;
	assert_int_equal(us_recv_err(s.a, fd, &e), -EAGAIN);
	us_close(s.a, fd);

	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 80), 0);
	assert_int_equal(us_setsockopt(s.a, p.cfd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)), 0);
	assert_int_equal(us_send(s.a, p.cfd, "abc", 3, MSG_ZEROCOPY), 3);
	assert_int_equal(us_send(s.a, p.cfd, "def", 3, MSG_ZEROCOPY), 3);
	assert_int_equal(us_send(s.a, p.cfd, "ghi", 3, 0), 3);   /* no id */
	struct us_pollfd pf = {p.cfd, US_POLLERR, 0};
	assert_int_equal(us_poll(s.a, &pf, 1), 0);
	sim_run(&s, MS(100));
	assert_int_equal(us_poll(s.a, &pf, 1), 1);
	assert_int_equal(us_recv_err(s.a, p.cfd, &e), 0);
	assert_int_equal(e.origin, US_EE_ORIGIN_ZEROCOPY);
	assert_int_equal(e.code, US_EE_CODE_ZEROCOPY_COPIED);
	assert_int_equal(e.err, 0);
	assert_int_equal(e.info, 0);
	assert_int_equal(e.data, 1);   /* ids 0 and 1 in one */
	assert_int_equal(us_recv_err(s.a, p.cfd, &e), -EAGAIN);
	assert_int_equal(us_send(s.a, p.cfd, "j", 1, MSG_ZEROCOPY), 1);
	sim_run(&s, MS(100));
	assert_int_equal(us_recv_err(s.a, p.cfd, &e), 0);
	assert_int_equal(e.info, 2);
	assert_int_equal(e.data, 2);

	/* Timestamps: 10 bytes acked so far, the key of a 5-byte write's last byte is 4. */
	int f = SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_ACK |
		SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
	assert_int_equal(us_setsockopt(s.a, p.cfd, SOL_SOCKET, SO_TIMESTAMPING, &f, sizeof(f)), 0);
	uint64_t t0 = s.now;
	assert_int_equal(us_send(s.a, p.cfd, "12345", 5, 0), 5);
	sim_run(&s, MS(100));
	uint32_t kinds[] = {US_TSTAMP_SCHED, US_TSTAMP_SND, US_TSTAMP_ACK};
	uint64_t sent_at = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(us_recv_err(s.a, p.cfd, &e), 0);
		assert_int_equal(e.err, ENOMSG);
		assert_int_equal(e.origin, US_EE_ORIGIN_TIMESTAMPING);
		assert_int_equal(e.info, kinds[i]);
		assert_int_equal(e.data, 4);
		assert_int_equal(e.pkt_len, 0);
		assert_true(e.tstamp_ns >= t0 && e.tstamp_ns <= s.now);
		if (i == 0)
			sent_at = e.tstamp_ns;
		else if (i == 2)
			assert_true(e.tstamp_ns >= sent_at);   /* a round trip later (the sim link has no delay) */
	}
	assert_int_equal(us_recv_err(s.a, p.cfd, &e), -EAGAIN);
	int got = 0;
	socklen_t gl = sizeof(got);
	assert_int_equal(us_getsockopt(s.a, p.cfd, SOL_SOCKET, SO_TIMESTAMPING, &got, &gl), 0);
	assert_int_equal(got, f);
	/* OPT_ID cannot start on a listener (nothing to count from). */
	int id = SOF_TIMESTAMPING_OPT_ID;
	assert_int_equal(us_setsockopt(s.b, p.lfd, SOL_SOCKET, SO_TIMESTAMPING, &id, sizeof(id)), -EINVAL);
	char buf[32];
	assert_true(us_recv(s.b, p.afd, buf, sizeof(buf), 0) > 0);
	us_close(s.a, p.cfd);
	us_close(s.b, p.afd);
	us_close(s.b, p.lfd);
	finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_close),
		cmocka_unit_test(test_refused_and_rst),
		cmocka_unit_test(test_cc_by_name),
		cmocka_unit_test(test_buffer_autotuning),
		cmocka_unit_test(test_hystart),
		cmocka_unit_test(test_transfer_clean),
		cmocka_unit_test(test_transfer_offload),
		cmocka_unit_test(test_transfer_lossy),
		cmocka_unit_test(test_header_prediction),
		cmocka_unit_test(test_transfer_seq_wrap),
		cmocka_unit_test(test_error_queue),
	};
	if (getenv("TCP_REPLAY")) {
		const struct CMUnitTest one[] = {cmocka_unit_test(test_replay)};
		return cmocka_run_group_tests(one, NULL, NULL);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
