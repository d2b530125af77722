/*
 * test_codec - CRC32C, LEB128, zigzag, block framing and the EVENTS payload.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "codec.h"

Test(codec, crc32c_matches_the_standard_check_value)
{
	cr_assert_eq(rp_crc32c(0, "123456789", 9), 0xE3069283u);
	cr_assert_eq(rp_crc32c_portable(0, "123456789", 9), 0xE3069283u);
	cr_assert_eq(rp_crc32c(0, "", 0), 0u);
	/* Continuing from a previous value equals one pass. */
	cr_assert_eq(rp_crc32c(rp_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

Test(codec, crc32c_hardware_and_table_agree_at_every_length_and_alignment)
{
	uint8_t buf[300];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131u + 7u);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len++)
			cr_assert_eq(rp_crc32c(0x1234u, buf + off, len),
				     rp_crc32c_portable(0x1234u, buf + off, len),
				     "off %zu len %zu", off, len);
}

static void uleb_round_trip(uint64_t v, size_t want_len)
{
	uint8_t b[10];
	const uint8_t *p = b;
	uint64_t got = 0;
	size_t n = rp_uleb_put(b, v);

	cr_assert_eq(n, want_len, "%llu takes %zu bytes", (unsigned long long)v, n);
	cr_assert_eq(rp_uleb_get(&p, b + n, &got), 0);
	cr_assert_eq(got, v);
	cr_assert_eq(p, b + n);
	/* Every shorter prefix is cut off. */
	for (size_t k = 0; k < n; k++) {
		p = b;
		cr_assert_eq(rp_uleb_get(&p, b + k, &got), -EBADMSG);
		cr_assert_eq(p, b, "a failed get leaves *p alone");
	}
}

Test(codec, uleb_round_trips_at_every_length_boundary)
{
	uleb_round_trip(0, 1);
	uleb_round_trip(127, 1);
	uleb_round_trip(128, 2);
	uleb_round_trip(16383, 2);
	uleb_round_trip(16384, 3);
	uleb_round_trip(UINT32_MAX, 5);
	uleb_round_trip((UINT64_C(1) << 63) - 1, 9);
	uleb_round_trip(UINT64_C(1) << 63, 10);
	uleb_round_trip(UINT64_MAX, 10);
}

Test(codec, uleb_spells_known_bytes)
{
	uint8_t b[10];

	cr_assert_eq(rp_uleb_put(b, 300), 2);
	cr_assert_eq(b[0], 0xac);
	cr_assert_eq(b[1], 0x02);
	cr_assert_eq(rp_uleb_put(b, UINT64_MAX), 10);
	for (int i = 0; i < 9; i++)
		cr_assert_eq(b[i], 0xff);
	cr_assert_eq(b[9], 0x01);
}

Test(codec, uleb_refuses_more_than_64_bits)
{
	const uint8_t ten_big[10] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02 };
	const uint8_t eleven[11] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00 };
	const uint8_t padded[3] = { 0x85, 0x80, 0x00 };
	const uint8_t *p;
	uint64_t v = 42;

	p = ten_big;
	cr_assert_eq(rp_uleb_get(&p, ten_big + 10, &v), -EBADMSG);
	p = eleven;
	cr_assert_eq(rp_uleb_get(&p, eleven + 11, &v), -EBADMSG);
	cr_assert_eq(v, 42, "a failed get leaves *v alone");
	/* Redundant zero groups within 10 bytes still fit in 64 bits. */
	p = padded;
	cr_assert_eq(rp_uleb_get(&p, padded + 3, &v), 0);
	cr_assert_eq(v, 5);
	cr_assert_eq(p, padded + 3);
}

Test(codec, zigzag_maps_small_magnitudes_to_small_numbers)
{
	cr_assert_eq(rp_zigzag(0), 0u);
	cr_assert_eq(rp_zigzag(-1), 1u);
	cr_assert_eq(rp_zigzag(1), 2u);
	cr_assert_eq(rp_zigzag(-2), 3u);
	cr_assert_eq(rp_zigzag(INT64_MAX), UINT64_MAX - 1);
	cr_assert_eq(rp_zigzag(INT64_MIN), UINT64_MAX);
	const int64_t vals[] = { 0, 1, -1, 63, -64, 1000000, -1000000, INT64_MAX, INT64_MIN };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		cr_assert_eq(rp_unzigzag(rp_zigzag(vals[i])), vals[i]);
}

static void fill_pattern(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)("ringprof query typeck(main) "[i % 28]);
}

