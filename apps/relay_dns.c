/* ustack relay: --fake-dns. DNS A and AAAA queries sent to any address
 * (UDP port 53, over either family) get an address from the range of that
 * type (--fake-dns once per family); a TCP connection or UDP datagram to
 * that address later hands the name to the proxy (ATYP 3), which
 * resolves it. A name has one slot i in one table: fake_base + i in the
 * IPv4 range, fake6_base + i in the IPv6 one. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "relay.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static uint32_t low32(const struct in6_addr *a)
{
	const uint8_t *b = a->s6_addr;
	return (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
}

/* e's slot in the table, or -1 if e is not in a fake range. */
static int64_t fake_slot(const struct relay *r, const struct relay_ep *e)
{
	if (!r->fake_dns)
		return -1;
	if (e->family == AF_INET) {
		uint32_t i = relay_ep4_addr(e) - r->fake_base;
		return r->fake4 && i < r->fake_size ? (int64_t)i : -1;
	}
	if (!r->fake6 || memcmp(e->a.v6.s6_addr, r->fake6_base.s6_addr, 12))
		return -1;
	uint32_t i = low32(&e->a.v6) - low32(&r->fake6_base);
	return i < r->fake_size ? (int64_t)i : -1;
}

int relay_fake_has(const struct relay *r, const struct relay_ep *e) { return fake_slot(r, e) >= 0; }

const char *relay_fake_name(struct relay *r, const struct relay_ep *e)
{
	int64_t i = fake_slot(r, e);
	return i < 0 ? NULL : r->fake[i].name;
}

/* gcc 12's -fanalyzer reports the strdup() leaked when this returns: it
 * loses the store into r->fake[i] (a heap array at a computed index). A
 * false positive: the name is kept there and freed when its slot is reused
 * or at exit. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
/* The name's slot (+1), or 0 if none could be had. */
static uint32_t fake_slot_for(struct relay *r, const char *name)
{
	for (uint32_t i = 0; i < r->fake_size; i++)
		if (r->fake[i].name && !strcmp(r->fake[i].name, name)) {
			r->fake[i].used = us_now_ns();
			return i + 1;
		}
	/* Round robin over the pool: the oldest name gives its address up
	 * (both of its addresses: one slot). */
	if (!r->fake_size)
		return 0;
	uint32_t i = r->fake_next++ % r->fake_size;
	free(r->fake[i].name);
	r->fake[i].name = strdup(name);
	r->fake[i].used = us_now_ns();
	return r->fake[i].name ? i + 1 : 0;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* A and AAAA queries get an address from the range of their family, other
 * types (and a family with no range) an empty NOERROR answer, so resolvers
 * go on with the type they can have. *is6 is set for an AAAA answer with
 * an address. */
size_t relay_dns_answer(struct relay *r, const uint8_t *q, size_t n, uint8_t *out, size_t cap, int *is6)
{
	*is6 = 0;
	if (n < 12 || (q[2] & 0x80) || ((q[2] >> 3) & 0xF) != 0 || get16(q + 4) != 1)
		return 0;   /* not a standard query with one question */
	char name[256];
	size_t pos = 12, nl = 0;
	for (int labels = 0;; labels++) {
		if (pos >= n || labels > 127)
			return 0;
		uint8_t l = q[pos++];
		if (!l)
			break;
		if ((l & 0xC0) || pos + l > n || nl + l + 1 >= sizeof(name))
			return 0;   /* no compression in a question; bounded */
		if (nl)
			name[nl++] = '.';
		for (uint8_t k = 0; k < l; k++) {
			char ch = (char)q[pos + k];
			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (ch <= ' ' || ch == 0x7f)
				return 0;
			name[nl++] = ch;
		}
		pos += l;
	}
	name[nl] = 0;
	if (pos + 4 > n || !nl)
		return 0;
	uint16_t qtype = get16(q + pos), qclass = get16(q + pos + 2);
	pos += 4;
	size_t need = pos + 12 + 16;
	if (need > cap)
		return 0;
	memcpy(out, q, pos);
	out[2] = (uint8_t)(0x84 | (q[2] & 0x01));   /* QR, AA, RD copied */
	out[3] = 0x80;                               /* RA, NOERROR */
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, 0);
	int a4 = qtype == 1 && r->fake4, a6 = qtype == 28 && r->fake6;
	if (qclass != 1 || (!a4 && !a6))
		return pos;
	uint32_t slot = fake_slot_for(r, name);
	if (!slot)
		return 0;
	put16(out + 6, 1);
	uint8_t *a = out + pos;
	put16(a, 0xC00C);      /* the name in the question */
	put16(a + 2, qtype);   /* A or AAAA */
	put16(a + 4, 1);       /* IN */
	put16(a + 6, 0);
	put16(a + 8, 60);      /* TTL 60 s */
	if (a4) {
		uint32_t ip = r->fake_base + slot - 1;
		put16(a + 10, 4);
		a[12] = (uint8_t)(ip >> 24);
		a[13] = (uint8_t)(ip >> 16);
		a[14] = (uint8_t)(ip >> 8);
		a[15] = (uint8_t)ip;
		return pos + 16;
	}
	uint32_t lo = low32(&r->fake6_base) + slot - 1;
	put16(a + 10, 16);
	memcpy(a + 12, r->fake6_base.s6_addr, 12);
	a[24] = (uint8_t)(lo >> 24);
	a[25] = (uint8_t)(lo >> 16);
	a[26] = (uint8_t)(lo >> 8);
	a[27] = (uint8_t)lo;
	*is6 = 1;
	return pos + 28;
}

void relay_dns_free(struct relay *r)
{
	for (uint32_t i = 0; i < r->fake_size && r->fake; i++)
		free(r->fake[i].name);
	free(r->fake);
	r->fake = NULL;
}
