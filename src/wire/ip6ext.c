/* IPv6 extension headers (RFC 8200 4): the option TLV walk (4.2), the
 * fragment header (4.5), and the bounded walk over a header chain. */
#include "wire/ip6ext.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"

/* A walk may start no later than this, so every offset it reports fits
 * in 16 bits: IP6_EXT_MAX_BYTES of headers past the start, at most. */
#define IP6_WALK_MAX_START (UINT16_MAX - IP6_EXT_MAX_BYTES)

int ip6_is_ext_hdr(uint8_t nh)
{
	switch (nh) {
	case IP6_NH_HOPOPTS:
	case IP6_NH_ROUTING:
	case IP6_NH_FRAGMENT:
	case IP6_NH_ESP:
	case IP6_NH_AH:
	case IP6_NH_DSTOPTS:
	case IP6_NH_MOBILITY:
	case IP6_NH_HIP:
	case IP6_NH_SHIM6:
	case IP6_NH_EXP1:
	case IP6_NH_EXP2: return 1;
	default: return 0;
	}
}

int ip6_frag_parse(const uint8_t *buf, size_t len, struct ip6_frag_repr *r)
{
	memset(r, 0, sizeof *r);
	if (len < IP6_FRAG_HDR_LEN)
		return -EINVAL;
	uint16_t f = rd_be16(buf + 2);
	r->next_hdr = buf[0];
	r->offset = (uint16_t)(f & 0xFFF8); /* the 13-bit field * 8 */
	r->m = f & 1;
	r->id = rd_be32(buf + 4);
	return 0;
}

void ip6_frag_emit(const struct ip6_frag_repr *r, uint8_t *buf)
{
	buf[0] = r->next_hdr;
	buf[1] = 0;
	wr_be16(buf + 2, (uint16_t)((r->offset & 0xFFF8) | (r->m ? 1 : 0)));
	wr_be32(buf + 4, r->id);
}

int ip6_opts_walk(const uint8_t *pkt, size_t off, size_t hdr_len, uint8_t hdr_type, struct ip6_opts_res *r)
{
	memset(r, 0, sizeof *r);
	const uint8_t *h = pkt + off;
	size_t i = 2, pad = 0; /* options start after next-header and length */
	while (i < hdr_len) {
		uint8_t t = h[i];
		r->err_off = (uint16_t)(off + i);
		if (t == IP6_OPT_PAD1) {
			if (++pad > IP6_OPT_PAD_MAX)
				return -EINVAL;
			i++;
			continue;
		}
		if (hdr_len - i < 2)
			return -EINVAL; /* no room for the length byte */
		size_t olen = 2 + (size_t)h[i + 1];
		if (olen > hdr_len - i)
			return -EINVAL;
		if (t == IP6_OPT_PADN) {
			pad += olen;
			if (pad > IP6_OPT_PAD_MAX)
				return -EINVAL;
			for (size_t j = 2; j < olen; j++)
				if (h[i + j] != 0)
					return -EINVAL;
		} else {
			pad = 0;
			if (++r->n_opts > IP6_OPTS_MAX)
				return -E2BIG;
			if (t == IP6_OPT_ROUTER_ALERT && hdr_type == IP6_NH_HOPOPTS) {
				if (olen != 4)
					return -EINVAL;
				r->has_ra = 1;
				r->ra = rd_be16(h + i + 2);
			} else if (ip6_opt_action(t) == IP6_OPT_ACT_SKIP) {
				if (r->n_unknown < UINT8_MAX)
					r->n_unknown++;
			} else {
				r->act_found = 1;
				r->act = ip6_opt_action(t);
				r->act_type = t;
				r->act_off = (uint16_t)(off + i);
				r->err_off = 0;
				return 0;
			}
		}
		i += olen;
	}
	r->err_off = 0;
	return 0;
}

size_t ip6_opts_hdr_len(size_t opts_len)
{
	size_t n = (2 + opts_len + 7) & ~(size_t)7;
	return n < IP6_OPTS_HDR_MAX ? n : IP6_OPTS_HDR_MAX;
}

void ip6_opts_hdr_emit(uint8_t next_hdr, const uint8_t *opts, size_t opts_len, uint8_t *buf)
{
	size_t hl = ip6_opts_hdr_len(opts_len);
	if (opts_len > hl - 2)
		opts_len = hl - 2;
	/* memmove: the options may already sit in buf. */
	if (opts_len && opts != buf + 2)
		memmove(buf + 2, opts, opts_len);
	buf[0] = next_hdr;
	buf[1] = (uint8_t)(hl / 8 - 1);
	size_t pad = hl - 2 - opts_len;
	uint8_t *p = buf + 2 + opts_len;
	if (pad == 1) {
		p[0] = IP6_OPT_PAD1;
	} else if (pad >= 2) {
		p[0] = IP6_OPT_PADN;
		p[1] = (uint8_t)(pad - 2);
		memset(p + 2, 0, pad - 2);
	}
}

void ip6_opt_router_alert(uint8_t *buf, uint16_t v)
{
	buf[0] = IP6_OPT_ROUTER_ALERT;
	buf[1] = 2;
	wr_be16(buf + 2, v);
}

/* Fold one option walk into the chain's record. */
static int walk_opts(const uint8_t *pkt, size_t off, size_t hlen, uint8_t type, struct ip6_ext_walk *w)
{
	struct ip6_opts_res o;
	int err = ip6_opts_walk(pkt, off, hlen, type, &o);
	unsigned u = (unsigned)w->n_unknown_opts + o.n_unknown;
	w->n_unknown_opts = (uint8_t)(u < UINT8_MAX ? u : UINT8_MAX);
	if (o.has_ra) {
		w->has_ra = 1;
		w->ra = o.ra;
	}
	if (err) {
		w->err_off = o.err_off;
		return err;
	}
	if (o.act_found) {
		w->opt_off = o.act_off;
		w->opt_type = o.act_type;
		w->opt_act = o.act;
		if (o.act == IP6_OPT_ACT_DISCARD) {
			w->end = IP6_END_DISCARD;
		} else {
			w->end = IP6_END_PARAM;
			w->pp_code = ICMP6_PP_OPTION;
			w->pp_ptr = o.act_off;
		}
		return 1; /* stop */
	}
	return 0;
}

