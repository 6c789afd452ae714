/* ARP and the neighbour cache (RFC 826, RFC 1122 2.3.2, states after
 * Linux's neighbour code): a fixed-size hash table with LRU eviction,
 * a bounded queue of packets per unresolved entry, retries, refresh of
 * stale entries by unicast probes, and failure reported to local senders
 * as ICMP host unreachable. Nothing a peer sends can grow it. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

#include "stack.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "net/neigh.h"
#include "wire/arp.h"
#include "wire/eth.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "net/ipv6.h"
#include "wire/icmp6.h"

#define NS(ms) ((uint64_t)(ms) * 1000000ull)
#define ARP_RETRANS NS(1000)        /* RFC 1122: at most one request per second */
#define ARP_MAX_PROBES 3
#define ARP_REACHABLE NS(30000)
#define ARP_DELAY NS(5000)
#define ARP_GC_STALE NS(60000)
#define ARP_LOCKTIME NS(1000)       /* ignore a changed MAC within this of a confirmation */
#define ARP_DEFEND_INTERVAL NS(10000) /* RFC 5227 DEFEND_INTERVAL */
#define NEIGH_BUCKETS 256
#define NEIGH_QUEUE_BYTES 212992u

/* N_PERMANENT: set by us_neigh_add; never aged, evicted or changed by ARP. */
enum { N_FREE = 0, N_INCOMPLETE, N_REACHABLE, N_STALE, N_DELAY, N_PROBE, N_PERMANENT };

struct neigh_entry {
	struct us_timer timer;      /* first: container_of by cast */
	int32_t next;               /* hash chain */
	struct us_addr ip;          /* either family: ARP or NDP resolves it */
	int ifindex;
	uint8_t state, probes;
	uint8_t mac[6];
	uint64_t confirmed, last_used;
	struct pkt_queue q;
};

struct neigh_table {
	uint32_t size, used, qmax;
	int32_t buckets[NEIGH_BUCKETS];
	uint64_t last_defend;
	struct neigh_entry e[];
};

static uint32_t bucket_of(const struct us_addr *ip, int ifindex)
{
	uint32_t h = (ip->w[0] ^ ip->w[1] ^ ip->w[2] ^ ip->w[3]) * 2654435761u ^ (uint32_t)ifindex;
	return (h >> 16) % NEIGH_BUCKETS;
}

static void neigh_timer_fn(struct us_timer *t, uint64_t now, void *ctx);
static int neigh_add_permanent(struct us_stack *st, int ifindex, const struct us_addr *a, const uint8_t mac[6]);

int neigh_init(struct us_stack *st)
{
	uint32_t n = st->cfg.neigh_entries;
	struct neigh_table *t = calloc(1, sizeof(*t) + n * sizeof(struct neigh_entry));
	if (!t)
		return -ENOMEM;
	t->size = n;
	t->qmax = st->cfg.neigh_queue;
	for (int i = 0; i < NEIGH_BUCKETS; i++)
		t->buckets[i] = -1;
	for (uint32_t i = 0; i < n; i++) {
		timer_init(&t->e[i].timer, neigh_timer_fn);
		pktq_init(&t->e[i].q);
	}
	st->neigh = t;
	return 0;
}

void neigh_destroy(struct us_stack *st)
{
	struct neigh_table *t = st->neigh;
	if (!t)
		return;
	for (uint32_t i = 0; i < t->size; i++) {
		timer_cancel(&st->timers, &t->e[i].timer);
		pktq_purge(&st->pool, &t->e[i].q);
	}
	free(t);
	st->neigh = NULL;
}

static struct neigh_entry *find(struct neigh_table *t, int ifindex, const struct us_addr *ip)
{
	for (int32_t i = t->buckets[bucket_of(ip, ifindex)]; i >= 0; i = t->e[i].next)
		if (addr_eq(&t->e[i].ip, ip) && t->e[i].ifindex == ifindex)
			return &t->e[i];
	return NULL;
}

