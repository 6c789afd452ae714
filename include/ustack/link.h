/* ustack devices: the ready-made ones (TAP, TUN, in-memory pairs, fault
 * injection, pcap capture) and the interface for one of your own (an
 * AF_XDP ring, a VM's virtio queue, a test harness...). A device becomes a
 * struct us_link; us_iface_add() attaches it to a stack, which owns it from
 * then on. TAP, TUN, mem, fault and pcap are themselves built on the
 * zero-copy device form below (src/link/), with nothing more than it
 * gives; AF_XDP and AF_PACKET are not: their buffers are the stack's pool
 * (AF_XDP's UMEM) or they steer the stack's addresses in the kernel, so
 * they use the stack's private link interface. */
#ifndef USTACK_LINK_H
#define USTACK_LINK_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

struct us_link;

/* ---- ready-made devices ------------------------------------------------ */

/* Open a TAP (Ethernet) or TUN (IP) device, creating it if absent.
 * *created is set to 1 when this call created it (it disappears on close).
 * NULL on failure with *err a negative errno. */
struct us_link *us_link_tap_open(const char *ifname, int *created, int *err);
struct us_link *us_link_tun_open(const char *ifname, int *created, int *err);
/* The same with options (opts: US_LINK_OPT_*). The plain calls above are
 * these with opts 0: offloads on where the kernel grants them.
 *   US_LINK_OPT_NO_OFFLOAD  plain frames: no virtio-net header, no TSO, no
 *                           checksum offload, at most MTU-sized frames.
 *   US_LINK_OPT_MULTI_QUEUE IFF_MULTI_QUEUE: open once per queue with the
 *                           same name; each fd is one queue (the kernel
 *                           spreads flows across queues by flow hash).
 * With offloads the device carries a virtio-net header on every frame
 * (IFF_VNET_HDR) and the kernel is told (TUNSETOFFLOAD) it may hand over
 * TCP super-frames up to 64 KiB with checksums left partial, and accept
 * them: TCP then sends segments of up to 64 KiB that the kernel cuts to
 * the MSS (TSO). An offload the kernel refuses is simply not used. */
#define US_LINK_OPT_NO_OFFLOAD 0x1u
#define US_LINK_OPT_MULTI_QUEUE 0x2u
struct us_link *us_link_tap_open_ex(const char *ifname, unsigned opts, int *created, int *err);
struct us_link *us_link_tun_open_ex(const char *ifname, unsigned opts, int *created, int *err);
/* Offloads in use on a link: US_LINK_OFF_* bits (0 for plain links). */
#define US_LINK_OFF_VNET 0x1u    /* frames carry a virtio-net header */
#define US_LINK_OFF_CSUM 0x2u    /* partial checksums both ways */
#define US_LINK_OFF_TSO4 0x4u    /* TCP/IPv4 super-frames both ways */
#define US_LINK_OFF_TSO6 0x8u    /* TCP/IPv6 super-frames both ways (TAP and TUN) */
unsigned us_link_offloads(const struct us_link *l);
/* Two links joined in memory (frames sent on one are received on the other).
 * l3: bare IP packets instead of Ethernet frames. */
int us_link_mem_pair(struct us_link **a, struct us_link **b, uint32_t mtu, int l3);
/* Close a link the stack does not own (us_iface_add takes ownership). */
void us_link_close(struct us_link *l);
void us_link_set_hwaddr(struct us_link *l, const uint8_t mac[6]);
void us_link_get_hwaddr(const struct us_link *l, uint8_t mac[6]);

/* AF_XDP on queue `queue` of an existing interface (a NIC, a veth end):
 * the stack takes the frames for its own addresses (ARP for them, IPv4
 * and IPv6 to them; the link follows us_iface_addr_add) and the kernel
 * keeps everything else. The link uses the interface's MAC address and
 * MTU (at most 1774: a frame fits one 2048-byte buffer). An XDP program is
 * attached to the interface through a BPF link: it goes when the last
 * queue's link closes, and with the process if it is killed. The stack's
 * packet buffers are the socket's UMEM, registered by us_iface_add (which
 * fails with the reason if the kernel refuses); from then on frames are
 * received into them and sent from them without a copy in user space.
 * Zero-copy where the driver has it, else the kernel's copy mode (see
 * us_link_xdp_info). Needs CAP_NET_ADMIN and CAP_BPF (root). The stack's
 * frame_bufs must be at least twice ring_size (each ring holds buffers).
 * NULL on failure with *err a negative errno: -ENODEV no such interface,
 * -EBUSY another XDP program is attached or the queue is taken,
 * -EPERM/-EACCES not allowed, -EINVAL bad options. */
