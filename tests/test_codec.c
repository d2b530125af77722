/*
 * test_codec - CRC32C, LEB128, zigzag, block framing, the EVENTS payload,
 * UTF-8 validation and JSON strings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "codec.h"
#include "json.h"

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

Test(codec, events_payload_of_version_1_has_the_exact_bytes)
{
	static const uint8_t want[] = {
		0x06, 0x09, 0x00, 0x14,                   /* THREAD_NAME 9, +10 */
		0x01, 0x01, 0x02, 0x0a,                   /* BEGIN 1 2, +5 */
		0x03, 0x03, 0x02, 0x03,                   /* INSTANT 3 2, -2 */
		0x04, 0xac, 0x02, 0x00, 0x00, 0x80, 0x01, /* INTEGER 300, +0, 128 */
	};
	struct rp_evenc e = { 0 };
	struct rp_seg_events h;

	cr_assert_eq(rp_evenc_begin_version(&e, 1, 3, 10, 990), 0);
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

/* Version 2 (the current layout): an END that closes the innermost open
 * BEGIN is its head byte and ts delta; arguments code relative to the
 * largest so far. */
Test(codec, events_payload_of_version_2_has_the_exact_bytes)
{
	static const struct rp_event evs[] = {
		{ .type = RP_REC_BEGIN, .id = 1, .arg = 200, .ts = 1000 },
		{ .type = RP_REC_BEGIN, .id = 2, .arg = 201, .ts = 1001 },
		{ .type = RP_REC_INSTANT, .id = 3, .arg = 5, .ts = 1001 },
		{ .type = RP_REC_END, .id = 2, .arg = 201, .ts = 1002 },  /* closes */
		{ .type = RP_REC_END, .id = 9, .arg = 0, .ts = 1003 },    /* does not */
		{ .type = RP_REC_INTEGER, .id = 4, .arg = 202, .ts = 1003, .value = 7 },
	};
	static const uint8_t want[] = {
		0x01, 0x01, 0x91, 0x03, 0x14,  /* BEGIN 1, arg 0+200: zz 400 + 1, +10 */
		0x01, 0x02, 0x03, 0x02,        /* BEGIN 2, arg 200+1: zz 2 + 1, +1 */
		0x03, 0x03, 0x88, 0x03, 0x00,  /* INSTANT 3, arg 201-196: zz 391 + 1, +0 */
		0x82, 0x02,                    /* END closing BEGIN 2 201, +1 */
		0x02, 0x09, 0x00, 0x02,        /* END 9 (pops BEGIN 1), no arg, +1 */
		0x04, 0x04, 0x03, 0x00, 0x07,  /* INTEGER 4, arg 201+1, +0, 7 */
	};
	struct rp_evenc e = { 0 };
	struct rp_evdec d;
	struct rp_event ev;

	cr_assert_eq(rp_evenc_begin(&e, 3, 10, 990), 0);
	cr_assert_eq(e.version, RP_SEG_VERSION);
	cr_assert_eq(RP_SEG_VERSION, 2);
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		cr_assert_eq(rp_evenc_add(&e, &evs[i]), 0);
	cr_assert_eq(e.buf.len, sizeof(struct rp_seg_events) + sizeof(want));
	cr_assert_eq(memcmp(e.buf.data + sizeof(struct rp_seg_events), want, sizeof(want)), 0);
	cr_assert_eq(rp_evdec_begin(&d, e.buf.data, e.buf.len, e.count), 0);
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		memset(&ev, 0xa5, sizeof(ev));
		cr_assert_eq(rp_evdec_next(&d, &ev), 1, "event %zu", i);
		cr_assert_eq(ev.type, evs[i].type, "event %zu", i);
		cr_assert_eq(ev.id, evs[i].id, "event %zu", i);
		cr_assert_eq(ev.arg, evs[i].arg, "event %zu", i);
		cr_assert_eq(ev.ts, evs[i].ts, "event %zu", i);
		cr_assert_eq(ev.value, evs[i].value, "event %zu", i);
	}
	cr_assert_eq(rp_evdec_next(&d, &ev), 0);
	/* the same events in a version 1 payload decode the same */
	cr_assert_eq(rp_evenc_begin_version(&e, 1, 3, 10, 990), 0);
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		cr_assert_eq(rp_evenc_add(&e, &evs[i]), 0);
	cr_assert_eq(rp_evdec_begin_version(&d, 1, e.buf.data, e.buf.len, e.count), 0);
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		cr_assert_eq(rp_evdec_next(&d, &ev), 1);
		cr_assert_eq(ev.id, evs[i].id);
		cr_assert_eq(ev.arg, evs[i].arg);
	}
	cr_assert_eq(rp_evdec_next(&d, &ev), 0);
	rp_evenc_free(&e);
}

