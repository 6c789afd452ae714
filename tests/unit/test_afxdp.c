/* The ring bookkeeping of the AF_XDP and AF_PACKET devices, in plain
 * memory with the test playing the kernel: AF_XDP's producer/consumer
 * rings (free room, wrap of the 32-bit indexes, cached indexes refreshed
 * only when needed, need_wakeup), and the TPACKET_V3 block walker (frames
 * in order across blocks, blocks handed back only after their last frame
 * is read, offsets that do not fit a block refused). */
#include <linux/if_packet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "link/tpacket_ring.h"
#include "link/xsk_ring.h"

#define XSK_TEST_WAKEUP 1u /* XDP_RING_NEED_WAKEUP */

struct shared {
	uint32_t prod, cons, flags;
	uint64_t e[16];
};

static void ring_on(struct xsk_ring *r, struct shared *s, uint32_t size)
{
	memset(r, 0, sizeof(*r));
	r->producer = &s->prod;
	r->consumer = &s->cons;
	r->flags = &s->flags;
	r->entries = s->e;
	r->size = size;
	r->mask = size - 1;
	r->cached_prod = s->prod;
	r->cached_cons = s->cons;
}

/* We produce (a fill ring), the "kernel" consumes. */
static void test_xsk_producer(void **state)
{
	(void)state;
	struct shared s = {0};
	struct xsk_ring r;
	ring_on(&r, &s, 8);
	assert_int_equal(xsk_prod_room(&r, 5), 5);
	for (uint32_t i = 0; i < 5; i++)
		*xsk_addr_at(&r, r.cached_prod + i) = 100 + i;
	xsk_prod_submit(&r, 5);
	assert_int_equal(s.prod, 5);
	assert_int_equal(xsk_prod_room(&r, 8), 3); /* 5 outstanding of 8 */
	assert_int_equal(xsk_prod_outstanding(&r), 5);
	/* the kernel takes 4: room is seen only after a refresh, done when short */
	assert_int_equal(s.e[0], 100);
	assert_int_equal(s.e[4], 104);
	s.cons = 4;
	assert_int_equal(xsk_prod_room(&r, 3), 3); /* cache enough: no refresh needed */
	assert_int_equal(r.cached_cons, 0);
	assert_int_equal(xsk_prod_room(&r, 8), 7); /* refreshed */
	assert_int_equal(r.cached_cons, 4);
	for (uint32_t i = 0; i < 7; i++)
		*xsk_addr_at(&r, r.cached_prod + i) = 200 + i;
	xsk_prod_submit(&r, 7);
	/* indexes wrap mod the size: entry 8 is slot 0 */
	assert_int_equal(s.e[0], 203);
	assert_int_equal(s.e[3], 206);
	assert_int_equal(xsk_prod_room(&r, 1), 0); /* full: 8 outstanding */
	assert_false(xsk_needs_wakeup(&r, XSK_TEST_WAKEUP));
	s.flags = XSK_TEST_WAKEUP;
	assert_true(xsk_needs_wakeup(&r, XSK_TEST_WAKEUP));
}

/* The "kernel" produces (an RX ring), we consume; 32-bit indexes wrap. */
static void test_xsk_consumer_wrap(void **state)
{
	(void)state;
	struct shared s = {0};
	s.prod = s.cons = UINT32_MAX - 2; /* just before the wrap */
	struct xsk_ring r;
	ring_on(&r, &s, 4);
	assert_int_equal(xsk_cons_peek(&r, 4), 0);
	for (uint32_t i = 0; i < 4; i++)
		s.e[(s.prod + i) & 3] = 300 + i;
	s.prod += 4; /* wraps past 2^32 */
	assert_int_equal(xsk_cons_peek(&r, 2), 2);
	assert_int_equal(*xsk_addr_at(&r, r.cached_cons), 300);
	assert_int_equal(*xsk_addr_at(&r, r.cached_cons + 1), 301);
	xsk_cons_release(&r, 2);
	assert_int_equal(s.cons, UINT32_MAX - 2 + 2);
	assert_int_equal(xsk_cons_peek(&r, 8), 2); /* the rest, across the wrap */
	assert_int_equal(*xsk_addr_at(&r, r.cached_cons + 1), 303);
	xsk_cons_release(&r, 2);
	assert_int_equal(s.cons, 1u);
	assert_int_equal(xsk_cons_pending(&r), 0);
	assert_int_equal(xsk_cons_peek(&r, 8), 0);
}

/* ---- TPACKET_V3 ---- */

#define BS 4096u
#define NB 3u

struct tp_img {
	uint8_t ring[BS * NB];
};

/* Block b holds frames of the given lengths; the data of frame k is bytes
 * equal to (b * 16 + k). */
