#ifndef US_WIRE_IPV4_H
#define US_WIRE_IPV4_H
#include <stddef.h>
#include <stdint.h>

#define IPV4_HDR_LEN 20
#define IPV4_MAX_LEN 65535
#define IP_PROTO_ICMP 1
#define IP_PROTO_IPIP 4
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define IP_PROTO_IPV6 41

struct ipv4_repr {
	uint32_t src, dst;      /* host byte order */
	uint8_t proto, ttl, tos;
	uint8_t df, mf;
	uint16_t id;
	uint16_t frag_off;      /* in bytes (field * 8) */
	uint16_t hdr_len;       /* IHL * 4 */
	uint16_t total_len;
	uint16_t payload_len;   /* total_len - hdr_len */
	uint8_t opt_unknown;    /* unknown options seen (skipped) */
};

/* Checks in the kernel's order: length >= 20 (-EINVAL), version 4 (-EINVAL),
 * IHL >= 5 (-EINVAL), IHL*4 <= len (-EINVAL), IHL*4 <= total length (-EINVAL),
 * total length <= len (-EMSGSIZE: truncated), checksum (-EBADMSG) if
 * check_csum, then the options walk (-EINVAL on malformed: length below 2,
 * past the header, bad pointer in RR/LSRR/SSRR/TS). Bytes past total length
 * (link padding) are the caller's to trim. */
int ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_repr *r, int check_csum);
/* Writes a 20-byte header (no options) with total_len = 20 + payload_len and
 * a valid checksum. */
void ipv4_emit(const struct ipv4_repr *r, uint8_t *buf);

/* Address classes (host byte order). */
static inline int ipv4_is_mcast(uint32_t a) { return (a >> 28) == 0xE; }
static inline int ipv4_is_loopback(uint32_t a) { return (a >> 24) == 127; }
static inline int ipv4_is_bcast(uint32_t a) { return a == 0xFFFFFFFFu; }
static inline int ipv4_is_zeronet(uint32_t a) { return (a >> 24) == 0; }
#endif
