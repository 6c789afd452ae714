/* Interfaces: addresses, Ethernet input/output and the batched transmit
 * queue flushed once per stack pass. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "stack.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "net/neigh.h"
#include "net/route.h"
#include "link/link.h"
#include "wire/eth.h"
#include "wire/ipv4.h"

int iface_is_local_addr(const struct us_stack *st, uint32_t a)
{
	for (int i = 0; i < US_MAX_IFACES; i++) {
		const struct us_iface *ifc = &st->ifaces[i];
		if (!ifc->index)
			continue;
		for (int j = 0; j < ifc->n_addrs; j++)
			if (ifc->addrs[j].addr == a)
				return 1;
	}
	return 0;
}

int iface_is_bcast_addr(const struct us_iface *ifc, uint32_t a)
{
	if (a == 0xFFFFFFFFu)
		return 1;
	for (int j = 0; j < ifc->n_addrs; j++)
		if (ifc->addrs[j].plen < 31 && a == ifc->addrs[j].bcast)
			return 1;
	return 0;
}

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
		memset(ifc, 0, sizeof(*ifc));
		ifc->index = i + 1;
		ifc->link = link;
		ifc->mtu = link->mtu ? link->mtu : 1500;
		ifc->l2 = (link->flags & US_LINK_L2) != 0;
		memcpy(ifc->mac, link->hwaddr, 6);
		pktq_init(&ifc->txq);
		link->pool = &st->pool;
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
	return -EAFNOSUPPORT;   /* IPv6: not yet */
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
	ifc->addrs[ifc->n_addrs++] = (struct us_addr4){a, mask, (a & mask) | ~mask, plen};
	return route_insert(st, a & mask, plen, 0, ifindex);
}

int us_iface_up(struct us_stack *st, int ifindex)
{
	struct us_iface *ifc = iface_get(st, ifindex);
	if (!ifc)
		return -ENODEV;
	ifc->up = 1;
	arp_send_gratuitous(st, ifc);
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

