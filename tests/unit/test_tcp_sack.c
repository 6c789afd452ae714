/* Unit tests for transport/tcp_sack.c on bare connection structs: the
 * receiver's SACK blocks (RFC 2018 4 order, RFC 2883 D-SACK) and the
 * sender's scoreboard of transmission records (pipe, NextSeg, RTO, the
 * RACK and rate-sampling facts each ACK yields, bounded memory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/bytes.h"
#include "stack.h"
#include "transport/tcp.h"

#define NXT 1000000u   /* RCV.NXT of the test connections */

static void rcv_init(struct tcp_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->sack_ok = 1;
	c->rcv_nxt = NXT;
	asm_init(&c->ooo);
}

/* Out-of-order data [l, r) relative to NXT arrives, as tcp_in.c records it. */
static void ofo(struct tcp_conn *c, uint32_t l, uint32_t r)
{
	assert_int_equal(asm_add(&c->ooo, l, r), 0);
	tcp_rcv_sack_ofo(c, NXT + l);
}

static void expect_blocks(const struct tcp_conn *c, uint32_t max, const uint32_t *want, uint32_t n)
{
	struct tcp_sack_block b[TCP_MAX_SACK];
	uint32_t got = tcp_rcv_sack_blocks(c, b, max);
	assert_int_equal(got, n);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(b[i].left, NXT + want[2 * i]);
		assert_int_equal(b[i].right, NXT + want[2 * i + 1]);
	}
}

/* Which blocks no ACK has carried yet (tcp_rcv_sack_would_hide's facts):
 * a new block is unreported until an ACK carries it, and with a D-SACK the
 * ACK carries the block holding the duplicate second, not the first ones. */
static void test_unreported(void **state)
{
	(void)state;
	struct tcp_conn c;
	rcv_init(&c);
	c.ts_ok = 1;   /* three blocks fit beside timestamps */
	ofo(&c, 100, 200);
	ofo(&c, 300, 400);
	ofo(&c, 500, 600);
	assert_int_equal(c.rcv_sack_unrep, 0x7);
	tcp_rcv_sack_sent(&c, 2);   /* an ACK with [500,600) and [300,400) */
	assert_int_equal(c.rcv_sack_unrep, 0x4);   /* [100,200) still unreported */
	assert_true(tcp_rcv_sack_would_hide(&c));  /* a new block in front pushes it out */
	tcp_rcv_sack_sent(&c, 3);
	assert_int_equal(c.rcv_sack_unrep, 0);
	assert_false(tcp_rcv_sack_would_hide(&c));
	ofo(&c, 700, 800);   /* [700,800) [500,600) [300,400) [100,200) */
	assert_int_equal(c.rcv_sack_unrep, 0x1);
	/* A duplicate inside [300,400) (index 2): the next ACK carries the
	 * D-SACK, [300,400), then [700,800). */
	c.rcv_sack_unrep = 0x7;
	tcp_rcv_dsack(&c, NXT + 320, NXT + 340);
	expect_blocks(&c, 3, (uint32_t[]){320, 340, 300, 400, 700, 800}, 3);
	tcp_rcv_sack_sent(&c, 3);
	assert_int_equal(c.rcv_sack_unrep, 0x2);   /* [500,600) went in no ACK */
}

/* RFC 2018 4: the block holding the latest segment first, then the most
 * recently reported ones; a fifth block pushes the least recent out. */
static void test_most_recent_first(void **state)
{
	(void)state;
	struct tcp_conn c;
	rcv_init(&c);
	ofo(&c, 100, 200);
	ofo(&c, 300, 400);
	ofo(&c, 500, 600);
	expect_blocks(&c, 4, (uint32_t[]){500, 600, 300, 400, 100, 200}, 3);
	/* The middle block grows: it moves to the front. */
	ofo(&c, 400, 450);
	expect_blocks(&c, 4, (uint32_t[]){300, 450, 500, 600, 100, 200}, 3);
	ofo(&c, 700, 800);
	ofo(&c, 900, 1000);
	/* Five held ranges, four reported: the least recent (100-200) is left out. */
	expect_blocks(&c, 4, (uint32_t[]){900, 1000, 700, 800, 300, 450, 500, 600}, 4);
	/* With timestamps only three fit: the three most recent. */
	expect_blocks(&c, 3, (uint32_t[]){900, 1000, 700, 800, 300, 450}, 3);
	assert_int_equal(tcp_rcv_sack_count(&c), 4);
}

