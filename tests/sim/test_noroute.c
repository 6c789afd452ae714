/* Traffic from sources the stack has no route back to (issue 11: a SYN
 * flood with random sources once crashed `ustack serve` when it had no
 * default route). In every link mode a user can choose (TAP-like Ethernet,
 * TUN-like bare IP), without and with a default gateway, b gets a flood of
 * SYNs, echo requests and datagrams from random off-net sources, and then
 * must still serve a's connection and ping:
 *   - no route: nothing is answered, no connection is made, Ip.OutNoRoutes
 *     counts each answer not sent (Linux does the same);
 *   - a default gateway: every SYN is answered through it (half-open state
 *     up to the limit, cookies beyond). */
#include <arpa/inet.h>
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
#include "wire/udp.h"

#define FLOOD 3000

/* An IPv4 packet from src to b, framed for the link mode. */
static void inject_ip(struct sim *s, int l3, uint32_t src, uint8_t proto, const uint8_t *l4, size_t l4len)
{
	uint8_t f[ETH_HDR_LEN + IPV4_HDR_LEN + 64];
	size_t off = l3 ? 0 : ETH_HDR_LEN;
	if (!l3) {
		struct eth_repr e = {.dst = {2, 0, 0, 0, 0, 2}, .src = {2, 0, 0, 0, 0, 1}, .type = ETH_P_IPV4};
		eth_emit(&e, f);
	}
	struct ipv4_repr ip = {.src = src, .dst = sim_ip(SIM_B), .proto = proto, .ttl = 64,
			       .payload_len = (uint16_t)l4len, .id = (uint16_t)src};
	ipv4_emit(&ip, f + off);
	memcpy(f + off + IPV4_HDR_LEN, l4, l4len);
	sim_inject(s, f, off + IPV4_HDR_LEN + l4len);
}

/* A random source off b's 10.0.0.0/24, never martian. */
static uint32_t random_src(uint64_t *x)
{
	for (;;) {
		*x = *x * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t a = (uint32_t)(*x >> 32);
		uint8_t top = (uint8_t)(a >> 24);
		if (top == 0 || top == 10 || top == 127 || top >= 224)
			continue;
		return a;
	}
}

static void flood(struct sim *s, int l3, uint64_t seed)
{
	uint64_t x = seed;
	for (uint32_t i = 0; i < FLOOD; i++) {
		uint32_t src = random_src(&x);
		uint8_t b[40];
		if (i % 10 == 8) {   /* an echo request */
			memset(b, 0, 16);
			b[0] = ICMP_ECHO;
			wr_be16(b + 6, (uint16_t)i);
			wr_be16(b + 2, csum_fold(csum_partial(b, 16, 0)));
			inject_ip(s, l3, src, IP_PROTO_ICMP, b, 16);
		} else if (i % 10 == 9) {   /* UDP to a closed port */
			memcpy(b + UDP_HDR_LEN, "ping", 4);
			udp_emit((uint16_t)(1024 + i), 9999, src, sim_ip(SIM_B), b, 4);
			inject_ip(s, l3, src, IP_PROTO_UDP, b, UDP_HDR_LEN + 4);
		} else {   /* a SYN to the listener, with options like hping3's or the kernel's */
			struct tcp_repr t;
			memset(&t, 0, sizeof(t));
			t.sport = (uint16_t)(1024 + i);
			t.dport = 80;
			t.seq = (uint32_t)x;
			t.flags = TCP_SYN;
			t.win = 512;
			t.has_mss = i & 1;
			t.mss = 1460;
			t.sack_perm = i & 1;
			t.has_wscale = i & 1;
			t.wscale = 7;
			size_t hl = tcp_hdr_len_for(&t);
			tcp_emit(&t, src, sim_ip(SIM_B), b, 0);
			inject_ip(s, l3, src, IP_PROTO_TCP, b, hl);
		}
		if (i % 64 == 63)
			sim_run(s, MS(1));
	}
	sim_run(s, MS(10));
}

