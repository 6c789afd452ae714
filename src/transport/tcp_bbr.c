/* BBR congestion control, version 1 as published (Cardwell et al., "BBR:
 * Congestion-Based Congestion Control", ACM Queue 2016;
 * draft-cardwell-iccrg-bbr-congestion-control-00) and as Linux's
 * net/ipv4/tcp_bbr.c runs it: a model of the path, the bottleneck
 * bandwidth (the largest delivery rate seen over the last 10 round trips)
 * and the round-trip propagation time (the least RTT over 10 s), sets the
 * pacing rate (gain x bandwidth) and the window (gain x bandwidth x RTT
 * plus allowances). Random loss does not shrink the model, which is why
 * BBR keeps its rate where loss-based CUBIC and NewReno collapse; in
 * recovery it conserves packets for a round trip and then returns to the
 * model's window. Not here: BBRv1's long-term bandwidth sampling for
 * token-bucket policers (lt_bw).
 *
 * Rates are bytes per second; windows and the data counts bytes; times
 * nanoseconds. Gains are fixed point, 256 = 1.0 (Linux's BBR_UNIT). */
#include <string.h>

#include "core/bytes.h"
#include "core/rand.h"
#include "transport/tcp.h"

#define BBR_UNIT 256u
#define BBR_HIGH_GAIN (BBR_UNIT * 2885u / 1000u + 1u)   /* 2/ln(2): doubles the rate each round */
#define BBR_DRAIN_GAIN (BBR_UNIT * 1000u / 2885u)
#define BBR_CWND_GAIN (BBR_UNIT * 2u)
#define BBR_CYCLE_LEN 8u
#define BBR_BW_RTTS (BBR_CYCLE_LEN + 2u)                 /* the bandwidth filter's window, in rounds */
#define BBR_MIN_RTT_WIN_NS (10ull * 1000000000ull)
#define BBR_PROBE_RTT_NS (200ull * 1000000ull)
#define BBR_MIN_CWND_SEGS 4u
#define BBR_FULL_BW_THRESH (BBR_UNIT * 5u / 4u)          /* growth of 25% a round means not full yet */
#define BBR_FULL_BW_CNT 3u
#define BBR_PACING_MARGIN 1u                             /* percent below the rate, to drain queues */
#define BBR_EXTRA_ACKED_WIN_RTTS 5u
#define BBR_EXTRA_ACKED_MAX_NS (100ull * 1000000ull)
#define BBR_ACK_EPOCH_RESET (1u << 20)                   /* bytes */

enum { BBR_STARTUP, BBR_DRAIN, BBR_PROBE_BW, BBR_PROBE_RTT };

static const uint32_t pacing_cycle[BBR_CYCLE_LEN] = {
	BBR_UNIT * 5 / 4, BBR_UNIT * 3 / 4, BBR_UNIT, BBR_UNIT, BBR_UNIT, BBR_UNIT, BBR_UNIT, BBR_UNIT,
};

static uint64_t bbr_max_bw(const struct tcp_conn *c) { return c->bbr.bw_f.v[0]; }

static uint32_t min_cwnd(const struct tcp_conn *c) { return BBR_MIN_CWND_SEGS * (uint32_t)c->mss; }

/* Bytes the model says fit in the pipe at bw, times gain. */
static uint64_t bdp(const struct tcp_conn *c, uint64_t bw, uint32_t gain)
{
	const struct tcp_bbr_state *b = &c->bbr;
	if (!b->min_rtt)
		return TCP_IW_SEGS * (uint64_t)c->mss;   /* no RTT yet */
	uint64_t w = bw * b->min_rtt / 1000000000ull;
	return (w * gain + BBR_UNIT - 1) / BBR_UNIT;
}

/* What the pacer lets out in a burst: about 1 ms of data, at least two
 * segments (Linux's bbr_tso_segs_goal). */
static uint64_t send_quantum(const struct tcp_conn *c)
{
	uint64_t q = c->pacing_rate / 1000;
	q = US_MIN(q, 64ull << 10);
	return US_MAX(q, 2ull * c->mss);
}

