/*
 * nest.c - intervals matched per thread, for every command that pairs BEGIN
 * and END (profile.c for summarize, diff and report; chrome; folded), by one
 * rule: an END closes the innermost open BEGIN of the same kind and
 * argument; when that BEGIN is not the innermost open one, the intervals
 * above it stay open (out of order); an END with no such BEGIN is
 * unmatched.  Threads are told apart by their process (host, boot id,
 * daemon, registration, pid) and thread number, so an interval may span a
 * rotation of segments.  A closed interval's self time is its duration
 * minus the intervals closed directly inside it; the caller's value in each
 * open interval (user) carries what it accounts the interval to.
 *
 * Memory: one entry per process and thread, one stack per thread as deep as
 * its nesting; nothing grows with the number of events.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "nest.h"

static char *nest_dup(const char *p, size_t len)
{
	char *c = malloc(len + 1);

	if (c) {
		memcpy(c, p, len);
		c[len] = '\0';
	}
	return c;
}

/* Open intervals point at the reader's strings, valid until the next
 * segment: copy them before it starts. */
static int nest_keep_strings(struct nest *n)
{
	for (size_t i = 0; i < n->nthreads; i++) {
		struct nest_thread *t = &n->threads[i];

		for (size_t j = 0; j < t->depth; j++) {
			struct nest_open *o = &t->stack[j];

			if (o->kcopy)
				continue;
			o->kcopy = nest_dup(o->kind, o->kl);
			o->acopy = o->arg ? nest_dup(o->arg, o->al) : NULL;
			if (!o->kcopy || (o->arg && !o->acopy))
				return -ENOMEM;
			o->kind = o->kcopy;
			if (o->arg)
				o->arg = o->acopy;
		}
	}
	return 0;
}

int nest_segment(struct nest *n, const struct rp_item *it)
{
	const struct rp_seg_info *in = &it->segment.info;

	if (nest_keep_strings(n) < 0)
		return -ENOMEM;
	for (size_t i = n->nprocs; i-- > 0;) {
		if (procid_is(&n->procs[i], in)) {
			n->cur = i;
			return 0;
		}
	}
	if (n->nprocs == n->pcap) {
		size_t cap = n->pcap ? n->pcap * 2 : 8;
		struct procid *procs = reallocarray(n->procs, cap, sizeof(*procs));

		if (!procs)
			return -ENOMEM;
		n->procs = procs;
		n->pcap = cap;
	}
	procid_set(&n->procs[n->nprocs], in);
	n->cur = n->nprocs++;
	return 1;
}

struct nest_thread *nest_thread_get(struct nest *n, uint32_t thread)
{
	struct nest_thread *t;

	if (n->last < n->nthreads && n->threads[n->last].proc == n->cur &&
	    n->threads[n->last].thread == thread)
		return &n->threads[n->last];
	for (size_t i = 0; i < n->nthreads; i++) {
		if (n->threads[i].proc == n->cur && n->threads[i].thread == thread) {
			n->last = i;
			return &n->threads[i];
		}
	}
	if (n->nthreads == n->tcap) {
		size_t cap = n->tcap ? n->tcap * 2 : 16;

		t = reallocarray(n->threads, cap, sizeof(*t));
		if (!t)
			return NULL;
		n->threads = t;
		n->tcap = cap;
	}
	t = &n->threads[n->nthreads];
	memset(t, 0, sizeof(*t));
	t->proc = n->cur;
	t->thread = thread;
	n->last = n->nthreads;
	return &n->threads[n->nthreads++];
}

void nest_time(struct nest_thread *t, int64_t ns)
{
	if (!t->seen || ns < t->first_ns)
		t->first_ns = ns;
	if (!t->seen || ns > t->last_ns)
		t->last_ns = ns;
	t->seen = true;
}

int nest_event(struct nest_thread *t, const struct rp_item *it)
{
	nest_time(t, it->event.ns);
	if (it->event.type == RP_REC_THREAD_NAME) {
		char *name = nest_dup(it->event.kind, it->event.kind_len);

		if (!name)
			return -ENOMEM;
		free(t->name);
		t->name = name;
		t->name_len = it->event.kind_len;
	}
	return 0;
}

