/* TCP connection table and lifecycle: 4-tuple hash, listeners, ephemeral
 * ports (RFC 6056 algorithm 3), ISNs (RFC 6528), SYN cookies (RFC 4987),
 * limits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "transport/tcp.h"

#define TCP_HASH 4096
#define LISTEN_HASH 256
#define EPHEMERAL_LO 32768u
#define EPHEMERAL_HI 60999u
#define COOKIE_PERIOD_NS (64ull * 1000000000ull)
#define TCP_MEM_MIN_BUF 4096u   /* smallest ring a connection gets under memory pressure */

struct tcp_table {
	struct tcp_conn *hash[TCP_HASH];
	uint64_t busy[TCP_HASH / 64];   /* bucket i non-empty: bit i (walks skip the rest) */
	struct tcp_conn *listeners[LISTEN_HASH];
	uint64_t lbusy[LISTEN_HASH / 64];
	uint32_t n_conns, n_tw, n_synq;
	uint32_t next_ephemeral;      /* counter hashed with the key: port starts, ISN jitter */
	uint64_t ca_window;             /* challenge ACK accounting, per second */
	uint32_t ca_count, ca_limit;
	struct tcp_conn *out_head;      /* connections with output due this pass */
	uint64_t mem;                   /* bytes of connection buffers allocated */
	uint32_t n_deferred;            /* children whose SYN waits for the app */
	struct tcp_fo_entry fo_cache[TCP_FO_CACHE_MAX];   /* Fast Open cookies per server */
	uint64_t fo_clock;              /* its LRU clock */
	uint8_t fo_key[TCP_FO_KEY_LEN]; /* random cookie key (when none is configured) */
	struct pkt *rx_pkt;             /* the segment being processed (tcp_rx_pkt_slot) */
	struct tcp_conn *last;          /* the last connection tcp_lookup found (in the hash) */
};

struct pkt **tcp_rx_pkt_slot(struct us_stack *st) { return &st->tcp->rx_pkt; }

struct tcp_fo_entry *tcp_fo_cache(struct us_stack *st) { return st->tcp->fo_cache; }
uint64_t *tcp_fo_cache_clock(struct us_stack *st) { return &st->tcp->fo_clock; }
const uint8_t *tcp_fo_key(const struct us_stack *st)
{
	return st->cfg.tcp_fastopen_key_set ? st->cfg.tcp_fastopen_key : st->tcp->fo_key;
}

static const uint16_t cookie_mss[8] = {216, 536, 1024, 1220, 1360, 1440, 1460, 8940};

int tcp_available(void) { return 1; }

int tcp_init(struct us_stack *st)
{
	st->tcp = calloc(1, sizeof(*st->tcp));
	if (!st->tcp)
		return -ENOMEM;
	st->tcp->next_ephemeral = us_rand_u32(&st->rand);
	/* From the stack's secret key, drawing nothing from the generator. */
	for (int i = 0; i < TCP_FO_KEY_LEN; i++)
		st->tcp->fo_key[i] = (uint8_t)us_hash_words(st->rand.key, 0x7f0, (uint32_t)i, 0, 0);
	return 0;
}

static uint32_t hash4(const struct us_stack *st, const struct us_addr *la, uint16_t lp, const struct us_addr *ra,
		      uint16_t rp)
{
	return (uint32_t)(addr_hash(st->rand.key, la, ra, ((uint32_t)lp << 16) | rp, 0x7c9) % TCP_HASH);
}

uint32_t tcp_n_conns(const struct us_stack *st) { return st->tcp->n_conns; }
uint32_t tcp_n_timewait(const struct us_stack *st) { return st->tcp->n_tw; }
void tcp_count_tw(struct us_stack *st, int delta) { st->tcp->n_tw = (uint32_t)((int)st->tcp->n_tw + delta); }
uint32_t tcp_ms(const struct us_stack *st) { return (uint32_t)(st->now / NS_PER_MS); }

