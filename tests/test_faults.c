/*
 * Faults and load: a real ringprofd and real e2e_client processes, killed,
 * restarted and exited every way a compiler can end, with every event read
 * back and accounted exactly (RELIABILITY.md gives the figures).
 *
 * Each e2e_client thread publishes its count of committed events in a
 * MAP_SHARED counts file after every commit, so after a SIGKILL the test
 * knows that c or c + 1 events were committed.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ringprof/reader.h>

#include "faults_harness.h"

static void faults_init(void)
{
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);  /* the abort() test */
	ft_setup();
	ft_daemon_start(NULL);
}

static uint64_t faults_count(const struct ft_counts *m, unsigned slot)
{
	return __atomic_load_n(&m->committed[slot], __ATOMIC_ACQUIRE);
}

/* Intervals a --nest thread has open after n events. */
static unsigned faults_nest_depth(uint64_t n)
{
	/* after BEGIN Query (1), BEGIN QueryBlocked (2), the INTEGER (2),
	 * END QueryBlocked (1), END Query (0) */
	static const unsigned depth[5] = { 0, 1, 2, 2, 1 };

	return depth[n % 5];
}

/* Wait until every segment under dir is sealed (at least want of them). */
static void faults_wait_sealed(const char *dir, unsigned want)
{
	int64_t deadline = ft_now_ms() + 30000;

	for (;;) {
		const char *paths[] = { dir };
		char err[512];
		struct rp_reader *r = rp_reader_open(paths, 1, RP_READER_ALLOW_UNSEALED |
						     RP_READER_RECOVER, err, sizeof(err));
		struct rp_item it;
		unsigned files = 0, sealed = 0;

		if (r) {
			while (rp_reader_next(r, &it) == 1) {
				files += it.kind == RP_ITEM_SEGMENT;
				sealed += it.kind == RP_ITEM_FOOTER;
			}
			rp_reader_close(r);
		}
		if (files >= want && sealed == files)
			return;
		if (ft_now_ms() > deadline) {
			ft_dump_log();
			cr_assert_fail("%s: %u segments, %u sealed after 30 s", dir, files, sealed);
		}
		ft_sleep_ms(10);
	}
}

/* The thread of pid that recorded worker w, which must exist. */
static struct ft_thread *faults_worker(struct ft_read *rd, uint32_t pid, int w)
{
	struct ft_thread *t = ft_find(rd, pid, 0, w);

	cr_assert_not_null(t, "pid %u: no thread of worker-%d in the segments", pid, w);
	return t;
}

/* The thread of pid that recorded worker w under a daemon other than
 * first; NULL when none. */
static struct ft_thread *faults_after(struct ft_read *rd, uint32_t pid, uint64_t first, int w)
{
	struct ft_thread *b = NULL;

	for (size_t k = 0; k < rd->n; k++)
		if (rd->th[k].pid == pid && rd->th[k].worker == w && rd->th[k].daemon_pid != first)
			b = &rd->th[k];
	return b;
}

/* Every event of worker w of pid committed == written: exact, no loss. */
static void faults_exact(struct ft_read *rd, uint32_t pid, int w, uint64_t committed)
{
	struct ft_thread *t = faults_worker(rd, pid, w);

	cr_assert_eq(t->events, committed, "pid %u worker-%d: %" PRIu64 " events read, %" PRIu64
		     " committed", pid, w, t->events, committed);
	cr_assert_eq(t->records, committed + 1, "pid %u worker-%d: name + events", pid, w);
	cr_assert(!t->index_gap && t->values_ok && t->nest_ok, "pid %u worker-%d: bad sequence",
		  pid, w);
	cr_assert(t->has_loss && t->ended, "pid %u worker-%d: no LOSS or END", pid, w);
	cr_assert_eq(t->loss.written, committed + 1);
	cr_assert_eq(t->loss.client_dropped, 0);
	cr_assert_eq(t->loss.daemon_dropped, 0);
}

