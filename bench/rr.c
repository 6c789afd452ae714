/* rr: the benchmark suite's traffic tool, on kernel sockets.
 *
 * HOST is an IPv4 or IPv6 address.
 * Client modes (each prints one JSON object on stdout):
 *   rr send HOST PORT SECS         bulk: write to a discard server for SECS, then
 *                                  half-close and wait for the server's close
 *   rr recv HOST PORT SECS         bulk: read from a source server for SECS
 *   rr rr HOST PORT SIZE SECS      request/response of SIZE bytes each way on one
 *                                  connection (echo server): transactions/s, p50, p99
 *   rr crr HOST PORT SECS          a new connection per 1-byte transaction: conn/s
 *   rr conc HOST PORT N SECS       N connections at once, each doing 1-byte
 *                                  transactions: set-up time, transactions/s, p50, p99
 * Server mode (the kernel's own stack as the server under test):
 *   rr server ECHO DISCARD SOURCE  echo, discard and source on those ports (on
 *                                  [::], IPv4 and IPv6), one epoll thread, until
 *                                  SIGTERM/SIGINT
 *
 * Client CPU time (getrusage, user+system) over the measured interval is in
 * the output as cpu_s. Latencies are microseconds. Every loop is bounded by
 * the time given; connects and reads time out after 5 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BULK_BUF (128 * 1024)
#define IO_TIMEOUT_S 5

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec * 1e-6;
}

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "rr: %s: %s\n", what, strerror(errno));
	printf("{\"error\": \"%s: %s\"}\n", what, strerror(errno));
	exit(1);
}

/* An IPv4 or IPv6 server address. */
struct raddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

static struct raddr parse_addr(const char *host, const char *port)
{
	struct raddr a;
	memset(&a, 0, sizeof(a));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a.ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.ss;
	char *end;
	long p = strtol(port, &end, 10);
	if (*end || p < 1 || p > 65535) {
		fprintf(stderr, "rr: bad port %s\n", port);
		exit(2);
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		a.len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		a.len = sizeof(*s6);
	} else {
		fprintf(stderr, "rr: bad address %s\n", host);
		exit(2);
	}
	return a;
}

static double parse_pos(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);
	if (*end || !(v > 0) || v > 1e7) {
		fprintf(stderr, "rr: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A blocking connection with 5 s timeouts; -1 on failure. */
static int connect_to(const struct raddr *a, int nodelay)
{
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd);
	if (nodelay) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ---- latency samples ------------------------------------------------------ */
struct lat {
	double *v;
	size_t n, cap;
};

static void lat_add(struct lat *l, double us)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 65536;
		if (nc > (size_t)64 << 20)
			return;   /* bounded: 64 M samples is plenty */
		double *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = us;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double lat_pct(struct lat *l, double p)
{
	if (!l->n)
		return -1;
	size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
	return l->v[i];
}

static void lat_sort(struct lat *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(double), cmp_dbl);
}

/* ---- bulk ------------------------------------------------------------------ */
static int cmd_send(const struct raddr *a, double secs)
{
	static char buf[BULK_BUF];
	memset(buf, 'x', sizeof(buf));
	int fd = connect_to(a, 0);
	if (fd < 0)
		die("connect");
	double c0 = cpu_s(), t0 = now_s(), end = t0 + secs;
	unsigned long long bytes = 0;
	while (now_s() < end) {
		ssize_t n = write(fd, buf, sizeof(buf));
		if (n <= 0)
			die("write");
		bytes += (unsigned long long)n;
	}
	/* Everything written must have reached the server: half-close and
	 * wait for its close (a discard server closes on end of stream). */
	shutdown(fd, SHUT_WR);
	double drain_end = now_s() + IO_TIMEOUT_S;
	int closed = 0;
	while (now_s() < drain_end) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0) {
			closed = 1;
			break;
		}
		if (n < 0)
			break;
	}
	double t1 = now_s(), c1 = cpu_s();
	close(fd);
	printf("{\"mode\": \"send\", \"bytes\": %llu, \"secs\": %.6f, \"gbps\": %.4f, \"cpu_s\": %.4f, \"closed\": %d}\n",
	       bytes, t1 - t0, (double)bytes * 8 / (t1 - t0) / 1e9, c1 - c0, closed);
	return closed ? 0 : 1;
}

