/* A byte ring: TCP's send and receive buffers. The receive side also
 * writes out-of-order data at an offset past the readable bytes, so the
 * window's data lives in one place and is never copied twice. */
#ifndef US_RING_H
#define US_RING_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"

struct ring {
	uint8_t *buf;
	uint32_t cap;
	uint32_t head;   /* read position */
	uint32_t len;    /* readable bytes */
};

static inline int ring_init(struct ring *r, uint32_t cap)
{
	r->buf = malloc(cap ? cap : 1);
	r->cap = cap;
	r->head = r->len = 0;
	return r->buf ? 0 : -1;
}
static inline void ring_free(struct ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = r->head = r->len = 0;
}
static inline uint32_t ring_free_space(const struct ring *r) { return r->cap - r->len; }

/* Copy n bytes in at offset `off` past the readable end (off 0: append
 * position). The caller checks off + n <= free space. */
static inline void ring_write_at(struct ring *r, uint32_t off, const uint8_t *src, uint32_t n)
{
	US_ASSERT(r->len <= r->cap && (uint64_t)off + n <= r->cap - r->len);
	uint32_t pos = (r->head + r->len + off) % (r->cap ? r->cap : 1);
	uint32_t first = r->cap - pos < n ? r->cap - pos : n;
	memcpy(r->buf + pos, src, first);
	memcpy(r->buf, src + first, n - first);
}
/* Append: returns bytes taken. */
static inline uint32_t ring_write(struct ring *r, const uint8_t *src, uint32_t n)
{
	uint32_t room = ring_free_space(r);
	if (n > room)
		n = room;
	ring_write_at(r, 0, src, n);
	r->len += n;
	US_ASSERT(r->len <= r->cap);
	return n;
}
/* Copy n bytes starting `off` bytes after head: readable ones (off + n <=
 * len), or those stored past them too (off + n <= cap: ring_resize). */
static inline void ring_peek(const struct ring *r, uint32_t off, uint8_t *dst, uint32_t n)
{
	US_ASSERT((uint64_t)off + n <= r->cap);
	uint32_t pos = (r->head + off) % (r->cap ? r->cap : 1);
	uint32_t first = r->cap - pos < n ? r->cap - pos : n;
	memcpy(dst, r->buf + pos, first);
	memcpy(dst + first, r->buf, n - first);
}
/* A larger buffer for the same bytes: the whole old buffer, read from head
 * on, lands at the start of the new one, so readable bytes and those stored
 * past them (out-of-order data) keep their offsets from head. 0, or -1 if
 * memory is short (the ring is unchanged). */
static inline int ring_grow(struct ring *r, uint32_t cap)
{
	if (cap <= r->cap)
		return 0;
	uint8_t *b = malloc(cap);
	if (!b)
		return -1;
	uint32_t first = r->cap - r->head;
	memcpy(b, r->buf + r->head, first);
	memcpy(b + first, r->buf, r->head);
	free(r->buf);
	r->buf = b;
	r->cap = cap;
	r->head = 0;
	return 0;
}
/* The n bytes starting `off` bytes after head, in place: one or two
 * pieces (the second when they wrap), 0 if n is 0. */
static inline int ring_span(const struct ring *r, uint32_t off, uint32_t n, uint8_t *p[2], uint32_t len[2])
{
	if (!n)
		return 0;
	uint32_t pos = (r->head + off) % (r->cap ? r->cap : 1);
	uint32_t first = r->cap - pos < n ? r->cap - pos : n;
	p[0] = r->buf + pos;
	len[0] = first;
	if (first == n)
		return 1;
	p[1] = r->buf;
	len[1] = n - first;
	return 2;
}
static inline void ring_consume(struct ring *r, uint32_t n)
{
	if (n > r->len)
		n = r->len;
	/* head is never reset when the ring empties: out-of-order bytes may be
	 * stored past the readable end, at positions relative to head. */
	r->head = (r->head + n) % (r->cap ? r->cap : 1);
	r->len -= n;
	US_ASSERT(r->len <= r->cap && (r->head < r->cap || !r->cap));
}
#endif
