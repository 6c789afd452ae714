/* Unit tests for link/: the in-memory pair, the fault injector and the
 * pcap writer. Everything runs on a virtual clock; every test ends with
 * the pools back to zero buffers in use. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/pkt.h"
#include "core/bytes.h"
#include "link/link.h"
#include "ustack/ustack.h"

#define US_MS(x) ((uint64_t)(x) * 1000000ull)
#define US_US(x) ((uint64_t)(x) * 1000ull)

/* ---- helpers ---------------------------------------------------------- */

struct env {
	struct pkt_pool pa, pb;
	struct us_link *a, *b;
};

static int env_init_large(struct env *e, uint32_t mtu, int l3, uint32_t frames_a, uint32_t frames_b, uint32_t large)
{
	memset(e, 0, sizeof(*e));
	if (pkt_pool_init(&e->pa, 2048, frames_a, large) < 0 || pkt_pool_init(&e->pb, 2048, frames_b, large) < 0)
		return -1;
	if (us_link_mem_pair(&e->a, &e->b, mtu, l3) < 0)
		return -1;
	e->a->pool = &e->pa;
	e->b->pool = &e->pb;
	return 0;
}

static int env_init(struct env *e, uint32_t mtu, int l3, uint32_t frames_a, uint32_t frames_b)
{
	return env_init_large(e, mtu, l3, frames_a, frames_b, 2);
}

/* Closes the links and checks the leak counters. */
static void env_done(struct env *e)
{
	us_link_close(e->a);
	us_link_close(e->b);
	assert_int_equal(pkt_pool_in_use(&e->pa), 0);
	assert_int_equal(pkt_pool_in_use(&e->pb), 0);
	pkt_pool_destroy(&e->pa);
	pkt_pool_destroy(&e->pb);
}

static uint8_t pat(uint32_t id, uint32_t i)
{
	return (uint8_t)(id * 31u + i * 7u + (i >> 8));
}

/* A frame of len bytes: the id big-endian in the first 4, then a pattern. */
static struct pkt *mkframe(struct pkt_pool *pool, uint32_t id, uint32_t len)
{
	struct pkt *p = pkt_alloc(pool, len, PKT_HEADROOM);
	assert_non_null(p);
	uint8_t *d = pkt_put(p, len);
	assert_non_null(d);
	for (uint32_t i = 0; i < len; i++)
		d[i] = pat(id, i);
	if (len >= 4) {
		d[0] = (uint8_t)(id >> 24);
		d[1] = (uint8_t)(id >> 16);
		d[2] = (uint8_t)(id >> 8);
		d[3] = (uint8_t)id;
	}
	return p;
}

static uint32_t frame_id(const struct pkt *p)
{
	assert_true(p->len >= 4);
	return (uint32_t)p->data[0] << 24 | (uint32_t)p->data[1] << 16 | (uint32_t)p->data[2] << 8 | p->data[3];
}

static int frame_intact(const struct pkt *p, uint32_t id, uint32_t len)
{
	if (p->len != len || frame_id(p) != id)
		return 0;
	for (uint32_t i = 4; i < len; i++)
		if (p->data[i] != pat(id, i))
			return 0;
	return 1;
}

static int send_one(struct us_link *l, struct pkt_pool *pool, uint32_t id, uint32_t len, uint64_t now)
{
	struct pkt *p = mkframe(pool, id, len);
	return link_send(l, &p, 1, now);
}

/* Receives everything ready on l at now; frees the frames, appends ids. */
static int drain(struct us_link *l, uint64_t now, uint32_t *ids, int *nids, int cap)
{
	struct pkt *pk[64];
	int total = 0;
	for (int guard = 0; guard < 100000; guard++) {
		int n = link_recv(l, pk, 64, now);
		assert_true(n >= 0);
		if (n == 0)
			break;
		for (int i = 0; i < n; i++) {
			if (ids && *nids < cap)
				ids[(*nids)++] = frame_id(pk[i]);
			pkt_free(l->pool, pk[i]);
		}
		total += n;
	}
	return total;
}

/* ---- mem ---------------------------------------------------------------- */

static void test_mem_both_directions(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 256, 256), 0);
	static const uint8_t ma[6] = { 2, 0, 0, 0, 0, 1 }, mb[6] = { 2, 0, 0, 0, 0, 2 };
	assert_memory_equal(e.a->hwaddr, ma, 6);
	assert_memory_equal(e.b->hwaddr, mb, 6);
	assert_int_equal(e.a->flags, US_LINK_L2);
	assert_int_equal(e.a->fd, -1);
	assert_int_equal(e.b->mtu, 1500);
	assert_int_equal(link_pending(e.b), 0);

	struct pkt *pk[64];
	static const uint32_t lens[] = { 60, 1514, 64, 1000, 14, 1518, 0 + 42 };
	int nl = (int)(sizeof(lens) / sizeof(lens[0]));
	for (int i = 0; i < nl; i++)
		pk[i] = mkframe(&e.pa, (uint32_t)i, lens[i]);
	assert_int_equal(link_send(e.a, pk, nl, 0), nl);
	assert_int_equal(pkt_pool_in_use(&e.pa), 0);  /* the link copied and freed them */
	assert_int_equal(link_pending(e.b), 1);
	assert_int_equal(link_pending(e.a), 0);
	int n = link_recv(e.b, pk, 64, 0);
	assert_int_equal(n, nl);
	for (int i = 0; i < n; i++) {
		assert_true(frame_intact(pk[i], (uint32_t)i, lens[i]));
		assert_true(pkt_headroom(pk[i]) >= PKT_HEADROOM);
		pkt_free(&e.pb, pk[i]);
	}
	assert_int_equal(link_pending(e.b), 0);
	assert_int_equal(link_recv(e.b, pk, 64, 0), 0);

	/* and back */
	for (int i = 0; i < 5; i++)
		pk[i] = mkframe(&e.pb, 100u + (uint32_t)i, 200u + (uint32_t)i);
	assert_int_equal(link_send(e.b, pk, 5, 0), 5);
	/* max is respected; the rest stays queued */
	assert_int_equal(link_recv(e.a, pk, 3, 0), 3);
	for (int i = 0; i < 3; i++) {
		assert_true(frame_intact(pk[i], 100u + (uint32_t)i, 200u + (uint32_t)i));
		pkt_free(&e.pa, pk[i]);
	}
	assert_int_equal(link_pending(e.a), 1);
	assert_int_equal(link_recv(e.a, pk, 64, 0), 2);
	assert_true(frame_intact(pk[0], 103, 203));
	assert_true(frame_intact(pk[1], 104, 204));
	pkt_free(&e.pa, pk[0]);
	pkt_free(&e.pa, pk[1]);
	assert_int_equal(e.a->tx_frames, (uint64_t)nl);
	assert_int_equal(e.b->rx_frames, (uint64_t)nl);
	assert_int_equal(e.a->rx_frames, 5);

	/* a frame longer than MTU + Ethernet header is refused */
	assert_int_equal(send_one(e.a, &e.pa, 9, 1500 + 18 + 1, 0), 0);
	assert_int_equal(e.a->tx_drops, 1);
	assert_int_equal(link_pending(e.b), 0);

	uint8_t mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee }, got[6];
	us_link_set_hwaddr(e.a, mac);
	us_link_get_hwaddr(e.a, got);
	assert_memory_equal(mac, got, 6);
	env_done(&e);
}

static void test_mem_ring_full(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 8192, 8192), 0);
	int sent = 0;
	for (uint32_t i = 0; i < 5000; i++)
		sent += send_one(e.a, &e.pa, i, 1514, 0);
	assert_int_equal(sent, 4096);
	assert_int_equal(e.a->tx_drops, 5000 - 4096);
	assert_int_equal(pkt_pool_in_use(&e.pa), 0);
	/* the first 4096, in order */
	struct pkt *pk[64];
	uint32_t want = 0;
	for (int guard = 0; guard < 1000; guard++) {
		int n = link_recv(e.b, pk, 64, 0);
		if (!n)
			break;
		for (int i = 0; i < n; i++) {
			assert_true(frame_intact(pk[i], want++, 1514));
			pkt_free(&e.pb, pk[i]);
		}
	}
	assert_int_equal(want, 4096);
	/* room again */
	assert_int_equal(send_one(e.a, &e.pa, 1, 100, 0), 1);
	assert_int_equal(drain(e.b, 0, NULL, NULL, 0), 1);
	env_done(&e);
}

/* Variable sizes with the ring kept partly full, so records wrap around
 * the end of the ring storage many times. */
