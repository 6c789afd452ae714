/* An iperf3-compatible server on ustack's sockets (`ustack serve --iperf3 PORT`).
 *
 * The iperf3 control protocol, TCP tests only, one test at a time:
 *  - every connection first sends a 37-byte cookie (36 characters and a NUL);
 *    with no test running, the connection becomes the test's control
 *    connection; with a test waiting for its streams and the same cookie, it
 *    is a data stream; anything else gets ACCESS_DENIED and is closed;
 *  - the server drives the test with one-byte states on the control
 *    connection: PARAM_EXCHANGE, then reads the client's parameters (a 4-byte
 *    big-endian length and JSON), CREATE_STREAMS, and once `parallel`
 *    streams have connected TEST_START and TEST_RUNNING;
 *  - data flows client to server, or server to client with -R, until the
 *    client sends TEST_END; the server closes the streams (a client
 *    draining a reverse test reads to their end), answers EXCHANGE_RESULTS, reads the
 *    client's results, sends its own (length + JSON: CPU use, and per
 *    stream id, bytes, retransmits, times), then DISPLAY_RESULTS; the client
 *    ends with IPERF_DONE.
 * Stream ids follow iperf3's numbering (1, 3, 4, ...). UDP and
 * bidirectional tests are refused with SERVER_ERROR. Every length read from
 * the wire is checked against a fixed bound. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "app.h"

#include <netinet/tcp.h>

#define IP3_COOKIE 37
#define IP3_JSON_MAX 16384
#define IP3_MAX_STREAMS 128
#define IP3_BUF (128 * 1024)

enum {
	ST_TEST_START = 1, ST_TEST_RUNNING = 2, ST_TEST_END = 4, ST_PARAM_EXCHANGE = 9, ST_CREATE_STREAMS = 10,
	ST_SERVER_TERMINATE = 11, ST_CLIENT_TERMINATE = 12, ST_EXCHANGE_RESULTS = 13, ST_DISPLAY_RESULTS = 14,
	ST_IPERF_DONE = 16, ST_ACCESS_DENIED = -1, ST_SERVER_ERROR = -2,
};

/* What a connection is and where its reading stands. */
enum ip3_role { R_NEW, R_CONTROL, R_STREAM };
enum ip3_phase { P_COOKIE, P_PARAMS, P_WAIT_STREAMS, P_RUNNING, P_RESULTS, P_DISPLAYED, P_DEAD };

struct ip3_conn {
	struct ip3_srv *srv;
	int fd;
	enum ip3_role role;
	char cookie[IP3_COOKIE];
	size_t cookie_len;
	/* control: a length-prefixed JSON message being read */
	uint8_t lenbuf[4];
	size_t lenbuf_len;
	char *json;
	size_t json_len, json_want;
	/* output queued on this connection (control messages) */
	char out[IP3_JSON_MAX + 64];
	size_t out_len, out_off;
	/* stream */
	int id;
	uint64_t bytes;
	struct ip3_conn *next;   /* all connections of the server */
};

struct ip3_srv {
	struct us_stack *st;
	int listen_fd;
	struct ip3_conn *conns;
	/* the test */
	struct ip3_conn *ctl;
	enum ip3_phase phase;
	char cookie[IP3_COOKIE];
	int parallel, reverse, nstreams;
	/* each stream's figures, kept when the streams close at TEST_END */
	struct {
		int id;
		uint64_t bytes;
		long long retrans;
	} res[IP3_MAX_STREAMS];
	int nres;
	uint64_t t_start_ns, t_end_ns;
	struct rusage ru_start;
	unsigned tests_done;
};

static _Thread_local uint8_t ip3_data[IP3_BUF];   /* per thread: serve --queues */
static _Thread_local struct ip3_srv *the_srv;

static void conn_cb(struct us_stack *st, int s, unsigned events, void *arg);

