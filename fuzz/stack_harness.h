/* The stack the receive-path fuzz targets attack, the same for every input
 * so each run is deterministic (fixed seeds, virtual clock):
 *
 *   a (10.0.0.1, the fuzzer's side) --mem link-- b (10.0.0.2, under test)
 *
 * b has a listening TCP socket (port 80) with one established connection
 * from a (accepted, 3000 bytes from b in flight), a listener on port 81 with
 * a socket in the accept queue, UDP sockets (0.0.0.0:53, 10.0.0.2:7, one
 * connected to a:9), an ICMP echo socket, and two datagrams under
 * reassembly. Over IPv6 (b fd00::2/64 and its link-local address, a
 * fd00::1, both past DAD): a dual-stack TCP listener on [::]:8080 with one
 * established connection from a, a UDP socket on [::]:53 (IPV6_V6ONLY)
 * and an ICMPv6 echo socket. Frames the fuzzer makes are put on a's link, as if a had sent
 * them.
 *
 * The two stacks are built once, in the allocator arena of fz_alloc.h, and
 * the arena saved; before each input it is put back (fz_setup), which is
 * ~50 times cheaper than building them again and gives the same stacks to
 * the byte. FZ_NO_SNAPSHOT=1 (or FZ_PCAP) builds them afresh per input.
 *
 * Configurations, FZ_CONFIG=name[,name...] (default: none of these):
 *   gateway    b has a default route via a (without it, b has no route back
 *              to a source off 10.0.0.0/24: issue 11's crash)
 *   offload    both links as TAPs with offloads: b sends partial checksums
 *              and TSO super-frames, and takes every frame as checksum-
 *              verified, so mutated frames reach TCP and UDP
 *   tun        TUN links: bare IP packets (each input frame's first 14
 *              bytes, its Ethernet header, are dropped)
 *   smallpool  a packet pool of 24 frames and 2 large buffers
 *
 * At the end (fz_finish) every socket is closed on both sides and the clock
 * runs on until every timer is done; then nothing may be left: no
 * connection, no reassembly, no packet buffer in use and no allocation
 * (the arena counts them), and none lost when the stacks are freed.
 * Counters must agree with each other throughout. */
#ifndef US_FUZZ_STACK_HARNESS_H
#define US_FUZZ_STACK_HARNESS_H
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/lib/sim.h"
#include "fz_alloc.h"
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

#define FZ_GATEWAY 1u
#define FZ_OFFLOAD 2u
#define FZ_TUN 4u
#define FZ_SMALLPOOL 8u

/* FZ_CONFIG, read once. An unknown name stops the run: a typo must not
 * fuzz the default configuration under another name. */
static inline unsigned fz_cfg(void)
{
	static int done;
	static unsigned v;
	if (done)
		return v;
	done = 1;
	const char *e = getenv("FZ_CONFIG");
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", e ? e : "");
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "gateway"))
			v |= FZ_GATEWAY;
		else if (!strcmp(t, "offload"))
			v |= FZ_OFFLOAD;
		else if (!strcmp(t, "tun"))
			v |= FZ_TUN;
		else if (!strcmp(t, "smallpool"))
			v |= FZ_SMALLPOOL;
		else if (strcmp(t, "noroute") && strcmp(t, "default")) {
			fprintf(stderr, "FZ_CONFIG: unknown configuration '%s' (gateway, offload, tun, smallpool)\n", t);
			exit(2);
		}
	}
	return v;
}

