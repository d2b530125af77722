/*
 * ringprof/seg.h - the segment file format.
 *
 * One segment holds part of one client process's recording and can be read
 * on its own: every string an event uses is defined in the same segment.
 *
 *   struct rp_seg_preamble                   16 bytes
 *   block, block, ...                        framed, see below
 *   FOOTER block, struct rp_seg_trailer      only in a sealed segment
 *
 * A block is struct rp_block_hdr then stored_len payload bytes (zstd frame
 * when RP_BLOCK_F_ZSTD, else raw).  crc is CRC32C (Castagnoli) over the
 * 24-byte header with crc set to 0, then over the stored payload.  A reader
 * that meets a bad or short block reports its offset; every whole block
 * before it stays readable.  The first block is always HEADER.
 *
 * All integers are little-endian.
 */
#ifndef RINGPROF_SEG_H
#define RINGPROF_SEG_H

#include <stdint.h>

#include "shm.h"
#include "wire.h"

#define RP_SEG_MAGIC       "RPSEG\r\n\032"   /* 8 bytes, no NUL */
#define RP_SEG_VERSION     2u        /* readers also accept 1 */
#define RP_SEG_VERSION_MIN 1u
#define RP_SEG_TRAILER_MAGIC "RPSEGEND"     /* 8 bytes, no NUL */
#define RP_BLOCK_MAGIC     0x4b425052u       /* "RPBK" */
#define RP_BLOCK_RAW_MAX   (16u << 20)       /* raw payload bytes of one block */
#define RP_SEG_SUFFIX      ".rpseg"

struct rp_seg_preamble {
	char     magic[8];      /* RP_SEG_MAGIC */
	uint16_t version;       /* RP_SEG_VERSION */
	uint16_t size;          /* sizeof(struct rp_seg_preamble) */
	uint32_t flags;         /* 0 */
};

RP_STATIC_ASSERT(sizeof(struct rp_seg_preamble) == 16, "preamble size");

/* rp_block_hdr.flags */
#define RP_BLOCK_F_ZSTD 0x1u

enum rp_block_type {
	RP_BLK_HEADER  = 1,  /* struct rp_seg_info + cmdline; never compressed */
	RP_BLK_STRINGS = 2,  /* count x { u32 id, u32 len, bytes[len] } */
	RP_BLK_THREADS = 3,  /* count x struct rp_seg_thread */
	RP_BLK_EVENTS  = 4,  /* struct rp_seg_events + count encoded events */
	RP_BLK_CLOCK   = 5,  /* count x struct rp_seg_clock */
	RP_BLK_LOSS    = 6,  /* count x struct rp_seg_loss */
	RP_BLK_FOOTER  = 7,  /* struct rp_seg_footer; never compressed */
};

struct rp_block_hdr {
	uint32_t magic;       /* RP_BLOCK_MAGIC */
	uint16_t type;        /* enum rp_block_type */
	uint16_t flags;       /* RP_BLOCK_F_* */
	uint32_t stored_len;  /* payload bytes in the file */
	uint32_t raw_len;     /* payload bytes once decompressed; <= RP_BLOCK_RAW_MAX */
	uint32_t count;       /* items in the block */
	uint32_t crc;         /* CRC32C, see above */
};

RP_STATIC_ASSERT(sizeof(struct rp_block_hdr) == 24, "block header size");

/* HEADER payload: this struct, then cmdline_len bytes (NUL-separated args). */
struct rp_seg_info {
	uint32_t pid;
	uint32_t clock_source;   /* RP_CLOCK_* */
	uint64_t tick_hz;        /* ticks per second of clock_source */
	uint64_t clock_ticks;    /* correlation at open: a tick value and the */
	uint64_t clock_mono_ns;  /* CLOCK_MONOTONIC and CLOCK_REALTIME ns */
	uint64_t clock_real_ns;  /* read at the same moment */
	uint32_t client_id;      /* the daemon's registration id */
	uint32_t segment_seq;    /* 0, 1, 2... for the client's rotations */
	uint64_t daemon_pid;
	char     boot_id[40];    /* /proc/sys/kernel/random/boot_id, NUL-padded */
	char     host[64];       /* NUL-padded */
	char     name[RP_NAME_MAX];    /* sanitized process name */
	char     session[RP_NAME_MAX]; /* sanitized session label */
	uint32_t cmdline_len;
	uint32_t flags;          /* RP_SEG_F_* */
};

RP_STATIC_ASSERT(sizeof(struct rp_seg_info) == 296, "seg info size");

