/* Buffer autotuning both ways, so the default buffers fit a LAN (small:
 * memory for many connections) and a long fat path (grown to what the
 * path needs) without the application sizing them.
 *
 * Receive: dynamic right-sizing (Fisk and Feng; Linux's
 * tcp_rcv_space_adjust). Once per receiver-side RTT, the bytes the
 * application consumed in that RTT are what the sender can deliver per
 * RTT; the buffer grows to twice that (plus room for out-of-order data
 * and a faster next round), so the window we offer never is what limits
 * the sender, up to tcp_rmem_max and the window scale we announced (the
 * scale is chosen at the SYN; a buffer can never offer more than 65535 <<
 * scale, so the scale bounds the growth).
 *
 * Send: the ring grows to twice the congestion window (Linux's
 * tcp_sndbuf_expand), up to tcp_wmem_max, once the application has filled
 * it: a window's worth in flight and a window's worth queued behind it.
 *
 * A buffer set with SO_RCVBUF / SO_SNDBUF is the application's choice and
 * never changes (Linux: SOCK_RCVBUF_LOCK). Growth takes memory from the
 * stack's budget only while it is below half (tcp_conn_buffers' pressure
 * point); buffers never shrink back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "transport/tcp.h"

#define RCV_RTT_MIN_NS (1 * NS_PER_MS)   /* our timestamps count milliseconds */

/* The ring, resized to cap bytes: the first `keep` bytes from head are
 * kept (in order, from the start of the new buffer). */
static int ring_resize(struct ring *r, uint32_t cap, uint32_t keep)
{
	uint8_t *b = malloc(cap);
	if (!b)
		return -ENOMEM;
	ring_peek(r, 0, b, keep);
	free(r->buf);
	r->buf = b;
	r->cap = cap;
	r->head = 0;
	return 0;
}

/* ---- receive ---- */

void tcp_rcvbuf_init(struct tcp_conn *c)
{
	/* Linux starts the measure at the initial window's worth. */
	c->rcvq_space = US_MIN(c->rcvbuf, TCP_IW_SEGS * (uint32_t)(c->adv_mss ? c->adv_mss : TCP_DEFAULT_MSS));
	c->rcvq_seq = c->rcv_nxt;
	c->rcvq_time = 0;
	c->rcv_rtt = 0;
	c->rcv_rtt_seq = 0;
	c->rcv_rtt_time = 0;
	c->rcv_rtt_tsecr = 0;
}

static void rcv_rtt_update(struct tcp_conn *c, uint64_t sample, int win_dep)
{
	sample = US_MAX(sample, RCV_RTT_MIN_NS);
	if (!c->rcv_rtt)
		c->rcv_rtt = sample;
	else if (win_dep)
		c->rcv_rtt = US_MIN(c->rcv_rtt, sample);   /* an upper bound: keep the least */
	else
		c->rcv_rtt = c->rcv_rtt - c->rcv_rtt / 8 + sample / 8;
}

void tcp_rcv_rtt_sample(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t)
{
	if (c->ts_ok && t->has_ts && t->tsecr) {
		/* The peer echoes our timestamp: the time since we sent it is
		 * an RTT (to our clock's millisecond). One sample per echoed
		 * value, as Linux's tcp_rcv_rtt_measure_ts: the segments of a
		 * flight all echo the same one, and each would only repeat it. */
		if (t->tsecr == c->rcv_rtt_tsecr)
			return;
		c->rcv_rtt_tsecr = t->tsecr;
		uint32_t d = tcp_ms(st) + c->ts_offset - t->tsecr;
		if (d < 60000)
			rcv_rtt_update(c, (uint64_t)d * NS_PER_MS, 0);
		return;
	}
	/* Without timestamps (Linux's tcp_rcv_rtt_measure): the time one
	 * window of data takes to arrive, at least an RTT. */
	uint32_t wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	if (c->rcv_rtt_time && SEQ_LT(c->rcv_nxt, c->rcv_rtt_seq))
		return;
	if (c->rcv_rtt_time)
		rcv_rtt_update(c, st->now - c->rcv_rtt_time, 1);
	c->rcv_rtt_seq = c->rcv_nxt + US_MAX(wnd, (uint32_t)c->adv_mss);
	c->rcv_rtt_time = st->now;
}

uint32_t tcp_rcvbuf_ceiling(const struct us_stack *st, const struct tcp_conn *c)
{
	uint64_t wmax = (uint64_t)65535 << c->rcv_wscale;   /* more could never be offered */
	return (uint32_t)US_MIN((uint64_t)US_MAX(st->cfg.tcp_rmem_max, c->rcvbuf), wmax);
}

