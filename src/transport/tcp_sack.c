/* SACK (RFC 2018) and D-SACK (RFC 2883), both sides.
 *
 * Receiver: the blocks our ACKs carry. The out-of-order data itself is in
 * the connection's assembler (offsets from RCV.NXT); here is the order the
 * blocks are reported in: RFC 2018 4 wants the block holding the most
 * recently received segment first, then the blocks most recently reported
 * before it, so each block is repeated in several ACKs and a lost ACK costs
 * the sender nothing (Linux's selective_acks array, move to front). A
 * duplicate segment is reported once, first, as a D-SACK block (RFC 2883
 * 4), followed by the block that holds it when it lies above RCV.NXT. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/check.h"
#include "transport/tcp.h"

/* ---- receiver ---- */

void tcp_rcv_sack_reset(struct tcp_conn *c)
{
	c->n_rcv_sack = 0;
	c->have_dsack = 0;
	c->sack_unsent = 0;
	c->rcv_sack_unrep = 0;
}

/* The assembler range holding offset off, as absolute sequence numbers. */
static int ooo_block_at(const struct tcp_conn *c, uint32_t off, struct tcp_sack_block *b)
{
	uint32_t i = asm_first_after(&c->ooo, off);
	const struct asm_range *r = &asm_ranges_c(&c->ooo)[i];
	if (i >= c->ooo.n || off < r->start)
		return 0;
	b->left = c->rcv_nxt + r->start;
	b->right = c->rcv_nxt + r->end;
	return 1;
}

int tcp_rcv_sack_extends_head(const struct tcp_conn *c, uint32_t seq, uint32_t end)
{
	if (!c->n_rcv_sack)
		return 0;
	const struct tcp_sack_block *h = &c->rcv_sack[0];
	return SEQ_LEQ(seq, h->right) && SEQ_GEQ(end, h->left);
}

void tcp_rcv_sack_ofo(struct tcp_conn *c, uint32_t seq)
{
	struct tcp_sack_block b;
	if (!ooo_block_at(c, seq - c->rcv_nxt, &b))
		return;   /* not recorded (the assembler was full) */
	/* Blocks the new one swallowed (it merged them) go; the rest move
	 * down one place; the least recent falls off the end. */
	struct tcp_sack_block keep[TCP_MAX_SACK];
	uint32_t k = 0;
	uint8_t unrep = 1;
	keep[k++] = b;
	for (uint32_t i = 0; i < c->n_rcv_sack && k < TCP_MAX_SACK; i++) {
		const struct tcp_sack_block *o = &c->rcv_sack[i];
		if (SEQ_GEQ(o->left, b.left) && SEQ_LEQ(o->right, b.right))
			continue;
		if (c->rcv_sack_unrep & (1u << i))
			unrep |= (uint8_t)(1u << k);
		keep[k++] = *o;
	}
	memcpy(c->rcv_sack, keep, k * sizeof(keep[0]));
	c->n_rcv_sack = k;
	c->rcv_sack_unrep = unrep;
	c->sack_unsent = 1;
}

int tcp_rcv_sack_would_hide(const struct tcp_conn *c)
{
	/* An ACK carries three blocks beside timestamps, four without, one
	 * fewer with a D-SACK. */
	uint32_t fit = (c->ts_ok ? 3u : 4u) - (c->have_dsack ? 1u : 0u);
	return c->n_rcv_sack >= fit && (c->rcv_sack_unrep & (1u << (fit - 1))) != 0;
}

void tcp_rcv_sack_advanced(struct tcp_conn *c)
{
	/* Blocks at or below RCV.NXT are acknowledged now (ranges are taken
	 * whole). Free places are filled with the other held ranges, lowest
	 * first: more to repeat for the sender, never less than before. */
	uint32_t k = 0;
	for (uint32_t i = 0; i < c->n_rcv_sack; i++)
		if (SEQ_GT(c->rcv_sack[i].left, c->rcv_nxt))
			c->rcv_sack[k++] = c->rcv_sack[i];
	const struct asm_range *r = asm_ranges_c(&c->ooo);
	for (uint32_t i = 0; i < c->ooo.n && k < TCP_MAX_SACK; i++) {
		struct tcp_sack_block b = {c->rcv_nxt + r[i].start, c->rcv_nxt + r[i].end};
		int have = 0;
		for (uint32_t j = 0; j < k && !have; j++)
			have = c->rcv_sack[j].left == b.left;
		if (!have)
			c->rcv_sack[k++] = b;
	}
	c->n_rcv_sack = k;
	c->rcv_sack_unrep = 0;   /* what is left was reported, or is old news */
}

