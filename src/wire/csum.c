/* The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * Every running sum handed in or out of these functions is in the
 * "big-endian domain": congruent (mod 0xFFFF) to the sum of the buffer's
 * 16-bit words read big-endian. Internally csum_partial sums native-endian
 * 64-bit loads (RFC 1071 2(B): the sum is byte-order independent up to a
 * final swap) and converts once at the end. */
#include "wire/csum.h"

#include <string.h>

#include "wire/ipv6.h"

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CSUM_LITTLE_ENDIAN 1
#elif defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define CSUM_LITTLE_ENDIAN 0
#else
#error "unknown byte order"
#endif

/* One's-complement add of two 64-bit words: the carry out wraps around. */
static inline uint64_t add64(uint64_t acc, uint64_t w)
{
	acc += w;
	return acc + (acc < w);
}

/* Fold a 64-bit one's-complement sum to 16 bits. 0xFFFF divides 2^64 - 1,
 * 2^32 - 1 and 2^16 - 1, so each step keeps the value mod 0xFFFF. */
static inline uint32_t fold64(uint64_t s)
{
	s = (s & 0xFFFFFFFFu) + (s >> 32); /* <= 0x1FFFFFFFE */
	s = (s & 0xFFFFu) + (s >> 16);     /* <= 0x2FFFD */
	s = (s & 0xFFFFu) + (s >> 16);     /* <= 0x10001 */
	s = (s & 0xFFFFu) + (s >> 16);     /* <= 0xFFFF */
	return (uint32_t)s;
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = 0, acc2 = 0;

#if defined(__x86_64__) && defined(__GNUC__)
	/* 128 bytes a step in one add-with-carry chain that runs through the
	 * whole loop: lea and dec leave the carry flag alone, so no step
	 * needs to fold its carry in. About 1.2 instructions per 8 bytes. The
	 * checksum of every received byte, where no device has checked it
	 * (AF_XDP), is most of the receive path's work. */
	size_t blocks = len / 128;
	/* Eight add-with-carry steps over the 64 bytes at p + d (an
	 * assembler expression). */
#define CSUM_ADC64(d)                                                                              \
	"adcq " d "+0(%[p]), %[a]\n\t"                                                             \
	"adcq " d "+8(%[p]), %[a]\n\t"                                                             \
	"adcq " d "+16(%[p]), %[a]\n\t"                                                            \
	"adcq " d "+24(%[p]), %[a]\n\t"                                                            \
	"adcq " d "+32(%[p]), %[a]\n\t"                                                            \
	"adcq " d "+40(%[p]), %[a]\n\t"                                                            \
	"adcq " d "+48(%[p]), %[a]\n\t"                                                            \
	"adcq " d "+56(%[p]), %[a]\n\t"
	if (blocks) {
		__asm__("clc\n"
			"1:\n\t" CSUM_ADC64("0") CSUM_ADC64("64")
			"leaq 128(%[p]), %[p]\n\t"
			"decq %[n]\n\t"
			"jnz 1b\n\t"
			"adcq $0, %[a]"
			: [a] "+r"(acc), [p] "+r"(p), [n] "+r"(blocks)
			:
			: "cc", "memory");
		len &= 127;
	}
	/* Then one 64-byte step, if 64 or more are left. */
	if (len >= 64) {
		__asm__("clc\n\t" CSUM_ADC64("0") "adcq $0, %[a]"
			: [a] "+r"(acc)
			: [p] "r"(p), "m"(*(const uint8_t(*)[64])p)
			: "cc");
		p += 64;
		len -= 64;
	}
#undef CSUM_ADC64
#endif
	/* 32 bytes a step in two carry chains, so consecutive adds need not
	 * wait on each other's carry (about 1.3x faster than one chain). */
	while (len >= 32) {
		acc = add64(acc, load64(p));
		acc2 = add64(acc2, load64(p + 8));
		acc = add64(acc, load64(p + 16));
		acc2 = add64(acc2, load64(p + 24));
		p += 32;
		len -= 32;
	}
	acc = add64(acc, acc2);
	while (len >= 8) {
		acc = add64(acc, load64(p));
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t v;
		memcpy(&v, p, sizeof v);
		acc = add64(acc, v);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t v;
		memcpy(&v, p, sizeof v);
		acc = add64(acc, v);
		p += 2;
		len -= 2;
	}
	uint32_t s = fold64(acc);
#if CSUM_LITTLE_ENDIAN
	s = __builtin_bswap16((uint16_t)s);
#endif
	/* Every word so far started at an even offset of buf, so a lone last
	 * byte is the high half of its big-endian word. */
	if (len)
		s += (uint32_t)p[0] << 8;
	return fold64((uint64_t)s + sum);
}

uint16_t csum_fold(uint32_t sum)
{
	return (uint16_t)~fold64(sum);
}

uint16_t csum_ipv4_hdr(const void *hdr, size_t hl)
{
	/* Five to fifteen 32-bit words, with no carries to chase: a 64-bit
	 * sum of them cannot overflow (as Linux's ip_fast_csum). Every datagram
	 * is checked, so this is the per-packet cost csum_partial's loops and
	 * tails would add to a 20-byte header. */
	const uint8_t *p = hdr;
	uint32_t w[15];
	memcpy(w, p, 20);
	uint64_t acc = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	if (hl > 20) {
		size_t n = ((hl < 60 ? hl : 60) - 20) / 4;
		memcpy(w + 5, p + 20, n * 4);
		for (size_t i = 0; i < n; i++)
			acc += w[5 + i];
	}
	uint32_t s = fold64(acc);
#if CSUM_LITTLE_ENDIAN
	s = __builtin_bswap16((uint16_t)s);
#endif
	return (uint16_t)~s;
}

uint32_t csum_pseudo6(const struct ip6_addr *src, const struct ip6_addr *dst, uint8_t next_hdr, uint32_t len)
{
	/* Each address is 16 bytes, so the two sums concatenate exactly. */
	uint32_t s = csum_partial(src->b, IP6_ADDR_LEN, 0);
	s = csum_partial(dst->b, IP6_ADDR_LEN, s);
	return s + (len >> 16) + (len & 0xFFFFu) + next_hdr;
}

/* RFC 1624 eqn 3: HC' = ~(~HC + ~m + m'). */
uint16_t csum_update16(uint16_t csum, uint16_t old_v, uint16_t new_v)
{
	uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~old_v + new_v;
	return (uint16_t)~fold64(s);
}

uint16_t csum_update32(uint16_t csum, uint32_t old_v, uint32_t new_v)
{
	uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~(old_v >> 16) + (uint16_t)~old_v +
		     (new_v >> 16) + (new_v & 0xFFFFu);
	return (uint16_t)~fold64(s);
}
