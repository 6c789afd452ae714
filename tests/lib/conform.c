/* The conformance script runner (conform.h), for test_conform.c and
 * test_counters.c. Scripts in the spirit of packetdrill (tests/conform/NAME.pkt,
 * language in tests/conform/README.md): one ustack stack on an in-memory
 * L3 link that this program holds the other end of. Each script line, at
 * its time on the virtual clock, makes a socket call and checks its result,
 * injects a crafted packet, or expects a packet from the stack with the
 * given fields within a time tolerance. Any packet the stack sends that the
 * script did not expect is a failure. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/pkt.h"
#include "link/link.h"
#include "core/addr.h"
#include "net/iface.h"
#include "net/ip.h"
#include "net/ipv4.h"
#include "net/neigh.h"
#include "net/route.h"
#include "conform.h"
#include "stack.h"
#include "wire/icmp4.h"
#include "wire/icmp6.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/tcp.h"

#define NS 1000000000ull
#define MAX_Q 256
#define MAX_CONNS 16
#define MAX_FDS 64
#define MAX_ARGS 8
#define DEFAULT_TOL_NS 5000000ull        /* +-5 ms */
#define DEFAULT_REMOTE_ISN 1000000u
#define DEFAULT_LISTEN_PORT 8080
#define DEFAULT_REMOTE_PORT 49152
#define LOCAL_IP "192.168.0.1"
#define REMOTE_IP "192.168.0.2"
#define LOCAL_IP6 "fd00::1"
#define REMOTE_IP6 "fd00::2"
#define WAIT_ANY_NS (600ull * NS)       /* "*" time: wait at most this long */

struct outpkt {
	uint8_t *data;
	uint32_t len;
	uint64_t t;      /* ns since script start */
};

/* Per remote port: the stack's side of that connection. */
struct cconn {
	uint16_t rport, lport;
	uint32_t lisn;   /* stack's ISN: base of its sequence numbers */
	uint32_t tsval;  /* latest TSval the stack sent */
	int have_lisn, have_ts;
};

struct run {
	const char *path;
	char err[8192];
	int lineno;
	const char *line;
	/* settings, before the stack starts */
	struct us_stack_config cfg;
	uint32_t mtu;
	uint64_t tol;
	uint32_t risn;
	/* the stack */
	struct us_stack *st;
	struct us_link *peer;
	struct pkt_pool pool;
	int pool_ok;
	uint64_t t0, now;      /* absolute ns */
	uint64_t prev;         /* script time (ns since start) of the previous event */
	uint32_t lip, rip;
	uint32_t gateway;      /* default route via this address (set gateway), 0: none */
	struct ip6_addr lip6, rip6;
	int sock6;             /* set family 6: sockets are AF_INET6 */
	int pkt6;              /* packets are IPv6 (set family 6, set peer_family) */
	uint16_t listen_port;
	struct cconn conns[MAX_CONNS];
	int nconn, cur;
	struct outpkt q[MAX_Q];
	int qn;
	int fdmap[MAX_FDS];
	uint64_t ignored;
	uint64_t q_overflow;   /* packets lost because the script let MAX_Q pile up */
	struct us_stats *acc;  /* what the stack counted is added here (conform_run) */
};

/* ---- small helpers ------------------------------------------------------- */

static int fail_at(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_at(struct run *r, const char *fmt, ...)
{
	if (r->err[0])
		return -1;
	int n = snprintf(r->err, sizeof(r->err), "%s:%d: %s\n  ", r->path, r->lineno, r->line ? r->line : "");
	if (n < 0 || (size_t)n >= sizeof(r->err))
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *skipws(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

/* Matches word w at s followed by a non-identifier char; advances *s. */
static int eat(const char **s, const char *w)
{
	const char *p = skipws(*s);
	size_t n = strlen(w);
	if (strncmp(p, w, n) != 0)
		return 0;
	if (isalnum((unsigned char)w[n - 1]) && (isalnum((unsigned char)p[n]) || p[n] == '_'))
		return 0;
	*s = p + n;
	return 1;
}

static int parse_long(const char **s, long *v)
{
	const char *p = skipws(*s);
	char *end;
	errno = 0;
	long x = strtol(p, &end, 0);
	if (end == p || errno)
		return -1;
	*v = x;
	*s = end;
	return 0;
}

static const struct {
	const char *name;
	int v;
} errnames[] = {
	{"EINPROGRESS", EINPROGRESS}, {"EAGAIN", EAGAIN}, {"EWOULDBLOCK", EAGAIN}, {"ECONNREFUSED", ECONNREFUSED},
	{"ECONNRESET", ECONNRESET}, {"ETIMEDOUT", ETIMEDOUT}, {"EPIPE", EPIPE}, {"ENOTCONN", ENOTCONN},
	{"EISCONN", EISCONN}, {"EALREADY", EALREADY}, {"EADDRINUSE", EADDRINUSE}, {"EINVAL", EINVAL},
	{"EBADF", EBADF}, {"ENOBUFS", ENOBUFS}, {"EHOSTUNREACH", EHOSTUNREACH}, {"ENETUNREACH", ENETUNREACH},
	{"EMSGSIZE", EMSGSIZE}, {"EOPNOTSUPP", EOPNOTSUPP}, {"ECONNABORTED", ECONNABORTED}, {"ENOPROTOOPT", ENOPROTOOPT},
};

static int errno_by_name(const char *s, int *v)
{
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++) {
		size_t n = strlen(errnames[i].name);
		if (!strncmp(s, errnames[i].name, n) && !isalnum((unsigned char)s[n])) {
			*v = errnames[i].v;
			return 0;
		}
	}
	return -1;
}

static const char *errno_name(int v)
{
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].v == v)
			return errnames[i].name;
	return "E?";
}

/* ---- the stack and the clock --------------------------------------------- */

static struct cconn *conn_by_rport(struct run *r, uint16_t rport, int create)
{
	for (int i = 0; i < r->nconn; i++)
		if (r->conns[i].rport == rport)
			return &r->conns[i];
	if (!create || r->nconn >= MAX_CONNS)
		return NULL;
	struct cconn *c = &r->conns[r->nconn++];
	memset(c, 0, sizeof(*c));
	c->rport = rport;
	c->lport = r->listen_port;
	return c;
}

static struct cconn *curc(struct run *r) { return &r->conns[r->cur]; }

static int start_stack(struct run *r)
{
	if (r->st)
		return 0;
	struct us_link *a, *b;
	if (us_link_mem_pair(&a, &b, r->mtu, 1) < 0)
		return fail_at(r, "mem link failed");
	if (pkt_pool_init(&r->pool, 2048 + PKT_HEADROOM, 512, 4) < 0) {
		us_link_close(a);
		us_link_close(b);
		return fail_at(r, "pool failed");
	}
	r->pool_ok = 1;
	r->peer = a;
	a->pool = &r->pool;
	struct us_stack_config cfg = r->cfg;
	if (!cfg.seed)
		cfg.seed = 42;
	/* Scripts pin CUBIC's numbers (ssthresh 0.7, ...) unless they set
	 * another: the stack's own default is BBR. */
	if (!cfg.tcp_cc && !cfg.tcp_cc_reno)
		cfg.tcp_cc = "cubic";
	r->st = us_stack_new(&cfg);
	if (!r->st) {
		us_link_close(b);
		return fail_at(r, "us_stack_new failed");
	}
	int ifx = us_iface_add(r->st, b);
	struct in_addr la;
	inet_pton(AF_INET, LOCAL_IP, &la);
	us_iface_set_mtu(r->st, ifx, r->mtu);
	us_iface_addr_add(r->st, ifx, la, 24);
	if (r->sock6) {
		/* set family 6: fd00::1/64 too (an IP link: no DAD, no NDP). */
		struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
		memcpy(&a6.sin6_addr, r->lip6.b, 16);
		if (us_iface_addr_add_sa(r->st, ifx, (struct sockaddr *)&a6, 64) < 0)
			return fail_at(r, "us_iface_addr_add_sa of %s failed", LOCAL_IP6);
	}
	if (r->gateway) {
		struct in_addr any = {0}, gw = {htonl(r->gateway)};
		if (us_route_add(r->st, any, 0, gw, ifx) < 0)
			return fail_at(r, "us_route_add of the gateway failed");
	}
	r->now = r->t0 = 1000000000ull;
	us_stack_timers(r->st, r->now);
	us_iface_up(r->st, ifx);
	return 0;
}

