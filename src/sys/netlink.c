/* rtnetlink requests: one socket per call, one request, wait for the
 * kernel's answer. Every message read is length-checked (NLMSG_OK,
 * RTA_OK, payload sizes) before any field is used. */
#include "ustack/host.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NL_RXBUF 65536      /* the kernel sizes dump messages up to 32 KiB */
#define NL_MAX_DGRAMS 4096  /* bound on datagrams read for one request */

struct nl {
	int fd;
	uint32_t portid;
	uint32_t seq;
};

struct nlreq {
	union {
		struct nlmsghdr h;
		uint8_t raw[512];
	} u;
};

/* Called for each reply message that belongs to our request (not ACK,
 * error or DONE). Return < 0 to fail the request (the rest of the answer
 * is still consumed). */
typedef int (*nl_cb)(const struct nlmsghdr *h, void *arg);

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int nl_open(struct nl *nl)
{
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return -errno;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t sl = sizeof(sa);
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(nl->fd, (struct sockaddr *)&sa, &sl) < 0) {
		int e = -errno;
		close(nl->fd);
		nl->fd = -1;
		return e;
	}
	nl->portid = sa.nl_pid;
	/* A sequence number no earlier socket with this port id used. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	nl->seq = (uint32_t)ts.tv_nsec ^ ((uint32_t)ts.tv_sec << 20);
	return 0;
}

static void nl_close(struct nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

static void *nlreq_init(struct nlreq *r, uint16_t type, uint16_t flags, size_t fam_len)
{
	memset(r, 0, sizeof(*r));
	r->u.h.nlmsg_len = NLMSG_LENGTH(fam_len);
	r->u.h.nlmsg_type = type;
	r->u.h.nlmsg_flags = NLM_F_REQUEST | flags;
	return NLMSG_DATA(&r->u.h);
}

static int nlreq_attr(struct nlreq *r, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->u.h.nlmsg_len);
	size_t alen = RTA_LENGTH(len);
	if (off + RTA_ALIGN(alen) > sizeof(r->u.raw))
		return -EMSGSIZE;
	struct rtattr *a = (struct rtattr *)(void *)(r->u.raw + off);
	a->rta_type = type;
	a->rta_len = (unsigned short)alen;
	memcpy(RTA_DATA(a), data, len);
	r->u.h.nlmsg_len = (uint32_t)(off + RTA_ALIGN(alen));
	return 0;
}

/* Handles the messages of one datagram. Returns 1 when the answer is
 * complete (ACK, error or DONE) with *result set, 0 to keep reading. */
static int nl_handle(const struct nl *nl, uint8_t *buf, size_t n, nl_cb cb, void *arg, int *result)
{
	/* The checks of NLMSG_OK/NLMSG_NEXT, written out so the arithmetic
	 * stays in size_t: a header must fit, and its length must cover the
	 * header and stay inside the datagram. */
	size_t off = 0;
	while (n - off >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr *h = (struct nlmsghdr *)(void *)(buf + off);
		if (h->nlmsg_len < sizeof(struct nlmsghdr) || h->nlmsg_len > n - off)
			return *result = -EBADMSG, 1;
		size_t step = NLMSG_ALIGN(h->nlmsg_len);
		off = step > n - off ? n : off + step;
		if (h->nlmsg_seq != nl->seq || h->nlmsg_pid != nl->portid)
			continue;  /* not the answer to our request */
		if (h->nlmsg_flags & NLM_F_DUMP_INTR) {
			/* The table changed during the dump: the caller retries. */
			if (*result == 0)
				*result = -EAGAIN;
		}
		if (h->nlmsg_type == NLMSG_ERROR) {
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				return *result = -EBADMSG, 1;
			const struct nlmsgerr *e = NLMSG_DATA(h);
			if (e->error > 0)
				return *result = -EBADMSG, 1;
			if (e->error < 0)
				*result = e->error;
			return 1;  /* error 0 is the ACK */
		}
		if (h->nlmsg_type == NLMSG_DONE) {
			/* A dump's end may carry an error code. */
			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
				int e;
				memcpy(&e, NLMSG_DATA(h), sizeof(e));
				if (e < 0 && *result == 0)
					*result = e;
			}
			return 1;
		}
		if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_OVERRUN)
			continue;
		if (cb && *result == 0) {
			int r = cb(h, arg);
			if (r < 0)
				*result = r;
		}
	}
	if (off != n)
		return *result = -EBADMSG, 1;  /* trailing bytes that are no message */
	return 0;
}

