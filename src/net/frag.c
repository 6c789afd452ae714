/* Reassembly for both families (RFC 791, RFC 815; RFC 8200 4.5), strict: each datagram keeps a list of
 * the fragments it has, an exact duplicate is ignored, any other overlap
 * discards the whole datagram (RFC 5722's reasoning applied to IPv4) and a
 * tombstone drops its later fragments too. Limits: datagrams at once, bytes
 * held, fragments per datagram, and time (ICMP time exceeded if the first
 * fragment had arrived). The oldest datagram is evicted at a limit. One
 * table holds IPv4 and IPv6 datagrams under the same limits; only parsing
 * the fragment and rebuilding the header differ. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "stack.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "wire/csum.h"
#include "wire/icmp4.h"
#include "wire/ipv4.h"
#include "wire/ip6ext.h"
#include "wire/ipv6.h"

#define FRAG_MAX_PIECES 128          /* 65535 / 576-byte MTU needs ~120 */
#define FRAG_PAYLOAD_OFF (PKT_HEADROOM + 60)  /* room for the largest IP header */
/* IPv6: an unfragmentable part of up to 104 bytes (the header and 64 bytes
 * of hop-by-hop or routing headers), and the 65535-byte payload, within a
 * large buffer. */
#define FRAG6_UF_MAX (IPV6_HDR_LEN + 64)
#define FRAG6_PAYLOAD_OFF (64 + FRAG6_UF_MAX)
#define DATA_OFF(e) ((e)->v6 ? FRAG6_PAYLOAD_OFF : FRAG_PAYLOAD_OFF)
#define FRAG_QUOTE_MAX (IPV6_MIN_MTU - 48)  /* IPv4: header + 8; IPv6: what an error quotes */
#define FRAG6_TIMEOUT_MS 60000u      /* RFC 8200 4.5 */
#define FRAG_FAILED 1
#define FRAG_DONE 2
/* A completed datagram's late duplicates are dropped for this long. A
 * duplicate is told from a new datagram reusing the IP ID by a hash of its
 * bytes (done_dup), so the linger never costs a new datagram. */
#define FRAG_DONE_LINGER_NS 1000000000ull

struct frag_piece {
	uint16_t off, len;
	uint32_t hash;                   /* piece_hash of the bytes: tells a late
					  * duplicate from a reused ID */
};

/* A 32-bit fingerprint of a fragment's bytes. Not the ones'-complement sum:
 * in a UDP or TCP datagram the first fragment's sum is fixed by the others'
 * (the checksum makes the whole sum constant), so two datagrams of one flow
 * collide whenever their other fragments do, and 16 bits collide once in
 * 65536 (seen in CI). Not keyed: whoever can forge a fragment's key can
 * already spoil its datagram. */
static uint32_t piece_hash(const uint8_t *p, uint32_t len)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ len;
	uint32_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xFF51AFD7ED558CCDull;
		h ^= h >> 32;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001B3ull;
	h ^= h >> 29;
	h *= 0xC4CEB9FE1A85EC53ull;
	return (uint32_t)(h ^ (h >> 32));
}

