/* The stack the receive-path fuzz targets attack, built afresh for every
 * input so each run is deterministic (fixed seeds, virtual clock):
 *
 *   a (10.0.0.1, the fuzzer's side) --mem link-- b (10.0.0.2, under test)
 *
 * b has a listening TCP socket (port 80) with one established connection
 * from a (accepted, 3000 bytes from b in flight), a listener on port 81 with
 * a socket in the accept queue, UDP sockets (0.0.0.0:53, 10.0.0.2:7, one
 * connected to a:9), an ICMP echo socket, and two datagrams under
 * reassembly. Frames the fuzzer makes are put on a's link, as if a had sent
 * them.
 *
 * At the end (fz_finish) every socket is closed on both sides and the clock
 * runs on until every timer is done; then nothing may be left: no
 * connection, no reassembly, no packet buffer in use, and none lost when
 * the stacks are freed. Counters must agree with each other throughout. */
#ifndef US_FUZZ_STACK_HARNESS_H
#define US_FUZZ_STACK_HARNESS_H
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/lib/sim.h"
#include "api/sock.h"
#include "core/bytes.h"
#include "link/link.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "net/neigh.h"
#include "net/route.h"
#include "stack.h"
#include "transport/tcp.h"
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
			abort(); \
		} \
	} while (0)

#define FZ_MAX_FRAMES 64       /* frames (records) taken from one input */
#define FZ_A_IP 0x0a000001u
#define FZ_B_IP 0x0a000002u
#define FZ_CPORT_BASE 40000u   /* the fuzzer's own TCP source ports */

struct fz {
	struct sim s;
	struct sim_pair p;          /* b:80 listener lfd, a's client cfd, b's accepted afd */
	int l81, c81;               /* listener on b:81 (child left in its queue), a's client */
	int u53, u7, uconn, ping;   /* b's datagram sockets */
	uint16_t cport;             /* a's port of the established connection */
	uint16_t ipid;
};

static const uint8_t fz_mac_a[6] = {2, 0, 0, 0, 0, 1}, fz_mac_b[6] = {2, 0, 0, 0, 0, 2};

/* Set by fuzz/gen_seeds.c: capture a's side of the link to this file. */
static const char *fz_pcap;

static inline void fz_config(struct sim_opts *o)
{
	memset(o, 0, sizeof(*o));
	/* FZ_PCAP=file: capture a reproducer's traffic (one input at a time). */
	o->pcap_a = fz_pcap ? fz_pcap : getenv("FZ_PCAP");
	o->seed = 7;
	o->cfg.frame_bufs = 512;   /* small pools: cheap to build per input */
	o->cfg.large_bufs = 16;
	o->cfg.max_sockets = 64;
	o->cfg.reasm_max = 8;
	o->cfg.tcp_max_conns = 64;
	o->cfg.tcp_max_syn_backlog = 8;
	o->cfg.tcp_rmem = 16384;
	o->cfg.tcp_wmem = 16384;
}

/* An Ethernet + IPv4 frame a -> b around `l4` (len bytes) with a valid
 * header checksum. Returns the frame length. */
static inline size_t fz_ip_frame(uint8_t *out, uint32_t src, uint16_t id, uint8_t proto, uint16_t frag,
				 const uint8_t *l4, size_t len)
{
	memcpy(out, fz_mac_b, 6);
	memcpy(out + 6, fz_mac_a, 6);
	wr_be16(out + 12, ETH_P_IPV4);
	uint8_t *ip = out + 14;
	ip[0] = 0x45;
	ip[1] = 0;
	wr_be16(ip + 2, (uint16_t)(20 + len));
	wr_be16(ip + 4, id);
	wr_be16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	wr_be16(ip + 10, 0);
	wr_be32(ip + 12, src);
	wr_be32(ip + 16, FZ_B_IP);
	wr_be16(ip + 10, csum_fold(csum_partial(ip, 20, 0)));
	memcpy(ip + 20, l4, len);
	return 14 + 20 + len;
}

