/*
 * seg.c - segment files (ringprof/seg.h): create, stage blocks, write them
 * through io_uring, seal.
 *
 * Blocks are framed into a per-segment stage; seg_flush() moves the stage to
 * a write queue.  Writes of one segment go out one at a time at explicit
 * offsets, in order, so the file on disk is always a prefix of what was
 * queued: a daemon killed at any moment leaves whole blocks followed by at
 * most one cut block.  Each buffer lives until its completion; short writes
 * continue where they stopped.  Sealing queues the footer and trailer, and
 * once the queue is empty syncs the data and closes the file.
 *
 * Limits: bytes framed but not yet written count against the client's
 * --max-pending-bytes, bytes framed into a session's segments against
 * --session-quota; over either, EVENTS blocks are refused and their events
 * counted as dropped by the daemon.  A failed write (ENOSPC, EDQUOT, EIO...)
 * truncates the file back to the end of its last whole buffer (buffers
 * hold whole blocks), moves the events of everything not written from
 * written to daemon_dropped, and the client gets a new segment a second
 * later; the first failure is logged, and the first success after it.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <liburing.h>

#include "ringprofd.h"

/* STRINGS payload that is framed without waiting for an EVENTS block. */
#define SEG_STRINGS_FLUSH (1u << 20)
/* Sequence numbers skipped past existing files before giving up. */
#define SEG_EXIST_TRIES 1000u

/* A client gone whose final accountings (seg_end) could not be written:
 * what its own segment needs, retried at most once a second. */
struct seg_orphan {
	LIST_ENTRY(seg_orphan) entry;
	uint64_t retry_ns;        /* CLOCK_MONOTONIC */
	uint32_t tries;           /* segments of its own tried */
	struct seg_end *ends;
	uint32_t nends;
	uint32_t id;
	uint32_t seq;             /* next segment sequence number */
	pid_t pid;
	uint32_t clock_source;
	uint32_t flags;           /* rp_shm_header flags */
	uint32_t cmdline_len;
	char name[RPD_LABEL_MAX + 1];
	char session[RPD_LABEL_MAX + 1];
	uint8_t cmdline[RP_CMDLINE_MAX];
};

static void seg_orphan_free(struct seg_orphan *o, bool log);

static struct rp_blockenc *seg_enc;
static LIST_HEAD(, seg_orphan) seg_orphans = LIST_HEAD_INITIALIZER(seg_orphans);
static uint32_t seg_norphans;
static LIST_HEAD(, seg_session) seg_sessions = LIST_HEAD_INITIALIZER(seg_sessions);
/* CLOCK_MONOTONIC ns of the write failure logged last; 0 = writing works */
static uint64_t seg_failing_since;

int seg_init(int zstd_level)
{
	return rp_blockenc_open(&seg_enc, zstd_level);
}

void seg_fini(void)
{
	struct seg_orphan *o;

	while ((o = LIST_FIRST(&seg_orphans)) != NULL) {
		LIST_REMOVE(o, entry);
		seg_norphans--;
		seg_orphan_free(o, true);
	}
	rp_blockenc_close(seg_enc);
	seg_enc = NULL;
}

static bool seg_is_label_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '+' ||
	       ch == '-';
}

void seg_sanitize(char dst[RPD_LABEL_MAX + 1], const char *src, size_t srclen)
{
	size_t n = 0;

	for (size_t i = 0; i < srclen && src[i] != '\0' && n < RPD_LABEL_MAX; i++)
		dst[n++] = seg_is_label_char(src[i]) ? src[i] : '_';
	dst[n] = '\0';
	if (n == 0)
		strlcpy(dst, "unnamed", RPD_LABEL_MAX + 1);
	else if (dst[0] == '.')
		dst[0] = '_';  /* no hidden files, no "." or ".." */
}

int seg_acct_get(struct client *c)
{
	c->acct = calloc(1, sizeof(*c->acct));
	if (c->acct == NULL)
		return -ENOMEM;
	c->acct->refs = 1;
	return 0;
}

/* One log line with the exact counts of a final accounting no segment
 * will hold. */
static void seg_end_log(uint32_t id, pid_t pid, const char *name, const struct seg_end *e)
{
	log_error("client %u pid %d (%s): thread %u (tid %u) ended with %llu events written, "
		  "%llu dropped by the client, %llu by the daemon: counts not recorded in any "
		  "segment", id, (int)pid, name, e->loss.thread, e->tid,
		  (unsigned long long)e->loss.written, (unsigned long long)e->loss.client_dropped,
		  (unsigned long long)e->loss.daemon_dropped);
}

static void seg_orphan_free(struct seg_orphan *o, bool log)
{
	for (uint32_t i = 0; log && i < o->nends; i++)
		seg_end_log(o->id, o->pid, o->name, &o->ends[i]);
	free(o->ends);
	free(o);
}

/* The last segment of a closed client is done: final accountings still
 * not on disk wait for a segment of their own. */
