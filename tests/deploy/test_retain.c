/*
 * test_retain.c - --retain-bytes and --retain-days on real segments: a
 * first daemon records sealed segments, their modification times are set
 * back, and a second daemon applies retention at start-up, after seals and
 * on reload.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "deploy.h"

#define RETAIN_FILES_MAX 16

struct retain_seg {
	char name[256];
	off_t size;
};

/* Segment files of state/session, oldest name first by mtime. */
static int retain_list(const char *state, const char *session, struct retain_seg *out)
{
	char path[256];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", state, session);
	dir = opendir(path);
	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		char file[600];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		cr_assert_lt(n, RETAIN_FILES_MAX);
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		cr_assert_eq(stat(file, &st), 0);
		strcpy(out[n].name, de->d_name);
		out[n].size = st.st_size;
		n++;
	}
	closedir(dir);
	return n;
}

/* Set the modification time of state/session/name to now - age_s. */
static void retain_age(const char *state, const char *session, const char *name, long age_s)
{
	struct timespec ts[2];
	char path[600];

	snprintf(path, sizeof(path), "%s/%s/%s", state, session, name);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age_s;
	ts[1] = ts[0];
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0, "%s: %s", path, strerror(errno));
}

static bool retain_exists(const char *state, const char *session, const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s%s%s", state, session, name ? "/" : "",
		 name ? name : "");
	return access(path, F_OK) == 0;
}

/* Record one sealed segment per client into each session given. */
static void retain_record(struct daemon *d, const char *const *sessions)
{
	daemon_spawn(d, NULL, 0);
	for (; *sessions != NULL; sessions++)
		deploy_client_run(d->sock, *sessions, "3000");
	daemon_terminate(d);
}

static int retain_by_name(const void *a, const void *b)
{
	return strcmp(((const struct retain_seg *)a)->name, ((const struct retain_seg *)b)->name);
}

Test(retain, bytes_remove_the_oldest_and_never_an_open_segment, .timeout = 120)
{
	const char *sessions[] = { "s", "s", "s", NULL };
	const char *forever[] = { "--threads", "1", "--forever", NULL };
	struct daemon d;
	const char *extra[] = { "--config", d.conf, NULL };
	struct retain_seg segs[RETAIN_FILES_MAX], now[RETAIN_FILES_MAX];
	char text[128], want[1024];
	pid_t holder;
	int n;

	daemon_dirs(&d);
	retain_record(&d, sessions);
	n = retain_list(d.state, "s", segs);
	cr_assert_eq(n, 3);
	qsort(segs, 3, sizeof(segs[0]), retain_by_name);
	/* oldest first: segs[2], segs[0], segs[1] (not the order of names) */
	retain_age(d.state, "s", segs[2].name, 3 * 3600);
	retain_age(d.state, "s", segs[0].name, 2 * 3600);
	retain_age(d.state, "s", segs[1].name, 1 * 3600);

	/* room for the two newest: the start-up pass removes the oldest */
	snprintf(text, sizeof(text), "retain-bytes = %lld\n",
		 (long long)(segs[0].size + segs[1].size));
	write_text(d.conf, text);
	daemon_spawn(&d, extra, 0);
	/* logged after the start-up pass (the first daemon logged it once) */
	log_wait_n(&d, "ringprofd: segments in ", 2);
	snprintf(want, sizeof(want), "ringprofd: retention: removed %s/s/%s (%lld bytes, session "
		 "over %lld bytes)", d.state, segs[2].name, (long long)segs[2].size,
		 (long long)(segs[0].size + segs[1].size));
	cr_assert_eq(log_count(&d, want), 1, "%s", slurp_text(d.log));
	cr_assert_not(retain_exists(d.state, "s", segs[2].name));
	cr_assert(retain_exists(d.state, "s", segs[0].name));
	cr_assert(retain_exists(d.state, "s", segs[1].name));

	/* a client keeps a segment open; the limit drops to 1 byte */
	holder = client_spawn(d.sock, "s", forever, NULL, NULL);
	while (retain_list(d.state, "s", now) < 3)
		nap();
	write_text(d.conf, "retain-bytes = 1\n");
	kill(d.pid, SIGHUP);
	log_wait_n(&d, "configuration reloaded", 1);
	/* the reload rotated the open segment: it goes once sealed; the new
	 * one stays */
	log_wait_n(&d, "ringprofd: retention: removed ", 4);
	n = retain_list(d.state, "s", now);
	cr_assert_eq(n, 1);
	snprintf(want, sizeof(want), "-%d-", (int)holder);
	cr_assert(strstr(now[0].name, want) != NULL, "%s is not the client's", now[0].name);
	cr_assert(strstr(now[0].name, "-1.rpseg") != NULL, "%s is not the open one", now[0].name);
	cr_assert_eq(log_count(&d, now[0].name), 0);

	/* the client exits: its last segment is sealed, removed, and the
	 * empty session directory with it */
	kill(holder, SIGUSR1);
	client_wait_code(holder, 0);
	snprintf(want, sizeof(want), "ringprofd: retention: removed empty session directory %s/s",
		 d.state);
	log_wait_n(&d, want, 1);
	cr_assert_eq(log_count(&d, "ringprofd: retention: removed "), 6);
	cr_assert_not(retain_exists(d.state, "s", NULL));
	daemon_terminate(&d);
	daemon_cleanup(&d);
}

Test(retain, days_remove_segments_older_than_the_limit, .timeout = 120)
{
	const char *sessions[] = { "d", "d", "e", NULL };
	struct daemon d;
	const char *extra[] = { "--retain-days", "2", NULL };
	struct retain_seg dsegs[RETAIN_FILES_MAX], esegs[RETAIN_FILES_MAX];
	char want[1024];

	daemon_dirs(&d);
	retain_record(&d, sessions);
	cr_assert_eq(retain_list(d.state, "d", dsegs), 2);
	cr_assert_eq(retain_list(d.state, "e", esegs), 1);
	retain_age(d.state, "d", dsegs[0].name, 3 * 86400 + 3600);
	retain_age(d.state, "d", dsegs[1].name, 1 * 86400);
	retain_age(d.state, "e", esegs[0].name, 10 * 86400);

	daemon_spawn(&d, extra, 0);
	log_wait_n(&d, "ringprofd: segments in ", 2);
	snprintf(want, sizeof(want), "ringprofd: retention: removed %s/d/%s (%lld bytes, older "
		 "than 2 days)", d.state, dsegs[0].name, (long long)dsegs[0].size);
	cr_assert_eq(log_count(&d, want), 1, "%s", slurp_text(d.log));
	snprintf(want, sizeof(want), "ringprofd: retention: removed %s/e/%s (%lld bytes, older "
		 "than 2 days)", d.state, esegs[0].name, (long long)esegs[0].size);
	cr_assert_eq(log_count(&d, want), 1);
	snprintf(want, sizeof(want), "ringprofd: retention: removed empty session directory %s/e",
		 d.state);
	cr_assert_eq(log_count(&d, want), 1);
	cr_assert_eq(log_count(&d, "ringprofd: retention: removed "), 3);
	cr_assert_not(retain_exists(d.state, "d", dsegs[0].name));
	cr_assert(retain_exists(d.state, "d", dsegs[1].name));
	cr_assert_not(retain_exists(d.state, "e", NULL));
	/* what is kept still reads back whole */
	daemon_terminate(&d);
	cr_assert_eq(deploy_count_events(d.state), 3000);
	daemon_cleanup(&d);
}
