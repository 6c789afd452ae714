/* TCP output: segments from the send ring with the options the connection
 * negotiated, window and Nagle/SWS rules (RFC 9293 3.8.6), recovery
 * sending (RFC 6582 without SACK, RFC 6675 with it), RSTs and probes. */
#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "net/iface.h"
#include "link/link.h"
#include "net/route.h"
#include "transport/tcp.h"
#include "wire/ipv4.h"

/* The device's TSO flag for the destination's family. */
static uint32_t tso_flag(const struct us_addr *a) { return addr_is_v4(a) ? US_LINK_TSO4 : US_LINK_TSO6; }

uint16_t tcp_mss_for_mtu(const struct us_addr *raddr, uint32_t mtu)
{
	uint32_t hdrs = ip_hdr_len(raddr) + TCP_HDR_LEN;
	uint32_t m = mtu > hdrs ? mtu - hdrs : TCP_MSS_MIN;
	return (uint16_t)US_MIN(m, 65535u - hdrs);
}

/* The send MSS: the peer's limit, our MTU and TCP_MAXSEG, less the
 * timestamp option that every segment will carry. */
void tcp_update_mss(struct us_stack *st, struct tcp_conn *c)
{
	/* Without a route (none yet, or gone) the path is not written: the
	 * default MTU and no offloads; what the connection sends is dropped
	 * and counted by the network layer (Ip.OutNoRoutes). */
	struct ip_path path;
	if (!addr_is_v4(&c->raddr))
		c->pmtu6_gen = route6_pmtu_gen(st);
	int routed = ip_route_oif(st, &c->raddr, c->oif, &path) == 0;
	uint32_t mtu = routed ? path.mtu : 1500;
	uint32_t m = US_MIN((uint32_t)c->peer_mss, (uint32_t)tcp_mss_for_mtu(&c->raddr, mtu));
	if (c->user_mss)
		m = US_MIN(m, (uint32_t)c->user_mss);
	if (c->ts_ok)
		m -= 12;
	if (c->mss_cap)
		m = US_MIN(m, (uint32_t)c->mss_cap);   /* PLPMTUD's safe size */
	c->mss = (uint16_t)US_MAX(m, 64u);
	/* Offloads of the device the route leaves by: partial checksums, and
	 * TSO super-segments of whole MSS-sized pieces within one 64 KiB
	 * datagram (IP and TCP headers with options included). */
	c->gso_max = 0;
	c->tx_csum_partial = 0;
	if (routed && !path.local) {
		uint32_t lf = path.link_flags;
		if (lf & US_LINK_CSUM)
			c->tx_csum_partial = 1;
		uint32_t segs = (65535u - ip_hdr_len(&c->raddr) - TCP_HDR_LEN - 40) / c->mss;
		if ((lf & US_LINK_CSUM) && (lf & tso_flag(&c->raddr)) && segs > 1)
			c->gso_max = US_MIN(segs, (uint32_t)st->cfg.tcp_tso_max_segs) * c->mss;
	}
}

/* Bytes sent and not acknowledged. Our SYN does not count: a Fast Open
 * SYN-ACK (or SYN) and the data after it are in flight before the
 * handshake ends, and the peer's window, offered in a SYN without an ACK,
 * counts from our first data byte (as Linux's, whose packets_out leaves
 * the SYN out). */
uint32_t tcp_flight(const struct tcp_conn *c)
{
	uint32_t base = tcp_snd_base(c);
	return SEQ_GT(c->snd_nxt, base) ? c->snd_nxt - base : 0;
}

/* Count a retransmission and remember when it happened, so RTT samples
 * that echo an older timestamp are discarded (Karn's rule for RFC 7323). */
static void note_retransmit(struct us_stack *st, struct tcp_conn *c)
{
	c->total_retrans++;
	c->rtx_tsval = tcp_ms(st) + c->ts_offset;
	c->rtt_timing = 0;
	STAT_INC(st, tcp, RetransSegs);
}

uint32_t tcp_rcv_window(const struct tcp_conn *c)
{
	uint32_t free_b = c->rcvq.cap > tcp_rcv_queued(c) ? c->rcvq.cap - tcp_rcv_queued(c) : 0;
	if (c->state < US_TCP_ESTABLISHED && !c->rcvq.buf)
		free_b = c->rcvbuf;
	uint32_t cur = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	/* Receiver SWS avoidance (RFC 9293 3.8.6.2.2): open the window only by
	 * a full segment or half the buffer; never shrink it. */
	uint32_t step = US_MIN(c->rcvbuf / 2, (uint32_t)(c->adv_mss ? c->adv_mss : TCP_DEFAULT_MSS));
	if (free_b < cur + step && free_b != c->rcvbuf)
		return cur;
	uint32_t max = 65535u << c->rcv_wscale;
	return US_MIN(free_b, max);
}