static void test_mem_wraparound(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init_large(&e, 9000, 0, 4096, 4096, 64), 0);
	uint64_t x = 12345;
	uint32_t next_send = 0, next_recv = 0;
	uint32_t lens[1024];
	struct pkt *pk[64];
	for (int round = 0; round < 3000; round++) {
		int burst = (int)(x % 40);
		for (int i = 0; i < burst; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			uint32_t len = 4 + (uint32_t)((x >> 33) % 9014);
			lens[next_send % 1024] = len;
			assert_int_equal(send_one(e.a, &e.pa, next_send++, len, 0), 1);
		}
		int n = link_recv(e.b, pk, (int)((x >> 20) % 40), 0);
		for (int i = 0; i < n; i++) {
			assert_true(frame_intact(pk[i], next_recv, lens[next_recv % 1024]));
			next_recv++;
			pkt_free(&e.pb, pk[i]);
		}
		assert_true(next_send - next_recv < 1000);
	}
	for (int guard = 0; guard < 1000; guard++) {
		int n = link_recv(e.b, pk, 64, 0);
		if (!n)
			break;
		for (int i = 0; i < n; i++) {
			assert_true(frame_intact(pk[i], next_recv, lens[next_recv % 1024]));
			next_recv++;
			pkt_free(&e.pb, pk[i]);
		}
	}
	assert_int_equal(next_recv, next_send);
	assert_int_equal(e.a->tx_drops, 0);

	/* Jumbo frames fill the ring's bytes before its 4096 slots: sends
	 * fail once it is full, and everything in it comes out intact. */
	uint32_t first = next_send;
	for (int i = 0; i < 4096; i++) {
		if (send_one(e.a, &e.pa, next_send, 9017, 0) != 1)
			break;
		lens[next_send % 1024] = 9017;
		next_send++;
	}
	uint32_t filled = next_send - first;
	assert_in_range(filled, 1000, 4095);
	assert_int_equal(e.a->tx_drops, 1);
	for (int guard = 0; guard < 1000; guard++) {
		int n = link_recv(e.b, pk, 64, 0);
		if (!n)
			break;
		for (int i = 0; i < n; i++) {
			assert_true(frame_intact(pk[i], next_recv, 9017));
			next_recv++;
			pkt_free(&e.pb, pk[i]);
		}
	}
	assert_int_equal(next_recv, next_send);
	env_done(&e);
}

static void test_mem_pool_empty(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init_large(&e, 1500, 0, 64, 4, 0), 0);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(send_one(e.a, &e.pa, i, 500, 0), 1);
	struct pkt *pk[64];
	/* Four buffers in b's pool: four frames delivered, and the rest are
	 * taken off the ring and counted, not left to clog it. */
	int n = link_recv(e.b, pk, 64, 0);
	assert_int_equal(n, 4);
	assert_int_equal(e.b->rx_drops, 6);
	assert_int_equal(link_pending(e.b), 0);
	for (int i = 0; i < n; i++) {
		assert_true(frame_intact(pk[i], (uint32_t)i, 500));
		pkt_free(&e.pb, pk[i]);
	}
	/* with buffers back, frames flow again */
	assert_int_equal(send_one(e.a, &e.pa, 77, 500, 0), 1);
	n = link_recv(e.b, pk, 64, 0);
	assert_int_equal(n, 1);
	assert_true(frame_intact(pk[0], 77, 500));
	pkt_free(&e.pb, pk[0]);
	env_done(&e);
}

static void test_mem_l3(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1400, 1, 64, 64), 0);
	assert_int_equal(e.a->flags, US_LINK_L3);
	assert_int_equal(e.b->flags, US_LINK_L3);
	static const uint8_t zero[6];
	assert_memory_equal(e.a->hwaddr, zero, 6);
	assert_int_equal(send_one(e.a, &e.pa, 5, 1400, 0), 1);
	assert_int_equal(send_one(e.a, &e.pa, 6, 1401, 0), 0);  /* over the IP MTU */
	struct pkt *pk[4];
	assert_int_equal(link_recv(e.b, pk, 4, 0), 1);
	assert_true(frame_intact(pk[0], 5, 1400));
	pkt_free(&e.pb, pk[0]);
	struct us_link *x = NULL, *y = NULL;
	assert_int_equal(us_link_mem_pair(&x, &y, 20, 0), -EINVAL);  /* below the IPv4 minimum */
	assert_null(x);
	/* Both ends into one pointer: refused (else one end leaked). */
	assert_int_equal(us_link_mem_pair(&x, &x, 1500, 0), -EINVAL);
	assert_null(x);
	env_done(&e);
}

static void test_mem_peer_closed(void **state)
{
	(void)state;
	struct pkt_pool pool;
	assert_int_equal(pkt_pool_init(&pool, 2048, 16, 0), 0);
	struct us_link *a, *b;
	assert_int_equal(us_link_mem_pair(&a, &b, 1500, 0), 0);
	a->pool = b->pool = &pool;
	assert_int_equal(send_one(a, &pool, 1, 100, 0), 1);  /* left unread */
	us_link_close(b);
	assert_int_equal(send_one(a, &pool, 2, 100, 0), 0);
	assert_int_equal(a->tx_drops, 1);
	us_link_close(a);
	us_link_close(NULL);
	assert_int_equal(pkt_pool_in_use(&pool), 0);
	pkt_pool_destroy(&pool);
}

/* ---- fault ------------------------------------------------------------ */

/* f wraps e->a. Sends n frames through f, one every `gap` ns, receiving on
 * e->b as it goes, then runs the clock on until nothing is held. Records
 * the received ids and a hash of each frame's bytes. */
struct trace {
	uint32_t ids[30000];
	uint64_t hash[30000];
	int n;
};

static uint64_t fnv(const uint8_t *p, uint32_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static void trace_recv(struct us_link *rx, uint64_t now, struct trace *t)
{
	struct pkt *pk[64];
	for (int guard = 0; guard < 100000; guard++) {
		int n = link_recv(rx, pk, 64, now);
		assert_true(n >= 0);
		if (!n)
			break;
		for (int i = 0; i < n; i++) {
			if (t && t->n < 30000) {
				t->ids[t->n] = frame_id(pk[i]);
				t->hash[t->n] = fnv(pk[i]->data, pk[i]->len);
				t->n++;
			}
			pkt_free(rx->pool, pk[i]);
		}
	}
}

static uint64_t run_through(struct us_link *f, struct us_link *rx, struct pkt_pool *txpool,
			    int n, uint64_t gap, uint32_t len, struct trace *t)
{
	uint64_t now = 1000;
	if (t)
		t->n = 0;
	for (int i = 0; i < n; i++) {
		now += gap;
		int r = send_one(f, txpool, (uint32_t)i, len + (uint32_t)(i % 7), now);
		assert_true(r == 0 || r == 1);
		link_poll(f, now);
		trace_recv(rx, now, t);
	}
	/* run the clock on to each next deadline until nothing is held */
	for (int guard = 0; guard < 1000000; guard++) {
		int64_t dl = link_poll(f, now);
		int64_t dl2 = link_poll(rx, now);
		if (dl < 0 && dl2 < 0 && !link_pending(rx))
			break;
		if (dl < 0 || (dl2 >= 0 && dl2 < dl))
			dl = dl2;
		if (dl >= 0 && (uint64_t)dl > now)
			now = (uint64_t)dl;
		link_poll(f, now);
		trace_recv(rx, now, t);
	}
	return now;
}

static const struct us_fault_cfg all_faults = {
	.seed = 42,
	.drop = 0.1,
	.dup = 0.1,
	.reorder = 0.1,
	.corrupt = 0.1,
	.delay_ns = US_MS(1),
	.jitter_ns = US_US(500),
	.rate_bps = 100000000,
};

static void run_cfg(const struct us_fault_cfg *tx, const struct us_fault_cfg *rx, int n, struct trace *t)
{
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 4096, 4096), 0);
	struct us_link *f = us_link_fault_wrap(e.a, tx, NULL);
	assert_non_null(f);
	struct us_link *g = us_link_fault_wrap(e.b, NULL, rx);
	assert_non_null(g);
	g->pool = &e.pb;
	f->pool = &e.pa;
	run_through(f, g, &e.pa, n, US_US(20), 300, t);
	e.a = f;
	e.b = g;
	env_done(&e);
}

static void test_fault_deterministic(void **state)
{
	(void)state;
	static struct trace t1, t2, t3;
	run_cfg(&all_faults, NULL, 3000, &t1);
	run_cfg(&all_faults, NULL, 3000, &t2);
	assert_true(t1.n > 2000);
	assert_int_equal(t1.n, t2.n);
	assert_memory_equal(t1.ids, t2.ids, (size_t)t1.n * sizeof(t1.ids[0]));
	assert_memory_equal(t1.hash, t2.hash, (size_t)t1.n * sizeof(t1.hash[0]));
	struct us_fault_cfg other = all_faults;
	other.seed = 43;
	run_cfg(&other, NULL, 3000, &t3);
	int differ = t3.n != t1.n;
	for (int i = 0; !differ && i < t1.n; i++)
		differ = t1.ids[i] != t3.ids[i] || t1.hash[i] != t3.hash[i];
	assert_true(differ);
}

