/* ustack behind packetdrill's plug-in interface (--so_filename).
 *
 * packetdrill (google/packetdrill, built from ../shared/tools/packetdrill;
 * its interface is declared in gtests/net/packetdrill/packetdrill.h) loads
 * this shared object and calls packetdrill_interface_init(), which fills a
 * table of functions: the socket calls a script makes, netdev_send (a
 * packet the script injects) and netdev_receive (the next packet the stack
 * sent), usleep and gettimeofday. Everything runs on a virtual clock that
 * only this file moves, so a script of minutes takes milliseconds and runs
 * the same every time.
 *
 * The stack: one ustack stack owning local_ip (192.168.0.1 unless --so_flags
 * says otherwise) on an in-memory IP link of MTU 1500 whose other end is
 * packetdrill, with a default route out of it (the scripts' remote address
 * is 192.0.2.1). An IPv6 local_ip (packetdrill's --ip_version=ipv6) makes
 * it an IPv6 link instead: the address with prefix 64, a default route ::/0,
 * IPv6 packets in and out, no NDP (an IP link has none), and the error
 * queue in IPV6_RECVERR form for AF_INET6 sockets. Its knobs follow the
 * Linux sysctls of the network namespace packetdrill runs in, as the
 * scripts set them (gtests/net/common/defaults.sh and the scripts' own
 * commands), read again before every socket(): see sync_sysctls().
 *
 * Threads. packetdrill makes a call that the script marks as blocking
 * ("+0...0.1 accept(...)") on its own system-call thread, and goes on with
 * the script on the main thread, which moves time (usleep, gettimeofday)
 * and packets. (The system-call thread moves time too, waiting for its
 * call's start while the main thread waits for it.) One mutex guards the stack; a blocked call
 * waits on a condition variable for its socket to become ready. To keep
 * the clock deterministic, the main thread stops moving the world as soon
 * as a blocked call can complete, until that call has returned and read its
 * finish time (packetdrill reads it with gettimeofday right after the call
 * returns): settle(). A blocking call made on the main thread itself moves
 * the clock while it waits, since nobody else will.
 *
 * Descriptors. Each socket holds a real descriptor (of /dev/null), whose
 * number names it: packetdrill closes the descriptors of every socket still
 * open at the end of a script itself, with close(2).
 *
 * so_flags (space or comma separated): local_ip=A.B.C.D or an IPv6
 * address, prefix=N (default 16, or 64 for IPv6), mtu=N, seed=N, verbose. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/errqueue.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "stack.h"
#include "ustack/ustack.h"

#include "packetdrill.h"
#include "tcpinfo.h"

#define EXPORT __attribute__((visibility("default")))

#define NS 1000000000ull
#define US 1000ull
#define PD_T0 (1000 * NS)                 /* the stack's clock at the start */
#define PD_EPOCH 1700000000ull            /* gettimeofday's seconds at the start */
#define PD_MAX_FDS 4096
#define PD_MAX_EP_ITEMS 64
#define PD_WAIT_HORIZON (3600 * NS)       /* netdev_receive gives up after this long idle */
#define PD_SETTLE_REAL_MS 2000            /* real time the main thread waits for a blocked call */
#define PD_GTOD_STEP_NS 1000              /* each gettimeofday on the main thread moves 1 us */
#define PD_MAX_OUT 100000                 /* packets the stack may have queued for packetdrill */

enum { FD_FREE = 0, FD_SOCK, FD_EPOLL };

struct ep_item {
	int fd;                    /* the real descriptor of a socket */
	uint32_t events;
	uint64_t data;
	int fired;                 /* a wakeup since the last report (edge-triggered) */
	int disabled;              /* EPOLLONESHOT, reported */
};

struct pd_fd {
	int kind;
	int us;                    /* ustack descriptor (FD_SOCK) */
	int family;                /* AF_INET or AF_INET6 (FD_SOCK) */
	int nonblock;
	struct ep_item items[PD_MAX_EP_ITEMS];   /* FD_EPOLL */
	int n_items;
};

struct pd_pkt {
	struct pd_pkt *next;
	uint64_t t;                /* ns, the stack's clock */
	uint32_t len;
	uint8_t data[];
};

struct pd;

/* What a blocked call waits for. */
struct waiter {
	int active;
	int (*ready)(struct pd *pd, void *arg);
	void *arg;
	uint64_t deadline;         /* ns; 0: none */
};

struct pd {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t main_thread;
	struct us_stack *st;
	int ifx;
	uint64_t now;              /* ns */
	struct pd_pkt *in_head, *in_tail;    /* injected, not yet taken by the stack */
	struct pd_pkt *out_head, *out_tail;  /* sent by the stack */
	uint32_t n_out;
	struct pd_fd fds[PD_MAX_FDS];
	int us_to_fd[PD_MAX_FDS];            /* ustack descriptor -> real descriptor */
	struct waiter w;
	int returning;             /* a call on the system-call thread returned; its time not read yet */
	int post_return;           /* ...and packetdrill may not have recorded its result yet */
	pid_t sys_tid;             /* the system-call thread */
	/* settings */
	int family;                /* of local: AF_INET or AF_INET6 */
	struct in_addr local;
	struct in6_addr local6;
	int prefix;
	uint32_t mtu;
	uint64_t seed;
	int verbose;
};

/* ---- the link: packetdrill is the other end ---------------------------- */

static struct pd_pkt *pkt_copy(const void *data, size_t len, uint64_t t)
{
	struct pd_pkt *p = malloc(sizeof(*p) + len);
	if (!p)
		return NULL;
	p->next = NULL;
	p->t = t;
	p->len = (uint32_t)len;
	memcpy(p->data, data, len);
	return p;
}

/* The link is a zero-copy device on the public interface (ustack/link.h)
 * whose device is the plug-in's state. */
static int link_recv_op(void *dev, struct us_link *l, struct us_buf **bufs, int max, uint64_t now)
{
	(void)now;
	struct pd *pd = dev;
	int n = 0;
	while (n < max && pd->in_head) {
		struct pd_pkt *q = pd->in_head;
		pd->in_head = q->next;
		if (!pd->in_head)
			pd->in_tail = NULL;
		struct us_buf *b = us_buf_alloc(l, q->len);
		if (b) {
			memcpy(us_buf_data(b), q->data, q->len);
			us_buf_set_len(b, q->len);
			bufs[n++] = b;
		} else {
			us_link_rx_dropped(l, 1, 1);
		}
		free(q);
	}
	return n;
}

static int link_send_op(void *dev, struct us_link *l, struct us_buf **bufs, int n, uint64_t now)
{
	struct pd *pd = dev;
	int sent = 0;
	for (int i = 0; i < n; i++) {
		struct pd_pkt *q = pd->n_out < PD_MAX_OUT ? pkt_copy(us_buf_data(bufs[i]), us_buf_len(bufs[i]), now) : NULL;
		if (q) {
			if (pd->out_tail)
				pd->out_tail->next = q;
			else
				pd->out_head = q;
			pd->out_tail = q;
			pd->n_out++;
			sent++;
		}
		us_buf_free(l, bufs[i]);
	}
	return sent;   /* the rest count as dropped */
}

