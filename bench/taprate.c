/* taprate: the raw cost of a TAP file descriptor, one frame per system
 * call, without any stack: how fast the kernel's frames can be read, and
 * how fast frames can be written, at a given frame size. This is the
 * ceiling a user-space stack on plain (no offload) TAP I/O cannot pass.
 *
 * Runs in a network namespace of its own (unshare; root). A kernel UDP
 * socket on another thread floods the TAP with datagrams to a host behind
 * it (a permanent neighbour entry, so no ARP) while the main thread reads;
 * then the main thread writes UDP frames to a kernel socket that never
 * reads (each goes through Ethernet, IP and UDP to a full queue). Prints frames/s, ns per frame and
 * Gbit/s of each.  usage: taprate [frame_bytes (60..1514, default 1514)] [seconds (default 2)] */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static atomic_int stop;
static int payload;

static void *sender(void *arg)
{
	(void)arg;
	pin(0);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		die("socket");
	int big = 1 << 22;
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
	inet_pton(AF_INET, "10.216.0.2", &to.sin_addr);
	static char buf[2048];
	struct mmsghdr m[64];
	struct iovec iov[64];
	for (int i = 0; i < 64; i++) {
		iov[i] = (struct iovec){buf, (size_t)payload};
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_name = &to;
		m[i].msg_hdr.msg_namelen = sizeof(to);
	}
	while (!atomic_load(&stop))
		sendmmsg(s, m, 64, 0);   /* ENOBUFS when the TAP queue is full: fine */
	close(s);
	return NULL;
}

int main(int argc, char **argv)
{
	int frame = argc > 1 ? atoi(argv[1]) : 1514;
	double secs = argc > 2 ? atof(argv[2]) : 2.0;
	if (frame < 60 || frame > 1514 || secs <= 0 || secs > 30) {
		fprintf(stderr, "usage: taprate [frame_bytes 60..1514] [seconds 0..30]\n");
		return 2;
	}
	payload = frame - 14 - 20 - 8;
	if (payload < 1)
		payload = 1;
	if (unshare(CLONE_NEWNET) != 0)
		die("unshare(CLONE_NEWNET) (needs root)");
	int fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0)
		die("/dev/net/tun");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "usrate0");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die("TUNSETIFF");
	int q = 10000;   /* a deep queue: the reader, not drops, sets the pace */
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq r2;
	memset(&r2, 0, sizeof(r2));
	strcpy(r2.ifr_name, "usrate0");
	r2.ifr_qlen = q;
	ioctl(s, SIOCSIFTXQLEN, &r2);
	struct sockaddr_in *a = (struct sockaddr_in *)&r2.ifr_addr;
	memset(&r2.ifr_addr, 0, sizeof(r2.ifr_addr));
	a->sin_family = AF_INET;
	inet_pton(AF_INET, "10.216.0.1", &a->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &r2) < 0)
		die("SIOCSIFADDR");
	inet_pton(AF_INET, "255.255.255.0", &a->sin_addr);
	if (ioctl(s, SIOCSIFNETMASK, &r2) < 0)
		die("SIOCSIFNETMASK");
	if (ioctl(s, SIOCGIFFLAGS, &r2) < 0)
		die("SIOCGIFFLAGS");
	r2.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &r2) < 0)
		die("SIOCSIFFLAGS");
	/* the host behind the device: a permanent ARP entry, no resolution */
	struct arpreq ar;
	memset(&ar, 0, sizeof(ar));
	a = (struct sockaddr_in *)&ar.arp_pa;
	a->sin_family = AF_INET;
	inet_pton(AF_INET, "10.216.0.2", &a->sin_addr);
	ar.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(ar.arp_ha.sa_data, "\x02\x00\x00\x00\x00\x02", 6);
	ar.arp_flags = ATF_COM | ATF_PERM;
	strcpy(ar.arp_dev, "usrate0");
	if (ioctl(s, SIOCSARP, &ar) < 0)
		die("SIOCSARP");
	close(s);

	/* read: the kernel's frames, one read() each */
	pin(1);
	pthread_t th;
	pthread_create(&th, NULL, sender, NULL);
	static uint8_t buf[2048];
	uint64_t n = 0, bytes = 0;
	double t0 = now_s(), t;
	while ((t = now_s()) - t0 < secs) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r > 0) {
			n++;
			bytes += (uint64_t)r;
		}
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	double rd_fps = (double)n / (t - t0), rd_gbps = (double)bytes * 8 / (t - t0) / 1e9;
	/* drain what is queued */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	/* write: UDP datagrams to a kernel socket that never reads: the
	 * kernel takes each through Ethernet, IP and UDP to a full socket
	 * queue, as it would a stack's segments (without TCP's own work) */
	int us = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(9)};
	inet_pton(AF_INET, "10.216.0.1", &me.sin_addr);
	if (us < 0 || bind(us, (struct sockaddr *)&me, sizeof(me)) < 0)
		die("bind");
	struct ifreq hw;
	memset(&hw, 0, sizeof(hw));
	strcpy(hw.ifr_name, "usrate0");
	if (ioctl(us, SIOCGIFHWADDR, &hw) < 0)
		die("SIOCGIFHWADDR");
	memset(buf, 0, sizeof(buf));
	memcpy(buf, hw.ifr_hwaddr.sa_data, 6);
	memcpy(buf + 6, "\x02\x00\x00\x00\x00\x02\x08\x00", 8);
	uint8_t *ip = buf + 14;
	int ipl = frame - 14;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ipl >> 8);
	ip[3] = (uint8_t)ipl;
	ip[6] = 0x40;   /* DF */
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, "\x0a\xd8\x00\x02\x0a\xd8\x00\x01", 8);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	uint8_t *udp = ip + 20;
	udp[0] = 0x30, udp[1] = 0x39;   /* 12345 */
	udp[2] = 0, udp[3] = 9;
	udp[4] = (uint8_t)((ipl - 20) >> 8);
	udp[5] = (uint8_t)(ipl - 20);   /* checksum 0: none (RFC 768) */
	n = 0;
	t0 = now_s();
	while ((t = now_s()) - t0 < secs)
		if (write(fd, buf, (size_t)frame) == frame)
			n++;
	double wr_fps = (double)n / (t - t0), wr_gbps = wr_fps * frame * 8 / 1e9;
	printf("{\"frame\": %d, \"read_fps\": %.0f, \"read_ns\": %.0f, \"read_gbps\": %.2f, "
	       "\"write_fps\": %.0f, \"write_ns\": %.0f, \"write_gbps\": %.2f}\n",
	       frame, rd_fps, 1e9 / rd_fps, rd_gbps, wr_fps, 1e9 / wr_fps, wr_gbps);
	close(us);
	close(fd);
	return 0;
}
