/* ustack demo: the whole show in a private network namespace. The process
 * moves itself into a new namespace (gone when it exits), creates a TAP
 * device there, runs a dual-stack ustack on it in a thread, and lets the
 * kernel ping it, talk UDP to it and download a file from its HTTP server
 * with curl, over IPv4 and IPv6. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "ustack/host.h"

#define DEMO_DEV "usdemo0"
#define DEMO_HOST "10.77.0.1"
#define DEMO_STACK "10.77.0.2"
#define DEMO_HOST6 "fd77::1"
#define DEMO_STACK6 "fd77::2"
#define DEMO_ECHO_PORT 7
#define DEMO_CLOSED_PORT 9
#define DEMO_HTTP_PORT 80
#define DEMO_FILE_BYTES (4u << 20)

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

/* Send len bytes to ustack's address (DEMO_STACK or DEMO_STACK6) and port
 * from a kernel UDP socket and wait for the echo. */
static int udp_round_trip(int family, size_t len, uint16_t port, int *err_out)
{
	*err_out = 0;   /* written on every path: the caller reads it */
	int fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_storage to;
	socklen_t tolen;
	memset(&to, 0, sizeof(to));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&to;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, DEMO_STACK6, &s6->sin6_addr);
		tolen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&to;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, DEMO_STACK, &s4->sin_addr);
		tolen = sizeof(*s4);
	}
	int rc = -1;
	uint8_t *out = malloc(len), *in = malloc(len + 1);
	if (!out || !in)
		goto done;
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(i * 7 + 3);
	if (connect(fd, (struct sockaddr *)&to, tolen) < 0 || send(fd, out, len, 0) != (ssize_t)len)
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

/* The SHA-256 of path as sha256sum prints it (64 hex digits) into out[65];
 * 0, or -1 (out is then ""). */
static int sha256_of(const char *path, char out[65])
{
	out[0] = 0;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "sha256sum '%s' 2>/dev/null", path);   /* path: ours, no quote in it */
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	char line[400];
	int ok = fgets(line, sizeof(line), f) && strlen(line) >= 64 && line[64] == ' ';
	pclose(f);
	if (!ok)
		return -1;
	memcpy(out, line, 64);
	out[64] = 0;
	return 0;
}

/* A file of DEMO_FILE_BYTES random bytes at dir/demo.bin for the HTTP server. */
static int make_file(const char *dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/demo.bin", dir);
	FILE *in = fopen("/dev/urandom", "rb"), *out = fopen(path, "wb");
	int rc = -1;
	if (in && out) {
		static unsigned char buf[65536];
		size_t left = DEMO_FILE_BYTES;
		while (left > 0) {
			size_t n = fread(buf, 1, APP_MIN(left, sizeof(buf)), in);
			if (n == 0 || fwrite(buf, 1, n, out) != n)
				break;
			left -= n;
		}
		rc = left == 0 ? 0 : -1;
	}
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

/* curl downloads url into got; 1 if its SHA-256 is want's. */
static int curl_check(const char *url, const char *got, const char *want)
{
	char *curl[] = {"curl", "-sS", "-g", "--max-time", "20", "-o", (char *)got, "-w",
			"%{size_download} bytes in %{time_total} s from %{remote_ip}\\n", (char *)url, NULL};
	char sum[65] = "";   /* sha256_of is not called when curl fails */
	int ok = run(curl) == 0 && sha256_of(got, sum) == 0 && !strcmp(sum, want);
	printf("SHA-256 %s: %s\n", sum[0] ? sum : "(none)", ok ? "the same as the file's" : "FAILED: not the file's");
	unlink(got);
	return ok;
}

/* Until DAD (RFC 4862 5.4) has made ustack's IPv6 address usable: a UDP
 * connect from it needs a source address. Runs the stack here, before its
 * thread starts; 0 once usable, -1 after about 5 s. */
static int wait_dad(struct us_loop *loop, struct us_stack *st)
{
	struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(DEMO_CLOSED_PORT)};
	inet_pton(AF_INET6, DEMO_HOST6, &to.sin6_addr);
	int s = us_socket(st, AF_INET6, SOCK_DGRAM, 0);
	if (s < 0)
		return -1;
	int rc = -1;
	for (int i = 0; i < 50; i++) {
		if (us_connect(st, s, (struct sockaddr *)&to, sizeof(to)) == 0) {
			rc = 0;
			break;
		}
		us_loop_run(loop, 100);
	}
	us_close(st, s);
	return rc;
}

