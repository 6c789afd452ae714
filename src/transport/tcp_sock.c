/* The socket side of TCP: bind, listen, accept, connect, send, recv,
 * shutdown, close, options, readiness and TCP_INFO. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "net/iface.h"
#include "transport/tcp.h"
#include "wire/ipv4.h"

static const char *const state_names[] = {
	"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECV", "ESTAB", "FIN-WAIT-1", "FIN-WAIT-2",
	"CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
};

const char *us_tcp_state_name(int s)
{
	return s >= 0 && s < (int)US_ARRAY_LEN(state_names) ? state_names[s] : "?";
}

static struct tcp_conn *conn_of(struct us_stack *st, struct us_sock *s)
{
	if (!s->tcp) {
		s->tcp = tcp_conn_new(st);
		if (s->tcp) {
			s->tcp->sock = s;
			s->tcp->state = US_TCP_CLOSED;
		}
	}
	return s->tcp;
}

int tcp_bind(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port)
{
	if (s->bound || (s->tcp && s->tcp->state != US_TCP_CLOSED))
		return -EINVAL;
	if (!addr_is_any(addr) && !ip_is_local(st, addr))
		return -EADDRNOTAVAIL;
	if (!port) {
		/* An ephemeral port nobody holds on this address. */
		for (int i = 0; i < 64 && !port; i++) {
			uint16_t cand = (uint16_t)(32768 + us_rand_below(&st->rand, 28232));
			if (!tcp_port_in_use(st, addr, s->v6only, cand, 0))
				port = cand;
		}
		if (!port)
			return -EADDRINUSE;
	} else if (tcp_port_in_use(st, addr, s->v6only, port, s->reuseaddr)) {
		return -EADDRINUSE;
	}
	s->laddr = *addr;
	s->lport = port;
	s->bound = 1;
	return 0;
}

int tcp_listen(struct us_stack *st, struct us_sock *s, int backlog)
{
	struct tcp_conn *c = conn_of(st, s);
	if (!c)
		return -ENOMEM;
	if (c->state == US_TCP_LISTEN) {
		c->backlog = backlog < 1 ? 1 : (backlog > 4096 ? 4096 : backlog);
		return 0;
	}
	if (c->state != US_TCP_CLOSED)
		return -EINVAL;
	if (!s->bound) {
		struct us_addr any = addr_any(s->family);
		int rc = tcp_bind(st, s, &any, 0);
		if (rc < 0)
			return rc;
	}
	const struct tcp_conn *other = tcp_lookup_listener(st, &s->laddr, s->lport);
	if (other && addr_eq(&other->laddr, &s->laddr))
		return -EADDRINUSE;
	c->laddr = s->laddr;
	c->lport = s->lport;
	c->backlog = backlog < 1 ? 1 : (backlog > 4096 ? 4096 : backlog);
	c->rcvbuf = s->rcvbuf;
	c->sndbuf = s->sndbuf;
	c->rcvbuf_locked = s->rcvbuf_locked;
	c->transparent = s->transparent;
	c->v6only = s->v6only;
	c->state = US_TCP_LISTEN;
	tcp_listener_insert(st, c);
	return 0;
}

int tcp_accept(struct us_stack *st, struct us_sock *s, struct us_sock **out)
{
	struct tcp_conn *l = s->tcp;
	if (!l || l->state != US_TCP_LISTEN)
		return -EINVAL;
	struct tcp_conn *c = l->acceptq_head;
	if (!c)
		return -EAGAIN;
	struct us_sock *ns = sock_alloc(st, SK_TCP);
	if (!ns)
		return -EMFILE;
	l->acceptq_head = c->qnext;
	if (!l->acceptq_head)
		l->acceptq_tail = NULL;
	l->n_acceptq--;
	c->qnext = NULL;
	c->listener = NULL;
	c->sock = ns;
	ns->tcp = c;
	ns->family = s->family;
	ns->v6only = s->v6only;
	ns->laddr = c->laddr;
	ns->lport = c->lport;
	ns->raddr = c->raddr;
	ns->rport = c->rport;
	ns->scope_if = c->oif;
	ns->bound = ns->connected = 1;
	ns->rcvbuf = c->rcvbuf;
	ns->sndbuf = c->sndbuf;
	ns->zerocopy = s->zerocopy;   /* as Linux's clone of the listener */
	ns->tsflags = s->tsflags;
	ns->hops6 = s->hops6;         /* the connection has them from the listener too */
	ns->hops6_set = s->hops6_set;
	if (c->err)
		ns->so_error = c->err;
	*out = ns;
	return 0;
}

int tcp_accept_finish(struct us_stack *st, struct us_sock *s, int ok)
{
	struct tcp_conn *c = s->tcp;
	if (!c || c->state == US_TCP_LISTEN)
		return -ENOTCONN;
	if (c->deferred) {
		c->deferred = 0;   /* still half-open (counted) until the handshake completes */
		if (ok) {
			c->rtt_start = st->now;
			tcp_send_syn(st, c);
			tcp_arm_rtx(st, c);
			return 0;
		}
		/* RST+ACK to the SYN: the client sees "connection refused". */
		tcp_send_rst(st, c);
		tcp_done(st, c, ECONNREFUSED);
		return 0;
	}
	if (ok)
		return 0;
	if (c->state == US_TCP_CLOSED || c->state == US_TCP_TIME_WAIT)
		return 0;
	if (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_CLOSE_WAIT)
		STAT_INC(st, tcp, EstabResets);
	tcp_send_rst(st, c);
	c->reset = 1;
	tcp_done(st, c, ECONNREFUSED);
	return 0;
}

