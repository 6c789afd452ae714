/* IPV6_TRANSPARENT on the virtual clock: stack a is a client whose IPv6
 * default route points at stack b; b terminates TCP, UDP and ICMPv6 echo
 * for every IPv6 address with transparent sockets, as a tun2socks relay
 * does, on the same code paths as IP_TRANSPARENT. Destinations no host
 * beyond the link can have (link-local, ::/96, multicast, ::1 from the
 * wire, v4-mapped) are never taken. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/sim.h"
#include "core/bytes.h"
#include "stack.h"
#include "wire/csum.h"
#include "wire/icmp6.h"
#include "wire/ipv6.h"

#define A6 "fd00:ab::1"
#define B6 "fd00:ab::2"

static struct sockaddr_in6 sa6(const char *ip, uint16_t port) { return sim_addr6(ip, port); }

static int64_t stat_of(struct us_stack *st, const char *name) { return sim_stat(st, name); }

static int setopt(struct us_stack *st, int fd, int level, int name, int v)
{
	return us_setsockopt(st, fd, level, name, &v, sizeof(v));
}

/* Both stacks on fd00:ab::/64 past DAD; a's IPv6 (and IPv4) default routes via b. */
static void init(struct sim *s)
{
	assert_int_equal(sim_init(s, NULL), 0);
	struct sockaddr_in6 a = sa6(A6, 0), b = sa6(B6, 0), any = sa6("::", 0);
	assert_int_equal(us_iface_addr_add_sa(s->a, s->ifa, (struct sockaddr *)&a, 64), 0);
	assert_int_equal(us_iface_addr_add_sa(s->b, s->ifb, (struct sockaddr *)&b, 64), 0);
	assert_int_equal(us_route_add_sa(s->a, (struct sockaddr *)&any, 0, (struct sockaddr *)&b, s->ifa), 0);
	struct in_addr any4 = {0}, gw;
	inet_pton(AF_INET, SIM_B, &gw);
	assert_int_equal(us_route_add(s->a, any4, 0, gw, s->ifa), 0);
	sim_run(s, SEC(2));   /* DAD */
}

static void finish(struct sim *s)
{
	s->b_down = 0;
	sim_run(s, SEC(300));
	assert_int_equal(us_stack_bufs_in_use(s->a), 0);
	assert_int_equal(us_stack_bufs_in_use(s->b), 0);
	sim_free(s);
}