struct frag_entry {
	struct us_timer timer;           /* first: container_of by cast */
	int used;
	int dead;                        /* FRAG_FAILED or FRAG_DONE: a tombstone that drops
					  * the datagram's later fragments until it expires */
	struct us_addr src, dst;
	uint32_t id;
	uint8_t proto;                   /* IPv4 only (IPv6 keys on addresses and id) */
	uint8_t v6;
	uint16_t nh_at;                  /* IPv6: the offset of the next-header byte naming the fragment header */
	uint8_t next_hdr;                /* IPv6: the fragment header's next header */
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
#define FSTAT(st, e, name) do { if ((e)->v6) STAT_INC(st, ip6, name); else STAT_INC(st, ip, name); } while (0)

static void entry_fail(struct us_stack *st, struct frag_entry *e)
{
	FSTAT(st, e, ReasmFails);
	entry_release(st, e);
	e->dead = FRAG_FAILED;
}

static void frag_timer_fn(struct us_timer *t, uint64_t now, void *ctx)
{
	(void)now;
	struct us_stack *st = ctx;
	struct frag_entry *e = (struct frag_entry *)t;
	if (!e->dead) {
		FSTAT(st, e, ReasmTimeout);
		FSTAT(st, e, ReasmFails);
		if (e->first_len && e->v6) {
			/* RFC 8200 4.5: time exceeded code 1, only if the first
			 * fragment arrived; it quotes that fragment. */
			struct pkt q = {0};
			uint8_t tmp[FRAG_QUOTE_MAX];
			memcpy(tmp, e->first_hdr, e->first_len);
			q.buf = tmp;
			q.data = tmp;
			q.len = e->first_len;
			q.src = e->src;
			q.dst = e->dst;
			q.ip_proto = IP6_NH_FRAGMENT;
			q.flags = e->flags;
			icmp6_send_error(st, &q, ICMP6_TIME_EXCEEDED, ICMP6_TE_REASSEMBLY, 0);
		} else if (e->first_len) {
			/* RFC 792: time exceeded in reassembly, only if fragment zero came. */
			struct pkt q = {0};
			uint8_t tmp[FRAG_QUOTE_MAX];
			memcpy(tmp, e->first_hdr, e->first_len);
			q.buf = tmp;
			q.data = tmp;
			q.len = e->first_len;
			q.l3_off = 0;
			q.src = e->src;
			q.dst = e->dst;
			q.ip_proto = e->proto;
			icmp4_send_error(st, &q, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0);
		}
	}
	entry_free(st, e);
}

static struct frag_entry *lookup(struct us_stack *st, const struct us_addr *src, const struct us_addr *dst, uint32_t id,
				 uint8_t proto, int v6)
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
		if (e->id == id && e->v6 == v6 && e->proto == proto && addr_eq(&e->src, src) && addr_eq(&e->dst, dst))
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
			FSTAT(st, oldest, ReasmEvictions);
			FSTAT(st, oldest, ReasmFails);
			free_e = oldest;
		} else {
			return NULL;
		}
		entry_free(st, free_e);
	}
	struct frag_entry *e = free_e;
	memset(&e->src, 0, sizeof(*e) - offsetof(struct frag_entry, src));
	e->used = 1;
	e->src = *src;
	e->dst = *dst;
	e->id = id;
	e->proto = proto;
	e->v6 = (uint8_t)v6;
	e->arrival = ++t->arrivals;
	uint32_t ms = st->cfg.reasm_timeout_ms;
	if (v6 && ms > FRAG6_TIMEOUT_MS)
		ms = FRAG6_TIMEOUT_MS;
	timer_arm(&st->timers, &e->timer, st->now + (uint64_t)ms * 1000000ull);
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
		FSTAT(st, oldest, ReasmEvictions);
		entry_fail(st, oldest);
	}
	return 0;
}

/* One fragment's bytes [off, off + len) of entry e, data at `data`; mf:
 * more follow. 0 if taken (or an exact duplicate), -1 if e failed. */
static int add_piece(struct us_stack *st, struct frag_entry *e, uint32_t off, uint32_t len, int mf,
		     const uint8_t *data, uint32_t max_end)
{
	uint32_t end = off + len;
	if (end > max_end || (mf && (len == 0 || len % 8))) {
		entry_fail(st, e);
		return -1;
	}
	if (e->total && (end > e->total || (!mf && end != e->total))) {
		entry_fail(st, e);
		return -1;
	}
	for (uint32_t i = 0; i < e->npieces; i++) {
		struct frag_piece *pc = &e->pieces[i];
		if (pc->off == off && pc->len == len) {
			FSTAT(st, e, ReasmDuplicates);
			return 1;   /* an exact duplicate changes nothing */
		}
		if (off < (uint32_t)pc->off + pc->len && pc->off < end) {
			FSTAT(st, e, ReasmOverlaps);
			entry_fail(st, e);
			return -1;
		}
	}
	if (!mf) {
		for (uint32_t i = 0; i < e->npieces; i++)
			if ((uint32_t)e->pieces[i].off + e->pieces[i].len > end) {
				entry_fail(st, e);
				return -1;
			}
		e->total = end;
	}
	if (e->npieces >= FRAG_MAX_PIECES || make_room(st, e, len) < 0) {
		entry_fail(st, e);
		return -1;
	}
	if (!e->buf) {
		e->buf = pkt_alloc(&st->pool, PKT_LARGE_DATA, PKT_HEADROOM);
		if (!e->buf) {
			FSTAT(st, e, InDiscards);
			entry_fail(st, e);
			return -1;
		}
	}
	memcpy(e->buf->buf + DATA_OFF(e) + off, data, len);
	e->pieces[e->npieces++] = (struct frag_piece){(uint16_t)off, (uint16_t)len, piece_hash(data, len)};
	e->have += len;
	st->frag->mem += len;
	return 0;
}