#define RP_SEG_F_LOSSLESS 0x1u

/* THREADS item: a thread's ring slot was seen claimed (START) or given back
 * (END).  thread is the client-wide thread number, stable across segments. */
enum rp_thread_event { RP_THREAD_START = 1, RP_THREAD_END = 2 };

struct rp_seg_thread {
	uint32_t thread;
	uint32_t tid;
	uint32_t slot;
	uint32_t event;          /* enum rp_thread_event */
	uint64_t ticks;          /* when the daemon saw it */
};

RP_STATIC_ASSERT(sizeof(struct rp_seg_thread) == 24, "seg thread size");

/*
 * EVENTS payload: this struct, then count events of one thread, each:
 *   u8     head             enum rp_rec_type (never VALUE) | RP_EV_F_CLOSE
 *   uleb   id               kind string id (name id for THREAD_NAME)
 *   uleb   arg code         0 = no argument; else zigzag(arg - max) + 1, max
 *                           being the largest argument id of the events
 *                           before it in the block (0 at the start)
 *   sleb   ts delta         zigzag; from the previous event's ts (the first
 *                           event's from first_ticks)
 *   uleb   value            INTEGER only
 * An END whose kind and argument equal those of the innermost open BEGIN of
 * the block is written as head RP_REC_END | RP_EV_F_CLOSE and its ts delta
 * only.  Open BEGINs are tracked on a stack of at most 64 entries: a BEGIN
 * pushes (or, at depth 64, counts one level deeper), every END pops (the
 * deeper count first); RP_EV_F_CLOSE is valid only with an entry on top and
 * no deeper level.
 * Version 1 segments: u8 type, uleb id, uleb arg (the id itself), sleb ts
 * delta, uleb value; no RP_EV_F_CLOSE.
 * uleb is LEB128; zigzag maps signed d to (d << 1) ^ (d >> 63).
 */
#define RP_EV_F_CLOSE 0x80u

struct rp_seg_events {
	uint32_t thread;
	uint32_t reserved;
	uint64_t first_index;    /* index of the first event in its thread */
	uint64_t first_ticks;    /* base of the first delta */
};

RP_STATIC_ASSERT(sizeof(struct rp_seg_events) == 24, "seg events size");

struct rp_seg_clock {
	uint64_t ticks;
	uint64_t mono_ns;
	uint64_t real_ns;
};

RP_STATIC_ASSERT(sizeof(struct rp_seg_clock) == 24, "seg clock size");

/* LOSS item: cumulative counts for one thread since it started.
 * committed = written + client_dropped + daemon_dropped.
 * Thread numbers start at 1; a LOSS item for thread 0 counts, in
 * client_dropped, the events of the whole process that were dropped because
 * their thread found no free ring slot (written is 0). */
struct rp_seg_loss {
	uint32_t thread;
	uint32_t reserved;
	uint64_t written;        /* events written to segments so far */
	uint64_t client_dropped; /* dropped by the client: ring full */
	uint64_t daemon_dropped; /* drained but not written (bad record, disk) */
};

RP_STATIC_ASSERT(sizeof(struct rp_seg_loss) == 32, "seg loss size");

/* rp_seg_footer.end_reason */
enum rp_seg_end {
	RP_SEG_END_EXIT     = 1,  /* the client exited or closed its socket */
	RP_SEG_END_ROTATE   = 2,  /* rotation by size, age or SIGHUP */
	RP_SEG_END_SHUTDOWN = 3,  /* the daemon stopped (SIGTERM) */
	RP_SEG_END_QUARANTINE = 4 /* the client broke the protocol */
};

struct rp_seg_footer {
	uint64_t blocks;         /* blocks before the footer, HEADER included */
	uint64_t events;         /* events in this segment */
	uint64_t raw_bytes;      /* sum of raw_len of those blocks */
	uint32_t end_reason;     /* enum rp_seg_end */
	uint32_t threads;        /* threads with events in this segment */
	uint64_t end_ticks;      /* clock at sealing */
};

RP_STATIC_ASSERT(sizeof(struct rp_seg_footer) == 40, "seg footer size");

/* The last 16 bytes of a sealed segment. */
struct rp_seg_trailer {
	uint64_t footer_offset;  /* file offset of the FOOTER block header */
	char     magic[8];       /* RP_SEG_TRAILER_MAGIC */
};

RP_STATIC_ASSERT(sizeof(struct rp_seg_trailer) == 16, "seg trailer size");

#endif /* RINGPROF_SEG_H */
