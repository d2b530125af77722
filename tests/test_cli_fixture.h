/*
 * test_cli_fixture.h - fixed segments for the reader and command suites,
 * built with the segment writer of tools/lib (segwrite.h), and a runner for
 * the built `ringprof` command.
 */
#ifndef RINGPROF_TEST_CLI_FIXTURE_H
#define RINGPROF_TEST_CLI_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segwrite.h"

/* The clock of the fixtures: 2 ticks per ns, correlated at ticks 1000 with
 * CLOCK_MONOTONIC 5 s.  FIX_TICKS(ns) is the tick value ns after that. */
#define FIX_HZ        2000000000u
#define FIX_TICKS0    1000u
#define FIX_MONO0     UINT64_C(5000000000)
#define FIX_TICKS(ns) (FIX_TICKS0 + 2 * (uint64_t)(ns))

/*
 * The main fixture, blocks in this order (offsets in fix_offsets):
 *   HEADER (pid 4242 "rustc" session "build1" seq given), STRINGS (9),
 *   THREADS (t1, t2 start), EVENTS t1 #0..3, CLOCK (mono +1000 ns),
 *   EVENTS t1 #4..9, EVENTS t2 #0..1, LOSS (t1, t2), THREADS (t1 end), FOOTER.
 * (9 blocks before the FOOTER.)  When sealed is false it stops before FOOTER.
 */
void fix_main_segment(struct rp_segwrite *w, uint32_t seq, bool sealed, bool compress);

/* A segment of one thread with unbalanced intervals: an END without BEGIN,
 * two intervals closed out of order and one left open. */
void fix_unbalanced_segment(struct rp_segwrite *w);

/* Write bytes to path (created or truncated). */
void fix_write_file(const char *path, const void *bytes, size_t len);

/* What a program run by fix_run() did: exit status, stdout, stderr (malloc'd). */
struct fix_run {
	int status;
	char *out, *err;
};

/* The whole of path, NUL-terminated and malloc'd; fails the test when it
 * cannot be read. */
char *fix_slurp(const char *path);

/* Run prog (NULL: the built `ringprof`) with args (NULL-terminated, without
 * argv[0]) in the current directory, its output through stdout.txt and
 * stderr.txt into *r.  RINGPROF_PROGRESS is unset; env ("NAME=value"), when
 * given, is set.  Fails the test when prog dies of a signal. */
void fix_run(struct fix_run *r, const char *prog, const char *env, const char *const *args);

/* Run the built `ringprof` with args; check stdout, stderr and the exit
 * status exactly. */
void fix_expect(const char *const *args, int status, const char *out, const char *err);

#define FIX_ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* A fresh empty directory under /tmp; the caller removes it with fix_rmtree. */
char *fix_tmpdir(void);
void fix_rmtree(const char *dir);

#endif /* RINGPROF_TEST_CLI_FIXTURE_H */
