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

extern char **environ;

struct cyg_env {
	char dir[64], sock[100], state[128], log[128];
	pid_t daemon;
};

static struct cyg_env env;

/* Per function name: BEGINs and ENDs seen. */
struct cyg_count {
	char name[256];
	unsigned begins, ends;
};

struct cyg_counts {
	struct cyg_count c[64];
	size_t n;
	unsigned threads_seen;
};

static const char *cyg_build_dir(void)
{
	const char *b = getenv("RINGPROF_BUILD_DIR");

	return b ? b : RINGPROF_BUILD_DIR;
}

static void cyg_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static bool cyg_socket_is_up(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return up;
}

static void cyg_daemon_start(void)
{
	char bin[512];
	posix_spawn_file_actions_t fa;
	int st;

	strcpy(env.dir, "/tmp/ringprof-cyg.XXXXXX");
	cr_assert_not_null(mkdtemp(env.dir));
	snprintf(env.sock, sizeof(env.sock), "%s/rp.sock", env.dir);
	snprintf(env.state, sizeof(env.state), "%s/state", env.dir);
	snprintf(env.log, sizeof(env.log), "%s/ringprofd.log", env.dir);
	snprintf(bin, sizeof(bin), "%s/daemon/ringprofd", cyg_build_dir());
	char *argv[] = { bin, "--socket", env.sock, "--state-dir", env.state, NULL };
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, env.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(posix_spawn(&env.daemon, bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; !cyg_socket_is_up(env.sock); i++) {
		cr_assert_neq(waitpid(env.daemon, &st, WNOHANG), env.daemon,
			      "ringprofd exited during start-up");
		cr_assert_lt(i, 1000, "ringprofd did not listen within 10 s");
		cyg_sleep_ms(10);
	}
}

/* SIGTERM: everything drained and sealed when it returns. */
static void cyg_daemon_stop(void)
{
	int st;

	if (env.daemon <= 0)
		return;
	kill(env.daemon, SIGTERM);
	cr_assert_eq(waitpid(env.daemon, &st, 0), env.daemon);
	env.daemon = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ringprofd failed");
}

static void cyg_teardown(void)
{
	char cmd[160];

	if (env.daemon > 0) {
		kill(env.daemon, SIGKILL);
		waitpid(env.daemon, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env.dir);
	if (env.dir[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", env.dir);
}

/* Run prog (arg may be NULL) in session, recording; its stdout into out. */
static void cyg_run(const char *prog, const char *arg, const char *session, char *out,
		    size_t outlen)
{
	char cmd[1024];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "RINGPROF_SOCKET='%s' RINGPROF_SESSION=%s '%s' %s", env.sock,
		 session, prog, arg ? arg : "");
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed", prog);
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
	snprintf(path, sizeof(path), "%s/%s", env.state, session);
	r = rp_reader_open(paths, 1, 0, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	while ((ret = rp_reader_next(r, &it)) == 1) {
		symbols_item(&sym, &it);
		if (it.kind == RP_ITEM_THREAD && it.thread.t.event == RP_THREAD_START)
			c->threads_seen++;
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

static void cyg_prog_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/tests/%s", cyg_build_dir(), name);
}

/* Output of `ringprof <args> <session dir>` into buf. */
static void cyg_cli(const char *args, const char *session, char *buf, size_t len)
{
	char cmd[1024];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "'%s/tools/cli/ringprof' %s '%s/%s'", cyg_build_dir(), args,
		 env.state, session);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(buf, 1, len - 1, p);
	buf[n] = '\0';
	cr_assert_eq(fgetc(p), EOF, "%s: more than %zu bytes of output", cmd, len - 1);
	cr_assert_eq(pclose(p), 0, "%s failed", cmd);
}

TestSuite(cyg, .init = cyg_daemon_start, .fini = cyg_teardown, .timeout = 60);

Test(cyg, every_call_of_a_c_program_is_one_named_interval)
{
	char prog[512], out[256];
	struct cyg_counts c;

	cyg_prog_path(prog, sizeof(prog), "cyg_prog");
	cyg_run(prog, NULL, "c", out, sizeof(out));
	cr_expect_str_eq(out, "enabled=1 unnamed=0 reentered=0 functions=4\n");
	cyg_daemon_stop();
	cyg_read("c", &c);
	cr_expect_eq(c.n, 4, "functions seen: %zu", c.n);
	cyg_expect(&c, "main", 1, 1);
	cyg_expect(&c, "leaf", 2000, 2000);
	cyg_expect(&c, "fib", 1973, 1973);
	cyg_expect(&c, "worker", 2, 2);
	cr_expect_eq(c.threads_seen, 3);
}

Test(cyg, longjmp_leaves_the_skipped_frames_open)
{
	char prog[512], out[256], sum[8192];
	struct cyg_counts c;

	cyg_prog_path(prog, sizeof(prog), "cyg_prog");
	cyg_run(prog, "jump", "jump", out, sizeof(out));
	cr_expect_str_eq(out, "enabled=1 unnamed=0 reentered=0 functions=6\n");
	cyg_daemon_stop();
	cyg_read("jump", &c);
	cyg_expect(&c, "jump_outer", 1, 0);
	cyg_expect(&c, "jump_inner", 1, 0);
	cyg_expect(&c, "main", 1, 1);
	cyg_cli("summarize", "jump", sum, sizeof(sum));
	cr_expect_not_null(strstr(sum, "warning: 0 ENDs without BEGIN, 1 interval closed out of "
				       "order, 2 intervals still open at the end"), "%s", sum);
}

Test(cyg, cxx_names_are_demangled_and_exceptions_close_their_frames)
{
	char prog[512], out[256];
	struct cyg_counts c;

	cyg_prog_path(prog, sizeof(prog), "cyg_prog_cxx");
	cyg_run(prog, NULL, "cxx", out, sizeof(out));
	cr_expect_str_eq(out, "50\n");
	cyg_daemon_stop();
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
	static char buf[4 << 20];
	char prog[512], out[256];

	cyg_prog_path(prog, sizeof(prog), "cyg_prog");
	cyg_run(prog, NULL, "tools", out, sizeof(out));
	cyg_daemon_stop();
	cyg_cli("summarize --json", "tools", buf, sizeof(buf));
	cr_expect_not_null(strstr(buf, "{\"item\":\"leaf\",\"count\":2000,"), "%s", buf);
	cr_expect_not_null(strstr(buf, "{\"item\":\"fib\",\"count\":1973,"), "%s", buf);
	cyg_cli("folded", "tools", buf, sizeof(buf));
	cr_expect_not_null(strstr(buf, "\nmain;fib;fib;fib "), "%s", buf);
	cr_expect_not_null(strstr(buf, "worker;leaf "), "%s", buf);
	cyg_cli("chrome", "tools", buf, sizeof(buf));
	cr_expect_not_null(strstr(buf, "\"name\":\"fib\""), "%.2000s", buf);
	cr_expect_null(strstr(buf, "+0x"), "an address left unresolved");
}

Test(cyg, a_missing_file_shows_the_module_and_address)
{
	char prog[512], copy[256], out[256], cmd[1200], buf[8192];

	cyg_prog_path(prog, sizeof(prog), "cyg_prog");
	snprintf(copy, sizeof(copy), "%s/gone_prog", env.dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", prog, copy);
	cr_assert_eq(system(cmd), 0);
	cyg_run(copy, NULL, "gone", out, sizeof(out));
	cyg_daemon_stop();
	cr_assert_eq(unlink(copy), 0);
	cyg_cli("summarize", "gone", buf, sizeof(buf));
	cr_expect_not_null(strstr(buf, "\ngone_prog+0x"), "%s", buf);
	cr_expect_null(strstr(buf, "fib"), "%s", buf);
}

Test(cyg, no_daemon_means_no_recording_and_a_normal_run)
{
	char prog[512], cmd[700], out[256];
	FILE *p;
	size_t n;

	cyg_prog_path(prog, sizeof(prog), "cyg_prog");
	snprintf(cmd, sizeof(cmd), "RINGPROF_SOCKET=%s/none.sock '%s'", env.dir, prog);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	cr_assert_eq(pclose(p), 0);
	cr_expect_str_eq(out, "enabled=0 unnamed=0 reentered=0 functions=0\n");
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