#define US_XDP_COPY 0x1u        /* copy mode even where zero-copy is possible */
#define US_XDP_ZEROCOPY 0x2u    /* zero-copy or fail (us_iface_add says why) */
#define US_XDP_SKB_MODE 0x4u    /* generic XDP (any driver), not native */
#define US_XDP_NO_WAKEUP 0x8u   /* kick the kernel on every batch, not only on need_wakeup */
struct us_link_xdp_opts {
	unsigned flags;             /* US_XDP_* */
	uint32_t ring_size;         /* descriptors per ring, a power of two, 64..16384 (default 1024) */
	uint32_t batch;             /* frames taken from the RX ring per receive call (default 64) */
	struct us_link *share;      /* another queue's link on the same interface: share its program */
};
struct us_link *us_link_xdp_open(const char *ifname, unsigned queue, const struct us_link_xdp_opts *opts, int *err);
/* What an AF_XDP link runs (after us_iface_add) and what it has done. */
struct us_link_xdp_info {
	int zerocopy;               /* 1: zero-copy, 0: the kernel copies into the UMEM */
	int drv_mode;               /* 1: native (driver) XDP, 0: generic */
	int need_wakeup;
	unsigned queue;
	uint32_t ring_size, batch;
	char why[64];               /* why this mode (e.g. "the driver has no zero-copy AF_XDP") */
	uint64_t rx_frames, tx_frames;
	uint64_t rx_kicks, tx_kicks;/* system calls to wake the kernel */
	uint64_t rx_batches;        /* receive calls that found frames */
	uint64_t tx_ring_full;      /* frames dropped: the TX ring was full */
	uint64_t tx_copied;         /* frames copied into a UMEM buffer to send (large buffers) */
	uint64_t bad_desc;          /* descriptors the kernel returned that we did not give */
};
/* 0, or -EINVAL if l is not (or does not wrap) an AF_XDP link. */
int us_link_xdp_info(const struct us_link *l, struct us_link_xdp_info *out);

/* AF_PACKET on an existing interface, the fallback where AF_XDP is not
 * available: a TPACKET_V2 receive ring (the kernel hands over each frame as
 * soon as it is written; each frame is copied once into a packet buffer)
 * and a TPACKET_V2 TX ring sent with one sendto per batch, bypassing the
 * qdisc. A socket filter lets through only the frames for the stack's
 * addresses (it follows us_iface_addr_add); the kernel keeps receiving
 * everything as before and drops what is for the stack's addresses (they
 * are not its own). The link uses the interface's MAC address and MTU (at
 * most 1964: a 2048-byte ring slot). Several links with the same nonzero
 * fanout_group share the interface's traffic by flow hash
 * (PACKET_FANOUT_HASH: one stack per queue), and each of them sees every
 * ARP frame for the stack. Needs CAP_NET_RAW. NULL on failure
 * with *err a negative errno. */
#define US_PACKET_NO_BYPASS 0x1u   /* send through the qdisc (PACKET_QDISC_BYPASS off) */
struct us_link_packet_opts {
	unsigned flags;             /* US_PACKET_* */
	uint32_t block_size;        /* receive ring block of 2048-byte frames, a power of two >= a page (default 256 KiB) */
	uint32_t block_count;       /* receive ring blocks (default 16: 2048 frames) */
	uint32_t tx_frames;         /* transmit ring frames of 2048 bytes (default 512) */
	uint16_t fanout_group;      /* 0: none; else a PACKET_FANOUT group id shared by the queues */
};
struct us_link *us_link_packet_open(const char *ifname, const struct us_link_packet_opts *opts, int *err);
struct us_link_packet_info {
	int qdisc_bypass, fanout;
	uint32_t block_size, block_count, tx_frames;
	uint64_t tx_kicks;          /* sendto calls */
	uint64_t tx_ring_full;      /* frames dropped: no free TX slot */
	uint64_t tx_wrong_format;   /* frames the kernel refused */
	uint64_t tx_errors;
	uint64_t rx_bad;            /* ring frames whose offsets or lengths did not fit their slot */
	uint64_t filter_errors;     /* filter updates the kernel refused */
	uint64_t rx_kernel_drops;   /* frames the kernel dropped, the ring full (PACKET_STATISTICS, on TP_STATUS_LOSING) */
	uint32_t rx_frames;         /* receive ring slots: block_count * (block_size / 2048) */
};
int us_link_packet_info(const struct us_link *l, struct us_link_packet_info *out);

