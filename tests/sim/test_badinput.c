/* The bad-input suite: one table row per hostile input (issue 4). Each row
 * starts a fresh stack (the "DUT", 10.0.0.2/16) on an in-memory link whose
 * other end is driven raw from here (the peer, 10.0.0.1, 02:00:00:00:00:01),
 * on a virtual clock. A row sets up what the input is aimed at (nothing, a
 * bound UDP socket, a listener, an established connection, a connection
 * being opened), sends its crafted frames, and then checks exactly:
 *   - every counter that moved is named in the row with its exact delta
 *     (a short list of pure traffic counters excepted), and every named
 *     counter moved by exactly that much;
 *   - the frames the DUT sent back: exactly the expected kind and number
 *     (none where none is due), with the row's own checks on their fields;
 *   - packet buffers back to the baseline they had before the input;
 *   - the stack still serving: a ping is answered, and a connection the
 *     row says must survive still carries data both ways.
 * The peer answers the DUT's ARP requests for 10.0.0.0/16 addresses itself;
 * those requests are not counted as replies. */
#include <errno.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/sim.h"
#include "core/bytes.h"
#include "link/link.h"
#include "net/iface.h"
#include "net/ip.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "net/neigh.h"
#include "net/route.h"
#include "stack.h"
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"
#include "wire/icmp6.h"
#include "wire/ip6ext.h"
#include "wire/ipv6.h"
#include "wire/nd6.h"
#include "transport/tcp.h"
#include "wire/tcp.h"

#include "../lib/badinput.h"
#include "../lib/dut.h"

/* ---- counters ----------------------------------------------------------- */

#define NSTAT 256
struct snap {
	int n;
	const char *grp[NSTAT], *name[NSTAT];
	uint64_t v[NSTAT];
};

static void snap_visit(const char *group, const char *name, uint64_t value, void *arg)
{
	struct snap *s = arg;
	if (s->n < NSTAT) {
		s->grp[s->n] = group;
		s->name[s->n] = name;
		s->v[s->n++] = value;
	}
}

static void snap_take(struct dut *d, struct snap *s)
{
	s->n = 0;
	us_stats_foreach(us_stack_stats(d->st), snap_visit, s);
}

/* Counters that move with any traffic at all: not named in every row. */
static const char *const traffic[] = {
	"Link.InFrames", "Link.OutFrames", "Ip.InReceives", "Ip.InDelivers", "Ip.OutRequests", "Icmp.InMsgs",
	"Icmp.OutMsgs", "Tcp.InSegs", "Tcp.OutSegs", "Arp.OutRequests", "Arp.InReplies", "TcpExt.TCPPureAcks",
	"TcpExt.TCPDelayedACKs", "TcpExt.TCPHPHits", NULL,
};

static int named(const struct bcase *c, const char *full, int64_t *delta)
{
	for (int i = 0; i < MAX_EXP && c->ex[i].name; i++)
		if (!strcmp(c->ex[i].name, full)) {
			*delta = c->ex[i].delta;
			return 1;
		}
	return 0;
}

static int is_traffic(const char *full)
{
	for (int i = 0; traffic[i]; i++)
		if (!strcmp(traffic[i], full))
			return 1;
	return 0;
}

static int diff_counters(const struct bcase *c, const struct snap *a, const struct snap *b)
{
	int bad = 0;
	char full[96];
	for (int i = 0; i < MAX_EXP && c->ex[i].name; i++) {
		int found = 0;
		for (int j = 0; j < b->n; j++) {
			snprintf(full, sizeof(full), "%s.%s", b->grp[j], b->name[j]);
			if (!strcmp(full, c->ex[i].name))
				found = 1;
		}
		if (!found) {
			print_error("  %s: no such counter\n", c->ex[i].name);
			bad++;
		}
	}
	for (int j = 0; j < b->n; j++) {
		snprintf(full, sizeof(full), "%s.%s", b->grp[j], b->name[j]);
		int64_t got = (int64_t)(b->v[j] - a->v[j]), want = 0;
		int has = named(c, full, &want);
		if (!has && is_traffic(full))
			continue;
		int skip = 0;
		for (int k = 0; k < (int)(sizeof(c->loose) / sizeof(c->loose[0])) && c->loose[k]; k++)
			skip |= !strcmp(c->loose[k], full);
		if (skip)
			continue;
		if (got != want) {
			print_error("  %s %+lld, wanted %+lld%s\n", full, (long long)got, (long long)want,
				    has ? "" : " (a counter the row does not name)");
			bad++;
		}
	}
	return bad;
}

static const char *kind_name(int k)
{
	static const char *n[] = {"none", "RST", "ACK", "SYN-ACK", "ICMP error", "echo reply", "ARP reply",
				  "gratuitous ARP", "UDP", "other", "ICMPv6"};
	return n[k];
}

/* ---- checks after every row ---------------------------------------------- */

