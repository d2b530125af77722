/*
 * ringprof_cyg.h - function-level recording for any C/C++ program built with
 * -finstrument-functions: every call of an instrumented function becomes an
 * interval of kind "Function" in ringprof, without touching the source.
 * Header-only, C11/C17/C++17, Linux, GCC or Clang.
 *
 * ======================================================================
 * INCLUDING
 * ======================================================================
 *
 *   Add ONE translation unit to the program, compiled WITHOUT
 *   -finstrument-functions:
 *
 *       #define RINGPROF_IMPLEMENTATION      (unless another unit has it)
 *       #define RINGPROF_CYG_IMPLEMENTATION
 *       #include <ringprof_cyg.h>
 *
 *   It defines __cyg_profile_func_enter() and __cyg_profile_func_exit(),
 *   which GCC and Clang call at the entry and exit of every instrumented
 *   function.  Compile the rest of the program with -finstrument-functions
 *   (GCC: also -finstrument-functions-exclude-file-list=ringprof, so that
 *   inline functions of ringprof.h included elsewhere are not instrumented)
 *   and link with -pthread.  Build without -s: the tools name functions
 *   from the symbol tables of the files (or their separate debug files).
 *
 * ======================================================================
 * WHAT IS RECORDED
 * ======================================================================
 *
 *   Entry: a BEGIN of kind RINGPROF_CYG_KIND ("Function"); exit: its END.
 *   The argument names the function by where its code lives, not by its
 *   run-time address:
 *
 *       <object path>+0x<address in the file>@<GNU build id, hex>
 *       "/usr/bin/tcc+0x1a2b0@3f0c...", or "+0x<address>@" when no loaded
 *       object holds the address (generated code)
 *
 *   so every segment can be symbolized on its own, by any tool, after the
 *   process is gone.  The objects come from dl_iterate_phdr(): the main
 *   program (its path from /proc/self/exe), shared libraries, and libraries
 *   loaded later with dlopen() (an address that no known object holds makes
 *   the adapter scan the objects again).  `ringprof summarize`, `folded` and
 *   `chrome` replace these arguments by the (demangled) function names,
 *   read from the files at that path whose build id matches; a missing or
 *   different file shows as "tcc+0x1a2b0".
 *
 *   C++ exceptions: GCC and Clang call the exit hook of each frame the
 *   exception unwinds, so every interval is closed.  longjmp() skips the
 *   exit hooks of the frames it leaves: their intervals stay open (the tools
 *   count them as open or closed out of order); nothing else is affected.
 *
 * ======================================================================
 * COST AND LOSS
 * ======================================================================
 *
 *   The hooks follow the rules of the ringprof.h hot path: no lock, no
 *   system call, no allocation.  A call costs one lookup in a lock-free
 *   open-addressing table (function address -> string id, filled on the
 *   first call of each function) and one ringprof event.  The first call of
 *   a function takes the slow path: it formats the name above and interns
 *   it (rp_intern, a mutex), once per function and process.
 *
 *   Nothing is lost silently.  A full ring drops and counts the event as
 *   ringprof.h does.  A function that cannot be named (the string area or
 *   the table is full: RINGPROF_CYG_SLOTS functions, 3/4 of them usable)
 *   has its calls dropped and counted in the ring's dropped counter (and in
 *   rp_cyg_stats().unnamed).  A call made while the hooks already run on the
 *   same thread (a signal handler, or ringprof's own code when it was
 *   instrumented by mistake) is dropped and counted in reentered: the hooks
 *   never recurse into themselves.
 *
 *   The hooks may run before the client registers: the first one registers
 *   (ringprof.h's rules and environment apply; no daemon: every later call
 *   costs one load and one branch).  They are safe in any thread, and in a
 *   fork child (which registers on its own and keeps the names).
 *
 * ======================================================================
 * OPTIONS
 * ======================================================================
 *
 *   RINGPROF_CYG_SLOTS   table size, a power of two (default 65536: 1 MiB
 *                        of zero pages, touched only as used)
 */
#ifndef RINGPROF_CYG_H
#define RINGPROF_CYG_H

