/* AF_XDP: a device on one queue of an existing interface, with the UMEM
 * being the stack's own packet buffers.
 *
 * The stack's frame-class buffers (core/pkt.h: 2048 bytes each, mapped,
 * page-aligned) are registered as the socket's UMEM when the link is
 * attached, so a frame the kernel receives lands in a packet buffer and is
 * processed where it lies; a packet the stack builds is sent by handing its
 * address to the TX ring. Per frame nothing is copied in user space.
 *
 * Rings: the fill ring gives the kernel free buffers, the RX ring returns
 * them with frames, the TX ring takes frames to send and the completion
 * ring returns their buffers. A per-buffer state (ours, in the fill/RX
 * path, in the TX path) checks every address the kernel hands back.
 *
 * The XDP program (built below as BPF instructions, loaded with the bpf
 * system call) redirects to the queue's socket only the frames for the
 * stack's addresses (ARP whose target is ours, IPv4/IPv6 to ours) and
 * passes everything else to the kernel; the addresses live in a hash map
 * the stack updates (link op addr). It is attached through a BPF link
 * (BPF_LINK_CREATE), which the kernel detaches when the last descriptor
 * to it closes: on close, on exit and when the process is killed, so a
 * SIGKILL leaves the interface as it was. Queues of one interface share
 * one program (us_link_xdp_opts.share).
 *
 * Only libc and Linux's headers: no libbpf, no libxdp (what they would do
 * here is a few system calls; libxdp 1.3's own attach goes through netlink
 * or a dispatcher pinned in bpffs, both of which outlive a killed process).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/bytes.h"
#include "link/link.h"
#include "link/xsk_ring.h"
#include "ustack/host.h"
#include "ustack/link.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define XQ_MAX 64    /* queue indexes the program's socket map holds */
#define XADDR_MAX 32 /* addresses the program steers */
#define XINBOX 16    /* ARP frames waiting for a sibling queue */
#define XINBOX_LEN 128

enum { CH_OURS = 0, CH_FILL = 1, CH_TX = 2 };

struct xdp_link;

/* The program and maps of one interface, shared by its queues' links. */
struct xdp_prog {
	int ifindex;
	int prog_fd, link_fd, xsks_fd, addrs_fd;
	int drv_mode;         /* 1: native (driver) XDP, 0: generic (skb) */
	int refs;             /* atomic */
	int nlinks;           /* atomic: queues open (ARP sharing when > 1) */
	pthread_mutex_t lock; /* qs[] */
	struct xdp_link *qs[XQ_MAX];
};

struct xdp_link {
	struct us_link l; /* first: us_link_close frees the block */
	struct xdp_prog *prog;
	unsigned queue, flags;
	uint32_t ring_size, batch, fill_target;
	int bound, zerocopy, need_wakeup;
	struct xsk_ring fq, cq, rx, tx;
	void *map[4];
	size_t map_len[4];
	uint8_t *umem;
	uint32_t chunk, nchunks;
	uint8_t *state; /* per chunk: CH_* */
	uint32_t in_fill, in_tx;
	struct us_link_xdp_info info;
	/* ARP frames a sibling queue received (multi-queue: an ARP reply may
	 * reach any queue; every queue's stack needs it). */
	pthread_mutex_t inbox_lock;
	int inbox_n, inbox_has; /* inbox_has: atomic hint */
	uint16_t inbox_len[XINBOX];
	uint8_t inbox[XINBOX][XINBOX_LEN];
};

static struct xdp_link *xl(struct us_link *l) { return (struct xdp_link *)l; }

/* ---- bpf(2) ---- */

static int sys_bpf(int cmd, union bpf_attr *a)
{
	long r = syscall(__NR_bpf, cmd, a, sizeof(*a));
	return r < 0 ? -errno : (int)r;
}

static int map_create(enum bpf_map_type type, uint32_t ksz, uint32_t vsz, uint32_t max, const char *name)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = ksz;
	a.value_size = vsz;
	a.max_entries = max;
	snprintf(a.map_name, sizeof(a.map_name), "%s", name);
	return sys_bpf(BPF_MAP_CREATE, &a);
}

static int map_update(int fd, const void *key, const void *val)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)val;
	a.flags = BPF_ANY;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

static int map_delete(int fd, const void *key)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	return sys_bpf(BPF_MAP_DELETE_ELEM, &a);
}

/* A tiny assembler: instructions with forward jumps to labels. */
struct basm {
	struct bpf_insn i[64];
	int n, bad;
	int label_pc[8];
	int fix_pc[32], fix_label[32], nfix;
};

