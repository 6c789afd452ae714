/* The checks the IPv6 wire/ fuzz targets share (fuzz_ipv6, fuzz_ip6ext,
 * fuzz_icmp6, fuzz_nd6, and the v6 branch of fuzz_wire's frame walk).
 * Included at the end of wire_checks.h, whose CHECK, scratch and
 * same_csum it uses. As there: every successful parse is re-emitted and
 * parsed again and the two must agree, and every promise a header makes
 * about offsets and lengths is checked; a broken one abort()s. */
#ifndef US_FUZZ_WIRE6_CHECKS_H
#define US_FUZZ_WIRE6_CHECKS_H
#include "wire/icmp6.h"
#include "wire/ip6ext.h"
#include "wire/ipv6.h"
#include "wire/mld6.h"
#include "wire/nd6.h"

/* The address helpers agree with each other on a. */
static inline void fuzz_addr6(const struct ip6_addr *a)
{
	int ll = ip6_is_linklocal(a), ula = ip6_is_ula(a), mc = ip6_is_mcast(a);
	CHECK(ll + ula + mc <= 1);
	CHECK(!ip6_is_unspecified(a) || (!ip6_is_loopback(a) && !mc && ip6_addr_scope(a) == IP6_SCOPE_GLOBAL));
	if (mc)
		CHECK(ip6_addr_scope(a) == ip6_mcast_scope(a));
	else if (ll || ip6_is_loopback(a))
		CHECK(ip6_addr_scope(a) == IP6_SCOPE_LINK);
	else
		CHECK(ip6_addr_scope(a) == IP6_SCOPE_GLOBAL);
	struct ip6_addr g = ip6_solicited_node(a);
	CHECK(ip6_is_solicited_node(&g) && ip6_is_mcast(&g) && ip6_mcast_scope(&g) == IP6_SCOPE_LINK);
	CHECK(!memcmp(g.b + 13, a->b + 13, 3));
	if (ip6_is_solicited_node(a))
		CHECK(ip6_addr_eq(&g, a));
	if (ip6_is_v4mapped(a)) {
		struct ip6_addr m = ip6_v4mapped(ip6_v4mapped_get(a));
		CHECK(ip6_addr_eq(&m, a));
	}
	unsigned plen = a->b[15] % 130;
	struct ip6_addr p = ip6_prefix(a, plen);
	CHECK(ip6_prefix_eq(&p, a, plen));
	for (unsigned k = plen; k < 128; k++)
		CHECK(!((p.b[k / 8] >> (7 - k % 8)) & 1));
	struct ip6_addr q = ip6_prefix(&p, plen);
	CHECK(ip6_addr_eq(&p, &q));
	uint8_t mac[6];
	ip6_mcast_mac(a, mac);
	CHECK(mac[0] == 0x33 && mac[1] == 0x33 && !memcmp(mac + 2, a->b + 12, 4));
}

static inline void fuzz_ipv6(const uint8_t *d, size_t n)
{
	struct ipv6_repr a, b, h;
	int err = ipv6_parse(d, n, &a);
	int herr = ipv6_parse_head(d, n, &h);
	/* The checks by their definitions, in their order. */
	if (n < IPV6_HDR_LEN || d[0] >> 4 != 6) {
		CHECK(err == -EINVAL && herr == -EINVAL);
		return;
	}
	CHECK(herr == 0);
	uint16_t plen = rd_be16(d + 4);
	if (plen == 0 && d[6] == IP6_NH_HOPOPTS)
		CHECK(err == -EOPNOTSUPP);
	else if ((size_t)plen + IPV6_HDR_LEN > n)
		CHECK(err == -EMSGSIZE);
	else
		CHECK(err == 0);
	fuzz_addr6(&h.src);
	fuzz_addr6(&h.dst);
	if (err != 0)
		return;
	CHECK(!memcmp(&a, &h, sizeof a));
	CHECK(a.flow <= 0xFFFFF && a.payload_len == plen);
	/* Every bit of the header is carried: it re-emits byte for byte. */
	ipv6_emit(&a, scratch);
	CHECK(!memcmp(scratch, d, IPV6_HDR_LEN));
	memcpy(scratch + IPV6_HDR_LEN, d + IPV6_HDR_LEN, a.payload_len);
	CHECK(ipv6_parse(scratch, IPV6_HDR_LEN + (size_t)a.payload_len, &b) == 0);
	CHECK(!memcmp(&a, &b, sizeof a));
}

