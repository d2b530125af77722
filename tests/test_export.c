/*
 * test_export - `ringprof chrome`, `folded` and `stat` on fixed segments:
 * output compared byte for byte with text worked out by hand, the chrome
 * output checked against the Trace Event Format rules by
 * export_check_chrome.py (itself shown to catch broken files), errors,
 * usage and the progress line.
 *
 * Fixture times (test_cli_fixture.h, test_export_fixture.h) are offsets from
 * CLOCK_MONOTONIC 5 s, so an event at 1 ms shows as ts 5001000.000 (us); in
 * main.rpseg everything after its CLOCK block runs 1000 ns later.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "test_cli_fixture.h"
#include "test_export_fixture.h"

static char *dir;

static void put(const char *path, struct rp_segwrite *w)
{
	fix_write_file(path, w->out.data, w->out.len);
	rp_segwrite_close(w);
}

static void setup(void)
{
	struct rp_segwrite w;
	static const char junk[] = "this is not a ringprof segment\n";

	dir = fix_tmpdir();
	cr_assert_eq(chdir(dir), 0);
	fix_main_segment(&w, 0, true, false);
	fix_write_file("cut.rpseg", w.out.data, 700);
	put("main.rpseg", &w);
	fix_unbalanced_segment(&w);
	put("unb.rpseg", &w);
	cr_assert_eq(mkdir("nest", 0755), 0);
	xfix_cc_first(&w, true);
	put("nest/a0.rpseg", &w);
	xfix_cc_second(&w, true);
	put("nest/a1.rpseg", &w);
	xfix_ld(&w, true);
	put("nest/b.rpseg", &w);
	cr_assert_eq(mkdir("raw", 0755), 0);
	xfix_cc_first(&w, false);
	put("raw/a0.rpseg", &w);
	xfix_cc_second(&w, false);
	put("raw/a1.rpseg", &w);
	xfix_ld(&w, false);
	put("raw/b.rpseg", &w);
	xfix_escape(&w, false);
	put("esc.rpseg", &w);
	fix_write_file("junk.rpseg", junk, sizeof(junk) - 1);
}

static void teardown(void)
{
	cr_assert_eq(chdir("/"), 0);
	fix_rmtree(dir);
	free(dir);
}

TestSuite(export, .init = setup, .fini = teardown, .timeout = 60);


/* Run the checker on path: its exit status, its output in *out. */
static int check_chrome(const char *path, bool overlap, char **out)
{
	struct fix_run r;

	if (overlap)
		fix_run(&r, RINGPROF_PYTHON, NULL,
			 FIX_ARGS(RINGPROF_SOURCE_DIR "/tests/export_check_chrome.py", "--overlap", path));
	else
		fix_run(&r, RINGPROF_PYTHON, NULL,
			 FIX_ARGS(RINGPROF_SOURCE_DIR "/tests/export_check_chrome.py", path));
	cr_assert_str_eq(r.err, "");
	free(r.err);
	*out = r.out;
	return r.status;
}

static const char main_json[] =
	"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
	"{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":4242,\"tid\":0,"
	"\"args\":{\"name\":\"rustc\"}},\n"
	"{\"name\":\"type_of(x)\",\"cat\":\"QueryCacheHit\",\"ph\":\"i\",\"s\":\"t\","
	"\"ts\":5002500.000,\"pid\":4242,\"tid\":1,\"args\":{\"arg\":\"type_of(x)\"}},\n"
	"{\"name\":\"type_of(x)\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5003001.000,"
	"\"dur\":1000.000,\"pid\":4242,\"tid\":1,\"args\":{\"arg\":\"type_of(x)\"}},\n"
	"{\"name\":\"typeck(main)\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5002000.000,"
	"\"dur\":4001.000,\"pid\":4242,\"tid\":1,\"args\":{\"arg\":\"typeck(main)\"}},\n"
	"{\"name\":\"ArtifactSize\",\"cat\":\"ArtifactSize\",\"ph\":\"C\",\"ts\":5007001.000,"
	"\"pid\":4242,\"tid\":1,\"args\":{\"main.o\":12345}},\n"
	"{\"name\":\"codegen\",\"cat\":\"GenericActivity\",\"ph\":\"X\",\"ts\":5001000.000,"
	"\"dur\":9001.000,\"pid\":4242,\"tid\":1,\"args\":{\"arg\":\"codegen\"}},\n"
	"{\"name\":\"typeck(main)\",\"cat\":\"QueryCacheHit\",\"ph\":\"i\",\"s\":\"t\","
	"\"ts\":5010501.000,\"pid\":4242,\"tid\":1,\"args\":{\"arg\":\"typeck(main)\"}},\n"
	"{\"name\":\"typeck(main)\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5001001.000,"
	"\"dur\":500.000,\"pid\":4242,\"tid\":2,\"args\":{\"arg\":\"typeck(main)\"}},\n"
	"{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":4242,\"tid\":1,"
	"\"args\":{\"name\":\"worker-1 (tid 555)\"}},\n"
	"{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":4242,\"tid\":2,"
	"\"args\":{\"name\":\"thread 2 (tid 556)\"}}\n"
	"]}\n";