static void stop_stack(struct run *r)
{
	for (int i = 0; i < r->qn; i++)
		free(r->q[i].data);
	r->qn = 0;
	if (r->st && r->acc) {
		uint64_t sum[sizeof(struct us_stats) / sizeof(uint64_t)], v[sizeof(sum) / sizeof(sum[0])];
		memcpy(sum, r->acc, sizeof(sum));
		memcpy(v, us_stack_stats(r->st), sizeof(v));
		for (size_t i = 0; i < sizeof(sum) / sizeof(sum[0]); i++)
			sum[i] += v[i];
		memcpy(r->acc, sum, sizeof(sum));
	}
	if (r->st)
		us_stack_free(r->st);
	r->st = NULL;
	if (r->peer)
		us_link_close(r->peer);
	r->peer = NULL;
	if (r->pool_ok)
		pkt_pool_destroy(&r->pool);
	r->pool_ok = 0;
}

/* An IP header of either family, as the runner needs it. */
struct l3 {
	int v6;
	struct us_addr src, dst;
	uint8_t proto;   /* IPv4 protocol or IPv6 next header */
	uint8_t tos;     /* TOS or traffic class (ECN in the low two bits) */
	uint32_t hdr_len, payload_len;
};

static int parse_l3(const uint8_t *d, uint32_t len, struct l3 *h)
{
	memset(h, 0, sizeof(*h));
	if (len >= 1 && d[0] >> 4 == 6) {
		struct ipv6_repr ip;
		if (ipv6_parse(d, len, &ip) < 0)
			return -1;
		h->v6 = 1;
		h->src = addr_from_v6(ip.src.b);
		h->dst = addr_from_v6(ip.dst.b);
		h->proto = ip.next_hdr;
		h->tos = ip.tclass;
		h->hdr_len = IPV6_HDR_LEN;
		h->payload_len = ip.payload_len;
		return 0;
	}
	struct ipv4_repr ip;
	if (ipv4_parse(d, len, &ip, 1) < 0)
		return -1;
	h->src = addr_from_v4(ip.src);
	h->dst = addr_from_v4(ip.dst);
	h->proto = ip.proto;
	h->tos = ip.tos;
	h->hdr_len = ip.hdr_len;
	h->payload_len = ip.payload_len;
	return 0;
}

/* The current packet family's addresses: the stack's and the peer's. */
static struct us_addr local_addr(const struct run *r)
{
	return r->pkt6 ? addr_from_v6(r->lip6.b) : addr_from_v4(r->lip);
}
static struct us_addr remote_addr(const struct run *r)
{
	return r->pkt6 ? addr_from_v6(r->rip6.b) : addr_from_v4(r->rip);
}

/* Parse an outbound IPv4+TCP or IPv6+TCP packet; 0 if it is one. */
static int parse_tcp(const uint8_t *d, uint32_t len, struct l3 *ip, struct tcp_repr *t)
{
	if (parse_l3(d, len, ip) < 0 || ip->proto != IP_PROTO_TCP)
		return -1;
	return tcp_parse_ph(d + ip->hdr_len, ip->payload_len, ip_pseudo(&ip->src, &ip->dst, IP_PROTO_TCP), t, 1);
}

/* Take what the stack sent into the queue, noting ISNs and TSvals. */
static void fmt_actual(struct run *r, const uint8_t *d, uint32_t len, char *b, size_t n);
static void capture(struct run *r)
{
	struct pkt *pk[32];
	for (int rounds = 0; rounds < 1000; rounds++) {
		int n = link_recv(r->peer, pk, 32, r->now);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct l3 ip;
			struct tcp_repr t;
			if (parse_tcp(pk[i]->data, pk[i]->len, &ip, &t) == 0) {
				struct cconn *c = conn_by_rport(r, t.dport, 1);
				if (c && (t.flags & TCP_SYN)) {
					c->lisn = t.seq;
					c->have_lisn = 1;
					c->lport = t.sport;
				}
				if (c && t.has_ts) {
					c->tsval = t.tsval;
					c->have_ts = 1;
				}
			}
			if (r->qn >= MAX_Q)
				r->q_overflow++;
			else {
				struct outpkt *o = &r->q[r->qn++];
				o->data = malloc(pk[i]->len);
				if (o->data)
					memcpy(o->data, pk[i]->data, pk[i]->len);
				o->len = o->data ? pk[i]->len : 0;
				o->t = r->now - r->t0;
				if (getenv("USTACK_CONFORM_TRACE") && o->data) {
					/* every packet as it leaves, to write a script from */
					char b[512];
					fmt_actual(r, o->data, o->len, b, sizeof(b));
					printf("  trace %.6f %s\n", (double)o->t / 1e9, b);
				}
			}
			pkt_free(&r->pool, pk[i]);
		}
	}
}

static void step(struct run *r)
{
	us_stack_input(r->st, r->now);
	us_stack_timers(r->st, r->now);
	capture(r);
}

/* Run the stack until script time `target` (ns since start), or until it
 * sends something if stop_on_output. */
static void advance(struct run *r, uint64_t target, int stop_on_output)
{
	uint64_t end = r->t0 + target;
	for (long steps = 0; steps < 10000000L; steps++) {
		step(r);
		if (stop_on_output && r->qn)
			return;
		if (us_stack_has_pending(r->st))
			continue;
		if (r->now >= end)
			return;
		int64_t d = us_stack_next_deadline(r->st);
		uint64_t next;
		if (d < 0 || (uint64_t)d > end)
			next = end;
		else if ((uint64_t)d > r->now)
			next = (uint64_t)d;
		else
			next = ((r->now >> TW_TICK_SHIFT) + 1) << TW_TICK_SHIFT;   /* due: next wheel tick */
		r->now = next < end ? next : end;
	}
}

static void q_pop(struct run *r)
{
	free(r->q[0].data);
	memmove(&r->q[0], &r->q[1], (size_t)(r->qn - 1) * sizeof(r->q[0]));
	r->qn--;
}

static void fmt_time(char *b, size_t n, uint64_t t) { snprintf(b, n, "%.6f", (double)t / 1e9); }

/* ---- packets ------------------------------------------------------------- */

/* A packet as written in a script. Numbers are relative (see README). */
struct spkt {
	uint8_t flags;
	long seq, end;
	uint32_t len;
	int has_ack, ack_any;
	long ack;
	int has_win, win_any;
	uint32_t win;
	int has_urg;
	uint32_t urg;
	int has_opts, opts_any;
	int has_mss, has_ws, sack_perm, has_ts, tsval_any, tsecr_any;
	uint32_t mss, ws, tsval, tsecr;
	int nsack;
	long sack[TCP_MAX_SACK][2];
	int nop, eol;
	int fo, fo_len;              /* Fast Open: TCP_FO_RFC ("FO") or TCP_FO_EXP ("FOEXP"); cookie bytes */
	uint8_t fo_cookie[TCP_FO_COOKIE_MAX];
	int ecn;                   /* IP ECN field + 1 ([noecn] [ect1] [ect0] [ce]); 0: not given */
};

/* "FO" / "FOEXP", then an optional cookie in hex. */
static int parse_fo(struct run *r, const char **sp, struct spkt *p, int kind)
{
	const char *s = skipws(*sp);
	p->fo = kind;
	p->fo_len = 0;
	while (isxdigit((unsigned char)s[0]) && isxdigit((unsigned char)s[1])) {
		if (p->fo_len >= TCP_FO_COOKIE_MAX)
			return fail_at(r, "Fast Open cookie over %d bytes", TCP_FO_COOKIE_MAX);
		char h[3] = {s[0], s[1], 0};
		p->fo_cookie[p->fo_len++] = (uint8_t)strtoul(h, NULL, 16);
		s += 2;
	}
	*sp = s;
	return 0;
}

static const char flag_chars[] = "FSRP.UEW";
static const uint8_t flag_bits[] = {TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR};

static void fmt_flags(char *b, uint8_t f)
{
	int n = 0;
	for (int i = 0; i < 8; i++)
		if (f & flag_bits[i])
			b[n++] = flag_chars[i];
	if (!n)
		b[n++] = '-';
	b[n] = 0;
}

