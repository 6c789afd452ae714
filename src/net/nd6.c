/* Neighbor Discovery (RFC 4861) on top of the one neighbour cache
 * (net/neigh.c: ARP and NDP share states, queue and limits): NS answered
 * for our addresses, NA fed to the cache by its solicited and override
 * flags, RAs giving a default router, on-link prefixes, an MTU and SLAAC
 * addresses (RFC 4862 5.5.3); DAD for every address added (RFC 4862 5.4)
 * and router solicitations when an interface comes up, all on one timer
 * per interface. Every message must arrive with hop limit 255. Redirects
 * are counted and ignored. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/bytes.h"
#include "core/rand.h"
#include "net/iface.h"
#include "net/ipv6.h"
#include "net/neigh.h"
#include "net/route.h"
#include "stack.h"
#include "wire/icmp6.h"
#include "wire/nd6.h"

#define NS(ms) ((uint64_t)(ms) * 1000000ull)
#define RETRANS_TIMER NS(1000)          /* RFC 4861 10: RetransTimer */
#define RS_INTERVAL NS(4000)            /* RTR_SOLICITATION_INTERVAL */
#define RS_COUNT 3                      /* MAX_RTR_SOLICITATIONS */
#define RS_MAX_DELAY_MS 1000            /* MAX_RTR_SOLICITATION_DELAY */
#define DAD_MAX_DELAY_MS 200            /* RFC 4862 5.4.2: a random delay before the first probe */
#define TWO_HOURS_S 7200u               /* RFC 4862 5.5.3 (e) */
#define IDGEN_RETRIES 3                 /* RFC 7217 6: new identifiers after a DAD conflict */

static struct us_iface *iface_of_timer(struct us_timer *t)
{
	return (struct us_iface *)(void *)((char *)t - offsetof(struct us_iface, nd_timer));
}

/* Send an NDP message r from src to dst out of ifc (hop limit 255). */
static void nd_send(struct us_stack *st, struct us_iface *ifc, struct nd6_repr *r, const struct ip6_addr *src,
		    const struct ip6_addr *dst, const uint8_t *dst_mac)
{
	uint8_t *b;
	struct pkt *p = icmp6_alloc(st, nd6_len(r), &b);
	if (!p)
		return;
	nd6_emit(r, src, dst, b);
	if (ipv6_output_if(st, ifc, p, src, dst, IP6_NH_ICMPV6, ND6_HOP_LIMIT, dst_mac) == 0)
		STAT_INC(st, icmp6, OutMsgs);
}

void nd6_send_ns(struct us_stack *st, struct us_iface *ifc, const struct ip6_addr *target, const uint8_t *mac,
		 int dad)
{
	struct nd6_repr r;
	memset(&r, 0, sizeof(r));
	r.type = ICMP6_ND_NS;
	r.target = *target;
	struct ip6_addr src = ip6_any;
	if (!dad) {
		/* RFC 4861 7.2.2: a source of ours, with our link-layer address. */
		if (iface6_select_src(ifc, target, &src) < 0)
			return;
		r.opts.sll = ifc->mac;
		r.opts.sll_len = 6;
	}
	struct ip6_addr dst = mac ? *target : ip6_solicited_node(target);
	STAT_INC(st, icmp6, OutNeighborSolicits);
	nd_send(st, ifc, &r, &src, &dst, mac);
}

static void send_na(struct us_stack *st, struct us_iface *ifc, const struct ip6_addr *target,
		    const struct ip6_addr *dst, const uint8_t *dst_mac, uint8_t flags)
{
	struct nd6_repr r;
	memset(&r, 0, sizeof(r));
	r.type = ICMP6_ND_NA;
	r.target = *target;
	r.na_flags = flags;
	r.opts.tll = ifc->mac;
	r.opts.tll_len = 6;
	STAT_INC(st, icmp6, OutNeighborAdvertisements);
	nd_send(st, ifc, &r, target, dst, dst_mac);
}

