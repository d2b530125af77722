/*
 * test_cli_fixture.c - fixed segments for test_reader and test_cli.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "test_cli_fixture.h"

static void fix_info(struct rp_seg_info *in, uint32_t pid, const char *name, uint32_t seq)
{
	memset(in, 0, sizeof(*in));
	in->pid = pid;
	in->clock_source = RP_CLOCK_TSC;
	in->tick_hz = FIX_HZ;
	in->clock_ticks = FIX_TICKS0;
	in->clock_mono_ns = FIX_MONO0;
	in->clock_real_ns = UINT64_C(1700000000000000000);
	in->client_id = 7;
	in->segment_seq = seq;
	in->daemon_pid = 99;
	strcpy(in->boot_id, "0b7e6f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
	strcpy(in->host, "buildhost");
	strcpy(in->name, name);
	strcpy(in->session, "build1");
}

#define S(id, text) { id, sizeof(text) - 1, text }
#define EV(t, k, a, ns) { .type = RP_REC_##t, .id = k, .arg = a, .ts = FIX_TICKS(ns) }

void fix_main_segment(struct rp_segwrite *w, uint32_t seq, bool sealed, bool compress)
{
	static const char cmdline[] = "rustc\0--edition=2021\0main.rs";
	static const struct rp_segenc_string strings[] = {
		S(1, "Query"), S(2, "typeck(main)"), S(3, "QueryCacheHit"),
		S(4, "ArtifactSize"), S(5, "main.o"), S(6, "GenericActivity"),
		S(7, "codegen"), S(8, "worker-1"), S(9, "type_of(x)"),
	};
	static const struct rp_seg_thread start[] = {
		{ .thread = 1, .tid = 555, .slot = 0, .event = RP_THREAD_START, .ticks = FIX_TICKS(0) },
		{ .thread = 2, .tid = 556, .slot = 1, .event = RP_THREAD_START, .ticks = FIX_TICKS(0) },
	};
	static const struct rp_event t1a[] = {
		EV(THREAD_NAME, 8, 0, 0),
		EV(BEGIN, 6, 7, 1000000),
		EV(BEGIN, 1, 2, 2000000),
		EV(INSTANT, 3, 9, 2500000),
	};
	/* after the CLOCK pair, whose mono_ns runs 1000 ns ahead */
	static const struct rp_event t1b[] = {
		EV(BEGIN, 1, 9, 3000000),
		EV(END, 1, 9, 4000000),
		EV(END, 1, 2, 6000000),
		{ .type = RP_REC_INTEGER, .id = 4, .arg = 5, .ts = FIX_TICKS(7000000), .value = 12345 },
		EV(END, 6, 7, 10000000),
		EV(INSTANT, 3, 2, 10500000),
	};
	static const struct rp_event t2[] = {
		EV(BEGIN, 1, 2, 1000000),
		EV(END, 1, 2, 1500000),
	};
	static const struct rp_seg_clock clock = {
		.ticks = FIX_TICKS(5000000),
		.mono_ns = FIX_MONO0 + 5000000 + 1000,
		.real_ns = UINT64_C(1700000000000000000) + 5000000,
	};
	static const struct rp_seg_loss loss[] = {
		{ .thread = 1, .written = 10 },
		{ .thread = 2, .written = 2, .client_dropped = 3, .daemon_dropped = 1 },
	};
	static const struct rp_seg_thread end[] = {
		{ .thread = 1, .tid = 555, .slot = 0, .event = RP_THREAD_END, .ticks = FIX_TICKS(11000000) },
	};
	struct rp_seg_info in;

	fix_info(&in, 4242, "rustc", seq);
	cr_assert_eq(rp_segwrite_open(w, -1, 3, compress, &in, cmdline, sizeof(cmdline) - 1), 0);
	cr_assert_eq(rp_segwrite_strings(w, strings, 9), 0);
	cr_assert_eq(rp_segwrite_threads(w, start, 2), 0);
	cr_assert_eq(rp_segwrite_events(w, 1, 0, FIX_TICKS(0), t1a, 4), 0);
	cr_assert_eq(rp_segwrite_clock(w, &clock, 1), 0);
	cr_assert_eq(rp_segwrite_events(w, 1, 4, FIX_TICKS(2500000), t1b, 6), 0);
	cr_assert_eq(rp_segwrite_events(w, 2, 0, FIX_TICKS(0), t2, 2), 0);
	cr_assert_eq(rp_segwrite_loss(w, loss, 2), 0);
	cr_assert_eq(rp_segwrite_threads(w, end, 1), 0);
	if (sealed)
		cr_assert_eq(rp_segwrite_seal(w, RP_SEG_END_EXIT, FIX_TICKS(12000000)), 0);
}

