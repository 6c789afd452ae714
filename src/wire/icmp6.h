/* ICMPv6 (RFC 4443): the header, the checksum over the IPv6 pseudo-header
 * (RFC 8200 8.1), the message fields, and the invoking packet an error
 * quotes. NDP messages are in wire/nd6.h. */
#ifndef US_WIRE_ICMP6_H
#define US_WIRE_ICMP6_H
#include <stddef.h>
#include <stdint.h>

#include "wire/ip6ext.h"
#include "wire/ipv6.h"

#define ICMP6_HDR_LEN 8 /* type, code, checksum and the 4 bytes every message has */
/* An error quotes as much of the invoking packet as fits in a packet of
 * IPV6_MIN_MTU (RFC 4443 2.4 c): 1280 - 40 - 8 bytes without extension
 * headers of its own. */
#define ICMP6_QUOTE_MAX (IPV6_MIN_MTU - IPV6_HDR_LEN - ICMP6_HDR_LEN)

/* Types. Errors are below 128 (RFC 4443 2.1). */
#define ICMP6_DEST_UNREACH 1
#define ICMP6_PKT_TOO_BIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_PARAM_PROB 4
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ICMP6_MLD_QUERY 130
#define ICMP6_MLD_REPORT 131
#define ICMP6_MLD_DONE 132
#define ICMP6_ND_RS 133
#define ICMP6_ND_RA 134
#define ICMP6_ND_NS 135
#define ICMP6_ND_NA 136
#define ICMP6_ND_REDIRECT 137
#define ICMP6_MLD2_REPORT 143
/* Destination Unreachable codes. */
#define ICMP6_DU_NOROUTE 0
#define ICMP6_DU_ADMIN 1
#define ICMP6_DU_BEYOND_SCOPE 2
#define ICMP6_DU_ADDR 3
#define ICMP6_DU_PORT 4
#define ICMP6_DU_POLICY 5
#define ICMP6_DU_REJECT_ROUTE 6
/* Time Exceeded codes. */
#define ICMP6_TE_HOPS 0
#define ICMP6_TE_REASSEMBLY 1
/* Parameter Problem codes: ICMP6_PP_* in wire/ip6ext.h. */

struct icmp6_repr {
	uint8_t type, code;
	uint16_t csum;
	uint32_t rest;          /* bytes 4..7: echo id<<16|seq, MTU, pointer; 0 (unused) otherwise */
	const uint8_t *payload; /* bytes after the 8-byte header (an error's quote) */
	size_t payload_len;
};
static inline int icmp6_is_error(uint8_t type) { return type < 128; }
static inline uint16_t icmp6_echo_id(const struct icmp6_repr *r) { return (uint16_t)(r->rest >> 16); }
static inline uint16_t icmp6_echo_seq(const struct icmp6_repr *r) { return (uint16_t)r->rest; }
static inline uint32_t icmp6_mtu(const struct icmp6_repr *r) { return r->rest; }     /* Packet Too Big */
static inline uint32_t icmp6_pointer(const struct icmp6_repr *r) { return r->rest; } /* Parameter Problem */

/* 0; -EINVAL if shorter than 8 (an echo of fewer bytes included:
 * CVE-2020-17443); -EBADMSG on a bad checksum over the pseudo-header of
 * src and dst and the len bytes (if check_csum). len is the ICMPv6
 * message's length: the IPv6 payload after the extension headers. */
int icmp6_parse(const uint8_t *buf, size_t len, const struct ip6_addr *src, const struct ip6_addr *dst,
		struct icmp6_repr *r, int check_csum);
/* Writes the 8-byte header at buf and the checksum over it, the
 * payload_len bytes that follow and the pseudo-header; if r->payload is
 * not buf + 8 the payload is first moved there. */
void icmp6_emit(const struct icmp6_repr *r, const struct ip6_addr *src, const struct ip6_addr *dst, uint8_t *buf);

/* How many bytes of an invoking packet of inv_len bytes an error quotes
 * when the error carries ext_len bytes of extension headers of its own:
 * all of it, or as much as keeps the error within IPV6_MIN_MTU. */
static inline size_t icmp6_quote_len(size_t inv_len, size_t ext_len)
{
	size_t room = ext_len < ICMP6_QUOTE_MAX ? ICMP6_QUOTE_MAX - ext_len : 0;
	return inv_len < room ? inv_len : room;
}
/* Fills r as an error of type and code with rest (MTU, pointer or 0)
 * quoting the invoking packet at inv: r->payload_len is
 * icmp6_quote_len(inv_len, 0). icmp6_emit then writes it into a buffer of
 * ICMP6_HDR_LEN + r->payload_len bytes. */
void icmp6_error_repr(struct icmp6_repr *r, uint8_t type, uint8_t code, uint32_t rest, const uint8_t *inv,
		      size_t inv_len);

/* The packet an error quotes, as far as it was quoted. */
struct icmp6_quote {
	struct ipv6_repr ip; /* its fixed header (payload_len as sent, not checked: the quote is cut) */
	uint8_t proto;       /* its upper-layer protocol, past the quoted extension headers */
	uint8_t frag;        /* a fragment other than the first: proto is 44 and l4 is not a header */
	const uint8_t *l4;   /* the upper-layer header (or fragment data) as quoted */
	size_t l4_len;       /* its bytes in the quote (the caller checks it holds what it reads) */
};
/* Parses an error's payload (r->payload, r->payload_len) as the invoking
 * packet: its fixed header (-EINVAL if fewer than 40 bytes or not version
 * 6), then its extension headers walked with IP6_WALK_SKIP within the
 * quote (-EMSGSIZE if one is cut off, -E2BIG past the walk's caps). */
int icmp6_quote_parse(const struct icmp6_repr *r, struct icmp6_quote *q);
#endif
