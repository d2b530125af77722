/*
 * profile.h - what summarize, diff and report share: segments folded into
 * per-process tables of items (profile.c), text grids (grid.c), and the
 * matching of two builds process by process (diff.c).
 */
#ifndef RINGPROF_CLI_PROFILE_H
#define RINGPROF_CLI_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ringprof/reader.h>

#include "cli.h"
#include "nest.h"

/* profile.c */

enum profile_class {
	PROFILE_ITEM,     /* intervals and cache hits, one row per label */
	PROFILE_INSTANT,  /* other instants, per kind and label */
	PROFILE_INTEGER,  /* integers (ArtifactSize...), per kind and label */
};

struct profile_row {
	enum profile_class cls;
	char *kind, *label;      /* NUL-terminated copies; kind "" for ITEM rows */
	size_t kind_len, label_len;
	uint64_t hash;
	uint64_t count;          /* ITEM: invocations (see profile.c), else events */
	uint64_t self_ns, time_ns, cache_hits;
	uint64_t blocked_ns, load_ns, hashing_ns;
	uint64_t sum;            /* INTEGER values, saturating */
};

/* Rows by (class, kind, label), open addressing. */
struct profile_table {
	struct profile_row **slots;
	size_t mask, rows;
};

struct profile_totals {
	uint64_t processes, threads, events;
	uint64_t client_dropped, daemon_dropped;
	uint64_t cpu_ns;             /* per thread first to last event, summed */
	int64_t first_ns, last_ns;   /* wall span; valid when has_span */
	bool has_span;
	uint64_t unmatched_end, out_of_order, open, undefined;
};

/* One process: all segments of one registration of one client. */
struct profile_proc {
	struct procid id;
	char *cmdline;           /* args NUL-separated */
	size_t cmdline_len;
	struct profile_table tab;
	struct profile_totals tot;
};

struct profile {
	struct nest nest;            /* processes, threads, open intervals */
	struct profile_proc *procs;  /* parallel to nest.procs */
	size_t nprocs, pcap;
	bool by_arg;                 /* rows per whole argument, not per label */
	bool damaged;                /* a bad file was reported (recover mode) */
};

/* Fold the segments under paths into p (zeroed by the caller, by_arg set).
 * Problems in files are printed on stderr; returns 0 or -errno after
 * printing the error (a bad file without RP_READER_RECOVER: -EBADMSG). */
int profile_read(struct profile *p, char **paths, int n, unsigned reader_flags);

/* Free everything p holds. */
void profile_free(struct profile *p);

/* Add the rows and totals of process proc into tab and tot (tot->processes
 * counts one more); 0 or -ENOMEM. */
int profile_merge(struct profile_table *tab, struct profile_totals *tot,
		  const struct profile_proc *proc);

/* The row of (cls, kind, label) in t, created at zero; NULL without memory. */
struct profile_row *profile_row_get(struct profile_table *t, enum profile_class cls,
				    const char *kind, size_t kl, const char *label, size_t ll);

/* The row of (cls, kind, label) in t, or NULL. */
const struct profile_row *profile_row_find(const struct profile_table *t, enum profile_class cls,
					   const char *kind, size_t kl, const char *label, size_t ll);

/* The rows of t in an array sorted for display (ITEM by self time, INTEGER
 * by sum, INSTANT by count, each largest first, then by label), class by
 * class; *n rows.  NULL without memory; the caller frees the array. */
struct profile_row **profile_sorted(const struct profile_table *t, size_t *n);

void profile_table_free(struct profile_table *t);

/* The wall time of tot in ns (0 without any event). */
uint64_t profile_wall_ns(const struct profile_totals *tot);

/* a += b without wrapping. */
void profile_add_sat(uint64_t *a, uint64_t b);

/* len bytes as a JSON string: bytes outside printable ASCII as \u00XX
 * (each byte one code point), and '<' too so the text may sit in HTML. */
void profile_json_str(FILE *f, const char *s, size_t len);

/* The command line as a JSON array of strings. */
void profile_json_cmdline(FILE *f, const struct profile_proc *proc);

/* The command line as one line: args separated by spaces, bytes escaped as
 * cli_print_bytes() does. */
void profile_print_cmdline(FILE *f, const struct profile_proc *proc);

/* grid.c: a text table, first column left-aligned, the others right. */

struct grid {
	size_t cols, rows, cap;  /* whole rows, row 0 the heads */
	size_t fill;             /* cells of the row being filled */
	char **cells;            /* rows x cols, row 0 the heads */
	bool *hidden;            /* per column */
};

/* Start a table with cols heads; 0 or -ENOMEM. */
int grid_open(struct grid *g, size_t cols, const char *const *heads);
/* Append a cell to the current row (printf format); rows fill left to
 * right, a new row starts after cols cells.  0 or -ENOMEM. */
int grid_cell(struct grid *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append bytes as cli_print_bytes() shows them. */
int grid_cell_bytes(struct grid *g, const char *s, size_t len);
/* A cell of signed ns as ms, with a '+' when sign and positive. */
int grid_cell_ms(struct grid *g, int64_t ns, bool sign);
/* Hide column c when every cell below the head is "0.000000", "0" or "+0". */
void grid_hide_if_zero(struct grid *g, size_t c);
void grid_print(const struct grid *g, FILE *f);
void grid_close(struct grid *g);

/* ms of signed ns into buf ("-0.000123", "+1.500000" with sign). */
void grid_fmt_ms(char *buf, size_t len, int64_t ns, bool sign);

/* diff.c: two builds, processes matched. */

struct diff_pair {
	const struct profile_proc *base, *new;  /* either may be NULL */
	bool by_name;                           /* matched on name only */
};

struct diff {
	struct profile base, new;
	struct diff_pair *pairs;
	size_t npairs;
};

/* Read base and new (their paths) and match their processes; prints errors
 * and returns 0 or -errno (status: *bad set when a file was damaged). */
int diff_open(struct diff *d, char **base, int nbase, char **new, int nnew,
	      unsigned reader_flags, bool by_arg);
void diff_close(struct diff *d);

/* Merge the processes of pairs [from, to) on each side. */
int diff_merge(const struct diff *d, size_t from, size_t to,
	       struct profile_table *btab, struct profile_totals *btot,
	       struct profile_table *ntab, struct profile_totals *ntot);

/* The item rows of both tables joined by label, sorted by the absolute
 * change of self time, largest first, then by label; row[2*i] is base
 * (or NULL), row[2*i+1] new (or NULL).  *n pairs; NULL without memory. */
const struct profile_row **diff_join(const struct profile_table *btab,
				     const struct profile_table *ntab, size_t *n);

/* Print the comparison of pairs [from, to) as JSON (no newline): items and
 * totals of each side.  0 or -ENOMEM. */
int diff_json_section(FILE *f, const struct diff *d, size_t from, size_t to);

/* Print a pair's identity as JSON fields (no braces). */
void diff_json_pair(FILE *f, const struct diff_pair *pair);

#endif /* RINGPROF_CLI_PROFILE_H */
