/*
 * summarize.c - `ringprof summarize`: where the time went, per item.
 *
 * Intervals are matched per thread: an END closes the innermost open BEGIN
 * of the same kind and argument.  When that BEGIN is not the innermost open
 * one, the intervals above it stay open and the match is counted as closed
 * out of order; an END with no such BEGIN is counted as unmatched.  A
 * closed interval's self time is its duration minus the durations of the
 * intervals closed directly inside it (clamped at 0).  Intervals still open
 * when the input ends are counted as open.  Threads are told apart by the
 * segment's host, boot id, daemon, registration and pid, so an interval may
 * span a rotation of segments.
 *
 * Memory: one row per distinct (kind, argument) and one stack per thread as
 * deep as its nesting; nothing grows with the number of events.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "cli.h"

#define SUM_JSON    0x1u
#define SUM_RECOVER 0x2u
#define SUM_BY_ARG  0x4u

static const char summarize_usage[] =
	"usage: ringprof summarize [--json] [--recover] [--by-arg] PATH...\n"
	"\n"
	"Tables of what the recorded processes spent their time on:\n"
	"  intervals  one row per Item and Kind.  The Item is the argument's\n"
	"             label: an argument written name(key), such as a query and\n"
	"             its key \"typeck(main)\", counts under its name \"typeck\"\n"
	"             (with --by-arg, under the whole argument); the kind when\n"
	"             there is no argument.  Columns: count, total time, self time (the time\n"
	"             not spent in intervals nested directly inside) and cache\n"
	"             hits (QueryCacheHit instants with the same argument, shown\n"
	"             on the Query row); sorted by self time, largest first\n"
	"  instants   count per kind and argument\n"
	"  integers   count and sum of values per kind and argument\n"
	"then the events read and dropped (from the loss counters), and a warning\n"
	"line for ENDs without BEGIN, intervals closed out of order and intervals\n"
	"still open at the end.  An END closes the innermost open BEGIN of the\n"
	"same kind and argument.  Times are in milliseconds.\n"
	"\n"
	"  --json     print one JSON object instead of tables (times in ns)\n"
	"  --recover  read every whole block of a damaged file instead of stopping\n"
	"  --by-arg   one row per whole argument instead of per label\n";

enum sum_class { SUM_INTERVAL, SUM_INSTANT, SUM_INTEGER };

struct sum_row {
	enum sum_class cls;
	char *kind, *arg;        /* NUL-terminated copies; arg NULL when none */
	size_t kind_len, arg_len;
	uint64_t hash;
	uint64_t count;
	uint64_t total_ns, self_ns;
	uint64_t cache_hits;
	uint64_t sum;            /* INTEGER values, saturating */
};

struct sum_open {
	struct sum_row *row;
	int64_t begin_ns;
	uint64_t child_ns;
};

/* Identity of a thread across segments of the same client. */
struct sum_thread_key {
	char host[64];
	char boot_id[40];
	uint64_t daemon_pid;
	uint32_t client_id;
	uint32_t pid;
	uint32_t thread;
	uint32_t zero;       /* no padding: keys are compared with memcmp() */
};

_Static_assert(sizeof(struct sum_thread_key) == 128, "thread key has no padding");

struct sum_thread {
	struct sum_thread_key key;
	struct sum_open *stack;
	size_t depth, cap;
	struct rp_seg_loss loss;  /* latest cumulative counters */
};

struct sum {
	struct sum_row **slots;  /* open addressing on (class, kind, arg) */
	size_t mask, rows;
	struct sum_thread *threads;
	size_t nthreads, tcap, last;
	struct sum_thread_key seg;   /* thread key of the current segment */
	uint64_t events;
	uint64_t unmatched_end, out_of_order, undefined;
	bool by_arg;                 /* --by-arg: rows per whole argument */
};

