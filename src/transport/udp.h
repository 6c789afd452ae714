/* UDP and the ICMP echo ("ping") sockets that share its datagram queues
 * (transport/udp.c), as the hub and the socket API call them. */
#ifndef US_UDP_H
#define US_UDP_H
#include <stdint.h>
#include <sys/types.h>

#include "core/addr.h"
#include "stack.h"

struct us_sock;

int udp_init(struct us_stack *st);
void udp_destroy(struct us_stack *st);
void udp_input(struct us_stack *st, struct pkt *p);
void udp_err(struct us_stack *st, const struct us_l4_err *e);

/* The socket calls (api/socket.c). */
unsigned udp_poll(struct us_stack *st, struct us_sock *s);
int udp_bind(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port);
/* addr NULL and port 0: disconnect (AF_UNSPEC). */
int udp_connect(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port);
/* to NULL: the connected peer. */
ssize_t udp_sendto(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *to,
		   uint16_t port);
/* From any source (transparent sockets; else src must be local). */
ssize_t udp_sendfrom(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *src,
		     uint16_t sport, const struct us_addr *addr, uint16_t port);
/* daddr/dport: where the datagram was sent (the original destination). */
ssize_t udp_recvfrom(struct us_stack *st, struct us_sock *s, void *buf, size_t len, int flags, struct us_addr *addr,
		     uint16_t *port, struct us_addr *daddr, uint16_t *dport);
/* IP_TRANSPARENT turned on or off for a UDP or ICMP socket. */
void udp_set_transparent(struct us_stack *st, struct us_sock *s, int on);
void udp_close(struct us_stack *st, struct us_sock *s);

/* ICMP echo sockets: SOCK_DGRAM + IPPROTO_ICMP as Linux's ping sockets: the
 * application sends an echo request header and data; the identifier is the
 * socket's port. */
ssize_t icmp_sock_sendto(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *addr);
/* Transparent ICMP sockets: any message (the checksum is filled in) from any source. */
ssize_t icmp_sock_sendfrom(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *src,
			   const struct us_addr *addr);
/* An echo request to a non-local address: to the transparent ICMP socket.
 * Returns 0 if none took it (p not consumed). */
int icmp_tproxy_input(struct us_stack *st, struct pkt *p);
void icmp_sock_input(struct us_stack *st, struct pkt *p, uint16_t id);
#endif