/* Sends the request (with NLM_F_ACK unless it is a dump) and reads until
 * the ACK/error or, for dumps, NLMSG_DONE. */
static int nl_transact(struct nl *nl, struct nlreq *req, nl_cb cb, void *arg)
{
	int dump = (req->u.h.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	/* Dumps are not ACKed (the kernel ends them with NLMSG_DONE). */
	if (!dump)
		req->u.h.nlmsg_flags |= NLM_F_ACK;
	req->u.h.nlmsg_seq = ++nl->seq;
	req->u.h.nlmsg_pid = 0;

	struct sockaddr_nl kern = { .nl_family = AF_NETLINK };
	ssize_t s;
	int tries = 0;
	do
		s = sendto(nl->fd, req, req->u.h.nlmsg_len, 0, (struct sockaddr *)&kern, sizeof(kern));
	while (s < 0 && errno == EINTR && ++tries < 8);
	if (s < 0)
		return -errno;
	if ((size_t)s != req->u.h.nlmsg_len)
		return -EIO;

	uint8_t *buf = malloc(NL_RXBUF);
	if (!buf)
		return -ENOMEM;
	int result = 0, done = 0;
	uint64_t deadline = mono_ms() + US_NL_TIMEOUT_MS;
	for (int i = 0; i < NL_MAX_DGRAMS && !done; i++) {
		uint64_t now = mono_ms();
		if (now >= deadline) {
			result = -ETIMEDOUT;
			break;
		}
		struct pollfd pfd = { .fd = nl->fd, .events = POLLIN };
		int pr = poll(&pfd, 1, (int)(deadline - now));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			result = -errno;
			break;
		}
		if (pr == 0) {
			result = -ETIMEDOUT;
			break;
		}
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = buf, .iov_len = NL_RXBUF };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(nl->fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			result = -errno;  /* ENOBUFS: the kernel dropped part of the answer */
			break;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			result = -EMSGSIZE;
			break;
		}
		if (mh.msg_namelen < sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue;  /* only the kernel answers */
		done = nl_handle(nl, buf, (size_t)n, cb, arg, &result);
	}
	if (!done && result == 0)
		result = -ETIMEDOUT;
	free(buf);
	return result;
}

/* One request on a fresh socket; a dump interrupted by a concurrent change
 * is retried a few times. */
static int nl_request(struct nlreq *req, nl_cb cb, void *arg, void (*reset)(void *))
{
	struct nl nl = { .fd = -1 };
	int r = nl_open(&nl);
	if (r < 0)
		return r;
	for (int attempt = 0; attempt < 4; attempt++) {
		if (reset)
			reset(arg);
		r = nl_transact(&nl, req, cb, arg);
		if (r != -EAGAIN)
			break;
	}
	nl_close(&nl);
	return r;
}

static int name_ok(const char *name)
{
	return name && name[0] && strnlen(name, IFNAMSIZ) < IFNAMSIZ;
}

/* ---- links ----------------------------------------------------------- */

struct linkinfo {
	int index;
	unsigned flags;
	uint32_t mtu;
	int has_mtu;
	uint8_t mac[6];
	int has_mac;
	int found;
};

static int getlink_cb(const struct nlmsghdr *h, void *arg)
{
	struct linkinfo *li = arg;
	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return -EBADMSG;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	li->found = 1;
	li->index = ifi->ifi_index;
	li->flags = ifi->ifi_flags;
	int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		size_t pl = RTA_PAYLOAD(a);
		switch (a->rta_type) {
		case IFLA_MTU:
			if (pl >= sizeof(uint32_t)) {
				memcpy(&li->mtu, RTA_DATA(a), sizeof(uint32_t));
				li->has_mtu = 1;
			}
			break;
		case IFLA_ADDRESS:
			if (pl == 6) {
				memcpy(li->mac, RTA_DATA(a), 6);
				li->has_mac = 1;
			}
			break;
		}
	}
	return 0;
}

static void linkinfo_reset(void *arg)
{
	memset(arg, 0, sizeof(struct linkinfo));
}