static void fill_noise(uint8_t *p, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15u;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

struct framed {
	struct rp_buf buf;
	struct rp_block_hdr hdr;
};

static void frame(struct framed *f, uint16_t type, uint32_t count, const void *raw,
		  size_t len, bool compress)
{
	struct rp_blockenc *e;
	ssize_t n;

	memset(f, 0, sizeof(*f));
	cr_assert_eq(rp_blockenc_open(&e, 3), 0);
	n = rp_blockenc_frame(e, type, count, raw, len, compress, &f->buf);
	rp_blockenc_close(e);
	cr_assert_gt(n, 0);
	cr_assert_eq((size_t)n, f->buf.len);
	memcpy(&f->hdr, f->buf.data, sizeof(f->hdr));
}

static void decode_ok(const struct framed *f, const void *raw, size_t len)
{
	struct rp_blockdec *d;
	struct rp_buf out = { 0 };

	cr_assert_eq(rp_block_hdr_check(&f->hdr), 0);
	cr_assert_eq(rp_blockdec_open(&d), 0);
	cr_assert_eq(rp_blockdec_payload(d, &f->hdr, f->buf.data + sizeof(f->hdr), &out), 0,
		     "%s", rp_blockdec_problem(d));
	cr_assert_eq(out.len, len);
	cr_assert_eq(memcmp(out.data, raw, len), 0);
	rp_blockdec_close(d);
	rp_buf_free(&out);
}

Test(codec, compressible_block_is_stored_compressed_and_round_trips)
{
	uint8_t raw[8192];
	struct framed f;

	fill_pattern(raw, sizeof(raw));
	frame(&f, RP_BLK_EVENTS, 77, raw, sizeof(raw), true);
	cr_assert_eq(f.hdr.magic, RP_BLOCK_MAGIC);
	cr_assert_eq(f.hdr.type, RP_BLK_EVENTS);
	cr_assert_eq(f.hdr.flags, RP_BLOCK_F_ZSTD);
	cr_assert_eq(f.hdr.count, 77);
	cr_assert_eq(f.hdr.raw_len, sizeof(raw));
	cr_assert_lt(f.hdr.stored_len, 200);
	cr_assert_eq(f.buf.len, sizeof(f.hdr) + f.hdr.stored_len);
	decode_ok(&f, raw, sizeof(raw));
	rp_buf_free(&f.buf);
}

Test(codec, raw_block_has_the_exact_layout)
{
	const char raw[] = "abc";
	struct rp_block_hdr z;
	struct framed f;

	frame(&f, RP_BLK_STRINGS, 1, raw, 3, false);
	cr_assert_eq(f.buf.len, 27);
	cr_assert_eq(f.hdr.flags, 0);
	cr_assert_eq(f.hdr.stored_len, 3);
	cr_assert_eq(f.hdr.raw_len, 3);
	cr_assert_eq(memcmp(f.buf.data + 24, "abc", 3), 0);
	z = f.hdr;
	z.crc = 0;
	cr_assert_eq(f.hdr.crc, rp_crc32c(rp_crc32c(0, &z, 24), "abc", 3));
	decode_ok(&f, raw, 3);
	rp_buf_free(&f.buf);
}

Test(codec, incompressible_and_header_blocks_are_stored_raw)
{
	uint8_t noise[4096], pattern[4096];
	struct framed f;

	fill_noise(noise, sizeof(noise));
	frame(&f, RP_BLK_EVENTS, 1, noise, sizeof(noise), true);
	cr_assert_eq(f.hdr.flags, 0);
	cr_assert_eq(f.hdr.stored_len, sizeof(noise));
	decode_ok(&f, noise, sizeof(noise));
	rp_buf_free(&f.buf);

	fill_pattern(pattern, sizeof(pattern));
	frame(&f, RP_BLK_HEADER, 0, pattern, sizeof(pattern), true);
	cr_assert_eq(f.hdr.flags, 0, "HEADER is never compressed");
	rp_buf_free(&f.buf);
	frame(&f, RP_BLK_FOOTER, 0, pattern, 40, true);
	cr_assert_eq(f.hdr.flags, 0, "FOOTER is never compressed");
	rp_buf_free(&f.buf);

	frame(&f, RP_BLK_LOSS, 0, pattern, 0, true);
	cr_assert_eq(f.buf.len, 24, "an empty block is a bare header");
	decode_ok(&f, pattern, 0);
	rp_buf_free(&f.buf);
}

Test(codec, frame_refuses_unknown_types_and_oversized_payloads)
{
	struct rp_blockenc *e;
	struct rp_buf out = { 0 };
	static uint8_t big[RP_BLOCK_RAW_MAX + 1];

	cr_assert_eq(rp_blockenc_open(&e, 1), 0);
	cr_assert_eq(rp_blockenc_frame(e, 0, 0, "x", 1, false, &out), -EINVAL);
	cr_assert_eq(rp_blockenc_frame(e, 8, 0, "x", 1, false, &out), -EINVAL);
	cr_assert_eq(rp_blockenc_frame(e, RP_BLK_EVENTS, 0, big, sizeof(big), true, &out), -EINVAL);
	cr_assert_eq(out.len, 0);
	rp_blockenc_close(e);
	rp_buf_free(&out);
}

/* Flip every bit of every byte of the framed block: the header check or the
 * payload decode must refuse each variant (a stored_len grown past the bytes
 * at hand is refused by the caller, which cannot read them). */
static void every_corruption_is_detected(bool compress)
{
	uint8_t raw[2048];
	struct framed f;
	struct rp_blockdec *d;
	struct rp_buf out = { 0 };
	unsigned detected = 0, by_length = 0;

	fill_pattern(raw, sizeof(raw));
	frame(&f, RP_BLK_EVENTS, 5, raw, sizeof(raw), compress);
	cr_assert_eq(!!(f.hdr.flags & RP_BLOCK_F_ZSTD), compress);
	cr_assert_eq(rp_blockdec_open(&d), 0);
	for (size_t i = 0; i < f.buf.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			struct rp_block_hdr h;

			f.buf.data[i] ^= (uint8_t)(1u << bit);
			memcpy(&h, f.buf.data, sizeof(h));
			if (rp_block_hdr_check(&h) < 0) {
				detected++;
			} else if (h.stored_len > f.buf.len - sizeof(h)) {
				by_length++;
			} else {
				cr_assert_eq(rp_blockdec_payload(d, &h, f.buf.data + sizeof(h), &out),
					     -EBADMSG, "byte %zu bit %d", i, bit);
				detected++;
			}
			f.buf.data[i] ^= (uint8_t)(1u << bit);
		}
	}
	cr_assert_eq(detected + by_length, f.buf.len * 8);
	cr_assert_leq(by_length, 32, "only high stored_len bits escape the codec");
	/* Unharmed, it still decodes. */
	decode_ok(&f, raw, sizeof(raw));
	rp_blockdec_close(d);
	rp_buf_free(&out);
	rp_buf_free(&f.buf);
}