static void entry_free(struct us_stack *st, struct neigh_entry *e)
{
	struct neigh_table *t = st->neigh;
	int32_t idx = (int32_t)(e - t->e);
	int32_t *pp = &t->buckets[bucket_of(&e->ip, e->ifindex)];
	while (*pp >= 0 && *pp != idx)
		pp = &t->e[*pp].next;
	if (*pp == idx)
		*pp = e->next;
	timer_cancel(&st->timers, &e->timer);
	STAT_ADD(st, arp, QueueDrops, e->q.n);
	pktq_purge(&st->pool, &e->q);
	e->state = N_FREE;
	t->used--;
}

static struct neigh_entry *entry_new(struct us_stack *st, int ifindex, const struct us_addr *ip)
{
	struct neigh_table *t = st->neigh;
	struct neigh_entry *e = NULL;
	if (t->used < t->size) {
		for (uint32_t i = 0; i < t->size; i++)
			if (t->e[i].state == N_FREE) {
				e = &t->e[i];
				break;
			}
	} else {
		/* Full: evict the least recently used, resolved entries first. */
		struct neigh_entry *lru = NULL, *lru_inc = NULL;
		for (uint32_t i = 0; i < t->size; i++) {
			struct neigh_entry *c = &t->e[i];
			if (c->state == N_PERMANENT)
				continue;
			struct neigh_entry **slot = c->state == N_INCOMPLETE ? &lru_inc : &lru;
			if (!*slot || c->last_used < (*slot)->last_used)
				*slot = c;
		}
		e = lru ? lru : lru_inc;
		if (!e)
			return NULL;   /* every entry permanent */
		STAT_INC(st, arp, CacheEvictions);
		entry_free(st, e);
	}
	if (!e)
		return NULL;
	uint32_t b = bucket_of(ip, ifindex);
	e->ip = *ip;
	e->ifindex = ifindex;
	e->probes = 0;
	e->confirmed = 0;
	e->last_used = st->now;
	e->next = t->buckets[b];
	t->buckets[b] = (int32_t)(e - t->e);
	t->used++;
	return e;
}

static void arp_send(struct us_stack *st, struct us_iface *ifc, uint16_t op, const uint8_t *dst_mac,
		     uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	/* Pad to the 60-byte Ethernet minimum: 14 + 46. */
	struct pkt *p = pkt_alloc(&st->pool, 46, PKT_HEADROOM);
	if (!p) {
		STAT_INC(st, link, OutErrors);
		return;
	}
	uint8_t *b = pkt_put(p, 46);
	if (!b) {
		STAT_INC(st, link, OutErrors);
		pkt_free(&st->pool, p);
		return;
	}
	memset(b, 0, 46);
	struct arp_repr a = {.op = op, .spa = spa, .tpa = tpa};
	memcpy(a.sha, ifc->mac, 6);
	memcpy(a.tha, tha, 6);
	arp_emit(&a, b);
	eth_output(st, ifc, p, dst_mac, ETH_P_ARP);
}

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t zero_mac[6] = {0};

static void send_request(struct us_stack *st, struct neigh_entry *e, int unicast)
{
	struct us_iface *ifc = iface_get(st, e->ifindex);
	if (!ifc)
		return;
	if (!addr_is_v4(&e->ip)) {
		/* RFC 4861 7.2.2: to the solicited-node group, or unicast for NUD. */
		struct ip6_addr t6;
		memcpy(t6.b, e->ip.b, 16);
		nd6_send_ns(st, ifc, &t6, unicast ? e->mac : NULL, 0);
		return;
	}
	uint32_t ip = addr_v4(&e->ip);
	uint32_t spa = iface_primary_addr(ifc);
	for (int j = 0; j < ifc->n_addrs; j++)
		if ((ip & ifc->addrs[j].mask) == (ifc->addrs[j].addr & ifc->addrs[j].mask))
			spa = ifc->addrs[j].addr;
	STAT_INC(st, arp, OutRequests);
	arp_send(st, ifc, ARP_OP_REQUEST, unicast ? e->mac : bcast_mac, spa, zero_mac, ip);
}

