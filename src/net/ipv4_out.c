/* IPv4 output: route, choose the source, prepend the header, fragment what
 * exceeds the MTU (unless DF), hand to the neighbour layer. Datagrams to our
 * own addresses loop back through the input path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "stack.h"
#include "net/iface.h"
#include "net/ip.h"
#include "net/ipv4.h"
#include "net/neigh.h"
#include "net/route.h"
#include "link/link.h"
#include "wire/eth.h"
#include "wire/ipv4.h"

#define IP_ID_BUCKETS 2048

/* Per-bucket IP ID counters (RFC 6864/7739), when each bucket was last
 * used, and the input of the keyed hash for atomic datagrams' IDs. */
struct ip_id_table {
	uint16_t id[IP_ID_BUCKETS];
	uint32_t ms[IP_ID_BUCKETS];
	uint64_t seq;
};

int ipv4_ids_init(struct us_stack *st)
{
	st->ip_ids = calloc(1, sizeof(*st->ip_ids));
	if (!st->ip_ids)
		return -ENOMEM;
	for (int i = 0; i < IP_ID_BUCKETS; i++)
		st->ip_ids->id[i] = (uint16_t)us_rand_u32(&st->rand);
	return 0;
}

void ipv4_ids_destroy(struct us_stack *st)
{
	free(st->ip_ids);
	st->ip_ids = NULL;
}

uint16_t ipv4_next_id(struct us_stack *st, uint32_t src, uint32_t dst, uint8_t proto)
{
	/* RFC 7739 4.3: counters in a table indexed by a keyed hash of the
	 * flow, each started at a random value: unique enough for reassembly,
	 * not predictable across destinations. */
	uint32_t b = (uint32_t)(us_hash_words(st->rand.key, src, dst, proto, 0x1d) % IP_ID_BUCKETS);
	/* Each use advances the counter by 1 plus a random amount below the
	 * milliseconds since the bucket was last used (Linux's
	 * ip_idents_reserve): back-to-back datagrams of a flow, which need
	 * distinct IDs for reassembly, stay near-sequential; IDs sampled over
	 * time reveal neither the next value nor how much the flow sent. */
	uint32_t now_ms = (uint32_t)(st->now / 1000000u);
	struct ip_id_table *t = st->ip_ids;
	uint32_t idle = now_ms - t->ms[b];
	t->ms[b] = now_ms;
	uint32_t step = 1 + (idle ? us_rand_below(&st->rand, US_MIN(idle, 65535u)) : 0);
	t->id[b] = (uint16_t)(t->id[b] + step);
	return t->id[b];
}

uint16_t ipv4_atomic_id(struct us_stack *st)
{
	/* A keyed hash of a counter: unpredictable without the key. */
	uint64_t n = ++st->ip_ids->seq;
	return (uint16_t)us_hash_words(st->rand.key, (uint32_t)n, (uint32_t)(n >> 32), 0x6864,
				       0);
}

static int emit_fragments(struct us_stack *st, struct pkt *p, const struct ipv4_repr *base,
			  const struct us_rt_result *rt)
{
	/* Each fragment carries a multiple of 8 payload bytes but the last. */
	uint32_t maxdata = ((rt->mtu - IPV4_HDR_LEN) / 8) * 8;
	uint32_t total = p->len, off = 0;
	if (maxdata < 8) {
		STAT_INC(st, ip, FragFails);
		pkt_free(&st->pool, p);
		return -EMSGSIZE;
	}
	while (off < total) {
		uint32_t n = US_MIN(maxdata, total - off);
		struct pkt *f = pkt_alloc(&st->pool, IPV4_HDR_LEN + n, PKT_HEADROOM);
		if (!f) {
			STAT_INC(st, ip, FragFails);
			STAT_INC(st, ip, OutDiscards);
			pkt_free(&st->pool, p);
			return -ENOBUFS;
		}
		uint8_t *h = pkt_put(f, IPV4_HDR_LEN + n);
		if (!h) {
			STAT_INC(st, ip, FragFails);
			STAT_INC(st, ip, OutDiscards);
			pkt_free(&st->pool, f);
			pkt_free(&st->pool, p);
			return -ENOBUFS;
		}
		memcpy(h + IPV4_HDR_LEN, p->data + off, n);
		struct ipv4_repr r = *base;
		r.frag_off = (uint16_t)off;
		r.mf = off + n < total;
		r.payload_len = (uint16_t)n;
		ipv4_emit(&r, h);
		STAT_INC(st, ip, FragCreates);
		neigh_output(st, rt->iface, rt->nexthop, f);
		off += n;
	}
	STAT_INC(st, ip, FragOKs);
	pkt_free(&st->pool, p);
	return 0;
}

int ipv4_output(struct us_stack *st, struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto,
		uint8_t ttl, uint8_t tos, unsigned flags)
{
	STAT_INC(st, ip, OutRequests);
	if (p->len > IPV4_MAX_LEN - IPV4_HDR_LEN) {
		STAT_INC(st, ip, OutDiscards);
		pkt_free(&st->pool, p);
		return -EMSGSIZE;
	}
	struct ipv4_repr r = {0};
	r.dst = dst;
	r.proto = proto;
	r.ttl = ttl;
	r.tos = tos;
	r.df = (flags & IPV4_DF) ? 1 : 0;
	r.payload_len = (uint16_t)p->len;

	if (iface_is_local_addr(st, dst) || ipv4_is_loopback(dst)) {
		/* Local delivery: a finished datagram into the loopback queue. */
		r.src = src ? src : dst;
		r.id = r.df ? ipv4_atomic_id(st) : ipv4_next_id(st, r.src, dst, proto);
		uint8_t *h = pkt_push(p, IPV4_HDR_LEN);
		if (!h) {
			STAT_INC(st, ip, OutDiscards);
			pkt_free(&st->pool, p);
			return -ENOBUFS;
		}
		ipv4_emit(&r, h);
		ip_loopback(st, p);
		return 0;
	}

	struct us_rt_result rt;
	if (route_lookup(st, dst, &rt) < 0) {
		STAT_INC(st, ip, OutNoRoutes);
		pkt_free(&st->pool, p);
		return -ENETUNREACH;
	}
	r.src = src ? src : rt.src;
	/* DF datagrams are never fragmented (too big: EMSGSIZE below). */
	r.id = r.df ? ipv4_atomic_id(st) : ipv4_next_id(st, r.src, dst, proto);
	uint32_t lf = rt.iface->link->flags;
	if ((p->gso_size && !(lf & US_LINK_TSO4)) || (p->csum_l4 && !(lf & US_LINK_CSUM))) {
		/* Built for a device the route no longer leaves by. */
		STAT_INC(st, ip, OutDiscards);
		pkt_free(&st->pool, p);
		return -EMSGSIZE;
	}
	if (p->len + IPV4_HDR_LEN > rt.mtu && !p->gso_size) {
		if (r.df) {
			STAT_INC(st, ip, FragFails);
			pkt_free(&st->pool, p);
			return -EMSGSIZE;
		}
		return emit_fragments(st, p, &r, &rt);
	}
	uint8_t *h = pkt_push(p, IPV4_HDR_LEN);
	if (!h) {
		STAT_INC(st, ip, OutDiscards);
		pkt_free(&st->pool, p);
		return -ENOBUFS;
	}
	ipv4_emit(&r, h);
	neigh_output(st, rt.iface, rt.nexthop, p);
	return 0;
}
