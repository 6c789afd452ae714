/* The world: lock, process records and fd tables, objects, wake objects,
 * the driver thread, fork and exit. See shim.h for the design. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

/* us_stack_free with the leak check `serve` prints (src/stack.h) */
uint32_t us_stack_free_leaks(struct us_stack *st);

struct ps_world *W;
struct ps_proc *ps_me;

static __thread int tl_in_lock;
static volatile int ps_gen = 1;            /* bumped in every fork child */

int64_t ps_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

void ps_lock(void)
{
	int r = pthread_mutex_lock(&W->lock);
	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&W->lock);   /* a process died holding it */
	tl_in_lock++;
	W->n_lock++;
}

static void run_pending_term(void);
static volatile sig_atomic_t pending_term;

void ps_unlock(void)
{
	tl_in_lock--;
	pthread_mutex_unlock(&W->lock);
	if (pending_term && !tl_in_lock)
		run_pending_term();
}

/* ---- internal fds ---------------------------------------------------------- */

#define INTERNAL_MAX (1 << 20)
static uint8_t internal_bits[INTERNAL_MAX / 8];
/* fds owned by a thread (wake objects, the driver's epoll): closed in a
 * fork child, where those threads do not exist */
#define THREAD_FDS 256
static int thread_fds[THREAD_FDS];
static int n_thread_fds;
static pthread_mutex_t thread_fds_mx = PTHREAD_MUTEX_INITIALIZER;

void ps_internal_fd(int fd, int on)
{
	if (fd < 0 || fd >= INTERNAL_MAX)
		return;
	if (on)
		__atomic_or_fetch(&internal_bits[fd / 8], (uint8_t)(1u << (fd % 8)), __ATOMIC_RELAXED);
	else
		__atomic_and_fetch(&internal_bits[fd / 8], (uint8_t) ~(1u << (fd % 8)), __ATOMIC_RELAXED);
}

int ps_is_internal_fd(int fd)
{
	return fd >= 0 && fd < INTERNAL_MAX && (internal_bits[fd / 8] >> (fd % 8)) & 1;
}

static void thread_fd_add(int fd)
{
	ps_internal_fd(fd, 1);
	pthread_mutex_lock(&thread_fds_mx);
	if (n_thread_fds < THREAD_FDS)
		thread_fds[n_thread_fds++] = fd;
	pthread_mutex_unlock(&thread_fds_mx);
}

static void thread_fd_close(int fd)
{
	pthread_mutex_lock(&thread_fds_mx);
	for (int i = 0; i < n_thread_fds; i++)
		if (thread_fds[i] == fd) {
			thread_fds[i] = thread_fds[--n_thread_fds];
			break;
		}
	pthread_mutex_unlock(&thread_fds_mx);
	ps_internal_fd(fd, 0);
	R.close(fd);
}

/* ---- fd tables ------------------------------------------------------------ */

struct ps_fd *ps_fd_slot(struct ps_proc *p, int fd, int create)
{
	if (!p || fd < 0 || fd >= PS_FD_CHUNK * PS_FD_CHUNKS)
		return NULL;
	struct ps_fd *c = __atomic_load_n(&p->chunks[fd / PS_FD_CHUNK], __ATOMIC_ACQUIRE);
	if (!c) {
		if (!create)
			return NULL;
		c = us_shm_calloc(PS_FD_CHUNK, sizeof(*c));
		if (!c)
			return NULL;
		__atomic_store_n(&p->chunks[fd / PS_FD_CHUNK], c, __ATOMIC_RELEASE);
	}
	return &c[fd % PS_FD_CHUNK];
}

struct ps_obj *ps_fd_peek(int fd)
{
	struct ps_fd *s = ps_fd_slot(ps_me, fd, 0);
	return s ? __atomic_load_n(&s->obj, __ATOMIC_ACQUIRE) : NULL;
}

