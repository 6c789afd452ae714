/* ustack stats and ustack ss: a running ustack's counters and connections,
 * read from its control socket (control.h), in the manner of nstat and ss. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "control.h"

#define ANSWER_MAX (128u << 20)
#define ANSWER_TIMEOUT_MS 5000

/* A request to DEV's ustack; the answer (NUL-terminated) in *out. On any
 * failure prints why and returns -1 (a user's error, exit 1). */
static int ask(const char *dev, const char *req, char **out, size_t *outlen)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (strchr(dev, '/')) {
		if (strlen(dev) >= sizeof(path)) {
			fprintf(stderr, "ustack: %s: path too long for a Unix socket\n", dev);
			return -1;
		}
		snprintf(path, sizeof(path), "%s", dev);
	} else if (app_ctl_path(dev, path, sizeof(path)) < 0) {
		fprintf(stderr, "ustack: '%s' is not a device name\n", dev);
		return -1;
	}
	struct stat sb;
	if (stat(path, &sb) < 0) {
		if (errno == EACCES)
			fprintf(stderr, "ustack: %s: %s (the control socket is root's)\n", path, strerror(errno));
		else if (!strchr(dev, '/') && !if_nametoindex(dev))
			fprintf(stderr, "ustack: no device %s here (and no ustack serving it)\n", dev);
		else
			fprintf(stderr, "ustack: no ustack is serving %s (no control socket %s)\n", dev, path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "ustack: socket: %s\n", strerror(errno));
		return -1;
	}
	struct timeval tv = {ANSWER_TIMEOUT_MS / 1000, 0};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ECONNREFUSED)
			fprintf(stderr, "ustack: the ustack that served %s is gone (stale control socket %s)\n", dev, path);
		else if (errno == EACCES || errno == EPERM)
			fprintf(stderr, "ustack: %s: %s (the control socket is root's)\n", path, strerror(errno));
		else
			fprintf(stderr, "ustack: cannot reach %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	size_t rl = strlen(req);
	if (send(fd, req, rl, MSG_NOSIGNAL) != (ssize_t)rl) {
		fprintf(stderr, "ustack: %s: cannot send the request: %s\n", dev, strerror(errno));
		close(fd);
		return -1;
	}
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (!buf) {
			fprintf(stderr, "ustack: out of memory\n");
			close(fd);
			return -1;
		}
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = ANSWER_TIMEOUT_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = {fd, POLLIN, 0};
		int r = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "ustack: %s: no answer within %d s\n", dev, ANSWER_TIMEOUT_MS / 1000);
			break;
		}
		if (len + 1 >= cap) {
			if (cap >= ANSWER_MAX) {
				fprintf(stderr, "ustack: %s: answer longer than %u MiB\n", dev, ANSWER_MAX >> 20);
				break;
			}
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				buf = NULL;
				continue;
			}
			buf = nb;
		}
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "ustack: %s: %s\n", dev, strerror(errno));
			break;
		}
		if (n == 0) {
			close(fd);
			buf[len] = 0;
			/* an answer that is an error: the first line after the comment */
			char *e = strstr(buf, "error: ");
			if (e && (e == buf || e[-1] == '\n')) {
				char *nl = strchr(e, '\n');
				fprintf(stderr, "ustack: %s: %.*s\n", dev, (int)(nl ? nl - e - 7 : (long)strlen(e + 7)), e + 7);
				free(buf);
				return -1;
			}
			if (!len) {
				fprintf(stderr, "ustack: %s: the ustack closed the connection without an answer\n", dev);
				free(buf);
				return -1;
			}
			*out = buf;
			*outlen = len;
			return 0;
		}
		len += (size_t)n;
	}
	free(buf);
	close(fd);
	return -1;
}

/* ---- ustack stats ---------------------------------------------------------------- */

struct sample {
	struct app_ctl_counter *c;
	size_t n;
	char *text;
	struct timespec at;
};

