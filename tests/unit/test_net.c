/* The neighbour cache and IPv4 reassembly, driven with crafted frames into a
 * stack on the virtual clock: bounds, eviction, spoofing and conflict rules,
 * and the strict fragment policy (overlap, ping of death, tiny fragments,
 * floods that never complete). Every case ends with no buffers in use. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/sim.h"
#include "core/bytes.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "net/neigh.h"
#include "net/route.h"
#include "stack.h"
#include "wire/arp.h"
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"

static void finish(struct sim *s)
{
	sim_run(s, SEC(120));
	assert_int_equal(us_stack_bufs_in_use(s->a), 0);
	assert_int_equal(us_stack_bufs_in_use(s->b), 0);
	sim_free(s);
}

static struct sim_opts wide_subnet(void)
{
	struct sim_opts o = {0};
	return o;
}

/* An ARP frame from a's MAC (or sha) to b. */
static void arp_frame(struct sim *s, uint16_t op, const uint8_t sha[6], uint32_t spa, uint32_t tpa, const uint8_t *eth_dst)
{
	uint8_t f[60] = {0};
	static const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct eth_repr e = {.type = ETH_P_ARP};
	memcpy(e.dst, eth_dst ? eth_dst : bc, 6);
	memcpy(e.src, sha, 6);
	eth_emit(&e, f);
	struct arp_repr a = {.op = op, .spa = spa, .tpa = tpa};
	memcpy(a.sha, sha, 6);
	arp_emit(&a, f + 14);
	sim_inject(s, f, sizeof(f));
}

static void test_arp_cache_bounded_under_flood(void **state)
{
	(void)state;
	struct sim_opts o = wide_subnet();
	struct sim s;
	assert_int_equal(sim_init(&s, &o), 0);
	uint32_t me = sim_ip(SIM_B);
	/* 1000 hosts on the /24... there are 253; use 200 distinct senders in the
	 * subnet, five rounds, with a cache of 64 entries. */
	sim_free(&s);
	o.cfg.neigh_entries = 64;
	assert_int_equal(sim_init(&s, &o), 0);
	const struct us_stats *b = us_stack_stats(s.b);
	sim_run(&s, MS(1));   /* a's announcement arrives first */
	uint64_t req0 = b->arp.InRequests, rep0 = b->arp.OutReplies;
	for (int round = 0; round < 5; round++)
		for (uint32_t h = 10; h < 210; h++) {
			uint8_t mac[6] = {2, 0x11, 0, 0, (uint8_t)round, (uint8_t)h};
			arp_frame(&s, ARP_OP_REQUEST, mac, (me & 0xFFFFFF00u) | h, me, NULL);
			if (h % 50 == 0)
				sim_run(&s, MS(1));
		}
	sim_run(&s, MS(10));
	assert_int_equal(b->arp.InRequests - req0, 1000);
	assert_int_equal(b->arp.OutReplies - rep0, 1000);   /* every request for us answered */
	assert_true(neigh_count((struct us_stack *)s.b) <= 64);
	assert_true(b->arp.CacheEvictions >= 200 - 64);
	finish(&s);
}

static void test_neigh_permanent(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	uint32_t me = sim_ip(SIM_B), net = me & 0xFFFFFF00u;
	uint8_t m1[6] = {2, 0x33, 0, 0, 0, 1}, m2[6] = {2, 0x33, 0, 0, 0, 2}, mc[6] = {1, 0, 0x5e, 0, 0, 1}, got[6];
	struct in_addr ip = {htonl(net | 60)};
	assert_int_equal(us_neigh_add(s.b, 99, ip, m1), -ENODEV);
	assert_int_equal(us_neigh_add(s.b, s.ifb, ip, mc), -EINVAL);
	assert_int_equal(us_neigh_add(s.b, s.ifb, ip, m1), 0);
	assert_int_equal(neigh_lookup((struct us_stack *)s.b, s.ifb, net | 60, got), 0);
	assert_memory_equal(got, m1, 6);
	/* ARP cannot change it, and it never ages */
	arp_frame(&s, ARP_OP_REPLY, m2, net | 60, me, NULL);
	arp_frame(&s, ARP_OP_REQUEST, m2, net | 60, me, NULL);
	sim_run(&s, SEC(600));
	assert_int_equal(neigh_lookup((struct us_stack *)s.b, s.ifb, net | 60, got), 0);
	assert_memory_equal(got, m1, 6);
	finish(&s);
}

