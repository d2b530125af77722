/*
 * test_ring.c - the client's side of the ring protocol, checked against a
 * consumer written here (the daemon's side: acquire head, copy, release
 * tail; RETIRED -> FREE after the last drain).  Regions are created in
 * process with rp_test_open_region(); no daemon is involved.
 */
#define RINGPROF_IMPLEMENTATION
#include <ringprof.h>

#ifdef RINGPROF_TEST_SHIM
#include "test_client_shim.h"
#else
#include <criterion/criterion.h>
#endif
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define STRESS_EVENTS 100000u
#else
#define STRESS_EVENTS 1000000u
#endif

/* Geometry for a test region; strings 0 keeps the default. */
static void setup_env(unsigned ring_bytes, unsigned rings, unsigned strings)
{
	char buf[32];

	unsetenv("RINGPROF_DISABLE");
	unsetenv("RINGPROF_EVENTS");
	unsetenv("RINGPROF_LOSSLESS");
	unsetenv("RINGPROF_STRINGS");
	setenv("RINGPROF_CLOCK", "monotonic", 1);
	setenv("RINGPROF_SOCKET", "/nonexistent-ringprof-test/ringprof.sock", 1);
	snprintf(buf, sizeof(buf), "%u", ring_bytes);
	setenv("RINGPROF_RING_SIZE", buf, 1);
	snprintf(buf, sizeof(buf), "%u", rings);
	setenv("RINGPROF_RINGS", buf, 1);
	if (strings != 0) {
		snprintf(buf, sizeof(buf), "%u", strings);
		setenv("RINGPROF_STRINGS", buf, 1);
	}
}

static struct rp_shm_header *open_region(void)
{
	struct rp_shm_header *h;

	cr_assert_eq(rp_test_open_region(), 0, "reason: %s", rp_status_reason());
	h = rp_test_region(NULL);
	cr_assert_not_null(h);
	return h;
}

static struct rp_ring_ctl *ring_at(struct rp_shm_header *h, uint32_t i)
{
	return (struct rp_ring_ctl *)((unsigned char *)h + h->ring_offset + i * h->ring_stride);
}

/* The daemon's drain: copies every published record into out (up to max)
 * and releases the tail.  Returns the number of records copied. */
static size_t drain(struct rp_shm_header *h, struct rp_ring_ctl *ctl, struct rp_record *out,
		    size_t max)
{
	const unsigned char *data = (const unsigned char *)ctl + sizeof(*ctl);
	uint64_t head = rp_load_acquire(&ctl->head); /* pairs with rp_impl_emit() */
	uint64_t tail = rp_load_relaxed(&ctl->tail); /* ours */
	size_t n = 0;

	while (tail != head && n < max) {
		memcpy(&out[n++], data + (tail & (h->ring_bytes - 1)), RP_REC_BYTES);
		tail += RP_REC_BYTES;
	}
	/* pairs with the producer's acquire of tail when its ring looks full */
	rp_store_release(&ctl->tail, tail);
	return n;
}

static void check_rec(const struct rp_record *r, uint32_t type, uint32_t id, uint32_t arg)
{
	cr_assert_eq(RP_REC_TYPE(r->kind_type), type);
	cr_assert_eq(RP_REC_ID(r->kind_type), id);
	cr_assert_eq(r->arg, arg);
}

Test(ring, records_read_back_exactly_across_the_wrap_point)
{
	struct rp_record out[256];
	struct rp_shm_header *h;
	struct rp_ring_ctl *ctl;
	uint32_t k, i;
	uint64_t last = 0;

	setup_env(4096, 4, 0);
	h = open_region();
	k = rp_kind("Query");
	cr_assert_eq(k, 1);
	ctl = ring_at(h, 0);
	for (i = 0; i < 200; i++)
		rp_instant(k, i + 1);
	cr_assert_eq(drain(h, ctl, out, 256), 200);
	for (i = 0; i < 200; i++) {
		check_rec(&out[i], RP_REC_INSTANT, k, i + 1);
		cr_assert_geq(out[i].ts, last);
		last = out[i].ts;
	}
	/* 200 more: records 200..399, crossing the end of the ring at 256 */
	for (i = 0; i < 200; i++)
		rp_interval_begin(k, 1000 + i);
	cr_assert_eq(drain(h, ctl, out, 256), 200);
	for (i = 0; i < 200; i++) {
		check_rec(&out[i], RP_REC_BEGIN, k, 1000 + i);
		cr_assert_geq(out[i].ts, last);
		last = out[i].ts;
	}
	/* 400 records written (slot 144 is next): 111 more reach the last
	 * slot, so the next INTEGER takes slot 255 and its VALUE slot 0 */
	for (i = 0; i < 111; i++)
		rp_interval_end(k, i);
	cr_assert_eq(drain(h, ctl, out, 256), 111);
	for (i = 0; i < 111; i++)
		check_rec(&out[i], RP_REC_END, k, i);
	cr_assert_eq(rp_load_acquire(&ctl->head) % 4096, 4080);
	rp_integer(k, 77, 0x0123456789abcdefull);
	cr_assert_eq(drain(h, ctl, out, 256), 2);
	check_rec(&out[0], RP_REC_INTEGER, k, 77);
	check_rec(&out[1], RP_REC_VALUE, 0, 0);
	cr_assert_eq(out[1].ts, 0x0123456789abcdefull);
	cr_assert_eq(rp_load_acquire(&ctl->head), (uint64_t)(200 + 200 + 111 + 2) * 16);
	cr_assert_eq(rp_load_acquire(&ctl->dropped), 0);
}