void tcp_rcv_dsack(struct tcp_conn *c, uint32_t seq, uint32_t end)
{
	if (!c->sack_ok || !SEQ_LT(seq, end))
		return;
	if (c->have_dsack) {
		/* RFC 2883 4: one D-SACK block an ACK; contiguous duplicates
		 * grow it (a retransmitted burst), others replace it. */
		if (SEQ_LEQ(seq, c->rcv_dsack.right) && SEQ_GEQ(end, c->rcv_dsack.left)) {
			c->rcv_dsack.left = SEQ_MIN(seq, c->rcv_dsack.left);
			c->rcv_dsack.right = SEQ_MAX(end, c->rcv_dsack.right);
			return;
		}
	}
	c->rcv_dsack = (struct tcp_sack_block){seq, end};
	c->have_dsack = 1;
}

uint32_t tcp_rcv_sack_count(const struct tcp_conn *c)
{
	if (!c->sack_ok)
		return 0;
	uint32_t n = c->n_rcv_sack + c->have_dsack;
	return US_MIN(n, (uint32_t)TCP_MAX_SACK);
}

/* The blocks an ACK of at most max carries, as indexes into rcv_sack (-1:
 * the D-SACK block), in the order they go. RFC 2883 4 (2): a duplicate of
 * data held above RCV.NXT is followed by the block holding it. */
static uint32_t sack_order(const struct tcp_conn *c, int *idx, uint32_t max)
{
	uint32_t n = 0;
	int held = -1;
	if (c->have_dsack && n < max) {
		idx[n++] = -1;
		for (uint32_t i = 0; i < c->n_rcv_sack; i++)
			if (SEQ_GEQ(c->rcv_dsack.left, c->rcv_sack[i].left) &&
			    SEQ_LEQ(c->rcv_dsack.right, c->rcv_sack[i].right))
				held = (int)i;
		if (held >= 0 && n < max)
			idx[n++] = held;
	}
	for (uint32_t i = 0; i < c->n_rcv_sack && n < max; i++)
		if ((int)i != held)
			idx[n++] = (int)i;
	return n;
}

uint32_t tcp_rcv_sack_blocks(const struct tcp_conn *c, struct tcp_sack_block *out, uint32_t max)
{
	if (!c->sack_ok)
		return 0;
	int idx[TCP_MAX_SACK + 1];
	uint32_t n = sack_order(c, idx, US_MIN(max, (uint32_t)TCP_MAX_SACK + 1));
	for (uint32_t i = 0; i < n; i++)
		out[i] = idx[i] < 0 ? c->rcv_dsack : c->rcv_sack[idx[i]];
	return n;
}

void tcp_rcv_sack_sent(struct tcp_conn *c, uint32_t n_sent)
{
	if (n_sent || !tcp_rcv_sack_count(c)) {
		/* The blocks that went are reported now: with a D-SACK those are
		 * not simply the first ones (the block holding it goes second). */
		int idx[TCP_MAX_SACK + 1];
		uint32_t n = sack_order(c, idx, US_MIN(n_sent, (uint32_t)TCP_MAX_SACK + 1));
		for (uint32_t i = 0; i < n; i++)
			if (idx[i] >= 0)
				c->rcv_sack_unrep &= (uint8_t)~(1u << idx[i]);
		c->have_dsack = 0;
		c->sack_unsent = 0;
	}
}

