/*
 * dump.c - `ringprof dump`: every item, one line each, strings resolved.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "cli.h"
#include "export.h"

#define DUMP_RECOVER 0x1u

static const char dump_usage[] =
	"usage: ringprof dump [--recover] PATH...\n"
	"\n"
	"Print every item of every segment, one line each: the segment header,\n"
	"strings, thread start/end, events (time in ms since the segment's clock\n"
	"correlation, thread, type, kind, argument, value), clock pairs, loss\n"
	"counters and the footer.  A segment without footer (still being written,\n"
	"or its writer killed) is shown with an 'unsealed' line.  When a thread\n"
	"ends (or the input does) with intervals still open -- what a killed\n"
	"process was doing -- an 'open at end' line lists them, outermost first.\n"
	"\n"
	"  --recover  on a damaged file, print every whole block before the damage,\n"
	"             say where it was cut and go on with the next file (exit 1)\n";

static const char *dump_end_reason(uint32_t r)
{
	static const char *const names[] = { "?", "exit", "rotate", "shutdown", "quarantine" };
	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static void dump_field(const char *label, const char *s, size_t max)
{
	printf("%s ", label);
	cli_print_bytes(stdout, s, strnlen(s, max), true);
}

static void dump_segment(const struct rp_item *it)
{
	const struct rp_seg_info *in = &it->segment.info;

	printf("segment %s  version %u  %" PRIu64 " bytes\n", it->path, it->segment.version,
	       it->segment.file_size);
	printf("  pid %u  ", in->pid);
	dump_field("name", in->name, sizeof(in->name));
	printf("  ");
	dump_field("session", in->session, sizeof(in->session));
	printf("  client %u  seq %u  daemon %" PRIu64 "  flags 0x%x\n", in->client_id,
	       in->segment_seq, in->daemon_pid, in->flags);
	printf("  ");
	dump_field("host", in->host, sizeof(in->host));
	printf("  ");
	dump_field("boot", in->boot_id, sizeof(in->boot_id));
	printf("\n  cmdline");
	for (size_t i = 0, start = 0; i <= in->cmdline_len; i++) {
		if (i == in->cmdline_len || it->segment.cmdline[i] == '\0') {
			if (i > start || i < in->cmdline_len) {
				putchar(' ');
				cli_print_bytes(stdout, it->segment.cmdline + start, i - start, true);
			}
			start = i + 1;
		}
	}
	printf("\n  clock %s  %" PRIu64 " Hz  ticks %" PRIu64 "  mono %" PRIu64 " ns  real %" PRIu64 " ns\n",
	       in->clock_source == RP_CLOCK_TSC ? "tsc" :
	       in->clock_source == RP_CLOCK_MONOTONIC ? "monotonic" : "unknown",
	       in->tick_hz, in->clock_ticks, in->clock_mono_ns, in->clock_real_ns);
}

/* Intervals begun and not yet ended, per thread of a registration, so that
 * what a thread was doing when its recording stopped can be shown. */
struct dump_open {
	char *kind, *arg;        /* copies; arg NULL when none */
	size_t kind_len, arg_len;
};

struct dump_thread {
	uint64_t daemon;
	uint32_t client, thread;
	struct dump_open *stack;
	size_t depth, cap;
};

struct dump_threads {
	struct dump_thread *t;
	size_t n, cap;
	uint64_t daemon;         /* registration of the current segment */
	uint32_t client;
};

static struct dump_thread *dump_thread_get(struct dump_threads *ts, uint32_t thread)
{
	for (size_t i = 0; i < ts->n; i++)
		if (ts->t[i].daemon == ts->daemon && ts->t[i].client == ts->client &&
		    ts->t[i].thread == thread)
			return &ts->t[i];
	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? ts->cap * 2 : 16;
		struct dump_thread *t = reallocarray(ts->t, cap, sizeof(*t));

		if (!t)
			return NULL;
		ts->t = t;
		ts->cap = cap;
	}
	ts->t[ts->n] = (struct dump_thread){ .daemon = ts->daemon, .client = ts->client,
					     .thread = thread };
	return &ts->t[ts->n++];
}

