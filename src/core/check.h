/* Invariant checks: US_ASSERT(cond) stops the program, naming the
 * condition, the file and the line, when cond is false. It is active in
 * the builds that define US_CHECKS: the sanitizer (make SAN=1), MSan
 * (SAN=msan) and fuzz builds, where a broken invariant then fails the
 * test or fuzz run that broke it, instead of corrupting state quietly. In
 * the release build it compiles to nothing and cond is not evaluated
 * (only type-checked), so a check may cost what it needs but must not have
 * side effects.
 *
 * For what the code itself guarantees (sequence space, scoreboard, queue
 * byte counts, the pool), never for what a peer sends: hostile input is
 * dropped and counted, never asserted on. */
#ifndef US_CHECK_H
#define US_CHECK_H

#ifdef US_CHECKS
#include <stdio.h>
#include <stdlib.h>

__attribute__((noreturn, cold)) static inline void us_check_fail(const char *cond, const char *file, int line,
								 const char *func)
{
	fprintf(stderr, "%s:%d: %s: invariant broken: %s\n", file, line, func, cond);
	abort();
}
#define US_ASSERT(cond) ((cond) ? (void)0 : us_check_fail(#cond, __FILE__, __LINE__, __func__))
#define US_CHECKING 1
#else
#define US_ASSERT(cond) ((void)sizeof(!(cond)))
#define US_CHECKING 0
#endif
#endif