static void seg_orphan_keep(struct seg_acct *a)
{
	struct seg_orphan *o = a->orphan, *old, *last = NULL;

	a->orphan = NULL;
	if (a->nends == 0) {
		if (o->tries != 0)
			log_info("client %u pid %d (%s): final counts written to a segment of "
				 "their own", o->id, (int)o->pid, o->name);
		seg_orphan_free(o, false);
		return;
	}
	if (o->tries == 0)
		log_warn("client %u pid %d (%s) ended while its segment could not be written: "
			 "the final counts of %u threads are kept and written to a segment of "
			 "their own once the disk takes data", o->id, (int)o->pid, o->name,
			 a->nends);
	o->ends = a->ends;
	o->nends = a->nends;
	a->ends = NULL;
	a->nends = 0;
	for (uint32_t i = 0; i < o->nends; i++)
		o->ends[i].lost = true;
	o->retry_ns = clock_mono_ns() + RPD_DISK_RETRY_NS;
	LIST_INSERT_HEAD(&seg_orphans, o, entry);
	if (++seg_norphans <= RPD_ORPHANS_MAX)
		return;
	LIST_FOREACH(old, &seg_orphans, entry)
		last = old;
	LIST_REMOVE(last, entry);
	seg_norphans--;
	seg_orphan_free(last, true);
}

void seg_acct_put(struct seg_acct *a)
{
	if (a == NULL || --a->refs != 0)
		return;
	if (a->orphan != NULL)
		seg_orphan_keep(a);
	if (a->region != NULL)
		munmap(a->region, a->region_size);
	free(a->ends);
	free(a->durable);
	free(a);
}

int seg_end_add(struct client *c, uint32_t slot, uint32_t tid, const struct rp_seg_loss *loss,
		bool lost)
{
	struct seg_acct *a = c->acct;
	struct seg_end e = { .slot = slot, .tid = tid, .lost = lost, .loss = *loss };

	struct seg_end *ends;

	if (a->nends == a->cap_ends) {
		uint32_t cap = a->cap_ends ? a->cap_ends * 2 : 8;

		ends = cap <= RPD_CLIENT_ENDS_MAX ? reallocarray(a->ends, cap, sizeof(*ends)) : NULL;
		if (ends == NULL) {
			log_warn("client %u: %u final counts wait for the disk: the next are "
				 "logged instead of kept", c->id, a->nends);
			seg_end_log(c->id, c->pid, c->name, &e);
			return -ENOBUFS;
		}
		a->ends = ends;
		a->cap_ends = cap;
	}
	a->ends[a->nends++] = e;
	return 0;
}

/* Queue the lost ends of a (END and LOSS of each) into s. */
static void seg_end_queue(struct seg *s, struct seg_acct *a, uint32_t clock_source)
{
	struct rp_seg_loss items[32];
	uint32_t slots[32];
	uint32_t n = 0;

	for (uint32_t i = 0; i <= a->nends; i++) {
		struct seg_end *e = i < a->nends ? &a->ends[i] : NULL;

		if (e != NULL && e->lost) {
			struct rp_seg_thread item = { .thread = e->loss.thread, .tid = e->tid,
						      .slot = e->slot,
						      .ticks = clock_ticks(clock_source) };

			item.event = RP_THREAD_START;
			seg_thread(s, &item);
			item.event = RP_THREAD_END;
			seg_thread(s, &item);
			slots[n] = e->slot;
			items[n++] = e->loss;
			e->lost = false;
		}
		if (n != 0 && (n == 32 || e == NULL)) {
			if (seg_loss(s, slots, items, n) < 0)
				for (uint32_t k = 0; k < a->nends; k++)
					for (uint32_t j = 0; j < n; j++)
						if (a->ends[k].loss.thread == items[j].thread)
							a->ends[k].lost = true;
			n = 0;
		}
	}
}

void seg_end_requeue(struct client *c)
{
	if (c->seg != NULL && c->acct->nends != 0)
		seg_end_queue(c->seg, c->acct, c->geo.clock_source);
}

int seg_acct_close(struct client *c)
{
	struct seg_acct *a = c->acct;
	struct seg_orphan *o;

	if (a->nends == 0 || a->orphan != NULL)
		return 0;
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		for (uint32_t i = 0; i < a->nends; i++)
			seg_end_log(c->id, c->pid, c->name, &a->ends[i]);
		return -ENOMEM;
	}
	o->id = c->id;
	o->seq = c->seg_seq + 1;
	o->pid = c->pid;
	o->clock_source = c->geo.clock_source;
	o->flags = c->geo.flags;
	o->cmdline_len = c->cmdline_len <= RP_CMDLINE_MAX ? c->cmdline_len : RP_CMDLINE_MAX;
	memcpy(o->cmdline, c->in.bytes + sizeof(struct rp_hello), o->cmdline_len);
	strlcpy(o->name, c->name, sizeof(o->name));
	strlcpy(o->session, c->session, sizeof(o->session));
	a->orphan = o;
	return 0;
}

