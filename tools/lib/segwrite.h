/*
 * segwrite.h - building segment files (ringprof/seg.h).
 *
 * Two layers:
 *  - rp_segenc_*: pure encoders.  Each appends one piece of a segment (the
 *    preamble, one framed block, the footer and trailer) to an rp_buf and
 *    returns the bytes appended, or -errno.  No I/O: ringprofd reuses them
 *    under its own io_uring writer.
 *  - rp_segwrite_*: a synchronous builder on top that tracks offsets and the
 *    counts a footer needs, keeps the segment in memory and, when given a file
 *    descriptor, writes it out with write(2) on rp_segwrite_flush().
 */
#ifndef RINGPROF_SEGWRITE_H
#define RINGPROF_SEGWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"

/* One STRINGS item as the encoder takes it. */
struct rp_segenc_string {
	uint32_t id;
	uint32_t len;
	const void *bytes;
};

/* Append the 16-byte preamble (RP_SEG_MAGIC, RP_SEG_VERSION). */
ssize_t rp_segenc_preamble(struct rp_buf *out);
/* The same naming another version (which the EVENTS payloads must use). */
ssize_t rp_segenc_preamble_version(struct rp_buf *out, uint16_t version);
/* Append the HEADER block: *info with cmdline_len set to len, then cmdline. */
ssize_t rp_segenc_header(struct rp_blockenc *e, const struct rp_seg_info *info,
			 const void *cmdline, uint32_t len, struct rp_buf *out);
/* Append a STRINGS block of n strings (compressed when compress and it helps). */
ssize_t rp_segenc_strings(struct rp_blockenc *e, const struct rp_segenc_string *s,
			  size_t n, bool compress, struct rp_buf *out);
/* Append a THREADS, CLOCK or LOSS block of n fixed-size items. */
ssize_t rp_segenc_threads(struct rp_blockenc *e, const struct rp_seg_thread *t,
			  size_t n, bool compress, struct rp_buf *out);
ssize_t rp_segenc_clock(struct rp_blockenc *e, const struct rp_seg_clock *c,
			size_t n, bool compress, struct rp_buf *out);
ssize_t rp_segenc_loss(struct rp_blockenc *e, const struct rp_seg_loss *l,
		       size_t n, bool compress, struct rp_buf *out);
/* Append an EVENTS block from a filled events encoder. */
ssize_t rp_segenc_events(struct rp_blockenc *e, const struct rp_evenc *ev,
			 bool compress, struct rp_buf *out);
/* Append the FOOTER block and the trailer; footer_offset is the file offset
 * the FOOTER block header will have (the segment's length so far). */
ssize_t rp_segenc_footer(struct rp_blockenc *e, const struct rp_seg_footer *f,
			 uint64_t footer_offset, struct rp_buf *out);

/* The builder.  Fields are readable; out holds the bytes not yet flushed
 * (all of them when fd < 0), and tests may edit them to break a segment. */
struct rp_segwrite {
	struct rp_blockenc *enc;
	struct rp_evenc ev;
	struct rp_buf out;
	int fd;               /* -1: memory only */
	bool compress;
	uint16_t version;     /* segment version: preamble and EVENTS layout */
	uint64_t flushed;     /* bytes already written to fd */
	uint64_t blocks;      /* blocks so far, HEADER included */
	uint64_t events;
	uint64_t raw_bytes;   /* sum of raw_len of the blocks */
	uint32_t threads;     /* distinct threads with events */
	uint32_t thread_cap;
	uint32_t *thread_ids;
};

/* Start a segment: preamble then HEADER.  fd < 0 keeps it in memory.
 * rp_segwrite_open() writes segment version 1 (RP_SEG_VERSION_MIN): the
 * layout whose exact bytes the test fixtures pin, and the old layout the
 * reader must keep reading; rp_segwrite_open_version() takes 1 or 2. */
int rp_segwrite_open(struct rp_segwrite *w, int fd, int zstd_level, bool compress,
		     const struct rp_seg_info *info, const void *cmdline, uint32_t len);
int rp_segwrite_open_version(struct rp_segwrite *w, uint16_t version, int fd,
			     int zstd_level, bool compress, const struct rp_seg_info *info,
			     const void *cmdline, uint32_t len);
/* Append one block each; 0 or -errno. */
int rp_segwrite_strings(struct rp_segwrite *w, const struct rp_segenc_string *s, size_t n);
int rp_segwrite_threads(struct rp_segwrite *w, const struct rp_seg_thread *t, size_t n);
int rp_segwrite_events(struct rp_segwrite *w, uint32_t thread, uint64_t first_index,
		       uint64_t first_ticks, const struct rp_event *ev, size_t n);
int rp_segwrite_clock(struct rp_segwrite *w, const struct rp_seg_clock *c, size_t n);
int rp_segwrite_loss(struct rp_segwrite *w, const struct rp_seg_loss *l, size_t n);
/* Append FOOTER (counts from the builder) and trailer. */
int rp_segwrite_seal(struct rp_segwrite *w, uint32_t end_reason, uint64_t end_ticks);
/* Write out to fd whatever is buffered; 0 or -errno.  No-op without fd. */
int rp_segwrite_flush(struct rp_segwrite *w);
/* Free everything; does not close fd. */
void rp_segwrite_close(struct rp_segwrite *w);

#endif /* RINGPROF_SEGWRITE_H */
