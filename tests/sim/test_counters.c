/* Every counter moves (issue 15): a counter that no scenario can make
 * move is either dead code or a lie in `ustack stats`. This test walks the
 * whole X-macro list of include/ustack/stats.h (through
 * us_stats_foreach_desc, so a counter added there is checked here without
 * a line of this file changing), runs scenarios on stacks over in-memory
 * and fault links on a virtual clock, adds up what every stack counted,
 * and fails on each counter that ended at 0, naming it with its
 * description.
 *
 * The scenarios: every bad-input row (tests/lib/badinput_cases.c, the
 * crafted frames of test_badinput.c, each on a fresh DUT), every
 * conformance script (tests/conform/, run by tests/lib/conform.c), bulk transfers
 * both ways under loss, reordering, duplication and corruption, and a few
 * aimed ones for counters those cannot reach (an empty pool, a device
 * that hands over a damaged frame, a spurious timeout, ...).
 *
 * ALLOWED lists the counters this test may leave at 0 because only a real
 * device makes them move, each with the interop test that moves them.
 * It is empty today: the mem link, the fault link and a user-written
 * device (us_link_device_new) reach every counter. */
#include <arpa/inet.h>
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
#include <dirent.h>

#include "../lib/badinput.h"
#include "../lib/conform.h"
#include "../lib/dut.h"
#include "../lib/sim.h"
#include "core/bytes.h"
#include "core/pkt.h"
#include "link/link.h"
#include "stack.h"
#include "transport/tcp.h"
#include "ustack/link.h"
#include "wire/icmp4.h"
#include "wire/icmp6.h"
#include "wire/ip6ext.h"
#include "wire/mld6.h"
#include "wire/ipv6.h"
#include "wire/nd6.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

/* Counters only a real device can move, with the test that moves them
 * instead ("Group.Name", "why; tests/interop/test_x.sh"). */
static const char *const ALLOWED[][2] = {
	{NULL, NULL},
};

/* ---- the tally -------------------------------------------------------- */

/* struct us_stats is counters only, all uint64_t (src/core/stats.c
 * asserts it): added up as an array. */
#define NCOUNT (sizeof(struct us_stats) / sizeof(uint64_t))
static struct us_stats total;

/* Add what st has counted so far (called once per stack, before it is
 * freed, while its connections are still up so the CurrEstab gauge shows). */
static void harvest(struct us_stack *st)
{
	uint64_t sum[NCOUNT], v[NCOUNT];
	memcpy(sum, &total, sizeof(sum));
	memcpy(v, us_stack_stats(st), sizeof(v));
	for (size_t i = 0; i < NCOUNT; i++)
		sum[i] += v[i];
	memcpy(&total, sum, sizeof(sum));
}

/* ---- scenario: the bad-input rows -------------------------------------- */

static void dut_close_all(struct dut *d)
{
	int *fds[] = {&d->afd, &d->lfd, &d->ufd, &d->cfd};
	for (size_t i = 0; i < 4; i++)
		if (*fds[i] >= 0) {
			us_close(d->st, *fds[i]);
			*fds[i] = -1;
		}
	run(d, SEC(200));
}

static void scen_badinput(void)
{
	for (size_t i = 0; i < badinput_ncases; i++) {
		const struct bcase *c = &badinput_cases[i];
		struct dut d;
		bcase_start(&d, c);
		c->send(&d);
		run(&d, c->settle ? c->settle : MS(200));
		if (c->check)
			c->check(&d);
		rx_clear(&d);
		harvest(d.st);
		dut_close_all(&d);
		dut_free(&d);
	}
}

/* ---- scenario: the conformance scripts ---------------------------------- */

static const char *g_argv0;

static void scen_conform(void)
{
	char *dir = conform_dir(g_argv0);
	assert_non_null(dir);
	DIR *d = opendir(dir);
	assert_non_null(d);
	static char err[8192];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".pkt"))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		/* test_conform checks each script; here it only has to run */
		if (conform_run(path, err, sizeof(err), &total) < 0)
			fail_msg("%s", err);
		n++;
	}
	closedir(d);
	free(dir);
	assert_true(n > 0);
}

/* ---- helpers ------------------------------------------------------------ */

/* Take every free packet buffer of st's pool (64 KiB ones first, so a
 * small allocation cannot fall back on one), then give back `leave`
 * frame-sized ones. Returns how many are held in held[]. */
