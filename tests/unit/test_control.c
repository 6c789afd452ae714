/* Unit tests for the control socket's pure parts (apps/control_fmt.c):
 * --metrics addresses, Prometheus names (every stack counter's valid and
 * distinct) and escaping, ss's states, filter and lines, the parser of a
 * "counters" answer (hostile lines refused), and rates across a reset. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../apps/control.h"

static void parse_addr(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	assert_int_equal(app_ctl_parse_addr("127.0.0.1:9464", &ss, &len), 0);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(a4->sin_port), 9464);
	assert_int_equal(ntohl(a4->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(app_ctl_parse_addr(":80", &ss, &len), 0);
	assert_int_equal(a4->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(app_ctl_parse_addr("*:65535", &ss, &len), 0);
	assert_int_equal(ntohs(a4->sin_port), 65535);
	assert_int_equal(app_ctl_parse_addr("[::1]:9464", &ss, &len), 0);
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(a6->sin6_port), 9464);
	assert_true(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));
	assert_int_equal(app_ctl_parse_addr("[::]:1", &ss, &len), 0);
	static const char *const bad[] = {
		"",          "9464",          "127.0.0.1",      "127.0.0.1:",     "127.0.0.1:0",    "127.0.0.1:65536",
		"1.2.3:80",  "1.2.3.4:80x",   "1.2.3.4:-80",    "1.2.3.4: 80",    "::1:80",         "[::1]80",
		"[::1]:",    "[::1:80",       "[1.2.3.4]:80",   "[::1]:99999",    "host:80",        "1.2.3.4:+80",
		"[]:80",     "256.1.1.1:80",  "1.2.3.4:80:80",  "[::1]:80]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (app_ctl_parse_addr(bad[i], &ss, &len) == 0)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(app_ctl_parse_addr(NULL, &ss, &len), -1);
}

static void metric_names(void **state)
{
	(void)state;
	char b[128];
	static const struct {
		const char *g, *n;
		int kind;
		const char *want;
	} cases[] = {
		{"Tcp", "InSegs", APP_CTL_COUNTER, "ustack_tcp_in_segs_total"},
		{"Ip", "InReceives", APP_CTL_COUNTER, "ustack_ip_in_receives_total"},
		{"TcpExt", "TCPChallengeACK", APP_CTL_COUNTER, "ustack_tcp_ext_tcp_challenge_ack_total"},
		{"TcpExt", "TCPACKSkippedSeq", APP_CTL_COUNTER, "ustack_tcp_ext_tcp_ack_skipped_seq_total"},
		{"TcpExt", "PAWSEstab", APP_CTL_COUNTER, "ustack_tcp_ext_paws_estab_total"},
		{"Icmp", "InCsumErrors", APP_CTL_COUNTER, "ustack_icmp_in_csum_errors_total"},
		{"Ip", "ReasmOKs", APP_CTL_COUNTER, "ustack_ip_reasm_oks_total"},
		{"TcpExt", "TCPDSACKRecv", APP_CTL_COUNTER, "ustack_tcp_ext_tcp_dsack_recv_total"},
		{"TcpExt", "TCPOFOQueue", APP_CTL_COUNTER, "ustack_tcp_ext_tcp_ofo_queue_total"},
		{"TcpExt", "TCPTimeouts", APP_CTL_COUNTER, "ustack_tcp_ext_tcp_timeouts_total"},
		{"Tcp", "CurrEstab", APP_CTL_GAUGE, "ustack_tcp_curr_estab"},
		{"Mem", "UsedBytes", APP_CTL_GAUGE, "ustack_mem_used_bytes"},
		{"Tunnel", "RxAuthFail", APP_CTL_COUNTER, "ustack_tunnel_rx_auth_fail_total"},
		{"Relay", "IcmpEchoForwarded", APP_CTL_COUNTER, "ustack_relay_icmp_echo_forwarded_total"},
		{"Tunnel", "Peers", APP_CTL_GAUGE, "ustack_tunnel_peers"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = app_ctl_metric_name(cases[i].g, cases[i].n, cases[i].kind, b, sizeof(b));
		assert_string_equal(b, cases[i].want);
		assert_int_equal(n, (int)strlen(cases[i].want));
	}
	/* too small a buffer: refused, never overrun */
	char small[40];
	memset(small, 'x', sizeof(small));
	assert_int_equal(app_ctl_metric_name("TcpExt", "TCPChallengeACKLimited", APP_CTL_COUNTER, small, 20), -1);
	assert_int_equal(small[20], 'x');
	for (size_t cap = 0; cap <= 30; cap++) {
		char t[64];
		memset(t, 'x', sizeof(t));
		int n = app_ctl_metric_name("Tcp", "InSegs", APP_CTL_COUNTER, t, cap);
		for (size_t k = cap; k < sizeof(t); k++)
			assert_int_equal(t[k], 'x');
		if (n >= 0) {
			assert_true((size_t)n < cap);
			assert_string_equal(t, "ustack_tcp_in_segs_total");
		} else {
			assert_true(cap <= strlen("ustack_tcp_in_segs_total"));
		}
	}
}

