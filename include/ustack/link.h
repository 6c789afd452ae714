/* ustack devices: the ready-made ones (TAP, TUN, in-memory pairs, fault
 * injection, pcap capture) and the interface for one of your own (an
 * AF_XDP ring, a VM's virtio queue, a test harness...). A device becomes a
 * struct us_link; us_iface_add() attaches it to a stack, which owns it from
 * then on. */
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
unsigned us_link_offloads(const struct us_link *l);
/* Two links joined in memory (frames sent on one are received on the other).
 * l3: bare IP packets instead of Ethernet frames. */
int us_link_mem_pair(struct us_link **a, struct us_link **b, uint32_t mtu, int l3);
/* Close a link the stack does not own (us_iface_add takes ownership). */
void us_link_close(struct us_link *l);
void us_link_set_hwaddr(struct us_link *l, const uint8_t mac[6]);
void us_link_get_hwaddr(const struct us_link *l, uint8_t mac[6]);

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
	 * send, with US_LINK_OFF_TSO4: gso_size != 0 means a TCP/IPv4
	 * super-segment to be cut into segments of gso_size payload bytes.
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
	unsigned offloads;          /* US_LINK_OFF_CSUM, US_LINK_OFF_TSO4: what send accepts */
};

/* A link over your device; ops and dev must outlive it. NULL with errno
 * set (EINVAL: no recv or send, a bad MTU; ENOMEM). */
struct us_link *us_link_device_new(const struct us_device_ops *ops, void *dev, const struct us_device_info *info);

/* Frame counters of any link. */
struct us_link_stats {
	uint64_t rx_frames, tx_frames;
	uint64_t rx_drops;          /* frames lost on receive: no buffer, too long, device errors */
	uint64_t tx_drops;          /* frames the device did not take */
};
void us_link_stats(const struct us_link *l, struct us_link_stats *out);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