/* A segment joining two blocks: one block, in front, the merged ones gone. */
static void test_merge(void **state)
{
	(void)state;
	struct tcp_conn c;
	rcv_init(&c);
	ofo(&c, 100, 200);
	ofo(&c, 300, 400);
	ofo(&c, 600, 700);
	ofo(&c, 200, 300);
	expect_blocks(&c, 4, (uint32_t[]){100, 400, 600, 700}, 2);
	assert_true(tcp_rcv_sack_extends_head(&c, NXT + 400, NXT + 450));   /* touches its right edge */
	assert_true(tcp_rcv_sack_extends_head(&c, NXT + 50, NXT + 100));
	assert_false(tcp_rcv_sack_extends_head(&c, NXT + 450, NXT + 500));
	assert_false(tcp_rcv_sack_extends_head(&c, NXT + 600, NXT + 650));
}

/* RCV.NXT moves past blocks: they go; the rest of the held ranges fill the
 * free places, and the order of those still listed is kept. */
static void test_advance(void **state)
{
	(void)state;
	struct tcp_conn c;
	rcv_init(&c);
	for (uint32_t i = 0; i < 6; i++)
		ofo(&c, 100 + 200 * i, 200 + 200 * i);   /* 100-200, 300-400, ... 1100-1200 */
	expect_blocks(&c, 4, (uint32_t[]){1100, 1200, 900, 1000, 700, 800, 500, 600}, 4);
	/* The hole at 0 fills up to 200 (the first range is taken with it). */
	asm_shift(&c.ooo, 100);
	uint32_t more = asm_take_front(&c.ooo);
	assert_int_equal(more, 100);
	c.rcv_nxt += 200;
	tcp_rcv_sack_advanced(&c);
	struct tcp_sack_block b[TCP_MAX_SACK];
	assert_int_equal(tcp_rcv_sack_blocks(&c, b, 4), 4);
	assert_int_equal(b[0].left, NXT + 1100);
	assert_int_equal(b[3].left, NXT + 500);
	/* 200-700 arrives: 300-400 and 500-600 are inside it, 700-800 joins. */
	asm_shift(&c.ooo, 500);
	assert_int_equal(asm_take_front(&c.ooo), 100);
	c.rcv_nxt = NXT + 800;
	tcp_rcv_sack_advanced(&c);
	assert_int_equal(tcp_rcv_sack_blocks(&c, b, 4), 2);
	assert_int_equal(b[0].left, NXT + 1100);
	assert_int_equal(b[1].left, NXT + 900);
	/* Everything in: no blocks. */
	c.ooo.n = 0;
	c.rcv_nxt = NXT + 1200;
	tcp_rcv_sack_advanced(&c);
	assert_int_equal(tcp_rcv_sack_count(&c), 0);
}

/* RFC 2883: a duplicate is reported once, first; one held above RCV.NXT
 * is followed by the block holding it; contiguous duplicates grow one
 * D-SACK block; an ACK that carried it clears it. */
static void test_dsack(void **state)
{
	(void)state;
	struct tcp_conn c;
	rcv_init(&c);
	ofo(&c, 100, 200);
	ofo(&c, 300, 400);
	tcp_rcv_dsack(&c, NXT - 50, NXT - 20);   /* below RCV.NXT */
	expect_blocks(&c, 4, (uint32_t[]){-50u, -20u, 300, 400, 100, 200}, 3);
	tcp_rcv_sack_sent(&c, 3);
	expect_blocks(&c, 4, (uint32_t[]){300, 400, 100, 200}, 2);
	/* A duplicate inside 100-200: that block comes second. */
	tcp_rcv_dsack(&c, NXT + 120, NXT + 140);
	tcp_rcv_dsack(&c, NXT + 140, NXT + 160);   /* contiguous: one block */
	expect_blocks(&c, 4, (uint32_t[]){120, 160, 100, 200, 300, 400}, 3);
	assert_int_equal(tcp_rcv_sack_count(&c), 3);
	/* An ACK sent without blocks (a super-segment) leaves it owed. */
	tcp_rcv_sack_sent(&c, 0);
	assert_int_equal(tcp_rcv_sack_count(&c), 3);
	tcp_rcv_sack_sent(&c, 1);
	assert_int_equal(tcp_rcv_sack_count(&c), 2);
	/* Without SACK nothing is reported. */
	c.sack_ok = 0;
	assert_int_equal(tcp_rcv_sack_count(&c), 0);
	struct tcp_sack_block b[TCP_MAX_SACK];
	assert_int_equal(tcp_rcv_sack_blocks(&c, b, 4), 0);
}

