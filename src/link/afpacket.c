/* AF_PACKET: a device on an existing interface through PACKET_MMAP rings,
 * where AF_XDP is not available (no XDP in the driver or kernel, no BPF).
 *
 * Receive is a TPACKET_V2 ring of fixed-size frame slots (walked by
 * link/tpacket_ring.h): the kernel hands each frame over as soon as it has
 * written it (TP_STATUS_USER in the slot) and wakes poll for it. Not
 * TPACKET_V3: V3 hands over whole blocks of frames, and a block that is
 * not full goes up only when its retire timer runs out (1 ms at the
 * least), so a lone request waited for the timer and 1-byte
 * request/response was capped near 1,000 transactions/s (one per ms),
 * where TAP and AF_XDP did about 9,000/s. Each frame is copied once, from
 * the ring into a packet buffer (the ring's memory is the kernel's, so
 * unlike AF_XDP's UMEM it cannot be the stack's pool); a receive call
 * looks at no more slots than it may return frames, bad ones included.
 * Every field of a slot is the kernel's to write, so each is checked
 * against the slot before it is followed. Transmit is a TPACKET_V2 TX ring
 * (the version is per socket: the same as receive's): frames are written
 * into it and one sendto sends the batch, with PACKET_QDISC_BYPASS
 * (straight to the driver, as a NIC queue would be used).
 *
 * A packet socket sees every frame on the interface while the kernel goes
 * on receiving them too, so a classic BPF filter, rebuilt when the stack's
 * addresses change (link op addr), lets through only the frames for the
 * stack's addresses: ARP whose target is ours, IPv4 and IPv6 to ours. The
 * kernel drops those itself (they are not its own addresses) and keeps
 * everything else.
 *
 * Queues: links with the same fanout group (us_link_packet_opts) join one
 * PACKET_FANOUT_HASH group, so the kernel spreads flows over them by hash;
 * ARP then comes to each of them through a socket of its own outside the
 * group, so every queue's stack sees every ARP reply. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/bytes.h"
#include "link/link.h"
#include "link/tpacket_ring.h"
#include "ustack/host.h"
#include "ustack/link.h"

#define PK_ADDR_MAX 16
#define PK_FRAME 2048u /* a ring slot, receive and transmit */
/* Where the kernel puts a frame's data in a slot it sends from (off =
 * tp_hdrlen - sizeof(struct sockaddr_ll)), and where it puts a received
 * frame's Ethernet header: after the header, the address, 16 bytes aligned,
 * less the 14 of Ethernet. A slot then holds at most PK_RX_MAX bytes. */
#define TX_DATA_OFF TPACKET_ALIGN(sizeof(struct tpacket2_hdr))
#define RX_MAC_OFF (TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - 14)
#define PK_RX_MAX (PK_FRAME - RX_MAC_OFF)

struct pk_link {
	struct us_link l;
	int sock, arp_sock, ep; /* ep: both sockets, in fanout mode (l->fd) */
	int ifindex;
	uint8_t *map;
	size_t map_len;
	struct tp_rx rx;
	uint8_t *tx_ring;
	uint32_t tx_frame_size, tx_frames, tx_head;
	struct us_addr addrs[PK_ADDR_MAX];
	int n_addrs;
	struct us_link_packet_info info;
};

static struct pk_link *pk(struct us_link *l) { return (struct pk_link *)l; }

/* ---- the socket filter ---- */

struct cbpf {
	struct sock_filter f[256];
	int n;
};

static void op(struct cbpf *b, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (b->n < 256)
		b->f[b->n++] = (struct sock_filter){code, jt, jf, k};
}

/* Accept when the 32-bit words at offs[] equal one address's words; the
 * accept and reject returns are the last two instructions. Jumps are
 * resolved relative to the end: patched by the caller through fix[]. */