Test(ring, full_ring_drops_and_counts_exactly_the_events_that_did_not_fit)
{
	struct rp_record out[256];
	struct rp_client_stats st;
	struct rp_shm_header *h;
	uint32_t k, i;

	setup_env(4096, 4, 0);
	h = open_region();
	k = rp_kind("QueryCacheHit");
	for (i = 0; i < 1000; i++)
		rp_instant(k, i + 1);
	cr_assert_eq(drain(h, ring_at(h, 0), out, 256), 256);
	for (i = 0; i < 256; i++)
		check_rec(&out[i], RP_REC_INSTANT, k, i + 1);
	cr_assert_eq(rp_load_acquire(&ring_at(h, 0)->dropped), 744);
	rp_stats(&st);
	cr_assert_eq(st.events_dropped, 744);
	cr_assert_eq(st.records_committed, 256);
	cr_assert_eq(st.events_dropped_no_slot, 0);
	cr_assert_eq(st.rings_claimed, 1);
	cr_assert(st.enabled);
}

Test(ring, integer_pairs_are_dropped_whole_never_split)
{
	struct rp_record out[256];
	struct rp_shm_header *h;
	uint32_t k, i;

	setup_env(4096, 4, 0);
	h = open_region();
	k = rp_kind("ArtifactSize");
	rp_instant(k, 0);
	/* 255 slots left: 127 pairs fit, one slot stays empty */
	for (i = 0; i < 200; i++)
		rp_integer(k, i + 1, 1000u * i);
	cr_assert_eq(rp_load_acquire(&ring_at(h, 0)->head), 255 * 16);
	cr_assert_eq(rp_load_acquire(&ring_at(h, 0)->dropped), 73);
	cr_assert_eq(drain(h, ring_at(h, 0), out, 256), 255);
	check_rec(&out[0], RP_REC_INSTANT, k, 0);
	for (i = 0; i < 127; i++) {
		check_rec(&out[1 + 2 * i], RP_REC_INTEGER, k, i + 1);
		check_rec(&out[2 + 2 * i], RP_REC_VALUE, 0, 0);
		cr_assert_eq(out[2 + 2 * i].ts, 1000u * i);
	}
}

struct stress {
	struct rp_shm_header *h;
	uint32_t kind;
	uint32_t done;       /* release by the producer, acquire by the consumer */
	uint64_t read;
	uint64_t bad;
};

static uint32_t stress_arg(uint64_t v)
{
	return (uint32_t)(v * 2654435761u);
}

static void *stress_producer(void *arg)
{
	struct stress *s = (struct stress *)arg;
	uint64_t i;

	for (i = 0; i < STRESS_EVENTS; i++)
		rp_integer(s->kind, stress_arg(i), i);
	rp_store_release(&s->done, 1u);
	return NULL;
}

static void *stress_consumer(void *arg)
{
	struct stress *s = (struct stress *)arg;
	struct rp_record out[256];
	struct rp_ring_ctl *ctl = NULL;
	uint64_t last_value = 0, last_ts = 0;
	bool first = true, done;
	size_t n, i;

	for (;;) {
		done = rp_load_acquire(&s->done) != 0;
		/* pairs with the claim's CAS (OWNED) or the exit's RETIRED store */
		if (ctl == NULL && rp_load_acquire(&ring_at(s->h, 0)->state) != RP_SLOT_FREE)
			ctl = ring_at(s->h, 0);
		n = ctl ? drain(s->h, ctl, out, 256) : 0;
		if (n % 2 != 0)
			s->bad++; /* a pair published in halves */
		for (i = 0; i + 1 < n; i += 2) {
			uint64_t v = out[i + 1].ts;

			if (out[i].kind_type != RP_REC_PACK(RP_REC_INTEGER, s->kind) ||
			    out[i].arg != stress_arg(v) ||
			    out[i + 1].kind_type != RP_REC_PACK(RP_REC_VALUE, 0) ||
			    out[i + 1].arg != 0 || (!first && v <= last_value) ||
			    out[i].ts < last_ts)
				s->bad++;
			first = false;
			last_value = v;
			last_ts = out[i].ts;
			s->read++;
		}
		if (done && n == 0)
			return NULL;
	}
}

Test(ring, concurrent_producer_and_consumer_lose_nothing_silently, .timeout = 120)
{
	struct stress s;
	pthread_t prod, cons;
	struct rp_ring_ctl *ctl;

	setup_env(4096, 4, 0);
	memset(&s, 0, sizeof(s));
	s.h = open_region();
	s.kind = rp_kind("Query");
	cr_assert_eq(pthread_create(&cons, NULL, stress_consumer, &s), 0);
	cr_assert_eq(pthread_create(&prod, NULL, stress_producer, &s), 0);
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	ctl = ring_at(s.h, 0);
	cr_assert_eq(s.bad, 0);
	cr_assert_eq(s.read + rp_load_acquire(&ctl->dropped), STRESS_EVENTS,
		     "read %llu dropped %llu", (unsigned long long)s.read,
		     (unsigned long long)rp_load_acquire(&ctl->dropped));
	cr_assert_eq(rp_load_acquire(&ctl->head), s.read * 32);
	cr_assert_eq(rp_load_acquire(&ctl->tail), s.read * 32);
	/* the producer thread exited: its slot is handed back */
	cr_assert_eq(rp_load_acquire(&ctl->state), RP_SLOT_RETIRED);
}