static uint64_t sum_hash(enum sum_class cls, const char *k, size_t kl, const char *a, size_t al)
{
	uint64_t h = 1469598103934665603u ^ (uint64_t)cls;

	for (size_t i = 0; i < kl; i++)
		h = (h ^ (unsigned char)k[i]) * 1099511628211u;
	h = (h ^ (a ? 0x100u : 0x200u)) * 1099511628211u;
	for (size_t i = 0; i < al; i++)
		h = (h ^ (unsigned char)a[i]) * 1099511628211u;
	return h;
}

static bool sum_row_is(const struct sum_row *r, enum sum_class cls, const char *k, size_t kl,
		       const char *a, size_t al)
{
	return r->cls == cls && r->kind_len == kl && memcmp(r->kind, k, kl) == 0 &&
	       (r->arg != NULL) == (a != NULL) && r->arg_len == al &&
	       (!a || memcmp(r->arg, a, al) == 0);
}

static int sum_grow(struct sum *s)
{
	size_t cap = s->slots ? (s->mask + 1) * 2 : 1024;
	struct sum_row **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; s->slots && i <= s->mask; i++) {
		struct sum_row *r = s->slots[i];
		if (!r)
			continue;
		size_t j = r->hash & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = r;
	}
	free(s->slots);
	s->slots = slots;
	s->mask = cap - 1;
	return 0;
}

static char *sum_dup(const char *p, size_t len)
{
	char *c = malloc(len + 1);

	if (c) {
		memcpy(c, p, len);
		c[len] = '\0';
	}
	return c;
}

/* The row of (cls, kind, arg), created at zero; NULL when out of memory. */
static struct sum_row *sum_row_get(struct sum *s, enum sum_class cls, const char *k, size_t kl,
				   const char *a, size_t al)
{
	uint64_t h = sum_hash(cls, k, kl, a, al);
	struct sum_row *r;
	size_t i;

	if ((s->rows + 1) * 2 > (s->slots ? s->mask + 1 : 0) && sum_grow(s) < 0)
		return NULL;
	for (i = h & s->mask; s->slots[i]; i = (i + 1) & s->mask)
		if (s->slots[i]->hash == h && sum_row_is(s->slots[i], cls, k, kl, a, al))
			return s->slots[i];
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cls = cls;
	r->hash = h;
	r->kind = sum_dup(k, kl);
	r->kind_len = kl;
	r->arg = a ? sum_dup(a, al) : NULL;
	r->arg_len = a ? al : 0;
	if (!r->kind || (a && !r->arg)) {
		free(r->kind);
		free(r->arg);
		free(r);
		return NULL;
	}
	s->slots[i] = r;
	s->rows++;
	return r;
}

static struct sum_thread *sum_thread_get(struct sum *s, uint32_t thread)
{
	struct sum_thread_key key = s->seg;

	key.thread = thread;
	if (s->last < s->nthreads && memcmp(&s->threads[s->last].key, &key, sizeof(key)) == 0)
		return &s->threads[s->last];
	for (size_t i = 0; i < s->nthreads; i++) {
		if (memcmp(&s->threads[i].key, &key, sizeof(key)) == 0) {
			s->last = i;
			return &s->threads[i];
		}
	}
	if (s->nthreads == s->tcap) {
		size_t cap = s->tcap ? s->tcap * 2 : 16;
		struct sum_thread *t = reallocarray(s->threads, cap, sizeof(*t));
		if (!t)
			return NULL;
		s->threads = t;
		s->tcap = cap;
	}
	memset(&s->threads[s->nthreads], 0, sizeof(s->threads[0]));
	s->threads[s->nthreads].key = key;
	s->last = s->nthreads;
	return &s->threads[s->nthreads++];
}

static void sum_add_sat(uint64_t *a, uint64_t b)
{
	*a = *a + b < *a ? UINT64_MAX : *a + b;
}

