/*
 * ringprofd.h - internal interfaces of the ringprof drain daemon.
 *
 * One file per concern; the file stem is the function prefix.  Everything
 * runs on one thread around one io_uring: every pending operation carries a
 * struct op whose address is its user_data, and loop.c dispatches each
 * completion by op kind.
 */
#ifndef RINGPROFD_H
#define RINGPROFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/types.h>

#include <ringprof/atomic.h>
#include <ringprof/seg.h>
#include <ringprof/shm.h>
#include <ringprof/wire.h>

#include "codec.h"

#define RPD_NSEC_PER_SEC 1000000000ull
#define RPD_NSEC_PER_MSEC 1000000ull

/* Raw EVENTS payload that makes a thread's encoder flush; bytes. */
#define RPD_FLUSH_RAW_BYTES (256u << 10)
/* How long a client may take to send its whole hello; ns. */
#define RPD_HANDSHAKE_NS (2000ull * RPD_NSEC_PER_MSEC)
/* Connections in handshake at once; more are answered -EAGAIN and closed
 * (memory and fds stay bounded under a connection flood). */
#define RPD_HANDSHAKE_MAX 128u
/* Interval of CLOCK correlation pairs in a segment; ns. */
#define RPD_CLOCK_PAIR_NS RPD_NSEC_PER_SEC
/* Bytes of ring data copied out of shared memory per step. */
#define RPD_COPY_CHUNK (64u << 10)
/* Longest sanitized name or session, bytes without the NUL. */
#define RPD_LABEL_MAX 63u

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

struct rpd_conf {
	const char *socket_path;
	const char *state_dir;
	uint32_t max_clients;
	uint64_t max_region;      /* bytes */
	uint32_t max_ring_bytes;  /* bytes */
	uint32_t max_rings;
	uint32_t tick_ms;
	uint32_t flush_ms;
	uint64_t rotate_size;     /* bytes */
	uint64_t rotate_age;      /* s; 0 = off */
	int zstd_level;
	bool foreground;
	enum log_level log_level;

	/* access (issue: reliability/security) */
	uint32_t socket_mode;     /* permission bits of the socket file */
	const char *socket_group; /* group owning the socket file; NULL = ours */
	const char *allow_users;  /* comma-separated names or uids; NULL = any */
	const char *allow_groups; /* comma-separated names or gids; NULL = any */

	/* per-client and per-session limits */
	uint32_t max_string_bytes;  /* largest string area of a client; bytes */
	uint64_t max_pending_bytes; /* segment bytes of one client queued for
				     * the disk; beyond it events are dropped
				     * (counted) instead of held in memory */
	uint64_t session_quota;     /* bytes on disk per session; 0 = none */

	/* retention, applied per session directory; 0 = keep */
	uint64_t retain_bytes;    /* bytes of segments kept per session */
	uint64_t retain_days;     /* days a sealed segment is kept */
};

/* Kinds of pending io_uring operations. */
enum op_kind {
	OP_ACCEPT = 1,
	OP_SIGNAL,
	OP_TICK,
	OP_CLIENT_RECV,   /* hello bytes, then end-of-connection watch */
	OP_CLIENT_PIDFD,  /* poll: the client process exited */
	OP_CLIENT_EVFD,   /* poll, then read: a lossless producer waits */
	OP_SEG_WRITE,
	OP_SEG_SYNC,
	OP_STATUS,        /* a status request: its bytes, then the reply */
};

struct op {
	enum op_kind kind;
	bool busy;        /* submitted, completion not yet seen */
	void *owner;
};

/* Per-client string table, built from the client's string area. */
struct strtab {
	uint64_t scanned;         /* bytes of the string area parsed */
	uint32_t count;           /* highest id defined (ids are 1..count) */
	uint32_t cap;
	const uint8_t *area;      /* the client's string area (its mapping) */
	uint32_t *off;            /* [id] offset of the bytes in area */
	uint32_t *len;            /* [id] bytes */
};

