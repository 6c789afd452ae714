/* Devices behind the public interface (include/ustack/link.h), on the
 * stack's own link interface (link.h):
 *  - the zero-copy form (us_device_zc_ops): the device receives into and
 *    sends from the stack's packet buffers, lent to it as struct us_buf,
 *    which is struct pkt under another name (the casts below are all there
 *    is to it: no copy, nothing per packet but the call). TAP, TUN, mem,
 *    fault and pcap are built on it;
 *  - the copy-based form (us_device_ops), a zero-copy device of this
 *    file's: receive lends the device views of fresh pool buffers to fill;
 *    send shows it views of the packets going out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "link/link.h"
#include "ustack/link.h"

#define DEV_BATCH 32
#define DEV_L2_HDR 18   /* Ethernet header with one VLAN tag */
#define DEV_OFFLOADS (US_LINK_OFF_CSUM | US_LINK_OFF_TSO4 | US_LINK_OFF_TSO6)
#define DEV_LINK_OFFLOADS (US_LINK_CSUM | US_LINK_TSO4 | US_LINK_TSO6)

struct zc_link {
	struct us_link l;       /* first: us_link_close frees the block */
	const struct us_device_zc_ops *ops;
	void *dev;
	unsigned dflags;        /* US_DEVICE_* */
	/* The copy-based form: its ops and device (dev is then this link). */
	const struct us_device_ops *cops;
	void *cdev;
};

static struct zc_link *zl_of(struct us_link *l) { return (struct zc_link *)l; }
static struct pkt *pk(struct us_buf *b) { return (struct pkt *)b; }
static const struct pkt *cpk(const struct us_buf *b) { return (const struct pkt *)b; }
static struct us_buf **bufs_of(struct pkt **p) { return (struct us_buf **)p; }
static struct pkt **pkts_of(struct us_buf **b) { return (struct pkt **)b; }

/* ---- the zero-copy adapter --------------------------------------------- */

/* A wrapper's inner link allocates from the wrapper's pool (the stack
 * attaches the outer link; tests set its pool directly). */
static void inner_pool(struct us_link *l)
{
	if (l->inner && l->pool)
		l->inner->pool = l->pool;
}

static int zc_recv(struct us_link *l, struct pkt **pkts, int max, uint64_t now)
{
	struct zc_link *z = zl_of(l);
	if (!l->pool)
		return -EINVAL;
	inner_pool(l);
	int r = z->ops->recv(z->dev, l, bufs_of(pkts), max, now);
	if (r > 0)
		l->rx_frames += (uint64_t)r;
	return r;
}

static int zc_send(struct us_link *l, struct pkt **pkts, int n, uint64_t now)
{
	struct zc_link *z = zl_of(l);
	if (!l->pool)
		return -EINVAL;
	inner_pool(l);
	int r = z->ops->send(z->dev, l, bufs_of(pkts), n, now);
	if (!(z->dflags & US_DEVICE_COUNTS_TX) && n > 0) {
		int sent = r < 0 ? 0 : US_MIN(r, n);
		l->tx_frames += (uint64_t)sent;
		l->tx_drops += (uint64_t)(n - sent);
	}
	return r;
}

static int64_t zc_poll(struct us_link *l, uint64_t now)
{
	struct zc_link *z = zl_of(l);
	inner_pool(l);
	return z->ops->poll ? z->ops->poll(z->dev, l, now) : -1;
}

static int zc_pending(struct us_link *l)
{
	struct zc_link *z = zl_of(l);
	return z->ops->pending ? z->ops->pending(z->dev) : 0;
}

static void zc_close(struct us_link *l)
{
	struct zc_link *z = zl_of(l);
	/* What the device holds goes back to the pool it came from. */
	if (!l->pool && l->inner)
		l->pool = l->inner->pool;
	if (z->ops->close)
		z->ops->close(z->dev, l);
	us_link_close(l->inner);
	l->inner = NULL;
}

static const struct us_link_ops zc_link_ops = {
	.recv = zc_recv,
	.send = zc_send,
	.poll = zc_poll,
	.pending = zc_pending,
	.close = zc_close,
};

static int offloads_ok(unsigned o)
{
	return !(o & ~DEV_OFFLOADS) &&
	       (!(o & (US_LINK_OFF_TSO4 | US_LINK_OFF_TSO6)) || (o & US_LINK_OFF_CSUM));
}

static uint32_t link_offload_flags(unsigned o)
{
	return ((o & US_LINK_OFF_CSUM) ? US_LINK_CSUM : 0) | ((o & US_LINK_OFF_TSO4) ? US_LINK_TSO4 : 0) |
	       ((o & US_LINK_OFF_TSO6) ? US_LINK_TSO6 : 0);
}

