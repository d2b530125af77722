/*
 * test_analysis - `ringprof summarize`, `diff` and `report` on the fixed
 * builds of test_analysis_fixture.c: output compared byte for byte with
 * tests/golden/analysis/ (RINGPROF_UPDATE_GOLDEN=1 rewrites those files
 * instead, to be read and checked by hand before committing), self times
 * checked against numbers worked out by hand, and the report page loaded in
 * a real headless Chromium (report_browser.js).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "test_analysis_fixture.h"
#include "test_cli_fixture.h"

#define CHROMIUM "/usr/bin/chromium"

static char *dir;

static void setup(void)
{
	dir = fix_tmpdir();
	cr_assert_eq(chdir(dir), 0);
	afx_builds();
	afx_unbalanced("unb.rpseg");
}

static void teardown(void)
{
	cr_assert_eq(chdir("/"), 0);
	fix_rmtree(dir);
	free(dir);
}

TestSuite(analysis, .init = setup, .fini = teardown, .timeout = 120);

static const char *build_dir(void)
{
	const char *b = getenv("RINGPROF_BUILD_DIR");

	return b ? b : RINGPROF_BUILD_DIR;
}

/* stdout of ringprof args equals tests/golden/analysis/name, exit 0. */
static void expect_golden(const char *name, const char *const *args)
{
	char *path, *want;
	struct fix_run r;

	cr_assert_gt(asprintf(&path, "%s/tests/golden/analysis/%s", RINGPROF_SOURCE_DIR, name), 0);
	fix_run(&r, NULL, NULL, args);
	cr_assert_str_eq(r.err, "");
	cr_assert_eq(r.status, 0);
	if (getenv("RINGPROF_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f, "write %s", path);
		fputs(r.out, f);
		cr_assert_eq(fclose(f), 0);
	}
	want = fix_slurp(path);
	cr_assert_str_eq(r.out, want, "%s differs:\n%s", name, r.out);
	free(want);
	free(path);
	free(r.out);
	free(r.err);
}


Test(analysis, summarize_of_a_build_matches_its_golden_file)
{
	expect_golden("summarize_base.txt", FIX_ARGS("summarize", "base"));
	expect_golden("summarize_base.json", FIX_ARGS("summarize", "--json", "base"));
	expect_golden("summarize_new_by_process.txt", FIX_ARGS("summarize", "--by-process", "new"));
	expect_golden("summarize_new_by_arg.txt", FIX_ARGS("summarize", "--by-arg", "new"));
}

Test(analysis, diff_of_two_builds_matches_its_golden_file)
{
	expect_golden("diff.txt", FIX_ARGS("diff", "base", "new"));
	expect_golden("diff_by_process.txt", FIX_ARGS("diff", "--by-process", "base", "new"));
	expect_golden("diff.json", FIX_ARGS("diff", "--json", "base", "new"));
}

/*
 * alpha by hand (µs).  t1: analysis 0..1200 holds typeck(f) 100..1100,
 * which holds type_of(f) 200..300, typeck(g) 400..700 (holding hashing
 * typeck(g) 600..650), load mir_built(f) 750..850 and hashing typeck(f)
 * 900..1000.  t2: type_of(g) 300..1200 holds blocked typeck(f) 400..1100.
 *   analysis   self 1200-1000 = 200, time 1200, count 1
 *   typeck     self typeck(f) 1000-(100+300+100+100) = 400, typeck(g)
 *              300-50 = 250, hashing 50 + 100, blocked 700: 1500;
 *              time 1000 + 300 + 700 = 2000 (hashing not counted);
 *              count 2 queries + 1 blocked + 1 hit = 4; blocked 700;
 *              hashing 150
 *   type_of    self 100 + (900-700) = 300, time 100 + 900, count 2 + 1 hit
 *   mir_built  self 100 = load 100, time 100, count 0
 * CPU 1200 + (1250-300) = 2150, wall 0..1250.
 */
Test(analysis, self_time_of_nested_recursive_blocked_and_threaded_intervals)
{
	fix_expect(FIX_ARGS("summarize", "--json", "base/alpha.rpseg"), 0,
	       "{\"processes\":[{\"name\":\"rustc\",\"pid\":100,\"host\":\"buildhost\","
	       "\"cmdline\":[\"rustc\",\"--crate-name\",\"alpha\",\"src/alpha.rs\"]}],"
	       "\"items\":["
	       "{\"item\":\"typeck\",\"count\":4,\"self_ns\":1500000,\"time_ns\":2000000,"
	       "\"cache_hits\":1,\"blocked_ns\":700000,\"incremental_load_ns\":0,"
	       "\"incremental_hashing_ns\":150000},"
	       "{\"item\":\"type_of\",\"count\":3,\"self_ns\":300000,\"time_ns\":1000000,"
	       "\"cache_hits\":1,\"blocked_ns\":0,\"incremental_load_ns\":0,"
	       "\"incremental_hashing_ns\":0},"
	       "{\"item\":\"analysis\",\"count\":1,\"self_ns\":200000,\"time_ns\":1200000,"
	       "\"cache_hits\":0,\"blocked_ns\":0,\"incremental_load_ns\":0,"
	       "\"incremental_hashing_ns\":0},"
	       "{\"item\":\"mir_built\",\"count\":0,\"self_ns\":100000,\"time_ns\":100000,"
	       "\"cache_hits\":0,\"blocked_ns\":0,\"incremental_load_ns\":100000,"
	       "\"incremental_hashing_ns\":0}],"
	       "\"instants\":[],\"artifact_sizes\":[{\"item\":\"alpha.o\",\"count\":1,\"bytes\":4096}],"
	       "\"integers\":[],\"cpu_ns\":2150000,\"wall_ns\":1250000,\"threads\":2,\"events\":21,"
	       "\"dropped\":{\"client\":0,\"daemon\":0},\"warnings\":{\"unmatched_end\":0,"
	       "\"out_of_order\":0,\"open\":0,\"undefined_strings\":0}}\n",
	       "");
}

/* The same alpha 500 µs slower in typeck(f) and the block on it, rotated
 * into a second segment with other string ids while typeck(f) and analysis
 * are open: typeck self 900 + 250 + 150 + 1200 = 2500, time 1500 + 300 +
 * 1200; type_of(g) self 1400 - 1200 = 200; CPU 1700 + 1450. */
Test(analysis, an_interval_open_across_a_rotation_is_matched_by_its_strings)
{
	fix_expect(FIX_ARGS("summarize", "--json", "new/alpha-0.rpseg", "new/alpha-1.rpseg"), 0,
	       "{\"processes\":[{\"name\":\"rustc\",\"pid\":200,\"host\":\"buildhost\","
	       "\"cmdline\":[\"rustc\",\"--crate-name\",\"alpha\",\"src/alpha.rs\"]}],"
	       "\"items\":["
	       "{\"item\":\"typeck\",\"count\":4,\"self_ns\":2500000,\"time_ns\":3000000,"
	       "\"cache_hits\":1,\"blocked_ns\":1200000,\"incremental_load_ns\":0,"
	       "\"incremental_hashing_ns\":150000},"
	       "{\"item\":\"type_of\",\"count\":3,\"self_ns\":300000,\"time_ns\":1500000,"
	       "\"cache_hits\":1,\"blocked_ns\":0,\"incremental_load_ns\":0,"
	       "\"incremental_hashing_ns\":0},"
	       "{\"item\":\"analysis\",\"count\":1,\"self_ns\":200000,\"time_ns\":1700000,"
	       "\"cache_hits\":0,\"blocked_ns\":0,\"incremental_load_ns\":0,"
	       "\"incremental_hashing_ns\":0},"
	       "{\"item\":\"mir_built\",\"count\":0,\"self_ns\":100000,\"time_ns\":100000,"
	       "\"cache_hits\":0,\"blocked_ns\":0,\"incremental_load_ns\":100000,"
	       "\"incremental_hashing_ns\":0}],"
	       "\"instants\":[],\"artifact_sizes\":[{\"item\":\"alpha.o\",\"count\":1,\"bytes\":4096}],"
	       "\"integers\":[],\"cpu_ns\":3150000,\"wall_ns\":1750000,\"threads\":2,\"events\":21,"
	       "\"dropped\":{\"client\":0,\"daemon\":0},\"warnings\":{\"unmatched_end\":0,"
	       "\"out_of_order\":0,\"open\":0,\"undefined_strings\":0}}\n",
	       "");
}

/* a 100..500 and b 200..600 overlap: b closes inside nothing (a is gone
 * from the stack when b ends) so b's self is 400; a's self is 400 (b was
 * still open when a ended).  Reported, never a crash. */
Test(analysis, unbalanced_intervals_are_reported_not_fatal)
{
	fix_expect(FIX_ARGS("summarize", "unb.rpseg"), 0,
	       "Item   Self time  % of total time      Time  Item count  Cache hits\n"
	       "a       0.400000            61.54  0.400000           1           0\n"
	       "b       0.400000            61.54  0.400000           1           0\n"
	       "open    0.000000             0.00  0.000000           0           0\n"
	       "Total   0.800000           123.08                     2           0\n"
	       "\n"
	       "CPU time: 0.650000 ms over 1 thread (each from its first to its last event)\n"
	       "Wall time: 0.650000 ms over 1 process (first to last event)\n"
	       "Events: 6 read, 0 dropped (0 by clients, 0 by the daemon)\n"
	       "warning: 1 END without BEGIN, 1 interval closed out of order, "
	       "1 interval still open at the end, 0 events with undefined strings\n",
	       "");
}

Test(analysis, diff_matches_processes_by_command_line_then_name)
{
	struct fix_run r;

	fix_run(&r, NULL, NULL, FIX_ARGS("diff", "--json", "--by-process", "base", "new"));
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.err, "");
	cr_assert_not_null(strstr(r.out,
		"{\"processes\":[{\"name\":\"rustc\",\"cmdline\":[\"rustc\",\"--crate-name\","
		"\"alpha\",\"src/alpha.rs\"],\"base_pid\":100,\"new_pid\":200,\"matched\":\"cmdline\","));
	cr_assert_not_null(strstr(r.out,
		"{\"name\":\"rustc\",\"cmdline\":[\"rustc\",\"--crate-name\",\"beta\",\"src/beta.rs\"],"
		"\"new_cmdline\":[\"rustc\",\"--crate-name\",\"beta\",\"--out-dir\",\"/tmp/x\","
		"\"src/beta.rs\"],\"base_pid\":101,\"new_pid\":201,\"matched\":\"name\","));
	cr_assert_not_null(strstr(r.out,
		"{\"name\":\"cc1\",\"cmdline\":[\"cc1\",\"foo.c\"],\"base_pid\":null,\"new_pid\":300,"
		"\"matched\":\"none\",\"items\":[{\"item\":\"GenericActivity\",\"base\":null,"
		"\"new\":{\"self_ns\":300000,"));
	free(r.out);
	free(r.err);
}