static void test_fault_rx_deterministic(void **state)
{
	(void)state;
	/* The same faults on the receiving side: f wraps b, faults on its rx. */
	static struct trace t1, t2;
	for (int k = 0; k < 2; k++) {
		struct trace *t = k ? &t2 : &t1;
		struct env e;
		assert_int_equal(env_init(&e, 1500, 0, 4096, 4096), 0);
		struct us_link *g = us_link_fault_wrap(e.b, NULL, &all_faults);
		assert_non_null(g);
		g->pool = &e.pb;
		run_through(e.a, g, &e.pa, 3000, US_US(20), 300, t);
		struct us_fault_stats rx;
		assert_int_equal(us_link_fault_stats(g, NULL, &rx), 0);
		assert_true(rx.dropped > 200 && rx.duplicated > 200 && rx.corrupted > 200 && rx.reordered > 200);
		assert_int_equal(rx.held, 0);
		assert_int_equal(rx.frames_out, (uint64_t)t->n);
		e.b = g;
		env_done(&e);
	}
	assert_int_equal(t1.n, t2.n);
	assert_memory_equal(t1.ids, t2.ids, (size_t)t1.n * sizeof(t1.ids[0]));
	assert_memory_equal(t1.hash, t2.hash, (size_t)t1.n * sizeof(t1.hash[0]));
}

static void test_fault_drop_rate(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 256, 256), 0);
	struct us_fault_cfg c = { .seed = 7, .drop = 0.25 };
	struct us_link *f = us_link_fault_wrap(e.a, &c, NULL);
	assert_non_null(f);
	f->pool = &e.pa;
	int accepted = 0, got = 0;
	for (uint32_t i = 0; i < 10000; i++) {
		accepted += send_one(f, &e.pa, i, 64, i);
		got += drain(e.b, i, NULL, NULL, 0);
	}
	/* 10000 * 0.25 = 2500, sd ~43: +-200 is over 4.5 sd */
	int dropped = 10000 - got;
	assert_in_range(dropped, 2300, 2700);
	assert_int_equal(accepted, got);
	struct us_fault_stats tx;
	assert_int_equal(us_link_fault_stats(f, &tx, NULL), 0);
	assert_int_equal(tx.dropped, (uint64_t)dropped);
	assert_int_equal(f->tx_drops, (uint64_t)dropped);
	assert_int_equal(tx.frames_in, 10000);
	assert_int_equal(us_link_fault_stats(e.b, &tx, NULL), -EINVAL);  /* not a fault link */
	e.a = f;
	env_done(&e);
}

static void test_fault_dup(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 256, 256), 0);
	struct us_fault_cfg c = { .seed = 9, .dup = 0.5 };
	struct us_link *f = us_link_fault_wrap(e.a, &c, NULL);
	assert_non_null(f);
	f->pool = &e.pa;
	static uint32_t ids[4000];
	int n = 0;
	for (uint32_t i = 0; i < 2000; i++) {
		assert_int_equal(send_one(f, &e.pa, i, 100, i), 1);
		drain(e.b, i, ids, &n, 4000);
	}
	struct us_fault_stats tx;
	us_link_fault_stats(f, &tx, NULL);
	assert_int_equal((uint64_t)n, 2000 + tx.duplicated);
	assert_in_range(tx.duplicated, 850, 1150);
	/* every id once or twice, copies adjacent, order kept */
	uint32_t expect = 0;
	for (int i = 0; i < n; i++) {
		if (i > 0 && ids[i] == ids[i - 1])
			continue;
		assert_int_equal(ids[i], expect);
		expect++;
	}
	assert_int_equal(expect, 2000);
	e.a = f;
	env_done(&e);
}

static void test_fault_reorder(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 256, 256), 0);
	struct us_fault_cfg c = { .seed = 11, .reorder = 0.1 };   /* gap: default 3 */
	struct us_link *f = us_link_fault_wrap(e.a, &c, NULL);
	assert_non_null(f);
	f->pool = &e.pa;
	static uint32_t ids[1000];
	int n = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		assert_int_equal(send_one(f, &e.pa, i, 100, i), 1);
		drain(e.b, i, ids, &n, 1000);
	}
	/* the last held frames leave by timeout */
	int64_t dl = link_poll(f, 1000);
	assert_true(dl == -1 || dl > 1000);
	link_poll(f, 1000 + US_MS(20));
	assert_int_equal(link_poll(f, 1000 + US_MS(20)), -1);
	drain(e.b, 1000 + US_MS(20), ids, &n, 1000);
	assert_int_equal(n, 1000);
	static int pos[1000];
	for (int i = 0; i < 1000; i++)
		pos[i] = -1;
	for (int i = 0; i < n; i++) {
		assert_true(ids[i] < 1000);
		assert_int_equal(pos[ids[i]], -1);  /* a permutation */
		pos[ids[i]] = i;
	}
	int late = 0;
	for (int id = 0; id < 1000; id++) {
		int d = pos[id] - id;
		assert_true(d <= 3);       /* held back behind exactly gap frames */
		if (d == 3)
			late++;
	}
	struct us_fault_stats tx;
	us_link_fault_stats(f, &tx, NULL);
	assert_in_range(tx.reordered, 60, 140);
	assert_true((uint64_t)late + 3 >= tx.reordered);
	e.a = f;
	env_done(&e);
}

static void test_fault_reorder_timeout(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 16, 16), 0);
	struct us_fault_cfg c = { .seed = 1, .reorder = 1.0, .reorder_gap = 5 };
	struct us_link *f = us_link_fault_wrap(e.a, &c, NULL);
	f->pool = &e.pa;
	assert_int_equal(send_one(f, &e.pa, 1, 100, 500), 1);
	assert_int_equal(drain(e.b, 500, NULL, NULL, 0), 0);
	int64_t dl = link_poll(f, 500);
	assert_true(dl > 500);
	assert_int_equal(link_poll(f, (uint64_t)dl - 1), dl);
	assert_int_equal(drain(e.b, (uint64_t)dl - 1, NULL, NULL, 0), 0);
	assert_int_equal(link_poll(f, (uint64_t)dl), -1);
	assert_int_equal(drain(e.b, (uint64_t)dl, NULL, NULL, 0), 1);
	e.a = f;
	env_done(&e);
}

static int popcount8(uint8_t x)
{
	int c = 0;
	for (; x; x &= (uint8_t)(x - 1))
		c++;
	return c;
}

static void test_fault_corrupt(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 64, 64), 0);
	struct us_fault_cfg c = { .seed = 5, .corrupt = 1.0 };
	struct us_link *f = us_link_fault_wrap(e.a, &c, NULL);
	f->pool = &e.pa;
	int bit_hist[8] = { 0 };
	for (uint32_t i = 0; i < 500; i++) {
		uint32_t len = 20 + i % 1400;
		assert_int_equal(send_one(f, &e.pa, i, len, i), 1);
		struct pkt *pk[4];
		assert_int_equal(link_recv(e.b, pk, 4, i), 1);
		struct pkt *ref = mkframe(&e.pa, i, len);
		assert_int_equal(pk[0]->len, len);
		int flipped = 0;
		for (uint32_t k = 0; k < len; k++) {
			uint8_t x = (uint8_t)(pk[0]->data[k] ^ ref->data[k]);
			flipped += popcount8(x);
			for (int b = 0; b < 8; b++)
				if (x & (1u << b))
					bit_hist[b]++;
		}
		assert_int_equal(flipped, 1);
		pkt_free(&e.pa, ref);
		pkt_free(&e.pb, pk[0]);
	}
	for (int b = 0; b < 8; b++)
		assert_true(bit_hist[b] > 20);   /* every bit position gets hit */
	struct us_fault_stats tx;
	us_link_fault_stats(f, &tx, NULL);
	assert_int_equal(tx.corrupted, 500);
	e.a = f;
	env_done(&e);
}

static void test_fault_delay(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 64, 64), 0);
	struct us_fault_cfg c = { .seed = 5, .delay_ns = US_MS(5) };
	struct us_link *f = us_link_fault_wrap(e.a, &c, NULL);
	f->pool = &e.pa;
	uint64_t t0 = US_MS(100);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(send_one(f, &e.pa, i, 100, t0 + i), 1);
	assert_int_equal(link_poll(f, t0 + 10), (int64_t)(t0 + US_MS(5)));
	assert_int_equal(drain(e.b, t0 + 10, NULL, NULL, 0), 0);
	assert_int_equal(link_poll(f, t0 + US_MS(5) - 1), (int64_t)(t0 + US_MS(5)));
	assert_int_equal(drain(e.b, t0 + US_MS(5) - 1, NULL, NULL, 0), 0);
	/* at t0+5ms+4 the first five are due */
	assert_int_equal(link_poll(f, t0 + US_MS(5) + 4), (int64_t)(t0 + US_MS(5) + 5));
	uint32_t ids[16];
	int n = 0;
	assert_int_equal(drain(e.b, t0 + US_MS(5) + 4, ids, &n, 16), 5);
	link_poll(f, t0 + US_MS(6));
	assert_int_equal(drain(e.b, t0 + US_MS(6), ids, &n, 16), 5);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ids[i], (uint32_t)i);
	assert_int_equal(link_poll(f, t0 + US_MS(6)), -1);

	/* frames also leave on the next send */
	assert_int_equal(send_one(f, &e.pa, 50, 100, t0 + US_MS(10)), 1);
	assert_int_equal(send_one(f, &e.pa, 51, 100, t0 + US_MS(15)), 1);
	assert_int_equal(drain(e.b, t0 + US_MS(15), NULL, NULL, 0), 1);
	e.a = f;
	env_done(&e);   /* frame 51 still held: freed by close */
}

