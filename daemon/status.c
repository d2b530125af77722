/*
 * status.c - live status: a peer sends a status request instead of a hello
 * on the registration socket (ringprof/wire.h) and gets the daemon's state
 * as one JSON document.
 *
 * The request is read and the reply sent through io_uring, in as many
 * pieces as the socket takes, each phase under a deadline: a peer can
 * neither block the loop nor hold memory for long.  Only peers that may
 * register (access_check) are answered.  The document is built at once
 * from counters the daemon keeps anyway; rates come from samples of each
 * client's totals taken every RPD_STATUS_SAMPLE_NS from the tick, so
 * nothing is done per event.  A quarantined client's status is rendered
 * once and kept while its process lives (at most STATUS_KEPT of them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <bsd/string.h>
#include <liburing.h>

#include "json.h"
#include "ringprofd.h"

#ifndef RINGPROF_VERSION
#define RINGPROF_VERSION "unknown"
#endif

/* Bytes of the request that never change between versions (the hello's). */
#define STATUS_PREFIX 8u
/* Quarantined clients whose status is kept; the oldest goes first. */
#define STATUS_KEPT 16u
/* Directory entries examined for the disk use, and how long it is cached
 * (ns): a huge state directory costs one bounded walk per second at most. */
#define STATUS_DU_ENTRIES 100000u
#define STATUS_DU_NS RPD_NSEC_PER_SEC
/* Payload bytes kept free to close the document after the last client. */
#define STATUS_TAIL 64u

struct status_conn {
	LIST_ENTRY(status_conn) entry;
	struct op op;
	int sock;
	struct ucred cred;        /* SO_PEERCRED */
	bool sending;             /* the request is in, op sends the reply */
	bool closing;             /* shut down; freed when op completes */
	uint64_t deadline;        /* CLOCK_MONOTONIC ns of the current phase */
	union {
		struct rp_status_request req;
		uint8_t bytes[sizeof(struct rp_status_request)];
	} in;
	size_t got;               /* bytes of in received */
	struct rp_buf out;        /* struct rp_status_reply, then the JSON */
	size_t sent;
};

/* Events, bytes and drops of one client, or of several summed. */
struct status_counts {
	uint64_t events;          /* written to segments */
	uint64_t bytes;           /* of segments */
	uint64_t ring_full;       /* dropped by the client: ring full */
	uint64_t no_slot;         /* dropped by the client: no ring slot */
	uint64_t daemon;          /* drained but not written */
};

/* A quarantined client, rendered at quarantine time. */
struct status_kept {
	int pidfd;                /* readable once the process has exited */
	char *json;
	size_t len;
};

/* The document being built; err sticks at the first failure. */
struct status_json {
	struct rp_buf b;
	int err;
};

static LIST_HEAD(, status_conn) status_conns = LIST_HEAD_INITIALIZER(status_conns);
static uint64_t status_started_ns;   /* CLOCK_MONOTONIC */
static uint64_t status_sampled_ns;   /* last sample of the rates */
static struct status_rate status_rate;       /* daemon-wide */
static struct status_counts status_gone;     /* of clients closed */
static uint32_t status_quarantines;          /* since start-up */
static struct status_kept status_kept[STATUS_KEPT];
static uint32_t status_nkept;
static uint64_t status_du_ns, status_du_bytes;  /* disk use cache */
static bool status_du_complete, status_du_valid;

/* ---- counters and rates ---- */

void status_thread_end(struct client *c, const struct ring_slot *rs)
{
	c->stat.ended_written += rs->written;
	c->stat.ended_ring_full += rs->dropped_seen - rs->dropped_base;
	c->stat.ended_daemon_dropped += rs->daemon_dropped;
}

void status_sealed(struct client *c)
{
	if (c->seg != NULL)
		c->stat.sealed_bytes += c->seg->size;
}

