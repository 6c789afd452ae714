/* Neighbor Discovery messages and options (RFC 4861 4, 6.1, 7.1). */
#include "wire/nd6.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "wire/csum.h"

#define ND6_OPT_MAX_DATA (255 * 8 - 2) /* bytes after type and length in the longest option */

static void count(uint8_t *c)
{
	if (*c < UINT8_MAX)
		(*c)++;
}

/* Keep the first of a repeated option. */
static void keep(const uint8_t **p, uint16_t *len, const uint8_t *o, size_t olen, uint8_t *dup)
{
	if (*p) {
		count(dup);
		return;
	}
	*p = o + 2;
	*len = (uint16_t)(olen - 2);
}

static void prefix_opt(struct nd6_opts *o, const uint8_t *p, size_t olen)
{
	if (olen != ND6_OPT_PREFIX_LEN || p[2] > 128) {
		count(&o->n_bad);
		return;
	}
	if (o->n_prefix == ND6_MAX_PREFIXES) {
		count(&o->n_prefix_over);
		return;
	}
	struct nd6_prefix *x = &o->prefix[o->n_prefix++];
	struct ip6_addr a;
	memcpy(a.b, p + 16, IP6_ADDR_LEN);
	x->len = p[2];
	x->flags = p[3];
	x->valid = rd_be32(p + 4);
	x->preferred = rd_be32(p + 8);
	x->prefix = ip6_prefix(&a, x->len);
}

/* Walk the options in p[0..n): each is at least 8 bytes long or the walk
 * fails, so it ends within n / 8 steps; no read passes n. */
static int opts_walk(const uint8_t *p, size_t n, struct nd6_opts *o)
{
	size_t i = 0;
	while (i < n) {
		if (n - i < 2)
			return -EINVAL;
		size_t olen = (size_t)p[i + 1] * 8;
		if (olen == 0 || olen > n - i)
			return -EINVAL; /* RFC 4861 4.6: length 0 means drop */
		const uint8_t *x = p + i;
		switch (x[0]) {
		case ND6_OPT_SLLAO: keep(&o->sll, &o->sll_len, x, olen, &o->n_dup); break;
		case ND6_OPT_TLLAO: keep(&o->tll, &o->tll_len, x, olen, &o->n_dup); break;
		case ND6_OPT_NONCE: keep(&o->nonce, &o->nonce_len, x, olen, &o->n_dup); break;
		case ND6_OPT_MTU:
			if (olen != ND6_OPT_MTU_LEN)
				count(&o->n_bad);
			else if (o->has_mtu)
				count(&o->n_dup);
			else {
				o->has_mtu = 1;
				o->mtu = rd_be32(x + 4);
			}
			break;
		case ND6_OPT_PREFIX: prefix_opt(o, x, olen); break;
		default: count(&o->n_unknown); break;
		}
		i += olen;
	}
	return 0;
}

int nd6_parse(const struct icmp6_repr *ic, const struct ip6_addr *src, const struct ip6_addr *dst, struct nd6_repr *r)
{
	memset(r, 0, sizeof *r);
	size_t fixed;
	switch (ic->type) {
	case ICMP6_ND_RS: fixed = ND6_RS_LEN; break;
	case ICMP6_ND_RA: fixed = ND6_RA_LEN; break;
	case ICMP6_ND_NS: fixed = ND6_NS_LEN; break;
	case ICMP6_ND_NA: fixed = ND6_NA_LEN; break;
	case ICMP6_ND_REDIRECT: r->type = ICMP6_ND_REDIRECT; return 0;
	default: return -EPROTONOSUPPORT;
	}
	/* ic->payload is what follows the 8-byte ICMPv6 header. */
	size_t body = fixed - ICMP6_HDR_LEN;
	const uint8_t *p = ic->payload;
	if (ic->code != 0 || ic->payload_len < body || (ic->payload_len && !p))
		goto bad;
	if (ic->payload_len > body && opts_walk(p + body, ic->payload_len - body, &r->opts) != 0)
		goto bad;
	r->type = ic->type;
	switch (ic->type) {
	case ICMP6_ND_RS:
		if (ip6_is_unspecified(src) && r->opts.sll)
			goto bad;
		break;
	case ICMP6_ND_RA:
		if (!ip6_is_linklocal(src))
			goto bad;
		r->cur_hop_limit = (uint8_t)(ic->rest >> 24);
		r->ra_flags = (uint8_t)(ic->rest >> 16);
		r->router_lifetime = (uint16_t)ic->rest;
		r->reachable_time = rd_be32(p);
		r->retrans_timer = rd_be32(p + 4);
		break;
	case ICMP6_ND_NS:
		memcpy(r->target.b, p, IP6_ADDR_LEN);
		if (ip6_is_mcast(&r->target))
			goto bad;
		if (ip6_is_unspecified(src) && (!ip6_is_solicited_node(dst) || r->opts.sll))
			goto bad;
		break;
	case ICMP6_ND_NA:
		memcpy(r->target.b, p, IP6_ADDR_LEN);
		r->na_flags = (uint8_t)(ic->rest >> 24);
		if (ip6_is_mcast(&r->target))
			goto bad;
		if (ip6_is_mcast(dst) && (r->na_flags & ND6_NA_SOLICITED))
			goto bad;
		break;
	}
	return 0;
bad:
	memset(r, 0, sizeof *r);
	return -EINVAL;
}

