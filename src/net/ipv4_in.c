/* IPv4 input in the kernel's order (ip_rcv_core): header checks, trim
 * link padding, source and destination checks, reassembly, then the one
 * dispatch per protocol. Every drop names its counter. */
#include <errno.h>

#include "stack.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"

/* RFC 1122 3.2.1.3 / RFC 1812 5.3.7: sources no host can have. */
static int martian_source(const struct us_stack *st, const struct us_iface *ifc, uint32_t src)
{
	if (ipv4_is_bcast(src) || ipv4_is_mcast(src) || ipv4_is_zeronet(src) || (src >> 28) == 0xF)
		return 1;
	if (ipv4_is_loopback(src))
		return 1;
	if (iface_is_bcast_addr(ifc, src))
		return 1;
	/* LAND: our own address arriving from the wire. */
	return iface_is_local_addr(st, src);
}

/* A destination a transparent socket may take in another host's name: one
 * beyond this host and link. Never 0/8 ("this network"), 127/8 (loopback:
 * RFC 1122 3.2.1.3 (g) says it never appears on a network) or 169.254/16
 * (link-local, RFC 3927: no host beyond the link has it). */
static int tproxy_dst_ok(uint32_t dst)
{
	return !ipv4_is_zeronet(dst) && !ipv4_is_loopback(dst) && (dst >> 16) != 0xA9FE;
}

void ipv4_input(struct us_stack *st, struct us_iface *ifc, struct pkt *p)
{
	struct ipv4_repr ip;
	STAT_INC(st, ip, InReceives);
	int rc = ipv4_parse(p->data, p->len, &ip, 1);
	if (rc == -EMSGSIZE) {
		STAT_INC(st, ip, InTruncatedPkts);
		goto drop;
	}
	if (rc == -EBADMSG) {
		STAT_INC(st, ip, InCsumErrors);
		goto drop;
	}
	if (rc < 0) {
		STAT_INC(st, ip, InHdrErrors);
		goto drop;
	}
	pkt_trim(p, ip.total_len);   /* Ethernet padding and trailing junk */
	if (ip.opt_unknown)
		STAT_ADD(st, ip, InOptUnknown, ip.opt_unknown);

	if (ifc && martian_source(st, ifc, ip.src)) {
		STAT_INC(st, ip, InAddrErrors);
		goto drop;
	}
	int bcast = ifc ? iface_is_bcast_addr(ifc, ip.dst) : 0;
	if (bcast || ipv4_is_mcast(ip.dst)) {
		p->flags |= PKT_F_BCAST;
		STAT_INC(st, ip, InBcastPkts);
	} else if (!iface_is_local_addr(st, ip.dst)) {
		/* Not ours, and we do not forward; unless a transparent socket
		 * (IP_TRANSPARENT, like Linux's TPROXY) takes any destination
		 * routed into a device: then TCP, UDP and ICMP go up marked. */
		if (!ifc || !st->n_transparent[0] || !tproxy_dst_ok(ip.dst) ||
		    (ip.proto != IP_PROTO_TCP && ip.proto != IP_PROTO_UDP && ip.proto != IP_PROTO_ICMP)) {
			STAT_INC(st, ip, InAddrErrors);
			goto drop;
		}
		p->flags |= PKT_F_NONLOCAL;
	}
	if (p->flags & PKT_F_BCAST && !bcast && ipv4_is_mcast(ip.dst) && ip.proto != IP_PROTO_UDP &&
	    ip.proto != IP_PROTO_ICMP) {
		STAT_INC(st, ip, InAddrErrors);
		goto drop;
	}

	p->l3_off = (uint16_t)(p->data - p->buf);
	p->src = addr_from_v4(ip.src);
	p->dst = addr_from_v4(ip.dst);
	p->ip_proto = ip.proto;
	p->ip_ttl = ip.ttl;
	p->ip_tos = ip.tos;

	if (ip.mf || ip.frag_off) {
		STAT_INC(st, ip, ReasmReqds);
		p = frag4_input(st, p);
		if (!p)
			return;
		STAT_INC(st, ip, ReasmOKs);
	} else {
		pkt_pull(p, ip.hdr_len);
	}
	ipv4_deliver(st, p);
	return;
drop:
	pkt_free(&st->pool, p);
}

void ipv4_deliver(struct us_stack *st, struct pkt *p)
{
	const struct us_protosw *ps = stack_protosw(p->ip_proto);
	if (ps && ps->input) {
		STAT_INC(st, ip, InDelivers);
		ps->input(st, p);
		return;
	}
	/* Including IP-in-IP (4) and IPv6-in-IPv4 (41): never decapsulated. */
	STAT_INC(st, ip, InUnknownProtos);
	if (!(p->flags & PKT_F_BCAST))
		icmp4_send_error(st, p, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0);
	pkt_free(&st->pool, p);
}
