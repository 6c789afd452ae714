/* TCP input, in the order of RFC 9293 3.10.7 "SEGMENT ARRIVES", with the
 * RFC 5961 checks, PAWS (RFC 7323), the SACK scoreboard (RFC 2018/6675),
 * fast retransmit and recovery (RFC 5681/6582/6675), and SYN cookies
 * (RFC 4987) at the listener. */
#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "net/iface.h"
#include "transport/tcp.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"

/* Options of a SYN or SYN-ACK: what the peer offers, and we offer (or
 * offered) too: our SYN carried what the stack's knobs allow, and a SYN-ACK
 * answers with those the knobs allow. */
static void take_syn_opts(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t)
{
	uint16_t mss = t->has_mss ? t->mss : tcp_default_mss(&c->raddr);
	if (mss < TCP_MSS_MIN) {
		STAT_INC(st, tcpext, TCPBadOpts);
		mss = TCP_MSS_MIN;   /* MSS 0 or tiny: a floor, never a division by zero */
	}
	c->peer_mss = mss;
	c->ws_ok = t->has_wscale && st->cfg.tcp_window_scaling > 0;
	if (c->ws_ok) {
		if (t->wscale > TCP_MAX_WSCALE)
			STAT_INC(st, tcpext, TCPBadOpts);
		c->snd_wscale = (uint8_t)US_MIN(t->wscale, (uint8_t)TCP_MAX_WSCALE);   /* RFC 7323 2.3 */
	} else {
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	c->sack_ok = t->sack_perm && st->cfg.tcp_sack > 0;
	c->ts_ok = t->has_ts && st->cfg.tcp_timestamps > 0;
	if (c->ts_ok) {
		c->ts_recent = t->tsval;
		c->ts_recent_stamp = tcp_ms(st);
	}
}

static void cc_start(struct us_stack *st, struct tcp_conn *c)
{
	tcp_update_mss(st, c);
	c->cwnd = TCP_IW_SEGS * (uint32_t)c->mss;   /* RFC 6928 */
	c->ssthresh = UINT32_MAX;
	c->cc->init(c);
}

/* ---- the sender's side of SACK (the scoreboard is tcp_sack.c) ---- */

/* Take the ACK's SACK blocks into the scoreboard; returns 1 if the first
 * is a D-SACK (RFC 2883). Blocks outside [SND.UNA, SND.MAX) are bogus and
 * never trusted. */
static int sack_update(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t, struct tcp_ack_info *ai)
{
	int dsack = tcp_sack_is_dsack(t);
	if (dsack) {
		STAT_INC(st, tcpext, TCPDSACKRecv);
		if (c->tlp_out)
			c->tlp_dsack = 1;
	}
	for (uint32_t i = dsack ? 1 : 0; i < t->n_sack; i++) {
		uint32_t l = t->sack[i].left, r = t->sack[i].right;
		if (!SEQ_LT(l, r) || SEQ_LT(l, c->snd_una) || SEQ_GT(r, c->snd_max)) {
			STAT_INC(st, tcpext, TCPSACKDiscard);
			continue;
		}
		tcp_board_sack(st, c, l, r, ai);
	}
	c->sacked_bytes = c->board.sacked;
	return dsack;
}

void tcp_enter_recovery(struct us_stack *st, struct tcp_conn *c)
{
	/* RFC 6675 5 / RFC 8985 8: RACK found a loss in the open state. */
	c->recover = c->snd_max;
	c->ssthresh = c->cc->ssthresh(c, st->now);
	tcp_prr_start(c);
	c->ca_state = CA_RECOVERY;
	c->pto_at = 0;
	STAT_INC(st, tcpext, TCPSackRecovery);
}

/* ---- our receive side's SACK blocks (tcp_sack.c) ---- */

/* The first run of [off, end) (offsets from RCV.NXT) already held out of
 * order: a duplicate to report as D-SACK. */
static int ooo_dup(const struct tcp_conn *c, uint32_t off, uint32_t end, uint32_t *dl, uint32_t *dr)
{
	if (!c->ooo.n)
		return 0;   /* nothing held: the in-order case */
	uint32_t i = asm_first_after(&c->ooo, off);
	if (i >= c->ooo.n)
		return 0;
	const struct asm_range *r = &asm_ranges_c(&c->ooo)[i];
	if (r->start >= end)
		return 0;
	*dl = US_MAX(off, r->start);
	*dr = US_MIN(end, r->end);
	return 1;
}

/* A duplicate [seq, end) arrived (RFC 2883). A D-SACK still unsent that
 * this one would replace goes out first, in its own ACK: the peer learns
 * of every spurious retransmission (its reordering window depends on it). */
static void note_dup(struct us_stack *st, struct tcp_conn *c, uint32_t seq, uint32_t end)
{
	if (!c->sack_ok)
		return;
	if (SEQ_LEQ(end, c->rcv_nxt))
		STAT_INC(st, tcpext, TCPDSACKOldSent);
	else
		STAT_INC(st, tcpext, TCPDSACKOfoSent);
	if (c->have_dsack && !(SEQ_LEQ(seq, c->rcv_dsack.right) && SEQ_GEQ(end, c->rcv_dsack.left)))
		tcp_send_ack(st, c);
	tcp_rcv_dsack(c, seq, end);
	c->ack_now = 1;
}

/* Write [off, off+len) of segment data into the receive ring, skipping
 * bytes already held out of order: bytes received first win (a second copy
 * with other contents never replaces them). */
static void write_new_bytes(struct tcp_conn *c, uint32_t off, const uint8_t *data, uint32_t len)
{
	uint32_t pos = off, end = off + len;
	const struct asm_range *ranges = asm_ranges_c(&c->ooo);
	for (uint32_t i = asm_first_after(&c->ooo, pos); i < c->ooo.n && pos < end; i++) {
		const struct asm_range *r = &ranges[i];
		if (r->start >= end)
			break;
		if (r->start > pos)
			ring_write_at(&c->rcvq, pos, data + (pos - off), r->start - pos);
		pos = r->end;
	}
	if (pos < end)
		ring_write_at(&c->rcvq, pos, data + (pos - off), end - pos);
}

/* ---- state changes ---- */

/* The first RTT sample, from the segment completing a handshake: its
 * timestamp echo, or (Karn) the time since an unretransmitted SYN. */
static void handshake_rtt(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t)
{
	if (c->ts_ok && t->has_ts && t->tsecr) {
		uint32_t d = tcp_ms(st) + c->ts_offset - t->tsecr;
		if (d < 60000)
			tcp_rtt_sample(st, c, (uint64_t)d * NS_PER_MS);
	} else if (!c->retransmits && c->rtt_start) {
		tcp_rtt_sample(st, c, st->now - c->rtt_start);
	}
	/* RFC 6298 5.7: the SYN (or SYN-ACK) timed out and no sample came of
	 * it: data starts with an RTO of 3 s, not the 1 s initial one. */
	if (!c->srtt && c->retransmits)
		c->rto = US_MAX(c->rto, 3000 * NS_PER_MS);
}

static void became_established(struct us_stack *st, struct tcp_conn *c)
{
	tcp_set_state(st, c, US_TCP_ESTABLISHED);
	c->retransmits = 0;
	c->backoff = 0;
	c->first_rtx_time = 0;
	c->last_recv = st->now;
	timer_cancel(&st->timers, &c->rtx_timer);
	tcp_arm_keepalive(st, c);
	tcp_rcvbuf_init(c);
	tcp_rack_init(c);
	tcp_plpmtu_init(st, c);
	/* The congestion control starts again now the handshake gave an RTT
	 * (BBR's first pacing rate is the initial window per RTT). */
	c->cc->init(c);
}

/* Returns 1 if the connection is gone. */
static int process_fin(struct us_stack *st, struct tcp_conn *c)
{
	c->rcv_nxt++;
	c->peer_fin = 1;
	c->have_ooo_fin = 0;
	c->ack_now = 1;
	if (c->sock)
		sock_wakeup(st, c->sock);
	switch (c->state) {
	case US_TCP_SYN_RECEIVED:
	case US_TCP_ESTABLISHED:
		tcp_set_state(st, c, US_TCP_CLOSE_WAIT);
		break;
	case US_TCP_FIN_WAIT_1:
		/* Our FIN not yet acknowledged (else we would be in FIN_WAIT_2). */
		tcp_set_state(st, c, US_TCP_CLOSING);
		break;
	case US_TCP_FIN_WAIT_2:
		tcp_send_ack(st, c);
		return tcp_enter_timewait(st, c);
	case US_TCP_TIME_WAIT:
		timer_arm(&st->timers, &c->rtx_timer, st->now + (uint64_t)st->cfg.tcp_timewait_ms * NS_PER_MS);
		break;
	default:
		break;
	}
	return 0;
}

/* tcpi_delivered: segments acknowledged or SACKed. The ring keeps no
 * segment boundaries; bytes count in MSS-sized pieces (Linux counts its
 * packets). */
static void count_delivered(struct tcp_conn *c, uint32_t bytes)
{
	uint32_t mss = c->mss ? c->mss : TCP_DEFAULT_MSS;
	c->delivered += (bytes + mss - 1) / mss;
}

/* What the rest of the segment's processing does after its ACK. */
enum ack_verdict {
	ACK_CONTINUE,   /* go on with URG, the text and the FIN */
	ACK_DROP,       /* stop: the segment is dropped (an ACK may be due) */
	ACK_GONE,       /* the connection is gone and must not be touched */
};

static enum ack_verdict ack_process(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t)
{
	uint32_t ack = t->ack;
	if (SEQ_GT(ack, c->snd_max)) {
		/* RFC 5961 5.2 / RFC 9293: acknowledges something not yet sent. */
		STAT_INC(st, tcpext, TCPAckInvalid);
		if (tcp_oow_ack_ok(st, c, t))
			c->ack_now = 1;
		return ACK_DROP;
	}
	uint32_t max_wnd = US_MAX(c->max_snd_wnd, 65535u);
	if (SEQ_LT(ack, c->snd_una - max_wnd)) {
		STAT_INC(st, tcpext, TCPAckInvalid);
		if (tcp_oow_ack_ok(st, c, t))
			c->ack_now = 1;
		return ACK_DROP;
	}
	if (t->payload_len == 0 && !(t->flags & (TCP_SYN | TCP_FIN)))
		STAT_INC(st, tcpext, TCPPureAcks);
	struct tcp_ack_info ai;
	memset(&ai, 0, sizeof(ai));
	ai.prior_in_flight = tcp_board_pipe(c);
	c->last_rtt = 0;
	uint32_t sacked_before = c->board.sacked;
	if (c->sack_ok && t->n_sack)
		ai.dsack = (uint8_t)sack_update(st, c, t, &ai);
	int new_sack = ai.newly_sacked != 0;
	if (new_sack && !SEQ_GT(ack, c->snd_una))
		count_delivered(c, c->board.sacked - sacked_before);

	uint32_t win = (uint32_t)t->win << c->snd_wscale;
	int win_changed = win != c->snd_wnd;
	int una_advanced = SEQ_GT(ack, c->snd_una);
	uint32_t data_acked = 0;
	if (una_advanced) {
		uint32_t acked = ack - c->snd_una;
		data_acked = US_MIN(acked, c->sndq.len);
		ring_consume(&c->sndq, data_acked);
		tcp_board_ack(st, c, ack, &ai);
		c->sacked_bytes = c->board.sacked;
		c->snd_una = ack;
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		c->bytes_acked += data_acked;
		tcp_notify_acked(st, c);
		/* RTT: from the scoreboard's send times of never-retransmitted
		 * data (to the nanosecond; Karn's rule holds by construction),
		 * else timestamps, else Karn's timed segment. */
		if (ai.rtt_valid)
			c->last_rtt = ai.rtt_new;
		if (ai.rtt_valid && !ai.retrans_delivered) {
			/* (an ACK that also covers a repaired hole may come long
			 * after the rest of what it covers left: as Linux, no
			 * sample then) */
			tcp_rtt_sample(st, c, ai.rtt_old);
			c->rtt_timing = 0;
		} else if (c->ts_ok && t->has_ts && t->tsecr) {
			uint32_t d = tcp_ms(st) + c->ts_offset - t->tsecr;
			if (d < 60000 && !(c->total_retrans && SEQ_LT(t->tsecr, c->rtx_tsval)))
				tcp_rtt_sample(st, c, (uint64_t)d * NS_PER_MS + (d == 0 ? 500000 : 0));
		} else if (c->rtt_timing && SEQ_GT(ack, c->rtt_seq) && !ai.retrans_delivered) {
			tcp_rtt_sample(st, c, st->now - c->rtt_start);
			c->rtt_timing = 0;
		}
		if (c->rto_eifel) {
			/* RFC 3522 (Eifel detection): the first ACK of new data after
			 * a timeout echoes a timestamp older than the retransmission:
			 * the original arrived, the timeout was spurious. Counted; the
			 * window is not restored (no undo). */
			c->rto_eifel = 0;
			if (t->has_ts && t->tsecr && SEQ_LT(t->tsecr, c->rto_tsval))
				STAT_INC(st, tcpext, TCPSpuriousRTOs);
		}
		c->backoff = 0;
		c->retransmits = 0;
		c->first_rtx_time = 0;
		/* acknowledged, and newly SACKed less what was SACKed before */
		count_delivered(c, (uint32_t)((int64_t)data_acked + c->board.sacked - sacked_before));
		tcp_plpmtu_ack(st, c);
		if (c->tlp_out && SEQ_GEQ(ack, c->tlp_high_seq)) {
			/* RFC 8985 7.4: the probe's episode ends. A repeated segment
			 * that no D-SACK showed to be a duplicate repaired a loss:
			 * respond to it as to any loss, unless recovery already did. */
			c->tlp_out = 0;
			if (c->tlp_rexmit && !c->tlp_dsack && c->ca_state == CA_OPEN && !c->cc->cong_control) {
				c->ssthresh = c->cc->ssthresh(c, st->now);
				c->cwnd = US_MAX(c->ssthresh, 2u * c->mss);
				STAT_INC(st, tcpext, TCPLossProbeRecovery);
			}
		}
		if (c->ca_state == CA_RECOVERY) {
			if (SEQ_GEQ(ack, c->recover)) {
				/* Full acknowledgment: recovery ends. With SACK and PRR
				 * the window is ssthresh (RFC 6937); without, RFC 6582
				 * 3.2 step 3. */
				if (c->cc->cong_control)
					;   /* BBR restores its window itself */
				else if (c->sack_ok)
					c->cwnd = US_MAX(c->ssthresh, 2u * c->mss);
				else
					c->cwnd = US_MIN(c->ssthresh, US_MAX(tcp_flight(c), (uint32_t)c->mss) + c->mss);
				c->ca_state = CA_OPEN;
				tcp_rack_recovery_done(c);
			} else if (!c->sack_ok) {
				/* Partial ACK: retransmit the next hole, deflate. */
				tcp_retransmit_head(st, c);
				c->cwnd = c->cwnd > data_acked ? c->cwnd - data_acked : c->mss;
				c->cwnd += c->mss;
			}
		} else if (c->ca_state == CA_LOSS && SEQ_GEQ(ack, c->recover)) {
			c->ca_state = CA_OPEN;
			tcp_rack_recovery_done(c);
		}
		if (!c->sack_ok && c->ca_state != CA_RECOVERY && tcp_cwnd_limited(c) && !c->cc->cong_control)
			c->cc->on_ack(c, data_acked, st->now);
		c->dupacks = 0;
		if (c->snd_una == c->snd_max) {
			c->pto_at = 0;
			c->rack_reo_at = 0;
			if (!c->persist)
				timer_cancel(&st->timers, &c->rtx_timer);
		} else {
			c->persist = 0;
			tcp_arm_rtx(st, c);
		}
		if (c->sock && data_acked) {
			tcp_sndbuf_expand(st, c);
			sock_wakeup(st, c->sock);
		}
	} else if (!c->sack_ok && ack == c->snd_una && c->snd_una != c->snd_max && t->payload_len == 0 &&
		   !(t->flags & (TCP_SYN | TCP_FIN)) && !win_changed) {
		/* A duplicate ACK (RFC 5681 2), without SACK: NewReno (RFC 6582). */
		c->dupacks++;
		if (c->ca_state == CA_OPEN && c->dupacks >= TCP_DUPTHRESH) {
			c->recover = c->snd_max;
			c->ssthresh = c->cc->ssthresh(c, st->now);
			c->ca_state = CA_RECOVERY;
			STAT_INC(st, tcpext, TCPFastRetrans);
			tcp_retransmit_head(st, c);
			STAT_INC(st, tcpext, TCPRenoRecovery);
			if (!c->cc->cong_control)
				c->cwnd = c->ssthresh + TCP_DUPTHRESH * (uint32_t)c->mss;
			tcp_arm_rtx(st, c);
		} else if (c->ca_state == CA_RECOVERY && !c->cc->cong_control) {
			c->cwnd += c->mss;   /* RFC 6582: inflate per duplicate */
		}
	}
	if (c->sack_ok && c->state >= US_TCP_ESTABLISHED && (una_advanced || new_sack || ai.dsack)) {
		/* RACK (RFC 8985): what this ACK delivered moves RACK on; what
		 * was sent before that and is overdue is lost; the first loss
		 * starts recovery, where PRR sets the window; outside recovery
		 * the congestion control grows it. */
		tcp_rack_update(st, c, &ai);
		uint32_t lost = tcp_rack_detect(st, c);
		ai.lost = lost;
		if (lost && c->ca_state == CA_OPEN)
			tcp_enter_recovery(st, c);
		if (c->cc->cong_control)
			;   /* below */
		else if (c->ca_state == CA_RECOVERY)
			tcp_prr_ack(c, ai.delivered, lost, una_advanced);
		else if (una_advanced && tcp_cwnd_limited(c))
			c->cc->on_ack(c, data_acked, st->now);
	}
	tcp_ecn_ece(st, c, t);
	if (una_advanced || new_sack) {
		/* the rate sampler's app-limited mark ends once what was in
		 * flight when it was set is delivered */
		if (c->rs_app_limited && c->rs_delivered > c->rs_app_limited)
			c->rs_app_limited = 0;
		if (c->cc->cong_control && c->state >= US_TCP_ESTABLISHED)
			c->cc->cong_control(st, c, &ai);
		else
			tcp_pacing_update(st, c);
	}
	/* Window update (RFC 9293 3.10.7.4, SND.WL1/WL2). */
	if (SEQ_LT(c->snd_wl1, t->seq) || (c->snd_wl1 == t->seq && SEQ_LEQ(c->snd_wl2, ack))) {
		c->snd_wnd = win;
		c->snd_wl1 = t->seq;
		c->snd_wl2 = ack;
		if (win > c->max_snd_wnd)
			c->max_snd_wnd = win;
		if (win && c->persist) {
			c->persist = 0;
			c->backoff = 0;
			c->probes = 0;
			timer_cancel(&st->timers, &c->rtx_timer);
			if (c->snd_una != c->snd_max)
				tcp_arm_rtx(st, c);
		}
	}

	int fin_acked = c->fin_sent && c->snd_una == c->snd_max && c->sndq.len == 0;
	switch (c->state) {
	case US_TCP_FIN_WAIT_1:
		if (fin_acked) {
			tcp_set_state(st, c, US_TCP_FIN_WAIT_2);
			if (!c->sock)
				timer_arm(&st->timers, &c->rtx_timer,
					  st->now + (uint64_t)st->cfg.tcp_fin_timeout_ms * NS_PER_MS);
		}
		break;
	case US_TCP_CLOSING:
		if (fin_acked)
			return tcp_enter_timewait(st, c) ? ACK_GONE : ACK_DROP;
		break;
	case US_TCP_LAST_ACK:
		if (fin_acked) {
			tcp_done(st, c, 0);
			return ACK_GONE;
		}
		break;
	default:
		break;
	}
	return ACK_CONTINUE;
}

/* Quick ACKs to grant: half the window last advertised, in segments, at
 * most 16 (2 if that is none: Linux's tcp_incr_quickack). */
static void incr_quickack(struct tcp_conn *c)
{
	uint32_t wnd = SEQ_GT(c->rcv_adv, c->last_ack_sent) ? c->rcv_adv - c->last_ack_sent : 0;
	uint32_t q = wnd / (2u * c->rcv_mss);
	q = US_MIN(q ? q : 2u, (uint32_t)TCP_MAX_QUICKACKS);
	if (q > c->quick)
		c->quick = (uint8_t)q;
}

/* In-order data of len bytes arrived: the peer's segment size and the ACK
 * timeout, as Linux's tcp_measure_rcv_mss and tcp_event_data_recv (no RFC
 * fixes them; RFC 9293 3.8.6.3 only bounds the delay). */
static void rcv_event(struct us_stack *st, struct tcp_conn *c, uint32_t len)
{
	if (!c->rcv_mss)
		c->rcv_mss = (uint16_t)US_MIN((uint32_t)c->adv_mss, (uint32_t)TCP_DEFAULT_MSS);
	if (len >= c->rcv_mss)
		c->rcv_mss = (uint16_t)US_MIN(len, (uint32_t)c->adv_mss);
	uint64_t now = st->now;
	if (!c->ato) {
		/* The first data: a quick ACK for each of the first segments. */
		incr_quickack(c);
		c->ato = TCP_DELACK_NS;
	} else {
		uint64_t m = now - c->lrcvtime;
		if (m <= TCP_DELACK_NS / 2)
			c->ato = c->ato / 2 + TCP_DELACK_NS / 2;
		else if (m < c->ato)
			c->ato = US_MIN(c->ato / 2 + m, c->rto);
		else if (m > c->rto)
			incr_quickack(c);   /* idle: the sender restarts, ACK it quickly */
	}
	c->lrcvtime = now;
}

/* Linux's tcp_enter_quickack_mode. */
static void enter_quickack(struct tcp_conn *c)
{
	if (!c->rcv_mss)
		c->rcv_mss = (uint16_t)US_MIN((uint32_t)c->adv_mss, (uint32_t)TCP_DEFAULT_MSS);
	incr_quickack(c);
	c->pingpong = 0;
	c->ato = TCP_DELACK_NS;
}

/* Segment text (RFC 9293 3.10.7.4 seventh). seq/data already trimmed to
 * start at or after rcv_nxt and to fit the window. */
/* Returns 1 if the connection is gone. */
static int data_process(struct us_stack *st, struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len)
{
	uint32_t off = seq - c->rcv_nxt;
	uint32_t room = c->rcvq.cap > tcp_rcv_queued(c) ? c->rcvq.cap - tcp_rcv_queued(c) : 0;
	if (off >= room) {
		STAT_INC(st, tcpext, TCPRcvQDrop);   /* past the buffer (never past the window we offered) */
		c->ack_now = 1;
		return 0;
	}
	if (len > room - off)
		len = room - off;
	uint32_t dl, dr;
	int dup = c->sack_ok && ooo_dup(c, off, off + len, &dl, &dr);
	if (dup)
		note_dup(st, c, c->rcv_nxt + dl, c->rcv_nxt + dr);
	if (off) {
		/* RFC 5681 4.2: an immediate duplicate ACK for out-of-order data.
		 * ACKs are coalesced to the end of the pass (one batch of
		 * frames), except that an ACK whose first block this segment
		 * would push down goes out now: but only the first
		 * TCP_DUPACK_IMMEDIATE of them while RCV.NXT stays where it is,
		 * when the peer takes SACK. After those the blocks wait for the
		 * pass's end, as Linux sends its first dupacks at once and then
		 * compresses the SACKs that follow (tcp_comp_sack; a sender
		 * without SACK counts dupacks, and Linux does not compress
		 * for it either). An ACK for every block a reordering
		 * path opens makes the sender's ACK-clocked transmissions leave
		 * from the CPU that reads them, which reorders the path further:
		 * a kernel BBR sender through a 1% lossy router into ustack
		 * resent 2.0 to 2.3 segments per drop, against 1.4 to 1.9 with
		 * this limit (bench/loss.py, median of 5 runs: 2.83 against 4.14
		 * Gbit/s, the kernel into itself 3.94; limits of 1, 3 and 8 gave
		 * 4.24, 3.78 and 3.41). Past those, an ACK still goes at once
		 * when the block the new one pushes out of what an ACK carries
		 * was in no ACK yet (tcp_rcv_sack_would_hide): else the sender
		 * learns of that data only when RACK has resent it. Through 5%
		 * loss that took the kernel's resends into ustack from 2.2-2.4
		 * per drop to 1.02-1.06 (2.72 -> 3.09 Gbit/s, the kernel into
		 * itself 1.71), and at 1% from 1.4-2.6 to 1.1-1.2 (3.72 -> 4.10,
		 * the kernel 4.41), median of 5 runs. */
		if (c->sack_unsent && !tcp_rcv_sack_extends_head(c, seq, seq + len)) {
			if (c->dupack_rcv_nxt != c->rcv_nxt) {
				c->dupack_rcv_nxt = c->rcv_nxt;
				c->dupacks_sent = 0;
			}
			if (!c->sack_ok) {
				tcp_send_ack(st, c);
			} else if (c->dupacks_sent < TCP_DUPACK_IMMEDIATE) {
				c->dupacks_sent++;
				tcp_send_ack(st, c);
			} else if (tcp_rcv_sack_would_hide(c)) {
				tcp_send_ack(st, c);
			}
		}
		/* Write before recording the range: bytes already held are skipped,
		 * and an untracked write past the readable end is harmless if the
		 * assembler is full. */
		write_new_bytes(c, off, data, len);
		if (asm_add(&c->ooo, off, off + len) < 0 &&
		    (!tcp_ooo_grow(st, c) || asm_add(&c->ooo, off, off + len) < 0)) {
			STAT_INC(st, tcpext, TCPOFODrop);   /* too many holes: bounded memory */
			c->ack_now = 1;
			return 0;
		}
		STAT_INC(st, tcpext, TCPOFOQueue);
		tcp_rcv_sack_ofo(c, seq);
		c->ack_now = 1;
		return 0;
	}
	int had_holes = c->ooo.n != 0;
	uint32_t more = 0;
	struct pkt **slot = tcp_rx_pkt_slot(st), *p = *slot;
	if (c->zc_on && !had_holes && !c->rcvq.len && p && data >= p->data && data + len <= p->data + p->len &&
	    c->zcq.n < TCP_ZC_MAX_PKTS && !pkt_pool_low(&st->pool, p)) {
		/* Zero-copy: the reader gets the segment's own buffer. */
		*slot = NULL;
		p->data = (uint8_t *)(uintptr_t)data;
		p->len = len;
		pktq_push(&c->zcq, p);
	} else {
		write_new_bytes(c, 0, data, len);
		asm_shift(&c->ooo, len);
		more = asm_take_front(&c->ooo);
		c->rcvq.len += len + more;
	}
	c->rcv_nxt += len + more;
	c->bytes_received += len + more;
	if (had_holes) {
		c->ack_now = 1;   /* filled a hole: ACK at once (RFC 5681 4.2) */
		tcp_rcv_sack_advanced(c);
		if (more)
			STAT_INC(st, tcpext, TCPOFOMerge);
	} else {
		c->delack_count = (uint8_t)US_MIN(c->delack_count + (len > c->adv_mss ? 2u : 1u), 255u);
		rcv_event(st, c, len);
		/* More than one segment's worth unacknowledged: at least every
		 * second full segment (RFC 9293 3.8.6.3); or quick ACKs. */
		if (c->rcv_nxt - c->last_ack_sent > c->rcv_mss || (c->quick && !c->pingpong))
			c->ack_now = 1;
		else
			tcp_arm_delack(st, c);
	}
	if (c->sock)
		sock_wakeup(st, c->sock);
	if (c->have_ooo_fin && c->rcv_nxt == c->ooo_fin_seq)
		return process_fin(st, c);
	return 0;
}

/* Header prediction (Van Jacobson's, as in Linux's tcp_rcv_established):
 * the next in-order data of an established connection that acknowledges
 * nothing new, carries no SACK, changes no window and passes PAWS as it
 * stands. Each test below is one the full path makes, so for such a
 * segment the full path would reach the same state by a longer way: it
 * passes the sequence and PAWS tests, its ACK changes nothing but the
 * window's bookkeeping, and its text is the next in the stream. Returns 0,
 * touching nothing, for every other segment. */
static int fast_data(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t)
{
	uint32_t len = (uint32_t)t->payload_len;
	uint32_t win = (uint32_t)t->win << c->snd_wscale;
	if (c->state != US_TCP_ESTABLISHED || (t->flags & (uint8_t)~TCP_PSH) != TCP_ACK || t->seq != c->rcv_nxt ||
	    t->ack != c->snd_una || t->n_sack || !len || win != c->snd_wnd || c->persist || c->ooo.n ||
	    c->have_ooo_fin || !c->sock)
		return 0;
	if (c->ts_ok && (!t->has_ts || (int32_t)(t->tsval - c->ts_recent) < 0))
		return 0;
	if (!SEQ_GT(c->rcv_adv, c->rcv_nxt) || len > c->rcv_adv - c->rcv_nxt)
		return 0;   /* not all of it inside the window */
	tcp_ecn_rx(st, c, t, c->rx_tos);
	if (c->ts_ok && SEQ_LEQ(t->seq, c->last_ack_sent)) {
		c->ts_recent = t->tsval;
		c->ts_recent_stamp = tcp_ms(st);
	}
	c->last_recv = st->now;
	c->probes = 0;
	/* ack_process's part: no RTT this ACK, and the window's update. */
	c->last_rtt = 0;
	if (SEQ_LT(c->snd_wl1, t->seq) || (c->snd_wl1 == t->seq && SEQ_LEQ(c->snd_wl2, t->ack))) {
		c->snd_wl1 = t->seq;
		c->snd_wl2 = t->ack;
		if (win > c->max_snd_wnd)
			c->max_snd_wnd = win;
	}
	tcp_rcv_rtt_sample(st, c, t);
	data_process(st, c, t->seq, t->payload, len);   /* no FIN is waiting: it cannot close */
	tcp_check_invariants(c);
	tcp_schedule_output(st, c);
	return 1;
}

/* Synchronized states and SYN_RECEIVED. Returns with the segment consumed. */
static void established_input(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t)
{
	if (!st->tcp_no_prediction && fast_data(st, c, t)) {
		STAT_INC(st, tcpext, TCPHPHits);
		return;
	}
	uint32_t seq = t->seq;
	const uint8_t *data = t->payload;
	uint32_t len = (uint32_t)t->payload_len;
	int syn = (t->flags & TCP_SYN) != 0, fin = (t->flags & TCP_FIN) != 0, rst = (t->flags & TCP_RST) != 0;

	/* SYN_RECEIVED: a retransmitted SYN gets the SYN-ACK again. */
	if (c->state == US_TCP_SYN_RECEIVED && syn && !(t->flags & TCP_ACK) && seq == c->irs) {
		if (!c->deferred)   /* still waiting for the app: stay silent */
			tcp_send_syn(st, c);
		return;
	}
	/* Simultaneous open (RFC 9293 3.5, figure 7): the peer's SYN-ACK
	 * completes SYN_RECEIVED. Its SYN is the one already taken: go on with
	 * the ACK alone, one past the SYN (Linux accepts it the same way). */
	struct tcp_repr t_ack;
	if (c->state == US_TCP_SYN_RECEIVED && !c->listener && syn && (t->flags & TCP_ACK) && seq == c->irs &&
	    SEQ_GT(t->ack, c->snd_una) && SEQ_LEQ(t->ack, c->snd_max)) {
		t_ack = *t;
		t_ack.seq = ++seq;
		t_ack.flags &= (uint8_t)~TCP_SYN;
		t = &t_ack;
		syn = 0;
	}
	/* PAWS (RFC 7323 5.3), with Linux's replay window of one tick
	 * (TCP_PAWS_WINDOW): a path that reorders, such as a router whose
	 * CPUs forward one flow's packets from two backlogs, delivers segments
	 * a millisecond older than TS.Recent, and dropping them turns
	 * reordering into loss. */
	if (c->ts_ok && t->has_ts && !rst && c->ts_recent && (int32_t)(c->ts_recent - t->tsval) > TCP_PAWS_WINDOW &&
	    (uint64_t)(tcp_ms(st) - c->ts_recent_stamp) < TCP_PAWS_24DAYS) {
		STAT_INC(st, tcpext, PAWSEstab);
		if (tcp_oow_ack_ok(st, c, t)) {
			c->ack_now = 1;
			tcp_schedule_output(st, c);
		}
		return;
	}
	/* First: sequence number acceptable? (RFC 9293 table) */
	uint32_t wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t seg_len = len + (uint32_t)syn + (uint32_t)fin;
	int ok;
	if (seg_len == 0)
		ok = wnd == 0 ? seq == c->rcv_nxt : (SEQ_GEQ(seq, c->rcv_nxt) && SEQ_LT(seq, c->rcv_nxt + wnd));
	else
		ok = wnd != 0 && ((SEQ_GEQ(seq, c->rcv_nxt) && SEQ_LT(seq, c->rcv_nxt + wnd)) ||
				  (SEQ_GEQ(seq + seg_len - 1, c->rcv_nxt) && SEQ_LT(seq + seg_len - 1, c->rcv_nxt + wnd)));
	if (!ok && wnd == 0 && seg_len && seq == c->rcv_nxt)
		ok = -1;   /* zero window: process ACK and RST, drop the text */
	if (!ok) {
		if (syn && !rst) {
			/* RFC 5961 4.2: a SYN, whatever its sequence number, gets a
			 * (rate-limited) challenge ACK. */
			STAT_INC(st, tcpext, TCPSYNChallenge);
			if (tcp_challenge_ack_ok(st)) {
				c->ack_now = 1;
				tcp_schedule_output(st, c);
			}
			return;
		}
		if (!rst) {
			/* TIME_WAIT: a retransmitted FIN restarts 2*MSL (RFC 9293 3.10.7.4). */
			if (c->state == US_TCP_TIME_WAIT && fin && seq + len + 1 == c->rcv_nxt)
				timer_arm(&st->timers, &c->rtx_timer,
					  st->now + (uint64_t)st->cfg.tcp_timewait_ms * NS_PER_MS);
			if (len)
				STAT_INC(st, tcpext, TCPOutOfWindow);
			/* A retransmission of what we have (RFC 2883): reported if it
			 * lies within what a window or two ago could have been. */
			if (len && SEQ_LEQ(seq + len, c->rcv_nxt) && c->state != US_TCP_TIME_WAIT &&
			    c->rcv_nxt - seq <= 2 * tcp_rcvbuf_ceiling(st, c))
				note_dup(st, c, seq, seq + len);
			if (wnd == 0 && len)
				STAT_INC(st, tcpext, TCPZeroWindowDrop);
			if (tcp_oow_ack_ok(st, c, t)) {
				c->ack_now = 1;
				tcp_schedule_output(st, c);
			}
		} else {
			STAT_INC(st, tcpext, TCPRstIgnored);   /* RFC 5961 3.2: out of window, silently */
		}
		return;
	}
	if (ok < 0) {
		STAT_INC(st, tcpext, TCPZeroWindowDrop);
		len = 0;
		fin = 0;
		c->ack_now = 1;
	}
	/* Second: RST (RFC 5961 3.2). */
	if (rst) {
		if (seq != c->rcv_nxt) {
			STAT_INC(st, tcpext, TCPRstIgnored);   /* in window, not exact: challenge it */
			if (tcp_challenge_ack_ok(st)) {
				c->ack_now = 1;
				tcp_schedule_output(st, c);
			}
			return;
		}
		if (c->state == US_TCP_SYN_RECEIVED && c->listener) {
			if (c->fastopen) {
				/* In the accept queue already, with data: accepted later
				 * it reads that data, then ECONNRESET (as Linux). */
				tcp_child_reset(st, c, ECONNRESET);
				return;
			}
			tcp_done(st, c, 0);   /* passive open: back to LISTEN */
			return;
		}
		if (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_CLOSE_WAIT)
			STAT_INC(st, tcp, EstabResets);
		if (c->listener && !c->deferred) {
			tcp_child_reset(st, c, ECONNRESET);   /* not yet accepted: kept for accept() */
			return;
		}
		c->reset = 1;
		int closing = c->state == US_TCP_CLOSING || c->state == US_TCP_LAST_ACK || c->state == US_TCP_TIME_WAIT;
		tcp_done(st, c, closing ? 0 : (c->state == US_TCP_SYN_RECEIVED && !c->fastopen ? ECONNREFUSED : ECONNRESET));
		return;
	}
	/* Fourth: SYN in a synchronized state (RFC 5961 4.2): challenge ACK. */
	if (syn) {
		STAT_INC(st, tcpext, TCPSYNChallenge);
		if (tcp_challenge_ack_ok(st)) {
			c->ack_now = 1;
			tcp_schedule_output(st, c);
		}
		return;
	}
	/* RFC 3168 6.1.3: CE and CWR, for the ECE our ACKs carry. */
	tcp_ecn_rx(st, c, t, c->rx_tos);
	/* Fifth: no ACK, no processing (RFC 9293). */
	if (!(t->flags & TCP_ACK))
		return;
	/* Timestamps to echo (RFC 7323 4.3); a TS.Recent over 24 days old is
	 * no longer valid and is replaced whatever its value (RFC 7323 5.5). */
	if (c->ts_ok && t->has_ts && SEQ_LEQ(seq, c->last_ack_sent) &&
	    (SEQ_GEQ(t->tsval, c->ts_recent) || (uint64_t)(tcp_ms(st) - c->ts_recent_stamp) >= TCP_PAWS_24DAYS)) {
		c->ts_recent = t->tsval;
		c->ts_recent_stamp = tcp_ms(st);
	}
	c->last_recv = st->now;
	c->probes = c->persist ? c->probes : 0;
	if (c->state == US_TCP_SYN_RECEIVED) {
		if (!(SEQ_GT(t->ack, c->snd_una) && SEQ_LEQ(t->ack, c->snd_max))) {
			tcp_send_reset_for(st, &c->laddr, &c->raddr, c->oif, t);
			return;
		}
		struct tcp_conn *l = c->listener;
		if (l && !c->fastopen && l->n_acceptq >= (uint32_t)l->backlog) {
			STAT_INC(st, tcpext, ListenOverflows);
			STAT_INC(st, tcpext, ListenDrops);
			return;   /* the SYN-ACK is retransmitted; the peer's ACK comes again */
		}
		if (tcp_conn_buffers(st, c) < 0) {
			STAT_INC(st, tcpext, TCPAbortOnMemory);
			tcp_send_rst(st, c);
			tcp_done(st, c, ENOMEM);
			return;
		}
		/* (A Fast Open child may have sent data already: the scoreboard
		 * lets go of what this acknowledges too.) */
		uint32_t data_acked = US_MIN(t->ack - c->iss - 1, c->sndq.len);
		ring_consume(&c->sndq, data_acked);
		c->bytes_acked += data_acked;
		struct tcp_ack_info ai;
		memset(&ai, 0, sizeof(ai));
		tcp_board_ack(st, c, t->ack, &ai);
		c->snd_una = t->ack;
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		tcp_notify_acked(st, c);
		c->delivered++;   /* the SYN-ACK */
		count_delivered(c, data_acked);
		c->snd_wnd = (uint32_t)t->win << c->snd_wscale;
		c->max_snd_wnd = c->snd_wnd;
		c->snd_wl1 = seq;
		c->snd_wl2 = t->ack;
		handshake_rtt(st, c, t);
		became_established(st, c);
		if (c->snd_una != c->snd_max)
			tcp_arm_rtx(st, c);
		STAT_INC(st, tcp, PassiveOpens);
		tcp_child_established(st, c);
		tcp_defer_done(st, c);
		if (c->sock)
			sock_wakeup(st, c->sock);   /* accepted before its handshake completed (deferred) */
	} else {
		enum ack_verdict v = ack_process(st, c, t);
		if (v == ACK_GONE)
			return;
		if (v == ACK_DROP)
			goto out;
	}
	/* Sixth: URG. Urgent data is delivered inline; the pointer is never used. */
	if (t->flags & TCP_URG)
		STAT_INC(st, tcpext, TCPUrgIgnored);
	/* Seventh: segment text. */
	if (len && (c->state == US_TCP_ESTABLISHED || c->state == US_TCP_FIN_WAIT_1 || c->state == US_TCP_FIN_WAIT_2)) {
		if (!c->sock && !c->listener) {
			/* Closed by the application: nobody will read this (RFC 9293
			 * 3.10.4 / RFC 2525): reset. */
			STAT_INC(st, tcpext, TCPAbortOnData);
			tcp_send_rst(st, c);
			tcp_done(st, c, ECONNRESET);
			return;
		}
		if (SEQ_LT(seq, c->rcv_nxt)) {
			uint32_t skip = c->rcv_nxt - seq;
			note_dup(st, c, seq, skip >= len ? seq + len : c->rcv_nxt);
			if (skip >= len) {
				len = 0;
			} else {
				data += skip;
				len -= skip;
				seq = c->rcv_nxt;
			}
			c->ack_now = 1;   /* a retransmission we had: tell the peer now */
		}
		uint32_t end_wnd = c->rcv_nxt + wnd;
		if (len && SEQ_GT(seq + len, end_wnd)) {
			len = end_wnd - seq;
			fin = 0;   /* the FIN lies beyond the window */
		}
		if (len)
			tcp_rcv_rtt_sample(st, c, t);
		if (len && data_process(st, c, seq, data, len))
			return;
	}
	/* Eighth: FIN. */
	if (fin && c->state != US_TCP_SYN_RECEIVED) {
		uint32_t fseq = t->seq + (uint32_t)t->payload_len;
		if (fseq == c->rcv_nxt && !c->peer_fin) {
			if (process_fin(st, c))
				return;
		} else if (c->state == US_TCP_TIME_WAIT && fseq + 1 == c->rcv_nxt) {
				c->ack_now = 1;   /* a retransmitted FIN: ACK it and restart 2MSL */
				timer_arm(&st->timers, &c->rtx_timer,
					  st->now + (uint64_t)st->cfg.tcp_timewait_ms * NS_PER_MS);
		} else if (SEQ_GT(fseq, c->rcv_nxt) && !c->peer_fin) {
			c->have_ooo_fin = 1;
			c->ooo_fin_seq = fseq;
			c->ack_now = 1;   /* out of order: a duplicate ACK at once (RFC 5681 4.2) */
		}
	}
out:
	tcp_check_invariants(c);
	if (c->state == US_TCP_TIME_WAIT) {
		if (c->ack_now)
			tcp_send_ack(st, c);
		return;
	}
	if (c->state != US_TCP_CLOSED)
		tcp_schedule_output(st, c);
}

static void syn_sent_input(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t)
{
	int ack = (t->flags & TCP_ACK) != 0;
	if (ack && (SEQ_LEQ(t->ack, c->iss) || SEQ_GT(t->ack, c->snd_max))) {
		if (!(t->flags & TCP_RST))
			tcp_send_reset_for(st, &c->laddr, &c->raddr, c->oif, t);
		else
			STAT_INC(st, tcpext, TCPRstIgnored);   /* RFC 9293 3.10.7.3: its ACK is not ours */
		return;
	}
	if (t->flags & TCP_RST) {
		if (ack) {
			STAT_INC(st, tcp, AttemptFails);
			c->reset = 1;
			tcp_done(st, c, ECONNREFUSED);
		} else {
			STAT_INC(st, tcpext, TCPRstIgnored);   /* no ACK: not an answer to our SYN */
		}
		return;
	}
	if (!(t->flags & TCP_SYN))
		return;
	if (ack && c->syn_ts && t->has_ts && t->tsecr &&
	    !(SEQ_GEQ(t->tsecr, c->syn_tsval) && SEQ_LEQ(t->tsecr, tcp_ms(st) + c->ts_offset))) {
		/* The SYN-ACK echoes a timestamp we never sent: not an answer
		 * to our SYN. No RFC says what then; as Linux (PAWSActive) it
		 * is reset like one with an unacceptable ACK (RFC 9293
		 * 3.10.7.3), and the real answer may still come. */
		STAT_INC(st, tcpext, PAWSActive);
		tcp_send_reset_for(st, &c->laddr, &c->raddr, c->oif, t);
		return;
	}
	c->irs = t->seq;
	c->rcv_nxt = t->seq + 1;
	/* The window our SYN offered (unscaled, RFC 7323 2.2): data in the
	 * SYN-ACK falls in it (RFC 9293 3.10.7.3 queues it). */
	c->rcv_adv = c->rcv_nxt;
	c->rcv_adv = c->rcv_nxt + US_MIN(tcp_rcv_window(c), 65535u);
	take_syn_opts(st, c, t);
	if (!c->ws_ok)
		c->rcv_wscale = 0;
	c->snd_wnd = t->win;   /* a SYN's window is never scaled */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = t->seq;
	c->snd_wl2 = t->ack;
	cc_start(st, c);
	if (ack) {
		/* Fast Open (RFC 7413 4.2.2): what of the SYN's data the ACK
		 * covers leaves the ring; the rest is sent again at once, after
		 * the handshake (Linux's tcp_rcv_fastopen_synack). */
		uint32_t data_acked = US_MIN(t->ack - c->iss - 1, c->sndq.len);
		tcp_fo_synack(st, c, t);
		ring_consume(&c->sndq, data_acked);
		c->bytes_acked += data_acked;
		if (c->syn_data && !c->retransmits && data_acked >= c->syn_data) {
			c->syn_data_acked = 1;
			STAT_INC(st, tcpext, TCPFastOpenActive);
		} else if (c->syn_data) {
			STAT_INC(st, tcpext, TCPFastOpenActiveFail);
		}
		c->snd_una = t->ack;
		c->snd_nxt = c->snd_una;   /* data the SYN-ACK left unacknowledged: again */
		c->delivered++;            /* the SYN (with its data: one packet) */
		c->lrcvtime = st->now;     /* as Linux's tcp_finish_connect */
		tcp_notify_acked(st, c);
		tcp_ecn_synack_in(c, t);
		handshake_rtt(st, c, t);
		became_established(st, c);
		if (c->write_pending && !c->sndq.len && !t->payload_len && !(t->flags & TCP_FIN)) {
			/* A writer waits to send: its data will carry the ACK
			 * (Linux's "save one ACK", at most TCP_DELACK_MAX). Sent
			 * this soon after the SYN-ACK, it makes the exchange look
			 * interactive (pingpong), as on Linux. */
			enter_quickack(c);
			c->lrcvtime = st->now;
			timer_cancel(&st->timers, &c->delack_timer);
			timer_arm(&st->timers, &c->delack_timer, st->now + TCP_DELACK_MAX_NS);
		} else {
			c->ack_now = 1;
		}
		if (c->sock)
			sock_wakeup(st, c->sock);
		tcp_schedule_output(st, c);
		if (t->payload_len || (t->flags & TCP_FIN)) {
			/* Data in the SYN-ACK (RFC 9293 3.10.7.3: queued for the user). */
			struct tcp_repr t2 = *t;
			t2.seq = t->seq + 1;
			t2.flags &= (uint8_t)~TCP_SYN;
			established_input(st, c, &t2);
		}
		return;
	}
	/* Simultaneous open (RFC 9293 3.5 figure 8). */
	tcp_set_state(st, c, US_TCP_SYN_RECEIVED);
	tcp_send_syn(st, c);
	tcp_arm_rtx(st, c);
}

/* The MSS we advertise toward raddr: the route's MTU less 40. 0 when
 * there is no route back: such a peer gets no SYN-ACK and no connection,
 * as on Linux (inet_csk_route_req fails; Ip.OutNoRoutes and ListenDrops
 * counted by the caller). A local address needs no route. */
static uint16_t adv_mss_to(struct us_stack *st, const struct us_addr *raddr, int oif)
{
	struct ip_path path;
	return ip_route_oif(st, raddr, oif, &path) == 0 ? tcp_mss_for_mtu(raddr, path.mtu) : 0;
}

/* The zone of p's source: the interface it came in on, for a link-local one. */
static int src_zone(const struct pkt *p) { return ip_zone(&p->src, p->iface ? p->iface->index : 0); }

/* A SYN or cookie ACK from a source we cannot answer. */
static void drop_no_route(struct us_stack *st)
{
	STAT_INC(st, ip, OutNoRoutes);
	STAT_INC(st, tcpext, ListenDrops);
}

/* A connection for a segment arriving at listener l: its 4-tuple, the
 * listener's socket options, the advertised MSS (adv_mss, non-zero). NULL
 * at the limit. */
static struct tcp_conn *child_new(struct us_stack *st, const struct tcp_conn *l, const struct pkt *p,
				  const struct tcp_repr *t, uint16_t adv_mss)
{
	struct tcp_conn *c = tcp_conn_new(st);
	if (!c)
		return NULL;
	c->laddr = p->dst;
	c->raddr = p->src;
	c->oif = src_zone(p);
	c->lport = t->dport;
	c->rport = t->sport;
	c->rcvbuf = l->rcvbuf;
	c->sndbuf = l->sndbuf;
	c->rcvbuf_locked = l->rcvbuf_locked;
	c->tos = l->tos;
	c->lrcvtime = st->now;   /* as Linux's tcp_create_openreq_child */
	c->notsent_lowat = l->notsent_lowat;
	c->pmtu_dont = l->pmtu_dont;
	c->hops6 = l->hops6;
	c->hops6_set = l->hops6_set;
	c->sndbuf_locked = l->sndbuf_locked;
	c->nodelay = l->nodelay;
	c->zc_on = l->zc_on;
	c->keepalive = l->keepalive;
	c->keepidle = l->keepidle;
	c->keepintvl = l->keepintvl;
	c->keepcnt = l->keepcnt;
	c->user_mss = l->user_mss;
	c->user_timeout_ms = l->user_timeout_ms;
	c->cc = l->cc;
	c->adv_mss = adv_mss;
	if (c->user_mss)
		c->adv_mss = US_MIN(c->adv_mss, c->user_mss);   /* TCP_MAXSEG: what we offer too, as Linux */
	return c;
}

static void listen_syn(struct us_stack *st, struct tcp_conn *l, struct pkt *p, const struct tcp_repr *t)
{
	if (l->n_acceptq >= (uint32_t)l->backlog) {
		STAT_INC(st, tcpext, ListenOverflows);
		STAT_INC(st, tcpext, ListenDrops);
		return;
	}
	/* Half-open connections hold at most half of the connection table:
	 * past that (or with the table full), SYN cookies, so that a SYN flood
	 * never takes the slots that established connections need. */
	int full = l->n_synq >= (uint32_t)l->backlog ||
		   tcp_synq_total(st) >= US_MIN(st->cfg.tcp_max_syn_backlog, st->cfg.tcp_max_conns / 2) ||
		   tcp_n_conns(st) >= st->cfg.tcp_max_conns;
	uint16_t adv_mss = adv_mss_to(st, &p->src, src_zone(p));
	if (!adv_mss) {
		drop_no_route(st);
		return;
	}
	if (st->cfg.tcp_syncookies == 2 || (full && st->cfg.tcp_syncookies >= 1)) {
		/* RFC 4987 SYN cookie: answer without keeping state. Options beyond
		 * the MSS are not kept (documented limitation). */
		struct tcp_conn tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.laddr = p->dst;
		tmp.raddr = p->src;
		tmp.oif = src_zone(p);
		tmp.lport = t->dport;
		tmp.rport = t->sport;
		tmp.rcvbuf = st->cfg.tcp_rmem;
		tmp.adv_mss = adv_mss;
		tmp.hops6 = l->hops6;   /* the listener's IPV6_UNICAST_HOPS, as a child's SYN-ACK */
		tmp.hops6_set = l->hops6_set;
		uint16_t mss = US_MIN(t->has_mss && t->mss >= TCP_MSS_MIN ? t->mss : tcp_default_mss(&p->src), tmp.adv_mss);
		tmp.iss = tcp_cookie_make(st, &tmp.laddr, tmp.lport, &tmp.raddr, tmp.rport, t->seq, mss);
		tmp.rcv_nxt = t->seq + 1;
		tmp.rcv_adv = tmp.rcv_nxt;
		tmp.snd_nxt = tmp.iss;
		tmp.state = US_TCP_SYN_RECEIVED;
		tmp.cc = &tcp_newreno;
		tcp_send_syn(st, &tmp);
		STAT_INC(st, tcpext, SyncookiesSent);
		return;
	}
	if (full) {
		STAT_INC(st, tcpext, ListenDrops);
		return;
	}
	struct tcp_conn *c = child_new(st, l, p, t, adv_mss);
	if (!c) {
		STAT_INC(st, tcpext, ListenDrops);
		return;
	}
	c->irs = t->seq;
	c->rcv_nxt = t->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	c->rcv_wscale = tcp_choose_wscale(st, c);
	take_syn_opts(st, c, t);
	tcp_ecn_syn_in(st, c, t);
	c->iss = tcp_isn(st, &c->laddr, c->lport, &c->raddr, c->rport);
	c->ts_offset = (uint32_t)addr_hash(st->rand.key, &c->laddr, &c->raddr, c->lport, c->rport);
	c->snd_una = c->iss;
	c->snd_nxt = c->iss;
	c->snd_max = c->iss;
	c->snd_wnd = t->win;
	cc_start(st, c);
	tcp_set_state(st, c, US_TCP_SYN_RECEIVED);
	tcp_hash_insert(st, c);
	tcp_child_add(st, l, c);
	c->rtt_start = st->now;
	if (l->defer_syn) {
		/* The app decides (us_accept_finish): SYN-ACK or RST. */
		tcp_child_defer(st, c);
		return;
	}
	if (tcp_fo_passive(st, l, c, t) && tcp_conn_buffers(st, c) == 0) {
		/* Fast Open (RFC 7413 4.2.2): the data is taken now and the child
		 * can be accepted at once; the SYN-ACK acknowledges the data. */
		uint32_t n = (uint32_t)US_MIN(t->payload_len, (size_t)c->rcvq.cap);
		if (n) {
			ring_write_at(&c->rcvq, 0, t->payload, n);
			c->rcvq.len += n;
			c->rcv_nxt += n;
			c->rcv_adv = c->rcv_nxt;
			c->bytes_received += n;
			c->syn_data_acked = 1;
		}
		c->fastopen = 1;
		tcp_child_fastopen(st, c);
		if (c->listener && c->listener->sock)
			sock_wakeup(st, c->listener->sock);
	}
	tcp_send_syn(st, c);
	tcp_arm_rtx(st, c);
}

static void listen_input(struct us_stack *st, struct tcp_conn *l, struct pkt *p, const struct tcp_repr *t)
{
	if (t->flags & TCP_RST)
		return;
	if (t->flags & TCP_ACK) {
		/* Third step of a handshake answered with a cookie? */
		if (st->cfg.tcp_syncookies >= 0 && !(t->flags & TCP_SYN)) {
			uint16_t mss = tcp_cookie_check(st, &p->dst, t->dport, &p->src, t->sport, t->seq - 1, t->ack - 1);
			uint16_t adv_mss = mss ? adv_mss_to(st, &p->src, src_zone(p)) : 0;
			if (mss && !adv_mss) {
				drop_no_route(st);   /* Linux: cookie_v4_check's route lookup fails */
				return;
			}
			if (mss && l->n_acceptq < (uint32_t)l->backlog) {
				struct tcp_conn *c = child_new(st, l, p, t, adv_mss);
				if (c) {
					STAT_INC(st, tcpext, SyncookiesRecv);
					c->irs = t->seq - 1;
					c->iss = t->ack - 1;
					c->rcv_nxt = t->seq;
					c->rcv_adv = t->seq + US_MIN(c->rcvbuf, 65535u);
					c->snd_una = c->snd_nxt = c->snd_max = t->ack;
					c->peer_mss = mss;
					cc_start(st, c);
					c->snd_wnd = t->win;
					c->max_snd_wnd = c->snd_wnd;
					c->snd_wl1 = t->seq;
					c->snd_wl2 = t->ack;
					if (tcp_conn_buffers(st, c) < 0) {
						tcp_conn_free(st, c);
						return;
					}
					tcp_set_state(st, c, US_TCP_SYN_RECEIVED);
					tcp_hash_insert(st, c);
					tcp_child_add(st, l, c);
					became_established(st, c);
					STAT_INC(st, tcp, PassiveOpens);
					tcp_child_established(st, c);
					/* The ACK may carry data. */
					if (t->payload_len || (t->flags & TCP_FIN)) {
						struct tcp_repr t2 = *t;
						established_input(st, c, &t2);
					}
					return;
				}
			} else if (mss) {
				/* A good cookie but a full accept queue: drop it, the peer
				 * retransmits (Linux does the same); a RST would kill a
				 * legitimate connection. */
				STAT_INC(st, tcpext, ListenOverflows);
				STAT_INC(st, tcpext, ListenDrops);
				return;
			} else {
				STAT_INC(st, tcpext, SyncookiesFailed);
			}
		}
		tcp_send_reset_for(st, &p->dst, &p->src, src_zone(p), t);
		return;
	}
	if (!(t->flags & TCP_SYN) || (t->flags & TCP_FIN))
		return;   /* no SYN, or SYN+FIN: dropped */
	listen_syn(st, l, p, t);
}

void tcp_input(struct us_stack *st, struct pkt *p)
{
	struct tcp_repr t;
	STAT_INC(st, tcp, InSegs);
	int rc = tcp_parse_ph(p->data, p->len, ip_pseudo(&p->src, &p->dst, IP_PROTO_TCP), &t, !(p->flags & PKT_F_CSUM_OK));
	if (rc < 0) {
		if (rc == -EBADMSG)
			STAT_INC(st, tcp, InCsumErrors);
		STAT_INC(st, tcp, InErrs);
		goto drop;
	}
	if (t.bad_opts)
		STAT_INC(st, tcpext, TCPBadOpts);
	if (p->flags & PKT_F_BCAST)
		goto drop;   /* TCP is unicast only */
	struct tcp_conn *c = tcp_lookup(st, &p->dst, t.dport, &p->src, t.sport);
	if (c && c->state == US_TCP_TIME_WAIT && (t.flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
	    (SEQ_GT(t.seq, c->rcv_nxt) || (c->ts_ok && t.has_ts && SEQ_GT(t.tsval, c->ts_recent)))) {
		/* RFC 9293 3.6.1 / RFC 6191: a new incarnation may take over a
		 * TIME_WAIT connection. */
		STAT_INC(st, tcpext, TCPTimeWaitRecycled);
		tcp_done(st, c, 0);
		c = NULL;
	}
	if (c) {
		c->segs_in++;
		c->rx_tos = p->ip_tos;
		struct pkt **slot = tcp_rx_pkt_slot(st);
		*slot = p;
		if (c->state == US_TCP_SYN_SENT)
			syn_sent_input(st, c, &t);
		else
			established_input(st, c, &t);
		p = *slot;   /* NULL: kept for a zero-copy reader */
		*slot = NULL;
		goto drop;
	}
	/* A non-local destination only ever reaches the transparent listener. */
	struct tcp_conn *l = (p->flags & PKT_F_NONLOCAL) ? tcp_lookup_transparent(st, &p->dst)
							 : tcp_lookup_listener(st, &p->dst, t.dport);
	if (l) {
		listen_input(st, l, p, &t);
		goto drop;
	}
	/* CLOSED (RFC 9293 3.10.7.1): every segment but a RST gets a RST. */
	tcp_send_reset_for(st, &p->dst, &p->src, src_zone(p), &t);
drop:
	pkt_free(&st->pool, p);
}

void tcp_err(struct us_stack *st, const struct us_l4_err *e)
{
	uint32_t info = e->info;
	const uint8_t *th = e->l4;
	size_t thlen = e->l4_len;
	uint8_t type = e->type, code = e->code;
	if (thlen < 8)
		return;
	struct tcp_conn *c = tcp_lookup(st, &e->src, rd_be16(th), &e->dst, rd_be16(th + 2));
	if (!c)
		return;
	uint32_t seq = rd_be32(th + 4);
	/* RFC 5927 4.1: the quoted sequence number must be in flight (in
	 * SYN_SENT: the SYN's, ISS). */
	if (!(SEQ_GEQ(seq, c->snd_una) && SEQ_LT(seq, c->snd_max))) {
		STAT_INC(st, icmp, InInvalidQuote);
		return;
	}
	if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED) {
		/* IPv6's Packet Too Big (net/icmp6.c left the path MTU to us
		 * for a TCP quote): now that it names a segment in flight. */
		if (!addr_is_v4(&c->raddr))
			ip_pmtu_update(st, &c->raddr, info);
		if (c->pmtu_dont)
			return;   /* IP_PMTUDISC_DONT: no DF, no path MTU (Linux's tcp_v4_err) */
		/* ICMPv4's next-hop MTU is 16 bits, ICMPv6's 32 (RFC 4443 3.2):
		 * one above 65535 is no limit, not its low bits. */
		uint32_t mtu = addr_is_v4(&c->raddr) ? info & 0xFFFF : US_MIN(info, 65535u);
		if (mtu < 68)
			return;   /* RFC 1191: ignore nonsense; never raise the MSS */
		if (c->state == US_TCP_SYN_SENT) {
			/* Our SYN was too big (Fast Open data): as Linux
			 * (tcp_v4_mtu_reduced, tcp_simple_retransmit), it goes
			 * again at once, plain (no data, no cookie: RFC 7413 4.2.1
			 * falls back so), offering the MSS the path carries; the
			 * data follows the handshake at that size. No RTT sample
			 * comes of it (Karn). */
			uint32_t m = mtu - ip_hdr_len(&c->raddr) - 20;
			if (m < 48 || m >= c->adv_mss)
				return;
			c->adv_mss = (uint16_t)m;
			c->user_mss = c->user_mss ? US_MIN(c->user_mss, (uint16_t)m) : (uint16_t)m;
			if (c->syn_data) {
				c->syn_data = 0;
				c->fo_out.kind = 0;
			}
			c->rtt_start = 0;
			tcp_send_syn(st, c);
			return;
		}
		uint32_t hl = ip_hdr_len(&c->raddr) + 20;   /* IP and TCP headers: 40 or 60 */
		uint32_t m = mtu - hl - (c->ts_ok ? 12 : 0);
		if (m < (uint32_t)c->mss && m >= 48) {
			c->mss = (uint16_t)m;
			c->user_mss = c->user_mss ? US_MIN(c->user_mss, (uint16_t)(mtu - hl)) : (uint16_t)(mtu - hl);
			tcp_plpmtu_icmp(c);
			/* Resend what was lost at the old size: with SACK, every
			 * unSACKed record is marked lost (no window cut: not
			 * congestion, as Linux's tcp_simple_retransmit); without,
			 * go back to SND.UNA. */
			if (c->sack_ok && c->state >= US_TCP_ESTABLISHED) {
				tcp_board_timeout(c, 0);
				c->sacked_bytes = c->board.sacked;
			} else {
				c->snd_nxt = c->snd_una;
			}
			tcp_schedule_output(st, c);
		}
		return;
	}
	int hard = type == ICMP_DEST_UNREACH &&
		   (code == ICMP_PORT_UNREACH || code == ICMP_PROT_UNREACH || code == ICMP_HOST_UNREACH ||
		    code == ICMP_NET_UNREACH);
	if (c->state == US_TCP_SYN_SENT && hard) {
		STAT_INC(st, tcp, AttemptFails);
		tcp_done(st, c, code == ICMP_PORT_UNREACH ? ECONNREFUSED : (code == ICMP_NET_UNREACH ? ENETUNREACH : EHOSTUNREACH));
		return;
	}
	if (c->state == US_TCP_SYN_RECEIVED && c->listener && !c->fastopen && hard) {
		/* A half-open connection whose SYN-ACK the path refuses: gone,
		 * as Linux drops the request (tcp_req_err; RFC 5461 4 lets hard
		 * errors end connection attempts). A later ACK finds no one. */
		STAT_INC(st, tcpext, ListenDrops);
		tcp_done(st, c, 0);
		return;
	}
	/* Established: soft errors only (RFC 5461, RFC 5927). */
	STAT_INC(st, tcpext, TCPIcmpSoftErrors);
	c->soft_err = 1;
}
