/* Congestion control behind a small interface: NewReno (RFC 5681, RFC 6582,
 * with appropriate byte counting, RFC 3465) and CUBIC (RFC 9438). Recovery
 * itself (fast retransmit, SACK) lives in tcp_in.c / tcp_out.c. */
#include <math.h>

#include <string.h>

#include "core/bytes.h"
#include "transport/tcp.h"

static uint32_t half_flight(struct tcp_conn *c)
{
	/* RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS). */
	uint32_t flight = c->snd_max - c->snd_una;
	return US_MAX(flight / 2, 2u * c->mss);
}

static void slow_start(struct tcp_conn *c, uint32_t acked)
{
	/* RFC 3465 byte counting without its L = 2 SMSS per ACK (as Linux's
	 * tcp_slow_start): a stretch ACK for n segments grows cwnd by n, or
	 * slow start behind a receiver that coalesces ACKs would grow by two
	 * segments a round trip instead of doubling. Not past ssthresh. */
	c->cwnd = (uint32_t)US_MIN((uint64_t)c->cwnd + acked, (uint64_t)US_MAX(c->ssthresh, c->cwnd));
}

/* ---- NewReno ---- */

static void reno_init(struct tcp_conn *c) { c->bytes_acked_ca = 0; }

static void reno_on_ack(struct tcp_conn *c, uint32_t acked, uint64_t now)
{
	(void)now;
	if (c->cwnd < c->ssthresh) {
		slow_start(c, acked);
		return;
	}
	/* Congestion avoidance: one SMSS per window of bytes acknowledged. */
	c->bytes_acked_ca += acked;
	if (c->bytes_acked_ca >= c->cwnd) {
		c->bytes_acked_ca -= c->cwnd;
		c->cwnd += c->mss;
	}
}

static uint32_t reno_ssthresh(struct tcp_conn *c, uint64_t now)
{
	(void)now;
	c->bytes_acked_ca = 0;
	return half_flight(c);
}

static void reno_on_rto(struct tcp_conn *c) { c->bytes_acked_ca = 0; }

const struct tcp_cc_ops tcp_newreno = {"reno", reno_init, reno_on_ack, reno_ssthresh, reno_on_rto, NULL};

/* ---- CUBIC (RFC 9438) ---- */

#define CUBIC_C 0.4
#define CUBIC_BETA 0.7

/* ---- HyStart++ (RFC 9406) ----
 * Slow start watches the RTT: once a round's minimum RTT exceeds the last
 * round's by an eighth (clamped to 4..16 ms), the queue is building, and
 * slow start gives way to Conservative Slow Start (a quarter of the
 * growth) for up to five rounds before congestion avoidance, instead of
 * doubling on until a burst of losses. A CSS round whose RTT falls back
 * below the baseline was a false alarm: slow start resumes. */
#define HS_MIN_RTT_THRESH_NS (4 * NS_PER_MS)
#define HS_MAX_RTT_THRESH_NS (16 * NS_PER_MS)
#define HS_MIN_RTT_DIVISOR 8
#define HS_N_RTT_SAMPLE 8
#define HS_CSS_GROWTH_DIVISOR 4
#define HS_CSS_ROUNDS 5

static void hystart_reset(struct tcp_cubic_state *s)
{
	s->hs_window_end = 0;
	s->hs_round_started = 0;
	s->hs_last_min_rtt = UINT64_MAX;
	s->hs_cur_min_rtt = UINT64_MAX;
	s->hs_samples = 0;
	s->hs_css = 0;
	s->hs_css_rounds = 0;
	s->hs_css_baseline = 0;
}

/* Slow start for one ACK, with HyStart++ when it is on. */
static void cubic_slow_start(struct tcp_conn *c, uint32_t acked)
{
	struct tcp_cubic_state *s = &c->cubic;
	if (!c->hystart) {
		slow_start(c, acked);
		return;
	}
	if (!s->hs_round_started || SEQ_GEQ(c->snd_una, s->hs_window_end)) {
		/* RFC 9406 4.2: a round ends when its window is acknowledged. */
		s->hs_round_started = 1;
		s->hs_window_end = c->snd_max;
		s->hs_last_min_rtt = s->hs_cur_min_rtt;
		s->hs_cur_min_rtt = UINT64_MAX;
		s->hs_samples = 0;
		if (s->hs_css && ++s->hs_css_rounds >= HS_CSS_ROUNDS) {
			c->ssthresh = c->cwnd;   /* into congestion avoidance */
			s->hs_css = 0;
			return;
		}
	}
	if (c->last_rtt) {
		s->hs_cur_min_rtt = US_MIN(s->hs_cur_min_rtt, c->last_rtt);
		s->hs_samples++;
	}
	/* RFC 9406's L (8 segments an ACK when not paced) is not applied:
	 * behind a receiver that coalesces ACKs it turns slow start linear,
	 * as RFC 3465's L did (slow_start). */
	uint32_t add = acked;
	if (!s->hs_css) {
		if (s->hs_samples >= HS_N_RTT_SAMPLE && s->hs_cur_min_rtt != UINT64_MAX &&
		    s->hs_last_min_rtt != UINT64_MAX) {
			uint64_t th = s->hs_last_min_rtt / HS_MIN_RTT_DIVISOR;
			th = US_MAX((uint64_t)HS_MIN_RTT_THRESH_NS, US_MIN(th, (uint64_t)HS_MAX_RTT_THRESH_NS));
			if (s->hs_cur_min_rtt >= s->hs_last_min_rtt + th) {
				s->hs_css = 1;
				s->hs_css_rounds = 0;
				s->hs_css_baseline = s->hs_cur_min_rtt;
			}
		}
	} else if (s->hs_samples >= HS_N_RTT_SAMPLE && s->hs_cur_min_rtt < s->hs_css_baseline) {
		s->hs_css = 0;   /* the RTT went down again: back to slow start */
		s->hs_css_baseline = 0;
	}
	if (s->hs_css)
		add /= HS_CSS_GROWTH_DIVISOR;
	slow_start(c, add);
}

