/* The shim's start: `ustack run` passes the device options in
 * USTACK_RUN_CONF; the constructor brings the stack up on the device (as
 * `ustack serve` does, through apps/common.c) before main runs, then
 * restores LD_PRELOAD to what it was so that programs the process execs run
 * on the kernel's stack (unless `ustack run --keep-preload`).
 *
 * Loaded without USTACK_RUN_CONF the shim does nothing: every call goes
 * straight to libc. */
#include <arpa/inet.h>
#include <errno.h>
#include <time.h>
#include <getopt.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../apps/app.h"
#include "shim.h"

/* The library's objects in the shim call these instead of libc's (the
 * symbols are renamed when the .so is linked: preload/preload.mk), so the
 * stack's own device and netlink I/O never goes through the wrappers. */
ssize_t ps_sys_read(int fd, void *b, size_t n);
ssize_t ps_sys_write(int fd, const void *b, size_t n);
ssize_t ps_sys_readv(int fd, const struct iovec *v, int n);
ssize_t ps_sys_writev(int fd, const struct iovec *v, int n);
int ps_sys_close(int fd);
int ps_sys_ioctl(int fd, unsigned long req, ...);
int ps_sys_fcntl(int fd, int cmd, ...);
int ps_sys_socket(int d, int t, int p);
int ps_sys_bind(int fd, const struct sockaddr *a, socklen_t l);
int ps_sys_getsockname(int fd, struct sockaddr *a, socklen_t *l);
ssize_t ps_sys_sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l);
ssize_t ps_sys_recvmsg(int fd, struct msghdr *m, int f);
int ps_sys_poll(struct pollfd *p, nfds_t n, int ms);

ssize_t ps_sys_read(int fd, void *b, size_t n) { return R.read(fd, b, n); }
ssize_t ps_sys_write(int fd, const void *b, size_t n) { return R.write(fd, b, n); }
ssize_t ps_sys_readv(int fd, const struct iovec *v, int n) { return R.readv(fd, v, n); }
ssize_t ps_sys_writev(int fd, const struct iovec *v, int n) { return R.writev(fd, v, n); }
int ps_sys_close(int fd)
{
	ps_internal_fd(fd, 0);
	return R.close(fd);
}
int ps_sys_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return R.ioctl(fd, req, arg);
}
int ps_sys_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	uintptr_t arg = va_arg(ap, uintptr_t);
	va_end(ap);
	return R.fcntl(fd, cmd, arg);
}
int ps_sys_socket(int d, int t, int p) { return R.socket(d, t, p); }
int ps_sys_bind(int fd, const struct sockaddr *a, socklen_t l) { return R.bind(fd, a, l); }
int ps_sys_getsockname(int fd, struct sockaddr *a, socklen_t *l) { return R.getsockname(fd, a, l); }
ssize_t ps_sys_sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l)
{
	return R.sendto(fd, b, n, f, a, l);
}
ssize_t ps_sys_recvmsg(int fd, struct msghdr *m, int f) { return R.recvmsg(fd, m, f); }
int ps_sys_poll(struct pollfd *p, nfds_t n, int ms) { return R.poll(p, n, ms); }

static int conf_fail(const char *what, const char *v)
{
	fprintf(stderr, "ustack run: bad %s in USTACK_RUN_CONF: '%s'\n", what, v);
	return -1;
}

/* "key=value;key=value": written by apps/run.c, which checked the values.
 * The device options go by their long names (APP_NET_LONGOPTS) to the
 * same parser as every other command's, so that each of them (both
 * families' --ip, --no-ipv6, --cc, ...) means here what it means there. */
static int parse_conf(char *s, struct app_net *n, struct ps_conf *pc, int *keep)
{
	static const struct option net_opts[] = {APP_NET_LONGOPTS, {0, 0, 0, 0}};
	int has_ip = 0;
	for (char *tok = strtok(s, ";"); tok; tok = strtok(NULL, ";")) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return conf_fail("entry", tok);
		*eq = 0;
		const char *k = tok, *v = eq + 1;   /* in conf, freed once the stack is up (names used by then) */
		const struct option *o = net_opts;
		while (o->name && strcmp(o->name, k))
			o++;
		if (o->name) {
			if (!app_net_option(o->val, o->has_arg == no_argument ? NULL : v, n, &has_ip))
				return conf_fail("option", k);
			if (o->val == 'p')
				pc->pcap = 1;
			else if (o->val == 'B')
				pc->busy_poll_us = n->busy_poll_us;
		} else if (!strcmp(k, "seed"))
			n->seed = strtoull(v, NULL, 0);
		else if (!strcmp(k, "stats"))
			snprintf(pc->stats_path, sizeof(pc->stats_path), "%s", v);
		else if (!strcmp(k, "linger"))
			pc->linger_ms = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(k, "verbose"))
			pc->verbose = atoi(v);
		else if (!strcmp(k, "keep"))
			*keep = atoi(v);
		else
			return conf_fail("key", k);
	}
	if (!has_ip || (!n->tap == !n->tun))
		return conf_fail("device", "needs tap or tun, and ip");
	return 0;
}

