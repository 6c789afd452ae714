/* Explicit Congestion Notification for TCP (RFC 3168).
 *
 * Negotiation: an ECN-setup SYN carries ECE and CWR, its SYN-ACK ECE alone
 * (6.1.1). tcp_ecn 1 asks for ECN and accepts it, 2 (the default, as
 * Linux's net.ipv4.tcp_ecn) only accepts it, -1 never; a SYN that had to
 * be retransmitted goes without (a middlebox may drop ECN-setup SYNs, as
 * Linux's tcp_ecn_fallback). Once negotiated, new data leaves as ECT(0);
 * retransmissions, pure ACKs and window probes as not-ECT (6.1.4-6.1.6).
 * A receiver that sees CE sets ECE on its ACKs, at once, until a segment
 * with CWR arrives (6.1.3); a sender that sees ECE responds as to a loss,
 * once a window (6.1.2), without retransmitting, and sets CWR on its next
 * new segment. BBR (v1) takes no window cut from ECE, as in Linux. */
#include "core/bytes.h"
#include "transport/tcp.h"

#define IP_ECN_MASK 0x03
#define IP_ECN_ECT0 0x02
#define IP_ECN_CE 0x03

uint8_t tcp_ecn_syn_flags(const struct tcp_conn *c, int syn_ack)
{
	if (syn_ack)
		return c->ecn_ok ? TCP_ECE : 0;
	return c->ecn_asked ? (TCP_ECE | TCP_CWR) : 0;
}

void tcp_ecn_active_open(const struct us_stack *st, struct tcp_conn *c)
{
	c->ecn_asked = st->cfg.tcp_ecn == 1;
	c->ecn_ok = 0;
}

void tcp_ecn_syn_retransmit(struct tcp_conn *c)
{
	c->ecn_asked = 0;   /* fall back: the next SYN without ECN */
}

void tcp_ecn_synack_in(struct tcp_conn *c, const struct tcp_repr *t)
{
	c->ecn_ok = c->ecn_asked && (t->flags & (TCP_ECE | TCP_CWR)) == TCP_ECE;
}

void tcp_ecn_syn_in(const struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t)
{
	c->ecn_ok = st->cfg.tcp_ecn >= 1 && (t->flags & (TCP_ECE | TCP_CWR)) == (TCP_ECE | TCP_CWR);
}

void tcp_ecn_rx(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t, uint8_t ip_tos)
{
	if (!c->ecn_ok || (t->flags & TCP_SYN))
		return;
	if (t->flags & TCP_CWR) {
		if (c->ecn_ce_pending)
			STAT_INC(st, tcpext, TCPECNCwrRecv);
		c->ecn_ce_pending = 0;   /* the sender responded */
	}
	if ((ip_tos & IP_ECN_MASK) == IP_ECN_CE) {
		STAT_INC(st, tcpext, TCPECNCeRecv);
		c->ecn_ce_pending = 1;
		c->ack_now = 1;   /* tell it at once (Linux enters quick ACK mode) */
	}
}

uint8_t tcp_ecn_out(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t *flags)
{
	if (!c->ecn_ok || (*flags & (TCP_SYN | TCP_RST)))
		return 0;
	if (c->ecn_ce_pending && (*flags & TCP_ACK))
		*flags |= TCP_ECE;
	if (!len || SEQ_LT(seq, c->snd_max))
		return 0;   /* pure ACKs and retransmissions are not ECN-capable */
	if (c->ecn_cwr_pending) {
		*flags |= TCP_CWR;
		c->ecn_cwr_pending = 0;
	}
	return IP_ECN_ECT0;
}

void tcp_ecn_ece(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t)
{
	if (!c->ecn_ok || !(t->flags & TCP_ECE) || (t->flags & TCP_SYN))
		return;
	STAT_INC(st, tcpext, TCPECNEceRecv);
	/* Once a window, and not in recovery, which already cut it. */
	if (c->ca_state != CA_OPEN || (c->ecn_high_set && SEQ_LT(c->snd_una, c->ecn_high)))
		return;
	c->ecn_high_set = 1;
	c->ecn_high = c->snd_max;
	c->ecn_cwr_pending = 1;
	STAT_INC(st, tcpext, TCPECNResponses);
	c->ssthresh = c->cc->ssthresh(c, st->now);
	if (!c->cc->cong_control)
		c->cwnd = US_MAX(c->ssthresh, 2u * c->mss);
}
