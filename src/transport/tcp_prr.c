/* Proportional Rate Reduction (RFC 6937), as Linux's tcp_cwnd_reduction:
 * during fast recovery the window is set on every ACK to what is in
 * flight plus what may be sent now, so the sender reaches ssthresh by the
 * end of recovery in proportion to what the ACKs deliver, instead of
 * halving at once and sending nothing for half a round trip (RFC 6675) or
 * bursting when pipe falls far below ssthresh. While pipe is above
 * ssthresh: ssthresh/RecoverFS of what was delivered (RecoverFS: the
 * window when recovery began, as Linux's prior_cwnd); below it: slow start
 * bounded by what was delivered (PRR-SSRB) when the ACK moved SND.UNA and
 * showed no new loss, else what was delivered (PRR-CRB). The first ACK
 * always allows one segment: the fast retransmission. */
#include "core/bytes.h"
#include "transport/tcp.h"

void tcp_prr_start(struct tcp_conn *c)
{
	c->prr_delivered = 0;
	c->prr_out = 0;
	c->prior_cwnd = US_MAX(c->cwnd, (uint32_t)c->mss);
}

void tcp_prr_sent(struct tcp_conn *c, uint32_t bytes)
{
	if (c->ca_state == CA_RECOVERY)
		c->prr_out += bytes;
}

void tcp_prr_ack(struct tcp_conn *c, uint32_t delivered, uint32_t lost, int una_advanced)
{

	if (!delivered || !c->prior_cwnd)
		return;
	c->prr_delivered += delivered;
	uint32_t pipe = tcp_board_pipe(c);
	int64_t sndcnt;
	if (pipe > c->ssthresh) {
		/* Proportional part: ceil(prr_delivered * ssthresh / RecoverFS) - prr_out. */
		uint64_t want = ((uint64_t)c->prr_delivered * c->ssthresh + c->prior_cwnd - 1) / c->prior_cwnd;
		sndcnt = (int64_t)want - (int64_t)c->prr_out;
	} else {
		int64_t delta = (int64_t)c->ssthresh - (int64_t)pipe;
		int64_t limit;
		if (una_advanced && !lost)
			limit = US_MAX((int64_t)c->prr_delivered - (int64_t)c->prr_out, (int64_t)delivered) + c->mss;
		else
			limit = delivered;
		sndcnt = US_MIN(delta, limit);
	}
	if (!c->prr_out)
		sndcnt = US_MAX(sndcnt, (int64_t)c->mss);   /* the fast retransmission */
	if (sndcnt < 0)
		sndcnt = 0;
	c->cwnd = pipe + (uint32_t)sndcnt;
}
