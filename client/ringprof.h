/*
 * ringprof.h - the ringprof client: record what a compiler is doing, at
 * almost no cost to the compiler.  Header-only, C11/C17/C++17, Linux.
 *
 * ======================================================================
 * INCLUDING
 * ======================================================================
 *
 *   In every file that records events:
 *
 *       #include <ringprof.h>
 *
 *   In exactly ONE C or C++ file of the program, before the include:
 *
 *       #define RINGPROF_IMPLEMENTATION
 *       #include <ringprof.h>
 *
 *   Or, for a program that is a single translation unit (or that wants a
 *   private copy of the client per unit), define RINGPROF_STATIC before
 *   the include: every function becomes static and the implementation is
 *   compiled into that unit (RINGPROF_IMPLEMENTATION is implied).  Two
 *   static copies in one process register two separate regions.
 *
 *   The header may be included any number of times in one unit.  It needs
 *   the include directories client/ (this file) and proto/ (the contract
 *   headers <ringprof/atomic.h>, <ringprof/shm.h>, <ringprof/wire.h>), and
 *   -pthread.  The CMake target ringprof::client provides both.
 *
 *   The implementation unit needs the GNU/Linux interfaces (memfd_create,
 *   SCM_RIGHTS, eventfd): compile it with -D_GNU_SOURCE, or include
 *   ringprof.h before any system header there (it then defines
 *   _GNU_SOURCE itself).  GCC or Clang is required (__atomic builtins).
 *
 * ======================================================================
 * API
 * ======================================================================
 *
 *   uint32_t k = rp_kind("Query");         once per kind; cache it
 *   uint32_t a = rp_intern("typeck(main)");  argument strings
 *   rp_interval_begin(k, a);  ...  rp_interval_end(k, a);
 *   rp_instant(rp_kind("QueryCacheHit"), a);
 *   rp_integer(rp_kind("ArtifactSize"), rp_intern("libfoo.rlib"), bytes);
 *   rp_thread_name("codegen-worker-3");
 *   { RINGPROF_SCOPE(k, a); ... }          begin now, end at scope exit
 *
 *   rp_kind() and rp_intern() return 0 when recording is off; an event
 *   whose kind is 0 costs one predictable branch and nothing else, so the
 *   usual pattern is to intern kinds once at start-up and call the event
 *   functions unconditionally.  An argument of 0 means "no argument".
 *   Ids are process-wide: the same string always gets the same id, from
 *   any thread.  Interning takes a mutex; keep it off the hottest paths
 *   (intern a query key once, reuse the id).  A caller that keeps each
 *   key's id itself adds the key with rp_intern_new(), which skips the
 *   lookup.  Strings longer than
 *   RP_STRING_LEN_MAX (4096) bytes are truncated; ids are limited to
 *   28 bits.
 *
 *   The event functions never block, lock, allocate, format or make a
 *   system call (except in the opt-in lossless mode, below): they read
 *   the clock, write one 16-byte record (two for rp_integer) into the
 *   calling thread's ring and publish it with one release store.
 *
 *   rp_init()          registers now instead of at first use; 0 or -errno
 *   rp_is_enabled()    true when this process records (registers first)
 *   rp_status_reason() one line: why recording is off, or which settings
 *                      were ignored; never NULL
 *   rp_stats()         counters of this process (drops, rings, strings)
 *
 *   C: RINGPROF_SCOPE uses __attribute__((cleanup)).  C++: RINGPROF_SCOPE
 *   declares an rp::scope, an RAII object you may also use directly:
 *       rp::scope s(k, a);
 *
 * ======================================================================
 * REGISTRATION
 * ======================================================================
 *
 *   On first use (rp_init, rp_kind, rp_intern, rp_thread_name or an event
 *   after fork) the client creates a memfd region (header, one ring per
 *   slot, a string area), seals its size, and sends it with a hello over
 *   the daemon's Unix socket.  The daemon answers within 2 s (receive
 *   timeout) or the client gives up.  Accepted: recording.  No daemon, a
 *   refusal or any error: recording stays off for the life of the process
 *   and rp_status_reason() says why, e.g.
 *       "no daemon at /run/ringprof/ringprof.sock: No such file or directory"
 *   The client never prints, aborts or exits.  The socket stays open
 *   (close-on-exec) until the process ends; its closing tells the daemon
 *   that everything committed can be drained.
 *
 *   Daemon restarts.  If the daemon goes away after accepting the process
 *   (stopped, crashed, killed), recording goes on into the rings: nothing
 *   faults or waits, and once a ring is full its events are dropped and
 *   counted as usual.  Slow paths notice it -- a thread's first event and
 *   every 16th event a full ring drops -- at most once a second over the
 *   whole process (a clock read, then a non-blocking peek at the socket):
 *   when the daemon's connection has closed, the client offers the SAME
 *   sealed region (rings, ids and slots unchanged) to whatever daemon now
 *   listens at $RINGPROF_SOCKET, without waiting: the hello goes out and
 *   later slow paths (every 20 ms, for up to 5 s), a lossless wait,
 *   rp_stats() and rp_status_reason() look for the answer.
 *   That daemon drains from the tails the region holds, so every event
 *   still in a ring is written; its segment starts new thread numbers for
 *   the same threads and its loss counters count the drops since the last
 *   daemon recorded them (in a sealed segment), so no drop is counted
 *   twice.  Events a killed daemon had taken off a ring but not yet written
 *   are lost with it (up to its --flush-ms of events).  A refusal, or a
 *   daemon that quarantined the process (it says so with one byte before
 *   closing), stops further attempts; no daemon yet means another try a
 *   second later.
 *   rp_status_reason() tells, rp_client_stats.registrations counts.
 *
 * ======================================================================
 * ENVIRONMENT (read once, at registration)
 * ======================================================================
 *
 *   RINGPROF_SOCKET     daemon socket (default /run/ringprof/ringprof.sock)
 *   RINGPROF_SESSION    session label, at most 63 bytes (default "default");
 *                       the daemon files segments under it
 *   RINGPROF_EVENTS     "default" or "all": every kind, with arguments;
 *                       "none": recording off; otherwise a comma list of
 *                       kind names to record (rp_kind returns 0 for the
 *                       others).  The item "noargs" anywhere in the list
 *                       makes rp_intern return 0: no argument strings are
 *                       recorded (e.g. "noargs" or "Query,noargs").
 *   RINGPROF_DISABLE=1  recording off
 *   RINGPROF_RING_SIZE  bytes per ring, a power of two in [4096, 256 MiB]
 *                       (default 4 MiB; memory is touched only as used)
 *   RINGPROF_RINGS      ring slots = threads recording at once, 1..1024
 *                       (default 64)
 *   RINGPROF_STRINGS    bytes of the string area, 4096..64 MiB (default
 *                       4 MiB)
 *   RINGPROF_LOSSLESS=1 a full ring makes the producer wait (see below)
 *   RINGPROF_CLOCK=monotonic  use CLOCK_MONOTONIC even where the TSC is
 *                       usable
 *
 *   A malformed value falls back to its default; rp_status_reason() names
 *   the ignored setting.
 *
 * ======================================================================
 * THREADS, LOSS AND FORK
 * ======================================================================
 *
 *   Every thread lazily claims its own ring slot at its first event,
 *   lock-free (a compare-and-swap among this process's threads, then one
 *   on the shared slot state), and gives it back when it exits (a pthread
 *   key destructor).  A ring is
 *   single-producer: only the owning thread writes it.  When all slots are
 *   taken, the events of a thread without a slot are dropped and counted
 *   (rp_client_stats.events_dropped_no_slot); that thread retries a claim
 *   every 1024 events.  A full ring drops the event (an rp_integer pair is
 *   dropped whole) and counts it in the ring's shared `dropped` counter,
 *   which the daemon records, so no loss is silent.
 *
 *   Lossless mode (RINGPROF_LOSSLESS=1): a full ring pokes an eventfd the
 *   daemon watches and the producer sleeps in 50 us steps until room
 *   appears.  The event is dropped and counted, and later events drop at
 *   once until the daemon's heartbeat moves again, when the daemon's
 *   socket closes (it died or shut down, or quarantined the region: seen
 *   within about 1 ms) or when a daemon still connected gives no
 *   heartbeat for 5 s of waiting (stopped or hung; a starved daemon on a
 *   loaded machine is waited for).  Time this process itself did not run
 *   counts at most 10 ms per nap.  A dead daemon never hangs the compiler.
 *
 *   Timestamps come from the invariant TSC on x86-64 (calibrated at
 *   registration against CLOCK_MONOTONIC), else CLOCK_MONOTONIC in ns.
 *
 *   fork(): the child does not inherit the rings (MADV_DONTFORK) and
 *   starts unregistered; it registers its own region at its next use of
 *   the API, and every id the parent handed out stays valid in the child:
 *   the string area (on pages of its own) is the one part of the region a
 *   child inherits; at fork the child copies the parent's strings out of
 *   it and unmaps it, then re-publishes them, in the same order, in its
 *   own region.  A child that cannot get the memory for that copy stays
 *   off, with the reason in rp_status_reason().  A child of a process
 *   whose recording is off stays off.  exec() drops everything (CLOEXEC).
 *
 *   Process exit needs no call: the daemon drains what was committed when
 *   the socket closes, even after SIGKILL.
 *
 * ======================================================================
 * VERSIONING
 * ======================================================================
 *
 *   RINGPROF_VERSION_{MAJOR,MINOR,PATCH} give the client version.  The
 *   region carries RP_SHM_VERSION and the hello RP_WIRE_VERSION; a daemon
 *   that speaks another version refuses the registration with a reason
 *   and the client stays off.  Within a major version the API here only
 *   grows.
 *
 * ======================================================================
 * TEST HOOKS
 * ======================================================================
 *
 *   rp_test_open_region() registers a region without any daemon and
 *   rp_test_region() returns it: for tests that play the daemon's side of
 *   the ring protocol themselves.  Not for production use.
 */

