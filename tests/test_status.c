/*
 * test_status.c - `ringprof status` against a real ringprofd.
 *
 * Each test spawns the built daemon on a private socket and state
 * directory, real clients (tests/e2e_client, recording through ringprof.h)
 * or hand-made peers (following ringprof/wire.h), and runs the built
 * `ringprof status`.  The JSON goes through tests/status_check.py (Python's
 * strict parser and a shape check), whose one-line-per-client summary is
 * compared exactly.  Every wait polls a condition under a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <ringprof/shm.h>
#include <ringprof/wire.h>

#define WAIT_MS 15000

struct daemon {
	pid_t pid;
	char dir[64];
	char sock[128];
	char state[128];
	char log[128];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static const char *build_dir(void)
{
	const char *dir = getenv("RINGPROF_BUILD_DIR");

	return dir ? dir : RINGPROF_BUILD_DIR;
}

static char *slurp(const char *path)
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

static int sock_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* ---- the daemon ---- */

static void daemon_start(struct daemon *d, const char *const *extra)
{
	const char *argv[32];
	char bin[512];
	int argc = 0, logfd;
	uint64_t end;

	strcpy(d->dir, "/tmp/ringprof-status-XXXXXX");
	cr_assert_not_null(mkdtemp(d->dir));
	snprintf(d->sock, sizeof(d->sock), "%s/sock", d->dir);
	snprintf(d->state, sizeof(d->state), "%s/state", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/log", d->dir);
	snprintf(bin, sizeof(bin), "%s/daemon/ringprofd", build_dir());
	argv[argc++] = bin;
	argv[argc++] = "--socket";
	argv[argc++] = d->sock;
	argv[argc++] = "--state-dir";
	argv[argc++] = d->state;
	/* encoders flush within 20 ms: drained events are soon written */
	argv[argc++] = "--flush-ms";
	argv[argc++] = "20";
	for (; extra != NULL && *extra != NULL; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;
	logfd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(logfd, 0);
	d->pid = fork();
	cr_assert_geq(d->pid, 0);
	if (d->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		dprintf(logfd, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	end = now_ms() + WAIT_MS;
	for (;;) {
		int status, fd;

		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			cr_assert_fail("ringprofd exited at start-up (status 0x%x):\n%s", status,
				       slurp(d->log));
		}
		if ((fd = sock_connect(d->sock)) >= 0) {
			close(fd);
			return;
		}
		cr_assert_leq(now_ms(), end, "ringprofd did not listen on %s", d->sock);
		nap_ms(2);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* SIGTERM; the daemon must exit 0 (under ASan: without a leak). */
static void daemon_stop(struct daemon *d)
{
	uint64_t end = now_ms() + WAIT_MS;
	int status;

	kill(d->pid, SIGTERM);
	while (waitpid(d->pid, &status, WNOHANG) != d->pid) {
		cr_assert_leq(now_ms(), end, "ringprofd did not exit after SIGTERM");
		nap_ms(2);
	}
	d->pid = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "ringprofd status 0x%x; log:\n%s", status, slurp(d->log));
	nftw(d->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- programs ---- */

/* Run argv with stdout and stderr into files under dir, env (NULL or one
 * "NAME=value") added; the exit status, -1 when killed. */
static int run(const char *dir, const char *const *argv, const char *env, char **out,
	       char **err)
{
	char opath[160], epath[160];
	pid_t pid;
	int status;

	snprintf(opath, sizeof(opath), "%s/run.out", dir);
	snprintf(epath, sizeof(epath), "%s/run.err", dir);
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
		if (env != NULL)
			putenv((char *)env);
		execv(argv[0], (char *const *)argv);
		dprintf(e, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	*out = slurp(opath);
	*err = slurp(epath);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *cli_path(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/tools/cli/ringprof", build_dir());
	return path;
}

/* `ringprof status --socket SOCK [--json]`, expected to succeed. */
static char *status_run(const struct daemon *d, bool json)
{
	const char *argv[] = { cli_path(), "status", "--socket", d->sock,
			       json ? "--json" : NULL, NULL };
	char *out, *err;
	int rc = run(d->dir, argv, NULL, &out, &err);

	cr_assert_eq(rc, 0, "ringprof status exited %d: %s", rc, err);
	cr_assert_str_empty(err);
	free(err);
	return out;
}

/* The JSON through status_check.py: its summary lines. */
static char *status_summary(const struct daemon *d)
{
	char *json = status_run(d, true), *out, *err, path[160], script[512];
	const char *sh[] = { "/bin/sh", "-c", "exec \"$0\" \"$1\" < \"$2\"", RINGPROF_PYTHON3,
			     script, path, NULL };
	FILE *f;
	int rc;

	snprintf(script, sizeof(script), "%s/tests/status_check.py", RINGPROF_SOURCE_DIR);
	snprintf(path, sizeof(path), "%s/status.json", d->dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(json, f);
	fclose(f);
	rc = run(d->dir, sh, NULL, &out, &err);
	cr_assert_eq(rc, 0, "status_check.py: %s\ndocument:\n%s", err, json);
	free(json);
	free(err);
	return out;
}

/* Poll the summary until it equals want. */
static void status_wait(const struct daemon *d, const char *want)
{
	uint64_t end = now_ms() + WAIT_MS;
	char *got;

	for (;;) {
		got = status_summary(d);
		if (strcmp(got, want) == 0)
			break;
		if (now_ms() > end)
			cr_assert_str_eq(got, want, "daemon log:\n%s", slurp(d->log));
		free(got);
		nap_ms(20);
	}
	free(got);
}

/* ---- real clients ---- */

struct client {
	pid_t pid;
	FILE *out;
};

/* e2e_client with args, recording for session; waits for its first line
 * ("paused" or "running"). */
static struct client client_spawn(const struct daemon *d, const char *session,
				  const char *const *args)
{
	char bin[512], line[64];
	const char *argv[16];
	struct client c;
	int fds[2], n = 0;

	snprintf(bin, sizeof(bin), "%s/tests/e2e_client", build_dir());
	argv[n++] = bin;
	for (; *args != NULL; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	c.pid = fork();
	cr_assert_geq(c.pid, 0);
	if (c.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		setenv("RINGPROF_SOCKET", d->sock, 1);
		setenv("RINGPROF_SESSION", session, 1);
		setenv("RINGPROF_CLOCK", "monotonic", 1);
		if (getenv("ASAN_OPTIONS"))
			setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	c.out = fdopen(fds[0], "r");
	cr_assert_not_null(c.out);
	cr_assert_not_null(fgets(line, sizeof(line), c.out), "e2e_client said nothing; log:\n%s",
			   slurp(d->log));
	cr_assert(strcmp(line, "paused\n") == 0 || strcmp(line, "running\n") == 0,
		  "e2e_client: %s", line);
	return c;
}

static void client_kill(struct client *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	fclose(c->out);
}

/* ---- hand-made peers ---- */

static void request_init(struct rp_status_request *q)
{
	memset(q, 0, sizeof(*q));
	q->magic = RP_STATUS_MAGIC;
	q->version = RP_WIRE_VERSION;
	q->size = sizeof(*q);
}

/* Read one reply header and expect exactly status and reason, no payload,
 * then the end of the connection. */
static void reply_expect(int fd, int status, const char *reason)
{
	struct rp_status_reply r;
	size_t got = 0;
	char more;

	while (got < sizeof(r)) {
		ssize_t n = recv(fd, (char *)&r + got, sizeof(r) - got, 0);

		cr_assert_gt(n, 0, "reply cut off after %zu bytes (%s)", got,
			     n < 0 ? strerror(errno) : "closed");
		got += (size_t)n;
	}
	cr_assert_eq(r.magic, RP_STATUS_REPLY_MAGIC);
	cr_assert_eq(r.version, RP_WIRE_VERSION);
	cr_assert_eq(r.size, sizeof(r));
	cr_assert_eq(r.status, status, "status %d, expected %d (%s)", r.status, status, r.reason);
	cr_assert_eq(r.payload_len, 0);
	cr_assert_str_eq(r.reason, reason);
	/* closed after the reply (a reset when request bytes were left) */
	cr_assert_leq(recv(fd, &more, 1, 0), 0);
}

/* Send n bytes of buf as a status peer, optionally with an fd attached. */
static void peer_send(int fd, const void *buf, size_t n, int attach)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = n };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (attach >= 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &attach, sizeof(int));
	}
	cr_assert_eq(sendmsg(fd, &msg, MSG_NOSIGNAL), (ssize_t)n);
}

/* Register as a client with a minimal sealed region, then break the
 * protocol by sending 3 bytes after the hello (the daemon quarantines
 * it); report on ready and wait to be killed.  Runs in a child. */
static void hostile_client(const char *sock, int ready)
{
	const uint32_t rings = 2, ring_bytes = 4096, string_bytes = 4096;
	uint64_t stride = sizeof(struct rp_ring_ctl) + ring_bytes;
	uint64_t size = sizeof(struct rp_shm_header) + rings * stride + string_bytes;
	static const char cmdline[] = "hostile\0--say \"hi\"\0";
	struct rp_shm_header *h;
	struct rp_hello hello;
	struct rp_answer a;
	struct iovec iov[2];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	struct cmsghdr *cm;
	int memfd, fd;

	memfd = memfd_create("ringprof-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0 || ftruncate(memfd, (off_t)size) < 0)
		_exit(10);
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (h == MAP_FAILED)
		_exit(11);
	h->magic = RP_SHM_MAGIC;
	h->version = RP_SHM_VERSION;
	h->header_size = sizeof(*h);
	h->region_size = size;
	h->ring_count = rings;
	h->ring_bytes = ring_bytes;
	h->ring_offset = sizeof(*h);
	h->ring_stride = stride;
	h->string_offset = sizeof(*h) + rings * stride;
	h->string_bytes = string_bytes;
	h->clock_source = RP_CLOCK_MONOTONIC;
	if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		_exit(12);
	memset(&hello, 0, sizeof(hello));
	hello.magic = RP_HELLO_MAGIC;
	hello.version = RP_WIRE_VERSION;
	hello.size = sizeof(hello);
	hello.pid = (uint32_t)getpid();
	hello.region_size = size;
	hello.ring_count = rings;
	hello.ring_bytes = ring_bytes;
	hello.string_bytes = string_bytes;
	hello.clock_source = RP_CLOCK_MONOTONIC;
	hello.tick_hz = 1000000000;
	strcpy(hello.name, "hostile");
	strcpy(hello.session, "quarantine");
	hello.cmdline_len = sizeof(cmdline) - 1;
	iov[0] = (struct iovec){ .iov_base = &hello, .iov_len = sizeof(hello) };
	iov[1] = (struct iovec){ .iov_base = (void *)cmdline, .iov_len = hello.cmdline_len };
	memset(&u, 0, sizeof(u));
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &memfd, sizeof(int));
	fd = sock_connect(sock);
	if (fd < 0 || sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)(sizeof(hello) + hello.cmdline_len))
		_exit(13);
	if (recv(fd, &a, sizeof(a), MSG_WAITALL) != (ssize_t)sizeof(a) || a.status != 0)
		_exit(14);
	if (send(fd, "xyz", 3, MSG_NOSIGNAL) != 3)
		_exit(15);
	if (write(ready, "r", 1) != 1)
		_exit(16);
	for (;;)
		pause();
}

/* ---- tests ---- */

#define PAUSE_A 1000
#define PAUSE_B 500

/* Two paused clients: alpha (2 threads) and beta (3 threads). */
static void two_clients(const struct daemon *d, struct client c[2], char cmd[2][600])
{
	static const char *const a[] = { "--threads", "2", "--pause-at", "1000", NULL };
	static const char *const b[] = { "--threads", "3", "--pause-at", "500", NULL };

	c[0] = client_spawn(d, "alpha", a);
	c[1] = client_spawn(d, "beta", b);
	snprintf(cmd[0], 600, "%s/tests/e2e_client --threads 2 --pause-at 1000", build_dir());
	snprintf(cmd[1], 600, "%s/tests/e2e_client --threads 3 --pause-at 500", build_dir());
}

Test(status, json_lists_the_recording_clients_with_exact_counts, .timeout = 90)
{
	struct daemon d;
	struct client c[2];
	char cmd[2][600], want[8192], line[2][2048];
	/* each thread: its name event and the events before the pause */
	const unsigned ev[2] = { 2 * (PAUSE_A + 1), 3 * (PAUSE_B + 1) };
	const unsigned th[2] = { 2, 3 };
	const char *sess[2] = { "alpha", "beta" };

	daemon_start(&d, NULL);
	two_clients(&d, c, cmd);
	for (int i = 0; i < 2; i++)
		snprintf(line[i], sizeof(line[i]),
			 "client pid=%d name=e2e_client session=%s state=active reason=None "
			 "threads=%u rings_in_use=%u events=%u dropped=0/0/0 command=%s\n",
			 (int)c[i].pid, sess[i], th[i], th[i], ev[i], cmd[i]);
	snprintf(want, sizeof(want),
		 "totals clients=2 quarantined=0 events=%u dropped=0/0/0 omitted=0\n%s%s",
		 ev[0] + ev[1], c[0].pid < c[1].pid ? line[0] : line[1],
		 c[0].pid < c[1].pid ? line[1] : line[0]);
	status_wait(&d, want);

	/* the gone client's events stay in the totals */
	client_kill(&c[0]);
	snprintf(want, sizeof(want),
		 "totals clients=1 quarantined=0 events=%u dropped=0/0/0 omitted=0\n%s",
		 ev[0] + ev[1], line[1]);
	status_wait(&d, want);
	client_kill(&c[1]);
	daemon_stop(&d);
}

Test(status, table_has_a_header_block_and_one_row_per_client, .timeout = 90)
{
	struct daemon d;
	struct client c[2];
	char cmd[2][600], want[1024], env[200], *out, *err, *save = NULL;
	const unsigned ev[2] = { 2 * (PAUSE_A + 1), 3 * (PAUSE_B + 1) };
	const unsigned th[2] = { 2, 3 };
	const char *sess[2] = { "alpha", "beta" };
	const char *argv[] = { cli_path(), "status", NULL };
	const char *lines[16];
	int n = 0, rc;

	daemon_start(&d, NULL);
	two_clients(&d, c, cmd);
	snprintf(want, sizeof(want),
		 "totals clients=2 quarantined=0 events=%u dropped=0/0/0 omitted=0\n", ev[0] + ev[1]);
	for (uint64_t end = now_ms() + WAIT_MS;; nap_ms(20)) {
		char *s = status_summary(&d);
		bool done = strncmp(s, want, strlen(want)) == 0;

		free(s);
		if (done)
			break;
		cr_assert_leq(now_ms(), end, "events not written; log:\n%s", slurp(d.log));
	}
	/* the socket from the environment, as clients find it */
	snprintf(env, sizeof(env), "RINGPROF_SOCKET=%s", d.sock);
	rc = run(d.dir, argv, env, &out, &err);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_str_empty(err);
	for (char *l = strtok_r(out, "\n", &save); l && n < 16; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	cr_assert_eq(n, 8, "output:\n%s", out);
	snprintf(want, sizeof(want), "(pid %d), up ", (int)d.pid);
	cr_assert(strncmp(lines[0], "ringprofd ", 10) == 0 && strstr(lines[0], want) &&
		  strstr(lines[0], d.sock), "%s", lines[0]);
	snprintf(want, sizeof(want), "state dir %s: ", d.state);
	cr_assert(strncmp(lines[1], want, strlen(want)) == 0, "%s", lines[1]);
	cr_assert_str_eq(lines[2], "clients: 2 active, 2 seen, 0 quarantined");
	snprintf(want, sizeof(want), "written: %u events (", ev[0] + ev[1]);
	cr_assert(strncmp(lines[3], want, strlen(want)) == 0, "%s", lines[3]);
	cr_assert_str_eq(lines[4], "dropped: 0 ring full, 0 no ring slot, 0 by the daemon");
	cr_assert_str_eq(lines[5], "  ID      PID SESSION      NAME         STATE         RINGS "
			 "THREADS   EVENTS    EV/S      BYTES   DROPS COMMAND");
	for (int i = 0; i < 2; i++) {
		char prefix[256], suffix[1300];
		const char *row = lines[6 + i];

		/* rows in id order: alpha registered first */
		snprintf(prefix, sizeof(prefix), "%4d %8d %-12s %-12s %-11s %7s %7u %8u ", i + 1,
			 (int)c[i].pid, sess[i], "e2e_client", "active",
			 i == 0 ? "2/64" : "3/64", th[i], ev[i]);
		snprintf(suffix, sizeof(suffix), "       0 %s", cmd[i]);
		cr_assert(strncmp(row, prefix, strlen(prefix)) == 0, "row\n%s\nexpected to start\n%s",
			  row, prefix);
		cr_assert(strlen(row) > strlen(suffix) &&
			  strcmp(row + strlen(row) - strlen(suffix), suffix) == 0,
			  "row\n%s\nexpected to end\n%s", row, suffix);
		/* the bytes column in human units */
		cr_assert(strstr(row + strlen(prefix), " KiB ") || strstr(row + strlen(prefix), " B "),
			  "%s", row);
	}
	free(out);
	free(err);
	client_kill(&c[0]);
	client_kill(&c[1]);
	daemon_stop(&d);
}

Test(status, a_quarantined_client_shows_its_reason_while_it_lives, .timeout = 60)
{
	struct daemon d;
	int ready[2];
	pid_t pid;
	char want[1024], r, *out, *save = NULL;
	bool seen = false;

	daemon_start(&d, NULL);
	cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		hostile_client(d.sock, ready[1]);
	}
	close(ready[1]);
	cr_assert_eq(read(ready[0], &r, 1), 1, "the hostile client failed to register");
	close(ready[0]);
	snprintf(want, sizeof(want),
		 "totals clients=0 quarantined=1 events=0 dropped=0/0/0 omitted=0\n"
		 "client pid=%d name=hostile session=quarantine state=quarantined "
		 "reason=3 bytes sent after the hello threads=0 rings_in_use=0 events=0 "
		 "dropped=0/0/0 command=hostile --say \"hi\"\n", (int)pid);
	status_wait(&d, want);

	out = status_run(&d, false);
	cr_assert(strstr(out, "clients: 0 active, 1 seen, 1 quarantined\n"), "%s", out);
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char prefix[128];

		snprintf(prefix, sizeof(prefix), "%4d %8d %-12s %-12s %-11s %7s %7u %8u ", 1,
			 (int)pid, "quarantine", "hostile", "quarantined", "0/2", 0, 0);
		if (strncmp(l, prefix, strlen(prefix)) != 0)
			continue;
		const char *cmd = " hostile --say \"hi\"";

		cr_assert(strlen(l) > strlen(cmd) && strcmp(l + strlen(l) - strlen(cmd), cmd) == 0,
			  "%s", l);
		l = strtok_r(NULL, "\n", &save);
		cr_assert_not_null(l);
		cr_assert_str_eq(l, "     reason: 3 bytes sent after the hello");
		seen = true;
	}
	cr_assert(seen, "no row for the quarantined client");
	free(out);

	/* forgotten once its process has exited */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	status_wait(&d, "totals clients=0 quarantined=1 events=0 dropped=0/0/0 omitted=0\n");
	daemon_stop(&d);
}

Test(status, no_daemon_is_a_clear_error, .timeout = 30)
{
	char dir[] = "/tmp/ringprof-status-XXXXXX", sock[128], want[256], *out, *err;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *argv[] = { cli_path(), "status", "--socket", sock, NULL };
	int fd, rc;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/none.sock", dir);
	rc = run(dir, argv, NULL, &out, &err);
	snprintf(want, sizeof(want), "ringprof: status: cannot connect to %s: "
		 "No such file or directory\n", sock);
	cr_assert_eq(rc, 1);
	cr_assert_str_empty(out);
	cr_assert_str_eq(err, want);
	free(out);
	free(err);

	/* a socket file nobody listens on */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(addr.sun_path, sock);
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	rc = run(dir, argv, NULL, &out, &err);
	snprintf(want, sizeof(want), "ringprof: status: cannot connect to %s: "
		 "Connection refused\n", sock);
	cr_assert_eq(rc, 1);
	cr_assert_str_empty(out);
	cr_assert_str_eq(err, want);
	free(out);
	free(err);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

Test(status, a_peer_outside_allow_users_is_refused_with_the_reason, .timeout = 30)
{
	/* a uid that is not ours */
	const char *other = getuid() == 0 ? "65534" : "0";
	const char *extra[] = { "--allow-users", other, NULL };
	struct passwd *pw = getpwuid(getuid());
	struct daemon d;
	char want[256], who[64], *out, *err;
	const char *argv[] = { cli_path(), "status", "--socket", d.sock, "--json", NULL };
	int rc;

	if (pw != NULL)
		snprintf(who, sizeof(who), "uid %u (%.24s)", (unsigned)getuid(), pw->pw_name);
	else
		snprintf(who, sizeof(who), "uid %u", (unsigned)getuid());
	daemon_start(&d, extra);
	rc = run(d.dir, argv, NULL, &out, &err);
	snprintf(want, sizeof(want), "ringprof: status: refused by the daemon: "
		 "%s is not in allow-users\n", who);
	cr_assert_eq(rc, 1);
	cr_assert_str_empty(out);
	cr_assert_str_eq(err, want);
	free(out);
	free(err);
	/* one log line names the peer and the reason */
	out = slurp(d.log);
	{
		char *l = strstr(out, "ringprofd: status request of pid ");
		char line[256];
		int pid = 0;

		cr_assert_not_null(l, "%s", out);
		cr_assert_eq(sscanf(l, "ringprofd: status request of pid %d", &pid), 1);
		snprintf(line, sizeof(line), "ringprofd: status request of pid %d refused: "
			 "%s is not in allow-users\n", pid, who);
		cr_assert(strncmp(l, line, strlen(line)) == 0, "%s", out);
	}
	free(out);
	daemon_stop(&d);
}

Test(status, malformed_requests_are_answered_and_recording_goes_on, .timeout = 90)
{
	static const char *const rec[] = { "--threads", "1", "--forever", "--pace-ms", "20", NULL };
	struct rp_status_request q;
	struct daemon d;
	struct client c;
	char want[512], line[128], *s;
	unsigned long long committed = 0, before, after;
	int fd, status;

	daemon_start(&d, NULL);
	c = client_spawn(&d, "steady", rec);
	/* the daemon learns of the thread at its first drain after the claim */
	for (uint64_t end = now_ms() + WAIT_MS;; usleep(10000)) {
		int n;

		s = status_summary(&d);
		n = sscanf(strstr(s, "\nclient"), "\nclient pid=%*d name=e2e_client session=steady "
			   "state=active reason=None threads=1 rings_in_use=1 events=%llu", &before);
		if (n == 1)
			break;
		cr_assert_leq(now_ms(), end, "%s", s);
		free(s);
	}
	free(s);

	/* cut off inside the 8-byte prefix: closed like any short hello */
	fd = sock_connect(d.sock);
	request_init(&q);
	peer_send(fd, &q, 5, -1);
	close(fd);

	/* cut off after the prefix */
	fd = sock_connect(d.sock);
	peer_send(fd, &q, 11, -1);
	shutdown(fd, SHUT_WR);
	reply_expect(fd, -EPROTO, "status request cut off after 11 of 16 bytes");
	close(fd);

	/* an unknown version */
	fd = sock_connect(d.sock);
	q.version = 99;
	peer_send(fd, &q, sizeof(q), -1);
	reply_expect(fd, -EPROTONOSUPPORT,
		     "unsupported protocol version 99 (this daemon speaks version 1)");
	close(fd);

	/* too small */
	fd = sock_connect(d.sock);
	request_init(&q);
	q.size = 8;
	peer_send(fd, &q, sizeof(q), -1);
	reply_expect(fd, -EPROTO, "status request size 8, expected 16");
	close(fd);

	/* flags no version defines */
	fd = sock_connect(d.sock);
	request_init(&q);
	q.flags = 1;
	peer_send(fd, &q, sizeof(q), -1);
	reply_expect(fd, -EINVAL, "unknown status request flags 0x1");
	close(fd);

	/* a file descriptor attached */
	fd = sock_connect(d.sock);
	request_init(&q);
	peer_send(fd, &q, sizeof(q), STDIN_FILENO);
	reply_expect(fd, -EINVAL, "a status request carries no file descriptors");
	close(fd);

	/* a peer that stalls is answered at the handshake deadline */
	fd = sock_connect(d.sock);
	peer_send(fd, &q, 8, -1);
	reply_expect(fd, -ETIMEDOUT, "status request not completed within 2000 ms");
	close(fd);

	/* the daemon still runs and the client still records */
	cr_assert_eq(waitpid(d.pid, &status, WNOHANG), 0, "ringprofd died:\n%s", slurp(d.log));
	for (uint64_t end = now_ms() + WAIT_MS;; nap_ms(20)) {
		s = status_summary(&d);
		cr_assert_eq(sscanf(strstr(s, "\nclient"), "\nclient pid=%*d name=e2e_client "
				    "session=steady state=active reason=None threads=1 "
				    "rings_in_use=1 events=%llu", &after), 1, "%s", s);
		free(s);
		if (after > before)
			break;
		cr_assert_leq(now_ms(), end, "no events written since the malformed requests");
	}

	/* and everything it committed is written */
	kill(c.pid, SIGUSR1);
	while (fgets(line, sizeof(line), c.out))
		sscanf(line, "thread 0 committed %llu", &committed);
	cr_assert_eq(waitpid(c.pid, &status, 0), c.pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fclose(c.out);
	cr_assert_gt(committed, 0);
	snprintf(want, sizeof(want),
		 "totals clients=0 quarantined=0 events=%llu dropped=0/0/0 omitted=0\n",
		 committed + 1);
	status_wait(&d, want);
	daemon_stop(&d);
}

Test(status, an_oversized_request_is_refused, .timeout = 30)
{
	struct rp_status_request q;
	struct daemon d;
	char *s;
	int fd;

	daemon_start(&d, NULL);
	fd = sock_connect(d.sock);
	request_init(&q);
	q.size = 4096;
	peer_send(fd, &q, sizeof(q), -1);
	reply_expect(fd, -EMSGSIZE, "status request of 4096 bytes exceeds 16");
	close(fd);
	/* and the next one is answered */
	s = status_summary(&d);
	cr_assert_str_eq(s, "totals clients=0 quarantined=0 events=0 dropped=0/0/0 omitted=0\n");
	free(s);
	daemon_stop(&d);
}

Test(status, usage_and_help, .timeout = 30)
{
	char dir[] = "/tmp/ringprof-status-XXXXXX", *out, *err;
	const char *help[] = { cli_path(), "status", "--help", NULL };
	const char *bad[] = { cli_path(), "status", "--bogus", NULL };
	const char *noarg[] = { cli_path(), "status", "--socket", NULL };
	const char *extra[] = { cli_path(), "status", "somewhere", NULL };

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(run(dir, help, NULL, &out, &err), 0);
	cr_assert(strncmp(out, "usage: ringprof status [--socket PATH] [--json]\n", 48) == 0,
		  "%s", out);
	cr_assert_str_empty(err);
	free(out);
	free(err);
	cr_assert_eq(run(dir, bad, NULL, &out, &err), 2);
	cr_assert_str_empty(out);
	cr_assert(strncmp(err, "ringprof status: unknown option '--bogus'\nusage:", 48) == 0,
		  "%s", err);
	free(out);
	free(err);
	cr_assert_eq(run(dir, noarg, NULL, &out, &err), 2);
	cr_assert(strncmp(err, "ringprof status: --socket needs a PATH\n", 39) == 0, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(run(dir, extra, NULL, &out, &err), 2);
	cr_assert(strncmp(err, "ringprof status: unexpected argument 'somewhere'\n", 48) == 0,
		  "%s", err);
	free(out);
	free(err);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
