/* UDP (RFC 768, RFC 1122 4.1): checksums checked and generated, sockets
 * hashed by local port, bounded receive queues, ICMP errors surfaced to
 * connected sockets, port unreachable for closed ports. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/sock.h"
#include "core/bytes.h"
#include "core/check.h"
#include "net/iface.h"
#include "net/ip.h"
#include "stack.h"
#include "transport/udp.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

#define UDP_HASH 1024
#define EPHEMERAL_LO 32768u        /* Linux's ip_local_port_range */
#define EPHEMERAL_HI 60999u
#define UDP_MAX_PAYLOAD (IPV4_MAX_LEN - IPV4_HDR_LEN - UDP_HDR_LEN)
#define UDP_SKB_OVERHEAD 256u      /* per-datagram charge against rcvbuf, like truesize */

struct udp_table {
	struct us_sock *hash[UDP_HASH];
	struct us_sock *icmp_hash[UDP_HASH];   /* ping sockets by identifier */
	/* The transparent sockets (the latest) by kind (UDP, ICMP) and the
	 * family of the destination they take (IPv4, IPv6). */
	struct us_sock *tproxy[2][2];
};

/* Does transparent socket s take datagrams to a? Its family's (a dual UDP
 * socket IPv4 too); a ping socket only its own family's ICMP. */
static int tproxy_takes(const struct us_sock *s, const struct us_addr *a)
{
	return addr_family_carries(s->family, s->v6only || s->kind == SK_ICMP, a);
}

void dgram_set_transparent(struct us_stack *st, struct us_sock *s, int on)
{
	struct us_sock **slot = st->udp->tproxy[s->kind == SK_ICMP];
	for (int f = 0; f < 2; f++) {
		struct us_addr probe = addr_any(f ? AF_INET6 : AF_INET);
		if (on) {
			if (tproxy_takes(s, &probe))
				slot[f] = s;
			continue;
		}
		if (slot[f] != s)
			continue;
		slot[f] = NULL;
		/* Another transparent socket of the same kind takes over. */
		for (uint32_t i = 0; i < st->max_socks; i++) {
			struct us_sock *o = st->socks[i];
			if (o && o != s && o->kind == s->kind && o->transparent && !o->closing && tproxy_takes(o, &probe))
				slot[f] = o;
		}
	}
}

int udp_init(struct us_stack *st)
{
	st->udp = calloc(1, sizeof(*st->udp));
	return st->udp ? 0 : -ENOMEM;
}

void udp_destroy(struct us_stack *st)
{
	free(st->udp);
	st->udp = NULL;
}

static struct us_sock **bucket_kind(struct us_stack *st, int kind, uint16_t port)
{
	return kind == SK_ICMP ? &st->udp->icmp_hash[port % UDP_HASH] : &st->udp->hash[port % UDP_HASH];
}
static struct us_sock **bucket(struct us_stack *st, uint16_t port) { return bucket_kind(st, SK_UDP, port); }

/* Best match for a datagram: connected sockets beat bound-address ones,
 * which beat wildcards (of the datagram's family, or dual-stack ::). */
static struct us_sock *lookup(struct us_stack *st, const struct us_addr *saddr, uint16_t sport,
			      const struct us_addr *daddr, uint16_t dport)
{
	struct us_sock *best = NULL;
	int best_score = -1;
	for (struct us_sock *s = *bucket(st, dport); s; s = s->hash_next) {
		if (s->lport != dport)
			continue;
		int score = 0;
		if (!addr_is_any(&s->laddr)) {
			if (!addr_eq(&s->laddr, daddr))
				continue;
			score += 1;
		} else if (!addr_wild_takes(&s->laddr, s->v6only, daddr)) {
			continue;
		}
		if (s->connected) {
			if (!addr_eq(&s->raddr, saddr) || s->rport != sport)
				continue;
			score += 2;
		}
		if (score > best_score) {
			best = s;
			best_score = score;
		}
	}
	return best;
}

static int port_in_use(struct us_stack *st, const struct us_addr *addr, uint16_t port, const struct us_sock *self)
{
	for (struct us_sock *s = *bucket_kind(st, self->kind, port); s; s = s->hash_next) {
		if (s == self || s->lport != port)
			continue;
		if (!addr_conflict(&s->laddr, s->v6only, addr, self->v6only))
			continue;
		if (s->reuseaddr && self->reuseaddr)
			continue;
		return 1;
	}
	return 0;
}

static void hash_insert(struct us_stack *st, struct us_sock *s)
{
	struct us_sock **b = bucket_kind(st, s->kind, s->lport);
	s->hash_next = *b;
	*b = s;
}