struct claimer {
	sem_t claimed;
	sem_t go;
	uint32_t kind;
	uint32_t tid;
	int events;
};

static void *claimer_main(void *arg)
{
	struct claimer *c = (struct claimer *)arg;
	int i;

	c->tid = (uint32_t)syscall(SYS_gettid);
	for (i = 0; i < c->events; i++)
		rp_instant(c->kind, 9);
	sem_post(&c->claimed);
	sem_wait(&c->go);
	return NULL;
}

static void claimer_start(struct claimer *c, pthread_t *th, uint32_t kind, int events)
{
	sem_init(&c->claimed, 0, 0);
	sem_init(&c->go, 0, 0);
	c->kind = kind;
	c->events = events;
	cr_assert_eq(pthread_create(th, NULL, claimer_main, c), 0);
	sem_wait(&c->claimed);
}

Test(ring, threads_claim_free_slots_and_retire_them_at_exit, .timeout = 60)
{
	struct claimer c[5];
	pthread_t th[5];
	struct rp_record out[4];
	struct rp_client_stats st;
	struct rp_shm_header *h;
	uint32_t k, i;

	setup_env(4096, 4, 0);
	h = open_region();
	k = rp_kind("GenericActivity");
	rp_instant(k, 1); /* main thread: slot 0 */
	cr_assert_eq(rp_load_acquire(&ring_at(h, 0)->tid), (uint32_t)getpid());
	for (i = 0; i < 3; i++) {
		claimer_start(&c[i], &th[i], k, 1);
		cr_assert_eq(rp_load_acquire(&ring_at(h, i + 1)->state), RP_SLOT_OWNED);
		cr_assert_eq(rp_load_acquire(&ring_at(h, i + 1)->tid), c[i].tid);
		cr_assert_eq(rp_load_acquire(&ring_at(h, i + 1)->owner_seq), 1);
		cr_assert_eq(rp_load_acquire(&ring_at(h, i + 1)->head), 16);
	}
	/* all four slots taken: a fifth thread's events are dropped, counted */
	claimer_start(&c[3], &th[3], k, 3);
	sem_post(&c[3].go);
	pthread_join(th[3], NULL);
	rp_stats(&st);
	cr_assert_eq(st.events_dropped_no_slot, 3);
	cr_assert_eq(st.rings_claimed, 4);
	for (i = 0; i < 3; i++) {
		sem_post(&c[i].go);
		pthread_join(th[i], NULL);
		cr_assert_eq(rp_load_acquire(&ring_at(h, i + 1)->state), RP_SLOT_RETIRED);
	}
	cr_assert_eq(rp_load_acquire(&ring_at(h, 0)->state), RP_SLOT_OWNED);

	/* play the daemon: drain slot 2, hand it back; the next thread
	 * claims it and continues from the previous owner's head */
	cr_assert_eq(drain(h, ring_at(h, 2), out, 4), 1);
	check_rec(&out[0], RP_REC_INSTANT, k, 9);
	{
		uint32_t expected = RP_SLOT_RETIRED;

		cr_assert(rp_cas_acq_rel(&ring_at(h, 2)->state, &expected, RP_SLOT_FREE));
	}
	claimer_start(&c[4], &th[4], k, 2);
	cr_assert_eq(rp_load_acquire(&ring_at(h, 2)->state), RP_SLOT_OWNED);
	cr_assert_eq(rp_load_acquire(&ring_at(h, 2)->tid), c[4].tid);
	cr_assert_eq(rp_load_acquire(&ring_at(h, 2)->owner_seq), 2);
	cr_assert_eq(rp_load_acquire(&ring_at(h, 2)->head), 48);
	sem_post(&c[4].go);
	pthread_join(th[4], NULL);
	cr_assert_eq(drain(h, ring_at(h, 2), out, 4), 2);
	cr_assert_eq(rp_load_acquire(&ring_at(h, 2)->state), RP_SLOT_RETIRED);
	rp_stats(&st);
	cr_assert_eq(st.rings_claimed, 5);
	cr_assert_eq(st.events_dropped_no_slot, 3);
}

/* Appends the expected bytes of one string entry to buf. */
static size_t put_entry(unsigned char *buf, uint32_t id, const char *s, uint32_t len)
{
	struct rp_str_entry e = { id, len };
	size_t size = RP_STR_ENTRY_SIZE(len);

	memset(buf, 0, size);
	memcpy(buf, &e, sizeof(e));
	memcpy(buf + sizeof(e), s, len);
	return size;
}

Test(ring, interning_gives_ordered_ids_and_exact_string_entries)
{
	unsigned char want[16384];
	struct rp_shm_header *h;
	char *big;
	size_t n = 0;

	setup_env(4096, 2, 0);
	h = open_region();
	cr_assert_eq(rp_kind("Query"), 1);
	cr_assert_eq(rp_intern("typeck(main)"), 2);
	cr_assert_eq(rp_intern("Query"), 1);
	cr_assert_eq(rp_intern_n("abcdef", 3), 3);
	cr_assert_eq(rp_intern("abc"), 3);
	cr_assert_eq(rp_intern(""), 4);
	cr_assert_eq(rp_intern(NULL), 0);
	big = malloc(5000);
	cr_assert_not_null(big);
	memset(big, 'x', 5000);
	cr_assert_eq(rp_intern_n(big, 5000), 5);
	cr_assert_eq(rp_intern_n(big, RP_STRING_LEN_MAX), 5); /* truncated */
	cr_assert_eq(rp_intern_n(big, RP_STRING_LEN_MAX - 1), 6);

	n += put_entry(want + n, 1, "Query", 5);
	n += put_entry(want + n, 2, "typeck(main)", 12);
	n += put_entry(want + n, 3, "abc", 3);
	n += put_entry(want + n, 4, "", 0);
	n += put_entry(want + n, 5, big, RP_STRING_LEN_MAX);
	n += put_entry(want + n, 6, big, RP_STRING_LEN_MAX - 1);
	cr_assert_eq(n, 16 + 24 + 16 + 8 + 4104 + 4104);
	cr_assert_eq(rp_load_acquire(&h->string_used), n);
	cr_assert_eq(memcmp((unsigned char *)h + h->string_offset, want, n), 0);
	cr_assert_eq(rp_load_acquire(&h->string_dropped), 0);
	free(big);
}