uint8_t tcp_choose_wscale(const struct us_stack *st, const struct tcp_conn *c)
{
	/* No RFC fixes the value; as Linux (tcp_select_initial_window): the
	 * scale that covers the largest buffer autotuning may grow to, that is
	 * tcp_rmem_max, unless SO_RCVBUF fixed the buffer: log2 of it, less 15. */
	uint32_t space = c->rcvbuf;
	if (!c->rcvbuf_locked)
		space = US_MAX(space, st->cfg.tcp_rmem_max);
	uint8_t s = 0;
	while (s < 31 && (space >> (s + 1)))
		s++;
	s = s > 15 ? (uint8_t)(s - 15) : 0;
	return US_MIN(s, (uint8_t)TCP_MAX_WSCALE);
}

static void fill_opts(struct us_stack *st, struct tcp_conn *c, struct tcp_repr *r)
{
	if (r->flags & TCP_SYN) {
		r->has_mss = 1;
		r->mss = c->adv_mss;
		int active = !(r->flags & TCP_ACK);
		if (active ? st->cfg.tcp_window_scaling > 0 : c->ws_ok) {
			r->has_wscale = 1;
			r->wscale = c->rcv_wscale;
		}
		r->sack_perm = active ? st->cfg.tcp_sack > 0 : c->sack_ok;
		if (c->fo_out.kind) {
			r->fo = c->fo_out.kind;
			r->fo_len = c->fo_out.len;
			memcpy(r->fo_cookie, c->fo_out.cookie, c->fo_out.len);
		}
		if (active ? st->cfg.tcp_timestamps > 0 : c->ts_ok) {
			r->has_ts = 1;
			r->tsval = tcp_ms(st) + c->ts_offset;
			r->tsecr = active ? 0 : c->ts_recent;
		}
		return;
	}
	if (c->ts_ok) {
		r->has_ts = 1;
		r->tsval = tcp_ms(st) + c->ts_offset;
		r->tsecr = c->ts_recent;
	}
	if (r->flags & TCP_ACK)
		r->n_sack = (uint8_t)tcp_rcv_sack_blocks(c, r->sack, TCP_MAX_SACK);
}

/* ---- pacing ----
 * The transmission after `bytes` may leave bytes/rate later (Linux's
 * EDT model: tcp_wstamp_ns). Credit for time the sender did not use is
 * kept up to one timer tick, so a pacing timer that fires a tick late (the
 * wheel's granularity) sends that tick's worth at once instead of losing
 * it: bursts are at most about 1 ms of data. BBR sets the rate; for the
 * others (tcp_pacing 1) it is cwnd/SRTT, twice that in slow start and 1.2
 * times in congestion avoidance (Linux's tcp_update_pacing_rate). */
#define PACING_CREDIT_NS (1ull << TW_TICK_SHIFT)

static int pacing_on(const struct us_stack *st, const struct tcp_conn *c)
{
	if (!c->pacing_rate)
		return 0;
	return c->cc->cong_control ? st->cfg.tcp_pacing >= 0 : st->cfg.tcp_pacing > 0;
}

static int pace_blocked(struct us_stack *st, struct tcp_conn *c)
{
	if (!pacing_on(st, c) || c->pacing_next <= st->now)
		return 0;
	if (!timer_pending(&c->pace_timer) || c->pace_timer.expires > c->pacing_next)
		timer_arm(&st->timers, &c->pace_timer, c->pacing_next);
	return 1;
}

static void pace_sent(struct us_stack *st, struct tcp_conn *c, uint32_t bytes)
{
	if (!pacing_on(st, c))
		return;
	uint64_t base = st->now > PACING_CREDIT_NS ? st->now - PACING_CREDIT_NS : 0;
	base = US_MAX(base, c->pacing_next);
	c->pacing_next = base + (uint64_t)bytes * 1000000000ull / c->pacing_rate;
}

void tcp_pacing_update(struct us_stack *st, struct tcp_conn *c)
{
	if (c->cc->cong_control || st->cfg.tcp_pacing <= 0 || !c->srtt)
		return;
	uint64_t rate = (uint64_t)c->cwnd * 1000000000ull / c->srtt;
	c->pacing_rate = c->cwnd < c->ssthresh / 2 ? rate * 2 : rate * 6 / 5;
}

