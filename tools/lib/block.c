/*
 * block.c - framing of segment blocks: struct rp_block_hdr, then the stored
 * payload (a zstd frame when RP_BLOCK_F_ZSTD, else the raw bytes), with a
 * CRC32C over the header (crc field 0) and the stored bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "codec.h"

struct rp_blockenc {
	ZSTD_CCtx *cctx;
};

struct rp_blockdec {
	ZSTD_DCtx *dctx;
	const char *problem;
};

int rp_blockenc_open(struct rp_blockenc **out, int zstd_level)
{
	struct rp_blockenc *e;
	size_t zr;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cctx = ZSTD_createCCtx();
	if (!e->cctx)
		goto err_free;
	zr = ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_compressionLevel, zstd_level);
	if (ZSTD_isError(zr))
		goto err_cctx;
	/* The header's raw_len says the size; the checksum is our CRC. */
	zr = ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_checksumFlag, 0);
	if (ZSTD_isError(zr))
		goto err_cctx;
	*out = e;
	return 0;

err_cctx:
	ZSTD_freeCCtx(e->cctx);
	free(e);
	return -EINVAL;
err_free:
	free(e);
	return -ENOMEM;
}

void rp_blockenc_close(struct rp_blockenc *e)
{
	if (!e)
		return;
	ZSTD_freeCCtx(e->cctx);
	free(e);
}

static bool block_type_is_known(uint16_t type)
{
	return type >= RP_BLK_HEADER && type <= RP_BLK_FOOTER;
}

static uint32_t block_crc(const struct rp_block_hdr *h, const void *stored)
{
	struct rp_block_hdr z = *h;

	z.crc = 0;
	return rp_crc32c(rp_crc32c(0, &z, sizeof(z)), stored, h->stored_len);
}

ssize_t rp_blockenc_frame(struct rp_blockenc *e, uint16_t type, uint32_t count,
			  const void *raw, size_t raw_len, bool compress,
			  struct rp_buf *out)
{
	struct rp_block_hdr h = {
		.magic = RP_BLOCK_MAGIC,
		.type = type,
		.count = count,
	};
	size_t start = out->len, bound, stored = raw_len;
	uint8_t *payload;
	int ret;

	if (!block_type_is_known(type) || raw_len > RP_BLOCK_RAW_MAX)
		return -EINVAL;
	if (type == RP_BLK_HEADER || type == RP_BLK_FOOTER || raw_len == 0)
		compress = false;
	bound = compress ? ZSTD_compressBound(raw_len) : raw_len;
	if (bound < raw_len)
		bound = raw_len;
	ret = rp_buf_reserve(out, sizeof(h) + bound);
	if (ret < 0)
		return ret;
	payload = out->data + start + sizeof(h);
	if (compress) {
		/* Compress into at most raw_len - 1 bytes: a frame that does
		 * not beat the raw bytes is not worth keeping. */
		size_t zr = ZSTD_compress2(e->cctx, payload, raw_len - 1, raw, raw_len);
		if (!ZSTD_isError(zr)) {
			h.flags = RP_BLOCK_F_ZSTD;
			stored = zr;
		} else if (ZSTD_getErrorCode(zr) != ZSTD_error_dstSize_tooSmall) {
			return -EIO;
		}
	}
	if (!(h.flags & RP_BLOCK_F_ZSTD) && raw_len)
		memcpy(payload, raw, raw_len);
	h.stored_len = (uint32_t)stored;
	h.raw_len = (uint32_t)raw_len;
	h.crc = block_crc(&h, payload);
	memcpy(out->data + start, &h, sizeof(h));
	out->len = start + sizeof(h) + stored;
	return (ssize_t)(sizeof(h) + stored);
}

const char *rp_block_hdr_problem(const struct rp_block_hdr *h)
{
	if (h->magic != RP_BLOCK_MAGIC)
		return "bad block magic";
	if (!block_type_is_known(h->type))
		return "unknown block type";
	if (h->flags & ~RP_BLOCK_F_ZSTD)
		return "unknown block flags";
	if (h->raw_len > RP_BLOCK_RAW_MAX)
		return "block raw_len over the limit";
	if (h->flags & RP_BLOCK_F_ZSTD) {
		if (h->type == RP_BLK_HEADER || h->type == RP_BLK_FOOTER)
			return "compressed HEADER or FOOTER block";
		if (h->stored_len == 0 || h->stored_len > ZSTD_compressBound(h->raw_len))
			return "block stored_len does not fit raw_len";
	} else if (h->stored_len != h->raw_len) {
		return "block stored_len differs from raw_len";
	}
	return NULL;
}

int rp_block_hdr_check(const struct rp_block_hdr *h)
{
	return rp_block_hdr_problem(h) ? -EBADMSG : 0;
}

int rp_blockdec_open(struct rp_blockdec **out)
{
	struct rp_blockdec *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->dctx = ZSTD_createDCtx();
	if (!d->dctx) {
		free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void rp_blockdec_close(struct rp_blockdec *d)
{
	if (!d)
		return;
	ZSTD_freeDCtx(d->dctx);
	free(d);
}

const char *rp_blockdec_problem(const struct rp_blockdec *d)
{
	return d->problem ? d->problem : "no problem";
}

int rp_blockdec_payload(struct rp_blockdec *d, const struct rp_block_hdr *h,
			const void *stored, struct rp_buf *out)
{
	size_t zr;
	int ret;

	d->problem = rp_block_hdr_problem(h);
	if (d->problem)
		return -EBADMSG;
	if (block_crc(h, stored) != h->crc) {
		d->problem = "block CRC mismatch";
		return -EBADMSG;
	}
	out->len = 0;
	/* One spare byte so that an empty block still has a buffer. */
	ret = rp_buf_reserve(out, (size_t)h->raw_len + 1);
	if (ret < 0) {
		d->problem = "out of memory";
		return ret;
	}
	if (!(h->flags & RP_BLOCK_F_ZSTD)) {
		if (h->raw_len)
			memcpy(out->data, stored, h->raw_len);
		out->len = h->raw_len;
		return 0;
	}
	zr = ZSTD_decompressDCtx(d->dctx, out->data, h->raw_len, stored, h->stored_len);
	if (ZSTD_isError(zr)) {
		d->problem = ZSTD_getErrorCode(zr) == ZSTD_error_dstSize_tooSmall ?
			     "block decompresses to more than raw_len" :
			     "block payload is not a valid zstd frame";
		ZSTD_DCtx_reset(d->dctx, ZSTD_reset_session_only);
		return -EBADMSG;
	}
	if (zr != h->raw_len) {
		d->problem = "block decompresses to less than raw_len";
		return -EBADMSG;
	}
	out->len = zr;
	return 0;
}