/* Key i of the growth tests: lengths 2..40 cycle, so every path of the
 * hash (2-3, 4-7, 8 and more bytes, with and without a partial last
 * word) is taken; the number before the '.' makes each key distinct. */
static uint32_t many_key(char *buf, uint32_t i)
{
	int n = snprintf(buf, 64, "%x.", i);
	uint32_t len = 1 + i % 40;

	if ((uint32_t)n < len)
		memset(buf + n, 'a' + (int)(i % 26), len - (uint32_t)n);
	else
		len = (uint32_t)n;
	return len;
}

#define MANY_KEYS 20000u

Test(ring, many_strings_keep_their_ids_across_table_and_image_growth)
{
	struct rp_client_stats st;
	struct rp_shm_header *h;
	unsigned char *want;
	char key[64];
	size_t n = 0;
	uint32_t i, j, len;

	setup_env(4096, 2, 0);
	h = open_region();
	want = malloc((size_t)MANY_KEYS * RP_STR_ENTRY_SIZE(40));
	cr_assert_not_null(want);
	for (i = 0; i < MANY_KEYS; i++) {
		len = many_key(key, i);
		cr_assert_eq(rp_intern_n(key, len), i + 1, "key %u", i);
		n += put_entry(want + n, i + 1, key, len);
	}
	/* again, in another order: no new id, no new byte */
	for (j = 0; j < MANY_KEYS; j++) {
		i = (j * 7919u) % MANY_KEYS;
		len = many_key(key, i);
		cr_assert_eq(rp_intern_n(key, len), i + 1, "key %u again", i);
	}
	cr_assert_eq(rp_load_acquire(&h->string_used), n);
	cr_assert_eq(memcmp((unsigned char *)h + h->string_offset, want, n), 0);
	rp_stats(&st);
	cr_assert_eq(st.strings_interned, MANY_KEYS);
	cr_assert_eq(st.strings_dropped, 0);
	free(want);
}

/* Exits with a distinct code for each failed check (no Criterion in the
 * child of a fork). */
#define CHILD_CHECK(cond, code) do { if (!(cond)) _exit(code); } while (0)

/* This file's malloc is wrapped (-Wl,--wrap=malloc, tests/client.cmake):
 * while ring_malloc_pid names a process, malloc fails in every other one,
 * so that a fork child finds no memory from its first instruction on. */
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
static pid_t ring_malloc_pid;

void *__wrap_malloc(size_t n)
{
	pid_t only = __atomic_load_n(&ring_malloc_pid, __ATOMIC_RELAXED);

	if (only != 0 && getpid() != only)
		return NULL;
	return __real_malloc(n);
}

static int run_child(void (*fn)(uint32_t, uint32_t), uint32_t k, uint32_t a)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		fn(k, a);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "child died");
	return WEXITSTATUS(status);
}

Test(ring, intern_new_adds_without_lookup_and_lookups_never_return_its_ids)
{
	unsigned char want[256];
	struct rp_client_stats st;
	struct rp_shm_header *h;
	size_t n = 0;

	setup_env(4096, 2, 0);
	h = open_region();
	cr_assert_eq(rp_intern("typeck(main)"), 1);
	cr_assert_eq(rp_intern_new("typeck(main)"), 2);   /* no lookup: a new id */
	cr_assert_eq(rp_intern_new("typeck(main)"), 3);
	cr_assert_eq(rp_intern("typeck(main)"), 1);       /* the listed one */
	cr_assert_eq(rp_intern_new("only new"), 4);
	cr_assert_eq(rp_intern("only new"), 5);           /* 4 is not listed */
	cr_assert_eq(rp_intern("only new"), 5);
	cr_assert_eq(rp_intern_new_n("abcdef", 3), 6);
	cr_assert_eq(rp_intern_new(NULL), 0);
	n += put_entry(want + n, 1, "typeck(main)", 12);
	n += put_entry(want + n, 2, "typeck(main)", 12);
	n += put_entry(want + n, 3, "typeck(main)", 12);
	n += put_entry(want + n, 4, "only new", 8);
	n += put_entry(want + n, 5, "only new", 8);
	n += put_entry(want + n, 6, "abc", 3);
	cr_assert_eq(rp_load_acquire(&h->string_used), n);
	cr_assert_eq(memcmp((unsigned char *)h + h->string_offset, want, n), 0);
	rp_stats(&st);
	cr_assert_eq(st.strings_interned, 6);
	cr_assert_eq(st.strings_dropped, 0);
}

#define UNLISTED_KEYS 20000u
#define LISTED_KEYS 600u

/* A child of the mixed test: the ids of both kinds made before the fork
 * are still there, and both calls go on from them. */
