/* TCP_INFO as Linux lays it out (struct tcp_info of <linux/tcp.h>), from
 * ustack's struct us_tcp_info. Kept apart: <linux/tcp.h> and glibc's
 * <netinet/tcp.h> cannot be included together. */
#include <linux/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "ustack/ustack.h"

int ps_tcp_info_linux(const struct us_tcp_info *u, void *val, socklen_t *len);

static unsigned char linux_state(int s)
{
	switch (s) {
	case US_TCP_ESTABLISHED: return 1;
	case US_TCP_SYN_SENT: return 2;
	case US_TCP_SYN_RECEIVED: return 3;
	case US_TCP_FIN_WAIT_1: return 4;
	case US_TCP_FIN_WAIT_2: return 5;
	case US_TCP_TIME_WAIT: return 6;
	case US_TCP_CLOSED: return 7;
	case US_TCP_CLOSE_WAIT: return 8;
	case US_TCP_LAST_ACK: return 9;
	case US_TCP_LISTEN: return 10;
	case US_TCP_CLOSING: return 11;
	default: return 7;
	}
}

int ps_tcp_info_linux(const struct us_tcp_info *u, void *val, socklen_t *len)
{
	struct tcp_info t;
	memset(&t, 0, sizeof(t));
	uint32_t mss = u->snd_mss ? u->snd_mss : 536;
	t.tcpi_state = linux_state(u->state);
	t.tcpi_ca_state = u->ca_state == 1 ? 3 /* TCP_CA_Recovery */ : u->ca_state == 2 ? 4 /* TCP_CA_Loss */ : 0;
	t.tcpi_retransmits = (uint8_t)u->retransmits;
	t.tcpi_options = (u->ts_ok ? TCPI_OPT_TIMESTAMPS : 0) | (u->sack_ok ? TCPI_OPT_SACK : 0) |
			 (u->snd_wscale || u->rcv_wscale ? TCPI_OPT_WSCALE : 0);
	t.tcpi_snd_wscale = u->snd_wscale & 15;
	t.tcpi_rcv_wscale = u->rcv_wscale & 15;
	t.tcpi_rto = u->rto_us;
	t.tcpi_snd_mss = u->snd_mss;
	t.tcpi_rcv_mss = u->rcv_mss;
	/* Linux counts these in segments */
	t.tcpi_unacked = (u->unacked + mss - 1) / mss;
	t.tcpi_sacked = (u->sacked + mss - 1) / mss;
	t.tcpi_pmtu = u->snd_mss + 40;
	t.tcpi_rcv_ssthresh = u->rcv_wnd;
	t.tcpi_rtt = u->srtt_us;
	t.tcpi_rttvar = u->rttvar_us;
	t.tcpi_snd_ssthresh = u->ssthresh == UINT32_MAX ? 0x7fffffff : u->ssthresh / mss;
	t.tcpi_snd_cwnd = (u->cwnd + mss - 1) / mss;
	t.tcpi_advmss = u->rcv_mss;
	t.tcpi_reordering = 3;
	t.tcpi_rcv_space = u->rcv_wnd;
	t.tcpi_total_retrans = (uint32_t)u->total_retrans;
	t.tcpi_bytes_acked = u->bytes_acked;
	t.tcpi_bytes_received = u->bytes_received;
	t.tcpi_segs_out = (uint32_t)u->segs_out;
	t.tcpi_segs_in = (uint32_t)u->segs_in;
	t.tcpi_notsent_bytes = u->snd_queued > u->unacked ? u->snd_queued - u->unacked : 0;
	t.tcpi_snd_wnd = u->snd_wnd;
	if (!val || !len)
		return -14; /* EFAULT */
	socklen_t n = *len < (socklen_t)sizeof(t) ? *len : (socklen_t)sizeof(t);
	memcpy(val, &t, (size_t)n);
	*len = n;
	return 0;
}