/* ------------------------------------------------------------------ */
/* Declarations                                                       */
/* ------------------------------------------------------------------ */
#ifndef RINGPROF_H
#define RINGPROF_H

#if defined(RINGPROF_STATIC) && !defined(RINGPROF_IMPLEMENTATION)
#define RINGPROF_IMPLEMENTATION
#endif

#if defined(RINGPROF_IMPLEMENTATION) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#ifndef __cplusplus
#include <stdbool.h>
#endif

#include <ringprof/atomic.h>
#include <ringprof/shm.h>
#include <ringprof/wire.h>

#define RINGPROF_VERSION_MAJOR 0
#define RINGPROF_VERSION_MINOR 1
#define RINGPROF_VERSION_PATCH 0

#ifdef RINGPROF_STATIC
#define RP_API static __attribute__((unused))
#else
#define RP_API extern
#endif

#define RINGPROF_IMPL_CAT2(a, b) a##b
#define RINGPROF_IMPL_CAT(a, b) RINGPROF_IMPL_CAT2(a, b)

#ifdef __cplusplus
extern "C" {
#endif

/* Counters of this process since it registered (a fork child starts at 0). */
struct rp_client_stats {
	uint64_t records_committed;      /* records published in all rings
					  * (an rp_integer writes 2) */
	uint64_t events_dropped;         /* full rings: sum of the rings' shared
					  * dropped counters (events) */
	uint64_t events_dropped_no_slot; /* events of threads that found no
					  * free ring slot */
	uint64_t strings_dropped;        /* rp_intern() refused: area full or
					  * out of private memory */
	uint32_t strings_interned;       /* ids handed out: the highest id */
	uint32_t rings_claimed;          /* slot claims by this process */
	uint32_t ring_count;             /* geometry; 0 when not recording */
	uint32_t ring_bytes;
	bool     enabled;
	uint32_t registrations;          /* daemons this process registered
					  * with: 1, plus one per re-registration
					  * after a daemon went away */
};

/* Registers with the daemon now (otherwise done at first use).  Returns 0
 * when recording, else the -errno of why not (-ECANCELED when disabled by
 * the environment).  Idempotent and thread-safe. */
RP_API int rp_init(void);

/* True when this process records events; registers first if needed. */
RP_API bool rp_is_enabled(void);

/* One line saying why recording is off, or that it is on and which
 * settings were ignored.  Never NULL; valid for the life of the process. */
RP_API const char *rp_status_reason(void);

/* Interns an event kind.  Returns its id, or 0 when recording is off, the
 * kind is filtered out by $RINGPROF_EVENTS or the string area is full. */
RP_API uint32_t rp_kind(const char *name);

/* Interns an argument string (len bytes, no NUL needed; truncated to
 * RP_STRING_LEN_MAX).  Returns its process-wide id, or 0 when recording is
 * off, arguments are filtered out ("noargs") or the area is full (counted
 * in the shared string_dropped).  The definition is published first. */
RP_API uint32_t rp_intern_n(const char *s, size_t len);

/* rp_intern_n() of a NUL-terminated string; NULL gives 0. */
RP_API uint32_t rp_intern(const char *s);

/* Adds an argument string as a new one, without looking it up: for a
 * caller that interns each key once and keeps its id (a query's memo
 * entry), so the lookup rp_intern() makes is wasted.  About half the cost
 * of a new rp_intern() string (no hash table).  The same string added twice
 * gets two ids, which the tools report as one; rp_intern() never returns
 * an id made here.  0 in the same cases as rp_intern_n(). */
RP_API uint32_t rp_intern_new_n(const char *s, size_t len);

/* rp_intern_new_n() of a NUL-terminated string; NULL gives 0. */
RP_API uint32_t rp_intern_new(const char *s);

/* Names the calling thread in the recording (a THREAD_NAME record). */
RP_API void rp_thread_name(const char *name);

/* Fills *out with this process's counters; never fails. */
RP_API void rp_stats(struct rp_client_stats *out);

/* Test hook: registers a region like a real registration but without a
 * daemon (geometry from the environment).  0 or -errno. */
RP_API int rp_test_open_region(void);

/* Test hook: the registered region (NULL if none) and its memfd. */
RP_API struct rp_shm_header *rp_test_region(int *fd);

/* ---- hot path internals ---- */

/* Per-thread producer state; private memory. */
struct rp_impl_thread {
	struct rp_ring_ctl *ctl;  /* claimed ring; NULL: none yet */
	unsigned char *data;      /* ring data, ring_bytes long */
	uint64_t head;            /* bytes published by this thread */
	uint64_t tail;            /* last tail read from ctl (acquire) */
	uint64_t bytes;           /* ring_bytes */
	uint32_t clock;           /* RP_CLOCK_* */
	uint32_t no_slot;         /* events dropped since the last failed claim */
	uint32_t slot;            /* index of ctl in the region */
	uint32_t drops;           /* events this thread dropped (ring full),
				   * paces the daemon check on that path */
};

/* Slow paths of the event functions (rare: first event of a thread, a
 * full ring).  Return false when the event must be dropped. */
RP_API bool rp_impl_thread_attach(void);
RP_API bool rp_impl_ring_room(struct rp_impl_thread *t, uint32_t need);
RP_API uint64_t rp_impl_monotonic_ns(void);

#ifdef RINGPROF_STATIC
static __thread struct rp_impl_thread rp_impl_self __attribute__((unused));
#else
extern __thread struct rp_impl_thread rp_impl_self;
#endif

#ifdef __cplusplus
}
#endif

/* Ticks of the thread's clock.  rdtsc needs no fence: events of one thread
 * are ordered by program order and a few cycles of skew do not matter. */
static inline uint64_t rp_impl_now(const struct rp_impl_thread *t)
{
#if defined(__x86_64__)
	if (t->clock == RP_CLOCK_TSC)
		return __builtin_ia32_rdtsc();
#else
	(void)t;
#endif
#if defined(CLOCK_MONOTONIC) && !defined(RINGPROF_NO_INLINE_CLOCK)
	{
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
#else
	return rp_impl_monotonic_ns();
#endif
}

/* Writes one record (or an INTEGER+VALUE pair when pair is true) into the
 * calling thread's ring and publishes it with one release store of head. */
static inline void rp_impl_emit(uint32_t kind_type, uint32_t arg, bool pair, uint64_t value)
{
	struct rp_impl_thread *t = &rp_impl_self;
	uint32_t need = pair ? 2 * RP_REC_BYTES : RP_REC_BYTES;
	uint64_t ts, head;
	struct rp_record *r;

	if (__builtin_expect(t->ctl == NULL, 0) && !rp_impl_thread_attach())
		return;
	ts = rp_impl_now(t);
	head = t->head;
	if (__builtin_expect((head - t->tail) + need > t->bytes, 0) && !rp_impl_ring_room(t, need))
		return;
	r = (struct rp_record *)(void *)(t->data + (head & (t->bytes - 1)));
	r->ts = ts;
	r->kind_type = kind_type;
	r->arg = arg;
	if (pair) {
		/* ring_bytes is a multiple of 16: the VALUE may wrap, never split */
		r = (struct rp_record *)(void *)(t->data + ((head + RP_REC_BYTES) & (t->bytes - 1)));
		r->ts = value;
		r->kind_type = RP_REC_PACK(RP_REC_VALUE, 0);
		r->arg = 0;
	}
	t->head = head + need;
	/* pairs with the acquire of head in the daemon's ring drain */
	rp_store_release(&t->ctl->head, head + need);
}

/* Starts an interval of kind (0: nothing is recorded) with argument arg. */
static inline void rp_interval_begin(uint32_t kind, uint32_t arg)
{
	if (kind == 0)
		return;
	rp_impl_emit(RP_REC_PACK(RP_REC_BEGIN, kind), arg, false, 0);
}

/* Ends the innermost interval of kind on this thread. */
static inline void rp_interval_end(uint32_t kind, uint32_t arg)
{
	if (kind == 0)
		return;
	rp_impl_emit(RP_REC_PACK(RP_REC_END, kind), arg, false, 0);
}

/* Records a point in time. */
static inline void rp_instant(uint32_t kind, uint32_t arg)
{
	if (kind == 0)
		return;
	rp_impl_emit(RP_REC_PACK(RP_REC_INSTANT, kind), arg, false, 0);
}

/* Records a 64-bit value (bytes, counts); kept or dropped as one event. */
static inline void rp_integer(uint32_t kind, uint32_t arg, uint64_t value)
{
	if (kind == 0)
		return;
	rp_impl_emit(RP_REC_PACK(RP_REC_INTEGER, kind), arg, true, value);
}

#ifdef __cplusplus
namespace rp {
/* Begins an interval on construction and ends it on destruction. */
class scope {
public:
	scope(uint32_t kind, uint32_t arg) noexcept : kind_(kind), arg_(arg)
	{
		rp_interval_begin(kind_, arg_);
	}
	~scope() { rp_interval_end(kind_, arg_); }
	scope(const scope &) = delete;
	scope &operator=(const scope &) = delete;

private:
	uint32_t kind_;
	uint32_t arg_;
};
} /* namespace rp */

#define RINGPROF_SCOPE(kind, arg) \
	::rp::scope RINGPROF_IMPL_CAT(rp_impl_scope_, __LINE__)((kind), (arg))
#else
struct rp_impl_scope {
	uint32_t kind;
	uint32_t arg;
};

static inline struct rp_impl_scope rp_impl_scope_begin(uint32_t kind, uint32_t arg)
{
	struct rp_impl_scope s;

	s.kind = kind;
	s.arg = arg;
	rp_interval_begin(kind, arg);
	return s;
}

static inline void rp_impl_scope_end(struct rp_impl_scope *s)
{
	rp_interval_end(s->kind, s->arg);
}

/* Begins an interval now and ends it when the enclosing block exits. */
#define RINGPROF_SCOPE(kind, arg) \
	struct rp_impl_scope RINGPROF_IMPL_CAT(rp_impl_scope_, __LINE__) \
		__attribute__((cleanup(rp_impl_scope_end), unused)) = \
		rp_impl_scope_begin((kind), (arg))
#endif

#endif /* RINGPROF_H */

/* ------------------------------------------------------------------ */
/* Implementation                                                     */
/* ------------------------------------------------------------------ */
#if defined(RINGPROF_IMPLEMENTATION) && !defined(RINGPROF_IMPL_DONE)
#define RINGPROF_IMPL_DONE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#ifndef MFD_ALLOW_SEALING
#error "the ringprof implementation needs _GNU_SOURCE defined before the first system header"
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define RP_IMPL_UNREGISTERED 0u
#define RP_IMPL_ENABLED      1u
#define RP_IMPL_DISABLED     2u

#define RP_IMPL_REASON_MAX   384
#define RP_IMPL_NOTES_MAX    256
#define RP_IMPL_ANSWER_TIMEOUT_S 2
#define RP_IMPL_LOSSLESS_STALL_NS 5000000000ull /* waiting without a
						  * heartbeat that ends a
						  * lossless wait */
#define RP_IMPL_LOSSLESS_STEP_NS  10000000ull   /* most one nap counts */
#define RP_IMPL_LOSSLESS_PEER_NAPS 20u           /* naps between looks at
						  * the daemon's socket */
#define RP_IMPL_LOSSLESS_NAP_NS   50000L
#define RP_IMPL_NO_SLOT_RETRY     1024u          /* events between claims */
/* TSC sanity check at registration: the clock must advance over this nap.
 * The rate it gives is only the client's rough estimate (the hello's
 * tick_hz); segments carry the daemon's own calibration, so the nap is kept
 * short: it delays the first event of the process. */
#define RP_IMPL_CALIBRATE_NS      50000L
#define RP_IMPL_REVIVE_NS   1000000000ull /* between two checks of the daemon */
#define RP_IMPL_REVIVE_SEND_MS    200L   /* send timeout of a re-registration */
#define RP_IMPL_REVIVE_ANSWER_NS  5000000000ull /* a re-registration's answer
						 * is awaited this long */
#define RP_IMPL_REVIVE_PEEK_NS    20000000ull   /* between looks for it */
#define RP_IMPL_REVIVE_DROPS      16u    /* a full-ring thread checks the
					  * clock every this many drops */

/* Settings, parsed once per process (a fork child keeps its parent's). */
struct rp_impl_options {
	uint32_t ring_bytes;
	uint32_t ring_count;
	uint32_t string_bytes;
	bool lossless;
	bool monotonic;
	bool off_by_env;         /* RINGPROF_DISABLE=1 or RINGPROF_EVENTS=none */
	bool noargs;
	char *kinds;             /* NULL: all; else ",A,B," for lookup */
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 64];
	char session[RP_NAME_MAX];
	char off_why[96];
	char notes[RP_IMPL_NOTES_MAX];
};