TestSuite(faults, .init = faults_init, .fini = ft_teardown, .timeout = 240);

Test(faults, client_sigkill_at_fifty_random_points_loses_nothing_committed)
{
	enum { TRIALS = 50, THREADS = 3 };
	static const char *args[] = { "--threads", "3", "--forever", "--nest", NULL };
	static const char *lossless[] = { "RINGPROF_LOSSLESS=1", NULL };
	unsigned seed = (unsigned)getpid(), total_open = 0;
	uint64_t total_events = 0;

	fprintf(stderr, "faults: client kill trials, seed %u\n", seed);
	for (int trial = 0; trial < TRIALS; trial++) {
		char session[32], dir[256], counts[32], out[1 << 16], want[256];
		struct ft_client c;
		struct ft_read rd;
		uint64_t committed[THREADS];
		unsigned open = 0;
		int st;

		snprintf(session, sizeof(session), "kill%02d", trial);
		snprintf(counts, sizeof(counts), "counts%02d", trial);
		snprintf(dir, sizeof(dir), "%s/%s", ft.state, session);
		c = ft_client_spawn(session, args, counts, lossless);
		ft_client_expect_line(&c, "running");
		for (unsigned t = 0; t < THREADS; t++)
			while (faults_count(c.counts, t) == 0)
				ft_sleep_ms(1);
		ft_sleep_ms(rand_r(&seed) % 80);
		cr_assert_eq(kill(c.pid, SIGKILL), 0);
		cr_assert_eq(waitpid(c.pid, &st, 0), c.pid);
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		fclose(c.out);
		for (unsigned t = 0; t < THREADS; t++)
			committed[t] = faults_count(c.counts, t);

		faults_wait_sealed(dir, 1);
		ft_read_all(&rd, dir, 0, true);
		cr_assert_eq(rd.sealed, rd.segments);
		for (int t = 0; t < THREADS; t++) {
			struct ft_thread *th = faults_worker(&rd, (uint32_t)c.pid, t);

			/* committed then counted: the count may lag by one.  A
			 * lossless producer drops (counted) only if the daemon's
			 * heartbeat stalls for a second: the message says so. */
			cr_assert(th->events == committed[t] || th->events == committed[t] + 1,
				  "trial %d worker-%d: %" PRIu64 " events read, count says %" PRIu64
				  " (LOSS: %" PRIu64 " dropped by the client, %" PRIu64
				  " by the daemon)", trial, t, th->events, committed[t],
				  th->loss.client_dropped, th->loss.daemon_dropped);
			cr_assert(!th->index_gap && th->values_ok && th->nest_ok,
				  "trial %d worker-%d: the sequence has a gap", trial, t);
			cr_assert(th->has_loss && th->ended);
			cr_assert_eq(th->loss.written, th->records);
			cr_assert_eq(th->loss.client_dropped + th->loss.daemon_dropped, 0);
			open += faults_nest_depth(th->events);
			total_events += th->events;
		}
		/* what the process was doing: summarize counts it, dump lists it */
		{
			const char *sum[] = { "summarize", dir, NULL };

			cr_assert_eq(ft_cli(out, sizeof(out), NULL, sum), 0);
			snprintf(want, sizeof(want), "warning: 0 ENDs without BEGIN, 0 intervals "
				 "closed out of order, %u %s still open at the end, 0 events with "
				 "undefined strings\n", open, open == 1 ? "interval" : "intervals");
			if (open != 0)
				cr_assert_not_null(strstr(out, want), "trial %d: summarize says\n%s",
						   trial, out);
			else
				cr_assert_null(strstr(out, "still open"), "%s", out);
		}
		{
			const char *dump[] = { "dump", dir, NULL };

			cr_assert_eq(ft_cli(out, sizeof(out), "open at end", dump), 0);
			for (unsigned t = 0; t < THREADS; t++) {
				struct ft_thread *th = faults_worker(&rd, (uint32_t)c.pid, (int)t);
				unsigned d = faults_nest_depth(th->events);
				uint64_t k = (th->events / 5) % 16;
				char line[160], tail[120];

				if (d == 0)
					continue;
				if (d == 1)
					snprintf(tail, sizeof(tail), "Query  t%u-k%" PRIu64, t, k);
				else
					snprintf(tail, sizeof(tail), "Query  t%u-k%" PRIu64
						 " > QueryBlocked  t%u-k%" PRIu64, t, k, t, k);
				snprintf(line, sizeof(line), "  t%u  open at end: %s\n", th->thread, tail);
				cr_assert_not_null(strstr(out, line), "trial %d: no \"%s\" in dump",
						   trial, line);
			}
		}
		total_open += open;
		ft_read_free(&rd);
		munmap(c.counts, sizeof(*c.counts));
	}
	fprintf(stderr, "faults: %d client kills, %" PRIu64 " events read back, %u intervals "
		"open at death, 0 lost\n", TRIALS, total_events, total_open);
}