static void test_arp_bogus_senders(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	const struct us_stats *b = us_stack_stats(s.b);
	uint32_t me = sim_ip(SIM_B), net = me & 0xFFFFFF00u;
	uint8_t mcast[6] = {1, 0, 0x5e, 0, 0, 1}, good[6] = {2, 0x22, 0, 0, 0, 1}, mac[6];
	uint64_t replies0 = b->arp.OutReplies;
	arp_frame(&s, ARP_OP_REQUEST, mcast, net | 50, me, NULL);          /* multicast sender MAC */
	arp_frame(&s, ARP_OP_REQUEST, good, 0xFFFFFFFFu, me, NULL);       /* broadcast sender IP */
	arp_frame(&s, ARP_OP_REQUEST, good, 0xE0000001u, me, NULL);       /* multicast sender IP */
	arp_frame(&s, ARP_OP_REQUEST, good, 0x7F000001u, me, NULL);       /* loopback sender IP */
	arp_frame(&s, ARP_OP_REQUEST, good, 0x0B000001u, me, NULL);       /* off-subnet sender */
	sim_run(&s, MS(10));
	assert_int_equal(b->arp.InBogus, 5);
	assert_int_equal(b->arp.OutReplies, replies0);
	assert_int_equal(neigh_lookup((struct us_stack *)s.b, s.ifb, net | 50, mac), -ENOENT);
	/* Someone claims our address: counted, defended once, never cached. */
	uint64_t grat0 = b->arp.OutGratuitous;
	arp_frame(&s, ARP_OP_REPLY, good, me, me, NULL);
	arp_frame(&s, ARP_OP_REPLY, good, me, me, NULL);
	sim_run(&s, MS(10));
	assert_int_equal(b->arp.Conflicts, 2);
	assert_int_equal(b->arp.OutGratuitous - grat0, 1);   /* RFC 5227: at most once per 10 s */
	/* An unsolicited reply for a host we never asked about is not cached. */
	arp_frame(&s, ARP_OP_REPLY, good, net | 77, me, s.b ? (uint8_t[6]){2, 0, 0, 0, 0, 2} : NULL);
	sim_run(&s, MS(10));
	assert_int_equal(b->arp.InUnsolicited, 1);
	assert_int_equal(neigh_lookup((struct us_stack *)s.b, s.ifb, net | 77, mac), -ENOENT);
	/* Malformed: hardware type 6, truncated. */
	uint8_t f[60] = {0};
	struct eth_repr e = {.dst = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, .src = {2, 0, 0, 0, 0, 1}, .type = ETH_P_ARP};
	eth_emit(&e, f);
	struct arp_repr a = {.op = 1, .spa = net | 9, .tpa = me, .sha = {2, 0, 0, 0, 0, 1}};
	arp_emit(&a, f + 14);
	f[15] = 6;
	sim_inject(&s, f, sizeof(f));
	f[15] = 1;
	sim_inject(&s, f, 14 + 20);
	sim_run(&s, MS(10));
	assert_int_equal(b->arp.InMalformed, 2);
	finish(&s);
}

/* One IPv4 fragment a -> b carrying `len` bytes of an ICMP echo at `off`. */
static void frag(struct sim *s, uint16_t id, uint32_t off, uint32_t len, int mf, const uint8_t *payload)
{
	uint8_t pkt[1500], frame[1514];
	assert_true(len <= 1480);   /* one frame on the 1500-byte link */
	struct ipv4_repr r = {.src = sim_ip(SIM_A), .dst = sim_ip(SIM_B), .proto = IP_PROTO_ICMP, .ttl = 64,
			      .id = id, .frag_off = (uint16_t)off, .mf = (uint8_t)mf, .payload_len = (uint16_t)len};
	ipv4_emit(&r, pkt);
	if (off + len <= 4000)
		memcpy(pkt + 20, payload + off, len);   /* callers' echoes are at least 4000 bytes */
	else
		memset(pkt + 20, 0, len);
	sim_inject(s, frame, sim_eth_frame(frame, pkt, 20 + len, ETH_P_IPV4));
}

