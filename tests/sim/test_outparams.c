/* Output parameters of the socket API (issue 11): a call that returns
 * success has written every output it was given, and a call that cannot
 * write one (an address buffer without its length, a length too short)
 * fails before it consumes anything: the connection, the datagram, the
 * pending error are still there for a correct call. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "../lib/sim.h"

static int accept_ready(void *arg)
{
	struct sim_pair *p = arg;
	return sim_tcp_state(p->s->a, p->cfd) == US_TCP_ESTABLISHED;
}

static void test_accept_address_without_length(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	struct sim_pair p = {.s = &s, .afd = -1};
	p.lfd = us_socket(s.b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = sim_addr("0.0.0.0", 80);
	assert_int_equal(us_bind(s.b, p.lfd, (struct sockaddr *)&la, sizeof(la)), 0);
	assert_int_equal(us_listen(s.b, p.lfd, 4), 0);
	p.cfd = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = sim_addr(SIM_B, 80);
	assert_int_equal(us_connect(s.a, p.cfd, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	assert_true(sim_run_until(&s, SEC(5), accept_ready, &p));

	struct sockaddr_in from;
	memset(&from, 0xAA, sizeof(from));
	assert_int_equal(us_accept(s.b, p.lfd, (struct sockaddr *)&from, NULL), -EFAULT);
	/* The connection was not taken off the queue. */
	socklen_t fl = sizeof(from);
	p.afd = us_accept(s.b, p.lfd, (struct sockaddr *)&from, &fl);
	assert_true(p.afd >= 0);
	assert_int_equal(fl, sizeof(from));
	assert_int_equal(from.sin_family, AF_INET);
	assert_int_equal(ntohl(from.sin_addr.s_addr), sim_ip(SIM_A));

	/* getsockname/getpeername: no success without a place for the answer. */
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	assert_int_equal(us_getsockname(s.b, p.afd, (struct sockaddr *)&me, NULL), -EFAULT);
	assert_int_equal(us_getsockname(s.b, p.afd, NULL, &ml), -EFAULT);
	assert_int_equal(us_getpeername(s.b, p.afd, (struct sockaddr *)&me, NULL), -EFAULT);
	assert_int_equal(us_getpeername(s.b, p.afd, NULL, &ml), -EFAULT);
	assert_int_equal(us_getsockname(s.b, p.afd, (struct sockaddr *)&me, &ml), 0);
	assert_int_equal(ntohl(me.sin_addr.s_addr), sim_ip(SIM_B));
	assert_int_equal(ntohs(me.sin_port), 80);
	ml = sizeof(me);
	assert_int_equal(us_getpeername(s.b, p.afd, (struct sockaddr *)&me, &ml), 0);
	assert_int_equal(ntohl(me.sin_addr.s_addr), sim_ip(SIM_A));
	/* A length without a buffer: no address wanted (as Linux). */
	socklen_t dummy = 0;
	us_close(s.b, p.afd);
	sim_run(&s, MS(10));
	us_close(s.a, p.cfd);
	assert_int_equal(us_accept(s.b, p.lfd, NULL, &dummy), -EAGAIN);
	us_close(s.b, p.lfd);
	sim_run(&s, SEC(1));
	sim_free(&s);
}

static void test_recvfrom_address_without_length(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int rx = us_socket(s.b, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in la = sim_addr("0.0.0.0", 7000);
	assert_int_equal(us_bind(s.b, rx, (struct sockaddr *)&la, sizeof(la)), 0);
	int tx = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sim_addr(SIM_B, 7000);
	assert_int_equal(us_sendto(s.a, tx, "one", 3, 0, (struct sockaddr *)&to, sizeof(to)), 3);
	assert_int_equal(us_sendto(s.a, tx, "two", 3, 0, (struct sockaddr *)&to, sizeof(to)), 3);
	sim_run(&s, MS(50));

	char buf[16];
	struct sockaddr_in from, dst;
	socklen_t fl = sizeof(from), dl = sizeof(dst);
	assert_int_equal(us_recvfrom(s.b, rx, buf, sizeof(buf), 0, (struct sockaddr *)&from, NULL), -EFAULT);
	assert_int_equal(us_recvfromto(s.b, rx, buf, sizeof(buf), 0, (struct sockaddr *)&from, NULL,
				       (struct sockaddr *)&dst, &dl), -EFAULT);
	assert_int_equal(us_recvfromto(s.b, rx, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl,
				       (struct sockaddr *)&dst, NULL), -EFAULT);
	/* Neither datagram was consumed. */
	memset(&from, 0xAA, sizeof(from));
	assert_int_equal(us_recvfrom(s.b, rx, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 3);
	assert_memory_equal(buf, "one", 3);
	assert_int_equal(fl, sizeof(from));
	assert_int_equal(ntohl(from.sin_addr.s_addr), sim_ip(SIM_A));
	fl = sizeof(from);
	memset(&from, 0xAA, sizeof(from));
	memset(&dst, 0xAA, sizeof(dst));
	assert_int_equal(us_recvfromto(s.b, rx, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl,
				       (struct sockaddr *)&dst, &dl), 3);
	assert_memory_equal(buf, "two", 3);
	assert_int_equal(ntohl(from.sin_addr.s_addr), sim_ip(SIM_A));
	assert_int_equal(ntohl(dst.sin_addr.s_addr), sim_ip(SIM_B));
	assert_int_equal(ntohs(dst.sin_port), 7000);
	us_close(s.a, tx);
	us_close(s.b, rx);
	sim_free(&s);
}

/* SO_ERROR is read once: a call that could not return it (no room for an
 * int) leaves it pending. */
static void test_so_error_kept_on_short_length(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int fd = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = sim_addr(SIM_B, 81);   /* nobody listens */
	assert_int_equal(us_connect(s.a, fd, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, MS(100));
	int err = -1;
	socklen_t el = 2;
	assert_int_equal(us_getsockopt(s.a, fd, SOL_SOCKET, SO_ERROR, &err, &el), -EINVAL);
	assert_int_equal(us_getsockopt(s.a, fd, SOL_SOCKET, SO_ERROR, &err, NULL), -EINVAL);
	el = sizeof(err);
	assert_int_equal(us_getsockopt(s.a, fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
	assert_int_equal(err, ECONNREFUSED);
	assert_int_equal(us_getsockopt(s.a, fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
	assert_int_equal(err, 0);   /* read once */
	us_close(s.a, fd);
	sim_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_address_without_length),
		cmocka_unit_test(test_recvfrom_address_without_length),
		cmocka_unit_test(test_so_error_kept_on_short_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