#define HOG_MAX 8192
static int pool_hog(struct us_stack *st, struct pkt **held, int leave)
{
	int n = 0;
	struct pkt *p;
	while (n < HOG_MAX && (p = pkt_alloc(&st->pool, PKT_LARGE_DATA, 0)))
		held[n++] = p;
	while (n < HOG_MAX && (p = pkt_alloc(&st->pool, 64, 0)))
		held[n++] = p;
	assert_true(n < HOG_MAX);
	for (; leave > 0 && n > 0; leave--)
		pkt_free(&st->pool, held[--n]);
	return n;
}

static void pool_unhog(struct us_stack *st, struct pkt **held, int n)
{
	while (n > 0)
		pkt_free(&st->pool, held[--n]);
}

static void dut_done(struct dut *d)
{
	rx_clear(d);
	harvest(d->st);
	dut_close_all(d);
	assert_int_equal(us_stack_bufs_in_use(d->st), 0);
	dut_free(d);
}

/* ---- scenario: ICMP the DUT must not answer, or just counts -------------- */

static void scen_icmp(void)
{
	struct us_stack_config cfg = base_cfg();
	cfg.reasm_timeout_ms = 1000;
	struct dut d;
	dut_init(&d, &cfg);
	/* A parameter problem about something we sent (Icmp.InParmProbs). */
	uint8_t q[28] = {0x45, 0, 0, 28, 0, 1, 0, 0, 64, IP_PROTO_UDP};
	wr_be32(q + 12, DUT_IP);
	wr_be32(q + 16, PEER_IP);
	size_t l = icmp_msg(pbuf, ICMP_PARAMETERPROB, 0, 0x14000000u, q, sizeof(q));
	send_ip(&d, &(struct ipo){.proto = IP_PROTO_ICMP}, pbuf, l);
	/* The first fragment of an ICMP error that never completes: its
	 * reassembly times out, and a time exceeded about an ICMP error is
	 * forbidden (Icmp.OutSuppressed). */
	uint8_t err[64] = {ICMP_DEST_UNREACH, ICMP_PORT_UNREACH};
	send_ip(&d, &(struct ipo){.proto = IP_PROTO_ICMP, .id = 99, .frag = 0x2000}, err, sizeof(err));
	run(&d, SEC(2));
	const struct us_stats *c = us_stack_stats(d.st);
	assert_int_equal(c->icmp.InParmProbs, 1);
	assert_int_equal(c->icmp.OutSuppressed, 1);
	assert_int_equal(c->icmp.OutTimeExcds, 0);
	dut_done(&d);
}

/* ---- scenario: the memory budget and the connection limit ------------- */

/* A handshake from the peer's port sport; returns 1 if the connection was
 * accepted (its next sequence numbers in *snd, *rcv), 0 if it was reset. */
static int peer_connect(struct dut *d, uint16_t sport, const uint8_t *opt, size_t optlen, uint32_t tsval, uint32_t *snd,
			uint32_t *rcv, uint32_t *dut_ts)
{
	rx_clear(d);
	uint32_t isn = 0x20000000u + sport;
	struct tcpo t = {.sport = sport, .seq = isn, .flags = TCP_SYN, .opt = opt, .optlen = optlen};
	send_tcp(d, &t, NULL, 0);
	run(d, MS(1));
	const struct rx *sa = first_kind(d, R_SYNACK);
	if (!sa)
		return 0;
	*snd = isn + 1;
	*rcv = sa->seq + 1;
	if (dut_ts) {
		/* the TSval of the SYN-ACK, to echo */
		const uint8_t *o = sa->l4 + 20, *end = sa->l4 + (sa->l4[12] >> 4) * 4;
		while (o < end && *o != 8)
			o += (*o <= 1) ? 1 : o[1];
		assert_true(o + 10 <= end);
		*dut_ts = rd_be32(o + 2);
	}
	uint8_t ts[12] = {1, 1, 8, 10};
	struct tcpo a = {.sport = sport, .seq = *snd, .ack = *rcv, .flags = TCP_ACK};
	if (dut_ts) {
		wr_be32(ts + 4, tsval);
		wr_be32(ts + 8, *dut_ts);
		a.opt = ts;
		a.optlen = sizeof(ts);
	}
	rx_clear(d);
	send_tcp(d, &a, NULL, 0);
	run(d, MS(1));
	int reset = count_kind(d, R_RST) > 0;
	rx_clear(d);
	return !reset;
}

