/* IPv4 reassembly (RFC 791, RFC 815), strict: each datagram keeps a list of
 * the fragments it has, an exact duplicate is ignored, any other overlap
 * discards the whole datagram (RFC 5722's reasoning applied to IPv4) and a
 * tombstone drops its later fragments too. Limits: datagrams at once, bytes
 * held, fragments per datagram, and time (ICMP time exceeded if the first
 * fragment had arrived). The oldest datagram is evicted at a limit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "stack.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "wire/csum.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"

#define FRAG_MAX_PIECES 128          /* 65535 / 576-byte MTU needs ~120 */
#define FRAG_PAYLOAD_OFF (PKT_HEADROOM + 60)  /* room for the largest IP header */
#define FRAG_QUOTE_MAX (60 + 8)
#define FRAG_FAILED 1
#define FRAG_DONE 2
/* A completed datagram's late duplicates are dropped for this long; short,
 * so a reused IP ID is never mistaken for one. */
#define FRAG_DONE_LINGER_NS 1000000000ull

struct frag_piece {
	uint16_t off, len;
};

struct frag_entry {
	struct us_timer timer;           /* first: container_of by cast */
	int used;
	int dead;                        /* FRAG_FAILED or FRAG_DONE: a tombstone that drops
					  * the datagram's later fragments until it expires */
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	uint32_t total;                  /* payload length, known once MF=0 arrives */
	uint32_t have;                   /* payload bytes received */
	uint32_t npieces;
	struct frag_piece pieces[FRAG_MAX_PIECES];
	struct pkt *buf;                 /* large buffer holding the payload */
	uint8_t first_hdr[FRAG_QUOTE_MAX];  /* the offset-0 fragment's header + 8 bytes */
	uint16_t first_len, first_hlen;
	uint64_t arrival;                /* the table's count when it arrived: age order */
	uint8_t flags;                   /* PKT_F_BCAST if any fragment was */
	struct us_iface *iface;
};

struct frag4_table {
	uint32_t max, mem;
	/* Datagrams ever entered. Eviction takes the oldest by this, not by
	 * time: frames of one input batch share a timestamp, and a tie broken
	 * by slot order would evict the newest datagrams. */
	uint64_t arrivals;
	struct frag_entry e[];
};

static void frag_timer_fn(struct us_timer *t, uint64_t now, void *ctx);

int frag4_init(struct us_stack *st)
{
	uint32_t n = st->cfg.reasm_max;
	struct frag4_table *t = calloc(1, sizeof(*t) + n * sizeof(struct frag_entry));
	if (!t)
		return -ENOMEM;
	t->max = n;
	for (uint32_t i = 0; i < n; i++)
		timer_init(&t->e[i].timer, frag_timer_fn);
	st->frag = t;
	return 0;
}

static void entry_release(struct us_stack *st, struct frag_entry *e)
{
	if (e->buf) {
		pkt_free(&st->pool, e->buf);
		e->buf = NULL;
	}
	st->frag->mem -= e->have;
	e->have = 0;
	e->npieces = 0;
}

static void entry_free(struct us_stack *st, struct frag_entry *e)
{
	entry_release(st, e);
	timer_cancel(&st->timers, &e->timer);
	e->used = 0;
	e->dead = 0;
}

void frag4_destroy(struct us_stack *st)
{
	if (!st->frag)
		return;
	for (uint32_t i = 0; i < st->frag->max; i++)
		if (st->frag->e[i].used)
			entry_free(st, &st->frag->e[i]);
	free(st->frag);
	st->frag = NULL;
}

uint32_t frag4_count(const struct us_stack *st)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < st->frag->max; i++)
		n += st->frag->e[i].used && !st->frag->e[i].dead;
	return n;
}

uint32_t frag4_mem(const struct us_stack *st) { return st->frag->mem; }

/* A datagram that will not complete: count it once and keep a tombstone. */
static void entry_fail(struct us_stack *st, struct frag_entry *e)
{
	STAT_INC(st, ip, ReasmFails);
	entry_release(st, e);
	e->dead = FRAG_FAILED;
}

