/*
 * segenc.c - pure encoders for the pieces of a segment file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "segwrite.h"

ssize_t rp_segenc_preamble(struct rp_buf *out)
{
	return rp_segenc_preamble_version(out, RP_SEG_VERSION);
}

ssize_t rp_segenc_preamble_version(struct rp_buf *out, uint16_t version)
{
	struct rp_seg_preamble p = {
		.version = version,
		.size = sizeof(struct rp_seg_preamble),
	};
	int ret;

	memcpy(p.magic, RP_SEG_MAGIC, sizeof(p.magic));
	ret = rp_buf_put(out, &p, sizeof(p));
	return ret < 0 ? ret : (ssize_t)sizeof(p);
}

/* One framed block; count must fit the header's u32. */
static ssize_t segenc_block(struct rp_blockenc *e, uint16_t type, size_t count,
			    const void *raw, size_t len, bool compress, struct rp_buf *out)
{
	if (count > UINT32_MAX)
		return -EINVAL;
	return rp_blockenc_frame(e, type, (uint32_t)count, raw, len, compress, out);
}

ssize_t rp_segenc_header(struct rp_blockenc *e, const struct rp_seg_info *info,
			 const void *cmdline, uint32_t len, struct rp_buf *out)
{
	struct rp_buf raw = { 0 };
	struct rp_seg_info copy = *info;
	ssize_t ret;

	copy.cmdline_len = len;
	ret = rp_buf_put(&raw, &copy, sizeof(copy));
	if (ret == 0)
		ret = rp_buf_put(&raw, cmdline, len);
	if (ret == 0)
		ret = segenc_block(e, RP_BLK_HEADER, 1, raw.data, raw.len, false, out);
	rp_buf_free(&raw);
	return ret;
}

ssize_t rp_segenc_strings(struct rp_blockenc *e, const struct rp_segenc_string *s,
			  size_t n, bool compress, struct rp_buf *out)
{
	struct rp_buf raw = { 0 };
	ssize_t ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++) {
		uint32_t head[2] = { s[i].id, s[i].len };
		ret = rp_buf_put(&raw, head, sizeof(head));
		if (ret == 0)
			ret = rp_buf_put(&raw, s[i].bytes, s[i].len);
	}
	if (ret == 0)
		ret = segenc_block(e, RP_BLK_STRINGS, n, raw.data, raw.len, compress, out);
	rp_buf_free(&raw);
	return ret;
}

ssize_t rp_segenc_threads(struct rp_blockenc *e, const struct rp_seg_thread *t,
			  size_t n, bool compress, struct rp_buf *out)
{
	return segenc_block(e, RP_BLK_THREADS, n, t, n * sizeof(*t), compress, out);
}

ssize_t rp_segenc_clock(struct rp_blockenc *e, const struct rp_seg_clock *c,
			size_t n, bool compress, struct rp_buf *out)
{
	return segenc_block(e, RP_BLK_CLOCK, n, c, n * sizeof(*c), compress, out);
}

ssize_t rp_segenc_loss(struct rp_blockenc *e, const struct rp_seg_loss *l,
		       size_t n, bool compress, struct rp_buf *out)
{
	return segenc_block(e, RP_BLK_LOSS, n, l, n * sizeof(*l), compress, out);
}

ssize_t rp_segenc_events(struct rp_blockenc *e, const struct rp_evenc *ev,
			 bool compress, struct rp_buf *out)
{
	return segenc_block(e, RP_BLK_EVENTS, ev->count, ev->buf.data, ev->buf.len,
			    compress, out);
}

ssize_t rp_segenc_footer(struct rp_blockenc *e, const struct rp_seg_footer *f,
			 uint64_t footer_offset, struct rp_buf *out)
{
	struct rp_seg_trailer t = { .footer_offset = footer_offset };
	ssize_t n;
	int ret;

	memcpy(t.magic, RP_SEG_TRAILER_MAGIC, sizeof(t.magic));
	n = segenc_block(e, RP_BLK_FOOTER, 1, f, sizeof(*f), false, out);
	if (n < 0)
		return n;
	ret = rp_buf_put(out, &t, sizeof(t));
	if (ret < 0) {
		out->len -= (size_t)n;
		return ret;
	}
	return n + (ssize_t)sizeof(t);
}