/* Sequence numbers that wrap: blocks straddling 2^32 keep their order. */
static void test_wrap(void **state)
{
	(void)state;
	struct tcp_conn c;
	rcv_init(&c);
	c.rcv_nxt = 0xFFFFFF00u;
	assert_int_equal(asm_add(&c.ooo, 0x80, 0x180), 0);
	tcp_rcv_sack_ofo(&c, c.rcv_nxt + 0x80);
	assert_int_equal(asm_add(&c.ooo, 0x200, 0x300), 0);
	tcp_rcv_sack_ofo(&c, c.rcv_nxt + 0x200);
	struct tcp_sack_block b[TCP_MAX_SACK];
	assert_int_equal(tcp_rcv_sack_blocks(&c, b, 4), 2);
	assert_int_equal(b[0].left, 0x100u);
	assert_int_equal(b[1].left, 0xFFFFFF80u);
	assert_int_equal(b[1].right, 0x80u);
	assert_true(tcp_rcv_sack_extends_head(&c, 0x80u, 0x100u));
}

/* ---- the sender's scoreboard ---- */

#define UNA 5000u
#define MSS 1000u

struct fake {
	struct us_stack *st;   /* a real stack: its clock, and its memory budget the records are charged to */
	struct tcp_conn c;
};

static void snd_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->st = us_stack_new(NULL);
	assert_non_null(f->st);
	f->st->now = 1000000;
	f->c.sack_ok = 1;
	f->c.mss = MSS;
	f->c.snd_una = f->c.snd_nxt = f->c.snd_max = UNA;
	assert_int_equal(tcp_board_init(f->st, &f->c), 0);
	assert_true(us_stack_tcp_mem(f->st) > 0);
}

static void snd_free(struct fake *f)
{
	tcp_board_free(f->st, &f->c);
	assert_int_equal(us_stack_tcp_mem(f->st), 0);   /* every record charged is given back */
	us_stack_free(f->st);
}

/* Send n segments of MSS now, one pass. */
static void send_segs(struct fake *f, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		tcp_board_sent(f->st, &f->c, f->c.snd_max, f->c.snd_max + MSS);
		f->c.snd_max += MSS;
		f->c.snd_nxt = f->c.snd_max;
	}
}

/* Scoreboard invariant: records contiguous over [SND.UNA, SND.MAX), and
 * the byte counters equal what the flags say. */
static void check_board(const struct tcp_conn *c)
{
	const struct tcp_board *b = &c->board;
	uint32_t sacked = 0, lost = 0, retrans = 0, at = c->snd_una;
	for (uint32_t i = 0; i < b->n; i++) {
		assert_int_equal(b->v[i].seq, at);
		assert_true(SEQ_LT(b->v[i].seq, b->v[i].end));
		at = b->v[i].end;
		uint32_t l = b->v[i].end - b->v[i].seq;
		sacked += (b->v[i].flags & TCP_SEG_SACKED) ? l : 0;
		lost += (b->v[i].flags & TCP_SEG_LOST) ? l : 0;
		retrans += (b->v[i].flags & TCP_SEG_RETRANS) ? l : 0;
	}
	if (b->n)
		assert_int_equal(at, c->snd_max);
	assert_int_equal(b->sacked, sacked);
	assert_int_equal(b->lost, lost);
	assert_int_equal(b->retrans, retrans);
}

/* One pass of new data is one record; SACK blocks split it; a cumulative
 * ACK removes what it covers; pipe = out - SACKed - lost + retransmitted. */