/* Totals of an accepted client; rings_in_use: slots owned by a thread. */
static void status_count(const struct client *c, struct status_counts *n,
			 uint32_t *rings_in_use)
{
	memset(n, 0, sizeof(*n));
	*rings_in_use = 0;
	n->events = c->stat.ended_written;
	n->ring_full = c->stat.ended_ring_full;
	n->daemon = c->stat.ended_daemon_dropped;
	n->bytes = c->stat.sealed_bytes + (c->seg != NULL ? c->seg->size : 0);
	for (uint32_t i = 0; c->slots != NULL && i < c->geo.ring_count; i++) {
		const struct ring_slot *rs = &c->slots[i];

		if (!rs->active)
			continue;
		(*rings_in_use)++;
		/* as in its LOSS items */
		n->ring_full += rs->dropped_seen - rs->dropped_base;
		n->events += rs->written;
		n->daemon += rs->daemon_dropped;
	}
	if (c->region != NULL) {
		const struct rp_shm_header *hdr = (const struct rp_shm_header *)c->region;

		/* pairs with the acq_rel add in the client's slot claim; a
		 * counter only, any value is harmless; as in its LOSS items */
		n->no_slot = rp_load_acquire(&hdr->no_slot_dropped) - c->no_slot_base;
	}
}

static void status_counts_add(struct status_counts *sum, const struct status_counts *n)
{
	sum->events += n->events;
	sum->bytes += n->bytes;
	sum->ring_full += n->ring_full;
	sum->no_slot += n->no_slot;
	sum->daemon += n->daemon;
}

void status_closed(struct client *c)
{
	struct status_counts n;
	uint32_t in_use;

	if (c->state != CLIENT_ACTIVE)
		return;
	status_count(c, &n, &in_use);
	status_counts_add(&status_gone, &n);
}

static void status_rate_push(struct status_rate *r, uint64_t now, const struct status_counts *n)
{
	r->ns[r->next] = now;
	r->events[r->next] = n->events;
	r->bytes[r->next] = n->bytes;
	r->next = (r->next + 1) % RPD_STATUS_SAMPLES;
	if (r->n < RPD_STATUS_SAMPLES)
		r->n++;
}

/* (now - then) * 1e9 / dt, 0 when the total went back (events counted as
 * written moved to dropped after a failed write). */
static uint64_t status_per_s(uint64_t now, uint64_t then, uint64_t dt)
{
	if (now < then || dt == 0)
		return 0;
	return (uint64_t)((unsigned __int128)(now - then) * RPD_NSEC_PER_SEC / dt);
}

/* Events and bytes per second since the oldest sample (about the last
 * 5 s); 0 before the first sample. */
static void status_rate_get(const struct status_rate *r, uint64_t now,
			    const struct status_counts *n, uint64_t *eps, uint64_t *bps)
{
	uint32_t old = (r->next + RPD_STATUS_SAMPLES - r->n) % RPD_STATUS_SAMPLES;

	*eps = *bps = 0;
	if (r->n == 0 || now <= r->ns[old])
		return;
	*eps = status_per_s(n->events, r->events[old], now - r->ns[old]);
	*bps = status_per_s(n->bytes, r->bytes[old], now - r->ns[old]);
}

/* ---- JSON ---- */

static void status_put(struct status_json *j, const char *s, size_t n)
{
	if (j->err == 0)
		j->err = rp_buf_put(&j->b, s, n);
}

