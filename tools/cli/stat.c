/*
 * stat.c - `ringprof stat`: how big a recording is and what it holds.
 *
 * Counts come from the items the reader delivers: segments, blocks (from
 * the footer of a sealed segment, else from the TRUNCATED item that ends
 * it), events, processes and threads (told apart as summarize does), the
 * latest cumulative loss counters of each thread, and the span of the
 * events.  Raw bytes (block payloads before compression) are only known
 * from footers, so they and the compression ratio cover sealed segments.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "export.h"

#define STAT_JSON    0x1u
#define STAT_RECOVER 0x2u

static const char stat_usage[] =
	"usage: ringprof stat [--json] [--recover] PATH...\n"
	"\n"
	"Print what the segments hold and what they cost: segments (sealed,\n"
	"unsealed, damaged), processes, threads, events, blocks, bytes on disk and\n"
	"per event, raw bytes (block payloads before compression, from the footers\n"
	"of sealed segments) and the compression ratio (those raw bytes over the\n"
	"bytes on disk of the same segments), events dropped (by clients: ring\n"
	"full; by the daemon), and the time span from the first to the last event\n"
	"(thread names aside), in milliseconds.\n"
	"\n"
	"  --json     print one JSON object instead (times in ns)\n"
	"  --recover  read every whole block of a damaged file instead of stopping\n";

struct stat_thread {
	uint32_t thread;
	bool counted;               /* had an event or a THREADS item */
	struct rp_seg_loss loss;    /* latest cumulative counters */
};

struct stat_sum {
	struct nest nest;           /* processes and threads only */
	struct stat_thread *th;     /* parallel to nest.threads */
	size_t thcap;
	uint64_t segments, sealed, unsealed, damaged;
	uint64_t blocks, events, bytes, raw_bytes, sealed_bytes;
	uint64_t client_dropped, daemon_dropped, threads;
	int64_t first_ns, last_ns;
	bool has_span;
};

static struct stat_thread *stat_thread(struct stat_sum *s, uint32_t thread)
{
	struct nest_thread *t = nest_thread_get(&s->nest, thread);
	size_t i;

	if (!t)
		return NULL;
	i = (size_t)(t - s->nest.threads);
	if (i >= s->thcap) {
		size_t cap = s->nest.tcap;
		struct stat_thread *th = realloc(s->th, cap * sizeof(*th));

		if (!th)
			return NULL;
		memset(th + s->thcap, 0, (cap - s->thcap) * sizeof(*th));
		s->th = th;
		s->thcap = cap;
	}
	s->th[i].thread = thread;
	return &s->th[i];
}

static int stat_item(struct stat_sum *s, const struct rp_item *it)
{
	struct stat_thread *t;

	switch (it->kind) {
	case RP_ITEM_SEGMENT:
		s->segments++;
		s->bytes += it->segment.file_size;
		return nest_segment(&s->nest, it) < 0 ? -ENOMEM : 0;
	case RP_ITEM_THREAD:
		t = stat_thread(s, it->thread.t.thread);
		if (!t)
			return -ENOMEM;
		t->counted = true;
		return 0;
	case RP_ITEM_EVENT:
		s->events++;
		t = stat_thread(s, it->event.thread);
		if (!t)
			return -ENOMEM;
		t->counted = true;
		if (it->event.type == RP_REC_THREAD_NAME)
			return 0;
		if (!s->has_span || it->event.ns < s->first_ns)
			s->first_ns = it->event.ns;
		if (!s->has_span || it->event.ns > s->last_ns)
			s->last_ns = it->event.ns;
		s->has_span = true;
		return 0;
	case RP_ITEM_LOSS:
		t = stat_thread(s, it->loss.thread);
		if (!t)
			return -ENOMEM;
		t->loss = it->loss;
		return 0;
	case RP_ITEM_FOOTER:
		s->sealed++;
		s->blocks += it->footer.footer.blocks + 1;  /* and the FOOTER */
		s->raw_bytes += it->footer.footer.raw_bytes;
		s->sealed_bytes += it->footer.file_size;
		return 0;
	case RP_ITEM_TRUNCATED:
		s->blocks += it->truncated.blocks;
		if (it->truncated.unsealed) {
			s->unsealed++;
			return 0;
		}
		s->damaged++;
		/* a file refused at its preamble has no SEGMENT item */
		if (it->truncated.blocks == 0) {
			s->segments++;
			s->bytes += it->truncated.file_size;
		}
		fprintf(stderr, "ringprof: %s; %" PRIu64 " whole blocks read\n",
			it->truncated.message, it->truncated.blocks);
		return 0;
	default:
		return 0;
	}
}

static void stat_finish(struct stat_sum *s)
{
	for (size_t i = 0; i < s->nest.nthreads && i < s->thcap; i++) {
		s->client_dropped += s->th[i].loss.client_dropped;
		s->daemon_dropped += s->th[i].loss.daemon_dropped;
		if (s->th[i].counted && s->th[i].thread != 0)
			s->threads++;
	}
}