static int link_pending_op(void *dev) { return ((struct pd *)dev)->in_head != NULL; }

static const struct us_device_zc_ops pd_link_ops = {
	.recv = link_recv_op,
	.send = link_send_op,
	.pending = link_pending_op,
};

/* ---- sysctls of the namespace -------------------------------------------- */

/* The first numbers of /proc/sys/net/ipv4/NAME; how many were read. */
static int read_sysctl(const char *name, long *v, int n)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int k = 0;
	while (k < n && fscanf(f, "%ld", &v[k]) == 1)
		k++;
	fclose(f);
	return k;
}

/* Linux sysctls that ustack has a knob for. Read before each socket(),
 * listen(), connect(), setsockopt() and Fast Open sendto(), so a script's
 * own `sysctl ...` lines count from its next such call on. */
static void sync_sysctls(struct pd *pd)
{
	struct us_stack_config *c = &pd->st->cfg;
	long v[3];
	if (read_sysctl("tcp_rmem", v, 3) == 3 && v[1] > 0) {
		c->tcp_rmem = (uint32_t)v[1];
		c->tcp_rmem_max = (uint32_t)(v[2] > v[1] ? v[2] : v[1]);
	}
	if (read_sysctl("tcp_wmem", v, 3) == 3 && v[1] > 0)
		c->tcp_wmem = (uint32_t)v[1];
	if (read_sysctl("tcp_syn_retries", v, 1) == 1 && v[0] > 0)
		c->tcp_syn_retries = (uint32_t)v[0];
	if (read_sysctl("tcp_synack_retries", v, 1) == 1 && v[0] > 0)
		c->tcp_synack_retries = (uint32_t)v[0];
	if (read_sysctl("tcp_retries2", v, 1) == 1 && v[0] > 0)
		c->tcp_retries2 = (uint32_t)v[0];
	if (read_sysctl("tcp_fin_timeout", v, 1) == 1 && v[0] > 0)
		c->tcp_fin_timeout_ms = (uint32_t)v[0] * 1000;
	if (read_sysctl("tcp_syncookies", v, 1) == 1)
		c->tcp_syncookies = v[0] == 0 ? -1 : (v[0] >= 2 ? 2 : 1);
	if (read_sysctl("tcp_timestamps", v, 1) == 1)
		c->tcp_timestamps = v[0] ? 1 : -1;
	if (read_sysctl("tcp_sack", v, 1) == 1)
		c->tcp_sack = v[0] ? 1 : -1;
	if (read_sysctl("tcp_window_scaling", v, 1) == 1)
		c->tcp_window_scaling = v[0] ? 1 : -1;
	if (read_sysctl("tcp_min_tso_segs", v, 1) == 1 && v[0] > 0)
		c->tcp_min_tso_segs = (uint32_t)v[0];
	if (read_sysctl("tcp_notsent_lowat", v, 1) == 1)
		c->tcp_notsent_lowat = v[0] <= 0 || v[0] >= (long)UINT32_MAX ? 0 : (uint32_t)v[0];
	if (read_sysctl("tcp_early_retrans", v, 1) == 1)
		c->tcp_tlp = v[0] >= 3 ? 1 : -1;
	if (read_sysctl("tcp_max_syn_backlog", v, 1) == 1 && v[0] > 0)
		c->tcp_max_syn_backlog = (uint32_t)v[0];
	/* The congestion control: the scripts' defaults.sh asks for CUBIC, but
	 * a child namespace refuses to set it for the kernel (only what the
	 * host allows, here reno and bbr), so a namespace shows the host's
	 * default: ustack runs CUBIC unless the script chose reno. */
	FILE *ccf = fopen("/proc/sys/net/ipv4/tcp_congestion_control", "r");
	char ccname[16] = "";
	c->tcp_cc = ccf && fscanf(ccf, "%15s", ccname) == 1 && !strcmp(ccname, "reno") ? "reno" : "cubic";
	if (ccf)
		fclose(ccf);
	if (read_sysctl("tcp_ecn", v, 1) == 1)
		c->tcp_ecn = v[0] == 0 ? -1 : (int)v[0];
	if (read_sysctl("tcp_mtu_probing", v, 1) == 1)
		c->tcp_mtu_probing = v[0] == 0 ? -1 : (int)v[0];
	if (read_sysctl("tcp_moderate_rcvbuf", v, 1) == 1)
		c->tcp_moderate_rcvbuf = v[0] ? 1 : -1;
	if (read_sysctl("tcp_fastopen", v, 1) == 1)
		c->tcp_fastopen = v[0] ? (int)v[0] : -1;
	/* "a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4": four 32-bit words, each
	 * stored little-endian (Linux's proc_tcp_fastopen_key). */
	FILE *kf = fopen("/proc/sys/net/ipv4/tcp_fastopen_key", "r");
	unsigned w[4];
	if (kf && fscanf(kf, "%x-%x-%x-%x", &w[0], &w[1], &w[2], &w[3]) == 4) {
		for (int i = 0; i < 4; i++)
			for (int b = 0; b < 4; b++)
				c->tcp_fastopen_key[4 * i + b] = (uint8_t)(w[i] >> (8 * b));
		c->tcp_fastopen_key_set = 1;
	}
	if (kf)
		fclose(kf);
}

/* ---- the clock ----------------------------------------------------------- */

static int is_main(const struct pd *pd) { return pthread_equal(pthread_self(), pd->main_thread); }

static int waiter_ready(struct pd *pd)
{
	if (!pd->w.active)
		return 0;
	if (pd->w.deadline && pd->now >= pd->w.deadline)
		return 1;
	return pd->w.ready(pd, pd->w.arg);
}

/* Main thread: hold the world still while a blocked call can complete or
 * has returned without reading its finish time. */
static void settle(struct pd *pd)
{
	if (!is_main(pd))
		return;
	while (waiter_ready(pd) || pd->returning) {
		pthread_cond_broadcast(&pd->cv);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += PD_SETTLE_REAL_MS / 1000;
		if (pthread_cond_timedwait(&pd->cv, &pd->mu, &ts) == ETIMEDOUT) {
			fprintf(stderr, "packetdrill-ustack: a blocked call did not return in %d ms (real time); going on\n",
				PD_SETTLE_REAL_MS);
			pd->returning = 0;
			break;
		}
	}
}

/* Let the stack take injected packets and fire due timers at pd->now. */
static void run_stack(struct pd *pd)
{
	us_stack_timers(pd->st, pd->now);
	for (int i = 0; i < 64 && (us_stack_input(pd->st, pd->now) > 0 || us_stack_has_pending(pd->st)); i++)
		;
	pthread_cond_broadcast(&pd->cv);
	settle(pd);
}

/* Move the clock to `target` (ns), stopping at every timer due on the way
 * (and at a blocked call's deadline). If stop_on_output, return as soon as
 * the stack has sent something. */
