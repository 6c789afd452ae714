/* The IPv4 routing table: longest prefix match over a small array
 * (connected routes come from interface addresses). */
#include <errno.h>

#include "stack.h"

int route_lookup(struct us_stack *st, uint32_t dst, struct us_rt_result *out)
{
	const struct us_route *best = NULL;
	for (int i = 0; i < st->n_routes; i++) {
		const struct us_route *r = &st->routes[i];
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
