#include "core/assembler.h"

#include <string.h>

#include "core/check.h"

/* The set stays sorted, its ranges non-empty, apart (touching ones are
 * merged) and at most ASM_MAX. */
static void asm_check(const struct assembler *a)
{
	US_ASSERT(a->n <= ASM_MAX);
	for (uint32_t i = 0; US_CHECKING && i < a->n; i++) {
		US_ASSERT(a->r[i].start < a->r[i].end);
		US_ASSERT(i + 1 == a->n || a->r[i].end < a->r[i + 1].start);
	}
}

int asm_add(struct assembler *a, uint32_t start, uint32_t end)
{
	if (start >= end)
		return 0;
	/* Find the first range that ends at or after start. */
	uint32_t i = 0;
	while (i < a->n && a->r[i].end < start)
		i++;
	/* Ranges i..j-1 touch [start, end): merge them. */
	uint32_t j = i;
	while (j < a->n && a->r[j].start <= end)
		j++;
	if (i == j) {
		if (a->n >= ASM_MAX)
			return -1;
		memmove(&a->r[i + 1], &a->r[i], (a->n - i) * sizeof(a->r[0]));
		a->r[i] = (struct asm_range){start, end};
		a->n++;
		asm_check(a);
		return 0;
	}
	uint32_t s = a->r[i].start < start ? a->r[i].start : start;
	uint32_t e = a->r[j - 1].end > end ? a->r[j - 1].end : end;
	a->r[i] = (struct asm_range){s, e};
	memmove(&a->r[i + 1], &a->r[j], (a->n - j) * sizeof(a->r[0]));
	a->n -= j - i - 1;
	asm_check(a);
	return 0;
}

void asm_shift(struct assembler *a, uint32_t n)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < a->n; i++) {
		if (a->r[i].end <= n)
			continue;
		a->r[k].start = a->r[i].start > n ? a->r[i].start - n : 0;
		a->r[k].end = a->r[i].end - n;
		k++;
	}
	a->n = k;
	asm_check(a);
}

uint32_t asm_take_front(struct assembler *a)
{
	if (!a->n || a->r[0].start != 0)
		return 0;
	uint32_t n = a->r[0].end;
	asm_shift(a, n);
	return n;
}
