/* Interfaces: addresses, Ethernet input/output and the batched transmit
 * queue flushed once per stack pass. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "stack.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "net/neigh.h"
#include "net/route.h"
#include "link/link.h"
#include "wire/eth.h"
#include "wire/ipv4.h"

_Static_assert(US_LOCAL4_MAX >= US_MAX_IFACES * US_MAX_ADDRS, "st->local4 holds every address");

uint32_t iface_primary_addr(const struct us_iface *ifc)
{
	return ifc->n_addrs ? ifc->addrs[0].addr : 0;
}

int iface_on_subnet(const struct us_iface *ifc, uint32_t a)
{
	for (int j = 0; j < ifc->n_addrs; j++)
		if ((a & ifc->addrs[j].mask) == (ifc->addrs[j].addr & ifc->addrs[j].mask))
			return 1;
	return 0;
}

/* ---- IPv6 addresses ---- */

struct us_addr6 *iface6_find(struct us_stack *st, const struct ip6_addr *a, int tentative_too,
			     struct us_iface **ifc_out)
{
	for (int i = 0; i < US_MAX_IFACES; i++) {
		struct us_iface *ifc = &st->ifaces[i];
		if (!ifc->index)
			continue;
		for (int j = 0; j < US_MAX_ADDRS6; j++) {
			struct us_addr6 *x = &ifc->addrs6[j];
			if (x->state == A6_FREE || (x->state == A6_TENTATIVE && !tentative_too))
				continue;
			if (ip6_addr_eq(&x->addr, a)) {
				if (ifc_out)
					*ifc_out = ifc;
				return x;
			}
		}
	}
	return NULL;
}

int iface6_is_local(const struct us_stack *st, const struct ip6_addr *a)
{
	return iface6_find((struct us_stack *)st, a, 0, NULL) != NULL;
}

