/*
 * e2e_client - a client process driven by test_e2e.c and test_faults.c.
 *
 * Each of --threads threads names itself "worker-<t>" and records --events
 * INTEGER events of kind "E2E" whose value is the event's index in its thread
 * and whose argument is "t<t>-k<index % 16>", so a reader can check order,
 * values and string resolution exactly.
 *
 * --pause-at N   after N events per thread, report and wait for a signal
 * --forever      keep recording (index keeps counting) until SIGUSR1
 * --pace-ms N    sleep N ms after every 1000 events (spreads them over
 *                many drain ticks)
 * --nest         every index records five events instead of one, nested:
 *                BEGIN Query, BEGIN QueryBlocked, the INTEGER E2E, END
 *                QueryBlocked, END Query (same argument), so a process
 *                killed at any point leaves 0, 1 or 2 intervals open
 * --hold         once registered, print "ready" and start recording only at
 *                SIGUSR2 (many clients register before any records)
 * --counts FILE  publish, in FILE (MAP_SHARED, struct e2e_counts), each
 *                thread's count of committed events: bumped after every
 *                event, so a reader after a SIGKILL sees c with c or c + 1
 *                events committed; plus the process's registrations,
 *                drops and a "done" mark
 * --end MODE     how the process ends once the threads have recorded
 *                --events (with --forever: worker 0 ends it after
 *                --events while the others go on recording):
 *                  return       main returns (default)
 *                  exit-thread  worker 0 calls exit(0)
 *                  abort        worker 0 calls abort()
 *                  exec         main execs e2e_client again with --threads
 *                               and --events, counting into FILE.exec
 *                  fork         main forks; the child records again with
 *                               new threads, counting into FILE.fork
 *                  rethread     the threads exit (their rings still holding
 *                               data) and as many new threads record again,
 *                               counting into slots threads..2*threads-1
 *                               and naming themselves worker-<slot>
 * On exit it prints one line per thread: "thread <t> committed <n>", then
 * "dropped <n>" (full rings) and "no_slot <n>" (threads without a ring).
 */
#define RINGPROF_IMPLEMENTATION
#include <ringprof.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define E2E_KEYS 16
#define E2E_THREADS_MAX 64

/* The --counts file; every field is written with release stores. */
struct e2e_counts {
	uint64_t committed[2 * E2E_THREADS_MAX]; /* events per thread */
	uint64_t registrations;  /* rp_client_stats.registrations */
	uint64_t dropped;        /* rp_client_stats.events_dropped, at the end */
	uint64_t no_slot;        /* rp_client_stats.events_dropped_no_slot */
	uint64_t done;           /* 1 once the counters above are final */
	uint64_t pid;
};

enum e2e_end { E2E_RETURN, E2E_EXIT_THREAD, E2E_ABORT, E2E_EXEC, E2E_FORK, E2E_RETHREAD };

static unsigned long e2e_events = 100000;
static unsigned e2e_threads = 4;
static unsigned long e2e_pause_at;   /* 0: no pause */
static int e2e_forever;
static int e2e_nest;
static unsigned long e2e_pace_ms;
static enum e2e_end e2e_end = E2E_RETURN;
static const char *e2e_counts_path;
static volatile sig_atomic_t e2e_stop;
static volatile sig_atomic_t e2e_go;
static int e2e_hold;
static pthread_barrier_t e2e_paused;
static uint64_t e2e_committed_own[2 * E2E_THREADS_MAX];
static uint64_t *e2e_committed = e2e_committed_own;
static struct e2e_counts *e2e_counts;

static void e2e_on_usr1(int sig)
{
	(void)sig;
	e2e_stop = 1;
}

static void e2e_on_usr2(int sig)
{
	(void)sig;
	e2e_go = 1;
}

/* Maps path as the counts file (created, zeroed); exits on failure. */
static void e2e_counts_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || ftruncate(fd, sizeof(struct e2e_counts)) != 0) {
		fprintf(stderr, "e2e_client: %s: %s\n", path, strerror(errno));
		exit(4);
	}
	e2e_counts = mmap(NULL, sizeof(*e2e_counts), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (e2e_counts == MAP_FAILED) {
		fprintf(stderr, "e2e_client: mmap %s: %s\n", path, strerror(errno));
		exit(4);
	}
	__atomic_store_n(&e2e_counts->pid, (uint64_t)getpid(), __ATOMIC_RELEASE);
	e2e_committed = e2e_counts->committed;
}

