/* Interfaces (net/iface.c): a device, its addresses, its output queue.
 * Frames enter here from the link layer and leave from here. */
#ifndef US_NET_IFACE_H
#define US_NET_IFACE_H
#include <stdint.h>

#include "stack.h"

#define US_MAX_IFACES 8
#define US_MAX_ADDRS 4

struct us_link;

struct us_addr4 {
	uint32_t addr, mask, bcast;   /* host byte order */
	int plen;
};

struct us_iface {
	int index;                    /* 1-based; 0 = slot unused */
	int up;
	struct us_link *link;
	uint32_t mtu;
	uint8_t mac[6];
	int l2;                       /* Ethernet framing (TAP, mem) vs bare IP (TUN) */
	struct us_addr4 addrs[US_MAX_ADDRS];
	int n_addrs;
	struct pkt_queue txq;         /* frames ready for the device */
};

int iface_init(struct us_stack *st);
/* Releases what the interfaces hold and closes their links. */
void iface_destroy(struct us_stack *st);

static inline struct us_iface *iface_get(struct us_stack *st, int ifindex)
{
	if (ifindex < 1 || ifindex > US_MAX_IFACES || !st->ifaces[ifindex - 1].index)
		return NULL;
	return &st->ifaces[ifindex - 1];
}

int iface_is_local_addr(const struct us_stack *st, uint32_t a);           /* any iface */
int iface_is_bcast_addr(const struct us_iface *ifc, uint32_t a);          /* limited or subnet bcast */
uint32_t iface_primary_addr(const struct us_iface *ifc);
int iface_on_subnet(const struct us_iface *ifc, uint32_t a);
/* Queue a finished frame (L2: with Ethernet header) for the device. */
void iface_xmit(struct us_stack *st, struct us_iface *ifc, struct pkt *p);
void iface_flush(struct us_stack *st);
void iface_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p);
/* Prepend an Ethernet header and queue. */
void eth_output(struct us_stack *st, struct us_iface *ifc, struct pkt *p, const uint8_t *dst_mac, uint16_t type);
#endif
