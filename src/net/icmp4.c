/* ICMPv4 (RFC 792, RFC 1122 3.2.2): echo replies in place, errors checked
 * against the datagram they quote and handed to its transport, errors
 * generated with RFC 1122's suppression rules and a token-bucket limit. */
#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "stack.h"
#include "net/iface.h"
#include "net/ip.h"
#include "net/ipv4.h"
#include "wire/csum.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"

#define ICMP_ERR_QUOTE_MAX (576 - IPV4_HDR_LEN - ICMP4_HDR_LEN)  /* RFC 1812 4.3.2.3 */

static int errno_for(uint8_t type, uint8_t code)
{
	if (type == ICMP_DEST_UNREACH) {
		switch (code) {
		case ICMP_NET_UNREACH: return ENETUNREACH;
		case ICMP_HOST_UNREACH: return EHOSTUNREACH;
		case ICMP_PROT_UNREACH: return ENOPROTOOPT;
		case ICMP_PORT_UNREACH: return ECONNREFUSED;
		case ICMP_FRAG_NEEDED: return EMSGSIZE;
		case 5: return EOPNOTSUPP;            /* source route failed */
		case 6: return ENETUNREACH;           /* net unknown */
		case 7: return EHOSTDOWN;             /* host unknown */
		default: return EHOSTUNREACH;         /* prohibited and the rest */
		}
	}
	if (type == ICMP_PARAMETERPROB)
		return EPROTO;
	return EHOSTUNREACH;                          /* time exceeded */
}

void icmp4_notify(struct us_stack *st, const uint8_t *q, size_t qlen, uint8_t type, uint8_t code, uint32_t info)
{
	if (qlen < IPV4_HDR_LEN || (q[0] >> 4) != 4)
		return;
	size_t hl = (size_t)(q[0] & 0xf) * 4;
	if (hl < IPV4_HDR_LEN || hl + 8 > qlen)
		return;   /* RFC 1122: at least 8 bytes of the transport header */
	const struct us_protosw *ps = stack_protosw(q[9]);
	if (!ps || !ps->err)
		return;
	struct us_l4_err e = {
		.src = addr_from_v4(rd_be32(q + 12)), .dst = addr_from_v4(rd_be32(q + 16)), .l4 = q + hl, .l4_len = qlen - hl,
		.type = type, .code = code, .info = info, .err = errno_for(type, code),
	};
	ps->err(st, &e);
}

static void error_input(struct us_stack *st, struct pkt *p, const struct icmp4_repr *r)
{
	const uint8_t *q = r->payload;
	size_t qlen = r->payload_len;
	if (p->flags & PKT_F_BCAST)
		return;
	/* The quote must be a datagram we could have sent: a sane header, our
	 * own source address and 8 bytes of its transport header (RFC 5927). */
	size_t hl = qlen >= IPV4_HDR_LEN ? (size_t)(q[0] & 0xf) * 4 : 0;
	if (qlen < IPV4_HDR_LEN || (q[0] >> 4) != 4 || hl < IPV4_HDR_LEN || hl + 8 > qlen ||
	    !iface_is_local_addr(st, rd_be32(q + 12))) {
		STAT_INC(st, icmp, InInvalidQuote);
		return;
	}
	icmp4_notify(st, q, qlen, r->type, r->code, r->rest);
}

/* Send an ICMP message the stack made (consumes p) and count it as sent
 * only if it left: with no route back nothing is counted but
 * Ip.OutNoRoutes, as on Linux, whose icmp_reply routes before it counts. */
static int icmp_out(struct us_stack *st, struct pkt *p, uint32_t from, uint32_t to, uint8_t tos)
{
	int rc = ipv4_output(st, p, from, to, IP_PROTO_ICMP, IPV4_DEFAULT_TTL, tos, 0);
	if (rc == 0)
		STAT_INC(st, icmp, OutMsgs);
	else if (rc != -ENETUNREACH)
		STAT_INC(st, icmp, OutErrors);
	return rc;
}

void icmp4_input(struct us_stack *st, struct pkt *p)
{
	struct icmp4_repr r;
	STAT_INC(st, icmp, InMsgs);
	int rc = icmp4_parse(p->data, p->len, &r, 1);
	if (rc < 0) {
		if (rc == -EBADMSG)
			STAT_INC(st, icmp, InCsumErrors);
		STAT_INC(st, icmp, InErrors);
		goto drop;
	}
	if (p->flags & PKT_F_NONLOCAL) {
		/* To an address not ours (transparent mode): echo requests go to
		 * the transparent ICMP socket if there is one, else are answered
		 * here in the destination's name; anything else is dropped. */
		if (r.type != ICMP_ECHO)
			goto drop;
		STAT_INC(st, icmp, InEchos);
		if (stack_ping_tproxy(st, p))
			return;
		goto echo_reply;
	}
	switch (r.type) {
	case ICMP_ECHO: {
		STAT_INC(st, icmp, InEchos);
		if ((p->flags & PKT_F_BCAST) && !st->cfg.icmp_echo_bcast) {
			STAT_INC(st, icmp, InBcastIgnored);   /* no smurf amplifier */
			goto drop;
		}
	echo_reply:;
		/* Reply in place: only the type changes, so the checksum is
		 * updated incrementally (RFC 1624) instead of summed again. */
		uint16_t old_w = rd_be16(p->data);
		uint16_t new_w = (uint16_t)((ICMP_ECHOREPLY << 8) | r.code);
		p->data[0] = ICMP_ECHOREPLY;
		uint16_t ck = csum_update16(rd_be16(p->data + 2), old_w, new_w);
		/* Eqn 3 can yield 0x0000 (-0); 0xFFFF is valid wherever 0x0000
		 * is, and the only valid value for an all-zero message. */
		wr_be16(p->data + 2, ck ? ck : 0xFFFF);
		uint32_t to = addr_v4(&p->src), from = addr_v4(&p->dst);
		p->flags = 0;
		if (icmp_out(st, p, from, to, p->ip_tos) == 0)
			STAT_INC(st, icmp, OutEchoReps);
		return;
	}
	case ICMP_ECHOREPLY:
		STAT_INC(st, icmp, InEchoReps);
		stack_ping_reply(st, p, icmp4_echo_id(&r));
		return;
	case ICMP_DEST_UNREACH:
		STAT_INC(st, icmp, InDestUnreachs);
		error_input(st, p, &r);
		break;
	case ICMP_TIME_EXCEEDED:
		STAT_INC(st, icmp, InTimeExcds);
		error_input(st, p, &r);
		break;
	case ICMP_PARAMETERPROB:
		STAT_INC(st, icmp, InParmProbs);
		error_input(st, p, &r);
		break;
	default:
		break;   /* redirects, source quench, timestamps: ignored */
	}
drop:
	pkt_free(&st->pool, p);
}

