/*
 * reader.c - libringprof: streaming segment files block by block.
 *
 * State: the list of files, the open file and the offset of its next block,
 * and the block being delivered (its decoded payload and a cursor).  A block
 * is read, checked whole (header, CRC, size, payload layout, string
 * references) and only then turned into items one per call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "reader_int.h"
#include <ringprof/reader.h>

#define READER_ERR_MAX 512

enum reader_state {
	READER_NEXT_FILE,  /* open the next path */
	READER_BLOCKS,     /* read the block at r->off */
	READER_DONE,       /* 0 from now on */
	READER_FAILED,     /* r->fail from now on */
};

struct rp_reader {
	unsigned flags;
	struct paths paths;
	size_t next_path;
	enum reader_state state;
	int fail;

	/* the open file */
	int fd;
	const char *path;
	uint64_t size;          /* bytes */
	uint64_t off;           /* offset of the next block */
	bool seen_header;
	uint16_t version;       /* of the open file: RP_SEG_VERSION_MIN.. */
	uint64_t blocks, events, raw_bytes, undefined;
	struct rp_seg_info info;
	struct rp_seg_clock pair;  /* the correlation in use */

	/* the block being delivered */
	struct rp_block_hdr hdr;
	uint64_t blk_off;
	struct rp_buf stored, raw;
	uint32_t cursor;           /* items delivered from it */
	const uint8_t *p;          /* STRINGS: next item */
	struct rp_evdec evdec;
	bool pending;              /* items of the block remain */

	struct rp_blockdec *dec;
	struct strtab strings;
	char undef[2][40];         /* "<undefined string N>" for kind, arg */
	char err[READER_ERR_MAX];
	char msg[READER_ERR_MAX];  /* TRUNCATED item message */
};

static const char *const reader_block_names[] = {
	[RP_BLK_HEADER] = "HEADER", [RP_BLK_STRINGS] = "STRINGS",
	[RP_BLK_THREADS] = "THREADS", [RP_BLK_EVENTS] = "EVENTS",
	[RP_BLK_CLOCK] = "CLOCK", [RP_BLK_LOSS] = "LOSS", [RP_BLK_FOOTER] = "FOOTER",
};

const char *rp_reader_type_name(uint8_t type)
{
	switch (type) {
	case RP_REC_BEGIN: return "BEGIN";
	case RP_REC_END: return "END";
	case RP_REC_INSTANT: return "INSTANT";
	case RP_REC_INTEGER: return "INTEGER";
	case RP_REC_THREAD_NAME: return "THREAD_NAME";
	default: return "?";
	}
}

static void reader_close_file(struct rp_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->pending = false;
}

/*
 * A problem with the current file at offset off.  Strict: the reader fails
 * with "path: message".  RP_READER_RECOVER (or an unsealed-but-whole file
 * with RP_READER_ALLOW_UNSEALED): fills a TRUNCATED item and returns 1.
 */
