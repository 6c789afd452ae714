/* IPv6 input in the order of RFC 8200 and Linux's ip6_rcv_core: the fixed
 * header, link padding trimmed, source and destination checks, the
 * extension headers by the one bounded walker (wire/ip6ext.c), reassembly
 * (net/frag.c, shared with IPv4), then the one dispatch per protocol that
 * IPv4 uses too. Every drop names its counter. */
#include <errno.h>
#include <string.h>

#include "net/iface.h"
#include "net/ipv6.h"
#include "stack.h"
#include "wire/icmp6.h"
#include "wire/ip6ext.h"
#include "wire/ipv6.h"

static void param_problem(struct us_stack *st, struct pkt *p, uint8_t code, uint32_t ptr)
{
	icmp6_send_error(st, p, ICMP6_PARAM_PROB, code, ptr);
}

/* A destination a transparent socket may take in another host's name: a
 * unicast address beyond this link. Never :: or another of ::/96
 * (unspecified, loopback, the deprecated IPv4-compatible ones, RFC 4291
 * 2.5.5.1) and never a link-local one (fe80::/10: no host beyond the link
 * has it). Multicast and v4-mapped never get here. */
static int tproxy_dst_ok(const struct ip6_addr *a)
{
	static const uint8_t zero12[12] = {0};
	return memcmp(a->b, zero12, sizeof(zero12)) != 0 && !ip6_is_linklocal(a);
}

/* Walk from the given point, then deliver or drop (p->data at the IPv6
 * header, metadata set). */
static void walk_and_deliver(struct us_stack *st, struct pkt *p, struct ip6_ext_walk *w, int rc)
{
	if (rc < 0) {
		/* RFC 8200 4: a header past the end or malformed options, or
		 * past our caps on headers and bytes: dropped as Linux does. */
		STAT_INC(st, ip6, InHdrErrors);
		goto drop;
	}
	if (w->n_unknown_opts)
		STAT_ADD(st, ip6, InOptUnknown, w->n_unknown_opts);
	switch (w->end) {
	case IP6_END_DISCARD:
		STAT_INC(st, ip6, InDiscards);   /* an unknown option of action 01 */
		goto drop;
	case IP6_END_PARAM:
		STAT_INC(st, ip6, InHdrErrors);
		/* RFC 4443 2.4 (e.3): action 11 sends nothing to a multicast destination. */
		if (!(w->pp_code == ICMP6_PP_OPTION && w->opt_act == IP6_OPT_ACT_PARAM_UCAST && (p->flags & PKT_F_BCAST)))
			param_problem(st, p, w->pp_code, w->pp_ptr);
		goto drop;
	case IP6_END_FRAG: {
		STAT_INC(st, ip6, ReasmReqds);
		if (w->frag.offset == 0 && ip6_frag_chain_ok(p->data, p->len, w) != 0) {
			/* RFC 7112 5: the first fragment must hold the whole chain. */
			STAT_INC(st, ip6, InTinyFrags);
			STAT_INC(st, ip6, ReasmFails);
			param_problem(st, p, ICMP6_PP_FIRST_FRAG, 0);
			goto drop;
		}
		struct pkt *d = frag6_input(st, p, w);
		if (!d)
			return;
		STAT_INC(st, ip6, ReasmOKs);
		/* The rest of the chain, past where the fragment header was. */
		struct ip6_ext_walk w2;
		const uint8_t *h = d->data;
		/* The byte that named the fragment header now names what it carried. */
		size_t at = 6, off = IPV6_HDR_LEN;
		uint8_t nh = h[6];
		for (uint8_t i = 0; i + 1 < w->n; i++) {
			at = w->hdr[i].off;
			off = (size_t)w->hdr[i].off + w->hdr[i].len;
			nh = h[at];
		}
		int rc2 = ip6_ext_walk_from(d->data, d->len, off, nh, at, 0, &w2);
		if (rc2 == 0 && w2.end == IP6_END_FRAG) {
			STAT_INC(st, ip6, InHdrErrors);   /* a fragment inside a fragment */
			pkt_free(&st->pool, d);
			return;
		}
		walk_and_deliver(st, d, &w2, rc2);
		return;
	}
	default:
		break;
	}
	if (w->has_frag)
		STAT_INC(st, ip6, InAtomicFrags);   /* RFC 6946: processed as a whole packet */
	uint8_t proto = w->proto;
	if (proto == IP6_NH_NONE) {
		STAT_INC(st, ip6, InDiscards);    /* RFC 8200 4.7: nothing follows */
		goto drop;
	}
	if ((p->flags & PKT_F_NONLOCAL) && proto != IP6_NH_TCP && proto != IP6_NH_UDP && proto != IP6_NH_ICMPV6) {
		STAT_INC(st, ip6, InAddrErrors);   /* not ours, and no transparent socket takes it */
		goto drop;
	}
	const struct us_protosw *ps = stack_protosw6(proto);
	if (!ps || !ps->input) {
		/* RFC 8200 4: an unrecognised next header: parameter problem code 1
		 * pointing at the field that named it. */
		STAT_INC(st, ip6, InUnknownProtos);
		param_problem(st, p, ICMP6_PP_NEXT_HEADER, w->nh_off);
		goto drop;
	}
	p->ip_proto = proto;
	p->l3_off = (uint16_t)(p->data - p->buf);
	pkt_pull(p, w->off);
	STAT_INC(st, ip6, InDelivers);
	ps->input(st, p);
	return;
drop:
	pkt_free(&st->pool, p);
}