static int getlink(const char *name, struct linkinfo *li)
{
	/* Cleared here too (nl_request resets it before each attempt): every
	 * field is written whatever the kernel answers, or fails to. */
	linkinfo_reset(li);
	if (!name_ok(name))
		return -EINVAL;
	struct nlreq req;
	struct ifinfomsg *ifi = nlreq_init(&req, RTM_GETLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	int r = nlreq_attr(&req, IFLA_IFNAME, name, strlen(name) + 1);
	if (r < 0)
		return r;
	uint32_t mask = RTEXT_FILTER_SKIP_STATS;
	if ((r = nlreq_attr(&req, IFLA_EXT_MASK, &mask, sizeof(mask))) < 0)
		return r;
	r = nl_request(&req, getlink_cb, li, linkinfo_reset);
	if (r < 0)
		return r;
	if (!li->found || li->index <= 0)
		return -ENODEV;
	return 0;
}

int us_nl_link_index(const char *name)
{
	struct linkinfo li;
	int r = getlink(name, &li);
	return r < 0 ? r : li.index;
}

int us_nl_link_get_mtu(const char *name)
{
	struct linkinfo li;
	int r = getlink(name, &li);
	if (r < 0)
		return r;
	if (!li.has_mtu || li.mtu == 0 || li.mtu > INT32_MAX)
		return -ENODATA;
	return (int)li.mtu;
}

int us_nl_link_get_mac(const char *name, uint8_t mac_out[6])
{
	struct linkinfo li;
	int r = getlink(name, &li);
	if (r < 0)
		return r;
	if (!li.has_mac)
		return -ENODATA;
	memcpy(mac_out, li.mac, 6);
	return 0;
}

int us_nl_link_get_flags(const char *name)
{
	struct linkinfo li;
	int r = getlink(name, &li);
	return r < 0 ? r : (int)(li.flags & 0x7fffffffu);
}

/* RTM_SETLINK on the named link with one optional attribute. */
static int setlink(const char *name, unsigned change, unsigned flags, uint16_t atype, const void *adata, size_t alen)
{
	int idx = us_nl_link_index(name);
	if (idx < 0)
		return idx;
	struct nlreq req;
	struct ifinfomsg *ifi = nlreq_init(&req, RTM_SETLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = idx;
	ifi->ifi_change = change;
	ifi->ifi_flags = flags;
	if (adata) {
		int r = nlreq_attr(&req, atype, adata, alen);
		if (r < 0)
			return r;
	}
	return nl_request(&req, NULL, NULL, NULL);
}

int us_nl_link_set_up(const char *name, int up)
{
	return setlink(name, IFF_UP, up ? IFF_UP : 0, 0, NULL, 0);
}

int us_nl_link_set_mtu(const char *name, uint32_t mtu)
{
	if (mtu == 0 || mtu > INT32_MAX)
		return -EINVAL;
	return setlink(name, 0, 0, IFLA_MTU, &mtu, sizeof(mtu));
}

int us_nl_link_set_txqlen(const char *name, uint32_t qlen)
{
	return setlink(name, 0, 0, IFLA_TXQLEN, &qlen, sizeof(qlen));
}

int us_nl_link_set_mac(const char *name, const uint8_t mac[6])
{
	if (!mac)
		return -EINVAL;
	return setlink(name, 0, 0, IFLA_ADDRESS, mac, 6);
}

int us_nl_link_delete(const char *name)
{
	int idx = us_nl_link_index(name);
	if (idx < 0)
		return idx;
	struct nlreq req;
	struct ifinfomsg *ifi = nlreq_init(&req, RTM_DELLINK, 0, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = idx;
	return nl_request(&req, NULL, NULL, NULL);
}

/* ---- addresses ------------------------------------------------------- */

/* Either family: alen 4 (IPv4) or 16 (IPv6, without DAD: usable at once). */
static int addr_add(const char *name, int family, const void *addr, size_t alen, int prefix_len)
{
	if (prefix_len < 0 || prefix_len > (int)alen * 8)
		return -EINVAL;
	int idx = us_nl_link_index(name);
	if (idx < 0)
		return idx;
	struct nlreq req;
	struct ifaddrmsg *ifa = nlreq_init(&req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = (unsigned char)prefix_len;
	ifa->ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)idx;
	int r = nlreq_attr(&req, IFA_LOCAL, addr, alen);
	if (r < 0 || (r = nlreq_attr(&req, IFA_ADDRESS, addr, alen)) < 0)
		return r;
	return nl_request(&req, NULL, NULL, NULL);
}

int us_nl_addr_add(const char *name, struct in_addr addr, int prefix_len)
{
	return addr_add(name, AF_INET, &addr, 4, prefix_len);
}

int us_nl_addr6_add(const char *name, const struct in6_addr *addr, int prefix_len)
{
	if (!addr)
		return -EINVAL;
	return addr_add(name, AF_INET6, addr, 16, prefix_len);
}

/* A dump's entries of one family, written to out4 or out6 as it says. */
struct addrlist {
	int family, ifindex;
	struct us_nl_addr4 *out4;
	struct us_nl_addr6 *out6;
	int max, n;
};

static int addrlist_cb(const struct nlmsghdr *h, void *arg)
{
	struct addrlist *al = arg;
	if (h->nlmsg_type != RTM_NEWADDR)
		return 0;
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
		return -EBADMSG;
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (ifa->ifa_family != al->family || (int)ifa->ifa_index != al->ifindex)
		return 0;
	size_t alen = al->family == AF_INET6 ? 16 : 4;
	uint8_t local[16] = {0}, address[16] = {0};
	int has_local = 0, has_address = 0;
	uint32_t flags = ifa->ifa_flags;
	int rlen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa)));
	for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, rlen); a = RTA_NEXT(a, rlen)) {
		if (a->rta_type == IFA_FLAGS && RTA_PAYLOAD(a) == 4) {
			memcpy(&flags, RTA_DATA(a), 4);   /* the 32-bit form, past the 8 bits of ifa_flags */
			continue;
		}
		if (RTA_PAYLOAD(a) != alen)
			continue;
		if (a->rta_type == IFA_LOCAL) {
			memcpy(local, RTA_DATA(a), alen);
			has_local = 1;
		} else if (a->rta_type == IFA_ADDRESS) {
			memcpy(address, RTA_DATA(a), alen);
			has_address = 1;
		}
	}
	if (!has_local && !has_address)
		return 0;
	if (al->n < al->max) {
		const uint8_t *x = has_local ? local : address;
		if (al->family == AF_INET6) {
			struct us_nl_addr6 *o = &al->out6[al->n];
			memcpy(&o->addr, x, 16);
			o->prefix_len = ifa->ifa_prefixlen;
			o->ifindex = (int)ifa->ifa_index;
			o->flags = flags;
		} else {
			struct us_nl_addr4 *o = &al->out4[al->n];
			memcpy(&o->addr, x, 4);
			o->prefix_len = ifa->ifa_prefixlen;
			o->ifindex = (int)ifa->ifa_index;
		}
	}
	al->n++;
	return 0;
}

