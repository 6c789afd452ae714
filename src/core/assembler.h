/* Out-of-order byte ranges past a stream's in-order point, with a fixed
 * number of entries (smoltcp's assembler idea): memory per connection is
 * constant whatever a peer sends. Offsets are relative to the in-order
 * point. */
#ifndef US_ASSEMBLER_H
#define US_ASSEMBLER_H
#include <stdint.h>

#define ASM_MAX 32

struct asm_range {
	uint32_t start, end;   /* [start, end) */
};

struct assembler {
	struct asm_range r[ASM_MAX];
	uint32_t n;
};

static inline void asm_init(struct assembler *a) { a->n = 0; }

/* Record [start, end). Returns 0, or -1 if it would need more than ASM_MAX
 * ranges (the caller drops the segment; nothing is recorded). */
int asm_add(struct assembler *a, uint32_t start, uint32_t end);
/* Bytes contiguous from offset 0 now available (removed from the set);
 * remaining ranges are shifted down by that amount. */
uint32_t asm_take_front(struct assembler *a);
/* Shift every range down by n bytes (the in-order point moved by n). */
void asm_shift(struct assembler *a, uint32_t n);
#endif
