/* ustack demo: the whole show in a private network namespace. The process
 * moves itself into a new namespace (gone when it exits), creates a TAP
 * device there, runs a stack on it in a thread, and lets the kernel ping
 * it and talk UDP to it. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "ustack/host.h"

#define DEMO_DEV "usdemo0"
#define DEMO_HOST "10.77.0.1"
#define DEMO_STACK "10.77.0.2"
#define DEMO_ECHO_PORT 7
#define DEMO_CLOSED_PORT 9

struct demo {
	struct app_stack a;
	struct us_loop *loop;
	int efd;
	int loop_rc;
};

static void on_stop(struct us_loop *l, int fd, unsigned ev, void *arg)
{
	(void)ev;
	(void)arg;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		us_loop_stop(l);
}

static void *stack_thread(void *arg)
{
	struct demo *d = arg;
	d->loop_rc = us_loop_run(d->loop, 120000);   /* bounded, whatever happens */
	return NULL;
}

static int run(char *const argv[])
{
	printf("$");
	for (int i = 0; argv[i]; i++)
		printf(" %s", argv[i]);
	printf("\n");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "ustack demo: cannot run %s: %s (install iputils-ping)\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Send len bytes to port from a kernel UDP socket and wait for the echo. */
static int udp_round_trip(size_t len, uint16_t port, int *err_out)
{
	*err_out = 0;   /* written on every path: the caller reads it */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, DEMO_STACK, &to.sin_addr);
	int rc = -1;
	uint8_t *out = malloc(len), *in = malloc(len + 1);
	if (!out || !in)
		goto done;
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(i * 7 + 3);
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 || send(fd, out, len, 0) != (ssize_t)len)
		goto done;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, 3000) <= 0)
		goto done;
	ssize_t n = recv(fd, in, len + 1, 0);
	if (n < 0) {
		*err_out = errno;
		goto done;
	}
	rc = (n == (ssize_t)len && !memcmp(in, out, len)) ? 0 : -1;
done:
	free(out);
	free(in);
	close(fd);
	return rc;
}