int nest_begin(struct nest_thread *t, const struct rp_item *it, uint64_t user)
{
	if (t->depth == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct nest_open *st = reallocarray(t->stack, cap, sizeof(*st));

		if (!st)
			return -ENOMEM;
		t->stack = st;
		t->cap = cap;
	}
	t->stack[t->depth++] = (struct nest_open){
		.kind = it->event.kind,
		.kl = it->event.kind_len,
		.arg = it->event.arg,
		.al = it->event.arg ? it->event.arg_len : 0,
		.begin_ns = it->event.ns,
		.user = user,
	};
	return 0;
}

ssize_t nest_match(struct nest *n, struct nest_thread *t, const struct rp_item *it)
{
	const char *k = it->event.kind, *a = it->event.arg;
	size_t kl = it->event.kind_len, al = a ? it->event.arg_len : 0;

	for (size_t i = t->depth; i-- > 0;) {
		const struct nest_open *o = &t->stack[i];

		if (o->kl == kl && o->al == al && (o->arg != NULL) == (a != NULL) &&
		    memcmp(o->kind, k, kl) == 0 && (!a || memcmp(o->arg, a, al) == 0)) {
			if (i + 1 != t->depth) {
				t->out_of_order++;
				n->out_of_order++;
			}
			return (ssize_t)i;
		}
	}
	t->unmatched_end++;
	n->unmatched_end++;
	return -1;
}

void nest_close(struct nest_thread *t, size_t i, int64_t end_ns, struct nest_open *o,
		uint64_t *dur, uint64_t *self)
{
	uint64_t d;

	*o = t->stack[i];
	d = end_ns > o->begin_ns ? (uint64_t)end_ns - (uint64_t)o->begin_ns : 0;
	*dur = d;
	*self = d > o->child_ns ? d - o->child_ns : 0;
	if (i > 0) {
		uint64_t *c = &t->stack[i - 1].child_ns;

		*c = *c + d < *c ? UINT64_MAX : *c + d;
	}
	memmove(&t->stack[i], &t->stack[i + 1], (t->depth - i - 1) * sizeof(*o));
	t->depth--;
}

void nest_release(struct nest_open *o)
{
	free(o->kcopy);
	free(o->acopy);
	o->kcopy = o->acopy = NULL;
}

uint64_t nest_drain(struct nest_thread *t, bool outer_first,
		    void (*fn)(void *ctx, const struct nest_thread *t, const struct nest_open *o,
			       uint64_t dur, uint64_t self),
		    void *ctx)
{
	uint64_t open = 0;

	for (; t->depth > 0; open++) {
		struct nest_open o;
		uint64_t dur, self;

		nest_close(t, outer_first ? 0 : t->depth - 1, t->last_ns, &o, &dur, &self);
		fn(ctx, t, &o, dur, self);
		nest_release(&o);
	}
	return open;
}

void nest_warn(const struct nest *n, uint64_t open, const char *cmd, const char *open_how)
{
	if (n->unmatched_end || n->out_of_order || open)
		fprintf(stderr, "ringprof %s: warning: %" PRIu64 " END%s without BEGIN, %" PRIu64
			" interval%s closed out of order, %" PRIu64 " interval%s still open at the"
			" end (%s)\n", cmd,
			n->unmatched_end, n->unmatched_end == 1 ? "" : "s",
			n->out_of_order, n->out_of_order == 1 ? "" : "s",
			open, open == 1 ? "" : "s", open_how);
}

const char *nest_label(const char *kind, size_t kl, const char *arg, size_t al, size_t *len)
{
	const char *paren;

	if (!arg) {
		*len = kl;
		return kind;
	}
	paren = memchr(arg, '(', al);
	*len = paren && paren > arg ? (size_t)(paren - arg) : al;
	return arg;
}

void nest_free(struct nest *n)
{
	for (size_t i = 0; i < n->nthreads; i++) {
		struct nest_thread *t = &n->threads[i];

		for (size_t j = 0; j < t->depth; j++) {
			free(t->stack[j].kcopy);
			free(t->stack[j].acopy);
		}
		free(t->stack);
		free(t->name);
	}
	free(n->threads);
	free(n->procs);
	memset(n, 0, sizeof(*n));
}