void arp_send_gratuitous(struct us_stack *st, struct us_iface *ifc)
{
	if (!ifc->l2)
		return;
	for (int j = 0; j < ifc->n_addrs; j++) {
		STAT_INC(st, arp, OutGratuitous);
		arp_send(st, ifc, ARP_OP_REQUEST, bcast_mac, ifc->addrs[j].addr, zero_mac, ifc->addrs[j].addr);
	}
}

static void transmit(struct us_stack *st, struct neigh_entry *e, struct pkt *p)
{
	struct us_iface *ifc = iface_get(st, e->ifindex);
	if (!ifc) {
		pkt_free(&st->pool, p);
		return;
	}
	eth_output(st, ifc, p, e->mac, addr_is_v4(&e->ip) ? ETH_P_IPV4 : ETH_P_IPV6);
}

static void resolve_failed(struct us_stack *st, struct neigh_entry *e)
{
	STAT_INC(st, arp, ResolveFails);
	struct pkt *p;
	while ((p = pktq_pop(&e->q))) {
		/* RFC 1122 2.3.2.2: tell the sender; locally, as a host unreachable
		 * (RFC 4861 7.2.2: address unreachable for IPv6). */
		if (addr_is_v4(&e->ip))
			icmp4_notify(st, p->data, p->len, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
		else
			icmp6_notify(st, p->data, p->len, ICMP6_DEST_UNREACH, ICMP6_DU_ADDR, 0);
		pkt_free(&st->pool, p);
	}
	entry_free(st, e);
}

static void neigh_timer_fn(struct us_timer *t, uint64_t now, void *ctx)
{
	struct us_stack *st = ctx;
	struct neigh_entry *e = (struct neigh_entry *)t;
	switch (e->state) {
	case N_INCOMPLETE:
	case N_PROBE:
		if (e->probes >= ARP_MAX_PROBES) {
			resolve_failed(st, e);
			return;
		}
		e->probes++;
		send_request(st, e, e->state == N_PROBE);
		timer_arm(&st->timers, &e->timer, now + ARP_RETRANS);
		return;
	case N_REACHABLE:
		e->state = N_STALE;
		timer_arm(&st->timers, &e->timer, e->confirmed + ARP_GC_STALE);
		return;
	case N_DELAY:
		if (e->confirmed + ARP_DELAY > now) {
			e->state = N_REACHABLE;
			timer_arm(&st->timers, &e->timer, e->confirmed + ARP_REACHABLE);
			return;
		}
		e->state = N_PROBE;
		e->probes = 1;
		send_request(st, e, 1);
		timer_arm(&st->timers, &e->timer, now + ARP_RETRANS);
		return;
	case N_STALE:
		if (e->last_used + ARP_GC_STALE <= now && e->confirmed + ARP_GC_STALE <= now) {
			entry_free(st, e);
			return;
		}
		timer_arm(&st->timers, &e->timer, US_MAX(e->last_used, e->confirmed) + ARP_GC_STALE);
		return;
	default:
		return;
	}
}

/* A confirmed mapping: store it, move to REACHABLE, release waiting packets. */
static void confirm(struct us_stack *st, struct neigh_entry *e, const uint8_t *mac)
{
	memcpy(e->mac, mac, 6);
	e->state = N_REACHABLE;
	e->confirmed = st->now;
	e->probes = 0;
	timer_arm(&st->timers, &e->timer, st->now + ARP_REACHABLE);
	struct pkt *p;
	while ((p = pktq_pop(&e->q)))
		transmit(st, e, p);
}

static int addr_on_iface(const struct us_iface *ifc, uint32_t a)
{
	for (int j = 0; j < ifc->n_addrs; j++)
		if (ifc->addrs[j].addr == a)
			return 1;
	return 0;
}

void arp_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p)
{
	struct arp_repr a;
	if (arp_parse(p->data, p->len, &a) < 0) {
		STAT_INC(st, arp, InMalformed);
		goto drop;
	}
	if (a.op == ARP_OP_REQUEST)
		STAT_INC(st, arp, InRequests);
	else
		STAT_INC(st, arp, InReplies);

	int for_us = addr_on_iface(ifc, a.tpa);
	/* A sender that no host can be: never cached, never answered. */
	if (eth_is_mcast(a.sha) || ipv4_is_bcast(a.spa) || ipv4_is_mcast(a.spa) ||
	    ipv4_is_loopback(a.spa) || iface_is_bcast_addr(ifc, a.spa)) {
		STAT_INC(st, arp, InBogus);
		goto drop;
	}
	if (a.spa == 0) {
		/* RFC 5227 probe: answer if it asks for our address, cache nothing. */
		if (a.op == ARP_OP_REQUEST && for_us) {
			STAT_INC(st, arp, OutReplies);
			arp_send(st, ifc, ARP_OP_REPLY, a.sha, a.tpa, a.sha, a.spa);
		}
		goto drop;
	}
	if (addr_on_iface(ifc, a.spa)) {
		/* Someone else claims our address. Count it and defend at most once
		 * per DEFEND_INTERVAL (RFC 5227 2.4 (b)); never cache it. */
		STAT_INC(st, arp, Conflicts);
		if (!st->neigh->last_defend || st->now - st->neigh->last_defend >= ARP_DEFEND_INTERVAL) {
			st->neigh->last_defend = st->now;
			arp_send_gratuitous(st, ifc);
		}
		goto drop;
	}
	if (!iface_on_subnet(ifc, a.spa)) {
		STAT_INC(st, arp, InBogus);
		goto drop;
	}

	struct us_addr spa = addr_from_v4(a.spa);
	struct neigh_entry *e = find(st->neigh, ifc->index, &spa);
	if (e && e->state == N_PERMANENT) {
		/* configured: ARP does not change it */
	} else if (e) {
		if (e->state != N_INCOMPLETE && memcmp(e->mac, a.sha, 6) != 0 &&
		    st->now - e->confirmed < ARP_LOCKTIME) {
			/* A second answer with another MAC right after a confirmation:
			 * the first one wins (Linux's locktime against ARP races). */
			STAT_INC(st, arp, InBogus);
		} else if (a.op == ARP_OP_REPLY || e->state == N_INCOMPLETE || memcmp(e->mac, a.sha, 6) != 0) {
			confirm(st, e, a.sha);
		} else {
			/* A request from a known host proves it exists but not that it
			 * hears us: refresh the MAC, keep the state machine as it is. */
		}
	} else if (for_us && a.op == ARP_OP_REQUEST) {
		/* RFC 826 merge: a host asking for us will be talked to. */
		e = entry_new(st, ifc->index, &spa);
		if (e) {
			memcpy(e->mac, a.sha, 6);
			e->state = N_STALE;
			e->confirmed = st->now;
			timer_arm(&st->timers, &e->timer, st->now + ARP_GC_STALE);
		}
	} else if (a.op == ARP_OP_REPLY) {
		STAT_INC(st, arp, InUnsolicited);
	}

	if (a.op == ARP_OP_REQUEST && for_us) {
		STAT_INC(st, arp, OutReplies);
		arp_send(st, ifc, ARP_OP_REPLY, a.sha, a.tpa, a.sha, a.spa);
	}
drop:
	pkt_free(&st->pool, p);
}

