/* libFuzzer target: the extension header walk (as received, skipping, resumed after a fragment header), the option TLV walk and the fragment and options header emitters on the input as an IPv6 packet (see wire6_checks.h for the checks). */
#include "wire_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size <= IPV6_HDR_LEN + IPV6_MAX_PAYLOAD)
		fuzz_ip6ext(data, size);
	return 0;
}
