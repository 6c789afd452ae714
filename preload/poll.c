/* Readiness across both worlds: poll, select and epoll on sets that mix
 * ustack sockets and kernel fds.
 *
 * poll/select: the ustack sockets are asked first (under the lock); if one
 * is ready, or the call must not wait, the kernel fds are polled with a zero
 * timeout and the two merged. Otherwise the thread registers as a waiter on
 * each ustack socket and sleeps in the kernel's ppoll on the kernel fds plus
 * its own wake object, which the stack's callback pokes.
 *
 * epoll: the epoll fd is a real kernel epoll instance holding the kernel
 * fds, plus a "bell" (a wake object) standing for the ustack sockets. Those
 * are kept here: registrations with events and data, and a ready list that
 * the callback fills and epoll_wait drains, level-triggered registrations
 * staying on it while they are ready, edge-triggered and one-shot ones
 * leaving it when reported (as Linux's ep_send_events). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

unsigned ps_events_to_us(unsigned ev)
{
	unsigned u = 0;
	if (ev & (POLLIN | POLLRDNORM))
		u |= US_POLLIN;
	if (ev & (POLLOUT | POLLWRNORM))
		u |= US_POLLOUT;
	if (ev & POLLRDHUP)
		u |= US_POLLRDHUP;
	return u;
}

unsigned ps_events_from_us(unsigned u)
{
	unsigned ev = 0;
	if (u & US_POLLIN)
		ev |= POLLIN | POLLRDNORM;
	if (u & US_POLLOUT)
		ev |= POLLOUT | POLLWRNORM | POLLWRBAND;
	if (u & US_POLLERR)
		ev |= POLLERR;
	if (u & US_POLLHUP)
		ev |= POLLHUP;
	if (u & US_POLLRDHUP)
		ev |= POLLRDHUP;
	return ev;
}

static struct timespec *ts_of(int64_t deadline, struct timespec *ts)
{
	if (deadline < 0)
		return NULL;
	int64_t left = deadline - ps_now();
	if (left < 0)
		left = 0;
	ts->tv_sec = left / 1000000000ll;
	ts->tv_nsec = left % 1000000000ll;
	return ts;
}

/* ---- poll ------------------------------------------------------------------ */

int ps_poll(struct pollfd *fds, nfds_t n, int64_t deadline, const sigset_t *mask)
{
	if (n > 1048576)
		return -EINVAL;
	struct ps_sock *sks_local[64], **sks = sks_local;
	unsigned evs_local[64], *evs = evs_local;
	int idx_local[64], *uidx = idx_local;
	struct pollfd kf_local[64], *kf = kf_local;
	int kidx_local[64], *kidx = kidx_local;
	if (n > 64) {
		sks = malloc(n * sizeof(*sks));
		evs = malloc(n * sizeof(*evs));
		uidx = malloc(n * sizeof(*uidx));
		kf = malloc(n * sizeof(*kf));
		kidx = malloc(n * sizeof(*kidx));
		if (!sks || !evs || !uidx || !kf || !kidx) {
			free(sks), free(evs), free(uidx), free(kf), free(kidx);
			return -ENOMEM;
		}
	}
	int nu = 0, nk = 0, ret;
	ps_lock();
	for (nfds_t i = 0; i < n; i++) {
		struct ps_obj *o = fds[i].fd >= 0 ? ps_fd_peek(fds[i].fd) : NULL;
		fds[i].revents = 0;
		if (o && o->kind == PS_SOCK) {
			sks[nu] = (struct ps_sock *)o;
			evs[nu] = ps_events_to_us((unsigned short)fds[i].events);
			uidx[nu++] = (int)i;
		} else {
			kf[nk] = fds[i];
			kidx[nk++] = (int)i;
		}
	}
	for (;;) {
		int cnt = 0;
		for (int j = 0; j < nu; j++) {
			unsigned got = ps_events_from_us(ps_sock_events(sks[j])) &
				       ((unsigned short)fds[uidx[j]].events | POLLERR | POLLHUP);
			fds[uidx[j]].revents = (short)got;
			if (got)
				cnt++;
		}
		int timed_out = deadline >= 0 && ps_now() >= deadline;
		if (cnt || timed_out) {
			ps_unlock();
			struct timespec zero = {0, 0};
			int k = nk ? R.ppoll(kf, (nfds_t)nk, &zero, NULL) : 0;
			if (k < 0)
				k = 0;
			for (int j = 0; j < nk; j++)
				fds[kidx[j]].revents = kf[j].revents;
			ret = cnt + k;
			break;
		}
		for (int j = 0; j < nk; j++)
			kf[j].revents = 0;
		int r = ps_block(sks, evs, nu, kf, nk, deadline, mask);
		if (r < 0) {
			ps_unlock();
			ret = r;
			break;
		}
		int k = 0;
		for (int j = 0; j < nk; j++) {
			fds[kidx[j]].revents = kf[j].revents;
			if (kf[j].revents)
				k++;
		}
		if (k) {
			for (int j = 0; j < nu; j++) {
				unsigned got = ps_events_from_us(ps_sock_events(sks[j])) &
					       ((unsigned short)fds[uidx[j]].events | POLLERR | POLLHUP);
				fds[uidx[j]].revents = (short)got;
				if (got)
					k++;
			}
			ps_unlock();
			ret = k;
			break;
		}
		/* woken by the stack (or the deadline): look again */
	}
	if (n > 64)
		free(sks), free(evs), free(uidx), free(kf), free(kidx);
	return ret;
}

