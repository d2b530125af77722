/*
 * fuzz_codec.c - libFuzzer target for the block codec: the first 24 bytes
 * are a block header, the rest its stored payload.  The header is checked;
 * then, with its CRC put right (so the fuzzer gets past it) and without,
 * the payload is decoded and, decoded or not, walked as an EVENTS payload
 * of the header's count; LEB128 numbers are read from the raw bytes too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_events(const void *p, size_t len, uint32_t count)
{
	struct rp_evdec d;
	struct rp_event ev;
	int ret;

	if (rp_evdec_begin(&d, p, len, count) < 0)
		return;
	while ((ret = rp_evdec_next(&d, &ev)) == 1)
		if (ev.type != RP_REC_BEGIN && ev.type != RP_REC_END && ev.type != RP_REC_INSTANT &&
		    ev.type != RP_REC_INTEGER && ev.type != RP_REC_THREAD_NAME)
			abort();  /* the decoder lets only these through */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rp_blockdec *dec;
	struct rp_block_hdr h;
	struct rp_buf out = { 0 };
	const uint8_t *p = data, *end = data + size;
	uint64_t v;

	if (!dec && rp_blockdec_open(&dec) < 0)
		abort();
	while (rp_uleb_get(&p, end, &v) == 0 && p < end)
		;
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	if ((rp_block_hdr_check(&h) == 0) != (rp_block_hdr_problem(&h) == NULL))
		abort();  /* the check and its reason agree */
	if (rp_block_hdr_check(&h) == 0 && h.stored_len <= size - sizeof(h)) {
		for (int fix = 0; fix < 2; fix++) {
			if (fix) {
				h.crc = 0;
				h.crc = rp_crc32c(rp_crc32c(0, &h, sizeof(h)), data + sizeof(h),
						  h.stored_len);
			}
			if (rp_blockdec_payload(dec, &h, data + sizeof(h), &out) == 0) {
				if (out.len != h.raw_len)
					abort();  /* decoded to the exact size or refused */
				if (h.type == RP_BLK_EVENTS)
					fuzz_events(out.data, out.len, h.count);
			} else if (!rp_blockdec_problem(dec)) {
				abort();
			}
		}
	}
	fuzz_events(data + sizeof(h), size - sizeof(h), h.count);
	rp_buf_free(&out);
	return 0;
}