/* Complete: hand out the buffer with the payload, leave a tombstone. */
static struct pkt *take_done(struct us_stack *st, struct frag_entry *e)
{
	struct pkt *d = e->buf;
	e->buf = NULL;
	d->flags = e->flags;
	d->iface = e->iface;
	d->src = e->src;
	d->dst = e->dst;
	uint32_t n = e->npieces;
	entry_release(st, e);
	e->npieces = n;                  /* kept for done_dup */
	e->dead = FRAG_DONE;
	timer_arm(&st->timers, &e->timer, st->now + FRAG_DONE_LINGER_NS);
	return d;
}

/* A fragment whose key is a completed datagram's tombstone: 1 if it is a
 * late copy of one of that datagram's fragments (same place, same bytes),
 * 0 if it belongs to a new datagram that reuses the IP ID. Reuse within a
 * second is ordinary: Linux numbers a connected socket's datagrams from a
 * random start, so two sockets to one peer can collide, and dropping the
 * second datagram as a "duplicate" would lose it whole. */
static int done_dup(const struct frag_entry *e, uint32_t off, uint32_t len, const uint8_t *data)
{
	for (uint32_t i = 0; i < e->npieces; i++)
		if (e->pieces[i].off == off && e->pieces[i].len == len)
			return e->pieces[i].hash == piece_hash(data, len);
	return 0;
}

/* The entry for a fragment's key: a FRAG_DONE tombstone gives way to a new
 * datagram (done_dup says which); NULL if the table has no room. */
static struct frag_entry *entry_for(struct us_stack *st, const struct us_addr *src, const struct us_addr *dst,
				    uint32_t id, uint8_t proto, int v6, uint32_t off, uint32_t len, const uint8_t *data)
{
	struct frag_entry *e = lookup(st, src, dst, id, proto, v6);
	if (e && e->dead == FRAG_DONE && !done_dup(e, off, len, data)) {
		entry_free(st, e);
		e = lookup(st, src, dst, id, proto, v6);
	}
	return e;
}

struct pkt *frag4_input(struct us_stack *st, struct pkt *p)
{
	struct ipv4_repr ip;
	/* The header was validated by ipv4_input; parse again for its fields. */
	if (ipv4_parse(p->data, p->len, &ip, 0) < 0)
		goto drop_fail;
	uint8_t *hdr = p->data;
	uint32_t off = ip.frag_off, len = ip.payload_len;
	struct us_addr src = addr_from_v4(ip.src), dst = addr_from_v4(ip.dst);
	struct frag_entry *e = entry_for(st, &src, &dst, ip.id, ip.proto, 0, off, len, hdr + ip.hdr_len);
	if (!e)
		goto drop_fail;
	if (e->dead == FRAG_DONE)
		STAT_INC(st, ip, ReasmDuplicates);
	if (e->dead)
		goto drop;   /* already counted */
	/* RFC 1858 tiny-fragment rules. */
	if ((off == 0 && ip.mf && len < 8) || (ip.proto == IP_PROTO_TCP && off == 8)) {
		entry_fail(st, e);
		goto drop;
	}
	if (add_piece(st, e, off, len, ip.mf, hdr + ip.hdr_len, (uint32_t)IPV4_MAX_LEN - ip.hdr_len) != 0)
		goto drop;
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
	uint32_t hl = e->first_hlen, total = e->total;
	uint8_t proto = e->proto;
	uint8_t first[60];
	memcpy(first, e->first_hdr, hl);
	struct pkt *d = take_done(st, e);
	d->data = d->buf + FRAG_PAYLOAD_OFF - hl;
	d->len = hl + total;
	memcpy(d->data, first, hl);
	wr_be16(d->data + 2, (uint16_t)d->len);
	wr_be16(d->data + 6, 0);                 /* no MF, offset 0; DF cleared */
	wr_be16(d->data + 10, 0);
	wr_be16(d->data + 10, csum_fold(csum_partial(d->data, hl, 0)));
	d->l3_off = (uint16_t)(d->data - d->buf);
	d->ip_proto = proto;
	pkt_pull(d, hl);
	return d;

drop_fail:
	STAT_INC(st, ip, ReasmFails);
drop:
	pkt_free(&st->pool, p);
	return NULL;
}