void neigh_output(struct us_stack *st, struct us_iface *ifc, uint32_t nexthop, struct pkt *p)
{
	struct us_addr a = addr_from_v4(nexthop);
	neigh_output_addr(st, ifc, &a, p);
}

void neigh_output_addr(struct us_stack *st, struct us_iface *ifc, const struct us_addr *nh, struct pkt *p)
{
	if (!ifc->l2) {
		iface_xmit(st, ifc, p);
		return;
	}
	if (!addr_is_v4(nh)) {
		if (nh->b[0] == 0xff) {
			struct ip6_addr g;
			uint8_t m[6];
			memcpy(g.b, nh->b, 16);
			ip6_mcast_mac(&g, m);
			eth_output(st, ifc, p, m, ETH_P_IPV6);
			return;
		}
		goto resolve;
	}
	uint32_t nexthop = addr_v4(nh);
	if (iface_is_bcast_addr(ifc, nexthop)) {
		eth_output(st, ifc, p, bcast_mac, ETH_P_IPV4);
		return;
	}
	if (ipv4_is_mcast(nexthop)) {
		uint8_t m[6] = {0x01, 0x00, 0x5e, (uint8_t)((nexthop >> 16) & 0x7f), (uint8_t)(nexthop >> 8), (uint8_t)nexthop};
		eth_output(st, ifc, p, m, ETH_P_IPV4);
		return;
	}
resolve:;
	struct neigh_entry *e = find(st->neigh, ifc->index, nh);
	if (e && e->state != N_INCOMPLETE) {
		e->last_used = st->now;
		if (e->state == N_STALE) {
			e->state = N_DELAY;
			timer_arm(&st->timers, &e->timer, st->now + ARP_DELAY);
		}
		transmit(st, e, p);
		return;
	}
	if (!e) {
		e = entry_new(st, ifc->index, nh);
		if (!e) {
			STAT_INC(st, arp, QueueDrops);
			pkt_free(&st->pool, p);
			return;
		}
		e->state = N_INCOMPLETE;
		e->probes = 1;
		send_request(st, e, 0);
		timer_arm(&st->timers, &e->timer, st->now + ARP_RETRANS);
	}
	e->last_used = st->now;
	/* Bounded in packets and bytes (Linux: unres_qlen_bytes, sized so a
	 * whole 64 KiB datagram's fragments survive resolution); the oldest
	 * waiting packets make room. */
	while (e->q.n && (e->q.n >= st->neigh->qmax || e->q.bytes + p->len > NEIGH_QUEUE_BYTES)) {
		pkt_free(&st->pool, pktq_pop(&e->q));
		STAT_INC(st, arp, QueueDrops);
	}
	pktq_push(&e->q, p);
}

