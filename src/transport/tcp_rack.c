/* RACK-TLP loss detection (RFC 8985), over the scoreboard's transmission
 * records (tcp_sack.c). A segment is lost once a segment sent after it has
 * been delivered and more than an RTT plus a reordering window has passed
 * since it was sent: losses are found by time, not by counting duplicate
 * ACKs, so a lost retransmission is found like any other loss, and so is
 * one at the tail once the loss probe (tcp_out.c, RFC 8985 7) brings an
 * ACK. The reordering window is a quarter of the minimum RTT once
 * reordering has been seen (none in recovery before that), widened step by
 * step by D-SACKs, which show that a retransmission was spurious. */
#include <string.h>

#include "core/bytes.h"
#include "transport/tcp.h"

#define RACK_MIN_RTT_WIN_NS (300ull * 1000000000ull)   /* Linux's tcp_min_rtt_wlen */
#define RACK_REO_PERSIST 16u                            /* RFC 8985 6.2 step 4 */
#define RACK_REO_MULT_MAX 256u

/* ---- windowed min/max (Linux's lib/win_minmax.c) ---- */

void tcp_minmax_reset(struct tcp_minmax *m, uint64_t t, uint64_t v)
{
	for (int i = 0; i < 3; i++) {
		m->t[i] = t;
		m->v[i] = v;
	}
}

static uint64_t minmax_subwin(struct tcp_minmax *m, uint64_t win, uint64_t t, uint64_t v)
{
	uint64_t dt = t - m->t[0];
	if (dt > win) {
		/* The best sample left the window: the next ones move up. */
		m->t[0] = m->t[1];
		m->v[0] = m->v[1];
		m->t[1] = m->t[2];
		m->v[1] = m->v[2];
		m->t[2] = t;
		m->v[2] = v;
		if (t - m->t[0] > win) {
			m->t[0] = m->t[1];
			m->v[0] = m->v[1];
			m->t[1] = m->t[2];
			m->v[1] = m->v[2];
		}
	} else if (m->t[1] == m->t[0] && dt > win / 4) {
		m->t[1] = m->t[2] = t;
		m->v[1] = m->v[2] = v;
	} else if (m->t[2] == m->t[1] && dt > win / 2) {
		m->t[2] = t;
		m->v[2] = v;
	}
	return m->v[0];
}

uint64_t tcp_minmax_min(struct tcp_minmax *m, uint64_t win, uint64_t t, uint64_t v)
{
	if (!m->t[0] || v <= m->v[0] || t - m->t[2] > win) {
		tcp_minmax_reset(m, t ? t : 1, v);
		return v;
	}
	if (v <= m->v[1]) {
		m->t[1] = m->t[2] = t;
		m->v[1] = m->v[2] = v;
	} else if (v <= m->v[2]) {
		m->t[2] = t;
		m->v[2] = v;
	}
	return minmax_subwin(m, win, t, v);
}

uint64_t tcp_minmax_max(struct tcp_minmax *m, uint64_t win, uint64_t t, uint64_t v)
{
	if (!m->t[0] || v >= m->v[0] || t - m->t[2] > win) {
		tcp_minmax_reset(m, t ? t : 1, v);
		return v;
	}
	if (v >= m->v[1]) {
		m->t[1] = m->t[2] = t;
		m->v[1] = m->v[2] = v;
	} else if (v >= m->v[2]) {
		m->t[2] = t;
		m->v[2] = v;
	}
	return minmax_subwin(m, win, t, v);
}

/* ---- RACK ---- */

void tcp_rack_init(struct tcp_conn *c)
{
	c->rack_xmit_ts = 0;
	c->rack_end = c->snd_una;
	c->rack_rtt = 0;
	c->rack_fack = c->snd_una;
	c->rack_reordering_seen = 0;
	c->rack_reo_wnd_mult = 1;
	c->rack_reo_wnd_persist = 0;
	c->rack_dsack_round_set = 0;
	c->rack_reo_at = 0;
}

