/* libFuzzer target: TCP segments from a to b's connections, the fuzzer
 * choosing header fields, options and payload and the harness making the
 * rest valid (addresses, ports, IP header, both checksums), so inputs reach
 * the state machine instead of dying at the checksum. a itself is silent:
 * the fuzzer is the only peer. See stack_harness.h for b's sockets.
 *
 * Input: records of
 *   ctl      bits 0-1: 0,1 the established connection a:cport -> b:80,
 *                      2 a new connection a:40000 -> b:80 (the listener),
 *                      3 a's queued connection to b:81;
 *            bit 2: seq is 4 bytes as is, else 2 bytes (signed) added to
 *                   the connection's rcv_nxt (0 if none);
 *            bit 3: ack likewise, relative to its snd_una;
 *            bits 4-7: delay before the segment (index into fz_delay_ms)
 *   flags    the TCP flags byte
 *   seq, ack (2 or 4 bytes each)
 *   win, urg (2 bytes each)
 *   optctl   bits 0-5: option bytes that follow (at most 40; padded with
 *            EOL to a multiple of 4); bit 7: a data-offset byte follows
 *            whose low nibble replaces the computed one
 *   options, [data offset], payload length (2 bytes), payload */
#include "stack_harness.h"

static const uint32_t fz_delay_ms[16] = {0, 0, 0, 1, 5, 40, 100, 200, 500, 1000, 3000, 10000, 30000, 60000, 120000, 0};

static int take(const uint8_t *d, size_t n, size_t *i, size_t k, uint32_t *out)
{
	if (n - *i < k)
		return -1;
	uint32_t v = 0;
	for (size_t j = 0; j < k; j++)
		v = v << 8 | d[*i + j];
	*i += k;
	*out = v;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	fz_setup(&f);
	f.s.a_down = 1;
	uint16_t c81port = 0;
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	if (us_getsockname(f.s.a, f.c81, (struct sockaddr *)&me, &ml) == 0)
		c81port = ntohs(me.sin_port);
	size_t i = 0;
	uint16_t ipid = 1;
	for (int n = 0; n < FZ_MAX_FRAMES && i < size; n++) {
		uint32_t ctl, flags, seq, ack, win, urg, optctl, doff = 0, plen;
		if (take(data, size, &i, 1, &ctl) || take(data, size, &i, 1, &flags) ||
		    take(data, size, &i, ctl & 4 ? 4 : 2, &seq) || take(data, size, &i, ctl & 8 ? 4 : 2, &ack) ||
		    take(data, size, &i, 2, &win) || take(data, size, &i, 2, &urg) || take(data, size, &i, 1, &optctl))
			break;
		size_t optlen = (optctl & 63) > 40 ? 40 : (optctl & 63);
		if (size - i < optlen)
			break;
		const uint8_t *opts = data + i;
		i += optlen;
		if ((optctl & 0x80) && take(data, size, &i, 1, &doff))
			break;
		if (take(data, size, &i, 2, &plen))
			break;
		if (plen > size - i)
			plen = (uint32_t)(size - i);
		if (plen > 1400)
			plen = 1400;

		uint16_t sport = f.cport, dport = 80;
		if ((ctl & 3) == 2)
			sport = FZ_CPORT_BASE;
		else if ((ctl & 3) == 3)
			sport = c81port, dport = 81;
		struct us_addr la = addr_from_v4(FZ_B_IP), ra = addr_from_v4(FZ_A_IP);
		struct tcp_conn *c = tcp_lookup(f.s.b, &la, dport, &ra, sport);
		if (!(ctl & 4))
			seq = (c ? c->rcv_nxt : 0) + (uint32_t)(int16_t)seq;
		if (!(ctl & 8))
			ack = (c ? c->snd_una : 0) + (uint32_t)(int16_t)ack;

		uint8_t seg[60 + 1400];
		size_t hl = 20 + ((optlen + 3) & ~(size_t)3);
		memset(seg, 0, hl);
		wr_be16(seg, sport);
		wr_be16(seg + 2, dport);
		wr_be32(seg + 4, seq);
		wr_be32(seg + 8, ack);
		seg[12] = (uint8_t)((optctl & 0x80 ? (doff & 15) : hl / 4) << 4);
		seg[13] = (uint8_t)flags;
		wr_be16(seg + 14, (uint16_t)win);
		wr_be16(seg + 18, (uint16_t)urg);
		memcpy(seg + 20, opts, optlen);
		memcpy(seg + hl, data + i, plen);
		i += plen;
		size_t len = hl + plen;
		uint32_t sum = csum_pseudo4(FZ_A_IP, FZ_B_IP, IP_PROTO_TCP, (uint16_t)len);
		wr_be16(seg + 16, csum_fold(csum_partial(seg, len, sum)));

		uint8_t frame[14 + 20 + sizeof(seg)];
		fz_advance(&f, MS(fz_delay_ms[ctl >> 4]));
		fz_inject(&f, frame, fz_ip_frame(frame, FZ_A_IP, ipid++, IP_PROTO_TCP, 0x4000, seg, len));
		fz_advance(&f, 0);
		fz_check_stack(f.s.b, f.s.lb);
	}
	fz_finish(&f);
	return 0;
}