Test(export, chrome_writes_complete_instant_counter_and_metadata_events)
{
	char *out;

	fix_expect(FIX_ARGS("chrome", "main.rpseg"), 0, main_json, "");
	fix_expect(FIX_ARGS("chrome", "-o", "main.json", "main.rpseg"), 0, "", "");
	out = fix_slurp("main.json");
	cr_assert_str_eq(out, main_json);
	free(out);
	cr_assert_eq(check_chrome("main.json", false, &out), 0, "%s", out);
	cr_assert_str_eq(out, "ok: 10 events\n");
	free(out);
}

Test(export, chrome_keeps_open_intervals_and_counts_unmatched_ends)
{
	fix_expect(FIX_ARGS("chrome", "unb.rpseg"), 0,
	       "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
	       "{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":77,\"tid\":0,"
	       "\"args\":{\"name\":\"cc1\"}},\n"
	       "{\"name\":\"a\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5001000.000,"
	       "\"dur\":4000.000,\"pid\":77,\"tid\":1,\"args\":{\"arg\":\"a\"}},\n"
	       "{\"name\":\"b\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5002000.000,"
	       "\"dur\":4000.000,\"pid\":77,\"tid\":1,\"args\":{\"arg\":\"b\"}},\n"
	       "{\"name\":\"c\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5007000.000,"
	       "\"dur\":0.000,\"pid\":77,\"tid\":1,\"args\":{\"arg\":\"c\",\"open\":true}},\n"
	       "{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":77,\"tid\":1,"
	       "\"args\":{\"name\":\"thread 1\"}}\n"
	       "]}\n",
	       "ringprof chrome: warning: 1 END without BEGIN, 1 interval closed out of order,"
	       " 1 interval still open at the end (written with \"open\": true)\n");
}

Test(export, chrome_follows_intervals_across_segments_and_processes)
{
	char *out;

	fix_expect(FIX_ARGS("chrome", "--kinds", "Query", "-o", "nest.json", "nest"), 0, "", "");
	out = fix_slurp("nest.json");
	cr_assert_str_eq(out,
		"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
		"{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":100,\"tid\":0,"
		"\"args\":{\"name\":\"cc\"}},\n"
		"{\"name\":\"C(x)\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5000020.000,"
		"\"dur\":10.000,\"pid\":100,\"tid\":1,\"args\":{\"arg\":\"C(x)\"}},\n"
		"{\"name\":\"f(3)\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5000220.000,"
		"\"dur\":10.000,\"pid\":100,\"tid\":1,\"args\":{\"arg\":\"f(3)\"}},\n"
		"{\"name\":\"f(2)\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5000210.000,"
		"\"dur\":80.000,\"pid\":100,\"tid\":1,\"args\":{\"arg\":\"f(2)\"}},\n"
		"{\"name\":\"f(1)\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5000200.000,"
		"\"dur\":100.000,\"pid\":100,\"tid\":1,\"args\":{\"arg\":\"f(1)\"}},\n"
		"{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":101,\"tid\":0,"
		"\"args\":{\"name\":\"ld\"}},\n"
		"{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":100,\"tid\":1,"
		"\"args\":{\"name\":\"thread 1 (tid 1001)\"}},\n"
		"{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":100,\"tid\":2,"
		"\"args\":{\"name\":\"thread 2 (tid 1002)\"}},\n"
		"{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":101,\"tid\":1,"
		"\"args\":{\"name\":\"linker\"}}\n"
		"]}\n");
	free(out);
}