static void emit(struct basm *b, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (b->n >= (int)(sizeof(b->i) / sizeof(b->i[0]))) {
		b->bad = 1;
		return;
	}
	struct bpf_insn *x = &b->i[b->n++];
	memset(x, 0, sizeof(*x));
	x->code = code;
	x->dst_reg = dst & 0xf;
	x->src_reg = src & 0xf;
	x->off = off;
	x->imm = imm;
}
static void jump(struct basm *b, uint8_t code, uint8_t dst, uint8_t src, int32_t imm, int label)
{
	if (b->nfix >= 32) {
		b->bad = 1;
		return;
	}
	b->fix_pc[b->nfix] = b->n;
	b->fix_label[b->nfix++] = label;
	emit(b, code, dst, src, 0, imm);
}
static void label(struct basm *b, int l) { b->label_pc[l] = b->n; }
static void ld_map(struct basm *b, uint8_t dst, int fd)
{
	emit(b, BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
	emit(b, 0, 0, 0, 0, 0);
}
static void resolve(struct basm *b)
{
	for (int k = 0; k < b->nfix; k++)
		b->i[b->fix_pc[k]].off = (int16_t)(b->label_pc[b->fix_label[k]] - b->fix_pc[k] - 1);
}

enum { L_PASS, L_IP4, L_ARP, L_IP6, L_V4KEY, L_LOOKUP };

/* The program: frames for our addresses to the queue's socket, the rest
 * to the kernel. Keys are 16-byte addresses as core/addr.h has them (IPv4
 * as ::ffff:a.b.c.d). Loads are little-endian views of network-order
 * bytes (0x0008 is EtherType 0x0800). */
static int build_prog(struct basm *b, int xsks_fd, int addrs_fd)
{
	memset(b, 0, sizeof(*b));
	emit(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
	emit(b, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_7, BPF_REG_6, offsetof(struct xdp_md, data), 0);
	emit(b, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_8, BPF_REG_6, offsetof(struct xdp_md, data_end), 0);
	emit(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0);
	emit(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_0, 0, 0, 14);
	jump(b, BPF_JMP | BPF_JGT | BPF_X, BPF_REG_0, BPF_REG_8, 0, L_PASS);
	emit(b, BPF_LDX | BPF_H | BPF_MEM, BPF_REG_2, BPF_REG_7, 12, 0);
	jump(b, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_2, 0, 0x0008, L_IP4);
	jump(b, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_2, 0, 0x0608, L_ARP);
	jump(b, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_2, 0, 0xdd86, L_IP6);
	jump(b, BPF_JMP | BPF_JA, 0, 0, 0, L_PASS);
	/* IPv4: the destination at 14 + 16 */
	label(b, L_IP4);
	emit(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0);
	emit(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_0, 0, 0, 34);
	jump(b, BPF_JMP | BPF_JGT | BPF_X, BPF_REG_0, BPF_REG_8, 0, L_PASS);
	emit(b, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_7, 30, 0);
	jump(b, BPF_JMP | BPF_JA, 0, 0, 0, L_V4KEY);
	/* ARP: the target protocol address at 14 + 24 */
	label(b, L_ARP);
	emit(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0);
	emit(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_0, 0, 0, 42);
	jump(b, BPF_JMP | BPF_JGT | BPF_X, BPF_REG_0, BPF_REG_8, 0, L_PASS);
	emit(b, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_7, 38, 0);
	label(b, L_V4KEY);
	emit(b, BPF_ST | BPF_DW | BPF_MEM, BPF_REG_10, 0, -16, 0);
	emit(b, BPF_ST | BPF_W | BPF_MEM, BPF_REG_10, 0, -8, (int32_t)0xffff0000u);
	emit(b, BPF_STX | BPF_W | BPF_MEM, BPF_REG_10, BPF_REG_3, -4, 0);
	jump(b, BPF_JMP | BPF_JA, 0, 0, 0, L_LOOKUP);
	/* IPv6: the destination at 14 + 24, 16 bytes */
	label(b, L_IP6);
	emit(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0);
	emit(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_0, 0, 0, 54);
	jump(b, BPF_JMP | BPF_JGT | BPF_X, BPF_REG_0, BPF_REG_8, 0, L_PASS);
	emit(b, BPF_LDX | BPF_DW | BPF_MEM, BPF_REG_3, BPF_REG_7, 38, 0);
	emit(b, BPF_STX | BPF_DW | BPF_MEM, BPF_REG_10, BPF_REG_3, -16, 0);
	emit(b, BPF_LDX | BPF_DW | BPF_MEM, BPF_REG_3, BPF_REG_7, 46, 0);
	emit(b, BPF_STX | BPF_DW | BPF_MEM, BPF_REG_10, BPF_REG_3, -8, 0);
	/* ours? */
	label(b, L_LOOKUP);
	ld_map(b, BPF_REG_1, addrs_fd);
	emit(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	emit(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -16);
	emit(b, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
	jump(b, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, L_PASS);
	/* to the socket of the queue it came in on; none bound there: pass */
	emit(b, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6, offsetof(struct xdp_md, rx_queue_index), 0);
	ld_map(b, BPF_REG_1, xsks_fd);
	emit(b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_PASS);
	emit(b, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map);
	emit(b, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	label(b, L_PASS);
	emit(b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS);
	emit(b, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	resolve(b);
	return b->bad ? -EINVAL : 0;
}

static int prog_load(struct basm *b, char *log, size_t log_len)
{
	static const char license[] = "Dual BSD/GPL";
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.insns = (uint64_t)(uintptr_t)b->i;
	a.insn_cnt = (uint32_t)b->n;
	a.license = (uint64_t)(uintptr_t)license;
	a.expected_attach_type = BPF_XDP;
	snprintf(a.prog_name, sizeof(a.prog_name), "ustack_xdp");
	int fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0 && log && log_len) {
		/* again, with the verifier's reasons, for the message */
		a.log_buf = (uint64_t)(uintptr_t)log;
		a.log_size = (uint32_t)log_len;
		a.log_level = 1;
		log[0] = 0;
		int fd2 = sys_bpf(BPF_PROG_LOAD, &a);
		if (fd2 >= 0)
			return fd2;
	}
	return fd;
}

static void prog_put(struct xdp_prog *g)
{
	if (!g || __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	/* Closing the BPF link detaches the program from the interface. */
	if (g->link_fd >= 0)
		close(g->link_fd);
	if (g->prog_fd >= 0)
		close(g->prog_fd);
	if (g->xsks_fd >= 0)
		close(g->xsks_fd);
	if (g->addrs_fd >= 0)
		close(g->addrs_fd);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static struct xdp_prog *prog_new(int ifindex, unsigned flags, int *err)
{
	struct xdp_prog *g = calloc(1, sizeof(*g));
	if (!g) {
		*err = -ENOMEM;
		return NULL;
	}
	g->ifindex = ifindex;
	g->refs = 1;
	g->link_fd = g->prog_fd = -1;
	pthread_mutex_init(&g->lock, NULL);
	g->xsks_fd = map_create(BPF_MAP_TYPE_XSKMAP, 4, 4, XQ_MAX, "ustack_xsks");
	g->addrs_fd = map_create(BPF_MAP_TYPE_HASH, 16, 4, XADDR_MAX, "ustack_addrs");
	if (g->xsks_fd < 0 || g->addrs_fd < 0) {
		*err = g->xsks_fd < 0 ? g->xsks_fd : g->addrs_fd;
		goto fail;
	}
	struct basm b;
	if ((*err = build_prog(&b, g->xsks_fd, g->addrs_fd)) < 0)
		goto fail;
	char log[2048];
	g->prog_fd = prog_load(&b, log, sizeof(log));
	if (g->prog_fd < 0) {
		*err = g->prog_fd;
		if (getenv("USTACK_XDP_DEBUG"))
			fprintf(stderr, "ustack: XDP program refused: %s\n%s\n", strerror(-*err), log);
		goto fail;
	}
	/* Native mode where the driver has it, else generic. */
	for (int pass = 0; pass < 2; pass++) {
		int drv = pass == 0;
		if (drv && (flags & US_XDP_SKB_MODE))
			continue;
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.link_create.prog_fd = (uint32_t)g->prog_fd;
		a.link_create.target_ifindex = (uint32_t)ifindex;
		a.link_create.attach_type = BPF_XDP;
		a.link_create.flags = drv ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
		g->link_fd = sys_bpf(BPF_LINK_CREATE, &a);
		if (g->link_fd >= 0) {
			g->drv_mode = drv;
			return g;
		}
		*err = g->link_fd;
		if (*err == -EBUSY || *err == -EEXIST)
			break; /* another XDP program is on the interface: leave it alone */
	}
fail:
	prog_put(g);
	return NULL;
}

/* ---- the rings ---- */

static int ring_map(struct xdp_link *x, int k, struct xsk_ring *r, const struct xdp_ring_offset *o, uint64_t pgoff,
		    size_t esz, uint32_t size)
{
	size_t len = o->desc + (size_t)size * esz;
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, x->l.fd, (off_t)pgoff);
	if (m == MAP_FAILED)
		return -errno;
	x->map[k] = m;
	x->map_len[k] = len;
	r->producer = (uint32_t *)((uint8_t *)m + o->producer);
	r->consumer = (uint32_t *)((uint8_t *)m + o->consumer);
	r->flags = (uint32_t *)((uint8_t *)m + o->flags);
	r->entries = (uint8_t *)m + o->desc;
	r->size = size;
	r->mask = size - 1;
	r->cached_prod = xsk_load(r->producer);
	r->cached_cons = xsk_load(r->consumer);
	return 0;
}

static void rings_unmap(struct xdp_link *x)
{
	for (int k = 0; k < 4; k++) {
		if (x->map[k])
			munmap(x->map[k], x->map_len[k]);
		x->map[k] = NULL;
	}
	memset(&x->fq, 0, sizeof(x->fq));
	memset(&x->cq, 0, sizeof(x->cq));
	memset(&x->rx, 0, sizeof(x->rx));
	memset(&x->tx, 0, sizeof(x->tx));
}

/* UMEM, rings and bind on l->fd. 0 or -errno. */
static int xsk_setup(struct xdp_link *x, uint16_t bind_flags)
{
	int fd = x->l.fd;
	struct xdp_umem_reg ur;
	memset(&ur, 0, sizeof(ur));
	ur.addr = (uint64_t)(uintptr_t)x->umem;
	ur.len = (uint64_t)x->nchunks * x->chunk;
	ur.chunk_size = x->chunk;
	ur.headroom = 0;
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &ur, sizeof(ur)) < 0)
		return -errno;
	int sz = (int)x->ring_size;
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &sz, sizeof(sz)) < 0 ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &sz, sizeof(sz)) < 0 ||
	    setsockopt(fd, SOL_XDP, XDP_RX_RING, &sz, sizeof(sz)) < 0 ||
	    setsockopt(fd, SOL_XDP, XDP_TX_RING, &sz, sizeof(sz)) < 0)
		return -errno;
	struct xdp_mmap_offsets off;
	socklen_t ol = sizeof(off);
	if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) < 0)
		return -errno;
	int rc;
	if ((rc = ring_map(x, 0, &x->fq, &off.fr, XDP_UMEM_PGOFF_FILL_RING, sizeof(uint64_t), x->ring_size)) < 0 ||
	    (rc = ring_map(x, 1, &x->cq, &off.cr, XDP_UMEM_PGOFF_COMPLETION_RING, sizeof(uint64_t), x->ring_size)) <
		    0 ||
	    (rc = ring_map(x, 2, &x->rx, &off.rx, XDP_PGOFF_RX_RING, sizeof(struct xdp_desc), x->ring_size)) < 0 ||
	    (rc = ring_map(x, 3, &x->tx, &off.tx, XDP_PGOFF_TX_RING, sizeof(struct xdp_desc), x->ring_size)) < 0)
		return rc;
	struct sockaddr_xdp sa;
	memset(&sa, 0, sizeof(sa));
	sa.sxdp_family = AF_XDP;
	sa.sxdp_ifindex = (uint32_t)x->prog->ifindex;
	sa.sxdp_queue_id = x->queue;
	sa.sxdp_flags = bind_flags;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* A fresh socket in l->fd's place (the descriptor number stays: wrappers
 * and the event loop have copied it). */