static void hash_remove(struct us_stack *st, struct us_sock *s)
{
	for (struct us_sock **pp = bucket_kind(st, s->kind, s->lport); *pp; pp = &(*pp)->hash_next)
		if (*pp == s) {
			*pp = s->hash_next;
			s->hash_next = NULL;
			return;
		}
}

/* The source address toward addr for socket s: its bound address, else the
 * route's preferred source (a local destination is its own source). -1
 * (and Ip.OutNoRoutes counted) if there is no route. */
int dgram_zone(const struct us_sock *s, const struct us_addr *addr)
{
	return ip_zone(addr, s->tx_scope ? s->tx_scope : s->scope_if);
}

void dgram_set_zone(struct us_stack *st, const struct us_sock *s, const struct us_addr *addr, struct pkt *p)
{
	int z = dgram_zone(s, addr);
	if (z)
		p->iface = iface_get(st, z);
}

int dgram_source(struct us_stack *st, const struct us_sock *s, const struct us_addr *addr, struct us_addr *src)
{
	if (!addr_is_any(&s->laddr)) {
		*src = s->laddr;
		return 0;
	}
	struct ip_path path;
	if (ip_route_oif(st, addr, dgram_zone(s, addr), &path) == 0) {
		*src = path.local ? *addr : path.src;
		return 0;
	}
	STAT_INC(st, ip, OutNoRoutes);
	return -1;
}

/* The wildcard a socket binds to when it is used unbound. */
struct us_addr dgram_wildcard(const struct us_sock *s) { return addr_any(s->family); }

int dgram_bind(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port)
{
	if (s->bound)
		return -EINVAL;
	if (!addr_is_any(addr) && !ip_is_local(st, addr) && !ip_is_multi(st, addr))
		return -EADDRNOTAVAIL;
	if (!port) {
		/* RFC 6056 algorithm 1: a random start, then search. */
		uint32_t range = EPHEMERAL_HI - EPHEMERAL_LO + 1;
		uint32_t start = us_rand_below(&st->rand, range);
		for (uint32_t i = 0; i < range; i++) {
			uint16_t cand = (uint16_t)(EPHEMERAL_LO + (start + i) % range);
			if (!port_in_use(st, addr, cand, s)) {
				port = cand;
				break;
			}
		}
		if (!port)
			return -EADDRINUSE;
	} else if (port_in_use(st, addr, port, s)) {
		return -EADDRINUSE;
	}
	s->laddr = *addr;
	s->lport = port;
	s->bound = 1;
	hash_insert(st, s);
	return 0;
}

int udp_connect(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port)
{
	if (!addr && !port) {   /* AF_UNSPEC-style disconnect */
		s->connected = 0;
		s->raddr = dgram_wildcard(s);
		s->rport = 0;
		return 0;
	}
	if (!addr || !port)
		return -EINVAL;
	if (!s->bound) {
		struct us_addr any = dgram_wildcard(s);
		int rc = dgram_bind(st, s, &any, 0);
		if (rc < 0)
			return rc;
	}
	if (addr_is_any(&s->laddr) && !ip_is_multi(st, addr)) {
		/* A route must exist now, as Linux checks on connect(). */
		struct ip_path path;
		if (ip_route_oif(st, addr, dgram_zone(s, addr), &path) < 0)
			return -ENETUNREACH;
	}
	s->raddr = *addr;
	s->rport = port;
	s->connected = 1;
	s->so_error = 0;
	return 0;
}

static ssize_t udp_out(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *src,
		       uint16_t sport, const struct us_addr *addr, uint16_t port)
{
	if (addr_is_v4(src) != addr_is_v4(addr))
		return -EAFNOSUPPORT;
	struct pkt *p = pkt_alloc(&st->pool, (uint32_t)(UDP_HDR_LEN + len), PKT_HEADROOM);
	if (!p) {
		STAT_INC(st, udp, SndbufErrors);
		return -ENOBUFS;
	}
	uint8_t *b = pkt_put(p, (uint32_t)(UDP_HDR_LEN + len));
	if (!b) {
		STAT_INC(st, udp, SndbufErrors);
		pkt_free(&st->pool, p);
		return -ENOBUFS;
	}
	memcpy(b + UDP_HDR_LEN, buf, len);
	udp_emit_ph(sport, port, ip_pseudo(src, addr, IP_PROTO_UDP), b, len);
	unsigned df = s->pmtudisc == IP_PMTUDISC_DO || s->pmtudisc == IP_PMTUDISC_PROBE ? IP_DF : 0;
	dgram_set_zone(st, s, addr, p);
	int ttl = !addr_is_v4(addr) ? (s->hops6_set ? s->hops6 : IP_TTL_ROUTE) : s->ttl ? s->ttl : IP_DEFAULT_TTL;
	int rc = ip_output(st, p, src, addr, IP_PROTO_UDP, ttl, s->tos, df);
	if (rc < 0)
		return rc;
	STAT_INC(st, udp, OutDatagrams);
	return (ssize_t)len;
}

