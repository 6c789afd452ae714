#ifndef US_WIRE_ETH_H
#define US_WIRE_ETH_H
#include <stddef.h>
#include <stdint.h>

#define ETH_HDR_LEN 14
#define ETH_ALEN 6
#define ETH_P_IPV4 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_VLAN 0x8100
#define ETH_P_QINQ 0x88A8
#define ETH_P_IPV6 0x86DD

struct eth_repr {
	uint8_t dst[ETH_ALEN];
	uint8_t src[ETH_ALEN];
	uint16_t type;      /* inner EtherType after any 802.1Q tag */
	uint16_t vlan_tci;  /* valid if has_vlan */
	uint8_t has_vlan;
	uint16_t hdr_len;   /* 14, or 18 with one tag */
};

/* 0 on success; -EINVAL if shorter than the header (or its tag);
 * -EPROTONOSUPPORT for an 802.3 length field (type < 0x600) or stacked tags. */
int eth_parse(const uint8_t *buf, size_t len, struct eth_repr *r);
/* Writes a 14-byte untagged header. */
void eth_emit(const struct eth_repr *r, uint8_t *buf);
static inline int eth_is_bcast(const uint8_t *a) { return (a[0] & a[1] & a[2] & a[3] & a[4] & a[5]) == 0xff; }
static inline int eth_is_mcast(const uint8_t *a) { return a[0] & 1; }
#endif
