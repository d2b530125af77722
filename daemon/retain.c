/*
 * retain.c - retention: --retain-bytes and --retain-days per session
 * directory.
 *
 * A pass looks at the segment files (*.rpseg) of each session directory
 * under the state directory, oldest first by modification time (a sealed
 * segment's last write), and removes those older than retain-days and then
 * as many as needed to bring the directory's segment bytes down to
 * retain-bytes.  A segment the daemon still has open or still writes
 * (rpd.segs, matched by device and inode) is never removed, and its bytes
 * still count.  A session directory left empty is removed unless a client
 * or a segment uses it.  Other files are left alone.
 *
 * Passes run from the tick, never from the drain: at start-up, after a
 * segment is sealed (kicked, at most once a second) and once a minute.  A
 * pass examines about RETAIN_PASS_FILES directory entries (whole session
 * directories) and the next pass goes on from there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "ringprofd.h"

/* Pass when nothing was kicked; ns. */
#define RETAIN_PERIOD_NS (60ull * RPD_NSEC_PER_SEC)
/* Shortest interval between passes when kicked or unfinished; ns. */
#define RETAIN_KICK_NS RPD_NSEC_PER_SEC
/* Directory entries a pass examines before it stops (it finishes the
 * session directory it is in). */
#define RETAIN_PASS_FILES 512u
#define RETAIN_SECONDS_PER_DAY 86400ull

struct retain_file {
	char name[256];           /* d_name */
	uint64_t size;            /* bytes */
	struct timespec mtime;
	bool open;                /* in rpd.segs */
};

struct retain_inode {
	dev_t dev;
	ino_t ino;
};

static bool retain_kicked;
static bool retain_more;          /* the last pass stopped at its budget */
static uint64_t retain_last;      /* CLOCK_MONOTONIC ns of the last pass */
static size_t retain_cursor;      /* session directories done this round */
static struct retain_file *retain_files;
static size_t retain_files_cap;
static struct retain_inode *retain_open;
static size_t retain_open_n, retain_open_cap;

static bool retain_is_enabled(void)
{
	return rpd.conf.retain_bytes != 0 || rpd.conf.retain_days != 0;
}

void retain_kick(void)
{
	retain_kicked = true;
}

void retain_tick(uint64_t now)
{
	if (!retain_is_enabled() || rpd.stopping)
		return;
	if ((retain_kicked || retain_more) ? now - retain_last >= RETAIN_KICK_NS
					   : now - retain_last >= RETAIN_PERIOD_NS)
		retain_run(now);
}

/* Device and inode of every segment the daemon has open. */
static void retain_collect_open(void)
{
	const struct seg *s;

	retain_open_n = 0;
	LIST_FOREACH(s, &rpd.segs, entry) {
		struct stat st;

		if (s->fd < 0 || fstat(s->fd, &st) < 0)
			continue;
		if (retain_open_n == retain_open_cap) {
			size_t cap = retain_open_cap ? retain_open_cap * 2 : 16;
			struct retain_inode *p = reallocarray(retain_open, cap, sizeof(*p));

			if (p == NULL)
				continue;  /* keep what fits; see retain_is_open() */
			retain_open = p;
			retain_open_cap = cap;
		}
		retain_open[retain_open_n++] = (struct retain_inode){ st.st_dev, st.st_ino };
	}
}

static bool retain_is_open(const struct stat *st)
{
	for (size_t i = 0; i < retain_open_n; i++)
		if (retain_open[i].dev == st->st_dev && retain_open[i].ino == st->st_ino)
			return true;
	return false;
}

/* A client or a segment of the daemon uses session directory name. */
static bool retain_session_is_used(const char *name)
{
	const struct client *c;
	const struct seg *s;

	LIST_FOREACH(c, &rpd.clients, entry)
		if (c->state != CLIENT_CLOSED && strcmp(c->session, name) == 0)
			return true;
	LIST_FOREACH(s, &rpd.segs, entry)
		if (s->sess != NULL && strcmp(s->sess->name, name) == 0)
			return true;
	return false;
}

static bool retain_has_suffix(const char *name)
{
	size_t n = strlen(name), k = strlen(RP_SEG_SUFFIX);

	return n > k && strcmp(name + n - k, RP_SEG_SUFFIX) == 0;
}