/* ---- sender: the scoreboard ----
 *
 * Every byte sent and not yet cumulatively acknowledged, [SND.UNA,
 * SND.MAX), lies in exactly one transmission record: a range sent at one
 * time (a segment, or a burst sent in one pass), with the time of its
 * latest transmission, what the peer said of it (SACKed), what we
 * concluded (lost: RACK or the RTO), whether its latest transmission was a
 * retransmission, and the delivery-rate snapshot taken when it left
 * (draft-cheng-iccrg-delivery-rate-estimation). Records are kept in
 * sequence order, contiguous; SACK blocks and retransmissions split them.
 * This is Linux's retransmission queue of skbs with their TCP_SKB_CB
 * sacked bits and timestamps, as ranges.
 *
 * The array grows from TCP_BOARD_MIN to TCP_BOARD_MAX records. When it is
 * full, neighbours that agree are merged (the later transmission time
 * kept: loss is then declared later, never earlier); if none agree, the
 * two oldest are merged and what only one of them had (a SACK) is
 * forgotten, which can only cause a needless retransmission. */

#define TCP_BOARD_MIN 64u
#define TCP_BOARD_MAX 4096u

static uint32_t seg_len(const struct tcp_seg *s) { return s->end - s->seq; }

void tcp_board_free(struct us_stack *st, struct tcp_conn *c)
{
	if (st && c->board.cap)
		tcp_mem_uncharge(st, (uint64_t)c->board.cap * sizeof(struct tcp_seg));
	free(c->board.v);
	memset(&c->board, 0, sizeof(c->board));
}

int tcp_board_init(struct us_stack *st, struct tcp_conn *c)
{
	if (c->board.v)
		return 0;
	c->board.v = malloc(TCP_BOARD_MIN * sizeof(struct tcp_seg));
	if (!c->board.v)
		return -ENOMEM;
	c->board.cap = TCP_BOARD_MIN;
	if (st)
		tcp_mem_charge(st, (uint64_t)TCP_BOARD_MIN * sizeof(struct tcp_seg));
	return 0;
}

static void board_recount(struct tcp_board *b)
{
	b->sacked = b->lost = b->retrans = 0;
	for (uint32_t i = 0; i < b->n; i++) {
		uint32_t l = seg_len(&b->v[i]);
		if (b->v[i].flags & TCP_SEG_SACKED)
			b->sacked += l;
		if (b->v[i].flags & TCP_SEG_LOST)
			b->lost += l;
		if (b->v[i].flags & TCP_SEG_RETRANS)
			b->retrans += l;
	}
}

/* Merge records i and i+1 (contiguous) into i. */
static void board_merge(struct tcp_board *b, uint32_t i)
{
	struct tcp_seg *a = &b->v[i], *n = &b->v[i + 1];
	uint8_t keep = TCP_SEG_SACKED | TCP_SEG_LOST;
	/* SACKed or lost only if both were (what only one had is forgotten:
	 * at worst a needless retransmission, or a loss found later). */
	uint8_t flags = (uint8_t)((a->flags & n->flags & keep) | ((a->flags | n->flags) & ~keep));
	if (n->xmit_ts > a->xmit_ts) {
		a->xmit_ts = n->xmit_ts;
		a->delivered = n->delivered;
		a->delivered_ts = n->delivered_ts;
		a->first_sent_ts = n->first_sent_ts;
	}
	a->end = n->end;
	a->flags = flags;
	memmove(&b->v[i + 1], &b->v[i + 2], (b->n - i - 2) * sizeof(b->v[0]));
	b->n--;
}

static int same_kind(const struct tcp_seg *a, const struct tcp_seg *b)
{
	return a->flags == b->flags && a->xmit_ts == b->xmit_ts && a->delivered == b->delivered;
}

