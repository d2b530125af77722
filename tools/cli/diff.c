/*
 * diff.c - `ringprof diff BASE NEW`: two runs compared item by item.
 *
 * Each side is read into per-process tables (profile.c).  Processes of the
 * two sides are matched first by process name and whole command line, in
 * the order they appear (files sorted by path), then those left over by
 * name only, in the same order; what is still left is only in one run and
 * compared with nothing.  Items are joined by label.
 *
 * Memory: the tables of both runs, one row per distinct item and process.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "cli.h"
#include "profile.h"

#define DIFF_JSON       0x1u
#define DIFF_RECOVER    0x2u
#define DIFF_BY_ARG     0x4u
#define DIFF_BY_PROCESS 0x8u

static const char diff_usage[] =
	"usage: ringprof diff [--json] [--recover] [--by-arg] [--by-process] BASE NEW\n"
	"\n"
	"Compare two runs.  BASE and NEW are each a segment file or a directory\n"
	"(a whole build: every *.rpseg under it).  One row per Item (as in\n"
	"'ringprof summarize'), sorted by the absolute change of self time,\n"
	"largest first: NEW's self time and its change from BASE (in ms and in %;\n"
	"\"new\" when BASE had none), time and change, item count and change,\n"
	"cache hits and change, blocked time and change (blocked columns all zero\n"
	"are not shown), a Total row, then the CPU and wall times of both runs\n"
	"and the processes matched.  Times in milliseconds.\n"
	"\n"
	"Processes are matched by name and command line, then, for those left,\n"
	"by name alone, in the order their files come (sorted by path).\n"
	"\n"
	"  --json        print one JSON object instead (times in ns, both runs)\n"
	"  --recover     read every whole block of a damaged file instead of stopping\n"
	"  --by-arg      one row per whole argument instead of per label\n"
	"  --by-process  one comparison per matched process\n";

static bool diff_cmdline_is(const struct profile_proc *a, const struct profile_proc *b)
{
	return a->cmdline_len == b->cmdline_len &&
	       memcmp(a->cmdline, b->cmdline, a->cmdline_len) == 0;
}

static int diff_pair_add(struct diff *d, size_t *cap, const struct profile_proc *b,
			 const struct profile_proc *n, bool by_name)
{
	if (d->npairs == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		struct diff_pair *p = reallocarray(d->pairs, c, sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->pairs = p;
		*cap = c;
	}
	d->pairs[d->npairs++] = (struct diff_pair){ .base = b, .new = n, .by_name = by_name };
	return 0;
}

/* Match the processes of d->base and d->new into d->pairs. */
static int diff_match(struct diff *d)
{
	size_t nb = d->base.nprocs, nn = d->new.nprocs, cap = 0;
	ssize_t *to = calloc(nb + 1, sizeof(*to));     /* new index of base i, -1 */
	bool *taken = calloc(nn + 1, sizeof(*taken));
	int ret = -ENOMEM;

	if (!to || !taken)
		goto err_alloc;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nb; i++) {
			const struct profile_proc *b = &d->base.procs[i];

			if (pass == 0)
				to[i] = -1;
			if (to[i] >= 0)
				continue;
			for (size_t j = 0; j < nn; j++) {
				const struct profile_proc *n = &d->new.procs[j];

				if (taken[j] || strcmp(b->id.name, n->id.name) != 0 ||
				    (pass == 0 && !diff_cmdline_is(b, n)))
					continue;
				to[i] = (ssize_t)j;
				taken[j] = true;
				break;
			}
		}
	}
	for (size_t i = 0; i < nb; i++) {
		const struct profile_proc *n = to[i] >= 0 ? &d->new.procs[to[i]] : NULL;

		if (diff_pair_add(d, &cap, &d->base.procs[i], n,
				  n && !diff_cmdline_is(&d->base.procs[i], n)) < 0)
			goto err_alloc;
	}
	for (size_t j = 0; j < nn; j++)
		if (!taken[j] && diff_pair_add(d, &cap, NULL, &d->new.procs[j], false) < 0)
			goto err_alloc;
	ret = 0;