int icmp_ratelimit_ok(struct us_stack *st, struct icmp_ratelimit *rl)
{
	uint64_t per = (uint64_t)(st->cfg.icmp_rate_ms ? st->cfg.icmp_rate_ms : 1) * 1000000ull;
	if (st->now > rl->last) {
		uint64_t add = (st->now - rl->last) / per;
		if (add) {
			rl->tokens = (uint32_t)US_MIN((uint64_t)st->cfg.icmp_burst, rl->tokens + add);
			rl->last += add * per;
		}
	} else if (st->now < rl->last) {
		rl->last = st->now;   /* clock went back: restart the bucket */
	}
	if (!rl->tokens)
		return 0;
	rl->tokens--;
	return 1;
}

void icmp4_send_error(struct us_stack *st, const struct pkt *orig, uint8_t type, uint8_t code, uint32_t info)
{
	const uint8_t *h = orig->buf + orig->l3_off;
	size_t avail = (size_t)((orig->data + orig->len) - h);
	if (avail < IPV4_HDR_LEN)
		return;
	size_t hl = (size_t)(h[0] & 0xf) * 4;
	uint32_t src = addr_v4(&orig->src);
	/* RFC 1122 3.2.2: never about an ICMP error, a broadcast or multicast,
	 * a non-first fragment, or a source that is not a single host. */
	int suppress = (orig->flags & PKT_F_BCAST) || (rd_be16(h + 6) & 0x1fff) || ipv4_is_bcast(src) ||
		       ipv4_is_mcast(src) || ipv4_is_zeronet(src) || (src >> 28) == 0xF || hl < IPV4_HDR_LEN;
	if (!suppress && orig->ip_proto == IP_PROTO_ICMP) {
		if (avail < hl + 1 || icmp4_is_error(h[hl]) || h[hl] > 18 /* NR_ICMP_TYPES: unknown types count as errors */)
			suppress = 1;
	}
	if (suppress) {
		STAT_INC(st, icmp, OutSuppressed);
		return;
	}
	if (!icmp_ratelimit_ok(st, &st->icmp_rl)) {
		STAT_INC(st, icmp, OutRateLimited);
		return;
	}
	size_t total = rd_be16(h + 2);
	size_t qlen = US_MIN(US_MIN(avail, total), (size_t)ICMP_ERR_QUOTE_MAX);
	struct pkt *p = pkt_alloc(&st->pool, (uint32_t)(ICMP4_HDR_LEN + qlen), PKT_HEADROOM);
	if (!p) {
		STAT_INC(st, icmp, OutErrors);
		return;
	}
	uint8_t *b = pkt_put(p, (uint32_t)(ICMP4_HDR_LEN + qlen));
	if (!b) {
		STAT_INC(st, icmp, OutErrors);
		pkt_free(&st->pool, p);
		return;
	}
	memcpy(b + ICMP4_HDR_LEN, h, qlen);
	if (orig->csum_l4 > orig->l3_off) {
		/* The quoted segment as it would have been on the wire: finish
		 * the checksum the kernel left to the device (offload). */
		const uint8_t *l4 = orig->buf + orig->csum_l4, *end = orig->data + orig->len;
		size_t at = (size_t)(orig->csum_l4 - orig->l3_off) + orig->csum_off;
		if (l4 < end && at + 2 <= qlen) {
			uint16_t c = csum_fold(csum_partial(l4, (size_t)(end - l4), 0));
			if (c == 0 && orig->ip_proto == IP_PROTO_UDP)
				c = 0xFFFF;
			wr_be16(b + ICMP4_HDR_LEN + at, c);
		}
	}
	struct icmp4_repr r = {.type = type, .code = code, .rest = info, .payload = b + ICMP4_HDR_LEN, .payload_len = qlen};
	icmp4_emit(&r, b);
	/* Transparent mode answers in the name of the address the datagram was for. */
	uint32_t odst = addr_v4(&orig->dst);
	uint32_t from = (iface_is_local_addr(st, odst) || (orig->flags & PKT_F_NONLOCAL)) ? odst : 0;
	if (icmp_out(st, p, from, src, 0xc0) < 0)
		return;
	if (type == ICMP_DEST_UNREACH)
		STAT_INC(st, icmp, OutDestUnreachs);
	else if (type == ICMP_TIME_EXCEEDED)
		STAT_INC(st, icmp, OutTimeExcds);
}