static void frag_timer_fn(struct us_timer *t, uint64_t now, void *ctx)
{
	(void)now;
	struct us_stack *st = ctx;
	struct frag_entry *e = (struct frag_entry *)t;
	if (!e->dead) {
		STAT_INC(st, ip, ReasmTimeout);
		STAT_INC(st, ip, ReasmFails);
		if (e->first_len) {
			/* RFC 792: time exceeded in reassembly, only if fragment zero came. */
			struct pkt q = {0};
			uint8_t tmp[FRAG_QUOTE_MAX];
			memcpy(tmp, e->first_hdr, e->first_len);
			q.buf = tmp;
			q.data = tmp;
			q.len = e->first_len;
			q.l3_off = 0;
			q.src = addr_from_v4(e->src);
			q.dst = addr_from_v4(e->dst);
			q.ip_proto = e->proto;
			icmp4_send_error(st, &q, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0);
		}
	}
	entry_free(st, e);
}

static struct frag_entry *lookup(struct us_stack *st, const struct ipv4_repr *ip)
{
	struct frag4_table *t = st->frag;
	struct frag_entry *free_e = NULL, *oldest = NULL, *oldest_dead = NULL;
	for (uint32_t i = 0; i < t->max; i++) {
		struct frag_entry *e = &t->e[i];
		if (!e->used) {
			if (!free_e)
				free_e = e;
			continue;
		}
		if (e->id == ip->id && e->src == ip->src && e->dst == ip->dst && e->proto == ip->proto)
			return e;
		struct frag_entry **o = e->dead ? &oldest_dead : &oldest;
		if (!*o || e->arrival < (*o)->arrival)
			*o = e;
	}
	if (!free_e) {
		/* Table full: a tombstone makes room, else the oldest datagram
		 * (there is one: reasm_max is at least 1; NULL if not). */
		if (oldest_dead) {
			free_e = oldest_dead;
		} else if (oldest) {
			STAT_INC(st, ip, ReasmEvictions);
			STAT_INC(st, ip, ReasmFails);
			free_e = oldest;
		} else {
			return NULL;
		}
		entry_free(st, free_e);
	}
	struct frag_entry *e = free_e;
	memset(&e->src, 0, sizeof(*e) - offsetof(struct frag_entry, src));
	e->used = 1;
	e->src = ip->src;
	e->dst = ip->dst;
	e->id = ip->id;
	e->proto = ip->proto;
	e->arrival = ++t->arrivals;
	timer_arm(&st->timers, &e->timer, st->now + (uint64_t)st->cfg.reasm_timeout_ms * 1000000ull);
	return e;
}

/* Evict the oldest live datagrams until `need` more bytes fit the budget. */
static int make_room(struct us_stack *st, struct frag_entry *keep, uint32_t need)
{
	struct frag4_table *t = st->frag;
	/* Its own budget, and the stack-wide one (mem_max) as well. */
	while (t->mem + need > st->cfg.reasm_mem || stack_mem_over(st, need)) {
		struct frag_entry *oldest = NULL;
		for (uint32_t i = 0; i < t->max; i++) {
			struct frag_entry *e = &t->e[i];
			if (e->used && !e->dead && e != keep && e->have && (!oldest || e->arrival < oldest->arrival))
				oldest = e;
		}
		if (!oldest)
			return -ENOBUFS;
		STAT_INC(st, ip, ReasmEvictions);
		entry_fail(st, oldest);
	}
	return 0;
}

