/* A plain socket program that prints, one line per case, what each call
 * returned (a value or an errno name). tests/interop/test_run.sh runs it on
 * the kernel's stack and under `ustack run`: the two outputs must be the
 * same, line for line. Nothing in the output depends on addresses, ports or
 * timing beyond coarse bounds.
 *
 *   probe LOCAL_IP     LOCAL_IP: an address of the stack under test
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct in_addr local;

static const char *en(int e)
{
	switch (e) {
#define E(x) case x: return #x
	E(EAFNOSUPPORT); E(EPROTONOSUPPORT); E(ESOCKTNOSUPPORT); E(EINVAL); E(EADDRINUSE); E(EADDRNOTAVAIL);
	E(EOPNOTSUPP); E(EAGAIN); E(ECONNREFUSED); E(ENOTCONN); E(EISCONN); E(EINPROGRESS); E(EDESTADDRREQ);
	E(ENOPROTOOPT); E(EBADF); E(EPIPE); E(EINTR); E(EFAULT); E(EMSGSIZE); E(EALREADY); E(ECONNRESET);
	E(ENOTSOCK); E(EPERM); E(EACCES); E(ENETUNREACH); E(EDOM);
#undef E
	default: {
		static char b[32];
		snprintf(b, sizeof(b), "errno%d", e);
		return b;
	}
	}
}

static void out(const char *what, long r)
{
	if (r < 0)
		printf("%-44s -1 %s\n", what, en(errno));
	else
		printf("%-44s %ld\n", what, r);
	fflush(stdout);
}

static struct sockaddr_in sa(struct in_addr a, int port)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_addr = a;
	s.sin_port = htons((uint16_t)port);
	return s;
}

#define SA(x) ((struct sockaddr *)&(x))

static int listener(int port)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = sa(local, port);
	if (bind(l, SA(a), sizeof(a)) < 0 || listen(l, 16) < 0) {
		perror("listener");
		exit(1);
	}
	return l;
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void on_alarm(int s) { (void)s; }

static void *late_sender(void *arg)
{
	int fd = *(int *)arg;
	usleep(300 * 1000);
	if (write(fd, "hello", 5) != 5)
		perror("late_sender");
	return NULL;
}

static void case_socket(void)
{
	out("socket family 1010", socket(AF_INET6 + 1000, SOCK_STREAM, 0));
	out("socket INET SEQPACKET", socket(AF_INET, SOCK_SEQPACKET, 0));
	out("socket INET STREAM proto UDP", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	out("socket INET DGRAM proto TCP", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
	out("socket INET type 99", socket(AF_INET, 99, 0));
	int sv[2];
	out("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, sv));
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	out("socket NONBLOCK|CLOEXEC >= 0", s >= 0);
	out("  F_GETFL has O_NONBLOCK", (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
	out("  F_GETFD", fcntl(s, F_GETFD));
	out("  F_SETFL 0", fcntl(s, F_SETFL, 0));
	out("  F_GETFL has O_NONBLOCK", (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
	int one = 1;
	out("  ioctl FIONBIO 1", ioctl(s, FIONBIO, &one));
	out("  F_GETFL has O_NONBLOCK", (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
	int v = 0;
	socklen_t l = sizeof(v);
	out("  getsockopt SO_TYPE", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
	out("  SO_TYPE is STREAM", v == SOCK_STREAM);
	l = sizeof(v);
	getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &l);
	out("  SO_DOMAIN is AF_INET", v == AF_INET);
	l = sizeof(v);
	getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &l);
	out("  SO_ACCEPTCONN", v);
	out("  setsockopt level 12345", setsockopt(s, 12345, 1, &one, sizeof(one)));
	out("  setsockopt SO_REUSEADDR short", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, 2));
	out("  setsockopt TCP_NODELAY", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	l = sizeof(v);
	getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &l);
	out("  TCP_NODELAY read back", v != 0);
	struct timeval tv = {0, 2000000};
	out("  SO_RCVTIMEO usec out of range", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	out("  getpeername unconnected", getpeername(s, SA(*(struct sockaddr_in[1]){{0}}), &(socklen_t){16}));
	out("  shutdown unconnected", shutdown(s, SHUT_RDWR));
	out("  listen-less accept", accept(s, NULL, NULL));
	out("  recv MSG_OOB", recv(s, &v, 1, MSG_OOB));
	int d = dup(s);
	out("  dup >= 0", d >= 0);
	out("  F_GETFD of dup", fcntl(d, F_GETFD));
	out("  close dup", close(d));
	out("  F_GETFL still works", fcntl(s, F_GETFL) >= 0);
	out("  close", close(s));
	out("  close again", close(s));
}

/* IPV6_UNICAST_HOPS: Linux's range, -1 for the default, read back as the
 * value in use (64 with no route yet); not an AF_INET socket's option. */
