/* TCP header and options (RFC 9293 3.1, RFC 7323, RFC 2018). */
#include "wire/tcp.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

#define TCP_MAX_OPT_LEN (TCP_MAX_HDR_LEN - TCP_HDR_LEN)
#define TCPOLEN_MSS 4
#define TCPOLEN_WSCALE 3
#define TCPOLEN_SACK_PERM 2
#define TCPOLEN_TS 10
#define TCPOLEN_SACK_BASE 2
#define TCPOLEN_SACK_BLOCK 8
/* NOP, NOP, kind 8, length 10: the timestamp option as RFC 7323 appendix A
 * lays it out, alone in a 32-byte header. */
#define TCP_TS_ALIGNED ((uint32_t)TCPOPT_NOP << 24 | (uint32_t)TCPOPT_NOP << 16 | (uint32_t)TCPOPT_TS << 8 | TCPOLEN_TS)

/* The pseudo-header for a segment of any length: the sum without the
 * length (ph), plus the length's 16-bit halves, as RFC 8200 8.1's 32-bit
 * length adds up to the same one's-complement sum as IPv4's 16 bits. */
static uint32_t tcp_pseudo(uint32_t ph, size_t len) { return ph + (uint32_t)(len & 0xFFFF) + (uint32_t)(len >> 16); }

