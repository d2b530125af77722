/*
 * export.h - what chrome, folded and stat share: the nesting of intervals
 * per thread (nest.h), JSON strings (chrome.c) and the progress line shown
 * while a large input is read (progress.c).  UTF-8 checks come from the
 * codec (json.h).
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

#include "json.h"

#include "cli.h"
#include "nest.h"

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