/* Build and send one segment: seq, len bytes of the send ring at seq. */
static int send_segment(struct us_stack *st, struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	struct tcp_repr r;
	memset(&r, 0, sizeof(r));
	uint8_t tos = 0;
	if (flags & TCP_SYN)
		flags |= tcp_ecn_syn_flags(c, (flags & TCP_ACK) != 0);
	else
		tos = tcp_ecn_out(c, seq, len, &flags);
	r.sport = c->lport;
	r.dport = c->rport;
	r.seq = seq;
	r.flags = flags;
	if (flags & TCP_ACK)
		r.ack = c->rcv_nxt;
	fill_opts(st, c, &r);
	uint32_t win = tcp_rcv_window(c);
	if (flags & TCP_SYN) {
		r.win = (uint16_t)US_MIN(win, 65535u);   /* never scaled in a SYN (RFC 7323 2.2) */
		win = r.win;
	} else {
		r.win = (uint16_t)US_MIN(win >> c->rcv_wscale, 65535u);
		win = (uint32_t)r.win << c->rcv_wscale;
	}
	size_t hl = tcp_hdr_len_for(&r);
	/* Options and data share the segment: drop SACK blocks until they fit
	 * beside a full segment (c->mss already leaves room for timestamps).
	 * A super-segment (len > mss) is sent without SACK blocks so every
	 * piece the device cuts carries a full MSS. */
	uint32_t room = (uint32_t)c->mss + TCP_HDR_LEN + (c->ts_ok ? 12u : 0u);
	if (len > c->mss)
		r.n_sack = 0;
	while (r.n_sack && hl + len > room) {
		r.n_sack--;
		hl = tcp_hdr_len_for(&r);
	}
	struct pkt *p = pkt_alloc(&st->pool, (uint32_t)(hl + len), PKT_HEADROOM);
	if (!p)
		return -ENOBUFS;
	uint8_t *b = pkt_put(p, (uint32_t)(hl + len));
	if (!b) {
		pkt_free(&st->pool, p);
		return -ENOBUFS;
	}
	if (len)
		ring_peek(&c->sndq, ((flags & TCP_SYN) ? seq + 1 : seq) - tcp_snd_base(c), b + hl, len);
	uint32_t nsegs = 1;
	if (c->tx_csum_partial) {
		tcp_emit_partial_ph(&r, ip_pseudo(&c->laddr, &c->raddr, IP_PROTO_TCP), b, len);
		p->csum_l4 = (uint16_t)(b - p->buf);
		p->csum_off = 16;
		if (len > c->mss && !c->mtup_sending) {   /* (a PLPMTUD probe is one segment) */
			p->gso_size = c->mss;
			nsegs = (len + c->mss - 1) / c->mss;
		}
	} else {
		tcp_emit_ph(&r, ip_pseudo(&c->laddr, &c->raddr, IP_PROTO_TCP), b, len);
	}
	if (flags & TCP_ACK) {
		if (c->quick && c->rcv_nxt != c->last_ack_sent && --c->quick == 0)
			c->ato = TCP_DELACK_NS;   /* quick ACKs used up (Linux's tcp_dec_quickack_mode) */
		tcp_rcv_sack_sent(c, r.n_sack);
		if (SEQ_GT(c->rcv_nxt + win, c->rcv_adv))
			c->rcv_adv = c->rcv_nxt + win;
		c->last_ack_sent = c->rcv_nxt;
		c->ack_now = 0;
		c->delack_count = 0;
		timer_cancel(&st->timers, &c->delack_timer);
	}
	c->segs_out += nsegs;
	c->last_send = st->now;
	STAT_ADD(st, tcp, OutSegs, nsegs);
	if (flags & TCP_RST)
		STAT_INC(st, tcp, OutRsts);
	if (c->oif)
		p->iface = iface_get(st, c->oif);   /* a link-local peer's zone */
	int ttl = addr_is_v4(&c->raddr) ? IP_DEFAULT_TTL : c->hops6_set ? c->hops6 : IP_TTL_ROUTE;
	int rc = ip_output(st, p, &c->laddr, &c->raddr, IP_PROTO_TCP, ttl, tos, c->pmtu_dont ? 0 : IP_DF);
	/* Only what left is recorded as sent: a segment IP refused (too big
	 * for a DF path, no buffer) is not in flight, and the caller leaves
	 * SND.NXT where it was (the scoreboard must not reach past SND.MAX). */
	if (rc == 0 && (len || (flags & TCP_FIN)) && !(flags & (TCP_SYN | TCP_RST))) {
		tcp_board_sent(st, c, seq, seq + len + ((flags & TCP_FIN) ? 1u : 0u));
		tcp_prr_sent(c, len + ((flags & TCP_FIN) ? 1u : 0u));
		pace_sent(st, c, len + (uint32_t)hl);
	}
	return rc;
}

void tcp_send_ack(struct us_stack *st, struct tcp_conn *c)
{
	/* SND.MAX, not SND.NXT: after an RTO rewinds SND.NXT, an ACK carrying
	 * the old number would fall left of the peer's window and be answered
	 * with an ACK instead of being processed: both sides would stall. */
	send_segment(st, c, c->snd_max, 0, TCP_ACK);
}

void tcp_send_syn(struct us_stack *st, struct tcp_conn *c)
{
	uint8_t flags = c->state == US_TCP_SYN_RECEIVED ? (TCP_SYN | TCP_ACK) : TCP_SYN;
	/* Fast Open: the first SYN carries data (and the cookie option); a
	 * retransmission is a plain SYN, as Linux's (the data may be what a
	 * middlebox drops), the data following the handshake. */
	uint32_t len = c->retransmits ? 0 : US_MIN(c->syn_data, c->sndq.len);
	if (c->retransmits && flags == TCP_SYN)
		c->fo_out.kind = 0;
	send_segment(st, c, c->iss, len, flags);
	if (SEQ_LEQ(c->snd_nxt, c->iss + len))
		c->snd_nxt = c->iss + 1 + len;
	c->snd_max = SEQ_MAX(c->snd_max, c->snd_nxt);
}

