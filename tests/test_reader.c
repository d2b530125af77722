/*
 * test_reader - libringprof over segments built by segwrite: every item,
 * directory order, cut and corrupted files, versions, undefined strings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include <ringprof/reader.h>

#include "test_cli_fixture.h"

/* Write w's bytes to dir/name and return the path (malloc'ed). */
static char *put_segment(const char *dir, const char *name, const void *b, size_t len)
{
	char *path;

	cr_assert_gt(asprintf(&path, "%s/%s", dir, name), 0);
	fix_write_file(path, b, len);
	return path;
}

static struct rp_reader *open1(const char *path, unsigned flags)
{
	char err[256] = "";
	struct rp_reader *r = rp_reader_open(&path, 1, flags, err, sizeof(err));

	cr_assert_not_null(r, "%s", err);
	return r;
}

static void expect_string(const struct rp_item *it, uint32_t id, const char *s)
{
	cr_assert_eq(it->kind, RP_ITEM_STRING);
	cr_assert_eq(it->string.id, id);
	cr_assert_eq(it->string.len, strlen(s));
	cr_assert_str_eq(it->string.bytes, s);
}

static void expect_event(const struct rp_item *it, uint8_t type, uint32_t thread, uint64_t index,
			 const char *kind, const char *arg, uint64_t rel_ns, uint64_t shift)
{
	cr_assert_eq(it->kind, RP_ITEM_EVENT, "kind %d", it->kind);
	cr_assert_eq(it->event.type, type);
	cr_assert_eq(it->event.thread, thread);
	cr_assert_eq(it->event.index, index);
	cr_assert_str_eq(it->event.kind, kind);
	cr_assert_eq(it->event.kind_len, strlen(kind));
	if (arg) {
		cr_assert_str_eq(it->event.arg, arg);
		cr_assert_eq(it->event.arg_len, strlen(arg));
	} else {
		cr_assert_null(it->event.arg);
		cr_assert_eq(it->event.arg_id, 0);
	}
	cr_assert_eq(it->event.ticks, FIX_TICKS(rel_ns));
	cr_assert_eq(it->event.ns, (int64_t)(FIX_MONO0 + rel_ns + shift),
		     "event %llu ns %lld", (unsigned long long)index, (long long)it->event.ns);
	cr_assert_eq(it->event.undefined, 0);
}

static void next_ok(struct rp_reader *r, struct rp_item *it)
{
	int ret = rp_reader_next(r, it);

	cr_assert_eq(ret, 1, "next: %d %s", ret, rp_reader_error(r));
}

