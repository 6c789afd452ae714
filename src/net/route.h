/* The IPv4 routing table (net/route.c): longest prefix match; connected
 * routes come from interface addresses. */
#ifndef US_NET_ROUTE_H
#define US_NET_ROUTE_H
#include <stdint.h>

#include "stack.h"
#include "wire/ipv6.h"

#define US_MAX_ROUTES 64

struct us_iface;

/* Resolved next hop for a destination. */
struct us_rt_result {
	struct us_iface *iface;
	uint32_t nexthop;
	uint32_t src;                 /* preferred source address */
	uint32_t mtu;
};

int route_init(struct us_stack *st);
void route_destroy(struct us_stack *st);
/* 0 with *out written, or -ENETUNREACH with *out untouched: a caller
 * reads *out only after a 0. */
int route_lookup(struct us_stack *st, uint32_t dst, struct us_rt_result *out);
/* Add or replace dst/plen (host order; gw 0: on-link). 0, -ENOSPC. */
int route_insert(struct us_stack *st, uint32_t dst, int plen, uint32_t gw, int ifindex);

/* IPv6: the same longest-prefix table for v6 (US_MAX_ROUTES more rows),
 * and a bounded path MTU cache per destination (RFC 8201). */
#define US_MAX_PMTU6 64
#define PMTU6_TIMEOUT_NS (600ull * 1000000000ull)   /* RFC 8201 4: at least 10 minutes */
struct us_rt6_result {
	struct us_iface *iface;
	struct ip6_addr nexthop;
	struct ip6_addr src;          /* preferred source (RFC 6724 basics) */
	uint32_t mtu;                 /* the interface's IPv6 MTU, or the path's if lower */
};
/* 0 with *out written, or -ENETUNREACH (no route, or no usable source
 * address on its interface) with *out untouched. */
int route6_lookup(struct us_stack *st, const struct ip6_addr *dst, struct us_rt6_result *out);
/* The same with a zone (RFC 4007): for a link-scope dst (fe80::/10,
 * ff02::/16) and oif > 0, out of interface oif whatever the table says
 * (-ENETUNREACH if it is missing, down or has no source for dst); oif 0 or
 * another dst: route6_lookup. */
int route6_lookup_oif(struct us_stack *st, const struct ip6_addr *dst, int oif, struct us_rt6_result *out);
/* Add or replace dst/plen (gw NULL: on-link). expires: ns, 0 forever
 * (routes learnt from RAs). 0, -ENOSPC. */
int route6_insert(struct us_stack *st, const struct ip6_addr *dst, int plen, const struct ip6_addr *gw, int ifindex,
		  uint64_t expires);
int route6_delete(struct us_stack *st, const struct ip6_addr *dst, int plen);
/* A packet too big said mtu (already clamped to >= 1280) for dst. 1 if the
 * path MTU went down, else 0. */
int route6_pmtu_update(struct us_stack *st, const struct ip6_addr *dst, uint32_t mtu);
/* Changes whenever route6_pmtu_update lowers (or sets) a path MTU: a
 * transport that sized its segments by an older value looks again. */
uint32_t route6_pmtu_gen(const struct us_stack *st);
#endif
