/* Packet buffers from a preallocated pool. Each buffer has headroom so
 * output can prepend headers without copying; the fast path never calls
 * malloc. Two size classes: frames (MTU-sized) and large (a 64 KiB
 * datagram or super-frame). The pool counts buffers in use so tests can
 * assert it returns to zero. */
#ifndef US_PKT_H
#define US_PKT_H
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define PKT_HEADROOM 128u         /* room for eth + ip + tcp headers (+ vnet hdr) */
#define PKT_LARGE_DATA 65600u     /* a full 65535-byte datagram plus headers */

struct us_iface;

struct pkt {
	struct pkt *next;        /* queue link; owner's use */
	uint8_t *buf;            /* storage start */
	uint8_t *data;           /* current start of valid bytes */
	uint32_t len;            /* valid bytes from data */
	uint32_t cap;            /* storage size */
	uint8_t cls;             /* pool class */
	uint8_t flags;
	uint8_t freed;           /* on its class's free list (US_CHECKS: double frees) */
	uint16_t l3_off;         /* set by input: offset of the L3 header from buf */
	struct us_iface *iface;  /* input or output interface */
	/* Metadata set by the layers on input, read by the one above. */
	struct us_addr src, dst; /* the datagram's addresses, either family */
	uint16_t sport, dport;
	uint8_t ip_proto, ip_ttl, ip_tos;
	/* Offloads (links with US_LINK_CSUM / US_LINK_TSO4). csum_l4: offset
	 * from buf of the TCP/UDP header whose checksum field (csum_off bytes
	 * into it) holds only the pseudo-header sum, to be completed by the
	 * device; 0 when the checksum is complete. gso_size: a TCP super-
	 * segment to be cut into segments of this much payload; 0 if none. */
	uint16_t csum_l4;
	uint8_t csum_off;
	uint16_t gso_size;
	uint64_t ts;             /* time stamp (ns): receive time (AF_XDP, AF_PACKET) */
};

#define PKT_F_BCAST 0x01  /* arrived as link or IP broadcast/multicast */
#define PKT_F_CSUM_OK 0x02 /* the device vouches for the L4 checksum (local kernel) */

/* Where a partial checksum starts, from p->data; -1 if none or out of range. */
static inline int pkt_csum_start(const struct pkt *p)
{
	if (!p->csum_l4 || p->buf + p->csum_l4 < p->data)
		return -1;
	long off = (long)(p->buf + p->csum_l4 - p->data);
	if (off + p->csum_off + 2 > (long)p->len)
		return -1;
	return (int)off;
}
#define PKT_F_NONLOCAL 0x04  /* to an address not ours, taken for a transparent socket */
#define PKT_F_TENTATIVE 0x08  /* IPv6: to one of our addresses still under DAD (NDP only) */

enum { PKT_CLS_FRAME = 0, PKT_CLS_LARGE = 1, PKT_NCLS = 2 };

struct pkt_class {
	struct pkt *free;
	struct pkt *hdrs;
	uint8_t *mem;       /* count * size bytes; buffer i at mem + i * size */
	size_t map_len;     /* mem is mapped (the frame class: page-aligned), else 0 */
	uint32_t size;      /* storage bytes per buffer */
	uint32_t count;
	uint32_t in_use;
	uint32_t peak;
	uint64_t fails;
};

struct pkt_pool {
	struct pkt_class cls[PKT_NCLS];
	uint64_t bytes;          /* storage bytes of buffers in use */
	uint64_t limit;          /* 0: none; else allocations past it fail (the memory budget) */
	uint64_t limit_fails;
};

/* frame_size: storage per frame buffer (headroom included). */
int pkt_pool_init(struct pkt_pool *pool, uint32_t frame_size, uint32_t frame_count, uint32_t large_count);
void pkt_pool_destroy(struct pkt_pool *pool);
uint32_t pkt_pool_in_use(const struct pkt_pool *pool);

/* A buffer whose data area can hold `size` bytes after `headroom`. NULL when exhausted. */
struct pkt *pkt_alloc(struct pkt_pool *pool, uint32_t size, uint32_t headroom);
/* A buffer of the frame class only (never a large one), data at headroom:
 * for devices whose buffers must lie in the frame class's memory (AF_XDP's
 * UMEM). NULL when frames are exhausted or the budget refuses. */
