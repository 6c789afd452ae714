/* ICMP echo ("ping") sockets: SOCK_DGRAM + IPPROTO_ICMP, as Linux's ping
 * sockets. The application sends an echo request header and data; the
 * identifier is the socket's port, so the datagram-socket machinery of
 * transport/udp.c (ports, queues, transparent mode) serves them too. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "api/sock.h"
#include "core/bytes.h"
#include "net/ip.h"
#include "stack.h"
#include "transport/udp.h"
#include "wire/icmp4.h"
#include "wire/icmp6.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

ssize_t icmp_sock_sendto(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *addr)
{
	const uint8_t *b = buf;
	int v6 = s->family == AF_INET6;
	if (len < ICMP4_HDR_LEN || b[0] != (v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO) || b[1] != 0)
		return -EINVAL;   /* as Linux: only echo requests */
	if (len > (v6 ? 65535u : IPV4_MAX_LEN - IPV4_HDR_LEN))
		return -EMSGSIZE;
	if (addr_is_v4(addr) == v6)
		return -EAFNOSUPPORT;
	if (!s->bound) {
		struct us_addr any = dgram_wildcard(s);
		int rc = dgram_bind(st, s, &any, 0);
		if (rc < 0)
			return rc;
	}
	struct us_addr src;
	if (dgram_source(st, s, addr, &src) < 0)
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
	uint32_t rest = ((uint32_t)s->lport << 16) | rd_be16(b + 6);   /* the identifier is the socket's port */
	if (v6) {
		/* The checksum covers the pseudo-header (RFC 4443 2.3). */
		struct ip6_addr s6, d6;
		memcpy(s6.b, src.b, 16);
		memcpy(d6.b, addr->b, 16);
		struct icmp6_repr r = {.type = ICMP6_ECHO_REQUEST, .rest = rest, .payload = o + ICMP6_HDR_LEN,
				       .payload_len = len - ICMP6_HDR_LEN};
		icmp6_emit(&r, &s6, &d6, o);
		STAT_INC(st, icmp6, OutMsgs);
		STAT_INC(st, icmp6, OutEchos);
		dgram_set_zone(st, s, addr, p);
		/* IPV6_UNICAST_HOPS (ping -6 -t), else IP_TTL (the relay's),
		 * else the route's default. */
		int hops = s->hops6_set ? s->hops6 : s->ttl ? s->ttl : IP_TTL_ROUTE;
		int rc = ip_output(st, p, &src, addr, IP6_NH_ICMPV6, hops, 0, 0);
		return rc < 0 ? rc : (ssize_t)len;
	}
	struct icmp4_repr r = {.type = ICMP_ECHO, .code = 0, .rest = rest,
			       .payload = o + ICMP4_HDR_LEN, .payload_len = len - ICMP4_HDR_LEN};
	icmp4_emit(&r, o);
	STAT_INC(st, icmp, OutMsgs);
	STAT_INC(st, icmp, OutEchos);
	int rc = ip_output(st, p, &src, addr, IP_PROTO_ICMP, IP_DEFAULT_TTL, 0, 0);
	return rc < 0 ? rc : (ssize_t)len;
}

ssize_t icmp_sock_sendfrom(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *src,
			   const struct us_addr *addr)
{
	const uint8_t *b = buf;
	int v6 = s->family == AF_INET6;
	if (len < ICMP4_HDR_LEN || addr_is_any(src))
		return -EINVAL;
	if (len > (v6 ? 65535u : IPV4_MAX_LEN - IPV4_HDR_LEN))
		return -EMSGSIZE;
	/* ICMP of the socket's family only (a ping socket carries no other). */
	if (addr_is_v4(src) == v6 || addr_is_v4(addr) == v6)
		return -EAFNOSUPPORT;
	if (!s->transparent && !ip_is_local(st, src))
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
	uint8_t ttl = s->ttl ? s->ttl : IP_DEFAULT_TTL;
	if (v6) {
		/* The checksum covers the pseudo-header (RFC 4443 2.3). */
		struct ip6_addr s6, d6;
		memcpy(s6.b, src->b, 16);
		memcpy(d6.b, addr->b, 16);
		struct icmp6_repr r = {.type = b[0], .code = b[1], .rest = rd_be32(b + 4), .payload = o + ICMP6_HDR_LEN,
				       .payload_len = len - ICMP6_HDR_LEN};
		icmp6_emit(&r, &s6, &d6, o);
		STAT_INC(st, icmp6, OutMsgs);
		if (b[0] == ICMP6_ECHO_REPLY)
			STAT_INC(st, icmp6, OutEchoReplies);
		else if (b[0] == ICMP6_DEST_UNREACH)
			STAT_INC(st, icmp6, OutDestUnreachs);
		int rc = ip_output(st, p, src, addr, IP6_NH_ICMPV6, ttl, s->tos, 0);
		return rc < 0 ? rc : (ssize_t)len;
	}
	struct icmp4_repr r = {.type = b[0], .code = b[1], .rest = rd_be32(b + 4), .payload = o + ICMP4_HDR_LEN,
			       .payload_len = len - ICMP4_HDR_LEN};
	icmp4_emit(&r, o);
	STAT_INC(st, icmp, OutMsgs);
	if (b[0] == ICMP_ECHOREPLY)
		STAT_INC(st, icmp, OutEchoReps);
	else if (b[0] == ICMP_DEST_UNREACH)
		STAT_INC(st, icmp, OutDestUnreachs);
	int rc = ip_output(st, p, src, addr, IP_PROTO_ICMP, ttl, s->tos, 0);
	return rc < 0 ? rc : (ssize_t)len;
}

int icmp_tproxy_input(struct us_stack *st, struct pkt *p)
{
	struct us_sock *s = dgram_tproxy(st, SK_ICMP, &p->dst);
	if (!s)
		return 0;
	p->sport = p->dport = 0;
	if (dgram_queue(st, s, p) < 0)
		pkt_free(&st->pool, p);
	return 1;
}

void icmp_sock_input(struct us_stack *st, struct pkt *p, uint16_t id)
{
	struct us_sock *s = dgram_lookup_bound(st, SK_ICMP, &p->dst, id);
	p->sport = 0;
	if (!s || dgram_queue(st, s, p) < 0)
		pkt_free(&st->pool, p);
}

static ssize_t ping_send_op(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, int flags,
			    const struct us_addr *to, uint16_t port)
{
	(void)flags;
	(void)port;
	return to ? icmp_sock_sendto(st, s, buf, len, to) : -EDESTADDRREQ;
}

static ssize_t ping_sendfrom_op(struct us_stack *st, struct us_sock *s, const void *buf, size_t len,
				const struct us_addr *src, uint16_t sport, const struct us_addr *to, uint16_t port)
{
	(void)sport;
	(void)port;
	return icmp_sock_sendfrom(st, s, buf, len, src, to);
}

const struct sock_ops ping_sock_ops = {
	.type = SOCK_DGRAM,
	.bind = dgram_bind,
	.send = ping_send_op,
	.sendfrom = ping_sendfrom_op,
	.recv = dgram_recvfrom,
	.shutdown = dgram_shutdown,
	.close = dgram_close,
	.poll = dgram_poll,
	.set_transparent = dgram_set_transparent,
};
