/* UDP and the ICMP echo ("ping") sockets that share its datagram queues
 * (transport/udp.c), as the hub and the socket API call them. */
#ifndef US_UDP_H
#define US_UDP_H
#include <stdint.h>
#include <sys/types.h>

#include "core/addr.h"
#include "stack.h"

struct us_sock;
struct sock_ops;

int udp_init(struct us_stack *st);
void udp_destroy(struct us_stack *st);
void udp_input(struct us_stack *st, struct pkt *p);
void udp_err(struct us_stack *st, const struct us_l4_err *e);

/* The datagram-socket machinery UDP and the ping sockets (transport/ping.c)
 * share: ports, receive queues, transparent mode. */
int dgram_bind(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port);
ssize_t dgram_recvfrom(struct us_stack *st, struct us_sock *s, void *buf, size_t len, int flags, struct us_addr *addr,
		       uint16_t *port, struct us_addr *daddr, uint16_t *dport);
unsigned dgram_poll(struct us_stack *st, struct us_sock *s);
/* IP_TRANSPARENT (or IPV6_TRANSPARENT) turned on or off. */
void dgram_set_transparent(struct us_stack *st, struct us_sock *s, int on);
/* Unbinds, drops what is queued and releases the socket. */
void dgram_close(struct us_stack *st, struct us_sock *s);
int dgram_shutdown(struct us_stack *st, struct us_sock *s, int how);
/* The wildcard an unbound socket binds to (its family's). */
struct us_addr dgram_wildcard(const struct us_sock *s);
/* s's source toward addr (bound, else the route's); -1 if no route. */
int dgram_source(struct us_stack *st, const struct us_sock *s, const struct us_addr *addr, struct us_addr *src);
/* The zone of a datagram to addr (RFC 4007): its sendto's scope id, else
 * the socket's; 0 unless addr is link-scope IPv6. */
int dgram_zone(const struct us_sock *s, const struct us_addr *addr);
/* p, about to leave toward addr, tied to the interface of its zone. */
void dgram_set_zone(struct us_stack *st, const struct us_sock *s, const struct us_addr *addr, struct pkt *p);
/* The newest transparent socket of a kind that takes datagrams to dst (its
 * family's), or NULL. */
struct us_sock *dgram_tproxy(struct us_stack *st, int kind, const struct us_addr *dst);
/* The socket of a kind bound to port that takes dst (its own address or a
 * wildcard of dst's family), or NULL. */
struct us_sock *dgram_lookup_bound(struct us_stack *st, int kind, const struct us_addr *dst, uint16_t port);
/* Queue p on s within its receive buffer and the stack's budget, and wake
 * it; -1 (p not taken) if there is no room. */
int dgram_queue(struct us_stack *st, struct us_sock *s, struct pkt *p);

/* The socket kinds' calls, for api/socket.c. */
extern const struct sock_ops udp_sock_ops;
extern const struct sock_ops ping_sock_ops;

/* ---- UDP's own ---- */
/* addr NULL and port 0: disconnect (AF_UNSPEC). */
int udp_connect(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port);
/* to NULL: the connected peer. */
ssize_t udp_sendto(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *to,
		   uint16_t port);
/* From any source (transparent sockets; else src must be local). */
ssize_t udp_sendfrom(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *src,
		     uint16_t sport, const struct us_addr *addr, uint16_t port);

/* ---- the ping sockets (transport/ping.c) ---- */
ssize_t icmp_sock_sendto(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *addr);
/* Transparent ICMP sockets: any message (the checksum is filled in) from any source. */
ssize_t icmp_sock_sendfrom(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *src,
			   const struct us_addr *addr);
/* An echo request to a non-local address: to the transparent ICMP socket.
 * Returns 0 if none took it (p not consumed). */
int icmp_tproxy_input(struct us_stack *st, struct pkt *p);
void icmp_sock_input(struct us_stack *st, struct pkt *p, uint16_t id);
#endif
