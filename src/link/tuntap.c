/* TAP (Ethernet frames) and TUN (bare IP packets, IFF_NO_PI) devices.
 *
 * With offloads (the default) every frame in both directions starts with
 * a virtio-net header (IFF_VNET_HDR, struct virtio_net_hdr, 10 bytes) and
 * the kernel is told with TUNSETOFFLOAD that we take and give partial
 * checksums and TCP super-frames of both families (TUN_F_CSUM | TUN_F_TSO4 |
 * TUN_F_TSO6):
 *  - receive: the kernel's TCP hands over up to 64 KiB in one frame (its
 *    GSO, or GRO of what it forwards), with the checksum left partial
 *    (VIRTIO_NET_HDR_F_NEEDS_CSUM) or already checked (DATA_VALID): the
 *    frame is marked PKT_F_CSUM_OK and TCP takes it as one large segment;
 *  - send: TCP builds segments of up to 64 KiB (p->gso_size) with partial
 *    checksums (p->csum_l4); the header tells the kernel where to finish
 *    the checksum and how to cut the segment.
 * One read or write moves a whole super-frame: tens of segments a syscall.
 * Reads go into a frame-sized buffer with a 64 KiB spare behind it
 * (readv), so small frames hold no large buffer and cost no copy. */
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ustack/host.h"
#include "ustack/link.h"

#define L2_HDR_MAX 18u      /* Ethernet header with one 802.1Q tag */
#define SUPER_MAX 65550u    /* a 64 KiB IP datagram with its Ethernet header */
#define VNET_LEN ((uint32_t)sizeof(struct virtio_net_hdr))

struct tt_dev {
	int fd;
	int l2;                 /* TAP: Ethernet frames; TUN: IP packets */
	uint32_t mtu;
	unsigned offloads;      /* US_LINK_OFF_* */
	struct us_buf *spare;   /* a large buffer for the tail of a super-frame (within tt_recv) */
};

/* The header the kernel put before a received frame. Only what the stack
 * may rely on is taken from it, and only after checking it against the
 * frame; anything odd just means "verify the checksum yourself". */
static void vnet_rx(struct us_buf *b, const struct virtio_net_hdr *h)
{
	struct us_buf_offload o = {0};
	if (h->flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		o.csum_ok = 1;
	uint8_t gt = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	if (gt == VIRTIO_NET_HDR_GSO_TCPV4 || gt == VIRTIO_NET_HDR_GSO_TCPV6)
		o.gso_size = h->gso_size;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && h->csum_start > 0 &&
	    (uint32_t)h->csum_start + h->csum_offset + 2 <= us_buf_len(b) && h->csum_offset <= 16) {
		/* Kept so a capture can finish the checksum it writes. */
		o.csum_start = h->csum_start;
		o.csum_offset = h->csum_offset;
	}
	us_buf_offload_set(b, &o);
}

static int read_error(int e, int *err)
{
	if (e == EINTR)
		return 1;   /* try again */
	if (e != EAGAIN)
		*err = -e;
	return 0;
}

