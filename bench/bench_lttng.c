/*
 * bench_lttng.c - the LTTng-UST baseline: one tracepoint with ringprof's
 * fields, recorded in the same bursts as bench_hot instant.  bench/run
 * starts lttng-sessiond, creates a user-space session with the event
 * ringprof_bench:event enabled, and runs this.
 *
 *   bench_lttng [--events N] [--burst B] [--gap-us U]
 *
 * Waits up to 5 s for the session to enable the tracepoint (registration
 * with the session daemon is asynchronous); prints one key=value line.
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "bench_lttng_tp.h"

#include <inttypes.h>

#include "bench.h"

__attribute__((noinline)) static void lttng_loop(uint32_t kind, uint32_t arg, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		lttng_ust_tracepoint(ringprof_bench, event, kind, arg);
}

int main(int argc, char **argv)
{
	uint64_t events = bench_opt(argc, argv, "events", 5000000);
	uint64_t burst = bench_opt(argc, argv, "burst", 16384);
	uint64_t gap_us = bench_opt(argc, argv, "gap-us", 200);
	uint64_t bursts, ns = 0, waited = 0;

	if (burst == 0)
		burst = 1;
	bursts = (events + burst - 1) / burst;
	while (!lttng_ust_tracepoint_enabled(ringprof_bench, event)) {
		if (waited++ >= 500) {
			fprintf(stderr, "bench_lttng: tracepoint ringprof_bench:event not enabled "
				"(no session?)\n");
			return 1;
		}
		bench_sleep_us(10000);
	}
	/* one untimed lap through the sub-buffers */
	BENCH_BURSTS((uint64_t)64, 1, gap_us, ns, i, lttng_loop(7, 3, burst));
	BENCH_BURSTS(bursts, 1, gap_us, ns, i, lttng_loop(7, 3, burst));
	printf("mode=lttng events=%" PRIu64 " ns_per_event=%.3f\n", bursts * burst,
	       (double)ns / (double)(bursts * burst));
	return 0;
}
