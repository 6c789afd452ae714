/* ICMPv6 (RFC 4443): echo replies, errors checked against the packet
 * they quote and handed to its transport (packet too big also lowers the
 * path MTU: RFC 8201), NDP handed to nd6.c, errors generated under RFC
 * 4443 2.4 (e)'s rules and the token bucket ICMPv4 uses. */
#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "net/iface.h"
#include "net/ip.h"
#include "net/ipv6.h"
#include "net/route.h"
#include "stack.h"
#include "wire/csum.h"
#include "wire/icmp4.h"
#include "wire/icmp6.h"
#include "wire/ip6ext.h"
#include "wire/ipv6.h"

/* The transports speak one set of error types: ICMPv6's are given to them
 * as their ICMPv4 equivalents (what Linux's icmpv6_err_convert means by
 * each), with the errno a socket sees. */
static void map_error(uint8_t type, uint8_t code, uint8_t *t4, uint8_t *c4, int *err)
{
	*t4 = ICMP_DEST_UNREACH;
	switch (type) {
	case ICMP6_DEST_UNREACH:
		switch (code) {
		case ICMP6_DU_PORT: *c4 = ICMP_PORT_UNREACH; *err = ECONNREFUSED; return;
		case ICMP6_DU_NOROUTE: *c4 = ICMP_NET_UNREACH; *err = ENETUNREACH; return;
		case ICMP6_DU_ADMIN:
		case ICMP6_DU_POLICY:
		case ICMP6_DU_REJECT_ROUTE: *c4 = 13; *err = EACCES; return;   /* administratively prohibited */
		default: *c4 = ICMP_HOST_UNREACH; *err = EHOSTUNREACH; return;
		}
	case ICMP6_PKT_TOO_BIG: *c4 = ICMP_FRAG_NEEDED; *err = EMSGSIZE; return;
	case ICMP6_TIME_EXCEEDED: *t4 = ICMP_TIME_EXCEEDED; *c4 = code; *err = EHOSTUNREACH; return;
	default:
		if (code == ICMP6_PP_NEXT_HEADER) {
			*c4 = ICMP_PORT_UNREACH;   /* Linux: ECONNREFUSED, fatal */
			*err = ECONNREFUSED;
			return;
		}
		*t4 = ICMP_PARAMETERPROB;
		*c4 = 0;
		*err = EPROTO;
		return;
	}
}

static void notify_quote(struct us_stack *st, const struct icmp6_quote *q, uint8_t type, uint8_t code, uint32_t info)
{
	if (q->frag || q->l4_len < 8)
		return;   /* RFC 4443 2.4 (b) wants 8 bytes of the upper header to find the socket */
	const struct us_protosw *ps = stack_protosw6(q->proto);
	if (!ps || !ps->err)
		return;
	struct us_l4_err e = {.src = addr_from_v6(q->ip.src.b), .dst = addr_from_v6(q->ip.dst.b), .l4 = q->l4,
			      .l4_len = q->l4_len, .info = info};
	map_error(type, code, &e.type, &e.code, &e.err);
	ps->err(st, &e);
}

void icmp6_notify(struct us_stack *st, const uint8_t *quote, size_t qlen, uint8_t type, uint8_t code, uint32_t info)
{
	struct icmp6_repr r = {.type = type, .code = code, .payload = quote, .payload_len = qlen};
	struct icmp6_quote q;
	if (icmp6_quote_parse(&r, &q) < 0)
		return;
	notify_quote(st, &q, type, code, info);
}

static void error_input(struct us_stack *st, struct pkt *p, const struct icmp6_repr *r)
{
	struct icmp6_quote q;
	/* The quote must be a packet we could have sent: a sane header from
	 * one of our addresses (RFC 5927). */
	if (icmp6_quote_parse(r, &q) < 0 || !iface6_is_local(st, &q.ip.src)) {
		STAT_INC(st, icmp6, InInvalidQuote);
		return;
	}
	uint32_t info = r->rest;
	if (r->type == ICMP6_PKT_TOO_BIG) {
		/* RFC 8201 4: a Packet Too Big reporting an MTU below 1280 is
		 * discarded (no path needs less, and atomic fragments are gone:
		 * RFC 8021), as Linux's tcp_v6_err does; the path MTU is per
		 * destination. */
		if (info < IPV6_MIN_MTU) {
			STAT_INC(st, icmp6, InPmtuBelowMin);
			return;
		}
		/* A TCP quote lowers the path MTU only once TCP has found it
		 * names a segment in flight (RFC 5927 4.1, tcp_err: Linux's
		 * tcp_v6_err does the same); a forged one must not shrink the
		 * path under every connection to that destination. */
		if (q.proto != IP6_NH_TCP) {
			struct us_addr d = addr_from_v6(q.ip.dst.b);
			ip_pmtu_update(st, &d, info);
		}
	}
	(void)p;
	notify_quote(st, &q, r->type, r->code, info);
}