static void conn_free(struct ip3_srv *srv, struct ip3_conn *c)
{
	us_close(srv->st, c->fd);
	for (struct ip3_conn **pp = &srv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	free(c->json);
	free(c);
}

/* Ends the current test: its control connection and every stream go. */
static void test_end(struct ip3_srv *srv)
{
	struct ip3_conn *c = srv->conns, *n;
	for (; c; c = n) {
		n = c->next;
		if (c->role != R_NEW)
			conn_free(srv, c);
	}
	srv->ctl = NULL;
	srv->phase = P_COOKIE;
	srv->nstreams = 0;
	srv->tests_done++;
}

/* Queue bytes on a connection and try to send them. Returns -1 if the
 * queue overflowed (cannot happen with the messages below). */
static int conn_put(struct ip3_conn *c, const void *p, size_t n)
{
	if (c->out_len + n > sizeof(c->out))
		return -1;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

static int conn_flush(struct ip3_srv *srv, struct ip3_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = us_send(srv->st, c->fd, c->out + c->out_off, c->out_len - c->out_off, 0);
		if (n == -EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static void put_state(struct ip3_conn *c, int state)
{
	int8_t b = (int8_t)state;
	conn_put(c, &b, 1);
}

static void put_json(struct ip3_conn *c, const char *json)
{
	size_t n = strlen(json);
	uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
	conn_put(c, len, 4);
	conn_put(c, json, n);
}

/* The value after "key": in a flat JSON object: 1 and *out set for a
 * number or true/false, 0 if absent. Good enough for iperf3's parameters,
 * which are a flat object; bounded by the message length. */
static int json_get(const char *json, const char *key, long *out)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	const char *p = strstr(json, pat);
	if (!p)
		return 0;
	p += strlen(pat);
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p++ != ':')
		return 0;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (!strncmp(p, "true", 4)) {
		*out = 1;
		return 1;
	}
	if (!strncmp(p, "false", 5)) {
		*out = 0;
		return 1;
	}
	char *end;
	errno = 0;
	long v = strtol(p, &end, 10);
	if (end == p || errno)
		return 0;
	*out = v;
	return 1;
}

static void server_error(struct ip3_srv *srv, struct ip3_conn *c, int code)
{
	put_state(c, ST_SERVER_ERROR);
	uint8_t v[8] = {0, 0, 0, (uint8_t)code, 0, 0, 0, (uint8_t)EPROTONOSUPPORT};
	conn_put(c, v, 8);
	conn_flush(srv, c);
	srv->phase = P_DEAD;
}

static void on_params(struct ip3_srv *srv, struct ip3_conn *c)
{
	long v = 0;
	if ((json_get(c->json, "udp", &v) && v) || (json_get(c->json, "sctp", &v) && v) ||
	    (json_get(c->json, "bidirectional", &v) && v)) {
		fprintf(stderr, "ustack: iperf3: only TCP tests one way are supported\n");
		server_error(srv, c, 9 /* IEPROTOCOL-like: unsupported */);
		return;
	}
	long par = 1;
	json_get(c->json, "parallel", &par);
	if (par < 1 || par > IP3_MAX_STREAMS) {
		server_error(srv, c, 9);
		return;
	}
	srv->parallel = (int)par;
	srv->reverse = json_get(c->json, "reverse", &v) && v;
	srv->nstreams = 0;
	srv->nres = 0;
	srv->phase = P_WAIT_STREAMS;
	put_state(c, ST_CREATE_STREAMS);
}

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6; }

static void send_results(struct ip3_srv *srv, struct ip3_conn *c)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double secs = (double)(srv->t_end_ns - srv->t_start_ns) * 1e-9;
	double u = tv_s(ru.ru_utime) - tv_s(srv->ru_start.ru_utime), sy = tv_s(ru.ru_stime) - tv_s(srv->ru_start.ru_stime);
	double pu = secs > 0 ? 100 * u / secs : 0, ps = secs > 0 ? 100 * sy / secs : 0;
	char buf[IP3_JSON_MAX], cc[16] = "cubic";
	socklen_t ccl = sizeof(cc) - 1;
	if (us_getsockopt(srv->st, c->fd, IPPROTO_TCP, TCP_CONGESTION, cc, &ccl) < 0)
		strcpy(cc, "unknown");
	cc[sizeof(cc) - 1] = 0;
	int n = snprintf(buf, sizeof(buf),
			 "{\"cpu_util_total\":%.4f,\"cpu_util_user\":%.4f,\"cpu_util_system\":%.4f,"
			 "\"sender_has_retransmits\":%d,\"congestion_used\":\"%s\",\"streams\":[",
			 pu + ps, pu, ps, srv->reverse ? 1 : 0, cc);
	for (int i = 0; i < srv->nres && n > 0 && (size_t)n < sizeof(buf) - 256; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      "%s{\"id\":%d,\"bytes\":%llu,\"retransmits\":%lld,\"jitter\":0,\"errors\":0,"
			      "\"packets\":0,\"start_time\":0,\"end_time\":%.6f}",
			      i ? "," : "", srv->res[i].id, (unsigned long long)srv->res[i].bytes, srv->res[i].retrans, secs);
	if (n > 0 && (size_t)n < sizeof(buf) - 4)
		snprintf(buf + n, sizeof(buf) - (size_t)n, "]}");
	put_json(c, buf);
	put_state(c, ST_DISPLAY_RESULTS);
	srv->phase = P_DISPLAYED;
}

