/* libFuzzer target: tcp_parse with its options walk (MSS, WS, SACK-permitted, SACK,
 * TS, malformed lengths); the first 8 bytes are the pseudo-header addresses (see wire_checks.h for the checks). */
#include "wire_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t src, dst;
	if (take_addrs(&data, &size, &src, &dst) == 0)
		fuzz_tcp(data, size, src, dst);
	return 0;
}