static uint64_t quantization_budget(const struct tcp_conn *c, uint64_t cwnd)
{
	/* Room for the sender's and receiver's batching (3 quanta), and
	 * two more segments while probing, so the probe really adds data. */
	cwnd += 3 * send_quantum(c);
	if (c->bbr.mode == BBR_PROBE_BW && c->bbr.cycle_idx == 0)
		cwnd += 2 * (uint64_t)c->mss;
	return cwnd;
}

static void set_pacing_rate(struct tcp_conn *c, uint64_t bw, uint32_t gain)
{
	uint64_t rate = bw * gain / BBR_UNIT * (100 - BBR_PACING_MARGIN) / 100;
	if (c->bbr.full_bw_reached || rate > c->pacing_rate)
		c->pacing_rate = rate;
}

static void init_pacing_rate(struct tcp_conn *c)
{
	/* Before a sample: the initial window per RTT (or per ms), at the
	 * startup gain. */
	uint64_t rtt = c->srtt ? c->srtt : 1000000;
	uint64_t bw = (uint64_t)c->cwnd * 1000000000ull / US_MAX(rtt, 1u);
	c->pacing_rate = bw * BBR_HIGH_GAIN / BBR_UNIT;
}

static void save_cwnd(struct tcp_conn *c)
{
	struct tcp_bbr_state *b = &c->bbr;
	if (c->ca_state == CA_OPEN && b->mode != BBR_PROBE_RTT)
		b->prior_cwnd = c->cwnd;
	else
		b->prior_cwnd = US_MAX(b->prior_cwnd, c->cwnd);
}

static void bbr_init(struct tcp_conn *c)
{
	struct tcp_bbr_state *b = &c->bbr;
	memset(b, 0, sizeof(*b));
	b->mode = BBR_STARTUP;
	b->pacing_gain = BBR_HIGH_GAIN;
	b->cwnd_gain = BBR_HIGH_GAIN;
	b->prev_ca_state = CA_OPEN;
	b->next_rtt_delivered = c->rs_delivered;
	init_pacing_rate(c);
}

static void reset_probe_bw(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_bbr_state *b = &c->bbr;
	b->mode = BBR_PROBE_BW;
	/* Start at a random phase other than the probing one (Linux). */
	b->cycle_idx = BBR_CYCLE_LEN - 1 - us_rand_below(&st->rand, BBR_CYCLE_LEN - 1);
	b->cycle_idx = (b->cycle_idx + 1) % BBR_CYCLE_LEN;
	b->cycle_stamp = st->now;
}

static void reset_mode(struct us_stack *st, struct tcp_conn *c)
{
	if (!c->bbr.full_bw_reached)
		c->bbr.mode = BBR_STARTUP;
	else
		reset_probe_bw(st, c);
}

/* ---- the model ---- */

struct bbr_rs {
	int64_t delivered;         /* bytes in the sample, -1: none */
	uint64_t interval;         /* ns */
	uint64_t rtt;              /* ns, 0: none */
	uint32_t acked_sacked, losses, prior_in_flight;
	uint64_t prior_delivered;
	int app_limited;
};

static void update_bw(struct tcp_conn *c, const struct bbr_rs *rs)
{
	struct tcp_bbr_state *b = &c->bbr;
	b->round_start = 0;
	if (rs->delivered < 0 || !rs->interval)
		return;
	/* A round trip ends when what was sent at its start is delivered. */
	if (rs->prior_delivered >= b->next_rtt_delivered) {
		b->next_rtt_delivered = c->rs_delivered;
		b->rtt_cnt++;
		b->round_start = 1;
		b->packet_conservation = 0;
	}
	uint64_t bw = (uint64_t)rs->delivered * 1000000000ull / rs->interval;
	/* An app-limited sample says only that the path can do at least
	 * that: it counts when it beats the estimate. */
	if (!rs->app_limited || bw >= bbr_max_bw(c))
		tcp_minmax_max(&b->bw_f, BBR_BW_RTTS, b->rtt_cnt + 1, bw);
}

