/* TCP state machine corners on the virtual clock: simultaneous open and
 * close, zero windows and probes, keepalive, retransmission timeouts,
 * TIME_WAIT, SYN cookies, and RFC 5961 answers to injected segments. */
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
#include "net/ipv4.h"
#include "net/neigh.h"
#include "net/route.h"
#include "stack.h"
#include "transport/tcp.h"
#include "wire/eth.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

static void finish(struct sim *s)
{
	s->b_down = 0;
	sim_run(s, SEC(300));
	assert_int_equal(us_stack_bufs_in_use(s->a), 0);
	assert_int_equal(us_stack_bufs_in_use(s->b), 0);
	sim_free(s);
}

static struct us_tcp_info info(struct us_stack *st, int fd)
{
	struct us_tcp_info i;
	memset(&i, 0, sizeof(i));
	socklen_t l = sizeof(i);
	assert_int_equal(us_getsockopt(st, fd, IPPROTO_TCP, TCP_INFO, &i, &l), 0);
	return i;
}

static int sock_err(struct us_stack *st, int fd)
{
	int e = 0;
	socklen_t l = sizeof(e);
	us_getsockopt(st, fd, SOL_SOCKET, SO_ERROR, &e, &l);
	return e;
}

static void test_simultaneous_open(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	int fa = us_socket(s.a, AF_INET, SOCK_STREAM, 0), fb = us_socket(s.b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in aa = sim_addr(SIM_A, 4001), bb = sim_addr(SIM_B, 4002);
	assert_int_equal(us_bind(s.a, fa, (struct sockaddr *)&aa, sizeof(aa)), 0);
	assert_int_equal(us_bind(s.b, fb, (struct sockaddr *)&bb, sizeof(bb)), 0);
	/* Both SYNs leave before either arrives: RFC 9293 figure 8. */
	assert_int_equal(us_connect(s.a, fa, (struct sockaddr *)&bb, sizeof(bb)), -EINPROGRESS);
	assert_int_equal(us_connect(s.b, fb, (struct sockaddr *)&aa, sizeof(aa)), -EINPROGRESS);
	sim_run(&s, SEC(5));
	assert_int_equal(info(s.a, fa).state, US_TCP_ESTABLISHED);
	assert_int_equal(info(s.b, fb).state, US_TCP_ESTABLISHED);
	assert_int_equal(us_send(s.a, fa, "ab", 2, 0), 2);
	sim_run(&s, MS(100));
	char buf[4];
	assert_int_equal(us_recv(s.b, fb, buf, sizeof(buf), 0), 2);
	/* Simultaneous close: FIN_WAIT_1 -> CLOSING -> TIME_WAIT on both sides. */
	us_shutdown(s.a, fa, SHUT_WR);
	us_shutdown(s.b, fb, SHUT_WR);
	sim_run(&s, SEC(1));
	assert_int_equal(info(s.a, fa).state, US_TCP_TIME_WAIT);
	assert_int_equal(info(s.b, fb).state, US_TCP_TIME_WAIT);
	us_close(s.a, fa);
	us_close(s.b, fb);
	finish(&s);
}

static void test_zero_window_probe(void **state)
{
	(void)state;
	struct sim_opts o = {0};
	o.cfg.tcp_rmem = 16384;   /* small receive buffer: the window closes fast */
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 4100), 0);
	static uint8_t data[100000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	size_t sent = 0;
	while (sent < sizeof(data)) {
		ssize_t n = us_send(s.a, p.cfd, data + sent, sizeof(data) - sent, 0);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	sim_run(&s, SEC(30));   /* b never reads: its window is zero, a probes */
	struct us_tcp_info ia = info(s.a, p.cfd);
	assert_int_equal(ia.snd_wnd, 0);
	assert_int_equal(ia.state, US_TCP_ESTABLISHED);
	uint64_t probes = us_stack_stats(s.a)->tcpext.TCPWinProbe;
	assert_in_range(probes, 3, 20);   /* backed off: not one per RTO floor */
	assert_true(us_stack_stats(s.b)->tcpext.TCPZeroWindowDrop + probes > 0);
	/* Reading opens the window; everything arrives intact. */
	static uint8_t got[100000];
	size_t have = 0;
	for (int round = 0; round < 2000 && have < sizeof(data); round++) {
		while (sent < sizeof(data)) {
			ssize_t n = us_send(s.a, p.cfd, data + sent, sizeof(data) - sent, 0);
			if (n <= 0)
				break;
			sent += (size_t)n;
		}
		ssize_t n = us_recv(s.b, p.afd, got + have, sizeof(got) - have, 0);
		if (n > 0)
			have += (size_t)n;
		sim_run(&s, MS(50));
	}
	assert_int_equal(have, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	sim_tcp_close(&p);
	finish(&s);
}

static void test_keepalive(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 4200), 0);
	int one = 1, idle = 10, intvl = 2, cnt = 3;
	assert_int_equal(us_setsockopt(s.a, p.cfd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
	assert_int_equal(us_setsockopt(s.a, p.cfd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)), 0);
	assert_int_equal(us_setsockopt(s.a, p.cfd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)), 0);
	assert_int_equal(us_setsockopt(s.a, p.cfd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)), 0);
	/* A live peer answers every probe: the connection stays up. */
	sim_run(&s, SEC(100));
	assert_int_equal(info(s.a, p.cfd).state, US_TCP_ESTABLISHED);
	uint64_t answered = us_stack_stats(s.a)->tcpext.TCPKeepAlive;
	assert_in_range(answered, 8, 11);   /* one per idle period of 10 s */
	/* The peer vanishes: exactly three unanswered probes 2 s apart, then
	 * ETIMEDOUT, within one idle period plus three intervals. */
	s.b_down = 1;
	uint64_t t0 = s.now;
	while (info(s.a, p.cfd).state == US_TCP_ESTABLISHED && s.now - t0 < SEC(30))
		sim_run(&s, MS(100));
	assert_true(s.now - t0 <= SEC(10 + 3 * 2 + 1));
	assert_int_equal(us_stack_stats(s.a)->tcpext.TCPKeepAlive - answered, 3);
	assert_int_equal(sock_err(s.a, p.cfd), ETIMEDOUT);
	sim_tcp_close(&p);
	finish(&s);
}