/* An active open up to its SYN: addresses, ISN, buffers; SYN_SENT, in the
 * table. 0 or -errno. */
static int connect_prepare(struct us_stack *st, struct us_sock *s, struct tcp_conn *c, const struct us_addr *addr,
			   uint16_t port)
{
	if (c->err || c->reset)
		return -ECONNABORTED;   /* a failed attempt: close and make a new socket */
	if (!port || addr_is_any(addr) || ip_is_multi(st, addr))
		return -EINVAL;
	struct ip_path path;
	if (ip_route_oif(st, addr, ip_zone(addr, s->scope_if), &path) < 0)
		return -ENETUNREACH;
	/* The bound address, else the route's preferred source (a local
	 * destination is its own source). */
	struct us_addr src = !addr_is_any(&s->laddr) ? s->laddr : path.local ? *addr : path.src;
	if (addr_is_v4(&src) != addr_is_v4(addr))
		return -EINVAL;   /* bound to an address of the other family */
	uint16_t lport = s->lport;
	if (!s->bound || !lport) {
		int rc = tcp_pick_port(st, &src, addr, port, &lport);
		if (rc < 0)
			return rc;
	} else if (tcp_lookup(st, &src, lport, addr, port)) {
		return -EADDRNOTAVAIL;
	}
	c->laddr = src;
	c->lport = lport;
	c->raddr = *addr;
	c->rport = port;
	/* A link-local peer's zone: the one given, else the default zone the
	 * route chose, which getpeername then reports. */
	c->oif = ip_zone(addr, path.iface ? path.iface->index : s->scope_if);
	if (c->oif)
		s->scope_if = c->oif;
	c->rcvbuf = s->rcvbuf;
	c->sndbuf = s->sndbuf;
	int brc = tcp_conn_buffers(st, c);
	if (brc < 0)
		return brc;
	s->laddr = src;
	s->lport = lport;
	s->raddr = *addr;
	s->rport = port;
	s->bound = 1;
	s->connected = 1;
	c->iss = tcp_isn(st, &src, lport, addr, port);
	c->ts_offset = (uint32_t)addr_hash(st->rand.key, &src, addr, lport, port);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->adv_mss = tcp_mss_for_mtu(addr, path.mtu);
	if (c->user_mss)
		c->adv_mss = US_MIN(c->adv_mss, c->user_mss);   /* TCP_MAXSEG: what we offer too, as Linux */
	c->rcvbuf_locked = s->rcvbuf_locked;
	c->rcv_wscale = tcp_choose_wscale(st, c);
	c->peer_mss = tcp_default_mss(addr);
	tcp_set_state(st, c, US_TCP_SYN_SENT);
	tcp_hash_insert(st, c);
	tcp_ecn_active_open(st, c);
	STAT_INC(st, tcp, ActiveOpens);
	return 0;
}

static void connect_send_syn(struct us_stack *st, struct tcp_conn *c)
{
	c->rtt_start = st->now;
	c->syn_tsval = tcp_ms(st) + c->ts_offset;
	c->syn_ts = st->cfg.tcp_timestamps > 0;
	tcp_send_syn(st, c);
	tcp_arm_rtx(st, c);
}

int tcp_connect(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port)
{
	struct tcp_conn *c = conn_of(st, s);
	if (!c)
		return -ENOMEM;
	if (c->fo_defer)
		return -EISCONN;   /* TCP_FASTOPEN_CONNECT: connected, the SYN waits for a write */
	switch (c->state) {
	case US_TCP_CLOSED:
		break;
	case US_TCP_SYN_SENT:
	case US_TCP_SYN_RECEIVED:
		return -EALREADY;
	case US_TCP_LISTEN:
		return -EINVAL;
	default:
		return -EISCONN;
	}
	int rc = connect_prepare(st, s, c, addr, port);
	if (rc < 0)
		return rc;
	if (c->fo_connect) {
		if (tcp_fo_have_cookie(st, c)) {
			/* Linux's TCP_FASTOPEN_CONNECT: with a cookie, connect()
			 * succeeds at once and the first write sends the SYN with
			 * its data. */
			c->fo_defer = 1;
			return 0;
		}
		tcp_fo_active_setup(st, c);   /* no cookie: the SYN asks for one */
	}
	connect_send_syn(st, c);
	return -EINPROGRESS;
}