static void child_mixed(uint32_t unused0, uint32_t unused1)
{
	char key[64];
	uint32_t j;

	(void)unused0;
	(void)unused1;
	CHILD_CHECK(rp_test_open_region() == 0, 40);
	for (j = 0; j < LISTED_KEYS; j += 7)
		CHILD_CHECK(rp_intern_n(key, many_key(key, j)) == UNLISTED_KEYS + j + 1, 41);
	CHILD_CHECK(rp_intern_new("child") == UNLISTED_KEYS + LISTED_KEYS + 1, 42);
	CHILD_CHECK(rp_intern("child") == UNLISTED_KEYS + LISTED_KEYS + 2, 43);
}

/* 20000 strings through rp_intern_new, then 600 of the same strings
 * through rp_intern: the table grows (1024 -> 2048 slots at 512 listed
 * ids) while 20000 ids stand outside it.  A growth that took them in would
 * overfill it and never end (the timeout). */
Test(ring, table_growth_skips_intern_new_strings_and_keeps_lookups_right, .timeout = 60)
{
	struct rp_shm_header *h;
	char key[64];
	uint32_t i, j, len;
	uint64_t used;

	setup_env(4096, 2, 0);
	h = open_region();
	for (i = 0; i < UNLISTED_KEYS; i++) {
		len = many_key(key, i);
		cr_assert_eq(rp_intern_new_n(key, len), i + 1, "key %u new", i);
	}
	/* the same strings: never one of the ids above */
	for (j = 0; j < LISTED_KEYS; j++) {
		len = many_key(key, j);
		cr_assert_eq(rp_intern_n(key, len), UNLISTED_KEYS + j + 1, "key %u", j);
	}
	for (j = 0; j < LISTED_KEYS; j++) {
		len = many_key(key, j);
		cr_assert_eq(rp_intern_n(key, len), UNLISTED_KEYS + j + 1, "key %u again", j);
	}
	used = rp_load_acquire(&h->string_used);
	cr_assert_eq(run_child(child_mixed, 0, 0), 0);
	cr_assert_eq(rp_load_acquire(&h->string_used), used);
}

Test(ring, strings_differing_in_one_byte_or_in_length_get_distinct_ids)
{
	char s[33], t[33];
	uint32_t len, pos, id, next = 1;

	setup_env(4096, 2, 0);
	open_region();
	memset(s, 'q', sizeof(s));
	/* "", "q", "qq", ... "q" x 32: prefixes of each other */
	for (len = 0; len <= 32; len++)
		cr_assert_eq(rp_intern_n(s, len), next++, "length %u", len);
	/* each byte of each length changed once */
	for (len = 1; len <= 32; len++) {
		for (pos = 0; pos < len; pos++) {
			memcpy(t, s, len);
			t[pos] = 'Q';
			cr_assert_eq(rp_intern_n(t, len), next++, "length %u, byte %u", len, pos);
		}
	}
	for (len = 0; len <= 32; len++)
		cr_assert_eq(rp_intern_n(s, len), len + 1, "length %u again", len);
	memcpy(t, s, 32);
	t[31] = 'Q';
	id = rp_intern_n(t, 32);
	cr_assert_eq(id, next - 1);
}

#define RACE_THREADS 4u
#define RACE_KEYS 3000u

struct race {
	uint32_t first;              /* the thread's first key */
	uint32_t ids[RACE_KEYS];     /* id each key got, by key */
};

/* Interns every key, starting at a different one in each thread, so that
 * threads add keys and grow the table while others look them up. */
static void *race_main(void *arg)
{
	struct race *r = (struct race *)arg;
	char key[64];
	uint32_t i, k;

	for (i = 0; i < RACE_KEYS; i++) {
		k = (r->first + i) % RACE_KEYS;
		r->ids[k] = rp_intern_n(key, many_key(key, k));
	}
	return NULL;
}

Test(ring, threads_interning_the_same_keys_at_once_get_the_same_ids, .timeout = 60)
{
	static struct race races[RACE_THREADS];
	pthread_t th[RACE_THREADS];
	struct rp_shm_header *h;
	uint8_t *seen;
	uint32_t t, k;

	setup_env(4096, 2, 0);
	h = open_region();
	for (t = 0; t < RACE_THREADS; t++) {
		races[t].first = t * (RACE_KEYS / RACE_THREADS);
		cr_assert_eq(pthread_create(&th[t], NULL, race_main, &races[t]), 0);
	}
	for (t = 0; t < RACE_THREADS; t++)
		cr_assert_eq(pthread_join(th[t], NULL), 0);
	seen = calloc(RACE_KEYS + 1, 1);
	cr_assert_not_null(seen);
	for (k = 0; k < RACE_KEYS; k++) {
		uint32_t id = races[0].ids[k];

		cr_assert(id >= 1 && id <= RACE_KEYS, "key %u got id %u", k, id);
		cr_assert_eq(seen[id], 0, "id %u given twice", id);
		seen[id] = 1;
		for (t = 1; t < RACE_THREADS; t++)
			cr_assert_eq(races[t].ids[k], id, "key %u: thread %u got %u, thread 0 %u",
				     k, t, races[t].ids[k], id);
	}
	/* the area holds each key once, ids 1, 2, 3... in order */
	{
		const unsigned char *at = (const unsigned char *)h + h->string_offset;
		uint64_t used = rp_load_acquire(&h->string_used), pos = 0;
		struct rp_str_entry e;
		uint32_t want = 1;
		char key[64];

		while (pos < used) {
			memcpy(&e, at + pos, sizeof(e));
			cr_assert_eq(e.id, want);
			for (k = 0; k < RACE_KEYS && races[0].ids[k] != e.id; k++)
				;
			cr_assert(k < RACE_KEYS, "id %u names no key", e.id);
			cr_assert_eq(e.len, many_key(key, k));
			cr_assert_eq(memcmp(at + pos + sizeof(e), key, e.len), 0);
			pos += RP_STR_ENTRY_SIZE(e.len);
			want++;
		}
		cr_assert_eq(want, RACE_KEYS + 1);
	}
	free(seen);
}

