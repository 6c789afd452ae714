/* The BSD-like socket API: descriptors local to a stack, never blocking,
 * negative errno results with Linux's meanings. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "api/sock.h"
#include "core/bytes.h"
#include "stack.h"
#include "transport/tcp.h"
#include "transport/udp.h"
#include "net/iface.h"
#include "net/ip.h"

#define UDP_DEFAULT_RCVBUF 212992u   /* Linux's rmem_default */
#define UDP_DEFAULT_SNDBUF 212992u
#define SOCKBUF_MIN 2048u
#define SOCKBUF_MAX (64u << 20)

int sock_table_init(struct us_stack *st)
{
	st->socks = calloc(st->cfg.max_sockets, sizeof(*st->socks));
	st->max_socks = st->cfg.max_sockets;
	return st->socks ? 0 : -ENOMEM;
}

void sock_table_destroy(struct us_stack *st)
{
	if (!st->socks)
		return;
	for (uint32_t i = 0; i < st->max_socks; i++)
		if (st->socks[i])
			us_close(st, (int)i);
	free(st->socks);
	st->socks = NULL;
}

struct us_sock *sock_get(struct us_stack *st, int fd)
{
	if (fd < 0 || (uint32_t)fd >= st->max_socks)
		return NULL;
	struct us_sock *s = st->socks[fd];
	return (s && !s->closing) ? s : NULL;
}

static const struct sock_ops *ops_for(int kind)
{
	return kind == SK_TCP ? &tcp_sock_ops : kind == SK_ICMP ? &ping_sock_ops : &udp_sock_ops;
}

struct us_sock *sock_alloc(struct us_stack *st, int kind)
{
	for (uint32_t i = 0; i < st->max_socks; i++) {
		if (st->socks[i])
			continue;
		struct us_sock *s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		s->fd = (int)i;
		s->kind = kind;
		s->ops = ops_for(kind);
		/* TCP finds the path MTU (DF, as Linux by default); datagrams
		 * go without DF unless asked. */
		s->pmtudisc = kind == SK_TCP ? IP_PMTUDISC_WANT : IP_PMTUDISC_DONT;
		s->rcvbuf = UDP_DEFAULT_RCVBUF;
		s->sndbuf = UDP_DEFAULT_SNDBUF;
		pktq_init(&s->rxq);
		st->socks[i] = s;
		return s;
	}
	return NULL;
}

/* The families a transparent socket takes: its own; an IPv6 TCP or UDP
 * socket without IPV6_V6ONLY IPv4 too (a ping socket never). */
static void sock_count_transparent(struct us_stack *st, const struct us_sock *s, int d)
{
	int v4 = s->family == AF_INET || (!s->v6only && s->kind != SK_ICMP);
	if (v4)
		st->n_transparent[0] = (uint32_t)((int64_t)st->n_transparent[0] + d);
	if (s->family == AF_INET6)
		st->n_transparent[1] = (uint32_t)((int64_t)st->n_transparent[1] + d);
}

void sock_release(struct us_stack *st, struct us_sock *s)
{
	/* Unlink from the ready list, or from the part of it dispatch has yet
	 * to walk (a callback may close another ready socket). */
	struct us_sock **lists[2] = {&st->ready_head, &st->dispatch_head};
	for (int l = 0; l < 2 && s->on_ready; l++)
		for (struct us_sock **pp = lists[l]; *pp; pp = &(*pp)->ready_next)
			if (*pp == s) {
				*pp = s->ready_next;
				s->on_ready = 0;
				break;
			}
	if (s->transparent)
		sock_count_transparent(st, s, -1);
	st->socks[s->fd] = NULL;
	free(s->errq);
	free(s);
}

int sock_err_push(struct us_stack *st, struct us_sock *s, const struct us_sock_err *e)
{
	if (!s->errq && !(s->errq = calloc(1, sizeof(*s->errq))))
		return -ENOBUFS;
	struct sock_errq *q = s->errq;
	if (q->n == SOCK_ERRQ_MAX)
		return -ENOBUFS;
	q->e[(q->head + q->n++) % SOCK_ERRQ_MAX] = *e;
	sock_wakeup(st, s);
	return 0;
}

struct us_sock_err *sock_err_tail(struct us_sock *s)
{
	struct sock_errq *q = s->errq;
	return q && q->n ? &q->e[(q->head + q->n - 1) % SOCK_ERRQ_MAX] : NULL;
}