ssize_t tcp_send_fastopen(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, int flags,
			  const struct us_addr *to, uint16_t port)
{
	struct tcp_conn *c = conn_of(st, s);
	if (!c)
		return -ENOMEM;
	if (st->cfg.tcp_fastopen <= 0 || !(st->cfg.tcp_fastopen & TCP_FO_CLIENT))
		return -EOPNOTSUPP;
	if (!c->fo_defer) {
		if (c->state == US_TCP_SYN_SENT || c->state == US_TCP_SYN_RECEIVED)
			return -EALREADY;
		if (c->state != US_TCP_CLOSED)
			return tcp_send(st, s, buf, len, flags & ~MSG_FASTOPEN);   /* connected: an ordinary write */
		struct us_addr any = addr_any(s->family);
		int rc = connect_prepare(st, s, c, to ? to : &any, port);   /* no address: -EINVAL */
		if (rc < 0)
			return rc;
	}
	c->fo_defer = 0;
	/* RFC 7413 4.2.1: data in the SYN only with a cookie (or none needed);
	 * else the SYN asks for one and the data waits for the handshake. */
	uint32_t n = 0;
	if (tcp_fo_active_setup(st, c) && len) {
		n = (uint32_t)US_MIN(len, (size_t)tcp_fo_syn_space(st, c));
		n = ring_write(&c->sndq, buf, n);
		tcp_note_write(c, n, n < len ? flags & ~MSG_EOR : flags);
		tcp_notify_write(st, c, n, flags);
		c->syn_data = n;
	}
	connect_send_syn(st, c);
	return n ? (ssize_t)n : -EINPROGRESS;
}

static int pending_error(struct us_sock *s)
{
	if (s->so_error) {
		int e = s->so_error;
		s->so_error = 0;
		return -e;
	}
	return 0;
}

/* Why nothing can be queued for sending now (0: it can). */
static ssize_t send_refused(struct us_sock *s, struct tcp_conn *c)
{
	if (!c)
		return -EPIPE;   /* never connected: Linux's sk_stream_wait_connect */
	int e = pending_error(s);
	if (e)
		return e;
	int fo_child = c->state == US_TCP_SYN_RECEIVED && c->fastopen;   /* may send before the handshake ends */
	if ((c->state == US_TCP_SYN_SENT || c->state == US_TCP_SYN_RECEIVED) && !fo_child)
		return -EAGAIN;
	if (c->wr_shut || c->fin_queued || (c->state != US_TCP_ESTABLISHED && c->state != US_TCP_CLOSE_WAIT && !fo_child))
		return -EPIPE;   /* (never connected too, as Linux) */
	return 0;
}

/* TCP_NOTSENT_LOWAT, else the stack's tcp_notsent_lowat; 0: none. */
static uint32_t notsent_lowat(const struct us_stack *st, const struct tcp_conn *c)
{
	uint32_t l = c->notsent_lowat ? c->notsent_lowat : st->cfg.tcp_notsent_lowat;
	return l == UINT32_MAX ? 0 : l;
}

/* Bytes written but never sent. */
static uint32_t notsent_bytes(const struct tcp_conn *c)
{
	uint32_t end = tcp_snd_base(c) + c->sndq.len, sent = c->snd_max - (c->fin_sent ? 1u : 0u);
	return SEQ_GT(end, sent) ? end - sent : 0;
}

/* With a not-sent limit, a write is taken as Linux takes it: in packets
 * of its size goal (64 KiB, or half the largest window the peer offered,
 * in whole segments), each sent as soon as it is full; a new packet only
 * while fewer bytes than the limit wait unsent (tcp_sendmsg_locked and
 * tcp_stream_memory_free). Returns the bytes taken. */
static uint32_t write_lowat(struct us_stack *st, struct tcp_conn *c, const void *buf, size_t len, uint32_t lowat)
{
	uint32_t mss = c->mss ? c->mss : TCP_DEFAULT_MSS;
	uint32_t half = c->max_snd_wnd > TCP_DEFAULT_MSS ? c->max_snd_wnd / 2 : c->max_snd_wnd;
	uint32_t goal = 65535u - 320u;   /* Linux's GSO size less MAX_TCP_HEADER */
	if (half && goal > half)
		goal = half;
	goal = US_MAX(goal / mss, 1u) * mss;
	uint32_t n = 0;
	while (n < len) {
		uint32_t u = notsent_bytes(c), room = u % goal ? goal - u % goal : 0;
		if (!room) {
			if (u >= lowat)
				break;
			room = goal;
		}
		uint32_t k = ring_write(&c->sndq, (const uint8_t *)buf + n, (uint32_t)US_MIN(len - n, (size_t)room));
		if (!k)
			break;
		n += k;
		if (k == room && n < len)
			tcp_output(st, c);   /* a full packet leaves at once */
	}
	return n;
}

ssize_t tcp_send(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, int flags)
{
	struct tcp_conn *c = s->tcp;
	if (c && c->fo_defer)
		return tcp_send_fastopen(st, s, buf, len, flags, NULL, 0);
	ssize_t e = send_refused(s, c);
	if (e)
		return e;
	if (!len)
		return 0;
	uint32_t lowat = notsent_lowat(st, c);
	uint32_t n = lowat ? write_lowat(st, c, buf, US_MIN(len, (size_t)UINT32_MAX), lowat)
			   : ring_write(&c->sndq, buf, (uint32_t)US_MIN(len, (size_t)UINT32_MAX));
	if (n < len)
		c->sndbuf_limited = 1;   /* the app waits on the buffer (tcp_sndbuf_expand) */
	if (!n)
		return -EAGAIN;
	/* A write the ring took only in part ends there, with its marks. */
	tcp_note_write(c, n, n < len ? flags & ~MSG_EOR : flags);
	tcp_notify_write(st, c, n, flags);
	c->out_more = (flags & MSG_MORE) != 0;
	tcp_output(st, c);
	c->out_more = 0;
	return (ssize_t)n;
}

