/* The bad-input rows (tests/lib/badinput_cases.c): one hostile input
 * each, with the counters it must move by exactly how much, the replies
 * due and what must hold after. Run by test_badinput.c, which checks each
 * row exactly, and by test_counters.c, which adds up what they move. */
#ifndef US_TEST_BADINPUT_H
#define US_TEST_BADINPUT_H
#include <stddef.h>
#include <stdint.h>

#include "dut.h"

struct exp {
	const char *name; /* "Group.Name" */
	int64_t delta;
};

#define MAX_EXP 10
struct bcase {
	const char *name;
	int setup;
	void (*send)(struct dut *d);
	struct exp ex[MAX_EXP];
	int reply, nreply;            /* every frame sent back is of this kind; how many */
	uint8_t icmp_type, icmp_code; /* for R_ICMP */
	int after;                    /* A_ALIVE: the connection still works; A_RESET: it was reset */
	uint64_t settle;              /* default 200 ms */
	void (*check)(struct dut *d); /* the row's own checks, after the frames */
	void (*cfg)(struct us_stack_config *c);
	int any_reply;              /* replies not checked by kind (the row checks them) */
	void (*pre)(struct dut *d); /* before the setup */
	const char *loose[6];       /* counters whose deltas the row's check asserts itself */
};

extern const struct bcase badinput_cases[];
/* A fresh DUT for row c: its configuration, its pre-step and socket
 * set-up, run 1 ms, replies so far cleared (test_badinput, test_counters). */
void bcase_start(struct dut *d, const struct bcase *c);
extern const size_t badinput_ncases;
#endif