static void send_rs(struct us_stack *st, struct us_iface *ifc)
{
	struct nd6_repr r;
	memset(&r, 0, sizeof(r));
	r.type = ICMP6_ND_RS;
	struct ip6_addr src = ip6_any;
	/* RFC 4861 6.3.7: from a link-local address with our link-layer
	 * address, or from :: without one while none is usable yet. */
	if (iface6_select_src(ifc, &ip6_all_routers, &src) == 0) {
		r.opts.sll = ifc->mac;
		r.opts.sll_len = 6;
	} else {
		src = ip6_any;
	}
	STAT_INC(st, icmp6, OutRouterSolicits);
	nd_send(st, ifc, &r, &src, &ip6_all_routers, NULL);
}

static void rearm(struct us_stack *st, struct us_iface *ifc)
{
	uint64_t next = 0;
#define EARLIER(t) do { if ((t) && (!next || (t) < next)) next = (t); } while (0)
	for (int j = 0; j < US_MAX_ADDRS6; j++) {
		struct us_addr6 *a = &ifc->addrs6[j];
		if (a->state == A6_TENTATIVE)
			EARLIER(a->dad_at);
		if (a->state != A6_FREE)
			EARLIER(a->valid_until);
	}
	if (ifc->rs_left)
		EARLIER(ifc->rs_at);
#undef EARLIER
	if (next)
		timer_arm(&st->timers, &ifc->nd_timer, next < st->now ? st->now : next);
	else
		timer_cancel(&st->timers, &ifc->nd_timer);
}

static void nd6_timer_fn(struct us_timer *t, uint64_t now, void *ctx)
{
	struct us_stack *st = ctx;
	struct us_iface *ifc = iface_of_timer(t);
	for (int j = 0; j < US_MAX_ADDRS6; j++) {
		struct us_addr6 *a = &ifc->addrs6[j];
		if (a->state != A6_FREE && a->valid_until && a->valid_until <= now) {
			iface6_addr_del(st, ifc, a);   /* RFC 4862 5.5.4: its valid lifetime ran out */
			continue;
		}
		if (a->state != A6_TENTATIVE || !ifc->up || a->dad_at > now)
			continue;
		if (a->dad_left) {
			/* RFC 4862 5.4.2: an NS from :: for the address. */
			a->dad_left--;
			a->dad_at = now + RETRANS_TIMER;
			nd6_send_ns(st, ifc, &a->addr, NULL, 1);
		} else {
			a->state = A6_PREFERRED;   /* no one answered: it is ours */
			a->dad_at = 0;
		}
	}
	if (ifc->up && ifc->rs_left && ifc->rs_at <= now) {
		ifc->rs_left--;
		ifc->rs_at = ifc->rs_left ? now + RS_INTERVAL : 0;
		send_rs(st, ifc);
	}
	rearm(st, ifc);
}

void nd6_iface_init(struct us_iface *ifc) { timer_init(&ifc->nd_timer, nd6_timer_fn); }

void nd6_iface_destroy(struct us_stack *st, struct us_iface *ifc) { timer_cancel(&st->timers, &ifc->nd_timer); }

void nd6_addr_added(struct us_stack *st, struct us_iface *ifc)
{
	for (int j = 0; j < US_MAX_ADDRS6; j++) {
		struct us_addr6 *a = &ifc->addrs6[j];
		if (a->state == A6_TENTATIVE && !a->dad_at)
			a->dad_at = st->now + NS(us_rand_below(&st->rand, DAD_MAX_DELAY_MS) + 1);
	}
	rearm(st, ifc);
}

static int stable_iids(const struct us_stack *st)
{
	for (int i = 0; i < 16; i++)
		if (st->cfg.ipv6_stable_secret[i])
			return 1;
	return 0;
}

/* The address for a 64-bit prefix on ifc, into out. With a stable secret,
 * RFC 7217 5's F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key):
 * SipHash-2-4 (a PRF keyed by the 128-bit secret, 64 bits out: the
 * identifier) over the prefix, the MAC as Net_Iface (no Network_ID) and the
 * counter, from counter on; an identifier RFC 5453 reserves takes the next
 * counter. Returns the counter used, or -1 past IDGEN_RETRIES. Without a
 * secret: the EUI-64 identifier of the MAC (RFC 4862 5.3), counter 0. */
