/* The error queue's TCP side, as Linux has it: MSG_ZEROCOPY completions
 * and SO_TIMESTAMPING transmit timestamps (include/ustack/ustack.h has the
 * application's view).
 *
 * Zerocopy: each MSG_ZEROCOPY send that queues data on a SO_ZEROCOPY
 * socket takes the next id; the ids complete once SND.UNA passes the end of
 * their data. As Linux (msg_zerocopy_realloc), a send whose predecessor's
 * data has not all left yet joins its range, and consecutive completions
 * merge in the queue while unread (skb_zerocopy_notify_extend). ustack
 * copies every byte, so every completion says "copied".
 *
 * Timestamps: each write's last byte, as Linux (tcp_tx_timestamp) stamps
 * the packet that ends a write; a write appended to data not sent yet
 * moves that stamp to its own last byte, as Linux appends it to the same
 * packet. The byte is stamped SCHED and SND when first sent, ACK when
 * acknowledged; with OPT_ID the key is its sequence number less the one
 * recorded when OPT_ID was set (Linux's sk_tskey). */
#include <errno.h>
#include <linux/net_tstamp.h>
#include <stdlib.h>
#include <string.h>

#include "transport/tcp.h"

#ifndef SO_TIMESTAMPING_OLD
#define SO_TIMESTAMPING_OLD 37
#endif
#ifndef SO_TIMESTAMPING_NEW
#define SO_TIMESTAMPING_NEW 65
#endif
#ifndef SOF_TIMESTAMPING_OPT_ID_TCP
#define SOF_TIMESTAMPING_OPT_ID_TCP (1 << 16)
#endif
#define TS_FLAGS_VALID ((SOF_TIMESTAMPING_OPT_ID_TCP << 1) - 1)
#define TS_TX (SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_ACK)

static struct tcp_notify *notify_of(struct tcp_conn *c)
{
	if (!c->notify)
		c->notify = calloc(1, sizeof(*c->notify));
	return c->notify;
}

static void zc_report(struct us_stack *st, struct tcp_conn *c, uint32_t lo, uint32_t hi)
{
	struct us_sock *s = c->sock;
	if (!s)
		return;
	struct us_sock_err *t = sock_err_tail(s);
	if (t && t->origin == US_EE_ORIGIN_ZEROCOPY && t->data + 1 == lo) {
		t->data = hi;
		sock_wakeup(st, s);
		return;
	}
	struct us_sock_err e = {.origin = US_EE_ORIGIN_ZEROCOPY, .code = US_EE_CODE_ZEROCOPY_COPIED, .info = lo, .data = hi};
	(void)sock_err_push(st, s, &e);   /* full: lost, as Linux loses it past its buffer */
}

static void ts_report(struct us_stack *st, struct tcp_conn *c, uint32_t seq, uint32_t len, uint32_t kind)
{
	struct us_sock *s = c->sock;
	if (!s)
		return;
	uint32_t f = s->tsflags;
	struct us_sock_err e = {
		.err = ENOMSG,
		.origin = US_EE_ORIGIN_TIMESTAMPING,
		.info = kind,
		.data = (f & SOF_TIMESTAMPING_OPT_ID) ? seq - s->tskey : 0,
		.tstamp_ns = (f & SOF_TIMESTAMPING_SOFTWARE) ? st->now : 0,
		.pkt_len = (f & SOF_TIMESTAMPING_OPT_TSONLY) ? 0 : len,
	};
	(void)sock_err_push(st, s, &e);
}

void tcp_notify_write(struct us_stack *st, struct tcp_conn *c, uint32_t n, int flags)
{
	struct us_sock *s = c->sock;
	if (!s || !n)
		return;
	(void)st;
	uint32_t end = tcp_snd_base(c) + c->sndq.len;
	if ((flags & MSG_ZEROCOPY) && s->zerocopy) {
		struct tcp_notify *nt = notify_of(c);
		if (nt) {
			uint32_t id = nt->zc_next++;
			uint32_t k = nt->n_zc;
			if (k && (k == TCP_NOTIFY_ZC || SEQ_GT(nt->zc[k - 1].end, c->snd_max)) && nt->zc[k - 1].hi + 1 == id) {
				nt->zc[k - 1].hi = id;
				nt->zc[k - 1].end = end;
			} else if (k < TCP_NOTIFY_ZC) {
				nt->zc[nt->n_zc++] = (struct tcp_zc_wait){id, id, end};
			}
		}
	}
	if (s->tsflags & TS_TX) {
		struct tcp_notify *nt = notify_of(c);
		if (nt) {
			uint32_t k = nt->n_ts;
			if (k && (k == TCP_NOTIFY_TS || !nt->ts[k - 1].sent))
				k--;   /* the same packet (or no room): the stamp moves to this write's end */
			nt->ts[k] = (struct tcp_ts_wait){end - 1, s->tsflags, 0, 0};
			nt->n_ts = (uint8_t)(k + 1);
		}
	}
}