/* Room for `extra` more records: grow the array, or merge. */
static int board_room(struct us_stack *st, struct tcp_board *b, uint32_t extra)
{
	if (b->n + extra <= b->cap)
		return 0;
	if (b->cap < TCP_BOARD_MAX) {
		uint32_t cap = b->cap ? b->cap * 2 : TCP_BOARD_MIN;
		while (cap < b->n + extra && cap < TCP_BOARD_MAX)
			cap *= 2;
		cap = US_MIN(cap, TCP_BOARD_MAX);
		struct tcp_seg *v = realloc(b->v, cap * sizeof(*v));
		if (v) {
			if (st)
				tcp_mem_charge(st, (uint64_t)(cap - b->cap) * sizeof(*v));
			b->v = v;
			b->cap = cap;
			if (b->n + extra <= b->cap)
				return 0;
		}
	}
	if (!b->cap)
		return -1;
	/* Full: merge neighbours that differ in nothing but their range. */
	for (uint32_t i = 0; i + 1 < b->n && b->n + extra > b->cap;)
		if (same_kind(&b->v[i], &b->v[i + 1]))
			board_merge(b, i);
		else
			i++;
	/* Then neighbours of the same state, whatever their times. */
	for (uint32_t i = 0; i + 1 < b->n && b->n + extra > b->cap;)
		if (b->v[i].flags == b->v[i + 1].flags)
			board_merge(b, i);
		else
			i++;
	/* Last resort: the oldest records, forgetting what only one had. */
	while (b->n >= 2 && b->n + extra > b->cap)
		board_merge(b, 0);
	board_recount(b);
	return b->n + extra <= b->cap ? 0 : -1;
}

/* The record holding seq (SND.UNA <= seq < SND.MAX), by bisection. */
static int board_find(const struct tcp_board *b, uint32_t seq)
{
	uint32_t lo = 0, hi = b->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (SEQ_LEQ(b->v[mid].end, seq))
			lo = mid + 1;
		else if (SEQ_GT(b->v[mid].seq, seq))
			hi = mid;
		else
			return (int)mid;
	}
	return -1;
}

/* Make seq a record boundary; returns the index of the record starting at
 * seq (n if seq is the end of the last), or -1 if the array is full (then
 * the record holding seq is left whole). */
static int board_split_at(struct us_stack *st, struct tcp_board *b, uint32_t seq)
{
	int i = board_find(b, seq);
	if (i < 0)
		return b->n && b->v[b->n - 1].end == seq ? (int)b->n : (b->n && b->v[0].seq == seq ? 0 : -1);
	if (b->v[i].seq == seq)
		return i;
	if (board_room(st, b, 1) < 0)
		return -1;
	i = board_find(b, seq);   /* merging may have moved it */
	if (i < 0)
		return -1;
	if (b->v[i].seq == seq)
		return i;
	memmove(&b->v[i + 1], &b->v[i], (b->n - (uint32_t)i) * sizeof(b->v[0]));
	b->n++;
	b->v[i].end = seq;
	b->v[i + 1].seq = seq;
	return i + 1;
}

/* Transmission times are unique and in sending order: one pass sends many
 * segments at the same clock reading, and RACK's tie-break on sequence
 * numbers (RFC 8985 6.2) would take a retransmission sent after new data
 * for one sent before it. */
static uint64_t xmit_time(struct tcp_conn *c, uint64_t now)
{
	uint64_t t = now > c->last_xmit_ts ? now : c->last_xmit_ts + 1;
	c->last_xmit_ts = t;
	c->last_xmit_now = now;
	return t;
}

/* The delivery-rate snapshot a transmission carries (draft-cheng 3.2). */
static void snapshot(struct tcp_conn *c, struct tcp_seg *s, uint64_t now)
{
	if (c->snd_una == c->snd_max || !c->rs_first_sent_ts) {
		/* Nothing in flight: the interval starts now. */
		c->rs_first_sent_ts = now;
		c->rs_delivered_ts = now;
	}
	s->xmit_ts = xmit_time(c, now);
	s->first_sent_ts = c->rs_first_sent_ts;
	s->delivered_ts = c->rs_delivered_ts;
	s->delivered = c->rs_delivered;
	if (c->rs_app_limited)
		s->flags |= TCP_SEG_APP_LIMITED;
	else
		s->flags &= (uint8_t)~TCP_SEG_APP_LIMITED;
}