ssize_t tcp_send_zc(struct us_stack *st, struct us_sock *s, uint8_t *p[2], uint32_t len[2], int *n)
{
	(void)st;
	struct tcp_conn *c = s->tcp;
	*n = 0;
	ssize_t e = send_refused(s, c);
	if (e)
		return e;
	uint32_t room = ring_free_space(&c->sndq);
	if (!room)
		return -EAGAIN;
	*n = ring_span(&c->sndq, c->sndq.len, room, p, len);
	return (ssize_t)room;
}

int tcp_send_done(struct us_stack *st, struct us_sock *s, size_t n)
{
	struct tcp_conn *c = s->tcp;
	ssize_t e = send_refused(s, c);
	if (e)
		return (int)e;
	if (n > ring_free_space(&c->sndq))
		return -EINVAL;
	if (!n)
		return 0;
	c->sndq.len += (uint32_t)n;   /* the bytes are already in place */
	tcp_output(st, c);
	return 0;
}

static void maybe_window_update(struct us_stack *st, struct tcp_conn *c)
{
	/* Reading opened the window: tell the peer when that matters. RFC
	 * 9293 3.8.6.2.2 leaves when; as Linux (__tcp_cleanup_rbuf): when the
	 * window left is at most half the largest, and the one we can offer
	 * now is at least twice it (from zero: any). Not when the window was
	 * wide open anyway: that ACK would tell the sender nothing it needs. */
	if (c->state != US_TCP_ESTABLISHED && c->state != US_TCP_FIN_WAIT_1 && c->state != US_TCP_FIN_WAIT_2)
		return;
	uint32_t adv = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	/* (the largest the window field can say: without scaling 65535) */
	uint32_t clamp = US_MIN(c->rcvq.cap, 65535u << c->rcv_wscale);
	uint32_t queued = tcp_rcv_queued(c);   /* held packets (zero-copy) count too */
	uint32_t now_free = US_MIN(c->rcvq.cap > queued ? c->rcvq.cap - queued : 0, clamp);
	if (now_free && 2 * (uint64_t)adv <= clamp && now_free >= 2 * (uint64_t)adv) {
		c->ack_now = 1;
		tcp_output(st, c);
	}
}

/* n readable bytes read: from the held packets first (zero-copy
 * receive), then the ring. */
static void recv_consumed(struct us_stack *st, struct tcp_conn *c, uint32_t n)
{
	uint32_t left = n;
	while (left && c->zcq.head) {
		struct pkt *p = c->zcq.head;
		if (p->len > left) {
			p->data += left;
			p->len -= left;
			c->zcq.bytes -= left;
			left = 0;
			break;
		}
		left -= p->len;
		pkt_free(&st->pool, pktq_pop(&c->zcq));
	}
	ring_consume(&c->rcvq, left);
	tcp_rcv_space_adjust(st, c);
	maybe_window_update(st, c);
	if (c->state == US_TCP_TIME_WAIT && !tcp_rcv_queued(c))
		tcp_release_buffers(st, c);   /* the last unread bytes are gone */
}

/* What a read of len bytes returns when nothing is readable. */
static ssize_t recv_empty(struct us_sock *s, struct tcp_conn *c, size_t len)
{
	int e = pending_error(s);
	if (e)
		return e;
	if (c->peer_fin || c->rd_shut || c->state == US_TCP_CLOSED)
		return 0;
	if (c->state == US_TCP_SYN_SENT || c->state == US_TCP_SYN_RECEIVED || c->state == US_TCP_ESTABLISHED ||
	    c->state == US_TCP_FIN_WAIT_1 || c->state == US_TCP_FIN_WAIT_2)
		return len ? -EAGAIN : 0;
	return 0;
}

ssize_t tcp_recv(struct us_stack *st, struct us_sock *s, void *buf, size_t len, int flags)
{
	struct tcp_conn *c = s->tcp;
	if (!c || c->state == US_TCP_LISTEN)
		return -ENOTCONN;
	if (tcp_rcv_queued(c) && len) {
		/* Held packets first (zero-copy receive), then the ring. */
		uint32_t n = 0;
		for (struct pkt *p = c->zcq.head; p && n < len; p = p->next) {
			uint32_t k = (uint32_t)US_MIN(len - n, (size_t)p->len);
			memcpy((uint8_t *)buf + n, p->data, k);
			n += k;
		}
		uint32_t r = (uint32_t)US_MIN(len - n, (size_t)c->rcvq.len);
		ring_peek(&c->rcvq, 0, (uint8_t *)buf + n, r);
		n += r;
		if (!(flags & MSG_PEEK))
			recv_consumed(st, c, n);
		return (ssize_t)n;
	}
	return recv_empty(s, c, len);
}

