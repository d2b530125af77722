/*
 * deploy.h - helpers of the deployment suites (test_conf, test_retain,
 * test_activation): run the built ringprofd and e2e_client as real
 * processes, capture their output, wait for log lines, count the events
 * recorded with libringprof.  Every wait polls a condition under a
 * deadline.
 */
#ifndef RINGPROF_TEST_DEPLOY_H
#define RINGPROF_TEST_DEPLOY_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <ringprof/reader.h>

#define DEPLOY_WAIT_MS 15000

extern char **environ;

static inline uint64_t deploy_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline void deploy_nap(void)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Built program rel (e.g. "daemon/ringprofd"). */
static inline const char *deploy_bin(const char *rel)
{
	static char path[4][512];
	static int next;
	const char *dir = getenv("RINGPROF_BUILD_DIR");
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", dir ? dir : RINGPROF_BUILD_DIR, rel);
	return p;
}

/* Whole file as a NUL-terminated string ("" when missing); free it. */
static inline char *deploy_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (f == NULL)
		return strdup("");
	do {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap + 1);
			cr_assert_not_null(buf);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got != 0);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static inline void deploy_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static inline int deploy_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static inline void deploy_rm_rf(const char *dir)
{
	nftw(dir, deploy_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory under /tmp, into dir (64 bytes). */
static inline void deploy_tmpdir(char *dir)
{
	strcpy(dir, "/tmp/ringprof-deploy-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

/* Run argv to completion with stdout and stderr captured (each freed by
 * the caller); returns the wait status. */
static inline int deploy_run(const char *const *argv, char **out, char **err)
{
	char dir[64], opath[96], epath[96];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status;

	deploy_tmpdir(dir);
	snprintf(opath, sizeof(opath), "%s/out", dir);
	snprintf(epath, sizeof(epath), "%s/err", dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, opath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, epath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0,
		     "spawn %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	*out = deploy_slurp(opath);
	*err = deploy_slurp(epath);
	deploy_rm_rf(dir);
	return status;
}

/* Lines of the file at path that contain needle. */
static inline int deploy_count_lines(const char *path, const char *needle)
{
	char *text = deploy_slurp(path), *save = NULL;
	int n = 0;

	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		if (strstr(line, needle) != NULL)
			n++;
	free(text);
	return n;
}

/* Wait until n lines of the log contain needle. */
static inline void deploy_log_wait_n(const char *log, const char *needle, int n)
{
	uint64_t end = deploy_now_ms() + DEPLOY_WAIT_MS;

	while (deploy_count_lines(log, needle) < n) {
		if (deploy_now_ms() > end) {
			char *text = deploy_slurp(log);

			cr_assert_fail("no line containing \"%s\" in %s:\n%s", needle, log, text);
		}
		deploy_nap();
	}
}

static inline bool deploy_socket_is_up(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up;

	if (fd < 0 || strlen(path) >= sizeof(addr.sun_path)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	up = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	return up;
}

struct deploy_daemon {
	pid_t pid;
	char dir[64];
	char sock[128];
	char state[128];
	char log[128];
	char conf[128];
};

/* Paths of a daemon under a fresh directory (conf is not created). */
static inline void deploy_daemon_paths(struct deploy_daemon *d)
{
	memset(d, 0, sizeof(*d));
	deploy_tmpdir(d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/sock", d->dir);
	snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/log", d->dir);
	snprintf(d->conf, sizeof(d->conf), "%s/ringprofd.conf", d->dir);
}

/* Start ringprofd --socket --state-dir (+ extra, NULL-terminated) with its
 * output appended to d->log, and wait until its socket accepts. */
static inline void deploy_daemon_start(struct deploy_daemon *d, const char *const *extra)
{
	const char *argv[32];
	int argc = 0, logfd;
	uint64_t end = deploy_now_ms() + DEPLOY_WAIT_MS;

	argv[argc++] = deploy_bin("daemon/ringprofd");
	argv[argc++] = "--socket";
	argv[argc++] = d->sock;
	argv[argc++] = "--state-dir";
	argv[argc++] = d->state;
	for (; extra != NULL && *extra != NULL; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;
	logfd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	cr_assert_geq(logfd, 0);
	d->pid = fork();
	cr_assert_geq(d->pid, 0);
	if (d->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(logfd);
	while (!deploy_socket_is_up(d->sock)) {
		int status;

		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			char *text = deploy_slurp(d->log);

			d->pid = 0;
			cr_assert_fail("ringprofd exited at start-up (status 0x%x):\n%s", status,
				       text);
		}
		cr_assert_leq(deploy_now_ms(), end, "ringprofd did not listen on %s", d->sock);
		deploy_nap();
	}
}

/* SIGTERM the daemon and check it stopped cleanly. */
static inline void deploy_daemon_stop(struct deploy_daemon *d)
{
	int status;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	cr_assert_eq(waitpid(d->pid, &status, 0), d->pid);
	d->pid = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "ringprofd ended with status 0x%x:\n%s", status, deploy_slurp(d->log));
}

static inline void deploy_daemon_cleanup(struct deploy_daemon *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
	}
	deploy_rm_rf(d->dir);
}

/* Start e2e_client (args NULL-terminated) against sock in session. */
static inline pid_t deploy_client_spawn(const char *sock, const char *session, const char *const *args)
{
	char sockenv[200], sessenv[100];
	const char *argv[16];
	char *envp[8];
	int n = 0;
	pid_t pid;

	argv[n++] = deploy_bin("tests/e2e_client");
	for (; *args != NULL && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	snprintf(sockenv, sizeof(sockenv), "RINGPROF_SOCKET=%s", sock);
	snprintf(sessenv, sizeof(sessenv), "RINGPROF_SESSION=%s", session);
	n = 0;
	envp[n++] = sockenv;
	envp[n++] = sessenv;
	envp[n++] = (char *)"RINGPROF_CLOCK=monotonic";
	if (getenv("ASAN_OPTIONS") != NULL)
		envp[n++] = (char *)"ASAN_OPTIONS=detect_leaks=0";
	envp[n] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* a failed test must not leave a recording client behind */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	return pid;
}

/* Wait for the client and check its exit code (3: refused). */
static inline void deploy_client_wait_code(pid_t pid, int code)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == code,
		  "e2e_client ended with status 0x%x, expected exit %d", status, code);
}

static inline void deploy_client_wait(pid_t pid)
{
	deploy_client_wait_code(pid, 0);
}

/* One client, one thread, events events, to completion. */
static inline void deploy_client_run(const char *sock, const char *session, const char *events)
{
	const char *args[] = { "--threads", "1", "--events", events, NULL };

	deploy_client_wait(deploy_client_spawn(sock, session, args));
}

/* Events of kind "E2E" in the segments under path (every segment sealed). */
static inline uint64_t deploy_count_events(const char *path)
{
	const char *paths[] = { path };
	struct rp_reader *r;
	struct rp_item it;
	char err[512];
	uint64_t n = 0;
	int ret;

	r = rp_reader_open(paths, 1, 0, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	while ((ret = rp_reader_next(r, &it)) == 1)
		if (it.kind == RP_ITEM_EVENT && it.event.kind != NULL &&
		    strcmp(it.event.kind, "E2E") == 0)
			n++;
	cr_assert_eq(ret, 0, "reading %s: %s", path, rp_reader_error(r));
	rp_reader_close(r);
	return n;
}

#endif /* RINGPROF_TEST_DEPLOY_H */