Test(export, chrome_escapes_strings_as_valid_json)
{
	char *out;

	fix_expect(FIX_ARGS("chrome", "-o", "esc.json", "esc.rpseg"), 0, "", "");
	out = fix_slurp("esc.json");
	cr_assert_str_eq(out,
		"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
		"{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":300,\"tid\":0,"
		"\"args\":{\"name\":\"we\\\"ird\\u0001\"}},\n"
		"{\"name\":\"caf\xc3\xa9 \\u00ff;\\u00ed\\u00a0\\u0080\",\"cat\":\"Query\",\"ph\":\"i\","
		"\"s\":\"t\",\"ts\":5000001.000,\"pid\":300,\"tid\":1,"
		"\"args\":{\"arg\":\"caf\xc3\xa9 \\u00ff;\\u00ed\\u00a0\\u0080\"}},\n"
		"{\"name\":\"Size\\n\",\"cat\":\"Size\\n\",\"ph\":\"C\",\"ts\":5000001.500,"
		"\"pid\":300,\"tid\":1,\"args\":{\"value\":7}},\n"
		"{\"name\":\"q\\\"uote\\\\back\\tslash\\u0001\\u007f\",\"cat\":\"Query\",\"ph\":\"X\","
		"\"ts\":5000000.000,\"dur\":2.000,\"pid\":300,\"tid\":1,"
		"\"args\":{\"arg\":\"q\\\"uote\\\\back\\tslash\\u0001\\u007f\"}},\n"
		"{\"name\":\"caf\xc3\xa9 \\u00ff;\\u00ed\\u00a0\\u0080\",\"cat\":\"Query\",\"ph\":\"X\","
		"\"ts\":5000003.000,\"dur\":0.500,\"pid\":300,\"tid\":1,"
		"\"args\":{\"arg\":\"caf\xc3\xa9 \\u00ff;\\u00ed\\u00a0\\u0080\"}},\n"
		"{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":300,\"tid\":1,"
		"\"args\":{\"name\":\"t\\\"1\\n\xe2\x82\xac\"}}\n"
		"]}\n");
	free(out);
	cr_assert_eq(check_chrome("esc.json", false, &out), 0, "%s", out);
	cr_assert_str_eq(out, "ok: 6 events\n");
	free(out);
}

Test(export, chrome_leaves_out_short_intervals_and_other_kinds)
{
	fix_expect(FIX_ARGS("chrome", "--min-duration", "4000000", "--kinds", "Query,GenericActivity",
		    "main.rpseg"), 0,
	       "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
	       "{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":4242,\"tid\":0,"
	       "\"args\":{\"name\":\"rustc\"}},\n"
	       "{\"name\":\"typeck(main)\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5002000.000,"
	       "\"dur\":4001.000,\"pid\":4242,\"tid\":1,\"args\":{\"arg\":\"typeck(main)\"}},\n"
	       "{\"name\":\"codegen\",\"cat\":\"GenericActivity\",\"ph\":\"X\",\"ts\":5001000.000,"
	       "\"dur\":9001.000,\"pid\":4242,\"tid\":1,\"args\":{\"arg\":\"codegen\"}},\n"
	       "{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":4242,\"tid\":1,"
	       "\"args\":{\"name\":\"worker-1 (tid 555)\"}},\n"
	       "{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":4242,\"tid\":2,"
	       "\"args\":{\"name\":\"thread 2 (tid 556)\"}}\n"
	       "]}\n", "");
}

Test(export, chrome_output_of_every_fixture_passes_the_format_checker)
{
	static const char *const inputs[] = { "main.rpseg", "unb.rpseg", "nest", "esc.rpseg" };
	static const char *const oks[] = {
		"ok: 10 events\n", "ok: 5 events\n", "ok: 17 events\n", "ok: 6 events\n",
	};
	char *out;

	for (size_t i = 0; i < 4; i++) {
		struct fix_run r;

		fix_run(&r, NULL, NULL, FIX_ARGS("chrome", "-o", "t.json", inputs[i]));
		cr_assert_eq(r.status, 0, "%s: %s", inputs[i], r.err);
		free(r.out);
		free(r.err);
		/* unb and nest hold intervals closed out of order: they overlap */
		cr_assert_eq(check_chrome("t.json", i == 1 || i == 2, &out), 0, "%s: %s",
			     inputs[i], out);
		cr_assert_str_eq(out, oks[i], "%s", inputs[i]);
		free(out);
	}
}