/* The daemon's view of one ring slot and the thread that owns it. */
struct ring_slot {
	bool active;              /* a thread owns it, START emitted */
	bool integer_pending;     /* an INTEGER waits for its VALUE */
	bool resumed;             /* an earlier daemon drained it: the first
				   * record may be the VALUE of a pair it took */
	uint64_t owner_seq;
	uint32_t thread;          /* client-wide thread number */
	uint32_t tid;
	uint64_t tail;            /* private copy of what we consumed */
	uint64_t dropped_base;    /* ctl.dropped when this owner began */
	uint64_t dropped_seen;    /* ctl.dropped at the last drain */
	uint64_t written;         /* events written to segments */
	uint64_t daemon_dropped;  /* events drained but not written */
	uint64_t index;           /* events drained for this thread */
	uint64_t taken;           /* ctl.taken as this daemon publishes it:
				   * events of the owner taken off the ring,
				   * an earlier daemon's included */
	uint64_t inherit_seq;     /* ctl.acct_seq read at attach */
	uint64_t inherit_taken;   /* ctl.taken and ctl.durable read at attach: */
	uint64_t inherit_durable; /* what a killed daemon took and accounted */
	bool inherit;             /* the three above are still to be used */
	uint64_t enc_since;       /* CLOCK_MONOTONIC ns of the oldest event
				   * in enc */
	uint32_t seg_seq_marked;  /* segment (seq + 1) that counted it */
	struct rp_event integer;  /* the pending INTEGER */
	struct rp_evenc enc;
	bool enc_open;
};

/* Events of one thread framed into a buffer: what is dropped (and moved
 * from written to daemon_dropped) if the buffer never reaches the disk,
 * and what becomes durable (ctl.durable) when it does.  A LOSS item has
 * count 0 and the thread's daemon_dropped in dropped. */
struct seg_ledger {
	uint32_t slot;
	uint32_t thread;
	uint64_t count;
	uint64_t dropped;
	bool loss;                /* a LOSS item, not EVENTS */
};

/* A thread's final accounting (its END and last LOSS), kept by its
 * client's seg_acct until the LOSS is written.  If it cannot be (the disk
 * is full), it is queued again: in the client's next segment, or after the
 * client ended in a segment of its own (an orphan, seg.c). */
struct seg_end {
	uint32_t slot;
	uint32_t tid;
	bool lost;                /* its LOSS will not reach the disk */
	struct rp_seg_loss loss;
};
/* Final accountings a client keeps waiting for the disk; beyond, the
 * counts go to the log only (one line each). */
#define RPD_CLIENT_ENDS_MAX 256u
/* Clients gone whose final accounting waits for the disk; beyond, the
 * oldest goes to the log only. */
#define RPD_ORPHANS_MAX 64u

struct seg_orphan;

/* Per ring slot, what of its owner is accounted on disk (ctl.durable =
 * base + events + dropped), and what will be once the client's write in
 * flight completes (ctl.durable_landed = base + land_events +
 * land_dropped). */
struct seg_durable {
	uint32_t thread;          /* owner's thread number; 0 = none */
	uint64_t base;            /* durable as an earlier daemon left it */
	uint64_t events;          /* events in EVENTS blocks written */
	uint64_t dropped;         /* daemon drops in the last LOSS written */
	uint64_t land_events;
	uint64_t land_dropped;
};

struct seg_write {
	struct op op;
	STAILQ_ENTRY(seg_write) entry;
	struct rp_buf buf;
	struct rp_buf ledger;     /* struct seg_ledger of the EVENTS in buf */
	size_t done;              /* bytes of buf already written */
	uint64_t off;             /* file offset of buf */
};

/* What one client has on its way to the disk, shared by its segments
 * (which outlive it until their writes finish). */