static void case_hops(void)
{
	int t = socket(AF_INET6, SOCK_STREAM, 0), u = socket(AF_INET6, SOCK_DGRAM, 0), t4 = socket(AF_INET, SOCK_STREAM, 0);
	int v, m1 = -1, big = 256, low = -2, seven = 7, nine = 9;
	socklen_t l = sizeof(v);
	out("hops: TCP6 default", getsockopt(t, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &l) < 0 ? -1 : v);
	out("hops: set 7", setsockopt(t, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &seven, sizeof(seven)));
	l = sizeof(v);
	out("hops: read back", getsockopt(t, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &l) < 0 ? -1 : v);
	out("hops: set -1", setsockopt(t, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &m1, sizeof(m1)));
	l = sizeof(v);
	out("hops: default again", getsockopt(t, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &l) < 0 ? -1 : v);
	out("hops: set 256", setsockopt(t, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &big, sizeof(big)));
	out("hops: set -2", setsockopt(t, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &low, sizeof(low)));
	out("hops: UDP6 set 9", setsockopt(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &nine, sizeof(nine)));
	l = sizeof(v);
	out("hops: UDP6 read back", getsockopt(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &l) < 0 ? -1 : v);
	l = sizeof(v);
	out("hops: on an AF_INET socket", getsockopt(t4, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &l));
	close(t);
	close(u);
	close(t4);
}

static void case_bind(void)
{
	int a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in x = sa(local, 7101);
	out("bind", bind(a, SA(x), sizeof(x)));
	out("bind again", bind(a, SA(x), sizeof(x)));
	out("bind same port other socket", bind(b, SA(x), sizeof(x)));
	struct in_addr far;
	inet_pton(AF_INET, "192.0.2.77", &far);
	struct sockaddr_in y = sa(far, 7102);
	out("bind non-local address", bind(b, SA(y), sizeof(y)));
	out("bind short length", bind(b, SA(x), 8));
	struct sockaddr_in z = sa(local, 7103);
	z.sin_family = AF_INET6;
	out("bind family AF_INET6", bind(b, SA(z), sizeof(z)));
	out("listen", listen(a, 5));
	int v = 0;
	socklen_t l = sizeof(v);
	getsockopt(a, SOL_SOCKET, SO_ACCEPTCONN, &v, &l);
	out("  SO_ACCEPTCONN", v);
	fcntl(a, F_SETFL, O_NONBLOCK);
	out("accept nothing pending (nonblocking)", accept(a, NULL, NULL));
	out("accept4 bad flags", accept4(a, NULL, NULL, 0x40000000));
	struct sockaddr_in n;
	socklen_t nl = sizeof(n);
	out("getsockname", getsockname(a, SA(n), &nl));
	out("  port", ntohs(n.sin_port));
	close(a);
	close(b);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	out("listen on UDP", listen(u, 1));
	out("accept on UDP", accept(u, NULL, NULL));
	close(u);
}

