/* TCP internals (RFC 9293 with RFC 7323, 2018/6675, 5681/6582, 9438,
 * 6298, 5961, 6528, 4987). */
#ifndef US_TCP_H
#define US_TCP_H
#include <stdint.h>

#include "api/sock.h"
#include "core/assembler.h"
#include "core/ring.h"
#include "core/timer.h"
#include "net/ip.h"
#include "stack.h"
#include "wire/tcp.h"

/* Sequence arithmetic modulo 2^32 (RFC 9293 3.4). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)
#define SEQ_MAX(a, b) (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b) (SEQ_LT(a, b) ? (a) : (b))

#define NS_PER_MS 1000000ull
/* Packets one connection holds for a zero-copy reader: a whole input
 * pass's worth (US_INPUT_BUDGET frames), since the reader runs only after
 * the pass. With less, a pass that falls behind fills the queue, the rest
 * of it is copied into the ring, and every segment after that is copied
 * too until the reader empties the ring (bytes keep their order). The
 * pool's own guard (pkt_pool_low) still keeps buffers for the devices. */
#define TCP_ZC_MAX_PKTS 1024
#define TCP_DUPACK_IMMEDIATE 2  /* immediate ACKs for out-of-order data per RCV.NXT (tcp_in.c) */
#define TCP_DEFAULT_MSS 536     /* RFC 9293 3.7.1: when the peer sends none (IPv4) */
#define TCP_DEFAULT_MSS6 1220   /* the same over IPv6: 1280 - 40 - 20 (RFC 8200 5) */
static inline uint16_t tcp_default_mss(const struct us_addr *raddr)
{
	return addr_is_v4(raddr) ? TCP_DEFAULT_MSS : TCP_DEFAULT_MSS6;
}
#define TCP_MSS_MIN 88          /* Linux's floor for a peer's tiny MSS */
#define TCP_IW_SEGS 10          /* RFC 6928 */
#define TCP_DELACK_NS (40 * NS_PER_MS)     /* Linux's TCP_ATO_MIN and TCP_DELACK_MIN */
#define TCP_DELACK_MAX_NS (200 * NS_PER_MS)
#define TCP_MAX_QUICKACKS 16
#define TCP_WCDELACK_NS (200 * NS_PER_MS)   /* RFC 8985 7.2 WCDelAckT */
#define TCP_PTO_MIN_NS (10 * NS_PER_MS)     /* Linux's floor for the probe timeout */
#define TCP_MAX_WSCALE 14
#define TCP_SACK_MAX 32         /* scoreboard ranges */
#define TCP_DUPTHRESH 3
#define TCP_PAWS_WINDOW 1   /* TSval ticks behind TS.Recent still accepted (Linux) */
#define TCP_PAWS_24DAYS (24ull * 24 * 3600 * 1000)  /* ms */
#define TCP_MARKS_MAX 16        /* ends of writes remembered (PSH, MSG_EOR); more: coalesced */
/* Fast Open (tcp_fastopen.c) */
#define TCP_FO_KEY_LEN 16
#define TCP_FO_COOKIE_LEN 8     /* the cookies ustack makes (Linux's size) */
#define TCP_FO_CACHE_MAX 64     /* servers whose cookie a client remembers */
#define TCP_FO_CLIENT 0x1       /* us_stack_config.tcp_fastopen bits, as Linux's */
#define TCP_FO_SERVER 0x2
#define TCP_FO_CLIENT_NO_COOKIE 0x4
#define TCP_FO_SERVER_NO_COOKIE 0x200
#define TCP_FO_SERVER_ALL 0x400

/* RFC 8985 RACK_sent_after: (t1, e1) was sent after (t2, e2). */
#define SEQ_SENT_AFTER(t1, e1, t2, e2) ((t1) > (t2) || ((t1) == (t2) && SEQ_GT(e1, e2)))

enum us_tcp_ca_state { CA_OPEN = 0, CA_RECOVERY = 1, CA_LOSS = 2 };

/* A transmission record of the scoreboard (tcp_sack.c). */
#define TCP_SEG_SACKED 0x01        /* the peer SACKed it */
#define TCP_SEG_LOST 0x02          /* taken as lost (RACK, RTO): to be resent */
#define TCP_SEG_RETRANS 0x04       /* its latest transmission, a retransmission, is in flight */
#define TCP_SEG_EVER_RETRANS 0x08  /* retransmitted at least once */
#define TCP_SEG_APP_LIMITED 0x10   /* sent while the app was the limit (rate sampling) */
struct tcp_seg {
	uint32_t seq, end;         /* [seq, end) of sequence space (a FIN counts) */
	uint64_t xmit_ts;          /* ns: its latest transmission */
	uint64_t first_sent_ts;    /* rate sampling snapshot at that transmission */
	uint64_t delivered_ts;
	uint64_t delivered;
	uint8_t flags;
};
struct tcp_board {
	struct tcp_seg *v;
	uint32_t n, cap;
	uint32_t sacked, lost, retrans;   /* bytes in records with those flags */
};
/* What one ACK delivered (tcp_board_ack / tcp_board_sack). */
struct tcp_ack_info {
	uint32_t delivered;        /* bytes newly acknowledged or SACKed */
	uint32_t newly_sacked;
	uint8_t rack_valid, rtt_valid, rs_valid, reordered, dsack;
	uint8_t retrans_delivered;  /* retransmitted data among it */
	uint32_t lost;             /* bytes RACK found lost on this ACK */
	uint32_t prior_in_flight;  /* pipe before it */
	uint64_t rack_xmit_ts;     /* the most recently sent of the delivered (RACK) */
	uint32_t rack_end;
	uint64_t rack_rtt;
	uint64_t rtt_old, rtt_new; /* ns, from never-retransmitted data */
	uint64_t rs_prior_delivered, rs_prior_ts, rs_send_elapsed, rs_ack_elapsed;
	uint8_t rs_app_limited;
};
/* A windowed minimum or maximum (Kathleen Nichols' algorithm, as Linux's
 * lib/win_minmax.c): the best of three samples spread over the window. */