static void update_ack_aggregation(struct us_stack *st, struct tcp_conn *c, const struct bbr_rs *rs)
{
	/* Data ACKed beyond what the bandwidth explains (receivers that
	 * coalesce ACKs, wireless links): the window keeps room for it, so
	 * the sender is not starved between bursts of ACKs. */
	struct tcp_bbr_state *b = &c->bbr;
	if (!rs->acked_sacked || rs->delivered < 0 || !rs->interval)
		return;
	if (b->round_start) {
		b->extra_acked_win_rtts = US_MIN(0x1Fu, b->extra_acked_win_rtts + 1u);
		if (b->extra_acked_win_rtts >= BBR_EXTRA_ACKED_WIN_RTTS) {
			b->extra_acked_win_rtts = 0;
			b->extra_acked_idx ^= 1;
			b->extra_acked[b->extra_acked_idx] = 0;
		}
	}
	uint64_t epoch = st->now - b->ack_epoch_stamp;
	uint64_t expected = bbr_max_bw(c) * epoch / 1000000000ull;
	if (b->ack_epoch_acked <= expected || b->ack_epoch_acked + rs->acked_sacked >= BBR_ACK_EPOCH_RESET) {
		b->ack_epoch_acked = 0;
		b->ack_epoch_stamp = st->now;
		expected = 0;
	}
	b->ack_epoch_acked = US_MIN(b->ack_epoch_acked + rs->acked_sacked, 0xFFFFFu);
	uint64_t extra = b->ack_epoch_acked > expected ? b->ack_epoch_acked - expected : 0;
	extra = US_MIN(extra, (uint64_t)c->cwnd);
	if (extra > b->extra_acked[b->extra_acked_idx])
		b->extra_acked[b->extra_acked_idx] = (uint32_t)extra;
}

static int next_cycle_phase(struct us_stack *st, const struct tcp_conn *c, const struct bbr_rs *rs)
{
	const struct tcp_bbr_state *b = &c->bbr;
	int full_length = st->now - b->cycle_stamp > b->min_rtt;
	uint64_t inflight = rs->prior_in_flight;
	uint32_t gain = pacing_cycle[b->cycle_idx];
	if (gain == BBR_UNIT)
		return full_length;
	if (gain > BBR_UNIT)   /* probing: until the pipe holds gain x BDP, or loss says it is full */
		return full_length && (rs->losses || inflight >= bdp(c, bbr_max_bw(c), gain));
	/* draining the probe's queue: until the pipe is back to one BDP */
	return full_length || inflight <= bdp(c, bbr_max_bw(c), BBR_UNIT);
}

static void update_cycle_phase(struct us_stack *st, struct tcp_conn *c, const struct bbr_rs *rs)
{
	struct tcp_bbr_state *b = &c->bbr;
	if (b->mode == BBR_PROBE_BW && next_cycle_phase(st, c, rs)) {
		b->cycle_idx = (b->cycle_idx + 1) % BBR_CYCLE_LEN;
		b->cycle_stamp = st->now;
	}
}

static void check_full_bw_reached(struct tcp_conn *c, const struct bbr_rs *rs)
{
	struct tcp_bbr_state *b = &c->bbr;
	if (b->full_bw_reached || !b->round_start || rs->app_limited)
		return;
	uint64_t thresh = b->full_bw * BBR_FULL_BW_THRESH / BBR_UNIT;
	if (bbr_max_bw(c) >= thresh) {
		b->full_bw = bbr_max_bw(c);
		b->full_bw_cnt = 0;
		return;
	}
	b->full_bw_reached = ++b->full_bw_cnt >= BBR_FULL_BW_CNT;
}

static void check_drain(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_bbr_state *b = &c->bbr;
	if (b->mode == BBR_STARTUP && b->full_bw_reached) {
		b->mode = BBR_DRAIN;   /* drain the queue startup built */
		c->ssthresh = (uint32_t)US_MIN(bdp(c, bbr_max_bw(c), BBR_UNIT), (uint64_t)UINT32_MAX);
	}
	if (b->mode == BBR_DRAIN && tcp_board_pipe(c) <= bdp(c, bbr_max_bw(c), BBR_UNIT))
		reset_probe_bw(st, c);
}

static void check_probe_rtt_done(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_bbr_state *b = &c->bbr;
	if (!(b->probe_rtt_done_stamp && st->now > b->probe_rtt_done_stamp))
		return;
	b->min_rtt_stamp = st->now;   /* wait another 10 s */
	c->cwnd = US_MAX(c->cwnd, b->prior_cwnd);
	reset_mode(st, c);
}

