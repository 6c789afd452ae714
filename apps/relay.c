/* ustack relay: tun2socks. Every TCP connection and UDP flow routed into a
 * TUN device is terminated by ustack (transparent sockets) and carried on
 * through a SOCKS5 proxy (CONNECT, UDP ASSOCIATE; RFC 1928/1929) or
 * straight out through kernel sockets (--direct). One epoll loop over the
 * TUN device and every kernel socket; nothing blocks.
 *
 * Semantics kept end to end: the client's SYN is answered only once the
 * upstream connection exists (a refused or unreachable destination becomes
 * a RST: "connection refused"); half close is carried both ways; each
 * direction moves through a bounded buffer, so a slow reader on either side
 * stops the reading on the other (ustack's window or the kernel socket's
 * buffer fills): memory stays bounded. UDP is mapped endpoint-independently
 * (one upstream socket or association per client address:port; replies
 * from any remote come back with that remote as the source). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/errqueue.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "app.h"
#include "socks5.h"

#define RBUF_SIZE (32u << 10)          /* per direction, per TCP flow */
#define CONNECT_TIMEOUT_NS (10ull * 1000000000ull)
#define UDP_QUEUE_MAX 8                /* datagrams held while an association opens */
#define MAX_TCP_FLOWS 8192
#define MAX_UDP_MAPS 4096
#define MAX_PING_MAPS 256
#define NS 1000000000ull

/* ---- counters ---- */
#define RELAY_COUNTERS(X) \
	X(TcpAccepted) X(TcpOpened) X(TcpRefused) X(TcpUpstreamFailed) X(TcpSocksFailed) X(TcpConnectTimeouts) \
	X(TcpIdleTimeouts) X(TcpClientResets) X(TcpUpstreamResets) X(TcpClosed) X(TcpNoMemory) X(TcpBytesUp) \
	X(TcpBytesDown) X(UdpMappings) X(UdpExpired) X(UdpDatagramsUp) X(UdpDatagramsDown) X(UdpBytesUp) \
	X(UdpBytesDown) X(UdpDrops) X(UdpUnreachSent) X(UdpMapLimit) X(DnsAnswers) X(DnsMalformed) \
	X(IcmpEchoForwarded) X(IcmpEchoReplies) X(IcmpEchoLocal) X(IcmpEchoFailed)
#define RC_FIELD(n) uint64_t n;
struct relay_counters {
	RELAY_COUNTERS(RC_FIELD)
};
#undef RC_FIELD

struct rbuf {
	uint8_t *b;
	uint32_t off, len;
};

enum { T_CONNECTING, T_SOCKS_METHOD, T_SOCKS_AUTH, T_SOCKS_REPLY, T_OPEN };
static const char *tstate_name[] = {"connecting", "socks-method", "socks-auth", "socks-reply", "open"};

struct relay;

struct tflow {
	struct relay *r;
	struct tflow *prev, *next;
	int us, kfd;
	int state;
	uint32_t caddr, daddr;        /* host order */
	uint16_t cport, dport;
	char *domain;                 /* fake-DNS name for daddr, or NULL */
	struct rbuf up, down;         /* client -> upstream, upstream -> client */
	uint8_t hs[SOCKS5_MAX_MSG];
	size_t hs_len;
	uint8_t c_eof, k_eof, k_shut, us_shut;
	unsigned kmask;
	uint64_t created, last, bytes_up, bytes_down;
};

enum { U_READY, U_CTL_CONNECTING, U_CTL_METHOD, U_CTL_AUTH, U_CTL_REPLY };

struct udgram {
	uint32_t daddr;
	uint16_t dport;
	uint16_t len;
	uint8_t *data;
};

struct umap {
	struct relay *r;
	struct umap *prev, *next;
	uint32_t caddr;
	uint16_t cport;
	int kfd;                      /* direct: the UDP socket; socks: UDP to the proxy's relay */
	int ctl;                      /* socks: the association's TCP connection (-1 in direct) */
	int state;
	uint8_t hs[SOCKS5_MAX_MSG];
	size_t hs_len;
	struct udgram q[UDP_QUEUE_MAX];
	int nq;
	uint32_t last_daddr;
	uint16_t last_dport;
	uint64_t created, last, up, down;
};

struct pmap {
	struct relay *r;
	struct pmap *prev, *next;
	uint32_t caddr;
	uint16_t cid;
	int kfd;
	uint64_t last;
};

struct fake_entry {
	char *name;
	uint64_t used;
};

struct relay {
	struct us_stack *st;
	struct us_loop *loop;
	int lfd, ufd, ifd;            /* transparent TCP listener, UDP and ICMP sockets */
	int direct;
	struct sockaddr_in proxy;
	const char *user, *pass;
	uint32_t mark;
	const char *out_dev;
	uint64_t udp_timeout_ns, tcp_timeout_ns;
	uint64_t mem_max, relay_mem_max, relay_mem, relay_mem_peak;
	/* fake DNS */
	int fake_dns;
	uint32_t fake_base, fake_size, fake_next;
	struct fake_entry *fake;
	struct tflow *tflows;
	struct umap *umaps;
	struct pmap *pmaps;
	uint32_t n_tflows, n_umaps, n_pmaps;
	int ping_warned;
	int last_upstream_errno;      /* why the latest upstream connection failed */
	struct relay_counters c;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(addr);
	a.sin_port = htons(port);
	return a;
}

static const char *ipstr(uint32_t a, char *buf)
{
	struct in_addr in = {htonl(a)};
	inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
	return buf;
}