static void scen_memory(void)
{
	/* 32 KiB buffers (67 KiB a connection with its overhead) and a budget
	 * of 188 KiB (7/8 of it for rings, half of that before pressure): the
	 * first connection fits, the second is under pressure, the third gets
	 * buffers shrunk to a third, the fourth none. */
	struct us_stack_config cfg = base_cfg();
	cfg.tcp_rmem = cfg.tcp_wmem = 32768;
	cfg.mem_max = 188 * 1024;
	cfg.tcp_moderate_rcvbuf = -1;
	struct dut d;
	dut_init(&d, &cfg);
	setup_listen(&d);
	uint32_t snd[4], rcv[4];
	int ok[4];
	for (int i = 0; i < 4; i++)
		ok[i] = peer_connect(&d, (uint16_t)(41000 + i), syn_opts, sizeof(syn_opts), 0, &snd[i], &rcv[i], NULL);
	assert_true(ok[0] && ok[1] && ok[2]);
	assert_false(ok[3]); /* refused: TCPAbortOnMemory */
	/* The third connection's SYN-ACK offered 32 KiB; its buffer is now
	 * smaller: data 20000 bytes in lies past it (TCPRcvQDrop). */
	uint8_t data[1000] = {0};
	struct tcpo t = {.sport = 41002, .seq = snd[2] + 20000, .ack = rcv[2], .flags = TCP_ACK};
	send_tcp(&d, &t, data, sizeof(data));
	run(&d, MS(1));
	/* Datagrams once the budget is spent (Udp.MemErrors). */
	setup_udp(&d);
	for (int i = 0; i < 40; i++) /* each holds a 2 KiB buffer while unread */
		send_udp(&d, DUT_IP, UPORT, data, sizeof(data));
	run(&d, MS(1));
	const struct us_stats *c = us_stack_stats(d.st);
	assert_true(c->tcpext.TCPMemoryPressures >= 2);
	assert_true(c->tcpext.TCPAbortOnMemory >= 1);
	assert_true(c->tcpext.TCPRcvQDrop >= 1);
	assert_true(c->udp.MemErrors >= 1);
	dut_done(&d);

	/* At most two connections, the listener one of them (TCPConnLimit). */
	cfg = base_cfg();
	cfg.tcp_max_conns = 2;
	dut_init(&d, &cfg);
	setup_listen(&d);
	assert_true(peer_connect(&d, 42000, syn_opts, sizeof(syn_opts), 0, &snd[0], &rcv[0], NULL));
	assert_false(peer_connect(&d, 42001, syn_opts, sizeof(syn_opts), 0, &snd[1], &rcv[1], NULL));
	assert_true(us_stack_stats(d.st)->tcpext.TCPConnLimit >= 1);
	dut_done(&d);
}

/* ---- scenario: a timeout the next ACK shows to be spurious ---------------- */