static int make_addr(const struct us_stack *st, const struct us_iface *ifc, const uint8_t prefix[8], int counter,
		     struct ip6_addr *out)
{
	memcpy(out->b, prefix, 8);
	if (!stable_iids(st)) {
		ip6_iid_eui64(ifc->mac, out->b + 8);
		return 0;
	}
	const uint8_t *k = st->cfg.ipv6_stable_secret;
	uint64_t key[2] = {0, 0};
	for (int i = 0; i < 16; i++)
		key[i / 8] |= (uint64_t)k[i] << (8 * (i % 8));
	for (; counter <= IDGEN_RETRIES; counter++) {
		uint8_t in[15];
		memcpy(in, prefix, 8);
		memcpy(in + 8, ifc->mac, 6);
		in[14] = (uint8_t)counter;
		uint64_t h = us_siphash(key, in, sizeof(in));
		for (int i = 0; i < 8; i++)
			out->b[8 + i] = (uint8_t)(h >> (56 - 8 * i));
		if (!ip6_iid_reserved(out->b + 8))
			return counter;
	}
	return -1;
}

/* Adds the generated address for prefix (from counter on: make_addr) with
 * DAD; 0, or a negative errno. */
static int add_generated(struct us_stack *st, struct us_iface *ifc, const uint8_t prefix[8], int counter, int slaac,
			 uint32_t valid_s)
{
	struct ip6_addr a;
	int c = make_addr(st, ifc, prefix, counter, &a);
	if (c < 0)
		return -EADDRINUSE;
	int rc = iface6_addr_add(st, ifc, &a, 64, 1, slaac, valid_s);
	if (rc == 0 && stable_iids(st))
		for (int j = 0; j < US_MAX_ADDRS6; j++)
			if (ifc->addrs6[j].state != A6_FREE && ip6_addr_eq(&ifc->addrs6[j].addr, &a))
				ifc->addrs6[j].stable = (uint8_t)(c + 1);
	return rc;
}

void nd6_iface_up(struct us_stack *st, struct us_iface *ifc)
{
	if (!ifc->l2 || st->cfg.ipv6_disable)
		return;   /* TUN: a point-to-point link without NDP */
	if (!ifc->ll_done) {
		/* RFC 4862 5.3: fe80::/64 with the EUI-64 identifier of the MAC,
		 * or an RFC 7217 stable one. */
		static const uint8_t ll[8] = {0xfe, 0x80};
		ifc->ll_done = 1;
		add_generated(st, ifc, ll, 0, 0, 0);
	}
	if (!st->cfg.ipv6_no_ra) {
		ifc->rs_left = RS_COUNT;
		ifc->rs_at = st->now + NS(us_rand_below(&st->rand, RS_MAX_DELAY_MS) + 1);
	}
	nd6_addr_added(st, ifc);
	mld6_sync(st, ifc);   /* the groups of addresses given before the interface came up */
}

/* The address slot of a on this interface, tentative ones included. */
static struct us_addr6 *own_addr(struct us_iface *ifc, const struct ip6_addr *a)
{
	for (int j = 0; j < US_MAX_ADDRS6; j++)
		if (ifc->addrs6[j].state != A6_FREE && ip6_addr_eq(&ifc->addrs6[j].addr, a))
			return &ifc->addrs6[j];
	return NULL;
}

static void dad_conflict(struct us_stack *st, struct us_iface *ifc, struct us_addr6 *a)
{
	/* RFC 4862 5.4.5: a tentative address someone else has is not
	 * assigned. RFC 7217 6: a stable identifier's next DAD counter gives
	 * another address for the prefix, up to IDGEN_RETRIES times. */
	STAT_INC(st, icmp6, DadConflicts);
	uint8_t prefix[8];
	memcpy(prefix, a->addr.b, 8);
	int next = a->stable, slaac = a->slaac, plen = a->plen;   /* stable: 1 + the counter used */
	uint64_t until = a->valid_until;
	iface6_addr_del(st, ifc, a);   /* a is a free slot from here */
	if (next > 0 && next <= IDGEN_RETRIES && plen == 64 && (!until || until > st->now))
		add_generated(st, ifc, prefix, next, slaac,
			      until ? (uint32_t)((until - st->now + 999999999ull) / 1000000000ull) : 0);
	rearm(st, ifc);
}