static void test_fault_rx_delay_jitter(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 256, 256), 0);
	struct us_fault_cfg c = { .seed = 99, .delay_ns = US_MS(2), .jitter_ns = US_MS(1) };
	struct us_link *g = us_link_fault_wrap(e.b, NULL, &c);
	g->pool = &e.pb;
	uint64_t t0 = US_MS(1);
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(send_one(e.a, &e.pa, i, 100, t0), 1);
	assert_int_equal(link_pending(g), 1);   /* the inner link has frames */
	struct pkt *pk[128];
	assert_int_equal(link_recv(g, pk, 128, t0), 0);   /* taken in, held */
	assert_int_equal(link_pending(g), 0);
	int64_t dl = link_poll(g, t0);
	assert_true(dl >= (int64_t)(t0 + US_MS(2)) && dl < (int64_t)(t0 + US_MS(3)));
	uint64_t now = t0;
	uint32_t expect = 0;
	uint64_t last_ts = 0;
	for (int guard = 0; guard < 1000 && dl >= 0; guard++) {
		now = (uint64_t)dl;
		int n = link_recv(g, pk, 128, now);
		assert_true(n >= 1);
		/* Each frame comes out at its release time (the deadline the link
		 * gave): the delay plus its jitter, never before the one ahead. */
		assert_true(now >= last_ts);
		assert_true(now >= t0 + US_MS(2) && now < t0 + US_MS(3));
		last_ts = now;
		for (int i = 0; i < n; i++) {
			assert_int_equal(frame_id(pk[i]), expect++);      /* jitter keeps FIFO */
			pkt_free(&e.pb, pk[i]);
		}
		dl = link_poll(g, now);
	}
	assert_int_equal(expect, 100);
	e.b = g;
	env_done(&e);
}

static void test_fault_rate(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 64, 64), 0);
	/* 8 Mbit/s: a 1000-byte frame takes 1 ms on the wire */
	struct us_fault_cfg c = { .seed = 3, .rate_bps = 8000000 };
	struct us_link *f = us_link_fault_wrap(e.a, &c, NULL);
	f->pool = &e.pa;
	uint64_t t0 = US_MS(50);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(send_one(f, &e.pa, i, 1000, t0), 1);
	assert_int_equal(link_poll(f, t0), (int64_t)(t0 + US_MS(1)));
	int got = 0;
	for (int k = 1; k <= 10; k++) {
		link_poll(f, t0 + US_MS(k) - 1);
		assert_int_equal(drain(e.b, t0, NULL, NULL, 0), 0);
		link_poll(f, t0 + US_MS(k));
		got += drain(e.b, t0, NULL, NULL, 0);
		assert_int_equal(got, k);
	}
	/* an idle line does not bank credit: the next frame also takes 1 ms */
	assert_int_equal(send_one(f, &e.pa, 20, 1000, t0 + US_MS(100)), 1);
	assert_int_equal(link_poll(f, t0 + US_MS(100)), (int64_t)(t0 + US_MS(101)));
	link_poll(f, t0 + US_MS(101));
	assert_int_equal(drain(e.b, t0, NULL, NULL, 0), 1);
	e.a = f;
	env_done(&e);
}

static void test_fault_max_held(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 256, 256), 0);
	struct us_fault_cfg c = { .seed = 3, .delay_ns = US_MS(1000), .max_held = 100 };
	struct us_link *f = us_link_fault_wrap(e.a, &c, NULL);
	f->pool = &e.pa;
	struct pkt *pk[150];
	for (uint32_t i = 0; i < 150; i++)
		pk[i] = mkframe(&e.pa, i, 64);
	assert_int_equal(link_send(f, pk, 150, 0), 100);
	struct us_fault_stats tx;
	us_link_fault_stats(f, &tx, NULL);
	assert_int_equal(tx.overflow, 50);
	assert_int_equal(tx.held, 100);
	assert_int_equal(f->tx_drops, 50);
	assert_int_equal(pkt_pool_in_use(&e.pa), 100);   /* held frames keep their buffers */
	link_poll(f, US_MS(1000));
	assert_int_equal(drain(e.b, US_MS(1000), NULL, NULL, 0), 100);
	/* the default bound is 4096 */
	struct us_link *g = us_link_fault_wrap(e.b, NULL, &(struct us_fault_cfg){ .delay_ns = 1 });
	assert_non_null(g);
	us_link_fault_stats(g, NULL, &tx);
	assert_int_equal(tx.held, 0);
	e.a = f;
	e.b = g;
	env_done(&e);
}

static void test_fault_passthrough_and_bad_cfg(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 64, 64), 0);
	struct us_fault_cfg bad = { .drop = 1.5 };
	assert_null(us_link_fault_wrap(e.a, &bad, NULL));
	assert_int_equal(errno, EINVAL);
	struct us_link *f = us_link_fault_wrap(e.a, NULL, NULL);
	struct us_link *g = us_link_fault_wrap(e.b, NULL, NULL);
	assert_non_null(f);
	assert_non_null(g);
	assert_memory_equal(f->hwaddr, e.a->hwaddr, 6);
	assert_int_equal(f->mtu, 1500);
	assert_int_equal(f->flags, US_LINK_L2);
	assert_int_equal(f->fd, -1);
	f->pool = &e.pa;
	g->pool = &e.pb;
	for (uint32_t i = 0; i < 20; i++)
		assert_int_equal(send_one(f, &e.pa, i, 128, 0), 1);
	assert_int_equal(link_pending(g), 1);
	uint32_t ids[32];
	int n = 0;
	assert_int_equal(drain(g, 0, ids, &n, 32), 20);
	for (int i = 0; i < 20; i++)
		assert_int_equal(ids[i], (uint32_t)i);
	assert_int_equal(link_poll(f, 0), -1);
	e.a = f;
	e.b = g;
	env_done(&e);
}

/* Stress for leaks: every fault at once, both directions, both ends; the
 * pools must come back to zero once everything is received or closed. */
static void test_fault_all_both_ways(void **state)
{
	(void)state;
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 2048, 2048), 0);
	struct us_fault_cfg c1 = all_faults, c2 = all_faults, c3 = all_faults, c4 = all_faults;
	c2.seed = 2;
	c3.seed = 3;
	c4.seed = 4;
	struct us_link *f = us_link_fault_wrap(e.a, &c1, &c2);
	struct us_link *g = us_link_fault_wrap(e.b, &c3, &c4);
	f->pool = &e.pa;
	g->pool = &e.pb;
	uint64_t now = 0;
	int got_b = 0, got_a = 0;
	for (uint32_t i = 0; i < 2000; i++) {
		now += US_US(30);
		send_one(f, &e.pa, i, 200, now);
		send_one(g, &e.pb, i, 300, now);
		got_b += drain(g, now, NULL, NULL, 0);
		got_a += drain(f, now, NULL, NULL, 0);
	}
	for (int guard = 0; guard < 100000; guard++) {
		int64_t d1 = link_poll(f, now), d2 = link_poll(g, now);
		int64_t dl = d1 < 0 ? d2 : (d2 < 0 || d1 < d2 ? d1 : d2);
		if (dl < 0)
			break;
		if ((uint64_t)dl > now)
			now = (uint64_t)dl;
		got_b += drain(g, now, NULL, NULL, 0);
		got_a += drain(f, now, NULL, NULL, 0);
	}
	assert_true(got_a > 1300 && got_b > 1300);
	assert_int_equal(pkt_pool_in_use(&e.pa), 0);
	assert_int_equal(pkt_pool_in_use(&e.pb), 0);
	/* leave some frames held and close with them inside */
	for (uint32_t i = 0; i < 50; i++) {
		send_one(f, &e.pa, i, 200, now);
		send_one(g, &e.pb, i, 200, now);
	}
	e.a = f;
	e.b = g;
	env_done(&e);
}