static int icmp6_out(struct us_stack *st, struct pkt *p, const struct ip6_addr *from, const struct ip6_addr *to,
		     uint8_t tclass)
{
	/* The route's hop limit (an RA's Cur Hop Limit, else 64), as
	 * Linux's icmpv6 replies take the dst's. */
	int rc = ipv6_output(st, p, from, to, IP6_NH_ICMPV6, -1, tclass);
	if (rc == 0)
		STAT_INC(st, icmp6, OutMsgs);
	else if (rc != -ENETUNREACH)
		STAT_INC(st, icmp6, OutErrors);
	return rc;
}

static void echo_reply(struct us_stack *st, struct pkt *p, const struct icmp6_repr *r)
{
	struct ip6_addr to, from;
	memcpy(to.b, p->src.b, 16);
	memcpy(from.b, p->dst.b, 16);
	int mcast = ip6_is_mcast(&from);
	if (ip6_is_unspecified(&to)) {
		STAT_INC(st, icmp6, InErrors);
		pkt_free(&st->pool, p);
		return;
	}
	/* Reply in place: the type, then the checksum over the whole message
	 * (a multicast request's reply has another source, RFC 4443 4.2). */
	struct icmp6_repr o = *r;
	o.type = ICMP6_ECHO_REPLY;
	o.payload = p->data + ICMP6_HDR_LEN;
	const struct ip6_addr *src = mcast ? NULL : &from;
	struct ip6_addr sel;
	if (mcast) {
		struct us_rt6_result rt;
		if (route6_lookup(st, &to, &rt) < 0) {
			STAT_INC(st, ip6, OutNoRoutes);
			pkt_free(&st->pool, p);
			return;
		}
		sel = rt.src;
		src = &sel;
	}
	icmp6_emit(&o, src, &to, p->data);
	uint8_t tc = p->ip_tos;
	p->flags = 0;
	p->csum_l4 = 0;
	p->gso_size = 0;
	if (icmp6_out(st, p, src, &to, tc) == 0)
		STAT_INC(st, icmp6, OutEchoReplies);
}

void icmp6_input(struct us_stack *st, struct pkt *p)
{
	struct icmp6_repr r;
	struct ip6_addr src, dst;
	STAT_INC(st, icmp6, InMsgs);
	memcpy(src.b, p->src.b, 16);
	memcpy(dst.b, p->dst.b, 16);
	if (addr_is_v4(&p->src)) {
		STAT_INC(st, icmp6, InErrors);   /* ICMPv6 inside IPv4 */
		goto drop;
	}
	int rc = icmp6_parse(p->data, p->len, &src, &dst, &r, !(p->flags & PKT_F_CSUM_OK));
	if (rc < 0) {
		if (rc == -EBADMSG)
			STAT_INC(st, icmp6, InCsumErrors);
		STAT_INC(st, icmp6, InErrors);
		goto drop;
	}
	if ((p->flags & PKT_F_TENTATIVE) && r.type != ICMP6_ND_NS && r.type != ICMP6_ND_NA) {
		STAT_INC(st, ip6, InAddrErrors);   /* RFC 4862 5.4: a tentative address takes only NDP */
		goto drop;
	}
	if ((p->flags & PKT_F_NONLOCAL) && r.type != ICMP6_ECHO_REQUEST) {
		/* To an address not ours (transparent mode): only echo requests
		 * are taken, as for IPv4; no NDP or error for another's name. */
		STAT_INC(st, ip6, InAddrErrors);
		goto drop;
	}
	switch (r.type) {
	case ICMP6_ECHO_REQUEST:
		STAT_INC(st, icmp6, InEchos);
		/* Not ours: to the transparent ICMPv6 socket if there is one,
		 * else answered here in the destination's name. */
		if ((p->flags & PKT_F_NONLOCAL) && stack_ping_tproxy(st, p))
			return;
		echo_reply(st, p, &r);
		return;
	case ICMP6_ECHO_REPLY:
		STAT_INC(st, icmp6, InEchoReplies);
		stack_ping_reply(st, p, icmp6_echo_id(&r));
		return;
	case ICMP6_DEST_UNREACH:
		STAT_INC(st, icmp6, InDestUnreachs);
		error_input(st, p, &r);
		break;
	case ICMP6_PKT_TOO_BIG:
		STAT_INC(st, icmp6, InPktTooBigs);
		error_input(st, p, &r);
		break;
	case ICMP6_TIME_EXCEEDED:
		STAT_INC(st, icmp6, InTimeExcds);
		error_input(st, p, &r);
		break;
	case ICMP6_PARAM_PROB:
		STAT_INC(st, icmp6, InParmProblems);
		error_input(st, p, &r);
		break;
	case ICMP6_ND_RS:
	case ICMP6_ND_RA:
	case ICMP6_ND_NS:
	case ICMP6_ND_NA:
	case ICMP6_ND_REDIRECT:
		nd6_input(st, p, &r);
		break;
	case ICMP6_MLD_QUERY:
	case ICMP6_MLD_REPORT:
	case ICMP6_MLD_DONE:
	case ICMP6_MLD2_REPORT:
		mld6_input(st, p, &r);
		break;
	default:
		break;   /* RFC 4443 2.4 (a), (b): unknown types are ignored */
	}
drop:
	pkt_free(&st->pool, p);
}

