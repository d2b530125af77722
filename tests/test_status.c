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

#include "harness.h"

/* encoders flush within 20 ms: drained events are soon written */
static const char *const flush[] = { "--flush-ms", "20", NULL };

/* The built `ringprof`, in a buffer of its own: argument lists made at the
 * top of a test hold it across later build_path() calls. */
static const char *cli_path(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s", build_path("tools/cli/ringprof"));
	return path;
}

/* `ringprof status --socket SOCK [--json]`, expected to succeed. */
static char *status_run(const struct daemon *d, bool json)
{
	const char *argv[] = { cli_path(), "status", "--socket", d->sock,
			       json ? "--json" : NULL, NULL };
	char *out, *err;
	int status = run(argv, NULL, &out, &err);

	cr_assert(exited_with(status, 0), "ringprof status ended with 0x%x: %s", status, err);
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
	int status;

	snprintf(script, sizeof(script), "%s/tests/status_check.py", RINGPROF_SOURCE_DIR);
	snprintf(path, sizeof(path), "%s/status.json", d->dir);
	write_text(path, json);
	status = run(sh, NULL, &out, &err);
	cr_assert(exited_with(status, 0), "status_check.py: %s\ndocument:\n%s", err, json);
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
			cr_assert_str_eq(got, want, "daemon log:\n%s", slurp_text(d->log));
		free(got);
		nap_ms(20);
	}
	free(got);
}

/* Whether got is want, or only starts with it when prefix ("" is always
 * exact). */
static bool text_is(const char *got, const char *want, bool prefix)
{
	if (prefix && want[0] != '\0')
		return strncmp(got, want, strlen(want)) == 0;
	return strcmp(got, want) == 0;
}

/* Run argv, expecting exit code and stdout and stderr exactly out and err,
 * or starting with them when prefix. */
static void cli_expect(const char *const *argv, int code, const char *out, const char *err,
		       bool prefix)
{
	char *o, *e;
	int status = run(argv, NULL, &o, &e);

	cr_assert(exited_with(status, code), "%s %s: status 0x%x, expected exit %d: %s", argv[1],
		  argv[2] ? argv[2] : "", status, code, e);
	cr_assert(text_is(o, out, prefix), "stdout:\n%s\nexpected%s:\n%s", o,
		  prefix ? " to start" : "", out);
	cr_assert(text_is(e, err, prefix), "stderr:\n%s\nexpected%s:\n%s", e,
		  prefix ? " to start" : "", err);
	free(o);
	free(e);
}

/* ---- real clients ---- */

struct client {
	pid_t pid;
	FILE *out;
};

/* e2e_client with args, recording for session; waits for its first line
 * ("paused" or "running"). */
static struct client status_client_spawn(const struct daemon *d, const char *session,
					 const char *const *args)
{
	struct client c;
	char line[64];

	c.pid = client_spawn(d->sock, session, args, NULL, &c.out);
	cr_assert_not_null(fgets(line, sizeof(line), c.out), "e2e_client said nothing; log:\n%s",
			   slurp_text(d->log));
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

/* Control buffer for one descriptor. */
union msg_fd {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int))];
};

/* Attach fd to msg (SCM_RIGHTS) through u. */
static void msg_attach(struct msghdr *msg, union msg_fd *u, int fd)
{
	struct cmsghdr *cm;

	memset(u, 0, sizeof(*u));
	msg->msg_control = u->buf;
	msg->msg_controllen = sizeof(u->buf);
	cm = CMSG_FIRSTHDR(msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
}

/* Send n bytes of buf as a status peer, optionally with an fd attached. */
static void peer_send(int fd, const void *buf, size_t n, int attach)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = n };
	union msg_fd u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (attach >= 0)
		msg_attach(&msg, &u, attach);
	cr_assert_eq(sendmsg(fd, &msg, MSG_NOSIGNAL), (ssize_t)n);
}

