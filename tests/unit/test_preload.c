/* The LD_PRELOAD shim's own bookkeeping, without the wrappers: its fd table
 * (references across dup, close, fork and a child that dies without
 * telling) and its readiness merging (poll and epoll over a ustack socket
 * and a kernel pipe, level- and edge-triggered, one-shot, and a waiter
 * woken by the stack's callback). The world's stack is side a of the
 * simulation harness; b is its peer. The shim's calls run here directly. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../preload/shim.h"
#include "../lib/sim.h"

static struct sim S;

static int setup(void **state)
{
	(void)state;
	ps_real_init();
	if (ps_arena_init(1ull << 30) < 0)
		return -1;
	struct sim_opts o;
	memset(&o, 0, sizeof(o));
	o.seed = 7;
	if (sim_init(&S, &o) < 0)
		return -1;
	struct ps_conf c;
	memset(&c, 0, sizeof(c));
	c.linger_ms = 100;
	return ps_world_init(S.a, S.ifa, &c, 0);   /* no driver thread: the test drives */
}

static int teardown(void **state)
{
	(void)state;
	ps_lock();
	ps_unlock();
	W = NULL;
	ps_me = NULL;
	sim_free(&S);
	return 0;
}

static void pump(uint64_t ns)
{
	ps_lock();
	sim_run(&S, ns);
	ps_unlock();
}

static struct ps_sock *sock_of(int fd)
{
	struct ps_obj *o = ps_fd_peek(fd);
	return o && o->kind == PS_SOCK ? (struct ps_sock *)o : NULL;
}

static int alive(int sid)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	return us_getsockname(S.a, sid, (struct sockaddr *)&a, &l) == 0;
}

static void test_fd_refs(void **state)
{
	(void)state;
	int fd = ps_socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	struct ps_sock *sk = sock_of(fd);
	assert_non_null(sk);
	assert_int_equal(sk->o.refs, 1);
	int sid = sk->sid;
	/* a dup: a second entry, the same object */
	int fd2 = R.dup(fd);
	ps_lock();
	assert_int_equal(ps_fd_set(fd2, &sk->o, 0), 0);
	assert_int_equal(sk->o.refs, 2);
	ps_fd_clear(fd);
	ps_unlock();
	assert_null(ps_fd_peek(fd));
	assert_true(alive(sid));   /* fd2 holds it */
	ps_lock();
	ps_fd_clear(fd2);
	ps_unlock();
	assert_false(alive(sid));  /* the last reference closed the ustack socket */
	R.close(fd);
	R.close(fd2);
	/* AF_INET6 sockets are ustack's too; other families stay the kernel's */
	int fd6 = ps_socket(AF_INET6, SOCK_STREAM, 0);
	assert_true(fd6 >= 0);
	struct ps_sock *sk6 = (struct ps_sock *)ps_fd_peek(fd6);
	assert_non_null(sk6);
	assert_int_equal(sk6->domain, AF_INET6);
	int v = -1;
	socklen_t vl = sizeof(v);
	assert_int_equal(ps_getsockopt(sk6, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl), 0);
	assert_int_equal(v, 0);
	ps_lock();
	ps_fd_clear(fd6);
	ps_unlock();
	R.close(fd6);
	assert_int_equal(ps_socket(AF_UNIX, SOCK_STREAM, 0), -EAFNOSUPPORT);
	assert_int_equal(ps_socket(AF_INET, SOCK_SEQPACKET, 0), -ESOCKTNOSUPPORT);
	assert_int_equal(ps_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), -EPERM);
}

static void test_fork_refs(void **state)
{
	(void)state;
	int fd = ps_socket(AF_INET, SOCK_STREAM, 0);
	struct ps_sock *sk = sock_of(fd);
	int sid = sk->sid;
	/* as pthread_atfork runs them */
	ps_fork_prepare();
	pid_t pid = fork();
	if (pid == 0) {
		ps_fork_child();
		R.exit_(0);   /* dies without telling the shim (as _exit inside libc) */
	}
	ps_fork_parent();
	assert_true(pid > 0);
	assert_int_equal(sk->o.refs, 2);   /* the child's table holds one */
	int st;
	waitpid(pid, &st, 0);
	ps_lock();
	ps_fd_clear(fd);
	ps_unlock();
	R.close(fd);
	assert_true(alive(sid));           /* the dead child's entry still counts... */
	ps_lock();
	ps_reap_dead();                    /* ...until the driver's reaper finds it gone */
	ps_unlock();
	assert_false(alive(sid));
}