static void make_echo(uint8_t *buf, size_t len)
{
	for (size_t i = 8; i < len; i++)
		buf[i] = (uint8_t)i;
	struct icmp4_repr r = {.type = ICMP_ECHO, .rest = 0x12340001, .payload = buf + 8, .payload_len = len - 8};
	icmp4_emit(&r, buf);
}

/* The 4000-byte echo m as datagram id in four fragments, in offset order
 * or with the one at 1200 first. */
static void echo_frags(struct sim *s, uint16_t id, const uint8_t *m, int from1200)
{
	static const uint16_t off[4] = {0, 1200, 2400, 3800}, len[4] = {1200, 1200, 1400, 200};
	static const int order[2][4] = {{0, 1, 2, 3}, {1, 0, 2, 3}};
	for (int i = 0; i < 4; i++) {
		int k = order[from1200 ? 1 : 0][i];
		frag(s, id, off[k], len[k], k < 3, m);
	}
}

static void test_reassembly_policy(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	const struct us_stats *b = us_stack_stats(s.b);
	static uint8_t echo[4000];
	make_echo(echo, sizeof(echo));
	/* A good datagram in three fragments, out of order, one duplicated. */
	frag(&s, 1, 2400, 1600 - 200, 1, echo);
	frag(&s, 1, 3800, 200, 0, echo);
	frag(&s, 1, 0, 1200, 1, echo);
	frag(&s, 1, 0, 1200, 1, echo);
	frag(&s, 1, 1200, 1200, 1, echo);
	sim_run(&s, MS(10));
	assert_int_equal(b->ip.ReasmOKs, 1);
	assert_int_equal(b->ip.ReasmDuplicates, 1);
	assert_int_equal(b->icmp.OutEchoReps, 1);
	/* Within the second after it completed: a late copy of one of its
	 * fragments is a duplicate and starts nothing; a new datagram reusing
	 * ID 1 with other bytes (as two Linux sockets' random IDs can) is
	 * reassembled and answered, not taken for a duplicate. */
	frag(&s, 1, 1200, 1200, 1, echo);
	sim_run(&s, MS(10));
	assert_int_equal(b->ip.ReasmDuplicates, 2);
	assert_int_equal(frag4_count((struct us_stack *)s.b), 0);
	static uint8_t echo2[4000];
	for (size_t i = 8; i < sizeof(echo2); i++)
		echo2[i] = (uint8_t)(i * 7);
	struct icmp4_repr r2 = {.type = ICMP_ECHO, .rest = 0x12340002, .payload = echo2 + 8,
				.payload_len = sizeof(echo2) - 8};
	icmp4_emit(&r2, echo2);
	echo_frags(&s, 1, echo2, 0);
	sim_run(&s, MS(10));
	assert_int_equal(b->ip.ReasmOKs, 2);
	assert_int_equal(b->ip.ReasmDuplicates, 2);
	assert_int_equal(b->ip.ReasmFails, 0);
	assert_int_equal(b->icmp.OutEchoReps, 2);
	/* And again, a third datagram with ID 1 whose bytes differ from the
	 * second's only by two 16-bit words swapped in one fragment: the same
	 * ones'-complement sum (and ICMP checksum), so the fingerprint must be
	 * more than a sum. Its differing fragment comes first, then the rest,
	 * byte for byte the second's. */
	static uint8_t echo3[4000];
	memcpy(echo3, echo2, sizeof(echo3));
	uint8_t w[2] = {echo3[1300], echo3[1301]};
	echo3[1300] = echo3[1302];
	echo3[1301] = echo3[1303];
	echo3[1302] = w[0];
	echo3[1303] = w[1];
	assert_memory_not_equal(echo3, echo2, sizeof(echo3));
	echo_frags(&s, 1, echo3, 1);
	sim_run(&s, MS(10));
	assert_int_equal(b->ip.ReasmOKs, 3);
	assert_int_equal(b->ip.ReasmDuplicates, 2);
	assert_int_equal(b->icmp.OutEchoReps, 3);
	/* Overlap (teardrop): the datagram is discarded, and so are its later
	 * fragments; no reply. */
	frag(&s, 2, 0, 1200, 1, echo);
	frag(&s, 2, 1000, 1200, 1, echo);
	frag(&s, 2, 2200, 1400, 1, echo);
	frag(&s, 2, 3600, 400, 0, echo);
	sim_run(&s, MS(10));
	assert_int_equal(b->ip.ReasmOverlaps, 1);
	assert_int_equal(b->ip.ReasmFails, 1);
	assert_int_equal(b->icmp.OutEchoReps, 3);
	/* Ping of death: offset + length past 65535. */
	frag(&s, 3, 65528, 16, 0, echo);
	/* Tiny first fragment (RFC 1858), and a non-last one not a multiple of 8. */
	frag(&s, 4, 0, 4, 1, echo);
	frag(&s, 5, 0, 1203, 1, echo);
	/* Inconsistent ends: two different last fragments. */
	frag(&s, 6, 0, 800, 1, echo);
	frag(&s, 6, 1600, 800, 0, echo);
	frag(&s, 6, 2000, 800, 0, echo);
	sim_run(&s, MS(10));
	assert_int_equal(b->ip.ReasmFails, 1 + 4);
	assert_int_equal(b->icmp.OutEchoReps, 3);
	/* Fragment 0 arrived but the rest never does: time exceeded after 30 s,
	 * the memory freed. */
	uint64_t te0 = b->icmp.OutTimeExcds;
	frag(&s, 7, 0, 1200, 1, echo);
	sim_run(&s, SEC(29));
	assert_int_equal(frag4_count((struct us_stack *)s.b), 1);
	sim_run(&s, SEC(2));
	assert_int_equal(frag4_count((struct us_stack *)s.b), 0);
	assert_int_equal(frag4_mem((struct us_stack *)s.b), 0);
	assert_int_equal(b->ip.ReasmTimeout, 1);
	assert_int_equal(b->icmp.OutTimeExcds - te0, 1);
	finish(&s);
}