/* One malformed status request and the reply it must get. */
struct request_case {
	uint16_t version, size;   /* 0: as request_init() sets them */
	uint32_t flags;
	size_t send;              /* bytes sent; 0: all 16 */
	bool shut;                /* shut the writing side after sending */
	int attach;               /* a descriptor attached, or -1 */
	int status;
	const char *reason;
};

/* Send the request of c on a new connection and expect its reply. */
static void request_expect(const struct daemon *d, const struct request_case *c)
{
	struct rp_status_request q;
	int fd = sock_connect(d->sock);

	cr_assert_geq(fd, 0);
	request_init(&q);
	if (c->version != 0)
		q.version = c->version;
	if (c->size != 0)
		q.size = c->size;
	q.flags = c->flags;
	peer_send(fd, &q, c->send ? c->send : sizeof(q), c->attach);
	if (c->shut)
		shutdown(fd, SHUT_WR);
	reply_expect(fd, c->status, c->reason);
	close(fd);
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
	union msg_fd u;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
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
	msg_attach(&msg, &u, memfd);
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

	c[0] = status_client_spawn(d, "alpha", a);
	c[1] = status_client_spawn(d, "beta", b);
	snprintf(cmd[0], 600, "%s --threads 2 --pause-at 1000", build_path("tests/e2e_client"));
	snprintf(cmd[1], 600, "%s --threads 3 --pause-at 500", build_path("tests/e2e_client"));
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

	daemon_start(&d, flush);
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

	daemon_start(&d, flush);
	two_clients(&d, c, cmd);
	snprintf(want, sizeof(want),
		 "totals clients=2 quarantined=0 events=%u dropped=0/0/0 omitted=0\n", ev[0] + ev[1]);
	for (uint64_t end = now_ms() + WAIT_MS;; nap_ms(20)) {
		char *s = status_summary(&d);
		bool done = strncmp(s, want, strlen(want)) == 0;

		free(s);
		if (done)
			break;
		cr_assert_leq(now_ms(), end, "events not written; log:\n%s", slurp_text(d.log));
	}
	/* the socket from the environment, as clients find it */
	snprintf(env, sizeof(env), "RINGPROF_SOCKET=%s", d.sock);
	rc = run(argv, (const char *[]){ env, NULL }, &out, &err);
	cr_assert(exited_with(rc, 0), "%s", err);
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

	daemon_start(&d, flush);
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
	char dir[64], sock[128], want[256];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *argv[] = { cli_path(), "status", "--socket", sock, NULL };
	int fd;

	tmpdir_make(dir);
	snprintf(sock, sizeof(sock), "%s/none.sock", dir);
	snprintf(want, sizeof(want), "ringprof: status: cannot connect to %s: "
		 "No such file or directory\n", sock);
	cli_expect(argv, 1, "", want, false);

	/* a socket file nobody listens on */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(addr.sun_path, sock);
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	snprintf(want, sizeof(want), "ringprof: status: cannot connect to %s: "
		 "Connection refused\n", sock);
	cli_expect(argv, 1, "", want, false);
	rm_rf(dir);
}

