/* IPv6 end to end between two stacks over the in-memory link: NDP
 * resolution into the one neighbour cache, ICMPv6 echo, UDP and TCP on
 * the same transport code as IPv4 (over clean and lossy links, checked by
 * hashes), fragmentation and reassembly, path MTU from a packet too big,
 * DAD conflicts, SLAAC from a router advertisement, TUN-like links
 * without NDP, and IPV6_UNICAST_HOPS with the router's default. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../lib/sim.h"
#include "core/rand.h"
#include "net/ip.h"
#include "net/ipv4.h"
#include "net/neigh.h"
#include "stack.h"
#include "wire/csum.h"
#include "wire/icmp6.h"
#include "wire/ipv6.h"
#include "wire/nd6.h"

#define A6 "fd00:ab::1"
#define B6 "fd00:ab::2"

static struct sockaddr_in6 sa6(const char *ip, uint16_t port) { return sim_addr6(ip, port); }

static int64_t stat_of(struct us_stack *st, const char *name) { return sim_stat(st, name); }

/* Two stacks with fd00:ab::1/64 and ::2/64 (and their IPv4 addresses),
 * past DAD. */
static void init6(struct sim *s, struct sim_opts *o)
{
	assert_int_equal(sim_init(s, o), 0);
	struct sockaddr_in6 a = sa6(A6, 0), b = sa6(B6, 0);
	assert_int_equal(us_iface_addr_add_sa(s->a, s->ifa, (struct sockaddr *)&a, 64), 0);
	assert_int_equal(us_iface_addr_add_sa(s->b, s->ifb, (struct sockaddr *)&b, 64), 0);
	assert_int_equal(us_iface_addr_add_sa(s->b, s->ifb, (struct sockaddr *)&b, 64), -EEXIST);
	sim_run(s, SEC(2));   /* DAD: a random delay and one second */
}

