/* IPv6 extension headers (RFC 8200 4): hop-by-hop and destination
 * options with their TLV walk, routing, fragment; AH, ESP and No Next
 * Header recognised. One bounded walker over the chain: every step
 * advances by at least 8 bytes, at most IP6_EXT_MAX_HDRS headers and
 * IP6_EXT_MAX_BYTES bytes of them are walked.
 *
 * Offsets here are from the start of the IPv6 fixed header, so each one is
 * a ready Parameter Problem pointer (RFC 4443 3.4). */
#ifndef US_WIRE_IP6EXT_H
#define US_WIRE_IP6EXT_H
#include <stddef.h>
#include <stdint.h>

#include "wire/ipv6.h"

#define IP6_EXT_MAX_HDRS 8     /* extension headers one walk accepts */
#define IP6_EXT_MAX_BYTES 1024 /* bytes of extension headers one walk accepts */
#define IP6_OPTS_MAX 8         /* options other than padding in one header (Linux's max_{hbh,dst}_opts_number) */
#define IP6_OPT_PAD_MAX 7      /* padding bytes in a row (RFC 4942 2.1.9.5; Linux drops more) */
#define IP6_FRAG_HDR_LEN 8
#define IP6_OPTS_HDR_MAX 2048 /* (255 + 1) * 8 */

/* Option types (RFC 8200 4.2, IANA "Destination Options and Hop-by-Hop
 * Options"). The two high bits of the type say what a node that does not
 * know the option does (IP6_OPT_ACT_*). */
#define IP6_OPT_PAD1 0x00
#define IP6_OPT_PADN 0x01
#define IP6_OPT_ROUTER_ALERT 0x05 /* RFC 2711: hop-by-hop, 2 bytes of value */
#define IP6_OPT_JUMBO 0xC2        /* RFC 2675: not supported, so unknown */
#define IP6_OPT_ACT_SKIP 0        /* 00: skip it, go on */
#define IP6_OPT_ACT_DISCARD 1     /* 01: discard the packet silently */
#define IP6_OPT_ACT_PARAM 2       /* 10: discard, Parameter Problem code 2, even to multicast */
#define IP6_OPT_ACT_PARAM_UCAST 3 /* 11: discard, Parameter Problem code 2 unless the destination is multicast */
static inline uint8_t ip6_opt_action(uint8_t type) { return type >> 6; }
/* The third bit: the option's data may change en route (RFC 8200 4.2). */
static inline int ip6_opt_may_change(uint8_t type) { return (type >> 5) & 1; }

/* Routing types (IANA). ustack is a host and implements none: a routing
 * header with segments left is answered with a Parameter Problem. */
#define IP6_RT_TYPE0 0 /* deprecated by RFC 5095 */
#define IP6_RT_TYPE2 2 /* Mobile IPv6 */
#define IP6_RT_SRH 4   /* segment routing, RFC 8754 */

/* Is nh an extension header by RFC 7045 (not an upper layer)? This
 * includes those the walker does not walk (ESP, AH, Mobility, HIP, Shim6,
 * the experimental 253 and 254). */
int ip6_is_ext_hdr(uint8_t nh);

/* The fragment header (RFC 8200 4.5). */
struct ip6_frag_repr {
	uint8_t next_hdr;
	uint16_t offset; /* in bytes (the field * 8) */
	uint8_t m;       /* more fragments */
	uint32_t id;
};
/* 0 or -EINVAL if len < 8. The reserved fields are ignored (RFC 8200 4.5). */
int ip6_frag_parse(const uint8_t *buf, size_t len, struct ip6_frag_repr *r);
/* Writes the 8-byte header (reserved fields 0; offset rounded down to 8). */
void ip6_frag_emit(const struct ip6_frag_repr *r, uint8_t *buf);
/* Offset 0 and no more fragments: an atomic fragment (RFC 6946), a whole
 * packet that is processed as if it had no fragment header. */
static inline int ip6_frag_is_atomic(const struct ip6_frag_repr *r) { return r->offset == 0 && !r->m; }