int ps_fd_set(int fd, struct ps_obj *o, int cloexec)
{
	struct ps_fd *s = ps_fd_slot(ps_me, fd, 1);
	if (!s)
		return -EMFILE;
	struct ps_obj *old = s->obj;
	o->refs++;
	s->cloexec = (uint8_t)(cloexec != 0);
	__atomic_store_n(&s->obj, o, __ATOMIC_RELEASE);
	if (old)
		ps_obj_unref(old);
	return 0;
}

static int proc_refs_obj(struct ps_proc *p, struct ps_obj *o)
{
	for (int c = 0; c < PS_FD_CHUNKS; c++) {
		struct ps_fd *ch = p->chunks[c];
		if (!ch)
			continue;
		for (int i = 0; i < PS_FD_CHUNK; i++)
			if (ch[i].obj == o)
				return 1;
	}
	return 0;
}

void ps_fd_clear(int fd)
{
	struct ps_fd *s = ps_fd_slot(ps_me, fd, 0);
	if (!s || !s->obj)
		return;
	struct ps_obj *o = s->obj;
	__atomic_store_n(&s->obj, NULL, __ATOMIC_RELEASE);
	if (o->kind == PS_EPOLL && !proc_refs_obj(ps_me, o)) {
		/* this process's copy of the bell goes with its last fd */
		struct ps_epoll *ep = (struct ps_epoll *)o;
		if (ep->o.refs > 1) {
			ps_internal_fd(ep->bell_fd, 0);
			R.close(ep->bell_fd);
		}
	}
	ps_obj_unref(o);
}

static void sock_destroy(struct ps_sock *sk)
{
	ps_epoll_sock_gone(sk);
	us_close(W->st, sk->sid);
	ps_after_call();
	us_shm_free(sk);
}

void ps_obj_unref(struct ps_obj *o)
{
	if (--o->refs > 0)
		return;
	if (o->kind == PS_SOCK)
		sock_destroy((struct ps_sock *)o);
	else
		ps_epoll_destroy((struct ps_epoll *)o);
}

/* Drops every entry of p's table (its process left), frees the table. */
static void proc_drop(struct ps_proc *p)
{
	for (int c = 0; c < PS_FD_CHUNKS; c++) {
		struct ps_fd *ch = p->chunks[c];
		if (!ch)
			continue;
		for (int i = 0; i < PS_FD_CHUNK; i++) {
			struct ps_obj *o = ch[i].obj;
			if (!o)
				continue;
			ch[i].obj = NULL;
			ps_obj_unref(o);
		}
		p->chunks[c] = NULL;
		us_shm_free(ch);
	}
	p->state = PROC_FREE;
	p->pid = 0;
}

static struct ps_proc *proc_new(int state)
{
	struct ps_proc *p;
	for (p = W->procs; p; p = p->next)
		if (p->state == PROC_FREE)
			break;
	if (!p) {
		p = us_shm_calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->next = W->procs;
		W->procs = p;
	}
	memset(p->chunks, 0, sizeof(p->chunks));
	p->state = state;
	p->pid = 0;
	p->born_ns = (uint64_t)ps_now();
	return p;
}

/* ---- wake objects ----------------------------------------------------------- */

static socklen_t wake_name(int wid, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "%s-%d", W->runid, wid);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

int ps_wake_new(int *fdp)
{
	*fdp = -1;   /* written on every path: callers read it */
	int wid = __atomic_fetch_add(&W->next_wid, 1, __ATOMIC_RELAXED);
	int fd = R.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_un a;
	socklen_t al = wake_name(wid, &a);
	if (R.bind(fd, (struct sockaddr *)&a, al) < 0) {
		int e = errno;
		R.close(fd);
		return -e;
	}
	*fdp = fd;
	return wid;
}

static int send_fd = -1, send_gen;