struct tcp_minmax {
	uint64_t t[3], v[3];
};

struct tcp_conn;

struct tcp_cc_ops {
	const char *name;
	void (*init)(struct tcp_conn *c);
	/* acked: bytes newly acknowledged (not in recovery). */
	void (*on_ack)(struct tcp_conn *c, uint32_t acked, uint64_t now);
	/* Loss detected by dupacks/SACK: returns the new ssthresh. */
	uint32_t (*ssthresh)(struct tcp_conn *c, uint64_t now);
	void (*on_rto)(struct tcp_conn *c);
	/* Optional (BBR): the whole window and pacing rate from each ACK's
	 * delivery rate sample; then on_ack, ssthresh and PRR are not used
	 * for the window. */
	void (*cong_control)(struct us_stack *st, struct tcp_conn *c, const struct tcp_ack_info *ai);
};
extern const struct tcp_cc_ops tcp_newreno, tcp_cubic, tcp_bbr;
/* BBR: sending again after the app left the connection idle. */
void tcp_bbr_tx_start(struct us_stack *st, struct tcp_conn *c);
/* A congestion control by name (Linux's names; "newreno" too), NULL if none. */
const struct tcp_cc_ops *tcp_cc_find(const char *name);
/* The stack's default for new connections. */
const struct tcp_cc_ops *tcp_cc_default(const struct us_stack *st);

struct tcp_cubic_state {
	double w_max;           /* segments */
	double k;               /* seconds */
	double w_est;           /* segments, Reno-friendly estimate */
	uint64_t epoch;         /* ns; 0 = not started */
	double inc_acc;         /* growth (bytes) not yet added to cwnd */
	/* HyStart++ (RFC 9406) */
	uint32_t hs_window_end; /* the round ends when SND.UNA reaches it */
	uint8_t hs_round_started, hs_css, hs_css_rounds;
	uint32_t hs_samples;
	uint64_t hs_last_min_rtt, hs_cur_min_rtt, hs_css_baseline;   /* ns */
};

/* BBR's state (tcp_bbr.c). */
struct tcp_bbr_state {
	struct tcp_minmax bw_f;        /* max delivery rate, bytes/s, over BBR_BW_RTTS rounds */
	uint64_t min_rtt, min_rtt_stamp;   /* ns */
	uint64_t probe_rtt_done_stamp, cycle_stamp, ack_epoch_stamp;
	uint64_t next_rtt_delivered;   /* rs_delivered at which the round ends */
	uint64_t full_bw;
	uint32_t rtt_cnt, prior_cwnd, ack_epoch_acked, extra_acked[2];
	uint32_t pacing_gain, cwnd_gain;   /* 256 = 1.0 */
	uint8_t mode, cycle_idx, round_start, packet_conservation, prev_ca_state, idle_restart;
	uint8_t full_bw_reached, full_bw_cnt, probe_rtt_round_done, extra_acked_win_rtts, extra_acked_idx;
};

/* A client's Fast Open cookie for one server. */
struct tcp_fo_entry {
	struct us_addr addr;
	uint16_t mss;                  /* the server's MSS in its last SYN-ACK to us */
	uint8_t len, exp;              /* cookie length (0: none yet); experimental option form */
	uint8_t try_exp;               /* no cookie came: 1, ask in the experimental form next; 2, back to RFC 7413's */
	uint8_t cookie[TCP_FO_COOKIE_MAX];
	uint64_t used;                 /* LRU stamp; 0: free */
};

/* The Fast Open option our next SYN or SYN-ACK carries (kind 0: none). */
struct tcp_fo_opt {
	uint8_t kind, len;             /* TCP_FO_RFC or TCP_FO_EXP; cookie length, 0: a request */
	uint8_t cookie[TCP_FO_COOKIE_MAX];
};

/* The end of a write: PSH goes on the segment carrying it (no MSG_MORE),
 * and no segment spans it (MSG_EOR). */
struct tcp_mark {
	uint32_t seq;
	uint8_t psh, eor;
};

/* Transmit notifications (tcp_notify.c): MSG_ZEROCOPY ids and
 * SO_TIMESTAMPING stamps that wait for their data to be sent or
 * acknowledged. Allocated with the first. */
#define TCP_NOTIFY_ZC 8
#define TCP_NOTIFY_TS 16
struct tcp_zc_wait {
	uint32_t lo, hi, end;          /* ids lo..hi, done when SND.UNA reaches end */
};
struct tcp_ts_wait {
	uint32_t seq, flags, len;      /* a write's last byte, SOF_TIMESTAMPING_*, its segment's length */
	uint8_t sent;
};
struct tcp_notify {
	struct tcp_zc_wait zc[TCP_NOTIFY_ZC];
	struct tcp_ts_wait ts[TCP_NOTIFY_TS];
	uint8_t n_zc, n_ts;
	uint32_t zc_next;              /* the next MSG_ZEROCOPY id */
};

struct tcp_conn {
	struct us_sock *sock;         /* NULL: orphaned (closed by the app) */
	struct tcp_conn *hnext;       /* connection hash chain */
	struct tcp_conn *listener;    /* SYN_RECEIVED/accept queue: the parent */
	struct tcp_conn *qnext;       /* accept queue / listener's child list */
	int state;
	struct us_addr laddr, raddr;  /* either family (core/addr.h) */
	uint16_t lport, rport;
	int oif;                      /* a link-local peer's zone (RFC 4007): the interface; 0 otherwise */