static void sample_free(struct sample *s)
{
	free(s->c);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

static int sample_take(const char *dev, struct sample *s)
{
	size_t len;
	memset(s, 0, sizeof(*s));
	if (ask(dev, "counters\n", &s->text, &len) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &s->at);
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += s->text[i] == '\n';
	s->c = calloc(lines, sizeof(*s->c));
	if (!s->c) {
		fprintf(stderr, "ustack: out of memory\n");
		sample_free(s);
		return -1;
	}
	char *save = NULL;
	for (char *l = strtok_r(s->text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#')
			continue;
		if (app_ctl_parse_counter(l, &s->c[s->n]) == 0)
			s->n++;
	}
	if (!s->n) {
		fprintf(stderr, "ustack: %s: the answer holds no counters\n", dev);
		sample_free(s);
		return -1;
	}
	return 0;
}

static const struct app_ctl_counter *find(const struct sample *s, size_t hint, const char *name)
{
	if (hint < s->n && s->c[hint].name && !strcmp(s->c[hint].name, name))
		return &s->c[hint];
	for (size_t i = 0; i < s->n; i++)
		if (s->c[i].name && !strcmp(s->c[i].name, name))
			return &s->c[i];
	return NULL;
}

static volatile sig_atomic_t stop_watch;
static void on_stop(int sig)
{
	(void)sig;
	stop_watch = 1;
}

static void stats_usage(FILE *out)
{
	fputs("usage: ustack stats DEV [-a] [-d] [--watch [SECONDS] [-c COUNT]]\n"
	      "       ustack stats --describe\n"
	      "\n"
	      "Prints the counters of the ustack (serve, relay or tunnel) running on device DEV,\n"
	      "one 'Group.Name value' a line, like nstat: those that are not zero, or all with -a.\n"
	      "DEV may also be the path of a control socket.\n"
	      "\n"
	      "  -a, --all            every counter, zeros too\n"
	      "  -d, --describe       each counter's description after its value; without DEV,\n"
	      "                       list every counter of the stack with its description\n"
	      "  -w, --watch [S]      every S seconds (default 1, at least 0.1) the rates per second\n"
	      "                       of the counters that moved and the gauges that changed, until\n"
	      "                       interrupted (exit 0)\n"
	      "  -c, --count N        with --watch: stop after N reports\n"
	      "  -h, --help           this text\n"
	      "\n"
	      "Exit status: 0, 1 if DEV has no running ustack (or it stopped), 2 for bad usage.\n",
	      out);
}

static void print_desc_only(const char *group, const char *name, uint64_t v, const char *desc, void *arg)
{
	(void)v;
	(void)arg;
	char full[96];
	snprintf(full, sizeof(full), "%s.%s", group, name);
	printf("%-36s %s\n", full, desc);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, 0, 'a'},   {"describe", no_argument, 0, 'd'}, {"watch", no_argument, 0, 'w'},
		{"count", required_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	int all = 0, describe = 0, watch = 0;
	long count = 0;
	double interval = 1.0;
	const char *dev = NULL;
	opterr = 0;
	optind = 1;
	int c;
	/* options before and after DEV ('+': getopt stops at DEV, then goes on) */
	while (optind < argc) {
		if ((c = getopt_long(argc, argv, "+adwc:h", opts, NULL)) == -1) {
			if (optind >= argc)
				break;
			if (dev)
				app_usage_error("unexpected argument '%s'", argv[optind]);
			dev = argv[optind++];
			continue;
		}
		switch (c) {
		case 'a': all = 1; break;
		case 'd': describe = 1; break;
		case 'w': {
			watch = 1;
			/* an optional interval: the next word, if it is a number */
			if (optind < argc) {
				char *end;
				errno = 0;
				double v = strtod(argv[optind], &end);
				if (end != argv[optind] && !*end) {
					if (errno || !isfinite(v) || v < 0.1 || v > 86400)
						app_usage_error("--watch wants 0.1..86400 seconds, got '%s'", argv[optind]);
					interval = v;
					optind++;
				}
			}
			break;
		}
		case 'c': {
			char *end;
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || count < 1 || count > 100000000)
				app_usage_error("--count wants a positive number, got '%s'", optarg);
			break;
		}
		case 'h': stats_usage(stdout); return 0;
		default: app_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (!dev) {
		if (describe && !watch && !all) {
			us_stats_foreach_desc(NULL, print_desc_only, NULL);
			return 0;
		}
		app_usage_error("which device? ustack stats DEV");
	}
	if (count && !watch)
		app_usage_error("--count goes with --watch");
	if (watch && describe)
		app_usage_error("--describe does not go with --watch");

	struct sample prev;
	if (sample_take(dev, &prev) < 0)
		return 1;
	if (!watch) {
		for (size_t i = 0; i < prev.n; i++) {
			const struct app_ctl_counter *k = &prev.c[i];
			if (!all && !k->value)
				continue;
			if (describe)
				printf("%-36s %20llu  %s\n", k->name, (unsigned long long)k->value, k->desc);
			else
				printf("%-36s %20llu\n", k->name, (unsigned long long)k->value);
		}
		sample_free(&prev);
		return fflush(stdout) == 0 ? 0 : 1;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int rc = 0;
	/* Deadlines a whole interval apart (the time a request takes does not
	 * add up); the rates are over the time between the samples. */
	struct timespec until = prev.at;
	long step = (long)(interval * 1e9);
	for (long done = 0; !count || done < count; done++) {
		until.tv_sec += step / 1000000000L;
		until.tv_nsec += step % 1000000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		struct timespec now_ts;
		clock_gettime(CLOCK_MONOTONIC, &now_ts);
		if (now_ts.tv_sec > until.tv_sec || (now_ts.tv_sec == until.tv_sec && now_ts.tv_nsec > until.tv_nsec))
			until = now_ts;   /* behind (a slow answer): start again from now */
		while (!stop_watch && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
		}
		if (stop_watch)
			break;
		struct sample cur;
		if (sample_take(dev, &cur) < 0) {
			rc = 1;
			break;
		}
		double dt = (double)(cur.at.tv_sec - prev.at.tv_sec) + (double)(cur.at.tv_nsec - prev.at.tv_nsec) / 1e9;
		char when[32];
		time_t now = time(NULL);
		struct tm tm;
		strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
		printf("# %s  per second over %.2f s\n", when, dt);
		for (size_t i = 0; i < cur.n; i++) {
			const struct app_ctl_counter *k = &cur.c[i], *p = find(&prev, i, k->name);
			if (k->kind == APP_CTL_GAUGE) {
				if (all || !p || p->value != k->value)
					printf("%-36s %20llu  (now)\n", k->name, (unsigned long long)k->value);
				continue;
			}
			double r = app_ctl_rate(p ? p->value : 0, k->value, dt);
			if (all || r != 0)
				printf("%-36s %20.1f\n", k->name, r);
		}
		fflush(stdout);
		sample_free(&prev);
		prev = cur;
	}
	sample_free(&prev);
	return rc;
}

/* ---- ustack ss ---------------------------------------------------------------------- */

static void ss_usage(FILE *out)
{
	fputs("usage: ustack ss DEV [-i] [-a | -l]\n"
	      "\n"
	      "Lists the TCP connections of the ustack running on device DEV like `ss -tn`\n"
	      "(state, queues, addresses), then what the program adds: the relay's flows, the\n"
	      "tunnel's peers or session. DEV may also be the path of a control socket.\n"
	      "\n"
	      "  -i, --info           cwnd, rtt, rto, mss, retransmissions... (as ss -i)\n"
	      "  -a, --all            listening sockets and TIME-WAIT too\n"
	      "  -l, --listening      listening sockets only\n"
	      "  -h, --help           this text\n"
	      "\n"
	      "Exit status: 0, 1 if DEV has no running ustack, 2 for bad usage.\n",
	      out);
}

int cmd_ss(int argc, char **argv)
{
	static const struct option opts[] = {
		{"info", no_argument, 0, 'i'}, {"all", no_argument, 0, 'a'}, {"listening", no_argument, 0, 'l'},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	char req[32] = "ss";
	const char *dev = NULL;
	opterr = 0;
	optind = 1;
	int c, info = 0, all = 0, listening = 0;
	/* options before and after DEV */
	while (optind < argc) {
		if ((c = getopt_long(argc, argv, "+ialh", opts, NULL)) == -1) {
			if (optind >= argc)
				break;
			if (dev)
				app_usage_error("unexpected argument '%s'", argv[optind]);
			dev = argv[optind++];
			continue;
		}
		switch (c) {
		case 'i': info = 1; break;
		case 'a': all = 1; break;
		case 'l': listening = 1; break;
		case 'h': ss_usage(stdout); return 0;
		default: app_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (!dev)
		app_usage_error("which device? ustack ss DEV");
	if (all && listening)
		app_usage_error("-a and -l do not go together");
	snprintf(req, sizeof(req), "ss%s%s%s\n", info ? " -i" : "", all ? " -a" : "", listening ? " -l" : "");
	char *ans;
	size_t len;
	if (ask(dev, req, &ans, &len) < 0)
		return 1;
	/* the answer as it is, less the comment that names the program */
	char *p = ans;
	if (!strncmp(p, "# ustack ", 9)) {
		char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : p + strlen(p);
	}
	fputs(p, stdout);
	free(ans);
	return fflush(stdout) == 0 ? 0 : 1;
}
