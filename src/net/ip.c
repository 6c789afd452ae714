/* The family-neutral face of the network layer (net/ip.h): each call looks
 * at the address's family and goes to IPv4 (or, when it exists, IPv6). */
#include <errno.h>
#include <string.h>

#include "link/link.h"
#include "net/iface.h"
#include "net/ip.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "net/route.h"
#include "wire/csum.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"

static int route6(struct us_stack *st, const struct us_addr *dst, int oif, struct ip_path *out)
{
	struct ip6_addr d;
	memcpy(d.b, dst->b, 16);
	if (ip6_is_loopback(&d) || iface6_is_local(st, &d)) {
		out->iface = NULL;
		out->src = *dst;
		out->mtu = 65535;
		out->link_flags = 0;
		out->local = 1;
		return 0;
	}
	struct us_rt6_result rt;
	if (route6_lookup_oif(st, &d, oif, &rt) < 0)
		return -ENETUNREACH;
	out->iface = rt.iface;
	out->src = addr_from_v6(rt.src.b);
	out->mtu = rt.mtu;
	out->link_flags = rt.iface->link->flags;
	out->local = 0;
	return 0;
}

int ip_route(struct us_stack *st, const struct us_addr *dst, struct ip_path *out)
{
	return ip_route_oif(st, dst, 0, out);
}

int ip_route_oif(struct us_stack *st, const struct us_addr *dst, int oif, struct ip_path *out)
{
	if (!addr_is_v4(dst))
		return route6(st, dst, oif, out);
	uint32_t d = addr_v4(dst);
	struct us_rt_result rt;
	int local = iface_is_local_addr(st, d) || ipv4_is_loopback(d);
	if (route_lookup(st, d, &rt) < 0) {
		if (!local)
			return -ENETUNREACH;
		/* Our own address with no connected route (its interface is
		 * down), or loopback: it never leaves the stack. */
		out->iface = NULL;
		out->src = *dst;
		out->mtu = 1500;
		out->link_flags = 0;
		out->local = 1;
		return 0;
	}
	out->iface = local ? NULL : rt.iface;
	out->src = addr_from_v4(rt.src);
	out->mtu = rt.mtu;
	out->link_flags = local ? 0 : rt.iface->link->flags;
	out->local = local;
	return 0;
}

int ip_is_local(const struct us_stack *st, const struct us_addr *a)
{
	if (!addr_is_v4(a)) {
		struct ip6_addr d;
		memcpy(d.b, a->b, 16);
		return ip6_is_loopback(&d) || iface6_is_local(st, &d);
	}
	return iface_is_local_addr(st, addr_v4(a)) || ipv4_is_loopback(addr_v4(a));
}

int ip_is_multi(const struct us_stack *st, const struct us_addr *a)
{
	(void)st;
	if (!addr_is_v4(a))
		return a->b[0] == 0xff;
	uint32_t v = addr_v4(a);
	return ipv4_is_bcast(v) || ipv4_is_mcast(v);
}

uint32_t ip_pseudo6(const struct us_addr *src, const struct us_addr *dst, uint8_t proto)
{
	/* RFC 8200 8.1: both addresses, the next header (the caller's codec
	 * adds the 32-bit length). */
	uint32_t s = csum_partial(src->b, 16, 0);
	return csum_partial(dst->b, 16, s) + proto;
}

void ip_pmtu_update(struct us_stack *st, const struct us_addr *dst, uint32_t mtu)
{
	struct us_rt6_result rt;
	struct ip6_addr d6;
	if (addr_is_v4(dst))
		return;
	memcpy(d6.b, dst->b, 16);
	if (route6_lookup(st, &d6, &rt) == 0 && mtu < rt.mtu && route6_pmtu_update(st, &d6, mtu))
		STAT_INC(st, ip6, PmtuUpdates);
}

int ip_default_hops(struct us_stack *st, const struct us_addr *dst)
{
	struct us_rt6_result rt;
	struct ip6_addr d6;
	if (addr_is_v4(dst))
		return IP_DEFAULT_TTL;
	memcpy(d6.b, dst->b, 16);
	if (route6_lookup(st, &d6, &rt) == 0 && rt.iface->hop_limit6)
		return rt.iface->hop_limit6;
	return IPV6_DEFAULT_HOPS;
}

int ip_output(struct us_stack *st, struct pkt *p, const struct us_addr *src, const struct us_addr *dst, uint8_t proto,
	      int ttl, uint8_t tos, unsigned flags)
{
	if (!addr_is_v4(dst)) {
		if (!addr_is_any(src) && addr_is_v4(src)) {
			pkt_free(&st->pool, p);
			return -EAFNOSUPPORT;
		}
		struct ip6_addr s6, d6;
		memcpy(s6.b, src->b, 16);
		memcpy(d6.b, dst->b, 16);
		if (addr_is_any(src))
			s6 = ip6_any;
		if (flags & IP_DF) {
			/* IPV6_DONTFRAG-like: too big for the path is EMSGSIZE. */
			struct ip_path path;
			if (route6(st, dst, p->iface ? p->iface->index : 0, &path) == 0 && !path.local && !p->gso_size && p->len + IPV6_HDR_LEN > path.mtu) {
				STAT_INC(st, ip6, OutRequests);
				STAT_INC(st, ip6, FragFails);
				pkt_free(&st->pool, p);
				return -EMSGSIZE;
			}
		}
		return ipv6_output(st, p, &s6, &d6, proto, ttl, tos);
	}
	if (!addr_is_any(src) && !addr_is_v4(src)) {
		pkt_free(&st->pool, p);
		return -EAFNOSUPPORT;
	}
	return ipv4_output(st, p, addr_is_any(src) ? 0 : addr_v4(src), addr_v4(dst), proto,
			   (uint8_t)(ttl < 0 ? IP_DEFAULT_TTL : ttl), tos, (flags & IP_DF) ? IPV4_DF : 0);
}

void ip_port_unreachable(struct us_stack *st, const struct pkt *p)
{
	if (addr_is_v4(&p->src))
		icmp4_send_error(st, p, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
	else
		icmp6_send_error(st, p, ICMP6_DEST_UNREACH, ICMP6_DU_PORT, 0);
}

void ip_loopback(struct us_stack *st, struct pkt *p)
{
	p->iface = NULL;
	if (p->csum_l4)
		p->flags |= PKT_F_CSUM_OK;   /* never left the process */
	p->gso_size = 0;
	pktq_push(&st->loopq, p);
}