void tcp_board_sent(struct us_stack *st, struct tcp_conn *c, uint32_t seq, uint32_t end)
{
	uint64_t now = st->now;
	struct tcp_board *b = &c->board;
	if (!SEQ_LT(seq, end))
		return;
	uint32_t top = b->n ? b->v[b->n - 1].end : c->snd_una;
	if (!b->n && SEQ_LT(seq, c->snd_una))
		seq = c->snd_una;
	if (SEQ_LT(seq, top)) {
		/* A retransmission of [seq, min(end, top)). */
		uint32_t rend = SEQ_MIN(end, top);
		int i = board_split_at(st, b, seq), j = board_split_at(st, b, rend);
		if (i < 0 || j < 0) {
			/* No room to split: the records holding the range are
			 * taken as retransmitted whole (their times only move
			 * later, so no loss is declared early). */
			i = board_find(b, seq);
			j = board_find(b, rend - 1) + 1;
			if (i < 0 || j <= 0)
				goto new_data;
		}
		for (int k = i; k < j; k++) {
			struct tcp_seg *s = &b->v[k];
			if (s->flags & TCP_SEG_SACKED)
				continue;   /* a probe may repeat SACKed data: it stays SACKed */
			/* As Linux's TCPCB_LOST | TCPCB_SACKED_RETRANS: a lost record
			 * stays lost, and its retransmission is in flight, so pipe
			 * (out - SACKed - lost + retransmitted) counts it once. */
			if (!(s->flags & TCP_SEG_RETRANS))
				b->retrans += seg_len(s);
			s->flags |= TCP_SEG_RETRANS | TCP_SEG_EVER_RETRANS;
			snapshot(c, s, now);
		}
	}
new_data:
	if (!SEQ_GT(end, top))
		return;
	seq = top;
	struct tcp_seg *last = b->n ? &b->v[b->n - 1] : NULL;
	/* New data sent right after the last record, in the same pass with
	 * nothing else sent between: the same record. */
	if (last && last->xmit_ts == c->last_xmit_ts && c->last_xmit_now == now && !(last->flags & ~TCP_SEG_APP_LIMITED) &&
	    (last->flags & TCP_SEG_APP_LIMITED) == (c->rs_app_limited ? TCP_SEG_APP_LIMITED : 0) &&
	    last->delivered == c->rs_delivered) {
		last->end = end;   /* sent in the same pass, with the same snapshot */
		return;
	}
	if (board_room(st, b, 1) < 0) {
		if (!b->n)
			return;   /* no memory at all: no records, nothing to say */
		b->v[b->n - 1].end = end;   /* coarser, never wrong about what was sent */
		return;
	}
	struct tcp_seg *s = &b->v[b->n++];
	memset(s, 0, sizeof(*s));
	s->seq = seq;
	s->end = end;
	snapshot(c, s, now);
}

/* What a record's delivery tells RACK, the RTT estimator and the rate
 * sampler (RFC 8985 6.2 step 1, draft-cheng 3.3). `bytes` of it were
 * delivered now. */
static void delivered(struct tcp_conn *c, const struct tcp_seg *s, uint32_t bytes, uint64_t now,
		      struct tcp_ack_info *ai)
{
	ai->delivered += bytes;
	c->rs_delivered += bytes;
	c->rs_delivered_ts = now;
	uint64_t rtt = now > s->xmit_ts ? now - s->xmit_ts : 0;   /* times run a few ns ahead (xmit_time) */
	/* RFC 8985 6.2 step 1: a retransmitted segment whose ACK may be for
	 * an earlier transmission says nothing of the time. */
	int ambiguous = (s->flags & TCP_SEG_EVER_RETRANS) && (!c->min_rtt || rtt < c->min_rtt);
	if (!ambiguous) {
		if (!ai->rack_valid || SEQ_SENT_AFTER(s->xmit_ts, s->end, ai->rack_xmit_ts, ai->rack_end)) {
			ai->rack_xmit_ts = s->xmit_ts;
			ai->rack_end = s->end;
			ai->rack_rtt = rtt;
			ai->rack_valid = 1;
		}
	}
	if (s->flags & TCP_SEG_EVER_RETRANS) {
		ai->retrans_delivered = 1;
	} else {
		/* Karn: only never-retransmitted data times the path. The
		 * oldest for the RTO (as Linux's seq_rtt), the newest for the
		 * minimum. */
		if (!ai->rtt_valid || rtt > ai->rtt_old)
			ai->rtt_old = rtt;
		if (!ai->rtt_valid || rtt < ai->rtt_new)
			ai->rtt_new = rtt;
		ai->rtt_valid = 1;
	}
	/* Rate sample: from the most recently sent of the delivered. */
	if (!ai->rs_valid || s->delivered >= ai->rs_prior_delivered) {
		ai->rs_prior_delivered = s->delivered;
		ai->rs_prior_ts = s->delivered_ts;
		ai->rs_send_elapsed = s->xmit_ts - s->first_sent_ts;
		ai->rs_ack_elapsed = now > s->delivered_ts ? now - s->delivered_ts : 0;
		ai->rs_app_limited = (s->flags & TCP_SEG_APP_LIMITED) != 0;
		ai->rs_valid = 1;
		c->rs_first_sent_ts = s->xmit_ts;
	}
}