/* ---- pcap ------------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t buf[1 << 20];
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

struct rec {
	uint64_t ts;
	uint32_t incl, orig;
	const uint8_t *data;
};

/* Parses a pcap file; returns the record count, checks the header. */
static int parse_pcap(const uint8_t *b, size_t len, uint32_t linktype, struct rec *out, int max)
{
	assert_true(len >= 24);
	assert_int_equal(rd32(b), 0xa1b23c4du);
	assert_int_equal(rd16(b + 4), 2);
	assert_int_equal(rd16(b + 6), 4);
	assert_int_equal(rd32(b + 8), 0);
	assert_int_equal(rd32(b + 16), 262144);
	assert_int_equal(rd32(b + 20), linktype);
	size_t off = 24;
	int n = 0;
	while (off < len) {
		assert_true(len - off >= 16);
		assert_true(n < max);
		struct rec *r = &out[n++];
		uint32_t nsec = rd32(b + off + 4);
		assert_true(nsec < 1000000000u);
		r->ts = (uint64_t)rd32(b + off) * 1000000000ull + nsec;
		r->incl = rd32(b + off + 8);
		r->orig = rd32(b + off + 12);
		assert_true(r->incl <= r->orig && r->incl <= 65535);
		assert_true(len - off - 16 >= r->incl);
		r->data = b + off + 16;
		off += 16 + r->incl;
	}
	return n;
}

static void tmpname(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/tmp/ustack_test_link_%s_%d.pcap", tag, (int)getpid());
}

static void test_pcap_l2(void **state)
{
	(void)state;
	char path[128];
	tmpname(path, sizeof(path), "l2");
	struct env e;
	assert_int_equal(env_init(&e, 1500, 0, 64, 64), 0);
	int err = 1;
	struct us_link *p = us_link_pcap_wrap(e.a, path, &err);
	assert_non_null(p);
	assert_int_equal(err, 0);
	assert_int_equal(p->flags, US_LINK_L2);
	assert_memory_equal(p->hwaddr, e.a->hwaddr, 6);
	p->pool = &e.pa;
	const uint64_t t1 = 1700000000123456789ull, t2 = t1 + 1000, t3 = t1 + 2000000001ull;
	struct pkt *pk[4];
	pk[0] = mkframe(&e.pa, 1, 60);
	pk[1] = mkframe(&e.pa, 2, 1514);
	assert_int_equal(link_send(p, pk, 2, t1), 2);
	assert_int_equal(send_one(p, &e.pa, 3, 100, t2), 1);
	assert_int_equal(drain(e.b, t2, NULL, NULL, 0), 3);
	assert_int_equal(send_one(e.b, &e.pb, 4, 42, t2), 1);
	assert_int_equal(send_one(e.b, &e.pb, 5, 43, t2), 1);
	assert_int_equal(link_pending(p), 1);
	assert_int_equal(link_recv(p, pk, 4, t3), 2);
	pkt_free(&e.pa, pk[0]);
	pkt_free(&e.pa, pk[1]);

	/* flushed per batch: readable before close */
	size_t len;
	const uint8_t *b = slurp(path, &len);
	struct rec r[8];
	assert_int_equal(parse_pcap(b, len, 1, r, 8), 5);

	e.a = p;
	env_done(&e);
	b = slurp(path, &len);
	assert_int_equal(parse_pcap(b, len, 1, r, 8), 5);
	static const uint32_t ids[] = { 1, 2, 3, 4, 5 }, lens[] = { 60, 1514, 100, 42, 43 };
	const uint64_t ts[] = { t1, t1, t2, t3, t3 };
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r[i].ts, ts[i]);
		assert_int_equal(r[i].incl, lens[i]);
		assert_int_equal(r[i].orig, lens[i]);
		struct pkt fake = { .data = (uint8_t *)(uintptr_t)r[i].data, .len = r[i].incl };
		assert_true(frame_intact(&fake, ids[i], lens[i]));
	}
	unlink(path);
}

/* ---- a user-written device (us_link_device_new) ----------------------- */

struct fake_dev {
	int in_n;                  /* frames to hand over on the next recv */
	uint32_t in_len[4];
	int take;                  /* how many frames send takes */
	int sent, closed;
	uint32_t last_len;
	uint16_t last_csum_start, last_gso;
};

static int fake_recv(void *dev, struct us_frame *f, int max, uint64_t now)
{
	(void)now;
	struct fake_dev *d = dev;
	int n = d->in_n < max ? d->in_n : max;
	for (int i = 0; i < n; i++) {
		uint32_t len = d->in_len[i];
		if (len <= f[i].cap)
			memset(f[i].data, 0xA0 + i, len);
		f[i].len = len;   /* a length beyond cap: the adapter must drop it */
		f[i].csum_ok = (uint8_t)(i == 0);
	}
	d->in_n = 0;
	return n;
}

static int fake_send(void *dev, const struct us_frame *f, int n, uint64_t now)
{
	(void)now;
	struct fake_dev *d = dev;
	int k = d->take < n ? d->take : n;
	for (int i = 0; i < k; i++) {
		d->last_len = f[i].len;
		d->last_csum_start = f[i].csum_start;
		d->last_gso = f[i].gso_size;
	}
	d->sent += k;
	return k;
}

static void fake_close(void *dev) { ((struct fake_dev *)dev)->closed = 1; }

static const struct us_device_ops fake_ops = {.recv = fake_recv, .send = fake_send, .close = fake_close};

static void test_user_device(void **state)
{
	(void)state;
	struct fake_dev d = {0};
	struct us_device_info bad = {.mtu = 40};
	errno = 0;
	assert_null(us_link_device_new(&fake_ops, &d, &bad));
	assert_int_equal(errno, EINVAL);
	struct us_device_info tso_only = {.offloads = US_LINK_OFF_TSO4};
	assert_null(us_link_device_new(&fake_ops, &d, &tso_only));
	struct us_device_info info = {.name = "fake0", .mtu = 1500, .fd = -1, .hwaddr = {2, 0, 0, 0, 0, 7},
				      .offloads = US_LINK_OFF_CSUM};
	struct us_link *l = us_link_device_new(&fake_ops, &d, &info);
	assert_non_null(l);
	assert_int_equal(l->flags, US_LINK_L2 | US_LINK_CSUM);
	assert_string_equal(l->name, "fake0");
	struct pkt_pool pool;
	assert_int_equal(pkt_pool_init(&pool, 2048, 16, 2), 0);
	l->pool = &pool;
	/* Receive: three frames, the middle one longer than the room lent. */
	d.in_n = 3;
	d.in_len[0] = 60;
	d.in_len[1] = 5000;
	d.in_len[2] = 1514;
	struct pkt *p[8];
	assert_int_equal(link_recv(l, p, 8, 0), 2);
	assert_int_equal(p[0]->len, 60);
	assert_true(p[0]->flags & PKT_F_CSUM_OK);
	assert_int_equal(p[0]->data[59], 0xA0);
	assert_int_equal(p[1]->len, 1514);
	assert_false(p[1]->flags & PKT_F_CSUM_OK);
	assert_int_equal(p[1]->data[0], 0xA2);
	/* Every buffer not handed over went back to the pool. */
	assert_int_equal(pkt_pool_in_use(&pool), 2);
	/* Send: the device takes one of two; the offload metadata shows. */
	p[0]->csum_l4 = (uint16_t)(p[0]->data - p[0]->buf + 34);
	p[0]->csum_off = 16;
	d.take = 1;
	assert_int_equal(link_send(l, p, 2, 0), 1);
	assert_int_equal(d.last_len, 60);
	assert_int_equal(d.last_csum_start, 34);
	assert_int_equal(pkt_pool_in_use(&pool), 0);
	struct us_link_stats ls;
	us_link_stats(l, &ls);
	assert_int_equal(ls.rx_frames, 2);
	assert_int_equal(ls.rx_drops, 1);
	assert_int_equal(ls.tx_frames, 1);
	assert_int_equal(ls.tx_drops, 1);
	us_link_close(l);
	assert_int_equal(d.closed, 1);
	pkt_pool_destroy(&pool);
}

/* ---- a zero-copy device (us_link_device_zc_new) ------------------------ */

/* Written here on the public calls alone, as a user would: it receives
 * from a script (lengths, offloads, frames to lose) and on send keeps the
 * first `hold` buffers (freeing them at close) and frees the rest. */
struct zdev {
	int in_n;
	uint32_t in_len[4];
	struct us_buf_offload in_off[4];
	uint32_t lose_nobuf, lose_other;   /* reported by the next recv */
	int take;                          /* send: how many it says it sent */
	int hold;                          /* ...and how many of them it keeps */
	struct us_buf *held[8];
	int nheld;
	struct us_buf_offload out_off[8];
	uint32_t out_len[8];
	int nout;
	int closed;
	int count_tx;                      /* with US_DEVICE_COUNTS_TX: count n sent, 1 dropped */
};