Test(codec, unknown_layout_versions_are_refused)
{
	struct rp_evenc e = { 0 };
	struct rp_evdec d;
	uint8_t hdr[sizeof(struct rp_seg_events)] = { 0 };

	cr_assert_eq(rp_evenc_begin_version(&e, 0, 1, 0, 0), -EINVAL);
	cr_assert_eq(rp_evenc_begin_version(&e, 3, 1, 0, 0), -EINVAL);
	cr_assert_eq(rp_evdec_begin_version(&d, 0, hdr, sizeof(hdr), 0), -EBADMSG);
	cr_assert_eq(rp_evdec_begin_version(&d, 3, hdr, sizeof(hdr), 0), -EBADMSG);
	cr_assert_eq(rp_evdec_begin_version(&d, 1, hdr, sizeof(hdr), 0), 0);
	cr_assert_eq(rp_evdec_begin_version(&d, 2, hdr, sizeof(hdr), 0), 0);
	rp_evenc_free(&e);
}

/* xorshift for the generated streams */
static uint64_t gen_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Encode n events in layout version, decode them back, compare every field,
 * then re-encode the decoded events and compare the bytes.  Returns the
 * payload length. */
static size_t round_trip(uint16_t version, const struct rp_event *evs, size_t n)
{
	struct rp_evenc e = { 0 }, again = { 0 };
	struct rp_evdec d;
	struct rp_event ev;
	size_t len;

	cr_assert_eq(rp_evenc_begin_version(&e, version, 7, 100, evs[0].ts), 0);
	cr_assert_eq(rp_evenc_begin_version(&again, version, 7, 100, evs[0].ts), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(rp_evenc_add(&e, &evs[i]), 0, "event %zu", i);
	cr_assert_eq(rp_evdec_begin_version(&d, version, e.buf.data, e.buf.len, e.count), 0);
	for (size_t i = 0; i < n; i++) {
		memset(&ev, 0x5a, sizeof(ev));
		cr_assert_eq(rp_evdec_next(&d, &ev), 1, "v%u event %zu", version, i);
		cr_assert_eq(ev.type, evs[i].type, "v%u event %zu", version, i);
		cr_assert_eq(ev.id, evs[i].id, "v%u event %zu", version, i);
		cr_assert_eq(ev.arg, evs[i].arg, "v%u event %zu", version, i);
		cr_assert_eq(ev.ts, evs[i].ts, "v%u event %zu", version, i);
		cr_assert_eq(ev.value, evs[i].value, "v%u event %zu", version, i);
		cr_assert_eq(rp_evenc_add(&again, &ev), 0);
	}
	cr_assert_eq(rp_evdec_next(&d, &ev), 0);
	cr_assert_eq(again.buf.len, e.buf.len);
	cr_assert_eq(memcmp(again.buf.data, e.buf.data, e.buf.len), 0, "v%u bytes", version);
	len = e.buf.len;
	rp_evenc_free(&e);
	rp_evenc_free(&again);
	return len;
}

/* Random nesting up to depth 100 (past the 64-entry stack), mismatched and
 * unmatched ENDs, argument ids at 0, 1 and UINT32_MAX, every type. */
Test(codec, events_round_trip_byte_exact_through_deep_and_broken_nesting)
{
	enum { N = 20000 };
	struct rp_event *evs = calloc(N, sizeof(*evs));
	uint32_t kinds[128], args[128];
	uint64_t x = 0x243f6a8885a308d3u, ts = UINT64_MAX - 5000;
	size_t depth = 0;

	cr_assert_not_null(evs);
	for (size_t i = 0; i < N; i++) {
		uint64_t r = gen_next(&x);
		struct rp_event *ev = &evs[i];
		unsigned what = (unsigned)(r % 16);

		ts += (r >> 8) % 3000 - 500;  /* steps back sometimes, wraps */
		ev->ts = ts;
		ev->id = 1 + (uint32_t)((r >> 20) % 6);
		switch ((r >> 28) % 8) {
		case 0: ev->arg = 0; break;
		case 1: ev->arg = UINT32_MAX; break;
		case 2: ev->arg = 1; break;
		default: ev->arg = 1 + (uint32_t)((r >> 32) % 5000); break;
		}
		if (what < 6 && depth < 100) {
			ev->type = RP_REC_BEGIN;
			kinds[depth % 128] = ev->id;
			args[depth % 128] = ev->arg;
			depth++;
		} else if (what < 12 && depth > 0) {
			ev->type = RP_REC_END;
			depth--;
			if (what != 11) {  /* most ENDs match their BEGIN */
				ev->id = kinds[depth % 128];
				ev->arg = args[depth % 128];
			}
		} else if (what == 12) {
			ev->type = RP_REC_END;  /* maybe with nothing open */
		} else if (what == 13) {
			ev->type = RP_REC_INTEGER;
			ev->value = gen_next(&x);
		} else if (what == 14) {
			ev->type = RP_REC_THREAD_NAME;
		} else {
			ev->type = RP_REC_INSTANT;
		}
	}
	/* (random ids up to UINT32_MAX make version 2 larger here: its
	 * argument codes are meant for ids interned just before use) */
	round_trip(2, evs, N);
	round_trip(1, evs, N);
	free(evs);
}

/* Nesting 70 deep, then closing every level: the 6 levels past the 64-entry
 * stack are spelled in full, the 64 on it are elided. */
Test(codec, levels_past_the_stack_are_spelled_in_full)
{
	enum { D = 70 };
	struct rp_event evs[2 * D];
	struct rp_evenc e = { 0 };
	const uint8_t *p;
	size_t full = 0, closed = 0;

	for (size_t i = 0; i < D; i++) {
		evs[i] = (struct rp_event){ .type = RP_REC_BEGIN, .id = 1, .arg = (uint32_t)(i + 1),
					    .ts = i };
		evs[2 * D - 1 - i] = (struct rp_event){ .type = RP_REC_END, .id = 1,
							 .arg = (uint32_t)(i + 1),
							 .ts = 2 * D - 1 - i };
	}
	round_trip(2, evs, 2 * D);
	cr_assert_eq(rp_evenc_begin(&e, 1, 0, 0), 0);
	for (size_t i = 0; i < 2 * D; i++)
		cr_assert_eq(rp_evenc_add(&e, &evs[i]), 0);
	/* every BEGIN is head, id, arg code (0x03: max + 1), delta: 4 bytes;
	 * every END: 2 bytes closed, 4 in full */
	p = e.buf.data + sizeof(struct rp_seg_events);
	for (size_t i = 0; i < D; i++, p += 4)
		cr_assert_eq(p[0], RP_REC_BEGIN);
	for (size_t i = 0; i < D; i++) {
		if (p[0] == (RP_REC_END | RP_EV_F_CLOSE)) {
			closed++;
			p += 2;
		} else {
			cr_assert_eq(p[0], RP_REC_END);
			cr_assert_eq(closed, 0, "full ENDs come first (the deepest levels)");
			full++;
			p += 4;
		}
	}
	cr_assert_eq(full, D - RP_EV_STACK_MAX);
	cr_assert_eq(closed, RP_EV_STACK_MAX);
	cr_assert_eq(p, e.buf.data + e.buf.len);
	rp_evenc_free(&e);
}

/* A hostile payload: closing ENDs with nothing open, past the stack, or
 * on a type other than END, in version 1; argument codes out of range. */
Test(codec, malformed_version_2_events_are_refused)
{
	struct rp_seg_events h = { .thread = 1 };
	uint8_t buf[sizeof(h) + 1200];
	const size_t hl = sizeof(h);
	unsigned n;
	size_t k;

	memcpy(buf, &h, hl);
	/* a closing END with nothing open */
	buf[hl] = RP_REC_END | RP_EV_F_CLOSE;
	buf[hl + 1] = 0;
	cr_assert_eq(decode_all(buf, hl + 2, 1, &n), -EBADMSG);
	/* BEGIN then two closing ENDs: the second has nothing to close */
	memcpy(buf + hl, (const uint8_t[]){ 0x01, 0x01, 0x00, 0x00, 0x82, 0x00, 0x82, 0x00 }, 8);
	cr_assert_eq(decode_all(buf, hl + 6, 2, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(decode_all(buf, hl + 8, 3, &n), -EBADMSG);
	cr_assert_eq(n, 2);
	/* the close flag on another type */
	for (uint8_t t = RP_REC_BEGIN; t <= RP_REC_THREAD_NAME; t++) {
		if (t == RP_REC_END)
			continue;
		memcpy(buf + hl, (const uint8_t[]){ 0x01, 0x01, 0x00, 0x00, 0x80, 0x00 }, 6);
		buf[hl + 4] = (uint8_t)(t | RP_EV_F_CLOSE);
		cr_assert_eq(decode_all(buf, hl + 6, 2, &n), -EBADMSG, "type %u", t);
	}
	/* the close flag in a version 1 payload */
	{
		struct rp_evdec d;
		struct rp_event ev;
		memcpy(buf + hl, (const uint8_t[]){ 0x01, 0x01, 0x00, 0x00, 0x82, 0x00 }, 6);
		cr_assert_eq(rp_evdec_begin_version(&d, 1, buf, hl + 6, 2), 0);
		cr_assert_eq(rp_evdec_next(&d, &ev), 1);
		cr_assert_eq(rp_evdec_next(&d, &ev), -EBADMSG);
	}
	/* 65 BEGINs fill the stack and one level past it: the first END pops
	 * that level and cannot be elided, the next may */
	for (k = 0; k < 65; k++)
		memcpy(buf + hl + 4 * k, (const uint8_t[]){ 0x01, 0x01, 0x00, 0x00 }, 4);
	memcpy(buf + hl + 4 * k, (const uint8_t[]){ 0x82, 0x00, 0x82, 0x00 }, 4);
	cr_assert_eq(decode_all(buf, hl + 4 * k + 2, 66, &n), -EBADMSG);
	cr_assert_eq(n, 65);
	memcpy(buf + hl + 4 * k, (const uint8_t[]){ 0x02, 0x01, 0x00, 0x00, 0x82, 0x00 }, 6);
	cr_assert_eq(decode_all(buf, hl + 4 * k + 6, 67, &n), 0);
	cr_assert_eq(n, 67);
	/* argument codes: max 0, so code 1 (arg 0) is not a canonical "none"
	 * and is refused, code 3 (+1) gives 1, and 2^32 is past UINT32_MAX */
	memcpy(buf + hl, (const uint8_t[]){ 0x03, 0x01, 0x01, 0x00 }, 4);
	cr_assert_eq(decode_all(buf, hl + 4, 1, &n), -EBADMSG);
	memcpy(buf + hl, (const uint8_t[]){ 0x03, 0x01, 0x03, 0x00 }, 4);
	cr_assert_eq(decode_all(buf, hl + 4, 1, &n), 0);
	/* zigzag(UINT32_MAX) + 1 = 0x1fffffffe + 1: arg UINT32_MAX, fits */
	memcpy(buf + hl, (const uint8_t[]){ 0x03, 0x01, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00 }, 8);
	cr_assert_eq(decode_all(buf, hl + 8, 1, &n), 0);
	/* zigzag(2^32) + 1: one past */
	memcpy(buf + hl, (const uint8_t[]){ 0x03, 0x01, 0x81, 0x80, 0x80, 0x80, 0x20, 0x00 }, 8);
	cr_assert_eq(decode_all(buf, hl + 8, 1, &n), -EBADMSG);
	/* the largest code (a delta of 2^63 - 1): refused, no overflow */
	memcpy(buf + hl, (const uint8_t[]){ 0x03, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0x01, 0x00 }, 13);
	cr_assert_eq(decode_all(buf, hl + 13, 1, &n), -EBADMSG);
}

/* s (n bytes) through rp_json_str with nul, expected to give exactly want. */
static void json_expect(const char *s, size_t n, char nul, const char *want)
{
	struct rp_buf b = { 0 };

	cr_assert_eq(rp_json_str(&b, s, n, nul), 0);
	cr_assert_eq(b.len, strlen(want), "%.*s", (int)b.len, (const char *)b.data);
	cr_assert_eq(memcmp(b.data, want, b.len), 0, "%.*s, expected %s", (int)b.len,
		     (const char *)b.data, want);
	rp_buf_free(&b);
}

Test(codec, utf8_len_accepts_each_sequence_length_and_nothing_malformed)
{
	cr_assert_eq(rp_json_utf8_len("a", 1), 1);
	cr_assert_eq(rp_json_utf8_len("\x7f", 1), 1);
	cr_assert_eq(rp_json_utf8_len("\xc3\xa9x", 3), 2);          /* U+00E9 */
	cr_assert_eq(rp_json_utf8_len("\xe2\x82\xac", 3), 3);       /* U+20AC */
	cr_assert_eq(rp_json_utf8_len("\xf0\x9f\x98\x80", 4), 4);   /* U+1F600 */
	cr_assert_eq(rp_json_utf8_len("\xf4\x8f\xbf\xbf", 4), 4);   /* U+10FFFF */
	cr_assert_eq(rp_json_utf8_len("\x80", 1), 0);               /* stray continuation */
	cr_assert_eq(rp_json_utf8_len("\xc0\xaf", 2), 0);           /* overlong '/' */
	cr_assert_eq(rp_json_utf8_len("\xc1\xbf", 2), 0);
	cr_assert_eq(rp_json_utf8_len("\xe0\x9f\xbf", 3), 0);       /* overlong U+07FF */
	cr_assert_eq(rp_json_utf8_len("\xf0\x8f\xbf\xbf", 4), 0);   /* overlong U+FFFF */
	cr_assert_eq(rp_json_utf8_len("\xed\xa0\x80", 3), 0);       /* surrogate U+D800 */
	cr_assert_eq(rp_json_utf8_len("\xed\xbf\xbf", 3), 0);       /* surrogate U+DFFF */
	cr_assert_eq(rp_json_utf8_len("\xf4\x90\x80\x80", 4), 0);   /* U+110000 */
	cr_assert_eq(rp_json_utf8_len("\xf5\x80\x80\x80", 4), 0);
	cr_assert_eq(rp_json_utf8_len("\xff", 1), 0);
	cr_assert_eq(rp_json_utf8_len("\xc3x", 2), 0);              /* bad continuation */
	/* cut off: the bytes are valid, but fewer than the lead byte says */
	cr_assert_eq(rp_json_utf8_len("\xe2\x82\xac", 2), 0);
	cr_assert_eq(rp_json_utf8_len("\xf0\x9f\x98\x80", 3), 0);
	cr_assert_eq(rp_json_utf8_len("\xc3\xa9", 1), 0);
}

Test(codec, json_str_escapes_quotes_backslashes_and_controls_exactly)
{
	json_expect("", 0, '\0', "\"\"");
	json_expect("plain text", 10, '\0', "\"plain text\"");
	json_expect("say \"hi\"", 8, '\0', "\"say \\\"hi\\\"\"");
	json_expect("a\\b", 3, '\0', "\"a\\\\b\"");
	json_expect("\x01\t\n\r\x1f", 5, '\0', "\"\\u0001\\u0009\\u000a\\u000d\\u001f\"");
	/* DEL and '/' are text, not escaped */
	json_expect("\x7f/", 2, '\0', "\"\x7f/\"");
	json_expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, '\0',
		    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

Test(codec, json_str_replaces_invalid_and_cut_utf8_and_handles_nul)
{
	/* each byte that starts no valid sequence is one U+FFFD */
	json_expect("a\x80z", 3, '\0', "\"a\\ufffdz\"");
	json_expect("\xc0\xaf", 2, '\0', "\"\\ufffd\\ufffd\"");
	json_expect("\xed\xa0\x80", 3, '\0', "\"\\ufffd\\ufffd\\ufffd\"");
	json_expect("\xff\xfe", 2, '\0', "\"\\ufffd\\ufffd\"");
	/* a sequence cut off by the end of the string */
	json_expect("ok\xe2\x82", 4, '\0', "\"ok\\ufffd\\ufffd\"");
	json_expect("\xf0\x9f\x98", 3, '\0', "\"\\ufffd\\ufffd\\ufffd\"");
	/* a NUL ends the string, or stands as the byte given */
	json_expect("cc\0-c\0x.c", 9, '\0', "\"cc\"");
	json_expect("cc\0-c\0x.c", 9, ' ', "\"cc -c x.c\"");
	json_expect("\0", 1, '\0', "\"\"");
}
