/* TCP timers, three per connection in the stack's wheel:
 *   rtx:     retransmission (RFC 6298), SYN/SYN-ACK retries, zero-window
 *            probes (persist), orphaned FIN_WAIT_2, TIME_WAIT;
 *   delack:  delayed ACK;
 *   ka:      keepalive. */
#include <errno.h>
#include <stddef.h>

#include "core/bytes.h"
#include "transport/tcp.h"

#define CONN_OF(t, field) ((struct tcp_conn *)((char *)(t) - offsetof(struct tcp_conn, field)))

static void rtx_fire(struct us_timer *t, uint64_t now, void *ctx);
static void delack_fire(struct us_timer *t, uint64_t now, void *ctx);
static void ka_fire(struct us_timer *t, uint64_t now, void *ctx);
static void pace_fire(struct us_timer *t, uint64_t now, void *ctx);

void tcp_timers_init(struct tcp_conn *c)
{
	timer_init(&c->rtx_timer, rtx_fire);
	timer_init(&c->delack_timer, delack_fire);
	timer_init(&c->ka_timer, ka_fire);
	timer_init(&c->pace_timer, pace_fire);
}

void tcp_timers_cancel(struct us_stack *st, struct tcp_conn *c)
{
	timer_cancel(&st->timers, &c->rtx_timer);
	timer_cancel(&st->timers, &c->delack_timer);
	timer_cancel(&st->timers, &c->ka_timer);
	timer_cancel(&st->timers, &c->pace_timer);
}

uint64_t tcp_rto_backed_off(const struct us_stack *st, const struct tcp_conn *c)
{
	uint64_t max = (uint64_t)st->cfg.tcp_max_rto_ms * NS_PER_MS;
	uint64_t r = c->rto;
	for (uint32_t i = 0; i < c->backoff && r < max; i++)
		r *= 2;
	return US_MIN(r, max);
}

/* RFC 8985 7.2: a probe timeout is scheduled instead of the RTO while data
 * is in flight in the open state (SACK on, an RTT known, no probe out). */
static int tlp_allowed(const struct us_stack *st, const struct tcp_conn *c)
{
	return st->cfg.tcp_tlp > 0 && c->sack_ok && c->srtt && c->ca_state == CA_OPEN && !c->tlp_out &&
	       !c->persist && !c->backoff && (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_CLOSE_WAIT) &&
	       SEQ_LT(c->snd_una, c->snd_max);
}

/* PTO = 2 SRTT, plus the peer's worst delayed ACK when a lone segment is
 * out, at least 10 ms, at most the RTO (as Linux: a probe then takes the
 * first timeout's place, without collapsing the window); 0 if no probe is
 * due. */
static uint64_t tlp_timeout(const struct us_stack *st, const struct tcp_conn *c, uint64_t rto)
{
	if (!tlp_allowed(st, c))
		return 0;
	uint64_t pto = 2 * c->srtt;
	if (c->snd_max - c->snd_una <= c->mss)
		pto += TCP_WCDELACK_NS;
	pto = US_MAX(pto, TCP_PTO_MIN_NS);
	return US_MIN(pto, rto);
}

/* The retransmission timer holds the earliest of three deadlines: the
 * RTO for the oldest unacknowledged data, the tail loss probe's timeout
 * (RFC 8985 7.2; open state only), and RACK's reordering timeout (RFC
 * 8985 6.3). */
void tcp_rtx_schedule(struct us_stack *st, struct tcp_conn *c)
{
	uint64_t when = c->rto_at;
	c->tlp_armed = 0;
	c->rack_reo_armed = 0;
	if (c->ca_state != CA_OPEN)
		c->pto_at = 0;
	if (c->pto_at && c->pto_at <= when) {
		when = c->pto_at;
		c->tlp_armed = 1;
	}
	if (c->rack_reo_at && c->rack_reo_at <= when) {
		when = c->rack_reo_at;
		c->rack_reo_armed = 1;
		c->tlp_armed = 0;
	}
	timer_arm(&st->timers, &c->rtx_timer, when);
}

