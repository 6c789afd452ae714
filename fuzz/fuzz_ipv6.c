/* libFuzzer target: ipv6_parse and the address helpers on the input as an IPv6 packet (see wire6_checks.h for the checks). */
#include "wire_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size <= IPV6_HDR_LEN + IPV6_MAX_PAYLOAD)
		fuzz_ipv6(data, size);
	return 0;
}
