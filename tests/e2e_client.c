/*
 * e2e_client - a client process driven by test_e2e.c.
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
 * On exit it prints one line per thread: "thread <t> committed <n>", then
 * "dropped <n>" (full rings) and "no_slot <n>" (threads without a ring).
 */
#define RINGPROF_IMPLEMENTATION
#include <ringprof.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define E2E_KEYS 16

static unsigned long e2e_events = 100000;
static unsigned long e2e_pause_at;   /* 0: no pause */
static int e2e_forever;
static unsigned long e2e_pace_ms;
static volatile sig_atomic_t e2e_stop;
static pthread_barrier_t e2e_paused;
static uint64_t e2e_committed[64];

static void e2e_on_usr1(int sig)
{
	(void)sig;
	e2e_stop = 1;
}

static void *e2e_worker(void *argp)
{
	unsigned t = (unsigned)(uintptr_t)argp;
	char name[32];
	uint32_t kind, keys[E2E_KEYS];
	uint64_t i;

	snprintf(name, sizeof(name), "worker-%u", t);
	rp_thread_name(name);
	kind = rp_kind("E2E");
	for (unsigned k = 0; k < E2E_KEYS; k++) {
		char key[32];

		snprintf(key, sizeof(key), "t%u-k%u", t, k);
		keys[k] = rp_intern(key);
	}
	for (i = 0; e2e_forever ? !e2e_stop : i < e2e_events; i++) {
		if (e2e_pause_at && i == e2e_pause_at) {
			__atomic_store_n(&e2e_committed[t], i, __ATOMIC_RELEASE);
			pthread_barrier_wait(&e2e_paused);
			for (;;)
				pause();
		}
		rp_integer(kind, keys[i % E2E_KEYS], i);
		if (e2e_pace_ms && i % 1000 == 999) {
			struct timespec ts = { 0, (long)e2e_pace_ms * 1000000L };

			nanosleep(&ts, NULL);
		}
		/* Published after the event, so a reader of this counter knows
		 * a lower bound of what was committed. */
		__atomic_store_n(&e2e_committed[t], i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void e2e_usage(FILE *f)
{
	fprintf(f, "usage: e2e_client [--threads N] [--events N] [--pause-at N] [--forever]\n"
		"                  [--pace-ms N]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "events", required_argument, NULL, 'e' },
		{ "pause-at", required_argument, NULL, 'p' },
		{ "forever", no_argument, NULL, 'F' },
		{ "pace-ms", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned threads = 4;
	pthread_t tids[64];
	struct rp_client_stats st;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'e': e2e_events = strtoul(optarg, NULL, 10); break;
		case 'p': e2e_pause_at = strtoul(optarg, NULL, 10); break;
		case 'F': e2e_forever = 1; break;
		case 'P': e2e_pace_ms = strtoul(optarg, NULL, 10); break;
		case 'h': e2e_usage(stdout); return 0;
		default: e2e_usage(stderr); return 2;
		}
	}
	if (threads == 0 || threads > 64) {
		fprintf(stderr, "e2e_client: --threads must be 1..64\n");
		return 2;
	}
	signal(SIGUSR1, e2e_on_usr1);
	if (rp_init() != 0 || !rp_is_enabled()) {
		fprintf(stderr, "e2e_client: ringprof is off: %s\n", rp_status_reason());
		return 3;
	}
	pthread_barrier_init(&e2e_paused, NULL, threads + 1);
	for (unsigned t = 0; t < threads; t++)
		pthread_create(&tids[t], NULL, e2e_worker, (void *)(uintptr_t)t);
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
	}
	for (unsigned t = 0; t < threads; t++)
		pthread_join(tids[t], NULL);
	rp_stats(&st);
	for (unsigned t = 0; t < threads; t++)
		printf("thread %u committed %llu\n", t,
		       (unsigned long long)__atomic_load_n(&e2e_committed[t], __ATOMIC_ACQUIRE));
	printf("dropped %llu\n", (unsigned long long)st.events_dropped);
	printf("no_slot %llu\n", (unsigned long long)st.events_dropped_no_slot);
	return 0;
}