/* Wait until every client's counts file says it registered `want` times. */
static int64_t faults_wait_registered(struct ft_client *c, unsigned n, uint64_t want)
{
	int64_t start = ft_now_ms();

	for (unsigned i = 0; i < n; i++) {
		while (__atomic_load_n(&c[i].counts->registrations, __ATOMIC_ACQUIRE) < want) {
			if (ft_now_ms() - start > 20000) {
				ft_dump_log();
				cr_assert_fail("client %d not registered %" PRIu64 " times in 20 s",
					       c[i].pid, want);
			}
			ft_sleep_ms(5);
		}
	}
	return ft_now_ms() - start;
}

Test(faults, daemon_sigkill_under_load_then_restart_takes_the_clients_back)
{
	enum { CLIENTS = 3, THREADS = 2 };
	static const char *args[] = { "--threads", "2", "--forever", NULL };
	struct ft_client c[CLIENTS];
	uint64_t before[CLIENTS][THREADS], committed[CLIENTS][FT_SLOTS];
	/* blocks cut every 50 ms: the killed daemon has written some */
	static const char *flush[] = { "--flush-ms", "50", NULL };
	uint64_t first_daemon, dropped = 0, before_kill = 0, inherited = 0;
	int64_t back_ms;
	struct ft_read rd;

	cr_assert_eq(ft_daemon_stop(), 0);
	ft_daemon_start(flush);
	first_daemon = (uint64_t)ft.daemon;

	for (int i = 0; i < CLIENTS; i++) {
		char counts[32];

		snprintf(counts, sizeof(counts), "restart%d", i);
		c[i] = ft_client_spawn("restart", args, counts, NULL);
		ft_client_expect_line(&c[i], "running");
	}
	ft_sleep_ms(400);
	ft_daemon_kill();

	/* Nobody drains: the clients go on recording, without fault or stall. */
	for (int i = 0; i < CLIENTS; i++)
		for (int t = 0; t < THREADS; t++)
			before[i][t] = faults_count(c[i].counts, (unsigned)t);
	ft_sleep_ms(600);
	for (int i = 0; i < CLIENTS; i++) {
		cr_assert_eq(waitpid(c[i].pid, NULL, WNOHANG), 0, "client %d died", c[i].pid);
		for (int t = 0; t < THREADS; t++)
			cr_assert_gt(faults_count(c[i].counts, (unsigned)t), before[i][t],
				     "client %d worker-%d stalled without its daemon", c[i].pid, t);
	}

	/* A new daemon on the same socket gets them back. */
	ft_daemon_start(flush);
	back_ms = faults_wait_registered(c, CLIENTS, 2);
	ft_sleep_ms(400);
	for (int i = 0; i < CLIENTS; i++) {
		int st;

		cr_assert_eq(kill(c[i].pid, SIGUSR1), 0);
		st = ft_client_finish(&c[i], committed[i], NULL);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client %d: 0x%x", c[i].pid, st);
	}
	cr_assert_eq(ft_daemon_stop(), 0);

	/* The killed daemon's segments: every whole block reads back. */
	ft_read_all(&rd, ft.state, RP_READER_RECOVER | RP_READER_ALLOW_UNSEALED, false);
	/* the killed daemon's segments end unsealed or in a cut block (or are
	 * empty files: killed before their first write), the second's are
	 * sealed */
	cr_assert_eq(rd.sealed, CLIENTS, "the second daemon's segments are sealed");
	cr_assert_leq(rd.segments - rd.sealed, rd.unsealed + rd.cut);
	for (int i = 0; i < CLIENTS; i++) {
		for (int t = 0; t < THREADS; t++) {
			struct ft_thread none = { .values_ok = true };
			struct ft_thread *a = ft_find(&rd, (uint32_t)c[i].pid, first_daemon, t);
			struct ft_thread *b = faults_after(&rd, (uint32_t)c[i].pid, first_daemon, t);
			uint64_t want = committed[i][t] + 1, got, d;

			if (a == NULL)  /* nothing of it on disk yet */
				a = &none;
			before_kill += a->records;
			cr_assert_not_null(b, "pid %d worker-%d: nothing after the restart",
					   c[i].pid, t);
			/* a gap-free prefix, in order, and nothing twice */
			cr_assert(!a->index_gap && a->values_ok && !a->has_loss);
			cr_assert(!b->index_gap && b->values_ok);
			cr_assert_gt(b->integers, 0, "recording resumed");
			if (a->integers != 0)
				cr_assert_gt(b->first_value, a->last_value,
					     "pid %d worker-%d: read twice", c[i].pid, t);
			cr_assert(b->has_loss && b->ended);
			cr_assert_eq(b->loss.written, b->records);
			/* The second daemon counts every drop of the thread (the
			 * first recorded none: it never sealed): the client's
			 * during the gap, and as its own the events the killed
			 * daemon had taken off the ring but not yet written
			 * (ctl.taken - ctl.durable).  Exact, nothing else. */
			got = a->records + b->records;
			d = b->loss.client_dropped + b->loss.daemon_dropped;
			cr_assert_eq(got + d, want, "pid %d worker-%d: %" PRIu64 " read + %" PRIu64
				     " dropped != %" PRIu64 " committed", c[i].pid, t, got, d, want);
			/* Drops are real: the values missing before, inside and
			 * after the two parts are no more than the drops counted;
			 * the rest lies between the two parts. */
			cr_assert_leq(b->last_value, committed[i][t] - 1);
			cr_assert_leq(a->first_value + a->missing + b->missing +
				      (committed[i][t] - 1 - b->last_value), d,
				      "pid %d worker-%d: values missing outside the restart "
				      "exceed the drops counted", c[i].pid, t);
			cr_assert_eq(committed[i][t] - a->integers - b->integers +
				     (2 - (a->records - a->integers) - (b->records - b->integers)),
				     d + 1);
			inherited += b->loss.daemon_dropped;
			dropped += d;
		}
	}
	fprintf(stderr, "faults: daemon killed under load: %" PRIu64 " events read back from "
		"its segments; clients back in %" PRId64 " ms; %" PRIu64 " events dropped and "
		"counted, %" PRIu64 " of them daemon drops (the killed daemon's taken and not "
		"written among them)\n", before_kill, back_ms, dropped, inherited);
	ft_read_free(&rd);
}