static int parse_opts(struct run *r, const char **sp, struct spkt *p)
{
	const char *s = skipws(*sp);
	if (*s != '<')
		return 0;
	s++;
	p->has_opts = 1;
	if (eat(&s, "...")) {
		p->opts_any = 1;
		if (*skipws(s) != '>')
			return fail_at(r, "'<...>' takes nothing else");
		*sp = skipws(s) + 1;
		return 0;
	}
	for (int guard = 0; guard < 32; guard++) {
		long v;
		s = skipws(s);
		if (*s == '>') {
			*sp = s + 1;
			return 0;
		}
		if (eat(&s, "mss")) {
			if (parse_long(&s, &v) < 0)
				return fail_at(r, "mss needs a value");
			p->has_mss = 1;
			p->mss = (uint32_t)v;
		} else if (eat(&s, "wscale")) {
			if (parse_long(&s, &v) < 0)
				return fail_at(r, "wscale needs a value");
			p->has_ws = 1;
			p->ws = (uint32_t)v;
		} else if (eat(&s, "sackOK")) {
			p->sack_perm = 1;
		} else if (eat(&s, "FOEXP")) {
			if (parse_fo(r, &s, p, TCP_FO_EXP) < 0)
				return -1;
		} else if (eat(&s, "FO")) {
			if (parse_fo(r, &s, p, TCP_FO_RFC) < 0)
				return -1;
		} else if (eat(&s, "nop")) {
			p->nop++;
		} else if (eat(&s, "eol")) {
			p->eol++;
		} else if (eat(&s, "TS")) {
			p->has_ts = 1;
			if (!eat(&s, "val"))
				return fail_at(r, "TS val V ecr E");
			if (eat(&s, "*"))
				p->tsval_any = 1;
			else if (parse_long(&s, &v) == 0)
				p->tsval = (uint32_t)v;
			else
				return fail_at(r, "TS val needs a value or *");
			if (!eat(&s, "ecr"))
				return fail_at(r, "TS val V ecr E");
			if (eat(&s, "*"))
				p->tsecr_any = 1;
			else if (parse_long(&s, &v) == 0)
				p->tsecr = (uint32_t)v;
			else
				return fail_at(r, "TS ecr needs a value or *");
		} else if (eat(&s, "sack")) {
			for (;;) {
				const char *save = s;
				long a, b;
				if (parse_long(&s, &a) < 0 || *s != ':') {
					s = save;
					break;
				}
				s++;
				if (parse_long(&s, &b) < 0)
					return fail_at(r, "sack a:b");
				if (p->nsack >= TCP_MAX_SACK)
					return fail_at(r, "at most %d sack blocks", TCP_MAX_SACK);
				p->sack[p->nsack][0] = a;
				p->sack[p->nsack][1] = b;
				p->nsack++;
			}
			if (!p->nsack)
				return fail_at(r, "sack needs blocks a:b");
		} else {
			return fail_at(r, "unknown option at '%s'", s);
		}
		s = skipws(s);
		if (*s == ',')
			s++;
	}
	return fail_at(r, "too many options");
}

/* "F S R P . U E W" flags (or - for none), seq:end(len), [ack N] [win N] [urg N] [<options>] */
static int parse_pkt(struct run *r, const char *s, struct spkt *p)
{
	memset(p, 0, sizeof(*p));
	s = skipws(s);
	/* packetdrill's ECN codepoint prefix */
	static const char *const ecn_names[] = {"[noecn]", "[ect1]", "[ect0]", "[ce]"};
	for (int i = 0; i < 4; i++)
		if (!strncmp(s, ecn_names[i], strlen(ecn_names[i]))) {
			p->ecn = i + 1;
			s = skipws(s + strlen(ecn_names[i]));
		}
	if (*s == '-') {
		s++;
	} else {
		for (; *s && !isspace((unsigned char)*s); s++) {
			const char *f = strchr(flag_chars, *s);
			if (!f)
				return fail_at(r, "unknown flag '%c'", *s);
			p->flags |= flag_bits[f - flag_chars];
		}
	}
	long len;
	if (parse_long(&s, &p->seq) < 0 || *s != ':')
		return fail_at(r, "expected seq:end(len)");
	s++;
	if (parse_long(&s, &p->end) < 0 || *s != '(')
		return fail_at(r, "expected seq:end(len)");
	s++;
	if (parse_long(&s, &len) < 0 || *s != ')' || len < 0 || len > 65535)
		return fail_at(r, "expected seq:end(len)");
	s++;
	if ((uint32_t)(p->end - p->seq) != (uint32_t)len)
		return fail_at(r, "end - seq != len");
	p->len = (uint32_t)len;
	for (int guard = 0; guard < 8; guard++) {
		long v;
		if (eat(&s, "ack")) {
			p->has_ack = 1;
			if (eat(&s, "*"))
				p->ack_any = 1;
			else if (parse_long(&s, &p->ack) < 0)
				return fail_at(r, "ack needs a value");
		} else if (eat(&s, "win")) {
			p->has_win = 1;
			if (eat(&s, "*"))
				p->win_any = 1;
			else if (parse_long(&s, &v) < 0 || v < 0 || v > 65535)
				return fail_at(r, "win needs a value 0..65535");
			else
				p->win = (uint32_t)v;
		} else if (eat(&s, "urg")) {
			if (parse_long(&s, &v) < 0)
				return fail_at(r, "urg needs a value");
			p->has_urg = 1;
			p->urg = (uint32_t)v;
		} else {
			break;
		}
	}
	if (parse_opts(r, &s, p) < 0)
		return -1;
	s = skipws(s);
	if (*s)
		return fail_at(r, "trailing text '%s'", s);
	return 0;
}

/* A packet from the stack in script notation, relative to the bases. */
static void fmt_actual(struct run *r, const uint8_t *d, uint32_t len, char *b, size_t n)
{
	struct l3 ip;
	struct tcp_repr t;
	if (parse_l3(d, len, &ip) < 0) {
		snprintf(b, n, "(not a valid IPv4 or IPv6 packet, %u bytes)", len);
		return;
	}
	if (ip.proto != IP_PROTO_TCP) {
		struct icmp4_repr ic;
		struct icmp6_repr ic6;
		struct ip6_addr s6, d6;
		memcpy(s6.b, ip.src.b, 16);
		memcpy(d6.b, ip.dst.b, 16);
		if (!ip.v6 && ip.proto == IP_PROTO_ICMP && icmp4_parse(d + ip.hdr_len, ip.payload_len, &ic, 0) == 0)
			snprintf(b, n, "icmp type %u code %u (%u bytes)", ic.type, ic.code, ip.payload_len);
		else if (ip.v6 && ip.proto == IP6_NH_ICMPV6 &&
			 icmp6_parse(d + ip.hdr_len, ip.payload_len, &s6, &d6, &ic6, 0) == 0)
			snprintf(b, n, "icmp6 type %u code %u (%u bytes)", ic6.type, ic6.code, ip.payload_len);
		else
			snprintf(b, n, "(IP protocol %u, %u bytes)", ip.proto, ip.payload_len);
		return;
	}
	if (tcp_parse_ph(d + ip.hdr_len, ip.payload_len, ip_pseudo(&ip.src, &ip.dst, IP_PROTO_TCP), &t, 1) < 0) {
		snprintf(b, n, "(malformed TCP or bad checksum, %u bytes)", ip.payload_len);
		return;
	}
	struct cconn *c = conn_by_rport(r, t.dport, 0);
	uint32_t lb = c && c->have_lisn ? c->lisn : 0, rb = r->risn;
	char fl[10];
	fmt_flags(fl, t.flags);
	static const char *const ecn_names[] = {"", "[ect1] ", "[ect0] ", "[ce] "};
	int k = snprintf(b, n, "%s%s %u:%u(%zu)", ecn_names[ip.tos & 3], fl, t.seq - lb, (uint32_t)(t.seq - lb + t.payload_len), t.payload_len);
#define ADD(...) do { if (k >= 0 && (size_t)k < n) k += snprintf(b + k, n - (size_t)k, __VA_ARGS__); } while (0)
	if (t.flags & TCP_ACK)
		ADD(" ack %u", t.ack - rb);
	ADD(" win %u", t.win);
	if (t.flags & TCP_URG)
		ADD(" urg %u", t.urg);
	if (t.has_mss || t.has_wscale || t.sack_perm || t.has_ts || t.n_sack || t.fo) {
		const char *sep = "";
		ADD(" <");
		if (t.has_mss)
			{ ADD("%smss %u", sep, t.mss); sep = ","; }
		if (t.sack_perm)
			{ ADD("%ssackOK", sep); sep = ","; }
		if (t.has_ts)
			{ ADD("%sTS val %u ecr %u", sep, t.tsval, t.tsecr); sep = ","; }
		if (t.has_wscale)
			{ ADD("%swscale %u", sep, t.wscale); sep = ","; }
		if (t.n_sack) {
			ADD("%ssack", sep);
			for (int i = 0; i < t.n_sack; i++)
				ADD(" %u:%u", t.sack[i].left - rb, t.sack[i].right - rb);
			sep = ",";
		}
		if (t.fo) {
			ADD("%s%s%s", sep, t.fo == TCP_FO_EXP ? "FOEXP" : "FO", t.fo_len ? " " : "");
			for (int i = 0; i < t.fo_len; i++)
				ADD("%02x", t.fo_cookie[i]);
		}
		ADD(">");
	}
	if (c)
		ADD("  [%u > %u]", t.sport, t.dport);
	if (ip.v6)
		ADD(" (IPv6)");
#undef ADD
}