/* A JSON document for the checker, written to bad.json. */
static void checker_refuses(const char *doc, const char *why)
{
	char *out;

	fix_write_file("bad.json", doc, strlen(doc));
	cr_assert_eq(check_chrome("bad.json", false, &out), 1, "%s", doc);
	cr_assert_str_eq(out, why);
	free(out);
}

#define PN "{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":1,\"tid\":0,\"args\":{\"name\":\"p\"}}"
#define TN "{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":1,\"tid\":2,\"args\":{\"name\":\"t\"}}"

Test(export, the_format_checker_catches_broken_traces)
{
	char *out;

	checker_refuses("{\"traceEvents\":[" PN "," TN ",{\"name\":\"a\",\"ph\":\"X\",\"ts\":NaN,"
			"\"dur\":1,\"pid\":1,\"tid\":2}]}", "error: not JSON: constant NaN\n");
	checker_refuses("{\"traceEvents\":[\"\xff\"]}",
			"error: not UTF-8: 'utf-8' codec can't decode byte 0xff in position 17:"
			" invalid start byte\n");
	checker_refuses("{\"traceEvents\":[" PN ",{\"name\":\"a\",\"ph\":\"X\",\"ts\":1,"
			"\"pid\":1,\"tid\":2,\"dur\":-1}]}",
			"error: event {'name': 'a', 'ph': 'X', 'ts': 1, 'pid': 1, 'tid': 2, 'dur': -1}:"
			" negative dur\n");
	checker_refuses("{\"traceEvents\":[" PN ",{\"name\":\"a\",\"ph\":\"i\",\"s\":\"t\","
			"\"ts\":1,\"pid\":1,\"tid\":2}]}", "error: pid 1 tid 2 has no thread_name\n");
	checker_refuses("{\"traceEvents\":[" TN ",{\"name\":\"a\",\"ph\":\"X\",\"ts\":1,"
			"\"dur\":1,\"pid\":1,\"tid\":2}]}", "error: pid 1 has no process_name\n");
	checker_refuses("{\"traceEvents\":[{\"name\":\"a\",\"ph\":\"X\",\"dur\":1,\"pid\":1,"
			"\"tid\":2}]}",
			"error: event {'name': 'a', 'ph': 'X', 'dur': 1, 'pid': 1, 'tid': 2}: no ts\n");
	checker_refuses("{\"traceEvents\":[" PN "," TN ",{\"name\":\"a\",\"ph\":\"X\",\"ts\":1,"
			"\"dur\":5,\"pid\":1,\"tid\":2},{\"name\":\"b\",\"ph\":\"X\",\"ts\":2,"
			"\"dur\":5,\"pid\":1,\"tid\":2}]}",
			"error: pid 1 tid 2: 'b' overlaps 'a' without nesting\n");
	checker_refuses("{\"traceEvents\":[" PN "," TN ",{\"name\":\"a\",\"ph\":\"X\",\"ts\":1,"
			"\"dur\":1,\"pid\":1,\"tid\":2}", "error: not JSON: Expecting ',' delimiter:"
			" line 1 column 220 (char 219)\n");
	/* and the overlap the exporter writes for intervals closed out of order */
	fix_expect(FIX_ARGS("chrome", "-o", "t.json", "nest/b.rpseg"), 0, "",
	       "ringprof chrome: warning: 1 END without BEGIN, 1 interval closed out of order,"
	       " 1 interval still open at the end (written with \"open\": true)\n");
	cr_assert_eq(check_chrome("t.json", false, &out), 1);
	cr_assert_str_eq(out, "error: pid 101 tid 1: 'lto(main)' overlaps 'link' without nesting\n");
	free(out);
}