Test(ring, full_string_area_refuses_and_counts)
{
	struct rp_client_stats st;
	struct rp_shm_header *h;
	char s[16];
	uint32_t i;

	setup_env(4096, 2, 4096);
	h = open_region();
	cr_assert_eq(h->string_bytes, 4096);
	/* "s0000": 8 + 5 -> 16 bytes per entry, 256 fit */
	for (i = 0; i < 300; i++) {
		snprintf(s, sizeof(s), "s%04u", i);
		cr_assert_eq(rp_intern(s), i < 256 ? i + 1 : 0, "string %u", i);
	}
	cr_assert_eq(rp_intern("s0007"), 8); /* known strings still resolve */
	cr_assert_eq(rp_kind("NewKind"), 0);
	cr_assert_eq(rp_intern_new("s0007"), 0); /* a new id needs room */
	cr_assert_eq(rp_load_acquire(&h->string_used), 4096);
	cr_assert_eq(rp_load_acquire(&h->string_dropped), 46);
	rp_stats(&st);
	cr_assert_eq(st.strings_dropped, 46);
	cr_assert_eq(st.strings_interned, 256);
}

Test(ring, events_variable_filters_kinds_and_arguments)
{
	setup_env(4096, 2, 0);
	setenv("RINGPROF_EVENTS", "Query,,ArtifactSize", 1);
	open_region();
	cr_assert_eq(rp_kind("Query"), 1);
	cr_assert_eq(rp_kind("GenericActivity"), 0);
	cr_assert_eq(rp_kind("Quer"), 0);
	cr_assert_eq(rp_kind("uery"), 0);
	cr_assert_eq(rp_kind("Query,ArtifactSize"), 0);
	cr_assert_eq(rp_kind(""), 0);
	cr_assert_eq(rp_kind("ArtifactSize"), 2);
	cr_assert_eq(rp_intern("GenericActivity"), 3); /* arguments are not kinds */
}

Test(ring, events_noargs_drops_argument_strings_only)
{
	struct rp_record out[4];
	struct rp_shm_header *h;

	setup_env(4096, 2, 0);
	setenv("RINGPROF_EVENTS", "noargs", 1);
	h = open_region();
	cr_assert_eq(rp_kind("Query"), 1);
	cr_assert_eq(rp_kind("GenericActivity"), 2);
	cr_assert_eq(rp_intern("typeck(main)"), 0);
	cr_assert_eq(rp_intern_n("typeck(main)", 6), 0);
	cr_assert_eq(rp_intern_new("typeck(main)"), 0);
	rp_thread_name("main"); /* thread names are not arguments */
	cr_assert_eq(drain(h, ring_at(h, 0), out, 4), 1);
	check_rec(&out[0], RP_REC_THREAD_NAME, 3, 0);
}

Test(ring, events_none_turns_recording_off)
{
	setup_env(4096, 2, 0);
	setenv("RINGPROF_EVENTS", "Query,none", 1);
	cr_assert_eq(rp_test_open_region(), -ECANCELED);
	cr_assert_str_eq(rp_status_reason(), "disabled by RINGPROF_EVENTS=none");
	cr_assert_eq(rp_kind("Query"), 0);
	cr_assert_not(rp_is_enabled());
}

Test(ring, disable_variable_makes_every_call_a_no_op)
{
	struct rp_client_stats st;

	setup_env(4096, 2, 0);
	setenv("RINGPROF_DISABLE", "1", 1);
	cr_assert_eq(rp_init(), -ECANCELED);
	cr_assert_eq(rp_init(), -ECANCELED);
	cr_assert_str_eq(rp_status_reason(), "disabled by RINGPROF_DISABLE=1");
	cr_assert_eq(rp_kind("Query"), 0);
	cr_assert_eq(rp_intern("typeck(main)"), 0);
	rp_interval_begin(0, 0);
	rp_instant(0, 0);
	rp_integer(0, 0, 1);
	rp_interval_end(0, 0);
	rp_thread_name("main");
	cr_assert_null(rp_test_region(NULL));
	cr_assert_not(rp_is_enabled());
	rp_stats(&st);
	cr_assert_not(st.enabled);
	cr_assert_eq(st.records_committed + st.events_dropped + st.events_dropped_no_slot, 0);
	cr_assert_eq(rp_test_open_region(), -ECANCELED); /* disabled for good */
}

Test(ring, no_daemon_disables_with_a_reason_naming_the_socket)
{
	char path[128], want[256];

	setup_env(4096, 2, 0);
	snprintf(path, sizeof(path), "/tmp/ringprof-test-%d-absent/ringprof.sock", (int)getpid());
	setenv("RINGPROF_SOCKET", path, 1);
	cr_assert_str_eq(rp_status_reason(), "not registered yet");
	cr_assert_eq(rp_kind("Query"), 0);
	snprintf(want, sizeof(want), "no daemon at %s: No such file or directory", path);
	cr_assert_str_eq(rp_status_reason(), want);
	cr_assert_eq(rp_init(), -ENOENT);
	cr_assert_not(rp_is_enabled());
}