struct names {
	int n;
	char name[512][128];
};

static void collect(const char *group, const char *name, uint64_t v, const char *desc, void *arg)
{
	(void)v;
	(void)desc;
	struct names *s = arg;
	assert_true(s->n < 512);
	int kind = !strcmp(group, "Tcp") && !strcmp(name, "CurrEstab") ? APP_CTL_GAUGE : APP_CTL_COUNTER;
	assert_true(app_ctl_metric_name(group, name, kind, s->name[s->n], sizeof(s->name[0])) > 0);
	s->n++;
}

static int valid_metric_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == ':'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == ':'))
			return 0;
	return 1;
}

static void every_stack_counter_named(void **state)
{
	(void)state;
	static struct names s;
	memset(&s, 0, sizeof(s));
	us_stats_foreach_desc(NULL, collect, &s);
	assert_true(s.n > 100);
	for (int i = 0; i < s.n; i++) {
		if (!valid_metric_name(s.name[i]) || strstr(s.name[i], "__"))
			fail_msg("bad metric name %s", s.name[i]);
		for (int k = 0; k < i; k++)
			if (!strcmp(s.name[i], s.name[k]))
				fail_msg("two counters are both %s", s.name[i]);
	}
}

static void escaping(void **state)
{
	(void)state;
	char b[64];
	assert_int_equal(app_ctl_label_escape("ustap0", b, sizeof(b)), 6);
	assert_string_equal(b, "ustap0");
	app_ctl_label_escape("a\"b\\c\nd", b, sizeof(b));
	assert_string_equal(b, "a\\\"b\\\\c\\nd");
	app_ctl_help_escape("a\"b\\c\nd", b, sizeof(b));
	assert_string_equal(b, "a\"b\\\\c\\nd");
	/* exactly full and one short */
	assert_int_equal(app_ctl_label_escape("abc", b, 4), 3);
	assert_int_equal(app_ctl_label_escape("abc", b, 3), -1);
	assert_int_equal(app_ctl_label_escape("a\\", b, 3), -1);
	assert_int_equal(app_ctl_label_escape("a\\", b, 4), 3);
	assert_int_equal(app_ctl_label_escape("", b, 1), 0);
	assert_int_equal(app_ctl_label_escape("", b, 0), -1);
}

static void ss_states_and_filter(void **state)
{
	(void)state;
	assert_string_equal(app_ctl_ss_state(US_TCP_ESTABLISHED), "ESTAB");
	assert_string_equal(app_ctl_ss_state(US_TCP_SYN_RECEIVED), "SYN-RECV");
	assert_string_equal(app_ctl_ss_state(US_TCP_TIME_WAIT), "TIME-WAIT");
	assert_string_equal(app_ctl_ss_state(US_TCP_LISTEN), "LISTEN");
	assert_string_equal(app_ctl_ss_state(-1), "UNKNOWN");
	assert_string_equal(app_ctl_ss_state(99), "UNKNOWN");
	for (int st = US_TCP_CLOSED; st <= US_TCP_TIME_WAIT; st++) {
		assert_int_equal(app_ctl_ss_wants(st, APP_CTL_SS_ALL), 1);
		assert_int_equal(app_ctl_ss_wants(st, APP_CTL_SS_LISTEN), st == US_TCP_LISTEN);
		int def = st != US_TCP_LISTEN && st != US_TCP_CLOSED && st != US_TCP_TIME_WAIT && st != US_TCP_SYN_RECEIVED;
		assert_int_equal(app_ctl_ss_wants(st, 0), def);
		assert_int_equal(app_ctl_ss_wants(st, APP_CTL_SS_INFO), def);
	}
}

static char *render(const struct us_tcp_info *i, unsigned flags)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	app_ctl_ss_line(i, flags, f);
	fclose(f);
	return buf;
}

