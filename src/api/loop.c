/* A small epoll loop that drives a stack with CLOCK_MONOTONIC: wake on
 * device fds, application fds or the next timer; then input, timers and
 * application callbacks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "stack.h"
#include "net/iface.h"
#include "link/link.h"

#define LOOP_MAX_FDS 65536       /* application fds watched at once */
#define LOOP_FD_INDEX 65536      /* fds below this are found without a scan */

struct loop_fd {
	int fd;
	int used;
	us_fd_cb cb;
	void *arg;
};

struct us_loop {
	struct us_stack *st;
	int ep;
	volatile int stop;
	uint64_t busy_ns;            /* poll without sleeping this long after input */
	uint64_t last_input;         /* when a pass last took frames in */
	int next_free;               /* where the search for a free slot starts */
	int by_fd[LOOP_FD_INDEX];    /* slot + 1 of an fd, 0 if none */
	struct loop_fd fds[LOOP_MAX_FDS];
};

/* epoll data tags: devices are negative (-ifindex), app fds their slot. */

uint64_t us_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct us_loop *us_loop_new(struct us_stack *st)
{
	struct us_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->st = st;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		free(l);
		return NULL;
	}
	for (int i = 0; i < US_MAX_IFACES; i++) {
		struct us_iface *ifc = &st->ifaces[i];
		if (!ifc->index || ifc->link->fd < 0)
			continue;
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(-(int64_t)ifc->index)};
		epoll_ctl(l->ep, EPOLL_CTL_ADD, ifc->link->fd, &ev);
	}
	return l;
}

void us_loop_free(struct us_loop *l)
{
	if (!l)
		return;
	close(l->ep);
	free(l);
}

static int find_slot(struct us_loop *l, int fd)
{
	if (fd >= 0 && fd < LOOP_FD_INDEX)
		return l->by_fd[fd] - 1;
	for (int i = 0; i < LOOP_MAX_FDS; i++)
		if (l->fds[i].used && l->fds[i].fd == fd)
			return i;
	return -1;
}

int us_loop_add_fd(struct us_loop *l, int fd, unsigned events, us_fd_cb cb, void *arg)
{
	for (int k = 0; k < LOOP_MAX_FDS; k++) {
		int i = (l->next_free + k) % LOOP_MAX_FDS;
		if (l->fds[i].used)
			continue;
		struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)i};
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		l->fds[i] = (struct loop_fd){fd, 1, cb, arg};
		if (fd >= 0 && fd < LOOP_FD_INDEX)
			l->by_fd[fd] = i + 1;
		l->next_free = (i + 1) % LOOP_MAX_FDS;
		return 0;
	}
	return -ENOSPC;
}

int us_loop_mod_fd(struct us_loop *l, int fd, unsigned events)
{
	int i = find_slot(l, fd);
	if (i < 0)
		return -ENOENT;
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)i};
	return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int us_loop_del_fd(struct us_loop *l, int fd)
{
	int i = find_slot(l, fd);
	if (i < 0)
		return -ENOENT;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	l->fds[i].used = 0;
	if (fd >= 0 && fd < LOOP_FD_INDEX)
		l->by_fd[fd] = 0;
	return 0;
}

void us_loop_stop(struct us_loop *l) { l->stop = 1; }

void us_loop_set_busy_poll(struct us_loop *l, unsigned usec) { l->busy_ns = (uint64_t)usec * 1000u; }

int us_loop_run(struct us_loop *l, int timeout_ms)
{
	struct epoll_event evs[64];
	uint64_t start = us_now_ns();
	uint64_t end = timeout_ms >= 0 ? start + (uint64_t)timeout_ms * 1000000ull : UINT64_MAX;
	l->stop = 0;
	while (!l->stop) {
		uint64_t now = us_now_ns();
		if (now >= end)
			break;
		int64_t dl = us_stack_next_deadline(l->st);
		int64_t wait_ns = -1;
		if (us_stack_has_pending(l->st))
			wait_ns = 0;
		else if (dl >= 0)
			wait_ns = dl > (int64_t)now ? dl - (int64_t)now : 0;
		if (end != UINT64_MAX && (wait_ns < 0 || (uint64_t)wait_ns > end - now))
			wait_ns = (int64_t)(end - now);
		/* Busy polling: right after input, look again instead of sleeping
		 * (no wakeup, no cross-CPU interrupt per burst, at the price of a
		 * CPU spinning for busy_ns after the last frame). */
		if (l->busy_ns && now - l->last_input < l->busy_ns)
			wait_ns = 0;
		/* Round up so we never wake a hair before a deadline and spin. */
		int wait_ms = wait_ns < 0 ? -1 : (int)((wait_ns + 999999) / 1000000);
		int n = epoll_wait(l->ep, evs, 64, wait_ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		now = us_now_ns();
		if (us_stack_input(l->st, now) > 0)
			l->last_input = now;
		for (int i = 0; i < n; i++) {
			int64_t tag = (int64_t)evs[i].data.u64;
			if (tag < 0)
				continue;   /* a device: drained above */
			struct loop_fd *f = &l->fds[tag];
			if (f->used && f->cb)
				f->cb(l, f->fd, evs[i].events, f->arg);
		}
		us_stack_timers(l->st, us_now_ns());
	}
	return 0;
}
