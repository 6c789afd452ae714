/* TCP Fast Open (RFC 7413), as Linux does it, both ends.
 *
 * Server: a listener takes data in a SYN when Fast Open is on for it
 * (TCP_FASTOPEN, or tcp_fastopen 0x400 for every listener) and the SYN
 * carries a valid cookie (or tcp_fastopen 0x200 waives it): the child
 * connection is created at once with the data, goes to the accept queue
 * while still in SYN_RECEIVED, and its SYN-ACK acknowledges the data. A
 * SYN asking for a cookie (an empty option), or with a cookie that does not
 * check, gets one in its SYN-ACK and an ordinary handshake. The cookie is
 * Linux's: SipHash-2-4 of the client and server addresses under a 128-bit
 * key (tcp_fastopen_key, or the listener's TCP_FASTOPEN_KEY), 8 bytes.
 *
 * Client: sendto(MSG_FASTOPEN) on an unconnected socket, or the first write
 * after a connect() that TCP_FASTOPEN_CONNECT deferred, sends a SYN with
 * data when a cookie for the server is cached (or tcp_fastopen 0x4 waives
 * it), else a SYN that asks for one. The cache remembers, per server
 * address, the cookie and the MSS of the server's last SYN-ACK to a Fast
 * Open SYN (a bounded table; the least recently used entry goes). */
#include <errno.h>
#include <string.h>

#include "core/bytes.h"
#include "transport/tcp.h"

/* Linux's __tcp_fastopen_cookie_gen_cipher: SipHash of the source and
 * destination addresses as they are on the wire (4 bytes each for IPv4,
 * 16 for IPv6); the key's bytes are read as two little-endian 64-bit
 * words. */
void tcp_fo_cookie(const uint8_t key[TCP_FO_KEY_LEN], const struct us_addr *saddr, const struct us_addr *daddr,
		   uint8_t out[TCP_FO_COOKIE_LEN])
{
	uint64_t k[2] = {0, 0};
	for (int i = 7; i >= 0; i--) {
		k[0] = (k[0] << 8) | key[i];
		k[1] = (k[1] << 8) | key[8 + i];
	}
	uint8_t d[32];
	size_t n;
	if (addr_is_v4(saddr)) {
		wr_be32(d, addr_v4(saddr));
		wr_be32(d + 4, addr_v4(daddr));
		n = 8;
	} else {
		memcpy(d, saddr->b, 16);
		memcpy(d + 16, daddr->b, 16);
		n = 32;
	}
	uint64_t h = us_siphash(k, d, n);
	for (int i = 0; i < TCP_FO_COOKIE_LEN; i++)
		out[i] = (uint8_t)(h >> (8 * i));
}

static int fo_enabled(const struct us_stack *st, int bits)
{
	return st->cfg.tcp_fastopen > 0 && (st->cfg.tcp_fastopen & bits);
}

int tcp_fo_listener_on(const struct us_stack *st, const struct tcp_conn *l)
{
	return fo_enabled(st, TCP_FO_SERVER) && (l->fo_qlen > 0 || fo_enabled(st, TCP_FO_SERVER_ALL));
}

/* A SYN at listener l, for child c: 1 if c takes the SYN's data now (a
 * Fast Open child); else 0, with c->fo_out set if its SYN-ACK is to carry a
 * cookie. */
int tcp_fo_passive(struct us_stack *st, struct tcp_conn *l, struct tcp_conn *c, const struct tcp_repr *t)
{
	c->fo_out.kind = 0;
	if (!tcp_fo_listener_on(st, l) || (!t->payload_len && !t->fo))
		return 0;
	if (fo_enabled(st, TCP_FO_SERVER_NO_COOKIE) || l->fo_no_cookie)
		return 1;
	if (!t->fo)
		return 0;
	uint8_t want[TCP_FO_COOKIE_LEN];
	tcp_fo_cookie(l->fo_key_set ? l->fo_key : tcp_fo_key(st), &c->raddr, &c->laddr, want);
	if (t->fo_len == TCP_FO_COOKIE_LEN && !memcmp(t->fo_cookie, want, sizeof(want))) {
		STAT_INC(st, tcpext, TCPFastOpenPassive);
		return 1;   /* a valid cookie: its SYN-ACK carries none */
	}
	if (t->fo_len)
		STAT_INC(st, tcpext, TCPFastOpenPassiveFail);
	else
		STAT_INC(st, tcpext, TCPFastOpenCookieReqd);
	/* A request, or a cookie that does not check: the right one, in the
	 * form the client used. */
	c->fo_out.kind = t->fo;
	c->fo_out.len = TCP_FO_COOKIE_LEN;
	memcpy(c->fo_out.cookie, want, sizeof(want));
	return 0;
}

