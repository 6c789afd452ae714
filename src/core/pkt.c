#include "core/pkt.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/check.h"

static int class_init(struct pkt_class *c, uint32_t size, uint32_t count, int mapped)
{
	memset(c, 0, sizeof(*c));
	c->size = size;
	c->count = count;
	if (!count)
		return 0;
	/* Pages stay unbacked until touched, so a large pool is cheap until it
	 * is used. The frame class is mapped: page-aligned and whole pages, so
	 * a device can register it with the kernel as it is (an AF_XDP UMEM). */
	c->hdrs = calloc(count, sizeof(struct pkt));
	if (mapped) {
		c->map_len = ((size_t)count * size + 4095) & ~(size_t)4095;
		void *m = mmap(NULL, c->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		c->mem = m == MAP_FAILED ? NULL : m;
		if (!c->mem)
			c->map_len = 0;
	} else {
		c->mem = calloc(count, size);
	}
	if (!c->hdrs || !c->mem)
		return -1;
	for (uint32_t i = count; i-- > 0;) {
		struct pkt *p = &c->hdrs[i];
		p->buf = c->mem + (size_t)i * size;
		p->cap = size;
		p->freed = 1;
		p->next = c->free;
		c->free = p;
	}
	return 0;
}

int pkt_pool_init(struct pkt_pool *pool, uint32_t frame_size, uint32_t frame_count, uint32_t large_count)
{
	memset(pool, 0, sizeof(*pool));
	if (class_init(&pool->cls[PKT_CLS_FRAME], frame_size, frame_count, 1) < 0 ||
	    class_init(&pool->cls[PKT_CLS_LARGE], PKT_LARGE_DATA + PKT_HEADROOM, large_count, 0) < 0) {
		pkt_pool_destroy(pool);
		return -1;
	}
	pool->cls[PKT_CLS_LARGE].size = PKT_LARGE_DATA + PKT_HEADROOM;
	return 0;
}

void pkt_pool_destroy(struct pkt_pool *pool)
{
	for (int i = 0; i < PKT_NCLS; i++) {
		free(pool->cls[i].hdrs);
		if (pool->cls[i].map_len)
			munmap(pool->cls[i].mem, pool->cls[i].map_len);
		else
			free(pool->cls[i].mem);
		pool->cls[i].map_len = 0;
		pool->cls[i].hdrs = NULL;
		pool->cls[i].mem = NULL;
		pool->cls[i].free = NULL;
	}
}

uint32_t pkt_pool_in_use(const struct pkt_pool *pool)
{
	uint32_t n = 0;
	for (int i = 0; i < PKT_NCLS; i++)
		n += pool->cls[i].in_use;
	return n;
}

/* 1: got one in *out (or refused by the budget: *out NULL), 0: class empty. */
static inline int class_take(struct pkt_pool *pool, int i, uint32_t headroom, struct pkt **out)
{
	struct pkt_class *c = &pool->cls[i];
	struct pkt *p = c->free;
	*out = NULL;
	if (p && pool->limit && pool->bytes + c->size > pool->limit) {
		pool->limit_fails++;
		return 1;
	}
	if (!p) {
		c->fails++;
		return 0;
	}
	US_ASSERT(p->freed && c->in_use < c->count);
	c->free = p->next;
	c->in_use++;
	pool->bytes += c->size;
	if (c->in_use > c->peak)
		c->peak = c->in_use;
	uint8_t *buf = p->buf;
	uint32_t cap = p->cap;
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->cap = cap;
	p->cls = (uint8_t)i;
	p->data = buf + headroom;
	p->len = 0;
	*out = p;
	return 1;
}

struct pkt *pkt_alloc(struct pkt_pool *pool, uint32_t size, uint32_t headroom)
{
	uint64_t need = (uint64_t)size + headroom;
	for (int i = 0; i < PKT_NCLS; i++) {
		struct pkt *p;
		if (need > pool->cls[i].size)
			continue;
		/* A frame-sized request may borrow a large buffer only when frames
		 * are exhausted; large requests never fall back. */
		if (class_take(pool, i, headroom, &p))
			return p;
	}
	return NULL;
}

uint32_t pkt_alloc_frames(struct pkt_pool *pool, struct pkt **out, uint32_t n, uint32_t headroom)
{
	uint32_t k = 0;
	if (headroom > pool->cls[PKT_CLS_FRAME].size)
		return 0;
	while (k < n && class_take(pool, PKT_CLS_FRAME, headroom, &out[k]) && out[k])
		k++;
	return k;
}

struct pkt *pkt_alloc_frame(struct pkt_pool *pool, uint32_t headroom)
{
	struct pkt *p;
	if (headroom > pool->cls[PKT_CLS_FRAME].size)
		return NULL;
	return class_take(pool, PKT_CLS_FRAME, headroom, &p) ? p : NULL;
}

void pkt_free(struct pkt_pool *pool, struct pkt *p)
{
	if (!p)
		return;
	US_ASSERT(p->cls < PKT_NCLS);
	struct pkt_class *c = &pool->cls[p->cls];
	/* a buffer of this class, in use, freed once */
	US_ASSERT(p->buf >= c->mem && p->buf < c->mem + (size_t)c->count * c->size);
	US_ASSERT(!p->freed && c->in_use > 0 && pool->bytes >= c->size);
	p->freed = 1;
	p->next = c->free;
	c->free = p;
	c->in_use--;
	pool->bytes -= c->size;
}

void pkt_free_list(struct pkt_pool *pool, struct pkt *list)
{
	while (list) {
		struct pkt *n = list->next;
		pkt_free(pool, list);
		list = n;
	}
}

struct pkt *pkt_clone(struct pkt_pool *pool, const struct pkt *p, uint32_t headroom)
{
	struct pkt *c = pkt_alloc(pool, p->len, headroom);
	if (!c)
		return NULL;
	uint8_t *buf = c->buf, *data = c->data;
	uint32_t cap = c->cap;
	uint8_t cls = c->cls;
	*c = *p;
	c->next = NULL;
	c->buf = buf;
	c->data = data;
	c->cap = cap;
	c->cls = cls;
	if (p->csum_l4) {
		/* csum_l4 counts from buf: re-base it on the clone's headroom. */
		long rel = (long)p->csum_l4 - (long)(p->data - p->buf);
		c->csum_l4 = rel >= 0 ? (uint16_t)(rel + (long)(data - buf)) : 0;
	}
	memcpy(c->data, p->data, p->len);
	return c;
}