/* The promises of a walk over pkt[0..len) from off. */
static inline void check_walk(const uint8_t *pkt, size_t len, size_t off, int rc, const struct ip6_ext_walk *w,
			      unsigned flags)
{
	CHECK(rc == 0 || rc == -EMSGSIZE || rc == -EINVAL || rc == -E2BIG);
	CHECK(w->n <= IP6_EXT_MAX_HDRS && w->ext_len <= IP6_EXT_MAX_BYTES);
	size_t at = off, sum = 0;
	for (int i = 0; i < w->n; i++) {
		const struct ip6_ext_hdr *x = &w->hdr[i];
		CHECK(x->off == at && x->len >= 8 && x->len % 8 == 0 && (size_t)x->off + x->len <= len);
		CHECK(x->type == IP6_NH_HOPOPTS || x->type == IP6_NH_DSTOPTS || x->type == IP6_NH_ROUTING ||
		      x->type == IP6_NH_FRAGMENT);
		CHECK(x->type != IP6_NH_FRAGMENT || x->len == 8);
		CHECK(x->type != IP6_NH_HOPOPTS || flags || (i == 0 && off == IPV6_HDR_LEN) || w->end == IP6_END_PARAM);
		at += x->len;
		sum += x->len;
	}
	CHECK(sum == w->ext_len);
	if (rc != 0) {
		CHECK(w->err_off <= len);
		return;
	}
	switch (w->end) {
	case IP6_END_UPPER:
		CHECK(w->off == at && w->off <= len);
		CHECK(!(w->proto == IP6_NH_HOPOPTS || w->proto == IP6_NH_DSTOPTS || w->proto == IP6_NH_ROUTING ||
			w->proto == IP6_NH_FRAGMENT));
		CHECK(w->nh_off < w->off && pkt[w->nh_off] == w->proto);
		/* the extension headers it does not walk (RFC 7045) end it too */
		CHECK(!ip6_is_ext_hdr(w->proto) || w->proto == IP6_NH_ESP || w->proto == IP6_NH_AH ||
		      w->proto == IP6_NH_MOBILITY || w->proto == IP6_NH_HIP || w->proto == IP6_NH_SHIM6 ||
		      w->proto == IP6_NH_EXP1 || w->proto == IP6_NH_EXP2);
		break;
	case IP6_END_FRAG:
		CHECK(w->n > 0 && w->hdr[w->n - 1].type == IP6_NH_FRAGMENT && w->off == at);
		CHECK(w->has_frag && w->frag_hdr_off + 8 == w->off && !ip6_frag_is_atomic(&w->frag));
		CHECK(!flags || w->frag.offset != 0);
		CHECK(w->frag.offset % 8 == 0 && w->frag.next_hdr == pkt[w->frag_hdr_off]);
		break;
	case IP6_END_DISCARD:
		CHECK(!flags && w->opt_act == IP6_OPT_ACT_DISCARD && w->opt_off < len);
		CHECK(pkt[w->opt_off] == w->opt_type && ip6_opt_action(w->opt_type) == IP6_OPT_ACT_DISCARD);
		break;
	case IP6_END_PARAM:
		CHECK(!flags && w->pp_ptr < len);
		if (w->pp_code == ICMP6_PP_OPTION)
			CHECK(w->opt_act >= IP6_OPT_ACT_PARAM && pkt[w->pp_ptr] == w->opt_type &&
			      w->pp_ptr == w->opt_off);
		else if (w->pp_code == ICMP6_PP_HEADER)
			CHECK(w->has_rt && w->rt_segs_left != 0 && w->pp_ptr == (uint32_t)w->rt_off + 2);
		else
			CHECK(w->pp_code == ICMP6_PP_NEXT_HEADER && pkt[w->pp_ptr] == IP6_NH_HOPOPTS && w->pp_ptr != 6);
		break;
	default: CHECK(0);
	}
}