static int udp6(struct us_stack *st, const char *ip, uint16_t port)
{
	int fd = us_socket(st, AF_INET6, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in6 a = sa6(ip, port);
	assert_int_equal(us_bind(st, fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Send len bytes of a pattern from a to b over UDP/IPv6; check they come
 * whole, from a's address. */
static void udp_roundtrip(struct sim *s, size_t len)
{
	int fb = udp6(s->b, NULL, 7), fa = udp6(s->a, NULL, 0);
	uint8_t *buf = malloc(len), *got = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	struct sockaddr_in6 to = sa6(B6, 7);
	assert_int_equal(us_sendto(s->a, fa, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
	sim_run(s, MS(100));
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	ssize_t n = us_recvfrom(s->b, fb, got, len + 1, 0, (struct sockaddr *)&from, &fl);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(got, buf, len);
	struct sockaddr_in6 want = sa6(A6, 0);
	assert_memory_equal(&from.sin6_addr, &want.sin6_addr, 16);
	/* And back. */
	assert_int_equal(us_sendto(s->b, fb, got, len, 0, (struct sockaddr *)&from, fl), (ssize_t)len);
	sim_run(s, MS(100));
	memset(got, 0, len);
	assert_int_equal(us_recvfrom(s->a, fa, got, len + 1, 0, NULL, NULL), (ssize_t)len);
	assert_memory_equal(got, buf, len);
	us_close(s->a, fa);
	us_close(s->b, fb);
	free(buf);
	free(got);
}

static void test_ndp_and_udp(void **state)
{
	(void)state;
	struct sim s;
	init6(&s, NULL);
	uint8_t mac[6];
	struct us_addr b6;
	inet_pton(AF_INET6, B6, b6.b);
	assert_int_equal(neigh_lookup_addr(s.a, s.ifa, &b6, mac), -ENOENT);
	udp_roundtrip(&s, 100);
	/* a resolved b by NS/NA into the same cache ARP uses. */
	assert_int_equal(neigh_lookup_addr(s.a, s.ifa, &b6, mac), 0);
	static const uint8_t bmac[6] = {2, 0, 0, 0, 0, 2};
	assert_memory_equal(mac, bmac, 6);
	assert_true(stat_of(s.a, "Icmp6.OutNeighborSolicits") >= 1);
	assert_true(stat_of(s.b, "Icmp6.InNeighborSolicits") >= 1);
	assert_true(stat_of(s.b, "Icmp6.OutNeighborAdvertisements") >= 1);
	assert_true(stat_of(s.a, "Icmp6.InNeighborAdvertisements") >= 1);
	assert_int_equal(stat_of(s.b, "Ip6.InHdrErrors"), 0);
	assert_int_equal(stat_of(s.a, "Icmp6.DadConflicts"), 0);
	assert_true(stat_of(s.b, "Ip6.InDelivers") >= 2);
	/* A port nobody listens on: port unreachable back, ECONNREFUSED. */
	int fa = us_socket(s.a, AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 to = sa6(B6, 9999);
	assert_int_equal(us_connect(s.a, fa, (struct sockaddr *)&to, sizeof(to)), 0);
	assert_int_equal(us_send(s.a, fa, "x", 1, 0), 1);
	sim_run(&s, MS(50));
	assert_int_equal(stat_of(s.b, "Icmp6.OutDestUnreachs"), 1);
	assert_int_equal(stat_of(s.a, "Icmp6.InDestUnreachs"), 1);
	char c;
	assert_int_equal(us_recv(s.a, fa, &c, 1, 0), -ECONNREFUSED);
	us_close(s.a, fa);
	sim_free(&s);
}

/* An Ethernet + IPv6 frame from a's MAC to b's, around an upper-layer
 * message of len bytes (proto), from src to dst. */
static size_t frame6(uint8_t *out, const char *src, const char *dst, uint8_t proto, uint8_t hops, const void *l4,
		     size_t len)
{
	uint8_t ip[1600];
	struct ipv6_repr r = {.payload_len = (uint16_t)len, .next_hdr = proto, .hop_limit = hops};
	inet_pton(AF_INET6, src, r.src.b);
	inet_pton(AF_INET6, dst, r.dst.b);
	ipv6_emit(&r, ip);
	memcpy(ip + 40, l4, len);
	return sim_eth_frame(out, ip, 40 + len, 0x86dd);
}

static void test_echo(void **state)
{
	(void)state;
	struct sim s;
	init6(&s, NULL);
	udp_roundtrip(&s, 10);   /* b knows a's MAC now */
	uint8_t msg[64], f[1600];
	struct icmp6_repr r = {.type = ICMP6_ECHO_REQUEST, .rest = 0x12340001, .payload = msg + 8, .payload_len = 56};
	memset(msg + 8, 0xab, 56);
	struct ip6_addr sa, da;
	inet_pton(AF_INET6, A6, sa.b);
	inet_pton(AF_INET6, B6, da.b);
	icmp6_emit(&r, &sa, &da, msg);
	sim_inject(&s, f, frame6(f, A6, B6, 58, 64, msg, sizeof(msg)));
	sim_run(&s, MS(20));
	assert_int_equal(stat_of(s.b, "Icmp6.InEchos"), 1);
	assert_int_equal(stat_of(s.b, "Icmp6.OutEchoReplies"), 1);
	assert_int_equal(stat_of(s.a, "Icmp6.InEchoReplies"), 1);
	assert_int_equal(stat_of(s.a, "Icmp6.InCsumErrors"), 0);
	/* A bad checksum is dropped and counted. */
	msg[2] ^= 1;
	sim_inject(&s, f, frame6(f, A6, B6, 58, 64, msg, sizeof(msg)));
	sim_run(&s, MS(20));
	assert_int_equal(stat_of(s.b, "Icmp6.InCsumErrors"), 1);
	assert_int_equal(stat_of(s.b, "Icmp6.OutEchoReplies"), 1);
	sim_free(&s);
}

/* One fragment a -> b of the IPv6 payload `whole` (next header 58): bytes
 * [off, off + len), id, more-fragments m. */
static void frag6(struct sim *s, uint32_t id, uint16_t off, uint16_t len, int m, const uint8_t *whole)
{
	uint8_t l4[1500], f[1600];
	assert_true(len + 8u <= sizeof(l4));
	l4[0] = 58;
	l4[1] = 0;
	l4[2] = (uint8_t)(off >> 8);
	l4[3] = (uint8_t)((off & 0xf8) | (m ? 1 : 0));
	l4[4] = (uint8_t)(id >> 24);
	l4[5] = (uint8_t)(id >> 16);
	l4[6] = (uint8_t)(id >> 8);
	l4[7] = (uint8_t)id;
	memcpy(l4 + 8, whole + off, len);
	sim_inject(s, f, frame6(f, A6, B6, 44, 64, l4, 8u + len));
}

static void echo6_msg(uint8_t *msg, size_t len, uint32_t rest, uint8_t mul)
{
	struct ip6_addr sa, da;
	inet_pton(AF_INET6, A6, sa.b);
	inet_pton(AF_INET6, B6, da.b);
	for (size_t i = 8; i < len; i++)
		msg[i] = (uint8_t)(i * mul);
	struct icmp6_repr r = {.type = ICMP6_ECHO_REQUEST, .rest = rest, .payload = msg + 8, .payload_len = len - 8};
	icmp6_emit(&r, &sa, &da, msg);
}

/* A completed datagram's late duplicate is dropped as one, but a new
 * datagram reusing its fragment ID within the second is reassembled. */
static void test_fragment_id_reuse(void **state)
{
	(void)state;
	struct sim s;
	init6(&s, NULL);
	udp_roundtrip(&s, 10);   /* b knows a's MAC now */
	static uint8_t m1[3000], m2[3000];
	echo6_msg(m1, sizeof(m1), 0x12340001, 1);
	echo6_msg(m2, sizeof(m2), 0x12340002, 7);
	uint64_t oks = stat_of(s.b, "Ip6.ReasmOKs");
	frag6(&s, 77, 0, 1400, 1, m1);
	frag6(&s, 77, 1400, 1400, 1, m1);
	frag6(&s, 77, 2800, 200, 0, m1);
	sim_run(&s, MS(10));
	frag6(&s, 77, 1400, 1400, 1, m1);   /* a late copy */
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Ip6.ReasmDuplicates"), 1);
	assert_int_equal(frag4_count((struct us_stack *)s.b), 0);
	frag6(&s, 77, 0, 1400, 1, m2);
	frag6(&s, 77, 1400, 1400, 1, m2);
	frag6(&s, 77, 2800, 200, 0, m2);
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Ip6.ReasmOKs") - oks, 2);
	assert_int_equal(stat_of(s.b, "Ip6.ReasmFails"), 0);
	assert_int_equal(stat_of(s.b, "Icmp6.OutEchoReplies"), 2);
	assert_int_equal(stat_of(s.a, "Icmp6.InEchoReplies"), 2);
	sim_free(&s);
}

static void test_fragments(void **state)
{
	(void)state;
	struct sim s;
	init6(&s, NULL);
	udp_roundtrip(&s, 4000);   /* three fragments each way at MTU 1500 */
	assert_int_equal(stat_of(s.a, "Ip6.FragOKs"), 1);
	assert_int_equal(stat_of(s.a, "Ip6.FragCreates"), 3);
	assert_int_equal(stat_of(s.b, "Ip6.ReasmOKs"), 1);
	assert_int_equal(stat_of(s.b, "Ip6.ReasmReqds"), 3);
	assert_int_equal(stat_of(s.a, "Ip6.ReasmOKs"), 1);
	udp_roundtrip(&s, 65000);   /* the largest a UDP/IPv6 datagram gets near */
	assert_int_equal(stat_of(s.b, "Ip6.ReasmOKs"), 2);
	assert_int_equal(stat_of(s.b, "Ip6.ReasmFails"), 0);
	sim_free(&s);
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

struct xfer {
	struct sim *s;
	int lfd, cfd, afd;
	size_t sent, got, total;
	uint64_t hs, hr;
};

static int xfer_step(void *arg)
{
	struct xfer *x = arg;
	if (x->afd < 0)
		x->afd = us_accept(x->s->b, x->lfd, NULL, NULL);
	uint8_t buf[16384];
	while (x->sent < x->total) {
		size_t n = x->total - x->sent < sizeof(buf) ? x->total - x->sent : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)((x->sent + i) * 2654435761u >> 13);
		ssize_t w = us_send(x->s->a, x->cfd, buf, n, 0);
		if (w <= 0)
			break;
		x->hs = fnv(x->hs, buf, (size_t)w);
		x->sent += (size_t)w;
	}
	if (x->afd >= 0) {
		ssize_t r;
		while ((r = us_recv(x->s->b, x->afd, buf, sizeof(buf), 0)) > 0) {
			x->hr = fnv(x->hr, buf, (size_t)r);
			x->got += (size_t)r;
		}
	}
	return x->got == x->total;
}

static void tcp_transfer(struct sim *s, size_t total)
{
	struct xfer x = {.s = s, .afd = -1, .total = total, .hs = 14695981039346656037ull, .hr = 14695981039346656037ull};
	x.lfd = us_socket(s->b, AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 la = sa6(NULL, 80);
	assert_int_equal(us_bind(s->b, x.lfd, (struct sockaddr *)&la, sizeof(la)), 0);
	assert_int_equal(us_listen(s->b, x.lfd, 8), 0);
	x.cfd = us_socket(s->a, AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 to = sa6(B6, 80);
	assert_int_equal(us_connect(s->a, x.cfd, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	assert_true(sim_run_until(s, SEC(600), xfer_step, &x));
	assert_int_equal(x.got, total);
	assert_true(x.hs == x.hr);
	struct us_tcp_info ti;
	socklen_t tl = sizeof(ti);
	assert_int_equal(us_getsockopt(s->a, x.cfd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
	assert_true(ti.snd_mss <= 1500 - 60);   /* MSS from the IPv6 MTU */
	us_close(s->a, x.cfd);
	us_close(s->b, x.afd);
	us_close(s->b, x.lfd);
	sim_run(s, SEC(1));
}

static void test_tcp(void **state)
{
	(void)state;
	struct sim s;
	init6(&s, NULL);
	tcp_transfer(&s, 1u << 20);
	assert_true(stat_of(s.b, "Ip6.InDelivers") > 100);
	sim_free(&s);
}

static void test_tcp_lossy(void **state)
{
	(void)state;
	static const struct us_fault_cfg f = {.seed = 7, .drop = 0.05, .dup = 0.01, .reorder = 0.02, .corrupt = 0.01};
	for (uint64_t seed = 1; seed <= 3; seed++) {
		struct us_fault_cfg fa = f, fb = f;
		fa.seed = seed * 11;
		fb.seed = seed * 13;
		struct sim_opts o = {.a_tx = &fa, .b_tx = &fb, .seed = seed};
		struct sim s;
		init6(&s, &o);
		sim_run(&s, SEC(3));   /* DAD again if its NS was lost */
		tcp_transfer(&s, 256u << 10);
		sim_free(&s);
	}
}

/* b sends 1400-byte UDP datagrams to a; a packet too big (MTU 1280)
 * quoting one lowers b's path MTU to a: the next datagram goes in
 * fragments and arrives whole. */
static void test_pmtu(void **state)
{
	(void)state;
	struct sim s;
	init6(&s, NULL);
	udp_roundtrip(&s, 10);
	int fb = udp6(s.b, NULL, 5000), fa = udp6(s.a, NULL, 6000);
	uint8_t d[1400];
	memset(d, 0x5a, sizeof(d));
	struct sockaddr_in6 to = sa6(A6, 6000);
	assert_int_equal(us_sendto(s.b, fb, d, sizeof(d), 0, (struct sockaddr *)&to, sizeof(to)), 1400);
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Ip6.FragOKs"), 0);
	/* The PTB: IPv6 header b -> a and the start of the UDP datagram. */
	uint8_t msg[8 + 48], f[200];
	struct ipv6_repr q = {.payload_len = 1408, .next_hdr = 17, .hop_limit = 64};
	inet_pton(AF_INET6, B6, q.src.b);
	inet_pton(AF_INET6, A6, q.dst.b);
	ipv6_emit(&q, msg + 8);
	uint8_t udp[8] = {5000 >> 8, 5000 & 0xff, 6000 >> 8, 6000 & 0xff, 1408 >> 8, 1408 & 0xff, 0, 0};
	memcpy(msg + 48, udp, 8);
	struct icmp6_repr r = {.type = ICMP6_PKT_TOO_BIG, .rest = 1280, .payload = msg + 8, .payload_len = 48};
	struct ip6_addr sa, da;
	inet_pton(AF_INET6, A6, sa.b);
	inet_pton(AF_INET6, B6, da.b);
	icmp6_emit(&r, &sa, &da, msg);
	sim_inject(&s, f, frame6(f, A6, B6, 58, 64, msg, sizeof(msg)));
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Icmp6.InPktTooBigs"), 1);
	assert_int_equal(stat_of(s.b, "Ip6.PmtuUpdates"), 1);
	assert_int_equal(us_sendto(s.b, fb, d, sizeof(d), 0, (struct sockaddr *)&to, sizeof(to)), 1400);
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Ip6.FragOKs"), 1);
	assert_int_equal(stat_of(s.b, "Ip6.FragCreates"), 2);
	uint8_t got[1500];
	assert_int_equal(us_recv(s.a, fa, got, sizeof(got), 0), 1400);
	assert_int_equal(us_recv(s.a, fa, got, sizeof(got), 0), 1400);
	/* An MTU below 1280 is discarded (RFC 8201 4): counted, not used. */
	r.rest = 600;
	icmp6_emit(&r, &sa, &da, msg);
	sim_inject(&s, f, frame6(f, A6, B6, 58, 64, msg, sizeof(msg)));
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Icmp6.InPmtuBelowMin"), 1);
	assert_int_equal(stat_of(s.b, "Ip6.PmtuUpdates"), 1);
	us_close(s.a, fa);
	us_close(s.b, fb);
	sim_free(&s);
}

/* Both stacks given the same address: the second to run DAD sees the
 * first's defence (or both see each other's probes) and drops it. */
static void test_dad_conflict(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	sim_run(&s, SEC(2));
	struct sockaddr_in6 a = sa6(A6, 0);
	assert_int_equal(us_iface_addr_add_sa(s.a, s.ifa, (struct sockaddr *)&a, 64), 0);
	sim_run(&s, SEC(2));
	assert_int_equal(us_iface_addr_add_sa(s.b, s.ifb, (struct sockaddr *)&a, 64), 0);
	sim_run(&s, SEC(2));
	assert_int_equal(stat_of(s.b, "Icmp6.DadConflicts"), 1);
	assert_int_equal(stat_of(s.a, "Icmp6.OutNeighborAdvertisements") >= 1, 1);
	/* b has not got it: an address it may add again. */
	assert_int_equal(us_iface_addr_add_sa(s.b, s.ifb, (struct sockaddr *)&a, 64), 0);
	sim_free(&s);
}

/* RFC 7217 stable identifiers (us_stack_config.ipv6_stable_secret). */
static const uint8_t STABLE_KEY[16] = {0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a, 0x79, 0x88,
				       0xa7, 0xb6, 0xc5, 0xd4, 0xe3, 0xf2, 0x10, 0x9a};
static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0x01};   /* the mem link's a side */

/* F() as ustack defines it (README, us_stack_config): SipHash-2-4 keyed by
 * the secret (little-endian words) over prefix (8 bytes), MAC, counter;
 * the 64 bits big-endian are the identifier. */
static struct sockaddr_in6 stable_ll(const uint8_t mac[6], int counter)
{
	uint64_t key[2] = {0, 0};
	for (int i = 0; i < 16; i++)
		key[i / 8] |= (uint64_t)STABLE_KEY[i] << (8 * (i % 8));
	uint8_t in[15] = {0xfe, 0x80};
	memcpy(in + 8, mac, 6);
	in[14] = (uint8_t)counter;
	uint64_t h = us_siphash(key, in, sizeof(in));
	struct sockaddr_in6 a = sa6("fe80::", 0);
	for (int i = 0; i < 8; i++)
		a.sin6_addr.s6_addr[8 + i] = (uint8_t)(h >> (56 - 8 * i));
	assert_false(ip6_iid_reserved(a.sin6_addr.s6_addr + 8));
	return a;
}

struct addr_seen {
	struct in6_addr ll[8];
	unsigned flags[8];
	int n_ll, n;
};
static void see_addr(const struct us_addr_info *ai, void *arg)
{
	struct addr_seen *w = arg;
	w->n++;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ai->addr;
	if (ai->addr.ss_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) && w->n_ll < 8) {
		assert_int_equal(s6->sin6_scope_id, (uint32_t)ai->ifindex);
		w->flags[w->n_ll] = ai->flags;
		w->ll[w->n_ll++] = s6->sin6_addr;
	}
}

/* a's link-local address is the stable one for its MAC, counter 0; the
 * formula is pinned by a known answer (an upgrade must not move anyone's
 * address). b, with a's MAC and the same secret (a cloned machine), finds
 * a defending counter 0 and takes counter 1 (RFC 7217 6). */
static void test_stable_iid(void **state)
{
	(void)state;
	struct sim s;
	struct sim_opts o = {.mac_b = MAC_A, .b_iface_down = 1};
	memcpy(o.cfg.ipv6_stable_secret, STABLE_KEY, 16);
	o.cfg.ipv6_no_ra = 1;
	assert_int_equal(sim_init(&s, &o), 0);
	sim_run(&s, SEC(2));
	struct addr_seen wa = {0}, wb = {0};
	assert_int_equal(us_iface_addr_foreach(s.a, see_addr, &wa), 2);   /* 10.0.0.1 and the link-local */
	assert_int_equal(wa.n_ll, 1);
	struct sockaddr_in6 ll0 = stable_ll(MAC_A, 0), ll1 = stable_ll(MAC_A, 1);
	assert_memory_equal(&wa.ll[0], &ll0.sin6_addr, 16);
	struct sockaddr_in6 pinned = sa6("fe80::67d2:f0e7:c576:8562", 0)   /* Python SipHash-2-4 agrees */;
	assert_memory_equal(&wa.ll[0], &pinned.sin6_addr, 16);
	assert_int_equal(wa.flags[0], US_ADDR_STABLE);
	us_iface_up(s.b, s.ifb);
	sim_run(&s, SEC(1) / 2);
	us_iface_addr_foreach(s.b, see_addr, &wb);
	assert_int_equal(wb.n_ll, 1);
	assert_memory_equal(&wb.ll[0], &ll1.sin6_addr, 16);   /* counter 1, tentative */
	assert_int_equal(wb.flags[0], US_ADDR_STABLE | US_ADDR_TENTATIVE);
	sim_run(&s, SEC(2));
	memset(&wb, 0, sizeof(wb));
	us_iface_addr_foreach(s.b, see_addr, &wb);
	assert_int_equal(wb.n_ll, 1);
	assert_memory_equal(&wb.ll[0], &ll1.sin6_addr, 16);
	assert_int_equal(wb.flags[0], US_ADDR_STABLE);
	assert_int_equal(stat_of(s.b, "Icmp6.DadConflicts"), 1);
	assert_int_equal(stat_of(s.a, "Icmp6.DadConflicts"), 0);
	sim_free(&s);
}

/* a holds counters 0 to 3 for b's MAC: b tries each (IDGEN_RETRIES = 3
 * after the first) and then goes without a link-local address. */
static void test_stable_iid_retries(void **state)
{
	(void)state;
	struct sim s;
	struct sim_opts o = {.mac_b = MAC_A, .b_iface_down = 1};
	memcpy(o.cfg.ipv6_stable_secret, STABLE_KEY, 16);
	o.cfg.ipv6_no_ra = 1;
	assert_int_equal(sim_init(&s, &o), 0);
	sim_run(&s, SEC(2));
	for (int c = 1; c <= 3; c++) {
		struct sockaddr_in6 x = stable_ll(MAC_A, c);
		assert_int_equal(us_iface_addr_add_sa(s.a, s.ifa, (struct sockaddr *)&x, 64), 0);
	}
	sim_run(&s, SEC(2));
	struct addr_seen wa = {0}, wb = {0};
	us_iface_addr_foreach(s.a, see_addr, &wa);
	assert_int_equal(wa.n_ll, 4);
	for (int i = 0; i < 4; i++)
		assert_false(wa.flags[i] & US_ADDR_TENTATIVE);
	us_iface_up(s.b, s.ifb);
	sim_run(&s, SEC(10));
	us_iface_addr_foreach(s.b, see_addr, &wb);
	assert_int_equal(wb.n_ll, 0);
	assert_int_equal(stat_of(s.b, "Icmp6.DadConflicts"), 4);
	assert_true(stat_of(s.a, "Icmp6.OutNeighborAdvertisements") >= 4);
	sim_free(&s);
}

/* An RA with a prefix (A and L set), an MTU and a router lifetime: b
 * makes a SLAAC address, learns a default route and the MTU. */
static void test_slaac(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	sim_run(&s, SEC(10));
	assert_true(stat_of(s.b, "Icmp6.OutRouterSolicits") >= 1);
	struct nd6_repr ra;
	memset(&ra, 0, sizeof(ra));
	ra.type = ICMP6_ND_RA;
	ra.router_lifetime = 1800;
	ra.opts.has_mtu = 1;
	ra.opts.mtu = 1400;
	ra.opts.n_prefix = 1;
	inet_pton(AF_INET6, "2001:db8:1::", ra.opts.prefix[0].prefix.b);
	ra.opts.prefix[0].len = 64;
	ra.opts.prefix[0].flags = ND6_PI_ONLINK | ND6_PI_AUTO;
	ra.opts.prefix[0].valid = 86400;
	ra.opts.prefix[0].preferred = 14400;
	static const uint8_t amac[6] = {2, 0, 0, 0, 0, 1};
	ra.opts.sll = amac;
	ra.opts.sll_len = 6;
	uint8_t msg[256], f[400];
	struct ip6_addr src, dst;
	inet_pton(AF_INET6, "fe80::1", src.b);
	dst = ip6_all_nodes;
	size_t n = nd6_emit(&ra, &src, &dst, msg);
	assert_true(n > 0);
	/* Hop limit 64: dropped (RFC 4861 6.1.2). */
	sim_inject(&s, f, frame6(f, "fe80::1", "ff02::1", 58, 64, msg, n));
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(s.b, "Icmp6.InBadHopLimit"), 1);
	assert_int_equal(stat_of(s.b, "Icmp6.SlaacAddrs"), 0);
	sim_inject(&s, f, frame6(f, "fe80::1", "ff02::1", 58, 255, msg, n));
	sim_run(&s, SEC(3));
	assert_int_equal(stat_of(s.b, "Icmp6.InRouterAdvertisements"), 1);
	assert_int_equal(stat_of(s.b, "Icmp6.SlaacAddrs"), 1);
	/* The address: the prefix and b's EUI-64 identifier (02:00:00:00:00:02). */
	struct us_addr want;
	inet_pton(AF_INET6, "2001:db8:1::ff:fe00:2", want.b);
	struct us_stack *b = s.b;
	assert_true(ip_is_local(b, &want));
	/* The default route: a destination off every prefix routes via fe80::1. */
	struct ip_path pth;
	struct us_addr far;
	inet_pton(AF_INET6, "2001:db8:99::1", far.b);
	assert_int_equal(ip_route(b, &far, &pth), 0);
	assert_int_equal(pth.mtu, 1400);
	sim_free(&s);
}

/* Zones (RFC 4007) through the socket API: scope ids in and out for
 * link-local peers, over UDP and TCP, the default zone for a scope id of 0,
 * ENODEV for an interface that does not exist, EINVAL for a zone other than
 * the one the socket is tied to, and none for a global address. */
#define LL_A "fe80::ff:fe00:1"   /* EUI-64 of the mem link's 02:00:00:00:00:01 */
#define LL_B "fe80::ff:fe00:2"
static struct sockaddr_in6 sa6z(const char *ip, uint16_t port, uint32_t scope)
{
	struct sockaddr_in6 a = sa6(ip, port);
	a.sin6_scope_id = scope;
	return a;
}
static void test_scope_ids(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	sim_run(&s, SEC(2));   /* link-local DAD */
	/* a second interface on a, so that a zone can be the wrong one */
	struct us_link *x, *y;
	assert_int_equal(us_link_mem_pair(&x, &y, 1500, 0), 0);
	int ifa2 = us_iface_add(s.a, x);
	assert_true(ifa2 > 0 && ifa2 != s.ifa);
	us_link_close(y);

	/* UDP: the peer's zone comes back in recvfrom, and the answer sent to
	 * it arrives with a's zone. */
	int fb = us_socket(s.b, AF_INET6, SOCK_DGRAM, 0), fa = us_socket(s.a, AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 any7 = sa6("::", 7), to = sa6z(LL_B, 7, (uint32_t)s.ifa), from;
	assert_int_equal(us_bind(s.b, fb, (struct sockaddr *)&any7, sizeof(any7)), 0);
	assert_int_equal(us_sendto(s.a, fa, "hi", 2, 0, (struct sockaddr *)&to, sizeof(to)), 2);
	sim_run(&s, MS(50));
	char buf[16];
	socklen_t fl = sizeof(from);
	assert_int_equal(us_recvfrom(s.b, fb, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 2);
	assert_int_equal(from.sin6_scope_id, (uint32_t)s.ifb);
	struct sockaddr_in6 want_a = sa6(LL_A, 0);
	assert_memory_equal(&from.sin6_addr, &want_a.sin6_addr, 16);
	assert_int_equal(us_sendto(s.b, fb, "ok", 2, 0, (struct sockaddr *)&from, fl), 2);
	sim_run(&s, MS(50));
	fl = sizeof(from);
	assert_int_equal(us_recvfrom(s.a, fa, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 2);
	assert_int_equal(from.sin6_scope_id, (uint32_t)s.ifa);
	/* A scope id that names no interface; one that is ignored (global). */
	struct sockaddr_in6 bad = sa6z(LL_B, 7, 99), glob = sa6z(B6, 7, 99);
	assert_int_equal(us_sendto(s.a, fa, "x", 1, 0, (struct sockaddr *)&bad, sizeof(bad)), -ENODEV);
	struct sockaddr_in6 ab = sa6(A6, 0), bb = sa6(B6, 0);
	assert_int_equal(us_iface_addr_add_sa(s.a, s.ifa, (struct sockaddr *)&ab, 64), 0);
	assert_int_equal(us_iface_addr_add_sa(s.b, s.ifb, (struct sockaddr *)&bb, 64), 0);
	sim_run(&s, SEC(2));
	assert_int_equal(us_sendto(s.a, fa, "g", 1, 0, (struct sockaddr *)&glob, sizeof(glob)), 1);
	sim_run(&s, MS(50));
	fl = sizeof(from);
	assert_int_equal(us_recvfrom(s.b, fb, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 1);
	assert_int_equal(from.sin6_scope_id, 0);   /* a global peer has no zone */
	us_close(s.a, fa);
	us_close(s.b, fb);

	/* bind: a link-local address in its zone, not in a zone that lacks it
	 * or does not exist. */
	int t = us_socket(s.a, AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 lla = sa6z(LL_A, 0, 99);
	assert_int_equal(us_bind(s.a, t, (struct sockaddr *)&lla, sizeof(lla)), -ENODEV);
	lla.sin6_scope_id = (uint32_t)ifa2;
	assert_int_equal(us_bind(s.a, t, (struct sockaddr *)&lla, sizeof(lla)), -EADDRNOTAVAIL);
	lla.sin6_scope_id = 0;   /* the default zone: the interface holding it */
	assert_int_equal(us_bind(s.a, t, (struct sockaddr *)&lla, sizeof(lla)), 0);
	struct sockaddr_in6 got;
	socklen_t gl = sizeof(got);
	assert_int_equal(us_getsockname(s.a, t, (struct sockaddr *)&got, &gl), 0);
	assert_int_equal(got.sin6_scope_id, (uint32_t)s.ifa);
	/* tied to s.ifa now: a destination in another zone is refused */
	struct sockaddr_in6 other = sa6z(LL_B, 7, (uint32_t)ifa2);
	assert_int_equal(us_connect(s.a, t, (struct sockaddr *)&other, sizeof(other)), -EINVAL);
	us_close(s.a, t);

	/* TCP to a link-local peer in the default zone: both ends report the
	 * zone they see it in. */
	int l = us_socket(s.b, AF_INET6, SOCK_STREAM, 0), c = us_socket(s.a, AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 any80 = sa6("::", 80), srv = sa6(LL_B, 80);
	assert_int_equal(us_bind(s.b, l, (struct sockaddr *)&any80, sizeof(any80)), 0);
	assert_int_equal(us_listen(s.b, l, 8), 0);
	int rc = us_connect(s.a, c, (struct sockaddr *)&srv, sizeof(srv));
	assert_true(rc == 0 || rc == -EINPROGRESS);
	sim_run(&s, MS(100));
	struct sockaddr_in6 peer;
	socklen_t pl = sizeof(peer);
	int acc = us_accept(s.b, l, (struct sockaddr *)&peer, &pl);
	assert_true(acc >= 0);
	assert_int_equal(peer.sin6_scope_id, (uint32_t)s.ifb);
	assert_memory_equal(&peer.sin6_addr, &want_a.sin6_addr, 16);
	gl = sizeof(got);
	assert_int_equal(us_getsockname(s.b, acc, (struct sockaddr *)&got, &gl), 0);
	assert_int_equal(got.sin6_scope_id, (uint32_t)s.ifb);
	gl = sizeof(got);
	assert_int_equal(us_getpeername(s.a, c, (struct sockaddr *)&got, &gl), 0);
	assert_int_equal(got.sin6_scope_id, (uint32_t)s.ifa);
	assert_int_equal(us_send(s.a, c, "tcp", 3, 0), 3);
	sim_run(&s, MS(100));
	assert_int_equal(us_recv(s.b, acc, buf, sizeof(buf), 0), 3);
	us_close(s.a, c);
	us_close(s.b, acc);
	us_close(s.b, l);
	sim_run(&s, SEC(70));
	sim_free(&s);
}

/* ICMPv6 ping sockets (SOCK_DGRAM, IPPROTO_ICMPV6) as on Linux: the
 * identifier is the socket's port, the checksum is the stack's. */
static void test_ping_socket(void **state)
{
	(void)state;
	struct sim s;
	init6(&s, NULL);
	int fd = us_socket(s.a, AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	assert_true(fd >= 0);
	int fd4 = us_socket(s.a, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	assert_true(fd4 >= 0);
	uint8_t req[64] = {ICMP6_ECHO_REQUEST, 0, 0, 0, 0, 0, 0, 7};
	for (int i = 8; i < 64; i++)
		req[i] = (uint8_t)i;
	struct sockaddr_in6 to = sa6(B6, 0);
	assert_int_equal(us_sendto(s.a, fd, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)), 64);
	/* An IPv4 echo request on an ICMPv6 socket is refused, as on Linux. */
	uint8_t req4[8] = {8, 0, 0, 0, 0, 0, 0, 1};
	assert_int_equal(us_sendto(s.a, fd, req4, sizeof(req4), 0, (struct sockaddr *)&to, sizeof(to)), -EINVAL);
	sim_run(&s, MS(50));
	uint8_t got[128];
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	assert_int_equal(us_recvfrom(s.a, fd, got, sizeof(got), 0, (struct sockaddr *)&from, &fl), 64);
	assert_int_equal(got[0], ICMP6_ECHO_REPLY);
	assert_int_equal(got[7], 7);   /* the sequence number */
	assert_memory_equal(got + 8, req + 8, 56);
	assert_memory_equal(&from.sin6_addr, &to.sin6_addr, 16);
	assert_int_equal(us_recv(s.a, fd4, got, sizeof(got), 0), -EAGAIN);
	assert_int_equal(stat_of(s.a, "Icmp6.OutEchos"), 1);
	assert_int_equal(stat_of(s.b, "Icmp6.OutEchoReplies"), 1);
	us_close(s.a, fd);
	us_close(s.a, fd4);
	sim_free(&s);
}

/* TUN-like links: no Ethernet, no NDP, no DAD; UDP and TCP still run. */
static void test_l3(void **state)
{
	(void)state;
	struct sim_opts o = {.l3 = 1};
	struct sim s;
	init6(&s, &o);
	udp_roundtrip(&s, 3000);
	tcp_transfer(&s, 200000);
	assert_int_equal(stat_of(s.a, "Icmp6.OutNeighborSolicits"), 0);
	assert_int_equal(stat_of(s.a, "Icmp6.OutRouterSolicits"), 0);
	sim_free(&s);
}

/* The hop limit of the last packet b sent with next header proto (from
 * B6; for ICMPv6 of type icmp6_type), read back from b's capture; -1 if
 * none. */
static int last_hops_t(const char *pcap, uint8_t proto, uint8_t icmp6_type)
{
	FILE *f = fopen(pcap, "rb");
	assert_non_null(f);
	uint8_t gh[24], rh[16], fr[2048];
	int hops = -1;
	struct ip6_addr b6;
	inet_pton(AF_INET6, B6, b6.b);
	assert_int_equal(fread(gh, sizeof(gh), 1, f), 1);
	while (fread(rh, sizeof(rh), 1, f) == 1) {
		uint32_t incl;
		memcpy(&incl, rh + 8, 4);   /* host byte order, as the writer's */
		assert_true(incl <= sizeof(fr));
		assert_int_equal(fread(fr, incl, 1, f), 1);
		if (incl >= 14 + 40 + 1 && fr[12] == 0x86 && fr[13] == 0xdd && fr[14 + 6] == proto &&
		    !memcmp(fr + 14 + 8, b6.b, 16) && (proto != 58 || fr[14 + 40] == icmp6_type))
			hops = fr[14 + 7];
	}
	fclose(f);
	return hops;
}

static int last_hops(const char *pcap, uint8_t proto) { return last_hops_t(pcap, proto, ICMP6_ECHO_REQUEST); }

static int get_hops(struct us_stack *st, int fd)
{
	int v = -100;
	socklen_t l = sizeof(v);
	assert_int_equal(us_getsockopt(st, fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &l), 0);
	return v;
}

static int set_hops(struct us_stack *st, int fd, int v)
{
	return us_setsockopt(st, fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v));
}

struct visit6 {
	int n, match;
};

static void visit6_fn(const struct us_tcp_info *i, void *arg)
{
	struct visit6 *v = arg;
	struct sockaddr_in6 l = sa6(B6, 0), r = sa6(A6, 0);
	v->n++;
	if (i->family == AF_INET6 && !memcmp(i->laddr6, &l.sin6_addr, 16) && !memcmp(i->raddr6, &r.sin6_addr, 16) &&
	    i->rport == 80 && i->laddr == 0 && i->raddr == 0)
		v->match++;
}

/* TCP_INFO and us_tcp_foreach name an IPv6 connection's addresses. */
static void check_info6(struct us_stack *b, int t)
{
	struct us_tcp_info ti;
	socklen_t tl = sizeof(ti);
	assert_int_equal(us_getsockopt(b, t, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
	struct sockaddr_in6 l = sa6(B6, 0), r = sa6(A6, 0);
	assert_int_equal(ti.family, AF_INET6);
	assert_memory_equal(ti.laddr6, &l.sin6_addr, 16);
	assert_memory_equal(ti.raddr6, &r.sin6_addr, 16);
	assert_int_equal(ti.rport, 80);
	struct visit6 v = {0, 0};
	us_tcp_foreach(b, visit6_fn, &v);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.match, 1);
}

/* IPV6_UNICAST_HOPS as Linux: -1 to 255 (-1: the default), read back as
 * the value in use; TCP and UDP send with it; the default is 64 until a
 * router advertisement's Cur Hop Limit replaces it (RFC 4861 6.3.4). */
static void test_unicast_hops(void **state)
{
	(void)state;
	char pcap[] = "/tmp/ustack-test-hops-XXXXXX";
	int pfd = mkstemp(pcap);
	assert_true(pfd >= 0);
	close(pfd);
	struct sim_opts o = {.pcap_b = pcap};
	struct sim s;
	init6(&s, &o);
	struct us_stack *b = s.b;
	int t = us_socket(b, AF_INET6, SOCK_STREAM, 0), u = us_socket(b, AF_INET6, SOCK_DGRAM, 0);
	int t4 = us_socket(b, AF_INET, SOCK_STREAM, 0);
	assert_true(t >= 0 && u >= 0 && t4 >= 0);
	assert_int_equal(get_hops(b, t), 64);
	assert_int_equal(set_hops(b, t, 256), -EINVAL);
	assert_int_equal(set_hops(b, t, -2), -EINVAL);
	assert_int_equal(set_hops(b, t4, 5), -ENOPROTOOPT);   /* Linux's answers on an AF_INET socket */
	int v = 0;
	socklen_t vl = sizeof(v);
	assert_int_equal(us_getsockopt(b, t4, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &vl), -EOPNOTSUPP);
	assert_int_equal(get_hops(b, t), 64);
	/* TCP: the SYN and what follows carry the socket's value. */
	int l = us_socket(s.a, AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 la = sa6(NULL, 80), to = sa6(A6, 80);
	assert_int_equal(us_bind(s.a, l, (struct sockaddr *)&la, sizeof(la)), 0);
	assert_int_equal(us_listen(s.a, l, 4), 0);
	assert_int_equal(set_hops(b, t, 7), 0);
	assert_int_equal(get_hops(b, t), 7);
	assert_int_equal(us_connect(b, t, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	sim_run(&s, MS(100));
	assert_int_equal(sim_tcp_state(b, t), US_TCP_ESTABLISHED);
	assert_int_equal(last_hops(pcap, IP6_NH_TCP), 7);
	check_info6(b, t);
	/* -1: back to the default, for the next segment. */
	assert_int_equal(set_hops(b, t, -1), 0);
	assert_int_equal(get_hops(b, t), 64);
	assert_int_equal(us_send(b, t, "x", 1, 0), 1);
	sim_run(&s, MS(100));
	assert_int_equal(last_hops(pcap, IP6_NH_TCP), 64);
	/* UDP. */
	struct sockaddr_in6 ut = sa6(A6, 9);
	assert_int_equal(set_hops(b, u, 9), 0);
	assert_int_equal(us_sendto(b, u, "y", 1, 0, (struct sockaddr *)&ut, sizeof(ut)), 1);
	sim_run(&s, MS(10));
	assert_int_equal(last_hops(pcap, 17), 9);
	assert_int_equal(set_hops(b, u, -1), 0);
	assert_int_equal(us_sendto(b, u, "y", 1, 0, (struct sockaddr *)&ut, sizeof(ut)), 1);
	sim_run(&s, MS(10));
	assert_int_equal(last_hops(pcap, 17), 64);
	/* A router advertisement with Cur Hop Limit 33 (no default route). */
	struct nd6_repr ra;
	memset(&ra, 0, sizeof(ra));
	ra.type = ICMP6_ND_RA;
	ra.cur_hop_limit = 33;
	uint8_t msg[256], f[400];
	struct ip6_addr src, dst;
	inet_pton(AF_INET6, "fe80::1", src.b);
	dst = ip6_all_nodes;
	size_t n = nd6_emit(&ra, &src, &dst, msg);
	assert_true(n > 0);
	sim_inject(&s, f, frame6(f, "fe80::1", "ff02::1", 58, 255, msg, n));
	sim_run(&s, MS(10));
	assert_int_equal(stat_of(b, "Icmp6.InRouterAdvertisements"), 1);
	assert_int_equal(get_hops(b, t), 33);
	/* An unconnected socket has no route to read it from: 64, as Linux
	 * (the interface's value is not the system's); connected, the
	 * route's interface's. */
	assert_int_equal(get_hops(b, u), 64);
	assert_int_equal(us_connect(b, u, (struct sockaddr *)&ut, sizeof(ut)), 0);
	assert_int_equal(get_hops(b, u), 33);
	assert_int_equal(us_send(b, t, "x", 1, 0), 1);
	assert_int_equal(us_sendto(b, u, "y", 1, 0, (struct sockaddr *)&ut, sizeof(ut)), 1);
	sim_run(&s, MS(100));
	assert_int_equal(last_hops(pcap, IP6_NH_TCP), 33);
	assert_int_equal(last_hops(pcap, 17), 33);
	/* A listener's value: its children's SYN-ACKs and data, and a SYN
	 * cookie's SYN-ACK. */
	int bl = us_socket(b, AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 bla = sa6(NULL, 81), blt = sa6(B6, 81);
	assert_int_equal(us_bind(b, bl, (struct sockaddr *)&bla, sizeof(bla)), 0);
	assert_int_equal(set_hops(b, bl, 11), 0);
	assert_int_equal(us_listen(b, bl, 4), 0);
	for (int cookie = 0; cookie < 2; cookie++) {
		b->cfg.tcp_syncookies = cookie ? 2 : 0;
		int ac = us_socket(s.a, AF_INET6, SOCK_STREAM, 0);
		assert_int_equal(us_connect(s.a, ac, (struct sockaddr *)&blt, sizeof(blt)), -EINPROGRESS);
		sim_run(&s, MS(100));
		assert_int_equal(last_hops(pcap, IP6_NH_TCP), 11);
		int bc = us_accept(b, bl, NULL, NULL);
		assert_true(bc >= 0);
		assert_int_equal(get_hops(b, bc), 11);
		assert_int_equal(us_send(b, bc, "z", 1, 0), 1);
		sim_run(&s, MS(100));
		assert_int_equal(last_hops(pcap, IP6_NH_TCP), 11);
		us_close(b, bc);
		us_close(s.a, ac);
		sim_run(&s, MS(100));
	}
	us_close(b, bl);
	/* An ICMPv6 ping socket: the router's default, then its own value. */
	int pg = us_socket(b, AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	assert_true(pg >= 0);
	uint8_t req[16] = {ICMP6_ECHO_REQUEST, 0, 0, 0, 0, 0, 0, 1};
	struct sockaddr_in6 pt = sa6(A6, 0);
	assert_int_equal(us_sendto(b, pg, req, sizeof(req), 0, (struct sockaddr *)&pt, sizeof(pt)), 16);
	sim_run(&s, MS(10));
	assert_int_equal(last_hops(pcap, 58), 33);
	assert_int_equal(set_hops(b, pg, 13), 0);
	assert_int_equal(us_sendto(b, pg, req, sizeof(req), 0, (struct sockaddr *)&pt, sizeof(pt)), 16);
	sim_run(&s, MS(10));
	assert_int_equal(last_hops(pcap, 58), 13);
	us_close(b, pg);
	/* The stack's own ICMPv6 (an echo reply) takes the router's too. */
	int pa = us_socket(s.a, AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	struct sockaddr_in6 pb = sa6(B6, 0);
	assert_int_equal(us_sendto(s.a, pa, req, sizeof(req), 0, (struct sockaddr *)&pb, sizeof(pb)), 16);
	sim_run(&s, MS(10));
	assert_int_equal(last_hops_t(pcap, 58, ICMP6_ECHO_REPLY), 33);
	us_close(s.a, pa);
	/* A value set still wins over the router's. */
	assert_int_equal(set_hops(b, u, 200), 0);
	assert_int_equal(us_sendto(b, u, "y", 1, 0, (struct sockaddr *)&ut, sizeof(ut)), 1);
	sim_run(&s, MS(10));
	assert_int_equal(last_hops(pcap, 17), 200);
	us_close(b, t);
	us_close(b, u);
	us_close(b, t4);
	us_close(s.a, l);
	sim_run(&s, SEC(1));
	sim_free(&s);
	unlink(pcap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ndp_and_udp), cmocka_unit_test(test_echo),   cmocka_unit_test(test_fragments), cmocka_unit_test(test_fragment_id_reuse),
		cmocka_unit_test(test_tcp),         cmocka_unit_test(test_tcp_lossy), cmocka_unit_test(test_pmtu),
		cmocka_unit_test(test_dad_conflict), cmocka_unit_test(test_slaac),  cmocka_unit_test(test_l3),
		cmocka_unit_test(test_stable_iid),   cmocka_unit_test(test_stable_iid_retries),
		cmocka_unit_test(test_scope_ids),
		cmocka_unit_test(test_ping_socket),  cmocka_unit_test(test_unicast_hops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
