/* ustack serve: a stack on a TAP or TUN device serving until a signal. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "app.h"

#include <arpa/inet.h>

struct sig_ctx {
	struct us_stack *st;
};

static void on_signal(struct us_loop *l, int fd, unsigned ev, void *arg);

static void serve_usage(FILE *out)
{
	fputs("usage: ustack serve (--tap NAME | --tun NAME) --ip ADDR/PREFIX [options]\n"
	      "\n"
	      "Opens (creating if absent) the device, gives the kernel's side of it --host-ip,\n"
	      "takes --ip for the stack, prints a line with 'ready' once it answers, and serves\n"
	      "until SIGINT or SIGTERM; then prints its counters, removes a device it created\n"
	      "and exits 0. SIGUSR1 prints the counters and the\n"
	      "live TCP connections (like ss -ti) without stopping.\n"
	      "\n"
	      "  --tap NAME           an Ethernet (TAP) device: ARP, IPv4, ICMP, UDP\n"
	      "  --tun NAME           an IP (TUN) device: no link layer\n"
	      "  --ip ADDR/PREFIX     the stack's address and subnet (required)\n"
	      "  --host-ip ADDR/PREFIX  address given to the kernel's side of the device\n"
	      "  --gateway ADDR       default route via ADDR\n"
	      "  --mtu N              MTU of the device and the stack (68..65535)\n"
	      "  --mac MAC            the stack's Ethernet address (default: random, locally administered)\n"
	      "  --pcap FILE          write every frame in both directions to FILE\n"
	      "  --udp-echo PORT      echo UDP datagrams on PORT (repeatable)\n"
	      "  --tcp-echo PORT      TCP echo (RFC 862) on PORT (repeatable)\n"
	      "  --discard PORT       TCP discard (RFC 863) on PORT\n"
	      "  --chargen PORT       TCP character generator (RFC 864) on PORT\n"
	      "  --source PORT        TCP source: sends a constant pattern as fast as it can (benchmarks)\n"
	      "  --iperf3 PORT        an iperf3-compatible server (TCP tests, -R and -P; one test at a time)\n"
	      "  --http PORT[:DIR]    HTTP/1.1 (GET, HEAD, keep-alive) serving files from DIR\n"
	      "                       (without DIR: a small page at / and 404 elsewhere)\n"
	      "  --seed N             fixed random seed (tests only: makes ISNs, ports and IDs predictable)\n"
	      "  -h, --help           this text\n",
	      out);
}

#define MAX_SVC 16

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		APP_NET_LONGOPTS,
		{"udp-echo", required_argument, 0, 'u'}, {"seed", required_argument, 0, 's'},
		{"tcp-echo", required_argument, 0, 'E'}, {"discard", required_argument, 0, 'D'},
		{"chargen", required_argument, 0, 'C'}, {"http", required_argument, 0, 'W'},
		{"source", required_argument, 0, 'S'}, {"iperf3", required_argument, 0, 'I'},
		{"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
	};
	struct app_net n;
	memset(&n, 0, sizeof(n));
	uint16_t udp_echo[MAX_SVC];
	int n_udp = 0, has_ip = 0, n_tcp = 0;
	uint16_t iperf3_port = 0;
	struct {
		const char *kind;
		uint16_t port;
		char *dir;
	} tcp_svc[MAX_SVC];
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (n_udp >= MAX_SVC)
				app_usage_error("too many --udp-echo ports");
			if (app_parse_port(optarg, &udp_echo[n_udp++]) < 0)
				app_usage_error("--udp-echo wants a port 1..65535, got '%s'", optarg);
			break;
		case 's': {
			char *end;
			errno = 0;
			n.seed = strtoull(optarg, &end, 0);
			if (!*optarg || *end || errno || !n.seed)
				app_usage_error("--seed wants a positive number, got '%s'", optarg);
			break;
		}
		case 'I':
			if (app_parse_port(optarg, &iperf3_port) < 0)
				app_usage_error("--iperf3 wants a port 1..65535, got '%s'", optarg);
			break;
		case 'E':
		case 'D':
		case 'C':
		case 'S':
		case 'W': {
			if (n_tcp >= MAX_SVC)
				app_usage_error("too many TCP services");
			const char *kind = c == 'E' ? "echo" : c == 'D' ? "discard" : c == 'C' ? "chargen" : c == 'S' ? "source" : "http";
			char *colon = c == 'W' ? strchr(optarg, ':') : NULL;
			if (colon)
				*colon = 0;
			if (app_parse_port(optarg, &tcp_svc[n_tcp].port) < 0)
				app_usage_error("--%s wants a port 1..65535, got '%s'", c == 'E' ? "tcp-echo" : kind, optarg);
			tcp_svc[n_tcp].kind = kind;
			tcp_svc[n_tcp].dir = colon ? colon + 1 : NULL;
			n_tcp++;
			break;
		}
		case 'h': serve_usage(stdout); return 0;
		default:
			if (!app_net_option(c, optarg, &n, &has_ip))
				app_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		app_usage_error("unexpected argument '%s'", argv[optind]);
	app_net_check(&n, has_ip);

	/* Signals arrive through a signalfd in the loop: no handler races. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		perror("ustack: signalfd");
		return 1;
	}

	struct app_stack a;
	if (app_stack_open(&n, &a) < 0)
		return 1;
	for (int i = 0; i < n_udp; i++) {
		int rc = svc_udp_echo(a.st, udp_echo[i]);
		if (rc < 0) {
			fprintf(stderr, "ustack: cannot serve UDP echo on port %u: %s\n", udp_echo[i], strerror(-rc));
			app_stack_close(&a);
			return 1;
		}
	}
	for (int i = 0; i < n_tcp; i++) {
		int rc = svc_tcp(a.st, tcp_svc[i].kind, tcp_svc[i].port, tcp_svc[i].dir);
		if (rc < 0) {
			fprintf(stderr, "ustack: cannot serve TCP %s on port %u: %s\n", tcp_svc[i].kind, tcp_svc[i].port,
				strerror(-rc));
			app_stack_close(&a);
			return 1;
		}
	}
	if (iperf3_port) {
		int rc = svc_iperf3(a.st, iperf3_port);
		if (rc < 0) {
			fprintf(stderr, "ustack: cannot serve iperf3 on port %u: %s\n", iperf3_port, strerror(-rc));
			svc_free_all(a.st);
			app_stack_close(&a);
			return 1;
		}
	}
	struct us_loop *loop = us_loop_new(a.st);
	if (!loop) {
		fprintf(stderr, "ustack: cannot create the event loop\n");
		app_stack_close(&a);
		return 1;
	}
	struct sig_ctx sc = {a.st};
	us_loop_add_fd(loop, sfd, 0x001 /* EPOLLIN */, on_signal, &sc);

	char ipbuf[32];
	inet_ntop(AF_INET, &n.ip, ipbuf, sizeof(ipbuf));
	printf("ustack: ready on %s %s/%d%s\n", a.devname, ipbuf, n.ip_plen, a.created ? " (device created)" : "");
	fflush(stdout);
	int rc = us_loop_run(loop, -1);
	if (rc < 0)
		fprintf(stderr, "ustack: event loop failed: %s\n", strerror(-rc));
	printf("ustack: stopping\n");
	app_print_stats(a.st, stdout);
	us_loop_free(loop);
	svc_iperf3_free(a.st);
	svc_free_all(a.st);
	app_stack_close(&a);
	close(sfd);
	return rc < 0 ? 1 : 0;
}

static void on_signal(struct us_loop *l, int fd, unsigned ev, void *arg)
{
	struct sig_ctx *sc = arg;
	(void)ev;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			app_print_stats(sc->st, stdout);
			app_print_conns(sc->st, stdout);
		}
		else
			us_loop_stop(l);
	}
}
