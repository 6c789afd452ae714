/* Unpredictable numbers (RFC 6528, RFC 6056, RFC 6864/7739): the DUT's
 * initial sequence numbers, ephemeral ports and IPv4 IDs, 1000 samples of
 * each, checked for patterns: no constant or small-constant steps, each bit
 * set about half the time, other values under another key, and ISNs of one
 * 4-tuple that grow with time by amounts that are not a function of the
 * time alone. The bounds are wide (about 6 standard deviations for a
 * uniform source) and the seeds fixed, so the test is deterministic; the
 * old, predictable schemes fail them (per-destination counters stepping by
 * 1, a port counter stepping by 1-8, an ISN that is clock + constant). */
#include <errno.h>
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
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

#include "../lib/dut.h"

#define N 1000

static struct us_stack_config cfg_seed(uint64_t seed)
{
	struct us_stack_config c;
	memset(&c, 0, sizeof(c));
	c.seed = seed;
	c.frame_bufs = 1024;
	c.large_bufs = 4;
	c.neigh_entries = 16;
	return c;
}

static void dut_done(struct dut *d)
{
	if (d->lfd >= 0)
		us_close(d->st, d->lfd);
	run(d, SEC(200));
	assert_int_equal(us_stack_bufs_in_use(d->st), 0);
	dut_free(d);
}

