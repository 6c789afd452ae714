/* The counters' descriptions (include/ustack/stats.h): every counter has
 * one that follows the list's rules (one line of at most 100 characters, no
 * double quote, backslash or trailing full stop), us_stats_describe finds
 * each by its dotted name and nothing else, us_stats_foreach_desc visits
 * the same counters with the same values as us_stats_foreach, also with no
 * struct (values 0), and us_stats_get agrees with the fields. The
 * programs' own lists (the relay's RELAY_COUNTERS, the tunnel's
 * TNL_COUNTERS) follow the same rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../apps/relay.h"
#include "../../apps/tunnel_proto.h"
#include "ustack/stats.h"

#define MAXC 512

struct seen {
	int n;
	char name[MAXC][64];
	uint64_t value[MAXC];
	const char *desc[MAXC];
};

static void visit(const char *group, const char *name, uint64_t v, void *arg)
{
	struct seen *s = arg;
	assert_true(s->n < MAXC);
	snprintf(s->name[s->n], sizeof(s->name[0]), "%s.%s", group, name);
	s->value[s->n++] = v;
}

static void visit_desc(const char *group, const char *name, uint64_t v, const char *desc, void *arg)
{
	struct seen *s = arg;
	assert_true(s->n < MAXC);
	snprintf(s->name[s->n], sizeof(s->name[0]), "%s.%s", group, name);
	s->desc[s->n] = desc;
	s->value[s->n++] = v;
}

/* Every counter gets a distinct value: its index + 1. */
static void fill(struct us_stats *st)
{
	uint64_t *v = (uint64_t *)st;
	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		v[i] = i + 1;
}

static void every_counter_described(void **state)
{
	(void)state;
	static struct seen s;
	memset(&s, 0, sizeof(s));
	us_stats_foreach_desc(NULL, visit_desc, &s);
	assert_int_equal(s.n, (int)(sizeof(struct us_stats) / sizeof(uint64_t)));
	for (int i = 0; i < s.n; i++) {
		const char *d = s.desc[i];
		assert_non_null(d);
		size_t len = strlen(d);
		if (len < 10 || len > 100 || strchr(d, '\n') || strchr(d, '"') || strchr(d, '\\') || d[len - 1] == '.' ||
		    d[0] == ' ' || d[len - 1] == ' ')
			fail_msg("%s: description breaks the rules of stats.h: '%s'", s.name[i], d);
		assert_int_equal(s.value[i], 0);   /* no struct: zeros */
		assert_ptr_equal(us_stats_describe(s.name[i]), d);
		for (int k = 0; k < i; k++)
			if (!strcmp(s.name[k], s.name[i]))
				fail_msg("counter %s listed twice", s.name[i]);
	}
}

static void same_as_foreach(void **state)
{
	(void)state;
	static struct seen a, b;
	struct us_stats st;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	fill(&st);
	us_stats_foreach(&st, visit, &a);
	us_stats_foreach_desc(&st, visit_desc, &b);
	assert_int_equal(a.n, b.n);
	for (int i = 0; i < a.n; i++) {
		assert_string_equal(a.name[i], b.name[i]);
		assert_true(a.value[i] == b.value[i]);
		/* in the struct's order, so each value is its field's */
		assert_true(a.value[i] == (uint64_t)i + 1);
		assert_true(us_stats_get(&st, a.name[i]) == (int64_t)i + 1);
	}
	/* a few by field, to tie names to the struct */
	assert_true(us_stats_get(&st, "Ip.InReceives") == (int64_t)st.ip.InReceives);
	assert_true(us_stats_get(&st, "Tcp.CurrEstab") == (int64_t)st.tcp.CurrEstab);
	assert_true(us_stats_get(&st, "TcpExt.TCPACKSkippedSeq") == (int64_t)st.tcpext.TCPACKSkippedSeq);
	assert_true(us_stats_get(&st, "Arp.InBogus") == (int64_t)st.arp.InBogus);
}

static void lookups(void **state)
{
	(void)state;
	assert_string_equal(us_stats_describe("Ip.InReceives"), "IPv4 datagrams received, including those in error");
	assert_non_null(us_stats_describe("Arp.InBogus"));
	assert_non_null(us_stats_describe("TcpExt.TCPACKSkippedSeq"));
	/* same name, other group: each its own */
	assert_non_null(us_stats_describe("Udp.InCsumErrors"));
	assert_ptr_not_equal(us_stats_describe("Udp.InCsumErrors"), us_stats_describe("Tcp.InCsumErrors"));
	static const char *const bad[] = {
		"", ".", "Ip", "Ip.", ".InReceives", "Ip.InReceivesX", "Ip.inreceives", "IP.InReceives", "Ipx.InReceives",
		"I.InReceives", "Ip.InReceives.", "Tcp.InReceives", "Mem.UsedBytes",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (us_stats_describe(bad[i]))
			fail_msg("'%s' found", bad[i]);
		struct us_stats st;
		fill(&st);
		assert_true(us_stats_get(&st, bad[i]) == -1);
	}
	assert_null(us_stats_describe(NULL));
}

/* The same rules for a program's list of X(Name, "description"). */
struct app_counter {
	const char *name, *desc;
};
#define APP_ROW(n, d) {#n, d},
static const struct app_counter relay_rows[] = {RELAY_COUNTERS(APP_ROW)};
static const struct app_counter tunnel_rows[] = {TNL_COUNTERS(APP_ROW)};
#undef APP_ROW

static void check_rows(const char *list, const struct app_counter *r, size_t n)
{
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		const char *d = r[i].desc;
		size_t len = d ? strlen(d) : 0;
		if (len < 10 || len > 100 || strchr(d, '\n') || strchr(d, '"') || strchr(d, '\\') || d[len - 1] == '.' ||
		    d[0] == ' ' || d[len - 1] == ' ')
			fail_msg("%s.%s: description breaks the rules of stats.h: '%s'", list, r[i].name, d ? d : "(none)");
		for (size_t k = 0; k < i; k++)
			if (!strcmp(r[k].name, r[i].name))
				fail_msg("counter %s.%s listed twice", list, r[i].name);
	}
}

static void app_counters_described(void **state)
{
	(void)state;
	check_rows("Relay", relay_rows, sizeof(relay_rows) / sizeof(relay_rows[0]));
	check_rows("Tunnel", tunnel_rows, sizeof(tunnel_rows) / sizeof(tunnel_rows[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_counter_described),
		cmocka_unit_test(same_as_foreach),
		cmocka_unit_test(lookups),
		cmocka_unit_test(app_counters_described),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
