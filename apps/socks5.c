/* SOCKS5 client messages: RFC 1928 (method selection, CONNECT, UDP
 * ASSOCIATE, the UDP request header) and RFC 1929 (user/password). */
#include <string.h>

#include "socks5.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t get32(const uint8_t *p) { return ((uint32_t)get16(p) << 16) | get16(p + 2); }

size_t socks5_greeting(uint8_t *out, int with_auth)
{
	out[0] = 5;
	if (with_auth) {
		out[1] = 2;
		out[2] = 0;
		out[3] = 2;
		return 4;
	}
	out[1] = 1;
	out[2] = 0;
	return 3;
}

int socks5_parse_method(const uint8_t *b, size_t n, int *method)
{
	if (n < 2)
		return 0;
	if (b[0] != 5)
		return -1;
	*method = b[1];
	return 2;
}

size_t socks5_auth_request(uint8_t *out, const char *user, const char *pass)
{
	size_t ul = strlen(user), pl = strlen(pass);
	if (ul > 255 || pl > 255 || !ul)
		return 0;
	out[0] = 1;   /* RFC 1929 sub-negotiation version */
	out[1] = (uint8_t)ul;
	memcpy(out + 2, user, ul);
	out[2 + ul] = (uint8_t)pl;
	memcpy(out + 3 + ul, pass, pl);
	return 3 + ul + pl;
}

int socks5_parse_auth(const uint8_t *b, size_t n, int *ok)
{
	if (n < 2)
		return 0;
	if (b[0] != 1)
		return -1;
	*ok = b[1] == 0;
	return 2;
}

static size_t put_addr(uint8_t *out, uint32_t ip, const char *domain, uint16_t port)
{
	if (domain) {
		size_t dl = strlen(domain);
		if (!dl || dl > 255)
			return 0;
		out[0] = 3;
		out[1] = (uint8_t)dl;
		memcpy(out + 2, domain, dl);
		put16(out + 2 + dl, port);
		return 4 + dl;
	}
	out[0] = 1;
	put32(out + 1, ip);
	put16(out + 5, port);
	return 7;
}

size_t socks5_request(uint8_t *out, uint8_t cmd, uint32_t ip, const char *domain, uint16_t port)
{
	out[0] = 5;
	out[1] = cmd;
	out[2] = 0;
	size_t n = put_addr(out + 3, ip, domain, port);
	return n ? 3 + n : 0;
}

/* ATYP + address + port at b: its length, 0 if more bytes are needed, -1 if bad. */
static int addr_len(const uint8_t *b, size_t n)
{
	if (n < 1)
		return 0;
	switch (b[0]) {
	case 1: return n < 7 ? 0 : 7;
	case 4: return n < 19 ? 0 : 19;
	case 3:
		if (n < 2)
			return 0;
		if (!b[1])
			return -1;
		return n < (size_t)(4 + b[1]) ? 0 : 4 + b[1];
	default: return -1;
	}
}

int socks5_parse_reply(const uint8_t *b, size_t n, int *rep, uint32_t *bnd_ip, uint16_t *bnd_port)
{
	if (n < 4)
		return 0;
	if (b[0] != 5 || b[2] != 0)
		return -1;
	int al = addr_len(b + 3, n - 3);
	if (al <= 0)
		return al;
	*rep = b[1];
	*bnd_ip = b[3] == 1 ? get32(b + 4) : 0;
	*bnd_port = get16(b + 3 + al - 2);
	return 3 + al;
}

size_t socks5_udp_header(uint8_t *out, uint32_t ip, const char *domain, uint16_t port)
{
	out[0] = 0;
	out[1] = 0;
	out[2] = 0;   /* FRAG: standalone */
	size_t n = put_addr(out + 3, ip, domain, port);
	return n ? 3 + n : 0;
}

int socks5_parse_udp(const uint8_t *b, size_t n, uint32_t *ip, uint16_t *port)
{
	if (n < 4 || b[0] || b[1] || b[2])
		return -1;   /* reserved bytes, or a fragment (never reassembled) */
	int al = addr_len(b + 3, n - 3);
	if (al <= 0 || b[3] != 1)
		return -1;
	*ip = get32(b + 4);
	*port = get16(b + 8);
	return 3 + al;
}

const char *socks5_rep_str(int rep)
{
	static const char *s[] = {"succeeded", "general failure", "not allowed by ruleset", "network unreachable",
				  "host unreachable", "connection refused", "TTL expired", "command not supported",
				  "address type not supported"};
	return rep >= 0 && rep < (int)(sizeof(s) / sizeof(s[0])) ? s[rep] : "unknown reply";
}
