/* The relay's fake DNS (apps/relay_dns.c, as the program links it): A and
 * AAAA answers from the range of their family, one slot (so both
 * addresses) per name, an empty NOERROR answer for a type with no range,
 * and malformed queries dropped. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../apps/relay.h"

/* A relay with the ranges given (0: none of that family): the IPv4 one
 * from 198.18.0.1, the IPv6 one from fd31:ffff::1, size names. */
static void init(struct relay *r, int v4, int v6, uint32_t size)
{
	memset(r, 0, sizeof(*r));
	r->fake_dns = 1;
	r->fake4 = v4;
	r->fake6 = v6;
	r->fake_base = 0xC6120001u;
	assert_int_equal(inet_pton(AF_INET6, "fd31:ffff::1", &r->fake6_base), 1);
	r->fake_size = size;
	r->fake = calloc(size, sizeof(*r->fake));
	assert_non_null(r->fake);
}

/* A standard query for name of qtype; its length. */
static size_t query(uint8_t *q, const char *name, uint16_t qtype)
{
	static const uint8_t hdr[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
	memcpy(q, hdr, 12);
	size_t n = 12;
	for (const char *p = name; *p;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		q[n++] = (uint8_t)l;
		memcpy(q + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	q[n++] = 0;
	q[n++] = (uint8_t)(qtype >> 8);
	q[n++] = (uint8_t)qtype;
	q[n++] = 0;
	q[n++] = 1;
	return n;
}

/* (relay.c's relay_ep4, which this test does not link) */
static struct relay_ep ep4(uint32_t a)
{
	struct relay_ep e;
	memset(&e, 0, sizeof(e));
	e.family = AF_INET;
	e.a.v4.s_addr = htonl(a);
	return e;
}
static int same6(const struct relay_ep *x, const struct relay_ep *y)
{
	return x->family == AF_INET6 && y->family == AF_INET6 && !memcmp(&x->a.v6, &y->a.v6, 16);
}

static uint16_t ancount(const uint8_t *a) { return (uint16_t)(a[6] << 8 | a[7]); }

/* The address in a one-answer reply (4 or 16 bytes at its end). */
static struct relay_ep answer_ep(const uint8_t *a, size_t n, int v6)
{
	struct relay_ep e;
	memset(&e, 0, sizeof(e));
	e.family = v6 ? AF_INET6 : AF_INET;
	memcpy(&e.a, a + n - (v6 ? 16 : 4), v6 ? 16 : 4);
	return e;
}

static void test_both_families_one_slot(void **state)
{
	(void)state;
	struct relay r;
	init(&r, 1, 1, 16);
	uint8_t q[300], a[1024];
	int is6 = -1;
	size_t qn = query(q, "Example.ORG", 1);
	size_t n = relay_dns_answer(&r, q, qn, a, sizeof(a), &is6);
	assert_int_equal(n, qn + 16);
	assert_int_equal(is6, 0);
	assert_int_equal(ancount(a), 1);
	assert_int_equal(a[3] & 0xF, 0);
	assert_int_equal(a[0], 0x12);
	struct relay_ep e4 = answer_ep(a, n, 0);
	assert_int_equal(relay_ep4_addr(&e4), 0xC6120001u);
	/* AAAA for the same name: the same slot, in the IPv6 range. */
	qn = query(q, "example.org", 28);
	n = relay_dns_answer(&r, q, qn, a, sizeof(a), &is6);
	assert_int_equal(n, qn + 28);
	assert_int_equal(is6, 1);
	assert_int_equal(ancount(a), 1);
	assert_int_equal(a[qn + 2] << 8 | a[qn + 3], 28);
	assert_int_equal(a[qn + 10] << 8 | a[qn + 11], 16);
	struct relay_ep e6 = answer_ep(a, n, 1), want6;
	memset(&want6, 0, sizeof(want6));
	want6.family = AF_INET6;
	inet_pton(AF_INET6, "fd31:ffff::1", &want6.a.v6);
	assert_true(same6(&e6, &want6));
	assert_string_equal(relay_fake_name(&r, &e4), "example.org");
	assert_string_equal(relay_fake_name(&r, &e6), "example.org");
	/* A second name: the next slot in both. */
	qn = query(q, "two.example", 28);
	n = relay_dns_answer(&r, q, qn, a, sizeof(a), &is6);
	e6 = answer_ep(a, n, 1);
	inet_pton(AF_INET6, "fd31:ffff::2", &want6.a.v6);
	assert_true(same6(&e6, &want6));
	struct relay_ep x = ep4(0xC6120002u);
	assert_string_equal(relay_fake_name(&r, &x), "two.example");
	/* Outside the ranges: not fake. Past the pool's end, another /96, a
	 * lone low word that matches, the IPv4 network address. */
	static const char *const out6[] = {"fd31:ffff::11", "fd31:fffe::1", "::1", "fd31:ffff:0:0:1::1"};
	for (size_t i = 0; i < sizeof(out6) / sizeof(out6[0]); i++) {
		inet_pton(AF_INET6, out6[i], &x.a.v6);
		x.family = AF_INET6;
		assert_false(relay_fake_has(&r, &x));
		assert_null(relay_fake_name(&r, &x));
	}
	x = ep4(0xC6120000u);
	assert_false(relay_fake_has(&r, &x));
	x = ep4(0xC6120001u + 16);
	assert_false(relay_fake_has(&r, &x));
	relay_dns_free(&r);
}

/* A type with no range gets an empty NOERROR answer; so do other types. */
static void test_type_without_range(void **state)
{
	(void)state;
	struct relay r;
	uint8_t q[300], a[1024];
	int is6 = -1;
	init(&r, 1, 0, 4);
	size_t qn = query(q, "x.test", 28);
	assert_int_equal(relay_dns_answer(&r, q, qn, a, sizeof(a), &is6), qn);
	assert_int_equal(ancount(a), 0);
	assert_int_equal(a[2] & 0x80, 0x80);
	assert_int_equal(a[3] & 0xF, 0);
	assert_int_equal(is6, 0);
	assert_null(r.fake[0].name);   /* no slot taken */
	relay_dns_free(&r);
	init(&r, 0, 1, 4);
	qn = query(q, "x.test", 1);
	assert_int_equal(relay_dns_answer(&r, q, qn, a, sizeof(a), &is6), qn);
	assert_int_equal(ancount(a), 0);
	qn = query(q, "x.test", 16);   /* TXT */
	assert_int_equal(relay_dns_answer(&r, q, qn, a, sizeof(a), &is6), qn);
	assert_int_equal(ancount(a), 0);
	assert_null(r.fake[0].name);
	qn = query(q, "x.test", 28);
	assert_int_equal(relay_dns_answer(&r, q, qn, a, sizeof(a), &is6), qn + 28);
	assert_int_equal(is6, 1);
	/* An IPv4 address is never fake without an IPv4 range. */
	struct relay_ep x = ep4(0xC6120001u);
	assert_false(relay_fake_has(&r, &x));
	relay_dns_free(&r);
}

/* The oldest name gives up its slot, so both its addresses, to a new one. */
static void test_round_robin(void **state)
{
	(void)state;
	struct relay r;
	uint8_t q[300], a[1024];
	int is6;
	init(&r, 1, 1, 2);
	const char *names[] = {"a.test", "b.test", "c.test"};
	for (int i = 0; i < 3; i++) {
		size_t qn = query(q, names[i], 28);
		assert_int_equal(relay_dns_answer(&r, q, qn, a, sizeof(a), &is6), qn + 28);
	}
	struct relay_ep x = ep4(0xC6120001u), y;
	assert_string_equal(relay_fake_name(&r, &x), "c.test");
	memset(&y, 0, sizeof(y));
	y.family = AF_INET6;
	inet_pton(AF_INET6, "fd31:ffff::1", &y.a.v6);
	assert_string_equal(relay_fake_name(&r, &y), "c.test");
	relay_dns_free(&r);
}

static void test_malformed(void **state)
{
	(void)state;
	struct relay r;
	uint8_t q[300], a[1024];
	int is6;
	init(&r, 1, 1, 4);
	size_t qn = query(q, "ok.test", 28);
	assert_int_equal(relay_dns_answer(&r, q, 11, a, sizeof(a), &is6), 0);        /* short */
	assert_int_equal(relay_dns_answer(&r, q, qn - 1, a, sizeof(a), &is6), 0);    /* cut in the question */
	assert_int_equal(relay_dns_answer(&r, q, qn, a, qn + 27, &is6), 0);          /* no room for the AAAA */
	q[2] |= 0x80;                                                                 /* a response */
	assert_int_equal(relay_dns_answer(&r, q, qn, a, sizeof(a), &is6), 0);
	qn = query(q, "ok.test", 28);
	q[12] = 0xC0;                                                                 /* a pointer in a question */
	assert_int_equal(relay_dns_answer(&r, q, qn, a, sizeof(a), &is6), 0);
	qn = query(q, "ok.test", 28);
	q[5] = 2;                                                                     /* two questions */
	assert_int_equal(relay_dns_answer(&r, q, qn, a, sizeof(a), &is6), 0);
	assert_null(r.fake[0].name);
	relay_dns_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_families_one_slot),
		cmocka_unit_test(test_type_without_range),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