/* Record one option of kind k with olen bytes at o (olen >= 2, in bounds). */
static void tcp_opt_one(struct tcp_repr *r, uint8_t k, const uint8_t *o, uint8_t olen)
{
	switch (k) {
	case TCPOPT_MSS:
		if (olen != TCPOLEN_MSS)
			goto bad;
		r->has_mss = 1;
		r->mss = rd_be16(o + 2);
		return;
	case TCPOPT_WSCALE:
		if (olen != TCPOLEN_WSCALE)
			goto bad;
		r->has_wscale = 1;
		r->wscale = o[2];
		return;
	case TCPOPT_SACK_PERM:
		if (olen != TCPOLEN_SACK_PERM)
			goto bad;
		r->sack_perm = 1;
		return;
	case TCPOPT_TS:
		if (olen != TCPOLEN_TS)
			goto bad;
		r->has_ts = 1;
		r->tsval = rd_be32(o + 2);
		r->tsecr = rd_be32(o + 6);
		return;
	case TCPOPT_FASTOPEN:
	case TCPOPT_EXP: {
		size_t base = k == TCPOPT_EXP ? 4 : 2;
		if (k == TCPOPT_EXP && (olen < 4 || rd_be16(o + 2) != TCPOPT_FASTOPEN_MAGIC))
			return;   /* another experiment: unknown */
		size_t n = (size_t)olen - base;
		if (olen < base || (n && (n < TCP_FO_COOKIE_MIN || n > TCP_FO_COOKIE_MAX || (n & 1))))
			goto bad;
		r->fo = k == TCPOPT_EXP ? TCP_FO_EXP : TCP_FO_RFC;
		r->fo_len = (uint8_t)n;
		if (n)
			memcpy(r->fo_cookie, o + base, n);
		return;
	}
	case TCPOPT_SACK: {
		size_t n = (size_t)(olen - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_BLOCK;
		if ((olen - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_BLOCK != 0 || n < 1 || n > TCP_MAX_SACK)
			goto bad;
		for (size_t j = 0; j < n; j++) {
			r->sack[j].left = rd_be32(o + 2 + 8 * j);
			r->sack[j].right = rd_be32(o + 6 + 8 * j);
		}
		r->n_sack = (uint8_t)n;
		return;
	}
	default:
		return; /* unknown kinds are skipped by their length */
	}
bad:
	if (r->bad_opts < UINT8_MAX)
		r->bad_opts++;
}

/* Walk opt[0..n): every step advances at least one byte, no read passes n. */
static void tcp_opts_walk(struct tcp_repr *r, const uint8_t *opt, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t k = opt[i];
		if (k == TCPOPT_EOL)
			return;
		if (k == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (n - i < 2 || opt[i + 1] < 2 || opt[i + 1] > n - i) {
			if (r->bad_opts < UINT8_MAX)
				r->bad_opts++;
			return;
		}
		tcp_opt_one(r, k, opt + i, opt[i + 1]);
		i += opt[i + 1];
	}
}

int tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst, struct tcp_repr *r, int check_csum)
{
	return tcp_parse_ph(buf, len, csum_pseudo4(src, dst, IP_PROTO_TCP, 0), r, check_csum);
}

int tcp_parse_ph(const uint8_t *buf, size_t len, uint32_t ph, struct tcp_repr *r, int check_csum)
{
	memset(r, 0, sizeof *r);
	if (len < TCP_HDR_LEN)
		return -EINVAL;
	size_t hl = (size_t)(buf[12] >> 4) * 4;
	if (hl < TCP_HDR_LEN || hl > len)
		return -EINVAL;
	if (check_csum && csum_fold(csum_partial(buf, len, tcp_pseudo(ph, len))) != 0)
		return -EBADMSG;
	r->sport = rd_be16(buf);
	r->dport = rd_be16(buf + 2);
	r->seq = rd_be32(buf + 4);
	r->ack = rd_be32(buf + 8);
	r->flags = buf[13];
	r->win = rd_be16(buf + 14);
	r->urg = rd_be16(buf + 18);
	r->hdr_len = (uint16_t)hl;
	if (hl == TCP_HDR_LEN + 12 && rd_be32(buf + TCP_HDR_LEN) == TCP_TS_ALIGNED) {
		/* The layout of nearly every segment once timestamps are on
		 * (RFC 7323 appendix A), read at once as Linux's
		 * tcp_parse_aligned_timestamp does: the same result as the walk. */
		r->has_ts = 1;
		r->tsval = rd_be32(buf + TCP_HDR_LEN + 4);
		r->tsecr = rd_be32(buf + TCP_HDR_LEN + 8);
	} else {
		tcp_opts_walk(r, buf + TCP_HDR_LEN, hl - TCP_HDR_LEN);
	}
	r->payload = buf + hl;
	r->payload_len = len - hl;
	return 0;
}

/* Bytes of the Fast Open option with its padding (0 if none). */
static size_t fo_opt_len(const struct tcp_repr *r)
{
	if (!r->fo)
		return 0;
	size_t len = (r->fo == TCP_FO_EXP ? 4u : 2u) + US_MIN((size_t)r->fo_len, (size_t)TCP_FO_COOKIE_MAX);
	return (len + 3) & ~(size_t)3;
}

/* The option layout tcp_emit writes, every piece a multiple of 4 bytes, in
 * Linux's order (tcp_options_write; no RFC fixes one, and middleboxes and
 * tests written against Linux expect it): MSS (4), then SACKP TS (12) or
 * NOP NOP TS (12) or NOP NOP SACKP (4), then NOP WS (4), then NOP NOP SACK
 * (4 + 8n), then Fast Open (kind, length, [magic,] cookie, NOP NOP if
 * needed). Sets *n_sack to the SACK blocks that fit in the 40 bytes left
 * after the others. */
static size_t tcp_opts_len(const struct tcp_repr *r, size_t *n_sack)
{
	size_t n = 0;
	if (r->has_mss)
		n += 4;
	if (r->has_wscale)
		n += 4;
	if (r->has_ts)
		n += 12; /* with SACKP in place of the two NOPs if both */
	else if (r->sack_perm)
		n += 4;
	n += fo_opt_len(r);   /* at most 20, with 20 above: 40 */
	/* Without Fast Open at most 20 bytes are used above, so two blocks fit. */
	size_t room = TCP_MAX_OPT_LEN - n;
	size_t fit = room >= 4 + TCPOLEN_SACK_BLOCK ? (room - 4) / TCPOLEN_SACK_BLOCK : 0;
	size_t k = US_MIN(US_MIN((size_t)r->n_sack, (size_t)TCP_MAX_SACK), fit);
	if (k)
		n += 4 + TCPOLEN_SACK_BLOCK * k;
	*n_sack = k;
	return n;
}

size_t tcp_hdr_len_for(const struct tcp_repr *r)
{
	size_t k;
	return TCP_HDR_LEN + tcp_opts_len(r, &k);
}

static uint8_t *put_ts(uint8_t *p, const struct tcp_repr *r)
{
	p[0] = TCPOPT_TS;
	p[1] = TCPOLEN_TS;
	wr_be32(p + 2, r->tsval);
	wr_be32(p + 6, r->tsecr);
	return p + TCPOLEN_TS;
}

static size_t emit_hdr(const struct tcp_repr *r, uint8_t *buf)
{
	size_t k;
	size_t hl = TCP_HDR_LEN + tcp_opts_len(r, &k);
	uint8_t *p = buf + TCP_HDR_LEN;

	wr_be16(buf, r->sport);
	wr_be16(buf + 2, r->dport);
	wr_be32(buf + 4, r->seq);
	wr_be32(buf + 8, r->ack);
	buf[12] = (uint8_t)((hl / 4) << 4);
	buf[13] = r->flags;
	wr_be16(buf + 14, r->win);
	wr_be16(buf + 16, 0);
	wr_be16(buf + 18, r->urg);

	if (r->has_mss) {
		p[0] = TCPOPT_MSS;
		p[1] = TCPOLEN_MSS;
		wr_be16(p + 2, r->mss);
		p += 4;
	}
	if (r->has_ts) {
		if (r->sack_perm) {
			p[0] = TCPOPT_SACK_PERM;
			p[1] = TCPOLEN_SACK_PERM;
		} else {
			p[0] = TCPOPT_NOP;
			p[1] = TCPOPT_NOP;
		}
		p = put_ts(p + 2, r);
	} else if (r->sack_perm) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_NOP;
		p[2] = TCPOPT_SACK_PERM;
		p[3] = TCPOLEN_SACK_PERM;
		p += 4;
	}
	if (r->has_wscale) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_WSCALE;
		p[2] = TCPOLEN_WSCALE;
		p[3] = r->wscale;
		p += 4;
	}
	if (k) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_NOP;
		p[2] = TCPOPT_SACK;
		p[3] = (uint8_t)(TCPOLEN_SACK_BASE + TCPOLEN_SACK_BLOCK * k);
		p += 4;
		for (size_t j = 0; j < k; j++, p += 8) {
			wr_be32(p, r->sack[j].left);
			wr_be32(p + 4, r->sack[j].right);
		}
	}
	if (r->fo) {
		size_t cl = US_MIN((size_t)r->fo_len, (size_t)TCP_FO_COOKIE_MAX);
		size_t len = (r->fo == TCP_FO_EXP ? 4u : 2u) + cl;
		p[0] = r->fo == TCP_FO_EXP ? TCPOPT_EXP : TCPOPT_FASTOPEN;
		p[1] = (uint8_t)len;
		if (r->fo == TCP_FO_EXP)
			wr_be16(p + 2, TCPOPT_FASTOPEN_MAGIC);
		memcpy(p + len - cl, r->fo_cookie, cl);
		p += len;
		for (; len & 3; len++)
			*p++ = TCPOPT_NOP;
	}

	return hl;
}