struct pkt *icmp6_alloc(struct us_stack *st, size_t len, uint8_t **b)
{
	struct pkt *p = len ? pkt_alloc(&st->pool, (uint32_t)len, PKT_HEADROOM) : NULL;
	*b = p ? pkt_put(p, (uint32_t)len) : NULL;
	if (!*b) {
		if (p)
			pkt_free(&st->pool, p);
		STAT_INC(st, icmp6, OutErrors);
		return NULL;
	}
	return p;
}

void icmp6_send_error(struct us_stack *st, const struct pkt *orig, uint8_t type, uint8_t code, uint32_t info)
{
	const uint8_t *h = orig->buf + orig->l3_off;
	size_t avail = (size_t)((orig->data + orig->len) - h);
	if (avail < IPV6_HDR_LEN)
		return;
	struct ip6_addr src, odst;
	memcpy(src.b, h + 8, 16);
	memcpy(odst.b, h + 24, 16);
	/* RFC 4443 2.4 (e): never about an error, to a multicast destination
	 * (but packet too big and the option parameter problem), or to a
	 * source that is not one host. */
	int suppress = ip6_is_unspecified(&src) || ip6_is_mcast(&src) ||
		       ((orig->flags & PKT_F_BCAST || ip6_is_mcast(&odst)) && type != ICMP6_PKT_TOO_BIG &&
			!(type == ICMP6_PARAM_PROB && code == ICMP6_PP_OPTION));
	if (!suppress) {
		struct ip6_ext_walk w;
		if (ip6_ext_walk_from(h, avail, IPV6_HDR_LEN, h[6], 6, IP6_WALK_SKIP, &w) == 0 && w.end == IP6_END_UPPER &&
		    w.proto == IP6_NH_ICMPV6 && (w.off >= avail || icmp6_is_error(h[w.off]) || h[w.off] == ICMP6_ND_REDIRECT))
			suppress = 1;
	}
	if (suppress) {
		STAT_INC(st, icmp6, OutSuppressed);
		return;
	}
	if (!icmp_ratelimit_ok(st, &st->icmp6_rl)) {
		STAT_INC(st, icmp6, OutRateLimited);
		return;
	}
	size_t total = IPV6_HDR_LEN + rd_be16(h + 4);
	size_t qlen = icmp6_quote_len(US_MIN(avail, total), 0);
	uint8_t *b;
	struct pkt *p = icmp6_alloc(st, ICMP6_HDR_LEN + qlen, &b);
	if (!p)
		return;
	memcpy(b + ICMP6_HDR_LEN, h, qlen);
	if (orig->csum_l4 > orig->l3_off) {
		/* The quoted segment as it was on the wire: finish the checksum
		 * the kernel left to the device (offload). */
		const uint8_t *l4 = orig->buf + orig->csum_l4, *end = orig->data + orig->len;
		size_t at = (size_t)(orig->csum_l4 - orig->l3_off) + orig->csum_off;
		if (l4 < end && at + 2 <= qlen) {
			uint16_t c = csum_fold(csum_partial(l4, (size_t)(end - l4), 0));
			if (c == 0 && orig->ip_proto == IP6_NH_UDP)
				c = 0xFFFF;
			wr_be16(b + ICMP6_HDR_LEN + at, c);
		}
	}
	/* From the address the packet was for, if it was ours (or taken for a
	 * transparent socket: in that address's name). */
	struct ip6_addr from = ip6_any;
	if (!ip6_is_mcast(&odst) && (iface6_is_local(st, &odst) || (orig->flags & PKT_F_NONLOCAL)))
		from = odst;
	if (ip6_is_unspecified(&from)) {
		struct us_rt6_result rt;
		if (route6_lookup(st, &src, &rt) < 0) {
			STAT_INC(st, ip6, OutNoRoutes);
			pkt_free(&st->pool, p);
			return;
		}
		from = rt.src;
	}
	struct icmp6_repr r = {.type = type, .code = code, .rest = info, .payload = b + ICMP6_HDR_LEN,
			       .payload_len = qlen};
	icmp6_emit(&r, &from, &src, b);
	if (icmp6_out(st, p, &from, &src, 0) < 0)
		return;
	if (type == ICMP6_DEST_UNREACH)
		STAT_INC(st, icmp6, OutDestUnreachs);
	else if (type == ICMP6_TIME_EXCEEDED)
		STAT_INC(st, icmp6, OutTimeExcds);
	else if (type == ICMP6_PARAM_PROB)
		STAT_INC(st, icmp6, OutParmProblems);
}
