/* Simulation harness: two stacks joined by an in-memory link (optionally
 * through fault injectors), driven on a virtual clock. */
#ifndef US_TEST_SIM_H
#define US_TEST_SIM_H
#include <netinet/in.h>
#include <stdint.h>

#include "ustack/ustack.h"

struct sim {
	struct us_stack *a, *b;
	struct us_link *la, *lb;
	int ifa, ifb;
	uint64_t now;
	int b_down;         /* b is unplugged: it neither reads nor runs timers */
	int a_down;         /* the same for a (frames sent to it wait in its link) */
};

struct sim_opts {
	uint32_t mtu;               /* default 1500 */
	int l3;                     /* TUN-like links */
	int offload;                /* links with offloads (mem_link_offloads) */
	const struct us_fault_cfg *a_tx, *a_rx;  /* faults on a's side */
	const struct us_fault_cfg *b_tx, *b_rx;
	const char *pcap_a;         /* capture a's side */
	const char *pcap_b;         /* ...and b's */
	uint64_t seed;
	struct us_stack_config cfg;
	const uint8_t *mac_b;       /* b's Ethernet address (default 02:00:00:00:00:02) */
	int b_iface_down;           /* b's interface is not brought up: the test calls us_iface_up */
};

#define SIM_A "10.0.0.1"
#define SIM_B "10.0.0.2"

int sim_init(struct sim *s, const struct sim_opts *o);   /* 0 or -errno */
/* Frees both stacks; fails the test if any packet buffer was leaked (still
 * counted in use after every socket, connection, queue and link released
 * what it held). */
void sim_free(struct sim *s);
/* Run both stacks until `ns` of virtual time has passed (events jump the clock). */
void sim_run(struct sim *s, uint64_t ns);
/* Run until cond(arg) is true or ns passes; returns cond's last value. */
int sim_run_until(struct sim *s, uint64_t ns, int (*cond)(void *), void *arg);
struct sockaddr_in sim_addr(const char *ip, uint16_t port);
/* An IPv6 socket address (ip NULL: ::); a string that is not one fails the test. */
struct sockaddr_in6 sim_addr6(const char *ip, uint16_t port);
/* The counter "Group.Name" of st; an unknown name fails the test. */
int64_t sim_stat(struct us_stack *st, const char *name);
uint32_t sim_ip(const char *ip);   /* host order */
/* Put raw bytes on the wire from a's side: b receives them as a frame. */
void sim_inject(struct sim *s, const void *frame, size_t len);
/* An Ethernet + IPv4 frame a -> b (MACs of the mem pair) around an IPv4
 * packet given from its IP header on; returns the frame length. */
size_t sim_eth_frame(uint8_t *out, const void *ip_packet, size_t len, uint16_t ethertype);
/* A TCP connection between the stacks: a listener on b at port, a client
 * on a connected to it, and the accepted socket on b. */
struct sim_pair {
	struct sim *s;
	int lfd, cfd, afd;
};
/* Asserts (via the return value) that the handshake completes within 10 s:
 * returns 0, or -1 if it did not. */
int sim_tcp_connect(struct sim *s, struct sim_pair *p, uint16_t port);
/* The same with the client bound to local_port (0: an ephemeral port). */
int sim_tcp_connect_from(struct sim *s, struct sim_pair *p, uint16_t port, uint16_t local_port);
void sim_tcp_close(struct sim_pair *p);
int sim_tcp_state(struct us_stack *st, int fd);   /* US_TCP_*, or -1 */
#define MS(x) ((uint64_t)(x) * 1000000ull)
#define SEC(x) ((uint64_t)(x) * 1000000000ull)
#endif
