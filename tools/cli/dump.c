/*
 * dump.c - `ringprof dump`: every item, one line each, strings resolved.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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
	"or its writer killed) is shown with an 'unsealed' line.\n"
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
			break;
		case RP_ITEM_EVENT:
			dump_event(&it, base_ns);
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
	progress_close(&prog);
	if (ret < 0) {
		fflush(stdout);
		fprintf(stderr, "ringprof: %s\n", rp_reader_error(r));
		status = CLI_EXIT_BAD;
	}
	rp_reader_close(r);
	return status;
}