Test(codec, every_corruption_of_a_compressed_block_is_detected)
{
	every_corruption_is_detected(true);
}

Test(codec, every_corruption_of_a_raw_block_is_detected)
{
	every_corruption_is_detected(false);
}

Test(codec, crc_mismatch_and_bad_header_are_named)
{
	uint8_t raw[64];
	struct framed f;
	struct rp_blockdec *d;
	struct rp_buf out = { 0 };
	struct rp_block_hdr h;

	fill_pattern(raw, sizeof(raw));
	frame(&f, RP_BLK_CLOCK, 1, raw, sizeof(raw), false);
	cr_assert_eq(rp_blockdec_open(&d), 0);
	f.buf.data[30] ^= 0x10;
	cr_assert_eq(rp_blockdec_payload(d, &f.hdr, f.buf.data + 24, &out), -EBADMSG);
	cr_assert_str_eq(rp_blockdec_problem(d), "block CRC mismatch");
	h = f.hdr;
	h.type = 9;
	cr_assert_str_eq(rp_block_hdr_problem(&h), "unknown block type");
	h = f.hdr;
	h.raw_len = RP_BLOCK_RAW_MAX + 1;
	h.stored_len = h.raw_len;
	cr_assert_str_eq(rp_block_hdr_problem(&h), "block raw_len over the limit");
	h = f.hdr;
	h.magic ^= 1;
	cr_assert_str_eq(rp_block_hdr_problem(&h), "bad block magic");
	h = f.hdr;
	h.flags = 2;
	cr_assert_str_eq(rp_block_hdr_problem(&h), "unknown block flags");
	cr_assert_null(rp_block_hdr_problem(&f.hdr));
	rp_blockdec_close(d);
	rp_buf_free(&out);
	rp_buf_free(&f.buf);
}

