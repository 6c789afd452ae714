/* TSO and GRO for the tunnel in user space (see tunnel_offload.h). */
#include "tunnel_offload.h"

#include <stdlib.h>
#include <string.h>

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A 32-bit word in memory order (no alignment needed). */
static inline uint64_t ld32(const uint8_t *p)
{
	uint32_t w;
	memcpy(&w, p, 4);
	return w;
}

uint32_t tnl_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	uint64_t s = sum;
	while (n >= 32) {
		s += ld32(p) + ld32(p + 4) + ld32(p + 8) + ld32(p + 12) + ld32(p + 16) + ld32(p + 20) + ld32(p + 24) +
		     ld32(p + 28);
		p += 32;
		n -= 32;
	}
	while (n >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		s += w;
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		uint16_t h;
		memcpy(&h, p, 2);
		s += h;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = {p[0], 0};
		uint16_t h;
		memcpy(&h, last, 2);
		s += h;
	}
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	/* keep 32 bits with room for more adds */
	s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint16_t tnl_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t native16(uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	uint16_t h;
	memcpy(&h, b, 2);
	return h;
}

uint32_t tnl_csum_pseudo(const uint8_t *ip, uint8_t proto, uint32_t len)
{
	uint32_t s;
	if ((ip[0] >> 4) == 4)
		s = tnl_csum_add(0, ip + 12, 8);
	else
		s = tnl_csum_add(0, ip + 8, 32);
	s += native16((uint16_t)(len >> 16)) + native16((uint16_t)len) + native16(proto);
	return s;
}

int tnl_l4_csum_ok(const uint8_t *pkt, size_t n, size_t l4off, uint8_t proto)
{
	uint32_t s = tnl_csum_pseudo(pkt, proto, (uint32_t)(n - l4off));
	s = tnl_csum_add(s, pkt + l4off, n - l4off);
	return tnl_csum_fold(s) == 0xffff;
}

static void ip4_csum(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	uint16_t c = (uint16_t)~tnl_csum_fold(tnl_csum_add(0, ip, ihl));
	memcpy(ip + 10, &c, 2);
}

/* Full TCP checksum of a packet whose TCP header starts at ipl. */
static void tcp_csum(uint8_t *pkt, size_t n, size_t ipl)
{
	uint8_t *th = pkt + ipl;
	th[16] = th[17] = 0;
	uint32_t s = tnl_csum_pseudo(pkt, 6, (uint32_t)(n - ipl));
	uint16_t c = (uint16_t)~tnl_csum_fold(tnl_csum_add(s, th, n - ipl));
	memcpy(th + 16, &c, 2);
}

/* The IP header length of a TCP packet (IPv4 without fragments, IPv6 with
 * no extension header) and its family, or 0. */
static size_t tcp_ipl(const uint8_t *p, size_t n, int *fam)
{
	if (n < 20)
		return 0;
	if ((p[0] >> 4) == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4;
		if (ihl < 20 || ihl > n || rd16(p + 2) != n || p[9] != 6 || (rd16(p + 6) & 0x3fff))
			return 0;
		*fam = 4;
		return ihl;
	}
	if ((p[0] >> 4) == 6 && n >= 40 && (size_t)rd16(p + 4) + 40 == n && p[6] == 6) {
		*fam = 6;
		return 40;
	}
	return 0;
}

int tnl_tso_begin(struct tnl_tso *t, const struct virtio_net_hdr *vh, uint8_t *frame, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->f = frame;
	t->n = n;
	uint8_t type = vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	if (type == VIRTIO_NET_HDR_GSO_NONE) {
		t->count = 1;
		if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			size_t st = vh->csum_start, off = vh->csum_offset;
			if (st + off + 2 > n || off > n)
				return -1;
			uint16_t c = (uint16_t)~tnl_csum_fold(tnl_csum_add(0, frame + st, n - st));
			if (off == 6 && c == 0)   /* UDP: 0 means none */
				c = 0xffff;
			memcpy(frame + st + off, &c, 2);
		}
		return 1;
	}
	if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6)
		return -1;
	int fam = 0;
	size_t ipl = tcp_ipl(frame, n, &fam);
	if (!ipl || (fam == 4) != (type == VIRTIO_NET_HDR_GSO_TCPV4) || ipl + 20 > n)
		return -1;
	size_t thl = (size_t)(frame[ipl + 12] >> 4) * 4;
	if (thl < 20 || ipl + thl > n || !vh->gso_size)
		return -1;
	t->fam = fam;
	t->ipl = ipl;
	t->hlen = ipl + thl;
	t->gso = vh->gso_size;
	size_t pay = n - t->hlen;
	t->count = pay ? (int)((pay + t->gso - 1) / t->gso) : 1;
	t->seq = rd32(frame + ipl + 4);
	t->id = fam == 4 ? rd16(frame + 4) : 0;
	return t->count;
}