Test(analysis, diff_and_report_usage)
{
	struct fix_run r;
	const char *const *cases[] = {
		FIX_ARGS("diff", "base"),
		FIX_ARGS("diff", "base", "new", "new"),
		FIX_ARGS("diff", "--bogus", "base", "new"),
		FIX_ARGS("report", "base", "new"),
		FIX_ARGS("report", "base", "new", "-o"),
		FIX_ARGS("report", "base", "-o", "x.html"),
		FIX_ARGS("summarize", "--by-process"),
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fix_run(&r, NULL, NULL, cases[i]);
		cr_assert_eq(r.status, 2, "case %zu", i);
		cr_assert_str_eq(r.out, "");
		cr_assert_not_null(strstr(r.err, "usage: ringprof "), "case %zu: %s", i, r.err);
		free(r.out);
		free(r.err);
	}
	for (size_t i = 0; i < 3; i++) {
		static const char *const cmds[] = { "diff", "report", "summarize" };
		char want[64];

		fix_run(&r, NULL, NULL, FIX_ARGS(cmds[i], "--help"));
		snprintf(want, sizeof(want), "usage: ringprof %s [", cmds[i]);
		cr_assert_eq(r.status, 0);
		cr_assert_eq(strncmp(r.out, want, strlen(want)), 0, "%s", r.out);
		free(r.out);
		free(r.err);
	}
	fix_expect(FIX_ARGS("diff", "base", "nope"), 1, "",
	       "ringprof: nope: No such file or directory\n");
	fix_expect(FIX_ARGS("report", "base", "new", "-o", "no/such/dir.html"), 1, "",
	       "ringprof: no/such/dir.html: No such file or directory\n");
}

