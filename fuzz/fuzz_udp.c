/* libFuzzer target: udp_parse; the first 8 bytes are the pseudo-header addresses (see wire_checks.h for the checks). */
#include "wire_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t src, dst;
	if (take_addrs(&data, &size, &src, &dst) == 0)
		fuzz_udp(data, size, src, dst);
	return 0;
}