/* Bytes of an option carrying n bytes after its type and length. */
static size_t opt_space(size_t n)
{
	if (n > ND6_OPT_MAX_DATA)
		n = ND6_OPT_MAX_DATA;
	return (2 + n + 7) & ~(size_t)7;
}

static size_t fixed_len(uint8_t type)
{
	switch (type) {
	case ICMP6_ND_RS: return ND6_RS_LEN;
	case ICMP6_ND_RA: return ND6_RA_LEN;
	case ICMP6_ND_NS: return ND6_NS_LEN;
	case ICMP6_ND_NA: return ND6_NA_LEN;
	default: return 0;
	}
}

static size_t opts_len(const struct nd6_opts *o)
{
	size_t n = 0;
	if (o->sll)
		n += opt_space(o->sll_len);
	if (o->tll)
		n += opt_space(o->tll_len);
	if (o->has_mtu)
		n += ND6_OPT_MTU_LEN;
	n += (size_t)US_MIN(o->n_prefix, ND6_MAX_PREFIXES) * ND6_OPT_PREFIX_LEN;
	if (o->nonce)
		n += opt_space(o->nonce_len);
	return n;
}

size_t nd6_len(const struct nd6_repr *r)
{
	size_t f = fixed_len(r->type);
	return f ? f + opts_len(&r->opts) : 0;
}

static uint8_t *put_data_opt(uint8_t *p, uint8_t type, const uint8_t *d, size_t n)
{
	size_t sp = opt_space(n);
	if (n > sp - 2)
		n = sp - 2;
	p[0] = type;
	p[1] = (uint8_t)(sp / 8);
	memcpy(p + 2, d, n);
	memset(p + 2 + n, 0, sp - 2 - n);
	return p + sp;
}

size_t nd6_emit(const struct nd6_repr *r, const struct ip6_addr *src, const struct ip6_addr *dst, uint8_t *buf)
{
	size_t len = nd6_len(r);
	if (!len)
		return 0;
	const struct nd6_opts *o = &r->opts;
	uint32_t rest = 0;
	uint8_t *p = buf + ICMP6_HDR_LEN;
	switch (r->type) {
	case ICMP6_ND_RA:
		rest = (uint32_t)r->cur_hop_limit << 24 | (uint32_t)r->ra_flags << 16 | r->router_lifetime;
		wr_be32(p, r->reachable_time);
		wr_be32(p + 4, r->retrans_timer);
		p += 8;
		break;
	case ICMP6_ND_NA:
		rest = (uint32_t)r->na_flags << 24;
		/* fall through */
	case ICMP6_ND_NS:
		memcpy(p, r->target.b, IP6_ADDR_LEN);
		p += IP6_ADDR_LEN;
		break;
	}
	if (o->sll)
		p = put_data_opt(p, ND6_OPT_SLLAO, o->sll, o->sll_len);
	if (o->tll)
		p = put_data_opt(p, ND6_OPT_TLLAO, o->tll, o->tll_len);
	if (o->has_mtu) {
		p[0] = ND6_OPT_MTU;
		p[1] = 1;
		wr_be16(p + 2, 0);
		wr_be32(p + 4, o->mtu);
		p += ND6_OPT_MTU_LEN;
	}
	for (size_t i = 0; i < US_MIN(o->n_prefix, ND6_MAX_PREFIXES); i++) {
		const struct nd6_prefix *x = &o->prefix[i];
		p[0] = ND6_OPT_PREFIX;
		p[1] = ND6_OPT_PREFIX_LEN / 8;
		p[2] = x->len;
		p[3] = x->flags;
		wr_be32(p + 4, x->valid);
		wr_be32(p + 8, x->preferred);
		wr_be32(p + 12, 0);
		memcpy(p + 16, x->prefix.b, IP6_ADDR_LEN);
		p += ND6_OPT_PREFIX_LEN;
	}
	if (o->nonce)
		put_data_opt(p, ND6_OPT_NONCE, o->nonce, o->nonce_len);   /* the last option */
	struct icmp6_repr ic = {.type = r->type,
				.code = 0,
				.rest = rest,
				.payload = buf + ICMP6_HDR_LEN,
				.payload_len = len - ICMP6_HDR_LEN};
	icmp6_emit(&ic, src, dst, buf);
	return len;
}