static void scen_spurious_rto(void)
{
	struct dut d;
	struct us_stack_config cfg = base_cfg();
	dut_init(&d, &cfg);
	setup_listen(&d);
	/* MSS, SACK permitted, timestamps, window scale */
	uint8_t opt[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7};
	uint32_t snd, rcv, dts;
	assert_true(peer_connect(&d, 43000, opt, sizeof(opt), 101, &snd, &rcv, &dts));
	int afd = us_accept(d.st, d.lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(us_send(d.st, afd, "data", 4, 0), 4);
	run(&d, MS(1));
	const struct rx *seg = first_kind(&d, R_ACK);
	assert_non_null(seg);
	const uint8_t *o = seg->l4 + 20, *end = seg->l4 + (seg->l4[12] >> 4) * 4;
	while (o < end && *o != 8)
		o += (*o <= 1) ? 1 : o[1];
	assert_true(o + 10 <= end);
	uint32_t orig_ts = rd_be32(o + 2);
	rx_clear(&d);
	/* No ACK: the timer fires and the data goes again. */
	run(&d, SEC(2));
	assert_true(us_stack_stats(d.st)->tcpext.TCPTimeouts >= 1);
	/* The ACK of the first transmission arrives, late: it echoes the
	 * original's timestamp, older than the retransmission's. */
	uint8_t ts[12] = {1, 1, 8, 10};
	wr_be32(ts + 4, 200);
	wr_be32(ts + 8, orig_ts);
	struct tcpo a = {.sport = 43000, .seq = snd, .ack = rcv + 4, .flags = TCP_ACK, .opt = ts, .optlen = sizeof(ts)};
	send_tcp(&d, &a, NULL, 0);
	run(&d, MS(10));
	assert_int_equal(us_stack_stats(d.st)->tcpext.TCPSpuriousRTOs, 1);
	us_close(d.st, afd);
	dut_done(&d);
}

/* ---- scenario: an empty pool --------------------------------------------- */

static struct pkt *held[HOG_MAX];

static void scen_no_buffers(void)
{
	struct us_stack_config cfg = base_cfg();
	cfg.frame_bufs = 64;
	cfg.large_bufs = 4;
	struct dut d;
	dut_init(&d, &cfg);
	setup_udp(&d);
	run(&d, MS(1));
	/* Nothing free: the frame is lost in the device (Link.InNoBuf), and
	 * a datagram cannot be built (Udp.SndbufErrors). */
	int n = pool_hog(d.st, held, 0);
	send_echo(&d, 1);
	run(&d, MS(1));
	struct sockaddr_in to = sim_addr("10.0.0.1", 9);
	assert_int_equal(us_sendto(d.st, d.ufd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), -ENOBUFS);
	pool_unhog(d.st, held, n);
	/* One buffer free: the frame comes in, the answer finds none: an ARP
	 * reply (Link.OutErrors), a port unreachable (Icmp.OutErrors). */
	n = pool_hog(d.st, held, 1);
	send_arp(&d, BC_MAC, 1, PEER_MAC, PEER_IP, NULL, DUT_IP);
	run(&d, MS(1));
	send_udp(&d, DUT_IP, 9999, "closed", 6);
	run(&d, MS(1));
	pool_unhog(d.st, held, n);
	/* Frame buffers left, no 64 KiB one: a fragment finds no buffer to be
	 * reassembled in (Ip.InDiscards). */
	n = 0;
	struct pkt *p;
	while (n < HOG_MAX && (p = pkt_alloc(&d.st->pool, PKT_LARGE_DATA, 0)))
		held[n++] = p;
	uint8_t pl[64] = {0};
	send_ip(&d, &(struct ipo){.proto = IP_PROTO_UDP, .id = 77, .frag = 0x2000}, pl, sizeof(pl));
	run(&d, MS(1));
	pool_unhog(d.st, held, n);
	/* One 64 KiB buffer free, no frame: a 5000-byte datagram is built in
	 * it, and its fragments find no buffer (Ip.OutDiscards). */
	n = pool_hog(d.st, held, 0);
	pkt_free(&d.st->pool, held[0]); /* the first taken is a 64 KiB one */
	held[0] = held[--n];
	static uint8_t big[5000];
	to = sim_addr("10.0.0.1", 9);
	assert_true(us_sendto(d.st, d.ufd, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)) != 0);
	run(&d, MS(1));
	pool_unhog(d.st, held, n);
	const struct us_stats *c = us_stack_stats(d.st);
	assert_true(c->ip.OutDiscards >= 1);
	assert_true(c->link.InNoBuf >= 1 && c->udp.SndbufErrors >= 1 && c->link.OutErrors >= 1);
	assert_true(c->icmp.OutErrors >= 1 && c->ip.InDiscards >= 1);
	dut_done(&d);
}

/* ---- scenario: a device of the user's that misbehaves -------------------- */

struct baddev {
	int to_give; /* frames to hand over, each empty (damaged) */
};

static int baddev_recv(void *dev, struct us_frame *f, int max, uint64_t now)
{
	(void)now;
	struct baddev *b = dev;
	int n = 0;
	for (; n < max && b->to_give > 0; n++, b->to_give--)
		f[n].len = 0; /* a frame with nothing in it */
	return n;
}

static int baddev_send(void *dev, const struct us_frame *f, int n, uint64_t now)
{
	(void)dev, (void)f, (void)n, (void)now;
	return 0; /* its queue is full: takes nothing */
}

static void scen_bad_device(void)
{
	static const struct us_device_ops ops = {.recv = baddev_recv, .send = baddev_send};
	struct baddev b = {.to_give = 3};
	struct us_device_info info = {.name = "bad0", .mtu = 1500, .hwaddr = {2, 0, 0, 0, 0, 9}, .fd = -1};
	struct us_stack_config cfg = base_cfg();
	struct us_stack *st = us_stack_new(&cfg);
	assert_non_null(st);
	struct us_link *l = us_link_device_new(&ops, &b, &info);
	assert_non_null(l);
	int ifx = us_iface_add(st, l);
	assert_true(ifx > 0);
	struct in_addr a = {htonl(0x0a000102u)};
	us_iface_addr_add(st, ifx, a, 24);
	uint64_t now = SEC(1);
	us_stack_timers(st, now);
	us_iface_up(st, ifx);    /* the gratuitous ARP: refused (Link.OutDrops) */
	us_stack_input(st, now); /* three damaged frames (Link.InErrors) */
	us_stack_timers(st, now + MS(1));
	const struct us_stats *c = us_stack_stats(st);
	assert_int_equal(c->link.InErrors, 3);
	assert_true(c->link.OutDrops >= 1);
	harvest(st);
	assert_int_equal(us_stack_free_leaks(st), 0);
}

