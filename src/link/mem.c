/* Two links joined in memory. Each direction is a bounded ring of copied
 * frames stored in memory the pair owns: a frame is copied in on send
 * (the sender's packet goes back to its pool at once) and copied out into
 * a buffer from the receiver's pool on recv, so the two sides may use
 * different pools. Full ring: the frame is dropped and counted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ustack/link.h"

#define MEM_RING_FRAMES 4096u
#define MEM_L2_HDR 18u                 /* Ethernet header with one VLAN tag */
#define MEM_REC_HDR 4u                 /* each record: 32-bit length, then bytes */
#define MEM_SKIP 0xffffffffu           /* record "rest of the buffer unused" */
#define MEM_RING_MIN_BYTES (512u * 1024u)
#define MEM_RING_MAX_BYTES (16u * 1024u * 1024u)

/* A byte ring of variable-length records, bounded in frames and bytes. */
struct mem_ring {
	uint8_t *buf;
	uint32_t cap;      /* bytes, a multiple of 8 */
	uint32_t head;     /* next record to read */
	uint32_t tail;     /* where the next record goes */
	uint32_t used;     /* bytes in use, skipped tail space included */
	uint32_t count;    /* frames */
};

struct mem_pair {
	struct mem_ring ring[2];   /* ring[i]: frames sent by side i */
	int open[2];
};

struct mem_end {
	struct mem_pair *pair;
	int side;
	int offload;               /* mem_link_offloads(): as a TAP with a vnet header */
	uint32_t frame;            /* the longest frame: the MTU plus an Ethernet header */
};

static uint32_t rec_size(uint32_t len)
{
	return (MEM_REC_HDR + len + 7u) & ~7u;
}

static uint8_t *ring_reserve(struct mem_ring *r, uint32_t len)
{
	uint32_t need = rec_size(len);
	if (r->count >= MEM_RING_FRAMES || need > r->cap - r->used)
		return NULL;
	if (r->tail >= r->head) {
		/* Free space is [tail, cap) and [0, head). */
		if (need > r->cap - r->tail) {
			if (need > r->head)
				return NULL;
			if (r->cap - r->tail >= MEM_REC_HDR) {
				uint32_t skip = MEM_SKIP;
				memcpy(r->buf + r->tail, &skip, sizeof(skip));
			}
			r->used += r->cap - r->tail;
			r->tail = 0;
		}
	} else if (need > r->head - r->tail) {
		return NULL;
	}
	uint8_t *rec = r->buf + r->tail;
	memcpy(rec, &len, sizeof(len));
	r->tail += need;
	if (r->tail == r->cap)
		r->tail = 0;
	r->used += need;
	r->count++;
	return rec + MEM_REC_HDR;
}

/* The oldest frame (its length in *len), or NULL. */
static const uint8_t *ring_peek(struct mem_ring *r, uint32_t *len)
{
	if (!r->count)
		return NULL;
	uint32_t l;
	if (r->cap - r->head < MEM_REC_HDR) {
		r->used -= r->cap - r->head;
		r->head = 0;
	}
	memcpy(&l, r->buf + r->head, sizeof(l));
	if (l == MEM_SKIP) {
		r->used -= r->cap - r->head;
		r->head = 0;
		memcpy(&l, r->buf, sizeof(l));
	}
	*len = l;
	return r->buf + r->head + MEM_REC_HDR;
}

static void ring_pop(struct mem_ring *r, uint32_t len)
{
	uint32_t sz = rec_size(len);
	r->head += sz;
	if (r->head == r->cap)
		r->head = 0;
	r->used -= sz;
	r->count--;
	if (r->count == 0)
		r->head = r->tail = r->used = 0;
}

static uint32_t max_frame(const struct mem_end *m)
{
	if (m->offload)
		return 65535u + MEM_L2_HDR;   /* TSO super-frames */
	return m->frame;
}

static int mem_send(void *dev, struct us_link *l, struct us_buf **bufs, int n, uint64_t now)
{
	(void)now;
	struct mem_end *m = dev;
	struct mem_ring *r = &m->pair->ring[m->side];
	int peer_open = m->pair->open[!m->side];
	int sent = 0;
	for (int i = 0; i < n; i++) {
		struct us_buf *b = bufs[i];
		uint32_t len = us_buf_len(b);
		uint8_t *dst = NULL;
		/* A frame longer than the link's MTU allows is not sent: a real
		 * NIC would refuse it too. */
		if (peer_open && len <= max_frame(m) && len <= r->cap / 4)
			dst = ring_reserve(r, len);
		if (dst) {
			memcpy(dst, us_buf_data(b), len);
			sent++;
		}
		us_buf_free(l, b);
	}
	return sent;   /* the rest count as dropped */
}

