/*
 * End-to-end tests: a real ringprofd on a private socket and state directory,
 * real client processes (tests/e2e_client.c) recording through ringprof.h,
 * real signals, and the segments read back through libringprof.
 *
 * Every e2e_client thread t records INTEGER events of kind "E2E" whose value
 * is the event's index in that thread and whose argument is "t<t>-k<i%16>",
 * after naming itself "worker-<t>"; so order, values and string resolution
 * are checked exactly for every event.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ringprof/reader.h>

#include "harness.h"

#define E2E_MAX_CLIENTS 16
#define E2E_MAX_THREADS 8

struct e2e_client {
	pid_t pid;
	FILE *out;           /* its stdout */
	uint64_t no_slot;    /* its events dropped for want of a ring slot */
};

static struct daemon e2e_daemon;
static bool e2e_unnamed_ok;   /* threads may have lost their name event */

static void e2e_setup(void)
{
	static const char *const args[] = { "--log-level", "info", NULL };

	daemon_start(&e2e_daemon, args);
}

static void e2e_teardown(void)
{
	daemon_cleanup(&e2e_daemon);
}

static struct e2e_client e2e_client_spawn_env(const char *session, const char *const *args,
					      const char *extra_env)
{
	struct e2e_client c = { 0 };

	c.pid = client_spawn(e2e_daemon.sock, session, args, extra_env, &c.out);
	return c;
}

static struct e2e_client e2e_client_spawn(const char *session, const char *const *args)
{
	return e2e_client_spawn_env(session, args, NULL);
}

/* Read one line of the client's stdout and check it is `want`. */
static void e2e_client_expect_line(struct e2e_client *c, const char *want)
{
	char line[256];

	cr_assert_not_null(fgets(line, sizeof(line), c->out),
			   "client %d closed its output before \"%s\"", c->pid, want);
	line[strcspn(line, "\n")] = 0;
	cr_assert_str_eq(line, want);
}

/* Wait for the client to exit 0 and parse its report into committed[] and
 * *dropped. Returns the number of threads reported. */
static unsigned e2e_client_finish(struct e2e_client *c, uint64_t *committed,
				  uint64_t *dropped)
{
	char line[256];
	unsigned n = 0;
	int st;

	*dropped = UINT64_MAX;
	c->no_slot = UINT64_MAX;
	while (fgets(line, sizeof(line), c->out)) {
		unsigned t;
		unsigned long long v;

		if (sscanf(line, "thread %u committed %llu", &t, &v) == 2) {
			cr_assert_lt(t, E2E_MAX_THREADS);
			committed[t] = v;
			n++;
		} else if (sscanf(line, "dropped %llu", &v) == 1) {
			*dropped = v;
		} else if (sscanf(line, "no_slot %llu", &v) == 1) {
			c->no_slot = v;
		}
	}
	fclose(c->out);
	cr_assert_eq(waitpid(c->pid, &st, 0), c->pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "client %d did not exit cleanly (status 0x%x)", c->pid, st);
	cr_assert_neq(*dropped, UINT64_MAX, "client %d did not report its drops", c->pid);
	cr_assert_neq(c->no_slot, UINT64_MAX, "client %d did not report its no-slot drops",
		      c->pid);
	return n;
}

/* What the segments say about one thread of one client. */
struct e2e_thread {
	bool seen;
	int worker;          /* t from "worker-<t>", -1 until named */
	uint64_t events;     /* E2E events read */
	uint64_t records;    /* every event read, the thread's name included */
	uint64_t blocks;     /* EVENTS blocks its events came in */
	uint64_t last_block; /* file offset of the last one */
	uint64_t next;       /* lowest value the next event may have */
	bool contiguous;     /* every value == its position so far */
	bool has_loss;
	struct rp_seg_loss loss;  /* the last (cumulative) LOSS item */
};

struct e2e_proc {
	uint32_t pid;
	unsigned segments, sealed;
	struct e2e_thread th[E2E_MAX_THREADS];
};

