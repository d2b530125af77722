/*
 * codec.h - encoding and decoding of segment blocks (ringprof/seg.h).
 *
 * Shared by ringprofd (the writer) and libringprof (the reader), so that the
 * byte format is spelled in exactly one place.  Pure computation: no I/O.
 * Actions return 0 or a count on success, -errno on failure; malformed input
 * gives -EBADMSG, never a crash or an out-of-bounds read.
 */
#ifndef RINGPROF_CODEC_H
#define RINGPROF_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ringprof/seg.h>

/* CRC32C (Castagnoli) of buf, continuing from crc (start with 0). */
uint32_t rp_crc32c(uint32_t crc, const void *buf, size_t len);
/* The same CRC by table only, whatever the CPU (to test one against the other). */
uint32_t rp_crc32c_portable(uint32_t crc, const void *buf, size_t len);

/* LEB128.  put writes at most 10 bytes and returns how many; get advances
 * *p and returns 0, or -EBADMSG when the number is cut off or over 64 bits. */
size_t rp_uleb_put(uint8_t *p, uint64_t v);
int rp_uleb_get(const uint8_t **p, const uint8_t *end, uint64_t *v);
static inline uint64_t rp_zigzag(int64_t d) { return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63); }
static inline int64_t rp_unzigzag(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

/* A growable byte buffer. */
struct rp_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Make room for n more bytes; 0 or -ENOMEM. */
int rp_buf_reserve(struct rp_buf *b, size_t n);
/* Append n bytes; 0 or -ENOMEM. */
int rp_buf_put(struct rp_buf *b, const void *src, size_t n);
void rp_buf_free(struct rp_buf *b);

/* One decoded event (a VALUE record is folded into its INTEGER). */
struct rp_event {
	uint8_t  type;     /* enum rp_rec_type */
	uint32_t id;       /* kind string id (name id for THREAD_NAME) */
	uint32_t arg;      /* argument string id, 0 = none */
	uint64_t ts;       /* ticks */
	uint64_t value;    /* INTEGER only */
};

/*
 * Block framing.  One encoder per writer; it owns a ZSTD_CCtx with its level
 * set once.  rp_blockenc_frame() appends header + payload (compressed when
 * compress is true and it helps) to out and returns the framed size.
 */
struct rp_blockenc;
int rp_blockenc_open(struct rp_blockenc **out, int zstd_level);
void rp_blockenc_close(struct rp_blockenc *e);
ssize_t rp_blockenc_frame(struct rp_blockenc *e, uint16_t type, uint32_t count,
			  const void *raw, size_t raw_len, bool compress,
			  struct rp_buf *out);

/*
 * Block decoding.  rp_block_hdr_check() validates a header read from a file
 * (magic, type, lengths within limits); rp_blockdec_payload() checks the CRC
 * over header + stored bytes and decompresses into out (replacing its
 * content).  One decoder owns a ZSTD_DCtx.
 */
struct rp_blockdec;
int rp_blockdec_open(struct rp_blockdec **out);
void rp_blockdec_close(struct rp_blockdec *d);
int rp_block_hdr_check(const struct rp_block_hdr *h);
/* Why rp_block_hdr_check() refuses h, as a short phrase; NULL when it is valid. */
const char *rp_block_hdr_problem(const struct rp_block_hdr *h);
int rp_blockdec_payload(struct rp_blockdec *d, const struct rp_block_hdr *h,
			const void *stored, struct rp_buf *out);
/* Why the last rp_blockdec_payload() failed, as a short phrase ("block CRC
 * mismatch"); static storage. */
const char *rp_blockdec_problem(const struct rp_blockdec *d);

/*
 * EVENTS payload (ringprof/seg.h).  Version 2 (RP_SEG_VERSION) elides the
 * kind and argument of an END that closes the innermost open BEGIN of the
 * block, and codes arguments relative to the largest one seen in the block;
 * version 1 spells every field.  Both keep a stack of the open BEGINs of
 * at most RP_EV_STACK_MAX entries (deeper levels are only counted and never
 * elided), reset at every block so a block decodes on its own.
 */
#define RP_EV_STACK_MAX 64u

/* The open BEGINs of a block, updated identically by encoder and decoder. */
struct rp_evstack {
	uint32_t depth;                     /* entries in kind[] / arg[] */
	uint32_t deeper;                    /* open BEGINs past RP_EV_STACK_MAX */
	uint32_t max_arg;                   /* largest argument id so far */
	uint32_t kind[RP_EV_STACK_MAX];
	uint32_t arg[RP_EV_STACK_MAX];
};

/* Events payload encoder: begin, add events, then the payload is e->buf and
 * the item count e->count. */
struct rp_evenc {
	struct rp_buf buf;
	uint32_t count;
	uint16_t version;        /* payload layout: 1 or 2 */
	uint64_t prev_ts;
	struct rp_evstack stack;
};
/* Start a payload in the current layout (RP_SEG_VERSION). */
int rp_evenc_begin(struct rp_evenc *e, uint32_t thread, uint64_t first_index,
		   uint64_t first_ticks);
/* The same in layout version 1 or 2 (a segment's preamble must say it);
 * -EINVAL for another version. */
int rp_evenc_begin_version(struct rp_evenc *e, uint16_t version, uint32_t thread,
			   uint64_t first_index, uint64_t first_ticks);
int rp_evenc_add(struct rp_evenc *e, const struct rp_event *ev);
void rp_evenc_free(struct rp_evenc *e);

/* Events payload decoder over a decompressed EVENTS payload. */
struct rp_evdec {
	struct rp_seg_events hdr;
	const uint8_t *p, *end;
	uint32_t left;
	uint16_t version;
	uint64_t prev_ts;
	struct rp_evstack stack;
};
/* Decode the current layout (RP_SEG_VERSION); 0, or -EBADMSG when the
 * payload is shorter than its header. */
int rp_evdec_begin(struct rp_evdec *d, const void *payload, size_t len, uint32_t count);
/* The same for the layout of segment version `version` (1 or 2); -EBADMSG
 * for another version. */
int rp_evdec_begin_version(struct rp_evdec *d, uint16_t version, const void *payload,
			   size_t len, uint32_t count);
/* 1 with *ev filled, 0 at the end, -EBADMSG on a malformed event (including
 * a type that is not BEGIN/END/INSTANT/INTEGER/THREAD_NAME, an elided END
 * with no open BEGIN to close, an argument outside 1..UINT32_MAX, or bytes
 * left over after count events). */
int rp_evdec_next(struct rp_evdec *d, struct rp_event *ev);

#endif /* RINGPROF_CODEC_H */