static void update_min_rtt(struct us_stack *st, struct tcp_conn *c, const struct bbr_rs *rs)
{
	struct tcp_bbr_state *b = &c->bbr;
	int expired = b->min_rtt && st->now > b->min_rtt_stamp + BBR_MIN_RTT_WIN_NS;
	if (rs->rtt && (!b->min_rtt || rs->rtt < b->min_rtt || expired)) {
		b->min_rtt = rs->rtt;
		b->min_rtt_stamp = st->now;
	}
	if (expired && !b->idle_restart && b->mode != BBR_PROBE_RTT) {
		/* No lower RTT in 10 s: queue drained for 200 ms and a round
		 * to measure the propagation delay again. */
		b->mode = BBR_PROBE_RTT;
		save_cwnd(c);
		b->probe_rtt_done_stamp = 0;
	}
	if (b->mode == BBR_PROBE_RTT) {
		/* Its low-rate samples do not count against the bandwidth. */
		c->rs_app_limited = c->rs_delivered + tcp_board_pipe(c);
		if (!c->rs_app_limited)
			c->rs_app_limited = 1;
		if (!b->probe_rtt_done_stamp && tcp_board_pipe(c) <= min_cwnd(c)) {
			b->probe_rtt_done_stamp = st->now + BBR_PROBE_RTT_NS;
			b->probe_rtt_round_done = 0;
			b->next_rtt_delivered = c->rs_delivered;
		} else if (b->probe_rtt_done_stamp) {
			if (b->round_start)
				b->probe_rtt_round_done = 1;
			if (b->probe_rtt_round_done)
				check_probe_rtt_done(st, c);
		}
	}
	if (rs->delivered > 0)
		b->idle_restart = 0;
}

static void update_gains(struct tcp_conn *c)
{
	struct tcp_bbr_state *b = &c->bbr;
	switch (b->mode) {
	case BBR_STARTUP:
		b->pacing_gain = BBR_HIGH_GAIN;
		b->cwnd_gain = BBR_HIGH_GAIN;
		break;
	case BBR_DRAIN:
		b->pacing_gain = BBR_DRAIN_GAIN;
		b->cwnd_gain = BBR_HIGH_GAIN;
		break;
	case BBR_PROBE_BW:
		b->pacing_gain = pacing_cycle[b->cycle_idx];
		b->cwnd_gain = BBR_CWND_GAIN;
		break;
	default:
		b->pacing_gain = BBR_UNIT;
		b->cwnd_gain = BBR_UNIT;
		break;
	}
}

/* ---- the window ---- */

/* Packet conservation for the first round of recovery; the window from
 * before recovery when it ends (Linux's bbr_set_cwnd_to_recover_or_restore).
 * Returns 1 if *out is the window to use. */
static int recover_or_restore(struct tcp_conn *c, const struct bbr_rs *rs, uint64_t *out)
{
	struct tcp_bbr_state *b = &c->bbr;
	uint8_t prev = b->prev_ca_state, now = c->ca_state;
	uint64_t cwnd = c->cwnd;
	uint64_t inflight = tcp_board_pipe(c);
	if (rs->losses)
		cwnd = cwnd > rs->losses ? cwnd - rs->losses : c->mss;
	if (now == CA_RECOVERY && prev != CA_RECOVERY) {
		b->packet_conservation = 1;
		b->next_rtt_delivered = c->rs_delivered;   /* a round from now */
		cwnd = inflight + rs->acked_sacked;
	} else if (prev != CA_OPEN && now == CA_OPEN) {
		cwnd = US_MAX(cwnd, (uint64_t)b->prior_cwnd);
		b->packet_conservation = 0;
	}
	b->prev_ca_state = now;
	if (b->packet_conservation) {
		*out = US_MAX(cwnd, inflight + rs->acked_sacked);
		return 1;
	}
	*out = cwnd;
	return 0;
}