/* Close the open interval at stack position i at end_ns. */
static void sum_close(struct sum_thread *t, size_t i, int64_t end_ns)
{
	struct sum_open *o = &t->stack[i];
	uint64_t dur = end_ns > o->begin_ns ? (uint64_t)end_ns - (uint64_t)o->begin_ns : 0;

	o->row->count++;
	sum_add_sat(&o->row->total_ns, dur);
	sum_add_sat(&o->row->self_ns, dur > o->child_ns ? dur - o->child_ns : 0);
	if (i > 0)
		sum_add_sat(&t->stack[i - 1].child_ns, dur);
	memmove(&t->stack[i], &t->stack[i + 1], (t->depth - i - 1) * sizeof(*o));
	t->depth--;
}

static int sum_event(struct sum *s, const struct rp_item *it)
{
	const char *k = it->event.kind, *a = it->event.arg;
	size_t kl = it->event.kind_len, al = it->event.arg_len;
	struct sum_thread *t;
	struct sum_row *r;

	/* The label of "name(key)" is "name"; see summarize_usage. */
	if (a && !s->by_arg) {
		const char *paren = memchr(a, '(', al);

		if (paren && paren > a)
			al = (size_t)(paren - a);
	}
	s->events++;
	if (it->event.undefined)
		s->undefined++;
	switch (it->event.type) {
	case RP_REC_BEGIN:
		t = sum_thread_get(s, it->event.thread);
		r = sum_row_get(s, SUM_INTERVAL, k, kl, a, al);
		if (!t || !r)
			return -ENOMEM;
		if (t->depth == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 16;
			struct sum_open *st = reallocarray(t->stack, cap, sizeof(*st));
			if (!st)
				return -ENOMEM;
			t->stack = st;
			t->cap = cap;
		}
		t->stack[t->depth++] = (struct sum_open){ .row = r, .begin_ns = it->event.ns };
		return 0;
	case RP_REC_END:
		t = sum_thread_get(s, it->event.thread);
		r = sum_row_get(s, SUM_INTERVAL, k, kl, a, al);
		if (!t || !r)
			return -ENOMEM;
		for (size_t i = t->depth; i-- > 0;) {
			if (t->stack[i].row == r) {
				if (i + 1 != t->depth)
					s->out_of_order++;
				sum_close(t, i, it->event.ns);
				return 0;
			}
		}
		s->unmatched_end++;
		return 0;
	case RP_REC_INSTANT:
		r = sum_row_get(s, SUM_INSTANT, k, kl, a, al);
		if (!r)
			return -ENOMEM;
		r->count++;
		if (kl == 13 && memcmp(k, "QueryCacheHit", 13) == 0) {
			r = sum_row_get(s, SUM_INTERVAL, "Query", 5, a, al);
			if (!r)
				return -ENOMEM;
			r->cache_hits++;
		}
		return 0;
	case RP_REC_INTEGER:
		r = sum_row_get(s, SUM_INTEGER, k, kl, a, al);
		if (!r)
			return -ENOMEM;
		r->count++;
		sum_add_sat(&r->sum, it->event.value);
		return 0;
	default:
		return 0;  /* THREAD_NAME */
	}
}

static int sum_row_cmp(const void *pa, const void *pb)
{
	const struct sum_row *a = *(struct sum_row *const *)pa, *b = *(struct sum_row *const *)pb;
	const char *ai = a->arg ? a->arg : a->kind, *bi = b->arg ? b->arg : b->kind;
	int c;

	if (a->cls != b->cls)
		return a->cls < b->cls ? -1 : 1;
	if (a->cls == SUM_INTERVAL && a->self_ns != b->self_ns)
		return a->self_ns > b->self_ns ? -1 : 1;
	if (a->cls == SUM_INTEGER && a->sum != b->sum)
		return a->sum > b->sum ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	c = strcmp(ai, bi);
	return c ? c : strcmp(a->kind, b->kind);
}

static size_t sum_ms_width(uint64_t ns)
{
	char b[32];
	return (size_t)snprintf(b, sizeof(b), "%" PRIu64 ".%06" PRIu64, ns / 1000000, ns % 1000000);
}

