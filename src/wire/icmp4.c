/* ICMP for IPv4 (RFC 792): the 8-byte header and a checksum over all. */
#include "wire/icmp4.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "wire/csum.h"

int icmp4_parse(const uint8_t *buf, size_t len, struct icmp4_repr *r, int check_csum)
{
	memset(r, 0, sizeof *r);
	if (len < ICMP4_HDR_LEN)
		return -EINVAL;
	if (check_csum && csum_fold(csum_partial(buf, len, 0)) != 0)
		return -EBADMSG;
	r->type = buf[0];
	r->code = buf[1];
	r->csum = rd_be16(buf + 2);
	r->rest = rd_be32(buf + 4);
	r->payload = buf + ICMP4_HDR_LEN;
	r->payload_len = len - ICMP4_HDR_LEN;
	return 0;
}

void icmp4_emit(const struct icmp4_repr *r, uint8_t *buf)
{
	/* memmove: the payload may overlap its destination (e.g. an echo reply
	 * built in the request's buffer at another offset). */
	if (r->payload_len && r->payload && r->payload != buf + ICMP4_HDR_LEN)
		memmove(buf + ICMP4_HDR_LEN, r->payload, r->payload_len);
	buf[0] = r->type;
	buf[1] = r->code;
	wr_be16(buf + 2, 0);
	wr_be32(buf + 4, r->rest);
	wr_be16(buf + 2, csum_fold(csum_partial(buf, ICMP4_HDR_LEN + r->payload_len, 0)));
}