static void addrlist_reset(void *arg)
{
	((struct addrlist *)arg)->n = 0;
}

static int addr_list(const char *name, struct addrlist *al)
{
	if (al->max < 0 || (al->max > 0 && !al->out4 && !al->out6))
		return -EINVAL;
	int idx = us_nl_link_index(name);
	if (idx < 0)
		return idx;
	al->ifindex = idx;
	struct nlreq req;
	struct ifaddrmsg *ifa = nlreq_init(&req, RTM_GETADDR, NLM_F_DUMP, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)al->family;
	int r = nl_request(&req, addrlist_cb, al, addrlist_reset);
	return r < 0 ? r : al->n;
}

int us_nl_addr_list(const char *name, struct us_nl_addr4 *out, int max)
{
	struct addrlist al = {.family = AF_INET, .out4 = out, .max = max};
	return addr_list(name, &al);
}

int us_nl_addr6_list(const char *name, struct us_nl_addr6 *out, int max)
{
	struct addrlist al = {.family = AF_INET6, .out6 = out, .max = max};
	return addr_list(name, &al);
}

/* ---- routes ---------------------------------------------------------- */

/* Either family: dst and gw of alen bytes (gw NULL: on-link). */
static int route_add(int family, const void *dst, const void *gw, size_t alen, int prefix_len, const char *name)
{
	if (prefix_len < 0 || prefix_len > (int)alen * 8)
		return -EINVAL;
	if (!name && !gw)
		return -EINVAL;  /* an on-link route needs a device */
	int idx = 0;
	if (name) {
		idx = us_nl_link_index(name);
		if (idx < 0)
			return idx;
	}
	struct nlreq req;
	struct rtmsg *rt = nlreq_init(&req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*rt));
	rt->rtm_family = (unsigned char)family;
	rt->rtm_dst_len = (unsigned char)prefix_len;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;  /* what ip(8) uses by default */
	/* ip(8)'s scopes: link for an on-link IPv4 route; IPv6 routes are universe. */
	rt->rtm_scope = gw || family == AF_INET6 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rt->rtm_type = RTN_UNICAST;
	int r = 0;
	if (prefix_len > 0)
		r = nlreq_attr(&req, RTA_DST, dst, alen);
	if (r == 0 && gw)
		r = nlreq_attr(&req, RTA_GATEWAY, gw, alen);
	if (r == 0 && idx > 0) {
		uint32_t oif = (uint32_t)idx;
		r = nlreq_attr(&req, RTA_OIF, &oif, sizeof(oif));
	}
	if (r < 0)
		return r;
	return nl_request(&req, NULL, NULL, NULL);
}