ssize_t tcp_recv_zc(struct us_stack *st, struct us_sock *s, uint8_t **p, uint32_t *len, int max, int *n)
{
	(void)st;
	struct tcp_conn *c = s->tcp;
	*n = 0;
	if (!c || c->state == US_TCP_LISTEN)
		return -ENOTCONN;
	if (max < 1)
		return -EINVAL;
	if (!c->zcq.head && !c->rcvq.len)
		return recv_empty(s, c, 1);
	/* The oldest bytes are the held packets; fewer pieces than they and
	 * the ring take make a shorter read, as a us_recv may be. */
	ssize_t total = 0;
	int k = 0;
	const struct pkt *h = c->zcq.head;
	for (; h && k < max; h = h->next, k++) {
		p[k] = h->data;
		len[k] = h->len;
		total += h->len;
	}
	if (!h && k < max && c->rcvq.len) {
		uint8_t *rp[2];
		uint32_t rl[2];
		int m = ring_span(&c->rcvq, 0, c->rcvq.len, rp, rl);
		for (int i = 0; i < m && k < max; i++, k++) {
			p[k] = rp[i];
			len[k] = rl[i];
			total += rl[i];
		}
	}
	*n = k;
	return total;
}

int tcp_recv_done(struct us_stack *st, struct us_sock *s, size_t n)
{
	struct tcp_conn *c = s->tcp;
	if (!c || c->state == US_TCP_LISTEN)
		return -ENOTCONN;
	if (n > tcp_rcv_queued(c))
		return -EINVAL;
	if (n)
		recv_consumed(st, c, (uint32_t)n);
	return 0;
}

static void queue_fin(struct us_stack *st, struct tcp_conn *c)
{
	if (c->fin_queued)
		return;
	switch (c->state) {
	case US_TCP_ESTABLISHED:
		tcp_set_state(st, c, US_TCP_FIN_WAIT_1);
		break;
	case US_TCP_CLOSE_WAIT:
		tcp_set_state(st, c, US_TCP_LAST_ACK);
		break;
	default:
		return;
	}
	c->fin_queued = 1;
	tcp_output(st, c);
}

int tcp_shutdown(struct us_stack *st, struct us_sock *s, int how)
{
	struct tcp_conn *c = s->tcp;
	if (!c || c->state == US_TCP_CLOSED || c->state == US_TCP_LISTEN || c->state == US_TCP_SYN_SENT)
		return -ENOTCONN;
	if (how == SHUT_RD || how == SHUT_RDWR)
		c->rd_shut = 1;
	if (how == SHUT_WR || how == SHUT_RDWR) {
		c->wr_shut = 1;
		queue_fin(st, c);
	}
	sock_wakeup(st, s);
	return 0;
}

static void close_listener(struct us_stack *st, struct tcp_conn *l)
{
	tcp_listener_remove(st, l);
	/* Half-open children vanish; accepted-but-not-taken ones are reset. */
	while (l->qnext) {
		struct tcp_conn *c = l->qnext;
		tcp_done(st, c, 0);
	}
	while (l->acceptq_head) {
		struct tcp_conn *c = l->acceptq_head;
		if (c->state != US_TCP_CLOSED)
			tcp_send_rst(st, c);
		tcp_done(st, c, 0);
	}
}

void tcp_close(struct us_stack *st, struct us_sock *s)
{
	struct tcp_conn *c = s->tcp;
	s->tcp = NULL;
	sock_release(st, s);
	if (!c)
		return;
	c->sock = NULL;
	switch (c->state) {
	case US_TCP_LISTEN:
		close_listener(st, c);
		tcp_conn_free(st, c);
		return;
	case US_TCP_CLOSED:
		if (c->in_hash)
			tcp_hash_remove(st, c);
		tcp_conn_free(st, c);
		return;
	case US_TCP_SYN_SENT:
		tcp_done(st, c, 0);
		return;
	default:
		break;
	}
	if (tcp_rcv_queued(c) || (c->linger_on && c->linger_sec == 0)) {
		/* Unread data (RFC 2525 2.17) or SO_LINGER 0: abort with RST. */
		if (tcp_rcv_queued(c))
			STAT_INC(st, tcpext, TCPAbortOnClose);
		else
			STAT_INC(st, tcpext, TCPAbortOnLinger);
		if (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_CLOSE_WAIT)
			STAT_INC(st, tcp, EstabResets);
		tcp_send_rst(st, c);
		tcp_done(st, c, 0);
		return;
	}
	if (c->state == US_TCP_SYN_RECEIVED) {
		tcp_send_rst(st, c);
		tcp_done(st, c, 0);
		return;
	}
	queue_fin(st, c);
	if (c->state == US_TCP_FIN_WAIT_2 && !timer_pending(&c->rtx_timer))
		timer_arm(&st->timers, &c->rtx_timer, st->now + (uint64_t)st->cfg.tcp_fin_timeout_ms * NS_PER_MS);
}

