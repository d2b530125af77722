/*
 * ringprof/shm.h - the shared-memory region a client hands to ringprofd.
 *
 * One memfd per client process, sealed against shrinking and growing, laid
 * out as:
 *
 *   offset 0                 struct rp_shm_header (256 bytes)
 *   ring_offset              ring_count x (struct rp_ring_ctl + ring_bytes)
 *   string_offset            string area: struct rp_str_entry, 8-aligned
 *
 * All multi-byte fields are little-endian host order (both ends are on the
 * same host).  Every field that changes after registration is accessed only
 * through ringprof/atomic.h.  The daemon treats the whole region as hostile:
 * it reads each index once, validates it, then uses the copy.
 */
#ifndef RINGPROF_SHM_H
#define RINGPROF_SHM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define RP_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define RP_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#define RP_CACHE_LINE 64

#define RP_SHM_MAGIC   0x48535052u  /* "RPSH" */
#define RP_SHM_VERSION 1u

/* Limits the daemon enforces on a region (it may be configured lower). */
#define RP_RING_BYTES_MIN     4096u
#define RP_RING_BYTES_MAX     (256u << 20)
#define RP_RING_COUNT_MAX     1024u
#define RP_STRING_BYTES_MIN   4096u
#define RP_STRING_BYTES_MAX   (64u << 20)
#define RP_STRING_LEN_MAX     4096u       /* bytes of one interned string */

/* Client defaults (overridable by environment, see ringprof.h). */
#define RP_DEFAULT_RING_BYTES   (4u << 20)
#define RP_DEFAULT_RING_COUNT   64u
#define RP_DEFAULT_STRING_BYTES (4u << 20)

/* rp_shm_header.flags */
#define RP_SHM_F_LOSSLESS 0x1u  /* a full ring makes the producer wait */

/* rp_shm_header.clock_source, rp_hello.clock_source, rp_seg_info.clock_source */
#define RP_CLOCK_TSC       1u  /* rdtsc, invariant TSC; ticks at tick_hz */
#define RP_CLOCK_MONOTONIC 2u  /* clock_gettime(CLOCK_MONOTONIC) in ns */

struct rp_shm_header {
	/* line 0: geometry, written by the client before registration and
	 * never changed afterwards (the daemon still re-validates it). */
	uint32_t magic;          /* RP_SHM_MAGIC */
	uint16_t version;        /* RP_SHM_VERSION */
	uint16_t header_size;    /* sizeof(struct rp_shm_header) */
	uint64_t region_size;    /* bytes; equals the memfd size */
	uint32_t ring_count;
	uint32_t ring_bytes;     /* data bytes per ring; power of two */
	uint64_t ring_offset;    /* offset of ring 0's control block */
	uint64_t ring_stride;    /* sizeof(struct rp_ring_ctl) + ring_bytes */
	uint64_t string_offset;  /* offset of the string area; 8-aligned */
	uint32_t string_bytes;   /* size of the string area */
	uint32_t flags;          /* RP_SHM_F_* */
	uint32_t clock_source;   /* RP_CLOCK_* */
	uint32_t reserved0;

	/* line 1: written by the client after registration */
	uint64_t string_used;    /* bytes of the string area published; release
				  * in rp_impl_intern_slow(), acquire in the
				  * daemon's string scan */
	uint64_t string_dropped; /* rp_intern() calls refused (area full) */
	uint64_t no_slot_dropped; /* events of threads that found no free ring
				   * slot; acq_rel add in the client's slot
				   * claim, acquire in the daemon's loss
				   * accounting */
	uint8_t  pad1[RP_CACHE_LINE - 24];