static void advance(struct pd *pd, uint64_t target, int stop_on_output)
{
	for (long steps = 0; steps < 100000000L; steps++) {
		run_stack(pd);
		if (stop_on_output && pd->out_head)
			return;
		if (pd->now >= target)
			return;
		int64_t d = us_stack_next_deadline(pd->st);
		uint64_t next = target;
		if (d >= 0 && (uint64_t)d < next)
			next = (uint64_t)d > pd->now ? (uint64_t)d : ((pd->now >> TW_TICK_SHIFT) + 1) << TW_TICK_SHIFT;
		if (pd->w.active && pd->w.deadline > pd->now && pd->w.deadline < next)
			next = pd->w.deadline;
		pd->now = next < target ? next : target;
	}
}

/* ---- entry and exit ------------------------------------------------------ */

static void enter(struct pd *pd)
{
	pthread_mutex_lock(&pd->mu);
	settle(pd);
	if (pd->st && is_main(pd))
		run_stack(pd);
	else if (pd->st)
		us_stack_timers(pd->st, pd->now);
}

/* Leave with a syscall-style result: rc >= 0 returned, else errno = -rc. */
static long leave(struct pd *pd, long rc)
{
	if (pd->st)
		for (int i = 0; i < 64 && (us_stack_input(pd->st, pd->now) > 0 || us_stack_has_pending(pd->st)); i++)
			;
	if (!is_main(pd)) {
		pd->returning = 1;   /* until this thread reads the clock */
		pd->post_return = 1;
		pd->sys_tid = gettid();
	}
	pthread_cond_broadcast(&pd->cv);
	pthread_mutex_unlock(&pd->mu);
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

/* Wait until ready(pd, arg) or the deadline (ns, 0: none). 0, or -EAGAIN
 * when a call on the main thread would wait forever. */
static int block_until(struct pd *pd, int (*ready)(struct pd *, void *), void *arg, uint64_t deadline)
{
	if (is_main(pd)) {
		/* Nobody else moves the clock: move it to the next event. */
		for (;;) {
			if (ready(pd, arg) || (deadline && pd->now >= deadline))
				return 0;
			int64_t d = us_stack_next_deadline(pd->st);
			if (d < 0 && !deadline) {
				fprintf(stderr, "packetdrill-ustack: a blocking call on the main thread would wait forever\n");
				return -EAGAIN;
			}
			uint64_t t = d < 0 ? deadline : (uint64_t)d;
			if (deadline && deadline < t)
				t = deadline;
			if (t <= pd->now)
				t = ((pd->now >> TW_TICK_SHIFT) + 1) << TW_TICK_SHIFT;
			advance(pd, t, 0);
		}
	}
	pd->w = (struct waiter){1, ready, arg, deadline};
	while (!waiter_ready(pd))
		pthread_cond_wait(&pd->cv, &pd->mu);
	pd->w.active = 0;
	return 0;
}

/* ---- descriptors ---------------------------------------------------------- */

static struct pd_fd *fd_get(struct pd *pd, int fd, int kind)
{
	if (fd < 0 || fd >= PD_MAX_FDS || pd->fds[fd].kind != kind)
		return NULL;
	return &pd->fds[fd];
}

static void sock_cb(struct us_stack *st, int s, unsigned events, void *arg);

/* A real descriptor for ustack socket us (or an epoll set if us < 0). */
static int fd_new(struct pd *pd, int kind, int us)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fd >= PD_MAX_FDS) {
		close(fd);
		return -EMFILE;
	}
	memset(&pd->fds[fd], 0, sizeof(pd->fds[fd]));
	pd->fds[fd].kind = kind;
	pd->fds[fd].us = us;
	if (kind == FD_SOCK && us >= 0 && us < PD_MAX_FDS) {
		pd->us_to_fd[us] = fd;
		us_sock_set_callback(pd->st, us, sock_cb, pd);
	}
	return fd;
}

static void fd_release(struct pd *pd, int fd)
{
	if (pd->fds[fd].kind == FD_SOCK && pd->fds[fd].us >= 0 && pd->fds[fd].us < PD_MAX_FDS)
		pd->us_to_fd[pd->fds[fd].us] = -1;
	/* Out of every epoll set (as Linux does when the last reference goes). */
	for (int e = 0; e < PD_MAX_FDS; e++) {
		if (pd->fds[e].kind != FD_EPOLL)
			continue;
		struct pd_fd *ep = &pd->fds[e];
		for (int i = 0; i < ep->n_items; i++)
			if (ep->items[i].fd == fd)
				ep->items[i--] = ep->items[--ep->n_items];
	}
	memset(&pd->fds[fd], 0, sizeof(pd->fds[fd]));
	close(fd);
}

/* A socket's readiness may have changed: edge-triggered epoll items fire. */
static void sock_cb(struct us_stack *st, int s, unsigned events, void *arg)
{
	(void)st;
	(void)events;
	struct pd *pd = arg;
	if (s < 0 || s >= PD_MAX_FDS)
		return;
	int fd = pd->us_to_fd[s];
	if (fd < 0)
		return;
	for (int e = 0; e < PD_MAX_FDS; e++) {
		if (pd->fds[e].kind != FD_EPOLL)
			continue;
		for (int i = 0; i < pd->fds[e].n_items; i++)
			if (pd->fds[e].items[i].fd == fd)
				pd->fds[e].items[i].fired = 1;
	}
}

static unsigned sock_events(struct pd *pd, int us)
{
	struct us_pollfd p = {us, (short)0xffff, 0};
	us_poll(pd->st, &p, 1);
	return (unsigned short)p.revents;
}

/* ---- the calls ------------------------------------------------------------ */

static int pd_socket(void *ud, int domain, int type, int protocol)
{
	struct pd *pd = ud;
	enter(pd);
	sync_sysctls(pd);
	int s = us_socket(pd->st, domain, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), protocol);
	int rc = s;
	if (s >= 0) {
		rc = fd_new(pd, FD_SOCK, s);
		if (rc < 0) {
			us_close(pd->st, s);
		} else {
			pd->fds[rc].nonblock = (type & SOCK_NONBLOCK) != 0;
			pd->fds[rc].family = domain;
		}
	}
	return (int)leave(pd, rc);
}

static int pd_bind(void *ud, int fd, const struct sockaddr *a, socklen_t len)
{
	struct pd *pd = ud;
	enter(pd);
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	return (int)leave(pd, f ? us_bind(pd->st, f->us, a, len) : -EBADF);
}

static int pd_listen(void *ud, int fd, int backlog)
{
	struct pd *pd = ud;
	enter(pd);
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	sync_sysctls(pd);
	return (int)leave(pd, f ? us_listen(pd->st, f->us, backlog) : -EBADF);
}

struct wait_ev {
	int us;
	unsigned events;
};

static int ready_ev(struct pd *pd, void *arg)
{
	struct wait_ev *w = arg;
	return (sock_events(pd, w->us) & (w->events | POLLERR | POLLHUP)) != 0;
}

/* Wait for events on a blocking socket. */
static int wait_sock(struct pd *pd, struct pd_fd *f, unsigned events)
{
	struct wait_ev w = {f->us, events};
	return block_until(pd, ready_ev, &w, 0);
}

