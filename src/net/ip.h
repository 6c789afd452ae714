/* The network layer as the transports see it, for either family (net/ip.c):
 * addresses are struct us_addr (core/addr.h), and each call picks IPv4 or
 * IPv6 from the address. TCP and UDP are written once against this. */
#ifndef US_NET_IP_H
#define US_NET_IP_H
#include <stdint.h>

#include "core/addr.h"
#include "stack.h"
#include "wire/csum.h"

struct us_iface;

/* The path toward a destination. */
struct ip_path {
	struct us_iface *iface;       /* NULL for a local or loopback destination */
	struct us_addr src;           /* the preferred source address */
	uint32_t mtu;                 /* the path MTU (the interface's, or what PMTU learnt) */
	uint32_t link_flags;          /* the device's US_LINK_* offloads (0 when local) */
	int local;                    /* our own address or loopback: never leaves the stack */
};

/* 0 with *out written, or -ENETUNREACH (no route) with *out untouched. */
int ip_route(struct us_stack *st, const struct us_addr *dst, struct ip_path *out);
/* The same in a zone: oif > 0 is the interface of a link-scope IPv6 dst
 * (its sin6_scope_id; route6_lookup_oif). */
int ip_route_oif(struct us_stack *st, const struct us_addr *dst, int oif, struct ip_path *out);
/* The zone of a (RFC 4007): the interface a link-scope IPv6 address was
 * given with, p_if; 0 for every other address (one zone each). */
static inline int ip_zone(const struct us_addr *a, int p_if)
{
	return !addr_is_v4(a) && ((a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80) || (a->b[0] == 0xff && (a->b[1] & 0x0f) <= 2))
		       ? p_if
		       : 0;
}
/* One of our own addresses (any interface), or loopback. */
int ip_is_local(const struct us_stack *st, const struct us_addr *a);
/* Not a unicast destination: IPv4 limited broadcast or multicast,
 * IPv6 multicast. */
int ip_is_multi(const struct us_stack *st, const struct us_addr *a);

/* The pseudo-header sum of a transport checksum without the length, which
 * the wire codecs add (tcp_parse_ph, udp_emit_ph, ...): RFC 9293 3.1 and
 * RFC 768 for IPv4, RFC 8200 8.1 for IPv6. */
uint32_t ip_pseudo6(const struct us_addr *src, const struct us_addr *dst, uint8_t proto);
static inline uint32_t ip_pseudo(const struct us_addr *src, const struct us_addr *dst, uint8_t proto)
{
	/* IPv4 inline: every segment in and out takes this. */
	if (addr_is_v4(src))
		return csum_pseudo4(addr_v4(src), addr_v4(dst), proto, 0);
	return ip_pseudo6(src, dst, proto);
}
/* Bytes of the IP header in front of a transport header toward a: 20 or 40. */
static inline uint32_t ip_hdr_len(const struct us_addr *a) { return addr_is_v4(a) ? 20 : 40; }

/* Send a transport datagram (p->data at its header). src any: the route's
 * preferred source. Consumes p. 0 or a negative errno (-ENETUNREACH,
 * -EMSGSIZE, -ENOBUFS, -EAFNOSUPPORT when the families differ). */
#define IP_DF 0x1                 /* IPv4: don't fragment (IPv6 routers never do) */
/* ttl: the TTL or hop limit, or IP_TTL_ROUTE for the default: 64 for
 * IPv4; for IPv6 the outgoing interface's, from the latest router
 * advertisement's Cur Hop Limit (RFC 4861 6.3.4), else 64. */
int ip_output(struct us_stack *st, struct pkt *p, const struct us_addr *src, const struct us_addr *dst, uint8_t proto,
	      int ttl, uint8_t tos, unsigned flags);
#define IP_DEFAULT_TTL 64
#define IP_TTL_ROUTE (-1)
/* A Packet Too Big (already checked: >= 1280, quoting our packet) said
 * mtu for dst: IPv6's per-destination path MTU goes down to it (counted
 * in Ip6.PmtuUpdates). Nothing for IPv4, whose transports keep their own. */
void ip_pmtu_update(struct us_stack *st, const struct us_addr *dst, uint32_t mtu);
/* The hop limit IP_TTL_ROUTE means toward dst (IPv6), or 64. */
int ip_default_hops(struct us_stack *st, const struct us_addr *dst);

/* A datagram (l3_off at its IP header) reached a port nobody listens on:
 * the family's "port unreachable", under its suppression and rate rules. */
void ip_port_unreachable(struct us_stack *st, const struct pkt *p);

/* The token bucket both ICMPs' errors pass (net/icmp4.c): icmp_burst
 * tokens, one more each icmp_rate_ms. 1 if one may be sent now. */
int icmp_ratelimit_ok(struct us_stack *st, struct icmp_ratelimit *rl);
/* A finished packet (IP header pushed) to one of our own addresses, into
 * the loopback queue the next pass delivers: both families' output. */
void ip_loopback(struct us_stack *st, struct pkt *p);
#endif