static int retain_cmp(const void *a, const void *b)
{
	const struct retain_file *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Read the segment files of the open directory dir into retain_files;
 * count every entry in *entries and *examined.  The count, or -ENOMEM. */
static ssize_t retain_list(DIR *dir, size_t *entries, size_t *examined, uint64_t *total)
{
	struct dirent *de;
	size_t n = 0;

	while ((de = readdir(dir)) != NULL) {
		struct retain_file *f;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		(*entries)++;
		(*examined)++;
		if (!retain_has_suffix(de->d_name) ||
		    fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == retain_files_cap) {
			size_t cap = retain_files_cap ? retain_files_cap * 2 : 64;
			struct retain_file *p = reallocarray(retain_files, cap, sizeof(*p));

			if (p == NULL)
				return -ENOMEM;
			retain_files = p;
			retain_files_cap = cap;
		}
		f = &retain_files[n++];
		strlcpy(f->name, de->d_name, sizeof(f->name));
		f->size = (uint64_t)st.st_size;
		f->mtime = st.st_mtim;
		f->open = retain_is_open(&st);
		*total += f->size;
	}
	return (ssize_t)n;
}

/* Apply the limits to one session directory; files and directories
 * removed, or -errno. */
static int retain_session(const char *session, size_t *examined)
{
	uint64_t days = rpd.conf.retain_days, limit = rpd.conf.retain_bytes;
	struct timespec wall;
	uint64_t total = 0;
	size_t entries = 0;
	int removed = 0, fd, ret;
	ssize_t n;
	DIR *dir;

	fd = openat(rpd.state_fd, session, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (dir == NULL) {
		ret = -errno;
		close(fd);
		return ret;
	}
	n = retain_list(dir, &entries, examined, &total);
	if (n < 0) {
		ret = (int)n;
		goto err_dir;
	}
	qsort(retain_files, (size_t)n, sizeof(*retain_files), retain_cmp);
	clock_gettime(CLOCK_REALTIME, &wall);
	for (ssize_t i = 0; i < n; i++) {
		const struct retain_file *f = &retain_files[i];
		bool old = days != 0 &&
			   (uint64_t)wall.tv_sec > (uint64_t)f->mtime.tv_sec &&
			   (uint64_t)wall.tv_sec - (uint64_t)f->mtime.tv_sec >
				   days * RETAIN_SECONDS_PER_DAY;
		bool over = limit != 0 && total > limit;

		if (f->open)
			continue;
		/* sorted oldest first: nothing newer is old, and total only
		 * falls */
		if (!old && !over)
			break;
		if (unlinkat(dirfd(dir), f->name, 0) < 0) {
			log_warn("retention: remove %s/%s/%s: %s", rpd.conf.state_dir, session,
				 f->name, strerror(errno));
			continue;
		}
		total -= f->size;
		seg_session_removed(session, f->size);
		entries--;
		removed++;
		if (old)
			log_info("retention: removed %s/%s/%s (%llu bytes, older than %llu days)",
				 rpd.conf.state_dir, session, f->name,
				 (unsigned long long)f->size, (unsigned long long)days);
		else
			log_info("retention: removed %s/%s/%s (%llu bytes, session over %llu bytes)",
				 rpd.conf.state_dir, session, f->name,
				 (unsigned long long)f->size, (unsigned long long)limit);
	}
	closedir(dir);
	if (entries == 0 && !retain_session_is_used(session)) {
		if (unlinkat(rpd.state_fd, session, AT_REMOVEDIR) == 0) {
			log_info("retention: removed empty session directory %s/%s",
				 rpd.conf.state_dir, session);
			removed++;
		} else if (errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT) {
			log_warn("retention: remove %s/%s: %s", rpd.conf.state_dir, session,
				 strerror(errno));
		}
	}
	return removed;

err_dir:
	closedir(dir);
	return ret;
}

int retain_run(uint64_t now)
{
	size_t seen = 0, examined = 0;
	struct dirent *de;
	int removed = 0, fd, ret;
	DIR *dir;

	retain_last = now;
	retain_kicked = false;
	retain_more = false;
	if (!retain_is_enabled())
		return 0;
	retain_collect_open();
	fd = openat(rpd.state_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		log_warn("retention: open %s: %s", rpd.conf.state_dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(dir)) != NULL) {
		struct stat st;

		/* session names never start with '.' (seg_sanitize) */
		if (de->d_name[0] == '.')
			continue;
		if (seen < retain_cursor) {
			seen++;
			continue;
		}
		if (examined >= RETAIN_PASS_FILES) {
			retain_more = true;
			break;
		}
		seen++;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		ret = retain_session(de->d_name, &examined);
		if (ret < 0)
			log_warn("retention: %s/%s: %s", rpd.conf.state_dir, de->d_name,
				 strerror(-ret));
		else
			removed += ret;
	}
	closedir(dir);
	retain_cursor = retain_more ? seen : 0;
	return removed;
}

void retain_fini(void)
{
	free(retain_files);
	retain_files = NULL;
	retain_files_cap = 0;
	free(retain_open);
	retain_open = NULL;
	retain_open_n = retain_open_cap = 0;
}