/* One burst client of 2 threads x 300,000 events against a daemon that
 * drains every 50 ms into rings of 4 KiB; exact accounting either way. */
static void faults_burst(bool lossless)
{
	static const char *args[] = { "--threads", "2", "--events", "300000", NULL };
	const char *env[] = { "RINGPROF_RING_SIZE=4096", lossless ? "RINGPROF_LOSSLESS=1" : NULL,
			      NULL };
	static const char *slow[] = { "--tick-ms", "50", NULL };
	uint64_t committed[FT_SLOTS] = { 0 }, dropped = 0;
	struct ft_client c;
	struct ft_read rd;
	int st;

	ft_daemon_stop();
	ft_daemon_start(slow);
	c = ft_client_spawn(lossless ? "lossless" : "burst", args, "burst", env);
	st = ft_client_finish(&c, committed, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(ft_daemon_stop(), 0);
	ft_read_all(&rd, ft.state, 0, false);
	for (int t = 0; t < 2; t++) {
		struct ft_thread *th = faults_worker(&rd, (uint32_t)c.pid, t);

		cr_assert_eq(committed[t], 300000);
		cr_assert(th->has_loss && th->values_ok && !th->index_gap);
		cr_assert_eq(th->loss.written, th->records);
		cr_assert_eq(th->loss.daemon_dropped, 0);
		/* committed == written + dropped, exactly */
		cr_assert_eq(th->records + th->loss.client_dropped, 300001,
			     "worker-%d: %" PRIu64 " written + %" PRIu64 " dropped", t,
			     th->records, th->loss.client_dropped);
		cr_assert_leq(th->last_value, 299999);
		dropped += th->loss.client_dropped;
	}
	cr_assert_eq(dropped, __atomic_load_n(&c.counts->dropped, __ATOMIC_ACQUIRE));
	if (lossless)
		cr_assert_eq(dropped, 0, "lossless mode dropped %" PRIu64, dropped);
	else
		cr_assert_gt(dropped, 0, "a 4 KiB ring drained every 50 ms never filled");
	fprintf(stderr, "faults: burst%s: 600002 events committed, %" PRIu64 " dropped and "
		"counted\n", lossless ? " (lossless)" : "", dropped);
	ft_read_free(&rd);
	munmap(c.counts, sizeof(*c.counts));
}

Test(faults, burst_far_faster_than_the_drain_counts_every_drop_exactly)
{
	faults_burst(false);
}

Test(faults, lossless_burst_blocks_the_client_and_loses_nothing)
{
	faults_burst(true);
}

/* A lossless client of the running daemon, recording flat out into 4 KiB
 * rings (full at once when nobody drains), both workers running. */
static struct ft_client faults_lossless_client(const char *session)
{
	static const char *args[] = { "--threads", "2", "--forever", NULL };
	static const char *env[] = { "RINGPROF_LOSSLESS=1", "RINGPROF_RING_SIZE=4096", NULL };
	struct ft_client c = ft_client_spawn(session, args, session, env);

	ft_client_expect_line(&c, "running");
	for (unsigned t = 0; t < 2; t++) {
		int64_t deadline = ft_now_ms() + 20000;

		while (faults_count(c.counts, t) == 0) {
			cr_assert_lt(ft_now_ms(), deadline, "worker-%u never recorded", t);
			ft_sleep_ms(1);
		}
	}
	return c;
}

/* Wait until neither worker of c commits for 200 ms (both wait on full
 * rings); their counts into held. */
static void faults_wait_held(struct ft_client *c, uint64_t held[2])
{
	int64_t deadline = ft_now_ms() + 10000;
	uint64_t now[2];

	held[0] = held[1] = UINT64_MAX;
	for (;;) {
		for (unsigned t = 0; t < 2; t++)
			now[t] = faults_count(c->counts, t);
		if (now[0] == held[0] && now[1] == held[1])
			return;
		cr_assert_lt(ft_now_ms(), deadline, "the lossless workers never waited");
		held[0] = now[0];
		held[1] = now[1];
		ft_sleep_ms(200);
	}
}

/* A daemon stopped for longer than a lossless producer used to wait (1 s)
 * is alive and connected: the producer waits it out, nothing is lost.
 * Time the client itself was stopped (6 s, more than the 5 s it gives a
 * silent daemon) is no sign of the daemon: it does not count. */
Test(faults, lossless_client_waits_out_a_stopped_daemon)
{
	uint64_t held[2], committed[FT_SLOTS] = { 0 };
	struct ft_client c = faults_lossless_client("stopped");
	struct ft_read rd;
	char dir[256];
	int st;

	cr_assert_eq(kill(ft.daemon, SIGSTOP), 0);
	faults_wait_held(&c, held);
	cr_assert_eq(kill(c.pid, SIGSTOP), 0);
	ft_sleep_ms(6000);
	cr_assert_eq(kill(c.pid, SIGCONT), 0);
	ft_sleep_ms(1500);
	for (unsigned t = 0; t < 2; t++)
		cr_assert_eq(faults_count(c.counts, t), held[t],
			     "worker-%u went on while its daemon was stopped", t);
	cr_assert_eq(kill(ft.daemon, SIGCONT), 0);
	for (unsigned t = 0; t < 2; t++) {
		int64_t deadline = ft_now_ms() + 20000;

		while (faults_count(c.counts, t) <= held[t] + 1000) {
			cr_assert_lt(ft_now_ms(), deadline, "worker-%u did not go on with its "
				     "daemon back", t);
			ft_sleep_ms(1);
		}
	}
	cr_assert_eq(kill(c.pid, SIGUSR1), 0);
	st = ft_client_finish(&c, committed, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	snprintf(dir, sizeof(dir), "%s/stopped", ft.state);
	faults_wait_sealed(dir, 1);
	ft_read_all(&rd, dir, 0, false);
	for (int t = 0; t < 2; t++)
		faults_exact(&rd, (uint32_t)c.pid, t, committed[t]);
	cr_assert_eq(__atomic_load_n(&c.counts->dropped, __ATOMIC_ACQUIRE), 0);
	fprintf(stderr, "faults: lossless, daemon stopped 8 s (the client 6 s of them): %"
		PRIu64 " + %" PRIu64
		" events, 0 dropped\n", committed[0], committed[1]);
	ft_read_free(&rd);
	munmap(c.counts, sizeof(*c.counts));
}

/* A daemon killed while lossless producers wait: its socket closes, they
 * let go at once (not after the 5 s a connected daemon gets), drop and
 * count, and come back to the next daemon.  Nothing is lost uncounted. */
Test(faults, lossless_client_lets_go_when_its_daemon_dies)
{
	uint64_t held[2], committed[FT_SLOTS] = { 0 }, first;
	struct ft_client c = faults_lossless_client("orphan");
	struct ft_read rd;
	int64_t killed, resumed[2];
	char dir[256];
	int st;

	first = (uint64_t)ft.daemon;
	cr_assert_eq(kill(ft.daemon, SIGSTOP), 0);
	faults_wait_held(&c, held);
	killed = ft_now_ms();
	ft_daemon_kill();
	for (unsigned t = 0; t < 2; t++) {
		while (faults_count(c.counts, t) == held[t]) {
			cr_assert_lt(ft_now_ms() - killed, 4000, "worker-%u still waits for a "
				     "dead daemon", t);
			ft_sleep_ms(1);
		}
		resumed[t] = ft_now_ms() - killed;
	}
	ft_daemon_start(NULL);
	faults_wait_registered(&c, 1, 2);
	cr_assert_eq(kill(c.pid, SIGUSR1), 0);
	st = ft_client_finish(&c, committed, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	cr_assert_eq(ft_daemon_stop(), 0);
	/* the killed daemon's segment is unsealed, the second's sealed */
	snprintf(dir, sizeof(dir), "%s/orphan", ft.state);
	ft_read_all(&rd, dir, RP_READER_RECOVER | RP_READER_ALLOW_UNSEALED, false);
	cr_assert_eq(rd.sealed, 1);
	for (int t = 0; t < 2; t++) {
		struct ft_thread none = { .values_ok = true };
		struct ft_thread *a = ft_find(&rd, (uint32_t)c.pid, first, t);
		struct ft_thread *b = faults_after(&rd, (uint32_t)c.pid, first, t);
		uint64_t d;

		if (a == NULL)
			a = &none;
		cr_assert_not_null(b, "worker-%d: nothing after the restart", t);
		cr_assert(!a->index_gap && a->values_ok && !a->has_loss);
		cr_assert(!b->index_gap && b->values_ok && b->has_loss && b->ended);
		cr_assert_eq(b->loss.written, b->records);
		cr_assert_gt(b->loss.client_dropped, 0, "worker-%d: no drops counted", t);
		d = b->loss.client_dropped + b->loss.daemon_dropped;
		cr_assert_eq(a->records + b->records + d, committed[t] + 1,
			     "worker-%d: %" PRIu64 " + %" PRIu64 " read + %" PRIu64
			     " dropped != %" PRIu64 " committed", t, a->records, b->records, d,
			     committed[t] + 1);
	}
	fprintf(stderr, "faults: lossless, daemon killed: the workers went on after %lld and "
		"%lld ms\n", (long long)resumed[0], (long long)resumed[1]);
	ft_read_free(&rd);
	munmap(c.counts, sizeof(*c.counts));
}

/* Exit paths: every process of one run, each registration apart. */
static struct ft_client faults_run(const char *session, const char *const *args,
				   const char *counts, int want_signal)
{
	struct ft_client c = ft_client_spawn(session, args, counts, NULL);
	int st = ft_client_finish(&c, NULL, NULL);

	if (want_signal)
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == want_signal, "status 0x%x", st);
	else
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	return c;
}

static void faults_read_session(struct ft_read *rd, const char *session, unsigned segments)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/%s", ft.state, session);
	faults_wait_sealed(dir, segments);
	ft_read_all(rd, dir, 0, true);
	cr_assert_eq(rd->segments, segments);
	cr_assert_eq(rd->sealed, segments);
}

Test(faults, normal_exit_writes_every_event)
{
	static const char *args[] = { "--threads", "3", "--events", "20000", "--nest", NULL };
	struct ft_client c = faults_run("normal", args, "normal", 0);
	struct ft_read rd;

	faults_read_session(&rd, "normal", 1);
	for (int t = 0; t < 3; t++)
		faults_exact(&rd, (uint32_t)c.pid, t, 100000);
	ft_read_free(&rd);
}

static void faults_dies_while_others_record(const char *mode, int sig)
{
	const char *args[] = { "--threads", "3", "--forever", "--events", "20000", "--nest",
			       "--end", mode, NULL };
	struct ft_client c = ft_client_spawn(mode, args, mode, (const char *const[]){
		"RINGPROF_LOSSLESS=1", NULL });
	struct ft_read rd;
	int st = ft_client_finish(&c, NULL, NULL);

	if (sig)
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == sig, "status 0x%x", st);
	else
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	faults_read_session(&rd, mode, 1);
	/* worker 0 ended the process after exactly 20,000 iterations */
	faults_exact(&rd, (uint32_t)c.pid, 0, 100000);
	for (int t = 1; t < 3; t++) {
		struct ft_thread *th = faults_worker(&rd, (uint32_t)c.pid, t);
		uint64_t n = faults_count(c.counts, (unsigned)t);

		cr_assert(th->events == n || th->events == n + 1, "worker-%d: %" PRIu64
			  " read, %" PRIu64 " counted", t, th->events, n);
		cr_assert(!th->index_gap && th->values_ok && th->nest_ok && th->has_loss);
		cr_assert_eq(th->loss.written, th->records);
		cr_assert_eq(th->loss.client_dropped + th->loss.daemon_dropped, 0);
	}
	ft_read_free(&rd);
}

