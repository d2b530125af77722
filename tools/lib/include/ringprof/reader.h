/*
 * ringprof/reader.h - libringprof, the reader of ringprof segment files.
 *
 * This is the stable interface for tools outside the ringprof tree.  Link
 * with -lringprof.
 *
 * USAGE
 *
 *	char err[256];
 *	const char *paths[] = { "/var/lib/ringprof/build1" };
 *	struct rp_reader *r = rp_reader_open(paths, 1, 0, err, sizeof(err));
 *	struct rp_item it;
 *	int ret;
 *
 *	if (!r)
 *		errx(1, "%s", err);
 *	while ((ret = rp_reader_next(r, &it)) == 1)
 *		if (it.kind == RP_ITEM_EVENT)
 *			printf("%.*s %" PRId64 "\n", (int)it.event.kind_len,
 *			       it.event.kind, it.event.ns);
 *	if (ret < 0)
 *		errx(1, "%s", rp_reader_error(r));
 *	rp_reader_close(r);
 *
 * INPUT
 *
 * rp_reader_open() takes a list of paths.  A file is read as a segment
 * whatever its name; a directory is walked recursively and every regular file
 * named *.rpseg is read.  Entries of each directory are sorted by byte value
 * of their names, so the order is stable: a, a/x.rpseg, b.rpseg, ...
 *
 * ITEMS
 *
 * rp_reader_next() streams the files in order, one block at a time, in
 * memory bounded by one block (16 MiB raw at most) plus the strings of the
 * current segment.  For each segment it yields:
 *   SEGMENT   the header: struct rp_seg_info and the command line
 *   STRING    one per string definition (id -> bytes)
 *   THREAD    thread start/end
 *   EVENT     one per event, with kind and argument resolved to strings and
 *             the time in ticks and in CLOCK_MONOTONIC ns
 *   CLOCK     a clock correlation pair
 *   LOSS      a thread's cumulative written/dropped counters
 *   FOOTER    the footer of a sealed segment (checked against what was read)
 *   TRUNCATED only with RP_READER_RECOVER or RP_READER_ALLOW_UNSEALED: the
 *             segment ends early; says where and why
 * in the order of the file.  Every block is checked (magic, type, lengths,
 * CRC32C, decompression to its exact size, payload layout) before any item
 * from it is returned, so a block is delivered whole or not at all.
 *
 * Strings are per segment: every segment defines the strings its events use,
 * and the table is reset when a new segment starts.
 *
 * TIME
 *
 * Events carry ticks of the segment's clock_source.  The reader converts them
 * with the latest correlation pair seen: the HEADER's, then each CLOCK item's:
 *   ns = pair.mono_ns + (ticks - pair.ticks) * 1e9 / tick_hz
 * computed in 128-bit integers (truncated toward zero, clamped to int64).
 *
 * ERRORS
 *
 * Functions returning int return 1/0 or -errno.  On failure
 * rp_reader_error() gives one line naming the file and the byte offset:
 *   trace/a.rpseg: offset 81234: block CRC mismatch
 *   trace/a.rpseg: offset 8: unknown segment version 7 (this reader knows 1 to 2)
 *   trace/a.rpseg: truncated block at offset 500 (file ends at 517)
 *   trace/a.rpseg: not sealed (no footer), file ends at offset 517
 * Without flags any problem stops the reader (every item before it was
 * returned).  RP_READER_RECOVER turns each problem in a file into a TRUNCATED
 * item (the items of every whole block before it were returned) and goes on
 * with the next file; a file of unknown version is refused that way without
 * reading past its preamble.  It also resolves a string id that the segment
 * does not define to "<undefined string N>" and counts it, where the strict
 * reader fails.  Only I/O and memory errors stay fatal.
 * RP_READER_ALLOW_UNSEALED accepts a segment that ends exactly after a whole
 * block without a footer (one still being written): a TRUNCATED item with
 * unsealed set, no error.
 *
 * THREADS
 *
 * A reader is used by one thread at a time; distinct readers are
 * independent.
 */
#ifndef RINGPROF_READER_H
#define RINGPROF_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ringprof/seg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RP_READER_API __attribute__((visibility("default")))

/* rp_reader_open() flags */
#define RP_READER_RECOVER        0x1u  /* report a bad file as TRUNCATED, go on */
#define RP_READER_ALLOW_UNSEALED 0x2u  /* a whole segment without footer is fine */

