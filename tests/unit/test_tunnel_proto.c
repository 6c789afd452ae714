/* Unit tests for the tunnel's protocol (apps/tunnel_proto.c), without root
 * or sockets: a server and clients in memory on a virtual clock.
 *  - sealing gives libsodium's XChaCha20-Poly1305 bytes; any flipped bit
 *    fails to open; the header checks;
 *  - the handshake (HELLO, CHALLENGE, HELLO with the cookie, ACK), data
 *    both ways for IPv4 and IPv6 inner packets;
 *  - replays, tampering, a wrong key, stale ACKs and NAKs are refused;
 *  - a client's spoofed inner source (either family) is refused;
 *  - routing: client to client (forwarded), to the server, elsewhere, to
 *    an address nobody holds, link-scope IPv6 from the TUN device;
 *  - a live client's address cannot be taken; a silent one's can, after 3 s;
 *  - expiry, BYE and tombstones, a server restart, an old HELLO replayed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../apps/tunnel_proto.h"

static uint8_t master[32];
static struct tnl_cfg scfg;

static void setup_cfg(struct tnl_cfg *c, const char *ip4, const char *ip6)
{
	memset(c, 0, sizeof(*c));
	if (ip4)
		assert_int_equal(tnl_parse_cidr(ip4, &c->ip4), 0);
	if (ip6)
		assert_int_equal(tnl_parse_cidr(ip6, &c->ip6), 0);
	tnl_derive_keys(master, c->k_c2s, c->k_s2c);
	c->keepalive_s = 20;
	c->timeout_s = 60;
	c->max_peers = 8;
	c->nworkers = 1;
}

struct side {
	struct tnl_stats st;
	struct tnl_wk w;
};
static void side_init(struct side *s)
{
	memset(s, 0, sizeof(*s));
	s->w.st = &s->st;
	assert_int_equal(tnl_crypto_init(&s->w.cr), 0);
}
static uint64_t cnt(struct side *s, int c) { return atomic_load(&s->st.c[c]); }

struct client {
	struct tnl_cfg cfg;
	struct tnl_cli c;
	struct side s;
	struct tnl_ep ep;
};

static struct tnl_srv srv;
static struct side ss;
static uint64_t now = 1000000;

static void mkep(struct tnl_ep *e, int port)
{
	memset(e, 0, sizeof(*e));
	e->in4.sin_family = AF_INET;
	e->in4.sin_port = htons((uint16_t)port);
	e->in4.sin_addr.s_addr = htonl(0x0a000001u + (uint32_t)port);
}

/* The last datagram a client sent, kept for replays. */
static uint8_t last_c[256];
static size_t last_c_len;

/* Delivers the queued control datagrams: client -> server and back until quiet. */
static void pump(struct client *cl)
{
	for (int round = 0; round < 8; round++) {
		int moved = 0;
		for (int i = 0; i < cl->s.w.ctl.n; i++) {
			uint8_t buf[256], pt[256];
			size_t n = cl->s.w.ctl.m[i].len, ptlen;
			memcpy(buf, cl->s.w.ctl.m[i].buf, n);
			memcpy(last_c, buf, n);
			last_c_len = n;
			struct tnl_dest d;
			assert_true(tnl_hdr_ok(buf, n));
			tnl_srv_input(&srv, &ss.w, now, &cl->ep, buf, n, pt, &ptlen, &d);
			moved = 1;
		}
		cl->s.w.ctl.n = 0;
		int keep = 0;
		for (int i = 0; i < ss.w.ctl.n; i++) {
			if (!tnl_ep_eq(&ss.w.ctl.m[i].to, &cl->ep)) {
				ss.w.ctl.m[keep++] = ss.w.ctl.m[i];   /* for another client */
				continue;
			}
			uint8_t buf[256], pt[256];
			size_t n = ss.w.ctl.m[i].len, ptlen;
			memcpy(buf, ss.w.ctl.m[i].buf, n);
			assert_true(tnl_hdr_ok(buf, n));
			tnl_cli_input(&cl->c, &cl->s.w, now, buf, n, pt, &ptlen);
			moved = 1;
		}
		ss.w.ctl.n = keep;
		if (!moved)
			break;
	}
}

