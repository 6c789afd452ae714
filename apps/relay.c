/* ustack relay: tun2socks. Every TCP connection and UDP flow routed into a
 * TUN device is terminated by ustack (transparent sockets) and carried on
 * through a SOCKS5 proxy (CONNECT, UDP ASSOCIATE; RFC 1928/1929) or
 * straight out through kernel sockets (--direct). One epoll loop over the
 * TUN device and every kernel socket; nothing blocks.
 *
 * This file: options, set-up, timers and signals, and what the parts share
 * (endpoints, upstream sockets, the SOCKS5 handshake's I/O). The parts:
 * relay_tcp.c (TCP flows), relay_udp.c (UDP mappings), relay_icmp.c (ICMP),
 * relay_dns.c (fake DNS), relay_report.c (the report); relay.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
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

#include "relay.h"

/* ---- endpoints ----------------------------------------------------------- */

struct relay_ep relay_ep4(uint32_t addr, uint16_t port)
{
	struct relay_ep e;
	memset(&e, 0, sizeof(e));
	e.family = AF_INET;
	e.a.v4.s_addr = htonl(addr);
	e.port = port;
	return e;
}

int relay_ep_eq(const struct relay_ep *x, const struct relay_ep *y)
{
	if (x->family != y->family || x->port != y->port)
		return 0;
	return x->family == AF_INET ? x->a.v4.s_addr == y->a.v4.s_addr : !memcmp(&x->a.v6, &y->a.v6, 16);
}

uint32_t relay_ep_hash(const struct relay_ep *e)
{
	/* FNV-1a over the address and port: the table is bounded and each
	 * chain is short; a client choosing colliding ports only slows its
	 * own lookups within that bound. */
	const uint8_t *p = (const uint8_t *)&e->a;
	size_t n = e->family == AF_INET ? 4 : 16;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ (uint8_t)(e->port >> 8)) * 16777619u;
	h = (h ^ (uint8_t)e->port) * 16777619u;
	return h ^ (h >> 15);
}