int iface6_in_group(const struct us_iface *ifc, const struct ip6_addr *a)
{
	static const struct ip6_addr node_local_all = {{0xff, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
	if (ip6_is_all_nodes(a) || ip6_addr_eq(a, &node_local_all))
		return 1;
	if (!ip6_is_solicited_node(a))
		return 0;
	for (int j = 0; j < US_MAX_ADDRS6; j++) {
		const struct us_addr6 *x = &ifc->addrs6[j];
		if (x->state == A6_FREE)
			continue;
		struct ip6_addr g = ip6_solicited_node(&x->addr);
		if (ip6_addr_eq(&g, a))
			return 1;
	}
	return 0;
}

int iface6_on_link(const struct us_iface *ifc, const struct ip6_addr *a)
{
	if (ip6_is_linklocal(a))
		return 1;
	for (int j = 0; j < US_MAX_ADDRS6; j++) {
		const struct us_addr6 *x = &ifc->addrs6[j];
		if (x->state != A6_FREE && ip6_prefix_eq(&x->addr, a, x->plen))
			return 1;
	}
	return 0;
}

static unsigned common_prefix(const struct ip6_addr *a, const struct ip6_addr *b)
{
	unsigned n = 0;
	for (int i = 0; i < 16; i++) {
		uint8_t d = a->b[i] ^ b->b[i];
		if (!d) {
			n += 8;
			continue;
		}
		while (!(d & 0x80)) {
			d <<= 1;
			n++;
		}
		break;
	}
	return n;
}

int iface6_select_src(const struct us_iface *ifc, const struct ip6_addr *dst, struct ip6_addr *out)
{
	/* RFC 6724 5, rules 2 (appropriate scope) and 8 (longest matching
	 * prefix); rule 3 (avoid deprecated) by taking preferred ones only. */
	uint8_t want = ip6_addr_scope(dst);
	const struct us_addr6 *best = NULL;
	int best_scope_ok = 0;
	unsigned best_len = 0;
	for (int j = 0; j < US_MAX_ADDRS6; j++) {
		const struct us_addr6 *x = &ifc->addrs6[j];
		if (x->state != A6_PREFERRED)
			continue;
		uint8_t sc = ip6_addr_scope(&x->addr);
		int scope_ok = sc >= want;
		unsigned len = common_prefix(&x->addr, dst);
		if (!best || (scope_ok && !best_scope_ok) ||
		    (scope_ok == best_scope_ok && (scope_ok ? sc < ip6_addr_scope(&best->addr) ||
							      (sc == ip6_addr_scope(&best->addr) && len > best_len)
							: sc > ip6_addr_scope(&best->addr)))) {
			best = x;
			best_scope_ok = scope_ok;
			best_len = len;
		}
	}
	if (!best)
		return -EADDRNOTAVAIL;
	*out = best->addr;
	return 0;
}

uint32_t iface6_mtu(const struct us_iface *ifc)
{
	uint32_t m = ifc->mtu;
	if (ifc->mtu6 && ifc->mtu6 < m)
		m = ifc->mtu6;
	return m < IPV6_MIN_MTU ? IPV6_MIN_MTU : m;
}

int iface6_addr_add(struct us_stack *st, struct us_iface *ifc, const struct ip6_addr *a, int plen, int dad,
		    int slaac, uint32_t lifetime_s)
{
	if (st->cfg.ipv6_disable)
		return -EAFNOSUPPORT;
	if (plen < 1 || plen > 128 || ip6_is_unspecified(a) || ip6_is_mcast(a) || ip6_is_loopback(a) ||
	    ip6_is_v4mapped(a))
		return -EINVAL;
	struct us_addr6 *slot = NULL;
	for (int j = 0; j < US_MAX_ADDRS6; j++) {
		struct us_addr6 *x = &ifc->addrs6[j];
		if (x->state != A6_FREE && ip6_addr_eq(&x->addr, a))
			return -EEXIST;
		if (x->state == A6_FREE && !slot)
			slot = x;
	}
	if (!slot)
		return -ENOSPC;
	int rc = route6_insert(st, a, plen, NULL, ifc->index, 0);
	if (rc < 0)
		return rc;
	slot->addr = *a;
	slot->plen = (uint8_t)plen;
	slot->slaac = (uint8_t)slaac;
	slot->valid_until = lifetime_s ? st->now + (uint64_t)lifetime_s * 1000000000ull : 0;
	if (st->cfg.ipv6_no_dad)
		dad = 0;
	slot->dad_left = dad ? 1 : 0;   /* RFC 4862 5.1: DupAddrDetectTransmits 1 */
	slot->state = dad ? A6_TENTATIVE : A6_PREFERRED;
	struct us_addr ua = addr_from_v6(a->b);
	link_addr(ifc->link, &ua, 1);
	if (dad)
		nd6_addr_added(st, ifc);
	mld6_sync(st, ifc);   /* its solicited-node group, before DAD probes for it */
	return 0;
}

void iface6_addr_del(struct us_stack *st, struct us_iface *ifc, struct us_addr6 *a)
{
	/* Its prefix route goes unless another address holds the prefix. */
	int shared = 0;
	for (int j = 0; j < US_MAX_ADDRS6; j++) {
		struct us_addr6 *x = &ifc->addrs6[j];
		if (x != a && x->state != A6_FREE && x->plen == a->plen && ip6_prefix_eq(&x->addr, &a->addr, a->plen))
			shared = 1;
	}
	if (!shared)
		route6_delete(st, &a->addr, a->plen);
	memset(a, 0, sizeof(*a));
	mld6_sync(st, ifc);
}

static void flush_one(struct us_stack *st, struct us_iface *ifc)
{
	struct pkt *batch[US_RX_BATCH];
	while (ifc->txq.n) {
		int n = 0;
		while (n < US_RX_BATCH && ifc->txq.n)
			batch[n++] = pktq_pop(&ifc->txq);
		int sent = link_send(ifc->link, batch, n, st->now);
		STAT_ADD(st, link, OutFrames, (uint64_t)(sent > 0 ? sent : 0));
		if (sent < n)
			STAT_ADD(st, link, OutDrops, (uint64_t)(n - (sent > 0 ? sent : 0)));
	}
}

void iface_xmit(struct us_stack *st, struct us_iface *ifc, struct pkt *p)
{
	p->iface = ifc;
	pktq_push(&ifc->txq, p);
	/* A full batch goes out at once: the device starts on it while we
	 * build the next, and a pass that sends a lot (TSO super-frames)
	 * never holds more than a batch of buffers. */
	if (ifc->txq.n >= US_RX_BATCH)
		flush_one(st, ifc);
}

void iface_flush(struct us_stack *st)
{
	for (int i = 0; i < US_MAX_IFACES; i++)
		if (st->ifaces[i].index)
			flush_one(st, &st->ifaces[i]);
}

void eth_output(struct us_stack *st, struct us_iface *ifc, struct pkt *p, const uint8_t *dst_mac, uint16_t type)
{
	uint8_t *h = pkt_push(p, ETH_HDR_LEN);
	if (!h) {
		STAT_INC(st, link, OutErrors);
		pkt_free(&st->pool, p);
		return;
	}
	struct eth_repr e;
	memcpy(e.dst, dst_mac, ETH_ALEN);
	memcpy(e.src, ifc->mac, ETH_ALEN);
	e.type = type;
	eth_emit(&e, h);
	iface_xmit(st, ifc, p);
}

void iface_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p)
{
	p->iface = ifc;
	STAT_INC(st, link, InFrames);
	if (!ifc->up)
		goto drop;
	if (!ifc->l2) {
		/* TUN: a bare IP packet; the version nibble picks the protocol. */
		if (p->len < 1)
			goto runt;
		if ((p->data[0] >> 4) == 4) {
			ipv4_input(st, ifc, p);
			return;
		}
		if ((p->data[0] >> 4) == 6 && !st->cfg.ipv6_disable) {
			ipv6_input(st, ifc, p);
			return;
		}
		STAT_INC(st, link, InUnknownType);
		goto drop;
	}
	struct eth_repr e;
	int rc = eth_parse(p->data, p->len, &e);
	if (rc == -EINVAL)
		goto runt;
	if (rc < 0) {
		STAT_INC(st, link, InUnknownType);
		goto drop;
	}
	if (e.has_vlan) {
		/* We are not VLAN-aware: a tagged frame is not for this interface. */
		STAT_INC(st, link, InVlan);
		goto drop;
	}
	if (eth_is_mcast(e.dst)) {
		p->flags |= PKT_F_BCAST;
	} else if (memcmp(e.dst, ifc->mac, ETH_ALEN) != 0) {
		STAT_INC(st, link, InNotForUs);
		goto drop;
	}
	pkt_pull(p, e.hdr_len);
	switch (e.type) {
	case ETH_P_IPV4:
		ipv4_input(st, ifc, p);
		return;
	case ETH_P_ARP:
		arp_input(st, ifc, p);
		return;
	case ETH_P_IPV6:
		if (!st->cfg.ipv6_disable) {
			ipv6_input(st, ifc, p);
			return;
		}
		STAT_INC(st, link, InUnknownType);   /* not spoken: an unknown type */
		goto drop;
	default:
		STAT_INC(st, link, InUnknownType);
		goto drop;
	}
runt:
	STAT_INC(st, link, InRunts);
drop:
	pkt_free(&st->pool, p);
}

/* ---- the table and the public calls ---- */

int iface_init(struct us_stack *st)
{
	st->ifaces = calloc(US_MAX_IFACES, sizeof(*st->ifaces));
	return st->ifaces ? 0 : -ENOMEM;
}

void iface_destroy(struct us_stack *st)
{
	if (!st->ifaces)
		return;
	for (int i = 0; i < US_MAX_IFACES; i++) {
		struct us_iface *ifc = &st->ifaces[i];
		if (!ifc->index)
			continue;
		nd6_iface_destroy(st, ifc);
		mld6_iface_destroy(st, ifc);
		pktq_purge(&st->pool, &ifc->txq);
		us_link_close(ifc->link);
	}
	free(st->ifaces);
	st->ifaces = NULL;
}

int us_iface_add(struct us_stack *st, struct us_link *link)
{
	if (!link)
		return -EINVAL;
	for (int i = 0; i < US_MAX_IFACES; i++) {
		struct us_iface *ifc = &st->ifaces[i];
		if (ifc->index)
			continue;
		int rc = link_attach(link, &st->pool);
		if (rc < 0)
			return rc;
		memset(ifc, 0, sizeof(*ifc));
		ifc->index = i + 1;
		ifc->link = link;
		ifc->mtu = link->mtu ? link->mtu : 1500;
		ifc->l2 = (link->flags & US_LINK_L2) != 0;
		memcpy(ifc->mac, link->hwaddr, 6);
		pktq_init(&ifc->txq);
		nd6_iface_init(ifc);
		mld6_iface_init(ifc);
		return ifc->index;
	}
	return -ENOSPC;
}

int us_iface_addr_add_sa(struct us_stack *st, int ifindex, const struct sockaddr *a, int plen)
{
	if (!a)
		return -EINVAL;
	if (a->sa_family == AF_INET)
		return us_iface_addr_add(st, ifindex, ((const struct sockaddr_in *)a)->sin_addr, plen);
	if (a->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	struct us_iface *ifc = iface_get(st, ifindex);
	if (!ifc)
		return -ENODEV;
	struct ip6_addr a6;
	memcpy(a6.b, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
	/* DAD only where there is a link to detect duplicates on (RFC 4862
	 * 5.4: not on a point-to-point TUN, which the kernel sees as NOARP). */
	return iface6_addr_add(st, ifc, &a6, plen, ifc->l2, 0, 0);
}

int us_iface_addr_foreach(struct us_stack *st, us_addr_visit_fn fn, void *arg)
{
	int n = 0;
	for (int i = 1; i <= US_MAX_IFACES; i++) {
		struct us_iface *ifc = iface_get(st, i);
		if (!ifc)
			continue;
		for (int j = 0; j < ifc->n_addrs; j++) {
			struct us_addr_info ai;
			memset(&ai, 0, sizeof(ai));
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ai.addr;
			s4->sin_family = AF_INET;
			s4->sin_addr.s_addr = htonl(ifc->addrs[j].addr);
			ai.ifindex = i;
			ai.prefix_len = ifc->addrs[j].plen;
			n++;
			if (fn)
				fn(&ai, arg);
		}
		for (int j = 0; j < US_MAX_ADDRS6; j++) {
			const struct us_addr6 *x = &ifc->addrs6[j];
			if (x->state == A6_FREE)
				continue;
			struct us_addr_info ai;
			memset(&ai, 0, sizeof(ai));
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ai.addr;
			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, x->addr.b, 16);
			if (ip6_is_linklocal(&x->addr))
				s6->sin6_scope_id = (uint32_t)i;
			ai.ifindex = i;
			ai.prefix_len = x->plen;
			ai.flags = (x->state == A6_TENTATIVE ? US_ADDR_TENTATIVE : 0) | (x->slaac ? US_ADDR_SLAAC : 0) |
				   (x->stable ? US_ADDR_STABLE : 0);
			if (x->valid_until)
				ai.valid_s = x->valid_until > st->now
						     ? (uint32_t)((x->valid_until - st->now + 999999999ull) / 1000000000ull)
						     : 1;   /* expired, not yet removed */
			n++;
			if (fn)
				fn(&ai, arg);
		}
	}
	return n;
}

int us_iface_addr_add(struct us_stack *st, int ifindex, struct in_addr addr, int plen)
{
	struct us_iface *ifc = iface_get(st, ifindex);
	if (!ifc)
		return -ENODEV;
	if (plen < 0 || plen > 32)
		return -EINVAL;
	uint32_t a = ntohl(addr.s_addr);
	if (!a || (a >> 28) == 0xE)
		return -EINVAL;
	if (ifc->n_addrs >= US_MAX_ADDRS)
		return -ENOSPC;
	uint32_t mask = plen ? 0xFFFFFFFFu << (32 - plen) : 0;
	int rc = route_insert(st, a & mask, plen, 0, ifindex);
	if (rc < 0)
		return rc;
	ifc->addrs[ifc->n_addrs++] = (struct us_addr4){a, mask, (a & mask) | ~mask, plen};
	st->local4[st->n_local4++] = a;
	struct us_addr ua = addr_from_v4(a);
	link_addr(ifc->link, &ua, 1);   /* devices that steer traffic by address */
	return rc;
}

int us_iface_up(struct us_stack *st, int ifindex)
{
	struct us_iface *ifc = iface_get(st, ifindex);
	if (!ifc)
		return -ENODEV;
	ifc->up = 1;
	arp_send_gratuitous(st, ifc);
	nd6_iface_up(st, ifc);
	iface_flush(st);
	return 0;
}

int us_iface_set_mtu(struct us_stack *st, int ifindex, uint32_t mtu)
{
	struct us_iface *ifc = iface_get(st, ifindex);
	if (!ifc)
		return -ENODEV;
	if (mtu < 68 || mtu > 65535)
		return -EINVAL;
	ifc->mtu = mtu;
	return 0;
}

