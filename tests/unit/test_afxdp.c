/* The ring bookkeeping of the AF_XDP and AF_PACKET devices, in plain
 * memory with the test playing the kernel: AF_XDP's producer/consumer
 * rings (free room, wrap of the 32-bit indexes, cached indexes refreshed
 * only when needed, need_wakeup), and the TPACKET_V2 frame walker (frames
 * in ring order across blocks and around the ring, each slot handed back
 * only once the caller is done with it, offsets and lengths that do not
 * fit a slot refused and the slot handed back, one slot per call). */
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

/* ---- TPACKET_V2 ---- */

#define BS 4096u /* a block: two frames and room left over */
#define FS 1536u
#define NB 3u
#define FPB (BS / FS)
#define NF (FPB * NB)
#define MAC 66u /* where the kernel puts the Ethernet header in a slot */

struct tp_img {
	uint8_t ring[BS * NB];
};

static struct tpacket2_hdr *slot(struct tp_img *m, uint32_t i)
{
	return (struct tpacket2_hdr *)(m->ring + (i / FPB) * BS + (i % FPB) * FS);
}

/* The "kernel" writes a frame of len bytes, all equal to byte, into slot i
 * and hands it over. */
static void put_frame(struct tp_img *m, uint32_t i, uint32_t len, uint8_t byte, uint32_t flags)
{
	struct tpacket2_hdr *h = slot(m, i);
	assert_int_equal(h->tp_status, TP_STATUS_KERNEL); /* the slot was handed back */
	memset(h, 0, FS);
	h->tp_mac = MAC;
	h->tp_net = MAC + 14;
	h->tp_snaplen = h->tp_len = len;
	memset((uint8_t *)h + MAC, byte, len);
	h->tp_status = TP_STATUS_USER | flags;
}

/* tp_next must give a frame; the test ends here if not (the analyzers
 * then see that nothing is read from a frame that was not given). */
#define NEXT_FRAME(r, f)                         \
	do {                                     \
		int rc_ = tp_next((r), (f));     \
		assert_int_equal(rc_, TP_FRAME); \
		if (rc_ != TP_FRAME)             \
			return;                  \
	} while (0)

/* A walker over an empty ring image (one image: the tests run in turn). */
static struct tp_img *ring_fresh(struct tp_rx *r)
{
	static struct tp_img img;
	memset(&img, 0, sizeof(img));
	memset(r, 0, sizeof(*r));
	r->ring = img.ring;
	r->block_size = BS;
	r->frame_size = FS;
	r->frames_per_block = FPB;
	r->frame_nr = NF;
	return &img;
}

static void test_tpacket_walk(void **state)
{
	(void)state;
	struct tp_rx r;
	struct tp_img *m = ring_fresh(&r);
	struct tp_frame f = {0};
	assert_false(tp_ready(&r));
	assert_int_equal(tp_next(&r, &f), TP_NONE); /* nothing handed over */
	put_frame(m, 0, 60, 0xa0, TP_STATUS_CSUMNOTREADY);
	put_frame(m, 1, FS - MAC, 0xa1, TP_STATUS_CSUM_VALID); /* exactly fills the slot */
	put_frame(m, 2, 42, 0xa2, 0);                          /* block 1: slots do not span blocks */
	for (uint32_t k = 0; k < 3; k++) {
		assert_true(tp_ready(&r));
		NEXT_FRAME(&r, &f);
		assert_ptr_equal(f.data, (uint8_t *)slot(m, k) + MAC);
		assert_int_equal(f.data[0], 0xa0 + k);
		assert_int_equal(f.data[f.len - 1], 0xa0 + k);
		assert_int_equal(f.len, f.wire_len);
		assert_true(f.status & TP_STATUS_USER);
		/* the slot stays ours until the caller is done with the frame */
		NEXT_FRAME(&r, &f);
		assert_true(slot(m, k)->tp_status & TP_STATUS_USER);
		tp_done(&r);
		assert_int_equal(slot(m, k)->tp_status, TP_STATUS_KERNEL);
	}
	assert_int_equal(f.len, 42);
	assert_int_equal(tp_next(&r, &f), TP_NONE);
	/* the status flags come through */
	put_frame(m, 3, 100, 0xa3, TP_STATUS_LOSING | TP_STATUS_VLAN_VALID);
	slot(m, 3)->tp_vlan_tci = 7;
	NEXT_FRAME(&r, &f);
	assert_int_equal(f.status, TP_STATUS_USER | TP_STATUS_LOSING | TP_STATUS_VLAN_VALID);
	assert_int_equal(f.vlan_tci, 7);
	tp_done(&r);
	/* around the ring: slots 4, 5, then 0 again */
	put_frame(m, 4, 10, 0xb4, 0);
	put_frame(m, 5, 11, 0xb5, 0);
	put_frame(m, 0, 12, 0xb0, 0);
	NEXT_FRAME(&r, &f);
	assert_int_equal(f.data[0], 0xb4);
	tp_done(&r);
	NEXT_FRAME(&r, &f);
	assert_int_equal(f.data[0], 0xb5);
	tp_done(&r);
	assert_int_equal(r.head, 0);
	NEXT_FRAME(&r, &f);
	assert_int_equal(f.data[0], 0xb0);
	assert_int_equal(f.len, 12);
	tp_done(&r);
	assert_int_equal(tp_next(&r, &f), TP_NONE);
	/* a truncated frame (TP_STATUS_COPY: snap length short of the wire
	 * length) is a frame: the caller sees both lengths and decides */
	put_frame(m, 1, 100, 0xc1, TP_STATUS_COPY);
	slot(m, 1)->tp_len = 3000;
	NEXT_FRAME(&r, &f);
	assert_int_equal(f.len, 100);
	assert_int_equal(f.wire_len, 3000);
	tp_done(&r);
	assert_int_equal(r.bad, 0);
}