/* The walker on the IPv6 packet d, as received and skipping. */
static inline void fuzz_ip6ext(const uint8_t *d, size_t n)
{
	struct ipv6_repr h;
	if (n < IPV6_HDR_LEN)
		return;
	/* The length as the caller trims it, or (to reach the walk whatever
	 * the payload length says) the whole input. */
	size_t len = ipv6_parse(d, n, &h) == 0 ? IPV6_HDR_LEN + (size_t)h.payload_len : n;
	struct ip6_ext_walk w, k;
	int rc = ip6_ext_walk(d, len, &w);
	check_walk(d, len, IPV6_HDR_LEN, rc, &w, 0);
	int rk = ip6_ext_walk_from(d, len, IPV6_HDR_LEN, d[6], 6, IP6_WALK_SKIP, &k);
	check_walk(d, len, IPV6_HDR_LEN, rk, &k, IP6_WALK_SKIP);
	/* Skipping walks the same headers, judges less, and goes on past a
	 * first fragment: it ends where the full walk does or later. */
	if (rc == 0 && w.end == IP6_END_UPPER)
		CHECK(rk == 0 && k.end == IP6_END_UPPER && k.off == w.off && k.proto == w.proto && k.n == w.n);
	if (rc == -EMSGSIZE)
		CHECK(rk == -EMSGSIZE && k.err_off == w.err_off);
	if (rk != 0)
		CHECK(rc != 0 || w.end != IP6_END_UPPER);
	if (rc == 0 && w.end == IP6_END_FRAG) {
		int c = ip6_frag_chain_ok(d, len, &w);
		CHECK(c == 0 || c == -EMSGSIZE || c == -EINVAL || c == -E2BIG);
		CHECK(!(w.frag.offset != 0 || !w.frag.m) || c == -EINVAL);
		/* Reassembly resumes the walk after the fragment header. */
		struct ip6_ext_walk r;
		int rr = ip6_ext_walk_from(d, len, w.off, w.frag.next_hdr, w.frag_hdr_off, 0, &r);
		check_walk(d, len, w.off, rr, &r, 0);
	}
	/* Each options header re-emits to its own bytes (its length leaves
	 * no padding to add) and walks the same again. */
	for (int i = 0; i < w.n; i++) {
		const struct ip6_ext_hdr *x = &w.hdr[i];
		if (x->type == IP6_NH_FRAGMENT) {
			struct ip6_frag_repr f, g;
			CHECK(ip6_frag_parse(d + x->off, 8, &f) == 0);
			ip6_frag_emit(&f, scratch);
			CHECK(ip6_frag_parse(scratch, 8, &g) == 0 && !memcmp(&f, &g, sizeof f));
			CHECK(scratch[0] == d[x->off] && scratch[1] == 0 && !memcmp(scratch + 4, d + x->off + 4, 4));
			CHECK(rd_be16(scratch + 2) == (rd_be16(d + x->off + 2) & 0xFFF9));
			continue;
		}
		if (x->type == IP6_NH_ROUTING)
			continue;
		CHECK(ip6_opts_hdr_len((size_t)x->len - 2) == x->len);
		ip6_opts_hdr_emit(d[x->off], d + x->off + 2, (size_t)x->len - 2, scratch);
		CHECK(!memcmp(scratch, d + x->off, x->len));
		struct ip6_opts_res o1, o2;
		int e1 = ip6_opts_walk(d, x->off, x->len, x->type, &o1);
		int e2 = ip6_opts_walk(scratch, 0, x->len, x->type, &o2);
		CHECK(e1 == e2 && o1.n_opts == o2.n_opts && o1.act_found == o2.act_found);
	}
	/* The option walker on the input itself as one header's options. */
	if (n >= 2) {
		size_t hl = US_MIN(n, (size_t)IP6_OPTS_HDR_MAX);
		struct ip6_opts_res o;
		int e = ip6_opts_walk(d, 0, hl, d[0] & 1 ? IP6_NH_HOPOPTS : IP6_NH_DSTOPTS, &o);
		CHECK(e == 0 || e == -EINVAL || e == -E2BIG);
		CHECK(o.n_opts <= IP6_OPTS_MAX + 1);
		if (e == 0 && o.act_found)
			CHECK(o.act_off >= 2 && o.act_off < hl && d[o.act_off] == o.act_type && o.act != 0 &&
			      ip6_opt_action(o.act_type) == o.act);
		if (e)
			CHECK(o.err_off >= 2 && o.err_off < hl);
	}
}