static size_t sum_u64_width(uint64_t v)
{
	char b[24];
	return (size_t)snprintf(b, sizeof(b), "%" PRIu64, v);
}

static void sum_pad(size_t n)
{
	while (n--)
		putchar(' ');
}

/* Columns printed as cli_print_bytes() prints them (\xNN escapes). */
static size_t sum_text_width(const char *s, size_t len)
{
	size_t w = 0;

	for (size_t i = 0; i < len; i++)
		w += ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? 4 : 1;
	return w;
}

static void sum_cell_text(const char *s, size_t len, size_t width)
{
	size_t w = sum_text_width(s, len);

	cli_print_bytes(stdout, s, len, false);
	sum_pad(width > w ? width - w : 0);
}

static void sum_cell_u64(uint64_t v, size_t width)
{
	printf("%*" PRIu64, (int)width, v);
}

static void sum_cell_ms(uint64_t ns, size_t width)
{
	size_t w = sum_ms_width(ns);

	sum_pad(width > w ? width - w : 0);
	cli_print_ms(stdout, (int64_t)(ns > INT64_MAX ? INT64_MAX : ns));
}

static void sum_widen(size_t *w, size_t v)
{
	if (v > *w)
		*w = v;
}

/* One table: the n rows of class cls, with a Total line for intervals. */
static void sum_print_table(struct sum_row **rows, size_t n, enum sum_class cls)
{
	static const char *const heads[][6] = {
		[SUM_INTERVAL] = { "Item", "Kind", "Count", "Total ms", "Self ms", "Cache hits" },
		[SUM_INSTANT] = { "Item", "Kind", "Count", NULL, NULL, NULL },
		[SUM_INTEGER] = { "Item", "Kind", "Count", "Sum", NULL, NULL },
	};
	const char *const *h = heads[cls];
	size_t w[6] = { 0 }, cols = 0;
	uint64_t tot_count = 0, tot_self = 0, tot_hits = 0;

	while (cols < 6 && h[cols]) {
		w[cols] = strlen(h[cols]);
		cols++;
	}
	if (cls == SUM_INTERVAL)
		sum_widen(&w[0], strlen("Total"));
	for (size_t i = 0; i < n; i++) {
		const struct sum_row *r = rows[i];

		sum_widen(&w[0], r->arg ? sum_text_width(r->arg, r->arg_len) :
					  sum_text_width(r->kind, r->kind_len));
		sum_widen(&w[1], sum_text_width(r->kind, r->kind_len));
		tot_count += r->count;
		sum_add_sat(&tot_self, r->self_ns);
		tot_hits += r->cache_hits;
		sum_widen(&w[2], sum_u64_width(tot_count));
		if (cls == SUM_INTERVAL) {
			sum_widen(&w[3], sum_ms_width(r->total_ns));
			sum_widen(&w[4], sum_ms_width(tot_self));
			sum_widen(&w[5], sum_u64_width(tot_hits));
		} else if (cls == SUM_INTEGER) {
			sum_widen(&w[3], sum_u64_width(r->sum));
		}
	}
	for (size_t c = 0; c < cols; c++) {
		if (c)
			printf("  ");
		if (c < 2)
			printf("%-*s", (int)w[c], h[c]);
		else
			printf("%*s", (int)w[c], h[c]);
	}
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		const struct sum_row *r = rows[i];

		if (r->arg)
			sum_cell_text(r->arg, r->arg_len, w[0]);
		else
			sum_cell_text(r->kind, r->kind_len, w[0]);
		printf("  ");
		sum_cell_text(r->kind, r->kind_len, w[1]);
		printf("  ");
		sum_cell_u64(r->count, w[2]);
		if (cls == SUM_INTERVAL) {
			printf("  ");
			sum_cell_ms(r->total_ns, w[3]);
			printf("  ");
			sum_cell_ms(r->self_ns, w[4]);
			printf("  ");
			sum_cell_u64(r->cache_hits, w[5]);
		} else if (cls == SUM_INTEGER) {
			printf("  ");
			sum_cell_u64(r->sum, w[3]);
		}
		putchar('\n');
	}
	if (cls == SUM_INTERVAL) {
		printf("%-*s  %-*s  ", (int)w[0], "Total", (int)w[1], "");
		sum_cell_u64(tot_count, w[2]);
		printf("  %*s  ", (int)w[3], "");
		sum_cell_ms(tot_self, w[4]);
		printf("  ");
		sum_cell_u64(tot_hits, w[5]);
		putchar('\n');
	}
}