size_t tnl_tso_next(struct tnl_tso *t, uint8_t *out)
{
	if (t->i >= t->count)
		return 0;
	if (t->count == 1 && !t->gso) {
		t->i++;
		if (out != t->f)
			memcpy(out, t->f, t->n);
		return t->n;
	}
	size_t pay = t->n - t->hlen, off = (size_t)t->i * t->gso;
	size_t len = pay - off < t->gso ? pay - off : t->gso;
	int last = t->i == t->count - 1;
	memcpy(out, t->f, t->hlen);
	memcpy(out + t->hlen, t->f + t->hlen + off, len);
	size_t tot = t->hlen + len;
	uint8_t *th = out + t->ipl;
	if (t->fam == 4) {
		wr16(out + 2, (uint16_t)tot);
		wr16(out + 4, (uint16_t)(t->id + t->i));
		ip4_csum(out, t->ipl);
	} else {
		wr16(out + 4, (uint16_t)(tot - 40));
	}
	wr32(th + 4, t->seq + (uint32_t)off);
	if (!last)
		th[13] &= (uint8_t)~0x09;   /* FIN, PSH on the last only */
	if (t->i)
		th[13] &= (uint8_t)~0x80;   /* CWR on the first only */
	tcp_csum(out, tot, t->ipl);
	t->i++;
	return tot;
}

/* ---- GRO ---- */

int tnl_gro_init(struct tnl_gro *g)
{
	memset(g, 0, sizeof(*g));
	for (int i = 0; i < TNL_GRO_FLOWS; i++) {
		g->f[i].buf = malloc(TNL_VNET_LEN + TNL_SUPER_MAX);
		if (!g->f[i].buf) {
			tnl_gro_free(g);
			return -1;
		}
	}
	return 0;
}

void tnl_gro_free(struct tnl_gro *g)
{
	for (int i = 0; i < TNL_GRO_FLOWS; i++) {
		free(g->f[i].buf);
		g->f[i].buf = NULL;
	}
}

uint32_t tnl_flow_hash(const uint8_t *p, size_t n)
{
	size_t ipl;
	uint8_t proto;
	uint32_t h = 2166136261u;
	if (n >= 20 && (p[0] >> 4) == 4) {
		ipl = (size_t)(p[0] & 15) * 4;
		proto = p[9];
		for (int i = 12; i < 20; i++)
			h = (h ^ p[i]) * 16777619u;
	} else if (n >= 40 && (p[0] >> 4) == 6) {
		ipl = 40;
		proto = p[6];
		for (int i = 8; i < 40; i++)
			h = (h ^ p[i]) * 16777619u;
	} else {
		return 0;
	}
	if ((proto != 6 && proto != 17) || ipl + 4 > n)
		return 0;
	for (size_t i = ipl; i < ipl + 4; i++)
		h = (h ^ p[i]) * 16777619u;
	return h ? h : 1;
}

static int flow_emit(struct tnl_gro *g, struct tnl_gro_flow *f, tnl_emit_fn emit, void *arg)
{
	uint8_t *vh = f->buf, *ip = f->buf + TNL_VNET_LEN;
	struct virtio_net_hdr h;
	memset(&h, 0, sizeof(h));
	if (f->segs > 1) {
		if (f->fam == 4) {
			wr16(ip + 2, (uint16_t)f->len);
			ip4_csum(ip, f->ipl);
		} else {
			wr16(ip + 4, (uint16_t)(f->len - 40));
		}
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.gso_type = f->fam == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
		h.hdr_len = (uint16_t)f->hlen;
		h.gso_size = (uint16_t)f->gso;
		h.csum_start = (uint16_t)f->ipl;
		h.csum_offset = 16;
		/* The partial checksum: the pseudo-header sum, not inverted. */
		uint16_t c = tnl_csum_fold(tnl_csum_pseudo(ip, 6, (uint32_t)(f->len - f->ipl)));
		memcpy(ip + f->ipl + 16, &c, 2);
		g->merged += f->segs;
		g->held++;
	}
	memcpy(vh, &h, TNL_VNET_LEN);
	unsigned segs = f->segs;
	size_t len = f->len;
	f->segs = 0;
	f->open = 0;
	f->len = 0;
	return emit(arg, f->buf, TNL_VNET_LEN + len, segs, f->hash);
}

/* May segment q (TCP header at ipl, hlen bytes of headers) join flow f? */
static int can_join(const struct tnl_gro_flow *f, const uint8_t *q, size_t n, size_t ipl, size_t hlen)
{
	const uint8_t *p = f->buf + TNL_VNET_LEN;
	if (!f->open || f->hlen != hlen || f->ipl != ipl || (p[0] >> 4) != (q[0] >> 4))
		return 0;
	size_t pay = n - hlen;
	if (pay > f->gso || f->len + pay > TNL_SUPER_MAX || f->segs >= TNL_GRO_SEGS)
		return 0;
	if (f->fam == 4) {
		/* TOS, DF, TTL, protocol, addresses */
		if (p[1] != q[1] || (p[6] & 0x40) != (q[6] & 0x40) || p[8] != q[8] || memcmp(p + 12, q + 12, 8))
			return 0;
	} else {
		/* traffic class and flow label, hop limit, addresses */
		if (memcmp(p, q, 4) || p[7] != q[7] || memcmp(p + 8, q + 8, 32))
			return 0;
	}
	const uint8_t *a = p + ipl, *b = q + ipl;
	/* ports, the sequence number that follows, ack, offset and flags, options */
	return !memcmp(a, b, 4) && rd32(b + 4) == f->next_seq && !memcmp(a + 8, b + 8, 5) &&
	       (b[13] & (uint8_t)~0x08) == 0x10 && !memcmp(a + 20, b + 20, hlen - ipl - 20);
}