unsigned tcp_poll(struct us_stack *st, struct us_sock *s)
{
	struct tcp_conn *c = s->tcp;
	unsigned ev = 0;
	if (!c)
		return US_POLLOUT | US_POLLHUP;
	if (c->state == US_TCP_LISTEN)
		return c->acceptq_head ? US_POLLIN : 0;
	if (s->so_error)
		ev |= US_POLLERR;
	if (c->state == US_TCP_CLOSED) {
		/* Never connected, or finished. */
		ev |= US_POLLHUP | US_POLLIN | US_POLLOUT;
		return ev;
	}
	if (c->fo_defer)
		return ev | US_POLLOUT;   /* TCP_FASTOPEN_CONNECT: the first write connects */
	if (c->state == US_TCP_SYN_SENT || (c->state == US_TCP_SYN_RECEIVED && !c->fastopen))
		return ev;
	if (tcp_rcv_queued(c) || c->peer_fin || c->rd_shut)
		ev |= US_POLLIN;
	if (c->peer_fin)
		ev |= US_POLLRDHUP;
	if (c->peer_fin && (c->wr_shut || c->fin_queued))
		ev |= US_POLLHUP;
	if (!c->wr_shut && !c->fin_queued &&
	    (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_CLOSE_WAIT || c->state == US_TCP_SYN_RECEIVED)) {
		/* Writable when a third of the buffer is free (Linux's idea of
		 * "enough space" keeps writers from thrashing). */
		uint32_t lowat = notsent_lowat(st, c);
		if (ring_free_space(&c->sndq) >= US_MAX(c->sndq.cap / 3, 1u) &&
		    (!lowat || (uint64_t)notsent_bytes(c) * 2 < lowat))
			ev |= US_POLLOUT;   /* TCP_NOTSENT_LOWAT: Linux's __tcp_stream_memory_free(wake=1) */
	} else if (c->wr_shut || c->fin_queued) {
		ev |= US_POLLOUT;   /* a write will fail at once with EPIPE */
	}
	return ev;
}

