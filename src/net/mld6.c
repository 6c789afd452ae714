/* MLD for a host (RFC 3810 MLDv2; MLDv1 compatibility as RFC 3810 8).
 *
 * The groups an interface listens to are the solicited-node groups of its
 * addresses, tentative ones included (RFC 4862 5.4.2: joined before DAD
 * probes), so that a switch snooping MLD forwards the NS and NA about them.
 * ff02::1 is never reported (RFC 3810 6). A host is told nothing back:
 * state kept here is what routers were told (mld_groups), records still to
 * be sent (mld_pend: each state change Robustness Variable times, RFC 3810
 * 6.1) and when a query's answer is due.
 *
 * Reports go to ff02::16 (MLDv1: a report to the group, a done to ff02::2)
 * from a link-local source, or :: while there is none (5.2.13), with hop
 * limit 1 and a router alert in a hop-by-hop header (5). Queries from a
 * source that is not link-local are dropped (5.1.14). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/bytes.h"
#include "core/pkt.h"
#include "core/rand.h"
#include "net/iface.h"
#include "net/ipv6.h"
#include "stack.h"
#include "wire/ip6ext.h"
#include "wire/mld6.h"

#define MS(ms) ((uint64_t)(ms) * 1000000ull)
#define MLD_RV 2                               /* Robustness Variable (RFC 3810 9.1) */
#define MLD_UNSOLICITED_MS 1000                /* Unsolicited Report Interval (9.11) */
#define MLD_V1_PRESENT MS(2 * 125000 + 10000)  /* Older Version Querier Present Timeout (9.12) */
#define MLD_HBH_LEN 8                          /* hop-by-hop header with the router alert */

static const struct ip6_addr all_mld2_routers = {{0xff, 0x02, [15] = 0x16}};

static struct us_iface *iface_of_mld_timer(struct us_timer *t)
{
	return (struct us_iface *)(void *)((char *)t - offsetof(struct us_iface, mld_timer));
}

static int v1_mode(const struct us_stack *st, const struct us_iface *ifc) { return ifc->mld_v1_until > st->now; }

/* One MLD message out of ifc: type, bytes 4..7 (rest) and payload. */
static void mld_send(struct us_stack *st, struct us_iface *ifc, uint8_t type, const struct ip6_addr *dst, uint32_t rest,
		     const uint8_t *payload, size_t plen)
{
	size_t len = MLD_HBH_LEN + 8 + plen;
	uint8_t *b;
	struct pkt *p = icmp6_alloc(st, len, &b);
	if (!p)
		return;
	uint8_t ra[4];
	ip6_opt_router_alert(ra, 0);   /* RFC 2711 value 0: MLD */
	ip6_opts_hdr_emit(IP6_NH_ICMPV6, ra, sizeof(ra), b);
	memcpy(b + MLD_HBH_LEN + 8, payload, plen);
	struct ip6_addr src;
	if (iface6_select_src(ifc, dst, &src) < 0 || !ip6_is_linklocal(&src))
		src = ip6_any;
	struct icmp6_repr r = {.type = type, .rest = rest, .payload = b + MLD_HBH_LEN + 8, .payload_len = plen};
	icmp6_emit(&r, &src, dst, b + MLD_HBH_LEN);
	if (type == ICMP6_MLD2_REPORT)
		STAT_INC(st, icmp6, OutMLDv2Reports);
	else if (type == ICMP6_MLD_REPORT)
		STAT_INC(st, icmp6, OutGroupMembResponses);
	else
		STAT_INC(st, icmp6, OutGroupMembReductions);
	if (ipv6_output_if(st, ifc, p, &src, dst, IP6_NH_HOPOPTS, 1, NULL) == 0)
		STAT_INC(st, icmp6, OutMsgs);
}

/* n records: one MLDv2 report, or (MLDv1 querier present) a report per
 * group joined or asked for and a done per group left. */