/* A kernel socket for upstream traffic, kept out of our own TUN device. */
static int upstream_socket(struct relay *r, int type, int proto)
{
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -errno;
	if (r->mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &r->mark, sizeof(r->mark)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (r->out_dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, r->out_dev, (socklen_t)strlen(r->out_dev)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* ---- fake DNS ---------------------------------------------------------- */

static int fake_has(const struct relay *r, uint32_t ip) { return r->fake_dns && ip - r->fake_base < r->fake_size; }

static const char *fake_name(struct relay *r, uint32_t ip)
{
	if (!fake_has(r, ip))
		return NULL;
	return r->fake[ip - r->fake_base].name;
}

/* gcc 12's -fanalyzer reports the strdup() leaked when this returns: it
 * loses the store into r->fake[i] (a heap array at a computed index). A
 * false positive: the name is kept there and freed when its slot is reused
 * or at exit. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
static uint32_t fake_ip_for(struct relay *r, const char *name)
{
	for (uint32_t i = 0; i < r->fake_size; i++)
		if (r->fake[i].name && !strcmp(r->fake[i].name, name)) {
			r->fake[i].used = us_now_ns();
			return r->fake_base + i;
		}
	/* Round robin over the pool: the oldest name gives its address up. */
	if (!r->fake_size)
		return 0;
	uint32_t i = r->fake_next++ % r->fake_size;
	free(r->fake[i].name);
	r->fake[i].name = strdup(name);
	r->fake[i].used = us_now_ns();
	return r->fake[i].name ? r->fake_base + i : 0;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Answers a DNS query in q (n bytes) into out; returns the answer's length,
 * or 0 to drop a malformed query. A queries get an address from the pool,
 * other types an empty NOERROR answer (so resolvers fall back to A). */
static size_t dns_answer(struct relay *r, const uint8_t *q, size_t n, uint8_t *out, size_t cap)
{
	if (n < 12 || (q[2] & 0x80) || ((q[2] >> 3) & 0xF) != 0 || get16(q + 4) != 1)
		return 0;   /* not a standard query with one question */
	char name[256];
	size_t pos = 12, nl = 0;
	for (int labels = 0;; labels++) {
		if (pos >= n || labels > 127)
			return 0;
		uint8_t l = q[pos++];
		if (!l)
			break;
		if ((l & 0xC0) || pos + l > n || nl + l + 1 >= sizeof(name))
			return 0;   /* no compression in a question; bounded */
		if (nl)
			name[nl++] = '.';
		for (uint8_t k = 0; k < l; k++) {
			char ch = (char)q[pos + k];
			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (ch <= ' ' || ch == 0x7f)
				return 0;
			name[nl++] = ch;
		}
		pos += l;
	}
	name[nl] = 0;
	if (pos + 4 > n || !nl)
		return 0;
	uint16_t qtype = get16(q + pos), qclass = get16(q + pos + 2);
	pos += 4;
	size_t need = pos + 16;
	if (need > cap)
		return 0;
	memcpy(out, q, pos);
	out[2] = (uint8_t)(0x84 | (q[2] & 0x01));   /* QR, AA, RD copied */
	out[3] = 0x80;                               /* RA, NOERROR */
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, 0);
	if (qtype != 1 || qclass != 1)
		return pos;
	uint32_t ip = fake_ip_for(r, name);
	if (!ip)
		return 0;
	put16(out + 6, 1);
	uint8_t *a = out + pos;
	put16(a, 0xC00C);      /* the name in the question */
	put16(a + 2, 1);       /* A */
	put16(a + 4, 1);       /* IN */
	put16(a + 6, 0);
	put16(a + 8, 60);      /* TTL 60 s */
	put16(a + 10, 4);
	a[12] = (uint8_t)(ip >> 24);
	a[13] = (uint8_t)(ip >> 16);
	a[14] = (uint8_t)(ip >> 8);
	a[15] = (uint8_t)ip;
	return pos + 16;
}

/* ---- TCP flows --------------------------------------------------------- */

static void tflow_kev(struct us_loop *loop, int fd, unsigned ev, void *arg);
static void tflow_usev(struct us_stack *st, int s, unsigned ev, void *arg);

static void tflow_free(struct tflow *f)
{
	struct relay *r = f->r;
	if (f->kfd >= 0) {
		us_loop_del_fd(r->loop, f->kfd);
		close(f->kfd);
	}
	if (f->us >= 0)
		us_close(r->st, f->us);
	if (f->up.b) {
		r->relay_mem -= 2 * RBUF_SIZE;
		free(f->up.b);
		free(f->down.b);
	}
	free(f->domain);
	if (f->prev)
		f->prev->next = f->next;
	else
		r->tflows = f->next;
	if (f->next)
		f->next->prev = f->prev;
	r->n_tflows--;
	free(f);
}

/* Refuse or reset the client, reset upstream, forget the flow. */
static void tflow_abort(struct tflow *f, int reset_upstream)
{
	if (f->us >= 0)
		us_accept_finish(f->r->st, f->us, 0);
	if (reset_upstream && f->kfd >= 0) {
		struct linger lg = {1, 0};
		setsockopt(f->kfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	tflow_free(f);
}

static void kfd_want(struct tflow *f, unsigned mask)
{
	if (f->kfd < 0 || mask == f->kmask)
		return;
	us_loop_mod_fd(f->r->loop, f->kfd, mask);
	f->kmask = mask;
}

static int send_all_small(int fd, const uint8_t *b, size_t n)
{
	/* Handshake messages are a few hundred bytes on a fresh socket: they
	 * fit its buffer, so a short write is an error. */
	ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
	return w == (ssize_t)n ? 0 : -1;
}

static void tflow_pump(struct tflow *f);

static void tflow_open(struct tflow *f)
{
	struct relay *r = f->r;
	f->state = T_OPEN;
	r->c.TcpOpened++;
	us_accept_finish(r->st, f->us, 1);   /* now the SYN-ACK */
	f->last = us_now_ns();
	tflow_pump(f);
}

static void tflow_fail(struct tflow *f, uint64_t *counter)
{
	(*counter)++;
	f->r->c.TcpRefused++;
	tflow_abort(f, 1);
}

static void socks_request(struct tflow *f)
{
	uint8_t m[SOCKS5_MAX_MSG];
	size_t n = socks5_request(m, SOCKS5_CMD_CONNECT, f->daddr, f->domain, f->dport);
	if (!n || send_all_small(f->kfd, m, n) < 0) {
		tflow_fail(f, &f->r->c.TcpSocksFailed);
		return;
	}
	f->state = T_SOCKS_REPLY;
}

/* Bytes of the SOCKS handshake: one step per complete message. */
static void tflow_socks_input(struct tflow *f)
{
	struct relay *r = f->r;
	for (int guard = 0; guard < 8; guard++) {
		ssize_t k = recv(f->kfd, f->hs + f->hs_len, sizeof(f->hs) - f->hs_len, 0);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
			tflow_fail(f, &r->c.TcpSocksFailed);
			return;
		}
		if (k > 0)
			f->hs_len += (size_t)k;
		int used = 0, v = 0;
		uint32_t bip;
		uint16_t bport;
		switch (f->state) {
		case T_SOCKS_METHOD:
			used = socks5_parse_method(f->hs, f->hs_len, &v);
			break;
		case T_SOCKS_AUTH:
			used = socks5_parse_auth(f->hs, f->hs_len, &v);
			break;
		case T_SOCKS_REPLY:
			used = socks5_parse_reply(f->hs, f->hs_len, &v, &bip, &bport);
			break;
		default:
			return;
		}
		if (used < 0 || (used == 0 && f->hs_len == sizeof(f->hs))) {
			tflow_fail(f, &r->c.TcpSocksFailed);
			return;
		}
		if (used == 0) {
			if (k < 0)
				return;   /* wait for more */
			continue;
		}
		memmove(f->hs, f->hs + used, f->hs_len - (size_t)used);
		f->hs_len -= (size_t)used;
		if (f->state == T_SOCKS_METHOD) {
			if (v == 0) {
				socks_request(f);
			} else if (v == 2 && r->user) {
				uint8_t m[SOCKS5_MAX_MSG];
				size_t n = socks5_auth_request(m, r->user, r->pass ? r->pass : "");
				if (!n || send_all_small(f->kfd, m, n) < 0) {
					tflow_fail(f, &r->c.TcpSocksFailed);
					return;
				}
				f->state = T_SOCKS_AUTH;
			} else {
				tflow_fail(f, &r->c.TcpSocksFailed);
				return;
			}
		} else if (f->state == T_SOCKS_AUTH) {
			if (!v) {
				tflow_fail(f, &r->c.TcpSocksFailed);
				return;
			}
			socks_request(f);
		} else {
			if (v != 0) {
				/* The proxy could not reach it (refused, unreachable,
				 * not allowed): the client gets a RST. */
				r->last_upstream_errno = 1000 + v;   /* SOCKS REP codes as 1000 + REP */
				tflow_fail(f, &r->c.TcpUpstreamFailed);
				return;
			}
			/* Anything after the reply (left in hs) is already the
			 * server's data: it goes first once the buffers exist. */
			tflow_open(f);
			return;
		}
		if (f->state == T_OPEN)
			return;
	}
}

static void tflow_kev(struct us_loop *loop, int fd, unsigned ev, void *arg)
{
	(void)loop;
	(void)fd;
	struct tflow *f = arg;
	struct relay *r = f->r;
	if (f->state == T_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(f->kfd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err || (ev & (EPOLLERR | EPOLLHUP))) {
			r->last_upstream_errno = err ? err : EPIPE;
			tflow_fail(f, r->direct ? &r->c.TcpUpstreamFailed : &r->c.TcpSocksFailed);
			return;
		}
		if (!(ev & EPOLLOUT))
			return;
		if (r->direct) {
			tflow_open(f);
			return;
		}
		uint8_t m[4];
		if (send_all_small(f->kfd, m, socks5_greeting(m, r->user != NULL)) < 0) {
			tflow_fail(f, &r->c.TcpSocksFailed);
			return;
		}
		f->state = T_SOCKS_METHOD;
		kfd_want(f, EPOLLIN);
		return;
	}
	if (f->state != T_OPEN) {
		tflow_socks_input(f);
		return;
	}
	tflow_pump(f);
}

static void tflow_usev(struct us_stack *st, int s, unsigned ev, void *arg)
{
	(void)st;
	(void)s;
	(void)ev;
	struct tflow *f = arg;
	if (f->state == T_OPEN)
		tflow_pump(f);
	else if (ev & (US_POLLERR | US_POLLHUP)) {
		/* The client gave up (RST) before the upstream side was ready. */
		f->r->c.TcpClientResets++;
		tflow_abort(f, 1);
	}
}

/* Buffers exist only once the client's handshake is complete, so half-open
 * connections (a SYN flood) cost no buffer memory. 1: ready, 0: not yet,
 * -1: the flow is gone. */
static int tflow_buffers(struct tflow *f)
{
	struct relay *r = f->r;
	if (f->up.b)
		return 1;
	struct us_tcp_info ti;
	socklen_t tl = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (us_getsockopt(r->st, f->us, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0)
		ti.state = US_TCP_CLOSED;   /* no connection: reset below */
	if (ti.state == US_TCP_SYN_RECEIVED) {
		kfd_want(f, 0);   /* the server waits too, in the kernel's buffers */
		return 0;
	}
	if (ti.state != US_TCP_ESTABLISHED && ti.state != US_TCP_CLOSE_WAIT) {
		r->c.TcpClientResets++;
		tflow_abort(f, 1);
		return -1;
	}
	if (r->relay_mem + 2 * RBUF_SIZE > r->relay_mem_max || !(f->up.b = malloc(RBUF_SIZE)) ||
	    !(f->down.b = malloc(RBUF_SIZE))) {
		free(f->up.b);
		f->up.b = NULL;
		r->c.TcpNoMemory++;
		tflow_abort(f, 1);
		return -1;
	}
	r->relay_mem += 2 * RBUF_SIZE;
	if (r->relay_mem > r->relay_mem_peak)
		r->relay_mem_peak = r->relay_mem;
	if (f->hs_len) {
		memcpy(f->down.b, f->hs, f->hs_len);
		f->down.len = (uint32_t)f->hs_len;
		f->hs_len = 0;
	}
	return 1;
}

/* Move what can move both ways; bounded by the buffers, never blocking. */
static void tflow_pump(struct tflow *f)
{
	struct relay *r = f->r;
	if (tflow_buffers(f) <= 0)
		return;
	int progress = 1;
	for (int round = 0; progress && round < 64; round++) {
		progress = 0;
		/* client -> upstream */
		if (!f->c_eof && f->up.len < RBUF_SIZE) {
			if (f->up.off && !f->up.len)
				f->up.off = 0;
			if (f->up.off + f->up.len == RBUF_SIZE) {
				memmove(f->up.b, f->up.b + f->up.off, f->up.len);
				f->up.off = 0;
			}
			ssize_t n = us_recv(r->st, f->us, f->up.b + f->up.off + f->up.len,
					    RBUF_SIZE - f->up.off - f->up.len, 0);
			if (n > 0) {
				f->up.len += (uint32_t)n;
				progress = 1;
			} else if (n == 0) {
				f->c_eof = 1;
				progress = 1;
			} else if (n != -EAGAIN) {
				r->c.TcpClientResets++;
				tflow_abort(f, 1);
				return;
			}
		}
		if (f->up.len) {
			ssize_t w = send(f->kfd, f->up.b + f->up.off, f->up.len, MSG_NOSIGNAL);
			if (w > 0) {
				f->up.off += (uint32_t)w;
				f->up.len -= (uint32_t)w;
				f->bytes_up += (uint64_t)w;
				r->c.TcpBytesUp += (uint64_t)w;
				progress = 1;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				r->c.TcpUpstreamResets++;
				tflow_abort(f, 1);
				return;
			}
		}
		if (f->c_eof && !f->up.len && !f->k_shut) {
			shutdown(f->kfd, SHUT_WR);   /* half close carried upstream */
			f->k_shut = 1;
		}
		/* upstream -> client */
		if (!f->k_eof && f->down.len < RBUF_SIZE) {
			if (f->down.off && !f->down.len)
				f->down.off = 0;
			if (f->down.off + f->down.len == RBUF_SIZE) {
				memmove(f->down.b, f->down.b + f->down.off, f->down.len);
				f->down.off = 0;
			}
			ssize_t n = recv(f->kfd, f->down.b + f->down.off + f->down.len,
					 RBUF_SIZE - f->down.off - f->down.len, 0);
			if (n > 0) {
				f->down.len += (uint32_t)n;
				progress = 1;
			} else if (n == 0) {
				f->k_eof = 1;
				progress = 1;
			} else if (errno != EAGAIN && errno != EINTR) {
				r->c.TcpUpstreamResets++;
				tflow_abort(f, 0);
				return;
			}
		}
		if (f->down.len) {
			ssize_t w = us_send(r->st, f->us, f->down.b + f->down.off, f->down.len, 0);
			if (w > 0) {
				f->down.off += (uint32_t)w;
				f->down.len -= (uint32_t)w;
				f->bytes_down += (uint64_t)w;
				r->c.TcpBytesDown += (uint64_t)w;
				progress = 1;
			} else if (w != -EAGAIN) {
				r->c.TcpClientResets++;
				tflow_abort(f, 1);
				return;
			}
		}
		if (f->k_eof && !f->down.len && !f->us_shut) {
			us_shutdown(r->st, f->us, SHUT_WR);   /* half close carried to the client */
			f->us_shut = 1;
		}
		if (progress)
			f->last = us_now_ns();
	}
	if (f->c_eof && f->k_eof && f->k_shut && f->us_shut) {
		r->c.TcpClosed++;
		tflow_free(f);   /* both halves closed: FINs already sent */
		return;
	}
	unsigned mask = 0;
	if (!f->k_eof && f->down.len < RBUF_SIZE)
		mask |= EPOLLIN;   /* else the kernel socket's buffer fills: the server slows */
	if (f->up.len)
		mask |= EPOLLOUT;
	kfd_want(f, mask);
}

static void tflow_start(struct relay *r, int s)
{
	struct sockaddr_in me, peer;
	socklen_t ml = sizeof(me), pl = sizeof(peer);
	r->c.TcpAccepted++;
	if (us_getsockname(r->st, s, (struct sockaddr *)&me, &ml) < 0 ||
	    us_getpeername(r->st, s, (struct sockaddr *)&peer, &pl) < 0) {
		/* No addresses to relay between (the client is gone). */
		r->c.TcpClientResets++;
		us_accept_finish(r->st, s, 0);
		us_close(r->st, s);
		return;
	}
	uint32_t daddr = ntohl(me.sin_addr.s_addr);
	const char *name = fake_name(r, daddr);
	if (r->n_tflows >= MAX_TCP_FLOWS || r->relay_mem + 2 * RBUF_SIZE > r->relay_mem_max || (fake_has(r, daddr) && !name)) {
		/* Over the flow or memory budget (or an unknown fake address): refuse. */
		if (!fake_has(r, daddr) || name)
			r->c.TcpNoMemory++;
		r->c.TcpRefused++;
		us_accept_finish(r->st, s, 0);
		us_close(r->st, s);
		return;
	}
	struct tflow *f = calloc(1, sizeof(*f));
	char *dom = name ? strdup(name) : NULL;
	if (!f || (name && !dom)) {
		free(f);
		free(dom);
		r->c.TcpNoMemory++;
		us_accept_finish(r->st, s, 0);
		us_close(r->st, s);
		return;
	}
	f->r = r;
	f->us = s;
	f->kfd = -1;
	f->daddr = daddr;
	f->dport = ntohs(me.sin_port);
	f->caddr = ntohl(peer.sin_addr.s_addr);
	f->cport = ntohs(peer.sin_port);
	f->domain = dom;
	f->created = f->last = us_now_ns();
	f->next = r->tflows;
	if (r->tflows)
		r->tflows->prev = f;
	r->tflows = f;
	r->n_tflows++;
	int one = 1;
	us_setsockopt(r->st, s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	us_sock_set_callback(r->st, s, tflow_usev, f);
	int fd = upstream_socket(r, SOCK_STREAM, 0);
	if (fd < 0) {
		r->last_upstream_errno = -fd;
		tflow_fail(f, &r->c.TcpUpstreamFailed);
		return;
	}
	f->kfd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_in to = r->direct ? sin_of(f->daddr, f->dport) : r->proxy;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EINPROGRESS) {
		r->last_upstream_errno = errno;
		tflow_fail(f, r->direct ? &r->c.TcpUpstreamFailed : &r->c.TcpSocksFailed);
		return;
	}
	f->kmask = EPOLLOUT;
	if (us_loop_add_fd(r->loop, fd, EPOLLOUT, tflow_kev, f) < 0) {
		tflow_fail(f, &r->c.TcpNoMemory);
		return;
	}
}

static void on_listener(struct us_stack *st, int s, unsigned ev, void *arg)
{
	(void)ev;
	struct relay *r = arg;
	for (int i = 0; i < 256; i++) {
		int a = us_accept(st, s, NULL, NULL);
		if (a < 0)
			break;
		tflow_start(r, a);
	}
}

/* ---- UDP mappings ------------------------------------------------------ */

static void umap_kev(struct us_loop *loop, int fd, unsigned ev, void *arg);
static void umap_ctlev(struct us_loop *loop, int fd, unsigned ev, void *arg);

static void umap_free(struct umap *m)
{
	struct relay *r = m->r;
	if (m->kfd >= 0) {
		us_loop_del_fd(r->loop, m->kfd);
		close(m->kfd);
	}
	if (m->ctl >= 0) {
		us_loop_del_fd(r->loop, m->ctl);
		close(m->ctl);
	}
	for (int i = 0; i < m->nq; i++)
		free(m->q[i].data);
	if (m->prev)
		m->prev->next = m->next;
	else
		r->umaps = m->next;
	if (m->next)
		m->next->prev = m->prev;
	r->n_umaps--;
	free(m);
}

static struct umap *umap_find(struct relay *r, uint32_t caddr, uint16_t cport)
{
	for (struct umap *m = r->umaps; m; m = m->next)
		if (m->caddr == caddr && m->cport == cport)
			return m;
	return NULL;
}

/* Send one client datagram upstream (the mapping is ready). */
static void umap_send(struct umap *m, uint32_t daddr, uint16_t dport, const uint8_t *data, size_t len)
{
	struct relay *r = m->r;
	ssize_t w;
	if (r->direct) {
		struct sockaddr_in to = sin_of(daddr, dport);
		w = sendto(m->kfd, data, len, 0, (struct sockaddr *)&to, sizeof(to));
	} else {
		uint8_t buf[SOCKS5_UDP_HDR_MAX + 65536];
		const char *name = fake_name(r, daddr);
		size_t h = socks5_udp_header(buf, daddr, name, dport);
		if (!h || len > sizeof(buf) - h) {
			r->c.UdpDrops++;
			return;
		}
		memcpy(buf + h, data, len);
		w = send(m->kfd, buf, h + len, 0);
	}
	if (w < 0) {
		r->c.UdpDrops++;
		return;
	}
	m->up++;
	m->last_daddr = daddr;
	m->last_dport = dport;
	r->c.UdpDatagramsUp++;
	r->c.UdpBytesUp += len;
}

static void umap_flush_queue(struct umap *m)
{
	for (int i = 0; i < m->nq; i++) {
		umap_send(m, m->q[i].daddr, m->q[i].dport, m->q[i].data, m->q[i].len);
		free(m->q[i].data);
	}
	m->nq = 0;
}

static int ctl_send(struct umap *m, const uint8_t *b, size_t n)
{
	return send(m->ctl, b, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* The association's TCP connection: handshake, then only watched for its end. */
static void umap_ctlev(struct us_loop *loop, int fd, unsigned ev, void *arg)
{
	(void)loop;
	(void)fd;
	struct umap *m = arg;
	struct relay *r = m->r;
	if (m->state == U_CTL_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(m->ctl, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err || (ev & (EPOLLERR | EPOLLHUP)))
			goto dead;
		if (!(ev & EPOLLOUT))
			return;
		uint8_t g[4];
		if (ctl_send(m, g, socks5_greeting(g, r->user != NULL)) < 0)
			goto dead;
		m->state = U_CTL_METHOD;
		us_loop_mod_fd(r->loop, m->ctl, EPOLLIN);
		return;
	}
	for (int guard = 0; guard < 8; guard++) {
		ssize_t k = recv(m->ctl, m->hs + m->hs_len, sizeof(m->hs) - m->hs_len, 0);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			goto dead;   /* the association ends with its TCP connection */
		if (k > 0)
			m->hs_len += (size_t)k;
		if (m->state == U_READY) {
			m->hs_len = 0;   /* nothing is expected: discard */
			if (k < 0)
				return;
			continue;
		}
		int used = 0, v = 0;
		uint32_t bip = 0;
		uint16_t bport = 0;
		if (m->state == U_CTL_METHOD)
			used = socks5_parse_method(m->hs, m->hs_len, &v);
		else if (m->state == U_CTL_AUTH)
			used = socks5_parse_auth(m->hs, m->hs_len, &v);
		else
			used = socks5_parse_reply(m->hs, m->hs_len, &v, &bip, &bport);
		if (used < 0 || (used == 0 && m->hs_len == sizeof(m->hs)))
			goto dead;
		if (used == 0) {
			if (k < 0)
				return;
			continue;
		}
		memmove(m->hs, m->hs + used, m->hs_len - (size_t)used);
		m->hs_len -= (size_t)used;
		uint8_t msg[SOCKS5_MAX_MSG];
		if (m->state == U_CTL_METHOD) {
			if (v == 2 && r->user) {
				size_t n = socks5_auth_request(msg, r->user, r->pass ? r->pass : "");
				if (!n || ctl_send(m, msg, n) < 0)
					goto dead;
				m->state = U_CTL_AUTH;
				continue;
			}
			if (v != 0)
				goto dead;
		} else if (m->state == U_CTL_AUTH && !v) {
			goto dead;
		}
		if (m->state == U_CTL_METHOD || m->state == U_CTL_AUTH) {
			/* Address and port we will send from: unknown yet, so zeros
			 * (RFC 1928 section 7). */
			size_t n = socks5_request(msg, SOCKS5_CMD_UDP_ASSOCIATE, 0, NULL, 0);
			if (ctl_send(m, msg, n) < 0)
				goto dead;
			m->state = U_CTL_REPLY;
			continue;
		}
		/* The reply: where to send datagrams. */
		if (v != 0)
			goto dead;
		struct sockaddr_in rel = r->proxy;
		if (bip)
			rel.sin_addr.s_addr = htonl(bip);
		rel.sin_port = htons(bport);
		if (connect(m->kfd, (struct sockaddr *)&rel, sizeof(rel)) < 0)
			goto dead;
		m->state = U_READY;
		umap_flush_queue(m);
	}
	return;
dead:
	r->c.UdpDrops += (uint64_t)m->nq;
	umap_free(m);
}

/* An ICMP destination unreachable to the client, in the name of the
 * destination, quoting the datagram it sent (RFC 792, RFC 1122 3.2.2). */
static void send_unreach(struct relay *r, uint32_t caddr, uint16_t cport, uint32_t daddr, uint16_t dport, uint8_t code)
{
	uint8_t m[8 + 28];
	memset(m, 0, sizeof(m));
	m[0] = 3;
	m[1] = code;
	uint8_t *ip = m + 8;
	ip[0] = 0x45;
	put16(ip + 2, 28);
	ip[8] = 64;
	ip[9] = 17;
	uint32_t s = caddr, d = daddr;
	ip[12] = (uint8_t)(s >> 24), ip[13] = (uint8_t)(s >> 16), ip[14] = (uint8_t)(s >> 8), ip[15] = (uint8_t)s;
	ip[16] = (uint8_t)(d >> 24), ip[17] = (uint8_t)(d >> 16), ip[18] = (uint8_t)(d >> 8), ip[19] = (uint8_t)d;
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += get16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	put16(ip + 10, (uint16_t)~sum);
	put16(ip + 20, cport);
	put16(ip + 22, dport);
	put16(ip + 24, 8);
	struct sockaddr_in from = sin_of(daddr, 0), to = sin_of(caddr, 0);
	int ttl = 64;
	us_setsockopt(r->st, r->ifd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	if (us_sendfromto(r->st, r->ifd, m, sizeof(m), 0, (struct sockaddr *)&from, sizeof(from), (struct sockaddr *)&to,
			  sizeof(to)) > 0)
		r->c.UdpUnreachSent++;
}

static void umap_errqueue(struct umap *m)
{
	/* IP_RECVERR: ICMP errors for datagrams we sent (direct mode). */
	struct relay *r = m->r;
	for (int i = 0; i < 16; i++) {
		uint8_t data[64], cbuf[512];
		struct sockaddr_in off;
		struct iovec iov = {data, sizeof(data)};
		struct msghdr mh = {.msg_name = &off, .msg_namelen = sizeof(off), .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
		if (recvmsg(m->kfd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		if (mh.msg_namelen < sizeof(off) || off.sin_family != AF_INET)
			continue;   /* no destination to name in the answer */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_RECVERR)
				continue;
			struct sock_extended_err ee;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			if (ee.ee_origin != SO_EE_ORIGIN_ICMP || ee.ee_type != 3)
				continue;
			/* msg_name: where the failed datagram was going. */
			send_unreach(r, m->caddr, m->cport, ntohl(off.sin_addr.s_addr), ntohs(off.sin_port), ee.ee_code);
		}
	}
}

static void umap_kev(struct us_loop *loop, int fd, unsigned ev, void *arg)
{
	(void)loop;
	(void)fd;
	struct umap *m = arg;
	struct relay *r = m->r;
	if (ev & EPOLLERR)
		umap_errqueue(m);
	static uint8_t buf[65536 + SOCKS5_UDP_HDR_MAX];
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in from = {0};
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(m->kfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (r->direct)
				umap_errqueue(m);
			continue;
		}
		if (fl < sizeof(from) || from.sin_family != AF_INET) {
			r->c.UdpDrops++;   /* no IPv4 source address to answer as */
			continue;
		}
		uint32_t saddr = ntohl(from.sin_addr.s_addr);
		uint16_t sport = ntohs(from.sin_port);
		if (!r->direct && m->state != U_READY) {
			/* Not yet connected to the proxy's relay port: anyone could
			 * have sent this. */
			r->c.UdpDrops++;
			continue;
		}
		const uint8_t *payload = buf;
		size_t plen = (size_t)n;
		if (!r->direct) {
			int h = socks5_parse_udp(buf, (size_t)n, &saddr, &sport);
			if (h < 0) {
				r->c.UdpDrops++;
				continue;
			}
			payload += h;
			plen -= (size_t)h;
		}
		/* Any remote may answer (endpoint-independent filtering): it
		 * appears to the client as itself. */
		struct sockaddr_in src = sin_of(saddr, sport), dst = sin_of(m->caddr, m->cport);
		ssize_t w = us_sendfromto(r->st, r->ufd, payload, plen, 0, (struct sockaddr *)&src, sizeof(src),
					  (struct sockaddr *)&dst, sizeof(dst));
		if (w < 0) {
			r->c.UdpDrops++;
			continue;
		}
		m->down++;
		m->last = us_now_ns();
		r->c.UdpDatagramsDown++;
		r->c.UdpBytesDown += plen;
	}
}

static struct umap *umap_new(struct relay *r, uint32_t caddr, uint16_t cport)
{
	if (r->n_umaps >= MAX_UDP_MAPS) {
		r->c.UdpMapLimit++;
		return NULL;
	}
	struct umap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->r = r;
	m->caddr = caddr;
	m->cport = cport;
	m->kfd = m->ctl = -1;
	m->created = m->last = us_now_ns();
	m->next = r->umaps;
	if (r->umaps)
		r->umaps->prev = m;
	r->umaps = m;
	r->n_umaps++;
	r->c.UdpMappings++;
	/* direct: a socket to everyone; socks: one to the proxy's relay port
	 * (only the proxy's datagrams reach it once connected). */
	int fd = upstream_socket(r, SOCK_DGRAM, 0);
	if (fd < 0)
		goto fail;
	m->kfd = fd;
	if (r->direct) {
		int one = 1;
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
		m->state = U_READY;
	} else {
		int c = upstream_socket(r, SOCK_STREAM, 0);
		if (c < 0)
			goto fail;
		m->ctl = c;
		if (connect(c, (struct sockaddr *)&r->proxy, sizeof(r->proxy)) < 0 && errno != EINPROGRESS)
			goto fail;
		m->state = U_CTL_CONNECTING;
		if (us_loop_add_fd(r->loop, c, EPOLLOUT, umap_ctlev, m) < 0)
			goto fail;
	}
	if (us_loop_add_fd(r->loop, fd, EPOLLIN, umap_kev, m) < 0)
		goto fail;
	return m;
fail:
	umap_free(m);
	return NULL;
}

static void on_udp(struct us_stack *st, int s, unsigned ev, void *arg)
{
	(void)ev;
	struct relay *r = arg;
	static uint8_t buf[65536], ans[1024];
	for (int i = 0; i < 256; i++) {
		struct sockaddr_in from, to;
		socklen_t fl = sizeof(from), tl = sizeof(to);
		ssize_t n = us_recvfromto(st, s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl, (struct sockaddr *)&to, &tl);
		if (n < 0)
			break;
		uint32_t caddr = ntohl(from.sin_addr.s_addr), daddr = ntohl(to.sin_addr.s_addr);
		uint16_t cport = ntohs(from.sin_port), dport = ntohs(to.sin_port);
		if (r->fake_dns && dport == 53) {
			size_t an = dns_answer(r, buf, (size_t)n, ans, sizeof(ans));
			if (!an) {
				r->c.DnsMalformed++;
				continue;
			}
			if (us_sendfromto(st, r->ufd, ans, an, 0, (struct sockaddr *)&to, tl, (struct sockaddr *)&from, fl) > 0)
				r->c.DnsAnswers++;
			continue;
		}
		if (fake_has(r, daddr) && !fake_name(r, daddr)) {
			r->c.UdpDrops++;
			continue;
		}
		struct umap *m = umap_find(r, caddr, cport);
		if (!m)
			m = umap_new(r, caddr, cport);
		if (!m) {
			r->c.UdpDrops++;
			continue;
		}
		m->last = us_now_ns();
		if (m->state == U_READY) {
			umap_send(m, daddr, dport, buf, (size_t)n);
		} else if (m->nq < UDP_QUEUE_MAX) {
			uint8_t *copy = malloc((size_t)n ? (size_t)n : 1);
			if (!copy) {
				r->c.UdpDrops++;
				continue;
			}
			memcpy(copy, buf, (size_t)n);
			struct udgram *q = &m->q[m->nq];
			q->data = copy;
			q->len = (uint16_t)n;
			q->daddr = daddr;
			q->dport = dport;
			m->nq++;
		} else {
			r->c.UdpDrops++;
		}
	}
}

/* ---- ICMP echo --------------------------------------------------------- */

static void pmap_free(struct pmap *p)
{
	struct relay *r = p->r;
	us_loop_del_fd(r->loop, p->kfd);
	close(p->kfd);
	if (p->prev)
		p->prev->next = p->next;
	else
		r->pmaps = p->next;
	if (p->next)
		p->next->prev = p->prev;
	r->n_pmaps--;
	free(p);
}

static void echo_reply_to(struct relay *r, uint32_t from, uint32_t to, uint16_t id, const uint8_t *icmp, size_t n, int ttl)
{
	uint8_t buf[65536];
	if (n < 8 || n > sizeof(buf))
		return;
	memcpy(buf, icmp, n);
	buf[0] = 0;   /* echo reply */
	buf[1] = 0;
	put16(buf + 4, id);
	us_setsockopt(r->st, r->ifd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	struct sockaddr_in f = sin_of(from, 0), t = sin_of(to, 0);
	if (us_sendfromto(r->st, r->ifd, buf, n, 0, (struct sockaddr *)&f, sizeof(f), (struct sockaddr *)&t, sizeof(t)) > 0)
		r->c.IcmpEchoReplies++;
}

static void pmap_kev(struct us_loop *loop, int fd, unsigned ev, void *arg)
{
	(void)loop;
	(void)fd;
	(void)ev;
	struct pmap *p = arg;
	for (int i = 0; i < 64; i++) {
		uint8_t data[65536], cbuf[128];
		struct sockaddr_in from;
		struct iovec iov = {data, sizeof(data)};
		struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(p->kfd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		if (n < 8 || data[0] != 0 || mh.msg_namelen < sizeof(from) || from.sin_family != AF_INET)
			continue;
		int ttl = 64;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
				memcpy(&ttl, CMSG_DATA(c), sizeof(int));
		/* The real reply's TTL, so ping shows the real path. */
		if (ttl < 1 || ttl > 255)
			ttl = 64;
		p->last = us_now_ns();
		echo_reply_to(p->r, ntohl(from.sin_addr.s_addr), p->caddr, p->cid, data, (size_t)n, ttl);
	}
}

static struct pmap *pmap_get(struct relay *r, uint32_t caddr, uint16_t cid)
{
	for (struct pmap *p = r->pmaps; p; p = p->next)
		if (p->caddr == caddr && p->cid == cid)
			return p;
	if (r->n_pmaps >= MAX_PING_MAPS)
		return NULL;
	int fd = upstream_socket(r, SOCK_DGRAM, IPPROTO_ICMP);
	if (fd < 0) {
		if (!r->ping_warned++)
			fprintf(stderr, "ustack relay: cannot open a ping socket (%s): is net.ipv4.ping_group_range set?\n",
				strerror(-fd));
		return NULL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one));
	struct pmap *p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return NULL;
	}
	p->r = r;
	p->caddr = caddr;
	p->cid = cid;
	p->kfd = fd;
	p->last = us_now_ns();
	p->next = r->pmaps;
	if (r->pmaps)
		r->pmaps->prev = p;
	r->pmaps = p;
	r->n_pmaps++;
	if (us_loop_add_fd(r->loop, fd, EPOLLIN, pmap_kev, p) < 0) {
		pmap_free(p);
		return NULL;
	}
	return p;
}

static void on_icmp(struct us_stack *st, int s, unsigned ev, void *arg)
{
	(void)ev;
	struct relay *r = arg;
	static uint8_t buf[65536];
	for (int i = 0; i < 256; i++) {
		struct sockaddr_in from, to;
		socklen_t fl = sizeof(from), tl = sizeof(to);
		ssize_t n = us_recvfromto(st, s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl, (struct sockaddr *)&to, &tl);
		if (n < 0)
			break;
		if (n < 8 || buf[0] != 8)
			continue;
		uint32_t caddr = ntohl(from.sin_addr.s_addr), daddr = ntohl(to.sin_addr.s_addr);
		uint16_t id = get16(buf + 4);
		if (!r->direct) {
			/* Through a proxy there is no way to ping: answered here. */
			r->c.IcmpEchoLocal++;
			echo_reply_to(r, daddr, caddr, id, buf, (size_t)n, 64);
			continue;
		}
		struct pmap *p = pmap_get(r, caddr, id);
		struct sockaddr_in d = sin_of(daddr, 0);
		if (!p || sendto(p->kfd, buf, (size_t)n, 0, (struct sockaddr *)&d, sizeof(d)) < 0) {
			r->c.IcmpEchoFailed++;
			continue;
		}
		p->last = us_now_ns();
		r->c.IcmpEchoForwarded++;
	}
}

/* ---- reports, timers, signals ------------------------------------------ */

static void print_report(struct relay *r, FILE *out)
{
	uint64_t now = us_now_ns();
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	fprintf(out, "relay flows: tcp %u, udp %u, ping %u\n", r->n_tflows, r->n_umaps, r->n_pmaps);
	for (struct tflow *f = r->tflows; f; f = f->next)
		fprintf(out, "  tcp %s:%u -> %s:%u%s%s%s %s up %llu down %llu age %.1fs idle %.1fs%s%s\n", ipstr(f->caddr, a),
			f->cport, ipstr(f->daddr, b), f->dport, f->domain ? " (" : "", f->domain ? f->domain : "",
			f->domain ? ")" : "", tstate_name[f->state], (unsigned long long)f->bytes_up,
			(unsigned long long)f->bytes_down, (now - f->created) / 1e9, (now - f->last) / 1e9,
			f->c_eof ? " client-eof" : "", f->k_eof ? " upstream-eof" : "");
	for (struct umap *m = r->umaps; m; m = m->next) {
		struct sockaddr_in la;
		socklen_t ll = sizeof(la);
		memset(&la, 0, sizeof(la));
		getsockname(m->kfd, (struct sockaddr *)&la, &ll);
		fprintf(out, "  udp %s:%u mapped %s:%u%s last %s:%u up %llu down %llu idle %.1fs\n", ipstr(m->caddr, a),
			m->cport, inet_ntoa(la.sin_addr), ntohs(la.sin_port), m->state == U_READY ? "" : " (associating)",
			ipstr(m->last_daddr, b), m->last_dport, (unsigned long long)m->up, (unsigned long long)m->down,
			(now - m->last) / 1e9);
	}
	for (struct pmap *p = r->pmaps; p; p = p->next)
		fprintf(out, "  ping %s id %u idle %.1fs\n", ipstr(p->caddr, a), p->cid, (now - p->last) / 1e9);
#define RC_PRINT(n) fprintf(out, "relay.%s %llu\n", #n, (unsigned long long)r->c.n);
	RELAY_COUNTERS(RC_PRINT)
#undef RC_PRINT
	if (r->last_upstream_errno)
		fprintf(out, "relay.last_upstream_error %s\n",
			r->last_upstream_errno > 1000 ? socks5_rep_str(r->last_upstream_errno - 1000)
						      : strerror(r->last_upstream_errno));
	struct us_mem_info mi;
	us_stack_mem_info(r->st, &mi);
	fprintf(out, "relay.mem stack_used %llu stack_peak %llu stack_max %llu tcp %llu pkts %llu pkt_refusals %llu "
		     "relay_buffers %llu relay_peak %llu relay_max %llu budget %llu\n",
		(unsigned long long)mi.used, (unsigned long long)mi.peak, (unsigned long long)mi.max,
		(unsigned long long)mi.tcp, (unsigned long long)mi.pkts, (unsigned long long)mi.pkt_refusals,
		(unsigned long long)r->relay_mem, (unsigned long long)r->relay_mem_peak,
		(unsigned long long)r->relay_mem_max, (unsigned long long)r->mem_max);
	const struct us_stats *s = us_stack_stats(r->st);
	fprintf(out, "stack.Tcp.PassiveOpens %llu stack.TcpExt.SyncookiesSent %llu stack.TcpExt.SyncookiesRecv %llu "
		     "stack.TcpExt.TCPMemoryPressures %llu stack.TcpExt.ListenDrops %llu stack.Udp.MemErrors %llu\n",
		(unsigned long long)s->tcp.PassiveOpens, (unsigned long long)s->tcpext.SyncookiesSent,
		(unsigned long long)s->tcpext.SyncookiesRecv, (unsigned long long)s->tcpext.TCPMemoryPressures,
		(unsigned long long)s->tcpext.ListenDrops, (unsigned long long)s->udp.MemErrors);
	fflush(out);
}

struct relay_ctl {
	struct relay *r;
	int tfd;
	uint64_t stats_every_ns, next_stats;
};

static void on_tick(struct us_loop *loop, int fd, unsigned ev, void *arg)
{
	(void)loop;
	(void)ev;
	struct relay_ctl *ctl = arg;
	struct relay *r = ctl->r;
	uint64_t exp;
	if (read(fd, &exp, sizeof(exp)) < 0) {
		/* nothing: the timer is non-blocking */
	}
	uint64_t now = us_now_ns();
	for (struct tflow *f = r->tflows, *nx; f; f = nx) {
		nx = f->next;
		if (f->state != T_OPEN && now - f->created > CONNECT_TIMEOUT_NS) {
			r->c.TcpConnectTimeouts++;
			tflow_fail(f, &r->c.TcpUpstreamFailed);
		} else if (f->state == T_OPEN && now - f->last > r->tcp_timeout_ns) {
			r->c.TcpIdleTimeouts++;
			tflow_abort(f, 1);
		}
	}
	for (struct umap *m = r->umaps, *nx; m; m = nx) {
		nx = m->next;
		if (now - m->last > r->udp_timeout_ns || (m->state != U_READY && now - m->created > CONNECT_TIMEOUT_NS)) {
			r->c.UdpExpired++;
			umap_free(m);
		}
	}
	for (struct pmap *p = r->pmaps, *nx; p; p = nx) {
		nx = p->next;
		if (now - p->last > r->udp_timeout_ns)
			pmap_free(p);
	}
	if (ctl->stats_every_ns && now >= ctl->next_stats) {
		ctl->next_stats = now + ctl->stats_every_ns;
		print_report(r, stdout);
	}
}

static void on_signal(struct us_loop *l, int fd, unsigned ev, void *arg)
{
	(void)ev;
	struct relay_ctl *ctl = arg;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			print_report(ctl->r, stdout);
		else
			us_loop_stop(l);
	}
}

/* ---- options and set-up ------------------------------------------------- */

static void relay_usage(FILE *out)
{
	fputs("usage: ustack relay --tun NAME --ip ADDR/PREFIX (--socks5 HOST:PORT [--user U --pass P] | --direct)\n"
	      "                    [options]\n"
	      "\n"
	      "Terminates every TCP connection and UDP flow routed into the TUN device NAME\n"
	      "(any destination) and carries it on through a SOCKS5 proxy (CONNECT, UDP\n"
	      "ASSOCIATE) or, with --direct, through the kernel's own sockets. Point a route\n"
	      "(e.g. the default route) at NAME. A refused or unreachable destination reaches\n"
	      "the client as a TCP RST (ICMP port unreachable for UDP in --direct mode); half\n"
	      "close and flow control are carried both ways. UDP mappings are endpoint-\n"
	      "independent (full cone). ICMP echo is forwarded with ping sockets in --direct\n"
	      "mode (needs net.ipv4.ping_group_range to include the relay's group), answered\n"
	      "by the relay itself otherwise. Prints 'ready' when up; SIGUSR1 prints the live\n"
	      "flows and counters; SIGINT/SIGTERM stop it (printing them once more).\n"
	      "\n"
	      "  --tun NAME            the TUN device (created if absent)\n"
	      "  --ip ADDR/PREFIX      the stack's own address on it (required)\n"
	      "  --host-ip ADDR/PREFIX address for the kernel's side of the device\n"
	      "  --mtu N               MTU of the device and the stack\n"
	      "  --socks5 HOST:PORT    the proxy (IPv4 address and port)\n"
	      "  --user U --pass P     RFC 1929 user/password for the proxy\n"
	      "  --direct              no proxy: connect with kernel sockets\n"
	      "  --mark N              SO_MARK on every upstream socket, so a policy rule\n"
	      "                        (ip rule add fwmark N lookup T) keeps them out of NAME\n"
	      "  --out-dev DEV         SO_BINDTODEVICE on every upstream socket instead\n"
	      "  --udp-timeout S       idle UDP mapping (and ping) lifetime (default 60)\n"
	      "  --tcp-timeout S       idle TCP flow lifetime (default 600)\n"
	      "  --fake-dns CIDR       answer DNS A queries (UDP port 53, any server) with\n"
	      "                        addresses from CIDR and hand the names to the proxy as\n"
	      "                        domain names (needs --socks5)\n"
	      "  --max-memory N[K|M|G] memory budget: 3/4 for the stack's buffers (mem_max),\n"
	      "                        1/4 for the relay's own per-flow buffers (default 256M)\n"
	      "  --stats-interval S    print the flows and counters every S seconds\n"
	      "  --pcap FILE           write every packet on NAME to FILE\n"
	      "  --busy-poll USEC      after a packet comes in, poll NAME for USEC more instead of\n"
	      "                        sleeping (lower latency for a spinning CPU; default 0)\n"
	      "  -h, --help            this text\n",
	      out);
}

static int parse_secs(const char *s, uint64_t *ns)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 1 || v > 86400)
		return -1;
	*ns = (uint64_t)v * NS;
	return 0;
}

int cmd_relay(int argc, char **argv)
{
	static const struct option opts[] = {
		APP_NET_LONGOPTS,
		{"socks5", required_argument, 0, 'S'},   {"user", required_argument, 0, 'u'},
		{"pass", required_argument, 0, 'P'},     {"direct", no_argument, 0, 'd'},
		{"mark", required_argument, 0, 'k'},     {"out-dev", required_argument, 0, 'o'},
		{"udp-timeout", required_argument, 0, 'y'}, {"tcp-timeout", required_argument, 0, 'Y'},
		{"fake-dns", required_argument, 0, 'F'}, {"max-memory", required_argument, 0, 'X'},
		{"stats-interval", required_argument, 0, 'I'}, {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	static struct relay r;
	memset(&r, 0, sizeof(r));
	struct app_net n;
	memset(&n, 0, sizeof(n));
	int has_ip = 0, has_socks = 0;
	uint64_t stats_every = 0;
	r.udp_timeout_ns = 60 * NS;
	r.tcp_timeout_ns = 600 * NS;
	r.mem_max = 256ull << 20;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S': {
			char host[64];
			const char *colon = strrchr(optarg, ':');
			uint16_t port;
			struct in_addr ia;
			if (!colon || (size_t)(colon - optarg) >= sizeof(host))
				app_usage_error("--socks5 wants IPV4:PORT, got '%s'", optarg);
			memcpy(host, optarg, (size_t)(colon - optarg));
			host[colon - optarg] = 0;
			if (app_parse_ip(host, &ia) < 0 || app_parse_port(colon + 1, &port) < 0)
				app_usage_error("--socks5 wants IPV4:PORT, got '%s'", optarg);
			r.proxy = sin_of(ntohl(ia.s_addr), port);
			has_socks = 1;
			break;
		}
		case 'u':
			r.user = optarg;
			if (!*optarg || strlen(optarg) > 255)
				app_usage_error("--user wants 1..255 bytes");
			break;
		case 'P':
			r.pass = optarg;
			if (strlen(optarg) > 255)
				app_usage_error("--pass wants at most 255 bytes");
			break;
		case 'd': r.direct = 1; break;
		case 'k': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 0);
			if (!*optarg || *end || !v || v > 0xFFFFFFFFul)
				app_usage_error("--mark wants a non-zero 32-bit number, got '%s'", optarg);
			r.mark = (uint32_t)v;
			break;
		}
		case 'o':
			if (!*optarg || strlen(optarg) >= IFNAMSIZ)
				app_usage_error("--out-dev wants a device name, got '%s'", optarg);
			r.out_dev = optarg;
			break;
		case 'y':
			if (parse_secs(optarg, &r.udp_timeout_ns) < 0)
				app_usage_error("--udp-timeout wants 1..86400 seconds, got '%s'", optarg);
			break;
		case 'Y':
			if (parse_secs(optarg, &r.tcp_timeout_ns) < 0)
				app_usage_error("--tcp-timeout wants 1..86400 seconds, got '%s'", optarg);
			break;
		case 'I':
			if (parse_secs(optarg, &stats_every) < 0)
				app_usage_error("--stats-interval wants 1..86400 seconds, got '%s'", optarg);
			break;
		case 'X':
			if (app_parse_size(optarg, &r.mem_max) < 0 || r.mem_max < (4ull << 20))
				app_usage_error("--max-memory wants a size of at least 4M (e.g. 64M), got '%s'", optarg);
			break;
		case 'F': {
			struct in_addr ia;
			int plen;
			if (app_parse_cidr(optarg, &ia, &plen, 1) < 0 || plen < 8 || plen > 30)
				app_usage_error("--fake-dns wants ADDR/PREFIX with a prefix of 8..30, got '%s'", optarg);
			uint32_t mask = plen ? ~0u << (32 - plen) : 0;
			r.fake_dns = 1;
			r.fake_base = (ntohl(ia.s_addr) & mask) + 1;       /* skip the network address */
			uint32_t size = (~mask) - 1;                          /* and the broadcast one */
			r.fake_size = size > 65536 ? 65536 : size;
			break;
		}
		case 'h': relay_usage(stdout); return 0;
		default:
			if (!app_net_option(c, optarg, &n, &has_ip))
				app_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		app_usage_error("unexpected argument '%s'", argv[optind]);
	if (n.tap)
		app_usage_error("relay runs on a TUN device: use --tun NAME");
	app_net_check(&n, has_ip);
	if (has_socks == r.direct)
		app_usage_error("give exactly one of --socks5 HOST:PORT or --direct");
	if ((r.user || r.pass) && !has_socks)
		app_usage_error("--user and --pass go with --socks5");
	if (!!r.user != !!r.pass)
		app_usage_error("give both --user and --pass");
	if (r.fake_dns && r.direct)
		app_usage_error("--fake-dns needs --socks5 (the proxy resolves the names)");

	/* The budget: 3/4 for the stack (TCP rings, packet buffers), 1/4 for
	 * the relay's own per-flow buffers. The packet pool is sized to fit. */
	struct us_stack_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.mem_max = r.mem_max / 4 * 3;
	r.relay_mem_max = r.mem_max / 4;
	uint64_t frames = cfg.mem_max / 4 / 2176;
	cfg.frame_bufs = (uint32_t)(frames > 4096 ? 4096 : (frames < 256 ? 256 : frames));
	cfg.large_bufs = 8;
	cfg.max_sockets = 16384;
	cfg.tcp_max_conns = 16384;
	cfg.tcp_max_syn_backlog = 128;
	cfg.tcp_synack_retries = 3;
	cfg.tcp_rmem = 128u << 10;
	cfg.tcp_wmem = 128u << 10;
	n.cfg = &cfg;
	r.fake = r.fake_dns ? calloc(r.fake_size, sizeof(*r.fake)) : NULL;
	if (r.fake_dns && !r.fake) {
		fprintf(stderr, "ustack: out of memory\n");
		return 1;
	}

	/* One or two kernel sockets per flow: take every descriptor allowed. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	int sfd = app_signal_fd();
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sfd < 0 || tfd < 0) {
		perror("ustack: signalfd/timerfd");
		return 1;
	}
	struct itimerspec its = {{1, 0}, {1, 0}};
	timerfd_settime(tfd, 0, &its, NULL);

	struct app_stack a;
	if (app_stack_open(&n, &a) < 0)
		return 1;
	r.st = a.st;
	/* Replies go back into the device whatever the client's address. */
	struct in_addr any = {0};
	us_route_add(r.st, any, 0, any, a.ifindex);
	r.loop = app_loop_new(&n, r.st);
	int one = 1, rc = 0;
	struct sockaddr_in me = sin_of(ntohl(n.ip.s_addr), 0);
	r.lfd = us_socket(r.st, AF_INET, SOCK_STREAM, 0);
	r.ufd = us_socket(r.st, AF_INET, SOCK_DGRAM, 0);
	r.ifd = us_socket(r.st, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (!r.loop || r.lfd < 0 || r.ufd < 0 || r.ifd < 0 ||
	    us_setsockopt(r.st, r.lfd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0 ||
	    us_setsockopt(r.st, r.lfd, IPPROTO_TCP, US_TCP_DEFER_HANDSHAKE, &one, sizeof(one)) < 0 ||
	    us_bind(r.st, r.lfd, (struct sockaddr *)&me, sizeof(me)) < 0 || us_listen(r.st, r.lfd, 1024) < 0 ||
	    us_setsockopt(r.st, r.ufd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0 ||
	    us_bind(r.st, r.ufd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    us_setsockopt(r.st, r.ifd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0) {
		fprintf(stderr, "ustack: cannot set up the transparent sockets\n");
		if (r.loop)
			us_loop_free(r.loop);
		app_stack_close(&a);
		return 1;
	}
	int big = 4 << 20;
	us_setsockopt(r.st, r.ufd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	us_sock_set_callback(r.st, r.lfd, on_listener, &r);
	us_sock_set_callback(r.st, r.ufd, on_udp, &r);
	us_sock_set_callback(r.st, r.ifd, on_icmp, &r);
	struct relay_ctl ctl = {&r, tfd, stats_every, us_now_ns() + stats_every};
	us_loop_add_fd(r.loop, sfd, EPOLLIN, on_signal, &ctl);
	us_loop_add_fd(r.loop, tfd, EPOLLIN, on_tick, &ctl);

	char ipbuf[INET_ADDRSTRLEN], pbuf[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &n.ip, ipbuf, sizeof(ipbuf));
	printf("ustack relay: ready on %s %s/%d, %s%s%s, budget %llu bytes\n", a.devname, ipbuf, n.ip_plen,
	       r.direct ? "direct" : "socks5 ", r.direct ? "" : ipstr(ntohl(r.proxy.sin_addr.s_addr), pbuf),
	       r.fake_dns ? ", fake DNS" : "", (unsigned long long)r.mem_max);
	fflush(stdout);
	rc = us_loop_run(r.loop, -1);
	if (rc < 0)
		fprintf(stderr, "ustack: event loop failed: %s\n", strerror(-rc));
	printf("ustack relay: stopping\n");
	print_report(&r, stdout);
	for (struct tflow *f = r.tflows, *nx; f; f = nx) {
		nx = f->next;
		tflow_abort(f, 1);
	}
	for (struct umap *m = r.umaps, *nx; m; m = nx) {
		nx = m->next;
		umap_free(m);
	}
	for (struct pmap *p = r.pmaps, *nx; p; p = nx) {
		nx = p->next;
		pmap_free(p);
	}
	us_close(r.st, r.lfd);
	us_close(r.st, r.ufd);
	us_close(r.st, r.ifd);
	us_loop_free(r.loop);
	app_stack_close(&a);
	for (uint32_t i = 0; i < r.fake_size && r.fake; i++)
		free(r.fake[i].name);
	free(r.fake);
	close(sfd);
	close(tfd);
	return rc < 0 ? 1 : 0;
}
