/* The bookkeeping of one AF_XDP ring (fill, completion, RX or TX), as the
 * kernel lays it out in memory shared with us: a producer index, a
 * consumer index, a flags word (XDP_RING_NEED_WAKEUP) and size entries.
 * Indexes run freely (mod 2^32) and the entry is at index & mask. One side
 * produces, the other consumes; each keeps a cached copy of the other's
 * index and reads the shared one (acquire) only when the cache says the
 * ring is full or empty. Nothing here makes a system call, so the unit
 * test drives both sides in plain memory (tests/unit/test_afxdp.c). */
#ifndef US_XSK_RING_H
#define US_XSK_RING_H
#include <stdint.h>

struct xsk_ring {
	uint32_t *producer, *consumer, *flags;
	void *entries;       /* uint64_t (fill, completion) or struct xdp_desc (RX, TX) */
	uint32_t size, mask; /* size: a power of two */
	uint32_t cached_prod, cached_cons;
};

static inline uint32_t xsk_load(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void xsk_store(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* Producer side (fill, TX): how many entries up to want can be written
 * now; the free room is re-read from the consumer only when the cache is
 * short. The slots are cached_prod .. cached_prod + n - 1. */
static inline uint32_t xsk_prod_room(struct xsk_ring *r, uint32_t want)
{
	uint32_t free = r->size - (r->cached_prod - r->cached_cons);
	if (free < want) {
		r->cached_cons = xsk_load(r->consumer);
		free = r->size - (r->cached_prod - r->cached_cons);
	}
	return free < want ? free : want;
}
/* Publish n written entries to the consumer. */
static inline void xsk_prod_submit(struct xsk_ring *r, uint32_t n)
{
	r->cached_prod += n;
	xsk_store(r->producer, r->cached_prod);
}

/* Consumer side (RX, completion): how many entries up to want are ready,
 * from cached_cons on. */
static inline uint32_t xsk_cons_peek(struct xsk_ring *r, uint32_t want)
{
	uint32_t avail = r->cached_prod - r->cached_cons;
	if (avail == 0) {
		r->cached_prod = xsk_load(r->producer);
		avail = r->cached_prod - r->cached_cons;
	}
	return avail < want ? avail : want;
}
/* Hand n read entries back to the producer. */
static inline void xsk_cons_release(struct xsk_ring *r, uint32_t n)
{
	r->cached_cons += n;
	xsk_store(r->consumer, r->cached_cons);
}
/* Entries the producer has published that we have not yet released. */
static inline uint32_t xsk_cons_pending(struct xsk_ring *r)
{
	r->cached_prod = xsk_load(r->producer);
	return r->cached_prod - r->cached_cons;
}
/* Entries we produced that the consumer has not taken yet. */
static inline uint32_t xsk_prod_outstanding(const struct xsk_ring *r) { return r->cached_prod - xsk_load(r->consumer); }
static inline int xsk_needs_wakeup(const struct xsk_ring *r, uint32_t flag)
{
	return r->flags && (__atomic_load_n(r->flags, __ATOMIC_ACQUIRE) & flag) != 0;
}
static inline uint64_t *xsk_addr_at(struct xsk_ring *r, uint32_t idx)
{
	return (uint64_t *)r->entries + (idx & r->mask);
}
#endif