void tcp_board_ack(struct us_stack *st, struct tcp_conn *c, uint32_t una, struct tcp_ack_info *ai)
{
	uint64_t now = st->now;
	struct tcp_board *b = &c->board;
	uint32_t k = 0;
	while (k < b->n && SEQ_LEQ(b->v[k].end, una)) {
		struct tcp_seg *s = &b->v[k];
		uint32_t l = seg_len(s);
		if (s->flags & TCP_SEG_SACKED)
			b->sacked -= l;   /* delivered when SACKed */
		else
			delivered(c, s, l, now, ai);
		if (s->flags & TCP_SEG_LOST)
			b->lost -= l;
		if (s->flags & TCP_SEG_RETRANS)
			b->retrans -= l;
		k++;
	}
	if (k) {
		memmove(&b->v[0], &b->v[k], (b->n - k) * sizeof(b->v[0]));
		b->n -= k;
	}
	if (b->n && SEQ_LT(b->v[0].seq, una) && SEQ_GT(b->v[0].end, una)) {
		/* Partly acknowledged (a peer that acknowledges part of a
		 * segment, or records merged): the rest stays. */
		struct tcp_seg *s = &b->v[0];
		uint32_t l = una - s->seq;
		if (s->flags & TCP_SEG_SACKED)
			b->sacked -= l;
		else
			delivered(c, s, l, now, ai);
		if (s->flags & TCP_SEG_LOST)
			b->lost -= l;
		if (s->flags & TCP_SEG_RETRANS)
			b->retrans -= l;
		s->seq = una;
	}
}

uint32_t tcp_board_sack(struct us_stack *st, struct tcp_conn *c, uint32_t l, uint32_t r, struct tcp_ack_info *ai)
{
	uint64_t now = st->now;
	struct tcp_board *b = &c->board;
	int i = board_split_at(st, b, l), j = board_split_at(st, b, r);
	if (i < 0 || j < 0) {
		/* No room to split: only records wholly inside count. */
		i = board_find(b, l);
		if (i >= 0 && b->v[i].seq != l)
			i++;
		j = board_find(b, r - 1);
		if (j >= 0 && b->v[j].end != r)
			j--;
		j++;
		if (i < 0 || j <= i)
			return 0;
	}
	uint32_t newly = 0;
	for (int k = i; k < j; k++) {
		struct tcp_seg *s = &b->v[k];
		if (s->flags & TCP_SEG_SACKED)
			continue;
		uint32_t len = seg_len(s);
		if (s->flags & TCP_SEG_LOST)
			b->lost -= len;
		if (s->flags & TCP_SEG_RETRANS)
			b->retrans -= len;
		s->flags = (uint8_t)((s->flags & ~(TCP_SEG_LOST | TCP_SEG_RETRANS)) | TCP_SEG_SACKED);
		b->sacked += len;
		newly += len;
		delivered(c, s, len, now, ai);
		/* RFC 8985 6.2 step 2: delivered below the highest SACKed
		 * sequence: the path reordered it. */
		if (SEQ_LT(s->end, c->rack_fack) && !(s->flags & TCP_SEG_EVER_RETRANS))
			ai->reordered = 1;
		if (SEQ_GT(s->end, c->rack_fack))
			c->rack_fack = s->end;
	}
	ai->newly_sacked += newly;
	return newly;
}