struct seg_acct {
	uint32_t refs;            /* the client and each of its segments */
	uint32_t segs;            /* segments open or still writing */
	uint64_t pending;         /* bytes framed but not yet written */
	uint64_t pending_max;     /* highest pending seen */
	bool over_logged;         /* --max-pending-bytes reached was logged */
	/* The client's region, kept mapped until the last write completes,
	 * so that ctl.durable is published even after the client closed
	 * (a client closed at shutdown offers the region to the next
	 * daemon).  region is munmap()ed by the last put. */
	uint8_t *region;
	size_t region_size;
	uint64_t ring_offset;
	uint64_t ring_stride;
	uint32_t ring_count;
	struct seg_durable *durable;  /* [ring_count] */
	/* The client's segments write one buffer at a time between them, so
	 * that the region describes the one write in flight (shm.h
	 * inflight_*): a killed daemon's successor can tell whether it
	 * reached the file. */
	struct seg *writing;      /* whose head write is submitted; NULL */
	struct seg_end *ends;     /* [nends] final accountings not yet written */
	uint32_t nends;
	uint32_t cap_ends;
	struct seg_orphan *orphan; /* the client's identity once it closed
				    * with ends left, for their own segment */
};

/* Bytes of one session directory, for --session-quota. */
struct seg_session {
	LIST_ENTRY(seg_session) entry;
	uint32_t refs;            /* segments of the session */
	uint64_t bytes;           /* on disk at first use + framed since */
	bool over_logged;
	char name[RPD_LABEL_MAX + 1];
};

/* Segments of one client open or still writing; automatic rotation waits
 * while a client has this many. */
#define RPD_CLIENT_SEGS_MAX 4u
/* A segment whose writes failed is replaced at most this often; ns. */
#define RPD_DISK_RETRY_NS RPD_NSEC_PER_SEC

STAILQ_HEAD(seg_write_queue, seg_write);

struct seg {
	LIST_ENTRY(seg) entry;    /* rpd.segs: open or still writing */
	struct op sync_op;
	int fd;
	uint32_t client_id;
	uint32_t seq;
	char *path;               /* for log lines */
	bool failed;              /* a write failed: the rest is discarded */
	bool sealed;              /* footer queued */
	uint64_t opened_ns;       /* CLOCK_MONOTONIC */
	uint64_t clock_ns;        /* when the last CLOCK pair was queued */
	uint64_t size;            /* bytes queued so far = next offset */
	uint64_t blocks;          /* blocks queued, HEADER included */
	uint64_t events;
	uint64_t raw_bytes;
	uint32_t threads;         /* threads with events in this segment */
	struct rp_buf stage;      /* framed blocks not yet queued */
	struct rp_buf strings;    /* STRINGS payload waiting */
	uint32_t strings_count;
	struct rp_buf thread_items; /* THREADS payload waiting */
	uint32_t thread_count;
	uint8_t *defined;         /* bitmap of string ids defined here */
	uint32_t defined_cap;     /* bits */
	struct seg_write_queue writes;
	bool writing;             /* the head of writes is submitted */
	struct rp_buf ledger;     /* struct seg_ledger of the EVENTS staged */
	struct seg_acct *acct;    /* its client's bytes and segments */
	struct seg_session *sess; /* its session's bytes */
	uint64_t failed_ns;       /* CLOCK_MONOTONIC when a write failed */
};

/* Running totals sampled at every RPD_STATUS_SAMPLE_NS, for per-second
 * rates over the last RPD_STATUS_SAMPLES - 1 intervals (status.c). */
#define RPD_STATUS_SAMPLES 21u
#define RPD_STATUS_SAMPLE_NS (250ull * RPD_NSEC_PER_MSEC)

struct status_rate {
	uint64_t ns[RPD_STATUS_SAMPLES];      /* CLOCK_MONOTONIC */
	uint64_t events[RPD_STATUS_SAMPLES];
	uint64_t bytes[RPD_STATUS_SAMPLES];
	uint32_t next;            /* index of the next sample */
	uint32_t n;               /* samples held */
};

/* What a client's status needs beyond its live threads and segment. */
struct status_totals {
	uint64_t ended_written;   /* events written of its ended threads */
	uint64_t ended_ring_full; /* their drops for a full ring */
	uint64_t ended_daemon_dropped;
	uint64_t sealed_bytes;    /* bytes of its segments sealed so far */
	struct status_rate rate;
};

