/*
 * clock.c - the daemon's clocks: CLOCK_MONOTONIC/REALTIME and the TSC.
 *
 * Clients stamp events with the TSC or CLOCK_MONOTONIC.  Segments carry the
 * daemon's own estimate of the TSC rate: calibrated over ~50 ms at start-up
 * and refined from the same origin as the daemon runs, so the estimate gets
 * better the longer the baseline.
 */
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define CLOCK_HAS_TSC 1
#else
#define CLOCK_HAS_TSC 0
#endif

#include "ringprofd.h"

#define CLOCK_CALIBRATE_NS (50ull * RPD_NSEC_PER_MSEC)

static uint64_t clock_origin_ns;    /* CLOCK_MONOTONIC at calibration start */
static uint64_t clock_origin_tsc;
static uint64_t clock_tsc_hz;

static uint64_t clock_read(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * RPD_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t clock_mono_ns(void)
{
	return clock_read(CLOCK_MONOTONIC);
}

uint64_t clock_real_ns(void)
{
	return clock_read(CLOCK_REALTIME);
}

static uint64_t clock_tsc(void)
{
#if CLOCK_HAS_TSC
	return __rdtsc();
#else
	return 0;
#endif
}

/* Ticks per second from the origin to now; 0 when no time passed. */
static uint64_t clock_rate(void)
{
	uint64_t ns = clock_mono_ns() - clock_origin_ns;
	uint64_t ticks = clock_tsc() - clock_origin_tsc;

	if (ns == 0)
		return 0;
	return (uint64_t)((unsigned __int128)ticks * RPD_NSEC_PER_SEC / ns);
}

void clock_init(void)
{
	struct timespec nap = { 0, (long)CLOCK_CALIBRATE_NS };

	clock_origin_ns = clock_mono_ns();
	clock_origin_tsc = clock_tsc();
	if (!CLOCK_HAS_TSC)
		return;
	while (nanosleep(&nap, &nap) != 0)
		;
	clock_tsc_hz = clock_rate();
}

void clock_refine(void)
{
	uint64_t hz;

	if (!CLOCK_HAS_TSC)
		return;
	hz = clock_rate();
	if (hz != 0)
		clock_tsc_hz = hz;
}

bool clock_is_supported(uint32_t clock_source)
{
	if (clock_source == RP_CLOCK_MONOTONIC)
		return true;
	return clock_source == RP_CLOCK_TSC && CLOCK_HAS_TSC && clock_tsc_hz != 0;
}

uint64_t clock_ticks(uint32_t clock_source)
{
	return clock_source == RP_CLOCK_TSC ? clock_tsc() : clock_mono_ns();
}

uint64_t clock_tick_hz(uint32_t clock_source)
{
	return clock_source == RP_CLOCK_TSC ? clock_tsc_hz : RPD_NSEC_PER_SEC;
}