static struct zc_link *zc_make(const struct us_device_zc_ops *ops, void *dev, const struct us_device_info *info)
{
	uint32_t mtu = info && info->mtu ? info->mtu : 1500;
	if (!ops || !ops->recv || !ops->send || !info || mtu < 68 || mtu > 65535 ||
	    !offloads_ok(info->offloads) || (info->flags & ~US_DEVICE_COUNTS_TX)) {
		errno = EINVAL;
		return NULL;
	}
	struct zc_link *z = calloc(1, sizeof(*z));
	if (!z) {
		errno = ENOMEM;
		return NULL;
	}
	z->ops = ops;
	z->dev = dev;
	z->dflags = info->flags;
	struct us_link *l = &z->l;
	l->ops = &zc_link_ops;
	l->fd = info->fd;
	l->mtu = mtu;
	l->flags = (info->l3 ? US_LINK_L3 : US_LINK_L2) | link_offload_flags(info->offloads);
	memcpy(l->hwaddr, info->hwaddr, 6);
	if (info->name)
		snprintf(l->name, sizeof(l->name), "%s", info->name);
	l->priv = z;
	l->inner = info->inner;
	if (l->inner)
		l->pool = l->inner->pool;
	return z;
}

struct us_link *us_link_device_zc_new(const struct us_device_zc_ops *ops, void *dev, const struct us_device_info *info)
{
	struct zc_link *z = zc_make(ops, dev, info);
	return z ? &z->l : NULL;
}

void *us_link_device(const struct us_link *l, const struct us_device_zc_ops *ops)
{
	if (!l || l->ops != &zc_link_ops || !ops)
		return NULL;
	const struct zc_link *z = (const struct zc_link *)l;
	return z->ops == ops ? z->dev : NULL;
}

int us_link_set_offloads(struct us_link *l, unsigned offloads)
{
	if (!l || l->ops != &zc_link_ops || !offloads_ok(offloads))
		return -EINVAL;
	l->flags = (l->flags & ~DEV_LINK_OFFLOADS) | link_offload_flags(offloads);
	return 0;
}

void us_link_info(const struct us_link *l, struct us_device_info *out)
{
	memset(out, 0, sizeof(*out));
	out->name = l->name;
	out->l3 = (l->flags & US_LINK_L3) != 0;
	out->mtu = l->mtu;
	memcpy(out->hwaddr, l->hwaddr, 6);
	out->fd = l->fd;
	out->offloads = ((l->flags & US_LINK_CSUM) ? US_LINK_OFF_CSUM : 0) |
			((l->flags & US_LINK_TSO4) ? US_LINK_OFF_TSO4 : 0) |
			((l->flags & US_LINK_TSO6) ? US_LINK_OFF_TSO6 : 0);
	out->inner = l->inner;
}

/* ---- buffers, counters and the wrapped link, for a device's ops -------- */

struct us_buf *us_buf_alloc(struct us_link *l, uint32_t size)
{
	if (!l || !l->pool)
		return NULL;
	return (struct us_buf *)pkt_alloc(l->pool, size, PKT_HEADROOM);
}

void us_buf_free(struct us_link *l, struct us_buf *b)
{
	if (b && l && l->pool)
		pkt_free(l->pool, pk(b));
}

struct us_buf *us_buf_clone(struct us_link *l, const struct us_buf *b)
{
	if (!l || !l->pool || !b)
		return NULL;
	return (struct us_buf *)pkt_clone(l->pool, cpk(b), pkt_headroom(cpk(b)));
}

uint8_t *us_buf_data(const struct us_buf *b) { return cpk(b)->data; }
uint32_t us_buf_len(const struct us_buf *b) { return cpk(b)->len; }
uint32_t us_buf_room(const struct us_buf *b) { return cpk(b)->cap - pkt_headroom(cpk(b)); }

int us_buf_set_len(struct us_buf *b, uint32_t len)
{
	if (len > us_buf_room(b))
		return -EINVAL;
	pk(b)->len = len;
	return 0;
}

void us_buf_offload_get(const struct us_buf *b, struct us_buf_offload *o)
{
	const struct pkt *p = cpk(b);
	int cs = pkt_csum_start(p);
	memset(o, 0, sizeof(*o));
	if (cs > 0) {
		o->csum_start = (uint16_t)cs;
		o->csum_offset = p->csum_off;
	}
	o->gso_size = p->gso_size;
	o->csum_ok = (p->flags & PKT_F_CSUM_OK) != 0;
}

void us_buf_offload_set(struct us_buf *b, const struct us_buf_offload *o)
{
	struct pkt *p = pk(b);
	uint32_t at = pkt_headroom(p) + o->csum_start;   /* csum_l4 counts from buf */
	p->csum_l4 = 0;
	p->csum_off = 0;
	if (o->csum_start && o->csum_offset <= 0xff && at <= 0xffff &&
	    (uint32_t)o->csum_start + o->csum_offset + 2 <= p->len) {
		p->csum_l4 = (uint16_t)at;
		p->csum_off = (uint8_t)o->csum_offset;
	}
	p->gso_size = o->gso_size;
	if (o->csum_ok)
		p->flags |= PKT_F_CSUM_OK;
	else
		p->flags &= (uint8_t)~PKT_F_CSUM_OK;
}