/* Does the stack's packet d match p? Returns 1, or 0 with why in b. */
static int match_out(struct run *r, const struct spkt *p, const uint8_t *d, uint32_t len, char *why, size_t wn)
{
	struct l3 ip;
	struct tcp_repr t;
	if (parse_tcp(d, len, &ip, &t) < 0) {
		snprintf(why, wn, "not a valid TCP segment");
		return 0;
	}
	struct cconn *c = curc(r);
	struct us_addr la = local_addr(r), ra = remote_addr(r);
	if (t.dport != c->rport || !addr_eq(&ip.dst, &ra) || !addr_eq(&ip.src, &la)) {
		snprintf(why, wn, "wrong addresses or ports (to port %u, the script's connection is port %u)", t.dport,
			 c->rport);
		return 0;
	}
	if (t.flags != p->flags) {
		snprintf(why, wn, "flags differ");
		return 0;
	}
	if (p->ecn && (ip.tos & 3) != p->ecn - 1) {
		snprintf(why, wn, "ECN codepoint differs");
		return 0;
	}
	uint32_t lb = c->have_lisn ? c->lisn : 0;
	if ((uint32_t)(t.seq - lb) != (uint32_t)p->seq) {
		snprintf(why, wn, "sequence number differs");
		return 0;
	}
	if (t.payload_len != p->len) {
		snprintf(why, wn, "length differs");
		return 0;
	}
	if (p->has_ack && !p->ack_any && (uint32_t)(t.ack - r->risn) != (uint32_t)p->ack) {
		snprintf(why, wn, "ack differs");
		return 0;
	}
	if (p->has_win && !p->win_any && t.win != p->win) {
		snprintf(why, wn, "window differs");
		return 0;
	}
	if (p->has_urg && t.urg != p->urg) {
		snprintf(why, wn, "urgent pointer differs");
		return 0;
	}
	if (p->has_opts && !p->opts_any) {
		if (p->has_mss != t.has_mss || (p->has_mss && p->mss != t.mss)) {
			snprintf(why, wn, "MSS option differs");
			return 0;
		}
		if (p->has_ws != t.has_wscale || (p->has_ws && p->ws != t.wscale)) {
			snprintf(why, wn, "window scale option differs");
			return 0;
		}
		if (p->sack_perm != t.sack_perm) {
			snprintf(why, wn, "sackOK option differs");
			return 0;
		}
		if (p->has_ts != t.has_ts || (p->has_ts && ((!p->tsval_any && p->tsval != t.tsval) ||
							     (!p->tsecr_any && p->tsecr != t.tsecr)))) {
			snprintf(why, wn, "timestamp option differs");
			return 0;
		}
		int ok = p->nsack == t.n_sack;
		for (int i = 0; ok && i < p->nsack; i++)
			ok = (uint32_t)(t.sack[i].left - r->risn) == (uint32_t)p->sack[i][0] &&
			     (uint32_t)(t.sack[i].right - r->risn) == (uint32_t)p->sack[i][1];
		if (!ok) {
			snprintf(why, wn, "SACK blocks differ");
			return 0;
		}
		if (p->fo != t.fo || p->fo_len != t.fo_len || memcmp(p->fo_cookie, t.fo_cookie, (size_t)p->fo_len)) {
			snprintf(why, wn, "Fast Open option differs");
			return 0;
		}
	}
	return 1;
}

static int send_frame(struct run *r, const uint8_t *b, size_t n)
{
	struct pkt *p = pkt_alloc(&r->pool, (uint32_t)n, 0);
	if (!p)
		return fail_at(r, "runner pool empty");
	memcpy(pkt_put(p, (uint32_t)n), b, n);
	struct pkt *one[1] = {p};
	link_send(r->peer, one, 1, r->now);
	step(r);
	return 0;
}

static int inject_tcp(struct run *r, const struct spkt *p)
{
	struct cconn *c = curc(r);
	struct tcp_repr t;
	memset(&t, 0, sizeof(t));
	t.sport = c->rport;
	t.dport = c->lport;
	t.seq = r->risn + (uint32_t)p->seq;
	if (p->has_ack) {
		t.ack = c->lisn + (uint32_t)p->ack;   /* before the stack's SYN: base 0 */
	}
	t.flags = p->flags;
	t.win = p->has_win ? (uint16_t)p->win : 65535;
	t.urg = (uint16_t)p->urg;
	if (p->has_opts && !p->opts_any) {
		t.has_mss = (uint8_t)p->has_mss;
		t.mss = (uint16_t)p->mss;
		t.has_wscale = (uint8_t)p->has_ws;
		t.wscale = (uint8_t)p->ws;
		t.sack_perm = (uint8_t)p->sack_perm;
		t.has_ts = (uint8_t)p->has_ts;
		t.tsval = p->tsval;
		if (p->tsecr_any) {
			if (!c->have_ts)
				return fail_at(r, "ecr * but the stack has sent no timestamp yet");
			t.tsecr = c->tsval;
		} else {
			t.tsecr = p->tsecr;
		}
		t.n_sack = (uint8_t)p->nsack;
		for (int i = 0; i < p->nsack; i++) {
			t.sack[i].left = c->lisn + (uint32_t)p->sack[i][0];
			t.sack[i].right = c->lisn + (uint32_t)p->sack[i][1];
		}
		t.fo = (uint8_t)p->fo;
		t.fo_len = (uint8_t)p->fo_len;
		memcpy(t.fo_cookie, p->fo_cookie, (size_t)p->fo_len);
	}
	size_t hl = tcp_hdr_len_for(&t);
	size_t il = r->pkt6 ? IPV6_HDR_LEN : IPV4_HDR_LEN;
	size_t tot = il + hl + p->len;
	if (tot > r->mtu)
		return fail_at(r, "packet of %zu bytes is over the MTU %u", tot, r->mtu);
	uint8_t *b = calloc(1, tot);
	if (!b)
		return fail_at(r, "out of memory");
	uint8_t tos = (uint8_t)(p->ecn ? p->ecn - 1 : 0);
	if (r->pkt6) {
		struct ipv6_repr ip = {.src = r->rip6, .dst = r->lip6, .tclass = tos, .next_hdr = IP_PROTO_TCP,
				       .hop_limit = 64, .payload_len = (uint16_t)(hl + p->len)};
		ipv6_emit(&ip, b);
	} else {
		struct ipv4_repr ip = {.src = r->rip, .dst = r->lip, .proto = IP_PROTO_TCP, .ttl = 64, .df = 1,
				       .tos = tos, .payload_len = (uint16_t)(hl + p->len)};
		ipv4_emit(&ip, b);
	}
	for (uint32_t i = 0; i < p->len; i++)
		b[il + hl + i] = (uint8_t)('a' + (i % 26));
	struct us_addr la = local_addr(r), ra = remote_addr(r);
	tcp_emit_ph(&t, ip_pseudo(&ra, &la, IP_PROTO_TCP), b + il, p->len);
	int rc = send_frame(r, b, tot);
	free(b);
	return rc;
}

/* < icmp unreachable frag_needed mtu 1000 [seq] : an ICMP error from the
 * remote side quoting a segment of the stack's (seq relative to its ISN). */