static void dump_open_free(struct dump_open *o)
{
	free(o->kind);
	free(o->arg);
}

/* BEGIN pushes; END removes the innermost open interval of its kind and
 * argument.  0 or -ENOMEM. */
static int dump_track(struct dump_threads *ts, const struct rp_item *it)
{
	struct dump_thread *t;
	struct dump_open o = { 0 };

	if (it->event.type != RP_REC_BEGIN && it->event.type != RP_REC_END)
		return 0;
	if (!(t = dump_thread_get(ts, it->event.thread)))
		return -1;
	if (it->event.type == RP_REC_END) {
		for (size_t i = t->depth; i-- > 0;) {
			struct dump_open *s = &t->stack[i];

			if (s->kind_len == it->event.kind_len &&
			    memcmp(s->kind, it->event.kind, s->kind_len) == 0 &&
			    (s->arg != NULL) == (it->event.arg != NULL) &&
			    (!s->arg || (s->arg_len == it->event.arg_len &&
					 memcmp(s->arg, it->event.arg, s->arg_len) == 0))) {
				dump_open_free(s);
				memmove(s, s + 1, (t->depth - i - 1) * sizeof(*s));
				t->depth--;
				break;
			}
		}
		return 0;
	}
	if (t->depth == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct dump_open *st = reallocarray(t->stack, cap, sizeof(*st));

		if (!st)
			return -1;
		t->stack = st;
		t->cap = cap;
	}
	o.kind_len = it->event.kind_len;
	o.kind = malloc(o.kind_len + 1);
	if (it->event.arg) {
		o.arg_len = it->event.arg_len;
		o.arg = malloc(o.arg_len + 1);
	}
	if (!o.kind || (it->event.arg && !o.arg)) {
		dump_open_free(&o);
		return -1;
	}
	memcpy(o.kind, it->event.kind, o.kind_len);
	if (o.arg)
		memcpy(o.arg, it->event.arg, o.arg_len);
	t->stack[t->depth++] = o;
	return 0;
}

/* "  t<n>  open at end: Query  typeck(main) > QueryBlocked  typeck(main)"
 * when the thread has open intervals; forgets them. */
static void dump_open_print(struct dump_thread *t)
{
	if (t->depth != 0) {
		printf("  t%u  open at end:", t->thread);
		for (size_t i = 0; i < t->depth; i++) {
			printf("%s", i ? " > " : " ");
			cli_print_bytes(stdout, t->stack[i].kind, t->stack[i].kind_len, false);
			if (t->stack[i].arg) {
				printf("  ");
				cli_print_bytes(stdout, t->stack[i].arg, t->stack[i].arg_len, false);
			}
		}
		putchar('\n');
	}
	for (size_t i = 0; i < t->depth; i++)
		dump_open_free(&t->stack[i]);
	t->depth = 0;
}

static void dump_threads_free(struct dump_threads *ts)
{
	for (size_t i = 0; i < ts->n; i++) {
		for (size_t j = 0; j < ts->t[i].depth; j++)
			dump_open_free(&ts->t[i].stack[j]);
		free(ts->t[i].stack);
	}
	free(ts->t);
}

static void dump_event(const struct rp_item *it, uint64_t base_ns)
{
	printf("  ");
	cli_print_ms(stdout, it->event.ns - (int64_t)base_ns);
	printf(" ms  t%u  %s  ", it->event.thread, rp_reader_type_name(it->event.type));
	cli_print_bytes(stdout, it->event.kind, it->event.kind_len, false);
	if (it->event.arg) {
		printf("  ");
		cli_print_bytes(stdout, it->event.arg, it->event.arg_len, false);
	}
	if (it->event.type == RP_REC_INTEGER)
		printf("  = %" PRIu64, it->event.value);
	putchar('\n');
}