static void client_start(struct client *cl, const char *ip4, const char *ip6, int port)
{
	setup_cfg(&cl->cfg, ip4, ip6);
	side_init(&cl->s);
	tnl_cli_init(&cl->c, &cl->cfg, 0);
	mkep(&cl->ep, port);
	tnl_cli_hello(&cl->c, &cl->s.w, now);
	pump(cl);
}

static int srv_setup(void **state)
{
	(void)state;
	randombytes_buf(master, sizeof(master));
	setup_cfg(&scfg, "10.9.0.1/24", "fd09::1/64");
	assert_int_equal(tnl_srv_init(&srv, &scfg), 0);
	side_init(&ss);
	return 0;
}
static int srv_teardown(void **state)
{
	(void)state;
	tnl_srv_free(&srv);
	tnl_crypto_free(&ss.w.cr);
	return 0;
}

/* An inner packet: IPv4 or IPv6 UDP from src to dst, 20 payload bytes. */
static size_t mkpkt(uint8_t *p, const char *src, const char *dst)
{
	struct tnl_addr s, d;
	char b1[64], b2[64];
	snprintf(b1, sizeof(b1), "%s/%d", src, strchr(src, ':') ? 128 : 32);
	snprintf(b2, sizeof(b2), "%s/%d", dst, strchr(dst, ':') ? 128 : 32);
	assert_int_equal(tnl_parse_cidr(b1, &s), 0);
	assert_int_equal(tnl_parse_cidr(b2, &d), 0);
	if (s.fam == 4) {
		memset(p, 0, 48);
		p[0] = 0x45, p[3] = 48, p[8] = 64, p[9] = 17;
		memcpy(p + 12, s.a, 4);
		memcpy(p + 16, d.a, 4);
		return 48;
	}
	memset(p, 0, 68);
	p[0] = 0x60, p[5] = 28, p[6] = 17, p[7] = 64;
	memcpy(p + 8, s.a, 16);
	memcpy(p + 24, d.a, 16);
	return 68;
}

/* A client's DATA datagram for pkt, into out. */
static size_t cli_data(struct client *cl, uint8_t *out, const uint8_t *pkt, size_t n)
{
	uint64_t ssid = atomic_load(&cl->c.ssid);
	assert_true(ssid != 0);
	uint64_t ctr = atomic_fetch_add(&cl->c.tx_ctr, 1) + 1;
	return tnl_seal(&cl->s.w.cr, cl->cfg.k_c2s, out, T_DATA, cl->c.csid, ssid, ctr, pkt, n);
}

static enum tnl_verdict srv_rx(struct client *cl, const uint8_t *d, size_t n, uint8_t *pt, size_t *ptlen,
			       struct tnl_dest *fwd)
{
	uint8_t buf[2048];
	memcpy(buf, d, n);
	if (!tnl_hdr_ok(buf, n))
		return TNL_DROP;
	return tnl_srv_input(&srv, &ss.w, now, &cl->ep, buf, n, pt, ptlen, fwd);
}

