/* ARP for Ethernet and IPv4 (RFC 826). */
#include "wire/arp.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"

#define ARP_HTYPE_ETHER 1
#define ARP_PTYPE_IPV4 0x0800

int arp_parse(const uint8_t *buf, size_t len, struct arp_repr *r)
{
	memset(r, 0, sizeof *r);
	if (len < ARP_LEN)
		return -EINVAL;
	if (rd_be16(buf) != ARP_HTYPE_ETHER || rd_be16(buf + 2) != ARP_PTYPE_IPV4 || buf[4] != 6 || buf[5] != 4)
		return -EINVAL;
	uint16_t op = rd_be16(buf + 6);
	if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
		return -EINVAL;
	r->op = op;
	memcpy(r->sha, buf + 8, 6);
	r->spa = rd_be32(buf + 14);
	memcpy(r->tha, buf + 18, 6);
	r->tpa = rd_be32(buf + 24);
	return 0;
}

void arp_emit(const struct arp_repr *r, uint8_t *buf)
{
	wr_be16(buf, ARP_HTYPE_ETHER);
	wr_be16(buf + 2, ARP_PTYPE_IPV4);
	buf[4] = 6;
	buf[5] = 4;
	wr_be16(buf + 6, r->op);
	memcpy(buf + 8, r->sha, 6);
	wr_be32(buf + 14, r->spa);
	memcpy(buf + 18, r->tha, 6);
	wr_be32(buf + 24, r->tpa);
}
