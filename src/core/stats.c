#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ustack/stats.h"

/* One row per counter, from the X-macro lists in ustack/stats.h: group,
 * name, description and where the value lives in struct us_stats. */
struct stat_row {
	const char *group, *name, *desc;
	size_t off;
};

#define ROW(grp, field, name, desc) {grp, #name, desc, offsetof(struct us_stats, field.name)},
#define R_LINK(n, d) ROW("Link", link, n, d)
#define R_ARP(n, d) ROW("Arp", arp, n, d)
#define R_IP(n, d) ROW("Ip", ip, n, d)
#define R_ICMP(n, d) ROW("Icmp", icmp, n, d)
#define R_IP6(n, d) ROW("Ip6", ip6, n, d)
#define R_ICMP6(n, d) ROW("Icmp6", icmp6, n, d)
#define R_UDP(n, d) ROW("Udp", udp, n, d)
#define R_TCP(n, d) ROW("Tcp", tcp, n, d)
#define R_TCPEXT(n, d) ROW("TcpExt", tcpext, n, d)

static const struct stat_row rows[] = {
	US_STATS_LINK(R_LINK)
	US_STATS_ARP(R_ARP)
	US_STATS_IP(R_IP)
	US_STATS_ICMP(R_ICMP)
	US_STATS_IP6(R_IP6)
	US_STATS_ICMP6(R_ICMP6)
	US_STATS_UDP(R_UDP)
	US_STATS_TCP(R_TCP)
	US_STATS_TCPEXT(R_TCPEXT)
};
#define N_ROWS (sizeof(rows) / sizeof(rows[0]))
_Static_assert(N_ROWS * sizeof(uint64_t) == sizeof(struct us_stats), "a row for every counter");

static uint64_t value_of(const struct us_stats *s, const struct stat_row *r)
{
	uint64_t v;
	if (!s)
		return 0;
	memcpy(&v, (const char *)s + r->off, sizeof(v));
	return v;
}

void us_stats_foreach(const struct us_stats *s, us_stats_visit_fn fn, void *arg)
{
	for (size_t i = 0; i < N_ROWS; i++)
		fn(rows[i].group, rows[i].name, value_of(s, &rows[i]), arg);
}

void us_stats_foreach_desc(const struct us_stats *s, us_stats_desc_fn fn, void *arg)
{
	for (size_t i = 0; i < N_ROWS; i++)
		fn(rows[i].group, rows[i].name, value_of(s, &rows[i]), rows[i].desc, arg);
}

static const struct stat_row *find(const char *dotted)
{
	const char *dot = dotted ? strchr(dotted, '.') : NULL;
	if (!dot)
		return NULL;
	size_t glen = (size_t)(dot - dotted);
	for (size_t i = 0; i < N_ROWS; i++)
		if (strlen(rows[i].group) == glen && !strncmp(rows[i].group, dotted, glen) &&
		    !strcmp(rows[i].name, dot + 1))
			return &rows[i];
	return NULL;
}

int64_t us_stats_get(const struct us_stats *s, const char *dotted)
{
	const struct stat_row *r = find(dotted);
	return r ? (int64_t)value_of(s, r) : -1;
}

const char *us_stats_describe(const char *dotted)
{
	const struct stat_row *r = find(dotted);
	return r ? r->desc : NULL;
}
