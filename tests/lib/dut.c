/* The DUT harness (dut.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/bytes.h"
#include "dut.h"
#include "link/link.h"
#include "sim.h"
#include "wire/csum.h"
#include "wire/eth.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

const uint8_t DUT_MAC[6] = {2, 0, 0, 0, 0, 2};
const uint8_t PEER_MAC[6] = {2, 0, 0, 0, 0, 1};
const uint8_t BC_MAC[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- frames ------------------------------------------------------------- */

uint8_t fbuf[70000];
uint8_t pbuf[70000];

void inject(struct dut *d, const void *frame, size_t len)
{
	struct pkt *p = pkt_alloc(&d->pool, (uint32_t)len, 0);
	assert_non_null(p);
	if (len)
		memcpy(pkt_put(p, (uint32_t)len), frame, len);
	struct pkt *one[1] = {p};
	link_send(d->peer, one, 1, d->now);
}

size_t eth_hdr(uint8_t *o, const uint8_t *dst, uint16_t type)
{
	memcpy(o, dst, 6);
	memcpy(o + 6, PEER_MAC, 6);
	wr_be16(o + 12, type);
	return 14;
}

/* Ethernet around raw bytes, to the DUT's MAC. */
void send_eth(struct dut *d, const uint8_t *dst, uint16_t type, const void *pl, size_t len)
{
	size_t h = eth_hdr(fbuf, dst, type);
	if (len)
		memcpy(fbuf + h, pl, len);
	inject(d, fbuf, h + len);
}

/* An IPv4 packet into o; returns its length. */
size_t ip4(uint8_t *o, const struct ipo *ip, const void *pl, size_t plen)
{
	size_t hl = 20 + ip->optlen;
	o[0] = (uint8_t)(0x40 | (hl / 4));
	o[1] = 0;
	wr_be16(o + 2, (uint16_t)(hl + plen));
	wr_be16(o + 4, ip->id);
	wr_be16(o + 6, ip->frag);
	o[8] = ip->ttl ? ip->ttl : 64;
	o[9] = ip->proto;
	wr_be16(o + 10, 0);
	wr_be32(o + 12, ip->src_zero ? 0 : ip->src ? ip->src : PEER_IP);
	wr_be32(o + 16, ip->dst ? ip->dst : DUT_IP);
	if (ip->optlen)
		memcpy(o + 20, ip->opt, ip->optlen);
	wr_be16(o + 10, (uint16_t)(csum_fold(csum_partial(o, hl, 0)) ^ (ip->bad_csum ? 0x1111 : 0)));
	if (plen)
		memmove(o + hl, pl, plen);
	return hl + plen;
}

void fix_ip_csum(uint8_t *o)
{
	size_t hl = (size_t)(o[0] & 15) * 4;
	wr_be16(o + 10, 0);
	wr_be16(o + 10, csum_fold(csum_partial(o, hl, 0)));
}

void send_ip(struct dut *d, const struct ipo *ip, const void *pl, size_t plen)
{
	const uint8_t *dmac = (ip->dst == BCAST_IP || ip->dst == 0xffffffffu) ? BC_MAC
			      : (ip->dst >> 28) == 0xE                        ? (const uint8_t[]){1, 0, 0x5e, 0, 0, 1}
									      : DUT_MAC;
	size_t h = eth_hdr(fbuf, dmac, ETH_P_IPV4);
	size_t n = ip4(fbuf + h, ip, pl, plen);
	inject(d, fbuf, h + n);
}

size_t icmp_msg(uint8_t *o, uint8_t type, uint8_t code, uint32_t rest, const void *pl, size_t plen)
{
	o[0] = type;
	o[1] = code;
	wr_be16(o + 2, 0);
	wr_be32(o + 4, rest);
	if (plen)
		memmove(o + 8, pl, plen);
	wr_be16(o + 2, csum_fold(csum_partial(o, 8 + plen, 0)));
	return 8 + plen;
}

void send_echo_from(struct dut *d, uint32_t src, uint32_t dst, uint16_t seq, size_t n)
{
	uint8_t data[1500];
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 13 + seq);
	size_t l = icmp_msg(pbuf, ICMP_ECHO, 0, 0x42420000u | seq, data, n);
	struct ipo ip = {.src = src, .dst = dst, .proto = IP_PROTO_ICMP, .id = seq, .src_zero = src == 0};
	send_ip(d, &ip, pbuf, l);
}

void send_echo(struct dut *d, uint16_t seq) { send_echo_from(d, PEER_IP, DUT_IP, seq, 32); }