static void case_tcp(void)
{
	int l = listener(7201);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in x = sa(local, 7201);
	out("connect nonblocking", connect(c, SA(x), sizeof(x)));
	struct pollfd p = {c, POLLOUT, 0};
	out("poll connecting socket", poll(&p, 1, 3000));
	out("  POLLOUT", (p.revents & POLLOUT) != 0);
	int e = -1;
	socklen_t el = sizeof(e);
	getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el);
	out("  SO_ERROR", e);
	out("connect again", connect(c, SA(x), sizeof(x)));
	struct pollfd lp = {l, POLLIN, 0};
	out("poll listener", poll(&lp, 1, 3000));
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	int a = accept(l, SA(peer), &pl);
	out("accept >= 0", a >= 0);
	out("  addrlen", pl);
	out("  F_GETFL nonblock (not inherited)", (fcntl(a, F_GETFL) & O_NONBLOCK) != 0);
	out("send 5", send(c, "hello", 5, 0));
	char buf[64];
	out("recv MSG_PEEK", recv(a, buf, sizeof(buf), MSG_PEEK));
	int q = 0;
	out("ioctl FIONREAD", ioctl(a, FIONREAD, &q));
	out("  bytes", q);
	out("read", read(a, buf, sizeof(buf)));
	struct iovec iov[2] = {{(void *)"ab", 2}, {(void *)"cde", 3}};
	out("writev 2+3", writev(c, iov, 2));
	char b1[2], b2[10];
	struct iovec riv[2] = {{b1, 2}, {b2, 10}};
	usleep(100000);
	out("readv", readv(a, riv, 2));
	out("  content", !memcmp(b1, "ab", 2) && !memcmp(b2, "cde", 3));
	struct timeval tv = {0, 200000};
	out("SO_RCVTIMEO 200 ms", setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	int64_t t0 = now_ms();
	out("blocking recv times out", recv(a, buf, sizeof(buf), 0));
	int64_t dt = now_ms() - t0;
	out("  waited 150..2000 ms", dt >= 150 && dt < 2000);
	socklen_t tl = sizeof(tv);
	getsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl);
	out("  SO_RCVTIMEO read back ms", tv.tv_sec * 1000 + tv.tv_usec / 1000);
	/* a signal without SA_RESTART ends a blocking recv with EINTR */
	struct timeval none = {0, 0};
	setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	struct sigaction s;
	memset(&s, 0, sizeof(s));
	s.sa_handler = on_alarm;
	sigaction(SIGALRM, &s, NULL);
	struct itimerval it = {{0, 0}, {0, 200000}};
	setitimer(ITIMER_REAL, &it, NULL);
	out("blocking recv, SIGALRM no SA_RESTART", recv(a, buf, sizeof(buf), 0));
	/* with SA_RESTART the call goes on and gets the data sent later */
	s.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &s, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	fcntl(c, F_SETFL, 0);
	pthread_t th;
	pthread_create(&th, NULL, late_sender, &c);
	out("blocking recv, SIGALRM SA_RESTART", recv(a, buf, sizeof(buf), 0));
	pthread_join(th, NULL);
	signal(SIGALRM, SIG_DFL);
	/* MSG_WAITALL gathers across segments */
	pthread_create(&th, NULL, late_sender, &c);
	send(c, "12345", 5, 0);
	out("recv MSG_WAITALL 10", recv(a, buf, 10, MSG_WAITALL));
	pthread_join(th, NULL);
	out("shutdown SHUT_WR", shutdown(c, SHUT_WR));
	struct pollfd rp = {a, POLLIN | POLLRDHUP, 0};
	out("poll after peer FIN", poll(&rp, 1, 3000));
	out("  POLLIN|POLLRDHUP", (rp.revents & (POLLIN | POLLRDHUP)) == (POLLIN | POLLRDHUP));
	out("recv at EOF", recv(a, buf, sizeof(buf), 0));
	signal(SIGPIPE, SIG_IGN);
	out("send after own SHUT_WR", send(c, "x", 1, MSG_NOSIGNAL));
	out("getpeername connected", getpeername(a, SA(peer), &pl));
	close(a);
	close(c);
	/* connect to a closed port: refused */
	int r = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in closed = sa(local, 7299);
	out("blocking connect to a closed port", connect(r, SA(closed), sizeof(closed)));
	close(r);
	r = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	out("nonblocking connect to a closed port", connect(r, SA(closed), sizeof(closed)));
	struct pollfd rp2 = {r, POLLOUT, 0};
	poll(&rp2, 1, 3000);
	out("  POLLERR", (rp2.revents & POLLERR) != 0);
	getsockopt(r, SOL_SOCKET, SO_ERROR, &e, &el);
	errno = e;
	out("  SO_ERROR", -1);
	getsockopt(r, SOL_SOCKET, SO_ERROR, &e, &el);
	out("  SO_ERROR again", e);
	close(r);
	close(l);
}

