/* ustack relay (tun2socks): what its parts share. relay.c holds the options,
 * set-up and timers; relay_tcp.c the TCP flows, relay_udp.c the UDP
 * mappings, relay_icmp.c ICMP echo and errors, relay_dns.c the fake DNS,
 * relay_report.c the report (SIGUSR1, --stats-interval, exit).
 *
 * Endpoints are struct relay_ep, of either address family: the flow tables
 * and the SOCKS5 requests are the same for IPv4 and IPv6. The stack's
 * transparent sockets come one set per family (lfd[RELAY_V6] ...). */
#ifndef US_APP_RELAY_H
#define US_APP_RELAY_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>

#include "app.h"
#include "control.h"
#include "socks5.h"

#define CONNECT_TIMEOUT_NS (10ull * 1000000000ull)
#define UDP_QUEUE_MAX 8                /* datagrams held while an association opens */
#define MAX_TCP_FLOWS 16384            /* defaults of --max-flows */
#define MAX_UDP_MAPS 16384
#define MAX_FLOWS_LIMIT 65536
#define MAX_PING_MAPS 256
#define NS 1000000000ull

/* ---- counters ---- */
/* One X(Name, "description") a line, in the format of include/ustack/stats.h
 * (the description is what `ustack stats --describe` prints and the
 * Prometheus HELP line). */
#define RELAY_COUNTERS(X) \
	X(TcpAccepted, "TCP connections the stack accepted from clients") \
	X(TcpOpened, "TCP flows whose upstream side opened (directly or through the SOCKS5 proxy)") \
	X(TcpRefused, "TCP flows refused: the client got a RST (each also counted under its reason)") \
	X(TcpUpstreamFailed, "TCP flows whose upstream connect failed: refused, unreachable, timed out") \
	X(TcpSocksFailed, "TCP flows the SOCKS5 proxy failed: no connection to it, or a bad handshake") \
	X(TcpConnectTimeouts, "TCP flows whose upstream side took over 10 s to open") \
	X(TcpIdleTimeouts, "TCP flows closed after --tcp-timeout without traffic") \
	X(TcpClientResets, "TCP flows ended by the client: RST or an error on its connection") \
	X(TcpUpstreamResets, "TCP flows ended by the upstream side: RST or an error on its socket") \
	X(TcpClosed, "TCP flows closed cleanly, both directions shut") \
	X(TcpNoMemory, "TCP flows refused: over --max-flows or the relay's memory budget") \
	X(TcpBytesUp, "bytes relayed from clients to the upstream side") \
	X(TcpBytesDown, "bytes relayed from the upstream side to clients") \
	X(UdpMappings, "UDP mappings created (one per client address and port)") \
	X(UdpExpired, "UDP mappings removed: idle past --udp-timeout, or never ready within 10 s") \
	X(UdpDatagramsUp, "UDP datagrams relayed from clients") \
	X(UdpDatagramsDown, "UDP datagrams relayed back to clients") \
	X(UdpBytesUp, "payload bytes of UDP datagrams relayed from clients") \
	X(UdpBytesDown, "payload bytes of UDP datagrams relayed back to clients") \
	X(UdpDrops, "UDP datagrams dropped: a send failed, the mapping died, or not from the proxy") \
	X(UdpUnreachSent, "ICMP port unreachables sent to clients for refused UDP") \
	X(UdpMapLimit, "UDP mappings refused: over --max-flows or the relay's memory budget") \
	X(DnsAnswers, "fake DNS answers sent (--fake-dns)") \
	X(DnsMalformed, "DNS queries to the fake resolver dropped: malformed or not answerable") \
	X(IcmpEchoForwarded, "ICMP echo requests forwarded through the host's ping socket") \
	X(IcmpEchoReplies, "ICMP echo replies sent back to clients") \
	X(IcmpEchoLocal, "ICMP echo requests answered by the relay itself (through a proxy: no ping)") \
	X(IcmpEchoFailed, "ICMP echo requests not forwarded: no ping socket, or its send failed") \
	X(TcpAccepted6, "TCP connections accepted over IPv6 (counted in TcpAccepted too)") \
	X(TcpBytesUp6, "bytes relayed from IPv6 clients (counted in TcpBytesUp too)") \
	X(TcpBytesDown6, "bytes relayed to IPv6 clients (counted in TcpBytesDown too)") \
	X(UdpMappings6, "UDP mappings of IPv6 clients (counted in UdpMappings too)") \
	X(UdpDatagramsUp6, "UDP datagrams relayed from IPv6 clients (counted in UdpDatagramsUp too)") \
	X(UdpDatagramsDown6, "UDP datagrams relayed back to IPv6 clients (counted in UdpDatagramsDown too)") \
	X(DnsAnswers6, "fake DNS AAAA answers with an address from the IPv6 range (counted in DnsAnswers too)") \
	X(IcmpEchoRequests6, "ICMPv6 echo requests taken from clients (forwarded or answered)")
