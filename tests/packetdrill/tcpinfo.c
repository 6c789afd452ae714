/* TCP_INFO as Linux lays it out, for scripts that read struct tcp_info.
 * Its own file: <linux/tcp.h> and glibc's <netinet/tcp.h> both define
 * struct tcp_info. */
#include <errno.h>
#include <linux/tcp.h>
#include <string.h>

#include "tcpinfo.h"

#define PD_TCP_INFO_MAX 512

/* ustack's states (US_TCP_*) as Linux numbers them (include/net/tcp_states.h). */
static const unsigned char linux_state[] = {
	[US_TCP_CLOSED] = 7, [US_TCP_LISTEN] = 10, [US_TCP_SYN_SENT] = 2, [US_TCP_SYN_RECEIVED] = 3,
	[US_TCP_ESTABLISHED] = 1, [US_TCP_FIN_WAIT_1] = 4, [US_TCP_FIN_WAIT_2] = 5, [US_TCP_CLOSE_WAIT] = 8,
	[US_TCP_CLOSING] = 11, [US_TCP_LAST_ACK] = 9, [US_TCP_TIME_WAIT] = 6,
};

int pd_linux_tcp_info(const struct us_tcp_info *in, void *val, socklen_t *len)
{
	struct tcp_info o;
	if (!val || !len)
		return -EINVAL;
	memset(&o, 0, sizeof(o));
	o.tcpi_state = in->state < sizeof(linux_state) ? linux_state[in->state] : 0;
	o.tcpi_ca_state = in->ca_state == 2 ? 4 : (in->ca_state == 1 ? 3 : 0);   /* TCP_CA_Loss 4, TCP_CA_Recovery 3 */
	o.tcpi_retransmits = (unsigned char)in->retransmits;
	if (in->ts_ok)
		o.tcpi_options |= TCPI_OPT_TIMESTAMPS;
	if (in->sack_ok)
		o.tcpi_options |= TCPI_OPT_SACK;
	if (in->snd_wscale || in->rcv_wscale)
		o.tcpi_options |= TCPI_OPT_WSCALE;
	if (in->syn_data)
		o.tcpi_options |= TCPI_OPT_SYN_DATA;
	o.tcpi_snd_wscale = in->snd_wscale & 15;
	o.tcpi_rcv_wscale = in->rcv_wscale & 15;
	o.tcpi_rto = in->rto_us;
	o.tcpi_snd_mss = in->snd_mss;
	o.tcpi_rcv_mss = in->rcv_mss;
	o.tcpi_advmss = in->rcv_mss;
	unsigned mss = in->snd_mss ? in->snd_mss : 1;
	o.tcpi_unacked = (in->unacked + mss - 1) / mss;
	o.tcpi_sacked = (in->sacked + mss - 1) / mss;
	o.tcpi_rtt = in->srtt_us;
	o.tcpi_rttvar = in->rttvar_us;
	o.tcpi_snd_ssthresh = in->ssthresh >= 0x7fffffffu ? 0x7fffffffu : in->ssthresh / mss;
	o.tcpi_snd_cwnd = in->cwnd / mss;
	o.tcpi_reordering = 3;
	o.tcpi_total_retrans = (unsigned)in->total_retrans;
	o.tcpi_bytes_acked = in->bytes_acked;
	o.tcpi_bytes_received = in->bytes_received;
	o.tcpi_segs_out = (unsigned)in->segs_out;
	o.tcpi_segs_in = (unsigned)in->segs_in;
	o.tcpi_notsent_bytes = in->snd_queued > in->unacked ? in->snd_queued - in->unacked : 0;
	o.tcpi_snd_wnd = in->snd_wnd;
	o.tcpi_delivered = in->delivered;
	o.tcpi_last_data_recv = in->last_data_recv_ms;
	/* Newer kernels' struct is longer than these headers' (Debian 12 has
	 * Linux 6.1's): fields past ours read as 0, up to what the caller asks
	 * (packetdrill asks for its own, newer, layout). */
	socklen_t n = *len < (socklen_t)PD_TCP_INFO_MAX ? *len : (socklen_t)PD_TCP_INFO_MAX;
	memset(val, 0, (size_t)n);
	memcpy(val, &o, (size_t)n < sizeof(o) ? (size_t)n : sizeof(o));
	*len = n;
	return 0;
}
