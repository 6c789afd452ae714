/* SOCKS5 client (RFC 1928; RFC 1929 user/password) as a pure state machine
 * over bytes: no sockets, no I/O. The caller sends what the machine has to
 * send, reads exactly as many bytes as it asks for (so bytes after the
 * final reply, the server's first data, stay in the caller's socket), and
 * feeds them in. The same machine serves CONNECT (TCP flows) and UDP
 * ASSOCIATE (UDP mappings). Addresses are IPv4, IPv6 (ATYP 4) or a domain
 * name (ATYP 3). Also the codec of the UDP request header. */
#ifndef US_APP_SOCKS5_H
#define US_APP_SOCKS5_H
#include <stddef.h>
#include <stdint.h>

#define SOCKS5_CMD_CONNECT 1
#define SOCKS5_CMD_UDP_ASSOCIATE 3
#define SOCKS5_ATYP_IPV4 1
#define SOCKS5_ATYP_DOMAIN 3
#define SOCKS5_ATYP_IPV6 4
#define SOCKS5_MAX_MSG 520          /* the largest message either way (auth: 3 + 255 + 255) */
#define SOCKS5_MAX_REPLY 262        /* 4 + 1 + 255 + 2 */
#define SOCKS5_UDP_HDR_MAX 262      /* 4 + 1 + 255 + 2 */

/* An endpoint: an address of either family, or a domain name, and a port. */
struct socks5_addr {
	uint8_t atyp;               /* SOCKS5_ATYP_* */
	uint8_t ip[16];             /* network byte order: 4 bytes (IPv4) or 16 (IPv6) */
	uint16_t port;              /* host byte order */
	const char *domain;         /* ATYP 3 (borrowed, NUL-terminated); in a parsed reply: NULL */
};
void socks5_addr_ipv4(struct socks5_addr *a, uint32_t ip_host_order, uint16_t port);
uint32_t socks5_addr_ipv4_get(const struct socks5_addr *a);   /* host order; atyp must be IPv4 */

enum socks5_state {
	SOCKS5_METHOD,              /* greeting sent (or to send): awaiting the method choice */
	SOCKS5_AUTH,                /* RFC 1929 request sent: awaiting its status */
	SOCKS5_REPLY,               /* request sent: awaiting the reply */
	SOCKS5_DONE,                /* reply with REP 0: bnd holds BND.ADDR:BND.PORT */
	SOCKS5_FAILED,              /* see error (and rep) */
};
enum socks5_error {
	SOCKS5_OK,
	SOCKS5_ERR_PROTOCOL,        /* malformed or unexpected bytes from the server */
	SOCKS5_ERR_NO_METHOD,       /* the server accepts none of our methods */
	SOCKS5_ERR_AUTH,            /* user/password rejected */
	SOCKS5_ERR_REPLY,           /* the request failed: rep holds the REP code */
	SOCKS5_ERR_ARGS,            /* our own request could not be encoded (name or password too long) */
};

struct socks5_client {
	uint8_t state, error, rep, cmd;
	const char *user, *pass;    /* borrowed; user NULL: no authentication offered */
	struct socks5_addr dst;     /* what the request asks for (domain borrowed) */
	struct socks5_addr bnd;     /* from the reply once DONE */
	uint8_t out[SOCKS5_MAX_MSG];
	uint16_t out_len, out_off;  /* bytes to send: out[out_off .. out_len) */
	uint8_t in[SOCKS5_MAX_REPLY];
	uint16_t in_len;            /* of the message being received */
};

/* Starts a handshake: the greeting is queued for sending. dst's domain and
 * user/pass must outlive the machine. */
void socks5_client_init(struct socks5_client *c, uint8_t cmd, const struct socks5_addr *dst, const char *user,
			const char *pass);
/* Bytes to send now (0: none): *p points at them. */
size_t socks5_client_output(const struct socks5_client *c, const uint8_t **p);
/* n of them were sent. */
void socks5_client_sent(struct socks5_client *c, size_t n);
/* How many bytes to read next (0 once DONE or FAILED): never more than the
 * message being received still lacks. */
size_t socks5_client_want(const struct socks5_client *c);
/* Feeds received bytes; takes at most socks5_client_want() of them and
 * returns how many it took. Moves through the states and queues the next
 * message. Check c->state afterwards. */
size_t socks5_client_input(struct socks5_client *c, const uint8_t *b, size_t n);
/* One line on why it failed. */
const char *socks5_client_strerror(const struct socks5_client *c);

/* The header of a UDP datagram relayed through the proxy (RFC 1928 7);
 * returns its length (at most SOCKS5_UDP_HDR_MAX) or 0 for a bad address. */
size_t socks5_udp_header(uint8_t *out, const struct socks5_addr *a);
/* Parses it: the header's length, or -1 for a fragment (never
 * reassembled), a truncated header or a bad address type. A domain-name
 * source leaves a->atyp SOCKS5_ATYP_DOMAIN and no address. */
int socks5_parse_udp(const uint8_t *b, size_t n, struct socks5_addr *a);
/* A REP code as text. */
const char *socks5_rep_str(int rep);
#endif
