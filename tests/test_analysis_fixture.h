/*
 * test_analysis_fixture.h - fixed builds for test_analysis (see the top of
 * test_analysis_fixture.c for what they hold).
 */
#ifndef RINGPROF_TEST_ANALYSIS_FIXTURE_H
#define RINGPROF_TEST_ANALYSIS_FIXTURE_H

/* Write base/ and new/ into the current directory. */
void afx_builds(void);

/* One segment of one thread with an END without BEGIN, two intervals closed
 * out of order and one left open. */
void afx_unbalanced(const char *path);

#endif /* RINGPROF_TEST_ANALYSIS_FIXTURE_H */
