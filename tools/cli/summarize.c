/*
 * summarize.c - `ringprof summarize`: where the time went, per item.
 *
 * The numbers come from profile.c (its top comment says how self time,
 * time, counts and the blocked and incremental columns are computed); this
 * file prints them, for all processes together or one by one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "profile.h"

#define SUM_JSON       0x1u
#define SUM_RECOVER    0x2u
#define SUM_BY_ARG     0x4u
#define SUM_BY_PROCESS 0x8u

static const char summarize_usage[] =
	"usage: ringprof summarize [--json] [--recover] [--by-arg] [--by-process] PATH...\n"
	"\n"
	"Where the recorded processes spent their time, one row per Item, sorted\n"
	"by self time, largest first.  The Item of an event is its argument's\n"
	"label: an argument written name(key), such as a query and its key\n"
	"\"typeck(main)\", counts under \"typeck\" (with --by-arg, under the whole\n"
	"argument); an event without argument counts under its kind.  Columns\n"
	"(times in milliseconds):\n"
	"  Self time        time inside the item's intervals and not inside an\n"
	"                   interval nested in them, per thread\n"
	"  % of total time  self time over the CPU time below\n"
	"  Time             whole durations of its intervals (hashing excluded:\n"
	"                   it runs inside the query it fingerprints)\n"
	"  Item count       Query, QueryBlocked, GenericActivity (and other)\n"
	"                   intervals, plus QueryCacheHit instants\n"
	"  Cache hits       QueryCacheHit instants\n"
	"  Blocked time, Incremental load time, Incremental result hashing time\n"
	"                   QueryBlocked, IncrementalLoadResult and\n"
	"                   IncrementalResultHashing intervals of the item: taken\n"
	"                   out of the self time of the interval around them and\n"
	"                   counted in the item's own self time, as rustc's\n"
	"                   measureme does (columns all zero are not shown)\n"
	"Then other instants (count), artifact sizes (ArtifactSize integers:\n"
	"count and bytes) and other integers, the CPU time (each thread from its\n"
	"first to its last event, summed), the wall time (first to last event of\n"
	"the run), the events read and dropped, and a warning line for ENDs\n"
	"without BEGIN, intervals closed out of order and intervals still open at\n"
	"the end (an END closes the innermost open BEGIN of the same kind and\n"
	"argument; none of these stops the analysis).\n"
	"\n"
	"  --json        print one JSON object instead (times in ns)\n"
	"  --recover     read every whole block of a damaged file instead of stopping\n"
	"  --by-arg      one row per whole argument instead of per label\n"
	"  --by-process  one summary per process instead of one for all of them\n";

static const char *sum_plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* self over total as a percentage with 2 decimals, rounded half up. */
static void sum_fmt_pct(char *buf, size_t len, uint64_t self, uint64_t total)
{
	unsigned __int128 hundredths = 0;

	if (total)
		hundredths = ((unsigned __int128)self * 10000 + total / 2) / total;
	snprintf(buf, len, "%" PRIu64 ".%02u", (uint64_t)(hundredths / 100),
		 (unsigned)(hundredths % 100));
}

