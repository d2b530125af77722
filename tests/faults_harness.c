/*
 * faults_harness.c - processes, files and read-back for test_faults.c (see
 * faults_harness.h).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ringprof/reader.h>

#include "faults_harness.h"

extern char **environ;

struct ft_env ft;

static const char *ft_build_dir(void)
{
	const char *b = getenv("RINGPROF_BUILD_DIR");

	return b ? b : RINGPROF_BUILD_DIR;
}

int64_t ft_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ft_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static bool ft_socket_is_up(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up;

	memcpy(sa.sun_path, path, strlen(path) + 1);
	up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return up;
}

void ft_dump_log(void)
{
	char line[512];
	FILE *f = fopen(ft.log, "r");

	if (!f)
		return;
	fprintf(stderr, "---- ringprofd log ----\n");
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

void ft_setup(void)
{
	memset(&ft, 0, sizeof(ft));
	strcpy(ft.dir, "/tmp/ringprof-faults.XXXXXX");
	cr_assert_not_null(mkdtemp(ft.dir));
	snprintf(ft.sock, sizeof(ft.sock), "%s/rp.sock", ft.dir);
	snprintf(ft.state, sizeof(ft.state), "%s/state", ft.dir);
	snprintf(ft.log, sizeof(ft.log), "%s/ringprofd.log", ft.dir);
}

void ft_teardown(void)
{
	char cmd[256];

	if (ft.daemon > 0) {
		kill(ft.daemon, SIGKILL);
		waitpid(ft.daemon, NULL, 0);
	}
	if (ft.dir[0] && !getenv("RINGPROF_TEST_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ft.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", ft.dir);
	}
	memset(&ft, 0, sizeof(ft));
}

void ft_daemon_start(const char *const *extra)
{
	char bin[512];
	char *argv[24];
	int n = 0;
	posix_spawn_file_actions_t fa;
	int64_t deadline;

	snprintf(bin, sizeof(bin), "%s/daemon/ringprofd", ft_build_dir());
	argv[n++] = bin;
	argv[n++] = "--socket";
	argv[n++] = ft.sock;
	argv[n++] = "--state-dir";
	argv[n++] = ft.state;
	argv[n++] = "--log-level";
	argv[n++] = "info";
	for (; extra && *extra && n < 23; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, ft.log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	cr_assert_eq(posix_spawn(&ft.daemon, bin, &fa, NULL, argv, environ), 0,
		     "cannot start %s", bin);
	posix_spawn_file_actions_destroy(&fa);
	ft.starts++;

	deadline = ft_now_ms() + 10000;
	while (!ft_socket_is_up(ft.sock)) {
		int st;

		if (waitpid(ft.daemon, &st, WNOHANG) == ft.daemon) {
			ft.daemon = 0;
			ft_dump_log();
			cr_assert_fail("ringprofd exited during start-up (status 0x%x)", st);
		}
		if (ft_now_ms() > deadline) {
			ft_dump_log();
			cr_assert_fail("ringprofd did not listen on %s within 10 s", ft.sock);
		}
		ft_sleep_ms(5);
	}
}

void ft_daemon_kill(void)
{
	int st;

	cr_assert_gt(ft.daemon, 0);
	cr_assert_eq(kill(ft.daemon, SIGKILL), 0);
	cr_assert_eq(waitpid(ft.daemon, &st, 0), ft.daemon);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "ringprofd status 0x%x", st);
	ft.daemon = 0;
}

int ft_daemon_stop(void)
{
	int st;
	int64_t deadline = ft_now_ms() + 60000;

	kill(ft.daemon, SIGTERM);
	while (waitpid(ft.daemon, &st, WNOHANG) != ft.daemon) {
		if (ft_now_ms() > deadline) {
			kill(ft.daemon, SIGKILL);
			waitpid(ft.daemon, &st, 0);
			ft.daemon = 0;
			ft_dump_log();
			cr_assert_fail("ringprofd did not exit within 60 s of SIGTERM");
		}
		ft_sleep_ms(10);
	}
	ft.daemon = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct ft_counts *ft_counts_map(const char *name)
{
	char path[256];
	struct ft_counts *m;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", ft.dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	m = mmap(NULL, sizeof(*m), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(m, MAP_FAILED, "mmap %s", path);
	return m;
}

struct ft_client ft_client_spawn(const char *session, const char *const *args,
				 const char *counts_name, const char *const *extra_env)
{
	char bin[512], sockenv[200], sessenv[100];
	char *argv[24];
	char *envp[10];
	int pipefd[2], n = 0, fd;
	posix_spawn_file_actions_t fa;
	struct ft_client c;

	memset(&c, 0, sizeof(c));
	snprintf(bin, sizeof(bin), "%s/tests/e2e_client", ft_build_dir());
	argv[n++] = bin;
	for (; *args && n < 20; args++)
		argv[n++] = (char *)*args;
	if (counts_name) {
		snprintf(c.counts_path, sizeof(c.counts_path), "%s/%s", ft.dir, counts_name);
		/* created here so that it can be mapped before the client runs */
		fd = open(c.counts_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		cr_assert_geq(fd, 0);
		cr_assert_eq(ftruncate(fd, sizeof(struct ft_counts)), 0);
		close(fd);
		argv[n++] = "--counts";
		argv[n++] = c.counts_path;
	}
	argv[n] = NULL;
	snprintf(sockenv, sizeof(sockenv), "RINGPROF_SOCKET=%s", ft.sock);
	snprintf(sessenv, sizeof(sessenv), "RINGPROF_SESSION=%s", session);
	n = 0;
	envp[n++] = sockenv;
	envp[n++] = sessenv;
	envp[n++] = "RINGPROF_CLOCK=monotonic";
	if (getenv("ASAN_OPTIONS"))
		envp[n++] = "ASAN_OPTIONS=detect_leaks=0";
	for (; extra_env && *extra_env && n < 9; extra_env++)
		envp[n++] = (char *)*extra_env;
	envp[n] = NULL;

	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	cr_assert_eq(posix_spawn(&c.pid, bin, &fa, NULL, argv, envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	c.out = fdopen(pipefd[0], "r");
	cr_assert_not_null(c.out);
	if (counts_name)
		c.counts = ft_counts_map(counts_name);
	return c;
}

void ft_client_expect_line(struct ft_client *c, const char *want)
{
	char line[256];

	cr_assert_not_null(fgets(line, sizeof(line), c->out),
			   "client %d closed its output before \"%s\"", c->pid, want);
	line[strcspn(line, "\n")] = 0;
	cr_assert_str_eq(line, want);
}

int ft_client_finish(struct ft_client *c, uint64_t *committed, uint64_t *again)
{
	char line[256];
	int64_t deadline;
	int st;

	while (fgets(line, sizeof(line), c->out)) {
		unsigned t;
		unsigned long long v;

		if (committed && sscanf(line, "thread %u committed %llu", &t, &v) == 2 &&
		    t < FT_SLOTS)
			committed[t] = v;
		else if (again && sscanf(line, "again thread %u committed %llu", &t, &v) == 2 &&
			 t < FT_SLOTS)
			again[t] = v;
	}
	fclose(c->out);
	c->out = NULL;
	deadline = ft_now_ms() + 60000;
	while (waitpid(c->pid, &st, WNOHANG) != c->pid) {
		if (ft_now_ms() > deadline) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &st, 0);
			cr_assert_fail("client %d did not exit within 60 s", c->pid);
		}
		ft_sleep_ms(5);
	}
	return st;
}