/* A segment of the orphan's own: its identity, START, END and LOSS of each
 * thread, sealed.  If its writes fail too, the last put of its accounting
 * keeps the orphan again. */
static void seg_orphan_write(struct seg_orphan *o, uint64_t now)
{
	struct client *t = calloc(1, sizeof(*t));

	o->retry_ns = now + RPD_DISK_RETRY_NS;
	if (t == NULL)
		return;
	t->id = o->id;
	t->pid = o->pid;
	t->seg_seq = o->seq;
	t->geo.clock_source = o->clock_source;
	t->geo.flags = o->flags;
	t->cmdline_len = o->cmdline_len;
	memcpy(t->in.bytes + sizeof(struct rp_hello), o->cmdline, o->cmdline_len);
	strlcpy(t->name, o->name, sizeof(t->name));
	strlcpy(t->session, o->session, sizeof(t->session));
	if (seg_acct_get(t) < 0)
		goto err_client;
	if (seg_open(t) < 0)
		goto err_acct;
	o->seq = t->seg_seq + 1;
	o->tries++;
	LIST_REMOVE(o, entry);
	seg_norphans--;
	t->acct->ends = o->ends;
	t->acct->nends = o->nends;
	t->acct->cap_ends = o->nends;
	o->ends = NULL;
	o->nends = 0;
	t->acct->orphan = o;
	seg_end_queue(t->seg, t->acct, o->clock_source);
	seg_seal(t->seg, RP_SEG_END_EXIT, o->clock_source);
err_acct:
	seg_acct_put(t->acct);
err_client:
	free(t);
}

void seg_orphan_tick(uint64_t now)
{
	struct seg_orphan *o, *next;

	for (o = LIST_FIRST(&seg_orphans); o != NULL; o = next) {
		next = LIST_NEXT(o, entry);
		if (now >= o->retry_ns)
			seg_orphan_write(o, now);
	}
}

int seg_acct_map(struct client *c)
{
	struct seg_acct *a = c->acct;

	a->durable = calloc(c->geo.ring_count, sizeof(*a->durable));
	if (a->durable == NULL)
		return -ENOMEM;
	a->ring_count = c->geo.ring_count;
	a->ring_offset = c->geo.ring_offset;
	a->ring_stride = c->geo.ring_stride;
	a->region_size = c->region_size;
	a->region = c->region;
	return 0;
}

void seg_acct_owner(struct seg_acct *a, uint32_t i, uint32_t thread, uint64_t base)
{
	if (a->durable == NULL || i >= a->ring_count)
		return;
	a->durable[i] = (struct seg_durable){ .thread = thread, .base = base };
}

static struct rp_ring_ctl *seg_ctl(const struct seg_acct *a, uint32_t i)
{
	return ring_ctl_at(a->region, a->ring_offset, a->ring_stride, i);
}

/* Entries in a ledger, and entry i (copied out: the buffer is bytes). */
static size_t seg_ledger_count(const struct rp_buf *ledger)
{
	return ledger->len / sizeof(struct seg_ledger);
}

static struct seg_ledger seg_ledger_at(const struct rp_buf *ledger, size_t i)
{
	struct seg_ledger l;

	memcpy(&l, ledger->data + i * sizeof(l), sizeof(l));
	return l;
}

/* The slot's counters a ledger entry advances: NULL for thread 0, a bad
 * slot or a thread that no longer owns its slot (the slot's counters
 * belong to the new owner). */
static struct seg_durable *seg_durable_of(const struct seg_acct *a, const struct seg_ledger *l)
{
	if (a->region == NULL || l->slot >= a->ring_count ||
	    a->durable[l->slot].thread != l->thread)
		return NULL;
	return &a->durable[l->slot];
}

/* w of s is about to be submitted, the client's only write in flight:
 * describe it in the region (shm.h inflight_*), with ctl.durable_landed of
 * each ring it holds events or drops of. */
static void seg_inflight(struct seg *s, const struct seg_write *w)
{
	struct seg_acct *a = s->acct;
	struct rp_shm_header *hdr = (struct rp_shm_header *)a->region;
	size_t n = seg_ledger_count(&w->ledger);

	if (hdr == NULL)
		return;
	/* Daemons only.  The old record goes first: a daemon killed in
	 * between leaves none, and every ring's durable is then exact. */
	rp_store_relaxed(&hdr->inflight_end, 0);
	for (size_t i = 0; i < n; i++) {
		struct seg_ledger l = seg_ledger_at(&w->ledger, i);
		struct seg_durable *d = seg_durable_of(a, &l);

		if (d == NULL)
			continue;
		d->land_events += l.count;
		if (l.dropped > d->land_dropped)
			d->land_dropped = l.dropped;
		/* ordered after the clearing of inflight_end */
		rp_store_release(&seg_ctl(a, l.slot)->durable_landed,
				 d->base + d->land_events + d->land_dropped);
	}
	rp_store_relaxed(&hdr->inflight_client, s->client_id);
	rp_store_relaxed(&hdr->inflight_seq, s->seq);
	/* pairs with the acquire in ring_attach() of the next daemon */
	rp_store_release(&hdr->inflight_end, (uint64_t)(w->off + w->buf.len));
}

