/* Unit tests for the IPv6 codecs of wire/: ipv6 (fixed header and
 * addresses), ip6ext (extension headers, option TLVs, the chain walker),
 * icmp6, nd6 and the v6 pseudo-header sum of csum.
 *
 * The cap_* frames are real kernel packets: fuzz/capture_v6.sh recorded
 * them with tshark on a veth between Linux 6.18 namespaces, checksum
 * offload off on every veth, so every checksum is the one Linux computed.
 * The comments give the frame numbers in that capture (not kept: *.pcap
 * is ignored; the fuzz seeds in fuzz/corpus/{ipv6,ip6ext,icmp6,nd6} came
 * from the same one), the arrays are `fuzz/split_pcap6.py CAPTURE --c N`
 * (addresses and MACs differ from run to run). Frames marked scapy
 * were made by scapy to see what the kernel answers; the answers are the
 * kernel's own. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/bytes.h"
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/icmp6.h"
#include "wire/ip6ext.h"
#include "wire/ipv6.h"
#include "wire/mld6.h"
#include "wire/nd6.h"
#include "wire/tcp.h"

/* 11: RS from fe80::28ce:8fff:fe18:3c67 (MAC 2a:ce:8f:18:3c:67) to ff02::2, SLLAO */
static const uint8_t cap_rs[] = {
	0x33, 0x33, 0x00, 0x00, 0x00, 0x02, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00,
	0x00, 0x10, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0xce, 0x8f, 0xff, 0xfe, 0x18,
	0x3c, 0x67, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x85, 0x00, 0x92, 0x92, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67,
};

/* 17: radvd's RA to that RS: hop limit 64, lifetime 30 s, PIO fd00:a::/64 LA
 * 86400/14400 s, MTU 1500, SLLAO 3a:88:ef:bb:8d:3f */
static const uint8_t cap_ra[] = {
	0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x86, 0xdd, 0x60, 0x0e, 0x7f,
	0xde, 0x00, 0x40, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x38, 0x88, 0xef, 0xff,
	0xfe, 0xbb, 0x8d, 0x3f, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0xce, 0x8f, 0xff, 0xfe,
	0x18, 0x3c, 0x67, 0x86, 0x00, 0x06, 0xa1, 0x40, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x03, 0x04, 0x40, 0xc0, 0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x38, 0x40, 0x00, 0x00, 0x00,
	0x00, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc, 0x01, 0x01, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f,
};

/* 3: DAD NS for fd00:a::1 from :: to ff02::1:ff00:1 with a nonce option */
static const uint8_t cap_ns_dad[] = {
	0x33, 0x33, 0xff, 0x00, 0x00, 0x01, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00,
	0x00, 0x20, 0x3a, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x01,
	0x87, 0x00, 0xaa, 0xd0, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0e, 0x01, 0x96, 0x0d, 0x65, 0xcd, 0xc8, 0xe6,
};

/* 20: NS for fd00:a::2 from fd00:a::3 to its solicited-node group, SLLAO */
static const uint8_t cap_ns[] = {
	0x33, 0x33, 0xff, 0x00, 0x00, 0x02, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00,
	0x00, 0x20, 0x3a, 0xff, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x02,
	0x87, 0x00, 0x89, 0x34, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67,
};

/* 21: the solicited NA (R, S, O) for fd00:a::2 with TLLAO */
static const uint8_t cap_na[] = {
	0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00,
	0x00, 0x20, 0x3a, 0xff, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x02, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	0x88, 0x00, 0xe6, 0xf7, 0xe0, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x01, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f,
};

/* 54: a solicited NA (S) to a unicast NS, no options */
static const uint8_t cap_na_noopt[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00,
	0x00, 0x00, 0x00, 0x18, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0xce,
	0x8f, 0xff, 0xfe, 0x18, 0x3c, 0x67, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x38, 0x88,
	0xef, 0xff, 0xfe, 0xbb, 0x8d, 0x3f, 0x88, 0x00, 0xa1, 0x0a, 0x40, 0x00, 0x00, 0x00, 0xfe, 0x80,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0xce, 0x8f, 0xff, 0xfe, 0x18, 0x3c, 0x67,
};

/* 87: an unsolicited NA (O) for fd00:a::4 to ff02::1 with TLLAO (ndisc_notify) */
static const uint8_t cap_na_unsol[] = {
	0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00,
	0x00, 0x20, 0x3a, 0xff, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x04, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x88, 0x00, 0x66, 0x34, 0x20, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x02, 0x01, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67,
};

/* 80: a unicast NUD probe NS for fd00:a::2 from a link-local, SLLAO */
static const uint8_t cap_ns_nud[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00,
	0x00, 0x20, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0xce, 0x8f, 0xff, 0xfe, 0x18,
	0x3c, 0x67, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x87, 0x00, 0x95, 0x6d, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67,
};

/* 13: MLDv2 report to ff02::16, hop limit 1, hop-by-hop router alert (MLD) + PadN */
static const uint8_t cap_mld2[] = {
	0x33, 0x33, 0x00, 0x00, 0x00, 0x16, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x86, 0xdd, 0x60, 0x00, 0x00,
	0x00, 0x00, 0x74, 0x00, 0x01, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x38, 0x88, 0xef, 0xff,
	0xfe, 0xbb, 0x8d, 0x3f, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x16, 0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00, 0x8f, 0x00, 0x24, 0x1e, 0x00, 0x00,
	0x00, 0x05, 0x04, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0xff, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01, 0xff, 0xbb, 0x8d, 0x3f, 0x04, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x02, 0x04, 0x00, 0x00, 0x00, 0xff, 0x05,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x04, 0x00, 0x00,
	0x00, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
};

/* 22: ping -6 fd00:a::2, 56 bytes, id 0x5114 seq 1 */
static const uint8_t cap_ping[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x0d, 0x7a,
	0xfc, 0x00, 0x40, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x02, 0x80, 0x00, 0x5a, 0xa5, 0x51, 0x14, 0x00, 0x01, 0x4e, 0x9e, 0x0f, 0x6b, 0x00, 0x00,
	0x00, 0x00, 0xb4, 0xd3, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
	0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

/* 26: ping -6 -s 0: an 8-byte echo request */
static const uint8_t cap_ping0[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x0d,
	0x7a, 0xfc, 0x00, 0x08, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x80, 0x00, 0x34, 0x8a, 0x51, 0x17, 0x00, 0x01,
};

/* 30: ping -s 3000: first fragment (offset 0, M, id 0xf5da7011), 1448 bytes */
static const uint8_t cap_frag1[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x0d, 0x7a, 0xfc,
	0x05, 0xb0, 0x2c, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x3a, 0x00, 0x00, 0x01, 0xf5, 0xda, 0x70, 0x11, 0x80, 0x00, 0x0b, 0xe7, 0x51, 0x19, 0x00, 0x01, 0x4e, 0x9e,
	0x0f, 0x6b, 0x00, 0x00, 0x00, 0x00, 0xd3, 0x31, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13,
	0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
	0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
	0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
	0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b,
	0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
	0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
	0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91,
	0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3,
	0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
	0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
	0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9,
	0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb,
	0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
	0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21,
	0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,
	0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45,
	0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
	0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
	0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b,
	0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d,
	0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1,
	0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3,
	0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5,
	0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
	0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
	0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41,
	0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53,
	0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65,
	0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
	0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
	0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b,
	0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
	0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
	0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1,
	0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3,
	0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5,
	0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
	0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
	0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
	0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
	0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61,
	0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73,
	0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85,
	0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
	0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb,
	0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd,
	0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
	0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1,
	0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03,
	0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
	0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b,
	0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d,
	0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
	0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81,
	0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93,
	0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
	0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
	0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9,
	0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb,
	0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed,
	0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
	0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23,
	0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
	0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
	0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
	0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d,
	0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
	0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
};

/* 32: its last fragment (offset 2896, no M), the rest of the echo */
static const uint8_t cap_frag3[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x0d, 0x7a, 0xfc,
	0x00, 0x78, 0x2c, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x3a, 0x00, 0x0b, 0x50, 0xf5, 0xda, 0x70, 0x11, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51,
	0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63,
	0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75,
	0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
	0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
	0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
	0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
};

/* 37: Packet Too Big from the router, MTU 1280, quoting 1232 bytes of a
 * 1400-byte ping to fd00:b::2 */
static const uint8_t cap_ptb[] = {
	0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x86, 0xdd, 0x60, 0x0f, 0x09, 0x41,
	0x04, 0xd8, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x02, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	0x02, 0x00, 0xb8, 0xe5, 0x00, 0x00, 0x05, 0x00, 0x60, 0x00, 0x80, 0x2b, 0x05, 0x80, 0x3a, 0x40, 0xfd, 0x00,
	0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0b,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x80, 0x00, 0xd7, 0x7f, 0x51, 0x1a,
	0x00, 0x01, 0x4e, 0x9e, 0x0f, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x82, 0x68, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21,
	0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,
	0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45,
	0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
	0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
	0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b,
	0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d,
	0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1,
	0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3,
	0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5,
	0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
	0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
	0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41,
	0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53,
	0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65,
	0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
	0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
	0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b,
	0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
	0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
	0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1,
	0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3,
	0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5,
	0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
	0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
	0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
	0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
	0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61,
	0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73,
	0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85,
	0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
	0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
	0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb,
	0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd,
	0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
	0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1,
	0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff, 0x00, 0x01, 0x02, 0x03,
	0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
	0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b,
	0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d,
	0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
	0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0x80, 0x81,
	0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93,
	0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
	0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
	0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9,
	0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb,
	0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed,
	0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
	0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23,
	0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
	0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
	0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
	0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d,
	0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
	0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
};

/* 39: Time Exceeded (hop limit) quoting a ping with hop limit 1 */
static const uint8_t cap_te[] = {
	0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x86, 0xdd, 0x60, 0x05, 0x7b,
	0x10, 0x00, 0x70, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x03, 0x03, 0x00, 0xe8, 0x47, 0x00, 0x00, 0x00, 0x00, 0x60, 0x00, 0x80, 0x2b, 0x00, 0x40,
	0x3a, 0x01, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x03, 0xfd, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x80, 0x00, 0x71, 0xfd, 0x51, 0x1b, 0x00, 0x01, 0x4e, 0x9e, 0x0f, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x99,
	0x73, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
	0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
	0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

/* 42: a redirect from the router: target fe80::28ce:8fff:fe18:3c67, destination
 * fd00:c::1, TLLAO and the redirected header */
static const uint8_t cap_redirect[] = {
	0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00,
	0x00, 0xa0, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x38, 0x88, 0xef, 0xff, 0xfe, 0xbb,
	0x8d, 0x3f, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	0x89, 0x00, 0x79, 0xf4, 0x00, 0x00, 0x00, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0xce,
	0x8f, 0xff, 0xfe, 0x18, 0x3c, 0x67, 0xfd, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x02, 0x01, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x04, 0x0e, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x60, 0x0f, 0xc6, 0xce, 0x00, 0x40, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x80, 0x00, 0x26, 0x0f, 0x51, 0x27, 0x00, 0x01, 0x50, 0x9e, 0x0f, 0x6b,
	0x00, 0x00, 0x00, 0x00, 0xef, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

/* 45: TCP SYN fd00:a::3 port 41098 -> fd00:b::2 port 8080, MSS 1220, SACK-permitted,
 * timestamps, window scale 10 */
static const uint8_t cap_syn[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x0b,
	0x04, 0xf7, 0x00, 0x28, 0x06, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xa0, 0x8a, 0x1f, 0x90, 0xf5, 0x36, 0x9e, 0x2c, 0x00, 0x00,
	0x00, 0x00, 0xa0, 0x02, 0xfc, 0x94, 0xfe, 0x5d, 0x00, 0x00, 0x02, 0x04, 0x04, 0xc4, 0x04, 0x02,
	0x08, 0x0a, 0x23, 0x3d, 0xdd, 0x23, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};

/* 57: UDP fd00:a::3 port 47058 -> fd00:a::2 port 9999, 2 bytes */
static const uint8_t cap_udp[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x04,
	0x27, 0xfd, 0x00, 0x0a, 0x11, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xb7, 0xd2, 0x27, 0x0f, 0x00, 0x0a, 0xae, 0xd3, 0x78, 0x0a,
};

/* 58: its port unreachable (type 1 code 4) */
static const uint8_t cap_port_unreach[] = {
	0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x86, 0xdd, 0x60, 0x00,
	0x4b, 0xca, 0x00, 0x3a, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 0x04, 0x6b, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x60, 0x04,
	0x27, 0xfd, 0x00, 0x0a, 0x11, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xb7, 0xd2, 0x27, 0x0f, 0x00, 0x0a, 0xae, 0xd3, 0x78, 0x0a,
};

/* 61 (scapy): destination options with option 0x8f (action 10), echo request */
static const uint8_t cap_opt10[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00,
	0x00, 0x10, 0x3c, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x3a, 0x00, 0x8f, 0x04, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x85, 0x2a, 0x00, 0x77, 0x00, 0x01,
};

/* 62: the kernel's answer to it: Parameter Problem code 2, pointer 42 */
static const uint8_t cap_pp_opt[] = {
	0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x86, 0xdd, 0x60, 0x08, 0x1e,
	0x48, 0x00, 0x40, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x03, 0x04, 0x02, 0x9c, 0x2b, 0x00, 0x00, 0x00, 0x2a, 0x60, 0x00, 0x00, 0x00, 0x00, 0x10,
	0x3c, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x3a, 0x00, 0x8f, 0x04, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x85, 0x2a, 0x00, 0x77, 0x00, 0x01,
};

/* 63 (scapy): routing header type 0 with one segment left */
static const uint8_t cap_rh0[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00,
	0x00, 0x20, 0x2b, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x3a, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x80, 0x00, 0x85, 0x2a, 0x00, 0x77, 0x00, 0x02,
};

/* 64: Parameter Problem code 0, pointer 42 (the type byte) */
static const uint8_t cap_pp_rh0[] = {
	0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x86, 0xdd, 0x60, 0x02, 0x70,
	0x84, 0x00, 0x50, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x03, 0x04, 0x00, 0x3f, 0x02, 0x00, 0x00, 0x00, 0x2a, 0x60, 0x00, 0x00, 0x00, 0x00, 0x20,
	0x2b, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x3a, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x80, 0x00, 0x85, 0x2a, 0x00, 0x77, 0x00, 0x02,
};

/* 65 (scapy): next header 253 */
static const uint8_t cap_nh253[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00,
	0x00, 0x10, 0xfd, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* 66: Parameter Problem code 1, pointer 6 */
static const uint8_t cap_pp_nh[] = {
	0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x86, 0xdd, 0x60, 0x03, 0xb8,
	0x0e, 0x00, 0x40, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x03, 0x04, 0x01, 0xa9, 0xf7, 0x00, 0x00, 0x00, 0x06, 0x60, 0x00, 0x00, 0x00, 0x00, 0x10,
	0xfd, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* 67 (scapy): destination options, then hop-by-hop */
static const uint8_t cap_hbh_late[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00,
	0x00, 0x00, 0x00, 0x18, 0x3c, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x00,
	0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x85, 0x28, 0x00, 0x77, 0x00, 0x03,
};

/* 68: Parameter Problem code 1, pointer 40 */
static const uint8_t cap_pp_hbh[] = {
	0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x86, 0xdd, 0x60, 0x03, 0xb8, 0x0e,
	0x00, 0x48, 0x3a, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x02, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
	0x04, 0x01, 0x29, 0x1b, 0x00, 0x00, 0x00, 0x28, 0x60, 0x00, 0x00, 0x00, 0x00, 0x18, 0x3c, 0x40, 0xfd, 0x00,
	0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00,
	0x00, 0x00, 0x3a, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x85, 0x28, 0x00, 0x77, 0x00, 0x03,
};

/* 69 (scapy): destination options of 14 padding bytes (two PadN): the kernel
 * dropped it without an answer */
static const uint8_t cap_pad14[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00,
	0x00, 0x00, 0x00, 0x18, 0x3c, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3a, 0x01, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x06,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x85, 0x27, 0x00, 0x77, 0x00, 0x04,
};

/* 70 (scapy): a PadN with a non-zero byte: dropped by the kernel too */
static const uint8_t cap_padn_nz[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00,
	0x00, 0x10, 0x3c, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x3a, 0x00, 0x01, 0x04, 0x00, 0x01, 0x00, 0x00, 0x80, 0x00, 0x85, 0x24, 0x00, 0x77, 0x00, 0x07,
};

/* 71 (scapy): hop-by-hop (router alert) and destination options: answered */
static const uint8_t cap_hbh_dst[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00,
	0x00, 0x00, 0x00, 0x18, 0x00, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3c, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00, 0x3a, 0x00,
	0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x85, 0x26, 0x00, 0x77, 0x00, 0x05,
};

/* 73 (scapy): an atomic fragment (offset 0, no M) echo request: answered */
static const uint8_t cap_atomic[] = {
	0x3a, 0x88, 0xef, 0xbb, 0x8d, 0x3f, 0x2a, 0xce, 0x8f, 0x18, 0x3c, 0x67, 0x86, 0xdd, 0x60, 0x00,
	0x00, 0x00, 0x00, 0x16, 0x2c, 0x40, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfd, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x3a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x80, 0x00,
	0x4a, 0xda, 0x00, 0x77, 0x00, 0x06, 0x61, 0x74, 0x6f, 0x6d, 0x69, 0x63,
};

/* ---- helpers ---- */

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so failures replay. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}
static void rnd_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* RFC 1071 by its definition: big-endian byte pairs, folded. */
static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t init)
{
	uint64_t s = init;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint32_t)s;
}

static struct ip6_addr A6(const char *hex32) {
	/* 32 hex digits, no separators: explicit, and no inet_pton in wire tests. */
	struct ip6_addr a;
	for (int i = 0; i < 16; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex32 + 2 * i, "%2x", &v), 1);
		a.b[i] = (uint8_t)v;
	}
	return a;
}
#define FRAME(x)                \
	{                       \
		x, sizeof x, #x \
	}