/* What an option walk found (ip6_opts_walk). */
struct ip6_opts_res {
	uint8_t n_opts;    /* options other than Pad1 and PadN */
	uint8_t n_unknown; /* unknown options skipped (action 00) */
	uint8_t has_ra;    /* a router alert (hop-by-hop only) */
	uint16_t ra;       /* its value (RFC 2711: 0 MLD, 1 RSVP, 2 active networks) */
	/* The first unknown option whose action is not "skip": the walk
	 * stops there. act is IP6_OPT_ACT_DISCARD, _PARAM or _PARAM_UCAST. */
	uint8_t act_found;
	uint8_t act;
	uint8_t act_type;
	uint16_t act_off; /* offset of its type byte: the code 2 pointer */
	uint16_t err_off; /* on -EINVAL / -E2BIG: offset of the bad option */
};
/* Walks the options of the hop-by-hop (hdr_type 0) or destination options
 * (60) header of hdr_len bytes at pkt + off (its 2-byte head first).
 * Every step advances by at least one byte and reads nothing past the
 * header. Returns 0 (with act_found if it stopped at an unknown option to
 * act on), -EINVAL for a malformed TLV (a length past the header's end),
 * more than IP6_OPT_PAD_MAX padding bytes in a row, a PadN with a non-zero
 * byte (RFC 4942 2.1.9.5), or a router alert whose length is not 2; or
 * -E2BIG for more than IP6_OPTS_MAX options. Linux drops the same packets
 * (ip6_parse_tlv). */
int ip6_opts_walk(const uint8_t *pkt, size_t off, size_t hdr_len, uint8_t hdr_type, struct ip6_opts_res *r);

/* The length of a hop-by-hop or destination options header carrying
 * opts_len bytes of options: 2 + opts_len rounded up to 8, at most
 * IP6_OPTS_HDR_MAX (opts_len must be <= 2046). */
size_t ip6_opts_hdr_len(size_t opts_len);
/* Writes such a header: next_hdr, its length, the options, then Pad1 or
 * one PadN of zeros to the length above. */
void ip6_opts_hdr_emit(uint8_t next_hdr, const uint8_t *opts, size_t opts_len, uint8_t *buf);
/* Writes a 4-byte router alert option (RFC 2711) with value v; MLD
 * messages carry one with value 0 in a hop-by-hop header. */
void ip6_opt_router_alert(uint8_t *buf, uint16_t v);

/* Where a walk ended. */
/* Where a walk ended (w->end):
 * IP6_END_UPPER    reached next-header value proto at off: an upper layer, No Next Header (59),
 *                  ESP (50), AH (51) (IPsec is not implemented) or a value the walker does not
 *                  know (the caller answers Parameter Problem code 1 at nh_off if it has no
 *                  handler either);
 * IP6_END_FRAG     a fragment header that is not atomic: frag holds its fields, off is where
 *                  the fragment's data starts; what follows is for reassembly;
 * IP6_END_DISCARD  an unknown option with action 01 at opt_off: discard silently;
 * IP6_END_PARAM    a Parameter Problem is owed: pp_code, pp_ptr (see struct ip6_ext_walk). */
#define IP6_END_UPPER 0
#define IP6_END_FRAG 1
#define IP6_END_DISCARD 2
#define IP6_END_PARAM 3

/* Parameter Problem codes (RFC 4443 3.4, RFC 7112, RFC 8883). */
#define ICMP6_PP_HEADER 0      /* erroneous header field */
#define ICMP6_PP_NEXT_HEADER 1 /* unrecognized Next Header type */
#define ICMP6_PP_OPTION 2      /* unrecognized IPv6 option */
#define ICMP6_PP_FIRST_FRAG 3  /* first fragment has an incomplete header chain (RFC 7112) */

/* Walk flags. IP6_WALK_SKIP: only find the upper layer: no option walks,
 * no routing or hop-by-hop rules, and on past a first fragment (offset 0);
 * for quoted packets and RFC 7112's check. */
#define IP6_WALK_SKIP 1

struct ip6_ext_hdr {
	uint8_t type; /* its next-header value (0, 43, 44, 60) */
	uint16_t off; /* offset of its first byte */
	uint16_t len; /* its length in bytes */
};

