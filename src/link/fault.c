/* A link that injects faults, from a seeded generator, into each direction
 * of the link it wraps. Per frame, in this order: drop; duplicate (the copy
 * follows the original unharmed); corrupt (one random bit of the original);
 * reorder (hold the frame back until reorder_gap later frames have passed,
 * or FAULT_REORDER_TIMEOUT_NS, whichever comes first); then rate limit
 * (serialisation at rate_bps) and delay + jitter. Frames leave the
 * delay/rate queue in FIFO order at their release time, on recv, send and
 * poll. Six random numbers are drawn per frame whatever the settings, so
 * one seed gives one sequence of decisions: same seed and same input
 * (frames and `now` values) give the same output.
 *
 * Held frames are packets of the stack's pool (l->pool): the fault link
 * occupies buffers while it delays, as a real queue would. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/rand.h"
#include "link/link.h"
#include "ustack/ustack.h"

#define FAULT_REORDER_SLOTS 64
#define FAULT_REORDER_TIMEOUT_NS 10000000ull   /* 10 ms */
#define FAULT_BATCH 64
#define FAULT_DEFAULT_GAP 3
#define FAULT_DEFAULT_MAX_HELD 4096


struct reo_slot {
	struct pkt *p;
	uint32_t left;       /* frames still to pass it */
	uint64_t deadline;   /* released by time at the latest */
	uint64_t jit;        /* its jitter draw */
};

struct fault_dir {
	int on;
	struct us_fault_cfg cfg;
	struct us_rand rng;
	struct pkt_queue q;                  /* p->ts = release time, FIFO */
	struct reo_slot reo[FAULT_REORDER_SLOTS];
	int nreo;
	uint64_t busy_until;                 /* rate: when the line is free */
	uint64_t last_release;
	uint64_t *drops;                     /* the link's tx_drops or rx_drops */
	struct us_fault_stats st;
};

struct fault_link {
	struct us_link link;                 /* first: us_link_close frees the block */
	struct us_link *inner;
	struct fault_dir tx, rx;
	uint64_t last_now;
};

/* ---- one direction ---------------------------------------------------- */

/* Into the delay/rate queue. Returns 1, or 0 if dropped (max_held). */
static int dir_queue(struct fault_dir *d, struct pkt_pool *pool, struct pkt *p, uint64_t now, uint64_t jit)
{
	if (d->q.n + (uint32_t)d->nreo >= d->cfg.max_held) {
		pkt_free(pool, p);
		d->st.overflow++;
		(*d->drops)++;
		return 0;
	}
	uint64_t t = now;
	if (d->cfg.rate_bps) {
		uint64_t start = d->busy_until > now ? d->busy_until : now;
		/* len <= 64 KiB, so len * 8e9 fits in 64 bits */
		uint64_t ser = ((uint64_t)p->len * 8000000000ull + d->cfg.rate_bps - 1) / d->cfg.rate_bps;
		t = start + ser;
		d->busy_until = t;
	}
	t += d->cfg.delay_ns;
	if (d->cfg.jitter_ns)
		t += jit % d->cfg.jitter_ns;
	if (t < d->last_release)
		t = d->last_release;   /* FIFO: never overtake the frame ahead */
	d->last_release = t;
	p->ts = t;
	pktq_push(&d->q, p);
	return 1;
}

static void reo_remove(struct fault_dir *d, int i)
{
	memmove(&d->reo[i], &d->reo[i + 1], (size_t)(d->nreo - i - 1) * sizeof(d->reo[0]));
	d->nreo--;
}

/* A frame passes the reorder stage: it goes on, and frames held back
 * behind it count down; those at zero follow it, oldest first. */
static int dir_pass(struct fault_dir *d, struct pkt_pool *pool, struct pkt *p, uint64_t now, uint64_t jit)
{
	int kept = dir_queue(d, pool, p, now, jit);
	for (int i = 0; i < d->nreo;) {
		if (--d->reo[i].left == 0) {
			struct reo_slot s = d->reo[i];
			reo_remove(d, i);
			dir_queue(d, pool, s.p, now, s.jit);
		} else {
			i++;
		}
	}
	return kept;
}

/* Reordered frames whose time is up. */
static void dir_expire(struct fault_dir *d, struct pkt_pool *pool, uint64_t now)
{
	for (int i = 0; i < d->nreo;) {
		if (d->reo[i].deadline <= now) {
			struct reo_slot s = d->reo[i];
			reo_remove(d, i);
			dir_queue(d, pool, s.p, now, s.jit);
		} else {
			i++;
		}
	}
}