int us_recv_err(struct us_stack *st, int fd, struct us_sock_err *e)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	struct sock_errq *q = s->errq;
	if (!q || !q->n)
		return -EAGAIN;
	if (e)
		*e = q->e[q->head];
	q->head = (uint8_t)((q->head + 1) % SOCK_ERRQ_MAX);
	q->n--;
	return 0;
}

void sock_wakeup(struct us_stack *st, struct us_sock *s)
{
	if (s->on_ready || !s->cb)
		return;
	s->on_ready = 1;
	s->ready_next = st->ready_head;
	st->ready_head = s;
}

static unsigned poll_events(struct us_stack *st, struct us_sock *s)
{
	unsigned ev = s->ops->poll(st, s);
	if (s->errq && s->errq->n)
		ev |= US_POLLERR;
	return ev;
}

void sock_dispatch(struct us_stack *st)
{
	/* Bounded: a callback that wakes its own socket again is served on the
	 * next pass, not in a loop here. The list being walked lives in the
	 * stack so that closing a socket from another's callback unlinks it;
	 * a socket stays marked until its turn, so waking one that is still
	 * waiting changes nothing. */
	if (st->in_dispatch)
		return;
	st->in_dispatch++;
	st->dispatch_head = st->ready_head;
	st->ready_head = NULL;
	while (st->dispatch_head) {
		struct us_sock *s = st->dispatch_head;
		st->dispatch_head = s->ready_next;
		s->ready_next = NULL;
		s->on_ready = 0;
		if (st->socks[s->fd] != s || !s->cb)
			continue;
		s->cb(st, s->fd, poll_events(st, s), s->cb_arg);
	}
	st->in_dispatch--;
}

/* After a call made outside the stack's own pass, send what it queued. */
static void flush_if_outside(struct us_stack *st)
{
	if (!st->in_dispatch)
		iface_flush(st);
}

/* A socket address for socket s: sockaddr_in for an AF_INET socket,
 * sockaddr_in6 for an AF_INET6 one (an IPv4 peer of a dual-stack socket as
 * ::ffff:a.b.c.d), as Linux checks them. Returns 0, 1 for AF_UNSPEC (a
 * UDP disconnect), or a negative errno. */
static int sockaddr_get_scope(const struct us_sock *s, const struct sockaddr *a, socklen_t len, struct us_addr *addr,
			      uint16_t *port, int *scope)
{
	*scope = 0;   /* written on every path */
	if (!a || len < (socklen_t)sizeof(sa_family_t))
		return -EINVAL;
	if (a->sa_family == AF_UNSPEC) {
		*addr = addr_any(s->family);
		*port = 0;
		return 1;
	}
	if (a->sa_family != s->family)
		return -EAFNOSUPPORT;
	if (s->family == AF_INET) {
		if (len < (socklen_t)sizeof(struct sockaddr_in))
			return -EINVAL;
		const struct sockaddr_in *sin = (const struct sockaddr_in *)a;
		*addr = addr_from_v4(ntohl(sin->sin_addr.s_addr));
		*port = ntohs(sin->sin_port);
		return 0;
	}
	if (len < 24)   /* SIN6_LEN_RFC2133: sockaddr_in6 without the scope id */
		return -EINVAL;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)a;
	*addr = addr_from_v6(sin6->sin6_addr.s6_addr);
	*port = ntohs(sin6->sin6_port);
	if (s->v6only && addr_is_v4(addr))
		return -ENETUNREACH;   /* a v4-mapped address on an IPV6_V6ONLY socket */
	/* The scope id counts only for a link-scope address (RFC 4007 11);
	 * SIN6_LEN_RFC2133's 24 bytes have none. */
	if (len >= (socklen_t)sizeof(struct sockaddr_in6) && sin6->sin6_scope_id <= INT32_MAX)
		*scope = ip_zone(addr, (int)sin6->sin6_scope_id);
	else if (len >= (socklen_t)sizeof(struct sockaddr_in6) && ip_zone(addr, 1))
		return -ENODEV;   /* no interface has such an index */
	return 0;
}

static int sockaddr_get(const struct us_sock *s, const struct sockaddr *a, socklen_t len, struct us_addr *addr,
			uint16_t *port)
{
	int scope;
	return sockaddr_get_scope(s, a, len, addr, port, &scope);
}

