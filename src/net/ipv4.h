/* IPv4 input and output (net/ipv4_in.c, net/ipv4_out.c), fragmentation
 * and reassembly (net/frag4.c), ICMP (net/icmp4.c). */
#ifndef US_NET_IPV4_H
#define US_NET_IPV4_H
#include <stddef.h>
#include <stdint.h>

#include "stack.h"

struct us_iface;

void ipv4_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p);
/* Deliver a complete datagram (data at the transport header, metadata set,
 * l3_off at its IP header) to its protocol. */
void ipv4_deliver(struct us_stack *st, struct pkt *p);
/* p->data at the transport header. src 0: the route's preferred source.
 * Consumes p. Returns 0 or a negative errno (-ENETUNREACH, -EMSGSIZE, -ENOBUFS). */
#define IPV4_DF 0x1
int ipv4_output(struct us_stack *st, struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto,
		uint8_t ttl, uint8_t tos, unsigned flags);
#define IPV4_DEFAULT_TTL 64

/* The IP ID table (ipv4_out.c). */
int ipv4_ids_init(struct us_stack *st);
void ipv4_ids_destroy(struct us_stack *st);
/* IP ID for a new datagram that may be fragmented. */
uint16_t ipv4_next_id(struct us_stack *st, uint32_t src, uint32_t dst, uint8_t proto);
/* IP ID for an atomic datagram (DF, unfragmented: RFC 6864 4.1): random. */
uint16_t ipv4_atomic_id(struct us_stack *st);

/* Reassembly (frag.c, both families: the counts are of both). */
int frag4_init(struct us_stack *st);
void frag4_destroy(struct us_stack *st);
/* Takes a fragment (data at its IP header). Returns the reassembled
 * datagram when it completes (data at the transport header), else NULL. */
struct pkt *frag4_input(struct us_stack *st, struct pkt *p);
uint32_t frag4_count(const struct us_stack *st);
uint32_t frag4_mem(const struct us_stack *st);

/* ICMP (icmp4.c). */
void icmp4_input(struct us_stack *st, struct pkt *p);
/* An ICMP error about `orig` (its l3_off must point at the IP header).
 * Applies RFC 1122 3.2.2 suppression and the rate limit. Does not consume orig. */
void icmp4_send_error(struct us_stack *st, const struct pkt *orig, uint8_t type, uint8_t code, uint32_t info);
/* Tell the transport owning the quoted datagram about an error (also used for
 * local errors such as a failed ARP resolution). quote: the quoted IP header. */
void icmp4_notify(struct us_stack *st, const uint8_t *quote, size_t qlen, uint8_t type, uint8_t code, uint32_t info);
#endif