static void test_board_basics(void **state)
{
	(void)state;
	struct fake f;
	snd_init(&f);
	send_segs(&f, 10);
	assert_int_equal(f.c.board.n, 1);
	assert_int_equal(tcp_board_pipe(&f.c), 10 * MSS);
	f.st->now += 50000000;
	struct tcp_ack_info ai = {0};
	assert_int_equal(tcp_board_sack(f.st, &f.c, UNA + 3 * MSS, UNA + 5 * MSS, &ai), 2 * MSS);
	check_board(&f.c);
	assert_int_equal(f.c.board.n, 3);
	assert_int_equal(tcp_board_pipe(&f.c), 8 * MSS);
	assert_int_equal(ai.delivered, 2 * MSS);
	assert_true(ai.rack_valid && ai.rtt_valid);
	assert_int_equal(ai.rtt_new, 50000000);
	/* SACKing the same again delivers nothing new */
	memset(&ai, 0, sizeof(ai));
	assert_int_equal(tcp_board_sack(f.st, &f.c, UNA + 3 * MSS, UNA + 5 * MSS, &ai), 0);
	assert_int_equal(ai.delivered, 0);
	/* the cumulative ACK past the SACKed block: SACKed bytes are not
	 * delivered twice */
	memset(&ai, 0, sizeof(ai));
	tcp_board_ack(f.st, &f.c, UNA + 6 * MSS, &ai);
	f.c.snd_una = UNA + 6 * MSS;
	check_board(&f.c);
	assert_int_equal(ai.delivered, 4 * MSS);
	assert_int_equal(f.c.board.sacked, 0);
	assert_int_equal(tcp_board_pipe(&f.c), 4 * MSS);
	/* a partial ACK inside a record trims it */
	memset(&ai, 0, sizeof(ai));
	tcp_board_ack(f.st, &f.c, UNA + 6 * MSS + 300, &ai);
	f.c.snd_una = UNA + 6 * MSS + 300;
	check_board(&f.c);
	assert_int_equal(ai.delivered, 300);
	snd_free(&f);
}

/* Lost data is resent lowest first (NextSeg), consecutive lost records
 * together up to a segment; a resent lost record counts in pipe once; a
 * lost retransmission is resent again; SACKed data never. */
static void test_board_recovery(void **state)
{
	(void)state;
	struct fake f;
	snd_init(&f);
	for (int i = 0; i < 6; i++) {
		f.st->now += 10;   /* each segment its own record */
		send_segs(&f, 1);
	}
	assert_int_equal(f.c.board.n, 6);
	struct tcp_ack_info ai = {0};
	f.st->now += 1000;
	tcp_board_sack(f.st, &f.c, UNA + 2 * MSS, UNA + 3 * MSS, &ai);
	/* mark segments 0, 1 and 3 lost */
	struct tcp_board *b = &f.c.board;
	for (uint32_t i = 0; i < b->n; i++)
		if (b->v[i].seq != UNA + 2 * MSS && SEQ_LT(b->v[i].seq, UNA + 4 * MSS))
			tcp_board_mark_lost(&f.c, &b->v[i]);
	check_board(&f.c);
	/* segment 4 is in flight, 5 SACKed */
	memset(&ai, 0, sizeof(ai));
	tcp_board_sack(f.st, &f.c, UNA + 5 * MSS, UNA + 6 * MSS, &ai);
	check_board(&f.c);
	uint32_t seq, len;
	assert_true(tcp_board_next_lost(&f.c, 2 * MSS, &seq, &len));
	assert_int_equal(seq, UNA);
	assert_true(len >= MSS);
	uint32_t pipe0 = tcp_board_pipe(&f.c);
	tcp_board_sent(f.st, &f.c, UNA, UNA + MSS);
	check_board(&f.c);
	assert_int_equal(tcp_board_pipe(&f.c), pipe0 + MSS);   /* out - sacked - lost + retrans */
	assert_true(tcp_board_next_lost(&f.c, MSS, &seq, &len));
	assert_int_equal(seq, UNA + MSS);
	tcp_board_sent(f.st, &f.c, UNA + MSS, UNA + 2 * MSS);
	assert_true(tcp_board_next_lost(&f.c, MSS, &seq, &len));
	assert_int_equal(seq, UNA + 3 * MSS);   /* the SACKed segment 2 is skipped */
	tcp_board_sent(f.st, &f.c, UNA + 3 * MSS, UNA + 4 * MSS);
	assert_false(tcp_board_next_lost(&f.c, MSS, &seq, &len));
	/* the first retransmission is lost again: resent again */
	b = &f.c.board;
	tcp_board_mark_lost(&f.c, &b->v[0]);
	check_board(&f.c);
	assert_true(tcp_board_next_lost(&f.c, MSS, &seq, &len));
	assert_int_equal(seq, UNA);
	assert_int_equal(len, MSS);
	/* delivered retransmitted data says so (no RTO sample from it) */
	memset(&ai, 0, sizeof(ai));
	tcp_board_ack(f.st, &f.c, UNA + 2 * MSS, &ai);
	f.c.snd_una = UNA + 2 * MSS;
	assert_true(ai.retrans_delivered);
	assert_false(ai.rtt_valid);
	check_board(&f.c);
	snd_free(&f);
}