static void sum_json_str(const char *s, size_t len)
{
	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);  /* bytes shown as code points U+0000..U+00FF */
		else
			putchar(c);
	}
	putchar('"');
}

static void sum_print_json(const struct sum *s, struct sum_row **rows, size_t n,
			   uint64_t open, uint64_t cdrop, uint64_t ddrop)
{
	static const char *const names[] = { "intervals", "instants", "integers" };
	size_t i = 0;

	printf("{");
	for (int cls = SUM_INTERVAL; cls <= SUM_INTEGER; cls++) {
		bool first = true;
		printf("\"%s\":[", names[cls]);
		for (; i < n && rows[i]->cls == (enum sum_class)cls; i++) {
			const struct sum_row *r = rows[i];
			printf("%s{\"item\":", first ? "" : ",");
			first = false;
			sum_json_str(r->arg ? r->arg : r->kind, r->arg ? r->arg_len : r->kind_len);
			printf(",\"kind\":");
			sum_json_str(r->kind, r->kind_len);
			printf(",\"arg\":");
			if (r->arg)
				sum_json_str(r->arg, r->arg_len);
			else
				printf("null");
			printf(",\"count\":%" PRIu64, r->count);
			if (cls == SUM_INTERVAL)
				printf(",\"total_ns\":%" PRIu64 ",\"self_ns\":%" PRIu64
				       ",\"cache_hits\":%" PRIu64, r->total_ns, r->self_ns, r->cache_hits);
			if (cls == SUM_INTEGER)
				printf(",\"sum\":%" PRIu64, r->sum);
			printf("}");
		}
		printf("],");
	}
	printf("\"events\":%" PRIu64 ",\"dropped\":{\"client\":%" PRIu64 ",\"daemon\":%" PRIu64 "},"
	       "\"warnings\":{\"unmatched_end\":%" PRIu64 ",\"out_of_order\":%" PRIu64
	       ",\"open\":%" PRIu64 ",\"undefined_strings\":%" PRIu64 "}}\n",
	       s->events, cdrop, ddrop, s->unmatched_end, s->out_of_order, open, s->undefined);
}

static void sum_free(struct sum *s)
{
	for (size_t i = 0; s->slots && i <= s->mask; i++) {
		if (s->slots[i]) {
			free(s->slots[i]->kind);
			free(s->slots[i]->arg);
			free(s->slots[i]);
		}
	}
	free(s->slots);
	for (size_t i = 0; i < s->nthreads; i++)
		free(s->threads[i].stack);
	free(s->threads);
}

