/*
 * bench_base.c - the baselines ringprof is measured against, written the
 * way a compiler would write them itself.
 *
 *   bench_base clock-tsc   [--events N]   rdtsc alone
 *   bench_base clock-mono  [--events N]   clock_gettime(CLOCK_MONOTONIC) alone
 *   bench_base jsonl       [--events N] [--dir D]
 *       each event fprintf'd as one JSON line (ts, kind, arg) into D/base.jsonl
 *   bench_base buffer-tsc  [--events N] [--dir D]
 *   bench_base buffer-mono [--events N] [--dir D]
 *       each event appended as a 16-byte record (ts, kind, arg) to a 1 MiB
 *       thread-local buffer, written to D/base.bin with write(2) when full
 *
 * Files are rewound every BASE_FILE_WRAP bytes so a long run does not fill
 * the disk; the page cache still takes every write.  Events come in the
 * same bursts as bench_hot (--burst, --gap-us).  Prints one key=value line.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <unistd.h>

#include "bench.h"

#define BASE_BUF_BYTES  (1u << 20)
#define BASE_FILE_WRAP  (64u << 20)  /* bytes */

struct base_rec {
	uint64_t ts;
	uint32_t kind;
	uint32_t arg;
};

static _Thread_local unsigned char base_buf[BASE_BUF_BYTES];
static _Thread_local size_t base_used;
static int base_fd = -1;
static uint64_t base_written;  /* bytes since the last rewind */

static inline uint64_t base_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void base_flush(void)
{
	size_t off = 0;

	while (off < base_used) {
		ssize_t n = write(base_fd, base_buf + off, base_used - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("bench_base: write");
			exit(1);
		}
		off += (size_t)n;
	}
	base_written += base_used;
	base_used = 0;
	if (base_written >= BASE_FILE_WRAP) {
		lseek(base_fd, 0, SEEK_SET);
		base_written = 0;
	}
}

static inline void base_append(uint64_t ts, uint32_t kind, uint32_t arg)
{
	struct base_rec r = { ts, kind, arg };

	if (__builtin_expect(base_used + sizeof(r) > BASE_BUF_BYTES, 0))
		base_flush();
	memcpy(base_buf + base_used, &r, sizeof(r));
	base_used += sizeof(r);
}

__attribute__((noinline)) static uint64_t base_loop_tsc(uint64_t n)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < n; i++)
		sum += __builtin_ia32_rdtsc();
	return sum;
}

__attribute__((noinline)) static uint64_t base_loop_mono(uint64_t n)
{
	uint64_t sum = 0;

	for (uint64_t i = 0; i < n; i++)
		sum += base_mono();
	return sum;
}

__attribute__((noinline)) static void base_loop_buffer_tsc(uint32_t kind, uint32_t arg, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		base_append(__builtin_ia32_rdtsc(), kind, arg);
}

__attribute__((noinline)) static void base_loop_buffer_mono(uint32_t kind, uint32_t arg, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		base_append(base_mono(), kind, arg);
}

__attribute__((noinline)) static void base_loop_jsonl(FILE *f, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		fprintf(f, "{\"ts\":%" PRIu64 ",\"kind\":\"%s\",\"arg\":\"%s\"}\n", base_mono(),
			"QueryCacheHit", "typeck(fn_42)");
		if (__builtin_expect(ftell(f) >= BASE_FILE_WRAP, 0))
			rewind(f);
	}
}

static int base_open(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "bench_base: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	uint64_t events = bench_opt(argc, argv, "events", 20000000);
	uint64_t burst = bench_opt(argc, argv, "burst", 16384);
	uint64_t gap_us = bench_opt(argc, argv, "gap-us", 200);
	const char *dir = bench_opt_str(argc, argv, "dir", "/tmp");
	uint64_t bursts, ns = 0, sink = 0;
	FILE *f = NULL;

	if (burst == 0)
		burst = 1;
	bursts = (events + burst - 1) / burst;
	if (strcmp(mode, "clock-tsc") == 0) {
		BENCH_BURSTS(bursts, 1, 0, ns, i, sink += base_loop_tsc(burst));
	} else if (strcmp(mode, "clock-mono") == 0) {
		BENCH_BURSTS(bursts, 1, 0, ns, i, sink += base_loop_mono(burst));
	} else if (strcmp(mode, "buffer-tsc") == 0 || strcmp(mode, "buffer-mono") == 0) {
		bool tsc = strcmp(mode, "buffer-tsc") == 0;

		base_fd = base_open(dir, "base.bin");
		/* one untimed lap: the buffer's pages and the file's first pages */
		tsc ? base_loop_buffer_tsc(7, 3, BASE_BUF_BYTES / 8) :
		      base_loop_buffer_mono(7, 3, BASE_BUF_BYTES / 8);
		if (tsc)
			BENCH_BURSTS(bursts, 1, gap_us, ns, i, base_loop_buffer_tsc(7, 3, burst));
		else
			BENCH_BURSTS(bursts, 1, gap_us, ns, i, base_loop_buffer_mono(7, 3, burst));
		close(base_fd);
	} else if (strcmp(mode, "jsonl") == 0) {
		f = fdopen(base_open(dir, "base.jsonl"), "w");
		if (f == NULL) {
			perror("bench_base: fdopen");
			return 1;
		}
		BENCH_BURSTS(bursts, 1, gap_us, ns, i, base_loop_jsonl(f, burst));
		fclose(f);
	} else {
		fprintf(stderr, "usage: bench_base clock-tsc|clock-mono|jsonl|buffer-tsc|buffer-mono "
			"[--events N] [--burst B] [--gap-us U] [--dir D]\n");
		return 2;
	}
	printf("mode=%s events=%" PRIu64 " ns_per_event=%.3f sink=%" PRIu64 "\n", mode,
	       bursts * burst, (double)ns / (double)(bursts * burst), sink & 1);
	return 0;
}
