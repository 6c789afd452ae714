/* The stack's internal state: one struct us_stack holds everything, so
 * several stacks can live in one process (tests join two over mem links). */
#ifndef US_STACK_H
#define US_STACK_H
#include <stdint.h>

#include "core/pkt.h"
#include "core/rand.h"
#include "core/timer.h"
#include "link/link.h"
#include "ustack/ustack.h"

#define US_MAX_IFACES 8
#define US_MAX_ADDRS 4
#define US_MAX_ROUTES 64
#define US_RX_BATCH 64
#define US_INPUT_BUDGET 1024   /* frames per us_stack_input call per device */

struct us_addr4 {
	uint32_t addr, mask, bcast;   /* host byte order */
	int plen;
};

struct us_iface {
	int index;                    /* 1-based; 0 = slot unused */
	int up;
	struct us_link *link;
	uint32_t mtu;
	uint8_t mac[6];
	int l2;                       /* Ethernet framing (TAP, mem) vs bare IP (TUN) */
	struct us_addr4 addrs[US_MAX_ADDRS];
	int n_addrs;
	struct pkt_queue txq;         /* frames ready for the device */
};

struct us_route {
	uint32_t dst, mask, gw;       /* gw 0: on-link */
	int plen;
	int ifindex;
};

/* Resolved next hop for a destination. */
struct us_rt_result {
	struct us_iface *iface;
	uint32_t nexthop;
	uint32_t src;                 /* preferred source address */
	uint32_t mtu;
};

struct neigh_table;
struct frag4_table;
struct udp_table;
struct tcp_table;
struct us_sock;

struct icmp_ratelimit {
	uint64_t last;                /* ns */
	uint32_t tokens;
};

struct us_stack {
	struct us_stack_config cfg;
	uint64_t now;                 /* ns, as last passed in */
	struct pkt_pool pool;
	struct us_stats stats;
	struct us_rand rand;
	struct timer_wheel timers;

	struct us_iface ifaces[US_MAX_IFACES];
	struct us_route routes[US_MAX_ROUTES];
	int n_routes;

	struct neigh_table *neigh;
	struct frag4_table *frag;
	struct icmp_ratelimit icmp_rl;
	uint16_t *ip_ids;             /* per-bucket IP ID counters (RFC 6864/7739) */
	uint32_t *ip_id_ms;           /* when each bucket was last used (ms) */
	uint64_t ip_id_seq;           /* input of the keyed hash for atomic datagrams' IDs */
	struct pkt_queue loopq;       /* datagrams to our own addresses */

	/* sockets */
	struct us_sock **socks;       /* indexed by descriptor */
	uint32_t max_socks;
	struct us_sock *ready_head;   /* sockets whose readiness changed */
	struct us_sock *dispatch_head;/* the ones sock_dispatch has yet to call */
	struct udp_table *udp;
	struct tcp_table *tcp;
	int in_dispatch;
	uint32_t n_transparent;       /* sockets with IP_TRANSPARENT: accept non-local destinations */
	uint64_t mem_peak;            /* highest us_stack_mem() seen */
};

static inline struct us_iface *iface_get(struct us_stack *st, int ifindex)
{
	if (ifindex < 1 || ifindex > US_MAX_IFACES || !st->ifaces[ifindex - 1].index)
		return NULL;
	return &st->ifaces[ifindex - 1];
}

#define STAT_INC(st, grp, name) ((st)->stats.grp.name++)
#define STAT_ADD(st, grp, name, n) ((st)->stats.grp.name += (n))

/* net/iface.c */
int iface_is_local_addr(const struct us_stack *st, uint32_t a);           /* any iface */
int iface_is_bcast_addr(const struct us_iface *ifc, uint32_t a);          /* limited or subnet bcast */
uint32_t iface_primary_addr(const struct us_iface *ifc);
int iface_on_subnet(const struct us_iface *ifc, uint32_t a);
/* Queue a finished frame (L2: with Ethernet header) for the device. */
void iface_xmit(struct us_stack *st, struct us_iface *ifc, struct pkt *p);
void iface_flush(struct us_stack *st);
void iface_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p);
/* Prepend an Ethernet header and queue. */
void eth_output(struct us_stack *st, struct us_iface *ifc, struct pkt *p, const uint8_t *dst_mac, uint16_t type);