int us_nl_route_add(struct in_addr dst, int prefix_len, struct in_addr gw, const char *name)
{
	return route_add(AF_INET, &dst, gw.s_addr ? &gw : NULL, 4, prefix_len, name);
}

int us_nl_route6_add(const struct in6_addr *dst, int prefix_len, const struct in6_addr *gw, const char *name)
{
	static const struct in6_addr any;
	if (gw && !memcmp(gw, &any, 16))
		gw = NULL;   /* :: as the gateway: on-link */
	return route_add(AF_INET6, dst ? (const void *)dst : (const void *)&any, gw, 16, prefix_len, name);
}

struct routelist {
	int family;
	struct us_nl_route4 *out4;
	struct us_nl_route6 *out6;
	int max, n;
};

static int routelist_cb(const struct nlmsghdr *h, void *arg)
{
	struct routelist *rl = arg;
	if (h->nlmsg_type != RTM_NEWROUTE)
		return 0;
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
		return -EBADMSG;
	const struct rtmsg *rt = NLMSG_DATA(h);
	size_t alen = rl->family == AF_INET6 ? 16 : 4;
	if (rt->rtm_family != rl->family || rt->rtm_type != RTN_UNICAST || rt->rtm_dst_len > alen * 8)
		return 0;
	uint32_t table = rt->rtm_table, oif = 0;
	uint8_t dst[16] = {0}, gw[16] = {0};
	int rlen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*rt)));
	for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, rlen); a = RTA_NEXT(a, rlen)) {
		size_t pl = RTA_PAYLOAD(a);
		switch (a->rta_type) {
		case RTA_DST:
			if (pl == alen)
				memcpy(dst, RTA_DATA(a), alen);
			break;
		case RTA_GATEWAY:
			if (pl == alen)
				memcpy(gw, RTA_DATA(a), alen);
			break;
		case RTA_OIF:
			if (pl == 4)
				memcpy(&oif, RTA_DATA(a), 4);
			break;
		case RTA_TABLE:
			if (pl == 4)
				memcpy(&table, RTA_DATA(a), 4);
			break;
		}
	}
	if (table != RT_TABLE_MAIN)
		return 0;
	if (rl->n < rl->max) {
		if (rl->family == AF_INET6) {
			struct us_nl_route6 *o = &rl->out6[rl->n];
			memcpy(&o->dst, dst, 16);
			memcpy(&o->gw, gw, 16);
			o->prefix_len = rt->rtm_dst_len;
			o->oif = (int)oif;
		} else {
			struct us_nl_route4 *o = &rl->out4[rl->n];
			memcpy(&o->dst, dst, 4);
			memcpy(&o->gw, gw, 4);
			o->prefix_len = rt->rtm_dst_len;
			o->oif = (int)oif;
			o->scope = rt->rtm_scope;
		}
	}
	rl->n++;
	return 0;
}

static void routelist_reset(void *arg)
{
	((struct routelist *)arg)->n = 0;
}

static int route_list(struct routelist *rl)
{
	if (rl->max < 0 || (rl->max > 0 && !rl->out4 && !rl->out6))
		return -EINVAL;
	struct nlreq req;
	struct rtmsg *rt = nlreq_init(&req, RTM_GETROUTE, NLM_F_DUMP, sizeof(*rt));
	rt->rtm_family = (unsigned char)rl->family;
	int r = nl_request(&req, routelist_cb, rl, routelist_reset);
	return r < 0 ? r : rl->n;
}

int us_nl_route_list(struct us_nl_route4 *out, int max)
{
	struct routelist rl = {.family = AF_INET, .out4 = out, .max = max};
	return route_list(&rl);
}

int us_nl_route6_list(struct us_nl_route6 *out, int max)
{
	struct routelist rl = {.family = AF_INET6, .out6 = out, .max = max};
	return route_list(&rl);
}