struct tcp_conn *tcp_conn_new(struct us_stack *st)
{
	if (st->tcp->n_conns >= st->cfg.tcp_max_conns) {
		STAT_INC(st, tcpext, TCPConnLimit);
		return NULL;
	}
	struct tcp_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	st->tcp->n_conns++;
	c->cc = tcp_cc_default(st);
	c->hystart = st->cfg.tcp_hystart >= 0;
	c->rto = (uint64_t)st->cfg.tcp_init_rto_ms * NS_PER_MS;
	c->sndbuf = st->cfg.tcp_wmem;
	c->rcvbuf = st->cfg.tcp_rmem;
	c->keepidle = 7200;
	c->keepintvl = 75;
	c->keepcnt = 9;
	c->ssthresh = UINT32_MAX;
	asm_init(&c->ooo);
	tcp_timers_init(c);
	return c;
}

int tcp_conn_buffers(struct us_stack *st, struct tcp_conn *c)
{
	if (c->sndq.buf)
		return 0;
	/* The stack-wide budget (mem_max), less an eighth kept for packet
	 * buffers (rings alone must never starve input). Up to half of it,
	 * connections get the buffers they ask for; above that (pressure)
	 * their buffers, and so the windows they advertise, shrink in
	 * proportion to what is left, down to TCP_MEM_MIN_BUF each, so many
	 * more connections still fit; when even that does not fit they are
	 * refused: never grow past the budget. */
	uint64_t need = (uint64_t)c->sndbuf + c->rcvbuf;
	uint64_t used = stack_mem_used(st), max = stack_mem_max(st);
	max -= max / 8;
	uint64_t left = used < max ? max - used : 0, half = max / 2 ? max / 2 : 1;
	if (used + need > half) {
		STAT_INC(st, tcpext, TCPMemoryPressures);
		if (left < half) {
			c->sndbuf = (uint32_t)US_MAX((uint64_t)TCP_MEM_MIN_BUF, c->sndbuf * left / half);
			c->rcvbuf = (uint32_t)US_MAX((uint64_t)TCP_MEM_MIN_BUF, c->rcvbuf * left / half);
			if (c->sock) {
				c->sock->sndbuf = c->sndbuf;
				c->sock->rcvbuf = c->rcvbuf;
			}
			need = (uint64_t)c->sndbuf + c->rcvbuf;
		}
		if (need > left)
			return -ENOBUFS;
	}
	if (ring_init(&c->sndq, c->sndbuf) < 0 || ring_init(&c->rcvq, c->rcvbuf) < 0 || tcp_board_init(st, c) < 0) {
		ring_free(&c->sndq);
		ring_free(&c->rcvq);
		tcp_board_free(st, c);
		return -ENOMEM;
	}
	st->tcp->mem += need;
	stack_mem_changed(st);
	return 0;
}

int tcp_conn_grow_buffers(struct us_stack *st, struct tcp_conn *c, uint32_t rcvbuf, uint32_t sndbuf)
{
	/* Growth is taken only below the pressure mark (half the rings'
	 * budget, as in tcp_conn_buffers), so it never crowds out new
	 * connections. */
	uint64_t delta = (rcvbuf > c->rcvq.cap ? rcvbuf - c->rcvq.cap : 0) + (sndbuf > c->sndq.cap ? sndbuf - c->sndq.cap : 0);
	if (!delta)
		return 0;
	uint64_t max = stack_mem_max(st);
	max -= max / 8;
	if (stack_mem_used(st) + delta > max / 2)
		return -ENOBUFS;
	uint32_t old_r = c->rcvq.cap, old_s = c->sndq.cap;
	if (ring_grow(&c->rcvq, rcvbuf) < 0 || ring_grow(&c->sndq, sndbuf) < 0) {
		st->tcp->mem += (uint64_t)(c->rcvq.cap - old_r) + (c->sndq.cap - old_s);
		stack_mem_changed(st);
		return -ENOMEM;
	}
	st->tcp->mem += delta;
	stack_mem_changed(st);
	return 0;
}

uint64_t tcp_mem_in_use(const struct us_stack *st) { return st->tcp->mem; }

void tcp_mem_charge(struct us_stack *st, uint64_t bytes)
{
	st->tcp->mem += bytes;
	stack_mem_changed(st);
}

