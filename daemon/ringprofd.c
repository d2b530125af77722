/*
 * ringprofd.c - main: start-up, readiness, status, reload, shutdown.
 *
 * ringprofd drains the shared-memory rings of registered client processes
 * into segment files under --state-dir.  It always runs in the foreground
 * (systemd Type=notify: READY=1, STOPPING=1, WATCHDOG=1 when WatchdogSec is
 * set, socket activation when a socket is passed); -f is accepted for
 * symmetry with other daemons.  Options come from conf.c; SIGHUP re-reads
 * them and rotates every segment.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>
#include <systemd/sd-daemon.h>

#include "ringprofd.h"

#define RPD_RING_ENTRIES        256u
/* Interval of STATUS= lines to systemd; ns. */
#define RPD_STATUS_NS           RPD_NSEC_PER_SEC

struct rpd rpd = {
	.listen_fd = -1,
	.signal_fd = -1,
	.state_fd = -1,
};

/* Read a small text file into buf (NUL-padded, trailing newline cut). */
static void ringprofd_read_id(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	memset(buf, 0, size);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0) {
		memset(buf, 0, size);
		return;
	}
	buf[strcspn(buf, "\n")] = '\0';
}

static void ringprofd_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal(1, "sigprocmask: %s", strerror(errno));
	rpd.signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (rpd.signal_fd < 0)
		fatal(1, "signalfd: %s", strerror(errno));
}

static void ringprofd_state_dir(void)
{
	if (mkdir(rpd.conf.state_dir, 0750) < 0 && errno != EEXIST)
		fatal(1, "mkdir %s: %s", rpd.conf.state_dir, strerror(errno));
	rpd.state_fd = open(rpd.conf.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rpd.state_fd < 0)
		fatal(1, "open %s: %s", rpd.conf.state_dir, strerror(errno));
}

/* systemd watchdog interval in ns; 0 = none. */
static uint64_t ringprofd_watchdog_ns;
static uint64_t ringprofd_watchdog_last;
/* STATUS= lines: only under a service manager that listens */
static bool ringprofd_notify;
static uint64_t ringprofd_status_last;    /* CLOCK_MONOTONIC ns */
static uint64_t ringprofd_status_events;  /* rpd.events_drained then */

/* Events dropped so far by the threads of the connected clients, in their
 * rings (full) and by the daemon. */
static uint64_t ringprofd_dropped(void)
{
	const struct client *c;
	uint64_t n = 0;

	LIST_FOREACH(c, &rpd.clients, entry) {
		if (c->state != CLIENT_ACTIVE || c->slots == NULL)
			continue;
		for (uint32_t i = 0; i < c->geo.ring_count; i++) {
			const struct ring_slot *rs = &c->slots[i];

			if (rs->active)
				n += rs->dropped_seen - rs->dropped_base + rs->daemon_dropped;
		}
	}
	return n;
}

/* "3 clients, 1.2M events/s, 0 dropped" to systemd. */
static void ringprofd_status(uint64_t now)
{
	uint64_t events = rpd.events_drained - ringprofd_status_events;
	double rate = (double)events * (double)RPD_NSEC_PER_SEC /
		      (double)(now - ringprofd_status_last);
	char text[32];

	if (rate >= 1e6)
		snprintf(text, sizeof(text), "%.1fM", rate / 1e6);
	else if (rate >= 1e3)
		snprintf(text, sizeof(text), "%.1fk", rate / 1e3);
	else
		snprintf(text, sizeof(text), "%.0f", rate);
	sd_notifyf(0, "STATUS=%u client%s, %s events/s, %llu dropped", rpd.nclients,
		   rpd.nclients == 1 ? "" : "s", text, (unsigned long long)ringprofd_dropped());
	ringprofd_status_last = now;
	ringprofd_status_events = rpd.events_drained;
}

void ringprofd_tick(uint64_t now)
{
	/* ping at half the interval, so one late tick does not kill us */
	if (ringprofd_watchdog_ns != 0 && now - ringprofd_watchdog_last >= ringprofd_watchdog_ns / 2) {
		sd_notify(0, "WATCHDOG=1");
		ringprofd_watchdog_last = now;
	}
	if (ringprofd_notify && now - ringprofd_status_last >= RPD_STATUS_NS)
		ringprofd_status(now);
	retain_tick(now);
}

void ringprofd_reload(void)
{
	log_info("SIGHUP: reloading the configuration and rotating every segment");
	conf_reload();
	client_rotate_all();
}

void ringprofd_stop(void)
{
	if (rpd.stopping)
		return;
	rpd.stopping = true;
	sd_notify(0, "STOPPING=1");
	listen_close();
	client_shutdown_all();
}

int main(int argc, char **argv)
{
	int ret;

	conf_init(argc, argv);
	log_init(rpd.conf.log_level);
	LIST_INIT(&rpd.clients);
	LIST_INIT(&rpd.segs);
	umask(0027);

	ret = loop_open(RPD_RING_ENTRIES);
	if (ret < 0)
		fatal(1, "io_uring unavailable: %s", strerror(-ret));
	ringprofd_signals();
	ringprofd_state_dir();
	ringprofd_read_id("/proc/sys/kernel/random/boot_id", rpd.boot_id, sizeof(rpd.boot_id));
	if (gethostname(rpd.host, sizeof(rpd.host) - 1) < 0)
		rpd.host[0] = '\0';
	clock_init();
	if ((ret = seg_init(rpd.conf.zstd_level)) < 0)
		fatal(1, "zstd: %s", strerror(-ret));
	if (access_init() < 0)
		exit(1);
	if (listen_open(rpd.conf.socket_path) < 0)
		exit(1);
	retain_run(clock_mono_ns());
	status_init();

	listen_arm();
	loop_arm_tick();
	loop_arm_signal();
	log_info("segments in %s", rpd.conf.state_dir);
	{
		uint64_t usec;

		if (sd_watchdog_enabled(1, &usec) > 0)
			ringprofd_watchdog_ns = usec * 1000;
	}
	ringprofd_notify = getenv("NOTIFY_SOCKET") != NULL;
	ringprofd_status_last = clock_mono_ns();
	sd_notify(0, "READY=1\nSTATUS=0 clients, 0 events/s, 0 dropped");

	ret = loop_run();
	if (ret < 0)
		log_error("io_uring: %s", strerror(-ret));
	else
		log_info("stopped");
	seg_fini();
	status_fini();
	loop_close();
	close(rpd.signal_fd);
	close(rpd.state_fd);
	retain_fini();
	conf_fini();
	return ret < 0 ? 1 : 0;
}