static void set_cwnd(struct tcp_conn *c, const struct bbr_rs *rs, uint64_t bw, uint32_t gain)
{
	struct tcp_bbr_state *b = &c->bbr;
	uint64_t cwnd = c->cwnd;
	if (rs->acked_sacked && !recover_or_restore(c, rs, &cwnd)) {
		uint64_t target = bdp(c, bw, gain);
		if (b->full_bw_reached) {
			uint64_t aggr = US_MAX(b->extra_acked[0], b->extra_acked[1]);
			aggr = US_MIN(aggr, bw * BBR_EXTRA_ACKED_MAX_NS / 1000000000ull);
			target += aggr;
		}
		target = quantization_budget(c, target);
		if (b->full_bw_reached)
			cwnd = US_MIN(cwnd + rs->acked_sacked, target);
		else if (cwnd < target || c->rs_delivered < TCP_IW_SEGS * (uint64_t)c->mss)
			cwnd += rs->acked_sacked;
		cwnd = US_MAX(cwnd, (uint64_t)min_cwnd(c));
	}
	if (b->mode == BBR_PROBE_RTT)
		cwnd = US_MIN(cwnd, (uint64_t)min_cwnd(c));
	c->cwnd = (uint32_t)US_MIN(cwnd, (uint64_t)UINT32_MAX / 2);
}

static void bbr_cong_control(struct us_stack *st, struct tcp_conn *c, const struct tcp_ack_info *ai)
{
	struct tcp_bbr_state *b = &c->bbr;
	struct bbr_rs rs = {.delivered = -1, .acked_sacked = ai->delivered, .losses = ai->lost,
			    .prior_in_flight = ai->prior_in_flight};
	if (ai->rs_valid) {
		/* draft-cheng-iccrg-delivery-rate-estimation 3.3: the sample
		 * spans the longer of the send and the ACK intervals; one
		 * shorter than the minimum RTT is not to be trusted. */
		rs.prior_delivered = ai->rs_prior_delivered;
		rs.delivered = (int64_t)(c->rs_delivered - ai->rs_prior_delivered);
		rs.interval = US_MAX(ai->rs_send_elapsed, ai->rs_ack_elapsed);
		rs.app_limited = ai->rs_app_limited;
		if (c->min_rtt && rs.interval < c->min_rtt)
			rs.delivered = -1;
	}
	if (ai->rtt_valid)
		rs.rtt = US_MAX(ai->rtt_new, 1u);
	update_bw(c, &rs);
	update_ack_aggregation(st, c, &rs);
	update_cycle_phase(st, c, &rs);
	check_full_bw_reached(c, &rs);
	check_drain(st, c);
	update_min_rtt(st, c, &rs);
	update_gains(c);
	uint64_t bw = bbr_max_bw(c);
	if (bw)
		set_pacing_rate(c, bw, b->pacing_gain);
	set_cwnd(c, &rs, bw, b->cwnd_gain);
}

static void bbr_on_ack(struct tcp_conn *c, uint32_t acked, uint64_t now)
{
	(void)c, (void)acked, (void)now;   /* cong_control does it all */
}

static uint32_t bbr_ssthresh(struct tcp_conn *c, uint64_t now)
{
	(void)now;
	/* Loss does not change the model: remember the window to return to
	 * after recovery; ssthresh is what it was. */
	save_cwnd(c);
	return c->ssthresh;
}

static void bbr_on_rto(struct tcp_conn *c)
{
	struct tcp_bbr_state *b = &c->bbr;
	b->prev_ca_state = CA_LOSS;
	b->full_bw = 0;
	b->round_start = 1;
}

void tcp_bbr_tx_start(struct us_stack *st, struct tcp_conn *c)
{
	/* Sending again after the app went quiet (Linux's CA_EVENT_TX_START):
	 * pace at the estimated rate, not a probing gain, and keep the ACK
	 * aggregation epoch from spanning the idle time. */
	struct tcp_bbr_state *b = &c->bbr;
	if (c->cc != &tcp_bbr || !c->rs_app_limited)
		return;
	b->idle_restart = 1;
	b->ack_epoch_stamp = st->now;
	b->ack_epoch_acked = 0;
	if (b->mode == BBR_PROBE_BW && bbr_max_bw(c))
		set_pacing_rate(c, bbr_max_bw(c), BBR_UNIT);
	else if (b->mode == BBR_PROBE_RTT)
		check_probe_rtt_done(st, c);
}

const struct tcp_cc_ops tcp_bbr = {"bbr", bbr_init, bbr_on_ack, bbr_ssthresh, bbr_on_rto, bbr_cong_control};
