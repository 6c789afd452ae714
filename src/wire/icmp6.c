/* ICMPv6 (RFC 4443): the 8-byte header, the checksum over the IPv6
 * pseudo-header (RFC 8200 8.1), and the quoted invoking packet. */
#include "wire/icmp6.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "wire/csum.h"

int icmp6_parse(const uint8_t *buf, size_t len, const struct ip6_addr *src, const struct ip6_addr *dst,
		struct icmp6_repr *r, int check_csum)
{
	memset(r, 0, sizeof *r);
	if (len < ICMP6_HDR_LEN)
		return -EINVAL;
	if (len > UINT32_MAX)
		return -EINVAL;
	if (check_csum && csum_fold(csum_partial(buf, len, csum_pseudo6(src, dst, IP6_NH_ICMPV6, (uint32_t)len))) != 0)
		return -EBADMSG;
	r->type = buf[0];
	r->code = buf[1];
	r->csum = rd_be16(buf + 2);
	r->rest = rd_be32(buf + 4);
	r->payload = buf + ICMP6_HDR_LEN;
	r->payload_len = len - ICMP6_HDR_LEN;
	return 0;
}

void icmp6_emit(const struct icmp6_repr *r, const struct ip6_addr *src, const struct ip6_addr *dst, uint8_t *buf)
{
	/* memmove: the payload may overlap its destination (an echo reply
	 * built in the request's buffer, a quote of the packet in place). */
	if (r->payload_len && r->payload && r->payload != buf + ICMP6_HDR_LEN)
		memmove(buf + ICMP6_HDR_LEN, r->payload, r->payload_len);
	size_t len = ICMP6_HDR_LEN + r->payload_len;
	buf[0] = r->type;
	buf[1] = r->code;
	wr_be16(buf + 2, 0);
	wr_be32(buf + 4, r->rest);
	wr_be16(buf + 2, csum_fold(csum_partial(buf, len, csum_pseudo6(src, dst, IP6_NH_ICMPV6, (uint32_t)len))));
}

void icmp6_error_repr(struct icmp6_repr *r, uint8_t type, uint8_t code, uint32_t rest, const uint8_t *inv,
		      size_t inv_len)
{
	memset(r, 0, sizeof *r);
	r->type = type;
	r->code = code;
	r->rest = rest;
	r->payload = inv;
	r->payload_len = icmp6_quote_len(inv_len, 0);
}

int icmp6_quote_parse(const struct icmp6_repr *r, struct icmp6_quote *q)
{
	memset(q, 0, sizeof *q);
	const uint8_t *p = r->payload;
	size_t n = r->payload_len;
	if (!p || n < IPV6_HDR_LEN)
		return -EINVAL;
	int err = ipv6_parse_head(p, n, &q->ip);
	if (err)
		return err;
	struct ip6_ext_walk w;
	err = ip6_ext_walk_from(p, n, IPV6_HDR_LEN, q->ip.next_hdr, 6, IP6_WALK_SKIP, &w);
	if (err) {
		memset(q, 0, sizeof *q);
		return err;
	}
	q->proto = w.proto;
	q->frag = w.end == IP6_END_FRAG;
	q->l4 = p + w.off;
	q->l4_len = n - w.off;
	return 0;
}
