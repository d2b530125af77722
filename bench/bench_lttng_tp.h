/*
 * bench_lttng_tp.h - the LTTng-UST tracepoint of the baseline: one event
 * with ringprof's fields (kind, argument; LTTng adds the timestamp).
 * Included only by bench_lttng.c.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER ringprof_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "bench_lttng_tp.h"

#if !defined(RINGPROF_BENCH_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define RINGPROF_BENCH_LTTNG_TP_H

#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(ringprof_bench, event,
	LTTNG_UST_TP_ARGS(uint32_t, kind, uint32_t, arg),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, kind, kind)
		lttng_ust_field_integer(uint32_t, arg, arg)))

#endif /* RINGPROF_BENCH_LTTNG_TP_H */

#include <lttng/tracepoint-event.h>