static int64_t sum_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* The ITEM rows (the first ones of rows) and their Total. */
static int sum_print_items(struct profile_row **rows, size_t n, const struct profile_totals *tot)
{
	static const char *const heads[] = {
		"Item", "Self time", "% of total time", "Time", "Item count", "Cache hits",
		"Blocked time", "Incremental load time", "Incremental result hashing time",
	};
	uint64_t self = 0, count = 0, hits = 0, blocked = 0, load = 0, hashing = 0;
	struct grid g;
	char pct[32];
	int ret = grid_open(&g, 9, heads);

	for (size_t i = 0; ret == 0 && i < n && rows[i]->cls == PROFILE_ITEM; i++) {
		const struct profile_row *r = rows[i];

		profile_add_sat(&self, r->self_ns);
		count += r->count;
		hits += r->cache_hits;
		profile_add_sat(&blocked, r->blocked_ns);
		profile_add_sat(&load, r->load_ns);
		profile_add_sat(&hashing, r->hashing_ns);
		sum_fmt_pct(pct, sizeof(pct), r->self_ns, tot->cpu_ns);
		if (grid_cell_bytes(&g, r->label, r->label_len) < 0 ||
		    grid_cell_ms(&g, sum_i64(r->self_ns), false) < 0 ||
		    grid_cell(&g, "%s", pct) < 0 ||
		    grid_cell_ms(&g, sum_i64(r->time_ns), false) < 0 ||
		    grid_cell(&g, "%" PRIu64, r->count) < 0 ||
		    grid_cell(&g, "%" PRIu64, r->cache_hits) < 0 ||
		    grid_cell_ms(&g, sum_i64(r->blocked_ns), false) < 0 ||
		    grid_cell_ms(&g, sum_i64(r->load_ns), false) < 0 ||
		    grid_cell_ms(&g, sum_i64(r->hashing_ns), false) < 0)
			ret = -ENOMEM;
	}
	for (size_t c = 6; ret == 0 && c < 9; c++)
		grid_hide_if_zero(&g, c);
	sum_fmt_pct(pct, sizeof(pct), self, tot->cpu_ns);
	if (ret == 0 &&
	    (grid_cell(&g, "Total") < 0 || grid_cell_ms(&g, sum_i64(self), false) < 0 ||
	     grid_cell(&g, "%s", pct) < 0 || grid_cell(&g, "%s", "") < 0 ||
	     grid_cell(&g, "%" PRIu64, count) < 0 || grid_cell(&g, "%" PRIu64, hits) < 0 ||
	     grid_cell_ms(&g, sum_i64(blocked), false) < 0 ||
	     grid_cell_ms(&g, sum_i64(load), false) < 0 ||
	     grid_cell_ms(&g, sum_i64(hashing), false) < 0))
		ret = -ENOMEM;
	if (ret == 0)
		grid_print(&g, stdout);
	grid_close(&g);
	return ret;
}

/* The rows of class cls (and of kind ArtifactSize or not, for integers). */
static bool sum_row_in(const struct profile_row *r, enum profile_class cls, int artifact)
{
	bool is_artifact = r->kind_len == 12 && memcmp(r->kind, "ArtifactSize", 12) == 0;

	return r->cls == cls && (artifact < 0 || is_artifact == (artifact == 1));
}

/* A table of instants or integers; nothing when it has no row. */
static int sum_print_other(struct profile_row **rows, size_t n, enum profile_class cls,
			   int artifact, const char *title)
{
	static const char *const heads[][4] = {
		{ "Item", "Kind", "Count", NULL },
		{ "Item", "Count", "Bytes", NULL },
		{ "Item", "Kind", "Count", "Sum" },
	};
	const char *const *h = cls == PROFILE_INSTANT ? heads[0] : artifact ? heads[1] : heads[2];
	size_t cols = h[3] ? 4 : 3, shown = 0;
	struct grid g;
	int ret = grid_open(&g, cols, h);

	for (size_t i = 0; ret == 0 && i < n; i++) {
		const struct profile_row *r = rows[i];

		if (!sum_row_in(r, cls, artifact))
			continue;
		shown++;
		ret = grid_cell_bytes(&g, r->label, r->label_len);
		if (ret == 0 && artifact != 1)
			ret = grid_cell_bytes(&g, r->kind, r->kind_len);
		if (ret == 0)
			ret = grid_cell(&g, "%" PRIu64, r->count);
		if (ret == 0 && cls == PROFILE_INTEGER)
			ret = grid_cell(&g, "%" PRIu64, r->sum);
	}
	if (ret == 0 && shown) {
		printf("\n%s\n", title);
		grid_print(&g, stdout);
	}
	grid_close(&g);
	return ret;
}