Test(faults, exit_from_another_thread_while_others_record_loses_nothing)
{
	faults_dies_while_others_record("exit-thread", 0);
}

Test(faults, abort_while_others_record_loses_nothing)
{
	faults_dies_while_others_record("abort", SIGABRT);
}

Test(faults, execve_registers_the_new_image_apart_and_keeps_the_old_events)
{
	static const char *args[] = { "--threads", "2", "--events", "20000", "--nest",
				      "--end", "exec", NULL };
	struct ft_client c = faults_run("exec", args, "exec", 0);
	struct ft_counts *img2 = ft_counts_map("exec.exec");
	struct ft_thread *old, *neu;
	struct ft_read rd;

	cr_assert_eq(img2->pid, (uint64_t)c.pid, "exec keeps the pid");
	faults_read_session(&rd, "exec", 2);
	for (int t = 0; t < 2; t++) {
		old = neu = NULL;
		for (size_t k = 0; k < rd.n; k++) {
			if (rd.th[k].worker != t)
				continue;
			/* the new image counts into exec.exec */
			if (strstr(rd.th[k].cmdline_tail, "exec.exec") != NULL)
				neu = &rd.th[k];
			else
				old = &rd.th[k];
		}
		cr_assert(old && neu, "worker-%d: both images recorded", t);
		cr_assert_neq(old->client_id, neu->client_id, "two registrations");
		cr_assert_eq(old->pid, (uint32_t)c.pid);
		cr_assert_eq(neu->pid, (uint32_t)c.pid);
		/* the old image: 5 events per iteration; the new: 1 */
		cr_assert_eq(old->events, 100000);
		cr_assert(old->nest_ok && old->has_loss && old->loss.written == 100001);
		cr_assert_eq(neu->events, 20000);
		cr_assert_eq(neu->events, faults_count(img2, (unsigned)t));
		cr_assert(neu->values_ok && neu->has_loss && neu->loss.written == 20001);
		cr_assert_eq(old->loss.client_dropped + neu->loss.client_dropped, 0);
	}
	cr_assert_eq(rd.n, 4, "two threads per image, no other");
	ft_read_free(&rd);
	munmap(img2, sizeof(*img2));
}

