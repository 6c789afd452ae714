/* Two stacks over in-memory links on a virtual clock: ARP, ping of every
 * size, UDP both ways, fragments in any order, loss, duplication,
 * reassembly timeouts. Every test ends with both pools back to zero. */
#include <errno.h>
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
#include "net/iface.h"
#include "net/ipv4.h"
#include "net/neigh.h"
#include "net/route.h"
#include "stack.h"
#include "wire/icmp4.h"

static void finish(struct sim *s)
{
	/* Let every timer (ARP, reassembly) run out, then check for leaks. */
	sim_run(s, SEC(120));
	assert_int_equal(us_stack_bufs_in_use(s->a), 0);
	assert_int_equal(us_stack_bufs_in_use(s->b), 0);
	sim_free(s);
}

struct wait_rx {
	struct us_stack *st;
	int fd;
};

static int readable(void *arg)
{
	struct wait_rx *w = arg;
	struct us_pollfd p = {w->fd, US_POLLIN, 0};
	return us_poll(w->st, &p, 1) > 0;
}

/* One echo request of `size` data bytes from a to b through a ping socket;
 * checks the reply byte for byte. */
static void ping_once(struct sim *s, int fd, size_t size, uint16_t seq)
{
	size_t len = ICMP4_HDR_LEN + size;
	uint8_t *req = malloc(len), *rep = malloc(len + 16);
	assert_non_null(req);
	assert_non_null(rep);
	memset(req, 0, ICMP4_HDR_LEN);
	req[0] = ICMP_ECHO;
	wr_be16(req + 6, seq);
	for (size_t i = 0; i < size; i++)
		req[ICMP4_HDR_LEN + i] = (uint8_t)(i ^ seq);
	struct sockaddr_in to = sim_addr(SIM_B, 0);
	assert_int_equal(us_sendto(s->a, fd, req, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
	struct wait_rx w = {s->a, fd};
	assert_true(sim_run_until(s, SEC(5), readable, &w));
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = us_recvfrom(s->a, fd, rep, len + 16, 0, (struct sockaddr *)&from, &fl);
	assert_int_equal(n, (ssize_t)len);
	assert_int_equal(rep[0], ICMP_ECHOREPLY);
	assert_int_equal(rd_be16(rep + 6), seq);
	assert_memory_equal(rep + ICMP4_HDR_LEN, req + ICMP4_HDR_LEN, size);
	assert_int_equal(from.sin_addr.s_addr, sim_addr(SIM_B, 0).sin_addr.s_addr);
	free(req);
	free(rep);
}

static void test_arp_and_ping_sizes(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int fd = us_socket(s.a, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	assert_true(fd >= 0);
	ping_once(&s, fd, 56, 1);
	/* ARP resolved both ways (b learned a from a's request). */
	uint8_t mac[6];
	assert_int_equal(neigh_lookup((struct us_stack *)s.a, s.ifa, sim_ip(SIM_B), mac), 0);
	assert_int_equal(neigh_lookup((struct us_stack *)s.b, s.ifb, sim_ip(SIM_A), mac), 0);
	assert_int_equal(us_stack_stats(s.a)->arp.OutRequests, 1);
	assert_int_equal(us_stack_stats(s.b)->arp.OutReplies, 1);
	/* Every size from 0 to 1600 (crossing the 1472-byte fragmentation
	 * point), then large ones up to the IPv4 maximum. */
	uint16_t seq = 2;
	for (size_t sz = 0; sz <= 1600; sz++)
		ping_once(&s, fd, sz, seq++);
	size_t big[] = {2000, 2961, 8000, 16384, 32768, 65000, 65507};
	for (size_t i = 0; i < US_ARRAY_LEN(big); i++)
		ping_once(&s, fd, big[i], seq++);
	const struct us_stats *b = us_stack_stats(s.b);
	assert_int_equal(b->icmp.InEchos, seq - 1);
	assert_int_equal(b->icmp.OutEchoReps, seq - 1);
	assert_true(b->ip.ReasmOKs > 0);
	assert_int_equal(b->ip.ReasmFails, 0);
	assert_int_equal(b->ip.InHdrErrors + b->ip.InCsumErrors, 0);
	us_close(s.a, fd);
	finish(&s);
}

static void test_ping_oversize_rejected(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int fd = us_socket(s.a, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	static uint8_t req[65536];
	req[0] = ICMP_ECHO;
	struct sockaddr_in to = sim_addr(SIM_B, 0);
	/* 65508 data bytes + 8 + 20 > 65535 */
	assert_int_equal(us_sendto(s.a, fd, req, 65516, 0, (struct sockaddr *)&to, sizeof(to)), -EMSGSIZE);
	/* Not an echo request: refused like Linux. */
	req[0] = ICMP_ECHOREPLY;
	assert_int_equal(us_sendto(s.a, fd, req, 8, 0, (struct sockaddr *)&to, sizeof(to)), -EINVAL);
	us_close(s.a, fd);
	finish(&s);
}

static int udp_pair(struct sim *s, int *fa, int *fb, uint16_t pb)
{
	*fa = us_socket(s->a, AF_INET, SOCK_DGRAM, 0);
	*fb = us_socket(s->b, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in bb = sim_addr("0.0.0.0", pb);
	return us_bind(s->b, *fb, (struct sockaddr *)&bb, sizeof(bb));
}

static void test_udp_both_ways(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int fa, fb;
	assert_int_equal(udp_pair(&s, &fa, &fb, 7000), 0);
	size_t sizes[] = {0, 1, 100, 1472, 1473, 4000, 60000, 65507};
	static uint8_t out[65507], in[65600];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 31 + 7);
	for (size_t i = 0; i < US_ARRAY_LEN(sizes); i++) {
		struct sockaddr_in to = sim_addr(SIM_B, 7000);
		assert_int_equal(us_sendto(s.a, fa, out, sizes[i], 0, (struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)sizes[i]);
		struct wait_rx w = {s.b, fb};
		assert_true(sim_run_until(&s, SEC(5), readable, &w));
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = us_recvfrom(s.b, fb, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
		assert_int_equal(n, (ssize_t)sizes[i]);
		assert_memory_equal(in, out, sizes[i]);
		/* and back, to the sender's ephemeral port */
		assert_in_range(ntohs(from.sin_port), 32768, 60999);
		assert_int_equal(us_sendto(s.b, fb, in, (size_t)n, 0, (struct sockaddr *)&from, fl), n);
		struct wait_rx wa = {s.a, fa};
		assert_true(sim_run_until(&s, SEC(5), readable, &wa));
		assert_int_equal(us_recvfrom(s.a, fa, in, sizeof(in), 0, NULL, NULL), n);
		assert_memory_equal(in, out, sizes[i]);
	}
	/* Too large for IPv4. */
	struct sockaddr_in to = sim_addr(SIM_B, 7000);
	assert_int_equal(us_sendto(s.a, fa, out, 65508, 0, (struct sockaddr *)&to, sizeof(to)), -EMSGSIZE);
	/* Nothing more to read. */
	assert_int_equal(us_recv(s.b, fb, in, sizeof(in), 0), -EAGAIN);
	us_close(s.a, fa);
	us_close(s.b, fb);
	finish(&s);
}

static void test_udp_closed_port_refused(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int fa = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sim_addr(SIM_B, 9);
	assert_int_equal(us_connect(s.a, fa, (struct sockaddr *)&to, sizeof(to)), 0);
	assert_int_equal(us_send(s.a, fa, "x", 1, 0), 1);
	sim_run(&s, MS(100));
	uint8_t buf[8];
	assert_int_equal(us_recv(s.a, fa, buf, sizeof(buf), 0), -ECONNREFUSED);
	assert_int_equal(us_recv(s.a, fa, buf, sizeof(buf), 0), -EAGAIN);  /* reported once */
	assert_int_equal(us_stack_stats(s.b)->udp.NoPorts, 1);
	assert_int_equal(us_stack_stats(s.b)->icmp.OutDestUnreachs, 1);
	assert_int_equal(us_stack_stats(s.a)->icmp.InDestUnreachs, 1);
	/* An unconnected socket hears nothing (Linux without IP_RECVERR). */
	int fu = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(us_sendto(s.a, fu, "y", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	sim_run(&s, MS(100));
	assert_int_equal(us_recv(s.a, fu, buf, sizeof(buf), 0), -EAGAIN);
	us_close(s.a, fa);
	us_close(s.a, fu);
	finish(&s);
}

static void test_arp_failure_reports_unreachable(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int fa = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sim_addr("10.0.0.99", 5000);   /* nobody */
	assert_int_equal(us_connect(s.a, fa, (struct sockaddr *)&to, sizeof(to)), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(us_send(s.a, fa, "hello", 5, 0), 5);
	sim_run(&s, SEC(10));
	const struct us_stats *a = us_stack_stats(s.a);
	assert_int_equal(a->arp.OutRequests, 3);   /* 3 tries, 1 s apart */
	assert_int_equal(a->arp.ResolveFails, 1);
	assert_int_equal(a->arp.QueueDrops, 100 - 64);   /* queue bounded at 64 */
	uint8_t buf[8];
	assert_int_equal(us_recv(s.a, fa, buf, sizeof(buf), 0), -EHOSTUNREACH);
	us_close(s.a, fa);
	finish(&s);
}

struct frag_case {
	uint64_t seed;
	double drop, dup, reorder;
};

static void test_fragments_under_faults(void **state)
{
	(void)state;
	/* Fragments in random order, duplicated and lost: every datagram that
	 * completes is intact; lost ones time out and free their memory. */
	struct frag_case cases[] = {
		{11, 0, 0, 0.5}, {12, 0, 0.3, 0}, {13, 0, 0.3, 0.5}, {14, 0.05, 0.1, 0.3}, {15, 0.2, 0.2, 0.3},
	};
	for (size_t c = 0; c < US_ARRAY_LEN(cases); c++) {
		struct us_fault_cfg f = {.seed = cases[c].seed, .drop = cases[c].drop, .dup = cases[c].dup,
					 .reorder = cases[c].reorder, .reorder_gap = 5};
		struct sim_opts o = {.a_tx = &f};
		struct sim s;
		assert_int_equal(sim_init(&s, &o), 0);
		int fa, fb;
		assert_int_equal(udp_pair(&s, &fa, &fb, 7001), 0);
		static uint8_t out[20000], in[20001];
		int sent = 20, got = 0;
		for (int i = 0; i < sent; i++) {
			for (size_t k = 0; k < sizeof(out); k++)
				out[k] = (uint8_t)(k * 13 + (size_t)i);
			struct sockaddr_in to = sim_addr(SIM_B, 7001);
			us_sendto(s.a, fa, out, sizeof(out), 0, (struct sockaddr *)&to, sizeof(to));
			sim_run(&s, MS(50));
			ssize_t n;
			while ((n = us_recv(s.b, fb, in, sizeof(in), 0)) >= 0) {
				assert_int_equal(n, (ssize_t)sizeof(out));
				assert_memory_equal(in, out, sizeof(out));
				got++;
			}
		}
		sim_run(&s, SEC(40));
		const struct us_stats *b = us_stack_stats(s.b);
		printf("  case %zu (seed %llu drop %.2f dup %.2f reorder %.2f): %d of %d datagrams, ReasmFails %llu "
		       "ReasmTimeout %llu Duplicates %llu\n",
		       c, (unsigned long long)cases[c].seed, cases[c].drop, cases[c].dup, cases[c].reorder, got, sent,
		       (unsigned long long)b->ip.ReasmFails, (unsigned long long)b->ip.ReasmTimeout,
		       (unsigned long long)b->ip.ReasmDuplicates);
		if (cases[c].drop == 0) {
			assert_int_equal(got, sent);
			assert_int_equal(b->ip.ReasmFails, 0);
		} else {
			assert_true(got < sent);   /* 14 fragments each: some must be lost */
		}
		/* Each datagram completes or fails, exactly once. */
		assert_int_equal((uint64_t)got + b->ip.ReasmFails, (uint64_t)sent);
		assert_int_equal(b->ip.ReasmOKs, (uint64_t)got);
		assert_int_equal(frag4_count((struct us_stack *)s.b), 0);
		assert_int_equal(frag4_mem((struct us_stack *)s.b), 0);
		us_close(s.a, fa);
		us_close(s.b, fb);
		finish(&s);
	}
}

static void test_tun_mode_l3(void **state)
{
	(void)state;
	struct sim_opts o = {.l3 = 1};
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	int fd = us_socket(s.a, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	ping_once(&s, fd, 3000, 1);
	assert_int_equal(us_stack_stats(s.a)->arp.OutRequests, 0);   /* no ARP on L3 links */
	us_close(s.a, fd);
	finish(&s);
}

static void test_loopback_to_own_address(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int f1 = us_socket(s.a, AF_INET, SOCK_DGRAM, 0), f2 = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a1 = sim_addr(SIM_A, 4000);
	assert_int_equal(us_bind(s.a, f1, (struct sockaddr *)&a1, sizeof(a1)), 0);
	assert_int_equal(us_sendto(s.a, f2, "loop", 4, 0, (struct sockaddr *)&a1, sizeof(a1)), 4);
	sim_run(&s, MS(1));
	char buf[8];
	assert_int_equal(us_recv(s.a, f1, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "loop", 4);
	/* Binding the same port again fails; another address is not ours. */
	int f3 = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(us_bind(s.a, f3, (struct sockaddr *)&a1, sizeof(a1)), -EADDRINUSE);
	struct sockaddr_in other = sim_addr("10.0.0.77", 1);
	assert_int_equal(us_bind(s.a, f3, (struct sockaddr *)&other, sizeof(other)), -EADDRNOTAVAIL);
	us_close(s.a, f1);
	us_close(s.a, f2);
	us_close(s.a, f3);
	finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_and_ping_sizes),
		cmocka_unit_test(test_ping_oversize_rejected),
		cmocka_unit_test(test_udp_both_ways),
		cmocka_unit_test(test_udp_closed_port_refused),
		cmocka_unit_test(test_arp_failure_reports_unreachable),
		cmocka_unit_test(test_fragments_under_faults),
		cmocka_unit_test(test_tun_mode_l3),
		cmocka_unit_test(test_loopback_to_own_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