#include "ringprof.h"

#define RINGPROF_CYG_KIND "Function"

#ifndef RINGPROF_CYG_SLOTS
#define RINGPROF_CYG_SLOTS 65536u
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Counters of the adapter in this process. */
struct rp_cyg_counters {
	uint64_t unnamed;    /* calls dropped: their function could not be named */
	uint64_t reentered;  /* calls dropped: the hooks were already running on
			      * that thread (signal handler, instrumented ringprof) */
	uint32_t functions;  /* functions named (table entries) */
	uint32_t modules;    /* loaded objects known */
	uint32_t scans;      /* dl_iterate_phdr() scans: 1 + one per new object */
	bool     enabled;    /* the hooks record */
};

/* Fills *out with the adapter's counters; never fails. */
RP_API void rp_cyg_stats(struct rp_cyg_counters *out) __attribute__((no_instrument_function));

/* The hooks -finstrument-functions calls: fn is the instrumented function,
 * site the address it was called from (unused). */
void __cyg_profile_func_enter(void *fn, void *site) __attribute__((no_instrument_function));
void __cyg_profile_func_exit(void *fn, void *site) __attribute__((no_instrument_function));

#ifdef __cplusplus
}
#endif

#endif /* RINGPROF_CYG_H */

/* ------------------------------------------------------------------ */
/* Implementation                                                     */
/* ------------------------------------------------------------------ */
#if defined(RINGPROF_CYG_IMPLEMENTATION) && !defined(RINGPROF_CYG_IMPLEMENTED)
#define RINGPROF_CYG_IMPLEMENTED

#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

#if (RINGPROF_CYG_SLOTS & (RINGPROF_CYG_SLOTS - 1)) != 0 || RINGPROF_CYG_SLOTS < 64
#error "RINGPROF_CYG_SLOTS must be a power of two, at least 64"
#endif

#define RP_CYG_NOINST __attribute__((no_instrument_function))
#define RP_CYG_NONAME 0xffffffffu  /* table id: the function has no name; ids
				    * are 28 bits, so no real id is this */
#define RP_CYG_BUILD_ID_MAX 64     /* bytes of a build id kept */
/* Entries in use at most: a quarter stays free so probes stay short and end */
#define RP_CYG_USABLE (RINGPROF_CYG_SLOTS / 4 * 3)

enum { RP_CYG_UNKNOWN = 0, RP_CYG_ON = 1, RP_CYG_OFF = 2 };

/* One table entry; fn is written once (CAS 0 -> fn), then id (release). */
struct rp_cyg_slot {
	uintptr_t fn;
	uint32_t id;
	uint32_t pad;
};

/* A loaded object: run-time addresses [lo, hi) = file addresses + bias. */
struct rp_cyg_module {
	uintptr_t lo, hi, bias;
	char *path;
	char build_id[2 * RP_CYG_BUILD_ID_MAX + 1];  /* hex, "" when none */
};

struct rp_cyg_proc {
	uint32_t state;       /* RP_CYG_*; release in rp_cyg_start(), acquire in
			       * the hooks */
	uint32_t kind;        /* "Function", valid once state is ON */
	uint32_t used;        /* table entries taken */
	uint32_t scans;
	uint64_t unnamed, reentered;
	struct rp_cyg_module *mods;  /* under rp_cyg_lock */
	size_t nmods;
};

static struct rp_cyg_slot rp_cyg_table[RINGPROF_CYG_SLOTS];
static struct rp_cyg_proc rp_cyg_proc_state;
static pthread_mutex_t rp_cyg_lock = PTHREAD_MUTEX_INITIALIZER; /* slow path:
						* start-up and the module list */
static __thread unsigned char rp_cyg_busy;  /* the hooks run on this thread */

static RP_CYG_NOINST void rp_cyg_atfork_prepare(void)
{
	pthread_mutex_lock(&rp_cyg_lock);
}

static RP_CYG_NOINST void rp_cyg_atfork_done(void)
{
	pthread_mutex_unlock(&rp_cyg_lock);
}

