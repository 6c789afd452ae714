/* ustack relay: TCP flows. Each connection routed into the TUN device is
 * taken by the transparent listener with its handshake deferred: the
 * client's SYN is answered only once the upstream connection exists (a
 * refused or unreachable destination becomes a RST: "connection refused").
 * Half close is carried both ways; each direction moves through a bounded
 * buffer, so a slow reader on either side stops the reading on the other
 * (ustack's window or the kernel socket's buffer fills). */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

/* Each flow's buffers (the stack's rings) start small, so an idle flow
 * costs little, and double whenever the relay finds one mostly full, up
 * to --tcp-buffer: a bulk flow reaches full size within a few round
 * trips. */
#define TCP_BUF_INITIAL (4u << 10)

enum { T_CONNECTING, T_SOCKS, T_OPEN };
static const char *tstate_name[] = {"connecting", "socks", "open"};

struct tflow {
	struct relay *r;
	struct tflow *prev, *next;
	int us, kfd;
	uint8_t state;
	uint8_t c_eof, k_eof, k_shut, us_shut;
	unsigned kmask;
	struct relay_ep client, dst;
	char *domain;                 /* fake-DNS name for dst, or NULL */
	struct socks5_client *socks;  /* during the SOCKS5 handshake only */
	uint8_t established;          /* the client's handshake is complete */
	uint32_t rcv_cap, snd_cap;    /* the ustack socket's buffers now */
	uint64_t grow_after;          /* a refused growth is tried again after this */
	uint64_t created, last, bytes_up, bytes_down;
};

static void tflow_kev(struct us_loop *loop, int fd, unsigned ev, void *arg);
static void tflow_usev(struct us_stack *st, int s, unsigned ev, void *arg);
static void tflow_pump(struct tflow *f);

static void tflow_free(struct tflow *f)
{
	struct relay *r = f->r;
	if (f->kfd >= 0) {
		us_loop_del_fd(r->loop, f->kfd);
		close(f->kfd);
	}
	if (f->us >= 0)
		us_close(r->st, f->us);
	relay_mem_give(r, sizeof(*f));
	if (f->socks)
		relay_mem_give(r, sizeof(*f->socks));
	free(f->socks);
	free(f->domain);
	if (f->prev)
		f->prev->next = f->next;
	else
		r->tflows = f->next;
	if (f->next)
		f->next->prev = f->prev;
	r->n_tflows--;
	free(f);
}

