/* The IPv4 routing table: longest prefix match over a small array
 * (connected routes come from interface addresses). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/iface.h"
#include "net/route.h"

struct us_route {
	uint32_t dst, mask, gw;       /* gw 0: on-link */
	int plen;
	int ifindex;
};

struct us_route6 {
	struct ip6_addr dst, gw;      /* gw :: : on-link */
	int plen;
	int ifindex;
	uint64_t expires;             /* ns; 0: forever */
};

struct us_pmtu6 {
	struct ip6_addr dst;
	uint32_t mtu;                 /* 0: slot free */
	uint64_t expires;
};

struct route_table {
	struct us_route r[US_MAX_ROUTES];
	int n;
	struct us_route6 r6[US_MAX_ROUTES];
	int n6;
	struct us_pmtu6 pmtu6[US_MAX_PMTU6];
	uint32_t pmtu6_gen;           /* bumped when a path MTU goes down */
};

int route_init(struct us_stack *st)
{
	st->routes = calloc(1, sizeof(*st->routes));
	return st->routes ? 0 : -ENOMEM;
}

void route_destroy(struct us_stack *st)
{
	free(st->routes);
	st->routes = NULL;
}

int route_lookup(struct us_stack *st, uint32_t dst, struct us_rt_result *out)
{
	const struct us_route *best = NULL;
	for (int i = 0; i < st->routes->n; i++) {
		const struct us_route *r = &st->routes->r[i];
		if ((dst & r->mask) != r->dst)
			continue;
		if (!best || r->plen > best->plen)
			best = r;
	}
	/* Limited broadcast goes out of the first interface that is up. */
	if (!best && dst == 0xFFFFFFFFu) {
		for (int i = 0; i < US_MAX_IFACES; i++) {
			struct us_iface *ifc = &st->ifaces[i];
			if (ifc->index && ifc->up && ifc->n_addrs) {
				out->iface = ifc;
				out->nexthop = dst;
				out->src = iface_primary_addr(ifc);
				out->mtu = ifc->mtu;
				return 0;
			}
		}
	}
	if (!best)
		return -ENETUNREACH;
	struct us_iface *ifc = iface_get(st, best->ifindex);
	if (!ifc || !ifc->up)
		return -ENETUNREACH;
	out->iface = ifc;
	out->nexthop = best->gw ? best->gw : dst;
	out->src = iface_primary_addr(ifc);
	/* Prefer the address on the destination's (or gateway's) subnet. */
	for (int j = 0; j < ifc->n_addrs; j++)
		if ((out->nexthop & ifc->addrs[j].mask) == (ifc->addrs[j].addr & ifc->addrs[j].mask)) {
			out->src = ifc->addrs[j].addr;
			break;
		}
	out->mtu = ifc->mtu;
	return 0;
}

int route_insert(struct us_stack *st, uint32_t dst, int plen, uint32_t gw, int ifindex)
{
	uint32_t mask = plen ? 0xFFFFFFFFu << (32 - plen) : 0;
	for (int i = 0; i < st->routes->n; i++) {
		struct us_route *r = &st->routes->r[i];
		if (r->dst == (dst & mask) && r->plen == plen) {
			r->gw = gw;
			r->ifindex = ifindex;
			return 0;
		}
	}
	if (st->routes->n >= US_MAX_ROUTES)
		return -ENOSPC;
	st->routes->r[st->routes->n++] = (struct us_route){dst & mask, mask, gw, plen, ifindex};
	return 0;
}

/* ---- IPv6 ---- */

static uint32_t pmtu6_of(struct us_stack *st, const struct ip6_addr *dst, uint32_t mtu)
{
	for (int i = 0; i < US_MAX_PMTU6; i++) {
		struct us_pmtu6 *m = &st->routes->pmtu6[i];
		if (!m->mtu || !ip6_addr_eq(&m->dst, dst))
			continue;
		if (m->expires <= st->now) {
			m->mtu = 0;   /* RFC 8201 4: try the larger size again */
			return mtu;
		}
		return m->mtu < mtu ? m->mtu : mtu;
	}
	return mtu;
}

int route6_pmtu_update(struct us_stack *st, const struct ip6_addr *dst, uint32_t mtu)
{
	struct us_pmtu6 *slot = NULL, *oldest = NULL;
	for (int i = 0; i < US_MAX_PMTU6; i++) {
		struct us_pmtu6 *m = &st->routes->pmtu6[i];
		if (m->mtu && ip6_addr_eq(&m->dst, dst)) {
			slot = m;
			break;
		}
		if (!m->mtu || m->expires <= st->now) {
			if (!slot)
				slot = m;
		} else if (!oldest || m->expires < oldest->expires) {
			oldest = m;
		}
	}
	if (!slot)
		slot = oldest;   /* full: the entry nearest expiry makes room */
	if (!slot)
		return 0;
	int lowered = !slot->mtu || !ip6_addr_eq(&slot->dst, dst) || mtu < slot->mtu;
	if (slot->mtu && ip6_addr_eq(&slot->dst, dst) && mtu >= slot->mtu)
		return 0;   /* RFC 8201 4: never raised by a packet too big */
	slot->dst = *dst;
	slot->mtu = mtu;
	slot->expires = st->now + PMTU6_TIMEOUT_NS;
	st->routes->pmtu6_gen++;
	return lowered;
}

uint32_t route6_pmtu_gen(const struct us_stack *st) { return st->routes->pmtu6_gen; }

