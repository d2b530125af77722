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

static struct rp_blockenc *seg_enc;
static LIST_HEAD(, seg_session) seg_sessions = LIST_HEAD_INITIALIZER(seg_sessions);
/* CLOCK_MONOTONIC ns of the write failure logged last; 0 = writing works */
static uint64_t seg_failing_since;

int seg_init(int zstd_level)
{
	return rp_blockenc_open(&seg_enc, zstd_level);
}

void seg_fini(void)
{
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

void seg_acct_put(struct seg_acct *a)
{
	if (a != NULL && --a->refs == 0)
		free(a);
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
	size_t n = ledger->len / sizeof(struct seg_ledger);
	struct client *c;

	LIST_FOREACH(c, &rpd.clients, entry)
		if (c->id == s->client_id)
			break;
	for (size_t i = 0; i < n; i++) {
		struct seg_ledger l;

		memcpy(&l, ledger->data + i * sizeof(l), sizeof(l));
		s->events -= l.count;
		if (c != NULL && c->state == CLIENT_ACTIVE && c->slots != NULL &&
		    l.slot < c->geo.ring_count && c->slots[l.slot].active &&
		    c->slots[l.slot].thread == l.thread) {
			c->slots[l.slot].written -= l.count;
			c->slots[l.slot].daemon_dropped += l.count;
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

/* Frame the STRINGS and THREADS items waiting, so that what follows may use
 * them. */
static int seg_pending(struct seg *s)
{
	int ret;

	if (s->strings_count != 0) {
		ret = seg_frame(s, RP_BLK_STRINGS, s->strings_count, s->strings.data,
				s->strings.len, true);
		s->strings.len = 0;
		s->strings_count = 0;
		if (ret < 0)
			return ret;
	}
	if (s->thread_count != 0) {
		ret = seg_frame(s, RP_BLK_THREADS, s->thread_count, s->thread_items.data,
				s->thread_items.len, true);
		s->thread_items.len = 0;
		s->thread_count = 0;
		if (ret < 0)
			return ret;
	}
	return 0;
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

int seg_open(struct client *c)
{
	char file[RPD_LABEL_MAX + 64];
	struct seg *s;
	int dfd, ret;

	if (mkdirat(rpd.state_fd, c->session, 0750) < 0 && errno != EEXIST) {
		ret = -errno;
		log_error("mkdir %s/%s: %s", rpd.conf.state_dir, c->session, strerror(errno));
		return ret;
	}
	dfd = openat(rpd.state_fd, c->session, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		log_error("open %s/%s: %s", rpd.conf.state_dir, c->session, strerror(errno));
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
		log_error("create %s/%s/%s: %s", rpd.conf.state_dir, c->session, file,
			  strerror(errno));
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

static void seg_submit(struct seg *s)
{
	struct seg_write *w = STAILQ_FIRST(&s->writes);

	io_uring_prep_write(loop_sqe(&w->op), s->fd, w->buf.data + w->done,
			    (unsigned)(w->buf.len - w->done), w->off + w->done);
	s->writing = true;
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
	if (!s->writing)
		seg_submit(s);
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
	if (!s->writing)
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
		STAILQ_REMOVE_HEAD(&s->writes, entry);
		seg_write_free(s, w);
	}
	if (!STAILQ_EMPTY(&s->writes))
		seg_submit(s);
	else if (s->sealed)
		seg_sync(s);
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
