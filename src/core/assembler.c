#include "core/assembler.h"

#include <stdlib.h>
#include <string.h>

#include "core/check.h"

/* The set stays sorted, its ranges non-empty, apart (touching ones are
 * merged) and within the array. */
static void asm_check(const struct assembler *a)
{
	US_ASSERT(a->n <= a->cap && a->cap <= ASM_MAX);
	US_ASSERT(a->heap || a->cap == ASM_INLINE);
	if (!US_CHECKING)
		return;
	const struct asm_range *r = asm_ranges_c(a);
	for (uint32_t i = 0; i < a->n; i++) {
		US_ASSERT(r[i].start < r[i].end);
		US_ASSERT(i + 1 == a->n || r[i].end < r[i + 1].start);
	}
}

uint32_t asm_first_after(const struct assembler *a, uint32_t off)
{
	const struct asm_range *r = asm_ranges_c(a);
	uint32_t lo = 0, hi = a->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (r[mid].end > off)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int asm_add(struct assembler *a, uint32_t start, uint32_t end)
{
	if (start >= end)
		return 0;
	struct asm_range *r = asm_ranges(a);
	/* The first range that ends at or after start (touching merges). */
	uint32_t i = start ? asm_first_after(a, start - 1) : 0;
	/* Ranges i..j-1 touch [start, end): merge them. */
	uint32_t j = i;
	while (j < a->n && r[j].start <= end)
		j++;
	if (i == j) {
		if (a->n >= a->cap)
			return -1;
		memmove(&r[i + 1], &r[i], (a->n - i) * sizeof(r[0]));
		r[i] = (struct asm_range){start, end};
		a->n++;
		asm_check(a);
		return 0;
	}
	uint32_t s = r[i].start < start ? r[i].start : start;
	uint32_t e = r[j - 1].end > end ? r[j - 1].end : end;
	r[i] = (struct asm_range){s, e};
	memmove(&r[i + 1], &r[j], (a->n - j) * sizeof(r[0]));
	a->n -= j - i - 1;
	asm_check(a);
	return 0;
}

size_t asm_grow(struct assembler *a)
{
	if (a->cap >= ASM_MAX)
		return 0;
	uint32_t cap = asm_next_cap(a);
	size_t before = asm_heap_bytes(a);
	struct asm_range *v = realloc(a->heap, (size_t)cap * sizeof(*v));
	if (!v)
		return 0;
	if (!a->heap)
		memcpy(v, a->inl, a->n * sizeof(*v));
	a->heap = v;
	a->cap = cap;
	asm_check(a);
	return asm_heap_bytes(a) - before;
}

void asm_free(struct assembler *a)
{
	free(a->heap);
	asm_init(a);
}

void asm_shift(struct assembler *a, uint32_t n)
{
	struct asm_range *r = asm_ranges(a);
	/* Ranges that end at or before n go whole; the rest move down. */
	uint32_t first = asm_first_after(a, n);
	uint32_t k = 0;
	for (uint32_t i = first; i < a->n; i++) {
		r[k].start = r[i].start > n ? r[i].start - n : 0;
		r[k].end = r[i].end - n;
		k++;
	}
	a->n = k;
	asm_check(a);
}

uint32_t asm_take_front(struct assembler *a)
{
	if (!a->n || asm_ranges(a)[0].start != 0)
		return 0;
	uint32_t n = asm_ranges(a)[0].end;
	asm_shift(a, n);
	return n;
}