/* Where string id's entry lies in strs, and its rp_impl_hash(): the hash
 * table grows without reading or hashing a string again.  off has
 * RP_IMPL_STR_UNLISTED set for a string of rp_intern_new(), which is not in
 * the table (offsets are below RP_STRING_BYTES_MAX). */
struct rp_impl_str {
	uint32_t off;
	uint32_t hash;
};

#define RP_IMPL_STR_UNLISTED 0x80000000u

struct rp_impl_proc {
	uint32_t state;          /* RP_IMPL_*; release in rp_impl_register(),
				  * acquire in rp_impl_ensure() */
	int error;               /* -errno returned by rp_init() */
	bool parsed;
	struct rp_impl_options opt;

	unsigned char *base;     /* the region; NULL until registered */
	uint64_t region_size;
	int memfd;
	int sock;
	int evfd;
	struct rp_shm_header *hdr;
	uint32_t clock;          /* RP_CLOCK_* of the region */
	uint32_t client_id;

	/* Interned strings, ids 1..nstr.  strs holds their entries as
	 * published (struct rp_str_entry + bytes, in id order, str_used
	 * bytes): the region's string area itself while registered, so a
	 * new string is written once, in place.  A fork child copies its
	 * parent's entries into fork_strs (private) and points strs there
	 * until it registers a region of its own and publishes them in it:
	 * every id handed out before the fork stays valid. */
	unsigned char *strs;
	unsigned char *fork_strs; /* malloc'd; NULL when strs is the area */
	struct rp_impl_str *meta; /* per id, index id - 1 */
	uint32_t nstr, cap;      /* ids handed out; entries allocated at meta */
	uint32_t *table;         /* open addressing: id | the hash's top 4 bits
				  * (RP_IMPL_TAG); 0 = empty.  The pointer and
				  * table_cap are atomic (private): written
				  * under the lock, read without it only to
				  * prefetch */
	uint32_t table_cap;      /* power of two */
	uint32_t listed;         /* ids in the table */
	uint64_t str_used;       /* bytes of strs in use (hdr->string_used) */
	uint64_t str_dropped;    /* our copy of hdr->string_dropped */
	uint64_t str_nomem;      /* refused for lack of private memory */

	uint64_t no_slot;        /* atomic (private): events without a slot */
	uint32_t *slot_busy;     /* atomic (private), one per slot: 1 while a
				  * thread of this process claims or owns it */
	uint32_t rings_claimed;
	bool with_daemon;        /* registered with a daemon (not a test region) */
	bool revive_off;         /* a daemon refused or quarantined the region:
				  * no more tries */
	uint64_t revive_sent;    /* CLOCK_MONOTONIC ns a re-registration's hello
				  * went; 0 = none awaits its answer */
	uint64_t tick_hz;        /* of the first registration, re-sent as is */
	uint32_t registrations;  /* accepted hellos (rp_client_stats) */
	uint64_t revive_at;      /* atomic (private): CLOCK_MONOTONIC ns before
				  * which no thread checks the daemon again */
	uint64_t stalled_heartbeat; /* atomic (private): 1 + the heartbeat a
				     * lossless wait gave up on; 0 = none */
	char reason[RP_IMPL_REASON_MAX];
};

static struct rp_impl_proc rp_impl_proc_state;
static pthread_mutex_t rp_impl_lock = PTHREAD_MUTEX_INITIALIZER; /* slow paths
								   * but slot
								   * claims; held
								   * across fork */
static pthread_once_t rp_impl_once = PTHREAD_ONCE_INIT;
static pthread_key_t rp_impl_key;
static bool rp_impl_key_ok;

#ifndef RINGPROF_STATIC
__thread struct rp_impl_thread rp_impl_self;
#endif

static void rp_impl_reasonf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rp_impl_reasonf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rp_impl_proc_state.reason, sizeof(rp_impl_proc_state.reason), fmt, ap);
	va_end(ap);
}

static void rp_impl_notef(struct rp_impl_options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void rp_impl_notef(struct rp_impl_options *o, const char *fmt, ...)
{
	size_t n = strlen(o->notes);
	va_list ap;

	if (n + 2 >= sizeof(o->notes))
		return;
	if (n > 0) {
		o->notes[n++] = ';';
		o->notes[n++] = ' ';
		o->notes[n] = '\0';
	}
	va_start(ap, fmt);
	vsnprintf(o->notes + n, sizeof(o->notes) - n, fmt, ap);
	va_end(ap);
}

RP_API uint64_t rp_impl_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Parses a decimal size in [lo, hi]; the default (with a note) otherwise. */
static uint32_t rp_impl_env_u32(struct rp_impl_options *o, const char *name, uint32_t def,
				uint32_t lo, uint32_t hi, bool pow2)
{
	const char *s = getenv(name);
	unsigned long long v;
	char *end;

	if (s == NULL || *s == '\0')
		return def;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || *s == '-' || v < lo || v > hi ||
	    (pow2 && (v & (v - 1)) != 0)) {
		rp_impl_notef(o, "ignored %s=%.32s (want %s%u..%u)", name, s,
			      pow2 ? "a power of two in " : "", lo, hi);
		return def;
	}
	return (uint32_t)v;
}

static bool rp_impl_env_flag(const char *name)
{
	const char *s = getenv(name);

	return s != NULL && strcmp(s, "1") == 0;
}

/* Parses $RINGPROF_EVENTS into o->kinds (",A,B,"), o->noargs, o->off_by_env. */
static int rp_impl_parse_events(struct rp_impl_options *o)
{
	const char *s = getenv("RINGPROF_EVENTS");
	const char *p, *q;
	size_t n, used = 1;
	bool all = false;
	char *list;

	if (s == NULL || *s == '\0')
		return 0;
	n = strlen(s);
	list = (char *)malloc(n + 3);
	if (list == NULL)
		return -ENOMEM;
	list[0] = ',';
	for (p = s; *p != '\0'; p = *q != '\0' ? q + 1 : q) {
		q = strchr(p, ',');
		if (q == NULL)
			q = p + strlen(p);
		n = (size_t)(q - p);
		if (n == 0)
			continue;
		if ((n == 7 && memcmp(p, "default", 7) == 0) || (n == 3 && memcmp(p, "all", 3) == 0)) {
			all = true;
		} else if (n == 4 && memcmp(p, "none", 4) == 0) {
			o->off_by_env = true;
			snprintf(o->off_why, sizeof(o->off_why), "disabled by RINGPROF_EVENTS=none");
		} else if (n == 6 && memcmp(p, "noargs", 6) == 0) {
			o->noargs = true;
		} else {
			memcpy(list + used, p, n);
			used += n;
			list[used++] = ',';
		}
	}
	list[used] = '\0';
	if (all || used == 1) {
		free(list);
		return 0;
	}
	o->kinds = list;
	return 0;
}

