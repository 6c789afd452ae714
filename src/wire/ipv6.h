/* The IPv6 fixed header (RFC 8200 3) and the 16-byte address with its
 * classes (RFC 4291). Extension headers are in wire/ip6ext.h. */
#ifndef US_WIRE_IPV6_H
#define US_WIRE_IPV6_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define IPV6_HDR_LEN 40
#define IPV6_MIN_MTU 1280      /* RFC 8200 5 */
#define IPV6_MAX_PAYLOAD 65535 /* without a jumbogram (not supported) */
#define IP6_ADDR_LEN 16

/* Next Header values (IANA "Assigned Internet Protocol Numbers"). The
 * upper layers share their numbers with IPv4 (IP_PROTO_TCP, IP_PROTO_UDP
 * in wire/ipv4.h). */
#define IP6_NH_HOPOPTS 0
#define IP6_NH_TCP 6
#define IP6_NH_UDP 17
#define IP6_NH_ROUTING 43
#define IP6_NH_FRAGMENT 44
#define IP6_NH_ESP 50
#define IP6_NH_AH 51
#define IP6_NH_ICMPV6 58
#define IP6_NH_NONE 59
#define IP6_NH_DSTOPTS 60
#define IP6_NH_MOBILITY 135
#define IP6_NH_HIP 139
#define IP6_NH_SHIM6 140
#define IP6_NH_EXP1 253
#define IP6_NH_EXP2 254

/* Multicast scopes (RFC 7346 2). 0 and 15 are reserved: RFC 4291 2.7 says
 * a packet to scope 0 is silently dropped. */
#define IP6_SCOPE_IFACE 0x1
#define IP6_SCOPE_LINK 0x2
#define IP6_SCOPE_REALM 0x3
#define IP6_SCOPE_ADMIN 0x4
#define IP6_SCOPE_SITE 0x5
#define IP6_SCOPE_ORG 0x8
#define IP6_SCOPE_GLOBAL 0xE

/* An IPv6 address: the 16 bytes as on the wire (network byte order). A
 * struct, not a bare array, so it is assigned and passed by value like a
 * uint32_t IPv4 address and never decays to a pointer of unknown length.
 * The family-tagged struct us_addr of net/ embeds one. */
struct ip6_addr {
	uint8_t b[IP6_ADDR_LEN];
};

struct ipv6_repr {
	struct ip6_addr src, dst;
	uint8_t tclass;       /* traffic class: DSCP << 2 | ECN */
	uint32_t flow;        /* flow label, 20 bits */
	uint16_t payload_len; /* the field: bytes after the 40-byte header */
	uint8_t next_hdr;
	uint8_t hop_limit;
};

/* Checks, in the order of Linux's ip6_rcv_core(): len >= 40 (-EINVAL),
 * version 6 (-EINVAL), then payload length 0 with a hop-by-hop header next
 * (-EOPNOTSUPP: a jumbogram, RFC 2675, which ustack does not support:
 * its links' MTUs are far below 65575, so the caller drops and counts it
 * as a header error), then 40 + payload length <= len (-EMSGSIZE:
 * truncated). The packet is the first 40 + payload_len bytes; anything
 * past them is link padding for the caller to trim. Nothing about the
 * addresses is checked here (the helpers below classify them). */
int ipv6_parse(const uint8_t *buf, size_t len, struct ipv6_repr *r);
/* Only the fields: len >= 40 and version 6 (else -EINVAL), the payload
 * length not checked. For the header an ICMPv6 error quotes. */
int ipv6_parse_head(const uint8_t *buf, size_t len, struct ipv6_repr *r);
/* Writes the 40-byte header (version 6, flow masked to 20 bits). */
void ipv6_emit(const struct ipv6_repr *r, uint8_t *buf);

/* Well-known addresses (defined in ipv6.c). */
extern const struct ip6_addr ip6_any;         /* :: */
extern const struct ip6_addr ip6_loopback;    /* ::1 */
extern const struct ip6_addr ip6_all_nodes;   /* ff02::1 */
extern const struct ip6_addr ip6_all_routers; /* ff02::2 */