/* A transparent IPv6 listener on b: [::]:1, IPV6_V6ONLY. */
static int listener6(struct sim *s, int level, int name)
{
	int l = us_socket(s->b, AF_INET6, SOCK_STREAM, 0);
	assert_true(l >= 0);
	assert_int_equal(setopt(s->b, l, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
	assert_int_equal(setopt(s->b, l, level, name, 1), 0);
	struct sockaddr_in6 la = sa6("::", 1);
	assert_int_equal(us_bind(s->b, l, (struct sockaddr *)&la, sizeof(la)), 0);
	assert_int_equal(us_listen(s->b, l, 16), 0);
	return l;
}

static void test_option(void **state)
{
	(void)state;
	struct sim s;
	init(&s);
	int t6 = us_socket(s.b, AF_INET6, SOCK_DGRAM, 0), t4 = us_socket(s.b, AF_INET, SOCK_DGRAM, 0);
	int v = -1;
	socklen_t vl = sizeof(v);
	assert_int_equal(us_getsockopt(s.b, t6, IPPROTO_IPV6, IPV6_TRANSPARENT, &v, &vl), 0);
	assert_int_equal(v, 0);
	assert_int_equal(setopt(s.b, t6, IPPROTO_IPV6, IPV6_TRANSPARENT, 1), 0);
	vl = sizeof(v);
	assert_int_equal(us_getsockopt(s.b, t6, IPPROTO_IPV6, IPV6_TRANSPARENT, &v, &vl), 0);
	assert_int_equal(v, 1);
	/* One flag with IP_TRANSPARENT, as on Linux. */
	vl = sizeof(v);
	assert_int_equal(us_getsockopt(s.b, t6, IPPROTO_IP, IP_TRANSPARENT, &v, &vl), 0);
	assert_int_equal(v, 1);
	/* A dual socket (no IPV6_V6ONLY) opens input of both families to
	 * non-local destinations; with IPV6_V6ONLY (before bind) IPv6 only. */
	assert_int_equal(s.b->n_transparent[0], 1);
	assert_int_equal(s.b->n_transparent[1], 1);
	assert_int_equal(setopt(s.b, t6, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
	assert_int_equal(s.b->n_transparent[0], 0);
	assert_int_equal(s.b->n_transparent[1], 1);
	/* An IPv4 one, IPv4 only; an ICMPv6 ping socket never IPv4. */
	assert_int_equal(setopt(s.b, t4, IPPROTO_IP, IP_TRANSPARENT, 1), 0);
	int p6 = us_socket(s.b, AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	assert_int_equal(setopt(s.b, p6, IPPROTO_IPV6, IPV6_TRANSPARENT, 1), 0);
	assert_int_equal(s.b->n_transparent[0], 1);
	assert_int_equal(s.b->n_transparent[1], 2);
	us_close(s.b, p6);
	assert_int_equal(setopt(s.b, t4, IPPROTO_IP, IP_TRANSPARENT, 0), 0);
	assert_int_equal(s.b->n_transparent[0], 0);
	assert_int_equal(s.b->n_transparent[1], 1);
	/* An IPv4 socket has no IPv6 options. */
	assert_int_equal(setopt(s.b, t4, IPPROTO_IPV6, IPV6_TRANSPARENT, 1), -ENOPROTOOPT);
	assert_int_equal(us_setsockopt(s.b, t6, IPPROTO_IPV6, IPV6_TRANSPARENT, &v, 0), -EINVAL);
	assert_int_equal(setopt(s.b, t6, IPPROTO_IPV6, IPV6_TRANSPARENT, 0), 0);
	vl = sizeof(v);
	assert_int_equal(us_getsockopt(s.b, t6, IPPROTO_IP, IP_TRANSPARENT, &v, &vl), 0);
	assert_int_equal(v, 0);
	assert_int_equal(s.b->n_transparent[1], 0);
	assert_int_equal(setopt(s.b, t6, IPPROTO_IPV6, IPV6_TRANSPARENT, 1), 0);
	us_close(s.b, t6);   /* closing releases its count too */
	assert_int_equal(s.b->n_transparent[0], 0);
	assert_int_equal(s.b->n_transparent[1], 0);
	us_close(s.b, t4);
	finish(&s);
}

static void test_tcp_any_destination(void **state)
{
	(void)state;
	struct sim s;
	init(&s);
	struct sockaddr_in6 to = sa6("2001:db8:7::7", 80), to2 = sa6("fd31:5::9", 8443);
	/* Without a transparent socket: not ours, dropped. */
	int64_t before = stat_of(s.b, "Ip6.InAddrErrors");
	int c = us_socket(s.a, AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(us_connect(s.a, c, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, MS(100));
	assert_true(stat_of(s.b, "Ip6.InAddrErrors") > before);
	assert_int_equal(sim_tcp_state(s.a, c), US_TCP_SYN_SENT);
	/* A transparent IPv4 listener takes no IPv6, nor opens IPv6 input
	 * to other addresses: the SYN is still dropped, unanswered. */
	int l4 = us_socket(s.b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la4 = sim_addr("0.0.0.0", 1);
	assert_int_equal(setopt(s.b, l4, IPPROTO_IP, IP_TRANSPARENT, 1), 0);
	assert_int_equal(us_bind(s.b, l4, (struct sockaddr *)&la4, sizeof(la4)), 0);
	assert_int_equal(us_listen(s.b, l4, 8), 0);
	before = stat_of(s.b, "Ip6.InAddrErrors");
	sim_run(&s, SEC(3));   /* the SYN again */
	assert_true(stat_of(s.b, "Ip6.InAddrErrors") > before);
	assert_int_equal(us_accept(s.b, l4, NULL, NULL), -EAGAIN);
	assert_int_equal(sim_tcp_state(s.a, c), US_TCP_SYN_SENT);
	us_close(s.a, c);
	/* An IPV6_TRANSPARENT listener takes every IPv6 address. */
	int l = listener6(&s, IPPROTO_IPV6, IPV6_TRANSPARENT);
	c = us_socket(s.a, AF_INET6, SOCK_STREAM, 0);
	int c2 = us_socket(s.a, AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(us_connect(s.a, c, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	assert_int_equal(us_connect(s.a, c2, (struct sockaddr *)&to2, sizeof(to2)), -EINPROGRESS);
	sim_run(&s, MS(50));
	struct sockaddr_in6 peer, me;
	socklen_t pl = sizeof(peer), ml = sizeof(me);
	/* Each accepted socket's name is its original destination (in
	 * whichever order they come). */
	int a = -1, a2 = -1;
	struct sockaddr_in6 want = sa6(A6, 0);
	for (int i = 0; i < 2; i++) {
		pl = sizeof(peer);
		ml = sizeof(me);
		int x = us_accept(s.b, l, (struct sockaddr *)&peer, &pl);
		assert_true(x >= 0);
		assert_int_equal(pl, sizeof(struct sockaddr_in6));
		assert_memory_equal(&peer.sin6_addr, &want.sin6_addr, 16);
		assert_int_equal(us_getsockname(s.b, x, (struct sockaddr *)&me, &ml), 0);
		assert_int_equal(ml, sizeof(struct sockaddr_in6));
		assert_int_equal(me.sin6_family, AF_INET6);
		const struct sockaddr_in6 *d = ntohs(me.sin6_port) == 80 ? &to : &to2;
		assert_memory_equal(&me.sin6_addr, &d->sin6_addr, 16);
		assert_int_equal(me.sin6_port, d->sin6_port);
		*(d == &to ? &a : &a2) = x;
	}
	assert_true(a >= 0 && a2 >= 0);
	assert_int_equal(us_accept(s.b, l4, NULL, NULL), -EAGAIN);   /* never the IPv4 one */
	/* Data both ways; the client sees the destination as its peer. */
	assert_int_equal(sim_tcp_state(s.a, c), US_TCP_ESTABLISHED);
	assert_int_equal(us_send(s.a, c, "hello", 5, 0), 5);
	assert_int_equal(us_send(s.b, a, "world!", 6, 0), 6);
	sim_run(&s, MS(100));
	char buf[16];
	assert_int_equal(us_recv(s.b, a, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(us_recv(s.a, c, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "world!", 6);
	/* No transparent UDP socket: a datagram to a non-local address gets
	 * a port unreachable in that address's name. */
	int u = us_socket(s.a, AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 dns = sa6("2001:db8:7::7", 53);
	assert_int_equal(us_connect(s.a, u, (struct sockaddr *)&dns, sizeof(dns)), 0);
	assert_int_equal(us_send(s.a, u, "q", 1, 0), 1);
	sim_run(&s, MS(10));
	assert_int_equal(us_recv(s.a, u, buf, sizeof(buf), 0), -ECONNREFUSED);
	assert_int_equal(stat_of(s.b, "Udp.NoPorts"), 1);
	us_close(s.a, u);
	us_close(s.a, c);
	us_close(s.a, c2);
	us_close(s.b, a);
	us_close(s.b, a2);
	us_close(s.b, l);
	us_close(s.b, l4);
	finish(&s);
}

static void test_udp_full_cone(void **state)
{
	(void)state;
	struct sim s;
	init(&s);
	int t = us_socket(s.b, AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(setopt(s.b, t, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
	assert_int_equal(setopt(s.b, t, IPPROTO_IPV6, IPV6_TRANSPARENT, 1), 0);
	struct sockaddr_in6 any = sa6("::", 1);
	assert_int_equal(us_bind(s.b, t, (struct sockaddr *)&any, sizeof(any)), 0);
	int u = us_socket(s.a, AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 mine = sa6("::", 5000), d1 = sa6("2001:db8:7::7", 53), d2 = sa6("fd31:1::1", 9);
	assert_int_equal(us_bind(s.a, u, (struct sockaddr *)&mine, sizeof(mine)), 0);
	assert_int_equal(us_sendto(s.a, u, "q1", 2, 0, (struct sockaddr *)&d1, sizeof(d1)), 2);
	assert_int_equal(us_sendto(s.a, u, "q2", 2, 0, (struct sockaddr *)&d2, sizeof(d2)), 2);
	sim_run(&s, MS(10));
	struct sockaddr_in6 from, to, wa = sa6(A6, 0);
	char buf[16];
	for (int i = 0; i < 2; i++) {
		socklen_t fl = sizeof(from), tl = sizeof(to);
		assert_int_equal(us_recvfromto(s.b, t, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl,
					       (struct sockaddr *)&to, &tl), 2);
		assert_int_equal(fl, sizeof(struct sockaddr_in6));
		assert_int_equal(tl, sizeof(struct sockaddr_in6));
		assert_memory_equal(&from.sin6_addr, &wa.sin6_addr, 16);
		assert_int_equal(ntohs(from.sin6_port), 5000);
		const struct sockaddr_in6 *want = i == 0 ? &d1 : &d2;
		assert_memory_equal(&to.sin6_addr, &want->sin6_addr, 16);
		assert_int_equal(to.sin6_port, want->sin6_port);
	}
	/* A reply from anywhere, to the client's one mapping. */
	struct sockaddr_in6 other = sa6("2001:db8:99::5", 777), cli = sa6(A6, 5000);
	assert_int_equal(us_sendfromto(s.b, t, "r1", 2, 0, (struct sockaddr *)&other, sizeof(other),
				       (struct sockaddr *)&cli, sizeof(cli)), 2);
	sim_run(&s, MS(10));
	socklen_t fl = sizeof(from);
	assert_int_equal(us_recvfrom(s.a, u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 2);
	assert_memory_equal(&from.sin6_addr, &other.sin6_addr, 16);
	assert_int_equal(ntohs(from.sin6_port), 777);
	/* Without the option a foreign source is refused, as on Linux. */
	assert_int_equal(us_sendfromto(s.a, u, "x", 1, 0, (struct sockaddr *)&other, sizeof(other),
				       (struct sockaddr *)&d1, sizeof(d1)), -EADDRNOTAVAIL);
	/* A V6ONLY socket takes no IPv4: with a transparent IPv4 socket too,
	 * each family reaches its own. */
	int t4 = us_socket(s.b, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(setopt(s.b, t4, IPPROTO_IP, IP_TRANSPARENT, 1), 0);
	struct sockaddr_in any4 = sim_addr("0.0.0.0", 2), d4 = sim_addr("192.0.2.1", 53);
	assert_int_equal(us_bind(s.b, t4, (struct sockaddr *)&any4, sizeof(any4)), 0);
	int u4 = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(us_sendto(s.a, u4, "v4", 2, 0, (struct sockaddr *)&d4, sizeof(d4)), 2);
	assert_int_equal(us_sendto(s.a, u, "v6", 2, 0, (struct sockaddr *)&d1, sizeof(d1)), 2);
	sim_run(&s, MS(10));
	assert_int_equal(us_recv(s.b, t4, buf, sizeof(buf), 0), 2);
	assert_memory_equal(buf, "v4", 2);
	assert_int_equal(us_recv(s.b, t4, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(us_recv(s.b, t, buf, sizeof(buf), 0), 2);
	assert_memory_equal(buf, "v6", 2);
	/* The IPv6 socket closed, the IPv4 one left: non-local IPv6 is
	 * dropped again (no port unreachable), none reaches the IPv4 socket;
	 * IPv4 still reaches its own. */
	us_close(s.b, t);
	int64_t noports = stat_of(s.b, "Udp.NoPorts"), before = stat_of(s.b, "Ip6.InAddrErrors");
	us_sendto(s.a, u, "q3", 2, 0, (struct sockaddr *)&d1, sizeof(d1));
	assert_int_equal(us_sendto(s.a, u4, "v4", 2, 0, (struct sockaddr *)&d4, sizeof(d4)), 2);
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Ip6.InAddrErrors"), before + 1);
	assert_int_equal(stat_of(s.b, "Udp.NoPorts"), noports);
	assert_int_equal(us_recv(s.b, t4, buf, sizeof(buf), 0), 2);
	assert_int_equal(us_recv(s.b, t4, buf, sizeof(buf), 0), -EAGAIN);
	us_close(s.b, t4);
	us_close(s.a, u);
	us_close(s.a, u4);
	finish(&s);
}

/* A dual UDP socket (:: without IPV6_V6ONLY) with IPV6_TRANSPARENT takes
 * IPv4 too, as v4-mapped addresses. */
static void test_udp_dual(void **state)
{
	(void)state;
	struct sim s;
	init(&s);
	int t = us_socket(s.b, AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(setopt(s.b, t, IPPROTO_IPV6, IPV6_TRANSPARENT, 1), 0);
	struct sockaddr_in6 any = sa6("::", 1);
	assert_int_equal(us_bind(s.b, t, (struct sockaddr *)&any, sizeof(any)), 0);
	int u4 = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in d4 = sim_addr("192.0.2.1", 53);
	assert_int_equal(us_sendto(s.a, u4, "v4", 2, 0, (struct sockaddr *)&d4, sizeof(d4)), 2);
	sim_run(&s, MS(10));
	struct sockaddr_in6 from, to, want = sa6("::ffff:192.0.2.1", 53);
	socklen_t fl = sizeof(from), tl = sizeof(to);
	char buf[8];
	assert_int_equal(us_recvfromto(s.b, t, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl, (struct sockaddr *)&to,
				       &tl), 2);
	assert_memory_equal(&to.sin6_addr, &want.sin6_addr, 16);
	assert_int_equal(ntohs(to.sin6_port), 53);
	/* The answer, from the v4-mapped destination. */
	assert_int_equal(us_sendfromto(s.b, t, "ok", 2, 0, (struct sockaddr *)&to, tl, (struct sockaddr *)&from, fl), 2);
	sim_run(&s, MS(10));
	struct sockaddr_in f4;
	socklen_t f4l = sizeof(f4);
	assert_int_equal(us_recvfrom(s.a, u4, buf, sizeof(buf), 0, (struct sockaddr *)&f4, &f4l), 2);
	assert_int_equal(ntohl(f4.sin_addr.s_addr), sim_ip("192.0.2.1"));
	us_close(s.b, t);
	us_close(s.a, u4);
	finish(&s);
}

/* A dual TCP listener (:: without IPV6_V6ONLY) with IPV6_TRANSPARENT takes
 * IPv4 connections to other addresses too, named v4-mapped. */
static void test_tcp_dual(void **state)
{
	(void)state;
	struct sim s;
	init(&s);
	int l = us_socket(s.b, AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(setopt(s.b, l, IPPROTO_IPV6, IPV6_TRANSPARENT, 1), 0);
	struct sockaddr_in6 la = sa6("::", 1);
	assert_int_equal(us_bind(s.b, l, (struct sockaddr *)&la, sizeof(la)), 0);
	assert_int_equal(us_listen(s.b, l, 8), 0);
	int c = us_socket(s.a, AF_INET, SOCK_STREAM, 0), c6 = us_socket(s.a, AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in to = sim_addr("192.0.2.7", 443);
	struct sockaddr_in6 to6 = sa6("2001:db8:7::7", 443), me, want = sa6("::ffff:192.0.2.7", 443);
	assert_int_equal(us_connect(s.a, c, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, MS(50));
	socklen_t ml = sizeof(me);
	int a = us_accept(s.b, l, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(us_getsockname(s.b, a, (struct sockaddr *)&me, &ml), 0);
	assert_int_equal(ml, sizeof(me));
	assert_memory_equal(&me.sin6_addr, &want.sin6_addr, 16);
	assert_int_equal(ntohs(me.sin6_port), 443);
	assert_int_equal(sim_tcp_state(s.a, c), US_TCP_ESTABLISHED);
	/* And IPv6 ones on the same listener. */
	assert_int_equal(us_connect(s.a, c6, (struct sockaddr *)&to6, sizeof(to6)), -EINPROGRESS);
	sim_run(&s, MS(50));
	int a6 = us_accept(s.b, l, NULL, NULL);
	assert_true(a6 >= 0);
	ml = sizeof(me);
	assert_int_equal(us_getsockname(s.b, a6, (struct sockaddr *)&me, &ml), 0);
	assert_memory_equal(&me.sin6_addr, &to6.sin6_addr, 16);
	us_close(s.a, c);
	us_close(s.a, c6);
	us_close(s.b, a);
	us_close(s.b, a6);
	us_close(s.b, l);
	finish(&s);
}

static void test_icmp6_echo_any_destination(void **state)
{
	(void)state;
	struct sim s;
	init(&s);
	int t = us_socket(s.b, AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	assert_true(t >= 0);
	assert_int_equal(setopt(s.b, t, IPPROTO_IPV6, IPV6_TRANSPARENT, 1), 0);
	/* An IPv4 transparent ping socket too: it must see no ICMPv6. */
	int t4 = us_socket(s.b, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	assert_int_equal(setopt(s.b, t4, IPPROTO_IP, IP_TRANSPARENT, 1), 0);
	int pg = us_socket(s.a, AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	struct sockaddr_in6 d = sa6("2001:db8:7::7", 0), wa = sa6(A6, 0);
	uint8_t req[12] = {ICMP6_ECHO_REQUEST, 0, 0, 0, 0, 0, 0, 1, 'p', 'i', 'n', 'g'};
	assert_int_equal(us_sendto(s.a, pg, req, sizeof(req), 0, (struct sockaddr *)&d, sizeof(d)), 12);
	sim_run(&s, MS(10));
	uint8_t got[64];
	struct sockaddr_in6 from, to;
	socklen_t fl = sizeof(from), tl = sizeof(to);
	ssize_t n = us_recvfromto(s.b, t, got, sizeof(got), 0, (struct sockaddr *)&from, &fl, (struct sockaddr *)&to, &tl);
	assert_int_equal(n, 12);
	assert_int_equal(got[0], ICMP6_ECHO_REQUEST);
	assert_memory_equal(got + 8, "ping", 4);
	assert_memory_equal(&to.sin6_addr, &d.sin6_addr, 16);
	assert_memory_equal(&from.sin6_addr, &wa.sin6_addr, 16);
	assert_int_equal(us_recv(s.b, t4, got + 32, 32, 0), -EAGAIN);
	/* The app answers in the destination's name, with a hop limit of its
	 * choosing; the stack fills in the checksum over the pseudo-header. */
	got[0] = ICMP6_ECHO_REPLY;
	assert_int_equal(setopt(s.b, t, IPPROTO_IP, IP_TTL, 50), 0);
	int64_t reps = stat_of(s.b, "Icmp6.OutEchoReplies");
	assert_int_equal(us_sendfromto(s.b, t, got, 12, 0, (struct sockaddr *)&to, tl, (struct sockaddr *)&from, fl), 12);
	/* An ICMPv4 message or address on the IPv6 socket: refused. */
	struct sockaddr_in v4 = sim_addr("192.0.2.7", 0);
	assert_int_equal(us_sendfromto(s.b, t, got, 12, 0, (struct sockaddr *)&v4, sizeof(v4), (struct sockaddr *)&from, fl),
			 -EAFNOSUPPORT);
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Icmp6.OutEchoReplies"), reps + 1);
	assert_int_equal(stat_of(s.a, "Icmp6.InCsumErrors"), 0);
	fl = sizeof(from);
	n = us_recvfrom(s.a, pg, got, sizeof(got), 0, (struct sockaddr *)&from, &fl);
	assert_int_equal(n, 12);
	assert_int_equal(got[0], ICMP6_ECHO_REPLY);
	assert_memory_equal(got + 8, "ping", 4);
	assert_memory_equal(&from.sin6_addr, &d.sin6_addr, 16);
	/* No transparent ICMPv6 socket, but a transparent UDP one: the stack
	 * answers the echo itself, in the destination's name. */
	us_close(s.b, t);
	int u = us_socket(s.b, AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(setopt(s.b, u, IPPROTO_IPV6, IPV6_TRANSPARENT, 1), 0);
	reps = stat_of(s.b, "Icmp6.OutEchoReplies");
	assert_int_equal(us_sendto(s.a, pg, req, sizeof(req), 0, (struct sockaddr *)&d, sizeof(d)), 12);
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Icmp6.OutEchoReplies"), reps + 1);
	fl = sizeof(from);
	assert_int_equal(us_recvfrom(s.a, pg, got, sizeof(got), 0, (struct sockaddr *)&from, &fl), 12);
	assert_memory_equal(&from.sin6_addr, &d.sin6_addr, 16);
	assert_int_equal(us_recv(s.b, t4, got, sizeof(got), 0), -EAGAIN);
	us_close(s.b, u);
	us_close(s.b, t4);
	us_close(s.a, pg);
	finish(&s);
}

/* A raw IPv6 packet a -> b (Ethernet to b's MAC) with a TCP SYN or another
 * next header; the checksum over the pseudo-header. */
static void inject6(struct sim *s, const char *src, const char *dst, uint8_t nh, uint16_t dport)
{
	uint8_t pkt[IPV6_HDR_LEN + 20], frame[sizeof(pkt) + 14];
	memset(pkt, 0, sizeof(pkt));
	struct ipv6_repr ip;
	memset(&ip, 0, sizeof(ip));
	assert_int_equal(inet_pton(AF_INET6, src, ip.src.b), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, ip.dst.b), 1);
	ip.next_hdr = nh;
	ip.hop_limit = 64;
	ip.payload_len = 20;
	ipv6_emit(&ip, pkt);
	uint8_t *t = pkt + IPV6_HDR_LEN;
	wr_be16(t, 40000);
	wr_be16(t + 2, dport);
	wr_be32(t + 4, 12345);
	t[12] = 5 << 4;
	t[13] = 0x02;   /* SYN */
	wr_be16(t + 14, 65535);
	uint16_t ck = csum_fold(csum_partial(t, 20, csum_pseudo6(&ip.src, &ip.dst, nh, 20)));
	wr_be16(t + 16, ck);
	sim_inject(s, frame, sim_eth_frame(frame, pkt, sizeof(pkt), 0x86DD));
}

/* Bad input: a transparent listener takes a global or unique-local
 * destination only; each other kind is dropped (Ip6.InAddrErrors) without
 * an answer, and none reaches the listener. */
static void test_refused_destinations(void **state)
{
	(void)state;
	struct sim s;
	init(&s);
	int l = listener6(&s, IPPROTO_IPV6, IPV6_TRANSPARENT);
	int u = us_socket(s.b, AF_INET6, SOCK_DGRAM, 0);   /* a transparent UDP socket too */
	assert_int_equal(setopt(s.b, u, IPPROTO_IPV6, IPV6_TRANSPARENT, 1), 0);
	static const char *const bad[] = {
		"fe80::99",            /* link-local, not ours */
		"::",                  /* unspecified */
		"::1",                 /* loopback from the wire */
		"::7",                 /* ::/96: IPv4-compatible, deprecated */
		"::ffff:192.0.2.1",    /* v4-mapped on the wire */
		"ff0e::1234",          /* multicast we are not in */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t before = stat_of(s.b, "Ip6.InAddrErrors"), out = stat_of(s.b, "Ip6.OutRequests");
		inject6(&s, A6, bad[i], IP6_NH_TCP, 80);
		sim_run(&s, MS(10));
		if (stat_of(s.b, "Ip6.InAddrErrors") != before + 1)
			fail_msg("%s: Ip6.InAddrErrors %lld -> %lld", bad[i], (long long)before,
				 (long long)stat_of(s.b, "Ip6.InAddrErrors"));
		assert_int_equal(stat_of(s.b, "Ip6.OutRequests"), out);   /* no RST, no ICMPv6 */
		assert_int_equal(us_accept(s.b, l, NULL, NULL), -EAGAIN);
	}
	/* The all-nodes group b is in: delivered as multicast, never to the
	 * listener (TCP takes no multicast). */
	inject6(&s, A6, "ff02::1", IP6_NH_TCP, 80);
	sim_run(&s, MS(10));
	assert_int_equal(us_accept(s.b, l, NULL, NULL), -EAGAIN);
	/* Another protocol to a non-local address: dropped as not ours, no
	 * parameter problem in that address's name. */
	int64_t before = stat_of(s.b, "Ip6.InAddrErrors"), pp = stat_of(s.b, "Icmp6.OutParmProblems");
	inject6(&s, A6, "2001:db8:7::7", 132, 80);
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Ip6.InAddrErrors"), before + 1);
	assert_int_equal(stat_of(s.b, "Icmp6.OutParmProblems"), pp);
	/* An ICMPv6 message other than an echo request to a non-local
	 * address (here a neighbour solicitation's type): dropped. */
	uint8_t ns[IPV6_HDR_LEN + 24], frame[sizeof(ns) + 14];
	memset(ns, 0, sizeof(ns));
	struct ipv6_repr ip;
	memset(&ip, 0, sizeof(ip));
	inet_pton(AF_INET6, A6, ip.src.b);
	inet_pton(AF_INET6, "2001:db8:7::7", ip.dst.b);
	ip.next_hdr = IP6_NH_ICMPV6;
	ip.hop_limit = 255;
	ip.payload_len = 24;
	ipv6_emit(&ip, ns);
	struct icmp6_repr r = {.type = ICMP6_ND_NS, .payload = ns + IPV6_HDR_LEN + 8, .payload_len = 16};
	memcpy(ns + IPV6_HDR_LEN + 8, ip.dst.b, 16);
	icmp6_emit(&r, &ip.src, &ip.dst, ns + IPV6_HDR_LEN);
	before = stat_of(s.b, "Ip6.InAddrErrors");
	int64_t out = stat_of(s.b, "Ip6.OutRequests");
	sim_inject(&s, frame, sim_eth_frame(frame, ns, sizeof(ns), 0x86DD));
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Ip6.InAddrErrors"), before + 1);
	assert_int_equal(stat_of(s.b, "Ip6.OutRequests"), out);
	/* The positive control: the same SYN builder to a global address is
	 * taken. */
	before = stat_of(s.b, "Ip6.InAddrErrors");
	out = stat_of(s.b, "Ip6.OutRequests");
	inject6(&s, A6, "2001:db8:7::7", IP6_NH_TCP, 80);
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Ip6.InAddrErrors"), before);
	assert_true(stat_of(s.b, "Ip6.OutRequests") > out);   /* the SYN-ACK */
	us_close(s.b, u);
	us_close(s.b, l);
	finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_option),
		cmocka_unit_test(test_tcp_any_destination),
		cmocka_unit_test(test_udp_full_cone),
		cmocka_unit_test(test_udp_dual),
		cmocka_unit_test(test_tcp_dual),
		cmocka_unit_test(test_icmp6_echo_any_destination),
		cmocka_unit_test(test_refused_destinations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