static int xsk_renew(struct xdp_link *x)
{
	rings_unmap(x);
	int s = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	int rc = dup3(s, x->l.fd, O_CLOEXEC) < 0 ? -errno : 0;
	close(s);
	return rc;
}

static uint32_t fill(struct xdp_link *x, uint32_t want)
{
	struct pkt_pool *pool = x->l.pool;
	uint32_t n = xsk_prod_room(&x->fq, want), k = 0;
	while (k < n) {
		struct pkt *p[64];
		uint32_t ask = US_MIN(n - k, 64u);
		uint32_t got = pkt_alloc_frames(pool, p, ask, 0);
		uint32_t j = 0;
		for (uint32_t i = 0; i < got; i++) {
			uint64_t addr = (uint64_t)(p[i]->buf - x->umem);
			uint32_t idx = (uint32_t)(addr / x->chunk);
			if (idx >= x->nchunks) {
				/* the odd last buffer, outside the whole pages registered */
				pkt_free(pool, p[i]);
				continue;
			}
			x->state[idx] = CH_FILL;
			*xsk_addr_at(&x->fq, x->fq.cached_prod + k + j++) = addr;
		}
		k += j;
		if (got < ask || j < got)
			break; /* exhausted, or the odd buffer came back: no more this time */
	}
	if (k) {
		xsk_prod_submit(&x->fq, k);
		x->in_fill += k;
	}
	return k;
}