static void test_retransmit_timeout(void **state)
{
	(void)state;
	struct sim_opts o = {0};
	o.cfg.tcp_retries2 = 5;
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 4300), 0);
	s.b_down = 1;
	assert_int_equal(us_send(s.a, p.cfd, "lost", 4, 0), 4);
	uint64_t t0 = s.now;
	/* RTO 200 ms doubling: 0.2 + 0.4 + 0.8 + 1.6 + 3.2 + 6.4 = 12.6 s. */
	sim_run(&s, SEC(12));
	assert_int_equal(info(s.a, p.cfd).state, US_TCP_ESTABLISHED);
	sim_run(&s, SEC(2));
	assert_int_equal(sock_err(s.a, p.cfd), ETIMEDOUT);
	assert_int_equal(us_stack_stats(s.a)->tcpext.TCPTimeouts, 5);
	assert_true(s.now - t0 >= SEC(12));
	char buf[4];
	assert_int_equal(us_recv(s.a, p.cfd, buf, sizeof(buf), 0), 0);
	/* Connecting to an unplugged on-link host: ARP gives up after three
	 * tries and the connect fails with EHOSTUNREACH, as on Linux. */
	sim_run(&s, SEC(60));   /* let the neighbour entry go stale */
	int fd = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = sim_addr(SIM_B, 4301);
	assert_int_equal(us_connect(s.a, fd, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, SEC(15));
	assert_int_equal(sock_err(s.a, fd), EHOSTUNREACH);
	us_close(s.a, fd);
	sim_tcp_close(&p);
	finish(&s);
}

static int count_state(struct us_stack *st, int state)
{
	struct ctx {
		int state, n;
	} c = {state, 0};
	void visit(const struct us_tcp_info *i, void *arg);
	us_tcp_foreach(st, visit, &c);
	return c.n;
}

void visit(const struct us_tcp_info *i, void *arg)
{
	struct {
		int state, n;
	} *c = arg;
	c->n += i->state == c->state;
}