bool ft_daemon_mem(struct ft_mem *m)
{
	char path[64], line[256];
	FILE *f;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/status", (int)ft.daemon);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "VmRSS: %llu kB", &v) == 1)
			m->rss_kb = v;
		else if (sscanf(line, "VmHWM: %llu kB", &v) == 1)
			m->hwm_kb = v;
		else if (sscanf(line, "RssAnon: %llu kB", &v) == 1)
			m->anon_kb = v;
	}
	fclose(f);
	return m->rss_kb != 0;
}

static struct ft_thread *ft_thread_get(struct ft_read *rd, const struct rp_seg_info *seg,
				       const char *cmdline_tail, uint32_t thread)
{
	struct ft_thread *t;

	for (size_t i = rd->n; i-- > 0;) {
		t = &rd->th[i];
		if (t->daemon_pid == seg->daemon_pid && t->client_id == seg->client_id &&
		    t->pid == seg->pid && t->thread == thread)
			return t;
	}
	if (rd->n == rd->cap) {
		rd->cap = rd->cap ? rd->cap * 2 : 64;
		rd->th = realloc(rd->th, rd->cap * sizeof(*rd->th));
		cr_assert_not_null(rd->th);
	}
	t = &rd->th[rd->n++];
	memset(t, 0, sizeof(*t));
	t->daemon_pid = seg->daemon_pid;
	t->client_id = seg->client_id;
	t->pid = seg->pid;
	t->thread = thread;
	t->worker = -1;
	t->values_ok = true;
	t->nest_ok = true;
	snprintf(t->cmdline_tail, sizeof(t->cmdline_tail), "%s", cmdline_tail);
	return t;
}