/* A zone given with an address against the socket's own: an interface
 * that exists, and not another than the one the socket is tied to (EINVAL,
 * as Linux's connect); the zone to use, or a negative errno. */
static int zone_of(struct us_stack *st, const struct us_sock *s, int scope)
{
	if (scope && !iface_get(st, scope))
		return -ENODEV;
	if (scope && s->scope_if && scope != s->scope_if)
		return -EINVAL;
	return scope ? scope : s->scope_if;
}

/* An address buffer given without its length is the caller's error:
 * EFAULT, as Linux, and before anything is consumed, rather than success
 * with the address left unwritten. No buffer: no address wanted (a length
 * alone is ignored, as Linux does). */
static int addr_out_ok(const struct sockaddr *a, const socklen_t *len)
{
	return !a || len;
}

static void sockaddr_put(const struct us_sock *s, struct sockaddr *a, socklen_t *len, const struct us_addr *addr,
			 uint16_t port, int scope)
{
	if (!a || !len)
		return;
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (s->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(addr_v4(addr));
		sin->sin_port = htons(port);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		memcpy(sin6->sin6_addr.s6_addr, addr->b, 16);
		sin6->sin6_port = htons(port);
		sin6->sin6_scope_id = (uint32_t)ip_zone(addr, scope);
		sl = sizeof(*sin6);
	}
	socklen_t n = *len < sl ? *len : sl;
	memcpy(a, &ss, (size_t)n);
	*len = sl;
}

int us_socket(struct us_stack *st, int domain, int type, int protocol)
{
	if (domain != AF_INET && domain != AF_INET6)
		return -EAFNOSUPPORT;
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	int kind;
	if (base == SOCK_STREAM && !tcp_available())
		return -EPROTONOSUPPORT;
	if (base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP))
		kind = SK_UDP;
	else if (base == SOCK_DGRAM && ((protocol == IPPROTO_ICMP && domain == AF_INET) ||
					(protocol == IPPROTO_ICMPV6 && domain == AF_INET6)))
		kind = SK_ICMP;   /* ping sockets of either family */
	else if (base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP))
		kind = SK_TCP;
	else
		return -EPROTONOSUPPORT;
	struct us_sock *s = sock_alloc(st, kind);
	if (!s)
		return -EMFILE;
	s->family = (uint8_t)domain;
	s->laddr = s->raddr = addr_any(domain);
	if (kind == SK_ICMP && domain == AF_INET6)
		s->v6only = 1;   /* ICMPv6 echo only: IPv4's echo replies are another protocol */
	if (kind == SK_TCP) {
		s->rcvbuf = st->cfg.tcp_rmem;
		s->sndbuf = st->cfg.tcp_wmem;
	}
	return s->fd;
}

int us_bind(struct us_stack *st, int fd, const struct sockaddr *a, socklen_t len)
{
	struct us_sock *s = sock_get(st, fd);
	struct us_addr addr;
	uint16_t port;
	if (!s)
		return -EBADF;
	int scope;
	int rc = sockaddr_get_scope(s, a, len, &addr, &port, &scope);
	if (rc == -ENETUNREACH)
		return -EINVAL;   /* binding a v4-mapped address to an IPV6_V6ONLY socket */
	if (rc < 0)
		return rc;
	int zone = 0;
	if (ip_zone(&addr, 1) && !ip_is_multi(st, &addr)) {
		/* A link-local address: that of the interface the scope id names
		 * (else EADDRNOTAVAIL), or of the first holding it (the default
		 * zone, RFC 4007 6). */
		if ((zone = zone_of(st, s, scope)) < 0)
			return zone;
		struct ip6_addr a6;
		struct us_iface *ifc = NULL;
		memcpy(a6.b, addr.b, 16);
		if (!iface6_find(st, &a6, 0, &ifc) || !ifc)
			return -EADDRNOTAVAIL;
		if (zone && ifc->index != zone) {
			struct us_iface *z = iface_get(st, zone);
			int held = 0;
			for (int j = 0; z && j < US_MAX_ADDRS6; j++)
				held |= z->addrs6[j].state == A6_PREFERRED && ip6_addr_eq(&z->addrs6[j].addr, &a6);
			if (!held)
				return -EADDRNOTAVAIL;
		}
		if (!zone)
			zone = ifc->index;
	}
	rc = s->ops->bind(st, s, &addr, port);
	if (rc == 0 && zone)
		s->scope_if = zone;
	return rc;
}