static void print_counters(struct us_stack *st)
{
	static const char *const rows[][12] = {
		{"Arp", "InRequests", "OutReplies", "OutRequests", "InReplies"},
		{"Ip", "InReceives", "InDelivers", "ReasmReqds", "ReasmOKs", "FragOKs", "FragCreates", "InHdrErrors",
		 "InCsumErrors"},
		{"Icmp", "InEchos", "OutEchoReps", "OutDestUnreachs"},
		{"Ip6", "InReceives", "InDelivers", "ReasmReqds", "ReasmOKs", "FragOKs", "FragCreates", "InHdrErrors"},
		{"Icmp6", "InEchos", "OutEchoReplies", "OutDestUnreachs", "InNeighborSolicits", "OutNeighborAdvertisements",
		 "OutNeighborSolicits", "InNeighborAdvertisements"},
		{"Udp", "InDatagrams", "OutDatagrams", "NoPorts", "InErrors"},
		{"Tcp", "PassiveOpens", "InSegs", "OutSegs", "RetransSegs", "InErrs"},
	};
	const struct us_stats *s = us_stack_stats(st);
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		printf("%s:", rows[r][0]);
		for (int i = 1; i < 12 && rows[r][i]; i++) {
			char dotted[64];
			snprintf(dotted, sizeof(dotted), "%s.%s", rows[r][0], rows[r][i]);
			printf(" %s %lld", rows[r][i], (long long)us_stats_get(s, dotted));
		}
		printf("\n");
	}
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
			     "device " DEMO_DEV " in it with the kernel at " DEMO_HOST "/24 and " DEMO_HOST6 "/64, ustack\n"
			     "at " DEMO_STACK "/24 and " DEMO_STACK6 "/64. Over IPv4 and then IPv6 the kernel pings\n"
			     "ustack (small, and 8000 bytes: fragmented both ways), echoes UDP datagrams of\n"
			     "22 and 60000 bytes off it, sends a datagram to a closed port, and downloads a\n"
			     "4 MB file from ustack's HTTP server with curl, checked by its SHA-256. Prints\n"
			     "what happened and the stack's counters. Needs root, ping and curl.\n\n"
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
	printf("ustack demo: in a new network namespace; creating TAP %s: kernel %s/24 and %s/64, "
	       "ustack %s/24 and %s/64\n",
	       DEMO_DEV, DEMO_HOST, DEMO_HOST6, DEMO_STACK, DEMO_STACK6);
	char dir[] = "/tmp/ustack-demo.XXXXXX";
	char want[65];
	char file[64], got[64];
	if (!mkdtemp(dir)) {
		fprintf(stderr, "ustack demo: cannot make a directory in /tmp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(file, sizeof(file), "%s/demo.bin", dir);
	snprintf(got, sizeof(got), "%s/got.bin", dir);
	if (make_file(dir) < 0 || sha256_of(file, want) < 0) {
		fprintf(stderr, "ustack demo: cannot make the file to serve in %s (or run sha256sum)\n", dir);
		unlink(file);
		rmdir(dir);
		return 1;
	}

	struct demo d;
	memset(&d, 0, sizeof(d));
	struct app_net n;
	memset(&n, 0, sizeof(n));
	n.tap = DEMO_DEV;
	app_parse_cidr(DEMO_STACK "/24", &n.ip, &n.ip_plen, 1);
	n.has_ip4 = 1;
	app_parse_cidr(DEMO_HOST "/24", &n.host_ip, &n.host_plen, 1);
	n.has_host_ip = 1;
	app_parse_cidr6(DEMO_STACK6 "/64", &n.ip6[0], &n.ip6_plen[0], 1);
	n.n_ip6 = 1;
	app_parse_cidr6(DEMO_HOST6 "/64", &n.host_ip6[0], &n.host_ip6_plen[0], 1);
	n.n_host_ip6 = 1;
	n.pcap = pcap;
	int failures = 0;
	pthread_t th;
	if (app_stack_open(&n, &d.a) < 0)
		goto out_file;
	if (svc_udp_echo(d.a.st, DEMO_ECHO_PORT) < 0 || svc_tcp(d.a.st, "http", DEMO_HTTP_PORT, dir) < 0)
		goto out_stack;
	d.loop = us_loop_new(d.a.st);
	d.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!d.loop || d.efd < 0 || us_loop_add_fd(d.loop, d.efd, 0x001, on_stop, NULL) < 0) {
		fprintf(stderr, "ustack demo: cannot set up the event loop\n");
		goto out_stack;
	}
	printf("ustack demo: %s is tentative until duplicate address detection is done (RFC 4862)\n", DEMO_STACK6);
	if (wait_dad(d.loop, d.a.st) < 0) {
		fprintf(stderr, "ustack demo: %s did not become usable in 5 s\n", DEMO_STACK6);
		goto out_stack;
	}
	if (pthread_create(&th, NULL, stack_thread, &d) != 0) {
		fprintf(stderr, "ustack demo: cannot start the stack thread\n");
		goto out_stack;
	}
	printf("ustack demo: ready; ustack echoes UDP on port %d and serves %s over HTTP on port %d\n",
	       DEMO_ECHO_PORT, dir, DEMO_HTTP_PORT);

	for (int v6 = 0; v6 <= 1; v6++) {
		const char *ip = v6 ? DEMO_STACK6 : DEMO_STACK, *fam = v6 ? "IPv6" : "IPv4";
		char *ping_small[] = {"ping", v6 ? "-6" : "-4", "-c", "3", "-i", "0.2", "-W", "2", (char *)ip, NULL};
		char *ping_big[] = {"ping", v6 ? "-6" : "-4", "-c", "2", "-i", "0.2", "-W", "2", "-s", "8000", (char *)ip,
				    NULL};
		printf("\n== %s: the kernel pings ustack\n", fam);
		failures += run(ping_small) != 0;
		printf("\n== %s: an 8000-byte ping: fragmented by the kernel, reassembled by ustack, answered in "
		       "fragments\n",
		       fam);
		failures += run(ping_big) != 0;

		int err;
		printf("\n== %s: UDP echo from a kernel socket\n", fam);
		int ok_udp = udp_round_trip(v6 ? AF_INET6 : AF_INET, 22, DEMO_ECHO_PORT, &err) == 0;
		printf("22-byte datagram to %s port %d: %s\n", ip, DEMO_ECHO_PORT, ok_udp ? "echoed intact" : "FAILED");
		int ok_udp_big = udp_round_trip(v6 ? AF_INET6 : AF_INET, 60000, DEMO_ECHO_PORT, &err) == 0;
		printf("60000-byte datagram (%s fragments each way): %s\n", v6 ? "42" : "41",
		       ok_udp_big ? "echoed intact" : "FAILED");
		failures += !ok_udp + !ok_udp_big;

		printf("\n== %s: UDP to a closed port\n", fam);
		udp_round_trip(v6 ? AF_INET6 : AF_INET, 5, DEMO_CLOSED_PORT, &err);
		int ok_refused = err == ECONNREFUSED;
		printf("datagram to %s port %d: kernel socket reports %s\n", ip, DEMO_CLOSED_PORT,
		       err ? strerror(err) : "nothing (FAILED: expected connection refused)");
		failures += !ok_refused;

		char url[80];
		snprintf(url, sizeof(url), v6 ? "http://[%s]:%d/demo.bin" : "http://%s:%d/demo.bin", ip, DEMO_HTTP_PORT);
		printf("\n== %s: curl downloads %u MB from ustack's HTTP server over TCP\n", fam, DEMO_FILE_BYTES >> 20);
		failures += !curl_check(url, got, want);
	}

	uint64_t one = 1;
	if (write(d.efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		fprintf(stderr, "ustack demo: cannot stop the stack thread\n");
	pthread_join(th, NULL);

	printf("\n== what ustack counted\n");
	print_counters(d.a.st);
	us_loop_free(d.loop);
	close(d.efd);
	app_stack_close(&d.a);
	unlink(file);
	rmdir(dir);
	printf("\nustack demo: %s\n", failures ? "SOME STEPS FAILED" : "all steps passed");
	if (pcap)
		printf("ustack demo: frames written to %s (open with wireshark or tshark -r)\n", pcap);
	return failures ? 1 : 0;
out_stack:
	if (d.loop)
		us_loop_free(d.loop);
	if (d.efd > 0)
		close(d.efd);
	app_stack_close(&d.a);
out_file:
	unlink(file);
	rmdir(dir);
	return 1;
}
