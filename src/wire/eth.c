/* Ethernet II header, with at most one 802.1Q (or 802.1ad) tag skipped. */
#include "wire/eth.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"

/* IEEE 802.3: values below 0x600 are a length, not an EtherType. */
#define ETH_MIN_TYPE 0x0600

static int eth_is_tag(uint16_t type) { return type == ETH_P_VLAN || type == ETH_P_QINQ; }

int eth_parse(const uint8_t *buf, size_t len, struct eth_repr *r)
{
	memset(r, 0, sizeof *r);
	if (len < ETH_HDR_LEN)
		return -EINVAL;
	uint16_t type = rd_be16(buf + 12);
	if (type < ETH_MIN_TYPE)
		return -EPROTONOSUPPORT;
	memcpy(r->dst, buf, ETH_ALEN);
	memcpy(r->src, buf + ETH_ALEN, ETH_ALEN);
	r->hdr_len = ETH_HDR_LEN;
	if (eth_is_tag(type)) {
		if (len < ETH_HDR_LEN + 4)
			return -EINVAL;
		r->vlan_tci = rd_be16(buf + 14);
		r->has_vlan = 1;
		r->hdr_len = ETH_HDR_LEN + 4;
		type = rd_be16(buf + 16);
		/* Stacked tags are not supported; an 802.3 length is not a type. */
		if (type < ETH_MIN_TYPE || eth_is_tag(type))
			return -EPROTONOSUPPORT;
	}
	r->type = type;
	return 0;
}

void eth_emit(const struct eth_repr *r, uint8_t *buf)
{
	memcpy(buf, r->dst, ETH_ALEN);
	memcpy(buf + ETH_ALEN, r->src, ETH_ALEN);
	wr_be16(buf + 12, r->type);
}