int ps_select(int nfds, fd_set *r, fd_set *w, fd_set *e, int64_t deadline, const sigset_t *mask)
{
	if (nfds < 0 || nfds > FD_SETSIZE)
		nfds = nfds < 0 ? -1 : FD_SETSIZE;
	if (nfds < 0)
		return -EINVAL;
	struct pollfd pf[FD_SETSIZE];
	int np = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = 0;
		if (r && FD_ISSET(fd, r))
			ev |= POLLIN;
		if (w && FD_ISSET(fd, w))
			ev |= POLLOUT;
		if (e && FD_ISSET(fd, e))
			ev |= POLLPRI;
		if (ev)
			pf[np++] = (struct pollfd){fd, ev, 0};
	}
	int rc = ps_poll(pf, (nfds_t)np, deadline, mask);
	if (rc < 0)
		return rc;
	for (int i = 0; i < np; i++)
		if (pf[i].revents & POLLNVAL)
			return -EBADF;
	if (r)
		FD_ZERO(r);
	if (w)
		FD_ZERO(w);
	if (e)
		FD_ZERO(e);
	int cnt = 0;
	for (int i = 0; i < np; i++) {
		short rv = pf[i].revents, ev = pf[i].events;
		if ((ev & POLLIN) && (rv & (POLLIN | POLLHUP | POLLERR))) {
			FD_SET(pf[i].fd, r);
			cnt++;
		}
		if ((ev & POLLOUT) && (rv & (POLLOUT | POLLERR))) {
			FD_SET(pf[i].fd, w);
			cnt++;
		}
		if ((ev & POLLPRI) && (rv & POLLPRI)) {
			FD_SET(pf[i].fd, e);
			cnt++;
		}
	}
	return cnt;
}

/* ---- epoll ------------------------------------------------------------------- */

int ps_epoll_create(int flags)
{
	if (flags & ~EPOLL_CLOEXEC)
		return -EINVAL;
	int kfd = R.epoll_create1(flags);
	if (kfd < 0)
		return -errno;
	ps_lock();
	struct ps_epoll *ep = us_shm_calloc(1, sizeof(*ep));
	int bfd = -1, wid = ep ? ps_wake_new(&bfd) : -ENOMEM;
	if (wid < 0) {
		us_shm_free(ep);
		ps_unlock();
		R.close(kfd);
		return wid;
	}
	ep->o.kind = PS_EPOLL;
	ep->kfd = kfd;
	ep->bell_wid = wid;
	ep->bell_fd = bfd;
	ps_internal_fd(bfd, 1);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(uintptr_t)ep};
	R.epoll_ctl(kfd, EPOLL_CTL_ADD, bfd, &ev);
	int r = ps_fd_set(kfd, &ep->o, flags & EPOLL_CLOEXEC);
	ps_unlock();
	if (r < 0) {
		R.close(kfd);
		return r;
	}
	return kfd;
}

