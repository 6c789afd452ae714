/* The arena: one shared anonymous mapping, made before the first fork, so it
 * lies at the same address in every process of the family and pointers into
 * it mean the same everywhere. Everything the stack allocates comes from
 * here (the library's objects in the shim call us_shm_malloc and friends
 * instead of malloc), and so do the shim's shared records.
 *
 * The allocator is small on purpose: size classes of two per power of two
 * up to 64 KiB with a free list each, and above that whole pages with a free
 * list per page count (up to 4 MiB; larger blocks on one list, first fit).
 * Nothing is returned to the system; freed blocks are reused. Callers hold
 * the world lock (the stack is only ever called under it), or run before
 * there is more than one thread (start-up). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"

#define HDR 16u
#define PAGE 4096u
#define NCLS 24                 /* 32 .. 65536 bytes with the header */
#define LARGE_PAGES 1024        /* exact lists up to 4 MiB */
#define BLK_MAGIC 0x5553484du   /* "USHM" */

struct blk {
	uint32_t magic;
	uint32_t cls;               /* < NCLS: small class; NCLS: large */
	uint64_t bytes;             /* the block's whole size, header included */
};

struct free_node {
	struct free_node *next;
};

struct arena {
	uint64_t size, used_top;    /* bytes reserved, bytes handed out from the bump */
	uint64_t in_use;            /* bytes in live blocks */
	struct free_node *small[NCLS];
	struct free_node *large[LARGE_PAGES + 1];   /* [0]: blocks over LARGE_PAGES pages */
};

static struct arena *A;
static uint32_t cls_size[NCLS];

static void init_classes(void)
{
	uint32_t s = 32;
	for (int i = 0; i < NCLS; i++) {
		cls_size[i] = s;
		/* 32, 48, 64, 96, 128, 192, ...: two per power of two */
		s = (i % 2 == 0) ? s + s / 2 : (s / 3) * 4;
	}
}

int ps_arena_init(size_t reserve)
{
	if (A)
		return 0;
	init_classes();
	void *m = mmap(NULL, reserve, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	A = m;
	A->size = reserve;
	A->used_top = (sizeof(struct arena) + PAGE - 1) / PAGE * PAGE;
	return 0;
}

void *ps_arena_base(void) { return A; }

void ps_arena_usage(uint64_t *in_use, uint64_t *mapped)
{
	*in_use = A ? A->in_use : 0;
	*mapped = A ? A->used_top : 0;
}

static void *bump(uint64_t bytes, uint64_t align)
{
	uint64_t at = (A->used_top + align - 1) / align * align;
	if (at + bytes > A->size)
		return NULL;
	A->used_top = at + bytes;
	return (char *)A + at;
}

static int class_of(uint64_t bytes)
{
	for (int i = 0; i < NCLS; i++)
		if (bytes <= cls_size[i])
			return i;
	return -1;
}

void *us_shm_malloc(size_t n)
{
	if (!A || n > A->size) {
		errno = ENOMEM;
		return NULL;
	}
	uint64_t need = (uint64_t)n + HDR;
	int c = class_of(need);
	struct blk *b;
	if (c >= 0) {
		if (A->small[c]) {
			b = (struct blk *)A->small[c];
			A->small[c] = A->small[c]->next;
		} else if (!(b = bump(cls_size[c], 16))) {
			errno = ENOMEM;
			return NULL;
		}
		b->cls = (uint32_t)c;
		b->bytes = cls_size[c];
	} else {
		uint64_t pages = (need + PAGE - 1) / PAGE;
		b = NULL;
		if (pages <= LARGE_PAGES && A->large[pages]) {
			b = (struct blk *)A->large[pages];
			A->large[pages] = A->large[pages]->next;
		} else if (pages > LARGE_PAGES) {
			for (struct free_node **pp = &A->large[0]; *pp; pp = &(*pp)->next)
				if (((struct blk *)*pp)->bytes == pages * PAGE) {
					b = (struct blk *)*pp;
					*pp = (*pp)->next;
					break;
				}
		}
		if (!b && !(b = bump(pages * PAGE, PAGE))) {
			errno = ENOMEM;
			return NULL;
		}
		b->cls = NCLS;
		b->bytes = pages * PAGE;
	}
	b->magic = BLK_MAGIC;
	A->in_use += b->bytes;
	return (char *)b + HDR;
}

void us_shm_free(void *p)
{
	if (!p)
		return;
	struct blk *b = (struct blk *)((char *)p - HDR);
	if (b->magic != BLK_MAGIC)
		__builtin_trap();   /* not ours, or freed twice: stop here, not later */
	b->magic = 0;
	A->in_use -= b->bytes;
	/* the free-list link overlays magic and cls: read them first */
	uint32_t cls = b->cls;
	uint64_t pages = b->bytes / PAGE;
	struct free_node *f = (struct free_node *)b;
	if (cls < NCLS) {
		f->next = A->small[cls];
		A->small[cls] = f;
		return;
	}
	/* keep the size readable for the first-fit list: the node overlays the
	 * magic/cls words only */
	_Static_assert(sizeof(struct free_node) == 8, "node fits the first 8 bytes");
	uint64_t idx = pages <= LARGE_PAGES ? pages : 0;
	f->next = A->large[idx];
	A->large[idx] = f;
}

void *us_shm_calloc(size_t n, size_t m)
{
	if (m && n > SIZE_MAX / m) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = us_shm_malloc(n * m);
	if (p)
		memset(p, 0, n * m);
	return p;
}

void *us_shm_realloc(void *p, size_t n)
{
	if (!p)
		return us_shm_malloc(n);
	if (!n) {
		us_shm_free(p);
		return NULL;
	}
	struct blk *b = (struct blk *)((char *)p - HDR);
	uint64_t cap = b->bytes - HDR;
	if (n <= cap)
		return p;
	void *q = us_shm_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, cap);
	us_shm_free(p);
	return q;
}

int ps_lock_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	int r = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return -r;
}
