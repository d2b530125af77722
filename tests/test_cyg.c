/*
 * test_cyg.c - the -finstrument-functions adapter (client/ringprof_cyg.h)
 * and the symbolizer (tools/cli/symbols.c): instrumented C and C++ programs
 * (cyg_prog, cyg_prog_cxx) record under a real ringprofd; their segments are
 * read back through libringprof and symbols_item(), and through the
 * `ringprof` command.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ringprof/reader.h>

#include "../tools/cli/symbols.h"
#include "harness.h"

static struct daemon cyg_daemon;

/* Per function name: BEGINs and ENDs seen. */
struct cyg_count {
	char name[256];
	unsigned begins, ends;
};

struct cyg_counts {
	struct cyg_count c[64];
	size_t n;
	unsigned threads_seen;
	uint64_t client_dropped[8];  /* per thread number: its last LOSS item */
};

static void cyg_setup(void)
{
	daemon_start(&cyg_daemon, NULL);
}

static void cyg_teardown(void)
{
	daemon_cleanup(&cyg_daemon);
}

/* Run argv with env (as run()) and check it exits 0; its stdout (free it). */
static char *cyg_exec(const char *const *argv, const char *const *env)
{
	char *out, *err;
	int status = run(argv, env, &out, &err);

	cr_assert(exited_with(status, 0), "%s %s: status 0x%x: %s", argv[0],
		  argv[1] ? argv[1] : "", status, err);
	free(err);
	return out;
}

/* Run prog (arg may be NULL) recording in session, check its stdout is
 * want, and stop the daemon: everything drained and sealed. */
static void cyg_record(const char *prog, const char *arg, const char *session, const char *want)
{
	char sock[200], sess[100];
	const char *argv[] = { prog, arg, NULL };
	const char *env[] = { sock, sess, NULL };
	char *out;

	snprintf(sock, sizeof(sock), "RINGPROF_SOCKET=%s", cyg_daemon.sock);
	snprintf(sess, sizeof(sess), "RINGPROF_SESSION=%s", session);
	out = cyg_exec(argv, env);
	cr_expect_str_eq(out, want);
	free(out);
	daemon_terminate(&cyg_daemon);
}

static struct cyg_count *cyg_count_of(struct cyg_counts *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->c[i].name) == len && memcmp(c->c[i].name, name, len) == 0)
			return &c->c[i];
	cr_assert_lt(c->n, 64);
	cr_assert_lt(len, sizeof(c->c[0].name));
	memcpy(c->c[c->n].name, name, len);
	c->c[c->n].name[len] = '\0';
	return &c->c[c->n++];
}

/* Count the Function events of the session by their resolved names. */
static void cyg_read(const char *session, struct cyg_counts *c)
{
	char path[256], err[256];
	const char *paths[] = { path };
	struct symbols sym = { 0 };
	struct rp_reader *r;
	struct rp_item it;
	int ret;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "%s/%s", cyg_daemon.state, session);
	r = rp_reader_open(paths, 1, 0, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	while ((ret = rp_reader_next(r, &it)) == 1) {
		symbols_item(&sym, &it);
		if (it.kind == RP_ITEM_THREAD && it.thread.t.event == RP_THREAD_START)
			c->threads_seen++;
		if (it.kind == RP_ITEM_LOSS) {
			cr_assert_lt(it.loss.thread, 8);
			c->client_dropped[it.loss.thread] = it.loss.client_dropped;
		}
		if (it.kind != RP_ITEM_EVENT || strcmp(it.event.kind, "Function") != 0)
			continue;
		cr_assert_not_null(it.event.arg);
		struct cyg_count *e = cyg_count_of(c, it.event.arg, it.event.arg_len);
		if (it.event.type == RP_REC_BEGIN)
			e->begins++;
		else if (it.event.type == RP_REC_END)
			e->ends++;
	}
	cr_assert_eq(ret, 0, "%s", rp_reader_error(r));
	rp_reader_close(r);
	symbols_free(&sym);
}

static void cyg_expect(struct cyg_counts *c, const char *name, unsigned begins, unsigned ends)
{
	struct cyg_count *e = cyg_count_of(c, name, strlen(name));

	cr_expect_eq(e->begins, begins, "%s: %u BEGINs, expected %u", name, e->begins, begins);
	cr_expect_eq(e->ends, ends, "%s: %u ENDs, expected %u", name, e->ends, ends);
}

/* Output of `ringprof cmd [opt] <session dir>` (free it). */
static char *cyg_cli(const char *cmd, const char *opt, const char *session)
{
	char path[256];
	const char *argv[] = { build_path("tools/cli/ringprof"), cmd, opt ? opt : path,
			       opt ? path : NULL, NULL };

	snprintf(path, sizeof(path), "%s/%s", cyg_daemon.state, session);
	return cyg_exec(argv, NULL);
}

TestSuite(cyg, .init = cyg_setup, .fini = cyg_teardown, .timeout = 60);

Test(cyg, every_call_of_a_c_program_is_one_named_interval)
{
	struct cyg_counts c;

	cyg_record(build_path("tests/cyg_prog"), NULL, "c",
		   "enabled=1 unnamed=0 reentered=0 functions=4\n");
	cyg_read("c", &c);
	cr_expect_eq(c.n, 4, "functions seen: %zu", c.n);
	cyg_expect(&c, "main", 1, 1);
	cyg_expect(&c, "leaf", 2000, 2000);
	cyg_expect(&c, "fib", 1973, 1973);
	cyg_expect(&c, "worker", 2, 2);
	cr_expect_eq(c.threads_seen, 3);
}

