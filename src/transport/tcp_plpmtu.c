/* Packetization Layer Path MTU Discovery for TCP (RFC 4821, RFC 8899),
 * beside ICMP-based PMTUD (tcp_err): a path that drops large segments
 * without an ICMP "fragmentation needed" (a black hole: filtered ICMP, a
 * broken tunnel) would otherwise retransmit full-sized segments until the
 * connection dies.
 *
 * As Linux's tcp_mtu_probing 1 (the default here, tcp_mtu_probing): when
 * the retransmission timer fires for the third time in a row, the sender
 * takes the path for a black hole, falls back to a segment size known to
 * be safe (search_low, RFC 4821's "base": 1024 bytes as Linux's
 * tcp_base_mss, never more than it used) and resends; then it searches
 * upwards: a probe, one segment of the size half way to search_high (the
 * size it started with), goes out when the window and the queue allow.
 * The probe acknowledged, that size is the new segment size and the
 * search goes on; the probe lost three times in a row (RFC 8899's
 * MAX_PROBES: random loss must not end the search), search_high comes
 * down below it. The search ends within 8 bytes (Linux's
 * tcp_probe_threshold). tcp_mtu_probing 2 probes from the start (searching
 * up from search_low is then skipped: the first size is the route's);
 * -1 turns it off (with 2, the search starts at search_low at once). ICMP's word, when one comes, bounds search_high. */
#include "core/bytes.h"
#include "transport/tcp.h"

#define PLPMTU_BASE_MSS 1024u
#define PLPMTU_THRESH 8u
#define PLPMTU_MAX_PROBES 3u
#define PLPMTU_BLACKHOLE_RTOS 3u

void tcp_plpmtu_init(struct us_stack *st, struct tcp_conn *c)
{
	c->mtup_on = st->cfg.tcp_mtu_probing == 2;
	c->mtup_high = c->mss;
	c->mtup_low = US_MIN(PLPMTU_BASE_MSS, (uint32_t)c->mss);
	c->mtup_probe_size = 0;
	c->mtup_fails = 0;
	if (c->mtup_on) {
		c->mss_cap = (uint16_t)c->mtup_low;   /* start safe, search upwards */
		tcp_update_mss(st, c);
	}
}

void tcp_plpmtu_rto(struct us_stack *st, struct tcp_conn *c)
{
	if (st->cfg.tcp_mtu_probing < 1 || c->state < US_TCP_ESTABLISHED || c->retransmits < PLPMTU_BLACKHOLE_RTOS)
		return;
	c->mtup_probe_size = 0;
	if (c->mss <= c->mtup_low) {
		if (!c->mtup_on || c->mtup_low <= 256)
			return;
		/* Already at the safe size and still nothing: halve it (Linux). */
		c->mtup_low = US_MAX(c->mtup_low / 2, 256u);
	}
	if (!c->mtup_on)
		STAT_INC(st, tcpext, TCPMTUPBlackhole);
	c->mtup_on = 1;
	c->mtup_high = US_MIN(c->mtup_high, (uint32_t)c->mss - 1);
	c->mss_cap = (uint16_t)c->mtup_low;
	tcp_update_mss(st, c);
}

uint32_t tcp_plpmtu_probe_size(const struct tcp_conn *c)
{
	if (!c->mtup_on || c->mtup_probe_size || c->ca_state != CA_OPEN || c->mtup_high < c->mss + PLPMTU_THRESH)
		return 0;
	uint32_t size = (c->mss + c->mtup_high + 1) / 2;
	/* The probe must not be what limits: room for it in the window, the
	 * queue, and beyond it the flight. */
	uint32_t flight = tcp_board_pipe(c);
	uint32_t unsent = c->sndq.len - US_MIN(c->sndq.len, tcp_flight(c));
	if (unsent < size || flight + size > c->cwnd || tcp_flight(c) + size > c->snd_wnd)
		return 0;
	return size;
}

void tcp_plpmtu_probe_sent(struct tcp_conn *c, uint32_t seq, uint32_t len)
{
	c->mtup_probe_size = len;
	c->mtup_probe_seq = seq;
}

void tcp_plpmtu_ack(struct us_stack *st, struct tcp_conn *c)
{
	if (!c->mtup_probe_size || SEQ_LT(c->snd_una, c->mtup_probe_seq + c->mtup_probe_size))
		return;
	/* The probe got through: that size works. */
	STAT_INC(st, tcpext, TCPMTUPSuccess);
	c->mtup_low = c->mtup_probe_size;
	c->mss_cap = (uint16_t)c->mtup_probe_size;
	c->mtup_probe_size = 0;
	c->mtup_fails = 0;
	tcp_update_mss(st, c);
}

void tcp_plpmtu_resent(struct us_stack *st, struct tcp_conn *c, uint32_t seq)
{
	if (!c->mtup_probe_size || !SEQ_GEQ(seq, c->mtup_probe_seq) ||
	    !SEQ_LT(seq, c->mtup_probe_seq + c->mtup_probe_size))
		return;
	/* The probe was lost (its data goes again at the current size). */
	STAT_INC(st, tcpext, TCPMTUPFail);
	if (++c->mtup_fails >= PLPMTU_MAX_PROBES) {
		c->mtup_high = c->mtup_probe_size - 1;
		c->mtup_fails = 0;
	}
	c->mtup_probe_size = 0;
}

void tcp_plpmtu_icmp(struct tcp_conn *c)
{
	c->mtup_high = US_MIN(c->mtup_high, (uint32_t)c->mss);
	c->mtup_low = US_MIN(c->mtup_low, (uint32_t)c->mss);
}