void tcp_send_rst(struct us_stack *st, struct tcp_conn *c) { send_segment(st, c, c->snd_max, 0, TCP_RST | TCP_ACK); }

void tcp_send_probe(struct us_stack *st, struct tcp_conn *c)
{
	/* An old sequence number: the peer must answer with an ACK carrying
	 * its current window (Linux's zero-window and keepalive probe). */
	send_segment(st, c, c->snd_una - 1, 0, TCP_ACK);
}

void tcp_send_reset_for(struct us_stack *st, const struct us_addr *laddr, const struct us_addr *raddr, int oif,
			const struct tcp_repr *in)
{
	if (in->flags & TCP_RST)
		return;
	struct tcp_repr r;
	memset(&r, 0, sizeof(r));
	r.sport = in->dport;
	r.dport = in->sport;
	if (in->flags & TCP_ACK) {
		r.seq = in->ack;
		r.flags = TCP_RST;
	} else {
		r.ack = in->seq + (uint32_t)in->payload_len + ((in->flags & TCP_SYN) ? 1 : 0) + ((in->flags & TCP_FIN) ? 1 : 0);
		r.flags = TCP_RST | TCP_ACK;
	}
	struct pkt *o = pkt_alloc(&st->pool, TCP_HDR_LEN, PKT_HEADROOM);
	if (!o)
		return;
	uint8_t *b = pkt_put(o, TCP_HDR_LEN);
	if (!b) {
		pkt_free(&st->pool, o);
		return;
	}
	tcp_emit_ph(&r, ip_pseudo(laddr, raddr, IP_PROTO_TCP), b, 0);
	if (ip_zone(raddr, oif))
		o->iface = iface_get(st, oif);
	/* Counted only if it left: with no route back, Ip.OutNoRoutes says why. */
	if (ip_output(st, o, laddr, raddr, IP_PROTO_TCP, IP_TTL_ROUTE, 0, IP_DF) == 0) {
		STAT_INC(st, tcp, OutRsts);
		STAT_INC(st, tcp, OutSegs);
	}
}

static uint32_t fin_seq(const struct tcp_conn *c) { return tcp_snd_base(c) + c->sndq.len; }

/* The end of the data sent so far: SND.MAX less our FIN if it went out. */
static uint32_t sent_data_end(const struct tcp_conn *c) { return c->snd_max - (c->fin_sent ? 1u : 0u); }

/* Our FIN has been acknowledged (fin_seq no longer points at it). */
static int fin_acked(const struct tcp_conn *c) { return c->fin_sent && c->snd_una == c->snd_max; }

/* PSH (RFC 9293 3.9.1 leaves when to the sender): as Linux, on the segment
 * that carries the end of a write made without MSG_MORE (tcp_mark_push). */
static uint8_t data_flags(const struct tcp_conn *c, uint32_t seq, uint32_t len, int *fin)
{
	uint8_t f = TCP_ACK;
	*fin = c->fin_queued && !fin_acked(c) && seq + len == fin_seq(c);
	if (*fin)
		f |= TCP_FIN;
	if (len)
		for (uint32_t i = 0; i < c->n_marks; i++)
			if (c->marks[i].psh && SEQ_LT(seq, c->marks[i].seq) && SEQ_LEQ(c->marks[i].seq, seq + len))
				f |= TCP_PSH;
	return f;
}

void tcp_note_write(struct tcp_conn *c, uint32_t n, int flags)
{
	uint32_t end = tcp_snd_base(c) + c->sndq.len, start = end - n;

	uint32_t k = 0;
	for (uint32_t i = 0; i < c->n_marks; i++)
		if (SEQ_GT(c->marks[i].seq, c->snd_una))
			c->marks[k++] = c->marks[i];
	c->n_marks = (uint8_t)k;
	/* Linux appends a write to the unsent tail packet (unless that ends a
	 * record), whose push mark then goes: a mark survives only at the end
	 * of the data it was set for, or once that data has left. */
	struct tcp_mark *last = k ? &c->marks[k - 1] : NULL;
	if (last && last->seq == start && !last->eor && SEQ_GT(start, c->snd_max))
		c->n_marks--, last = NULL;
	if ((flags & MSG_MORE) && !(flags & MSG_EOR))
		return;   /* no mark: neither a push nor a record end */
	if (c->n_marks == TCP_MARKS_MAX) {
		/* Full: the newest takes the last slot (an older end loses its
		 * marks: its segment may carry no PSH, or merge with the next). */
		c->n_marks--;
	}
	c->marks[c->n_marks++] = (struct tcp_mark){end, !(flags & MSG_MORE), (flags & MSG_EOR) != 0};
}

