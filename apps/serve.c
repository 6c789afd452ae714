/* ustack serve: a stack on a TAP or TUN device serving until a signal. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "control.h"

#include <arpa/inet.h>

struct sig_ctx {
	struct us_stack *st;
};

static void on_signal(struct us_loop *l, int fd, unsigned ev, void *arg);

/* The control socket (control.h) of a single stack: arg is its app_stack. */
static void serve_counters(void *arg, app_ctl_visit_fn visit, void *vctx)
{
	app_ctl_stack_counters(((struct app_stack *)arg)->st, visit, vctx);
}

static void serve_sockets(void *arg, FILE *out, unsigned flags)
{
	app_ctl_stack_sockets(((struct app_stack *)arg)->st, out, flags);
}

static void on_control(struct us_loop *l, int fd, unsigned ev, void *arg)
{
	(void)l;
	(void)fd;
	(void)ev;
	app_ctl_handle(arg);
}

static void serve_usage(FILE *out)
{
	fputs("usage: ustack serve (--tap NAME | --tun NAME | --xdp IFACE[:QUEUE] | --af-packet IFACE)\n"
	      "                    --ip ADDR/PREFIX [options]\n"
	      "\n"
	      "Opens (creating if absent) the device, gives the kernel's side of it --host-ip,\n"
	      "takes --ip for the stack, prints a line with 'ready' once it answers, and serves\n"
	      "until SIGINT or SIGTERM; then prints its counters, removes a device it created\n"
	      "and exits 0. SIGUSR1 prints the counters and the\n"
	      "live TCP connections (like ss -ti) without stopping. While it runs, `ustack stats\n"
	      "DEV` and `ustack ss DEV` show them (its control socket: /run/ustack/DEV.sock).\n"
	      "\n"
	      "  --tap NAME           an Ethernet (TAP) device: ARP, IPv4, ICMP, UDP\n"
	      "  --tun NAME           an IP (TUN) device: no link layer\n"
	      "  --xdp IFACE[:QUEUE]  AF_XDP on queue QUEUE (default 0) of an existing interface: the\n"
	      "                       stack takes the frames for --ip (an XDP program steers them), the\n"
	      "                       kernel keeps the rest; zero-copy where the driver has it\n"
	      "  --xdp-mode MODE      auto (default), copy, zerocopy (or fail) or skb (generic XDP)\n"
	      "  --af-packet IFACE    AF_PACKET rings on an existing interface (where XDP is missing)\n"
	      "                       (both use the interface's MAC; --queues N: queues QUEUE..QUEUE+N-1,\n"
	      "                       or an AF_PACKET fanout group of N)\n"
	      "  --ip ADDR/PREFIX     the stack's address and subnet (required; IPv4 or IPv6,\n"
	      "                       repeatable: one IPv4 and up to 4 IPv6 addresses)\n"
	      "  --host-ip ADDR/PREFIX  address given to the kernel's side of the device (either\n"
	      "                       family, repeatable)\n"
	      "  --gateway ADDR       default route via ADDR (once per family)\n"
	      "  --mtu N              MTU of the device and the stack (68..65535)\n"
	      "  --mac MAC            the stack's Ethernet address (default: random, locally administered)\n"
	      "  --pcap FILE          write every frame in both directions to FILE\n"
	      "  --no-offload         plain MTU-sized frames: no virtio-net header, TSO or checksum\n"
	      "                       offload (by default TCP moves up to 64 KiB per frame)\n"
	      "  --no-ipv6            no IPv6 at all: no link-local address, NDP or router\n"
	      "                       solicitations, IPv6 frames dropped (Linux's disable_ipv6)\n"
	      "  --no-ra              ignore router advertisements: no SLAAC address, default router,\n"
	      "                       MTU or hop limit learnt from them (Linux's accept_ra=0)\n"
	      "  --stable-secret KEY  link-local and SLAAC addresses get RFC 7217 stable, opaque\n"
	      "                       identifiers keyed by KEY (128 bits written as an IPv6 address,\n"
	      "                       as Linux's stable_secret) instead of EUI-64 from the MAC\n"
	      "  --cc NAME            TCP congestion control of new connections: bbr (default), cubic or reno\n"
	      "  --busy-poll USEC     after a frame comes in, poll the device for USEC more instead of\n"
	      "                       sleeping: no wakeup per burst, for a spinning CPU (default 0)\n"
	      "  --udp-echo PORT      echo UDP datagrams on PORT (repeatable)\n"
	      "  --tcp-echo PORT      TCP echo (RFC 862) on PORT (repeatable)\n"
	      "  --discard PORT       TCP discard (RFC 863) on PORT\n"
	      "  --discard-zc PORT    the same, reading in place (us_recv_zc, us_recv_done)\n"
	      "  --chargen PORT       TCP character generator (RFC 864) on PORT\n"
	      "  --source PORT        TCP source: sends a constant pattern as fast as it can (benchmarks)\n"
	      "  --iperf3 PORT        an iperf3-compatible server (TCP tests, -R and -P; one test at a time)\n"
	      "  --http PORT[:DIR]    HTTP/1.1 (GET, HEAD, keep-alive) serving files from DIR\n"
	      "                       (without DIR: a small page at / and 404 elsewhere)\n"
	      "  --udp-sink PORT      a UDP socket on PORT that never reads (its queue fills)\n"
	      "  --max-conns N        TCP connections of every state at most (default 8192)\n"
	      "  --tcp-mem MIB        TCP send+receive buffers of all connections at most (default 512)\n"
	      "  --queues N           a multi-queue device served by N stacks, one thread and CPU each\n"
	      "                       (flows spread by the kernel's flow hash; default 1)\n"
	      "  --max-memory N[K|M|G]  the stack's memory budget (mem_max): TCP buffers and packets\n"
	      APP_CTL_USAGE
	      "  --seed N             fixed random seed (tests only: makes ISNs, ports and IDs predictable)\n"
	      "  --describe           the counter dumps (SIGUSR1, exit) give each counter's description\n"
	      "  -h, --help           this text\n",
	      out);
}

