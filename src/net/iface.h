/* Interfaces (net/iface.c): a device, its addresses, its output queue.
 * Frames enter here from the link layer and leave from here. */
#ifndef US_NET_IFACE_H
#define US_NET_IFACE_H
#include <stdint.h>

#include "stack.h"
#include "wire/ipv6.h"

#define US_MAX_IFACES 8
#define US_MAX_ADDRS 4
#define US_MAX_ADDRS6 6           /* link-local, configured and SLAAC addresses */

struct us_link;

struct us_addr4 {
	uint32_t addr, mask, bcast;   /* host byte order */
	int plen;
};

/* An IPv6 address of an interface. Tentative while DAD runs (RFC 4862
 * 5.4): then it takes no traffic but NS/NA about it. */
enum { A6_FREE = 0, A6_TENTATIVE, A6_PREFERRED };
struct us_addr6 {
	struct ip6_addr addr;
	uint8_t plen;
	uint8_t state;                /* A6_* */
	uint8_t dad_left;             /* DAD probes still to send */
	uint8_t slaac;                /* made from a router advertisement's prefix */
	uint8_t stable;               /* 1 + its RFC 7217 DAD_Counter (stable identifier); 0: not one */
	uint64_t valid_until;         /* ns; 0: forever */
	uint64_t dad_at;              /* ns: the next DAD step */
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
	/* IPv6 (net/nd6.c) */
	struct us_addr6 addrs6[US_MAX_ADDRS6];
	uint32_t mtu6;                /* from an RA's MTU option; 0: the link's */
	uint8_t hop_limit6;           /* from an RA's current hop limit; 0: the default */
	uint8_t rs_left;              /* router solicitations still to send */
	uint8_t ll_done;              /* the link-local address was made */
	uint64_t rs_at;               /* ns: the next router solicitation */
	struct us_timer nd_timer;     /* DAD, router solicitations, address lifetimes */
	/* MLD (net/mld6.c): the groups routers were told of, and what is owed. */
	struct ip6_addr mld_groups[US_MAX_ADDRS6];
	uint8_t mld_n;
	struct {
		struct ip6_addr group;
		uint8_t type;             /* MLD2_* record type */
		uint8_t left;             /* transmissions still to make */
	} mld_pend[2 * US_MAX_ADDRS6];
	uint8_t mld_npend;
	uint64_t mld_change_at;       /* ns: the next report of pending records; 0: none */
	uint64_t mld_general_at;      /* ns: the answer to a general query; 0: none */
	uint64_t mld_v1_until;        /* ns: an MLDv1 querier was heard: report as MLDv1 until then */
	struct us_timer mld_timer;
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

/* One of any interface's addresses (st->local4, kept by us_iface_addr_add). */
static inline int iface_is_local_addr(const struct us_stack *st, uint32_t a)
{
	for (uint32_t i = 0; i < st->n_local4; i++)
		if (st->local4[i] == a)
			return 1;
	return 0;
}
/* Limited or subnet broadcast. Inline: every datagram asks it twice. */
static inline int iface_is_bcast_addr(const struct us_iface *ifc, uint32_t a)
{
	if (a == 0xFFFFFFFFu)
		return 1;
	for (int j = 0; j < ifc->n_addrs; j++)
		if (ifc->addrs[j].plen < 31 && a == ifc->addrs[j].bcast)
			return 1;
	return 0;
}
uint32_t iface_primary_addr(const struct us_iface *ifc);
int iface_on_subnet(const struct us_iface *ifc, uint32_t a);
/* IPv6 addresses. The address slot of a on any interface (preferred
 * or, if tentative_too, tentative), or NULL; *ifc_out is its interface. */
struct us_addr6 *iface6_find(struct us_stack *st, const struct ip6_addr *a, int tentative_too,
			     struct us_iface **ifc_out);
int iface6_is_local(const struct us_stack *st, const struct ip6_addr *a);   /* a preferred address, any iface */
/* Is a multicast group this interface listens to: ff02::1, ff01::1, the
 * solicited-node group of one of its addresses (tentative ones too). */
int iface6_in_group(const struct us_iface *ifc, const struct ip6_addr *a);
/* Is a on the link of ifc: link-local, or in the prefix of one of its addresses. */
int iface6_on_link(const struct us_iface *ifc, const struct ip6_addr *a);
/* RFC 6724 (the basics): the source for dst out of ifc: a preferred
 * address of the same scope, longest common prefix; 0 with *out written or
 * -EADDRNOTAVAIL. */
int iface6_select_src(const struct us_iface *ifc, const struct ip6_addr *dst, struct ip6_addr *out);
/* The IPv6 MTU of ifc (the RA's, within the link's, never below 1280). */
uint32_t iface6_mtu(const struct us_iface *ifc);
/* Add an address (tentative: DAD starts; or preferred if dad is 0).
 * lifetime_s 0: forever. 0, -EEXIST, -ENOSPC, -EINVAL. */
int iface6_addr_add(struct us_stack *st, struct us_iface *ifc, const struct ip6_addr *a, int plen, int dad,
		    int slaac, uint32_t lifetime_s);
void iface6_addr_del(struct us_stack *st, struct us_iface *ifc, struct us_addr6 *a);
/* Queue a finished frame (L2: with Ethernet header) for the device. */
void iface_xmit(struct us_stack *st, struct us_iface *ifc, struct pkt *p);
void iface_flush(struct us_stack *st);
void iface_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p);
/* Prepend an Ethernet header and queue. */
void eth_output(struct us_stack *st, struct us_iface *ifc, struct pkt *p, const uint8_t *dst_mac, uint16_t type);
#endif