static void send_records(struct us_stack *st, struct us_iface *ifc, const uint8_t *types, const struct ip6_addr *groups,
			 int n)
{
	if (n <= 0)
		return;
	if (v1_mode(st, ifc)) {
		static const struct ip6_addr all_routers = {{0xff, 0x02, [15] = 2}};
		for (int i = 0; i < n; i++) {
			if (types[i] == MLD2_CHANGE_TO_INCLUDE)
				mld_send(st, ifc, ICMP6_MLD_DONE, &all_routers, 0, groups[i].b, 16);
			else
				mld_send(st, ifc, ICMP6_MLD_REPORT, &groups[i], 0, groups[i].b, 16);
		}
		return;
	}
	uint8_t buf[2 * US_MAX_ADDRS6 * MLD2_RECORD_LEN];
	size_t plen = mld2_records_emit(types, groups, n, buf);
	mld_send(st, ifc, ICMP6_MLD2_REPORT, &all_mld2_routers, (uint32_t)n, buf, plen);
}

static void rearm(struct us_stack *st, struct us_iface *ifc)
{
	uint64_t next = ifc->mld_change_at;
	if (ifc->mld_general_at && (!next || ifc->mld_general_at < next))
		next = ifc->mld_general_at;
	if (next)
		timer_arm(&st->timers, &ifc->mld_timer, next < st->now ? st->now : next);
	else
		timer_cancel(&st->timers, &ifc->mld_timer);
}

/* Owe a record about group: a state change (sent MLD_RV times, replacing
 * one pending for the group: RFC 3810 6.1) or a current state (once). */
static void owe(struct us_iface *ifc, const struct ip6_addr *group, uint8_t type, uint64_t at)
{
	int i = 0;
	while (i < ifc->mld_npend && !ip6_addr_eq(&ifc->mld_pend[i].group, group))
		i++;
	int change = type == MLD2_CHANGE_TO_INCLUDE || type == MLD2_CHANGE_TO_EXCLUDE;
	if (i < ifc->mld_npend && !change && ifc->mld_pend[i].type != MLD2_MODE_IS_EXCLUDE)
		return;   /* a state change is owed already: it answers the query too */
	if (i == ifc->mld_npend) {
		if (i >= (int)US_ARRAY_LEN(ifc->mld_pend))
			return;   /* bounded: as many as two per address slot */
		ifc->mld_npend++;
	}
	ifc->mld_pend[i].group = *group;
	ifc->mld_pend[i].type = type;
	ifc->mld_pend[i].left = change ? MLD_RV : 1;
	if (!ifc->mld_change_at || at < ifc->mld_change_at)
		ifc->mld_change_at = at;
}

static int joined(const struct us_iface *ifc, const struct ip6_addr *g)
{
	for (int i = 0; i < ifc->mld_n; i++)
		if (ip6_addr_eq(&ifc->mld_groups[i], g))
			return 1;
	return 0;
}

void mld6_sync(struct us_stack *st, struct us_iface *ifc)
{
	if (!ifc->l2 || st->cfg.ipv6_disable)
		return;   /* TUN: no link-layer multicast to listen for */
	struct ip6_addr now_groups[US_MAX_ADDRS6];
	int n = 0;
	if (ifc->up)
		for (int j = 0; j < US_MAX_ADDRS6; j++) {
			if (ifc->addrs6[j].state == A6_FREE)
				continue;
			struct ip6_addr g = ip6_solicited_node(&ifc->addrs6[j].addr);
			int dup = 0;
			for (int k = 0; k < n; k++)
				dup |= ip6_addr_eq(&now_groups[k], &g);
			if (!dup)
				now_groups[n++] = g;
		}
	if (!ifc->up) {
		/* Down: nothing can be sent; routers time the groups out. */
		ifc->mld_n = 0;
		ifc->mld_npend = 0;
		ifc->mld_change_at = ifc->mld_general_at = 0;
		rearm(st, ifc);
		return;
	}
	/* The first report of a change goes at once (RFC 3810 6.1). */
	for (int k = 0; k < n; k++)
		if (!joined(ifc, &now_groups[k]))
			owe(ifc, &now_groups[k], MLD2_CHANGE_TO_EXCLUDE, st->now);
	for (int i = 0; i < ifc->mld_n; i++) {
		int still = 0;
		for (int k = 0; k < n; k++)
			still |= ip6_addr_eq(&ifc->mld_groups[i], &now_groups[k]);
		if (!still)
			owe(ifc, &ifc->mld_groups[i], MLD2_CHANGE_TO_INCLUDE, st->now);
	}
	memcpy(ifc->mld_groups, now_groups, sizeof(now_groups[0]) * (size_t)n);
	ifc->mld_n = (uint8_t)n;
	rearm(st, ifc);
}

