/*
 * bench_codec.c - the daemon's per-event encoding work alone, without rings
 * or I/O: how fast the EVENTS payload is encoded and framed (zstd + CRC),
 * and how many bytes an event takes before and after zstd.
 *
 *   bench_codec flood|query [--events N] [--level L] [--block BYTES]
 *
 * flood: QueryCacheHit instants back to back, one every ~10 ns (what
 * bench_hot flood records).  query: Query begin/end pairs over 4096 keys,
 * ~60 ns inside, ~12 ns between (bench_hot query).  Timestamps are TSC
 * ticks at 2.6 GHz with a little jitter, as recorded on this machine.
 * Blocks are cut at --block raw bytes (the daemon's RPD_FLUSH_RAW_BYTES,
 * 256 KiB).  Prints one key=value line.
 */
#include <inttypes.h>

#include "codec.h"
#include "bench.h"

struct codec_gen {
	bool query;
	uint64_t x;        /* xorshift state */
	uint64_t ts;       /* ticks */
	uint64_t n;        /* events generated */
	uint32_t key;
};

static uint64_t codec_rand(struct codec_gen *g)
{
	g->x ^= g->x << 13;
	g->x ^= g->x >> 7;
	g->x ^= g->x << 17;
	return g->x;
}

static void codec_next(struct codec_gen *g, struct rp_event *ev)
{
	uint64_t r = codec_rand(g);

	memset(ev, 0, sizeof(*ev));
	ev->id = 2;
	if (!g->query) {
		ev->type = RP_REC_INSTANT;
		g->ts += 24 + (r & 7);
	} else if (g->n % 2 == 0) {
		ev->type = RP_REC_BEGIN;
		g->key = 3 + (uint32_t)((r >> 8) % 4096);
		g->ts += 28 + (r & 7);
	} else {
		ev->type = RP_REC_END;
		g->ts += 150 + (r & 31);
	}
	ev->arg = g->query ? g->key : 0;
	ev->ts = g->ts;
	g->n++;
}

int main(int argc, char **argv)
{
	const char *stream = argc > 1 ? argv[1] : "";
	uint64_t events = bench_opt(argc, argv, "events", 20000000);
	int level = (int)bench_opt(argc, argv, "level", 3);
	uint64_t block = bench_opt(argc, argv, "block", 256u << 10);
	struct codec_gen g = { .query = strcmp(stream, "query") == 0, .x = 88172645463325252u,
			       .ts = 1000000 };
	struct rp_blockenc *enc;
	struct rp_evenc ev_enc;
	struct rp_buf out = { 0 };
	struct rp_event ev;
	uint64_t enc_ns = 0, frame_ns = 0, raw = 0, stored = 0, blocks = 0, t0;
	ssize_t n;

	if (strcmp(stream, "flood") != 0 && strcmp(stream, "query") != 0) {
		fprintf(stderr, "usage: bench_codec flood|query [--events N] [--level L] [--block BYTES]\n");
		return 2;
	}
	if (rp_blockenc_open(&enc, level) < 0) {
		fprintf(stderr, "bench_codec: zstd level %d refused\n", level);
		return 1;
	}
	memset(&ev_enc, 0, sizeof(ev_enc));
	for (uint64_t done = 0; done < events;) {
		t0 = bench_now_ns();
		if (rp_evenc_begin(&ev_enc, 1, done, g.ts) < 0)
			return 1;
		while (ev_enc.buf.len < block && done < events) {
			codec_next(&g, &ev);
			if (rp_evenc_add(&ev_enc, &ev) < 0)
				return 1;
			done++;
		}
		enc_ns += bench_now_ns() - t0;
		out.len = 0;
		t0 = bench_now_ns();
		n = rp_blockenc_frame(enc, RP_BLK_EVENTS, ev_enc.count, ev_enc.buf.data,
				      ev_enc.buf.len, true, &out);
		frame_ns += bench_now_ns() - t0;
		if (n < 0) {
			fprintf(stderr, "bench_codec: frame: %s\n", strerror((int)-n));
			return 1;
		}
		raw += ev_enc.buf.len;
		stored += (uint64_t)n;
		blocks++;
		rp_evenc_free(&ev_enc);
	}
	printf("stream=%s level=%d events=%" PRIu64 " blocks=%" PRIu64
	       " encode_ns_per_event=%.3f frame_ns_per_event=%.3f raw_bytes_per_event=%.3f"
	       " stored_bytes_per_event=%.4f events_per_s=%.0f\n",
	       g.query ? "query" : "flood", level, events, blocks, (double)enc_ns / (double)events,
	       (double)frame_ns / (double)events, (double)raw / (double)events,
	       (double)stored / (double)events,
	       (double)events * 1e9 / (double)(enc_ns + frame_ns));
	rp_buf_free(&out);
	rp_blockenc_close(enc);
	return 0;
}
