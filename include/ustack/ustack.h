/* ustack: a TCP/IP stack in user space.
 *
 * The core owns no clock and no thread: the caller drives it with the time,
 *
 *     us_stack_input(st, now_ns);    drain devices, run protocols, flush output
 *     us_stack_timers(st, now_ns);   fire due timers
 *     us_stack_next_deadline(st);    when to call us_stack_timers next
 *
 * or hands it to the ready-made epoll loop (us_loop_*). Sockets are small
 * integers local to one stack; calls never block and return negative errno
 * values with Linux's meaning (-EAGAIN, -ECONNREFUSED, ...). */
#ifndef USTACK_H
#define USTACK_H
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ustack/link.h"
#include "ustack/stats.h"

#ifdef __cplusplus
extern "C" {
#endif
/* What these headers declare is the library's interface: the only symbols
 * it exports (the library is built with -fvisibility=hidden). */
#pragma GCC visibility push(default)

/* The version of these headers; us_version() gives the library's. */
#define USTACK_VERSION_MAJOR 0
#define USTACK_VERSION_MINOR 1
#define USTACK_VERSION_PATCH 0
#define USTACK_VERSION "0.1.0"
const char *us_version(void);

struct us_stack;

/* ---- the stack ---------------------------------------------------------- */

struct us_stack_config {
	uint32_t frame_bufs;        /* frame-sized packet buffers (default 4096) */
	uint32_t large_bufs;        /* 64 KiB buffers: datagrams, TSO/GRO super-frames (default 256) */
	uint32_t max_sockets;       /* default 1024 */
	uint32_t neigh_entries;     /* ARP cache size (default 256) */
	uint32_t neigh_queue;       /* packets held per unresolved neighbour (default 64; 212992 bytes) */
	uint32_t reasm_max;         /* datagrams under reassembly at once (default 32) */
	uint32_t reasm_mem;         /* bytes held by reassembly (default 4 MiB) */
	uint32_t reasm_timeout_ms;  /* default 30000 (RFC 791 suggests 15-30 s; Linux 30) */
	uint32_t icmp_rate_ms;      /* one ICMP error per this many ms... (default 1) */
	uint32_t icmp_burst;        /* ...with this burst (default 50) */
	int icmp_echo_bcast;        /* answer broadcast echo (default 0, smurf) */
	int ipv6_no_ra;             /* 1: ignore router advertisements (default 0: accept, as a Linux host) */
	int ipv6_no_dad;            /* 1: addresses are usable at once, without DAD (default 0) */
	int ipv6_disable;           /* 1: no IPv6 at all (as Linux's disable_ipv6): frames dropped, none sent */
	uint8_t ipv6_stable_secret[16]; /* not all zero: link-local and SLAAC addresses get RFC 7217 stable,
	                               opaque identifiers, a keyed hash of the prefix, the MAC and a DAD
	                               counter (as Linux's stable_secret; a conflict found by DAD tries the
	                               next counter, up to 3 times). All zero (default): EUI-64 from the MAC */
	uint64_t seed;              /* 0: keys from getrandom(); else deterministic */
	/* TCP */
	uint32_t tcp_max_conns;     /* connections of every state (default 8192) */
	uint32_t tcp_max_syn_backlog; /* half-open connections in all (default 256) */
	int tcp_syncookies;         /* 1: when half-open queues are full (default), 2: always, -1: never */
	uint32_t tcp_rmem;          /* default receive buffer (default 256 KiB) */
	uint32_t tcp_wmem;          /* default send buffer (default 256 KiB) */
	uint32_t tcp_rmem_max;      /* largest receive buffer (Linux's tcp_rmem[2]): autotuning grows
	                               buffers up to it, and the window scale is chosen to reach it, as
	                               Linux does (default 6 MiB: scale 7) */
	int tcp_timestamps;         /* RFC 7323 timestamps: 1 (default) offered and accepted, -1 not */
	int tcp_sack;               /* RFC 2018 SACK: 1 (default) offered and accepted, -1 not */
	int tcp_window_scaling;     /* RFC 7323 window scale: 1 (default) offered and accepted, -1 not */
	/* TCP Fast Open (RFC 7413), Linux's net.ipv4.tcp_fastopen bits: 0x1 the
	 * client side (sendto MSG_FASTOPEN, TCP_FASTOPEN_CONNECT), 0x2 the
	 * server side (listeners with TCP_FASTOPEN), 0x4 client data without a
	 * cookie, 0x200 server takes data without a cookie, 0x400 every
	 * listener takes Fast Open. 0: the default, 0x1 (as Linux); -1 off. */
	int tcp_fastopen;
	uint8_t tcp_fastopen_key[16];  /* the server's cookie key (Linux's tcp_fastopen_key bytes) */
	int tcp_fastopen_key_set;   /* 1: use it; else a random key */
	/* Linux's tcp_notsent_lowat (TCP_NOTSENT_LOWAT for every socket that
	 * sets none): a write stops, and POLLOUT waits, while this many bytes
	 * are queued unsent (POLLOUT: half as many). 0: none (the default). */
	uint32_t tcp_notsent_lowat;
	uint32_t tcp_wmem_max;      /* send buffers grow (autotuning) up to this (default 4 MiB) */
	int tcp_moderate_rcvbuf;    /* buffer autotuning: 1 on (default), -1 off (buffers stay as set) */
	uint32_t tcp_timewait_ms;   /* TIME_WAIT = 2*MSL (default 60000, as Linux) */
	uint32_t tcp_max_tw;        /* TIME_WAIT connections kept (default 4096) */
	uint32_t tcp_fin_timeout_ms;/* orphaned FIN_WAIT_2 lifetime (default 60000) */
	uint32_t tcp_syn_retries;   /* default 6 */
	uint32_t tcp_synack_retries;/* default 5 */
	uint32_t tcp_retries2;      /* data retransmissions before giving up (default 15) */
	uint32_t tcp_min_rto_ms;    /* default 200 (Linux); RFC 6298 says 1000 */
	uint32_t tcp_max_rto_ms;    /* default 120000 */
	uint32_t tcp_init_rto_ms;   /* default 1000 (RFC 6298) */
	int tcp_cc_reno;            /* 1: NewReno as the default, else BBR (older than tcp_cc) */
	const char *tcp_cc;         /* default congestion control by name ("bbr", "cubic", "reno"); wins over
	                             * tcp_cc_reno; NULL: the built-in default, BBR */
	int tcp_tlp;                /* tail loss probes (RFC 8985 7): 1 on (default), -1 off */
	int tcp_pacing;             /* 1: pace every congestion control (Linux with fq), 0 (default): BBR only, -1: never */
	int tcp_hystart;            /* HyStart++ (RFC 9406) in CUBIC's slow start: 1 on (default), -1 off */
	int tcp_mtu_probing;        /* PLPMTUD (RFC 4821): 1 (default) after a black hole shows (3 RTOs in a row),
	                             * 2 always, -1 never */
	int tcp_ecn;                /* ECN (RFC 3168): 1 ask for it and accept, 2 (default) accept only (Linux), -1 never */
	uint32_t tcp_challenge_ack_limit; /* challenge ACKs per second, per stack (default 1000, jittered) */
	uint32_t tcp_tso_max_segs;  /* MSS-sized pieces in one TSO super-segment (default 64, capped by 64 KiB) */
	uint32_t tcp_min_tso_segs;  /* Linux's tcp_min_tso_segs (default 2): plain segments get PSH in groups
	                               of this many, as Linux's GSO packets (at most half the window) */
	uint64_t tcp_mem_max;       /* older name of mem_max, used when mem_max is 0 (default 512 MiB) */
	/* The stack-wide memory budget: TCP send and receive buffers of every
	 * connection plus packet buffers in use (UDP/ICMP receive queues,
	 * reassembly, output and ARP queues). Rings may use 7/8 of it (the rest
	 * stays for packets); once half of that is in use, new TCP connections
	 * get buffers (so advertised windows) scaled down in proportion to
	 * what is left, to 4 KiB at least (counted in TCPMemoryPressures); past it TCP
	 * connections are refused (connect: -ENOBUFS; passive: RST, counted in
	 * TCPAbortOnMemory) and reassembly evicts. Unread UDP datagrams may
	 * fill 7/8 of the budget too (past it: Udp.MemErrors). The pool never
	 * goes past the budget: a frame no buffer may take is dropped by the
	 * device (Link.InNoBuf). The packet pool itself is preallocated
	 * (frame_bufs, large_bufs): size it to the budget. 0: tcp_mem_max. */
	uint64_t mem_max;
};

/* cfg may be NULL for defaults. Returns NULL with errno set on failure. */
struct us_stack *us_stack_new(const struct us_stack_config *cfg);
void us_stack_free(struct us_stack *st);
/* us_stack_free, returning how many packet buffers were still in use after
 * every protocol, socket, queue and link had released what it holds: buffers
 * nothing owns any more (leaked). Programs print it at exit; tests and
 * fuzzers assert it is 0. */
uint32_t us_stack_free_leaks(struct us_stack *st);
/* Drain every device (bounded per call), run the protocols, invoke socket
 * callbacks, flush output. Returns frames processed. */
int us_stack_input(struct us_stack *st, uint64_t now_ns);
void us_stack_timers(struct us_stack *st, uint64_t now_ns);
/* Absolute time (ns) of the next timer, or -1 if none. */
int64_t us_stack_next_deadline(const struct us_stack *st);
/* Frames are waiting in a device that has no fd to wake epoll (mem links). */
int us_stack_has_pending(const struct us_stack *st);
/* The device fds to wait on (readable when input waits), for callers that
 * drive the stack from a loop of their own: up to max in fds, returns how
 * many the stack has. */
int us_stack_fds(const struct us_stack *st, int *fds, int max);
const struct us_stats *us_stack_stats(const struct us_stack *st);
/* Packet buffers in use (0 when idle: the leak check). */
uint32_t us_stack_bufs_in_use(const struct us_stack *st);
/* Of those, the ones lent to devices (an AF_XDP fill ring's buffers, frames
 * being sent): in use but owned by no protocol or socket. */
uint32_t us_stack_bufs_lent(const struct us_stack *st);
/* Bytes of TCP send and receive buffers allocated (bounded by tcp_mem_max). */
uint64_t us_stack_tcp_mem(const struct us_stack *st);
/* The memory budget's account (bytes). */
struct us_mem_info {
	uint64_t used;              /* tcp + pkts */
	uint64_t peak;              /* highest used seen */
	uint64_t max;               /* the budget (mem_max or tcp_mem_max) */
	uint64_t tcp;               /* TCP rings */
	uint64_t pkts;              /* packet buffers in use */
	uint64_t pool_reserved;     /* the preallocated pool (outside the account) */
	uint64_t pkt_refusals;      /* packet allocations refused by the budget */
};
void us_stack_mem_info(struct us_stack *st, struct us_mem_info *mi);
/* Every counter, one "Group.Name value" line each, to a stdio FILE. */
void us_stack_dump_stats(const struct us_stack *st, FILE *out);

/* ---- interfaces and routes ---------------------------------------------- */

/* Attach a link; the stack owns it from now on. Returns ifindex >= 1. */
int us_iface_add(struct us_stack *st, struct us_link *link);
int us_iface_addr_add(struct us_stack *st, int ifindex, struct in_addr addr, int prefix_len);
/* Mark up: a gratuitous ARP is sent on Ethernet links. */
int us_iface_up(struct us_stack *st, int ifindex);
int us_iface_set_mtu(struct us_stack *st, int ifindex, uint32_t mtu);
/* prefix_len 0 with dst 0.0.0.0 is the default route; gw 0.0.0.0: on-link. */
int us_route_add(struct us_stack *st, struct in_addr dst, int prefix_len, struct in_addr gw, int ifindex);
/* A permanent ARP entry (like `ip neigh add ... nud permanent`): never
 * aged, evicted or changed by ARP. For stacks sharing one multi-queue TAP,
 * where an ARP reply may reach another queue's stack. 0 or -errno. */
int us_neigh_add(struct us_stack *st, int ifindex, struct in_addr ip, const uint8_t mac[6]);
/* The same three for either family: addr, dst, gw and ip are a
 * struct sockaddr_in or sockaddr_in6 (the port is ignored; gw NULL or a
 * wildcard: on-link). An IPv6 address is assigned after duplicate address
 * detection (RFC 4862 5.4) when the interface is up. -EAFNOSUPPORT for
 * another family, -EINVAL for mixed families. */
int us_iface_addr_add_sa(struct us_stack *st, int ifindex, const struct sockaddr *addr, int prefix_len);
int us_route_add_sa(struct us_stack *st, const struct sockaddr *dst, int prefix_len, const struct sockaddr *gw,
		    int ifindex);
int us_neigh_add_sa(struct us_stack *st, int ifindex, const struct sockaddr *ip, const uint8_t mac[6]);

/* The addresses of every interface, as `ip addr` shows them: those given by
 * us_iface_addr_add*, the IPv6 link-local ones and those SLAAC made. */
#define US_ADDR_TENTATIVE 0x1   /* IPv6: DAD still runs; takes no traffic yet */
#define US_ADDR_SLAAC 0x2       /* made from a router advertisement's prefix */
#define US_ADDR_STABLE 0x4      /* an RFC 7217 stable identifier (us_stack_config.ipv6_stable_secret) */
struct us_addr_info {
	int ifindex;
	struct sockaddr_storage addr;   /* sockaddr_in or sockaddr_in6 (link-local: sin6_scope_id = ifindex) */
	int prefix_len;
	unsigned flags;                 /* US_ADDR_* */
	uint32_t valid_s;               /* seconds of valid lifetime left; 0: forever */
};
typedef void (*us_addr_visit_fn)(const struct us_addr_info *a, void *arg);
/* Calls fn for each address; returns how many. */
int us_iface_addr_foreach(struct us_stack *st, us_addr_visit_fn fn, void *arg);

/* ---- sockets ------------------------------------------------------------ */

#define US_POLLIN 0x001
#define US_POLLOUT 0x004
#define US_POLLERR 0x008
#define US_POLLHUP 0x010
#define US_POLLRDHUP 0x2000

/* Link-local IPv6 addresses carry their zone (RFC 4007) in sin6_scope_id,
 * an interface index, as on Linux: bind and connect tie the socket to it
 * (EINVAL for another zone later, ENODEV for an index with no interface,
 * EADDRNOTAVAIL for a bind to an address that interface lacks), sendto
 * sends out of it, and accept, recvfrom, getsockname and getpeername fill
 * it in. A scope id of 0 is the default zone: the interface the routes
 * choose (RFC 4007 6; Linux instead refuses a link-local connect without
 * one). Other addresses ignore the field and get 0. */
int us_socket(struct us_stack *st, int domain, int type, int protocol);
int us_bind(struct us_stack *st, int s, const struct sockaddr *addr, socklen_t len);
int us_connect(struct us_stack *st, int s, const struct sockaddr *addr, socklen_t len);
int us_listen(struct us_stack *st, int s, int backlog);
int us_accept(struct us_stack *st, int s, struct sockaddr *addr, socklen_t *len);
ssize_t us_send(struct us_stack *st, int s, const void *buf, size_t len, int flags);
ssize_t us_recv(struct us_stack *st, int s, void *buf, size_t len, int flags);
ssize_t us_sendto(struct us_stack *st, int s, const void *buf, size_t len, int flags,
		  const struct sockaddr *to, socklen_t tolen);
ssize_t us_recvfrom(struct us_stack *st, int s, void *buf, size_t len, int flags,
		    struct sockaddr *from, socklen_t *fromlen);
int us_shutdown(struct us_stack *st, int s, int how);
int us_close(struct us_stack *st, int s);
int us_setsockopt(struct us_stack *st, int s, int level, int name, const void *val, socklen_t len);
int us_getsockopt(struct us_stack *st, int s, int level, int name, void *val, socklen_t *len);
int us_getsockname(struct us_stack *st, int s, struct sockaddr *addr, socklen_t *len);
int us_getpeername(struct us_stack *st, int s, struct sockaddr *addr, socklen_t *len);

/* ---- zero-copy TCP (relays, proxies) ------------------------------------
 *
 * A relay between a ustack TCP socket and a kernel socket can skip a buffer
 * of its own: readv() from the kernel socket straight into the ustack
 * socket's send buffer, writev() to it straight from the receive buffer.
 *
 * - us_recv_zc: the bytes a us_recv would return, in place: iov[0] and,
 *   where they wrap around the buffer, iov[1] (*iovcnt 1 or 2). Returns
 *   their count (> 0), or what us_recv returns with nothing to read (0 at
 *   end of stream, -EAGAIN, -errno; *iovcnt 0). Nothing is consumed until
 *   us_recv_done(st, s, n) takes the first n, as a us_recv of n bytes
 *   would (window updates included). With US_TCP_RECV_INPLACE (below) the
 *   iovecs may be one or two of the packet buffers the bytes arrived in
 *   (as a short read would be), given back by us_recv_done.
 * - us_send_zc: the free space of the send buffer, in place, likewise;
 *   returns its size (> 0), or what us_send would return (-EAGAIN when it
 *   is full, -EPIPE, ...). Write up to that many bytes there, in order;
 *   us_send_done(st, s, n) then sends the first n as a us_send of the same
 *   bytes would.
 * - The iovecs are valid until the next call into the stack (any us_ call
 *   on this socket, us_stack_input, us_stack_timers, the loop). Both
 *   us_*_done return 0, -EINVAL for more than was offered, or -errno as
 *   their us_recv / us_send would. TCP sockets only (-EOPNOTSUPP). */
ssize_t us_recv_zc(struct us_stack *st, int s, struct iovec iov[2], int *iovcnt);
/* The same in up to iovmax iovecs (at most US_ZC_IOV_MAX a call; -EINVAL
 * below 1): with US_TCP_RECV_INPLACE, every held packet at once, so that a
 * reader takes a whole pass's arrivals in one call and gives them back with
 * one us_recv_done. */
#define US_ZC_IOV_MAX 64
ssize_t us_recv_zcv(struct us_stack *st, int s, struct iovec *iov, int iovmax, int *iovcnt);
int us_recv_done(struct us_stack *st, int s, size_t n);
ssize_t us_send_zc(struct us_stack *st, int s, struct iovec iov[2], int *iovcnt);
int us_send_done(struct us_stack *st, int s, size_t n);

/* ---- transparent ("accept anything") sockets -----------------------------
 *
 * Like Linux's IP_TRANSPARENT with TPROXY, for relays (tun2socks) and
 * anything else that terminates traffic for every address routed into a
 * device: us_setsockopt(st, s, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(int)).
 *
 * - TCP: a listening socket with IP_TRANSPARENT takes connections to every
 *   address and port that is not the stack's own (local addresses keep their
 *   ordinary listeners). us_getsockname on an accepted socket gives the
 *   original destination; the stack answers in that address's name.
 * - UDP: a bound socket with IP_TRANSPARENT receives datagrams to every
 *   non-local address:port; us_recvfromto reports both ends, and
 *   us_sendfromto sends from any source address:port (replies from any
 *   remote, so endpoint-independent "full cone" mappings can be built).
 *   With no transparent UDP socket, such datagrams get a port unreachable.
 * - ICMP: a ping socket (SOCK_DGRAM, IPPROTO_ICMP) with IP_TRANSPARENT
 *   receives echo requests to non-local addresses (data from the ICMP
 *   header on), and us_sendfromto sends any ICMP message (checksum filled
 *   in) from any source. Without one, the stack answers such echoes itself.
 * - IPv6: IPV6_TRANSPARENT (IPPROTO_IPV6, 75) on an AF_INET6 socket is the
 *   same flag (as on Linux): a TCP listener, a UDP socket or an ICMPv6 ping
 *   socket (SOCK_DGRAM, IPPROTO_ICMPV6) then takes every IPv6 address, and
 *   addresses come back as sockaddr_in6. A socket takes its own family's
 *   traffic: an IPv4 one IPv4, an IPv6 one IPv6 (and IPv4 as v4-mapped
 *   addresses too if it is a TCP or UDP socket on :: without IPV6_V6ONLY),
 *   so a relay may hold one socket per family.
 * - Only while some transparent socket takes their family do IPv4 and
 *   IPv6 input accept non-local destinations at all (else they are
 *   dropped, Ip.InAddrErrors, Ip6.InAddrErrors: an IPv4-only relay sees no
 *   IPv6), and never one that no host beyond the link can have: 0/8,
 *   127/8, 169.254/16; ::/96, fe80::/10, ::1 and multicast (which stays
 *   multicast).
 * - IP_TTL (IPPROTO_IP) sets the TTL (the hop limit for IPv6) of a UDP or
 *   ICMP socket's datagrams.
 *
 * Half-open connections are bounded by the listener's backlog and
 * tcp_max_syn_backlog; past them SYN cookies answer (tcp_syncookies), so a
 * SYN flood holds no memory. US_TCP_DEFER_HANDSHAKE (IPPROTO_TCP, int) on a
 * listener hands each SYN to the app before any answer: us_accept returns
 * the connection still in SYN_RECEIVED, and us_accept_finish(ok=1) sends
 * the SYN-ACK (e.g. once the upstream connection succeeded) or ok=0 a RST
 * (the client sees "connection refused"). Deferred SYNs count as half-open;
 * connections completed through SYN cookies arrive already established, and
 * us_accept_finish(ok=0) resets those. */
#define US_TCP_DEFER_HANDSHAKE 0x7501
/* US_TCP_WRITE_PENDING (IPPROTO_TCP, int 0 or 1): for callers that build
 * blocking writes out of ustack's non-blocking calls (a shim, the
 * packetdrill plug-in). Set while a write waits for the handshake with data
 * still to send (a Fast Open write larger than its SYN), as Linux counts
 * sk_write_pending: the ACK of the SYN-ACK then waits for that data
 * (Linux's "save one ACK"), and the exchange counts as interactive for
 * delayed ACKs, as on Linux. */
#define US_TCP_WRITE_PENDING 0x7502
/* US_TCP_RECV_INPLACE (IPPROTO_TCP, int 0 or 1; inherited from a
 * listener): segments that arrive in order with no hole stay in the packet
 * buffers they arrived in (an AF_XDP frame where the kernel wrote it, a TAP
 * super-frame) instead of being copied into the receive buffer; us_recv_zc
 * then hands out one or two of them at a time and us_recv_done gives them
 * back; us_recv copies from them as from the buffer. For readers that
 * consume in place; a relay that writev()s whole buffers is better off
 * without (more, smaller pieces). Held packets count in the window. */
#define US_TCP_RECV_INPLACE 0x7503
ssize_t us_recvfromto(struct us_stack *st, int s, void *buf, size_t len, int flags, struct sockaddr *from,
		      socklen_t *fromlen, struct sockaddr *to, socklen_t *tolen);
ssize_t us_sendfromto(struct us_stack *st, int s, const void *buf, size_t len, int flags, const struct sockaddr *from,
		      socklen_t fromlen, const struct sockaddr *to, socklen_t tolen);
int us_accept_finish(struct us_stack *st, int s, int ok);

/* Readiness, like poll(2) but never blocking: fills revents, returns how
 * many entries have any. */
struct us_pollfd {
	int fd;
	short events;
	short revents;
};
int us_poll(struct us_stack *st, struct us_pollfd *fds, int n);
/* Called (from us_stack_input/us_stack_timers, after protocol processing,
 * never from inside it) when the socket's readiness may have changed. The
 * callback may call any socket function. */
typedef void (*us_sock_cb)(struct us_stack *st, int s, unsigned events, void *arg);
int us_sock_set_callback(struct us_stack *st, int s, us_sock_cb cb, void *arg);

/* The socket's error queue, as Linux's recvmsg(MSG_ERRQUEUE) (the values
 * are <linux/errqueue.h>'s). The socket polls US_POLLERR while it holds any
 * (a callback is invoked when one arrives); it keeps 16 at most.
 *
 * - MSG_ZEROCOPY: with SO_ZEROCOPY set (SOL_SOCKET), each TCP send with
 *   MSG_ZEROCOPY that queued data takes the next id (0, 1, ...). Once the
 *   peer has acknowledged a send's data (or the connection is gone) its id
 *   is reported: err 0, origin US_EE_ORIGIN_ZEROCOPY, code
 *   US_EE_CODE_ZEROCOPY_COPIED (ustack always copies: the flag is for
 *   programs written for Linux), ids info..data (consecutive ones merged
 *   while unread).
 * - SO_TIMESTAMPING (SOL_SOCKET, Linux's SOF_TIMESTAMPING_* bits: TX_SCHED,
 *   TX_SOFTWARE, TX_ACK, SOFTWARE, OPT_ID, OPT_TSONLY): the last byte of
 *   each TCP write is stamped when first sent (US_TSTAMP_SCHED and
 *   US_TSTAMP_SND, at once: ustack queues nothing between them) and when
 *   acknowledged (US_TSTAMP_ACK): err ENOMSG, origin
 *   US_EE_ORIGIN_TIMESTAMPING, info the US_TSTAMP_* kind, data the byte's
 *   key with OPT_ID (its offset from SND.UNA when OPT_ID was set), tstamp_ns
 *   on the stack's clock (the now given to us_stack_*). */
#define US_EE_ORIGIN_TIMESTAMPING 4
#define US_EE_ORIGIN_ZEROCOPY 5
#define US_EE_CODE_ZEROCOPY_COPIED 1
#define US_TSTAMP_SND 0
#define US_TSTAMP_SCHED 1
#define US_TSTAMP_ACK 2
struct us_sock_err {
	uint32_t err;               /* positive errno (ee_errno) */
	uint8_t origin, type, code;
	uint32_t info, data;
	uint64_t tstamp_ns;         /* timestamps (SOF_TIMESTAMPING_SOFTWARE), else 0 */
	uint32_t pkt_len;           /* Linux returns the packet, this long, as the data (not OPT_TSONLY); ustack none */
};
/* 0 with *e filled, or -EAGAIN if the queue is empty. */
int us_recv_err(struct us_stack *st, int s, struct us_sock_err *e);

/* TCP state, as TCP_INFO: us_getsockopt(st, s, IPPROTO_TCP, TCP_INFO, &info, &len). */
struct us_tcp_info {
	uint8_t state;              /* US_TCP_* below */
	uint8_t ca_state;           /* 0 open, 1 recovery, 2 loss (after RTO) */
	uint8_t snd_wscale, rcv_wscale;
	uint8_t sack_ok, ts_ok;
	uint8_t syn_data;           /* Fast Open: data in the SYN was acknowledged (client) or taken (server) */
	uint32_t rto_us, srtt_us, rttvar_us;
	uint32_t snd_mss, rcv_mss;
	uint32_t cwnd;              /* bytes */
	uint32_t ssthresh;          /* bytes */
	uint32_t bytes_in_flight;
	uint32_t snd_wnd, rcv_wnd;  /* bytes, scaled */
	uint32_t retransmits;       /* consecutive, unanswered */
	uint64_t total_retrans;     /* segments */
	uint64_t bytes_acked, bytes_received;
	uint64_t segs_out, segs_in;
	uint32_t unacked, sacked;   /* bytes */
	uint32_t delivered;         /* segments the peer acknowledged (or SACKed), the SYN included: Linux's
	                               tcpi_delivered, counting acknowledged data in MSS-sized pieces */
	uint32_t last_data_recv_ms; /* since data (or the handshake) last arrived */
	uint32_t rcv_queued, snd_queued;  /* bytes */
	uint16_t lport, rport;
	uint32_t laddr, raddr;      /* IPv4: host byte order (0 for IPv6) */
	uint8_t family;             /* AF_INET or AF_INET6 */
	uint8_t laddr6[16], raddr6[16]; /* both families, network order (IPv4 as ::ffff:a.b.c.d) */
	char cc[8];
};
enum {
	US_TCP_CLOSED = 0, US_TCP_LISTEN, US_TCP_SYN_SENT, US_TCP_SYN_RECEIVED, US_TCP_ESTABLISHED,
	US_TCP_FIN_WAIT_1, US_TCP_FIN_WAIT_2, US_TCP_CLOSE_WAIT, US_TCP_CLOSING, US_TCP_LAST_ACK,
	US_TCP_TIME_WAIT,
};
const char *us_tcp_state_name(int state);
/* Visit every TCP connection (like `ss -tan`), orphans included. */
typedef void (*us_tcp_visit_fn)(const struct us_tcp_info *info, void *arg);
void us_tcp_foreach(struct us_stack *st, us_tcp_visit_fn fn, void *arg);

/* ---- the event loop ----------------------------------------------------- */

struct us_loop;
typedef void (*us_fd_cb)(struct us_loop *loop, int fd, unsigned events, void *arg);
struct us_loop *us_loop_new(struct us_stack *st);
void us_loop_free(struct us_loop *loop);
/* Watch an application fd (EPOLLIN/EPOLLOUT). */
int us_loop_add_fd(struct us_loop *loop, int fd, unsigned events, us_fd_cb cb, void *arg);
int us_loop_mod_fd(struct us_loop *loop, int fd, unsigned events);
int us_loop_del_fd(struct us_loop *loop, int fd);
/* Run until us_loop_stop() or, if timeout_ms >= 0, that long. */
int us_loop_run(struct us_loop *loop, int timeout_ms);
void us_loop_stop(struct us_loop *loop);
/* Busy polling: for usec microseconds after the last frame came in, poll the
 * devices again instead of sleeping (0, the default: always sleep). Saves the
 * wakeup per burst at the price of a spinning CPU. */
void us_loop_set_busy_poll(struct us_loop *loop, unsigned usec);
uint64_t us_now_ns(void);   /* CLOCK_MONOTONIC */

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