#define MAX_SVC 16
#define MAX_QUEUES 8

struct services {
	uint16_t udp_echo[MAX_SVC], udp_sink[MAX_SVC];
	int n_udp, n_sink, n_tcp;
	uint16_t iperf3_port;
	struct {
		const char *kind;
		uint16_t port;
		char *dir;
	} tcp[MAX_SVC];
};

/* Every service on one stack; sink_fd gets the UDP sinks' sockets. */
static int services_start(struct us_stack *st, const struct services *sv, int *sink_fd)
{
	for (int i = 0; i < sv->n_udp; i++) {
		int rc = svc_udp_echo(st, sv->udp_echo[i]);
		if (rc < 0) {
			fprintf(stderr, "ustack: cannot serve UDP echo on port %u: %s\n", sv->udp_echo[i], strerror(-rc));
			return -1;
		}
	}
	for (int i = 0; i < sv->n_sink; i++) {
		int rc = svc_udp_sink(st, sv->udp_sink[i]);
		sink_fd[i] = rc;
		if (rc < 0) {
			fprintf(stderr, "ustack: cannot open UDP sink on port %u: %s\n", sv->udp_sink[i], strerror(-rc));
			return -1;
		}
	}
	for (int i = 0; i < sv->n_tcp; i++) {
		int rc = svc_tcp(st, sv->tcp[i].kind, sv->tcp[i].port, sv->tcp[i].dir);
		if (rc < 0) {
			fprintf(stderr, "ustack: cannot serve TCP %s on port %u: %s\n", sv->tcp[i].kind, sv->tcp[i].port,
				strerror(-rc));
			return -1;
		}
	}
	if (sv->iperf3_port) {
		int rc = svc_iperf3(st, sv->iperf3_port);
		if (rc < 0) {
			fprintf(stderr, "ustack: cannot serve iperf3 on port %u: %s\n", sv->iperf3_port, strerror(-rc));
			return -1;
		}
	}
	return 0;
}