static void mld_timer_fn(struct us_timer *t, uint64_t now, void *ctx)
{
	struct us_stack *st = ctx;
	struct us_iface *ifc = iface_of_mld_timer(t);
	if (ifc->mld_general_at && ifc->mld_general_at <= now) {
		/* RFC 3810 6.3: every group we listen to, as current state. */
		uint8_t types[US_MAX_ADDRS6];
		for (int i = 0; i < ifc->mld_n; i++)
			types[i] = MLD2_MODE_IS_EXCLUDE;
		ifc->mld_general_at = 0;
		send_records(st, ifc, types, ifc->mld_groups, ifc->mld_n);
	}
	if (ifc->mld_change_at && ifc->mld_change_at <= now) {
		/* State-change and current-state records go in reports of their own. */
		for (int pass = 0; pass < 2; pass++) {
			uint8_t types[US_ARRAY_LEN(ifc->mld_pend)];
			struct ip6_addr groups[US_ARRAY_LEN(ifc->mld_pend)];
			int n = 0;
			for (int i = 0; i < ifc->mld_npend; i++) {
				int cur = ifc->mld_pend[i].type == MLD2_MODE_IS_EXCLUDE;
				if (cur != pass || !ifc->mld_pend[i].left)
					continue;
				types[n] = ifc->mld_pend[i].type;
				groups[n++] = ifc->mld_pend[i].group;
				ifc->mld_pend[i].left--;
			}
			send_records(st, ifc, types, groups, n);
		}
		int k = 0;
		for (int i = 0; i < ifc->mld_npend; i++)
			if (ifc->mld_pend[i].left)
				ifc->mld_pend[k++] = ifc->mld_pend[i];
		ifc->mld_npend = (uint8_t)k;
		/* Retransmissions at random within the Unsolicited Report Interval. */
		ifc->mld_change_at = k ? now + MS(us_rand_below(&st->rand, MLD_UNSOLICITED_MS) + 1) : 0;
	}
	rearm(st, ifc);
}

void mld6_input(struct us_stack *st, struct pkt *p, const struct icmp6_repr *r)
{
	struct us_iface *ifc = p->iface;
	switch (r->type) {
	case ICMP6_MLD_REPORT:
		STAT_INC(st, icmp6, InGroupMembResponses);
		return;
	case ICMP6_MLD_DONE:
		STAT_INC(st, icmp6, InGroupMembReductions);
		return;
	case ICMP6_MLD2_REPORT:
		STAT_INC(st, icmp6, InMLDv2Reports);
		return;
	default:
		break;
	}
	STAT_INC(st, icmp6, InGroupMembQueries);
	struct ip6_addr src;
	memcpy(src.b, p->src.b, 16);
	struct mld_query q;
	if (!ip6_is_linklocal(&src) || mld_query_parse(r, r->payload_len + 8, &q) < 0 ||
	    (!ip6_is_unspecified(&q.group) && !ip6_is_mcast(&q.group))) {
		STAT_INC(st, icmp6, InBadMLD);
		return;
	}
	if (!ifc || !ifc->l2 || !ifc->up || st->cfg.ipv6_disable)
		return;
	if (q.version == 1)
		ifc->mld_v1_until = st->now + MLD_V1_PRESENT;
	/* RFC 3810 6.2: answer after a random delay within the Maximum
	 * Response Delay, unless a general answer is due sooner. */
	uint64_t at = st->now + MS(us_rand_below(&st->rand, q.max_resp_ms ? q.max_resp_ms : 1));
	if (ifc->mld_general_at && ifc->mld_general_at <= at)
		return;
	if (ip6_is_unspecified(&q.group))
		ifc->mld_general_at = at;
	else if (joined(ifc, &q.group))
		owe(ifc, &q.group, MLD2_MODE_IS_EXCLUDE, at);
	rearm(st, ifc);
}

void mld6_iface_init(struct us_iface *ifc) { timer_init(&ifc->mld_timer, mld_timer_fn); }

void mld6_iface_destroy(struct us_stack *st, struct us_iface *ifc) { timer_cancel(&st->timers, &ifc->mld_timer); }
