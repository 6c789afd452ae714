/* A network device as the stack sees it: a small vtable. Devices deliver
 * whole frames (TAP, mem: Ethernet; TUN: IP packets) in batches.
 * Time is passed in, never read, so wrapped devices (fault, pcap) are
 * deterministic under the simulation's virtual clock.
 *
 * This is the stack's private interface. Only device.c (the public device
 * forms of include/ustack/link.h: TAP, TUN, mem, fault and pcap are
 * zero-copy devices on it), afxdp.c and afpacket.c implement it: AF_XDP's
 * buffers are the pool's own memory (its UMEM), set up in attach, and both
 * steer the stack's addresses in the kernel (addr). */
#ifndef US_LINK_H
#define US_LINK_H
#include <stdint.h>

#include "core/pkt.h"
#include "ustack/link.h"

#define US_LINK_L2 0x01   /* frames carry Ethernet headers (TAP, mem) */
#define US_LINK_L3 0x02   /* frames are bare IP packets (TUN) */
#define US_LINK_CSUM 0x04 /* send: TCP/UDP checksums may be left partial (p->csum_l4) */
#define US_LINK_TSO4 0x08 /* send: TCP/IPv4 segments up to 64 KiB (p->gso_size) */
#define US_LINK_TSO6 0x10 /* send: the same for TCP/IPv6 */

struct us_link;

struct us_link_ops {
	/* Receive up to max frames into pkts (allocated from l->pool).
	 * Returns the count (0: nothing ready), or a negative errno. */
	int (*recv)(struct us_link *l, struct pkt **pkts, int max, uint64_t now);
	/* Send n frames. The link takes ownership of every packet whether or
	 * not it could send it. Returns how many were sent (the rest were
	 * dropped and counted in l->tx_drops). */
	int (*send)(struct us_link *l, struct pkt **pkts, int n, uint64_t now);
	/* Optional: release held frames (delay), return next deadline (ns) or -1. */
	int64_t (*poll)(struct us_link *l, uint64_t now);
	/* Optional: frames are ready to recv without waiting on fd. */
	int (*pending)(struct us_link *l);
	void (*close)(struct us_link *l);
	/* Optional: the link was attached to a stack; l->pool is set. A device
	 * whose buffers are the pool's (AF_XDP's UMEM) sets itself up here.
	 * 0, or a negative errno that makes us_iface_add fail. */
	int (*attach)(struct us_link *l);
	/* Optional: the stack added (add 1) or removed an address on this link.
	 * Devices that share an interface with the kernel steer the frames
	 * for these addresses to the stack (the XDP program, a socket filter). */
	void (*addr)(struct us_link *l, const struct us_addr *a, int add);
};

struct us_link {
	const struct us_link_ops *ops;
	struct pkt_pool *pool;   /* set by the stack when the link is attached */
	int fd;                  /* for epoll; -1 if none (mem links) */
	uint32_t mtu;            /* IP MTU */
	uint32_t flags;          /* US_LINK_L2 or US_LINK_L3 */
	uint8_t hwaddr[6];
	char name[16];
	uint64_t rx_frames, tx_frames, rx_drops, tx_drops;
	uint64_t rx_nobuf;       /* of rx_drops: no free packet buffer for the frame */
	uint64_t rx_seen_nobuf, rx_seen_drops;   /* what link_rx_losses reported */
	void *priv;
	struct us_link *inner;   /* the wrapped link (fault, pcap), else NULL */
	uint32_t lent;           /* pool buffers the kernel holds for this device (AF_XDP rings) */
};

static inline int link_recv(struct us_link *l, struct pkt **p, int max, uint64_t now) { return l->ops->recv(l, p, max, now); }
static inline int link_send(struct us_link *l, struct pkt **p, int n, uint64_t now) { return l->ops->send(l, p, n, now); }
static inline int64_t link_poll(struct us_link *l, uint64_t now) { return l->ops->poll ? l->ops->poll(l, now) : -1; }
static inline int link_pending(struct us_link *l) { return l->ops->pending ? l->ops->pending(l) : 0; }
/* Closes the device (ops->close releases what the link holds, including a
 * wrapped inner link) and frees l, which every link allocates with malloc
 * as one block starting with its struct us_link. NULL is a no-op.
 * Packets a link still holds (fault link) go back to l->pool, so close
 * links before destroying their pool. */
void us_link_close(struct us_link *l);
/* For the stack (net/iface.c): ops->attach and ops->addr of the link or,
 * through wrappers, of the device they wrap. */
int link_attach(struct us_link *l, struct pkt_pool *pool);
void link_addr(struct us_link *l, const struct us_addr *a, int add);
/* Receive losses of the device under l (the innermost link: a fault
 * link's own drops are the simulated wire's, not the host's) since the
 * last call: frames dropped for want of a packet buffer, and the others
 * (truncated, too long, a bad descriptor). For Link.InNoBuf and
 * Link.InErrors. */
void link_rx_losses(struct us_link *l, uint64_t *nobuf, uint64_t *other);

/* (Defined in mem.c, which sees only the public headers.)
 * A mem link (one end of us_link_mem_pair) that behaves as a TAP with
 * offloads: it sends partial checksums and TCP super-frames up to 64 KiB,
 * and marks what it receives checksum-verified, as a virtio-net header
 * with DATA_VALID would. For the fuzz harness and simulations. 0 or
 * -EINVAL if l is not a mem link. */
int mem_link_offloads(struct us_link *l);
#endif