static const uint8_t *lla(const uint8_t *p, uint16_t len) { return p && len == 6 ? p : NULL; }

static void ns_input(struct us_stack *st, struct us_iface *ifc, const struct ip6_addr *src,
		     const struct ip6_addr *dst, const struct nd6_repr *r)
{
	(void)dst;
	STAT_INC(st, icmp6, InNeighborSolicits);
	struct us_addr6 *a = own_addr(ifc, &r->target);
	if (!a)
		return;   /* for another node on the link */
	int dad = ip6_is_unspecified(src);
	if (a->state == A6_TENTATIVE) {
		/* RFC 4862 5.4.3: another node's DAD for our tentative address
		 * is a conflict; a resolution of it is not answered. */
		if (dad)
			dad_conflict(st, ifc, a);
		return;
	}
	const uint8_t *mac = lla(r->opts.sll, r->opts.sll_len);
	if (dad) {
		/* RFC 4861 7.2.4: defend to all nodes, not solicited. */
		send_na(st, ifc, &r->target, &ip6_all_nodes, NULL, ND6_NA_OVERRIDE);
		return;
	}
	if (mac)
		neigh_nd_update(st, ifc, src, mac, 0);
	send_na(st, ifc, &r->target, src, mac, ND6_NA_SOLICITED | ND6_NA_OVERRIDE);
}

static int na_input(struct us_stack *st, struct us_iface *ifc, const struct ip6_addr *src, const struct nd6_repr *r)
{
	STAT_INC(st, icmp6, InNeighborAdvertisements);
	struct us_addr6 *a = own_addr(ifc, &r->target);
	if (a) {
		/* RFC 4862 5.4.4: our (tentative) address is someone else's. */
		if (a->state == A6_TENTATIVE)
			dad_conflict(st, ifc, a);
		else
			STAT_INC(st, icmp6, DadConflicts);
		return 0;
	}
	/* An NA about, or from, an address off this link is a spoof. */
	if (!iface6_on_link(ifc, &r->target) || (!ip6_is_unspecified(src) && !iface6_on_link(ifc, src)))
		return -1;
	unsigned f = NEIGH_ND_NA;
	if (r->na_flags & ND6_NA_SOLICITED)
		f |= NEIGH_ND_SOLICITED;
	if (r->na_flags & ND6_NA_OVERRIDE)
		f |= NEIGH_ND_OVERRIDE;
	neigh_nd_update(st, ifc, &r->target, lla(r->opts.tll, r->opts.tll_len), f);
	return 0;
}

static void slaac(struct us_stack *st, struct us_iface *ifc, const struct nd6_prefix *pi)
{
	/* RFC 4862 5.5.3: a 64-bit prefix (with our EUI-64 identifier), not
	 * link-local, preferred lifetime within the valid one. */
	if (!(pi->flags & ND6_PI_AUTO) || pi->len != 64 || !ifc->l2 || ip6_is_linklocal(&pi->prefix) ||
	    pi->preferred > pi->valid || pi->valid == 0)
		return;
	uint32_t valid = pi->valid == ND6_LIFETIME_INFINITE ? 0 : pi->valid;
	/* The address SLAAC made for this prefix (whatever DAD counter it took),
	 * else one configured by hand where SLAAC's would go. */
	struct us_addr6 *x = NULL;
	for (int j = 0; j < US_MAX_ADDRS6 && !x; j++)
		if (ifc->addrs6[j].state != A6_FREE && ifc->addrs6[j].slaac &&
		    !memcmp(ifc->addrs6[j].addr.b, pi->prefix.b, 8))
			x = &ifc->addrs6[j];
	struct ip6_addr a;
	if (!x && make_addr(st, ifc, pi->prefix.b, 0, &a) >= 0)
		x = own_addr(ifc, &a);
	if (x) {
		/* 5.5.3 (e): a valid lifetime is cut below two hours only by an
		 * RA that says more than two hours remain. */
		if (!x->slaac)
			return;
		uint64_t rem = x->valid_until ? (x->valid_until > st->now ? (x->valid_until - st->now) / 1000000000ull : 0)
					      : UINT64_MAX;
		if (!valid)
			x->valid_until = 0;
		else if (valid > TWO_HOURS_S || valid > rem)
			x->valid_until = st->now + (uint64_t)valid * 1000000000ull;
		else if (rem > TWO_HOURS_S)
			x->valid_until = st->now + (uint64_t)TWO_HOURS_S * 1000000000ull;
		rearm(st, ifc);
		return;
	}
	if (add_generated(st, ifc, pi->prefix.b, 0, 1, valid) == 0) {
		STAT_INC(st, icmp6, SlaacAddrs);
		rearm(st, ifc);
	}
}