/* Reads the environment once.  Caller holds the lock. */
static int rp_impl_parse_options(struct rp_impl_options *o)
{
	const char *s;

	memset(o, 0, sizeof(*o));
	o->ring_bytes = rp_impl_env_u32(o, "RINGPROF_RING_SIZE", RP_DEFAULT_RING_BYTES,
					RP_RING_BYTES_MIN, RP_RING_BYTES_MAX, true);
	o->ring_count = rp_impl_env_u32(o, "RINGPROF_RINGS", RP_DEFAULT_RING_COUNT,
					1, RP_RING_COUNT_MAX, false);
	o->string_bytes = rp_impl_env_u32(o, "RINGPROF_STRINGS", RP_DEFAULT_STRING_BYTES,
					  RP_STRING_BYTES_MIN, RP_STRING_BYTES_MAX, false) & ~7u;
	o->lossless = rp_impl_env_flag("RINGPROF_LOSSLESS");
	s = getenv("RINGPROF_CLOCK");
	if (s != NULL && *s != '\0') {
		if (strcmp(s, "monotonic") == 0)
			o->monotonic = true;
		else if (strcmp(s, "tsc") != 0)
			rp_impl_notef(o, "ignored RINGPROF_CLOCK=%.32s (want monotonic or tsc)", s);
	}
	s = getenv("RINGPROF_SOCKET");
	if (s == NULL || *s == '\0')
		s = RP_DEFAULT_SOCKET;
	snprintf(o->socket_path, sizeof(o->socket_path), "%s", s);
	s = getenv("RINGPROF_SESSION");
	if (s == NULL || *s == '\0')
		s = "default";
	if (strlen(s) >= sizeof(o->session)) {
		rp_impl_notef(o, "RINGPROF_SESSION truncated to %u bytes", RP_NAME_MAX - 1);
	}
	snprintf(o->session, sizeof(o->session), "%s", s);
	if (rp_impl_env_flag("RINGPROF_DISABLE")) {
		o->off_by_env = true;
		snprintf(o->off_why, sizeof(o->off_why), "disabled by RINGPROF_DISABLE=1");
	}
	return rp_impl_parse_events(o);
}

static bool rp_impl_has_invariant_tsc(void)
{
#if defined(__x86_64__)
	unsigned int a, b, c, d;

	if (__get_cpuid(0x80000000u, &a, &b, &c, &d) == 0 || a < 0x80000007u)
		return false;
	if (__get_cpuid(0x80000007u, &a, &b, &c, &d) == 0)
		return false;
	return (d & (1u << 8)) != 0;
#else
	return false;
#endif
}

/* Reads a (ticks, CLOCK_MONOTONIC ns) pair; ticks is the midpoint of two
 * reads around the clock_gettime. */
static void rp_impl_clock_pair(uint32_t clock, uint64_t *ticks, uint64_t *ns)
{
	struct rp_impl_thread probe;
	uint64_t t0, t1;

	memset(&probe, 0, sizeof(probe));
	probe.clock = clock;
	t0 = rp_impl_now(&probe);
	*ns = rp_impl_monotonic_ns();
	t1 = rp_impl_now(&probe);
	*ticks = t0 + (t1 - t0) / 2;
}

/* Ticks per second of clock, roughly, measured over RP_IMPL_CALIBRATE_NS;
 * 0 when the clock did not advance (then it is not used). */
static uint64_t rp_impl_tick_hz(uint32_t clock)
{
	struct timespec nap = { 0, RP_IMPL_CALIBRATE_NS };
	uint64_t t0, n0, t1, n1;

	if (clock == RP_CLOCK_MONOTONIC)
		return 1000000000u;
	rp_impl_clock_pair(clock, &t0, &n0);
	while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
		;
	rp_impl_clock_pair(clock, &t1, &n1);
	if (n1 <= n0 || t1 <= t0)
		return 0;
	return (uint64_t)((double)(t1 - t0) * 1e9 / (double)(n1 - n0));
}

/* Reads up to cap bytes of a /proc file; returns the length or -errno. */
static ssize_t rp_impl_read_file(const char *path, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < cap) {
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

/* Publishes the string area's first to bytes (whole entries, already
 * written in place).  Caller holds the lock. */
static void rp_impl_publish_strings(struct rp_impl_proc *p, uint64_t to)
{
	/* pairs with the acquire of string_used in the daemon's string scan */
	rp_store_release(&p->hdr->string_used, to);
}

static uint64_t rp_impl_load64(const char *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof(w));
	return w;
}

static uint32_t rp_impl_load32(const char *s)
{
	uint32_t w;

	memcpy(&w, s, sizeof(w));
	return w;
}

/* 32-bit hash of s[0..len): eight bytes per multiply (the last word
 * overlaps the one before it), the length in the seed, and a final
 * avalanche so that the low bits used as the table index depend on
 * every byte. */
