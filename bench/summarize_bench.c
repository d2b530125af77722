/*
 * summarize_bench.c - throughput and memory of `ringprof summarize` as the
 * trace grows.
 *
 *   summarize_bench [--smoke] [--sizes N1,N2...] [--ringprof PATH] [--keep DIR]
 *
 * For each size N (events; default 5000000 and 50000000, --smoke 200000
 * and 2000000) it writes a trace of N events to a temporary directory with
 * the segment writer of tools/lib (zstd level 1, as ringprofd writes them):
 * 4 threads of one process doing nested queries (Query > QueryBlocked or
 * IncrementalLoadResult, 1 in 8 a cache hit) over 1024 keys, a segment per
 * 8 M events, a block per 65536 events.  Then it runs `ringprof summarize`
 * on it in a child and prints the events per second (wall time) and the
 * child's peak RSS (getrusage RUSAGE_CHILDREN ru_maxrss of a fresh fork),
 * which should not grow with N: summarize streams.
 */
#include <errno.h>
#include <err.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "segwrite.h"

#define BENCH_THREADS     4u
#define BENCH_KEYS        1024u
#define BENCH_SEG_EVENTS  (8u << 20)   /* events per segment */
#define BENCH_BLOCK       65536u       /* events per EVENTS block */

/* strings: 1..4 kinds, then BENCH_KEYS keys "q<n>(key<m>)" */
enum { S_QUERY = 1, S_BLOCKED, S_LOAD, S_HIT, S_KEY0 };

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct bench_gen {
	struct rp_segwrite w;
	struct rp_segenc_string *strings;
	char (*text)[32];
	size_t nstrings;
	uint64_t ticks[BENCH_THREADS + 1], index[BENCH_THREADS + 1];
	uint64_t rng;
	int seq;
};

static uint32_t bench_rand(struct bench_gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return (uint32_t)g->rng;
}

static void bench_segment_open(struct bench_gen *g, const char *dir)
{
	static const char cmdline[] = "rustc\0--crate-name\0bench";
	struct rp_seg_info in;
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/rustc-%04d.rpseg", dir, g->seq);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		err(1, "%s", path);
	memset(&in, 0, sizeof(in));
	in.pid = 4242;
	in.clock_source = RP_CLOCK_MONOTONIC;
	in.tick_hz = 1000000000;
	in.clock_ticks = 0;
	in.clock_mono_ns = 0;
	in.client_id = 1;
	in.segment_seq = (uint32_t)g->seq++;
	strcpy(in.name, "rustc");
	strcpy(in.session, "bench");
	if (rp_segwrite_open(&g->w, fd, 1, true, &in, cmdline, sizeof(cmdline) - 1) < 0 ||
	    rp_segwrite_strings(&g->w, g->strings, g->nstrings) < 0 ||
	    rp_segwrite_flush(&g->w) < 0)
		errx(1, "cannot start %s", path);
}

static void bench_segment_close(struct bench_gen *g)
{
	int fd = g->w.fd;

	if (rp_segwrite_seal(&g->w, RP_SEG_END_ROTATE, g->ticks[1]) < 0 ||
	    rp_segwrite_flush(&g->w) < 0)
		errx(1, "cannot seal a segment");
	rp_segwrite_close(&g->w);
	close(fd);
}

/* One block of about BENCH_BLOCK events of thread t: whole query trees so
 * that every interval closes in its block. */
static size_t bench_block(struct bench_gen *g, uint32_t t, struct rp_event *ev, size_t max)
{
	size_t n = 0;
	uint64_t ts = g->ticks[t];

	while (n + 6 <= max) {
		uint32_t r = bench_rand(g), key = S_KEY0 + r % BENCH_KEYS;

		if ((r >> 12) % 8 == 0) {
			ev[n++] = (struct rp_event){ .type = RP_REC_INSTANT, .id = S_HIT, .arg = key,
						     .ts = ts += 40 };
			continue;
		}
		ev[n++] = (struct rp_event){ .type = RP_REC_BEGIN, .id = S_QUERY, .arg = key,
					     .ts = ts += 100 + r % 512 };
		if ((r >> 16) % 4 == 0) {
			uint32_t inner = (r >> 20) % 2 ? S_BLOCKED : S_LOAD;
			uint32_t k2 = S_KEY0 + (r >> 8) % BENCH_KEYS;

			ev[n++] = (struct rp_event){ .type = RP_REC_BEGIN, .id = inner, .arg = k2,
						     .ts = ts += 50 };
			ev[n++] = (struct rp_event){ .type = RP_REC_END, .id = inner, .arg = k2,
						     .ts = ts += 200 + (r >> 4) % 256 };
		}
		ev[n++] = (struct rp_event){ .type = RP_REC_END, .id = S_QUERY, .arg = key,
					     .ts = ts += 30 + (r >> 24) };
	}
	g->ticks[t] = ts;
	return n;
}