static void ra_input(struct us_stack *st, struct us_iface *ifc, const struct ip6_addr *src, const struct nd6_repr *r)
{
	STAT_INC(st, icmp6, InRouterAdvertisements);
	if (st->cfg.ipv6_no_ra)
		return;
	const uint8_t *mac = lla(r->opts.sll, r->opts.sll_len);
	if (mac)
		neigh_nd_update(st, ifc, src, mac, 0);
	/* RFC 4861 6.3.4: the router's lifetime makes (or ends) the default route. */
	if (r->router_lifetime)
		route6_insert(st, &ip6_any, 0, src, ifc->index, st->now + (uint64_t)r->router_lifetime * 1000000000ull);
	else
		route6_delete(st, &ip6_any, 0);
	if (r->opts.has_mtu && r->opts.mtu >= IPV6_MIN_MTU && r->opts.mtu <= ifc->mtu)
		ifc->mtu6 = r->opts.mtu;
	if (r->cur_hop_limit)
		ifc->hop_limit6 = r->cur_hop_limit;
	for (int i = 0; i < r->opts.n_prefix; i++) {
		const struct nd6_prefix *pi = &r->opts.prefix[i];
		if ((pi->flags & ND6_PI_ONLINK) && !ip6_is_linklocal(&pi->prefix) && pi->len) {
			if (pi->valid)
				route6_insert(st, &pi->prefix, pi->len, NULL, ifc->index,
					      pi->valid == ND6_LIFETIME_INFINITE ? 0
										 : st->now + (uint64_t)pi->valid * 1000000000ull);
			else
				route6_delete(st, &pi->prefix, pi->len);
		}
		slaac(st, ifc, pi);
	}
}

void nd6_input(struct us_stack *st, struct pkt *p, const struct icmp6_repr *ic)
{
	struct us_iface *ifc = p->iface;
	struct ip6_addr src, dst;
	memcpy(src.b, p->src.b, 16);
	memcpy(dst.b, p->dst.b, 16);
	if (ic->type == ICMP6_ND_REDIRECT) {
		STAT_INC(st, icmp6, InRedirects);   /* a host may ignore them; ustack does */
		return;
	}
	if (ic->type == ICMP6_ND_RS) {
		STAT_INC(st, icmp6, InRouterSolicits);   /* for routers, which ustack is not */
		return;
	}
	if (!ifc || !ifc->l2) {
		STAT_INC(st, icmp6, InBadNd);   /* looped back, or on a link without NDP */
		return;
	}
	/* RFC 4861 6.1.2, 7.1.1, 7.1.2: sent by a node on this link. */
	if (!nd6_hop_limit_ok(p->ip_ttl)) {
		STAT_INC(st, icmp6, InBadHopLimit);
		return;
	}
	struct nd6_repr r;
	if (nd6_parse(ic, &src, &dst, &r) < 0) {
		STAT_INC(st, icmp6, InBadNd);
		STAT_INC(st, icmp6, InErrors);
		return;
	}
	switch (r.type) {
	case ICMP6_ND_NS:
		ns_input(st, ifc, &src, &dst, &r);
		return;
	case ICMP6_ND_NA:
		if (na_input(st, ifc, &src, &r) < 0)
			STAT_INC(st, icmp6, InBadNd);
		return;
	case ICMP6_ND_RA:
		ra_input(st, ifc, &src, &r);
		return;
	default:
		return;
	}
}