/* Pseudo-header addresses for the ICMPv6 and NDP targets: the input's
 * first 32 bytes, so the fuzzer steers the checksum and address rules. */
static inline int take_addrs6(const uint8_t **d, size_t *n, struct ip6_addr *src, struct ip6_addr *dst)
{
	if (*n < 32 || *n - 32 > IPV6_MAX_PAYLOAD)
		return -1;
	memcpy(src->b, *d, 16);
	memcpy(dst->b, *d + 16, 16);
	*d += 32;
	*n -= 32;
	return 0;
}

static inline void fuzz_icmp6(const uint8_t *d, size_t n, const struct ip6_addr *src, const struct ip6_addr *dst)
{
	struct icmp6_repr a, b;
	int err = icmp6_parse(d, n, src, dst, &a, 0);
	int err_c = icmp6_parse(d, n, src, dst, &b, 1);
	CHECK(err_c == err || (err == 0 && err_c == -EBADMSG));
	CHECK(err == (n < ICMP6_HDR_LEN ? -EINVAL : 0));
	if (err != 0)
		return;
	CHECK(a.payload == d + 8 && a.payload_len == n - 8 && a.type == d[0] && a.code == d[1]);
	icmp6_emit(&a, src, dst, scratch); /* moves the payload from d */
	CHECK(icmp6_parse(scratch, n, src, dst, &b, 1) == 0);
	CHECK(b.type == a.type && b.code == a.code && b.rest == a.rest && b.payload_len == a.payload_len);
	CHECK(!memcmp(scratch, d, 2) && !memcmp(scratch + 4, d + 4, n - 4));
	if (err_c == 0)
		CHECK(same_csum(b.csum, a.csum));
	/* An error: its quote read back. */
	if (icmp6_is_error(a.type)) {
		struct icmp6_quote q;
		int e = icmp6_quote_parse(&a, &q);
		CHECK(e == 0 || e == -EINVAL || e == -EMSGSIZE || e == -E2BIG);
		if (e == 0) {
			CHECK(q.l4 >= a.payload + IPV6_HDR_LEN && q.l4 + q.l4_len == a.payload + a.payload_len);
			CHECK(q.frag == (q.proto == IP6_NH_FRAGMENT));
			CHECK(!memcmp(q.ip.src.b, a.payload + 8, 16) && !memcmp(q.ip.dst.b, a.payload + 24, 16));
		} else {
			CHECK(q.l4 == NULL && q.l4_len == 0);
		}
	}
	/* As an MLD query (whatever its type says, to reach every length):
	 * taken only at 24 bytes or at 28 with its sources inside. */
	struct icmp6_repr qa = a;
	qa.type = ICMP6_MLD_QUERY;
	struct mld_query mq;
	int me = mld_query_parse(&qa, n, &mq);
	CHECK(me == 0 || me == -EINVAL);
	if (me == 0) {
		CHECK(n == MLD1_LEN ? mq.version == 1 : (mq.version == 2 && n >= MLD2_QUERY_MIN &&
							   (size_t)MLD2_QUERY_MIN + 16u * mq.n_src <= n));
		CHECK(!memcmp(mq.group.b, a.payload, 16));
	} else {
		CHECK(n < MLD1_LEN || (n > MLD1_LEN && n < MLD2_QUERY_MIN) ||
		      (n >= MLD2_QUERY_MIN && (size_t)MLD2_QUERY_MIN + 16u * rd_be16(a.payload + 18) > n));
	}
	/* The input quoted by an error of our own: within 1280 bytes, valid. */
	struct icmp6_repr e;
	icmp6_error_repr(&e, ICMP6_PARAM_PROB, ICMP6_PP_HEADER, 42, d, n);
	CHECK(e.payload_len == (n < ICMP6_QUOTE_MAX ? n : ICMP6_QUOTE_MAX));
	icmp6_emit(&e, dst, src, scratch);
	CHECK(icmp6_parse(scratch, ICMP6_HDR_LEN + e.payload_len, dst, src, &b, 1) == 0);
	CHECK(b.type == ICMP6_PARAM_PROB && icmp6_pointer(&b) == 42 && !memcmp(b.payload, d, e.payload_len));
}

