/* ustack relay: the report (SIGUSR1, --stats-interval, at exit): the live
 * flows, the relay's counters, its memory and a few of the stack's. */
#include <string.h>

#include "relay.h"

static void report_flows(struct relay *r, FILE *out)
{
	uint64_t now = us_now_ns();
	fprintf(out, "relay flows: tcp %u, udp %u, ping %u\n", r->n_tflows, r->n_umaps, r->n_pmaps);
	relay_tcp_report(r, out, now);
	relay_udp_report(r, out, now);
	relay_icmp_report(r, out, now);
}

void relay_report(struct relay *r, FILE *out)
{
	report_flows(r, out);
#define RC_PRINT(n, d) fprintf(out, "relay.%s %llu\n", #n, (unsigned long long)r->c.n);
	RELAY_COUNTERS(RC_PRINT)
#undef RC_PRINT
	if (r->last_upstream_errno)
		fprintf(out, "relay.last_upstream_error %s\n",
			r->last_upstream_errno > 1000 ? socks5_rep_str(r->last_upstream_errno - 1000)
						      : strerror(r->last_upstream_errno));
	struct us_mem_info mi;
	us_stack_mem_info(r->st, &mi);
	fprintf(out, "relay.mem stack_used %llu stack_peak %llu stack_max %llu tcp %llu pkts %llu pkt_refusals %llu "
		     "relay_buffers %llu relay_peak %llu relay_max %llu budget %llu\n",
		(unsigned long long)mi.used, (unsigned long long)mi.peak, (unsigned long long)mi.max,
		(unsigned long long)mi.tcp, (unsigned long long)mi.pkts, (unsigned long long)mi.pkt_refusals,
		(unsigned long long)r->relay_mem, (unsigned long long)r->relay_mem_peak,
		(unsigned long long)r->relay_mem_max, (unsigned long long)r->mem_max);
	const struct us_stats *s = us_stack_stats(r->st);
	fprintf(out, "stack.Tcp.PassiveOpens %llu stack.TcpExt.SyncookiesSent %llu stack.TcpExt.SyncookiesRecv %llu "
		     "stack.TcpExt.TCPMemoryPressures %llu stack.TcpExt.ListenDrops %llu stack.Udp.MemErrors %llu "
		     "stack.Ip.InReceives %llu stack.Ip.InAddrErrors %llu stack.Ip6.InReceives %llu "
		     "stack.Ip6.InAddrErrors %llu\n",
		(unsigned long long)s->tcp.PassiveOpens, (unsigned long long)s->tcpext.SyncookiesSent,
		(unsigned long long)s->tcpext.SyncookiesRecv, (unsigned long long)s->tcpext.TCPMemoryPressures,
		(unsigned long long)s->tcpext.ListenDrops, (unsigned long long)s->udp.MemErrors,
		(unsigned long long)s->ip.InReceives, (unsigned long long)s->ip.InAddrErrors,
		(unsigned long long)s->ip6.InReceives, (unsigned long long)s->ip6.InAddrErrors);
	fflush(out);
}

/* The control socket (control.h): `ustack stats` and `ustack ss` on the device. */
void relay_control_counters(void *arg, app_ctl_visit_fn visit, void *vctx)
{
	struct relay *r = arg;
	app_ctl_stack_counters(r->st, visit, vctx);
#define RC_VISIT(n, d) visit(vctx, "Relay", #n, r->c.n, APP_CTL_COUNTER, d);
	RELAY_COUNTERS(RC_VISIT)
#undef RC_VISIT
	visit(vctx, "Relay", "OpenTcpFlows", r->n_tflows, APP_CTL_GAUGE, "TCP flows open");
	visit(vctx, "Relay", "OpenUdpMappings", r->n_umaps, APP_CTL_GAUGE, "UDP mappings open");
	visit(vctx, "Relay", "OpenPingMappings", r->n_pmaps, APP_CTL_GAUGE, "ICMP echo mappings open");
	visit(vctx, "Relay", "BufferBytes", r->relay_mem, APP_CTL_GAUGE, "bytes of the relay's own flow buffers in use");
}

void relay_control_sockets(void *arg, FILE *out, unsigned flags)
{
	struct relay *r = arg;
	app_ctl_stack_sockets(r->st, out, flags);
	report_flows(r, out);
}
