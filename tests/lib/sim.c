#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#ifdef SIM_NO_CMOCKA
#include <stdio.h>
#include <stdlib.h>
#else
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#endif

#include "link/link.h"
#include "net/iface.h"
#include "net/ipv4.h"
#include "net/neigh.h"
#include "net/route.h"
#include "stack.h"

int sim_init(struct sim *s, const struct sim_opts *o)
{
	struct sim_opts def = {0};
	if (!o)
		o = &def;
	memset(s, 0, sizeof(*s));
	s->now = 1000000000ull;   /* start at 1 s, not 0 */
	uint32_t mtu = o->mtu ? o->mtu : 1500;
	if (us_link_mem_pair(&s->la, &s->lb, mtu, o->l3) < 0)
		return -ENOMEM;
	if (o->offload) {
		mem_link_offloads(s->la);
		mem_link_offloads(s->lb);
	}
	if (o->a_tx || o->a_rx)
		s->la = us_link_fault_wrap(s->la, o->a_tx, o->a_rx);
	if (o->b_tx || o->b_rx)
		s->lb = us_link_fault_wrap(s->lb, o->b_tx, o->b_rx);
	if (o->pcap_a) {
		int err;
		struct us_link *w = us_link_pcap_wrap(s->la, o->pcap_a, &err);
		if (w)
			s->la = w;
	}
	if (o->pcap_b) {
		int err;
		struct us_link *w = us_link_pcap_wrap(s->lb, o->pcap_b, &err);
		if (w)
			s->lb = w;
	}
	if (o->mac_b)
		us_link_set_hwaddr(s->lb, o->mac_b);
	struct us_stack_config cfg = o->cfg;
	cfg.seed = o->seed ? o->seed : 1;
	s->a = us_stack_new(&cfg);
	cfg.seed += 1000;
	s->b = us_stack_new(&cfg);
	if (!s->a || !s->b)
		return -ENOMEM;
	s->ifa = us_iface_add(s->a, s->la);
	s->ifb = us_iface_add(s->b, s->lb);
	struct in_addr a, b;
	inet_pton(AF_INET, SIM_A, &a);
	inet_pton(AF_INET, SIM_B, &b);
	us_iface_set_mtu(s->a, s->ifa, mtu);
	us_iface_set_mtu(s->b, s->ifb, mtu);
	us_iface_addr_add(s->a, s->ifa, a, 24);
	us_iface_addr_add(s->b, s->ifb, b, 24);
	us_stack_timers(s->a, s->now);
	us_stack_timers(s->b, s->now);
	us_iface_up(s->a, s->ifa);
	if (!o->b_iface_down)
		us_iface_up(s->b, s->ifb);
	return 0;
}

void sim_free(struct sim *s)
{
	/* Buffers still counted in use once every owner has let go of its own
	 * were lost: each test fails on a leak, whatever it left open. */
	uint32_t lost_a = us_stack_free_leaks(s->a);
	uint32_t lost_b = us_stack_free_leaks(s->b);
	s->a = s->b = NULL;
	if (lost_a || lost_b) {
#ifdef SIM_NO_CMOCKA
		fprintf(stderr, "sim_free: packet buffers leaked: %u by a, %u by b\n", lost_a, lost_b);
		abort();
#else
		fail_msg("sim_free: packet buffers leaked: %u by a, %u by b", lost_a, lost_b);
#endif
	}
}

static int never(void *arg)
{
	(void)arg;
	return 0;
}

int sim_run_until(struct sim *s, uint64_t ns, int (*cond)(void *), void *arg)
{
	uint64_t end = s->now + ns;
	/* Bounded in steps as well as in virtual time. */
	for (long steps = 0; steps < 50000000L; steps++) {
		if (!s->a_down)
			us_stack_input(s->a, s->now);
		if (!s->b_down)
			us_stack_input(s->b, s->now);
		if (!s->a_down)
			us_stack_timers(s->a, s->now);
		if (!s->b_down)
			us_stack_timers(s->b, s->now);
		if (cond(arg))
			return 1;
		if ((!s->a_down && us_stack_has_pending(s->a)) || (!s->b_down && us_stack_has_pending(s->b)))
			continue;   /* frames in flight: same instant */
		int64_t da = s->a_down ? -1 : us_stack_next_deadline(s->a), db = s->b_down ? -1 : us_stack_next_deadline(s->b);
		int64_t d = da < 0 ? db : (db < 0 ? da : (da < db ? da : db));
		if (d < 0 || (uint64_t)d > end) {
			s->now = end;
			if (!s->a_down) {
				us_stack_input(s->a, s->now);
				us_stack_timers(s->a, s->now);
			}
			if (!s->b_down) {
				us_stack_input(s->b, s->now);
				us_stack_timers(s->b, s->now);
			}
			return cond(arg);
		}
		if ((uint64_t)d > s->now)
			s->now = (uint64_t)d;
		else
			s->now = ((s->now >> 20) + 1) << 20;   /* due now: to the next wheel tick */
		if (s->now >= end)
			return cond(arg);
	}
	return cond(arg);
}