/* The options b holds are those a held (a's were emitted, b parsed back). */
static inline void same_nd6(const struct nd6_repr *a, const struct nd6_repr *b)
{
	CHECK(a->type == b->type && a->cur_hop_limit == b->cur_hop_limit && a->ra_flags == b->ra_flags);
	CHECK(a->router_lifetime == b->router_lifetime && a->reachable_time == b->reachable_time);
	CHECK(a->retrans_timer == b->retrans_timer && ip6_addr_eq(&a->target, &b->target));
	CHECK(a->na_flags == b->na_flags);
	const struct nd6_opts *x = &a->opts, *y = &b->opts;
	CHECK(!x->sll == !y->sll && (!x->sll || (x->sll_len == y->sll_len && !memcmp(x->sll, y->sll, x->sll_len))));
	CHECK(!x->tll == !y->tll && (!x->tll || (x->tll_len == y->tll_len && !memcmp(x->tll, y->tll, x->tll_len))));
	CHECK(!x->nonce == !y->nonce &&
	      (!x->nonce || (x->nonce_len == y->nonce_len && !memcmp(x->nonce, y->nonce, x->nonce_len))));
	CHECK(x->has_mtu == y->has_mtu && x->mtu == y->mtu && x->n_prefix == y->n_prefix);
	for (int i = 0; i < x->n_prefix; i++)
		CHECK(!memcmp(&x->prefix[i], &y->prefix[i], sizeof x->prefix[i]));
	CHECK(y->n_dup == 0 && y->n_bad == 0 && y->n_unknown == 0 && y->n_prefix_over == 0);
}

static inline int in_buf(const uint8_t *p, size_t plen, const uint8_t *buf, size_t n)
{
	return p >= buf && p + plen <= buf + n;
}

