/*
 * cli.h - the `ringprof` command: one file per subcommand, prototypes here.
 */
#ifndef RINGPROF_CLI_H
#define RINGPROF_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ringprof/reader.h>

#include "symbols.h"

/* Exit statuses: 0 all good, 1 a bad file or a failed check, 2 bad usage. */
#define CLI_EXIT_BAD   1
#define CLI_EXIT_USAGE 2

/* One subcommand option: a long flag and the bit it sets. */
/* The process a segment belongs to (procid.c): strings NUL-terminated. */
struct procid {
	char host[65], boot_id[41];
	uint64_t daemon_pid;
	uint32_t client_id, pid;
	char name[65];
};

/* Fill id from a segment header. */
void procid_set(struct procid *id, const struct rp_seg_info *in);
/* Whether the segment of in was recorded by the process of id. */
bool procid_is(const struct procid *id, const struct rp_seg_info *in);

struct cli_flag {
	const char *name;   /* "--recover" */
	unsigned bit;
};

/* Parse argv[1..] into flag bits and paths (argv is reused for them).
 * Returns the number of paths, or -1 after printing usage on stderr
 * (unknown option or no path), or -2 for --help (usage printed on stdout). */
int cli_parse(int argc, char **argv, const struct cli_flag *flags, unsigned *bits,
	      const char *usage);

/* Open a reader over the paths, or print the error and return NULL. */
struct rp_reader *cli_open(char **paths, int n, unsigned flags);

/* input.c: the loop over the items of the input that summarize, diff,
 * report, chrome and folded share. */
struct input {
	struct rp_reader *r;
	struct symbols sym;   /* the function names items may point at */
	bool damaged;         /* a damaged file was reported on stderr */
	bool failed;          /* reading stopped at the reader's error (printed) */
};

/* Zero in and open a reader over the paths (cli_open()); 0, or -ENOENT
 * after printing the error. */
int input_open(struct input *in, char **paths, int n, unsigned flags);

/* Pass every item to fn(ctx, item), function names resolved (symbols.c),
 * with the progress line of cmd ("chrome").  A damaged file (TRUNCATED, not
 * merely unsealed) is reported and sets in->damaged.  0 at the end of the
 * input, or -errno: fn's after printing "out of memory", or the reader's
 * after printing its error (in->failed set). */
int input_read(struct input *in, const char *cmd,
	       int (*fn)(void *ctx, const struct rp_item *it), void *ctx);

/* Close the reader and free the names: the items' strings go with them. */
void input_close(struct input *in);

/* Print len bytes with non-printable bytes as \xNN, quotes and backslashes
 * escaped when quote is true. */
void cli_print_bytes(FILE *f, const char *s, size_t len, bool quote);

/* Signed ns as milliseconds with 6 decimals, exact ("-0.000123"). */
void cli_print_ms(FILE *f, int64_t ns);

/* main.c dispatches to these; each returns the exit status. */
int dump_main(int argc, char **argv);
int verify_main(int argc, char **argv);
int summarize_main(int argc, char **argv);
int diff_main(int argc, char **argv);
int report_main(int argc, char **argv);
int chrome_main(int argc, char **argv);
int folded_main(int argc, char **argv);
int stat_main(int argc, char **argv);
int status_main(int argc, char **argv);

#endif /* RINGPROF_CLI_H */