void tcp_rack_update(struct us_stack *st, struct tcp_conn *c, const struct tcp_ack_info *ai)
{
	if (ai->rtt_valid)
		c->min_rtt = tcp_minmax_min(&c->min_rtt_f, RACK_MIN_RTT_WIN_NS, st->now, US_MAX(ai->rtt_new, 1u));
	/* Step 1: the most recently sent of what was delivered. */
	if (ai->rack_valid &&
	    (!c->rack_xmit_ts || SEQ_SENT_AFTER(ai->rack_xmit_ts, ai->rack_end, c->rack_xmit_ts, c->rack_end))) {
		c->rack_xmit_ts = ai->rack_xmit_ts;
		c->rack_end = ai->rack_end;
		c->rack_rtt = ai->rack_rtt;
	}
	/* Step 2: reordering, counted each time an ACK shows it (as Linux
	 * counts detections), also after a D-SACK already set the flag. */
	if (ai->reordered) {
		c->rack_reordering_seen = 1;
		STAT_INC(st, tcpext, TCPSACKReorder);
	}
	/* Step 3: a D-SACK (a spurious retransmission: the original was
	 * late, not lost) widens the window, at most once a round trip, and
	 * keeps it wide for the next 16 recoveries. As Linux, it also counts
	 * as reordering seen. */
	if (ai->dsack) {
		c->rack_reordering_seen = 1;
		if (!c->rack_dsack_round_set || SEQ_GEQ(c->snd_una, c->rack_dsack_round)) {
			c->rack_dsack_round_set = 1;
			c->rack_dsack_round = c->snd_max;
			if (c->rack_reo_wnd_mult < RACK_REO_MULT_MAX)
				c->rack_reo_wnd_mult++;
			c->rack_reo_wnd_persist = RACK_REO_PERSIST;
		}
	}
}

void tcp_rack_recovery_done(struct tcp_conn *c)
{
	if (c->rack_reo_wnd_persist && --c->rack_reo_wnd_persist == 0)
		c->rack_reo_wnd_mult = 1;
}

/* Step 4. */
static uint64_t reo_wnd(const struct tcp_conn *c)
{
	if (!c->rack_reordering_seen) {
		if (c->ca_state != CA_OPEN)
			return 0;
		if (c->board.sacked >= TCP_DUPTHRESH * (uint32_t)c->mss)
			return 0;   /* as many SACKed as three duplicate ACKs would say */
	}
	uint64_t w = (uint64_t)c->rack_reo_wnd_mult * (c->min_rtt / 4);
	return c->srtt ? US_MIN(w, c->srtt) : w;
}

uint32_t tcp_rack_detect(struct us_stack *st, struct tcp_conn *c)
{
	c->rack_reo_at = 0;
	if (!c->sack_ok || !c->rack_xmit_ts)
		return 0;
	uint64_t w = reo_wnd(c), latest = 0;
	uint32_t newly = 0, segs = 0;
	struct tcp_board *b = &c->board;
	for (uint32_t i = 0; i < b->n; i++) {
		struct tcp_seg *s = &b->v[i];
		/* Skip the SACKed and the lost not yet resent: what is in
		 * flight (first transmissions and retransmissions) is judged. */
		if ((s->flags & TCP_SEG_SACKED) || (s->flags & (TCP_SEG_LOST | TCP_SEG_RETRANS)) == TCP_SEG_LOST)
			continue;
		/* Step 5: sent before the latest delivered segment. */
		if (!SEQ_SENT_AFTER(c->rack_xmit_ts, c->rack_end, s->xmit_ts, s->end))
			continue;
		uint64_t deadline = s->xmit_ts + c->rack_rtt + w;
		if (deadline <= st->now) {
			if (s->flags & TCP_SEG_RETRANS)
				STAT_INC(st, tcpext, TCPLostRetransmit);   /* found by time, not by the RTO */
			newly += s->end - s->seq;
			segs++;
			tcp_board_mark_lost(c, s);
		} else if (deadline > latest) {
			latest = deadline;
		}
	}
	c->sacked_bytes = b->sacked;
	if (latest) {
		c->rack_reo_at = latest;
		tcp_rtx_schedule(st, c);
	}
	return newly;
}

void tcp_rack_timeout(struct us_stack *st, struct tcp_conn *c)
{
	/* RFC 8985 6.3: the reordering window has passed for what was held
	 * back: mark it lost, start recovery if that is new, resend. */
	STAT_INC(st, tcpext, TCPRackReoTimeouts);
	uint32_t lost = tcp_rack_detect(st, c);
	if (lost && c->ca_state == CA_OPEN) {
		tcp_enter_recovery(st, c);
		/* No ACK to clock PRR: it starts as if one segment had been
		 * delivered (as Linux's tcp_rack_reo_timeout). */
		if (!c->cc->cong_control)
			tcp_prr_ack(c, c->mss, lost, 0);
	}
	tcp_output(st, c);
	tcp_rtx_schedule(st, c);
}
