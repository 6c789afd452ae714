/* Shared pieces of the ustack program. */
#ifndef US_APP_H
#define US_APP_H
#include <netinet/in.h>
#include <stdint.h>

#include "ustack/host.h"
#include "ustack/ustack.h"

#define APP_MIN(a, b) ((a) < (b) ? (a) : (b))

/* "10.0.0.2/24" (prefix required if need_prefix, else default 32). */
int app_parse_cidr(const char *s, struct in_addr *addr, int *plen, int need_prefix);
int app_parse_ip(const char *s, struct in_addr *addr);
/* "fd00::2/64" (prefix required if need_prefix, else default 128). */
int app_parse_cidr6(const char *s, struct in6_addr *addr, int *plen, int need_prefix);
int app_parse_mac(const char *s, uint8_t mac[6]);
/* 1..65535 */
int app_parse_port(const char *s, uint16_t *port);
/* A byte count with an optional K, M or G suffix (binary), > 0. */
int app_parse_size(const char *s, uint64_t *out);
/* SIGINT, SIGTERM and SIGUSR1 blocked and delivered through the returned
 * non-blocking signalfd (no handler races), or -1 with errno set. */
int app_signal_fd(void);
/* "bad option" style error: prints "ustack: <msg>" and exits 2. */
_Noreturn void app_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Device and stack set-up shared by serve and demo. */
struct app_net {
	const char *tap, *tun;         /* one of them, or: */
	const char *xdp;               /* --xdp IFACE[:QUEUE]: AF_XDP on an existing interface */
	unsigned xdp_queue;            /* its first queue */
	unsigned xdp_flags;            /* --xdp-mode: US_XDP_* */
	const char *afpacket;          /* --af-packet IFACE: AF_PACKET on an existing interface */
	struct in_addr ip, host_ip, gateway;
	int ip_plen, host_plen, has_host_ip, has_gateway;
	int has_ip4;                   /* an IPv4 --ip was given (n->ip) */
	int no_ipv6;                   /* --no-ipv6: the stack neither sends nor takes IPv6 */
	int no_ra;                     /* --no-ra: router advertisements ignored (no SLAAC, no learnt router) */
	uint8_t stable_secret[16];     /* --stable-secret: RFC 7217 identifiers (all zero: EUI-64) */
	/* IPv6 --ip, --host-ip and --gateway (each --ip/--host-ip repeatable). */
#define APP_MAX_IP6 4
	struct in6_addr ip6[APP_MAX_IP6], host_ip6[APP_MAX_IP6], gateway6;
	int ip6_plen[APP_MAX_IP6], host_ip6_plen[APP_MAX_IP6];
	int n_ip6, n_host_ip6, has_gateway6;
	uint32_t mtu;
	uint8_t mac[6];
	int has_mac;
	const char *pcap;
	uint64_t seed;
	int no_offload;                /* --no-offload: plain frames, no virtio-net header */
	unsigned busy_poll_us;         /* --busy-poll: spin this long after input (0: sleep) */
	uint32_t tcp_max_conns;        /* 0: the stack's default */
	uint64_t tcp_mem_max;          /* bytes; 0: the stack's default */
	const struct us_stack_config *cfg;   /* base configuration (NULL: defaults) */
	const char *metrics;           /* --metrics ADDR:PORT (APP_CTL_LONGOPTS; control.h) */
	const char *cc;                /* --cc: TCP congestion control (NULL: the stack's default) */
};
/* The interface the stack runs on: the TAP, TUN, AF_XDP or AF_PACKET one. */
static inline const char *app_net_devname(const struct app_net *n)
{
	return n->tap ? n->tap : n->tun ? n->tun : n->xdp ? n->xdp : n->afpacket;
}

/* Options shared by every command that brings up a device, as getopt codes:
 * T --tap, U --tun, i --ip, H --host-ip, g --gateway, m --mtu, M --mac,
 * p --pcap, O --no-offload, B --busy-poll, G --cc. Returns 1 if c was one of them (exits 2 on a bad value). */
