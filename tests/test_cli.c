/*
 * test_cli - the built `ringprof` command on fixed segments: output compared
 * byte for byte with text written out by hand, exit statuses, --help.
 *
 * The segments are stored raw (no zstd), so every offset below follows from
 * the format alone: preamble 16, HEADER at 16, STRINGS 364, THREADS 548,
 * EVENTS 620, CLOCK 692, EVENTS 740, EVENTS 830, LOSS 891, THREADS 979,
 * FOOTER 1027, trailer 1091, 1107 bytes in all; raw_len of the 9 blocks
 * before the FOOTER: 324+160+48+48+24+66+37+64+24 = 795.
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

static char *dir;

static void setup(void)
{
	struct rp_segwrite w;
	static const char junk[] = "this is not a ringprof segment\n";

	dir = fix_tmpdir();
	cr_assert_eq(chdir(dir), 0);
	fix_main_segment(&w, 0, true, false);
	cr_assert_eq(w.out.len, 1107);
	fix_write_file("main.rpseg", w.out.data, w.out.len);
	fix_write_file("cut.rpseg", w.out.data, 700);
	w.out.data[760] ^= 0x20;
	fix_write_file("crc.rpseg", w.out.data, w.out.len);
	w.out.data[760] ^= 0x20;
	w.out.data[8] = 7;
	fix_write_file("v7.rpseg", w.out.data, w.out.len);
	rp_segwrite_close(&w);
	fix_main_segment(&w, 0, false, false);
	fix_write_file("open.rpseg", w.out.data, w.out.len);
	rp_segwrite_close(&w);
	fix_unbalanced_segment(&w);
	fix_write_file("unb.rpseg", w.out.data, w.out.len);
	rp_segwrite_close(&w);
	fix_write_file("junk.rpseg", junk, sizeof(junk) - 1);
}

static void teardown(void)
{
	cr_assert_eq(chdir("/"), 0);
	fix_rmtree(dir);
	free(dir);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 60);


Test(cli, dump_prints_every_item_with_strings_resolved)
{
	fix_expect(FIX_ARGS("dump", "main.rpseg"), 0,
	       "segment main.rpseg  version 1  1107 bytes\n"
	       "  pid 4242  name \"rustc\"  session \"build1\"  client 7  seq 0  daemon 99  flags 0x0\n"
	       "  host \"buildhost\"  boot \"0b7e6f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b\"\n"
	       "  cmdline \"rustc\" \"--edition=2021\" \"main.rs\"\n"
	       "  clock tsc  2000000000 Hz  ticks 1000  mono 5000000000 ns  real 1700000000000000000 ns\n"
	       "  string 1 \"Query\"\n"
	       "  string 2 \"typeck(main)\"\n"
	       "  string 3 \"QueryCacheHit\"\n"
	       "  string 4 \"ArtifactSize\"\n"
	       "  string 5 \"main.o\"\n"
	       "  string 6 \"GenericActivity\"\n"
	       "  string 7 \"codegen\"\n"
	       "  string 8 \"worker-1\"\n"
	       "  string 9 \"type_of(x)\"\n"
	       "  0.000000 ms  t1  thread start  tid 555  slot 0\n"
	       "  0.000000 ms  t2  thread start  tid 556  slot 1\n"
	       "  0.000000 ms  t1  THREAD_NAME  worker-1\n"
	       "  1.000000 ms  t1  BEGIN  GenericActivity  codegen\n"
	       "  2.000000 ms  t1  BEGIN  Query  typeck(main)\n"
	       "  2.500000 ms  t1  INSTANT  QueryCacheHit  type_of(x)\n"
	       "  clock  ticks 10001000  mono 5005001000 ns  real 1700000000005000000 ns\n"
	       "  3.001000 ms  t1  BEGIN  Query  type_of(x)\n"
	       "  4.001000 ms  t1  END  Query  type_of(x)\n"
	       "  6.001000 ms  t1  END  Query  typeck(main)\n"
	       "  7.001000 ms  t1  INTEGER  ArtifactSize  main.o  = 12345\n"
	       "  10.001000 ms  t1  END  GenericActivity  codegen\n"
	       "  10.501000 ms  t1  INSTANT  QueryCacheHit  typeck(main)\n"
	       "  1.001000 ms  t2  BEGIN  Query  typeck(main)\n"
	       "  1.501000 ms  t2  END  Query  typeck(main)\n"
	       "  loss  t1  written 10  client dropped 0  daemon dropped 0\n"
	       "  loss  t2  written 2  client dropped 3  daemon dropped 1\n"
	       "  11.001000 ms  t1  thread end  tid 555  slot 0\n"
	       "  footer  exit  blocks 9  events 12  raw 795 bytes  threads 2  end ticks 24001000\n",
	       "");
}

Test(cli, dump_of_a_cut_file_stops_at_the_cut)
{
	static const char head[] =
		"segment cut.rpseg  version 1  700 bytes\n";
	struct fix_run r;

	fix_run(&r, NULL, NULL, FIX_ARGS("dump", "cut.rpseg"));
	cr_assert_eq(r.status, 1);
	cr_assert_str_eq(r.err, "ringprof: cut.rpseg: truncated block at offset 692 (file ends at 700)\n");
	cr_assert_eq(strncmp(r.out, head, sizeof(head) - 1), 0);
	cr_assert_not_null(strstr(r.out, "  2.500000 ms  t1  INSTANT  QueryCacheHit  type_of(x)\n"));
	cr_assert_null(strstr(r.out, "clock  ticks"), "nothing of the cut block");
	free(r.out);
	free(r.err);

	fix_run(&r, NULL, NULL, FIX_ARGS("dump", "--recover", "cut.rpseg", "unb.rpseg"));
	cr_assert_eq(r.status, 1);
	cr_assert_str_eq(r.err, "");
	cr_assert_not_null(strstr(r.out,
		"  2.500000 ms  t1  INSTANT  QueryCacheHit  type_of(x)\n"
		"  cut  cut.rpseg: truncated block at offset 692 (file ends at 700); "
		"4 whole blocks readable, cut at offset 692\n"
		"segment unb.rpseg  version 1  "));
	free(r.out);
	free(r.err);
}

Test(cli, dump_shows_an_unsealed_file)
{
	struct fix_run r;

	fix_run(&r, NULL, NULL, FIX_ARGS("dump", "open.rpseg"));
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.err, "");
	cr_assert_not_null(strstr(r.out,
		"  11.001000 ms  t1  thread end  tid 555  slot 0\n"
		"  unsealed  9 whole blocks, no footer\n"));
	free(r.out);
	free(r.err);
}

Test(cli, verify_reports_each_file)
{
	fix_expect(FIX_ARGS("verify", "crc.rpseg", "cut.rpseg", "junk.rpseg", "main.rpseg", "open.rpseg",
		    "v7.rpseg"), 1,
	       "crc.rpseg: offset 740: block CRC mismatch; 5 whole blocks readable, cut at offset 740\n"
	       "cut.rpseg: truncated block at offset 692 (file ends at 700); 4 whole blocks readable, cut at offset 692\n"
	       "junk.rpseg: offset 0: not a ringprof segment (bad magic)\n"
	       "main.rpseg: OK, 9 blocks, 12 events\n"
	       "open.rpseg: not sealed (no footer), 9 blocks, 12 events\n"
	       "v7.rpseg: offset 8: unknown segment version 7 (this reader knows 1 to 2)\n",
	       "");
}

Test(cli, verify_passes_good_files_and_optionally_unsealed_ones)
{
	fix_expect(FIX_ARGS("verify", "main.rpseg", "unb.rpseg"), 0,
	       "main.rpseg: OK, 9 blocks, 12 events\n"
	       "unb.rpseg: OK, 3 blocks, 6 events\n", "");
	fix_expect(FIX_ARGS("verify", "--allow-unsealed", "open.rpseg"), 0,
	       "open.rpseg: OK (not sealed), 9 blocks, 12 events\n", "");
	fix_expect(FIX_ARGS("verify", "open.rpseg"), 1,
	       "open.rpseg: not sealed (no footer), 9 blocks, 12 events\n", "");
}

Test(cli, verify_walks_a_directory_in_order)
{
	cr_assert_eq(mkdir("d", 0755), 0);
	cr_assert_eq(link("main.rpseg", "d/b.rpseg"), 0);
	cr_assert_eq(link("unb.rpseg", "d/a.rpseg"), 0);
	fix_expect(FIX_ARGS("verify", "d"), 0,
	       "d/a.rpseg: OK, 3 blocks, 6 events\n"
	       "d/b.rpseg: OK, 9 blocks, 12 events\n", "");
}

Test(cli, summarize_groups_arguments_by_label)
{
	/* The same numbers as per argument below: each label has one key.  CPU
	 * time: t1 1.000..10.501 ms, t2 1.001..1.501 ms; the two cache hits
	 * count as invocations of their items. */
	fix_expect(FIX_ARGS("summarize", "main.rpseg"), 0,
	       "Item     Self time  % of total time      Time  Item count  Cache hits\n"
	       "codegen   5.000000            50.00  9.001000           1           0\n"
	       "typeck    3.501000            35.01  4.501000           3           1\n"
	       "type_of   1.000000            10.00  1.000000           2           1\n"
	       "Total     9.501000            95.00                     6           2\n"
	       "\n"
	       "Artifact sizes\n"
	       "Item    Count  Bytes\n"
	       "main.o      1  12345\n"
	       "\n"
	       "CPU time: 10.001000 ms over 2 threads (each from its first to its last event)\n"
	       "Wall time: 9.501000 ms over 1 process (first to last event)\n"
	       "Events: 12 read, 4 dropped (3 by clients, 1 by the daemon)\n",
	       "");
}

