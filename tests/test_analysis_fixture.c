/*
 * test_analysis_fixture.c - two fixed "builds" for test_analysis, written
 * with the segment writer of tools/lib (segwrite.h).  Times are in µs from
 * the clock correlation; every number the tests expect follows from the
 * event lists below.
 *
 * base/  alpha.rpseg  rustc pid 100 "rustc --crate-name alpha src/alpha.rs"
 *                     t1: analysis > typeck(f) > { type_of(f), hit type_of(f),
 *                         typeck(g) > hashing typeck(g), load mir_built(f),
 *                         hashing typeck(f) }, ArtifactSize alpha.o
 *                     t2: type_of(g) > blocked typeck(f); hit typeck(f)
 *        beta.rpseg   rustc pid 101 "rustc --crate-name beta src/beta.rs"
 * new/   alpha-0.rpseg, alpha-1.rpseg  alpha again (pid 200) 500 µs slower in
 *                     typeck(f) and in the block on it, rotated after the
 *                     first 8 events of t1 into a second segment whose
 *                     strings have other ids
 *        beta.rpseg   beta (pid 201) with another command line
 *        cc1.rpseg    cc1 pid 300, only in new: a GenericActivity without
 *                     argument
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "test_analysis_fixture.h"
#include "test_cli_fixture.h"

#define US(t) FIX_TICKS((uint64_t)(t) * 1000)

struct fx_ev {
	uint32_t thread;
	uint8_t type;
	const char *kind, *arg;
	uint64_t us, value;
};

#define B(t, k, a, us) { t, RP_REC_BEGIN, k, a, us, 0 }
#define E(t, k, a, us) { t, RP_REC_END, k, a, us, 0 }
#define I(t, k, a, us) { t, RP_REC_INSTANT, k, a, us, 0 }
#define N(t, k, a, us, v) { t, RP_REC_INTEGER, k, a, us, v }

/* Strings of a segment: every kind and argument of its events, ids in
 * order of first use, or reversed. */
struct fx_strings {
	const char *s[32];
	size_t n;
};

static uint32_t fx_id(struct fx_strings *st, const char *s, bool add)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->s[i], s) == 0)
			return (uint32_t)i + 1;
	cr_assert(add, "string %s", s);
	cr_assert_lt(st->n, 32);
	st->s[st->n++] = s;
	return (uint32_t)st->n;
}

/* Write one segment of the events ev[0..n) to path. next_index counts the
 * events per thread (threads 1 and 2) across the segments of a process. */
static void fx_segment(const char *path, uint32_t pid, const char *name, const char *cmdline,
		       size_t cmdlen, uint32_t seq, const struct fx_ev *ev, size_t n,
		       bool reverse_ids, uint64_t *next_index, uint64_t end_us)
{
	struct fx_strings st = { .n = 0 };
	struct rp_segenc_string strings[32];
	struct rp_event out[64];
	struct rp_seg_info in;
	struct rp_segwrite w;

	for (size_t i = 0; i < n; i++) {
		fx_id(&st, ev[i].kind, true);
		fx_id(&st, ev[i].arg, true);
	}
	if (reverse_ids) {
		for (size_t i = 0; i < st.n / 2; i++) {
			const char *t = st.s[i];
			st.s[i] = st.s[st.n - 1 - i];
			st.s[st.n - 1 - i] = t;
		}
	}
	for (size_t i = 0; i < st.n; i++)
		strings[i] = (struct rp_segenc_string){ (uint32_t)i + 1, (uint32_t)strlen(st.s[i]),
							st.s[i] };
	memset(&in, 0, sizeof(in));
	in.pid = pid;
	in.clock_source = RP_CLOCK_TSC;
	in.tick_hz = FIX_HZ;
	in.clock_ticks = FIX_TICKS0;
	in.clock_mono_ns = FIX_MONO0;
	in.clock_real_ns = UINT64_C(1700000000000000000);
	in.client_id = pid - 90;
	in.segment_seq = seq;
	in.daemon_pid = 99;
	strcpy(in.boot_id, "0b7e6f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
	strcpy(in.host, "buildhost");
	strcpy(in.name, name);
	strcpy(in.session, "build");
	cr_assert_eq(rp_segwrite_open(&w, -1, 3, true, &in, cmdline, (uint32_t)cmdlen), 0);
	cr_assert_eq(rp_segwrite_strings(&w, strings, st.n), 0);
	for (uint32_t t = 1; t <= 2; t++) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			if (ev[i].thread != t)
				continue;
			out[k++] = (struct rp_event){
				.type = ev[i].type,
				.id = fx_id(&st, ev[i].kind, false),
				.arg = fx_id(&st, ev[i].arg, false),
				.ts = US(ev[i].us),
				.value = ev[i].value,
			};
		}
		if (!k)
			continue;
		cr_assert_eq(rp_segwrite_events(&w, t, next_index[t], out[0].ts, out, k), 0);
		next_index[t] += k;
	}
	cr_assert_eq(rp_segwrite_seal(&w, RP_SEG_END_EXIT, US(end_us)), 0);
	fix_write_file(path, w.out.data, w.out.len);
	rp_segwrite_close(&w);
}

