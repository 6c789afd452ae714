/* The relay's SOCKS5 client (apps/socks5.c, linked as an object): the state
 * machine's bytes out, byte for byte, for CONNECT and UDP ASSOCIATE, with
 * and without authentication, for every address type; replies fed whole,
 * one byte at a time and hostile; and the UDP header codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../apps/socks5.h"

/* Takes what the machine wants to send and checks it is exactly want. */
static void expect_out(struct socks5_client *c, const void *want, size_t n)
{
	const uint8_t *p;
	size_t k = socks5_client_output(c, &p);
	assert_int_equal(k, n);
	assert_memory_equal(p, want, n);
	socks5_client_sent(c, k);
	assert_int_equal(socks5_client_output(c, &p), 0);
}

/* Feeds b as the machine asks: never more than it wants; each piece at
 * most step bytes. Returns the bytes it took. */
static size_t feed(struct socks5_client *c, const uint8_t *b, size_t n, size_t step)
{
	size_t off = 0;
	while (off < n) {
		size_t want = socks5_client_want(c);
		if (!want)
			break;
		size_t k = n - off;
		if (k > want)
			k = want;
		if (k > step)
			k = step;
		assert_int_equal(socks5_client_input(c, b + off, k), k);
		off += k;
	}
	return off;
}

static void test_connect_no_auth(void **state)
{
	(void)state;
	for (size_t step = 1; step <= 16; step += 15) {
		struct socks5_client c;
		struct socks5_addr dst;
		socks5_addr_ipv4(&dst, 0x0AD30202, 8080);
		socks5_client_init(&c, SOCKS5_CMD_CONNECT, &dst, NULL, NULL);
		assert_int_equal(c.state, SOCKS5_METHOD);
		expect_out(&c, "\x05\x01\x00", 3);
		assert_int_equal(socks5_client_want(&c), 2);
		assert_int_equal(feed(&c, (const uint8_t *)"\x05\x00", 2, step), 2);
		assert_int_equal(c.state, SOCKS5_REPLY);
		expect_out(&c, "\x05\x01\x00\x01\x0a\xd3\x02\x02\x1f\x90", 10);
		/* The reply, then the server's first data: the machine takes
		 * exactly the reply's 10 bytes and asks for no more. */
		const uint8_t rep[] = {5, 0, 0, 1, 10, 211, 1, 2, 0x04, 0x38, 'H', 'T', 'T', 'P'};
		assert_int_equal(socks5_client_want(&c), 5);
		assert_int_equal(feed(&c, rep, sizeof(rep), step), 10);
		assert_int_equal(c.state, SOCKS5_DONE);
		assert_int_equal(socks5_client_want(&c), 0);
		assert_int_equal(socks5_client_input(&c, rep + 10, 4), 0);
		assert_int_equal(c.bnd.atyp, SOCKS5_ATYP_IPV4);
		assert_int_equal(socks5_addr_ipv4_get(&c.bnd), 0x0AD30102);
		assert_int_equal(c.bnd.port, 1080);
	}
}

static void test_connect_auth_domain(void **state)
{
	(void)state;
	struct socks5_client c;
	struct socks5_addr dst = {.atyp = SOCKS5_ATYP_DOMAIN, .port = 443, .domain = "example.org"};
	socks5_client_init(&c, SOCKS5_CMD_CONNECT, &dst, "user", "pw");
	expect_out(&c, "\x05\x02\x00\x02", 4);
	feed(&c, (const uint8_t *)"\x05\x02", 2, 1);
	assert_int_equal(c.state, SOCKS5_AUTH);
	expect_out(&c, "\x01\x04user\x02pw", 9);
	feed(&c, (const uint8_t *)"\x01\x00", 2, 2);
	assert_int_equal(c.state, SOCKS5_REPLY);
	expect_out(&c, "\x05\x01\x00\x03\x0b" "example.org\x01\xbb", 18);
	/* A domain-name BND (ATYP 3): its length byte decides how much. */
	const uint8_t rep[] = {5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 80};
	assert_int_equal(feed(&c, rep, sizeof(rep), 3), sizeof(rep));
	assert_int_equal(c.state, SOCKS5_DONE);
	assert_int_equal(c.bnd.atyp, SOCKS5_ATYP_DOMAIN);
	assert_int_equal(c.bnd.port, 80);
	/* The server picks "no authentication" although we offered both. */
	socks5_client_init(&c, SOCKS5_CMD_CONNECT, &dst, "user", "pw");
	expect_out(&c, "\x05\x02\x00\x02", 4);
	feed(&c, (const uint8_t *)"\x05\x00", 2, 2);
	assert_int_equal(c.state, SOCKS5_REPLY);
}