static void restore_env(void)
{
	const char *orig = getenv("USTACK_RUN_ORIG_LD_PRELOAD");
	if (orig && strcmp(orig, "-"))
		setenv("LD_PRELOAD", orig, 1);
	else
		unsetenv("LD_PRELOAD");
	unsetenv("USTACK_RUN_ORIG_LD_PRELOAD");
	unsetenv("USTACK_RUN_CONF");
}

static void at_exit(void) { ps_proc_exit(0); }

static void count_tentative(const struct us_addr_info *ai, void *arg)
{
	if (ai->flags & US_ADDR_TENTATIVE)
		++*(int *)arg;
}

void ps_term_handler(int sig);

__attribute__((constructor)) static void ps_init(void)
{
	ps_real_init();
	const char *env = getenv("USTACK_RUN_CONF");
	if (!env || W)
		return;
	char *conf = strdup(env);
	struct app_net n;
	struct ps_conf pc;
	memset(&n, 0, sizeof(n));
	memset(&pc, 0, sizeof(pc));
	pc.linger_ms = 3000;
	int keep = 0;
	if (!conf || parse_conf(conf, &n, &pc, &keep) < 0)
		R.exit_(126);
	if (keep) {
		/* An exec'd program would need a stack of its own on the same
		 * device, which a single-queue device cannot give it. */
		fprintf(stderr, "ustack run: --keep-preload is not supported yet\n");
		R.exit_(126);
	}
	restore_env();
	int r = ps_arena_init(16ull << 30);
	if (r < 0) {
		fprintf(stderr, "ustack run: cannot map the shared arena: %s\n", strerror(-r));
		R.exit_(126);
	}
	struct us_stack_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_sockets = 16384;
	n.cfg = &cfg;
	struct app_stack a;
	if (app_stack_open(&n, &a) < 0)
		R.exit_(126);
	int devs[8];
	int nd = us_stack_fds(a.st, devs, 8);
	for (int i = 0; i < nd && i < 8; i++)
		ps_internal_fd(devs[i], 1);
	if ((r = ps_world_init(a.st, a.ifindex, &pc, 1)) < 0) {
		fprintf(stderr, "ustack run: cannot set up: %s\n", strerror(-r));
		R.exit_(126);
	}
	snprintf(W->devname, sizeof(W->devname), "%s", a.devname);
	/* An IPv6 address is tentative while DAD runs (about a second, RFC
	 * 4862 5.4): the program would find no source to connect from. The
	 * stack thread runs DAD; the program starts once it is done (3 s at
	 * most: a conflict leaves the address out, and the program finds out). */
	for (int i = 0; i < 150; i++) {
		ps_lock();
		int tentative = 0;
		us_iface_addr_foreach(a.st, count_tentative, &tentative);
		ps_unlock();
		if (!tentative)
			break;
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	pthread_atfork(ps_fork_prepare, ps_fork_parent, ps_fork_child);
	atexit(at_exit);
	/* A program that leaves SIGTERM, SIGINT or SIGHUP at their default
	 * still closes its connections when one of them ends it. */
	int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		struct sigaction cur;
		if (R.sigaction(sigs[i], NULL, &cur) == 0 && cur.sa_handler == SIG_DFL) {
			struct sigaction sa;
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = ps_term_handler;
			sa.sa_flags = SA_RESTART;
			sigemptyset(&sa.sa_mask);
			R.sigaction(sigs[i], &sa, NULL);
		}
	}
	if (pc.verbose) {
		char ip[INET6_ADDRSTRLEN];
		if (n.has_ip4)
			inet_ntop(AF_INET, &n.ip, ip, sizeof(ip));
		else
			inet_ntop(AF_INET6, &n.ip6[0], ip, sizeof(ip));
		fprintf(stderr, "ustack run: ready on %s %s/%d%s, offloads: %s (pid %d)\n", a.devname, ip,
			n.has_ip4 ? n.ip_plen : n.ip6_plen[0],
			a.created ? " (device created)" : "",
			(a.offloads & US_LINK_OFF_TSO4) ? "checksum, TSO" : (a.offloads & US_LINK_OFF_CSUM) ? "checksum" : "none",
			(int)getpid());
	}
	free(conf);
}