static void cubic_init(struct tcp_conn *c)
{
	c->cubic.w_max = 0;
	c->cubic.k = 0;
	c->cubic.epoch = 0;
	c->cubic.w_est = 0;
	c->cubic.inc_acc = 0;
	hystart_reset(&c->cubic);
}

static void cubic_on_ack(struct tcp_conn *c, uint32_t acked, uint64_t now)
{
	struct tcp_cubic_state *s = &c->cubic;
	if (c->cwnd < c->ssthresh) {
		cubic_slow_start(c, acked);
		return;
	}
	double mss = c->mss;
	double cwnd = c->cwnd / mss;
	if (!s->epoch) {
		/* RFC 9438 4.2: a new congestion avoidance epoch. */
		s->epoch = now;
		if (s->w_max < cwnd) {
			s->w_max = cwnd;
			s->k = 0;
		} else {
			s->k = cbrt((s->w_max - cwnd) / CUBIC_C);
		}
		s->w_est = cwnd;
	}
	double rtt = c->srtt ? c->srtt / 1e9 : 0.1;
	double t = (now - s->epoch) / 1e9;
	/* W_cubic(t + RTT) is the target one RTT ahead (4.2), kept within
	 * [cwnd, 1.5 cwnd]. */
	double d = t + rtt - s->k;
	double target = CUBIC_C * d * d * d + s->w_max;
	if (target < cwnd)
		target = cwnd;
	if (target > 1.5 * cwnd)
		target = 1.5 * cwnd;
	/* Reno-friendly region (4.3): alpha = 3(1 - beta)/(1 + beta) per RTT. */
	double segs = acked / mss;
	double alpha = s->w_est < s->w_max ? 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA) : 1.0;
	s->w_est += alpha * segs / cwnd;
	if (s->w_est > target)
		target = s->w_est;
	/* Grow by (target - cwnd) / cwnd segments per segment acknowledged. */
	double inc = (target - cwnd) / cwnd * segs * mss;
	s->inc_acc += inc;
	if (s->inc_acc >= 1) {
		uint32_t add = (uint32_t)s->inc_acc;
		c->cwnd += add;
		s->inc_acc -= add;
	}
}

static uint32_t cubic_ssthresh(struct tcp_conn *c, uint64_t now)
{
	(void)now;
	struct tcp_cubic_state *s = &c->cubic;
	double cwnd = (double)c->cwnd / c->mss;
	/* Fast convergence (4.7). */
	if (cwnd < s->w_max)
		s->w_max = cwnd * (1.0 + CUBIC_BETA) / 2.0;
	else
		s->w_max = cwnd;
	s->epoch = 0;
	s->hs_css = 0;   /* RFC 9406 4.2: loss in CSS ends it */
	uint32_t th = (uint32_t)(c->cwnd * CUBIC_BETA);
	return US_MAX(th, 2u * c->mss);
}

static void cubic_on_rto(struct tcp_conn *c)
{
	c->cubic.epoch = 0;
	hystart_reset(&c->cubic);   /* slow start after a timeout may use HyStart++ again */
}

const struct tcp_cc_ops tcp_cubic = {"cubic", cubic_init, cubic_on_ack, cubic_ssthresh, cubic_on_rto, NULL};

const struct tcp_cc_ops *tcp_cc_find(const char *name)
{
	if (!name)
		return NULL;
	if (!strcmp(name, "cubic"))
		return &tcp_cubic;
	if (!strcmp(name, "reno") || !strcmp(name, "newreno"))
		return &tcp_newreno;
	if (!strcmp(name, "bbr"))
		return &tcp_bbr;
	return NULL;
}

const struct tcp_cc_ops *tcp_cc_default(const struct us_stack *st)
{
	const struct tcp_cc_ops *cc = tcp_cc_find(st->cfg.tcp_cc);
	if (cc)
		return cc;
	/* BBR by default: measured through a lossy router (bench/loss.py,
	 * README "TCP on lossy paths") it keeps its rate where CUBIC and
	 * NewReno fall to tens of Mbit/s, and on clean paths it is no slower. */
	return st->cfg.tcp_cc_reno ? &tcp_newreno : &tcp_bbr;
}
