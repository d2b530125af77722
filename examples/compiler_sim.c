/*
 * compiler_sim.c - a program shaped like a compiler, instrumented with
 * ringprof.h.  Read it as the example of how a compiler records itself.
 *
 * The main thread runs the passes (parse, expand, typeck, codegen, link) as
 * GenericActivity intervals.  Inside them it evaluates memoized queries
 * (typeck(fn_12), type_of(fn_40)...): a miss is a Query interval around the
 * provider, a hit a QueryCacheHit instant; some results are "loaded from
 * the incremental cache" (IncrementalLoadResult) and fresh ones are
 * fingerprinted (IncrementalResultHashing).  Codegen runs on worker
 * threads that share the query cache: a worker that needs a query another
 * worker is computing waits on a condition variable inside a QueryBlocked
 * interval.  Every object file and the final output report their size as
 * ArtifactSize integers.  The amount of work is fixed by the options, so
 * two runs record the same events.
 *
 * A query key is added once, when its query first runs, with
 * rp_intern_new(): the memo slot keeps the id, so the lookup rp_intern()
 * would make is not needed (--intern-lookup makes it anyway, to compare).
 *
 *   ringprof-example [--threads N] [--iterations N] [--intern-lookup]
 *
 * Runs the same with or without ringprofd; without it, recording is off and
 * the summary says why.
 */
#define RINGPROF_IMPLEMENTATION
#include <ringprof.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_THREADS_DEFAULT    4u
#define SIM_FUNCTIONS_DEFAULT  12000u
#define SIM_THREADS_MAX        64u
#define SIM_FUNCTIONS_MAX      1000000u

enum sim_query {
	Q_PARSE_ITEM,
	Q_TYPE_OF,
	Q_TYPECK,
	Q_OPTIMIZED_MIR,
	Q_CODEGEN_FN,
	Q_PARTITION,   /* one key: collect_and_partition_mono_items(()) */
	Q_COUNT
};

static const char *const sim_query_names[Q_COUNT] = {
	"parse_item", "type_of", "typeck", "optimized_mir", "codegen_fn",
	"collect_and_partition_mono_items",
};

/* Work units (xorshift steps) of each provider: a rough cost model. */
static const unsigned sim_query_cost[Q_COUNT] = { 4500, 3000, 15000, 12000, 9000, 150000 };

enum sim_state { SLOT_NEW, SLOT_RUNNING, SLOT_DONE };

struct sim_slot {
	uint8_t state;      /* enum sim_state; under sim.lock */
	uint32_t key;       /* interned "query(fn_N)"; set when started */
	uint64_t result;
};

struct sim_kinds {
	uint32_t query, blocked, hit, load, hashing, activity, artifact;
};

struct sim {
	unsigned functions;
	unsigned threads;
	bool intern_lookup;          /* query keys through rp_intern() */
	struct sim_kinds k;
	struct sim_slot *slots;      /* Q_COUNT x functions */
	pthread_mutex_t lock;
	pthread_cond_t changed;      /* a slot became DONE, or a waiter came */
	unsigned partition_waiters;  /* workers blocked on Q_PARTITION */
	uint64_t events;             /* under lock, summed at thread end */
};

struct sim_thread {
	struct sim *sim;
	unsigned id;
	uint64_t events;     /* events this thread asked ringprof to record */
	uint64_t object_bytes;
	pthread_t th;
};

/* Burns n deterministic steps; the result feeds the "fingerprint". */
static uint64_t sim_work(uint64_t x, unsigned n)
{
	unsigned i;

	x |= 1;
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}

static unsigned sim_callee(const struct sim *s, unsigned fn, unsigned which)
{
	return (unsigned)(((uint64_t)fn * (which ? 13u : 7u) + (which ? 5u : 1u)) % s->functions);
}

static uint64_t sim_query(struct sim_thread *t, enum sim_query q, unsigned fn);

/* The provider of q(fn): what the compiler computes on a cache miss. */
static uint64_t sim_provide(struct sim_thread *t, enum sim_query q, unsigned fn, uint32_t key)
{
	struct sim *s = t->sim;
	uint64_t r = (uint64_t)q * 1000003u + fn;

	switch (q) {
	case Q_TYPE_OF:
		r ^= sim_query(t, Q_PARSE_ITEM, fn);
		break;
	case Q_TYPECK:
		r ^= sim_query(t, Q_TYPE_OF, fn);
		r ^= sim_query(t, Q_TYPE_OF, sim_callee(s, fn, 0));
		r ^= sim_query(t, Q_TYPE_OF, sim_callee(s, fn, 1));
		break;
	case Q_OPTIMIZED_MIR:
		r ^= sim_query(t, Q_TYPECK, fn);
		break;
	case Q_CODEGEN_FN:
		r ^= sim_query(t, Q_OPTIMIZED_MIR, fn);
		r ^= sim_query(t, Q_OPTIMIZED_MIR, sim_callee(s, fn, 0)); /* inlining */
		break;
	default:
		break;
	}
	/* every fourth typeck/optimized_mir comes from the incremental cache */
	if ((q == Q_TYPECK || q == Q_OPTIMIZED_MIR) && fn % 4 == 0) {
		rp_interval_begin(s->k.load, key);
		r = sim_work(r, sim_query_cost[q] / 4);
		rp_interval_end(s->k.load, key);
		t->events += 2;
		return r;
	}
	r = sim_work(r, sim_query_cost[q]);
	rp_interval_begin(s->k.hashing, key);
	r = sim_work(r, 20);
	rp_interval_end(s->k.hashing, key);
	t->events += 2;
	return r;
}