static int zdev_recv(void *dev, struct us_link *l, struct us_buf **bufs, int max, uint64_t now)
{
	(void)now;
	struct zdev *d = dev;
	int n = 0;
	for (int i = 0; i < d->in_n && n < max; i++) {
		struct us_buf *b = us_buf_alloc(l, d->in_len[i]);
		if (!b) {
			us_link_rx_dropped(l, 1, 1);
			continue;
		}
		assert_true(us_buf_room(b) >= d->in_len[i]);
		memset(us_buf_data(b), 0xB0 + i, d->in_len[i]);
		assert_int_equal(us_buf_set_len(b, d->in_len[i]), 0);
		us_buf_offload_set(b, &d->in_off[i]);
		bufs[n++] = b;
	}
	d->in_n = 0;
	if (d->lose_nobuf)
		us_link_rx_dropped(l, d->lose_nobuf, 1);
	if (d->lose_other)
		us_link_rx_dropped(l, d->lose_other, 0);
	d->lose_nobuf = d->lose_other = 0;
	return n;
}

static int zdev_send(void *dev, struct us_link *l, struct us_buf **bufs, int n, uint64_t now)
{
	(void)now;
	struct zdev *d = dev;
	for (int i = 0; i < n; i++) {
		if (d->nout < 8) {
			us_buf_offload_get(bufs[i], &d->out_off[d->nout]);
			d->out_len[d->nout++] = us_buf_len(bufs[i]);
		}
		if (i < d->hold && d->nheld < 8)
			d->held[d->nheld++] = bufs[i];
		else
			us_buf_free(l, bufs[i]);
	}
	int took = d->take < n ? d->take : n;
	if (d->count_tx)
		us_link_count_tx(l, (uint32_t)n, 1);
	return took;
}

static int zdev_pending(void *dev) { return ((struct zdev *)dev)->in_n > 0; }

static int64_t zdev_poll(void *dev, struct us_link *l, uint64_t now)
{
	(void)dev, (void)l;
	return (int64_t)now + 5;
}

static void zdev_close(void *dev, struct us_link *l)
{
	struct zdev *d = dev;
	for (int i = 0; i < d->nheld; i++)
		us_buf_free(l, d->held[i]);
	d->nheld = 0;
	d->closed++;
}

static const struct us_device_zc_ops zdev_ops = {
	.recv = zdev_recv, .send = zdev_send, .pending = zdev_pending, .poll = zdev_poll, .close = zdev_close,
};
static const struct us_device_zc_ops zdev_ops_other = {.recv = zdev_recv, .send = zdev_send};

static void test_zc_device_create(void **state)
{
	(void)state;
	struct zdev d = {0};
	struct us_device_info info = {.name = "zc0", .mtu = 9000, .fd = -1, .hwaddr = {2, 0, 0, 0, 0, 5}};
	static const struct us_device_zc_ops no_send = {.recv = zdev_recv};
	errno = 0;
	assert_null(us_link_device_zc_new(&no_send, &d, &info));
	assert_int_equal(errno, EINVAL);
	struct us_device_info bad = info;
	bad.offloads = US_LINK_OFF_TSO6;   /* TSO without partial checksums */
	assert_null(us_link_device_zc_new(&zdev_ops, &d, &bad));
	bad.offloads = US_LINK_OFF_VNET;   /* a TAP's framing, not something send accepts */
	assert_null(us_link_device_zc_new(&zdev_ops, &d, &bad));
	bad = info;
	bad.flags = 0x80;
	assert_null(us_link_device_zc_new(&zdev_ops, &d, &bad));
	bad = info;
	bad.mtu = 67;
	assert_null(us_link_device_zc_new(&zdev_ops, &d, &bad));
	/* the copy-based form takes neither flags nor an inner link */
	struct us_link *a, *b;
	assert_int_equal(us_link_mem_pair(&a, &b, 1500, 0), 0);
	struct fake_dev fd0 = {0};
	static const struct us_device_ops cops = {.recv = fake_recv, .send = fake_send};
	bad = info;
	bad.inner = a;
	assert_null(us_link_device_new(&cops, &fd0, &bad));
	bad = info;
	bad.flags = US_DEVICE_COUNTS_TX;
	assert_null(us_link_device_new(&cops, &fd0, &bad));
	us_link_close(a);
	us_link_close(b);

	info.offloads = US_LINK_OFF_CSUM | US_LINK_OFF_TSO6;
	struct us_link *l = us_link_device_zc_new(&zdev_ops, &d, &info);
	assert_non_null(l);
	assert_int_equal(l->flags, US_LINK_L2 | US_LINK_CSUM | US_LINK_TSO6);
	assert_int_equal(l->mtu, 9000);
	assert_string_equal(l->name, "zc0");
	struct us_device_info got;
	us_link_info(l, &got);
	assert_string_equal(got.name, "zc0");
	assert_int_equal(got.l3, 0);
	assert_int_equal(got.mtu, 9000);
	assert_int_equal(got.fd, -1);
	assert_int_equal(got.hwaddr[5], 5);
	assert_int_equal(got.offloads, US_LINK_OFF_CSUM | US_LINK_OFF_TSO6);
	assert_null(got.inner);
	/* the device is found through its own ops only */
	assert_ptr_equal(us_link_device(l, &zdev_ops), &d);
	assert_null(us_link_device(l, &zdev_ops_other));
	assert_null(us_link_device(NULL, &zdev_ops));
	/* offloads changed later; bad ones refused without a change */
	assert_int_equal(us_link_set_offloads(l, US_LINK_OFF_TSO4), -EINVAL);
	assert_int_equal(us_link_set_offloads(l, US_LINK_OFF_CSUM | US_LINK_OFF_TSO4), 0);
	assert_int_equal(l->flags, US_LINK_L2 | US_LINK_CSUM | US_LINK_TSO4);
	assert_int_equal(us_link_set_offloads(l, 0), 0);
	assert_int_equal(l->flags, US_LINK_L2);
	/* not attached: no buffers, and recv and send refuse */
	assert_null(us_buf_alloc(l, 100));
	struct pkt *pk[4];
	assert_int_equal(link_recv(l, pk, 4, 0), -EINVAL);
	assert_int_equal(link_pending(l), 0);
	assert_int_equal(link_poll(l, 10), 15);
	us_link_close(l);
	assert_int_equal(d.closed, 1);
}

/* A link of the stack's own kind that is not a device link. */
static int plain_recv(struct us_link *l, struct pkt **p, int max, uint64_t now)
{
	(void)l, (void)p, (void)max, (void)now;
	return 0;
}
static const struct us_link_ops plain_ops = {.recv = plain_recv};

static void test_zc_device_not_a_device(void **state)
{
	(void)state;
	struct us_link plain;
	memset(&plain, 0, sizeof(plain));
	plain.ops = &plain_ops;
	plain.flags = US_LINK_L3;
	assert_null(us_link_device(&plain, &zdev_ops));
	assert_int_equal(us_link_set_offloads(&plain, US_LINK_OFF_CSUM), -EINVAL);
	assert_int_equal(plain.flags, US_LINK_L3);
	assert_int_equal(us_link_fault_stats(&plain, NULL, NULL), -EINVAL);
	assert_int_equal(us_link_offloads(&plain), 0);
	assert_int_equal(mem_link_offloads(&plain), -EINVAL);
}

