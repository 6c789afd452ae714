/* Tests for sys/ (rtnetlink, /dev/net/tun) and the TAP/TUN links.
 *
 * Needs root: it creates devices, addresses and routes, and does so only
 * inside a private network namespace it enters first (unshare
 * CLONE_NEWNET), so everything it makes vanishes when it exits and no
 * packet can leave the namespace. Without root it fails loudly rather
 * than skipping. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/pkt.h"
#include "link/link.h"
#include "ustack/host.h"
#include "ustack/ustack.h"

/* ---- helpers ---------------------------------------------------------- */

static struct in_addr ip4(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static int gone(const char *name)
{
	return if_nametoindex(name) == 0;
}

/* ioctl view of a device, to check netlink against another interface. */
static int ioctl_mtu(const char *name)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int r = ioctl(s, SIOCGIFMTU, &ifr);
	close(s);
	return r < 0 ? -errno : ifr.ifr_mtu;
}

static void ioctl_mac(const char *name, uint8_t mac[6])
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	close(s);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

static uint32_t ioctl_addr(const char *name)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_addr.sa_family = AF_INET;
	int r = ioctl(s, SIOCGIFADDR, &ifr);
	close(s);
	if (r < 0)
		return 0;
	struct sockaddr_in sin;
	memcpy(&sin, &ifr.ifr_addr, sizeof(sin));
	return sin.sin_addr.s_addr;
}

/* Waits (bounded) for l to return a frame accepted by want(); frees the
 * rest. Returns the frame or NULL. */
static struct pkt *wait_frame(struct us_link *l, int (*want)(const struct pkt *, void *), void *arg)
{
	for (int round = 0; round < 40; round++) {
		struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
		poll(&pfd, 1, 100);
		struct pkt *pk[16];
		int n = link_recv(l, pk, 16, 0);
		assert_true(n >= 0);
		struct pkt *found = NULL;
		for (int i = 0; i < n; i++) {
			if (!found && want(pk[i], arg))
				found = pk[i];
			else
				pkt_free(l->pool, pk[i]);
		}
		if (found)
			return found;
	}
	return NULL;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += be16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* IPv4 + UDP (checksum 0: none) into buf; returns the length. */
static size_t build_udp(uint8_t *b, struct in_addr src, struct in_addr dst, uint16_t sport, uint16_t dport,
			const char *payload)
{
	size_t pl = strlen(payload), tot = 20 + 8 + pl;
	memset(b, 0, 28);
	b[0] = 0x45;
	b[2] = (uint8_t)(tot >> 8);
	b[3] = (uint8_t)tot;
	b[6] = 0x40;   /* DF */
	b[8] = 64;
	b[9] = IPPROTO_UDP;
	memcpy(b + 12, &src, 4);
	memcpy(b + 16, &dst, 4);
	uint16_t c = ip_csum(b, 20);
	b[10] = (uint8_t)(c >> 8);
	b[11] = (uint8_t)c;
	b[20] = (uint8_t)(sport >> 8);
	b[21] = (uint8_t)sport;
	b[22] = (uint8_t)(dport >> 8);
	b[23] = (uint8_t)dport;
	b[24] = (uint8_t)((8 + pl) >> 8);
	b[25] = (uint8_t)(8 + pl);
	memcpy(b + 28, payload, pl);
	return tot;
}

static struct pkt *pkt_from(struct pkt_pool *pool, const uint8_t *b, size_t len)
{
	struct pkt *p = pkt_alloc(pool, (uint32_t)len, PKT_HEADROOM);
	assert_non_null(p);
	memcpy(pkt_put(p, (uint32_t)len), b, len);
	return p;
}

static int udp_socket(const char *bind_ip, uint16_t port)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(s >= 0);
	if (bind_ip) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = ip4(bind_ip) };
		assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	}
	return s;
}

static void udp_send(int s, const char *ip, uint16_t port, const char *msg)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = ip4(ip) };
	assert_int_equal(sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)strlen(msg));
}

/* ---- device creation ---------------------------------------------------- */