static void test_tpacket_bad_offsets(void **state)
{
	(void)state;
	struct tp_rx r;
	struct tp_img *m = ring_fresh(&r);
	struct tp_frame f = {0};
	/* data running one byte past the slot */
	put_frame(m, 0, FS - MAC, 0x10, 0);
	slot(m, 0)->tp_snaplen = FS - MAC + 1;
	/* a snap length that would wrap 32 bits with the offset */
	put_frame(m, 1, 10, 0x11, 0);
	slot(m, 1)->tp_snaplen = UINT32_MAX - 10;
	/* a MAC offset inside the header */
	put_frame(m, 2, 10, 0x12, 0);
	slot(m, 2)->tp_mac = sizeof(struct tpacket2_hdr) - 1;
	/* a MAC offset past the slot */
	put_frame(m, 3, 10, 0x13, 0);
	slot(m, 3)->tp_mac = 0xffff;
	slot(m, 3)->tp_snaplen = 0;
	/* then a good one */
	put_frame(m, 4, 20, 0x14, 0);
	for (uint32_t k = 0; k < 4; k++) {
		assert_int_equal(tp_next(&r, &f), TP_BAD);
		assert_int_equal(r.bad, k + 1);
		/* refused and handed back at once, the head moved on */
		assert_int_equal(slot(m, k)->tp_status, TP_STATUS_KERNEL);
		assert_int_equal(r.head, k + 1);
	}
	NEXT_FRAME(&r, &f);
	assert_int_equal(f.data[0], 0x14);
	assert_int_equal(f.len, 20);
	tp_done(&r);
	/* a header-only slot at the very end of the ring is fine; the ring wraps */
	put_frame(m, 5, 0, 0, 0);
	NEXT_FRAME(&r, &f);
	assert_int_equal(f.len, 0);
	tp_done(&r);
	assert_int_equal(r.head, 0);
	assert_int_equal(r.bad, 4);
	assert_int_equal(tp_next(&r, &f), TP_NONE);
}

/* The kernel keeps handing slots over as fast as they come back: each call
 * looks at one slot, so a caller that bounds its calls bounds its work. */
static void test_tpacket_one_slot_per_call(void **state)
{
	(void)state;
	struct tp_rx r;
	struct tp_img *m = ring_fresh(&r);
	struct tp_frame f = {0};
	for (uint32_t i = 0; i < NF; i++) {
		put_frame(m, i, 10, (uint8_t)i, 0);
		slot(m, i)->tp_mac = 0; /* every one bad */
	}
	for (uint32_t i = 0; i < 2 * NF; i++) {
		uint32_t h = r.head;
		assert_int_equal(tp_next(&r, &f), TP_BAD);
		assert_int_equal(r.head, (h + 1) % NF);
		put_frame(m, h, 10, 0, 0); /* the "kernel" refills it, bad again */
		slot(m, h)->tp_mac = 0;
	}
	assert_int_equal(r.bad, 2 * NF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xsk_producer),
		cmocka_unit_test(test_xsk_consumer_wrap),
		cmocka_unit_test(test_tpacket_walk),
		cmocka_unit_test(test_tpacket_bad_offsets),
		cmocka_unit_test(test_tpacket_one_slot_per_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