Test(cli, summarize_tables_time_per_item)
{
	fix_expect(FIX_ARGS("summarize", "--by-arg", "main.rpseg"), 0,
	       "Item          Self time  % of total time      Time  Item count  Cache hits\n"
	       "codegen        5.000000            50.00  9.001000           1           0\n"
	       "typeck(main)   3.501000            35.01  4.501000           3           1\n"
	       "type_of(x)     1.000000            10.00  1.000000           2           1\n"
	       "Total          9.501000            95.00                     6           2\n"
	       "\n"
	       "Artifact sizes\n"
	       "Item    Count  Bytes\n"
	       "main.o      1  12345\n"
	       "\n"
	       "CPU time: 10.001000 ms over 2 threads (each from its first to its last event)\n"
	       "Wall time: 9.501000 ms over 1 process (first to last event)\n"
	       "Events: 12 read, 4 dropped (3 by clients, 1 by the daemon)\n",
	       "");
}

Test(cli, summarize_warns_about_unbalanced_intervals)
{
	fix_expect(FIX_ARGS("summarize", "unb.rpseg"), 0,
	       "Item   Self time  % of total time      Time  Item count  Cache hits\n"
	       "a       4.000000            61.54  4.000000           1           0\n"
	       "b       4.000000            61.54  4.000000           1           0\n"
	       "c       0.000000             0.00  0.000000           0           0\n"
	       "Total   8.000000           123.08                     2           0\n"
	       "\n"
	       "CPU time: 6.500000 ms over 1 thread (each from its first to its last event)\n"
	       "Wall time: 6.500000 ms over 1 process (first to last event)\n"
	       "Events: 6 read, 0 dropped (0 by clients, 0 by the daemon)\n"
	       "warning: 1 END without BEGIN, 1 interval closed out of order, "
	       "1 interval still open at the end, 0 events with undefined strings\n",
	       "");
}