static void test_udp_associate_ipv6(void **state)
{
	(void)state;
	struct socks5_client c;
	struct socks5_addr any = {.atyp = SOCKS5_ATYP_IPV4};
	socks5_client_init(&c, SOCKS5_CMD_UDP_ASSOCIATE, &any, NULL, NULL);
	expect_out(&c, "\x05\x01\x00", 3);
	feed(&c, (const uint8_t *)"\x05\x00", 2, 2);
	expect_out(&c, "\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00", 10);
	/* An IPv6 BND (ATYP 4): 22 bytes in all, 21 are not enough. */
	uint8_t rep[22] = {5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8};
	rep[19] = 1;
	rep[20] = 0x10;
	rep[21] = 0x01;
	assert_int_equal(feed(&c, rep, 21, 1), 21);
	assert_int_equal(c.state, SOCKS5_REPLY);
	assert_int_equal(socks5_client_want(&c), 1);
	assert_int_equal(feed(&c, rep + 21, 1, 1), 1);
	assert_int_equal(c.state, SOCKS5_DONE);
	assert_int_equal(c.bnd.atyp, SOCKS5_ATYP_IPV6);
	assert_memory_equal(c.bnd.ip, rep + 4, 16);
	assert_int_equal(c.bnd.port, 0x1001);
	/* An IPv6 destination in a request. */
	struct socks5_addr v6 = {.atyp = SOCKS5_ATYP_IPV6, .port = 53};
	v6.ip[0] = 0xfe, v6.ip[1] = 0x80, v6.ip[15] = 1;
	socks5_client_init(&c, SOCKS5_CMD_CONNECT, &v6, NULL, NULL);
	expect_out(&c, "\x05\x01\x00", 3);
	feed(&c, (const uint8_t *)"\x05\x00", 2, 2);
	expect_out(&c, "\x05\x01\x00\x04\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x00\x35", 22);
}

/* Runs a handshake to the reply with no authentication, then feeds rep. */
static int reply_state(const uint8_t *rep, size_t n, struct socks5_client *c)
{
	struct socks5_addr dst;
	socks5_addr_ipv4(&dst, 0x7F000001, 80);
	socks5_client_init(c, SOCKS5_CMD_CONNECT, &dst, NULL, NULL);
	const uint8_t *p;
	socks5_client_sent(c, socks5_client_output(c, &p));
	feed(c, (const uint8_t *)"\x05\x00", 2, 2);
	socks5_client_sent(c, socks5_client_output(c, &p));
	feed(c, rep, n, n);
	return c->state;
}

