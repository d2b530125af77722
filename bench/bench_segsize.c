/*
 * bench_segsize.c - where the bytes of segment files go: for every file
 * given, walks the block headers (ringprof/seg.h) and sums the bytes on
 * disk (24-byte header + stored payload) and the raw bytes per block type,
 * and counts the events of the EVENTS blocks.
 *
 *   bench_segsize FILE...
 *
 * Prints one key=value line: file_bytes, events, and per type
 * <type>_bytes / <type>_raw / <type>_blocks.
 */
#include <inttypes.h>

#include "codec.h"
#include "bench.h"

#define SEGSIZE_TYPES 8

static const char *const segsize_names[SEGSIZE_TYPES] = {
	"unknown", "header", "strings", "threads", "events", "clock", "loss", "footer",
};

int main(int argc, char **argv)
{
	uint64_t bytes[SEGSIZE_TYPES] = { 0 }, raw[SEGSIZE_TYPES] = { 0 };
	uint64_t blocks[SEGSIZE_TYPES] = { 0 }, file_bytes = 0, events = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_segsize FILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		struct rp_seg_preamble pre;
		struct rp_block_hdr h;
		long off;

		if (f == NULL || fread(&pre, sizeof(pre), 1, f) != 1) {
			fprintf(stderr, "bench_segsize: %s: cannot read the preamble\n", argv[i]);
			return 1;
		}
		while (fread(&h, sizeof(h), 1, f) == 1 && rp_block_hdr_check(&h) == 0) {
			unsigned t = h.type < SEGSIZE_TYPES ? h.type : 0;

			bytes[t] += sizeof(h) + h.stored_len;
			raw[t] += h.raw_len;
			blocks[t]++;
			if (t == RP_BLK_EVENTS)
				events += h.count;
			if (fseek(f, (long)h.stored_len, SEEK_CUR) != 0)
				break;
		}
		fseek(f, 0, SEEK_END);
		off = ftell(f);
		file_bytes += off > 0 ? (uint64_t)off : 0;
		fclose(f);
	}
	printf("file_bytes=%" PRIu64 " events=%" PRIu64, file_bytes, events);
	for (unsigned t = 1; t < SEGSIZE_TYPES; t++)
		printf(" %s_bytes=%" PRIu64 " %s_raw=%" PRIu64 " %s_blocks=%" PRIu64, segsize_names[t],
		       bytes[t], segsize_names[t], raw[t], segsize_names[t], blocks[t]);
	printf("\n");
	return 0;
}