void ps_wake_send(int wid)
{
	if (wid < 0)
		return;
	if (send_gen != ps_gen || send_fd < 0) {
		if (send_fd >= 0 && send_gen == ps_gen)
			R.close(send_fd);
		send_fd = R.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		send_gen = ps_gen;
		ps_internal_fd(send_fd, 1);
	}
	struct sockaddr_un a;
	socklen_t al = wake_name(wid, &a);
	char c = 1;
	W->n_wakes++;
	/* A full queue means a wake is already waiting; a missing name, that its
	 * owner is gone: nothing to do either way. */
	(void)R.sendto(send_fd, &c, 1, MSG_DONTWAIT, (struct sockaddr *)&a, al);
}

void ps_wake_drain(int fd)
{
	char buf[64];
	while (R.recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL) > 0)
		;
}

static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;
static __thread struct {
	int gen, wid, fd;
} tl_wake;

static void tl_wake_free(void *arg)
{
	(void)arg;
	if (tl_wake.gen == ps_gen && tl_wake.fd >= 0)
		thread_fd_close(tl_wake.fd);
	tl_wake.gen = 0;
}

static void tl_key_init(void) { pthread_key_create(&tl_key, tl_wake_free); }

int ps_thread_wake(int *fd)
{
	if (tl_wake.gen != ps_gen) {
		pthread_once(&tl_once, tl_key_init);
		int f, wid = ps_wake_new(&f);
		if (wid < 0)
			return wid;
		thread_fd_add(f);
		tl_wake.gen = ps_gen;
		tl_wake.wid = wid;
		tl_wake.fd = f;
		pthread_setspecific(tl_key, (void *)1);
	}
	*fd = tl_wake.fd;
	return tl_wake.wid;
}

/* ---- sockets: callback, waiters ---------------------------------------------- */

unsigned ps_sock_events(struct ps_sock *sk)
{
	struct us_pollfd p = {sk->sid, (short)(US_POLLIN | US_POLLOUT | US_POLLRDHUP), 0};
	us_poll(W->st, &p, 1);
	return (unsigned short)p.revents;
}

static void sock_changed(struct ps_sock *sk, unsigned ev)
{
	sk->events_seen = ev;
	ps_epoll_sock_changed(sk, ev);
	for (struct ps_waiter *w = sk->waiters; w; w = w->next)
		if ((ev & (w->events | US_POLLERR | US_POLLHUP)) && !w->ctx->fired) {
			w->ctx->fired = 1;
			ps_wake_send(w->ctx->wid);
		}
}

void ps_sock_cb(struct us_stack *st, int s, unsigned events, void *arg)
{
	(void)st;
	(void)s;
	sock_changed(arg, events);
}

void ps_sock_notify(struct ps_sock *sk) { sock_changed(sk, ps_sock_events(sk)); }

struct ps_sock *ps_sock_new(int sid, int domain, int type, int proto)
{
	struct ps_sock *sk = us_shm_calloc(1, sizeof(*sk));
	if (!sk)
		return NULL;
	sk->o.kind = PS_SOCK;
	sk->sid = sid;
	sk->domain = domain;
	sk->type = type;
	sk->proto = proto;
	sk->rcvlowat = 1;
	sk->mtu_disc = 1;   /* IP_PMTUDISC_WANT, Linux's default */
	sk->mtu_disc6 = 1;  /* IPV6_PMTUDISC_WANT likewise */
	us_sock_set_callback(W->st, sid, ps_sock_cb, sk);
	return sk;
}