/* Segments Linux would put in one TSO/GSO packet now. Linux sets PSH on
 * every such packet of more than one segment, to flush the receiver's
 * GRO; sending plain segments, ustack sets it on the last of each group of
 * this many in a burst (none when 1). A packet is at most half the
 * congestion window (tcp_cwnd_test). Before any RTT sample Linux does not
 * pace, so that is the size; after, the size follows the pacing rate
 * (tcp_tso_autosize) but never falls below tcp_min_tso_segs; the upstream
 * packetdrill scripts, recorded on Linux, show that floor at every rate
 * they reach (a cwnd-limited burst of 4 at 16 segments per 10 ms RTT goes
 * as 2+2, where the rate formula says 3+1), so ustack uses it. (On a TSO
 * link each super-segment gets PSH itself.) */
static uint32_t tso_group(const struct us_stack *st, const struct tcp_conn *c)
{
	if (!c->mss)
		return 2;
	uint32_t half = US_MAX(c->cwnd / c->mss / 2, 1u);
	uint32_t segs = c->srtt ? US_MAX(st->cfg.tcp_min_tso_segs, 1u) : 64u;
	return US_MIN(segs, half);
}

/* The first MSG_EOR boundary past seq, or seq + len if none is nearer. */
static uint32_t eor_cut(const struct tcp_conn *c, uint32_t seq, uint32_t len)
{
	for (uint32_t i = 0; i < c->n_marks; i++)
		if (c->marks[i].eor && SEQ_GT(c->marks[i].seq, seq) && SEQ_LT(c->marks[i].seq, seq + len))
			return c->marks[i].seq - seq;
	return len;
}

/* Data bytes a segment may carry beside the SACK blocks we owe the peer.
 * RFC 2018 4: SACK options SHOULD be in every ACK that does not acknowledge
 * the highest sequence number received, data segments included; as in
 * Linux, the segment gives up data for them (4 + 8 bytes a block; with
 * timestamps at most three blocks fit). A bidirectional flow's data
 * segments are its ACKs: without this the peer's losses go unreported. */
static uint32_t data_mss(const struct tcp_conn *c)
{
	uint32_t n = tcp_rcv_sack_count(c);
	if (!n)
		return c->mss;
	n = US_MIN(n, c->ts_ok ? 3u : 4u);
	uint32_t room = 4 + 8 * n;
	return c->mss > room + 64 ? c->mss - room : c->mss;
}

uint32_t tcp_retransmit_head(struct us_stack *st, struct tcp_conn *c)
{
	/* As much as a segment holds, but past what was already sent only as
	 * far as the peer's window reaches (else persist, not the RTO, must
	 * deal with a closed window). */
	uint32_t sent = sent_data_end(c) - c->snd_una;
	uint32_t len = US_MIN(US_MIN(data_mss(c), c->sndq.len), US_MAX(sent, c->snd_wnd));
	int fin;
	uint8_t f = data_flags(c, c->snd_una, len, &fin);
	if (!len && !fin)
		return 0;
	if (send_segment(st, c, c->snd_una, len, f) == 0) {
		note_retransmit(st, c);
		uint32_t end = c->snd_una + len + (uint32_t)fin;
		if (SEQ_GT(end, c->snd_nxt))
			c->snd_nxt = end;
		/* The first segment may reach past what was sent (an earlier one
		 * was shorter: Nagle off, or SACK blocks took room): those bytes
		 * are sent now, and an ACK for them must be acceptable. */
		if (SEQ_GT(end, c->snd_max))
			c->snd_max = end;
		if (fin)
			c->fin_sent = 1;
		return len;
	}
	return 0;
}

/* Resend [seq, seq+len) of sequence space (data, and the FIN if it lies
 * there). extend: a range that ends where the data sent so far ends may
 * take unsent data along, up to a segment (RFC 1122 4.2.2.15
 * repacketization: an RTO after a short segment resends a full one).
 * Returns the sequence space sent, 0 if nothing could be. */
static int resend(struct us_stack *st, struct tcp_conn *c, uint32_t seq, uint32_t len, int extend)
{
	uint32_t data_end = sent_data_end(c);
	uint32_t dlen = SEQ_LT(seq, data_end) ? US_MIN(len, data_end - seq) : 0;
	uint32_t mss = data_mss(c);
	if (extend && seq + dlen == data_end && !c->fin_sent && dlen < mss) {
		uint32_t unsent = c->sndq.len - (data_end - c->snd_una);
		uint32_t wnd_end = c->snd_una + US_MAX(c->snd_wnd, data_end - c->snd_una);
		uint32_t room = SEQ_GT(wnd_end, data_end) ? wnd_end - data_end : 0;
		dlen += US_MIN(US_MIN(mss - dlen, unsent), room);
	}
	int fin;
	uint8_t f = data_flags(c, seq, dlen, &fin);
	if (!dlen && !fin)
		return 0;
	tcp_plpmtu_resent(st, c, seq);
	if (send_segment(st, c, seq, dlen, f) < 0)
		return 0;
	note_retransmit(st, c);
	uint32_t end = seq + dlen + (uint32_t)fin;
	if (SEQ_GT(end, c->snd_max))
		c->snd_max = end;   /* unsent bytes went along */
	if (SEQ_GT(end, c->snd_nxt))
		c->snd_nxt = end;
	if (fin)
		c->fin_sent = 1;
	return (int)(dlen + (uint32_t)fin);
}

