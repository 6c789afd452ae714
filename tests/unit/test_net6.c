/* The IPv6 pieces of net/ on a stack of their own (no peer traffic):
 * source address selection (RFC 6724 scope and longest prefix), the v6
 * route table's longest match and per-destination path MTU (lowered only,
 * never below what it was given), and the NDP rules of the one neighbour
 * cache (RFC 4861 7.2.3 and 7.2.5: what an NS or an NA with its solicited
 * and override flags does to an entry). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/sim.h"
#include "net/iface.h"
#include "net/neigh.h"
#include "net/route.h"
#include "stack.h"
#include "wire/ipv6.h"

static struct ip6_addr A(const char *s)
{
	struct ip6_addr a;
	assert_int_equal(inet_pton(AF_INET6, s, a.b), 1);
	return a;
}

static struct us_iface *setup(struct sim *s)
{
	struct us_stack_config cfg = {.ipv6_no_dad = 1, .ipv6_no_ra = 1};
	struct sim_opts o = {.cfg = cfg};
	assert_int_equal(sim_init(s, &o), 0);
	struct us_iface *ifc = iface_get(s->a, s->ifa);
	assert_non_null(ifc);
	return ifc;
}

static void test_source_selection(void **state)
{
	(void)state;
	struct sim s;
	struct us_iface *ifc = setup(&s);
	struct ip6_addr g1 = A("2001:db8:1::5"), g2 = A("2001:db8:2::5"), u = A("fd00::5"), out;
	assert_int_equal(iface6_addr_add(s.a, ifc, &g1, 64, 0, 0, 0), 0);
	assert_int_equal(iface6_addr_add(s.a, ifc, &g2, 64, 0, 0, 0), 0);
	assert_int_equal(iface6_addr_add(s.a, ifc, &u, 64, 0, 0, 0), 0);
	assert_int_equal(iface6_addr_add(s.a, ifc, &u, 64, 0, 0, 0), -EEXIST);
	struct ip6_addr mc = A("ff02::1"), lo = A("::1");
	assert_int_equal(iface6_addr_add(s.a, ifc, &mc, 64, 0, 0, 0), -EINVAL);
	assert_int_equal(iface6_addr_add(s.a, ifc, &lo, 128, 0, 0, 0), -EINVAL);
	/* Rule 8: the longest common prefix. */
	struct ip6_addr d = A("2001:db8:2::99");
	assert_int_equal(iface6_select_src(ifc, &d, &out), 0);
	assert_memory_equal(out.b, g2.b, 16);
	d = A("fd00::1");
	assert_int_equal(iface6_select_src(ifc, &d, &out), 0);
	assert_memory_equal(out.b, u.b, 16);
	/* Rule 2: a link-local destination takes the link-local source (the
	 * one made from the MAC when the interface came up). */
	d = A("fe80::1");
	assert_int_equal(iface6_select_src(ifc, &d, &out), 0);
	assert_true(ip6_is_linklocal(&out));
	/* A tentative address is no source. */
	struct sim s2;
	struct us_iface *i2 = setup(&s2);
	struct us_addr6 *x;
	s2.a->cfg.ipv6_no_dad = 0;
	struct ip6_addr t = A("2001:db8:9::1");
	assert_int_equal(iface6_addr_add(s2.a, i2, &t, 64, 1, 0, 0), 0);
	x = iface6_find(s2.a, &t, 1, NULL);
	assert_non_null(x);
	assert_int_equal(x->state, A6_TENTATIVE);
	assert_null(iface6_find(s2.a, &t, 0, NULL));
	d = A("2001:db8:9::2");
	struct ip6_addr ll;
	assert_int_equal(iface6_select_src(i2, &d, &ll), 0);
	assert_false(ip6_addr_eq(&ll, &t));
	sim_run(&s2, SEC(2));
	assert_int_equal(x->state, A6_PREFERRED);
	assert_int_equal(iface6_select_src(i2, &d, &out), 0);
	assert_memory_equal(out.b, t.b, 16);
	sim_free(&s2);
	sim_free(&s);
}

