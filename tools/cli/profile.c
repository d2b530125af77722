/*
 * profile.c - segments folded into per-process tables of items, the model
 * behind summarize, diff and report.
 *
 * Intervals are matched per thread (nest.c): an END closes the innermost
 * open BEGIN of the same kind and argument.  When that BEGIN is not the
 * innermost open one, the intervals above it stay open and the match is
 * counted as closed out of order; an END with no such BEGIN is counted as
 * unmatched.
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
#include "nest.h"
#include "profile.h"

enum profile_ikind { IK_QUERY, IK_BLOCKED, IK_LOAD, IK_HASHING, IK_OTHER };

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

/* A SEGMENT item: its process current, added when new; 0 or -ENOMEM. */
static int profile_segment(struct profile *p, const struct rp_item *it)
{
	struct profile_proc *pr;
	int ret = nest_segment(&p->nest, it);

	if (ret <= 0)
		return ret;
	/* new: nest.procs and procs stay parallel */
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
	pr->id = p->nest.procs[p->nest.cur];
	pr->cmdline = profile_dup(it->segment.cmdline, it->segment.info.cmdline_len);
	if (!pr->cmdline)
		return -ENOMEM;
	pr->cmdline_len = it->segment.info.cmdline_len;
	p->nprocs++;
	return 0;
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

/* Account a closed interval o of dur ns (self ns of it not inside others)
 * to its row. */
static void profile_account(const struct nest_open *o, uint64_t dur, uint64_t self)
{
	struct profile_row *r = (struct profile_row *)(uintptr_t)o->user;
	enum profile_ikind ik = profile_ikind(o->kind, o->kl);

	profile_add_sat(&r->self_ns, self);
	if (ik != IK_HASHING)
		profile_add_sat(&r->time_ns, dur);
	if (ik != IK_LOAD && ik != IK_HASHING)
		r->count++;
	if (ik == IK_BLOCKED)
		profile_add_sat(&r->blocked_ns, dur);
	if (ik == IK_LOAD)
		profile_add_sat(&r->load_ns, self);
	if (ik == IK_HASHING)
		profile_add_sat(&r->hashing_ns, self);
}

static int profile_event(struct profile *p, const struct rp_item *it)
{
	struct profile_proc *pr = &p->procs[p->nest.cur];
	const char *k = it->event.kind, *l;
	size_t kl = it->event.kind_len, ll;
	struct nest_thread *t;
	struct profile_row *r;
	struct nest_open o;
	uint64_t dur, self;
	ssize_t i;

	pr->tot.events++;
	if (it->event.undefined)
		pr->tot.undefined++;
	if (it->event.type == RP_REC_THREAD_NAME || it->event.type > RP_REC_INTEGER)
		return 0;
	t = nest_thread_get(&p->nest, it->event.thread);
	if (!t)
		return -ENOMEM;
	nest_time(t, it->event.ns);
	if (p->by_arg && it->event.arg) {
		l = it->event.arg;
		ll = it->event.arg_len;
	} else {
		l = nest_label(k, kl, it->event.arg, it->event.arg_len, &ll);
	}
	switch (it->event.type) {
	case RP_REC_BEGIN:
		r = profile_row_get(&pr->tab, PROFILE_ITEM, "", 0, l, ll);
		return r ? nest_begin(t, it, (uintptr_t)r) : -ENOMEM;
	case RP_REC_END:
		i = nest_match(&p->nest, t, it);
		if (i >= 0) {
			nest_close(t, (size_t)i, it->event.ns, &o, &dur, &self);
			profile_account(&o, dur, self);
			nest_release(&o);
		}
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

static int profile_item(void *ctx, const struct rp_item *it)
{
	struct profile *p = ctx;
	struct nest_thread *t;

	switch (it->kind) {
	case RP_ITEM_SEGMENT:
		return profile_segment(p, it);
	case RP_ITEM_EVENT:
		return profile_event(p, it);
	case RP_ITEM_LOSS:
		t = nest_thread_get(&p->nest, it->loss.thread);
		if (!t)
			return -ENOMEM;
		t->loss = it->loss;
		return 0;
	default:
		return 0;
	}
}

/* Threads done: their spans, losses and intervals into the totals (those
 * still open count as open, with no time). */
static void profile_finish(struct profile *p)
{
	for (size_t i = 0; i < p->nest.nthreads; i++) {
		struct nest_thread *t = &p->nest.threads[i];
		struct profile_totals *tot = &p->procs[t->proc].tot;

		tot->threads++;
		tot->client_dropped += t->loss.client_dropped;
		tot->daemon_dropped += t->loss.daemon_dropped;
		tot->unmatched_end += t->unmatched_end;
		tot->out_of_order += t->out_of_order;
		tot->open += t->depth;
		if (t->seen) {
			profile_add_sat(&tot->cpu_ns, (uint64_t)t->last_ns - (uint64_t)t->first_ns);
			profile_span(tot, t->first_ns, t->last_ns);
		}
	}
}

int profile_read(struct profile *p, char **paths, int n, unsigned reader_flags)
{
	struct input in;
	int ret = input_open(&in, paths, n, reader_flags | RP_READER_ALLOW_UNSEALED);

	if (ret < 0)
		return ret;
	ret = input_read(&in, "reading", profile_item, p);
	p->damaged = in.damaged;
	if (ret == 0)
		profile_finish(p);
	input_close(&in);
	return ret;
}

void profile_free(struct profile *p)
{
	for (size_t i = 0; i < p->nprocs; i++) {
		profile_table_free(&p->procs[i].tab);
		free(p->procs[i].cmdline);
	}
	free(p->procs);
	nest_free(&p->nest);
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
