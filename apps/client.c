/* ustack get / ustack send: clients that run over ustack on a TAP or TUN
 * device toward a server on the kernel's side. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "app.h"

struct client {
	struct us_loop *loop;
	int s;
	int connected, failed, done;
	/* get */
	char req[1024];
	size_t req_len, req_off;
	char hdr[16384];
	size_t hdr_len;
	int in_body, chunked;
	int64_t content_length;   /* -1: until close */
	uint64_t body;
	int status;
	FILE *out;
	/* chunked decoding */
	uint64_t chunk_left;
	char chunk_line[64];
	size_t chunk_line_len;
	int chunk_trailer;
	/* send */
	uint8_t buf[65536];
	size_t len, off;
	int eof_in;
	uint64_t sent, echoed;
	uint64_t start_ns;
};

/* A literal address of either family into a socket address. */
static int parse_host(const char *h, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

static int parse_url(const char *url, struct sockaddr_storage *ss, socklen_t *sl, char *host, size_t hl, char *path,
		     size_t pl)
{
	if (strncmp(url, "http://", 7))
		return -1;
	const char *h = url + 7, *slash = strchr(h, '/');
	size_t n = slash ? (size_t)(slash - h) : strlen(h);
	if (!n || n >= hl)
		return -1;
	memcpy(host, h, n);
	host[n] = 0;
	snprintf(path, pl, "%s", slash ? slash : "/");
	uint16_t port = 80;
	char hostonly[256];
	snprintf(hostonly, sizeof(hostonly), "%s", host);
	char *addr = hostonly, *colon;
	if (hostonly[0] == '[') {
		/* RFC 3986 3.2.2: an IPv6 literal in brackets. */
		char *close = strchr(hostonly, ']');
		if (!close)
			return -1;
		*close = 0;
		addr = hostonly + 1;
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon)
			return -1;
	} else {
		colon = strchr(hostonly, ':');
		if (colon)
			*colon = 0;
	}
	if (colon && app_parse_port(colon + 1, &port) < 0)
		return -1;
	return parse_host(addr, port, ss, sl);   /* literal addresses only: no resolver yet */
}

/* Body bytes for the user, after chunked decoding if any. */
static void body_bytes(struct client *c, const char *p, size_t n)
{
	if (!c->chunked) {
		fwrite(p, 1, n, c->out);
		c->body += n;
		if (c->content_length >= 0 && (int64_t)c->body >= c->content_length)
			c->done = 1;
		return;
	}
	while (n && !c->done) {
		if (c->chunk_left) {
			size_t k = (size_t)APP_MIN((uint64_t)n, c->chunk_left);
			fwrite(p, 1, k, c->out);
			c->body += k;
			c->chunk_left -= k;
			p += k;
			n -= k;
			if (!c->chunk_left)
				c->chunk_trailer = 2;   /* CRLF after the data */
			continue;
		}
		if (c->chunk_trailer) {
			c->chunk_trailer--;
			p++;
			n--;
			continue;
		}
		char ch = *p++;
		n--;
		if (ch == '\n') {
			c->chunk_line[c->chunk_line_len] = 0;
			c->chunk_left = strtoull(c->chunk_line, NULL, 16);
			c->chunk_line_len = 0;
			if (!c->chunk_left)
				c->done = 1;
		} else if (c->chunk_line_len + 1 < sizeof(c->chunk_line)) {
			c->chunk_line[c->chunk_line_len++] = ch;
		}
	}
}