static void test_fragment_flood_bounded(void **state)
{
	(void)state;
	struct sim s;
	assert_int_equal(sim_init(&s, NULL), 0);
	const struct us_stats *b = us_stack_stats(s.b);
	static uint8_t echo[4000];
	make_echo(echo, 3000);   /* sent below as 1200 + 1400 + 400 */
	/* 2000 first fragments, all distinct IDs, never completed. */
	uint32_t peak = 0;
	for (uint16_t id = 100; id < 2100; id++) {
		frag(&s, id, 0, 1200, 1, echo);
		if (id % 64 == 0) {
			sim_run(&s, MS(1));
			uint32_t n = frag4_count((struct us_stack *)s.b);
			if (n > peak)
				peak = n;
			assert_true(frag4_mem((struct us_stack *)s.b) <= 4u << 20);
		}
	}
	sim_run(&s, MS(10));
	assert_true(peak <= 32);   /* reasm_max */
	assert_true(b->ip.ReasmEvictions >= 2000 - 32);
	/* A good datagram still gets through the flood's aftermath. */
	uint64_t reps = b->icmp.OutEchoReps;
	frag(&s, 9000, 0, 1200, 1, echo);
	frag(&s, 9000, 1200, 1400, 1, echo);
	frag(&s, 9000, 2600, 400, 0, echo);
	sim_run(&s, MS(10));
	assert_int_equal(b->icmp.OutEchoReps, reps + 1);
	sim_run(&s, SEC(40));
	assert_int_equal(frag4_count((struct us_stack *)s.b), 0);
	assert_int_equal(frag4_mem((struct us_stack *)s.b), 0);
	printf("  fragment flood: 2000 datagrams, at most %u held, %llu evicted, %llu time exceeded sent (rate-limited)\n",
	       peak, (unsigned long long)b->ip.ReasmEvictions, (unsigned long long)b->icmp.OutTimeExcds);
	finish(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_cache_bounded_under_flood),
		cmocka_unit_test(test_arp_bogus_senders),
		cmocka_unit_test(test_neigh_permanent),
		cmocka_unit_test(test_reassembly_policy),
		cmocka_unit_test(test_fragment_flood_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