static void rdy_append(struct ps_epoll *ep, struct ps_reg *r)
{
	r->rdy_next = NULL;
	if (ep->rdy_tail)
		ep->rdy_tail->rdy_next = r;
	else
		ep->rdy_head = r;
	ep->rdy_tail = r;
	r->on_ready = 1;
}

static void rdy_remove(struct ps_epoll *ep, struct ps_reg *r)
{
	if (!r->on_ready)
		return;
	struct ps_reg *prev = NULL;
	for (struct ps_reg *x = ep->rdy_head; x; prev = x, x = x->rdy_next)
		if (x == r) {
			if (prev)
				prev->rdy_next = r->rdy_next;
			else
				ep->rdy_head = r->rdy_next;
			if (ep->rdy_tail == r)
				ep->rdy_tail = prev;
			break;
		}
	r->on_ready = 0;
	r->rdy_next = NULL;
}

static unsigned reg_want(const struct ps_reg *r) { return ps_events_to_us(r->events) | US_POLLERR | US_POLLHUP; }

static void reg_check(struct ps_reg *r, unsigned usev)
{
	if (r->disabled || !(usev & reg_want(r)))
		return;
	if (!r->on_ready)
		rdy_append(r->ep, r);
	if (!r->ep->bell_armed) {
		r->ep->bell_armed = 1;
		ps_wake_send(r->ep->bell_wid);
	}
}

void ps_epoll_sock_changed(struct ps_sock *sk, unsigned ev)
{
	for (struct ps_reg *r = sk->regs; r; r = r->sk_next)
		reg_check(r, ev);
}

static void reg_unlink(struct ps_reg *r, int from_sock, int from_ep)
{
	if (from_sock)
		for (struct ps_reg **pp = &r->sk->regs; *pp; pp = &(*pp)->sk_next)
			if (*pp == r) {
				*pp = r->sk_next;
				break;
			}
	if (from_ep)
		for (struct ps_reg **pp = &r->ep->regs; *pp; pp = &(*pp)->ep_next)
			if (*pp == r) {
				*pp = r->ep_next;
				break;
			}
	rdy_remove(r->ep, r);
}

void ps_epoll_sock_gone(struct ps_sock *sk)
{
	while (sk->regs) {
		struct ps_reg *r = sk->regs;
		sk->regs = r->sk_next;
		reg_unlink(r, 0, 1);
		us_shm_free(r);
	}
}

void ps_epoll_destroy(struct ps_epoll *ep)
{
	while (ep->regs) {
		struct ps_reg *r = ep->regs;
		ep->regs = r->ep_next;
		reg_unlink(r, 1, 0);
		us_shm_free(r);
	}
	ps_internal_fd(ep->bell_fd, 0);
	R.close(ep->bell_fd);
	us_shm_free(ep);
}

#define EPOLL_KNOWN (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | \
		     EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP | EPOLLEXCLUSIVE | EPOLLWAKEUP | EPOLLONESHOT | EPOLLET)

int ps_epoll_ctl(struct ps_epoll *ep, int op, int fd, struct epoll_event *ev)
{
	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return -EINVAL;
	if (op != EPOLL_CTL_DEL && !ev)
		return -EFAULT;
	struct ps_obj *o = ps_fd_peek(fd);
	if (!o || o->kind != PS_SOCK) {
		/* a kernel fd (or another epoll instance): the kernel's own */
		if (R.epoll_ctl(ep->kfd, op, fd, ev) < 0)
			return -errno;
		return 0;
	}
	struct ps_sock *sk = (struct ps_sock *)o;
	if (ev && (ev->events & EPOLLEXCLUSIVE) &&
	    (op == EPOLL_CTL_MOD || (ev->events & ~(uint32_t)(EPOLLEXCLUSIVE | EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP |
							       EPOLLWAKEUP | EPOLLET | EPOLLRDHUP | EPOLLPRI))))
		return -EINVAL;
	ps_lock();
	struct ps_reg *r;
	for (r = sk->regs; r; r = r->sk_next)
		if (r->ep == ep && r->fd == fd)
			break;
	int rc = 0;
	switch (op) {
	case EPOLL_CTL_ADD:
		if (r) {
			rc = -EEXIST;
			break;
		}
		r = us_shm_calloc(1, sizeof(*r));
		if (!r) {
			rc = -ENOMEM;
			break;
		}
		r->ep = ep;
		r->sk = sk;
		r->fd = fd;
		r->events = ev->events & EPOLL_KNOWN;
		r->data = ev->data.u64;
		r->sk_next = sk->regs;
		sk->regs = r;
		r->ep_next = ep->regs;
		ep->regs = r;
		reg_check(r, ps_sock_events(sk));
		break;
	case EPOLL_CTL_MOD:
		if (!r) {
			rc = -ENOENT;
			break;
		}
		r->events = (ev->events & EPOLL_KNOWN) | (r->events & EPOLLEXCLUSIVE);
		r->data = ev->data.u64;
		r->disabled = 0;
		reg_check(r, ps_sock_events(sk));
		break;
	default:
		if (!r) {
			rc = -ENOENT;
			break;
		}
		reg_unlink(r, 1, 1);
		us_shm_free(r);
		break;
	}
	ps_unlock();
	return rc;
}