void us_link_rx_dropped(struct us_link *l, uint32_t n, int nobuf)
{
	l->rx_drops += n;
	if (nobuf)
		l->rx_nobuf += n;
}

void us_link_count_tx(struct us_link *l, uint32_t n, uint32_t d)
{
	l->tx_frames += n;
	l->tx_drops += d;
}

int us_link_recv(struct us_link *inner, struct us_buf **bufs, int max, uint64_t now_ns)
{
	return link_recv(inner, pkts_of(bufs), max, now_ns);
}

int us_link_send(struct us_link *inner, struct us_buf **bufs, int n, uint64_t now_ns)
{
	return link_send(inner, pkts_of(bufs), n, now_ns);
}

int64_t us_link_poll(struct us_link *inner, uint64_t now_ns) { return link_poll(inner, now_ns); }
int us_link_pending(struct us_link *inner) { return link_pending(inner); }

/* ---- the copy-based form, as a zero-copy device ------------------------ */

static int copy_recv(void *dev, struct us_link *l, struct us_buf **bufs, int max, uint64_t now)
{
	struct zc_link *d = dev;
	struct us_frame f[DEV_BATCH];
	struct pkt *p[DEV_BATCH];
	int n = US_MIN(max, DEV_BATCH);
	uint32_t room = l->mtu + ((l->flags & US_LINK_L2) ? DEV_L2_HDR : 0);
	int k = 0;
	for (; k < n; k++) {
		p[k] = pkt_alloc(l->pool, room, PKT_HEADROOM);
		if (!p[k])
			break;
		memset(&f[k], 0, sizeof(f[k]));
		f[k].data = p[k]->data;
		f[k].cap = room;
	}
	if (!k)
		return 0;   /* no buffer to lend: the device keeps its frames for now */
	int got = d->cops->recv(d->cdev, f, k, now);
	int out = 0;
	for (int i = 0; i < k; i++) {
		if (i >= got || f[i].len == 0 || f[i].len > f[i].cap) {
			if (i < got)
				l->rx_drops++;   /* empty or longer than the room lent */
			pkt_free(l->pool, p[i]);
			continue;
		}
		p[i]->len = f[i].len;
		if (f[i].csum_ok)
			p[i]->flags |= PKT_F_CSUM_OK;
		bufs[out++] = (struct us_buf *)p[i];
	}
	return got < 0 ? got : out;
}

static int copy_send(void *dev, struct us_link *l, struct us_buf **bufs, int n, uint64_t now)
{
	struct zc_link *d = dev;
	struct pkt **pkts = pkts_of(bufs);
	int sent = 0;
	for (int base = 0; base < n; base += DEV_BATCH) {
		struct us_frame f[DEV_BATCH];
		int k = US_MIN(n - base, DEV_BATCH);
		for (int i = 0; i < k; i++) {
			const struct pkt *p = pkts[base + i];
			int cs = pkt_csum_start(p);
			memset(&f[i], 0, sizeof(f[i]));
			f[i].data = p->data;
			f[i].len = p->len;
			f[i].cap = p->len;
			if (cs >= 0) {
				f[i].csum_start = (uint16_t)cs;
				f[i].csum_offset = p->csum_off;
			}
			f[i].gso_size = p->gso_size;
		}
		int took = d->cops->send(d->cdev, f, k, now);
		sent += took < 0 ? 0 : US_MIN(took, k);
	}
	for (int i = 0; i < n; i++)
		pkt_free(l->pool, pkts[i]);
	return sent;   /* the adapter counts the rest as dropped */
}

static int copy_pending(void *dev)
{
	struct zc_link *d = dev;
	return d->cops->pending ? d->cops->pending(d->cdev) : 0;
}

static int64_t copy_poll(void *dev, struct us_link *l, uint64_t now)
{
	(void)l;
	struct zc_link *d = dev;
	return d->cops->poll ? d->cops->poll(d->cdev, now) : -1;
}

static void copy_close(void *dev, struct us_link *l)
{
	(void)l;
	struct zc_link *d = dev;
	if (d->cops->close)
		d->cops->close(d->cdev);
}

static const struct us_device_zc_ops copy_ops = {
	.recv = copy_recv,
	.send = copy_send,
	.pending = copy_pending,
	.poll = copy_poll,
	.close = copy_close,
};

struct us_link *us_link_device_new(const struct us_device_ops *ops, void *dev, const struct us_device_info *info)
{
	/* inner and flags are the zero-copy form's */
	if (!ops || !ops->recv || !ops->send || !info || info->inner || info->flags) {
		errno = EINVAL;
		return NULL;
	}
	struct zc_link *z = zc_make(&copy_ops, NULL, info);
	if (!z)
		return NULL;
	z->dev = z;
	z->cops = ops;
	z->cdev = dev;
	return &z->l;
}

void us_link_stats(const struct us_link *l, struct us_link_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->rx_frames = l->rx_frames;
	out->tx_frames = l->tx_frames;
	out->rx_drops = l->rx_drops;
	out->rx_nobuf = l->rx_nobuf;
	out->tx_drops = l->tx_drops;
}