static void put_block(struct tp_img *m, uint32_t b, const uint32_t *lens, uint32_t n)
{
	struct tpacket_block_desc *bd = (struct tpacket_block_desc *)(m->ring + b * BS);
	memset(bd, 0, BS);
	uint32_t off = (uint32_t)TPACKET_ALIGN(sizeof(*bd));
	bd->hdr.bh1.offset_to_first_pkt = off;
	bd->hdr.bh1.num_pkts = n;
	for (uint32_t k = 0; k < n; k++) {
		struct tpacket3_hdr *h = (struct tpacket3_hdr *)(m->ring + b * BS + off);
		h->tp_mac = (uint16_t)TPACKET_ALIGN(sizeof(*h));
		h->tp_snaplen = h->tp_len = lens[k];
		memset((uint8_t *)h + h->tp_mac, (int)(b * 16 + k), lens[k]);
		uint32_t next = (uint32_t)TPACKET_ALIGN(h->tp_mac + lens[k]);
		h->tp_next_offset = k + 1 < n ? next : 0;
		off += next;
	}
	bd->hdr.bh1.block_status = TP_STATUS_USER;
}

static uint32_t status(struct tp_img *m, uint32_t b)
{
	return ((struct tpacket_block_desc *)(m->ring + b * BS))->hdr.bh1.block_status;
}

static void test_tpacket_walk(void **state)
{
	(void)state;
	struct tp_img *m = calloc(1, sizeof(*m));
	struct tp_rx r = {.ring = m->ring, .block_size = BS, .block_nr = NB};
	struct tp_frame f;
	assert_int_equal(tp_next(&r, &f), 0); /* nothing handed over */
	uint32_t l0[] = {60, 1514, 100}, l1[] = {42};
	put_block(m, 0, l0, 3);
	put_block(m, 1, l1, 1);
	for (uint32_t k = 0; k < 3; k++) {
		assert_int_equal(tp_next(&r, &f), 1);
		assert_int_equal(f.len, l0[k]);
		assert_int_equal(f.data[0], k);
		assert_int_equal(f.data[f.len - 1], k);
		/* the block stays ours until its last frame is done */
		assert_int_equal(status(m, 0), TP_STATUS_USER);
		tp_done(&r);
	}
	assert_int_equal(status(m, 0), TP_STATUS_KERNEL);
	assert_int_equal(tp_next(&r, &f), 1);
	assert_int_equal(f.len, 42);
	assert_int_equal(f.data[0], 16);
	tp_done(&r);
	assert_int_equal(status(m, 1), TP_STATUS_KERNEL);
	assert_int_equal(tp_next(&r, &f), 0);
	/* around the ring: block 2, then block 0 again */
	put_block(m, 2, l1, 1);
	put_block(m, 0, l1, 1);
	assert_int_equal(tp_next(&r, &f), 1);
	assert_int_equal(f.data[0], 32);
	tp_done(&r);
	assert_int_equal(tp_next(&r, &f), 1);
	assert_int_equal(f.data[0], 0);
	tp_done(&r);
	assert_int_equal(r.bad, 0);
	free(m);
}

static void test_tpacket_bad_offsets(void **state)
{
	(void)state;
	struct tp_img *m = calloc(1, sizeof(*m));
	struct tp_rx r = {.ring = m->ring, .block_size = BS, .block_nr = NB};
	struct tp_frame f;
	uint32_t l[] = {100, 100};
	/* a frame whose data runs past the block: refused, the block handed back */
	put_block(m, 0, l, 2);
	struct tpacket3_hdr *h = (struct tpacket3_hdr *)(m->ring + TPACKET_ALIGN(sizeof(struct tpacket_block_desc)));
	h->tp_snaplen = BS;
	/* the next block is fine */
	put_block(m, 1, l, 1);
	assert_int_equal(tp_next(&r, &f), 1);
	assert_int_equal(f.data[0], 16); /* block 1's frame: block 0 was skipped */
	assert_int_equal(r.bad, 1);
	assert_int_equal(status(m, 0), TP_STATUS_KERNEL);
	tp_done(&r);
	/* a first-frame offset outside the block */
	put_block(m, 2, l, 1);
	((struct tpacket_block_desc *)(m->ring + 2 * BS))->hdr.bh1.offset_to_first_pkt = BS + 8;
	assert_int_equal(tp_next(&r, &f), 0);
	assert_int_equal(r.bad, 2);
	assert_int_equal(status(m, 2), TP_STATUS_KERNEL);
	/* a next offset of 0 before the last frame: the rest of the block is dropped */
	put_block(m, 0, l, 2);
	h = (struct tpacket3_hdr *)(m->ring + TPACKET_ALIGN(sizeof(struct tpacket_block_desc)));
	h->tp_next_offset = 0;
	assert_int_equal(tp_next(&r, &f), 1);
	tp_done(&r);
	assert_int_equal(r.bad, 3);
	assert_int_equal(status(m, 0), TP_STATUS_KERNEL);
	assert_int_equal(tp_next(&r, &f), 0);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xsk_producer),
		cmocka_unit_test(test_xsk_consumer_wrap),
		cmocka_unit_test(test_tpacket_walk),
		cmocka_unit_test(test_tpacket_bad_offsets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
