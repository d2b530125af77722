/*
 * bench_hot.c - the cost of recording with the real client, ringprof.h,
 * against a real ringprofd (bench/run starts it on a private socket and
 * points $RINGPROF_SOCKET at it).
 *
 *   bench_hot instant  [--events N] [--threads T] [--burst B] [--gap-us U]
 *   bench_hot interval [same]           N begin+end pairs per thread
 *   bench_hot disabled [--events N]     no daemon: kinds are 0
 *   bench_hot flood    [--seconds S]    one thread records flat out
 *   bench_hot query    [--events N] [--keys K] [--work W]
 *                                       N Query intervals over K keys
 *   bench_hot intern   [--events N]     rp_intern of N new strings shaped
 *                                       like query keys, then of the same
 *                                       N again (lookups), then
 *                                       rp_intern_new of N more; formatting
 *                                       the key is timed alone and taken off
 *
 * Each thread first records two laps of its ring (the first lap pays the
 * page faults of a fresh ring: reported as cold_ns_per_event), then the
 * timed events.  Prints one key=value line (see bench.h).
 */
#define RINGPROF_IMPLEMENTATION
#include <ringprof.h>

#include <inttypes.h>
#include <pthread.h>

#include "bench.h"

enum hot_mode { HOT_INSTANT, HOT_INTERVAL, HOT_DISABLED, HOT_FLOOD, HOT_QUERY, HOT_INTERN };

struct hot_run {
	enum hot_mode mode;
	uint64_t events;    /* per thread: events, intervals or queries */
	uint64_t burst;     /* iterations per timed burst */
	uint64_t gap_us;    /* sleep between bursts */
	uint64_t seconds;   /* flood duration */
	uint64_t work;      /* xorshift steps inside a query */
	uint32_t kind;
	uint32_t *keys;
	uint32_t nkeys;
	pthread_barrier_t start;
};

struct hot_thread {
	struct hot_run *run;
	pthread_t th;
	uint64_t ns;        /* timed ns */
	uint64_t cold_ns;   /* ns of the first ring lap */
	uint64_t cold_n;    /* events of the first ring lap */
	uint64_t done;      /* events recorded in the timed part */
	uint64_t cpu_ns;    /* the thread's CPU ns in the timed part */
	uint64_t sink;
};

/* The measured loops are functions of their own so that callgrind can
 * count their instructions alone (--toggle-collect=hot_loop_*). */
__attribute__((noinline)) static void hot_loop_instant(uint32_t kind, uint32_t arg, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		rp_instant(kind, arg);
}

__attribute__((noinline)) static void hot_loop_interval(uint32_t kind, uint32_t arg, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		rp_interval_begin(kind, arg);
		rp_interval_end(kind, arg);
	}
}

/* kind is 0 here; the barrier makes each iteration test it again, as a
 * compiler's call sites do with a kind loaded from memory. */
__attribute__((noinline)) static void hot_loop_disabled(uint32_t kind, uint32_t arg, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		BENCH_OPAQUE(kind);
		rp_instant(kind, arg);
	}
}