static void test_zc_device_buffers(void **state)
{
	(void)state;
	struct zdev d = {0};
	struct us_device_info info = {.name = "zc1", .mtu = 1500, .fd = -1, .offloads = US_LINK_OFF_CSUM};
	struct us_link *l = us_link_device_zc_new(&zdev_ops, &d, &info);
	assert_non_null(l);
	struct pkt_pool pool;
	assert_int_equal(pkt_pool_init(&pool, 2048, 4, 1), 0);
	l->pool = &pool;
	struct us_buf *b = us_buf_alloc(l, 100);
	assert_non_null(b);
	struct pkt *p = (struct pkt *)b;
	assert_int_equal(pkt_headroom(p), PKT_HEADROOM);   /* the stack's headroom */
	assert_int_equal(us_buf_len(b), 0);
	assert_ptr_equal(us_buf_data(b), p->data);
	assert_int_equal(us_buf_room(b), 2048 - PKT_HEADROOM);
	assert_int_equal(us_buf_set_len(b, us_buf_room(b) + 1), -EINVAL);
	assert_int_equal(us_buf_len(b), 0);
	assert_int_equal(us_buf_set_len(b, 80), 0);
	assert_int_equal(p->len, 80);
	/* a 64 KiB frame takes the large class; more than the largest fails */
	struct us_buf *big = us_buf_alloc(l, 65535 + 14);
	assert_non_null(big);
	assert_true(us_buf_room(big) >= 65535 + 14);
	assert_null(us_buf_alloc(l, 70000));
	us_buf_free(l, big);
	/* offloads in: a partial checksum kept only if its field is in the
	 * frame, and only what was set */
	memset(us_buf_data(b), 0x11, 80);
	struct us_buf_offload o = {.csum_start = 34, .csum_offset = 16, .gso_size = 1448, .csum_ok = 1};
	us_buf_offload_set(b, &o);
	assert_int_equal(pkt_csum_start(p), 34);
	assert_int_equal(p->csum_off, 16);
	assert_int_equal(p->gso_size, 1448);
	assert_true(p->flags & PKT_F_CSUM_OK);
	struct us_buf_offload g;
	us_buf_offload_get(b, &g);
	assert_memory_equal(&g, &o, sizeof(g));
	/* a clone: same bytes, headroom and offloads, its own storage */
	struct us_buf *c = us_buf_clone(l, b);
	assert_non_null(c);
	assert_ptr_not_equal(us_buf_data(c), us_buf_data(b));
	assert_int_equal(us_buf_len(c), 80);
	assert_memory_equal(us_buf_data(c), us_buf_data(b), 80);
	assert_int_equal(pkt_headroom((struct pkt *)c), PKT_HEADROOM);
	us_buf_offload_get(c, &g);
	assert_memory_equal(&g, &o, sizeof(g));
	us_buf_free(l, c);
	o.csum_start = 70;   /* 70 + 16 + 2 > 80: outside the frame */
	o.csum_ok = 0;
	us_buf_offload_set(b, &o);
	assert_int_equal(p->csum_l4, 0);
	assert_false(p->flags & PKT_F_CSUM_OK);
	us_buf_offload_get(b, &g);
	assert_int_equal(g.csum_start, 0);
	assert_int_equal(g.csum_offset, 0);
	assert_int_equal(g.csum_ok, 0);
	o.csum_start = 30;
	o.csum_offset = 300;  /* more than a byte's worth */
	us_buf_offload_set(b, &o);
	assert_int_equal(p->csum_l4, 0);
	us_buf_free(l, b);
	us_buf_free(l, NULL);
	assert_int_equal(pkt_pool_in_use(&pool), 0);
	/* an empty pool: alloc fails and the device says so */
	struct us_buf *all[5];
	for (int i = 0; i < 5; i++)
		assert_non_null(all[i] = us_buf_alloc(l, 100));   /* 4 frames, then the large one */
	assert_null(us_buf_alloc(l, 100));
	for (int i = 0; i < 5; i++)
		us_buf_free(l, all[i]);
	us_link_close(l);
	assert_int_equal(pkt_pool_in_use(&pool), 0);
	pkt_pool_destroy(&pool);
}

static void test_zc_device_recv_send(void **state)
{
	(void)state;
	struct zdev d = {0};
	struct us_device_info info = {.name = "zc2", .mtu = 1500, .fd = -1,
				      .offloads = US_LINK_OFF_CSUM | US_LINK_OFF_TSO4};
	struct us_link *l = us_link_device_zc_new(&zdev_ops, &d, &info);
	assert_non_null(l);
	struct pkt_pool pool;
	assert_int_equal(pkt_pool_init(&pool, 2048, 16, 2), 0);
	l->pool = &pool;
	/* Receive: two frames with what a virtio-net header would say, one
	 * lost for want of a buffer, one bad. */
	d.in_n = 2;
	d.in_len[0] = 1514;
	d.in_off[0] = (struct us_buf_offload){.csum_start = 34, .csum_offset = 16, .gso_size = 1448, .csum_ok = 1};
	d.in_len[1] = 60;
	d.lose_nobuf = 1;
	d.lose_other = 1;
	assert_int_equal(link_pending(l), 1);
	struct pkt *p[8];
	assert_int_equal(link_recv(l, p, 8, 0), 2);
	assert_int_equal(link_pending(l), 0);
	assert_int_equal(p[0]->len, 1514);
	assert_int_equal(p[0]->data[1513], 0xB0);
	assert_true(p[0]->flags & PKT_F_CSUM_OK);
	assert_int_equal(p[0]->gso_size, 1448);
	assert_int_equal(pkt_csum_start(p[0]), 34);
	assert_int_equal(p[1]->len, 60);
	assert_int_equal(p[1]->data[0], 0xB1);
	assert_false(p[1]->flags & PKT_F_CSUM_OK);
	assert_int_equal(p[1]->csum_l4, 0);
	uint64_t nobuf, other;
	link_rx_losses(l, &nobuf, &other);
	assert_int_equal(nobuf, 1);
	assert_int_equal(other, 1);
	/* Send: the stack's offloads reach the device; it keeps one buffer
	 * (still in use), frees the other and says it sent one. */
	p[1]->gso_size = 0;
	d.take = 1;
	d.hold = 1;
	assert_int_equal(link_send(l, p, 2, 0), 1);
	assert_int_equal(d.nout, 2);
	assert_int_equal(d.out_len[0], 1514);
	assert_int_equal(d.out_off[0].csum_start, 34);
	assert_int_equal(d.out_off[0].csum_offset, 16);
	assert_int_equal(d.out_off[0].gso_size, 1448);
	assert_int_equal(d.out_off[1].csum_start, 0);
	assert_int_equal(pkt_pool_in_use(&pool), 1);
	assert_ptr_equal(d.held[0], (struct us_buf *)p[0]);
	struct us_link_stats ls;
	us_link_stats(l, &ls);
	assert_int_equal(ls.rx_frames, 2);
	assert_int_equal(ls.rx_drops, 2);
	assert_int_equal(ls.rx_nobuf, 1);
	assert_int_equal(ls.tx_frames, 1);
	assert_int_equal(ls.tx_drops, 1);
	/* close gives the held buffer back */
	us_link_close(l);
	assert_int_equal(d.closed, 1);
	assert_int_equal(pkt_pool_in_use(&pool), 0);

	/* A device that counts its own sends: the return value is only what
	 * the stack is told. */
	struct zdev e = {.take = 0, .count_tx = 1};
	info.flags = US_DEVICE_COUNTS_TX;
	l = us_link_device_zc_new(&zdev_ops, &e, &info);
	assert_non_null(l);
	l->pool = &pool;
	struct pkt *q[3];
	for (int i = 0; i < 3; i++)
		q[i] = mkframe(&pool, (uint32_t)i, 100);
	assert_int_equal(link_send(l, q, 3, 0), 0);
	us_link_stats(l, &ls);
	assert_int_equal(ls.tx_frames, 3);
	assert_int_equal(ls.tx_drops, 1);
	assert_int_equal(pkt_pool_in_use(&pool), 0);
	us_link_close(l);
	pkt_pool_destroy(&pool);
}

/* Through a stack: the device's losses are the stack's Link.InNoBuf and
 * Link.InErrors. */
static void test_zc_device_in_stack(void **state)
{
	(void)state;
	struct zdev d = {0};
	struct us_device_info info = {.name = "zc3", .mtu = 1500, .fd = -1, .l3 = 1};
	struct us_stack_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 1;
	struct us_stack *st = us_stack_new(&cfg);
	assert_non_null(st);
	struct us_link *l = us_link_device_zc_new(&zdev_ops, &d, &info);
	assert_non_null(l);
	int ifx = us_iface_add(st, l);
	assert_true(ifx > 0);
	assert_non_null(l->pool);   /* attached */
	d.lose_nobuf = 3;
	d.lose_other = 2;
	d.in_n = 1;
	d.in_len[0] = 20;   /* a runt IPv4 header of zeros: the stack drops it */
	us_stack_input(st, 1000);
	const struct us_stats *c = us_stack_stats(st);
	assert_int_equal(c->link.InNoBuf, 3);
	assert_int_equal(c->link.InErrors, 2);
	assert_int_equal(c->link.InFrames, 1);
	us_stack_input(st, 2000);   /* counted once */
	assert_int_equal(c->link.InNoBuf, 3);
	assert_int_equal(us_stack_bufs_in_use(st), 0);
	us_stack_free(st);
	assert_int_equal(d.closed, 1);
}

/* A wrapper: a zero-copy device over a mem link, passing frames through
 * the public calls, as fault and pcap do. */
struct wrapdev {
	struct us_link *inner;
	int rx, tx, closed;
};

static int wrap_recv(void *dev, struct us_link *l, struct us_buf **bufs, int max, uint64_t now)
{
	(void)l;
	struct wrapdev *w = dev;
	int n = us_link_recv(w->inner, bufs, max, now);
	if (n > 0)
		w->rx += n;
	return n;
}

static int wrap_send(void *dev, struct us_link *l, struct us_buf **bufs, int n, uint64_t now)
{
	(void)l;
	struct wrapdev *w = dev;
	w->tx += n;
	return us_link_send(w->inner, bufs, n, now);
}

static int wrap_pending(void *dev) { return us_link_pending(((struct wrapdev *)dev)->inner); }

static int64_t wrap_poll(void *dev, struct us_link *l, uint64_t now)
{
	(void)l;
	return us_link_poll(((struct wrapdev *)dev)->inner, now);
}

static void wrap_close(void *dev, struct us_link *l)
{
	(void)l;
	((struct wrapdev *)dev)->closed = 1;
}

static const struct us_device_zc_ops wrap_ops = {
	.recv = wrap_recv, .send = wrap_send, .pending = wrap_pending, .poll = wrap_poll, .close = wrap_close,
};

