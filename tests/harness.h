/*
 * harness.h - real processes for the integration suites (test_daemon,
 * test_status, test_e2e, test_cyg and the deployment suites): the built
 * ringprofd on a private socket and state directory, e2e_client processes,
 * commands run to completion with their output captured, and files read
 * whole.  Every wait polls a condition under a deadline (WAIT_MS); every
 * child gets SIGKILL when the test process dies (PR_SET_PDEATHSIG), so a
 * test killed by its timeout leaves nothing running.  Failures are
 * Criterion assertions in the calling test.  The names are the ones the
 * suites grew up with (test_daemon.c's), without a prefix: test code only.
 */
#ifndef RINGPROF_TEST_HARNESS_H
#define RINGPROF_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define WAIT_MS 20000  /* deadline of every wait, ms */

/* A daemon's private directory (dir) and the paths under it; pid 0 when
 * none runs. */
struct daemon {
	pid_t pid;
	char dir[64];
	char sock[128];
	char state[128];
	char log[128];    /* its stdout and stderr, appended */
	char conf[128];   /* ringprofd.conf, for tests that write one */
};

/* CLOCK_MONOTONIC in ms. */
uint64_t now_ms(void);
void nap_ms(long ms);
/* One poll interval (2 ms). */
void nap(void);

/* Path of rel under the build directory ($RINGPROF_BUILD_DIR or the one
 * configured), e.g. "daemon/ringprofd"; valid until four more calls. */
const char *build_path(const char *rel);

/* Whole file, NUL-terminated, its length (without the NUL) in *len when
 * len is not NULL; NULL when it cannot be opened.  Free it. */
char *slurp(const char *path, size_t *len);
/* Whole file as a string, "" when it cannot be opened; never NULL.  Free it. */
char *slurp_text(const char *path);
/* Create or truncate path with text. */
void write_text(const char *path, const char *text);
/* Lines of the file at path that contain needle (0 when it is missing). */
int count_lines(const char *path, const char *needle);

/* A fresh directory under /tmp into dir (64 bytes). */
void tmpdir_make(char *dir);
/* Remove dir and everything below it. */
void rm_rf(const char *dir);

/* A stream socket connected to path, receives timing out after WAIT_MS;
 * -1 when nothing listens there. */
int sock_connect(const char *path);
bool socket_is_up(const char *path);

/* Fork and exec argv with stdout and stderr appended to log, as uid/gid as
 * with no supplementary groups when as is not 0. */
pid_t spawn_logged(const char *const *argv, const char *log, uid_t as);
/* Run argv to completion, RINGPROF_SOCKET removed from the environment and
 * env (NULL-terminated "NAME=value" list, or NULL) added, stdout and stderr
 * captured into *out and *err (free both); returns the wait status. */
int run(const char *const *argv, const char *const *env, char **out, char **err);
/* Whether a wait status is a normal exit with code. */
bool exited_with(int status, int code);

/* Paths of a daemon under a fresh directory; nothing runs yet. */
void daemon_dirs(struct daemon *d);
/* Start ringprofd --socket --state-dir with extra arguments (NULL-terminated,
 * may be NULL) in the paths of daemon_dirs(), as uid as when not 0, and wait
 * until its socket accepts. */
void daemon_spawn(struct daemon *d, const char *const *extra, uid_t as);
/* daemon_dirs() then daemon_spawn() as ourselves. */
void daemon_start(struct daemon *d, const char *const *extra);
/* Send sig and wait for the daemon to exit; its wait status. */
int daemon_signal_wait(struct daemon *d, int sig);
/* SIGTERM the daemon, if one runs, and check it exited 0 (under ASan:
 * without a leak); the directory stays. */
void daemon_terminate(struct daemon *d);
/* SIGKILL whatever daemon runs and remove the directory (kept when
 * $RINGPROF_TEST_KEEP is set). */
void daemon_cleanup(struct daemon *d);
/* daemon_terminate() then daemon_cleanup(). */
void daemon_stop(struct daemon *d);

/* Lines of the daemon's log that contain needle. */
int log_count(const struct daemon *d, const char *needle);
/* Wait until at least n lines of the log contain needle. */
void log_wait_n(const struct daemon *d, const char *needle, int n);
void log_wait(const struct daemon *d, const char *needle);

/* Start tests/e2e_client with args (NULL-terminated) recording into
 * session on sock, with env ("NAME=value", or NULL) added to its small
 * environment; its stdout as a stream in *out, or left alone when out is
 * NULL. */
pid_t client_spawn(const char *sock, const char *session, const char *const *args,
		   const char *env, FILE **out);
/* Wait for a client and check its exit code (3: refused by the daemon). */
void client_wait_code(pid_t pid, int code);

#endif /* RINGPROF_TEST_HARNESS_H */
