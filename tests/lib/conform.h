/* The conformance script runner (tests/lib/conform.c): one stack on an
 * in-memory L3 link whose other end a script drives (tests/conform/README.md
 * has the language). */
#ifndef US_TEST_CONFORM_H
#define US_TEST_CONFORM_H
#include <stddef.h>

struct us_stats;

/* Runs the script at path: 0, or -1 with what failed in err. If acc is
 * not NULL, what the script's stack counted is added to it. */
int conform_run(const char *path, char *err, size_t errlen, struct us_stats *acc);
/* The script directory: $USTACK_CONFORM_DIR, ./tests/conform, or found
 * from the executable's path (build/tests/sim/x -> tests/conform).
 * malloc'd; NULL if out of memory. */
char *conform_dir(const char *argv0);
#endif