static int mem_recv(void *dev, struct us_link *l, struct us_buf **bufs, int max, uint64_t now)
{
	(void)now;
	struct mem_end *m = dev;
	struct mem_ring *r = &m->pair->ring[!m->side];
	static const struct us_buf_offload verified = {.csum_ok = 1};   /* as the kernel's DATA_VALID */
	int n = 0;
	/* Every frame taken, delivered or dropped, counts against max. */
	for (int i = 0; i < max; i++) {
		uint32_t len;
		const uint8_t *src = ring_peek(r, &len);
		if (!src)
			break;
		struct us_buf *b = us_buf_alloc(l, len);
		if (b) {
			memcpy(us_buf_data(b), src, len);
			us_buf_set_len(b, len);
			if (m->offload)
				us_buf_offload_set(b, &verified);
			bufs[n++] = b;
		} else {
			us_link_rx_dropped(l, 1, 1);   /* pool empty: the frame is lost */
		}
		ring_pop(r, len);
	}
	return n;
}

static int mem_pending(void *dev)
{
	struct mem_end *m = dev;
	return m->pair->ring[!m->side].count > 0;
}

static void mem_close(void *dev, struct us_link *l)
{
	(void)l;
	struct mem_end *m = dev;
	struct mem_pair *pair = m->pair;
	if (pair) {
		pair->open[m->side] = 0;
		/* Frames we sent that the peer never read are lost with us. */
		if (!pair->open[!m->side]) {
			free(pair->ring[0].buf);
			free(pair->ring[1].buf);
			free(pair);
		}
	}
	free(m);
}

static const struct us_device_zc_ops mem_ops = {
	.recv = mem_recv,
	.send = mem_send,
	.pending = mem_pending,
	.close = mem_close,
};

/* Declared in link/link.h, for the tests and the fuzz harness; this file
 * sees the stack only through the public device interface. */
int mem_link_offloads(struct us_link *l)
{
	struct mem_end *m = us_link_device(l, &mem_ops);
	if (!m)
		return -EINVAL;   /* not a mem link (a wrapper around one, say) */
	m->offload = 1;
	return us_link_set_offloads(l, US_LINK_OFF_CSUM | US_LINK_OFF_TSO4);
}

int us_link_mem_pair(struct us_link **a, struct us_link **b, uint32_t mtu, int l3)
{
	/* a == b would keep one end only and leak the other. */
	if (!a || !b || a == b || mtu < 68 || mtu > 65535)
		return -EINVAL;
	*a = *b = NULL;
	uint32_t frame = mtu + (l3 ? 0 : MEM_L2_HDR);
	uint64_t bytes = (uint64_t)MEM_RING_FRAMES * rec_size(frame);
	if (bytes < MEM_RING_MIN_BYTES)
		bytes = MEM_RING_MIN_BYTES;
	if (bytes > MEM_RING_MAX_BYTES)
		bytes = MEM_RING_MAX_BYTES;
	struct mem_pair *pair = calloc(1, sizeof(*pair));
	struct mem_end *m[2] = { calloc(1, sizeof(struct mem_end)), calloc(1, sizeof(struct mem_end)) };
	if (pair) {
		/* malloc, not calloc: pages are touched only as the ring fills */
		pair->ring[0].buf = malloc(bytes);
		pair->ring[1].buf = malloc(bytes);
	}
	if (!pair || !m[0] || !m[1] || !pair->ring[0].buf || !pair->ring[1].buf) {
		if (pair) {
			free(pair->ring[0].buf);
			free(pair->ring[1].buf);
		}
		free(pair);
		free(m[0]);
		free(m[1]);
		return -ENOMEM;
	}
	struct us_link *l[2] = { NULL, NULL };
	for (int i = 0; i < 2; i++) {
		pair->ring[i].cap = (uint32_t)bytes;
		pair->open[i] = 1;
		m[i]->pair = pair;
		m[i]->side = i;
		m[i]->frame = frame;
		struct us_device_info info = { .name = i ? "memb" : "mema", .l3 = l3, .mtu = mtu, .fd = -1 };
		if (!l3) {
			static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
			memcpy(info.hwaddr, mac, 6);
			info.hwaddr[5] = (uint8_t)(i + 1);
		}
		l[i] = us_link_device_zc_new(&mem_ops, m[i], &info);
	}
	if (!l[0] || !l[1]) {
		/* The pair goes here, not with an end: a link that was made frees
		 * its end when closed, the other end is freed here. */
		for (int i = 0; i < 2; i++) {
			m[i]->pair = NULL;
			if (l[i])
				us_link_close(l[i]);
			else
				free(m[i]);
		}
		free(pair->ring[0].buf);
		free(pair->ring[1].buf);
		free(pair);
		return -ENOMEM;
	}
	*a = l[0];
	*b = l[1];
	return 0;
}