static int build_filter(struct cbpf *b, const struct us_addr *addrs, int n, int want_ip, int want_arp)
{
	b->n = 0;
	int n4 = 0, n6 = 0;
	for (int i = 0; i < n; i++) {
		if (addr_is_v4(&addrs[i]))
			n4++;
		else
			n6++;
	}
	/* Layout: [0] ldh type; tests; blocks; [ret 0xffff]; [ret 0] */
	int fixes_reject[8], nr = 0;
	op(b, BPF_LD | BPF_H | BPF_ABS, 0, 0, 12);
	int j_ip4 = -1, j_arp = -1, j_ip6 = -1;
	if (want_ip && n4) {
		j_ip4 = b->n;
		op(b, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, ETH_P_IP);
	}
	if (want_arp && n4) {
		j_arp = b->n;
		op(b, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, ETH_P_ARP);
	}
	if (want_ip && n6) {
		j_ip6 = b->n;
		op(b, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, ETH_P_IPV6);
	}
	fixes_reject[nr++] = b->n;
	op(b, BPF_JMP | BPF_JA, 0, 0, 0);
	int acc_fix[256], nacc = 0;
	for (int kind = 0; kind < 3; kind++) {
		int j = kind == 0 ? j_ip4 : kind == 1 ? j_arp : j_ip6;
		if (j < 0)
			continue;
		b->f[j].jt = (uint8_t)(b->n - j - 1);
		if (kind < 2) {
			op(b, BPF_LD | BPF_W | BPF_ABS, 0, 0, kind == 0 ? 30 : 38);
			for (int i = 0; i < n; i++) {
				if (!addr_is_v4(&addrs[i]))
					continue;
				acc_fix[nacc++] = b->n;
				op(b, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, addr_v4(&addrs[i]));
			}
		} else {
			for (int i = 0; i < n; i++) {
				if (addr_is_v4(&addrs[i]))
					continue;
				/* four words; a mismatch skips to the next address */
				int start = b->n;
				for (int w = 0; w < 4; w++) {
					op(b, BPF_LD | BPF_W | BPF_ABS, 0, 0, 38 + 4 * w);
					op(b, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, ntohl(addrs[i].w[w]));
				}
				int end = b->n;
				for (int w = 0; w < 4; w++) {
					int at = start + 2 * w + 1;
					b->f[at].jf = (uint8_t)(end - at - 1);
					if (w < 3)
						b->f[at].jt = 0;
				}
				acc_fix[nacc++] = end - 1; /* the last compare's jt: accept */
			}
		}
		fixes_reject[nr++] = b->n;
		op(b, BPF_JMP | BPF_JA, 0, 0, 0);
	}
	int acc = b->n;
	op(b, BPF_RET | BPF_K, 0, 0, 0x40000);
	int rej = b->n;
	op(b, BPF_RET | BPF_K, 0, 0, 0);
	if (b->n >= 256)
		return -E2BIG;
	for (int i = 0; i < nacc; i++) {
		if (acc - acc_fix[i] - 1 > 255)
			return -E2BIG;
		b->f[acc_fix[i]].jt = (uint8_t)(acc - acc_fix[i] - 1);
	}
	for (int i = 0; i < nr; i++)
		b->f[fixes_reject[i]].k = (uint32_t)(rej - fixes_reject[i] - 1);
	return 0;
}

static int set_filter(int s, const struct us_addr *addrs, int n, int want_ip, int want_arp)
{
	struct cbpf b;
	int rc = build_filter(&b, addrs, n, want_ip, want_arp);
	if (rc < 0)
		return rc;
	struct sock_fprog fp = {(unsigned short)b.n, b.f};
	return setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0 ? -errno : 0;
}

static int apply_filters(struct pk_link *k)
{
	int fan = k->arp_sock >= 0;
	int rc = set_filter(k->sock, k->addrs, k->n_addrs, 1, !fan);
	if (rc == 0 && fan)
		rc = set_filter(k->arp_sock, k->addrs, k->n_addrs, 0, 1);
	return rc;
}

/* ---- receive ---- */

/* Checksum state from the ring's status: a frame from this host (a veth
 * peer) may carry only the pseudo-header sum (CSUMNOTREADY). */
static void rx_csum(struct pkt *p, uint32_t status)
{
	if (status & (TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID))
		p->flags |= PKT_F_CSUM_OK;
	if (!(status & TP_STATUS_CSUMNOTREADY) || p->len < 14 + 20)
		return;
	const uint8_t *d = p->data;
	if (d[12] != 0x08 || d[13] != 0x00 || (d[14] >> 4) != 4)
		return;
	uint32_t ihl = (uint32_t)(d[14] & 0xf) * 4;
	uint8_t proto = d[14 + 9];
	uint32_t l4 = 14 + ihl;
	uint8_t coff = proto == 6 ? 16 : proto == 17 ? 6 : 0;
	if (ihl < 20 || !coff || l4 + coff + 2 > p->len)
		return;
	/* Kept so a capture can finish the checksum it writes. */
	p->csum_l4 = (uint16_t)(p->data - p->buf + l4);
	p->csum_off = coff;
}