static void test_zc_device_wrapper(void **state)
{
	(void)state;
	struct pkt_pool pool, pool_b;
	assert_int_equal(pkt_pool_init(&pool, 2048, 2, 0), 0);
	assert_int_equal(pkt_pool_init(&pool_b, 2048, 64, 0), 0);
	struct us_link *a, *b;
	assert_int_equal(us_link_mem_pair(&a, &b, 1500, 0), 0);
	b->pool = &pool_b;
	struct wrapdev w = {.inner = a};
	struct us_device_info info;
	us_link_info(a, &info);
	assert_string_equal(info.name, "mema");
	assert_int_equal(info.mtu, 1500);
	assert_int_equal(info.hwaddr[5], 1);
	assert_int_equal(info.offloads, 0);
	info.inner = a;
	struct us_link *l = us_link_device_zc_new(&wrap_ops, &w, &info);
	assert_non_null(l);
	assert_ptr_equal(l->inner, a);
	assert_string_equal(l->name, "mema");
	assert_int_equal(l->flags, US_LINK_L2);
	/* the stack attaches the outer link: the inner one gets the pool */
	assert_null(a->pool);
	assert_int_equal(link_attach(l, &pool), 0);
	assert_ptr_equal(a->pool, &pool);
	/* ...and so it does when only the outer link's pool is set (as these
	 * tests do), on the first call */
	a->pool = NULL;
	l->pool = &pool;
	/* send through it */
	struct pkt *p[4] = { mkframe(&pool, 1, 100), mkframe(&pool, 2, 200) };
	assert_int_equal(link_send(l, p, 2, 0), 2);
	assert_ptr_equal(a->pool, &pool);
	assert_int_equal(w.tx, 2);
	uint32_t ids[4];
	int nids = 0;
	assert_int_equal(drain(b, 0, ids, &nids, 4), 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	/* receive through it: three frames, a pool of two, one lost for want
	 * of a buffer, by the inner link, whose losses the stack reads */
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(send_one(b, &pool_b, 10 + i, 64, 0), 1);
	assert_int_equal(link_pending(l), 1);
	assert_int_equal(link_poll(l, 0), -1);
	assert_int_equal(link_recv(l, p, 4, 0), 2);
	assert_int_equal(w.rx, 2);
	assert_int_equal(frame_id(p[0]), 10);
	assert_int_equal(frame_id(p[1]), 11);
	pkt_free(&pool, p[0]);
	pkt_free(&pool, p[1]);
	struct us_link_stats ls, li;
	us_link_stats(l, &ls);
	us_link_stats(a, &li);
	assert_int_equal(ls.rx_frames, 2);
	assert_int_equal(ls.tx_frames, 2);
	assert_int_equal(ls.rx_drops, 0);
	assert_int_equal(li.rx_nobuf, 1);
	uint64_t nobuf, other;
	link_rx_losses(l, &nobuf, &other);
	assert_int_equal(nobuf, 1);
	assert_int_equal(other, 0);
	/* closing the wrapper closes the inner link: b's peer is gone */
	us_link_close(l);
	assert_int_equal(w.closed, 1);
	assert_int_equal(send_one(b, &pool_b, 20, 64, 0), 0);
	us_link_close(b);
	assert_int_equal(pkt_pool_in_use(&pool), 0);
	assert_int_equal(pkt_pool_in_use(&pool_b), 0);
	pkt_pool_destroy(&pool);
	pkt_pool_destroy(&pool_b);
}

/* A checksum left partial (offload) is finished in the capture as the
 * wire would carry it; when it computes to 0, TCP's stays 0x0000 and UDP's
 * becomes 0xFFFF (0 there means "no checksum", RFC 768). */
static void test_pcap_finishes_zero_csum(void **state)
{
	(void)state;
	char path[128];
	tmpname(path, sizeof(path), "csum0");
	struct env e;
	assert_int_equal(env_init(&e, 1500, 1, 64, 64), 0);
	int err = 1;
	struct us_link *p = us_link_pcap_wrap(e.a, path, &err);
	assert_non_null(p);
	p->pool = &e.pa;
	static const uint16_t field_at[2] = {16, 6};   /* TCP, UDP */
	for (int i = 0; i < 2; i++) {
		/* 20 bytes of IP header, then an L4 header of 20 bytes whose
		 * bytes sum (one's complement, field 0) to 0xFFFF. */
		struct pkt *k = pkt_alloc(&e.pa, 40, PKT_HEADROOM);
		assert_non_null(k);
		uint8_t *b = pkt_put(k, 40);
		assert_non_null(b);
		for (int j = 0; j < 40; j++)
			b[j] = 0;
		b[0] = 0x45;
		wr_be16(b + 20, 0xFFFF);
		k->csum_l4 = (uint16_t)(b + 20 - k->buf);
		k->csum_off = (uint8_t)field_at[i];
		struct pkt *one[1] = {k};
		assert_int_equal(link_send(p, one, 1, 1000), 1);
	}
	assert_int_equal(drain(e.b, 1000, NULL, NULL, 0), 2);
	e.a = p;
	env_done(&e);
	size_t len;
	const uint8_t *b = slurp(path, &len);
	struct rec r[4];
	assert_int_equal(parse_pcap(b, len, 101, r, 4), 2);
	assert_int_equal(rd_be16(r[0].data + 20 + 16), 0x0000);
	assert_int_equal(rd_be16(r[1].data + 20 + 6), 0xFFFF);
	unlink(path);
}

static void test_pcap_l3_and_chain(void **state)
{
	(void)state;
	char path[128];
	tmpname(path, sizeof(path), "l3");
	struct env e;
	assert_int_equal(env_init(&e, 1500, 1, 64, 64), 0);
	int err;
	/* pcap outside a fault link: records what the stack sent, before faults */
	struct us_fault_cfg c = { .seed = 1, .drop = 1.0 };
	struct us_link *f = us_link_fault_wrap(e.a, &c, NULL);
	struct us_link *p = us_link_pcap_wrap(f, path, &err);
	assert_non_null(p);
	assert_int_equal(p->flags, US_LINK_L3);
	p->pool = &e.pa;
	assert_int_equal(send_one(p, &e.pa, 1, 1400, 5), 0);   /* dropped by the fault link */
	assert_int_equal(p->tx_drops, 1);
	assert_int_equal(drain(e.b, 5, NULL, NULL, 0), 0);
	e.a = p;
	env_done(&e);
	size_t len;
	const uint8_t *b = slurp(path, &len);
	struct rec r[4];
	assert_int_equal(parse_pcap(b, len, 101, r, 4), 1);
	assert_int_equal(r[0].ts, 5);
	assert_int_equal(r[0].orig, 1400);
	unlink(path);

	/* an empty capture is still a valid file; a bad path is an error */
	assert_int_equal(env_init(&e, 1500, 0, 4, 4), 0);
	p = us_link_pcap_wrap(e.a, path, &err);
	assert_non_null(p);
	assert_null(us_link_pcap_wrap(e.b, "/nonexistent-dir/x.pcap", &err));
	assert_int_equal(err, -ENOENT);
	e.a = p;
	env_done(&e);
	b = slurp(path, &len);
	assert_int_equal(len, 24);
	assert_int_equal(parse_pcap(b, len, 1, r, 4), 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_both_directions),
		cmocka_unit_test(test_mem_ring_full),
		cmocka_unit_test(test_mem_wraparound),
		cmocka_unit_test(test_mem_pool_empty),
		cmocka_unit_test(test_mem_l3),
		cmocka_unit_test(test_mem_peer_closed),
		cmocka_unit_test(test_fault_deterministic),
		cmocka_unit_test(test_fault_rx_deterministic),
		cmocka_unit_test(test_fault_drop_rate),
		cmocka_unit_test(test_fault_dup),
		cmocka_unit_test(test_fault_reorder),
		cmocka_unit_test(test_fault_reorder_timeout),
		cmocka_unit_test(test_fault_corrupt),
		cmocka_unit_test(test_fault_delay),
		cmocka_unit_test(test_fault_rx_delay_jitter),
		cmocka_unit_test(test_fault_rate),
		cmocka_unit_test(test_fault_max_held),
		cmocka_unit_test(test_fault_passthrough_and_bad_cfg),
		cmocka_unit_test(test_fault_all_both_ways),
		cmocka_unit_test(test_pcap_l2),
		cmocka_unit_test(test_pcap_l3_and_chain),
		cmocka_unit_test(test_pcap_finishes_zero_csum),
		cmocka_unit_test(test_user_device),
		cmocka_unit_test(test_zc_device_create),
		cmocka_unit_test(test_zc_device_not_a_device),
		cmocka_unit_test(test_zc_device_buffers),
		cmocka_unit_test(test_zc_device_recv_send),
		cmocka_unit_test(test_zc_device_in_stack),
		cmocka_unit_test(test_zc_device_wrapper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
