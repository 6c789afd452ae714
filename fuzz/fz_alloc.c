/* The fuzz build's arena allocator: see fz_alloc.h. */
#define FZ_ALLOC_IMPL
#include "fz_alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_ASAN 1
#endif
#if __has_feature(memory_sanitizer)
#define FZ_MSAN 1
#endif
#endif
#ifdef FZ_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#ifdef FZ_MSAN
#include <sanitizer/msan_interface.h>
#define UNINIT(p, n) __msan_allocated_memory(p, n)
#else
#define UNINIT(p, n) ((void)(p), (void)(n))
#endif

#define FZ_SMALL_SIZE (256ull << 20)
#define FZ_BULK_SIZE (1ull << 30)
#define FZ_BULK_MIN (64u * 1024u)   /* from this size on, a chunk is bulk */
#define FZ_ALIGN 16u
#define FZ_RZ 16u                   /* redzone after each small chunk */
#define FZ_BUCKETS 256u             /* free lists, by exact capacity */
#define FZ_MAX_BULK 64u

struct chunk {          /* before each small chunk's bytes */
	uint32_t cap;       /* bytes usable (multiple of FZ_ALIGN) */
	uint32_t req;       /* bytes asked for */
	uint32_t is_free;
	uint32_t next;      /* next free chunk of this size (offset), 0: none */
};

struct bulk {
	size_t off, cap, req;
	int used;
};

struct state {          /* at the start of the small part: saved with it */
	size_t top;                           /* small bytes in use */
	size_t bulk_top;
	size_t live;
	struct { uint32_t cap, head; } bucket[FZ_BUCKETS];
	struct bulk bulk[FZ_MAX_BULK];
};

static uint8_t *small_base, *bulk_base;   /* the mappings, made once */
static int arena_on;

static struct state *st(void) { return (struct state *)small_base; }
static size_t first_chunk(void) { return (sizeof(struct state) + FZ_ALIGN - 1) & ~(size_t)(FZ_ALIGN - 1); }

static void die(const char *what)
{
	fprintf(stderr, "fz_alloc: %s\n", what);
	abort();
}