/* After an RTO everything not SACKed is lost; the head is resent even if
 * SACKed (RFC 2018 8); a second timeout forgets every SACK. */
static void test_board_timeout(void **state)
{
	(void)state;
	struct fake f;
	snd_init(&f);
	send_segs(&f, 4);
	struct tcp_ack_info ai = {0};
	tcp_board_sack(f.st, &f.c, UNA, UNA + MSS, &ai);   /* bogus, but allowed: SACK at SND.UNA */
	tcp_board_sack(f.st, &f.c, UNA + 2 * MSS, UNA + 3 * MSS, &ai);
	tcp_board_timeout(&f.c, 0);
	check_board(&f.c);
	assert_int_equal(f.c.board.sacked, MSS);   /* only segment 2 */
	assert_int_equal(f.c.board.lost, 3 * MSS);
	assert_int_equal(tcp_board_pipe(&f.c), 0);
	tcp_board_timeout(&f.c, 1);
	check_board(&f.c);
	assert_int_equal(f.c.board.sacked, 0);
	assert_int_equal(f.c.board.lost, 4 * MSS);
	snd_free(&f);
}

/* Transmission times are unique and in sending order, even within one
 * clock reading: a retransmission after new data is later. */
static void test_board_xmit_order(void **state)
{
	(void)state;
	struct fake f;
	snd_init(&f);
	send_segs(&f, 3);
	tcp_board_sent(f.st, &f.c, UNA, UNA + MSS);   /* same clock reading */
	check_board(&f.c);
	struct tcp_board *b = &f.c.board;
	assert_true(b->v[0].xmit_ts > b->v[b->n - 1].xmit_ts);
	assert_true(SEQ_SENT_AFTER(b->v[0].xmit_ts, b->v[0].end, b->v[b->n - 1].xmit_ts, b->v[b->n - 1].end));
	snd_free(&f);
}

/* Hostile SACK patterns cannot grow the scoreboard past its bound: 10000
 * one-byte holes leave at most TCP_BOARD_MAX records, counters exact, and
 * the stream still works. */
static void test_board_bounded(void **state)
{
	(void)state;
	struct fake f;
	snd_init(&f);
	f.c.mss = 10;
	for (uint32_t i = 0; i < 20000; i++) {
		f.st->now += 1;   /* each its own record */
		tcp_board_sent(f.st, &f.c, f.c.snd_max, f.c.snd_max + 10);
		f.c.snd_max += 10;
	}
	struct tcp_ack_info ai = {0};
	for (uint32_t i = 0; i < 10000; i++)
		tcp_board_sack(f.st, &f.c, UNA + 20 * i + 3, UNA + 20 * i + 4, &ai);
	check_board(&f.c);
	assert_true(f.c.board.n <= 4096);
	assert_true(f.c.board.cap <= 4096);
	tcp_board_timeout(&f.c, 1);
	check_board(&f.c);
	memset(&ai, 0, sizeof(ai));
	tcp_board_ack(f.st, &f.c, f.c.snd_max, &ai);
	f.c.snd_una = f.c.snd_max;
	check_board(&f.c);
	assert_int_equal(f.c.board.n, 0);
	assert_int_equal(tcp_board_pipe(&f.c), 0);
	snd_free(&f);
}

/* RFC 2883 detection on the sender's side. */
static void test_dsack_detect(void **state)
{
	(void)state;
	struct tcp_repr t = {.ack = 10000, .n_sack = 1, .sack = {{9000, 9500}}};
	assert_true(tcp_sack_is_dsack(&t));
	t.sack[0] = (struct tcp_sack_block){11000, 11500};
	assert_false(tcp_sack_is_dsack(&t));
	t.n_sack = 2;
	t.sack[1] = (struct tcp_sack_block){10500, 12000};
	assert_true(tcp_sack_is_dsack(&t));
	t.sack[1] = (struct tcp_sack_block){11200, 12000};
	assert_false(tcp_sack_is_dsack(&t));
}


/* ---- the out-of-order assembler (core/assembler.c) ---- */

/* Random ranges against a byte map: the set is always the map's runs,
 * whether inline or grown to the heap; a full array refuses only what
 * needs a new range, and takes the rest. */