/* RFC 8985 7.3: no ACK for two round trips with data in flight: the tail of
 * the flight or its ACKs may be lost, and nothing more would come back to
 * say so before the RTO. Send one new segment if the window allows (its ACK
 * acknowledges all that arrived), else the last segment again (its SACK or
 * ACK shows what is missing). Then the RTO, as usual. */
static int send_new_data(struct us_stack *st, struct tcp_conn *c, uint32_t wnd_left);
void tcp_send_loss_probe(struct us_stack *st, struct tcp_conn *c)
{
	uint32_t flight = tcp_flight(c);
	uint32_t mss = data_mss(c);
	int sent = 0;
	c->tlp_rexmit = 0;
	c->tlp_dsack = 0;
	if (c->sndq.len > flight && c->snd_wnd > flight && c->snd_nxt == c->snd_max)
		sent = send_new_data(st, c, US_MIN(mss, c->snd_wnd - flight));
	if (!sent) {
		/* The highest segment the peer has not SACKed (RFC 8985 says the
		 * highest sent; SACKed, it would tell nothing). */
		uint32_t seq, len;
		if (tcp_board_last_unsacked(c, mss, &seq, &len) && resend(st, c, seq, len, 0) > 0) {
			c->tlp_rexmit = 1;
			sent = 1;
		}
	}
	if (sent)
		STAT_INC(st, tcpext, TCPLossProbes);
	/* One probe an episode, sent or not (a peer that SACKs all it was
	 * sent leaves nothing to probe): the RTO comes next. */
	c->tlp_out = 1;
	c->tlp_high_seq = c->snd_max;
	tcp_arm_rtx(st, c);
}

