/* TAP (Ethernet frames) and TUN (bare IP packets, IFF_NO_PI) devices. */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "link/link.h"
#include "sys/netlink.h"
#include "sys/tundev.h"
#include "ustack/ustack.h"

#define L2_HDR_MAX 18u   /* Ethernet header with one 802.1Q tag */

static int tt_recv(struct us_link *l, struct pkt **pkts, int max, uint64_t now)
{
	if (!l->pool)
		return -EINVAL;
	uint32_t want = l->mtu + ((l->flags & US_LINK_L2) ? L2_HDR_MAX : 0);
	int n = 0, err = 0;
	/* Every read, delivered or drained, counts against max: bounded. */
	for (int i = 0; i < max; i++) {
		struct pkt *p = pkt_alloc(l->pool, want, PKT_HEADROOM);
		if (!p) {
			/* Pool empty: read the frame anyway (tun consumes the whole
			 * frame whatever the buffer size) so the device drains. */
			uint8_t sink[64];
			ssize_t r = read(l->fd, sink, sizeof(sink));
			if (r < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN)
					err = -errno;
				break;
			}
			l->rx_drops++;
			continue;
		}
		uint32_t room = pkt_tailroom(p);
		ssize_t r = read(l->fd, p->data, room);
		if (r <= 0) {
			int e = r < 0 ? errno : EAGAIN;
			pkt_free(l->pool, p);
			if (e == EINTR)
				continue;
			if (e != EAGAIN)
				err = -e;
			break;
		}
		if ((size_t)r > room) {
			/* tun returns the full length of a frame it truncated */
			pkt_free(l->pool, p);
			l->rx_drops++;
			continue;
		}
		p->len = (uint32_t)r;
		p->ts = now;
		pkts[n++] = p;
	}
	l->rx_frames += (uint64_t)n;
	if (n == 0 && err)
		return err;
	return n;
}

static int tt_send(struct us_link *l, struct pkt **pkts, int n, uint64_t now)
{
	(void)now;
	if (!l->pool)
		return -EINVAL;
	int sent = 0;
	for (int i = 0; i < n; i++) {
		struct pkt *p = pkts[i];
		ssize_t r;
		int tries = 0;
		do
			r = write(l->fd, p->data, p->len);
		while (r < 0 && errno == EINTR && ++tries < 3);
		/* EAGAIN/ENOBUFS (queue full) and anything else: drop, count. */
		if (r == (ssize_t)p->len)
			sent++;
		else
			l->tx_drops++;
		pkt_free(l->pool, p);
	}
	l->tx_frames += (uint64_t)sent;
	return sent;
}

static void tt_close(struct us_link *l)
{
	/* A device this link created is not persistent: closing its last fd
	 * removes it. */
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

static const struct us_link_ops tt_ops = {
	.recv = tt_recv,
	.send = tt_send,
	.close = tt_close,
};

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

static struct us_link *tt_open(const char *ifname, int tflags, int *created, int *err)
{
	int dummy_c, dummy_e;
	if (!created)
		created = &dummy_c;
	if (!err)
		err = &dummy_e;
	*created = 0;
	*err = 0;
	struct us_link *l = calloc(1, sizeof(*l));
	if (!l) {
		*err = -ENOMEM;
		return NULL;
	}
	struct us_tun_open_info info;
	int fd = us_tun_open(ifname, tflags, &info);
	if (fd < 0) {
		free(l);
		*err = fd;
		return NULL;
	}
	l->ops = &tt_ops;
	l->fd = fd;
	l->priv = l;
	memcpy(l->name, info.name, sizeof(l->name));
	l->name[sizeof(l->name) - 1] = 0;
	l->flags = (tflags & IFF_TAP) ? US_LINK_L2 : US_LINK_L3;
	int r = us_nl_link_get_mtu(l->name);
	if (r > 0) {
		l->mtu = (uint32_t)r;
		if (l->flags & US_LINK_L2) {
			uint8_t kmac[6];
			int have = us_nl_link_get_mac(l->name, kmac) == 0;
			r = random_mac(l->hwaddr, have ? kmac : NULL);
		}
	}
	if (r < 0) {
		close(fd);  /* removes the device if we created it */
		free(l);
		*err = r;
		return NULL;
	}
	*created = info.created;
	return l;
}

struct us_link *us_link_tap_open(const char *ifname, int *created, int *err)
{
	return tt_open(ifname, IFF_TAP | IFF_NO_PI, created, err);
}

struct us_link *us_link_tun_open(const char *ifname, int *created, int *err)
{
	return tt_open(ifname, IFF_TUN | IFF_NO_PI, created, err);
}