	/* send sequence space */
	uint32_t iss, snd_una, snd_nxt, snd_max;  /* snd_max: highest sent */
	uint32_t snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
	uint8_t snd_wscale, rcv_wscale;
	uint8_t ws_ok, ts_ok, sack_ok;
	uint8_t fin_queued, fin_sent;  /* app closed its side; FIN is on the wire */
	uint8_t rd_shut, wr_shut;
	uint8_t nodelay, keepalive, linger_on, in_hash;
	uint8_t ack_now, delack_count, syn_cookie;
	uint8_t peer_fin;              /* FIN received and processed */
	uint8_t transparent;           /* listener: takes SYNs to any non-local address */
	uint8_t v6only;                /* an IPv6 wildcard listener takes no IPv4 (IPV6_V6ONLY) */
	uint8_t defer_syn;             /* listener: the app answers each SYN (us_accept_finish) */
	uint8_t deferred;              /* child: SYN-ACK waits for us_accept_finish */
	uint8_t halfopen;              /* child of a deferring listener, counted as half-open until established */
	uint8_t have_ooo_fin;
	uint32_t ooo_fin_seq;
	int linger_sec;
	uint16_t mss;                  /* effective send MSS (data bytes, no options) */
	uint16_t peer_mss, user_mss, adv_mss;
	uint32_t gso_max;              /* TSO: bytes in one super-segment (0: no TSO) */
	uint8_t tx_csum_partial;       /* the device finishes our checksums */
	uint8_t tos;                   /* IP_TOS less the ECN bits (TCP's own) */
	uint8_t pmtu_dont;             /* IP_PMTUDISC_DONT: no DF, frag-needed ignored */
	uint8_t hops6, hops6_set;      /* IPV6_UNICAST_HOPS (unset: the route's default) */
	uint32_t pmtu6_gen;            /* IPv6: route6_pmtu_gen when the MSS was last sized */

	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv;   /* rcv_adv: right edge we advertised */
	uint32_t last_ack_sent;
	/* Delayed ACKs as Linux paces them (tcp_event_data_recv and
	 * __tcp_ack_snd_check): quick ACKs while a connection starts or after
	 * an idle gap, none in a request/response exchange (pingpong), else an
	 * ACK for more than one segment's worth or after the ACK timeout. */
	uint8_t quick;                 /* ACKs still sent at once */
	uint8_t pingpong;              /* we answered within the ACK timeout: ACKs ride on replies */
	uint16_t rcv_mss;              /* the peer's segment size as seen */
	uint64_t ato;                  /* ACK timeout, ns (0: no data received yet) */
	uint64_t lrcvtime;             /* when in-order data last arrived */
	uint32_t ts_recent, ts_offset;
	uint32_t syn_tsval;            /* our first SYN's TSval (syn_ts: it carried one) */
	uint8_t syn_ts;
	uint64_t ts_recent_stamp;         /* ms */

	struct ring sndq;              /* bytes from snd_una on */
	struct ring rcvq;              /* readable bytes; out-of-order data after them */
	/* Zero-copy receive (us_recv_zc): the oldest readable bytes, held in
	 * the packets they arrived in (data/len: the payload), before rcvq's
	 * readable bytes. Only segments that arrive in order with no hole and
	 * nothing readable in rcvq go here; the rest is copied into rcvq. */
	struct pkt_queue zcq;
	uint8_t zc_on;                 /* US_TCP_RECV_INPLACE: hold in-order segments (zcq) */
	struct assembler ooo;
	uint32_t sndbuf, rcvbuf;
	uint8_t rcvbuf_locked, sndbuf_locked;   /* set by SO_RCVBUF / SO_SNDBUF: no autotuning */
	uint8_t sndbuf_limited;        /* a write found the send buffer full */
	/* receive-buffer autotuning (tcp_buf.c) */
	uint32_t rcvq_space;           /* bytes the app consumed in the last measured RTT */
	uint32_t rcvq_seq;             /* read point at the start of the measure */
	uint64_t rcvq_time;
	uint64_t rcv_rtt;              /* receiver's RTT estimate, ns (0: none yet) */
	uint32_t rcv_rtt_seq;          /* without timestamps: the window end being timed */
	uint32_t rcv_rtt_tsecr;        /* with them: the echo last sampled */
	uint64_t rcv_rtt_time;

	/* the scoreboard: every byte in flight in a transmission record */
	struct tcp_board board;
	uint64_t last_xmit_ts, last_xmit_now;   /* the latest transmission's time, and the clock then */
	/* delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation) */
	uint64_t rs_delivered;         /* bytes delivered (ACKed or SACKed) so far */
	uint64_t rs_delivered_ts;      /* when the latest of them was */
	uint64_t rs_first_sent_ts;
	uint64_t rs_app_limited;       /* delivered count at which app-limited ends; 0: not */
	/* RACK (RFC 8985 6) */
	uint64_t rack_xmit_ts;         /* RACK.xmit_ts: latest sent of what was delivered */
	uint32_t rack_end;             /* RACK.end_seq */
	uint64_t rack_rtt;             /* RACK.rtt */
	uint32_t rack_fack;            /* highest SACKed sequence */
	uint8_t rack_reordering_seen;
	uint8_t rack_reo_armed;        /* rtx_timer holds the reordering timeout */
	uint8_t rack_dsack_round_set;
	uint32_t rack_reo_wnd_mult;    /* RACK.reo_wnd_mult */
	uint32_t rack_reo_wnd_persist; /* recoveries left before the multiplier resets */
	uint32_t rack_dsack_round;     /* SND.MAX when a D-SACK last widened the window */
	uint64_t rack_reo_at;          /* when the reordering timeout fires */
	uint64_t min_rtt;              /* ns, windowed minimum (RACK's min_RTT) */
	struct tcp_minmax min_rtt_f;
	uint32_t sacked_bytes;         /* mirror of board.sacked for the code that reads it */
	/* PRR (RFC 6937) */
	uint32_t prr_delivered, prr_out, prior_cwnd;
	/* tail loss probe (RFC 8985 7) */
	uint8_t tlp_armed;             /* rtx_timer holds the probe timeout, not the RTO */
	uint8_t tlp_out;               /* a probe is out: no other until SND.UNA passes tlp_high_seq */
	uint8_t tlp_rexmit, tlp_dsack; /* the probe repeated data; a D-SACK came back since */
	uint32_t tlp_high_seq;
	uint64_t rto_at;               /* when the RTO for the oldest unacked data is due (a probe never later) */
	uint64_t pto_at;               /* when the tail loss probe is due (0: none) */
	/* our receive side's out-of-order blocks for SACK options, the most
	 * recently changed first (tcp_sack.c), and a D-SACK to report */
	struct tcp_sack_block rcv_sack[TCP_MAX_SACK];
	uint32_t n_rcv_sack;
	uint8_t rcv_sack_unrep;        /* bit i: rcv_sack[i] is in no ACK sent yet */
	struct tcp_sack_block rcv_dsack;
	uint8_t have_dsack;
	uint8_t sack_unsent;           /* the blocks changed since our last ACK */
	uint8_t dupacks_sent;          /* immediate ACKs for out-of-order data at dupack_rcv_nxt */
	uint32_t dupack_rcv_nxt;

