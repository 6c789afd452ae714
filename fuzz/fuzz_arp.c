/* libFuzzer target: arp_parse on the input as an ARP packet (after the Ethernet header) (see wire_checks.h for the checks). */
#include "wire_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_arp(data, size);
	return 0;
}