void tcp_rearm_pto(struct us_stack *st, struct tcp_conn *c)
{
	/* Restarted, the probe still comes no later than the RTO armed for
	 * the oldest unacknowledged data would have: new data never delays
	 * the retransmission of old (Linux's tcp_rto_delta_us). */
	uint64_t pto = tlp_timeout(st, c, tcp_rto_backed_off(st, c));
	if (pto) {
		c->pto_at = US_MIN(st->now + pto, c->rto_at);
		tcp_rtx_schedule(st, c);
	}
}

void tcp_arm_rtx(struct us_stack *st, struct tcp_conn *c)
{
	uint64_t rto = tcp_rto_backed_off(st, c);
	uint64_t when = st->now + rto;
	/* Never sleep past the user timeout (RFC 5482; Linux clamps the same way). */
	if (c->user_timeout_ms && c->first_rtx_time) {
		uint64_t end = c->first_rtx_time + (uint64_t)c->user_timeout_ms * NS_PER_MS;
		if (end < when)
			when = US_MAX(end, st->now);
	}
	c->rto_at = when;
	uint64_t pto = tlp_timeout(st, c, rto);
	c->pto_at = pto ? st->now + pto : 0;
	if (c->persist || c->state < US_TCP_ESTABLISHED)
		c->rack_reo_at = 0;
	tcp_rtx_schedule(st, c);
}

/* Linux's tcp_send_delayed_ack: the ACK timeout, at most 200 ms in a
 * request/response exchange (500 ms otherwise) and at most the SRTT (not
 * below 40 ms). */
static uint64_t delack_timeout(const struct tcp_conn *c)
{
	uint64_t ato = c->ato ? c->ato : TCP_DELACK_NS;
	if (ato > TCP_DELACK_NS) {
		uint64_t max = c->pingpong ? TCP_DELACK_MAX_NS : 500 * NS_PER_MS;
		if (c->srtt)
			max = US_MIN(max, US_MAX(c->srtt, (uint64_t)TCP_DELACK_NS));
		ato = US_MIN(ato, max);
	}
	return ato;
}

void tcp_arm_delack(struct us_stack *st, struct tcp_conn *c)
{
	if (!timer_pending(&c->delack_timer))
		timer_arm(&st->timers, &c->delack_timer, st->now + delack_timeout(c));
}

void tcp_arm_keepalive(struct us_stack *st, struct tcp_conn *c)
{
	if (!c->keepalive || (c->state != US_TCP_ESTABLISHED && c->state != US_TCP_CLOSE_WAIT)) {
		timer_cancel(&st->timers, &c->ka_timer);
		return;
	}
	uint64_t base = c->last_recv ? c->last_recv : st->now;
	timer_arm(&st->timers, &c->ka_timer, base + (uint64_t)c->keepidle * 1000000000ull);
}

int tcp_enter_timewait(struct us_stack *st, struct tcp_conn *c)
{
	tcp_set_state(st, c, US_TCP_TIME_WAIT);
	timer_cancel(&st->timers, &c->delack_timer);
	timer_cancel(&st->timers, &c->ka_timer);
	timer_cancel(&st->timers, &c->pace_timer);
	c->persist = 0;
	if (tcp_n_timewait(st) > st->cfg.tcp_max_tw) {
		/* Linux's tcp_max_tw_buckets: past the limit, no TIME_WAIT kept. */
		STAT_INC(st, tcpext, TCPTimeWaitRecycled);
		tcp_done(st, c, 0);
		return 1;   /* gone */
	}
	timer_arm(&st->timers, &c->rtx_timer, st->now + (uint64_t)st->cfg.tcp_timewait_ms * NS_PER_MS);
	tcp_release_buffers(st, c);   /* 2*MSL of a ring per closed connection would eat the memory budget */
	return 0;
}

void tcp_rtt_sample(struct us_stack *st, struct tcp_conn *c, uint64_t r)
{
	/* RFC 6298 2.2 and 2.3, with G = 1 ms and Linux's 200 ms floor. */
	if (!r)
		r = 1000;   /* below the clock's resolution: 1 us */
	if (!c->srtt) {
		c->srtt = r;
		c->rttvar = r / 2;
	} else {
		uint64_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
	}
	uint64_t rto = c->srtt + US_MAX((uint64_t)NS_PER_MS, 4 * c->rttvar);
	uint64_t lo = (uint64_t)st->cfg.tcp_min_rto_ms * NS_PER_MS, hi = (uint64_t)st->cfg.tcp_max_rto_ms * NS_PER_MS;
	c->rto = US_MIN(US_MAX(rto, lo), hi);
}