enum rp_item_kind {
	RP_ITEM_SEGMENT = 1,
	RP_ITEM_STRING,
	RP_ITEM_THREAD,
	RP_ITEM_EVENT,
	RP_ITEM_CLOCK,
	RP_ITEM_LOSS,
	RP_ITEM_FOOTER,
	RP_ITEM_TRUNCATED,
};

/* rp_item.event.undefined bits */
#define RP_EVENT_KIND_UNDEFINED 0x1u
#define RP_EVENT_ARG_UNDEFINED  0x2u

/*
 * One item.  Pointers in it stay valid until the next rp_reader_next() call,
 * except string bytes (string.bytes, event.kind, event.arg), which stay valid
 * until the next SEGMENT item or rp_reader_close().  Strings are also
 * NUL-terminated (they may contain NUL bytes: use the lengths).
 */
struct rp_item {
	enum rp_item_kind kind;
	const char *path;      /* the file it comes from */
	uint64_t offset;       /* file offset of the block it comes from */
	union {
		struct {
			struct rp_seg_info info;
			const char *cmdline;  /* info.cmdline_len bytes, args NUL-separated */
			uint16_t version;     /* of the file format */
			uint64_t file_size;   /* bytes */
		} segment;
		struct {
			uint32_t id;
			uint32_t len;
			const char *bytes;
		} string;
		struct {
			struct rp_seg_thread t;
			int64_t ns;           /* t.ticks as CLOCK_MONOTONIC ns */
		} thread;
		struct {
			uint8_t type;         /* enum rp_rec_type (never VALUE) */
			uint32_t thread;      /* client-wide thread number */
			uint64_t index;       /* index of the event in its thread */
			uint32_t kind_id;     /* kind string (name for THREAD_NAME) */
			uint32_t arg_id;      /* argument string, 0 = none */
			const char *kind;
			size_t kind_len;
			const char *arg;      /* NULL when arg_id is 0 */
			size_t arg_len;
			uint64_t ticks;
			int64_t ns;           /* CLOCK_MONOTONIC ns */
			uint64_t value;       /* INTEGER only */
			unsigned undefined;   /* RP_EVENT_*_UNDEFINED (recover mode) */
		} event;
		struct rp_seg_clock clock;
		struct rp_seg_loss loss;
		struct {
			struct rp_seg_footer footer;
			uint64_t file_size;   /* bytes */
			uint64_t undefined;   /* undefined string uses in this segment */
		} footer;
		struct {
			uint64_t offset;      /* where reading stopped */
			uint64_t file_size;   /* bytes */
			uint64_t blocks;      /* whole blocks read, HEADER included */
			uint64_t events;      /* events read from them */
			uint64_t undefined;   /* undefined string uses in them */
			bool unsealed;        /* whole blocks, only the footer missing */
			const char *message;  /* the one-line error, file and offset */
		} truncated;
	};
};

struct rp_reader;

/*
 * Open a reader over n paths (files or directories, see INPUT).  flags are
 * RP_READER_*.  Returns NULL with a one-line message in err (errlen bytes)
 * when a path cannot be listed or memory runs out; errno is set.
 */
RP_READER_API struct rp_reader *rp_reader_open(const char *const *paths, size_t n,
					       unsigned flags, char *err, size_t errlen);

/*
 * Fill *item with the next item: 1, or 0 at the end of the last file, or
 * -errno (-EBADMSG for a bad file, -EIO, -ENOMEM) with rp_reader_error() set.
 * After an error or the end, it keeps returning the same result.
 */
RP_READER_API int rp_reader_next(struct rp_reader *r, struct rp_item *item);

/* The message of the last failure ("" if none); valid until the next call. */
RP_READER_API const char *rp_reader_error(const struct rp_reader *r);

/* The bytes of string id in the current segment and their length in *len;
 * NULL when the segment has not defined it (so far). */
RP_READER_API const char *rp_reader_string(const struct rp_reader *r, uint32_t id,
					   size_t *len);

/* The files the reader goes through, directories expanded, in order. */
RP_READER_API size_t rp_reader_file_count(const struct rp_reader *r);
RP_READER_API const char *rp_reader_file(const struct rp_reader *r, size_t i);

/* Free the reader and close its file; NULL is allowed. */
RP_READER_API void rp_reader_close(struct rp_reader *r);

/* "BEGIN", "END", "INSTANT", "INTEGER", "THREAD_NAME"; "?" for others. */
RP_READER_API const char *rp_reader_type_name(uint8_t type);

#ifdef __cplusplus
}
#endif

#endif /* RINGPROF_READER_H */