#define RC_FIELD(n, d) uint64_t n;
struct relay_counters {
	RELAY_COUNTERS(RC_FIELD)
};
#undef RC_FIELD

/* An address of either family and a port (host order). */
struct relay_ep {
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
	uint16_t port;
	uint8_t family;              /* AF_INET or AF_INET6 */
};
struct relay_ep relay_ep4(uint32_t addr_host_order, uint16_t port);
static inline uint32_t relay_ep4_addr(const struct relay_ep *e) { return ntohl(e->a.v4.s_addr); }   /* host order */
int relay_ep_eq(const struct relay_ep *x, const struct relay_ep *y);
uint32_t relay_ep_hash(const struct relay_ep *e);
/* As a sockaddr (sockaddr_in or sockaddr_in6 in *ss); returns its length. */
socklen_t relay_ep_sockaddr(const struct relay_ep *e, struct sockaddr_storage *ss);
/* From a sockaddr_in or sockaddr_in6; -1 for another family. */
int relay_ep_from(struct relay_ep *e, const struct sockaddr *sa, socklen_t len);
/* As a SOCKS5 address (domain: the fake-DNS name, or NULL). */
void relay_ep_socks(const struct relay_ep *e, const char *domain, struct socks5_addr *out);
/* "a.b.c.d:port" or "[v6]:port" into buf (at least RELAY_EP_STR bytes). */
#define RELAY_EP_STR 56
const char *relay_ep_str(const struct relay_ep *e, char *buf);
const char *relay_ep_addr_str(const struct relay_ep *e, char *buf);   /* the address alone */

/* Index of a family's transparent sockets: RELAY_V4 or RELAY_V6. */
#define RELAY_V4 0
#define RELAY_V6 1
static inline int relay_fi(int family) { return family == AF_INET6 ? RELAY_V6 : RELAY_V4; }

struct tflow;
struct umap;
struct pmap;

struct relay {
	struct us_stack *st;
	struct us_loop *loop;
	/* The transparent TCP listener, UDP and ICMP sockets of each family
	 * (by relay_fi; -1: no --ip of that family). */
	int lfd[2], ufd[2], ifd[2];
	int direct;
	struct relay_ep proxy;
	const char *user, *pass;
	uint32_t mark;
	const char *out_dev;
	uint64_t udp_timeout_ns, tcp_timeout_ns;
	uint64_t mem_max, relay_mem_max, relay_mem, relay_mem_peak;
	/* fake DNS: one table of names; name i has fake_base + i (A) and
	 * fake6_base + i in the last 32 bits (AAAA), of the ranges given */
	int fake_dns, fake4, fake6;
	uint32_t fake_base, fake_size, fake_next;
	struct in6_addr fake6_base;
	struct fake_entry *fake;
	/* flows */
	struct tflow *tflows;
	struct umap *umaps;
	struct umap **umap_hash;      /* by client endpoint; umap_hash_size buckets */
	uint32_t umap_hash_size;
	struct pmap *pmaps;
	uint32_t n_tflows, n_umaps, n_pmaps;
	uint32_t max_tcp_flows, max_udp_maps;
	uint32_t tcp_buffer;          /* a TCP flow's buffers grow to this, each way */
	int ping_warned;
	int last_upstream_errno;      /* why the latest upstream connection failed (1000 + REP for SOCKS) */
	struct relay_counters c;
};