static void print_ready(const struct app_net *n, const struct app_stack *a, int nq)
{
	char ipbuf[400] = "", qbuf[32] = "", bbuf[40] = "";
	size_t at = 0;
	if (n->has_ip4) {
		char b4[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &n->ip, b4, sizeof(b4));
		at += (size_t)snprintf(ipbuf + at, sizeof(ipbuf) - at, "%s/%d", b4, n->ip_plen);
	}
	for (int i = 0; i < n->n_ip6 && at < sizeof(ipbuf); i++) {
		char b6[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &n->ip6[i], b6, sizeof(b6));
		at += (size_t)snprintf(ipbuf + at, sizeof(ipbuf) - at, "%s%s/%d", at ? " " : "", b6, n->ip6_plen[i]);
	}
	if (nq > 1)
		snprintf(qbuf, sizeof(qbuf), ", %d queues", nq);
	if (n->busy_poll_us)
		snprintf(bbuf, sizeof(bbuf), ", busy poll %u us", n->busy_poll_us);
	printf("ustack: ready on %s %s%s, offloads: %s%s%s%s%s\n", a->devname, ipbuf,
	       a->created ? " (device created)" : "",
	       (a->offloads & US_LINK_OFF_TSO4) ? "checksum, TSO" : (a->offloads & US_LINK_OFF_CSUM) ? "checksum" : "none",
	       qbuf, bbuf, a->mode[0] ? ", " : "", a->mode);
	fflush(stdout);
}

/* ---- several queues: one stack, one thread, one CPU each ----------------
 * Each queue of a multi-queue device is its own stack with its own copy of
 * every service, on its own thread pinned to its own CPU; they share
 * nothing. The kernel picks a queue for each flow by its hash and keeps a
 * flow on the queue that last sent it (tun's automatic steering), so a
 * connection stays with the stack that owns it. Signals are taken by the
 * main thread and passed to each queue's loop through an eventfd. */
enum { Q_STOP = 1, Q_DUMP = 2, Q_SNAP = 4 };

/* What a queue's thread copies out for the control socket (Q_SNAP): its
 * counters, and its connections as ss lines if asked. */
struct snap {
	struct us_stats stats;
	struct us_mem_info mi;
	uint64_t bufs;
	unsigned ss_flags;      /* APP_CTL_SS_*; 0: no ss lines wanted */
	int want_ss;
	char *ss;               /* malloc'ed lines */
	size_t ss_len;
	uint64_t gen;           /* the request this answers */
};