static void test_time_wait(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 4400), 0);
	struct sockaddr_in local;
	socklen_t ll = sizeof(local);
	us_getsockname(s.a, p.cfd, (struct sockaddr *)&local, &ll);
	/* b closes first, so b holds TIME_WAIT for 2*MSL = 60 s. */
	us_close(s.b, p.afd);
	p.afd = -1;
	sim_run(&s, MS(100));
	us_close(s.a, p.cfd);
	sim_run(&s, MS(100));
	assert_int_equal(count_state(s.b, US_TCP_TIME_WAIT), 1);
	sim_run(&s, SEC(30));
	assert_int_equal(count_state(s.b, US_TCP_TIME_WAIT), 1);
	/* A new SYN for the same 4-tuple with a higher sequence number takes
	 * the TIME_WAIT connection over (RFC 9293 3.6.1). */
	int fd = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	int one = 1;
	us_setsockopt(s.a, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(us_bind(s.a, fd, (struct sockaddr *)&local, sizeof(local)), 0);
	struct sockaddr_in to = sim_addr(SIM_B, 4400);
	assert_int_equal(us_connect(s.a, fd, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, SEC(1));
	assert_int_equal(info(s.a, fd).state, US_TCP_ESTABLISHED);
	assert_int_equal(us_stack_stats(s.b)->tcpext.TCPTimeWaitRecycled, 1);
	int afd = us_accept(s.b, p.lfd, NULL, NULL);
	assert_true(afd >= 0);
	us_close(s.a, fd);
	us_close(s.b, afd);
	sim_run(&s, SEC(61));
	assert_int_equal(count_state(s.a, US_TCP_TIME_WAIT) + count_state(s.b, US_TCP_TIME_WAIT), 0);
	us_close(s.b, p.lfd);
	finish(&s);
}

/* Found while capturing fuzz seeds: once the peer had acknowledged our FIN
 * (FIN_WAIT_2), the next output sent a second FIN one sequence number
 * further on, which the peer could never acknowledge. One FIN, one
 * sequence number (RFC 9293 3.10.4, 3.10.7.4). */
static void test_fin_sent_once(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 4500), 0);
	assert_int_equal(us_send(s.a, p.cfd, "abc", 3, 0), 3);
	sim_run(&s, MS(100));
	uint64_t fins_before = info(s.a, p.cfd).segs_out;
	assert_int_equal(us_shutdown(s.a, p.cfd, SHUT_WR), 0);
	sim_run(&s, MS(500));
	struct us_tcp_info i = info(s.a, p.cfd);
	assert_int_equal(i.state, US_TCP_FIN_WAIT_2);
	assert_int_equal(i.unacked, 0);
	assert_int_equal(i.segs_out, fins_before + 1);   /* the FIN, nothing after it */
	/* b reads and closes too: a acknowledges b's FIN, b's LAST_ACK ends. */
	char buf[8];
	assert_int_equal(us_recv(s.b, p.afd, buf, sizeof(buf), 0), 3);
	uint64_t b_in = us_stack_stats(s.b)->tcp.InSegs;
	us_close(s.b, p.afd);
	p.afd = -1;
	sim_run(&s, MS(500));
	assert_int_equal(count_state(s.a, US_TCP_TIME_WAIT), 1);
	assert_int_equal(count_state(s.b, US_TCP_LAST_ACK), 0);
	assert_int_equal(us_stack_stats(s.b)->tcp.InSegs, b_in + 1);
	us_close(s.a, p.cfd);
	us_close(s.b, p.lfd);
	finish(&s);
}

