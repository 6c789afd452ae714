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