static int inject_icmp(struct run *r, const char *s)
{
	static const struct {
		const char *name;
		uint8_t type;
	} types[] = {{"unreachable", ICMP_DEST_UNREACH}, {"time_exceeded", ICMP_TIME_EXCEEDED},
		     {"source_quench", ICMP_SOURCE_QUENCH}};
	static const struct {
		const char *name;
		uint8_t code;
	} codes[] = {{"net_unreach", 0}, {"host_unreach", 1}, {"proto_unreach", 2}, {"port_unreach", 3},
		     {"frag_needed", 4}, {"ttl", 0}};
	int type = -1, code = 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (eat(&s, types[i].name))
			type = types[i].type;
	if (type < 0)
		return fail_at(r, "icmp type: unreachable, time_exceeded or source_quench");
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (eat(&s, codes[i].name))
			code = codes[i].code;
	long mtu = 0, seq = 0;
	if (eat(&s, "mtu") && parse_long(&s, &mtu) < 0)
		return fail_at(r, "mtu needs a value");
	s = skipws(s);
	if (*s != '[' || (s++, parse_long(&s, &seq) < 0) || *skipws(s) != ']')
		return fail_at(r, "icmp needs a quoted sequence number: [seq]");
	struct cconn *c = curc(r);
	uint8_t b[IPV4_HDR_LEN + ICMP4_HDR_LEN + IPV4_HDR_LEN + 8];
	memset(b, 0, sizeof(b));
	struct ipv4_repr ip = {.src = r->rip, .dst = r->lip, .proto = IP_PROTO_ICMP, .ttl = 64,
			       .payload_len = ICMP4_HDR_LEN + IPV4_HDR_LEN + 8};
	ipv4_emit(&ip, b);
	uint8_t *q = b + IPV4_HDR_LEN + ICMP4_HDR_LEN;
	struct ipv4_repr qip = {.src = r->lip, .dst = r->rip, .proto = IP_PROTO_TCP, .ttl = 64, .df = 1,
				.payload_len = (uint16_t)(r->mtu - IPV4_HDR_LEN)};
	ipv4_emit(&qip, q);
	wr_be16(q + 20, c->lport);
	wr_be16(q + 22, c->rport);
	wr_be32(q + 24, c->lisn + (uint32_t)seq);
	struct icmp4_repr ic = {.type = (uint8_t)type, .code = (uint8_t)code, .rest = (uint32_t)mtu & 0xFFFF,
				.payload = q, .payload_len = IPV4_HDR_LEN + 8};
	icmp4_emit(&ic, b + IPV4_HDR_LEN);
	return send_frame(r, b, sizeof(b));
}

/* < icmp6 TYPE CODE [mtu N] [seq] : an ICMPv6 error from the peer's
 * address quoting the stack's IPv6 header toward the peer and the first 8
 * TCP bytes of the current connection. TYPE and CODE are numbers or
 * names (unreachable, packet_too_big, time_exceeded, param_problem;
 * no_route, admin, addr_unreach, port_unreach). */
static int inject_icmp6(struct run *r, const char *s)
{
	static const struct {
		const char *name;
		uint8_t v;
	} types[] = {{"unreachable", ICMP6_DEST_UNREACH}, {"packet_too_big", ICMP6_PKT_TOO_BIG},
		     {"time_exceeded", ICMP6_TIME_EXCEEDED}, {"param_problem", ICMP6_PARAM_PROB}},
	  codes[] = {{"no_route", ICMP6_DU_NOROUTE}, {"admin", ICMP6_DU_ADMIN}, {"addr_unreach", ICMP6_DU_ADDR},
		     {"port_unreach", ICMP6_DU_PORT}};
	long type = -1, code = -1, mtu = 0, seq = 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]) && type < 0; i++)
		if (eat(&s, types[i].name))
			type = types[i].v;
	if (type < 0 && (parse_long(&s, &type) < 0 || type < 0 || type > 127))
		return fail_at(r, "icmp6 type: a number below 128, unreachable, packet_too_big, time_exceeded or "
				  "param_problem");
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]) && code < 0; i++)
		if (eat(&s, codes[i].name))
			code = codes[i].v;
	if (code < 0 && (parse_long(&s, &code) < 0 || code < 0 || code > 255))
		return fail_at(r, "icmp6 code: a number, no_route, admin, addr_unreach or port_unreach");
	if (eat(&s, "mtu") && (parse_long(&s, &mtu) < 0 || mtu < 0))
		return fail_at(r, "mtu needs a value");
	s = skipws(s);
	if (*s != '[' || (s++, parse_long(&s, &seq) < 0) || *skipws(s) != ']')
		return fail_at(r, "icmp6 needs a quoted sequence number: [seq]");
	if (!r->pkt6)
		return fail_at(r, "icmp6 needs IPv6 packets: set family 6");
	struct cconn *c = curc(r);
	enum { QLEN = IPV6_HDR_LEN + 8 };
	uint8_t b[IPV6_HDR_LEN + ICMP6_HDR_LEN + QLEN];
	memset(b, 0, sizeof(b));
	struct ipv6_repr ip = {.src = r->rip6, .dst = r->lip6, .next_hdr = IP6_NH_ICMPV6, .hop_limit = 64,
			       .payload_len = ICMP6_HDR_LEN + QLEN};
	ipv6_emit(&ip, b);
	uint8_t *q = b + IPV6_HDR_LEN + ICMP6_HDR_LEN;
	struct ipv6_repr qip = {.src = r->lip6, .dst = r->rip6, .next_hdr = IP_PROTO_TCP, .hop_limit = 64,
				.payload_len = (uint16_t)(r->mtu - IPV6_HDR_LEN)};
	ipv6_emit(&qip, q);
	wr_be16(q + IPV6_HDR_LEN, c->lport);
	wr_be16(q + IPV6_HDR_LEN + 2, c->rport);
	wr_be32(q + IPV6_HDR_LEN + 4, c->lisn + (uint32_t)seq);
	struct icmp6_repr ic = {.type = (uint8_t)type, .code = (uint8_t)code, .rest = (uint32_t)mtu,
				.payload = q, .payload_len = QLEN};
	icmp6_emit(&ic, &r->rip6, &r->lip6, b + IPV6_HDR_LEN);
	return send_frame(r, b, sizeof(b));
}

/* The peer's address for connect and sendto: its IPv4 address, mapped
 * into IPv6 for an AF_INET6 socket, or its IPv6 one. */
static socklen_t peer_sockaddr(const struct run *r, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (!r->sock6) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(r->rip);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	struct ip6_addr x = r->pkt6 ? r->rip6 : ip6_v4mapped(r->rip);
	memcpy(&a->sin6_addr, x.b, 16);
	return sizeof(*a);
}

/* The port a socket is bound to, or 0. */
static uint16_t sock_port(struct us_stack *st, int fd)
{
	struct sockaddr_storage l;
	socklen_t ll = sizeof(l);
	if (us_getsockname(st, fd, (struct sockaddr *)&l, &ll) < 0)
		return 0;
	return ntohs(l.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&l)->sin6_port
					     : ((struct sockaddr_in *)&l)->sin_port);
}

/* ---- socket calls -------------------------------------------------------- */

static int split_args(char *s, char **args, int max)
{
	int n = 0, depth = 0;
	char *start = s;
	for (char *p = s;; p++) {
		if (*p == '[' || *p == '{' || *p == '(')
			depth++;
		else if (*p == ']' || *p == '}' || *p == ')')
			depth--;
		if ((*p == ',' && depth == 0) || !*p) {
			int last = !*p;
			*p = 0;
			if (n < max)
				args[n++] = (char *)skipws(start);
			start = p + 1;
			if (last)
				break;
		}
	}
	for (int i = 0; i < n; i++) {
		size_t l = strlen(args[i]);
		while (l && isspace((unsigned char)args[i][l - 1]))
			args[i][--l] = 0;
	}
	return n;
}

static int real_fd(struct run *r, const char *a, int *fd)
{
	char *end;
	long v = strtol(a, &end, 10);
	if (end == a || v < 0 || v >= MAX_FDS)
		return fail_at(r, "bad fd '%s'", a);
	*fd = r->fdmap[v] >= 0 ? r->fdmap[v] : 100000 + (int)v;   /* unknown: an fd the stack lacks */
	return 0;
}

static const struct {
	const char *name;
	int level, opt;
} sockopts[] = {
	{"SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR}, {"SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE},
	{"SO_RCVBUF", SOL_SOCKET, SO_RCVBUF},       {"SO_SNDBUF", SOL_SOCKET, SO_SNDBUF},
	{"SO_ERROR", SOL_SOCKET, SO_ERROR},         {"SO_LINGER", SOL_SOCKET, SO_LINGER},
	{"TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY},  {"TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG},
	{"TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE}, {"TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL},
	{"TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT},  {"TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT},
	{"TCP_CORK", IPPROTO_TCP, TCP_CORK},        {"TCP_FASTOPEN", IPPROTO_TCP, TCP_FASTOPEN},
	{"TCP_FASTOPEN_CONNECT", IPPROTO_TCP, TCP_FASTOPEN_CONNECT}, {"TCP_SYNCNT", IPPROTO_TCP, TCP_SYNCNT},
	{"TCP_NOTSENT_LOWAT", IPPROTO_TCP, TCP_NOTSENT_LOWAT},
	{"US_TCP_WRITE_PENDING", IPPROTO_TCP, US_TCP_WRITE_PENDING},
};