/* Faults, from a seeded generator, applied to one direction of a link. */
struct us_fault_cfg {
	uint64_t seed;
	double drop;            /* probability a frame is dropped */
	double dup;             /* ...duplicated */
	double reorder;         /* ...held back behind the next reorder_gap frames */
	uint32_t reorder_gap;   /* default 3 */
	double corrupt;         /* ...has one random bit flipped */
	uint64_t delay_ns;      /* fixed delay */
	uint64_t jitter_ns;     /* plus uniform [0, jitter) */
	uint64_t rate_bps;      /* bandwidth limit, 0 = none */
	uint32_t max_held;      /* frames held for delay/rate before dropping (default 4096) */
};
/* Wrap a link: tx faults on frames the stack sends, rx faults on frames it
 * receives; either may be NULL. The wrapper owns inner. */
struct us_link *us_link_fault_wrap(struct us_link *inner, const struct us_fault_cfg *tx, const struct us_fault_cfg *rx);
/* Counters of one direction of a fault link. */
struct us_fault_stats {
	uint64_t frames_in;    /* frames that entered this direction */
	uint64_t dropped;      /* by the drop probability */
	uint64_t duplicated;
	uint64_t dup_fails;    /* duplicate wanted but the pool was empty */
	uint64_t reordered;    /* held back behind later frames */
	uint64_t corrupted;
	uint64_t overflow;     /* dropped because max_held frames were held */
	uint64_t frames_out;   /* frames released (delivered or sent to inner) */
	uint32_t held;         /* frames held right now (delay/rate + reorder) */
};
/* 0, or -EINVAL if l is not a fault link. tx or rx may be NULL. */
int us_link_fault_stats(const struct us_link *l, struct us_fault_stats *tx, struct us_fault_stats *rx);
/* Every frame in both directions written to a pcap file. */
struct us_link *us_link_pcap_wrap(struct us_link *inner, const char *path, int *err);

/* ---- bring your own device ---------------------------------------------
 *
 * A device is a small vtable over a handle of yours. The stack calls it
 * only from us_stack_input() and us_stack_timers() (so never from two
 * threads at once) and passes the time in. Frames are whole: Ethernet
 * frames for an L2 device, bare IPv4 packets for an L3 one (as TAP and TUN
 * give them), without preamble or FCS.
 *
 * Frames are copied in and out through struct us_frame views of the
 * stack's own packet buffers, so the stack's buffers stay private:
 *   recv  fill up to max frames: write each into frames[i].data (room for
 *         frames[i].cap bytes; never more) and set frames[i].len. Return how
 *         many (0: nothing ready) or a negative errno. Frames you fill
 *         beyond cap are yours to drop and count.
 *   send  take n frames (data, len); return how many you took. The rest
 *         count as dropped (us_link_stats). The views are valid only
 *         during the call: copy what you keep.
 *   pending (optional) frames are ready although fd would not say so.
 *   poll  (optional) release what is held for later; the absolute time
 *         (ns) when it should be called again, or -1.
 *   close (optional) the stack is done with the device (us_stack_free,
 *         us_link_close).
 * fd, if not -1, becomes readable when frames are ready: the event loop
 * (us_loop_*) waits on it. */
struct us_frame {
	uint8_t *data;
	uint32_t len;
	uint32_t cap;               /* recv: bytes data can hold */
	/* Offloads, only with the matching US_LINK_OFF_* in us_device_info.
	 * send, with US_LINK_OFF_CSUM: csum_start != 0 means the TCP or UDP
	 * checksum at data + csum_start + csum_offset holds only the
	 * pseudo-header sum and the device must complete it (as a NIC does).
	 * send, with US_LINK_OFF_TSO4 (IPv4) or US_LINK_OFF_TSO6 (IPv6):
	 * gso_size != 0 means a TCP super-segment to be cut into segments
	 * of gso_size payload bytes.
	 * recv: set csum_ok when the device has verified (or need not check,
	 * e.g. a local peer) the TCP/UDP checksum. */
	uint16_t csum_start, csum_offset;
	uint16_t gso_size;
	uint8_t csum_ok;
};