static void ss_lines(void **state)
{
	(void)state;
	struct us_tcp_info i;
	memset(&i, 0, sizeof(i));
	i.state = US_TCP_ESTABLISHED;
	i.family = AF_INET;
	i.laddr = 0x0a000002;
	i.lport = 80;
	i.raddr = 0x0a000001;
	i.rport = 43210;
	i.rcv_queued = 5;
	i.snd_queued = 1000;
	i.snd_mss = 1448;
	i.rcv_mss = 1448;
	i.cwnd = 14480;
	i.ssthresh = UINT32_MAX;
	i.srtt_us = 1500;
	i.rttvar_us = 750;
	i.rto_us = 201000;
	i.total_retrans = 3;
	i.sack_ok = 1;
	strcpy(i.cc, "cubic");
	char *s = render(&i, 0);
	assert_string_equal(s, "ESTAB      5       1000    10.0.0.2:80                    10.0.0.1:43210\n");
	free(s);
	s = render(&i, APP_CTL_SS_INFO);
	assert_non_null(strstr(s, "\n\t cubic rto:201 rtt:1.500/0.750 mss:1448 rcvmss:1448 cwnd:10 bytes_acked:0"));
	assert_non_null(strstr(s, " retrans:0/3"));
	assert_non_null(strstr(s, " sack"));
	assert_null(strstr(s, "ssthresh"));   /* infinite: not shown, as ss */
	free(s);
	i.ssthresh = 7240;
	s = render(&i, APP_CTL_SS_INFO);
	assert_non_null(strstr(s, " ssthresh:5"));
	free(s);
	/* IPv6, and IPv4-mapped shown as IPv4 */
	i.family = AF_INET6;
	inet_pton(AF_INET6, "fd00::2", i.laddr6);
	inet_pton(AF_INET6, "::ffff:10.0.0.1", i.raddr6);
	s = render(&i, 0);
	assert_non_null(strstr(s, "[fd00::2]:80 "));
	assert_non_null(strstr(s, " 10.0.0.1:43210\n"));
	free(s);
	/* listeners: a dual-stack wildcard, an IPv4 one */
	memset(i.laddr6, 0, 16);
	i.state = US_TCP_LISTEN;
	s = render(&i, APP_CTL_SS_INFO);
	assert_non_null(strstr(s, "LISTEN"));
	assert_non_null(strstr(s, " *:80 "));
	assert_non_null(strstr(s, " *:*\n"));
	assert_null(strchr(s, '\t'));   /* no -i line for a listener */
	free(s);
	i.family = AF_INET;
	i.laddr = 0;
	s = render(&i, 0);
	assert_non_null(strstr(s, " 0.0.0.0:80 "));
	assert_non_null(strstr(s, " 0.0.0.0:*\n"));
	free(s);
}

static void parse_counter(void **state)
{
	(void)state;
	struct app_ctl_counter c;
	char l1[] = "counter Tcp.InSegs 12345 segments received, including those in error\n";
	assert_int_equal(app_ctl_parse_counter(l1, &c), 0);
	assert_string_equal(c.name, "Tcp.InSegs");
	assert_true(c.value == 12345);
	assert_int_equal(c.kind, APP_CTL_COUNTER);
	assert_string_equal(c.desc, "segments received, including those in error");
	char l2[] = "gauge Mem.UsedBytes 18446744073709551615 ";
	assert_int_equal(app_ctl_parse_counter(l2, &c), 0);
	assert_int_equal(c.kind, APP_CTL_GAUGE);
	assert_true(c.value == UINT64_MAX);
	assert_string_equal(c.desc, "");
	char l3[] = "counter Relay.TcpAccepted 0";
	assert_int_equal(app_ctl_parse_counter(l3, &c), 0);
	assert_true(c.value == 0);
	assert_string_equal(c.desc, "");
	static const char *const bad[] = {
		"", "counter", "counter ", "counter Tcp.InSegs", "counter Tcp.InSegs ", "counter TcpInSegs 1",
		"counter .InSegs x", "counter Tcp.InSegs -1", "counter Tcp.InSegs 12x", "counter Tcp.InSegs 18446744073709551616",
		"meter Tcp.InSegs 1", "# ustack serve on ustap0", "error: unknown request", "counter  Tcp.InSegs 1",
		"Counter Tcp.InSegs 1", "counter Tcp.InSegs +1", "counter Tcp.InSegs 0x10", "counter .InSegs 1", "counter Tcp. 1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[128];
		snprintf(line, sizeof(line), "%s", bad[i]);
		if (app_ctl_parse_counter(line, &c) == 0)
			fail_msg("'%s' parsed as a counter", bad[i]);
	}
}

static void rates(void **state)
{
	(void)state;
	assert_true(app_ctl_rate(100, 300, 2.0) == 100.0);
	assert_true(app_ctl_rate(5, 5, 1.0) == 0.0);
	assert_true(app_ctl_rate(1000, 40, 1.0) == 40.0);   /* reset: counted from 0 */
	assert_true(app_ctl_rate(0, 10, 0.0) == 0.0);
	assert_true(app_ctl_rate(0, 10, -1.0) == 0.0);
	assert_true(app_ctl_rate(0, UINT64_MAX, 1.0) > 1e19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_addr),
		cmocka_unit_test(metric_names),
		cmocka_unit_test(every_stack_counter_named),
		cmocka_unit_test(escaping),
		cmocka_unit_test(ss_states_and_filter),
		cmocka_unit_test(ss_lines),
		cmocka_unit_test(parse_counter),
		cmocka_unit_test(rates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