/* Evaluates q(fn) through the shared memo table: hit, wait for the thread
 * computing it, or compute it. */
static uint64_t sim_query(struct sim_thread *t, enum sim_query q, unsigned fn)
{
	struct sim *s = t->sim;
	struct sim_slot *slot = &s->slots[(size_t)q * s->functions + fn];
	char name[96];
	uint64_t r;
	uint32_t key;

	pthread_mutex_lock(&s->lock);
	if (slot->state == SLOT_DONE) {
		r = slot->result;
		key = slot->key;
		pthread_mutex_unlock(&s->lock);
		rp_instant(s->k.hit, key);
		t->events++;
		return r;
	}
	if (slot->state == SLOT_RUNNING) {
		key = slot->key;
		rp_interval_begin(s->k.blocked, key);
		if (q == Q_PARTITION) {
			s->partition_waiters++;
			pthread_cond_broadcast(&s->changed);
		}
		while (slot->state != SLOT_DONE)
			pthread_cond_wait(&s->changed, &s->lock);
		r = slot->result;
		pthread_mutex_unlock(&s->lock);
		rp_interval_end(s->k.blocked, key);
		t->events += 2;
		return r;
	}
	if (q == Q_PARTITION)
		snprintf(name, sizeof(name), "%s(())", sim_query_names[q]);
	else
		snprintf(name, sizeof(name), "%s(fn_%u)", sim_query_names[q], fn);
	/* the key's first and only interning: the slot keeps the id */
	slot->key = key = s->intern_lookup ? rp_intern(name) : rp_intern_new(name);
	slot->state = SLOT_RUNNING;
	pthread_mutex_unlock(&s->lock);

	rp_interval_begin(s->k.query, key);
	r = sim_provide(t, q, fn, key);
	if (q == Q_PARTITION) {
		/* hold the query until every other worker waits on it, so a run
		 * always shows QueryBlocked */
		pthread_mutex_lock(&s->lock);
		while (s->partition_waiters + 1 < s->threads)
			pthread_cond_wait(&s->changed, &s->lock);
		pthread_mutex_unlock(&s->lock);
	}
	rp_interval_end(s->k.query, key);
	t->events += 2;

	pthread_mutex_lock(&s->lock);
	slot->result = r;
	slot->state = SLOT_DONE;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static void sim_artifact(struct sim_thread *t, const char *name, uint64_t bytes)
{
	rp_integer(t->sim->k.artifact, rp_intern(name), bytes);
	t->events++;
}

/* A codegen worker: partitions, then compiles every threads-th function
 * into its own object file. */
static void *sim_worker(void *arg)
{
	struct sim_thread *t = (struct sim_thread *)arg;
	struct sim *s = t->sim;
	char name[64];
	unsigned fn;

	snprintf(name, sizeof(name), "codegen-worker-%u", t->id);
	rp_thread_name(name);
	t->events++;
	sim_query(t, Q_PARTITION, 0);
	for (fn = t->id; fn < s->functions; fn += s->threads)
		t->object_bytes += 64 + sim_query(t, Q_CODEGEN_FN, fn) % 4096;
	snprintf(name, sizeof(name), "cgu-%u.o", t->id);
	sim_artifact(t, name, t->object_bytes);
	return NULL;
}

static int sim_pass_codegen(struct sim *s, struct sim_thread *workers)
{
	unsigned i, started;
	int ret = 0;

	for (started = 0; started < s->threads; started++) {
		workers[started].sim = s;
		workers[started].id = started;
		ret = -pthread_create(&workers[started].th, NULL, sim_worker, &workers[started]);
		if (ret != 0)
			break;
	}
	if (ret != 0) {
		/* the partitioning worker must not wait for workers that never came */
		pthread_mutex_lock(&s->lock);
		s->threads = started;
		pthread_cond_broadcast(&s->changed);
		pthread_mutex_unlock(&s->lock);
	}
	for (i = 0; i < started; i++)
		pthread_join(workers[i].th, NULL);
	return ret;
}

/* Runs the whole compilation on the calling thread (plus workers). */
static int sim_compile(struct sim *s, struct sim_thread *main_t, struct sim_thread *workers)
{
	uint32_t act = s->k.activity;
	uint64_t acc = 0, total = 0;
	unsigned fn, i;
	int ret;

	{
		RINGPROF_SCOPE(act, rp_intern("parse"));
		for (fn = 0; fn < s->functions; fn++)
			acc ^= sim_query(main_t, Q_PARSE_ITEM, fn);
	}
	{
		RINGPROF_SCOPE(act, rp_intern("expand"));
		for (fn = 0; fn < s->functions; fn++)
			acc = sim_work(acc ^ fn, 2400);
	}
	{
		RINGPROF_SCOPE(act, rp_intern("typeck"));
		for (fn = 0; fn < s->functions; fn++)
			acc ^= sim_query(main_t, Q_TYPECK, fn);
	}
	main_t->events += 6;
	rp_interval_begin(act, rp_intern("codegen"));
	ret = sim_pass_codegen(s, workers);
	rp_interval_end(act, rp_intern("codegen"));
	main_t->events += 2;
	if (ret < 0)
		return ret;
	rp_interval_begin(act, rp_intern("link"));
	for (i = 0; i < s->threads; i++)
		total += workers[i].object_bytes;
	total += acc % 1024;
	sim_artifact(main_t, "compiler_sim.out", total);
	rp_interval_end(act, rp_intern("link"));
	main_t->events += 2;
	return 0;
}

static void sim_usage(FILE *f)
{
	fprintf(f,
		"usage: ringprof-example [--threads N] [--iterations N] [--intern-lookup]\n"
		"Simulates a compiler and records it with ringprof.\n"
		"  --threads N      codegen worker threads, 1..%u (default %u)\n"
		"  --iterations N   functions in the simulated crate, 1..%u (default %u)\n"
		"  --intern-lookup  intern query keys with rp_intern() instead of\n"
		"                   rp_intern_new() (the same recording, slower)\n"
		"  --help           this text\n"
		"Recording needs ringprofd; see ringprof.h for the RINGPROF_* variables.\n",
		SIM_THREADS_MAX, SIM_THREADS_DEFAULT, SIM_FUNCTIONS_MAX, SIM_FUNCTIONS_DEFAULT);
}

static int sim_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || *s == '-' || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct sim s;
	struct sim_thread main_t, *workers;
	struct rp_client_stats st;
	uint64_t events;
	unsigned i;
	int a, ret;

	memset(&s, 0, sizeof(s));
	s.threads = SIM_THREADS_DEFAULT;
	s.functions = SIM_FUNCTIONS_DEFAULT;
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--help") == 0) {
			sim_usage(stdout);
			return 0;
		} else if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc &&
			   sim_parse_uint(argv[a + 1], 1, SIM_THREADS_MAX, &s.threads) == 0) {
			a++;
		} else if (strcmp(argv[a], "--intern-lookup") == 0) {
			s.intern_lookup = true;
		} else if (strcmp(argv[a], "--iterations") == 0 && a + 1 < argc &&
			   sim_parse_uint(argv[a + 1], 1, SIM_FUNCTIONS_MAX, &s.functions) == 0) {
			a++;
		} else {
			fprintf(stderr, "ringprof-example: bad argument '%s'\n", argv[a]);
			sim_usage(stderr);
			return 2;
		}
	}

	/* kinds are interned once; 0 (recording off) makes every event free */
	s.k.query = rp_kind("Query");
	s.k.blocked = rp_kind("QueryBlocked");
	s.k.hit = rp_kind("QueryCacheHit");
	s.k.load = rp_kind("IncrementalLoadResult");
	s.k.hashing = rp_kind("IncrementalResultHashing");
	s.k.activity = rp_kind("GenericActivity");
	s.k.artifact = rp_kind("ArtifactSize");
	rp_thread_name("main");

	s.slots = calloc((size_t)Q_COUNT * s.functions, sizeof(*s.slots));
	workers = calloc(s.threads, sizeof(*workers));
	if (s.slots == NULL || workers == NULL) {
		fprintf(stderr, "ringprof-example: out of memory\n");
		ret = 1;
		goto err_alloc;
	}
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.changed, NULL);
	memset(&main_t, 0, sizeof(main_t));
	main_t.sim = &s;
	main_t.events = 1; /* the thread name */

	ret = sim_compile(&s, &main_t, workers);
	if (ret < 0) {
		fprintf(stderr, "ringprof-example: starting workers: %s\n", strerror(-ret));
		ret = 1;
		goto err_run;
	}
	events = main_t.events;
	for (i = 0; i < s.threads; i++)
		events += workers[i].events;
	rp_stats(&st);
	if (st.enabled)
		printf("ringprof-example: %u threads, %u functions: recording on, %" PRIu64
		       " events emitted, %" PRIu64 " dropped (ring full), %" PRIu64
		       " dropped (no free ring), %u strings\n",
		       s.threads, s.functions, events, st.events_dropped,
		       st.events_dropped_no_slot, st.strings_interned);
	else
		printf("ringprof-example: %u threads, %u functions: recording off (%s), "
		       "%" PRIu64 " events would have been emitted\n",
		       s.threads, s.functions, rp_status_reason(), events);
	ret = 0;

err_run:
	pthread_cond_destroy(&s.changed);
	pthread_mutex_destroy(&s.lock);
err_alloc:
	free(workers);
	free(s.slots);
	return ret;
}