struct us_device_ops {
	int (*recv)(void *dev, struct us_frame *frames, int max, uint64_t now_ns);
	int (*send)(void *dev, const struct us_frame *frames, int n, uint64_t now_ns);
	int (*pending)(void *dev);
	int64_t (*poll)(void *dev, uint64_t now_ns);
	void (*close)(void *dev);
};

struct us_device_info {
	const char *name;           /* for messages (at most 15 bytes kept) */
	int l3;                     /* 1: bare IP packets (TUN-like), 0: Ethernet */
	uint32_t mtu;               /* IP MTU (default 1500) */
	uint8_t hwaddr[6];          /* L2: the device's MAC */
	int fd;                     /* readable when frames are ready, or -1 */
	unsigned offloads;          /* US_LINK_OFF_CSUM, _TSO4, _TSO6 (these two need
	                             * _CSUM): what send accepts */
	/* Zero-copy devices only (us_link_device_zc_new; us_link_device_new
	 * wants 0 and NULL): */
	unsigned flags;             /* US_DEVICE_* */
	struct us_link *inner;      /* a link this device wraps (as fault and pcap
	                             * do), or NULL. The new link owns it: it is
	                             * closed with it, attached to the same pool
	                             * and told the stack's addresses. */
};
/* send's return value is only what the stack is told (Link.OutFrames and
 * OutDrops): the device counts what it really sends and drops itself, with
 * us_link_count_tx (a device that holds frames and sends them later). */
#define US_DEVICE_COUNTS_TX 0x1u

/* A link over your device; ops and dev must outlive it. NULL with errno
 * set (EINVAL: no recv or send, a bad MTU, bad offloads, flags or inner;
 * ENOMEM). */
struct us_link *us_link_device_new(const struct us_device_ops *ops, void *dev, const struct us_device_info *info);

/* ---- bring your own device, zero-copy ----------------------------------
 *
 * The same device without the copies: the device receives into and sends
 * from the stack's own packet buffers, lent to it as opaque struct us_buf.
 * The ops are called as above, from the stack's thread, and only once the
 * link is attached to a stack (recv and send return -EINVAL before); the
 * us_buf_* and us_link_* calls below are for the device's ops to make
 * (and its close), on its own link l, never from another thread.
 *   recv  fill up to max buffers: take each from us_buf_alloc(l, size),
 *         write the frame at us_buf_data (at most us_buf_room bytes), set
 *         its length, and put it in bufs[]; they are the stack's from then
 *         on. Return how many (counted as received frames) or a negative
 *         errno. A frame the device loses (no buffer, too long, bad) is
 *         reported with us_link_rx_dropped.
 *   send  take all n buffers, whatever happens: free each (us_buf_free)
 *         once its bytes are sent, or hold it and send or free it later.
 *         Return how many were sent; the rest count as dropped (unless
 *         US_DEVICE_COUNTS_TX). A negative errno: none sent.
 *   pending, poll: as above (poll: release what is held for later).
 *   close (optional) give back every buffer the device still holds and
 *         free what dev owns; info->inner (if any) is closed after it.
 * A buffer's data area starts after the stack's headroom (room for the
 * headers it prepends) and is whole: a received super-frame of 64 KiB (the
 * US_LINK_OFF_TSO* offloads) needs us_buf_alloc(l, 65535 + header). */
struct us_buf;

struct us_device_zc_ops {
	int (*recv)(void *dev, struct us_link *l, struct us_buf **bufs, int max, uint64_t now_ns);
	int (*send)(void *dev, struct us_link *l, struct us_buf **bufs, int n, uint64_t now_ns);
	int (*pending)(void *dev);
	int64_t (*poll)(void *dev, struct us_link *l, uint64_t now_ns);
	void (*close)(void *dev, struct us_link *l);
};

/* A link over a zero-copy device; ops must outlive it (a static table),
 * dev is the device's until close. NULL with errno set (EINVAL: no recv
 * or send, a bad MTU, offloads or flags; ENOMEM). A wrapper fills info
 * from us_link_info(inner) and sets inner. */
