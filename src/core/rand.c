#include "core/rand.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void us_rand_init(struct us_rand *r, uint64_t seed)
{
	uint64_t buf[6];
	if (seed) {
		for (int i = 0; i < 6; i++)
			buf[i] = splitmix64(&seed);
	} else {
		size_t got = 0;
		int tries = 0;
		while (got < sizeof(buf) && tries++ < 16) {
			ssize_t n = getrandom((uint8_t *)buf + got, sizeof(buf) - got, 0);
			if (n > 0)
				got += (size_t)n;
		}
		if (got < sizeof(buf)) {
			/* getrandom cannot fail on Linux >= 3.17 short of EINTR storms;
			 * still never run with zero keys. */
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)r;
			for (int i = 0; i < 6; i++)
				buf[i] ^= splitmix64(&x);
		}
	}
	r->key[0] = buf[0];
	r->key[1] = buf[1];
	memcpy(r->s, buf + 2, sizeof(r->s));
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1;
}

void us_rand_seed(struct us_rand *r, uint64_t seed)
{
	r->key[0] = r->key[1] = 0;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t us_rand_u64(struct us_rand *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint32_t us_rand_below(struct us_rand *r, uint32_t n)
{
	/* Lemire's multiply-shift; bias below 2^-32 is irrelevant here. */
	return (uint32_t)(((uint64_t)us_rand_u32(r) * n) >> 32);
}

#define SIPROUND                                                                    \
	do {                                                                        \
		v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);           \
		v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                              \
		v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                              \
		v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);           \
	} while (0)

uint64_t us_siphash(const uint64_t key[2], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t v0 = 0x736f6d6570736575ull ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dull ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ key[0];
	uint64_t v3 = 0x7465646279746573ull ^ key[1];
	uint64_t b = (uint64_t)len << 56;
	size_t full = len & ~(size_t)7;
	for (size_t i = 0; i < full; i += 8) {
		uint64_t m = 0;
		for (int j = 7; j >= 0; j--)
			m = (m << 8) | in[i + (size_t)j];   /* little-endian word */
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; j < (len & 7); j++)
		b |= (uint64_t)in[full + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t us_hash_words(const uint64_t key[2], uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	uint8_t buf[16];
	uint32_t w[4] = {a, b, c, d};
	for (int i = 0; i < 4; i++) {
		buf[i * 4 + 0] = (uint8_t)w[i];
		buf[i * 4 + 1] = (uint8_t)(w[i] >> 8);
		buf[i * 4 + 2] = (uint8_t)(w[i] >> 16);
		buf[i * 4 + 3] = (uint8_t)(w[i] >> 24);
	}
	return us_siphash(key, buf, sizeof(buf));
}
