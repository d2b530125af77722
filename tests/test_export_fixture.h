/*
 * test_export_fixture.h - fixed segments for test_export and the fuzzers'
 * seed corpus (times in the clock of test_cli_fixture.h).
 */
#ifndef RINGPROF_TEST_EXPORT_FIXTURE_H
#define RINGPROF_TEST_EXPORT_FIXTURE_H

#include <stdbool.h>

#include "segwrite.h"

/* Process "cc" (pid 100), segment 0 of 2: thread 1 nests A > B > C(x), then
 * B again, then starts the recursion f(1) > f(2); thread 2 nests A > B. */
void xfix_cc_first(struct rp_segwrite *w, bool compress);

/* Process "cc", segment 1 (other string ids): f(3) inside f(2), then f(2)
 * and f(1) end; LOSS items. */
void xfix_cc_second(struct rp_segwrite *w, bool compress);

/* Process "ld" (pid 101), unsealed: thread 1 named "linker", link closed out
 * of order around lto(main), which stays open; an END without BEGIN. */
void xfix_ld(struct rp_segwrite *w, bool compress);

/* Process "we\"ird\x01" (pid 300): strings with quotes, backslashes,
 * controls, valid and invalid UTF-8 and ';'. */
void xfix_escape(struct rp_segwrite *w, bool compress);

#endif /* RINGPROF_TEST_EXPORT_FIXTURE_H */