static void case_udp(void)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in x = sa(local, 7301), y = sa(local, 7302);
	bind(u, SA(x), sizeof(x));
	bind(v, SA(y), sizeof(y));
	out("send unconnected, no address", send(u, "a", 1, 0));
	out("recv nothing (MSG_DONTWAIT)", recv(u, NULL, 0, MSG_DONTWAIT));
	out("sendto", sendto(u, "hello", 5, 0, SA(y), sizeof(y)));
	struct pollfd p = {v, POLLIN, 0};
	out("poll", poll(&p, 1, 2000));
	int q = 0;
	ioctl(v, FIONREAD, &q);
	out("FIONREAD (next datagram)", q);
	char b[3];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	out("recvfrom into 3 bytes", recvfrom(v, b, sizeof(b), 0, SA(from), &fl));
	out("  from port", ntohs(from.sin_port));
	sendto(u, "hello", 5, 0, SA(y), sizeof(y));
	poll(&p, 1, 2000);
	out("recv MSG_TRUNC", recv(v, b, sizeof(b), MSG_TRUNC));
	sendto(u, "hello!", 6, 0, SA(y), sizeof(y));
	poll(&p, 1, 2000);
	char big[16];
	struct iovec iov = {big, 4};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	out("recvmsg into 4 bytes", recvmsg(v, &m, 0));
	out("  MSG_TRUNC flag", (m.msg_flags & MSG_TRUNC) != 0);
	out("connect", connect(u, SA(y), sizeof(y)));
	out("send connected", send(u, "xyz", 3, 0));
	poll(&p, 1, 2000);
	struct mmsghdr mm[4];
	char bufs[4][8];
	struct iovec ivs[4];
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < 4; i++) {
		ivs[i] = (struct iovec){bufs[i], 8};
		mm[i].msg_hdr.msg_iov = &ivs[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	send(u, "more", 4, 0);
	usleep(100000);
	out("recvmmsg (2 waiting)", recvmmsg(v, mm, 4, MSG_DONTWAIT, NULL));
	out("  lengths", mm[0].msg_len * 10 + mm[1].msg_len);
	struct mmsghdr sm[2];
	memset(sm, 0, sizeof(sm));
	struct iovec siv[2] = {{(void *)"one", 3}, {(void *)"three", 5}};
	sm[0].msg_hdr.msg_iov = &siv[0];
	sm[0].msg_hdr.msg_iovlen = 1;
	sm[1].msg_hdr.msg_iov = &siv[1];
	sm[1].msg_hdr.msg_iovlen = 1;
	out("sendmmsg 2", sendmmsg(u, sm, 2, 0));
	/* a datagram to a port nobody has: connection refused on the next call */
	int w = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in closed = sa(local, 7399);
	connect(w, SA(closed), sizeof(closed));
	send(w, "?", 1, 0);
	struct pollfd wp = {w, POLLIN, 0};
	poll(&wp, 1, 2000);
	out("  POLLERR after port unreachable", (wp.revents & POLLERR) != 0);
	out("recv after port unreachable", recv(w, b, sizeof(b), 0));
	int one = 1;
	out("setsockopt TCP_NODELAY on UDP", setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	out("shutdown connected UDP", shutdown(u, SHUT_WR));
	close(u);
	close(v);
	close(w);
}

static void case_readiness(void)
{
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in x = sa(local, 7401);
	bind(u, SA(x), sizeof(x));
	int pp[2];
	if (pipe(pp) < 0)
		exit(1);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
	out("epoll_ctl ADD udp (LT)", epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev));
	out("epoll_ctl ADD again", epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev));
	ev.data.u64 = 2;
	out("epoll_ctl ADD pipe (LT)", epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &ev));
	out("epoll_ctl MOD unknown fd", epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev));
	struct epoll_event got[8];
	out("epoll_wait nothing, 50 ms", epoll_wait(ep, got, 8, 50));
	sendto(s, "d", 1, 0, SA(x), sizeof(x));
	if (write(pp[1], "p", 1) != 1)
		exit(1);
	usleep(100000);
	int n = epoll_wait(ep, got, 8, 1000);
	unsigned long sum = 0;
	for (int i = 0; i < n; i++)
		sum += got[i].data.u64;
	out("epoll_wait both ready", n);
	out("  data 1+2", (long)sum);
	out("epoll_wait LT again", epoll_wait(ep, got, 8, 0));
	/* edge-triggered: reported once until new data */
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 1;
	epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev);
	ev.data.u64 = 2;
	epoll_ctl(ep, EPOLL_CTL_MOD, pp[0], &ev);
	out("epoll_wait ET after MOD", epoll_wait(ep, got, 8, 100));
	out("epoll_wait ET again (no new data)", epoll_wait(ep, got, 8, 50));
	sendto(s, "e", 1, 0, SA(x), sizeof(x));
	n = epoll_wait(ep, got, 8, 1000);
	out("epoll_wait ET new datagram", n);
	out("  which", n > 0 ? (long)got[0].data.u64 : -1);
	/* one-shot */
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.u64 = 1;
	epoll_ctl(ep, EPOLL_CTL_MOD, u, &ev);
	epoll_ctl(ep, EPOLL_CTL_DEL, pp[0], NULL);
	out("epoll_wait ONESHOT", epoll_wait(ep, got, 8, 100));
	out("epoll_wait ONESHOT disarmed", epoll_wait(ep, got, 8, 50));
	out("epoll_ctl DEL", epoll_ctl(ep, EPOLL_CTL_DEL, u, NULL));
	out("epoll_ctl DEL again", epoll_ctl(ep, EPOLL_CTL_DEL, u, NULL));
	/* select and poll over both worlds */
	fd_set r;
	FD_ZERO(&r);
	FD_SET(u, &r);
	FD_SET(pp[0], &r);
	struct timeval tv = {1, 0};
	n = select((u > pp[0] ? u : pp[0]) + 1, &r, NULL, NULL, &tv);
	out("select both readable", n);
	out("  udp set", FD_ISSET(u, &r) != 0);
	out("  pipe set", FD_ISSET(pp[0], &r) != 0);
	char b[8];
	while (recv(u, b, sizeof(b), 0) > 0)
		;
	if (read(pp[0], b, sizeof(b)) < 0)
		exit(1);
	struct pollfd pf[2] = {{u, POLLIN, 0}, {pp[0], POLLIN, 0}};
	out("poll neither, 50 ms", poll(pf, 2, 50));
	if (write(pp[1], "q", 1) != 1)
		exit(1);
	out("poll pipe only", poll(pf, 2, 1000));
	out("  udp revents", pf[0].revents);
	out("  pipe revents POLLIN", pf[1].revents == POLLIN);
	struct timespec ts = {0, 50 * 1000000};
	sigset_t mask;
	sigemptyset(&mask);
	pf[1].fd = -1;
	out("ppoll udp only, 50 ms", ppoll(pf, 2, &ts, &mask));
	close(ep);
	close(u);
	close(s);
	close(pp[0]);
	close(pp[1]);
}