static void test_failures(void **state)
{
	(void)state;
	struct socks5_client c;
	struct socks5_addr dst;
	socks5_addr_ipv4(&dst, 0x7F000001, 80);
	const uint8_t *p;
	/* Method choice: none acceptable, a wrong version, a method we did
	 * not offer. */
	const char *methods[] = {"\x05\xff", "\x04\x00", "\x05\x02"};
	const int errs[] = {SOCKS5_ERR_NO_METHOD, SOCKS5_ERR_PROTOCOL, SOCKS5_ERR_PROTOCOL};
	for (int i = 0; i < 3; i++) {
		socks5_client_init(&c, SOCKS5_CMD_CONNECT, &dst, NULL, NULL);
		socks5_client_sent(&c, socks5_client_output(&c, &p));
		feed(&c, (const uint8_t *)methods[i], 2, 2);
		assert_int_equal(c.state, SOCKS5_FAILED);
		assert_int_equal(c.error, errs[i]);
		assert_int_equal(socks5_client_want(&c), 0);
		assert_int_equal(socks5_client_output(&c, &p), 0);
	}
	/* Authentication rejected, and a bad sub-negotiation version. */
	socks5_client_init(&c, SOCKS5_CMD_CONNECT, &dst, "u", "p");
	socks5_client_sent(&c, socks5_client_output(&c, &p));
	feed(&c, (const uint8_t *)"\x05\x02", 2, 2);
	socks5_client_sent(&c, socks5_client_output(&c, &p));
	feed(&c, (const uint8_t *)"\x01\x01", 2, 2);
	assert_int_equal(c.error, SOCKS5_ERR_AUTH);
	assert_string_equal(socks5_client_strerror(&c), "the proxy rejected the user name or password");
	socks5_client_init(&c, SOCKS5_CMD_CONNECT, &dst, "u", "p");
	socks5_client_sent(&c, socks5_client_output(&c, &p));
	feed(&c, (const uint8_t *)"\x05\x02", 2, 2);
	feed(&c, (const uint8_t *)"\x05\x00", 2, 2);
	assert_int_equal(c.error, SOCKS5_ERR_PROTOCOL);
	/* A name or password over 255 bytes, an empty or long domain: not
	 * encodable, failed before anything wrong is sent. */
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[299] = 0;
	socks5_client_init(&c, SOCKS5_CMD_CONNECT, &dst, big, "x");
	socks5_client_sent(&c, socks5_client_output(&c, &p));
	feed(&c, (const uint8_t *)"\x05\x02", 2, 2);
	assert_int_equal(c.error, SOCKS5_ERR_ARGS);
	struct socks5_addr dom = {.atyp = SOCKS5_ATYP_DOMAIN, .port = 1, .domain = ""};
	socks5_client_init(&c, SOCKS5_CMD_CONNECT, &dom, NULL, NULL);
	socks5_client_sent(&c, socks5_client_output(&c, &p));
	feed(&c, (const uint8_t *)"\x05\x00", 2, 2);
	assert_int_equal(c.error, SOCKS5_ERR_ARGS);
	dom.domain = big;
	socks5_client_init(&c, SOCKS5_CMD_CONNECT, &dom, NULL, NULL);
	socks5_client_sent(&c, socks5_client_output(&c, &p));
	feed(&c, (const uint8_t *)"\x05\x00", 2, 2);
	assert_int_equal(c.error, SOCKS5_ERR_ARGS);
	/* Replies: refused (REP 5), and hostile ones. */
	const uint8_t refused[] = {5, 5, 0, 1, 0, 0, 0, 0, 0, 0};
	assert_int_equal(reply_state(refused, sizeof(refused), &c), SOCKS5_FAILED);
	assert_int_equal(c.error, SOCKS5_ERR_REPLY);
	assert_int_equal(c.rep, 5);
	assert_string_equal(socks5_client_strerror(&c), "connection refused");
	const uint8_t bad_ver[] = {4, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	const uint8_t bad_rsv[] = {5, 0, 1, 1, 0, 0, 0, 0, 0, 0};
	const uint8_t bad_atyp[] = {5, 0, 0, 9, 0, 0, 0, 0, 0, 0};
	const uint8_t empty_dom[] = {5, 0, 0, 3, 0, 0, 0};
	const uint8_t *bad[] = {bad_ver, bad_rsv, bad_atyp, empty_dom};
	const size_t badn[] = {sizeof(bad_ver), sizeof(bad_rsv), sizeof(bad_atyp), sizeof(empty_dom)};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(reply_state(bad[i], badn[i], &c), SOCKS5_FAILED);
		assert_int_equal(c.error, SOCKS5_ERR_PROTOCOL);
		assert_int_equal(socks5_client_want(&c), 0);
	}
	/* A truncated reply just waits. */
	const uint8_t ok4[] = {5, 0, 0, 1, 10, 211, 1, 2, 0x04, 0x38};
	for (size_t n = 0; n < sizeof(ok4); n++) {
		assert_int_equal(reply_state(ok4, n, &c), SOCKS5_REPLY);
		assert_int_equal(socks5_client_want(&c), n < 5 ? 5 - n : sizeof(ok4) - n);
	}
	assert_string_equal(socks5_rep_str(5), "connection refused");
	assert_string_equal(socks5_rep_str(200), "unknown reply");
}