static void status_putf(struct status_json *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void status_putf(struct status_json *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (j->err != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (j->err = rp_buf_reserve(&j->b, (size_t)n + 1)) < 0) {
		j->err = j->err < 0 ? j->err : -EINVAL;
		return;
	}
	va_start(ap, fmt);
	vsnprintf((char *)j->b.data + j->b.len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	j->b.len += (size_t)n;
}

/* n bytes as a JSON string; NUL becomes sep (a space) unless sep is 0 (the
 * string ends there), bytes that are not UTF-8 become U+FFFD. */
static void status_str(struct status_json *j, const char *s, size_t n, char sep)
{
	if (j->err == 0)
		j->err = rp_json_str(&j->b, s, n, sep);
}

static void status_cstr(struct status_json *j, const char *s)
{
	if (s == NULL)
		status_put(j, "null", 4);
	else
		status_str(j, s, strlen(s), '\0');
}

/* One client object.  quarantined: rendered at quarantine, rates 0. */
static void status_client(struct status_json *j, const struct client *c, uint64_t now,
			  bool quarantined)
{
	const char *cmdline = (const char *)c->in.bytes + sizeof(struct rp_hello);
	size_t cmdlen = c->cmdline_len;
	struct status_counts n;
	uint64_t eps = 0, bps = 0;
	uint32_t in_use;

	status_count(c, &n, &in_use);
	if (!quarantined)
		status_rate_get(&c->stat.rate, now, &n, &eps, &bps);
	/* /proc/self/cmdline ends each argument with a NUL */
	while (cmdlen != 0 && cmdline[cmdlen - 1] == '\0')
		cmdlen--;
	status_putf(j, "{\"id\":%" PRIu32 ",\"pid\":%d,\"uid\":%u,\"name\":", c->id,
		    (int)c->pid, (unsigned)c->cred.uid);
	status_cstr(j, c->name);
	status_put(j, ",\"session\":", 11);
	status_cstr(j, c->session);
	status_put(j, ",\"command\":", 11);
	status_str(j, cmdline, cmdlen, ' ');
	status_putf(j, ",\"state\":\"%s\",\"reason\":", quarantined ? "quarantined" : "active");
	status_cstr(j, quarantined ? c->reason : NULL);
	status_putf(j, ",\"rings_in_use\":%" PRIu32 ",\"rings\":%" PRIu32 ",\"ring_bytes\":%" PRIu32
		    ",\"lossless\":%s,\"threads\":%" PRIu32 ",\"events_written\":%" PRIu64
		    ",\"events_per_s\":%" PRIu64 ",\"bytes_written\":%" PRIu64
		    ",\"bytes_per_s\":%" PRIu64 ",\"dropped\":{\"ring_full\":%" PRIu64
		    ",\"no_slot\":%" PRIu64 ",\"daemon\":%" PRIu64 "},\"segment\":",
		    in_use, c->geo.ring_count, c->geo.ring_bytes,
		    (c->geo.flags & RP_SHM_F_LOSSLESS) ? "true" : "false", c->threads, n.events,
		    eps, n.bytes, bps, n.ring_full, n.no_slot, n.daemon);
	status_cstr(j, c->seg != NULL ? c->seg->path : NULL);
	status_put(j, "}", 1);
}

/* ---- disk use ---- */

/* Add the allocated bytes of the regular files under dfd (depth levels of
 * directories below it) to *bytes; false once the entry budget ran out. */
static bool status_du_dir(int dfd, int depth, uint64_t *bytes, uint32_t *budget)
{
	struct dirent *de;
	bool complete = true;
	DIR *dir;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return false;
	}
	while (complete && (de = readdir(dir)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*budget == 0) {
			complete = false;
			break;
		}
		(*budget)--;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			*bytes += (uint64_t)st.st_blocks * 512;
		} else if (S_ISDIR(st.st_mode) && depth > 0) {
			int sub = openat(dirfd(dir), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0)
				continue;
			complete = status_du_dir(sub, depth - 1, bytes, budget);
			close(sub);
		}
	}
	closedir(dir);
	return complete;
}

/* The state directory holds session directories of segment files. */
static void status_du(uint64_t now)
{
	uint32_t budget = STATUS_DU_ENTRIES;

	if (status_du_valid && now - status_du_ns < STATUS_DU_NS)
		return;
	status_du_bytes = 0;
	status_du_complete = status_du_dir(rpd.state_fd, 1, &status_du_bytes, &budget);
	status_du_ns = now;
	status_du_valid = true;
}

/* ---- the document ---- */

