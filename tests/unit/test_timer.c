/* The timer wheel against a model: a plain array of (armed, expires).
 * Seeded random arm, re-arm, cancel and clock steps (small steps within a
 * slot, steps across many empty slots and words of the bitmap, jumps of
 * more than a revolution) must fire exactly the timers the model says are
 * due (to the tick), each once, never early; tw_next must give the model's earliest
 * expiry whenever one is due within the wheel's revolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/timer.h"

#define N 64
#define TICK (1ull << TW_TICK_SHIFT)

struct model {
	struct timer_wheel tw;
	struct us_timer t[N];
	int armed[N];
	uint64_t expires[N];
	unsigned fired[N];
	uint64_t now;
};

static void on_fire(struct us_timer *t, uint64_t now, void *ctx)
{
	struct model *m = ctx;
	int i = (int)(t - m->t);
	assert_true(i >= 0 && i < N);
	assert_true(m->armed[i]);
	assert_true(m->expires[i] <= now);   /* never early */
	m->armed[i] = 0;
	m->fired[i]++;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void check_after_advance(struct model *m)
{
	/* Nothing due before the current tick may stay armed after an
	 * advance to `now` (the wheel's granularity is one tick: a timer due
	 * within the tick already processed fires on the next one). */
	for (int i = 0; i < N; i++)
		if (m->armed[i] && m->expires[i] <= m->now)
			assert_true(m->expires[i] >> TW_TICK_SHIFT == m->now >> TW_TICK_SHIFT);
}

static void check_next(struct model *m)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < N; i++)
		if (m->armed[i] && m->expires[i] < best)
			best = m->expires[i];
	int64_t n = tw_next(&m->tw);
	if (best == UINT64_MAX) {
		assert_int_equal(n, -1);
		return;
	}
	assert_true(n >= 0);
	/* Within one revolution the answer is exact; beyond, it may be any
	 * armed expiry not later than the true one's revolution. */
	if (best < m->now + (uint64_t)TW_SLOTS * TICK / 2)
		assert_int_equal((uint64_t)n, best);
}

static void run_seed(uint64_t seed)
{
	static struct model m;
	memset(&m, 0, sizeof(m));
	m.now = 5 * TICK + 123;
	tw_init(&m.tw, m.now);
	for (int i = 0; i < N; i++)
		timer_init(&m.t[i], on_fire);
	uint64_t s = seed;
	for (int step = 0; step < 20000; step++) {
		uint64_t r = rng(&s);
		int i = (int)(r % N);
		switch ((r >> 8) % 8) {
		case 0:
		case 1:
		case 2: {   /* arm or re-arm: near, far, or beyond a revolution */
			uint64_t kind = (r >> 16) % 4, d;
			if (kind == 0)
				d = (r >> 20) % (2 * TICK);
			else if (kind == 1)
				d = (r >> 20) % (200 * TICK);
			else if (kind == 2)
				d = (r >> 20) % ((uint64_t)TW_SLOTS * TICK);
			else
				d = (r >> 20) % (3ull * TW_SLOTS * TICK);
			timer_arm(&m.tw, &m.t[i], m.now + d);
			m.armed[i] = 1;
			m.expires[i] = m.now + d;
			break;
		}
		case 3:
			timer_cancel(&m.tw, &m.t[i]);
			m.armed[i] = 0;
			break;
		default: {  /* the clock moves */
			uint64_t kind = (r >> 16) % 8, d;
			if (kind < 4)
				d = (r >> 20) % TICK;
			else if (kind < 7)
				d = (r >> 20) % (300 * TICK);
			else
				d = (r >> 20) % (2ull * TW_SLOTS * TICK);
			m.now += d;
			tw_advance(&m.tw, m.now, &m);
			check_after_advance(&m);
			break;
		}
		}
		assert_int_equal(timer_pending(&m.t[i]), m.armed[i]);
		check_next(&m);
	}
	/* Run everything out. */
	m.now += 4ull * TW_SLOTS * TICK;
	tw_advance(&m.tw, m.now, &m);
	for (int i = 0; i < N; i++)
		assert_false(m.armed[i]);
	assert_int_equal(tw_next(&m.tw), -1);
}

static void test_wheel_matches_model(void **st)
{
	(void)st;
	for (uint64_t seed = 1; seed <= 20; seed++)
		run_seed(seed * 0x9E3779B97F4A7C15ull);
}

/* One timer in the last slot of a bitmap word and one in the first slot of
 * the next: a jump over both fires both, in one advance. */
static void test_word_edges(void **st)
{
	(void)st;
	static struct model m;
	memset(&m, 0, sizeof(m));
	tw_init(&m.tw, 0);
	for (int i = 0; i < N; i++)
		timer_init(&m.t[i], on_fire);
	uint64_t ticks[] = {63, 64, 127, 128, 4095, 4096 + 10};
	for (int i = 0; i < 6; i++) {
		m.expires[i] = ticks[i] * TICK;
		m.armed[i] = 1;
		timer_arm(&m.tw, &m.t[i], m.expires[i]);
	}
	m.now = 64 * TICK;
	tw_advance(&m.tw, m.now, &m);
	assert_int_equal(m.fired[0] + m.fired[1], 2);
	assert_int_equal(m.fired[2], 0);
	m.now = 4096 * TICK;
	tw_advance(&m.tw, m.now, &m);
	assert_int_equal(m.fired[2] + m.fired[3] + m.fired[4], 3);
	assert_int_equal(m.fired[5], 0);
	assert_int_equal((uint64_t)tw_next(&m.tw), m.expires[5]);
	m.now = m.expires[5];
	tw_advance(&m.tw, m.now, &m);
	assert_int_equal(m.fired[5], 1);
	assert_int_equal(tw_next(&m.tw), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wheel_matches_model),
		cmocka_unit_test(test_word_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