enum client_state {
	CLIENT_HANDSHAKE,
	CLIENT_ACTIVE,
	CLIENT_CLOSED,            /* waiting for its ops to complete */
};

struct client {
	LIST_ENTRY(client) entry;
	enum client_state state;
	uint32_t id;
	pid_t pid;                /* SO_PEERCRED */
	struct ucred cred;        /* SO_PEERCRED at accept: pid, uid, gid */
	int sock;
	int memfd;
	int evfd;
	int pidfd;
	struct op recv_op;
	struct op pidfd_op;
	struct op evfd_op;
	uint64_t deadline;        /* CLOCK_MONOTONIC ns, handshake only */

	/* handshake */
	union {
		struct rp_hello hello;
		uint8_t bytes[sizeof(struct rp_hello) + RP_CMDLINE_MAX];
	} in;
	size_t got;               /* bytes of in received */
	int fds[2];               /* received memfd, eventfd */
	int nfds;
	bool fds_overflow;
	struct msghdr msg;
	struct iovec iov;
	union {
		struct cmsghdr align;
		uint8_t buf[128];
	} cmsg;
	uint8_t after[16];        /* bytes read after the hello */
	uint64_t evfd_value;
	bool evfd_reading;        /* evfd_op is the read after a poll */

	/* accepted */
	char name[RPD_LABEL_MAX + 1];
	char session[RPD_LABEL_MAX + 1];
	uint32_t cmdline_len;
	uint8_t *region;
	size_t region_size;
	struct rp_shm_header geo; /* validated copy of the header */
	struct ring_slot *slots;
	uint32_t threads;         /* thread numbers handed out */
	uint64_t no_slot_base;    /* no_slot_dropped an earlier daemon recorded */
	struct strtab strtab;
	struct seg *seg;
	struct seg_acct *acct;    /* shared with its segments */
	uint32_t seg_seq;
	uint64_t seg_retry_ns;    /* CLOCK_MONOTONIC: no segment (its open
				   * failed) until a retry at this time */
	bool rotate_pending;      /* SIGHUP met RPD_CLIENT_SEGS_MAX */
	char reason[RP_REASON_MAX];  /* why it was quarantined */
	struct status_totals stat;   /* status.c */
};

LIST_HEAD(client_list, client);
LIST_HEAD(seg_list, seg);

struct rpd {
	struct rpd_conf conf;
	struct client_list clients;
	struct seg_list segs;
	uint32_t nclients;        /* registered (accepted) clients */
	uint32_t next_client_id;
	int listen_fd;
	int signal_fd;
	int state_fd;             /* O_DIRECTORY of conf.state_dir */
	bool stopping;
	char boot_id[40];
	char host[64];
	uint64_t events_drained;  /* records taken from rings since start-up
				   * (STATUS= events/s) */
};

extern struct rpd rpd;

/* ringprofd.c */
/* Begin the shutdown: stop listening, drain, seal and close every client;
 * the loop ends once every segment is on disk. */
void ringprofd_stop(void);
/* Per tick: keep the systemd watchdog fed, STATUS= once a second, the
 * retention pass when one is due. */
void ringprofd_tick(uint64_t now);
/* SIGHUP: re-read the configuration (conf_reload), rotate every segment. */
void ringprofd_reload(void);

/* conf.c */
#define RPD_DEFAULT_CONFIG "/etc/ringprof/ringprofd.conf"
/* Build rpd.conf from defaults, the configuration file (--config, or
 * RPD_DEFAULT_CONFIG when it exists) and the command line, which wins.
 * Exits 2 with "ringprofd: <file>:<line>: <message>" or "ringprofd:
 * --<option>: <message>" on an error; --help, --version and --check-config
 * (prints every option with its value) exit here. */
void conf_init(int argc, char **argv);
/* Re-read the file (the command line still wins) and apply the options
 * that can change live, logging each change and each option that needs a
 * restart.  0, or -errno with one error line and rpd.conf unchanged. */