struct queue {
	struct app_stack a;
	struct us_loop *loop;
	const struct services *sv;
	int efd, q, ok;
	_Atomic unsigned cmd;   /* Q_* bits; efd rings the bell (its counts add up, bits would not) */
	pthread_t th;
	struct snap snap;       /* under snap_lock */
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t snap_cond = PTHREAD_COND_INITIALIZER;

static void queue_snap(struct queue *qu)
{
	pthread_mutex_lock(&snap_lock);
	struct snap *sn = &qu->snap;
	unsigned flags = sn->ss_flags;
	int want_ss = sn->want_ss;
	pthread_mutex_unlock(&snap_lock);
	/* the stack is this thread's: read it without the lock held */
	struct us_stats stats = *us_stack_stats(qu->a.st);
	struct us_mem_info mi;
	us_stack_mem_info(qu->a.st, &mi);
	uint64_t bufs = us_stack_bufs_in_use(qu->a.st);
	char *ss = NULL;
	size_t ss_len = 0;
	if (want_ss) {
		FILE *f = open_memstream(&ss, &ss_len);
		if (f) {
			app_ctl_stack_sockets(qu->a.st, f, flags | APP_CTL_SS_NO_HEADER);
			fclose(f);
		}
	}
	pthread_mutex_lock(&snap_lock);
	sn->stats = stats;
	sn->mi = mi;
	sn->bufs = bufs;
	free(sn->ss);
	sn->ss = ss;
	sn->ss_len = ss ? ss_len : 0;
	sn->gen++;
	pthread_cond_broadcast(&snap_cond);
	pthread_mutex_unlock(&snap_lock);
}

static void on_queue_cmd(struct us_loop *l, int fd, unsigned ev, void *arg)
{
	struct queue *qu = arg;
	(void)ev;
	uint64_t ring;
	if (read(fd, &ring, sizeof(ring)) != (ssize_t)sizeof(ring))
		return;
	unsigned v = atomic_exchange(&qu->cmd, 0u);
	if (v & Q_DUMP) {
		pthread_mutex_lock(&out_lock);
		printf("\nqueue %d:\n", qu->q);
		app_print_addrs(qu->a.st, stdout);
		app_print_stats(qu->a.st, stdout);
		app_print_conns(qu->a.st, stdout);
		pthread_mutex_unlock(&out_lock);
	}
	if (v & Q_SNAP)
		queue_snap(qu);
	if (v & Q_STOP)
		us_loop_stop(l);
}

static void *queue_main(void *arg)
{
	struct queue *qu = arg;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu > 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(qu->q % ncpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	int sink_fd[MAX_SVC];
	/* services live in this thread (their lists are per thread) */
	if (services_start(qu->a.st, qu->sv, sink_fd) == 0) {
		qu->ok = 1;
		int rc = us_loop_run(qu->loop, -1);
		if (rc < 0) {
			qu->ok = 0;
			fprintf(stderr, "ustack: queue %d: event loop failed: %s\n", qu->q, strerror(-rc));
		}
		for (int i = 0; i < qu->sv->n_sink; i++)
			us_close(qu->a.st, sink_fd[i]);
	}
	svc_iperf3_free(qu->a.st);
	svc_free_all(qu->a.st);
	return NULL;
}

static void queues_signal(struct queue *qs, int nq, unsigned cmd)
{
	uint64_t one = 1;
	for (int i = 0; i < nq; i++) {
		atomic_fetch_or(&qs[i].cmd, cmd);
		if (qs[i].efd >= 0 && write(qs[i].efd, &one, sizeof(one)) < 0)
			perror("ustack: eventfd");
	}
}

/* The control socket of a multi-queue serve: the main thread asks every
 * queue's thread for a copy (Q_SNAP) and waits up to 2 s for them. */
struct qctl {
	struct queue *qs;
	int nq;
};

static void queues_snap(struct qctl *qc, int want_ss, unsigned flags)
{
	uint64_t want[MAX_QUEUES];
	pthread_mutex_lock(&snap_lock);
	for (int i = 0; i < qc->nq; i++) {
		qc->qs[i].snap.want_ss = want_ss;
		qc->qs[i].snap.ss_flags = flags;
		want[i] = qc->qs[i].snap.gen + 1;
	}
	pthread_mutex_unlock(&snap_lock);
	queues_signal(qc->qs, qc->nq, Q_SNAP);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&snap_lock);
	for (int i = 0; i < qc->nq; i++)
		while (qc->qs[i].snap.gen < want[i])
			if (pthread_cond_timedwait(&snap_cond, &snap_lock, &until) == ETIMEDOUT)
				goto out;   /* a queue that does not answer: its last copy */
out:
	pthread_mutex_unlock(&snap_lock);
}

static void queues_counters(void *arg, app_ctl_visit_fn visit, void *vctx)
{
	struct qctl *qc = arg;
	queues_snap(qc, 0, 0);
	struct us_stats sum;
	struct us_mem_info msum;
	uint64_t bufs = 0, *t = (uint64_t *)&sum;
	memset(&sum, 0, sizeof(sum));
	memset(&msum, 0, sizeof(msum));
	pthread_mutex_lock(&snap_lock);
	for (int i = 0; i < qc->nq; i++) {
		const struct snap *sn = &qc->qs[i].snap;
		const uint64_t *c = (const uint64_t *)&sn->stats;
		for (size_t k = 0; k < sizeof(sum) / sizeof(uint64_t); k++)
			t[k] += c[k];
		msum.used += sn->mi.used;
		msum.peak += sn->mi.peak;   /* an upper bound: the queues peak apart */
		msum.max += sn->mi.max;
		msum.tcp += sn->mi.tcp;
		msum.pkts += sn->mi.pkts;
		msum.pool_reserved += sn->mi.pool_reserved;
		msum.pkt_refusals += sn->mi.pkt_refusals;
		bufs += sn->bufs;
	}
	pthread_mutex_unlock(&snap_lock);
	app_ctl_stats_counters(&sum, &msum, bufs, visit, vctx);
}

static void queues_sockets(void *arg, FILE *out, unsigned flags)
{
	struct qctl *qc = arg;
	queues_snap(qc, 1, flags);
	fputs(APP_CTL_SS_HEADER, out);
	pthread_mutex_lock(&snap_lock);
	for (int i = 0; i < qc->nq; i++)
		if (qc->qs[i].snap.ss)
			fwrite(qc->qs[i].snap.ss, 1, qc->qs[i].snap.ss_len, out);
	pthread_mutex_unlock(&snap_lock);
}

static int serve_queues(const struct app_net *n, const struct services *sv, int nq, int sfd)
{
	struct queue qs[MAX_QUEUES];
	struct us_stack *stacks[MAX_QUEUES];
	struct app_ctl *ctl = NULL;
	memset(qs, 0, sizeof(qs));
	int opened = 0, started = 0, rc = 1;
	for (int i = 0; i < nq; i++)
		qs[i].efd = -1;
	/* Before the device: a device a live ustack serves is refused untouched.
	 * Its callbacks run only once every queue's thread runs. */
	struct qctl qc = {qs, nq};
	struct app_ctl_ops ops = {"serve", queues_counters, queues_sockets, &qc};
	ctl = app_ctl_open(app_net_devname(n), n->metrics, &ops);
	if (!ctl)
		return 1;
	for (; opened < nq; opened++) {
		struct queue *qu = &qs[opened];
		qu->q = opened;
		qu->sv = sv;
		if (app_stack_open_queue(n, &qu->a, opened, nq, opened ? &qs[0].a : NULL) < 0)
			goto out;
		stacks[opened] = qu->a.st;
		qu->loop = app_loop_new(n, qu->a.st);
		qu->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (!qu->loop || qu->efd < 0 || us_loop_add_fd(qu->loop, qu->efd, 0x001, on_queue_cmd, qu) < 0) {
			fprintf(stderr, "ustack: cannot create queue %d's event loop\n", opened);
			opened++;
			goto out;
		}
	}
	for (; started < nq; started++)
		if (pthread_create(&qs[started].th, NULL, queue_main, &qs[started]) != 0) {
			fprintf(stderr, "ustack: cannot start queue %d's thread\n", started);
			goto out;
		}
	print_ready(n, &qs[0].a, nq);
	rc = 0;
	for (;;) {
		struct pollfd pfd[2] = {{sfd, POLLIN, 0}, {app_ctl_fd(ctl), POLLIN, 0}};
		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			perror("ustack: poll");
			rc = 1;
			break;
		}
		if (pfd[1].revents)
			app_ctl_handle(ctl);
		struct signalfd_siginfo si;
		int stop = 0;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGUSR1)
				queues_signal(qs, started, Q_DUMP);
			else
				stop = 1;
		}
		if (stop)
			break;
	}
