/* The hub: the stack object, the three calls that drive it, the protocol
 * switch, the memory budget. The only file that sees every layer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/sock.h"
#include "core/bytes.h"
#include "link/link.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "net/neigh.h"
#include "net/route.h"
#include "stack.h"
#include "transport/tcp.h"
#include "transport/udp.h"
#include "wire/ipv4.h"

static void config_defaults(struct us_stack_config *c)
{
#define DEF(f, v) if (!c->f) c->f = (v)
	DEF(frame_bufs, 4096);
	DEF(large_bufs, 256);
	DEF(max_sockets, 1024);
	DEF(neigh_entries, 256);
	DEF(neigh_queue, 64);
	DEF(reasm_max, 32);
	DEF(reasm_mem, 4u << 20);
	DEF(reasm_timeout_ms, 30000);
	DEF(icmp_rate_ms, 1);
	DEF(icmp_burst, 50);
	DEF(tcp_max_conns, 8192);
	DEF(tcp_max_syn_backlog, 256);
	DEF(tcp_syncookies, 1);
	DEF(tcp_tlp, 1);
	DEF(tcp_ecn, 2);
	DEF(tcp_mtu_probing, 1);
	DEF(tcp_rmem, 256u << 10);
	DEF(tcp_wmem, 256u << 10);
	DEF(tcp_rmem_max, 6u << 20);
	DEF(tcp_timestamps, 1);
	DEF(tcp_sack, 1);
	DEF(tcp_window_scaling, 1);
	DEF(tcp_fastopen, 1);
	DEF(tcp_wmem_max, 4u << 20);
	DEF(tcp_moderate_rcvbuf, 1);
	DEF(tcp_timewait_ms, 60000);
	DEF(tcp_max_tw, 4096);
	DEF(tcp_fin_timeout_ms, 60000);
	DEF(tcp_syn_retries, 6);
	DEF(tcp_synack_retries, 5);
	DEF(tcp_retries2, 15);
	DEF(tcp_min_rto_ms, 200);
	DEF(tcp_max_rto_ms, 120000);
	DEF(tcp_init_rto_ms, 1000);
	DEF(tcp_challenge_ack_limit, 1000);
	DEF(tcp_mem_max, 512ull << 20);
	DEF(tcp_tso_max_segs, 64);
	DEF(tcp_min_tso_segs, 2);
#undef DEF
}

const char *us_version(void) { return USTACK_VERSION; }

struct us_stack *us_stack_new(const struct us_stack_config *cfg)
{
	struct us_stack *st = calloc(1, sizeof(*st));
	if (!st) {
		errno = ENOMEM;
		return NULL;
	}
	if (cfg)
		st->cfg = *cfg;
	config_defaults(&st->cfg);
	if (st->cfg.tcp_cc) {
		/* Resolved now: the caller's string need not outlive the call. */
		const struct tcp_cc_ops *cc = tcp_cc_find(st->cfg.tcp_cc);
		if (!cc) {
			free(st);
			errno = EINVAL;
			return NULL;
		}
		st->cfg.tcp_cc = cc->name;
	}
	us_rand_init(&st->rand, st->cfg.seed);
	tw_init(&st->timers, 0);
	pktq_init(&st->loopq);
	st->icmp_rl.tokens = st->cfg.icmp_burst;
	st->icmp6_rl.tokens = st->cfg.icmp_burst;
	if (pkt_pool_init(&st->pool, 2048, st->cfg.frame_bufs, st->cfg.large_bufs) < 0 || iface_init(st) < 0 ||
	    route_init(st) < 0 || ipv4_ids_init(st) < 0 || neigh_init(st) < 0 || frag4_init(st) < 0 ||
	    udp_init(st) < 0 || sock_table_init(st) < 0 || tcp_init(st) < 0) {
		us_stack_free(st);
		errno = ENOMEM;
		return NULL;
	}
	stack_mem_changed(st);
	return st;
}

void us_stack_free(struct us_stack *st) { (void)us_stack_free_leaks(st); }