static int cmd_recv(const struct raddr *a, double secs)
{
	static char buf[BULK_BUF];
	int fd = connect_to(a, 0);
	if (fd < 0)
		die("connect");
	double c0 = cpu_s(), t0 = now_s(), end = t0 + secs;
	unsigned long long bytes = 0;
	while (now_s() < end) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			die(n == 0 ? "read: early end of stream" : "read");
		bytes += (unsigned long long)n;
	}
	double t1 = now_s(), c1 = cpu_s();
	close(fd);
	printf("{\"mode\": \"recv\", \"bytes\": %llu, \"secs\": %.6f, \"gbps\": %.4f, \"cpu_s\": %.4f}\n", bytes, t1 - t0,
	       (double)bytes * 8 / (t1 - t0) / 1e9, c1 - c0);
	return 0;
}

/* ---- request/response ------------------------------------------------------ */
static int read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static void print_lat(const char *mode, size_t size, unsigned long long n, double secs, double cpu, struct lat *l,
		      const char *extra)
{
	lat_sort(l);
	printf("{\"mode\": \"%s\", \"size\": %zu, \"transactions\": %llu, \"secs\": %.6f, \"tps\": %.1f, "
	       "\"p50_us\": %.2f, \"p99_us\": %.2f, \"cpu_s\": %.4f%s}\n",
	       mode, size, n, secs, (double)n / secs, lat_pct(l, 0.50), lat_pct(l, 0.99), cpu, extra ? extra : "");
}

static int cmd_rr(const struct raddr *a, size_t size, double secs)
{
	char *buf = malloc(size), *rbuf = malloc(size);
	if (!buf || !rbuf)
		die("malloc");
	memset(buf, 'r', size);
	int fd = connect_to(a, 1);
	if (fd < 0)
		die("connect");
	struct lat l = {0};
	double c0 = cpu_s(), t0 = now_s(), end = t0 + secs, t;
	unsigned long long n = 0;
	while ((t = now_s()) < end) {
		if (write(fd, buf, size) != (ssize_t)size)
			die("write");
		if (read_full(fd, rbuf, size) < 0)
			die("read");
		lat_add(&l, (now_s() - t) * 1e6);
		n++;
	}
	double t1 = now_s(), c1 = cpu_s();
	close(fd);
	print_lat("rr", size, n, t1 - t0, c1 - c0, &l, NULL);
	free(buf);
	free(rbuf);
	return 0;
}

static int cmd_crr(const struct raddr *a, double secs)
{
	struct lat l = {0};
	double c0 = cpu_s(), t0 = now_s(), end = t0 + secs, t;
	unsigned long long n = 0, fails = 0;
	while ((t = now_s()) < end) {
		int fd = connect_to(a, 1);
		char ch = 'c';
		if (fd < 0) {
			if (++fails > 100)
				die("connect");
			continue;
		}
		if (write(fd, &ch, 1) != 1 || read_full(fd, &ch, 1) < 0) {
			close(fd);
			if (++fails > 100)
				die("transaction");
			continue;
		}
		close(fd);
		lat_add(&l, (now_s() - t) * 1e6);
		n++;
	}
	double t1 = now_s(), c1 = cpu_s();
	char extra[64];
	snprintf(extra, sizeof(extra), ", \"failures\": %llu", fails);
	print_lat("crr", 1, n, t1 - t0, c1 - c0, &l, extra);
	return 0;
}

/* N connections at once, event-driven; each sends one byte and waits for it. */
struct cconn {
	int fd;
	int state;   /* 0 connecting, 1 waiting for the echo */
	double sent_at;
};