/* The relay's own memory (flows, mappings, handshakes, queued datagrams),
 * within relay_mem_max: a block of n bytes taken (0) or refused (-1). */
static inline int relay_mem_take(struct relay *r, size_t n)
{
	if (r->relay_mem + n > r->relay_mem_max)
		return -1;
	r->relay_mem += n;
	if (r->relay_mem > r->relay_mem_peak)
		r->relay_mem_peak = r->relay_mem;
	return 0;
}
static inline void relay_mem_give(struct relay *r, size_t n) { r->relay_mem -= n; }

/* relay.c */
/* A kernel socket for upstream traffic (family AF_INET or AF_INET6), kept
 * out of our own TUN device by --mark or --out-dev; -errno on failure. */
int relay_upstream_socket(struct relay *r, int family, int type, int proto);
/* Drives a SOCKS5 handshake (socks5.h) on a connected non-blocking socket:
 * sends what the machine has to send (a few hundred bytes on a fresh
 * socket: a short write is a failure), reads exactly what it asks for.
 * 1: done, 0: wait for more input, -1: failed (c->state SOCKS5_FAILED if
 * the proxy said no, else the connection broke). */
int relay_socks_drive(int fd, struct socks5_client *c);

/* relay_tcp.c */
void relay_tcp_on_listener(struct us_stack *st, int s, unsigned ev, void *arg);
/* Connect timeouts and idle flows. */
void relay_tcp_expire(struct relay *r, uint64_t now);
void relay_tcp_free_all(struct relay *r);
void relay_tcp_report(struct relay *r, FILE *out, uint64_t now);

/* relay_udp.c */
int relay_udp_init(struct relay *r);
void relay_udp_on_socket(struct us_stack *st, int s, unsigned ev, void *arg);
void relay_udp_expire(struct relay *r, uint64_t now);
void relay_udp_free_all(struct relay *r);
void relay_udp_report(struct relay *r, FILE *out, uint64_t now);

/* relay_icmp.c */
void relay_icmp_on_socket(struct us_stack *st, int s, unsigned ev, void *arg);
/* An ICMP (ICMPv6 for an IPv6 client) destination unreachable with that
 * family's code to the client c, in the name of the destination d, quoting
 * the UDP datagram c sent to d. */
void relay_icmp_unreach(struct relay *r, const struct relay_ep *c, const struct relay_ep *d, uint8_t code);
void relay_icmp_expire(struct relay *r, uint64_t now);
void relay_icmp_free_all(struct relay *r);
void relay_icmp_report(struct relay *r, FILE *out, uint64_t now);

/* relay_dns.c: --fake-dns */
struct fake_entry {
	char *name;
	uint64_t used;
};
int relay_fake_has(const struct relay *r, const struct relay_ep *e);
/* The name handed out for the address, or NULL. */
const char *relay_fake_name(struct relay *r, const struct relay_ep *e);
/* Answers a DNS query in q (n bytes) into out; the answer's length, or 0
 * to drop a malformed query. *is6: an AAAA answer with an address. */
size_t relay_dns_answer(struct relay *r, const uint8_t *q, size_t n, uint8_t *out, size_t cap, int *is6);
void relay_dns_free(struct relay *r);

/* relay_report.c */
void relay_report(struct relay *r, FILE *out);
/* The control socket's callbacks (relay_report.c). */
void relay_control_counters(void *arg, app_ctl_visit_fn visit, void *vctx);
void relay_control_sockets(void *arg, FILE *out, unsigned flags);
#endif
