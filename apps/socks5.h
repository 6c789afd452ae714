/* SOCKS5 client messages (RFC 1928, RFC 1929 user/password): builders and
 * incremental parsers over bytes received so far. Parsers return the bytes
 * the message took, 0 if more are needed, -1 if it is malformed. */
#ifndef US_APP_SOCKS5_H
#define US_APP_SOCKS5_H
#include <stddef.h>
#include <stdint.h>

#define SOCKS5_CMD_CONNECT 1
#define SOCKS5_CMD_UDP_ASSOCIATE 3
#define SOCKS5_MAX_MSG 520          /* the largest message either way (auth: 3 + 255 + 255) */
#define SOCKS5_UDP_HDR_MAX 262      /* 4 + 1 + 255 + 2 */

/* Greeting: "no authentication", plus "user/password" when with_auth. */
size_t socks5_greeting(uint8_t *out, int with_auth);
/* Server's choice: *method 0 (none), 2 (user/password) or 0xFF (none acceptable). */
int socks5_parse_method(const uint8_t *b, size_t n, int *method);
/* RFC 1929 request; 0 if a name or password is longer than 255 bytes. */
size_t socks5_auth_request(uint8_t *out, const char *user, const char *pass);
int socks5_parse_auth(const uint8_t *b, size_t n, int *ok);
/* CONNECT or UDP ASSOCIATE to ip (host order) or, if domain is non-NULL, a
 * domain name (ATYP 3); 0 if the name is empty or longer than 255 bytes. */
size_t socks5_request(uint8_t *out, uint8_t cmd, uint32_t ip, const char *domain, uint16_t port);
/* Reply: *rep the REP field (0 success); BND.ADDR if it is IPv4 (else 0). */
int socks5_parse_reply(const uint8_t *b, size_t n, int *rep, uint32_t *bnd_ip, uint16_t *bnd_port);
/* The header of a UDP datagram relayed through the proxy. */
size_t socks5_udp_header(uint8_t *out, uint32_t ip, const char *domain, uint16_t port);
/* Returns the header length, or -1 for a fragment, a truncated header or a
 * non-IPv4 source (which cannot be handed back as an IPv4 source). */
int socks5_parse_udp(const uint8_t *b, size_t n, uint32_t *ip, uint16_t *port);
/* A REP code as text. */
const char *socks5_rep_str(int rep);
#endif