/* Write a trace of about events events into dir; how many it wrote. */
static uint64_t bench_generate(const char *dir, uint64_t events)
{
	static const char *const kinds[] = {
		"Query", "QueryBlocked", "IncrementalLoadResult", "QueryCacheHit",
	};
	struct bench_gen g = { .rng = 0x9e3779b97f4a7c15u };
	struct rp_event *ev = calloc(BENCH_BLOCK, sizeof(*ev));
	uint64_t done = 0, in_seg = 0;

	g.nstrings = 4 + BENCH_KEYS;
	g.strings = calloc(g.nstrings, sizeof(*g.strings));
	g.text = calloc(BENCH_KEYS, sizeof(*g.text));
	if (!ev || !g.strings || !g.text)
		errx(1, "out of memory");
	for (uint32_t i = 0; i < 4; i++)
		g.strings[i] = (struct rp_segenc_string){ i + 1, (uint32_t)strlen(kinds[i]), kinds[i] };
	for (uint32_t i = 0; i < BENCH_KEYS; i++) {
		int len = snprintf(g.text[i], sizeof(g.text[i]), "q%u(key%u)", i % 97, i);

		g.strings[4 + i] = (struct rp_segenc_string){ S_KEY0 + i, (uint32_t)len, g.text[i] };
	}
	bench_segment_open(&g, dir);
	while (done < events) {
		for (uint32_t t = 1; t <= BENCH_THREADS && done < events; t++) {
			size_t want = events - done < BENCH_BLOCK ? (size_t)(events - done) : BENCH_BLOCK;
			size_t n = bench_block(&g, t, ev, want < 6 ? 6 : want);
			uint64_t first = g.ticks[t];

			/* the block starts where the previous one of t ended */
			first = n ? ev[0].ts : first;
			if (rp_segwrite_events(&g.w, t, g.index[t], first, ev, n) < 0 ||
			    rp_segwrite_flush(&g.w) < 0)
				errx(1, "cannot write events");
			g.index[t] += n;
			done += n;
			in_seg += n;
		}
		if (in_seg >= BENCH_SEG_EVENTS && done < events) {
			bench_segment_close(&g);
			bench_segment_open(&g, dir);
			in_seg = 0;
		}
	}
	bench_segment_close(&g);
	free(ev);
	free(g.strings);
	free(g.text);
	return done;
}

static int bench_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Run ringprof summarize on dir; wall seconds and peak RSS (KiB). */
static void bench_summarize(const char *ringprof, const char *dir, double *secs, long *rss_kib)
{
	struct rusage ru;
	double t0 = bench_now();
	int st;
	pid_t pid = fork();

	if (pid < 0)
		err(1, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null < 0 || dup2(null, 1) < 0)
			_exit(127);
		execl(ringprof, ringprof, "summarize", dir, (char *)NULL);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) != pid)
		err(1, "wait4");
	*secs = bench_now() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		errx(1, "%s summarize %s failed (status 0x%x)", ringprof, dir, st);
	*rss_kib = ru.ru_maxrss;
}

static uint64_t bench_du(const char *dir)
{
	char cmd[4200];
	FILE *p;
	uint64_t bytes = 0;

	snprintf(cmd, sizeof(cmd), "du -sb '%s'", dir);
	p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%" SCNu64, &bytes) != 1)
			bytes = 0;
		pclose(p);
	}
	return bytes;
}

int main(int argc, char **argv)
{
	const char *sizes = "5000000,50000000", *ringprof = RINGPROF_BUILD_DIR "/tools/cli/ringprof";
	const char *keep = NULL;
	char *list;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--smoke") == 0)
			sizes = "200000,2000000";
		else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc)
			sizes = argv[++i];
		else if (strcmp(argv[i], "--ringprof") == 0 && i + 1 < argc)
			ringprof = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc)
			keep = argv[++i];
		else
			errx(2, "usage: summarize_bench [--smoke] [--sizes N1,N2...] [--ringprof PATH]"
			     " [--keep DIR]");
	}
	printf("%-12s %10s %12s %10s %14s %12s\n", "events", "gen s", "MiB on disk", "summ. s",
	       "events/s", "peak RSS KiB");
	list = strdup(sizes);
	for (char *s = list, *tok; (tok = strsep(&s, ",")) != NULL;) {
		uint64_t n = strtoull(tok, NULL, 10);
		char tmpl[] = "/tmp/ringprof-bench.XXXXXX";
		char *dir = keep ? (char *)keep : mkdtemp(tmpl);
		double t0, gen, secs;
		long rss;

		if (!dir || (keep && mkdir(keep, 0755) < 0 && errno != EEXIST))
			err(1, "temporary directory");
		t0 = bench_now();
		n = bench_generate(dir, n);
		gen = bench_now() - t0;
		bench_summarize(ringprof, dir, &secs, &rss);
		printf("%-12" PRIu64 " %10.2f %12.1f %10.2f %14.0f %12ld\n", n, gen,
		       (double)bench_du(dir) / 1048576.0, secs, (double)n / secs, rss);
		fflush(stdout);
		if (!keep)
			nftw(dir, bench_rm, 16, FTW_DEPTH | FTW_PHYS);
	}
	free(list);
	return 0;
}