int us_connect(struct us_stack *st, int fd, const struct sockaddr *a, socklen_t len)
{
	struct us_sock *s = sock_get(st, fd);
	struct us_addr addr;
	uint16_t port;
	if (!s)
		return -EBADF;
	int scope;
	int rc = sockaddr_get_scope(s, a, len, &addr, &port, &scope);
	if (rc < 0)
		return rc;
	if (!s->ops->connect)
		return -EOPNOTSUPP;
	if (rc == 0 && ip_zone(&addr, 1)) {
		int zone = zone_of(st, s, scope);
		if (zone < 0)
			return zone;
		s->scope_if = zone;   /* the transport routes (and reports) in it */
	}
	rc = s->ops->connect(st, s, rc == 1 ? NULL : &addr, port);
	flush_if_outside(st);
	return rc;
}

int us_listen(struct us_stack *st, int fd, int backlog)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	if (!s->ops->listen)
		return -EOPNOTSUPP;
	return s->ops->listen(st, s, backlog);
}

int us_accept(struct us_stack *st, int fd, struct sockaddr *a, socklen_t *len)
{
	struct us_sock *s = sock_get(st, fd), *c = NULL;
	if (!s)
		return -EBADF;
	if (!s->ops->accept)
		return -EOPNOTSUPP;
	if (!addr_out_ok(a, len))
		return -EFAULT;
	int rc = s->ops->accept(st, s, &c);
	if (rc < 0)
		return rc;
	sockaddr_put(c, a, len, &c->raddr, c->rport, c->scope_if);
	flush_if_outside(st);
	return c->fd;
}

ssize_t us_sendto(struct us_stack *st, int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
		  socklen_t tolen)
{
	struct us_sock *s = sock_get(st, fd);
	ssize_t rc;
	if (!s)
		return -EBADF;
	if (!buf && len)
		return -EFAULT;
	struct us_addr addr;
	uint16_t port = 0;
	if (s->kind == SK_TCP && (flags & MSG_FASTOPEN)) {
		/* sendto(MSG_FASTOPEN) (RFC 7413): connect with data in the SYN. */
		int r = to ? sockaddr_get(s, to, tolen, &addr, &port) : 0;
		if (r == 1)
			return -EOPNOTSUPP;   /* AF_UNSPEC, as Linux */
		if (r < 0)
			return r;
		rc = tcp_send_fastopen(st, s, buf, len, flags, to ? &addr : NULL, port);
		flush_if_outside(st);
		return rc;
	}
	s->tx_scope = 0;
	if (to && s->ops->type == SOCK_DGRAM) {   /* a stream ignores the address */
		int scope;
		int r = sockaddr_get_scope(s, to, tolen, &addr, &port, &scope);
		if (r < 0)
			return r;
		if (r == 0 && scope && !iface_get(st, scope))
			return -ENODEV;
		s->tx_scope = scope;
	}
	rc = s->ops->send(st, s, buf, len, flags, to && s->ops->type == SOCK_DGRAM ? &addr : NULL, port);
	s->tx_scope = 0;
	flush_if_outside(st);
	return rc;
}

ssize_t us_send(struct us_stack *st, int fd, const void *buf, size_t len, int flags)
{
	return us_sendto(st, fd, buf, len, flags, NULL, 0);
}

ssize_t us_recvfrom(struct us_stack *st, int fd, void *buf, size_t len, int flags, struct sockaddr *from,
		    socklen_t *fromlen)
{
	struct us_sock *s = sock_get(st, fd);
	ssize_t rc;
	if (!s)
		return -EBADF;
	if ((!buf && len) || !addr_out_ok(from, fromlen))
		return -EFAULT;
	struct us_addr addr, daddr;
	uint16_t port = 0, dport = 0;
	s->rx_if = 0;
	rc = s->ops->recv(st, s, buf, len, flags, &addr, &port, &daddr, &dport);
	if (rc >= 0)
		sockaddr_put(s, from, fromlen, &addr, port, s->rx_if ? s->rx_if : s->scope_if);
	flush_if_outside(st);   /* a window update may be due */
	return rc;
}

