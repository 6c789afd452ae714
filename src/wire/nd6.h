/* Neighbor Discovery (RFC 4861): router solicitation and advertisement,
 * neighbor solicitation and advertisement, their options (source and
 * target link-layer address, prefix information, MTU; the nonce of RFC
 * 3971 5.3 that Linux puts in DAD probes, RFC 7527), and the validity
 * checks of RFC 4861 6.1.1, 6.1.2, 7.1.1 and 7.1.2 that need nothing but
 * the message and its addresses. Redirects are recognised, not parsed. */
#ifndef US_WIRE_ND6_H
#define US_WIRE_ND6_H
#include <stddef.h>
#include <stdint.h>

#include "wire/icmp6.h"
#include "wire/ipv6.h"

#define ND6_HOP_LIMIT 255 /* every NDP message is sent and must arrive with it */
#define ND6_RS_LEN 8      /* ICMPv6 bytes before the options */
#define ND6_RA_LEN 16
#define ND6_NS_LEN 24
#define ND6_NA_LEN 24
#define ND6_REDIRECT_LEN 40
#define ND6_MAX_PREFIXES 16 /* prefix options one repr holds; more are counted and ignored */

/* Option types (RFC 4861 4.6, IANA). */
#define ND6_OPT_SLLAO 1
#define ND6_OPT_TLLAO 2
#define ND6_OPT_PREFIX 3
#define ND6_OPT_REDIRECTED 4
#define ND6_OPT_MTU 5
#define ND6_OPT_NONCE 14
#define ND6_OPT_ROUTE_INFO 24
#define ND6_OPT_RDNSS 25
#define ND6_OPT_PREFIX_LEN 32
#define ND6_OPT_MTU_LEN 8

/* RA flags (RFC 4861 4.2, RFC 4191 2.2, RFC 4389, RFC 8425). */
#define ND6_RA_MANAGED 0x80
#define ND6_RA_OTHER 0x40
#define ND6_RA_HOME_AGENT 0x20
#define ND6_RA_PRF_MASK 0x18 /* default router preference: 01 high, 00 medium, 11 low, 10 reserved */
#define ND6_RA_PROXY 0x04
/* NA flags (RFC 4861 4.4). */
#define ND6_NA_ROUTER 0x80
#define ND6_NA_SOLICITED 0x40
#define ND6_NA_OVERRIDE 0x20
/* Prefix information flags (RFC 4861 4.6.2, RFC 6275 7.2). */
#define ND6_PI_ONLINK 0x80
#define ND6_PI_AUTO 0x40
#define ND6_PI_ROUTER_ADDR 0x20
#define ND6_LIFETIME_INFINITE 0xFFFFFFFFu

struct nd6_prefix {
	struct ip6_addr prefix;    /* bits past len cleared (RFC 4861 4.6.2: receivers ignore them) */
	uint8_t len;               /* prefix length, 0..128 */
	uint8_t flags;             /* ND6_PI_* */
	uint32_t valid, preferred; /* lifetimes in seconds, ND6_LIFETIME_INFINITE = forever */
};

/* The options of one message. Each of SLLAO, TLLAO, MTU and nonce is kept
 * from its first occurrence, as Linux does (ndisc_parse_options); the
 * caller uses those its message defines and ignores the rest (RFC 4861
 * 4.3-4.6: options a message does not define are ignored). */
struct nd6_opts {
	const uint8_t *sll; /* source link-layer address: 8 * length - 2 bytes, so 6 for Ethernet */
	uint16_t sll_len;
	const uint8_t *tll; /* target link-layer address */
	uint16_t tll_len;
	uint8_t has_mtu;
	uint32_t mtu;
	const uint8_t *nonce; /* 8 * length - 2 bytes; Linux sends 6 */
	uint16_t nonce_len;
	uint8_t n_prefix;
	struct nd6_prefix prefix[ND6_MAX_PREFIXES];
	uint8_t n_prefix_over; /* valid prefix options past the table: ignored */
	uint8_t n_dup;         /* repeated SLLAO, TLLAO, MTU or nonce options: ignored */
	/* Prefix options of a length other than 4 or with a prefix length
	 * over 128, MTU options of a length other than 1: ignored. */
	uint8_t n_bad;
	uint8_t n_unknown; /* options of other types: ignored (RFC 4861 4.6) */
};

struct nd6_repr {
	uint8_t type; /* ICMP6_ND_RS, _RA, _NS, _NA or _REDIRECT */
	/* RA (RFC 4861 4.2) */
	uint8_t cur_hop_limit;    /* 0: unspecified */
	uint8_t ra_flags;         /* ND6_RA_* */
	uint16_t router_lifetime; /* seconds; 0: not a default router */
	uint32_t reachable_time;  /* milliseconds; 0: unspecified */
	uint32_t retrans_timer;   /* milliseconds; 0: unspecified */
	/* NS, NA (RFC 4861 4.3, 4.4) */
	struct ip6_addr target;
	uint8_t na_flags; /* ND6_NA_* */
	struct nd6_opts opts;
};

/* RFC 4861 6.1.1, 6.1.2, 7.1.1, 7.1.2: a node drops NDP messages whose IP
 * hop limit is not 255 (a message that crossed a router). */
static inline int nd6_hop_limit_ok(uint8_t hop_limit) { return hop_limit == ND6_HOP_LIMIT; }

/* Parses the NDP message in ic (from icmp6_parse, whose checksum check
 * is RFC 4861's "ICMP Checksum is valid"), sent from src to dst. Returns
 * -EPROTONOSUPPORT if ic is not an RS, RA, NS, NA or redirect; 0 with
 * r->type set and nothing else for a redirect (recognised and ignored:
 * ustack is a host that does not act on them); else 0, or -EINVAL if any
 * check a codec can make fails:
 *   all     code 0; every option's length > 0 and inside the message
 *           (RFC 4861 4.6); the fixed part present (ICMP length >= 8 RS,
 *           16 RA, 24 NS and NA);
 *   RS      a source link-layer option only if src is specified (6.1.1);
 *   RA      src link-local (6.1.2);
 *   NS      target not multicast; if src is unspecified (DAD), dst a
 *           solicited-node group and no source link-layer option (7.1.1);
 *   NA      target not multicast; Solicited clear if dst is multicast
 *           (7.1.2).
 * The IP hop limit is the caller's (nd6_hop_limit_ok). */
int nd6_parse(const struct icmp6_repr *ic, const struct ip6_addr *src, const struct ip6_addr *dst, struct nd6_repr *r);

/* The ICMPv6 length nd6_emit writes for r (an RS, RA, NS or NA; 0 for
 * another type): the fixed part, then each option r->opts holds in this
 * order: source and target link-layer address (padded to 8 bytes), MTU,
 * the prefixes, the nonce (padded). */
size_t nd6_len(const struct nd6_repr *r);
/* Writes r as an ICMPv6 message of nd6_len(r) bytes at buf with its
 * checksum over the pseudo-header of src and dst; returns that length
 * (0, writing nothing, for a type it does not emit). */
size_t nd6_emit(const struct nd6_repr *r, const struct ip6_addr *src, const struct ip6_addr *dst, uint8_t *buf);
#endif
