/* A TCP server on a TAP device, built against the installed library:
 *
 *     cc tcp_server.c $(pkg-config --cflags --libs ustack) -o tcp_server
 *     ./tcp_server ustap0 10.0.0.2/24 10.0.0.1/24 [SECONDS]
 *
 * Every connection to port 8000 gets a greeting line, then has each line it
 * sends echoed back in upper case, until it closes. Non-blocking sockets
 * with readiness callbacks: the pattern for any server on ustack. Needs
 * root; try it in a private namespace (unshare -n). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ustack/host.h>
#include <ustack/ustack.h>

#define PORT 8000

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

/* A connection: read what came, send it back in upper case. A reply the
 * send buffer cannot take at once is kept to the next writable event. */
struct conn {
	char out[4096];
	size_t out_len;
};

static void flush_out(struct us_stack *st, int s, struct conn *c)
{
	while (c->out_len) {
		ssize_t n = us_send(st, s, c->out, c->out_len, 0);
		if (n <= 0)
			return;
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
}

static void on_conn(struct us_stack *st, int s, unsigned events, void *arg)
{
	struct conn *c = arg;
	(void)events;
	flush_out(st, s, c);
	/* Read while there is room for the reply (else wait for it to drain). */
	while (c->out_len < sizeof(c->out)) {
		char buf[1024];
		size_t room = sizeof(c->out) - c->out_len;
		ssize_t n = us_recv(st, s, buf, room < sizeof(buf) ? room : sizeof(buf), 0);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {   /* the peer closed, or an error */
			us_close(st, s);
			free(c);
			return;
		}
		for (ssize_t i = 0; i < n; i++)
			c->out[c->out_len++] = (char)toupper((unsigned char)buf[i]);
		flush_out(st, s, c);
	}
}

static void on_listen(struct us_stack *st, int l, unsigned events, void *arg)
{
	(void)arg;
	if (!(events & US_POLLIN))
		return;
	int s;
	while ((s = us_accept(st, l, NULL, NULL)) >= 0) {
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			us_close(st, s);
			continue;
		}
		const char *hello = "hello from ustack\n";
		memcpy(c->out, hello, strlen(hello));
		c->out_len = strlen(hello);
		flush_out(st, s, c);
		us_sock_set_callback(st, s, on_conn, c);
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
	int ls = us_socket(st, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	if (us_bind(st, ls, (struct sockaddr *)&any, sizeof(any)) < 0 || us_listen(st, ls, 64) < 0)
		return 1;
	us_sock_set_callback(st, ls, on_listen, NULL);
	struct us_loop *loop = us_loop_new(st);
	printf("ustack %s: TCP server on %s port %d (%s), for %d s\n", us_version(), argv[2], PORT, argv[1], seconds);
	fflush(stdout);
	us_loop_run(loop, seconds * 1000);
	us_loop_free(loop);
	us_stack_free(st);
	return 0;
}