ssize_t us_recvfromto(struct us_stack *st, int fd, void *buf, size_t len, int flags, struct sockaddr *from,
		      socklen_t *fromlen, struct sockaddr *to, socklen_t *tolen)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	if (s->ops->type != SOCK_DGRAM)
		return -EOPNOTSUPP;
	if ((!buf && len) || !addr_out_ok(from, fromlen) || !addr_out_ok(to, tolen))
		return -EFAULT;
	struct us_addr addr, daddr;
	uint16_t port = 0, dport = 0;
	s->rx_if = 0;
	ssize_t rc = s->ops->recv(st, s, buf, len, flags, &addr, &port, &daddr, &dport);
	if (rc >= 0) {
		sockaddr_put(s, from, fromlen, &addr, port, s->rx_if);
		sockaddr_put(s, to, tolen, &daddr, dport, s->rx_if);
	}
	return rc;
}

ssize_t us_sendfromto(struct us_stack *st, int fd, const void *buf, size_t len, int flags, const struct sockaddr *from,
		      socklen_t fromlen, const struct sockaddr *to, socklen_t tolen)
{
	struct us_sock *s = sock_get(st, fd);
	struct us_addr src, dst;
	uint16_t sport, dport;
	(void)flags;
	if (!s)
		return -EBADF;
	if (!s->ops->sendfrom)
		return -EOPNOTSUPP;
	if (!buf && len)
		return -EFAULT;
	int r = sockaddr_get(s, from, fromlen, &src, &sport);
	if (r < 0)
		return r;
	r = sockaddr_get(s, to, tolen, &dst, &dport);
	if (r < 0)
		return r;
	if (r == 1)
		return -EINVAL;
	ssize_t rc = s->ops->sendfrom(st, s, buf, len, &src, sport, &dst, dport);
	flush_if_outside(st);
	return rc;
}

int us_accept_finish(struct us_stack *st, int fd, int ok)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	if (!s->ops->accept_finish)
		return -EOPNOTSUPP;
	int rc = s->ops->accept_finish(st, s, ok);
	flush_if_outside(st);
	return rc;
}

ssize_t us_recv(struct us_stack *st, int fd, void *buf, size_t len, int flags)
{
	return us_recvfrom(st, fd, buf, len, flags, NULL, NULL);
}

/* Zero-copy TCP: the ring's pieces as iovecs (ustack.h). */
static void zc_iov(struct iovec *iov, uint8_t **p, const uint32_t *len, int n)
{
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = p[i];
		iov[i].iov_len = len[i];
	}
}

ssize_t us_recv_zcv(struct us_stack *st, int fd, struct iovec *iov, int iovmax, int *iovcnt)
{
	struct us_sock *s = sock_get(st, fd);
	uint8_t *p[US_ZC_IOV_MAX];
	uint32_t len[US_ZC_IOV_MAX];
	*iovcnt = 0;
	if (!s)
		return -EBADF;
	if (s->kind != SK_TCP)
		return -EOPNOTSUPP;
	if (iovmax < 1)
		return -EINVAL;
	ssize_t rc = tcp_recv_zc(st, s, p, len, US_MIN(iovmax, US_ZC_IOV_MAX), iovcnt);
	zc_iov(iov, p, len, *iovcnt);
	return rc;
}

ssize_t us_recv_zc(struct us_stack *st, int fd, struct iovec iov[2], int *iovcnt)
{
	return us_recv_zcv(st, fd, iov, 2, iovcnt);
}

int us_recv_done(struct us_stack *st, int fd, size_t n)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	if (s->kind != SK_TCP)
		return -EOPNOTSUPP;
	int rc = tcp_recv_done(st, s, n);
	flush_if_outside(st);   /* a window update may be due */
	return rc;
}

ssize_t us_send_zc(struct us_stack *st, int fd, struct iovec iov[2], int *iovcnt)
{
	struct us_sock *s = sock_get(st, fd);
	uint8_t *p[2];
	uint32_t len[2];
	*iovcnt = 0;
	if (!s)
		return -EBADF;
	if (s->kind != SK_TCP)
		return -EOPNOTSUPP;
	ssize_t rc = tcp_send_zc(st, s, p, len, iovcnt);
	zc_iov(iov, p, len, *iovcnt);
	return rc;
}

int us_send_done(struct us_stack *st, int fd, size_t n)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	if (s->kind != SK_TCP)
		return -EOPNOTSUPP;
	int rc = tcp_send_done(st, s, n);
	flush_if_outside(st);
	return rc;
}

