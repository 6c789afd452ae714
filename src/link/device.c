/* A device written by the user (include/ustack/link.h): the public,
 * copy-based vtable behind the stack's own link interface. Receive lends
 * the device views of fresh pool buffers to fill; send shows it views of
 * the packets going out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "link/link.h"
#include "ustack/link.h"

#define DEV_BATCH 32
#define DEV_L2_HDR 18   /* Ethernet header with one VLAN tag */

struct dev_link {
	struct us_link l;
	const struct us_device_ops *ops;
	void *dev;
	unsigned offloads;
};

static struct dev_link *dl_of(struct us_link *l) { return (struct dev_link *)l; }

static int dev_recv(struct us_link *l, struct pkt **pkts, int max, uint64_t now)
{
	struct dev_link *d = dl_of(l);
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
	int got = d->ops->recv(d->dev, f, k, now);
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
		pkts[out++] = p[i];
	}
	l->rx_frames += (uint64_t)out;
	return got < 0 ? got : out;
}

static int dev_send(struct us_link *l, struct pkt **pkts, int n, uint64_t now)
{
	struct dev_link *d = dl_of(l);
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
		int took = d->ops->send(d->dev, f, k, now);
		took = took < 0 ? 0 : US_MIN(took, k);
		sent += took;
		l->tx_drops += (uint64_t)(k - took);
	}
	for (int i = 0; i < n; i++)
		pkt_free(l->pool, pkts[i]);
	l->tx_frames += (uint64_t)sent;
	return sent;
}

static int dev_pending(struct us_link *l)
{
	struct dev_link *d = dl_of(l);
	return d->ops->pending ? d->ops->pending(d->dev) : 0;
}

static int64_t dev_poll(struct us_link *l, uint64_t now)
{
	struct dev_link *d = dl_of(l);
	return d->ops->poll ? d->ops->poll(d->dev, now) : -1;
}

static void dev_close(struct us_link *l)
{
	struct dev_link *d = dl_of(l);
	if (d->ops->close)
		d->ops->close(d->dev);
}

static const struct us_link_ops dev_ops = {
	.recv = dev_recv,
	.send = dev_send,
	.poll = dev_poll,
	.pending = dev_pending,
	.close = dev_close,
};

struct us_link *us_link_device_new(const struct us_device_ops *ops, void *dev, const struct us_device_info *info)
{
	uint32_t mtu = info && info->mtu ? info->mtu : 1500;
	if (!ops || !ops->recv || !ops->send || !info || mtu < 68 || mtu > 65535 ||
	    (info->offloads & ~(US_LINK_OFF_CSUM | US_LINK_OFF_TSO4)) ||
	    ((info->offloads & US_LINK_OFF_TSO4) && !(info->offloads & US_LINK_OFF_CSUM))) {
		errno = EINVAL;
		return NULL;
	}
	struct dev_link *d = calloc(1, sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->ops = ops;
	d->dev = dev;
	d->offloads = info->offloads;
	struct us_link *l = &d->l;
	l->ops = &dev_ops;
	l->fd = info->fd;
	l->mtu = mtu;
	l->flags = info->l3 ? US_LINK_L3 : US_LINK_L2;
	if (info->offloads & US_LINK_OFF_CSUM)
		l->flags |= US_LINK_CSUM;
	if (info->offloads & US_LINK_OFF_TSO4)
		l->flags |= US_LINK_TSO4;
	memcpy(l->hwaddr, info->hwaddr, 6);
	if (info->name)
		snprintf(l->name, sizeof(l->name), "%s", info->name);
	l->priv = d;
	return l;
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