static void read_main_segment(bool compress)
{
	struct rp_segwrite w;
	struct rp_item it;
	struct rp_reader *r;
	char *dir = fix_tmpdir(), *path;
	size_t len;

	fix_main_segment(&w, 3, true, compress);
	path = put_segment(dir, "a.rpseg", w.out.data, w.out.len);
	r = open1(path, 0);

	next_ok(r, &it);
	cr_assert_eq(it.kind, RP_ITEM_SEGMENT);
	cr_assert_str_eq(it.path, path);
	cr_assert_eq(it.offset, 16);
	cr_assert_eq(it.segment.version, 1);
	cr_assert_eq(it.segment.file_size, w.out.len);
	cr_assert_eq(it.segment.info.pid, 4242);
	cr_assert_eq(it.segment.info.segment_seq, 3);
	cr_assert_eq(it.segment.info.tick_hz, FIX_HZ);
	cr_assert_str_eq(it.segment.info.name, "rustc");
	cr_assert_str_eq(it.segment.info.session, "build1");
	cr_assert_str_eq(it.segment.info.host, "buildhost");
	cr_assert_eq(it.segment.info.cmdline_len, 28);
	cr_assert_eq(memcmp(it.segment.cmdline, "rustc\0--edition=2021\0main.rs", 28), 0);

	static const char *const names[] = { "Query", "typeck(main)", "QueryCacheHit",
		"ArtifactSize", "main.o", "GenericActivity", "codegen", "worker-1", "type_of(x)" };
	for (uint32_t i = 0; i < 9; i++) {
		next_ok(r, &it);
		expect_string(&it, i + 1, names[i]);
	}
	cr_assert_str_eq(rp_reader_string(r, 9, &len), "type_of(x)");
	cr_assert_eq(len, 10);
	cr_assert_null(rp_reader_string(r, 10, &len));

	for (uint32_t t = 1; t <= 2; t++) {
		next_ok(r, &it);
		cr_assert_eq(it.kind, RP_ITEM_THREAD);
		cr_assert_eq(it.thread.t.thread, t);
		cr_assert_eq(it.thread.t.tid, 554 + t);
		cr_assert_eq(it.thread.t.event, RP_THREAD_START);
		cr_assert_eq(it.thread.ns, (int64_t)FIX_MONO0);
	}
	next_ok(r, &it);
	expect_event(&it, RP_REC_THREAD_NAME, 1, 0, "worker-1", NULL, 0, 0);
	next_ok(r, &it);
	expect_event(&it, RP_REC_BEGIN, 1, 1, "GenericActivity", "codegen", 1000000, 0);
	next_ok(r, &it);
	expect_event(&it, RP_REC_BEGIN, 1, 2, "Query", "typeck(main)", 2000000, 0);
	next_ok(r, &it);
	expect_event(&it, RP_REC_INSTANT, 1, 3, "QueryCacheHit", "type_of(x)", 2500000, 0);
	next_ok(r, &it);
	cr_assert_eq(it.kind, RP_ITEM_CLOCK);
	cr_assert_eq(it.clock.ticks, FIX_TICKS(5000000));
	cr_assert_eq(it.clock.mono_ns, FIX_MONO0 + 5001000);
	/* From here the CLOCK pair converts: 1000 ns later than the header's. */
	next_ok(r, &it);
	expect_event(&it, RP_REC_BEGIN, 1, 4, "Query", "type_of(x)", 3000000, 1000);
	next_ok(r, &it);
	expect_event(&it, RP_REC_END, 1, 5, "Query", "type_of(x)", 4000000, 1000);
	next_ok(r, &it);
	expect_event(&it, RP_REC_END, 1, 6, "Query", "typeck(main)", 6000000, 1000);
	next_ok(r, &it);
	expect_event(&it, RP_REC_INTEGER, 1, 7, "ArtifactSize", "main.o", 7000000, 1000);
	cr_assert_eq(it.event.value, 12345);
	next_ok(r, &it);
	expect_event(&it, RP_REC_END, 1, 8, "GenericActivity", "codegen", 10000000, 1000);
	next_ok(r, &it);
	expect_event(&it, RP_REC_INSTANT, 1, 9, "QueryCacheHit", "typeck(main)", 10500000, 1000);
	next_ok(r, &it);
	expect_event(&it, RP_REC_BEGIN, 2, 0, "Query", "typeck(main)", 1000000, 1000);
	next_ok(r, &it);
	expect_event(&it, RP_REC_END, 2, 1, "Query", "typeck(main)", 1500000, 1000);
	next_ok(r, &it);
	cr_assert_eq(it.kind, RP_ITEM_LOSS);
	cr_assert_eq(it.loss.thread, 1);
	cr_assert_eq(it.loss.written, 10);
	next_ok(r, &it);
	cr_assert_eq(it.loss.thread, 2);
	cr_assert_eq(it.loss.client_dropped, 3);
	cr_assert_eq(it.loss.daemon_dropped, 1);
	next_ok(r, &it);
	cr_assert_eq(it.kind, RP_ITEM_THREAD);
	cr_assert_eq(it.thread.t.event, RP_THREAD_END);
	cr_assert_eq(it.thread.ns, (int64_t)(FIX_MONO0 + 11001000));
	next_ok(r, &it);
	cr_assert_eq(it.kind, RP_ITEM_FOOTER);
	cr_assert_eq(it.footer.footer.blocks, 9);
	cr_assert_eq(it.footer.footer.events, 12);
	cr_assert_eq(it.footer.footer.threads, 2);
	cr_assert_eq(it.footer.footer.end_reason, RP_SEG_END_EXIT);
	cr_assert_eq(it.footer.footer.end_ticks, FIX_TICKS(12000000));
	cr_assert_eq(it.offset, w.out.len - 16 - 64);
	cr_assert_eq(rp_reader_next(r, &it), 0);
	cr_assert_eq(rp_reader_next(r, &it), 0);
	cr_assert_str_eq(rp_reader_error(r), "");

	rp_reader_close(r);
	rp_segwrite_close(&w);
	free(path);
	fix_rmtree(dir);
	free(dir);
}

