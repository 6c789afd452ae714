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

/* ustack run's environment as this process got it, kept for a program it
 * execs as the family's only process (ps_exec_env). */
static char *run_conf, *run_preload, *run_orig;

static int env_is(const char *e, const char *name)
{
	size_t l = strlen(name);
	return !strncmp(e, name, l) && e[l] == '=';
}

static char *env_pair(const char *name, const char *val)
{
	size_t l = strlen(name) + strlen(val) + 2;
	char *e = malloc(l);
	if (e)
		snprintf(e, l, "%s=%s", name, val);
	return e;
}

/* The environment a program this process execs gets (NULL: envp as it
 * is). A process that execs while it is the only one of its family (a
 * wrapper such as `env`, `nice`, a pyenv shim, a script ending in `exec`)
 * hands the stack over: the new program starts with the LD_PRELOAD and
 * configuration ustack run gave, and brings the stack up again on the
 * device as the first program did. A process with others in its family (a
 * forked child, a shell running a command) cannot: they keep the stack,
 * and one device has room for one stack, so its program runs on the
 * kernel's, with ustack run's variables taken out of envp. The constructor
 * took them out of environ already, but a program may have copied its
 * environment first: bash has its own setenv and unsetenv, and would pass
 * USTACK_RUN_CONF on to every command (each then failed to open the busy
 * device). */
char **ps_exec_env(const char *path, char *const envp[])
{
	if (!run_conf || !run_preload || !run_orig)
		return NULL;
	int sole = ps_sole_process();
	if (W && W->conf.verbose)
		fprintf(stderr, "ustack run: pid %d execs %s: %s\n", (int)getpid(), path ? path : "(fd)",
			sole ? "the stack goes with it" : "it runs on the kernel's stack");
	size_t n = 0;
	while (envp && envp[n])
		n++;
	char **e = calloc(n + 4, sizeof(*e));
	if (!e)
		return NULL;
	/* Allocated once: the exec replaces this image, and a failed exec
	 * (execvp tries each PATH entry) uses them again. */
	static char *pre, *conf, *orig, *orig_pre;
	if (!pre)
		pre = env_pair("LD_PRELOAD", run_preload);
	if (!conf)
		conf = env_pair("USTACK_RUN_CONF", run_conf);
	if (!orig)
		orig = env_pair("USTACK_RUN_ORIG_LD_PRELOAD", run_orig);
	if (!orig_pre && strcmp(run_orig, "-"))
		orig_pre = env_pair("LD_PRELOAD", run_orig);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (env_is(envp[i], "USTACK_RUN_CONF") || env_is(envp[i], "USTACK_RUN_ORIG_LD_PRELOAD"))
			continue;
		if (env_is(envp[i], "LD_PRELOAD")) {
			if (sole)
				continue;
			/* ustack run's LD_PRELOAD goes back to what it was; one
			 * the program set itself stays. */
			if (pre && !strcmp(envp[i], pre)) {
				if (orig_pre)
					e[k++] = orig_pre;
				continue;
			}
		}
		e[k++] = envp[i];
	}
	if (sole) {
		if (!pre || !conf || !orig) {
			free(e);
			return NULL;
		}
		e[k++] = pre;
		e[k++] = conf;
		e[k++] = orig;
	}
	e[k] = NULL;
	return e;
}

static void restore_env(void)
{
	const char *p = getenv("LD_PRELOAD");
	const char *o = getenv("USTACK_RUN_ORIG_LD_PRELOAD");
	const char *c = getenv("USTACK_RUN_CONF");
	run_preload = p ? strdup(p) : NULL;
	run_orig = strdup(o ? o : "-");
	run_conf = c ? strdup(c) : NULL;
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
		if (R.sigaction(sigs[i], NULL, &cur) == 0 && cur.sa_handler == SIG_DFL)
			ps_term_install(sigs[i]);
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