static void test_routes_and_pmtu(void **state)
{
	(void)state;
	struct sim s;
	struct us_iface *ifc = setup(&s);
	struct ip6_addr me = A("2001:db8:1::5"), gw = A("fe80::1"), d = A("2001:db8:77::1");
	assert_int_equal(iface6_addr_add(s.a, ifc, &me, 64, 0, 0, 0), 0);
	struct us_rt6_result rt;
	assert_int_equal(route6_lookup(s.a, &d, &rt), -ENETUNREACH);
	assert_int_equal(route6_insert(s.a, &ip6_any, 0, &gw, ifc->index, 0), 0);
	assert_int_equal(route6_lookup(s.a, &d, &rt), 0);
	assert_memory_equal(rt.nexthop.b, gw.b, 16);
	assert_memory_equal(rt.src.b, me.b, 16);
	assert_int_equal(rt.mtu, 1500);
	/* On-link beats the default: the next hop is the destination. */
	struct ip6_addr n = A("2001:db8:1::9");
	assert_int_equal(route6_lookup(s.a, &n, &rt), 0);
	assert_memory_equal(rt.nexthop.b, n.b, 16);
	/* The path MTU goes down, not up, and only for its destination. */
	assert_int_equal(route6_pmtu_update(s.a, &d, 1400), 1);
	assert_int_equal(route6_pmtu_update(s.a, &d, 1450), 0);
	assert_int_equal(route6_lookup(s.a, &d, &rt), 0);
	assert_int_equal(rt.mtu, 1400);
	assert_int_equal(route6_lookup(s.a, &n, &rt), 0);
	assert_int_equal(rt.mtu, 1500);
	/* ...and is forgotten after 10 minutes (RFC 8201 4). */
	sim_run(&s, SEC(601));
	assert_int_equal(route6_lookup(s.a, &d, &rt), 0);
	assert_int_equal(rt.mtu, 1500);
	/* The table has a limit. */
	int rc = 0;
	for (int i = 0; i < 200 && rc == 0; i++) {
		struct ip6_addr p = A("2001:db8:100::");
		p.b[4] = (uint8_t)(i >> 8);
		p.b[5] = (uint8_t)i;
		rc = route6_insert(s.a, &p, 48, NULL, ifc->index, 0);
	}
	assert_int_equal(rc, -ENOSPC);
	/* An RA's route expires. */
	struct sim s2;
	struct us_iface *i2 = setup(&s2);
	assert_int_equal(iface6_addr_add(s2.a, i2, &me, 64, 0, 0, 0), 0);
	assert_int_equal(route6_insert(s2.a, &ip6_any, 0, &gw, i2->index, s2.a->now + SEC(30)), 0);
	assert_int_equal(route6_lookup(s2.a, &d, &rt), 0);
	sim_run(&s2, SEC(31));
	assert_int_equal(route6_lookup(s2.a, &d, &rt), -ENETUNREACH);
	sim_free(&s2);
	sim_free(&s);
}

static const uint8_t M1[6] = {2, 0, 0, 0, 0x11, 1}, M2[6] = {2, 0, 0, 0, 0x22, 2};

static int state_mac(struct sim *s, const struct ip6_addr *a, uint8_t mac[6])
{
	struct us_addr ua = addr_from_v6(a->b);
	return neigh_lookup_addr(s->a, s->ifa, &ua, mac);
}

static void test_nd_cache_rules(void **state)
{
	(void)state;
	struct sim s;
	struct us_iface *ifc = setup(&s);
	struct ip6_addr n = A("fe80::77");
	uint8_t mac[6];
	/* An unsolicited NA about an address not in the cache creates nothing. */
	neigh_nd_update(s.a, ifc, &n, M1, NEIGH_ND_NA | NEIGH_ND_OVERRIDE);
	assert_int_equal(state_mac(&s, &n, mac), -ENOENT);
	/* An NS with a source link-layer address creates a STALE entry. */
	uint32_t before = neigh_count(s.a);
	neigh_nd_update(s.a, ifc, &n, M1, 0);
	assert_int_equal(neigh_count(s.a), before + 1);
	assert_int_equal(state_mac(&s, &n, mac), 0);
	assert_memory_equal(mac, M1, 6);
	/* An NA without override and with another MAC does not change it. */
	neigh_nd_update(s.a, ifc, &n, M2, NEIGH_ND_NA | NEIGH_ND_SOLICITED);
	assert_int_equal(state_mac(&s, &n, mac), 0);
	assert_memory_equal(mac, M1, 6);
	/* With override it does. */
	neigh_nd_update(s.a, ifc, &n, M2, NEIGH_ND_NA | NEIGH_ND_SOLICITED | NEIGH_ND_OVERRIDE);
	assert_int_equal(state_mac(&s, &n, mac), 0);
	assert_memory_equal(mac, M2, 6);
	/* A permanent entry is left alone by NDP. */
	struct sockaddr_in6 p = {.sin6_family = AF_INET6};
	struct ip6_addr pa = A("fe80::88");
	memcpy(&p.sin6_addr, pa.b, 16);
	assert_int_equal(us_neigh_add_sa(s.a, s.ifa, (struct sockaddr *)&p, M1), 0);
	neigh_nd_update(s.a, ifc, &pa, M2, NEIGH_ND_NA | NEIGH_ND_OVERRIDE | NEIGH_ND_SOLICITED);
	assert_int_equal(state_mac(&s, &pa, mac), 0);
	assert_memory_equal(mac, M1, 6);
	/* Family-neutral API errors. */
	struct ip6_addr mc = A("ff02::1");
	memcpy(&p.sin6_addr, mc.b, 16);
	assert_int_equal(us_neigh_add_sa(s.a, s.ifa, (struct sockaddr *)&p, M1), -EINVAL);
	sim_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_selection),
		cmocka_unit_test(test_routes_and_pmtu),
		cmocka_unit_test(test_nd_cache_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
