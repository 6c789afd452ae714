/* ARP and the neighbour cache (net/neigh.c). */
#ifndef US_NET_NEIGH_H
#define US_NET_NEIGH_H
#include <stdint.h>

#include "stack.h"
#include "wire/ipv6.h"

struct us_iface;

int neigh_init(struct us_stack *st);
void neigh_destroy(struct us_stack *st);
void arp_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p);
/* Send an IPv4 packet (data at the IP header) to nexthop on ifc, resolving
 * its MAC first if needed (the packet waits in a bounded queue). */
void neigh_output(struct us_stack *st, struct us_iface *ifc, uint32_t nexthop, struct pkt *p);
/* The same for either family (an IPv6 next hop is resolved by NDP; a
 * multicast one maps to its group MAC). */
void neigh_output_addr(struct us_stack *st, struct us_iface *ifc, const struct us_addr *nexthop, struct pkt *p);
int neigh_lookup_addr(const struct us_stack *st, int ifindex, const struct us_addr *ip, uint8_t mac_out[6]);
/* What NDP learnt about ip on ifc (RFC 4861 7.2.3 for NS/RS/RA with a
 * source link-layer address, 7.2.5 for an NA: flags NEIGH_ND_*). */
#define NEIGH_ND_NA 1
#define NEIGH_ND_SOLICITED 2
#define NEIGH_ND_OVERRIDE 4
void neigh_nd_update(struct us_stack *st, struct us_iface *ifc, const struct ip6_addr *ip, const uint8_t *mac,
		     unsigned flags);
void arp_send_gratuitous(struct us_stack *st, struct us_iface *ifc);
/* Entries in the cache (for tests and `ustack stats`). */
uint32_t neigh_count(const struct us_stack *st);
/* 0 with mac_out written, or -ENOENT (mac_out untouched). */
int neigh_lookup(const struct us_stack *st, int ifindex, uint32_t ip, uint8_t mac_out[6]);
#endif
