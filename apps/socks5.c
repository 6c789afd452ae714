/* SOCKS5 client: RFC 1928 (method selection, CONNECT, UDP ASSOCIATE, the
 * UDP request header) and RFC 1929 (user/password), as a state machine over
 * bytes (socks5.h). Every byte from the server is checked before use. */
#include <string.h>

#include "socks5.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

void socks5_addr_ipv4(struct socks5_addr *a, uint32_t ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->atyp = SOCKS5_ATYP_IPV4;
	a->ip[0] = (uint8_t)(ip >> 24);
	a->ip[1] = (uint8_t)(ip >> 16);
	a->ip[2] = (uint8_t)(ip >> 8);
	a->ip[3] = (uint8_t)ip;
	a->port = port;
}

uint32_t socks5_addr_ipv4_get(const struct socks5_addr *a)
{
	return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 | (uint32_t)a->ip[2] << 8 | a->ip[3];
}

/* ATYP, address and port: the bytes written, 0 if a cannot be encoded. */
static size_t put_addr(uint8_t *out, const struct socks5_addr *a)
{
	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		out[0] = SOCKS5_ATYP_IPV4;
		memcpy(out + 1, a->ip, 4);
		put16(out + 5, a->port);
		return 7;
	case SOCKS5_ATYP_IPV6:
		out[0] = SOCKS5_ATYP_IPV6;
		memcpy(out + 1, a->ip, 16);
		put16(out + 17, a->port);
		return 19;
	case SOCKS5_ATYP_DOMAIN: {
		size_t dl = a->domain ? strlen(a->domain) : 0;
		if (!dl || dl > 255)
			return 0;
		out[0] = SOCKS5_ATYP_DOMAIN;
		out[1] = (uint8_t)dl;
		memcpy(out + 2, a->domain, dl);
		put16(out + 2 + dl, a->port);
		return 4 + dl;
	}
	default: return 0;
	}
}

/* ATYP + address + port at b (n bytes known): its length, 0 if more bytes
 * are needed to tell, -1 if bad. */
static int addr_len(const uint8_t *b, size_t n)
{
	if (n < 1)
		return 0;
	switch (b[0]) {
	case SOCKS5_ATYP_IPV4: return 7;
	case SOCKS5_ATYP_IPV6: return 19;
	case SOCKS5_ATYP_DOMAIN:
		if (n < 2)
			return 0;
		return b[1] ? 4 + b[1] : -1;
	default: return -1;
	}
}

/* Reads an address of length al (from addr_len) at b into a. */
static void get_addr(const uint8_t *b, int al, struct socks5_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->atyp = b[0];
	if (b[0] == SOCKS5_ATYP_IPV4)
		memcpy(a->ip, b + 1, 4);
	else if (b[0] == SOCKS5_ATYP_IPV6)
		memcpy(a->ip, b + 1, 16);
	a->port = get16(b + al - 2);
}

static void queue(struct socks5_client *c, size_t n)
{
	c->out_len = (uint16_t)n;
	c->out_off = 0;
}

static void fail(struct socks5_client *c, enum socks5_error e)
{
	c->state = SOCKS5_FAILED;
	c->error = (uint8_t)e;
	c->out_len = c->out_off = 0;
}

static void queue_request(struct socks5_client *c)
{
	c->out[0] = 5;
	c->out[1] = c->cmd;
	c->out[2] = 0;
	size_t n = put_addr(c->out + 3, &c->dst);
	if (!n) {
		fail(c, SOCKS5_ERR_ARGS);
		return;
	}
	queue(c, 3 + n);
	c->state = SOCKS5_REPLY;
}

void socks5_client_init(struct socks5_client *c, uint8_t cmd, const struct socks5_addr *dst, const char *user,
			const char *pass)
{
	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	c->dst = *dst;
	c->user = user;
	c->pass = pass ? pass : "";
	c->state = SOCKS5_METHOD;
	c->out[0] = 5;
	if (user) {
		c->out[1] = 2;
		c->out[2] = 0;   /* no authentication */
		c->out[3] = 2;   /* user/password */
		queue(c, 4);
	} else {
		c->out[1] = 1;
		c->out[2] = 0;
		queue(c, 3);
	}
}

size_t socks5_client_output(const struct socks5_client *c, const uint8_t **p)
{
	*p = c->out + c->out_off;
	return (size_t)(c->out_len - c->out_off);
}

void socks5_client_sent(struct socks5_client *c, size_t n)
{
	size_t left = (size_t)(c->out_len - c->out_off);
	c->out_off = (uint16_t)(c->out_off + (n < left ? n : left));
}

/* The whole length of the message being received, as far as the bytes so
 * far tell (a lower bound until the address type and length are in). */