int app_net_option(int c, const char *arg, struct app_net *n, int *has_ip);
/* One of --tap/--tun, an --ip, and valid names; else exits 2. */
void app_net_check(const struct app_net *n, int has_ip);
#define APP_NET_LONGOPTS                                                                        \
	{"tap", required_argument, 0, 'T'}, {"tun", required_argument, 0, 'U'},                \
	{"ip", required_argument, 0, 'i'}, {"host-ip", required_argument, 0, 'H'},            \
	{"gateway", required_argument, 0, 'g'}, {"mtu", required_argument, 0, 'm'},           \
	{"mac", required_argument, 0, 'M'}, {"pcap", required_argument, 0, 'p'},                \
	{"no-offload", no_argument, 0, 'O'}, {"busy-poll", required_argument, 0, 'B'},           \
	{"cc", required_argument, 0, 'G'}, {"xdp", required_argument, 0, APP_OPT_XDP},              \
	{"xdp-mode", required_argument, 0, APP_OPT_XDP_MODE}, {"af-packet", required_argument, 0, APP_OPT_AFPACKET}, \
	{"no-ipv6", no_argument, 0, APP_OPT_NO_IPV6}, {"no-ra", no_argument, 0, APP_OPT_NO_RA},                 \
	{"stable-secret", required_argument, 0, APP_OPT_STABLE_SECRET}
#define APP_OPT_XDP 1001
#define APP_OPT_XDP_MODE 1002
#define APP_OPT_AFPACKET 1003
#define APP_OPT_NO_IPV6 1004
#define APP_OPT_NO_RA 1005
#define APP_OPT_STABLE_SECRET 1006

struct app_stack {
	struct us_stack *st;
	int ifindex;
	char devname[16];
	int created;
	unsigned offloads;   /* US_LINK_OFF_* granted by the kernel */
	struct us_link *dev; /* the device's own link (under --pcap's wrapper), owned by st */
	char mode[160];      /* AF_XDP / AF_PACKET: what runs, for the ready line */
	uint8_t mac[6];      /* the stack's Ethernet address (TAP) */
};
/* Opens the device, configures the kernel's side through rtnetlink and
 * builds the stack. Prints a one-line reason and returns -1 on failure. */
int app_stack_open(const struct app_net *n, struct app_stack *out);
/* Queue q of nq (nq > 1: a multi-queue device, one stack per queue; queue
 * 0 creates and configures the device, the others attach). first: queue
 * 0's stack for the others (its Ethernet address all queues share; its
 * XDP program), NULL for queue 0. */
int app_stack_open_queue(const struct app_net *n, struct app_stack *out, int q, int nq, const struct app_stack *first);
void app_stack_close(struct app_stack *a);
/* The event loop for a stack, busy polling as --busy-poll asked; prints why
 * and returns NULL on failure. */
struct us_loop *app_loop_new(const struct app_net *n, struct us_stack *st);
/* AF_XDP / AF_PACKET device counters (nothing for TAP/TUN). */
void app_print_dev(const struct app_stack *a, FILE *out);
/* Netstat-like dump of all counters. */
void app_print_stats(struct us_stack *st, FILE *out);
/* on: the dumps give each counter's one-line description after its value
 * (serve --describe). Set before any thread starts. */
void app_stats_describe(int on);
/* The counters of n stacks added up (serve --queues). */
void app_print_stats_sum(struct us_stack *const *st, int n, FILE *out);
/* The stack's addresses, one line each, like `ip addr` (flags: tentative,
 * slaac, stable-privacy; valid_lft when not forever). */
void app_print_addrs(struct us_stack *st, FILE *out);
/* Live TCP connections, one line each, like `ss -tani`. */
void app_print_conns(struct us_stack *st, FILE *out);

/* services (apps/services.c) */
int svc_udp_echo(struct us_stack *st, uint16_t port);
/* A bound UDP socket nobody reads: its receive queue fills (flood tests). */
int svc_udp_sink(struct us_stack *st, uint16_t port);
/* kind: "echo", "discard", "chargen", "source" or "http" (dir: files to serve, or NULL). */
int svc_tcp(struct us_stack *st, const char *kind, uint16_t port, const char *dir);
/* Close every service connection and free the services (before the stack). */
void svc_free_all(struct us_stack *st);
/* iperf3-compatible server (apps/iperf3.c): TCP tests, -R, -P; one test at a time. */
int svc_iperf3(struct us_stack *st, uint16_t port);
void svc_iperf3_free(struct us_stack *st);

int cmd_serve(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_send(int argc, char **argv);
/* apps/tunnel.c: genkey, server, client (links libsodium) */
int cmd_tunnel(int argc, char **argv);
int cmd_relay(int argc, char **argv);
/* apps/run.c: a program under the LD_PRELOAD shim (preload/) */
int cmd_run(int argc, char **argv);
/* apps/ctlcmd.c: a running ustack's counters and connections (control.h) */
int cmd_stats(int argc, char **argv);
int cmd_ss(int argc, char **argv);
#endif
