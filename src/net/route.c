/* The IPv4 routing table: longest prefix match over a small array
 * (connected routes come from interface addresses). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "net/iface.h"
#include "net/route.h"

struct us_route {
	uint32_t dst, mask, gw;       /* gw 0: on-link */
	int plen;
	int ifindex;
};

struct route_table {
	struct us_route r[US_MAX_ROUTES];
	int n;
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
	return -EAFNOSUPPORT;   /* IPv6: not yet */
}

int us_route_add(struct us_stack *st, struct in_addr dst, int plen, struct in_addr gw, int ifindex)
{
	if (!iface_get(st, ifindex))
		return -ENODEV;
	if (plen < 0 || plen > 32)
		return -EINVAL;
	return route_insert(st, ntohl(dst.s_addr), plen, ntohl(gw.s_addr), ifindex);
}
