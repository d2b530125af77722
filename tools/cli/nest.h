/*
 * nest.h - intervals matched per thread (nest.c), the one model under every
 * command that pairs BEGIN and END: summarize, diff and report (profile.c)
 * and the exporters chrome and folded.
 */
#ifndef RINGPROF_CLI_NEST_H
#define RINGPROF_CLI_NEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ringprof/reader.h>

#include "cli.h"

/* One open interval.  kind and arg point at the reader's strings until the
 * next segment starts, then at copies (nest_segment() makes them). */
struct nest_open {
	const char *kind, *arg;   /* arg NULL: no argument */
	char *kcopy, *acopy;
	size_t kl, al;
	int64_t begin_ns;
	uint64_t child_ns;        /* closed intervals directly inside, ns */
	uint64_t user;            /* the caller's (folded: its stack node,
				     profile: its row) */
};

struct nest_thread {
	size_t proc;              /* index in nest.procs */
	uint32_t thread;          /* client-wide thread number */
	uint32_t tid;             /* kernel tid from a THREADS item, 0 unknown */
	char *name;               /* from a THREAD_NAME event, or NULL */
	size_t name_len;
	struct nest_open *stack;  /* open intervals, innermost last */
	size_t depth, cap;
	int64_t first_ns, last_ns;  /* earliest and latest event noted; valid when seen */
	bool seen;                /* has had an event noted */
	struct rp_seg_loss loss;  /* latest cumulative counters, the caller's */
	uint64_t unmatched_end;   /* ENDs without an open BEGIN */
	uint64_t out_of_order;    /* ENDs closing a BEGIN not innermost */
};

/* A process: all segments of one registration (host, boot id, daemon pid,
 * registration id and pid alike). */
struct nest {
	struct procid *procs;      /* in order of first appearance */
	size_t nprocs, pcap, cur;
	struct nest_thread *threads;  /* in order of first appearance */
	size_t nthreads, tcap, last;
	uint64_t unmatched_end;       /* of all threads */
	uint64_t out_of_order;        /* of all threads */
};

/* A SEGMENT item: copy the strings of open intervals (the reader's go away)
 * and make its process current.  1 when the process is new (its index is
 * n->cur, one past the others), 0 when seen before, -ENOMEM. */
int nest_segment(struct nest *n, const struct rp_item *it);

/* The thread of the current process with that number, created when new;
 * NULL without memory. */
struct nest_thread *nest_thread_get(struct nest *n, uint32_t thread);

/* Note an event at ns in the thread's span (first_ns, last_ns, seen). */
void nest_time(struct nest_thread *t, int64_t ns);

/* Note an EVENT item's time and, for THREAD_NAME, the name; 0 or -ENOMEM. */
int nest_event(struct nest_thread *t, const struct rp_item *it);

/* Open the interval of a BEGIN event with the caller's value; 0 or -ENOMEM. */
int nest_begin(struct nest_thread *t, const struct rp_item *it, uint64_t user);

/* The stack position of the innermost open interval that an END event
 * closes (same kind and argument), or -1 when none (counted as unmatched);
 * a position below the top counts as out of order.  Counted in t and n. */
ssize_t nest_match(struct nest *n, struct nest_thread *t, const struct rp_item *it);

/* Close the open interval at position i at end_ns and move it to *o: its
 * duration (clamped at 0) goes to *dur, minus what was closed directly
 * inside it to *self, and into the child time of the interval below.  The
 * caller frees *o with nest_release() once done with its strings. */
void nest_close(struct nest_thread *t, size_t i, int64_t end_ns, struct nest_open *o,
		uint64_t *dur, uint64_t *self);
void nest_release(struct nest_open *o);

/* Close every interval t still has open at its last event, the outermost
 * first when outer_first (else the innermost), passing each to fn as
 * nest_close() gives it.  Returns how many were open. */
uint64_t nest_drain(struct nest_thread *t, bool outer_first,
		    void (*fn)(void *ctx, const struct nest_thread *t, const struct nest_open *o,
			       uint64_t dur, uint64_t self),
		    void *ctx);

/* When any END was unmatched or out of order or any of open intervals was
 * still open, say so on stderr: "ringprof <cmd>: warning: ... (<open_how>)". */
void nest_warn(const struct nest *n, uint64_t open, const char *cmd, const char *open_how);

/* The label of an event as summarize groups it: the argument up to its
 * first '(' ("typeck(main)" -> "typeck"), the whole argument when it starts
 * with '(' or has none, the kind without argument. */
const char *nest_label(const char *kind, size_t kl, const char *arg, size_t al, size_t *len);

/* Free everything n holds. */
void nest_free(struct nest *n);

#endif /* RINGPROF_CLI_NEST_H */
