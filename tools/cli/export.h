/*
 * export.h - what chrome, folded and stat share: the nesting of intervals
 * per thread (nest.c), UTF-8 checks (utf8.c), JSON strings (chrome.c) and
 * the progress line shown while a large input is read (progress.c).
 */
#ifndef RINGPROF_CLI_EXPORT_H
#define RINGPROF_CLI_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include <ringprof/reader.h>

#include "cli.h"

/* nest.c */

/* One open interval.  kind and arg point at the reader's strings until the
 * next segment starts, then at copies (nest_segment() makes them). */
struct nest_open {
	const char *kind, *arg;   /* arg NULL: no argument */
	char *kcopy, *acopy;
	size_t kl, al;
	int64_t begin_ns;
	uint64_t child_ns;        /* closed intervals directly inside, ns */
	uint64_t user;            /* the caller's (folded: its stack node) */
};

struct nest_thread {
	size_t proc;              /* index in nest.procs */
	uint32_t thread;          /* client-wide thread number */
	uint32_t tid;             /* kernel tid from a THREADS item, 0 unknown */
	char *name;               /* from a THREAD_NAME event, or NULL */
	size_t name_len;
	struct nest_open *stack;  /* open intervals, innermost last */
	size_t depth, cap;
	int64_t last_ns;          /* latest event (any type); valid when seen */
	bool seen;                /* has had an event */
};

/* A process: all segments of one registration (host, boot id, daemon pid,
 * registration id and pid alike). */
struct nest {
	struct procid *procs;      /* in order of first appearance */
	size_t nprocs, pcap, cur;
	struct nest_thread *threads;  /* in order of first appearance */
	size_t nthreads, tcap, last;
	uint64_t unmatched_end;       /* ENDs without an open BEGIN */
	uint64_t out_of_order;        /* ENDs closing a BEGIN not innermost */
};

/* A SEGMENT item: copy the strings of open intervals (the reader's go away)
 * and make its process current.  1 when the process is new, 0 when seen
 * before, -ENOMEM. */
int nest_segment(struct nest *n, const struct rp_item *it);

/* The thread of the current process with that number, created when new;
 * NULL without memory. */
struct nest_thread *nest_thread_get(struct nest *n, uint32_t thread);

/* Note an EVENT item's time and, for THREAD_NAME, the name; 0 or -ENOMEM. */
int nest_event(struct nest_thread *t, const struct rp_item *it);

/* Open the interval of a BEGIN event with the caller's value; 0 or -ENOMEM. */
int nest_begin(struct nest_thread *t, const struct rp_item *it, uint64_t user);

/* The stack position of the innermost open interval that an END event
 * closes (same kind and argument), or -1 when none (counted as unmatched);
 * a position below the top counts as out of order. */
ssize_t nest_match(struct nest *n, const struct nest_thread *t, const struct rp_item *it);

/* Close the open interval at position i at end_ns and move it to *o: its
 * duration (clamped at 0) goes to *dur, minus what was closed directly
 * inside it to *self, and into the child time of the interval below.  The
 * caller frees *o with nest_release() once done with its strings. */
void nest_close(struct nest_thread *t, size_t i, int64_t end_ns, struct nest_open *o,
		uint64_t *dur, uint64_t *self);
void nest_release(struct nest_open *o);

/* The label of an event as summarize groups it: the argument up to its
 * first '(' ("typeck(main)" -> "typeck"), the whole argument when it starts
 * with '(' or has none, the kind without argument. */
const char *nest_label(const char *kind, size_t kl, const char *arg, size_t al, size_t *len);

/* Free everything n holds. */
void nest_free(struct nest *n);

/* utf8.c */

/* The length of the UTF-8 sequence starting at s (n > 0 bytes left): 1 for
 * ASCII, 2-4, or 0 when the bytes there are not valid UTF-8 (a stray or cut
 * byte, an overlong form, a surrogate, past U+10FFFF). */
size_t utf8_len(const char *s, size_t n);

/* chrome.c */

/* len bytes as a JSON string: valid UTF-8 as it is, quotes, backslashes and
 * control characters escaped, every byte of invalid UTF-8 as the code point
 * of the same value (\u00XX). */
void chrome_json_str(FILE *f, const char *s, size_t len);

/* progress.c */

/*
 * A progress line on stderr ("ringprof chrome: 120.0 of 512.0 MiB (23%),
 * 310.2 MiB/s"), redrawn at most 4 times a second, when stderr is a terminal
 * and the input is over 64 MiB.  RINGPROF_PROGRESS=0 turns it off, =1 on
 * whatever stderr and the size are (one line each time, for logs).
 */
struct progress {
	const struct rp_reader *r;
	const char *cmd;
	bool on, tty, shown;
	uint64_t *sizes;          /* bytes of each file of the reader */
	size_t nfiles, file;      /* the file being read */
	uint64_t total, before;   /* bytes of all files; of those before file */
	uint64_t done;            /* bytes read so far */
	uint32_t tick;
	struct timespec start, last;
};

/* Set p up for reader r and command name cmd ("chrome"); never fails (no
 * memory: no progress line). */
void progress_open(struct progress *p, const struct rp_reader *r, const char *cmd);

/* Redraw the line for item it (progress_item() calls it now and then). */
void progress_update(struct progress *p, const struct rp_item *it);

/* Account for an item; one branch when the line is off. */
static inline void progress_item(struct progress *p, const struct rp_item *it)
{
	if (p->on && (++p->tick & 0xfffu) == 0)
		progress_update(p, it);
}

/* Show the final figures (when the line was on) and free p. */
void progress_close(struct progress *p);

#endif /* RINGPROF_CLI_EXPORT_H */
