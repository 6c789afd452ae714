#ifndef US_WIRE_ARP_H
#define US_WIRE_ARP_H
#include <stddef.h>
#include <stdint.h>

#define ARP_LEN 28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

/* Ethernet/IPv4 ARP only. Addresses in host byte order. */
struct arp_repr {
	uint16_t op;
	uint8_t sha[6];
	uint32_t spa;
	uint8_t tha[6];
	uint32_t tpa;
};
/* 0, or -EINVAL: shorter than 28, htype != 1, ptype != 0x0800, hlen != 6,
 * plen != 4, op not 1 or 2. Trailing bytes (Ethernet padding) are ignored. */
int arp_parse(const uint8_t *buf, size_t len, struct arp_repr *r);
void arp_emit(const struct arp_repr *r, uint8_t *buf); /* writes ARP_LEN bytes */
#endif
