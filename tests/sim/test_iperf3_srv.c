/* `serve --iperf3`'s server (apps/iperf3.c, compiled in here) on stack b of
 * the simulator, driven by a client on stack a that speaks the iperf3
 * control protocol with the stack's own sockets: hostile and odd clients
 * must not crash it. The sanitizer build (ASan) reports a use after free. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "../lib/sim.h"

#include "../../apps/iperf3.c"

#define IP3_PORT 5201
static const char cookie[IP3_COOKIE] = "abcdefghijklmnopqrstuvwxyz0123456789";

struct cli {
	struct sim *s;
	int fd;
	uint8_t got[64];
	size_t ngot;
};

static int cli_connected(void *arg)
{
	struct cli *c = arg;
	return sim_tcp_state(c->s->a, c->fd) == US_TCP_ESTABLISHED;
}

static void cli_open(struct sim *s, struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->fd = us_socket(s->a, AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	int one = 1;   /* iperf3 sets it too; no Nagle wait between messages */
	assert_int_equal(us_setsockopt(s->a, c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	struct sockaddr_in to = sim_addr(SIM_B, IP3_PORT);
	assert_int_equal(us_connect(s->a, c->fd, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	assert_true(sim_run_until(s, SEC(5), cli_connected, c));
	sim_run(s, MS(10));   /* the server accepts it */
}

static void cli_send(struct cli *c, const void *b, size_t n)
{
	assert_int_equal(us_send(c->s->a, c->fd, b, n, 0), (ssize_t)n);
}

/* Everything the server sent on c so far, appended to c->got. */
static void cli_read(struct cli *c)
{
	for (;;) {
		uint8_t b[4096];
		ssize_t n = us_recv(c->s->a, c->fd, b, sizeof(b), 0);
		if (n <= 0)
			return;
		for (ssize_t i = 0; i < n && c->ngot < sizeof(c->got); i++)
			c->got[c->ngot++] = b[i];
	}
}

static void cli_params(struct cli *ctl, const char *json)
{
	size_t n = strlen(json);
	uint8_t len[4] = {0, 0, (uint8_t)(n >> 8), (uint8_t)n};
	cli_send(ctl, len, 4);
	cli_send(ctl, json, n);
	sim_run(ctl->s, MS(10));
	cli_read(ctl);
}

/* A reverse test with two streams, the first of which sent its cookie and
 * its FIN together. Its end of stream is seen only when the test starts
 * (the cookie alone was read when it came), so the stream fails in the
 * middle of start_test()'s walk over the connections: the server freed it
 * and then followed its next pointer. It must drop that stream, start the
 * test on the other, and stay up for the next client. */
static void test_stream_fails_at_start(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	assert_true(svc_iperf3(s.b, IP3_PORT) >= 0);
	struct cli ctl, s1, s2;
	cli_open(&s, &ctl);
	cli_send(&ctl, cookie, IP3_COOKIE);
	sim_run(&s, MS(10));
	cli_read(&ctl);
	assert_int_equal(ctl.ngot, 1);
	assert_int_equal((int8_t)ctl.got[0], ST_PARAM_EXCHANGE);
	cli_params(&ctl, "{\"tcp\":true,\"reverse\":true,\"parallel\":2,\"len\":131072}");
	assert_int_equal(ctl.ngot, 2);
	assert_int_equal((int8_t)ctl.got[1], ST_CREATE_STREAMS);

	cli_open(&s, &s1);
	cli_send(&s1, cookie, IP3_COOKIE);
	assert_int_equal(us_shutdown(s.a, s1.fd, SHUT_WR), 0);
	sim_run(&s, MS(10));
	cli_open(&s, &s2);
	cli_send(&s2, cookie, IP3_COOKIE);
	sim_run(&s, MS(50));
	cli_read(&ctl);
	assert_int_equal(ctl.ngot, 4);
	assert_int_equal((int8_t)ctl.got[2], ST_TEST_START);
	assert_int_equal((int8_t)ctl.got[3], ST_TEST_RUNNING);
	/* The failed stream is gone: only the control and one stream left. */
	int n = 0;
	for (struct ip3_conn *c = the_srv->conns; c; c = c->next)
		n++;
	assert_int_equal(n, 2);
	/* The other stream carries the reverse test's data. */
	uint8_t b[4096];
	assert_true(us_recv(s.a, s2.fd, b, sizeof(b), 0) > 0);

	us_close(s.a, s1.fd);
	us_close(s.a, s2.fd);
	us_close(s.a, ctl.fd);
	sim_run(&s, SEC(1));
	/* The server is ready for a new test. */
	struct cli ctl2;
	cli_open(&s, &ctl2);
	cli_send(&ctl2, cookie, IP3_COOKIE);
	sim_run(&s, MS(10));
	cli_read(&ctl2);
	assert_int_equal(ctl2.ngot, 1);
	assert_int_equal((int8_t)ctl2.got[0], ST_PARAM_EXCHANGE);
	us_close(s.a, ctl2.fd);
	sim_run(&s, SEC(1));
	svc_iperf3_free(s.b);
	sim_run(&s, SEC(1));
	sim_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_fails_at_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