__attribute__((format(printf, 5, 6)))
static int reader_problem(struct rp_reader *r, struct rp_item *it, uint64_t off,
			  bool unsealed, const char *fmt, ...)
{
	char text[READER_ERR_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	reader_close_file(r);
	if (!(r->flags & RP_READER_RECOVER) &&
	    !(unsealed && (r->flags & RP_READER_ALLOW_UNSEALED))) {
		snprintf(r->err, sizeof(r->err), "%s: %s", r->path, text);
		r->state = READER_FAILED;
		r->fail = -EBADMSG;
		return r->fail;
	}
	snprintf(r->msg, sizeof(r->msg), "%s: %s", r->path, text);
	memset(it, 0, sizeof(*it));
	it->kind = RP_ITEM_TRUNCATED;
	it->path = r->path;
	it->offset = off;
	it->truncated.offset = off;
	it->truncated.file_size = r->size;
	it->truncated.blocks = r->blocks;
	it->truncated.events = r->events;
	it->truncated.undefined = r->undefined;
	it->truncated.unsealed = unsealed;
	it->truncated.message = r->msg;
	r->state = READER_NEXT_FILE;
	return 1;
}

/* An error that no flag excuses: I/O or memory. */
__attribute__((format(printf, 3, 4)))
static int reader_fatal(struct rp_reader *r, int err, const char *fmt, ...)
{
	char text[READER_ERR_MAX - 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(r->err, sizeof(r->err), "%s: %s", r->path, text);
	reader_close_file(r);
	r->state = READER_FAILED;
	r->fail = err;
	return err;
}

/* Read exactly len bytes at off; 0 or -errno (-EIO on a short read, which
 * the callers rule out by checking the file size first). */
static int reader_pread(struct rp_reader *r, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(r->fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int64_t reader_ns(const struct rp_reader *r, uint64_t ticks)
{
	__int128 d = (__int128)ticks - (__int128)r->pair.ticks;
	__int128 ns = (__int128)r->pair.mono_ns + d * 1000000000 / (__int128)r->info.tick_hz;

	if (ns > INT64_MAX)
		return INT64_MAX;
	if (ns < INT64_MIN)
		return INT64_MIN;
	return (int64_t)ns;
}

/* Open the next file and check its preamble; 1 with a TRUNCATED item when
 * recovering from a bad one, 0 to go on, -errno. */
static int reader_open_file(struct rp_reader *r, struct rp_item *it)
{
	struct rp_seg_preamble pre;
	struct stat st;
	int ret;

	r->path = r->paths.v[r->next_path++];
	r->size = 0;
	r->off = 0;
	r->seen_header = false;
	r->blocks = r->events = r->raw_bytes = r->undefined = 0;
	r->pending = false;
	r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return reader_problem(r, it, 0, false, "%s", strerror(errno));
	if (fstat(r->fd, &st) < 0)
		return reader_fatal(r, -errno, "fstat: %s", strerror(errno));
	r->size = (uint64_t)st.st_size;
	r->state = READER_BLOCKS;
	if (r->size < sizeof(pre))
		return reader_problem(r, it, 0, false,
				      "truncated preamble at offset 0 (file ends at %llu)",
				      (unsigned long long)r->size);
	ret = reader_pread(r, &pre, sizeof(pre), 0);
	if (ret < 0)
		return reader_fatal(r, ret, "offset 0: read: %s", strerror(-ret));
	if (memcmp(pre.magic, RP_SEG_MAGIC, sizeof(pre.magic)) != 0)
		return reader_problem(r, it, 0, false, "offset 0: not a ringprof segment (bad magic)");
	if (pre.version < RP_SEG_VERSION_MIN || pre.version > RP_SEG_VERSION)
		return reader_problem(r, it, 8, false,
				      "offset 8: unknown segment version %u (this reader knows %u to %u)",
				      pre.version, RP_SEG_VERSION_MIN, RP_SEG_VERSION);
	r->version = pre.version;
	if (pre.size != sizeof(pre))
		return reader_problem(r, it, 10, false, "offset 10: bad preamble size %u (expected %zu)",
				      pre.size, sizeof(pre));
	if (pre.flags != 0)
		return reader_problem(r, it, 12, false, "offset 12: unknown preamble flags 0x%x",
				      pre.flags);
	r->off = sizeof(pre);
	return 0;
}

/* The block's payload is count fixed-size items. */
static bool reader_fixed_is_valid(const struct rp_reader *r, size_t item)
{
	return r->raw.len == (uint64_t)r->hdr.count * item;
}

/* Check every string definition of a STRINGS block and enter it in the
 * table; 0, or a phrase for what is wrong. */
static const char *reader_load_strings(struct rp_reader *r, int *err)
{
	const uint8_t *p = r->raw.data, *end = r->raw.data + r->raw.len;

	*err = 0;
	for (uint32_t i = 0; i < r->hdr.count; i++) {
		uint32_t head[2];
		const char *stored;

		if ((size_t)(end - p) < sizeof(head))
			return "malformed STRINGS block (cut in an item)";
		memcpy(head, p, sizeof(head));
		p += sizeof(head);
		if (head[1] > (size_t)(end - p))
			return "malformed STRINGS block (cut in an item)";
		if (head[0] == 0)
			return "malformed STRINGS block (string id 0)";
		*err = strtab_add(&r->strings, head[0], p, head[1], &stored);
		if (*err == -EEXIST) {
			*err = 0;
			return "string defined twice with different bytes";
		}
		if (*err < 0)
			return "out of memory";
		p += head[1];
	}
	if (p != end)
		return "malformed STRINGS block (bytes after the last item)";
	return NULL;
}

/* Decode a whole EVENTS block once to check it before delivering it.  In
 * strict mode *undefined gets the first string id the segment lacks. */
static const char *reader_check_events(struct rp_reader *r, bool *has_undefined,
				       uint32_t *undefined)
{
	bool strict = !(r->flags & RP_READER_RECOVER);
	struct rp_evdec d;
	struct rp_event ev;
	uint32_t len;
	int ret;

	*has_undefined = false;
	if (rp_evdec_begin_version(&d, r->version, r->raw.data, r->raw.len, r->hdr.count) < 0)
		return "malformed EVENTS block (shorter than its header)";
	while ((ret = rp_evdec_next(&d, &ev)) == 1) {
		if (strict && !*has_undefined && !strtab_get(&r->strings, ev.id, &len)) {
			*has_undefined = true;
			*undefined = ev.id;
		}
		if (strict && !*has_undefined && ev.arg && !strtab_get(&r->strings, ev.arg, &len)) {
			*has_undefined = true;
			*undefined = ev.arg;
		}
	}
	return ret < 0 ? "malformed EVENTS block" : NULL;
}

/* The trailer after the FOOTER block at foot_off, and the footer's counts. */
static int reader_check_footer(struct rp_reader *r, struct rp_item *it, uint64_t foot_off,
			       const struct rp_seg_footer *f)
{
	uint64_t toff = foot_off + sizeof(struct rp_block_hdr) + r->hdr.stored_len;
	struct rp_seg_trailer t;
	int ret;

	if (r->size - toff < sizeof(t))
		return reader_problem(r, it, toff, false,
				      "truncated trailer at offset %llu (file ends at %llu)",
				      (unsigned long long)toff, (unsigned long long)r->size);
	if (r->size - toff > sizeof(t))
		return reader_problem(r, it, toff + sizeof(t), false,
				      "offset %llu: %llu bytes after the trailer",
				      (unsigned long long)(toff + sizeof(t)),
				      (unsigned long long)(r->size - toff - sizeof(t)));
	ret = reader_pread(r, &t, sizeof(t), toff);
	if (ret < 0)
		return reader_fatal(r, ret, "offset %llu: read: %s",
				    (unsigned long long)toff, strerror(-ret));
	if (memcmp(t.magic, RP_SEG_TRAILER_MAGIC, sizeof(t.magic)) != 0)
		return reader_problem(r, it, toff, false, "offset %llu: bad trailer magic",
				      (unsigned long long)toff);
	if (t.footer_offset != foot_off)
		return reader_problem(r, it, toff, false,
				      "offset %llu: trailer points to offset %llu, the FOOTER is at %llu",
				      (unsigned long long)toff, (unsigned long long)t.footer_offset,
				      (unsigned long long)foot_off);
	if (f->blocks != r->blocks || f->events != r->events || f->raw_bytes != r->raw_bytes)
		return reader_problem(r, it, foot_off,
				      false, "offset %llu: footer counts %llu blocks, %llu events, %llu raw bytes; the segment has %llu, %llu, %llu",
				      (unsigned long long)foot_off, (unsigned long long)f->blocks,
				      (unsigned long long)f->events, (unsigned long long)f->raw_bytes,
				      (unsigned long long)r->blocks, (unsigned long long)r->events,
				      (unsigned long long)r->raw_bytes);
	return 0;
}

/*
 * Read, check and start delivering the block at r->off.  Returns 1 with a
 * whole item in *it (SEGMENT, FOOTER, TRUNCATED), 0 when the block's items
 * are pending (or it had none), -errno.
 */
static int reader_read_block(struct rp_reader *r, struct rp_item *it)
{
	uint64_t off = r->off, left = r->size - r->off;
	struct rp_block_hdr *h = &r->hdr;
	const char *what;
	int ret;

	if (left == 0) {
		if (!r->seen_header)
			return reader_problem(r, it, off, false,
					      "truncated block at offset %llu (file ends at %llu)",
					      (unsigned long long)off, (unsigned long long)r->size);
		return reader_problem(r, it, off, true,
				      "not sealed (no footer), file ends at offset %llu",
				      (unsigned long long)r->size);
	}
	if (left < sizeof(*h))
		return reader_problem(r, it, off, false,
				      "truncated block at offset %llu (file ends at %llu)",
				      (unsigned long long)off, (unsigned long long)r->size);
	ret = reader_pread(r, h, sizeof(*h), off);
	if (ret < 0)
		return reader_fatal(r, ret, "offset %llu: read: %s",
				    (unsigned long long)off, strerror(-ret));
	what = rp_block_hdr_problem(h);
	if (what)
		return reader_problem(r, it, off, false,
				      "offset %llu: %s (magic 0x%08x, type %u, flags 0x%x, stored_len %u, raw_len %u)",
				      (unsigned long long)off, what, h->magic, h->type, h->flags,
				      h->stored_len, h->raw_len);
	if (h->stored_len > left - sizeof(*h))
		return reader_problem(r, it, off, false,
				      "truncated block at offset %llu (file ends at %llu)",
				      (unsigned long long)off, (unsigned long long)r->size);
	r->stored.len = 0;
	ret = rp_buf_reserve(&r->stored, h->stored_len);
	if (ret < 0)
		return reader_fatal(r, ret, "offset %llu: out of memory", (unsigned long long)off);
	ret = reader_pread(r, r->stored.data, h->stored_len, off + sizeof(*h));
	if (ret < 0)
		return reader_fatal(r, ret, "offset %llu: read: %s",
				    (unsigned long long)off, strerror(-ret));
	ret = rp_blockdec_payload(r->dec, h, r->stored.data, &r->raw);
	if (ret == -ENOMEM)
		return reader_fatal(r, ret, "offset %llu: out of memory", (unsigned long long)off);
	if (ret < 0)
		return reader_problem(r, it, off, false, "offset %llu: %s",
				      (unsigned long long)off, rp_blockdec_problem(r->dec));

	if (!r->seen_header && h->type != RP_BLK_HEADER)
		return reader_problem(r, it, off, false,
				      "offset %llu: first block is %s, not HEADER",
				      (unsigned long long)off, reader_block_names[h->type]);
	if (r->seen_header && h->type == RP_BLK_HEADER)
		return reader_problem(r, it, off, false, "offset %llu: second HEADER block",
				      (unsigned long long)off);

	r->blk_off = off;
	r->cursor = 0;
	r->p = r->raw.data;
	what = NULL;
	switch (h->type) {
	case RP_BLK_HEADER:
		if (r->raw.len < sizeof(r->info))
			what = "malformed HEADER block (too short)";
		else if (memcpy(&r->info, r->raw.data, sizeof(r->info)),
			 r->info.cmdline_len != r->raw.len - sizeof(r->info))
			what = "malformed HEADER block (cmdline_len does not match)";
		else if (r->info.tick_hz == 0)
			what = "malformed HEADER block (tick_hz is 0)";
		break;
	case RP_BLK_STRINGS:
		what = reader_load_strings(r, &ret);
		if (ret < 0)
			return reader_fatal(r, ret, "offset %llu: out of memory",
					    (unsigned long long)off);
		break;
	case RP_BLK_THREADS:
		if (!reader_fixed_is_valid(r, sizeof(struct rp_seg_thread)))
			what = "malformed THREADS block (size is not count items)";
		break;
	case RP_BLK_CLOCK:
		if (!reader_fixed_is_valid(r, sizeof(struct rp_seg_clock)))
			what = "malformed CLOCK block (size is not count items)";
		break;
	case RP_BLK_LOSS:
		if (!reader_fixed_is_valid(r, sizeof(struct rp_seg_loss)))
			what = "malformed LOSS block (size is not count items)";
		break;
	case RP_BLK_EVENTS: {
		uint32_t undef = 0;
		bool has_undef;
		what = reader_check_events(r, &has_undef, &undef);
		if (!what && has_undef)
			return reader_problem(r, it, off, false,
					      "offset %llu: event uses undefined string %u",
					      (unsigned long long)off, undef);
		if (!what)
			rp_evdec_begin_version(&r->evdec, r->version, r->raw.data, r->raw.len,
					       h->count);
		break;
	}
	case RP_BLK_FOOTER:
		if (r->raw.len != sizeof(struct rp_seg_footer))
			what = "malformed FOOTER block (wrong size)";
		break;
	}
	if (what)
		return reader_problem(r, it, off, false, "offset %llu: %s",
				      (unsigned long long)off, what);

	r->off = off + sizeof(*h) + h->stored_len;
	if (h->type == RP_BLK_FOOTER) {
		memset(it, 0, sizeof(*it));
		memcpy(&it->footer.footer, r->raw.data, sizeof(it->footer.footer));
		ret = reader_check_footer(r, it, off, &it->footer.footer);
		if (ret != 0)
			return ret;
		it->kind = RP_ITEM_FOOTER;
		it->path = r->path;
		it->offset = off;
		it->footer.file_size = r->size;
		it->footer.undefined = r->undefined;
		reader_close_file(r);
		r->state = READER_NEXT_FILE;
		return 1;
	}
	r->blocks++;
	r->raw_bytes += h->raw_len;
	if (h->type == RP_BLK_EVENTS)
		r->events += h->count;
	if (h->type == RP_BLK_HEADER) {
		r->seen_header = true;
		/* A new segment: its own strings and clock. */
		strtab_reset(&r->strings);
		r->pair.ticks = r->info.clock_ticks;
		r->pair.mono_ns = r->info.clock_mono_ns;
		r->pair.real_ns = r->info.clock_real_ns;
		memset(it, 0, sizeof(*it));
		it->kind = RP_ITEM_SEGMENT;
		it->path = r->path;
		it->offset = off;
		it->segment.info = r->info;
		it->segment.cmdline = (const char *)r->raw.data + sizeof(r->info);
		it->segment.version = r->version;
		it->segment.file_size = r->size;
		return 1;
	}
	r->pending = h->count > 0;
	return 0;
}

/* Resolve string id for an event, or name it undefined (recover mode). */
static const char *reader_resolve(struct rp_reader *r, uint32_t id, int which,
				  size_t *len, unsigned *undefined)
{
	uint32_t l;
	const char *s = strtab_get(&r->strings, id, &l);

	if (s) {
		*len = l;
		return s;
	}
	r->undefined++;
	*undefined |= which ? RP_EVENT_ARG_UNDEFINED : RP_EVENT_KIND_UNDEFINED;
	*len = (size_t)snprintf(r->undef[which], sizeof(r->undef[which]),
				"<undefined string %u>", id);
	return r->undef[which];
}

/* The next item of the pending block (checked already). */
static void reader_deliver(struct rp_reader *r, struct rp_item *it)
{
	size_t i = r->cursor++;

	memset(it, 0, sizeof(*it));
	it->path = r->path;
	it->offset = r->blk_off;
	switch (r->hdr.type) {
	case RP_BLK_STRINGS: {
		uint32_t head[2], len;
		memcpy(head, r->p, sizeof(head));
		r->p += sizeof(head) + head[1];
		it->kind = RP_ITEM_STRING;
		it->string.id = head[0];
		it->string.bytes = strtab_get(&r->strings, head[0], &len);
		it->string.len = len;
		break;
	}
	case RP_BLK_THREADS:
		it->kind = RP_ITEM_THREAD;
		memcpy(&it->thread.t, r->raw.data + i * sizeof(it->thread.t), sizeof(it->thread.t));
		it->thread.ns = reader_ns(r, it->thread.t.ticks);
		break;
	case RP_BLK_CLOCK:
		it->kind = RP_ITEM_CLOCK;
		memcpy(&it->clock, r->raw.data + i * sizeof(it->clock), sizeof(it->clock));
		r->pair = it->clock;
		break;
	case RP_BLK_LOSS:
		it->kind = RP_ITEM_LOSS;
		memcpy(&it->loss, r->raw.data + i * sizeof(it->loss), sizeof(it->loss));
		break;
	case RP_BLK_EVENTS: {
		struct rp_event ev;
		rp_evdec_next(&r->evdec, &ev);  /* checked by reader_check_events() */
		it->kind = RP_ITEM_EVENT;
		it->event.type = ev.type;
		it->event.thread = r->evdec.hdr.thread;
		it->event.index = r->evdec.hdr.first_index + i;
		it->event.kind_id = ev.id;
		it->event.arg_id = ev.arg;
		it->event.kind = reader_resolve(r, ev.id, 0, &it->event.kind_len,
						&it->event.undefined);
		if (ev.arg)
			it->event.arg = reader_resolve(r, ev.arg, 1, &it->event.arg_len,
						       &it->event.undefined);
		it->event.ticks = ev.ts;
		it->event.ns = reader_ns(r, ev.ts);
		it->event.value = ev.value;
		break;
	}
	}
	if (r->cursor == r->hdr.count)
		r->pending = false;
}

int rp_reader_next(struct rp_reader *r, struct rp_item *it)
{
	int ret;

	for (;;) {
		if (r->pending) {
			reader_deliver(r, it);
			return 1;
		}
		switch (r->state) {
		case READER_DONE:
			return 0;
		case READER_FAILED:
			return r->fail;
		case READER_NEXT_FILE:
			if (r->next_path == r->paths.n) {
				r->state = READER_DONE;
				return 0;
			}
			ret = reader_open_file(r, it);
			if (ret != 0)
				return ret;
			break;
		case READER_BLOCKS:
			ret = reader_read_block(r, it);
			if (ret != 0)
				return ret;
			break;
		}
	}
}

struct rp_reader *rp_reader_open(const char *const *paths, size_t n, unsigned flags,
				 char *err, size_t errlen)
{
	struct rp_reader *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	r->fd = -1;
	r->flags = flags;
	r->state = READER_NEXT_FILE;
	ret = rp_blockdec_open(&r->dec);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		goto err_free;
	}
	ret = paths_expand(&r->paths, paths, n, err, errlen);
	if (ret < 0)
		goto err_free;
	return r;

err_free:
	rp_reader_close(r);
	errno = -ret;
	return NULL;
}

const char *rp_reader_error(const struct rp_reader *r)
{
	return r->err;
}

const char *rp_reader_string(const struct rp_reader *r, uint32_t id, size_t *len)
{
	uint32_t l;
	const char *s = strtab_get(&r->strings, id, &l);

	if (s && len)
		*len = l;
	return s;
}

size_t rp_reader_file_count(const struct rp_reader *r)
{
	return r->paths.n;
}

const char *rp_reader_file(const struct rp_reader *r, size_t i)
{
	return i < r->paths.n ? r->paths.v[i] : NULL;
}

void rp_reader_close(struct rp_reader *r)
{
	if (!r)
		return;
	reader_close_file(r);
	rp_blockdec_close(r->dec);
	rp_buf_free(&r->stored);
	rp_buf_free(&r->raw);
	strtab_free(&r->strings);
	paths_free(&r->paths);
	free(r);
}