Test(export, folded_prints_self_time_per_stack_by_hand)
{
	/* main.rpseg: codegen 1..10.001 ms holds typeck 2..6.001 holding
	 * type_of 3.001..4.001 (thread 1); typeck 1.001..1.501 (thread 2). */
	fix_expect(FIX_ARGS("folded", "main.rpseg"), 0,
	       "codegen 5000000\n"
	       "codegen;typeck 3001000\n"
	       "codegen;typeck;type_of 1000000\n"
	       "typeck 500000\n", "");
}

Test(export, folded_merges_threads_recursion_and_segments)
{
	/* A: thread 1 100 - (30 + 20), thread 2 40 - 20 us; A;B: 20 + 20 + 20;
	 * A;B;C: 10.  f(1) 100 - 80, f(2) 80 - 10 (across the rotation), f(3)
	 * 10.  ld: link 500 (lto still open when it closed), lto open from 300
	 * to the thread's last event at 600. */
	fix_expect(FIX_ARGS("folded", "nest"), 0,
	       "A 70000\n"
	       "A;B 60000\n"
	       "A;B;C 10000\n"
	       "f 20000\n"
	       "f;f 70000\n"
	       "f;f;f 10000\n"
	       "link 500000\n"
	       "link;lto 300000\n",
	       "ringprof folded: warning: 1 END without BEGIN, 1 interval closed out of order,"
	       " 1 interval still open at the end (closed at the thread's last event)\n");
	fix_expect(FIX_ARGS("folded", "--by-process", "nest", "unb.rpseg"), 0,
	       "cc1;a 4000000\n"
	       "cc1;a;b 4000000\n"
	       "cc;A 70000\n"
	       "cc;A;B 60000\n"
	       "cc;A;B;C 10000\n"
	       "cc;f 20000\n"
	       "cc;f;f 70000\n"
	       "cc;f;f;f 10000\n"
	       "ld;link 500000\n"
	       "ld;link;lto 300000\n",
	       "ringprof folded: warning: 2 ENDs without BEGIN, 2 intervals closed out of order,"
	       " 2 intervals still open at the end (closed at the thread's last event)\n");
}

Test(export, folded_cleans_frames)
{
	fix_expect(FIX_ARGS("folded", "esc.rpseg"), 0,
	       "caf\xc3\xa9 ?:??? 500\n"
	       "q\"uote\\back?slash?? 2000\n", "");
}

Test(export, stat_counts_what_a_segment_holds)
{
	/* 1107 bytes, 12 events, 9 blocks + FOOTER, raw 795 bytes */
	fix_expect(FIX_ARGS("stat", "main.rpseg"), 0,
	       "segments:          1 (1 sealed, 0 unsealed, 0 damaged)\n"
	       "processes:         1\n"
	       "threads:           2\n"
	       "events:            12\n"
	       "blocks:            10\n"
	       "bytes on disk:     1107\n"
	       "bytes per event:   92.25\n"
	       "raw bytes:         795 (in 1 sealed segments of 1107 bytes)\n"
	       "compression ratio: 0.72\n"
	       "dropped:           4 (3 by clients, 1 by the daemon)\n"
	       "time span:         9.501000 ms (first to last event)\n", "");
	fix_expect(FIX_ARGS("stat", "--json", "main.rpseg"), 0,
	       "{\"segments\":1,\"sealed\":1,\"unsealed\":0,\"damaged\":0,\"processes\":1,"
	       "\"threads\":2,\"events\":12,\"blocks\":10,\"bytes\":1107,\"bytes_per_event\":92.25,"
	       "\"raw_bytes\":795,\"sealed_bytes\":1107,\"compression_ratio\":0.72,"
	       "\"dropped\":{\"client\":3,\"daemon\":1},\"first_ns\":5001000000,"
	       "\"last_ns\":5010501000,\"span_ns\":9501000}\n", "");
}

