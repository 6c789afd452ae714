/* Services the ustack program offers on its sockets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

#include <netinet/tcp.h>

static void udp_echo_cb(struct us_stack *st, int s, unsigned events, void *arg)
{
	static uint8_t buf[65536];
	(void)arg;
	if (!(events & (US_POLLIN | US_POLLERR)))
		return;
	/* Bounded: at most this many datagrams per wakeup. */
	for (int i = 0; i < 256; i++) {
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t n = us_recvfrom(st, s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n == -EAGAIN)
			break;
		if (n < 0)
			continue;   /* a pending error, reported once */
		us_sendto(st, s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

int svc_udp_echo(struct us_stack *st, uint16_t port)
{
	int s = us_socket(st, AF_INET6, SOCK_DGRAM, 0);
	if (s < 0)
		return s;
	/* [::]: both families (a dual-stack socket, as Linux without V6ONLY). */
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	int rc = us_bind(st, s, (struct sockaddr *)&a, sizeof(a));
	if (rc < 0) {
		us_close(st, s);
		return rc;
	}
	us_sock_set_callback(st, s, udp_echo_cb, NULL);
	return s;
}

int svc_udp_sink(struct us_stack *st, uint16_t port)
{
	int s = us_socket(st, AF_INET6, SOCK_DGRAM, 0);
	if (s < 0)
		return s;
	/* [::]: both families (a dual-stack socket, as Linux without V6ONLY). */
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	int rc = us_bind(st, s, (struct sockaddr *)&a, sizeof(a));
	if (rc < 0)
		us_close(st, s);
	return rc < 0 ? rc : s;
}

/* ---- TCP services -------------------------------------------------------
 * One small state machine per connection, driven by readiness callbacks.
 * Every service respects back-pressure: when us_send would block it stops
 * reading until the socket is writable again. */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

enum svc_kind { SVC_ECHO, SVC_DISCARD, SVC_CHARGEN, SVC_HTTP, SVC_SOURCE, SVC_DISCARD_ZC };

#define SVC_BUF 65536
#define HTTP_REQ_MAX 8192

struct svc {
	enum svc_kind kind;
	char dir[512];
	struct svc *next;
};

struct svc_conn {
	struct svc *svc;
	struct svc_conn *next, *prev;   /* live connections, freed at exit */
	int fd;
	uint8_t buf[SVC_BUF];
	size_t len, off;          /* pending output in buf[off, len) */
	uint64_t chargen_pos;
	/* http */
	char req[HTTP_REQ_MAX];
	size_t req_len;
	int file_fd;
	uint64_t file_left;
	int close_after;
	int peer_closed;
};

static _Thread_local struct svc *all_svcs;     /* per thread: one stack per queue (serve --queues) */
static _Thread_local struct svc_conn *all_conns;

static void conn_close(struct us_stack *st, int s, struct svc_conn *c)
{
	us_close(st, s);
	if (c->file_fd >= 0)
		close(c->file_fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

void svc_free_all(struct us_stack *st)
{
	while (all_conns)
		conn_close(st, all_conns->fd, all_conns);
	while (all_svcs) {
		struct svc *n = all_svcs->next;
		free(all_svcs);
		all_svcs = n;
	}
}

/* Write pending output; returns 1 when all of it went out. */
static int flush_out(struct us_stack *st, int s, struct svc_conn *c)
{
	while (c->off < c->len) {
		ssize_t n = us_send(st, s, c->buf + c->off, c->len - c->off, 0);
		if (n <= 0)
			return 0;
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	return 1;
}

static void chargen_fill(struct svc_conn *c)
{
	/* RFC 864's rotating 72-character lines. */
	static const char set[] = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
	size_t n = 0;
	while (n + 74 <= sizeof(c->buf)) {
		uint64_t line = c->chargen_pos++;
		for (int i = 0; i < 72; i++)
			c->buf[n++] = (uint8_t)set[(line + (uint64_t)i) % 95];
		c->buf[n++] = '\r';
		c->buf[n++] = '\n';
	}
	c->len = n;
	c->off = 0;
}

static const char *mime_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (!dot)
		return "application/octet-stream";
	if (!strcmp(dot, ".html") || !strcmp(dot, ".htm"))
		return "text/html";
	if (!strcmp(dot, ".txt"))
		return "text/plain";
	return "application/octet-stream";
}

static void http_respond(struct svc_conn *c, int status, const char *reason, const char *type, uint64_t length,
			 int head, const char *body)
{
	int n = snprintf((char *)c->buf, sizeof(c->buf),
			 "HTTP/1.1 %d %s\r\nServer: ustack\r\nContent-Type: %s\r\nContent-Length: %llu\r\n%s\r\n%s",
			 status, reason, type, (unsigned long long)length, c->close_after ? "Connection: close\r\n" : "",
			 (!head && body) ? body : "");
	c->len = n > 0 ? (size_t)n : 0;
	c->off = 0;
}

/* Parse one request in c->req; returns 1 if a response was queued,
 * 0 if more bytes are needed. */
static int http_request(struct svc_conn *c)
{
	char *end = memmem(c->req, c->req_len, "\r\n\r\n", 4);
	if (!end) {
		if (c->req_len >= sizeof(c->req)) {
			c->close_after = 1;
			http_respond(c, 431, "Request Header Fields Too Large", "text/plain", 0, 0, NULL);
			return 1;
		}
		return 0;
	}
	size_t consumed = (size_t)(end - c->req) + 4;
	*end = 0;
	char method[16], target[1024], version[16];
	if (sscanf(c->req, "%15s %1023s %15s", method, target, version) != 3 || strncmp(version, "HTTP/1.", 7)) {
		c->close_after = 1;
		http_respond(c, 400, "Bad Request", "text/plain", 12, 0, "bad request\n");
		c->req_len = 0;
		return 1;
	}
	/* HTTP/1.0 closes unless asked to keep alive; 1.1 keeps alive unless asked to close. */
	int v10 = !strcmp(version, "HTTP/1.0");
	c->close_after = v10 ? !strcasestr(c->req, "\nconnection: keep-alive") : !!strcasestr(c->req, "\nconnection: close");
	memmove(c->req, c->req + consumed, c->req_len - consumed);
	c->req_len -= consumed;
	int head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET")) {
		http_respond(c, 405, "Method Not Allowed", "text/plain", 19, 0, "method not allowed\n");
		return 1;
	}
	char *q = strchr(target, '?');
	if (q)
		*q = 0;
	if (!c->svc->dir[0] || strstr(target, "..") || target[0] != '/') {
		if (!strcmp(target, "/")) {
			static const char page[] = "<html><body><h1>ustack</h1><p>served by a user-space TCP/IP stack</p></body></html>\n";
			http_respond(c, 200, "OK", "text/html", sizeof(page) - 1, head, page);
		} else {
			http_respond(c, 404, "Not Found", "text/plain", 10, head, "not found\n");
		}
		return 1;
	}
	char path[1600];
	snprintf(path, sizeof(path), "%s%s", c->svc->dir, !strcmp(target, "/") ? "/index.html" : target);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		http_respond(c, 404, "Not Found", "text/plain", 10, head, "not found\n");
		return 1;
	}
	http_respond(c, 200, "OK", mime_of(path), (uint64_t)sb.st_size, head, NULL);
	if (head) {
		close(fd);
	} else {
		c->file_fd = fd;
		c->file_left = (uint64_t)sb.st_size;
	}
	return 1;
}

/* HTTP: returns 0 to keep the connection, -1 to close it. */
static int http_step(struct us_stack *st, int s, struct svc_conn *c)
{
	for (int rounds = 0; rounds < 64; rounds++) {
		if (!flush_out(st, s, c))
			return 0;   /* wait for POLLOUT */
		if (c->file_fd >= 0) {
			if (!c->file_left) {
				close(c->file_fd);
				c->file_fd = -1;
				continue;
			}
			ssize_t n = read(c->file_fd, c->buf, (size_t)APP_MIN(c->file_left, (uint64_t)sizeof(c->buf)));
			if (n <= 0)
				return -1;
			c->len = (size_t)n;
			c->off = 0;
			c->file_left -= (uint64_t)n;
			continue;
		}
		if (c->close_after)
			return -1;
		if (c->req_len && http_request(c))
			continue;
		ssize_t n = us_recv(st, s, c->req + c->req_len, sizeof(c->req) - c->req_len, 0);
		if (n == -EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->req_len += (size_t)n;
	}
	return 0;
}

static void tcp_conn_cb(struct us_stack *st, int s, unsigned events, void *arg)
{
	struct svc_conn *c = arg;
	int done = 0;
	if (events & US_POLLERR) {
		conn_close(st, s, c);
		return;
	}
	switch (c->svc->kind) {
	case SVC_ECHO:
		for (int rounds = 0; rounds < 64 && !done; rounds++) {
			if (!flush_out(st, s, c))
				break;
			if (c->peer_closed) {
				done = 1;
				break;
			}
			ssize_t n = us_recv(st, s, c->buf, sizeof(c->buf), 0);
			if (n == -EAGAIN)
				break;
			if (n == 0) {
				c->peer_closed = 1;
				us_shutdown(st, s, SHUT_WR);   /* carry the half close across */
				continue;
			}
			if (n < 0) {
				done = 1;
				break;
			}
			c->len = (size_t)n;
			c->off = 0;
		}
		if (done && c->peer_closed && c->len == 0)
			done = 1;
		break;
	case SVC_DISCARD:
		for (int rounds = 0; rounds < 256; rounds++) {
			ssize_t n = us_recv(st, s, c->buf, sizeof(c->buf), 0);
			if (n == -EAGAIN)
				break;
			if (n <= 0) {
				done = 1;
				break;
			}
		}
		break;
	case SVC_DISCARD_ZC:
		/* The same through zero-copy receive: views of the bytes where
		 * they arrived, as many as a call gives, given back at once. */
		for (int rounds = 0; rounds < 1024; rounds++) {
			struct iovec v[US_ZC_IOV_MAX];
			int cnt;
			ssize_t n = us_recv_zcv(st, s, v, US_ZC_IOV_MAX, &cnt);
			if (n == -EAGAIN)
				break;
			if (n <= 0 || us_recv_done(st, s, (size_t)n) < 0) {
				done = 1;
				break;
			}
		}
		break;
	case SVC_CHARGEN:
		for (int rounds = 0; rounds < 64; rounds++) {
			if (!flush_out(st, s, c))
				break;
			chargen_fill(c);
		}
		{
			/* The client closing or resetting ends it. */
			uint8_t tmp[512];
			ssize_t n = us_recv(st, s, tmp, sizeof(tmp), 0);
			if (n == 0 || (n < 0 && n != -EAGAIN))
				done = 1;
		}
		break;
	case SVC_HTTP:
		done = http_step(st, s, c) < 0;
		break;
	case SVC_SOURCE:
		/* A constant buffer, resent: the sender's cost is the stack's alone. */
		for (int rounds = 0; rounds < 64; rounds++) {
			if (!flush_out(st, s, c))
				break;
			c->len = sizeof(c->buf);
			c->off = 0;
		}
		{
			uint8_t tmp[512];
			ssize_t n = us_recv(st, s, tmp, sizeof(tmp), 0);
			if (n == 0 || (n < 0 && n != -EAGAIN))
				done = 1;
		}
		break;
	}
	if (done)
		conn_close(st, s, c);
}

static void listen_cb(struct us_stack *st, int ls, unsigned events, void *arg)
{
	struct svc *svc = arg;
	if (!(events & US_POLLIN))
		return;
	for (int i = 0; i < 256; i++) {
		int s = us_accept(st, ls, NULL, NULL);
		if (s < 0)
			break;
		struct svc_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			us_close(st, s);
			continue;
		}
		c->svc = svc;
		c->fd = s;
		c->file_fd = -1;
		if (svc->kind == SVC_SOURCE)
			memset(c->buf, 's', sizeof(c->buf));
		if (svc->kind == SVC_DISCARD_ZC)
			us_setsockopt(st, s, IPPROTO_TCP, US_TCP_RECV_INPLACE, &(int){1}, sizeof(int));
		c->next = all_conns;
		if (all_conns)
			all_conns->prev = c;
		all_conns = c;
		int one = 1;
		us_setsockopt(st, s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		us_sock_set_callback(st, s, tcp_conn_cb, c);
	}
}

int svc_tcp(struct us_stack *st, const char *kind, uint16_t port, const char *dir)
{
	struct svc *svc = calloc(1, sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	if (!strcmp(kind, "echo"))
		svc->kind = SVC_ECHO;
	else if (!strcmp(kind, "discard"))
		svc->kind = SVC_DISCARD;
	else if (!strcmp(kind, "discard-zc"))
		svc->kind = SVC_DISCARD_ZC;
	else if (!strcmp(kind, "chargen"))
		svc->kind = SVC_CHARGEN;
	else if (!strcmp(kind, "source"))
		svc->kind = SVC_SOURCE;
	else
		svc->kind = SVC_HTTP;
	if (dir)
		snprintf(svc->dir, sizeof(svc->dir), "%s", dir);
	int s = us_socket(st, AF_INET6, SOCK_STREAM, 0);
	if (s < 0) {
		free(svc);
		return s;
	}
	int one = 1;
	us_setsockopt(st, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::]: both families (a dual-stack socket, as Linux without V6ONLY). */
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	int rc = us_bind(st, s, (struct sockaddr *)&a, sizeof(a));
	if (rc == 0)
		rc = us_listen(st, s, 1024);
	if (rc < 0) {
		us_close(st, s);
		free(svc);
		return rc;
	}
	us_sock_set_callback(st, s, listen_cb, svc);
	svc->next = all_svcs;
	all_svcs = svc;
	return s;
}