size_t udp_dgram(uint8_t *o, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, const void *pl, size_t plen)
{
	wr_be16(o, sport);
	wr_be16(o + 2, dport);
	wr_be16(o + 4, (uint16_t)(8 + plen));
	wr_be16(o + 6, 0);
	if (plen)
		memmove(o + 8, pl, plen);
	uint16_t ck = csum_fold(csum_partial(o, 8 + plen, csum_pseudo4(src, dst, IP_PROTO_UDP, (uint16_t)(8 + plen))));
	wr_be16(o + 6, ck ? ck : 0xffff);
	return 8 + plen;
}

void send_udp(struct dut *d, uint32_t dst, uint16_t dport, const void *pl, size_t plen)
{
	size_t l = udp_dgram(pbuf, PEER_IP, dst, 5555, dport, pl, plen);
	struct ipo ip = {.dst = dst, .proto = IP_PROTO_UDP};
	send_ip(d, &ip, pbuf, l);
}

size_t tcp_seg(uint8_t *o, const struct tcpo *t, const void *data, size_t dlen)
{
	size_t hl = 20 + t->optlen;
	wr_be16(o, t->sport ? t->sport : PPORT);
	wr_be16(o + 2, t->dport ? t->dport : LPORT);
	wr_be32(o + 4, t->seq);
	wr_be32(o + 8, t->ack);
	o[12] = (uint8_t)(((t->doff ? t->doff : (int)(hl / 4)) & 15) << 4);
	o[13] = t->flags;
	wr_be16(o + 14, t->win ? t->win : 65535);
	wr_be16(o + 16, 0);
	wr_be16(o + 18, t->urg);
	if (t->optlen)
		memcpy(o + 20, t->opt, t->optlen);
	if (dlen)
		memmove(o + hl, data, dlen);
	uint32_t src = t->src ? t->src : PEER_IP;
	uint32_t dst = t->csum_dst ? t->csum_dst : DUT_IP;
	uint16_t ck =
		csum_fold(csum_partial(o, hl + dlen, csum_pseudo4(src, dst, IP_PROTO_TCP, (uint16_t)(hl + dlen))));
	wr_be16(o + 16, (uint16_t)(ck ^ (t->bad_csum ? 0x2222 : 0)));
	return hl + dlen;
}

void send_tcp(struct dut *d, const struct tcpo *t, const void *data, size_t dlen)
{
	size_t l = tcp_seg(pbuf, t, data, dlen);
	struct ipo ip = {.src = t->src, .proto = IP_PROTO_TCP, .frag = 0x4000};
	send_ip(d, &ip, pbuf, l);
}

/* A segment on the established connection, from the peer's state. */
void est_seg(struct dut *d, uint8_t flags, uint32_t seq, uint32_t ack, const void *data, size_t n)
{
	struct tcpo t = {.sport = d->sport, .seq = seq, .ack = ack, .flags = flags};
	send_tcp(d, &t, data, n);
}

void send_arp(struct dut *d, const uint8_t *dst, uint16_t op, const uint8_t *sha, uint32_t spa, const uint8_t *tha,
	      uint32_t tpa)
{
	uint8_t a[28];
	wr_be16(a, 1);
	wr_be16(a + 2, ETH_P_IPV4);
	a[4] = 6;
	a[5] = 4;
	wr_be16(a + 6, op);
	memcpy(a + 8, sha, 6);
	wr_be32(a + 14, spa);
	memcpy(a + 18, tha ? tha : (const uint8_t[6]){0}, 6);
	wr_be32(a + 24, tpa);
	send_eth(d, dst, ETH_P_ARP, a, sizeof(a));
}

/* ---- the DUT ------------------------------------------------------------ */