static struct tcp_fo_entry *cache_find(struct us_stack *st, const struct us_addr *addr)
{
	struct tcp_fo_entry *e = tcp_fo_cache(st);
	for (int i = 0; i < TCP_FO_CACHE_MAX; i++)
		if (e[i].used && addr_eq(&e[i].addr, addr))
			return &e[i];
	return NULL;
}

/* The entry for addr, made if need be (the least recently used makes way). */
static struct tcp_fo_entry *cache_get(struct us_stack *st, const struct us_addr *addr)
{
	struct tcp_fo_entry *e = cache_find(st, addr), *all = tcp_fo_cache(st);
	if (e)
		return e;
	e = &all[0];
	for (int i = 1; i < TCP_FO_CACHE_MAX; i++)
		if (all[i].used < e->used)
			e = &all[i];
	memset(e, 0, sizeof(*e));
	e->addr = *addr;
	return e;
}

int tcp_fo_active_setup(struct us_stack *st, struct tcp_conn *c)
{
	c->fo_out.kind = 0;
	c->fo_syn = c->fo_asked = 0;
	if (!fo_enabled(st, TCP_FO_CLIENT))
		return 0;
	c->fo_syn = 1;
	if (fo_enabled(st, TCP_FO_CLIENT_NO_COOKIE) || c->fo_no_cookie)
		return 1;   /* data without a cookie option */
	struct tcp_fo_entry *e = cache_find(st, &c->raddr);
	c->fo_asked = 1;
	/* The form the server answered in; without a cookie yet, the
	 * experimental one if a request in RFC 7413's went unanswered (Linux's
	 * try_exp: servers that predate the RFC). */
	c->fo_out.kind = e && (e->len ? e->exp : e->try_exp == 1) ? TCP_FO_EXP : TCP_FO_RFC;
	if (!e || !e->len) {
		c->fo_out.len = 0;   /* ask for a cookie; no data */
		return 0;
	}
	c->fo_out.len = e->len;
	memcpy(c->fo_out.cookie, e->cookie, e->len);
	e->used = ++tcp_fo_cache_clock(st)[0];
	return 1;
}

int tcp_fo_have_cookie(struct us_stack *st, const struct tcp_conn *c)
{
	if (!fo_enabled(st, TCP_FO_CLIENT))
		return 0;
	if (fo_enabled(st, TCP_FO_CLIENT_NO_COOKIE) || c->fo_no_cookie)
		return 1;
	const struct tcp_fo_entry *e = cache_find(st, &c->raddr);
	return e && e->len;
}

uint32_t tcp_fo_syn_space(struct us_stack *st, const struct tcp_conn *c)
{
	/* Linux: the MSS the server last offered (cached), bounded by our
	 * own, less all 40 bytes of option space, which a middlebox may fill. */
	uint32_t mss = c->adv_mss;
	const struct tcp_fo_entry *e = cache_find(st, &c->raddr);
	if (e && e->mss)
		mss = US_MIN(mss, (uint32_t)e->mss);
	if (c->user_mss)
		mss = US_MIN(mss, (uint32_t)c->user_mss);
	return mss > 40 ? mss - 40 : 0;
}

void tcp_fo_synack(struct us_stack *st, struct tcp_conn *c, const struct tcp_repr *t)
{
	if (!c->fo_syn)
		return;   /* an ordinary SYN: nothing is learnt */
	struct tcp_fo_entry *e = cache_get(st, &c->raddr);
	e->used = ++tcp_fo_cache_clock(st)[0];
	e->mss = t->has_mss ? t->mss : TCP_DEFAULT_MSS;
	/* A cookie we did not ask for (no option in our SYN) is not kept. */
	if (c->fo_asked && t->fo && t->fo_len) {
		e->len = t->fo_len;
		e->exp = t->fo == TCP_FO_EXP;
		memcpy(e->cookie, t->fo_cookie, t->fo_len);
	} else if (c->fo_asked && !c->syn_data && !c->retransmits && !e->len) {
		/* We asked and got nothing: try the other form next (Linux). */
		e->try_exp = c->fo_out.kind == TCP_FO_EXP ? 2 : 1;
	}
}