/* The write in flight completed (done) or failed: ctl.durable takes
 * durable_landed, or durable_landed goes back to durable. */
static void seg_landed(struct seg *s, const struct seg_write *w, bool done)
{
	struct seg_acct *a = s->acct;
	size_t n = seg_ledger_count(&w->ledger);

	for (size_t i = 0; i < n; i++) {
		struct seg_ledger l = seg_ledger_at(&w->ledger, i);
		struct seg_durable *d = seg_durable_of(a, &l);

		if (d == NULL)
			continue;
		if (done) {
			d->events = d->land_events;
			d->dropped = d->land_dropped;
		} else {
			d->land_events = d->events;
			d->land_dropped = d->dropped;
		}
		/* Daemons only; either value is right while the in-flight
		 * record names this write */
		rp_store_relaxed(done ? &seg_ctl(a, l.slot)->durable
				      : &seg_ctl(a, l.slot)->durable_landed,
				 d->base + d->events + d->dropped);
	}
}

/* Bytes of the regular files in a session directory. */
static uint64_t seg_session_scan(int dfd)
{
	uint64_t bytes = 0;
	struct dirent *de;
	DIR *dir;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(dir)) != NULL) {
		struct stat st;

		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			bytes += (uint64_t)st.st_size;
	}
	closedir(dir);
	return bytes;
}

/* The session's byte count, shared by its open segments; NULL when out of
 * memory. */
static struct seg_session *seg_session_get(const char *name, int dfd)
{
	struct seg_session *ss;

	LIST_FOREACH(ss, &seg_sessions, entry)
		if (strcmp(ss->name, name) == 0)
			break;
	if (ss == NULL) {
		ss = calloc(1, sizeof(*ss));
		if (ss == NULL)
			return NULL;
		strlcpy(ss->name, name, sizeof(ss->name));
		if (rpd.conf.session_quota != 0)
			ss->bytes = seg_session_scan(dfd);
		LIST_INSERT_HEAD(&seg_sessions, ss, entry);
	}
	ss->refs++;
	return ss;
}

/* A session over its quota stays known (its bytes are on disk anyway), so
 * that reaching the quota is logged once; the others are forgotten with
 * their last segment and rescanned when used again. */
static void seg_session_put(struct seg_session *ss)
{
	if (ss != NULL && --ss->refs == 0 && !ss->over_logged) {
		LIST_REMOVE(ss, entry);
		free(ss);
	}
}

void seg_session_removed(const char *session, uint64_t bytes)
{
	struct seg_session *ss;

	LIST_FOREACH(ss, &seg_sessions, entry)
		if (strcmp(ss->name, session) == 0)
			break;
	if (ss == NULL)
		return;  /* rescanned when used again */
	ss->bytes = ss->bytes > bytes ? ss->bytes - bytes : 0;
	if (ss->over_logged && (rpd.conf.session_quota == 0 || ss->bytes < rpd.conf.session_quota)) {
		log_info("session %s: %llu bytes after retention, under its quota again", ss->name,
			 (unsigned long long)ss->bytes);
		ss->over_logged = false;
		if (ss->refs == 0) {
			LIST_REMOVE(ss, entry);
			free(ss);
		}
	}
}

/* n more bytes framed into s. */
static void seg_grow(struct seg *s, uint64_t n)
{
	s->size += n;
	s->acct->pending += n;
	if (s->acct->pending > s->acct->pending_max)
		s->acct->pending_max = s->acct->pending;
	s->sess->bytes += n;
}

/* The events of a ledger will never be on disk: move them from written to
 * daemon_dropped of their thread, if its client and thread still run (a
 * thread that ended had its LOSS in the same lost bytes). */
static void seg_unwrite(struct seg *s, struct rp_buf *ledger)
{
	size_t n = seg_ledger_count(ledger);
	struct client *c;

	LIST_FOREACH(c, &rpd.clients, entry)
		if (c->id == s->client_id)
			break;
	for (size_t i = 0; i < n; i++) {
		struct seg_ledger l = seg_ledger_at(ledger, i);

		s->events -= l.count;
		if (c != NULL && c->state == CLIENT_ACTIVE && c->slots != NULL &&
		    l.slot < c->geo.ring_count && c->slots[l.slot].active &&
		    c->slots[l.slot].thread == l.thread) {
			c->slots[l.slot].written -= l.count;
			c->slots[l.slot].daemon_dropped += l.count;
			continue;
		}
		/* a thread that ended: its final accounting is kept until
		 * written (seg_end), and corrected here */
		for (uint32_t k = 0; k < s->acct->nends; k++) {
			struct seg_end *e = &s->acct->ends[k];

			if (e->loss.thread != l.thread)
				continue;
			if (l.loss) {
				e->lost = true;
			} else {
				e->loss.written -= l.count;
				e->loss.daemon_dropped += l.count;
			}
			break;
		}
	}
	ledger->len = 0;
}