static inline int ip6_addr_eq(const struct ip6_addr *a, const struct ip6_addr *b)
{
	return memcmp(a->b, b->b, IP6_ADDR_LEN) == 0;
}
static inline int ip6_is_unspecified(const struct ip6_addr *a) { return ip6_addr_eq(a, &ip6_any); }
static inline int ip6_is_loopback(const struct ip6_addr *a) { return ip6_addr_eq(a, &ip6_loopback); }
static inline int ip6_is_mcast(const struct ip6_addr *a) { return a->b[0] == 0xFF; }
/* The 4-bit scope of a multicast address (IP6_SCOPE_*; 0 is reserved). */
static inline uint8_t ip6_mcast_scope(const struct ip6_addr *a) { return a->b[1] & 0x0F; }
/* fe80::/10 (RFC 4291 2.5.6). */
static inline int ip6_is_linklocal(const struct ip6_addr *a) { return a->b[0] == 0xFE && (a->b[1] & 0xC0) == 0x80; }
/* fc00::/7, unique local (RFC 4193). */
static inline int ip6_is_ula(const struct ip6_addr *a) { return (a->b[0] & 0xFE) == 0xFC; }
/* ::ffff:0:0/96, an IPv4 address mapped into IPv6 (RFC 4291 2.5.5.2). */
int ip6_is_v4mapped(const struct ip6_addr *a);
/* The mapped IPv4 address (host byte order); only for a v4-mapped a. */
uint32_t ip6_v4mapped_get(const struct ip6_addr *a);
/* ::ffff:v4 from an IPv4 address in host byte order. */
struct ip6_addr ip6_v4mapped(uint32_t v4);
static inline int ip6_is_all_nodes(const struct ip6_addr *a) { return ip6_addr_eq(a, &ip6_all_nodes); }
static inline int ip6_is_all_routers(const struct ip6_addr *a) { return ip6_addr_eq(a, &ip6_all_routers); }
/* ff02::1:ffXX:XXXX, the solicited-node group of a (RFC 4291 2.7.1): the
 * group NS for a is sent to. */
struct ip6_addr ip6_solicited_node(const struct ip6_addr *a);
/* Is a some solicited-node group (ff02::1:ff00:0/104)? */
int ip6_is_solicited_node(const struct ip6_addr *a);
/* The scope of any address as RFC 6724 3.1 defines it for source address
 * selection: a multicast address's scope field; IP6_SCOPE_LINK for
 * link-local and loopback unicast; IP6_SCOPE_GLOBAL for the rest (unique
 * local included, as RFC 6724 says). */
uint8_t ip6_addr_scope(const struct ip6_addr *a);
/* Do a and b agree in their first plen bits (0..128; plen > 128 is 128)? */
int ip6_prefix_eq(const struct ip6_addr *a, const struct ip6_addr *b, unsigned plen);
/* a with every bit past the first plen cleared. */
struct ip6_addr ip6_prefix(const struct ip6_addr *a, unsigned plen);
/* The Ethernet group address a multicast a maps to: 33:33 and its last 32
 * bits (RFC 2464 7). */
void ip6_mcast_mac(const struct ip6_addr *a, uint8_t mac[6]);
/* The modified EUI-64 interface identifier of a 48-bit MAC (RFC 4291
 * appendix A): the last 8 bytes of a link-local address made from it. */
void ip6_iid_eui64(const uint8_t mac[6], uint8_t iid[8]);
/* 1 if iid is one RFC 5453 reserves (all zero, the Proxy Mobile IPv6 range
 * 0200:5eff:fe00:0000-5212, subnet anycast fdff:ffff:ffff:ff80-ffff): an
 * address generator must not use it (RFC 7217 5). */
int ip6_iid_reserved(const uint8_t iid[8]);
#endif