void tcp_board_mark_lost(struct tcp_conn *c, struct tcp_seg *s)
{
	/* Lost (again: a lost retransmission is to be sent once more). */
	struct tcp_board *b = &c->board;
	if (s->flags & TCP_SEG_SACKED)
		return;
	uint32_t len = seg_len(s);
	if (s->flags & TCP_SEG_RETRANS)
		b->retrans -= len;
	if (!(s->flags & TCP_SEG_LOST))
		b->lost += len;
	s->flags = (uint8_t)((s->flags & ~TCP_SEG_RETRANS) | TCP_SEG_LOST);
}

void tcp_board_timeout(struct tcp_conn *c, int forget_sacks)
{
	/* RFC 6675 5.1 / RFC 8985 6.3: after an RTO everything not SACKed
	 * is taken as lost; a second RTO in a row may mean the peer reneged
	 * (RFC 2018 8): SACKed data is resent then too. */
	struct tcp_board *b = &c->board;
	for (uint32_t i = 0; i < b->n; i++) {
		struct tcp_seg *s = &b->v[i];
		/* RFC 2018 8: the segment at the left edge is resent after a
		 * timeout whether or not it was SACKed (the peer may have
		 * discarded it: SACKed data at SND.UNA is a contradiction). */
		if (forget_sacks || i == 0)
			s->flags &= (uint8_t)~TCP_SEG_SACKED;
		if (!(s->flags & TCP_SEG_SACKED))
			s->flags = (uint8_t)((s->flags & ~TCP_SEG_RETRANS) | TCP_SEG_LOST);
	}
	board_recount(b);
	if (forget_sacks)
		c->rack_fack = c->snd_una;
}

uint32_t tcp_board_pipe(const struct tcp_conn *c)
{
	/* RFC 6675 SetPipe, as Linux's tcp_packets_in_flight: what is out
	 * and neither SACKed nor lost, plus retransmissions in flight. */
	const struct tcp_board *b = &c->board;
	uint32_t base = tcp_snd_base(c);   /* our SYN (Fast Open) takes no room */
	uint32_t out = SEQ_GT(c->snd_max, base) ? c->snd_max - base : 0;
	uint32_t gone = b->sacked + b->lost;
	return (out > gone ? out - gone : 0) + b->retrans;
}

int tcp_board_next_lost(const struct tcp_conn *c, uint32_t max, uint32_t *seq, uint32_t *len)
{
	/* RFC 6675 NextSeg rule 1: the lowest lost data not yet resent;
	 * consecutive lost records go together up to max (Linux's
	 * tcp_retrans_try_collapse: small segments are resent as one). */
	const struct tcp_board *b = &c->board;
	for (uint32_t i = 0; i < b->n; i++) {
		const struct tcp_seg *s = &b->v[i];
		const uint8_t m = TCP_SEG_LOST | TCP_SEG_SACKED | TCP_SEG_RETRANS;
		if ((s->flags & m) != TCP_SEG_LOST)
			continue;
		uint32_t end = s->end;
		for (uint32_t k = i + 1; k < b->n && end - s->seq < max; k++) {
			if ((b->v[k].flags & m) != TCP_SEG_LOST)
				break;
			end = b->v[k].end;
		}
		*seq = s->seq;
		*len = US_MIN(end - s->seq, max);
		return 1;
	}
	return 0;
}

int tcp_board_last_unsacked(const struct tcp_conn *c, uint32_t max, uint32_t *seq, uint32_t *len)
{
	/* The last range not SACKed, with the unSACKed records just before
	 * it up to max bytes (small segments go as one probe). */
	const struct tcp_board *b = &c->board;
	for (uint32_t i = b->n; i-- > 0;) {
		const struct tcp_seg *s = &b->v[i];
		if (s->flags & TCP_SEG_SACKED)
			continue;
		uint32_t start = s->seq;
		for (uint32_t k = i; k-- > 0 && s->end - start < max && !(b->v[k].flags & TCP_SEG_SACKED);)
			start = b->v[k].seq;
		uint32_t l = US_MIN(s->end - start, max);
		*seq = s->end - l;
		*len = l;
		return 1;
	}
	return 0;
}