struct pkt *frag4_input(struct us_stack *st, struct pkt *p)
{
	struct ipv4_repr ip;
	/* The header was validated by ipv4_input; parse again for its fields. */
	if (ipv4_parse(p->data, p->len, &ip, 0) < 0)
		goto drop_fail;
	uint8_t *hdr = p->data;
	uint32_t off = ip.frag_off, len = ip.payload_len, end = off + len;
	struct frag_entry *e = lookup(st, &ip);
	if (!e)
		goto drop_fail;
	if (e->dead == FRAG_DONE)
		STAT_INC(st, ip, ReasmDuplicates);
	if (e->dead)
		goto drop;   /* already counted */
	/* RFC 791 limits and RFC 1858 tiny-fragment rules. */
	if (end > (uint32_t)IPV4_MAX_LEN - ip.hdr_len || (ip.mf && (len == 0 || len % 8)) ||
	    (off == 0 && ip.mf && len < 8) || (ip.proto == IP_PROTO_TCP && off == 8)) {
		entry_fail(st, e);
		goto drop;
	}
	if (e->total && (end > e->total || (!ip.mf && end != e->total))) {
		entry_fail(st, e);
		goto drop;
	}
	for (uint32_t i = 0; i < e->npieces; i++) {
		struct frag_piece *pc = &e->pieces[i];
		if (pc->off == off && pc->len == len) {
			STAT_INC(st, ip, ReasmDuplicates);
			goto drop;   /* an exact duplicate changes nothing */
		}
		if (off < (uint32_t)pc->off + pc->len && pc->off < end) {
			STAT_INC(st, ip, ReasmOverlaps);
			entry_fail(st, e);
			goto drop;
		}
	}
	if (!ip.mf) {
		for (uint32_t i = 0; i < e->npieces; i++)
			if ((uint32_t)e->pieces[i].off + e->pieces[i].len > end) {
				entry_fail(st, e);
				goto drop;
			}
		e->total = end;
	}
	if (e->npieces >= FRAG_MAX_PIECES || make_room(st, e, len) < 0) {
		entry_fail(st, e);
		goto drop;
	}
	if (!e->buf) {
		e->buf = pkt_alloc(&st->pool, PKT_LARGE_DATA, PKT_HEADROOM);
		if (!e->buf) {
			STAT_INC(st, ip, InDiscards);
			entry_fail(st, e);
			goto drop;
		}
	}
	memcpy(e->buf->buf + FRAG_PAYLOAD_OFF + off, hdr + ip.hdr_len, len);
	e->pieces[e->npieces++] = (struct frag_piece){(uint16_t)off, (uint16_t)len};
	e->have += len;
	st->frag->mem += len;
	e->flags |= p->flags & (PKT_F_BCAST | PKT_F_NONLOCAL);
	e->iface = p->iface;
	if (off == 0) {
		e->first_hlen = ip.hdr_len;
		e->first_len = (uint16_t)US_MIN((uint32_t)ip.hdr_len + 8, ip.total_len);
		memcpy(e->first_hdr, hdr, e->first_len);
	}
	pkt_free(&st->pool, p);
	if (!e->total || e->have != e->total || !e->first_hlen)
		return NULL;
	if (e->first_hlen + e->total > IPV4_MAX_LEN) {
		/* Each fragment fit, but the datagram rebuilt around the first
		 * fragment's (longer) header would not: drop it (Linux: oversize). */
		entry_fail(st, e);
		return NULL;
	}

	/* Complete: rebuild the header (the first fragment's, unfragmented). */
	struct pkt *d = e->buf;
	e->buf = NULL;
	d->data = d->buf + FRAG_PAYLOAD_OFF - e->first_hlen;
	d->len = e->first_hlen + e->total;
	memcpy(d->data, e->first_hdr, e->first_hlen);
	wr_be16(d->data + 2, (uint16_t)d->len);
	wr_be16(d->data + 6, 0);                 /* no MF, offset 0; DF cleared */
	wr_be16(d->data + 10, 0);
	wr_be16(d->data + 10, csum_fold(csum_partial(d->data, e->first_hlen, 0)));
	d->l3_off = (uint16_t)(d->data - d->buf);
	d->src = addr_from_v4(e->src);
	d->dst = addr_from_v4(e->dst);
	d->ip_proto = e->proto;
	d->flags = e->flags;
	d->iface = e->iface;
	pkt_pull(d, e->first_hlen);
	entry_release(st, e);
	e->dead = FRAG_DONE;
	timer_arm(&st->timers, &e->timer, st->now + FRAG_DONE_LINGER_NS);
	return d;

drop_fail:
	STAT_INC(st, ip, ReasmFails);
drop:
	pkt_free(&st->pool, p);
	return NULL;
}
