/* The relay's SOCKS5 client messages (apps/socks5.c, compiled in here):
 * what it sends byte for byte, and hostile or partial replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../apps/socks5.c"

static void test_greeting_and_auth(void **state)
{
	(void)state;
	uint8_t b[SOCKS5_MAX_MSG];
	assert_int_equal(socks5_greeting(b, 0), 3);
	assert_memory_equal(b, "\x05\x01\x00", 3);
	assert_int_equal(socks5_greeting(b, 1), 4);
	assert_memory_equal(b, "\x05\x02\x00\x02", 4);
	assert_int_equal(socks5_auth_request(b, "user", "pw"), 9);
	assert_memory_equal(b, "\x01\x04user\x02pw", 9);
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[299] = 0;
	assert_int_equal(socks5_auth_request(b, big, "x"), 0);
	assert_int_equal(socks5_auth_request(b, "", "x"), 0);
	int m = -1, ok = -1;
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x05", 1, &m), 0);
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x05\x02", 2, &m), 2);
	assert_int_equal(m, 2);
	assert_int_equal(socks5_parse_method((const uint8_t *)"\x04\x00", 2, &m), -1);
	assert_int_equal(socks5_parse_auth((const uint8_t *)"\x01\x00", 2, &ok), 2);
	assert_int_equal(ok, 1);
	assert_int_equal(socks5_parse_auth((const uint8_t *)"\x01\x01", 2, &ok), 2);
	assert_int_equal(ok, 0);
	assert_int_equal(socks5_parse_auth((const uint8_t *)"\x05\x00", 2, &ok), -1);
}

static void test_requests(void **state)
{
	(void)state;
	uint8_t b[SOCKS5_MAX_MSG];
	assert_int_equal(socks5_request(b, SOCKS5_CMD_CONNECT, 0x0AD30202, NULL, 8080), 10);
	assert_memory_equal(b, "\x05\x01\x00\x01\x0a\xd3\x02\x02\x1f\x90", 10);
	assert_int_equal(socks5_request(b, SOCKS5_CMD_CONNECT, 0, "example.org", 443), 18);
	assert_memory_equal(b, "\x05\x01\x00\x03\x0b" "example.org\x01\xbb", 18);
	assert_int_equal(socks5_request(b, SOCKS5_CMD_UDP_ASSOCIATE, 0, NULL, 0), 10);
	assert_memory_equal(b, "\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00", 10);
	assert_int_equal(socks5_request(b, SOCKS5_CMD_CONNECT, 0, "", 1), 0);
	assert_int_equal(socks5_udp_header(b, 0x7F000001, NULL, 53), 10);
	assert_memory_equal(b, "\x00\x00\x00\x01\x7f\x00\x00\x01\x00\x35", 10);
}

static void test_reply_parsing(void **state)
{
	(void)state;
	int rep = -1;
	uint32_t ip = 1;
	uint16_t port = 1;
	const uint8_t ok4[] = {5, 0, 0, 1, 10, 211, 1, 2, 0x04, 0x38, 'x'};
	/* Every prefix is "need more"; the whole message is 10 bytes, the
	 * byte after it is not part of it. */
	for (size_t n = 0; n < 10; n++)
		assert_int_equal(socks5_parse_reply(ok4, n, &rep, &ip, &port), 0);
	assert_int_equal(socks5_parse_reply(ok4, sizeof(ok4), &rep, &ip, &port), 10);
	assert_int_equal(rep, 0);
	assert_int_equal(ip, 0x0AD30102);
	assert_int_equal(port, 1080);
	const uint8_t refused_dom[] = {5, 5, 0, 3, 3, 'a', 'b', 'c', 0, 80};
	assert_int_equal(socks5_parse_reply(refused_dom, sizeof(refused_dom), &rep, &ip, &port), 10);
	assert_int_equal(rep, 5);
	assert_int_equal(ip, 0);
	const uint8_t v6[22] = {5, 0, 0, 4};
	assert_int_equal(socks5_parse_reply(v6, 21, &rep, &ip, &port), 0);
	assert_int_equal(socks5_parse_reply(v6, 22, &rep, &ip, &port), 22);
	const uint8_t bad_ver[] = {4, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	const uint8_t bad_rsv[] = {5, 0, 1, 1, 0, 0, 0, 0, 0, 0};
	const uint8_t bad_atyp[] = {5, 0, 0, 9, 0, 0, 0, 0, 0, 0};
	const uint8_t empty_dom[] = {5, 0, 0, 3, 0, 0, 0};
	assert_int_equal(socks5_parse_reply(bad_ver, sizeof(bad_ver), &rep, &ip, &port), -1);
	assert_int_equal(socks5_parse_reply(bad_rsv, sizeof(bad_rsv), &rep, &ip, &port), -1);
	assert_int_equal(socks5_parse_reply(bad_atyp, sizeof(bad_atyp), &rep, &ip, &port), -1);
	assert_int_equal(socks5_parse_reply(empty_dom, sizeof(empty_dom), &rep, &ip, &port), -1);
	assert_string_equal(socks5_rep_str(5), "connection refused");
	assert_string_equal(socks5_rep_str(200), "unknown reply");
}

static void test_udp_header_parsing(void **state)
{
	(void)state;
	uint32_t ip;
	uint16_t port;
	const uint8_t d[] = {0, 0, 0, 1, 10, 211, 2, 2, 0, 7, 'h', 'i'};
	assert_int_equal(socks5_parse_udp(d, sizeof(d), &ip, &port), 10);
	assert_int_equal(ip, 0x0AD30202);
	assert_int_equal(port, 7);
	for (size_t n = 0; n < 10; n++)
		assert_int_equal(socks5_parse_udp(d, n, &ip, &port), -1);   /* truncated: dropped */
	const uint8_t frag[] = {0, 0, 1, 1, 10, 211, 2, 2, 0, 7};
	const uint8_t dom[] = {0, 0, 0, 3, 1, 'a', 0, 7};
	const uint8_t rsv[] = {1, 0, 0, 1, 10, 211, 2, 2, 0, 7};
	assert_int_equal(socks5_parse_udp(frag, sizeof(frag), &ip, &port), -1);
	assert_int_equal(socks5_parse_udp(dom, sizeof(dom), &ip, &port), -1);
	assert_int_equal(socks5_parse_udp(rsv, sizeof(rsv), &ip, &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_and_auth),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_reply_parsing),
		cmocka_unit_test(test_udp_header_parsing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