/* The kernel's count of frames it dropped for want of a free slot since
 * the last look (reading it resets it): looked at when a frame says so. */
static void rx_kernel_drops(struct pk_link *k)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);
	memset(&st, 0, sizeof(st));
	if (getsockopt(k->sock, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
		k->info.rx_kernel_drops += st.tp_drops;
		k->l.rx_drops += st.tp_drops;
	}
}

static int pk_recv(struct us_link *l, struct pkt **pkts, int max, uint64_t now)
{
	struct pk_link *k = pk(l);
	int n = 0, losing = 0;
	uint32_t room = l->mtu + 18;
	/* At most max slots looked at, good or bad: pending says when more wait. */
	for (int seen = 0; seen < max; seen++) {
		struct tp_frame f;
		int r = tp_next(&k->rx, &f);
		if (r == TP_NONE)
			break;
		if (f.status & TP_STATUS_LOSING)
			losing = 1;
		if (r == TP_BAD) {
			l->rx_drops++;
			continue;
		}
		struct pkt *p = NULL;
		if (f.len != f.wire_len || f.len > room || f.len == 0 || (f.status & TP_STATUS_VLAN_VALID) ||
		    !(p = pkt_alloc(l->pool, f.len, PKT_HEADROOM))) {
			/* truncated, too long, tagged (the tag was taken off: not for
			 * an untagged interface) or no buffer */
			l->rx_drops++;
			if (!p && f.len == f.wire_len && f.len <= room && f.len && !(f.status & TP_STATUS_VLAN_VALID))
				l->rx_nobuf++;
			tp_done(&k->rx);
			continue;
		}
		memcpy(p->data, f.data, f.len);
		tp_done(&k->rx);
		p->len = f.len;
		p->ts = now;
		rx_csum(p, f.status);
		pkts[n++] = p;
	}
	if (losing)
		rx_kernel_drops(k);
	/* ARP, outside the fanout group */
	while (k->arp_sock >= 0 && n < max) {
		struct pkt *p = pkt_alloc(l->pool, room, PKT_HEADROOM);
		if (!p)
			break;
		ssize_t r = recv(k->arp_sock, p->data, room, MSG_DONTWAIT | MSG_TRUNC);
		if (r <= 0 || (size_t)r > room) {
			pkt_free(l->pool, p);
			if (r > 0) {
				l->rx_drops++;
				continue;
			}
			break;
		}
		p->len = (uint32_t)r;
		p->ts = now;
		pkts[n++] = p;
	}
	k->info.rx_bad = k->rx.bad;
	l->rx_frames += (uint64_t)n;
	return n;
}

static int pk_pending(struct us_link *l) { return tp_ready(&pk(l)->rx); }

/* ---- transmit ---- */

static int pk_send(struct us_link *l, struct pkt **pkts, int n, uint64_t now)
{
	(void)now;
	struct pk_link *k = pk(l);
	int queued = 0;
	for (int i = 0; i < n; i++) {
		struct pkt *p = pkts[i];
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)(k->tx_ring + (uint64_t)k->tx_head * k->tx_frame_size);
		uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
		if (st == TP_STATUS_WRONG_FORMAT) {
			k->info.tx_wrong_format++;
			st = TP_STATUS_AVAILABLE;
		}
		if (st != TP_STATUS_AVAILABLE) {
			/* the ring is full: send what is queued, look once more */
			if (queued) {
				(void)sendto(k->sock, NULL, 0, MSG_DONTWAIT, NULL, 0);
				k->info.tx_kicks++;
				queued = 0;
			}
			st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
			if (st == TP_STATUS_WRONG_FORMAT)
				st = TP_STATUS_AVAILABLE;
		}
		if (st != TP_STATUS_AVAILABLE || p->len == 0 || p->len > k->tx_frame_size - TX_DATA_OFF ||
		    p->len > l->mtu + 18u) {
			if (st != TP_STATUS_AVAILABLE)
				k->info.tx_ring_full++;
			l->tx_drops++;
			pkt_free(l->pool, p);
			continue;
		}
		memcpy((uint8_t *)h + TX_DATA_OFF, p->data, p->len);
		h->tp_len = p->len;
		h->tp_snaplen = p->len;
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
		k->tx_head = (k->tx_head + 1) % k->tx_frames;
		queued++;
		l->tx_frames++;
		pkt_free(l->pool, p);
	}
	if (queued) {
		k->info.tx_kicks++;
		if (sendto(k->sock, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN && errno != ENOBUFS)
			k->info.tx_errors++;
	}
	return n;
}

