/* IPv6 input and output (net/ipv6_in.c, net/ipv6_out.c), ICMPv6
 * (net/icmp6.c), Neighbor Discovery, DAD and SLAAC (net/nd6.c);
 * reassembly is shared with IPv4 (net/frag.c). */
#ifndef US_NET_IPV6_H
#define US_NET_IPV6_H
#include <stddef.h>
#include <stdint.h>

#include "stack.h"
#include "wire/icmp6.h"
#include "wire/ipv6.h"

struct us_iface;

#define IPV6_DEFAULT_HOPS 64

void ipv6_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p);
/* p->data at the upper-layer header. src NULL or ::: source selection.
 * hops < 0: the outgoing interface's default (an RA's Cur Hop Limit, else
 * IPV6_DEFAULT_HOPS). Consumes p. 0 or a negative errno (-ENETUNREACH,
 * -EMSGSIZE, -ENOBUFS). */
int ipv6_output(struct us_stack *st, struct pkt *p, const struct ip6_addr *src, const struct ip6_addr *dst,
		uint8_t proto, int hops, uint8_t tclass);
/* The same out of a given interface to a link-local or multicast dst,
 * source as given (:: allowed: DAD): for NDP. nexthop_mac NULL: resolve
 * (or the group MAC). */
int ipv6_output_if(struct us_stack *st, struct us_iface *ifc, struct pkt *p, const struct ip6_addr *src,
		   const struct ip6_addr *dst, uint8_t proto, uint8_t hops, const uint8_t *dst_mac);

/* Reassembly (frag.c): p->data at the IPv6 header, walked by w to
 * IP6_END_FRAG. Returns the reassembled packet (data at its IPv6 header,
 * the fragment header gone, l3_off, src, dst, flags set), else NULL. */
struct ip6_ext_walk;
struct pkt *frag6_input(struct us_stack *st, struct pkt *p, const struct ip6_ext_walk *w);

/* ICMPv6 (icmp6.c). */
/* A packet for an ICMPv6 message of len bytes, its bytes at *b; NULL with
 * Icmp6.OutErrors counted when there is no buffer or len is 0 (nd6_len's
 * answer for a message it cannot build). */
struct pkt *icmp6_alloc(struct us_stack *st, size_t len, uint8_t **b);
void icmp6_input(struct us_stack *st, struct pkt *p);
/* An error about orig (l3_off at its IPv6 header; src/dst set) with RFC
 * 4443 2.4 (e)'s suppression and the rate limit. Does not consume orig. */
void icmp6_send_error(struct us_stack *st, const struct pkt *orig, uint8_t type, uint8_t code, uint32_t info);
/* Tell the transport owning the quoted packet (quote: its IPv6 header). */
void icmp6_notify(struct us_stack *st, const uint8_t *quote, size_t qlen, uint8_t type, uint8_t code, uint32_t info);

/* NDP (nd6.c). */
void nd6_input(struct us_stack *st, struct pkt *p, const struct icmp6_repr *ic);
/* An NS for target: to its solicited-node group, or unicast to mac; dad:
 * from :: without a source link-layer option. */
void nd6_send_ns(struct us_stack *st, struct us_iface *ifc, const struct ip6_addr *target, const uint8_t *mac,
		 int dad);
/* The interface came up: link-local address (EUI-64, on Ethernet), DAD of
 * its addresses, router solicitations. */
void nd6_iface_up(struct us_stack *st, struct us_iface *ifc);
/* An address was added: arm the interface's timer for its DAD. */
void nd6_addr_added(struct us_stack *st, struct us_iface *ifc);
void nd6_iface_init(struct us_iface *ifc);
/* MLD (mld6.c), a host's part of RFC 3810 with MLDv1 compatibility (8):
 * mld6_sync reports joins and leaves of the solicited-node groups after
 * the interface's addresses (or its state) changed; mld6_input takes a
 * query, report or done message (p still owned by the caller). */
void mld6_iface_init(struct us_iface *ifc);
void mld6_iface_destroy(struct us_stack *st, struct us_iface *ifc);
void mld6_sync(struct us_stack *st, struct us_iface *ifc);
void mld6_input(struct us_stack *st, struct pkt *p, const struct icmp6_repr *r);
void nd6_iface_destroy(struct us_stack *st, struct us_iface *ifc);
#endif
