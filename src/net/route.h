/* The IPv4 routing table (net/route.c): longest prefix match; connected
 * routes come from interface addresses. */
#ifndef US_NET_ROUTE_H
#define US_NET_ROUTE_H
#include <stdint.h>

#include "stack.h"

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
#endif