	/* RTT and RTO (RFC 6298), in ns */
	uint64_t srtt, rttvar, rto;
	uint32_t rtt_seq;              /* Karn: segment being timed (no TS) */
	uint64_t rtt_start;
	uint8_t rtt_timing;
	uint32_t backoff;              /* RTO doublings */
	uint32_t retransmits;          /* consecutive RTOs unanswered */
	uint64_t first_rtx_time;       /* for the user timeout */
	uint32_t rtx_tsval;            /* our TSval at the latest retransmission */
	uint32_t rto_tsval;            /* our TSval at the episode's first timeout (Eifel) */
	uint8_t rto_eifel;             /* the next ACK of new data tells whether it was spurious */

	/* congestion control */
	const struct tcp_cc_ops *cc;
	struct tcp_cubic_state cubic;
	struct tcp_bbr_state bbr;
	/* pacing (tcp_out.c): the next transmission not before pacing_next */
	uint64_t pacing_rate;          /* bytes/s; 0: none */
	uint64_t pacing_next;          /* ns */
	struct us_timer pace_timer;
	uint32_t cwnd, ssthresh;       /* bytes */
	uint32_t bytes_acked_ca;       /* NewReno congestion avoidance accumulator */
	uint8_t ca_state;
	uint32_t dupacks;
	uint32_t recover;              /* RFC 6582 "recover" */
	uint32_t max_flight;           /* largest flight in the latest round trip */
	uint32_t cwnd_usage_seq;       /* ...which ends when SND.UNA passes this */
	uint8_t is_cwnd_limited;       /* the congestion window held that flight back */
	uint8_t hystart;               /* HyStart++ in CUBIC's slow start */
	/* ECN (RFC 3168, tcp_ecn.c) */
	uint8_t ecn_asked, ecn_ok, ecn_ce_pending, ecn_cwr_pending, ecn_high_set;
	uint32_t ecn_high;             /* ECE is answered again once SND.UNA passes this */
	uint8_t rx_tos;                /* the IP TOS of the segment being processed */
	/* PLPMTUD (RFC 4821/8899, tcp_plpmtu.c), in MSS bytes */
	uint8_t mtup_on, mtup_fails, mtup_sending;
	uint16_t mss_cap;              /* a ceiling on the send MSS (0: none) */
	uint32_t mtup_low, mtup_high, mtup_probe_size, mtup_probe_seq;
	uint64_t last_rtt;             /* ns: the latest ACK's RTT sample (0: none) */
	uint64_t last_send;            /* for restart after idle */
	uint64_t last_recv;            /* keepalive idle reference */

	/* timers */
	struct us_timer rtx_timer;     /* retransmission, SYN, persist, FIN_WAIT_2, TIME_WAIT */
	struct us_timer delack_timer;
	struct us_timer ka_timer;      /* keepalive */
	uint8_t persist;               /* rtx_timer is a zero-window probe timer */
	uint8_t force_send;            /* persist fired on a small window: send past SWS and cork */
	/* Push and record boundaries, as Linux marks them (tcp_mark_push,
	 * MSG_MORE, TCP_CORK, MSG_EOR). */
	uint8_t cork;                  /* TCP_CORK: hold partial segments */
	uint8_t out_more;              /* this output comes from a MSG_MORE write: hold a partial tail */
	uint8_t push_once;             /* send a partial tail despite cork, once (TCP_NODELAY set) */
	uint8_t n_marks;
	uint32_t burst_segs;           /* new-data segments sent by this tcp_output call */
	uint8_t out_idle;              /* this tcp_output call began with no data unacknowledged (Nagle) */
	/* TCP Fast Open (RFC 7413) */
	uint8_t fastopen;              /* passive: a child that took data in its SYN, accepted before the handshake ends */
	uint8_t fo_connect;            /* TCP_FASTOPEN_CONNECT */
	uint8_t fo_defer;              /* connect() waits for the first write to send the SYN */
	uint8_t fo_syn;                /* our SYN tries Fast Open (a cookie, a request, or data without one) */
	uint8_t fo_asked;              /* ...with the option (a cookie or a request) */
	uint8_t fo_no_cookie;          /* TCP_FASTOPEN_NO_COOKIE */
	uint8_t syn_data_acked;        /* data in the SYN was acknowledged (client) or taken (server) */
	uint8_t fo_key_set;            /* listener: TCP_FASTOPEN_KEY */
	uint8_t syn_retries;           /* TCP_SYNCNT (0: tcp_syn_retries) */
	uint8_t inq;                   /* TCP_INQ: the app wants the bytes left after each read */
	uint8_t write_pending;         /* US_TCP_WRITE_PENDING: a blocked writer waits for the handshake */
	uint32_t notsent_lowat;        /* TCP_NOTSENT_LOWAT (0: tcp_notsent_lowat) */
	int fo_qlen;                   /* listener: TCP_FASTOPEN */
	uint32_t syn_data;             /* bytes our SYN carries on its first transmission */
	struct tcp_fo_opt fo_out;
	uint8_t fo_key[TCP_FO_KEY_LEN];
	struct tcp_mark marks[TCP_MARKS_MAX];   /* ends of writes, oldest first */
	struct tcp_notify *notify;     /* MSG_ZEROCOPY, SO_TIMESTAMPING (NULL: none yet) */
	uint32_t probes;               /* keepalive or window probes unanswered */
	uint32_t keepidle, keepintvl, keepcnt;  /* seconds, count */
	uint32_t user_timeout_ms;