static int send_new_data(struct us_stack *st, struct tcp_conn *c, uint32_t wnd_left)
{
	uint32_t off = c->snd_nxt - tcp_snd_base(c);
	uint32_t avail = c->sndq.len > off ? c->sndq.len - off : 0;
	/* With TSO, up to gso_max at once, but at most a quarter of the
	 * congestion window: a flight of several frames, so one lost frame is
	 * followed by others whose ACKs (SACKs) reveal the loss, instead of a
	 * lone super-frame whose loss only the RTO finds. Plain segments while
	 * recovering or owing SACK blocks. */
	uint32_t dmss = data_mss(c);
	uint32_t cap = dmss;
	if (c->gso_max && !tcp_rcv_sack_count(c) && c->ca_state == CA_OPEN)
		cap = US_MIN(c->gso_max, US_MAX(c->cwnd / 4 / c->mss * c->mss, (uint32_t)c->mss));
	uint32_t len = US_MIN(US_MIN(avail, wnd_left), cap);
	/* A super-segment carries whole MSS pieces; its short tail goes on
	 * its own, by the Nagle and SWS rules below, like any small segment
	 * (unless it ends the data and Nagle is off or a FIN follows). */
	if (len > c->mss && len % c->mss && !(len == avail && (c->nodelay || c->fin_queued)))
		len -= len % c->mss;
	/* A segment never spans the end of a MSG_EOR write (Linux's
	 * tcp_skb_can_collapse_to): the record boundary stays visible. */
	uint32_t eor = eor_cut(c, c->snd_nxt, len);
	int eor_cut_here = eor < len;
	len = eor;
	int fin;
	uint8_t f = data_flags(c, c->snd_nxt, len, &fin);
	if (fin && len < avail)
		fin = 0, f &= (uint8_t)~TCP_FIN;
	if (!len && !(fin && c->snd_nxt == fin_seq(c)))
		return 0;
	if (len < dmss && len < avail && !eor_cut_here && !c->force_send) {
		/* Window-limited: sender SWS avoidance (RFC 9293 3.8.6.2.1); the
		 * persist timer is the override (RFC 1122 4.2.3.4). */
		if (len < c->max_snd_wnd / 2)
			return 0;
	} else if (len && len < dmss && (c->cork || c->out_more) && !c->force_send && !c->push_once && !fin) {
		return 0;   /* corked (TCP_CORK, MSG_MORE): only full segments; the persist timer ends it */
	} else if (len && len < dmss && !c->nodelay && !c->out_idle && SEQ_GT(c->snd_nxt, tcp_snd_base(c)) && !fin &&
		   !c->push_once && !SEQ_LT(c->snd_nxt, c->snd_max)) {
		/* Nagle (RFC 9293 3.7.4): a small segment waits while data (not
		 * our SYN: Fast Open) is unacknowledged. As in BSD's tcp_output
		 * (and Linux's TSO split), "unacknowledged" is as it was when this
		 * sending began: a write that finds the connection idle goes out
		 * whole, its short tail with its full segments. (Linux holds a
		 * small segment only while another small one is unacknowledged,
		 * Minshall's variant; ustack keeps the RFC's rule.) Nagle holds new
		 * data only: what is sent again (after an RTO, or Fast Open data
		 * the SYN-ACK did not take) goes as it comes, as in Linux. */
		return 0;
	}
	int retrans = SEQ_LT(c->snd_nxt, c->snd_max);
	/* Data sent within the ACK timeout of data received: a request and
	 * its reply, whose ACK rides on the reply (Linux's pingpong mode). */
	if (len && c->ato && st->now - c->lrcvtime < c->ato)
		c->pingpong = 1;
	if (c->snd_una == c->snd_max)
		tcp_bbr_tx_start(st, c);
	uint32_t probe = retrans ? 0 : tcp_plpmtu_probe_size(c);
	/* The SACK blocks this segment carries take their room from a probe
	 * as from any segment (data_mss): without that a probe sized for the
	 * MTU without them did not fit it, IP refused it, and every later
	 * pass tried the same probe again and sent nothing. */
	probe = probe > c->mss - dmss ? probe - (c->mss - dmss) : 0;
	if (probe > len) {
		/* PLPMTUD: one segment larger than the MSS */
		int pfin;
		uint8_t pf = data_flags(c, c->snd_nxt, probe, &pfin);
		c->mtup_sending = 1;
		int prc = send_segment(st, c, c->snd_nxt, probe, pf);
		c->mtup_sending = 0;
		if (prc >= 0) {
			tcp_plpmtu_probe_sent(c, c->snd_nxt, probe);
			c->snd_nxt += probe + (uint32_t)pfin;
			if (pfin)
				c->fin_sent = 1;
			c->snd_max = SEQ_MAX(c->snd_max, c->snd_nxt);
			if (!timer_pending(&c->rtx_timer) || c->persist) {
				c->persist = 0;
				tcp_arm_rtx(st, c);
			}
			return 1;
		}
		if (prc != -EMSGSIZE)
			return 0;
		c->mtup_high = US_MIN(c->mtup_high, probe - 1);   /* not this size: a plain segment instead */
	}
	if (!retrans) {
		/* Linux: PSH on each TSO packet (tso_group), and on what a
		 * persist probe sends (tcp_write_wakeup). */
		uint32_t g = tso_group(st, c);
		if (len > c->mss || (g > 1 && (c->burst_segs + 1) % g == 0) || c->force_send)
			f |= TCP_PSH;
		c->burst_segs++;
	}
	int rc = send_segment(st, c, c->snd_nxt, len, f);
	if (rc == -ENOBUFS && len > c->mss) {
		/* No large buffer free: one MSS in a frame buffer instead. */
		len = c->mss;
		f = data_flags(c, c->snd_nxt, len, &fin);
		rc = send_segment(st, c, c->snd_nxt, len, f);
	}
	if (rc < 0)
		return 0;
	if (!retrans && len)
		tcp_notify_sent(st, c, c->snd_nxt, len);
	if (retrans) {
		note_retransmit(st, c);
	} else if (!c->rtt_timing && !c->ts_ok && len) {
		c->rtt_timing = 1;   /* Karn: time one new segment at a time */
		c->rtt_seq = c->snd_nxt;
		c->rtt_start = st->now;
	}
	c->snd_nxt += len + (uint32_t)fin;
	if (fin)
		c->fin_sent = 1;
	c->snd_max = SEQ_MAX(c->snd_max, c->snd_nxt);
	if (!timer_pending(&c->rtx_timer) || c->persist) {
		c->persist = 0;
		tcp_arm_rtx(st, c);
	} else if (!retrans) {
		tcp_rearm_pto(st, c);
	}
	return 1;
}

/* Was the flight held back by the congestion window in the latest round
 * trip (Linux's tcp_cwnd_validate)? If the application or the peer's
 * window kept it smaller, ACKs say nothing about a larger window, and
 * growing it would only license a burst later (RFC 7661). */
static void cwnd_validate(struct tcp_conn *c)
{
	uint32_t flight = tcp_flight(c) - US_MIN(c->sacked_bytes, tcp_flight(c));
	int limited = flight + c->mss > c->cwnd;
	if (!SEQ_LT(c->snd_una, c->cwnd_usage_seq) || limited || flight > c->max_flight) {
		c->max_flight = flight;
		c->cwnd_usage_seq = c->snd_max;
		c->is_cwnd_limited = (uint8_t)limited;
	}
}

int tcp_cwnd_limited(const struct tcp_conn *c)
{
	/* In slow start while the flight reaches half the window: it doubles
	 * each round trip, so the window may be ahead of it. */
	if (c->cwnd < c->ssthresh)
		return c->cwnd < 2 * c->max_flight;
	return c->is_cwnd_limited;
}

