#include "link/link.h"

#include <stdlib.h>
#include <string.h>

#include "ustack/ustack.h"

void us_link_close(struct us_link *l)
{
	if (!l)
		return;
	if (l->ops && l->ops->close)
		l->ops->close(l);
	free(l);
}

void us_link_set_hwaddr(struct us_link *l, const uint8_t mac[6])
{
	memcpy(l->hwaddr, mac, 6);
}

void us_link_get_hwaddr(const struct us_link *l, uint8_t mac[6])
{
	memcpy(mac, l->hwaddr, 6);
}

int link_attach(struct us_link *l, struct pkt_pool *pool)
{
	for (struct us_link *x = l; x; x = x->inner) {
		x->pool = pool;
		if (x->ops->attach) {
			int rc = x->ops->attach(x);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

void link_addr(struct us_link *l, const struct us_addr *a, int add)
{
	for (struct us_link *x = l; x; x = x->inner)
		if (x->ops->addr)
			x->ops->addr(x, a, add);
}

void link_rx_losses(struct us_link *l, uint64_t *nobuf, uint64_t *other)
{
	while (l->inner)
		l = l->inner;
	uint64_t nb = l->rx_nobuf, all = l->rx_drops;
	*nobuf = nb - l->rx_seen_nobuf;
	*other = (all - nb) - (l->rx_seen_drops - l->rx_seen_nobuf);
	l->rx_seen_nobuf = nb;
	l->rx_seen_drops = all;
}