static int xdp_attach(struct us_link *l)
{
	struct xdp_link *x = xl(l);
	struct pkt_pool *pool = l->pool;
	if (x->bound)
		return -EBUSY; /* one stack per link */
	x->umem = pkt_frame_mem(pool);
	x->chunk = pkt_frame_size(pool);
	x->nchunks = pkt_frame_count(pool);
	/* Aligned UMEM chunks are 2048 or 4096 bytes; the kernel's receive
	 * headroom (XDP_PACKET_HEADROOM) comes off the front of each. */
	if (!x->umem || (x->chunk != 2048 && x->chunk != 4096) || ((uintptr_t)x->umem & 4095))
		return -EINVAL;
	x->nchunks &= ~1u; /* whole pages */
	if (x->nchunks < 2 * x->ring_size)
		return -ENOBUFS; /* the fill ring alone would take every buffer */
	x->state = calloc(x->nchunks, 1);
	if (!x->state)
		return -ENOMEM;
	uint16_t need = (x->flags & US_XDP_NO_WAKEUP) ? 0 : XDP_USE_NEED_WAKEUP;
	int rc = -EOPNOTSUPP;
	if (!(x->flags & US_XDP_COPY))
		rc = xsk_setup(x, need | XDP_ZEROCOPY);
	if (rc < 0 && !(x->flags & US_XDP_ZEROCOPY)) {
		int zc_err = rc;
		if ((x->flags & US_XDP_COPY) || (rc = xsk_renew(x)) == 0)
			rc = xsk_setup(x, need | XDP_COPY);
		snprintf(x->info.why, sizeof(x->info.why), "%s",
			 (x->flags & US_XDP_COPY) ? "copy mode asked for"
			 : zc_err == -EOPNOTSUPP  ? "the driver has no zero-copy AF_XDP"
						  : strerror(-zc_err));
	}
	if (rc < 0)
		goto fail;
	struct xdp_options xo;
	socklen_t xl_ = sizeof(xo);
	memset(&xo, 0, sizeof(xo));
	if (getsockopt(l->fd, SOL_XDP, XDP_OPTIONS, &xo, &xl_) == 0)
		x->zerocopy = (xo.flags & XDP_OPTIONS_ZEROCOPY) != 0;
	if (x->zerocopy)
		snprintf(x->info.why, sizeof(x->info.why), "the driver has zero-copy AF_XDP");
	x->need_wakeup = need != 0;
	uint32_t key = x->queue, val = (uint32_t)l->fd;
	if ((rc = map_update(x->prog->xsks_fd, &key, &val)) < 0)
		goto fail;
	x->bound = 1;
	x->fill_target = x->ring_size;
	fill(x, x->fill_target);
	l->lent = x->in_fill;
	x->info.zerocopy = x->zerocopy;
	x->info.drv_mode = x->prog->drv_mode;
	x->info.need_wakeup = x->need_wakeup;
	x->info.queue = x->queue;
	x->info.ring_size = x->ring_size;
	x->info.batch = x->batch;
	return 0;
fail:
	rings_unmap(x);
	free(x->state);
	x->state = NULL;
	return rc;
}

