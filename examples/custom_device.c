/* Bring your own device (ustack/link.h): two stacks in one process joined
 * by a device written here, a socketpair carrying one frame per message,
 * as a VM's virtio queue or an AF_XDP ring would carry them. No root and
 * no kernel device is needed:
 *
 *     cc custom_device.c $(pkg-config --cflags --libs ustack) -o custom_device
 *     ./custom_device
 *
 * Stack A (10.9.0.1) connects to a server on stack B (10.9.0.2) and sends
 * 1 MiB; B counts the bytes and their checksum, A pings B. Prints "ok" and
 * exits 0 when everything arrived intact. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ustack/ustack.h>

#define TOTAL (1 << 20)

/* ---- the device: one end of a SOCK_SEQPACKET socketpair ---- */

struct pipe_dev {
	int fd;
	unsigned long frames_in, frames_out;
};

static int pipe_recv(void *dev, struct us_frame *f, int max, uint64_t now)
{
	(void)now;
	struct pipe_dev *d = dev;
	int n = 0;
	while (n < max) {
		/* MSG_TRUNC: the real length, so a frame longer than the room
		 * lent is seen (and dropped) rather than cut. */
		ssize_t r = recv(d->fd, f[n].data, f[n].cap, MSG_DONTWAIT | MSG_TRUNC);
		if (r < 0)
			return n ? n : (errno == EAGAIN ? 0 : -errno);
		if ((size_t)r > f[n].cap)
			continue;
		f[n].len = (uint32_t)r;
		f[n].csum_ok = 0;   /* nothing vouches for them: the stack checks */
		n++;
		d->frames_in++;
	}
	return n;
}

static int pipe_send(void *dev, const struct us_frame *f, int n, uint64_t now)
{
	(void)now;
	struct pipe_dev *d = dev;
	int i = 0;
	for (; i < n; i++) {
		if (send(d->fd, f[i].data, f[i].len, MSG_DONTWAIT) != (ssize_t)f[i].len)
			break;   /* full: the rest are dropped, TCP resends */
		d->frames_out++;
	}
	return i;
}

static void pipe_close(void *dev)
{
	struct pipe_dev *d = dev;
	close(d->fd);
}

static const struct us_device_ops pipe_ops = {
	.recv = pipe_recv,
	.send = pipe_send,
	.close = pipe_close,
};

/* ---- two stacks on it ---- */

struct side {
	struct us_stack *st;
	struct pipe_dev dev;
};

static int side_init(struct side *s, int fd, const char *ip, uint8_t mac_last)
{
	s->dev.fd = fd;
	struct us_device_info info = {.name = "pipe", .mtu = 1500, .fd = fd, .hwaddr = {2, 0, 0, 0, 9, mac_last}};
	struct us_link *l = us_link_device_new(&pipe_ops, &s->dev, &info);
	struct us_stack_config cfg = {.seed = mac_last};   /* deterministic keys: a repeatable run */
	s->st = us_stack_new(&cfg);
	if (!l || !s->st)
		return -1;
	int ifx = us_iface_add(s->st, l);
	struct in_addr a;
	inet_pton(AF_INET, ip, &a);
	if (ifx < 0 || us_iface_addr_add(s->st, ifx, a, 24) < 0 || us_iface_up(s->st, ifx) < 0)
		return -1;
	return 0;
}

/* Both stacks, driven by hand on a real clock (an app with its own event
 * loop does the same: input, timers, and wait for the next deadline). */
static void step(struct side *a, struct side *b)
{
	uint64_t now = us_now_ns();
	us_stack_input(a->st, now);
	us_stack_input(b->st, now);
	us_stack_timers(a->st, now);
	us_stack_timers(b->st, now);
}

int main(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0) {
		perror("socketpair");
		return 1;
	}
	struct side a, b;
	if (side_init(&a, sv[0], "10.9.0.1", 1) < 0 || side_init(&b, sv[1], "10.9.0.2", 2) < 0) {
		fprintf(stderr, "stack set-up failed\n");
		return 1;
	}
	int ls = us_socket(b.st, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(9000)};
	us_bind(b.st, ls, (struct sockaddr *)&srv, sizeof(srv));
	us_listen(b.st, ls, 8);
	int c = us_socket(a.st, AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "10.9.0.2", &srv.sin_addr);
	us_connect(a.st, c, (struct sockaddr *)&srv, sizeof(srv));
	int p = us_socket(a.st, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	uint8_t echo[16] = {8, 0, 0, 0, 0, 0, 0, 1};
	us_sendto(a.st, p, echo, sizeof(echo), 0, (struct sockaddr *)&srv, sizeof(srv));

	static uint8_t chunk[16384];
	size_t sent = 0, got = 0;
	uint32_t sum_sent = 0, sum_got = 0;
	int srv_fd = -1, pong = 0;
	uint64_t deadline = us_now_ns() + 20000000000ull;   /* 20 s at most */
	while ((got < TOTAL || !pong) && us_now_ns() < deadline) {
		step(&a, &b);
		while (sent < TOTAL) {
			size_t n = TOTAL - sent < sizeof(chunk) ? TOTAL - sent : sizeof(chunk);
			for (size_t i = 0; i < n; i++)
				chunk[i] = (uint8_t)((sent + i) * 7 + 3);
			ssize_t w = us_send(a.st, c, chunk, n, 0);
			if (w <= 0)
				break;
			for (ssize_t i = 0; i < w; i++)
				sum_sent = sum_sent * 31 + chunk[i];
			sent += (size_t)w;
		}
		if (srv_fd < 0)
			srv_fd = us_accept(b.st, ls, NULL, NULL);
		uint8_t buf[16384];
		ssize_t r;
		while (srv_fd >= 0 && (r = us_recv(b.st, srv_fd, buf, sizeof(buf), 0)) > 0) {
			for (ssize_t i = 0; i < r; i++)
				sum_got = sum_got * 31 + buf[i];
			got += (size_t)r;
		}
		if (us_recv(a.st, p, buf, sizeof(buf), 0) >= 8 && buf[0] == 0)
			pong = 1;
	}
	printf("%zu of %d bytes through the device (%lu frames one way, %lu the other), %s, ping %s\n", got, TOTAL,
	       a.dev.frames_out, b.dev.frames_out, sum_got == sum_sent ? "intact" : "CORRUPT",
	       pong ? "answered" : "NOT answered");
	int ok = got == TOTAL && sum_got == sum_sent && pong;
	uint32_t lost = us_stack_free_leaks(a.st) + us_stack_free_leaks(b.st);
	if (lost)
		printf("%u packet buffers leaked\n", lost);
	puts(ok && !lost ? "ok" : "FAILED");
	return ok && !lost ? 0 : 1;
}
