/* IPv6 output: route and source (RFC 6724 basics, net/iface.c), the
 * header, fragments when the packet exceeds the path MTU (only the source
 * fragments: RFC 8200 4.5; never below 1280 and never an atomic fragment:
 * RFC 8021), then the neighbour layer (NDP). Packets to our own addresses
 * loop back through the input path. */
#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "link/link.h"
#include "net/iface.h"
#include "net/ip.h"
#include "net/ipv6.h"
#include "net/neigh.h"
#include "net/route.h"
#include "stack.h"
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/ip6ext.h"
#include "wire/ipv6.h"

static int push_header(struct us_stack *st, struct pkt *p, const struct ip6_addr *src, const struct ip6_addr *dst,
		       uint8_t proto, uint8_t hops, uint8_t tclass)
{
	uint32_t plen = p->len;
	uint8_t *h = pkt_push(p, IPV6_HDR_LEN);
	if (!h) {
		STAT_INC(st, ip6, OutDiscards);
		pkt_free(&st->pool, p);
		return -ENOBUFS;
	}
	struct ipv6_repr r = {.src = *src, .dst = *dst, .tclass = tclass, .flow = 0,
			      .payload_len = (uint16_t)plen, .next_hdr = proto, .hop_limit = hops};
	ipv6_emit(&r, h);
	return 0;
}

static uint32_t frag_id(struct us_stack *st)
{
	/* RFC 7739: unpredictable identifications. */
	return us_rand_u32(&st->rand);
}

static int emit_fragments(struct us_stack *st, struct pkt *p, const struct ipv6_repr *base, struct us_iface *ifc,
			  const struct us_addr *nexthop, uint32_t mtu)
{
	/* RFC 8200 4.5: each fragment's data a multiple of 8 bytes but the last. */
	uint32_t maxdata = ((mtu - IPV6_HDR_LEN - IP6_FRAG_HDR_LEN) / 8) * 8;
	uint32_t total = p->len, off = 0, id = frag_id(st);
	while (off < total) {
		uint32_t n = US_MIN(maxdata, total - off);
		uint32_t flen = IPV6_HDR_LEN + IP6_FRAG_HDR_LEN + n;
		struct pkt *f = pkt_alloc(&st->pool, flen, PKT_HEADROOM);
		uint8_t *h = f ? pkt_put(f, flen) : NULL;
		if (!h) {
			if (f)
				pkt_free(&st->pool, f);
			STAT_INC(st, ip6, FragFails);
			STAT_INC(st, ip6, OutDiscards);
			pkt_free(&st->pool, p);
			return -ENOBUFS;
		}
		struct ipv6_repr r = *base;
		r.next_hdr = IP6_NH_FRAGMENT;
		r.payload_len = (uint16_t)(IP6_FRAG_HDR_LEN + n);
		ipv6_emit(&r, h);
		struct ip6_frag_repr fr = {.next_hdr = base->next_hdr, .offset = (uint16_t)off, .m = off + n < total,
					   .id = id};
		ip6_frag_emit(&fr, h + IPV6_HDR_LEN);
		memcpy(h + IPV6_HDR_LEN + IP6_FRAG_HDR_LEN, p->data + off, n);
		STAT_INC(st, ip6, FragCreates);
		neigh_output_addr(st, ifc, nexthop, f);
		off += n;
	}
	STAT_INC(st, ip6, FragOKs);
	pkt_free(&st->pool, p);
	return 0;
}

/* A packet built for a device with checksum or segmentation offload has
 * its checksum finished here when it has to be cut into fragments. */
static void finish_csum(struct pkt *p)
{
	int cs = pkt_csum_start(p);
	if (cs < 0)
		return;
	uint16_t c = csum_fold(csum_partial(p->data + cs, p->len - (uint32_t)cs, 0));
	if (c == 0 && p->csum_off == 6)
		c = 0xFFFF;   /* UDP: 0 means no checksum, which IPv6 forbids */
	wr_be16(p->data + cs + p->csum_off, c);
	p->csum_l4 = 0;
}

int ipv6_output(struct us_stack *st, struct pkt *p, const struct ip6_addr *src, const struct ip6_addr *dst,
		uint8_t proto, int hops, uint8_t tclass)
{
	STAT_INC(st, ip6, OutRequests);
	if (p->len > IPV6_MAX_PAYLOAD) {
		STAT_INC(st, ip6, OutDiscards);
		pkt_free(&st->pool, p);
		return -EMSGSIZE;
	}
	int have_src = src && !ip6_is_unspecified(src);
	if (ip6_is_loopback(dst) || iface6_is_local(st, dst)) {
		/* Local delivery: a finished packet into the loopback queue. */
		int rc = push_header(st, p, have_src ? src : dst, dst, proto,
				     (uint8_t)(hops < 0 ? IPV6_DEFAULT_HOPS : hops), tclass);
		if (rc < 0)
			return rc;
		ip_loopback(st, p);
		return 0;
	}
	struct us_rt6_result rt;
	/* p->iface on a packet to send: the zone of a link-scope dst (its
	 * socket's scope id, or the interface a request came in on). */
	if (route6_lookup_oif(st, dst, p->iface ? p->iface->index : 0, &rt) < 0) {
		STAT_INC(st, ip6, OutNoRoutes);
		pkt_free(&st->pool, p);
		return -ENETUNREACH;
	}
	uint32_t lf = rt.iface->link->flags;
	if ((p->gso_size && !(lf & US_LINK_TSO6)) || (p->csum_l4 && !(lf & US_LINK_CSUM))) {
		/* Built for a device the route no longer leaves by. */
		STAT_INC(st, ip6, OutDiscards);
		pkt_free(&st->pool, p);
		return -EMSGSIZE;
	}
	if (ip6_is_mcast(dst))
		STAT_INC(st, ip6, OutMcastPkts);
	if (hops < 0)   /* RFC 4861 6.3.4: the router's Cur Hop Limit, if it gave one */
		hops = rt.iface->hop_limit6 ? rt.iface->hop_limit6 : IPV6_DEFAULT_HOPS;
	struct ipv6_repr r = {.src = have_src ? *src : rt.src, .dst = *dst, .tclass = tclass,
			      .payload_len = (uint16_t)p->len, .next_hdr = proto, .hop_limit = (uint8_t)hops};
	struct us_addr nh = addr_from_v6(rt.nexthop.b);
	if (p->len + IPV6_HDR_LEN > rt.mtu && !p->gso_size) {
		finish_csum(p);
		return emit_fragments(st, p, &r, rt.iface, &nh, rt.mtu);
	}
	int rc = push_header(st, p, &r.src, dst, proto, r.hop_limit, tclass);
	if (rc < 0)
		return rc;
	neigh_output_addr(st, rt.iface, &nh, p);
	return 0;
}

int ipv6_output_if(struct us_stack *st, struct us_iface *ifc, struct pkt *p, const struct ip6_addr *src,
		   const struct ip6_addr *dst, uint8_t proto, uint8_t hops, const uint8_t *dst_mac)
{
	STAT_INC(st, ip6, OutRequests);
	if (ip6_is_mcast(dst))
		STAT_INC(st, ip6, OutMcastPkts);
	int rc = push_header(st, p, src, dst, proto, hops, 0);
	if (rc < 0)
		return rc;
	if (dst_mac && ifc->l2) {
		eth_output(st, ifc, p, dst_mac, ETH_P_IPV6);
		return 0;
	}
	struct us_addr nh = addr_from_v6(dst->b);
	neigh_output_addr(st, ifc, &nh, p);
	return 0;
}
