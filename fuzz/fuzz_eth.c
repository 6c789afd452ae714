/* libFuzzer target: eth_parse on the input as an Ethernet frame (VLAN tags included) (see wire_checks.h for the checks). */
#include "wire_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_eth(data, size);
	return 0;
}