struct pkt *pkt_alloc_frame(struct pkt_pool *pool, uint32_t headroom);
/* Up to n of them into out[]; returns how many (fewer when exhausted). */
uint32_t pkt_alloc_frames(struct pkt_pool *pool, struct pkt **out, uint32_t n, uint32_t headroom);
/* The frame class's memory: buffer i is at pkt_frame_mem(pool) +
 * i * pkt_frame_size(pool), its header pkt_frame_hdr(pool, i). */
static inline uint8_t *pkt_frame_mem(const struct pkt_pool *pool) { return pool->cls[PKT_CLS_FRAME].mem; }
static inline uint32_t pkt_frame_size(const struct pkt_pool *pool) { return pool->cls[PKT_CLS_FRAME].size; }
static inline uint32_t pkt_frame_count(const struct pkt_pool *pool) { return pool->cls[PKT_CLS_FRAME].count; }
static inline struct pkt *pkt_frame_hdr(struct pkt_pool *pool, uint32_t i) { return &pool->cls[PKT_CLS_FRAME].hdrs[i]; }
/* Is p a frame-class buffer (its bytes inside pkt_frame_mem)? */
static inline int pkt_is_frame(const struct pkt *p) { return p->cls == PKT_CLS_FRAME; }
void pkt_free(struct pkt_pool *pool, struct pkt *p);
/* Are fewer than a quarter of p's class free? (Holders of buffers, such as
 * a zero-copy socket queue, then copy instead, so devices keep buffers.) */
static inline int pkt_pool_low(const struct pkt_pool *pool, const struct pkt *p)
{
	const struct pkt_class *c = &pool->cls[p->cls];
	return c->count - c->in_use < c->count / 4;
}
void pkt_free_list(struct pkt_pool *pool, struct pkt *list);
/* A copy of p's valid bytes (and metadata) with the given headroom. */
struct pkt *pkt_clone(struct pkt_pool *pool, const struct pkt *p, uint32_t headroom);

static inline uint32_t pkt_headroom(const struct pkt *p) { return (uint32_t)(p->data - p->buf); }
static inline uint32_t pkt_tailroom(const struct pkt *p) { return p->cap - pkt_headroom(p) - p->len; }
/* Prepend n bytes; NULL if no headroom. */
static inline uint8_t *pkt_push(struct pkt *p, uint32_t n)
{
	if (pkt_headroom(p) < n)
		return NULL;
	p->data -= n;
	p->len += n;
	return p->data;
}
/* Remove n bytes from the front; NULL if shorter. */
static inline uint8_t *pkt_pull(struct pkt *p, uint32_t n)
{
	if (p->len < n)
		return NULL;
	p->data += n;
	p->len -= n;
	return p->data;
}
/* Append n bytes; returns pointer to them or NULL if no tailroom. */
static inline uint8_t *pkt_put(struct pkt *p, uint32_t n)
{
	if (pkt_tailroom(p) < n)
		return NULL;
	uint8_t *t = p->data + p->len;
	p->len += n;
	return t;
}
static inline void pkt_trim(struct pkt *p, uint32_t len)
{
	if (len < p->len)
		p->len = len;
}

/* A FIFO of packets with a count. */
struct pkt_queue {
	struct pkt *head, *tail;
	uint32_t n;
	uint32_t bytes;
};
static inline void pktq_init(struct pkt_queue *q) { q->head = q->tail = NULL; q->n = q->bytes = 0; }
static inline void pktq_push(struct pkt_queue *q, struct pkt *p)
{
	p->next = NULL;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->n++;
	q->bytes += p->len;
}
static inline struct pkt *pktq_pop(struct pkt_queue *q)
{
	struct pkt *p = q->head;
	if (!p)
		return NULL;
	q->head = p->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	q->bytes -= p->len;
	p->next = NULL;
	return p;
}
static inline void pktq_purge(struct pkt_pool *pool, struct pkt_queue *q)
{
	struct pkt *p;
	while ((p = pktq_pop(q)))
		pkt_free(pool, p);
}
#endif