static uint32_t rp_impl_hash(const char *s, uint32_t len)
{
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h = k ^ ((uint64_t)len * 0xff51afd7ed558ccdull);
	uint32_t i;

	if (len >= 8) {
		for (i = 0; i + 8 < len; i += 8) {
			h = (h ^ rp_impl_load64(s + i)) * k;
			h ^= h >> 29;
		}
		h ^= rp_impl_load64(s + len - 8);
	} else if (len >= 4) {
		h ^= rp_impl_load32(s) | (uint64_t)rp_impl_load32(s + len - 4) << 32;
	} else if (len > 0) {
		h ^= (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[len / 2] << 8 |
		     (uint64_t)(unsigned char)s[len - 1] << 16;
	}
	h = (h ^ (h >> 32)) * 0xd6e8feb86659fd93ull;
	h = (h ^ (h >> 32)) * 0xd6e8feb86659fd93ull;
	return (uint32_t)(h ^ (h >> 32));
}

/* Ids take 28 bits (RP_REC_ID_MASK); a table slot keeps the top 4 bits
 * of the string's hash beside its id, so that most slots of other strings
 * are passed over without reading their bytes. */
#define RP_IMPL_TAG(h) ((h) & ~RP_REC_ID_MASK)

/* Doubles the hash table from the hashes kept per id (sequential reads;
 * no string is read again).  0 or -ENOMEM.  Caller holds the lock. */
static int rp_impl_table_grow(struct rp_impl_proc *p)
{
	uint32_t cap = p->table_cap ? p->table_cap * 2 : 1024;
	uint32_t *t = (uint32_t *)calloc(cap, sizeof(*t));
	uint32_t id, h, j;

	if (t == NULL)
		return -ENOMEM;
	for (id = 1; id <= p->nstr; id++) {
		if (p->meta[id - 1].off & RP_IMPL_STR_UNLISTED)
			continue;
		h = p->meta[id - 1].hash;
		for (j = h & (cap - 1); t[j] != 0; j = (j + 1) & (cap - 1))
			;
		t[j] = RP_IMPL_TAG(h) | id;
	}
	free(p->table);
	/* pair with the relaxed loads of rp_impl_intern()'s prefetch, which
	 * may see either table: a prefetch never faults */
	rp_store_relaxed(&p->table, t);
	rp_store_relaxed(&p->table_cap, cap);
	return 0;
}

/* Makes room in meta for one more id.  0 or -ENOMEM.  Caller holds the
 * lock. */
static int rp_impl_strings_reserve(struct rp_impl_proc *p)
{
	if (p->nstr == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 1024;
		struct rp_impl_str *meta =
			(struct rp_impl_str *)reallocarray(p->meta, cap, sizeof(*meta));

		if (meta == NULL)
			return -ENOMEM;
		p->meta = meta;
		p->cap = cap;
	}
	return 0;
}

/* Counts a refused string in the shared string_dropped.  Caller holds
 * the lock (the only writer). */
static uint32_t rp_impl_string_refused(struct rp_impl_proc *p)
{
	p->str_dropped++;
	/* pairs with the daemon's acquire of string_dropped when it records
	 * loss counters */
	rp_store_release(&p->hdr->string_dropped, p->str_dropped);
	return 0;
}

/* Adds s[0..len) as id nstr + 1: written once, into the string area, and
 * published.  Returns the id, 0 when refused.  Caller holds the lock and
 * the process is registered. */
static uint32_t rp_impl_add_locked(struct rp_impl_proc *p, const char *s, uint32_t len,
				   uint32_t h, uint32_t flag)
{
	uint64_t size = RP_STR_ENTRY_SIZE(len), at;
	struct rp_str_entry e;
	uint32_t id;

	if (p->nstr >= RP_REC_ID_MASK)
		return rp_impl_string_refused(p);
	if (p->str_used + size > p->hdr->string_bytes)
		return rp_impl_string_refused(p);
	if (rp_impl_strings_reserve(p) != 0) {
		p->str_nomem++;
		return 0;
	}
	id = p->nstr + 1;
	at = p->str_used;
	e.id = id;
	e.len = len;
	memcpy(p->strs + at, &e, sizeof(e));
	memcpy(p->strs + at + sizeof(e), s, len);
	/* the padding is published too: zero it (at most 7 bytes) */
	memset(p->strs + at + sizeof(e) + len, 0, (size_t)(size - sizeof(e) - len));
	p->meta[id - 1].off = (uint32_t)at | flag;
	p->meta[id - 1].hash = h;
	p->nstr = id;
	p->str_used = at + size;
	rp_impl_publish_strings(p, p->str_used);
	return id;
}

/* Finds or adds s[0..len) (len already at most RP_STRING_LEN_MAX, h its
 * rp_impl_hash()) and returns its id, 0 when refused.  Caller holds the
 * lock and the process is registered. */
static uint32_t rp_impl_intern_locked(struct rp_impl_proc *p, const char *s, uint32_t len,
				      uint32_t h)
{
	struct rp_str_entry e;
	uint32_t j, id;

	if (p->table_cap == 0 || (p->listed + 1) * 2 > p->table_cap) {
		if (rp_impl_table_grow(p) != 0) {
			p->str_nomem++;
			return 0;
		}
	}
	for (j = h & (p->table_cap - 1); p->table[j] != 0; j = (j + 1) & (p->table_cap - 1)) {
		const unsigned char *x;

		if (RP_IMPL_TAG(p->table[j] ^ h) != 0)
			continue;
		id = p->table[j] & RP_REC_ID_MASK;
		x = p->strs + p->meta[id - 1].off;
		memcpy(&e, x, sizeof(e));
		if (e.len == len && memcmp(x + sizeof(e), s, len) == 0)
			return id;
	}
	id = rp_impl_add_locked(p, s, len, h, 0);
	if (id != 0) {
		p->table[j] = RP_IMPL_TAG(h) | id;
		p->listed++;
	}
	return id;
}

/* Sends the hello (and cmdline) with the fds attached.  0 or -errno. */
static int rp_impl_send_hello(int sock, const struct rp_hello *h, const char *cmdline,
			      int fds[2], int nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct iovec iov[2];
	struct msghdr msg;
	struct cmsghdr *cm;
	size_t total = sizeof(*h) + h->cmdline_len, sent;
	ssize_t n;

	memset(&ctl, 0, sizeof(ctl));
	memset(&msg, 0, sizeof(msg));
	iov[0].iov_base = (void *)h;
	iov[0].iov_len = sizeof(*h);
	iov[1].iov_base = (void *)cmdline;
	iov[1].iov_len = h->cmdline_len;
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* a stream socket may take the message in pieces; fds went with byte 0 */
	for (sent = (size_t)n; sent < total; sent += (size_t)n) {
		const char *from = sent < sizeof(*h) ? (const char *)h + sent
						     : cmdline + (sent - sizeof(*h));
		size_t len = sent < sizeof(*h) ? sizeof(*h) - sent : total - sent;

		do
			n = send(sock, from, len, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
	}
	return 0;
}

/* Reads exactly len bytes.  0, -ETIMEDOUT, -EPIPE on EOF, or -errno. */
static int rp_impl_recv_all(int sock, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = recv(sock, (char *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

/* Reads the daemon's answer to the hello on p->sock (waiting at most the
 * socket's receive timeout).  0 when accepted; otherwise -errno with the
 * reason set and the socket closed.  Caller holds the lock. */
static int rp_impl_answer(struct rp_impl_proc *p)
{
	struct rp_answer a;
	int ret;

	memset(&a, 0, sizeof(a));
	ret = rp_impl_recv_all(p->sock, &a, 8);
	if (ret == 0 && (a.magic != RP_ANSWER_MAGIC || a.version != RP_WIRE_VERSION ||
			 a.size != sizeof(a))) {
		ret = -EPROTO;
		if (a.magic != RP_ANSWER_MAGIC)
			rp_impl_reasonf("daemon at %s sent a bad answer (magic 0x%08x)",
					p->opt.socket_path, a.magic);
		else
			rp_impl_reasonf("daemon at %s speaks wire version %u (answer size %u), "
					"client speaks %u", p->opt.socket_path, a.version, a.size,
					RP_WIRE_VERSION);
		goto err;
	}
	if (ret == 0)
		ret = rp_impl_recv_all(p->sock, (char *)&a + 8, sizeof(a) - 8);
	if (ret < 0) {
		rp_impl_reasonf("no answer from daemon at %s: %s", p->opt.socket_path,
				ret == -ETIMEDOUT ? "timed out" :
				ret == -EPIPE ? "connection closed" : strerror(-ret));
		goto err;
	}
	if (a.status != 0) {
		a.reason[sizeof(a.reason) - 1] = '\0';
		rp_impl_reasonf("refused by daemon at %s: %s", p->opt.socket_path, a.reason);
		ret = a.status < 0 ? a.status : -EPROTO;
		goto err;
	}
	p->client_id = a.client_id;
	return 0;

err:
	close(p->sock);
	p->sock = -1;
	return ret;
}

/* Connects, sends the hello and waits up to answer_ms for the answer.  0
 * when accepted; otherwise -errno with the reason set.  answer_ms 0: 0 once
 * the hello is sent, the answer is left on p->sock for rp_impl_answer().
 * Caller holds the lock. */
static int rp_impl_handshake(struct rp_impl_proc *p, uint64_t ticks, uint64_t ns, uint64_t hz,
			     long answer_ms)
{
	long wait_ms = answer_ms != 0 ? answer_ms : RP_IMPL_REVIVE_SEND_MS;
	struct timeval tv = { wait_ms / 1000, (wait_ms % 1000) * 1000 };
	struct sockaddr_un addr;
	struct rp_hello h;
	char *cmdline = NULL;
	ssize_t clen;
	int fds[2], nfds = 1, ret;

	if (strlen(p->opt.socket_path) >= sizeof(addr.sun_path)) {
		rp_impl_reasonf("socket path too long: %.200s", p->opt.socket_path);
		return -ENAMETOOLONG;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, p->opt.socket_path, strlen(p->opt.socket_path));

	p->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->sock < 0) {
		ret = -errno;
		rp_impl_reasonf("socket: %s", strerror(errno));
		goto err;
	}
	setsockopt(p->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(p->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(p->sock, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		ret = -errno;
		rp_impl_reasonf("no daemon at %s: %s", p->opt.socket_path, strerror(errno));
		goto err_sock;
	}

	cmdline = (char *)malloc(RP_CMDLINE_MAX);
	if (cmdline == NULL) {
		ret = -ENOMEM;
		rp_impl_reasonf("out of memory");
		goto err_sock;
	}
	clen = rp_impl_read_file("/proc/self/cmdline", cmdline, RP_CMDLINE_MAX);
	if (clen < 0)
		clen = 0;

	memset(&h, 0, sizeof(h));
	h.magic = RP_HELLO_MAGIC;
	h.version = RP_WIRE_VERSION;
	h.size = sizeof(h);
	h.pid = (uint32_t)getpid();
	h.flags = p->opt.lossless ? RP_HELLO_F_LOSSLESS : 0;
	h.region_size = p->region_size;
	h.ring_count = p->hdr->ring_count;
	h.ring_bytes = p->hdr->ring_bytes;
	h.string_bytes = p->hdr->string_bytes;
	h.clock_source = p->clock;
	h.clock_ticks = ticks;
	h.clock_ns = ns;
	h.tick_hz = hz;
	if (rp_impl_read_file("/proc/self/comm", h.name, sizeof(h.name) - 1) <= 0)
		snprintf(h.name, sizeof(h.name), "unknown");
	h.name[strcspn(h.name, "\n")] = '\0';
	snprintf(h.session, sizeof(h.session), "%s", p->opt.session);
	h.cmdline_len = (uint32_t)clen;
	fds[0] = p->memfd;
	if (p->evfd >= 0) {
		fds[1] = p->evfd;
		nfds = 2;
		h.flags |= RP_HELLO_F_EVENTFD;
	}

	ret = rp_impl_send_hello(p->sock, &h, cmdline, fds, nfds);
	if (ret < 0) {
		rp_impl_reasonf("sending hello to %s: %s", p->opt.socket_path, strerror(-ret));
		goto err_cmdline;
	}
	free(cmdline);
	if (answer_ms == 0)
		return 0;  /* the caller takes the answer later */
	return rp_impl_answer(p);

err_cmdline:
	free(cmdline);
err_sock:
	close(p->sock);
	p->sock = -1;
err:
	return ret;
}

/* Creates, fills and seals the region, re-publishes strings interned
 * before a fork.  0 or -errno with the reason set.  Caller holds the lock. */
static int rp_impl_region_create(struct rp_impl_proc *p)
{
	const struct rp_impl_options *o = &p->opt;
	uint64_t stride = sizeof(struct rp_ring_ctl) + (uint64_t)o->ring_bytes;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	/* on a page of its own: the string area alone is inherited by a fork
	 * child (see rp_impl_atfork_child()) */
	uint64_t string_offset =
		(sizeof(struct rp_shm_header) + stride * o->ring_count + page - 1) & ~(page - 1);
	struct rp_shm_header *hdr;
	void *base;
	int ret;

	if (p->str_used > o->string_bytes) {
		rp_impl_reasonf("%llu bytes of strings interned before fork do not fit a string "
				"area of %u", (unsigned long long)p->str_used, o->string_bytes);
		return -ENOSPC;
	}
	p->region_size = string_offset + o->string_bytes;
	p->memfd = memfd_create("ringprof", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (p->memfd < 0) {
		ret = -errno;
		rp_impl_reasonf("memfd_create: %s", strerror(errno));
		goto err;
	}
	if (ftruncate(p->memfd, (off_t)p->region_size) != 0) {
		ret = -errno;
		rp_impl_reasonf("ftruncate of the region to %llu bytes: %s",
				(unsigned long long)p->region_size, strerror(errno));
		goto err_memfd;
	}
	base = mmap(NULL, (size_t)p->region_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->memfd, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		rp_impl_reasonf("mmap of the region: %s", strerror(errno));
		goto err_memfd;
	}
	/* a fork child must never write into the parent's rings */
	if (madvise(base, (size_t)string_offset, MADV_DONTFORK) != 0) {
		ret = -errno;
		rp_impl_reasonf("madvise(MADV_DONTFORK): %s", strerror(errno));
		goto err_map;
	}
	hdr = (struct rp_shm_header *)base;
	hdr->magic = RP_SHM_MAGIC;
	hdr->version = RP_SHM_VERSION;
	hdr->header_size = sizeof(*hdr);
	hdr->region_size = p->region_size;
	hdr->ring_count = o->ring_count;
	hdr->ring_bytes = o->ring_bytes;
	hdr->ring_offset = sizeof(*hdr);
	hdr->ring_stride = stride;
	hdr->string_offset = string_offset;
	hdr->string_bytes = o->string_bytes;
	hdr->flags = o->lossless ? RP_SHM_F_LOSSLESS : 0;
	hdr->clock_source = p->clock;
	if (fcntl(p->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
		ret = -errno;
		rp_impl_reasonf("sealing the region: %s", strerror(errno));
		goto err_map;
	}
	p->evfd = -1;
	if (o->lossless) {
		p->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->evfd < 0) {
			ret = -errno;
			rp_impl_reasonf("eventfd: %s", strerror(errno));
			goto err_map;
		}
	}
	p->slot_busy = (uint32_t *)calloc(o->ring_count, sizeof(uint32_t));
	if (p->slot_busy == NULL) {
		ret = -ENOMEM;
		rp_impl_reasonf("no memory for %u ring slots", (unsigned)o->ring_count);
		goto err_evfd;
	}
	p->base = (unsigned char *)base;
	p->hdr = hdr;
	p->str_dropped = 0;
	/* ids handed out before a fork stay valid: same strings, same order,
	 * one copy (rp_impl_register() then makes the area strs) */
	if (p->str_used != 0) {
		memcpy(p->base + string_offset, p->strs, (size_t)p->str_used);
		rp_impl_publish_strings(p, p->str_used);
	}
	return 0;

err_evfd:
	if (p->evfd >= 0)
		close(p->evfd);
	p->evfd = -1;
err_map:
	munmap(base, (size_t)p->region_size);
err_memfd:
	close(p->memfd);
	p->memfd = -1;
err:
	return ret;
}

static void rp_impl_region_destroy(struct rp_impl_proc *p)
{
	if (p->evfd >= 0)
		close(p->evfd);
	munmap(p->base, (size_t)p->region_size);
	close(p->memfd);
	free(p->slot_busy);
	p->slot_busy = NULL;
	p->evfd = -1;
	p->memfd = -1;
	p->base = NULL;
	p->hdr = NULL;
}

static void rp_impl_thread_exit(void *arg)
{
	struct rp_impl_thread *t = (struct rp_impl_thread *)arg;

	if (t->ctl != NULL) {
		/* pairs with the daemon's acquire of state before its final
		 * drain; everything this thread published is before it */
		rp_store_release(&t->ctl->state, RP_SLOT_RETIRED);
		/* pairs with the CAS in rp_impl_claim(): another thread of
		 * ours may try the slot now (it waits for the daemon's FREE) */
		if (rp_impl_proc_state.slot_busy != NULL)
			rp_store_release(&rp_impl_proc_state.slot_busy[t->slot], (uint32_t)0);
	}
	memset(t, 0, sizeof(*t));
}

static void rp_impl_atfork_prepare(void)
{
	pthread_mutex_lock(&rp_impl_lock);
}

static void rp_impl_atfork_parent(void)
{
	pthread_mutex_unlock(&rp_impl_lock);
}

/* The child has no mapping of the parent's rings (MADV_DONTFORK) and must
 * not speak on its socket: it starts over, keeping its strings.  It does
 * inherit the parent's string area: it copies the entries it knows out of
 * it and unmaps it at once, before anything of the child can write. */
static void rp_impl_atfork_child(void)
{
	struct rp_impl_proc *p = &rp_impl_proc_state;

	if (rp_load_relaxed(&p->state) == RP_IMPL_ENABLED) {
		/* the header is not mapped here: strs is the area */
		unsigned char *area = p->strs;
		unsigned char *copy = p->str_used != 0 ? (unsigned char *)malloc(p->str_used) : NULL;
		bool lost = p->str_used != 0 && copy == NULL;

		if (copy != NULL)
			memcpy(copy, area, (size_t)p->str_used);
		munmap(area, (size_t)p->opt.string_bytes);
		p->strs = p->fork_strs = copy;
		if (p->sock >= 0)
			close(p->sock);
		if (p->memfd >= 0)
			close(p->memfd);
		if (p->evfd >= 0)
			close(p->evfd);
		p->sock = p->memfd = p->evfd = -1;
		p->base = NULL;
		p->hdr = NULL;
		free(p->slot_busy);
		p->slot_busy = NULL;
		rp_store_relaxed(&p->rings_claimed, (uint32_t)0);
		rp_store_relaxed(&p->no_slot, (uint64_t)0);
		rp_store_relaxed(&p->stalled_heartbeat, (uint64_t)0);
		rp_store_relaxed(&p->revive_at, (uint64_t)0);
		p->registrations = 0;
		p->revive_off = false;
		p->revive_sent = 0;
		snprintf(p->reason, sizeof(p->reason), "not registered yet");
		rp_store_relaxed(&p->state, RP_IMPL_UNREGISTERED);
		if (lost) {
			/* the ids handed out before the fork would name nothing */
			snprintf(p->reason, sizeof(p->reason),
				 "no memory to keep %llu bytes of strings across fork",
				 (unsigned long long)p->str_used);
			p->error = -ENOMEM;
			rp_store_relaxed(&p->state, RP_IMPL_DISABLED);
		}
	}
	memset(&rp_impl_self, 0, sizeof(rp_impl_self));
	if (rp_impl_key_ok)
		pthread_setspecific(rp_impl_key, NULL);
	pthread_mutex_unlock(&rp_impl_lock);
}

static void rp_impl_once_init(void)
{
	rp_impl_key_ok = pthread_key_create(&rp_impl_key, rp_impl_thread_exit) == 0;
	pthread_atfork(rp_impl_atfork_prepare, rp_impl_atfork_parent, rp_impl_atfork_child);
}

/* Registers the process: region, then (unless test) the daemon.  Caller
 * holds the lock and state is UNREGISTERED. */
static int rp_impl_register(struct rp_impl_proc *p, bool with_daemon)
{
	uint64_t ticks, ns, hz;
	int ret;

	p->sock = p->memfd = p->evfd = -1;
	if (!p->parsed) {
		ret = rp_impl_parse_options(&p->opt);
		if (ret < 0) {
			rp_impl_reasonf("out of memory");
			goto err;
		}
		p->parsed = true;
	}
	if (p->opt.off_by_env) {
		rp_impl_reasonf("%s", p->opt.off_why);
		ret = -ECANCELED;
		goto err;
	}
	if (!rp_impl_key_ok) {
		rp_impl_reasonf("pthread_key_create failed");
		ret = -EAGAIN;
		goto err;
	}
	p->clock = (!p->opt.monotonic && rp_impl_has_invariant_tsc()) ? RP_CLOCK_TSC
								       : RP_CLOCK_MONOTONIC;
	ret = rp_impl_region_create(p);
	if (ret < 0)
		goto err;
	hz = rp_impl_tick_hz(p->clock);
	if (hz == 0) {
		p->clock = RP_CLOCK_MONOTONIC;
		p->hdr->clock_source = p->clock;
		hz = 1000000000u;
	}
	rp_impl_clock_pair(p->clock, &ticks, &ns);
	p->tick_hz = hz;
	p->with_daemon = with_daemon;
	if (with_daemon) {
		ret = rp_impl_handshake(p, ticks, ns, hz, RP_IMPL_ANSWER_TIMEOUT_S * 1000L);
		if (ret < 0)
			goto err_region;
		p->registrations = 1;
		rp_impl_reasonf("recording (client %u of the daemon at %.200s)%s%s", p->client_id,
				p->opt.socket_path, p->opt.notes[0] ? "; " : "", p->opt.notes);
	} else {
		rp_impl_reasonf("recording (test region, no daemon)%s%s",
				p->opt.notes[0] ? "; " : "", p->opt.notes);
	}
	/* from now on strings are written in place, in the area */
	p->strs = p->base + p->hdr->string_offset;
	free(p->fork_strs);
	p->fork_strs = NULL;
	/* pairs with the acquire in rp_impl_ensure() */
	rp_store_release(&p->state, RP_IMPL_ENABLED);
	p->error = 0;
	return 0;

err_region:
	rp_impl_region_destroy(p);
err:
	if (p->opt.notes[0] != '\0' && strlen(p->reason) + 3 < sizeof(p->reason)) {
		size_t n = strlen(p->reason);

		snprintf(p->reason + n, sizeof(p->reason) - n, "; %s", p->opt.notes);
	}
	p->error = ret;
	rp_store_release(&p->state, RP_IMPL_DISABLED);
	return ret;
}

/* Returns the process state, registering first if needed. */
static uint32_t rp_impl_ensure(void)
{
	struct rp_impl_proc *p = &rp_impl_proc_state;
	uint32_t state = rp_load_acquire(&p->state); /* pairs with rp_impl_register() */

	if (state != RP_IMPL_UNREGISTERED)
		return state;
	pthread_once(&rp_impl_once, rp_impl_once_init);
	pthread_mutex_lock(&rp_impl_lock);
	if (rp_load_relaxed(&p->state) == RP_IMPL_UNREGISTERED)
		rp_impl_register(p, true);
	state = rp_load_relaxed(&p->state);
	pthread_mutex_unlock(&rp_impl_lock);
	return state;
}

/* Reattach, step 1: offer the same sealed region to whatever daemon
 * listens at the socket now, without waiting for its answer.  Rings, slots
 * and strings stay as they are; the new daemon drains from the tails in
 * shared memory and counts the drops since the last daemon recorded them.
 * Caller holds the lock. */
static void rp_impl_reattach(struct rp_impl_proc *p, uint64_t now)
{
	char why[RP_IMPL_REASON_MAX];
	uint64_t ticks, ns;

	if (p->sock >= 0)
		close(p->sock);
	p->sock = -1;
	rp_impl_clock_pair(p->clock, &ticks, &ns);
	if (rp_impl_handshake(p, ticks, ns, p->tick_hz, 0) < 0) {
		snprintf(why, sizeof(why), "%s", p->reason);
		rp_impl_reasonf("recording into rings no daemon drains (%.300s); trying again "
				"every second", why);
		return;
	}
	p->revive_sent = now;
	/* look for the answer soon, not a second later */
	rp_store_relaxed(&p->revive_at, now + RP_IMPL_REVIVE_PEEK_NS);
}

/* Reattach, step 2: the answer, once it is whole on the socket.  A
 * refusal is final; no answer in RP_IMPL_REVIVE_ANSWER_NS, another try.
 * Caller holds the lock. */
static void rp_impl_reattach_answer(struct rp_impl_proc *p, uint64_t now)
{
	struct rp_answer a;
	char why[RP_IMPL_REASON_MAX];
	ssize_t n = recv(p->sock, &a, sizeof(a), MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		if (now - p->revive_sent < RP_IMPL_REVIVE_ANSWER_NS) {
			rp_store_relaxed(&p->revive_at, now + RP_IMPL_REVIVE_PEEK_NS);
			return;
		}
		n = 0;  /* the daemon takes too long: give up this try */
	}
	if (n > 0 && (size_t)n < sizeof(a) && now - p->revive_sent < RP_IMPL_REVIVE_ANSWER_NS) {
		rp_store_relaxed(&p->revive_at, now + RP_IMPL_REVIVE_PEEK_NS);
		return;
	}
	p->revive_sent = 0;
	if (n == (ssize_t)sizeof(a) && rp_impl_answer(p) == 0) {
		p->registrations++;
		rp_impl_reasonf("recording (client %u of the daemon at %.200s, registration %u)",
				p->client_id, p->opt.socket_path, p->registrations);
		return;
	}
	if (n == (ssize_t)sizeof(a)) {
		p->revive_off = strncmp(p->reason, "refused", 7) == 0;
	} else {
		close(p->sock);
		p->sock = -1;
		rp_impl_reasonf("no answer from daemon at %.200s", p->opt.socket_path);
	}
	snprintf(why, sizeof(why), "%s", p->reason);
	rp_impl_reasonf("recording into rings no daemon drains (%.300s)%s", why,
			p->revive_off ? "" : "; trying again every second");
}

#define RP_IMPL_PEER_THERE       0
#define RP_IMPL_PEER_QUARANTINED 1   /* its one byte waits before the close */
#define RP_IMPL_PEER_GONE        2

/* What the daemon's socket says, without waiting.  Caller holds the
 * lock. */
static int rp_impl_peer(struct rp_impl_proc *p)
{
	char byte;
	ssize_t n = p->sock < 0 ? 0 : recv(p->sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return RP_IMPL_PEER_THERE;
	return n > 0 ? RP_IMPL_PEER_QUARANTINED : RP_IMPL_PEER_GONE;
}

/* Takes a re-registration's answer if one is awaited and has come: the
 * queries (rp_stats, rp_status_reason) and a lossless wait call this, so
 * that it does not wait for a drop that may never come once the new
 * daemon drains.  Caller holds the lock; errno is preserved. */
static void rp_impl_reattach_poll(struct rp_impl_proc *p)
{
	int saved = errno;

	if (p->revive_sent != 0 && rp_load_relaxed(&p->state) == RP_IMPL_ENABLED)
		rp_impl_reattach_answer(p, rp_impl_monotonic_ns());
	errno = saved;
}

/* Slow paths call this: at most once per RP_IMPL_REVIVE_NS over all the
 * threads, and never waiting for the lock or the daemon, checks that the
 * daemon's connection is still open and registers again if not.  The
 * daemon never writes after its answer but for one byte before it closes
 * the connection of a client it quarantines: then the client stops
 * trying.  errno is preserved. */
static void rp_impl_revive(struct rp_impl_proc *p)
{
	uint64_t now = rp_impl_monotonic_ns();
	uint64_t at = rp_load_relaxed(&p->revive_at);
	int saved = errno;
	int peer;

	if (!p->with_daemon || now < at ||
	    !rp_cas_acq_rel(&p->revive_at, &at, now + RP_IMPL_REVIVE_NS))
		return;
	if (pthread_mutex_trylock(&rp_impl_lock) != 0)
		goto out;
	if (rp_load_relaxed(&p->state) != RP_IMPL_ENABLED || p->revive_off)
		goto out_unlock;
	if (p->revive_sent != 0) {
		rp_impl_reattach_answer(p, now);
		goto out_unlock;
	}
	peer = rp_impl_peer(p);
	if (peer == RP_IMPL_PEER_THERE)
		goto out_unlock;
	if (peer == RP_IMPL_PEER_QUARANTINED) {
		p->revive_off = true;
		rp_impl_reasonf("quarantined by the daemon at %.200s; recording into rings "
				"nobody drains", p->opt.socket_path);
		goto out_unlock;
	}
	rp_impl_reattach(p, now);
out_unlock:
	pthread_mutex_unlock(&rp_impl_lock);
out:
	errno = saved;
}

static struct rp_ring_ctl *rp_impl_ring(struct rp_impl_proc *p, uint32_t i)
{
	return (struct rp_ring_ctl *)(void *)(p->base + p->hdr->ring_offset +
					      (uint64_t)i * p->hdr->ring_stride);
}

/* Claims a FREE slot for the calling thread.  Caller holds the lock, so
 * the tid/owner_seq stores of two claimers never interleave. */
static bool rp_impl_claim(struct rp_impl_proc *p, struct rp_impl_thread *t)
{
	struct rp_ring_ctl *ctl;
	uint32_t i, expected, busy;

	for (i = 0; i < p->hdr->ring_count; i++) {
		/* Lock-free claim: a thread first wins the slot among the
		 * threads of this process (private flag), and only then
		 * writes the slot's owner fields, so two threads never mix
		 * their tid and owner_seq.  Pairs with the release in
		 * rp_impl_thread_exit(). */
		busy = 0;
		if (rp_load_relaxed(&p->slot_busy[i]) != 0 ||
		    !rp_cas_acq_rel(&p->slot_busy[i], &busy, (uint32_t)1))
			continue;
		ctl = rp_impl_ring(p, i);
		/* pairs with the daemon's release (CAS RETIRED->FREE) after
		 * its last drain of the slot */
		if (rp_load_acquire(&ctl->state) != RP_SLOT_FREE) {
			rp_store_release(&p->slot_busy[i], (uint32_t)0);
			continue;
		}
		rp_store_relaxed(&ctl->tid, (uint32_t)syscall(SYS_gettid));
		rp_store_relaxed(&ctl->owner_seq, rp_load_relaxed(&ctl->owner_seq) + 1);
		expected = RP_SLOT_FREE;
		/* the release half publishes tid and owner_seq to the daemon's
		 * acquire of state; only the daemon could have moved the slot
		 * since, and it never moves a FREE one */
		if (!rp_cas_acq_rel(&ctl->state, &expected, RP_SLOT_OWNED)) {
			rp_store_release(&p->slot_busy[i], (uint32_t)0);
			continue;
		}
		t->ctl = ctl;
		t->data = (unsigned char *)ctl + sizeof(*ctl);
		t->bytes = p->hdr->ring_bytes;
		/* the previous owner's last head, made visible by the FREE
		 * acquire above */
		t->head = rp_load_relaxed(&ctl->head);
		/* pairs with the release of tail in the daemon's drain */
		t->tail = rp_load_acquire(&ctl->tail);
		t->clock = p->clock;
		t->no_slot = 0;
		t->slot = i;
		rp_fetch_add_relaxed(&p->rings_claimed, (uint32_t)1);
		pthread_setspecific(rp_impl_key, t);
		return true;
	}
	return false;
}

RP_API bool rp_impl_thread_attach(void)
{
	struct rp_impl_proc *p = &rp_impl_proc_state;
	struct rp_impl_thread *t = &rp_impl_self;
	bool ok;

	if (rp_impl_ensure() != RP_IMPL_ENABLED)
		return false;
	if (t->no_slot != 0 && t->no_slot++ % RP_IMPL_NO_SLOT_RETRY != 0)
		goto err_no_slot;
	ok = rp_load_acquire(&p->state) == RP_IMPL_ENABLED && rp_impl_claim(p, t);
	if (ok) {
		rp_impl_revive(p);
		return true;
	}
	if (t->no_slot == 0)
		t->no_slot = 1;
err_no_slot:
	rp_fetch_add_relaxed(&p->no_slot, (uint64_t)1);
	/* Tell the daemon too, so that the loss is in the segment; pairs
	 * with the acquire in the daemon's loss accounting.  p->hdr is
	 * NULL when the registration went away under us. */
	if (p->hdr != NULL)
		rp_fetch_add_acq_rel(&p->hdr->no_slot_dropped, (uint64_t)1);
	return false;
}

/* Counts one dropped event in the ring's shared counter (producer-only). */
static bool rp_impl_drop(struct rp_impl_thread *t)
{
	/* pairs with the daemon's acquire of dropped */
	rp_store_release(&t->ctl->dropped, rp_load_relaxed(&t->ctl->dropped) + 1);
	return false;
}

static bool rp_impl_has_room(struct rp_impl_thread *t, uint32_t need)
{
	/* pairs with the release of tail in the daemon's drain: the daemon
	 * has finished copying everything before tail */
	t->tail = rp_load_acquire(&t->ctl->tail);
	return (t->head - t->tail) + need <= t->bytes;
}

/* Has the daemon of a lossless wait closed its socket, or quarantined
 * the region (its one byte before the close)?  Not while a
 * re-registration's answer is awaited, nor when another thread holds the
 * lock: the next look tells. */
static bool rp_impl_lossless_peer_gone(struct rp_impl_proc *p)
{
	int saved = errno;
	bool gone;

	if (!p->with_daemon || pthread_mutex_trylock(&rp_impl_lock) != 0)
		return false;
	rp_impl_reattach_poll(p);
	gone = p->revive_sent == 0 && rp_impl_peer(p) != RP_IMPL_PEER_THERE;
	pthread_mutex_unlock(&rp_impl_lock);
	errno = saved;
	return gone;
}

/* Lossless wait: pokes the daemon and naps until room appears.  Gives up
 * at once when the daemon's socket closes, and after
 * RP_IMPL_LOSSLESS_STALL_NS of waiting without a heartbeat from a daemon
 * still connected (stopped, or hung).  A nap counts at most
 * RP_IMPL_LOSSLESS_STEP_NS: time this process did not run (stopped, or a
 * paused machine) is no sign of the daemon. */
static bool rp_impl_lossless_wait(struct rp_impl_proc *p, struct rp_impl_thread *t, uint32_t need)
{
	/* pairs with the daemon's release of daemon_heartbeat */
	uint64_t beat = rp_load_acquire(&p->hdr->daemon_heartbeat), now, step, waited = 0;
	uint64_t prev = rp_impl_monotonic_ns();
	uint64_t one = 1;
	struct timespec nap = { 0, RP_IMPL_LOSSLESS_NAP_NS };
	uint32_t naps = 0;
	ssize_t n;

	if (beat + 1 == rp_load_relaxed(&p->stalled_heartbeat))
		return false; /* already gave up on this heartbeat */
	n = write(p->evfd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is already non-zero, the daemon knows */
	for (;;) {
		if (rp_impl_has_room(t, need))
			return true;
		nanosleep(&nap, NULL);
		now = rp_impl_monotonic_ns();
		step = now - prev;
		prev = now;
		waited += step < RP_IMPL_LOSSLESS_STEP_NS ? step : RP_IMPL_LOSSLESS_STEP_NS;
		if (rp_load_acquire(&p->hdr->daemon_heartbeat) != beat) {
			beat = rp_load_acquire(&p->hdr->daemon_heartbeat);
			waited = 0;
		} else if (waited >= RP_IMPL_LOSSLESS_STALL_NS ||
			   (++naps % RP_IMPL_LOSSLESS_PEER_NAPS == 0 &&
			    rp_impl_lossless_peer_gone(p))) {
			rp_store_relaxed(&p->stalled_heartbeat, beat + 1);
			return false;
		}
	}
}

RP_API bool rp_impl_ring_room(struct rp_impl_thread *t, uint32_t need)
{
	struct rp_impl_proc *p = &rp_impl_proc_state;

	if (rp_impl_has_room(t, need))
		return true;
	if (p->opt.lossless && p->evfd >= 0 && rp_impl_lossless_wait(p, t, need))
		return true;
	/* Nobody drains a ring whose daemon died: the drops say so first. */
	if (t->drops++ % RP_IMPL_REVIVE_DROPS == 0) {
		rp_impl_revive(p);
		if (rp_impl_has_room(t, need))
			return true;
	}
	return rp_impl_drop(t);
}

RP_API int rp_init(void)
{
	if (rp_impl_ensure() == RP_IMPL_ENABLED)
		return 0;
	return rp_impl_proc_state.error;
}

RP_API bool rp_is_enabled(void)
{
	return rp_impl_ensure() == RP_IMPL_ENABLED;
}

RP_API const char *rp_status_reason(void)
{
	struct rp_impl_proc *p = &rp_impl_proc_state;

	/* pairs with the release in rp_impl_register(), after the reason */
	if (rp_load_acquire(&p->state) == RP_IMPL_UNREGISTERED)
		return "not registered yet";
	if (p->with_daemon && pthread_mutex_trylock(&rp_impl_lock) == 0) {
		rp_impl_reattach_poll(p);
		pthread_mutex_unlock(&rp_impl_lock);
	}
	return p->reason;
}

/* Interns under the lock; kind_filter checks $RINGPROF_EVENTS.  The hash
 * is taken before the lock, and the table slot it names is prefetched: a
 * new key's probe is a cache miss that then overlaps taking the lock. */
static uint32_t rp_impl_intern(const char *s, size_t len, bool is_kind, bool is_arg)
{
	struct rp_impl_proc *p = &rp_impl_proc_state;
	uint32_t n = len > RP_STRING_LEN_MAX ? RP_STRING_LEN_MAX : (uint32_t)len;
	uint32_t id = 0, h, cap;
	const uint32_t *table;

	if (s == NULL || rp_impl_ensure() != RP_IMPL_ENABLED)
		return 0;
	if (is_arg && p->opt.noargs)
		return 0;
	if (is_kind && p->opt.kinds != NULL) {
		const char *at = p->opt.kinds;
		bool found = false;

		/* a name with a comma could match across two items */
		while (len > 0 && memchr(s, ',', len) == NULL && (at = strstr(at, s)) != NULL) {
			if (at > p->opt.kinds && at[-1] == ',' && at[len] == ',') {
				found = true;
				break;
			}
			at++;
		}
		if (!found)
			return 0;
	}
	h = rp_impl_hash(s, n);
	table = rp_load_relaxed(&p->table);
	cap = rp_load_relaxed(&p->table_cap);
	/* integer arithmetic: table and cap may be of two different sizes
	 * while another thread grows the table (a prefetch never faults) */
	if (table != NULL)
		__builtin_prefetch((const void *)((uintptr_t)table +
						  sizeof(*table) * (h & (cap - 1))));
	pthread_mutex_lock(&rp_impl_lock);
	if (rp_load_relaxed(&p->state) == RP_IMPL_ENABLED)
		id = rp_impl_intern_locked(p, s, n, h);
	pthread_mutex_unlock(&rp_impl_lock);
	return id;
}

RP_API uint32_t rp_intern_new_n(const char *s, size_t len)
{
	struct rp_impl_proc *p = &rp_impl_proc_state;
	uint32_t n = len > RP_STRING_LEN_MAX ? RP_STRING_LEN_MAX : (uint32_t)len;
	uint32_t id = 0;

	if (s == NULL || rp_impl_ensure() != RP_IMPL_ENABLED || p->opt.noargs)
		return 0;
	pthread_mutex_lock(&rp_impl_lock);
	if (rp_load_relaxed(&p->state) == RP_IMPL_ENABLED)
		id = rp_impl_add_locked(p, s, n, 0, RP_IMPL_STR_UNLISTED);
	pthread_mutex_unlock(&rp_impl_lock);
	return id;
}

RP_API uint32_t rp_intern_new(const char *s)
{
	return rp_intern_new_n(s, s ? strlen(s) : 0);
}

RP_API uint32_t rp_kind(const char *name)
{
	return rp_impl_intern(name, name ? strlen(name) : 0, true, false);
}

RP_API uint32_t rp_intern_n(const char *s, size_t len)
{
	return rp_impl_intern(s, len, false, true);
}

RP_API uint32_t rp_intern(const char *s)
{
	return rp_impl_intern(s, s ? strlen(s) : 0, false, true);
}

RP_API void rp_thread_name(const char *name)
{
	uint32_t id = rp_impl_intern(name, name ? strlen(name) : 0, false, false);

	if (id != 0)
		rp_impl_emit(RP_REC_PACK(RP_REC_THREAD_NAME, id), 0, false, 0);
}

RP_API void rp_stats(struct rp_client_stats *out)
{
	struct rp_impl_proc *p = &rp_impl_proc_state;
	struct rp_ring_ctl *ctl;
	uint32_t i;

	memset(out, 0, sizeof(*out));
	out->events_dropped_no_slot = rp_load_relaxed(&p->no_slot);
	pthread_mutex_lock(&rp_impl_lock);
	if (p->with_daemon)
		rp_impl_reattach_poll(p);
	if (rp_load_relaxed(&p->state) == RP_IMPL_ENABLED) {
		out->enabled = true;
		out->ring_count = p->hdr->ring_count;
		out->ring_bytes = p->hdr->ring_bytes;
		for (i = 0; i < p->hdr->ring_count; i++) {
			ctl = rp_impl_ring(p, i);
			/* pair with the producers' releases of head and dropped */
			out->records_committed += rp_load_acquire(&ctl->head) / RP_REC_BYTES;
			out->events_dropped += rp_load_acquire(&ctl->dropped);
		}
		out->strings_dropped = p->str_dropped;
	}
	out->strings_dropped += p->str_nomem;
	out->strings_interned = p->nstr;
	out->rings_claimed = rp_load_relaxed(&p->rings_claimed);
	out->registrations = p->registrations;
	pthread_mutex_unlock(&rp_impl_lock);
}

RP_API int rp_test_open_region(void)
{
	struct rp_impl_proc *p = &rp_impl_proc_state;
	int ret;

	pthread_once(&rp_impl_once, rp_impl_once_init);
	pthread_mutex_lock(&rp_impl_lock);
	if (rp_load_relaxed(&p->state) == RP_IMPL_UNREGISTERED)
		ret = rp_impl_register(p, false);
	else
		ret = rp_load_relaxed(&p->state) == RP_IMPL_ENABLED ? 0 : p->error;
	pthread_mutex_unlock(&rp_impl_lock);
	return ret;
}

RP_API struct rp_shm_header *rp_test_region(int *fd)
{
	struct rp_impl_proc *p = &rp_impl_proc_state;
	struct rp_shm_header *hdr = NULL;

	pthread_mutex_lock(&rp_impl_lock);
	if (rp_load_relaxed(&p->state) == RP_IMPL_ENABLED) {
		hdr = p->hdr;
		if (fd != NULL)
			*fd = p->memfd;
	}
	pthread_mutex_unlock(&rp_impl_lock);
	return hdr;
}

#ifdef __cplusplus
}
#endif

#endif /* RINGPROF_IMPLEMENTATION */
