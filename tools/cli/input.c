/*
 * input.c - the loop over the items of the input, as every command that
 * folds the whole input (summarize, diff, report, chrome, folded) runs it:
 * function names resolved, a progress line, damaged files reported and
 * counted, memory and reader errors reported once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "export.h"
#include "symbols.h"

int input_open(struct input *in, char **paths, int n, unsigned flags)
{
	memset(in, 0, sizeof(*in));
	in->r = cli_open(paths, n, flags);
	return in->r ? 0 : -ENOENT;
}

int input_read(struct input *in, const char *cmd,
	       int (*fn)(void *ctx, const struct rp_item *it), void *ctx)
{
	struct progress prog;
	struct rp_item it;
	int ret;

	progress_open(&prog, in->r, cmd);
	while ((ret = rp_reader_next(in->r, &it)) == 1) {
		progress_item(&prog, &it);
		symbols_item(&in->sym, &it);
		if (it.kind == RP_ITEM_TRUNCATED && !it.truncated.unsealed) {
			fprintf(stderr, "ringprof: %s; %" PRIu64 " whole blocks read\n",
				it.truncated.message, it.truncated.blocks);
			in->damaged = true;
		}
		ret = fn(ctx, &it);
		if (ret < 0) {
			progress_close(&prog);
			fprintf(stderr, "ringprof: out of memory\n");
			return ret;
		}
	}
	progress_close(&prog);
	if (ret < 0) {
		fprintf(stderr, "ringprof: %s\n", rp_reader_error(in->r));
		in->failed = true;
	}
	return ret;
}

void input_close(struct input *in)
{
	if (in->r)
		rp_reader_close(in->r);
	symbols_free(&in->sym);
	memset(in, 0, sizeof(*in));
}