Test(analysis, report_is_one_self_contained_page)
{
	struct fix_run r;
	char *page;

	fix_run(&r, NULL, NULL, FIX_ARGS("report", "base", "new", "-o", "report.html"));
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.out, "");
	cr_assert_str_eq(r.err, "");
	page = fix_slurp("report.html");
	cr_assert_eq(strncmp(page, "<!DOCTYPE html>\n", 16), 0);
	cr_assert_null(strstr(page, "http://"));
	cr_assert_null(strstr(page, "https://"));
	cr_assert_null(strstr(page, "<script src"));
	cr_assert_null(strstr(page, "<link"));
	cr_assert_null(strstr(page, "/*RINGPROF_DATA*/"));
	cr_assert_not_null(strstr(page, "{\"base_paths\":[\"base\"],\"new_paths\":[\"new\"],"
					"\"all\":{\"items\":[{\"item\":\"typeck\",\"base\":{\"self_ns\":2000000,"));
	free(page);
	free(r.out);
	free(r.err);
}

Test(analysis, report_page_loads_sorts_and_drills_down_in_chromium, .timeout = 150)
{
	char *shot;
	struct fix_run r;

	if (access(CHROMIUM, X_OK) != 0)
		cr_skip_test("chromium is not installed (" CHROMIUM "); './run deps' installs it");
	fix_run(&r, NULL, NULL, FIX_ARGS("report", "base", "new", "-o", "report.html"));
	cr_assert_eq(r.status, 0);
	free(r.out);
	free(r.err);
	cr_assert_gt(asprintf(&shot, "%s/tests/report-screenshot.png", build_dir()), 0);
	cr_assert_eq(mkdir("chromium-profile", 0700), 0);
	fix_run(&r, "/usr/bin/node", NULL,
		FIX_ARGS(RINGPROF_SOURCE_DIR "/tests/report_browser.js", CHROMIUM, "report.html",
		     shot, "chromium-profile"));
	cr_assert_eq(r.status, 0, "report_browser.js failed:\n%s", r.err);
	cr_assert_str_eq(r.out,
		"{\n"
		" \"title\": \"ringprof comparison\",\n"
		" \"heads\": [\n"
		"  \"Item\",\n  \"Self BASE\",\n  \"Self NEW\",\n  \"Self change\",\n"
		"  \"Self change %\",\n  \"Time BASE\",\n  \"Time NEW\",\n  \"Time change\",\n"
		"  \"Count BASE\",\n  \"Count NEW\",\n  \"Cache hits BASE\",\n  \"Cache hits NEW\",\n"
		"  \"Blocked BASE\",\n  \"Blocked NEW\"\n"
		" ],\n"
		" \"rows\": [\n"
		"  \"typeck|2.000000|3.000000|+1.000000|+50.00%|2.500000|3.500000|+1.000000|5|5|1|1|0.700000|1.200000\",\n"
		"  \"GenericActivity|0.000000|0.300000|+0.300000|new|0.000000|0.300000|+0.300000|0|1|0|0|0.000000|0.000000\",\n"
		"  \"analysis|0.700000|0.700000|0.000000|0.00%|2.200000|2.700000|+0.500000|2|2|0|0|0.000000|0.000000\",\n"
		"  \"mir_built|0.100000|0.100000|0.000000|0.00%|0.100000|0.100000|0.000000|0|0|0|0|0.000000|0.000000\",\n"
		"  \"type_of|0.300000|0.300000|0.000000|0.00%|1.000000|1.500000|+0.500000|3|3|1|1|0.000000|0.000000\"\n"
		" ],\n"
		" \"total\": \"Total|3.100000|4.400000|+1.300000|+41.94%||||10|11|2|2|0.700000|1.200000\",\n"
		" \"by_item\": [\n  \"GenericActivity\",\n  \"analysis\",\n  \"mir_built\",\n"
		"  \"type_of\",\n  \"typeck\"\n ],\n"
		" \"by_item_reversed\": [\n  \"typeck\",\n  \"type_of\",\n  \"mir_built\",\n"
		"  \"analysis\",\n  \"GenericActivity\"\n ],\n"
		" \"by_self_new\": [\n  \"typeck=3.000000\",\n  \"analysis=0.700000\",\n"
		"  \"GenericActivity=0.300000\",\n  \"type_of=0.300000\",\n  \"mir_built=0.100000\"\n ],\n"
		" \"processes\": [\n  \"All processes|\",\n  \"rustc|cmdline\",\n  \"rustc|name\",\n"
		"  \"cc1|only in NEW\"\n ],\n"
		" \"cc1_rows\": [\n"
		"  \"GenericActivity|0.000000|0.300000|+0.300000|new|0.000000|0.300000|+0.300000|0|1|0|0|0.000000|0.000000\"\n"
		" ],\n"
		" \"cc1_scope\": \"(cc1)\",\n"
		" \"errors\": [],\n"
		" \"requests\": [\n  \"file:report.html\"\n ]\n"
		"}\n");
	cr_assert_eq(access(shot, R_OK), 0);
	free(shot);
	free(r.out);
	free(r.err);
}