static inline int fz_udp_sock(struct us_stack *st, const char *ip, uint16_t port)
{
	int fd = us_socket(st, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sim_addr(ip, port);
	FZ_CHECK(fd >= 0 && us_bind(st, fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	return fd;
}

static inline void fz_setup(struct fz *f)
{
	struct sim_opts o;
	fz_config(&o);
	memset(f, 0, sizeof(*f));
	f->ipid = 0x4000;
	FZ_CHECK(sim_init(&f->s, &o) == 0);
	struct sim *s = &f->s;
	FZ_CHECK(sim_tcp_connect(s, &f->p, 80) == 0);
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	FZ_CHECK(us_getsockname(s->a, f->p.cfd, (struct sockaddr *)&me, &ml) == 0);
	f->cport = ntohs(me.sin_port);

	/* A second listener whose accepted connection stays in its queue. */
	f->l81 = us_socket(s->b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in l = sim_addr("0.0.0.0", 81);
	FZ_CHECK(us_bind(s->b, f->l81, (struct sockaddr *)&l, sizeof(l)) == 0 && us_listen(s->b, f->l81, 4) == 0);
	f->c81 = us_socket(s->a, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = sim_addr(SIM_B, 81);
	FZ_CHECK(us_connect(s->a, f->c81, (struct sockaddr *)&to, sizeof(to)) == -EINPROGRESS);

	f->u53 = fz_udp_sock(s->b, "0.0.0.0", 53);
	f->u7 = fz_udp_sock(s->b, SIM_B, 7);
	f->uconn = fz_udp_sock(s->b, SIM_B, 5000);
	struct sockaddr_in peer = sim_addr(SIM_A, 9);
	FZ_CHECK(us_connect(s->b, f->uconn, (struct sockaddr *)&peer, sizeof(peer)) == 0);
	f->ping = us_socket(s->b, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	FZ_CHECK(f->ping >= 0);

	/* Data from b in flight to a, and some from a already received. */
	static uint8_t data[3000];
	FZ_CHECK(us_send(s->a, f->p.cfd, data, 500, 0) == 500);
	sim_run(s, MS(50));
	FZ_CHECK(us_send(s->b, f->p.afd, data, sizeof(data), 0) == (ssize_t)sizeof(data));

	/* Two datagrams under reassembly: a first and a last fragment. */
	uint8_t frame[200], l4[96];
	memset(l4, 0xAB, sizeof(l4));
	wr_be16(l4, 1234);
	wr_be16(l4 + 2, 53);
	wr_be16(l4 + 4, 200);
	wr_be16(l4 + 6, 0);
	sim_inject(s, frame, fz_ip_frame(frame, FZ_A_IP, 0x7000, IP_PROTO_UDP, 0x2000, l4, 96));  /* MF, offset 0 */
	sim_inject(s, frame, fz_ip_frame(frame, FZ_A_IP, 0x7001, IP_PROTO_UDP, 100, l4, 40));     /* offset 800, last */
	s->a_down = 1;
	sim_run(s, MS(1));
	s->a_down = 0;
	FZ_CHECK(frag4_count(s->b) == 2);
	FZ_CHECK(us_accept(s->b, f->p.lfd, NULL, NULL) == -EAGAIN);
}

/* Run the clock on by ns (0: just process what is waiting). */
static inline void fz_advance(struct fz *f, uint64_t ns) { sim_run(&f->s, ns); }

static inline void fz_inject(struct fz *f, const uint8_t *frame, size_t len)
{
	if (len)
		sim_inject(&f->s, frame, len);
}

struct fz_tcp_count {
	uint64_t estab;    /* ESTABLISHED and CLOSE_WAIT, as Tcp.CurrEstab counts */
	uint64_t all;
};

static inline void fz_count_tcp(const struct us_tcp_info *i, void *arg)
{
	struct fz_tcp_count *c = arg;
	c->all++;
	if (i->state == US_TCP_ESTABLISHED || i->state == US_TCP_CLOSE_WAIT)
		c->estab++;
}

/* Counters and limits that must agree at any moment. */
static inline void fz_check_stack(struct us_stack *st, struct us_link *link)
{
	const struct us_stats *x = us_stack_stats(st);
	/* Every IPv4 packet received is dropped by exactly one reason, goes to
	 * reassembly, or is delivered (reassembled datagrams are delivered too). */
	FZ_CHECK(x->ip.InReceives + x->ip.ReasmOKs == x->ip.InTruncatedPkts + x->ip.InCsumErrors + x->ip.InHdrErrors +
		 x->ip.InAddrErrors + x->ip.ReasmReqds + x->ip.InDelivers + x->ip.InUnknownProtos);
	FZ_CHECK(x->ip.ReasmOKs <= x->ip.ReasmReqds);
	FZ_CHECK(x->link.InFrames == link->rx_frames);
	struct fz_tcp_count c = {0};
	us_tcp_foreach(st, fz_count_tcp, &c);
	FZ_CHECK(x->tcp.CurrEstab == c.estab);
	FZ_CHECK(c.all <= tcp_n_conns(st));
	FZ_CHECK(tcp_n_conns(st) <= st->cfg.tcp_max_conns + st->cfg.tcp_max_tw);
	FZ_CHECK(frag4_count(st) <= st->cfg.reasm_max && frag4_mem(st) <= st->cfg.reasm_mem);
	FZ_CHECK(us_stack_tcp_mem(st) <= st->cfg.tcp_mem_max);
	FZ_CHECK(us_stack_bufs_in_use(st) <= st->cfg.frame_bufs + st->cfg.large_bufs);
}

/* Close everything, let every timer run out, check nothing is left, free. */
static inline void fz_finish(struct fz *f)
{
	struct sim *s = &f->s;
	fz_check_stack(s->b, s->lb);
	for (int fd = 0; fd < 64; fd++) {
		us_close(s->a, fd);
		us_close(s->b, fd);
	}
	s->a_down = s->b_down = 0;
	sim_run(s, SEC(3600));
	fz_check_stack(s->b, s->lb);
	fz_check_stack(s->a, s->la);
	FZ_CHECK(tcp_n_conns(s->b) == 0 && tcp_n_conns(s->a) == 0);
	FZ_CHECK(us_stack_stats(s->b)->tcp.CurrEstab == 0);
	FZ_CHECK(frag4_count(s->b) == 0 && frag4_mem(s->b) == 0);
	FZ_CHECK(us_stack_tcp_mem(s->b) == 0);
	FZ_CHECK(us_stack_bufs_in_use(s->b) == 0 && us_stack_bufs_in_use(s->a) == 0);
	sim_free(s);   /* aborts if a buffer was lost */
}
#endif
