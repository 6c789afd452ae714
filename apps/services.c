/* Services the ustack program offers on its sockets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

static void udp_echo_cb(struct us_stack *st, int s, unsigned events, void *arg)
{
	static uint8_t buf[65536];
	(void)arg;
	if (!(events & (US_POLLIN | US_POLLERR)))
		return;
	/* Bounded: at most this many datagrams per wakeup. */
	for (int i = 0; i < 256; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = us_recvfrom(st, s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n == -EAGAIN)
			break;
		if (n < 0)
			continue;   /* a pending error, reported once */
		us_sendto(st, s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

int svc_udp_echo(struct us_stack *st, uint16_t port)
{
	int s = us_socket(st, AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		return s;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int rc = us_bind(st, s, (struct sockaddr *)&a, sizeof(a));
	if (rc < 0) {
		us_close(st, s);
		return rc;
	}
	us_sock_set_callback(st, s, udp_echo_cb, NULL);
	return s;
}
