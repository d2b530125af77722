/*
 * fuzz_seed.c - the seed corpus of the fuzz targets:
 *   fuzz_seed DIR
 * writes whole segments (raw and zstd, sealed and not) to DIR/reader/ and
 * each of their blocks (header and stored payload) to DIR/codec/.
 */
#include <errno.h>
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segwrite.h"

#define EV(t, k, a, when) { .type = RP_REC_##t, .id = k, .arg = a, .ts = when }

static void seed_write(const char *dir, const char *sub, const char *name, const void *p,
		       size_t len)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, p, len) != (ssize_t)len || close(fd) != 0)
		err(1, "%s", path);
}

static void seed_segment(struct rp_segwrite *w, bool compress, bool sealed)
{
	static const char cmdline[] = "rustc\0main.rs";
	static const struct rp_segenc_string strings[] = {
		{ 1, 5, "Query" }, { 2, 12, "typeck(main)" }, { 3, 13, "QueryCacheHit" },
		{ 4, 12, "ArtifactSize" }, { 5, 6, "main.o" }, { 6, 8, "worker-1" },
	};
	static const struct rp_seg_thread threads[] = {
		{ .thread = 1, .tid = 10, .event = RP_THREAD_START, .ticks = 100 },
		{ .thread = 2, .tid = 11, .slot = 1, .event = RP_THREAD_START, .ticks = 100 },
	};
	static const struct rp_event ev[] = {
		EV(THREAD_NAME, 6, 0, 100), EV(BEGIN, 1, 2, 200), EV(INSTANT, 3, 2, 250),
		{ .type = RP_REC_INTEGER, .id = 4, .arg = 5, .ts = 260, .value = 4096 },
		EV(END, 1, 2, 300), EV(END, 1, 2, 290),
	};
	static const struct rp_seg_clock clock = { .ticks = 280, .mono_ns = 1140, .real_ns = 9000 };
	static const struct rp_seg_loss loss[] = {
		{ .thread = 1, .written = 6 }, { .thread = 0, .client_dropped = 1 },
	};
	struct rp_seg_info in;

	memset(&in, 0, sizeof(in));
	in.pid = 42;
	in.clock_source = RP_CLOCK_TSC;
	in.tick_hz = 1000000000;
	in.clock_ticks = 100;
	in.clock_mono_ns = 1000;
	strcpy(in.name, "rustc");
	strcpy(in.session, "seed");
	if (rp_segwrite_open(w, -1, 1, compress, &in, cmdline, sizeof(cmdline) - 1) < 0 ||
	    rp_segwrite_strings(w, strings, 6) < 0 || rp_segwrite_threads(w, threads, 2) < 0 ||
	    rp_segwrite_events(w, 1, 0, 100, ev, 4) < 0 || rp_segwrite_clock(w, &clock, 1) < 0 ||
	    rp_segwrite_events(w, 1, 4, 260, ev + 4, 1) < 0 ||
	    rp_segwrite_events(w, 2, 0, 100, ev + 5, 1) < 0 || rp_segwrite_loss(w, loss, 2) < 0 ||
	    (sealed && rp_segwrite_seal(w, RP_SEG_END_EXIT, 400) < 0))
		errx(1, "cannot build a seed segment");
}

int main(int argc, char **argv)
{
	static const struct { bool compress, sealed; const char *name; } kinds[] = {
		{ false, true, "raw" }, { true, true, "zstd" }, { true, false, "unsealed" },
	};
	char sub[4096];

	if (argc != 2)
		errx(2, "usage: fuzz_seed DIR");
	for (int i = 0; i < 2; i++) {
		snprintf(sub, sizeof(sub), "%s%s", argv[1], i ? "/codec" : "/reader");
		if ((mkdir(argv[1], 0755) < 0 && errno != EEXIST) ||
		    (mkdir(sub, 0755) < 0 && errno != EEXIST))
			err(1, "%s", sub);
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct rp_segwrite w;
		size_t off = sizeof(struct rp_seg_preamble);
		char name[64];

		seed_segment(&w, kinds[k].compress, kinds[k].sealed);
		seed_write(argv[1], "reader", kinds[k].name, w.out.data, w.out.len);
		for (int b = 0; off + sizeof(struct rp_block_hdr) <= w.out.len; b++) {
			struct rp_block_hdr h;
			size_t len;

			memcpy(&h, w.out.data + off, sizeof(h));
			len = sizeof(h) + h.stored_len;
			if (off + len > w.out.len)
				break;
			snprintf(name, sizeof(name), "%s-%d", kinds[k].name, b);
			seed_write(argv[1], "codec", name, w.out.data + off, len);
			off += len;
		}
		rp_segwrite_close(&w);
	}
	return 0;
}