	/* listener */
	int backlog;
	uint32_t n_synq, n_acceptq;
	struct tcp_conn *acceptq_head, *acceptq_tail;

	/* result for the app */
	int err;                        /* positive errno when the connection died */
	uint8_t reset;                  /* died by RST */
	uint8_t soft_err;
	uint64_t last_oow_ack;          /* ns: last ACK sent for an unacceptable segment */

	/* output scheduled for the end of this pass (ACK coalescing) */
	struct tcp_conn *out_next;
	uint8_t out_pending;

	/* statistics (ss -ti) */
	uint64_t total_retrans, segs_in, segs_out, bytes_acked, bytes_received;
	uint32_t delivered;            /* segments acknowledged or SACKed, the SYN included (tcpi_delivered) */
};

struct tcp_table;

/* tcp_conn.c */
struct tcp_conn *tcp_conn_new(struct us_stack *st);
void tcp_conn_free(struct us_stack *st, struct tcp_conn *c);
int tcp_conn_buffers(struct us_stack *st, struct tcp_conn *c);
/* Grow the rings to these sizes (never shrinks) within the budget's
 * pressure mark: 0, -ENOBUFS or -ENOMEM. */
int tcp_conn_grow_buffers(struct us_stack *st, struct tcp_conn *c, uint32_t rcvbuf, uint32_t sndbuf);
/* Give back rings a TIME_WAIT connection no longer needs (the empty ones). */
void tcp_release_buffers(struct us_stack *st, struct tcp_conn *c);
void tcp_hash_insert(struct us_stack *st, struct tcp_conn *c);
void tcp_hash_remove(struct us_stack *st, struct tcp_conn *c);
struct tcp_conn *tcp_lookup(struct us_stack *st, const struct us_addr *laddr, uint16_t lport, const struct us_addr *raddr,
			    uint16_t rport);
struct tcp_conn *tcp_lookup_listener(struct us_stack *st, const struct us_addr *laddr, uint16_t lport);
void tcp_listener_insert(struct us_stack *st, struct tcp_conn *c);
void tcp_listener_remove(struct us_stack *st, struct tcp_conn *c);
int tcp_port_in_use(struct us_stack *st, const struct us_addr *laddr, int v6only, uint16_t lport, int reuse);
int tcp_pick_port(struct us_stack *st, const struct us_addr *laddr, const struct us_addr *raddr, uint16_t rport,
		  uint16_t *out);
uint32_t tcp_isn(struct us_stack *st, const struct us_addr *laddr, uint16_t lport, const struct us_addr *raddr,
		 uint16_t rport);
uint32_t tcp_cookie_make(struct us_stack *st, const struct us_addr *laddr, uint16_t lport, const struct us_addr *raddr,
			 uint16_t rport, uint32_t peer_isn, uint16_t mss);
/* Returns the MSS encoded, or 0 if the cookie is not valid. */
uint16_t tcp_cookie_check(struct us_stack *st, const struct us_addr *laddr, uint16_t lport, const struct us_addr *raddr,
			  uint16_t rport, uint32_t peer_isn, uint32_t cookie);
void tcp_set_state(struct us_stack *st, struct tcp_conn *c, int state);
/* The connection is finished: wake the app with err (0 for a clean close)
 * and free it if orphaned. */
void tcp_done(struct us_stack *st, struct tcp_conn *c, int err);
uint32_t tcp_ms(const struct us_stack *st);
uint32_t tcp_n_conns(const struct us_stack *st);
uint32_t tcp_n_timewait(const struct us_stack *st);
void tcp_count_tw(struct us_stack *st, int delta);
int tcp_challenge_ack_ok(struct us_stack *st);
/* May we answer the unacceptable segment t (out of window, PAWS-failed, or
 * acknowledging what was never sent) with an ACK? Pure ACKs get at most one
 * answer per TCP_OOW_ACK_NS per connection, else two stacks (or a spoofed
 * segment between them) can ping-pong ACKs forever (Linux: tcp_invalid_ratelimit). */
int tcp_oow_ack_ok(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t);
#define TCP_OOW_ACK_NS (500 * NS_PER_MS)

/* tcp_fastopen.c */
void tcp_fo_cookie(const uint8_t key[TCP_FO_KEY_LEN], const struct us_addr *saddr, const struct us_addr *daddr,
		   uint8_t out[TCP_FO_COOKIE_LEN]);
int tcp_fo_listener_on(const struct us_stack *st, const struct tcp_conn *l);
/* A SYN at listener l for child c: 1 if c takes its data (a Fast Open
 * child); else 0, c->fo_out holding the cookie its SYN-ACK is to carry. */
int tcp_fo_passive(struct us_stack *st, struct tcp_conn *l, struct tcp_conn *c, const struct tcp_repr *t);
/* A Fast Open SYN to c->raddr: sets c->fo_out; 1 if it may carry data. */
int tcp_fo_active_setup(struct us_stack *st, struct tcp_conn *c);
int tcp_fo_have_cookie(struct us_stack *st, const struct tcp_conn *c);
/* Data bytes a Fast Open SYN may carry. */
uint32_t tcp_fo_syn_space(struct us_stack *st, const struct tcp_conn *c);
/* The SYN-ACK to a Fast Open SYN: cache its cookie and MSS. */
void tcp_fo_synack(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t);
/* tcp_conn.c */
struct tcp_fo_entry *tcp_fo_cache(struct us_stack *st);
uint64_t *tcp_fo_cache_clock(struct us_stack *st);
const uint8_t *tcp_fo_key(const struct us_stack *st);
/* The sequence number of the first byte in the send ring: SND.UNA, or one
 * past it while our SYN (which may carry data: Fast Open) is not yet
 * acknowledged. */
