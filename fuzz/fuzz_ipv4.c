/* libFuzzer target: ipv4_parse on the input as an IPv4 packet, options walk included (see wire_checks.h for the checks). */
#include "wire_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size <= IPV4_MAX_LEN)
		fuzz_ipv4(data, size);
	return 0;
}