int ps_block(struct ps_sock **sks, const unsigned *evs, int n, struct pollfd *kfds, int nk, int64_t deadline,
	     const sigset_t *mask)
{
	int wfd, wid = ps_thread_wake(&wfd);
	if (wid < 0)
		return wid;
	struct ps_waiter *ws;
	/* waiters are read by the driver, maybe in another process: they must
	 * live in the arena */
	struct ps_wctx *c = us_shm_malloc(sizeof(*c));
	ws = n ? us_shm_calloc((size_t)n, sizeof(*ws)) : NULL;
	if (!c || (n && !ws)) {
		us_shm_free(c);
		us_shm_free(ws);
		return -ENOMEM;
	}
	c->wid = wid;
	c->fired = 0;
	for (int i = 0; i < n; i++) {
		ws[i].sk = sks[i];
		ws[i].events = evs[i];
		ws[i].ctx = c;
		ws[i].next = sks[i]->waiters;
		sks[i]->waiters = &ws[i];
	}
	struct pollfd local[65];
	struct pollfd *pf = nk + 1 <= 65 ? local : malloc(sizeof(*pf) * (size_t)(nk + 1));
	int rc;
	if (!pf) {
		rc = -ENOMEM;
		goto out;
	}
	if (nk)
		memcpy(pf, kfds, sizeof(*pf) * (size_t)nk);
	pf[nk] = (struct pollfd){wfd, POLLIN, 0};
	ps_unlock();
	struct timespec ts, *tp = NULL;
	if (deadline >= 0) {
		int64_t left = deadline - ps_now();
		if (left < 0)
			left = 0;
		ts.tv_sec = left / 1000000000ll;
		ts.tv_nsec = left % 1000000000ll;
		tp = &ts;
	}
	int r = R.ppoll(pf, (nfds_t)(nk + 1), tp, mask);
	int e = errno;
	ps_lock();
	if (r < 0 && e == EINTR)
		rc = -EINTR;
	else if (r < 0)
		rc = -e;
	else
		rc = r > 0 ? 1 : 0;
	if (nk)
		memcpy(kfds, pf, sizeof(*pf) * (size_t)nk);
	if (pf[nk].revents)
		ps_wake_drain(wfd);
	if (pf != local)
		free(pf);
out:
	for (int i = 0; i < n; i++)
		for (struct ps_waiter **pp = &sks[i]->waiters; *pp; pp = &(*pp)->next)
			if (*pp == &ws[i]) {
				*pp = ws[i].next;
				break;
			}
	if (c->fired && rc == 0)
		rc = 1;
	us_shm_free(ws);
	us_shm_free(c);
	return rc;
}

/* ---- the driver -------------------------------------------------------------- */

static pthread_t drv_thread;
static int drv_started_gen;
static volatile int drv_stop;

void ps_kick_driver(void)
{
	if (W->driver_wid >= 0 && !W->driver_kicked) {
		W->driver_kicked = 1;
		W->n_wakes_driver++;
		ps_wake_send(W->driver_wid);
	}
}

void ps_after_call(void)
{
	if (us_stack_has_pending(W->st)) {
		ps_kick_driver();
		return;
	}
	int64_t dl = us_stack_next_deadline(W->st);
	if (dl >= 0 && dl < W->driver_wake_at)
		ps_kick_driver();
}