static inline uint32_t tcp_snd_base(const struct tcp_conn *c)
{
	return c->state == US_TCP_SYN_SENT || c->state == US_TCP_SYN_RECEIVED ? c->iss + 1 : c->snd_una;
}

/* tcp_notify.c: the error queue's TCP side. A write queued n bytes; new
 * data [seq, seq+len) left for the first time; SND.UNA moved; the
 * connection is gone (zerocopy ids complete). */
void tcp_notify_write(struct us_stack *st, struct tcp_conn *c, uint32_t n, int flags);
void tcp_notify_sent(struct us_stack *st, struct tcp_conn *c, uint32_t seq, uint32_t len);
void tcp_notify_acked(struct us_stack *st, struct tcp_conn *c);
void tcp_notify_flush(struct us_stack *st, struct tcp_conn *c);
/* SO_ZEROCOPY and SO_TIMESTAMPING (SOL_SOCKET). */
int tcp_notify_setsockopt(struct us_stack *st, struct tcp_conn *c, int name, const void *val, socklen_t len);

/* tcp_out.c */
/* Send what is due at the end of the current pass (coalesces ACKs). */
void tcp_schedule_output(struct us_stack *st, struct tcp_conn *c);
void tcp_flush_output(struct us_stack *st);
void tcp_unschedule(struct us_stack *st, struct tcp_conn *c);
void tcp_output(struct us_stack *st, struct tcp_conn *c);
/* n bytes were just added to the send queue by one write with these
 * MSG_* flags: push and record marks. */
void tcp_note_write(struct tcp_conn *c, uint32_t n, int flags);
void tcp_send_ack(struct us_stack *st, struct tcp_conn *c);
void tcp_send_syn(struct us_stack *st, struct tcp_conn *c);
/* A RST for a segment that belongs to no connection (RFC 9293 3.10.7.1),
 * out of interface oif for a link-local raddr (the zone it came from). */
void tcp_send_reset_for(struct us_stack *st, const struct us_addr *laddr, const struct us_addr *raddr, int oif,
			const struct tcp_repr *in);
void tcp_send_rst(struct us_stack *st, struct tcp_conn *c);   /* abort: RST with snd_nxt */
void tcp_send_probe(struct us_stack *st, struct tcp_conn *c);  /* seq snd_una-1, no data */
void tcp_send_loss_probe(struct us_stack *st, struct tcp_conn *c);   /* RFC 8985 7.3 */
/* RFC 8985 7.2: after new data is sent, the probe timeout starts again (an
 * RTO already running is left as it is). */
void tcp_rearm_pto(struct us_stack *st, struct tcp_conn *c);
uint32_t tcp_retransmit_head(struct us_stack *st, struct tcp_conn *c);   /* data bytes sent */
uint32_t tcp_rcv_window(const struct tcp_conn *c);
/* The window scale to offer for c's receive buffer (RFC 7323 2.2). */
uint8_t tcp_choose_wscale(const struct us_stack *st, const struct tcp_conn *c);
uint32_t tcp_flight(const struct tcp_conn *c);
/* After an ACK: the pacing rate of a congestion control without its own. */
void tcp_pacing_update(struct us_stack *st, struct tcp_conn *c);
/* May an ACK grow cwnd (the window, not the app or the peer, limited the
 * flight)? */
int tcp_cwnd_limited(const struct tcp_conn *c);
/* The MSS that fits an MTU toward raddr (its family's IP header less). */
uint16_t tcp_mss_for_mtu(const struct us_addr *raddr, uint32_t mtu);
void tcp_update_mss(struct us_stack *st, struct tcp_conn *c);

/* tcp_in.c: start fast recovery (RFC 6675 / RFC 8985): ssthresh, PRR. */
void tcp_enter_recovery(struct us_stack *st, struct tcp_conn *c);

/* tcp_timer.c */
void tcp_timers_init(struct tcp_conn *c);
void tcp_timers_cancel(struct us_stack *st, struct tcp_conn *c);
void tcp_arm_rtx(struct us_stack *st, struct tcp_conn *c);
/* Arm rtx_timer for the earliest of rto_at, pto_at and rack_reo_at. */
void tcp_rtx_schedule(struct us_stack *st, struct tcp_conn *c);
void tcp_arm_delack(struct us_stack *st, struct tcp_conn *c);
void tcp_arm_keepalive(struct us_stack *st, struct tcp_conn *c);
/* Returns 1 if the connection was freed instead (TIME_WAIT table full). */
int tcp_enter_timewait(struct us_stack *st, struct tcp_conn *c);
void tcp_rtt_sample(struct us_stack *st, struct tcp_conn *c, uint64_t rtt_ns);
uint64_t tcp_rto_backed_off(const struct us_stack *st, const struct tcp_conn *c);

/* tcp_sack.c: the sender's scoreboard */
/* st may be NULL (unit tests): memory is then not charged to a budget. */
int tcp_board_init(struct us_stack *st, struct tcp_conn *c);
void tcp_board_free(struct us_stack *st, struct tcp_conn *c);
/* [seq, end) was (re)transmitted now (st->now). */
void tcp_board_sent(struct us_stack *st, struct tcp_conn *c, uint32_t seq, uint32_t end);
/* SND.UNA moves to una: records below go, their delivery noted in ai. */
void tcp_board_ack(struct us_stack *st, struct tcp_conn *c, uint32_t una, struct tcp_ack_info *ai);
/* A SACK block [l, r) (validated by the caller): returns bytes newly SACKed. */
uint32_t tcp_board_sack(struct us_stack *st, struct tcp_conn *c, uint32_t l, uint32_t r, struct tcp_ack_info *ai);
void tcp_board_mark_lost(struct tcp_conn *c, struct tcp_seg *s);
/* After an RTO: all not SACKed is lost (forget_sacks: SACKed data too). */
void tcp_board_timeout(struct tcp_conn *c, int forget_sacks);
/* RFC 6675 pipe. */
uint32_t tcp_board_pipe(const struct tcp_conn *c);
/* The first lost range not yet resent, at most max bytes: 1 if any. */
int tcp_board_next_lost(const struct tcp_conn *c, uint32_t max, uint32_t *seq, uint32_t *len);
/* The highest range not SACKed, at most max bytes (the loss probe). */
int tcp_board_last_unsacked(const struct tcp_conn *c, uint32_t max, uint32_t *seq, uint32_t *len);
int tcp_is_sacked(const struct tcp_conn *c, uint32_t seq, uint32_t *end_out);
/* RFC 2883: does this ACK's first SACK block report a duplicate? */
int tcp_sack_is_dsack(const struct tcp_repr *t);