static void seal_matches_libsodium(void **state)
{
	(void)state;
	struct tnl_crypto cr;
	assert_int_equal(tnl_crypto_init(&cr), 0);
	uint8_t key[32], pt[2100], out[2200], ref[2200], back[2100];
	randombytes_buf(key, sizeof(key));
	for (int k = 0; k < 200; k++) {
		size_t len = k < 3 ? (size_t)k : randombytes_uniform(2048);
		randombytes_buf(pt, len);
		uint64_t csid = k % 3 ? 7 : (uint64_t)k, ssid = 9, ctr = (uint64_t)k + 1;
		size_t n = tnl_seal(&cr, key, out, T_DATA, csid, ssid, ctr, pt, len);
		assert_int_equal(n, len + TNL_OVERHEAD);
		unsigned long long clen;
		crypto_aead_xchacha20poly1305_ietf_encrypt(ref, &clen, pt, len, out, TNL_HDR, NULL, out + 4, key);
		assert_int_equal(clen, len + TNL_TAG);
		assert_memory_equal(out + TNL_HDR, ref, clen);
		assert_int_equal(tnl_open(&cr, key, out, n, back), (long)len);
		assert_memory_equal(back, pt, len);
		/* in place */
		memcpy(ref, out, n);
		assert_int_equal(tnl_open(&cr, key, ref, n, ref + TNL_HDR), (long)len);
		assert_memory_equal(ref + TNL_HDR, pt, len);
		/* any flipped bit of header, ciphertext or tag */
		size_t bit = randombytes_uniform((uint32_t)(n * 8));
		memcpy(ref, out, n);
		ref[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		assert_int_equal(tnl_open(&cr, key, ref, n, back), -1);
	}
	/* a wrong key, a cut datagram */
	size_t n = tnl_seal(&cr, key, out, T_DATA, 1, 2, 3, pt, 100);
	uint8_t k2[32];
	memcpy(k2, key, 32);
	k2[0] ^= 1;
	assert_int_equal(tnl_open(&cr, k2, out, n, back), -1);
	assert_int_equal(tnl_open(&cr, key, out, n - 1, back), -1);
	assert_int_equal(tnl_open(&cr, key, out, TNL_OVERHEAD - 1, back), -1);
	/* the header's plausibility */
	assert_true(tnl_hdr_ok(out, n));
	assert_false(tnl_hdr_ok(out, TNL_OVERHEAD - 1));
	out[1] = 1;
	assert_false(tnl_hdr_ok(out, n));
	out[1] = TNL_VERSION;
	out[3] = 1;
	assert_false(tnl_hdr_ok(out, n));
	out[3] = 0;
	memset(out + 20, 0, 8);
	assert_false(tnl_hdr_ok(out, n));
	tnl_crypto_free(&cr);
}

static void handshake_and_data(void **state)
{
	(void)state;
	static struct client a;
	client_start(&a, "10.9.0.2/24", "fd09::2/64", 1);
	assert_true(atomic_load(&a.c.ssid) != 0);
	assert_int_equal(cnt(&ss, C_ChallengesSent), 1);
	assert_int_equal(cnt(&ss, C_Handshakes), 1);
	assert_int_equal(cnt(&a.s, C_Handshakes), 1);
	assert_int_equal(a.c.server4.fam, 4);
	assert_int_equal(a.c.server6.fam, 6);
	uint8_t pkt[100], d[200], pt[200];
	size_t ptlen;
	struct tnl_dest fwd;
	/* IPv4 and IPv6 to the server's own addresses: for its TUN device */
	size_t n = cli_data(&a, d, pkt, mkpkt(pkt, "10.9.0.2", "10.9.0.1"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_TUN);
	assert_int_equal(ptlen, 48);
	assert_memory_equal(pt, pkt, 48);
	n = cli_data(&a, d, pkt, mkpkt(pkt, "fd09::2", "fd09::1"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_TUN);
	assert_memory_equal(pt, pkt, 68);
	/* the same datagram again: a replay */
	uint64_t rep = cnt(&ss, C_RxReplay);
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_DROP);
	assert_int_equal(cnt(&ss, C_RxReplay), rep + 1);
	/* tampered */
	uint64_t af = cnt(&ss, C_RxAuthFail);
	d[40] ^= 4;
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_DROP);
	assert_int_equal(cnt(&ss, C_RxAuthFail), af + 1);
	/* spoofed sources, both families */
	uint64_t sp = cnt(&ss, C_RxSpoofed);
	n = cli_data(&a, d, pkt, mkpkt(pkt, "10.9.0.3", "10.9.0.1"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_DROP);
	n = cli_data(&a, d, pkt, mkpkt(pkt, "fd09::3", "fd09::1"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_DROP);
	assert_int_equal(cnt(&ss, C_RxSpoofed), sp + 2);
	/* a malformed inner packet */
	uint64_t bi = cnt(&ss, C_RxBadInner);
	mkpkt(pkt, "10.9.0.2", "10.9.0.1");
	n = cli_data(&a, d, pkt, 47);
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_DROP);
	assert_int_equal(cnt(&ss, C_RxBadInner), bi + 1);
	/* server to client: a packet for a's IPv6 address from the TUN device */
	struct tnl_dest to;
	size_t pl = mkpkt(pkt, "fd09::1", "fd09::2");
	assert_int_equal(tnl_srv_route(&srv, &ss.w, -1, pkt, &to), 1);
	assert_int_equal(to.csid, a.c.csid);
	assert_true(tnl_ep_eq(&to.ep, &a.ep));
	uint64_t ctr = tnl_srv_reserve(&srv, to.slot, 1, pl);
	n = tnl_seal(&ss.w.cr, scfg.k_s2c, d, T_SDATA, to.csid, to.ssid, ctr, pkt, pl);
	uint8_t copy[200];
	memcpy(copy, d, n);
	assert_int_equal(tnl_cli_input(&a.c, &a.s.w, now, d, n, pt, &ptlen), TNL_TUN);
	assert_memory_equal(pt, pkt, pl);
	assert_int_equal(tnl_cli_input(&a.c, &a.s.w, now, copy, n, pt, &ptlen), TNL_DROP);
	assert_int_equal(cnt(&a.s, C_RxReplay), 1);
	/* the client refuses packets under the other direction's key */
	n = tnl_seal(&ss.w.cr, scfg.k_c2s, d, T_SDATA, to.csid, to.ssid, ctr + 1000, pkt, pl);
	assert_int_equal(tnl_cli_input(&a.c, &a.s.w, now, d, n, pt, &ptlen), TNL_DROP);
	assert_int_equal(cnt(&a.s, C_RxAuthFail), 1);
	/* the client's own check on what its TUN device gives it */
	mkpkt(pkt, "10.9.0.2", "10.9.0.77");
	assert_true(tnl_cli_src_ok(&a.c, &a.s.w, pkt));
	mkpkt(pkt, "10.9.0.5", "10.9.0.77");
	assert_false(tnl_cli_src_ok(&a.c, &a.s.w, pkt));
	mkpkt(pkt, "fe80::1", "ff02::2");   /* a router solicitation */
	assert_false(tnl_cli_src_ok(&a.c, &a.s.w, pkt));
	mkpkt(pkt, "fd09::2", "ff02::16");
	assert_false(tnl_cli_src_ok(&a.c, &a.s.w, pkt));
	assert_int_equal(cnt(&a.s, C_TunBadSource), 1);
	assert_int_equal(cnt(&a.s, C_TunLinkScope), 2);
	/* a BYE ends the session; later data meets the tombstone, no challenge */
	tnl_cli_bye(&a.c, &a.s.w);
	pump(&a);
	assert_int_equal(cnt(&ss, C_PeersClosed), 1);
	uint64_t ns = cnt(&ss, C_RxNoSession), ch = cnt(&ss, C_ChallengesSent);
	n = cli_data(&a, d, pkt, mkpkt(pkt, "10.9.0.2", "10.9.0.1"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_DROP);
	assert_int_equal(cnt(&ss, C_RxNoSession), ns + 1);
	assert_int_equal(cnt(&ss, C_ChallengesSent), ch);
	/* the tombstone ends after 2.5 buckets */
	now += srv.bucket_ms * 3;
	tnl_srv_tick(&srv, &ss.w, now);
	assert_int_equal(tnl_srv_active(&srv), 0);
	tnl_crypto_free(&a.s.w.cr);
}

static void routing_between_clients(void **state)
{
	(void)state;
	static struct client a, b, v6only;
	client_start(&a, "10.9.0.2/24", "fd09::2/64", 11);
	client_start(&b, "10.9.0.3/24", NULL, 12);
	client_start(&v6only, NULL, "fd09::4/64", 13);
	assert_int_equal(tnl_srv_active(&srv), 3);
	uint8_t pkt[100], d[200], pt[200];
	size_t ptlen, n;
	struct tnl_dest fwd;
	n = cli_data(&a, d, pkt, mkpkt(pkt, "10.9.0.2", "10.9.0.3"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_FWD);
	assert_int_equal(fwd.csid, b.c.csid);
	n = cli_data(&a, d, pkt, mkpkt(pkt, "fd09::2", "fd09::4"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_FWD);
	assert_int_equal(fwd.csid, v6only.c.csid);
	assert_int_equal(cnt(&ss, C_Forwarded), 2);
	/* to an address in the prefix nobody holds: dropped, both families */
	uint64_t nr = cnt(&ss, C_NoRoute);
	n = cli_data(&a, d, pkt, mkpkt(pkt, "10.9.0.2", "10.9.0.77"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_DROP);
	n = cli_data(&a, d, pkt, mkpkt(pkt, "fd09::2", "fd09::77"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_DROP);
	assert_int_equal(cnt(&ss, C_NoRoute), nr + 2);
	/* elsewhere and multicast: the server's TUN device */
	n = cli_data(&a, d, pkt, mkpkt(pkt, "10.9.0.2", "192.0.2.1"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_TUN);
	n = cli_data(&a, d, pkt, mkpkt(pkt, "fd09::2", "2001:db8::1"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_TUN);
	/* b has no IPv6 address: any IPv6 source is spoofed */
	uint64_t sp = cnt(&ss, C_RxSpoofed);
	n = cli_data(&b, d, pkt, mkpkt(pkt, "fd09::3", "fd09::1"));
	assert_int_equal(srv_rx(&b, d, n, pt, &ptlen, &fwd), TNL_DROP);
	assert_int_equal(cnt(&ss, C_RxSpoofed), sp + 1);
	/* from the TUN device: to a client, to nobody, link scope */
	struct tnl_dest to;
	mkpkt(pkt, "10.9.0.1", "10.9.0.3");
	assert_int_equal(tnl_srv_route(&srv, &ss.w, -1, pkt, &to), 1);
	assert_int_equal(to.csid, b.c.csid);
	mkpkt(pkt, "10.9.0.1", "10.9.0.99");
	assert_int_equal(tnl_srv_route(&srv, &ss.w, -1, pkt, &to), -1);
	uint64_t ls = cnt(&ss, C_TunLinkScope);
	mkpkt(pkt, "fe80::1", "ff02::2");
	assert_int_equal(tnl_srv_route(&srv, &ss.w, -1, pkt, &to), -1);
	assert_int_equal(cnt(&ss, C_TunLinkScope), ls + 1);
	/* clean up: everyone leaves */
	struct client *all[] = {&a, &b, &v6only};
	for (int i = 0; i < 3; i++) {
		tnl_cli_bye(&all[i]->c, &all[i]->s.w);
		pump(all[i]);
		tnl_crypto_free(&all[i]->s.w.cr);
	}
	now += srv.bucket_ms * 3;
	tnl_srv_tick(&srv, &ss.w, now);
	assert_int_equal(tnl_srv_active(&srv), 0);
}

static void address_rules(void **state)
{
	(void)state;
	static struct client a, thief, bad, late;
	/* outside the prefix, the server's own, the network, the broadcast */
	const char *refused[] = {"10.9.1.2/24", "10.9.0.1/24", "10.9.0.0/24", "10.9.0.255/24"};
	for (int i = 0; i < 4; i++) {
		uint64_t ar = cnt(&ss, C_AddrRefused);
		client_start(&bad, refused[i], NULL, 20 + i);
		assert_int_equal(atomic_load(&bad.c.ssid), 0);
		assert_int_equal(cnt(&ss, C_AddrRefused), ar + 1);
		assert_int_equal(cnt(&bad.s, C_AddrRefused), 1);
		tnl_crypto_free(&bad.s.w.cr);
	}
	uint64_t ar = cnt(&ss, C_AddrRefused);
	client_start(&bad, NULL, "fd0a::2/64", 30);
	assert_int_equal(cnt(&ss, C_AddrRefused), ar + 1);
	tnl_crypto_free(&bad.s.w.cr);

	client_start(&a, "10.9.0.2/24", "fd09::2/64", 31);
	assert_true(atomic_load(&a.c.ssid) != 0);
	/* a second client claims a's IPv6 address: a is probed and answers */
	client_start(&thief, "10.9.0.8/24", "fd09::2/64", 32);
	assert_int_equal(cnt(&ss, C_ProbesSent), 1);
	assert_int_equal(atomic_load(&thief.c.ssid), 0);
	pump(&a);   /* the PROBE reaches a, which answers with a HELLO */
	assert_int_equal(cnt(&a.s, C_ProbesRecv), 1);
	now += 500;
	tnl_cli_hello(&thief.c, &thief.s.w, now);
	pump(&thief);
	assert_int_equal(atomic_load(&thief.c.ssid), 0);
	assert_int_equal(cnt(&ss, C_AddrConflicts), 1);
	assert_int_equal(cnt(&thief.s, C_AddrConflicts), 1);
	/* a falls silent: after 3 s of probing it is evicted */
	now += 1000;
	tnl_cli_hello(&thief.c, &thief.s.w, now);
	pump(&thief);   /* starts a new probe, which a does not answer */
	a.s.w.ctl.n = 0;
	ss.w.ctl.n = 0;
	for (int i = 0; i < 8 && !atomic_load(&thief.c.ssid); i++) {
		now += 500;
		tnl_cli_hello(&thief.c, &thief.s.w, now);
		pump(&thief);
		ss.w.ctl.n = 0;   /* probes to a are lost */
	}
	assert_true(atomic_load(&thief.c.ssid) != 0);
	assert_int_equal(cnt(&ss, C_PeersEvicted), 1);
	/* a's session is gone: its data meets a tombstone */
	uint8_t pkt[100], d[200], pt[200];
	size_t ptlen;
	struct tnl_dest fwd;
	uint64_t ns = cnt(&ss, C_RxNoSession);
	size_t n = cli_data(&a, d, pkt, mkpkt(pkt, "fd09::2", "fd09::1"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_DROP);
	assert_int_equal(cnt(&ss, C_RxNoSession), ns + 1);
	/* expiry: the thief falls silent for --timeout */
	now += 61000;
	tnl_srv_tick(&srv, &ss.w, now);
	assert_int_equal(cnt(&ss, C_PeersExpired), 1);
	/* and notices itself: ServerLost, then it joins again */
	tnl_cli_tick(&thief.c, &thief.s.w, now);
	assert_int_equal(cnt(&thief.s, C_ServerLost), 1);
	assert_int_equal(atomic_load(&thief.c.ssid), 0);
	thief.s.w.ctl.n = 0;
	/* a HELLO replayed in a later bucket opens nothing (a new challenge) */
	now += srv.bucket_ms * 3;
	tnl_srv_tick(&srv, &ss.w, now);
	client_start(&late, "10.9.0.9/24", NULL, 40);
	assert_true(atomic_load(&late.c.ssid) != 0);
	uint8_t hello[256];
	size_t hl = last_c_len;
	memcpy(hello, last_c, hl);   /* the HELLO that carried the cookie */
	tnl_cli_bye(&late.c, &late.s.w);
	pump(&late);
	now += srv.bucket_ms * 3;
	tnl_srv_tick(&srv, &ss.w, now);
	uint64_t hs = cnt(&ss, C_Handshakes), cs = cnt(&ss, C_ChallengesSent);
	assert_int_equal(srv_rx(&late, hello, hl, pt, &ptlen, &fwd), TNL_DROP);
	assert_int_equal(cnt(&ss, C_Handshakes), hs);
	assert_int_equal(cnt(&ss, C_ChallengesSent), cs + 1);
	ss.w.ctl.n = 0;
	/* stale ACK: not echoing a HELLO the client sent */
	uint8_t m[TNL_CTL_LEN] = {0};
	n = tnl_seal(&ss.w.cr, scfg.k_s2c, d, T_ACK, thief.c.csid, 12345, 99, m, TNL_CTL_LEN);
	assert_int_equal(tnl_cli_input(&thief.c, &thief.s.w, now, d, n, pt, &ptlen), TNL_DROP);
	assert_int_equal(cnt(&thief.s, C_RxStale), 1);
	assert_int_equal(atomic_load(&thief.c.ssid), 0);
	struct client *all[] = {&a, &thief, &late};
	for (int i = 0; i < 3; i++)
		tnl_crypto_free(&all[i]->s.w.cr);
	now += 100000;
	tnl_srv_tick(&srv, &ss.w, now);
	tnl_srv_tick(&srv, &ss.w, now + 100000);
	assert_int_equal(tnl_srv_active(&srv), 0);
}

static void server_restart(void **state)
{
	(void)state;
	static struct client a;
	client_start(&a, "10.9.0.2/24", NULL, 50);
	uint64_t old = atomic_load(&a.c.ssid);
	assert_true(old != 0);
	/* a new server instance (same key): a's data gets a challenge, a rejoins */
	tnl_srv_free(&srv);
	assert_int_equal(tnl_srv_init(&srv, &scfg), 0);
	uint8_t pkt[100], d[200], pt[200];
	size_t ptlen;
	struct tnl_dest fwd;
	size_t n = cli_data(&a, d, pkt, mkpkt(pkt, "10.9.0.2", "10.9.0.1"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_DROP);
	now += 2000;
	pump(&a);
	uint64_t nw = atomic_load(&a.c.ssid);
	assert_true(nw != 0 && nw != old);
	assert_int_equal(cnt(&a.s, C_Handshakes), 2);
	n = cli_data(&a, d, pkt, mkpkt(pkt, "10.9.0.2", "10.9.0.1"));
	assert_int_equal(srv_rx(&a, d, n, pt, &ptlen, &fwd), TNL_TUN);
	tnl_crypto_free(&a.s.w.cr);
}

static void parsing(void **state)
{
	(void)state;
	struct tnl_addr a;
	struct tnl_ep e;
	char buf[80];
	assert_int_equal(tnl_parse_cidr("10.1.2.3/8", &a), 0);
	assert_int_equal(a.fam, 4);
	assert_int_equal(tnl_parse_cidr("fd00::1/64", &a), 0);
	assert_int_equal(a.fam, 6);
	assert_int_equal(a.plen, 64);
	assert_int_equal(tnl_parse_cidr("10.1.2.3", &a), -1);
	assert_int_equal(tnl_parse_cidr("10.1.2.3/33", &a), -1);
	assert_int_equal(tnl_parse_cidr("fd00::1/129", &a), -1);
	assert_int_equal(tnl_parse_cidr("fd00::1/0", &a), -1);
	assert_int_equal(tnl_parse_cidr("nowhere/8", &a), -1);
	assert_int_equal(tnl_parse_ep("[::]:51820", &e), 0);
	assert_int_equal(e.sa.sa_family, AF_INET6);
	assert_string_equal(tnl_ep_str(&e, buf, sizeof(buf)), "[::]:51820");
	assert_int_equal(tnl_parse_ep("[fd00::1]:7", &e), 0);
	assert_string_equal(tnl_ep_str(&e, buf, sizeof(buf)), "[fd00::1]:7");
	assert_int_equal(tnl_parse_ep("10.0.0.1:7", &e), 0);
	assert_string_equal(tnl_ep_str(&e, buf, sizeof(buf)), "10.0.0.1:7");
	assert_int_equal(tnl_parse_ep("fd00::1:7", &e), -1);
	assert_int_equal(tnl_parse_ep("[fd00::1]", &e), -1);
	assert_int_equal(tnl_parse_ep("10.0.0.1:", &e), -1);
	assert_int_equal(tnl_parse_ep("10.0.0.1:65536", &e), -1);
	uint8_t p[80];
	assert_int_equal(tnl_ip_ok(p, mkpkt(p, "10.0.0.1", "10.0.0.2")), 4);
	assert_int_equal(tnl_ip_ok(p, 47), 0);
	assert_int_equal(tnl_ip_ok(p, mkpkt(p, "fd00::1", "fd00::2")), 6);
	assert_int_equal(tnl_ip_ok(p, 69), 0);
	assert_int_equal(tnl_ip_ok(p, 39), 0);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parsing),
		cmocka_unit_test(seal_matches_libsodium),
		cmocka_unit_test(handshake_and_data),
		cmocka_unit_test(routing_between_clients),
		cmocka_unit_test(address_rules),
		cmocka_unit_test(server_restart),
	};
	return cmocka_run_group_tests(tests, srv_setup, srv_teardown);
}