static void sum_print_totals(const struct profile_totals *tot)
{
	char cpu[32], wall[32];

	grid_fmt_ms(cpu, sizeof(cpu), sum_i64(tot->cpu_ns), false);
	grid_fmt_ms(wall, sizeof(wall), sum_i64(profile_wall_ns(tot)), false);
	printf("\nCPU time: %s ms over %" PRIu64 " %s (each from its first to its last event)\n",
	       cpu, tot->threads, sum_plural(tot->threads, "thread", "threads"));
	printf("Wall time: %s ms over %" PRIu64 " %s (first to last event)\n", wall,
	       tot->processes, sum_plural(tot->processes, "process", "processes"));
	printf("Events: %" PRIu64 " read, %" PRIu64 " dropped (%" PRIu64 " by clients, %" PRIu64
	       " by the daemon)\n", tot->events, tot->client_dropped + tot->daemon_dropped,
	       tot->client_dropped, tot->daemon_dropped);
	if (tot->unmatched_end || tot->out_of_order || tot->open || tot->undefined)
		printf("warning: %" PRIu64 " %s, %" PRIu64 " %s, %" PRIu64 " %s, %" PRIu64 " %s\n",
		       tot->unmatched_end,
		       sum_plural(tot->unmatched_end, "END without BEGIN", "ENDs without BEGIN"),
		       tot->out_of_order, sum_plural(tot->out_of_order, "interval closed out of order",
						     "intervals closed out of order"),
		       tot->open, sum_plural(tot->open, "interval still open at the end",
					     "intervals still open at the end"),
		       tot->undefined, sum_plural(tot->undefined, "event with undefined strings",
						  "events with undefined strings"));
}

static int sum_print_text(const struct profile_table *tab, const struct profile_totals *tot)
{
	size_t n;
	struct profile_row **rows = profile_sorted(tab, &n);
	int ret;

	if (!rows)
		return -ENOMEM;
	ret = sum_print_items(rows, n, tot);
	if (ret == 0)
		ret = sum_print_other(rows, n, PROFILE_INSTANT, -1, "Instants");
	if (ret == 0)
		ret = sum_print_other(rows, n, PROFILE_INTEGER, 1, "Artifact sizes");
	if (ret == 0)
		ret = sum_print_other(rows, n, PROFILE_INTEGER, 0, "Integers");
	if (ret == 0)
		sum_print_totals(tot);
	free(rows);
	return ret;
}

static void sum_json_proc(const struct profile_proc *pr)
{
	printf("\"name\":");
	profile_json_str(stdout, pr->id.name, strlen(pr->id.name));
	printf(",\"pid\":%" PRIu32 ",\"host\":", pr->id.pid);
	profile_json_str(stdout, pr->id.host, strlen(pr->id.host));
	printf(",\"cmdline\":");
	profile_json_cmdline(stdout, pr);
}

/* The fields of one summary (no braces). */
static int sum_json_section(const struct profile_table *tab, const struct profile_totals *tot)
{
	static const char *const names[] = { "items", "instants", "artifact_sizes", "integers" };
	size_t n;
	struct profile_row **rows = profile_sorted(tab, &n);

	if (!rows)
		return -ENOMEM;
	for (int s = 0; s < 4; s++) {
		enum profile_class cls = s == 0 ? PROFILE_ITEM : s == 1 ? PROFILE_INSTANT : PROFILE_INTEGER;
		int artifact = s < 2 ? -1 : s == 2;
		bool first = true;

		printf("%s\"%s\":[", s ? "," : "", names[s]);
		for (size_t i = 0; i < n; i++) {
			const struct profile_row *r = rows[i];

			if (!sum_row_in(r, cls, artifact))
				continue;
			printf("%s{\"item\":", first ? "" : ",");
			first = false;
			profile_json_str(stdout, r->label, r->label_len);
			if (cls != PROFILE_ITEM && artifact != 1) {
				printf(",\"kind\":");
				profile_json_str(stdout, r->kind, r->kind_len);
			}
			printf(",\"count\":%" PRIu64, r->count);
			if (cls == PROFILE_ITEM)
				printf(",\"self_ns\":%" PRIu64 ",\"time_ns\":%" PRIu64
				       ",\"cache_hits\":%" PRIu64 ",\"blocked_ns\":%" PRIu64
				       ",\"incremental_load_ns\":%" PRIu64
				       ",\"incremental_hashing_ns\":%" PRIu64,
				       r->self_ns, r->time_ns, r->cache_hits, r->blocked_ns, r->load_ns,
				       r->hashing_ns);
			if (cls == PROFILE_INTEGER)
				printf(",\"%s\":%" PRIu64, artifact == 1 ? "bytes" : "sum", r->sum);
			printf("}");
		}
		printf("]");
	}
	printf(",\"cpu_ns\":%" PRIu64 ",\"wall_ns\":%" PRIu64 ",\"threads\":%" PRIu64
	       ",\"events\":%" PRIu64 ",\"dropped\":{\"client\":%" PRIu64 ",\"daemon\":%" PRIu64 "},"
	       "\"warnings\":{\"unmatched_end\":%" PRIu64 ",\"out_of_order\":%" PRIu64
	       ",\"open\":%" PRIu64 ",\"undefined_strings\":%" PRIu64 "}",
	       tot->cpu_ns, profile_wall_ns(tot), tot->threads, tot->events, tot->client_dropped,
	       tot->daemon_dropped, tot->unmatched_end, tot->out_of_order, tot->open, tot->undefined);
	free(rows);
	return 0;
}

