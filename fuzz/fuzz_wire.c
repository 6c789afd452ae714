/* libFuzzer target: the input as a frame walked the way the receive path
 * walks it (eth -> arp, eth -> ipv4 -> icmp4/udp/tcp, or eth -> ipv6 ->
 * extension headers -> icmp6/nd6/udp/tcp), each parser's
 * checks applied at its layer (see wire_checks.h).
 *
 * `make fuzz` builds it and the other targets into build-fuzz/ (fuzz/fuzz.mk). */
#include "wire_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size <= IPV4_MAX_LEN)
		fuzz_chain(data, size);
	return 0;
}