Test(faults, fork_without_exec_keeps_parent_and_child_apart)
{
	static const char *args[] = { "--threads", "2", "--events", "20000", "--nest",
				      "--end", "fork", NULL };
	struct ft_client c = faults_run("fork", args, "fork", 0);
	struct ft_counts *child = ft_counts_map("fork.fork");
	struct ft_read rd;

	cr_assert_neq(child->pid, (uint64_t)c.pid);
	cr_assert_eq(child->done, 1);
	faults_read_session(&rd, "fork", 2);
	for (int t = 0; t < 2; t++) {
		/* the parent before and after the fork, the child in between */
		faults_exact(&rd, (uint32_t)c.pid, t, 100000);
		faults_exact(&rd, (uint32_t)c.pid, t + 2, 100000);
		faults_exact(&rd, (uint32_t)child->pid, t, 100000);
		cr_assert_eq(faults_count(child, (unsigned)t), 100000);
	}
	cr_assert_eq(rd.n, 6, "4 parent threads, 2 child threads, no other");
	ft_read_free(&rd);
	munmap(child, sizeof(*child));
}

Test(faults, thread_exit_with_data_in_its_ring_loses_nothing)
{
	static const char *args[] = { "--threads", "4", "--events", "20000", "--nest",
				      "--end", "rethread", NULL };
	struct ft_client c = faults_run("rethread", args, "rethread", 0);
	struct ft_read rd;

	faults_read_session(&rd, "rethread", 1);
	for (int t = 0; t < 8; t++) {
		faults_exact(&rd, (uint32_t)c.pid, t, 100000);
		cr_assert_eq(faults_count(c.counts, (unsigned)t), 100000);
	}
	cr_assert_eq(rd.n, 8);
	ft_read_free(&rd);
}