static void test_tap_open_close(void **state)
{
	(void)state;
	int created = -1, err = 1;
	struct us_link *l = us_link_tap_open("ustap0", &created, &err);
	assert_non_null(l);
	assert_int_equal(err, 0);
	assert_int_equal(created, 1);
	assert_string_equal(l->name, "ustap0");
	/* offloads by default: this kernel (>= 4.x) grants checksum, TSO4 and TSO6 */
	assert_int_equal(l->flags, US_LINK_L2 | US_LINK_CSUM | US_LINK_TSO4 | US_LINK_TSO6);
	assert_int_equal(us_link_offloads(l),
			 US_LINK_OFF_VNET | US_LINK_OFF_CSUM | US_LINK_OFF_TSO4 | US_LINK_OFF_TSO6);
	assert_true(l->fd >= 0);
	assert_true(fcntl(l->fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(l->fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(l->mtu, 1500);
	int idx = us_nl_link_index("ustap0");
	assert_true(idx > 0);
	assert_int_equal((unsigned)idx, if_nametoindex("ustap0"));
	/* our station address: locally administered unicast, not the kernel's */
	uint8_t kmac[6];
	assert_int_equal(us_nl_link_get_mac("ustap0", kmac), 0);
	assert_int_equal(l->hwaddr[0], 0x02);
	assert_memory_not_equal(l->hwaddr, kmac, 6);
	/* nothing to read on a fresh, down device: recv returns 0, never blocks */
	struct pkt_pool pool;
	assert_int_equal(pkt_pool_init(&pool, 2048, 8, 0), 0);
	l->pool = &pool;
	struct pkt *pk[4];
	assert_int_equal(link_recv(l, pk, 4, 0), 0);
	us_link_close(l);
	assert_true(gone("ustap0"));   /* created by us: removed on close */
	assert_int_equal(pkt_pool_in_use(&pool), 0);
	pkt_pool_destroy(&pool);
}

static void test_tun_open_close(void **state)
{
	(void)state;
	int created = -1, err = 1;
	struct us_link *l = us_link_tun_open("ustun0", &created, &err);
	assert_non_null(l);
	assert_int_equal(created, 1);
	assert_int_equal(l->flags, US_LINK_L3 | US_LINK_CSUM | US_LINK_TSO4 | US_LINK_TSO6);
	assert_int_equal(l->mtu, 1500);
	static const uint8_t zero[6];
	assert_memory_equal(l->hwaddr, zero, 6);
	uint8_t mac[6];
	assert_int_equal(us_nl_link_get_mac("ustun0", mac), -ENODATA);
	us_link_close(l);
	assert_true(gone("ustun0"));

	/* a name pattern, and no name at all: the kernel picks */
	l = us_link_tun_open("ust%d", &created, &err);
	assert_non_null(l);
	assert_int_equal(created, 1);
	assert_string_equal(l->name, "ust0");
	struct us_link *l2 = us_link_tap_open(NULL, &created, &err);
	assert_non_null(l2);
	assert_int_equal(created, 1);
	assert_true(strncmp(l2->name, "tap", 3) == 0);
	assert_true(if_nametoindex(l2->name) > 0);
	char n2[16];
	memcpy(n2, l2->name, 16);
	us_link_close(l);
	us_link_close(l2);
	assert_true(gone("ust0"));
	assert_true(gone(n2));
}

static void test_open_without_offloads(void **state)
{
	(void)state;
	int created = -1, err = 1;
	struct us_link *l = us_link_tap_open_ex("ustap3", US_LINK_OPT_NO_OFFLOAD, &created, &err);
	assert_non_null(l);
	assert_int_equal(l->flags, US_LINK_L2);
	assert_int_equal(us_link_offloads(l), 0);
	us_link_close(l);
	l = us_link_tun_open_ex("ustun3", US_LINK_OPT_NO_OFFLOAD, &created, &err);
	assert_non_null(l);
	assert_int_equal(l->flags, US_LINK_L3);
	assert_int_equal(us_link_offloads(l), 0);
	us_link_close(l);
	assert_true(gone("ustap3"));
	assert_true(gone("ustun3"));
	/* links that are not devices have none */
	struct us_link *a, *b;
	assert_int_equal(us_link_mem_pair(&a, &b, 1500, 0), 0);
	assert_int_equal(us_link_offloads(a), 0);
	us_link_close(a);
	us_link_close(b);
}

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;
	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static void test_link_config(void **state)
{
	(void)state;
	int created, err;
	struct us_link *l = us_link_tap_open("ustap1", &created, &err);
	assert_non_null(l);

	assert_int_equal(us_nl_link_set_mtu("ustap1", 1400), 0);
	assert_int_equal(us_nl_link_get_mtu("ustap1"), 1400);
	assert_int_equal(ioctl_mtu("ustap1"), 1400);
	assert_int_equal(us_nl_link_set_mtu("ustap1", 70000), -EINVAL);  /* above the device's max */
	assert_int_equal(us_nl_link_set_txqlen("ustap1", 1234), 0);
	{
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", "ustap1");
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_true(fd >= 0);
		assert_int_equal(ioctl(fd, SIOCGIFTXQLEN, &ifr), 0);
		close(fd);
		assert_int_equal(ifr.ifr_qlen, 1234);
	}

	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	uint8_t got[6];
	assert_int_equal(us_nl_link_set_mac("ustap1", mac), 0);
	assert_int_equal(us_nl_link_get_mac("ustap1", got), 0);
	assert_memory_equal(got, mac, 6);
	ioctl_mac("ustap1", got);
	assert_memory_equal(got, mac, 6);

	assert_int_equal(us_nl_link_get_flags("ustap1") & IFF_UP, 0);
	assert_int_equal(us_nl_link_set_up("ustap1", 1), 0);
	assert_true(us_nl_link_get_flags("ustap1") & IFF_UP);
	assert_int_equal(us_nl_link_set_up("ustap1", 0), 0);
	assert_int_equal(us_nl_link_get_flags("ustap1") & IFF_UP, 0);
	assert_int_equal(us_nl_link_set_up("ustap1", 1), 0);

	assert_int_equal(us_nl_addr_add("ustap1", ip4("10.77.0.1"), 24), 0);
	assert_int_equal(us_nl_addr_add("ustap1", ip4("10.77.0.1"), 24), -EEXIST);
	assert_int_equal(us_nl_addr_add("ustap1", ip4("10.77.1.1"), 33), -EINVAL);
	assert_int_equal(ioctl_addr("ustap1"), ip4("10.77.0.1").s_addr);
	struct us_nl_addr4 addrs[4];
	assert_int_equal(us_nl_addr_list("ustap1", addrs, 4), 1);
	assert_int_equal(addrs[0].addr.s_addr, ip4("10.77.0.1").s_addr);
	assert_int_equal(addrs[0].prefix_len, 24);
	assert_int_equal(addrs[0].ifindex, us_nl_link_index("ustap1"));

	struct in_addr none = { 0 };
	assert_int_equal(us_nl_route_add(ip4("10.78.0.0"), 16, ip4("10.77.0.2"), "ustap1"), 0);
	assert_int_equal(us_nl_route_add(ip4("10.79.0.0"), 16, none, "ustap1"), 0);
	assert_int_equal(us_nl_route_add(ip4("10.79.0.0"), 16, none, "ustap1"), -EEXIST);
	assert_int_equal(us_nl_route_add(ip4("10.80.0.0"), 40, none, "ustap1"), -EINVAL);
	assert_int_equal(us_nl_route_add(ip4("10.80.0.0"), 16, none, "nosuchdev"), -ENODEV);
	assert_int_equal(us_nl_route_add(ip4("10.80.0.0"), 16, none, NULL), -EINVAL);
	/* a gateway that is not on any connected network */
	assert_true(us_nl_route_add(ip4("10.81.0.0"), 16, ip4("192.0.2.1"), "ustap1") < 0);

	struct us_nl_route4 rt[16];
	int n = us_nl_route_list(rt, 16);
	assert_true(n >= 3 && n <= 16);
	int seen_gw = 0, seen_link = 0, seen_conn = 0;
	int idx = us_nl_link_index("ustap1");
	for (int i = 0; i < n; i++) {
		if (rt[i].dst.s_addr == ip4("10.78.0.0").s_addr && rt[i].prefix_len == 16) {
			assert_int_equal(rt[i].gw.s_addr, ip4("10.77.0.2").s_addr);
			assert_int_equal(rt[i].oif, idx);
			seen_gw++;
		}
		if (rt[i].dst.s_addr == ip4("10.79.0.0").s_addr && rt[i].prefix_len == 16) {
			assert_int_equal(rt[i].gw.s_addr, 0);
			assert_int_equal(rt[i].oif, idx);
			assert_int_equal(rt[i].scope, 253 /* RT_SCOPE_LINK */);
			seen_link++;
		}
		if (rt[i].dst.s_addr == ip4("10.77.0.0").s_addr && rt[i].prefix_len == 24)
			seen_conn++;   /* the kernel's connected route */
	}
	assert_int_equal(seen_gw, 1);
	assert_int_equal(seen_link, 1);
	assert_int_equal(seen_conn, 1);

	/* IPv6: an address without DAD, routes on-link and through a gateway. */
	struct in6_addr a6 = ip6("fd77::1"), gw6 = ip6("fd77::2"), net1 = ip6("fd78::"), net2 = ip6("fd79::");
	assert_int_equal(us_nl_addr6_add("ustap1", &a6, 64), 0);
	assert_int_equal(us_nl_addr6_add("ustap1", &a6, 64), -EEXIST);
	assert_int_equal(us_nl_addr6_add("ustap1", &a6, 129), -EINVAL);
	struct us_nl_addr6 a6s[8];
	n = us_nl_addr6_list("ustap1", a6s, 8);
	assert_true(n >= 1 && n <= 8);   /* with the link-local one of an up device */
	int seen6 = 0;
	for (int i = 0; i < n; i++)
		if (!memcmp(&a6s[i].addr, &a6, 16)) {
			assert_int_equal(a6s[i].prefix_len, 64);
			assert_int_equal(a6s[i].ifindex, idx);
			assert_true(a6s[i].flags & 0x02 /* IFA_F_NODAD */);
			assert_false(a6s[i].flags & 0x40 /* IFA_F_TENTATIVE */);
			seen6++;
		}
	assert_int_equal(seen6, 1);
	assert_int_equal(us_nl_route6_add(&net1, 48, &gw6, "ustap1"), 0);
	assert_int_equal(us_nl_route6_add(&net2, 48, NULL, "ustap1"), 0);
	assert_int_equal(us_nl_route6_add(&net2, 48, NULL, "ustap1"), -EEXIST);
	assert_int_equal(us_nl_route6_add(&net2, 129, NULL, "ustap1"), -EINVAL);
	assert_int_equal(us_nl_route6_add(&net2, 48, NULL, NULL), -EINVAL);
	assert_int_equal(us_nl_route6_add(&net2, 48, NULL, "nosuchdev"), -ENODEV);
	assert_int_equal(us_nl_route6_add(NULL, 0, &gw6, "ustap1"), 0);   /* the default route */
	struct us_nl_route6 r6[32];
	n = us_nl_route6_list(r6, 32);
	assert_true(n >= 4 && n <= 32);
	int via = 0, onlink = 0, dflt = 0, conn6 = 0;
	struct in6_addr zero6 = {0}, conn = ip6("fd77::");
	for (int i = 0; i < n; i++) {
		if (r6[i].oif != idx)
			continue;
		via += !memcmp(&r6[i].dst, &net1, 16) && r6[i].prefix_len == 48 && !memcmp(&r6[i].gw, &gw6, 16);
		onlink += !memcmp(&r6[i].dst, &net2, 16) && r6[i].prefix_len == 48 && !memcmp(&r6[i].gw, &zero6, 16);
		dflt += r6[i].prefix_len == 0 && !memcmp(&r6[i].gw, &gw6, 16);
		conn6 += !memcmp(&r6[i].dst, &conn, 16) && r6[i].prefix_len == 64;   /* the kernel's connected route */
	}
	assert_int_equal(via, 1);
	assert_int_equal(onlink, 1);
	assert_int_equal(dflt, 1);
	assert_int_equal(conn6, 1);

	us_link_close(l);
	assert_true(gone("ustap1"));
	n = us_nl_route_list(rt, 16);
	for (int i = 0; i < n; i++)
		assert_int_not_equal(rt[i].oif, idx);  /* its routes went with it */
	n = us_nl_route6_list(r6, 32);
	for (int i = 0; i < n && i < 32; i++)
		assert_int_not_equal(r6[i].oif, idx);
}

static void test_persistent_existing(void **state)
{
	(void)state;
	struct us_tun_open_info info;
	int fd = us_tun_open("ustap2", IFF_TAP | IFF_NO_PI, &info);
	assert_true(fd >= 0);
	assert_int_equal(info.created, 1);
	assert_string_equal(info.name, "ustap2");
	assert_int_equal(us_tun_set_persist(fd, 1), 0);
	close(fd);
	assert_false(gone("ustap2"));

	int created = -1, err = 1;
	struct us_link *l = us_link_tap_open("ustap2", &created, &err);
	assert_non_null(l);
	assert_int_equal(created, 0);
	assert_int_equal(err, 0);
	/* attached and in use: a second non-multiqueue open is refused */
	struct us_link *l2 = us_link_tap_open("ustap2", &created, &err);
	assert_null(l2);
	assert_int_equal(err, -EBUSY);
	assert_int_equal(created, 0);
	us_link_close(l);
	assert_false(gone("ustap2"));   /* not ours: it stays */

	/* the same name as a TUN: wrong type */
	assert_null(us_link_tun_open("ustap2", &created, &err));
	assert_int_equal(err, -EINVAL);

	assert_int_equal(us_nl_link_delete("ustap2"), 0);
	assert_true(gone("ustap2"));
	assert_int_equal(us_nl_link_delete("ustap2"), -ENODEV);
}

static void test_bad_names(void **state)
{
	(void)state;
	int created = -1, err = 0;
	assert_null(us_link_tap_open("abcdefghijklmnop", &created, &err));   /* 16 chars */
	assert_int_equal(err, -EINVAL);
	assert_int_equal(created, 0);
	assert_null(us_link_tun_open("a/b", &created, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(us_link_tun_open("abcdefghijklmnopqrstuvwxyz", NULL, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(us_link_tun_open("a/b", NULL, NULL));
	assert_int_equal(us_tun_open("x", IFF_NO_PI, NULL), -EINVAL);  /* neither TUN nor TAP */

	assert_int_equal(us_nl_link_index("nosuchdev"), -ENODEV);
	assert_int_equal(us_nl_link_index(""), -EINVAL);
	assert_int_equal(us_nl_link_index(NULL), -EINVAL);
	assert_int_equal(us_nl_link_index("abcdefghijklmnop"), -EINVAL);
	assert_int_equal(us_nl_link_get_mtu("nosuchdev"), -ENODEV);
	assert_int_equal(us_nl_link_set_up("nosuchdev", 1), -ENODEV);
	assert_int_equal(us_nl_link_set_mtu("nosuchdev", 1500), -ENODEV);
	assert_int_equal(us_nl_link_set_txqlen("nosuchdev", 1000), -ENODEV);
	assert_int_equal(us_nl_link_delete("nosuchdev"), -ENODEV);
	assert_int_equal(us_nl_addr_add("nosuchdev", ip4("10.1.1.1"), 24), -ENODEV);
	assert_int_equal(us_nl_addr_add("lo", ip4("10.1.1.1"), -1), -EINVAL);
	assert_int_equal(us_nl_addr_list("nosuchdev", NULL, 0), -ENODEV);
	/* lo exists in every namespace; its MTU is readable */
	assert_int_equal(us_nl_link_index("lo"), 1);
	assert_true(us_nl_link_get_mtu("lo") > 0);
}

static void test_strerror(void **state)
{
	(void)state;
	char buf[256];
	assert_string_equal(us_tun_strerror(-EACCES, buf, sizeof(buf)),
			    "cannot open /dev/net/tun: Permission denied (run as root or grant CAP_NET_ADMIN)");
	assert_string_equal(us_tun_strerror(-EPERM, buf, sizeof(buf)),
			    "cannot open /dev/net/tun: Operation not permitted (run as root or grant CAP_NET_ADMIN)");
	assert_non_null(strstr(us_tun_strerror(-ENOENT, buf, sizeof(buf)), "modprobe tun"));
	assert_string_equal(us_sys_strerror("x", 5 /* EIO */, buf, sizeof(buf)), "x: Input/output error");
	/* truncation is safe */
	char small[8];
	assert_int_equal(strlen(us_tun_strerror(-EACCES, small, sizeof(small))), 7);

	/* The real thing: an unprivileged process gets a clear message. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		int created, err = 0;
		struct us_link *l = us_link_tap_open("ustapx", &created, &err);
		if (l)
			_exit(11);
		if (err != -EACCES && err != -EPERM)
			_exit(12);
		char m[256], want[256];
		us_tun_strerror(err, m, sizeof(m));
		snprintf(want, sizeof(want), "cannot open /dev/net/tun: %s (run as root or grant CAP_NET_ADMIN)",
			 strerror(-err));
		_exit(strcmp(m, want) == 0 ? 0 : 13);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(gone("ustapx"));
}

/* ---- traffic with the kernel ------------------------------------------- */

struct arp_want {
	struct in_addr sender, target;
};

static int is_arp_request(const struct pkt *p, void *arg)
{
	const struct arp_want *w = arg;
	const uint8_t *d = p->data;
	if (p->len < 42 || be16(d + 12) != 0x0806 || be16(d + 20) != 1)
		return 0;
	return memcmp(d + 28, &w->sender, 4) == 0 && memcmp(d + 38, &w->target, 4) == 0;
}

struct udp_want {
	const uint8_t *dst_mac;   /* NULL for TUN */
	struct in_addr dst;
	uint16_t dport;
	const char *payload;
};

static int is_udp(const struct pkt *p, void *arg)
{
	const struct udp_want *w = arg;
	const uint8_t *d = p->data;
	uint32_t len = p->len;
	if (w->dst_mac) {
		if (len < 14 || memcmp(d, w->dst_mac, 6) != 0 || be16(d + 12) != 0x0800)
			return 0;
		d += 14;
		len -= 14;
	}
	size_t pl = strlen(w->payload);
	if (len < 28 + pl || (d[0] >> 4) != 4 || d[9] != IPPROTO_UDP)
		return 0;
	size_t ihl = (size_t)(d[0] & 15) * 4;
	if (ihl < 20 || len < ihl + 8 + pl)
		return 0;
	return memcmp(d + 16, &w->dst, 4) == 0 && be16(d + ihl + 2) == w->dport &&
	       memcmp(d + ihl + 8, w->payload, pl) == 0;
}

static void test_tap_traffic(void **state)
{
	(void)state;
	struct pkt_pool pool;
	assert_int_equal(pkt_pool_init(&pool, 2048, 64, 0), 0);
	int created, err;
	struct us_link *l = us_link_tap_open("ustap5", &created, &err);
	assert_non_null(l);
	l->pool = &pool;
	assert_int_equal(us_nl_addr_add("ustap5", ip4("10.88.0.1"), 24), 0);
	assert_int_equal(us_nl_link_set_up("ustap5", 1), 0);
	uint8_t kmac[6];
	assert_int_equal(us_nl_link_get_mac("ustap5", kmac), 0);

	/* A datagram to 10.88.0.2: the kernel asks who has it. */
	int s = udp_socket(NULL, 0);
	udp_send(s, "10.88.0.2", 9, "hello");
	struct arp_want aw = { ip4("10.88.0.1"), ip4("10.88.0.2") };
	struct pkt *req = wait_frame(l, is_arp_request, &aw);
	assert_non_null(req);
	assert_memory_equal(req->data + 6, kmac, 6);   /* from the kernel's side */
	assert_memory_equal(req->data + 22, kmac, 6);
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	assert_memory_equal(req->data, bcast, 6);
	pkt_free(&pool, req);

	/* Answer as 10.88.0.2 at our own address; the kernel then sends the
	 * queued datagram to it. */
	uint8_t rep[42];
	memcpy(rep, kmac, 6);
	memcpy(rep + 6, l->hwaddr, 6);
	rep[12] = 0x08, rep[13] = 0x06;
	rep[14] = 0, rep[15] = 1, rep[16] = 0x08, rep[17] = 0, rep[18] = 6, rep[19] = 4;
	rep[20] = 0, rep[21] = 2;
	memcpy(rep + 22, l->hwaddr, 6);
	memcpy(rep + 28, &aw.target, 4);
	memcpy(rep + 32, kmac, 6);
	memcpy(rep + 38, &aw.sender, 4);
	struct pkt *p = pkt_from(&pool, rep, sizeof(rep));
	assert_int_equal(link_send(l, &p, 1, 0), 1);
	assert_int_equal(l->tx_frames, 1);
	struct udp_want uw = { l->hwaddr, ip4("10.88.0.2"), 9, "hello" };
	struct pkt *u = wait_frame(l, is_udp, &uw);
	assert_non_null(u);
	pkt_free(&pool, u);

	/* Pool empty: frames are still read (drained) and counted. */
	struct pkt *hold[64];
	int nh = 0;
	while (nh < 64 && (hold[nh] = pkt_alloc(&pool, 100, PKT_HEADROOM)))
		nh++;
	uint64_t drops0 = l->rx_drops;
	for (int i = 0; i < 3; i++)
		udp_send(s, "10.88.0.2", 9, "drain");
	for (int round = 0; round < 40 && l->rx_drops < drops0 + 3; round++) {
		struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
		poll(&pfd, 1, 100);
		struct pkt *pk[8];
		assert_int_equal(link_recv(l, pk, 8, 0), 0);
	}
	assert_true(l->rx_drops >= drops0 + 3);
	for (int i = 0; i < nh; i++)
		pkt_free(&pool, hold[i]);
	close(s);
	us_link_close(l);
	assert_true(gone("ustap5"));
	assert_int_equal(pkt_pool_in_use(&pool), 0);
	pkt_pool_destroy(&pool);
}

static void test_tun_traffic(void **state)
{
	(void)state;
	struct pkt_pool pool;
	assert_int_equal(pkt_pool_init(&pool, 2048, 64, 0), 0);
	int created, err;
	struct us_link *l = us_link_tun_open("ustun1", &created, &err);
	assert_non_null(l);
	l->pool = &pool;
	assert_int_equal(us_nl_addr_add("ustun1", ip4("10.89.0.1"), 24), 0);
	assert_int_equal(us_nl_link_set_up("ustun1", 1), 0);

	/* us -> kernel: a UDP datagram written into the TUN */
	int s = udp_socket("10.89.0.1", 5555);
	uint8_t b[64];
	size_t len = build_udp(b, ip4("10.89.0.2"), ip4("10.89.0.1"), 4444, 5555, "ping");
	struct pkt *p = pkt_from(&pool, b, len);
	assert_int_equal(link_send(l, &p, 1, 0), 1);
	char got[16] = { 0 };
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t r = -1;
	for (int round = 0; round < 40 && r < 0; round++) {
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		poll(&pfd, 1, 100);
		r = recvfrom(s, got, sizeof(got) - 1, 0, (struct sockaddr *)&from, &fl);
	}
	assert_int_equal(r, 4);
	assert_string_equal(got, "ping");
	assert_int_equal(from.sin_addr.s_addr, ip4("10.89.0.2").s_addr);
	assert_int_equal(ntohs(from.sin_port), 4444);

	/* kernel -> us: the answer comes out of the TUN as a bare IP packet */
	udp_send(s, "10.89.0.2", 4444, "pong");
	struct udp_want uw = { NULL, ip4("10.89.0.2"), 4444, "pong" };
	struct pkt *u = wait_frame(l, is_udp, &uw);
	assert_non_null(u);
	pkt_free(&pool, u);
	assert_true(l->rx_frames >= 1);
	close(s);
	us_link_close(l);
	assert_true(gone("ustun1"));
	assert_int_equal(pkt_pool_in_use(&pool), 0);
	pkt_pool_destroy(&pool);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_sys: FAILED: needs root (CAP_NET_ADMIN) to create devices in a private namespace\n");
		return 1;
	}
	/* Never touch the machine's own namespace: everything below happens
	 * in a fresh one that disappears with this process. */
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "test_sys: FAILED: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	/* getifaddrs(), not if_nameindex(): MemorySanitizer intercepts the
	 * former, and would take the latter's (uninstrumented glibc) result
	 * for unwritten memory. Every device has one AF_PACKET entry. */
	struct ifaddrs *ifs = NULL;
	int nifs = 0;
	if (getifaddrs(&ifs) == 0)
		for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
			nifs += i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET;
	if (ifs)
		freeifaddrs(ifs);
	if (nifs != 1 || if_nametoindex("lo") != 1) {
		fprintf(stderr, "test_sys: FAILED: not in a fresh network namespace (%d interfaces)\n", nifs);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_open_close),
		cmocka_unit_test(test_open_without_offloads),
		cmocka_unit_test(test_tun_open_close),
		cmocka_unit_test(test_link_config),
		cmocka_unit_test(test_persistent_existing),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_tap_traffic),
		cmocka_unit_test(test_tun_traffic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
