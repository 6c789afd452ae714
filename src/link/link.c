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

void link_wrap_init(struct us_link *l, const struct us_link *inner, const struct us_link_ops *ops, void *priv)
{
	l->ops = ops;
	l->pool = inner->pool;
	l->fd = inner->fd;
	l->mtu = inner->mtu;
	l->flags = inner->flags;
	memcpy(l->hwaddr, inner->hwaddr, 6);
	memcpy(l->name, inner->name, sizeof(l->name));
	l->priv = priv;
}
