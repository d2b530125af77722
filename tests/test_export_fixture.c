/*
 * test_export_fixture.c - fixed segments for the exporters' tests and the
 * fuzzers' seed corpus: nesting, recursion, several threads and processes,
 * an interval spanning a segment rotation, and strings that need escaping.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "test_cli_fixture.h"
#include "test_export_fixture.h"

#define S(id, text) { id, sizeof(text) - 1, text }
#define EV(t, k, a, ns) { .type = RP_REC_##t, .id = k, .arg = a, .ts = FIX_TICKS(ns) }

static void xfix_info(struct rp_seg_info *in, uint32_t pid, const char *name, uint32_t seq)
{
	memset(in, 0, sizeof(*in));
	in->pid = pid;
	in->clock_source = RP_CLOCK_TSC;
	in->tick_hz = FIX_HZ;
	in->clock_ticks = FIX_TICKS0;
	in->clock_mono_ns = FIX_MONO0;
	in->clock_real_ns = UINT64_C(1700000000000000000);
	in->client_id = pid;
	in->segment_seq = seq;
	in->daemon_pid = 99;
	strcpy(in->boot_id, "0b7e6f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
	strcpy(in->host, "buildhost");
	memcpy(in->name, name, strlen(name));
	strcpy(in->session, "export");
}

void xfix_cc_first(struct rp_segwrite *w, bool compress)
{
	static const struct rp_segenc_string strings[] = {
		S(1, "Query"), S(2, "GenericActivity"), S(3, "A"), S(4, "B"), S(5, "C(x)"),
		S(6, "f(1)"), S(7, "f(2)"),
	};
	static const struct rp_seg_thread start[] = {
		{ .thread = 1, .tid = 1001, .event = RP_THREAD_START, .ticks = FIX_TICKS(0) },
		{ .thread = 2, .tid = 1002, .slot = 1, .event = RP_THREAD_START, .ticks = FIX_TICKS(0) },
	};
	static const struct rp_event t1[] = {
		EV(BEGIN, 2, 3, 0),         /* A 0..100 us */
		EV(BEGIN, 2, 4, 10000),     /* B 10..40 */
		EV(BEGIN, 1, 5, 20000),     /* C 20..30 */
		EV(END, 1, 5, 30000),
		EV(END, 2, 4, 40000),
		EV(BEGIN, 2, 4, 50000),     /* B 50..70 */
		EV(END, 2, 4, 70000),
		EV(END, 2, 3, 100000),
		EV(BEGIN, 1, 6, 200000),    /* f(1) 200..300 */
		EV(BEGIN, 1, 7, 210000),    /* f(2) 210..290, ends in the next segment */
	};
	static const struct rp_event t2[] = {
		EV(BEGIN, 2, 3, 0),         /* A 0..40 */
		EV(BEGIN, 2, 4, 5000),      /* B 5..25 */
		EV(END, 2, 4, 25000),
		EV(END, 2, 3, 40000),
	};
	struct rp_seg_info in;

	xfix_info(&in, 100, "cc", 0);
	cr_assert_eq(rp_segwrite_open(w, -1, 3, compress, &in, "cc\0-O2", 6), 0);
	cr_assert_eq(rp_segwrite_strings(w, strings, 7), 0);
	cr_assert_eq(rp_segwrite_threads(w, start, 2), 0);
	cr_assert_eq(rp_segwrite_events(w, 1, 0, FIX_TICKS(0), t1, 10), 0);
	cr_assert_eq(rp_segwrite_events(w, 2, 0, FIX_TICKS(0), t2, 4), 0);
	cr_assert_eq(rp_segwrite_seal(w, RP_SEG_END_ROTATE, FIX_TICKS(215000)), 0);
}