int ip6_ext_walk_from(const uint8_t *pkt, size_t len, size_t off, uint8_t nh, size_t nh_off, unsigned flags,
		      struct ip6_ext_walk *w)
{
	memset(w, 0, sizeof *w);
	int skip = (flags & IP6_WALK_SKIP) != 0;
	if (off > len)
		return -EMSGSIZE;
	if (off > IP6_WALK_MAX_START || nh_off > off)
		return -E2BIG;
	/* Each pass walks one header and advances off by its length (8 at
	 * least) or returns; at most IP6_EXT_MAX_HDRS passes. */
	for (;;) {
		w->proto = nh;
		w->off = (uint16_t)off;
		w->nh_off = (uint16_t)nh_off;
		w->err_off = (uint16_t)off;
		if (nh != IP6_NH_HOPOPTS && nh != IP6_NH_DSTOPTS && nh != IP6_NH_ROUTING && nh != IP6_NH_FRAGMENT) {
			w->end = IP6_END_UPPER;
			w->err_off = 0;
			return 0;
		}
		if (nh == IP6_NH_HOPOPTS && nh_off != 6 && !skip) {
			/* RFC 8200 4.1: only right after the fixed header. */
			w->end = IP6_END_PARAM;
			w->pp_code = ICMP6_PP_NEXT_HEADER;
			w->pp_ptr = (uint32_t)nh_off;
			w->err_off = 0;
			return 0;
		}
		if (w->n == IP6_EXT_MAX_HDRS)
			return -E2BIG;
		size_t hlen;
		if (nh == IP6_NH_FRAGMENT) {
			hlen = IP6_FRAG_HDR_LEN;
		} else {
			if (len - off < 2)
				return -EMSGSIZE;
			hlen = ((size_t)pkt[off + 1] + 1) * 8;
		}
		if (hlen > len - off)
			return -EMSGSIZE;
		if (w->ext_len + hlen > IP6_EXT_MAX_BYTES)
			return -E2BIG;
		w->hdr[w->n].type = nh;
		w->hdr[w->n].off = (uint16_t)off;
		w->hdr[w->n].len = (uint16_t)hlen;
		w->n++;
		w->ext_len = (uint16_t)(w->ext_len + hlen);
		uint8_t next = pkt[off];

		switch (nh) {
		case IP6_NH_HOPOPTS:
			if (nh_off == 6)
				w->hbh = 1;
			/* fall through */
		case IP6_NH_DSTOPTS:
			if (!skip) {
				int rc = walk_opts(pkt, off, hlen, nh, w);
				if (rc < 0)
					return rc;
				if (rc > 0)
					return 0;
			}
			break;
		case IP6_NH_ROUTING:
			w->has_rt = 1;
			w->rt_off = (uint16_t)off;
			w->rt_type = pkt[off + 2];
			w->rt_segs_left = pkt[off + 3];
			if (w->rt_type == IP6_RT_TYPE0)
				w->rh0 = 1;
			/* A host knows no routing type: with segments left it is an
			 * error at the type byte, with none it is ignored. */
			if (w->rt_segs_left != 0 && !skip) {
				w->end = IP6_END_PARAM;
				w->pp_code = ICMP6_PP_HEADER;
				w->pp_ptr = (uint32_t)(off + 2);
				w->err_off = 0;
				return 0;
			}
			break;
		case IP6_NH_FRAGMENT:
			ip6_frag_parse(pkt + off, hlen, &w->frag);
			w->has_frag = 1;
			w->frag_hdr_off = (uint16_t)off;
			if (!ip6_frag_is_atomic(&w->frag) && !(skip && w->frag.offset == 0)) {
				w->end = IP6_END_FRAG;
				w->off = (uint16_t)(off + hlen);
				w->err_off = 0;
				return 0;
			}
			break;
		}
		nh_off = off;
		nh = next;
		off += hlen;
	}
}

int ip6_ext_walk(const uint8_t *pkt, size_t len, struct ip6_ext_walk *w)
{
	if (len < IPV6_HDR_LEN) {
		memset(w, 0, sizeof *w);
		return -EMSGSIZE;
	}
	return ip6_ext_walk_from(pkt, len, IPV6_HDR_LEN, pkt[6], 6, 0, w);
}

size_t ip6_upper_min_len(uint8_t proto)
{
	switch (proto) {
	case IP6_NH_TCP: return 20;
	case IP6_NH_UDP:
	case IP6_NH_ICMPV6: return 8;
	default: return 0;
	}
}

int ip6_frag_chain_ok(const uint8_t *pkt, size_t len, const struct ip6_ext_walk *w)
{
	if (w->end != IP6_END_FRAG || w->frag.offset != 0 || !w->frag.m)
		return -EINVAL;
	struct ip6_ext_walk s;
	int err = ip6_ext_walk_from(pkt, len, w->off, w->frag.next_hdr, w->frag_hdr_off, IP6_WALK_SKIP, &s);
	if (err)
		return err;
	if (s.end != IP6_END_UPPER)
		return -EINVAL; /* a later fragment header inside the first fragment */
	if (len - s.off < ip6_upper_min_len(s.proto))
		return -EMSGSIZE;
	return 0;
}