/* The --nest pattern: event k (name excluded) of a thread. */
static bool ft_nest_is(const struct rp_item *it, uint64_t k, int worker)
{
	static const struct { uint8_t type; const char *kind; } step[5] = {
		{ RP_REC_BEGIN, "Query" }, { RP_REC_BEGIN, "QueryBlocked" },
		{ RP_REC_INTEGER, "E2E" }, { RP_REC_END, "QueryBlocked" }, { RP_REC_END, "Query" },
	};
	char want[64];

	snprintf(want, sizeof(want), "t%d-k%" PRIu64, worker, (k / 5) % 16);
	if (it->event.type != step[k % 5].type || strcmp(it->event.kind, step[k % 5].kind) != 0 ||
	    it->event.arg == NULL || strcmp(it->event.arg, want) != 0)
		return false;
	return it->event.type != RP_REC_INTEGER || it->event.value == k / 5;
}

static void ft_event(struct ft_read *rd, struct ft_thread *t, const struct rp_item *it, bool nest)
{
	char want[64];

	t->records++;
	rd->events++;
	if (it->event.index != t->next_index)
		t->index_gap = true;
	t->next_index = it->event.index + 1;
	if (it->event.type == RP_REC_THREAD_NAME) {
		cr_assert_eq(sscanf(it->event.kind, "worker-%d", &t->worker), 1,
			     "unexpected thread name %s", it->event.kind);
		return;
	}
	if (t->worker < 0)  /* named in an earlier registration: the argument */
		cr_assert_eq(sscanf(it->event.arg ? it->event.arg : "", "t%d-k", &t->worker), 1,
			     "%s: offset %" PRIu64 ": event without worker", it->path, it->offset);
	if (nest && !ft_nest_is(it, t->events, t->worker))
		t->nest_ok = false;
	t->events++;
	if (it->event.type != RP_REC_INTEGER)
		return;
	snprintf(want, sizeof(want), "t%d-k%" PRIu64, t->worker, it->event.value % 16);
	if (strcmp(it->event.kind, "E2E") != 0 || !it->event.arg || strcmp(it->event.arg, want) != 0)
		t->values_ok = false;
	if (t->integers == 0) {
		t->first_value = it->event.value;
	} else if (it->event.value <= t->last_value) {
		t->values_ok = false;
	} else {
		t->missing += it->event.value - t->last_value - 1;
	}
	t->last_value = it->event.value;
	t->integers++;
}