static void test_udp_header(void **state)
{
	(void)state;
	uint8_t b[SOCKS5_UDP_HDR_MAX];
	struct socks5_addr a;
	socks5_addr_ipv4(&a, 0x7F000001, 53);
	assert_int_equal(socks5_udp_header(b, &a), 10);
	assert_memory_equal(b, "\x00\x00\x00\x01\x7f\x00\x00\x01\x00\x35", 10);
	struct socks5_addr dom = {.atyp = SOCKS5_ATYP_DOMAIN, .port = 7, .domain = "x.y"};
	assert_int_equal(socks5_udp_header(b, &dom), 10);
	assert_memory_equal(b, "\x00\x00\x00\x03\x03x.y\x00\x07", 10);
	struct socks5_addr got;
	const uint8_t d[] = {0, 0, 0, 1, 10, 211, 2, 2, 0, 7, 'h', 'i'};
	assert_int_equal(socks5_parse_udp(d, sizeof(d), &got), 10);
	assert_int_equal(got.atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(socks5_addr_ipv4_get(&got), 0x0AD30202);
	assert_int_equal(got.port, 7);
	for (size_t n = 0; n < 10; n++)
		assert_int_equal(socks5_parse_udp(d, n, &got), -1);   /* truncated: dropped */
	uint8_t v6[22] = {0, 0, 0, 4};
	v6[4] = 0x20, v6[19] = 9, v6[20] = 0, v6[21] = 53;
	assert_int_equal(socks5_parse_udp(v6, sizeof(v6), &got), 22);
	assert_int_equal(got.atyp, SOCKS5_ATYP_IPV6);
	assert_int_equal(got.port, 53);
	assert_int_equal(socks5_parse_udp(v6, 21, &got), -1);
	const uint8_t frag[] = {0, 0, 1, 1, 10, 211, 2, 2, 0, 7};
	const uint8_t rsv[] = {1, 0, 0, 1, 10, 211, 2, 2, 0, 7};
	const uint8_t empty[] = {0, 0, 0, 3, 0, 0, 7};
	const uint8_t atyp[] = {0, 0, 0, 2, 10, 211, 2, 2, 0, 7};
	const uint8_t dshort[] = {0, 0, 0, 3, 5, 'a', 0, 7};
	assert_int_equal(socks5_parse_udp(frag, sizeof(frag), &got), -1);
	assert_int_equal(socks5_parse_udp(rsv, sizeof(rsv), &got), -1);
	assert_int_equal(socks5_parse_udp(empty, sizeof(empty), &got), -1);
	assert_int_equal(socks5_parse_udp(atyp, sizeof(atyp), &got), -1);
	assert_int_equal(socks5_parse_udp(dshort, sizeof(dshort), &got), -1);
	const uint8_t dom_src[] = {0, 0, 0, 3, 1, 'a', 0, 7, 'x'};
	assert_int_equal(socks5_parse_udp(dom_src, sizeof(dom_src), &got), 8);
	assert_int_equal(got.atyp, SOCKS5_ATYP_DOMAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_no_auth),
		cmocka_unit_test(test_connect_auth_domain),
		cmocka_unit_test(test_udp_associate_ipv6),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_udp_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