size_t tcp_emit(const struct tcp_repr *r, uint32_t src, uint32_t dst, uint8_t *buf, size_t payload_len)
{
	return tcp_emit_ph(r, csum_pseudo4(src, dst, IP_PROTO_TCP, 0), buf, payload_len);
}

size_t tcp_emit_ph(const struct tcp_repr *r, uint32_t ph, uint8_t *buf, size_t payload_len)
{
	size_t hl = emit_hdr(r, buf);
	size_t seg = hl + payload_len;
	wr_be16(buf + 16, csum_fold(csum_partial(buf, seg, tcp_pseudo(ph, seg))));
	return hl;
}

size_t tcp_emit_partial(const struct tcp_repr *r, uint32_t src, uint32_t dst, uint8_t *buf, size_t payload_len)
{
	return tcp_emit_partial_ph(r, csum_pseudo4(src, dst, IP_PROTO_TCP, 0), buf, payload_len);
}

size_t tcp_emit_partial_ph(const struct tcp_repr *r, uint32_t ph, uint8_t *buf, size_t payload_len)
{
	size_t hl = emit_hdr(r, buf);
	size_t seg = hl + payload_len;
	/* The pseudo-header sum, folded, not complemented: the device sums
	 * the segment over it and stores the complement. */
	wr_be16(buf + 16, (uint16_t)~csum_fold(tcp_pseudo(ph, seg)));
	return hl;
}