Test(reader, every_item_of_a_raw_segment_reads_back_exactly)
{
	read_main_segment(false);
}

Test(reader, every_item_of_a_compressed_segment_reads_back_exactly)
{
	read_main_segment(true);
}

Test(reader, directories_are_walked_recursively_in_byte_order)
{
	static const char *const names[] = {
		"b.rpseg", "a/z.rpseg", "a/y/x.rpseg", "A.rpseg", "a/notes.txt", "a/y/.rpseg",
	};
	static const char *const order[] = { "A.rpseg", "a/y/x.rpseg", "a/z.rpseg", "b.rpseg" };
	char *dir = fix_tmpdir(), *sub, *path;
	struct rp_segwrite w;
	struct rp_reader *r;
	struct rp_item it;
	const char *arg;
	char err[256];
	int seq = 0, n;

	cr_assert_gt(asprintf(&sub, "%s/a", dir), 0);
	cr_assert_eq(mkdir(sub, 0755), 0);
	free(sub);
	cr_assert_gt(asprintf(&sub, "%s/a/y", dir), 0);
	cr_assert_eq(mkdir(sub, 0755), 0);
	free(sub);
	for (size_t i = 0; i < 6; i++) {
		fix_main_segment(&w, (uint32_t)i, true, true);
		free(put_segment(dir, names[i], w.out.data, w.out.len));
		rp_segwrite_close(&w);
	}
	arg = dir;
	r = rp_reader_open(&arg, 1, 0, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(rp_reader_file_count(r), 4);
	while ((n = rp_reader_next(r, &it)) == 1) {
		if (it.kind != RP_ITEM_SEGMENT)
			continue;
		cr_assert_lt(seq, 4);
		cr_assert_gt(asprintf(&path, "%s/%s", dir, order[seq]), 0);
		cr_assert_str_eq(it.path, path);
		cr_assert_str_eq(rp_reader_file(r, (size_t)seq), path);
		free(path);
		seq++;
	}
	cr_assert_eq(n, 0, "%s", rp_reader_error(r));
	cr_assert_eq(seq, 4);
	cr_assert_null(rp_reader_file(r, 4));
	rp_reader_close(r);
	fix_rmtree(dir);
	free(dir);
}

Test(reader, a_missing_path_is_refused_at_open)
{
	const char *p = "/nonexistent/ringprof/x.rpseg";
	char err[256];

	cr_assert_null(rp_reader_open(&p, 1, 0, err, sizeof(err)));
	cr_assert_eq(errno, ENOENT);
	cr_assert_str_eq(err, "/nonexistent/ringprof/x.rpseg: No such file or directory");
}

/* Offsets where blocks start and end, and the offset of each full-read item's
 * block, from one strict read of the whole file. */
struct layout {
	uint64_t starts[32], ends[32];
	size_t nblocks;
	uint64_t item_off[64];
	size_t nitems;
	uint64_t trailer;
};

static void layout_of(const struct rp_segwrite *w, struct layout *l)
{
	uint64_t off = 16;

	memset(l, 0, sizeof(*l));
	while (off + 24 <= w->out.len) {
		struct rp_block_hdr h;
		memcpy(&h, w->out.data + off, sizeof(h));
		l->starts[l->nblocks] = off;
		off += 24 + h.stored_len;
		l->ends[l->nblocks++] = off;
		if (h.type == RP_BLK_FOOTER)
			break;
	}
	l->trailer = off;
	cr_assert_eq(off + 16, w->out.len);
}

Test(reader, a_file_cut_at_any_byte_yields_its_whole_blocks_and_names_the_cut)
{
	char *dir = fix_tmpdir(), *path, want[256];
	struct rp_segwrite w;
	struct layout l;
	struct rp_item it;
	struct rp_reader *r;
	uint64_t full_items = 0, item_end[64];
	int ret;

	fix_main_segment(&w, 0, true, true);
	layout_of(&w, &l);
	path = put_segment(dir, "cut.rpseg", w.out.data, w.out.len);
	r = open1(path, 0);
	while ((ret = rp_reader_next(r, &it)) == 1) {
		/* the end of the block each item comes from */
		for (size_t b = 0; b < l.nblocks; b++)
			if (l.starts[b] == it.offset)
				item_end[full_items] = it.kind == RP_ITEM_FOOTER ? w.out.len : l.ends[b];
		full_items++;
	}
	cr_assert_eq(ret, 0);
	cr_assert_eq(full_items, 1 + 9 + 2 + 12 + 1 + 2 + 1 + 1);
	rp_reader_close(r);

	for (uint64_t k = 0; k < w.out.len; k++) {
		uint64_t items = 0, want_items = 0, cut = 0, blocks = 0;
		bool unsealed = false;

		fix_write_file(path, w.out.data, k);
		for (size_t i = 0; i < full_items; i++)
			want_items += item_end[i] <= k;
		if (k < 16) {
			snprintf(want, sizeof(want), "%s: truncated preamble at offset 0 (file ends at %llu)",
				 path, (unsigned long long)k);
		} else if (k >= l.trailer) {
			cut = l.trailer;
			snprintf(want, sizeof(want), "%s: truncated trailer at offset %llu (file ends at %llu)",
				 path, (unsigned long long)l.trailer, (unsigned long long)k);
		} else {
			for (size_t b = 0; b < l.nblocks; b++)
				if (l.starts[b] <= k && k < l.ends[b])
					cut = l.starts[b];
			for (size_t b = 0; b < l.nblocks; b++)
				blocks += l.ends[b] <= k;
			unsealed = cut == k && k > 16;
			if (unsealed)
				snprintf(want, sizeof(want), "%s: not sealed (no footer), file ends at offset %llu",
					 path, (unsigned long long)k);
			else
				snprintf(want, sizeof(want), "%s: truncated block at offset %llu (file ends at %llu)",
					 path, (unsigned long long)cut, (unsigned long long)k);
		}
		/* strict: every whole block's items, then the error */
		r = open1(path, 0);
		while ((ret = rp_reader_next(r, &it)) == 1)
			items++;
		cr_assert_eq(ret, -EBADMSG, "cut at %llu", (unsigned long long)k);
		cr_assert_str_eq(rp_reader_error(r), want);
		cr_assert_eq(items, want_items, "cut at %llu: %llu items", (unsigned long long)k,
			     (unsigned long long)items);
		rp_reader_close(r);
		/* recover: the same items, then a TRUNCATED item, then the end */
		r = open1(path, RP_READER_RECOVER);
		items = 0;
		while ((ret = rp_reader_next(r, &it)) == 1 && it.kind != RP_ITEM_TRUNCATED)
			items++;
		cr_assert_eq(ret, 1);
		cr_assert_eq(items, want_items);
		cr_assert_str_eq(it.truncated.message, want);
		cr_assert_eq(it.truncated.offset, cut);
		cr_assert_eq(it.truncated.file_size, k);
		cr_assert_eq(it.truncated.unsealed, unsealed);
		if (k >= 16 && k < l.trailer)
			cr_assert_eq(it.truncated.blocks, blocks);
		cr_assert_eq(rp_reader_next(r, &it), 0);
		rp_reader_close(r);
	}
	rp_segwrite_close(&w);
	free(path);
	fix_rmtree(dir);
	free(dir);
}

Test(reader, a_corrupted_byte_is_a_crc_error_at_its_block)
{
	char *dir = fix_tmpdir(), *path, want[256];
	struct rp_segwrite w;
	struct layout l;
	struct rp_item it;
	struct rp_reader *r;
	int ret;

	fix_main_segment(&w, 0, true, true);
	layout_of(&w, &l);
	/* a payload byte of the second EVENTS block (block 5) */
	w.out.data[l.starts[5] + 30] ^= 0x40;
	path = put_segment(dir, "crc.rpseg", w.out.data, w.out.len);
	r = open1(path, 0);
	while ((ret = rp_reader_next(r, &it)) == 1)
		cr_assert_lt(it.offset, l.starts[5]);
	cr_assert_eq(ret, -EBADMSG);
	snprintf(want, sizeof(want), "%s: offset %llu: block CRC mismatch", path,
		 (unsigned long long)l.starts[5]);
	cr_assert_str_eq(rp_reader_error(r), want);
	rp_reader_close(r);
	rp_segwrite_close(&w);
	free(path);
	fix_rmtree(dir);
	free(dir);
}

Test(reader, every_flipped_byte_is_refused_with_its_offset)
{
	char *dir = fix_tmpdir(), *path, want[64];
	struct rp_segwrite w;
	struct layout l;
	struct rp_item it;
	struct rp_reader *r;
	int ret;

	fix_main_segment(&w, 0, true, false);
	layout_of(&w, &l);
	cr_asprintf(&path, "%s/flip.rpseg", dir);
	for (uint64_t k = 0; k < w.out.len; k++) {
		uint64_t unit = 0;

		w.out.data[k] ^= 0x01;
		fix_write_file(path, w.out.data, w.out.len);
		w.out.data[k] ^= 0x01;
		r = open1(path, 0);
		while ((ret = rp_reader_next(r, &it)) == 1)
			;
		cr_assert_eq(ret, -EBADMSG, "flip at %llu read fine", (unsigned long long)k);
		if (k >= 16) {
			unit = l.trailer;
			for (size_t b = 0; b < l.nblocks; b++)
				if (l.starts[b] <= k && k < l.ends[b])
					unit = l.starts[b];
			snprintf(want, sizeof(want), "offset %llu", (unsigned long long)unit);
			cr_assert_not_null(strstr(rp_reader_error(r), want), "flip at %llu: %s",
					   (unsigned long long)k, rp_reader_error(r));
		}
		rp_reader_close(r);
	}
	rp_segwrite_close(&w);
	free(path);
	fix_rmtree(dir);
	free(dir);
}

Test(reader, an_unknown_version_is_refused_and_never_read)
{
	char *dir = fix_tmpdir(), *bad, *good, want[256];
	const char *paths[2];
	struct rp_segwrite w;
	struct rp_item it;
	struct rp_reader *r;
	char err[256];

	fix_main_segment(&w, 0, true, true);
	good = put_segment(dir, "b.rpseg", w.out.data, w.out.len);
	w.out.data[8] = 7;
	bad = put_segment(dir, "a.rpseg", w.out.data, w.out.len);
	snprintf(want, sizeof(want), "%s: offset 8: unknown segment version 7 (this reader knows 1 to 2)", bad);

	r = open1(bad, 0);
	cr_assert_eq(rp_reader_next(r, &it), -EBADMSG);
	cr_assert_str_eq(rp_reader_error(r), want);
	cr_assert_eq(rp_reader_next(r, &it), -EBADMSG, "the failure sticks");
	rp_reader_close(r);

	paths[0] = bad;
	paths[1] = good;
	r = rp_reader_open(paths, 2, RP_READER_RECOVER, err, sizeof(err));
	cr_assert_not_null(r);
	cr_assert_eq(rp_reader_next(r, &it), 1);
	cr_assert_eq(it.kind, RP_ITEM_TRUNCATED, "nothing of the bad file is read");
	cr_assert_str_eq(it.truncated.message, want);
	cr_assert_eq(it.truncated.blocks, 0);
	cr_assert_eq(rp_reader_next(r, &it), 1);
	cr_assert_eq(it.kind, RP_ITEM_SEGMENT);
	cr_assert_str_eq(it.path, good);
	rp_reader_close(r);
	rp_segwrite_close(&w);
	free(bad);
	free(good);
	fix_rmtree(dir);
	free(dir);
}

Test(reader, an_undefined_string_is_an_error_or_a_counted_placeholder)
{
	static const struct rp_segenc_string s[] = { { 1, 5, "Query" } };
	static const struct rp_event ev[] = {
		{ .type = RP_REC_BEGIN, .id = 1, .arg = 42, .ts = 5 },
		{ .type = RP_REC_END, .id = 43, .arg = 0, .ts = 6 },
	};
	char *dir = fix_tmpdir(), *path, want[256];
	struct rp_seg_info in = { .tick_hz = 1000000000, .clock_source = RP_CLOCK_MONOTONIC };
	struct rp_segwrite w;
	struct rp_item it;
	struct rp_reader *r;
	uint64_t ev_off;

	cr_assert_eq(rp_segwrite_open(&w, -1, 1, false, &in, "", 0), 0);
	cr_assert_eq(rp_segwrite_strings(&w, s, 1), 0);
	ev_off = w.out.len;
	cr_assert_eq(rp_segwrite_events(&w, 1, 0, 0, ev, 2), 0);
	cr_assert_eq(rp_segwrite_seal(&w, RP_SEG_END_EXIT, 7), 0);
	path = put_segment(dir, "u.rpseg", w.out.data, w.out.len);

	r = open1(path, 0);
	cr_assert_eq(rp_reader_next(r, &it), 1);
	cr_assert_eq(rp_reader_next(r, &it), 1);
	cr_assert_eq(it.kind, RP_ITEM_STRING);
	cr_assert_eq(rp_reader_next(r, &it), -EBADMSG, "no event of the block is delivered");
	snprintf(want, sizeof(want), "%s: offset %llu: event uses undefined string 42", path,
		 (unsigned long long)ev_off);
	cr_assert_str_eq(rp_reader_error(r), want);
	rp_reader_close(r);

	r = open1(path, RP_READER_RECOVER);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(rp_reader_next(r, &it), 1);
	cr_assert_eq(rp_reader_next(r, &it), 1);
	cr_assert_str_eq(it.event.kind, "Query");
	cr_assert_str_eq(it.event.arg, "<undefined string 42>");
	cr_assert_eq(it.event.arg_len, strlen("<undefined string 42>"));
	cr_assert_eq(it.event.undefined, RP_EVENT_ARG_UNDEFINED);
	cr_assert_eq(rp_reader_next(r, &it), 1);
	cr_assert_str_eq(it.event.kind, "<undefined string 43>");
	cr_assert_eq(it.event.undefined, RP_EVENT_KIND_UNDEFINED);
	cr_assert_eq(rp_reader_next(r, &it), 1);
	cr_assert_eq(it.kind, RP_ITEM_FOOTER);
	cr_assert_eq(it.footer.undefined, 2);
	cr_assert_eq(rp_reader_next(r, &it), 0);
	rp_reader_close(r);
	rp_segwrite_close(&w);
	free(path);
	fix_rmtree(dir);
	free(dir);
}

Test(reader, strings_are_reset_at_each_segment)
{
	static const struct rp_segenc_string s[] = { { 1, 5, "Query" } };
	static const struct rp_event ev[] = { { .type = RP_REC_INSTANT, .id = 1, .ts = 5 } };
	char *dir = fix_tmpdir(), *a, *b, want[256];
	const char *paths[2];
	struct rp_seg_info in = { .tick_hz = 1000000000 };
	struct rp_segwrite w;
	struct rp_item it;
	struct rp_reader *r;
	char err[256];
	int ret;

	cr_assert_eq(rp_segwrite_open(&w, -1, 1, false, &in, "", 0), 0);
	cr_assert_eq(rp_segwrite_strings(&w, s, 1), 0);
	cr_assert_eq(rp_segwrite_seal(&w, RP_SEG_END_ROTATE, 7), 0);
	a = put_segment(dir, "a.rpseg", w.out.data, w.out.len);
	rp_segwrite_close(&w);
	/* the next segment uses id 1 without defining it */
	cr_assert_eq(rp_segwrite_open(&w, -1, 1, false, &in, "", 0), 0);
	cr_assert_eq(rp_segwrite_events(&w, 1, 0, 0, ev, 1), 0);
	cr_assert_eq(rp_segwrite_seal(&w, RP_SEG_END_EXIT, 7), 0);
	b = put_segment(dir, "b.rpseg", w.out.data, w.out.len);
	paths[0] = a;
	paths[1] = b;
	r = rp_reader_open(paths, 2, 0, err, sizeof(err));
	cr_assert_not_null(r);
	while ((ret = rp_reader_next(r, &it)) == 1)
		;
	cr_assert_eq(ret, -EBADMSG);
	snprintf(want, sizeof(want), "%s: offset 336: event uses undefined string 1", b);
	cr_assert_str_eq(rp_reader_error(r), want);
	rp_reader_close(r);
	rp_segwrite_close(&w);
	free(a);
	free(b);
	fix_rmtree(dir);
	free(dir);
}

Test(reader, an_unsealed_segment_is_an_error_unless_allowed)
{
	char *dir = fix_tmpdir(), *path, want[256];
	struct rp_segwrite w;
	struct rp_item it;
	struct rp_reader *r;
	int ret, items = 0;

	fix_main_segment(&w, 0, false, true);
	path = put_segment(dir, "open.rpseg", w.out.data, w.out.len);
	snprintf(want, sizeof(want), "%s: not sealed (no footer), file ends at offset %zu", path,
		 w.out.len);
	r = open1(path, 0);
	while ((ret = rp_reader_next(r, &it)) == 1)
		items++;
	cr_assert_eq(ret, -EBADMSG);
	cr_assert_eq(items, 1 + 9 + 2 + 12 + 1 + 2 + 1);
	cr_assert_str_eq(rp_reader_error(r), want);
	rp_reader_close(r);

	r = open1(path, RP_READER_ALLOW_UNSEALED);
	items = 0;
	while ((ret = rp_reader_next(r, &it)) == 1 && it.kind != RP_ITEM_TRUNCATED)
		items++;
	cr_assert_eq(ret, 1);
	cr_assert_eq(items, 1 + 9 + 2 + 12 + 1 + 2 + 1);
	cr_assert(it.truncated.unsealed);
	cr_assert_eq(it.truncated.blocks, 9);
	cr_assert_eq(it.truncated.events, 12);
	cr_assert_str_eq(it.truncated.message, want);
	cr_assert_eq(rp_reader_next(r, &it), 0);
	rp_reader_close(r);
	rp_segwrite_close(&w);
	free(path);
	fix_rmtree(dir);
	free(dir);
}

Test(reader, a_footer_that_miscounts_is_refused)
{
	char *dir = fix_tmpdir(), *path, want[300];
	struct rp_segwrite w;
	struct rp_item it;
	struct rp_reader *r;
	uint64_t foot;
	int ret;

	fix_main_segment(&w, 0, false, false);
	foot = w.out.len;
	w.events++;  /* the builder's count now lies */
	cr_assert_eq(rp_segwrite_seal(&w, RP_SEG_END_EXIT, 1), 0);
	path = put_segment(dir, "f.rpseg", w.out.data, w.out.len);
	r = open1(path, 0);
	while ((ret = rp_reader_next(r, &it)) == 1)
		cr_assert_neq(it.kind, RP_ITEM_FOOTER);
	cr_assert_eq(ret, -EBADMSG);
	snprintf(want, sizeof(want), "%s: offset %llu: footer counts 9 blocks, 13 events, %llu raw bytes; "
		 "the segment has 9, 12, %llu", path, (unsigned long long)foot,
		 (unsigned long long)w.raw_bytes, (unsigned long long)w.raw_bytes);
	cr_assert_str_eq(rp_reader_error(r), want);
	rp_reader_close(r);
	rp_segwrite_close(&w);
	free(path);
	fix_rmtree(dir);
	free(dir);
}