/* Reads a length-prefixed JSON message; 1 when complete, 0 for more, -1 bad. */
static int read_json(struct ip3_srv *srv, struct ip3_conn *c)
{
	while (c->lenbuf_len < 4) {
		ssize_t n = us_recv(srv->st, c->fd, c->lenbuf + c->lenbuf_len, 4 - c->lenbuf_len, 0);
		if (n == -EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->lenbuf_len += (size_t)n;
		if (c->lenbuf_len == 4) {
			c->json_want = (size_t)c->lenbuf[0] << 24 | (size_t)c->lenbuf[1] << 16 | (size_t)c->lenbuf[2] << 8 |
				       c->lenbuf[3];
			if (c->json_want == 0 || c->json_want > IP3_JSON_MAX)
				return -1;
			c->json = malloc(c->json_want + 1);
			if (!c->json)
				return -1;
			c->json_len = 0;
		}
	}
	while (c->json_len < c->json_want) {
		ssize_t n = us_recv(srv->st, c->fd, c->json + c->json_len, c->json_want - c->json_len, 0);
		if (n == -EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->json_len += (size_t)n;
	}
	c->json[c->json_len] = 0;
	return 1;
}

static void json_done(struct ip3_conn *c)
{
	free(c->json);
	c->json = NULL;
	c->lenbuf_len = c->json_len = c->json_want = 0;
}

static void start_test(struct ip3_srv *srv)
{
	srv->phase = P_RUNNING;
	srv->t_start_ns = us_now_ns();
	getrusage(RUSAGE_SELF, &srv->ru_start);
	put_state(srv->ctl, ST_TEST_START);
	put_state(srv->ctl, ST_TEST_RUNNING);
	conn_flush(srv, srv->ctl);
	if (srv->reverse)   /* the streams start sending on their next wakeup */
		for (struct ip3_conn *s = srv->conns, *nx; s; s = nx) {
			nx = s->next;   /* conn_cb frees s if its stream failed */
			if (s->role == R_STREAM)
				conn_cb(srv->st, s->fd, US_POLLOUT, s);
		}
}

/* At TEST_END the streams' figures are kept and the streams closed, as
 * iperf3's own server does: a client draining a reverse test reads until
 * the end of the stream. */
static void close_streams(struct ip3_srv *srv)
{
	srv->nres = 0;
	struct ip3_conn *c = srv->conns, *n;
	for (; c; c = n) {
		n = c->next;
		if (c->role != R_STREAM)
			continue;
		if (srv->nres < IP3_MAX_STREAMS) {
			long long retrans = -1;
			if (srv->reverse) {
				struct us_tcp_info ti;
				socklen_t tl = sizeof(ti);
				if (us_getsockopt(srv->st, c->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0)
					retrans = (long long)ti.total_retrans;
			}
			srv->res[srv->nres].id = c->id;
			srv->res[srv->nres].bytes = c->bytes;
			srv->res[srv->nres].retrans = retrans;
			srv->nres++;
		}
		conn_free(srv, c);
	}
}

/* Control connection input. Returns -1 when the test is over. */
static int control_step(struct ip3_srv *srv, struct ip3_conn *c)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		if (conn_flush(srv, c) < 0)
			return -1;
		if (srv->phase == P_DEAD)
			return c->out_len ? 0 : -1;
		if (srv->phase == P_PARAMS) {
			int r = read_json(srv, c);
			if (r <= 0)
				return r;
			on_params(srv, c);
			json_done(c);
			continue;
		}
		if (srv->phase == P_RESULTS) {
			int r = read_json(srv, c);   /* the client's results: read, not needed */
			if (r <= 0)
				return r;
			json_done(c);
			send_results(srv, c);
			continue;
		}
		int8_t state;
		ssize_t n = us_recv(srv->st, c->fd, &state, 1, 0);
		if (n == -EAGAIN)
			return 0;
		if (n <= 0)
			return -1;   /* the client went away */
		switch (state) {
		case ST_TEST_END:
			if (srv->phase != P_RUNNING && srv->phase != P_WAIT_STREAMS)
				return -1;
			srv->t_end_ns = us_now_ns();
			srv->phase = P_RESULTS;
			close_streams(srv);
			put_state(c, ST_EXCHANGE_RESULTS);
			break;
		case ST_IPERF_DONE:
		case ST_CLIENT_TERMINATE:
			return -1;
		default:
			return -1;   /* anything else is a protocol error */
		}
	}
	return 0;
}

static int stream_step(struct ip3_srv *srv, struct ip3_conn *c, unsigned events)
{
	if (srv->reverse) {
		if (srv->phase == P_RUNNING && (events & US_POLLOUT)) {
			for (int i = 0; i < 64; i++) {
				ssize_t n = us_send(srv->st, c->fd, ip3_data, sizeof(ip3_data), 0);
				if (n == -EAGAIN)
					break;
				if (n <= 0)
					return -1;
				c->bytes += (uint64_t)n;
			}
		}
	}
	for (int i = 0; i < 256; i++) {
		ssize_t n = us_recv(srv->st, c->fd, ip3_data, sizeof(ip3_data), 0);
		if (n == -EAGAIN)
			break;
		if (n <= 0)
			return -1;
		if (!srv->reverse && srv->phase == P_RUNNING)
			c->bytes += (uint64_t)n;
	}
	return 0;
}

/* A new connection's cookie decides what it is. */
static int new_step(struct ip3_srv *srv, struct ip3_conn *c)
{
	while (c->cookie_len < IP3_COOKIE) {
		ssize_t n = us_recv(srv->st, c->fd, c->cookie + c->cookie_len, IP3_COOKIE - c->cookie_len, 0);
		if (n == -EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->cookie_len += (size_t)n;
	}
	if (!srv->ctl) {
		c->role = R_CONTROL;
		srv->ctl = c;
		memcpy(srv->cookie, c->cookie, IP3_COOKIE);
		srv->phase = P_PARAMS;
		put_state(c, ST_PARAM_EXCHANGE);
		return control_step(srv, c);
	}
	if (srv->phase == P_WAIT_STREAMS && !memcmp(c->cookie, srv->cookie, IP3_COOKIE) && srv->nstreams < srv->parallel) {
		c->role = R_STREAM;
		c->id = srv->nstreams == 0 ? 1 : srv->nstreams + 2;
		srv->nstreams++;
		if (srv->nstreams == srv->parallel)
			start_test(srv);
		return 0;
	}
	put_state(c, ST_ACCESS_DENIED);
	conn_flush(srv, c);
	return -1;
}

static void conn_cb(struct us_stack *st, int s, unsigned events, void *arg)
{
	struct ip3_conn *c = arg;
	struct ip3_srv *srv = c->srv;
	(void)st;
	(void)s;
	int r;
	if (events & US_POLLERR)
		r = -1;
	else if (c->role == R_NEW)
		r = new_step(srv, c);
	else if (c->role == R_CONTROL)
		r = control_step(srv, c);
	else
		r = stream_step(srv, c, events);
	if (r < 0) {
		if (c->role == R_CONTROL)
			test_end(srv);   /* frees c too */
		else
			conn_free(srv, c);
	}
}

static void listen_cb(struct us_stack *st, int ls, unsigned events, void *arg)
{
	struct ip3_srv *srv = arg;
	if (!(events & US_POLLIN))
		return;
	for (int i = 0; i < 64; i++) {
		int s = us_accept(st, ls, NULL, NULL);
		if (s < 0)
			break;
		struct ip3_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			us_close(st, s);
			continue;
		}
		c->srv = srv;
		c->fd = s;
		c->next = srv->conns;
		srv->conns = c;
		int one = 1;
		us_setsockopt(st, s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		us_sock_set_callback(st, s, conn_cb, c);
	}
}

int svc_iperf3(struct us_stack *st, uint16_t port)
{
	if (the_srv)
		return -EBUSY;
	struct ip3_srv *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->st = st;
	memset(ip3_data, 'i', sizeof(ip3_data));
	int s = us_socket(st, AF_INET6, SOCK_STREAM, 0);
	if (s < 0) {
		free(srv);
		return s;
	}
	int one = 1;
	us_setsockopt(st, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::]: both families (a dual-stack socket, as Linux without V6ONLY). */
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	int rc = us_bind(st, s, (struct sockaddr *)&a, sizeof(a));
	if (rc == 0)
		rc = us_listen(st, s, 64);
	if (rc < 0) {
		us_close(st, s);
		free(srv);
		return rc;
	}
	srv->listen_fd = s;
	us_sock_set_callback(st, s, listen_cb, srv);
	the_srv = srv;
	return s;
}

void svc_iperf3_free(struct us_stack *st)
{
	struct ip3_srv *srv = the_srv;
	(void)st;
	if (!srv)
		return;
	while (srv->conns)
		conn_free(srv, srv->conns);
	us_close(srv->st, srv->listen_fd);
	free(srv);
	the_srv = NULL;
}