static void seg_write_free(struct seg *s, struct seg_write *w)
{
	s->acct->pending -= w->buf.len - w->done;
	rp_buf_free(&w->buf);
	rp_buf_free(&w->ledger);
	free(w);
}

static void seg_free(struct seg *s)
{
	struct seg_write *w;

	while ((w = STAILQ_FIRST(&s->writes)) != NULL) {
		STAILQ_REMOVE_HEAD(&s->writes, entry);
		seg_write_free(s, w);
	}
	if (s->acct != NULL) {
		s->acct->pending -= s->stage.len;
		s->acct->segs--;
		seg_acct_put(s->acct);
	}
	seg_session_put(s->sess);
	rp_buf_free(&s->ledger);
	rp_buf_free(&s->stage);
	rp_buf_free(&s->strings);
	rp_buf_free(&s->thread_items);
	free(s->defined);
	free(s->path);
	free(s);
}

static int seg_frame(struct seg *s, uint16_t type, uint32_t count,
		     const void *raw, size_t raw_len, bool compress)
{
	ssize_t n;

	if (s->failed)
		return -EIO;
	n = rp_blockenc_frame(seg_enc, type, count, raw, raw_len, compress, &s->stage);
	if (n < 0)
		return (int)n;
	seg_grow(s, (uint64_t)n);
	s->blocks++;
	s->raw_bytes += raw_len;
	return 0;
}

/* Frame the count items queued in buf as one block of type, and empty
 * the queue (framed or not). */
static int seg_frame_queued(struct seg *s, uint16_t type, uint32_t *count, struct rp_buf *buf)
{
	int ret;

	if (*count == 0)
		return 0;
	ret = seg_frame(s, type, *count, buf->data, buf->len, true);
	buf->len = 0;
	*count = 0;
	return ret;
}

/* Frame the STRINGS and THREADS items waiting, so that what follows may use
 * them. */
static int seg_pending(struct seg *s)
{
	int ret = seg_frame_queued(s, RP_BLK_STRINGS, &s->strings_count, &s->strings);

	if (ret < 0)
		return ret;
	return seg_frame_queued(s, RP_BLK_THREADS, &s->thread_count, &s->thread_items);
}

int seg_block(struct seg *s, uint16_t type, uint32_t count, const void *raw,
	      size_t raw_len)
{
	int ret;

	if ((ret = seg_pending(s)) < 0)
		return ret;
	return seg_frame(s, type, count, raw, raw_len, true);
}

int seg_events(struct seg *s, uint32_t slot, uint32_t thread, uint32_t count,
	       const void *raw, size_t raw_len)
{
	struct seg_ledger l = { .slot = slot, .thread = thread, .count = count };
	/* worst case of the framed block, and the items framed before it */
	uint64_t need = raw_len + raw_len / 128 + 128 + s->strings.len + s->thread_items.len;
	uint64_t quota = rpd.conf.session_quota;
	size_t mark = s->ledger.len;
	int ret;

	if (s->failed)
		return -EIO;
	if (s->acct->pending + need > rpd.conf.max_pending_bytes) {
		if (!s->acct->over_logged)
			log_warn("client %u: %llu bytes wait for the disk (--max-pending-bytes "
				 "%llu): events are dropped and counted", s->client_id,
				 (unsigned long long)s->acct->pending,
				 (unsigned long long)rpd.conf.max_pending_bytes);
		s->acct->over_logged = true;
		return -ENOBUFS;
	}
	if (quota != 0 && s->sess->bytes + need > quota) {
		if (!s->sess->over_logged)
			log_warn("session %s reached its quota of %llu bytes (--session-quota): "
				 "its events are dropped and counted", s->sess->name,
				 (unsigned long long)quota);
		s->sess->over_logged = true;
		return -EDQUOT;
	}
	if ((ret = rp_buf_put(&s->ledger, &l, sizeof(l))) < 0)
		return ret;
	if ((ret = seg_block(s, RP_BLK_EVENTS, count, raw, raw_len)) < 0) {
		s->ledger.len = mark;
		return ret;
	}
	s->events += count;
	return 0;
}

int seg_loss(struct seg *s, const uint32_t *slots, const struct rp_seg_loss *items,
	     uint32_t n)
{
	size_t mark = s->ledger.len;
	int ret;

	for (uint32_t k = 0; k < n; k++) {
		struct seg_ledger l = { .slot = slots[k], .thread = items[k].thread,
					.dropped = items[k].daemon_dropped, .loss = true };

		if (slots[k] != UINT32_MAX && (ret = rp_buf_put(&s->ledger, &l, sizeof(l))) < 0)
			goto err_ledger;
	}
	if ((ret = seg_block(s, RP_BLK_LOSS, n, items, n * sizeof(*items))) < 0)
		goto err_ledger;
	return 0;

err_ledger:
	s->ledger.len = mark;
	return ret;
}