static int pd_accept(void *ud, int fd, struct sockaddr *a, socklen_t *len)
{
	struct pd *pd = ud;
	enter(pd);
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	int rc = -EBADF;
	while (f) {
		rc = us_accept(pd->st, f->us, a, len);
		if (rc != -EAGAIN || f->nonblock)
			break;
		int w = wait_sock(pd, f, POLLIN);
		if (w < 0) {
			rc = w;
			break;
		}
		f = fd_get(pd, fd, FD_SOCK);   /* closed meanwhile? */
	}
	if (rc >= 0) {
		int family = f->family;
		int nfd = fd_new(pd, FD_SOCK, rc);
		if (nfd < 0)
			us_close(pd->st, rc);
		else
			pd->fds[nfd].family = family;
		rc = nfd;
	}
	return (int)leave(pd, rc);
}

static int pd_connect(void *ud, int fd, const struct sockaddr *a, socklen_t len)
{
	struct pd *pd = ud;
	enter(pd);
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	sync_sysctls(pd);
	int rc = f ? us_connect(pd->st, f->us, a, len) : -EBADF;
	if (rc == -EINPROGRESS && !f->nonblock) {
		int w = wait_sock(pd, f, POLLOUT);
		if (w < 0) {
			rc = w;
		} else {
			int err = 0;
			socklen_t el = sizeof(err);
			us_getsockopt(pd->st, f->us, SOL_SOCKET, SO_ERROR, &err, &el);
			rc = err ? -err : 0;
		}
	}
	return (int)leave(pd, rc);
}

/* Receive into one flat buffer; blocking unless the socket or flags say not. */
static ssize_t do_recv(struct pd *pd, int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	ssize_t rc = -EBADF;
	while (f) {
		rc = us_recvfrom(pd->st, f->us, buf, len, flags & ~MSG_DONTWAIT, from, fromlen);
		if (rc != -EAGAIN || f->nonblock || (flags & MSG_DONTWAIT))
			break;
		int w = wait_sock(pd, f, POLLIN | POLLRDHUP);
		if (w < 0)
			return w;
		f = fd_get(pd, fd, FD_SOCK);
	}
	return rc;
}