	/* line 2: written by the daemon */
	uint64_t daemon_heartbeat; /* CLOCK_MONOTONIC ns of the daemon's last
				    * drain; release in the daemon, acquire in
				    * the lossless producer's wait */
	uint64_t no_slot_reported; /* no_slot_dropped as last recorded in a
				    * LOSS item; the next daemon the region is
				    * offered to (after a restart) counts from
				    * it.  Daemons only (relaxed) */
	/* The one segment write of this client the daemon has in flight
	 * (rp_ring_ctl.durable_landed): file <name>-<pid>-<inflight_client>-
	 * <inflight_seq>.rps of its session, bytes up to inflight_end.  A
	 * daemon that attaches the region after another was killed takes
	 * the write as done when the file is that long.  inflight_end = 0:
	 * none.  Daemons only: inflight_end stored 0 first (relaxed), then
	 * the rest, then inflight_end (release); read first (acquire). */
	uint32_t inflight_client;
	uint32_t inflight_seq;
	uint64_t inflight_end;
	uint8_t  pad2[RP_CACHE_LINE - 32];

	uint8_t  reserved3[RP_CACHE_LINE];
};

RP_STATIC_ASSERT(sizeof(struct rp_shm_header) == 256, "shm header size");
RP_STATIC_ASSERT(offsetof(struct rp_shm_header, string_used) == 64, "shm line 1");
RP_STATIC_ASSERT(offsetof(struct rp_shm_header, no_slot_dropped) == 80, "shm line 1");
RP_STATIC_ASSERT(offsetof(struct rp_shm_header, daemon_heartbeat) == 128, "shm line 2");
RP_STATIC_ASSERT(offsetof(struct rp_shm_header, no_slot_reported) == 136, "shm line 2");
RP_STATIC_ASSERT(offsetof(struct rp_shm_header, inflight_client) == 144, "shm line 2");
RP_STATIC_ASSERT(offsetof(struct rp_shm_header, inflight_end) == 152, "shm line 2");

/* rp_ring_ctl.state */
#define RP_SLOT_FREE    0u  /* no owner; the daemon has drained it */
#define RP_SLOT_OWNED   1u  /* a live thread produces into it */
#define RP_SLOT_RETIRED 2u  /* its thread exited; the daemon drains it, then
			     * sets it FREE */

/*
 * One single-producer/single-consumer ring.  head and tail are free-running
 * byte counters, masked by ring_bytes - 1 and compared only by unsigned
 * difference.  Producer and consumer fields live on separate cache lines.
 * The data (ring_bytes) follows the control block directly.
 */
struct rp_ring_ctl {
	/* line 0: producer (the owning client thread) */
	uint64_t head;     /* bytes published; release in rp_impl_publish(),
			    * acquire in the daemon's ring drain */
	uint64_t dropped;  /* events dropped because the ring was full;
			    * release by the producer, acquire by the daemon.
			    * Free-running across owners. */
	uint8_t  pad0[RP_CACHE_LINE - 16];

	/* line 1: consumer (the daemon) */
	uint64_t tail;     /* bytes consumed; release in the daemon's drain,
			    * acquire in the producer when the ring looks
			    * full */
	uint64_t dropped_reported; /* dropped as last recorded in a LOSS item
				    * (thread end, seal); the next daemon the
				    * region is offered to counts the owner's
				    * drops from it.  Daemons only (relaxed) */
	/* Events of one owner the daemons took off the ring, and how many of
	 * them are accounted on disk (in an EVENTS block whose write
	 * completed, or counted in a LOSS item whose write completed).  A
	 * daemon that attaches the region after another was killed counts
	 * taken - durable (durable_landed if the header's in-flight write is
	 * in its file) as its own drops of that owner, once: it carries the
	 * counts on.  Daemons only: taken before the release of tail,
	 * durable on write completion (relaxed); acct_seq (the owner_seq
	 * they count for) is stored last, release, and read first, acquire,
	 * by the next daemon.  The client never writes them; a value it
	 * scribbles skews only its own counts. */
	uint64_t acct_seq;
	uint64_t taken;
	uint64_t durable;
	uint64_t durable_landed; /* durable once the header's in-flight write
				  * completes; equals durable when that write
				  * holds nothing of this owner */
	uint8_t  pad1[RP_CACHE_LINE - 48];

