/* A hashed timer wheel: O(1) arm and cancel, ~1 ms ticks. A timer whose
 * expiry is more than one revolution away stays in its slot and is skipped
 * until its turn. Time is always passed in (virtual clock in tests). */
#ifndef US_TIMER_H
#define US_TIMER_H
#include <stdint.h>

#define TW_TICK_SHIFT 20u               /* 2^20 ns ~ 1.05 ms */
#define TW_SLOTS 4096u                  /* one revolution ~ 4.3 s */

struct us_timer;
typedef void (*us_timer_fn)(struct us_timer *t, uint64_t now, void *ctx);

struct us_timer {
	struct us_timer *next;
	struct us_timer **pprev;        /* NULL when not armed */
	uint64_t expires;               /* ns */
	us_timer_fn fn;
};

struct timer_wheel {
	struct us_timer *slots[TW_SLOTS];
	uint64_t bitmap[TW_SLOTS / 64]; /* slot non-empty */
	uint64_t cur_tick;              /* next tick not yet processed */
	uint32_t count;
};

void tw_init(struct timer_wheel *tw, uint64_t now);
static inline void timer_init(struct us_timer *t, us_timer_fn fn) { t->next = 0; t->pprev = 0; t->expires = 0; t->fn = fn; }
static inline int timer_pending(const struct us_timer *t) { return t->pprev != 0; }
/* Arm (or re-arm) t to fire at `expires` (ns). */
void timer_arm(struct timer_wheel *tw, struct us_timer *t, uint64_t expires);
void timer_cancel(struct timer_wheel *tw, struct us_timer *t);
/* Fire every timer due at `now`; ctx is passed to callbacks. Returns fired. */
unsigned tw_advance(struct timer_wheel *tw, uint64_t now, void *ctx);
/* Earliest expiry (ns), or -1 if no timer is armed. */
int64_t tw_next(const struct timer_wheel *tw);
#endif
