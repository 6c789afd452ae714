/* ustack relay: ICMP and ICMPv6. Echo requests are forwarded through
 * unprivileged ping sockets of their family in --direct mode (so ping
 * shows the real host's RTT and TTL or hop limit), or answered by the relay
 * itself through a proxy, which cannot carry ICMP. ICMP errors for UDP
 * datagrams (--direct) reach the client as the same error, sent in the
 * destination's name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

struct pmap {
	struct relay *r;
	struct pmap *prev, *next;
	struct relay_ep client;       /* port: the echo identifier */
	int kfd;
	uint64_t last;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

/* Sends an ICMP message (checksum filled in by the stack) from -> to. */
static int icmp_send(struct relay *r, const struct relay_ep *from, const struct relay_ep *to, const uint8_t *m,
		     size_t n, int ttl)
{
	struct relay_ep f = *from, t = *to;
	f.port = t.port = 0;
	struct sockaddr_storage fs, ts;
	socklen_t fl = relay_ep_sockaddr(&f, &fs), tl = relay_ep_sockaddr(&t, &ts);
	int fd = r->ifd[relay_fi(to->family)];
	if (fd < 0 || from->family != to->family)
		return -1;
	/* (IP_TTL is the hop limit of the stack's ICMPv6 sockets too) */
	us_setsockopt(r->st, fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	return us_sendfromto(r->st, fd, m, n, 0, (struct sockaddr *)&fs, fl, (struct sockaddr *)&ts, tl) > 0 ? 0 : -1;
}

/* RFC 4443 3.1: ICMPv6 destination unreachable, quoting the IPv6 header
 * and the UDP header (the stack fills in the checksum). */
static void unreach6(struct relay *r, const struct relay_ep *c, const struct relay_ep *d, uint8_t code)
{
	uint8_t m[8 + 48];
	memset(m, 0, sizeof(m));
	m[0] = 1;
	m[1] = code;
	uint8_t *ip = m + 8;
	ip[0] = 0x60;
	put16(ip + 4, 8);    /* payload: the UDP header quoted */
	ip[6] = 17;
	ip[7] = 64;
	memcpy(ip + 8, &c->a.v6, 16);
	memcpy(ip + 24, &d->a.v6, 16);
	put16(ip + 40, c->port);
	put16(ip + 42, d->port);
	put16(ip + 44, 8);
	if (icmp_send(r, d, c, m, sizeof(m), 64) == 0)
		r->c.UdpUnreachSent++;
}

/* RFC 792, RFC 1122 3.2.2: the error quotes the IP header and the first 8
 * bytes of the datagram it concerns. */
void relay_icmp_unreach(struct relay *r, const struct relay_ep *c, const struct relay_ep *d, uint8_t code)
{
	if (c->family != d->family)
		return;
	if (c->family == AF_INET6) {
		unreach6(r, c, d, code);
		return;
	}
	uint8_t m[8 + 28];
	memset(m, 0, sizeof(m));
	m[0] = 3;
	m[1] = code;
	uint8_t *ip = m + 8;
	ip[0] = 0x45;
	put16(ip + 2, 28);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &c->a.v4, 4);
	memcpy(ip + 16, &d->a.v4, 4);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += get16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	put16(ip + 10, (uint16_t)~sum);
	put16(ip + 20, c->port);
	put16(ip + 22, d->port);
	put16(ip + 24, 8);
	if (icmp_send(r, d, c, m, sizeof(m), 64) == 0)
		r->c.UdpUnreachSent++;
}

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

static void echo_reply_to(struct relay *r, const struct relay_ep *from, const struct relay_ep *to, uint16_t id,
			  const uint8_t *icmp, size_t n, int ttl)
{
	static uint8_t buf[65536];
	if (n < 8 || n > sizeof(buf))
		return;
	memcpy(buf, icmp, n);
	buf[0] = to->family == AF_INET6 ? 129 : 0;   /* echo reply */
	buf[1] = 0;
	put16(buf + 4, id);
	if (icmp_send(r, from, to, buf, n, ttl) == 0)
		r->c.IcmpEchoReplies++;
}