void tcp_output(struct us_stack *st, struct tcp_conn *c)
{
	int sent_any = 0;
	c->burst_segs = 0;
	c->out_idle = c->snd_max == tcp_snd_base(c);
	/* (A Fast Open child may send data before its handshake completes,
	 * as Linux's does: the client has shown it owns its address.) */
	if (c->state == US_TCP_SYN_SENT || (c->state == US_TCP_SYN_RECEIVED && !c->fastopen) ||
	    c->state == US_TCP_CLOSED || c->state == US_TCP_LISTEN || c->state == US_TCP_TIME_WAIT) {
		/* TIME_WAIT acknowledges a retransmitted FIN; SYN_RECEIVED owes an
		 * ACK for the peer's SYN-ACK in a simultaneous open. */
		if (c->ack_now && (c->state == US_TCP_TIME_WAIT || c->state == US_TCP_SYN_RECEIVED))
			tcp_send_ack(st, c);
		return;
	}
	/* IPv6's path MTU is per destination: a Packet Too Big another
	 * connection (or a datagram) to the same peer drew lowers it for this
	 * one too, and segments sized for the old path would be refused by IP
	 * (EMSGSIZE) before any router could answer them (Linux's
	 * tcp_current_mss rereads the route's MTU the same way). */
	if (!addr_is_v4(&c->raddr) && c->pmtu6_gen != route6_pmtu_gen(st))
		tcp_update_mss(st, c);
	/* RFC 5681 4.1: restart slowly after an idle period longer than the RTO. */
	if (c->snd_una == c->snd_max && c->last_send && st->now - c->last_send > c->rto) {
		uint32_t iw = TCP_IW_SEGS * (uint32_t)c->mss;
		if (c->cwnd > iw)
			c->cwnd = iw;
	}
	for (int budget = 0; budget < 256; budget++) {
		if (pace_blocked(st, c))
			break;
		uint32_t wnd = US_MIN(c->snd_wnd, c->cwnd);
		if (c->sack_ok) {
			/* RFC 6675 5 with RACK's losses (RFC 8985): the window less
			 * pipe may go out, lost data first (NextSeg rule 1), then new
			 * data; in recovery PRR (tcp_prr.c) sets the window on each
			 * ACK, so this sends what PRR allows. */
			uint32_t pipe = tcp_board_pipe(c);
			if (pipe >= c->cwnd)
				break;
			uint32_t seq, len;
			if (tcp_board_next_lost(c, data_mss(c), &seq, &len)) {
				if (resend(st, c, seq, len, 1) <= 0)
					break;
				/* As Linux: resending the head restarts its RTO (the
				 * timer then covers the retransmission, not the
				 * original, long overdue). */
				if (seq == c->snd_una)
					tcp_arm_rtx(st, c);
				if (c->ca_state == CA_RECOVERY)
					STAT_INC(st, tcpext, TCPFastRetrans);
				else if (c->ca_state == CA_LOSS)
					STAT_INC(st, tcpext, TCPSlowStartRetrans);
				sent_any = 1;
				continue;
			}
			uint32_t in_wnd = c->snd_wnd > tcp_flight(c) ? c->snd_wnd - tcp_flight(c) : 0;
			if (!send_new_data(st, c, US_MIN(in_wnd, c->cwnd - pipe)))
				break;
			sent_any = 1;
			continue;
		}
		uint32_t flight = tcp_flight(c);
		/* Limited transmit (RFC 3042): a new segment for each of the first
		 * two duplicate ACKs, so small windows still reach three. */
		if (c->ca_state == CA_OPEN && c->dupacks && c->dupacks < TCP_DUPTHRESH)
			wnd = US_MIN(c->snd_wnd, c->cwnd + c->dupacks * (uint32_t)c->mss);
		uint32_t left = wnd > flight ? wnd - flight : 0;
		if (!send_new_data(st, c, left))
			break;
		sent_any = 1;
	}
	if (c->ack_now && !sent_any)
		tcp_send_ack(st, c);
	c->force_send = 0;
	c->push_once = 0;
	cwnd_validate(c);
	/* draft-cheng-iccrg-delivery-rate-estimation 3.4: the app, not the
	 * network, limits the sender when less than a segment waits to go,
	 * the window has room and nothing is to be resent: rate samples until
	 * what is in flight now is delivered say only "at least". */
	uint32_t waiting = c->sndq.len - US_MIN(c->sndq.len, tcp_flight(c));
	if (waiting < c->mss && tcp_board_pipe(c) < c->cwnd && !c->board.lost)
		c->rs_app_limited = US_MAX(c->rs_delivered + tcp_board_pipe(c), 1u);
	/* Data waiting, nothing in flight, and the window too small to send it
	 * (zero, or short of what SWS avoidance allows): the persist timer
	 * probes a zero window and overrides SWS avoidance on a small one. */
	uint32_t unsent = c->sndq.len - US_MIN(c->sndq.len, tcp_flight(c));
	if (unsent && c->snd_nxt == c->snd_una && !timer_pending(&c->rtx_timer)) {
		c->persist = 1;
		tcp_arm_rtx(st, c);
	}
	tcp_check_invariants(c);
}
