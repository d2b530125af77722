/*
 * bench.h - what the ringprof benchmark programs share: a clock for timing
 * loops, option parsing, and the output format bench/run reads.
 *
 * Every program prints its results as one line of key=value pairs on
 * stdout (e.g. "ns_per_event=9.81 events=5000000 dropped=0"); bench/run
 * runs it repeatedly and computes medians, spreads and ratios.
 */
#ifndef RINGPROF_BENCH_H
#define RINGPROF_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CLOCK_MONOTONIC in ns: times whole loops, never single events. */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the calling thread in ns: excludes the time it was not
 * running (preempted by the drain on a small machine). */
static inline uint64_t bench_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps us microseconds (the gap that lets the drain catch up). */
static inline void bench_sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000u), (long)(us % 1000000u) * 1000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Keeps v alive and opaque: the compiler may neither drop the computation
 * that produced it nor hoist a test of it out of a loop. */
#define BENCH_OPAQUE(v) __asm__ volatile("" : "+r"(v))

/* Parses "--name value" pairs: returns the value of --name as an unsigned
 * number, or def when absent; exits with a message on a malformed one. */
static inline uint64_t bench_opt(int argc, char **argv, const char *name, uint64_t def)
{
	for (int i = 2; i + 1 < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, name) == 0) {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(argv[i + 1], &end, 0);
			if (errno != 0 || end == argv[i + 1] || *end != '\0') {
				fprintf(stderr, "%s: --%s: not a number: '%s'\n", argv[0], name,
					argv[i + 1]);
				exit(2);
			}
			return v;
		}
	}
	return def;
}

/* The string value of --name, or def when absent. */
static inline const char *bench_opt_str(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, name) == 0)
			return argv[i + 1];
	return def;
}

/*
 * Runs body total times, in bursts of burst iterations with a sleep of
 * gap_us between them; only the bursts are timed, into ns_out (wall) and
 * bench_burst_cpu_ns (the thread's CPU time).  i is the
 * iteration index inside a burst.  The gaps stand for the work a compiler
 * does between events and give the drain its turn on a small machine.
 */
static _Thread_local uint64_t bench_burst_cpu_ns __attribute__((unused));

#define BENCH_BURSTS(total, burst, gap_us, ns_out, i, body)                        \
	do {                                                                      \
		uint64_t bench_done_ = 0, bench_ns_ = 0;                          \
		while (bench_done_ < (total)) {                                   \
			uint64_t bench_n_ = (total) - bench_done_;                \
			uint64_t bench_t0_;                                       \
			if (bench_n_ > (burst))                                   \
				bench_n_ = (burst);                               \
			uint64_t bench_c0_ = bench_thread_cpu_ns();               \
			bench_t0_ = bench_now_ns();                               \
			for (uint64_t i = 0; i < bench_n_; i++) {                 \
				body;                                             \
			}                                                         \
			bench_ns_ += bench_now_ns() - bench_t0_;                  \
			bench_burst_cpu_ns += bench_thread_cpu_ns() - bench_c0_;  \
			bench_done_ += bench_n_;                                  \
			if ((gap_us) != 0)                                        \
				bench_sleep_us(gap_us);                           \
		}                                                                 \
		(ns_out) = bench_ns_;                                             \
	} while (0)

#endif /* RINGPROF_BENCH_H */