static int proc_dead(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	ssize_t n = R.read(fd, buf, sizeof(buf) - 1);
	R.close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* Processes that died without telling us (killed, _exit inside libc) lose
 * their references here. */
void ps_reap_dead(void)
{
	uint64_t now = (uint64_t)ps_now();
	for (struct ps_proc *p = W->procs; p; p = p->next) {
		if (p == ps_me || p->state == PROC_FREE)
			continue;
		if (p->state == PROC_PENDING && p->pid == 0) {
			if (now - p->born_ns > 10ull * 1000000000ull)
				proc_drop(p);   /* a fork that failed */
			continue;
		}
		if (p->pid && proc_dead(p->pid)) {
			if (W->conf.verbose)
				fprintf(stderr, "ustack run: process %d is gone: dropping its sockets\n", (int)p->pid);
			proc_drop(p);
		}
	}
}

static void *driver_main(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	int wfd, wid = ps_wake_new(&wfd);
	if (wid < 0)
		return NULL;
	thread_fd_add(wfd);
	int r = pthread_mutex_lock(&W->driver_mx);
	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&W->driver_mx);
	else if (r)
		return NULL;
	int ep = R.epoll_create1(EPOLL_CLOEXEC);
	thread_fd_add(ep);
	int devs[8];
	int nd = us_stack_fds(W->st, devs, 8);
	for (int i = 0; i < nd && i < 8; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
		R.epoll_ctl(ep, EPOLL_CTL_ADD, devs[i], &ev);
	}
	struct epoll_event wev = {.events = EPOLLIN, .data.u64 = 2};
	R.epoll_ctl(ep, EPOLL_CTL_ADD, wfd, &wev);
	ps_lock();
	W->driver_wid = wid;
	W->driver_pid = getpid();
	W->driver_kicked = 0;
	int input = 1;
	int64_t last_reap = 0, last_input = 0;
	int64_t busy = (int64_t)W->conf.busy_poll_us * 1000;
	for (;;) {
		if (drv_stop || W->shutting_down)
			break;
		int64_t now = ps_now();
		W->driver_kicked = 0;
		if (input || us_stack_has_pending(W->st))
			if (us_stack_input(W->st, (uint64_t)now) > 0)
				last_input = now;
		int64_t dl = us_stack_next_deadline(W->st);
		if (dl >= 0 && dl <= now) {
			us_stack_timers(W->st, (uint64_t)now);
			dl = us_stack_next_deadline(W->st);
		}
		if (now - last_reap > 1000 * PS_NS_PER_MS) {
			ps_reap_dead();
			last_reap = now;
		}
		int64_t wait = dl < 0 ? 1000 * PS_NS_PER_MS : (dl > now ? dl - now : 0);
		if (wait > 1000 * PS_NS_PER_MS)
			wait = 1000 * PS_NS_PER_MS;   /* the reaper's beat */
		if (us_stack_has_pending(W->st) || (busy && now - last_input < busy))
			wait = 0;
		W->driver_wake_at = dl < 0 ? INT64_MAX : dl;
		ps_unlock();
		struct epoll_event evs[8];
		struct timespec ts = {wait / 1000000000ll, wait % 1000000000ll};
		int n = R.epoll_pwait2 ? R.epoll_pwait2(ep, evs, 8, &ts, NULL)
				       : R.epoll_pwait(ep, evs, 8, (int)((wait + 999999) / 1000000), NULL);
		input = 0;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == 1)
				input = 1;
			else
				ps_wake_drain(wfd);
		}
		ps_lock();
	}
	W->driver_wid = -1;
	W->driver_pid = 0;
	ps_unlock();
	thread_fd_close(ep);
	thread_fd_close(wfd);
	pthread_mutex_unlock(&W->driver_mx);
	return NULL;
}

void ps_proc_ready(void)
{
	if (!W || drv_started_gen == ps_gen || W->shutting_down)
		return;
	drv_started_gen = ps_gen;
	drv_stop = 0;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 * 1024);
	if (pthread_create(&drv_thread, &a, driver_main, NULL) != 0) {
		drv_started_gen = 0;
		fprintf(stderr, "ustack run: cannot start the stack thread\n");
	}
	pthread_attr_destroy(&a);
}

static void driver_stop_join(void)
{
	if (drv_started_gen != ps_gen)
		return;
	drv_stop = 1;
	ps_lock();
	int mine = W->driver_pid == getpid();
	if (mine)
		ps_kick_driver();
	ps_unlock();
	if (mine) {
		pthread_join(drv_thread, NULL);
	} else {
		/* blocked on the driver mutex: it dies with the process */
		pthread_detach(drv_thread);
	}
	drv_started_gen = 0;
}

/* ---- world ------------------------------------------------------------------- */