int us_neigh_add_sa(struct us_stack *st, int ifindex, const struct sockaddr *ip, const uint8_t mac[6])
{
	if (!ip)
		return -EINVAL;
	if (ip->sa_family == AF_INET)
		return us_neigh_add(st, ifindex, ((const struct sockaddr_in *)ip)->sin_addr, mac);
	if (ip->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	struct us_addr a;
	memcpy(a.b, &((const struct sockaddr_in6 *)ip)->sin6_addr, 16);
	struct ip6_addr a6;
	memcpy(a6.b, a.b, 16);
	if (ip6_is_unspecified(&a6) || ip6_is_mcast(&a6) || ip6_is_v4mapped(&a6))
		return -EINVAL;
	return neigh_add_permanent(st, ifindex, &a, mac);
}

int us_neigh_add(struct us_stack *st, int ifindex, struct in_addr ip, const uint8_t mac[6])
{
	uint32_t a = ntohl(ip.s_addr);
	if (!a)
		return -EINVAL;
	struct us_addr ua = addr_from_v4(a);
	return neigh_add_permanent(st, ifindex, &ua, mac);
}

static int neigh_add_permanent(struct us_stack *st, int ifindex, const struct us_addr *a, const uint8_t mac[6])
{
	struct us_iface *ifc = iface_get(st, ifindex);
	if (!ifc)
		return -ENODEV;
	if (!ifc->l2 || eth_is_mcast(mac))
		return -EINVAL;
	struct neigh_entry *e = find(st->neigh, ifindex, a);
	if (!e)
		e = entry_new(st, ifindex, a);
	if (!e)
		return -ENOSPC;
	timer_cancel(&st->timers, &e->timer);
	memcpy(e->mac, mac, 6);
	e->state = N_PERMANENT;
	e->confirmed = st->now;
	struct pkt *p;
	while ((p = pktq_pop(&e->q)))
		transmit(st, e, p);
	return 0;
}

uint32_t neigh_count(const struct us_stack *st)
{
	return st->neigh ? st->neigh->used : 0;
}

int neigh_lookup(const struct us_stack *st, int ifindex, uint32_t ip, uint8_t mac_out[6])
{
	struct us_addr a = addr_from_v4(ip);
	return neigh_lookup_addr(st, ifindex, &a, mac_out);
}

int neigh_lookup_addr(const struct us_stack *st, int ifindex, const struct us_addr *ip, uint8_t mac_out[6])
{
	struct neigh_entry *e = find(st->neigh, ifindex, ip);
	if (!e || e->state == N_INCOMPLETE)
		return -ENOENT;
	memcpy(mac_out, e->mac, 6);
	return 0;
}

void neigh_nd_update(struct us_stack *st, struct us_iface *ifc, const struct ip6_addr *ip, const uint8_t *mac,
		     unsigned flags)
{
	struct us_addr a = addr_from_v6(ip->b);
	struct neigh_entry *e = find(st->neigh, ifc->index, &a);
	if (e && e->state == N_PERMANENT)
		return;   /* configured: NDP does not change it */
	if (!(flags & NEIGH_ND_NA)) {
		/* RFC 4861 7.2.3: an NS (or RS, RA) with a source link-layer
		 * address: a new or changed MAC is STALE, the rest is as it was. */
		if (!mac)
			return;
		if (!e) {
			e = entry_new(st, ifc->index, &a);
			if (!e)
				return;
			e->state = N_INCOMPLETE;
		}
		if (e->state == N_INCOMPLETE || memcmp(e->mac, mac, 6) != 0) {
			int was_incomplete = e->state == N_INCOMPLETE;
			memcpy(e->mac, mac, 6);
			e->state = N_STALE;
			e->probes = 0;
			e->confirmed = st->now;
			timer_arm(&st->timers, &e->timer, st->now + ARP_GC_STALE);
			if (was_incomplete) {
				struct pkt *p;
				while ((p = pktq_pop(&e->q)))
					transmit(st, e, p);
			}
		}
		return;
	}
	/* RFC 4861 7.2.5: an NA. */
	if (!e)
		return;   /* unsolicited for an address we do not track: nothing to do */
	if (e->state == N_INCOMPLETE) {
		if (!mac)
			return;
		if (flags & NEIGH_ND_SOLICITED) {
			confirm(st, e, mac);
			return;
		}
		memcpy(e->mac, mac, 6);
		e->state = N_STALE;
		e->confirmed = st->now;
		timer_arm(&st->timers, &e->timer, st->now + ARP_GC_STALE);
		struct pkt *p;
		while ((p = pktq_pop(&e->q)))
			transmit(st, e, p);
		return;
	}
	int differs = mac && memcmp(e->mac, mac, 6) != 0;
	if (!(flags & NEIGH_ND_OVERRIDE) && differs) {
		/* Not overriding another MAC: at most the entry goes STALE. */
		if (e->state == N_REACHABLE) {
			e->state = N_STALE;
			timer_arm(&st->timers, &e->timer, st->now + ARP_GC_STALE);
		}
		return;
	}
	if (flags & NEIGH_ND_SOLICITED) {
		confirm(st, e, mac ? mac : e->mac);
		return;
	}
	if (differs) {
		memcpy(e->mac, mac, 6);
		e->state = N_STALE;
		timer_arm(&st->timers, &e->timer, st->now + ARP_GC_STALE);
	}
}