static RP_CYG_NOINST void rp_cyg_modules_free(struct rp_cyg_module *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].path);
	free(m);
}

struct rp_cyg_scan {
	struct rp_cyg_module *mods;
	size_t n, cap;
	bool nomem;
};

/* The GNU build id among the notes of [p, p + len) in hex, or "". */
static RP_CYG_NOINST void rp_cyg_build_id(const unsigned char *p, size_t len, char *hex)
{
	size_t off = 0;

	hex[0] = '\0';
	while (off + sizeof(ElfW(Nhdr)) <= len) {
		const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)(p + off);
		size_t name = ((size_t)nh->n_namesz + 3) & ~(size_t)3;
		size_t desc = ((size_t)nh->n_descsz + 3) & ~(size_t)3;
		const unsigned char *d = p + off + sizeof(*nh) + name;

		if (sizeof(*nh) + name + desc > len - off)
			return;
		if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
		    memcmp(p + off + sizeof(*nh), "GNU", 4) == 0) {
			size_t n = nh->n_descsz < RP_CYG_BUILD_ID_MAX ? nh->n_descsz
								       : RP_CYG_BUILD_ID_MAX;

			for (size_t i = 0; i < n; i++)
				snprintf(hex + 2 * i, 3, "%02x", d[i]);
			return;
		}
		off += sizeof(*nh) + name + desc;
	}
}

/* dl_iterate_phdr() callback: one object into the scan. */
static RP_CYG_NOINST int rp_cyg_scan_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rp_cyg_scan *s = (struct rp_cyg_scan *)arg;
	struct rp_cyg_module m;
	char exe[4096];
	const char *path = info->dlpi_name;

	(void)size;
	memset(&m, 0, sizeof(m));
	m.lo = UINTPTR_MAX;
	m.bias = (uintptr_t)info->dlpi_addr;
	for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD) {
			if (m.bias + ph->p_vaddr < m.lo)
				m.lo = m.bias + ph->p_vaddr;
			if (m.bias + ph->p_vaddr + ph->p_memsz > m.hi)
				m.hi = m.bias + ph->p_vaddr + ph->p_memsz;
		} else if (ph->p_type == PT_NOTE && m.build_id[0] == '\0') {
			rp_cyg_build_id((const unsigned char *)(m.bias + ph->p_vaddr),
					(size_t)ph->p_memsz, m.build_id);
		}
	}
	if (m.lo >= m.hi)
		return 0;
	if (path == NULL || path[0] == '\0') {
		/* the main program is the first object and has no name */
		ssize_t n = s->n == 0 ? readlink("/proc/self/exe", exe, sizeof(exe) - 1) : -1;

		if (n <= 0)
			return 0;
		exe[n] = '\0';
		path = exe;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct rp_cyg_module *mods =
			(struct rp_cyg_module *)realloc(s->mods, cap * sizeof(*mods));

		if (mods == NULL) {
			s->nomem = true;
			return 1;
		}
		s->mods = mods;
		s->cap = cap;
	}
	m.path = strdup(path);
	if (m.path == NULL) {
		s->nomem = true;
		return 1;
	}
	s->mods[s->n++] = m;
	return 0;
}

/* Replaces the module list by a new scan.  Scans without rp_cyg_lock:
 * dl_iterate_phdr() takes the loader's lock, which a thread inside dlopen()
 * may hold while it runs instrumented constructors that want ours. */
static RP_CYG_NOINST void rp_cyg_rescan(struct rp_cyg_proc *p)
{
	struct rp_cyg_scan s;

	memset(&s, 0, sizeof(s));
	dl_iterate_phdr(rp_cyg_scan_one, &s);
	if (s.nomem) {
		rp_cyg_modules_free(s.mods, s.n);
		return;
	}
	pthread_mutex_lock(&rp_cyg_lock);
	rp_cyg_modules_free(p->mods, p->nmods);
	p->mods = s.mods;
	p->nmods = s.n;
	p->scans++;
	pthread_mutex_unlock(&rp_cyg_lock);
}

