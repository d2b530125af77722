/*
 * verify.c - `ringprof verify`: check every block of every file.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "cli.h"

#define VERIFY_ALLOW_UNSEALED 0x1u

static const char verify_usage[] =
	"usage: ringprof verify [--allow-unsealed] PATH...\n"
	"\n"
	"Check every block of every segment file: block framing, CRC32C,\n"
	"decompression, payload layout, that every string an event uses is\n"
	"defined in its segment, that the events of each thread come in order\n"
	"(index rising by one, time never going back) and that a sealed file\n"
	"has a valid footer and trailer.  Prints one line per file: OK with its\n"
	"blocks and events, or the first problem with its offset; for a damaged\n"
	"tail, how many whole blocks are readable and where the file was cut.\n"
	"Exit status 0 only if every file is OK.\n"
	"\n"
	"  --allow-unsealed  a file that ends after a whole block without footer\n"
	"                    (still being written) is OK\n";

/* Per thread of the current file: what its next event must follow. */
struct verify_thread {
	uint32_t thread;
	uint64_t next_index;
	uint64_t last_ticks;
};

struct verify_file {
	struct verify_thread *t;
	size_t n, cap, last;
	char problem[600];       /* first problem found, "" if none */
};

static struct verify_thread *verify_thread_get(struct verify_file *f, uint32_t thread,
					       bool *fresh)
{
	*fresh = false;
	if (f->last < f->n && f->t[f->last].thread == thread)
		return &f->t[f->last];
	for (size_t i = 0; i < f->n; i++) {
		if (f->t[i].thread == thread) {
			f->last = i;
			return &f->t[i];
		}
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct verify_thread *t = reallocarray(f->t, cap, sizeof(*t));
		if (!t)
			return NULL;
		f->t = t;
		f->cap = cap;
	}
	*fresh = true;
	f->last = f->n;
	f->t[f->n].thread = thread;
	return &f->t[f->n++];
}

/* Check one event against its thread's previous one; 0 or -ENOMEM. */
static int verify_event(struct verify_file *f, const struct rp_item *it)
{
	bool fresh;
	struct verify_thread *t = verify_thread_get(f, it->event.thread, &fresh);

	if (!t)
		return -1;
	if (f->problem[0])
		return 0;
	if (it->event.undefined) {
		snprintf(f->problem, sizeof(f->problem),
			 "%s: offset %" PRIu64 ": event uses undefined string %u", it->path,
			 it->offset, it->event.undefined & RP_EVENT_KIND_UNDEFINED ?
			 it->event.kind_id : it->event.arg_id);
	} else if (!fresh && it->event.index != t->next_index) {
		snprintf(f->problem, sizeof(f->problem),
			 "%s: offset %" PRIu64 ": thread %u event %" PRIu64 " follows event %" PRIu64,
			 it->path, it->offset, it->event.thread, it->event.index,
			 t->next_index - 1);
	} else if (!fresh && it->event.ticks < t->last_ticks) {
		snprintf(f->problem, sizeof(f->problem),
			 "%s: offset %" PRIu64 ": thread %u event %" PRIu64 " goes back in time",
			 it->path, it->offset, it->event.thread, it->event.index);
	}
	t->next_index = it->event.index + 1;
	t->last_ticks = it->event.ticks;
	return 0;
}

int verify_main(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "--allow-unsealed", VERIFY_ALLOW_UNSEALED }, { NULL, 0 }
	};
	struct verify_file f = { 0 };
	struct rp_reader *r;
	struct rp_item it;
	unsigned bits;
	bool oom = false;
	int n, ret, status = 0;

	n = cli_parse(argc, argv, flags, &bits, verify_usage);
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_USAGE;
	/* Recover: one file's problem is reported and the next file checked. */
	r = cli_open(argv, n, RP_READER_RECOVER | RP_READER_ALLOW_UNSEALED);
	if (!r)
		return CLI_EXIT_BAD;
	while ((ret = rp_reader_next(r, &it)) == 1) {
		switch (it.kind) {
		case RP_ITEM_EVENT:
			if (verify_event(&f, &it) < 0) {
				oom = true;
				goto out;
			}
			break;
		case RP_ITEM_FOOTER:
			if (f.problem[0]) {
				printf("%s\n", f.problem);
				status = CLI_EXIT_BAD;
			} else {
				printf("%s: OK, %" PRIu64 " blocks, %" PRIu64 " events\n", it.path,
				       it.footer.footer.blocks, it.footer.footer.events);
			}
			f.n = 0;
			f.problem[0] = '\0';
			break;
		case RP_ITEM_TRUNCATED:
			if (f.problem[0]) {
				printf("%s\n", f.problem);
				status = CLI_EXIT_BAD;
			} else if (it.truncated.unsealed) {
				bool ok = bits & VERIFY_ALLOW_UNSEALED;
				printf("%s: %s, %" PRIu64 " blocks, %" PRIu64 " events\n", it.path,
				       ok ? "OK (not sealed)" : "not sealed (no footer)",
				       it.truncated.blocks, it.truncated.events);
				if (!ok)
					status = CLI_EXIT_BAD;
			} else if (it.truncated.offset < sizeof(struct rp_seg_preamble)) {
				printf("%s\n", it.truncated.message);
				status = CLI_EXIT_BAD;
			} else {
				printf("%s; %" PRIu64 " whole blocks readable, cut at offset %" PRIu64 "\n",
				       it.truncated.message, it.truncated.blocks, it.truncated.offset);
				status = CLI_EXIT_BAD;
			}
			f.n = 0;
			f.problem[0] = '\0';
			break;
		default:
			break;
		}
	}
out:
	if (oom || ret < 0) {
		fflush(stdout);
		fprintf(stderr, "ringprof: %s\n", oom ? "out of memory" : rp_reader_error(r));
		status = CLI_EXIT_BAD;
	}
	free(f.t);
	rp_reader_close(r);
	return status;
}
