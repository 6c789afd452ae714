/* Conformance scripts in the spirit of packetdrill (tests/conform/NAME.pkt,
 * language in tests/conform/README.md), one cmocka test each; the runner
 * is tests/lib/conform.c.
 *
 *   build/tests/sim/test_conform                  every script in tests/conform
 *   build/tests/sim/test_conform a.pkt b.pkt      just these
 *   USTACK_CONFORM_DIR=dir build/tests/sim/test_conform
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/conform.h"

/* ---- cmocka glue --------------------------------------------------------- */

static void test_script(void **state)
{
	const char *path = *state;
	static char err[8192];
	if (conform_run(path, err, sizeof(err), NULL) < 0) {
		print_error("%s\n", err);
		fail_msg("%s", path);
	}
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
	char **paths = NULL;
	int n = 0, cap = 0;
	if (argc > 1) {
		paths = calloc((size_t)argc, sizeof(*paths));
		for (int i = 1; paths && i < argc; i++)
			paths[n++] = strdup(argv[i]);
	} else {
		char *dir = conform_dir(argv[0]);
		DIR *d = dir ? opendir(dir) : NULL;
		if (!d) {
			fprintf(stderr, "test_conform: no script directory (tests/conform or USTACK_CONFORM_DIR)\n");
			free(dir);
			return 1;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			size_t l = strlen(e->d_name);
			if (l < 5 || strcmp(e->d_name + l - 4, ".pkt"))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				char **np = realloc(paths, (size_t)cap * sizeof(*paths));
				if (!np)
					break;
				paths = np;
			}
			size_t need = strlen(dir) + l + 2;
			paths[n] = malloc(need);
			if (paths[n])
				snprintf(paths[n++], need, "%s/%s", dir, e->d_name);
		}
		closedir(d);
		free(dir);
		if (n)
			qsort(paths, (size_t)n, sizeof(*paths), cmp_str);
	}
	if (!n) {
		fprintf(stderr, "test_conform: no scripts\n");
		return 1;
	}
	struct CMUnitTest *tests = calloc((size_t)n, sizeof(*tests));
	if (!tests)
		return 1;
	for (int i = 0; i < n; i++) {
		const char *base = strrchr(paths[i], '/');
		tests[i].name = base ? base + 1 : paths[i];
		tests[i].test_func = test_script;
		tests[i].initial_state = paths[i];
	}
	int rc = _cmocka_run_group_tests("conform", tests, (size_t)n, NULL, NULL);
	free(tests);
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return rc;
}