struct e2e_read {
	struct e2e_proc procs[E2E_MAX_CLIENTS];
	unsigned nprocs;
	uint64_t events;
};

static struct e2e_proc *e2e_proc_of(struct e2e_read *rd, uint32_t pid)
{
	for (unsigned i = 0; i < rd->nprocs; i++)
		if (rd->procs[i].pid == pid)
			return &rd->procs[i];
	cr_assert_lt(rd->nprocs, E2E_MAX_CLIENTS);
	rd->procs[rd->nprocs].pid = pid;
	for (unsigned t = 0; t < E2E_MAX_THREADS; t++) {
		rd->procs[rd->nprocs].th[t].worker = -1;
		rd->procs[rd->nprocs].th[t].contiguous = true;
	}
	return &rd->procs[rd->nprocs++];
}

/* Read every segment under the state directory strictly (every segment
 * sealed, every block whole, every string defined) and check each event. */
static void e2e_read_all(struct e2e_read *rd)
{
	const char *paths[] = { e2e_daemon.state };
	char err[512];
	struct rp_reader *r;
	struct rp_item it;
	struct e2e_proc *p = NULL;
	int ret;

	memset(rd, 0, sizeof(*rd));
	r = rp_reader_open(paths, 1, 0, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	while ((ret = rp_reader_next(r, &it)) == 1) {
		struct e2e_thread *th;
		char want[64];

		switch (it.kind) {
		case RP_ITEM_SEGMENT:
			p = e2e_proc_of(rd, it.segment.info.pid);
			p->segments++;
			break;
		case RP_ITEM_FOOTER:
			p->sealed++;
			break;
		case RP_ITEM_LOSS:
			cr_assert_lt(it.loss.thread, E2E_MAX_THREADS);
			th = &p->th[it.loss.thread];
			th->has_loss = true;
			th->loss = it.loss;
			break;
		case RP_ITEM_EVENT:
			cr_assert_lt(it.event.thread, E2E_MAX_THREADS);
			th = &p->th[it.event.thread];
			th->seen = true;
			th->records++;
			if (th->blocks == 0 || it.offset != th->last_block) {
				th->blocks++;
				th->last_block = it.offset;
			}
			if (it.event.type == RP_REC_THREAD_NAME) {
				cr_assert_eq(sscanf(it.event.kind, "worker-%d", &th->worker), 1,
					     "unexpected thread name %s", it.event.kind);
				break;
			}
			cr_assert_eq(it.event.type, RP_REC_INTEGER, "%s: offset %" PRIu64
				     ": unexpected event type %u", it.path, it.offset,
				     it.event.type);
			cr_assert_str_eq(it.event.kind, "E2E");
			cr_assert_not_null(it.event.arg);
			if (th->worker < 0) {
				/* Only where a thread's name itself may have been
				 * dropped (no ring slot at the time). */
				cr_assert(e2e_unnamed_ok, "event before the thread's name");
				cr_assert_eq(sscanf(it.event.arg, "t%d-k", &th->worker), 1);
			}
			snprintf(want, sizeof(want), "t%d-k%" PRIu64, th->worker,
				 it.event.value % 16);
			cr_assert_str_eq(it.event.arg, want);
			cr_assert_geq(it.event.value, th->next,
				      "pid %u thread %u: value %" PRIu64 " after %" PRIu64,
				      p->pid, it.event.thread, it.event.value, th->next);
			if (it.event.value != th->events)
				th->contiguous = false;
			th->next = it.event.value + 1;
			th->events++;
			rd->events++;
			break;
		default:
			break;
		}
	}
	cr_assert_eq(ret, 0, "reading %s: %s", e2e_daemon.state, rp_reader_error(r));
	rp_reader_close(r);
}

/* The thread of proc p that named itself worker-t. */
static struct e2e_thread *e2e_worker(struct e2e_proc *p, int t)
{
	for (unsigned i = 0; i < E2E_MAX_THREADS; i++)
		if (p->th[i].seen && p->th[i].worker == t)
			return &p->th[i];
	cr_assert_fail("pid %u: no thread named worker-%d in the segments", p->pid, t);
	return NULL;
}

/* Wait until every segment of pid under the state directory is sealed (ends
 * with the trailer), i.e. the daemon noticed the client's death on its own. */
static void e2e_wait_sealed(pid_t pid, unsigned want_files)
{
	uint64_t deadline = now_ms() + WAIT_MS;

	for (;;) {
		const char *paths[] = { e2e_daemon.state };
		char err[512];
		struct rp_reader *r = rp_reader_open(paths, 1, 0, err, sizeof(err));
		struct rp_item it;
		unsigned files = 0, sealed = 0;
		bool mine = false;

		cr_assert_not_null(r, "%s", err);
		while (rp_reader_next(r, &it) == 1) {
			if (it.kind == RP_ITEM_SEGMENT) {
				mine = it.segment.info.pid == (uint32_t)pid;
				files += mine;
			} else if (it.kind == RP_ITEM_FOOTER && mine) {
				sealed++;
			}
		}
		rp_reader_close(r);
		if (files >= want_files && sealed == files)
			return;
		cr_assert_leq(now_ms(), deadline, "segments of pid %d not sealed (%u files, %u "
			      "sealed); log:\n%s", pid, files, sealed, slurp_text(e2e_daemon.log));
		nap_ms(20);
	}
}

TestSuite(e2e, .init = e2e_setup, .fini = e2e_teardown, .timeout = 300);

Test(e2e, eight_clients_four_threads_every_event_in_order_and_accounted)
{
	enum { CLIENTS = 8, THREADS = 4, EVENTS = 100000 };
	static const char *args[] = { "--threads", "4", "--events", "100000", NULL };
	struct e2e_client c[CLIENTS];
	uint64_t committed[CLIENTS][E2E_MAX_THREADS], dropped[CLIENTS];
	static struct e2e_read rd;

	for (int i = 0; i < CLIENTS; i++)
		c[i] = e2e_client_spawn("eight", args);
	for (int i = 0; i < CLIENTS; i++)
		cr_assert_eq(e2e_client_finish(&c[i], committed[i], &dropped[i]), THREADS);
	daemon_terminate(&e2e_daemon);

	e2e_read_all(&rd);
	cr_assert_eq(rd.nprocs, CLIENTS);
	for (int i = 0; i < CLIENTS; i++) {
		struct e2e_proc *p = e2e_proc_of(&rd, (uint32_t)c[i].pid);
		uint64_t client_dropped = 0;

		cr_assert_eq(p->sealed, p->segments, "pid %d: unsealed segment", c[i].pid);
		for (int t = 0; t < THREADS; t++) {
			struct e2e_thread *th = e2e_worker(p, t);

			cr_assert_eq(committed[i][t], EVENTS);
			cr_assert(th->has_loss, "pid %d worker-%d: no LOSS record", c[i].pid, t);
			cr_assert_eq(th->loss.written, th->records,
				     "pid %d worker-%d: LOSS says %" PRIu64 " written, read %" PRIu64,
				     c[i].pid, t, th->loss.written, th->records);
			/* committed == written + dropped, for every ring */
			cr_assert_eq(th->records + th->loss.client_dropped + th->loss.daemon_dropped,
				     EVENTS + 1, "pid %d worker-%d: %" PRIu64 " written + %" PRIu64
				     " + %" PRIu64 " dropped != %d committed", c[i].pid, t,
				     th->records, th->loss.client_dropped,
				     th->loss.daemon_dropped, EVENTS + 1);
			if (th->loss.client_dropped == 0 && th->loss.daemon_dropped == 0)
				cr_assert(th->contiguous);
			client_dropped += th->loss.client_dropped;
		}
		cr_assert_eq(client_dropped, dropped[i],
			     "pid %d: segments count %" PRIu64 " drops, the client %" PRIu64,
			     c[i].pid, client_dropped, dropped[i]);
	}
}

Test(e2e, sigkill_client_loses_nothing_it_committed)
{
	enum { THREADS = 4, AT = 50000 };
	static const char *args[] = { "--threads", "4", "--events", "1000000",
				      "--pause-at", "50000", NULL };
	struct e2e_client c = e2e_client_spawn("killed", args);
	static struct e2e_read rd;
	struct e2e_proc *p;
	int st;

	e2e_client_expect_line(&c, "paused");
	cr_assert_eq(kill(c.pid, SIGKILL), 0);
	cr_assert_eq(waitpid(c.pid, &st, 0), c.pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	fclose(c.out);

	/* The daemon seals the dead client's segment on its own. */
	e2e_wait_sealed(c.pid, 1);
	e2e_read_all(&rd);
	p = e2e_proc_of(&rd, (uint32_t)c.pid);
	for (int t = 0; t < THREADS; t++) {
		struct e2e_thread *th = e2e_worker(p, t);

		cr_assert_eq(th->events, AT, "worker-%d: %" PRIu64 " events, committed %d",
			     t, th->events, AT);
		cr_assert(th->contiguous);
		cr_assert(th->has_loss);
		cr_assert_eq(th->records, AT + 1, "the name and %d events", AT);
		cr_assert_eq(th->loss.written, AT + 1);
		cr_assert_eq(th->loss.client_dropped, 0);
		cr_assert_eq(th->loss.daemon_dropped, 0);
	}
	daemon_terminate(&e2e_daemon);
}

Test(e2e, sigkill_client_while_recording_leaves_a_sealed_segment_with_every_event_accounted)
{
	static const char *args[] = { "--threads", "4", "--forever", NULL };
	struct e2e_client c = e2e_client_spawn("killed-running", args);
	static struct e2e_read rd;
	struct e2e_proc *p;

	e2e_client_expect_line(&c, "running");
	nap_ms(300);
	cr_assert_eq(kill(c.pid, SIGKILL), 0);
	cr_assert_eq(waitpid(c.pid, NULL, 0), c.pid);
	fclose(c.out);

	e2e_wait_sealed(c.pid, 1);
	e2e_read_all(&rd);
	p = e2e_proc_of(&rd, (uint32_t)c.pid);
	for (int t = 0; t < 4; t++) {
		struct e2e_thread *th = e2e_worker(p, t);

		cr_assert_gt(th->events, 0);
		cr_assert(th->has_loss);
		cr_assert_eq(th->loss.written, th->records);
		/* Four threads recording flat out on two cores outrun the
		 * drain, so rings fill and drop.  Everything up to the last
		 * value written was either written or counted as dropped; the
		 * events after it, up to the kill, can only have been dropped
		 * (and counted) too. */
		cr_assert_geq(th->records + th->loss.client_dropped + th->loss.daemon_dropped,
			      th->next + 1, "worker-%d: %" PRIu64 " written + %" PRIu64
			      " dropped, last value %" PRIu64, t, th->records,
			      th->loss.client_dropped + th->loss.daemon_dropped, th->next - 1);
		if (th->loss.client_dropped == 0 && th->loss.daemon_dropped == 0)
			cr_assert(th->contiguous);
	}
	daemon_terminate(&e2e_daemon);
}

Test(e2e, sigterm_daemon_while_clients_run_seals_everything_and_clients_go_on)
{
	enum { CLIENTS = 3 };
	static const char *args[] = { "--threads", "2", "--forever", NULL };
	struct e2e_client c[CLIENTS];
	static struct e2e_read rd;

	for (int i = 0; i < CLIENTS; i++)
		c[i] = e2e_client_spawn("term", args);
	for (int i = 0; i < CLIENTS; i++)
		e2e_client_expect_line(&c[i], "running");
	nap_ms(300);
	daemon_terminate(&e2e_daemon);

	/* The clients keep recording into rings nobody drains any more. */
	nap_ms(300);
	for (int i = 0; i < CLIENTS; i++) {
		uint64_t committed[E2E_MAX_THREADS] = { 0 }, dropped;

		cr_assert_eq(kill(c[i].pid, SIGUSR1), 0, "client %d died", c[i].pid);
		cr_assert_eq(e2e_client_finish(&c[i], committed, &dropped), 2);
		cr_assert_gt(dropped, 0, "a ring nobody drains must fill and drop");
	}

	e2e_read_all(&rd);
	cr_assert_eq(rd.nprocs, CLIENTS);
	for (int i = 0; i < CLIENTS; i++) {
		struct e2e_proc *p = e2e_proc_of(&rd, (uint32_t)c[i].pid);

		cr_assert_eq(p->sealed, p->segments, "pid %d: unsealed segment", c[i].pid);
		for (int t = 0; t < 2; t++) {
			struct e2e_thread *th = e2e_worker(p, t);

			cr_assert_gt(th->events, 0);
			cr_assert(th->has_loss);
			cr_assert_eq(th->loss.written, th->records);
			cr_assert_geq(th->records + th->loss.client_dropped +
				      th->loss.daemon_dropped, th->next + 1);
		}
	}
}

Test(e2e, events_of_threads_without_a_ring_slot_are_counted_not_lost)
{
	enum { THREADS = 4, EVENTS = 20000 };
	static const char *args[] = { "--threads", "4", "--events", "20000", NULL };
	/* One slot for four threads: most of their events find no ring. */
	struct e2e_client c = e2e_client_spawn_env("noslot", args, "RINGPROF_RINGS=1");
	uint64_t committed[E2E_MAX_THREADS], dropped, written = 0, lost = 0;
	static struct e2e_read rd;
	struct e2e_proc *p;

	cr_assert_eq(e2e_client_finish(&c, committed, &dropped), THREADS);
	cr_assert_gt(c.no_slot, 0, "four threads shared one slot without a drop");
	daemon_terminate(&e2e_daemon);

	e2e_unnamed_ok = true;
	e2e_read_all(&rd);
	p = e2e_proc_of(&rd, (uint32_t)c.pid);
	cr_assert(p->th[0].has_loss, "no LOSS item for thread 0 (no slot)");
	cr_assert_eq(p->th[0].loss.client_dropped, c.no_slot,
		     "segment counts %" PRIu64 " no-slot drops, the client %" PRIu64,
		     p->th[0].loss.client_dropped, c.no_slot);
	for (unsigned t = 0; t < E2E_MAX_THREADS; t++) {
		struct e2e_thread *th = &p->th[t];

		if (!th->has_loss)
			continue;
		cr_assert_eq(th->loss.written, th->records);
		written += th->records;
		lost += th->loss.client_dropped + th->loss.daemon_dropped;
	}
	/* Every event of every thread, its name included, is written or
	 * counted: in its ring's counters or in thread 0's. */
	cr_assert_eq(written + lost, THREADS * (EVENTS + 1),
		     "%" PRIu64 " written + %" PRIu64 " counted != %d committed",
		     written, lost, THREADS * (EVENTS + 1));
}

Test(e2e, events_recorded_across_many_drain_ticks_share_blocks)
{
	/* 50,000 events per thread over at least 50 ms: 50 or more drain
	 * ticks of 1 ms.  About 0.3 MiB encoded per thread, so a block is
	 * cut at 256 KiB or after a second, never at every tick (that would
	 * defeat compression). */
	static const char *args[] = { "--threads", "2", "--events", "50000",
				      "--pace-ms", "1", NULL };
	struct e2e_client c = e2e_client_spawn("paced", args);
	uint64_t committed[E2E_MAX_THREADS], dropped;
	static struct e2e_read rd;
	struct e2e_proc *p;

	cr_assert_eq(e2e_client_finish(&c, committed, &dropped), 2);
	daemon_terminate(&e2e_daemon);
	e2e_read_all(&rd);
	p = e2e_proc_of(&rd, (uint32_t)c.pid);
	for (int t = 0; t < 2; t++) {
		struct e2e_thread *th = e2e_worker(p, t);

		cr_assert_eq(th->events, 50000);
		cr_assert_leq(th->blocks, 3, "worker-%d: %" PRIu64 " EVENTS blocks", t,
			      th->blocks);
	}
}