/* "[1]", "[ECONNRESET]", "[{onoff=1, linger=0}]" */
static int parse_optval(struct run *r, const char *a, int *v, struct linger *lg)
{
	const char *s = skipws(a);
	if (*s != '[')
		return fail_at(r, "option value in [ ]: '%s'", a);
	s = skipws(s + 1);
	if (*s == '{') {
		const char *on = strstr(s, "onoff="), *li = strstr(s, "linger=");
		if (!on || !li)
			return fail_at(r, "linger value: [{onoff=N, linger=N}]");
		lg->l_onoff = atoi(on + 6);
		lg->l_linger = atoi(li + 7);
		return 1;
	}
	long x;
	if (isupper((unsigned char)*s))
		return errno_by_name(s, v) < 0 ? fail_at(r, "unknown errno '%s'", s) : 0;
	if (parse_long(&s, &x) < 0)
		return fail_at(r, "bad option value '%s'", a);
	*v = (int)x;
	return 0;
}

static int poll_bits(const char *s)
{
	int v = 0;
	if (strstr(s, "POLLIN"))
		v |= US_POLLIN;
	if (strstr(s, "POLLOUT"))
		v |= US_POLLOUT;
	if (strstr(s, "POLLERR"))
		v |= US_POLLERR;
	if (strstr(s, "POLLHUP"))
		v |= US_POLLHUP;
	if (strstr(s, "POLLRDHUP"))
		v |= US_POLLRDHUP;
	return v;
}

static const char *state_names[] = {"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1",
				    "FIN_WAIT2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"};

struct find_ctx {
	uint16_t lport, rport;
	int state;
};

static void find_conn(const struct us_tcp_info *i, void *arg)
{
	struct find_ctx *f = arg;
	if (i->lport == f->lport && i->rport == f->rport && i->state != US_TCP_LISTEN)
		f->state = i->state;
}

static int do_call(struct run *r, char *s)
{
	char *open = strchr(s, '('), *eq = strrchr(s, '=');
	char *close = eq ? eq : s + strlen(s);
	while (close > s && *close != ')')
		close--;
	if (!open || !eq || close <= open)
		return fail_at(r, "expected name(args) = result");
	*open = 0;
	*close = 0;
	char name[32];
	snprintf(name, sizeof(name), "%s", skipws(s));
	for (size_t i = strlen(name); i && isspace((unsigned char)name[i - 1]); i--)
		name[i - 1] = 0;
	char *args[MAX_ARGS];
	int na = split_args(open + 1, args, MAX_ARGS);
	/* expected result: N | -1 ERRNO | state name */
	const char *e = skipws(eq + 1);
	long want = 0;
	int want_err = 0, want_state = -1;
	if (isupper((unsigned char)*e)) {
		for (int i = 0; i < (int)(sizeof(state_names) / sizeof(state_names[0])); i++)
			if (!strncmp(e, state_names[i], strlen(state_names[i])))
				want_state = i;
		if (!strncmp(e, "NONE", 4))
			want_state = 100;
		if (want_state < 0)
			return fail_at(r, "unknown result '%s'", e);
	} else {
		if (parse_long(&e, &want) < 0)
			return fail_at(r, "expected a number after =");
		e = skipws(e);
		if (want == -1) {
			if (errno_by_name(e, &want_err) < 0)
				return fail_at(r, "-1 needs an errno name");
		}
	}
	struct us_stack *st = r->st;
	struct cconn *c = curc(r);
	long got;
	int fd = -1;
	if (na >= 1 && strcmp(name, "socket") && strcmp(name, "tcp_state") && strcmp(name, "poll"))
		if (real_fd(r, args[0], &fd) < 0)
			return -1;
	if (!strcmp(name, "socket")) {
		got = us_socket(st, r->sock6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		if (got >= 0 && want >= 0 && want < MAX_FDS) {
			r->fdmap[want] = (int)got;
			got = want;
		}
	} else if (!strcmp(name, "bind")) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(r->listen_port)};
		struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(r->listen_port)};
		if (r->sock6)
			got = us_bind(st, fd, (struct sockaddr *)&a6, sizeof(a6));
		else
			got = us_bind(st, fd, (struct sockaddr *)&a, sizeof(a));
	} else if (!strcmp(name, "listen")) {
		got = us_listen(st, fd, na >= 2 ? atoi(args[1]) : 16);
	} else if (!strcmp(name, "accept")) {
		struct sockaddr_storage a;
		socklen_t al = sizeof(a);
		got = us_accept(st, fd, (struct sockaddr *)&a, &al);
		if (got >= 0 && want >= 0 && want < MAX_FDS) {
			r->fdmap[want] = (int)got;
			got = want;
		}
	} else if (!strcmp(name, "connect")) {
		struct sockaddr_storage a;
		socklen_t alen = peer_sockaddr(r, c->rport, &a);
		got = us_connect(st, fd, (struct sockaddr *)&a, alen);
		uint16_t lp = sock_port(st, fd);
		if (lp)
			c->lport = lp;
	} else if (!strcmp(name, "sendto")) {
		/* sendto(fd, ..., N, MSG_FASTOPEN): to the peer, connecting */
		long n = na >= 3 ? atol(args[2]) : 0;
		if (n < 0 || n > 16 * 1024 * 1024)
			return fail_at(r, "bad length");
		uint8_t *buf = malloc((size_t)n + 1);
		if (!buf)
			return fail_at(r, "out of memory");
		for (long i = 0; i < n; i++)
			buf[i] = (uint8_t)('A' + (i % 26));
		struct sockaddr_storage a;
		socklen_t alen = peer_sockaddr(r, c->rport, &a);
		int flags = na >= 4 && strstr(args[3], "MSG_FASTOPEN") ? MSG_FASTOPEN : 0;
		got = us_sendto(st, fd, buf, (size_t)n, flags, (struct sockaddr *)&a, alen);
		free(buf);
		uint16_t lp = sock_port(st, fd);
		if (lp)
			c->lport = lp;
	} else if (!strcmp(name, "write") || !strcmp(name, "send")) {
		long n = na >= 3 ? atol(args[2]) : 0;
		if (n < 0 || n > 16 * 1024 * 1024)
			return fail_at(r, "bad length");
		uint8_t *buf = malloc((size_t)n + 1);
		if (!buf)
			return fail_at(r, "out of memory");
		for (long i = 0; i < n; i++)
			buf[i] = (uint8_t)('A' + (i % 26));
		int flags = 0;
		if (na >= 4 && strstr(args[3], "MSG_MORE"))
			flags |= MSG_MORE;
		if (na >= 4 && strstr(args[3], "MSG_EOR"))
			flags |= MSG_EOR;
		got = us_send(st, fd, buf, (size_t)n, flags);
		free(buf);
	} else if (!strcmp(name, "read") || !strcmp(name, "recv")) {
		long n = na >= 3 ? atol(args[2]) : 0;
		if (n < 0 || n > 16 * 1024 * 1024)
			return fail_at(r, "bad length");
		uint8_t *buf = malloc((size_t)n + 1);
		if (!buf)
			return fail_at(r, "out of memory");
		got = us_recv(st, fd, buf, (size_t)n, 0);
		free(buf);
	} else if (!strcmp(name, "close")) {
		got = us_close(st, fd);
	} else if (!strcmp(name, "shutdown")) {
		int how = na >= 2 && strstr(args[1], "SHUT_RDWR") ? SHUT_RDWR
			  : na >= 2 && strstr(args[1], "SHUT_RD") ? SHUT_RD : SHUT_WR;
		got = us_shutdown(st, fd, how);
	} else if (!strcmp(name, "fcntl")) {
		got = 0;   /* ustack sockets never block: O_NONBLOCK is always on */
	} else if (!strcmp(name, "setsockopt") || !strcmp(name, "getsockopt")) {
		if (na < 4)
			return fail_at(r, "%s(fd, level, name, [value], len)", name);
		int level = -1, opt = -1;
		for (size_t i = 0; i < sizeof(sockopts) / sizeof(sockopts[0]); i++)
			if (!strcmp(args[2], sockopts[i].name))
				level = sockopts[i].level, opt = sockopts[i].opt;
		if (opt < 0)
			return fail_at(r, "unknown option %s", args[2]);
		int v = 0;
		struct linger lg = {0, 0};
		int kind = parse_optval(r, args[3], &v, &lg);
		if (kind < 0)
			return -1;
		if (name[0] == 's') {
			got = kind ? us_setsockopt(st, fd, level, opt, &lg, sizeof(lg))
				   : us_setsockopt(st, fd, level, opt, &v, sizeof(v));
		} else {
			int gv = 0;
			struct linger glg = {0, 0};
			socklen_t gl = kind ? sizeof(glg) : sizeof(gv);
			got = us_getsockopt(st, fd, level, opt, kind ? (void *)&glg : (void *)&gv, &gl);
			if (got == 0 && !kind && gv != v)
				return fail_at(r, "getsockopt %s gave %d (%s), the script expects %d (%s)", args[2], gv,
					       errno_name(gv), v, errno_name(v));
			if (got == 0 && kind && (glg.l_onoff != lg.l_onoff || glg.l_linger != lg.l_linger))
				return fail_at(r, "getsockopt SO_LINGER differs");
		}
	} else if (!strcmp(name, "poll")) {
		const char *a0 = na >= 1 ? args[0] : "";
		const char *pf = strstr(a0, "fd="), *pe = strstr(a0, "events="), *pr = strstr(a0, "revents=");
		if (!pf || !pe || !pr)
			return fail_at(r, "poll([{fd=N, events=..., revents=...}], 1, 0)");
		if (real_fd(r, pf + 3, &fd) < 0)
			return -1;
		char evs[128], revs[128];
		snprintf(evs, sizeof(evs), "%.*s", (int)(pr - pe), pe + 7);
		snprintf(revs, sizeof(revs), "%s", pr + 8);
		struct us_pollfd pfd = {.fd = fd, .events = (short)poll_bits(evs)};
		got = us_poll(st, &pfd, 1);
		int wantrev = poll_bits(revs);
		if (pfd.revents != wantrev)
			return fail_at(r, "poll revents 0x%x, the script expects 0x%x", (unsigned)pfd.revents,
				       (unsigned)wantrev);
	} else if (!strcmp(name, "tcp_state")) {
		/* tcp_state() = STATE: the script's current connection (orphans too). */
		struct find_ctx f = {c->lport, c->rport, 100};
		us_tcp_foreach(st, find_conn, &f);
		step(r);
		if (f.state != want_state)
			return fail_at(r, "connection %u<->%u is %s, the script expects %s", c->lport, c->rport,
				       f.state == 100 ? "NONE" : state_names[f.state],
				       want_state == 100 ? "NONE" : state_names[want_state]);
		return 0;
	} else {
		return fail_at(r, "unknown call '%s'", name);
	}
	step(r);   /* what the call queued goes out at this instant */
	if (want_state >= 0)
		return fail_at(r, "a state result is only for tcp_state()");
	if (want == -1 ? got != -want_err : got != want) {
		if (got < 0)
			return fail_at(r, "%s returned -1 %s, the script expects %ld%s%s", name, errno_name((int)-got), want,
				       want_err ? " " : "", want_err ? errno_name(want_err) : "");
		return fail_at(r, "%s returned %ld, the script expects %ld%s%s", name, got, want, want_err ? " " : "",
			       want_err ? errno_name(want_err) : "");
	}
	return 0;
}

