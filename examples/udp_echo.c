/* A UDP echo server on a TAP device, built against the installed library:
 *
 *     cc udp_echo.c $(pkg-config --cflags --libs ustack) -o udp_echo
 *     ./udp_echo ustap0 10.0.0.2/24 10.0.0.1/24 [SECONDS]
 *
 * creates (or opens) the TAP device ustap0, gives the kernel's side
 * 10.0.0.1/24 (ustack/host.h: no ip(8) needed), runs a stack with
 * 10.0.0.2/24 on it and echoes every datagram sent to port 7, for SECONDS
 * (default 30) or until killed. Needs root (or CAP_NET_ADMIN); try it in
 * a private namespace: unshare -n ./udp_echo ... */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ustack/host.h>
#include <ustack/ustack.h>

static int cidr(const char *s, struct in_addr *a, int *plen)
{
	char ip[32];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return -1;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = 0;
	*plen = atoi(slash + 1);
	return inet_pton(AF_INET, ip, a) == 1 && *plen > 0 && *plen <= 32 ? 0 : -1;
}

/* Readable: echo each waiting datagram to where it came from. */
static void on_udp(struct us_stack *st, int s, unsigned events, void *arg)
{
	(void)arg;
	if (!(events & US_POLLIN))
		return;
	char buf[65536];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n;
	while ((n = us_recvfrom(st, s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) >= 0) {
		us_sendto(st, s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
		fl = sizeof(from);
	}
}

int main(int argc, char **argv)
{
	struct in_addr me, host;
	int plen, hplen;
	if (argc < 4 || cidr(argv[2], &me, &plen) < 0 || cidr(argv[3], &host, &hplen) < 0) {
		fprintf(stderr, "usage: %s TAP ADDR/PLEN HOST-ADDR/PLEN [SECONDS]\n", argv[0]);
		return 2;
	}
	int seconds = argc > 4 ? atoi(argv[4]) : 30;
	int created, err;
	struct us_link *l = us_link_tap_open(argv[1], &created, &err);
	if (!l) {
		char msg[160];
		fprintf(stderr, "%s\n", us_tun_strerror(err, msg, sizeof(msg)));
		return 1;
	}
	/* The kernel's side of the device. */
	if (us_nl_addr_add(argv[1], host, hplen) < 0 || us_nl_link_set_up(argv[1], 1) < 0) {
		fprintf(stderr, "cannot configure %s (root?)\n", argv[1]);
		us_link_close(l);
		return 1;
	}
	struct us_stack *st = us_stack_new(NULL);
	if (!st)
		return 1;
	int ifx = us_iface_add(st, l);
	us_iface_addr_add(st, ifx, me, plen);
	us_iface_up(st, ifx);
	int s = us_socket(st, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(7)};
	if (us_bind(st, s, (struct sockaddr *)&any, sizeof(any)) < 0)
		return 1;
	us_sock_set_callback(st, s, on_udp, NULL);
	struct us_loop *loop = us_loop_new(st);
	printf("ustack %s: UDP echo on %s port 7 (%s), for %d s\n", us_version(), argv[2], argv[1], seconds);
	fflush(stdout);
	us_loop_run(loop, seconds * 1000);
	us_loop_free(loop);
	uint32_t lost = us_stack_free_leaks(st);
	return lost ? 1 : 0;
}