Test(status, a_peer_outside_allow_users_is_refused_with_the_reason, .timeout = 30)
{
	/* a uid that is not ours */
	const char *other = getuid() == 0 ? "65534" : "0";
	const char *extra[] = { "--flush-ms", "20", "--allow-users", other, NULL };
	struct passwd *pw = getpwuid(getuid());
	struct daemon d;
	char want[256], who[64], *out;
	const char *argv[] = { cli_path(), "status", "--socket", d.sock, "--json", NULL };

	if (pw != NULL)
		snprintf(who, sizeof(who), "uid %u (%.24s)", (unsigned)getuid(), pw->pw_name);
	else
		snprintf(who, sizeof(who), "uid %u", (unsigned)getuid());
	daemon_start(&d, extra);
	snprintf(want, sizeof(want), "ringprof: status: refused by the daemon: "
		 "%s is not in allow-users\n", who);
	cli_expect(argv, 1, "", want, false);
	/* one log line names the peer and the reason */
	out = slurp_text(d.log);
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

/* Events of the one client of session steady in the summary; false while
 * the daemon does not list its thread. */
static bool steady_events(const struct daemon *d, unsigned long long *events)
{
	char *s = status_summary(d), *c = strstr(s, "\nclient");
	bool listed = c != NULL &&
		      sscanf(c, "\nclient pid=%*d name=e2e_client session=steady state=active "
			     "reason=None threads=1 rings_in_use=1 events=%llu", events) == 1;

	free(s);
	return listed;
}

Test(status, malformed_requests_are_answered_and_recording_goes_on, .timeout = 90)
{
	static const char *const rec[] = { "--threads", "1", "--forever", "--pace-ms", "20", NULL };
	static const struct request_case malformed[] = {
		/* cut off after the prefix */
		{ .send = 11, .shut = true, .attach = -1, .status = -EPROTO,
		  .reason = "status request cut off after 11 of 16 bytes" },
		{ .version = 99, .attach = -1, .status = -EPROTONOSUPPORT,
		  .reason = "unsupported protocol version 99 (this daemon speaks version 1)" },
		{ .size = 8, .attach = -1, .status = -EPROTO,
		  .reason = "status request size 8, expected 16" },
		/* flags no version defines */
		{ .flags = 1, .attach = -1, .status = -EINVAL,
		  .reason = "unknown status request flags 0x1" },
		{ .attach = STDIN_FILENO, .status = -EINVAL,
		  .reason = "a status request carries no file descriptors" },
		/* a peer that stalls is answered at the handshake deadline */
		{ .send = 8, .attach = -1, .status = -ETIMEDOUT,
		  .reason = "status request not completed within 2000 ms" },
	};
	struct rp_status_request q;
	struct daemon d;
	struct client c;
	char want[512], line[128];
	unsigned long long committed = 0, before, after;
	int fd, status;

	daemon_start(&d, flush);
	c = status_client_spawn(&d, "steady", rec);
	/* the daemon learns of the thread at its first drain after the claim */
	for (uint64_t end = now_ms() + WAIT_MS; !steady_events(&d, &before); nap_ms(10))
		cr_assert_leq(now_ms(), end, "the client's thread is not listed; log:\n%s",
			      slurp_text(d.log));

	/* cut off inside the 8-byte prefix: closed like any short hello */
	fd = sock_connect(d.sock);
	request_init(&q);
	peer_send(fd, &q, 5, -1);
	close(fd);

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		request_expect(&d, &malformed[i]);

	/* the daemon still runs and the client still records */
	cr_assert_eq(waitpid(d.pid, &status, WNOHANG), 0, "ringprofd died:\n%s", slurp_text(d.log));
	for (uint64_t end = now_ms() + WAIT_MS;; nap_ms(20)) {
		cr_assert(steady_events(&d, &after), "the client is no longer listed");
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
	static const struct request_case big = {
		.size = 4096, .attach = -1, .status = -EMSGSIZE,
		.reason = "status request of 4096 bytes exceeds 16",
	};
	struct daemon d;
	char *s;

	daemon_start(&d, flush);
	request_expect(&d, &big);
	/* and the next one is answered */
	s = status_summary(&d);
	cr_assert_str_eq(s, "totals clients=0 quarantined=0 events=0 dropped=0/0/0 omitted=0\n");
	free(s);
	daemon_stop(&d);
}

Test(status, usage_and_help, .timeout = 30)
{
	static const struct {
		const char *arg;
		int code;
		const char *out, *err;    /* the start of each ("": empty) */
	} cases[] = {
		{ "--help", 0, "usage: ringprof status [--socket PATH] [--json]\n", "" },
		{ "--bogus", 2, "", "ringprof status: unknown option '--bogus'\nusage:" },
		{ "--socket", 2, "", "ringprof status: --socket needs a PATH\n" },
		{ "somewhere", 2, "", "ringprof status: unexpected argument 'somewhere'\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = { cli_path(), "status", cases[i].arg, NULL };

		cli_expect(argv, cases[i].code, cases[i].out, cases[i].err, true);
	}
}