void ipv6_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p)
{
	struct ipv6_repr ip;
	STAT_INC(st, ip6, InReceives);
	int rc = ipv6_parse(p->data, p->len, &ip);
	if (rc == -EMSGSIZE) {
		STAT_INC(st, ip6, InTruncatedPkts);
		goto drop;
	}
	if (rc < 0) {
		STAT_INC(st, ip6, InHdrErrors);   /* short, not version 6, or a jumbogram */
		goto drop;
	}
	pkt_trim(p, IPV6_HDR_LEN + ip.payload_len);
	/* RFC 4291 2.7: never from a multicast source; ::1 and v4-mapped
	 * addresses never on the wire (RFC 4291 2.5.3, RFC 4038 4.2). */
	if (ip6_is_mcast(&ip.src) || ip6_is_v4mapped(&ip.src) || ip6_is_v4mapped(&ip.dst) ||
	    (ifc && (ip6_is_loopback(&ip.src) || ip6_is_loopback(&ip.dst)))) {
		STAT_INC(st, ip6, InAddrErrors);
		goto drop;
	}
	if (ip6_is_mcast(&ip.dst)) {
		/* Scope 0 is reserved (RFC 4291 2.7); the groups we are in only. */
		if (!ifc || ip6_mcast_scope(&ip.dst) == 0 || !iface6_in_group(ifc, &ip.dst)) {
			STAT_INC(st, ip6, InAddrErrors);
			goto drop;
		}
		p->flags |= PKT_F_BCAST;
		STAT_INC(st, ip6, InMcastPkts);
	} else if (!ip6_is_loopback(&ip.dst)) {
		struct us_iface *owner = NULL;
		struct us_addr6 *a = iface6_find(st, &ip.dst, 1, &owner);
		if (a && a->state == A6_TENTATIVE) {
			/* RFC 4862 5.4: only NDP for a tentative address (nd6.c checks). */
			p->flags |= PKT_F_TENTATIVE;
		} else if (!a) {
			/* Not ours, and we do not forward; unless a transparent
			 * socket that takes IPv6 (IPV6_TRANSPARENT) takes any
			 * destination routed into a device, as IPv4 input does:
			 * then TCP, UDP and ICMPv6 go up marked (walk_and_deliver
			 * checks which). */
			if (!ifc || !st->n_transparent[1] || !tproxy_dst_ok(&ip.dst)) {
				STAT_INC(st, ip6, InAddrErrors);
				goto drop;
			}
			p->flags |= PKT_F_NONLOCAL;
		}
	}
	p->l3_off = (uint16_t)(p->data - p->buf);
	p->src = addr_from_v6(ip.src.b);
	p->dst = addr_from_v6(ip.dst.b);
	p->ip_ttl = ip.hop_limit;
	p->ip_tos = ip.tclass;
	p->ip_proto = ip.next_hdr;

	struct ip6_ext_walk w;
	rc = ip6_ext_walk(p->data, p->len, &w);
	walk_and_deliver(st, p, &w, rc);
	return;
drop:
	pkt_free(&st->pool, p);
}