void tcp_mem_uncharge(struct us_stack *st, uint64_t bytes)
{
	st->tcp->mem -= US_MIN(bytes, st->tcp->mem);
	stack_mem_changed(st);
}

void tcp_release_buffers(struct us_stack *st, struct tcp_conn *c)
{
	/* TIME_WAIT sends nothing more and receives no data: only sequence
	 * numbers matter for its 2*MSL, not the rings (unread data stays). */
	if (c->sndq.buf && !c->sndq.len) {
		st->tcp->mem -= c->sndq.cap;
		ring_free(&c->sndq);
		tcp_board_free(st, c);   /* nothing in flight */
	}
	if (c->rcvq.buf && !tcp_rcv_queued(c)) {
		st->tcp->mem -= c->rcvq.cap;
		ring_free(&c->rcvq);
	}
	if (!c->ooo.n && c->ooo.heap)
		tcp_ooo_free(st, c);
	stack_mem_changed(st);
}

void tcp_schedule_output(struct us_stack *st, struct tcp_conn *c)
{
	if (c->out_pending)
		return;
	c->out_pending = 1;
	c->out_next = st->tcp->out_head;
	st->tcp->out_head = c;
}

void tcp_unschedule(struct us_stack *st, struct tcp_conn *c)
{
	if (!c->out_pending)
		return;
	for (struct tcp_conn **pp = &st->tcp->out_head; *pp; pp = &(*pp)->out_next)
		if (*pp == c) {
			*pp = c->out_next;
			break;
		}
	c->out_pending = 0;
	c->out_next = NULL;
}

void tcp_flush_output(struct us_stack *st)
{
	/* Output may schedule nothing new (it only sends), so one sweep. */
	while (st->tcp && st->tcp->out_head) {
		struct tcp_conn *c = st->tcp->out_head;
		st->tcp->out_head = c->out_next;
		c->out_pending = 0;
		c->out_next = NULL;
		tcp_output(st, c);
	}
}

void tcp_conn_free(struct us_stack *st, struct tcp_conn *c)
{
	tcp_unschedule(st, c);
	tcp_timers_cancel(st, c);
	if (c->in_hash)
		tcp_hash_remove(st, c);
	if (c->state == US_TCP_TIME_WAIT)
		tcp_count_tw(st, -1);
	tcp_defer_done(st, c);
	if (c->sndq.buf || c->rcvq.buf) {
		st->tcp->mem -= (uint64_t)c->sndq.cap + c->rcvq.cap;
		stack_mem_changed(st);
	}
	ring_free(&c->sndq);
	ring_free(&c->rcvq);
	pktq_purge(&st->pool, &c->zcq);
	free(c->notify);
	tcp_board_free(st, c);
	tcp_ooo_free(st, c);
	st->tcp->n_conns--;
	free(c);
}

void tcp_destroy(struct us_stack *st)
{
	struct tcp_table *t = st->tcp;
	if (!t)
		return;
	/* Sockets first: their connections and listeners go with them. */
	for (uint32_t i = 0; i < st->max_socks; i++) {
		struct us_sock *s = st->socks ? st->socks[i] : NULL;
		if (s && s->kind == SK_TCP) {
			struct tcp_conn *c = s->tcp;
			if (c) {
				c->sock = NULL;
				s->tcp = NULL;
				if (c->state == US_TCP_LISTEN) {
					tcp_listener_remove(st, c);
					while (c->qnext) {
						struct tcp_conn *ch = c->qnext;
						c->qnext = ch->qnext;
						tcp_conn_free(st, ch);
					}
				}
				tcp_conn_free(st, c);
			}
			sock_release(st, s);
		}
	}
	/* Each chain unlinked here, not by tcp_conn_free: the loop ends
	 * whatever a connection's in_hash says. */
	for (uint32_t i = 0; tcp_iter_hash(st, &i); i++)
		while (t->hash[i]) {
			struct tcp_conn *c = t->hash[i];
			t->hash[i] = c->hnext;
			c->in_hash = 0;
			tcp_conn_free(st, c);
		}
	free(t);
	st->tcp = NULL;
}