static void pmap_kev(struct us_loop *loop, int fd, unsigned ev, void *arg)
{
	(void)loop;
	(void)fd;
	(void)ev;
	struct pmap *p = arg;
	static uint8_t data[65536];
	for (int i = 0; i < 64; i++) {
		uint8_t cbuf[128];
		struct sockaddr_storage from;
		struct iovec iov = {data, sizeof(data)};
		struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(p->kfd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return;
		struct relay_ep src;
		int v6 = p->client.family == AF_INET6;
		if (n < 8 || data[0] != (v6 ? 129 : 0) || relay_ep_from(&src, (struct sockaddr *)&from, mh.msg_namelen) < 0 ||
		    src.family != p->client.family)
			continue;
		int ttl = 64;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_len >= CMSG_LEN(sizeof(int)) &&
			    ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
			     (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)))
				memcpy(&ttl, CMSG_DATA(c), sizeof(int));
		/* The real reply's TTL, so ping shows the real path. */
		if (ttl < 1 || ttl > 255)
			ttl = 64;
		p->last = us_now_ns();
		echo_reply_to(p->r, &src, &p->client, p->client.port, data, (size_t)n, ttl);
	}
}

static struct pmap *pmap_get(struct relay *r, const struct relay_ep *client)
{
	for (struct pmap *p = r->pmaps; p; p = p->next)
		if (relay_ep_eq(&p->client, client))
			return p;
	if (r->n_pmaps >= MAX_PING_MAPS)
		return NULL;
	int v6 = client->family == AF_INET6;
	int fd = relay_upstream_socket(r, client->family, SOCK_DGRAM, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0) {
		if (!r->ping_warned++)
			fprintf(stderr, "ustack relay: cannot open a ping socket (%s): is net.ipv4.ping_group_range set?\n",
				strerror(-fd));
		return NULL;
	}
	int one = 1;
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one));
	struct pmap *p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return NULL;
	}
	p->r = r;
	p->client = *client;
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

void relay_icmp_on_socket(struct us_stack *st, int s, unsigned ev, void *arg)
{
	(void)ev;
	struct relay *r = arg;
	static uint8_t buf[65536];
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage from, to;
		socklen_t fl = sizeof(from), tl = sizeof(to);
		ssize_t n = us_recvfromto(st, s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl, (struct sockaddr *)&to, &tl);
		if (n < 0)
			break;
		struct relay_ep client, dst;
		if (n < 8 || relay_ep_from(&client, (struct sockaddr *)&from, fl) < 0 ||
		    relay_ep_from(&dst, (struct sockaddr *)&to, tl) < 0 || client.family != dst.family ||
		    buf[0] != (client.family == AF_INET6 ? 128 : 8))
			continue;   /* echo requests only: ICMP type 8, ICMPv6 type 128 */
		if (client.family == AF_INET6)
			r->c.IcmpEchoRequests6++;
		client.port = get16(buf + 4);   /* the echo identifier names the mapping */
		dst.port = 0;
		if (!r->direct) {
			/* Through a proxy there is no way to ping: answered here. */
			r->c.IcmpEchoLocal++;
			echo_reply_to(r, &dst, &client, client.port, buf, (size_t)n, 64);
			continue;
		}
		struct pmap *p = pmap_get(r, &client);
		struct sockaddr_storage d;
		socklen_t dl = relay_ep_sockaddr(&dst, &d);
		if (!p || sendto(p->kfd, buf, (size_t)n, 0, (struct sockaddr *)&d, dl) < 0) {
			r->c.IcmpEchoFailed++;
			continue;
		}
		p->last = us_now_ns();
		r->c.IcmpEchoForwarded++;
	}
}

void relay_icmp_expire(struct relay *r, uint64_t now)
{
	for (struct pmap *p = r->pmaps, *nx; p; p = nx) {
		nx = p->next;
		if (now - p->last > r->udp_timeout_ns)
			pmap_free(p);
	}
}

void relay_icmp_free_all(struct relay *r)
{
	for (struct pmap *p = r->pmaps, *nx; p; p = nx) {
		nx = p->next;
		pmap_free(p);
	}
}

void relay_icmp_report(struct relay *r, FILE *out, uint64_t now)
{
	char a[RELAY_EP_STR];
	for (struct pmap *p = r->pmaps; p; p = p->next)
		fprintf(out, "  ping %s id %u idle %.1fs\n", relay_ep_addr_str(&p->client, a), p->client.port,
			(now - p->last) / 1e9);
}
