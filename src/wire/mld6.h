/* MLD messages (RFC 3810 MLDv2, RFC 2710 MLDv1), the part a host needs:
 * queries in, reports and done messages out. Pure codecs over the ICMPv6
 * body that icmp6_parse found (struct icmp6_repr); checksums are
 * icmp6_emit's. */
#ifndef US_WIRE_MLD6_H
#define US_WIRE_MLD6_H
#include <stddef.h>
#include <stdint.h>

#include "wire/icmp6.h"
#include "wire/ipv6.h"

/* MLDv2 multicast address record types (RFC 3810 5.2.12). */
#define MLD2_MODE_IS_INCLUDE 1
#define MLD2_MODE_IS_EXCLUDE 2
#define MLD2_CHANGE_TO_INCLUDE 3
#define MLD2_CHANGE_TO_EXCLUDE 4
#define MLD1_LEN 24          /* an MLDv1 message, the ICMPv6 header included */
#define MLD2_QUERY_MIN 28    /* an MLDv2 query without sources */
#define MLD2_RECORD_LEN 20   /* a record without sources or auxiliary data */

struct mld_query {
	int version;            /* 1 or 2 (RFC 3810 8.1: by length) */
	uint32_t max_resp_ms;   /* Maximum Response Delay, ms (decoded) */
	struct ip6_addr group;  /* :: for a general query */
	uint8_t s_flag, qrv;    /* v2: suppress router-side processing; robustness variable */
	uint32_t qqi_s;         /* v2: querier's query interval, s (decoded) */
	uint16_t n_src;         /* v2: sources (a host answers them as a group query) */
};

/* The ICMPv6 message r of len bytes (a type 130 query) into q: 0, or
 * -EINVAL when its length is neither MLDv1's 24 nor at least 28 with its
 * sources inside (RFC 3810 8.1: others are ignored). */
int mld_query_parse(const struct icmp6_repr *r, size_t len, struct mld_query *q);
/* RFC 3810 5.1.3 and 5.1.9: the exponential forms of the codes. */
uint32_t mld2_max_resp_ms(uint16_t code);
uint32_t mld2_qqi_s(uint8_t qqic);
/* n records (types[i], groups[i]), no sources, at buf: returns the bytes
 * written, n * MLD2_RECORD_LEN: the payload of an ICMPv6 type 143 message
 * whose rest is n (RFC 3810 5.2: reserved, then the record count). */
size_t mld2_records_emit(const uint8_t *types, const struct ip6_addr *groups, int n, uint8_t *buf);
#endif
