/*
 * profile.c - segments folded into per-process tables of items, the model
 * behind summarize, diff and report.
 *
 * Intervals are matched per thread: an END closes the innermost open BEGIN
 * of the same kind and argument.  When that BEGIN is not the innermost open
 * one, the intervals above it stay open and the match is counted as closed
 * out of order; an END with no such BEGIN is counted as unmatched.
 * Intervals still open when the input ends are counted as open.  None of
 * these stops the analysis.
 *
 * Items follow rustc's measureme (analyzeme): the Item of an event is its
 * label (the argument "typeck(main)" has the label "typeck"; with by_arg the
 * whole argument; the kind when there is no argument), and every interval
 * counts in the row of its own label, whatever its kind:
 *   self time  its duration minus the durations of the intervals closed
 *              directly inside it (clamped at 0).  So a QueryBlocked,
 *              IncrementalLoadResult or IncrementalResultHashing interval
 *              nested in a Query is taken out of that Query's self time and
 *              counted in the self time of its own label (for a load or a
 *              hash of the query's own key: the same row).
 *   time       its whole duration, except IncrementalResultHashing (it runs
 *              inside the query it fingerprints, already counted there).
 *              A query recursing into its own label counts twice.
 *   count      Query, QueryBlocked, GenericActivity and other kinds' intervals
 *              plus QueryCacheHit instants; loads and hashings do not count.
 *   cache hits QueryCacheHit instants.
 *   blocked    QueryBlocked durations; incremental load and result hashing:
 *              IncrementalLoadResult and IncrementalResultHashing durations
 *              minus what is nested inside them (their share of self time).
 * Other instants are counted per kind and label, integers summed per kind
 * and label (ArtifactSize: bytes of an artifact).
 *
 * A thread's CPU time is the span from its first to its last event (BEGIN,
 * END, INSTANT or INTEGER); a process's wall time the span of all its
 * events.  Threads are told apart by the segment's host, boot id, daemon,
 * registration and pid, and by the thread number, so an interval may span a
 * rotation of segments; those same fields tell processes apart.
 *
 * Memory: one row per distinct item and process, one stack per thread as
 * deep as its nesting; nothing grows with the number of events.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "cli.h"
#include "export.h"
#include "profile.h"
#include "symbols.h"

enum profile_ikind { IK_QUERY, IK_BLOCKED, IK_LOAD, IK_HASHING, IK_OTHER };

struct profile_open {
	struct profile_row *row;
	enum profile_ikind ik;
	const char *kind, *arg;  /* to match the END: row is per label only */
	char *kcopy, *acopy;     /* kind and argument kept past a segment change */
	size_t kl, al;
	int64_t begin_ns;
	uint64_t child_ns;
};

struct profile_thread {
	size_t proc;
	uint32_t thread;
	struct profile_open *stack;
	size_t depth, cap;
	int64_t first_ns, last_ns;
	bool seen;
	struct rp_seg_loss loss;  /* latest cumulative counters */
};

void profile_add_sat(uint64_t *a, uint64_t b)
{
	*a = *a + b < *a ? UINT64_MAX : *a + b;
}

static uint64_t profile_hash(enum profile_class cls, const char *k, size_t kl, const char *l,
			     size_t ll)
{
	uint64_t h = 1469598103934665603u ^ (uint64_t)cls;

	for (size_t i = 0; i < kl; i++)
		h = (h ^ (unsigned char)k[i]) * 1099511628211u;
	h = (h ^ 0x100u) * 1099511628211u;
	for (size_t i = 0; i < ll; i++)
		h = (h ^ (unsigned char)l[i]) * 1099511628211u;
	return h;
}

static int profile_grow(struct profile_table *t)
{
	size_t cap = t->slots ? (t->mask + 1) * 2 : 64;
	struct profile_row **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; t->slots && i <= t->mask; i++) {
		struct profile_row *r = t->slots[i];
		if (!r)
			continue;
		size_t j = r->hash & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = r;
	}
	free(t->slots);
	t->slots = slots;
	t->mask = cap - 1;
	return 0;
}

static char *profile_dup(const char *p, size_t len)
{
	char *c = malloc(len + 1);

	if (c) {
		memcpy(c, p, len);
		c[len] = '\0';
	}
	return c;
}