bool seg_wants_rotation(const struct seg *s, uint64_t now)
{
	uint64_t age_ns = rpd.conf.rotate_age * RPD_NSEC_PER_SEC;

	if (s->acct->segs >= RPD_CLIENT_SEGS_MAX)
		return false;
	if (s->failed)
		return now - s->failed_ns >= RPD_DISK_RETRY_NS;
	return s->size >= rpd.conf.rotate_size ||
	       (age_ns != 0 && now - s->opened_ns >= age_ns);
}

int seg_clock(struct seg *s, uint32_t clock_source)
{
	struct rp_seg_clock pair;

	pair.ticks = clock_ticks(clock_source);
	pair.mono_ns = clock_mono_ns();
	pair.real_ns = clock_real_ns();
	s->clock_ns = pair.mono_ns;
	return seg_frame(s, RP_BLK_CLOCK, 1, &pair, sizeof(pair), true);
}

int seg_use_string(struct seg *s, const struct strtab *t, uint32_t id)
{
	struct rp_str_entry e;
	const char *bytes;
	int ret;

	if (id == 0)
		return 0;
	if (id >= s->defined_cap) {
		uint32_t cap = s->defined_cap ? s->defined_cap : 1024;
		uint8_t *bits;

		while (cap <= id)
			cap *= 2;
		bits = realloc(s->defined, cap / 8);
		if (bits == NULL)
			return -ENOMEM;
		memset(bits + s->defined_cap / 8, 0, (cap - s->defined_cap) / 8);
		s->defined = bits;
		s->defined_cap = cap;
	}
	if (s->defined[id / 8] & (1u << (id % 8)))
		return 0;
	bytes = strtab_get(t, id, &e.len);
	e.id = id;
	if ((ret = rp_buf_put(&s->strings, &e, sizeof(e))) < 0 ||
	    (ret = rp_buf_put(&s->strings, bytes, e.len)) < 0)
		return ret;
	s->strings_count++;
	s->defined[id / 8] |= (uint8_t)(1u << (id % 8));
	if (s->strings.len >= SEG_STRINGS_FLUSH)
		return seg_pending(s);
	return 0;
}

int seg_thread(struct seg *s, const struct rp_seg_thread *item)
{
	int ret = rp_buf_put(&s->thread_items, item, sizeof(*item));

	if (ret == 0)
		s->thread_count++;
	return ret;
}

static int seg_header(struct seg *s, const struct client *c)
{
	struct rp_seg_preamble pre = { .version = RP_SEG_VERSION, .size = sizeof(pre) };
	const uint8_t *cmdline = c->in.bytes + sizeof(struct rp_hello);
	struct rp_seg_info info;
	struct rp_buf raw = { 0 };
	int ret;

	memcpy(pre.magic, RP_SEG_MAGIC, sizeof(pre.magic));
	if ((ret = rp_buf_put(&s->stage, &pre, sizeof(pre))) < 0)
		return ret;
	seg_grow(s, sizeof(pre));

	memset(&info, 0, sizeof(info));
	info.pid = (uint32_t)c->pid;
	info.clock_source = c->geo.clock_source;
	info.tick_hz = clock_tick_hz(c->geo.clock_source);
	info.clock_ticks = clock_ticks(c->geo.clock_source);
	info.clock_mono_ns = clock_mono_ns();
	info.clock_real_ns = clock_real_ns();
	info.client_id = c->id;
	info.segment_seq = s->seq;
	info.daemon_pid = (uint64_t)getpid();
	memcpy(info.boot_id, rpd.boot_id, sizeof(info.boot_id));
	memcpy(info.host, rpd.host, sizeof(info.host));
	strlcpy(info.name, c->name, sizeof(info.name));
	strlcpy(info.session, c->session, sizeof(info.session));
	info.cmdline_len = c->cmdline_len;
	info.flags = (c->geo.flags & RP_SHM_F_LOSSLESS) ? RP_SEG_F_LOSSLESS : 0;
	if ((ret = rp_buf_put(&raw, &info, sizeof(info))) < 0 ||
	    (ret = rp_buf_put(&raw, cmdline, c->cmdline_len)) < 0)
		goto err_raw;
	ret = seg_frame(s, RP_BLK_HEADER, 1, raw.data, raw.len, false);
	if (ret < 0)
		goto err_raw;
	s->clock_ns = info.clock_mono_ns;
	ret = seg_clock(s, c->geo.clock_source);
err_raw:
	rp_buf_free(&raw);
	return ret;
}

/* An open failed: logged once until a write works again (the client
 * retries every second). */
static void seg_open_failed(const char *what, const char *dir, const char *file, int err)
{
	if (seg_failing_since == 0)
		log_error("%s %s/%s%s%s: %s; events are dropped and counted until writing works "
			  "again (a new segment is tried every second)", what, rpd.conf.state_dir,
			  dir, file[0] ? "/" : "", file, strerror(err));
	else
		log_debug("%s %s/%s%s%s: %s", what, rpd.conf.state_dir, dir, file[0] ? "/" : "",
			  file, strerror(err));
	seg_failing_since = clock_mono_ns();
}

