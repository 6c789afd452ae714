/* AF_INET6 sockets on the one TCP and UDP (struct us_addr): a dual-stack
 * listener or datagram socket on :: takes IPv4 as ::ffff:a.b.c.d unless
 * IPV6_V6ONLY, binds conflict as on Linux, and addresses come back as
 * sockaddr_in6. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/sim.h"

static struct sockaddr_in6 any6(uint16_t port)
{
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	return a;
}

static struct sockaddr_in6 mapped(const char *ip4, uint16_t port)
{
	struct sockaddr_in6 a = any6(port);
	char s[64];
	snprintf(s, sizeof(s), "::ffff:%s", ip4);
	inet_pton(AF_INET6, s, &a.sin6_addr);
	return a;
}

static int v6only(struct us_stack *st, int fd, int on)
{
	return us_setsockopt(st, fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
}

static int readable(void *arg)
{
	struct sim_pair *p = arg;
	return us_accept(p->s->b, p->lfd, NULL, NULL) != -EAGAIN;
}

/* An IPv4 client reaches a TCP listener on [::]:port of b. */
static void test_dual_listener_takes_ipv4(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int l = us_socket(s.b, AF_INET6, SOCK_STREAM, 0);
	assert_true(l >= 0);
	struct sockaddr_in6 a = any6(8080);
	assert_int_equal(us_bind(s.b, l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(us_listen(s.b, l, 8), 0);
	/* An IPv4 listener on the same port conflicts with the dual one. */
	int l4 = us_socket(s.b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a4 = sim_addr("0.0.0.0", 8080);
	assert_int_equal(us_bind(s.b, l4, (struct sockaddr *)&a4, sizeof(a4)), -EADDRINUSE);
	us_close(s.b, l4);
	int c = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = sim_addr(SIM_B, 8080);
	assert_int_equal(us_connect(s.a, c, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, MS(50));
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	int acc = us_accept(s.b, l, (struct sockaddr *)&from, &fl);
	assert_true(acc >= 0);
	assert_int_equal(fl, sizeof(struct sockaddr_in6));
	assert_int_equal(from.sin6_family, AF_INET6);
	struct sockaddr_in6 want = mapped(SIM_A, 0);
	assert_memory_equal(&from.sin6_addr, &want.sin6_addr, 16);
	/* Its own name: b's IPv4 address, v4-mapped. */
	struct sockaddr_in6 me;
	socklen_t ml = sizeof(me);
	assert_int_equal(us_getsockname(s.b, acc, (struct sockaddr *)&me, &ml), 0);
	want = mapped(SIM_B, 8080);
	assert_memory_equal(&me.sin6_addr, &want.sin6_addr, 16);
	assert_int_equal(ntohs(me.sin6_port), 8080);
	/* Data both ways. */
	assert_int_equal(us_send(s.a, c, "ping", 4, 0), 4);
	sim_run(&s, MS(10));
	char buf[8];
	assert_int_equal(us_recv(s.b, acc, buf, sizeof(buf), 0), 4);
	assert_int_equal(us_send(s.b, acc, "pong", 4, 0), 4);
	sim_run(&s, MS(10));
	assert_int_equal(us_recv(s.a, c, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "pong", 4);
	us_close(s.a, c);
	us_close(s.b, acc);
	us_close(s.b, l);
	sim_run(&s, SEC(120));
	sim_free(&s);
}

/* With IPV6_V6ONLY the same listener takes no IPv4: the SYN is refused,
 * and an IPv4 listener may share the port. */
static void test_v6only_listener(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int l = us_socket(s.b, AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(v6only(s.b, l, 1), 0);
	int on = -1;
	socklen_t ol = sizeof(on);
	assert_int_equal(us_getsockopt(s.b, l, IPPROTO_IPV6, IPV6_V6ONLY, &on, &ol), 0);
	assert_int_equal(on, 1);
	struct sockaddr_in6 a = any6(8081);
	assert_int_equal(us_bind(s.b, l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(v6only(s.b, l, 0), -EINVAL);   /* only before bind */
	assert_int_equal(us_listen(s.b, l, 8), 0);
	int c = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = sim_addr(SIM_B, 8081);
	assert_int_equal(us_connect(s.a, c, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, MS(50));
	char b;
	assert_int_equal(us_recv(s.a, c, &b, 1, 0), -ECONNREFUSED);
	us_close(s.a, c);
	/* The IPv4 wildcard on the same port now coexists. */
	int l4 = us_socket(s.b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a4 = sim_addr("0.0.0.0", 8081);
	assert_int_equal(us_bind(s.b, l4, (struct sockaddr *)&a4, sizeof(a4)), 0);
	assert_int_equal(us_listen(s.b, l4, 8), 0);
	struct sim_pair p = {.s = &s, .lfd = l4};
	c = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(us_connect(s.a, c, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	assert_true(sim_run_until(&s, SEC(2), readable, &p));
	us_close(s.a, c);
	/* A v4-mapped address cannot be bound to a V6ONLY socket. */
	int l2 = us_socket(s.b, AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(v6only(s.b, l2, 1), 0);
	struct sockaddr_in6 m = mapped(SIM_B, 8082);
	assert_int_equal(us_bind(s.b, l2, (struct sockaddr *)&m, sizeof(m)), -EINVAL);
	us_close(s.b, l2);
	us_close(s.b, l);
	us_close(s.b, l4);
	sim_run(&s, SEC(120));
	sim_free(&s);
}

/* A UDP socket on [::]:port receives an IPv4 datagram from a mapped
 * source and answers it through the same socket. */
static void test_dual_udp(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int u = us_socket(s.b, AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a = any6(5353);
	assert_int_equal(us_bind(s.b, u, (struct sockaddr *)&a, sizeof(a)), 0);
	int c = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sim_addr(SIM_B, 5353);
	assert_int_equal(us_sendto(s.a, c, "hi", 2, 0, (struct sockaddr *)&to, sizeof(to)), 2);
	sim_run(&s, MS(10));
	char buf[8];
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	assert_int_equal(us_recvfrom(s.b, u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 2);
	struct sockaddr_in6 want = mapped(SIM_A, 0);
	assert_memory_equal(&from.sin6_addr, &want.sin6_addr, 16);
	assert_int_equal(us_sendto(s.b, u, "yo", 2, 0, (struct sockaddr *)&from, fl), 2);
	sim_run(&s, MS(10));
	struct sockaddr_in f4;
	socklen_t f4l = sizeof(f4);
	assert_int_equal(us_recvfrom(s.a, c, buf, sizeof(buf), 0, (struct sockaddr *)&f4, &f4l), 2);
	assert_memory_equal(buf, "yo", 2);
	assert_int_equal(ntohl(f4.sin_addr.s_addr), sim_ip(SIM_B));
	assert_int_equal(ntohs(f4.sin_port), 5353);
	/* An AF_INET socket takes no sockaddr_in6 (Linux: EAFNOSUPPORT). */
	assert_int_equal(us_sendto(s.a, c, "x", 1, 0, (struct sockaddr *)&from, fl), -EAFNOSUPPORT);
	us_close(s.a, c);
	us_close(s.b, u);
	sim_run(&s, SEC(10));
	sim_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dual_listener_takes_ipv4),
		cmocka_unit_test(test_v6only_listener),
		cmocka_unit_test(test_dual_udp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