Test(cyg, a_full_table_drops_and_counts_the_calls_of_functions_it_cannot_name)
{
	struct cyg_counts c;
	char name[32];

	cyg_record(build_path("tests/cyg_prog_full"), NULL, "full",
		   "enabled=1 unnamed=260 reentered=0 functions=48 x=600\n");
	cyg_read("full", &c);
	cr_expect_eq(c.n, 48, "functions seen: %zu", c.n);
	cyg_expect(&c, "main", 1, 1);
	for (int i = 0; i < 47; i++) {
		snprintf(name, sizeof(name), "cyg_full_f%02d", i);
		cyg_expect(&c, name, 10, 10);
	}
	/* f47..f59: 13 functions x 10 calls, entry and exit, in the LOSS item */
	cr_expect_eq(c.client_dropped[1], 260);
}

Test(cyg, longjmp_leaves_the_skipped_frames_open)
{
	struct cyg_counts c;
	char *sum;

	cyg_record(build_path("tests/cyg_prog"), "jump", "jump",
		   "enabled=1 unnamed=0 reentered=0 functions=6\n");
	cyg_read("jump", &c);
	cyg_expect(&c, "jump_outer", 1, 0);
	cyg_expect(&c, "jump_inner", 1, 0);
	cyg_expect(&c, "main", 1, 1);
	sum = cyg_cli("summarize", NULL, "jump");
	cr_expect_not_null(strstr(sum, "warning: 0 ENDs without BEGIN, 1 interval closed out of "
				       "order, 2 intervals still open at the end"), "%s", sum);
	free(sum);
}

Test(cyg, cxx_names_are_demangled_and_exceptions_close_their_frames)
{
	struct cyg_counts c;

	cyg_record(build_path("tests/cyg_prog_cxx"), NULL, "cxx", "50\n");
	cyg_read("cxx", &c);
	cyg_expect(&c, "main", 1, 1);
	cyg_expect(&c, "ringprof_test::Square::area() const", 10, 10);
	cyg_expect(&c, "ringprof_test::Square::Square(double)", 1, 1);
	cyg_expect(&c, "int ringprof_test::twice<int>(int)", 1, 1);
	cyg_expect(&c, "double ringprof_test::twice<double>(double)", 1, 1);
	cyg_expect(&c, "ringprof_test::thrower(int)", 4, 4);
}

Test(cyg, summarize_folded_and_chrome_show_function_names)
{
	char *buf;

	cyg_record(build_path("tests/cyg_prog"), NULL, "tools",
		   "enabled=1 unnamed=0 reentered=0 functions=4\n");
	buf = cyg_cli("summarize", "--json", "tools");
	cr_expect_not_null(strstr(buf, "{\"item\":\"leaf\",\"count\":2000,"), "%s", buf);
	cr_expect_not_null(strstr(buf, "{\"item\":\"fib\",\"count\":1973,"), "%s", buf);
	free(buf);
	buf = cyg_cli("folded", NULL, "tools");
	cr_expect_not_null(strstr(buf, "\nmain;fib;fib;fib "), "%s", buf);
	cr_expect_not_null(strstr(buf, "worker;leaf "), "%s", buf);
	free(buf);
	buf = cyg_cli("chrome", NULL, "tools");
	cr_expect_not_null(strstr(buf, "\"name\":\"fib\""), "%.2000s", buf);
	cr_expect_null(strstr(buf, "+0x"), "an address left unresolved");
	free(buf);
}

Test(cyg, a_missing_file_shows_the_module_and_address)
{
	char copy[256], cmd[1200], *buf;

	snprintf(copy, sizeof(copy), "%s/gone_prog", cyg_daemon.dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", build_path("tests/cyg_prog"), copy);
	cr_assert_eq(system(cmd), 0);
	cyg_record(copy, NULL, "gone", "enabled=1 unnamed=0 reentered=0 functions=4\n");
	cr_assert_eq(unlink(copy), 0);
	buf = cyg_cli("summarize", NULL, "gone");
	cr_expect_not_null(strstr(buf, "\ngone_prog+0x"), "%s", buf);
	cr_expect_null(strstr(buf, "fib"), "%s", buf);
	free(buf);
}

Test(cyg, no_daemon_means_no_recording_and_a_normal_run)
{
	const char *argv[] = { build_path("tests/cyg_prog"), NULL };
	char sock[200];
	const char *env[] = { sock, NULL };
	char *out;

	snprintf(sock, sizeof(sock), "RINGPROF_SOCKET=%s/none.sock", cyg_daemon.dir);
	out = cyg_exec(argv, env);
	cr_expect_str_eq(out, "enabled=0 unnamed=0 reentered=0 functions=0\n");
	free(out);
}

Test(cyg, symbols_name_parses_only_adapter_arguments)
{
	struct symbols sym = { 0 };
	const char *a = "+0x7f0012345678@";

	cr_expect_str_eq(symbols_name(&sym, a, strlen(a)), "0x7f0012345678");
	a = "/nonexistent/dir/libgone.so+0x1a2b0@0badc0de";
	cr_expect_str_eq(symbols_name(&sym, a, strlen(a)), "libgone.so+0x1a2b0");
	a = "typeck(main)";
	cr_expect_null(symbols_name(&sym, a, strlen(a)));
	a = "/x+0x12@notHEX";
	cr_expect_null(symbols_name(&sym, a, strlen(a)));
	a = "/x+12@ab";
	cr_expect_null(symbols_name(&sym, a, strlen(a)));
	symbols_free(&sym);
}
