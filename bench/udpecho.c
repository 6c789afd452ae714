/* udpecho: small-datagram echo rate, on kernel sockets.
 *
 *   udpecho client HOST PORT SIZE SECS [WINDOW]
 *       keeps WINDOW datagrams of SIZE bytes in flight (default 64) to an
 *       echo server for SECS and prints one JSON object: echoes per second,
 *       datagrams sent, lost (sent but never echoed), client CPU seconds.
 *       A datagram counts only if it comes back with its own sequence
 *       number; a lost one is replaced after 200 ms so the window never
 *       drains.
 *   udpecho server PORT
 *       echoes every datagram (the kernel's own stack as the server under
 *       test), batched with recvmmsg/sendmmsg, until SIGTERM/SIGINT.
 * Every loop is bounded by the time given. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define MAXW 1024

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
	       u.ru_stime.tv_usec / 1e6;
}

static volatile sig_atomic_t stop;
static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static int server(int port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int big = 4 << 20;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("udpecho: bind");
		return 1;
	}
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	static uint8_t buf[BATCH][2048];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in from[BATCH];
	printf("udpecho: ready on port %d\n", port);
	fflush(stdout);
	while (!stop) {
		struct pollfd p = {s, POLLIN, 0};
		if (poll(&p, 1, 200) <= 0)
			continue;
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){buf[i], sizeof(buf[i])};
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
			m[i].msg_hdr.msg_name = &from[i];
			m[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		int n = recvmmsg(s, m, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		sendmmsg(s, m, (unsigned)n, 0);
	}
	return 0;
}

static int client(const char *host, int port, int size, double secs, int window)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (s < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("udpecho: connect");
		return 1;
	}
	if (size < 8 || size > 1400 || window < 1 || window > MAXW) {
		fprintf(stderr, "udpecho: SIZE 8..1400, WINDOW 1..%d\n", MAXW);
		return 2;
	}
	int big = 4 << 20;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	static double sent_at[MAXW];
	static uint64_t slot_seq[MAXW];
	static uint8_t out[BATCH][2048], in[BATCH][2048];
	uint64_t seq = 0, got = 0, sent = 0, lost = 0;
	double t0 = now_s(), end = t0 + secs, c0 = cpu_s();
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	/* fill the window */
	for (int w = 0; w < window; w++)
		slot_seq[w] = UINT64_MAX;
	while (now_s() < end) {
		double t = now_s();
		/* (re)send every free or timed-out slot, in batches */
		int k = 0;
		for (int w = 0; w < window && k < BATCH; w++) {
			if (slot_seq[w] != UINT64_MAX && t - sent_at[w] < 0.2)
				continue;
			if (slot_seq[w] != UINT64_MAX)
				lost++;
			uint64_t q = seq++ * MAXW + (uint64_t)w;
			slot_seq[w] = q;
			sent_at[w] = t;
			memset(out[k], 'x', (size_t)size);
			memcpy(out[k], &q, sizeof(q));
			iov[k] = (struct iovec){out[k], (size_t)size};
			memset(&m[k], 0, sizeof(m[k]));
			m[k].msg_hdr.msg_iov = &iov[k];
			m[k].msg_hdr.msg_iovlen = 1;
			k++;
		}
		if (k) {
			int r = sendmmsg(s, m, (unsigned)k, MSG_DONTWAIT);
			if (r > 0)
				sent += (uint64_t)r;
			for (int i = r < 0 ? 0 : r; i < k; i++) {
				uint64_t q;
				memcpy(&q, out[i], sizeof(q));
				slot_seq[q % MAXW] = UINT64_MAX; /* not sent: free again */
			}
		}
		struct pollfd p = {s, POLLIN, 0};
		if (poll(&p, 1, 5) <= 0)
			continue;
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){in[i], sizeof(in[i])};
			memset(&m[i], 0, sizeof(m[i]));
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(s, m, BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			uint64_t q;
			if (m[i].msg_len != (unsigned)size)
				continue;
			memcpy(&q, in[i], sizeof(q));
			int w = (int)(q % MAXW);
			if (w < window && slot_seq[w] == q) {
				slot_seq[w] = UINT64_MAX;
				got++;
			}
		}
	}
	double el = now_s() - t0, c = cpu_s() - c0;
	printf("{\"pps\": %.0f, \"echoes\": %llu, \"sent\": %llu, \"lost\": %llu, \"size\": %d, \"window\": %d, "
	       "\"secs\": %.3f, \"cpu_s\": %.4f}\n",
	       got / el, (unsigned long long)got, (unsigned long long)sent, (unsigned long long)lost, size, window, el,
	       c);
	return got ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if (argc >= 6 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]), argc > 6 ? atoi(argv[6]) : 64);
	fprintf(stderr, "usage: udpecho client HOST PORT SIZE SECS [WINDOW] | udpecho server PORT\n");
	return 2;
}
