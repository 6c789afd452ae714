/* UDP (RFC 768, RFC 1122 4.1): checksums checked and generated, sockets
 * hashed by local port, bounded receive queues, ICMP errors surfaced to
 * connected sockets, port unreachable for closed ports. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/sock.h"
#include "core/bytes.h"
#include "stack.h"
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
	struct us_sock *tproxy, *tproxy_icmp;  /* IP_TRANSPARENT sockets (the latest) */
};

void udp_set_transparent(struct us_stack *st, struct us_sock *s, int on)
{
	struct us_sock **slot = s->kind == SK_ICMP ? &st->udp->tproxy_icmp : &st->udp->tproxy;
	if (on) {
		*slot = s;
		return;
	}
	if (*slot != s)
		return;
	*slot = NULL;
	/* Another transparent socket of the same kind takes over. */
	for (uint32_t i = 0; i < st->max_socks; i++) {
		struct us_sock *o = st->socks[i];
		if (o && o != s && o->kind == s->kind && o->transparent && !o->closing)
			*slot = o;
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
 * which beat wildcards. */
static struct us_sock *lookup(struct us_stack *st, uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport)
{
	struct us_sock *best = NULL;
	int best_score = -1;
	for (struct us_sock *s = *bucket(st, dport); s; s = s->hash_next) {
		if (s->lport != dport)
			continue;
		int score = 0;
		if (s->laddr) {
			if (s->laddr != daddr)
				continue;
			score += 1;
		}
		if (s->connected) {
			if (s->raddr != saddr || s->rport != sport)
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

static int port_in_use(struct us_stack *st, uint32_t addr, uint16_t port, const struct us_sock *self)
{
	for (struct us_sock *s = *bucket_kind(st, self->kind, port); s; s = s->hash_next) {
		if (s == self || s->lport != port)
			continue;
		if (s->laddr && addr && s->laddr != addr)
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

/* The socket's source address toward addr: its bound address, else the
 * destination itself if local, else the route's preferred source; 0 (and
 * OutNoRoutes counted) if there is no route. */
static uint32_t source_for(struct us_stack *st, const struct us_sock *s, uint32_t addr)
{
	struct us_rt_result rt;
	if (s->laddr)
		return s->laddr;
	if (iface_is_local_addr(st, addr))
		return addr;
	if (route_lookup(st, addr, &rt) == 0)
		return rt.src;
	STAT_INC(st, ip, OutNoRoutes);
	return 0;
}

int udp_bind(struct us_stack *st, struct us_sock *s, uint32_t addr, uint16_t port)
{
	if (s->bound)
		return -EINVAL;
	if (addr && !iface_is_local_addr(st, addr) && !ipv4_is_bcast(addr) && !ipv4_is_mcast(addr))
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
	s->laddr = addr;
	s->lport = port;
	s->bound = 1;
	hash_insert(st, s);
	return 0;
}

int udp_connect(struct us_stack *st, struct us_sock *s, uint32_t addr, uint16_t port)
{
	if (!addr && !port) {   /* AF_UNSPEC-style disconnect */
		s->connected = 0;
		s->raddr = 0;
		s->rport = 0;
		return 0;
	}
	if (!port)
		return -EINVAL;
	if (!s->bound) {
		int rc = udp_bind(st, s, 0, 0);
		if (rc < 0)
			return rc;
	}
	if (!s->laddr && !ipv4_is_bcast(addr)) {
		/* Fix the source now, as Linux does on connect(). */
		struct us_rt_result rt;
		if (!iface_is_local_addr(st, addr) && route_lookup(st, addr, &rt) < 0)
			return -ENETUNREACH;
	}
	s->raddr = addr;
	s->rport = port;
	s->connected = 1;
	s->so_error = 0;
	return 0;
}

static ssize_t udp_out(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, uint32_t src, uint16_t sport,
		       uint32_t addr, uint16_t port)
{
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
	udp_emit(sport, port, src, addr, b, len);
	int rc = ipv4_output(st, p, src, addr, IP_PROTO_UDP, s->ttl ? s->ttl : IPV4_DEFAULT_TTL, 0, 0);
	if (rc < 0)
		return rc;
	STAT_INC(st, udp, OutDatagrams);
	return (ssize_t)len;
}

ssize_t udp_sendto(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, uint32_t addr, uint16_t port,
		   int has_addr)
{
	if (!has_addr) {
		if (!s->connected)
			return -EDESTADDRREQ;
		if (s->so_error) {
			int e = s->so_error;
			s->so_error = 0;
			return -e;
		}
		addr = s->raddr;
		port = s->rport;
	}
	if (!port)
		return -EINVAL;
	if (len > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (!s->bound) {
		int rc = udp_bind(st, s, 0, 0);
		if (rc < 0)
			return rc;
	}
	uint32_t src = source_for(st, s, addr);
	if (!src)
		return -ENETUNREACH;
	return udp_out(st, s, buf, len, src, s->lport, addr, port);
}

ssize_t udp_sendfrom(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, uint32_t src, uint16_t sport,
		     uint32_t addr, uint16_t port)
{
	if (!port || !sport || !src)
		return -EINVAL;
	if (len > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (!s->transparent && !iface_is_local_addr(st, src))
		return -EADDRNOTAVAIL;   /* as Linux without IP_TRANSPARENT */
	return udp_out(st, s, buf, len, src, sport, addr, port);
}

ssize_t udp_recvfrom(struct us_stack *st, struct us_sock *s, void *buf, size_t len, int flags, uint32_t *addr,
		     uint16_t *port, uint32_t *daddr, uint16_t *dport)
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
	*addr = p->ip_src;
	*port = p->sport;
	*daddr = p->ip_dst;
	*dport = p->dport;
	size_t full = p->len;
	if (!(flags & MSG_PEEK)) {
		pktq_pop(&s->rxq);
		s->rx_bytes -= (uint32_t)full + UDP_SKB_OVERHEAD;
		pkt_free(&st->pool, p);
	}
	return (flags & MSG_TRUNC) ? (ssize_t)full : (ssize_t)n;
}

unsigned udp_poll(struct us_stack *st, struct us_sock *s)
{
	(void)st;
	unsigned ev = US_POLLOUT;
	if (s->rxq.n)
		ev |= US_POLLIN;
	if (s->so_error)
		ev |= US_POLLERR;
	return ev;
}

void udp_close(struct us_stack *st, struct us_sock *s)
{
	if (s->transparent)
		udp_set_transparent(st, s, 0);
	if (s->bound)
		hash_remove(st, s);
	pktq_purge(&st->pool, &s->rxq);
	s->rx_bytes = 0;
}

void udp_input(struct us_stack *st, struct pkt *p)
{
	struct udp_repr u;
	int rc = udp_parse(p->data, p->len, p->ip_src, p->ip_dst, &u, !(p->flags & PKT_F_CSUM_OK));
	if (rc < 0) {
		if (rc == -EBADMSG)
			STAT_INC(st, udp, InCsumErrors);
		STAT_INC(st, udp, InErrors);
		goto drop;
	}
	/* A non-local destination only ever reaches the transparent socket. */
	struct us_sock *s = (p->flags & PKT_F_NONLOCAL) ? st->udp->tproxy : lookup(st, p->ip_src, u.sport, p->ip_dst, u.dport);
	if (!s) {
		if (p->flags & PKT_F_BCAST) {
			STAT_INC(st, udp, IgnoredMulti);
		} else {
			STAT_INC(st, udp, NoPorts);
			icmp4_send_error(st, p, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
		}
		goto drop;
	}
	uint32_t charge = (uint32_t)u.payload_len + UDP_SKB_OVERHEAD;
	if (s->rx_bytes + charge > s->rcvbuf) {
		STAT_INC(st, udp, RcvbufErrors);
		STAT_INC(st, udp, InErrors);
		goto drop;
	}
	if (stack_mem_over(st, 0)) {
		/* The stack-wide budget (mem_max): queued datagrams hold packet
		 * buffers; past it they are dropped rather than kept. */
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
	STAT_INC(st, udp, InDatagrams);
	sock_wakeup(st, s);
	return;
drop:
	pkt_free(&st->pool, p);
}

void udp_err(struct us_stack *st, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, int err)
{
	/* Quoted datagram: we sent src:sport -> dst:dport. Only connected
	 * sockets hear about it (Linux without IP_RECVERR). */
	struct us_sock *s = lookup(st, dst, dport, src, sport);
	if (!s || !s->connected || s->raddr != dst || s->rport != dport)
		return;
	s->so_error = err;
	sock_wakeup(st, s);
}

/* ---- ICMP echo ("ping") sockets ---------------------------------------- */

ssize_t icmp_sock_sendto(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, uint32_t addr)
{
	const uint8_t *b = buf;
	if (len < ICMP4_HDR_LEN || b[0] != ICMP_ECHO || b[1] != 0)
		return -EINVAL;   /* as Linux: only echo requests */
	if (len > IPV4_MAX_LEN - IPV4_HDR_LEN)
		return -EMSGSIZE;
	if (!s->bound) {
		int rc = udp_bind(st, s, 0, 0);
		if (rc < 0)
			return rc;
	}
	uint32_t src = source_for(st, s, addr);
	if (!src)
		return -ENETUNREACH;
	struct pkt *p = pkt_alloc(&st->pool, (uint32_t)len, PKT_HEADROOM);
	if (!p)
		return -ENOBUFS;
	uint8_t *o = pkt_put(p, (uint32_t)len);
	if (!o) {
		pkt_free(&st->pool, p);
		return -ENOBUFS;
	}
	memcpy(o, b, len);
	struct icmp4_repr r = {.type = ICMP_ECHO, .code = 0, .rest = ((uint32_t)s->lport << 16) | rd_be16(b + 6),
			       .payload = o + ICMP4_HDR_LEN, .payload_len = len - ICMP4_HDR_LEN};
	icmp4_emit(&r, o);
	STAT_INC(st, icmp, OutMsgs);
	STAT_INC(st, icmp, OutEchos);
	int rc = ipv4_output(st, p, src, addr, IP_PROTO_ICMP, IPV4_DEFAULT_TTL, 0, 0);
	return rc < 0 ? rc : (ssize_t)len;
}

ssize_t icmp_sock_sendfrom(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, uint32_t src, uint32_t addr)
{
	const uint8_t *b = buf;
	if (len < ICMP4_HDR_LEN || !src)
		return -EINVAL;
	if (len > IPV4_MAX_LEN - IPV4_HDR_LEN)
		return -EMSGSIZE;
	if (!s->transparent && !iface_is_local_addr(st, src))
		return -EADDRNOTAVAIL;
	struct pkt *p = pkt_alloc(&st->pool, (uint32_t)len, PKT_HEADROOM);
	if (!p)
		return -ENOBUFS;
	uint8_t *o = pkt_put(p, (uint32_t)len);
	if (!o) {
		pkt_free(&st->pool, p);
		return -ENOBUFS;
	}
	memcpy(o, b, len);
	struct icmp4_repr r = {.type = b[0], .code = b[1], .rest = rd_be32(b + 4), .payload = o + ICMP4_HDR_LEN,
			       .payload_len = len - ICMP4_HDR_LEN};
	icmp4_emit(&r, o);
	STAT_INC(st, icmp, OutMsgs);
	if (b[0] == ICMP_ECHOREPLY)
		STAT_INC(st, icmp, OutEchoReps);
	else if (b[0] == ICMP_DEST_UNREACH)
		STAT_INC(st, icmp, OutDestUnreachs);
	int rc = ipv4_output(st, p, src, addr, IP_PROTO_ICMP, s->ttl ? s->ttl : IPV4_DEFAULT_TTL, 0, 0);
	return rc < 0 ? rc : (ssize_t)len;
}

int icmp_tproxy_input(struct us_stack *st, struct pkt *p)
{
	struct us_sock *s = st->udp->tproxy_icmp;
	if (!s)
		return 0;
	if (s->rx_bytes + p->len + UDP_SKB_OVERHEAD > s->rcvbuf || stack_mem_over(st, 0)) {
		pkt_free(&st->pool, p);
		return 1;
	}
	p->sport = p->dport = 0;
	s->rx_bytes += p->len + UDP_SKB_OVERHEAD;
	pktq_push(&s->rxq, p);
	sock_wakeup(st, s);
	return 1;
}

void icmp_sock_input(struct us_stack *st, struct pkt *p, uint16_t id)
{
	for (struct us_sock *s = *bucket_kind(st, SK_ICMP, id); s; s = s->hash_next) {
		if (s->lport != id || (s->laddr && s->laddr != p->ip_dst))
			continue;
		if (s->rx_bytes + p->len + UDP_SKB_OVERHEAD > s->rcvbuf)
			break;
		p->sport = 0;
		s->rx_bytes += p->len + UDP_SKB_OVERHEAD;
		pktq_push(&s->rxq, p);
		sock_wakeup(st, s);
		return;
	}
	pkt_free(&st->pool, p);
}