static int tt_recv(void *dev, struct us_link *l, struct us_buf **bufs, int max, uint64_t now)
{
	(void)now;
	struct tt_dev *t = dev;
	int vnet = (t->offloads & US_LINK_OFF_VNET) != 0;
	uint32_t want = t->mtu + (t->l2 ? L2_HDR_MAX : 0);
	int n = 0, err = 0;
	/* Every read, delivered or drained, counts against max: bounded. */
	for (int i = 0; i < max; i++) {
		struct virtio_net_hdr vh;
		struct iovec iov[3];
		int k = 0;
		if (vnet) {
			iov[k++] = (struct iovec){&vh, VNET_LEN};
			if (!t->spare)
				t->spare = us_buf_alloc(l, SUPER_MAX);
		}
		struct us_buf *b = us_buf_alloc(l, want);
		if (!b && vnet && t->spare) {
			b = t->spare;   /* frames exhausted: the spare takes the whole frame */
			t->spare = NULL;
		}
		if (!b) {
			/* Pool empty: read the frame anyway (tun consumes the whole
			 * frame whatever the buffer size) so the device drains. */
			uint8_t sink[64];
			ssize_t r = read(t->fd, sink, sizeof(sink));
			if (r < 0) {
				if (read_error(errno, &err))
					continue;
				break;
			}
			us_link_rx_dropped(l, 1, 1);
			continue;
		}
		uint32_t room = us_buf_room(b);
		iov[k++] = (struct iovec){us_buf_data(b), room};
		uint32_t room2 = 0;
		if (vnet && t->spare) {
			/* The frame's tail past the first buffer lands in the spare, at
			 * the offset it will have once the head is copied before it. */
			room2 = us_buf_room(t->spare) - room;
			iov[k++] = (struct iovec){us_buf_data(t->spare) + room, room2};
		}
		ssize_t r = readv(t->fd, iov, k);
		if (r <= 0) {
			int e = r < 0 ? errno : EAGAIN;
			us_buf_free(l, b);
			if (read_error(e, &err))
				continue;
			break;
		}
		if (vnet) {
			if ((size_t)r < VNET_LEN) {
				us_buf_free(l, b);
				us_link_rx_dropped(l, 1, 0);
				continue;
			}
			r -= VNET_LEN;
		}
		if ((size_t)r > room + room2) {
			/* tun returns the full length of a frame it truncated */
			us_buf_free(l, b);
			us_link_rx_dropped(l, 1, 0);
			continue;
		}
		if ((size_t)r > room) {
			/* A super-frame: the spare becomes the packet, the head copied
			 * in front of its tail. */
			struct us_buf *big = t->spare;
			t->spare = NULL;
			memcpy(us_buf_data(big), us_buf_data(b), room);
			us_buf_free(l, b);
			b = big;
		}
		us_buf_set_len(b, (uint32_t)r);   /* r <= room of b: checked above */
		if (vnet)
			vnet_rx(b, &vh);
		bufs[n++] = b;
	}
	/* The spare goes back between calls: a quiet link holds no buffer. */
	if (t->spare) {
		us_buf_free(l, t->spare);
		t->spare = NULL;
	}
	if (n == 0 && err)
		return err;
	return n;
}

/* The header for a frame we send: where to finish the checksum and how to
 * cut a super-segment. */
static void vnet_tx(const struct us_buf *b, struct virtio_net_hdr *h, int l2)
{
	memset(h, 0, sizeof(*h));
	struct us_buf_offload o;
	us_buf_offload_get(b, &o);
	if (!o.csum_start)
		return;
	const uint8_t *d = us_buf_data(b);
	uint32_t len = us_buf_len(b), cs = o.csum_start;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = o.csum_start;
	h->csum_offset = o.csum_offset;
	if (o.gso_size && cs + 20 <= len) {
		uint32_t thl = (uint32_t)(d[cs + 12] >> 4) * 4;
		/* The family from the IP header's version (after Ethernet on TAP). */
		uint32_t l3 = l2 ? 14 : 0;
		int v6 = len > l3 && (d[l3] >> 4) == 6;
		h->gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = o.gso_size;
		h->hdr_len = (uint16_t)(cs + thl);
	}
}

static int tt_send(void *dev, struct us_link *l, struct us_buf **bufs, int n, uint64_t now)
{
	(void)now;
	struct tt_dev *t = dev;
	int vnet = (t->offloads & US_LINK_OFF_VNET) != 0;
	int sent = 0;
	for (int i = 0; i < n; i++) {
		struct us_buf *b = bufs[i];
		struct virtio_net_hdr vh;
		struct iovec iov[2];
		int k = 0;
		if (vnet) {
			vnet_tx(b, &vh, t->l2);
			iov[k++] = (struct iovec){&vh, VNET_LEN};
		}
		iov[k++] = (struct iovec){us_buf_data(b), us_buf_len(b)};
		size_t want = us_buf_len(b) + (vnet ? VNET_LEN : 0);
		ssize_t r;
		int tries = 0;
		do
			r = writev(t->fd, iov, k);
		while (r < 0 && errno == EINTR && ++tries < 3);
		/* EAGAIN/ENOBUFS (queue full) and anything else: dropped, and
		 * counted as such by the return value. */
		if (r == (ssize_t)want)
			sent++;
		us_buf_free(l, b);
	}
	return sent;
}