/* Send it all (a blocking socket waits for room), as Linux's stream sockets. */
static int tcp_state_of(struct pd *pd, int us)
{
	struct us_tcp_info ti;
	socklen_t l = sizeof(ti);
	return us_getsockopt(pd->st, us, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0 ? ti.state : -1;
}

/* Send it all (a blocking socket waits for room), as Linux's stream
 * sockets; to/tl for the first call only (sendto with MSG_FASTOPEN: the
 * connect). A blocking send on a connection still opening (Fast Open)
 * waits for the handshake first, and reports its failure as the error. */
static ssize_t do_send_to(struct pd *pd, int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
			  socklen_t tl)
{
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	if (!f)
		return -EBADF;
	int nonblock = f->nonblock || (flags & MSG_DONTWAIT);
	size_t done = 0;
	if (flags & MSG_FASTOPEN)
		sync_sysctls(pd);
	for (int first = 1;; first = 0) {
		int fl = flags & ~MSG_DONTWAIT;
		ssize_t rc = first && (flags & MSG_FASTOPEN)
				     ? us_sendto(pd->st, f->us, buf, len, fl, to, tl)
				     : us_send(pd->st, f->us, (const uint8_t *)buf + done, len - done, fl & ~MSG_FASTOPEN);
		if (rc == -EINPROGRESS && !nonblock)
			rc = 0;   /* the SYN asks for a cookie: wait for the handshake below */
		if (rc > 0)
			done += (size_t)rc;
		if (!nonblock && rc >= 0 && tcp_state_of(pd, f->us) == US_TCP_SYN_SENT) {
			/* Linux's sk_write_pending: this writer has more to send
			 * once connected (what did not fit in the SYN). */
			int one = 1, zero = 0, us = f->us;
			if (done < len)
				us_setsockopt(pd->st, us, IPPROTO_TCP, US_TCP_WRITE_PENDING, &one, sizeof(one));
			int w = wait_sock(pd, f, POLLOUT);
			us_setsockopt(pd->st, us, IPPROTO_TCP, US_TCP_WRITE_PENDING, &zero, sizeof(zero));
			if (w < 0)
				return w;
			f = fd_get(pd, fd, FD_SOCK);
			if (!f)
				return -EBADF;
			int err = 0;
			socklen_t el = sizeof(err);
			us_getsockopt(pd->st, f->us, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err)
				return -err;
			continue;
		}
		if (done == len && (len || rc >= 0))
			return (ssize_t)done;
		if (rc < 0 && rc != -EAGAIN)
			return done ? (ssize_t)done : rc;
		if (rc == -EAGAIN && nonblock)
			return done ? (ssize_t)done : rc;
		if (rc == -EAGAIN) {
			int w = wait_sock(pd, f, POLLOUT);
			if (w < 0)
				return done ? (ssize_t)done : w;
			f = fd_get(pd, fd, FD_SOCK);
			if (!f)
				return done ? (ssize_t)done : -EBADF;
		}
	}
}

static ssize_t do_send(struct pd *pd, int fd, const void *buf, size_t len, int flags)
{
	return do_send_to(pd, fd, buf, len, flags, NULL, 0);
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

static void *iov_gather(const struct iovec *iov, int n, size_t *len)
{
	*len = iov_total(iov, n);
	uint8_t *b = malloc(*len ? *len : 1);
	if (!b)
		return NULL;
	size_t off = 0;
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len)
			memcpy(b + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	return b;
}

static void iov_scatter(const struct iovec *iov, int n, const uint8_t *b, size_t len)
{
	size_t off = 0;
	for (int i = 0; i < n && off < len; i++) {
		size_t k = iov[i].iov_len < len - off ? iov[i].iov_len : len - off;
		if (k)
			memcpy(iov[i].iov_base, b + off, k);
		off += k;
	}
}

static ssize_t pd_read(void *ud, int fd, void *buf, size_t count)
{
	struct pd *pd = ud;
	enter(pd);
	return leave(pd, do_recv(pd, fd, buf, count, 0, NULL, NULL));
}

static ssize_t pd_recv(void *ud, int fd, void *buf, size_t len, int flags)
{
	struct pd *pd = ud;
	enter(pd);
	return leave(pd, do_recv(pd, fd, buf, len, flags, NULL, NULL));
}

static ssize_t pd_recvfrom(void *ud, int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fl)
{
	struct pd *pd = ud;
	enter(pd);
	return leave(pd, do_recv(pd, fd, buf, len, flags, from, fl));
}

static ssize_t recv_iov(struct pd *pd, int fd, const struct iovec *iov, int n, int flags)
{
	if (n < 0)
		return -EINVAL;
	size_t len = iov_total(iov, n);
	uint8_t *b = malloc(len ? len : 1);
	if (!b)
		return -ENOMEM;
	ssize_t rc = do_recv(pd, fd, b, len, flags, NULL, NULL);
	if (rc > 0)
		iov_scatter(iov, n, b, (size_t)rc);
	free(b);
	return rc;
}

static ssize_t pd_readv(void *ud, int fd, const struct iovec *iov, int n)
{
	struct pd *pd = ud;
	enter(pd);
	return leave(pd, recv_iov(pd, fd, iov, n, 0));
}

/* recvmsg(MSG_ERRQUEUE): one entry of the socket's error queue, as Linux's
 * ip_recv_error puts it (a timestamp first, then IP_RECVERR with the
 * offender address after the extended error; for an AF_INET6 socket
 * ip6_recv_error's IPV6_RECVERR with a sockaddr_in6). Never blocks. */
static ssize_t recv_errqueue(struct pd *pd, int fd, struct msghdr *msg)
{
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	if (!f)
		return -EBADF;
	struct us_sock_err e;
	int rc = us_recv_err(pd->st, f->us, &e);
	if (rc < 0)
		return rc;
	size_t room = msg->msg_control ? msg->msg_controllen : 0, used = 0;
	uint8_t *ctl = msg->msg_control;
	msg->msg_flags = MSG_ERRQUEUE;
	if (e.pkt_len)
		msg->msg_flags |= MSG_TRUNC;   /* the packet Linux would return: ustack has none to give */
	msg->msg_namelen = 0;
	if (e.tstamp_ns && room - used >= CMSG_SPACE(sizeof(struct timespec[3]))) {
		struct timespec ts[3];
		memset(ts, 0, sizeof(ts));
		uint64_t wall = PD_EPOCH * NS + (e.tstamp_ns - PD_T0);
		ts[0].tv_sec = (time_t)(wall / NS);
		ts[0].tv_nsec = (long)(wall % NS);
		struct cmsghdr *cm = (struct cmsghdr *)(ctl + used);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_TIMESTAMPING;
		cm->cmsg_len = CMSG_LEN(sizeof(ts));
		memcpy(CMSG_DATA(cm), ts, sizeof(ts));
		used += CMSG_SPACE(sizeof(ts));
	}
	struct {
		struct sock_extended_err ee;
		struct sockaddr_in6 offender;   /* a sockaddr_in for AF_INET: its first bytes */
	} eh;
	memset(&eh, 0, sizeof(eh));
	int v6 = f->family == AF_INET6;
	size_t ehlen = sizeof(eh.ee) + (v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	eh.ee.ee_errno = e.err;
	eh.ee.ee_origin = e.origin;
	eh.ee.ee_type = e.type;
	eh.ee.ee_code = e.code;
	eh.ee.ee_info = e.info;
	eh.ee.ee_data = e.data;
	if (room - used >= CMSG_SPACE(ehlen)) {
		struct cmsghdr *cm = (struct cmsghdr *)(ctl + used);
		cm->cmsg_level = v6 ? SOL_IPV6 : SOL_IP;
		cm->cmsg_type = v6 ? IPV6_RECVERR : IP_RECVERR;
		cm->cmsg_len = CMSG_LEN(ehlen);
		memcpy(CMSG_DATA(cm), &eh, ehlen);
		used += CMSG_SPACE(ehlen);
	} else {
		msg->msg_flags |= MSG_CTRUNC;
	}
	msg->msg_controllen = used;
	return 0;
}

static ssize_t pd_recvmsg(void *ud, int fd, struct msghdr *msg, int flags)
{
	struct pd *pd = ud;
	enter(pd);
	ssize_t rc = -EINVAL;
	if (msg && (flags & MSG_ERRQUEUE)) {
		rc = recv_errqueue(pd, fd, msg);
	} else if (msg) {
		rc = recv_iov(pd, fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
		if (rc >= 0) {
			size_t room = msg->msg_controllen;
			msg->msg_controllen = 0;
			msg->msg_flags = 0;
			msg->msg_namelen = 0;
			struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
			int inq = 0;
			socklen_t il = sizeof(inq);
			if (f && us_getsockopt(pd->st, f->us, IPPROTO_TCP, TCP_INQ, &inq, &il) == 0 && inq &&
			    msg->msg_control && room >= CMSG_SPACE(sizeof(int))) {
				/* TCP_INQ: what is left to read; 1 once the peer's FIN is
				 * in and nothing is (Linux's tcp_inq_hint). */
				struct us_tcp_info ti;
				socklen_t l = sizeof(ti);
				int left = 0;
				if (us_getsockopt(pd->st, f->us, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0) {
					left = (int)ti.rcv_queued;
					if (!left && (ti.state == US_TCP_CLOSE_WAIT || ti.state == US_TCP_LAST_ACK ||
						      ti.state == US_TCP_CLOSING || ti.state == US_TCP_TIME_WAIT))
						left = 1;
				}
				struct cmsghdr *cm = (struct cmsghdr *)msg->msg_control;
				cm->cmsg_level = SOL_TCP;
				cm->cmsg_type = TCP_CM_INQ;
				cm->cmsg_len = CMSG_LEN(sizeof(int));
				memcpy(CMSG_DATA(cm), &left, sizeof(int));
				msg->msg_controllen = CMSG_SPACE(sizeof(int));
			}
		}
	}
	return leave(pd, rc);
}

static ssize_t pd_write(void *ud, int fd, const void *buf, size_t count)
{
	struct pd *pd = ud;
	enter(pd);
	return leave(pd, do_send(pd, fd, buf, count, 0));
}

static ssize_t pd_send(void *ud, int fd, const void *buf, size_t len, int flags)
{
	struct pd *pd = ud;
	enter(pd);
	return leave(pd, do_send(pd, fd, buf, len, flags));
}

static ssize_t pd_sendto(void *ud, int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tl)
{
	struct pd *pd = ud;
	enter(pd);
	return leave(pd, do_send_to(pd, fd, buf, len, flags, to, tl));
}

static ssize_t send_iov(struct pd *pd, int fd, const struct iovec *iov, int n, int flags, const struct sockaddr *to,
			socklen_t tl)
{
	if (n < 0)
		return -EINVAL;
	size_t len;
	uint8_t *b = iov_gather(iov, n, &len);
	if (!b)
		return -ENOMEM;
	ssize_t rc = do_send_to(pd, fd, b, len, flags, to, tl);
	free(b);
	return rc;
}

static ssize_t pd_writev(void *ud, int fd, const struct iovec *iov, int n)
{
	struct pd *pd = ud;
	enter(pd);
	return leave(pd, send_iov(pd, fd, iov, n, 0, NULL, 0));
}

static ssize_t pd_sendmsg(void *ud, int fd, const struct msghdr *msg, int flags)
{
	struct pd *pd = ud;
	enter(pd);
	ssize_t rc = msg ? send_iov(pd, fd, msg->msg_iov, (int)msg->msg_iovlen, flags, (const struct sockaddr *)msg->msg_name,
				    msg->msg_namelen)
			 : -EINVAL;
	return leave(pd, rc);
}

static int pd_fcntl(void *ud, int fd, int cmd, ...)
{
	struct pd *pd = ud;
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	enter(pd);
	struct pd_fd *f = (fd >= 0 && fd < PD_MAX_FDS && pd->fds[fd].kind) ? &pd->fds[fd] : NULL;
	int rc;
	if (!f)
		rc = -EBADF;
	else if (cmd == F_GETFL)
		rc = O_RDWR | (f->nonblock ? O_NONBLOCK : 0);
	else if (cmd == F_SETFL)
		f->nonblock = (arg & O_NONBLOCK) != 0, rc = 0;
	else
		rc = -EINVAL;
	return (int)leave(pd, rc);
}

static int pd_ioctl(void *ud, int fd, unsigned long req, ...)
{
	struct pd *pd = ud;
	va_list ap;
	va_start(ap, req);
	int *out = va_arg(ap, int *);
	va_end(ap);
	enter(pd);
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	int rc = -EBADF;
	if (f) {
		struct us_tcp_info ti;
		socklen_t l = sizeof(ti);
		rc = us_getsockopt(pd->st, f->us, IPPROTO_TCP, TCP_INFO, &ti, &l);
		if (rc == 0 && ti.state == US_TCP_LISTEN)
			rc = -EINVAL;
		if (rc == 0) {
			switch (req) {
			case SIOCINQ:
				*out = (int)ti.rcv_queued;
				break;
			case SIOCOUTQ:
				*out = (int)ti.snd_queued;
				break;
			case SIOCOUTQNSD:
				*out = (int)(ti.snd_queued - (ti.snd_queued < ti.bytes_in_flight ? ti.snd_queued : ti.bytes_in_flight));
				break;
			default:
				rc = -ENOTTY;
			}
		}
	}
	return (int)leave(pd, rc);
}

static int pd_close(void *ud, int fd)
{
	struct pd *pd = ud;
	enter(pd);
	int rc = -EBADF;
	if (fd >= 0 && fd < PD_MAX_FDS && pd->fds[fd].kind) {
		rc = 0;
		if (pd->fds[fd].kind == FD_SOCK)
			rc = us_close(pd->st, pd->fds[fd].us);
		fd_release(pd, fd);
	}
	return (int)leave(pd, rc);
}

static int pd_shutdown(void *ud, int fd, int how)
{
	struct pd *pd = ud;
	enter(pd);
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	return (int)leave(pd, f ? us_shutdown(pd->st, f->us, how) : -EBADF);
}

static int pd_getsockopt(void *ud, int fd, int level, int name, void *val, socklen_t *len)
{
	struct pd *pd = ud;
	enter(pd);
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	int rc = -EBADF;
	if (f && level == IPPROTO_TCP && name == TCP_INFO) {
		struct us_tcp_info ti;
		socklen_t l = sizeof(ti);
		rc = us_getsockopt(pd->st, f->us, level, name, &ti, &l);
		if (rc == 0)
			rc = pd_linux_tcp_info(&ti, val, len);
	} else if (f) {
		rc = us_getsockopt(pd->st, f->us, level, name, val, len);
	}
	return (int)leave(pd, rc);
}

static int pd_setsockopt(void *ud, int fd, int level, int name, const void *val, socklen_t len)
{
	struct pd *pd = ud;
	enter(pd);
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	sync_sysctls(pd);
	return (int)leave(pd, f ? us_setsockopt(pd->st, f->us, level, name, val, len) : -EBADF);
}

/* getsockopt() on one of our descriptors made outside the plug-in's table
 * (packetdrill's Python code blocks read TCP_INFO, TCP_CC_INFO and
 * SO_MEMINFO that way), through preload.c. */
#define PD_NOT_MINE (-1000)
static int preload_getsockopt(void *ud, int fd, int level, int name, void *val, socklen_t *len)
{
	struct pd *pd = ud;
	pthread_mutex_lock(&pd->mu);
	int mine = fd >= 0 && fd < PD_MAX_FDS && pd->fds[fd].kind == FD_SOCK;
	pthread_mutex_unlock(&pd->mu);
	if (!mine)
		return PD_NOT_MINE;
	if (level == IPPROTO_TCP && name == TCP_INFO)
		return pd_getsockopt(ud, fd, level, name, val, len);
	if ((level == IPPROTO_TCP && name == TCP_CC_INFO) || (level == SOL_SOCKET && name == SO_MEMINFO)) {
		/* No congestion-control details; no socket memory figures. */
		if (!len) {
			errno = EFAULT;
			return -1;
		}
		if (name == TCP_CC_INFO)
			*len = 0;
		else if (val)
			memset(val, 0, *len);
		return 0;
	}
	return pd_getsockopt(ud, fd, level, name, val, len);
}

typedef void (*pd_preload_register_fn)(int (*)(void *, int, int, int, void *, socklen_t *), void *);

/* ---- poll and epoll ------------------------------------------------------- */

struct poll_arg {
	struct pollfd *fds;
	nfds_t n;
	int ready;
};

static int poll_fill(struct pd *pd, void *arg)
{
	struct poll_arg *a = arg;
	a->ready = 0;
	for (nfds_t i = 0; i < a->n; i++) {
		struct pd_fd *f = fd_get(pd, a->fds[i].fd, FD_SOCK);
		a->fds[i].revents = 0;
		if (a->fds[i].fd < 0)
			continue;
		if (!f) {
			a->fds[i].revents = POLLNVAL;
		} else {
			unsigned ev = sock_events(pd, f->us);
			a->fds[i].revents = (short)(ev & ((unsigned short)a->fds[i].events | POLLERR | POLLHUP));
		}
		if (a->fds[i].revents)
			a->ready++;
	}
	return a->ready > 0;
}

static int pd_poll(void *ud, struct pollfd *fds, nfds_t n, int timeout)
{
	struct pd *pd = ud;
	enter(pd);
	struct poll_arg a = {fds, n, 0};
	int rc = 0;
	if (!poll_fill(pd, &a) && timeout != 0) {
		rc = block_until(pd, poll_fill, &a, timeout > 0 ? pd->now + (uint64_t)timeout * 1000000ull : 0);
		poll_fill(pd, &a);
	}
	return (int)leave(pd, rc < 0 ? rc : a.ready);
}

static int pd_epoll_create(void *ud, int size)
{
	struct pd *pd = ud;
	enter(pd);
	return (int)leave(pd, size <= 0 ? -EINVAL : fd_new(pd, FD_EPOLL, -1));
}

static int pd_epoll_ctl(void *ud, int epfd, int op, int fd, struct epoll_event *ev)
{
	struct pd *pd = ud;
	enter(pd);
	struct pd_fd *ep = fd_get(pd, epfd, FD_EPOLL);
	struct pd_fd *f = fd_get(pd, fd, FD_SOCK);
	int rc = 0;
	int idx = -1;
	if (ep)
		for (int i = 0; i < ep->n_items; i++)
			if (ep->items[i].fd == fd)
				idx = i;
	if (!ep || !f)
		rc = -EBADF;
	else if (op == EPOLL_CTL_ADD) {
		if (idx >= 0)
			rc = -EEXIST;
		else if (ep->n_items >= PD_MAX_EP_ITEMS)
			rc = -ENOSPC;
		else if (!ev)
			rc = -EFAULT;
		else
			ep->items[ep->n_items++] = (struct ep_item){fd, ev->events, ev->data.u64, 1, 0};
	} else if (op == EPOLL_CTL_MOD) {
		if (idx < 0)
			rc = -ENOENT;
		else if (!ev)
			rc = -EFAULT;
		else
			ep->items[idx] = (struct ep_item){fd, ev->events, ev->data.u64, 1, 0};
	} else if (op == EPOLL_CTL_DEL) {
		if (idx < 0)
			rc = -ENOENT;
		else
			ep->items[idx] = ep->items[--ep->n_items];
	} else {
		rc = -EINVAL;
	}
	return (int)leave(pd, rc);
}

struct epw_arg {
	int epfd;
	struct epoll_event *out;
	int max;
	int n;
	int take;                  /* report (clears edge state) vs just check */
};

static int epoll_fill(struct pd *pd, void *arg)
{
	struct epw_arg *a = arg;
	struct pd_fd *ep = fd_get(pd, a->epfd, FD_EPOLL);
	a->n = 0;
	if (!ep)
		return 0;
	for (int i = 0; i < ep->n_items && a->n < a->max; i++) {
		struct ep_item *it = &ep->items[i];
		struct pd_fd *f = fd_get(pd, it->fd, FD_SOCK);
		if (!f || it->disabled)
			continue;
		if ((it->events & EPOLLET) && !it->fired)
			continue;
		uint32_t ev = sock_events(pd, f->us) & (it->events | EPOLLERR | EPOLLHUP);
		if (!ev)
			continue;
		if (a->take) {
			a->out[a->n].events = ev;
			a->out[a->n].data.u64 = it->data;
			it->fired = 0;
			if (it->events & EPOLLONESHOT)
				it->disabled = 1;
		}
		a->n++;
	}
	return a->n > 0;
}

static int pd_epoll_wait(void *ud, int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	struct pd *pd = ud;
	enter(pd);
	struct epw_arg a = {epfd, events, maxevents, 0, 0};
	int rc = 0;
	if (!fd_get(pd, epfd, FD_EPOLL))
		rc = -EBADF;
	else if (maxevents <= 0 || !events)
		rc = -EINVAL;
	else if (!epoll_fill(pd, &a) && timeout != 0)
		rc = block_until(pd, epoll_fill, &a, timeout > 0 ? pd->now + (uint64_t)timeout * 1000000ull : 0);
	if (rc == 0) {
		a.take = 1;
		epoll_fill(pd, &a);
		rc = a.n;
	}
	return (int)leave(pd, rc);
}

static int pd_pipe(void *ud, int fds[2])
{
	(void)ud;
	(void)fds;
	errno = ENOSYS;
	return -1;
}

static int pd_splice(void *ud, int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags)
{
	(void)ud, (void)in, (void)off_in, (void)out, (void)off_out, (void)len, (void)flags;
	errno = ENOSYS;
	return -1;
}

/* ---- packets and time ----------------------------------------------------- */

static int pd_netdev_send(void *ud, const void *buf, size_t count)
{
	struct pd *pd = ud;
	enter(pd);
	struct pd_pkt *p = count && count <= 65535 ? pkt_copy(buf, count, pd->now) : NULL;
	if (p) {
		if (pd->in_tail)
			pd->in_tail->next = p;
		else
			pd->in_head = p;
		pd->in_tail = p;
		run_stack(pd);
	}
	return (int)leave(pd, p ? 0 : -EINVAL);
}

static int pd_netdev_receive(void *ud, void *buf, size_t *count, long long *time_usecs)
{
	struct pd *pd = ud;
	enter(pd);
	if (!pd->out_head) {
		/* Nothing yet: run the clock to the stack's next timer, and on,
		 * until it sends something. packetdrill itself decides whether it
		 * came at the right time. */
		uint64_t start = pd->now;
		while (!pd->out_head) {
			int64_t d = us_stack_next_deadline(pd->st);
			if (d < 0 && !pd->w.active) {
				fprintf(stderr, "packetdrill-ustack: the script waits for a packet, but the stack has "
						"nothing to send and no timer running (at %.6f s)\n",
					(double)(pd->now - PD_T0) / 1e9);
				exit(EXIT_FAILURE);
			}
			if (pd->now - start > PD_WAIT_HORIZON) {
				fprintf(stderr, "packetdrill-ustack: no packet from the stack in %llu s\n",
					(unsigned long long)(PD_WAIT_HORIZON / NS));
				exit(EXIT_FAILURE);
			}
			uint64_t t = d < 0 ? pd->now + NS : (uint64_t)d;
			if (t <= pd->now)
				t = ((pd->now >> TW_TICK_SHIFT) + 1) << TW_TICK_SHIFT;
			advance(pd, t, 1);
		}
	}
	struct pd_pkt *p = pd->out_head;
	int rc = 0;
	if (p->len > *count) {
		rc = -EMSGSIZE;
		*count = 0;
	} else {
		memcpy(buf, p->data, p->len);
		*count = p->len;
	}
	*time_usecs = (long long)(PD_EPOCH * 1000000ull + (p->t - PD_T0) / US);
	pd->out_head = p->next;
	if (!pd->out_head)
		pd->out_tail = NULL;
	pd->n_out--;
	free(p);
	return (int)leave(pd, rc);
}

/* Is thread tid asleep (blocked), as /proc says? */
static int thread_sleeping(pid_t tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 1;   /* gone */
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 'S' || p[2] == 'D';
}

static int pd_usleep(void *ud, useconds_t usec)
{
	struct pd *pd = ud;
	pthread_mutex_lock(&pd->mu);
	settle(pd);
	if (is_main(pd) && pd->post_return) {
		/* packetdrill sleeps with its own lock released: this is when its
		 * system-call thread records the result of a blocking call that
		 * just returned (the descriptor accept() made, say). In virtual
		 * time the sleep takes no time, so wait (in real time) for that
		 * thread to finish and sleep again, as packetdrill itself does. */
		pd->post_return = 0;
		pthread_mutex_unlock(&pd->mu);
		struct timespec t0, t;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			sched_yield();
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (!thread_sleeping(pd->sys_tid) &&
			 (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < PD_SETTLE_REAL_MS);
		pthread_mutex_lock(&pd->mu);
	}
	advance(pd, pd->now + (uint64_t)usec * US, 0);
	pthread_cond_broadcast(&pd->cv);
	pthread_mutex_unlock(&pd->mu);
	return 0;
}

static int pd_gettimeofday(void *ud, struct timeval *tv, struct timezone *tz)
{
	struct pd *pd = ud;
	(void)tz;
	pthread_mutex_lock(&pd->mu);
	if (!is_main(pd) && pd->returning) {
		pd->returning = 0;   /* the blocked call's finish time is read now */
		pthread_cond_broadcast(&pd->cv);
	} else {
		/* packetdrill spins on the clock until an event's time (the
		 * system-call thread too, before a call, while the main thread
		 * waits for it): make it move, 1 us a call, well inside every
		 * tolerance. */
		settle(pd);
		advance(pd, pd->now + PD_GTOD_STEP_NS, 0);
	}
	uint64_t us = PD_EPOCH * 1000000ull + (pd->now - PD_T0) / US;
	tv->tv_sec = (time_t)(us / 1000000ull);
	tv->tv_usec = (suseconds_t)(us % 1000000ull);
	pthread_mutex_unlock(&pd->mu);
	return 0;
}

/* ---- set-up ---------------------------------------------------------------- */

static void pd_free(void *ud)
{
	struct pd *pd = ud;
	pthread_mutex_lock(&pd->mu);
	/* packetdrill has closed the descriptors of the sockets left open. */
	if (pd->st) {
		for (int fd = 0; fd < PD_MAX_FDS; fd++)
			if (pd->fds[fd].kind == FD_SOCK)
				us_close(pd->st, pd->fds[fd].us);
		uint32_t leaks = us_stack_free_leaks(pd->st);
		if (leaks) {
			fprintf(stderr, "packetdrill-ustack: %u packet buffers leaked\n", leaks);
			abort();
		}
	}
	for (struct pd_pkt *p = pd->in_head, *n; p; p = n)
		n = p->next, free(p);
	for (struct pd_pkt *p = pd->out_head, *n; p; p = n)
		n = p->next, free(p);
	pthread_mutex_unlock(&pd->mu);
	pthread_mutex_destroy(&pd->mu);
	pthread_cond_destroy(&pd->cv);
	free(pd);
}

static void parse_flags(struct pd *pd, const char *flags)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", flags ? flags : "");
	for (char *save = NULL, *tok = strtok_r(buf, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
		if (!strncmp(tok, "local_ip=", 9)) {
			/* An IPv4 or an IPv6 address: the family of the run
			 * (packetdrill's --ip_version). */
			if (inet_pton(AF_INET, tok + 9, &pd->local) == 1)
				pd->family = AF_INET;
			else if (inet_pton(AF_INET6, tok + 9, &pd->local6) == 1)
				pd->family = AF_INET6;
			else
				fprintf(stderr, "packetdrill-ustack: bad local_ip %s\n", tok + 9), exit(EXIT_FAILURE);
		} else if (!strncmp(tok, "prefix=", 7)) {
			pd->prefix = atoi(tok + 7);
		} else if (!strncmp(tok, "mtu=", 4)) {
			pd->mtu = (uint32_t)atoi(tok + 4);
		} else if (!strncmp(tok, "seed=", 5)) {
			pd->seed = strtoull(tok + 5, NULL, 0);
		} else if (!strcmp(tok, "verbose")) {
			pd->verbose = 1;
		} else {
			fprintf(stderr, "packetdrill-ustack: unknown so_flag %s\n", tok);
			exit(EXIT_FAILURE);
		}
	}
}

/* packetdrill's scripts change the sysctls of the namespace they run in:
 * refuse to run in the machine's own. */
static void check_private_netns(void)
{
	char self[64] = "", init[64] = "";
	ssize_t a = readlink("/proc/self/ns/net", self, sizeof(self) - 1);
	ssize_t b = readlink("/proc/1/ns/net", init, sizeof(init) - 1);
	if (a > 0 && b > 0 && !strcmp(self, init)) {
		fprintf(stderr, "packetdrill-ustack: refusing to run in the machine's own network namespace "
				"(the scripts set sysctls): run under unshare -n\n");
		exit(EXIT_FAILURE);
	}
}

static void fail_init(const char *what)
{
	fprintf(stderr, "packetdrill-ustack: %s\n", what);
	exit(EXIT_FAILURE);
}

EXPORT void packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc)
{
	check_private_netns();
	struct pd *pd = calloc(1, sizeof(*pd));
	if (!pd)
		fail_init("out of memory");
	pthread_mutex_init(&pd->mu, NULL);
	pthread_cond_init(&pd->cv, NULL);
	pd->main_thread = pthread_self();
	inet_pton(AF_INET, "192.168.0.1", &pd->local);
	pd->family = AF_INET;
	pd->prefix = -1;
	pd->mtu = 1500;
	pd->seed = 42;
	for (int i = 0; i < PD_MAX_FDS; i++)
		pd->us_to_fd[i] = -1;
	parse_flags(pd, flags);
	if (pd->prefix < 0)
		pd->prefix = pd->family == AF_INET6 ? 64 : 16;

	struct us_stack_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = pd->seed;
	cfg.max_sockets = 256;
	pd->st = us_stack_new(&cfg);
	if (!pd->st)
		fail_init("us_stack_new failed");
	struct us_device_info info = {.name = "pd0", .l3 = 1, .mtu = pd->mtu, .fd = -1};
	struct us_link *l = us_link_device_zc_new(&pd_link_ops, pd, &info);
	if (!l)
		fail_init("cannot make the link");
	pd->ifx = us_iface_add(pd->st, l);
	if (pd->ifx < 0)
		fail_init("us_iface_add failed");
	/* The address, and a default route of its family out of the link. */
	struct sockaddr_storage la, any;
	memset(&la, 0, sizeof(la));
	memset(&any, 0, sizeof(any));
	la.ss_family = any.ss_family = (sa_family_t)pd->family;
	if (pd->family == AF_INET6)
		((struct sockaddr_in6 *)&la)->sin6_addr = pd->local6;
	else
		((struct sockaddr_in *)&la)->sin_addr = pd->local;
	if (us_iface_set_mtu(pd->st, pd->ifx, pd->mtu) < 0 ||
	    us_iface_addr_add_sa(pd->st, pd->ifx, (struct sockaddr *)&la, pd->prefix) < 0 ||
	    us_route_add_sa(pd->st, (struct sockaddr *)&any, 0, NULL, pd->ifx) < 0)
		fail_init("interface set-up failed");
	pd->now = PD_T0;
	us_stack_timers(pd->st, pd->now);
	us_iface_up(pd->st, pd->ifx);
	sync_sysctls(pd);

	/* preload.c, if packetdrill runs with it: Python code blocks' TCP_INFO. */
	pd_preload_register_fn reg = (pd_preload_register_fn)dlsym(RTLD_DEFAULT, "pd_preload_register");
	if (reg)
		reg(preload_getsockopt, pd);
	/* The scripts' shell commands need none of what was preloaded. */
	unsetenv("LD_PRELOAD");

	memset(ifc, 0, sizeof(*ifc));
	ifc->userdata = pd;
	ifc->free = pd_free;
	ifc->socket = pd_socket;
	ifc->bind = pd_bind;
	ifc->listen = pd_listen;
	ifc->accept = pd_accept;
	ifc->connect = pd_connect;
	ifc->read = pd_read;
	ifc->readv = pd_readv;
	ifc->recv = pd_recv;
	ifc->recvfrom = pd_recvfrom;
	ifc->recvmsg = pd_recvmsg;
	ifc->write = pd_write;
	ifc->writev = pd_writev;
	ifc->send = pd_send;
	ifc->sendto = pd_sendto;
	ifc->sendmsg = pd_sendmsg;
	ifc->fcntl = pd_fcntl;
	ifc->ioctl = pd_ioctl;
	ifc->close = pd_close;
	ifc->shutdown = pd_shutdown;
	ifc->getsockopt = pd_getsockopt;
	ifc->setsockopt = pd_setsockopt;
	ifc->poll = pd_poll;
	ifc->netdev_send = pd_netdev_send;
	ifc->netdev_receive = pd_netdev_receive;
	ifc->usleep = pd_usleep;
	ifc->gettimeofday = pd_gettimeofday;
	ifc->epoll_create = pd_epoll_create;
	ifc->epoll_ctl = pd_epoll_ctl;
	ifc->epoll_wait = pd_epoll_wait;
	ifc->pipe = pd_pipe;
	ifc->splice = pd_splice;
}