Test(export, stat_sums_segments_processes_and_losses)
{
	/* raw/: the segments of nest/ stored without zstd.  Blocks: 5 + FOOTER,
	 * 4 + FOOTER, 3 unsealed; events 14 + 4 + 6; dropped: thread 2 (5) and
	 * the process-wide count (2) of cc; bytes a0 + a1 + b = 784 + 687 + 529;
	 * raw bytes (payloads) 302 + 90 + 48 + 82 + 46 and 302 + 49 + 48 + 96. */
	fix_expect(FIX_ARGS("stat", "raw"), 0,
	       "segments:          3 (2 sealed, 1 unsealed, 0 damaged)\n"
	       "processes:         2\n"
	       "threads:           3\n"
	       "events:            24\n"
	       "blocks:            14\n"
	       "bytes on disk:     2000\n"
	       "bytes per event:   83.33\n"
	       "raw bytes:         1063 (in 2 sealed segments of 1471 bytes)\n"
	       "compression ratio: 0.72\n"
	       "dropped:           7 (7 by clients, 0 by the daemon)\n"
	       "time span:         0.600000 ms (first to last event)\n", "");
	fix_expect(FIX_ARGS("stat", "--json", "raw/b.rpseg"), 0,
	       "{\"segments\":1,\"sealed\":0,\"unsealed\":1,\"damaged\":0,\"processes\":1,"
	       "\"threads\":1,\"events\":6,\"blocks\":3,\"bytes\":529,\"bytes_per_event\":88.17,"
	       "\"raw_bytes\":0,\"sealed_bytes\":0,\"compression_ratio\":null,"
	       "\"dropped\":{\"client\":0,\"daemon\":0},\"first_ns\":5000000000,"
	       "\"last_ns\":5000600000,\"span_ns\":600000}\n", "");
}

Test(export, stat_of_a_damaged_file)
{
	fix_expect(FIX_ARGS("stat", "cut.rpseg"), 1, "",
	       "ringprof: cut.rpseg: truncated block at offset 692 (file ends at 700)\n");
	/* HEADER, STRINGS, THREADS and 4 events of thread 1 before the cut */
	fix_expect(FIX_ARGS("stat", "--recover", "cut.rpseg"), 1,
	       "segments:          1 (0 sealed, 0 unsealed, 1 damaged)\n"
	       "processes:         1\n"
	       "threads:           2\n"
	       "events:            4\n"
	       "blocks:            4\n"
	       "bytes on disk:     700\n"
	       "bytes per event:   175.00\n"
	       "raw bytes:         0 (in 0 sealed segments of 0 bytes)\n"
	       "compression ratio: -\n"
	       "dropped:           0 (0 by clients, 0 by the daemon)\n"
	       "time span:         1.500000 ms (first to last event)\n",
	       "ringprof: cut.rpseg: truncated block at offset 692 (file ends at 700);"
	       " 4 whole blocks read\n");
}

Test(export, a_bad_file_is_one_line_naming_file_and_offset)
{
	static const char *const cmds[] = { "chrome", "folded", "stat" };

	for (size_t i = 0; i < 3; i++) {
		struct fix_run r;

		fix_run(&r, NULL, NULL, FIX_ARGS(cmds[i], "junk.rpseg"));
		cr_assert_eq(r.status, 1, "%s", cmds[i]);
		cr_assert_str_eq(r.err, "ringprof: junk.rpseg: offset 0: not a ringprof segment (bad magic)\n",
				 "%s", cmds[i]);
		free(r.out);
		free(r.err);
		fix_run(&r, NULL, NULL, FIX_ARGS(cmds[i], "missing.rpseg"));
		cr_assert_eq(r.status, 1, "%s", cmds[i]);
		cr_assert_str_eq(r.err, "ringprof: missing.rpseg: No such file or directory\n",
				 "%s", cmds[i]);
		cr_assert_str_eq(r.out, "");
		free(r.out);
		free(r.err);
	}
	/* chrome still closes the JSON of what it read */
	fix_expect(FIX_ARGS("chrome", "cut.rpseg"), 1,
	       "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
	       "{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":4242,\"tid\":0,"
	       "\"args\":{\"name\":\"rustc\"}},\n"
	       "{\"name\":\"type_of(x)\",\"cat\":\"QueryCacheHit\",\"ph\":\"i\",\"s\":\"t\","
	       "\"ts\":5002500.000,\"pid\":4242,\"tid\":1,\"args\":{\"arg\":\"type_of(x)\"}},\n"
	       "{\"name\":\"codegen\",\"cat\":\"GenericActivity\",\"ph\":\"X\",\"ts\":5001000.000,"
	       "\"dur\":1500.000,\"pid\":4242,\"tid\":1,\"args\":{\"arg\":\"codegen\",\"open\":true}},\n"
	       "{\"name\":\"typeck(main)\",\"cat\":\"Query\",\"ph\":\"X\",\"ts\":5002000.000,"
	       "\"dur\":500.000,\"pid\":4242,\"tid\":1,\"args\":{\"arg\":\"typeck(main)\",\"open\":true}},\n"
	       "{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":4242,\"tid\":1,"
	       "\"args\":{\"name\":\"worker-1 (tid 555)\"}}\n"
	       "]}\n",
	       "ringprof: cut.rpseg: truncated block at offset 692 (file ends at 700)\n"
	       "ringprof chrome: warning: 0 ENDs without BEGIN, 0 intervals closed out of order,"
	       " 2 intervals still open at the end (written with \"open\": true)\n");
}