struct frame {
	const uint8_t *p;
	size_t n;
	const char *name;
};

/* A captured frame opened as the receive path will: Ethernet, the fixed
 * header (padding trimmed), the extension header walk. */
struct v6pkt {
	const uint8_t *ip;
	size_t len; /* 40 + payload length */
	struct ipv6_repr h;
	struct ip6_ext_walk w;
	int walk_rc;
	const uint8_t *l4; /* where the walk ended */
	size_t l4_len;
};

static void open_frame(const uint8_t *f, size_t n, struct v6pkt *p)
{
	struct eth_repr e;
	memset(p, 0, sizeof *p);
	assert_int_equal(eth_parse(f, n, &e), 0);
	assert_int_equal(e.type, ETH_P_IPV6);
	p->ip = f + e.hdr_len;
	assert_int_equal(ipv6_parse(p->ip, n - e.hdr_len, &p->h), 0);
	p->len = IPV6_HDR_LEN + p->h.payload_len;
	assert_true(p->len <= n - e.hdr_len);
	p->walk_rc = ip6_ext_walk(p->ip, p->len, &p->w);
	if (p->walk_rc == 0) {
		p->l4 = p->ip + p->w.off;
		p->l4_len = p->len - p->w.off;
	}
}

/* The ICMPv6 message of a captured frame, checksum verified. */
static void open_icmp(const uint8_t *f, size_t n, struct v6pkt *p, struct icmp6_repr *ic)
{
	open_frame(f, n, p);
	assert_int_equal(p->walk_rc, 0);
	assert_int_equal(p->w.end, IP6_END_UPPER);
	assert_int_equal(p->w.proto, IP6_NH_ICMPV6);
	assert_int_equal(icmp6_parse(p->l4, p->l4_len, &p->h.src, &p->h.dst, ic, 1), 0);
}

/* An IPv6 packet: fixed header with next header nh, then the ext bytes
 * (extension headers as given), then plen_extra bytes of zeros. Returns
 * its length. */
static size_t mk6(uint8_t *buf, uint8_t nh, const uint8_t *ext, size_t ext_len, size_t extra)
{
	struct ipv6_repr h;
	memset(&h, 0, sizeof h);
	h.src = A6("fd00000a000000000000000000000003");
	h.dst = A6("fd00000a000000000000000000000002");
	h.next_hdr = nh;
	h.hop_limit = 64;
	h.payload_len = (uint16_t)(ext_len + extra);
	ipv6_emit(&h, buf);
	if (ext_len)
		memcpy(buf + IPV6_HDR_LEN, ext, ext_len);
	memset(buf + IPV6_HDR_LEN + ext_len, 0, extra);
	return IPV6_HDR_LEN + ext_len + extra;
}

/* ---- ipv6: fixed header ---- */

static const struct frame all_frames[] = {
	FRAME(cap_rs),       FRAME(cap_ra),       FRAME(cap_ns_dad), FRAME(cap_ns),           FRAME(cap_na),
	FRAME(cap_na_noopt), FRAME(cap_na_unsol), FRAME(cap_ns_nud), FRAME(cap_mld2),         FRAME(cap_ping),
	FRAME(cap_ping0),    FRAME(cap_frag1),    FRAME(cap_frag3),  FRAME(cap_ptb),          FRAME(cap_te),
	FRAME(cap_redirect), FRAME(cap_syn),      FRAME(cap_udp),    FRAME(cap_port_unreach), FRAME(cap_opt10),
	FRAME(cap_pp_opt),   FRAME(cap_rh0),      FRAME(cap_pp_rh0), FRAME(cap_nh253),        FRAME(cap_pp_nh),
	FRAME(cap_hbh_late), FRAME(cap_pp_hbh),   FRAME(cap_pad14),  FRAME(cap_padn_nz),      FRAME(cap_hbh_dst),
	FRAME(cap_atomic),
};

static void test_ipv6_captured(void **s)
{
	(void)s;
	for (size_t i = 0; i < US_ARRAY_LEN(all_frames); i++) {
		const struct frame *f = &all_frames[i];
		struct v6pkt p;
		open_frame(f->p, f->n, &p);
		/* veth frames carry no padding: the payload length is the rest. */
		if (p.len != f->n - ETH_HDR_LEN)
			fail_msg("%s: payload length %u, frame %zu", f->name, p.h.payload_len, f->n);
		/* The header re-emits byte for byte: every field is carried. */
		uint8_t out[IPV6_HDR_LEN + 4];
		memset(out, 0xEE, sizeof out);
		ipv6_emit(&p.h, out);
		assert_memory_equal(out, p.ip, IPV6_HDR_LEN);
		for (size_t j = IPV6_HDR_LEN; j < sizeof out; j++)
			assert_int_equal(out[j], 0xEE); /* exactly 40 bytes written */
	}
}

static void test_ipv6_fields(void **s)
{
	(void)s;
	struct v6pkt p;
	/* radvd's RA: 60 0e 7f de = version 6, traffic class 0, flow label 0xe7fde. */
	open_frame(cap_ra, sizeof cap_ra, &p);
	assert_int_equal(p.h.tclass, 0);
	assert_int_equal(p.h.flow, 0xe7fde);
	assert_int_equal(p.h.payload_len, 64);
	assert_int_equal(p.h.next_hdr, IP6_NH_ICMPV6);
	assert_int_equal(p.h.hop_limit, 255);
	struct ip6_addr src = A6("fe800000000000003888effffebb8d3f"), dst = A6("fe8000000000000028ce8ffffe183c67");
	assert_true(ip6_addr_eq(&p.h.src, &src));
	assert_true(ip6_addr_eq(&p.h.dst, &dst));

	/* Traffic class and flow label straddle the first word's nibbles. */
	struct ipv6_repr r, q;
	memset(&r, 0, sizeof r);
	r.tclass = 0xAB;
	r.flow = 0xFF12345; /* bits past 20 are not sent */
	r.payload_len = 0x1234;
	r.next_hdr = 17;
	r.hop_limit = 1;
	uint8_t b[IPV6_HDR_LEN + 0x1234];
	memset(b, 0, sizeof b);
	ipv6_emit(&r, b);
	static const uint8_t head[8] = {0x6A, 0xB1, 0x23, 0x45, 0x12, 0x34, 17, 1};
	assert_memory_equal(b, head, 8);
	assert_int_equal(ipv6_parse(b, sizeof b, &q), 0);
	assert_int_equal(q.tclass, 0xAB);
	assert_int_equal(q.flow, 0x12345);
	assert_int_equal(q.payload_len, 0x1234);
}

static void test_ipv6_lengths(void **s)
{
	(void)s;
	uint8_t b[200];
	struct ipv6_repr r;
	size_t n = mk6(b, IP6_NH_UDP, NULL, 0, 20);
	assert_int_equal(n, 60);
	assert_int_equal(ipv6_parse(b, n, &r), 0);
	/* Shorter than the fixed header: every length. */
	for (size_t l = 0; l < IPV6_HDR_LEN; l++)
		assert_int_equal(ipv6_parse(b, l, &r), -EINVAL);
	/* Any version but 6, checked before the length. */
	for (unsigned v = 0; v < 16; v++) {
		if (v == 6)
			continue;
		b[0] = (uint8_t)(v << 4);
		assert_int_equal(ipv6_parse(b, n, &r), -EINVAL);
		assert_int_equal(ipv6_parse(b, n - 1, &r), -EINVAL);
	}
	b[0] = 0x60;
	/* The payload length against the buffer: one byte short is truncated. */
	assert_int_equal(ipv6_parse(b, n - 1, &r), -EMSGSIZE);
	assert_int_equal(ipv6_parse(b, IPV6_HDR_LEN, &r), -EMSGSIZE);
	wr_be16(b + 4, 0xFFFF);
	assert_int_equal(ipv6_parse(b, sizeof b, &r), -EMSGSIZE);
	/* Link padding past the payload is left for the caller to trim. */
	wr_be16(b + 4, 20);
	assert_int_equal(ipv6_parse(b, sizeof b, &r), 0);
	assert_int_equal(r.payload_len, 20);
	/* Payload length 0: an empty packet, fine unless a hop-by-hop header
	 * follows, which makes it a jumbogram (not supported). */
	wr_be16(b + 4, 0);
	b[6] = IP6_NH_NONE;
	assert_int_equal(ipv6_parse(b, IPV6_HDR_LEN, &r), 0);
	assert_int_equal(r.payload_len, 0);
	b[6] = IP6_NH_HOPOPTS;
	assert_int_equal(ipv6_parse(b, IPV6_HDR_LEN, &r), -EOPNOTSUPP);
	assert_int_equal(ipv6_parse(b, sizeof b, &r), -EOPNOTSUPP);
	assert_int_equal(r.next_hdr, 0); /* nothing is left in the repr */
	assert_true(ip6_is_unspecified(&r.src));
	wr_be16(b + 4, 8); /* with a length, a hop-by-hop header is ordinary */
	assert_int_equal(ipv6_parse(b, 48, &r), 0);
	/* The head parse checks only the version and 40 bytes. */
	wr_be16(b + 4, 0xFFFF);
	assert_int_equal(ipv6_parse_head(b, IPV6_HDR_LEN, &r), 0);
	assert_int_equal(r.payload_len, 0xFFFF);
	assert_int_equal(ipv6_parse_head(b, IPV6_HDR_LEN - 1, &r), -EINVAL);
	b[0] = 0x40;
	assert_int_equal(ipv6_parse_head(b, IPV6_HDR_LEN, &r), -EINVAL);
}

static void test_ipv6_roundtrip(void **s)
{
	(void)s;
	static uint8_t buf[IPV6_HDR_LEN + IPV6_MAX_PAYLOAD];
	for (int i = 0; i < 2000; i++) {
		struct ipv6_repr a, b;
		memset(&a, 0, sizeof a);
		rnd_fill(a.src.b, 16);
		rnd_fill(a.dst.b, 16);
		a.tclass = (uint8_t)rnd();
		a.flow = (uint32_t)rnd() & 0xFFFFF;
		a.next_hdr = (uint8_t)rnd();
		a.hop_limit = (uint8_t)rnd();
		a.payload_len = (uint16_t)(i == 0 ? IPV6_MAX_PAYLOAD : rnd() % 1500);
		if (a.payload_len == 0 && a.next_hdr == 0)
			a.next_hdr = IP6_NH_NONE;
		ipv6_emit(&a, buf);
		assert_int_equal(ipv6_parse(buf, IPV6_HDR_LEN + (size_t)a.payload_len, &b), 0);
		assert_memory_equal(&a, &b, sizeof a);
	}
}

/* ---- ipv6: addresses ---- */