/* Formats the name of address a into buf; false when no object holds a. */
static RP_CYG_NOINST bool rp_cyg_format(struct rp_cyg_proc *p, uintptr_t a, char *buf, size_t len)
{
	bool found = false;

	pthread_mutex_lock(&rp_cyg_lock);
	for (size_t i = 0; i < p->nmods; i++) {
		const struct rp_cyg_module *m = &p->mods[i];

		if (a >= m->lo && a < m->hi) {
			snprintf(buf, len, "%s+0x%llx@%s", m->path,
				 (unsigned long long)(a - m->bias), m->build_id);
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&rp_cyg_lock);
	return found;
}

/* Counts a call that is not recorded in the calling thread's ring (the
 * no-slot counter when the thread has none: rp_impl_thread_attach()). */
static RP_CYG_NOINST void rp_cyg_drop(void)
{
	struct rp_impl_thread *t = &rp_impl_self;

	rp_fetch_add_relaxed(&rp_cyg_proc_state.unnamed, (uint64_t)1);
	if (t->ctl == NULL && !rp_impl_thread_attach())
		return;
	/* producer-only counter; pairs with the daemon's acquire of dropped,
	 * as the ring-full drop in ringprof.h */
	rp_store_release(&t->ctl->dropped, rp_load_relaxed(&t->ctl->dropped) + 1);
}

static RP_CYG_NOINST uint32_t rp_cyg_hash(uintptr_t a)
{
	/* Fibonacci hashing: functions are aligned, the high bits mix well */
	return (uint32_t)(((uint64_t)a * 0x9e3779b97f4a7c15ull) >> 40) & (RINGPROF_CYG_SLOTS - 1);
}

/* Slow path: names function a, enters it in the table; its id or
 * RP_CYG_NONAME. */
static RP_CYG_NOINST __attribute__((noinline)) uint32_t rp_cyg_name(uintptr_t a)
{
	struct rp_cyg_proc *p = &rp_cyg_proc_state;
	char buf[RP_STRING_LEN_MAX + 1];
	uint32_t id, i;
	uintptr_t expected;

	if (!rp_cyg_format(p, a, buf, sizeof(buf))) {
		rp_cyg_rescan(p);  /* a dlopen()ed object? */
		if (!rp_cyg_format(p, a, buf, sizeof(buf)))
			snprintf(buf, sizeof(buf), "+0x%llx@", (unsigned long long)a);
	}
	id = rp_intern(buf);
	if (id == 0)
		id = RP_CYG_NONAME;
	for (i = rp_cyg_hash(a);; i = (i + 1) & (RINGPROF_CYG_SLOTS - 1)) {
		struct rp_cyg_slot *s = &rp_cyg_table[i];

		/* pairs with the CAS below in another thread */
		expected = rp_load_acquire(&s->fn);
		if (expected == 0) {
			if (rp_fetch_add_relaxed(&p->used, (uint32_t)1) >= RP_CYG_USABLE) {
				rp_fetch_add_relaxed(&p->used, (uint32_t)-1);
				return RP_CYG_NONAME;
			}
			if (!rp_cas_acq_rel(&s->fn, &expected, a)) {
				rp_fetch_add_relaxed(&p->used, (uint32_t)-1);
				if (expected != a)
					continue;
			}
		} else if (expected != a) {
			continue;
		}
		/* the same string always gets the same id: two threads naming
		 * a at once store the same value */
		rp_store_release(&s->id, id);  /* pairs with the acquire in rp_cyg_id() */
		return id;
	}
}

/* The string id of function fn (RP_CYG_NONAME: drop the call). */
static inline RP_CYG_NOINST uint32_t rp_cyg_id(void *fn)
{
	uintptr_t a = (uintptr_t)fn, k;
	uint32_t i, id;

	for (i = rp_cyg_hash(a);; i = (i + 1) & (RINGPROF_CYG_SLOTS - 1)) {
		/* pairs with the CAS in rp_cyg_name() */
		k = rp_load_acquire(&rp_cyg_table[i].fn);
		if (k == a) {
			/* pairs with the release of id in rp_cyg_name() */
			id = rp_load_acquire(&rp_cyg_table[i].id);
			return id != 0 ? id : rp_cyg_name(a);
		}
		if (k == 0) {
			/* not named yet; with the table full it never will be, so
			 * do not format and intern (a mutex) on every call */
			if (rp_load_relaxed(&rp_cyg_proc_state.used) >= RP_CYG_USABLE)
				return RP_CYG_NONAME;
			return rp_cyg_name(a);
		}
	}
}

/* First call in the process: registers (through rp_kind) and scans the
 * loaded objects.  True when the hooks record. */
static RP_CYG_NOINST __attribute__((noinline)) bool rp_cyg_start(void)
{
	struct rp_cyg_proc *p = &rp_cyg_proc_state;
	uint32_t kind, state;

	pthread_mutex_lock(&rp_cyg_lock);
	state = rp_load_relaxed(&p->state);
	pthread_mutex_unlock(&rp_cyg_lock);
	if (state != RP_CYG_UNKNOWN)
		return state == RP_CYG_ON;
	kind = rp_kind(RINGPROF_CYG_KIND);
	if (kind != 0)
		rp_cyg_rescan(p);
	pthread_mutex_lock(&rp_cyg_lock);
	if (rp_load_relaxed(&p->state) == RP_CYG_UNKNOWN) {
		if (kind != 0)
			pthread_atfork(rp_cyg_atfork_prepare, rp_cyg_atfork_done,
				       rp_cyg_atfork_done);
		p->kind = kind;
		/* pairs with the acquire in the hooks: kind is set before */
		rp_store_release(&p->state, kind != 0 ? (uint32_t)RP_CYG_ON : (uint32_t)RP_CYG_OFF);
	}
	state = rp_load_relaxed(&p->state);
	pthread_mutex_unlock(&rp_cyg_lock);
	return state == RP_CYG_ON;
}

/* One hook: BEGIN or END of fn. */
static inline RP_CYG_NOINST void rp_cyg_hook(void *fn, uint32_t type)
{
	struct rp_cyg_proc *p = &rp_cyg_proc_state;
	uint32_t state, id;

	if (__builtin_expect(rp_cyg_busy, 0)) {
		rp_fetch_add_relaxed(&p->reentered, (uint64_t)1);
		return;
	}
	/* pairs with the release in rp_cyg_start() */
	state = rp_load_acquire(&p->state);
	if (__builtin_expect(state != RP_CYG_ON, 0)) {
		if (state == RP_CYG_OFF)
			return;
		rp_cyg_busy = 1;
		state = rp_cyg_start() ? RP_CYG_ON : RP_CYG_OFF;
		rp_cyg_busy = 0;
		if (state == RP_CYG_OFF)
			return;
	}
	rp_cyg_busy = 1;
	id = rp_cyg_id(fn);
	if (__builtin_expect(id != RP_CYG_NONAME, 1))
		rp_impl_emit(RP_REC_PACK(type, p->kind), id, false, 0);
	else
		rp_cyg_drop();
	rp_cyg_busy = 0;
}

void __cyg_profile_func_enter(void *fn, void *site)
{
	(void)site;
	rp_cyg_hook(fn, RP_REC_BEGIN);
}

void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)site;
	rp_cyg_hook(fn, RP_REC_END);
}

RP_API void rp_cyg_stats(struct rp_cyg_counters *out)
{
	struct rp_cyg_proc *p = &rp_cyg_proc_state;

	memset(out, 0, sizeof(*out));
	out->unnamed = rp_load_relaxed(&p->unnamed);
	out->reentered = rp_load_relaxed(&p->reentered);
	out->functions = rp_load_relaxed(&p->used);
	pthread_mutex_lock(&rp_cyg_lock);
	out->modules = (uint32_t)p->nmods;
	out->scans = p->scans;
	out->enabled = rp_load_relaxed(&p->state) == RP_CYG_ON;
	pthread_mutex_unlock(&rp_cyg_lock);
}

#ifdef __cplusplus
}
#endif

#endif /* RINGPROF_CYG_IMPLEMENTATION */