/* ---- the script ---------------------------------------------------------- */

struct when {
	uint64_t t, lo, hi;   /* ns since start: nominal and the window */
	int any;
};

static int parse_num_time(const char **s, uint64_t base, uint64_t *out)
{
	const char *p = skipws(*s);
	int rel = 0;
	if (*p == '+')
		rel = 1, p++;
	char *end;
	double v = strtod(p, &end);
	if (end == p || v < 0 || v > 1e8)
		return -1;
	*out = (rel ? base : 0) + (uint64_t)(v * 1e9 + 0.5);
	*s = end;
	return 0;
}

static int parse_when(struct run *r, const char **s, struct when *w)
{
	memset(w, 0, sizeof(*w));
	const char *p = skipws(*s);
	if (*p == '*') {
		w->any = 1;
		w->t = w->lo = r->prev;
		w->hi = r->prev + WAIT_ANY_NS;
		*s = p + 1;
		return 0;
	}
	if (parse_num_time(&p, r->prev, &w->t) < 0)
		return fail_at(r, "a line starts with its time: 0, +0.1, 0.250, +0.2~+0.25 or *");
	if (*p == '~') {
		p++;
		w->lo = w->t;
		if (parse_num_time(&p, r->prev, &w->hi) < 0 || w->hi < w->lo)
			return fail_at(r, "bad time range");
	} else {
		w->lo = w->t > r->tol ? w->t - r->tol : 0;
		w->hi = w->t + r->tol;
	}
	if (w->lo < r->prev && !(w->t >= r->prev))
		return fail_at(r, "time goes backwards");
	*s = p;
	return 0;
}

static int expect_out(struct run *r, const struct when *w, const char *rest, int optional)
{
	struct spkt p;
	if (parse_pkt(r, rest, &p) < 0)
		return -1;
	if (!r->qn)
		advance(r, w->hi, 1);
	char tb[32], tw[32], th[32], act[512], why[128];
	fmt_time(tw, sizeof(tw), w->lo);
	fmt_time(th, sizeof(th), w->hi);
	if (!r->qn) {
		if (optional) {
			r->prev = w->t;
			return 0;
		}
		return fail_at(r, "expected packet not sent: nothing from the stack in [%s, %s] s", tw, th);
	}
	struct outpkt *o = &r->q[0];
	fmt_time(tb, sizeof(tb), o->t);
	fmt_actual(r, o->data, o->len, act, sizeof(act));
	if (!match_out(r, &p, o->data, o->len, why, sizeof(why))) {
		if (optional) {
			r->prev = w->t;
			return 0;
		}
		return fail_at(r, "%s\n  expected: > %s\n  actual:   > %s  at %s s", why, skipws(rest), act, tb);
	}
	if (o->t < w->lo && !w->any)
		return fail_at(r, "packet sent too early, at %s s, window [%s, %s] s\n  actual:   > %s", tb, tw, th, act);
	if (o->t > w->hi && !w->any)
		return fail_at(r, "packet sent too late, at %s s, window [%s, %s] s\n  actual:   > %s", tb, tw, th, act);
	r->prev = o->t;
	q_pop(r);
	return 0;
}

static int unexpected(struct run *r, const char *when)
{
	char tb[32], act[512];
	const char *tr = getenv("USTACK_CONFORM_TRACE");
	if (tr && !strcmp(tr, "all")) {
		/* tracing a draft script: what the stack sent is shown as it
		 * leaves; nothing is expected */
		while (r->qn)
			q_pop(r);
		return 0;
	}
	fmt_time(tb, sizeof(tb), r->q[0].t);
	fmt_actual(r, r->q[0].data, r->q[0].len, act, sizeof(act));
	return fail_at(r, "unexpected packet from the stack %s, at %s s:\n  actual:   > %s", when, tb, act);
}

static int set_directive(struct run *r, const char *s)
{
	char key[48];
	long v;
	const char *p = skipws(s);
	int n = 0;
	while (*p && !isspace((unsigned char)*p) && n < (int)sizeof(key) - 1)
		key[n++] = *p++;
	key[n] = 0;
	if (!strcmp(key, "tcp_fastopen_key")) {
		/* 32 hex digits: the key's 16 bytes in order */
		const char *h = skipws(p);
		for (int i = 0; i < 16; i++) {
			if (!isxdigit((unsigned char)h[2 * i]) || !isxdigit((unsigned char)h[2 * i + 1]))
				return fail_at(r, "set tcp_fastopen_key HEX32");
			char b[3] = {h[2 * i], h[2 * i + 1], 0};
			r->cfg.tcp_fastopen_key[i] = (uint8_t)strtoul(b, NULL, 16);
		}
		if (r->st)
			return fail_at(r, "set %s must come before the first timed line", key);
		r->cfg.tcp_fastopen_key_set = 1;
		return 0;
	}
	if (!strcmp(key, "tolerance")) {
		char *end;
		double d = strtod(p, &end);
		if (end == p || d < 0 || d > 10)
			return fail_at(r, "set tolerance SECONDS");
		r->tol = (uint64_t)(d * 1e9 + 0.5);
		return 0;
	}
	if (!strcmp(key, "family") || !strcmp(key, "peer_family")) {
		/* family 6: AF_INET6 sockets, IPv6 packets, the stack also owns
		 * fd00::1/64 and the peer is fd00::2; before the first timed
		 * line. peer_family 4|6, anywhere after it: the family of the
		 * packets of later lines (the peer 192.168.0.2 or fd00::2), the
		 * sockets staying AF_INET6 (IPv4-mapped addresses). */
		if (parse_long(&p, &v) < 0 || (v != 4 && v != 6))
			return fail_at(r, "set %s 4|6", key);
		if (key[0] == 'f') {
			if (r->st)
				return fail_at(r, "set family must come before the first timed line");
			r->sock6 = r->pkt6 = v == 6;
		} else {
			if (!r->sock6)
				return fail_at(r, "set peer_family needs set family 6");
			r->pkt6 = v == 6;
		}
		return 0;
	}
	if (!strcmp(key, "remote_ip") || !strcmp(key, "gateway")) {
		/* Addresses: the peer's (off the stack's 192.168.0.0/24, it is
		 * reachable only through a gateway), or a default route. */
		char ip[32];
		int k = 0;
		p = skipws(p);
		while (*p && !isspace((unsigned char)*p) && k < (int)sizeof(ip) - 1)
			ip[k++] = *p++;
		ip[k] = 0;
		struct in_addr a;
		if (inet_pton(AF_INET, ip, &a) != 1)
			return fail_at(r, "set %s A.B.C.D", key);
		if (r->st)
			return fail_at(r, "set %s must come before the first timed line", key);
		if (key[0] == 'r')
			r->rip = ntohl(a.s_addr);
		else
			r->gateway = ntohl(a.s_addr);
		return 0;
	}
	if (!strcmp(key, "tcp_cc")) {
		/* a congestion control by name: cubic, reno, bbr */
		static const char *const names[] = {"cubic", "reno", "bbr"};
		p = skipws(p);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strncmp(p, names[i], strlen(names[i]))) {
				if (r->st)
					return fail_at(r, "set tcp_cc must come before the first timed line");
				r->cfg.tcp_cc = names[i];
				return 0;
			}
		return fail_at(r, "set tcp_cc cubic|reno|bbr");
	}
	if (parse_long(&p, &v) < 0)
		return fail_at(r, "set KEY VALUE");
	if (!strcmp(key, "remote_port")) {
		struct cconn *c = conn_by_rport(r, (uint16_t)v, 1);
		if (!c)
			return fail_at(r, "too many connections");
		r->cur = (int)(c - r->conns);
		return 0;
	}
	if (r->st)
		return fail_at(r, "set %s must come before the first timed line", key);