static void case_fork(void)
{
	/* a child accepts on the listener it inherited; the parent connects */
	int l = listener(7501);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int a = accept(l, NULL, NULL);
		const char msg[] = "from the child";
		ssize_t w = a >= 0 ? write(a, msg, sizeof(msg) - 1) : -1;
		close(a);
		close(l);
		_exit(w == (ssize_t)sizeof(msg) - 1 ? 0 : 3);
	}
	close(l);   /* the child still holds it */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in x = sa(local, 7501);
	out("fork: connect to the child's listener", connect(c, SA(x), sizeof(x)));
	char buf[64];
	ssize_t got = 0, r;
	while ((r = read(c, buf + got, sizeof(buf) - (size_t)got)) > 0)
		got += r;
	out("fork: bytes from the child", got);
	int st = 0;
	waitpid(pid, &st, 0);
	out("fork: child exit status", WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st));
	close(c);
	/* the listener is closed in both processes now: refused */
	c = socket(AF_INET, SOCK_STREAM, 0);
	out("fork: connect once both closed it", connect(c, SA(x), sizeof(x)));
	close(c);
}

int main(int argc, char **argv)
{
	if (argc != 2 || inet_pton(AF_INET, argv[1], &local) != 1) {
		fprintf(stderr, "usage: probe LOCAL_IP\n");
		return 2;
	}
	case_socket();
	case_hops();
	case_bind();
	case_tcp();
	case_udp();
	case_readiness();
	case_fork();
	return 0;
}