uint32_t us_stack_free_leaks(struct us_stack *st)
{
	if (!st)
		return 0;
	tcp_destroy(st);
	sock_table_destroy(st);
	udp_destroy(st);
	frag4_destroy(st);
	neigh_destroy(st);
	ipv4_ids_destroy(st);
	route_destroy(st);
	pktq_purge(&st->pool, &st->loopq);
	iface_destroy(st);
	/* Every owner has released its buffers now: any still in use were lost. */
	uint32_t lost = pkt_pool_in_use(&st->pool);
	pkt_pool_destroy(&st->pool);
	free(st);
	return lost;
}

static void set_now(struct us_stack *st, uint64_t now)
{
	/* Time never runs backwards inside the stack, whatever the caller's
	 * clock does; a jump forward just fires what is due. */
	if (now > st->now)
		st->now = now;
}

static void drain_loopback(struct us_stack *st)
{
	/* Bounded: datagrams looped while draining wait for the next pass. */
	uint32_t n = st->loopq.n;
	while (n-- > 0) {
		struct pkt *p = pktq_pop(&st->loopq);
		if (!p)
			break;
		if (p->len && (p->data[0] >> 4) == 6)
			ipv6_input(st, NULL, p);
		else
			ipv4_input(st, NULL, p);
	}
}

static void finish_pass(struct us_stack *st)
{
	(void)stack_mem_used(st);   /* samples the peak */
	drain_loopback(st);
	/* Callbacks before the output the input scheduled: an ACK for data
	 * the application reads in its callback then carries the window that
	 * read opened, instead of a second segment after it (a relay reading
	 * each pass's data halves its ACKs). */
	sock_dispatch(st);
	tcp_flush_output(st);
	drain_loopback(st);
	tcp_flush_output(st);
	iface_flush(st);
}

int us_stack_input(struct us_stack *st, uint64_t now)
{
	struct pkt *batch[US_RX_BATCH];
	int total = 0;
	set_now(st, now);
	for (int i = 0; i < US_MAX_IFACES; i++) {
		struct us_iface *ifc = &st->ifaces[i];
		if (!ifc->index)
			continue;
		for (int budget = US_INPUT_BUDGET; budget > 0;) {
			int n = link_recv(ifc->link, batch, US_MIN(US_RX_BATCH, budget), st->now);
			if (n <= 0)
				break;
			for (int k = 0; k < n; k++)
				iface_input(st, ifc, batch[k]);
			total += n;
			budget -= n;
		}
		/* What the device lost before the stack saw it (no buffer, a
		 * frame too long) is counted here, in the stack's counters. */
		uint64_t nobuf, other;
		link_rx_losses(ifc->link, &nobuf, &other);
		STAT_ADD(st, link, InNoBuf, nobuf);
		STAT_ADD(st, link, InErrors, other);
	}
	finish_pass(st);
	return total;
}

void us_stack_timers(struct us_stack *st, uint64_t now)
{
	set_now(st, now);
	tw_advance(&st->timers, st->now, st);
	for (int i = 0; i < US_MAX_IFACES; i++)
		if (st->ifaces[i].index)
			link_poll(st->ifaces[i].link, st->now);
	finish_pass(st);
}

int64_t us_stack_next_deadline(const struct us_stack *st)
{
	int64_t best = tw_next(&st->timers);
	for (int i = 0; i < US_MAX_IFACES; i++) {
		const struct us_iface *ifc = &st->ifaces[i];
		if (!ifc->index)
			continue;
		int64_t d = link_poll(ifc->link, st->now);
		if (d >= 0 && (best < 0 || d < best))
			best = d;
	}
	/* Looped datagrams, and sockets woken outside a pass (by a callback's
	 * own calls) wait for the next pass: it is due now. */
	if ((st->loopq.n || st->ready_head) && (best < 0 || (uint64_t)best > st->now))
		best = (int64_t)st->now;
	return best;
}

int us_stack_has_pending(const struct us_stack *st)
{
	if (st->loopq.n)
		return 1;
	for (int i = 0; i < US_MAX_IFACES; i++)
		if (st->ifaces[i].index && link_pending(st->ifaces[i].link))
			return 1;
	return 0;
}

int us_stack_fds(const struct us_stack *st, int *fds, int max)
{
	int n = 0;
	for (int i = 0; i < US_MAX_IFACES; i++) {
		const struct us_iface *ifc = &st->ifaces[i];
		if (!ifc->index || ifc->link->fd < 0)
			continue;
		if (n < max)
			fds[n] = ifc->link->fd;
		n++;
	}
	return n;
}