/* a / b with 2 decimals, rounded half up, into buf; "-" (text) or "null"
 * (JSON) when b is 0. */
static const char *stat_ratio(char *buf, size_t len, uint64_t a, uint64_t b, bool json)
{
	unsigned __int128 h;

	if (!b)
		return json ? "null" : "-";
	h = ((unsigned __int128)a * 100 + b / 2) / b;
	snprintf(buf, len, "%" PRIu64 ".%02u", (uint64_t)(h / 100), (unsigned)(h % 100));
	return buf;
}

static void stat_print(const struct stat_sum *s, bool json)
{
	uint64_t span = s->has_span ? (uint64_t)s->last_ns - (uint64_t)s->first_ns : 0;
	char pbuf[48], rbuf[48];

	const char *per = stat_ratio(pbuf, sizeof(pbuf), s->bytes, s->events, json);
	const char *ratio = stat_ratio(rbuf, sizeof(rbuf), s->raw_bytes, s->sealed_bytes, json);

	if (json) {
		printf("{\"segments\":%" PRIu64 ",\"sealed\":%" PRIu64 ",\"unsealed\":%" PRIu64
		       ",\"damaged\":%" PRIu64 ",\"processes\":%zu,\"threads\":%" PRIu64
		       ",\"events\":%" PRIu64 ",\"blocks\":%" PRIu64 ",\"bytes\":%" PRIu64
		       ",\"bytes_per_event\":%s,\"raw_bytes\":%" PRIu64
		       ",\"sealed_bytes\":%" PRIu64 ",\"compression_ratio\":%s"
		       ",\"dropped\":{\"client\":%" PRIu64 ",\"daemon\":%" PRIu64 "}",
		       s->segments, s->sealed, s->unsealed, s->damaged, s->nest.nprocs, s->threads,
		       s->events, s->blocks, s->bytes, per, s->raw_bytes, s->sealed_bytes, ratio,
		       s->client_dropped, s->daemon_dropped);
		if (s->has_span)
			printf(",\"first_ns\":%" PRId64 ",\"last_ns\":%" PRId64 ",\"span_ns\":%" PRIu64
			       "}\n", s->first_ns, s->last_ns, span);
		else
			printf(",\"first_ns\":null,\"last_ns\":null,\"span_ns\":0}\n");
		return;
	}
	printf("segments:          %" PRIu64 " (%" PRIu64 " sealed, %" PRIu64 " unsealed, %" PRIu64
	       " damaged)\n", s->segments, s->sealed, s->unsealed, s->damaged);
	printf("processes:         %zu\n", s->nest.nprocs);
	printf("threads:           %" PRIu64 "\n", s->threads);
	printf("events:            %" PRIu64 "\n", s->events);
	printf("blocks:            %" PRIu64 "\n", s->blocks);
	printf("bytes on disk:     %" PRIu64 "\n", s->bytes);
	printf("bytes per event:   %s\n", per);
	printf("raw bytes:         %" PRIu64 " (in %" PRIu64 " sealed segments of %" PRIu64
	       " bytes)\n", s->raw_bytes, s->sealed, s->sealed_bytes);
	printf("compression ratio: %s\n", ratio);
	printf("dropped:           %" PRIu64 " (%" PRIu64 " by clients, %" PRIu64
	       " by the daemon)\n", s->client_dropped + s->daemon_dropped, s->client_dropped,
	       s->daemon_dropped);
	printf("time span:         ");
	cli_print_ms(stdout, (int64_t)span);
	printf(" ms (first to last event)\n");
}

int stat_main(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "--json", STAT_JSON }, { "--recover", STAT_RECOVER }, { NULL, 0 }
	};
	struct stat_sum s = { 0 };
	struct progress prog;
	struct rp_reader *r;
	struct rp_item it;
	unsigned bits;
	int n, ret, status = 0;

	n = cli_parse(argc, argv, flags, &bits, stat_usage);
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_USAGE;
	r = cli_open(argv, n, RP_READER_ALLOW_UNSEALED |
		     (bits & STAT_RECOVER ? RP_READER_RECOVER : 0));
	if (!r)
		return CLI_EXIT_BAD;
	progress_open(&prog, r, "stat");
	while ((ret = rp_reader_next(r, &it)) == 1) {
		progress_item(&prog, &it);
		ret = stat_item(&s, &it);
		if (ret < 0) {
			progress_close(&prog);
			fprintf(stderr, "ringprof: out of memory\n");
			status = CLI_EXIT_BAD;
			goto out;
		}
	}
	progress_close(&prog);
	if (ret < 0) {
		fprintf(stderr, "ringprof: %s\n", rp_reader_error(r));
		status = CLI_EXIT_BAD;
		goto out;
	}
	if (s.damaged)
		status = CLI_EXIT_BAD;
	stat_finish(&s);
	stat_print(&s, bits & STAT_JSON);
out:
	rp_reader_close(r);
	nest_free(&s.nest);
	free(s.th);
	return status;
}