const struct profile_row *profile_row_find(const struct profile_table *t, enum profile_class cls,
					   const char *k, size_t kl, const char *l, size_t ll)
{
	uint64_t h = profile_hash(cls, k, kl, l, ll);

	for (size_t i = h & t->mask; t->slots && t->slots[i]; i = (i + 1) & t->mask) {
		const struct profile_row *r = t->slots[i];
		if (r->hash == h && r->cls == cls && r->kind_len == kl && r->label_len == ll &&
		    memcmp(r->kind, k, kl) == 0 && memcmp(r->label, l, ll) == 0)
			return r;
	}
	return NULL;
}

struct profile_row *profile_row_get(struct profile_table *t, enum profile_class cls,
				    const char *k, size_t kl, const char *l, size_t ll)
{
	uint64_t h = profile_hash(cls, k, kl, l, ll);
	struct profile_row *r;
	size_t i;

	if ((t->rows + 1) * 2 > (t->slots ? t->mask + 1 : 0) && profile_grow(t) < 0)
		return NULL;
	for (i = h & t->mask; t->slots[i]; i = (i + 1) & t->mask) {
		r = t->slots[i];
		if (r->hash == h && r->cls == cls && r->kind_len == kl && r->label_len == ll &&
		    memcmp(r->kind, k, kl) == 0 && memcmp(r->label, l, ll) == 0)
			return r;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cls = cls;
	r->hash = h;
	r->kind = profile_dup(k, kl);
	r->kind_len = kl;
	r->label = profile_dup(l, ll);
	r->label_len = ll;
	if (!r->kind || !r->label) {
		free(r->kind);
		free(r->label);
		free(r);
		return NULL;
	}
	t->slots[i] = r;
	t->rows++;
	return r;
}

void profile_table_free(struct profile_table *t)
{
	for (size_t i = 0; t->slots && i <= t->mask; i++) {
		if (t->slots[i]) {
			free(t->slots[i]->kind);
			free(t->slots[i]->label);
			free(t->slots[i]);
		}
	}
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static int profile_row_cmp(const void *pa, const void *pb)
{
	const struct profile_row *a = *(struct profile_row *const *)pa;
	const struct profile_row *b = *(struct profile_row *const *)pb;
	int c;

	if (a->cls != b->cls)
		return a->cls < b->cls ? -1 : 1;
	if (a->cls == PROFILE_ITEM && a->self_ns != b->self_ns)
		return a->self_ns > b->self_ns ? -1 : 1;
	if (a->cls == PROFILE_INTEGER && a->sum != b->sum)
		return a->sum > b->sum ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	c = strcmp(a->label, b->label);
	return c ? c : strcmp(a->kind, b->kind);
}

struct profile_row **profile_sorted(const struct profile_table *t, size_t *n)
{
	struct profile_row **rows = calloc(t->rows ? t->rows : 1, sizeof(*rows));

	*n = 0;
	if (!rows)
		return NULL;
	for (size_t i = 0; t->slots && i <= t->mask; i++)
		if (t->slots[i])
			rows[(*n)++] = t->slots[i];
	qsort(rows, *n, sizeof(*rows), profile_row_cmp);
	return rows;
}

static void profile_span(struct profile_totals *t, int64_t first, int64_t last)
{
	if (!t->has_span || first < t->first_ns)
		t->first_ns = first;
	if (!t->has_span || last > t->last_ns)
		t->last_ns = last;
	t->has_span = true;
}

uint64_t profile_wall_ns(const struct profile_totals *tot)
{
	return tot->has_span ? (uint64_t)tot->last_ns - (uint64_t)tot->first_ns : 0;
}

int profile_merge(struct profile_table *tab, struct profile_totals *tot,
		  const struct profile_proc *proc)
{
	const struct profile_table *from = &proc->tab;
	const struct profile_totals *pt = &proc->tot;

	for (size_t i = 0; from->slots && i <= from->mask; i++) {
		const struct profile_row *s = from->slots[i];
		struct profile_row *r;

		if (!s)
			continue;
		r = profile_row_get(tab, s->cls, s->kind, s->kind_len, s->label, s->label_len);
		if (!r)
			return -ENOMEM;
		r->count += s->count;
		profile_add_sat(&r->self_ns, s->self_ns);
		profile_add_sat(&r->time_ns, s->time_ns);
		r->cache_hits += s->cache_hits;
		profile_add_sat(&r->blocked_ns, s->blocked_ns);
		profile_add_sat(&r->load_ns, s->load_ns);
		profile_add_sat(&r->hashing_ns, s->hashing_ns);
		profile_add_sat(&r->sum, s->sum);
	}
	tot->processes++;
	tot->threads += pt->threads;
	tot->events += pt->events;
	tot->client_dropped += pt->client_dropped;
	tot->daemon_dropped += pt->daemon_dropped;
	profile_add_sat(&tot->cpu_ns, pt->cpu_ns);
	if (pt->has_span)
		profile_span(tot, pt->first_ns, pt->last_ns);
	tot->unmatched_end += pt->unmatched_end;
	tot->out_of_order += pt->out_of_order;
	tot->open += pt->open;
	tot->undefined += pt->undefined;
	return 0;
}

/* The process of a SEGMENT item, added when new; its index or -ENOMEM. */
static ssize_t profile_proc_get(struct profile *p, const struct rp_item *it)
{
	const struct rp_seg_info *in = &it->segment.info;
	struct profile_proc *pr;

	for (size_t i = p->nprocs; i-- > 0;)
		if (procid_is(&p->procs[i].id, in))
			return (ssize_t)i;
	if (p->nprocs == p->pcap) {
		size_t cap = p->pcap ? p->pcap * 2 : 8;
		struct profile_proc *procs = reallocarray(p->procs, cap, sizeof(*procs));
		if (!procs)
			return -ENOMEM;
		p->procs = procs;
		p->pcap = cap;
	}
	pr = &p->procs[p->nprocs];
	memset(pr, 0, sizeof(*pr));
	procid_set(&pr->id, in);
	pr->cmdline = profile_dup(it->segment.cmdline, in->cmdline_len);
	if (!pr->cmdline)
		return -ENOMEM;
	pr->cmdline_len = in->cmdline_len;
	return (ssize_t)p->nprocs++;
}

static struct profile_thread *profile_thread_get(struct profile *p, uint32_t thread)
{
	struct profile_thread *t;

	if (p->last < p->nthreads && p->threads[p->last].proc == p->cur &&
	    p->threads[p->last].thread == thread)
		return &p->threads[p->last];
	for (size_t i = 0; i < p->nthreads; i++) {
		if (p->threads[i].proc == p->cur && p->threads[i].thread == thread) {
			p->last = i;
			return &p->threads[i];
		}
	}
	if (p->nthreads == p->tcap) {
		size_t cap = p->tcap ? p->tcap * 2 : 16;
		t = reallocarray(p->threads, cap, sizeof(*t));
		if (!t)
			return NULL;
		p->threads = t;
		p->tcap = cap;
	}
	t = &p->threads[p->nthreads];
	memset(t, 0, sizeof(*t));
	t->proc = p->cur;
	t->thread = thread;
	p->last = p->nthreads;
	return &p->threads[p->nthreads++];
}

static enum profile_ikind profile_ikind(const char *k, size_t kl)
{
	static const struct {
		const char *name;
		enum profile_ikind ik;
	} kinds[] = {
		{ "Query", IK_QUERY },
		{ "QueryBlocked", IK_BLOCKED },
		{ "IncrementalLoadResult", IK_LOAD },
		{ "IncrementalResultHashing", IK_HASHING },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kl == strlen(kinds[i].name) && memcmp(k, kinds[i].name, kl) == 0)
			return kinds[i].ik;
	return IK_OTHER;
}

/* Whether open interval o is the one an END of kind k, argument a closes. */
static bool profile_open_is(const struct profile_open *o, const char *k, size_t kl,
			    const char *a, size_t al)
{
	return o->kl == kl && o->al == al && (o->arg != NULL) == (a != NULL) &&
	       memcmp(o->kind, k, kl) == 0 && (!a || memcmp(o->arg, a, al) == 0);
}

/* Close the open interval at stack position i at end_ns. */
static void profile_close(struct profile_thread *t, size_t i, int64_t end_ns)
{
	struct profile_open *o = &t->stack[i];
	struct profile_row *r = o->row;
	uint64_t dur = end_ns > o->begin_ns ? (uint64_t)end_ns - (uint64_t)o->begin_ns : 0;
	uint64_t self = dur > o->child_ns ? dur - o->child_ns : 0;

	profile_add_sat(&r->self_ns, self);
	if (o->ik != IK_HASHING)
		profile_add_sat(&r->time_ns, dur);
	if (o->ik != IK_LOAD && o->ik != IK_HASHING)
		r->count++;
	if (o->ik == IK_BLOCKED)
		profile_add_sat(&r->blocked_ns, dur);
	if (o->ik == IK_LOAD)
		profile_add_sat(&r->load_ns, self);
	if (o->ik == IK_HASHING)
		profile_add_sat(&r->hashing_ns, self);
	if (i > 0)
		profile_add_sat(&t->stack[i - 1].child_ns, dur);
	free(o->kcopy);
	free(o->acopy);
	memmove(&t->stack[i], &t->stack[i + 1], (t->depth - i - 1) * sizeof(*o));
	t->depth--;
}

/* Open intervals point at the reader's strings, valid until the next
 * segment: copy them before it starts. */
static int profile_keep_strings(struct profile *p)
{
	for (size_t i = 0; i < p->nthreads; i++) {
		struct profile_thread *t = &p->threads[i];

		for (size_t j = 0; j < t->depth; j++) {
			struct profile_open *o = &t->stack[j];

			if (o->kcopy)
				continue;
			o->kcopy = profile_dup(o->kind, o->kl);
			o->acopy = o->arg ? profile_dup(o->arg, o->al) : NULL;
			if (!o->kcopy || (o->arg && !o->acopy))
				return -ENOMEM;
			o->kind = o->kcopy;
			if (o->arg)
				o->arg = o->acopy;
		}
	}
	return 0;
}

static int profile_push(struct profile_thread *t, struct profile_row *r, const struct rp_item *it)
{
	if (t->depth == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct profile_open *st = reallocarray(t->stack, cap, sizeof(*st));
		if (!st)
			return -ENOMEM;
		t->stack = st;
		t->cap = cap;
	}
	t->stack[t->depth++] = (struct profile_open){
		.row = r,
		.ik = profile_ikind(it->event.kind, it->event.kind_len),
		.kind = it->event.kind,
		.kl = it->event.kind_len,
		.arg = it->event.arg,
		.al = it->event.arg ? it->event.arg_len : 0,
		.begin_ns = it->event.ns,
	};
	return 0;
}

static int profile_event(struct profile *p, const struct rp_item *it)
{
	struct profile_proc *pr = &p->procs[p->cur];
	const char *k = it->event.kind, *l = it->event.arg;
	size_t kl = it->event.kind_len, ll = it->event.arg_len;
	struct profile_thread *t;
	struct profile_row *r;

	pr->tot.events++;
	if (it->event.undefined)
		pr->tot.undefined++;
	if (it->event.type == RP_REC_THREAD_NAME || it->event.type > RP_REC_INTEGER)
		return 0;
	t = profile_thread_get(p, it->event.thread);
	if (!t)
		return -ENOMEM;
	if (!t->seen || it->event.ns < t->first_ns)
		t->first_ns = it->event.ns;
	if (!t->seen || it->event.ns > t->last_ns)
		t->last_ns = it->event.ns;
	t->seen = true;
	/* The label of "name(key)" is "name"; without argument, the kind. */
	if (!l) {
		l = k;
		ll = kl;
	} else if (!p->by_arg) {
		const char *paren = memchr(l, '(', ll);

		if (paren && paren > l)
			ll = (size_t)(paren - l);
	}
	switch (it->event.type) {
	case RP_REC_BEGIN:
		r = profile_row_get(&pr->tab, PROFILE_ITEM, "", 0, l, ll);
		return r ? profile_push(t, r, it) : -ENOMEM;
	case RP_REC_END:
		for (size_t i = t->depth; i-- > 0;) {
			if (profile_open_is(&t->stack[i], k, kl, it->event.arg,
					    it->event.arg ? it->event.arg_len : 0)) {
				if (i + 1 != t->depth)
					pr->tot.out_of_order++;
				profile_close(t, i, it->event.ns);
				return 0;
			}
		}
		pr->tot.unmatched_end++;
		return 0;
	case RP_REC_INSTANT:
		if (kl == 13 && memcmp(k, "QueryCacheHit", 13) == 0) {
			r = profile_row_get(&pr->tab, PROFILE_ITEM, "", 0, l, ll);
			if (!r)
				return -ENOMEM;
			r->cache_hits++;
			r->count++;
			return 0;
		}
		r = profile_row_get(&pr->tab, PROFILE_INSTANT, k, kl, l, ll);
		if (!r)
			return -ENOMEM;
		r->count++;
		return 0;
	default: /* RP_REC_INTEGER */
		r = profile_row_get(&pr->tab, PROFILE_INTEGER, k, kl, l, ll);
		if (!r)
			return -ENOMEM;
		r->count++;
		profile_add_sat(&r->sum, it->event.value);
		return 0;
	}
}

/* Threads done: their spans, losses and open intervals into the totals. */
static void profile_finish(struct profile *p)
{
	for (size_t i = 0; i < p->nthreads; i++) {
		struct profile_thread *t = &p->threads[i];
		struct profile_totals *tot = &p->procs[t->proc].tot;

		tot->threads++;
		tot->client_dropped += t->loss.client_dropped;
		tot->daemon_dropped += t->loss.daemon_dropped;
		tot->open += t->depth;
		if (t->seen) {
			profile_add_sat(&tot->cpu_ns, (uint64_t)t->last_ns - (uint64_t)t->first_ns);
			profile_span(tot, t->first_ns, t->last_ns);
		}
	}
}

int profile_read(struct profile *p, char **paths, int n, unsigned reader_flags)
{
	struct rp_reader *r = cli_open(paths, n, reader_flags | RP_READER_ALLOW_UNSEALED);
	struct symbols sym = { 0 };
	struct profile_thread *t;
	struct progress prog;
	struct rp_item it;
	ssize_t proc;
	int ret;

	if (!r)
		return -ENOENT;
	progress_open(&prog, r, "reading");
	while ((ret = rp_reader_next(r, &it)) == 1) {
		progress_item(&prog, &it);
		symbols_item(&sym, &it);
		switch (it.kind) {
		case RP_ITEM_SEGMENT:
			ret = profile_keep_strings(p);
			proc = ret < 0 ? ret : profile_proc_get(p, &it);
			if (proc < 0)
				ret = (int)proc;
			else
				p->cur = (size_t)proc;
			break;
		case RP_ITEM_EVENT:
			ret = profile_event(p, &it);
			break;
		case RP_ITEM_LOSS:
			t = profile_thread_get(p, it.loss.thread);
			if (!t)
				ret = -ENOMEM;
			else
				t->loss = it.loss;
			break;
		case RP_ITEM_TRUNCATED:
			if (!it.truncated.unsealed) {
				fprintf(stderr, "ringprof: %s; %" PRIu64 " whole blocks read\n",
					it.truncated.message, it.truncated.blocks);
				p->damaged = true;
			}
			break;
		default:
			break;
		}
		if (ret < 0) {
			fprintf(stderr, "ringprof: out of memory\n");
			goto err_reader;
		}
	}
	if (ret < 0) {
		fprintf(stderr, "ringprof: %s\n", rp_reader_error(r));
		goto err_reader;
	}
	progress_close(&prog);
	profile_finish(p);
	rp_reader_close(r);
	symbols_free(&sym);
	return 0;
err_reader:
	progress_close(&prog);
	rp_reader_close(r);
	symbols_free(&sym);
	return ret;
}

void profile_free(struct profile *p)
{
	for (size_t i = 0; i < p->nprocs; i++) {
		profile_table_free(&p->procs[i].tab);
		free(p->procs[i].cmdline);
	}
	free(p->procs);
	for (size_t i = 0; i < p->nthreads; i++) {
		for (size_t j = 0; j < p->threads[i].depth; j++) {
			free(p->threads[i].stack[j].kcopy);
			free(p->threads[i].stack[j].acopy);
		}
		free(p->threads[i].stack);
	}
	free(p->threads);
	memset(p, 0, sizeof(*p));
}

void profile_json_str(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f || c == '<')
			fprintf(f, "\\u%04x", c);  /* bytes as code points U+0000..U+00FF */
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void profile_json_cmdline(FILE *f, const struct profile_proc *proc)
{
	size_t i = 0;

	fputc('[', f);
	while (i < proc->cmdline_len) {
		const char *a = proc->cmdline + i;
		size_t len = strnlen(a, proc->cmdline_len - i);

		if (i)
			fputc(',', f);
		profile_json_str(f, a, len);
		i += len + 1;
	}
	fputc(']', f);
}

void profile_print_cmdline(FILE *f, const struct profile_proc *proc)
{
	size_t i = 0;

	while (i < proc->cmdline_len) {
		const char *a = proc->cmdline + i;
		size_t len = strnlen(a, proc->cmdline_len - i);

		if (i)
			fputc(' ', f);
		cli_print_bytes(f, a, len, false);
		i += len + 1;
	}
}