static void tt_close(void *dev, struct us_link *l)
{
	struct tt_dev *t = dev;
	us_buf_free(l, t->spare);
	t->spare = NULL;
	/* A device this link created is not persistent: closing its last fd
	 * removes it. */
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct us_device_zc_ops tt_ops = {
	.recv = tt_recv,
	.send = tt_send,
	.close = tt_close,
};

unsigned us_link_offloads(const struct us_link *l)
{
	const struct tt_dev *t = us_link_device(l, &tt_ops);
	return t ? t->offloads : 0;
}

/* A random locally administered unicast address: ustack's own station
 * address on the wire, distinct from the kernel side's. */
static int random_mac(uint8_t mac[6], const uint8_t *avoid)
{
	for (int tries = 0; tries < 8; tries++) {
		uint8_t r[5];
		size_t got = 0;
		for (int k = 0; k < 8 && got < sizeof(r); k++) {
			ssize_t g = getrandom(r + got, sizeof(r) - got, 0);
			if (g < 0 && errno != EINTR)
				return -errno;
			if (g > 0)
				got += (size_t)g;
		}
		if (got < sizeof(r))
			return -EIO;
		mac[0] = 0x02;
		memcpy(mac + 1, r, 5);
		if (!avoid || memcmp(mac, avoid, 6) != 0)
			return 0;
	}
	return -EIO;
}

/* Ask for checksum and TSO offload, then checksum alone; what the kernel
 * grants decides what we use. */
static unsigned set_offloads(int fd)
{
	int hsz = (int)VNET_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hsz) < 0)
		return 0;
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) == 0)
		return US_LINK_OFF_VNET | US_LINK_OFF_CSUM | US_LINK_OFF_TSO4 | US_LINK_OFF_TSO6;
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) == 0)
		return US_LINK_OFF_VNET | US_LINK_OFF_CSUM | US_LINK_OFF_TSO4;
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) == 0)
		return US_LINK_OFF_VNET | US_LINK_OFF_CSUM;
	ioctl(fd, TUNSETOFFLOAD, 0UL);
	return US_LINK_OFF_VNET;
}

static struct us_link *tt_open(const char *ifname, int tflags, unsigned opts, int *created, int *err)
{
	int dummy_c, dummy_e;
	if (!created)
		created = &dummy_c;
	if (!err)
		err = &dummy_e;
	*created = 0;
	*err = 0;
	struct tt_dev *t = calloc(1, sizeof(*t));
	if (!t) {
		*err = -ENOMEM;
		return NULL;
	}
	if (!(opts & US_LINK_OPT_NO_OFFLOAD))
		tflags |= IFF_VNET_HDR;
	if (opts & US_LINK_OPT_MULTI_QUEUE)
		tflags |= IFF_MULTI_QUEUE;
	struct us_tun_open_info oi;
	int fd = us_tun_open(ifname, tflags, &oi);
	if (fd < 0) {
		free(t);
		*err = fd;
		return NULL;
	}
	oi.name[sizeof(oi.name) - 1] = 0;
	t->fd = fd;
	t->l2 = (tflags & IFF_TAP) != 0;
	if (tflags & IFF_VNET_HDR)
		t->offloads = set_offloads(fd);
	struct us_device_info info = {
		.name = oi.name,
		.l3 = !t->l2,
		.fd = fd,
		/* what send accepts: all but the vnet header itself */
		.offloads = t->offloads & (US_LINK_OFF_CSUM | US_LINK_OFF_TSO4 | US_LINK_OFF_TSO6),
	};
	int r = us_nl_link_get_mtu(oi.name);
	if (r > 0) {
		info.mtu = (uint32_t)r;
		if (t->l2) {
			uint8_t kmac[6];
			int have = us_nl_link_get_mac(oi.name, kmac) == 0;
			r = random_mac(info.hwaddr, have ? kmac : NULL);
		}
	}
	struct us_link *l = NULL;
	if (r >= 0) {
		t->mtu = info.mtu ? info.mtu : 1500;
		l = us_link_device_zc_new(&tt_ops, t, &info);
		if (!l)
			r = -errno;
	}
	if (!l) {
		close(fd);  /* removes the device if we created it */
		free(t);
		*err = r;
		return NULL;
	}
	*created = oi.created;
	return l;
}

struct us_link *us_link_tap_open_ex(const char *ifname, unsigned opts, int *created, int *err)
{
	return tt_open(ifname, IFF_TAP | IFF_NO_PI, opts, created, err);
}

struct us_link *us_link_tun_open_ex(const char *ifname, unsigned opts, int *created, int *err)
{
	return tt_open(ifname, IFF_TUN | IFF_NO_PI, opts, created, err);
}

struct us_link *us_link_tap_open(const char *ifname, int *created, int *err)
{
	return us_link_tap_open_ex(ifname, 0, created, err);
}

struct us_link *us_link_tun_open(const char *ifname, int *created, int *err)
{
	return us_link_tun_open_ex(ifname, 0, created, err);
}
