/* ARP and the neighbour cache (net/neigh.c). */
#ifndef US_NET_NEIGH_H
#define US_NET_NEIGH_H
#include <stdint.h>

#include "stack.h"

struct us_iface;

int neigh_init(struct us_stack *st);
void neigh_destroy(struct us_stack *st);
void arp_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p);
/* Send an IPv4 packet (data at the IP header) to nexthop on ifc, resolving
 * its MAC first if needed (the packet waits in a bounded queue). */
void neigh_output(struct us_stack *st, struct us_iface *ifc, uint32_t nexthop, struct pkt *p);
void arp_send_gratuitous(struct us_stack *st, struct us_iface *ifc);
/* Entries in the cache (for tests and `ustack stats`). */
uint32_t neigh_count(const struct us_stack *st);
/* 0 with mac_out written, or -ENOENT (mac_out untouched). */
int neigh_lookup(const struct us_stack *st, int ifindex, uint32_t ip, uint8_t mac_out[6]);
#endif
