/* Readiness callbacks that close other sockets. Two accepted connections
 * become readable in the same pass; whichever callback runs first closes
 * the other, which is then still waiting in the dispatch list. The closed
 * socket must be unlinked, never called, and never read after it is freed
 * (run under the SAN build, the old dispatch read freed memory here). */
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

struct peer {
	int fd;              /* -1 once closed */
	struct peer *other;
	int calls;
	int calls_after_close;
	int closed_other;
};

static void closer_cb(struct us_stack *st, int s, unsigned events, void *arg)
{
	struct peer *p = arg;
	(void)events;
	if (p->fd < 0 || p->fd != s) {
		p->calls_after_close++;
		return;
	}
	p->calls++;
	char buf[16];
	while (us_recv(st, s, buf, sizeof(buf), 0) > 0)
		;
	if (p->other->fd >= 0) {
		assert_int_equal(us_close(st, p->other->fd), 0);
		p->other->fd = -1;
		p->closed_other = 1;
		/* A new socket may take the freed descriptor: it must not be
		 * mistaken for the closed one still in the list. */
		int n = us_socket(st, AF_INET, SOCK_STREAM, 0);
		assert_true(n >= 0);
		assert_int_equal(us_close(st, n), 0);
	}
}

static void test_close_other_in_callback(void **state)
{
	(void)state;
	for (int order = 0; order < 2; order++) {
		struct sim s;
		struct sim_opts o = {.seed = 7 + (uint64_t)order};
		assert_int_equal(sim_init(&s, &o), 0);
		struct sim_pair p1, p2;
		assert_int_equal(sim_tcp_connect(&s, &p1, 5001), 0);
		assert_int_equal(sim_tcp_connect(&s, &p2, 5002), 0);
		struct peer a = {.fd = p1.afd}, b = {.fd = p2.afd};
		a.other = &b;
		b.other = &a;
		us_sock_set_callback(s.b, p1.afd, closer_cb, &a);
		us_sock_set_callback(s.b, p2.afd, closer_cb, &b);
		/* Both segments leave a together and reach b in one pass; the
		 * send order decides which socket is woken first. */
		int first = order ? p2.cfd : p1.cfd, second = order ? p1.cfd : p2.cfd;
		assert_int_equal(us_send(s.a, first, "x", 1, 0), 1);
		assert_int_equal(us_send(s.a, second, "y", 1, 0), 1);
		sim_run(&s, MS(50));
		/* Exactly one closed the other; the closed one never ran after. */
		assert_int_equal(a.closed_other + b.closed_other, 1);
		assert_int_equal(a.calls_after_close + b.calls_after_close, 0);
		struct peer *closed = a.fd < 0 ? &a : &b;
		assert_int_equal(closed->calls, 0);
		/* The survivor still works: the client's byte was read, and
		 * more data wakes it again. */
		struct peer *alive = a.fd >= 0 ? &a : &b;
		int alive_cfd = alive == &a ? p1.cfd : p2.cfd;
		int before = alive->calls;
		assert_int_equal(us_send(s.a, alive_cfd, "z", 1, 0), 1);
		sim_run(&s, MS(50));
		assert_true(alive->calls > before);
		us_close(s.a, p1.cfd);
		us_close(s.a, p2.cfd);
		us_close(s.b, alive->fd);
		us_close(s.b, p1.lfd);
		us_close(s.b, p2.lfd);
		sim_run(&s, SEC(300));
		assert_int_equal(us_stack_bufs_in_use(s.a), 0);
		assert_int_equal(us_stack_bufs_in_use(s.b), 0);
		sim_free(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_other_in_callback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
