/*
 * harness.c - real processes for the integration suites (harness.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void nap(void)
{
	nap_ms(2);
}

const char *build_path(const char *rel)
{
	static char path[4][512];
	static unsigned next;
	const char *dir = getenv("RINGPROF_BUILD_DIR");
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", dir ? dir : RINGPROF_BUILD_DIR, rel);
	return p;
}

char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (len != NULL)
		*len = 0;
	if (f == NULL)
		return NULL;
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
	if (len != NULL)
		*len = n;
	return buf;
}

char *slurp_text(const char *path)
{
	char *text = slurp(path, NULL);

	return text != NULL ? text : strdup("");
}

void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

int count_lines(const char *path, const char *needle)
{
	char *text = slurp(path, NULL), *save = NULL;
	int n = 0;

	if (text == NULL)
		return 0;
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		if (strstr(line, needle) != NULL)
			n++;
	free(text);
	return n;
}

void tmpdir_make(char *dir)
{
	strcpy(dir, "/tmp/ringprof-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

void rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A stream socket connected to path; -1 when nothing listens there. */
static int sock_open(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	cr_assert_lt(strlen(path), sizeof(addr.sun_path), "socket path too long: %s", path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int sock_connect(const char *path)
{
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	int fd = sock_open(path);

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

bool socket_is_up(const char *path)
{
	int fd = sock_open(path);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

pid_t spawn_logged(const char *const *argv, const char *log, uid_t as)
{
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	pid_t pid;

	cr_assert_geq(logfd, 0, "%s: %s", log, strerror(errno));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* a failed test must not leave a process behind */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		if (as != 0) {
			if (setgroups(0, NULL) != 0 || setresgid(as, as, as) != 0 ||
			    setresuid(as, as, as) != 0) {
				dprintf(logfd, "cannot become uid %u: %s\n", (unsigned)as,
					strerror(errno));
				_exit(126);
			}
			/* a change of credentials clears the parent-death signal */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		}
		execv(argv[0], (char *const *)argv);
		dprintf(logfd, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	return pid;
}

int run(const char *const *argv, const char *const *env, char **out, char **err)
{
	char dir[64], opath[96], epath[96];
	pid_t pid;
	int status;

	tmpdir_make(dir);
	snprintf(opath, sizeof(opath), "%s/out", dir);
	snprintf(epath, sizeof(epath), "%s/err", dir);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (o < 0 || e < 0)
			_exit(126);
		dup2(o, STDOUT_FILENO);
		dup2(e, STDERR_FILENO);
		unsetenv("RINGPROF_SOCKET");
		for (; env != NULL && *env != NULL; env++)
			putenv((char *)*env);
		execv(argv[0], (char *const *)argv);
		dprintf(e, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	*out = slurp_text(opath);
	*err = slurp_text(epath);
	rm_rf(dir);
	return status;
}

bool exited_with(int status, int code)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

void daemon_dirs(struct daemon *d)
{
	memset(d, 0, sizeof(*d));
	tmpdir_make(d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/sock", d->dir);
	snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/log", d->dir);
	snprintf(d->conf, sizeof(d->conf), "%s/ringprofd.conf", d->dir);
}

void daemon_spawn(struct daemon *d, const char *const *extra, uid_t as)
{
	const char *argv[32];
	int argc = 0;
	uint64_t end = now_ms() + WAIT_MS;

	argv[argc++] = build_path("daemon/ringprofd");
	argv[argc++] = "--socket";
	argv[argc++] = d->sock;
	argv[argc++] = "--state-dir";
	argv[argc++] = d->state;
	for (; extra != NULL && *extra != NULL; extra++) {
		cr_assert_lt(argc, 31, "too many arguments");
		argv[argc++] = *extra;
	}
	argv[argc] = NULL;
	d->pid = spawn_logged(argv, d->log, as);
	while (!socket_is_up(d->sock)) {
		int status;

		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			cr_assert_fail("ringprofd exited at start-up (status 0x%x):\n%s", status,
				       slurp_text(d->log));
		}
		cr_assert_leq(now_ms(), end, "ringprofd did not listen on %s", d->sock);
		nap();
	}
}

void daemon_start(struct daemon *d, const char *const *extra)
{
	daemon_dirs(d);
	daemon_spawn(d, extra, 0);
}

int daemon_signal_wait(struct daemon *d, int sig)
{
	uint64_t end = now_ms() + WAIT_MS;
	int status;

	kill(d->pid, sig);
	while (waitpid(d->pid, &status, WNOHANG) != d->pid) {
		cr_assert_leq(now_ms(), end, "ringprofd did not exit after signal %d", sig);
		nap();
	}
	d->pid = 0;
	return status;
}

void daemon_terminate(struct daemon *d)
{
	int status;

	if (d->pid <= 0)
		return;
	status = daemon_signal_wait(d, SIGTERM);
	cr_assert(exited_with(status, 0), "ringprofd ended with status 0x%x; log:\n%s", status,
		  slurp_text(d->log));
}

void daemon_cleanup(struct daemon *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
	if (d->dir[0] != '\0' && getenv("RINGPROF_TEST_KEEP") == NULL)
		rm_rf(d->dir);
}

void daemon_stop(struct daemon *d)
{
	daemon_terminate(d);
	daemon_cleanup(d);
}

int log_count(const struct daemon *d, const char *needle)
{
	return count_lines(d->log, needle);
}

void log_wait_n(const struct daemon *d, const char *needle, int n)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (log_count(d, needle) < n) {
		if (now_ms() > end)
			cr_assert_fail("fewer than %d log lines containing \"%s\"; log:\n%s", n,
				       needle, slurp_text(d->log));
		nap();
	}
}

void log_wait(const struct daemon *d, const char *needle)
{
	log_wait_n(d, needle, 1);
}

pid_t client_spawn(const char *sock, const char *session, const char *const *args,
		   const char *env, FILE **out)
{
	char sockenv[200], sessenv[100], ubsan[600];
	const char *argv[16];
	char *envp[8];
	int fds[2] = { -1, -1 }, n = 0;
	pid_t pid;

	argv[n++] = build_path("tests/e2e_client");
	for (; *args != NULL; args++) {
		cr_assert_lt(n, 15, "too many arguments");
		argv[n++] = *args;
	}
	argv[n] = NULL;
	snprintf(sockenv, sizeof(sockenv), "RINGPROF_SOCKET=%s", sock);
	snprintf(sessenv, sizeof(sessenv), "RINGPROF_SESSION=%s", session);
	n = 0;
	envp[n++] = sockenv;
	envp[n++] = sessenv;
	envp[n++] = (char *)"RINGPROF_CLOCK=monotonic";
	/* clients are often killed mid-recording: a leak report there is no finding */
	if (getenv("ASAN_OPTIONS") != NULL)
		envp[n++] = (char *)"ASAN_OPTIONS=detect_leaks=0";
	if (getenv("UBSAN_OPTIONS") != NULL) {
		snprintf(ubsan, sizeof(ubsan), "UBSAN_OPTIONS=%s", getenv("UBSAN_OPTIONS"));
		envp[n++] = ubsan;
	}
	if (env != NULL)
		envp[n++] = (char *)env;
	envp[n] = NULL;
	if (out != NULL)
		cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* a failed test must not leave a recording client behind */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (out != NULL)
			dup2(fds[1], STDOUT_FILENO);
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	if (out != NULL) {
		close(fds[1]);
		*out = fdopen(fds[0], "r");
		cr_assert_not_null(*out);
	}
	return pid;
}

void client_wait_code(pid_t pid, int code)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(exited_with(status, code), "e2e_client ended with status 0x%x, expected exit %d",
		  status, code);
}
