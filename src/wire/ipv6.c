/* IPv6 fixed header (RFC 8200 3), checked in the order of Linux's
 * ip6_rcv_core(), and address classes (RFC 4291, RFC 6724 3.1). */
#include "wire/ipv6.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"

const struct ip6_addr ip6_any = {{0}};
const struct ip6_addr ip6_loopback = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
const struct ip6_addr ip6_all_nodes = {{0xFF, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
const struct ip6_addr ip6_all_routers = {{0xFF, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};

/* ff02::1:ff00:0/104 */
static const uint8_t solicited_prefix[13] = {0xFF, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF};
/* ::ffff:0:0/96 */
static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

int ipv6_parse_head(const uint8_t *buf, size_t len, struct ipv6_repr *r)
{
	memset(r, 0, sizeof *r);
	if (len < IPV6_HDR_LEN)
		return -EINVAL;
	if (buf[0] >> 4 != 6)
		return -EINVAL;
	uint32_t w = rd_be32(buf);
	r->tclass = (uint8_t)(w >> 20);
	r->flow = w & 0xFFFFFu;
	r->payload_len = rd_be16(buf + 4);
	r->next_hdr = buf[6];
	r->hop_limit = buf[7];
	memcpy(r->src.b, buf + 8, IP6_ADDR_LEN);
	memcpy(r->dst.b, buf + 24, IP6_ADDR_LEN);
	return 0;
}

int ipv6_parse(const uint8_t *buf, size_t len, struct ipv6_repr *r)
{
	int err = ipv6_parse_head(buf, len, r);
	if (err)
		return err;
	if (r->payload_len == 0 && r->next_hdr == IP6_NH_HOPOPTS)
		err = -EOPNOTSUPP; /* a jumbogram (RFC 2675) */
	else if ((size_t)r->payload_len > len - IPV6_HDR_LEN)
		err = -EMSGSIZE;
	if (err)
		memset(r, 0, sizeof *r);
	return err;
}

void ipv6_emit(const struct ipv6_repr *r, uint8_t *buf)
{
	wr_be32(buf, 6u << 28 | (uint32_t)r->tclass << 20 | (r->flow & 0xFFFFFu));
	wr_be16(buf + 4, r->payload_len);
	buf[6] = r->next_hdr;
	buf[7] = r->hop_limit;
	memcpy(buf + 8, r->src.b, IP6_ADDR_LEN);
	memcpy(buf + 24, r->dst.b, IP6_ADDR_LEN);
}

int ip6_is_v4mapped(const struct ip6_addr *a) { return memcmp(a->b, v4mapped_prefix, sizeof v4mapped_prefix) == 0; }

uint32_t ip6_v4mapped_get(const struct ip6_addr *a) { return rd_be32(a->b + 12); }

struct ip6_addr ip6_v4mapped(uint32_t v4)
{
	struct ip6_addr a;
	memcpy(a.b, v4mapped_prefix, sizeof v4mapped_prefix);
	wr_be32(a.b + 12, v4);
	return a;
}

struct ip6_addr ip6_solicited_node(const struct ip6_addr *a)
{
	struct ip6_addr g;
	memcpy(g.b, solicited_prefix, sizeof solicited_prefix);
	memcpy(g.b + 13, a->b + 13, 3);
	return g;
}

int ip6_is_solicited_node(const struct ip6_addr *a)
{
	return memcmp(a->b, solicited_prefix, sizeof solicited_prefix) == 0;
}

uint8_t ip6_addr_scope(const struct ip6_addr *a)
{
	if (ip6_is_mcast(a))
		return ip6_mcast_scope(a);
	if (ip6_is_linklocal(a) || ip6_is_loopback(a))
		return IP6_SCOPE_LINK;
	return IP6_SCOPE_GLOBAL;
}

int ip6_prefix_eq(const struct ip6_addr *a, const struct ip6_addr *b, unsigned plen)
{
	if (plen > 128)
		plen = 128;
	unsigned whole = plen / 8, rest = plen % 8;
	if (memcmp(a->b, b->b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return ((a->b[whole] ^ b->b[whole]) & mask) == 0;
}

struct ip6_addr ip6_prefix(const struct ip6_addr *a, unsigned plen)
{
	struct ip6_addr p = *a;
	if (plen >= 128)
		return p;
	unsigned whole = plen / 8, rest = plen % 8;
	if (rest)
		p.b[whole++] &= (uint8_t)(0xFF << (8 - rest));
	memset(p.b + whole, 0, IP6_ADDR_LEN - whole);
	return p;
}

void ip6_mcast_mac(const struct ip6_addr *a, uint8_t mac[6])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, a->b + 12, 4);
}

int ip6_iid_reserved(const uint8_t iid[8])
{
	static const uint8_t zero[8], pmip[6] = {0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00},
				      anycast[7] = {0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	if (!memcmp(iid, zero, 8))
		return 1;
	if (!memcmp(iid, pmip, 6) && ((unsigned)iid[6] << 8 | iid[7]) <= 0x5212)
		return 1;
	return !memcmp(iid, anycast, 7) && iid[7] >= 0x80;
}

void ip6_iid_eui64(const uint8_t mac[6], uint8_t iid[8])
{
	iid[0] = mac[0] ^ 0x02; /* the universal/local bit, inverted */
	iid[1] = mac[1];
	iid[2] = mac[2];
	iid[3] = 0xFF;
	iid[4] = 0xFE;
	iid[5] = mac[3];
	iid[6] = mac[4];
	iid[7] = mac[5];
}