static int status_by_id(const void *a, const void *b)
{
	const struct client *x = *(const struct client *const *)a;
	const struct client *y = *(const struct client *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void status_daemon(struct status_json *j, uint64_t now)
{
	const struct rpd_conf *cf = &rpd.conf;

	status_putf(j, "\"daemon\":{\"version\":\"%s\",\"wire_version\":%u,\"pid\":%d,"
		    "\"uptime_ms\":%" PRIu64 ",\"host\":", RINGPROF_VERSION, RP_WIRE_VERSION,
		    (int)getpid(), (uint64_t)((now - status_started_ns) / RPD_NSEC_PER_MSEC));
	status_cstr(j, rpd.host);
	status_put(j, ",\"state_dir\":", 13);
	status_cstr(j, cf->state_dir);
	status_put(j, ",\"socket\":", 10);
	status_cstr(j, cf->socket_path);
	status_putf(j, ",\"limits\":{\"max_clients\":%" PRIu32 ",\"max_region\":%" PRIu64
		    ",\"max_rings\":%" PRIu32 ",\"max_ring_bytes\":%" PRIu32
		    ",\"max_string_bytes\":%" PRIu32 ",\"max_pending_bytes\":%" PRIu64
		    ",\"session_quota\":%" PRIu64 ",\"retain_bytes\":%" PRIu64
		    ",\"retain_days\":%" PRIu64 ",\"rotate_size\":%" PRIu64
		    ",\"rotate_age_s\":%" PRIu64 ",\"tick_ms\":%" PRIu32 ",\"flush_ms\":%" PRIu32
		    ",\"zstd_level\":%d},\"allow_users\":",
		    cf->max_clients, cf->max_region, cf->max_rings, cf->max_ring_bytes,
		    cf->max_string_bytes, cf->max_pending_bytes, cf->session_quota,
		    cf->retain_bytes, cf->retain_days, cf->rotate_size, cf->rotate_age,
		    cf->tick_ms, cf->flush_ms, cf->zstd_level);
	status_cstr(j, cf->allow_users);
	status_put(j, ",\"allow_groups\":", 16);
	status_cstr(j, cf->allow_groups);
	status_put(j, "},\n", 3);
}

/* The whole document into j (after what j holds). */
static void status_document(struct status_json *j)
{
	uint64_t now = clock_mono_ns(), eps, bps, free_bytes = 0;
	size_t limit = j->b.len + RP_STATUS_PAYLOAD_MAX - STATUS_TAIL;
	struct status_counts sum = status_gone, n;
	struct client **list, *c;
	uint32_t count = 0, in_use, omitted = 0;
	struct statvfs vfs;
	bool first = true;

	LIST_FOREACH(c, &rpd.clients, entry)
		if (c->state == CLIENT_ACTIVE)
			count++;
	list = calloc(count ? count : 1, sizeof(*list));
	if (list == NULL) {
		j->err = -ENOMEM;
		return;
	}
	count = 0;
	LIST_FOREACH(c, &rpd.clients, entry) {
		if (c->state != CLIENT_ACTIVE)
			continue;
		list[count++] = c;
		status_count(c, &n, &in_use);
		status_counts_add(&sum, &n);
	}
	qsort(list, count, sizeof(*list), status_by_id);
	status_rate_get(&status_rate, now, &sum, &eps, &bps);
	status_du(now);
	if (fstatvfs(rpd.state_fd, &vfs) == 0)
		free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;

	status_putf(j, "{\"format\":%u,\n", RP_STATUS_FORMAT);
	status_daemon(j, now);
	status_putf(j, "\"totals\":{\"clients\":%" PRIu32 ",\"clients_seen\":%" PRIu32
		    ",\"quarantined\":%" PRIu32 ",\"events_written\":%" PRIu64
		    ",\"events_per_s\":%" PRIu64 ",\"bytes_written\":%" PRIu64
		    ",\"bytes_per_s\":%" PRIu64 ",\"dropped\":{\"ring_full\":%" PRIu64
		    ",\"no_slot\":%" PRIu64 ",\"daemon\":%" PRIu64 "},\"disk\":{\"used_bytes\":%"
		    PRIu64 ",\"used_complete\":%s,\"free_bytes\":%" PRIu64 "}},\n\"clients\":[",
		    count, rpd.next_client_id, status_quarantines, sum.events, eps, sum.bytes, bps,
		    sum.ring_full, sum.no_slot, sum.daemon, status_du_bytes,
		    status_du_complete ? "true" : "false", free_bytes);
	/* clients in id order, then the quarantined ones kept; whatever
	 * does not fit under the cap is counted in clients_omitted */
	for (uint32_t i = 0; i < count + status_nkept && j->err == 0; i++) {
		size_t mark = j->b.len;

		if (omitted != 0) {
			omitted++;
			continue;
		}
		status_put(j, first ? "\n" : ",\n", first ? 1 : 2);
		if (i < count)
			status_client(j, list[i], now, false);
		else
			status_put(j, status_kept[i - count].json, status_kept[i - count].len);
		if (j->b.len > limit) {
			j->b.len = mark;
			omitted++;
			continue;
		}
		first = false;
	}
	status_putf(j, "],\n\"clients_omitted\":%" PRIu32 "}\n", omitted);
	free(list);
}

/* ---- quarantined clients ---- */

static void status_kept_drop(uint32_t i)
{
	close(status_kept[i].pidfd);
	free(status_kept[i].json);
	memmove(&status_kept[i], &status_kept[i + 1],
		(status_nkept - i - 1) * sizeof(status_kept[0]));
	status_nkept--;
}

void status_quarantined(struct client *c)
{
	struct status_json j = { 0 };
	int pidfd;

	status_quarantines++;
	if (c->pidfd < 0)
		return;
	status_client(&j, c, clock_mono_ns(), true);
	if (j.err != 0)
		goto err_json;
	pidfd = fcntl(c->pidfd, F_DUPFD_CLOEXEC, 3);
	if (pidfd < 0)
		goto err_json;
	if (status_nkept == STATUS_KEPT)
		status_kept_drop(0);
	status_kept[status_nkept++] = (struct status_kept){
		.pidfd = pidfd, .json = (char *)j.b.data, .len = j.b.len,
	};
	return;

err_json:
	log_warn("client %u: quarantine not shown in the status: %s", c->id,
		 strerror(j.err != 0 ? -j.err : errno));
	rp_buf_free(&j.b);
}

/* Forget the quarantined clients whose process has exited. */
static void status_kept_reap(void)
{
	struct pollfd pfd[STATUS_KEPT];

	if (status_nkept == 0)
		return;
	for (uint32_t i = 0; i < status_nkept; i++)
		pfd[i] = (struct pollfd){ .fd = status_kept[i].pidfd, .events = POLLIN };
	if (poll(pfd, status_nkept, 0) <= 0)
		return;
	for (uint32_t i = status_nkept; i-- > 0;)
		if (pfd[i].revents != 0)
			status_kept_drop(i);
}

/* ---- the exchange ---- */

static void status_conn_free(struct status_conn *s)
{
	LIST_REMOVE(s, entry);
	if (s->sock >= 0)
		close(s->sock);
	rp_buf_free(&s->out);
	free(s);
}

/* End the exchange.  The fd is only closed once no operation uses it (a
 * reused fd number must never meet a stale SQE); shutdown makes a pending
 * one complete at once. */
static void status_conn_close(struct status_conn *s)
{
	if (!s->op.busy) {
		status_conn_free(s);
		return;
	}
	s->closing = true;
	shutdown(s->sock, SHUT_RDWR);
	loop_cancel(&s->op);
}

static void status_arm_recv(struct status_conn *s)
{
	io_uring_prep_recv(loop_sqe(&s->op), s->sock, s->in.bytes + s->got,
			   sizeof(s->in) - s->got, 0);
}

static void status_arm_send(struct status_conn *s)
{
	io_uring_prep_send(loop_sqe(&s->op), s->sock, s->out.data + s->sent,
			   s->out.len - s->sent, MSG_NOSIGNAL);
}

/* Put the reply header in front of the payload in s->out (already there
 * after sizeof(struct rp_status_reply) bytes). */
static void status_header(struct status_conn *s, int status, const char *reason)
{
	struct rp_status_reply r;

	memset(&r, 0, sizeof(r));
	r.magic = RP_STATUS_REPLY_MAGIC;
	r.version = RP_WIRE_VERSION;
	r.size = sizeof(r);
	r.status = status;
	r.payload_len = (uint32_t)(s->out.len - sizeof(r));
	strlcpy(r.reason, reason, sizeof(r.reason));
	memcpy(s->out.data, &r, sizeof(r));
}

/* Send s->out under a fresh deadline, then close. */
static void status_send(struct status_conn *s)
{
	s->sending = true;
	s->sent = 0;
	s->deadline = clock_mono_ns() + RPD_HANDSHAKE_NS;
	status_arm_send(s);
}

/* Refuse with status and a reason: log one line, answer, close. */
static void status_refuse(struct status_conn *s, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void status_refuse(struct status_conn *s, int status, const char *fmt, ...)
{
	char reason[RP_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_warn("status request of pid %d refused: %s", (int)s->cred.pid, reason);
	s->out.len = 0;
	if (rp_buf_reserve(&s->out, sizeof(struct rp_status_reply)) < 0) {
		status_conn_close(s);
		return;
	}
	s->out.len = sizeof(struct rp_status_reply);
	status_header(s, status, reason);
	status_send(s);
}

/* The whole request is in: check it and the peer, answer. */
static void status_answer(struct status_conn *s)
{
	struct status_json j = { 0 };
	char reason[RP_REASON_MAX];
	int ret;

	if (s->in.req.flags != 0 || s->in.req.reserved != 0) {
		status_refuse(s, -EINVAL, "unknown status request flags 0x%x",
			      s->in.req.flags | s->in.req.reserved);
		return;
	}
	if ((ret = access_check(&s->cred, reason)) < 0) {
		status_refuse(s, ret, "%s", reason);
		return;
	}
	j.err = rp_buf_reserve(&j.b, sizeof(struct rp_status_reply));
	if (j.err == 0)
		j.b.len = sizeof(struct rp_status_reply);
	status_document(&j);
	if (j.err != 0) {
		rp_buf_free(&j.b);
		status_refuse(s, j.err, "cannot build the status: %s", strerror(-j.err));
		return;
	}
	rp_buf_free(&s->out);
	s->out = j.b;
	status_header(s, 0, "");
	log_debug("status for pid %d: %zu bytes", (int)s->cred.pid,
		  s->out.len - sizeof(struct rp_status_reply));
	status_send(s);
}

void status_open(struct client *c)
{
	const struct rp_status_request *q;
	struct status_conn *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		log_error("out of memory for a status request");
		return;
	}
	s->op = (struct op){ .kind = OP_STATUS, .owner = s };
	s->sock = c->sock;
	c->sock = -1;
	s->cred = c->cred;
	s->deadline = c->deadline;
	memcpy(s->in.bytes, c->in.bytes, STATUS_PREFIX);
	s->got = STATUS_PREFIX;
	LIST_INSERT_HEAD(&status_conns, s, entry);
	q = &s->in.req;
	if (c->nfds != 0 || c->fds_overflow)
		status_refuse(s, -EINVAL, "a status request carries no file descriptors");
	else if (q->version != RP_WIRE_VERSION)
		status_refuse(s, -EPROTONOSUPPORT,
			      "unsupported protocol version %u (this daemon speaks version %u)",
			      q->version, RP_WIRE_VERSION);
	else if (q->size > sizeof(*q))
		status_refuse(s, -EMSGSIZE, "status request of %u bytes exceeds %zu", q->size,
			      sizeof(*q));
	else if (q->size < sizeof(*q))
		status_refuse(s, -EPROTO, "status request size %u, expected %zu", q->size,
			      sizeof(*q));
	else
		status_arm_recv(s);
}

static void status_on_recv(struct status_conn *s, int res)
{
	if (res < 0) {
		log_debug("status request of pid %d: %s", (int)s->cred.pid, strerror(-res));
		status_conn_close(s);
		return;
	}
	if (res == 0) {
		status_refuse(s, -EPROTO, "status request cut off after %zu of %zu bytes", s->got,
			      sizeof(s->in));
		return;
	}
	s->got += (size_t)res;
	if (s->got < sizeof(s->in))
		status_arm_recv(s);
	else
		status_answer(s);
}

static void status_on_send(struct status_conn *s, int res)
{
	if (res <= 0) {
		log_info("status reply to pid %d not delivered: %s", (int)s->cred.pid,
			 strerror(res < 0 ? -res : EPIPE));
		status_conn_close(s);
		return;
	}
	s->sent += (size_t)res;
	if (s->sent < s->out.len)
		status_arm_send(s);
	else
		status_conn_close(s);
}

void status_on_op(struct op *op, int res)
{
	struct status_conn *s = op->owner;

	if (s->closing) {
		status_conn_free(s);
		return;
	}
	if (res == -EINTR || res == -EAGAIN) {
		if (s->sending)
			status_arm_send(s);
		else
			status_arm_recv(s);
		return;
	}
	if (s->sending)
		status_on_send(s, res);
	else
		status_on_recv(s, res);
}

/* A peer past its deadline: one that did not finish its request is told
 * so with a send that cannot block (128 bytes into an empty buffer), one
 * that does not read its reply is dropped. */
static void status_expire(struct status_conn *s)
{
	struct rp_status_reply r;

	if (!s->sending) {
		memset(&r, 0, sizeof(r));
		r.magic = RP_STATUS_REPLY_MAGIC;
		r.version = RP_WIRE_VERSION;
		r.size = sizeof(r);
		r.status = -ETIMEDOUT;
		snprintf(r.reason, sizeof(r.reason), "status request not completed within %llu ms",
			 (unsigned long long)(RPD_HANDSHAKE_NS / RPD_NSEC_PER_MSEC));
		log_warn("status request of pid %d refused: %s", (int)s->cred.pid, r.reason);
		if (send(s->sock, &r, sizeof(r), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_debug("status request of pid %d: %s", (int)s->cred.pid,
				  strerror(errno));
	} else {
		log_warn("status reply to pid %d dropped: %zu of %zu bytes read within %llu ms",
			 (int)s->cred.pid, s->sent, s->out.len,
			 (unsigned long long)(RPD_HANDSHAKE_NS / RPD_NSEC_PER_MSEC));
	}
	status_conn_close(s);
}

void status_tick(uint64_t now)
{
	struct status_conn *s, *next;
	struct status_counts sum = status_gone, n;
	struct client *c;
	uint32_t in_use;

	for (s = LIST_FIRST(&status_conns); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		if (!s->closing && now >= s->deadline)
			status_expire(s);
	}
	if (now - status_sampled_ns < RPD_STATUS_SAMPLE_NS)
		return;
	status_sampled_ns = now;
	LIST_FOREACH(c, &rpd.clients, entry) {
		if (c->state != CLIENT_ACTIVE)
			continue;
		status_count(c, &n, &in_use);
		status_rate_push(&c->stat.rate, now, &n);
		status_counts_add(&sum, &n);
	}
	status_rate_push(&status_rate, now, &sum);
	status_kept_reap();
}

void status_init(void)
{
	status_started_ns = clock_mono_ns();
	status_sampled_ns = status_started_ns;
}

void status_fini(void)
{
	while (!LIST_EMPTY(&status_conns))
		status_conn_free(LIST_FIRST(&status_conns));
	while (status_nkept != 0)
		status_kept_drop(status_nkept - 1);
}