int us_shutdown(struct us_stack *st, int fd, int how)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	int rc = s->ops->shutdown(st, s, how);
	flush_if_outside(st);
	return rc;
}

int us_close(struct us_stack *st, int fd)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	s->cb = NULL;
	/* The kind releases the socket: at once, or later (TCP keeps the
	 * connection through FIN and TIME_WAIT). */
	s->ops->close(st, s);
	flush_if_outside(st);
	return 0;
}

/* IP_TRANSPARENT, IPV6_TRANSPARENT: one flag. The counts are what let IP
 * input of each family take non-local destinations at all. */
static void set_transparent(struct us_stack *st, struct us_sock *s, int on)
{
	if (on == s->transparent)
		return;
	s->transparent = (uint8_t)on;
	sock_count_transparent(st, s, on ? 1 : -1);
	s->ops->set_transparent(st, s, on);
}

int us_setsockopt(struct us_stack *st, int fd, int level, int name, const void *val, socklen_t len)
{
	struct us_sock *s = sock_get(st, fd);
	int v;
	if (!s)
		return -EBADF;
	if (level == IPPROTO_IP) {
		/* Linux's rule for IP options: an int, or a single byte. */
		if (!val || len < 1)
			return -EINVAL;
		if (len >= (socklen_t)sizeof(int))
			memcpy(&v, val, sizeof(int));
		else
			v = *(const unsigned char *)val;
		switch (name) {
		case IP_TRANSPARENT:
			set_transparent(st, s, v != 0);
			return 0;
		case IP_TTL:
			if (v < -1 || v == 0 || v > 255)
				return -EINVAL;
			s->ttl = (uint8_t)(v < 0 ? 0 : v);
			return 0;
		case IP_TOS:
			s->tos = (uint8_t)v;
			if (s->kind == SK_TCP)
				return tcp_setsockopt(st, s, level, name, val, len);
			return 0;
		case IP_MTU_DISCOVER:
			if (v < IP_PMTUDISC_DONT || v > IP_PMTUDISC_OMIT)
				return -EINVAL;
			s->pmtudisc = (uint8_t)v;
			if (s->kind == SK_TCP)
				return tcp_setsockopt(st, s, level, name, val, len);
			return 0;
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level == IPPROTO_IPV6) {
		if (s->family != AF_INET6)
			return -ENOPROTOOPT;
		int rc = sockopt_get_int(val, len, &v);
		if (rc < 0)
			return rc;
		switch (name) {
		case IPV6_V6ONLY:
			if (s->bound)
				return -EINVAL;   /* as Linux: only before bind */
			if (s->transparent) {
				/* The families a transparent socket takes change. */
				set_transparent(st, s, 0);
				s->v6only = v != 0;
				set_transparent(st, s, 1);
			}
			s->v6only = v != 0;
			return 0;
		case IPV6_UNICAST_HOPS:
			/* Linux's range; -1: back to the route's default. */
			if (v < -1 || v > 255)
				return -EINVAL;
			s->hops6 = (uint8_t)(v < 0 ? 0 : v);
			s->hops6_set = v >= 0;
			if (s->kind == SK_TCP)
				return tcp_setsockopt(st, s, level, name, val, len);
			return 0;
		case IPV6_TRANSPARENT:
			/* The same flag as IP_TRANSPARENT, as on Linux. */
			set_transparent(st, s, v != 0);
			return 0;
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level == SOL_SOCKET) {
		int rc = sockopt_get_int(val, len, &v);
		switch (name) {
		case SO_REUSEADDR:
			if (rc < 0)
				return rc;
			s->reuseaddr = v != 0;
			return 0;
		case SO_REUSEPORT:
			if (rc < 0)
				return rc;
			s->reuseport = v != 0;
			return 0;
		case SO_MARK:
			if (rc < 0)
				return rc;
			s->mark = (uint32_t)v;
			return 0;
		case SO_RCVBUF:
		case SO_SNDBUF:
			if (rc < 0)
				return rc;
			/* Linux doubles the value to account for overhead; so do we. */
			{
				uint64_t b = (uint64_t)(v < 0 ? 0 : v) * 2;
				uint32_t c = (uint32_t)US_MIN(US_MAX(b, (uint64_t)SOCKBUF_MIN), (uint64_t)SOCKBUF_MAX);
				if (name == SO_RCVBUF) {
					s->rcvbuf = c;
					s->rcvbuf_locked = 1;
				} else
					s->sndbuf = c;
			}
			if (s->ops->setsockopt)
				return s->ops->setsockopt(st, s, level, name, val, len);
			return 0;
		default:
			break;
		}
	}
	return s->ops->setsockopt ? s->ops->setsockopt(st, s, level, name, val, len) : -ENOPROTOOPT;
}

int us_getsockopt(struct us_stack *st, int fd, int level, int name, void *val, socklen_t *len)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR: {
			/* Cleared only once the caller has it. */
			int rc = sockopt_put_int(val, len, s->so_error);
			if (rc == 0)
				s->so_error = 0;
			return rc;
		}
		case SO_TYPE:
			return sockopt_put_int(val, len, s->ops->type);
		case SO_RCVBUF:
			return sockopt_put_int(val, len, (int)s->rcvbuf);
		case SO_SNDBUF:
			return sockopt_put_int(val, len, (int)s->sndbuf);
		case SO_REUSEADDR:
			return sockopt_put_int(val, len, s->reuseaddr);
		case SO_REUSEPORT:
			return sockopt_put_int(val, len, s->reuseport);
		case SO_MARK:
			return sockopt_put_int(val, len, (int)s->mark);
		default:
			break;
		}
	}
	if (level == IPPROTO_IP && name == IP_TRANSPARENT)
		return sockopt_put_int(val, len, s->transparent);
	if (level == IPPROTO_IPV6 && s->family != AF_INET6)
		return -EOPNOTSUPP;   /* as Linux's ip_getsockopt (setsockopt: -ENOPROTOOPT) */
	if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY)
		return sockopt_put_int(val, len, s->v6only);
	if (level == IPPROTO_IPV6 && name == IPV6_UNICAST_HOPS && s->family == AF_INET6) {
		/* As Linux: the value in use, the route's default when unset. */
		if (s->hops6_set)
			return sockopt_put_int(val, len, s->hops6);
		struct us_addr any6 = addr_any(AF_INET6);
		return sockopt_put_int(val, len, ip_default_hops(st, s->connected ? &s->raddr : &any6));
	}
	if (level == IPPROTO_IPV6 && name == IPV6_TRANSPARENT && s->family == AF_INET6)
		return sockopt_put_int(val, len, s->transparent);
	if (level == IPPROTO_IP && name == IP_TOS)
		return sockopt_put_int(val, len, s->tos);
	if (level == IPPROTO_IP && name == IP_MTU_DISCOVER)
		return sockopt_put_int(val, len, s->pmtudisc);
	return s->ops->getsockopt ? s->ops->getsockopt(st, s, level, name, val, len) : -ENOPROTOOPT;
}