Test(codec, zstd_frame_of_the_wrong_size_is_refused)
{
	uint8_t raw[4096];
	struct framed f;
	struct rp_blockdec *d;
	struct rp_buf out = { 0 };
	struct rp_block_hdr h;

	fill_pattern(raw, sizeof(raw));
	frame(&f, RP_BLK_EVENTS, 1, raw, sizeof(raw), true);
	cr_assert_eq(rp_blockdec_open(&d), 0);
	/* Re-sign headers that lie about raw_len so only the size check fails. */
	for (int delta = -1; delta <= 1; delta += 2) {
		struct rp_block_hdr z;

		h = f.hdr;
		h.raw_len = (uint32_t)((int)h.raw_len + delta);
		z = h;
		z.crc = 0;
		h.crc = rp_crc32c(rp_crc32c(0, &z, 24), f.buf.data + 24, h.stored_len);
		cr_assert_eq(rp_blockdec_payload(d, &h, f.buf.data + 24, &out), -EBADMSG);
		cr_assert_str_eq(rp_blockdec_problem(d), delta < 0 ?
				 "block decompresses to more than raw_len" :
				 "block decompresses to less than raw_len");
	}
	rp_blockdec_close(d);
	rp_buf_free(&out);
	rp_buf_free(&f.buf);
}

static const struct rp_event sample_events[] = {
	{ .type = RP_REC_THREAD_NAME, .id = 9, .arg = 0, .ts = 1000 },
	{ .type = RP_REC_BEGIN, .id = 1, .arg = 2, .ts = 1005 },
	{ .type = RP_REC_INSTANT, .id = 3, .arg = 2, .ts = 1003 },  /* steps back */
	{ .type = RP_REC_INTEGER, .id = 300, .arg = 0, .ts = 1003, .value = 128 },
	{ .type = RP_REC_INTEGER, .id = UINT32_MAX, .arg = UINT32_MAX, .ts = 0, .value = UINT64_MAX },
	{ .type = RP_REC_END, .id = 1, .arg = 2, .ts = UINT64_MAX },
	{ .type = RP_REC_END, .id = 1, .arg = 0, .ts = 7 },        /* wraps forward */
};
#define SAMPLE_N (sizeof(sample_events) / sizeof(sample_events[0]))

static void encode_sample(struct rp_evenc *e)
{
	memset(e, 0, sizeof(*e));
	cr_assert_eq(rp_evenc_begin(e, 3, 10, 990), 0);
	for (size_t i = 0; i < SAMPLE_N; i++)
		cr_assert_eq(rp_evenc_add(e, &sample_events[i]), 0);
	cr_assert_eq(e->count, SAMPLE_N);
}

Test(codec, events_round_trip_with_integers_and_negative_deltas)
{
	struct rp_evenc e;
	struct rp_evdec d;
	struct rp_event ev;

	encode_sample(&e);
	cr_assert_eq(rp_evdec_begin(&d, e.buf.data, e.buf.len, e.count), 0);
	cr_assert_eq(d.hdr.thread, 3);
	cr_assert_eq(d.hdr.first_index, 10);
	cr_assert_eq(d.hdr.first_ticks, 990);
	for (size_t i = 0; i < SAMPLE_N; i++) {
		memset(&ev, 0xa5, sizeof(ev));
		cr_assert_eq(rp_evdec_next(&d, &ev), 1, "event %zu", i);
		cr_assert_eq(ev.type, sample_events[i].type);
		cr_assert_eq(ev.id, sample_events[i].id);
		cr_assert_eq(ev.arg, sample_events[i].arg);
		cr_assert_eq(ev.ts, sample_events[i].ts, "event %zu ts", i);
		cr_assert_eq(ev.value, sample_events[i].value);
	}
	cr_assert_eq(rp_evdec_next(&d, &ev), 0);
	cr_assert_eq(rp_evdec_next(&d, &ev), 0);
	rp_evenc_free(&e);
}