static int cmd_conc(const struct raddr *a, int nconn, double secs)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nconn + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct cconn *cs = calloc((size_t)nconn, sizeof(*cs));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cs || ep < 0)
		die("setup");
	double c0 = cpu_s(), t0 = now_s();
	for (int i = 0; i < nconn; i++) {
		int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno != EINPROGRESS)
			die("connect");
		cs[i].fd = fd;
		struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	/* Phase 1: all connected (bounded by 10 s). */
	int connected = 0, failed = 0;
	struct epoll_event evs[256];
	while (connected + failed < nconn && now_s() < t0 + 10) {
		int k = epoll_wait(ep, evs, 256, 100);
		for (int j = 0; j < k; j++) {
			struct cconn *c = &cs[evs[j].data.u32];
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (err || (evs[j].events & (EPOLLERR | EPOLLHUP))) {
				failed++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->state = 1;
			connected++;
			struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[j].data.u32};
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
	}
	double t_setup = now_s() - t0;
	/* Phase 2: every connected one does transactions for secs. */
	struct lat l = {0};
	unsigned long long n = 0;
	double t1 = now_s(), end = t1 + secs;
	for (int i = 0; i < nconn; i++) {
		if (cs[i].fd >= 0 && cs[i].state == 1) {
			cs[i].sent_at = now_s();
			if (write(cs[i].fd, "q", 1) != 1)
				failed++;
		}
	}
	int errors = 0;
	while (now_s() < end) {
		int k = epoll_wait(ep, evs, 256, 100);
		for (int j = 0; j < k; j++) {
			struct cconn *c = &cs[evs[j].data.u32];
			char buf[64];
			ssize_t r = read(c->fd, buf, sizeof(buf));
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				errors++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				c->fd = -1;
				continue;
			}
			double t = now_s();
			lat_add(&l, (t - c->sent_at) * 1e6);
			n++;
			c->sent_at = t;
			if (write(c->fd, "q", 1) != 1)
				errors++;
		}
	}
	double t2 = now_s(), c1 = cpu_s();
	for (int i = 0; i < nconn; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	close(ep);
	char extra[160];
	snprintf(extra, sizeof(extra), ", \"conns\": %d, \"connected\": %d, \"connect_failed\": %d, \"errors\": %d, \"setup_s\": %.4f",
		 nconn, connected, failed, errors, t_setup);
	print_lat("conc", 1, n, t2 - t1, c1 - c0, &l, extra);
	free(cs);
	return connected == nconn && !errors ? 0 : 1;
}

/* ---- kernel server --------------------------------------------------------- */
enum { K_LISTEN_ECHO, K_LISTEN_DISCARD, K_LISTEN_SOURCE, K_ECHO, K_DISCARD, K_SOURCE };
struct kconn {
	int fd, kind;
	size_t pend, off;   /* echo: bytes waiting to go back */
	char buf[BULK_BUF];
};

static volatile sig_atomic_t stop_flag;
static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int klisten(int ep, uint16_t port, int kind)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));   /* [::] takes IPv4 too */
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0)
		die("listen");
	struct kconn *k = calloc(1, sizeof(*k));
	if (!k)
		die("malloc");
	k->fd = fd;
	k->kind = kind;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = k};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return fd;
}

static void kclose(int ep, struct kconn *k)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	free(k);
}