static const char q[] = "Query", ga[] = "GenericActivity", hit[] = "QueryCacheHit",
		  blk[] = "QueryBlocked", load[] = "IncrementalLoadResult",
		  hash[] = "IncrementalResultHashing", art[] = "ArtifactSize";

/* alpha, slower by d µs in typeck(f) and in the block on it. */
static void fx_alpha(const char *path0, const char *path1, uint32_t pid, uint64_t d)
{
	static const char cmd[] = "rustc\0--crate-name\0alpha\0src/alpha.rs";
	const struct fx_ev ev[] = {
		B(1, ga, "analysis", 0),
		B(1, q, "typeck(f)", 100),
		B(1, q, "type_of(f)", 200),
		E(1, q, "type_of(f)", 300),
		I(1, hit, "type_of(f)", 350),
		B(1, q, "typeck(g)", 400),
		B(1, hash, "typeck(g)", 600),
		E(1, hash, "typeck(g)", 650),
		E(1, q, "typeck(g)", 700),
		B(1, load, "mir_built(f)", 750),
		E(1, load, "mir_built(f)", 850),
		B(1, hash, "typeck(f)", 900),
		E(1, hash, "typeck(f)", 1000),
		E(1, q, "typeck(f)", 1100 + d),
		N(1, art, "alpha.o", 1150 + d, 4096),
		E(1, ga, "analysis", 1200 + d),
		B(2, q, "type_of(g)", 300),
		B(2, blk, "typeck(f)", 400),
		E(2, blk, "typeck(f)", 1100 + d),
		E(2, q, "type_of(g)", 1200 + d),
		I(2, hit, "typeck(f)", 1250 + d),
	};
	uint64_t next[3] = { 0, 0, 0 };
	size_t n = sizeof(ev) / sizeof(ev[0]);

	if (!path1) {
		fx_segment(path0, pid, "rustc", cmd, sizeof(cmd) - 1, 0, ev, n, false, next, 1300 + d);
		return;
	}
	/* rotated after t1's first 8 events: typeck(f) and analysis stay open */
	fx_segment(path0, pid, "rustc", cmd, sizeof(cmd) - 1, 0, ev, 8, false, next, 650);
	fx_segment(path1, pid, "rustc", cmd, sizeof(cmd) - 1, 1, ev + 8, n - 8, true, next,
		   1300 + d);
}

static void fx_beta(const char *path, uint32_t pid, const char *cmd, size_t len)
{
	const struct fx_ev ev[] = {
		I(1, "Note", "beta-start", 0),
		B(1, ga, "analysis", 0),
		B(1, q, "typeck(b)", 100),
		E(1, q, "typeck(b)", 600),
		E(1, ga, "analysis", 1000),
		N(1, art, "beta.o", 1000, 2048),
	};
	uint64_t next[3] = { 0, 0, 0 };

	fx_segment(path, pid, "rustc", cmd, len, 0, ev, sizeof(ev) / sizeof(ev[0]), false, next,
		   1000);
}

void afx_builds(void)
{
	static const char beta[] = "rustc\0--crate-name\0beta\0src/beta.rs";
	static const char beta2[] = "rustc\0--crate-name\0beta\0--out-dir\0/tmp/x\0src/beta.rs";
	static const char cc1[] = "cc1\0foo.c";
	const struct fx_ev ev[] = {
		B(1, ga, NULL, 0),
		E(1, ga, NULL, 300),
	};
	uint64_t next[3] = { 0, 0, 0 };

	cr_assert_eq(mkdir("base", 0755), 0);
	cr_assert_eq(mkdir("new", 0755), 0);
	fx_alpha("base/alpha.rpseg", NULL, 100, 0);
	fx_beta("base/beta.rpseg", 101, beta, sizeof(beta) - 1);
	fx_alpha("new/alpha-0.rpseg", "new/alpha-1.rpseg", 200, 500);
	fx_beta("new/beta.rpseg", 201, beta2, sizeof(beta2) - 1);
	fx_segment("new/cc1.rpseg", 300, "cc1", cc1, sizeof(cc1) - 1, 0, ev, 2, false, next, 300);
}

void afx_unbalanced(const char *path)
{
	const struct fx_ev ev[] = {
		E(1, q, "c", 50),           /* no BEGIN */
		B(1, q, "a", 100),          /* a: 100..500 */
		B(1, q, "b", 200),          /* b: 200..600, overlaps a's end */
		E(1, q, "a", 500),          /* closes a out of order */
		E(1, q, "b", 600),
		B(1, q, "open", 700),       /* never closed */
	};
	uint64_t next[3] = { 0, 0, 0 };

	fx_segment(path, 77, "cc1", "cc1", 3, 0, ev, sizeof(ev) / sizeof(ev[0]), false, next, 800);
}
