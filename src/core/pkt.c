#include "core/pkt.h"

#include <stdlib.h>
#include <string.h>

static int class_init(struct pkt_class *c, uint32_t size, uint32_t count)
{
	memset(c, 0, sizeof(*c));
	c->size = size;
	c->count = count;
	if (!count)
		return 0;
	/* calloc'd pages stay unbacked until touched, so a large pool is cheap
	 * until it is used. */
	c->hdrs = calloc(count, sizeof(struct pkt));
	c->mem = calloc(count, size);
	if (!c->hdrs || !c->mem)
		return -1;
	for (uint32_t i = count; i-- > 0;) {
		struct pkt *p = &c->hdrs[i];
		p->buf = c->mem + (size_t)i * size;
		p->cap = size;
		p->next = c->free;
		c->free = p;
	}
	return 0;
}

int pkt_pool_init(struct pkt_pool *pool, uint32_t frame_size, uint32_t frame_count, uint32_t large_count)
{
	memset(pool, 0, sizeof(*pool));
	if (class_init(&pool->cls[PKT_CLS_FRAME], frame_size, frame_count) < 0 ||
	    class_init(&pool->cls[PKT_CLS_LARGE], PKT_LARGE_DATA + PKT_HEADROOM, large_count) < 0) {
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
		free(pool->cls[i].mem);
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

struct pkt *pkt_alloc(struct pkt_pool *pool, uint32_t size, uint32_t headroom)
{
	uint64_t need = (uint64_t)size + headroom;
	for (int i = 0; i < PKT_NCLS; i++) {
		struct pkt_class *c = &pool->cls[i];
		if (need > c->size)
			continue;
		struct pkt *p = c->free;
		if (p && pool->limit && pool->bytes + c->size > pool->limit) {
			pool->limit_fails++;
			return NULL;
		}
		if (!p) {
			c->fails++;
			/* A frame-sized request may borrow a large buffer only when frames
			 * are exhausted; large requests never fall back. */
			continue;
		}
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
		return p;
	}
	return NULL;
}

void pkt_free(struct pkt_pool *pool, struct pkt *p)
{
	if (!p)
		return;
	struct pkt_class *c = &pool->cls[p->cls];
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
