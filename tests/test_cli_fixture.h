/*
 * test_cli_fixture.h - fixed segments for test_reader and test_cli, built
 * with the segment writer of tools/lib (segwrite.h).
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

/* A fresh empty directory under /tmp; the caller removes it with fix_rmtree. */
char *fix_tmpdir(void);
void fix_rmtree(const char *dir);

#endif /* RINGPROF_TEST_CLI_FIXTURE_H */