int seg_open(struct client *c)
{
	char file[RPD_LABEL_MAX + 64];
	struct seg *s;
	int dfd, ret;

	if (mkdirat(rpd.state_fd, c->session, 0750) < 0 && errno != EEXIST) {
		ret = -errno;
		seg_open_failed("mkdir", c->session, "", errno);
		return ret;
	}
	dfd = openat(rpd.state_fd, c->session, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		seg_open_failed("open", c->session, "", errno);
		return ret;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		ret = -ENOMEM;
		goto err_dir;
	}
	STAILQ_INIT(&s->writes);
	s->acct = c->acct;
	s->acct->refs++;
	s->acct->segs++;
	s->sess = seg_session_get(c->session, dfd);
	if (s->sess == NULL) {
		ret = -ENOMEM;
		goto err_seg;
	}
	s->sync_op.kind = OP_SEG_SYNC;
	s->sync_op.owner = s;
	s->client_id = c->id;
	s->opened_ns = clock_mono_ns();
	/* A name left by an earlier daemon (same pid, name and client id)
	 * is never overwritten: the sequence number moves on instead. */
	for (uint32_t tries = 0;; tries++) {
		snprintf(file, sizeof(file), "%s-%d-%u-%u%s", c->name, (int)c->pid, c->id,
			 c->seg_seq, RP_SEG_SUFFIX);
		s->fd = openat(dfd, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0640);
		if (s->fd >= 0 || errno != EEXIST || tries == SEG_EXIST_TRIES)
			break;
		c->seg_seq++;
	}
	if (s->fd < 0) {
		ret = -errno;
		seg_open_failed("create", c->session, file, errno);
		goto err_seg;
	}
	s->seq = c->seg_seq;
	if (asprintf(&s->path, "%s/%s/%s", rpd.conf.state_dir, c->session, file) < 0) {
		s->path = NULL;
		ret = -ENOMEM;
		goto err_file;
	}
	if ((ret = seg_header(s, c)) < 0) {
		log_error("%s: header: %s", s->path, strerror(-ret));
		goto err_file;
	}
	close(dfd);
	LIST_INSERT_HEAD(&rpd.segs, s, entry);
	c->seg = s;
	seg_flush(s);
	log_debug("opened %s", s->path);
	return 0;

err_file:
	close(s->fd);
	unlinkat(dfd, file, 0);
err_seg:
	seg_free(s);
err_dir:
	close(dfd);
	return ret;
}

/* Final accountings whose LOSS item was just written are done with. */
static void seg_ends_landed(struct seg_acct *a, const struct rp_buf *ledger)
{
	size_t n = seg_ledger_count(ledger);

	for (size_t i = 0; i < n && a->nends != 0; i++) {
		struct seg_ledger l = seg_ledger_at(ledger, i);

		if (!l.loss)
			continue;
		for (uint32_t k = 0; k < a->nends; k++) {
			if (a->ends[k].loss.thread == l.thread && !a->ends[k].lost) {
				a->ends[k] = a->ends[--a->nends];
				break;
			}
		}
	}
}

static void seg_submit(struct seg *s)
{
	struct seg_write *w = STAILQ_FIRST(&s->writes);

	io_uring_prep_write(loop_sqe(&w->op), s->fd, w->buf.data + w->done,
			    (unsigned)(w->buf.len - w->done), w->off + w->done);
	s->writing = true;
}

/* Submit the head write of s unless a write of its client is in flight. */
static void seg_kick(struct seg *s)
{
	if (s->acct->writing != NULL || STAILQ_EMPTY(&s->writes))
		return;
	s->acct->writing = s;
	seg_inflight(s, STAILQ_FIRST(&s->writes));
	seg_submit(s);
}

/* The client's write in flight ended: the oldest of its segments with
 * writes queued goes next. */
static void seg_kick_acct(struct seg_acct *a)
{
	struct seg *s, *next = NULL;

	LIST_FOREACH(s, &rpd.segs, entry)
		if (s->acct == a && !STAILQ_EMPTY(&s->writes) &&
		    (next == NULL || s->seq < next->seq))
			next = s;
	if (next != NULL)
		seg_kick(next);
}

static void seg_sync(struct seg *s)
{
	io_uring_prep_fsync(loop_sqe(&s->sync_op), s->fd, IORING_FSYNC_DATASYNC);
}

/* Nothing staged will be written: its events become daemon drops. */
static void seg_discard_stage(struct seg *s)
{
	seg_unwrite(s, &s->ledger);
	s->acct->pending -= s->stage.len;
	s->sess->bytes -= s->stage.len;
	s->stage.len = 0;
}

