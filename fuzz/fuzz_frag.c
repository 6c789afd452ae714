/* libFuzzer target: IPv4 fragments to b (which has two datagrams under
 * reassembly already, IDs 0x7000 and 0x7001 from 10.0.0.1), the fuzzer
 * choosing ID, protocol, flags, offset, length and bytes and the harness
 * writing a valid IP header around them, so inputs reach reassembly
 * instead of dying at the header checksum.
 *
 * Input: records of
 *   ctl      bits 0-1: ID 0x7000 + n; bits 2-3: protocol UDP, ICMP, TCP or
 *            253; bit 4: MF; bit 5: DF; bit 6: a delay byte follows (d * 200
 *            ms, so the 30 s reassembly timeout can pass); bit 7: from
 *            10.0.0.3 instead of 10.0.0.1
 *   [delay], offset field (2 bytes, low 13 bits), length (2 bytes), bytes */
#include "stack_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t protos[4] = {IP_PROTO_UDP, IP_PROTO_ICMP, IP_PROTO_TCP, 253};
	struct fz f;
	fz_setup(&f);
	f.s.a_down = 1;
	size_t i = 0;
	for (int n = 0; n < FZ_MAX_FRAMES && i < size; n++) {
		uint8_t ctl = data[i++];
		uint32_t delay = 0;
		if (ctl & 0x40) {
			if (i >= size)
				break;
			delay = data[i++] * 200u;
		}
		if (size - i < 4)
			break;
		uint16_t off = rd_be16(data + i) & 0x1FFF;
		size_t len = rd_be16(data + i + 2);
		i += 4;
		if (len > size - i)
			len = size - i;
		if (len > 1480)
			len = 1480;
		uint16_t frag = (uint16_t)(off | (ctl & 0x10 ? 0x2000 : 0) | (ctl & 0x20 ? 0x4000 : 0));
		uint8_t frame[14 + 20 + 1480];
		fz_advance(&f, MS(delay));
		fz_inject(&f, frame, fz_ip_frame(frame, ctl & 0x80 ? 0x0a000003u : FZ_A_IP, (uint16_t)(0x7000 + (ctl & 3)),
						protos[(ctl >> 2) & 3], frag, data + i, len));
		i += len;
		fz_advance(&f, 0);
		fz_check_stack(f.s.b, f.s.lb);
	}
	fz_finish(&f);
	return 0;
}
