/* The socket object shared by the API and the transports. */
#ifndef US_SOCK_H
#define US_SOCK_H
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "core/pkt.h"
#include "stack.h"

enum us_sock_kind { SK_UDP = 1, SK_TCP = 2, SK_ICMP = 3 };

struct tcp_conn;

struct us_sock {
	int fd;
	int kind;
	uint32_t laddr, raddr;        /* host byte order; 0 = any */
	uint16_t lport, rport;
	uint8_t bound, connected;
	uint8_t reuseaddr, reuseport;
	uint8_t on_ready, closing;
	uint8_t transparent;          /* IP_TRANSPARENT: any destination, any source */
	uint8_t ttl;                  /* IP_TTL for datagrams (0: default 64) */
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

/* transport hooks the API calls */
unsigned udp_poll(struct us_stack *st, struct us_sock *s);
int udp_bind(struct us_stack *st, struct us_sock *s, uint32_t addr, uint16_t port);
int udp_connect(struct us_stack *st, struct us_sock *s, uint32_t addr, uint16_t port);
ssize_t udp_sendto(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, uint32_t addr, uint16_t port, int has_addr);
/* From any source (transparent sockets; else src must be local). */
ssize_t udp_sendfrom(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, uint32_t src, uint16_t sport,
		     uint32_t addr, uint16_t port);
/* daddr/dport: where the datagram was sent (the original destination). */
ssize_t udp_recvfrom(struct us_stack *st, struct us_sock *s, void *buf, size_t len, int flags, uint32_t *addr, uint16_t *port,
		     uint32_t *daddr, uint16_t *dport);
/* IP_TRANSPARENT turned on or off for a UDP or ICMP socket. */
void udp_set_transparent(struct us_stack *st, struct us_sock *s, int on);
void udp_close(struct us_stack *st, struct us_sock *s);
/* ICMP echo sockets (transport/udp.c shares the datagram queue code):
 * SOCK_DGRAM + IPPROTO_ICMP as Linux's ping sockets: the application sends
 * an echo request header and data; the identifier is the socket's port. */
ssize_t icmp_sock_sendto(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, uint32_t addr);
/* Transparent ICMP sockets: any message (the checksum is filled in) from any source. */
ssize_t icmp_sock_sendfrom(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, uint32_t src, uint32_t addr);
/* An echo request to a non-local address: to the transparent ICMP socket.
 * Returns 0 if none took it (p not consumed). */
int icmp_tproxy_input(struct us_stack *st, struct pkt *p);
void icmp_sock_input(struct us_stack *st, struct pkt *p, uint16_t id);

/* TCP hooks (transport/tcp*.c) */
unsigned tcp_poll(struct us_stack *st, struct us_sock *s);
int tcp_bind(struct us_stack *st, struct us_sock *s, uint32_t addr, uint16_t port);
int tcp_connect(struct us_stack *st, struct us_sock *s, uint32_t addr, uint16_t port);
int tcp_listen(struct us_stack *st, struct us_sock *s, int backlog);
int tcp_accept(struct us_stack *st, struct us_sock *s, struct us_sock **out);
int tcp_accept_finish(struct us_stack *st, struct us_sock *s, int ok);
ssize_t tcp_send(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, int flags);
/* sendto(MSG_FASTOPEN) (RFC 7413): connect to addr:port with data in the
 * SYN, or the first write after a deferred connect: the bytes the SYN
 * carries, or -EINPROGRESS if none. */
ssize_t tcp_send_fastopen(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, int flags, uint32_t addr,
			  uint16_t port);
ssize_t tcp_recv(struct us_stack *st, struct us_sock *s, void *buf, size_t len, int flags);
int tcp_shutdown(struct us_stack *st, struct us_sock *s, int how);
void tcp_close(struct us_stack *st, struct us_sock *s);
int tcp_available(void);
int tcp_setsockopt(struct us_stack *st, struct us_sock *s, int level, int name, const void *val, socklen_t len);
int tcp_getsockopt(struct us_stack *st, struct us_sock *s, int level, int name, void *val, socklen_t *len);
#endif