/* One frame in. Returns 1 if it was kept (queued or held), 0 if dropped. */
static int dir_enter(struct fault_dir *d, struct pkt_pool *pool, struct pkt *p, uint64_t now)
{
	const struct us_fault_cfg *c = &d->cfg;
	double u_drop = us_rand_unit(&d->rng);
	double u_dup = us_rand_unit(&d->rng);
	double u_corrupt = us_rand_unit(&d->rng);
	uint64_t bit = us_rand_u64(&d->rng);
	double u_reorder = us_rand_unit(&d->rng);
	uint64_t jit = us_rand_u64(&d->rng);

	d->st.frames_in++;
	if (u_drop < c->drop) {
		pkt_free(pool, p);
		d->st.dropped++;
		(*d->drops)++;
		return 0;
	}
	struct pkt *dup = NULL;
	if (u_dup < c->dup) {
		dup = pkt_clone(pool, p, pkt_headroom(p));
		if (dup)
			d->st.duplicated++;
		else
			d->st.dup_fails++;
	}
	if (u_corrupt < c->corrupt && p->len) {
		uint64_t b = bit % ((uint64_t)p->len * 8);
		p->data[b / 8] ^= (uint8_t)(1u << (b % 8));
		d->st.corrupted++;
	}
	int kept = 1;
	if (u_reorder < c->reorder && d->nreo < FAULT_REORDER_SLOTS &&
	    d->q.n + (uint32_t)d->nreo < c->max_held) {
		d->reo[d->nreo++] = (struct reo_slot){ p, c->reorder_gap, now + FAULT_REORDER_TIMEOUT_NS, jit };
		d->st.reordered++;
	} else {
		kept = dir_pass(d, pool, p, now, jit);
	}
	if (dup)
		dir_pass(d, pool, dup, now, jit);
	return kept;
}

static int64_t dir_deadline(const struct fault_dir *d)
{
	int64_t dl = -1;
	if (d->q.head)
		dl = (int64_t)d->q.head->ts;
	for (int i = 0; i < d->nreo; i++)
		if (dl < 0 || (int64_t)d->reo[i].deadline < dl)
			dl = (int64_t)d->reo[i].deadline;
	return dl;
}

static void dir_purge(struct fault_dir *d, struct pkt_pool *pool)
{
	pktq_purge(pool, &d->q);
	for (int i = 0; i < d->nreo; i++)
		pkt_free(pool, d->reo[i].p);
	d->nreo = 0;
}

static void dir_init(struct fault_dir *d, const struct us_fault_cfg *cfg, uint64_t *drops)
{
	memset(d, 0, sizeof(*d));
	pktq_init(&d->q);
	d->drops = drops;
	if (!cfg)
		return;
	d->on = 1;
	d->cfg = *cfg;
	if (!d->cfg.reorder_gap)
		d->cfg.reorder_gap = FAULT_DEFAULT_GAP;
	if (!d->cfg.max_held)
		d->cfg.max_held = FAULT_DEFAULT_MAX_HELD;
	us_rand_seed(&d->rng, cfg->seed);
}

/* ---- the link ---------------------------------------------------------- */

/* Sends the tx frames that are due to the inner link. */
static void tx_release(struct fault_link *f, uint64_t now)
{
	struct fault_dir *d = &f->tx;
	struct pkt *batch[FAULT_BATCH];
	while (d->q.head && d->q.head->ts <= now) {
		int n = 0;
		while (n < FAULT_BATCH && d->q.head && d->q.head->ts <= now)
			batch[n++] = pktq_pop(&d->q);
		d->st.frames_out += (uint64_t)n;
		f->link.tx_frames += (uint64_t)n;
		link_send(f->inner, batch, n, now);  /* inner counts its own drops */
	}
}

static int fault_send(struct us_link *l, struct pkt **pkts, int n, uint64_t now)
{
	struct fault_link *f = (struct fault_link *)l;
	if (!l->pool)
		return -EINVAL;
	f->inner->pool = l->pool;
	f->last_now = now;
	if (!f->tx.on) {
		int r = link_send(f->inner, pkts, n, now);
		if (r >= 0) {
			l->tx_frames += (uint64_t)r;
			l->tx_drops += (uint64_t)(n - r);
		}
		return r;
	}
	dir_expire(&f->tx, l->pool, now);
	int kept = 0;
	for (int i = 0; i < n; i++)
		kept += dir_enter(&f->tx, l->pool, pkts[i], now);
	tx_release(f, now);
	return kept;
}