int conf_reload(void);
/* Free what conf_init() kept (rpd.conf strings may point into it). */
void conf_fini(void);

/* retain.c */
/* A segment was sealed or the limits changed: run a retention pass on one
 * of the next ticks. */
void retain_kick(void);
/* Per tick: a pass when kicked (at most once a second) or once a minute;
 * nothing when --retain-bytes and --retain-days are both 0. */
void retain_tick(uint64_t now);
/* One bounded pass now over the session directories: in each, remove the
 * oldest sealed segments beyond retain-days or retain-bytes (never one in
 * rpd.segs), then the empty directories no client uses.  Returns the files
 * and directories removed. */
int retain_run(uint64_t now);
/* Free the pass state (at exit). */
void retain_fini(void);

/* log.c */
/* Lines above level are not written. */
void log_init(enum log_level level);
/* One line "ringprofd: <message>" on stderr, one write(2) each. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at error level and exit(status): start-up failures only. */
void fatal(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Parse "error", "warn", "info", "debug"; 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

/* loop.c */
/* Create the ring; 0 or -errno. */
int loop_open(unsigned entries);
/* Tear the ring down; pending operations die with it. */
void loop_close(void);
/* An SQE for op (marked busy), submitting queued ones if the ring is full;
 * never NULL. */
struct io_uring_sqe *loop_sqe(struct op *op);
/* An SQE whose completion is ignored (cancellations). */
struct io_uring_sqe *loop_sqe_untracked(void);
/* Cancel a busy op; its completion still arrives (-ECANCELED). */
void loop_cancel(struct op *op);
/* Arm the periodic tick and the signalfd read. */
void loop_arm_tick(void);
void loop_arm_signal(void);
/* Run until shutdown has drained and sealed everything; 0 or -errno. */
int loop_run(void);

/* listen.c */
/* Create the listening socket at path (replacing a stale one); 0 or -errno
 * with a message logged. */
int listen_open(const char *path);
/* Stop accepting and remove the socket file. */
void listen_close(void);
/* Submit one accept. */
void listen_arm(void);
/* Completion of an accept: start the client's handshake, re-arm. */
void listen_on_accept(struct op *op, int res);
/* Per tick: resume accepting after running out of fds or memory. */
void listen_tick(void);

/* client.c */
/* Take ownership of an accepted connection and start its handshake. */
void client_open(int sock);
/* Completions: hello bytes or end of connection; the pidfd saying the
 * process exited; the eventfd poked by a waiting lossless producer. */
void client_on_recv(struct op *op, int res);
void client_on_pidfd(struct op *op, int res);
void client_on_evfd(struct op *op, int res);
/* Per tick: drain, flush old encoders, clock pairs, rotation, deadlines.
 * Returns the fullest client's drained bytes in per mille of one ring (the
 * sum over its rings: an upper bound on any one ring's fill). */
uint32_t client_tick(uint64_t now);
/* Seal every segment and start again with seq + 1 (SIGHUP); a client
 * with RPD_CLIENT_SEGS_MAX segments still writing rotates once one is done. */
void client_rotate_all(void);
/* Drain, seal and close every client (SIGTERM). */
void client_shutdown_all(void);
/* Drain a client completely, seal its segment with end_reason and close
 * it. */
void client_finish(struct client *c, uint32_t end_reason);
/* Stop reading a client that broke the protocol: c->reason says why. */
void client_quarantine(struct client *c);
/* Seal the client's segment and open the next one; 0 or -errno (then
 * the client has none: events are dropped and counted, and client_tick()
 * tries again RPD_DISK_RETRY_NS later). */
int client_rotate(struct client *c, uint32_t end_reason);
/* Free a closed client once none of its ops is pending. */
void client_release(struct client *c);

/* ring.c */
/* Per-slot state of an accepted client whose geometry was validated;
 * 0 or -ENOMEM. */
int ring_attach(struct client *c);
/* Free the per-slot state, encoders included (events in them are lost:
 * flush first). */
void ring_detach(struct client *c);
/* Drain every ring of c.  final: the client is gone, end every thread.
 * 0, or -EBADMSG with c->reason set (quarantine), or -errno. */
int ring_drain(struct client *c, bool final);
/* Flush one thread's encoder into the client's segment. */
void ring_flush(struct client *c, struct ring_slot *rs);
/* Flush encoders holding events older than flush_ns (all if 0). */
void ring_flush_older(struct client *c, uint64_t now, uint64_t flush_ns);
/* Queue LOSS items of the active threads (at seal). */
void ring_loss_all(struct client *c);
/* Shared-memory control block of ring i of a validated region. */
struct rp_ring_ctl *ring_ctl_at(uint8_t *region, uint64_t ring_offset, uint64_t ring_stride,
				uint32_t i);
/* Queue THREADS START items of active threads, and the final accountings
 * of ended threads a failed segment lost (new segment). */
void ring_restart_all(struct client *c);

/* strtab.c */
/* An empty table; strtab_free() gives back its memory. */
void strtab_init(struct strtab *t);
void strtab_free(struct strtab *t);
/* Parse entries newly published in c's string area.  0, or -EBADMSG with
 * c->reason set, or -ENOMEM. */
int strtab_scan(struct client *c);
/* Bytes and length of id (1..count): the client's own published bytes,
 * valid while its region is mapped (as long as the table). */
const char *strtab_get(const struct strtab *t, uint32_t id, uint32_t *len);

/* seg.c */
/* Create the zstd block encoder; 0 or -errno. */
int seg_init(int zstd_level);
/* Free the encoder (at exit, once every segment is closed). */
void seg_fini(void);
/* Copy src (up to srclen bytes, stops at NUL) into dst as a safe path
 * component: [A-Za-z0-9._+-] kept, others '_', no leading '.', at most
 * RPD_LABEL_MAX bytes, empty -> "unnamed". */
void seg_sanitize(char dst[RPD_LABEL_MAX + 1], const char *src, size_t srclen);
/* Create c's segment c->seg_seq and queue its preamble, HEADER and first
 * CLOCK pair; 0 or -errno (logged). */
int seg_open(struct client *c);
/* Mark string id used by an event about to be encoded: queue its definition
 * unless this segment already defines it.  0 or -ENOMEM. */
int seg_use_string(struct seg *s, const struct strtab *t, uint32_t id);
/* Queue a THREADS item. */
int seg_thread(struct seg *s, const struct rp_seg_thread *item);
/* Frame a block into the stage (pending STRINGS and THREADS go first for
 * EVENTS); 0 or -errno. */
int seg_block(struct seg *s, uint16_t type, uint32_t count, const void *raw,
	      size_t raw_len);
/* Frame an EVENTS block of one thread (ring slot, thread number) unless
 * the client has --max-pending-bytes waiting for the disk (-ENOBUFS) or
 * its session reached --session-quota (-EDQUOT); either is logged once
 * and the caller counts the events as dropped.  0 or -errno. */
int seg_events(struct seg *s, uint32_t slot, uint32_t thread, uint32_t count,
	       const void *raw, size_t raw_len);
/* Frame a LOSS block of n items; slots[k] is the ring slot of items[k]
 * (UINT32_MAX for thread 0), so that their daemon drops become durable
 * (ctl.durable) when the block is written.  0 or -errno. */
int seg_loss(struct seg *s, const uint32_t *slots, const struct rp_seg_loss *items,
	     uint32_t n);
/* A client's share of the write machinery: 0 or -ENOMEM; the put gives
 * back the client's reference. */
int seg_acct_get(struct client *c);
void seg_acct_put(struct seg_acct *a);
/* Share c's validated region and geometry with its accounting, so that
 * ctl.durable of each ring is published as writes complete: 0 or -ENOMEM.
 * ring_detach() hands the mapping over (c->region becomes NULL); the last
 * seg_acct_put() unmaps it. */
int seg_acct_map(struct client *c);
/* Slot i has a new owner, thread number thread; base: ctl.durable it
 * starts from. */
void seg_acct_owner(struct seg_acct *a, uint32_t i, uint32_t thread, uint64_t base);
/* Keep a thread's final accounting until its LOSS is written; lost: it
 * could not even be queued.  0, or -ENOBUFS (the counts are logged). */
int seg_end_add(struct client *c, uint32_t slot, uint32_t tid, const struct rp_seg_loss *loss,
		bool lost);
/* Queue the lost final accountings of c again (END and LOSS) into its new
 * segment. */
void seg_end_requeue(struct client *c);
/* c is closing: remember what its own segment needs if final accountings
 * of it are still on their way (or lost).  0 or -ENOMEM. */
int seg_acct_close(struct client *c);
/* Per tick: write the final accountings of ended clients whose segments
 * failed, each in a segment of its own, at most once a second. */
void seg_orphan_tick(uint64_t now);
/* Retention removed bytes of a session's files: --session-quota counts
 * them no more (a session back under its quota writes again). */
void seg_session_removed(const char *session, uint64_t bytes);
/* Time to seal and replace s: by size, by age, or a second after a failed
 * write; never while its client has RPD_CLIENT_SEGS_MAX segments. */
bool seg_wants_rotation(const struct seg *s, uint64_t now);
/* Queue a CLOCK pair read now. */
int seg_clock(struct seg *s, uint32_t clock_source);
/* Hand the staged bytes to io_uring. */
void seg_flush(struct seg *s);
/* Queue pending items, final CLOCK, FOOTER and trailer, then sync and close
 * once written; s belongs to the write machinery afterwards. */
void seg_seal(struct seg *s, uint32_t end_reason, uint32_t clock_source);
/* Completions: a write (short ones continue, errors abandon the file with
 * one log line); the final fdatasync, after which the file is closed. */
void seg_on_write(struct op *op, int res);
void seg_on_sync(struct op *op, int res);
/* True while any segment has writes or a sync pending. */
bool seg_has_pending(void);

/* access.c */
/* Parse --allow-users and --allow-groups into ids (names resolved once);
 * 0, or -EINVAL with the unknown name logged (a start-up error). */
int access_init(void);
/* May the peer register?  0, or -EACCES with a one-line reason such as
 * "uid 1000 (alice) is not in allow-users". */
int access_check(const struct ucred *peer, char reason[RP_REASON_MAX]);

/* status.c */
/* Remember the start time (uptime). */
void status_init(void);
/* Free the connections and the quarantined clients kept (at exit). */
void status_fini(void);
/* Take over c's connection, whose first 8 bytes are a status request's
 * (c->sock becomes -1; the caller closes c): answer it without blocking,
 * then close. */
void status_open(struct client *c);
/* Completion of a status connection's receive or send. */
void status_on_op(struct op *op, int res);
/* Per tick: sample the rates, drop status peers past their deadline. */
void status_tick(uint64_t now);
/* Hooks of the client life cycle: a thread of c ended (ring_end); c's
 * segment is about to be sealed; c was quarantined (its status is kept
 * while its process lives); c is closing (its totals join the daemon's). */
void status_thread_end(struct client *c, const struct ring_slot *rs);
void status_sealed(struct client *c);
void status_quarantined(struct client *c);
void status_closed(struct client *c);

/* clock.c */
/* Calibrate the TSC against CLOCK_MONOTONIC (~50 ms). */
void clock_init(void);
/* Refine the TSC rate with the time elapsed since start-up. */
void clock_refine(void);
/* CLOCK_MONOTONIC and CLOCK_REALTIME in ns. */
uint64_t clock_mono_ns(void);
uint64_t clock_real_ns(void);
/* Ticks of clock_source now. */
uint64_t clock_ticks(uint32_t clock_source);
/* Ticks per second of clock_source (the daemon's own TSC estimate). */
uint64_t clock_tick_hz(uint32_t clock_source);
/* True when this daemon can read clock_source. */
bool clock_is_supported(uint32_t clock_source);

#endif /* RINGPROFD_H */