static uint64_t hot_work(uint64_t x, uint64_t n)
{
	x |= 1;
	for (uint64_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}

/* Records one lap of the ring in bursts, untimed except for cold_ns. */
static void hot_warm(struct hot_thread *t)
{
	struct rp_client_stats st;
	uint64_t lap;

	rp_stats(&st);
	lap = st.ring_bytes / RP_REC_BYTES;
	if (t->run->mode == HOT_DISABLED || lap == 0)
		return;
	t->cold_n = lap;
	BENCH_BURSTS(lap, t->run->burst, t->run->gap_us, t->cold_ns, i,
		     rp_instant(t->run->kind, 0));
	BENCH_BURSTS(lap, t->run->burst, t->run->gap_us, t->ns, i,
		     rp_instant(t->run->kind, 0));
	t->ns = 0;
}

static void hot_flood(struct hot_thread *t)
{
	uint64_t t0 = bench_now_ns(), end = t0 + t->run->seconds * 1000000000u, now;

	do {
		hot_loop_instant(t->run->kind, 0, 4096);
		t->done += 4096;
		now = bench_now_ns();
	} while (now < end);
	t->ns = now - t0;
}

static void hot_query(struct hot_thread *t)
{
	struct hot_run *r = t->run;
	uint64_t x = 88172645463325252u;

	BENCH_BURSTS(r->events, r->burst, r->gap_us, t->ns, i, {
		uint32_t key = r->keys[(x >> 7) % r->nkeys];

		rp_interval_begin(r->kind, key);
		x = hot_work(x, r->work);
		rp_interval_end(r->kind, key);
	});
	t->sink = x;
	t->done = 2 * r->events;
}

/* The string interned for key i ("typeck(fn_<i>)"): its length. */
static int hot_key(char *buf, size_t cap, uint64_t i)
{
	return snprintf(buf, cap, "typeck(fn_%" PRIu64 ")", i);
}

enum hot_intern_how { HOT_FORMAT_ONLY, HOT_INTERN_LOOKUP, HOT_INTERN_NEW };

__attribute__((noinline)) static uint64_t hot_loop_intern(uint64_t from, uint64_t n,
							enum hot_intern_how how)
{
	char key[64];
	uint64_t sum = 0;

	for (uint64_t i = from; i < from + n; i++) {
		int len = hot_key(key, sizeof(key), i);

		BENCH_OPAQUE(len);
		if (how == HOT_INTERN_LOOKUP)
			sum += rp_intern_n(key, (size_t)len);
		else if (how == HOT_INTERN_NEW)
			sum += rp_intern_new_n(key, (size_t)len);
		else
			sum += (unsigned char)key[len - 1];
	}
	return sum;
}

/* New strings, the same strings again, as many more with rp_intern_new,
 * then formatting alone: each timed over n keys in one burst, and given
 * net of the formatting. */
static void hot_intern(struct hot_thread *t, uint64_t *lookup_ns, uint64_t *new_ns,
		       uint64_t *format_ns)
{
	uint64_t n = t->run->events, t0, t1, t2, t3, t4;

	t0 = bench_now_ns();
	t->sink += hot_loop_intern(0, n, HOT_INTERN_LOOKUP);
	t1 = bench_now_ns();
	t->sink += hot_loop_intern(0, n, HOT_INTERN_LOOKUP);
	t2 = bench_now_ns();
	t->sink += hot_loop_intern(n, n, HOT_INTERN_NEW);
	t3 = bench_now_ns();
	t->sink += hot_loop_intern(0, n, HOT_FORMAT_ONLY);
	t4 = bench_now_ns();
	*format_ns = t4 - t3;
	t->ns = (t1 - t0) > *format_ns ? (t1 - t0) - *format_ns : 0;
	*lookup_ns = (t2 - t1) > *format_ns ? (t2 - t1) - *format_ns : 0;
	*new_ns = (t3 - t2) > *format_ns ? (t3 - t2) - *format_ns : 0;
	t->done = n;
}

static void *hot_thread_main(void *arg)
{
	struct hot_thread *t = (struct hot_thread *)arg;
	struct hot_run *r = t->run;
	uint64_t bursts = (r->events + r->burst - 1) / r->burst;

	hot_warm(t);
	pthread_barrier_wait(&r->start);
	bench_burst_cpu_ns = 0;
	switch (r->mode) {
	case HOT_INSTANT:
		BENCH_BURSTS(bursts, 1, r->gap_us, t->ns, i, hot_loop_instant(r->kind, 0, r->burst));
		t->done = bursts * r->burst;
		break;
	case HOT_INTERVAL: /* done counts intervals: ns_per_event is per pair */
		BENCH_BURSTS(bursts, 1, r->gap_us, t->ns, i, hot_loop_interval(r->kind, 0, r->burst));
		t->done = bursts * r->burst;
		break;
	case HOT_DISABLED:
		BENCH_BURSTS(1, 1, 0, t->ns, i, hot_loop_disabled(r->kind, 0, r->events));
		t->done = r->events;
		break;
	case HOT_FLOOD:
		hot_flood(t);
		break;
	case HOT_QUERY:
		hot_query(t);
		break;
	case HOT_INTERN:
		break; /* single-threaded, in main() */
	}
	t->cpu_ns = bench_burst_cpu_ns;
	return NULL;
}

static int hot_parse_mode(const char *s, enum hot_mode *out)
{
	static const char *const names[] = { "instant", "interval", "disabled", "flood", "query",
					      "intern" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum hot_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct hot_run r;
	struct hot_thread *ts;
	struct rp_client_stats st;
	uint64_t threads, ns_sum = 0, cpu_sum = 0, cold_sum = 0, done = 0, sink = 0;
	char key[64];

	memset(&r, 0, sizeof(r));
	if (argc < 2 || hot_parse_mode(argv[1], &r.mode) < 0) {
		fprintf(stderr, "usage: bench_hot instant|interval|disabled|flood|query|intern "
			"[--events N] [--threads T] [--burst B] [--gap-us U] [--seconds S] "
			"[--keys K] [--work W]\n");
		return 2;
	}
	r.events = bench_opt(argc, argv, "events", 5000000);
	r.burst = bench_opt(argc, argv, "burst", 16384);
	r.gap_us = bench_opt(argc, argv, "gap-us", 200);
	r.seconds = bench_opt(argc, argv, "seconds", 10);
	r.work = bench_opt(argc, argv, "work", 40);
	r.nkeys = (uint32_t)bench_opt(argc, argv, "keys", 4096);
	threads = bench_opt(argc, argv, "threads", 1);
	if (threads < 1 || threads > 64 || r.burst < 1 || r.nkeys < 1) {
		fprintf(stderr, "bench_hot: --threads 1..64, --burst and --keys >= 1\n");
		return 2;
	}
	r.kind = rp_kind(r.mode == HOT_QUERY ? "Query" : "QueryCacheHit");
	if (r.mode == HOT_INTERN) {
		struct hot_thread t1;
		uint64_t lookup_ns = 0, new_ns = 0, format_ns = 0;

		if (r.kind == 0) {
			fprintf(stderr, "bench_hot: recording is off: %s\n", rp_status_reason());
			return 1;
		}
		memset(&t1, 0, sizeof(t1));
		t1.run = &r;
		hot_intern(&t1, &lookup_ns, &new_ns, &format_ns);
		rp_stats(&st);
		if (st.strings_interned != 2 * r.events + 1 || st.strings_dropped != 0) {
			fprintf(stderr, "bench_hot: %" PRIu32 " strings interned, %" PRIu64
				" refused: raise RINGPROF_STRINGS\n", st.strings_interned,
				st.strings_dropped);
			return 1;
		}
		printf("mode=intern events=%" PRIu64 " ns_per_event=%.3f lookup_ns=%.3f "
		       "new_ns=%.3f format_ns=%.3f strings=%" PRIu32 " sink=%" PRIu64 "\n", r.events,
		       (double)t1.ns / (double)r.events, (double)lookup_ns / (double)r.events,
		       (double)new_ns / (double)r.events, (double)format_ns / (double)r.events,
		       st.strings_interned, t1.sink & 1);
		return 0;
	}
	if (r.mode != HOT_DISABLED && r.kind == 0) {
		fprintf(stderr, "bench_hot: recording is off: %s\n", rp_status_reason());
		return 1;
	}
	if (r.mode == HOT_DISABLED && r.kind != 0) {
		fprintf(stderr, "bench_hot: disabled mode but recording is on\n");
		return 1;
	}
	if (r.mode == HOT_QUERY) {
		r.keys = calloc(r.nkeys, sizeof(*r.keys));
		if (r.keys == NULL)
			return 1;
		for (uint32_t k = 0; k < r.nkeys; k++) {
			snprintf(key, sizeof(key), "typeck(fn_%" PRIu32 ")", k);
			r.keys[k] = rp_intern(key);
		}
	}
	if (r.mode == HOT_FLOOD)
		threads = 1;
	ts = calloc(threads, sizeof(*ts));
	if (ts == NULL)
		return 1;
	pthread_barrier_init(&r.start, NULL, (unsigned)threads);
	for (uint64_t i = 0; i < threads; i++) {
		ts[i].run = &r;
		if (pthread_create(&ts[i].th, NULL, hot_thread_main, &ts[i]) != 0) {
			fprintf(stderr, "bench_hot: pthread_create failed\n");
			return 1;
		}
	}
	for (uint64_t i = 0; i < threads; i++) {
		pthread_join(ts[i].th, NULL);
		ns_sum += ts[i].ns * 1000 / (ts[i].done ? ts[i].done : 1);  /* ps/event */
		cpu_sum += ts[i].cpu_ns * 1000 / (ts[i].done ? ts[i].done : 1);
		cold_sum += ts[i].cold_ns * 1000 / (ts[i].cold_n ? ts[i].cold_n : 1);
		done += ts[i].done;
		sink ^= ts[i].sink;
	}
	rp_stats(&st);
	printf("mode=%s threads=%" PRIu64 " events=%" PRIu64 " ns_per_event=%.3f "
	       "cpu_ns_per_event=%.3f cold_ns_per_event=%.3f committed=%" PRIu64 " dropped=%" PRIu64
	       " dropped_no_slot=%" PRIu64 " ring_bytes=%" PRIu32 " seconds=%.3f sink=%" PRIu64 "\n",
	       argv[1], threads, done, (double)ns_sum / 1000.0 / (double)threads,
	       (double)cpu_sum / 1000.0 / (double)threads,
	       (double)cold_sum / 1000.0 / (double)threads, st.records_committed, st.events_dropped,
	       st.events_dropped_no_slot, st.ring_bytes, (double)ts[0].ns / 1e9, sink & 1);
	pthread_barrier_destroy(&r.start);
	free(ts);
	free(r.keys);
	return 0;
}