static inline void fuzz_nd6(const uint8_t *d, size_t n, const struct ip6_addr *src, const struct ip6_addr *dst)
{
	struct icmp6_repr ic, ic2;
	struct nd6_repr a, b;
	if (icmp6_parse(d, n, src, dst, &ic, 0) != 0)
		return;
	int err = nd6_parse(&ic, src, dst, &a);
	int is_nd = ic.type >= ICMP6_ND_RS && ic.type <= ICMP6_ND_REDIRECT;
	CHECK(is_nd ? (err == 0 || err == -EINVAL) : err == -EPROTONOSUPPORT);
	if (err != 0 || a.type == ICMP6_ND_REDIRECT)
		return;
	/* What was accepted obeys RFC 4861's rules, checked afresh. */
	const struct nd6_opts *o = &a.opts;
	CHECK(ic.code == 0 && a.type == ic.type);
	CHECK(!o->sll || in_buf(o->sll, o->sll_len, d, n));
	CHECK(!o->tll || in_buf(o->tll, o->tll_len, d, n));
	CHECK(!o->nonce || in_buf(o->nonce, o->nonce_len, d, n));
	CHECK(o->n_prefix <= ND6_MAX_PREFIXES);
	for (int i = 0; i < o->n_prefix; i++) {
		struct ip6_addr m = ip6_prefix(&o->prefix[i].prefix, o->prefix[i].len);
		CHECK(o->prefix[i].len <= 128 && ip6_addr_eq(&m, &o->prefix[i].prefix));
	}
	switch (a.type) {
	case ICMP6_ND_RS: CHECK(n >= ND6_RS_LEN && (!ip6_is_unspecified(src) || !o->sll)); break;
	case ICMP6_ND_RA: CHECK(n >= ND6_RA_LEN && ip6_is_linklocal(src)); break;
	case ICMP6_ND_NS:
		CHECK(n >= ND6_NS_LEN && !ip6_is_mcast(&a.target));
		CHECK(!ip6_is_unspecified(src) || (ip6_is_solicited_node(dst) && !o->sll));
		break;
	case ICMP6_ND_NA:
		CHECK(n >= ND6_NA_LEN && !ip6_is_mcast(&a.target));
		CHECK(!ip6_is_mcast(dst) || !(a.na_flags & ND6_NA_SOLICITED));
		break;
	default: CHECK(0);
	}
	/* Emitted, parsed back: the same, and a fixed point. */
	size_t len = nd6_len(&a);
	CHECK(len >= ICMP6_HDR_LEN && len <= IPV6_MAX_PAYLOAD + 4096);
	static uint8_t out2[IPV6_MAX_PAYLOAD + 8192];
	CHECK(nd6_emit(&a, src, dst, scratch) == len);
	CHECK(icmp6_parse(scratch, len, src, dst, &ic2, 1) == 0);
	CHECK(nd6_parse(&ic2, src, dst, &b) == 0);
	/* Options come back padded to 8 bytes: compare b with a after one
	 * more round, where nothing changes any more. */
	struct nd6_repr c;
	CHECK(nd6_len(&b) == len && nd6_emit(&b, src, dst, out2) == len && !memcmp(out2, scratch, len));
	CHECK(icmp6_parse(out2, len, src, dst, &ic2, 1) == 0 && nd6_parse(&ic2, src, dst, &c) == 0);
	same_nd6(&b, &c);
	CHECK(!memcmp(a.opts.prefix, b.opts.prefix, sizeof a.opts.prefix[0] * a.opts.n_prefix));
	CHECK(b.opts.has_mtu == a.opts.has_mtu && b.opts.mtu == a.opts.mtu && ip6_addr_eq(&a.target, &b.target));
}

/* The v6 half of fuzz_chain: a frame's IPv6 packet walked to its upper
 * layer the way the receive path will. */
static inline void fuzz_chain6(const uint8_t *d, size_t n)
{
	struct ipv6_repr h;
	fuzz_ipv6(d, n);
	if (ipv6_parse(d, n, &h) != 0)
		return;
	size_t len = IPV6_HDR_LEN + (size_t)h.payload_len;
	fuzz_ip6ext(d, len);
	struct ip6_ext_walk w;
	if (ip6_ext_walk(d, len, &w) != 0 || w.end != IP6_END_UPPER)
		return;
	const uint8_t *l4 = d + w.off;
	size_t l4n = len - w.off;
	switch (w.proto) {
	case IP6_NH_ICMPV6:
		fuzz_icmp6(l4, l4n, &h.src, &h.dst);
		fuzz_nd6(l4, l4n, &h.src, &h.dst);
		break;
	case IP6_NH_UDP: /* the v4 checks, without a v6 pseudo-header */ fuzz_udp(l4, l4n, 0, 0); break;
	case IP6_NH_TCP: fuzz_tcp(l4, l4n, 0, 0); break;
	}
}
#endif
