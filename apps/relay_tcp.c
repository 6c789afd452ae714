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

#define RBUF_SIZE (32u << 10)          /* per direction, per TCP flow */

enum { T_CONNECTING, T_SOCKS, T_OPEN };
static const char *tstate_name[] = {"connecting", "socks", "open"};

struct rbuf {
	uint8_t *b;
	uint32_t off, len;
};

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
	struct rbuf up, down;         /* client -> upstream, upstream -> client */
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
	if (f->up.b) {
		r->relay_mem -= 2 * RBUF_SIZE;
		free(f->up.b);
		free(f->down.b);
	}
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
		getsockopt(f->kfd, SOL_SOCKET, SO_ERROR, &err, &el);
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
		if (!(f->socks = malloc(sizeof(*f->socks)))) {
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

/* Buffers exist only once the client's handshake is complete, so half-open
 * connections (a SYN flood) cost no buffer memory. 1: ready, 0: not yet,
 * -1: the flow is gone. */
static int tflow_buffers(struct tflow *f)
{
	struct relay *r = f->r;
	if (f->up.b)
		return 1;
	struct us_tcp_info ti;
	socklen_t tl = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	us_getsockopt(r->st, f->us, IPPROTO_TCP, TCP_INFO, &ti, &tl);
	if (ti.state == US_TCP_SYN_RECEIVED) {
		kfd_want(f, 0);   /* the server waits too, in the kernel's buffers */
		return 0;
	}
	if (ti.state != US_TCP_ESTABLISHED && ti.state != US_TCP_CLOSE_WAIT) {
		r->c.TcpClientResets++;
		tflow_abort(f, 1);
		return -1;
	}
	if (r->relay_mem + 2 * RBUF_SIZE > r->relay_mem_max || !(f->up.b = malloc(RBUF_SIZE)) ||
	    !(f->down.b = malloc(RBUF_SIZE))) {
		free(f->up.b);
		f->up.b = NULL;
		r->c.TcpNoMemory++;
		tflow_abort(f, 1);
		return -1;
	}
	r->relay_mem += 2 * RBUF_SIZE;
	if (r->relay_mem > r->relay_mem_peak)
		r->relay_mem_peak = r->relay_mem;
	return 1;
}

/* Move what can move both ways; bounded by the buffers, never blocking. */
static void tflow_pump(struct tflow *f)
{
	struct relay *r = f->r;
	if (tflow_buffers(f) <= 0)
		return;
	int progress = 1;
	for (int round = 0; progress && round < 64; round++) {
		progress = 0;
		/* client -> upstream */
		if (!f->c_eof && f->up.len < RBUF_SIZE) {
			if (f->up.off && !f->up.len)
				f->up.off = 0;
			if (f->up.off + f->up.len == RBUF_SIZE) {
				memmove(f->up.b, f->up.b + f->up.off, f->up.len);
				f->up.off = 0;
			}
			ssize_t n = us_recv(r->st, f->us, f->up.b + f->up.off + f->up.len,
					    RBUF_SIZE - f->up.off - f->up.len, 0);
			if (n > 0) {
				f->up.len += (uint32_t)n;
				progress = 1;
			} else if (n == 0) {
				f->c_eof = 1;
				progress = 1;
			} else if (n != -EAGAIN) {
				r->c.TcpClientResets++;
				tflow_abort(f, 1);
				return;
			}
		}
		if (f->up.len) {
			ssize_t w = send(f->kfd, f->up.b + f->up.off, f->up.len, MSG_NOSIGNAL);
			if (w > 0) {
				f->up.off += (uint32_t)w;
				f->up.len -= (uint32_t)w;
				f->bytes_up += (uint64_t)w;
				r->c.TcpBytesUp += (uint64_t)w;
				progress = 1;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				r->c.TcpUpstreamResets++;
				tflow_abort(f, 1);
				return;
			}
		}
		if (f->c_eof && !f->up.len && !f->k_shut) {
			shutdown(f->kfd, SHUT_WR);   /* half close carried upstream */
			f->k_shut = 1;
		}
		/* upstream -> client */
		if (!f->k_eof && f->down.len < RBUF_SIZE) {
			if (f->down.off && !f->down.len)
				f->down.off = 0;
			if (f->down.off + f->down.len == RBUF_SIZE) {
				memmove(f->down.b, f->down.b + f->down.off, f->down.len);
				f->down.off = 0;
			}
			ssize_t n = recv(f->kfd, f->down.b + f->down.off + f->down.len,
					 RBUF_SIZE - f->down.off - f->down.len, 0);
			if (n > 0) {
				f->down.len += (uint32_t)n;
				progress = 1;
			} else if (n == 0) {
				f->k_eof = 1;
				progress = 1;
			} else if (errno != EAGAIN && errno != EINTR) {
				r->c.TcpUpstreamResets++;
				tflow_abort(f, 0);
				return;
			}
		}
		if (f->down.len) {
			ssize_t w = us_send(r->st, f->us, f->down.b + f->down.off, f->down.len, 0);
			if (w > 0) {
				f->down.off += (uint32_t)w;
				f->down.len -= (uint32_t)w;
				f->bytes_down += (uint64_t)w;
				r->c.TcpBytesDown += (uint64_t)w;
				progress = 1;
			} else if (w != -EAGAIN) {
				r->c.TcpClientResets++;
				tflow_abort(f, 1);
				return;
			}
		}
		if (f->k_eof && !f->down.len && !f->us_shut) {
			us_shutdown(r->st, f->us, SHUT_WR);   /* half close carried to the client */
			f->us_shut = 1;
		}
		if (progress)
			f->last = us_now_ns();
	}
	if (f->c_eof && f->k_eof && f->k_shut && f->us_shut) {
		r->c.TcpClosed++;
		tflow_free(f);   /* both halves closed: FINs already sent */
		return;
	}
	unsigned mask = 0;
	if (!f->k_eof && f->down.len < RBUF_SIZE)
		mask |= EPOLLIN;   /* else the kernel socket's buffer fills: the server slows */
	if (f->up.len)
		mask |= EPOLLOUT;
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
	const char *name = relay_fake_name(r, &dst);
	int fake = relay_fake_has(r, &dst);
	if (r->n_tflows >= MAX_TCP_FLOWS || r->relay_mem + 2 * RBUF_SIZE > r->relay_mem_max || (fake && !name)) {
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
	int one = 1;
	us_setsockopt(r->st, s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
	while (r->tflows)
		tflow_abort(r->tflows, 1);
}

void relay_tcp_report(struct relay *r, FILE *out, uint64_t now)
{
	char a[RELAY_EP_STR], b[RELAY_EP_STR];
	for (struct tflow *f = r->tflows; f; f = f->next)
		fprintf(out, "  tcp %s -> %s%s%s%s %s up %llu down %llu age %.1fs idle %.1fs%s%s\n",
			relay_ep_str(&f->client, a), relay_ep_str(&f->dst, b), f->domain ? " (" : "",
			f->domain ? f->domain : "", f->domain ? ")" : "", tstate_name[f->state],
			(unsigned long long)f->bytes_up, (unsigned long long)f->bytes_down, (now - f->created) / 1e9,
			(now - f->last) / 1e9, f->c_eof ? " client-eof" : "", f->k_eof ? " upstream-eof" : "");
}