/* net/route.c */
int route_lookup(struct us_stack *st, uint32_t dst, struct us_rt_result *out);

/* net/neigh.c (ARP) */
int neigh_init(struct us_stack *st);
void neigh_destroy(struct us_stack *st);
void arp_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p);
/* Send an IPv4 packet (data at the IP header) to nexthop on ifc, resolving
 * its MAC first if needed (the packet waits in a bounded queue). */
void neigh_output(struct us_stack *st, struct us_iface *ifc, uint32_t nexthop, struct pkt *p);
void arp_send_gratuitous(struct us_stack *st, struct us_iface *ifc);
/* Entries in the cache (for tests and `ustack stats`). */
uint32_t neigh_count(const struct us_stack *st);
int neigh_lookup(const struct us_stack *st, int ifindex, uint32_t ip, uint8_t mac_out[6]);

/* net/ipv4_in.c, ipv4_out.c */
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

/* net/frag4.c */
int frag4_init(struct us_stack *st);
void frag4_destroy(struct us_stack *st);
/* Takes a fragment (data at its IP header). Returns the reassembled
 * datagram when it completes (data at the transport header), else NULL. */
struct pkt *frag4_input(struct us_stack *st, struct pkt *p);
uint32_t frag4_count(const struct us_stack *st);
uint32_t frag4_mem(const struct us_stack *st);

/* net/icmp4.c */
void icmp4_input(struct us_stack *st, struct pkt *p);
/* An ICMP error about `orig` (its l3_off must point at the IP header).
 * Applies RFC 1122 3.2.2 suppression and the rate limit. Does not consume orig. */
void icmp4_send_error(struct us_stack *st, const struct pkt *orig, uint8_t type, uint8_t code, uint32_t info);
/* Tell the transport owning the quoted datagram about an error (also used for
 * local errors such as a failed ARP resolution). quote: the quoted IP header. */
void icmp4_notify(struct us_stack *st, const uint8_t *quote, size_t qlen, uint8_t type, uint8_t code, uint32_t info);

/* transport/udp.c */
int udp_init(struct us_stack *st);
void udp_destroy(struct us_stack *st);
void udp_input(struct us_stack *st, struct pkt *p);
void udp_err(struct us_stack *st, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, int err);

/* transport/tcp (weak until it exists) */
int tcp_init(struct us_stack *st);
void tcp_destroy(struct us_stack *st);
void tcp_input(struct us_stack *st, struct pkt *p);
void tcp_flush_output(struct us_stack *st);
uint64_t tcp_mem_in_use(const struct us_stack *st);
void tcp_err(struct us_stack *st, uint32_t src, uint32_t dst, const uint8_t *th, size_t thlen, uint8_t type, uint8_t code, uint32_t info);

/* core/stack.c: the stack-wide memory budget (cfg.mem_max, else tcp_mem_max) */
uint64_t stack_mem_used(struct us_stack *st);
uint64_t stack_mem_max(const struct us_stack *st);
/* Would `need` more bytes take the stack past its budget? */
int stack_mem_over(struct us_stack *st, uint64_t need);
/* TCP's share changed: re-derive the packet pool's limit. */
void stack_mem_changed(struct us_stack *st);

/* IP ID for a new datagram that may be fragmented. */
uint16_t ipv4_next_id(struct us_stack *st, uint32_t src, uint32_t dst, uint8_t proto);
/* IP ID for an atomic datagram (DF, unfragmented: RFC 6864 4.1): random. */
uint16_t ipv4_atomic_id(struct us_stack *st);
#endif