socklen_t relay_ep_sockaddr(const struct relay_ep *e, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (e->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = e->a.v6;
		s6->sin6_port = htons(e->port);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_addr = e->a.v4;
	s4->sin_port = htons(e->port);
	return sizeof(*s4);
}

int relay_ep_from(struct relay_ep *e, const struct sockaddr *sa, socklen_t len)
{
	memset(e, 0, sizeof(*e));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		e->family = AF_INET;
		e->a.v4 = s4->sin_addr;
		e->port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		e->family = AF_INET6;
		e->a.v6 = s6->sin6_addr;
		e->port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

void relay_ep_socks(const struct relay_ep *e, const char *domain, struct socks5_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->port = e->port;
	if (domain) {
		out->atyp = SOCKS5_ATYP_DOMAIN;
		out->domain = domain;
	} else if (e->family == AF_INET6) {
		out->atyp = SOCKS5_ATYP_IPV6;
		memcpy(out->ip, &e->a.v6, 16);
	} else {
		out->atyp = SOCKS5_ATYP_IPV4;
		memcpy(out->ip, &e->a.v4, 4);
	}
}

const char *relay_ep_addr_str(const struct relay_ep *e, char *buf)
{
	if (!inet_ntop(e->family == AF_INET6 ? AF_INET6 : AF_INET, &e->a, buf, INET6_ADDRSTRLEN))
		strcpy(buf, "?");
	return buf;
}

const char *relay_ep_str(const struct relay_ep *e, char *buf)
{
	char a[INET6_ADDRSTRLEN];
	relay_ep_addr_str(e, a);
	snprintf(buf, RELAY_EP_STR, e->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, e->port);
	return buf;
}

/* ---- upstream sockets and the SOCKS5 handshake ---------------------------- */

int relay_upstream_socket(struct relay *r, int family, int type, int proto)
{
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
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

int relay_socks_drive(int fd, struct socks5_client *c)
{
	for (int guard = 0; guard < 16; guard++) {
		const uint8_t *p;
		size_t n = socks5_client_output(c, &p);
		if (n) {
			if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n)
				return -1;
			socks5_client_sent(c, n);
		}
		if (c->state == SOCKS5_DONE)
			return 1;
		if (c->state == SOCKS5_FAILED)
			return -1;
		uint8_t b[SOCKS5_MAX_REPLY];
		size_t want = socks5_client_want(c);
		ssize_t k = recv(fd, b, want < sizeof(b) ? want : sizeof(b), 0);
		if (k == 0)
			return -1;
		if (k < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		socks5_client_input(c, b, (size_t)k);
	}
	return 0;
}

/* ---- timers and signals --------------------------------------------------- */

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
	relay_tcp_expire(r, now);
	relay_udp_expire(r, now);
	relay_icmp_expire(r, now);
	if (ctl->stats_every_ns && now >= ctl->next_stats) {
		ctl->next_stats = now + ctl->stats_every_ns;
		relay_report(r, stdout);
	}
}

static void on_signal(struct us_loop *l, int fd, unsigned ev, void *arg)
{
	(void)ev;
	struct relay_ctl *ctl = arg;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			relay_report(ctl->r, stdout);
		else
			us_loop_stop(l);
	}
}

/* ---- options and set-up ------------------------------------------------- */

static void relay_usage(FILE *out)
{
	fputs("usage: ustack relay --tun NAME --ip ADDR/PREFIX [--ip ADDR6/PREFIX]\n"
	      "            (--socks5 HOST:PORT [--user U --pass P] | --direct) [options]\n"
	      "\n"
	      "Terminates every TCP connection and UDP flow routed into the TUN device NAME\n"
	      "(any destination, IPv4 and IPv6) and carries it on through a SOCKS5 proxy\n"
	      "(CONNECT, UDP ASSOCIATE; IPv6 destinations as ATYP 4) or, with --direct,\n"
	      "through the kernel's own sockets. Point a route (e.g. the default route, and\n"
	      "::/0 for IPv6) at NAME. A refused or unreachable destination reaches the\n"
	      "client as a TCP RST (ICMP or ICMPv6 port unreachable for UDP in --direct\n"
	      "mode); half close and flow control are carried both ways. UDP mappings are\n"
	      "endpoint-independent (full cone). ICMP and ICMPv6 echo are forwarded with\n"
	      "ping sockets in --direct mode (needs net.ipv4.ping_group_range to include the\n"
	      "relay's group; it covers both families), answered by the relay itself\n"
	      "otherwise. Prints 'ready' when up; SIGUSR1 prints the live flows and\n"
	      "counters; SIGINT/SIGTERM stop it (printing them once more).\n"
	      "\n"
	      "  --tun NAME            the TUN device (created if absent)\n"
	      "  --ip ADDR/PREFIX      the stack's own address on it (required), at most once\n"
	      "                        per family: an IPv4 one carries IPv4, an IPv6 one IPv6\n"
	      "  --host-ip ADDR/PREFIX address for the kernel's side of the device (once per\n"
	      "                        family)\n"
	      "  --mtu N               MTU of the device and the stack\n"
	      "  --socks5 HOST:PORT    the proxy: IPV4:PORT or [IPV6]:PORT\n"
	      "  --user U --pass P     RFC 1929 user/password for the proxy\n"
	      "  --direct              no proxy: connect with kernel sockets\n"
	      "  --mark N              SO_MARK on every upstream socket, so a policy rule\n"
	      "                        (ip rule add fwmark N lookup T, and ip -6 rule for IPv6)\n"
	      "                        keeps them out of NAME\n"
	      "  --out-dev DEV         SO_BINDTODEVICE on every upstream socket instead\n"
	      "  --udp-timeout S       idle UDP mapping (and ping) lifetime (default 60)\n"
	      "  --tcp-timeout S       idle TCP flow lifetime (default 600)\n"
	      "  --fake-dns CIDR       answer DNS queries (UDP port 53, any server) with\n"
	      "                        addresses from CIDR and hand the names to the proxy as\n"
	      "                        domain names (needs --socks5). Once per family: an IPv4\n"
	      "                        range (prefix 8..30) answers A queries, an IPv6 one\n"
	      "                        (prefix 64..120, e.g. fd00:ffff::/96) AAAA queries; a\n"
	      "                        type with no range gets an empty NOERROR answer\n"
	      "  --max-memory N[K|M|G] memory budget: 7/8 for the stack's buffers (mem_max),\n"
	      "                        1/8 for the relay's own per-flow state (default 256M)\n"
	      "  --max-flows N         TCP flows, and UDP mappings, held at once (default 16384)\n"
	      "  --tcp-buffer N[K|M]   the most a TCP flow's buffer grows to, each way (from\n"
	      "                        16K; default 16 MTUs, 256K at least); less under memory\n"
	      "                        pressure\n"
	      "  --stats-interval S    print the flows and counters every S seconds\n"
	      APP_CTL_USAGE
	      "  --pcap FILE           write every packet on NAME to FILE\n"
	      "  --busy-poll USEC      after a packet comes in, poll NAME for USEC more instead of\n"
	      "                        sleeping (lower latency for a spinning CPU; default 0)\n"
	      "  -h, --help            this text\n",
	      out);
}

/* --socks5 IPV4:PORT or [IPV6]:PORT */
static int parse_proxy(const char *arg, struct relay_ep *out)
{
	char host[64];
	const char *colon = strrchr(arg, ':'), *h = arg;
	size_t hl;
	uint16_t port;
	if (!colon || app_parse_port(colon + 1, &port) < 0)
		return -1;
	hl = (size_t)(colon - arg);
	if (*arg == '[') {
		if (hl < 3 || arg[hl - 1] != ']')
			return -1;
		h = arg + 1;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	memset(out, 0, sizeof(*out));
	out->port = port;
	if (*arg == '[') {
		out->family = AF_INET6;
		return inet_pton(AF_INET6, host, &out->a.v6) == 1 ? 0 : -1;
	}
	struct in_addr ia;
	if (app_parse_ip(host, &ia) < 0)
		return -1;
	*out = relay_ep4(ntohl(ia.s_addr), port);
	return 0;
}

/* --fake-dns CIDR of either family into r (each family once). */
static void parse_fake(struct relay *r, const char *arg, uint32_t *size4, uint32_t *size6)
{
	if (strchr(arg, ':')) {
		struct in6_addr a;
		int plen;
		if (r->fake6 || app_parse_cidr6(arg, &a, &plen, 1) < 0 || plen < 64 || plen > 120)
			app_usage_error("--fake-dns wants one IPv6 ADDR/PREFIX with a prefix of 64..120, got '%s'", arg);
		/* The pool is in the last 32 bits (at most 65536 names): the
		 * network with its host bits cleared, then from its first
		 * address on (network + 1). */
		for (int i = 0; i < 16; i++) {
			int keep = plen - 8 * i;
			a.s6_addr[i] &= keep >= 8 ? 0xFF : keep <= 0 ? 0 : (uint8_t)(0xFF << (8 - keep));
		}
		uint32_t lo = (uint32_t)a.s6_addr[12] << 24 | (uint32_t)a.s6_addr[13] << 16 | (uint32_t)a.s6_addr[14] << 8 |
			      a.s6_addr[15];
		lo += 1;
		a.s6_addr[12] = (uint8_t)(lo >> 24);
		a.s6_addr[13] = (uint8_t)(lo >> 16);
		a.s6_addr[14] = (uint8_t)(lo >> 8);
		a.s6_addr[15] = (uint8_t)lo;
		r->fake6_base = a;
		uint64_t size = 128 - plen >= 32 ? 0xFFFFFFFFull : (1ull << (128 - plen)) - 1;
		*size6 = size > 65536 ? 65536 : (uint32_t)size;
		r->fake6 = 1;
		return;
	}
	struct in_addr ia;
	int plen;
	if (r->fake4 || app_parse_cidr(arg, &ia, &plen, 1) < 0 || plen < 8 || plen > 30)
		app_usage_error("--fake-dns wants one IPv4 ADDR/PREFIX with a prefix of 8..30, got '%s'", arg);
	uint32_t mask = ~0u << (32 - plen);
	r->fake_base = (ntohl(ia.s_addr) & mask) + 1;   /* skip the network address */
	uint32_t size = (~mask) - 1;                     /* and the broadcast one */
	*size4 = size > 65536 ? 65536 : size;
	r->fake4 = 1;
}

/* The transparent sockets of one family, bound to the stack's address of
 * it (me), their callbacks set; 0, or -1 with every one closed. */
static int open_family(struct relay *r, const struct sockaddr *me, socklen_t ml)
{
	int fam = me->sa_family, fi = relay_fi(fam), one = 1;
	int lvl = fam == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP, opt = fam == AF_INET6 ? IPV6_TRANSPARENT : IP_TRANSPARENT;
	r->lfd[fi] = us_socket(r->st, fam, SOCK_STREAM, 0);
	r->ufd[fi] = us_socket(r->st, fam, SOCK_DGRAM, 0);
	r->ifd[fi] = us_socket(r->st, fam, SOCK_DGRAM, fam == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	int fds[3] = {r->lfd[fi], r->ufd[fi], r->ifd[fi]};
	int ok = fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0;
	/* One family per socket: IPv4 never reaches the IPv6 ones. */
	for (int i = 0; ok && fam == AF_INET6 && i < 3; i++)
		ok = us_setsockopt(r->st, fds[i], IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0;
	if (!ok || us_setsockopt(r->st, r->lfd[fi], lvl, opt, &one, sizeof(one)) < 0 ||
	    us_setsockopt(r->st, r->lfd[fi], IPPROTO_TCP, US_TCP_DEFER_HANDSHAKE, &one, sizeof(one)) < 0 ||
	    us_bind(r->st, r->lfd[fi], me, ml) < 0 || us_listen(r->st, r->lfd[fi], 1024) < 0 ||
	    us_setsockopt(r->st, r->ufd[fi], lvl, opt, &one, sizeof(one)) < 0 || us_bind(r->st, r->ufd[fi], me, ml) < 0 ||
	    us_setsockopt(r->st, r->ifd[fi], lvl, opt, &one, sizeof(one)) < 0) {
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0)
				us_close(r->st, fds[i]);
		r->lfd[fi] = r->ufd[fi] = r->ifd[fi] = -1;
		return -1;
	}
	int big = 4 << 20;
	us_setsockopt(r->st, r->ufd[fi], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	us_sock_set_callback(r->st, r->lfd[fi], relay_tcp_on_listener, r);
	us_sock_set_callback(r->st, r->ufd[fi], relay_udp_on_socket, r);
	us_sock_set_callback(r->st, r->ifd[fi], relay_icmp_on_socket, r);
	return 0;
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
		APP_NET_LONGOPTS, APP_CTL_LONGOPTS,
		{"socks5", required_argument, 0, 'S'},   {"user", required_argument, 0, 'u'},
		{"pass", required_argument, 0, 'P'},     {"direct", no_argument, 0, 'd'},
		{"mark", required_argument, 0, 'k'},     {"out-dev", required_argument, 0, 'o'},
		{"udp-timeout", required_argument, 0, 'y'}, {"tcp-timeout", required_argument, 0, 'Y'},
		{"fake-dns", required_argument, 0, 'F'}, {"max-memory", required_argument, 0, 'X'},
		{"stats-interval", required_argument, 0, 'I'}, {"tcp-buffer", required_argument, 0, 'W'},
		{"max-flows", required_argument, 0, 'N'},      {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	static struct relay r;
	memset(&r, 0, sizeof(r));
	struct app_net n;
	memset(&n, 0, sizeof(n));
	int has_ip = 0, has_socks = 0, n_ip[2] = {0, 0}, n_host_ip[2] = {0, 0};
	uint32_t fake_size4 = 0, fake_size6 = 0;
	uint64_t stats_every = 0, tcp_buffer = 0;
	r.udp_timeout_ns = 60 * NS;
	r.tcp_timeout_ns = 600 * NS;
	r.mem_max = 256ull << 20;
	r.max_tcp_flows = MAX_TCP_FLOWS;
	r.max_udp_maps = MAX_UDP_MAPS;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			if (parse_proxy(optarg, &r.proxy) < 0)
				app_usage_error("--socks5 wants IPV4:PORT or [IPV6]:PORT, got '%s'", optarg);
			has_socks = 1;
			break;
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
		case 'W':
			if (app_parse_size(optarg, &tcp_buffer) < 0 || tcp_buffer < (4u << 10) || tcp_buffer > (64u << 20))
				app_usage_error("--tcp-buffer wants a size of 4K..64M, got '%s'", optarg);
			break;
		case 'N': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || v < 1 || v > MAX_FLOWS_LIMIT)
				app_usage_error("--max-flows wants 1..%u, got '%s'", MAX_FLOWS_LIMIT, optarg);
			r.max_tcp_flows = r.max_udp_maps = (uint32_t)v;
			break;
		}
		case 'F':
			parse_fake(&r, optarg, &fake_size4, &fake_size6);
			r.fake_dns = 1;
			break;
		case 'i':
			/* Once per family (app_net takes several IPv6 ones). */
			if (n_ip[!!strchr(optarg, ':')]++)
				app_usage_error("--ip: give at most one address per family");
			app_net_option(c, optarg, &n, &has_ip);
			break;
		case 'H':
			if (n_host_ip[!!strchr(optarg, ':')]++)
				app_usage_error("--host-ip: give at most one address per family");
			app_net_option(c, optarg, &n, &has_ip);
			break;
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
	if (n.no_ipv6 && n.n_ip6)
		app_usage_error("--no-ipv6 with an IPv6 --ip");
	if (has_socks == r.direct)
		app_usage_error("give exactly one of --socks5 HOST:PORT or --direct");
	if ((r.user || r.pass) && !has_socks)
		app_usage_error("--user and --pass go with --socks5");
	if (!!r.user != !!r.pass)
		app_usage_error("give both --user and --pass");
	if (r.fake_dns && r.direct)
		app_usage_error("--fake-dns needs --socks5 (the proxy resolves the names)");
	/* One table of names for both ranges: as many as the smaller holds. */
	r.fake_size = r.fake4 && r.fake6 ? APP_MIN(fake_size4, fake_size6) : r.fake4 ? fake_size4 : fake_size6;

	/* The budget: the stack's TCP buffers and packet buffers take 7/8
	 * (mem_max); the relay's own per-flow state (flows, mappings, SOCKS5
	 * handshakes, queued datagrams: it keeps no data buffers of its own)
	 * 1/8. The packet pool is sized to fit. Each TCP flow's buffers are
	 * --tcp-buffer each way, scaled down by the stack under memory
	 * pressure (so 10,000 flows fit in the default budget). */
	struct us_stack_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	r.relay_mem_max = r.mem_max / 8;
	cfg.mem_max = r.mem_max - r.relay_mem_max;
	uint64_t frames = cfg.mem_max / 4 / 2176;
	cfg.frame_bufs = (uint32_t)(frames > 4096 ? 4096 : (frames < 256 ? 256 : frames));
	cfg.large_bufs = 64;   /* super-frames from the TUN in one batch of reads */
	cfg.max_sockets = r.max_tcp_flows + 64;
	cfg.tcp_max_conns = 2 * r.max_tcp_flows;   /* room for TIME_WAIT */
	cfg.tcp_max_syn_backlog = 128;
	cfg.tcp_synack_retries = 3;
	if (!tcp_buffer) {
		/* Room for 16 full segments in flight each way, 256 KiB at least:
		 * at MTU 65520 two segments would fill a 128 KiB buffer. */
		uint64_t mtu = n.mtu ? n.mtu : 1500;
		tcp_buffer = 16 * mtu < (256u << 10) ? (256u << 10) : 16 * mtu;
	}
	cfg.tcp_rmem = (uint32_t)tcp_buffer;
	cfg.tcp_wmem = (uint32_t)tcp_buffer;
	r.tcp_buffer = (uint32_t)tcp_buffer;
	n.cfg = &cfg;
	r.fake = r.fake_dns ? calloc(r.fake_size, sizeof(*r.fake)) : NULL;
	if ((r.fake_dns && !r.fake) || relay_udp_init(&r) < 0) {
		fprintf(stderr, "ustack: out of memory\n");
		return 1;
	}

	/* One or two kernel sockets per flow: as many descriptors as the flow
	 * limits need (raising the hard limit where allowed, as root), else
	 * every one allowed. */
	struct rlimit rl;
	rlim_t want = (rlim_t)r.max_tcp_flows + 2 * (rlim_t)r.max_udp_maps + MAX_PING_MAPS + 256;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		struct rlimit more = {want, rl.rlim_max > want ? rl.rlim_max : want};
		if (setrlimit(RLIMIT_NOFILE, &more) < 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
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
	struct sockaddr_in6 any6 = {.sin6_family = AF_INET6};
	if (n.has_ip4)
		us_route_add(r.st, any, 0, any, a.ifindex);
	if (n.n_ip6)
		us_route_add_sa(r.st, (struct sockaddr *)&any6, 0, NULL, a.ifindex);
	r.loop = app_loop_new(&n, r.st);
	int rc = 0;
	r.lfd[0] = r.lfd[1] = r.ufd[0] = r.ufd[1] = r.ifd[0] = r.ifd[1] = -1;
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr = n.ip};
	struct sockaddr_in6 me6 = {.sin6_family = AF_INET6, .sin6_addr = n.ip6[0]};
	if (!r.loop || (n.has_ip4 && open_family(&r, (struct sockaddr *)&me, sizeof(me)) < 0) ||
	    (n.n_ip6 && open_family(&r, (struct sockaddr *)&me6, sizeof(me6)) < 0)) {
		fprintf(stderr, "ustack: cannot set up the transparent sockets\n");
		for (int i = 0; i < 2; i++)
			if (r.lfd[i] >= 0) {
				us_close(r.st, r.lfd[i]);
				us_close(r.st, r.ufd[i]);
				us_close(r.st, r.ifd[i]);
			}
		if (r.loop)
			us_loop_free(r.loop);
		app_stack_close(&a);
		return 1;
	}
	struct relay_ctl ctl = {&r, tfd, stats_every, us_now_ns() + stats_every};
	us_loop_add_fd(r.loop, sfd, EPOLLIN, on_signal, &ctl);
	us_loop_add_fd(r.loop, tfd, EPOLLIN, on_tick, &ctl);
	struct app_ctl_ops cops = {"relay", relay_control_counters, relay_control_sockets, &r};
	struct app_ctl *control = app_ctl_open_loop(a.devname, n.metrics, &cops, r.loop);
	if (!control) {
		us_loop_free(r.loop);
		app_stack_close(&a);
		return 1;
	}

	char ipbuf[INET_ADDRSTRLEN], ip6buf[INET6_ADDRSTRLEN], pbuf[RELAY_EP_STR], addrs[128];
	inet_ntop(AF_INET, &n.ip, ipbuf, sizeof(ipbuf));
	inet_ntop(AF_INET6, &n.ip6[0], ip6buf, sizeof(ip6buf));
	if (n.has_ip4 && n.n_ip6)
		snprintf(addrs, sizeof(addrs), "%s/%d %s/%d", ipbuf, n.ip_plen, ip6buf, n.ip6_plen[0]);
	else if (n.has_ip4)
		snprintf(addrs, sizeof(addrs), "%s/%d", ipbuf, n.ip_plen);
	else
		snprintf(addrs, sizeof(addrs), "%s/%d", ip6buf, n.ip6_plen[0]);
	printf("ustack relay: ready on %s %s, %s%s%s%s%s, budget %llu bytes\n", a.devname, addrs,
	       r.direct ? "direct" : "socks5 ", r.direct ? "" : relay_ep_str(&r.proxy, pbuf),
	       r.fake_dns ? ", fake DNS" : "", r.fake4 ? " A" : "", r.fake6 ? " AAAA" : "", (unsigned long long)r.mem_max);
	fflush(stdout);
	rc = us_loop_run(r.loop, -1);
	if (rc < 0)
		fprintf(stderr, "ustack: event loop failed: %s\n", strerror(-rc));
	printf("ustack relay: stopping\n");
	relay_report(&r, stdout);
	app_ctl_close(control);
	relay_tcp_free_all(&r);
	relay_udp_free_all(&r);
	relay_icmp_free_all(&r);
	for (int i = 0; i < 2; i++)
		if (r.lfd[i] >= 0) {
			us_close(r.st, r.lfd[i]);
			us_close(r.st, r.ufd[i]);
			us_close(r.st, r.ifd[i]);
		}
	us_loop_free(r.loop);
	app_stack_close(&a);
	relay_dns_free(&r);
	close(sfd);
	close(tfd);
	return rc < 0 ? 1 : 0;
}
