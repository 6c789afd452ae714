/* libFuzzer target: the whole receive path of a stack with listening,
 * established and queued TCP connections, bound and connected UDP sockets,
 * an ICMP socket and datagrams under reassembly (stack_harness.h), fed a
 * sequence of whole Ethernet frames, the clock moving between them.
 *
 * Input: records of [delay][length, 2 bytes big-endian][frame]; delay d
 * advances the virtual clock by d ms (d < 128) or by (d - 127) * 500 ms,
 * timers running, before the frame arrives. At most FZ_MAX_FRAMES frames.
 * After the last one everything is closed and must drain to nothing. */
#include "stack_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	fz_setup(&f);
	size_t i = 0;
	for (int n = 0; n < FZ_MAX_FRAMES && i + 3 <= size; n++) {
		uint8_t d = data[i];
		size_t len = rd_be16(data + i + 1);
		i += 3;
		if (len > size - i)
			len = size - i;
		fz_advance(&f, d < 128 ? MS(d) : MS((d - 127) * 500ull));
		fz_inject(&f, data + i, len);
		i += len;
		fz_advance(&f, 0);
		fz_check_stack(f.s.b, f.s.lb);
	}
	fz_finish(&f);
	return 0;
}
