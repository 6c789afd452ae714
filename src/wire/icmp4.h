#ifndef US_WIRE_ICMP4_H
#define US_WIRE_ICMP4_H
#include <stddef.h>
#include <stdint.h>

#define ICMP4_HDR_LEN 8
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_REDIRECT 5
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMP_TIMESTAMP 13
/* dest-unreachable codes */
#define ICMP_NET_UNREACH 0
#define ICMP_HOST_UNREACH 1
#define ICMP_PROT_UNREACH 2
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED 4
/* time-exceeded codes */
#define ICMP_EXC_TTL 0
#define ICMP_EXC_FRAGTIME 1

struct icmp4_repr {
	uint8_t type, code;
	uint16_t csum;
	uint32_t rest;            /* bytes 4..7: echo id<<16|seq, next-hop MTU, pointer */
	const uint8_t *payload;   /* bytes after the 8-byte header */
	size_t payload_len;
};
static inline uint16_t icmp4_echo_id(const struct icmp4_repr *r) { return (uint16_t)(r->rest >> 16); }
static inline uint16_t icmp4_echo_seq(const struct icmp4_repr *r) { return (uint16_t)r->rest; }
static inline int icmp4_is_error(uint8_t type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH || type == ICMP_REDIRECT ||
	       type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
}
/* 0, -EINVAL if shorter than 8, -EBADMSG on a bad checksum (if check_csum). */
int icmp4_parse(const uint8_t *buf, size_t len, struct icmp4_repr *r, int check_csum);
/* Writes the 8-byte header at buf and the checksum over header and the
 * payload_len bytes that follow it; if r->payload is not buf + 8 the
 * payload is first moved there. */
void icmp4_emit(const struct icmp4_repr *r, uint8_t *buf);
#endif