int tcp_setsockopt(struct us_stack *st, struct us_sock *s, int level, int name, const void *val, socklen_t len)
{
	struct tcp_conn *c = conn_of(st, s);
	int v;
	if (!c)
		return -ENOMEM;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_RCVBUF:
		case SO_SNDBUF:
			/* The application chose this buffer: no autotuning of it.
			 * Sizes take effect for rings not yet allocated. A connection
			 * that has its rings grows them to a larger size (its data
			 * kept, the window opened at once), within the memory
			 * budget's pressure mark (else -ENOBUFS); it never shrinks. */
			if (name == SO_RCVBUF)
				c->rcvbuf_locked = 1;
			else
				c->sndbuf_locked = 1;
			if (!c->sndq.buf || !c->rcvq.buf) {
				if (!c->sndq.buf && !c->rcvq.buf) {
					c->rcvbuf = s->rcvbuf;
					c->sndbuf = s->sndbuf;
				}
				return 0;
			}
			{
				uint32_t r = name == SO_RCVBUF ? US_MAX(s->rcvbuf, c->rcvq.cap) : c->rcvq.cap;
				uint32_t w = name == SO_SNDBUF ? US_MAX(s->sndbuf, c->sndq.cap) : c->sndq.cap;
				int rc = tcp_conn_grow_buffers(st, c, r, w);
				c->rcvbuf = s->rcvbuf = c->rcvq.cap;
				c->sndbuf = s->sndbuf = c->sndq.cap;
				if (rc < 0)
					return rc;
				if (name == SO_RCVBUF)
					maybe_window_update(st, c);
			}
			return 0;
		case SO_KEEPALIVE:
			if (sockopt_get_int(val, len, &v) < 0)
				return -EINVAL;
			c->keepalive = v != 0;
			c->probes = 0;
			tcp_arm_keepalive(st, c);
			return 0;
		case SO_LINGER: {
			struct linger lg;
			if (!val || len < (socklen_t)sizeof(lg))
				return -EINVAL;
			memcpy(&lg, val, sizeof(lg));
			c->linger_on = lg.l_onoff != 0;
			c->linger_sec = lg.l_linger;
			return 0;
		}
		default:
			return tcp_notify_setsockopt(st, c, name, val, len);
		}
	}
	if (level == IPPROTO_IP && name == IP_TOS) {
		c->tos = s->tos & (uint8_t)~0x3;   /* (set by the socket layer) ECN bits are TCP's, as Linux */
		return 0;
	}
	if (level == IPPROTO_IP && name == IP_MTU_DISCOVER) {
		c->pmtu_dont = s->pmtudisc == IP_PMTUDISC_DONT;
		return 0;
	}
	if (level == IPPROTO_IPV6 && name == IPV6_UNICAST_HOPS) {
		c->hops6 = s->hops6;   /* (checked and set by the socket layer) */
		c->hops6_set = s->hops6_set;
		return 0;
	}
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT;
	if (name == TCP_FASTOPEN_KEY) {
		/* 16 bytes (or 32: a backup key too, not used here). */
		if (!val || (len != TCP_FO_KEY_LEN && len != 2 * TCP_FO_KEY_LEN))
			return -EINVAL;
		memcpy(c->fo_key, val, TCP_FO_KEY_LEN);
		c->fo_key_set = 1;
		return 0;
	}
	if (name == TCP_CONGESTION) {
		if (!val || !len)
			return -EINVAL;
		char n[16] = {0};
		memcpy(n, val, US_MIN((size_t)len, sizeof(n) - 1));
		const struct tcp_cc_ops *cc = tcp_cc_find(n);
		if (!cc)
			return -ENOENT;
		c->cc = cc;
		c->cc->init(c);
		return 0;
	}
	if (sockopt_get_int(val, len, &v) < 0)
		return -EINVAL;
	switch (name) {
	case US_TCP_DEFER_HANDSHAKE:
		c->defer_syn = v != 0;
		return 0;
	case US_TCP_WRITE_PENDING:
		c->write_pending = v != 0;
		return 0;
	case US_TCP_RECV_INPLACE:
		c->zc_on = v != 0;
		return 0;
	case TCP_NODELAY:
		c->nodelay = v != 0;
		if (c->nodelay) {
			/* Linux: setting it pushes what waits, corked or not, once. */
			c->push_once = 1;
			tcp_output(st, c);
			c->push_once = 0;
		}
		return 0;
	case TCP_CORK:
		/* Linux's TCP_CORK: only full segments go out while set (a
		 * partial one after the persist timeout, 200 ms or the RTO);
		 * clearing it sends what waits. */
		c->cork = v != 0;
		if (!c->cork) {
			c->push_once = 1;
			tcp_output(st, c);
			c->push_once = 0;
		}
		return 0;
	case TCP_MAXSEG:
		if (v < TCP_MSS_MIN || v > 65495)
			return -EINVAL;
		c->user_mss = (uint16_t)v;
		if (c->state >= US_TCP_ESTABLISHED)
			tcp_update_mss(st, c);
		return 0;
	case TCP_KEEPIDLE:
		if (v < 1 || v > 32767)
			return -EINVAL;
		c->keepidle = (uint32_t)v;
		tcp_arm_keepalive(st, c);
		return 0;
	case TCP_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		c->keepintvl = (uint32_t)v;
		return 0;
	case TCP_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		c->keepcnt = (uint32_t)v;
		return 0;
	case TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		c->user_timeout_ms = (uint32_t)v;
		return 0;
	case TCP_NOTSENT_LOWAT:
		c->notsent_lowat = (uint32_t)v;
		sock_wakeup(st, s);   /* writable may have changed */
		return 0;
	case TCP_INQ:
		/* Linux's: recvmsg() reports what is left to read (the socket
		 * layer or a wrapper builds the control message from TCP_INFO). */
		if (v < 0 || v > 1)
			return -EINVAL;
		c->inq = (uint8_t)v;
		return 0;
	case TCP_SYNCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		c->syn_retries = (uint8_t)v;
		return 0;
	case TCP_FASTOPEN:
		/* A listener's Fast Open queue (RFC 7413 5.1: bounded). */
		if (v < 0 || (c->state != US_TCP_CLOSED && c->state != US_TCP_LISTEN))
			return -EINVAL;
		c->fo_qlen = v;
		return 0;
	case TCP_FASTOPEN_CONNECT:
		if (v < 0 || v > 1)
			return -EINVAL;
		if (st->cfg.tcp_fastopen <= 0 || !(st->cfg.tcp_fastopen & TCP_FO_CLIENT))
			return -EOPNOTSUPP;
		if (c->state != US_TCP_CLOSED)
			return -EINVAL;
		c->fo_connect = (uint8_t)v;
		return 0;
	case TCP_FASTOPEN_NO_COOKIE:
		if (v < 0 || v > 1)
			return -EINVAL;
		c->fo_no_cookie = (uint8_t)v;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static void fill_info(const struct us_stack *st, const struct tcp_conn *c, struct us_tcp_info *i)
{
	memset(i, 0, sizeof(*i));
	i->state = (uint8_t)c->state;
	i->ca_state = c->ca_state;
	i->snd_wscale = c->snd_wscale;
	i->rcv_wscale = c->rcv_wscale;
	i->sack_ok = c->sack_ok;
	i->ts_ok = c->ts_ok;
	i->syn_data = c->syn_data_acked;
	i->rto_us = (uint32_t)(c->rto / 1000);
	i->srtt_us = (uint32_t)(c->srtt / 1000);
	i->rttvar_us = (uint32_t)(c->rttvar / 1000);
	i->snd_mss = c->mss;
	i->rcv_mss = c->adv_mss;
	i->cwnd = c->cwnd;
	i->ssthresh = c->ssthresh;
	i->bytes_in_flight = c->state >= US_TCP_ESTABLISHED ? c->snd_nxt - c->snd_una : 0;
	i->snd_wnd = c->snd_wnd;
	i->rcv_wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	i->retransmits = c->retransmits;
	i->total_retrans = c->total_retrans;
	i->bytes_acked = c->bytes_acked;
	i->bytes_received = c->bytes_received;
	i->segs_in = c->segs_in;
	i->segs_out = c->segs_out;
	i->unacked = c->state >= US_TCP_ESTABLISHED ? c->snd_max - c->snd_una : 0;
	i->sacked = c->sacked_bytes;
	i->delivered = c->delivered;
	i->last_data_recv_ms = c->lrcvtime && st->now > c->lrcvtime ? (uint32_t)((st->now - c->lrcvtime) / NS_PER_MS) : 0;
	i->rcv_queued = tcp_rcv_queued(c);
	i->snd_queued = c->sndq.len;
	i->lport = c->lport;
	i->rport = c->rport;
	i->family = (uint8_t)addr_family(&c->raddr);
	memcpy(i->laddr6, c->laddr.b, 16);
	memcpy(i->raddr6, c->raddr.b, 16);
	i->laddr = addr_is_v4(&c->laddr) ? addr_v4(&c->laddr) : 0;
	i->raddr = addr_is_v4(&c->raddr) ? addr_v4(&c->raddr) : 0;
	snprintf(i->cc, sizeof(i->cc), "%s", c->cc ? c->cc->name : "");
}

int tcp_getsockopt(struct us_stack *st, struct us_sock *s, int level, int name, void *val, socklen_t *len)
{
	struct tcp_conn *c = conn_of(st, s);
	if (!c)
		return -ENOMEM;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_KEEPALIVE:
			return sockopt_put_int(val, len, c->keepalive);
		case SO_LINGER: {
			struct linger lg = {c->linger_on, c->linger_sec};
			if (!val || !len || *len < (socklen_t)sizeof(lg))
				return -EINVAL;
			memcpy(val, &lg, sizeof(lg));
			*len = sizeof(lg);
			return 0;
		}
		case SO_ZEROCOPY:
			return sockopt_put_int(val, len, s->zerocopy);
		case SO_TIMESTAMPING:
			return sockopt_put_int(val, len, (int)s->tsflags);
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_NODELAY:
		return sockopt_put_int(val, len, c->nodelay);
	case US_TCP_RECV_INPLACE:
		return sockopt_put_int(val, len, c->zc_on);
	case TCP_CORK:
		return sockopt_put_int(val, len, c->cork);
	case TCP_MAXSEG:
		return sockopt_put_int(val, len, c->mss ? c->mss : (c->user_mss ? c->user_mss : TCP_DEFAULT_MSS));
	case TCP_KEEPIDLE:
		return sockopt_put_int(val, len, (int)c->keepidle);
	case TCP_KEEPINTVL:
		return sockopt_put_int(val, len, (int)c->keepintvl);
	case TCP_KEEPCNT:
		return sockopt_put_int(val, len, (int)c->keepcnt);
	case TCP_USER_TIMEOUT:
		return sockopt_put_int(val, len, (int)c->user_timeout_ms);
	case TCP_SYNCNT:
		return sockopt_put_int(val, len, c->syn_retries ? c->syn_retries : (int)st->cfg.tcp_syn_retries);
	case TCP_INQ:
		return sockopt_put_int(val, len, c->inq);
	case TCP_NOTSENT_LOWAT:
		return sockopt_put_int(val, len, (int)c->notsent_lowat);
	case TCP_FASTOPEN:
		return sockopt_put_int(val, len, c->fo_qlen);
	case TCP_FASTOPEN_CONNECT:
		return sockopt_put_int(val, len, c->fo_connect);
	case TCP_FASTOPEN_NO_COOKIE:
		return sockopt_put_int(val, len, c->fo_no_cookie);
	case TCP_INFO: {
		struct us_tcp_info info;
		if (!val || !len || *len < (socklen_t)sizeof(info))
			return -EINVAL;
		fill_info(st, c, &info);
		memcpy(val, &info, sizeof(info));
		*len = sizeof(info);
		return 0;
	}
	case TCP_CONGESTION: {
		if (!val || !len || !*len)
			return -EINVAL;
		size_t n = US_MIN((size_t)*len, strlen(c->cc->name) + 1);
		memcpy(val, c->cc->name, n);
		*len = (socklen_t)n;
		return 0;
	}
	default:
		return -ENOPROTOOPT;
	}
}

