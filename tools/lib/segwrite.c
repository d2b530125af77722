/*
 * segwrite.c - a synchronous segment builder over the rp_segenc_* encoders.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "segwrite.h"

/* Account for the block just appended (its header sits at out->len - n). */
static int segwrite_count(struct rp_segwrite *w, ssize_t n)
{
	struct rp_block_hdr h;

	if (n < 0)
		return (int)n;
	memcpy(&h, w->out.data + w->out.len - (size_t)n, sizeof(h));
	w->blocks++;
	w->raw_bytes += h.raw_len;
	return 0;
}

int rp_segwrite_open(struct rp_segwrite *w, int fd, int zstd_level, bool compress,
		     const struct rp_seg_info *info, const void *cmdline, uint32_t len)
{
	return rp_segwrite_open_version(w, RP_SEG_VERSION_MIN, fd, zstd_level, compress, info,
					cmdline, len);
}

int rp_segwrite_open_version(struct rp_segwrite *w, uint16_t version, int fd,
			     int zstd_level, bool compress, const struct rp_seg_info *info,
			     const void *cmdline, uint32_t len)
{
	ssize_t n;
	int ret;

	memset(w, 0, sizeof(*w));
	if (version < RP_SEG_VERSION_MIN || version > RP_SEG_VERSION)
		return -EINVAL;
	w->fd = fd;
	w->compress = compress;
	w->version = version;
	ret = rp_blockenc_open(&w->enc, zstd_level);
	if (ret < 0)
		return ret;
	n = rp_segenc_preamble_version(&w->out, version);
	if (n < 0) {
		ret = (int)n;
		goto err_close;
	}
	ret = segwrite_count(w, rp_segenc_header(w->enc, info, cmdline, len, &w->out));
	if (ret < 0)
		goto err_close;
	return 0;

err_close:
	rp_segwrite_close(w);
	return ret;
}

int rp_segwrite_strings(struct rp_segwrite *w, const struct rp_segenc_string *s, size_t n)
{
	return segwrite_count(w, rp_segenc_strings(w->enc, s, n, w->compress, &w->out));
}

int rp_segwrite_threads(struct rp_segwrite *w, const struct rp_seg_thread *t, size_t n)
{
	return segwrite_count(w, rp_segenc_threads(w->enc, t, n, w->compress, &w->out));
}

int rp_segwrite_clock(struct rp_segwrite *w, const struct rp_seg_clock *c, size_t n)
{
	return segwrite_count(w, rp_segenc_clock(w->enc, c, n, w->compress, &w->out));
}

int rp_segwrite_loss(struct rp_segwrite *w, const struct rp_seg_loss *l, size_t n)
{
	return segwrite_count(w, rp_segenc_loss(w->enc, l, n, w->compress, &w->out));
}

/* Remember thread as one with events, for the footer's thread count. */
static int segwrite_note_thread(struct rp_segwrite *w, uint32_t thread)
{
	uint32_t *p;

	for (uint32_t i = 0; i < w->threads; i++)
		if (w->thread_ids[i] == thread)
			return 0;
	if (w->threads == w->thread_cap) {
		uint32_t cap = w->thread_cap ? w->thread_cap * 2 : 8;
		p = reallocarray(w->thread_ids, cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
		w->thread_ids = p;
		w->thread_cap = cap;
	}
	w->thread_ids[w->threads++] = thread;
	return 0;
}

int rp_segwrite_events(struct rp_segwrite *w, uint32_t thread, uint64_t first_index,
		       uint64_t first_ticks, const struct rp_event *ev, size_t n)
{
	int ret = rp_evenc_begin_version(&w->ev, w->version, thread, first_index, first_ticks);

	for (size_t i = 0; i < n && ret == 0; i++)
		ret = rp_evenc_add(&w->ev, &ev[i]);
	if (ret == 0)
		ret = segwrite_count(w, rp_segenc_events(w->enc, &w->ev, w->compress, &w->out));
	if (ret == 0 && n)
		ret = segwrite_note_thread(w, thread);
	if (ret == 0)
		w->events += n;
	return ret;
}

int rp_segwrite_seal(struct rp_segwrite *w, uint32_t end_reason, uint64_t end_ticks)
{
	struct rp_seg_footer f = {
		.blocks = w->blocks,
		.events = w->events,
		.raw_bytes = w->raw_bytes,
		.end_reason = end_reason,
		.threads = w->threads,
		.end_ticks = end_ticks,
	};
	ssize_t n = rp_segenc_footer(w->enc, &f, w->flushed + w->out.len, &w->out);

	return n < 0 ? (int)n : 0;
}

int rp_segwrite_flush(struct rp_segwrite *w)
{
	size_t done = 0;

	if (w->fd < 0)
		return 0;
	while (done < w->out.len) {
		ssize_t n = write(w->fd, w->out.data + done, w->out.len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	w->flushed += done;
	w->out.len = 0;
	return 0;
}

void rp_segwrite_close(struct rp_segwrite *w)
{
	rp_blockenc_close(w->enc);
	w->enc = NULL;
	rp_evenc_free(&w->ev);
	rp_buf_free(&w->out);
	free(w->thread_ids);
	w->thread_ids = NULL;
}
