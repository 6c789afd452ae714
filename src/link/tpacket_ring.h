/* Walking a TPACKET_V3 receive ring (AF_PACKET, PACKET_MMAP): the ring is
 * block_nr blocks of block_size bytes; the kernel fills a block with
 * frames and hands it over (TP_STATUS_USER in its descriptor), we read its
 * frames in order and hand it back (TP_STATUS_KERNEL). Every offset in a
 * block is checked against the block before it is followed. No system
 * calls: tests/unit/test_afxdp.c builds blocks in plain memory. */
#ifndef US_TPACKET_RING_H
#define US_TPACKET_RING_H
#include <linux/if_packet.h>
#include <stdint.h>

struct tp_rx {
	uint8_t *ring;
	uint32_t block_size, block_nr;
	uint32_t block; /* the block being read */
	uint32_t left;  /* frames of it not yet read (0: not started) */
	uint32_t off;   /* offset of the next frame in the block */
	uint64_t bad;   /* blocks or frames whose offsets did not fit */
};

struct tp_frame {
	const uint8_t *data;
	uint32_t len;      /* bytes at data (the snap length) */
	uint32_t wire_len; /* the frame's length on the wire */
	uint32_t status;   /* tp_status: TP_STATUS_CSUMNOTREADY, TP_STATUS_CSUM_VALID, ... */
};

static inline struct tpacket_block_desc *tp_block(struct tp_rx *r, uint32_t b)
{
	return (struct tpacket_block_desc *)(r->ring + (uint64_t)b * r->block_size);
}

static inline void tp_block_release(struct tp_rx *r)
{
	struct tpacket_block_desc *bd = tp_block(r, r->block);
	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	r->block = (r->block + 1) % r->block_nr;
	r->left = 0;
}

/* The next frame: 1 (in *f), or 0 when the kernel has handed us nothing. */
static inline int tp_next(struct tp_rx *r, struct tp_frame *f)
{
	for (uint32_t guard = 0; guard <= r->block_nr; guard++) {
		struct tpacket_block_desc *bd = tp_block(r, r->block);
		if (r->left == 0) {
			if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
				return 0;
			uint32_t n = bd->hdr.bh1.num_pkts, first = bd->hdr.bh1.offset_to_first_pkt;
			if (n == 0 || first < sizeof(*bd) || first >= r->block_size) {
				if (n)
					r->bad++;
				tp_block_release(r);
				continue;
			}
			r->left = n;
			r->off = first;
		}
		const struct tpacket3_hdr *h =
			(const struct tpacket3_hdr *)(r->ring + (uint64_t)r->block * r->block_size + r->off);
		uint64_t end = (uint64_t)r->off + h->tp_mac + h->tp_snaplen;
		if (r->off + sizeof(*h) > r->block_size || h->tp_mac < sizeof(*h) || end > r->block_size) {
			r->bad++;
			tp_block_release(r); /* the rest of this block cannot be trusted */
			continue;
		}
		f->data = (const uint8_t *)h + h->tp_mac;
		f->len = h->tp_snaplen;
		f->wire_len = h->tp_len;
		f->status = h->tp_status;
		/* The block goes back only after the caller has copied the frame out
		 * (tp_done), so its bytes stay ours until then. */
		if (--r->left == 0) {
			r->off = UINT32_MAX;
		} else if (h->tp_next_offset == 0 || (uint64_t)r->off + h->tp_next_offset >= r->block_size) {
			r->bad++;
			r->left = 0;
			r->off = UINT32_MAX;
		} else {
			r->off += h->tp_next_offset;
		}
		return 1;
	}
	return 0;
}

/* After the caller has copied the frame tp_next returned: the block goes
 * back to the kernel when that was its last frame. */
static inline void tp_done(struct tp_rx *r)
{
	if (r->off == UINT32_MAX)
		tp_block_release(r);
}
#endif