void tcp_hash_insert(struct us_stack *st, struct tcp_conn *c)
{
	uint32_t h = hash4(st, &c->laddr, c->lport, &c->raddr, c->rport);
	c->hnext = st->tcp->hash[h];
	st->tcp->hash[h] = c;
	st->tcp->busy[h / 64] |= 1ull << (h % 64);
	c->in_hash = 1;
}

void tcp_hash_remove(struct us_stack *st, struct tcp_conn *c)
{
	uint32_t h = hash4(st, &c->laddr, c->lport, &c->raddr, c->rport);
	for (struct tcp_conn **pp = &st->tcp->hash[h]; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	if (!st->tcp->hash[h])
		st->tcp->busy[h / 64] &= ~(1ull << (h % 64));
	c->hnext = NULL;
	c->in_hash = 0;
	if (st->tcp->last == c)
		st->tcp->last = NULL;
}

struct tcp_conn *tcp_lookup(struct us_stack *st, const struct us_addr *la, uint16_t lp, const struct us_addr *ra,
			    uint16_t rp)
{
	/* A bulk flow's segments come in runs: the last hit first, before
	 * hashing (the keyed hash costs more than the rest of the lookup). */
	struct tcp_conn *c = st->tcp->last;
	if (c && c->lport == lp && c->rport == rp && addr_eq(&c->laddr, la) && addr_eq(&c->raddr, ra))
		return c;
	for (c = st->tcp->hash[hash4(st, la, lp, ra, rp)]; c; c = c->hnext)
		if (c->lport == lp && c->rport == rp && addr_eq(&c->laddr, la) && addr_eq(&c->raddr, ra)) {
			st->tcp->last = c;
			return c;
		}
	return NULL;
}

void tcp_listener_insert(struct us_stack *st, struct tcp_conn *c)
{
	uint32_t h = c->lport % LISTEN_HASH;
	struct tcp_conn **b = &st->tcp->listeners[h];
	c->hnext = *b;
	*b = c;
	st->tcp->lbusy[h / 64] |= 1ull << (h % 64);
}

void tcp_listener_remove(struct us_stack *st, struct tcp_conn *c)
{
	uint32_t h = c->lport % LISTEN_HASH;
	for (struct tcp_conn **pp = &st->tcp->listeners[h]; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	if (!st->tcp->listeners[h])
		st->tcp->lbusy[h / 64] &= ~(1ull << (h % 64));
	c->hnext = NULL;
}

struct tcp_conn *tcp_lookup_transparent(struct us_stack *st, const struct us_addr *dst)
{
	/* Rare (one or two per relay), so a scan of the listener table is
	 * fine. A listener takes its own family (an IPv4 address or an IPv6
	 * one); one on :: without IPV6_V6ONLY takes IPv4 too. */
	struct tcp_conn *head;
	for (uint32_t i = 0; (head = tcp_iter_listeners(st, &i)); i++)
		for (struct tcp_conn *c = head; c; c = c->hnext)
			if (c->transparent && addr_family_carries(addr_family(&c->laddr),
								   c->v6only || !addr_is_any6(&c->laddr), dst))
				return c;
	return NULL;
}

/* The listener for a segment to la:lp: one bound to la itself, else a
 * wildcard that takes la (addr_wild_takes: 0.0.0.0 before a dual-stack ::). */
struct tcp_conn *tcp_lookup_listener(struct us_stack *st, const struct us_addr *la, uint16_t lp)
{
	struct tcp_conn *wild = NULL;
	for (struct tcp_conn *c = st->tcp->listeners[lp % LISTEN_HASH]; c; c = c->hnext) {
		if (c->lport != lp)
			continue;
		if (addr_eq(&c->laddr, la))
			return c;
		if (addr_wild_takes(&c->laddr, c->v6only, la) && (!wild || addr_is_any6(&wild->laddr)))
			wild = c;
	}
	return wild;
}

/* Is (laddr, lport) taken? With reuse (SO_REUSEADDR), only a listener or a
 * bound, not yet connected socket on it conflicts (Linux's rule). */
int tcp_port_in_use(struct us_stack *st, const struct us_addr *la, int v6only, uint16_t lp, int reuse)
{
	for (struct tcp_conn *c = st->tcp->listeners[lp % LISTEN_HASH]; c; c = c->hnext)
		if (c->lport == lp && addr_conflict(&c->laddr, c->v6only, la, v6only))
			return 1;
	for (uint32_t i = 0; i < st->max_socks; i++) {
		struct us_sock *s = st->socks[i];
		if (s && s->kind == SK_TCP && s->bound && s->lport == lp && addr_conflict(&s->laddr, s->v6only, la, v6only) &&
		    (!s->tcp || s->tcp->state == US_TCP_CLOSED) && !reuse)
			return 1;
	}
	if (reuse)
		return 0;
	struct tcp_conn *head;
	for (uint32_t i = 0; (head = tcp_iter_hash(st, &i)); i++)
		for (struct tcp_conn *c = head; c; c = c->hnext)
			if (c->lport == lp && addr_conflict(&c->laddr, 0, la, v6only))
				return 1;
	return 0;
}

int tcp_pick_port(struct us_stack *st, const struct us_addr *la, const struct us_addr *ra, uint16_t rp, uint16_t *out)
{
	/* RFC 6056 3.3.1 (algorithm 1): a random start, then the first free
	 * port from there. A hashed offset plus a counter (algorithm 3) is
	 * sequential toward one destination: whoever saw one port of ours
	 * could guess the next. */
	uint32_t num = EPHEMERAL_HI - EPHEMERAL_LO + 1;
	uint32_t offset = (uint32_t)(addr_hash(st->rand.key, la, ra, ++st->tcp->next_ephemeral, rp) % num);
	for (uint32_t i = 0; i < num; i++) {
		uint16_t port = (uint16_t)(EPHEMERAL_LO + (offset + i) % num);
		if (tcp_lookup_listener(st, la, port))
			continue;
		if (tcp_lookup(st, la, port, ra, rp))
			continue;
		*out = port;
		return 0;
	}
	return -EADDRNOTAVAIL;
}

uint32_t tcp_isn(struct us_stack *st, const struct us_addr *la, uint16_t lp, const struct us_addr *ra, uint16_t rp)
{
	/* RFC 6528: ISN = M + F(4-tuple, secret), M a 4 microsecond clock,
	 * plus a random term below 1 ms of that clock, so that even one who
	 * learned an earlier ISN of the same 4-tuple cannot name the next one
	 * exactly (the ISN still grows with time for reuses 1 ms apart). */
	uint32_t m = (uint32_t)(st->now / 4000) +
		     (uint32_t)(addr_hash(st->rand.key, la, ra, ++st->tcp->next_ephemeral, 0x6529) % 250);
	return m + (uint32_t)addr_hash(st->rand.key, la, ra, ((uint32_t)lp << 16) | rp, 0x6528);
}

static uint32_t cookie_hash(struct us_stack *st, const struct us_addr *la, uint16_t lp, const struct us_addr *ra,
			    uint16_t rp, uint32_t pisn, uint32_t t)
{
	uint8_t b[44];
	memcpy(b, la->b, 16);
	memcpy(b + 16, ra->b, 16);
	wr_be16(b + 32, lp);
	wr_be16(b + 34, rp);
	wr_be32(b + 36, pisn);
	wr_be32(b + 40, t);
	uint64_t k[2] = {st->rand.key[0] ^ 0x5c5c5c5c5c5c5c5cull, st->rand.key[1]};
	return (uint32_t)us_siphash(k, b, sizeof(b));
}

uint32_t tcp_cookie_make(struct us_stack *st, const struct us_addr *la, uint16_t lp, const struct us_addr *ra,
			 uint16_t rp, uint32_t pisn, uint16_t mss)
{
	/* 5 bits of time (64 s units), 3 bits of MSS index, 24 bits of MAC. */
	uint32_t t = (uint32_t)(st->now / COOKIE_PERIOD_NS);
	uint32_t idx = 0;
	for (uint32_t i = 0; i < 8; i++)
		if (cookie_mss[i] <= mss)
			idx = i;
	return ((t & 31) << 27) | (idx << 24) | (cookie_hash(st, la, lp, ra, rp, pisn, t) & 0xFFFFFF);
}

uint16_t tcp_cookie_check(struct us_stack *st, const struct us_addr *la, uint16_t lp, const struct us_addr *ra,
			  uint16_t rp, uint32_t pisn, uint32_t cookie)
{
	uint32_t now_t = (uint32_t)(st->now / COOKIE_PERIOD_NS);
	/* Valid for the current and the previous period. */
	for (uint32_t age = 0; age < 2; age++) {
		uint32_t t = now_t - age;
		if (((cookie >> 27) & 31) != (t & 31))
			continue;
		if ((cookie & 0xFFFFFF) == (cookie_hash(st, la, lp, ra, rp, pisn, t) & 0xFFFFFF))
			return cookie_mss[(cookie >> 24) & 7];
	}
	return 0;
}

int tcp_oow_ack_ok(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t)
{
	/* Segments with data or a FIN are not part of an ACK loop. */
	if ((t->payload_len || (t->flags & TCP_FIN)) && !(t->flags & TCP_SYN))
		return 1;
	if (c->last_oow_ack && st->now - c->last_oow_ack < TCP_OOW_ACK_NS) {
		STAT_INC(st, tcpext, TCPACKSkippedSeq);
		return 0;
	}
	c->last_oow_ack = st->now ? st->now : 1;
	return 1;
}

int tcp_challenge_ack_ok(struct us_stack *st)
{
	/* RFC 5961 7: a limit on challenge ACKs, with a per-second budget that
	 * is randomised (the CVE-2016-5696 lesson: a fixed global count leaks). */
	struct tcp_table *t = st->tcp;
	uint64_t sec = st->now / 1000000000ull;
	if (sec != t->ca_window) {
		t->ca_window = sec;
		t->ca_count = 0;
		uint32_t lim = st->cfg.tcp_challenge_ack_limit;
		t->ca_limit = lim / 2 + us_rand_below(&st->rand, lim + 1);
	}
	if (t->ca_count >= t->ca_limit) {
		STAT_INC(st, tcpext, TCPChallengeACKLimited);
		return 0;
	}
	t->ca_count++;
	STAT_INC(st, tcpext, TCPChallengeACK);
	return 1;
}

void tcp_set_state(struct us_stack *st, struct tcp_conn *c, int state)
{
	int old = c->state;
	if (old == state)
		return;
	if (state == US_TCP_ESTABLISHED)
		STAT_INC(st, tcp, CurrEstab);
	if ((old == US_TCP_ESTABLISHED || old == US_TCP_CLOSE_WAIT) &&
	    !(state == US_TCP_ESTABLISHED || state == US_TCP_CLOSE_WAIT))
		st->stats.tcp.CurrEstab--;
	if (state == US_TCP_TIME_WAIT)
		tcp_count_tw(st, 1);
	if (old == US_TCP_TIME_WAIT)
		tcp_count_tw(st, -1);
	c->state = state;
}

static void unlink_from_listener(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_conn *l = c->listener;
	(void)st;
	if (!l)
		return;
	/* Either in the listener's half-open list or in its accept queue. */
	for (struct tcp_conn **pp = &l->qnext; *pp; pp = &(*pp)->qnext)
		if (*pp == c) {
			*pp = c->qnext;
			l->n_synq--;
			st->tcp->n_synq--;
			c->listener = NULL;
			return;
		}
	struct tcp_conn *prev = NULL;
	for (struct tcp_conn *q = l->acceptq_head; q; prev = q, q = q->qnext)
		if (q == c) {
			if (prev)
				prev->qnext = q->qnext;
			else
				l->acceptq_head = q->qnext;
			if (l->acceptq_tail == q)
				l->acceptq_tail = prev;
			l->n_acceptq--;
			c->listener = NULL;
			return;
		}
	c->listener = NULL;
}

void tcp_done(struct us_stack *st, struct tcp_conn *c, int err)
{
	tcp_defer_done(st, c);
	tcp_set_state(st, c, US_TCP_CLOSED);
	tcp_timers_cancel(st, c);
	if (c->in_hash)
		tcp_hash_remove(st, c);
	if (c->listener) {
		unlink_from_listener(st, c);
		tcp_conn_free(st, c);
		return;
	}
	if (!c->sock) {
		tcp_conn_free(st, c);   /* orphan: nobody will close it */
		return;
	}
	tcp_notify_flush(st, c);   /* the data is gone: zerocopy ids are done (Linux frees the skbs) */
	c->err = err;
	if (err)
		c->sock->so_error = err;
	sock_wakeup(st, c->sock);
}

/* Called by the listener side when a half-open child becomes established. */
void tcp_child_established(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_conn *l = c->listener;
	if (!l)
		return;
	int found = 0;
	for (struct tcp_conn **pp = &l->qnext; *pp; pp = &(*pp)->qnext)
		if (*pp == c) {
			*pp = c->qnext;
			l->n_synq--;
			st->tcp->n_synq--;
			found = 1;
			break;
		}
	if (!found)
		return;   /* already in the accept queue (a deferred child) */
	c->qnext = NULL;
	if (l->acceptq_tail)
		l->acceptq_tail->qnext = c;
	else
		l->acceptq_head = c;
	l->acceptq_tail = c;
	l->n_acceptq++;
	if (l->sock)
		sock_wakeup(st, l->sock);
}

void tcp_child_add(struct us_stack *st, struct tcp_conn *l, struct tcp_conn *c)
{
	c->listener = l;
	c->qnext = l->qnext;
	l->qnext = c;
	l->n_synq++;
	st->tcp->n_synq++;
}

uint32_t tcp_synq_total(const struct us_stack *st) { return st->tcp->n_synq + st->tcp->n_deferred; }

/* A deferred child goes to the accept queue at once (the app answers its
 * SYN) but still counts as half-open until its handshake completes (or it
 * dies): a flood of SYNs the app answers quickly still holds at most
 * tcp_max_syn_backlog of them; past that, SYN cookies. */
void tcp_child_defer(struct us_stack *st, struct tcp_conn *c)
{
	tcp_child_established(st, c);
	c->deferred = 1;
	c->halfopen = 1;
	st->tcp->n_deferred++;
}

/* A Fast Open child goes to the accept queue at once too, counted as
 * half-open like a deferred one until its handshake completes. */
void tcp_child_fastopen(struct us_stack *st, struct tcp_conn *c)
{
	tcp_child_established(st, c);
	c->halfopen = 1;
	st->tcp->n_deferred++;
}

void tcp_child_reset(struct us_stack *st, struct tcp_conn *c, int err)
{
	tcp_defer_done(st, c);
	tcp_set_state(st, c, US_TCP_CLOSED);
	tcp_timers_cancel(st, c);
	if (c->in_hash)
		tcp_hash_remove(st, c);
	c->reset = 1;
	c->err = err;
	if (c->listener && c->listener->sock)
		sock_wakeup(st, c->listener->sock);
}

void tcp_defer_done(struct us_stack *st, struct tcp_conn *c)
{
	c->deferred = 0;
	if (!c->halfopen)
		return;
	c->halfopen = 0;
	st->tcp->n_deferred--;
}

/* The first non-empty bucket at or after *bucket in a table of n buckets
 * whose bitmap says which are non-empty. */
static struct tcp_conn *next_busy(struct tcp_conn *const *tab, const uint64_t *busy, uint32_t n, uint32_t *bucket)
{
	for (uint32_t b = *bucket; b < n;) {
		uint64_t word = busy[b / 64] >> (b % 64);
		if (!word) {
			b = (b / 64 + 1) * 64;
			continue;
		}
		b += (uint32_t)__builtin_ctzll(word);
		*bucket = b;
		return tab[b];
	}
	*bucket = n;
	return NULL;
}

struct tcp_conn *tcp_iter_hash(struct us_stack *st, uint32_t *bucket)
{
	return next_busy(st->tcp->hash, st->tcp->busy, TCP_HASH, bucket);
}
struct tcp_conn *tcp_iter_listeners(struct us_stack *st, uint32_t *bucket)
{
	return next_busy(st->tcp->listeners, st->tcp->lbusy, LISTEN_HASH, bucket);
}