static void test_asm_model(void **state)
{
	(void)state;
	enum { SPAN = 20000 };
	static uint8_t map[SPAN];
	for (int grow = 0; grow < 2; grow++) {
		struct assembler a;
		asm_init(&a);
		memset(map, 0, sizeof(map));
		uint32_t x = 12345, refused = 0;
		for (int k = 0; k < 4000; k++) {
			x = x * 1103515245u + 12345u;
			uint32_t st = (x >> 8) % (SPAN - 40), len = 1 + (x >> 24) % 12;
			/* mostly fresh ranges with a gap before them, as lost segments leave */
			int rc = asm_add(&a, st, st + len);
			if (rc < 0 && grow && asm_grow(&a))
				rc = asm_add(&a, st, st + len);
			if (rc < 0) {
				refused++;
				assert_int_equal(a.n, a.cap);   /* only a full array refuses */
				continue;
			}
			memset(map + st, 1, len);
		}
		/* the ranges are exactly the runs of the map */
		const struct asm_range *r = asm_ranges_c(&a);
		uint32_t i = 0;
		for (uint32_t b = 0; b < SPAN;) {
			if (!map[b]) {
				b++;
				continue;
			}
			uint32_t e = b;
			while (e < SPAN && map[e])
				e++;
			assert_true(i < a.n);
			assert_int_equal(r[i].start, b);
			assert_int_equal(r[i].end, e);
			i++;
			b = e;
		}
		assert_int_equal(i, a.n);
		if (grow) {
			assert_true(a.n > ASM_INLINE);   /* more holes than the inline array */
			assert_true(a.cap <= ASM_MAX);
			assert_int_equal(asm_heap_bytes(&a), (size_t)a.cap * sizeof(struct asm_range));
		} else {
			assert_true(refused > 0);
			assert_int_equal(a.cap, ASM_INLINE);
			assert_int_equal(asm_heap_bytes(&a), 0);
		}
		/* asm_first_after is the first range ending after the offset */
		for (uint32_t off = 0; off < SPAN; off += 7) {
			uint32_t f = asm_first_after(&a, off), want = 0;
			while (want < a.n && r[want].end <= off)
				want++;
			assert_int_equal(f, want);
		}
		/* taking the front in order empties it */
		while (a.n) {
			asm_shift(&a, asm_ranges_c(&a)[0].start);
			assert_true(asm_take_front(&a) > 0);
		}
		asm_free(&a);
		assert_int_equal(a.cap, ASM_INLINE);
		assert_null(a.heap);
	}
}

/* Growth stops at ASM_MAX ranges: memory per connection stays bounded. */
static void test_asm_bounded(void **state)
{
	(void)state;
	struct assembler a;
	asm_init(&a);
	size_t total = 0;
	uint32_t added = 0;
	for (uint32_t k = 0; k < 3 * ASM_MAX; k++) {
		if (asm_add(&a, 2 * k + 1, 2 * k + 2) < 0) {
			size_t want = asm_grow_bytes(&a);   /* what the owner checks its budget against */
			size_t g = asm_grow(&a);
			assert_int_equal(g, want);
			if (!g) {
				assert_int_equal(a.cap, ASM_MAX);
				break;
			}
			total += g;
			assert_int_equal(asm_add(&a, 2 * k + 1, 2 * k + 2), 0);
		}
		added++;
	}
	assert_int_equal(added, ASM_MAX);
	assert_int_equal(a.n, ASM_MAX);
	assert_int_equal(total, (size_t)ASM_MAX * sizeof(struct asm_range));
	/* a range that merges needs no entry, even when full */
	assert_int_equal(asm_add(&a, 2, 3), 0);
	assert_int_equal(a.n, ASM_MAX - 1);
	assert_int_equal(asm_add(&a, 0, 1), 0);   /* [0,1) joins [1,4) */
	assert_int_equal(asm_ranges_c(&a)[0].start, 0);
	asm_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_most_recent_first), cmocka_unit_test(test_unreported), cmocka_unit_test(test_merge), cmocka_unit_test(test_advance),
		cmocka_unit_test(test_dsack), cmocka_unit_test(test_wrap), cmocka_unit_test(test_board_basics),
		cmocka_unit_test(test_board_recovery), cmocka_unit_test(test_board_timeout),
		cmocka_unit_test(test_board_xmit_order), cmocka_unit_test(test_board_bounded),
		cmocka_unit_test(test_dsack_detect), cmocka_unit_test(test_asm_model), cmocka_unit_test(test_asm_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
