/* ustack relay: UDP mappings. Endpoint-independent ("full cone"): one
 * upstream socket (--direct) or one UDP ASSOCIATE (through the proxy) per
 * client address:port, so every destination sees the same mapped
 * address:port, and replies from any remote come back with that remote as
 * their source. Mappings are found by a hash of the client endpoint. */
#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

enum { U_READY, U_CTL_CONNECTING, U_CTL_SOCKS };

struct udgram {
	struct relay_ep dst;
	uint16_t len;
	uint8_t *data;
};

struct umap {
	struct relay *r;
	struct umap *prev, *next;     /* every mapping (expiry, report) */
	struct umap *hnext;           /* hash chain */
	struct relay_ep client;
	int kfd;                      /* direct: the UDP socket; socks: UDP to the proxy's relay */
	int ctl;                      /* socks: the association's TCP connection (-1 in direct) */
	uint8_t state, nq;
	struct socks5_client *socks;  /* during the association's handshake only */
	struct udgram *q;             /* UDP_QUEUE_MAX datagrams held while it opens (socks) */
	struct relay_ep last_dst;
	uint64_t created, last, up, down;
};

int relay_udp_init(struct relay *r)
{
	r->umap_hash_size = 1;
	while (r->umap_hash_size < r->max_udp_maps)
		r->umap_hash_size <<= 1;
	r->umap_hash = calloc(r->umap_hash_size, sizeof(*r->umap_hash));
	return r->umap_hash ? 0 : -1;
}

static struct umap **umap_bucket(struct relay *r, const struct relay_ep *c)
{
	return &r->umap_hash[relay_ep_hash(c) & (r->umap_hash_size - 1)];
}

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
	for (int i = 0; i < m->nq; i++) {
		relay_mem_give(r, m->q[i].len);
		free(m->q[i].data);
	}
	if (m->q)
		relay_mem_give(r, UDP_QUEUE_MAX * sizeof(*m->q));
	free(m->q);
	if (m->socks)
		relay_mem_give(r, sizeof(*m->socks));
	free(m->socks);
	relay_mem_give(r, sizeof(*m));
	for (struct umap **pp = umap_bucket(r, &m->client); *pp; pp = &(*pp)->hnext)
		if (*pp == m) {
			*pp = m->hnext;
			break;
		}
	if (m->prev)
		m->prev->next = m->next;
	else
		r->umaps = m->next;
	if (m->next)
		m->next->prev = m->prev;
	r->n_umaps--;
	free(m);
}

static struct umap *umap_find(struct relay *r, const struct relay_ep *c)
{
	for (struct umap *m = *umap_bucket(r, c); m; m = m->hnext)
		if (relay_ep_eq(&m->client, c))
			return m;
	return NULL;
}

