/* libFuzzer target: nd6_parse (RFC 4861 validity checks, the option walk) and nd6_emit; the first 32 bytes are the pseudo-header addresses, the rest an ICMPv6 message (see wire6_checks.h for the checks). */
#include "wire_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ip6_addr src, dst;
	if (take_addrs6(&data, &size, &src, &dst) == 0)
		fuzz_nd6(data, size, &src, &dst);
	return 0;
}