static void test_ip6_addr_classes(void **s)
{
	(void)s;
	static const struct {
		const char *a;
		int unspec, loop, mcast, ll, ula, v4m, allnodes, allrouters, sol;
		uint8_t scope;
	} t[] = {
		{"00000000000000000000000000000000", 1, 0, 0, 0, 0, 0, 0, 0, 0, IP6_SCOPE_GLOBAL},
		{"00000000000000000000000000000001", 0, 1, 0, 0, 0, 0, 0, 0, 0, IP6_SCOPE_LINK},
		{"ff020000000000000000000000000001", 0, 0, 1, 0, 0, 0, 1, 0, 0, IP6_SCOPE_LINK},
		{"ff020000000000000000000000000002", 0, 0, 1, 0, 0, 0, 0, 1, 0, IP6_SCOPE_LINK},
		{"ff010000000000000000000000000001", 0, 0, 1, 0, 0, 0, 0, 0, 0, IP6_SCOPE_IFACE},
		{"ff050000000000000000000000000002", 0, 0, 1, 0, 0, 0, 0, 0, 0, IP6_SCOPE_SITE},
		{"ff0e0000000000000000000000000101", 0, 0, 1, 0, 0, 0, 0, 0, 0, IP6_SCOPE_GLOBAL},
		{"ff3e0030200100000000000000000001", 0, 0, 1, 0, 0, 0, 0, 0, 0, IP6_SCOPE_GLOBAL},
		{"ff000000000000000000000000000001", 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, /* reserved scope 0 */
		{"ff0200000000000000000001ff000001", 0, 0, 1, 0, 0, 0, 0, 0, 1, IP6_SCOPE_LINK},
		{"ff0200000000000000000001fe000001", 0, 0, 1, 0, 0, 0, 0, 0, 0, IP6_SCOPE_LINK},
		{"ff0500000000000000000001ff000001", 0, 0, 1, 0, 0, 0, 0, 0, 0, IP6_SCOPE_SITE},
		{"fe800000000000000000000000000001", 0, 0, 0, 1, 0, 0, 0, 0, 0, IP6_SCOPE_LINK},
		{"febfffffffffffffffffffffffffffff", 0, 0, 0, 1, 0, 0, 0, 0, 0, IP6_SCOPE_LINK},
		{"fec00000000000000000000000000001", 0, 0, 0, 0, 0, 0, 0, 0, 0, IP6_SCOPE_GLOBAL},
		{"fe000000000000000000000000000001", 0, 0, 0, 0, 0, 0, 0, 0, 0, IP6_SCOPE_GLOBAL},
		{"fc000000000000000000000000000001", 0, 0, 0, 0, 1, 0, 0, 0, 0, IP6_SCOPE_GLOBAL},
		{"fd00000a000000000000000000000002", 0, 0, 0, 0, 1, 0, 0, 0, 0, IP6_SCOPE_GLOBAL},
		{"fb000000000000000000000000000001", 0, 0, 0, 0, 0, 0, 0, 0, 0, IP6_SCOPE_GLOBAL},
		{"00000000000000000000ffff0a010203", 0, 0, 0, 0, 0, 1, 0, 0, 0, IP6_SCOPE_GLOBAL},
		{"000000000000000000000000ffffffff", 0, 0, 0, 0, 0, 0, 0, 0, 0, IP6_SCOPE_GLOBAL}, /* v4-compatible */
		{"00000000000000000001ffff0a010203", 0, 0, 0, 0, 0, 0, 0, 0, 0, IP6_SCOPE_GLOBAL},
		{"20010db8000000000000000000000001", 0, 0, 0, 0, 0, 0, 0, 0, 0, IP6_SCOPE_GLOBAL},
	};
	for (size_t i = 0; i < US_ARRAY_LEN(t); i++) {
		struct ip6_addr a = A6(t[i].a);
		if (ip6_is_unspecified(&a) != t[i].unspec || ip6_is_loopback(&a) != t[i].loop ||
		    ip6_is_mcast(&a) != t[i].mcast || ip6_is_linklocal(&a) != t[i].ll || ip6_is_ula(&a) != t[i].ula ||
		    ip6_is_v4mapped(&a) != t[i].v4m || ip6_is_all_nodes(&a) != t[i].allnodes ||
		    ip6_is_all_routers(&a) != t[i].allrouters || ip6_is_solicited_node(&a) != t[i].sol ||
		    ip6_addr_scope(&a) != t[i].scope)
			fail_msg("%s: misclassified", t[i].a);
	}
	struct ip6_addr m = A6("ff3e0030200100000000000000000001");
	assert_int_equal(ip6_mcast_scope(&m), IP6_SCOPE_GLOBAL);
	assert_true(ip6_addr_eq(&ip6_any, &(struct ip6_addr){{0}}));
}

static void test_ip6_v4mapped(void **s)
{
	(void)s;
	struct ip6_addr a = ip6_v4mapped(0x0a010203);
	struct ip6_addr want = A6("00000000000000000000ffff0a010203");
	assert_true(ip6_addr_eq(&a, &want));
	assert_true(ip6_is_v4mapped(&a));
	assert_int_equal(ip6_v4mapped_get(&a), 0x0a010203);
	for (int i = 0; i < 100; i++) {
		uint32_t v = (uint32_t)rnd();
		a = ip6_v4mapped(v);
		assert_true(ip6_is_v4mapped(&a));
		assert_int_equal(ip6_v4mapped_get(&a), v);
	}
}

/* Linux's DAD probe goes to the target's solicited-node group, at the
 * Ethernet group address RFC 2464 maps it to. */
static void test_ip6_solicited_node(void **s)
{
	(void)s;
	const struct frame fs[] = {FRAME(cap_ns_dad), FRAME(cap_ns)};
	for (size_t i = 0; i < US_ARRAY_LEN(fs); i++) {
		struct v6pkt p;
		struct icmp6_repr ic;
		open_icmp(fs[i].p, fs[i].n, &p, &ic);
		struct ip6_addr target;
		memcpy(target.b, ic.payload, 16);
		struct ip6_addr g = ip6_solicited_node(&target);
		assert_true(ip6_addr_eq(&g, &p.h.dst));
		assert_true(ip6_is_solicited_node(&g));
		uint8_t mac[6];
		ip6_mcast_mac(&p.h.dst, mac);
		assert_memory_equal(mac, fs[i].p, 6);
	}
	struct ip6_addr a = A6("20010db8000000000000000012345678");
	struct ip6_addr g = ip6_solicited_node(&a), want = A6("ff0200000000000000000001ff345678");
	assert_true(ip6_addr_eq(&g, &want));
	uint8_t mac[6];
	ip6_mcast_mac(&ip6_all_nodes, mac);
	assert_memory_equal(mac, ((uint8_t[]){0x33, 0x33, 0, 0, 0, 1}), 6);
}

/* The kernel's link-local address is fe80:: and the modified EUI-64 of
 * the MAC it sends from. */
static void test_ip6_eui64(void **s)
{
	(void)s;
	const struct frame fs[] = {FRAME(cap_rs), FRAME(cap_ra), FRAME(cap_ns_nud)};
	for (size_t i = 0; i < US_ARRAY_LEN(fs); i++) {
		struct v6pkt p;
		open_frame(fs[i].p, fs[i].n, &p);
		assert_true(ip6_is_linklocal(&p.h.src));
		uint8_t iid[8];
		ip6_iid_eui64(fs[i].p + 6, iid);
		assert_memory_equal(iid, p.h.src.b + 8, 8);
	}
	uint8_t iid[8];
	ip6_iid_eui64((const uint8_t[]){0x00, 0x11, 0x22, 0x33, 0x44, 0x55}, iid);
	assert_memory_equal(iid, ((uint8_t[]){0x02, 0x11, 0x22, 0xFF, 0xFE, 0x33, 0x44, 0x55}), 8);
}

/* MLD queries by length (RFC 3810 8.1), the exponential codes (5.1.3,
 * 5.1.9) and the records of a report. */
static void test_mld6(void **s)
{
	(void)s;
	uint8_t body[16 + 4 + 32] = {0xff, 0x02, [15] = 1, [16] = 0x0a, [17] = 125, [19] = 2};
	struct icmp6_repr r = {.type = ICMP6_MLD_QUERY, .rest = 10000u << 16, .payload = body};
	struct mld_query q;
	r.payload_len = 16;
	assert_int_equal(mld_query_parse(&r, 24, &q), 0);
	assert_int_equal(q.version, 1);
	assert_int_equal(q.max_resp_ms, 10000);
	assert_int_equal(q.group.b[15], 1);
	r.payload_len = 18;
	assert_int_equal(mld_query_parse(&r, 26, &q), -EINVAL);   /* neither 24 nor >= 28 */
	r.payload_len = 20;
	assert_int_equal(mld_query_parse(&r, 28, &q), -EINVAL);   /* 2 sources, none there */
	r.payload_len = 52;
	assert_int_equal(mld_query_parse(&r, 60, &q), 0);
	assert_int_equal(q.version, 2);
	assert_int_equal(q.s_flag, 1);
	assert_int_equal(q.qrv, 2);
	assert_int_equal(q.qqi_s, 125);
	assert_int_equal(q.n_src, 2);
	assert_int_equal(mld_query_parse(&r, 61, &q), -EINVAL);   /* the length and the body disagree */
	r.type = ICMP6_MLD_REPORT;
	assert_int_equal(mld_query_parse(&r, 60, &q), -EINVAL);
	assert_int_equal(mld2_max_resp_ms(32767), 32767);
	assert_int_equal(mld2_max_resp_ms(0x8000), 0x1000u << 3);
	assert_int_equal(mld2_max_resp_ms(0xFFFF), 0x1FFFu << 10);
	assert_int_equal(mld2_qqi_s(127), 127);
	assert_int_equal(mld2_qqi_s(0x80), 0x10u << 3);
	assert_int_equal(mld2_qqi_s(0xFF), 0x1Fu << 10);
	uint8_t types[2] = {MLD2_CHANGE_TO_EXCLUDE, MLD2_MODE_IS_EXCLUDE}, out[40];
	struct ip6_addr g[2] = {{{0xff, 0x02, [11] = 1, [12] = 0xff, [15] = 7}}, {{0xff, 0x02, [15] = 0x42}}};
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(mld2_records_emit(types, g, 2, out), 40);
	assert_memory_equal(out, ((uint8_t[]){4, 0, 0, 0}), 4);
	assert_memory_equal(out + 4, g[0].b, 16);
	assert_memory_equal(out + 20, ((uint8_t[]){2, 0, 0, 0}), 4);
	assert_memory_equal(out + 24, g[1].b, 16);
}

/* RFC 5453's reserved identifiers, at and around each range's ends. */
static void test_ip6_iid_reserved(void **s)
{
	(void)s;
	static const struct {
		uint8_t iid[8];
		int reserved;
	} cases[] = {
		{{0, 0, 0, 0, 0, 0, 0, 0}, 1},
		{{0, 0, 0, 0, 0, 0, 0, 1}, 0},
		{{0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x00, 0x00}, 1},
		{{0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x52, 0x12}, 1},
		{{0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x52, 0x13}, 0},
		{{0x02, 0x00, 0x5e, 0xff, 0xfe, 0x01, 0x00, 0x00}, 0},
		{{0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 0},
		{{0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80}, 1},
		{{0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 1},
		{{0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff}, 0},
	};
	for (size_t i = 0; i < US_ARRAY_LEN(cases); i++)
		assert_int_equal(ip6_iid_reserved(cases[i].iid), cases[i].reserved);
}

static int ref_prefix_eq(const struct ip6_addr *a, const struct ip6_addr *b, unsigned plen)
{
	for (unsigned i = 0; i < plen && i < 128; i++)
		if (((a->b[i / 8] >> (7 - i % 8)) & 1) != ((b->b[i / 8] >> (7 - i % 8)) & 1))
			return 0;
	return 1;
}

static void test_ip6_prefix(void **s)
{
	(void)s;
	struct ip6_addr a = A6("fd00000a000000001234567890abcdef"), b = A6("fd00000a00000000ffffffffffffffff");
	assert_true(ip6_prefix_eq(&a, &b, 0));
	assert_true(ip6_prefix_eq(&a, &b, 64));
	assert_false(ip6_prefix_eq(&a, &b, 65));
	assert_false(ip6_prefix_eq(&a, &b, 128));
	assert_true(ip6_prefix_eq(&a, &a, 128));
	assert_true(ip6_prefix_eq(&a, &a, 1000));
	struct ip6_addr ll = A6("fe800000000000000000000000000001"), ll2 = A6("febf0000000000000000000000000001");
	assert_true(ip6_prefix_eq(&ll, &ll2, 10));
	assert_false(ip6_prefix_eq(&ll, &ll2, 11));
	struct ip6_addr p = ip6_prefix(&a, 64), want = A6("fd00000a000000000000000000000000");
	assert_true(ip6_addr_eq(&p, &want));
	p = ip6_prefix(&a, 70);
	want = A6("fd00000a000000001000000000000000");
	assert_true(ip6_addr_eq(&p, &want));
	p = ip6_prefix(&a, 0);
	assert_true(ip6_is_unspecified(&p));
	p = ip6_prefix(&a, 128);
	assert_true(ip6_addr_eq(&p, &a));
	p = ip6_prefix(&a, 200);
	assert_true(ip6_addr_eq(&p, &a));
	for (int i = 0; i < 20000; i++) {
		struct ip6_addr x, y;
		rnd_fill(x.b, 16);
		y = x;
		unsigned plen = (unsigned)(rnd() % 130);
		unsigned flip = (unsigned)(rnd() % 128);
		if (rnd() & 1)
			y.b[flip / 8] ^= (uint8_t)(0x80 >> (flip % 8));
		assert_int_equal(ip6_prefix_eq(&x, &y, plen), ref_prefix_eq(&x, &y, plen));
		struct ip6_addr m = ip6_prefix(&x, plen);
		assert_true(ip6_prefix_eq(&m, &x, plen));
		for (unsigned k = plen; k < 128; k++)
			assert_int_equal((m.b[k / 8] >> (7 - k % 8)) & 1, 0);
	}
}

/* ---- csum: the v6 pseudo-header ---- */

static uint32_t ref_pseudo6(const struct ip6_addr *src, const struct ip6_addr *dst, uint8_t nh, uint32_t len)
{
	/* RFC 8200 8.1's layout, summed as bytes. */
	uint8_t ph[40];
	memcpy(ph, src->b, 16);
	memcpy(ph + 16, dst->b, 16);
	wr_be32(ph + 32, len);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = nh;
	return ref_sum(ph, 40, 0);
}

static void test_csum_pseudo6(void **s)
{
	(void)s;
	for (int i = 0; i < 20000; i++) {
		struct ip6_addr a, b;
		rnd_fill(a.b, 16);
		rnd_fill(b.b, 16);
		if (i < 10)
			memset(a.b, 0xFF, 16), memset(b.b, 0xFF, 16);
		uint8_t nh = (uint8_t)rnd();
		uint32_t len = i % 3 == 0 ? (uint32_t)rnd() : (uint32_t)(rnd() % 65536);
		uint32_t got = csum_pseudo6(&a, &b, nh, len);
		/* Equal up to the end-around carry: compare folded. */
		assert_int_equal(csum_fold(got), (uint16_t)~ref_pseudo6(&a, &b, nh, len));
		/* And usable as a running sum with csum_partial. */
		uint8_t d[64];
		rnd_fill(d, sizeof d);
		assert_int_equal(csum_fold(csum_partial(d, sizeof d, got)),
				 (uint16_t)~ref_sum(d, sizeof d, ref_pseudo6(&a, &b, nh, len)));
	}
}

/* The kernel's TCP, UDP and ICMPv6 checksums verify over our pseudo-header,
 * and computing them afresh gives the kernel's values. */
static void test_csum_pseudo6_captured(void **s)
{
	(void)s;
	static const struct {
		const uint8_t *f;
		size_t n;
		uint8_t proto;
		size_t csum_at;
	} t[] = {
		{cap_syn, sizeof cap_syn, IP6_NH_TCP, 16},     {cap_udp, sizeof cap_udp, IP6_NH_UDP, 6},
		{cap_ping, sizeof cap_ping, IP6_NH_ICMPV6, 2}, {cap_mld2, sizeof cap_mld2, IP6_NH_ICMPV6, 2},
		{cap_ra, sizeof cap_ra, IP6_NH_ICMPV6, 2},     {cap_ptb, sizeof cap_ptb, IP6_NH_ICMPV6, 2},
	};
	for (size_t i = 0; i < US_ARRAY_LEN(t); i++) {
		struct v6pkt p;
		open_frame(t[i].f, t[i].n, &p);
		assert_int_equal(p.walk_rc, 0);
		assert_int_equal(p.w.proto, t[i].proto);
		uint32_t ph = csum_pseudo6(&p.h.src, &p.h.dst, t[i].proto, (uint32_t)p.l4_len);
		assert_int_equal(csum_fold(csum_partial(p.l4, p.l4_len, ph)), 0);
		uint8_t l4[1500];
		memcpy(l4, p.l4, p.l4_len);
		uint16_t want = rd_be16(l4 + t[i].csum_at);
		wr_be16(l4 + t[i].csum_at, 0);
		assert_int_equal(csum_fold(csum_partial(l4, p.l4_len, ph)), want);
		/* Any other address breaks it. */
		struct ip6_addr x = p.h.src;
		x.b[15] ^= 1;
		ph = csum_pseudo6(&x, &p.h.dst, t[i].proto, (uint32_t)p.l4_len);
		assert_int_not_equal(csum_fold(csum_partial(p.l4, p.l4_len, ph)), 0);
	}
	/* The SYN's options as tcp_parse sees them (checksum off: it takes v4 addresses). */
	struct v6pkt p;
	struct tcp_repr tr;
	open_frame(cap_syn, sizeof cap_syn, &p);
	assert_int_equal(tcp_parse(p.l4, p.l4_len, 0, 0, &tr, 0), 0);
	assert_int_equal(tr.sport, 41098);
	assert_int_equal(tr.dport, 8080);
	assert_int_equal(tr.flags, TCP_SYN);
	assert_true(tr.has_mss && tr.mss == 1220 && tr.sack_perm && tr.has_ts && tr.has_wscale && tr.wscale == 10);
}

/* ---- ip6ext: the walker on the kernel's packets ---- */

/* The pointer and code the kernel sent, against what the walker computes
 * on the packet the kernel answered. */
static void check_pp(const uint8_t *req, size_t req_n, const uint8_t *pp, size_t pp_n, uint8_t code)
{
	struct v6pkt q, a;
	struct icmp6_repr ic;
	open_icmp(pp, pp_n, &a, &ic);
	assert_int_equal(ic.type, ICMP6_PARAM_PROB);
	assert_int_equal(ic.code, code);
	open_frame(req, req_n, &q);
	assert_int_equal(q.walk_rc, 0);
	if (code == ICMP6_PP_NEXT_HEADER && q.w.end == IP6_END_UPPER) {
		/* an unknown upper layer: the pointer is at the field naming it */
		assert_int_equal(q.w.nh_off, icmp6_pointer(&ic));
	} else {
		assert_int_equal(q.w.end, IP6_END_PARAM);
		assert_int_equal(q.w.pp_code, code);
		assert_int_equal(q.w.pp_ptr, icmp6_pointer(&ic));
	}
	/* The kernel quoted the whole request. */
	assert_int_equal(ic.payload_len, q.len);
	assert_memory_equal(ic.payload, q.ip, q.len);
}

static void test_ip6ext_captured(void **s)
{
	(void)s;
	struct v6pkt p;
	/* MLDv2: hop-by-hop with router alert 0 and PadN, then ICMPv6. */
	open_frame(cap_mld2, sizeof cap_mld2, &p);
	assert_int_equal(p.walk_rc, 0);
	assert_int_equal(p.w.end, IP6_END_UPPER);
	assert_int_equal(p.w.proto, IP6_NH_ICMPV6);
	assert_int_equal(p.w.off, 48);
	assert_int_equal(p.w.nh_off, 40);
	assert_true(p.w.hbh && p.w.has_ra);
	assert_int_equal(p.w.ra, 0);
	assert_int_equal(p.w.n, 1);
	assert_int_equal(p.w.hdr[0].type, IP6_NH_HOPOPTS);
	assert_int_equal(p.w.hdr[0].off, 40);
	assert_int_equal(p.w.hdr[0].len, 8);
	assert_int_equal(p.w.n_unknown_opts, 0);

	/* The kernel's Parameter Problems, pointer for pointer. */
	check_pp(cap_opt10, sizeof cap_opt10, cap_pp_opt, sizeof cap_pp_opt, ICMP6_PP_OPTION);
	check_pp(cap_rh0, sizeof cap_rh0, cap_pp_rh0, sizeof cap_pp_rh0, ICMP6_PP_HEADER);
	check_pp(cap_nh253, sizeof cap_nh253, cap_pp_nh, sizeof cap_pp_nh, ICMP6_PP_NEXT_HEADER);
	check_pp(cap_hbh_late, sizeof cap_hbh_late, cap_pp_hbh, sizeof cap_pp_hbh, ICMP6_PP_NEXT_HEADER);
	open_frame(cap_opt10, sizeof cap_opt10, &p);
	assert_int_equal(p.w.opt_type, 0x8f);
	assert_int_equal(p.w.opt_act, IP6_OPT_ACT_PARAM);
	assert_int_equal(p.w.opt_off, 42);
	open_frame(cap_rh0, sizeof cap_rh0, &p);
	assert_true(p.w.rh0 && p.w.has_rt);
	assert_int_equal(p.w.rt_type, 0);
	assert_int_equal(p.w.rt_segs_left, 1);
	assert_int_equal(p.w.rt_off, 40);
	open_frame(cap_nh253, sizeof cap_nh253, &p);
	assert_int_equal(p.w.end, IP6_END_UPPER);
	assert_int_equal(p.w.proto, 253);
	assert_int_equal(p.w.n, 0);
	open_frame(cap_hbh_late, sizeof cap_hbh_late, &p);
	assert_int_equal(p.w.pp_ptr, 40);
	assert_false(p.w.hbh);
	assert_int_equal(p.w.n, 1); /* the destination options header before it */

	/* What the kernel dropped without a word, the walker refuses. */
	open_frame(cap_pad14, sizeof cap_pad14, &p);
	assert_int_equal(p.walk_rc, -EINVAL);
	assert_int_equal(p.w.err_off, 48); /* the PadN that makes 14 padding bytes */
	open_frame(cap_padn_nz, sizeof cap_padn_nz, &p);
	assert_int_equal(p.walk_rc, -EINVAL);
	assert_int_equal(p.w.err_off, 42);

	/* What it answered, the walker passes. */
	open_frame(cap_hbh_dst, sizeof cap_hbh_dst, &p);
	assert_int_equal(p.walk_rc, 0);
	assert_int_equal(p.w.end, IP6_END_UPPER);
	assert_int_equal(p.w.proto, IP6_NH_ICMPV6);
	assert_int_equal(p.w.n, 2);
	assert_true(p.w.hbh && p.w.has_ra);
	assert_int_equal(p.w.ext_len, 16);
	open_frame(cap_atomic, sizeof cap_atomic, &p);
	assert_int_equal(p.walk_rc, 0);
	assert_int_equal(p.w.end, IP6_END_UPPER);
	assert_int_equal(p.w.proto, IP6_NH_ICMPV6);
	assert_true(p.w.has_frag && ip6_frag_is_atomic(&p.w.frag));
	assert_int_equal(p.w.frag.id, 0x1234);
	assert_int_equal(p.w.frag_hdr_off, 40);

	/* ping -s 3000: the first fragment holds the whole chain; the last
	 * is data only. */
	open_frame(cap_frag1, sizeof cap_frag1, &p);
	assert_int_equal(p.walk_rc, 0);
	assert_int_equal(p.w.end, IP6_END_FRAG);
	assert_int_equal(p.w.proto, IP6_NH_FRAGMENT);
	assert_int_equal(p.w.off, 48);
	assert_int_equal(p.w.nh_off, 6);
	assert_int_equal(p.w.frag.next_hdr, IP6_NH_ICMPV6);
	assert_int_equal(p.w.frag.offset, 0);
	assert_int_equal(p.w.frag.m, 1);
	assert_int_equal(p.w.frag.id, 0xf5da7011);
	assert_int_equal(p.len - p.w.off, 1448);
	assert_int_equal(ip6_frag_chain_ok(p.ip, p.len, &p.w), 0);
	struct ip6_ext_walk w;
	assert_int_equal(ip6_ext_walk_from(p.ip, p.len, 40, p.ip[6], 6, IP6_WALK_SKIP, &w), 0);
	assert_int_equal(w.end, IP6_END_UPPER);
	assert_int_equal(w.proto, IP6_NH_ICMPV6);
	assert_int_equal(w.off, 48);
	assert_int_equal(p.ip[48], ICMP6_ECHO_REQUEST);
	open_frame(cap_frag3, sizeof cap_frag3, &p);
	assert_int_equal(p.w.end, IP6_END_FRAG);
	assert_int_equal(p.w.frag.offset, 2896);
	assert_int_equal(p.w.frag.m, 0);
	assert_int_equal(p.w.frag.id, 0xf5da7011);
	assert_int_equal(ip6_frag_chain_ok(p.ip, p.len, &p.w), -EINVAL); /* not a first fragment */
	assert_int_equal(ip6_ext_walk_from(p.ip, p.len, 40, p.ip[6], 6, IP6_WALK_SKIP, &w), 0);
	assert_int_equal(w.end, IP6_END_FRAG); /* skipping stops there too */
}

/* ---- ip6ext: option TLVs ---- */

/* Walk the options o[0..n) in a destination options (or hop-by-hop)
 * header of its own, after 40 bytes of fixed header. */
static int opts(uint8_t type, const uint8_t *o, size_t n, struct ip6_opts_res *r)
{
	static uint8_t pkt[40 + IP6_OPTS_HDR_MAX];
	assert_true((2 + n) % 8 == 0 && 2 + n <= IP6_OPTS_HDR_MAX);
	memset(pkt, 0xA5, sizeof pkt); /* what follows the header must not be read */
	pkt[40] = IP6_NH_NONE;
	pkt[41] = (uint8_t)((2 + n) / 8 - 1);
	memcpy(pkt + 42, o, n);
	return ip6_opts_walk(pkt, 40, 2 + n, type, r);
}

static void test_ip6_opts_padding(void **s)
{
	(void)s;
	struct ip6_opts_res r;
	uint8_t o[64];
	/* Six Pad1, or a PadN of six: fine. */
	memset(o, 0, 6);
	assert_int_equal(opts(IP6_NH_DSTOPTS, o, 6, &r), 0);
	assert_int_equal(r.n_opts, 0);
	static const uint8_t padn6[6] = {1, 4, 0, 0, 0, 0};
	assert_int_equal(opts(IP6_NH_DSTOPTS, padn6, 6, &r), 0);
	/* Seven padding bytes in a row are the most (RFC 4942 2.1.9.5). */
	/* 7 x Pad1, an unknown option (action 00, 2 bytes), 5 x Pad1 */
	static const uint8_t x[14] = {0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0};
	assert_int_equal(opts(IP6_NH_DSTOPTS, x, 14, &r), 0);
	assert_int_equal(r.n_opts, 1);
	assert_int_equal(r.n_unknown, 1);
	/* Eight in a row: refused, at the eighth byte. */
	static const uint8_t pad8[14] = {0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0};
	assert_int_equal(opts(IP6_NH_DSTOPTS, pad8, 14, &r), -EINVAL);
	assert_int_equal(r.err_off, 42 + 7);
	static const uint8_t padn_pad1[14] = {1, 5, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0};
	assert_int_equal(opts(IP6_NH_DSTOPTS, padn_pad1, 14, &r), -EINVAL);
	assert_int_equal(r.err_off, 42 + 7);
	static const uint8_t padn8[14] = {1, 6, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0};
	assert_int_equal(opts(IP6_NH_DSTOPTS, padn8, 14, &r), -EINVAL);
	assert_int_equal(r.err_off, 42);
	/* Padding is counted afresh after each option. */
	static const uint8_t apart[14] = {1, 4, 0, 0, 0, 0, 0x08, 0, 1, 4, 0, 0, 0, 0};
	assert_int_equal(opts(IP6_NH_DSTOPTS, apart, 14, &r), 0);
	/* A PadN byte that is not zero (RFC 4942 2.1.9.5). */
	for (int at = 2; at < 6; at++) {
		uint8_t y[6] = {1, 4, 0, 0, 0, 0};
		y[at] = 0x80;
		assert_int_equal(opts(IP6_NH_DSTOPTS, y, 6, &r), -EINVAL);
		assert_int_equal(r.err_off, 42);
	}
}

static void test_ip6_opts_tlv(void **s)
{
	(void)s;
	struct ip6_opts_res r;
	/* A length past the header's end, and a type with no length byte. */
	static const uint8_t past[6] = {0x08, 5, 0, 0, 0, 0};
	assert_int_equal(opts(IP6_NH_DSTOPTS, past, 6, &r), -EINVAL);
	assert_int_equal(r.err_off, 42);
	static const uint8_t lastbyte[6] = {1, 3, 0, 0, 0, 0x08};
	assert_int_equal(opts(IP6_NH_DSTOPTS, lastbyte, 6, &r), -EINVAL);
	assert_int_equal(r.err_off, 47);
	/* The same at the very end of the packet, in a buffer of its exact
	 * size: the length byte is never read from past it (ASan). */
	uint8_t *end = malloc(48);
	assert_non_null(end);
	mk6(end, IP6_NH_DSTOPTS, (const uint8_t[]){IP6_NH_NONE, 0, 1, 3, 0, 0, 0, 0x08}, 8, 0);
	assert_int_equal(ip6_opts_walk(end, 40, 8, IP6_NH_DSTOPTS, &r), -EINVAL);
	struct ip6_ext_walk w;
	assert_int_equal(ip6_ext_walk(end, 48, &w), -EINVAL);
	assert_int_equal(w.err_off, 47);
	free(end);
	static const uint8_t exact[6] = {0x08, 4, 9, 9, 9, 9};
	assert_int_equal(opts(IP6_NH_DSTOPTS, exact, 6, &r), 0);
	assert_int_equal(r.n_unknown, 1);
	/* The router alert: hop-by-hop only, value from its 2 bytes, length 2 only. */
	static const uint8_t ra[6] = {5, 2, 0x12, 0x34, 1, 0};
	assert_int_equal(opts(IP6_NH_HOPOPTS, ra, 6, &r), 0);
	assert_true(r.has_ra);
	assert_int_equal(r.ra, 0x1234);
	assert_int_equal(opts(IP6_NH_DSTOPTS, ra, 6, &r), 0);
	assert_false(r.has_ra);
	assert_int_equal(r.n_unknown, 1); /* type 5 means nothing there: action 00 */
	static const uint8_t ra3[6] = {5, 3, 0, 0, 0, 0};
	assert_int_equal(opts(IP6_NH_HOPOPTS, ra3, 6, &r), -EINVAL);
	static const uint8_t ra0[6] = {5, 0, 1, 2, 0, 0};
	assert_int_equal(opts(IP6_NH_HOPOPTS, ra0, 6, &r), -EINVAL);
	/* Unknown options by their two high bits. */
	for (unsigned act = 0; act < 4; act++) {
		uint8_t t = (uint8_t)(act << 6 | 0x1E);
		uint8_t o[14] = {1, 0, t, 2, 0, 0, 0x3E, 2, 0, 0, 0, 0, 0, 0};
		o[10] = 1; /* PadN of 4 to the end */
		o[11] = 2;
		assert_int_equal(opts(IP6_NH_DSTOPTS, o, 14, &r), 0);
		if (act == 0) {
			assert_false(r.act_found);
			assert_int_equal(r.n_unknown, 2);
		} else {
			assert_true(r.act_found);
			assert_int_equal(r.act, act);
			assert_int_equal(r.act_type, t);
			assert_int_equal(r.act_off, 44);
			assert_int_equal(r.n_unknown, 0); /* the walk stopped at it */
		}
	}
	/* The jumbo payload option is unknown to us: 11, Parameter Problem. */
	static const uint8_t jumbo[6] = {0xC2, 4, 0, 1, 0, 0};
	assert_int_equal(opts(IP6_NH_HOPOPTS, jumbo, 6, &r), 0);
	assert_true(r.act_found);
	assert_int_equal(r.act, IP6_OPT_ACT_PARAM_UCAST);
	/* Eight options are the most. */
	uint8_t many[22];
	for (int i = 0; i < 11; i++) {
		many[2 * i] = 0x08;
		many[2 * i + 1] = 0;
	}
	assert_int_equal(opts(IP6_NH_DSTOPTS, many, 14, &r), 0); /* 7 */
	assert_int_equal(r.n_opts, 7);
	uint8_t eight[22];
	memcpy(eight, many, 16);
	memset(eight + 16, 0, 6);
	eight[16] = 1, eight[17] = 4; /* PadN to 22 */
	assert_int_equal(opts(IP6_NH_DSTOPTS, eight, 22, &r), 0);
	assert_int_equal(r.n_opts, 8);
	assert_int_equal(opts(IP6_NH_DSTOPTS, many, 22, &r), -E2BIG); /* 11 */
	assert_int_equal(r.err_off, 42 + 16);
	assert_true(ip6_opt_may_change(0x20) && !ip6_opt_may_change(0xDF));
}

static void test_ip6_opts_hdr_emit(void **s)
{
	(void)s;
	uint8_t buf[IP6_OPTS_HDR_MAX + 16], o[IP6_OPTS_HDR_MAX];
	struct ip6_opts_res r;
	for (size_t n = 0; n <= 40; n++) {
		size_t hl = ip6_opts_hdr_len(n);
		assert_int_equal(hl % 8, 0);
		assert_true(hl >= 2 + n && hl < 2 + n + 8);
		/* n bytes of unknown skippable options (type 0x08, any length) */
		memset(o, 0, sizeof o);
		if (n >= 2) {
			o[0] = 0x08;
			o[1] = (uint8_t)(n - 2);
		} else if (n == 1) {
			o[0] = IP6_OPT_PAD1;
		}
		memset(buf, 0xEE, sizeof buf);
		ip6_opts_hdr_emit(IP6_NH_TCP, o, n, buf);
		assert_int_equal(buf[0], IP6_NH_TCP);
		assert_int_equal((buf[1] + 1) * 8, hl);
		assert_memory_equal(buf + 2, o, n);
		assert_int_equal(buf[hl], 0xEE); /* exactly hl bytes */
		assert_int_equal(ip6_opts_walk(buf, 0, hl, IP6_NH_DSTOPTS, &r), 0);
		assert_int_equal(r.n_unknown, n >= 2 ? 1 : 0);
	}
	/* Options already in place, and the router alert MLD uses. */
	ip6_opt_router_alert(buf + 2, 0);
	ip6_opts_hdr_emit(IP6_NH_ICMPV6, buf + 2, 4, buf);
	static const uint8_t mld_hbh[8] = {58, 0, 5, 2, 0, 0, 1, 0};
	assert_memory_equal(buf, mld_hbh, 8);
	struct v6pkt p;
	open_frame(cap_mld2, sizeof cap_mld2, &p);
	assert_memory_equal(p.ip + 40, mld_hbh, 8); /* what Linux sends */
	/* The longest header. */
	memset(o, 0, sizeof o);
	o[0] = 0x08;
	o[1] = 255;
	o[257] = 0x08;
	o[258] = 255;
	o[514] = 0x08;
	o[515] = 255;
	assert_int_equal(ip6_opts_hdr_len(2046), IP6_OPTS_HDR_MAX);
	ip6_opts_hdr_emit(IP6_NH_NONE, o, 2046, buf);
	assert_int_equal(buf[1], 255);
}

static void test_ip6_frag_hdr(void **s)
{
	(void)s;
	struct ip6_frag_repr a, b;
	uint8_t buf[16];
	for (size_t l = 0; l < 8; l++)
		assert_int_equal(ip6_frag_parse(buf, l, &a), -EINVAL);
	for (int i = 0; i < 1000; i++) {
		memset(&a, 0, sizeof a);
		a.next_hdr = (uint8_t)rnd();
		a.offset = (uint16_t)(rnd() & 0xFFF8);
		a.m = rnd() & 1;
		a.id = (uint32_t)rnd();
		memset(buf, 0xEE, sizeof buf);
		ip6_frag_emit(&a, buf);
		assert_int_equal(buf[1], 0);
		assert_int_equal(buf[3] & 6, 0); /* reserved bits */
		assert_int_equal(buf[8], 0xEE);
		assert_int_equal(ip6_frag_parse(buf, 8, &b), 0);
		assert_memory_equal(&a, &b, sizeof a);
	}
	/* Reserved fields are ignored on receipt. */
	static const uint8_t res[8] = {17, 0xFF, 0x00, 0x0F, 0, 0, 0, 9};
	assert_int_equal(ip6_frag_parse(res, 8, &a), 0);
	assert_int_equal(a.offset, 8);
	assert_int_equal(a.m, 1);
	assert_int_equal(a.id, 9);
	a.offset = 13; /* rounded down to a multiple of 8 */
	ip6_frag_emit(&a, buf);
	assert_int_equal(rd_be16(buf + 2), 8 | 1);
}

static void test_ip6_is_ext_hdr(void **s)
{
	(void)s;
	static const uint8_t ext[] = {0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254};
	int n = 0;
	for (unsigned v = 0; v < 256; v++)
		n += ip6_is_ext_hdr((uint8_t)v);
	assert_int_equal(n, (int)sizeof ext);
	for (size_t i = 0; i < sizeof ext; i++)
		assert_true(ip6_is_ext_hdr(ext[i]));
	assert_false(ip6_is_ext_hdr(IP6_NH_TCP));
	assert_false(ip6_is_ext_hdr(IP6_NH_ICMPV6));
	assert_false(ip6_is_ext_hdr(IP6_NH_NONE));
}

/* ---- ip6ext: the walker on built chains ---- */

/* An options header of n bytes (a multiple of 8) at p: next header nh,
 * then skippable unknown options (type 0x08) filling it. */
static size_t put_opts_hdr(uint8_t *p, uint8_t type, uint8_t nh, size_t n)
{
	(void)type;
	assert_true(n % 8 == 0 && n >= 8 && n <= IP6_OPTS_HDR_MAX);
	p[0] = nh;
	p[1] = (uint8_t)(n / 8 - 1);
	size_t i = 2;
	while (i < n) {
		size_t left = n - i;
		if (left == 1) {
			p[i++] = IP6_OPT_PAD1;
			continue;
		}
		size_t o = left > 257 ? 257 : left;
		if (left - o == 1)
			o--; /* leave 2, not 1 */
		p[i] = 0x08;
		p[i + 1] = (uint8_t)(o - 2);
		memset(p + i + 2, 0, o - 2);
		i += o;
	}
	return n;
}

static size_t put_rt(uint8_t *p, uint8_t nh, uint8_t type, uint8_t segs, size_t n)
{
	memset(p, 0, n);
	p[0] = nh;
	p[1] = (uint8_t)(n / 8 - 1);
	p[2] = type;
	p[3] = segs;
	return n;
}

static size_t put_frag(uint8_t *p, uint8_t nh, uint16_t off, int m, uint32_t id)
{
	struct ip6_frag_repr f = {.next_hdr = nh, .offset = off, .m = (uint8_t)m, .id = id};
	ip6_frag_emit(&f, p);
	return IP6_FRAG_HDR_LEN;
}

static void test_ip6_walk_chain(void **s)
{
	(void)s;
	uint8_t e[200], pkt[300];
	size_t n = 0;
	n += put_opts_hdr(e + n, IP6_NH_HOPOPTS, IP6_NH_DSTOPTS, 8);
	n += put_opts_hdr(e + n, IP6_NH_DSTOPTS, IP6_NH_ROUTING, 8);
	n += put_rt(e + n, IP6_NH_FRAGMENT, IP6_RT_SRH, 0, 24);
	n += put_frag(e + n, IP6_NH_DSTOPTS, 0, 0, 77);
	n += put_opts_hdr(e + n, IP6_NH_DSTOPTS, IP6_NH_TCP, 16);
	size_t len = mk6(pkt, IP6_NH_HOPOPTS, e, n, 20);
	struct ip6_ext_walk w;
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(w.end, IP6_END_UPPER);
	assert_int_equal(w.proto, IP6_NH_TCP);
	assert_int_equal(w.off, 40 + 64);
	assert_int_equal(w.nh_off, 40 + 48);
	assert_int_equal(w.n, 5);
	static const struct ip6_ext_hdr want[5] = {{IP6_NH_HOPOPTS, 40, 8},
						   {IP6_NH_DSTOPTS, 48, 8},
						   {IP6_NH_ROUTING, 56, 24},
						   {IP6_NH_FRAGMENT, 80, 8},
						   {IP6_NH_DSTOPTS, 88, 16}};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(w.hdr[i].type, want[i].type);
		assert_int_equal(w.hdr[i].off, want[i].off);
		assert_int_equal(w.hdr[i].len, want[i].len);
	}
	assert_int_equal(w.ext_len, 64);
	assert_true(w.hbh && !w.has_ra && !w.rh0);
	assert_true(w.has_rt && w.rt_type == IP6_RT_SRH && w.rt_segs_left == 0 && w.rt_off == 56);
	assert_true(w.has_frag && w.frag.id == 77 && w.frag_hdr_off == 80);
	assert_int_equal(w.n_unknown_opts, 3);
	/* Skipping finds the same end. */
	struct ip6_ext_walk k;
	assert_int_equal(ip6_ext_walk_from(pkt, len, 40, IP6_NH_HOPOPTS, 6, IP6_WALK_SKIP, &k), 0);
	assert_int_equal(k.end, IP6_END_UPPER);
	assert_int_equal(k.off, w.off);
	assert_int_equal(k.n, 5);
	assert_int_equal(k.n_unknown_opts, 0); /* options not walked */
}

static void test_ip6_walk_ends(void **s)
{
	(void)s;
	uint8_t pkt[200], e[64];
	struct ip6_ext_walk w;
	/* No extension headers: the upper layer at 40, named at 6. */
	static const uint8_t uppers[] = {
		IP6_NH_TCP, IP6_NH_UDP,   IP6_NH_ICMPV6, IP6_NH_NONE, IP6_NH_ESP, IP6_NH_AH, IP6_NH_MOBILITY,
		IP6_NH_HIP, IP6_NH_SHIM6, 253,           254,         4,          41};
	for (size_t i = 0; i < sizeof uppers; i++) {
		size_t len = mk6(pkt, uppers[i], NULL, 0, 24);
		/* AH and the others stay unwalked even when well-formed. */
		pkt[40] = IP6_NH_TCP;
		pkt[41] = 1;
		assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
		assert_int_equal(w.end, IP6_END_UPPER);
		assert_int_equal(w.proto, uppers[i]);
		assert_int_equal(w.off, 40);
		assert_int_equal(w.nh_off, 6);
		assert_int_equal(w.n, 0);
	}
	/* No Next Header after an options header: bytes after it are ignored. */
	size_t n = put_opts_hdr(e, IP6_NH_DSTOPTS, IP6_NH_NONE, 8);
	size_t len = mk6(pkt, IP6_NH_DSTOPTS, e, n, 13);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(w.proto, IP6_NH_NONE);
	assert_int_equal(w.off, 48);
	assert_int_equal(w.nh_off, 40);
	/* A fragment: the end of what one packet says. */
	n = put_frag(e, IP6_NH_UDP, 1448, 1, 0xABCDEF01);
	len = mk6(pkt, IP6_NH_FRAGMENT, e, n, 100);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(w.end, IP6_END_FRAG);
	assert_int_equal(w.proto, IP6_NH_FRAGMENT);
	assert_int_equal(w.off, 48);
	assert_int_equal(w.nh_off, 6);
	assert_int_equal(w.frag.offset, 1448);
	assert_int_equal(w.frag.m, 1);
	assert_int_equal(w.frag.next_hdr, IP6_NH_UDP);
	assert_int_equal(w.frag.id, 0xABCDEF01);
	/* Offset 0 without M is atomic (RFC 6946): walked through. */
	n = put_frag(e, IP6_NH_UDP, 0, 0, 5);
	len = mk6(pkt, IP6_NH_FRAGMENT, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(w.end, IP6_END_UPPER);
	assert_int_equal(w.proto, IP6_NH_UDP);
	assert_true(w.has_frag);
	/* A last fragment (offset > 0, no M) and a first one (offset 0, M). */
	n = put_frag(e, IP6_NH_UDP, 8, 0, 5);
	len = mk6(pkt, IP6_NH_FRAGMENT, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(w.end, IP6_END_FRAG);
	n = put_frag(e, IP6_NH_UDP, 0, 1, 5);
	len = mk6(pkt, IP6_NH_FRAGMENT, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(w.end, IP6_END_FRAG);
}

static void test_ip6_walk_hbh_first(void **s)
{
	(void)s;
	uint8_t pkt[200], e[64];
	struct ip6_ext_walk w;
	/* Hop-by-hop, hop-by-hop: the second is not first. */
	size_t n = put_opts_hdr(e, IP6_NH_HOPOPTS, IP6_NH_HOPOPTS, 8);
	n += put_opts_hdr(e + n, IP6_NH_HOPOPTS, IP6_NH_UDP, 8);
	size_t len = mk6(pkt, IP6_NH_HOPOPTS, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(w.end, IP6_END_PARAM);
	assert_int_equal(w.pp_code, ICMP6_PP_NEXT_HEADER);
	assert_int_equal(w.pp_ptr, 40);
	assert_true(w.hbh);
	assert_int_equal(w.n, 1);
	/* After a fragment header, resumed after reassembly: not first either. */
	n = put_frag(e, IP6_NH_HOPOPTS, 0, 1, 1);
	n += put_opts_hdr(e + n, IP6_NH_HOPOPTS, IP6_NH_UDP, 8);
	len = mk6(pkt, IP6_NH_FRAGMENT, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(w.end, IP6_END_FRAG);
	struct ip6_ext_walk r;
	assert_int_equal(ip6_ext_walk_from(pkt, len, w.off, w.frag.next_hdr, w.frag_hdr_off, 0, &r), 0);
	assert_int_equal(r.end, IP6_END_PARAM);
	assert_int_equal(r.pp_code, ICMP6_PP_NEXT_HEADER);
	assert_int_equal(r.pp_ptr, 40);
	/* Skipping lets it pass (a quoted packet is not ours to judge). */
	assert_int_equal(ip6_ext_walk_from(pkt, len, w.off, w.frag.next_hdr, w.frag_hdr_off, IP6_WALK_SKIP, &r), 0);
	assert_int_equal(r.end, IP6_END_UPPER);
	assert_int_equal(r.proto, IP6_NH_UDP);
}

static void test_ip6_walk_routing(void **s)
{
	(void)s;
	uint8_t pkt[200], e[64];
	struct ip6_ext_walk w;
	static const struct {
		uint8_t type, segs;
		int param;
	} t[] = {{IP6_RT_TYPE0, 0, 0}, {IP6_RT_TYPE0, 1, 1}, {IP6_RT_TYPE0, 255, 1},
		 {IP6_RT_TYPE2, 0, 0}, {IP6_RT_TYPE2, 1, 1}, {IP6_RT_SRH, 0, 0},
		 {IP6_RT_SRH, 2, 1},   {200, 0, 0},          {200, 9, 1}};
	for (size_t i = 0; i < US_ARRAY_LEN(t); i++) {
		size_t n = put_opts_hdr(e, IP6_NH_DSTOPTS, IP6_NH_ROUTING, 8);
		n += put_rt(e + n, IP6_NH_ICMPV6, t[i].type, t[i].segs, 24);
		size_t len = mk6(pkt, IP6_NH_DSTOPTS, e, n, 8);
		assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
		assert_int_equal(w.has_rt, 1);
		assert_int_equal(w.rt_off, 48);
		assert_int_equal(w.rt_type, t[i].type);
		assert_int_equal(w.rt_segs_left, t[i].segs);
		assert_int_equal(w.rh0, t[i].type == IP6_RT_TYPE0);
		if (t[i].param) {
			assert_int_equal(w.end, IP6_END_PARAM);
			assert_int_equal(w.pp_code, ICMP6_PP_HEADER);
			assert_int_equal(w.pp_ptr, 50); /* its type byte */
		} else {
			assert_int_equal(w.end, IP6_END_UPPER);
			assert_int_equal(w.proto, IP6_NH_ICMPV6);
			assert_int_equal(w.off, 72);
		}
		struct ip6_ext_walk k;
		assert_int_equal(ip6_ext_walk_from(pkt, len, 40, IP6_NH_DSTOPTS, 6, IP6_WALK_SKIP, &k), 0);
		assert_int_equal(k.end, IP6_END_UPPER);
		assert_int_equal(k.off, 72);
	}
}

static void test_ip6_walk_option_actions(void **s)
{
	(void)s;
	uint8_t pkt[200], e[64];
	struct ip6_ext_walk w;
	for (unsigned act = 0; act < 4; act++) {
		for (int hbh = 0; hbh < 2; hbh++) {
			uint8_t first = hbh ? IP6_NH_HOPOPTS : IP6_NH_DSTOPTS;
			/* an unknown option at 44 in the first header; the second
			 * header is cut short, so walking on past the option fails */
			size_t n = put_opts_hdr(e, first, IP6_NH_DSTOPTS, 8);
			e[2] = 0x08; /* skippable, 2 bytes */
			e[3] = 0;
			e[4] = (uint8_t)(act << 6 | 0x11);
			e[5] = 2;
			e[6] = e[7] = 0;
			e[n] = IP6_NH_UDP;
			e[n + 1] = 200; /* runs past the packet */
			size_t len = mk6(pkt, first, e, n + 2, 0);
			int rc = ip6_ext_walk(pkt, len, &w);
			if (act == IP6_OPT_ACT_SKIP) {
				assert_int_equal(rc, -EMSGSIZE);
				assert_int_equal(w.err_off, 48);
				assert_int_equal(w.n_unknown_opts, 2);
				continue;
			}
			assert_int_equal(rc, 0);
			assert_int_equal(w.opt_off, 44);
			assert_int_equal(w.opt_type, act << 6 | 0x11);
			assert_int_equal(w.opt_act, act);
			assert_int_equal(w.n, 1);
			if (act == IP6_OPT_ACT_DISCARD) {
				assert_int_equal(w.end, IP6_END_DISCARD);
			} else {
				assert_int_equal(w.end, IP6_END_PARAM);
				assert_int_equal(w.pp_code, ICMP6_PP_OPTION);
				assert_int_equal(w.pp_ptr, 44);
			}
		}
	}
	/* A malformed option area fails the walk with its offset. */
	size_t n = put_opts_hdr(e, IP6_NH_DSTOPTS, IP6_NH_UDP, 16);
	e[3] = 6; /* the first option ends at 10, where a bad one starts */
	e[10] = 0x08;
	e[11] = 100;
	size_t len = mk6(pkt, IP6_NH_DSTOPTS, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), -EINVAL);
	assert_int_equal(w.err_off, 50);
}

static void test_ip6_walk_caps(void **s)
{
	(void)s;
	static uint8_t pkt[40 + 4096], e[4096];
	struct ip6_ext_walk w;
	/* IP6_EXT_MAX_HDRS headers are fine, one more is not. */
	for (int k = 1; k <= IP6_EXT_MAX_HDRS + 1; k++) {
		size_t n = 0;
		for (int i = 0; i < k; i++)
			n += put_opts_hdr(e + n, IP6_NH_DSTOPTS, i == k - 1 ? IP6_NH_UDP : IP6_NH_DSTOPTS, 8);
		size_t len = mk6(pkt, IP6_NH_DSTOPTS, e, n, 8);
		int rc = ip6_ext_walk(pkt, len, &w);
		if (k <= IP6_EXT_MAX_HDRS) {
			assert_int_equal(rc, 0);
			assert_int_equal(w.n, k);
			assert_int_equal(w.proto, IP6_NH_UDP);
		} else {
			assert_int_equal(rc, -E2BIG);
			assert_int_equal(w.err_off, 40 + 8 * IP6_EXT_MAX_HDRS);
		}
	}
	/* Fifty destination options headers (bad-input-cases V2). */
	size_t n = 0;
	for (int i = 0; i < 50; i++)
		n += put_opts_hdr(e + n, IP6_NH_DSTOPTS, i == 49 ? IP6_NH_UDP : IP6_NH_DSTOPTS, 8);
	size_t len = mk6(pkt, IP6_NH_DSTOPTS, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), -E2BIG);
	assert_int_equal(w.n, IP6_EXT_MAX_HDRS);
	/* So are nine atomic fragment headers, each walked through. */
	n = 0;
	for (int i = 0; i < 9; i++)
		n += put_frag(e + n, i == 8 ? IP6_NH_UDP : IP6_NH_FRAGMENT, 0, 0, (uint32_t)i);
	len = mk6(pkt, IP6_NH_FRAGMENT, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), -E2BIG);
	/* Bytes: IP6_EXT_MAX_BYTES in all, however split. */
	n = put_opts_hdr(e, IP6_NH_DSTOPTS, IP6_NH_UDP, IP6_EXT_MAX_BYTES);
	len = mk6(pkt, IP6_NH_DSTOPTS, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(w.ext_len, IP6_EXT_MAX_BYTES);
	n = put_opts_hdr(e, IP6_NH_DSTOPTS, IP6_NH_DSTOPTS, IP6_EXT_MAX_BYTES - 8);
	n += put_opts_hdr(e + n, IP6_NH_DSTOPTS, IP6_NH_UDP, 8);
	len = mk6(pkt, IP6_NH_DSTOPTS, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	n = put_opts_hdr(e, IP6_NH_DSTOPTS, IP6_NH_DSTOPTS, IP6_EXT_MAX_BYTES);
	n += put_opts_hdr(e + n, IP6_NH_DSTOPTS, IP6_NH_UDP, 8);
	len = mk6(pkt, IP6_NH_DSTOPTS, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), -E2BIG);
	assert_int_equal(w.err_off, 40 + IP6_EXT_MAX_BYTES);
	n = put_opts_hdr(e, IP6_NH_DSTOPTS, IP6_NH_UDP, 2048);
	len = mk6(pkt, IP6_NH_DSTOPTS, e, n, 8);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), -E2BIG);
	assert_int_equal(w.err_off, 40);
}

static void test_ip6_walk_truncated(void **s)
{
	(void)s;
	uint8_t e[200], full[300];
	size_t n = 0;
	n += put_opts_hdr(e + n, IP6_NH_HOPOPTS, IP6_NH_ROUTING, 16);
	n += put_rt(e + n, IP6_NH_FRAGMENT, IP6_RT_SRH, 0, 8);
	n += put_frag(e + n, IP6_NH_DSTOPTS, 0, 0, 1);
	n += put_opts_hdr(e + n, IP6_NH_DSTOPTS, IP6_NH_TCP, 8);
	size_t len = mk6(full, IP6_NH_HOPOPTS, e, n, 20);
	const uint16_t starts[] = {40, 56, 64, 72, 80};
	/* Every cut, in a buffer of exactly that size (ASan sees any read past it). */
	for (size_t cut = 0; cut <= len; cut++) {
		uint8_t *b = malloc(cut ? cut : 1);
		assert_non_null(b);
		memcpy(b, full, cut);
		struct ip6_ext_walk w;
		int rc = ip6_ext_walk(b, cut, &w);
		if (cut < 40) {
			assert_int_equal(rc, -EMSGSIZE);
		} else if (cut >= 80) {
			assert_int_equal(rc, 0);
			assert_int_equal(w.proto, IP6_NH_TCP);
			assert_int_equal(w.off, 80);
		} else {
			assert_int_equal(rc, -EMSGSIZE);
			uint16_t at = 0;
			for (int i = 0; i < 4; i++)
				if (cut >= starts[i] && cut < starts[i + 1])
					at = starts[i];
			assert_int_equal(w.err_off, at);
		}
		free(b);
	}
}

static void test_ip6_walk_from_args(void **s)
{
	(void)s;
	uint8_t pkt[100], e[16];
	struct ip6_ext_walk w;
	size_t n = put_opts_hdr(e, IP6_NH_DSTOPTS, IP6_NH_UDP, 8);
	size_t len = mk6(pkt, IP6_NH_DSTOPTS, e, n, 8);
	assert_int_equal(ip6_ext_walk_from(pkt, len, len + 1, IP6_NH_UDP, 6, 0, &w), -EMSGSIZE);
	assert_int_equal(ip6_ext_walk_from(pkt, len, 40, IP6_NH_DSTOPTS, 41, 0, &w), -E2BIG);
	assert_int_equal(ip6_ext_walk_from(pkt, len, len, IP6_NH_UDP, 40, 0, &w), 0);
	assert_int_equal(w.off, len);
	assert_int_equal(ip6_ext_walk_from(pkt, len, 40, IP6_NH_DSTOPTS, 6, 0, &w), 0);
	assert_int_equal(w.proto, IP6_NH_UDP);
	for (size_t l = 0; l < 40; l++)
		assert_int_equal(ip6_ext_walk(pkt, l, &w), -EMSGSIZE);
}

static void test_ip6_frag_chain_ok(void **s)
{
	(void)s;
	uint8_t pkt[200], e[64];
	struct ip6_ext_walk w;
	static const struct {
		uint8_t proto;
		size_t need;
	} t[] = {{IP6_NH_TCP, 20}, {IP6_NH_UDP, 8}, {IP6_NH_ICMPV6, 8}, {IP6_NH_NONE, 0}, {253, 0}};
	for (size_t i = 0; i < US_ARRAY_LEN(t); i++) {
		assert_int_equal(ip6_upper_min_len(t[i].proto), t[i].need);
		for (size_t have = 0; have <= t[i].need + 1; have++) {
			size_t n = put_frag(e, IP6_NH_DSTOPTS, 0, 1, 9);
			n += put_opts_hdr(e + n, IP6_NH_DSTOPTS, t[i].proto, 8);
			size_t len = mk6(pkt, IP6_NH_FRAGMENT, e, n, have);
			assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
			assert_int_equal(w.end, IP6_END_FRAG);
			assert_int_equal(ip6_frag_chain_ok(pkt, len, &w), have >= t[i].need ? 0 : -EMSGSIZE);
		}
	}
	/* The chain itself cut off in the first fragment (RFC 7112). */
	size_t n = put_frag(e, IP6_NH_DSTOPTS, 0, 1, 9);
	n += put_opts_hdr(e + n, IP6_NH_DSTOPTS, IP6_NH_TCP, 16);
	size_t len = mk6(pkt, IP6_NH_FRAGMENT, e, n - 8, 0);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(ip6_frag_chain_ok(pkt, len, &w), -EMSGSIZE);
	/* Not a first fragment, or not a fragment. */
	n = put_frag(e, IP6_NH_TCP, 8, 1, 9);
	len = mk6(pkt, IP6_NH_FRAGMENT, e, n, 40);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(ip6_frag_chain_ok(pkt, len, &w), -EINVAL);
	len = mk6(pkt, IP6_NH_TCP, NULL, 0, 40);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(ip6_frag_chain_ok(pkt, len, &w), -EINVAL);
	/* A second, later fragment header inside the first fragment's chain. */
	n = put_frag(e, IP6_NH_FRAGMENT, 0, 1, 9);
	n += put_frag(e + n, IP6_NH_TCP, 64, 0, 10);
	len = mk6(pkt, IP6_NH_FRAGMENT, e, n, 40);
	assert_int_equal(ip6_ext_walk(pkt, len, &w), 0);
	assert_int_equal(ip6_frag_chain_ok(pkt, len, &w), -EINVAL);
}

/* Random chains and random bytes, each in a buffer of its exact size:
 * the walk's promises hold and (under ASan) nothing past the end is read. */
static void test_ip6_walk_random(void **s)
{
	(void)s;
	static const uint8_t nhs[] = {IP6_NH_HOPOPTS, IP6_NH_DSTOPTS, IP6_NH_ROUTING, IP6_NH_FRAGMENT,
				      IP6_NH_TCP,     IP6_NH_NONE,    0x11,           0x3A};
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 40 + rnd() % 300;
		uint8_t *b = malloc(len);
		assert_non_null(b);
		rnd_fill(b, len);
		b[0] = 0x60;
		/* Steer most next-header fields to extension headers. */
		b[6] = nhs[rnd() % sizeof nhs];
		for (size_t o = 40; o + 2 <= len; o += 8)
			if (rnd() % 4)
				b[o] = nhs[rnd() % sizeof nhs];
		for (size_t o = 41; o < len; o += 8)
			b[o] = (uint8_t)(rnd() % 4);
		unsigned flags = iter & 1 ? IP6_WALK_SKIP : 0;
		struct ip6_ext_walk w;
		int rc = ip6_ext_walk_from(b, len, 40, b[6], 6, flags, &w);
		assert_true(rc == 0 || rc == -EMSGSIZE || rc == -EINVAL || rc == -E2BIG);
		assert_true(w.n <= IP6_EXT_MAX_HDRS);
		assert_true(w.ext_len <= IP6_EXT_MAX_BYTES);
		size_t at = 40;
		for (int i = 0; i < w.n; i++) {
			assert_int_equal(w.hdr[i].off, at); /* contiguous, increasing */
			assert_true(w.hdr[i].len >= 8 && w.hdr[i].off + w.hdr[i].len <= len);
			at += w.hdr[i].len;
		}
		if (rc == 0) {
			assert_true(w.off <= len);
			if (w.end == IP6_END_UPPER || w.end == IP6_END_FRAG)
				assert_int_equal(w.off, at);
			if (w.end == IP6_END_UPPER)
				assert_false(w.proto == IP6_NH_HOPOPTS || w.proto == IP6_NH_DSTOPTS ||
					     w.proto == IP6_NH_ROUTING || w.proto == IP6_NH_FRAGMENT);
			if (w.end == IP6_END_PARAM)
				assert_true(w.pp_ptr < len);
			if (w.end == IP6_END_FRAG)
				assert_true(w.n > 0 && w.hdr[w.n - 1].type == IP6_NH_FRAGMENT);
			if (flags)
				assert_true(w.end == IP6_END_UPPER || w.end == IP6_END_FRAG);
			if (w.end == IP6_END_FRAG)
				(void)ip6_frag_chain_ok(b, len, &w);
		}
		free(b);
	}
}

/* ---- icmp6 ---- */

static const struct frame icmp_frames[] = {
	FRAME(cap_rs),       FRAME(cap_ra),       FRAME(cap_ns_dad), FRAME(cap_ns),       FRAME(cap_na),
	FRAME(cap_na_noopt), FRAME(cap_na_unsol), FRAME(cap_ns_nud), FRAME(cap_mld2),     FRAME(cap_ping),
	FRAME(cap_ping0),    FRAME(cap_ptb),      FRAME(cap_te),     FRAME(cap_redirect), FRAME(cap_port_unreach),
	FRAME(cap_pp_opt),   FRAME(cap_pp_rh0),   FRAME(cap_pp_nh),  FRAME(cap_pp_hbh),   FRAME(cap_hbh_dst),
	FRAME(cap_atomic),
};

static void test_icmp6_captured(void **s)
{
	(void)s;
	static uint8_t out[1600];
	for (size_t i = 0; i < US_ARRAY_LEN(icmp_frames); i++) {
		const struct frame *f = &icmp_frames[i];
		struct v6pkt p;
		struct icmp6_repr ic;
		open_icmp(f->p, f->n, &p, &ic);
		assert_ptr_equal(ic.payload, p.l4 + 8);
		assert_int_equal(ic.payload_len, p.l4_len - 8);
		/* Re-emitted, it is the kernel's message, checksum and all. */
		memset(out, 0xEE, sizeof out);
		icmp6_emit(&ic, &p.h.src, &p.h.dst, out);
		if (memcmp(out, p.l4, p.l4_len) != 0)
			fail_msg("%s: re-emitted message differs", f->name);
		assert_int_equal(out[p.l4_len], 0xEE);
		/* Without the pseudo-header the sum does not verify. */
		assert_int_not_equal(csum_fold(csum_partial(p.l4, p.l4_len, 0)), 0);
	}
	struct v6pkt p;
	struct icmp6_repr ic;
	open_icmp(cap_ping, sizeof cap_ping, &p, &ic);
	assert_int_equal(ic.type, ICMP6_ECHO_REQUEST);
	assert_int_equal(icmp6_echo_id(&ic), 0x5114);
	assert_int_equal(icmp6_echo_seq(&ic), 1);
	assert_int_equal(ic.payload_len, 56);
	assert_false(icmp6_is_error(ic.type));
	open_icmp(cap_ping0, sizeof cap_ping0, &p, &ic);
	assert_int_equal(ic.payload_len, 0);
	open_icmp(cap_ptb, sizeof cap_ptb, &p, &ic);
	assert_int_equal(ic.type, ICMP6_PKT_TOO_BIG);
	assert_int_equal(icmp6_mtu(&ic), 1280);
	assert_int_equal(ic.payload_len, ICMP6_QUOTE_MAX);
	assert_int_equal(p.len, IPV6_MIN_MTU);
	assert_true(icmp6_is_error(ic.type));
	open_icmp(cap_te, sizeof cap_te, &p, &ic);
	assert_int_equal(ic.type, ICMP6_TIME_EXCEEDED);
	assert_int_equal(ic.code, ICMP6_TE_HOPS);
	open_icmp(cap_port_unreach, sizeof cap_port_unreach, &p, &ic);
	assert_int_equal(ic.type, ICMP6_DEST_UNREACH);
	assert_int_equal(ic.code, ICMP6_DU_PORT);
	assert_int_equal(ic.rest, 0);
	open_icmp(cap_mld2, sizeof cap_mld2, &p, &ic);
	assert_int_equal(ic.type, ICMP6_MLD2_REPORT);
}

static void test_icmp6_lengths_and_checksum(void **s)
{
	(void)s;
	struct ip6_addr a = A6("fd00000a000000000000000000000003"), b = A6("fd00000a000000000000000000000002");
	uint8_t m[64];
	struct icmp6_repr r = {.type = ICMP6_ECHO_REQUEST, .rest = 0x00010002};
	icmp6_emit(&r, &a, &b, m);
	assert_int_equal(icmp6_parse(m, 8, &a, &b, &r, 1), 0);
	assert_int_equal(r.payload_len, 0);
	/* Shorter than 8 bytes, an echo of CVE-2020-17443 among them: every length. */
	for (size_t l = 0; l < ICMP6_HDR_LEN; l++) {
		assert_int_equal(icmp6_parse(m, l, &a, &b, &r, 1), -EINVAL);
		assert_int_equal(icmp6_parse(m, l, &a, &b, &r, 0), -EINVAL);
	}
	/* The checksum covers the message and the pseudo-header. */
	rnd_fill(m + 8, 40);
	r = (struct icmp6_repr){.type = ICMP6_ECHO_REPLY, .rest = 7, .payload = m + 8, .payload_len = 40};
	icmp6_emit(&r, &a, &b, m);
	assert_int_equal(icmp6_parse(m, 48, &a, &b, &r, 1), 0);
	assert_int_equal(icmp6_parse(m, 48, &b, &a, &r, 1), 0); /* the sum is symmetric in the addresses */
	struct ip6_addr c = b;
	c.b[0] ^= 0x80;
	assert_int_equal(icmp6_parse(m, 48, &a, &c, &r, 1), -EBADMSG);
	assert_int_equal(icmp6_parse(m, 48, &a, &c, &r, 0), 0);
	assert_int_equal(icmp6_parse(m, 47, &a, &b, &r, 1), -EBADMSG); /* a byte short */
	for (size_t i = 0; i < 48; i++) {
		m[i] ^= 0x04;
		assert_int_equal(icmp6_parse(m, 48, &a, &b, &r, 1), -EBADMSG);
		m[i] ^= 0x04;
	}
	assert_int_equal(icmp6_parse(m, 48, &a, &b, &r, 1), 0);
}

static void test_icmp6_emit_moves_payload(void **s)
{
	(void)s;
	struct ip6_addr a = A6("fe800000000000000000000000000001"), b = A6("ff020000000000000000000000000001");
	uint8_t buf[100], want[60];
	rnd_fill(buf, sizeof buf);
	memcpy(want, buf + 4, 60);
	/* The payload 4 bytes in front of where it goes: overlapping. */
	struct icmp6_repr r = {.type = ICMP6_ECHO_REPLY, .rest = 0x12340001, .payload = buf + 4, .payload_len = 60};
	icmp6_emit(&r, &a, &b, buf);
	assert_memory_equal(buf + 8, want, 60);
	struct icmp6_repr q;
	assert_int_equal(icmp6_parse(buf, 68, &a, &b, &q, 1), 0);
	assert_int_equal(q.rest, 0x12340001);
	/* And behind it. */
	memcpy(want, buf + 10, 50);
	r.payload = buf + 10;
	r.payload_len = 50;
	icmp6_emit(&r, &a, &b, buf);
	assert_memory_equal(buf + 8, want, 50);
	assert_int_equal(icmp6_parse(buf, 58, &a, &b, &q, 1), 0);
}

static void test_icmp6_quote_len(void **s)
{
	(void)s;
	assert_int_equal(ICMP6_QUOTE_MAX, 1232);
	assert_int_equal(icmp6_quote_len(0, 0), 0);
	assert_int_equal(icmp6_quote_len(100, 0), 100);
	assert_int_equal(icmp6_quote_len(1232, 0), 1232);
	assert_int_equal(icmp6_quote_len(1233, 0), 1232);
	assert_int_equal(icmp6_quote_len(65575, 0), 1232);
	assert_int_equal(icmp6_quote_len(65575, 8), 1224);
	assert_int_equal(icmp6_quote_len(100, 1200), 32);
	assert_int_equal(icmp6_quote_len(100, 1232), 0);
	assert_int_equal(icmp6_quote_len(100, 5000), 0);
	/* An error about a 1500-byte packet is 1280 bytes on the wire. */
	static uint8_t inv[1500], out[1300];
	rnd_fill(inv, sizeof inv);
	struct icmp6_repr r;
	icmp6_error_repr(&r, ICMP6_PKT_TOO_BIG, 0, 1280, inv, sizeof inv);
	assert_int_equal(r.payload_len, 1232);
	assert_int_equal(r.type, ICMP6_PKT_TOO_BIG);
	assert_int_equal(r.rest, 1280);
	assert_int_equal(IPV6_HDR_LEN + ICMP6_HDR_LEN + r.payload_len, IPV6_MIN_MTU);
	memset(out, 0xEE, sizeof out);
	icmp6_emit(&r, &ip6_loopback, &ip6_loopback, out);
	assert_memory_equal(out + 8, inv, 1232);
	assert_int_equal(out[1240], 0xEE);
}

/* The kernel's errors, rebuilt byte for byte from the packet they answer,
 * with the type, code and pointer the walker computes. */
static void test_icmp6_error_rebuild(void **s)
{
	(void)s;
	static const struct {
		const uint8_t *req, *err;
		size_t req_n, err_n;
	} t[] = {
		{cap_udp, cap_port_unreach, sizeof cap_udp, sizeof cap_port_unreach},
		{cap_opt10, cap_pp_opt, sizeof cap_opt10, sizeof cap_pp_opt},
		{cap_rh0, cap_pp_rh0, sizeof cap_rh0, sizeof cap_pp_rh0},
		{cap_nh253, cap_pp_nh, sizeof cap_nh253, sizeof cap_pp_nh},
		{cap_hbh_late, cap_pp_hbh, sizeof cap_hbh_late, sizeof cap_pp_hbh},
	};
	for (size_t i = 0; i < US_ARRAY_LEN(t); i++) {
		struct v6pkt q, e;
		struct icmp6_repr kic, r;
		open_frame(t[i].req, t[i].req_n, &q);
		open_icmp(t[i].err, t[i].err_n, &e, &kic);
		if (q.w.end == IP6_END_PARAM)
			icmp6_error_repr(&r, ICMP6_PARAM_PROB, q.w.pp_code, q.w.pp_ptr, q.ip, q.len);
		else if (q.w.proto == IP6_NH_UDP)
			icmp6_error_repr(&r, ICMP6_DEST_UNREACH, ICMP6_DU_PORT, 0, q.ip, q.len);
		else
			icmp6_error_repr(&r, ICMP6_PARAM_PROB, ICMP6_PP_NEXT_HEADER, q.w.nh_off, q.ip, q.len);
		uint8_t out[1400];
		icmp6_emit(&r, &e.h.src, &e.h.dst, out);
		assert_int_equal(ICMP6_HDR_LEN + r.payload_len, e.l4_len);
		assert_memory_equal(out, e.l4, e.l4_len);
		/* The IPv6 header around it, but for the flow label Linux picks. */
		struct ipv6_repr h = {.src = e.h.src,
				      .dst = e.h.dst,
				      .next_hdr = IP6_NH_ICMPV6,
				      .hop_limit = 64,
				      .payload_len = (uint16_t)(ICMP6_HDR_LEN + r.payload_len),
				      .flow = e.h.flow};
		ipv6_emit(&h, out);
		assert_memory_equal(out, e.ip, IPV6_HDR_LEN);
	}
	/* Packet Too Big from its own quote (the invoking ping is not kept). */
	struct v6pkt e;
	struct icmp6_repr kic, r;
	open_icmp(cap_ptb, sizeof cap_ptb, &e, &kic);
	icmp6_error_repr(&r, ICMP6_PKT_TOO_BIG, 0, 1280, kic.payload, kic.payload_len);
	uint8_t out[1300];
	icmp6_emit(&r, &e.h.src, &e.h.dst, out);
	assert_memory_equal(out, e.l4, e.l4_len);
}

static void test_icmp6_quote_parse(void **s)
{
	(void)s;
	struct v6pkt e, u;
	struct icmp6_repr ic;
	struct icmp6_quote q;
	/* Packet Too Big: the quote is cut at 1232 bytes of a 1448-byte packet. */
	open_icmp(cap_ptb, sizeof cap_ptb, &e, &ic);
	assert_int_equal(icmp6_quote_parse(&ic, &q), 0);
	struct ip6_addr b2 = A6("fd00000b000000000000000000000002");
	assert_true(ip6_addr_eq(&q.ip.dst, &b2));
	assert_true(ip6_addr_eq(&q.ip.src, &e.h.dst));
	assert_int_equal(q.ip.payload_len, 1408); /* as sent, larger than the quote */
	assert_int_equal(q.proto, IP6_NH_ICMPV6);
	assert_false(q.frag);
	assert_int_equal(q.l4_len, 1232 - 40);
	assert_int_equal(q.l4[0], ICMP6_ECHO_REQUEST);
	assert_int_equal(rd_be16(q.l4 + 4), 0x511a);
	/* Port unreachable: the UDP header the socket lookup needs. */
	open_icmp(cap_port_unreach, sizeof cap_port_unreach, &e, &ic);
	assert_int_equal(icmp6_quote_parse(&ic, &q), 0);
	assert_int_equal(q.proto, IP6_NH_UDP);
	assert_int_equal(rd_be16(q.l4), 47058);
	assert_int_equal(rd_be16(q.l4 + 2), 9999);
	open_frame(cap_udp, sizeof cap_udp, &u);
	assert_int_equal(q.l4_len, u.l4_len);
	assert_memory_equal(q.l4, u.l4, u.l4_len);
	/* Quotes of packets with extension headers the walk would refuse:
	 * skipped, not judged. */
	const struct frame pps[] = {FRAME(cap_pp_opt), FRAME(cap_pp_rh0), FRAME(cap_pp_hbh), FRAME(cap_te)};
	const uint16_t ids[] = {0x77, 0x77, 0x77, 0x511b};
	for (size_t i = 0; i < US_ARRAY_LEN(pps); i++) {
		open_icmp(pps[i].p, pps[i].n, &e, &ic);
		assert_int_equal(icmp6_quote_parse(&ic, &q), 0);
		assert_int_equal(q.proto, IP6_NH_ICMPV6);
		assert_int_equal(q.l4[0], ICMP6_ECHO_REQUEST);
		assert_int_equal(rd_be16(q.l4 + 4), ids[i]);
	}
	open_icmp(cap_pp_nh, sizeof cap_pp_nh, &e, &ic);
	assert_int_equal(icmp6_quote_parse(&ic, &q), 0);
	assert_int_equal(q.proto, 253);
	assert_int_equal(q.l4_len, 16);
}

static void test_icmp6_quote_errors(void **s)
{
	(void)s;
	uint8_t pkt[200], e[64];
	struct icmp6_repr ic;
	struct icmp6_quote q;
	size_t n = put_opts_hdr(e, IP6_NH_DSTOPTS, IP6_NH_TCP, 16);
	size_t len = mk6(pkt, IP6_NH_DSTOPTS, e, n, 20);
	ic = (struct icmp6_repr){.type = ICMP6_DEST_UNREACH, .payload = pkt, .payload_len = len};
	assert_int_equal(icmp6_quote_parse(&ic, &q), 0);
	assert_int_equal(q.proto, IP6_NH_TCP);
	assert_ptr_equal(q.l4, pkt + 56);
	assert_int_equal(q.l4_len, 20);
	/* Every cut: short of the fixed header, inside the chain, after it. */
	for (size_t cut = 0; cut <= len; cut++) {
		ic.payload_len = cut;
		int rc = icmp6_quote_parse(&ic, &q);
		if (cut < 40)
			assert_int_equal(rc, -EINVAL);
		else if (cut < 56)
			assert_int_equal(rc, -EMSGSIZE);
		else {
			assert_int_equal(rc, 0);
			assert_int_equal(q.l4_len, cut - 56);
		}
		if (rc)
			assert_null(q.l4);
	}
	ic.payload_len = len;
	pkt[0] = 0x45;
	assert_int_equal(icmp6_quote_parse(&ic, &q), -EINVAL);
	ic.payload = NULL;
	assert_int_equal(icmp6_quote_parse(&ic, &q), -EINVAL);
	/* A fragment: the first is walked on, a later one holds no header. */
	n = put_frag(e, IP6_NH_UDP, 0, 1, 3);
	len = mk6(pkt, IP6_NH_FRAGMENT, e, n, 8);
	ic = (struct icmp6_repr){.type = ICMP6_DEST_UNREACH, .payload = pkt, .payload_len = len};
	assert_int_equal(icmp6_quote_parse(&ic, &q), 0);
	assert_int_equal(q.proto, IP6_NH_UDP);
	assert_false(q.frag);
	n = put_frag(e, IP6_NH_UDP, 1448, 1, 3);
	mk6(pkt, IP6_NH_FRAGMENT, e, n, 8);
	assert_int_equal(icmp6_quote_parse(&ic, &q), 0);
	assert_true(q.frag);
	assert_int_equal(q.proto, IP6_NH_FRAGMENT);
}

/* ---- nd6 ---- */

static void open_nd(const uint8_t *f, size_t n, struct v6pkt *p, struct icmp6_repr *ic, struct nd6_repr *r)
{
	open_icmp(f, n, p, ic);
	assert_true(nd6_hop_limit_ok(p->h.hop_limit));
	assert_int_equal(nd6_parse(ic, &p->h.src, &p->h.dst, r), 0);
}

/* nd6_emit of r reproduces the kernel's message byte for byte. */
static void same_as_kernel(const struct nd6_repr *r, const struct v6pkt *p)
{
	uint8_t out[600];
	memset(out, 0xEE, sizeof out);
	assert_int_equal(nd6_len(r), p->l4_len);
	assert_int_equal(nd6_emit(r, &p->h.src, &p->h.dst, out), p->l4_len);
	assert_memory_equal(out, p->l4, p->l4_len);
	assert_int_equal(out[p->l4_len], 0xEE);
}

static void test_nd6_captured(void **s)
{
	(void)s;
	struct v6pkt p;
	struct icmp6_repr ic;
	struct nd6_repr r;

	/* RS from a link-local address, with its MAC. */
	open_nd(cap_rs, sizeof cap_rs, &p, &ic, &r);
	assert_int_equal(r.type, ICMP6_ND_RS);
	assert_true(ip6_is_all_routers(&p.h.dst));
	assert_int_equal(r.opts.sll_len, 6);
	assert_memory_equal(r.opts.sll, cap_rs + 6, 6);
	assert_null(r.opts.tll);
	assert_int_equal(r.opts.n_prefix + r.opts.has_mtu + r.opts.n_unknown + r.opts.n_bad + r.opts.n_dup, 0);
	same_as_kernel(&r, &p);

	/* radvd's RA. */
	open_nd(cap_ra, sizeof cap_ra, &p, &ic, &r);
	assert_int_equal(r.type, ICMP6_ND_RA);
	assert_int_equal(r.cur_hop_limit, 64);
	assert_int_equal(r.ra_flags, 0);
	assert_int_equal(r.router_lifetime, 30);
	assert_int_equal(r.reachable_time, 0);
	assert_int_equal(r.retrans_timer, 0);
	assert_true(r.opts.has_mtu);
	assert_int_equal(r.opts.mtu, 1500);
	assert_int_equal(r.opts.n_prefix, 1);
	struct ip6_addr pfx = A6("fd00000a000000000000000000000000");
	assert_true(ip6_addr_eq(&r.opts.prefix[0].prefix, &pfx));
	assert_int_equal(r.opts.prefix[0].len, 64);
	assert_int_equal(r.opts.prefix[0].flags, ND6_PI_ONLINK | ND6_PI_AUTO);
	assert_int_equal(r.opts.prefix[0].valid, 86400);
	assert_int_equal(r.opts.prefix[0].preferred, 14400);
	assert_int_equal(r.opts.sll_len, 6);
	assert_memory_equal(r.opts.sll, cap_ra + 6, 6);
	/* radvd puts the options in another order than nd6_emit: compare
	 * what the emitted message parses back to. */
	uint8_t out[200];
	size_t n = nd6_emit(&r, &p.h.src, &p.h.dst, out);
	assert_int_equal(n, p.l4_len);
	struct icmp6_repr ic2;
	struct nd6_repr r2;
	assert_int_equal(icmp6_parse(out, n, &p.h.src, &p.h.dst, &ic2, 1), 0);
	assert_int_equal(nd6_parse(&ic2, &p.h.src, &p.h.dst, &r2), 0);
	assert_int_equal(r2.cur_hop_limit, 64);
	assert_int_equal(r2.router_lifetime, 30);
	assert_int_equal(r2.opts.mtu, 1500);
	assert_memory_equal(&r2.opts.prefix[0], &r.opts.prefix[0], sizeof r.opts.prefix[0]);
	assert_memory_equal(r2.opts.sll, r.opts.sll, 6);

	/* DAD: from ::, to the solicited-node group, with Linux's nonce. */
	open_nd(cap_ns_dad, sizeof cap_ns_dad, &p, &ic, &r);
	assert_int_equal(r.type, ICMP6_ND_NS);
	assert_true(ip6_is_unspecified(&p.h.src));
	struct ip6_addr t1 = A6("fd00000a000000000000000000000001");
	assert_true(ip6_addr_eq(&r.target, &t1));
	assert_null(r.opts.sll);
	assert_int_equal(r.opts.nonce_len, 6);
	assert_memory_equal(r.opts.nonce, cap_ns_dad + sizeof cap_ns_dad - 6, 6);
	same_as_kernel(&r, &p);

	/* Address resolution: NS with SLLAO, the solicited NA with TLLAO. */
	open_nd(cap_ns, sizeof cap_ns, &p, &ic, &r);
	struct ip6_addr t2 = A6("fd00000a000000000000000000000002");
	assert_true(ip6_addr_eq(&r.target, &t2));
	assert_memory_equal(r.opts.sll, cap_ns + 6, 6);
	same_as_kernel(&r, &p);
	open_nd(cap_na, sizeof cap_na, &p, &ic, &r);
	assert_int_equal(r.type, ICMP6_ND_NA);
	assert_true(ip6_addr_eq(&r.target, &t2));
	assert_int_equal(r.na_flags, ND6_NA_ROUTER | ND6_NA_SOLICITED | ND6_NA_OVERRIDE);
	assert_int_equal(r.opts.tll_len, 6);
	assert_memory_equal(r.opts.tll, cap_na + 6, 6);
	same_as_kernel(&r, &p);
	open_nd(cap_na_noopt, sizeof cap_na_noopt, &p, &ic, &r);
	assert_int_equal(r.na_flags, ND6_NA_SOLICITED);
	assert_null(r.opts.tll);
	struct ip6_addr t3 = A6("fe8000000000000028ce8ffffe183c67");
	assert_true(ip6_addr_eq(&r.target, &t3));
	same_as_kernel(&r, &p);
	/* The unsolicited NA goes to all-nodes, Solicited clear. */
	open_nd(cap_na_unsol, sizeof cap_na_unsol, &p, &ic, &r);
	assert_true(ip6_is_all_nodes(&p.h.dst));
	assert_int_equal(r.na_flags, ND6_NA_OVERRIDE);
	same_as_kernel(&r, &p);
	/* A NUD probe: unicast. */
	open_nd(cap_ns_nud, sizeof cap_ns_nud, &p, &ic, &r);
	assert_true(ip6_addr_eq(&p.h.dst, &t2) && ip6_addr_eq(&r.target, &t2));
	assert_non_null(r.opts.sll);
	same_as_kernel(&r, &p);

	/* A redirect: recognised, nothing more. */
	open_nd(cap_redirect, sizeof cap_redirect, &p, &ic, &r);
	assert_int_equal(r.type, ICMP6_ND_REDIRECT);
	assert_true(ip6_is_unspecified(&r.target));
	assert_null(r.opts.tll);
	assert_int_equal(nd6_len(&r), 0);
	assert_int_equal(nd6_emit(&r, &p.h.src, &p.h.dst, out), 0);

	/* Other ICMPv6 messages are not NDP. */
	open_icmp(cap_mld2, sizeof cap_mld2, &p, &ic);
	assert_int_equal(nd6_parse(&ic, &p.h.src, &p.h.dst, &r), -EPROTONOSUPPORT);
	open_icmp(cap_ping, sizeof cap_ping, &p, &ic);
	assert_int_equal(nd6_parse(&ic, &p.h.src, &p.h.dst, &r), -EPROTONOSUPPORT);
}

static void test_nd6_hop_limit(void **s)
{
	(void)s;
	assert_true(nd6_hop_limit_ok(255));
	for (unsigned h = 0; h < 255; h++)
		assert_false(nd6_hop_limit_ok((uint8_t)h));
	/* Every captured NDP message arrived with it. */
	const struct frame fs[] = {FRAME(cap_rs),       FRAME(cap_ra),     FRAME(cap_ns_dad),
				   FRAME(cap_ns),       FRAME(cap_na),     FRAME(cap_na_noopt),
				   FRAME(cap_na_unsol), FRAME(cap_ns_nud), FRAME(cap_redirect)};
	for (size_t i = 0; i < US_ARRAY_LEN(fs); i++) {
		struct v6pkt p;
		open_frame(fs[i].p, fs[i].n, &p);
		assert_int_equal(p.h.hop_limit, ND6_HOP_LIMIT);
	}
}

static const uint8_t mac1[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};

/* A valid message of type t from src to dst, its options as given, in m;
 * returns the icmp6_repr over it. */
static struct icmp6_repr mk_nd(uint8_t *m, uint8_t t, const struct ip6_addr *src, const struct ip6_addr *dst, int sll,
			       int tll)
{
	struct nd6_repr r;
	memset(&r, 0, sizeof r);
	r.type = t;
	r.target = A6("fd00000a000000000000000000000002");
	r.router_lifetime = 1800;
	if (sll) {
		r.opts.sll = mac1;
		r.opts.sll_len = 6;
	}
	if (tll) {
		r.opts.tll = mac1;
		r.opts.tll_len = 6;
	}
	size_t n = nd6_emit(&r, src, dst, m);
	struct icmp6_repr ic;
	assert_int_equal(icmp6_parse(m, n, src, dst, &ic, 1), 0);
	return ic;
}

static void test_nd6_validity(void **s)
{
	(void)s;
	struct ip6_addr ll = A6("fe800000000000000000000000000001"), uc = A6("fd00000a000000000000000000000003"),
			uc2 = A6("fd00000a000000000000000000000002"), sol = ip6_solicited_node(&uc2), any = ip6_any,
			gl = A6("20010db8000000000000000000000001");
	uint8_t m[200];
	struct nd6_repr r;
	struct icmp6_repr ic;
	static const struct {
		uint8_t type;
		size_t fixed;
	} types[] = {{ICMP6_ND_RS, 8}, {ICMP6_ND_RA, 16}, {ICMP6_ND_NS, 24}, {ICMP6_ND_NA, 24}};
	/* Common to all: code 0, the fixed part, options of length > 0 that
	 * end inside the message. */
	for (size_t i = 0; i < US_ARRAY_LEN(types); i++) {
		uint8_t t = types[i].type;
		ic = mk_nd(m, t, &ll, &uc2, 1, 0);
		assert_int_equal(nd6_parse(&ic, &ll, &uc2, &r), 0);
		assert_int_equal(r.type, t);
		assert_non_null(r.opts.sll);
		for (unsigned code = 1; code < 256; code += 37) {
			ic.code = (uint8_t)code;
			assert_int_equal(nd6_parse(&ic, &ll, &uc2, &r), -EINVAL);
			assert_int_equal(r.type, 0); /* nothing left in the repr */
		}
		ic.code = 0;
		size_t all = ic.payload_len;
		for (size_t l = 0; l + 8 < types[i].fixed; l++) {
			ic.payload_len = l;
			assert_int_equal(nd6_parse(&ic, &ll, &uc2, &r), -EINVAL);
		}
		/* Only the fixed part: no options, fine. */
		ic.payload_len = types[i].fixed - 8;
		assert_int_equal(nd6_parse(&ic, &ll, &uc2, &r), 0);
		assert_null(r.opts.sll);
		/* The option cut: 1 byte, 7 bytes of it. */
		ic.payload_len = types[i].fixed - 8 + 1;
		assert_int_equal(nd6_parse(&ic, &ll, &uc2, &r), -EINVAL);
		ic.payload_len = all - 1;
		assert_int_equal(nd6_parse(&ic, &ll, &uc2, &r), -EINVAL);
		ic.payload_len = all;
		/* Length 0 (RFC 4861 4.6) and a length past the end. */
		uint8_t *opt = m + types[i].fixed;
		opt[1] = 0;
		assert_int_equal(nd6_parse(&ic, &ll, &uc2, &r), -EINVAL);
		opt[1] = 2;
		assert_int_equal(nd6_parse(&ic, &ll, &uc2, &r), -EINVAL);
		opt[1] = 1;
		assert_int_equal(nd6_parse(&ic, &ll, &uc2, &r), 0);
		/* A zero-length option of an unknown type is refused too. */
		opt[0] = 200;
		opt[1] = 0;
		assert_int_equal(nd6_parse(&ic, &ll, &uc2, &r), -EINVAL);
	}
	/* RS (6.1.1): no source link-layer address from ::. */
	ic = mk_nd(m, ICMP6_ND_RS, &any, &ip6_all_routers, 0, 0);
	assert_int_equal(nd6_parse(&ic, &any, &ip6_all_routers, &r), 0);
	ic = mk_nd(m, ICMP6_ND_RS, &any, &ip6_all_routers, 1, 0);
	assert_int_equal(nd6_parse(&ic, &any, &ip6_all_routers, &r), -EINVAL);
	ic = mk_nd(m, ICMP6_ND_RS, &uc, &ip6_all_routers, 1, 0);
	assert_int_equal(nd6_parse(&ic, &uc, &ip6_all_routers, &r), 0);
	/* RA (6.1.2): from a link-local address only. */
	const struct ip6_addr *bad_ra_src[] = {&uc, &gl, &any, &ip6_loopback, &ip6_all_nodes};
	for (size_t i = 0; i < US_ARRAY_LEN(bad_ra_src); i++) {
		ic = mk_nd(m, ICMP6_ND_RA, bad_ra_src[i], &ip6_all_nodes, 1, 0);
		assert_int_equal(nd6_parse(&ic, bad_ra_src[i], &ip6_all_nodes, &r), -EINVAL);
	}
	ic = mk_nd(m, ICMP6_ND_RA, &ll, &ip6_all_nodes, 1, 0);
	assert_int_equal(nd6_parse(&ic, &ll, &ip6_all_nodes, &r), 0);
	assert_int_equal(r.router_lifetime, 1800);
	/* NS (7.1.1): target not multicast; DAD (from ::) only to a
	 * solicited-node group and without a source link-layer address. */
	ic = mk_nd(m, ICMP6_ND_NS, &uc, &sol, 1, 0);
	assert_int_equal(nd6_parse(&ic, &uc, &sol, &r), 0);
	memcpy(m + 8, ip6_all_nodes.b, 16);
	assert_int_equal(nd6_parse(&ic, &uc, &sol, &r), -EINVAL);
	memcpy(m + 8, sol.b, 16);
	assert_int_equal(nd6_parse(&ic, &uc, &sol, &r), -EINVAL);
	ic = mk_nd(m, ICMP6_ND_NS, &any, &sol, 0, 0);
	assert_int_equal(nd6_parse(&ic, &any, &sol, &r), 0);
	ic = mk_nd(m, ICMP6_ND_NS, &any, &sol, 1, 0);
	assert_int_equal(nd6_parse(&ic, &any, &sol, &r), -EINVAL);
	const struct ip6_addr *bad_dad_dst[] = {&uc2, &ip6_all_nodes, &ll};
	for (size_t i = 0; i < US_ARRAY_LEN(bad_dad_dst); i++) {
		ic = mk_nd(m, ICMP6_ND_NS, &any, bad_dad_dst[i], 0, 0);
		assert_int_equal(nd6_parse(&ic, &any, bad_dad_dst[i], &r), -EINVAL);
	}
	ic = mk_nd(m, ICMP6_ND_NS, &uc, &uc2, 1, 0); /* NUD: unicast */
	assert_int_equal(nd6_parse(&ic, &uc, &uc2, &r), 0);
	/* NA (7.1.2): target not multicast; Solicited clear to a multicast destination. */
	ic = mk_nd(m, ICMP6_ND_NA, &uc2, &uc, 0, 1);
	assert_int_equal(nd6_parse(&ic, &uc2, &uc, &r), 0);
	memcpy(m + 8, ip6_all_routers.b, 16);
	assert_int_equal(nd6_parse(&ic, &uc2, &uc, &r), -EINVAL);
	for (int to_mcast = 0; to_mcast < 2; to_mcast++) {
		for (int solicited = 0; solicited < 2; solicited++) {
			const struct ip6_addr *d = to_mcast ? &ip6_all_nodes : &uc;
			struct nd6_repr na;
			memset(&na, 0, sizeof na);
			na.type = ICMP6_ND_NA;
			na.target = uc2;
			na.na_flags = (uint8_t)(ND6_NA_OVERRIDE | (solicited ? ND6_NA_SOLICITED : 0));
			size_t n = nd6_emit(&na, &uc2, d, m);
			assert_int_equal(icmp6_parse(m, n, &uc2, d, &ic, 1), 0);
			assert_int_equal(nd6_parse(&ic, &uc2, d, &r), to_mcast && solicited ? -EINVAL : 0);
		}
	}
	/* A redirect and other types. */
	ic = (struct icmp6_repr){.type = ICMP6_ND_REDIRECT, .code = 9};
	assert_int_equal(nd6_parse(&ic, &ll, &uc, &r), 0);
	assert_int_equal(r.type, ICMP6_ND_REDIRECT);
	for (unsigned t = 0; t < 256; t++) {
		if (t >= ICMP6_ND_RS && t <= ICMP6_ND_REDIRECT)
			continue;
		ic = (struct icmp6_repr){.type = (uint8_t)t, .payload = m, .payload_len = 40};
		assert_int_equal(nd6_parse(&ic, &ll, &uc, &r), -EPROTONOSUPPORT);
	}
}

/* An RA carrying the given option bytes after its fixed part. */
static int ra_with(const uint8_t *o, size_t n, struct nd6_repr *r, uint8_t *m)
{
	static const struct ip6_addr ll = {{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
	memset(m, 0, 16);
	m[0] = ICMP6_ND_RA;
	memcpy(m + 16, o, n);
	struct icmp6_repr ic;
	assert_int_equal(icmp6_parse(m, 16 + n, &ll, &ip6_all_nodes, &ic, 0), 0);
	return nd6_parse(&ic, &ll, &ip6_all_nodes, r);
}

static size_t put_pio(uint8_t *p, uint8_t len8, uint8_t plen, const char *prefix)
{
	memset(p, 0, (size_t)len8 * 8);
	p[0] = ND6_OPT_PREFIX;
	p[1] = len8;
	p[2] = plen;
	p[3] = ND6_PI_ONLINK | ND6_PI_AUTO;
	wr_be32(p + 4, 1000);
	wr_be32(p + 8, 500);
	if (len8 >= 4) {
		struct ip6_addr a = A6(prefix);
		memcpy(p + 16, a.b, 16);
	}
	return (size_t)len8 * 8;
}

static void test_nd6_options(void **s)
{
	(void)s;
	static uint8_t o[2100], m[2200];
	struct nd6_repr r;
	size_t n = 0;
	/* Two SLLAOs, two MTUs, two nonces: the first of each is kept. */
	static const uint8_t sll_a[8] = {1, 1, 1, 2, 3, 4, 5, 6}, sll_b[8] = {1, 1, 9, 9, 9, 9, 9, 9};
	static const uint8_t mtu_a[8] = {5, 1, 0, 0, 0, 0, 5, 0xdc}, mtu_b[8] = {5, 1, 0, 0, 0, 0, 0x05, 0};
	static const uint8_t nonce[16] = {14, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
	static const uint8_t nonce_b[8] = {14, 1, 9, 9, 9, 9, 9, 9};
	memcpy(o + n, sll_a, 8), n += 8;
	memcpy(o + n, mtu_a, 8), n += 8;
	memcpy(o + n, sll_b, 8), n += 8;
	memcpy(o + n, mtu_b, 8), n += 8;
	memcpy(o + n, nonce, 16), n += 16;
	memcpy(o + n, nonce_b, 8), n += 8;
	assert_int_equal(ra_with(o, n, &r, m), 0);
	assert_memory_equal(r.opts.sll, sll_a + 2, 6);
	assert_int_equal(r.opts.mtu, 1500);
	assert_int_equal(r.opts.nonce_len, 14);
	assert_int_equal(r.opts.n_dup, 3);
	/* Prefix options: only length 4 and a prefix length up to 128 count;
	 * bits past the prefix length are ignored (RFC 4861 4.6.2). */
	n = 0;
	n += put_pio(o + n, 4, 64, "fd00000a00000000ffffffffffffffff");
	n += put_pio(o + n, 3, 64, "");
	n += put_pio(o + n, 5, 64, "fd00000b000000000000000000000000");
	n += put_pio(o + n, 4, 129, "fd00000c000000000000000000000000");
	n += put_pio(o + n, 4, 128, "fd00000d000000000000000000000001");
	n += put_pio(o + n, 4, 0, "ffffffffffffffffffffffffffffffff");
	static const uint8_t mtu_bad[16] = {5, 2};
	memcpy(o + n, mtu_bad, 16), n += 16;
	static const uint8_t rdnss[24] = {25, 3};
	memcpy(o + n, rdnss, 24), n += 24;
	assert_int_equal(ra_with(o, n, &r, m), 0);
	assert_int_equal(r.opts.n_prefix, 3);
	assert_int_equal(r.opts.n_bad, 4);
	assert_int_equal(r.opts.n_unknown, 1);
	assert_false(r.opts.has_mtu);
	struct ip6_addr p0 = A6("fd00000a000000000000000000000000"), p1 = A6("fd00000d000000000000000000000001");
	assert_true(ip6_addr_eq(&r.opts.prefix[0].prefix, &p0));
	assert_int_equal(r.opts.prefix[0].valid, 1000);
	assert_int_equal(r.opts.prefix[0].preferred, 500);
	assert_true(ip6_addr_eq(&r.opts.prefix[1].prefix, &p1));
	assert_int_equal(r.opts.prefix[1].len, 128);
	assert_true(ip6_is_unspecified(&r.opts.prefix[2].prefix));
	/* More prefixes than the table holds: counted and ignored. */
	n = 0;
	for (int i = 0; i < ND6_MAX_PREFIXES + 3; i++)
		n += put_pio(o + n, 4, 64, "20010db8000000000000000000000000");
	assert_int_equal(ra_with(o, n, &r, m), 0);
	assert_int_equal(r.opts.n_prefix, ND6_MAX_PREFIXES);
	assert_int_equal(r.opts.n_prefix_over, 3);
	/* A link-layer address of another length is kept with its length. */
	static const uint8_t sll16[16] = {1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
	assert_int_equal(ra_with(sll16, 16, &r, m), 0);
	assert_int_equal(r.opts.sll_len, 14);
	/* The longest option there is, and one a byte too long. */
	memset(o, 0, 2040);
	o[0] = 200;
	o[1] = 255;
	assert_int_equal(ra_with(o, 2040, &r, m), 0);
	assert_int_equal(r.opts.n_unknown, 1);
	assert_int_equal(ra_with(o, 2039, &r, m), -EINVAL);
	/* Many 8-byte options: the walk takes each once. */
	for (int i = 0; i < 250; i++) {
		o[8 * i] = 200;
		o[8 * i + 1] = 1;
	}
	assert_int_equal(ra_with(o, 2000, &r, m), 0);
	assert_int_equal(r.opts.n_unknown, 250);
}

static void check_same_nd(const struct nd6_repr *a, const struct nd6_repr *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->cur_hop_limit, b->cur_hop_limit);
	assert_int_equal(a->ra_flags, b->ra_flags);
	assert_int_equal(a->router_lifetime, b->router_lifetime);
	assert_int_equal(a->reachable_time, b->reachable_time);
	assert_int_equal(a->retrans_timer, b->retrans_timer);
	assert_true(ip6_addr_eq(&a->target, &b->target));
	assert_int_equal(a->na_flags, b->na_flags);
	const struct nd6_opts *x = &a->opts, *y = &b->opts;
	assert_int_equal(!x->sll, !y->sll);
	if (x->sll) {
		/* an address of n bytes comes back padded to the option's size */
		assert_true(y->sll_len >= x->sll_len && (y->sll_len + 2) % 8 == 0);
		assert_memory_equal(x->sll, y->sll, x->sll_len);
	}
	assert_int_equal(!x->tll, !y->tll);
	if (x->tll)
		assert_memory_equal(x->tll, y->tll, x->tll_len);
	assert_int_equal(x->has_mtu, y->has_mtu);
	assert_int_equal(x->mtu, y->mtu);
	assert_int_equal(!x->nonce, !y->nonce);
	if (x->nonce)
		assert_memory_equal(x->nonce, y->nonce, x->nonce_len);
	assert_int_equal(x->n_prefix, y->n_prefix);
	for (int i = 0; i < x->n_prefix; i++)
		assert_memory_equal(&x->prefix[i], &y->prefix[i], sizeof x->prefix[i]);
}

static void test_nd6_roundtrip(void **s)
{
	(void)s;
	static const uint8_t types[] = {ICMP6_ND_RS, ICMP6_ND_RA, ICMP6_ND_NS, ICMP6_ND_NA};
	uint8_t lladdr[20], nonce[20];
	static uint8_t buf[2048], buf2[2048];
	for (int i = 0; i < 3000; i++) {
		struct nd6_repr a, b;
		memset(&a, 0, sizeof a);
		a.type = types[rnd() % 4];
		struct ip6_addr src = A6("fe800000000000000000000000000001"),
				dst = A6("fd00000a000000000000000000000009");
		rnd_fill(src.b + 8, 8);
		if (a.type == ICMP6_ND_RA) {
			a.cur_hop_limit = (uint8_t)rnd();
			a.ra_flags = (uint8_t)rnd();
			a.router_lifetime = (uint16_t)rnd();
			a.reachable_time = (uint32_t)rnd();
			a.retrans_timer = (uint32_t)rnd();
		}
		if (a.type == ICMP6_ND_NS || a.type == ICMP6_ND_NA) {
			rnd_fill(a.target.b, 16);
			a.target.b[0] = 0x20;
		}
		if (a.type == ICMP6_ND_NA)
			a.na_flags = (uint8_t)(rnd() & 0xE0);
		rnd_fill(lladdr, sizeof lladdr);
		rnd_fill(nonce, sizeof nonce);
		if (rnd() & 1) {
			a.opts.sll = lladdr;
			a.opts.sll_len = (uint16_t)(rnd() % 2 ? 6 : 1 + rnd() % 20);
		}
		if (rnd() & 1) {
			a.opts.tll = lladdr + 1;
			a.opts.tll_len = 6;
		}
		if (rnd() & 1) {
			a.opts.has_mtu = 1;
			a.opts.mtu = (uint32_t)rnd();
		}
		if (rnd() & 1) {
			a.opts.nonce = nonce;
			a.opts.nonce_len = (uint16_t)(6 + rnd() % 14);
		}
		a.opts.n_prefix = (uint8_t)(rnd() % 4 == 0 ? rnd() % (ND6_MAX_PREFIXES + 1) : 0);
		for (int k = 0; k < a.opts.n_prefix; k++) {
			struct nd6_prefix *x = &a.opts.prefix[k];
			x->len = (uint8_t)(rnd() % 129);
			x->flags = (uint8_t)rnd();
			x->valid = (uint32_t)rnd();
			x->preferred = (uint32_t)rnd();
			rnd_fill(x->prefix.b, 16);
			x->prefix = ip6_prefix(&x->prefix, x->len);
		}
		size_t n = nd6_len(&a);
		memset(buf, 0xEE, sizeof buf);
		assert_int_equal(nd6_emit(&a, &src, &dst, buf), n);
		assert_int_equal(buf[n], 0xEE);
		struct icmp6_repr ic;
		assert_int_equal(icmp6_parse(buf, n, &src, &dst, &ic, 1), 0);
		assert_int_equal(nd6_parse(&ic, &src, &dst, &b), 0);
		check_same_nd(&a, &b);
		/* And b emits to the same bytes: emit is a fixed point. */
		assert_int_equal(nd6_emit(&b, &src, &dst, buf2), n);
		assert_memory_equal(buf, buf2, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv6_captured),
		cmocka_unit_test(test_ipv6_fields),
		cmocka_unit_test(test_ipv6_lengths),
		cmocka_unit_test(test_ipv6_roundtrip),
		cmocka_unit_test(test_ip6_addr_classes),
		cmocka_unit_test(test_ip6_v4mapped),
		cmocka_unit_test(test_ip6_solicited_node),
		cmocka_unit_test(test_ip6_eui64),
		cmocka_unit_test(test_ip6_iid_reserved),
		cmocka_unit_test(test_mld6),
		cmocka_unit_test(test_ip6_prefix),
		cmocka_unit_test(test_csum_pseudo6),
		cmocka_unit_test(test_csum_pseudo6_captured),
		cmocka_unit_test(test_ip6ext_captured),
		cmocka_unit_test(test_ip6_opts_padding),
		cmocka_unit_test(test_ip6_opts_tlv),
		cmocka_unit_test(test_ip6_opts_hdr_emit),
		cmocka_unit_test(test_ip6_frag_hdr),
		cmocka_unit_test(test_ip6_is_ext_hdr),
		cmocka_unit_test(test_ip6_walk_chain),
		cmocka_unit_test(test_ip6_walk_ends),
		cmocka_unit_test(test_ip6_walk_hbh_first),
		cmocka_unit_test(test_ip6_walk_routing),
		cmocka_unit_test(test_ip6_walk_option_actions),
		cmocka_unit_test(test_ip6_walk_caps),
		cmocka_unit_test(test_ip6_walk_truncated),
		cmocka_unit_test(test_ip6_walk_from_args),
		cmocka_unit_test(test_ip6_frag_chain_ok),
		cmocka_unit_test(test_ip6_walk_random),
		cmocka_unit_test(test_icmp6_captured),
		cmocka_unit_test(test_icmp6_lengths_and_checksum),
		cmocka_unit_test(test_icmp6_emit_moves_payload),
		cmocka_unit_test(test_icmp6_quote_len),
		cmocka_unit_test(test_icmp6_error_rebuild),
		cmocka_unit_test(test_icmp6_quote_parse),
		cmocka_unit_test(test_icmp6_quote_errors),
		cmocka_unit_test(test_nd6_captured),
		cmocka_unit_test(test_nd6_hop_limit),
		cmocka_unit_test(test_nd6_validity),
		cmocka_unit_test(test_nd6_options),
		cmocka_unit_test(test_nd6_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