Test(codec, events_payload_has_the_exact_bytes)
{
	static const uint8_t want[] = {
		0x06, 0x09, 0x00, 0x14,                   /* THREAD_NAME 9, +10 */
		0x01, 0x01, 0x02, 0x0a,                   /* BEGIN 1 2, +5 */
		0x03, 0x03, 0x02, 0x03,                   /* INSTANT 3 2, -2 */
		0x04, 0xac, 0x02, 0x00, 0x00, 0x80, 0x01, /* INTEGER 300, +0, 128 */
	};
	struct rp_evenc e = { 0 };
	struct rp_seg_events h;

	cr_assert_eq(rp_evenc_begin(&e, 3, 10, 990), 0);
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(rp_evenc_add(&e, &sample_events[i]), 0);
	cr_assert_eq(e.buf.len, sizeof(h) + sizeof(want));
	memcpy(&h, e.buf.data, sizeof(h));
	cr_assert_eq(h.thread, 3);
	cr_assert_eq(h.reserved, 0);
	cr_assert_eq(h.first_index, 10);
	cr_assert_eq(h.first_ticks, 990);
	cr_assert_eq(memcmp(e.buf.data + sizeof(h), want, sizeof(want)), 0);
	/* begin again reuses the buffer from scratch */
	cr_assert_eq(rp_evenc_begin(&e, 4, 0, 0), 0);
	cr_assert_eq(e.buf.len, sizeof(h));
	cr_assert_eq(e.count, 0);
	rp_evenc_free(&e);
}

Test(codec, evenc_refuses_value_and_unknown_types)
{
	struct rp_evenc e = { 0 };
	struct rp_event ev = { .type = RP_REC_VALUE, .id = 1 };

	cr_assert_eq(rp_evenc_begin(&e, 0, 0, 0), 0);
	cr_assert_eq(rp_evenc_add(&e, &ev), -EINVAL);
	ev.type = 0;
	cr_assert_eq(rp_evenc_add(&e, &ev), -EINVAL);
	ev.type = 7;
	cr_assert_eq(rp_evenc_add(&e, &ev), -EINVAL);
	cr_assert_eq(e.count, 0);
	cr_assert_eq(e.buf.len, sizeof(struct rp_seg_events));
	rp_evenc_free(&e);
}

/* Decode a payload with a claimed count; return the first non-1 result. */
static int decode_all(const uint8_t *p, size_t len, uint32_t count, unsigned *n)
{
	struct rp_evdec d;
	struct rp_event ev;
	int ret;

	*n = 0;
	ret = rp_evdec_begin(&d, p, len, count);
	if (ret < 0)
		return ret;
	while ((ret = rp_evdec_next(&d, &ev)) == 1)
		(*n)++;
	return ret;
}

Test(codec, malformed_events_are_refused)
{
	struct rp_evenc e;
	unsigned n;
	uint8_t *copy;
	size_t hl = sizeof(struct rp_seg_events);

	encode_sample(&e);
	cr_assert_eq(decode_all(e.buf.data, e.buf.len, e.count, &n), 0);
	cr_assert_eq(n, SAMPLE_N);
	/* Every cut is refused. */
	for (size_t len = 0; len < e.buf.len; len++)
		cr_assert_eq(decode_all(e.buf.data, len, e.count, &n), -EBADMSG, "len %zu", len);
	/* Too few or too many claimed events. */
	cr_assert_eq(decode_all(e.buf.data, e.buf.len, e.count - 1, &n), -EBADMSG);
	cr_assert_eq(decode_all(e.buf.data, e.buf.len, e.count + 1, &n), -EBADMSG);
	cr_assert_eq(decode_all(e.buf.data, hl + 1, 0, &n), -EBADMSG);
	cr_assert_eq(decode_all(e.buf.data, hl, 0, &n), 0);
	cr_assert_eq(n, 0);

	copy = malloc(e.buf.len + 8);
	cr_assert_not_null(copy);
	/* A VALUE record, or an unknown type, in place of the first event. */
	for (uint8_t t = 0; t < 16; t++) {
		if (t >= RP_REC_BEGIN && t <= RP_REC_THREAD_NAME && t != RP_REC_VALUE)
			continue;
		memcpy(copy, e.buf.data, e.buf.len);
		copy[hl] = t;
		cr_assert_eq(decode_all(copy, e.buf.len, e.count, &n), -EBADMSG, "type %u", t);
		cr_assert_eq(n, 0);
	}
	/* A string id over 32 bits: 2^32 as a 5-byte LEB128. */
	{
		static const uint8_t wide[] = { 0x01, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00, 0x00 };
		memcpy(copy, e.buf.data, hl);
		memcpy(copy + hl, wide, sizeof(wide));
		cr_assert_eq(decode_all(copy, hl + sizeof(wide), 1, &n), -EBADMSG);
		copy[hl + 5] = 0x0f;  /* 15 << 28 fits in 32 bits */
		cr_assert_eq(decode_all(copy, hl + sizeof(wide), 1, &n), 0);
		cr_assert_eq(n, 1);
	}
	free(copy);
	rp_evenc_free(&e);
}
