/* MLD codecs (wire/mld6.h). */
#include "wire/mld6.h"

#include <errno.h>
#include <string.h>

#include "core/bytes.h"

uint32_t mld2_max_resp_ms(uint16_t code)
{
	if (code < 32768)
		return code;
	return (uint32_t)((code & 0x0FFFu) | 0x1000u) << (((code >> 12) & 7) + 3);
}

uint32_t mld2_qqi_s(uint8_t qqic)
{
	if (qqic < 128)
		return qqic;
	return (uint32_t)((qqic & 0x0Fu) | 0x10u) << (((qqic >> 4) & 7) + 3);
}

int mld_query_parse(const struct icmp6_repr *r, size_t len, struct mld_query *q)
{
	memset(q, 0, sizeof(*q));
	/* rest: Maximum Response Code (16 bits), reserved; payload: the group
	 * and, for v2, flags, QQIC, number of sources, sources. */
	if (r->type != ICMP6_MLD_QUERY || len < MLD1_LEN || r->payload_len + 8 != len)
		return -EINVAL;
	const uint8_t *b = r->payload;
	memcpy(q->group.b, b, 16);
	uint16_t code = (uint16_t)(r->rest >> 16);
	if (len == MLD1_LEN) {
		q->version = 1;
		q->max_resp_ms = code;   /* RFC 2710 3.4: milliseconds */
		return 0;
	}
	if (len < MLD2_QUERY_MIN)
		return -EINVAL;
	q->version = 2;
	q->max_resp_ms = mld2_max_resp_ms(code);
	q->s_flag = (b[16] >> 3) & 1;
	q->qrv = b[16] & 7;
	q->qqi_s = mld2_qqi_s(b[17]);
	q->n_src = rd_be16(b + 18);
	if ((size_t)MLD2_QUERY_MIN + (size_t)q->n_src * 16 > len)
		return -EINVAL;   /* sources past the end */
	return 0;
}

size_t mld2_records_emit(const uint8_t *types, const struct ip6_addr *groups, int n, uint8_t *buf)
{
	for (int i = 0; i < n; i++) {
		uint8_t *rec = buf + (size_t)i * MLD2_RECORD_LEN;
		rec[0] = types[i];
		rec[1] = 0;   /* aux data length */
		wr_be16(rec + 2, 0);   /* sources */
		memcpy(rec + 4, groups[i].b, 16);
	}
	return (size_t)n * MLD2_RECORD_LEN;
}
