/* libFuzzer target: icmp6_parse, icmp6_quote_parse and the error quoting; the first 32 bytes are the pseudo-header addresses (see wire6_checks.h for the checks). */
#include "wire_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ip6_addr src, dst;
	if (take_addrs6(&data, &size, &src, &dst) == 0)
		fuzz_icmp6(data, size, &src, &dst);
	return 0;
}