static int fault_recv(struct us_link *l, struct pkt **pkts, int max, uint64_t now)
{
	struct fault_link *f = (struct fault_link *)l;
	if (!l->pool)
		return -EINVAL;
	f->inner->pool = l->pool;   /* the inner link allocates from our pool */
	f->last_now = now;
	if (f->tx.on) {
		dir_expire(&f->tx, l->pool, now);
		tx_release(f, now);
	}
	if (!f->rx.on) {
		int r = link_recv(f->inner, pkts, max, now);
		if (r > 0)
			l->rx_frames += (uint64_t)r;
		return r;
	}
	struct fault_dir *d = &f->rx;
	dir_expire(d, l->pool, now);
	int err = 0;
	int n = max > 0 ? link_recv(f->inner, pkts, max, now) : 0;
	if (n < 0) {
		err = n;
		n = 0;
	}
	for (int i = 0; i < n; i++)
		dir_enter(d, l->pool, pkts[i], now);
	int out = 0;
	while (out < max && d->q.head && d->q.head->ts <= now)
		pkts[out++] = pktq_pop(&d->q);
	d->st.frames_out += (uint64_t)out;
	l->rx_frames += (uint64_t)out;
	if (out == 0 && err < 0)
		return err;
	return out;
}

static int64_t fault_poll(struct us_link *l, uint64_t now)
{
	struct fault_link *f = (struct fault_link *)l;
	f->last_now = now;
	if (l->pool) {
		f->inner->pool = l->pool;
		dir_expire(&f->tx, l->pool, now);
		dir_expire(&f->rx, l->pool, now);
		tx_release(f, now);
	}
	int64_t dl = -1;
	int64_t c[3] = { dir_deadline(&f->tx), dir_deadline(&f->rx), link_poll(f->inner, now) };
	for (int i = 0; i < 3; i++)
		if (c[i] >= 0 && (dl < 0 || c[i] < dl))
			dl = c[i];
	return dl;
}

static int fault_pending(struct us_link *l)
{
	struct fault_link *f = (struct fault_link *)l;
	if (f->rx.q.head && f->rx.q.head->ts <= f->last_now)
		return 1;
	return link_pending(f->inner);
}

static void fault_close(struct us_link *l)
{
	struct fault_link *f = (struct fault_link *)l;
	struct pkt_pool *pool = l->pool ? l->pool : f->inner->pool;
	if (pool) {
		dir_purge(&f->tx, pool);
		dir_purge(&f->rx, pool);
	}
	us_link_close(f->inner);
	f->inner = NULL;
}

static const struct us_link_ops fault_ops = {
	.recv = fault_recv,
	.send = fault_send,
	.poll = fault_poll,
	.pending = fault_pending,
	.close = fault_close,
};

static int prob_ok(double p)
{
	return p >= 0.0 && p <= 1.0;  /* false for NaN */
}

static int cfg_ok(const struct us_fault_cfg *c)
{
	return !c || (prob_ok(c->drop) && prob_ok(c->dup) && prob_ok(c->reorder) && prob_ok(c->corrupt));
}

struct us_link *us_link_fault_wrap(struct us_link *inner, const struct us_fault_cfg *tx, const struct us_fault_cfg *rx)
{
	if (!inner || !cfg_ok(tx) || !cfg_ok(rx)) {
		errno = EINVAL;
		return NULL;
	}
	struct fault_link *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	struct us_link *l = &f->link;
	link_wrap_init(l, inner, &fault_ops, f);
	f->inner = inner;
	dir_init(&f->tx, tx, &l->tx_drops);
	dir_init(&f->rx, rx, &l->rx_drops);
	return l;
}

int us_link_fault_stats(const struct us_link *l, struct us_fault_stats *tx, struct us_fault_stats *rx)
{
	if (!l || l->ops != &fault_ops)
		return -EINVAL;
	const struct fault_link *f = (const struct fault_link *)l;
	if (tx) {
		*tx = f->tx.st;
		tx->held = f->tx.q.n + (uint32_t)f->tx.nreo;
	}
	if (rx) {
		*rx = f->rx.st;
		rx->held = f->rx.q.n + (uint32_t)f->rx.nreo;
	}
	return 0;
}