struct us_link *us_link_device_zc_new(const struct us_device_zc_ops *ops, void *dev, const struct us_device_info *info);
/* dev, if l is a zero-copy device link with these ops; else NULL. (How a
 * device's own calls find it: us_link_fault_stats, us_link_offloads.) */
void *us_link_device(const struct us_link *l, const struct us_device_zc_ops *ops);
/* What send accepts, changed after creation (US_LINK_OFF_CSUM, _TSO4,
 * _TSO6, as in us_device_info.offloads): before us_iface_add, or when the
 * device's peer agrees to them. 0, or -EINVAL (bad bits, not a device
 * link). Wrappers made before keep what they copied. */
int us_link_set_offloads(struct us_link *l, unsigned offloads);
/* How l describes itself (name points into l), as a wrapper starts from:
 * name, l3, mtu, hwaddr, fd, offloads (US_LINK_OFF_CSUM, _TSO4, _TSO6 in
 * use); flags 0, inner the link l wraps (or NULL). */
void us_link_info(const struct us_link *l, struct us_device_info *out);

/* A buffer whose data area holds at least size bytes, or NULL: the pool
 * is empty or over the stack's memory budget, size is more than the
 * largest buffer holds (65600 bytes), or l is not attached. */
struct us_buf *us_buf_alloc(struct us_link *l, uint32_t size);
void us_buf_free(struct us_link *l, struct us_buf *b);
/* A copy of b (bytes, length, offloads) with the same headroom, or NULL. */
struct us_buf *us_buf_clone(struct us_link *l, const struct us_buf *b);
uint8_t *us_buf_data(const struct us_buf *b);
uint32_t us_buf_len(const struct us_buf *b);
/* Bytes the data area holds from us_buf_data on (its length included). */
uint32_t us_buf_room(const struct us_buf *b);
/* 0, or -EINVAL (and no change) if len > us_buf_room(b). */
int us_buf_set_len(struct us_buf *b, uint32_t len);
/* Offload metadata, with the meaning of struct us_frame's fields. On send
 * (get): csum_start != 0 when the TCP/UDP checksum is partial (only with
 * US_LINK_OFF_CSUM), gso_size != 0 for a super-segment (with _TSO4 or
 * _TSO6). On receive (set, after us_buf_set_len): csum_ok when the device
 * vouches for the L4 checksum; gso_size and a partial checksum the frame
 * still carries, for captures that finish it. A partial checksum whose
 * field does not lie inside the frame, or that starts past 65400 bytes
 * (beyond what the stack records), is not kept. */
struct us_buf_offload {
	uint16_t csum_start;        /* the L4 header, from us_buf_data; 0: none */
	uint16_t csum_offset;       /* the checksum field, from csum_start (at most 255) */
	uint16_t gso_size;          /* TCP payload bytes per segment; 0: none */
	uint8_t csum_ok;
};
void us_buf_offload_get(const struct us_buf *b, struct us_buf_offload *o);
void us_buf_offload_set(struct us_buf *b, const struct us_buf_offload *o);

/* The device lost n received frames (nobuf 1: for want of a buffer, the
 * stack's Link.InNoBuf; else Link.InErrors). */
void us_link_rx_dropped(struct us_link *l, uint32_t n, int nobuf);
/* US_DEVICE_COUNTS_TX: n frames sent, d dropped. */
void us_link_count_tx(struct us_link *l, uint32_t n, uint32_t d);

/* A wrapper's calls into the link it wraps (info->inner), made from its
 * own ops: the same as the stack's (buffers as in the ops above: recv's
 * are the wrapper's to pass on or free, send takes all n). */
int us_link_recv(struct us_link *inner, struct us_buf **bufs, int max, uint64_t now_ns);
int us_link_send(struct us_link *inner, struct us_buf **bufs, int n, uint64_t now_ns);
int64_t us_link_poll(struct us_link *inner, uint64_t now_ns);
int us_link_pending(struct us_link *inner);

/* Frame counters of any link. */
struct us_link_stats {
	uint64_t rx_frames, tx_frames;
	uint64_t rx_drops;          /* frames lost on receive: no buffer, too long, device errors */
	uint64_t tx_drops;          /* frames the device did not take */
	uint64_t rx_nobuf;          /* of rx_drops: no free packet buffer (Link.InNoBuf) */
};
void us_link_stats(const struct us_link *l, struct us_link_stats *out);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