/* Each of the low `bits` bits is set in 40-60 % of the samples. */
static void check_bits(const uint32_t *v, int n, int bits, const char *what)
{
	for (int b = 0; b < bits; b++) {
		int ones = 0;
		for (int i = 0; i < n; i++)
			ones += (v[i] >> b) & 1;
		if (ones < n * 2 / 5 || ones > n * 3 / 5)
			fail_msg("%s: bit %d set in %d of %d samples", what, b, ones, n);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Steps between successive samples (mod 2^bits): how many distinct ones,
 * and the most frequent one's count. */
static void step_stats(const uint32_t *v, int n, int bits, int *distinct, int *most)
{
	uint32_t mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
	uint32_t *d = malloc(sizeof(uint32_t) * (size_t)n);
	assert_non_null(d);
	for (int i = 1; i < n; i++)
		d[i - 1] = (v[i] - v[i - 1]) & mask;
	qsort(d, (size_t)n - 1, sizeof(uint32_t), cmp_u32);
	*distinct = 0;
	*most = 0;
	for (int i = 0, run_len = 0; i < n - 1; i++) {
		if (i == 0 || d[i] != d[i - 1]) {
			(*distinct)++;
			run_len = 0;
		}
		if (++run_len > *most)
			*most = run_len;
	}
	free(d);
}

/* A SYN from sport to the listener: the SYN-ACK's sequence number and IP
 * ID; then a RST takes the half-open connection away. */
static void syn_probe(struct dut *d, uint16_t sport, uint32_t *isn, uint32_t *ipid)
{
	rx_clear(d);
	send_tcp(d, &(struct tcpo){.sport = sport, .seq = 1000, .flags = TCP_SYN}, NULL, 0);
	run(d, MS(1));
	const struct rx *r = first_kind(d, R_SYNACK);
	assert_non_null(r);
	*isn = r->seq;
	*ipid = rd_be16(r->b + 14 + 4);
	assert_true(rd_be16(r->b + 14 + 6) & 0x4000);   /* DF: an atomic datagram */
	send_tcp(d, &(struct tcpo){.sport = sport, .seq = 1001, .flags = TCP_RST}, NULL, 0);
	run(d, MS(1));
	rx_clear(d);
}

static void test_isn_tuples(void **state)
{
	(void)state;
	struct us_stack_config c = cfg_seed(11);
	struct dut d;
	dut_init(&d, &c);
	setup_listen(&d);
	static uint32_t isn[N], id[N];
	for (int i = 0; i < N; i++)
		syn_probe(&d, (uint16_t)(20000 + i), &isn[i], &id[i]);
	int distinct, most;
	step_stats(isn, N, 32, &distinct, &most);
	print_message("# ISNs of 1000 4-tuples: %d distinct steps, the commonest seen %d times\n", distinct, most);
	assert_true(distinct >= N - 5);
	check_bits(isn, N, 32, "ISN");
	/* successive ISNs differ in about half their bits */
	unsigned flips = 0;
	for (int i = 1; i < N; i++)
		flips += (unsigned)__builtin_popcount(isn[i] ^ isn[i - 1]);
	print_message("# ISN: %.2f bits differ between successive tuples (16 ideal)\n", flips / (double)(N - 1));
	assert_in_range(flips, 14 * (N - 1), 18 * (N - 1));
	/* IP IDs of the same SYN-ACKs (DF, atomic): random */
	step_stats(id, N, 16, &distinct, &most);
	print_message("# IP IDs of 1000 DF datagrams: %d distinct steps, commonest %d times\n", distinct, most);
	assert_true(distinct >= 900);
	assert_true(most <= 5);
	check_bits(id, N, 16, "DF IP ID");
	dut_done(&d);
}

static void test_isn_same_tuple(void **state)
{
	(void)state;
	struct us_stack_config c = cfg_seed(12);
	struct dut d;
	dut_init(&d, &c);
	setup_listen(&d);
	static uint32_t isn[N], id[N];
	static uint64_t t[N];
	for (int i = 0; i < N; i++) {
		t[i] = d.now;
		syn_probe(&d, 31337, &isn[i], &id[i]);
		run(&d, MS(50));   /* a constant interval: a clock alone gives constant steps */
	}
	int distinct, most;
	step_stats(isn, N, 32, &distinct, &most);
	print_message("# ISNs of one 4-tuple, 50 ms apart: %d distinct steps, commonest %d times\n", distinct, most);
	for (int i = 1; i < N; i++) {
		uint32_t step = isn[i] - isn[i - 1];
		uint64_t ticks = (t[i] - t[i - 1]) / 4000;   /* the 4 us clock */
		/* grows with the clock (RFC 6528), give or take under 1 ms */
		assert_true((int32_t)step > 0);
		assert_true(step + 250 > ticks && step < ticks + 250);
	}
	assert_true(distinct >= 150);
	assert_true(most <= 30);
	dut_done(&d);
}

static void test_isn_keys(void **state)
{
	(void)state;
	/* Two stacks under different keys, the same tuples at the same times. */
	struct us_stack_config c1 = cfg_seed(21), c2 = cfg_seed(22);
	struct dut d1, d2;
	dut_init(&d1, &c1);
	dut_init(&d2, &c2);
	setup_listen(&d1);
	setup_listen(&d2);
	unsigned flips = 0, same = 0;
	for (int i = 0; i < 200; i++) {
		uint32_t a, b, ia, ib;
		syn_probe(&d1, (uint16_t)(40000 + i), &a, &ia);
		syn_probe(&d2, (uint16_t)(40000 + i), &b, &ib);
		flips += (unsigned)__builtin_popcount(a ^ b);
		same += a == b;
	}
	print_message("# ISN under two keys: %.2f bits differ (16 ideal)\n", flips / 200.0);
	assert_int_equal(same, 0);
	assert_in_range(flips, 14 * 200, 18 * 200);
	dut_done(&d1);
	dut_done(&d2);
}

/* Ephemeral ports of 1000 connections from the DUT to one destination. */
static void ports_of(uint64_t seed, uint32_t *port)
{
	struct us_stack_config c = cfg_seed(seed);
	struct dut d;
	dut_init(&d, &c);
	for (int i = 0; i < N; i++) {
		setup_connecting(&d);
		port[i] = d.cport;
		us_close(d.st, d.cfd);
		d.cfd = -1;
		run(&d, MS(1));
		rx_clear(&d);
	}
	dut_done(&d);
}

static void test_ephemeral_ports(void **state)
{
	(void)state;
	static uint32_t p[N], q[N];
	ports_of(31, p);
	ports_of(32, q);
	int small = 0, same = 0;
	for (int i = 0; i < N; i++) {
		assert_in_range(p[i], 32768, 60999);
		if (i && (p[i] - p[i - 1] + 64u) % 65536u < 128u)
			small++;   /* within 64 of the previous port */
		same += p[i] == q[i];
	}
	int distinct, most;
	step_stats(p, N, 16, &distinct, &most);
	print_message("# ports to one destination: %d steps within +-64, %d distinct steps; %d equal under another key\n",
		      small, distinct, same);
	assert_true(small <= 20);   /* random: about 1000 * 128 / 28232 = 4.5 */
	assert_true(distinct >= 950);
	assert_true(same <= 5);
	/* the range is 28232 ports: the low 14 bits are close to uniform */
	check_bits(p, N, 14, "port");
}

static void test_ip_id_counters(void **state)
{
	(void)state;
	/* Non-DF datagrams (echo replies) to one destination, one a second:
	 * their IDs come from a counter that must not reveal its rate. */
	struct us_stack_config c = cfg_seed(41);
	struct dut d;
	dut_init(&d, &c);
	static uint32_t id[N];
	for (int i = 0; i < N; i++) {
		rx_clear(&d);
		send_echo(&d, (uint16_t)i);
		run(&d, MS(1));
		const struct rx *r = first_kind(&d, R_ECHO);
		assert_non_null(r);
		assert_false(rd_be16(r->b + 14 + 6) & 0x4000);
		id[i] = rd_be16(r->b + 14 + 4);
		run(&d, SEC(1) - MS(1));
	}
	int distinct, most;
	step_stats(id, N, 16, &distinct, &most);
	print_message("# IP IDs of non-DF datagrams 1 s apart: %d distinct steps, commonest %d times\n", distinct, most);
	assert_true(distinct >= 500);
	assert_true(most <= 10);
	check_bits(id, N, 16, "IP ID");
	/* ...while a burst (one instant) gets distinct, consecutive IDs, as
	 * reassembly needs. */
	rx_clear(&d);
	for (int i = 0; i < 20; i++)
		send_echo(&d, (uint16_t)(5000 + i));
	run(&d, MS(1));
	assert_int_equal(count_kind(&d, R_ECHO), 20);
	for (int i = 1; i < 20; i++)
		assert_int_equal((uint16_t)(rd_be16(d.rx[i].b + 18) - rd_be16(d.rx[i - 1].b + 18)), 1);
	rx_clear(&d);
	dut_done(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isn_tuples),
		cmocka_unit_test(test_isn_same_tuple),
		cmocka_unit_test(test_isn_keys),
		cmocka_unit_test(test_ephemeral_ports),
		cmocka_unit_test(test_ip_id_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
