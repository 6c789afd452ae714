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
#include <string.h>

#include "core/bytes.h"
#include "transport/tcp.h"

/* ---- receiver ---- */

void tcp_rcv_sack_reset(struct tcp_conn *c)
{
	c->n_rcv_sack = 0;
	c->have_dsack = 0;
	c->sack_unsent = 0;
}

/* The assembler range holding offset off, as absolute sequence numbers. */
static int ooo_block_at(const struct tcp_conn *c, uint32_t off, struct tcp_sack_block *b)
{
	for (uint32_t i = 0; i < c->ooo.n; i++)
		if (off >= c->ooo.r[i].start && off < c->ooo.r[i].end) {
			b->left = c->rcv_nxt + c->ooo.r[i].start;
			b->right = c->rcv_nxt + c->ooo.r[i].end;
			return 1;
		}
	return 0;
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
	keep[k++] = b;
	for (uint32_t i = 0; i < c->n_rcv_sack && k < TCP_MAX_SACK; i++) {
		const struct tcp_sack_block *o = &c->rcv_sack[i];
		if (SEQ_GEQ(o->left, b.left) && SEQ_LEQ(o->right, b.right))
			continue;
		keep[k++] = *o;
	}
	memcpy(c->rcv_sack, keep, k * sizeof(keep[0]));
	c->n_rcv_sack = k;
	c->sack_unsent = 1;
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
	for (uint32_t i = 0; i < c->ooo.n && k < TCP_MAX_SACK; i++) {
		struct tcp_sack_block b = {c->rcv_nxt + c->ooo.r[i].start, c->rcv_nxt + c->ooo.r[i].end};
		int have = 0;
		for (uint32_t j = 0; j < k && !have; j++)
			have = c->rcv_sack[j].left == b.left;
		if (!have)
			c->rcv_sack[k++] = b;
	}
	c->n_rcv_sack = k;
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

uint32_t tcp_rcv_sack_blocks(const struct tcp_conn *c, struct tcp_sack_block *out, uint32_t max)
{
	if (!c->sack_ok)
		return 0;
	uint32_t n = 0;
	int held = -1;
	if (c->have_dsack && n < max) {
		out[n++] = c->rcv_dsack;
		/* RFC 2883 4 (2): a duplicate of data held above RCV.NXT is
		 * followed by the block holding it. */
		for (uint32_t i = 0; i < c->n_rcv_sack; i++)
			if (SEQ_GEQ(c->rcv_dsack.left, c->rcv_sack[i].left) &&
			    SEQ_LEQ(c->rcv_dsack.right, c->rcv_sack[i].right))
				held = (int)i;
		if (held >= 0 && n < max)
			out[n++] = c->rcv_sack[held];
	}
	for (uint32_t i = 0; i < c->n_rcv_sack && n < max; i++)
		if ((int)i != held)
			out[n++] = c->rcv_sack[i];
	return n;
}

void tcp_rcv_sack_sent(struct tcp_conn *c, uint32_t n_sent)
{
	if (n_sent || !tcp_rcv_sack_count(c)) {
		c->have_dsack = 0;
		c->sack_unsent = 0;
	}
}
