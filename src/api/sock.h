/* The socket object shared by the API and the transports: the API owns the
 * table of them; a transport keeps its state in or behind it and marks it
 * ready (sock_wakeup) for the API to run its callback. */
#ifndef US_SOCK_H
#define US_SOCK_H
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/addr.h"
#include "core/pkt.h"
#include "ustack/ustack.h"

struct us_stack;
enum us_sock_kind { SK_UDP = 1, SK_TCP = 2, SK_ICMP = 3 };

struct tcp_conn;
struct us_sock;

/* What each kind of socket does for the API's calls: the transports fill
 * one each (tcp_sock_ops, udp_sock_ops, ping_sock_ops); a NULL entry means
 * the kind does not support the call (-EOPNOTSUPP). Addresses are in and
 * out of struct us_addr; the API converts sockaddrs. */
struct sock_ops {
	int type;                     /* SOCK_STREAM or SOCK_DGRAM (SO_TYPE) */
	int (*bind)(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port);
	/* addr NULL: AF_UNSPEC (disconnect a datagram socket). */
	int (*connect)(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port);
	int (*listen)(struct us_stack *st, struct us_sock *s, int backlog);
	int (*accept)(struct us_stack *st, struct us_sock *s, struct us_sock **out);
	int (*accept_finish)(struct us_stack *st, struct us_sock *s, int ok);
	/* to NULL: the connected peer. */
	ssize_t (*send)(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, int flags,
			const struct us_addr *to, uint16_t port);
	ssize_t (*sendfrom)(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, const struct us_addr *src,
			    uint16_t sport, const struct us_addr *to, uint16_t port);
	/* from: the sender; to: where it was sent (the original destination). */
	ssize_t (*recv)(struct us_stack *st, struct us_sock *s, void *buf, size_t len, int flags, struct us_addr *from,
			uint16_t *fport, struct us_addr *to, uint16_t *tport);
	int (*shutdown)(struct us_stack *st, struct us_sock *s, int how);
	/* The descriptor is closed; the kind releases the socket (now or later). */
	void (*close)(struct us_stack *st, struct us_sock *s);
	unsigned (*poll)(struct us_stack *st, struct us_sock *s);
	void (*set_transparent)(struct us_stack *st, struct us_sock *s, int on);
	/* Options the API does not handle itself; -ENOPROTOOPT if unknown. */
	int (*setsockopt)(struct us_stack *st, struct us_sock *s, int level, int name, const void *val, socklen_t len);
	int (*getsockopt)(struct us_stack *st, struct us_sock *s, int level, int name, void *val, socklen_t *len);
};

struct us_sock {
	int fd;
	int kind;
	const struct sock_ops *ops;
	struct us_addr laddr, raddr;  /* either family; a wildcard when unbound (core/addr.h) */
	uint16_t lport, rport;
	uint8_t bound, connected;
	uint8_t reuseaddr, reuseport;
	uint8_t on_ready, closing;
	uint8_t transparent;          /* IP_TRANSPARENT: any destination, any source */
	uint8_t family;               /* AF_INET or AF_INET6: what us_socket was given */
	uint8_t v6only;               /* IPV6_V6ONLY: an AF_INET6 socket speaks no IPv4 */
	/* Zones (RFC 4007) of link-scope IPv6 addresses, as interface indexes:
	 * scope_if, that of a link-local bind or connect (Linux's
	 * sk_bound_dev_if from a sin6_scope_id); tx_scope, a sendto's
	 * destination's, for that datagram; rx_if, where the datagram recv
	 * last returned came in. 0: none (the default zone). */
	int scope_if, tx_scope, rx_if;
	uint8_t ttl;                  /* IP_TTL for datagrams (0: default 64) */
	uint8_t hops6, hops6_set;     /* IPV6_UNICAST_HOPS (unset, -1: the route's default) */
	uint8_t tos;                  /* IP_TOS */
	uint8_t pmtudisc;             /* IP_MTU_DISCOVER: TCP sets DF unless DONT; datagrams with DO or PROBE */
	int so_error;                 /* pending error (positive errno), reported once */
	uint32_t rcvbuf, sndbuf;      /* bytes */
	uint8_t rcvbuf_locked;        /* SO_RCVBUF set: the window scale fits this buffer only */
	uint32_t rx_bytes;            /* bytes held in rxq */
	uint32_t mark;                /* SO_MARK: kept for getsockopt (ustack routes no marks) */
	uint8_t zerocopy;             /* SO_ZEROCOPY */
	uint32_t tsflags;             /* SO_TIMESTAMPING (SOF_TIMESTAMPING_*) */
	uint32_t tskey;               /* SOF_TIMESTAMPING_OPT_ID: the sequence number keys count from */
	struct sock_errq *errq;       /* the error queue (allocated with its first entry) */
	struct pkt_queue rxq;         /* UDP: datagrams (data at the payload) */
	us_sock_cb cb;
	void *cb_arg;
	struct us_sock *ready_next;   /* readiness-changed list */
	struct us_sock *hash_next;    /* transport's port hash chain */
	struct tcp_conn *tcp;         /* TCP: the connection or listener */
};

/* Socket option values of type int (Linux's rules: at least sizeof(int)). */
static inline int sockopt_get_int(const void *val, socklen_t len, int *out)
{
	if (!val || len < (socklen_t)sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}
static inline int sockopt_put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len || *len < (socklen_t)sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

#define SOCK_ERRQ_MAX 16
struct sock_errq {
	struct us_sock_err e[SOCK_ERRQ_MAX];
	uint8_t head, n;
};
/* Queue an entry (woken: POLLERR); -ENOBUFS when the queue is full. */
int sock_err_push(struct us_stack *st, struct us_sock *s, const struct us_sock_err *e);
/* The newest unread entry, to merge into (NULL if none). */
struct us_sock_err *sock_err_tail(struct us_sock *s);

/* Readiness may have changed: queue the socket for its callback. */
void sock_wakeup(struct us_stack *st, struct us_sock *s);
/* Run callbacks of sockets whose readiness changed. */
void sock_dispatch(struct us_stack *st);
struct us_sock *sock_get(struct us_stack *st, int fd);
struct us_sock *sock_alloc(struct us_stack *st, int kind);
void sock_release(struct us_stack *st, struct us_sock *s);
int sock_table_init(struct us_stack *st);
void sock_table_destroy(struct us_stack *st);

#endif