/* b still works: a connects, data both ways, and a ping is answered. */
static void check_serving(struct sim *s)
{
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(s, &p, 8080), 0);
	assert_int_equal(us_send(s->a, p.cfd, "hello", 5, 0), 5);
	sim_run(s, MS(10));
	char buf[16];
	assert_int_equal(us_recv(s->b, p.afd, buf, sizeof(buf), 0), 5);
	assert_int_equal(us_send(s->b, p.afd, "world", 5, 0), 5);
	sim_run(s, MS(10));
	assert_int_equal(us_recv(s->a, p.cfd, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "world", 5);
	sim_tcp_close(&p);
	int pf = us_socket(s->a, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	uint8_t req[8] = {ICMP_ECHO, 0, 0, 0, 0, 0, 0, 1};
	struct sockaddr_in to = sim_addr(SIM_B, 0);
	assert_int_equal(us_sendto(s->a, pf, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)), 8);
	sim_run(s, MS(10));
	assert_int_equal(us_recv(s->a, pf, buf, sizeof(buf), 0), 8);
	assert_int_equal((uint8_t)buf[0], ICMP_ECHOREPLY);
	us_close(s->a, pf);
}

static void run_mode(int l3, int gateway)
{
	struct sim_opts o = {.l3 = l3};
	o.cfg.tcp_max_syn_backlog = 64;
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	if (gateway) {
		struct in_addr any = {0}, gw;
		inet_pton(AF_INET, SIM_A, &gw);
		assert_int_equal(us_route_add(s.b, any, 0, gw, s.ifb), 0);
	}
	int l = us_socket(s.b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = sim_addr("0.0.0.0", 80);
	assert_int_equal(us_bind(s.b, l, (struct sockaddr *)&la, sizeof(la)), 0);
	assert_int_equal(us_listen(s.b, l, 64), 0);
	sim_run(&s, MS(1));
	struct us_stats before = *us_stack_stats(s.b);
	flood(&s, l3, 0x5eed0000u + (uint64_t)(l3 * 2 + gateway));
	const struct us_stats *sb = us_stack_stats(s.b);
	uint64_t syns = FLOOD - 2 * (FLOOD / 10), echos = FLOOD / 10, udps = FLOOD / 10;
	assert_int_equal(sb->tcp.InSegs - before.tcp.InSegs, syns);
	assert_int_equal(sb->icmp.InEchos - before.icmp.InEchos, echos);
	assert_int_equal(sb->udp.NoPorts - before.udp.NoPorts, udps);
	assert_int_equal(us_accept(s.b, l, NULL, NULL), -EAGAIN);
	if (!gateway) {
		/* Nothing answered: each SYN, echo and port unreachable not sent
		 * is one Ip.OutNoRoutes (the ICMP rate limit holds some back). */
		uint64_t nort = sb->ip.OutNoRoutes - before.ip.OutNoRoutes;
		uint64_t limited = sb->icmp.OutRateLimited - before.icmp.OutRateLimited;
		assert_int_equal(nort + limited, syns + echos + udps);
		assert_true(limited <= udps);
		assert_int_equal(sb->tcpext.ListenDrops - before.tcpext.ListenDrops, syns);
		assert_int_equal(sb->tcpext.SyncookiesSent - before.tcpext.SyncookiesSent, 0);
		assert_int_equal(sb->tcp.OutSegs - before.tcp.OutSegs, 0);
		assert_int_equal(sb->icmp.OutMsgs - before.icmp.OutMsgs, 0);
		assert_int_equal(sb->tcp.PassiveOpens - before.tcp.PassiveOpens, 0);
	} else {
		/* Every SYN answered through the gateway: half-open up to the
		 * limit, cookies past it; every echo answered. */
		assert_int_equal(sb->ip.OutNoRoutes - before.ip.OutNoRoutes, 0);
		assert_true(sb->tcpext.SyncookiesSent - before.tcpext.SyncookiesSent >= syns - 64);
		assert_int_equal(sb->icmp.OutEchoReps - before.icmp.OutEchoReps, echos);
	}
	check_serving(&s);
	us_close(s.b, l);
	sim_run(&s, SEC(120));
	assert_int_equal(us_stack_bufs_in_use(s.a), 0);
	assert_int_equal(us_stack_bufs_in_use(s.b), 0);
	sim_free(&s);
}

static void test_tap_no_route(void **state) { (void)state; run_mode(0, 0); }
static void test_tap_gateway(void **state) { (void)state; run_mode(0, 1); }
static void test_tun_no_route(void **state) { (void)state; run_mode(1, 0); }
static void test_tun_gateway(void **state) { (void)state; run_mode(1, 1); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_no_route),
		cmocka_unit_test(test_tap_gateway),
		cmocka_unit_test(test_tun_no_route),
		cmocka_unit_test(test_tun_gateway),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