/* tcp_prr.c: Proportional Rate Reduction (RFC 6937) */
void tcp_prr_start(struct tcp_conn *c);
/* An ACK in recovery delivered `delivered` bytes (una_advanced: it moved
 * SND.UNA; lost: bytes it showed lost): sets cwnd = pipe + what may go. */
void tcp_prr_ack(struct tcp_conn *c, uint32_t delivered, uint32_t lost, int una_advanced);
void tcp_prr_sent(struct tcp_conn *c, uint32_t bytes);

/* tcp_rack.c: RACK-TLP loss detection (RFC 8985) */
void tcp_minmax_reset(struct tcp_minmax *m, uint64_t t, uint64_t v);
uint64_t tcp_minmax_min(struct tcp_minmax *m, uint64_t win, uint64_t t, uint64_t v);
uint64_t tcp_minmax_max(struct tcp_minmax *m, uint64_t win, uint64_t t, uint64_t v);
void tcp_rack_init(struct tcp_conn *c);
/* An ACK delivered ai: RACK's state moves on (RFC 8985 6.2 steps 1-3). */
void tcp_rack_update(struct us_stack *st, struct tcp_conn *c, const struct tcp_ack_info *ai);
/* Step 5: mark what is lost by time; returns bytes newly marked lost and
 * (re)arms or drops the reordering timeout. */
uint32_t tcp_rack_detect(struct us_stack *st, struct tcp_conn *c);
/* The reordering timeout fired. */
void tcp_rack_timeout(struct us_stack *st, struct tcp_conn *c);
/* A recovery episode ended (the reordering window's persistence). */
void tcp_rack_recovery_done(struct tcp_conn *c);

/* tcp_sack.c: our receive side's SACK blocks (RFC 2018 4, RFC 2883) */
void tcp_rcv_sack_reset(struct tcp_conn *c);
/* Would out-of-order data [seq, end) touch the block reported first? */
int tcp_rcv_sack_extends_head(const struct tcp_conn *c, uint32_t seq, uint32_t end);
/* Out-of-order data starting at seq was recorded in c->ooo: its block
 * (merged with its neighbours) goes first. */
void tcp_rcv_sack_ofo(struct tcp_conn *c, uint32_t seq);
/* Would a new block in front push one that no ACK has carried out of
 * those the next ACK carries? */
int tcp_rcv_sack_would_hide(const struct tcp_conn *c);
/* RCV.NXT moved: blocks below it go. */
void tcp_rcv_sack_advanced(struct tcp_conn *c);
/* A duplicate [seq, end) arrived: a D-SACK block for the next ACK. */
void tcp_rcv_dsack(struct tcp_conn *c, uint32_t seq, uint32_t end);
/* Blocks the next ACK carries (D-SACK included), at most TCP_MAX_SACK. */
uint32_t tcp_rcv_sack_count(const struct tcp_conn *c);
uint32_t tcp_rcv_sack_blocks(const struct tcp_conn *c, struct tcp_sack_block *out, uint32_t max);
/* An ACK carrying n_sent of them went out. */
void tcp_rcv_sack_sent(struct tcp_conn *c, uint32_t n_sent);

/* tcp_buf.c: buffer autotuning */
void tcp_rcvbuf_init(struct tcp_conn *c);
void tcp_rcv_rtt_sample(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t);
/* After the app read: once an RTT, grow the receive buffer to what the
 * sender delivers (dynamic right-sizing). */
void tcp_rcv_space_adjust(struct us_stack *st, struct tcp_conn *c);
/* The most the receive buffer may grow to: tcp_rmem_max, and what the
 * window scale announced can offer. */
uint32_t tcp_rcvbuf_ceiling(const struct us_stack *st, const struct tcp_conn *c);
/* After an ACK: a full send buffer grows to twice the congestion window. */
void tcp_sndbuf_expand(struct us_stack *st, struct tcp_conn *c);

/* tcp_plpmtu.c: PLPMTUD (RFC 4821, RFC 8899) */
void tcp_plpmtu_init(struct us_stack *st, struct tcp_conn *c);
void tcp_plpmtu_rto(struct us_stack *st, struct tcp_conn *c);   /* before the RTO's retransmission */
uint32_t tcp_plpmtu_probe_size(const struct tcp_conn *c);       /* > mss: send a probe of that size now */
void tcp_plpmtu_probe_sent(struct tcp_conn *c, uint32_t seq, uint32_t len);
void tcp_plpmtu_ack(struct us_stack *st, struct tcp_conn *c);   /* SND.UNA moved */
void tcp_plpmtu_resent(struct us_stack *st, struct tcp_conn *c, uint32_t seq);
void tcp_plpmtu_icmp(struct tcp_conn *c);                        /* ICMP lowered the MSS */

/* tcp_ecn.c: ECN (RFC 3168) */
uint8_t tcp_ecn_syn_flags(const struct tcp_conn *c, int syn_ack);
void tcp_ecn_active_open(const struct us_stack *st, struct tcp_conn *c);
void tcp_ecn_syn_retransmit(struct tcp_conn *c);
void tcp_ecn_synack_in(struct tcp_conn *c, const struct tcp_repr *t);
void tcp_ecn_syn_in(const struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t);
/* A segment arrived with this IP TOS: CE and CWR for our receiver side. */
void tcp_ecn_rx(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t, uint8_t ip_tos);
/* A segment to send: its ECN codepoint (IP TOS bits); adds ECE/CWR to *flags. */
uint8_t tcp_ecn_out(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t *flags);
/* An ACK arrived: the sender's response to ECE. */
void tcp_ecn_ece(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t);

