/* The tunnel's sliding replay window (header-only, so the unit tests can
 * use it without libsodium).
 *
 * A receiver accepts each 64-bit packet counter at most once, and none more
 * than TNL_REPLAY_WINDOW behind the highest accepted so far. The bitmap is
 * a ring of 64-bit words (one word more than the window needs, so the word
 * of the highest counter never shares a slot with the oldest one still in
 * the window); moving the top forward clears the words it passes, at most
 * the whole ring, so every call is O(words) at worst and O(1) usually. */
#ifndef US_APP_TUNNEL_REPLAY_H
#define US_APP_TUNNEL_REPLAY_H
#include <stdint.h>
#include <string.h>

#define TNL_REPLAY_WINDOW 2048
#define TNL_REPLAY_WORDS (TNL_REPLAY_WINDOW / 64 + 1)

struct tnl_replay {
	uint64_t top;
	uint64_t bits[TNL_REPLAY_WORDS];
};

/* A window in which every counter up to and including c counts as seen
 * (c is the counter of the packet that opened the session). */
static inline void tnl_replay_init(struct tnl_replay *r, uint64_t c)
{
	r->top = c;
	memset(r->bits, 0xff, sizeof(r->bits));
	unsigned b = (unsigned)(c & 63);
	if (b != 63)
		r->bits[(c >> 6) % TNL_REPLAY_WORDS] = (UINT64_C(1) << (b + 1)) - 1;
}

/* 0 if c is new (and marks it seen); -1 if seen before or too old. */
static inline int tnl_replay_check(struct tnl_replay *r, uint64_t c)
{
	if (c > r->top) {
		uint64_t cur = r->top >> 6, d = (c >> 6) - cur;
		if (d > TNL_REPLAY_WORDS)
			d = TNL_REPLAY_WORDS;
		for (uint64_t i = 1; i <= d; i++)
			r->bits[(cur + i) % TNL_REPLAY_WORDS] = 0;
		r->top = c;
	} else if (r->top - c >= TNL_REPLAY_WINDOW) {
		return -1;
	}
	uint64_t *w = &r->bits[(c >> 6) % TNL_REPLAY_WORDS];
	uint64_t bit = UINT64_C(1) << (c & 63);
	if (*w & bit)
		return -1;
	*w |= bit;
	return 0;
}
#endif
