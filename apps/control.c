/* The control socket and the metrics endpoint (control.h describes both). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"

#define CTL_CLIENTS 8                   /* control connections served at once */
#define CTL_REQ_MAX 4096                /* bytes of one request (line or HTTP head) */
#define CTL_DEADLINE_NS (5ull * 1000000000ull)
#define CTL_OUT_MAX (64u << 20)         /* a control answer (ss of every flow) */
#define CTL_METRICS_MAX (1u << 20)      /* a metrics answer */
#define CTL_BACKLOG 8
#define CTL_DRAIN_NS (1000000000ull)    /* reading what is left after the answer */

enum { TAG_UNIX = 1, TAG_METRICS, TAG_TIMER, TAG_CLIENT = 16 };
enum { K_FREE = 0, K_UNIX, K_HTTP };

/* An output buffer that grows up to max and then drops (and says so). */
struct obuf {
	char *p;
	size_t len, cap, max;
	int overflow;
};

/* gcc 12's -fanalyzer reports the realloc()ed buffer leaked once obuf_put
 * returns (to obuf_printf): it loses the store of the moved buffer into
 * b->p, a field reached through a pointer. A false positive: b->p holds
 * it until obuf_free(). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
static void obuf_put(struct obuf *b, const char *s, size_t n)
{
	if (b->overflow || !n)
		return;   /* (nothing to add: no memcpy to a NULL b->p) */
	if (b->len + n > b->max) {
		b->overflow = 1;
		return;
	}
	if (!b->p || b->len + n > b->cap) {   /* (no buffer yet: whatever cap says) */
		size_t cap = b->p && b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->overflow = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void obuf_printf(struct obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void obuf_printf(struct obuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		obuf_put(b, tmp, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->overflow = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	obuf_put(b, big, (size_t)n);
	free(big);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static void obuf_free(struct obuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static ssize_t obuf_cookie_write(void *cookie, const char *buf, size_t n)
{
	obuf_put(cookie, buf, n);
	return (ssize_t)n;   /* past the limit the rest is dropped, not an error */
}

/* A stdio stream into b, for the programs' callbacks. */
static FILE *obuf_file(struct obuf *b)
{
	cookie_io_functions_t io = {.write = obuf_cookie_write};
	return fopencookie(b, "w", io);
}

struct ctl_client {
	int kind, fd;
	uint64_t deadline;
	char req[CTL_REQ_MAX];
	size_t rlen;
	int writing;            /* 1: sending the answer, 2: sent, reading what is left until EOF */
	struct obuf out;
	size_t sent;
};

struct app_ctl {
	int ep, lfd, mfd, tfd, lockfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char lockpath[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	char subdir[sizeof(((struct sockaddr_un *)0)->sun_path)];   /* a per-namespace directory, or "" */
	char dev[IFNAMSIZ];
	struct app_ctl_ops ops;
	time_t started;
	struct ctl_client cl[CTL_CLIENTS + 1];   /* the last one: the metrics connection */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the socket's path ------------------------------------------------------ */

/* As the kernel's dev_valid_name. */
static int valid_dev(const char *d)
{
	size_t n = strlen(d);
	if (!n || n >= IFNAMSIZ || !strcmp(d, ".") || !strcmp(d, ".."))
		return 0;
	for (; *d; d++)
		if (*d == '/' || *d == ':' || *d == ' ' || (*d >= '\t' && *d <= '\r'))
			return 0;
	return 1;
}

static const char *run_dir(void)
{
	const char *d = getenv("USTACK_RUN_DIR");
	return d && *d ? d : "/run/ustack";
}

/* "" in the machine's own network namespace, else "netns-INODE". */
static void netns_part(char *buf, size_t cap)
{
	struct stat self, init;
	buf[0] = 0;
	if (stat("/proc/self/ns/net", &self) < 0)
		return;
	if (stat("/proc/1/ns/net", &init) == 0 && init.st_ino == self.st_ino && init.st_dev == self.st_dev)
		return;
	snprintf(buf, cap, "netns-%llu", (unsigned long long)self.st_ino);
}

static int ctl_dir(char *buf, size_t cap)
{
	char ns[48];
	netns_part(ns, sizeof(ns));
	int n = snprintf(buf, cap, "%s%s%s", run_dir(), *ns ? "/" : "", ns);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int app_ctl_path(const char *dev, char *path, size_t cap)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (!valid_dev(dev) || ctl_dir(dir, sizeof(dir)) < 0)
		return -1;
	int n = snprintf(path, cap, "%s/%s.sock", dir, dev);
	if (n < 0 || (size_t)n >= cap || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -1;
	return 0;
}

/* mkdir -m 0700, or an existing directory that is ours and writable by
 * nobody else (never a symlink). */
static int safe_dir(const char *d)
{
	struct stat sb;
	if (mkdir(d, 0700) == 0)
		return 0;
	if (errno != EEXIST) {
		fprintf(stderr, "ustack: cannot create the control directory %s: %s\n", d, strerror(errno));
		return -1;
	}
	if (lstat(d, &sb) < 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022)) {
		fprintf(stderr, "ustack: %s is not a directory of this user's that only it can write: refusing to "
				"put the control socket there\n", d);
		return -1;
	}
	return 0;
}

/* The pid of whoever answers on path, or 0. */
static pid_t owner_pid(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	pid_t pid = 0;
	struct ucred cr;
	socklen_t l = sizeof(cr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0)
		pid = cr.pid;
	close(fd);
	return pid;
}

/* ---- the event set ---------------------------------------------------------- */

static int ep_add(struct app_ctl *c, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag};
	return epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void arm_timer(struct app_ctl *c)
{
	uint64_t first = 0;
	for (int i = 0; i <= CTL_CLIENTS; i++)
		if (c->cl[i].kind != K_FREE && (!first || c->cl[i].deadline < first))
			first = c->cl[i].deadline;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (first) {
		its.it_value.tv_sec = (time_t)(first / 1000000000ull);
		its.it_value.tv_nsec = (long)(first % 1000000000ull);
	}
	timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void client_close(struct app_ctl *c, struct ctl_client *k)
{
	if (k->kind == K_FREE)
		return;
	epoll_ctl(c->ep, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	obuf_free(&k->out);
	int was_http = k->kind == K_HTTP;
	k->kind = K_FREE;
	k->fd = -1;
	/* one metrics connection at a time: listen again */
	if (was_http && c->mfd >= 0)
		ep_add(c, c->mfd, EPOLLIN, TAG_METRICS);
}

/* ---- answers ----------------------------------------------------------------- */

static void visit_line(void *vctx, const char *group, const char *name, uint64_t value, int kind, const char *desc)
{
	obuf_printf(vctx, "%s %s.%s %" PRIu64 " %s\n", kind == APP_CTL_GAUGE ? "gauge" : "counter", group, name, value,
		    desc ? desc : "");
}

struct prom_ctx {
	struct obuf *b;
	const char *labels;   /* device="..." */
};

static void visit_prom(void *vctx, const char *group, const char *name, uint64_t value, int kind, const char *desc)
{
	struct prom_ctx *p = vctx;
	char mname[160], help[512], text[400];
	if (app_ctl_metric_name(group, name, kind, mname, sizeof(mname)) < 0)
		return;
	snprintf(text, sizeof(text), "%s%s(%s.%s)", desc && *desc ? desc : "", desc && *desc ? " " : "", group, name);
	if (app_ctl_help_escape(text, help, sizeof(help)) < 0)
		return;
	obuf_printf(p->b, "# HELP %s %s\n# TYPE %s %s\n%s{%s} %" PRIu64 "\n", mname, help, mname,
		    kind == APP_CTL_GAUGE ? "gauge" : "counter", mname, p->labels, value);
}

static void answer_metrics(struct app_ctl *c, struct obuf *b)
{
	char dev[64], prog[64], labels[160];
	app_ctl_label_escape(c->dev, dev, sizeof(dev));
	if (app_ctl_label_escape(c->ops.program ? c->ops.program : "", prog, sizeof(prog)) < 0)
		prog[0] = 0;
	snprintf(labels, sizeof(labels), "device=\"%s\"", dev);
	obuf_printf(b,
		    "# HELP ustack_info the ustack program serving this device, and its version\n"
		    "# TYPE ustack_info gauge\nustack_info{%s,program=\"%s\",version=\"%s\"} 1\n"
		    "# HELP ustack_start_time_seconds when the program started, in seconds since the epoch\n"
		    "# TYPE ustack_start_time_seconds gauge\nustack_start_time_seconds{%s} %lld\n",
		    labels, prog, us_version(), labels, (long long)c->started);
	struct prom_ctx p = {b, labels};
	if (c->ops.counters)
		c->ops.counters(c->ops.arg, visit_prom, &p);
}

/* The words of a request line: "ss -i -a". */
static void answer_control(struct app_ctl *c, char *req, struct obuf *b)
{
	char *save = NULL, *cmd = strtok_r(req, " \t\r\n", &save);
	obuf_printf(b, "# ustack %s on %s, pid %d, version %s\n", c->ops.program ? c->ops.program : "?", c->dev,
		    (int)getpid(), us_version());
	if (cmd && !strcmp(cmd, "counters")) {
		if (c->ops.counters)
			c->ops.counters(c->ops.arg, visit_line, b);
		return;
	}
	if (cmd && !strcmp(cmd, "ss")) {
		unsigned flags = 0;
		for (char *w; (w = strtok_r(NULL, " \t\r\n", &save));) {
			if (w[0] != '-' || !w[1]) {
				obuf_printf(b, "error: ss takes -i, -a and -l, not '%s'\n", w);
				return;
			}
			for (char *f = w + 1; *f; f++) {
				if (*f == 'i')
					flags |= APP_CTL_SS_INFO;
				else if (*f == 'a')
					flags |= APP_CTL_SS_ALL;
				else if (*f == 'l')
					flags |= APP_CTL_SS_LISTEN;
				else {
					obuf_printf(b, "error: ss takes -i, -a and -l, not '%s'\n", w);
					return;
				}
			}
		}
		if (c->ops.sockets) {
			FILE *f = obuf_file(b);
			if (!f) {
				obuf_printf(b, "error: out of memory\n");
				return;
			}
			c->ops.sockets(c->ops.arg, f, flags);
			fclose(f);
		}
		return;
	}
	obuf_printf(b, "error: unknown request '%s' (counters, ss [-i] [-a|-l])\n", cmd ? cmd : "");
}

static void http_status(struct obuf *b, int code, const char *reason, const char *body)
{
	obuf_printf(b,
		    "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s",
		    code, reason, strlen(body), body);
}

static void answer_http(struct app_ctl *c, struct ctl_client *k)
{
	char method[16], target[256], version[16];
	k->req[k->rlen] = 0;
	if (sscanf(k->req, "%15s %255s %15s", method, target, version) != 3 || strncmp(version, "HTTP/1.", 7)) {
		http_status(&k->out, 400, "Bad Request", "bad request\n");
		return;
	}
	int head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET")) {
		http_status(&k->out, 405, "Method Not Allowed", "GET /metrics\n");
		return;
	}
	char *q = strchr(target, '?');
	if (q)
		*q = 0;
	if (strcmp(target, "/metrics")) {
		http_status(&k->out, 404, "Not Found", "the metrics are at /metrics\n");
		return;
	}
	struct obuf body = {.max = CTL_METRICS_MAX};
	answer_metrics(c, &body);
	if (body.overflow) {
		obuf_free(&body);
		http_status(&k->out, 500, "Internal Server Error", "the metrics do not fit in 1 MiB\n");
		return;
	}
	obuf_printf(&k->out,
		    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		    body.len);
	if (!head)
		obuf_put(&k->out, body.p, body.len);
	obuf_free(&body);
}

/* ---- connections ------------------------------------------------------------- */

static void client_drain(struct app_ctl *c, struct ctl_client *k)
{
	char junk[4096];
	for (;;) {
		ssize_t n = recv(k->fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_close(c, k);   /* EOF or an error: done */
			return;
		}
	}
}

static void client_write(struct app_ctl *c, struct ctl_client *k)
{
	while (k->sent < k->out.len) {
		ssize_t n = send(k->fd, k->out.p + k->sent, k->out.len - k->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;   /* EPOLLOUT brings us back */
		if (n <= 0) {
			client_close(c, k);
			return;
		}
		k->sent += (size_t)n;
	}
	/* All sent: close our side, then read (and drop) what the client still
	 * sends until it closes, so that unread input (the rest of a request
	 * too long for us) does not turn our close into a RST that destroys
	 * the answer. For at most CTL_DRAIN_NS more. */
	shutdown(k->fd, SHUT_WR);
	k->writing = 2;
	uint64_t until = now_ns() + CTL_DRAIN_NS;
	if (until < k->deadline)
		k->deadline = until;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_CLIENT + (uint64_t)(k - c->cl)};
	if (epoll_ctl(c->ep, EPOLL_CTL_MOD, k->fd, &ev) < 0)
		client_close(c, k);
	else
		client_drain(c, k);
}

static void client_answer(struct app_ctl *c, struct ctl_client *k)
{
	if (k->kind == K_HTTP) {
		answer_http(c, k);
	} else {
		k->req[k->rlen] = 0;
		answer_control(c, k->req, &k->out);
		if (k->out.overflow) {
			k->out.overflow = 0;
			k->out.len = k->out.len > 64 ? k->out.len - 64 : 0;
			obuf_printf(&k->out, "\n# truncated at %u MiB\n", CTL_OUT_MAX >> 20);
		}
	}
	k->writing = 1;
	struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = TAG_CLIENT + (uint64_t)(k - c->cl)};
	epoll_ctl(c->ep, EPOLL_CTL_MOD, k->fd, &ev);
	client_write(c, k);
}

static int request_complete(const struct ctl_client *k)
{
	if (k->kind == K_UNIX)
		return memchr(k->req, '\n', k->rlen) != NULL;
	for (size_t i = 0; i + 1 < k->rlen; i++)
		if (k->req[i] == '\n' && (k->req[i + 1] == '\n' || (k->req[i + 1] == '\r' && i + 2 < k->rlen &&
								       k->req[i + 2] == '\n')))
			return 1;
	return 0;
}

static void client_read(struct app_ctl *c, struct ctl_client *k)
{
	for (;;) {
		if (k->rlen >= sizeof(k->req) - 1) {
			/* too long: answer what was asked as a bad request */
			if (k->kind == K_HTTP)
				http_status(&k->out, 431, "Request Header Fields Too Large", "request too large\n");
			else
				obuf_printf(&k->out, "error: request longer than %d bytes\n", CTL_REQ_MAX - 1);
			k->writing = 1;
			struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = TAG_CLIENT + (uint64_t)(k - c->cl)};
			epoll_ctl(c->ep, EPOLL_CTL_MOD, k->fd, &ev);
			client_write(c, k);
			return;
		}
		ssize_t n = recv(k->fd, k->req + k->rlen, sizeof(k->req) - 1 - k->rlen, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			client_close(c, k);
			return;
		}
		if (n == 0) {
			/* EOF: a control request may end without its newline */
			if (k->kind == K_UNIX && k->rlen)
				client_answer(c, k);
			else
				client_close(c, k);
			return;
		}
		k->rlen += (size_t)n;
		if (request_complete(k)) {
			client_answer(c, k);
			return;
		}
	}
}

static void accept_one(struct app_ctl *c, int lfd, int kind)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (kind == K_UNIX) {
		/* The socket is 0600 already; its peer must be root or us. */
		struct ucred cr;
		socklen_t l = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0 || (cr.uid != 0 && cr.uid != geteuid())) {
			close(fd);
			return;
		}
	}
	struct ctl_client *k = NULL;
	if (kind == K_HTTP) {
		k = &c->cl[CTL_CLIENTS];
	} else {
		for (int i = 0; i < CTL_CLIENTS && !k; i++)
			if (c->cl[i].kind == K_FREE)
				k = &c->cl[i];
	}
	if (!k || k->kind != K_FREE) {
		static const char busy[] = "error: busy, try again\n";
		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* nothing more to say */
		}
		close(fd);
		return;
	}
	memset(k, 0, sizeof(*k));
	k->kind = kind;
	k->fd = fd;
	k->out.max = kind == K_HTTP ? CTL_METRICS_MAX + 4096 : CTL_OUT_MAX;
	k->deadline = now_ns() + CTL_DEADLINE_NS;
	if (ep_add(c, fd, EPOLLIN, TAG_CLIENT + (uint64_t)(k - c->cl)) < 0) {
		close(fd);
		k->kind = K_FREE;
		return;
	}
	/* one metrics connection at a time: stop listening until it is done */
	if (kind == K_HTTP)
		epoll_ctl(c->ep, EPOLL_CTL_DEL, c->mfd, NULL);
	client_read(c, k);
}

void app_ctl_handle(struct app_ctl *c)
{
	struct epoll_event ev[16];
	int n = epoll_wait(c->ep, ev, 16, 0);
	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;
		if (tag == TAG_UNIX) {
			accept_one(c, c->lfd, K_UNIX);
		} else if (tag == TAG_METRICS) {
			accept_one(c, c->mfd, K_HTTP);
		} else if (tag == TAG_TIMER) {
			uint64_t x;
			if (read(c->tfd, &x, sizeof(x)) < 0) {
				/* not yet due */
			}
		} else if (tag >= TAG_CLIENT && tag <= TAG_CLIENT + CTL_CLIENTS) {
			struct ctl_client *k = &c->cl[tag - TAG_CLIENT];
			if (k->kind == K_FREE)
				continue;
			if (k->writing == 2)
				client_drain(c, k);
			else if (k->writing)
				client_write(c, k);
			else
				client_read(c, k);
		}
	}
	uint64_t now = now_ns();
	for (int i = 0; i <= CTL_CLIENTS; i++)
		if (c->cl[i].kind != K_FREE && now >= c->cl[i].deadline)
			client_close(c, &c->cl[i]);   /* too slow: the deadline is for the whole exchange */
	arm_timer(c);
}

int app_ctl_fd(const struct app_ctl *c) { return c->ep; }

/* ---- open and close -------------------------------------------------------------- */

static int metrics_listen(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (app_ctl_parse_addr(addr, &ss, &len) < 0) {
		fprintf(stderr, "ustack: --metrics wants ADDR:PORT, got '%s'\n", addr);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0) {
		fprintf(stderr, "ustack: --metrics %s: %s\n", addr, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, CTL_BACKLOG) < 0) {
		fprintf(stderr, "ustack: cannot listen for --metrics on %s: %s\n", addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct app_ctl *app_ctl_open(const char *dev, const char *metrics, const struct app_ctl_ops *ops)
{
	struct app_ctl *c = calloc(1, sizeof(*c));
	if (!c) {
		fprintf(stderr, "ustack: out of memory\n");
		return NULL;
	}
	c->ep = c->lfd = c->mfd = c->tfd = c->lockfd = -1;
	for (int i = 0; i <= CTL_CLIENTS; i++)
		c->cl[i].fd = -1;
	c->ops = *ops;
	c->started = time(NULL);
	snprintf(c->dev, sizeof(c->dev), "%s", dev);
	char dir[sizeof(c->path)];
	if (app_ctl_path(dev, c->path, sizeof(c->path)) < 0 || ctl_dir(dir, sizeof(dir)) < 0) {
		fprintf(stderr, "ustack: no control socket path for device '%s' (too long?)\n", dev);
		goto fail;
	}
	snprintf(c->lockpath, sizeof(c->lockpath), "%.*s.lock", (int)(strlen(c->path) - 5), c->path);
	if (safe_dir(run_dir()) < 0)
		goto fail;
	if (strcmp(dir, run_dir())) {
		if (safe_dir(dir) < 0)
			goto fail;
		snprintf(c->subdir, sizeof(c->subdir), "%s", dir);
	}
	/* The lock tells a live owner from a stale socket. */
	c->lockfd = open(c->lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->lockfd < 0) {
		fprintf(stderr, "ustack: cannot open %s: %s\n", c->lockpath, strerror(errno));
		goto fail;
	}
	if (flock(c->lockfd, LOCK_EX | LOCK_NB) < 0) {
		pid_t pid = errno == EWOULDBLOCK ? owner_pid(c->path) : 0;
		if (pid)
			fprintf(stderr, "ustack: device %s is in use by a running ustack (pid %d, control socket %s)\n",
				dev, (int)pid, c->path);
		else
			fprintf(stderr, "ustack: device %s is in use by another ustack (%s is locked)\n", dev,
				c->lockpath);
		close(c->lockfd);
		c->lockfd = -1;
		c->subdir[0] = 0;   /* theirs: leave it */
		goto fail;
	}
	struct stat sb;
	if (lstat(c->path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			fprintf(stderr, "ustack: %s exists and is not a socket: refusing to replace it\n", c->path);
			goto fail_locked;
		}
		/* Its owner is dead (we hold the lock): a stale socket, replaced
		 * without a word (nothing was wrong with this start). */
		unlink(c->path);
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	mode_t old = umask(0177);
	int rc = c->lfd < 0 ? -1 : bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(c->path, 0600) < 0 || listen(c->lfd, CTL_BACKLOG) < 0) {
		fprintf(stderr, "ustack: cannot make the control socket %s: %s\n", c->path, strerror(errno));
		goto fail_locked;
	}
	if (metrics && (c->mfd = metrics_listen(metrics)) < 0)
		goto fail_bound;
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->ep < 0 || c->tfd < 0 || ep_add(c, c->lfd, EPOLLIN, TAG_UNIX) < 0 ||
	    ep_add(c, c->tfd, EPOLLIN, TAG_TIMER) < 0 || (c->mfd >= 0 && ep_add(c, c->mfd, EPOLLIN, TAG_METRICS) < 0)) {
		fprintf(stderr, "ustack: cannot set up the control socket's events: %s\n", strerror(errno));
		goto fail_bound;
	}
	return c;
fail_bound:
	unlink(c->path);
fail_locked:
	unlink(c->lockpath);
fail:
	if (c->subdir[0])
		rmdir(c->subdir);   /* only if empty */
	if (c->lfd >= 0)
		close(c->lfd);
	if (c->mfd >= 0)
		close(c->mfd);
	if (c->ep >= 0)
		close(c->ep);
	if (c->tfd >= 0)
		close(c->tfd);
	if (c->lockfd >= 0)
		close(c->lockfd);
	free(c);
	return NULL;
}

void app_ctl_close(struct app_ctl *c)
{
	if (!c)
		return;
	for (int i = 0; i <= CTL_CLIENTS; i++)
		client_close(c, &c->cl[i]);
	unlink(c->path);
	close(c->lfd);
	if (c->mfd >= 0)
		close(c->mfd);
	close(c->ep);
	close(c->tfd);
	unlink(c->lockpath);   /* while still holding it */
	close(c->lockfd);
	if (c->subdir[0])
		rmdir(c->subdir);   /* only if empty: another device's socket keeps it */
	free(c);
}

static void on_loop_fd(struct us_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	app_ctl_handle(arg);
}

struct app_ctl *app_ctl_open_loop(const char *dev, const char *metrics, const struct app_ctl_ops *ops,
				  struct us_loop *loop)
{
	struct app_ctl *c = app_ctl_open(dev, metrics, ops);
	if (c && us_loop_add_fd(loop, app_ctl_fd(c), EPOLLIN, on_loop_fd, c) < 0) {
		fprintf(stderr, "ustack: cannot watch the control socket\n");
		app_ctl_close(c);
		return NULL;
	}
	return c;
}

/* ---- a stack's counters and connections --------------------------------------- */

struct stack_visit {
	app_ctl_visit_fn visit;
	void *vctx;
};

static void stack_visit(const char *group, const char *name, uint64_t value, const char *desc, void *arg)
{
	struct stack_visit *v = arg;
	int gauge = !strcmp(group, "Tcp") && !strcmp(name, "CurrEstab");
	v->visit(v->vctx, group, name, value, gauge ? APP_CTL_GAUGE : APP_CTL_COUNTER, desc);
}

void app_ctl_stats_counters(const struct us_stats *s, const struct us_mem_info *mi, uint64_t bufs_in_use,
			    app_ctl_visit_fn visit, void *vctx)
{
	struct stack_visit v = {visit, vctx};
	us_stats_foreach_desc(s, stack_visit, &v);
	visit(vctx, "Mem", "UsedBytes", mi->used, APP_CTL_GAUGE,
	      "bytes of the memory budget in use: TCP buffers and packets");
	visit(vctx, "Mem", "PeakBytes", mi->peak, APP_CTL_GAUGE, "the most bytes of the memory budget ever in use");
	visit(vctx, "Mem", "MaxBytes", mi->max, APP_CTL_GAUGE, "the memory budget (mem_max)");
	visit(vctx, "Mem", "TcpBytes", mi->tcp, APP_CTL_GAUGE, "bytes of TCP send and receive buffers allocated");
	visit(vctx, "Mem", "PktBytes", mi->pkts, APP_CTL_GAUGE, "bytes of packet buffers in use");
	visit(vctx, "Mem", "PoolReservedBytes", mi->pool_reserved, APP_CTL_GAUGE,
	      "bytes of the preallocated packet pool (outside the budget)");
	visit(vctx, "Mem", "PktRefusals", mi->pkt_refusals, APP_CTL_COUNTER,
	      "packet allocations refused because the budget was used up");
	visit(vctx, "Mem", "BufsInUse", bufs_in_use, APP_CTL_GAUGE, "packet buffers in use");
}

void app_ctl_stack_counters(struct us_stack *st, app_ctl_visit_fn visit, void *vctx)
{
	struct us_mem_info mi;
	us_stack_mem_info(st, &mi);
	app_ctl_stats_counters(us_stack_stats(st), &mi, us_stack_bufs_in_use(st), visit, vctx);
}

struct ss_ctx {
	FILE *out;
	unsigned flags;
};

static void ss_visit(const struct us_tcp_info *i, void *arg)
{
	struct ss_ctx *s = arg;
	if (app_ctl_ss_wants(i->state, s->flags))
		app_ctl_ss_line(i, s->flags, s->out);
}

void app_ctl_stack_sockets(struct us_stack *st, FILE *out, unsigned flags)
{
	struct ss_ctx s = {out, flags};
	if (!(flags & APP_CTL_SS_NO_HEADER))
		fputs(APP_CTL_SS_HEADER, out);
	us_tcp_foreach(st, ss_visit, &s);
}