struct ip6_ext_walk {
	uint8_t end;   /* IP6_END_* */
	uint8_t proto; /* the next-header value where the walk ended (44 for IP6_END_FRAG) */
	/* IP6_END_UPPER: where proto's header starts; IP6_END_FRAG: just past
	 * the fragment header, where the fragment's data starts. */
	uint16_t off;
	uint16_t nh_off; /* offset of the next-header field that named proto: the code 1 pointer */
	/* Every extension header walked, in order (a stopping one included). */
	uint8_t n;
	struct ip6_ext_hdr hdr[IP6_EXT_MAX_HDRS];
	uint16_t ext_len; /* their bytes in all */
	/* The last fragment header seen (atomic ones are walked through). */
	uint8_t has_frag;
	uint16_t frag_hdr_off;
	struct ip6_frag_repr frag;
	/* The last routing header seen (those with 0 segments left are walked through). */
	uint8_t has_rt;
	uint16_t rt_off;
	uint8_t rt_type, rt_segs_left;
	uint8_t rh0;    /* a routing header of type 0 was seen (RFC 5095), any segments left */
	uint8_t hbh;    /* a hop-by-hop header right after the fixed header */
	uint8_t has_ra; /* a router alert in it */
	uint16_t ra;
	uint8_t n_unknown_opts; /* unknown options skipped (action 00), all headers */
	/* IP6_END_PARAM: the code and the pointer for the Parameter Problem.
	 * ICMP6_PP_NEXT_HEADER: a hop-by-hop header not right after the fixed
	 * header (RFC 8200 4.1; Linux answers the same), pointer at the
	 * next-header field naming it. ICMP6_PP_HEADER: a routing header with
	 * segments left (every type, RH0 included: RFC 5095 3, RFC 8200 4.4),
	 * pointer at its type byte. ICMP6_PP_OPTION: an unknown option with
	 * action 10 or 11 (opt_act), pointer at its type byte; for 11 the
	 * caller sends nothing if the destination is multicast (RFC 4443
	 * 2.4 e.3). */
	uint8_t pp_code;
	uint32_t pp_ptr;
	/* IP6_END_DISCARD / ICMP6_PP_OPTION: the option. */
	uint16_t opt_off;
	uint8_t opt_type, opt_act;
	/* A negative return: the offset of the header or option at fault. */
	uint16_t err_off;
};

/* Walks the extension headers of the IPv6 packet pkt[0..len) (len is
 * 40 + payload length, padding trimmed; the fixed header already parsed)
 * in RFC 8200 4.1 order, acting as a host: the final destination, which
 * processes every header. Returns 0 with w->end saying where it stopped,
 * or -EMSGSIZE (a header runs past len), -EINVAL (a malformed option
 * area: see ip6_opts_walk), -E2BIG (more than IP6_EXT_MAX_HDRS headers,
 * IP6_EXT_MAX_BYTES bytes of them or IP6_OPTS_MAX options in one), each
 * with w->err_off. Linux drops on the same faults without an ICMP error. */
int ip6_ext_walk(const uint8_t *pkt, size_t len, struct ip6_ext_walk *w);
/* The same from offset off, where next-header value nh (stored at nh_off)
 * starts: after reassembly (off just past the fragment header, nh its
 * next_hdr, nh_off its offset) or in a quoted packet. flags: IP6_WALK_*.
 * A hop-by-hop header is first only if nh_off is 6. */
int ip6_ext_walk_from(const uint8_t *pkt, size_t len, size_t off, uint8_t nh, size_t nh_off, unsigned flags,
		      struct ip6_ext_walk *w);

/* RFC 7112 5: the first fragment (offset 0, M set) of pkt[0..len), walked
 * by w to IP6_END_FRAG, must hold the whole header chain and the
 * upper-layer header (TCP 20 bytes, UDP 8, ICMPv6 8, others none). 0 if
 * it does, -EMSGSIZE if not (the caller drops it and may answer Parameter
 * Problem code ICMP6_PP_FIRST_FRAG, pointer 0), or the walk's error
 * (-EINVAL, -E2BIG). -EINVAL if w did not end on a first fragment. */
int ip6_frag_chain_ok(const uint8_t *pkt, size_t len, const struct ip6_ext_walk *w);
/* Bytes of upper-layer header RFC 7112's check asks for. */
size_t ip6_upper_min_len(uint8_t proto);
#endif
