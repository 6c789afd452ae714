/* Walking a TPACKET_V2 receive ring (AF_PACKET, PACKET_MMAP): the ring is
 * frame_nr slots of frame_size bytes, frames_per_block of them at the
 * start of each block of block_size bytes (a slot never spans blocks).
 * Each slot starts with a struct tpacket2_hdr; the kernel writes a frame
 * into the slot at the head and hands it over at once (TP_STATUS_USER in
 * its tp_status), we copy it out and hand the slot back (TP_STATUS_KERNEL),
 * in ring order. Every field the kernel wrote (tp_mac, tp_snaplen, tp_len)
 * is read once and checked against the slot before the frame is followed.
 * No system calls: tests/unit/test_afxdp.c builds rings in plain memory. */
#ifndef US_TPACKET_RING_H
#define US_TPACKET_RING_H
#include <linux/if_packet.h>
#include <stdint.h>

struct tp_rx {
	uint8_t *ring;
	uint32_t block_size, frame_size, frames_per_block, frame_nr;
	uint32_t head; /* the slot to read next */
	uint64_t bad;  /* frames whose offsets or lengths did not fit their slot */
};

struct tp_frame {
	const uint8_t *data;
	uint32_t len;      /* bytes at data (the snap length) */
	uint32_t wire_len; /* the frame's length on the wire */
	uint32_t status;   /* tp_status: TP_STATUS_CSUMNOTREADY, TP_STATUS_CSUM_VALID, TP_STATUS_LOSING, ... */
	uint16_t vlan_tci; /* with TP_STATUS_VLAN_VALID: the tag the kernel took off */
};

enum { TP_NONE = 0, TP_FRAME = 1, TP_BAD = -1 };

static inline struct tpacket2_hdr *tp_slot(const struct tp_rx *r, uint32_t i)
{
	return (struct tpacket2_hdr *)(r->ring + (uint64_t)(i / r->frames_per_block) * r->block_size +
				       (uint64_t)(i % r->frames_per_block) * r->frame_size);
}

/* Whether the kernel has handed over the slot at the head. */
static inline int tp_ready(const struct tp_rx *r)
{
	return (__atomic_load_n(&tp_slot(r, r->head)->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

/* The slot at the head back to the kernel; the head moves on. */
static inline void tp_done(struct tp_rx *r)
{
	__atomic_store_n(&tp_slot(r, r->head)->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	r->head = r->head + 1 < r->frame_nr ? r->head + 1 : 0;
}

/* Looks at one slot, the head: TP_NONE when the kernel has not handed it
 * over; TP_FRAME with the frame in *f, the slot still ours until the caller
 * has copied the frame out and called tp_done; TP_BAD (the status in
 * f->status) when its offsets do not fit the slot: counted in bad and
 * already handed back. One slot per call: the caller bounds how many it
 * looks at. */
static inline int tp_next(struct tp_rx *r, struct tp_frame *f)
{
	struct tpacket2_hdr *h = tp_slot(r, r->head);
	uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
	if (!(status & TP_STATUS_USER))
		return TP_NONE;
	/* each once: the slot is shared memory, what was checked is what is used */
	uint32_t mac = __atomic_load_n(&h->tp_mac, __ATOMIC_RELAXED);
	uint32_t snap = __atomic_load_n(&h->tp_snaplen, __ATOMIC_RELAXED);
	uint32_t wire = __atomic_load_n(&h->tp_len, __ATOMIC_RELAXED);
	f->status = status;
	if (mac < sizeof(*h) || (uint64_t)mac + snap > r->frame_size) {
		r->bad++;
		tp_done(r);
		return TP_BAD;
	}
	f->data = (const uint8_t *)h + mac;
	f->len = snap;
	f->wire_len = wire;
	f->vlan_tci = __atomic_load_n(&h->tp_vlan_tci, __ATOMIC_RELAXED);
	return TP_FRAME;
}
#endif
