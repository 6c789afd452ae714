/* Unit tests for transport/tcp_sack.c on bare connection structs: the
 * receiver's SACK blocks (RFC 2018 4 order, RFC 2883 D-SACK). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/bytes.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_most_recent_first), cmocka_unit_test(test_merge), cmocka_unit_test(test_advance),
		cmocka_unit_test(test_dsack), cmocka_unit_test(test_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
