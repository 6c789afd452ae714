/* Transparent ("accept anything") sockets and the stack-wide memory budget,
 * on the virtual clock: stack a is a client whose route for other networks
 * points at stack b; b terminates TCP, UDP and ICMP for every address with
 * IP_TRANSPARENT sockets, as a tun2socks relay does. */
#include <arpa/inet.h>
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
#include "wire/eth.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

static void finish(struct sim *s)
{
	s->b_down = 0;
	sim_run(s, SEC(300));
	assert_int_equal(us_stack_bufs_in_use(s->a), 0);
	assert_int_equal(us_stack_bufs_in_use(s->b), 0);
	sim_free(s);
}

/* a routes everything that is not on its subnet through b. */
static void route_via_b(struct sim *s)
{
	struct in_addr any = {0}, gw;
	inet_pton(AF_INET, SIM_B, &gw);
	assert_int_equal(us_route_add(s->a, any, 0, gw, s->ifa), 0);
}

static int setopt(struct us_stack *st, int fd, int level, int name, int v)
{
	return us_setsockopt(st, fd, level, name, &v, sizeof(v));
}

static int tproxy_listener(struct sim *s, int defer, int backlog)
{
	int l = us_socket(s->b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = sim_addr("0.0.0.0", 1);
	assert_int_equal(setopt(s->b, l, IPPROTO_IP, IP_TRANSPARENT, 1), 0);
	if (defer)
		assert_int_equal(setopt(s->b, l, IPPROTO_TCP, US_TCP_DEFER_HANDSHAKE, 1), 0);
	assert_int_equal(us_bind(s->b, l, (struct sockaddr *)&la, sizeof(la)), 0);
	assert_int_equal(us_listen(s->b, l, backlog), 0);
	return l;
}

static int sock_err(struct us_stack *st, int fd)
{
	int e = 0;
	socklen_t l = sizeof(e);
	us_getsockopt(st, fd, SOL_SOCKET, SO_ERROR, &e, &l);
	return e;
}

static void test_nonlocal_dropped_without_tproxy(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	route_via_b(&s);
	/* An ordinary wildcard listener on the port must not catch it. */
	int l = us_socket(s.b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = sim_addr("0.0.0.0", 80), to = sim_addr("192.0.2.7", 80);
	us_bind(s.b, l, (struct sockaddr *)&la, sizeof(la));
	us_listen(s.b, l, 8);
	uint64_t before = us_stack_stats(s.b)->ip.InAddrErrors;
	int c = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(us_connect(s.a, c, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, MS(100));
	assert_true(us_stack_stats(s.b)->ip.InAddrErrors > before);
	assert_int_equal(sim_tcp_state(s.a, c), US_TCP_SYN_SENT);
	assert_int_equal(us_accept(s.b, l, NULL, NULL), -EAGAIN);
	/* With a transparent listener on another port, the wildcard one still
	 * never sees non-local SYNs: they go to the transparent one. */
	int t = tproxy_listener(&s, 0, 8);
	sim_run(&s, SEC(2));   /* the SYN is retransmitted */
	assert_int_equal(us_accept(s.b, l, NULL, NULL), -EAGAIN);
	int a = us_accept(s.b, t, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(sim_tcp_state(s.a, c), US_TCP_ESTABLISHED);
	us_close(s.a, c);
	us_close(s.b, a);
	us_close(s.b, t);
	us_close(s.b, l);
	finish(&s);
}

static void test_tcp_any_destination_deferred(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	route_via_b(&s);
	int l = tproxy_listener(&s, 1, 16);
	struct sockaddr_in to = sim_addr("192.0.2.7", 80), to2 = sim_addr("198.51.100.9", 8443);
	int c = us_socket(s.a, AF_INET, SOCK_STREAM, 0), c2 = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(us_connect(s.a, c, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	assert_int_equal(us_connect(s.a, c2, (struct sockaddr *)&to2, sizeof(to2)), -EINPROGRESS);
	sim_run(&s, MS(50));
	struct sockaddr_in peer, me;
	socklen_t pl = sizeof(peer), ml = sizeof(me);
	int a = us_accept(s.b, l, (struct sockaddr *)&peer, &pl);
	assert_true(a >= 0);
	assert_int_equal(us_getsockname(s.b, a, (struct sockaddr *)&me, &ml), 0);
	/* The original destination, and the client as the peer. */
	assert_int_equal(ntohl(me.sin_addr.s_addr), sim_ip("192.0.2.7"));
	assert_int_equal(ntohs(me.sin_port), 80);
	assert_int_equal(ntohl(peer.sin_addr.s_addr), sim_ip(SIM_A));
	int a2 = us_accept(s.b, l, NULL, NULL);
	assert_true(a2 >= 0);
	ml = sizeof(me);
	us_getsockname(s.b, a2, (struct sockaddr *)&me, &ml);
	assert_int_equal(ntohl(me.sin_addr.s_addr), sim_ip("198.51.100.9"));
	assert_int_equal(ntohs(me.sin_port), 8443);
	/* Deferred: nothing answered yet, even after the SYN is retransmitted. */
	sim_run(&s, SEC(2));
	assert_int_equal(sim_tcp_state(s.a, c), US_TCP_SYN_SENT);
	assert_int_equal(sim_tcp_state(s.b, a), US_TCP_SYN_RECEIVED);
	/* Refuse one: the client sees ECONNREFUSED at once. */
	assert_int_equal(us_accept_finish(s.b, a2, 0), 0);
	sim_run(&s, MS(10));
	assert_int_equal(sim_tcp_state(s.a, c2), US_TCP_CLOSED);
	assert_int_equal(sock_err(s.a, c2), ECONNREFUSED);
	/* Accept the other: handshake, data both ways, half close both ways. */
	assert_int_equal(us_accept_finish(s.b, a, 1), 0);
	sim_run(&s, MS(10));
	assert_int_equal(sim_tcp_state(s.a, c), US_TCP_ESTABLISHED);
	assert_int_equal(us_send(s.a, c, "hello", 5, 0), 5);
	assert_int_equal(us_send(s.b, a, "world!", 6, 0), 6);
	sim_run(&s, MS(100));
	char buf[16];
	assert_int_equal(us_recv(s.b, a, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(us_recv(s.a, c, buf, sizeof(buf), 0), 6);
	assert_int_equal(us_shutdown(s.a, c, SHUT_WR), 0);
	sim_run(&s, MS(100));
	assert_int_equal(us_recv(s.b, a, buf, sizeof(buf), 0), 0);   /* EOF carried */
	assert_int_equal(us_send(s.b, a, "late", 4, 0), 4);            /* other half still open */
	sim_run(&s, MS(100));
	assert_int_equal(us_recv(s.a, c, buf, sizeof(buf), 0), 4);
	us_close(s.b, a);
	sim_run(&s, MS(100));
	assert_int_equal(us_recv(s.a, c, buf, sizeof(buf), 0), 0);
	/* Transparent TCP but no transparent UDP socket: a datagram to a
	 * non-local address gets a port unreachable in that address's name. */
	int u = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in dns = sim_addr("192.0.2.7", 53);
	assert_int_equal(us_connect(s.a, u, (struct sockaddr *)&dns, sizeof(dns)), 0);
	assert_int_equal(us_send(s.a, u, "q", 1, 0), 1);
	sim_run(&s, MS(10));
	assert_int_equal(us_recv(s.a, u, buf, sizeof(buf), 0), -ECONNREFUSED);
	assert_int_equal(us_stack_stats(s.b)->udp.NoPorts, 1);
	us_close(s.a, u);
	us_close(s.a, c);
	us_close(s.a, c2);
	us_close(s.b, a2);
	us_close(s.b, l);
	finish(&s);
}

static void test_udp_full_cone(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	route_via_b(&s);
	int t = us_socket(s.b, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(setopt(s.b, t, IPPROTO_IP, IP_TRANSPARENT, 1), 0);
	struct sockaddr_in any = sim_addr("0.0.0.0", 1);
	assert_int_equal(us_bind(s.b, t, (struct sockaddr *)&any, sizeof(any)), 0);
	int u = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in mine = sim_addr("0.0.0.0", 5000), d1 = sim_addr("192.0.2.7", 53), d2 = sim_addr("198.51.100.1", 9);
	assert_int_equal(us_bind(s.a, u, (struct sockaddr *)&mine, sizeof(mine)), 0);
	assert_int_equal(us_sendto(s.a, u, "q1", 2, 0, (struct sockaddr *)&d1, sizeof(d1)), 2);
	assert_int_equal(us_sendto(s.a, u, "q2", 2, 0, (struct sockaddr *)&d2, sizeof(d2)), 2);
	sim_run(&s, MS(10));
	struct sockaddr_in from, to;
	char buf[16];
	for (int i = 0; i < 2; i++) {
		socklen_t fl = sizeof(from), tl = sizeof(to);
		assert_int_equal(us_recvfromto(s.b, t, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl,
					       (struct sockaddr *)&to, &tl), 2);
		assert_int_equal(ntohl(from.sin_addr.s_addr), sim_ip(SIM_A));
		assert_int_equal(ntohs(from.sin_port), 5000);
		const struct sockaddr_in *want = i == 0 ? &d1 : &d2;
		assert_int_equal(to.sin_addr.s_addr, want->sin_addr.s_addr);
		assert_int_equal(to.sin_port, want->sin_port);
	}
	/* Replies from anywhere, to the client's one mapping. */
	struct sockaddr_in other = sim_addr("203.0.113.5", 777), cli = sim_addr(SIM_A, 5000);
	assert_int_equal(us_sendfromto(s.b, t, "r1", 2, 0, (struct sockaddr *)&other, sizeof(other),
				       (struct sockaddr *)&cli, sizeof(cli)), 2);
	sim_run(&s, MS(10));
	socklen_t fl = sizeof(from);
	assert_int_equal(us_recvfrom(s.a, u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 2);
	assert_int_equal(ntohl(from.sin_addr.s_addr), sim_ip("203.0.113.5"));
	assert_int_equal(ntohs(from.sin_port), 777);
	/* Without IP_TRANSPARENT a foreign source is refused, as on Linux. */
	assert_int_equal(us_sendfromto(s.a, u, "x", 1, 0, (struct sockaddr *)&other, sizeof(other),
				       (struct sockaddr *)&d1, sizeof(d1)), -EADDRNOTAVAIL);
	/* Closing the transparent socket: non-local datagrams are dropped again. */
	us_close(s.b, t);
	uint64_t before = us_stack_stats(s.b)->ip.InAddrErrors;
	us_sendto(s.a, u, "q3", 2, 0, (struct sockaddr *)&d1, sizeof(d1));
	sim_run(&s, MS(10));
	assert_int_equal(us_stack_stats(s.b)->ip.InAddrErrors, before + 1);
	us_close(s.a, u);
	finish(&s);
}

static void test_icmp_echo_any_destination(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	route_via_b(&s);
	int t = us_socket(s.b, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	assert_int_equal(setopt(s.b, t, IPPROTO_IP, IP_TRANSPARENT, 1), 0);
	int pg = us_socket(s.a, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	struct sockaddr_in d = sim_addr("192.0.2.7", 0);
	uint8_t req[12] = {ICMP_ECHO, 0, 0, 0, 0, 0, 0, 1, 'p', 'i', 'n', 'g'};
	assert_int_equal(us_sendto(s.a, pg, req, sizeof(req), 0, (struct sockaddr *)&d, sizeof(d)), 12);
	sim_run(&s, MS(10));
	uint8_t got[64];
	struct sockaddr_in from, to;
	socklen_t fl = sizeof(from), tl = sizeof(to);
	ssize_t n = us_recvfromto(s.b, t, got, sizeof(got), 0, (struct sockaddr *)&from, &fl, (struct sockaddr *)&to, &tl);
	assert_int_equal(n, 12);
	assert_int_equal(got[0], ICMP_ECHO);
	assert_int_equal(ntohl(to.sin_addr.s_addr), sim_ip("192.0.2.7"));
	assert_int_equal(ntohl(from.sin_addr.s_addr), sim_ip(SIM_A));
	/* The app answers in the destination's name, with a TTL of its choosing. */
	got[0] = ICMP_ECHOREPLY;
	assert_int_equal(setopt(s.b, t, IPPROTO_IP, IP_TTL, 50), 0);
	assert_int_equal(us_sendfromto(s.b, t, got, 12, 0, (struct sockaddr *)&to, sizeof(to), (struct sockaddr *)&from,
				       sizeof(from)), 12);
	sim_run(&s, MS(10));
	fl = sizeof(from);
	n = us_recvfrom(s.a, pg, got, sizeof(got), 0, (struct sockaddr *)&from, &fl);
	assert_int_equal(n, 12);
	assert_int_equal(got[0], ICMP_ECHOREPLY);
	assert_memory_equal(got + 8, "ping", 4);
	assert_int_equal(ntohl(from.sin_addr.s_addr), sim_ip("192.0.2.7"));
	/* No transparent ICMP socket but a transparent UDP one: the stack
	 * answers echoes itself. */
	us_close(s.b, t);
	int u = us_socket(s.b, AF_INET, SOCK_DGRAM, 0);
	setopt(s.b, u, IPPROTO_IP, IP_TRANSPARENT, 1);
	uint64_t reps = us_stack_stats(s.b)->icmp.OutEchoReps;
	assert_int_equal(us_sendto(s.a, pg, req, sizeof(req), 0, (struct sockaddr *)&d, sizeof(d)), 12);
	sim_run(&s, MS(10));
	assert_int_equal(us_stack_stats(s.b)->icmp.OutEchoReps, reps + 1);
	fl = sizeof(from);
	assert_int_equal(us_recvfrom(s.a, pg, got, sizeof(got), 0, (struct sockaddr *)&from, &fl), 12);
	assert_int_equal(ntohl(from.sin_addr.s_addr), sim_ip("192.0.2.7"));
	us_close(s.b, u);
	us_close(s.a, pg);
	finish(&s);
}

/* A SYN from a forged source to a non-local destination. */
static void inject_syn(struct sim *s, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint32_t seq)
{
	struct us_stack *a = s->a;
	struct tcp_repr t;
	memset(&t, 0, sizeof(t));
	t.sport = sport;
	t.dport = dport;
	t.seq = seq;
	t.flags = TCP_SYN;
	t.win = 65535;
	t.has_mss = 1;
	t.mss = 1460;
	size_t hl = tcp_hdr_len_for(&t);
	struct pkt *p = pkt_alloc(&a->pool, (uint32_t)(ETH_HDR_LEN + IPV4_HDR_LEN + hl), 0);
	assert_non_null(p);
	uint8_t *b = pkt_put(p, (uint32_t)(ETH_HDR_LEN + IPV4_HDR_LEN + hl));
	struct eth_repr e = {.dst = {2, 0, 0, 0, 0, 2}, .src = {2, 0, 0, 0, 0, 1}, .type = ETH_P_IPV4};
	eth_emit(&e, b);
	struct ipv4_repr ip = {.src = src, .dst = dst, .proto = IP_PROTO_TCP, .ttl = 64, .payload_len = (uint16_t)hl};
	ipv4_emit(&ip, b + ETH_HDR_LEN);
	tcp_emit(&t, ip.src, ip.dst, b + ETH_HDR_LEN + IPV4_HDR_LEN, 0);
	struct pkt *one[1] = {p};
	link_send(s->la, one, 1, s->now);
}

/* Bad input: a transparent listener never takes a SYN to a destination no
 * host beyond the link can have: 127/8 from the wire, 0/8, 169.254/16. */
static void test_refused_destinations(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int l = tproxy_listener(&s, 1, 16);
	static const char *const bad[] = {"127.0.0.1", "127.1.2.3", "0.1.2.3", "169.254.9.9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t before = us_stack_stats(s.b)->ip.InAddrErrors, out = us_stack_stats(s.b)->ip.OutRequests;
		inject_syn(&s, sim_ip(SIM_A), 40000, sim_ip(bad[i]), 80, 1);
		sim_run(&s, MS(10));
		assert_int_equal(us_stack_stats(s.b)->ip.InAddrErrors, before + 1);
		assert_int_equal(us_stack_stats(s.b)->ip.OutRequests, out);
		assert_int_equal(us_accept(s.b, l, NULL, NULL), -EAGAIN);
	}
	/* The same SYN to another network's address is taken. */
	inject_syn(&s, sim_ip(SIM_A), 40000, sim_ip("192.0.2.7"), 80, 1);
	sim_run(&s, MS(10));
	int a = us_accept(s.b, l, NULL, NULL);   /* deferred: handed over at the SYN */
	assert_true(a >= 0);
	us_close(s.b, a);
	us_close(s.b, l);
	finish(&s);
}

static void test_syn_flood_bounded(void **state)
{
	(void)state;
	struct sim_opts o = {0};
	o.cfg.tcp_max_syn_backlog = 32;
	o.cfg.mem_max = 4u << 20;
	o.cfg.tcp_rmem = o.cfg.tcp_wmem = 64 << 10;
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	route_via_b(&s);
	int l = tproxy_listener(&s, 1, 64);
	/* 5000 SYNs from 250 forged sources to varied destinations; the app
	 * answers every SYN it is handed at once (as a relay whose upstream
	 * connects fast): answered ones stay half-open, since the forged
	 * sources never complete, so the limit still holds. */
	static int acc[5000];
	int n = 0;
	for (uint32_t i = 0; i < 5000; i++) {
		inject_syn(&s, sim_ip("10.0.0.3") + i % 250, (uint16_t)(1024 + i), sim_ip("192.0.2.1") + (i % 7),
			   (uint16_t)(80 + i % 3), i * 7919u);
		if (i % 50 == 49) {
			sim_run(&s, MS(1));
			for (int a; (a = us_accept(s.b, l, NULL, NULL)) >= 0;) {
				us_accept_finish(s.b, a, 1);
				acc[n++] = a;
			}
		}
	}
	sim_run(&s, MS(100));
	const struct us_stats *sb = us_stack_stats(s.b);
	/* Half-open state stops at the limit; the rest get cookies. */
	for (int a; (a = us_accept(s.b, l, NULL, NULL)) >= 0;)
		acc[n++] = a;
	assert_true(n <= 32);
	assert_true(n >= 16);
	for (int i = 0; i < n; i++)
		us_close(s.b, acc[i]);
	/* Every SYN that arrived got either a half-open slot or a cookie. */
	assert_true(sb->tcp.InSegs >= 1000);
	assert_int_equal(sb->tcpext.SyncookiesSent + (uint64_t)n, sb->tcp.InSegs);
	struct us_mem_info mi;
	us_stack_mem_info(s.b, &mi);
	assert_true(mi.peak <= mi.max);
	assert_true(mi.pkt_refusals > 0);   /* SYN-ACKs waiting for ARP hit the budget */
	assert_int_equal(mi.tcp, 0);   /* no half-open connection holds buffers */
	/* Once the SYN-ACKs to the forged neighbours give up on ARP, a real
	 * client gets through (via a cookie if need be). */
	sim_run(&s, SEC(5));
	int c = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = sim_addr("192.0.2.99", 80);
	assert_int_equal(us_connect(s.a, c, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, MS(50));
	int a = us_accept(s.b, l, NULL, NULL);
	assert_true(a >= 0);
	us_accept_finish(s.b, a, 1);
	sim_run(&s, MS(50));
	assert_int_equal(sim_tcp_state(s.a, c), US_TCP_ESTABLISHED);
	us_close(s.a, c);
	us_close(s.b, a);
	us_close(s.b, l);
	finish(&s);
}

static void test_memory_budget_shrinks_then_refuses(void **state)
{
	(void)state;
	/* 64 KiB rings each way: 128 KiB a connection at full size. With a
	 * 600 KiB budget (7/8 of it for rings), connections get full buffers
	 * until half of that is used, later ones smaller (smaller windows) in
	 * proportion to what is left, and when even 4 KiB rings do not fit,
	 * connect fails with ENOBUFS. */
	struct sim_opts o = {0};
	o.cfg.tcp_rmem = 65536;
	o.cfg.tcp_wmem = 65536;
	o.cfg.mem_max = 600 << 10;
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	int lfd = us_socket(s.b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = sim_addr("0.0.0.0", 4700), to = sim_addr(SIM_B, 4700);
	us_bind(s.b, lfd, (struct sockaddr *)&la, sizeof(la));
	us_listen(s.b, lfd, 64);
	int fds[64], n = 0, refused = 0;
	int first_buf = 0, last_buf = 0;
	for (; n < 64; n++) {
		fds[n] = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
		int rc = us_connect(s.a, fds[n], (struct sockaddr *)&to, sizeof(to));
		if (rc == -ENOBUFS) {
			refused = 1;
			us_close(s.a, fds[n]);
			break;
		}
		assert_int_equal(rc, -EINPROGRESS);
		int v = 0;
		socklen_t vl = sizeof(v);
		us_getsockopt(s.a, fds[n], SOL_SOCKET, SO_RCVBUF, &v, &vl);
		if (n == 0)
			first_buf = v;
		last_buf = v;
		struct us_mem_info mi;
		us_stack_mem_info(s.a, &mi);
		assert_true(mi.used <= mi.max);
		assert_true(mi.tcp <= mi.max - mi.max / 8);   /* the packet reserve stays free */
	}
	assert_true(refused);
	assert_true(n >= 5);   /* shrinking admitted more than the 4 full-size ones that would fit */
	assert_int_equal(first_buf, 65536);
	assert_true(last_buf < 65536 && last_buf >= 4096);
	assert_true(us_stack_stats(s.a)->tcpext.TCPMemoryPressures >= 1);
	sim_run(&s, SEC(1));
	/* b ran out as well: its late children were refused with a RST. */
	struct us_mem_info mb;
	us_stack_mem_info(s.b, &mb);
	assert_true(mb.peak <= mb.max);
	int acc[64], na = 0;
	for (int a; na < 64 && (a = us_accept(s.b, lfd, NULL, NULL)) >= 0;)
		acc[na++] = a;
	assert_true(na >= 4);
	/* Data still flows on the smallest accepted connection: 200 KB
	 * through its small window. */
	static uint8_t data[200000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	int small = acc[na - 1];
	struct sockaddr_in pa;
	socklen_t pl = sizeof(pa);
	us_getpeername(s.b, small, (struct sockaddr *)&pa, &pl);
	int cfd = -1;
	for (int i = 0; i < n; i++) {
		struct sockaddr_in ca;
		socklen_t cl = sizeof(ca);
		us_getsockname(s.a, fds[i], (struct sockaddr *)&ca, &cl);
		if (ca.sin_port == pa.sin_port)
			cfd = fds[i];
	}
	assert_true(cfd >= 0);
	size_t sent = 0, have = 0;
	static uint8_t got[200000];
	for (int r = 0; r < 20000 && have < sizeof(data); r++) {
		ssize_t k = sent < sizeof(data) ? us_send(s.b, small, data + sent, sizeof(data) - sent, 0) : 0;
		if (k > 0)
			sent += (size_t)k;
		sim_run(&s, MS(1));
		k = us_recv(s.a, cfd, got + have, sizeof(got) - have, 0);
		if (k > 0)
			have += (size_t)k;
	}
	assert_int_equal(have, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	for (int i = 0; i < n; i++)
		us_close(s.a, fds[i]);
	for (int i = 0; i < na; i++)
		us_close(s.b, acc[i]);
	us_close(s.b, lfd);
	sim_run(&s, SEC(200));
	assert_int_equal(us_stack_tcp_mem(s.a), 0);
	assert_int_equal(us_stack_tcp_mem(s.b), 0);
	finish(&s);
}

static void test_memory_budget_udp(void **state)
{
	(void)state;
	/* Datagrams queued on a socket nobody reads hold packet buffers: past
	 * the budget they are dropped and counted, not kept. */
	struct sim_opts o = {0};
	o.cfg.mem_max = 256 << 10;
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	int r = us_socket(s.b, AF_INET, SOCK_DGRAM, 0);
	int big = 8 << 20;
	us_setsockopt(s.b, r, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	struct sockaddr_in la = sim_addr("0.0.0.0", 9000), to = sim_addr(SIM_B, 9000);
	us_bind(s.b, r, (struct sockaddr *)&la, sizeof(la));
	int u = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	char msg[1000];
	memset(msg, 'u', sizeof(msg));
	for (int i = 0; i < 1000; i++) {
		us_sendto(s.a, u, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to));
		if (i % 20 == 19)
			sim_run(&s, MS(1));
	}
	sim_run(&s, MS(10));
	struct us_mem_info mi;
	us_stack_mem_info(s.b, &mi);
	assert_true(mi.used <= mi.max);
	/* Refused at the packet pool (the link drops the frame) or at the
	 * socket (Udp.MemErrors). */
	assert_true(mi.pkt_refusals + us_stack_stats(s.b)->udp.MemErrors > 0);
	assert_true(mi.peak <= mi.max);
	uint64_t got = us_stack_stats(s.b)->udp.InDatagrams;
	assert_true(got > 50 && got < 1000);
	us_close(s.b, r);
	us_close(s.a, u);
	finish(&s);
}

static void test_timewait_holds_no_buffers(void **state)
{
	(void)state;
	/* A relay closes first on every connection whose server closes first:
	 * its TIME_WAIT connections (60 s each) must not hold their rings, or
	 * short connections would eat the budget. Unread data is kept. */
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 4800), 0);
	assert_true(us_stack_tcp_mem(s.a) > 0);
	assert_int_equal(us_send(s.b, p.afd, "bye", 3, 0), 3);
	us_shutdown(s.a, p.cfd, SHUT_WR);   /* a closes first: a gets TIME_WAIT */
	sim_run(&s, MS(100));
	us_close(s.b, p.afd);
	sim_run(&s, MS(100));
	assert_int_equal(sim_tcp_state(s.a, p.cfd), US_TCP_TIME_WAIT);
	char buf[8];
	assert_int_equal(us_recv(s.a, p.cfd, buf, sizeof(buf), 0), 3);   /* unread data survived */
	assert_int_equal(us_recv(s.a, p.cfd, buf, sizeof(buf), 0), 0);
	us_close(s.a, p.cfd);
	sim_run(&s, MS(10));
	assert_int_equal(us_stack_tcp_mem(s.a), 0);
	assert_int_equal(us_stack_tcp_mem(s.b), 0);
	us_close(s.b, p.lfd);
	finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nonlocal_dropped_without_tproxy),
		cmocka_unit_test(test_tcp_any_destination_deferred),
		cmocka_unit_test(test_udp_full_cone),
		cmocka_unit_test(test_icmp_echo_any_destination),
		cmocka_unit_test(test_refused_destinations),
		cmocka_unit_test(test_syn_flood_bounded),
		cmocka_unit_test(test_memory_budget_shrinks_then_refuses),
		cmocka_unit_test(test_memory_budget_udp),
		cmocka_unit_test(test_timewait_holds_no_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
