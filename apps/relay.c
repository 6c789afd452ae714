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

uint32_t relay_ep4_addr(const struct relay_ep *e) { return ntohl(e->a.v4.s_addr); }

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
	int has_ip = 0, has_socks = 0;
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
			r.proxy = relay_ep4(ntohl(ia.s_addr), port);
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
	if (!n.has_ip4)
		app_usage_error("relay: --ip needs an IPv4 address (the relay carries IPv4 only so far)");
	if (has_socks == r.direct)
		app_usage_error("give exactly one of --socks5 HOST:PORT or --direct");
	if ((r.user || r.pass) && !has_socks)
		app_usage_error("--user and --pass go with --socks5");
	if (!!r.user != !!r.pass)
		app_usage_error("give both --user and --pass");
	if (r.fake_dns && r.direct)
		app_usage_error("--fake-dns needs --socks5 (the proxy resolves the names)");

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
	us_route_add(r.st, any, 0, any, a.ifindex);
	r.loop = app_loop_new(&n, r.st);
	int one = 1, rc = 0;
	struct sockaddr_in me;
	memset(&me, 0, sizeof(me));
	me.sin_family = AF_INET;
	me.sin_addr = n.ip;
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
	us_sock_set_callback(r.st, r.lfd, relay_tcp_on_listener, &r);
	us_sock_set_callback(r.st, r.ufd, relay_udp_on_socket, &r);
	us_sock_set_callback(r.st, r.ifd, relay_icmp_on_socket, &r);
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

	char ipbuf[INET_ADDRSTRLEN], pbuf[RELAY_EP_STR];
	inet_ntop(AF_INET, &n.ip, ipbuf, sizeof(ipbuf));
	printf("ustack relay: ready on %s %s/%d, %s%s%s, budget %llu bytes\n", a.devname, ipbuf, n.ip_plen,
	       r.direct ? "direct" : "socks5 ", r.direct ? "" : relay_ep_addr_str(&r.proxy, pbuf),
	       r.fake_dns ? ", fake DNS" : "", (unsigned long long)r.mem_max);
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
	us_close(r.st, r.lfd);
	us_close(r.st, r.ufd);
	us_close(r.st, r.ifd);
	us_loop_free(r.loop);
	app_stack_close(&a);
	relay_dns_free(&r);
	close(sfd);
	close(tfd);
	return rc < 0 ? 1 : 0;
}