out:
	queues_signal(qs, started, Q_STOP);
	for (int i = 0; i < started; i++)
		pthread_join(qs[i].th, NULL);
	app_ctl_close(ctl);
	for (int i = 0; i < nq; i++)
		free(qs[i].snap.ss);
	if (started == nq) {
		printf("ustack: stopping\n");
		for (int i = 0; i < nq; i++) {
			printf("\nqueue %d:\n", i);
			app_print_dev(&qs[i].a, stdout);
			app_print_addrs(qs[i].a.st, stdout);
			app_print_stats(qs[i].a.st, stdout);
			if (!qs[i].ok)
				rc = 1;
		}
		/* All queues together, last: what scripts read. */
		printf("\nall queues:\n");
		app_print_stats_sum(stacks, nq, stdout);
	}
	uint32_t lost = 0;
	for (int i = opened - 1; i >= 0; i--) {
		if (qs[i].loop)
			us_loop_free(qs[i].loop);
		if (qs[i].efd >= 0)
			close(qs[i].efd);
		if (qs[i].a.st && i < started) {
			lost += us_stack_free_leaks(qs[i].a.st);   /* the leak check, as with one queue */
			qs[i].a.st = NULL;
		} else if (qs[i].a.st) {
			app_stack_close(&qs[i].a);
		}
	}
	if (started == nq) {
		printf("Buffers lost at exit: %u\n", lost);
		fflush(stdout);
	}
	return rc;
}


