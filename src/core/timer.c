#include "core/timer.h"

#include <string.h>

#define TW_MASK (TW_SLOTS - 1)

void tw_init(struct timer_wheel *tw, uint64_t now)
{
	memset(tw, 0, sizeof(*tw));
	tw->cur_tick = now >> TW_TICK_SHIFT;
}

static void slot_mark(struct timer_wheel *tw, uint32_t s) { tw->bitmap[s / 64] |= 1ull << (s % 64); }
static void slot_check(struct timer_wheel *tw, uint32_t s)
{
	if (!tw->slots[s])
		tw->bitmap[s / 64] &= ~(1ull << (s % 64));
}

static void insert(struct timer_wheel *tw, struct us_timer *t)
{
	uint64_t tick = t->expires >> TW_TICK_SHIFT;
	if (tick < tw->cur_tick)
		tick = tw->cur_tick;  /* already due: the next advance fires it */
	uint32_t s = (uint32_t)(tick & TW_MASK);
	t->next = tw->slots[s];
	if (t->next)
		t->next->pprev = &t->next;
	t->pprev = &tw->slots[s];
	tw->slots[s] = t;
	slot_mark(tw, s);
	tw->count++;
}

static uint32_t slot_of(const struct timer_wheel *tw, struct us_timer *t)
{
	/* pprev points into a slot head or into a previous timer; walk back is
	 * not possible, so recompute from the expiry the way insert did. */
	uint64_t tick = t->expires >> TW_TICK_SHIFT;
	(void)tw;
	return (uint32_t)(tick & TW_MASK);
}

static void unlink_timer(struct timer_wheel *tw, struct us_timer *t)
{
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = 0;
	t->pprev = 0;
	tw->count--;
}

void timer_cancel(struct timer_wheel *tw, struct us_timer *t)
{
	if (!t->pprev)
		return;
	unlink_timer(tw, t);
	/* The slot may now be empty; clearing its bit lazily is also fine, but
	 * keep the bitmap exact so tw_next stays cheap. Timers inserted "late"
	 * sit in cur_tick's slot, so check both candidates. */
	slot_check(tw, slot_of(tw, t));
	slot_check(tw, (uint32_t)(tw->cur_tick & TW_MASK));
}

void timer_arm(struct timer_wheel *tw, struct us_timer *t, uint64_t expires)
{
	timer_cancel(tw, t);
	t->expires = expires;
	insert(tw, t);
}

unsigned tw_advance(struct timer_wheel *tw, uint64_t now, void *ctx)
{
	uint64_t target = now >> TW_TICK_SHIFT;
	unsigned fired = 0;
	if (target < tw->cur_tick)
		return 0;   /* clock did not advance a tick (or went backwards) */
	uint64_t ticks = target - tw->cur_tick + 1;
	if (ticks > TW_SLOTS)
		ticks = TW_SLOTS;   /* a long jump: visit every slot once */
	uint64_t start = tw->cur_tick;
	tw->cur_tick = target + 1;
	for (uint64_t i = 0; i < ticks && tw->count; i++) {
		uint32_t s = (uint32_t)((start + i) & TW_MASK);
		/* Skip empty slots a bitmap word at a time: an idle stack whose
		 * clock jumps seconds ahead must not visit 4096 slots one by one. */
		uint64_t word = tw->bitmap[s / 64] >> (s % 64);
		if (!word) {
			i += 63 - (s % 64);   /* the loop's i++ lands on the next word */
			continue;
		}
		uint32_t skip = (uint32_t)__builtin_ctzll(word);
		if (skip) {
			i += skip;
			if (i >= ticks)
				break;
			s = (uint32_t)((start + i) & TW_MASK);
		}
		/* Detach the slot so callbacks that re-arm cannot loop us. */
		struct us_timer *list = tw->slots[s];
		tw->slots[s] = 0;
		tw->bitmap[s / 64] &= ~(1ull << (s % 64));
		if (list)
			list->pprev = &list;
		while (list) {
			struct us_timer *t = list;
			unlink_timer(tw, t);
			if (t->expires <= now) {
				fired++;
				t->fn(t, now, ctx);
			} else {
				insert(tw, t);
			}
		}
	}
	return fired;
}

int64_t tw_next(const struct timer_wheel *tw)
{
	if (!tw->count)
		return -1;
	/* Walk the occupied slots in tick order starting at cur_tick; the first
	 * slot holding a timer due in this revolution gives the answer. Timers
	 * further out are tracked as a fallback minimum. */
	uint64_t best = UINT64_MAX;
	for (uint32_t i = 0; i < TW_SLOTS;) {
		uint32_t s = (uint32_t)((tw->cur_tick + i) & TW_MASK);
		uint64_t word = tw->bitmap[s / 64] >> (s % 64);
		if (!word) {
			i += 64 - (s % 64);
			continue;
		}
		uint32_t skip = (uint32_t)__builtin_ctzll(word);
		i += skip;
		if (i >= TW_SLOTS)
			break;
		s = (uint32_t)((tw->cur_tick + i) & TW_MASK);
		uint64_t slot_end = (tw->cur_tick + i + 1) << TW_TICK_SHIFT;
		int due_here = 0;
		for (const struct us_timer *t = tw->slots[s]; t; t = t->next) {
			if (t->expires < best)
				best = t->expires;
			if (t->expires < slot_end)
				due_here = 1;
		}
		if (due_here)
			return (int64_t)best;
		i++;
	}
	return best == UINT64_MAX ? -1 : (int64_t)best;
}