/* Send one client datagram upstream (the mapping is ready). */
static void umap_send(struct umap *m, const struct relay_ep *dst, const uint8_t *data, size_t len)
{
	struct relay *r = m->r;
	ssize_t w;
	if (r->direct) {
		struct sockaddr_storage to;
		socklen_t tl = relay_ep_sockaddr(dst, &to);
		w = sendto(m->kfd, data, len, 0, (struct sockaddr *)&to, tl);
	} else {
		uint8_t hdr[SOCKS5_UDP_HDR_MAX];
		struct socks5_addr a;
		relay_ep_socks(dst, relay_fake_name(r, dst), &a);
		size_t h = socks5_udp_header(hdr, &a);
		if (!h) {
			r->c.UdpDrops++;
			return;
		}
		struct iovec iov[2] = {{hdr, h}, {(void *)data, len}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
		w = sendmsg(m->kfd, &mh, 0);
	}
	if (w < 0) {
		r->c.UdpDrops++;
		return;
	}
	m->up++;
	m->last_dst = *dst;
	r->c.UdpDatagramsUp++;
	r->c.UdpBytesUp += len;
	if (m->client.family == AF_INET6)
		r->c.UdpDatagramsUp6++;
}

static void umap_flush_queue(struct umap *m)
{
	for (int i = 0; i < m->nq; i++) {
		umap_send(m, &m->q[i].dst, m->q[i].data, m->q[i].len);
		relay_mem_give(m->r, m->q[i].len);
		free(m->q[i].data);
	}
	m->nq = 0;
	if (m->q)
		relay_mem_give(m->r, UDP_QUEUE_MAX * sizeof(*m->q));
	free(m->q);
	m->q = NULL;
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
		/* Address and port we will send from: unknown yet, so zeros
		 * (RFC 1928 section 7), of the proxy's family. */
		struct relay_ep any = {.family = r->proxy.family};
		struct socks5_addr a;
		relay_ep_socks(&any, NULL, &a);
		if (relay_mem_take(r, sizeof(*m->socks)) < 0)
			goto dead;
		if (!(m->socks = malloc(sizeof(*m->socks)))) {
			relay_mem_give(r, sizeof(*m->socks));
			goto dead;
		}
		socks5_client_init(m->socks, SOCKS5_CMD_UDP_ASSOCIATE, &a, r->user, r->pass);
		m->state = U_CTL_SOCKS;
		us_loop_mod_fd(r->loop, m->ctl, EPOLLIN);
	}
	if (m->state == U_CTL_SOCKS) {
		int rc = relay_socks_drive(m->ctl, m->socks);
		if (rc < 0)
			goto dead;
		if (rc == 0)
			return;
		/* The reply: where to send datagrams (an unspecified address:
		 * the proxy's own). */
		struct relay_ep rel = r->proxy;
		const struct socks5_addr *b = &m->socks->bnd;
		if (b->atyp == SOCKS5_ATYP_IPV4 && socks5_addr_ipv4_get(b) && r->proxy.family == AF_INET)
			rel.a.v4.s_addr = htonl(socks5_addr_ipv4_get(b));
		else if (b->atyp == SOCKS5_ATYP_IPV6 && r->proxy.family == AF_INET6 &&
			 memcmp(b->ip, &in6addr_any, 16))
			memcpy(&rel.a.v6, b->ip, 16);
		rel.port = b->port;
		relay_mem_give(r, sizeof(*m->socks));
		free(m->socks);
		m->socks = NULL;
		struct sockaddr_storage ss;
		socklen_t sl = relay_ep_sockaddr(&rel, &ss);
		if (connect(m->kfd, (struct sockaddr *)&ss, sl) < 0)
			goto dead;
		m->state = U_READY;
		umap_flush_queue(m);
		return;
	}
	/* Ready: nothing more is expected on it; its end ends the association. */
	for (int guard = 0; guard < 8; guard++) {
		uint8_t junk[512];
		ssize_t k = recv(m->ctl, junk, sizeof(junk), 0);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			goto dead;
		if (k < 0)
			return;
	}
	return;
dead:
	r->c.UdpDrops += (uint64_t)m->nq;
	umap_free(m);
}