Test(cli, summarize_json_has_the_same_numbers)
{
	fix_expect(FIX_ARGS("summarize", "--json", "--by-arg", "main.rpseg"), 0,
	       "{\"processes\":[{\"name\":\"rustc\",\"pid\":4242,\"host\":\"buildhost\","
	       "\"cmdline\":[\"rustc\",\"--edition=2021\",\"main.rs\"]}],"
	       "\"items\":["
	       "{\"item\":\"codegen\",\"count\":1,\"self_ns\":5000000,\"time_ns\":9001000,"
	       "\"cache_hits\":0,\"blocked_ns\":0,\"incremental_load_ns\":0,\"incremental_hashing_ns\":0},"
	       "{\"item\":\"typeck(main)\",\"count\":3,\"self_ns\":3501000,\"time_ns\":4501000,"
	       "\"cache_hits\":1,\"blocked_ns\":0,\"incremental_load_ns\":0,\"incremental_hashing_ns\":0},"
	       "{\"item\":\"type_of(x)\",\"count\":2,\"self_ns\":1000000,\"time_ns\":1000000,"
	       "\"cache_hits\":1,\"blocked_ns\":0,\"incremental_load_ns\":0,\"incremental_hashing_ns\":0}],"
	       "\"instants\":[],\"artifact_sizes\":[{\"item\":\"main.o\",\"count\":1,\"bytes\":12345}],"
	       "\"integers\":[],\"cpu_ns\":10001000,\"wall_ns\":9501000,\"threads\":2,\"events\":12,"
	       "\"dropped\":{\"client\":3,\"daemon\":1},"
	       "\"warnings\":{\"unmatched_end\":0,\"out_of_order\":0,\"open\":0,\"undefined_strings\":0}}\n",
	       "");
}