void tcp_notify_sent(struct us_stack *st, struct tcp_conn *c, uint32_t seq, uint32_t len)
{
	struct tcp_notify *nt = c->notify;
	if (!nt)
		return;
	for (uint32_t i = 0; i < nt->n_ts; i++) {
		if (nt->ts[i].sent || SEQ_LT(nt->ts[i].seq, seq) || SEQ_GEQ(nt->ts[i].seq, seq + len))
			continue;
		nt->ts[i].sent = 1;
		nt->ts[i].len = len;
		if (nt->ts[i].flags & SOF_TIMESTAMPING_TX_SCHED)
			ts_report(st, c, nt->ts[i].seq, len, US_TSTAMP_SCHED);
		if (nt->ts[i].flags & SOF_TIMESTAMPING_TX_SOFTWARE)
			ts_report(st, c, nt->ts[i].seq, len, US_TSTAMP_SND);
	}
}

void tcp_notify_acked(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_notify *nt = c->notify;
	if (!nt)
		return;
	uint32_t k = 0;
	for (uint32_t i = 0; i < nt->n_ts; i++) {
		if (SEQ_GEQ(nt->ts[i].seq, c->snd_una)) {
			nt->ts[k++] = nt->ts[i];
			continue;
		}
		if (nt->ts[i].flags & SOF_TIMESTAMPING_TX_ACK)
			ts_report(st, c, nt->ts[i].seq, nt->ts[i].len, US_TSTAMP_ACK);
	}
	nt->n_ts = (uint8_t)k;
	k = 0;
	for (uint32_t i = 0; i < nt->n_zc; i++) {
		if (SEQ_GT(nt->zc[i].end, c->snd_una))
			nt->zc[k++] = nt->zc[i];
		else
			zc_report(st, c, nt->zc[i].lo, nt->zc[i].hi);
	}
	nt->n_zc = (uint8_t)k;
}

void tcp_notify_flush(struct us_stack *st, struct tcp_conn *c)
{
	struct tcp_notify *nt = c->notify;
	if (!nt)
		return;
	for (uint32_t i = 0; i < nt->n_zc; i++)
		zc_report(st, c, nt->zc[i].lo, nt->zc[i].hi);
	nt->n_zc = 0;
	nt->n_ts = 0;
}

int tcp_notify_setsockopt(struct us_stack *st, struct tcp_conn *c, int name, const void *val, socklen_t len)
{
	(void)st;
	struct us_sock *s = c->sock;
	int v;
	if (!s || sockopt_get_int(val, len, &v) < 0)
		return -EINVAL;
	if (name == SO_ZEROCOPY) {
		if (v < 0 || v > 1)
			return -EINVAL;
		s->zerocopy = (uint8_t)v;
		return 0;
	}
	if (name != SO_TIMESTAMPING_OLD && name != SO_TIMESTAMPING_NEW)
		return -ENOPROTOOPT;
	uint32_t f = (uint32_t)v;
	if (f & ~(uint32_t)TS_FLAGS_VALID)
		return -EINVAL;
	if ((f & SOF_TIMESTAMPING_OPT_ID) && !(s->tsflags & SOF_TIMESTAMPING_OPT_ID)) {
		/* Linux (sock_set_timestamping): keys count from SND.UNA, or
		 * with OPT_ID_TCP from the next byte written. */
		if (c->state == US_TCP_CLOSED || c->state == US_TCP_LISTEN)
			return -EINVAL;
		s->tskey = (f & SOF_TIMESTAMPING_OPT_ID_TCP) ? tcp_snd_base(c) + c->sndq.len : c->snd_una;
	}
	s->tsflags = f;
	return 0;
}
