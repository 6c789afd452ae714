/* A stack under test (the "DUT", 10.0.0.2/16) on an in-memory link whose
 * other end is driven raw by the test (the peer, 10.0.0.1,
 * 02:00:00:00:00:01) on a virtual clock: frame builders, a capture of what
 * the DUT sends (its ARP requests for 10.0.0.0/16 are answered by the peer
 * and not kept), and setups (UDP socket, listener, established connection,
 * connection being opened). Used by test_badinput.c, test_random.c and
 * test_counters.c (tests/lib/dut.c). */
#ifndef US_TEST_DUT_H
#define US_TEST_DUT_H
#include <stddef.h>
#include <stdint.h>

#include "core/pkt.h"
#include "ustack/ustack.h"

#define DUT_IP 0x0a000002u   /* 10.0.0.2/16 */
#define PEER_IP 0x0a000001u  /* 10.0.0.1 */
#define BCAST_IP 0x0a00ffffu /* the subnet broadcast */
#define LPORT 80
#define PPORT 40000
#define UPORT 7000
extern const uint8_t DUT_MAC[6];
extern const uint8_t PEER_MAC[6];
extern const uint8_t BC_MAC[6];

enum { S_NONE = 0, S_UDP, S_LISTEN, S_EST, S_CONNECTING };
enum { R_NONE = 0, R_RST, R_ACK, R_SYNACK, R_ICMP, R_ECHO, R_ARP_REPLY, R_GARP, R_UDP, R_OTHER, R_ICMP6 };
enum { A_NONE = 0, A_ALIVE, A_RESET };

struct rx {
	uint8_t *b;
	uint32_t len;
	int kind;
	/* parsed, for rows' checks */
	uint8_t icmp_type, icmp_code, tcp_flags;
	uint32_t seq, ack;
	uint16_t win, ip_len;
	const uint8_t *l4; /* transport header */
	uint32_t l4_len;
};

#define RX_MAX 8192
struct dut {
	struct us_stack *st;
	struct us_link *peer;
	struct pkt_pool pool;
	int ifx;
	uint64_t now;
	struct rx *rx;
	int nrx;
	uint64_t arp_answered;
	/* sockets */
	int lfd, afd, ufd, cfd;
	/* the peer's side of the TCP connection */
	uint32_t snd_nxt; /* next sequence number the peer sends */
	uint32_t rcv_nxt; /* next sequence number expected from the DUT */
	uint32_t dut_iss;
	uint16_t sport;    /* peer's port of the connection */
	uint32_t peer_isn; /* for rows that choose it */
	uint16_t cport;    /* S_CONNECTING: the DUT's ephemeral port */
};

struct ipo {
	uint32_t src, dst;
	uint8_t proto;
	uint16_t id;
	uint16_t frag; /* flags and offset field as on the wire */
	const uint8_t *opt;
	size_t optlen; /* a multiple of 4 */
	uint8_t ttl;
	int bad_csum;
	int src_zero; /* src 0.0.0.0 literally (src 0 means the peer) */
};

struct tcpo {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t urg;
	const uint8_t *opt;
	size_t optlen;     /* padded by the caller to a multiple of 4 */
	int doff;          /* data offset override (words; 16 means 0), 0: computed */
	uint32_t csum_dst; /* checksum over this destination instead (a wrong pseudo-header) */
	int bad_csum;
	uint32_t src; /* default PEER_IP */
};

extern uint8_t fbuf[70000], pbuf[70000]; /* scratch for frame builders */
/* SYN options: MSS 1460, SACK permitted, window scale 7 (no timestamps, so
 * rows can send bare segments). */
extern const uint8_t syn_opts[12];

void inject(struct dut *d, const void *frame, size_t len);
size_t eth_hdr(uint8_t *o, const uint8_t *dst, uint16_t type);
/* Ethernet around raw bytes, to the DUT's MAC. */
void send_eth(struct dut *d, const uint8_t *dst, uint16_t type, const void *pl, size_t len);
/* An IPv4 packet into o; returns its length. */
size_t ip4(uint8_t *o, const struct ipo *ip, const void *pl, size_t plen);
void fix_ip_csum(uint8_t *o);
void send_ip(struct dut *d, const struct ipo *ip, const void *pl, size_t plen);
size_t icmp_msg(uint8_t *o, uint8_t type, uint8_t code, uint32_t rest, const void *pl, size_t plen);
void send_echo_from(struct dut *d, uint32_t src, uint32_t dst, uint16_t seq, size_t n);
void send_echo(struct dut *d, uint16_t seq);
size_t udp_dgram(uint8_t *o, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, const void *pl, size_t plen);
void send_udp(struct dut *d, uint32_t dst, uint16_t dport, const void *pl, size_t plen);
size_t tcp_seg(uint8_t *o, const struct tcpo *t, const void *data, size_t dlen);
void send_tcp(struct dut *d, const struct tcpo *t, const void *data, size_t dlen);
/* A segment on the established connection, from the peer's state. */
void est_seg(struct dut *d, uint8_t flags, uint32_t seq, uint32_t ack, const void *data, size_t n);
void send_arp(struct dut *d, const uint8_t *dst, uint16_t op, const uint8_t *sha, uint32_t spa, const uint8_t *tha,
	      uint32_t tpa);
void classify(struct rx *r);
/* Take what the DUT sent: answer its ARP requests for peers, keep the rest. */
void drain(struct dut *d);
void rx_clear(struct dut *d);
/* Run the DUT for ns of virtual time (events jump the clock). */
void run(struct dut *d, uint64_t ns);
struct us_stack_config base_cfg(void);
void dut_init(struct dut *d, const struct us_stack_config *cfg);
void dut_free(struct dut *d);
int count_kind(const struct dut *d, int kind);
const struct rx *first_kind(const struct dut *d, int kind);
void setup_udp(struct dut *d);
void setup_listen(struct dut *d);
void setup_est(struct dut *d);
struct us_tcp_info tinfo(struct dut *d, int fd);
/* The DUT connects to the peer; the SYN is captured, never answered. */
void setup_connecting(struct dut *d);
#endif
