/* Interfaces: addresses, Ethernet input/output and the batched transmit
 * queue flushed once per stack pass. */
#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "stack.h"
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