const struct us_stats *us_stack_stats(const struct us_stack *st) { return &st->stats; }
uint32_t us_stack_bufs_in_use(const struct us_stack *st) { return pkt_pool_in_use(&st->pool); }

uint32_t us_stack_bufs_lent(const struct us_stack *st)
{
	uint32_t n = 0;
	for (int i = 0; i < US_MAX_IFACES; i++)
		if (st->ifaces[i].index)
			for (const struct us_link *l = st->ifaces[i].link; l; l = l->inner)
				n += l->lent;
	return n;
}
uint64_t us_stack_tcp_mem(const struct us_stack *st) { return tcp_mem_in_use(st); }

/* ---- the memory budget ----
 * One account for every buffer that grows with what peers and apps do: TCP
 * send and receive rings (allocated per connection) plus packet buffers in
 * use (UDP and ICMP receive queues, reassembly, output and ARP queues all
 * hold pool packets). mem_max bounds it; tcp_mem_max is its older name. */
static uint64_t pool_bytes(const struct us_stack *st) { return st->pool.bytes; }

void stack_mem_changed(struct us_stack *st)
{
	/* Packet buffers may use what TCP rings leave of the budget. */
	uint64_t max = stack_mem_max(st), tcp = tcp_mem_in_use(st);
	st->pool.limit = tcp < max ? max - tcp : 1;
}

uint64_t stack_mem_used(struct us_stack *st)
{
	uint64_t used = tcp_mem_in_use(st) + pool_bytes(st);
	if (used > st->mem_peak)
		st->mem_peak = used;
	return used;
}

uint64_t stack_mem_max(const struct us_stack *st) { return st->cfg.mem_max ? st->cfg.mem_max : st->cfg.tcp_mem_max; }

int stack_mem_over(struct us_stack *st, uint64_t need) { return stack_mem_used(st) + need > stack_mem_max(st); }

void us_stack_mem_info(struct us_stack *st, struct us_mem_info *mi)
{
	memset(mi, 0, sizeof(*mi));
	mi->tcp = tcp_mem_in_use(st);
	mi->pkts = pool_bytes(st);
	mi->used = stack_mem_used(st);
	mi->peak = st->mem_peak;
	mi->max = stack_mem_max(st);
	mi->pkt_refusals = st->pool.limit_fails;
	mi->pool_reserved = (uint64_t)st->pool.cls[0].count * st->pool.cls[0].size +
			    (uint64_t)st->pool.cls[1].count * st->pool.cls[1].size;
}

static void dump_one(const char *group, const char *name, uint64_t v, void *arg)
{
	fprintf((FILE *)arg, "%s.%s %llu\n", group, name, (unsigned long long)v);
}

void us_stack_dump_stats(const struct us_stack *st, FILE *out)
{
	us_stats_foreach(&st->stats, dump_one, out);
}


/* ---- the protocol switch ---- */

static const struct us_protosw protosw_icmp = {.input = icmp4_input};
static const struct us_protosw protosw_icmp6 = {.input = icmp6_input};
static const struct us_protosw protosw_udp = {.input = udp_input, .err = udp_err};
static const struct us_protosw protosw_tcp = {.input = tcp_input, .err = tcp_err};

const struct us_protosw *stack_protosw(uint8_t proto)
{
	switch (proto) {
	case IP_PROTO_ICMP: return &protosw_icmp;
	case IP_PROTO_UDP: return &protosw_udp;
	case IP_PROTO_TCP: return &protosw_tcp;
	default: return NULL;
	}
}

const struct us_protosw *stack_protosw6(uint8_t proto)
{
	switch (proto) {
	case 58: return &protosw_icmp6;   /* IPPROTO_ICMPV6 */
	case IP_PROTO_UDP: return &protosw_udp;
	case IP_PROTO_TCP: return &protosw_tcp;
	default: return NULL;
	}
}

void stack_ping_reply(struct us_stack *st, struct pkt *p, uint16_t id) { icmp_sock_input(st, p, id); }
int stack_ping_tproxy(struct us_stack *st, struct pkt *p) { return icmp_tproxy_input(st, p); }