ssize_t udp_sendto(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *to,
		   uint16_t port)
{
	struct us_addr addr;
	if (!to) {
		if (!s->connected)
			return -EDESTADDRREQ;
		if (s->so_error) {
			int e = s->so_error;
			s->so_error = 0;
			return -e;
		}
		addr = s->raddr;
		port = s->rport;
	} else {
		addr = *to;
	}
	if (!port)
		return -EINVAL;
	if (len > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (!s->bound) {
		struct us_addr any = dgram_wildcard(s);
		int rc = dgram_bind(st, s, &any, 0);
		if (rc < 0)
			return rc;
	}
	struct us_addr src;
	if (dgram_source(st, s, &addr, &src) < 0)
		return -ENETUNREACH;
	return udp_out(st, s, buf, len, &src, s->lport, &addr, port);
}

ssize_t udp_sendfrom(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *src,
		     uint16_t sport, const struct us_addr *addr, uint16_t port)
{
	if (!port || !sport || addr_is_any(src))
		return -EINVAL;
	if (len > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (!s->transparent && !ip_is_local(st, src))
		return -EADDRNOTAVAIL;   /* as Linux without IP_TRANSPARENT */
	return udp_out(st, s, buf, len, src, sport, addr, port);
}

/* A datagram socket's receive queue: its counts are what it holds (the
 * receive buffer is charged each datagram's length plus the overhead). */
static void dgram_check(const struct us_sock *s)
{
	if (!US_CHECKING)
		return;
	uint64_t n = 0, bytes = 0;
	for (const struct pkt *p = s->rxq.head; p; p = p->next) {
		n++;
		bytes += p->len;
		US_ASSERT(p->next || p == s->rxq.tail);
	}
	US_ASSERT(n == s->rxq.n && bytes == s->rxq.bytes);
	US_ASSERT(s->rx_bytes == bytes + n * UDP_SKB_OVERHEAD);
}

ssize_t dgram_recvfrom(struct us_stack *st, struct us_sock *s, void *buf, size_t len, int flags, struct us_addr *addr,
		     uint16_t *port, struct us_addr *daddr, uint16_t *dport)
{
	struct pkt *p = s->rxq.head;
	if (!p) {
		if (s->so_error) {
			int e = s->so_error;
			s->so_error = 0;
			return -e;
		}
		return -EAGAIN;
	}
	size_t n = US_MIN(len, (size_t)p->len);
	memcpy(buf, p->data, n);
	*addr = p->src;
	*port = p->sport;
	*daddr = p->dst;
	*dport = p->dport;
	s->rx_if = p->iface ? p->iface->index : 0;   /* the zone of a link-local peer */
	size_t full = p->len;
	if (!(flags & MSG_PEEK)) {
		pktq_pop(&s->rxq);
		s->rx_bytes -= (uint32_t)full + UDP_SKB_OVERHEAD;
		pkt_free(&st->pool, p);
		dgram_check(s);
	}
	return (flags & MSG_TRUNC) ? (ssize_t)full : (ssize_t)n;
}

unsigned dgram_poll(struct us_stack *st, struct us_sock *s)
{
	(void)st;
	unsigned ev = US_POLLOUT;
	if (s->rxq.n)
		ev |= US_POLLIN;
	if (s->so_error)
		ev |= US_POLLERR;
	return ev;
}

void dgram_close(struct us_stack *st, struct us_sock *s)
{
	if (s->transparent)
		dgram_set_transparent(st, s, 0);
	if (s->bound)
		hash_remove(st, s);
	pktq_purge(&st->pool, &s->rxq);
	s->rx_bytes = 0;
	sock_release(st, s);
}

void udp_input(struct us_stack *st, struct pkt *p)
{
	struct udp_repr u;
	int check = (p->flags & PKT_F_CSUM_OK) ? 0 : addr_is_v4(&p->src) ? 1 : UDP_CSUM_REQUIRED;
	int rc = udp_parse_ph(p->data, p->len, ip_pseudo(&p->src, &p->dst, IP_PROTO_UDP), &u, check);
	if (rc < 0) {
		if (rc == -EBADMSG)
			STAT_INC(st, udp, InCsumErrors);
		STAT_INC(st, udp, InErrors);
		goto drop;
	}
	/* A non-local destination only ever reaches the transparent socket. */
	struct us_sock *s = (p->flags & PKT_F_NONLOCAL) ? dgram_tproxy(st, SK_UDP, &p->dst)
							 : lookup(st, &p->src, u.sport, &p->dst, u.dport);
	if (!s) {
		if (p->flags & PKT_F_BCAST) {
			STAT_INC(st, udp, IgnoredMulti);
		} else {
			STAT_INC(st, udp, NoPorts);
			ip_port_unreachable(st, p);
		}
		goto drop;
	}
	uint32_t charge = (uint32_t)u.payload_len + UDP_SKB_OVERHEAD;
	if (s->rx_bytes + charge > s->rcvbuf) {
		STAT_INC(st, udp, RcvbufErrors);
		STAT_INC(st, udp, InErrors);
		goto drop;
	}
	if (stack_mem_over(st, stack_mem_max(st) / 8)) {
		/* The stack-wide budget (mem_max): queued datagrams hold packet
		 * buffers. The pool never goes past the budget (the device drops
		 * what it cannot take: Link.InNoBuf), so unread datagrams may fill
		 * at most 7/8 of it: the rest stays for packets in flight (ACKs,
		 * ARP, replies) as TCP rings leave it. */
		STAT_INC(st, udp, MemErrors);
		STAT_INC(st, udp, InErrors);
		goto drop;
	}
	/* Zero copy: the datagram stays in its buffer, trimmed to the payload. */
	p->sport = u.sport;
	p->dport = u.dport;
	pkt_pull(p, UDP_HDR_LEN);
	p->len = (uint32_t)u.payload_len;
	pktq_push(&s->rxq, p);
	s->rx_bytes += charge;
	dgram_check(s);
	STAT_INC(st, udp, InDatagrams);
	sock_wakeup(st, s);
	return;
drop:
	pkt_free(&st->pool, p);
}

void udp_err(struct us_stack *st, const struct us_l4_err *e)
{
	uint16_t sport = rd_be16(e->l4), dport = rd_be16(e->l4 + 2);
	/* Quoted datagram: we sent src:sport -> dst:dport. Only connected
	 * sockets hear about it (Linux without IP_RECVERR). */
	struct us_sock *s = lookup(st, &e->dst, dport, &e->src, sport);
	if (!s || !s->connected || !addr_eq(&s->raddr, &e->dst) || s->rport != dport)
		return;
	s->so_error = e->err;
	sock_wakeup(st, s);
}


/* ---- shared with the ping sockets (transport/ping.c) ---- */

struct us_sock *dgram_tproxy(struct us_stack *st, int kind, const struct us_addr *dst)
{
	return st->udp->tproxy[kind == SK_ICMP][!addr_is_v4(dst)];
}

struct us_sock *dgram_lookup_bound(struct us_stack *st, int kind, const struct us_addr *dst, uint16_t port)
{
	for (struct us_sock *s = *bucket_kind(st, kind, port); s; s = s->hash_next)
		if (s->lport == port && (addr_is_any(&s->laddr) ? addr_wild_takes(&s->laddr, s->v6only, dst)
							       : addr_eq(&s->laddr, dst)))
			return s;
	return NULL;
}

int dgram_queue(struct us_stack *st, struct us_sock *s, struct pkt *p)
{
	uint32_t charge = p->len + UDP_SKB_OVERHEAD;
	if (s->rx_bytes + charge > s->rcvbuf || stack_mem_over(st, 0))
		return -1;
	s->rx_bytes += charge;
	pktq_push(&s->rxq, p);
	dgram_check(s);
	sock_wakeup(st, s);
	return 0;
}

static ssize_t udp_send_op(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, int flags,
			   const struct us_addr *to, uint16_t port)
{
	(void)flags;
	return udp_sendto(st, s, buf, len, to, port);
}

/* A datagram socket has no connection to shut down (Linux: ENOTCONN unless
 * connected, then nothing to do). */
int dgram_shutdown(struct us_stack *st, struct us_sock *s, int how)
{
	(void)st;
	(void)how;
	return s->connected ? 0 : -ENOTCONN;
}

const struct sock_ops udp_sock_ops = {
	.type = SOCK_DGRAM,
	.bind = dgram_bind,
	.connect = udp_connect,
	.send = udp_send_op,
	.sendfrom = udp_sendfrom,
	.recv = dgram_recvfrom,
	.shutdown = dgram_shutdown,
	.close = dgram_close,
	.poll = dgram_poll,
	.set_transparent = dgram_set_transparent,
};
