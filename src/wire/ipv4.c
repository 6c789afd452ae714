/* IPv4 header (RFC 791), checked in the order of Linux's ip_rcv_core(). */
#include "wire/ipv4.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "wire/csum.h"

#define IPOPT_EOL 0
#define IPOPT_NOP 1
#define IPOPT_RR 7
#define IPOPT_TS 68
#define IPOPT_SEC 130
#define IPOPT_LSRR 131
#define IPOPT_SID 133
#define IPOPT_SSRR 137
#define IPOPT_RA 148

#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFMASK 0x1FFF

/* Walk the options in opt[0..n). Every step advances by at least one byte
 * and no read goes past n. RFC 791 pointers count from 1 at the type byte. */
static int ipv4_opts_walk(const uint8_t *opt, size_t n, uint8_t *unknown)
{
	size_t i = 0;
	while (i < n) {
		uint8_t kind = opt[i];
		if (kind == IPOPT_EOL)
			break;
		if (kind == IPOPT_NOP) {
			i++;
			continue;
		}
		if (n - i < 2)
			return -EINVAL; /* no room for the length byte */
		uint8_t olen = opt[i + 1];
		if (olen < 2 || olen > n - i)
			return -EINVAL;
		switch (kind) {
		case IPOPT_RR:
		case IPOPT_LSRR:
		case IPOPT_SSRR:
			if (olen < 3 || opt[i + 2] < 4 || opt[i + 2] > olen + 1)
				return -EINVAL;
			break;
		case IPOPT_TS:
			if (olen < 4 || opt[i + 2] < 5 || opt[i + 2] > olen + 1)
				return -EINVAL;
			break;
		case IPOPT_RA: /* RFC 2113: always 4 bytes */
			if (olen != 4)
				return -EINVAL;
			break;
		case IPOPT_SEC:
		case IPOPT_SID:
			break;
		default:
			if (*unknown < UINT8_MAX)
				(*unknown)++;
			break;
		}
		i += olen;
	}
	return 0;
}

int ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_repr *r, int check_csum)
{
	memset(r, 0, sizeof *r);
	if (len < IPV4_HDR_LEN)
		return -EINVAL;
	if (buf[0] >> 4 != 4)
		return -EINVAL;
	size_t hl = (size_t)(buf[0] & 0x0F) * 4;
	if (hl < IPV4_HDR_LEN || hl > len)
		return -EINVAL;
	uint16_t tot = rd_be16(buf + 2);
	if (tot < hl)
		return -EINVAL;
	if (tot > len)
		return -EMSGSIZE;
	if (check_csum && csum_ipv4_hdr(buf, hl) != 0)
		return -EBADMSG;
	int err = ipv4_opts_walk(buf + IPV4_HDR_LEN, hl - IPV4_HDR_LEN, &r->opt_unknown);
	if (err)
		return err;

	uint16_t frag = rd_be16(buf + 6);
	r->tos = buf[1];
	r->total_len = tot;
	r->hdr_len = (uint16_t)hl;
	r->payload_len = (uint16_t)(tot - hl);
	r->id = rd_be16(buf + 4);
	r->df = (frag & IP_DF) != 0;
	r->mf = (frag & IP_MF) != 0;
	r->frag_off = (uint16_t)((frag & IP_OFFMASK) * 8);
	r->ttl = buf[8];
	r->proto = buf[9];
	r->src = rd_be32(buf + 12);
	r->dst = rd_be32(buf + 16);
	return 0;
}

void ipv4_emit(const struct ipv4_repr *r, uint8_t *buf)
{
	uint16_t frag = (uint16_t)((r->frag_off / 8) & IP_OFFMASK);
	if (r->df)
		frag |= IP_DF;
	if (r->mf)
		frag |= IP_MF;
	buf[0] = 0x45;
	buf[1] = r->tos;
	wr_be16(buf + 2, (uint16_t)(IPV4_HDR_LEN + r->payload_len));
	wr_be16(buf + 4, r->id);
	wr_be16(buf + 6, frag);
	buf[8] = r->ttl;
	buf[9] = r->proto;
	wr_be16(buf + 10, 0);
	wr_be32(buf + 12, r->src);
	wr_be32(buf + 16, r->dst);
	wr_be16(buf + 10, csum_ipv4_hdr(buf, IPV4_HDR_LEN));
}