/* ustack events ready on ep, into evs (lock held). */
static int collect(struct ps_epoll *ep, struct epoll_event *evs, int max)
{
	int n = 0;
	struct ps_reg *tail = ep->rdy_tail;   /* visit each one once */
	while (n < max && ep->rdy_head) {
		struct ps_reg *r = ep->rdy_head;
		ep->rdy_head = r->rdy_next;
		if (!ep->rdy_head)
			ep->rdy_tail = NULL;
		r->rdy_next = NULL;
		r->on_ready = 0;
		unsigned got = r->disabled ? 0 : ps_sock_events(r->sk) & reg_want(r);
		if (got) {
			evs[n].events = ps_events_from_us(got) & (r->events | EPOLLERR | EPOLLHUP);
			evs[n].data.u64 = r->data;
			n++;
			if (r->events & EPOLLONESHOT)
				r->disabled = 1;
			else if (!(r->events & EPOLLET))
				rdy_append(ep, r);   /* level-triggered: stays while ready */
		}
		if (r == tail)
			break;
	}
	return n;
}

static int filter_bell(struct ps_epoll *ep, struct epoll_event *evs, int k, int *bell)
{
	int out = 0;
	for (int i = 0; i < k; i++) {
		if (evs[i].data.u64 == (uint64_t)(uintptr_t)ep) {
			*bell = 1;
			continue;
		}
		evs[out++] = evs[i];
	}
	return out;
}

int ps_epoll_wait(struct ps_epoll *ep, struct epoll_event *evs, int max, int64_t deadline, const sigset_t *mask)
{
	if (max <= 0 || max > 1 << 20)
		return -EINVAL;
	if (!evs)
		return -EFAULT;
	for (;;) {
		ps_lock();
		if (ep->bell_armed) {
			ps_wake_drain(ep->bell_fd);
			ep->bell_armed = 0;
		}
		int n = collect(ep, evs, max);
		ps_unlock();
		if (n) {
			int bell = 0;
			int k = n < max ? R.epoll_pwait(ep->kfd, evs + n, max - n, 0, NULL) : 0;
			if (k < 0)
				k = 0;
			return n + filter_bell(ep, evs + n, k, &bell);
		}
		struct timespec ts, *tp = ts_of(deadline, &ts);
		int k;
		if (R.epoll_pwait2)
			k = R.epoll_pwait2(ep->kfd, evs, max, tp, mask);
		else
			k = R.epoll_pwait(ep->kfd, evs, max, tp ? (int)((tp->tv_sec * 1000000000ll + tp->tv_nsec + 999999) / 1000000) : -1,
					  mask);
		if (k < 0)
			return -errno;
		int bell = 0;
		k = filter_bell(ep, evs, k, &bell);
		if (k && bell && k < max) {
			ps_lock();
			if (ep->bell_armed) {
				ps_wake_drain(ep->bell_fd);
				ep->bell_armed = 0;
			}
			k += collect(ep, evs + k, max - k);
			ps_unlock();
		}
		if (k)
			return k;
		if (!bell)
			return 0;   /* the deadline */
		if (deadline >= 0 && ps_now() >= deadline) {
			ps_lock();
			int m = collect(ep, evs, max);
			ps_unlock();
			return m;
		}
	}
}
