#ifndef US_WIRE_TCP_H
#define US_WIRE_TCP_H
#include <stddef.h>
#include <stdint.h>

#define TCP_HDR_LEN 20
#define TCP_MAX_HDR_LEN 60
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WSCALE 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TS 8
#define TCPOPT_FASTOPEN 34       /* RFC 7413 */
#define TCPOPT_EXP 254           /* RFC 6994 experimental; Fast Open's magic: */
#define TCPOPT_FASTOPEN_MAGIC 0xF989

#define TCP_MAX_SACK 4
#define TCP_FO_COOKIE_MIN 4      /* RFC 7413 4.1.1: 4 to 16 bytes, an even count */
#define TCP_FO_COOKIE_MAX 16
#define TCP_FO_RFC 1             /* tcp_repr.fo: the option kind 34 */
#define TCP_FO_EXP 2             /* ...or the experimental kind 254 (Linux's first form) */

struct tcp_sack_block {
	uint32_t left, right;
};

struct tcp_repr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;              /* raw field, unscaled */
	uint16_t urg;
	uint16_t hdr_len;          /* data offset * 4 */
	/* options */
	uint8_t has_mss, has_wscale, sack_perm, has_ts;
	uint16_t mss;              /* as sent (0 allowed: caller clamps) */
	uint8_t wscale;            /* as sent (caller clamps to 14) */
	uint32_t tsval, tsecr;
	uint8_t n_sack;
	struct tcp_sack_block sack[TCP_MAX_SACK];
	uint8_t fo;                /* Fast Open option: 0 none, TCP_FO_RFC, TCP_FO_EXP */
	uint8_t fo_len;            /* its cookie's length; 0: a cookie request */
	uint8_t fo_cookie[TCP_FO_COOKIE_MAX];
	uint8_t bad_opts;          /* malformed options seen (ignored or walk stopped) */
	const uint8_t *payload;
	size_t payload_len;
};

/* 0; -EINVAL if len < 20, data offset < 5 or offset*4 > len; -EBADMSG on a
 * bad checksum (if check_csum). Options are walked so the walk always
 * advances: EOL ends it; a length below 2 or past the header ends it and
 * counts in bad_opts; a known option with the wrong length (MSS != 4,
 * WS != 3, SACK-permitted != 2, TS != 10, SACK not 2+8n with n 1..4, a Fast
 * Open cookie not 0 or 4..16 even bytes) is skipped by its length and
 * counted in bad_opts; unknown kinds (and kind 254 without Fast Open's
 * magic) are skipped. */
int tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst, struct tcp_repr *r, int check_csum);
/* The same for either family: ph is the pseudo-header sum without the
 * length (csum_pseudo4(src, dst, proto, 0), or IPv6's addresses and next
 * header), src/dst above are IPv4 in host byte order. */
int tcp_parse_ph(const uint8_t *buf, size_t len, uint32_t ph, struct tcp_repr *r, int check_csum);
/* Header bytes the options in r need, padded to a multiple of 4, plus 20. */
size_t tcp_hdr_len_for(const struct tcp_repr *r);
/* Writes the header and options of r at buf (tcp_hdr_len_for(r) bytes,
 * ignoring r->hdr_len) and the checksum over them and the payload_len bytes
 * that follow. Returns the header length. */
size_t tcp_emit(const struct tcp_repr *r, uint32_t src, uint32_t dst, uint8_t *buf, size_t payload_len);
/* The same with the checksum left partial (only the pseudo-header sum, for
 * the length hl + payload_len) for a device to finish: checksum offload. */
size_t tcp_emit_partial(const struct tcp_repr *r, uint32_t src, uint32_t dst, uint8_t *buf, size_t payload_len);
/* tcp_emit and tcp_emit_partial with the pseudo-header sum ph (as tcp_parse_ph). */
size_t tcp_emit_ph(const struct tcp_repr *r, uint32_t ph, uint8_t *buf, size_t payload_len);
size_t tcp_emit_partial_ph(const struct tcp_repr *r, uint32_t ph, uint8_t *buf, size_t payload_len);
#endif