void classify(struct rx *r)
{
	const uint8_t *b = r->b;
	r->kind = R_OTHER;
	if (r->len < 14)
		return;
	uint16_t type = rd_be16(b + 12);
	if (type == ETH_P_ARP && r->len >= 42) {
		uint16_t op = rd_be16(b + 20);
		if (op == 2)
			r->kind = R_ARP_REPLY;
		else if (rd_be32(b + 28) == rd_be32(b + 38))
			r->kind = R_GARP;
		return;
	}
	if (type == ETH_P_IPV6 && r->len >= 14 + 40 + 4) {
		/* The DUT's ICMPv6: right after the header, or (MLD) after an
		 * 8-byte hop-by-hop header holding a router alert. */
		const uint8_t *ip6 = b + 14;
		if (ip6[6] == 58 || (ip6[6] == 0 && r->len >= 14 + 48 + 4 && ip6[40] == 58 && ip6[41] == 0)) {
			uint32_t off = ip6[6] == 58 ? 40 : 48;
			r->icmp_type = ip6[off];
			r->icmp_code = ip6[off + 1];
			r->l4 = ip6 + off;
			r->l4_len = r->len - 14 - off;
			r->kind = R_ICMP6;
		} else if (ip6[6] == IP_PROTO_TCP && r->len >= 14 + 40 + 20) {
			r->l4 = ip6 + 40;
			r->l4_len = r->len - 54;
			r->tcp_flags = r->l4[13];
			r->seq = rd_be32(r->l4 + 4);
			r->ack = rd_be32(r->l4 + 8);
			r->win = rd_be16(r->l4 + 14);
			r->kind = (r->tcp_flags & TCP_RST) ? R_RST : R_OTHER;
		}
		return;
	}
	if (type != ETH_P_IPV4 || r->len < 34)
		return;
	const uint8_t *ip = b + 14;
	size_t hl = (size_t)(ip[0] & 15) * 4;
	r->ip_len = rd_be16(ip + 2);
	r->l4 = ip + hl;
	r->l4_len = r->ip_len > hl ? r->ip_len - (uint32_t)hl : 0;
	if (ip[9] == IP_PROTO_TCP && r->l4_len >= 20) {
		r->tcp_flags = r->l4[13];
		r->seq = rd_be32(r->l4 + 4);
		r->ack = rd_be32(r->l4 + 8);
		r->win = rd_be16(r->l4 + 14);
		if (r->tcp_flags & TCP_RST)
			r->kind = R_RST;
		else if ((r->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
			r->kind = R_SYNACK;
		else
			r->kind = R_ACK;
	} else if (ip[9] == IP_PROTO_ICMP && r->l4_len >= 8) {
		r->icmp_type = r->l4[0];
		r->icmp_code = r->l4[1];
		r->kind = r->icmp_type == ICMP_ECHOREPLY ? R_ECHO : R_ICMP;
	} else if (ip[9] == IP_PROTO_UDP) {
		r->kind = R_UDP;
	}
}

/* Take what the DUT sent: answer its ARP requests for peers, keep the rest. */
void drain(struct dut *d)
{
	struct pkt *p[64];
	int n;
	while ((n = link_recv(d->peer, p, 64, d->now)) > 0) {
		for (int i = 0; i < n; i++) {
			const uint8_t *b = p[i]->data;
			uint32_t len = p[i]->len;
			if (len >= 42 && rd_be16(b + 12) == ETH_P_ARP && rd_be16(b + 20) == 1 &&
			    rd_be32(b + 28) != rd_be32(b + 38) && (rd_be32(b + 38) >> 16) == (PEER_IP >> 16) &&
			    rd_be32(b + 38) != DUT_IP) {
				/* An ARP request for one of "our" addresses: answer it. */
				d->arp_answered++;
				uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
				send_arp(d, b + 6, 2, mac, rd_be32(b + 38), b + 22, rd_be32(b + 28));
			} else if (d->nrx < RX_MAX) {
				struct rx *r = &d->rx[d->nrx++];
				memset(r, 0, sizeof(*r));
				r->b = malloc(len);
				assert_non_null(r->b);
				memcpy(r->b, b, len);
				r->len = len;
				classify(r);
			}
			pkt_free(&d->pool, p[i]);
		}
	}
}

void rx_clear(struct dut *d)
{
	for (int i = 0; i < d->nrx; i++)
		free(d->rx[i].b);
	d->nrx = 0;
}

/* Run the DUT for ns of virtual time (events jump the clock). */
void run(struct dut *d, uint64_t ns)
{
	uint64_t end = d->now + ns;
	for (long steps = 0; steps < 10000000L; steps++) {
		us_stack_input(d->st, d->now);
		us_stack_timers(d->st, d->now);
		drain(d);
		if (us_stack_has_pending(d->st))
			continue;
		int64_t dl = us_stack_next_deadline(d->st);
		if (d->now >= end)
			return;
		if (dl < 0 || (uint64_t)dl > end)
			d->now = end;
		else if ((uint64_t)dl > d->now)
			d->now = (uint64_t)dl;
		else
			d->now = ((d->now >> 20) + 1) << 20;
		if (d->now > end)
			d->now = end;
	}
}

struct us_stack_config base_cfg(void)
{
	struct us_stack_config c;
	memset(&c, 0, sizeof(c));
	c.seed = 7;
	c.frame_bufs = 2048;
	c.large_bufs = 48;
	c.neigh_entries = 64;
	c.tcp_challenge_ack_limit = 100000; /* rows about the limit set their own */
	return c;
}

void dut_init(struct dut *d, const struct us_stack_config *cfg)
{
	memset(d, 0, sizeof(*d));
	d->lfd = d->afd = d->ufd = d->cfd = -1;
	d->now = 1000000000ull;
	d->rx = calloc(RX_MAX, sizeof(struct rx));
	assert_non_null(d->rx);
	struct us_link *dl;
	assert_int_equal(us_link_mem_pair(&d->peer, &dl, 1500, 0), 0);
	assert_int_equal(pkt_pool_init(&d->pool, 2048, 8192, 2), 0);
	d->peer->pool = &d->pool;
	d->st = us_stack_new(cfg);
	assert_non_null(d->st);
	d->ifx = us_iface_add(d->st, dl);
	struct in_addr a = {htonl(DUT_IP)};
	us_iface_addr_add(d->st, d->ifx, a, 16);
	us_stack_timers(d->st, d->now);
	us_iface_up(d->st, d->ifx);
	/* IPv6 autoconfiguration runs its course first (DAD of the link-local
	 * address, three router solicitations 4 s apart): rows see only what
	 * their own input causes. */
	run(d, 10000000000ull);
	/* The peer introduces itself: the DUT learns its MAC (RFC 826 merge). */
	send_arp(d, BC_MAC, 1, PEER_MAC, PEER_IP, NULL, DUT_IP);
	run(d, MS(1));
	rx_clear(d);
}

void dut_free(struct dut *d)
{
	rx_clear(d);
	free(d->rx);
	us_stack_free(d->st);
	us_link_close(d->peer);
	pkt_pool_destroy(&d->pool);
}

int count_kind(const struct dut *d, int kind)
{
	int n = 0;
	for (int i = 0; i < d->nrx; i++)
		n += d->rx[i].kind == kind;
	return n;
}

const struct rx *first_kind(const struct dut *d, int kind)
{
	for (int i = 0; i < d->nrx; i++)
		if (d->rx[i].kind == kind)
			return &d->rx[i];
	return NULL;
}

/* ---- setups ------------------------------------------------------------- */

void setup_udp(struct dut *d)
{
	d->ufd = us_socket(d->st, AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sim_addr("0.0.0.0", UPORT);
	assert_int_equal(us_bind(d->st, d->ufd, (struct sockaddr *)&a, sizeof(a)), 0);
}

void setup_listen(struct dut *d)
{
	d->lfd = us_socket(d->st, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = sim_addr("0.0.0.0", LPORT);
	assert_int_equal(us_bind(d->st, d->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(us_listen(d->st, d->lfd, 16), 0);
}

const uint8_t syn_opts[12] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 1, 1};

void setup_est(struct dut *d)
{
	setup_listen(d);
	d->sport = PPORT;
	uint32_t isn = d->peer_isn ? d->peer_isn : 0x10000000u;
	struct tcpo t = {.sport = d->sport, .seq = isn, .flags = TCP_SYN, .opt = syn_opts, .optlen = sizeof(syn_opts)};
	send_tcp(d, &t, NULL, 0);
	run(d, MS(1));
	const struct rx *sa = first_kind(d, R_SYNACK);
	assert_non_null(sa);
	assert_int_equal(sa->ack, isn + 1);
	d->dut_iss = sa->seq;
	d->snd_nxt = isn + 1;
	d->rcv_nxt = sa->seq + 1;
	est_seg(d, TCP_ACK, d->snd_nxt, d->rcv_nxt, NULL, 0);
	run(d, MS(1));
	d->afd = us_accept(d->st, d->lfd, NULL, NULL);
	assert_true(d->afd >= 0);
	rx_clear(d);
}

struct us_tcp_info tinfo(struct dut *d, int fd)
{
	struct us_tcp_info i;
	memset(&i, 0, sizeof(i));
	socklen_t l = sizeof(i);
	if (us_getsockopt(d->st, fd, IPPROTO_TCP, TCP_INFO, &i, &l) < 0)
		i.state = 0xff;
	return i;
}

/* The DUT connects to the peer; the SYN is captured, never answered. */
void setup_connecting(struct dut *d)
{
	d->cfd = us_socket(d->st, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = sim_addr("10.0.0.1", 9000);
	assert_int_equal(us_connect(d->st, d->cfd, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	run(d, MS(1));
	const struct rx *syn = first_kind(d, R_ACK); /* a bare SYN classifies as R_ACK */
	assert_non_null(syn);
	assert_true(syn->tcp_flags & TCP_SYN);
	d->dut_iss = syn->seq;
	d->cport = rd_be16(syn->l4);
	rx_clear(d);
}