Test(ring, bad_settings_fall_back_to_defaults_and_are_named)
{
	struct rp_shm_header *h;

	setup_env(4096, 2, 0);
	setenv("RINGPROF_RING_SIZE", "5000", 1);
	setenv("RINGPROF_RINGS", "many", 1);
	h = open_region();
	cr_assert_eq(h->ring_bytes, RP_DEFAULT_RING_BYTES);
	cr_assert_eq(h->ring_count, RP_DEFAULT_RING_COUNT);
	cr_assert_str_eq(rp_status_reason(),
			 "recording (test region, no daemon); ignored RINGPROF_RING_SIZE=5000 "
			 "(want a power of two in 4096..268435456); ignored RINGPROF_RINGS=many "
			 "(want 1..1024)");
}

static void child_without_daemon(uint32_t k, uint32_t a)
{
	CHILD_CHECK(strcmp(rp_status_reason(), "not registered yet") == 0, 10);
	rp_instant(k, a); /* registers: no daemon, so off */
	CHILD_CHECK(!rp_is_enabled(), 11);
	CHILD_CHECK(strncmp(rp_status_reason(), "no daemon at ", 13) == 0, 12);
	CHILD_CHECK(rp_test_region(NULL) == NULL, 13);
}

static void child_with_own_region(uint32_t k, uint32_t a)
{
	unsigned char want[64];
	struct rp_shm_header *h;
	struct rp_record r;
	size_t n = 0;

	CHILD_CHECK(rp_test_open_region() == 0, 20);
	h = rp_test_region(NULL);
	n += put_entry(want + n, 1, "Query", 5);
	n += put_entry(want + n, 2, "typeck(main)", 12);
	CHILD_CHECK(rp_load_acquire(&h->string_used) == n, 21);
	CHILD_CHECK(memcmp((unsigned char *)h + h->string_offset, want, n) == 0, 22);
	CHILD_CHECK(rp_intern("typeck(main)") == a && rp_kind("Query") == k, 23);
	CHILD_CHECK(rp_intern("child") == 3, 24);
	rp_instant(k, a);
	CHILD_CHECK(rp_load_acquire(&ring_at(h, 0)->head) == 16, 25);
	CHILD_CHECK(drain(h, ring_at(h, 0), &r, 1) == 1, 26);
	CHILD_CHECK(r.kind_type == RP_REC_PACK(RP_REC_INSTANT, k) && r.arg == a, 27);
}

/* The parent's string area, which a fork child copies and unmaps. */
static void *parent_area;

/* The child of a parent that interned MANY_KEYS keys (k, a = its string
 * area's used bytes, low and high halves). */
static void child_republishes_many(uint32_t lo, uint32_t hi)
{
	uint64_t used = (uint64_t)hi << 32 | lo;
	unsigned char *want;
	struct rp_shm_header *h;
	char key[64];
	size_t n = 0;
	uint32_t i, len;

	/* the child keeps no mapping of the parent's strings */
	CHILD_CHECK(msync(parent_area, 4096, MS_ASYNC) == -1 && errno == ENOMEM, 38);
	CHILD_CHECK(rp_test_open_region() == 0, 30);
	h = rp_test_region(NULL);
	want = malloc((size_t)MANY_KEYS * RP_STR_ENTRY_SIZE(40));
	CHILD_CHECK(want != NULL, 31);
	for (i = 0; i < MANY_KEYS; i++) {
		len = many_key(key, i);
		n += put_entry(want + n, i + 1, key, len);
	}
	CHILD_CHECK(n == used, 32);
	CHILD_CHECK(rp_load_acquire(&h->string_used) == used, 33);
	CHILD_CHECK(memcmp((unsigned char *)h + h->string_offset, want, n) == 0, 34);
	for (i = 0; i < MANY_KEYS; i += 97) {
		len = many_key(key, i);
		CHILD_CHECK(rp_intern_n(key, len) == i + 1, 35);
	}
	CHILD_CHECK(rp_intern("only in the child") == MANY_KEYS + 1, 36);
	CHILD_CHECK(rp_load_acquire(&h->string_used) == used + RP_STR_ENTRY_SIZE(17), 37);
	free(want);
}

Test(ring, fork_child_republishes_every_interned_string_byte_for_byte, .timeout = 60)
{
	struct rp_shm_header *h;
	char key[64];
	uint64_t used;
	uint32_t i;

	setup_env(4096, 2, 0);
	h = open_region();
	for (i = 0; i < MANY_KEYS; i++)
		cr_assert_eq(rp_intern_n(key, many_key(key, i)), i + 1);
	used = rp_load_acquire(&h->string_used);
	parent_area = (unsigned char *)h + h->string_offset;
	cr_assert_eq(msync(parent_area, 4096, MS_ASYNC), 0);
	cr_assert_eq(run_child(child_republishes_many, (uint32_t)used, (uint32_t)(used >> 32)), 0);
	/* the parent's area is untouched by the child */
	cr_assert_eq(rp_load_acquire(&h->string_used), used);
	cr_assert_eq(rp_intern("only in the child"), MANY_KEYS + 1);
}