void us_tcp_foreach(struct us_stack *st, us_tcp_visit_fn fn, void *arg)
{
	struct us_tcp_info info;
	struct tcp_conn *head;
	for (uint32_t b = 0; (head = tcp_iter_listeners(st, &b)); b++)
		for (struct tcp_conn *c = head; c; c = c->hnext) {
			fill_info(st, c, &info);
			fn(&info, arg);
		}
	for (uint32_t b = 0; (head = tcp_iter_hash(st, &b)); b++)
		for (struct tcp_conn *c = head; c; c = c->hnext) {
			fill_info(st, c, &info);
			fn(&info, arg);
		}
}

/* ---- the socket calls, as api/socket.c reaches them ---- */

static ssize_t tcp_send_op(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, int flags,
			   const struct us_addr *to, uint16_t port)
{
	(void)to;   /* a connected stream: the address is ignored, as on Linux */
	(void)port;
	return tcp_send(st, s, buf, len, flags);
}

static ssize_t tcp_recv_op(struct us_stack *st, struct us_sock *s, void *buf, size_t len, int flags,
			   struct us_addr *from, uint16_t *fport, struct us_addr *to, uint16_t *tport)
{
	ssize_t n = tcp_recv(st, s, buf, len, flags);
	*from = s->raddr;
	*fport = s->rport;
	*to = s->laddr;
	*tport = s->lport;
	return n;
}

static int tcp_connect_op(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port)
{
	return addr ? tcp_connect(st, s, addr, port) : -EAFNOSUPPORT;   /* AF_UNSPEC on a stream */
}

static void tcp_set_transparent(struct us_stack *st, struct us_sock *s, int on)
{
	struct tcp_conn *c = conn_of(st, s);
	if (c)
		c->transparent = (uint8_t)(on != 0);
}

const struct sock_ops tcp_sock_ops = {
	.type = SOCK_STREAM,
	.bind = tcp_bind,
	.connect = tcp_connect_op,
	.listen = tcp_listen,
	.accept = tcp_accept,
	.accept_finish = tcp_accept_finish,
	.send = tcp_send_op,
	.recv = tcp_recv_op,
	.shutdown = tcp_shutdown,
	.close = tcp_close,
	.poll = tcp_poll,
	.set_transparent = tcp_set_transparent,
	.setsockopt = tcp_setsockopt,
	.getsockopt = tcp_getsockopt,
};