struct fz {
	struct sim s;
	struct sim_pair p;          /* b:80 listener lfd, a's client cfd, b's accepted afd */
	int l81, c81;               /* listener on b:81 (child left in its queue), a's client */
	int u53, u7, uconn, ping;   /* b's datagram sockets */
	int l6, c6, a6, u6, ping6;  /* the IPv6 ones: listener, a's client, accepted, UDP, ICMPv6 */
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
	unsigned c = fz_cfg();
	if (c & FZ_SMALLPOOL) {
		o->cfg.frame_bufs = 24;
		o->cfg.large_bufs = 2;
	}
	o->l3 = (c & FZ_TUN) != 0;
	o->offload = (c & FZ_OFFLOAD) != 0;
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

/* A frame from a: on TUN links without its Ethernet header. */
static inline void fz_inject_raw(struct fz *f, const uint8_t *frame, size_t len)
{
	if ((fz_cfg() & FZ_TUN) && len > 14) {
		frame += 14;
		len -= 14;
	}
	if (len)
		sim_inject(&f->s, frame, len);
}

/* The part of the set-up saved in the snapshot: everything but what holds
 * packet buffers or frames on a link (their bytes are not saved). */
static inline void fz_build(struct fz *f)
{
	struct sim_opts o;
	fz_config(&o);
	memset(f, 0, sizeof(*f));
	f->ipid = 0x4000;
	FZ_CHECK(sim_init(&f->s, &o) == 0);
	struct sim *s = &f->s;
	if (fz_cfg() & FZ_GATEWAY) {
		struct in_addr any = {0}, gw = {htonl(FZ_A_IP)};
		FZ_CHECK(us_route_add(s->b, any, 0, gw, s->ifb) == 0);
	}
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

	/* IPv6: addresses (DAD runs its course), a dual-stack listener with a
	 * connection over v6, a v6-only UDP socket, an ICMPv6 socket. */
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6}, b6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "fd00::1", &a6.sin6_addr);
	inet_pton(AF_INET6, "fd00::2", &b6.sin6_addr);
	FZ_CHECK(us_iface_addr_add_sa(s->a, s->ifa, (struct sockaddr *)&a6, 64) == 0);
	FZ_CHECK(us_iface_addr_add_sa(s->b, s->ifb, (struct sockaddr *)&b6, 64) == 0);
	sim_run(s, SEC(3));
	f->l6 = us_socket(s->b, AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 any6 = {.sin6_family = AF_INET6, .sin6_port = htons(8080)};
	FZ_CHECK(us_bind(s->b, f->l6, (struct sockaddr *)&any6, sizeof(any6)) == 0 && us_listen(s->b, f->l6, 4) == 0);
	f->c6 = us_socket(s->a, AF_INET6, SOCK_STREAM, 0);
	b6.sin6_port = htons(8080);
	FZ_CHECK(us_connect(s->a, f->c6, (struct sockaddr *)&b6, sizeof(b6)) == -EINPROGRESS);
	f->u6 = us_socket(s->b, AF_INET6, SOCK_DGRAM, 0);
	int one = 1;
	FZ_CHECK(us_setsockopt(s->b, f->u6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0);
	any6.sin6_port = htons(53);
	FZ_CHECK(us_bind(s->b, f->u6, (struct sockaddr *)&any6, sizeof(any6)) == 0);
	f->ping6 = us_socket(s->b, AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	FZ_CHECK(f->ping6 >= 0);
	sim_run(s, MS(50));
	f->a6 = us_accept(s->b, f->l6, NULL, NULL);
	FZ_CHECK(f->a6 >= 0);

	/* Some data from a already received (and acknowledged). */
	static uint8_t data[500];
	FZ_CHECK(us_send(s->a, f->p.cfd, data, sizeof(data), 0) == (ssize_t)sizeof(data));
	sim_run(s, MS(50));
}

/* Nothing in the snapshot may live in bulk memory (fz_alloc.h). */
static inline int fz_snapshot_ok(struct fz *f)
{
	return us_stack_bufs_in_use(f->s.a) == 0 && us_stack_bufs_in_use(f->s.b) == 0 &&
	       !us_stack_has_pending(f->s.a) && !us_stack_has_pending(f->s.b);
}

/* The rest, after the snapshot is put back: data from b in flight to a and
 * two datagrams under reassembly (a first and a last fragment). */
static inline void fz_arm(struct fz *f)
{
	struct sim *s = &f->s;
	static uint8_t data[3000];
	FZ_CHECK(us_send(s->b, f->p.afd, data, sizeof(data), 0) == (ssize_t)sizeof(data));
	uint8_t frame[200], l4[96];
	memset(l4, 0xAB, sizeof(l4));
	wr_be16(l4, 1234);
	wr_be16(l4 + 2, 53);
	wr_be16(l4 + 4, 200);
	wr_be16(l4 + 6, 0);
	s->a_down = 1;
	fz_inject_raw(f, frame, fz_ip_frame(frame, FZ_A_IP, 0x7000, IP_PROTO_UDP, 0x2000, l4, 96));  /* MF, offset 0 */
	fz_inject_raw(f, frame, fz_ip_frame(frame, FZ_A_IP, 0x7001, IP_PROTO_UDP, 100, l4, 40));     /* offset 800, last */
	sim_run(s, MS(1));
	s->a_down = 0;
	FZ_CHECK(frag4_count(s->b) == 2);
	FZ_CHECK(us_accept(s->b, f->p.lfd, NULL, NULL) == -EAGAIN);
}

struct fz_snap {
	int state;           /* 0: not taken yet, 1: taken, -1: not used */
	struct fz f;
	void *img;
	size_t len;
};

static inline void fz_setup(struct fz *f)
{
	static struct fz_snap snap;
	if (!snap.state && (fz_pcap || getenv("FZ_PCAP") || getenv("FZ_NO_SNAPSHOT")))
		snap.state = -1;
	if (snap.state < 0) {
		fz_build(f);
	} else if (!snap.state) {
		fz_arena_reset();
		fz_arena_on(1);
		fz_build(f);
		FZ_CHECK(fz_snapshot_ok(f));
		FZ_CHECK(fz_arena_save(&snap.img, &snap.len) == 0);
		snap.f = *f;
		snap.state = 1;
	} else {
		fz_arena_on(1);
		fz_arena_restore(snap.img, snap.len);
		*f = snap.f;
	}
	fz_arm(f);
}

/* Run the clock on by ns (0: just process what is waiting). */
static inline void fz_advance(struct fz *f, uint64_t ns) { sim_run(&f->s, ns); }

static inline void fz_inject(struct fz *f, const uint8_t *frame, size_t len)
{
	fz_inject_raw(f, frame, len);
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
/* FZ_TRACE=1: one line per input on stderr, a digest of both stacks'
 * counters and the clock before the close and after the drain. The same
 * inputs must give the same lines with and without the snapshot
 * (tests/fuzz_snapshot.sh checks it). */
static inline uint64_t fz_digest(const struct sim *s)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */
	const struct us_stats *x[2] = {us_stack_stats(s->a), us_stack_stats(s->b)};
	for (int k = 0; k < 2; k++) {
		const uint8_t *p = (const uint8_t *)x[k];
		for (size_t i = 0; i < sizeof(*x[k]); i++)
			h = (h ^ p[i]) * 1099511628211ull;
	}
	return h ^ s->now;
}

static inline void fz_finish(struct fz *f)
{
	struct sim *s = &f->s;
	static int trace = -1;
	if (trace < 0)
		trace = getenv("FZ_TRACE") != NULL;
	uint64_t before = trace ? fz_digest(s) : 0;
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
	if (trace)
		fprintf(stderr, "fz_trace %016llx %016llx\n", (unsigned long long)before, (unsigned long long)fz_digest(s));
	sim_free(s);   /* aborts if a buffer was lost */
	FZ_CHECK(fz_arena_live() == 0);   /* nothing else either */
	fz_arena_on(0);
}
#endif