int ps_world_init(struct us_stack *st, int ifindex, const struct ps_conf *conf, int driver)
{
	struct ps_world *w = us_shm_calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->magic = PS_MAGIC;
	if (ps_lock_init(&w->lock) < 0 || ps_lock_init(&w->driver_mx) < 0)
		return -EINVAL;
	w->st = st;
	w->ifindex = ifindex;
	w->driver_wid = -1;
	w->driver_wake_at = INT64_MAX;
	w->conf = *conf;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(w->runid, sizeof(w->runid), "ustack-run-%d-%lx", (int)getpid(), (unsigned long)(ts.tv_nsec ^ ts.tv_sec));
	W = w;
	ps_lock();
	ps_me = proc_new(PROC_LIVE);
	ps_me->pid = getpid();
	ps_unlock();
	if (!ps_me)
		return -ENOMEM;
	if (driver)
		ps_proc_ready();
	return 0;
}

struct linger_ctx {
	int busy;
};

static void linger_visit(const struct us_tcp_info *i, void *arg)
{
	struct linger_ctx *c = arg;
	switch (i->state) {
	case US_TCP_SYN_SENT:
	case US_TCP_SYN_RECEIVED:
	case US_TCP_ESTABLISHED:
	case US_TCP_CLOSE_WAIT:
	case US_TCP_FIN_WAIT_1:
	case US_TCP_CLOSING:
	case US_TCP_LAST_ACK:
		c->busy++;
		break;
	default:
		break;
	}
}

void ps_world_shutdown(void)
{
	struct us_stack *st = W->st;
	ps_lock();
	W->shutting_down = 1;
	ps_unlock();
	/* Every fd is gone, so every socket is closed: send what is queued and
	 * the FINs, and wait (bounded) until the peers have them. */
	int devs[8];
	int nd = us_stack_fds(st, devs, 8);
	int64_t end = ps_now() + (int64_t)W->conf.linger_ms * PS_NS_PER_MS;
	int busy = 0;
	for (;;) {
		ps_lock();
		int64_t now = ps_now();
		us_stack_input(st, (uint64_t)now);
		us_stack_timers(st, (uint64_t)now);
		struct linger_ctx lc = {0};
		us_tcp_foreach(st, linger_visit, &lc);
		busy = lc.busy;
		int64_t dl = us_stack_next_deadline(st);
		ps_unlock();
		if (!busy || now >= end)
			break;
		int64_t wait = end - now;
		if (dl >= 0 && dl - now < wait)
			wait = dl > now ? dl - now : 0;
		if (wait > 20 * PS_NS_PER_MS)
			wait = 20 * PS_NS_PER_MS;
		struct pollfd pf[8];
		for (int i = 0; i < nd && i < 8; i++)
			pf[i] = (struct pollfd){devs[i], POLLIN, 0};
		struct timespec ts = {wait / 1000000000ll, wait % 1000000000ll};
		R.ppoll(pf, (nfds_t)(nd < 8 ? nd : 8), &ts, NULL);
	}
	FILE *out = NULL;
	if (W->conf.stats_path[0])
		out = fopen(W->conf.stats_path, "we");
	if (out) {
		fprintf(out, "ustack run: stopping (pid %d)\n", (int)getpid());
		fprintf(out, "Connections still closing at exit: %d\n", busy);
		uint64_t inuse, mapped;
		ps_arena_usage(&inuse, &mapped);
		fprintf(out, "Shim: wakes %llu, driver kicks %llu, lock takes %llu, arena in use %llu of %llu bytes\n",
			(unsigned long long)W->n_wakes, (unsigned long long)W->n_wakes_driver,
			(unsigned long long)W->n_lock, (unsigned long long)inuse, (unsigned long long)mapped);
		us_stack_dump_stats(st, out);
		struct us_mem_info mi;
		us_stack_mem_info(st, &mi);
		fprintf(out, "Buffers in use: %u\n", us_stack_bufs_in_use(st));
		fflush(out);
	}
	/* Closing the device removes it (the stack created it). */
	uint32_t lost = us_stack_free_leaks(st);
	W->st = NULL;
	if (out) {
		fprintf(out, "Buffers lost at exit: %u\n", lost);
		fclose(out);
	}
}

