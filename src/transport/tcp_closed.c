/* Placeholder until TCP lands (issue 3): the behaviour of a host with no
 * TCP listeners, which is still exact RFC 9293 3.10.7.1 behaviour: every
 * segment but a RST is answered with a RST; SOCK_STREAM is not offered. */
#include <errno.h>
#include <string.h>

#include "api/sock.h"
#include "stack.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

int tcp_available(void) { return 0; }
int tcp_init(struct us_stack *st) { (void)st; return 0; }
void tcp_destroy(struct us_stack *st) { (void)st; }

void tcp_input(struct us_stack *st, struct pkt *p)
{
	struct tcp_repr t;
	STAT_INC(st, tcp, InSegs);
	int rc = tcp_parse(p->data, p->len, p->ip_src, p->ip_dst, &t, 1);
	if (rc < 0) {
		if (rc == -EBADMSG)
			STAT_INC(st, tcp, InCsumErrors);
		STAT_INC(st, tcp, InErrs);
		goto drop;
	}
	if ((t.flags & TCP_RST) || (p->flags & PKT_F_BCAST))
		goto drop;
	struct tcp_repr r;
	memset(&r, 0, sizeof(r));
	r.sport = t.dport;
	r.dport = t.sport;
	if (t.flags & TCP_ACK) {
		r.seq = t.ack;
		r.flags = TCP_RST;
	} else {
		r.ack = t.seq + (uint32_t)t.payload_len + ((t.flags & TCP_SYN) ? 1 : 0) + ((t.flags & TCP_FIN) ? 1 : 0);
		r.flags = TCP_RST | TCP_ACK;
	}
	struct pkt *o = pkt_alloc(&st->pool, TCP_HDR_LEN, PKT_HEADROOM);
	if (!o)
		goto drop;
	uint8_t *b = pkt_put(o, TCP_HDR_LEN);
	tcp_emit(&r, p->ip_dst, p->ip_src, b, 0);
	STAT_INC(st, tcp, OutRsts);
	STAT_INC(st, tcp, OutSegs);
	ipv4_output(st, o, p->ip_dst, p->ip_src, IP_PROTO_TCP, IPV4_DEFAULT_TTL, 0, IPV4_DF);
drop:
	pkt_free(&st->pool, p);
}

void tcp_err(struct us_stack *st, uint32_t src, uint32_t dst, const uint8_t *th, size_t thlen, uint8_t type,
	     uint8_t code, uint32_t info)
{
	(void)st; (void)src; (void)dst; (void)th; (void)thlen; (void)type; (void)code; (void)info;
}

unsigned tcp_poll(struct us_stack *st, struct us_sock *s) { (void)st; (void)s; return US_POLLERR; }
int tcp_bind(struct us_stack *st, struct us_sock *s, uint32_t a, uint16_t p) { (void)st; (void)s; (void)a; (void)p; return -EPROTONOSUPPORT; }
int tcp_connect(struct us_stack *st, struct us_sock *s, uint32_t a, uint16_t p) { (void)st; (void)s; (void)a; (void)p; return -EPROTONOSUPPORT; }
int tcp_listen(struct us_stack *st, struct us_sock *s, int b) { (void)st; (void)s; (void)b; return -EPROTONOSUPPORT; }
int tcp_accept(struct us_stack *st, struct us_sock *s, struct us_sock **o) { (void)st; (void)s; (void)o; return -EPROTONOSUPPORT; }
ssize_t tcp_send(struct us_stack *st, struct us_sock *s, const void *b, size_t l, int f) { (void)st; (void)s; (void)b; (void)l; (void)f; return -EPROTONOSUPPORT; }
ssize_t tcp_recv(struct us_stack *st, struct us_sock *s, void *b, size_t l, int f) { (void)st; (void)s; (void)b; (void)l; (void)f; return -EPROTONOSUPPORT; }
int tcp_shutdown(struct us_stack *st, struct us_sock *s, int h) { (void)st; (void)s; (void)h; return -EPROTONOSUPPORT; }
void tcp_close(struct us_stack *st, struct us_sock *s) { sock_release(st, s); }
int tcp_setsockopt(struct us_stack *st, struct us_sock *s, int l, int n, const void *v, socklen_t len) { (void)st; (void)s; (void)l; (void)n; (void)v; (void)len; return -ENOPROTOOPT; }
int tcp_getsockopt(struct us_stack *st, struct us_sock *s, int l, int n, void *v, socklen_t *len) { (void)st; (void)s; (void)l; (void)n; (void)v; (void)len; return -ENOPROTOOPT; }
