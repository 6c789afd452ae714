/* An IP address of either family in one 16-byte value, network byte order:
 * IPv6 as it is, IPv4 as the v4-mapped ::ffff:a.b.c.d (RFC 4291 2.5.5.2).
 * One compare, one hash and one key serve both families (connections,
 * sockets, routes, the neighbour cache); the family is read from the value.
 * A v4-mapped address never comes off the wire as IPv6 (IPv6 input drops
 * it), so the mapping is unambiguous. */
#ifndef US_CORE_ADDR_H
#define US_CORE_ADDR_H
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "core/rand.h"

struct us_addr {
	union {
		uint8_t b[16];
		uint32_t w[4];       /* network order, for compares and hashing */
	};
};

static inline int addr_is_v4(const struct us_addr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->b[8] == 0 && a->b[9] == 0 && a->b[10] == 0xff && a->b[11] == 0xff;
}
static inline int addr_family(const struct us_addr *a) { return addr_is_v4(a) ? AF_INET : AF_INET6; }

/* From and to an IPv4 address in host byte order. */
static inline struct us_addr addr_from_v4(uint32_t v4)
{
	struct us_addr a;
	memset(&a, 0, sizeof(a));
	a.b[10] = 0xff;
	a.b[11] = 0xff;
	a.b[12] = (uint8_t)(v4 >> 24);
	a.b[13] = (uint8_t)(v4 >> 16);
	a.b[14] = (uint8_t)(v4 >> 8);
	a.b[15] = (uint8_t)v4;
	return a;
}
static inline uint32_t addr_v4(const struct us_addr *a)
{
	return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 | a->b[15];
}

/* From and to 16 bytes of an IPv6 address in network order. */
static inline struct us_addr addr_from_v6(const uint8_t b[16])
{
	struct us_addr a;
	memcpy(a.b, b, 16);
	return a;
}

static inline int addr_eq(const struct us_addr *x, const struct us_addr *y)
{
	return x->w[0] == y->w[0] && x->w[1] == y->w[1] && x->w[2] == y->w[2] && x->w[3] == y->w[3];
}

/* The wildcard of a family: 0.0.0.0 (::ffff:0.0.0.0) or ::. */
static inline struct us_addr addr_any(int family)
{
	return family == AF_INET ? addr_from_v4(0) : (struct us_addr){{{0}}};
}
/* Either family's wildcard. */
static inline int addr_is_any(const struct us_addr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[3] == 0 && (a->w[2] == 0 || addr_is_v4(a));
}
/* The IPv6 wildcard "::" only (a dual-stack listener's address). */
static inline int addr_is_any6(const struct us_addr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == 0 && a->w[3] == 0;
}

/* Does a socket bound to the wildcard w take traffic to a? 0.0.0.0 takes
 * IPv4; :: takes IPv6 and, unless the socket is IPV6_V6ONLY, IPv4 too
 * (Linux's dual-stack sockets). */
static inline int addr_wild_takes(const struct us_addr *w, int v6only, const struct us_addr *a)
{
	if (addr_is_any6(w))
		return !v6only || !addr_is_v4(a);
	return addr_is_any(w) && addr_is_v4(a);
}

/* Does a socket of family fam carry traffic of a's family? An IPv6 socket
 * carries IPv4 (as ::ffff:a.b.c.d) too unless v6only. For transparent
 * sockets (IP_TRANSPARENT, IPV6_TRANSPARENT), which take every address of
 * the families they carry. */
static inline int addr_family_carries(int fam, int v6only, const struct us_addr *a)
{
	return addr_is_v4(a) ? fam == AF_INET || (fam == AF_INET6 && !v6only) : fam == AF_INET6;
}

/* Would sockets bound to a and to b (with their IPV6_V6ONLY) on one port
 * take some of the same traffic? For bind conflicts. */
static inline int addr_conflict(const struct us_addr *a, int a6only, const struct us_addr *b, int b6only)
{
	if (addr_eq(a, b))
		return 1;
	if (addr_is_any(a) && addr_wild_takes(a, a6only, b))
		return 1;
	return addr_is_any(b) && addr_wild_takes(b, b6only, a);
}

/* A keyed hash (SipHash-2-4) of two addresses and two more words: flow
 * tables, ISNs, ports, IP IDs. Every bit of both addresses counts. */
static inline uint64_t addr_hash(const uint64_t key[2], const struct us_addr *x, const struct us_addr *y, uint32_t u,
				 uint32_t v)
{
	uint32_t b[10];
	memcpy(b, x->b, 16);
	memcpy(b + 4, y->b, 16);
	b[8] = u;
	b[9] = v;
	return us_siphash(key, b, sizeof(b));
}
#endif
