#ifndef US_WIRE_UDP_H
#define US_WIRE_UDP_H
#include <stddef.h>
#include <stdint.h>

#define UDP_HDR_LEN 8

struct udp_repr {
	uint16_t sport, dport;
	uint16_t len;            /* the header's length field */
	uint16_t csum;
	const uint8_t *payload;
	size_t payload_len;      /* len - 8: bytes past the UDP length are ignored */
};
/* 0; -EINVAL if len < 8, the length field < 8 or > len; -EBADMSG on a bad
 * checksum (if check_csum; a zero checksum means none was sent).
 * src/dst: IPv4 addresses in host byte order for the pseudo-header. */
int udp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst, struct udp_repr *r, int check_csum);
/* The same for either family, ph the pseudo-header sum without the length
 * (see tcp_parse_ph). check_csum UDP_CSUM_REQUIRED (IPv6): a zero checksum
 * is -EPROTO. */
#define UDP_CSUM_REQUIRED 2
int udp_parse_ph(const uint8_t *buf, size_t len, uint32_t ph, struct udp_repr *r, int check_csum);
/* Writes the header at buf for the payload_len bytes already at buf + 8 and
 * a checksum over them (0 is sent as 0xFFFF). */
void udp_emit(uint16_t sport, uint16_t dport, uint32_t src, uint32_t dst, uint8_t *buf, size_t payload_len);
void udp_emit_ph(uint16_t sport, uint16_t dport, uint32_t ph, uint8_t *buf, size_t payload_len);
#endif