int tnl_gro_add(struct tnl_gro *g, uint8_t *pkt, size_t n, tnl_emit_fn emit, void *arg)
{
	int fam = 0, r = 0;
	size_t ipl = tcp_ipl(pkt, n, &fam), hlen = 0;
	if (ipl && ipl + 20 <= n) {
		hlen = ipl + (size_t)(pkt[ipl + 12] >> 4) * 4;
		if (hlen < ipl + 20 || hlen > n)
			hlen = 0;
	}
	struct tnl_gro_flow *f = NULL, *same = NULL;
	for (int i = 0; hlen && i < TNL_GRO_FLOWS; i++) {
		struct tnl_gro_flow *c = &g->f[i];
		if (!c->segs)
			continue;
		const uint8_t *p = c->buf + TNL_VNET_LEN;
		/* the same flow: addresses and ports */
		int match = (p[0] >> 4) == (pkt[0] >> 4) && c->ipl == ipl &&
			    (fam == 4 ? !memcmp(p + 12, pkt + 12, 8) : !memcmp(p + 8, pkt + 8, 32)) &&
			    !memcmp(p + c->ipl, pkt + ipl, 4);
		if (match) {
			same = c;
			break;
		}
	}
	/* Only plain data segments with a valid checksum are held: ACK, maybe
	 * PSH. Anything else goes out as it is, after what its flow holds. */
	if (!hlen || n == hlen || (pkt[ipl + 13] & (uint8_t)~0x08) != 0x10 || (fam == 4 && ipl != 20) ||
	    !tnl_l4_csum_ok(pkt, n, ipl, 6)) {
		if (same)
			r = flow_emit(g, same, emit, arg);
		uint32_t hash = tnl_flow_hash(pkt, n);
		memset(pkt - TNL_VNET_LEN, 0, TNL_VNET_LEN);
		int r2 = emit(arg, pkt - TNL_VNET_LEN, n + TNL_VNET_LEN, 1, hash);
		return r < 0 ? r : r2;
	}
	g->clock++;
	if (same && can_join(same, pkt, n, ipl, hlen)) {
		f = same;
		size_t pay = n - hlen;
		memcpy(f->buf + TNL_VNET_LEN + f->len, pkt + hlen, pay);
		f->len += pay;
		f->segs++;
		f->next_seq += (uint32_t)pay;
		uint8_t *th = f->buf + TNL_VNET_LEN + ipl;
		memcpy(th + 14, pkt + ipl + 14, 2);    /* the newest window */
		if (pkt[ipl + 13] & 0x08) {
			th[13] |= 0x08;
			f->open = 0;                   /* PSH ends it */
		}
		if (pay < f->gso)
			f->open = 0;                   /* a short segment ends it */
		f->age = g->clock;
		return 0;
	}
	if (same) {
		/* Out of order or different: what is held goes first, in order. */
		r = flow_emit(g, same, emit, arg);
		f = same;
	} else {
		for (int i = 0; i < TNL_GRO_FLOWS && !f; i++)
			if (!g->f[i].segs)
				f = &g->f[i];
		if (!f) {
			f = &g->f[0];
			for (int i = 1; i < TNL_GRO_FLOWS; i++)
				if (g->f[i].age < f->age)
					f = &g->f[i];
			r = flow_emit(g, f, emit, arg);
		}
	}
	memcpy(f->buf + TNL_VNET_LEN, pkt, n);
	f->len = n;
	f->segs = 1;
	f->fam = fam;
	f->ipl = ipl;
	f->hlen = hlen;
	f->gso = (uint32_t)(n - hlen);
	f->next_seq = rd32(pkt + ipl + 4) + f->gso;
	f->open = !(pkt[ipl + 13] & 0x08);
	f->hash = tnl_flow_hash(pkt, n);
	f->age = g->clock;
	return r;
}

int tnl_gro_flush(struct tnl_gro *g, tnl_emit_fn emit, void *arg)
{
	int r = 0;
	/* oldest first keeps a flow's frames in their order (one frame per flow) */
	for (int i = 0; i < TNL_GRO_FLOWS; i++)
		if (g->f[i].segs && flow_emit(g, &g->f[i], emit, arg) < 0)
			r = -1;
	return r;
}
