#include <stdio.h>
#include <string.h>

#include "ustack/stats.h"

#define VISIT(grp, field) fn(grp, #field, s->field, arg);
#define V_LINK(n) VISIT("Link", link.n)
#define V_ARP(n) VISIT("Arp", arp.n)
#define V_IP(n) VISIT("Ip", ip.n)
#define V_ICMP(n) VISIT("Icmp", icmp.n)
#define V_UDP(n) VISIT("Udp", udp.n)
#define V_TCP(n) VISIT("Tcp", tcp.n)
#define V_TCPEXT(n) VISIT("TcpExt", tcpext.n)

static const char *strip(const char *dotted_field)
{
	const char *d = strchr(dotted_field, '.');
	return d ? d + 1 : dotted_field;
}

struct strip_ctx {
	us_stats_visit_fn fn;
	void *arg;
};

static void strip_visit(const char *group, const char *name, uint64_t v, void *arg)
{
	struct strip_ctx *c = arg;
	c->fn(group, strip(name), v, c->arg);
}

void us_stats_foreach(const struct us_stats *s, us_stats_visit_fn user_fn, void *user_arg)
{
	struct strip_ctx c = {user_fn, user_arg};
	us_stats_visit_fn fn = strip_visit;
	void *arg = &c;
	US_STATS_LINK(V_LINK)
	US_STATS_ARP(V_ARP)
	US_STATS_IP(V_IP)
	US_STATS_ICMP(V_ICMP)
	US_STATS_UDP(V_UDP)
	US_STATS_TCP(V_TCP)
	US_STATS_TCPEXT(V_TCPEXT)
}

struct find_ctx {
	const char *group;
	size_t glen;
	const char *name;
	int64_t value;
};

static void find_visit(const char *group, const char *name, uint64_t v, void *arg)
{
	struct find_ctx *f = arg;
	if (strlen(group) == f->glen && !strncmp(group, f->group, f->glen) && !strcmp(name, f->name))
		f->value = (int64_t)v;
}

int64_t us_stats_get(const struct us_stats *s, const char *dotted)
{
	const char *dot = strchr(dotted, '.');
	if (!dot)
		return -1;
	struct find_ctx f = {dotted, (size_t)(dot - dotted), dot + 1, -1};
	us_stats_foreach(s, find_visit, &f);
	return f.value;
}
