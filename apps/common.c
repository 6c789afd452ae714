#include <arpa/inet.h>
#include <stdint.h>
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "control.h"
#include "ustack/host.h"

_Noreturn void app_usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("ustack: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(2);
}

int app_parse_ip(const char *s, struct in_addr *addr)
{
	return inet_pton(AF_INET, s, addr) == 1 ? 0 : -1;
}

/* "ADDR[/PREFIX]" of family (AF_INET or AF_INET6), PREFIX in min..max
 * (max also the default when none is given and none is needed). */
static int parse_cidr(const char *s, int family, void *addr, int *plen, int need_prefix, int min, int max)
{
	char buf[80];
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	*plen = max;
	if (slash) {
		*slash = 0;
		char *end;
		long v = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || v < min || v > max)
			return -1;
		*plen = (int)v;
	} else if (need_prefix) {
		return -1;
	}
	return inet_pton(family, buf, addr) == 1 ? 0 : -1;
}

int app_parse_cidr6(const char *s, struct in6_addr *addr, int *plen, int need_prefix)
{
	return parse_cidr(s, AF_INET6, addr, plen, need_prefix, 1, 128);   /* an IPv6 /0 is no interface prefix */
}

int app_parse_cidr(const char *s, struct in_addr *addr, int *plen, int need_prefix)
{
	return parse_cidr(s, AF_INET, addr, plen, need_prefix, 0, 32);
}

int app_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	if (mac[0] & 1)
		return -1;   /* multicast: no host can have it */
	return 0;
}

int app_parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int app_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno)
		return -1;
	uint64_t mul = 1;
	if (*end == 'K' || *end == 'k')
		mul = 1ull << 10, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1ull << 20, end++;
	else if (*end == 'G' || *end == 'g')
		mul = 1ull << 30, end++;
	if (*end || v == 0 || v > (1ull << 44) / mul)
		return -1;
	*out = v * mul;
	return 0;
}