/* ---- scenario: ARP that never resolves ----------------------------------- */

static void scen_arp_fails(void)
{
	struct sim_opts o = {0};
	o.cfg.neigh_queue = 2;
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	int fd = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sim_addr("10.0.0.99", 9); /* on the link, nobody there */
	for (int i = 0; i < 4; i++)
		assert_int_equal(us_sendto(s.a, fd, "lost", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
	sim_run(&s, SEC(10));
	const struct us_stats *c = us_stack_stats(s.a);
	assert_true(c->arp.ResolveFails >= 1 && c->arp.QueueDrops >= 2);
	us_close(s.a, fd);
	harvest(s.a);
	harvest(s.b);
	sim_free(&s);
}

/* ---- scenario: UDP, fragments, ping sockets ------------------------------ */

static void scen_udp_frag_ping(void)
{
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int ra = us_socket(s.b, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in any = sim_addr("0.0.0.0", 7000);
	assert_int_equal(us_bind(s.b, ra, (struct sockaddr *)&any, sizeof(any)), 0);
	int fd = us_socket(s.a, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sim_addr(SIM_B, 7000);
	static uint8_t big[5000];
	/* fragmented on the way out (Ip.FragOKs, FragCreates) */
	assert_int_equal(us_sendto(s.a, fd, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)), (int)sizeof(big));
	sim_run(&s, MS(10));
	assert_int_equal(us_recv(s.b, ra, big, sizeof(big), 0), (int)sizeof(big));
	/* DF and too big: not sent (Ip.FragFails) */
	int v = IP_PMTUDISC_DO;
	assert_int_equal(us_setsockopt(s.a, fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v)), 0);
	assert_true(us_sendto(s.a, fd, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)) < 0);
	/* a ping socket's echo request (Icmp.OutEchos) */
	int pfd = us_socket(s.a, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	assert_true(pfd >= 0);
	uint8_t echo[16] = {ICMP_ECHO, 0};
	struct sockaddr_in pto = sim_addr(SIM_B, 0);
	assert_int_equal(us_sendto(s.a, pfd, echo, sizeof(echo), 0, (struct sockaddr *)&pto, sizeof(pto)),
			 (int)sizeof(echo));
	sim_run(&s, MS(10));
	assert_true(us_recv(s.a, pfd, echo, sizeof(echo), 0) > 0);
	const struct us_stats *c = us_stack_stats(s.a);
	assert_true(c->ip.FragOKs == 1 && c->ip.FragCreates == 4 && c->ip.FragFails >= 1 && c->icmp.OutEchos == 1);
	us_close(s.a, pfd);
	us_close(s.a, fd);
	us_close(s.b, ra);
	harvest(s.a);
	harvest(s.b);
	sim_free(&s);
}

/* ---- scenario: IPv6 between two stacks and raw frames ------------------ */

#define V6A "fd00:ab::1"
#define V6B "fd00:ab::2"

static struct sockaddr_in6 sa6(const char *ip, uint16_t port) { return sim_addr6(ip, port); }

/* An Ethernet frame from a's MAC to b's around an IPv6 packet. */
static void inject6(struct sim *s, const char *src, const char *dst, uint8_t nh, uint8_t hops, const uint8_t *pl,
		    size_t len)
{
	static uint8_t ip[2000], f[2100];
	struct ipv6_repr r = {.payload_len = (uint16_t)len, .next_hdr = nh, .hop_limit = hops};
	inet_pton(AF_INET6, src, r.src.b);
	inet_pton(AF_INET6, dst, r.dst.b);
	ipv6_emit(&r, ip);
	memcpy(ip + 40, pl, len);
	sim_inject(s, f, sim_eth_frame(f, ip, 40 + len, 0x86dd));
}

static size_t icmp6m(uint8_t *o, const char *src, const char *dst, uint8_t type, uint8_t code, uint32_t rest,
		     const uint8_t *pl, size_t plen)
{
	struct ip6_addr s6, d6;
	inet_pton(AF_INET6, src, s6.b);
	inet_pton(AF_INET6, dst, d6.b);
	if (plen)
		memmove(o + 8, pl, plen);
	struct icmp6_repr r = {.type = type, .code = code, .rest = rest, .payload = o + 8, .payload_len = plen};
	icmp6_emit(&r, &s6, &d6, o);
	return 8 + plen;
}

static void scen_ipv6(void)
{
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	struct sockaddr_in6 a6 = sa6(V6A, 0), b6 = sa6(V6B, 0);
	assert_int_equal(us_iface_addr_add_sa(s.a, s.ifa, (struct sockaddr *)&a6, 64), 0);
	assert_int_equal(us_iface_addr_add_sa(s.b, s.ifb, (struct sockaddr *)&b6, 64), 0);
	sim_run(&s, SEC(2));
	/* UDP in fragments both ways (FragOKs, FragCreates, ReasmOKs). */
	int fb = us_socket(s.b, AF_INET6, SOCK_DGRAM, 0), fa = us_socket(s.a, AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 any = sa6(NULL, 7000), to = sa6(V6B, 7000), closed = sa6(V6B, 9);
	assert_int_equal(us_bind(s.b, fb, (struct sockaddr *)&any, sizeof(any)), 0);
	static uint8_t big[4000];
	assert_int_equal(us_sendto(s.a, fa, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)), (int)sizeof(big));
	sim_run(&s, MS(10));
	assert_int_equal(us_recv(s.b, fb, big, sizeof(big), 0), (int)sizeof(big));
	/* 60 datagrams to a closed port: port unreachables, then the rate limit. */
	for (int i = 0; i < 60; i++)
		us_sendto(s.a, fa, big, 8, 0, (struct sockaddr *)&closed, sizeof(closed));
	sim_run(&s, MS(10));
	/* A ping socket's echo and its reply. */
	int pfd = us_socket(s.a, AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	uint8_t echo[16] = {ICMP6_ECHO_REQUEST, 0};
	assert_int_equal(us_sendto(s.a, pfd, echo, sizeof(echo), 0, (struct sockaddr *)&b6, sizeof(b6)), (int)sizeof(echo));
	sim_run(&s, MS(10));
	assert_true(us_recv(s.a, pfd, echo, sizeof(echo), 0) > 0);
	uint8_t m[1400];
	/* An echo from a source with no route back (Ip6.OutNoRoutes). */
	uint8_t e[16] = {0};
	inject6(&s, "2001:db8::9", V6B, 58, 64, m, icmp6m(m, "2001:db8::9", V6B, ICMP6_ECHO_REQUEST, 0, 1, e, 8));
	/* An unknown next header: b's parameter problem reaches a. */
	inject6(&s, V6A, V6B, 200, 64, e, 8);
	/* An ICMPv6 error behind an option b must complain about: it does not
	 * (no error about an error: Icmp6.OutSuppressed). */
	uint8_t d[8 + 8 + 8] = {58, 0, 0x9e, 4, 0, 0, 0, 0};
	icmp6m(d + 8, V6A, V6B, ICMP6_DEST_UNREACH, 0, 0, e, 8);
	inject6(&s, V6A, V6B, 60, 64, d, sizeof(d));
	/* A router solicitation, an MLD report, and an RA with a prefix. */
	inject6(&s, "::", "ff02::1", 58, 255, m, icmp6m(m, "::", "ff02::1", ICMP6_ND_RS, 0, 0, NULL, 0));
	uint8_t grp[16];
	inet_pton(AF_INET6, "ff02::1:ff00:2", grp);
	inject6(&s, "fe80::1", "ff02::1", 58, 1, m, icmp6m(m, "fe80::1", "ff02::1", ICMP6_MLD_REPORT, 0, 0, grp, 16));
	/* An MLDv1 done and an MLDv2 report sent (against the rules) to all
	 * nodes rather than to the routers' groups; a query from a global
	 * source (Icmp6.InBadMLD); an MLDv1 general query, which b answers
	 * with MLDv1 reports. */
	inject6(&s, "fe80::1", "ff02::1", 58, 1, m, icmp6m(m, "fe80::1", "ff02::1", ICMP6_MLD_DONE, 0, 0, grp, 16));
	uint8_t rec[20] = {MLD2_CHANGE_TO_EXCLUDE};
	memcpy(rec + 4, grp, 16);
	inject6(&s, "fe80::1", "ff02::1", 58, 1, m, icmp6m(m, "fe80::1", "ff02::1", ICMP6_MLD2_REPORT, 0, 1, rec, 20));
	uint8_t zero16[16] = {0};
	inject6(&s, "2001:db8::1", "ff02::1", 58, 1, m,
		icmp6m(m, "2001:db8::1", "ff02::1", ICMP6_MLD_QUERY, 0, 1000u << 16, zero16, 16));
	inject6(&s, "fe80::1", "ff02::1", 58, 1, m,
		icmp6m(m, "fe80::1", "ff02::1", ICMP6_MLD_QUERY, 0, 1000u << 16, zero16, 16));
	struct nd6_repr ra;
	memset(&ra, 0, sizeof(ra));
	ra.type = ICMP6_ND_RA;
	ra.router_lifetime = 1800;
	ra.opts.n_prefix = 1;
	inet_pton(AF_INET6, "2001:db8:1::", ra.opts.prefix[0].prefix.b);
	ra.opts.prefix[0].len = 64;
	ra.opts.prefix[0].flags = ND6_PI_ONLINK | ND6_PI_AUTO;
	ra.opts.prefix[0].valid = 86400;
	ra.opts.prefix[0].preferred = 14400;
	struct ip6_addr ll, an;
	inet_pton(AF_INET6, "fe80::1", ll.b);
	inet_pton(AF_INET6, "ff02::1", an.b);
	size_t n = nd6_emit(&ra, &ll, &an, m);
	inject6(&s, "fe80::1", "ff02::1", 58, 255, m, n);
	/* First fragments: one twice (ReasmDuplicates), 40 ids for 32 slots
	 * (ReasmEvictions); the rest time out with a time exceeded to a. */
	uint8_t fr[8 + 16] = {17, 0, 0, 1};
	fr[8] = 0x1b;
	fr[9] = 0x58;
	for (uint32_t id = 1; id <= 40; id++) {
		wr_be32(fr + 4, id);
		inject6(&s, V6A, V6B, 44, 64, fr, sizeof(fr));
		if (id == 40)
			inject6(&s, V6A, V6B, 44, 64, fr, sizeof(fr));
	}
	sim_run(&s, SEC(65));
	const struct us_stats *cb = us_stack_stats(s.b), *ca = us_stack_stats(s.a);
	assert_true(cb->icmp6.SlaacAddrs == 1 && cb->icmp6.InRouterSolicits == 1 &&
		    cb->icmp6.InGroupMembResponses == 1 && cb->icmp6.InGroupMembReductions == 1 &&
		    cb->icmp6.InMLDv2Reports == 1 && cb->icmp6.InGroupMembQueries == 2 && cb->icmp6.InBadMLD == 1);
	assert_true(cb->icmp6.OutGroupMembResponses >= 1 && cb->icmp6.OutMLDv2Reports >= 1);
	assert_true(cb->ip6.ReasmTimeout >= 1 && cb->ip6.ReasmEvictions >= 1 && cb->ip6.ReasmDuplicates == 1);
	assert_true(ca->icmp6.InTimeExcds >= 1 && ca->icmp6.InParmProblems == 1 && cb->icmp6.OutSuppressed == 1);
	assert_true(cb->icmp6.OutRateLimited >= 1 && cb->ip6.OutNoRoutes == 1 && ca->icmp6.InEchoReplies == 1);
	/* No buffers: fragments not made (a: FragFails, OutDiscards), and no
	 * port unreachable (b: Icmp6.OutErrors). */
	int hn = pool_hog(s.a, held, 0);
	pkt_free(&s.a->pool, held[0]);   /* one large buffer for the datagram, none for its fragments */
	assert_true(us_sendto(s.a, fa, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)) < 0 ||
		    s.a->stats.ip6.FragFails == 1);
	pool_unhog(s.a, held + 1, hn - 1);
	sim_run(&s, SEC(1));
	hn = pool_hog(s.b, held, 1);
	us_sendto(s.a, fa, big, 8, 0, (struct sockaddr *)&closed, sizeof(closed));
	sim_run(&s, MS(10));
	pool_unhog(s.b, held, hn);
	sim_run(&s, SEC(1));
	us_close(s.a, pfd);
	us_close(s.a, fa);
	us_close(s.b, fb);
	harvest(s.a);
	harvest(s.b);
	sim_free(&s);
	/* DAD: b takes the address a has, while an MLDv1 querier is heard:
	 * b leaves the group it joined for it with an MLDv1 done. */
	assert_int_equal(sim_init(&s, NULL), 0);
	sim_run(&s, SEC(2));
	assert_int_equal(us_iface_addr_add_sa(s.a, s.ifa, (struct sockaddr *)&a6, 64), 0);
	sim_run(&s, SEC(2));
	inject6(&s, "fe80::1", "ff02::1", 58, 1, m,
		icmp6m(m, "fe80::1", "ff02::1", ICMP6_MLD_QUERY, 0, 1000u << 16, zero16, 16));
	assert_int_equal(us_iface_addr_add_sa(s.b, s.ifb, (struct sockaddr *)&a6, 64), 0);
	sim_run(&s, SEC(2));
	assert_int_equal(us_stack_stats(s.b)->icmp6.DadConflicts, 1);
	assert_true(us_stack_stats(s.b)->icmp6.OutGroupMembReductions >= 1);
	harvest(s.a);
	harvest(s.b);
	sim_free(&s);
}

/* ---- scenario: bulk TCP both ways through a bad network ------------------ */

struct bulk {
	struct sim *s;
	struct sim_pair *p;
	size_t n, sent_a, got_b, sent_b, got_a;
};

static uint8_t pattern(size_t i) { return (uint8_t)(i * 31 + (i >> 11)); }

static int bulk_step(void *arg)
{
	struct bulk *b = arg;
	uint8_t buf[16384];
	while (b->sent_a < b->n) {
		size_t k = US_MIN(sizeof(buf), b->n - b->sent_a);
		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(b->sent_a + i);
		ssize_t r = us_send(b->s->a, b->p->cfd, buf, k, 0);
		if (r <= 0)
			break;
		b->sent_a += (size_t)r;
	}
	while (b->sent_b < b->n) {
		size_t k = US_MIN(sizeof(buf), b->n - b->sent_b);
		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(b->sent_b + i);
		ssize_t r = us_send(b->s->b, b->p->afd, buf, k, 0);
		if (r <= 0)
			break;
		b->sent_b += (size_t)r;
	}
	ssize_t r;
	while ((r = us_recv(b->s->b, b->p->afd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < r; i++)
			assert_int_equal(buf[i], pattern(b->got_b + (size_t)i));
		b->got_b += (size_t)r;
	}
	while ((r = us_recv(b->s->a, b->p->cfd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t i = 0; i < r; i++)
			assert_int_equal(buf[i], pattern(b->got_a + (size_t)i));
		b->got_a += (size_t)r;
	}
	return b->got_a == b->n && b->got_b == b->n;
}

static void scen_bulk(const char *cc, int mtu_probing)
{
	struct us_fault_cfg f = {
		.seed = 11, .drop = 0.03, .dup = 0.01, .reorder = 0.03, .corrupt = 0.005, .delay_ns = MS(5)};
	struct us_fault_cfg g = f;
	g.seed = 12;
	struct sim_opts o = {.a_tx = &f, .b_tx = &g};
	o.cfg.tcp_cc = cc;
	o.cfg.tcp_mtu_probing = mtu_probing;
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 80), 0);
	struct bulk b = {.s = &s, .p = &p, .n = 3u << 20};
	assert_true(sim_run_until(&s, SEC(600), bulk_step, &b));
	harvest(s.a); /* connected: CurrEstab counts them */
	harvest(s.b);
	sim_tcp_close(&p);
	sim_run(&s, SEC(200));
	sim_free(&s);
}

/* ---- the check ---------------------------------------------------------- */

struct walk {
	size_t i;
	int zero, allowed;
};

static int is_allowed(const char *full)
{
	for (size_t i = 0; ALLOWED[i][0]; i++)
		if (!strcmp(ALLOWED[i][0], full))
			return 1;
	return 0;
}

static void check_one(const char *group, const char *name, uint64_t value, const char *desc, void *arg)
{
	(void)value;
	struct walk *w = arg;
	char full[96];
	snprintf(full, sizeof(full), "%s.%s", group, name);
	w->i++;
	int64_t v = us_stats_get(&total, full);
	assert_true(v >= 0);
	if (v > 0)
		return;
	if (is_allowed(full)) {
		w->allowed++;
		return;
	}
	print_error("  %s stayed at 0: %s\n", full, desc);
	w->zero++;
}

static void test_every_counter_moves(void **state)
{
	(void)state;
	memset(&total, 0, sizeof(total));
	scen_badinput();
	scen_conform();
	scen_no_buffers();
	scen_icmp();
	scen_memory();
	scen_spurious_rto();
	scen_bad_device();
	scen_arp_fails();
	scen_udp_frag_ping();
	scen_ipv6();
	scen_bulk("cubic", 2);
	scen_bulk("bbr", 1);
	struct walk w = {0};
	us_stats_foreach_desc(NULL, check_one, &w);
	assert_int_equal(w.i, NCOUNT); /* every field of struct us_stats was visited */
	if (w.zero)
		fail_msg("%d counter(s) no scenario made move (%d allowed)", w.zero, w.allowed);
}

int main(int argc, char **argv)
{
	(void)argc;
	g_argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_counter_moves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