static void test_syn_cookies(void **state)
{
	(void)state;
	struct sim_opts o = {0};
	o.cfg.tcp_syncookies = 2;   /* always */
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	struct sim_pair p;
	/* The listener's options reach a connection made from a cookie too. */
	p.s = &s;
	p.afd = -1;
	p.lfd = us_socket(s.b, AF_INET, SOCK_STREAM, 0);
	int one = 1, v = 0;
	socklen_t vl = sizeof(v);
	struct sockaddr_in la = sim_addr("0.0.0.0", 4500), to = sim_addr(SIM_B, 4500);
	assert_int_equal(us_setsockopt(s.b, p.lfd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
	assert_int_equal(us_bind(s.b, p.lfd, (struct sockaddr *)&la, sizeof(la)), 0);
	assert_int_equal(us_listen(s.b, p.lfd, 16), 0);
	p.cfd = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(us_connect(s.a, p.cfd, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, SEC(1));
	p.afd = us_accept(s.b, p.lfd, NULL, NULL);
	assert_true(p.afd >= 0);
	assert_int_equal(us_getsockopt(s.b, p.afd, SOL_SOCKET, SO_KEEPALIVE, &v, &vl), 0);
	assert_int_equal(v, 1);
	assert_int_equal(us_stack_stats(s.b)->tcpext.SyncookiesSent, 1);
	assert_int_equal(us_stack_stats(s.b)->tcpext.SyncookiesRecv, 1);
	static uint8_t data[300000], got[300000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 1);
	size_t sent = 0, have = 0;
	for (int r = 0; r < 10000 && have < sizeof(data); r++) {
		ssize_t n = sent < sizeof(data) ? us_send(s.a, p.cfd, data + sent, sizeof(data) - sent, 0) : 0;
		if (n > 0)
			sent += (size_t)n;
		sim_run(&s, MS(1));
		n = us_recv(s.b, p.afd, got + have, sizeof(got) - have, 0);
		if (n > 0)
			have += (size_t)n;
	}
	assert_int_equal(have, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	sim_tcp_close(&p);
	finish(&s);
}

/* Send a crafted segment to b as if from a's connection. */
static void inject(struct sim *s, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
		   const char *data)
{
	struct us_stack *a = s->a;
	size_t dl = data ? strlen(data) : 0;
	struct tcp_repr t;
	memset(&t, 0, sizeof(t));
	t.sport = sport;
	t.dport = dport;
	t.seq = seq;
	t.ack = ack;
	t.flags = flags;
	t.win = 1000;
	size_t hl = tcp_hdr_len_for(&t);
	struct pkt *p = pkt_alloc(&a->pool, (uint32_t)(ETH_HDR_LEN + IPV4_HDR_LEN + hl + dl), 0);
	assert_non_null(p);
	uint8_t *b = pkt_put(p, (uint32_t)(ETH_HDR_LEN + IPV4_HDR_LEN + hl + dl));
	struct eth_repr e = {.dst = {2, 0, 0, 0, 0, 2}, .src = {2, 0, 0, 0, 0, 1}, .type = ETH_P_IPV4};
	eth_emit(&e, b);
	struct ipv4_repr ip = {.src = sim_ip(SIM_A), .dst = sim_ip(SIM_B), .proto = IP_PROTO_TCP, .ttl = 64,
			       .payload_len = (uint16_t)(hl + dl)};
	ipv4_emit(&ip, b + ETH_HDR_LEN);
	memcpy(b + ETH_HDR_LEN + IPV4_HDR_LEN + hl, data ? data : "", dl);
	tcp_emit(&t, ip.src, ip.dst, b + ETH_HDR_LEN + IPV4_HDR_LEN, dl);
	struct pkt *one[1] = {p};
	link_send(s->la, one, 1, s->now);
}

static void test_rfc5961_blind_attacks(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 4600), 0);
	const struct us_stats *stb = us_stack_stats(s.b);
	uint16_t aport = info(s.b, p.afd).rport;   /* a's ephemeral port, as b sees it */
	/* 1. RST far outside the window: silently ignored. */
	uint64_t acks0 = stb->tcpext.TCPChallengeACK;
	uint32_t guess = 0x12345678;
	inject(&s, aport, 4600, TCP_RST, guess, 0, NULL);
	sim_run(&s, MS(10));
	assert_int_equal(info(s.b, p.afd).state, US_TCP_ESTABLISHED);
	/* 2. SYN on an established connection: a challenge ACK, no reset. */
	inject(&s, aport, 4600, TCP_SYN, guess, 0, NULL);
	sim_run(&s, MS(10));
	assert_int_equal(info(s.b, p.afd).state, US_TCP_ESTABLISHED);
	assert_int_equal(stb->tcpext.TCPSYNChallenge, 1);
	assert_int_equal(stb->tcpext.TCPChallengeACK, acks0 + 1);
	/* The connection still carries data both ways. */
	assert_int_equal(us_send(s.a, p.cfd, "ok", 2, 0), 2);
	sim_run(&s, MS(100));
	char buf[4];
	assert_int_equal(us_recv(s.b, p.afd, buf, sizeof(buf), 0), 2);
	/* 3. An ACK for data never sent is dropped and answered with an ACK. */
	inject(&s, aport, 4600, TCP_ACK, guess, 0x7fffffff, "evil");
	sim_run(&s, MS(10));
	assert_int_equal(us_recv(s.b, p.afd, buf, sizeof(buf), 0), -EAGAIN);   /* nothing injected got in */
	assert_int_equal(info(s.b, p.afd).state, US_TCP_ESTABLISHED);
	sim_tcp_close(&p);
	finish(&s);
}

/* Found by fuzz_stack: a FIN forged in a's name, exactly in sequence, made
 * b acknowledge a sequence number a never sent; a answered that ACK with
 * its own (acknowledging less than b had), b answered that as out of
 * window, and so on for ever at the same instant. Pure ACKs answering
 * unacceptable segments are now limited per connection (as Linux's
 * tcp_invalid_ratelimit), so the exchange dies out. */
static void test_no_ack_loop(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	struct sim_pair p;
	assert_int_equal(sim_tcp_connect(&s, &p, 4700), 0);
	uint16_t aport = info(s.b, p.afd).rport;
	struct us_addr la = addr_from_v4(sim_ip(SIM_A)), ra = addr_from_v4(sim_ip(SIM_B));
	struct tcp_conn *ca = tcp_lookup(s.a, &la, aport, &ra, 4700);
	assert_non_null(ca);
	const struct us_stats *sa = us_stack_stats(s.a), *sb = us_stack_stats(s.b);
	uint64_t a0 = sa->tcp.OutSegs, b0 = sb->tcp.OutSegs;
	inject(&s, aport, 4700, TCP_FIN | TCP_ACK, ca->snd_nxt, ca->rcv_nxt, NULL);
	/* Many passes at one instant: whatever they send each other must stop. */
	for (int i = 0; i < 1000; i++) {
		us_stack_input(s.a, s.now);
		us_stack_input(s.b, s.now);
	}
	assert_true(sa->tcp.OutSegs - a0 <= 4);
	assert_true(sb->tcp.OutSegs - b0 <= 4);
	assert_true(sa->tcpext.TCPACKSkippedSeq + sb->tcpext.TCPACKSkippedSeq >= 1);
	/* Not rate limited for ever: half a second on, the stacks still talk. */
	sim_run(&s, SEC(1));
	assert_int_equal(us_send(s.a, p.cfd, "ok", 2, 0), 2);
	sim_run(&s, MS(100));
	sim_tcp_close(&p);
	finish(&s);
}

static void test_memory_budget(void **state)
{
	(void)state;
	/* 64 KiB rings each way: 128 KiB a connection. tcp_mem_max (the older
	 * name of mem_max) is the budget (7/8 of it for rings): two connections
	 * get full rings, the third finds too little left and is refused,
	 * counted (test_tproxy.c covers the shrinking in between). */
	struct sim_opts o = {0};
	o.cfg.tcp_rmem = 65536;
	o.cfg.tcp_wmem = 65536;
	o.cfg.tcp_mem_max = 300 << 10;
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	int lfd = us_socket(s.b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = sim_addr("0.0.0.0", 4700), to = sim_addr(SIM_B, 4700);
	us_bind(s.b, lfd, (struct sockaddr *)&la, sizeof(la));
	us_listen(s.b, lfd, 16);
	int fds[4];
	for (int i = 0; i < 3; i++) {
		fds[i] = us_socket(s.a, AF_INET, SOCK_STREAM, 0);
		int rc = us_connect(s.a, fds[i], (struct sockaddr *)&to, sizeof(to));
		assert_int_equal(rc, i < 2 ? -EINPROGRESS : -ENOBUFS);
	}
	sim_run(&s, SEC(1));
	assert_true(us_stack_tcp_mem(s.a) <= 300u << 10);
	assert_true(us_stack_stats(s.a)->tcpext.TCPMemoryPressures >= 1);
	for (int i = 0; i < 3; i++)
		us_close(s.a, fds[i]);
	int a1, a2;
	a1 = us_accept(s.b, lfd, NULL, NULL);
	a2 = us_accept(s.b, lfd, NULL, NULL);
	assert_true(a1 >= 0 && a2 >= 0);
	us_close(s.b, a1);
	us_close(s.b, a2);
	us_close(s.b, lfd);
	sim_run(&s, SEC(200));
	assert_int_equal(us_stack_tcp_mem(s.a), 0);
	assert_int_equal(us_stack_tcp_mem(s.b), 0);
	finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simultaneous_open),
		cmocka_unit_test(test_zero_window_probe),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_retransmit_timeout),
		cmocka_unit_test(test_time_wait),
		cmocka_unit_test(test_fin_sent_once),
		cmocka_unit_test(test_syn_cookies),
		cmocka_unit_test(test_rfc5961_blind_attacks),
		cmocka_unit_test(test_no_ack_loop),
		cmocka_unit_test(test_memory_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