Test(ring, fork_child_never_touches_the_parents_ring, .timeout = 60)
{
	struct rp_shm_header *h;
	struct rp_ring_ctl *ctl;
	uint32_t k, a;
	uint64_t used;

	setup_env(4096, 2, 0);
	h = open_region();
	ctl = ring_at(h, 0);
	k = rp_kind("Query");
	a = rp_intern("typeck(main)");
	rp_interval_begin(k, a);
	rp_instant(k, a);
	rp_interval_end(k, a);
	used = rp_load_acquire(&h->string_used);
	cr_assert_eq(run_child(child_without_daemon, k, a), 0);
	cr_assert_eq(run_child(child_with_own_region, k, a), 0);
	cr_assert_eq(rp_load_acquire(&ctl->head), 48);
	cr_assert_eq(rp_load_acquire(&ctl->dropped), 0);
	cr_assert_eq(rp_load_acquire(&h->string_used), used);
	cr_assert_eq(rp_load_acquire(&h->string_dropped), 0);
	cr_assert_eq(rp_test_region(NULL), h);
	rp_instant(k, a); /* the parent goes on in its own ring */
	cr_assert_eq(rp_load_acquire(&ctl->head), 64);
}

/* used: the parent's string_used; a: an id it handed out */
static void child_without_memory(uint32_t used, uint32_t a)
{
	char want[96];

	__atomic_store_n(&ring_malloc_pid, (pid_t)0, __ATOMIC_RELAXED);
	snprintf(want, sizeof(want), "no memory to keep %u bytes of strings across fork", used);
	CHILD_CHECK(!rp_is_enabled(), 30);
	CHILD_CHECK(strcmp(rp_status_reason(), want) == 0, 31);
	CHILD_CHECK(rp_init() == -ENOMEM, 32);
	CHILD_CHECK(rp_kind("Query") == 0 && rp_intern("child") == 0, 33);
	rp_instant(1, a); /* off: nothing recorded, no fault */
	CHILD_CHECK(rp_test_region(NULL) == NULL, 34);
}

/* A child that cannot copy its parent's strings out stays off: the ids it
 * inherited would name nothing in a region of its own. */
Test(ring, fork_child_without_memory_for_the_strings_stays_off, .timeout = 60)
{
	struct rp_shm_header *h;
	uint32_t k, a;
	int st;

	setup_env(4096, 2, 0);
	h = open_region();
	k = rp_kind("Query");
	a = rp_intern("typeck(main)");
	rp_instant(k, a);
	__atomic_store_n(&ring_malloc_pid, getpid(), __ATOMIC_RELAXED);
	st = run_child(child_without_memory, (uint32_t)rp_load_acquire(&h->string_used), a);
	__atomic_store_n(&ring_malloc_pid, (pid_t)0, __ATOMIC_RELAXED);
	cr_assert_eq(st, 0, "child check %d failed", st);
	/* the parent is untouched and goes on */
	cr_assert(rp_is_enabled());
	cr_assert_eq(rp_intern("typeck(main)"), a);
	rp_instant(k, a);
	cr_assert_eq(rp_load_acquire(&ring_at(h, 0)->head), 32);
}

struct lossless {
	struct rp_shm_header *h;
	uint32_t stop;  /* release by the test, acquire by the consumer */
	uint64_t read;
	uint64_t bad;
};

/* A slow daemon: beats, drains in batches, naps. */
static void *lossless_consumer(void *arg)
{
	struct lossless *l = (struct lossless *)arg;
	struct timespec nap = { 0, 200000 };
	struct rp_record out[64];
	uint64_t beat = 1;
	size_t n, i;

	for (;;) {
		bool stop = rp_load_acquire(&l->stop) != 0;

		/* pairs with the producer's acquire in its lossless wait */
		rp_store_release(&l->h->daemon_heartbeat, beat++);
		n = drain(l->h, ring_at(l->h, 0), out, 64);
		for (i = 0; i < n; i++)
			if (out[i].arg != (uint32_t)(l->read + i))
				l->bad++;
		l->read += n;
		if (stop && n == 0)
			return NULL;
		nanosleep(&nap, NULL);
	}
}

Test(ring, lossless_mode_waits_for_a_live_consumer, .timeout = 120)
{
	struct lossless l;
	pthread_t th;
	uint32_t k, i;

	setup_env(4096, 2, 0);
	setenv("RINGPROF_LOSSLESS", "1", 1);
	memset(&l, 0, sizeof(l));
	l.h = open_region();
	cr_assert_eq(l.h->flags, RP_SHM_F_LOSSLESS);
	k = rp_kind("Query");
	rp_instant(k, 0); /* claim slot 0 before the consumer looks at it */
	cr_assert_eq(pthread_create(&th, NULL, lossless_consumer, &l), 0);
	for (i = 1; i < 20000; i++)
		rp_instant(k, i);
	rp_store_release(&l.stop, 1u);
	pthread_join(th, NULL);
	cr_assert_eq(l.read, 20000);
	cr_assert_eq(l.bad, 0);
	cr_assert_eq(rp_load_acquire(&ring_at(l.h, 0)->dropped), 0);
}

Test(ring, lossless_mode_drops_and_counts_when_the_heartbeat_stalls, .timeout = 60)
{
	struct rp_shm_header *h;
	uint32_t k, i;

	setup_env(4096, 2, 0);
	setenv("RINGPROF_LOSSLESS", "1", 1);
	h = open_region();
	k = rp_kind("Query");
	for (i = 0; i < 256; i++)
		rp_instant(k, i);
	/* the first overflow waits for a heartbeat that never comes; the
	 * later ones drop at once on the same stalled heartbeat */
	for (i = 0; i < 100; i++)
		rp_instant(k, i);
	cr_assert_eq(rp_load_acquire(&ring_at(h, 0)->head), 4096);
	cr_assert_eq(rp_load_acquire(&ring_at(h, 0)->dropped), 100);
}