Test(export, bad_usage_exits_2_with_usage_on_stderr)
{
	static const char *const bad[][4] = {
		{ "chrome", NULL }, { "chrome", "--min-duration", "x", "main.rpseg" },
		{ "chrome", "--min-duration", "-5", "main.rpseg" }, { "chrome", "--bogus", "main.rpseg" },
		{ "chrome", "main.rpseg", "-o", NULL }, { "folded", NULL },
		{ "folded", "--json", "main.rpseg" }, { "stat", NULL }, { "stat", "-x", "main.rpseg" },
	};
	static const char *const first[] = {
		"ringprof chrome: no PATH given\n",
		"ringprof chrome: --min-duration wants ns, not 'x'\n",
		"ringprof chrome: --min-duration wants ns, not '-5'\n",
		"ringprof chrome: unknown option '--bogus'\n",
		"ringprof chrome: option '-o' needs a value\n",
		"ringprof folded: no PATH given\n",
		"ringprof folded: unknown option '--json'\n",
		"ringprof stat: no PATH given\n",
		"ringprof stat: unknown option '-x'\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fix_run r;
		const char *args[5] = { 0 };
		size_t fl = strlen(first[i]);

		memcpy(args, bad[i], sizeof(bad[i]));
		fix_run(&r, NULL, NULL, args);
		cr_assert_eq(r.status, 2, "%s", first[i]);
		cr_assert_str_eq(r.out, "");
		cr_assert_eq(strncmp(r.err, first[i], fl), 0, "%s", r.err);
		cr_assert_eq(strncmp(r.err + fl, "usage: ringprof ", 16), 0, "%s", r.err);
		free(r.out);
		free(r.err);
	}
}

Test(export, every_command_has_help)
{
	static const char *const cmds[] = { "chrome", "folded", "stat" };

	for (size_t i = 0; i < 3; i++) {
		struct fix_run r;
		char *head;

		fix_run(&r, NULL, NULL, FIX_ARGS(cmds[i], "--help"));
		cr_assert_eq(r.status, 0);
		cr_assert_str_eq(r.err, "");
		cr_assert_gt(asprintf(&head, "usage: ringprof %s [", cmds[i]), 0);
		cr_assert_eq(strncmp(r.out, head, strlen(head)), 0, "%s", r.out);
		free(head);
		free(r.out);
		free(r.err);
	}
}

Test(export, progress_line_when_asked)
{
	static const char *const cmds[] = { "chrome", "folded", "stat", "dump" };

	for (size_t i = 0; i < 4; i++) {
		struct fix_run r;
		char *head;

		fix_run(&r, NULL, "RINGPROF_PROGRESS=1", FIX_ARGS(cmds[i], "main.rpseg"));
		cr_assert_eq(r.status, 0);
		cr_assert_gt(asprintf(&head, "ringprof %s: 0.0 of 0.0 MiB (100%%), ", cmds[i]), 0);
		cr_assert_eq(strncmp(r.err, head, strlen(head)), 0, "%s", r.err);
		cr_assert_eq(strcmp(r.err + strlen(r.err) - 7, " MiB/s\n"), 0, "%s", r.err);
		cr_assert_null(strchr(r.err, '\r'));
		free(head);
		free(r.out);
		free(r.err);
		/* not a terminal and far under 64 MiB: nothing */
		fix_run(&r, NULL, NULL, FIX_ARGS(cmds[i], "main.rpseg"));
		cr_assert_str_eq(r.err, "");
		free(r.out);
		free(r.err);
	}
}
