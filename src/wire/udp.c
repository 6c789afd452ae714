/* UDP header (RFC 768) with the pseudo-header checksum of either family. */
#include "wire/udp.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

int udp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst, struct udp_repr *r, int check_csum)
{
	return udp_parse_ph(buf, len, csum_pseudo4(src, dst, IP_PROTO_UDP, 0), r, check_csum);
}

int udp_parse_ph(const uint8_t *buf, size_t len, uint32_t ph, struct udp_repr *r, int check_csum)
{
	memset(r, 0, sizeof *r);
	if (len < UDP_HDR_LEN)
		return -EINVAL;
	uint16_t ulen = rd_be16(buf + 4);
	if (ulen < UDP_HDR_LEN || ulen > len)
		return -EINVAL;
	uint16_t csum = rd_be16(buf + 6);
	/* RFC 768: a zero checksum means the sender computed none; over IPv6
	 * one is required (RFC 8200 8.1). */
	if (csum == 0 && check_csum == UDP_CSUM_REQUIRED)
		return -EPROTO;
	if (check_csum && csum != 0 && csum_fold(csum_partial(buf, ulen, ph + ulen)) != 0)
		return -EBADMSG;
	r->sport = rd_be16(buf);
	r->dport = rd_be16(buf + 2);
	r->len = ulen;
	r->csum = csum;
	r->payload = buf + UDP_HDR_LEN;
	r->payload_len = (size_t)ulen - UDP_HDR_LEN;
	return 0;
}

void udp_emit(uint16_t sport, uint16_t dport, uint32_t src, uint32_t dst, uint8_t *buf, size_t payload_len)
{
	udp_emit_ph(sport, dport, csum_pseudo4(src, dst, IP_PROTO_UDP, 0), buf, payload_len);
}

void udp_emit_ph(uint16_t sport, uint16_t dport, uint32_t ph, uint8_t *buf, size_t payload_len)
{
	uint16_t ulen = (uint16_t)(UDP_HDR_LEN + payload_len);
	wr_be16(buf, sport);
	wr_be16(buf + 2, dport);
	wr_be16(buf + 4, ulen);
	wr_be16(buf + 6, 0);
	uint16_t c = csum_fold(csum_partial(buf, UDP_HDR_LEN + payload_len, ph + ulen));
	/* RFC 768: a computed 0 is sent as all ones; 0 would mean "none". */
	wr_be16(buf + 6, c ? c : 0xFFFF);
}