static int sum_all(const struct profile *p, bool json)
{
	struct profile_table tab = { 0 };
	struct profile_totals tot = { 0 };
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < p->nprocs; i++)
		ret = profile_merge(&tab, &tot, &p->procs[i]);
	if (ret == 0 && json) {
		printf("{\"processes\":[");
		for (size_t i = 0; i < p->nprocs; i++) {
			printf("%s{", i ? "," : "");
			sum_json_proc(&p->procs[i]);
			printf("}");
		}
		printf("],");
		ret = sum_json_section(&tab, &tot);
		printf("}\n");
	} else if (ret == 0) {
		ret = sum_print_text(&tab, &tot);
	}
	profile_table_free(&tab);
	return ret;
}

static int sum_by_process(const struct profile *p, bool json)
{
	int ret = 0;

	if (json)
		printf("{\"processes\":[");
	for (size_t i = 0; ret == 0 && i < p->nprocs; i++) {
		const struct profile_proc *pr = &p->procs[i];
		struct profile_totals tot = pr->tot;

		tot.processes = 1;
		if (json) {
			printf("%s{", i ? "," : "");
			sum_json_proc(pr);
			printf(",");
			ret = sum_json_section(&pr->tab, &tot);
			printf("}");
			continue;
		}
		printf("%sProcess %zu of %zu: ", i ? "\n" : "", i + 1, p->nprocs);
		cli_print_bytes(stdout, pr->id.name, strlen(pr->id.name), false);
		printf(", pid %" PRIu32 " on ", pr->id.pid);
		cli_print_bytes(stdout, pr->id.host, strlen(pr->id.host), false);
		printf("\nCommand line: ");
		profile_print_cmdline(stdout, pr);
		printf("\n\n");
		ret = sum_print_text(&pr->tab, &tot);
	}
	if (json)
		printf("]}\n");
	return ret;
}

int summarize_main(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "--json", SUM_JSON }, { "--recover", SUM_RECOVER }, { "--by-arg", SUM_BY_ARG },
		{ "--by-process", SUM_BY_PROCESS }, { NULL, 0 }
	};
	struct profile p = { 0 };
	unsigned bits;
	int n, ret, status;

	n = cli_parse(argc, argv, flags, &bits, summarize_usage);
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_USAGE;
	p.by_arg = bits & SUM_BY_ARG;
	ret = profile_read(&p, argv, n, bits & SUM_RECOVER ? RP_READER_RECOVER : 0);
	if (ret < 0) {
		profile_free(&p);
		return CLI_EXIT_BAD;
	}
	status = p.damaged ? CLI_EXIT_BAD : 0;
	ret = bits & SUM_BY_PROCESS ? sum_by_process(&p, bits & SUM_JSON) :
				      sum_all(&p, bits & SUM_JSON);
	if (ret < 0) {
		fprintf(stderr, "ringprof: out of memory\n");
		status = CLI_EXIT_BAD;
	}
	profile_free(&p);
	return status;
}
