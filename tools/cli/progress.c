/*
 * progress.c - the progress line of long reads: bytes read of the total and
 * the rate, on stderr.  Bytes read are the sizes of the files done plus the
 * offset of the current item's block in its file, so the line costs nothing
 * but a counter per item and a clock read every 4096 items.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export.h"

#define PROGRESS_MIN_BYTES (UINT64_C(64) << 20)
#define PROGRESS_EVERY_NS  250000000  /* redraw at most 4 times a second */

static int64_t progress_ns(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000 + (b->tv_nsec - a->tv_nsec);
}

void progress_open(struct progress *p, const struct rp_reader *r, const char *cmd)
{
	const char *env = getenv("RINGPROF_PROGRESS");
	bool force = env && strcmp(env, "1") == 0;

	memset(p, 0, sizeof(*p));
	p->r = r;
	p->cmd = cmd;
	p->tty = isatty(STDERR_FILENO);
	if ((env && strcmp(env, "0") == 0) || (!force && !p->tty))
		return;
	p->nfiles = rp_reader_file_count(r);
	p->sizes = calloc(p->nfiles ? p->nfiles : 1, sizeof(*p->sizes));
	if (!p->sizes)
		return;
	for (size_t i = 0; i < p->nfiles; i++) {
		struct stat st;

		if (stat(rp_reader_file(r, i), &st) == 0 && st.st_size > 0)
			p->sizes[i] = (uint64_t)st.st_size;
		p->total += p->sizes[i];
	}
	p->on = force || p->total > PROGRESS_MIN_BYTES;
	if (!p->on) {
		free(p->sizes);
		p->sizes = NULL;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->last = p->start;
}

static void progress_draw(struct progress *p, const struct timespec *now, bool final)
{
	int64_t ns = progress_ns(&p->start, now);
	double mib = 1024.0 * 1024.0;
	double rate = ns > 0 ? (double)p->done / mib / ((double)ns / 1e9) : 0.0;
	unsigned pct = p->total ? (unsigned)(p->done * 100 / p->total) : 100;

	fprintf(stderr, "%sringprof %s: %.1f of %.1f MiB (%u%%), %.1f MiB/s%s",
		p->tty ? "\r" : "", p->cmd, (double)p->done / mib, (double)p->total / mib,
		pct, rate, p->tty && !final ? "\033[K" : "\n");
	p->shown = true;
}

void progress_update(struct progress *p, const struct rp_item *it)
{
	struct timespec now;

	/* Files are read in the reader's order: move on to the item's. */
	while (p->file < p->nfiles && strcmp(rp_reader_file(p->r, p->file), it->path) != 0)
		p->before += p->sizes[p->file++];
	p->done = p->before + it->offset;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (progress_ns(&p->last, &now) < PROGRESS_EVERY_NS)
		return;
	p->last = now;
	progress_draw(p, &now, false);
}

void progress_close(struct progress *p)
{
	struct timespec now;

	if (p->on) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		p->done = p->total;
		if (p->tty)
			fputs("\r\033[K", stderr);
		progress_draw(p, &now, true);
	}
	free(p->sizes);
	memset(p, 0, sizeof(*p));
}