/* Buffers the kernel has sent go back to the pool. */
static void reap(struct xdp_link *x)
{
	uint32_t n = xsk_cons_peek(&x->cq, x->ring_size);
	for (uint32_t k = 0; k < n; k++) {
		uint64_t addr = *xsk_addr_at(&x->cq, x->cq.cached_cons + k);
		uint32_t idx = (uint32_t)(addr / x->chunk);
		if (idx >= x->nchunks || x->state[idx] != CH_TX) {
			x->info.bad_desc++;
			continue;
		}
		x->state[idx] = CH_OURS;
		x->in_tx--;
		pkt_free(x->l.pool, pkt_frame_hdr(x->l.pool, idx));
	}
	if (n)
		xsk_cons_release(&x->cq, n);
}

static void kick_rx(struct xdp_link *x)
{
	x->info.rx_kicks++;
	(void)recvfrom(x->l.fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

static void reap(struct xdp_link *x);

static void kick_tx(struct xdp_link *x)
{
	/* Generic (copy) transmit sends a bounded batch per call and says
	 * EAGAIN while more is queued, or while the completion ring is full:
	 * take the completions and call again, a bounded number of times. */
	for (uint32_t tries = 0; tries < x->ring_size / 16 + 2; tries++) {
		x->info.tx_kicks++;
		if (sendto(x->l.fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			break;
		if (errno != EAGAIN && errno != EBUSY && errno != EINTR)
			break;
		reap(x);
		if (xsk_prod_outstanding(&x->tx) == 0)
			break;
	}
}

/* Frames the TX ring may take now: its room, and no more in flight than
 * the completion ring can hand back (else the kernel stops sending). */
static uint32_t tx_room(struct xdp_link *x, uint32_t want)
{
	uint32_t cap = x->in_tx < x->ring_size ? x->ring_size - x->in_tx : 0;
	return xsk_prod_room(&x->tx, US_MIN(want, cap));
}

/* ARP replies go to every sibling queue's stack (see struct xdp_link). */
static void share_arp(struct xdp_link *x, const struct pkt *p)
{
	if (p->len < 42 || p->len > XINBOX_LEN || p->data[12] != 0x08 || p->data[13] != 0x06 || p->data[21] != 2)
		return;
	struct xdp_prog *g = x->prog;
	pthread_mutex_lock(&g->lock);
	for (int q = 0; q < XQ_MAX; q++) {
		struct xdp_link *s = g->qs[q];
		if (!s || s == x)
			continue;
		pthread_mutex_lock(&s->inbox_lock);
		if (s->inbox_n < XINBOX) {
			memcpy(s->inbox[s->inbox_n], p->data, p->len);
			s->inbox_len[s->inbox_n++] = (uint16_t)p->len;
			__atomic_store_n(&s->inbox_has, 1, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&s->inbox_lock);
	}
	pthread_mutex_unlock(&g->lock);
}

static int take_inbox(struct xdp_link *x, struct pkt **pkts, int max, uint64_t now)
{
	int n = 0;
	pthread_mutex_lock(&x->inbox_lock);
	for (int i = 0; i < x->inbox_n && n < max; i++) {
		struct pkt *p = pkt_alloc_frame(x->l.pool, PKT_HEADROOM);
		if (!p)
			break;
		memcpy(p->data, x->inbox[i], x->inbox_len[i]);
		p->len = x->inbox_len[i];
		p->ts = now;
		pkts[n++] = p;
	}
	x->inbox_n = 0; /* what did not fit is lost, as a full queue would lose it */
	__atomic_store_n(&x->inbox_has, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&x->inbox_lock);
	return n;
}

static int xdp_recv(struct us_link *l, struct pkt **pkts, int max, uint64_t now)
{
	struct xdp_link *x = xl(l);
	if (!x->bound)
		return -EINVAL;
	reap(x);
	int got = 0;
	if (__atomic_load_n(&x->inbox_has, __ATOMIC_ACQUIRE))
		got = take_inbox(x, pkts, max, now);
	uint32_t want = US_MIN((uint32_t)(max - got), x->batch);
	uint32_t n = xsk_cons_peek(&x->rx, want);
	int siblings = __atomic_load_n(&x->prog->nlinks, __ATOMIC_RELAXED) > 1;
	for (uint32_t k = 0; k < n; k++) {
		const struct xdp_desc *d =
			(const struct xdp_desc *)x->rx.entries + ((x->rx.cached_cons + k) & x->rx.mask);
		uint64_t addr = d->addr;
		uint32_t idx = (uint32_t)(addr / x->chunk), off = (uint32_t)(addr % x->chunk);
		if (idx >= x->nchunks || x->state[idx] != CH_FILL) {
			x->info.bad_desc++; /* not a buffer we gave: leave it alone */
			continue;
		}
		x->state[idx] = CH_OURS;
		x->in_fill--;
		struct pkt *p = pkt_frame_hdr(l->pool, idx);
		if (d->len == 0 || (uint64_t)off + d->len > x->chunk) {
			x->info.bad_desc++;
			l->rx_drops++;
			pkt_free(l->pool, p);
			continue;
		}
		p->data = p->buf + off;
		p->len = d->len;
		p->ts = now;
		if (siblings)
			share_arp(x, p);
		pkts[got++] = p;
	}
	if (n)
		xsk_cons_release(&x->rx, n);
	/* Keep the fill ring topped up; the kernel drops what it has no buffer for. */
	if (x->in_fill < x->fill_target)
		fill(x, x->fill_target - x->in_fill);
	if (x->need_wakeup ? xsk_needs_wakeup(&x->fq, XDP_RING_NEED_WAKEUP) : (n == 0 && x->zerocopy))
		kick_rx(x);
	if (xsk_prod_outstanding(&x->tx))
		kick_tx(x); /* frames a kick left behind (the kernel was busy) */
	l->rx_frames += (uint64_t)got;
	l->lent = x->in_fill + x->in_tx;
	x->info.rx_batches += n ? 1 : 0;
	return got;
}

static int xdp_send(struct us_link *l, struct pkt **pkts, int n, uint64_t now)
{
	(void)now;
	struct xdp_link *x = xl(l);
	struct pkt_pool *pool = l->pool;
	if (!x->bound) {
		for (int i = 0; i < n; i++)
			pkt_free(pool, pkts[i]);
		l->tx_drops += (uint64_t)n;
		return 0;
	}
	reap(x);
	uint32_t room = tx_room(x, (uint32_t)n);
	if (room < (uint32_t)n) {
		kick_tx(x); /* let the kernel catch up once, then take what fits */
		reap(x);
		room = tx_room(x, (uint32_t)n);
	}
	uint32_t k = 0;
	int sent = 0;
	for (int i = 0; i < n; i++) {
		struct pkt *p = pkts[i];
		if (k >= room) {
			x->info.tx_ring_full++;
			goto drop;
		}
		if (!pkt_is_frame(p) || p->buf < x->umem ||
		    (uint64_t)(p->buf - x->umem) >= (uint64_t)x->nchunks * x->chunk) {
			/* Not a UMEM buffer (a large datagram's buffer): copy it into one. */
			struct pkt *c = p->len <= x->chunk - PKT_HEADROOM ? pkt_alloc_frame(pool, PKT_HEADROOM) : NULL;
			if (!c)
				goto drop;
			memcpy(c->data, p->data, p->len);
			c->len = p->len;
			pkt_free(pool, p);
			p = c;
			x->info.tx_copied++;
		}
		uint64_t addr = (uint64_t)(p->data - x->umem);
		uint32_t idx = (uint32_t)((uint64_t)(p->buf - x->umem) / x->chunk);
		if (p->len == 0 || p->len > l->mtu + 18u || x->state[idx] != CH_OURS)
			goto drop;
		struct xdp_desc *d = (struct xdp_desc *)x->tx.entries + ((x->tx.cached_prod + k) & x->tx.mask);
		d->addr = addr;
		d->len = p->len;
		d->options = 0;
		x->state[idx] = CH_TX;
		x->in_tx++;
		k++;
		sent++;
		continue;
	drop:
		l->tx_drops++;
		pkt_free(pool, p);
	}
	if (k) {
		xsk_prod_submit(&x->tx, k);
		if (!x->need_wakeup || xsk_needs_wakeup(&x->tx, XDP_RING_NEED_WAKEUP))
			kick_tx(x);
	}
	l->tx_frames += (uint64_t)sent;
	l->lent = x->in_fill + x->in_tx;
	return sent;
}

/* Frames left in the TX ring (the kernel said busy) must not wait for
 * the next frame to come in: kick again soon. */
static int64_t xdp_poll(struct us_link *l, uint64_t now)
{
	struct xdp_link *x = xl(l);
	if (!x->bound || !xsk_prod_outstanding(&x->tx))
		return -1;
	kick_tx(x);
	reap(x);
	l->lent = x->in_fill + x->in_tx;
	return xsk_prod_outstanding(&x->tx) ? (int64_t)(now + 50000) : -1;
}

static int xdp_pending(struct us_link *l)
{
	struct xdp_link *x = xl(l);
	if (!x->bound)
		return 0;
	return xsk_cons_pending(&x->rx) > 0 || __atomic_load_n(&x->inbox_has, __ATOMIC_ACQUIRE);
}

static void xdp_addr(struct us_link *l, const struct us_addr *a, int add)
{
	struct xdp_link *x = xl(l);
	uint32_t one = 1;
	struct us_addr keys[2];
	int nk = 0;
	keys[nk++] = *a;
	if (!addr_is_v4(a)) {
		/* and its solicited-node group (ff02::1:ffXX:XXXX), for neighbour discovery */
		static const uint8_t sn[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
		memcpy(keys[nk].b, sn, 13);
		memcpy(keys[nk].b + 13, a->b + 13, 3);
		nk++;
	}
	for (int i = 0; i < nk; i++) {
		if (add)
			(void)map_update(x->prog->addrs_fd, keys[i].b, &one);
		else
			(void)map_delete(x->prog->addrs_fd, keys[i].b);
	}
}

static void xdp_close(struct us_link *l)
{
	struct xdp_link *x = xl(l);
	struct xdp_prog *g = x->prog;
	if (g) {
		pthread_mutex_lock(&g->lock);
		if (x->queue < XQ_MAX && g->qs[x->queue] == x) {
			g->qs[x->queue] = NULL;
			__atomic_sub_fetch(&g->nlinks, 1, __ATOMIC_RELAXED);
		}
		pthread_mutex_unlock(&g->lock);
		if (x->bound) {
			uint32_t key = x->queue;
			(void)map_delete(g->xsks_fd, &key);
		}
	}
	/* After close the kernel no longer touches the UMEM: the buffers it
	 * held go back to the pool. */
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	rings_unmap(x);
	if (x->state && l->pool) {
		for (uint32_t i = 0; i < x->nchunks; i++)
			if (x->state[i] != CH_OURS)
				pkt_free(l->pool, pkt_frame_hdr(l->pool, i));
	}
	free(x->state);
	x->state = NULL;
	l->lent = 0;
	pthread_mutex_destroy(&x->inbox_lock);
	prog_put(g);
	x->prog = NULL;
}

static const struct us_link_ops xdp_ops = {
	.recv = xdp_recv,
	.send = xdp_send,
	.pending = xdp_pending,
	.poll = xdp_poll,
	.close = xdp_close,
	.attach = xdp_attach,
	.addr = xdp_addr,
};

static struct xdp_link *xdp_of(const struct us_link *l)
{
	for (; l; l = l->inner)
		if (l->ops == &xdp_ops)
			return (struct xdp_link *)l;
	return NULL;
}

int us_link_xdp_info(const struct us_link *l, struct us_link_xdp_info *out)
{
	struct xdp_link *x = xdp_of(l);
	if (!x)
		return -EINVAL;
	*out = x->info;
	out->rx_frames = x->l.rx_frames;
	out->tx_frames = x->l.tx_frames;
	return 0;
}

struct us_link *us_link_xdp_open(const char *ifname, unsigned queue, const struct us_link_xdp_opts *opts, int *err)
{
	int dummy;
	if (!err)
		err = &dummy;
	*err = 0;
	struct us_link_xdp_opts o = {0};
	if (opts)
		o = *opts;
	if (!o.ring_size)
		o.ring_size = 1024;
	if (!o.batch)
		o.batch = 64;
	if (!ifname || strlen(ifname) >= IFNAMSIZ || queue >= XQ_MAX || o.ring_size < 64 || o.ring_size > 16384 ||
	    (o.ring_size & (o.ring_size - 1)) || o.batch > o.ring_size ||
	    (o.flags & ~(US_XDP_COPY | US_XDP_ZEROCOPY | US_XDP_SKB_MODE | US_XDP_NO_WAKEUP)) ||
	    ((o.flags & US_XDP_COPY) && (o.flags & US_XDP_ZEROCOPY))) {
		*err = -EINVAL;
		return NULL;
	}
	int ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		*err = -ENODEV;
		return NULL;
	}
	struct xdp_prog *g = NULL;
	if (o.share) {
		struct xdp_link *s = xdp_of(o.share);
		if (!s || s->prog->ifindex != ifindex) {
			*err = -EINVAL;
			return NULL;
		}
		g = s->prog;
		__atomic_add_fetch(&g->refs, 1, __ATOMIC_ACQ_REL);
	}
	struct xdp_link *x = calloc(1, sizeof(*x));
	if (!x) {
		prog_put(g);
		*err = -ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&x->inbox_lock, NULL);
	x->queue = queue;
	x->flags = o.flags;
	x->ring_size = o.ring_size;
	x->batch = o.batch;
	struct us_link *l = &x->l;
	l->ops = &xdp_ops;
	l->priv = x;
	l->flags = US_LINK_L2;
	snprintf(l->name, sizeof(l->name), "%s", ifname);
	l->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		*err = -errno;
		goto fail;
	}
	int mtu = us_nl_link_get_mtu(ifname);
	if (mtu < 0 || (*err = us_nl_link_get_mac(ifname, l->hwaddr)) < 0) {
		if (mtu < 0)
			*err = mtu;
		goto fail;
	}
	/* What fits a 2048-byte buffer behind the kernel's 256 bytes of headroom. */
	l->mtu = (uint32_t)US_MIN(mtu, 2048 - XDP_PACKET_HEADROOM - 18);
	if (!g && !(g = prog_new(ifindex, o.flags, err)))
		goto fail;
	x->prog = g;
	pthread_mutex_lock(&g->lock);
	if (g->qs[queue]) {
		pthread_mutex_unlock(&g->lock);
		*err = -EBUSY;
		goto fail;
	}
	g->qs[queue] = x;
	__atomic_add_fetch(&g->nlinks, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&g->lock);
	return l;
fail:
	if (!x->prog)
		prog_put(g);
	xdp_close(l);
	free(x);
	return NULL;
}