static size_t msg_len(const struct socks5_client *c)
{
	switch (c->state) {
	case SOCKS5_METHOD:
	case SOCKS5_AUTH: return 2;
	case SOCKS5_REPLY: {
		if (c->in_len < 5)
			return 5;   /* VER REP RSV ATYP and the address's first byte */
		int al = addr_len(c->in + 3, c->in_len - 3u);
		return al > 0 ? 3 + (size_t)al : c->in_len;   /* bad: input() fails it */
	}
	default: return 0;
	}
}

size_t socks5_client_want(const struct socks5_client *c)
{
	size_t need = msg_len(c);
	return need > c->in_len ? need - c->in_len : 0;
}

static void on_auth_method(struct socks5_client *c)
{
	size_t ul = strlen(c->user), pl = strlen(c->pass);
	if (!ul || ul > 255 || pl > 255) {
		fail(c, SOCKS5_ERR_ARGS);
		return;
	}
	c->out[0] = 1;   /* RFC 1929 sub-negotiation version */
	c->out[1] = (uint8_t)ul;
	memcpy(c->out + 2, c->user, ul);
	c->out[2 + ul] = (uint8_t)pl;
	memcpy(c->out + 3 + ul, c->pass, pl);
	queue(c, 3 + ul + pl);
	c->state = SOCKS5_AUTH;
}

/* A complete message is in c->in. */
static void on_message(struct socks5_client *c)
{
	const uint8_t *b = c->in;
	c->in_len = 0;
	switch (c->state) {
	case SOCKS5_METHOD:
		if (b[0] != 5)
			fail(c, SOCKS5_ERR_PROTOCOL);
		else if (b[1] == 0)
			queue_request(c);
		else if (b[1] == 2 && c->user)
			on_auth_method(c);
		else
			fail(c, b[1] == 0xFF ? SOCKS5_ERR_NO_METHOD : SOCKS5_ERR_PROTOCOL);
		return;
	case SOCKS5_AUTH:
		if (b[0] != 1)
			fail(c, SOCKS5_ERR_PROTOCOL);
		else if (b[1] != 0)
			fail(c, SOCKS5_ERR_AUTH);
		else
			queue_request(c);
		return;
	case SOCKS5_REPLY: {
		int al = addr_len(b + 3, SOCKS5_MAX_REPLY - 3);
		c->rep = b[1];
		if (b[1] != 0) {
			fail(c, SOCKS5_ERR_REPLY);
			return;
		}
		get_addr(b + 3, al, &c->bnd);
		c->state = SOCKS5_DONE;
		return;
	}
	default: return;
	}
}

size_t socks5_client_input(struct socks5_client *c, const uint8_t *b, size_t n)
{
	size_t took = 0;
	while (took < n) {
		size_t want = socks5_client_want(c);
		if (!want)
			break;
		size_t k = n - took < want ? n - took : want;
		memcpy(c->in + c->in_len, b + took, k);
		c->in_len = (uint16_t)(c->in_len + k);
		took += k;
		if (c->state == SOCKS5_REPLY && c->in_len >= 4 &&
		    (c->in[0] != 5 || c->in[2] != 0 || (c->in_len >= 5 && addr_len(c->in + 3, c->in_len - 3u) < 0))) {
			fail(c, SOCKS5_ERR_PROTOCOL);   /* version, RSV, address type or empty name */
			break;
		}
		if (c->in_len == msg_len(c))
			on_message(c);
	}
	return took;
}

const char *socks5_client_strerror(const struct socks5_client *c)
{
	switch (c->error) {
	case SOCKS5_OK: return "no error";
	case SOCKS5_ERR_PROTOCOL: return "malformed reply from the proxy";
	case SOCKS5_ERR_NO_METHOD: return "the proxy accepts none of our authentication methods";
	case SOCKS5_ERR_AUTH: return "the proxy rejected the user name or password";
	case SOCKS5_ERR_REPLY: return socks5_rep_str(c->rep);
	case SOCKS5_ERR_ARGS: return "request cannot be encoded";
	default: return "unknown error";
	}
}

size_t socks5_udp_header(uint8_t *out, const struct socks5_addr *a)
{
	out[0] = 0;
	out[1] = 0;
	out[2] = 0;   /* FRAG: standalone */
	size_t n = put_addr(out + 3, a);
	return n ? 3 + n : 0;
}

int socks5_parse_udp(const uint8_t *b, size_t n, struct socks5_addr *a)
{
	if (n < 4 || b[0] || b[1] || b[2])
		return -1;   /* reserved bytes, or a fragment (never reassembled) */
	int al = addr_len(b + 3, n - 3);
	if (al <= 0 || (size_t)al > n - 3)
		return -1;
	get_addr(b + 3, al, a);
	return 3 + al;
}

const char *socks5_rep_str(int rep)
{
	static const char *s[] = {"succeeded", "general failure", "not allowed by ruleset", "network unreachable",
				  "host unreachable", "connection refused", "TTL expired", "command not supported",
				  "address type not supported"};
	return rep >= 0 && rep < (int)(sizeof(s) / sizeof(s[0])) ? s[rep] : "unknown reply";
}