int us_getsockname(struct us_stack *st, int fd, struct sockaddr *a, socklen_t *len)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	if (!a || !len)
		return -EFAULT;
	sockaddr_put(s, a, len, &s->laddr, s->lport, s->scope_if);
	return 0;
}

int us_getpeername(struct us_stack *st, int fd, struct sockaddr *a, socklen_t *len)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	if (!a || !len)
		return -EFAULT;
	if (!s->connected)
		return -ENOTCONN;
	sockaddr_put(s, a, len, &s->raddr, s->rport, s->scope_if);
	return 0;
}

int us_poll(struct us_stack *st, struct us_pollfd *fds, int n)
{
	int ready = 0;
	for (int i = 0; i < n; i++) {
		struct us_sock *s = sock_get(st, fds[i].fd);
		if (!s) {
			fds[i].revents = fds[i].fd >= 0 ? 0x020 /* POLLNVAL */ : 0;
		} else {
			unsigned ev = poll_events(st, s);
			fds[i].revents = (short)(ev & ((unsigned)fds[i].events | US_POLLERR | US_POLLHUP));
		}
		if (fds[i].revents)
			ready++;
	}
	return ready;
}

int us_sock_set_callback(struct us_stack *st, int fd, us_sock_cb cb, void *arg)
{
	struct us_sock *s = sock_get(st, fd);
	if (!s)
		return -EBADF;
	s->cb = cb;
	s->cb_arg = arg;
	if (cb)
		sock_wakeup(st, s);   /* report the current state once */
	return 0;
}
