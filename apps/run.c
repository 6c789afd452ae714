/* ustack run: a program, unmodified, with its IP sockets on ustack.
 *
 * Checks the device options as `serve` does, then execs PROGRAM with
 * LD_PRELOAD set to libustack-preload.so (found next to this binary) and the
 * options in USTACK_RUN_CONF. The shim's constructor brings the stack up on
 * the device before PROGRAM's main runs and takes over its AF_INET sockets;
 * every other fd stays the kernel's. The program keeps this process's pid,
 * so signals and exit status are its own. The device, if the stack created
 * it, disappears when the last process using the stack has exited. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

static void run_usage(FILE *out)
{
	fputs("usage: ustack run (--tap NAME | --tun NAME) --ip ADDR/PREFIX [options] -- PROGRAM [ARGS...]\n"
	      "\n"
	      "Runs PROGRAM with its IPv4 sockets (TCP, UDP, ping) in a ustack stack on the device,\n"
	      "through an LD_PRELOAD library (libustack-preload.so); files, pipes, AF_UNIX, netlink\n"
	      "and the rest stay the kernel's. PROGRAM keeps this pid and its exit status. Programs\n"
	      "it execs run on the kernel's stack. Children it forks share the stack.\n"
	      "\n"
	      "  --tap NAME / --tun NAME, --ip ADDR/PREFIX, --host-ip ADDR/PREFIX, --gateway ADDR,\n"
	      "  --mtu N, --mac MAC, --pcap FILE, --no-offload, --busy-poll USEC\n"
	      "                       the device and stack, as for `ustack serve`\n"
	      "  --stats FILE         at the end write the stack's counters to FILE\n"
	      "  --linger MS          at exit, wait up to MS for the peers to take the last data\n"
	      "                       and FINs (default 3000)\n"
	      "  --preload PATH       the shim to use (default: libustack-preload.so beside ustack)\n"
	      "  -v, --verbose        say on stderr when the stack is up and about processes\n"
	      "  -h, --help           this text\n",
	      out);
}

static int add(char *buf, size_t cap, const char *k, const char *v)
{
	size_t len = strlen(buf);
	if (strchr(v, ';'))
		app_usage_error("'%s' may not contain ';'", v);
	int n = snprintf(buf + len, cap - len, "%s%s=%s", len ? ";" : "", k, v);
	return n < 0 || (size_t)n >= cap - len ? -1 : 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		APP_NET_LONGOPTS,
		{"stats", required_argument, 0, 'S'}, {"linger", required_argument, 0, 'L'},
		{"preload", required_argument, 0, 'P'}, {"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
	};
	struct app_net n;
	memset(&n, 0, sizeof(n));
	int has_ip = 0, verbose = 0;
	const char *stats = NULL, *linger = NULL, *preload = NULL;
	char conf[4096] = "";
	opterr = 0;
	optind = 1;
	int c;
	/* '+': options end at PROGRAM (or at "--") */
	while ((c = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (c) {
		case 'S': stats = optarg; break;
		case 'L': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 600000)
				app_usage_error("--linger wants milliseconds, 0..600000, got '%s'", optarg);
			linger = optarg;
			break;
		}
		case 'P': preload = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': run_usage(stdout); return 0;
		default: {
			if (!app_net_option(c, optarg, &n, &has_ip))
				app_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
			/* the values were checked; pass them on as given, by name
			 * (the shim parses them with app_net_option too) */
			const struct option *o = opts;
			while (o->name && o->val != c)
				o++;
			if (!o->name || add(conf, sizeof(conf), o->name, o->has_arg == no_argument ? "1" : optarg) < 0)
				app_usage_error("options too long");
		}
		}
	}
	app_net_check(&n, has_ip);
	if (n.xdp || n.afpacket)
		app_usage_error("ustack run works over --tap or --tun, not --xdp or --af-packet");
	if (optind >= argc)
		app_usage_error("no PROGRAM to run (ustack run OPTIONS -- PROGRAM [ARGS...])");
	char abs_stats[PATH_MAX];
	if (stats) {
		/* the last process of the program writes it, from wherever it is */
		if (stats[0] != '/' && getcwd(abs_stats, sizeof(abs_stats)) &&
		    strlen(abs_stats) + strlen(stats) + 2 < sizeof(abs_stats)) {
			strcat(abs_stats, "/");
			strcat(abs_stats, stats);
			stats = abs_stats;
		}
		if (add(conf, sizeof(conf), "stats", stats) < 0)
			app_usage_error("options too long");
	}
	if (linger && add(conf, sizeof(conf), "linger", linger) < 0)
		app_usage_error("options too long");
	if (verbose && add(conf, sizeof(conf), "verbose", "1") < 0)
		app_usage_error("options too long");

	char shim[PATH_MAX];
	if (preload) {
		if (!realpath(preload, shim))
			app_usage_error("--preload: %s: %s", preload, strerror(errno));
	} else {
		ssize_t k = readlink("/proc/self/exe", shim, sizeof(shim) - 32);
		if (k <= 0) {
			perror("ustack run: /proc/self/exe");
			return 1;
		}
		shim[k] = 0;
		char *slash = strrchr(shim, '/');
		strcpy(slash ? slash + 1 : shim, "libustack-preload.so");
	}
	if (access(shim, R_OK) < 0) {
		fprintf(stderr, "ustack run: cannot read the shim %s: %s\n", shim, strerror(errno));
		return 1;
	}
	const char *orig = getenv("LD_PRELOAD");
	char pre[3 * PATH_MAX];
#ifdef US_PRELOAD_ASAN
	/* the shim is built with ASan: its runtime must be loaded first */
	snprintf(pre, sizeof(pre), "%s %s%s%s", US_PRELOAD_ASAN, shim, orig ? " " : "", orig ? orig : "");
	if (!getenv("USTACK_RUN_LSAN")) {
		/* LeakSanitizer would judge the program's own exit (nginx and curl
		 * leave memory to the kernel); the stack's leak check is the
		 * "Buffers lost at exit" line of --stats. */
		const char *ao = getenv("ASAN_OPTIONS");
		char buf[1024];
		snprintf(buf, sizeof(buf), "%s%sdetect_leaks=0", ao ? ao : "", ao && *ao ? ":" : "");
		setenv("ASAN_OPTIONS", buf, 1);
	}
#else
	snprintf(pre, sizeof(pre), "%s%s%s", shim, orig ? " " : "", orig ? orig : "");
#endif
	setenv("USTACK_RUN_ORIG_LD_PRELOAD", orig ? orig : "-", 1);
	setenv("LD_PRELOAD", pre, 1);
	setenv("USTACK_RUN_CONF", conf, 1);
	execvp(argv[optind], argv + optind);
	int e = errno;
	fprintf(stderr, "ustack run: cannot run %s: %s\n", argv[optind], strerror(e));
	return e == ENOENT ? 127 : 126;
}
