/*
 * ringprof/wire.h - registration over the daemon's Unix stream socket.
 *
 * The client connects, then sends one message: struct rp_hello followed by
 * cmdline_len bytes of command line (arguments separated by NUL), with the
 * memfd of its region (and optionally an eventfd the daemon reads to learn
 * that a lossless producer waits) attached as SCM_RIGHTS on the first byte.
 * The daemon answers with one struct rp_answer and keeps the connection open
 * until the client goes away.  After the answer it sends nothing, except one
 * byte ('Q') just before it closes the connection of a client it quarantines.
 * A client whose connection closes without that byte may offer the same
 * region again (to a restarted daemon): ringprof.h, "Daemon restarts".
 *
 * The first 8 bytes of both messages (magic, version, size) never change
 * between versions, so either side can refuse an unknown version cleanly.
 */
#ifndef RINGPROF_WIRE_H
#define RINGPROF_WIRE_H

#include <stdint.h>

#include "shm.h"

#define RP_WIRE_VERSION    1u
#define RP_HELLO_MAGIC     0x4c485052u  /* "RPHL" */
#define RP_ANSWER_MAGIC    0x4e415052u  /* "RPAN" */

#define RP_NAME_MAX        64u    /* bytes incl. NUL: name, session */
#define RP_CMDLINE_MAX     4096u  /* bytes of command line in a hello */
#define RP_REASON_MAX      112u   /* bytes incl. NUL */

#define RP_DEFAULT_SOCKET  "/run/ringprof/ringprof.sock"

/* rp_hello.flags */
#define RP_HELLO_F_LOSSLESS 0x1u  /* mirrors RP_SHM_F_LOSSLESS */
#define RP_HELLO_F_EVENTFD  0x2u  /* a second fd (eventfd) is attached */

struct rp_hello {
	uint32_t magic;          /* RP_HELLO_MAGIC */
	uint16_t version;        /* RP_WIRE_VERSION */
	uint16_t size;           /* sizeof(struct rp_hello) */
	uint32_t pid;            /* checked against SO_PEERCRED */
	uint32_t flags;          /* RP_HELLO_F_* */
	uint64_t region_size;    /* must equal the memfd size and the header */
	uint32_t ring_count;
	uint32_t ring_bytes;
	uint32_t string_bytes;
	uint32_t clock_source;   /* RP_CLOCK_* */
	uint64_t clock_ticks;    /* a correlation pair read together by the */
	uint64_t clock_ns;       /* client: its clock, and CLOCK_MONOTONIC ns */
	uint64_t tick_hz;        /* the client's estimate of ticks per second */
	char     name[RP_NAME_MAX];    /* process name, NUL-terminated */
	char     session[RP_NAME_MAX]; /* session label, NUL-terminated */
	uint32_t cmdline_len;    /* bytes that follow; <= RP_CMDLINE_MAX */
	uint32_t reserved;
};

RP_STATIC_ASSERT(sizeof(struct rp_hello) == 200, "hello size");

/* rp_answer.status: 0 = accepted, otherwise a negative errno and a reason. */
struct rp_answer {
	uint32_t magic;          /* RP_ANSWER_MAGIC */
	uint16_t version;        /* the daemon's RP_WIRE_VERSION */
	uint16_t size;           /* sizeof(struct rp_answer) */
	int32_t  status;
	uint32_t client_id;      /* daemon-wide id of this registration */
	char     reason[RP_REASON_MAX]; /* NUL-terminated, for refusals */
};

RP_STATIC_ASSERT(sizeof(struct rp_answer) == 128, "answer size");

/*
 * Live status.  Instead of a hello, a peer may send one struct
 * rp_status_request (no fds) on the same socket; its first 8 bytes are laid
 * out like the hello's, so the daemon tells the two apart by the magic.  The
 * daemon answers one struct rp_status_reply followed by payload_len bytes of
 * JSON (UTF-8, no NUL), then closes the connection.  status 0: the payload
 * is the status document; otherwise a negative errno, reason says why and
 * payload_len is 0.  A daemon older than the status request answers it
 * with a refusing struct rp_answer (bad hello magic).
 */
#define RP_STATUS_MAGIC       0x54535052u  /* "RPST" */
#define RP_STATUS_REPLY_MAGIC 0x52535052u  /* "RPSR" */
#define RP_STATUS_PAYLOAD_MAX (1u << 20)   /* bytes of JSON at most */
#define RP_STATUS_FORMAT      1u           /* "format" of the JSON document */

struct rp_status_request {
	uint32_t magic;          /* RP_STATUS_MAGIC */
	uint16_t version;        /* RP_WIRE_VERSION */
	uint16_t size;           /* sizeof(struct rp_status_request) */
	uint32_t flags;          /* 0; no flags defined */
	uint32_t reserved;       /* 0 */
};

RP_STATIC_ASSERT(sizeof(struct rp_status_request) == 16, "status request size");

struct rp_status_reply {
	uint32_t magic;          /* RP_STATUS_REPLY_MAGIC */
	uint16_t version;        /* the daemon's RP_WIRE_VERSION */
	uint16_t size;           /* sizeof(struct rp_status_reply) */
	int32_t  status;         /* 0 or a negative errno */
	uint32_t payload_len;    /* bytes of JSON that follow;
				  * <= RP_STATUS_PAYLOAD_MAX */
	char     reason[RP_REASON_MAX]; /* NUL-terminated, for refusals */
};

RP_STATIC_ASSERT(sizeof(struct rp_status_reply) == 128, "status reply size");
RP_STATIC_ASSERT(offsetof(struct rp_status_reply, payload_len) == 12, "status reply layout");

#endif /* RINGPROF_WIRE_H */
