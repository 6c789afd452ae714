/* libFuzzer target: the fast checksum (64-bit loads, two carry chains)
 * against the RFC 1071 definition, at every alignment and length, split
 * into pieces the way callers chain it, and the RFC 1624 incremental
 * updates against a full recomputation.
 *
 * Input: byte 0 = start offset (0..7, to vary alignment), bytes 1..4 = the
 * running sum handed in, byte 5 = split point; the rest is the data. */
#include "wire_checks.h"

static uint8_t buf[IPV4_MAX_LEN + 16];

#define CHECK(c) \
	do { \
		if (!(c)) \
			abort(); \
	} while (0)

/* One's-complement values that denote the same number (0 and 0xFFFF). */
static int same16(uint32_t x, uint32_t y)
{
	return x == y || (x % 0xFFFF == 0 && y % 0xFFFF == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 6 || size - 6 > IPV4_MAX_LEN)
		return 0;
	size_t off = data[0] & 7;
	uint32_t sum = rd_be32(data + 1);
	size_t split = data[5];
	const uint8_t *d = data + 6;
	size_t n = size - 6;
	uint8_t *b = buf + off;
	memcpy(b, d, n);

	/* Whole buffer, at this alignment, with any 32-bit running sum. */
	uint32_t fast = csum_partial(b, n, sum);
	CHECK(fast <= 0xFFFF);
	CHECK(fast == naive_csum(d, n, sum));
	CHECK(csum_fold(fast) == (uint16_t)~naive_csum(d, n, sum));

	/* Chained: an even-length head, then the rest. */
	size_t k = split * 2 < n ? split * 2 : n & ~(size_t)1;
	CHECK(csum_partial(b + k, n - k, csum_partial(b, k, sum)) == fast);

	/* The pseudo-header against its words. */
	if (n >= 11) {
		uint32_t src = rd_be32(d), dst = rd_be32(d + 4);
		uint8_t proto = d[8];
		uint16_t len = rd_be16(d + 9);
		uint8_t ph[12];
		wr_be32(ph, src);
		wr_be32(ph + 4, dst);
		ph[8] = 0;
		ph[9] = proto;
		wr_be16(ph + 10, len);
		CHECK(same16(naive_csum(ph, 12, 0), naive_csum(NULL, 0, csum_pseudo4(src, dst, proto, len))));
	}

	/* Incremental update of a 16- and a 32-bit field at an even offset
	 * (the header fields NAT-like rewrites touch) against recomputing. */
	if (n >= 8) {
		size_t at = (split * 2) % (n - 4 + 1) & ~(size_t)1;
		uint16_t c0 = csum_fold(csum_partial(b, n, 0));
		uint16_t old16 = rd_be16(b + at), new16 = (uint16_t)(sum >> 16);
		wr_be16(b + at, new16);
		uint16_t c1 = csum_fold(csum_partial(b, n, 0));
		CHECK(same16(csum_update16(c0, old16, new16), c1));
		uint32_t old32 = rd_be32(b + at), new32 = sum ^ 0x5A5AA5A5u;
		wr_be32(b + at, new32);
		uint16_t c2 = csum_fold(csum_partial(b, n, 0));
		CHECK(same16(csum_update32(c1, old32, new32), c2));
	}
	return 0;
}
