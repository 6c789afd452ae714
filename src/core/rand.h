/* Randomness: keys from getrandom() (or a fixed seed for reproducible
 * tests), SipHash-2-4 for keyed hashes (ISNs, ports, IP IDs, table
 * indexes) and xoshiro256** for cheap non-secret draws (jitter). */
#ifndef US_RAND_H
#define US_RAND_H
#include <stddef.h>
#include <stdint.h>

struct us_rand {
	uint64_t key[2];      /* SipHash key */
	uint64_t s[4];        /* xoshiro256** state */
};

/* seed 0: draw from getrandom(); otherwise derive everything from seed. */
void us_rand_init(struct us_rand *r, uint64_t seed);
/* A generator only (no hash key), deterministic for every seed including 0:
 * the xoshiro state is four splitmix64 outputs of seed. */
void us_rand_seed(struct us_rand *r, uint64_t seed);
uint64_t us_rand_u64(struct us_rand *r);
/* Uniform in [0, 1), 53 bits. */
static inline double us_rand_unit(struct us_rand *r) { return (double)(us_rand_u64(r) >> 11) * 0x1.0p-53; }
static inline uint32_t us_rand_u32(struct us_rand *r) { return (uint32_t)(us_rand_u64(r) >> 32); }
/* Uniform in [0, n), n > 0. */
uint32_t us_rand_below(struct us_rand *r, uint32_t n);
uint64_t us_siphash(const uint64_t key[2], const void *data, size_t len);
/* SipHash of up to four 32-bit words (a common case: tuples). */
uint64_t us_hash_words(const uint64_t key[2], uint32_t a, uint32_t b, uint32_t c, uint32_t d);
#endif