static void e2e_counts_stats(bool done)
{
	struct rp_client_stats st;

	if (e2e_counts == NULL)
		return;
	rp_stats(&st);
	__atomic_store_n(&e2e_counts->registrations, (uint64_t)st.registrations, __ATOMIC_RELEASE);
	if (!done)
		return;
	__atomic_store_n(&e2e_counts->dropped, st.events_dropped, __ATOMIC_RELEASE);
	__atomic_store_n(&e2e_counts->no_slot, st.events_dropped_no_slot, __ATOMIC_RELEASE);
	__atomic_store_n(&e2e_counts->done, (uint64_t)1, __ATOMIC_RELEASE);
}

/* One event committed by thread slot t: commit first, then count. */
static inline void e2e_bump(unsigned t)
{
	__atomic_store_n(&e2e_committed[t], e2e_committed[t] + 1, __ATOMIC_RELEASE);
}

static void *e2e_worker(void *argp)
{
	unsigned slot = (unsigned)(uintptr_t)argp;
	unsigned t = slot;
	char name[32];
	uint32_t kind, query, blocked, keys[E2E_KEYS];
	uint64_t i;

	snprintf(name, sizeof(name), "worker-%u", t);
	rp_thread_name(name);
	kind = rp_kind("E2E");
	query = rp_kind("Query");
	blocked = rp_kind("QueryBlocked");
	for (unsigned k = 0; k < E2E_KEYS; k++) {
		char key[32];

		snprintf(key, sizeof(key), "t%u-k%u", t, k);
		keys[k] = rp_intern(key);
	}
	for (i = 0; !e2e_stop && (e2e_forever || i < e2e_events); i++) {
		uint32_t key = keys[i % E2E_KEYS];

		if (e2e_pause_at && i == e2e_pause_at) {
			pthread_barrier_wait(&e2e_paused);
			for (;;)
				pause();
		}
		if (e2e_forever && t == 0 && i == e2e_events && e2e_events != 0 &&
		    (e2e_end == E2E_EXIT_THREAD || e2e_end == E2E_ABORT)) {
			/* the others must be recording when the process ends */
			for (unsigned o = 1; o < e2e_threads; o++)
				while (__atomic_load_n(&e2e_committed[o], __ATOMIC_ACQUIRE) < 1000)
					sched_yield();
			if (e2e_end == E2E_EXIT_THREAD)
				exit(0);
			if (e2e_end == E2E_ABORT)
				abort();
		}
		if (e2e_nest) {
			rp_interval_begin(query, key);
			e2e_bump(slot);
			rp_interval_begin(blocked, key);
			e2e_bump(slot);
		}
		rp_integer(kind, key, i);
		e2e_bump(slot);
		if (e2e_nest) {
			rp_interval_end(blocked, key);
			e2e_bump(slot);
			rp_interval_end(query, key);
			e2e_bump(slot);
		}
		if (e2e_pace_ms && i % 1000 == 999) {
			struct timespec ts = { 0, (long)e2e_pace_ms * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void e2e_usage(FILE *f)
{
	fprintf(f, "usage: e2e_client [--threads N] [--events N] [--pause-at N] [--forever]\n"
		"                  [--pace-ms N] [--nest] [--hold] [--counts FILE]\n"
		"                  [--end return|exit-thread|abort|exec|fork|rethread]\n");
}

static int e2e_end_parse(const char *s)
{
	static const char *const names[] = { "return", "exit-thread", "abort", "exec", "fork",
					     "rethread" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static void e2e_run_threads(unsigned threads, unsigned first_slot)
{
	pthread_t tids[E2E_THREADS_MAX];

	for (unsigned t = 0; t < threads; t++)
		pthread_create(&tids[t], NULL, e2e_worker, (void *)(uintptr_t)(first_slot + t));
	if (e2e_pause_at) {
		pthread_barrier_wait(&e2e_paused);
		printf("paused\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (e2e_forever) {
		printf("running\n");
		fflush(stdout);
		/* keep the registration count fresh for the test to poll */
		while (!e2e_stop) {
			struct timespec ts = { 0, 10 * 1000000L };

			e2e_counts_stats(false);
			nanosleep(&ts, NULL);
		}
	}
	for (unsigned t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
}

static void e2e_report(const char *prefix, unsigned threads, unsigned first_slot)
{
	struct rp_client_stats st;

	rp_stats(&st);
	for (unsigned t = 0; t < threads; t++)
		printf("%sthread %u committed %llu\n", prefix, t,
		       (unsigned long long)__atomic_load_n(&e2e_committed[first_slot + t],
							   __ATOMIC_ACQUIRE));
	printf("%sdropped %llu\n", prefix, (unsigned long long)st.events_dropped);
	printf("%sno_slot %llu\n", prefix, (unsigned long long)st.events_dropped_no_slot);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "events", required_argument, NULL, 'e' },
		{ "pause-at", required_argument, NULL, 'p' },
		{ "forever", no_argument, NULL, 'F' },
		{ "pace-ms", required_argument, NULL, 'P' },
		{ "nest", no_argument, NULL, 'n' },
		{ "counts", required_argument, NULL, 'c' },
		{ "end", required_argument, NULL, 'E' },
		{ "hold", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned threads;
	char path[4096], nbuf[2][32];
	int c, end;

	/* a test killed by its timeout must not leave a --forever client spinning */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': e2e_threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'e': e2e_events = strtoul(optarg, NULL, 10); break;
		case 'p': e2e_pause_at = strtoul(optarg, NULL, 10); break;
		case 'F': e2e_forever = 1; break;
		case 'P': e2e_pace_ms = strtoul(optarg, NULL, 10); break;
		case 'n': e2e_nest = 1; break;
		case 'c': e2e_counts_path = optarg; break;
		case 'H': e2e_hold = 1; break;
		case 'E':
			if ((end = e2e_end_parse(optarg)) < 0) {
				e2e_usage(stderr);
				return 2;
			}
			e2e_end = (enum e2e_end)end;
			break;
		case 'h': e2e_usage(stdout); return 0;
		default: e2e_usage(stderr); return 2;
		}
	}
	threads = e2e_threads;
	if (threads == 0 || threads > E2E_THREADS_MAX) {
		fprintf(stderr, "e2e_client: --threads must be 1..%u\n", E2E_THREADS_MAX);
		return 2;
	}
	if ((e2e_end == E2E_EXEC || e2e_end == E2E_FORK) && e2e_counts_path == NULL) {
		fprintf(stderr, "e2e_client: --end exec and fork need --counts\n");
		return 2;
	}
	signal(SIGUSR1, e2e_on_usr1);
	signal(SIGUSR2, e2e_on_usr2);
	if (e2e_counts_path != NULL)
		e2e_counts_open(e2e_counts_path);
	if (rp_init() != 0 || !rp_is_enabled()) {
		fprintf(stderr, "e2e_client: ringprof is off: %s\n", rp_status_reason());
		return 3;
	}
	if (e2e_hold) {
		struct timespec ts = { 0, 5 * 1000000L };

		printf("ready\n");
		fflush(stdout);
		while (!e2e_go)
			nanosleep(&ts, NULL);
	}
	pthread_barrier_init(&e2e_paused, NULL, threads + 1);
	e2e_run_threads(threads, 0);
	e2e_report("", threads, 0);
	switch (e2e_end) {
	case E2E_RETHREAD:
		/* the first threads' rings may still hold their last events */
		e2e_run_threads(threads, threads);
		e2e_report("again ", threads, threads);
		break;
	case E2E_EXEC:
		e2e_counts_stats(true);
		snprintf(path, sizeof(path), "%s.exec", e2e_counts_path);
		snprintf(nbuf[0], sizeof(nbuf[0]), "%u", threads);
		snprintf(nbuf[1], sizeof(nbuf[1]), "%lu", e2e_events);
		{
			char *args[] = { argv[0], "--threads", nbuf[0], "--events", nbuf[1],
					 "--counts", path, NULL };

			execv("/proc/self/exe", args);
		}
		fprintf(stderr, "e2e_client: execv: %s\n", strerror(errno));
		return 5;
	case E2E_FORK: {
		pid_t child;
		int st;

		e2e_counts_stats(true);
		fflush(stdout);
		child = fork();
		if (child < 0) {
			fprintf(stderr, "e2e_client: fork: %s\n", strerror(errno));
			return 5;
		}
		if (child == 0) {
			snprintf(path, sizeof(path), "%s.fork", e2e_counts_path);
			e2e_counts_open(path);
			e2e_run_threads(threads, 0);
			e2e_report("child ", threads, 0);
			e2e_counts_stats(true);
			_exit(0);
		}
		if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "e2e_client: child failed (status 0x%x)\n", st);
			return 5;
		}
		/* the parent records again after its child: its own segment */
		e2e_run_threads(threads, threads);
		e2e_report("again ", threads, threads);
		break;
	}
	default:
		break;
	}
	e2e_counts_stats(true);
	return 0;
}