#define K(name) else if (!strcmp(key, #name)) r->cfg.name = (uint32_t)v
	if (!strcmp(key, "mtu"))
		r->mtu = (uint32_t)v;
	else if (!strcmp(key, "remote_isn"))
		r->risn = (uint32_t)v;
	else if (!strcmp(key, "tcp_syncookies"))
		r->cfg.tcp_syncookies = (int)v;
	else if (!strcmp(key, "tcp_cc_reno"))
		r->cfg.tcp_cc_reno = (int)v;
	else if (!strcmp(key, "tcp_tlp"))
		r->cfg.tcp_tlp = (int)v;
	else if (!strcmp(key, "tcp_timestamps"))
		r->cfg.tcp_timestamps = (int)v;
	else if (!strcmp(key, "tcp_sack"))
		r->cfg.tcp_sack = (int)v;
	else if (!strcmp(key, "tcp_window_scaling"))
		r->cfg.tcp_window_scaling = (int)v;
	else if (!strcmp(key, "tcp_fastopen"))
		r->cfg.tcp_fastopen = (int)v;
	else if (!strcmp(key, "tcp_pacing"))
		r->cfg.tcp_pacing = (int)v;
	else if (!strcmp(key, "tcp_ecn"))
		r->cfg.tcp_ecn = (int)v;
	K(tcp_max_syn_backlog);
	K(tcp_rmem);
	K(tcp_wmem);
	K(tcp_rmem_max);
	K(tcp_timewait_ms);
	K(tcp_fin_timeout_ms);
	K(tcp_syn_retries);
	K(tcp_synack_retries);
	K(tcp_retries2);
	K(tcp_min_rto_ms);
	K(tcp_max_rto_ms);
	K(tcp_init_rto_ms);
	K(tcp_challenge_ack_limit);
	K(tcp_max_conns);
	else return fail_at(r, "unknown setting '%s'", key);
#undef K
	return 0;
}

static int run_line(struct run *r, char *s)
{
	if (getenv("USTACK_CONFORM_TRACE"))
		printf("  line %d: %s\n", r->lineno, s);
	const char *p = skipws(s);
	if (r->q_overflow)
		return fail_at(r, "the stack sent more than %d packets the script did not consume", MAX_Q);
	if (eat(&p, "set"))
		return set_directive(r, p);
	struct when w;
	if (parse_when(r, &p, &w) < 0)
		return -1;
	if (start_stack(r) < 0)
		return -1;
	p = skipws(p);
	if (p[0] == '>' || (p[0] == '?' && p[1] == '>'))
		return expect_out(r, &w, p + (p[0] == '?' ? 2 : 1), p[0] == '?');
	/* Anything else happens at its time; the stack must send nothing
	 * the script did not expect before then. */
	if (r->qn && unexpected(r, "before this line") < 0)
		return -1;
	if (eat(&p, "ignore")) {
		advance(r, w.t, 0);
		r->ignored += (uint64_t)r->qn;
		for (; r->qn;)
			q_pop(r);
		r->prev = w.t;
		return 0;
	}
	advance(r, w.t, 1);
	while (r->qn) {
		/* (tracing with =all: shown and dropped, then on to the time) */
		if (unexpected(r, "before this line's time") < 0)
			return -1;
		advance(r, w.t, 1);
	}
	r->prev = w.t;
	if (*p == '<') {
		p++;
		if (eat(&p, "icmp6"))
			return inject_icmp6(r, p);
		if (eat(&p, "icmp"))
			return inject_icmp(r, p);
		struct spkt pk;
		if (parse_pkt(r, p, &pk) < 0)
			return -1;
		return inject_tcp(r, &pk);
	}
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", p);
	return do_call(r, buf);
}

static void strip_comment(char *s)
{
	char *c = strstr(s, "//");
	if (c)
		*c = 0;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
}

/* Runs one script; returns 0 or -1 with r->err set. */
static int run_script(struct run *r, const char *path, struct us_stats *acc)
{
	memset(r, 0, sizeof(*r));
	r->acc = acc;
	r->path = path;
	r->mtu = 1500;
	r->tol = DEFAULT_TOL_NS;
	r->risn = DEFAULT_REMOTE_ISN;
	r->listen_port = DEFAULT_LISTEN_PORT;
	r->lip = ntohl(inet_addr(LOCAL_IP));
	r->rip = ntohl(inet_addr(REMOTE_IP));
	inet_pton(AF_INET6, LOCAL_IP6, r->lip6.b);
	inet_pton(AF_INET6, REMOTE_IP6, r->rip6.b);
	for (int i = 0; i < MAX_FDS; i++)
		r->fdmap[i] = -1;
	conn_by_rport(r, DEFAULT_REMOTE_PORT, 1);
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(r->err, sizeof(r->err), "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	char line[1024], copy[1024];
	int rc = 0, events = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		r->lineno++;
		line[strcspn(line, "\n")] = 0;
		snprintf(copy, sizeof(copy), "%s", line);
		r->line = copy;
		strip_comment(line);
		const char *p = skipws(line);
		if (!*p || *p == '#')
			continue;
		/* multi-line block comments */
		if (!strncmp(p, "/*", 2)) {
			while (!strstr(line, "*/") && fgets(line, sizeof(line), f))
				r->lineno++;
			continue;
		}
		events++;
		rc = run_line(r, line);
	}
	fclose(f);
	if (rc == 0 && !events)
		rc = fail_at(r, "empty script");
	if (rc == 0 && r->st) {
		/* The end: nothing the script did not expect may be left. */
		r->line = "(end of script)";
		advance(r, r->prev + r->tol, 1);
		if (r->qn)
			rc = unexpected(r, "after the last line");
	}
	stop_stack(r);
	return rc;
}

int conform_run(const char *path, char *err, size_t errlen, struct us_stats *acc)
{
	struct run *r = malloc(sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	int rc = run_script(r, path, acc);
	if (rc < 0)
		snprintf(err, errlen, "%s", r->err);
	free(r);
	return rc;
}

char *conform_dir(const char *argv0)
{
	const char *env = getenv("USTACK_CONFORM_DIR");
	if (env)
		return strdup(env);
	DIR *d = opendir("tests/conform");
	if (d) {
		closedir(d);
		return strdup("tests/conform");
	}
	/* build/tests/sim/test_conform -> <repo>/tests/conform */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(exe, sizeof(exe), "%s", argv0);
		n = (ssize_t)strlen(exe);
	}
	exe[n] = 0;
	for (int up = 0; up < 4; up++) {
		char *sl = strrchr(exe, '/');
		if (!sl)
			break;
		*sl = 0;
	}
	size_t need = strlen(exe) + 32;
	char *dir = malloc(need);
	if (dir)
		snprintf(dir, need, "%s/tests/conform", exe);
	return dir;
}