int route6_lookup(struct us_stack *st, const struct ip6_addr *dst, struct us_rt6_result *out)
{
	struct route_table *t = st->routes;
	const struct us_route6 *best = NULL;
	for (int i = 0; i < t->n6; i++) {
		struct us_route6 *r = &t->r6[i];
		if (r->expires && r->expires <= st->now) {
			t->r6[i--] = t->r6[--t->n6];   /* an RA's route outlived its lifetime */
			continue;
		}
		if (!ip6_prefix_eq(dst, &r->dst, (unsigned)r->plen))
			continue;
		if (!best || r->plen > best->plen)
			best = r;
	}
	struct us_iface *ifc = NULL;
	if (best) {
		ifc = iface_get(st, best->ifindex);
	} else if (ip6_is_mcast(dst) || ip6_is_linklocal(dst)) {
		/* Link scope with no route of its own: the first interface up
		 * with a link-local address (ustack has no scope ids in routes). */
		for (int i = 0; i < US_MAX_IFACES && !ifc; i++) {
			struct us_iface *c = &st->ifaces[i];
			struct ip6_addr s6;
			if (c->index && c->up && iface6_select_src(c, dst, &s6) == 0)
				ifc = c;
		}
	}
	if (!ifc || !ifc->up)
		return -ENETUNREACH;
	struct ip6_addr src;
	if (iface6_select_src(ifc, dst, &src) < 0)
		return -ENETUNREACH;
	out->iface = ifc;
	out->nexthop = best && !ip6_is_unspecified(&best->gw) ? best->gw : *dst;
	out->src = src;
	out->mtu = pmtu6_of(st, dst, iface6_mtu(ifc));
	return 0;
}

int route6_lookup_oif(struct us_stack *st, const struct ip6_addr *dst, int oif, struct us_rt6_result *out)
{
	if (oif <= 0 || ip6_addr_scope(dst) > IP6_SCOPE_LINK || ip6_is_loopback(dst))
		return route6_lookup(st, dst, out);
	struct us_iface *ifc = iface_get(st, oif);
	struct ip6_addr src;
	if (!ifc || !ifc->up || iface6_select_src(ifc, dst, &src) < 0)
		return -ENETUNREACH;
	out->iface = ifc;
	out->nexthop = *dst;   /* link scope: always on-link */
	out->src = src;
	out->mtu = pmtu6_of(st, dst, iface6_mtu(ifc));
	return 0;
}

int route6_insert(struct us_stack *st, const struct ip6_addr *dst, int plen, const struct ip6_addr *gw, int ifindex,
		  uint64_t expires)
{
	struct route_table *t = st->routes;
	struct ip6_addr d = ip6_prefix(dst, (unsigned)plen);
	struct ip6_addr g = gw ? *gw : ip6_any;
	for (int i = 0; i < t->n6; i++) {
		struct us_route6 *r = &t->r6[i];
		if (r->plen == plen && ip6_addr_eq(&r->dst, &d)) {
			r->gw = g;
			r->ifindex = ifindex;
			r->expires = expires;
			return 0;
		}
	}
	if (t->n6 >= US_MAX_ROUTES)
		return -ENOSPC;
	t->r6[t->n6++] = (struct us_route6){d, g, plen, ifindex, expires};
	return 0;
}

int route6_delete(struct us_stack *st, const struct ip6_addr *dst, int plen)
{
	struct route_table *t = st->routes;
	struct ip6_addr d = ip6_prefix(dst, (unsigned)plen);
	for (int i = 0; i < t->n6; i++)
		if (t->r6[i].plen == plen && ip6_addr_eq(&t->r6[i].dst, &d)) {
			t->r6[i] = t->r6[--t->n6];
			return 0;
		}
	return -ENOENT;
}

int us_route_add_sa(struct us_stack *st, const struct sockaddr *dst, int plen, const struct sockaddr *gw, int ifindex)
{
	if (!dst)
		return -EINVAL;
	if (dst->sa_family == AF_INET) {
		struct in_addr g = {0};
		if (gw && gw->sa_family != AF_INET)
			return -EINVAL;
		if (gw)
			g = ((const struct sockaddr_in *)gw)->sin_addr;
		return us_route_add(st, ((const struct sockaddr_in *)dst)->sin_addr, plen, g, ifindex);
	}
	if (dst->sa_family == AF_INET6) {
		struct ip6_addr d, g = ip6_any;
		if (gw && gw->sa_family != AF_INET6)
			return -EINVAL;
		if (!iface_get(st, ifindex))
			return -ENODEV;
		if (plen < 0 || plen > 128)
			return -EINVAL;
		memcpy(d.b, &((const struct sockaddr_in6 *)dst)->sin6_addr, 16);
		if (gw)
			memcpy(g.b, &((const struct sockaddr_in6 *)gw)->sin6_addr, 16);
		if (ip6_is_mcast(&g))
			return -EINVAL;
		return route6_insert(st, &d, plen, ip6_is_unspecified(&g) ? NULL : &g, ifindex, 0);
	}
	return -EAFNOSUPPORT;
}

int us_route_add(struct us_stack *st, struct in_addr dst, int plen, struct in_addr gw, int ifindex)
{
	if (!iface_get(st, ifindex))
		return -ENODEV;
	if (plen < 0 || plen > 32)
		return -EINVAL;
	return route_insert(st, ntohl(dst.s_addr), plen, ntohl(gw.s_addr), ifindex);
}