static void header_done(struct client *c)
{
	c->hdr[c->hdr_len] = 0;
	char *end = strstr(c->hdr, "\r\n\r\n");
	size_t hl = (size_t)(end - c->hdr) + 4;
	*end = 0;
	if (sscanf(c->hdr, "HTTP/%*d.%*d %d", &c->status) != 1)
		c->status = 0;
	c->content_length = -1;
	for (char *line = strstr(c->hdr, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		char *l = line + 2;
		if (!strncasecmp(l, "content-length:", 15))
			c->content_length = strtoll(l + 15, NULL, 10);
		if (!strncasecmp(l, "transfer-encoding:", 18) && strcasestr(l, "chunked"))
			c->chunked = 1;
	}
	c->in_body = 1;
	size_t rest = c->hdr_len - hl;
	if (c->content_length == 0)
		c->done = 1;
	if (rest)
		body_bytes(c, c->hdr + hl, rest);
}

/* The non-blocking connect's outcome: 1 once connected; on failure, says
 * why and stops the loop. */
static int connected(struct us_stack *st, int s, unsigned ev, struct client *c, const char *cmd)
{
	if (c->connected)
		return 1;
	int err = 0;
	socklen_t el = sizeof(err);
	int rc = us_getsockopt(st, s, SOL_SOCKET, SO_ERROR, &err, &el);
	if (rc < 0)
		err = -rc;
	if (err) {
		fprintf(stderr, "ustack %s: connect failed: %s\n", cmd, strerror(err));
		c->failed = 1;
		us_loop_stop(c->loop);
		return 0;
	}
	if (!(ev & US_POLLOUT))
		return 0;
	c->connected = 1;
	return 1;
}

static void get_cb(struct us_stack *st, int s, unsigned ev, void *arg)
{
	struct client *c = arg;
	if (!connected(st, s, ev, c, "get"))
		return;
	while (c->req_off < c->req_len) {
		ssize_t n = us_send(st, s, c->req + c->req_off, c->req_len - c->req_off, 0);
		if (n <= 0)
			break;
		c->req_off += (size_t)n;
	}
	char buf[65536];
	for (int i = 0; i < 256 && !c->done; i++) {
		ssize_t n;
		if (!c->in_body) {
			n = us_recv(st, s, c->hdr + c->hdr_len, sizeof(c->hdr) - 1 - c->hdr_len, 0);
			if (n > 0) {
				c->hdr_len += (size_t)n;
				c->hdr[c->hdr_len] = 0;
				if (strstr(c->hdr, "\r\n\r\n"))
					header_done(c);
				else if (c->hdr_len >= sizeof(c->hdr) - 1) {
					fprintf(stderr, "ustack get: response header too large\n");
					c->failed = 1;
					break;
				}
				continue;
			}
		} else {
			n = us_recv(st, s, buf, sizeof(buf), 0);
			if (n > 0) {
				body_bytes(c, buf, (size_t)n);
				continue;
			}
		}
		if (n == -EAGAIN)
			return;
		if (n == 0 && c->in_body && c->content_length < 0 && !c->chunked)
			c->done = 1;   /* delimited by close */
		else if (!c->done) {
			fprintf(stderr, "ustack get: connection ended early: %s\n", n ? strerror((int)-n) : "closed");
			c->failed = 1;
		}
		break;
	}
	us_loop_stop(c->loop);
}

static void send_cb(struct us_stack *st, int s, unsigned ev, void *arg)
{
	struct client *c = arg;
	if (!connected(st, s, ev, c, "send"))
		return;
	for (int i = 0; i < 256; i++) {
		if (c->off == c->len && !c->eof_in) {
			ssize_t r = read(STDIN_FILENO, c->buf, sizeof(c->buf));
			if (r <= 0) {
				c->eof_in = 1;
				us_shutdown(st, s, SHUT_WR);
				break;
			}
			c->len = (size_t)r;
			c->off = 0;
		}
		if (c->off == c->len)
			break;
		ssize_t n = us_send(st, s, c->buf + c->off, c->len - c->off, 0);
		if (n <= 0)
			break;
		c->off += (size_t)n;
		c->sent += (uint64_t)n;
	}
	/* Whatever the server sends back (echo) goes to stdout. */
	char buf[65536];
	for (int i = 0; i < 256; i++) {
		ssize_t n = us_recv(st, s, buf, sizeof(buf), 0);
		if (n > 0) {
			fwrite(buf, 1, (size_t)n, stdout);
			c->echoed += (uint64_t)n;
			continue;
		}
		if (n == 0) {
			c->done = 1;
			us_loop_stop(c->loop);
		} else if (n != -EAGAIN) {
			fprintf(stderr, "ustack send: %s\n", strerror((int)-n));
			c->failed = 1;
			us_loop_stop(c->loop);
		}
		break;
	}
}

static void on_sig(struct us_loop *l, int fd, unsigned ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	us_loop_stop(l);
}

static int run_client(int argc, char **argv, int is_get)
{
	static const struct option opts[] = {
		APP_NET_LONGOPTS,
		{"output", required_argument, 0, 'o'}, {"timeout", required_argument, 0, 't'},
		{"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
	};
	const char *name = is_get ? "get" : "send";
	struct app_net n;
	memset(&n, 0, sizeof(n));
	const char *outpath = NULL;
	int has_ip = 0, timeout_s = 60, ch;
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': outpath = optarg; break;
		case 't': timeout_s = atoi(optarg); break;
		case 'h':
			printf(is_get ? "usage: ustack get (--tap NAME | --tun NAME) --ip ADDR/PREFIX... [--host-ip ADDR/PREFIX]...\n"
					"                  [--gateway ADDR] [--mtu N] [--pcap FILE] [--busy-poll USEC] [-o FILE] [--timeout S] URL\n\n"
					"Fetches URL (http://IPV4[:PORT]/PATH) over ustack and writes the body to FILE or stdout;\n"
					"a summary goes to stderr. Exits 0 on a 2xx response.\n"
				      : "usage: ustack send (--tap NAME | --tun NAME) --ip ADDR/PREFIX [--host-ip ADDR/PREFIX]\n"
					"                   [--gateway ADDR] [--mtu N] [--pcap FILE] [--busy-poll USEC] [--timeout S] HOST PORT < FILE\n\n"
					"Streams standard input to HOST:PORT over ustack, half-closes, and copies whatever the\n"
					"server sends back to standard output until it closes. A summary goes to stderr.\n");
			return 0;
		default:
			if (!app_net_option(ch, optarg, &n, &has_ip))
				app_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	app_net_check(&n, has_ip);
	struct sockaddr_storage to;
	socklen_t tolen = 0;
	uint16_t port = 0;
	struct client c;
	memset(&c, 0, sizeof(c));
	if (is_get) {
		if (optind + 1 != argc)
			app_usage_error("%s wants one URL", name);
		char host[256], path[2048];
		if (parse_url(argv[optind], &to, &tolen, host, sizeof(host), path, sizeof(path)) < 0)
			app_usage_error("URL must be http://IPV4[:PORT]/PATH or http://[IPV6][:PORT]/PATH, got '%s'",
					argv[optind]);
		int rl = snprintf(c.req, sizeof(c.req),
				  "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ustack\r\nConnection: close\r\n\r\n", path, host);
		if (rl < 0 || (size_t)rl >= sizeof(c.req))
			app_usage_error("URL too long");
		c.req_len = (size_t)rl;
		c.out = outpath ? fopen(outpath, "wb") : stdout;
		if (!c.out) {
			fprintf(stderr, "ustack get: cannot write %s: %s\n", outpath, strerror(errno));
			return 1;
		}
	} else {
		if (optind + 2 != argc)
			app_usage_error("send wants HOST PORT");
		if (app_parse_port(argv[optind + 1], &port) < 0 || parse_host(argv[optind], port, &to, &tolen) < 0)
			app_usage_error("send wants a HOST (an IPv4 or IPv6 address) and a PORT");
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	struct app_stack a;
	if (app_stack_open(&n, &a) < 0)
		return 1;
	c.loop = app_loop_new(&n, a.st);
	if (!c.loop) {
		app_stack_close(&a);
		return 1;
	}
	if (sfd >= 0)
		us_loop_add_fd(c.loop, sfd, 0x001, on_sig, NULL);
	c.s = us_socket(a.st, to.ss_family, SOCK_STREAM, 0);
	c.start_ns = us_now_ns();
	int rc = us_connect(a.st, c.s, (struct sockaddr *)&to, tolen);
	/* A new IPv6 address is tentative until DAD is done (about a second,
	 * RFC 4862 5.4): no source to connect from yet. Let the stack run. */
	for (int i = 0; rc == -ENETUNREACH && to.ss_family == AF_INET6 && i < 40; i++) {
		us_loop_run(c.loop, 100);
		rc = us_connect(a.st, c.s, (struct sockaddr *)&to, tolen);
	}
	if (rc != -EINPROGRESS && rc != 0) {
		fprintf(stderr, "ustack %s: connect: %s\n", name, strerror(-rc));
		app_stack_close(&a);
		return 1;
	}
	us_sock_set_callback(a.st, c.s, is_get ? get_cb : send_cb, &c);
	us_loop_run(c.loop, timeout_s * 1000);
	double secs = (us_now_ns() - c.start_ns) / 1e9;
	int ok;
	if (is_get) {
		if (c.out != stdout)
			fclose(c.out);
		else
			fflush(stdout);
		ok = c.done && !c.failed && c.status >= 200 && c.status < 300;
		fprintf(stderr, "ustack get: HTTP %d, %llu bytes in %.3f s (%.1f Mbit/s)%s\n", c.status,
			(unsigned long long)c.body, secs, c.body * 8 / (secs > 0 ? secs : 1) / 1e6,
			ok ? "" : (c.done ? "" : " (incomplete)"));
	} else {
		fflush(stdout);
		ok = c.done && !c.failed && c.eof_in;
		fprintf(stderr, "ustack send: %llu bytes sent, %llu received back in %.3f s%s\n", (unsigned long long)c.sent,
			(unsigned long long)c.echoed, secs, ok ? "" : " (incomplete)");
	}
	us_close(a.st, c.s);
	/* Let the FIN exchange finish before the device goes away. */
	us_loop_run(c.loop, 200);
	us_loop_free(c.loop);
	app_stack_close(&a);
	if (sfd >= 0)
		close(sfd);
	return ok ? 0 : 1;
}

int cmd_get(int argc, char **argv) { return run_client(argc, argv, 1); }
int cmd_send(int argc, char **argv) { return run_client(argc, argv, 0); }