static void umap_errqueue(struct umap *m)
{
	/* IP_RECVERR, IPV6_RECVERR: ICMP errors for datagrams we sent (direct
	 * mode), passed on with their own family's code. */
	struct relay *r = m->r;
	for (int i = 0; i < 16; i++) {
		uint8_t data[64], cbuf[512];
		struct sockaddr_storage off;
		struct iovec iov = {data, sizeof(data)};
		struct msghdr mh = {.msg_name = &off, .msg_namelen = sizeof(off), .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
		if (recvmsg(m->kfd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		struct relay_ep dst;
		if (relay_ep_from(&dst, (struct sockaddr *)&off, mh.msg_namelen) < 0)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			int v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
			int v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
			if ((!v4 && !v6) || c->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err)))
				continue;
			struct sock_extended_err ee;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			/* Destination unreachable: ICMP type 3, ICMPv6 type 1. */
			if (v4 && (ee.ee_origin != SO_EE_ORIGIN_ICMP || ee.ee_type != 3))
				continue;
			if (v6 && (ee.ee_origin != SO_EE_ORIGIN_ICMP6 || ee.ee_type != 1))
				continue;
			/* msg_name: where the failed datagram was going. */
			relay_icmp_unreach(r, &m->client, &dst, ee.ee_code);
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
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(m->kfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (r->direct)
				umap_errqueue(m);
			continue;
		}
		struct relay_ep src;
		if (!r->direct && m->state != U_READY) {
			/* Not yet connected to the proxy's relay port: anyone could
			 * have sent this. */
			r->c.UdpDrops++;
			continue;
		}
		const uint8_t *payload = buf;
		size_t plen = (size_t)n;
		if (r->direct) {
			if (relay_ep_from(&src, (struct sockaddr *)&from, fl) < 0) {
				r->c.UdpDrops++;
				continue;
			}
		} else {
			struct socks5_addr a;
			int h = socks5_parse_udp(buf, (size_t)n, &a);
			/* The source must be an address of the client's family
			 * (a name cannot be handed back as a source). */
			if (h < 0 || a.atyp != (m->client.family == AF_INET ? SOCKS5_ATYP_IPV4 : SOCKS5_ATYP_IPV6)) {
				r->c.UdpDrops++;
				continue;
			}
			memset(&src, 0, sizeof(src));
			src.family = m->client.family;
			memcpy(&src.a, a.ip, src.family == AF_INET ? 4 : 16);
			src.port = a.port;
			payload += h;
			plen -= (size_t)h;
		}
		/* Any remote may answer (endpoint-independent filtering): it
		 * appears to the client as itself. */
		struct sockaddr_storage s, d;
		socklen_t sl = relay_ep_sockaddr(&src, &s), dl = relay_ep_sockaddr(&m->client, &d);
		ssize_t w = us_sendfromto(r->st, r->ufd[relay_fi(m->client.family)], payload, plen, 0, (struct sockaddr *)&s,
					  sl, (struct sockaddr *)&d, dl);
		if (w < 0) {
			r->c.UdpDrops++;
			continue;
		}
		m->down++;
		m->last = us_now_ns();
		r->c.UdpDatagramsDown++;
		r->c.UdpBytesDown += plen;
		if (m->client.family == AF_INET6)
			r->c.UdpDatagramsDown6++;
	}
}

static struct umap *umap_new(struct relay *r, const struct relay_ep *client)
{
	if (r->n_umaps >= r->max_udp_maps || relay_mem_take(r, sizeof(struct umap)) < 0) {
		r->c.UdpMapLimit++;
		return NULL;
	}
	struct umap *m = calloc(1, sizeof(*m));
	if (!m) {
		relay_mem_give(r, sizeof(struct umap));
		return NULL;
	}
	m->r = r;
	m->client = *client;
	m->kfd = m->ctl = -1;
	m->created = m->last = us_now_ns();
	m->next = r->umaps;
	if (r->umaps)
		r->umaps->prev = m;
	r->umaps = m;
	struct umap **b = umap_bucket(r, client);
	m->hnext = *b;
	*b = m;
	r->n_umaps++;
	r->c.UdpMappings++;
	if (client->family == AF_INET6)
		r->c.UdpMappings6++;
	/* direct: a socket to everyone; socks: one to the proxy's relay port
	 * (only the proxy's datagrams reach it once connected). */
	int fd = relay_upstream_socket(r, r->direct ? client->family : r->proxy.family, SOCK_DGRAM, 0);
	if (fd < 0)
		goto fail;
	m->kfd = fd;
	if (r->direct) {
		int one = 1;
		if (client->family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
		else
			setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
		m->state = U_READY;
	} else {
		int c = relay_upstream_socket(r, r->proxy.family, SOCK_STREAM, 0);
		if (c < 0)
			goto fail;
		m->ctl = c;
		struct sockaddr_storage ss;
		socklen_t sl = relay_ep_sockaddr(&r->proxy, &ss);
		if (connect(c, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
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

void relay_udp_on_socket(struct us_stack *st, int s, unsigned ev, void *arg)
{
	(void)ev;
	struct relay *r = arg;
	static uint8_t buf[65536], ans[1024];
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage from, to;
		socklen_t fl = sizeof(from), tl = sizeof(to);
		ssize_t n = us_recvfromto(st, s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl, (struct sockaddr *)&to, &tl);
		if (n < 0)
			break;
		struct relay_ep client, dst;
		if (relay_ep_from(&client, (struct sockaddr *)&from, fl) < 0 ||
		    relay_ep_from(&dst, (struct sockaddr *)&to, tl) < 0) {
			r->c.UdpDrops++;
			continue;
		}
		if (r->fake_dns && dst.port == 53) {
			int is6;
			size_t an = relay_dns_answer(r, buf, (size_t)n, ans, sizeof(ans), &is6);
			if (!an) {
				r->c.DnsMalformed++;
				continue;
			}
			if (us_sendfromto(st, s, ans, an, 0, (struct sockaddr *)&to, tl, (struct sockaddr *)&from, fl) > 0) {
				r->c.DnsAnswers++;
				r->c.DnsAnswers6 += (uint64_t)is6;
			}
			continue;
		}
		if (relay_fake_has(r, &dst) && !relay_fake_name(r, &dst)) {
			r->c.UdpDrops++;
			continue;
		}
		struct umap *m = umap_find(r, &client);
		if (!m)
			m = umap_new(r, &client);
		if (!m) {
			r->c.UdpDrops++;
			continue;
		}
		m->last = us_now_ns();
		if (m->state == U_READY) {
			umap_send(m, &dst, buf, (size_t)n);
			continue;
		}
		if (!m->q) {
			if (relay_mem_take(r, UDP_QUEUE_MAX * sizeof(*m->q)) < 0) {
				r->c.UdpDrops++;
				continue;
			}
			struct udgram *qs = calloc(UDP_QUEUE_MAX, sizeof(*qs));
			if (!qs) {
				relay_mem_give(r, UDP_QUEUE_MAX * sizeof(*m->q));
				r->c.UdpDrops++;
				continue;
			}
			m->q = qs;
		}
		if (m->nq < UDP_QUEUE_MAX) {
			if (relay_mem_take(r, (size_t)n) < 0) {
				r->c.UdpDrops++;
				continue;
			}
			uint8_t *copy = malloc((size_t)n ? (size_t)n : 1);
			if (!copy) {
				relay_mem_give(r, (size_t)n);
				r->c.UdpDrops++;
				continue;
			}
			memcpy(copy, buf, (size_t)n);
			struct udgram *q = &m->q[m->nq];
			q->data = copy;
			q->len = (uint16_t)n;
			q->dst = dst;
			m->nq++;
		} else {
			r->c.UdpDrops++;
		}
	}
}

void relay_udp_expire(struct relay *r, uint64_t now)
{
	for (struct umap *m = r->umaps, *nx; m; m = nx) {
		nx = m->next;
		if (now - m->last > r->udp_timeout_ns || (m->state != U_READY && now - m->created > CONNECT_TIMEOUT_NS)) {
			r->c.UdpExpired++;
			umap_free(m);
		}
	}
}

void relay_udp_free_all(struct relay *r)
{
	for (struct umap *m = r->umaps, *nx; m; m = nx) {
		nx = m->next;
		umap_free(m);
	}
	free(r->umap_hash);
	r->umap_hash = NULL;
}

void relay_udp_report(struct relay *r, FILE *out, uint64_t now)
{
	char a[RELAY_EP_STR], b[RELAY_EP_STR], c[RELAY_EP_STR];
	for (struct umap *m = r->umaps; m; m = m->next) {
		struct sockaddr_storage la;
		socklen_t ll = sizeof(la);
		struct relay_ep mapped;
		memset(&la, 0, sizeof(la));
		memset(&mapped, 0, sizeof(mapped));
		if (getsockname(m->kfd, (struct sockaddr *)&la, &ll) < 0 || relay_ep_from(&mapped, (struct sockaddr *)&la, ll) < 0)
			mapped.family = AF_INET;
		fprintf(out, "  udp %s mapped %s%s last %s up %llu down %llu idle %.1fs\n", relay_ep_str(&m->client, a),
			relay_ep_str(&mapped, b), m->state == U_READY ? "" : " (associating)",
			m->last_dst.family ? relay_ep_str(&m->last_dst, c) : "0.0.0.0:0", (unsigned long long)m->up,
			(unsigned long long)m->down, (now - m->last) / 1e9);
	}
}