static void check_serving(struct dut *d)
{
	rx_clear(d);
	send_echo(d, 0x7777);
	run(d, MS(10));
	assert_int_equal(count_kind(d, R_ECHO), 1);
	rx_clear(d);
}

/* The connection carries data both ways. */
static void check_alive(struct dut *d)
{
	assert_int_equal(tinfo(d, d->afd).state, US_TCP_ESTABLISHED);
	rx_clear(d);
	/* Drain what a row may have delivered, then one fresh exchange. */
	char buf[4096];
	while (us_recv(d->st, d->afd, buf, sizeof(buf), 0) > 0)
		;
	struct us_tcp_info ti = tinfo(d, d->afd);
	(void)ti;
	est_seg(d, TCP_ACK | TCP_PSH, d->snd_nxt, d->rcv_nxt, "alive", 5);
	run(d, MS(300));
	assert_int_equal(us_recv(d->st, d->afd, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "alive", 5);
	d->snd_nxt += 5;
	assert_int_equal(us_send(d->st, d->afd, "well", 4, 0), 4);
	run(d, MS(10));
	int got = 0;
	for (int i = 0; i < d->nrx; i++) {
		const struct rx *r = &d->rx[i];
		if ((r->kind == R_ACK) && r->l4_len - (uint32_t)((r->l4[12] >> 4) * 4) == 4 && r->seq == d->rcv_nxt &&
		    !memcmp(r->l4 + (r->l4[12] >> 4) * 4, "well", 4))
			got = 1;
		if (r->kind == R_ACK && r->ack == d->snd_nxt)
			got |= 2;
	}
	assert_int_equal(got, 3);
	d->rcv_nxt += 4;
	est_seg(d, TCP_ACK, d->snd_nxt, d->rcv_nxt, NULL, 0);
	run(d, MS(10));
	rx_clear(d);
}

static void run_case(void **state)
{
	const struct bcase *c = *state;
	struct dut d;
	bcase_start(&d, c);
	uint32_t bufs0 = us_stack_bufs_in_use(d.st);
	struct snap before, after;
	snap_take(&d, &before);
	c->send(&d);
	run(&d, c->settle ? c->settle : MS(200));
	snap_take(&d, &after);
	int bad = diff_counters(c, &before, &after);
	/* Replies: all of the expected kind, and as many as expected. */
	if (!c->any_reply) {
		int want_kind = c->reply;
		for (int i = 0; i < d.nrx; i++) {
			const struct rx *r = &d.rx[i];
			if (r->kind != want_kind || ((want_kind == R_ICMP || want_kind == R_ICMP6) && (r->icmp_type != c->icmp_type ||
									      r->icmp_code != c->icmp_code))) {
				print_error("  an unexpected %s (ICMP %u/%u, TCP flags 0x%02x) among the replies\n",
					    kind_name(r->kind), r->icmp_type, r->icmp_code, r->tcp_flags);
				bad++;
				break;
			}
		}
		int want_n = c->reply == R_NONE ? 0 : (c->nreply ? c->nreply : 1);
		if (d.nrx != want_n) {
			print_error("  %d frame(s) sent back, wanted %d %s\n", d.nrx, want_n, kind_name(c->reply));
			bad++;
		}
	}
	if (bad)
		fail_msg("%s: %d mismatch(es)", c->name, bad);
	if (c->check)
		c->check(&d);
	rx_clear(&d);
	uint32_t bufs1 = us_stack_bufs_in_use(d.st);
	if (bufs1 != bufs0)
		fail_msg("%s: %u packet buffers in use after the input, %u before", c->name, bufs1, bufs0);
	if (c->after == A_ALIVE)
		check_alive(&d);
	if (c->after == A_RESET) {
		char b[8];
		int st = tinfo(&d, d.afd).state;
		assert_true(st == US_TCP_CLOSED || st == 0xff);
		assert_int_equal(us_recv(d.st, d.afd, b, sizeof(b), 0), -ECONNRESET);
	}
	check_serving(&d);
	/* Close everything; the pool drains to zero. */
	if (d.afd >= 0)
		us_close(d.st, d.afd);
	if (d.lfd >= 0)
		us_close(d.st, d.lfd);
	if (d.ufd >= 0)
		us_close(d.st, d.ufd);
	if (d.cfd >= 0)
		us_close(d.st, d.cfd);
	run(&d, SEC(200));
	assert_int_equal(us_stack_bufs_in_use(d.st), 0);
	dut_free(&d);
}

int main(void)
{
	size_t n = badinput_ncases;
	struct CMUnitTest *t = calloc(n, sizeof(*t));
	if (!t)
		return 1;
	for (size_t i = 0; i < n; i++) {
		t[i].name = badinput_cases[i].name;
		t[i].test_func = run_case;
		t[i].initial_state = (void *)&badinput_cases[i];
	}
	int rc = _cmocka_run_group_tests("badinput", t, n, NULL, NULL);
	free(t);
	return rc;
}