void xfix_cc_second(struct rp_segwrite *w, bool compress)
{
	/* other ids than the first segment's for the same strings */
	static const struct rp_segenc_string strings[] = {
		S(11, "f(3)"), S(12, "f(2)"), S(13, "f(1)"), S(14, "Query"),
	};
	static const struct rp_event t1[] = {
		EV(BEGIN, 14, 11, 220000),  /* f(3) 220..230 */
		EV(END, 14, 11, 230000),
		EV(END, 14, 12, 290000),
		EV(END, 14, 13, 300000),
	};
	static const struct rp_seg_loss loss[] = {
		{ .thread = 1, .written = 14 },
		{ .thread = 2, .written = 4, .client_dropped = 5 },
		{ .thread = 0, .client_dropped = 2 },
	};
	struct rp_seg_info in;

	xfix_info(&in, 100, "cc", 1);
	cr_assert_eq(rp_segwrite_open(w, -1, 3, compress, &in, "cc\0-O2", 6), 0);
	cr_assert_eq(rp_segwrite_strings(w, strings, 4), 0);
	cr_assert_eq(rp_segwrite_events(w, 1, 10, FIX_TICKS(215000), t1, 4), 0);
	cr_assert_eq(rp_segwrite_loss(w, loss, 3), 0);
	cr_assert_eq(rp_segwrite_seal(w, RP_SEG_END_EXIT, FIX_TICKS(400000)), 0);
}

void xfix_ld(struct rp_segwrite *w, bool compress)
{
	static const struct rp_segenc_string strings[] = {
		S(1, "GenericActivity"), S(2, "link"), S(3, "QueryCacheHit"), S(4, "lto(main)"),
		S(5, "linker"),
	};
	static const struct rp_event t1[] = {
		EV(THREAD_NAME, 5, 0, 0),
		EV(BEGIN, 1, 2, 0),         /* link 0..500 us */
		EV(INSTANT, 3, 4, 100000),
		EV(BEGIN, 1, 4, 300000),    /* lto(main) 300 us.., never ends */
		EV(END, 1, 2, 500000),      /* closes link out of order */
		EV(END, 1, 5, 600000),      /* no BEGIN */
	};
	struct rp_seg_info in;

	xfix_info(&in, 101, "ld", 0);
	cr_assert_eq(rp_segwrite_open(w, -1, 3, compress, &in, "ld", 2), 0);
	cr_assert_eq(rp_segwrite_strings(w, strings, 5), 0);
	cr_assert_eq(rp_segwrite_events(w, 1, 0, FIX_TICKS(0), t1, 6), 0);
	/* unsealed: the writer still runs */
}

void xfix_escape(struct rp_segwrite *w, bool compress)
{
	static const struct rp_segenc_string strings[] = {
		S(1, "Query"), S(2, "q\"uote\\back\tslash\x01\x7f"), S(3, "caf\xc3\xa9 \xff;\xed\xa0\x80"),
		S(4, "Size\n"), S(5, "t\"1\n\xe2\x82\xac"),
	};
	static const struct rp_event t1[] = {
		EV(THREAD_NAME, 5, 0, 0),
		EV(BEGIN, 1, 2, 0),
		EV(INSTANT, 1, 3, 1000),
		{ .type = RP_REC_INTEGER, .id = 4, .ts = FIX_TICKS(1500), .value = 7 },
		EV(END, 1, 2, 2000),
		EV(BEGIN, 1, 3, 3000),
		EV(END, 1, 3, 3500),
	};
	struct rp_seg_info in;

	xfix_info(&in, 300, "we\"ird\x01", 0);
	cr_assert_eq(rp_segwrite_open(w, -1, 3, compress, &in, "x", 1), 0);
	cr_assert_eq(rp_segwrite_strings(w, strings, 5), 0);
	cr_assert_eq(rp_segwrite_events(w, 1, 0, FIX_TICKS(0), t1, 7), 0);
	cr_assert_eq(rp_segwrite_seal(w, RP_SEG_END_EXIT, FIX_TICKS(4000)), 0);
}
