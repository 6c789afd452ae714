/* The Internet checksum (RFC 1071), summed several bytes a step, with
 * incremental update (RFC 1624). */
#ifndef US_CSUM_H
#define US_CSUM_H
#include <stddef.h>
#include <stdint.h>

/* Add len bytes at buf to the running one's-complement sum. Concatenated
 * calls are exact only if every buffer but the last has an even length. */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);
/* Fold a running sum to 16 bits and complement it: the value to store. */
uint16_t csum_fold(uint32_t sum);
/* csum_fold(csum_partial(hdr, hl, 0)) for an IPv4 header: hl a multiple
 * of 4 from 20 to 60. 0 over a header whose checksum is right. */
uint16_t csum_ipv4_hdr(const void *hdr, size_t hl);
/* The IPv4 pseudo-header sum (addresses in host byte order). */
static inline uint32_t csum_pseudo4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	return (src >> 16) + (src & 0xFFFFu) + (dst >> 16) + (dst & 0xFFFFu) + proto + len;
}
struct ip6_addr;
/* The IPv6 pseudo-header sum (RFC 8200 8.1) for UDP, TCP and ICMPv6:
 * source, destination (the final one if a routing header is present), the
 * 32-bit upper-layer length and the next-header value of the upper layer. */
uint32_t csum_pseudo6(const struct ip6_addr *src, const struct ip6_addr *dst, uint8_t next_hdr, uint32_t len);
/* RFC 1624 eqn 3: the checksum after a 16-bit field changes from old to new
 * (all values as stored, i.e. host-order readings of big-endian fields). */
uint16_t csum_update16(uint16_t csum, uint16_t old_v, uint16_t new_v);
uint16_t csum_update32(uint16_t csum, uint32_t old_v, uint32_t new_v);
#endif