static int user_timeout_hit(struct us_stack *st, struct tcp_conn *c)
{
	return c->user_timeout_ms && c->first_rtx_time &&
	       st->now - c->first_rtx_time >= (uint64_t)c->user_timeout_ms * NS_PER_MS;
}

static void give_up(struct us_stack *st, struct tcp_conn *c)
{
	STAT_INC(st, tcpext, TCPAbortOnTimeout);
	if (c->state == US_TCP_SYN_SENT)
		STAT_INC(st, tcp, AttemptFails);
	else if (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_CLOSE_WAIT)
		STAT_INC(st, tcp, EstabResets);
	tcp_done(st, c, ETIMEDOUT);
}

static void rto_fire(struct us_stack *st, struct tcp_conn *c)
{
	/* The user timeout counts from when the data started waiting (the
	 * timer was armed), not from this first retransmission. */
	if (!c->first_rtx_time)
		c->first_rtx_time = st->now - US_MIN(st->now, tcp_rto_backed_off(st, c));
	uint32_t limit = (c->state == US_TCP_SYN_SENT) ? (c->syn_retries ? c->syn_retries : st->cfg.tcp_syn_retries)
			 : (c->state == US_TCP_SYN_RECEIVED) ? st->cfg.tcp_synack_retries
							     : st->cfg.tcp_retries2;
	if (c->retransmits >= limit || user_timeout_hit(st, c)) {
		give_up(st, c);
		return;
	}
	c->retransmits++;
	c->backoff++;
	STAT_INC(st, tcpext, TCPTimeouts);
	if (c->state == US_TCP_SYN_SENT || c->state == US_TCP_SYN_RECEIVED) {
		if (c->state == US_TCP_SYN_SENT)
			tcp_ecn_syn_retransmit(c);
		c->rtx_tsval = tcp_ms(st) + c->ts_offset;
		c->total_retrans++;
		STAT_INC(st, tcp, RetransSegs);
		tcp_send_syn(st, c);
		tcp_arm_rtx(st, c);
		return;
	}
	/* RFC 5681 3.1 eq. 4: collapse the window. */
	if (c->ca_state != CA_LOSS) {
		c->ssthresh = c->cc->ssthresh(c, st->now);
		c->cc->on_rto(c);
	}
	c->cwnd = c->mss;
	if (c->ts_ok && c->retransmits == 1) {
		/* the first timeout of this episode: Eifel checks the next ACK */
		c->rto_eifel = 1;
		c->rto_tsval = tcp_ms(st) + c->ts_offset;
	}
	c->ca_state = CA_LOSS;
	c->tlp_out = 0;
	c->recover = c->snd_max;
	c->dupacks = 0;
	c->rtt_timing = 0;
	c->rack_reo_at = 0;
	tcp_plpmtu_rto(st, c);   /* a black hole for this size? */
	if (c->sack_ok) {
		/* RFC 6675 5.1 / RFC 8985 6.3: all not SACKed is lost and is
		 * resent in order, one window at a time, skipping what the peer
		 * has; on a first timeout what it SACKed is kept (as Linux), a
		 * second in a row may mean it reneged (RFC 2018 8): then that is
		 * resent too. */
		tcp_board_timeout(c, c->backoff > 1);
		c->sacked_bytes = c->board.sacked;
		tcp_output(st, c);
	} else {
		/* Go back to SND.UNA (go-back-N). */
		c->snd_nxt = c->snd_una;
		tcp_retransmit_head(st, c);
	}
	tcp_arm_rtx(st, c);
	tcp_check_invariants(c);
}