/* listener bookkeeping (tcp_conn.c) */
void tcp_child_add(struct us_stack *st, struct tcp_conn *l, struct tcp_conn *c);
void tcp_child_established(struct us_stack *st, struct tcp_conn *c);
uint32_t tcp_synq_total(const struct us_stack *st);
void tcp_child_defer(struct us_stack *st, struct tcp_conn *c);
void tcp_child_fastopen(struct us_stack *st, struct tcp_conn *c);
/* A child in the accept queue (established, or Fast Open) reset by the
 * peer: it stays there, closed, with its data and err for the app, as
 * Linux keeps such sockets for accept(). */
void tcp_child_reset(struct us_stack *st, struct tcp_conn *c, int err);
void tcp_defer_done(struct us_stack *st, struct tcp_conn *c);
/* The transparent listener (IP_TRANSPARENT, IPV6_TRANSPARENT) for a
 * non-local destination dst (one of its family). */
struct tcp_conn *tcp_lookup_transparent(struct us_stack *st, const struct us_addr *dst);
uint64_t tcp_mem_in_use(const struct us_stack *st);
/* The out-of-order assembler is full: grow it within the budget (1), or
 * not (0: the segment is dropped). */
int tcp_ooo_grow(struct us_stack *st, struct tcp_conn *c);
/* Its heap array goes back and off the budget (the ranges with it). */
void tcp_ooo_free(struct us_stack *st, struct tcp_conn *c);
/* Buffer bytes a connection's ring grew by (autotuning), on the budget. */
void tcp_mem_charge(struct us_stack *st, uint64_t bytes);
void tcp_mem_uncharge(struct us_stack *st, uint64_t bytes);
/* The head of the first non-empty connection bucket at or after *bucket
 * (which it sets to that bucket), or NULL when there is none:
 *   for (uint32_t b = 0; (head = tcp_iter_hash(st, &b)); b++) */
struct tcp_conn *tcp_iter_hash(struct us_stack *st, uint32_t *bucket);
struct tcp_conn *tcp_iter_listeners(struct us_stack *st, uint32_t *bucket);   /* likewise */
/* ---- as the hub calls TCP ---- */
int tcp_init(struct us_stack *st);
void tcp_destroy(struct us_stack *st);
void tcp_input(struct us_stack *st, struct pkt *p);
void tcp_flush_output(struct us_stack *st);
uint64_t tcp_mem_in_use(const struct us_stack *st);
void tcp_err(struct us_stack *st, const struct us_l4_err *e);

/* Readable bytes: held packets (zero-copy) and the ring's. */
static inline uint32_t tcp_rcv_queued(const struct tcp_conn *c) { return c->rcvq.len + c->zcq.bytes; }
/* The invariants a connection's state keeps whatever a peer sends (the
 * sequence space, the scoreboard, the rings' byte counts): US_ASSERTed in
 * the builds with US_CHECKS, nothing in the release build. */
#ifdef US_CHECKS
void tcp_check_invariants(const struct tcp_conn *c);
#else
static inline void tcp_check_invariants(const struct tcp_conn *c) { (void)c; }
#endif
/* The segment tcp_input is processing, which data_process may keep for
 * zero-copy receive (it then sets *slot to NULL). */
struct pkt **tcp_rx_pkt_slot(struct us_stack *st);

/* ---- the socket calls (api/socket.c reaches them through tcp_sock_ops) ---- */
extern const struct sock_ops tcp_sock_ops;
unsigned tcp_poll(struct us_stack *st, struct us_sock *s);
int tcp_bind(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port);
int tcp_connect(struct us_stack *st, struct us_sock *s, const struct us_addr *addr, uint16_t port);
/* sendto(MSG_FASTOPEN) (RFC 7413): connect to `to`:port with data in the
 * SYN, or the first write after a deferred connect (to NULL): the bytes the
 * SYN carries, or -EINPROGRESS if none. */
ssize_t tcp_send_fastopen(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, int flags,
			  const struct us_addr *to, uint16_t port);
int tcp_listen(struct us_stack *st, struct us_sock *s, int backlog);
int tcp_accept(struct us_stack *st, struct us_sock *s, struct us_sock **out);
int tcp_accept_finish(struct us_stack *st, struct us_sock *s, int ok);
ssize_t tcp_send(struct us_stack *st, struct us_sock *s, const void *buf, size_t len, int flags);
ssize_t tcp_recv(struct us_stack *st, struct us_sock *s, void *buf, size_t len, int flags);
/* Zero-copy (us_recv_zc, us_send_zc): the ring's bytes or free space in place. */
/* The readable bytes in place, in order, in at most max pieces (p, len; *n
 * of them): held packets first, then the ring's one or two spans, these
 * only once every held packet is listed. */
ssize_t tcp_recv_zc(struct us_stack *st, struct us_sock *s, uint8_t **p, uint32_t *len, int max, int *n);
int tcp_recv_done(struct us_stack *st, struct us_sock *s, size_t n);
ssize_t tcp_send_zc(struct us_stack *st, struct us_sock *s, uint8_t *p[2], uint32_t len[2], int *n);
int tcp_send_done(struct us_stack *st, struct us_sock *s, size_t n);
int tcp_shutdown(struct us_stack *st, struct us_sock *s, int how);
void tcp_close(struct us_stack *st, struct us_sock *s);
int tcp_available(void);
int tcp_setsockopt(struct us_stack *st, struct us_sock *s, int level, int name, const void *val, socklen_t len);
int tcp_getsockopt(struct us_stack *st, struct us_sock *s, int level, int name, void *val, socklen_t *len);
#endif
