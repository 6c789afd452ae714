/* The stack object and the hub (stack.c). One struct us_stack holds the
 * core services every layer uses (the packet pool, the clock, the timer
 * wheel, counters, keys) and each module's own table behind a pointer, so
 * several stacks can live in one process and nothing is global.
 *
 * This is the header every layer includes; each layer declares its own
 * functions in its own headers (net/iface.h, net/ipv4.h, transport/udp.h,
 * ...), and a layer includes only the headers of the layers below it. The
 * few calls that go up (IP input handing a payload to its protocol, an
 * ICMP error reaching the transport it concerns, an echo reply reaching
 * its ping socket) go through the protocol switch below, which the hub
 * fills in; a socket's wakeup goes through its readiness flags
 * (api/sock.h). */
#ifndef US_STACK_H
#define US_STACK_H
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/pkt.h"
#include "core/rand.h"
#include "core/timer.h"
#include "ustack/ustack.h"

#define US_RX_BATCH 64
#define US_INPUT_BUDGET 1024   /* frames per us_stack_input call per device */

struct us_iface;
struct route_table;
struct neigh_table;
struct frag4_table;
struct ip_id_table;
struct udp_table;
struct tcp_table;
struct us_sock;

/* A token bucket for ICMP errors (net/icmp4.c). */
struct icmp_ratelimit {
	uint64_t last;                /* ns */
	uint32_t tokens;
};

#define US_LOCAL4_MAX 32   /* US_MAX_IFACES * US_MAX_ADDRS (net/iface.h) */

struct us_stack {
	struct us_stack_config cfg;
	uint64_t now;                 /* ns, as last passed in */
	struct pkt_pool pool;
	struct us_stats stats;
	struct us_rand rand;
	struct timer_wheel timers;

	/* net/ */
	struct us_iface *ifaces;      /* US_MAX_IFACES of them (net/iface.c) */
	struct route_table *routes;   /* net/route.c */
	struct neigh_table *neigh;    /* net/neigh.c */
	struct frag4_table *frag;     /* net/frag4.c */
	struct ip_id_table *ip_ids;   /* net/ipv4_out.c */
	struct icmp_ratelimit icmp_rl;
	struct icmp_ratelimit icmp6_rl; /* ICMPv6 errors: their own bucket, the same rule */
	struct pkt_queue loopq;       /* datagrams to our own addresses */
	/* Every interface's IPv4 addresses in one place (net/iface.c keeps
	 * it), since each datagram asks twice whether an address is ours. */
	uint32_t local4[US_LOCAL4_MAX];
	uint32_t n_local4;

	/* transport/ and api/ */
	struct us_sock **socks;       /* indexed by descriptor */
	uint32_t max_socks;
	struct us_sock *ready_head;   /* sockets whose readiness changed */
	struct us_sock *dispatch_head;/* the ones sock_dispatch has yet to call */
	struct udp_table *udp;
	struct tcp_table *tcp;
	int in_dispatch;
	/* Transparent sockets (IP_TRANSPARENT, IPV6_TRANSPARENT) that take
	 * IPv4 [0] and IPv6 [1]: while there are, that family's input
	 * accepts non-local destinations. */
	uint32_t n_transparent[2];
	/* Tests only: every TCP segment through the full input path, none by
	 * header prediction (tests/sim/test_tcp.c shows the two agree). */
	int tcp_no_prediction;
	uint64_t mem_peak;            /* highest us_stack_mem() seen */
};

#define STAT_INC(st, grp, name) ((st)->stats.grp.name++)
#define STAT_ADD(st, grp, name, n) ((st)->stats.grp.name += (n))

/* ---- the protocol switch (filled in by the hub) ---- */

/* An ICMP error about a datagram we sent, after the network layer checked
 * its quote: the addresses of the quoted datagram (our source, the peer),
 * its transport header (l4_len >= 8 bytes of it), the error as on the wire
 * (type, code, the rest-of-header word: the next-hop MTU for
 * "fragmentation needed"), and the errno it means to a socket. */
struct us_l4_err {
	struct us_addr src, dst;
	const uint8_t *l4;
	size_t l4_len;
	uint8_t type, code;
	uint32_t info;
	int err;                      /* positive errno: ECONNREFUSED, EHOSTUNREACH, EMSGSIZE, ... */
};

struct us_protosw {
	/* A complete datagram: data at the transport header, metadata set,
	 * l3_off at its IP header. Consumes p. */
	void (*input)(struct us_stack *st, struct pkt *p);
	void (*err)(struct us_stack *st, const struct us_l4_err *e);
};
/* The protocol above IPv4 for an IP protocol number, or NULL. */
const struct us_protosw *stack_protosw(uint8_t proto);
/* The same above IPv6: ICMPv6 (58) instead of ICMP, the same UDP and TCP. */
const struct us_protosw *stack_protosw6(uint8_t proto);

/* ICMP echo replies to ping sockets, and echo requests to non-local
 * addresses for a transparent ping socket (returns 0 if none took it: p
 * not consumed). */
void stack_ping_reply(struct us_stack *st, struct pkt *p, uint16_t id);
int stack_ping_tproxy(struct us_stack *st, struct pkt *p);

/* ---- the stack-wide memory budget (cfg.mem_max, else tcp_mem_max) ---- */
uint64_t stack_mem_used(struct us_stack *st);
uint64_t stack_mem_max(const struct us_stack *st);
/* Would `need` more bytes take the stack past its budget? */
int stack_mem_over(struct us_stack *st, uint64_t need);
/* TCP's share changed: re-derive the packet pool's limit. */
void stack_mem_changed(struct us_stack *st);
#endif