err_alloc:
	free(to);
	free(taken);
	return ret;
}

int diff_open(struct diff *d, char **base, int nbase, char **new, int nnew,
	      unsigned reader_flags, bool by_arg)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->base.by_arg = by_arg;
	d->new.by_arg = by_arg;
	ret = profile_read(&d->base, base, nbase, reader_flags);
	if (ret == 0)
		ret = profile_read(&d->new, new, nnew, reader_flags);
	if (ret == 0 && (ret = diff_match(d)) < 0)
		fprintf(stderr, "ringprof: out of memory\n");
	return ret;
}

void diff_close(struct diff *d)
{
	profile_free(&d->base);
	profile_free(&d->new);
	free(d->pairs);
	memset(d, 0, sizeof(*d));
}

int diff_merge(const struct diff *d, size_t from, size_t to,
	       struct profile_table *btab, struct profile_totals *btot,
	       struct profile_table *ntab, struct profile_totals *ntot)
{
	for (size_t i = from; i < to; i++) {
		const struct diff_pair *p = &d->pairs[i];

		if (p->base && profile_merge(btab, btot, p->base) < 0)
			return -ENOMEM;
		if (p->new && profile_merge(ntab, ntot, p->new) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int64_t diff_change(const struct profile_row *b, const struct profile_row *n)
{
	int64_t bv = b ? (int64_t)(b->self_ns > INT64_MAX ? INT64_MAX : b->self_ns) : 0;
	int64_t nv = n ? (int64_t)(n->self_ns > INT64_MAX ? INT64_MAX : n->self_ns) : 0;

	return nv - bv;
}

static int diff_join_cmp(const void *pa, const void *pb)
{
	const struct profile_row *const *a = pa, *const *b = pb;
	int64_t ca = diff_change(a[0], a[1]), cb = diff_change(b[0], b[1]);
	uint64_t ma = ca < 0 ? (uint64_t)0 - (uint64_t)ca : (uint64_t)ca;
	uint64_t mb = cb < 0 ? (uint64_t)0 - (uint64_t)cb : (uint64_t)cb;
	const struct profile_row *ra = a[0] ? a[0] : a[1], *rb = b[0] ? b[0] : b[1];

	if (ma != mb)
		return ma > mb ? -1 : 1;
	return strcmp(ra->label, rb->label);
}

const struct profile_row **diff_join(const struct profile_table *btab,
				     const struct profile_table *ntab, size_t *n)
{
	size_t cap = btab->rows + ntab->rows + 1, k = 0;
	const struct profile_row **rows = calloc(cap, 2 * sizeof(*rows));

	*n = 0;
	if (!rows)
		return NULL;
	for (size_t i = 0; btab->slots && i <= btab->mask; i++) {
		const struct profile_row *b = btab->slots[i];

		if (!b || b->cls != PROFILE_ITEM)
			continue;
		rows[2 * k] = b;
		rows[2 * k + 1] = profile_row_find(ntab, PROFILE_ITEM, "", 0, b->label, b->label_len);
		k++;
	}
	for (size_t i = 0; ntab->slots && i <= ntab->mask; i++) {
		const struct profile_row *r = ntab->slots[i];

		if (!r || r->cls != PROFILE_ITEM ||
		    profile_row_find(btab, PROFILE_ITEM, "", 0, r->label, r->label_len))
			continue;
		rows[2 * k] = NULL;
		rows[2 * k + 1] = r;
		k++;
	}
	qsort(rows, k, 2 * sizeof(*rows), diff_join_cmp);
	*n = k;
	return rows;
}

/* Change of b to n in % with 2 decimals ("+12.50%"), rounded half away
 * from zero; "new" when b is 0 and n is not. */
static void diff_fmt_pct(char *buf, size_t len, uint64_t b, uint64_t n)
{
	unsigned __int128 mag, hundredths;

	if (b == 0) {
		snprintf(buf, len, "%s", n ? "new" : "0.00%");
		return;
	}
	mag = n > b ? n - b : b - n;
	hundredths = (mag * 10000 + b / 2) / b;
	snprintf(buf, len, "%s%" PRIu64 ".%02u%%", n == b ? "" : n > b ? "+" : "-",
		 (uint64_t)(hundredths / 100), (unsigned)(hundredths % 100));
}

static int64_t diff_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static const struct profile_row diff_zero;

/* One row of the text table: NEW's values and their changes from BASE; the
 * Total row (label NULL) has no time: durations of nested items overlap. */
static int diff_grid_row(struct grid *g, const char *label, size_t ll,
			 const struct profile_row *b, const struct profile_row *n)
{
	char pct[32];

	if (!b)
		b = &diff_zero;
	if (!n)
		n = &diff_zero;
	diff_fmt_pct(pct, sizeof(pct), b->self_ns, n->self_ns);
	if ((label ? grid_cell_bytes(g, label, ll) : grid_cell(g, "Total")) < 0 ||
	    grid_cell_ms(g, diff_i64(n->self_ns), false) < 0 ||
	    grid_cell_ms(g, diff_i64(n->self_ns) - diff_i64(b->self_ns), true) < 0 ||
	    grid_cell(g, "%s", pct) < 0 ||
	    (label ? grid_cell_ms(g, diff_i64(n->time_ns), false) : grid_cell(g, "%s", "")) < 0 ||
	    (label ? grid_cell_ms(g, diff_i64(n->time_ns) - diff_i64(b->time_ns), true) :
		     grid_cell(g, "%s", "")) < 0 ||
	    grid_cell(g, "%" PRIu64, n->count) < 0 ||
	    grid_cell(g, "%s%" PRId64, n->count > b->count ? "+" : "",
		      (int64_t)(n->count - b->count)) < 0 ||
	    grid_cell(g, "%" PRIu64, n->cache_hits) < 0 ||
	    grid_cell(g, "%s%" PRId64, n->cache_hits > b->cache_hits ? "+" : "",
		      (int64_t)(n->cache_hits - b->cache_hits)) < 0 ||
	    grid_cell_ms(g, diff_i64(n->blocked_ns), false) < 0 ||
	    grid_cell_ms(g, diff_i64(n->blocked_ns) - diff_i64(b->blocked_ns), true) < 0)
		return -ENOMEM;
	return 0;
}

static void diff_print_span(const char *what, uint64_t b, uint64_t n)
{
	char bs[32], ns[32], cs[32], pct[32];

	grid_fmt_ms(bs, sizeof(bs), diff_i64(b), false);
	grid_fmt_ms(ns, sizeof(ns), diff_i64(n), false);
	grid_fmt_ms(cs, sizeof(cs), diff_i64(n) - diff_i64(b), true);
	diff_fmt_pct(pct, sizeof(pct), b, n);
	printf("%s: %s ms -> %s ms (%s ms, %s)\n", what, bs, ns, cs, pct);
}

static int diff_print_text(const struct diff *d, size_t from, size_t to)
{
	static const char *const heads[] = {
		"Item", "Self time", "Change", "Change %", "Time", "Change", "Item count", "Change",
		"Cache hits", "Change", "Blocked time", "Change",
	};
	struct profile_table bt = { 0 }, nt = { 0 };
	struct profile_totals bo = { 0 }, no = { 0 };
	struct profile_row bsum = { 0 }, nsum = { 0 };
	const struct profile_row **rows = NULL;
	size_t n = 0, matched = 0, by_name = 0, only_base = 0, only_new = 0;
	struct grid g = { 0 };
	int ret = diff_merge(d, from, to, &bt, &bo, &nt, &no);

	if (ret == 0 && !(rows = diff_join(&bt, &nt, &n)))
		ret = -ENOMEM;
	if (ret == 0)
		ret = grid_open(&g, 12, heads);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		const struct profile_row *b = rows[2 * i], *r = rows[2 * i + 1];
		const struct profile_row *any = b ? b : r;

		for (int side = 0; side < 2; side++) {
			const struct profile_row *s = side ? r : b;
			struct profile_row *sum = side ? &nsum : &bsum;

			if (!s)
				continue;
			profile_add_sat(&sum->self_ns, s->self_ns);
			sum->count += s->count;
			sum->cache_hits += s->cache_hits;
			profile_add_sat(&sum->blocked_ns, s->blocked_ns);
		}
		ret = diff_grid_row(&g, any->label, any->label_len, b, r);
	}
	if (ret == 0)
		ret = diff_grid_row(&g, NULL, 0, &bsum, &nsum);
	if (ret == 0) {
		grid_hide_if_zero(&g, 10);
		grid_hide_if_zero(&g, 11);
		grid_print(&g, stdout);
		putchar('\n');
		diff_print_span("CPU time", bo.cpu_ns, no.cpu_ns);
		diff_print_span("Wall time", profile_wall_ns(&bo), profile_wall_ns(&no));
		printf("Events: %" PRIu64 " -> %" PRIu64 " read, %" PRIu64 " -> %" PRIu64
		       " dropped\n", bo.events, no.events, bo.client_dropped + bo.daemon_dropped,
		       no.client_dropped + no.daemon_dropped);
		for (size_t i = from; i < to; i++) {
			const struct diff_pair *p = &d->pairs[i];

			matched += p->base && p->new;
			by_name += p->base && p->new && p->by_name;
			only_base += p->base && !p->new;
			only_new += !p->base && p->new;
		}
		printf("Processes: %zu matched (%zu by name only), %zu only in BASE, %zu only in NEW\n",
		       matched, by_name, only_base, only_new);
		if (bo.unmatched_end + bo.out_of_order + bo.open + no.unmatched_end +
		    no.out_of_order + no.open)
			printf("warning: unbalanced intervals (BASE %" PRIu64 ", NEW %" PRIu64
			       "); 'ringprof summarize' each run for details\n",
			       bo.unmatched_end + bo.out_of_order + bo.open,
			       no.unmatched_end + no.out_of_order + no.open);
	}
	grid_close(&g);
	free(rows);
	profile_table_free(&bt);
	profile_table_free(&nt);
	return ret;
}

static void diff_json_row(FILE *f, const struct profile_row *r)
{
	if (!r) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"self_ns\":%" PRIu64 ",\"time_ns\":%" PRIu64 ",\"count\":%" PRIu64
		",\"cache_hits\":%" PRIu64 ",\"blocked_ns\":%" PRIu64
		",\"incremental_load_ns\":%" PRIu64 ",\"incremental_hashing_ns\":%" PRIu64 "}",
		r->self_ns, r->time_ns, r->count, r->cache_hits, r->blocked_ns, r->load_ns,
		r->hashing_ns);
}

static void diff_json_totals(FILE *f, const struct profile_totals *t)
{
	fprintf(f, "{\"processes\":%" PRIu64 ",\"threads\":%" PRIu64 ",\"cpu_ns\":%" PRIu64
		",\"wall_ns\":%" PRIu64 ",\"events\":%" PRIu64
		",\"dropped\":{\"client\":%" PRIu64 ",\"daemon\":%" PRIu64 "}"
		",\"unbalanced\":%" PRIu64 "}",
		t->processes, t->threads, t->cpu_ns, profile_wall_ns(t), t->events,
		t->client_dropped, t->daemon_dropped, t->unmatched_end + t->out_of_order + t->open);
}

int diff_json_section(FILE *f, const struct diff *d, size_t from, size_t to)
{
	struct profile_table bt = { 0 }, nt = { 0 };
	struct profile_totals bo = { 0 }, no = { 0 };
	const struct profile_row **rows = NULL;
	size_t n = 0;
	int ret = diff_merge(d, from, to, &bt, &bo, &nt, &no);

	if (ret == 0 && !(rows = diff_join(&bt, &nt, &n)))
		ret = -ENOMEM;
	if (ret == 0) {
		fputs("\"items\":[", f);
		for (size_t i = 0; i < n; i++) {
			const struct profile_row *any = rows[2 * i] ? rows[2 * i] : rows[2 * i + 1];

			fprintf(f, "%s{\"item\":", i ? "," : "");
			profile_json_str(f, any->label, any->label_len);
			fputs(",\"base\":", f);
			diff_json_row(f, rows[2 * i]);
			fputs(",\"new\":", f);
			diff_json_row(f, rows[2 * i + 1]);
			fputc('}', f);
		}
		fputs("],\"base\":", f);
		diff_json_totals(f, &bo);
		fputs(",\"new\":", f);
		diff_json_totals(f, &no);
	}
	free(rows);
	profile_table_free(&bt);
	profile_table_free(&nt);
	return ret;
}

void diff_json_pair(FILE *f, const struct diff_pair *p)
{
	const struct profile_proc *any = p->base ? p->base : p->new;

	fputs("\"name\":", f);
	profile_json_str(f, any->id.name, strlen(any->id.name));
	fputs(",\"cmdline\":", f);
	profile_json_cmdline(f, any);
	if (p->base && p->new && p->by_name) {
		fputs(",\"new_cmdline\":", f);
		profile_json_cmdline(f, p->new);
	}
	fputs(",\"base_pid\":", f);
	if (p->base)
		fprintf(f, "%" PRIu32, p->base->id.pid);
	else
		fputs("null", f);
	fputs(",\"new_pid\":", f);
	if (p->new)
		fprintf(f, "%" PRIu32, p->new->id.pid);
	else
		fputs("null", f);
	fprintf(f, ",\"matched\":\"%s\"",
		!p->base || !p->new ? "none" : p->by_name ? "name" : "cmdline");
}

static int diff_print(const struct diff *d, bool json, bool by_process)
{
	int ret = 0;

	if (json) {
		printf("{\"processes\":[");
		for (size_t i = 0; ret == 0 && i < d->npairs; i++) {
			printf("%s{", i ? "," : "");
			diff_json_pair(stdout, &d->pairs[i]);
			if (by_process) {
				putchar(',');
				ret = diff_json_section(stdout, d, i, i + 1);
			}
			putchar('}');
		}
		putchar(']');
		if (!by_process && ret == 0) {
			putchar(',');
			ret = diff_json_section(stdout, d, 0, d->npairs);
		}
		printf("}\n");
		return ret;
	}
	if (!by_process)
		return diff_print_text(d, 0, d->npairs);
	for (size_t i = 0; ret == 0 && i < d->npairs; i++) {
		const struct diff_pair *p = &d->pairs[i];
		const struct profile_proc *any = p->base ? p->base : p->new;

		printf("%sProcess %zu of %zu: ", i ? "\n" : "", i + 1, d->npairs);
		cli_print_bytes(stdout, any->id.name, strlen(any->id.name), false);
		if (p->base)
			printf(", BASE pid %" PRIu32, p->base->id.pid);
		else
			printf(", only in NEW");
		if (p->new)
			printf(", NEW pid %" PRIu32, p->new->id.pid);
		else
			printf(", only in BASE");
		printf("%s\nCommand line: ", p->by_name ? " (matched by name)" : "");
		profile_print_cmdline(stdout, any);
		printf("\n\n");
		ret = diff_print_text(d, i, i + 1);
	}
	return ret;
}

int diff_main(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "--json", DIFF_JSON }, { "--recover", DIFF_RECOVER }, { "--by-arg", DIFF_BY_ARG },
		{ "--by-process", DIFF_BY_PROCESS }, { NULL, 0 }
	};
	struct diff d;
	unsigned bits;
	int n, ret, status = 0;

	n = cli_parse(argc, argv, flags, &bits, diff_usage);
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_USAGE;
	if (n != 2) {
		fprintf(stderr, "ringprof diff: give exactly two paths, BASE and NEW\n");
		fputs(diff_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	ret = diff_open(&d, argv, 1, argv + 1, 1, bits & DIFF_RECOVER ? RP_READER_RECOVER : 0,
			bits & DIFF_BY_ARG);
	if (ret < 0) {
		diff_close(&d);
		return CLI_EXIT_BAD;
	}
	if (d.base.damaged || d.new.damaged)
		status = CLI_EXIT_BAD;
	if (diff_print(&d, bits & DIFF_JSON, bits & DIFF_BY_PROCESS) < 0) {
		fprintf(stderr, "ringprof: out of memory\n");
		status = CLI_EXIT_BAD;
	}
	diff_close(&d);
	return status;
}