/* a datagram from b to the world's socket on port */
static void send_from_b(uint16_t port, const char *msg)
{
	int u = us_socket(S.b, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sim_addr(SIM_A, port);
	assert_true(us_sendto(S.b, u, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof(to)) > 0);
	us_close(S.b, u);
	pump(MS(5));
}

static int udp_bound(uint16_t port)
{
	int fd = ps_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = sim_addr(SIM_A, port);
	assert_int_equal(ps_bind(sock_of(fd), (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void drain(int fd)
{
	char b[64];
	while (ps_recv(sock_of(fd), b, sizeof(b), MSG_DONTWAIT, NULL, NULL) > 0)
		;
}

static void test_poll_merge(void **state)
{
	(void)state;
	int u = udp_bound(9001), p[2];
	assert_int_equal(pipe(p), 0);
	struct pollfd f[2] = {{u, POLLIN, 0}, {p[0], POLLIN, 0}};
	assert_int_equal(ps_poll(f, 2, ps_now(), NULL), 0);   /* deadline now: no wait */
	send_from_b(9001, "a");
	assert_int_equal(ps_poll(f, 2, ps_now(), NULL), 1);
	assert_int_equal(f[0].revents, POLLIN);
	assert_int_equal(f[1].revents, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(ps_poll(f, 2, ps_now() + MS(100), NULL), 2);
	assert_int_equal(f[1].revents, POLLIN);
	drain(u);
	f[0].events = POLLOUT;   /* UDP is always writable */
	assert_int_equal(ps_poll(f, 1, -1, NULL), 1);
	assert_int_equal(f[0].revents, POLLOUT);
	ps_lock();
	ps_fd_clear(u);
	ps_unlock();
	R.close(u);
	close(p[0]);
	close(p[1]);
}

static void test_epoll_merge(void **state)
{
	(void)state;
	int u = udp_bound(9002), p[2];
	assert_int_equal(pipe(p), 0);
	int efd = ps_epoll_create(0);
	assert_true(efd >= 0);
	struct ps_epoll *ep = (struct ps_epoll *)ps_fd_peek(efd);
	assert_non_null(ep);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 11};
	assert_int_equal(ps_epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev), 0);
	assert_int_equal(ps_epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev), -EEXIST);
	ev.data.u64 = 22;
	assert_int_equal(ps_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);   /* a kernel fd: the kernel's */
	struct epoll_event got[8];
	assert_int_equal(ps_epoll_wait(ep, got, 8, ps_now() + MS(20), NULL), 0);
	send_from_b(9002, "a");
	assert_true(ep->bell_armed);   /* the callback rang the bell */
	assert_int_equal(write(p[1], "x", 1), 1);
	int n = ps_epoll_wait(ep, got, 8, ps_now() + MS(500), NULL);
	assert_int_equal(n, 2);
	assert_int_equal(got[0].data.u64 + got[1].data.u64, 33);
	/* level-triggered: again while ready */
	assert_int_equal(ps_epoll_wait(ep, got, 8, ps_now(), NULL), 2);
	/* maxevents 1: one at a time, both in turn */
	assert_int_equal(ps_epoll_wait(ep, got, 1, ps_now(), NULL), 1);
	/* edge-triggered: once, then not until new data */
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 11;
	assert_int_equal(ps_epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev), 0);
	assert_int_equal(ps_epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0);
	assert_int_equal(ps_epoll_wait(ep, got, 8, ps_now(), NULL), 1);
	assert_int_equal(ps_epoll_wait(ep, got, 8, ps_now() + MS(10), NULL), 0);
	send_from_b(9002, "b");
	assert_int_equal(ps_epoll_wait(ep, got, 8, ps_now(), NULL), 1);
	assert_int_equal(got[0].events, EPOLLIN);
	/* one-shot: disarmed after one report, rearmed by MOD */
	ev.events = EPOLLIN | EPOLLONESHOT;
	assert_int_equal(ps_epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev), 0);
	assert_int_equal(ps_epoll_wait(ep, got, 8, ps_now(), NULL), 1);
	assert_int_equal(ps_epoll_wait(ep, got, 8, ps_now() + MS(10), NULL), 0);
	assert_int_equal(ps_epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev), 0);
	assert_int_equal(ps_epoll_wait(ep, got, 8, ps_now(), NULL), 1);
	/* a socket's last close takes its registration with it */
	struct ps_sock *sk = sock_of(u);
	ps_lock();
	ps_fd_clear(u);
	ps_unlock();
	(void)sk;
	assert_null(ep->regs);
	assert_int_equal(ps_epoll_wait(ep, got, 8, ps_now() + MS(10), NULL), 0);
	R.close(u);
	ps_lock();
	ps_fd_clear(efd);
	ps_unlock();
	R.close(efd);
	close(p[0]);
	close(p[1]);
}

static void *later(void *arg)
{
	(void)arg;
	usleep(100000);
	send_from_b(9003, "late");
	return NULL;
}

static void test_waiter_woken(void **state)
{
	(void)state;
	int u = udp_bound(9003);
	struct pollfd f = {u, POLLIN, 0};
	pthread_t t;
	pthread_create(&t, NULL, later, NULL);
	int64_t t0 = ps_now();
	int n = ps_poll(&f, 1, ps_now() + 5000 * PS_NS_PER_MS, NULL);
	int64_t dt = ps_now() - t0;
	pthread_join(t, NULL);
	assert_int_equal(n, 1);
	assert_true(dt < 4000 * PS_NS_PER_MS);   /* woken by the callback, not the deadline */
	assert_null(sock_of(u)->waiters);        /* the waiter unlinked itself */
	char b[16];
	assert_int_equal(ps_recv(sock_of(u), b, sizeof(b), 0, NULL, NULL), 4);
	ps_lock();
	ps_fd_clear(u);
	ps_unlock();
	R.close(u);
}

static void test_arena(void **state)
{
	(void)state;
	/* freed blocks come back, small and large, and keep their class */
	void *a = us_shm_malloc(24), *b = us_shm_malloc(300000);
	assert_non_null(a);
	assert_non_null(b);
	memset(a, 1, 24);
	memset(b, 2, 300000);
	us_shm_free(a);
	us_shm_free(b);
	void *c = us_shm_malloc(20), *d = us_shm_malloc(299000);
	assert_ptr_equal(c, a);
	assert_ptr_equal(d, b);
	void *e = us_shm_realloc(c, 16);
	assert_ptr_equal(e, c);
	void *f = us_shm_realloc(e, 5000);
	assert_non_null(f);
	us_shm_free(f);
	us_shm_free(d);
	void *z = us_shm_calloc(100, 10);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(((char *)z)[i], 0);
	us_shm_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fd_refs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_refs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_epoll_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiter_woken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arena, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