void fix_unbalanced_segment(struct rp_segwrite *w)
{
	static const struct rp_segenc_string strings[] = {
		S(1, "Query"), S(2, "a"), S(3, "b"), S(4, "c"),
	};
	static const struct rp_event ev[] = {
		EV(END, 1, 4, 500000),      /* no BEGIN */
		EV(BEGIN, 1, 2, 1000000),   /* a: 1..5 ms */
		EV(BEGIN, 1, 3, 2000000),   /* b: 2..6 ms, overlaps a's end */
		EV(END, 1, 2, 5000000),     /* closes a out of order */
		EV(END, 1, 3, 6000000),
		EV(BEGIN, 1, 4, 7000000),   /* c: never closed */
	};
	struct rp_seg_info in;

	fix_info(&in, 77, "cc1", 0);
	cr_assert_eq(rp_segwrite_open(w, -1, 3, false, &in, "cc1", 3), 0);
	cr_assert_eq(rp_segwrite_strings(w, strings, 4), 0);
	cr_assert_eq(rp_segwrite_events(w, 1, 0, FIX_TICKS(0), ev, 6), 0);
	cr_assert_eq(rp_segwrite_seal(w, RP_SEG_END_SHUTDOWN, FIX_TICKS(8000000)), 0);
}

void fix_write_file(const char *path, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0, "open %s", path);
	cr_assert_eq(write(fd, bytes, len), (ssize_t)len);
	cr_assert_eq(close(fd), 0);
}

char *fix_tmpdir(void)
{
	char *dir = strdup("/tmp/ringprof-test.XXXXXX");

	cr_assert_not_null(dir);
	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

static int fix_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fix_rmtree(const char *dir)
{
	nftw(dir, fix_rm, 16, FTW_DEPTH | FTW_PHYS);
}

char *fix_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int c;

	cr_assert_not_null(f, "open %s", path);
	cr_assert_not_null(m);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	return buf;
}

void fix_run(struct fix_run *r, const char *prog, const char *env, const char *const *args)
{
	const char *build = getenv("RINGPROF_BUILD_DIR");
	char *bin, *argv[24];
	pid_t pid;
	int st, n = 0;

	if (prog)
		bin = strdup(prog);
	else
		cr_assert_gt(asprintf(&bin, "%s/tools/cli/ringprof",
				      build ? build : RINGPROF_BUILD_DIR), 0);
	cr_assert_not_null(bin);
	argv[n++] = bin;
	for (; args[n - 1]; n++) {
		cr_assert_lt(n, 23);
		argv[n] = (char *)args[n - 1];
	}
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int o = open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		unsetenv("RINGPROF_PROGRESS");
		if (env)
			putenv((char *)env);
		execv(bin, argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "%s died with signal %d", bin, WTERMSIG(st));
	r->status = WEXITSTATUS(st);
	r->out = fix_slurp("stdout.txt");
	r->err = fix_slurp("stderr.txt");
	free(bin);
}

void fix_expect(const char *const *args, int status, const char *out, const char *err)
{
	struct fix_run r;

	fix_run(&r, NULL, NULL, args);
	cr_assert_str_eq(r.out, out);
	cr_assert_str_eq(r.err, err);
	cr_assert_eq(r.status, status, "exit status %d", r.status);
	free(r.out);
	free(r.err);
}