static void pk_addr(struct us_link *l, const struct us_addr *a, int add)
{
	struct pk_link *k = pk(l);
	int at = -1;
	for (int i = 0; i < k->n_addrs; i++)
		if (addr_eq(&k->addrs[i], a))
			at = i;
	if (add && at < 0 && k->n_addrs < PK_ADDR_MAX)
		k->addrs[k->n_addrs++] = *a;
	else if (!add && at >= 0)
		k->addrs[at] = k->addrs[--k->n_addrs];
	else
		return;
	if (apply_filters(k) < 0)
		k->info.filter_errors++;
}

static void pk_close(struct us_link *l)
{
	struct pk_link *k = pk(l);
	if (k->map)
		munmap(k->map, k->map_len);
	k->map = NULL;
	if (k->sock >= 0)
		close(k->sock);
	if (k->arp_sock >= 0)
		close(k->arp_sock);
	if (k->ep >= 0)
		close(k->ep);
	k->sock = k->arp_sock = k->ep = -1;
	l->fd = -1;
}

static const struct us_link_ops pk_ops = {
	.recv = pk_recv,
	.send = pk_send,
	.pending = pk_pending,
	.close = pk_close,
	.addr = pk_addr,
};

int us_link_packet_info(const struct us_link *l, struct us_link_packet_info *out)
{
	for (; l; l = l->inner)
		if (l->ops == &pk_ops) {
			const struct pk_link *k = (const struct pk_link *)l;
			*out = k->info;
			out->rx_bad = k->rx.bad;
			return 0;
		}
	return -EINVAL;
}

static int bind_to(int s, int ifindex, uint16_t proto)
{
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(proto);
	sll.sll_ifindex = ifindex;
	return bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0 ? -errno : 0;
}