	/* line 2: ownership, written on thread start and exit only */
	uint32_t state;     /* RP_SLOT_*; the client CASes FREE->OWNED and
			     * stores RETIRED (release); the daemon acquires it
			     * and CASes RETIRED->FREE after draining */
	uint32_t tid;       /* owner's kernel thread id; written before the
			     * OWNED store */
	uint64_t owner_seq; /* bumped by each claim, written before OWNED */
	uint8_t  pad2[RP_CACHE_LINE - 16];

	uint8_t  reserved3[RP_CACHE_LINE];
};

RP_STATIC_ASSERT(sizeof(struct rp_ring_ctl) == 256, "ring ctl size");
RP_STATIC_ASSERT(offsetof(struct rp_ring_ctl, tail) == 64, "ring consumer line");
RP_STATIC_ASSERT(offsetof(struct rp_ring_ctl, dropped_reported) == 72, "ring consumer line");
RP_STATIC_ASSERT(offsetof(struct rp_ring_ctl, acct_seq) == 80, "ring consumer line");
RP_STATIC_ASSERT(offsetof(struct rp_ring_ctl, taken) == 88, "ring consumer line");
RP_STATIC_ASSERT(offsetof(struct rp_ring_ctl, durable) == 96, "ring consumer line");
RP_STATIC_ASSERT(offsetof(struct rp_ring_ctl, durable_landed) == 104, "ring consumer line");
RP_STATIC_ASSERT(offsetof(struct rp_ring_ctl, state) == 128, "ring owner line");

/*
 * Records: 16 bytes each, written at head & (ring_bytes - 1).  ring_bytes is a
 * multiple of 16, so a record never straddles the end of the ring.
 *
 * kind_type packs the record type (top 4 bits) and a string id (low 28 bits):
 *   BEGIN, END, INSTANT   id = kind string, arg = argument string (0: none)
 *   INTEGER               id = kind string, arg = argument string; the next
 *                         record is a VALUE record, published together
 *   VALUE                 ts holds the 64-bit value; id and arg are 0
 *   THREAD_NAME           id = name string; ts = when it was set
 * ts is in ticks of the region's clock_source.
 */
#define RP_REC_BYTES 16u

enum rp_rec_type {
	RP_REC_BEGIN       = 1,
	RP_REC_END         = 2,
	RP_REC_INSTANT     = 3,
	RP_REC_INTEGER     = 4,
	RP_REC_VALUE       = 5,
	RP_REC_THREAD_NAME = 6,
};

struct rp_record {
	uint64_t ts;        /* ticks; or the value of a VALUE record */
	uint32_t kind_type; /* (type << 28) | string id */
	uint32_t arg;       /* string id of the argument; 0 = none */
};

RP_STATIC_ASSERT(sizeof(struct rp_record) == RP_REC_BYTES, "record size");

#define RP_REC_TYPE_SHIFT 28
#define RP_REC_ID_MASK    0x0fffffffu
#define RP_REC_PACK(type, id) (((uint32_t)(type) << RP_REC_TYPE_SHIFT) | ((uint32_t)(id) & RP_REC_ID_MASK))
#define RP_REC_TYPE(kt)   ((uint32_t)(kt) >> RP_REC_TYPE_SHIFT)
#define RP_REC_ID(kt)     ((uint32_t)(kt) & RP_REC_ID_MASK)

/*
 * String area: entries appended by rp_intern(), each published by a release
 * store of string_used.  ids are 1, 2, 3... in order of appearance; id 0
 * means "no string".  The bytes are not NUL-terminated; an entry is padded
 * to a multiple of 8 bytes.
 */
struct rp_str_entry {
	uint32_t id;
	uint32_t len;   /* bytes that follow; <= RP_STRING_LEN_MAX */
	/* char bytes[len]; padding to 8 */
};

RP_STATIC_ASSERT(sizeof(struct rp_str_entry) == 8, "string entry size");

#define RP_STR_ENTRY_SIZE(len) ((uint64_t)(sizeof(struct rp_str_entry) + (len) + 7u) & ~(uint64_t)7u)

#endif /* RINGPROF_SHM_H */