/* Refuse or reset the client, reset upstream, forget the flow. */
static void tflow_abort(struct tflow *f, int reset_upstream)
{
	if (f->us >= 0)
		us_accept_finish(f->r->st, f->us, 0);
	if (reset_upstream && f->kfd >= 0) {
		struct linger lg = {1, 0};
		setsockopt(f->kfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	tflow_free(f);
}

static void kfd_want(struct tflow *f, unsigned mask)
{
	if (f->kfd < 0 || mask == f->kmask)
		return;
	us_loop_mod_fd(f->r->loop, f->kfd, mask);
	f->kmask = mask;
}

static void tflow_open(struct tflow *f)
{
	struct relay *r = f->r;
	f->state = T_OPEN;
	if (f->socks)
		relay_mem_give(r, sizeof(*f->socks));
	free(f->socks);
	f->socks = NULL;
	r->c.TcpOpened++;
	us_accept_finish(r->st, f->us, 1);   /* now the SYN-ACK */
	f->last = us_now_ns();
	tflow_pump(f);
}

static void tflow_fail(struct tflow *f, uint64_t *counter)
{
	(*counter)++;
	f->r->c.TcpRefused++;
	tflow_abort(f, 1);
}

static void tflow_socks(struct tflow *f)
{
	struct relay *r = f->r;
	int rc = relay_socks_drive(f->kfd, f->socks);
	if (rc == 0)
		return;
	if (rc > 0) {
		tflow_open(f);
		return;
	}
	if (f->socks->state == SOCKS5_FAILED && f->socks->error == SOCKS5_ERR_REPLY) {
		/* The proxy could not reach it (refused, unreachable, not
		 * allowed): the client gets a RST. */
		r->last_upstream_errno = 1000 + f->socks->rep;
		tflow_fail(f, &r->c.TcpUpstreamFailed);
		return;
	}
	tflow_fail(f, &r->c.TcpSocksFailed);
}

static void tflow_kev(struct us_loop *loop, int fd, unsigned ev, void *arg)
{
	(void)loop;
	(void)fd;
	struct tflow *f = arg;
	struct relay *r = f->r;
	if (f->state == T_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(f->kfd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err || (ev & (EPOLLERR | EPOLLHUP))) {
			r->last_upstream_errno = err ? err : EPIPE;
			tflow_fail(f, r->direct ? &r->c.TcpUpstreamFailed : &r->c.TcpSocksFailed);
			return;
		}
		if (!(ev & EPOLLOUT))
			return;
		if (r->direct) {
			tflow_open(f);
			return;
		}
		struct socks5_addr dst;
		relay_ep_socks(&f->dst, f->domain, &dst);
		if (relay_mem_take(r, sizeof(*f->socks)) < 0) {
			tflow_fail(f, &r->c.TcpNoMemory);
			return;
		}
		if (!(f->socks = malloc(sizeof(*f->socks)))) {
			relay_mem_give(r, sizeof(*f->socks));
			tflow_fail(f, &r->c.TcpNoMemory);
			return;
		}
		socks5_client_init(f->socks, SOCKS5_CMD_CONNECT, &dst, r->user, r->pass);
		f->state = T_SOCKS;
		kfd_want(f, EPOLLIN);
		tflow_socks(f);
		return;
	}
	if (f->state == T_SOCKS) {
		tflow_socks(f);
		return;
	}
	tflow_pump(f);
}

static void tflow_usev(struct us_stack *st, int s, unsigned ev, void *arg)
{
	(void)st;
	(void)s;
	struct tflow *f = arg;
	if (f->state == T_OPEN)
		tflow_pump(f);
	else if (ev & (US_POLLERR | US_POLLHUP)) {
		/* The client gave up (RST) before the upstream side was ready. */
		f->r->c.TcpClientResets++;
		tflow_abort(f, 1);
	}
}

/* Data moves only once the client's handshake is complete. 1: ready, 0:
 * not yet, -1: the flow is gone. */
static int tflow_ready(struct tflow *f)
{
	struct relay *r = f->r;
	if (f->established)
		return 1;
	struct us_tcp_info ti;
	socklen_t tl = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (us_getsockopt(r->st, f->us, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0)
		ti.state = US_TCP_CLOSED;   /* no connection: reset below */
	if (ti.state == US_TCP_SYN_RECEIVED) {
		kfd_want(f, 0);   /* the server waits too, in the kernel's buffers */
		return 0;
	}
	if (ti.state != US_TCP_ESTABLISHED && ti.state != US_TCP_CLOSE_WAIT) {
		r->c.TcpClientResets++;
		tflow_abort(f, 1);
		return -1;
	}
	f->established = 1;
	return 1;
}

static uint32_t sockbuf(struct relay *r, int s, int name)
{
	int v = 0;
	socklen_t l = sizeof(v);
	if (us_getsockopt(r->st, s, SOL_SOCKET, name, &v, &l) < 0)
		return 0;
	return v > 0 ? (uint32_t)v : 0;
}

/* Doubles one of the flow's buffers (SO_RCVBUF: client -> upstream,
 * SO_SNDBUF: upstream -> client) up to --tcp-buffer; the stack refuses
 * past its memory-pressure mark, and then it is tried again a second
 * later. */
static void tflow_grow(struct tflow *f, int name)
{
	struct relay *r = f->r;
	uint32_t *cap = name == SO_RCVBUF ? &f->rcv_cap : &f->snd_cap;
	if (*cap >= r->tcp_buffer)
		return;
	uint64_t now = us_now_ns();
	if (now < f->grow_after)
		return;
	uint32_t want = *cap * 2 < r->tcp_buffer ? *cap * 2 : r->tcp_buffer;
	int v = (int)(want / 2);   /* the stack doubles it, as Linux does */
	if (us_setsockopt(r->st, f->us, SOL_SOCKET, name, &v, sizeof(v)) < 0)
		f->grow_after = now + NS;
	*cap = sockbuf(r, f->us, name);
}

/* Move what can move both ways, never blocking. No buffer of the relay's
 * own: bytes go from the kernel socket straight into the ustack socket's
 * send buffer (readv) and from its receive buffer straight into the kernel
 * socket (writev), so each direction is bounded by those two buffers. */
static void tflow_pump(struct tflow *f)
{
	struct relay *r = f->r;
	if (tflow_ready(f) <= 0)
		return;
	int progress = 1, up_blocked = 0, down_room = 0, k_dry = 0;
	for (int round = 0; progress && round < 64; round++) {
		progress = 0;
		struct iovec iov[2];
		int cnt;
		/* client -> upstream */
		up_blocked = 0;
		if (!f->c_eof) {
			ssize_t n = us_recv_zc(r->st, f->us, iov, &cnt);
			if (n > 0 && (size_t)n >= f->rcv_cap / 4 * 3) {
				tflow_grow(f, SO_RCVBUF);   /* it filled while we looked away */
				n = us_recv_zc(r->st, f->us, iov, &cnt);
			}
			if (n > 0) {
				struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
				ssize_t w = sendmsg(f->kfd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
				if (w > 0) {
					us_recv_done(r->st, f->us, (size_t)w);
					f->bytes_up += (uint64_t)w;
					r->c.TcpBytesUp += (uint64_t)w;
					if (f->client.family == AF_INET6)
						r->c.TcpBytesUp6 += (uint64_t)w;
					progress = 1;
					up_blocked = w < n;
				} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
					r->c.TcpUpstreamResets++;
					tflow_abort(f, 1);
					return;
				} else {
					up_blocked = 1;   /* the kernel socket is full */
				}
			} else if (n == 0) {
				f->c_eof = 1;
				progress = 1;
			} else if (n != -EAGAIN) {
				r->c.TcpClientResets++;
				tflow_abort(f, 1);
				return;
			}
		}
		if (f->c_eof && !f->k_shut) {
			shutdown(f->kfd, SHUT_WR);   /* half close carried upstream */
			f->k_shut = 1;
		}
		/* upstream -> client */
		down_room = 0;
		if (!f->k_eof) {
			ssize_t room = us_send_zc(r->st, f->us, iov, &cnt);
			if (room > 0 && k_dry) {
				down_room = 1;   /* drained this call: epoll says when there is more */
			} else if (room > 0) {
				ssize_t n = readv(f->kfd, iov, cnt);
				k_dry = n < room;
				if (n > 0 && n == room)
					tflow_grow(f, SO_SNDBUF);   /* upstream had more than the room */
				if (n > 0) {
					us_send_done(r->st, f->us, (size_t)n);
					f->bytes_down += (uint64_t)n;
					r->c.TcpBytesDown += (uint64_t)n;
					if (f->client.family == AF_INET6)
						r->c.TcpBytesDown6 += (uint64_t)n;
					progress = 1;
					down_room = 1;
				} else if (n == 0) {
					f->k_eof = 1;
					progress = 1;
				} else if (errno != EAGAIN && errno != EINTR) {
					r->c.TcpUpstreamResets++;
					tflow_abort(f, 0);
					return;
				} else {
					down_room = 1;   /* room, nothing to read yet */
				}
			} else if (room != -EAGAIN) {
				r->c.TcpClientResets++;
				tflow_abort(f, 1);
				return;
			}
		}
		if (f->k_eof && !f->us_shut) {
			us_shutdown(r->st, f->us, SHUT_WR);   /* half close carried to the client */
			f->us_shut = 1;
		}
		if (progress)
			f->last = us_now_ns();
	}
	if (f->c_eof && f->k_eof && f->k_shut && f->us_shut) {
		r->c.TcpClosed++;
		tflow_free(f);   /* both halves closed: FINs queued */
		return;
	}
	/* Read upstream only while the client's send buffer has room (else the
	 * kernel socket's buffer fills: the server slows); wait for room
	 * upstream only while the client's bytes wait for it. The stack calls
	 * back when the client side changes. */
	unsigned mask = 0;
	if (!f->k_eof && down_room)
		mask |= EPOLLIN;
	if (up_blocked || progress)
		mask |= EPOLLOUT;   /* (progress: the round limit; come back soon) */
	kfd_want(f, mask);
}

static void tflow_start(struct relay *r, int s)
{
	struct sockaddr_storage me, peer;
	socklen_t ml = sizeof(me), pl = sizeof(peer);
	struct relay_ep dst, client;
	r->c.TcpAccepted++;
	if (us_getsockname(r->st, s, (struct sockaddr *)&me, &ml) < 0 ||
	    us_getpeername(r->st, s, (struct sockaddr *)&peer, &pl) < 0 ||
	    relay_ep_from(&dst, (struct sockaddr *)&me, ml) < 0 || relay_ep_from(&client, (struct sockaddr *)&peer, pl) < 0) {
		r->c.TcpRefused++;
		us_accept_finish(r->st, s, 0);
		us_close(r->st, s);
		return;
	}
	if (client.family == AF_INET6)
		r->c.TcpAccepted6++;
	const char *name = relay_fake_name(r, &dst);
	int fake = relay_fake_has(r, &dst);
	if (r->n_tflows >= r->max_tcp_flows || (fake && !name) || relay_mem_take(r, sizeof(struct tflow)) < 0) {
		/* Over the flow or memory budget (or an unknown fake address): refuse. */
		if (!fake || name)
			r->c.TcpNoMemory++;
		r->c.TcpRefused++;
		us_accept_finish(r->st, s, 0);
		us_close(r->st, s);
		return;
	}
	struct tflow *f = calloc(1, sizeof(*f));
	char *dom = name ? strdup(name) : NULL;
	if (!f || (name && !dom)) {
		relay_mem_give(r, sizeof(struct tflow));
		free(f);
		free(dom);
		r->c.TcpNoMemory++;
		us_accept_finish(r->st, s, 0);
		us_close(r->st, s);
		return;
	}
	f->r = r;
	f->us = s;
	f->kfd = -1;
	f->dst = dst;
	f->client = client;
	f->domain = dom;
	f->created = f->last = us_now_ns();
	f->next = r->tflows;
	if (r->tflows)
		r->tflows->prev = f;
	r->tflows = f;
	r->n_tflows++;
	int one = 1, small = (int)(TCP_BUF_INITIAL / 2);
	us_setsockopt(r->st, s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (r->tcp_buffer > TCP_BUF_INITIAL) {
		/* Before the SYN-ACK: its window is the small buffer's. */
		us_setsockopt(r->st, s, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		us_setsockopt(r->st, s, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	}
	f->rcv_cap = sockbuf(r, s, SO_RCVBUF);
	f->snd_cap = sockbuf(r, s, SO_SNDBUF);
	us_sock_set_callback(r->st, s, tflow_usev, f);
	const struct relay_ep *to = r->direct ? &f->dst : &r->proxy;
	int fd = relay_upstream_socket(r, to->family, SOCK_STREAM, 0);
	if (fd < 0) {
		r->last_upstream_errno = -fd;
		tflow_fail(f, &r->c.TcpUpstreamFailed);
		return;
	}
	f->kfd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_storage ss;
	socklen_t sl = relay_ep_sockaddr(to, &ss);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		r->last_upstream_errno = errno;
		tflow_fail(f, r->direct ? &r->c.TcpUpstreamFailed : &r->c.TcpSocksFailed);
		return;
	}
	f->kmask = EPOLLOUT;
	if (us_loop_add_fd(r->loop, fd, EPOLLOUT, tflow_kev, f) < 0) {
		tflow_fail(f, &r->c.TcpNoMemory);
		return;
	}
}

void relay_tcp_on_listener(struct us_stack *st, int s, unsigned ev, void *arg)
{
	(void)ev;
	struct relay *r = arg;
	for (int i = 0; i < 256; i++) {
		int a = us_accept(st, s, NULL, NULL);
		if (a < 0)
			break;
		tflow_start(r, a);
	}
}

void relay_tcp_expire(struct relay *r, uint64_t now)
{
	for (struct tflow *f = r->tflows, *nx; f; f = nx) {
		nx = f->next;
		if (f->state != T_OPEN && now - f->created > CONNECT_TIMEOUT_NS) {
			r->c.TcpConnectTimeouts++;
			tflow_fail(f, &r->c.TcpUpstreamFailed);
		} else if (f->state == T_OPEN && now - f->last > r->tcp_timeout_ns) {
			r->c.TcpIdleTimeouts++;
			tflow_abort(f, 1);
		}
	}
}

void relay_tcp_free_all(struct relay *r)
{
	for (struct tflow *f = r->tflows, *nx; f; f = nx) {
		nx = f->next;
		tflow_abort(f, 1);
	}
}

void relay_tcp_report(struct relay *r, FILE *out, uint64_t now)
{
	char a[RELAY_EP_STR], b[RELAY_EP_STR];
	for (struct tflow *f = r->tflows; f; f = f->next)
		fprintf(out, "  tcp %s -> %s%s%s%s %s up %llu down %llu age %.1fs idle %.1fs buffers %u/%u%s%s\n",
			relay_ep_str(&f->client, a), relay_ep_str(&f->dst, b), f->domain ? " (" : "",
			f->domain ? f->domain : "", f->domain ? ")" : "", tstate_name[f->state],
			(unsigned long long)f->bytes_up, (unsigned long long)f->bytes_down, (now - f->created) / 1e9,
			(now - f->last) / 1e9, f->rcv_cap, f->snd_cap, f->c_eof ? " client-eof" : "",
			f->k_eof ? " upstream-eof" : "");
}