int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pcap", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *pcap = NULL;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'p')
			pcap = optarg;
		else if (c == 'h') {
			puts("usage: ustack demo [--pcap FILE]\n\n"
			     "Creates a private network namespace (it vanishes when the demo exits), a TAP\n"
			     "device " DEMO_DEV " in it with the kernel at " DEMO_HOST "/24 and ustack at " DEMO_STACK "/24,\n"
			     "then has the kernel ping ustack (small, and 8000 bytes: fragmented both ways),\n"
			     "echo UDP datagrams of 22 and 60000 bytes off it, and send a datagram to a\n"
			     "closed port. Prints what happened and the stack's counters. Needs root.\n\n"
			     "  --pcap FILE   write every frame ustack sees and sends to FILE");
			return 0;
		} else
			app_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
	}
	if (optind < argc)
		app_usage_error("unexpected argument '%s'", argv[optind]);
	if (geteuid() != 0) {
		fprintf(stderr, "ustack demo: needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to create a private "
				"network namespace and a TAP device in it; run it as root or with sudo\n");
		return 1;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "ustack demo: cannot create a network namespace: %s\n", strerror(errno));
		return 1;
	}
	us_nl_link_set_up("lo", 1);
	printf("ustack demo: in a new network namespace; creating TAP %s: kernel %s/24, ustack %s/24\n", DEMO_DEV,
	       DEMO_HOST, DEMO_STACK);

	struct demo d;
	memset(&d, 0, sizeof(d));
	struct app_net n;
	memset(&n, 0, sizeof(n));
	n.tap = DEMO_DEV;
	app_parse_cidr(DEMO_STACK "/24", &n.ip, &n.ip_plen, 1);
	n.has_ip4 = 1;
	app_parse_cidr(DEMO_HOST "/24", &n.host_ip, &n.host_plen, 1);
	n.has_host_ip = 1;
	n.pcap = pcap;
	if (app_stack_open(&n, &d.a) < 0)
		return 1;
	if (svc_udp_echo(d.a.st, DEMO_ECHO_PORT) < 0) {
		app_stack_close(&d.a);
		return 1;
	}
	d.loop = us_loop_new(d.a.st);
	d.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!d.loop || d.efd < 0 || us_loop_add_fd(d.loop, d.efd, 0x001, on_stop, NULL) < 0) {
		fprintf(stderr, "ustack demo: cannot set up the event loop\n");
		app_stack_close(&d.a);
		return 1;
	}
	pthread_t th;
	if (pthread_create(&th, NULL, stack_thread, &d) != 0) {
		fprintf(stderr, "ustack demo: cannot start the stack thread\n");
		app_stack_close(&d.a);
		return 1;
	}
	printf("ustack demo: ready; ustack echoes UDP on port %d\n\n", DEMO_ECHO_PORT);

	int failures = 0;
	printf("== the kernel pings ustack\n");
	char *ping1[] = {"ping", "-c", "3", "-i", "0.2", "-W", "2", DEMO_STACK, NULL};
	int ok_ping = run(ping1) == 0;
	failures += !ok_ping;
	printf("\n== an 8000-byte ping: fragmented by the kernel, reassembled by ustack, answered in fragments\n");
	char *ping2[] = {"ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "8000", DEMO_STACK, NULL};
	int ok_big = run(ping2) == 0;
	failures += !ok_big;

	int err;
	printf("\n== UDP echo from a kernel socket\n");
	int ok_udp = udp_round_trip(22, DEMO_ECHO_PORT, &err) == 0;
	printf("22-byte datagram to %s:%d: %s\n", DEMO_STACK, DEMO_ECHO_PORT, ok_udp ? "echoed intact" : "FAILED");
	int ok_udp_big = udp_round_trip(60000, DEMO_ECHO_PORT, &err) == 0;
	printf("60000-byte datagram (41 fragments each way): %s\n", ok_udp_big ? "echoed intact" : "FAILED");
	failures += !ok_udp + !ok_udp_big;

	printf("\n== UDP to a closed port\n");
	udp_round_trip(5, DEMO_CLOSED_PORT, &err);
	int ok_refused = err == ECONNREFUSED;
	printf("datagram to %s:%d: kernel socket reports %s\n", DEMO_STACK, DEMO_CLOSED_PORT,
	       err ? strerror(err) : "nothing (FAILED: expected connection refused)");
	failures += !ok_refused;

	uint64_t one = 1;
	if (write(d.efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		fprintf(stderr, "ustack demo: cannot stop the stack thread\n");
	pthread_join(th, NULL);

	const struct us_stats *s = us_stack_stats(d.a.st);
	printf("\n== what ustack counted\n");
	printf("Arp: InRequests %llu OutReplies %llu OutRequests %llu InReplies %llu\n",
	       (unsigned long long)s->arp.InRequests, (unsigned long long)s->arp.OutReplies,
	       (unsigned long long)s->arp.OutRequests, (unsigned long long)s->arp.InReplies);
	printf("Ip: InReceives %llu InDelivers %llu ReasmReqds %llu ReasmOKs %llu FragOKs %llu FragCreates %llu "
	       "InHdrErrors %llu InCsumErrors %llu\n",
	       (unsigned long long)s->ip.InReceives, (unsigned long long)s->ip.InDelivers,
	       (unsigned long long)s->ip.ReasmReqds, (unsigned long long)s->ip.ReasmOKs,
	       (unsigned long long)s->ip.FragOKs, (unsigned long long)s->ip.FragCreates,
	       (unsigned long long)s->ip.InHdrErrors, (unsigned long long)s->ip.InCsumErrors);
	printf("Icmp: InEchos %llu OutEchoReps %llu OutDestUnreachs %llu\n", (unsigned long long)s->icmp.InEchos,
	       (unsigned long long)s->icmp.OutEchoReps, (unsigned long long)s->icmp.OutDestUnreachs);
	printf("Udp: InDatagrams %llu OutDatagrams %llu NoPorts %llu InErrors %llu\n",
	       (unsigned long long)s->udp.InDatagrams, (unsigned long long)s->udp.OutDatagrams,
	       (unsigned long long)s->udp.NoPorts, (unsigned long long)s->udp.InErrors);
	us_loop_free(d.loop);
	close(d.efd);
	app_stack_close(&d.a);
	printf("\nustack demo: %s\n", failures ? "SOME STEPS FAILED" : "all steps passed");
	if (pcap)
		printf("ustack demo: frames written to %s (open with wireshark or tshark -r)\n", pcap);
	return failures ? 1 : 0;
}