Test(cli, a_bad_file_is_one_line_naming_file_and_offset)
{
	fix_expect(FIX_ARGS("summarize", "crc.rpseg"), 1, "",
	       "ringprof: crc.rpseg: offset 740: block CRC mismatch\n");
	fix_expect(FIX_ARGS("summarize", "junk.rpseg"), 1, "",
	       "ringprof: junk.rpseg: offset 0: not a ringprof segment (bad magic)\n");
	fix_expect(FIX_ARGS("dump", "v7.rpseg"), 1, "",
	       "ringprof: v7.rpseg: offset 8: unknown segment version 7 (this reader knows 1 to 2)\n");
	fix_expect(FIX_ARGS("dump", "nope.rpseg"), 1, "",
	       "ringprof: nope.rpseg: No such file or directory\n");
}

Test(cli, bad_usage_exits_2_with_usage_on_stderr)
{
	struct fix_run r;
	const char *const *cases[] = {
		FIX_ARGS("bogus", "main.rpseg"),
		FIX_ARGS("dump", "--bogus", "main.rpseg"),
		FIX_ARGS("verify"),
		FIX_ARGS("summarize", "--recover"),
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fix_run(&r, NULL, NULL, cases[i]);
		cr_assert_eq(r.status, 2, "case %zu", i);
		cr_assert_str_eq(r.out, "");
		cr_assert_not_null(strstr(r.err, "usage: ringprof "), "case %zu: %s", i, r.err);
		free(r.out);
		free(r.err);
	}
	fix_run(&r, NULL, NULL, (const char *const[]){ NULL });
	cr_assert_eq(r.status, 2);
	cr_assert_eq(strncmp(r.err, "usage: ringprof <command>", 25), 0);
	free(r.out);
	free(r.err);
	fix_expect(FIX_ARGS("dump", "--bogus", "main.rpseg"), 2, "",
	       "ringprof dump: unknown option '--bogus'\n"
	       "usage: ringprof dump [--recover] PATH...\n"
	       "\n"
	       "Print every item of every segment, one line each: the segment header,\n"
	       "strings, thread start/end, events (time in ms since the segment's clock\n"
	       "correlation, thread, type, kind, argument, value), clock pairs, loss\n"
	       "counters and the footer.  A segment without footer (still being written,\n"
	       "or its writer killed) is shown with an 'unsealed' line.  When a thread\n"
	       "ends (or the input does) with intervals still open -- what a killed\n"
	       "process was doing -- an 'open at end' line lists them, outermost first.\n"
	       "\n"
	       "  --recover  on a damaged file, print every whole block before the damage,\n"
	       "             say where it was cut and go on with the next file (exit 1)\n");
}

Test(cli, every_command_has_help)
{
	static const char *const cmds[] = { "dump", "verify", "summarize" };
	struct fix_run r;

	for (size_t i = 0; i < 3; i++) {
		char want[64];

		fix_run(&r, NULL, NULL, FIX_ARGS(cmds[i], "--help"));
		snprintf(want, sizeof(want), "usage: ringprof %s [", cmds[i]);
		cr_assert_eq(r.status, 0);
		cr_assert_eq(strncmp(r.out, want, strlen(want)), 0, "%s", r.out);
		cr_assert_str_eq(r.err, "");
		free(r.out);
		free(r.err);
	}
	fix_run(&r, NULL, NULL, FIX_ARGS("--help"));
	cr_assert_eq(r.status, 0);
	cr_assert_eq(strncmp(r.out, "usage: ringprof <command> [options] PATH...\n", 44), 0);
	cr_assert_not_null(strstr(r.out, "  summarize  "));
	free(r.out);
	free(r.err);
}