struct pkt *frag6_input(struct us_stack *st, struct pkt *p, const struct ip6_ext_walk *w)
{
	/* p->data at the IPv6 header, walked by w to IP6_END_FRAG. */
	const struct ip6_frag_repr *f = &w->frag;
	uint32_t uf = w->frag_hdr_off;                      /* the unfragmentable part */
	uint32_t off = f->offset, len = p->len - w->off;
	uint16_t nh_at = w->n >= 2 ? w->hdr[w->n - 2].off : 6;
	struct frag_entry *e = entry_for(st, &p->src, &p->dst, f->id, 0, 1, off, len, p->data + w->off);
	if (!e) {
		STAT_INC(st, ip6, ReasmFails);
		goto drop;
	}
	if (e->dead == FRAG_DONE)
		STAT_INC(st, ip6, ReasmDuplicates);
	if (e->dead)
		goto drop;
	if (uf > FRAG6_UF_MAX) {
		entry_fail(st, e);   /* more unfragmentable headers than we rebuild */
		goto drop;
	}
	/* RFC 8200 4.5: the reassembled payload may not pass 65535 bytes, and
	 * a fragment that is not the last is a multiple of 8 bytes long. Such
	 * a fragment is discarded (add_piece fails the datagram) with a
	 * Parameter Problem code 0 pointing at the Fragment Offset field or at
	 * the Payload Length field, as RFC 8200 says it should be and Linux
	 * does. */
	uint32_t max_end = IPV6_MAX_PAYLOAD - (uf - IPV6_HDR_LEN);
	int bad_len = f->m && (len == 0 || len % 8);
	if (bad_len || off + len > max_end)
		icmp6_send_error(st, p, ICMP6_PARAM_PROB, ICMP6_PP_HEADER, bad_len ? 4u : uf + 2u);
	if (add_piece(st, e, off, len, f->m, p->data + w->off, max_end) != 0)
		goto drop;
	e->flags |= p->flags & (PKT_F_BCAST | PKT_F_NONLOCAL);
	e->iface = p->iface;
	if (off == 0) {
		/* The first fragment's unfragmentable part is the packet's (RFC
		 * 8200 4.5); it and the start of the data are kept for a quote. */
		e->first_hlen = (uint16_t)uf;
		e->first_len = (uint16_t)US_MIN(p->len, (uint32_t)FRAG_QUOTE_MAX);
		memcpy(e->first_hdr, p->data, e->first_len);
		e->nh_at = nh_at;
		e->next_hdr = f->next_hdr;
	}
	pkt_free(&st->pool, p);
	if (!e->total || e->have != e->total || !e->first_hlen)
		return NULL;
	if (e->first_hlen - IPV6_HDR_LEN + e->total > IPV6_MAX_PAYLOAD) {
		entry_fail(st, e);
		return NULL;
	}
	uint32_t hl = e->first_hlen, total = e->total;
	uint16_t at = e->nh_at;
	uint8_t nh = e->next_hdr, first[FRAG_QUOTE_MAX];
	memcpy(first, e->first_hdr, hl);
	struct pkt *d = take_done(st, e);
	/* The packet without its fragment header: the unfragmentable part
	 * with the next header that named it set to what it carried. */
	d->data = d->buf + FRAG6_PAYLOAD_OFF - hl;
	d->len = hl + total;
	memcpy(d->data, first, hl);
	d->data[at] = nh;
	wr_be16(d->data + 4, (uint16_t)(d->len - IPV6_HDR_LEN));
	d->l3_off = (uint16_t)(d->data - d->buf);
	return d;
drop:
	pkt_free(&st->pool, p);
	return NULL;
}