int tcp_is_sacked(const struct tcp_conn *c, uint32_t seq, uint32_t *end_out)
{
	int i = board_find(&c->board, seq);
	if (i < 0 || !(c->board.v[i].flags & TCP_SEG_SACKED))
		return 0;
	uint32_t end = c->board.v[i].end;
	for (uint32_t k = (uint32_t)i + 1; k < c->board.n && (c->board.v[k].flags & TCP_SEG_SACKED); k++)
		end = c->board.v[k].end;
	if (end_out)
		*end_out = end;
	return 1;
}

/* RFC 2883 4 (and 8985 6.2 step 3): the first block reports a duplicate
 * when it lies below the cumulative ACK or inside the second block. */
int tcp_sack_is_dsack(const struct tcp_repr *t)
{
	if (!t->n_sack)
		return 0;
	const struct tcp_sack_block *d = &t->sack[0];
	if (!SEQ_LT(d->left, d->right))
		return 0;
	if (SEQ_LEQ(d->right, t->ack))
		return 1;
	return t->n_sack >= 2 && SEQ_GEQ(d->left, t->sack[1].left) && SEQ_LEQ(d->right, t->sack[1].right);
}

#ifdef US_CHECKS
/* The scoreboard: records in sequence order, contiguous, non-empty, from
 * at least SND.UNA to at most SND.MAX, their byte counts what the flags
 * say. */
static void board_check(const struct tcp_conn *c)
{
	const struct tcp_board *b = &c->board;
	US_ASSERT(b->n <= b->cap);
	uint32_t sacked = 0, lost = 0, retrans = 0;
	for (uint32_t i = 0; i < b->n; i++) {
		const struct tcp_seg *s = &b->v[i];
		US_ASSERT(SEQ_LT(s->seq, s->end));
		US_ASSERT(i + 1 == b->n || s->end == b->v[i + 1].seq);
		uint32_t l = seg_len(s);
		sacked += (s->flags & TCP_SEG_SACKED) ? l : 0;
		lost += (s->flags & TCP_SEG_LOST) ? l : 0;
		retrans += (s->flags & TCP_SEG_RETRANS) ? l : 0;
	}
	if (b->n) {
		US_ASSERT(SEQ_GEQ(b->v[0].seq, c->snd_una));
		US_ASSERT(SEQ_LEQ(b->v[b->n - 1].end, c->snd_max));
	}
	US_ASSERT(sacked == b->sacked && lost == b->lost && retrans == b->retrans);
}

void tcp_check_invariants(const struct tcp_conn *c)
{
	if (c->state == US_TCP_CLOSED || c->state == US_TCP_LISTEN)
		return;
	/* RFC 9293 3.3.1: SND.UNA <= SND.NXT <= SND.MAX, in sequence space. */
	US_ASSERT(SEQ_LEQ(c->snd_una, c->snd_nxt));
	US_ASSERT(SEQ_LEQ(c->snd_nxt, c->snd_max));
	/* What is in flight is in the send ring, but for the SYN and FIN. */
	uint32_t ctl = (SEQ_LEQ(c->snd_una, c->iss) ? 1u : 0u) + (c->fin_sent ? 1u : 0u);
	US_ASSERT(c->snd_max - c->snd_una <= c->sndq.len + ctl);
	US_ASSERT(c->sndq.len <= c->sndq.cap && c->rcvq.len <= c->rcvq.cap);
	/* Out-of-order data is stored past what is queued in order, inside
	 * the ring. */
	if (c->ooo.n)
		US_ASSERT((uint64_t)asm_last_end(&c->ooo) + tcp_rcv_queued(c) <= c->rcvq.cap);
	US_ASSERT(c->sacked_bytes == c->board.sacked);
	board_check(c);
}
#endif