/* Room the stack's budget gives a connection's buffer to grow by `more`. */
static int budget_allows(struct us_stack *st, uint64_t more)
{
	uint64_t max = stack_mem_max(st);
	max -= max / 8;
	return stack_mem_used(st) + more <= max / 2;
}

int tcp_ooo_grow(struct us_stack *st, struct tcp_conn *c)
{
	/* More holes than the assembler's inline ranges: each lost segment of
	 * a large window is one (5% loss of a 6 MiB window: about 220). The array
	 * grows like the receive ring, within the budget's growth room. */
	size_t more = asm_grow_bytes(&c->ooo);
	if (!more || !budget_allows(st, more))
		return 0;
	size_t added = asm_grow(&c->ooo);
	if (added)
		tcp_mem_charge(st, added);
	return added != 0;
}

void tcp_ooo_free(struct us_stack *st, struct tcp_conn *c)
{
	tcp_mem_uncharge(st, asm_heap_bytes(&c->ooo));
	asm_free(&c->ooo);
}

static void rcvbuf_grow(struct us_stack *st, struct tcp_conn *c, uint32_t want)
{
	want = US_MIN(want, tcp_rcvbuf_ceiling(st, c));
	if (want <= c->rcvq.cap || !c->rcvq.buf)
		return;
	uint32_t more = want - c->rcvq.cap;
	if (!budget_allows(st, more)) {
		STAT_INC(st, tcpext, TCPMemoryPressures);
		return;
	}
	/* Keep what is readable and what is held out of order past it. */
	uint32_t held = asm_last_end(&c->ooo);
	if (ring_resize(&c->rcvq, want, c->rcvq.len + held) < 0)
		return;
	tcp_mem_charge(st, more);
	c->rcvbuf = want;
	if (c->sock)
		c->sock->rcvbuf = want;
}

void tcp_rcv_space_adjust(struct us_stack *st, struct tcp_conn *c)
{
	uint32_t copied_seq = c->rcv_nxt - c->rcvq.len;   /* read by the app up to here */
	if (!c->rcvq_time) {
		c->rcvq_time = st->now;
		c->rcvq_seq = copied_seq;
		return;
	}
	if (!c->rcv_rtt || st->now - c->rcvq_time < c->rcv_rtt)
		return;
	uint32_t copied = copied_seq - c->rcvq_seq;
	if (copied > c->rcvq_space) {
		if (!c->rcvbuf_locked && st->cfg.tcp_moderate_rcvbuf >= 0) {
			/* Twice what one RTT delivered (the sender may double in
			 * slow start), 16 segments for reordering, and more if the
			 * rate is rising fast (Linux's rule). */
			uint64_t space = US_MAX(c->rcvq_space, 1u);
			uint64_t win = 2ull * copied + 16ull * c->adv_mss;
			win += 2 * (win * (copied - c->rcvq_space) / space);
			rcvbuf_grow(st, c, (uint32_t)US_MIN(win, (uint64_t)UINT32_MAX));
		}
		c->rcvq_space = copied;
	}
	c->rcvq_seq = copied_seq;
	c->rcvq_time = st->now;
}

/* ---- send ---- */

void tcp_sndbuf_expand(struct us_stack *st, struct tcp_conn *c)
{
	if (c->sndbuf_locked || !c->sndq.buf || st->cfg.tcp_moderate_rcvbuf < 0)
		return;
	/* Only when the application waits on the buffer (a write found it
	 * full) and the congestion window, not the buffer, would allow more. */
	if (!c->sndbuf_limited || (uint64_t)c->cwnd * 2 <= c->sndq.cap)
		return;
	c->sndbuf_limited = 0;
	uint64_t want = US_MIN((uint64_t)c->cwnd * 2, (uint64_t)US_MAX(st->cfg.tcp_wmem_max, c->sndbuf));
	want = US_MIN(want, (uint64_t)c->sndq.cap * 2);   /* at most double at a time */
	if (want <= c->sndq.cap)
		return;
	uint32_t more = (uint32_t)want - c->sndq.cap;
	if (!budget_allows(st, more)) {
		STAT_INC(st, tcpext, TCPMemoryPressures);
		return;
	}
	if (ring_resize(&c->sndq, (uint32_t)want, c->sndq.len) < 0)
		return;
	tcp_mem_charge(st, more);
	c->sndbuf = (uint32_t)want;
	if (c->sock) {
		c->sock->sndbuf = (uint32_t)want;
		sock_wakeup(st, c->sock);   /* room to write again */
	}
}