void ft_read_all(struct ft_read *rd, const char *path, unsigned flags, bool nest)
{
	const char *paths[] = { path };
	struct rp_seg_info seg;
	char err[512], tail[32] = "";
	struct rp_reader *r;
	struct rp_item it;
	struct ft_thread *t;
	int ret;

	memset(rd, 0, sizeof(*rd));
	memset(&seg, 0, sizeof(seg));
	r = rp_reader_open(paths, 1, flags, err, sizeof(err));
	cr_assert_not_null(r, "%s", err);
	while ((ret = rp_reader_next(r, &it)) == 1) {
		switch (it.kind) {
		case RP_ITEM_SEGMENT:
			seg = it.segment.info;
			rd->segments++;
			tail[0] = '\0';
			for (uint32_t i = seg.cmdline_len; i-- > 0;) {
				if (i == 0 || it.segment.cmdline[i - 1] == '\0') {
					uint32_t len = seg.cmdline_len - i;

					/* its last 31 bytes: a path's end */
					if (len > sizeof(tail) - 1) {
						i += len - (uint32_t)(sizeof(tail) - 1);
						len = sizeof(tail) - 1;
					}
					snprintf(tail, sizeof(tail), "%.*s", (int)len,
						 it.segment.cmdline + i);
					if (tail[0] != '\0')
						break;
				}
			}
			break;
		case RP_ITEM_FOOTER:
			rd->sealed++;
			break;
		case RP_ITEM_TRUNCATED:
			if (it.truncated.unsealed)
				rd->unsealed++;
			else
				rd->cut++;
			break;
		case RP_ITEM_THREAD:
			t = ft_thread_get(rd, &seg, tail, it.thread.t.thread);
			t->tid = it.thread.t.tid;
			if (it.thread.t.event == RP_THREAD_END)
				t->ended = true;
			break;
		case RP_ITEM_LOSS:
			if (it.loss.thread == 0) {
				rd->no_slot[seg.pid % 64] += it.loss.client_dropped;
				break;
			}
			t = ft_thread_get(rd, &seg, tail, it.loss.thread);
			t->has_loss = true;
			t->loss.written = it.loss.written;
			t->loss.client_dropped = it.loss.client_dropped;
			t->loss.daemon_dropped = it.loss.daemon_dropped;
			break;
		case RP_ITEM_EVENT:
			ft_event(rd, ft_thread_get(rd, &seg, tail, it.event.thread), &it, nest);
			break;
		default:
			break;
		}
	}
	cr_assert_eq(ret, 0, "reading %s: %s", path, rp_reader_error(r));
	rp_reader_close(r);
}

void ft_read_free(struct ft_read *rd)
{
	free(rd->th);
	memset(rd, 0, sizeof(*rd));
}

struct ft_thread *ft_find(struct ft_read *rd, uint32_t pid, uint64_t daemon, int w)
{
	for (size_t i = 0; i < rd->n; i++)
		if (rd->th[i].pid == pid && rd->th[i].worker == w &&
		    (daemon == 0 || rd->th[i].daemon_pid == daemon))
			return &rd->th[i];
	return NULL;
}

int ft_cli(char *out, size_t cap, const char *keep, const char *const *args)
{
	char bin[512], line[4096];
	char *argv[16];
	int pipefd[2], n = 0, st;
	size_t got = 0;
	pid_t pid;
	FILE *f;
	posix_spawn_file_actions_t fa;

	snprintf(bin, sizeof(bin), "%s/tools/cli/ringprof", ft_build_dir());
	argv[n++] = bin;
	for (; *args && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	cr_assert_eq(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0, "cannot run %s", bin);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	cr_assert_not_null(f);
	out[0] = '\0';
	/* every line is read (the command never blocks); kept while they fit */
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		if ((keep == NULL || strstr(line, keep) != NULL) && got + len < cap) {
			memcpy(out + got, line, len + 1);
			got += len;
		}
	}
	fclose(f);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
