/*
 * test_activation.c - socket activation for real: systemd-socket-activate
 * (Debian's systemd package) listens on the socket, a client connects and
 * registers before any ringprofd process exists, and systemd-socket-activate
 * then execs the built ringprofd with the listening socket (LISTEN_FDS).
 * Every event of the client is read back from the segments.
 */
#include <poll.h>

#include "deploy.h"

static const char *activation_tool(void)
{
	static const char *const paths[] = {
		"/usr/bin/systemd-socket-activate",
		"/lib/systemd/systemd-socket-activate",
		"/usr/lib/systemd/systemd-socket-activate",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	cr_assert_fail("systemd-socket-activate not found (Debian package systemd)");
	return NULL;
}

/* The program pid runs now ("/proc/<pid>/exe" target). */
static void activation_exe(pid_t pid, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, buf, size - 1);
	cr_assert_gt(n, 0, "%s: %s", link, strerror(errno));
	buf[n] = '\0';
}

Test(activation, client_connecting_before_the_daemon_is_recorded, .timeout = 120)
{
	const char *args[] = { "--threads", "2", "--events", "5000", NULL };
	struct daemon d;
	char asan[600], ubsan[600], exe[512], real_daemon[512];
	const char *argv[24];
	uint64_t end;
	pid_t pid, client;
	int argc = 0, status;

	daemon_dirs(&d);
	cr_assert_not_null(realpath(build_path("daemon/ringprofd"), real_daemon));
	argv[argc++] = activation_tool();
	argv[argc++] = "-l";
	argv[argc++] = d.sock;
	/* systemd-socket-activate passes on only the variables it is told */
	if (getenv("ASAN_OPTIONS") != NULL) {
		snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s", getenv("ASAN_OPTIONS"));
		argv[argc++] = "-E";
		argv[argc++] = asan;
	}
	if (getenv("UBSAN_OPTIONS") != NULL) {
		snprintf(ubsan, sizeof(ubsan), "UBSAN_OPTIONS=%s", getenv("UBSAN_OPTIONS"));
		argv[argc++] = "-E";
		argv[argc++] = ubsan;
	}
	argv[argc++] = real_daemon;
	argv[argc++] = "--state-dir";
	argv[argc++] = d.state;
	argv[argc++] = "--log-level";
	argv[argc++] = "debug";
	argv[argc] = NULL;

	pid = spawn_logged(argv, d.log, 0);
	d.pid = pid;

	/* the socket listens (systemd-socket-activate says so after listen(2):
	 * the file alone exists from bind(2) on), and no ringprofd runs yet */
	end = now_ms() + WAIT_MS;
	while (access(d.sock, F_OK) != 0 || log_count(&d, "Listening on ") == 0) {
		cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "%s", slurp_text(d.log));
		cr_assert_leq(now_ms(), end, "no socket at %s", d.sock);
		nap();
	}
	activation_exe(pid, exe, sizeof(exe));
	cr_assert_str_neq(exe, real_daemon);
	cr_assert_eq(log_count(&d, "ringprofd:"), 0);

	/* the client's connection starts the daemon, which registers it */
	client = client_spawn(d.sock, "activated", args, NULL, NULL);
	log_wait_n(&d, "ringprofd: listening on the socket passed by systemd", 1);
	activation_exe(pid, exe, sizeof(exe));
	cr_assert_str_eq(exe, real_daemon);
	client_wait_code(client, 0);
	log_wait_n(&d, "gone", 1);
	cr_assert_eq(log_count(&d, "refused"), 0);

	daemon_terminate(&d);
	cr_assert_eq(deploy_count_events(d.state), 10000);
	daemon_cleanup(&d);
}

/* Next datagram of the notify socket, NUL-terminated, within the deadline. */
static void activation_notify_read(int fd, char *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "no message on NOTIFY_SOCKET");
	n = recv(fd, buf, size - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
}

Test(activation, notify_socket_gets_ready_status_and_stopping, .timeout = 120)
{
	const char *forever[] = { "--threads", "1", "--forever", NULL };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct daemon d;
	char path[160], msg[512];
	uint64_t end;
	pid_t client;
	int fd;

	daemon_dirs(&d);
	snprintf(path, sizeof(path), "%s/notify", d.dir);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	daemon_spawn(&d, NULL, 0);
	unsetenv("NOTIFY_SOCKET");

	activation_notify_read(fd, msg, sizeof(msg));
	cr_assert_str_eq(msg, "READY=1\nSTATUS=0 clients, 0 events/s, 0 dropped");

	/* a recording client shows up in a STATUS= line within seconds */
	client = client_spawn(d.sock, "status", forever, NULL, NULL);
	end = now_ms() + WAIT_MS;
	do {
		cr_assert_leq(now_ms(), end, "no STATUS= line with the client");
		activation_notify_read(fd, msg, sizeof(msg));
		cr_assert(strncmp(msg, "STATUS=", 7) == 0, "unexpected message %s", msg);
	} while (strncmp(msg, "STATUS=1 client, ", 17) != 0 || strstr(msg, " 0 events/s") != NULL);
	{
		/* a client recording flat out may fill its ring: drops vary */
		char rate[32], tail[32];
		unsigned long long dropped;

		cr_assert_eq(sscanf(msg, "STATUS=1 client, %31s events/s, %llu %31s", rate,
				    &dropped, tail), 3, "%s", msg);
		cr_assert_str_eq(tail, "dropped");
	}

	kill(client, SIGUSR1);
	client_wait_code(client, 0);
	kill(d.pid, SIGTERM);
	do
		activation_notify_read(fd, msg, sizeof(msg));
	while (strncmp(msg, "STATUS=", 7) == 0);
	cr_assert_str_eq(msg, "STOPPING=1");
	daemon_terminate(&d);
	close(fd);
	daemon_cleanup(&d);
}