static void map_once(void)
{
	if (small_base)
		return;
	void *s = mmap(NULL, FZ_SMALL_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	void *b = mmap(NULL, FZ_BULK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s == MAP_FAILED || b == MAP_FAILED)
		die("cannot map the arena");
	small_base = s;
	bulk_base = b;
	fz_arena_reset();
}

static int in_small(const void *p) { return small_base && (const uint8_t *)p >= small_base && (const uint8_t *)p < small_base + FZ_SMALL_SIZE; }
static int in_bulk(const void *p) { return bulk_base && (const uint8_t *)p >= bulk_base && (const uint8_t *)p < bulk_base + FZ_BULK_SIZE; }

void fz_arena_reset(void)
{
	map_once();
	UNPOISON(small_base, st()->top ? st()->top : first_chunk());
	memset(st(), 0, sizeof(struct state));
	st()->top = first_chunk();
}

void fz_arena_on(int on)
{
	map_once();
	arena_on = on;
}

size_t fz_arena_live(void) { return small_base ? st()->live : 0; }
size_t fz_arena_small_bytes(void) { return small_base ? st()->top : 0; }

static uint32_t *bucket_head(uint32_t cap, int create)
{
	uint32_t h = (cap / FZ_ALIGN) % FZ_BUCKETS;
	for (uint32_t k = 0; k < FZ_BUCKETS; k++) {
		uint32_t j = (h + k) % FZ_BUCKETS;
		if (st()->bucket[j].cap == cap)
			return &st()->bucket[j].head;
		if (!st()->bucket[j].cap) {
			if (!create)
				return NULL;
			st()->bucket[j].cap = cap;
			return &st()->bucket[j].head;
		}
	}
	return NULL;   /* table full: that size is never reused */
}

static struct chunk *chunk_at(size_t off) { return (struct chunk *)(small_base + off); }

static void *small_alloc(size_t n)
{
	uint32_t cap = (uint32_t)((n + FZ_ALIGN - 1) & ~(size_t)(FZ_ALIGN - 1));
	if (!cap)
		cap = FZ_ALIGN;
	struct chunk *c = NULL;
	uint32_t *head = bucket_head(cap, 1);
	if (head && *head) {
		c = chunk_at(*head);
		*head = c->next;
	} else {
		size_t need = sizeof(struct chunk) + cap + FZ_RZ;
		if (st()->top + need > FZ_SMALL_SIZE)
			return NULL;
		c = chunk_at(st()->top);
		st()->top += need;
		c->cap = cap;
	}
	c->req = (uint32_t)n;
	c->is_free = 0;
	c->next = 0;
	uint8_t *p = (uint8_t *)(c + 1);
	UNPOISON(p, n);
	POISON(p + n, cap - n + FZ_RZ);
	UNINIT(p, n);
	st()->live++;
	return p;
}

static void small_free(void *p)
{
	struct chunk *c = (struct chunk *)p - 1;
	if ((size_t)((uint8_t *)c - small_base) < first_chunk() || c->is_free)
		die("free of a chunk not allocated (double free?)");
	c->is_free = 1;
	POISON(p, c->cap + FZ_RZ);
	uint32_t *head = bucket_head(c->cap, 1);
	if (head) {
		c->next = *head;
		*head = (uint32_t)((uint8_t *)c - small_base);
	}
	st()->live--;
}

static void *bulk_alloc(size_t n)
{
	size_t cap = (n + 4095) & ~(size_t)4095;
	struct bulk *slot = NULL;
	for (unsigned i = 0; i < FZ_MAX_BULK; i++) {
		struct bulk *b = &st()->bulk[i];
		if (!b->used && b->cap >= cap && (!slot || b->cap < slot->cap))
			slot = b;   /* the smallest free one that fits */
	}
	if (!slot) {
		for (unsigned i = 0; i < FZ_MAX_BULK && !slot; i++)
			if (!st()->bulk[i].used && !st()->bulk[i].cap)
				slot = &st()->bulk[i];
		if (!slot || st()->bulk_top + cap > FZ_BULK_SIZE)
			return NULL;
		slot->off = st()->bulk_top;
		slot->cap = cap;
		st()->bulk_top += cap;
	}
	slot->used = 1;
	slot->req = n;
	st()->live++;
	void *p = bulk_base + slot->off;
	UNINIT(p, n);
	return p;
}

static struct bulk *bulk_find(const void *p)
{
	for (unsigned i = 0; i < FZ_MAX_BULK; i++) {
		struct bulk *b = &st()->bulk[i];
		if (b->used && bulk_base + b->off == (const uint8_t *)p)
			return b;
	}
	die("free of a bulk chunk not allocated (double free?)");
	return NULL;
}

static void *arena_alloc(size_t n) { return n >= FZ_BULK_MIN ? bulk_alloc(n) : small_alloc(n); }

void *fz_malloc(size_t n) { return arena_on ? arena_alloc(n) : malloc(n); }

void *fz_calloc(size_t n, size_t size)
{
	if (!arena_on)
		return calloc(n, size);
	if (size && n > SIZE_MAX / size)
		return NULL;
	void *p = arena_alloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void fz_free(void *p)
{
	if (!p)
		return;
	if (in_small(p))
		small_free(p);
	else if (in_bulk(p)) {
		bulk_find(p)->used = 0;
		st()->live--;
	} else
		free(p);
}

void *fz_realloc(void *p, size_t n)
{
	if (!p)
		return fz_malloc(n);
	if (!in_small(p) && !in_bulk(p))
		return realloc(p, n);
	size_t old = in_small(p) ? ((struct chunk *)p - 1)->req : bulk_find(p)->req;
	void *q = arena_alloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	fz_free(p);
	return q;
}

void *fz_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	/* Anonymous private memory for the library (the frame pool): bulk. */
	if (arena_on && !addr && fd == -1 && (flags & MAP_ANONYMOUS) && !(flags & MAP_SHARED)) {
		void *p = bulk_alloc(len);
		if (!p)
			return MAP_FAILED;
		memset(p, 0, len);
		return p;
	}
	return mmap(addr, len, prot, flags, fd, off);
}

int fz_munmap(void *addr, size_t len)
{
	if (in_bulk(addr)) {
		fz_free(addr);
		return 0;
	}
	return munmap(addr, len);
}

/* Poison what the allocator's bookkeeping says is not in use: each live
 * chunk's slack and redzone, each free chunk whole. */
static void repoison(void)
{
	for (size_t off = first_chunk(); off < st()->top;) {
		struct chunk *c = chunk_at(off);
		uint8_t *p = (uint8_t *)(c + 1);
		if (c->is_free)
			POISON(p, c->cap + FZ_RZ);
		else
			POISON(p + c->req, c->cap - c->req + FZ_RZ);
		off += sizeof(struct chunk) + c->cap + FZ_RZ;
	}
}

int fz_arena_save(void **img, size_t *len)
{
	map_once();
	size_t n = st()->top;
	void *m = malloc(n);
	if (!m)
		return -1;
	UNPOISON(small_base, n);
	memcpy(m, small_base, n);
	repoison();
	*img = m;
	*len = n;
	return 0;
}

void fz_arena_restore(const void *img, size_t len)
{
	map_once();
	size_t cur = st()->top;
	UNPOISON(small_base, cur > len ? cur : len);
	memcpy(small_base, img, len);
	repoison();
}