int app_signal_fd(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

int app_net_option(int c, const char *arg, struct app_net *n, int *has_ip)
{
	switch (c) {
	case APP_CTL_OPT_METRICS: {
		struct sockaddr_storage ss;
		socklen_t len;
		if (app_ctl_parse_addr(arg, &ss, &len) < 0)
			app_usage_error("--metrics wants ADDR:PORT (e.g. 127.0.0.1:9464 or [::1]:9464), got '%s'", arg);
		n->metrics = arg;
		return 1;
	}
	case 'T':
		n->tap = arg;
		return 1;
	case 'U':
		n->tun = arg;
		return 1;
	case 'i':
		if (strchr(arg, ':')) {
			if (n->n_ip6 >= APP_MAX_IP6)
				app_usage_error("--ip: at most %d IPv6 addresses", APP_MAX_IP6);
			if (app_parse_cidr6(arg, &n->ip6[n->n_ip6], &n->ip6_plen[n->n_ip6], 1) < 0)
				app_usage_error("--ip wants ADDR/PREFIX (IPv6 prefix 1..128), got '%s'", arg);
			n->n_ip6++;
		} else {
			if (app_parse_cidr(arg, &n->ip, &n->ip_plen, 1) < 0)
				app_usage_error("--ip wants ADDR/PREFIX, got '%s'", arg);
			n->has_ip4 = 1;
		}
		*has_ip = 1;
		return 1;
	case 'H':
		if (strchr(arg, ':')) {
			if (n->n_host_ip6 >= APP_MAX_IP6)
				app_usage_error("--host-ip: at most %d IPv6 addresses", APP_MAX_IP6);
			if (app_parse_cidr6(arg, &n->host_ip6[n->n_host_ip6], &n->host_ip6_plen[n->n_host_ip6], 1) < 0)
				app_usage_error("--host-ip wants ADDR/PREFIX (IPv6 prefix 1..128), got '%s'", arg);
			n->n_host_ip6++;
			return 1;
		}
		if (app_parse_cidr(arg, &n->host_ip, &n->host_plen, 1) < 0)
			app_usage_error("--host-ip wants ADDR/PREFIX, got '%s'", arg);
		n->has_host_ip = 1;
		return 1;
	case 'g':
		if (strchr(arg, ':')) {
			if (inet_pton(AF_INET6, arg, &n->gateway6) != 1)
				app_usage_error("--gateway wants an IPv4 or IPv6 address, got '%s'", arg);
			n->has_gateway6 = 1;
			return 1;
		}
		if (app_parse_ip(arg, &n->gateway) < 0)
			app_usage_error("--gateway wants an IPv4 or IPv6 address, got '%s'", arg);
		n->has_gateway = 1;
		return 1;
	case 'm': {
		char *end;
		long v = strtol(arg, &end, 10);
		if (*end || v < 68 || v > 65535)
			app_usage_error("--mtu wants 68..65535, got '%s'", arg);
		n->mtu = (uint32_t)v;
		return 1;
	}
	case 'M':
		if (app_parse_mac(arg, n->mac) < 0)
			app_usage_error("--mac wants a unicast MAC like 02:00:00:00:00:01, got '%s'", arg);
		n->has_mac = 1;
		return 1;
	case 'p':
		n->pcap = arg;
		return 1;
	case APP_OPT_XDP: {
		static char name[16];
		const char *colon = strchr(arg, ':');
		size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
		if (!len || len >= sizeof(name))
			app_usage_error("--xdp wants IFACE[:QUEUE] with a name of at most 15 characters, got '%s'", arg);
		memcpy(name, arg, len);
		name[len] = 0;
		n->xdp = name;
		if (colon) {
			char *end;
			long v = strtol(colon + 1, &end, 10);
			if (!colon[1] || *end || v < 0 || v > 63)
				app_usage_error("--xdp wants a queue 0..63 after the colon, got '%s'", arg);
			n->xdp_queue = (unsigned)v;
		}
		return 1;
	}
	case APP_OPT_XDP_MODE:
		if (!strcmp(arg, "auto"))
			n->xdp_flags = 0;
		else if (!strcmp(arg, "copy"))
			n->xdp_flags = US_XDP_COPY;
		else if (!strcmp(arg, "zerocopy"))
			n->xdp_flags = US_XDP_ZEROCOPY;
		else if (!strcmp(arg, "skb"))
			n->xdp_flags = US_XDP_SKB_MODE | US_XDP_COPY;
		else
			app_usage_error("--xdp-mode wants auto, copy, zerocopy or skb, got '%s'", arg);
		return 1;
	case APP_OPT_AFPACKET:
		if (!*arg || strlen(arg) >= 16)
			app_usage_error("--af-packet wants an interface name of at most 15 characters, got '%s'", arg);
		n->afpacket = arg;
		return 1;
	case 'O':
		n->no_offload = 1;
		return 1;
	case APP_OPT_NO_IPV6:
		n->no_ipv6 = 1;
		return 1;
	case APP_OPT_NO_RA:
		n->no_ra = 1;
		return 1;
	case APP_OPT_STABLE_SECRET: {
		/* Linux's stable_secret format: 128 bits written as an IPv6 address. */
		struct in6_addr k;
		static const uint8_t zero[16];
		if (inet_pton(AF_INET6, arg, &k) != 1 || !memcmp(&k, zero, 16))
			app_usage_error("--stable-secret wants 128 bits written as an IPv6 address, not all zero "
					"(as Linux's stable_secret, e.g. 1f2e:3d4c:5b6a:7988:a7b6:c5d4:e3f2:109a), got '%s'",
					arg);
		memcpy(n->stable_secret, &k, 16);
		return 1;
	}
	case 'G':
		if (strcmp(arg, "cubic") && strcmp(arg, "reno") && strcmp(arg, "newreno") && strcmp(arg, "bbr"))
			app_usage_error("--cc wants cubic, reno or bbr, got '%s'", arg);
		n->cc = arg;
		return 1;
	case 'B': {
		char *end;
		long v = strtol(arg, &end, 10);
		if (*end || end == arg || v < 0 || v > 1000000)
			app_usage_error("--busy-poll wants microseconds, 0..1000000, got '%s'", arg);
		n->busy_poll_us = (unsigned)v;
		return 1;
	}
	default:
		return 0;
	}
}

void app_net_check(const struct app_net *n, int has_ip)
{
	if (!!n->tap + !!n->tun + !!n->xdp + !!n->afpacket != 1)
		app_usage_error("give exactly one of --tap NAME, --tun NAME, --xdp IFACE[:QUEUE] or --af-packet IFACE");
	if (!has_ip)
		app_usage_error("--ip ADDR/PREFIX is required");
	if ((n->tap && strlen(n->tap) >= 16) || (n->tun && strlen(n->tun) >= 16))
		app_usage_error("device names have at most 15 characters");
}

static int fail(const char *what, int err)
{
	/* Device errors get their hints from us_tun_strerror where the device
	 * is opened; everything else is just what failed and why. */
	fprintf(stderr, "ustack: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return -1;
}

struct us_loop *app_loop_new(const struct app_net *n, struct us_stack *st)
{
	struct us_loop *loop = us_loop_new(st);
	if (!loop)
		fprintf(stderr, "ustack: cannot create the event loop: %s\n", strerror(errno));
	else
		us_loop_set_busy_poll(loop, n->busy_poll_us);
	return loop;
}

int app_stack_open(const struct app_net *n, struct app_stack *a)
{
	return app_stack_open_queue(n, a, 0, 1, NULL);
}

/* --xdp and --af-packet: an interface that exists, queue q of it. */
static struct us_link *open_existing(const struct app_net *n, struct app_stack *a, int q, int nq,
				     const struct app_stack *first)
{
	int err = 0;
	struct us_link *link;
	const char *name = n->xdp ? n->xdp : n->afpacket;
	if (n->xdp) {
		struct us_link_xdp_opts xo = {.flags = n->xdp_flags, .share = first ? first->dev : NULL};
		link = us_link_xdp_open(name, n->xdp_queue + (unsigned)q, &xo, &err);
	} else {
		struct us_link_packet_opts po = {0};
		if (nq > 1)
			po.fanout_group = (uint16_t)(0x5500 | (getpid() & 0xff));
		link = us_link_packet_open(name, &po, &err);
	}
	if (!link) {
		char buf[256];
		fprintf(stderr, "ustack: %s\n",
			us_sys_strerror(n->xdp ? "cannot open the AF_XDP socket" : "cannot open the AF_PACKET socket", err,
					buf, sizeof(buf)));
		if (n->xdp && err == -EBUSY)
			fprintf(stderr, "ustack: (another XDP program is attached to %s, or queue %u is taken)\n", name,
				n->xdp_queue + (unsigned)q);
	}
	(void)a;
	return link;
}

/* The interface's receive queues (sysfs), or -1. */
static int rx_queues(const char *ifname)
{
	char path[128];
	int n = 0;
	for (; n < 1024; n++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%d", ifname, n);
		if (access(path, F_OK) != 0)
			break;
	}
	return n ? n : -1;
}

/* After us_iface_add: what the device runs, for the ready line. */
static void describe_mode(const struct app_net *n, struct app_stack *a)
{
	if (n->xdp) {
		struct us_link_xdp_info xi;
		if (us_link_xdp_info(a->dev, &xi) == 0)
			snprintf(a->mode, sizeof(a->mode), "AF_XDP queue %u, %s (%s), %s XDP%s, ring %u, batch %u",
				 xi.queue, xi.zerocopy ? "zero-copy" : "copy mode", xi.why,
				 xi.drv_mode ? "native" : "generic", xi.need_wakeup ? ", need_wakeup" : "", xi.ring_size,
				 xi.batch);
	} else if (n->afpacket) {
		struct us_link_packet_info pi;
		if (us_link_packet_info(a->dev, &pi) == 0)
			snprintf(a->mode, sizeof(a->mode), "AF_PACKET TPACKET_V2, rx %u frames, tx %u frames%s%s",
				 pi.rx_frames, pi.tx_frames, pi.qdisc_bypass ? ", qdisc bypass" : "",
				 pi.fanout ? ", fanout" : "");
	}
}

/* --tap and --tun: the device, created and configured by queue 0. */
static struct us_link *open_tuntap(const struct app_net *n, struct app_stack *a, int q, int nq, const uint8_t *mac)
{
	int err = 0, created = 0, rc;
	const char *name = n->tap ? n->tap : n->tun;
	unsigned lo = n->no_offload ? US_LINK_OPT_NO_OFFLOAD : 0;
	if (nq > 1)
		lo |= US_LINK_OPT_MULTI_QUEUE;
	struct us_link *link = n->tap ? us_link_tap_open_ex(name, lo, &created, &err)
				      : us_link_tun_open_ex(name, lo, &created, &err);
	if (!link) {
		char buf[256];
		fprintf(stderr, "ustack: %s\n", us_tun_strerror(err, buf, sizeof(buf)));
		return NULL;
	}
	a->created = created;
	a->offloads = us_link_offloads(link);
	snprintf(a->devname, sizeof(a->devname), "%s", name);
	if (q > 0)
		goto configured;   /* queue 0 set the device up */
	if (n->mtu && (rc = us_nl_link_set_mtu(name, n->mtu)) < 0) {
		us_link_close(link);
		fail("cannot set the device's MTU", rc);
		return NULL;
	}
	if (n->has_host_ip && (rc = us_nl_addr_add(name, n->host_ip, n->host_plen)) < 0 && rc != -EEXIST) {
		us_link_close(link);
		fail("cannot add the kernel-side address", rc);
		return NULL;
	}
	for (int i = 0; i < n->n_host_ip6; i++)
		if ((rc = us_nl_addr6_add(name, &n->host_ip6[i], n->host_ip6_plen[i])) < 0 && rc != -EEXIST) {
			us_link_close(link);
			fail("cannot add the kernel-side IPv6 address", rc);
			return NULL;
		}
	if ((rc = us_nl_link_set_up(name, 1)) < 0) {
		us_link_close(link);
		fail("cannot bring the device up", rc);
		return NULL;
	}
configured:
	if (mac)
		us_link_set_hwaddr(link, mac);
	else if (n->has_mac)
		us_link_set_hwaddr(link, n->mac);
	return link;
}

int app_stack_open_queue(const struct app_net *n, struct app_stack *a, int q, int nq, const struct app_stack *first)
{
	memset(a, 0, sizeof(*a));
	int err = 0, rc;
	struct us_link *link;
	if (n->xdp || n->afpacket) {
		link = open_existing(n, a, q, nq, first);
		if (!link)
			return -1;
		snprintf(a->devname, sizeof(a->devname), "%s", n->xdp ? n->xdp : n->afpacket);
		if (q == 0 && (err = us_nl_link_set_up(a->devname, 1)) < 0) {
			us_link_close(link);
			return fail("cannot bring the interface up", err);
		}
		int nrx = rx_queues(a->devname);
		if (q == 0 && n->xdp && nrx > nq)
			fprintf(stderr,
				"ustack: note: %s has %d receive queues and ustack takes %d (from %u): what the kernel "
				"receives on the others does not reach ustack (--queues %d, or ethtool -L %s combined %d)\n",
				a->devname, nrx, nq, n->xdp_queue, nrx, a->devname, nq);
		if (q == 0 && n->has_host_ip && (err = us_nl_addr_add(a->devname, n->host_ip, n->host_plen)) < 0 &&
		    err != -EEXIST) {
			us_link_close(link);
			return fail("cannot add the kernel-side address", err);
		}
		if (n->has_mac)
			us_link_set_hwaddr(link, n->mac);
	} else if (!(link = open_tuntap(n, a, q, nq, first ? first->mac : NULL))) {
		return -1;
	}
	a->dev = link;
	if (n->pcap) {
		char qpath[4096];
		const char *path = n->pcap;
		if (q > 0 && (n->xdp || n->afpacket)) {
			snprintf(qpath, sizeof(qpath), "%s.%d", n->pcap, q);   /* one capture per queue */
			path = qpath;
		}
		struct us_link *w = us_link_pcap_wrap(link, path, &err);
		if (!w) {
			us_link_close(link);
			return fail("cannot write the pcap file", err);
		}
		link = w;
	}
	struct us_stack_config cfg = {0};
	if (n->cfg)
		cfg = *n->cfg;
	cfg.seed = n->seed;
	if (n->cc)
		cfg.tcp_cc = n->cc;
	if (n->no_ipv6) {
		if (n->n_ip6 || n->n_host_ip6 || n->has_gateway6) {
			us_link_close(link);
			return fail("--no-ipv6 with an IPv6 address", EINVAL);
		}
		cfg.ipv6_disable = 1;
	}
	if (n->no_ra)
		cfg.ipv6_no_ra = 1;
	static const uint8_t no_secret[16];
	if (memcmp(n->stable_secret, no_secret, 16))
		memcpy(cfg.ipv6_stable_secret, n->stable_secret, 16);
	if (n->tcp_max_conns)
		cfg.tcp_max_conns = n->tcp_max_conns;
	if (n->tcp_mem_max)
		cfg.tcp_mem_max = n->tcp_mem_max;
	a->st = us_stack_new(&cfg);
	if (!a->st) {
		us_link_close(link);
		return fail("cannot create the stack", -errno);
	}
	us_link_get_hwaddr(link, a->mac);
	a->ifindex = us_iface_add(a->st, link);
	if (a->ifindex < 0) {
		us_link_close(link);
		us_stack_free(a->st);
		if (n->xdp) {
			char buf[256];
			fprintf(stderr, "ustack: %s\n",
				us_sys_strerror("cannot bind the AF_XDP socket to its queue", a->ifindex, buf, sizeof(buf)));
			return -1;
		}
		return fail("cannot attach the device", a->ifindex);
	}
	describe_mode(n, a);
	if (n->mtu)
		us_iface_set_mtu(a->st, a->ifindex, n->mtu);
	if (n->has_ip4 && (rc = us_iface_addr_add(a->st, a->ifindex, n->ip, n->ip_plen)) < 0) {
		app_stack_close(a);
		return fail("cannot add the stack's address", rc);
	}
	for (int i = 0; i < n->n_ip6; i++) {
		struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = n->ip6[i]};
		if ((rc = us_iface_addr_add_sa(a->st, a->ifindex, (struct sockaddr *)&s6, n->ip6_plen[i])) < 0) {
			app_stack_close(a);
			return fail("cannot add the stack's IPv6 address", rc);
		}
	}
	if (n->has_gateway6) {
		struct sockaddr_in6 any6 = {.sin6_family = AF_INET6}, gw6 = {.sin6_family = AF_INET6, .sin6_addr = n->gateway6};
		if ((rc = us_route_add_sa(a->st, (struct sockaddr *)&any6, 0, (struct sockaddr *)&gw6, a->ifindex)) < 0) {
			app_stack_close(a);
			return fail("cannot add the IPv6 default route", rc);
		}
	}
	if (n->has_gateway) {
		struct in_addr any = {0};
		if ((rc = us_route_add(a->st, any, 0, n->gateway, a->ifindex)) < 0) {
			app_stack_close(a);
			return fail("cannot add the default route", rc);
		}
	}
	if (nq > 1 && n->tap) {
		/* Queues share the device: an ARP reply may reach another queue's
		 * stack, so every stack knows the kernel's side for certain. */
		uint8_t kmac[6];
		if ((rc = us_nl_link_get_mac(a->devname, kmac)) < 0) {
			app_stack_close(a);
			return fail("cannot read the device's MAC address", rc);
		}
		if (n->has_host_ip)
			us_neigh_add(a->st, a->ifindex, n->host_ip, kmac);
		for (int i = 0; i < n->n_host_ip6; i++) {
			struct sockaddr_in6 h6 = {.sin6_family = AF_INET6, .sin6_addr = n->host_ip6[i]};
			us_neigh_add_sa(a->st, a->ifindex, (struct sockaddr *)&h6, kmac);
		}
		if (n->has_gateway)
			us_neigh_add(a->st, a->ifindex, n->gateway, kmac);
	}
	/* Give the stack the time before its first frame (the announcement). */
	us_stack_timers(a->st, us_now_ns());
	us_iface_up(a->st, a->ifindex);
	return 0;
}

void app_stack_close(struct app_stack *a)
{
	/* Closing the link closes the device fd: a device we created (not
	 * persistent) disappears with it. */
	us_stack_free(a->st);
	a->st = NULL;
}

struct dump_ctx {
	FILE *out;
	const char *group;
	int col;
};

static int stats_describe;   /* serve --describe; set before threads start */

void app_stats_describe(int on) { stats_describe = on; }

static void dump_visit(const char *group, const char *name, uint64_t v, const char *desc, void *arg)
{
	struct dump_ctx *d = arg;
	if (!d->group || strcmp(d->group, group)) {
		fprintf(d->out, "%s%s:\n", d->group ? "\n" : "", group);
		d->group = group;
		d->col = 0;
	}
	if (stats_describe)
		fprintf(d->out, "    %-24s %-12llu %s\n", name, (unsigned long long)v, desc);
	else
		fprintf(d->out, "    %-24s %llu\n", name, (unsigned long long)v);
}

static void print_stats(const struct us_stats *s, uint64_t bufs, uint64_t lent, const struct us_mem_info *mi, FILE *out)
{
	struct dump_ctx d = {out, NULL, 0};
	us_stats_foreach_desc(s, dump_visit, &d);
	fprintf(out, "\nMemory: used %llu peak %llu max %llu (tcp %llu, packets %llu, refused packet allocations %llu)\n",
		(unsigned long long)mi->used, (unsigned long long)mi->peak, (unsigned long long)mi->max,
		(unsigned long long)mi->tcp, (unsigned long long)mi->pkts, (unsigned long long)mi->pkt_refusals);
	/* Buffers a device holds (AF_XDP's rings) are not in use by the stack. */
	fprintf(out, "\nBuffers in use: %llu\n", (unsigned long long)(bufs - lent));
	if (lent)
		fprintf(out, "Buffers lent to the device: %llu\n", (unsigned long long)lent);
	fprintf(out, "TCP buffer bytes: %llu\n", (unsigned long long)mi->tcp);
	fflush(out);
}

void app_print_dev(const struct app_stack *a, FILE *out)
{
	struct us_link_xdp_info xi;
	struct us_link_packet_info pi;
	if (a->dev && us_link_xdp_info(a->dev, &xi) == 0)
		fprintf(out,
			"\nAF_XDP queue %u: %s, rx %llu frames in %llu batches, tx %llu frames, %llu rx kicks, %llu tx "
			"kicks, %llu tx ring full, %llu copied to send, %llu bad descriptors\n",
			xi.queue, xi.zerocopy ? "zero-copy" : "copy mode", (unsigned long long)xi.rx_frames,
			(unsigned long long)xi.rx_batches, (unsigned long long)xi.tx_frames, (unsigned long long)xi.rx_kicks,
			(unsigned long long)xi.tx_kicks, (unsigned long long)xi.tx_ring_full, (unsigned long long)xi.tx_copied,
			(unsigned long long)xi.bad_desc);
	else if (a->dev && us_link_packet_info(a->dev, &pi) == 0)
		fprintf(out,
			"\nAF_PACKET: %llu tx kicks, %llu tx ring full, %llu refused by the kernel, %llu bad ring entries, "
			"%llu dropped by the kernel (rx ring full)\n",
			(unsigned long long)pi.tx_kicks, (unsigned long long)pi.tx_ring_full,
			(unsigned long long)pi.tx_wrong_format, (unsigned long long)pi.rx_bad,
			(unsigned long long)pi.rx_kernel_drops);
}

void app_print_stats(struct us_stack *st, FILE *out)
{
	struct us_mem_info mi;
	us_stack_mem_info(st, &mi);
	print_stats(us_stack_stats(st), us_stack_bufs_in_use(st), us_stack_bufs_lent(st), &mi, out);
}

void app_print_stats_sum(struct us_stack *const *st, int n, FILE *out)
{
	/* struct us_stats is nothing but uint64_t counters */
	_Static_assert(sizeof(struct us_stats) % sizeof(uint64_t) == 0, "us_stats holds only uint64_t");
	struct us_stats sum;
	struct us_mem_info msum, mi;
	uint64_t *t = (uint64_t *)&sum, bufs = 0, lent = 0;
	memset(&sum, 0, sizeof(sum));
	memset(&msum, 0, sizeof(msum));
	for (int i = 0; i < n; i++) {
		const uint64_t *c = (const uint64_t *)us_stack_stats(st[i]);
		for (size_t k = 0; k < sizeof(sum) / sizeof(uint64_t); k++)
			t[k] += c[k];
		bufs += us_stack_bufs_in_use(st[i]);
		lent += us_stack_bufs_lent(st[i]);
		us_stack_mem_info(st[i], &mi);
		msum.used += mi.used;
		msum.peak += mi.peak;   /* an upper bound: the queues peak apart */
		msum.max += mi.max;
		msum.tcp += mi.tcp;
		msum.pkts += mi.pkts;
		msum.pkt_refusals += mi.pkt_refusals;
	}
	print_stats(&sum, bufs, lent, &msum, out);
}

static void conn_line(const struct us_tcp_info *i, void *arg)
{
	FILE *out = arg;
	char l[32], r[32];
	struct in_addr la = {htonl(i->laddr)}, ra = {htonl(i->raddr)};
	snprintf(l, sizeof(l), "%s:%u", inet_ntoa(la), i->lport);
	snprintf(r, sizeof(r), "%s:%u", inet_ntoa(ra), i->rport);
	fprintf(out, "%-11s %-21s %-21s %s cwnd:%u ssthresh:%u rtt:%.3f/%.3f rto:%.0f mss:%u inflight:%u "
		     "retrans:%u/%llu rcvq:%u sndq:%u segs_in:%llu segs_out:%llu\n",
		us_tcp_state_name(i->state), l, r, i->cc, i->cwnd, i->ssthresh == UINT32_MAX ? 0 : i->ssthresh,
		i->srtt_us / 1000.0, i->rttvar_us / 1000.0, i->rto_us / 1000.0, i->snd_mss, i->bytes_in_flight,
		i->retransmits, (unsigned long long)i->total_retrans, i->rcv_queued, i->snd_queued,
		(unsigned long long)i->segs_in, (unsigned long long)i->segs_out);
}

static void addr_line(const struct us_addr_info *ai, void *arg)
{
	FILE *out = arg;
	char buf[INET6_ADDRSTRLEN] = "?";
	if (ai->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ai->addr;
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
		fprintf(out, "    inet6 %s/%d dev %d scope %s%s%s%s", buf, ai->prefix_len, ai->ifindex,
			s6->sin6_scope_id ? "link" : "global", ai->flags & US_ADDR_TENTATIVE ? " tentative" : "",
			ai->flags & US_ADDR_SLAAC ? " slaac" : "", ai->flags & US_ADDR_STABLE ? " stable-privacy" : "");
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&ai->addr)->sin_addr, buf, sizeof(buf));
		fprintf(out, "    inet %s/%d dev %d", buf, ai->prefix_len, ai->ifindex);
	}
	if (ai->valid_s)
		fprintf(out, " valid_lft %usec", (unsigned)ai->valid_s);
	fputc('\n', out);
}

void app_print_addrs(struct us_stack *st, FILE *out)
{
	fprintf(out, "Addresses:\n");
	us_iface_addr_foreach(st, addr_line, out);
}

void app_print_conns(struct us_stack *st, FILE *out)
{
	fprintf(out, "State       Local                 Peer                  (ss -ti style)\n");
	us_tcp_foreach(st, conn_line, out);
	fflush(out);
}