/* Whether this process is the only one of the family (no live child, no
 * child just forked): then the program it execs can take the stack over. */
static int other_procs(void)   /* under the lock */
{
	int others = 0;
	uint64_t now = (uint64_t)ps_now();
	for (struct ps_proc *p = W->procs; p; p = p->next)
		if (p != ps_me && (p->state == PROC_LIVE ||
				   (p->state == PROC_PENDING && now - p->born_ns < 5ull * 1000000000ull)))
			others++;
	return others;
}

int ps_sole_process(void)
{
	if (!W || !ps_me || W->shutting_down)
		return 0;
	ps_lock();
	int others = other_procs();
	ps_unlock();
	return others == 0;
}

void ps_proc_exit(int quick)
{
	(void)quick;
	if (!W || !ps_me || W->shutting_down)
		return;
	ps_lock();
	if (!ps_me || ps_me->state == PROC_FREE) {
		ps_unlock();
		return;
	}
	proc_drop(ps_me);
	int others = other_procs();
	ps_unlock();
	driver_stop_join();
	if (!others)
		ps_world_shutdown();
	ps_me = NULL;
}

/* ---- fork -------------------------------------------------------------------- */

static struct ps_proc *pending_child;

void ps_fork_prepare(void)
{
	if (!W || !ps_me || W->shutting_down)
		return;
	if (W->conf.pcap)
		fflush(NULL);   /* the capture's buffer must not be written twice */
	ps_lock();
	struct ps_proc *c = proc_new(PROC_PENDING);
	if (c) {
		for (int k = 0; k < PS_FD_CHUNKS; k++) {
			struct ps_fd *ch = ps_me->chunks[k];
			if (!ch)
				continue;
			struct ps_fd *nc = us_shm_calloc(PS_FD_CHUNK, sizeof(*nc));
			if (!nc)
				break;
			for (int i = 0; i < PS_FD_CHUNK; i++)
				if (ch[i].obj) {
					nc[i] = ch[i];
					ch[i].obj->refs++;
				}
			c->chunks[k] = nc;
		}
	}
	pending_child = c;
}

void ps_fork_parent(void)
{
	if (!W || !ps_me || W->shutting_down)
		return;
	pending_child = NULL;
	ps_unlock();
}

void ps_fork_child(void)
{
	if (!W || !ps_me || W->shutting_down)
		return;
	/* The lock stays with the parent's thread, which releases it. */
	tl_in_lock = 0;
	ps_gen++;
	if (pending_child) {
		pending_child->pid = getpid();
		__atomic_store_n(&pending_child->state, PROC_LIVE, __ATOMIC_RELEASE);
	}
	ps_me = pending_child;
	pending_child = NULL;
	/* the parent's threads' fds are copies here: close them */
	for (int i = 0; i < n_thread_fds; i++) {
		ps_internal_fd(thread_fds[i], 0);
		R.close(thread_fds[i]);
	}
	n_thread_fds = 0;
	pthread_mutex_init(&thread_fds_mx, NULL);
	drv_started_gen = 0;
	send_fd = -1;
}

/* ---- signals that end a program with no handler of its own ------------------ */

static volatile sig_atomic_t term_sig_no;

static void run_pending_term(void)
{
	int sig = term_sig_no;
	pending_term = 0;
	ps_proc_exit(0);
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	R.sigaction(sig, &dfl, NULL);   /* not through the wrapper, which keeps ours */
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
}

void ps_term_handler(int sig);

/* The shim's handler for SIG, the one that closes before dying by it. */
void ps_term_install(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ps_term_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	R.sigaction(sig, &sa, NULL);
}

void ps_term_handler(int sig)
{
	term_sig_no = sig;
	pending_term = 1;
	if (!tl_in_lock)
		run_pending_term();
	/* else ps_unlock runs it once this thread leaves the shim */
}