static int cmd_server(uint16_t pecho, uint16_t pdiscard, uint16_t psource)
{
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	klisten(ep, pecho, K_LISTEN_ECHO);
	klisten(ep, pdiscard, K_LISTEN_DISCARD);
	klisten(ep, psource, K_LISTEN_SOURCE);
	static char zero[BULK_BUF];
	memset(zero, 's', sizeof(zero));
	printf("rr: server ready\n");
	fflush(stdout);
	struct epoll_event evs[256];
	while (!stop_flag) {
		int n = epoll_wait(ep, evs, 256, 200);
		for (int i = 0; i < n; i++) {
			struct kconn *k = evs[i].data.ptr;
			if (k->kind <= K_LISTEN_SOURCE) {
				for (int j = 0; j < 256; j++) {
					int fd = accept4(k->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					struct kconn *c = malloc(sizeof(*c));
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					c->kind = k->kind + K_ECHO;
					c->pend = c->off = 0;
					int one = 1;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					struct epoll_event ev = {.events = c->kind == K_SOURCE ? EPOLLIN | EPOLLOUT : EPOLLIN,
								 .data.ptr = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			int done = 0;
			if (k->kind == K_DISCARD) {
				for (int j = 0; j < 64; j++) {
					ssize_t r = read(k->fd, k->buf, sizeof(k->buf));
					if (r < 0 && errno == EAGAIN)
						break;
					if (r <= 0) {
						done = 1;
						break;
					}
				}
			} else if (k->kind == K_SOURCE) {
				if (evs[i].events & (EPOLLERR | EPOLLHUP))
					done = 1;
				if (!done && (evs[i].events & EPOLLIN)) {
					ssize_t r = read(k->fd, k->buf, sizeof(k->buf));
					if (r == 0 || (r < 0 && errno != EAGAIN))
						done = 1;
				}
				for (int j = 0; !done && j < 64; j++) {
					ssize_t w = write(k->fd, zero, sizeof(zero));
					if (w < 0 && errno == EAGAIN)
						break;
					if (w <= 0)
						done = 1;
				}
			} else {   /* echo */
				for (int j = 0; j < 64 && !done; j++) {
					while (k->off < k->pend) {
						ssize_t w = write(k->fd, k->buf + k->off, k->pend - k->off);
						if (w < 0 && errno == EAGAIN)
							break;
						if (w <= 0) {
							done = 1;
							break;
						}
						k->off += (size_t)w;
					}
					if (done || k->off < k->pend)
						break;
					ssize_t r = read(k->fd, k->buf, sizeof(k->buf));
					if (r < 0 && errno == EAGAIN)
						break;
					if (r <= 0) {
						done = 1;
						break;
					}
					k->pend = (size_t)r;
					k->off = 0;
				}
				if (!done) {
					struct epoll_event ev = {.events = k->off < k->pend ? EPOLLOUT : EPOLLIN, .data.ptr = k};
					epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &ev);
				}
			}
			if (done)
				kclose(ep, k);
		}
	}
	return 0;
}

static _Noreturn void usage(void)
{
	fputs("usage: rr send|recv HOST PORT SECS | rr rr HOST PORT SIZE SECS | rr crr HOST PORT SECS\n"
	      "       rr conc HOST PORT N SECS | rr server ECHO_PORT DISCARD_PORT SOURCE_PORT\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	const char *m = argv[1];
	if (!strcmp(m, "server") && argc == 5) {
		uint16_t p[3];
		for (int i = 0; i < 3; i++) {
			long v = strtol(argv[2 + i], NULL, 10);
			if (v < 1 || v > 65535)
				usage();
			p[i] = (uint16_t)v;
		}
		return cmd_server(p[0], p[1], p[2]);
	}
	if (argc < 5)
		usage();
	struct raddr a = parse_addr(argv[2], argv[3]);
	if (!strcmp(m, "send") && argc == 5)
		return cmd_send(&a, parse_pos(argv[4], "seconds"));
	if (!strcmp(m, "recv") && argc == 5)
		return cmd_recv(&a, parse_pos(argv[4], "seconds"));
	if (!strcmp(m, "crr") && argc == 5)
		return cmd_crr(&a, parse_pos(argv[4], "seconds"));
	if (!strcmp(m, "rr") && argc == 6)
		return cmd_rr(&a, (size_t)parse_pos(argv[4], "size"), parse_pos(argv[5], "seconds"));
	if (!strcmp(m, "conc") && argc == 6)
		return cmd_conc(&a, (int)parse_pos(argv[4], "count"), parse_pos(argv[5], "seconds"));
	usage();
}
