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
 * Held frames are packets of the stack's pool: the fault link occupies
 * buffers while it delays, as a real queue would. It is a zero-copy device
 * (include/ustack/link.h) over the link it wraps, and counts its own
 * sends (US_DEVICE_COUNTS_TX): a frame is sent when it is released, a
 * duplicate is one more. The seeded generator is the stack's own
 * (core/rand.h): its draws are the simulations' sequence of decisions,
 * and the device interface has no business giving out one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/rand.h"
#include "ustack/link.h"

#define FAULT_REORDER_SLOTS 64
#define FAULT_REORDER_TIMEOUT_NS 10000000ull   /* 10 ms */
#define FAULT_BATCH 64
#define FAULT_DEFAULT_GAP 3
#define FAULT_DEFAULT_MAX_HELD 4096
#define FAULT_QUEUE_MIN 64


struct reo_slot {
	struct us_buf *b;
	uint32_t left;       /* frames still to pass it */
	uint64_t deadline;   /* released by time at the latest */
	uint64_t jit;        /* its jitter draw */
};

struct held {
	struct us_buf *b;
	uint64_t t;          /* release time */
};

struct fault_dir {
	int on;
	int tx;                              /* the direction: counts as tx or rx drops */
	struct us_fault_cfg cfg;
	struct us_rand rng;
	/* The delay/rate queue, FIFO: a ring of q_cap (a power of two, grown
	 * up to what max_held needs) from q_head, q_n of them. */
	struct held *q;
	uint32_t q_cap, q_head, q_n;
	struct reo_slot reo[FAULT_REORDER_SLOTS];
	int nreo;
	uint64_t busy_until;                 /* rate: when the line is free */
	uint64_t last_release;
	struct us_fault_stats st;
};

struct fault_dev {
	struct us_link *inner;
	struct fault_dir tx, rx;
	uint64_t last_now;
};

/* ---- the queue -------------------------------------------------------- */

static struct held *q_front(const struct fault_dir *d)
{
	return d->q_n ? &d->q[d->q_head] : NULL;
}

/* Is the oldest frame due for release at now? */
static int q_due(const struct fault_dir *d, uint64_t now)
{
	return d->q_n && d->q[d->q_head].t <= now;
}

/* Room for one more, growing the ring (not per frame: it doubles). 0, or
 * -1 if memory ran out. */
static int q_room(struct fault_dir *d)
{
	if (d->q_n < d->q_cap)
		return 0;
	uint32_t cap = d->q_cap ? d->q_cap * 2 : FAULT_QUEUE_MIN;
	if (cap < d->q_cap)
		return -1;
	struct held *q = malloc((size_t)cap * sizeof(*q));
	if (!q)
		return -1;
	for (uint32_t i = 0; i < d->q_n; i++)
		q[i] = d->q[(d->q_head + i) & (d->q_cap - 1)];
	free(d->q);
	d->q = q;
	d->q_cap = cap;
	d->q_head = 0;
	return 0;
}

static void q_push(struct fault_dir *d, struct us_buf *b, uint64_t t)
{
	d->q[(d->q_head + d->q_n) & (d->q_cap - 1)] = (struct held){ b, t };
	d->q_n++;
}

static struct us_buf *q_pop(struct fault_dir *d)
{
	struct us_buf *b = d->q[d->q_head].b;
	d->q_head = (d->q_head + 1) & (d->q_cap - 1);
	d->q_n--;
	return b;
}

/* ---- one direction ---------------------------------------------------- */

static void dir_drop(const struct fault_dir *d, struct us_link *l)
{
	if (d->tx)
		us_link_count_tx(l, 0, 1);
	else
		us_link_rx_dropped(l, 1, 0);
}