static const char *sum_plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static int sum_report(struct sum *s, bool json)
{
	struct sum_row **rows = calloc(s->rows ? s->rows : 1, sizeof(*rows));
	uint64_t open = 0, cdrop = 0, ddrop = 0;
	size_t n = 0, i;

	if (!rows)
		return -ENOMEM;
	for (i = 0; s->slots && i <= s->mask; i++)
		if (s->slots[i])
			rows[n++] = s->slots[i];
	qsort(rows, n, sizeof(*rows), sum_row_cmp);
	for (i = 0; i < s->nthreads; i++) {
		open += s->threads[i].depth;
		cdrop += s->threads[i].loss.client_dropped;
		ddrop += s->threads[i].loss.daemon_dropped;
	}
	if (json) {
		sum_print_json(s, rows, n, open, cdrop, ddrop);
		free(rows);
		return 0;
	}
	i = 0;
	for (int cls = SUM_INTERVAL; cls <= SUM_INTEGER; cls++) {
		size_t lo = i;
		while (i < n && rows[i]->cls == (enum sum_class)cls)
			i++;
		if (cls != SUM_INTERVAL && i == lo)
			continue;
		if (cls != SUM_INTERVAL)
			printf("\n%s\n", cls == SUM_INSTANT ? "Instants" : "Integers");
		sum_print_table(rows + lo, i - lo, (enum sum_class)cls);
	}
	printf("\nEvents: %" PRIu64 " read, %" PRIu64 " dropped (%" PRIu64 " by clients, %" PRIu64
	       " by the daemon)\n", s->events, cdrop + ddrop, cdrop, ddrop);
	if (s->unmatched_end || s->out_of_order || open || s->undefined) {
		printf("warning: %" PRIu64 " %s, %" PRIu64 " %s, %" PRIu64 " %s, %" PRIu64 " %s\n",
		       s->unmatched_end, sum_plural(s->unmatched_end, "END without BEGIN", "ENDs without BEGIN"),
		       s->out_of_order, sum_plural(s->out_of_order, "interval closed out of order",
						    "intervals closed out of order"),
		       open, sum_plural(open, "interval still open at the end", "intervals still open at the end"),
		       s->undefined, sum_plural(s->undefined, "event with undefined strings",
						 "events with undefined strings"));
	}
	free(rows);
	return 0;
}

int summarize_main(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "--json", SUM_JSON }, { "--recover", SUM_RECOVER },
		{ "--by-arg", SUM_BY_ARG }, { NULL, 0 }
	};
	struct sum s = { 0 };
	struct rp_reader *r;
	struct rp_item it;
	unsigned bits;
	int n, ret, status = 0;

	n = cli_parse(argc, argv, flags, &bits, summarize_usage);
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_USAGE;
	s.by_arg = bits & SUM_BY_ARG;
	r = cli_open(argv, n, RP_READER_ALLOW_UNSEALED |
		     (bits & SUM_RECOVER ? RP_READER_RECOVER : 0));
	if (!r)
		return CLI_EXIT_BAD;
	while ((ret = rp_reader_next(r, &it)) == 1) {
		struct sum_thread *t;

		switch (it.kind) {
		case RP_ITEM_SEGMENT:
			memset(&s.seg, 0, sizeof(s.seg));
			memcpy(s.seg.host, it.segment.info.host, sizeof(s.seg.host));
			memcpy(s.seg.boot_id, it.segment.info.boot_id, sizeof(s.seg.boot_id));
			s.seg.daemon_pid = it.segment.info.daemon_pid;
			s.seg.client_id = it.segment.info.client_id;
			s.seg.pid = it.segment.info.pid;
			break;
		case RP_ITEM_EVENT:
			ret = sum_event(&s, &it);
			break;
		case RP_ITEM_LOSS:
			t = sum_thread_get(&s, it.loss.thread);
			if (!t)
				ret = -ENOMEM;
			else
				t->loss = it.loss;
			break;
		case RP_ITEM_TRUNCATED:
			if (!it.truncated.unsealed) {
				fprintf(stderr, "ringprof: %s; %" PRIu64 " whole blocks read\n",
					it.truncated.message, it.truncated.blocks);
				status = CLI_EXIT_BAD;
			}
			break;
		default:
			break;
		}
		if (ret < 0) {
			fprintf(stderr, "ringprof: out of memory\n");
			status = CLI_EXIT_BAD;
			goto out;
		}
	}
	if (ret < 0) {
		fprintf(stderr, "ringprof: %s\n", rp_reader_error(r));
		status = CLI_EXIT_BAD;
		goto out;
	}
	if (sum_report(&s, bits & SUM_JSON) < 0) {
		fprintf(stderr, "ringprof: out of memory\n");
		status = CLI_EXIT_BAD;
	}
out:
	sum_free(&s);
	rp_reader_close(r);
	return status;
}
