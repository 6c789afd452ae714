/* The tunnel's offloads (apps/tunnel_offload.c) on hostile input: the
 * first 10 bytes are a virtio-net header, the rest a frame as a TUN device
 * (TSO cutting) or a peer (GRO joining, after decryption) could give it.
 * Checks: no crash or out-of-bounds access; every cut packet fits the
 * size tnl_tso_max promised and has consistent IP lengths; every frame
 * GRO emits fits 64 KiB, and a joined one's IP length matches it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../apps/tunnel_offload.h"

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* A well-formed IP packet of exactly n bytes (as tnl_ip_ok). */
static int ip_ok(const uint8_t *p, size_t n)
{
	if (n >= 20 && (p[0] >> 4) == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4;
		return ihl >= 20 && ihl <= n && be16(p + 2) == n;
	}
	return n >= 40 && (p[0] >> 4) == 6 && (size_t)be16(p + 4) + 40 == n;
}

static int emit(void *arg, uint8_t *frame, size_t len, unsigned pkts, uint32_t hash)
{
	(void)arg;
	(void)hash;
	if (len < TNL_VNET_LEN || len > TNL_VNET_LEN + TNL_SUPER_MAX || !pkts)
		abort();
	const uint8_t *ip = frame + TNL_VNET_LEN;
	size_t n = len - TNL_VNET_LEN;
	if (pkts > 1 && !ip_ok(ip, n))
		abort();
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < len; i++)   /* every byte readable */
		sink ^= frame[i];
	(void)sink;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tnl_gro g;
	static int init;
	static uint8_t frame[TNL_VNET_LEN + 65536], seg[TNL_VNET_LEN + 65536 + 64];
	if (!init) {
		if (tnl_gro_init(&g) < 0)
			abort();
		init = 1;
	}
	if (size < TNL_VNET_LEN || size - TNL_VNET_LEN > 65535)
		return 0;
	struct virtio_net_hdr vh;
	memcpy(&vh, data, TNL_VNET_LEN);
	size_t n = size - TNL_VNET_LEN;
	memcpy(frame + TNL_VNET_LEN, data + TNL_VNET_LEN, n);
	uint8_t *f = frame + TNL_VNET_LEN;
	/* As from a peer: GRO takes any well-formed IP packet. */
	if (ip_ok(f, n)) {
		uint8_t *copy = malloc(TNL_VNET_LEN + n);
		memcpy(copy + TNL_VNET_LEN, f, n);
		tnl_gro_add(&g, copy + TNL_VNET_LEN, n, emit, NULL);
		free(copy);
	}
	/* As from the TUN device: cut it, and join the pieces again. */
	struct tnl_tso t;
	int cnt = ip_ok(f, n) ? tnl_tso_begin(&t, &vh, f, n) : -1;
	for (int i = 0; i < cnt; i++) {
		size_t max = tnl_tso_max(&t);
		if (max > 65535 + 64)
			abort();
		size_t l = tnl_tso_next(&t, seg + TNL_VNET_LEN);
		if (!l || l > max)
			abort();
		if (t.count > 1 && !ip_ok(seg + TNL_VNET_LEN, l))
			abort();
		if (ip_ok(seg + TNL_VNET_LEN, l))
			tnl_gro_add(&g, seg + TNL_VNET_LEN, l, emit, NULL);
	}
	tnl_gro_flush(&g, emit, NULL);
	return 0;
}