/* Into the delay/rate queue. Returns 1, or 0 if dropped (max_held). */
static int dir_queue(struct fault_dir *d, struct us_link *l, struct us_buf *b, uint64_t now, uint64_t jit)
{
	if (d->q_n + (uint32_t)d->nreo >= d->cfg.max_held || q_room(d) < 0) {
		us_buf_free(l, b);
		d->st.overflow++;
		dir_drop(d, l);
		return 0;
	}
	uint64_t t = now;
	if (d->cfg.rate_bps) {
		uint64_t start = d->busy_until > now ? d->busy_until : now;
		/* len <= 64 KiB, so len * 8e9 fits in 64 bits */
		uint64_t ser = ((uint64_t)us_buf_len(b) * 8000000000ull + d->cfg.rate_bps - 1) / d->cfg.rate_bps;
		t = start + ser;
		d->busy_until = t;
	}
	t += d->cfg.delay_ns;
	if (d->cfg.jitter_ns)
		t += jit % d->cfg.jitter_ns;
	if (t < d->last_release)
		t = d->last_release;   /* FIFO: never overtake the frame ahead */
	d->last_release = t;
	q_push(d, b, t);
	return 1;
}

static void reo_remove(struct fault_dir *d, int i)
{
	memmove(&d->reo[i], &d->reo[i + 1], (size_t)(d->nreo - i - 1) * sizeof(d->reo[0]));
	d->nreo--;
}

/* A frame passes the reorder stage: it goes on, and frames held back
 * behind it count down; those at zero follow it, oldest first. */
static int dir_pass(struct fault_dir *d, struct us_link *l, struct us_buf *b, uint64_t now, uint64_t jit)
{
	int kept = dir_queue(d, l, b, now, jit);
	for (int i = 0; i < d->nreo;) {
		if (--d->reo[i].left == 0) {
			struct reo_slot s = d->reo[i];
			reo_remove(d, i);
			dir_queue(d, l, s.b, now, s.jit);
		} else {
			i++;
		}
	}
	return kept;
}

/* Reordered frames whose time is up. */
static void dir_expire(struct fault_dir *d, struct us_link *l, uint64_t now)
{
	for (int i = 0; i < d->nreo;) {
		if (d->reo[i].deadline <= now) {
			struct reo_slot s = d->reo[i];
			reo_remove(d, i);
			dir_queue(d, l, s.b, now, s.jit);
		} else {
			i++;
		}
	}
}

/* One frame in. Returns 1 if it was kept (queued or held), 0 if dropped. */
static int dir_enter(struct fault_dir *d, struct us_link *l, struct us_buf *b, uint64_t now)
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
		us_buf_free(l, b);
		d->st.dropped++;
		dir_drop(d, l);
		return 0;
	}
	struct us_buf *dup = NULL;
	if (u_dup < c->dup) {
		dup = us_buf_clone(l, b);
		if (dup)
			d->st.duplicated++;
		else
			d->st.dup_fails++;
	}
	uint32_t len = us_buf_len(b);
	if (u_corrupt < c->corrupt && len) {
		uint64_t k = bit % ((uint64_t)len * 8);
		us_buf_data(b)[k / 8] ^= (uint8_t)(1u << (k % 8));
		d->st.corrupted++;
	}
	int kept = 1;
	if (u_reorder < c->reorder && d->nreo < FAULT_REORDER_SLOTS &&
	    d->q_n + (uint32_t)d->nreo < c->max_held) {
		d->reo[d->nreo++] = (struct reo_slot){ b, c->reorder_gap, now + FAULT_REORDER_TIMEOUT_NS, jit };
		d->st.reordered++;
	} else {
		kept = dir_pass(d, l, b, now, jit);
	}
	if (dup)
		dir_pass(d, l, dup, now, jit);
	return kept;
}

static int64_t dir_deadline(const struct fault_dir *d)
{
	int64_t dl = -1;
	const struct held *h = q_front(d);
	if (h)
		dl = (int64_t)h->t;
	for (int i = 0; i < d->nreo; i++)
		if (dl < 0 || (int64_t)d->reo[i].deadline < dl)
			dl = (int64_t)d->reo[i].deadline;
	return dl;
}

static void dir_purge(struct fault_dir *d, struct us_link *l)
{
	while (d->q_n)
		us_buf_free(l, q_pop(d));
	for (int i = 0; i < d->nreo; i++)
		us_buf_free(l, d->reo[i].b);
	d->nreo = 0;
	free(d->q);
	d->q = NULL;
	d->q_cap = d->q_head = 0;
}