static void persist_fire(struct us_stack *st, struct tcp_conn *c)
{
	/* RFC 9293 3.8.6.1: probe a zero window for as long as the peer keeps
	 * answering; only the user timeout ends it. */
	if (!c->first_rtx_time)
		c->first_rtx_time = st->now;
	if (user_timeout_hit(st, c)) {
		give_up(st, c);
		return;
	}
	STAT_INC(st, tcpext, TCPWinProbe);
	c->probes++;
	c->backoff++;
	tcp_send_probe(st, c);
	tcp_arm_rtx(st, c);
}

static void rtx_fire(struct us_timer *t, uint64_t now, void *ctx)
{
	(void)now;
	struct us_stack *st = ctx;
	struct tcp_conn *c = CONN_OF(t, rtx_timer);
	switch (c->state) {
	case US_TCP_TIME_WAIT:
		tcp_done(st, c, 0);
		return;
	case US_TCP_FIN_WAIT_2:
		/* Orphaned and the peer never closed: Linux's tcp_fin_timeout. */
		if (!c->sock) {
			tcp_done(st, c, 0);
			return;
		}
		break;
	default:
		break;
	}
	if (c->persist) {
		c->persist = 0;
		if (c->sndq.len <= tcp_flight(c))
			return;
		if (c->snd_wnd == 0) {
			c->persist = 1;
			persist_fire(st, c);
		} else {
			c->force_send = 1;   /* a small window: send what fits */
			tcp_output(st, c);
		}
		return;
	}
	if (c->rack_reo_armed) {
		c->rack_reo_armed = 0;
		c->rack_reo_at = 0;
		if (SEQ_LT(c->snd_una, c->snd_max))
			tcp_rack_timeout(st, c);
		return;
	}
	if (c->tlp_armed) {
		c->tlp_armed = 0;
		c->pto_at = 0;
		if (SEQ_LT(c->snd_una, c->snd_max))
			tcp_send_loss_probe(st, c);
		return;
	}
	if (c->state == US_TCP_SYN_SENT || c->state == US_TCP_SYN_RECEIVED || SEQ_LT(c->snd_una, c->snd_max))
		rto_fire(st, c);
}

static void delack_fire(struct us_timer *t, uint64_t now, void *ctx)
{
	(void)now;
	struct us_stack *st = ctx;
	struct tcp_conn *c = CONN_OF(t, delack_timer);
	if (c->state == US_TCP_CLOSED || c->state == US_TCP_LISTEN || c->state == US_TCP_SYN_SENT)
		return;
	if (c->pingpong) {
		/* No reply came to carry the ACK: out of pingpong mode. */
		c->pingpong = 0;
		c->ato = TCP_DELACK_NS;
	}
	if (c->last_ack_sent != c->rcv_nxt || c->delack_count) {
		STAT_INC(st, tcpext, TCPDelayedACKs);
		c->ack_now = 1;
		tcp_output(st, c);
	}
}

/* The pacer's next transmission is due. */
static void pace_fire(struct us_timer *t, uint64_t now, void *ctx)
{
	(void)now;
	struct us_stack *st = ctx;
	struct tcp_conn *c = CONN_OF(t, pace_timer);
	if (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_CLOSE_WAIT || c->state == US_TCP_FIN_WAIT_1 ||
	    c->state == US_TCP_CLOSING || c->state == US_TCP_LAST_ACK)
		tcp_output(st, c);
}

static void ka_fire(struct us_timer *t, uint64_t now, void *ctx)
{
	struct us_stack *st = ctx;
	struct tcp_conn *c = CONN_OF(t, ka_timer);
	if (!c->keepalive || (c->state != US_TCP_ESTABLISHED && c->state != US_TCP_CLOSE_WAIT))
		return;
	uint64_t idle = now - c->last_recv;
	if (idle < (uint64_t)c->keepidle * 1000000000ull && !c->probes) {
		tcp_arm_keepalive(st, c);   /* heard from the peer since */
		return;
	}
	if (c->probes >= c->keepcnt || user_timeout_hit(st, c)) {
		give_up(st, c);
		return;
	}
	c->probes++;
	STAT_INC(st, tcpext, TCPKeepAlive);
	tcp_send_probe(st, c);
	timer_arm(&st->timers, &c->ka_timer, now + (uint64_t)c->keepintvl * 1000000000ull);
}