int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		APP_NET_LONGOPTS, APP_CTL_LONGOPTS,
		{"udp-echo", required_argument, 0, 'u'}, {"seed", required_argument, 0, 's'},
		{"tcp-echo", required_argument, 0, 'E'}, {"discard", required_argument, 0, 'D'},
		{"chargen", required_argument, 0, 'C'}, {"http", required_argument, 0, 'W'},
		{"udp-sink", required_argument, 0, 'k'}, {"max-conns", required_argument, 0, 'X'},
		{"tcp-mem", required_argument, 0, 'Y'}, {"queues", required_argument, 0, 'q'},
		{"max-memory", required_argument, 0, 'Z'},
		{"source", required_argument, 0, 'S'}, {"iperf3", required_argument, 0, 'I'},
		{"discard-zc", required_argument, 0, 'z'}, {"describe", no_argument, 0, 'd'},
		{"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
	};
	struct app_net n;
	memset(&n, 0, sizeof(n));
	struct services sv;
	memset(&sv, 0, sizeof(sv));
	int has_ip = 0, nq = 1;
	struct us_stack_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (sv.n_udp >= MAX_SVC)
				app_usage_error("too many --udp-echo ports");
			if (app_parse_port(optarg, &sv.udp_echo[sv.n_udp++]) < 0)
				app_usage_error("--udp-echo wants a port 1..65535, got '%s'", optarg);
			break;
		case 'k':
			if (sv.n_sink >= MAX_SVC)
				app_usage_error("too many --udp-sink ports");
			if (app_parse_port(optarg, &sv.udp_sink[sv.n_sink++]) < 0)
				app_usage_error("--udp-sink wants a port 1..65535, got '%s'", optarg);
			break;
		case 'X':
		case 'Y': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || v < 1 || v > (c == 'X' ? 1000000ull : 1048576ull))
				app_usage_error("--%s wants a positive number, got '%s'", c == 'X' ? "max-conns" : "tcp-mem",
						optarg);
			if (c == 'X')
				n.tcp_max_conns = (uint32_t)v;
			else
				n.tcp_mem_max = v << 20;
			break;
		}
		case 's': {
			char *end;
			errno = 0;
			n.seed = strtoull(optarg, &end, 0);
			if (!*optarg || *end || errno || !n.seed)
				app_usage_error("--seed wants a positive number, got '%s'", optarg);
			break;
		}
		case 'I':
			if (app_parse_port(optarg, &sv.iperf3_port) < 0)
				app_usage_error("--iperf3 wants a port 1..65535, got '%s'", optarg);
			break;
		case 'E':
		case 'D':
		case 'C':
		case 'S':
		case 'z':
		case 'W': {
			if (sv.n_tcp >= MAX_SVC)
				app_usage_error("too many TCP services");
			const char *kind = c == 'E'   ? "echo"
					   : c == 'D' ? "discard"
					   : c == 'z' ? "discard-zc"
					   : c == 'C' ? "chargen"
					   : c == 'S' ? "source"
						      : "http";
			char *colon = c == 'W' ? strchr(optarg, ':') : NULL;
			if (colon)
				*colon = 0;
			if (app_parse_port(optarg, &sv.tcp[sv.n_tcp].port) < 0)
				app_usage_error("--%s wants a port 1..65535, got '%s'", c == 'E' ? "tcp-echo" : kind, optarg);
			sv.tcp[sv.n_tcp].kind = kind;
			sv.tcp[sv.n_tcp].dir = colon ? colon + 1 : NULL;
			sv.n_tcp++;
			break;
		}
		case 'q': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 1 || v > MAX_QUEUES)
				app_usage_error("--queues wants 1..%d, got '%s'", MAX_QUEUES, optarg);
			nq = (int)v;
			break;
		}
		case 'Z':
			if (app_parse_size(optarg, &cfg.mem_max) < 0 || cfg.mem_max < (1u << 20))
				app_usage_error("--max-memory wants a size of at least 1M (e.g. 64M), got '%s'", optarg);
			n.cfg = &cfg;
			break;
		case 'd': app_stats_describe(1); break;
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
	int sfd = app_signal_fd();
	if (sfd < 0) {
		perror("ustack: signalfd");
		return 1;
	}

	if (nq > 1) {
		int rc = serve_queues(&n, &sv, nq, sfd);
		close(sfd);
		return rc;
	}
	/* The control socket first: a device a live ustack serves is refused
	 * before it is touched. */
	struct app_stack a;
	memset(&a, 0, sizeof(a));
	struct app_ctl_ops ops = {"serve", serve_counters, serve_sockets, &a};
	struct app_ctl *ctl = app_ctl_open(app_net_devname(&n), n.metrics, &ops);
	if (!ctl) {
		close(sfd);
		return 1;
	}
	if (app_stack_open(&n, &a) < 0) {
		app_ctl_close(ctl);
		return 1;
	}
	int sink_fd[MAX_SVC];
	if (services_start(a.st, &sv, sink_fd) < 0) {
		svc_iperf3_free(a.st);
		svc_free_all(a.st);
		app_stack_close(&a);
		app_ctl_close(ctl);
		return 1;
	}
	struct us_loop *loop = app_loop_new(&n, a.st);
	if (!loop) {
		app_stack_close(&a);
		app_ctl_close(ctl);
		return 1;
	}
	struct sig_ctx sc = {a.st};
	us_loop_add_fd(loop, sfd, 0x001 /* EPOLLIN */, on_signal, &sc);
	us_loop_add_fd(loop, app_ctl_fd(ctl), 0x001, on_control, ctl);

	print_ready(&n, &a, 1);
	int rc = us_loop_run(loop, -1);
	if (rc < 0)
		fprintf(stderr, "ustack: event loop failed: %s\n", strerror(-rc));
	printf("ustack: stopping\n");
	app_print_dev(&a, stdout);
	app_print_addrs(a.st, stdout);
	for (int i = 0; i < sv.n_sink; i++)
		us_close(a.st, sink_fd[i]);   /* what it queued goes back to the pool */
	app_print_stats(a.st, stdout);
	app_ctl_close(ctl);
	us_loop_free(loop);
	svc_iperf3_free(a.st);
	svc_free_all(a.st);
	/* The leak check: buffers nothing owned once everything was released. */
	uint32_t lost = us_stack_free_leaks(a.st);
	a.st = NULL;
	printf("Buffers lost at exit: %u\n", lost);
	fflush(stdout);
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
			app_print_addrs(sc->st, stdout);
			app_print_stats(sc->st, stdout);
			app_print_conns(sc->st, stdout);
		}
		else
			us_loop_stop(l);
	}
}
