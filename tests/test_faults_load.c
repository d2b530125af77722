/*
 * Load: 32 client processes x 4 threads recording flat out for 30 s against
 * one ringprofd.  Every ring's accounting holds exactly (committed ==
 * written + dropped), the daemon's memory stays bounded, and the figures
 * (events/s written, drop rate, daemon memory) are printed for
 * RELIABILITY.md.  $RINGPROF_LOAD_SECONDS and $RINGPROF_LOAD_CLIENTS shorten
 * it for a quick look; the figures in RELIABILITY.md come from the default.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <ringprof/reader.h>

#include "faults_harness.h"

#define LOAD_CLIENTS_MAX 64
#define LOAD_THREADS 4
/* Daemon's own memory (RssAnon) allowed: its buffers are bounded by
 * --max-pending-bytes (64 MiB) per client at worst plus per-ring state;
 * far below this unless something grows without bound.  kB. */
#define LOAD_ANON_MAX_KB (1024u * 1024u)

static unsigned load_env(const char *name, unsigned def, unsigned max)
{
	const char *s = getenv(name);
	unsigned long v = s ? strtoul(s, NULL, 10) : def;

	return v == 0 || v > max ? def : (unsigned)v;
}

TestSuite(load, .init = ft_setup, .fini = ft_teardown, .timeout = 500);

Test(load, thirty_two_clients_of_four_threads_flat_out_for_thirty_seconds)
{
	static const char *args[] = { "--threads", "4", "--forever", "--hold", NULL };
	unsigned clients = load_env("RINGPROF_LOAD_CLIENTS", 32, LOAD_CLIENTS_MAX);
	unsigned seconds = load_env("RINGPROF_LOAD_SECONDS", 30, 600);
	static struct ft_client c[LOAD_CLIENTS_MAX];
	static uint64_t committed[LOAD_CLIENTS_MAX][FT_SLOTS];
	uint64_t total_committed = 0, total_written = 0, total_dropped = 0, samples = 0;
	struct ft_mem m, peak = { 0 };
	struct ft_read rd;
	int64_t start, end;

	ft_daemon_start(NULL);
	for (unsigned i = 0; i < clients; i++) {
		char counts[32];

		snprintf(counts, sizeof(counts), "load%02u", i);
		c[i] = ft_client_spawn("load", args, counts, NULL);
	}
	/* all registered before any records: on 2 cores, 100 threads flat out
	 * leave a registering daemon too little CPU to answer in 2 s */
	for (unsigned i = 0; i < clients; i++)
		ft_client_expect_line(&c[i], "ready");
	for (unsigned i = 0; i < clients; i++)
		cr_assert_eq(kill(c[i].pid, SIGUSR2), 0);
	for (unsigned i = 0; i < clients; i++)
		ft_client_expect_line(&c[i], "running");
	start = ft_now_ms();
	while ((end = ft_now_ms()) - start < (int64_t)seconds * 1000) {
		cr_assert(ft_daemon_mem(&m), "ringprofd is gone");
		if (m.rss_kb > peak.rss_kb)
			peak.rss_kb = m.rss_kb;
		if (m.anon_kb > peak.anon_kb)
			peak.anon_kb = m.anon_kb;
		peak.hwm_kb = m.hwm_kb;
		samples++;
		ft_sleep_ms(200);
	}
	for (unsigned i = 0; i < clients; i++)
		cr_assert_eq(kill(c[i].pid, SIGUSR1), 0, "client %d died", c[i].pid);
	for (unsigned i = 0; i < clients; i++) {
		int st = ft_client_finish(&c[i], committed[i], NULL);

		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client %d: status 0x%x",
			  c[i].pid, st);
	}
	cr_assert(ft_daemon_mem(&m));
	peak.hwm_kb = m.hwm_kb;
	cr_assert_eq(ft_daemon_stop(), 0);

	ft_read_all(&rd, ft.state, 0, false);
	cr_assert_eq(rd.sealed, rd.segments);
	for (unsigned i = 0; i < clients; i++) {
		uint64_t dropped = 0, dropped_client;

		for (int w = 0; w < LOAD_THREADS; w++) {
			struct ft_thread *t = ft_find(&rd, (uint32_t)c[i].pid, 0, w);
			uint64_t want = committed[i][w] + 1;  /* the name too */

			cr_assert_not_null(t, "pid %d worker-%d not in the segments", c[i].pid, w);
			cr_assert(t->has_loss && t->values_ok && !t->index_gap);
			cr_assert_eq(t->loss.written, t->records);
			/* committed == written + dropped, for every ring */
			cr_assert_eq(t->records + t->loss.client_dropped + t->loss.daemon_dropped, want,
				     "pid %d worker-%d: %" PRIu64 " written + %" PRIu64 " + %" PRIu64
				     " dropped != %" PRIu64 " committed", c[i].pid, w, t->records,
				     t->loss.client_dropped, t->loss.daemon_dropped, want);
			total_committed += want;
			total_written += t->records;
			dropped += t->loss.client_dropped + t->loss.daemon_dropped;
		}
		dropped_client = __atomic_load_n(&c[i].counts->dropped, __ATOMIC_ACQUIRE);
		cr_assert_leq(dropped_client, dropped, "pid %d: client counts %" PRIu64
			      " ring drops, the segments %" PRIu64, c[i].pid, dropped_client, dropped);
		total_dropped += dropped;
	}
	cr_assert_lt(peak.anon_kb, LOAD_ANON_MAX_KB, "ringprofd's own memory grew to %" PRIu64
		     " kB", peak.anon_kb);
	printf("load: %u clients x %d threads, %.1f s: %" PRIu64 " events committed, %" PRIu64
	       " written (%.2f M/s), %" PRIu64 " dropped (%.2f%%); ringprofd RssAnon peak %"
	       PRIu64 " kB, VmRSS peak %" PRIu64 " kB (with the client rings it maps), VmHWM %"
	       PRIu64 " kB, %" PRIu64 " samples\n", clients, LOAD_THREADS,
	       (double)(end - start) / 1000.0, total_committed, total_written,
	       (double)total_written / ((double)(end - start) / 1000.0) / 1e6, total_dropped,
	       100.0 * (double)total_dropped / (double)total_committed, peak.anon_kb,
	       peak.rss_kb, peak.hwm_kb, samples);
	fflush(stdout);
	ft_read_free(&rd);
}