void seg_flush(struct seg *s)
{
	struct seg_write *w;

	if (s->stage.len == 0)
		return;
	if (s->failed) {
		seg_discard_stage(s);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		log_error("%s: out of memory, segment abandoned", s->path);
		s->failed = true;
		s->failed_ns = clock_mono_ns();
		seg_discard_stage(s);
		return;
	}
	w->op.kind = OP_SEG_WRITE;
	w->op.owner = s;
	w->buf = s->stage;
	w->ledger = s->ledger;
	w->off = s->size - s->stage.len;
	memset(&s->stage, 0, sizeof(s->stage));
	memset(&s->ledger, 0, sizeof(s->ledger));
	STAILQ_INSERT_TAIL(&s->writes, w, entry);
	seg_kick(s);
}

void seg_seal(struct seg *s, uint32_t end_reason, uint32_t clock_source)
{
	struct rp_seg_footer foot = { 0 };
	struct rp_seg_trailer trailer;
	int ret;

	if ((ret = seg_pending(s)) < 0 || (ret = seg_clock(s, clock_source)) < 0)
		goto err_seal;
	foot.blocks = s->blocks;
	foot.events = s->events;
	foot.raw_bytes = s->raw_bytes;
	foot.end_reason = end_reason;
	foot.threads = s->threads;
	foot.end_ticks = clock_ticks(clock_source);
	trailer.footer_offset = s->size;
	memcpy(trailer.magic, RP_SEG_TRAILER_MAGIC, sizeof(trailer.magic));
	if ((ret = seg_frame(s, RP_BLK_FOOTER, 1, &foot, sizeof(foot), false)) < 0)
		goto err_seal;
	if ((ret = rp_buf_put(&s->stage, &trailer, sizeof(trailer))) < 0)
		goto err_seal;
	seg_grow(s, sizeof(trailer));
	seg_flush(s);
	goto out;

err_seal:
	if (!s->failed) {
		log_error("%s: cannot seal: %s", s->path, strerror(-ret));
		s->failed = true;
		s->failed_ns = clock_mono_ns();
	}
	seg_discard_stage(s);
out:
	s->sealed = true;
	if (STAILQ_EMPTY(&s->writes))
		seg_sync(s);
}

/* The write at the head of s failed with err: cut the file back to the
 * last whole buffer (or remove it when nothing whole is left), count
 * every event not written as dropped, and stop writing this segment. */
static void seg_fail(struct seg *s, int err)
{
	struct seg_write *w = STAILQ_FIRST(&s->writes);
	uint64_t now = clock_mono_ns();

	if (seg_failing_since == 0)
		log_error("write %s: %s; events are dropped and counted until writing "
			  "works again (a new segment is tried every second)", s->path,
			  strerror(-err));
	seg_failing_since = now;
	s->failed = true;
	s->failed_ns = now;
	s->sess->bytes -= s->size - w->off;
	seg_landed(s, w, false);
	if (w->off == 0) {
		if (unlink(s->path) < 0)
			log_error("unlink %s: %s", s->path, strerror(errno));
	} else if (ftruncate(s->fd, (off_t)w->off) < 0) {
		log_error("truncate %s to %llu bytes: %s", s->path,
			  (unsigned long long)w->off, strerror(errno));
	}
	while ((w = STAILQ_FIRST(&s->writes)) != NULL) {
		STAILQ_REMOVE_HEAD(&s->writes, entry);
		seg_unwrite(s, &w->ledger);
		seg_write_free(s, w);
	}
	seg_discard_stage(s);
}

void seg_on_write(struct op *op, int res)
{
	struct seg *s = op->owner;
	struct seg_write *w = STAILQ_FIRST(&s->writes);
	struct seg_acct *a = s->acct;

	s->writing = false;
	if (res == -EINTR || res == -EAGAIN) {
		seg_submit(s);
		return;
	}
	if (res <= 0) {
		/* no progress: the disk is full (0 or ENOSPC), a quota, EIO */
		seg_fail(s, res == 0 ? -ENOSPC : res);
	} else {
		w->done += (size_t)res;
		s->acct->pending -= (uint64_t)res;
		if (seg_failing_since != 0 && s->opened_ns > seg_failing_since) {
			log_info("writing %s: the disk takes data again", s->path);
			seg_failing_since = 0;
		}
		if (w->done < w->buf.len) {
			seg_submit(s);
			return;
		}
		seg_landed(s, w, true);
		seg_ends_landed(a, &w->ledger);
		STAILQ_REMOVE_HEAD(&s->writes, entry);
		seg_write_free(s, w);
	}
	a->writing = NULL;
	if (!STAILQ_EMPTY(&s->writes))
		seg_kick(s);
	else if (s->sealed)
		seg_sync(s);
	seg_kick_acct(a);
}

void seg_on_sync(struct op *op, int res)
{
	struct seg *s = op->owner;

	if (res < 0)
		log_error("fdatasync %s: %s", s->path, strerror(-res));
	if (close(s->fd) < 0)
		log_error("close %s: %s", s->path, strerror(errno));
	log_debug("sealed %s (%llu bytes)", s->path, (unsigned long long)s->size);
	LIST_REMOVE(s, entry);
	seg_free(s);
	retain_kick();
}

bool seg_has_pending(void)
{
	return !LIST_EMPTY(&rpd.segs);
}
