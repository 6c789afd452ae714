/* Out-of-order byte ranges past a stream's in-order point (smoltcp's
 * assembler idea): a sorted array of disjoint ranges. The first
 * ASM_INLINE live in the structure itself, so an idle or lightly reordered
 * stream costs no allocation; under heavy loss (one hole per lost segment
 * of a large window) the owner may move them to a heap array that doubles
 * up to ASM_MAX ranges (asm_grow), and charges that memory. Past that the
 * caller drops what would need a new range: memory per connection stays
 * bounded whatever a peer sends. Offsets are relative to the in-order
 * point. */
#ifndef US_ASSEMBLER_H
#define US_ASSEMBLER_H
#include <stddef.h>
#include <stdint.h>

#define ASM_INLINE 32u
#define ASM_MAX 1024u

struct asm_range {
	uint32_t start, end;   /* [start, end) */
};

struct assembler {
	struct asm_range *heap;   /* NULL: the ranges are in inl */
	uint32_t n;
	uint32_t cap;             /* entries of heap (ASM_INLINE while inline) */
	struct asm_range inl[ASM_INLINE];
};

static inline void asm_init(struct assembler *a)
{
	a->heap = NULL;
	a->n = 0;
	a->cap = ASM_INLINE;
}
static inline struct asm_range *asm_ranges(struct assembler *a) { return a->heap ? a->heap : a->inl; }
static inline const struct asm_range *asm_ranges_c(const struct assembler *a) { return a->heap ? a->heap : a->inl; }
/* The end of the last range (0 if none): bytes held past the in-order point. */
static inline uint32_t asm_last_end(const struct assembler *a) { return a->n ? asm_ranges_c(a)[a->n - 1].end : 0; }

/* Record [start, end). Returns 0, or -1 if it would need more ranges than
 * the array holds (nothing is recorded; see asm_grow). */
int asm_add(struct assembler *a, uint32_t start, uint32_t end);
/* The index of the first range that ends after off (a->n if none): a
 * binary search, for walks over the ranges from an offset. */
uint32_t asm_first_after(const struct assembler *a, uint32_t off);
/* Heap bytes in use (0 while inline). */
static inline size_t asm_heap_bytes(const struct assembler *a) { return a->heap ? (size_t)a->cap * sizeof(struct asm_range) : 0; }
/* The capacity asm_grow moves to: double, at most ASM_MAX. */
static inline uint32_t asm_next_cap(const struct assembler *a) { return a->cap * 2 > ASM_MAX ? ASM_MAX : a->cap * 2; }
/* Heap bytes asm_grow would add (0 at the maximum): what its owner
 * checks against a budget before calling it. */
static inline size_t asm_grow_bytes(const struct assembler *a)
{
	return a->cap >= ASM_MAX ? 0 : (size_t)asm_next_cap(a) * sizeof(struct asm_range) - asm_heap_bytes(a);
}
/* Double the array (at most ASM_MAX ranges). Returns the bytes of heap
 * memory added (asm_grow_bytes), or 0 at the maximum or when out of
 * memory. */
size_t asm_grow(struct assembler *a);
/* Give the heap array back (the ranges go too). */
void asm_free(struct assembler *a);
/* Bytes contiguous from offset 0 now available (removed from the set);
 * remaining ranges are shifted down by that amount. */
uint32_t asm_take_front(struct assembler *a);
/* Shift every range down by n bytes (the in-order point moved by n). */
void asm_shift(struct assembler *a, uint32_t n);
#endif