void sim_run(struct sim *s, uint64_t ns) { sim_run_until(s, ns, never, NULL); }

struct sockaddr_in sim_addr(const char *ip, uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static void sim_fail(const char *what, const char *arg)
{
#ifdef SIM_NO_CMOCKA
	fprintf(stderr, "sim: %s '%s'\n", what, arg);
	abort();
#else
	fail_msg("sim: %s '%s'", what, arg);
#endif
}

struct sockaddr_in6 sim_addr6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	if (ip && inet_pton(AF_INET6, ip, &a.sin6_addr) != 1)
		sim_fail("not an IPv6 address:", ip);
	return a;
}

int64_t sim_stat(struct us_stack *st, const char *name)
{
	int64_t v = us_stats_get(us_stack_stats(st), name);
	if (v < 0)
		sim_fail("no such counter:", name);
	return v;
}

uint32_t sim_ip(const char *ip)
{
	struct in_addr a;
	inet_pton(AF_INET, ip, &a);
	return ntohl(a.s_addr);
}

void sim_inject(struct sim *s, const void *frame, size_t len)
{
	struct us_stack *a = s->a;
	struct pkt *p = pkt_alloc(&a->pool, (uint32_t)len, 0);
	if (!p)
		return;
	memcpy(pkt_put(p, (uint32_t)len), frame, len);
	struct pkt *one[1] = {p};
	link_send(s->la, one, 1, s->now);
}

size_t sim_eth_frame(uint8_t *out, const void *ip_packet, size_t len, uint16_t ethertype)
{
	static const uint8_t hdr[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
	memcpy(out, hdr, 12);
	out[12] = (uint8_t)(ethertype >> 8);
	out[13] = (uint8_t)ethertype;
	memcpy(out + 14, ip_packet, len);
	return len + 14;
}

int sim_tcp_state(struct us_stack *st, int fd)
{
	struct us_tcp_info i;
	socklen_t l = sizeof(i);
	if (us_getsockopt(st, fd, IPPROTO_TCP, TCP_INFO, &i, &l) < 0)
		return -1;
	return i.state;
}

static int pair_ready(void *arg)
{
	struct sim_pair *p = arg;
	if (p->afd < 0)
		p->afd = us_accept(p->s->b, p->lfd, NULL, NULL);
	return p->afd >= 0 && sim_tcp_state(p->s->a, p->cfd) == US_TCP_ESTABLISHED;
}

int sim_tcp_connect(struct sim *s, struct sim_pair *p, uint16_t port)
{
	return sim_tcp_connect_from(s, p, port, 0);
}

int sim_tcp_connect_from(struct sim *s, struct sim_pair *p, uint16_t port, uint16_t local_port)
{
	p->s = s;
	p->afd = -1;
	p->lfd = us_socket(s->b, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = sim_addr("0.0.0.0", port);
	if (us_bind(s->b, p->lfd, (struct sockaddr *)&la, sizeof(la)) < 0 || us_listen(s->b, p->lfd, 16) < 0)
		return -1;
	p->cfd = us_socket(s->a, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in from = sim_addr(SIM_A, local_port);
	if (local_port && us_bind(s->a, p->cfd, (struct sockaddr *)&from, sizeof(from)) < 0)
		return -1;
	struct sockaddr_in to = sim_addr(SIM_B, port);
	if (us_connect(s->a, p->cfd, (struct sockaddr *)&to, sizeof(to)) != -EINPROGRESS)
		return -1;
	return sim_run_until(s, SEC(10), pair_ready, p) ? 0 : -1;
}

void sim_tcp_close(struct sim_pair *p)
{
	us_close(p->s->a, p->cfd);
	if (p->afd >= 0)
		us_close(p->s->b, p->afd);
	us_close(p->s->b, p->lfd);
}