struct us_link *us_link_packet_open(const char *ifname, const struct us_link_packet_opts *opts, int *err)
{
	int dummy;
	if (!err)
		err = &dummy;
	*err = 0;
	struct us_link_packet_opts o = {0};
	if (opts)
		o = *opts;
	if (!o.block_size)
		o.block_size = 1u << 18;
	if (!o.block_count)
		o.block_count = 16;
	if (!o.tx_frames)
		o.tx_frames = 512;
	long page = sysconf(_SC_PAGESIZE);
	if (!ifname || strlen(ifname) >= IFNAMSIZ || (o.block_size & (o.block_size - 1)) ||
	    o.block_size < (uint32_t)page || o.block_size > (1u << 24) || o.block_count < 2 || o.block_count > 1024 ||
	    o.tx_frames < 16 || o.tx_frames > 65536 || (o.flags & ~US_PACKET_NO_BYPASS)) {
		*err = -EINVAL;
		return NULL;
	}
	int ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		*err = -ENODEV;
		return NULL;
	}
	struct pk_link *k = calloc(1, sizeof(*k));
	if (!k) {
		*err = -ENOMEM;
		return NULL;
	}
	struct us_link *l = &k->l;
	l->ops = &pk_ops;
	l->priv = k;
	l->flags = US_LINK_L2;
	k->sock = k->arp_sock = k->ep = -1;
	l->fd = -1;
	k->ifindex = ifindex;
	snprintf(l->name, sizeof(l->name), "%s", ifname);
	int mtu = us_nl_link_get_mtu(ifname);
	if (mtu < 0) {
		*err = mtu;
		goto fail;
	}
	if ((*err = us_nl_link_get_mac(ifname, l->hwaddr)) < 0)
		goto fail;
	k->tx_frame_size = PK_FRAME;
	/* what a slot holds whole, either way, with room for a VLAN tag */
	l->mtu = (uint32_t)US_MIN(mtu, (int)US_MIN(PK_RX_MAX, PK_FRAME - TX_DATA_OFF) - 18);
	/* Protocol 0: nothing arrives until the filter is on and we bind. */
	k->sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (k->sock < 0) {
		*err = -errno;
		goto fail;
	}
	int fan = o.fanout_group != 0;
	if (fan) {
		k->arp_sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
		if (k->arp_sock < 0) {
			*err = -errno;
			goto fail;
		}
	}
	if ((*err = apply_filters(k)) < 0)
		goto fail;
	int v = TPACKET_V2, one = 1;
	if (setsockopt(k->sock, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0) {
		*err = -errno;
		goto fail;
	}
	if (!(o.flags & US_PACKET_NO_BYPASS)) {
		if (setsockopt(k->sock, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) == 0)
			k->info.qdisc_bypass = 1;
	}
	(void)setsockopt(k->sock, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	/* Frames of PK_FRAME bytes, block_size / PK_FRAME of them per block. */
	struct tpacket_req rq;
	memset(&rq, 0, sizeof(rq));
	rq.tp_block_size = o.block_size;
	rq.tp_block_nr = o.block_count;
	rq.tp_frame_size = PK_FRAME;
	rq.tp_frame_nr = (o.block_size / PK_FRAME) * o.block_count;
	if (setsockopt(k->sock, SOL_PACKET, PACKET_RX_RING, &rq, sizeof(rq)) < 0) {
		*err = -errno;
		goto fail;
	}
	struct tpacket_req tq;
	memset(&tq, 0, sizeof(tq));
	tq.tp_frame_size = k->tx_frame_size;
	tq.tp_block_size = (uint32_t)page > k->tx_frame_size ? (uint32_t)page : k->tx_frame_size;
	tq.tp_frame_nr = o.tx_frames;
	tq.tp_block_nr = o.tx_frames / (tq.tp_block_size / k->tx_frame_size);
	if (setsockopt(k->sock, SOL_PACKET, PACKET_TX_RING, &tq, sizeof(tq)) < 0) {
		*err = -errno;
		goto fail;
	}
	size_t rx_len = (size_t)o.block_size * o.block_count, tx_len = (size_t)tq.tp_block_size * tq.tp_block_nr;
	void *m = mmap(NULL, rx_len + tx_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, k->sock, 0);
	if (m == MAP_FAILED)
		m = mmap(NULL, rx_len + tx_len, PROT_READ | PROT_WRITE, MAP_SHARED, k->sock, 0);
	if (m == MAP_FAILED) {
		*err = -errno;
		goto fail;
	}
	k->map = m;
	k->map_len = rx_len + tx_len;
	k->rx.ring = m;
	k->rx.block_size = o.block_size;
	k->rx.frame_size = PK_FRAME;
	k->rx.frames_per_block = o.block_size / PK_FRAME;
	k->rx.frame_nr = rq.tp_frame_nr;
	k->tx_ring = (uint8_t *)m + rx_len;
	k->tx_frames = o.tx_frames;
	if ((*err = bind_to(k->sock, ifindex, ETH_P_ALL)) < 0)
		goto fail;
	if (fan) {
		int arg = (int)(o.fanout_group | (PACKET_FANOUT_HASH << 16));
		if (setsockopt(k->sock, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0) {
			*err = -errno;
			goto fail;
		}
		if ((*err = bind_to(k->arp_sock, ifindex, ETH_P_ARP)) < 0)
			goto fail;
		/* one descriptor for the event loop: both sockets behind an epoll */
		k->ep = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		if (k->ep < 0 || epoll_ctl(k->ep, EPOLL_CTL_ADD, k->sock, &ev) < 0 ||
		    epoll_ctl(k->ep, EPOLL_CTL_ADD, k->arp_sock, &ev) < 0) {
			*err = -errno;
			goto fail;
		}
		l->fd = k->ep;
		k->info.fanout = 1;
	} else {
		l->fd = k->sock;
	}
	k->info.block_size = o.block_size;
	k->info.block_count = o.block_count;
	k->info.rx_frames = rq.tp_frame_nr;
	k->info.tx_frames = o.tx_frames;
	return l;
fail:
	pk_close(l);
	free(k);
	return NULL;
}