int dump_main(int argc, char **argv)
{
	static const struct cli_flag flags[] = { { "--recover", DUMP_RECOVER }, { NULL, 0 } };
	struct rp_reader *r;
	struct rp_item it;
	struct progress prog;
	struct dump_threads open = { 0 };
	struct dump_thread *t;
	uint64_t base_ns = 0;
	unsigned bits;
	int n, ret, status = 0;

	n = cli_parse(argc, argv, flags, &bits, dump_usage);
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_USAGE;
	r = cli_open(argv, n, RP_READER_ALLOW_UNSEALED |
		     (bits & DUMP_RECOVER ? RP_READER_RECOVER : 0));
	if (!r)
		return CLI_EXIT_BAD;
	progress_open(&prog, r, "dump");
	while ((ret = rp_reader_next(r, &it)) == 1) {
		progress_item(&prog, &it);
		switch (it.kind) {
		case RP_ITEM_SEGMENT:
			base_ns = it.segment.info.clock_mono_ns;
			open.daemon = it.segment.info.daemon_pid;
			open.client = it.segment.info.client_id;
			dump_segment(&it);
			break;
		case RP_ITEM_STRING:
			printf("  string %u ", it.string.id);
			cli_print_bytes(stdout, it.string.bytes, it.string.len, true);
			putchar('\n');
			break;
		case RP_ITEM_THREAD:
			printf("  ");
			cli_print_ms(stdout, it.thread.ns - (int64_t)base_ns);
			printf(" ms  t%u  thread %s  tid %u  slot %u\n", it.thread.t.thread,
			       it.thread.t.event == RP_THREAD_START ? "start" :
			       it.thread.t.event == RP_THREAD_END ? "end" : "?",
			       it.thread.t.tid, it.thread.t.slot);
			if (it.thread.t.event == RP_THREAD_END &&
			    (t = dump_thread_get(&open, it.thread.t.thread)) != NULL)
				dump_open_print(t);
			break;
		case RP_ITEM_EVENT:
			dump_event(&it, base_ns);
			if (dump_track(&open, &it) < 0) {
				fprintf(stderr, "ringprof: out of memory\n");
				status = CLI_EXIT_BAD;
				goto out;
			}
			break;
		case RP_ITEM_CLOCK:
			printf("  clock  ticks %" PRIu64 "  mono %" PRIu64 " ns  real %" PRIu64 " ns\n",
			       it.clock.ticks, it.clock.mono_ns, it.clock.real_ns);
			break;
		case RP_ITEM_LOSS:
			printf("  loss  t%u  written %" PRIu64 "  client dropped %" PRIu64
			       "  daemon dropped %" PRIu64 "\n", it.loss.thread, it.loss.written,
			       it.loss.client_dropped, it.loss.daemon_dropped);
			break;
		case RP_ITEM_FOOTER:
			printf("  footer  %s  blocks %" PRIu64 "  events %" PRIu64 "  raw %" PRIu64
			       " bytes  threads %u  end ticks %" PRIu64 "\n",
			       dump_end_reason(it.footer.footer.end_reason), it.footer.footer.blocks,
			       it.footer.footer.events, it.footer.footer.raw_bytes,
			       it.footer.footer.threads, it.footer.footer.end_ticks);
			break;
		case RP_ITEM_TRUNCATED:
			if (it.truncated.unsealed) {
				printf("  unsealed  %" PRIu64 " whole blocks, no footer\n",
				       it.truncated.blocks);
			} else {
				printf("  cut  %s; %" PRIu64 " whole blocks readable, cut at offset %" PRIu64 "\n",
				       it.truncated.message, it.truncated.blocks, it.truncated.offset);
				status = CLI_EXIT_BAD;
			}
			break;
		}
	}
	/* threads whose end was never recorded (a cut or unsealed file) */
	for (size_t i = 0; i < open.n; i++) {
		if (open.t[i].depth != 0) {
			printf("client %u", open.t[i].client);
			dump_open_print(&open.t[i]);
		}
	}
out:
	progress_close(&prog);
	if (ret < 0) {
		fflush(stdout);
		fprintf(stderr, "ringprof: %s\n", rp_reader_error(r));
		status = CLI_EXIT_BAD;
	}
	dump_threads_free(&open);
	rp_reader_close(r);
	return status;
}
