/* Writes a capture to seed the fuzz corpora: the harness of
 * stack_harness.h built exactly as the targets build it (same seeds, so the
 * same sequence numbers), then ordinary traffic from a to b over it: TCP
 * data both ways, a second connection opened and closed, a refused one,
 * UDP to bound, connected and closed ports, a fragmented datagram, ping,
 * and both pending reassemblies completed, with a's side captured to a
 * pcap. fuzz/split_pcap.py turns the capture into corpus files.
 *
 *   build-fuzz/gen_seeds out.pcap     prints the virtual time setup ended */
#include "stack_harness.h"

static int sock_to(struct us_stack *st, int type, int proto, const char *ip, uint16_t port)
{
	int fd = us_socket(st, AF_INET, type, proto);
	struct sockaddr_in to = sim_addr(ip, port);
	int rc = us_connect(st, fd, (struct sockaddr *)&to, sizeof(to));
	FZ_CHECK(rc == 0 || rc == -EINPROGRESS);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds OUT.pcap\n");
		return 2;
	}
	fz_pcap = argv[1];
	struct fz f;
	fz_setup(&f);
	struct sim *s = &f.s;
	printf("%llu\n", (unsigned long long)s->now);
	static uint8_t buf[8000];
	memset(buf, 'x', sizeof(buf));

	/* TCP both ways on the established connection. */
	sim_run(s, MS(100));
	FZ_CHECK(us_send(s->a, f.p.cfd, buf, 2000, 0) == 2000);
	sim_run(s, MS(100));
	FZ_CHECK(us_recv(s->b, f.p.afd, buf, sizeof(buf), 0) > 0);
	FZ_CHECK(us_send(s->b, f.p.afd, buf, 100, 0) == 100);
	sim_run(s, MS(100));

	/* UDP: bound, address-bound, connected and closed ports. */
	int u = fz_udp_sock(s->a, SIM_A, 9);
	struct sockaddr_in to = sim_addr(SIM_B, 53);
	us_sendto(s->a, u, "query", 5, 0, (struct sockaddr *)&to, sizeof(to));
	to = sim_addr(SIM_B, 7);
	us_sendto(s->a, u, "echo", 4, 0, (struct sockaddr *)&to, sizeof(to));
	to = sim_addr(SIM_B, 5000);
	us_sendto(s->a, u, "conn", 4, 0, (struct sockaddr *)&to, sizeof(to));
	to = sim_addr(SIM_B, 6000);
	us_sendto(s->a, u, "closed", 6, 0, (struct sockaddr *)&to, sizeof(to));
	sim_run(s, MS(10));
	/* A datagram a fragments (MTU 1500). */
	to = sim_addr(SIM_B, 53);
	us_sendto(s->a, u, buf, 4000, 0, (struct sockaddr *)&to, sizeof(to));
	sim_run(s, MS(10));

	/* Ping. */
	int ping = us_socket(s->a, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	uint8_t echo[16] = {8, 0, 0, 0, 0, 0, 0, 1, 'p', 'i', 'n', 'g'};
	to = sim_addr(SIM_B, 0);
	FZ_CHECK(us_sendto(s->a, ping, echo, sizeof(echo), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(echo));
	sim_run(s, MS(10));

	/* The two pending reassemblies completed. */
	uint8_t frame[1600], l4[256];
	memset(l4, 0xAB, sizeof(l4));
	sim_inject(s, frame, fz_ip_frame(frame, FZ_A_IP, 0x7000, IP_PROTO_UDP, 12, l4, 104));   /* 96..200 */
	memset(l4, 0, 8);
	wr_be16(l4, 1234);
	wr_be16(l4 + 2, 53);
	wr_be16(l4 + 4, 840);
	sim_inject(s, frame, fz_ip_frame(frame, FZ_A_IP, 0x7001, IP_PROTO_UDP, 0x2000, l4, 200)); /* 0..200 */
	for (int off = 200; off < 800; off += 200)
		sim_inject(s, frame, fz_ip_frame(frame, FZ_A_IP, 0x7001, IP_PROTO_UDP, (uint16_t)(0x2000 | off / 8), l4 + 8, 200));
	sim_run(s, MS(10));

	/* A second connection: data, then closed from a; one refused. */
	int c2 = sock_to(s->a, SOCK_STREAM, 0, SIM_B, 80);
	sim_run(s, MS(100));
	us_send(s->a, c2, "GET / HTTP/1.0\r\n\r\n", 18, 0);
	sim_run(s, MS(100));
	us_close(s->a, c2);
	int c3 = sock_to(s->a, SOCK_STREAM, 0, SIM_B, 82);
	sim_run(s, MS(100));
	us_close(s->a, c3);
	int c4 = sock_to(s->a, SOCK_STREAM, 0, SIM_B, 81);
	sim_run(s, MS(100));
	us_close(s->a, c4);

	/* The established connection closed: FINs both ways. */
	us_shutdown(s->a, f.p.cfd, SHUT_WR);
	sim_run(s, MS(100));
	us_close(s->b, f.p.afd);
	sim_run(s, SEC(2));
	us_close(s->a, u);
	us_close(s->a, ping);
	fz_finish(&f);
	return 0;
}
