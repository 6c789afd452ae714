/* Unit tests for the tunnel's replay window (apps/tunnel_replay.h): each
 * counter accepted once, reordering within the window accepted, anything
 * 2048 or more behind the highest refused, jumps of any size, and a fresh
 * window refusing everything up to the packet that opened it. Checked
 * against a plain set of seen counters on long random sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../apps/tunnel_replay.h"

static void in_order_once(void **state)
{
	(void)state;
	struct tnl_replay r;
	tnl_replay_init(&r, 0);
	for (uint64_t c = 1; c <= 10000; c++) {
		assert_int_equal(tnl_replay_check(&r, c), 0);
		assert_int_equal(tnl_replay_check(&r, c), -1);
		if (c > 1)
			assert_int_equal(tnl_replay_check(&r, c - 1), -1);
	}
}

static void init_marks_up_to_start(void **state)
{
	(void)state;
	/* Start at word boundaries and in the middle of words. */
	static const uint64_t starts[] = {1, 62, 63, 64, 65, 127, 128, 5000, UINT64_C(1) << 40};
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		struct tnl_replay r;
		uint64_t s = starts[i];
		tnl_replay_init(&r, s);
		for (uint64_t c = s > 3000 ? s - 3000 : 0; c <= s; c++)
			assert_int_equal(tnl_replay_check(&r, c), -1);
		/* everything after the start is new, in any order */
		for (uint64_t c = s + 200; c > s; c--)
			assert_int_equal(tnl_replay_check(&r, c), 0);
		for (uint64_t c = s + 1; c <= s + 200; c++)
			assert_int_equal(tnl_replay_check(&r, c), -1);
	}
}

static void window_edge(void **state)
{
	(void)state;
	struct tnl_replay r;
	tnl_replay_init(&r, 0);
	assert_int_equal(tnl_replay_check(&r, 10000), 0);
	/* 2047 behind: still in the window; 2048 behind: too old. */
	assert_int_equal(tnl_replay_check(&r, 10000 - 2047), 0);
	assert_int_equal(tnl_replay_check(&r, 10000 - 2047), -1);
	assert_int_equal(tnl_replay_check(&r, 10000 - 2048), -1);
	assert_int_equal(tnl_replay_check(&r, 1), -1);
	/* every counter between is new exactly once */
	for (uint64_t c = 10000 - 2046; c < 10000; c++)
		assert_int_equal(tnl_replay_check(&r, c), 0);
	for (uint64_t c = 10000 - 2047; c <= 10000; c++)
		assert_int_equal(tnl_replay_check(&r, c), -1);
}

static void big_jumps(void **state)
{
	(void)state;
	struct tnl_replay r;
	tnl_replay_init(&r, 5);
	uint64_t c = 5;
	static const uint64_t jumps[] = {1, 63, 64, 65, 2047, 2048, 2049, 2111, 2112, 2113, 100000, UINT64_C(1) << 50};
	for (size_t i = 0; i < sizeof(jumps) / sizeof(jumps[0]); i++) {
		uint64_t old = c;
		c += jumps[i];
		assert_int_equal(tnl_replay_check(&r, c), 0);
		/* after the jump the counters between are new if within the window */
		for (uint64_t k = c - 1; k > old && c - k < 2048; k--)
			assert_int_equal(tnl_replay_check(&r, k), 0);
		assert_int_equal(tnl_replay_check(&r, old), -1);
	}
}

/* A model: the set of accepted counters (as a bitmap over a small range). */
static void random_against_model(void **state)
{
	(void)state;
	enum { N = 60000 };
	uint8_t *seen = calloc(N + 1, 1);
	assert_non_null(seen);
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (int round = 0; round < 4; round++) {
		memset(seen, 0, N + 1);
		struct tnl_replay r;
		tnl_replay_init(&r, 0);
		seen[0] = 1;
		uint64_t top = 0, next = 1;
		int accepted = 0, refused = 0;
		for (int i = 0; i < 200000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			uint64_t c;
			unsigned kind = (unsigned)(x % 100);
			if (kind < 60 && next <= N)
				c = next++;                                  /* in order */
			else if (kind < 90)
				c = top > 3000 ? top - (x >> 8) % 3000 : (x >> 8) % (top + 1);  /* old, some too old */
			else
				c = top + (x >> 8) % (round == 3 ? 3000 : 100);   /* ahead, sometimes far */
			if (c > N)
				continue;
			int want = (!seen[c] && !(c < top && top - c >= 2048)) ? 0 : -1;
			int got = tnl_replay_check(&r, c);
			assert_int_equal(got, want);
			if (got == 0) {
				seen[c] = 1;
				if (c > top)
					top = c;
				if (c >= next)
					next = c + 1;
				accepted++;
			} else {
				refused++;
			}
		}
		assert_true(accepted > 1000 && refused > 1000);
	}
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(in_order_once),
		cmocka_unit_test(init_marks_up_to_start),
		cmocka_unit_test(window_edge),
		cmocka_unit_test(big_jumps),
		cmocka_unit_test(random_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
