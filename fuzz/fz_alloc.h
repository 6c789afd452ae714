/* The fuzz build's allocator hook: fuzz.mk force-includes this header in
 * every library, harness and target object of build-fuzz/ (not in
 * fz_alloc.c itself), so the library's malloc, calloc, realloc, free, mmap
 * and munmap come here. While an arena is switched on (fz_arena_on) they
 * allocate from one fixed mapping, which is what lets the whole-stack
 * targets take a snapshot of two built stacks once and put it back before
 * every input (fz_arena_save/restore) instead of building them again.
 * Switched off, every call is passed to libc unchanged.
 *
 * The arena has two parts:
 *   small  every allocation under FZ_BULK_MIN: saved and restored whole,
 *          each chunk followed by a redzone that AddressSanitizer watches,
 *          freed chunks poisoned until reused;
 *   bulk   the packet pools and link rings: their bookkeeping is restored,
 *          their bytes are not. The harness takes its snapshot only when
 *          no packet buffer is in use and no link holds a frame, so no
 *          byte there is live at that moment (fz_snapshot_ok checks it).
 * Pointers stay valid across restores: the mapping never moves. */
#ifndef US_FUZZ_FZ_ALLOC_H
#define US_FUZZ_FZ_ALLOC_H
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>

void *fz_malloc(size_t n);
void *fz_calloc(size_t n, size_t size);
void *fz_realloc(void *p, size_t n);
void fz_free(void *p);
void *fz_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int fz_munmap(void *addr, size_t len);

/* Arena control (harness side). */
void fz_arena_on(int on);            /* allocate from the arena (1) or libc (0) */
void fz_arena_reset(void);           /* drop everything: an empty arena */
size_t fz_arena_live(void);          /* chunks allocated and not freed */
size_t fz_arena_small_bytes(void);   /* extent a save copies */
/* Save the arena's state into *img (malloc'd by libc, *len bytes), or put
 * one saved back. */
int fz_arena_save(void **img, size_t *len);
void fz_arena_restore(const void *img, size_t len);

#ifndef FZ_ALLOC_IMPL
#define malloc(n) fz_malloc(n)
#define calloc(n, s) fz_calloc(n, s)
#define realloc(p, n) fz_realloc(p, n)
#define free(p) fz_free(p)
#define mmap(a, l, p, f, d, o) fz_mmap(a, l, p, f, d, o)
#define munmap(a, l) fz_munmap(a, l)
#endif
#endif