static void dir_init(struct fault_dir *d, const struct us_fault_cfg *cfg, int tx)
{
	memset(d, 0, sizeof(*d));
	d->tx = tx;
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

/* ---- the device --------------------------------------------------------- */

/* Sends the tx frames that are due to the inner link. */
static void tx_release(struct fault_dev *f, struct us_link *l, uint64_t now)
{
	struct fault_dir *d = &f->tx;
	struct us_buf *batch[FAULT_BATCH];
	while (q_due(d, now)) {
		int n = 0;
		while (n < FAULT_BATCH && q_due(d, now))
			batch[n++] = q_pop(d);
		d->st.frames_out += (uint64_t)n;
		us_link_count_tx(l, (uint32_t)n, 0);
		us_link_send(f->inner, batch, n, now);  /* inner counts its own drops */
	}
}

static int fault_send(void *dev, struct us_link *l, struct us_buf **bufs, int n, uint64_t now)
{
	struct fault_dev *f = dev;
	f->last_now = now;
	if (!f->tx.on) {
		int r = us_link_send(f->inner, bufs, n, now);
		if (r >= 0)
			us_link_count_tx(l, (uint32_t)r, (uint32_t)(n - r));
		return r;
	}
	dir_expire(&f->tx, l, now);
	int kept = 0;
	for (int i = 0; i < n; i++)
		kept += dir_enter(&f->tx, l, bufs[i], now);
	tx_release(f, l, now);
	return kept;
}

static int fault_recv(void *dev, struct us_link *l, struct us_buf **bufs, int max, uint64_t now)
{
	struct fault_dev *f = dev;
	f->last_now = now;
	if (f->tx.on) {
		dir_expire(&f->tx, l, now);
		tx_release(f, l, now);
	}
	if (!f->rx.on)
		return us_link_recv(f->inner, bufs, max, now);
	struct fault_dir *d = &f->rx;
	dir_expire(d, l, now);
	int err = 0;
	int n = max > 0 ? us_link_recv(f->inner, bufs, max, now) : 0;
	if (n < 0) {
		err = n;
		n = 0;
	}
	for (int i = 0; i < n; i++)
		dir_enter(d, l, bufs[i], now);
	int out = 0;
	while (out < max && q_due(d, now))
		bufs[out++] = q_pop(d);
	d->st.frames_out += (uint64_t)out;
	if (out == 0 && err < 0)
		return err;
	return out;
}

static int64_t fault_poll(void *dev, struct us_link *l, uint64_t now)
{
	struct fault_dev *f = dev;
	f->last_now = now;
	/* (Before the link is attached nothing is held: these do nothing.) */
	dir_expire(&f->tx, l, now);
	dir_expire(&f->rx, l, now);
	tx_release(f, l, now);
	int64_t dl = -1;
	int64_t c[3] = { dir_deadline(&f->tx), dir_deadline(&f->rx), us_link_poll(f->inner, now) };
	for (int i = 0; i < 3; i++)
		if (c[i] >= 0 && (dl < 0 || c[i] < dl))
			dl = c[i];
	return dl;
}

static int fault_pending(void *dev)
{
	struct fault_dev *f = dev;
	if (q_due(&f->rx, f->last_now))
		return 1;
	return us_link_pending(f->inner);
}

static void fault_close(void *dev, struct us_link *l)
{
	struct fault_dev *f = dev;
	dir_purge(&f->tx, l);
	dir_purge(&f->rx, l);
	free(f);   /* the inner link is closed after us */
}

static const struct us_device_zc_ops fault_ops = {
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
	struct fault_dev *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->inner = inner;
	dir_init(&f->tx, tx, 1);
	dir_init(&f->rx, rx, 0);
	struct us_device_info info;
	us_link_info(inner, &info);
	info.flags = US_DEVICE_COUNTS_TX;
	info.inner = inner;
	struct us_link *l = us_link_device_zc_new(&fault_ops, f, &info);
	if (!l)
		free(f);
	return l;
}

int us_link_fault_stats(const struct us_link *l, struct us_fault_stats *tx, struct us_fault_stats *rx)
{
	const struct fault_dev *f = us_link_device(l, &fault_ops);
	if (!f)
		return -EINVAL;
	if (tx) {
		*tx = f->tx.st;
		tx->held = f->tx.q_n + (uint32_t)f->tx.nreo;
	}
	if (rx) {
		*rx = f->rx.st;
		rx->held = f->rx.q_n + (uint32_t)f->rx.nreo;
	}
	return 0;
}
