/*
 * ringprofd.c - main: options, start-up, readiness, shutdown.
 *
 * ringprofd drains the shared-memory rings of registered client processes
 * into segment files under --state-dir.  It always runs in the foreground
 * (systemd Type=notify: READY=1, STOPPING=1, WATCHDOG=1 when WatchdogSec is
 * set, socket activation when a socket is passed); -f is accepted for
 * symmetry with other daemons.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#ifndef RINGPROF_VERSION
#define RINGPROF_VERSION "unknown"
#endif

#define RPD_DEFAULT_STATE_DIR   "/var/lib/ringprof"
#define RPD_DEFAULT_MAX_CLIENTS 256u
#define RPD_DEFAULT_MAX_REGION  (1ull << 30)
#define RPD_DEFAULT_MAX_RING    (64u << 20)
#define RPD_DEFAULT_TICK_MS     1u
#define RPD_DEFAULT_FLUSH_MS    1000u
#define RPD_DEFAULT_ROTATE_SIZE (256ull << 20)
#define RPD_DEFAULT_ZSTD_LEVEL  3
#define RPD_RING_ENTRIES        256u

struct rpd rpd = {
	.listen_fd = -1,
	.signal_fd = -1,
	.state_fd = -1,
};

enum {
	OPT_MAX_CLIENTS = 256,
	OPT_MAX_REGION,
	OPT_MAX_RING_BYTES,
	OPT_MAX_RINGS,
	OPT_TICK_MS,
	OPT_FLUSH_MS,
	OPT_ROTATE_SIZE,
	OPT_ROTATE_AGE,
	OPT_ZSTD_LEVEL,
	OPT_LOG_LEVEL,
};

static const struct option ringprofd_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "state-dir", required_argument, NULL, 'd' },
	{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
	{ "max-region", required_argument, NULL, OPT_MAX_REGION },
	{ "max-ring-bytes", required_argument, NULL, OPT_MAX_RING_BYTES },
	{ "max-rings", required_argument, NULL, OPT_MAX_RINGS },
	{ "tick-ms", required_argument, NULL, OPT_TICK_MS },
	{ "flush-ms", required_argument, NULL, OPT_FLUSH_MS },
	{ "rotate-size", required_argument, NULL, OPT_ROTATE_SIZE },
	{ "rotate-age", required_argument, NULL, OPT_ROTATE_AGE },
	{ "zstd-level", required_argument, NULL, OPT_ZSTD_LEVEL },
	{ "foreground", no_argument, NULL, 'f' },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void ringprofd_usage(FILE *out)
{
	fprintf(out,
		"Usage: ringprofd [OPTION]...\n"
		"Drain the event rings of ringprof clients into segment files.\n"
		"\n"
		"  -s, --socket PATH        registration socket (default %s)\n"
		"  -d, --state-dir DIR      where segments are written (default %s)\n"
		"      --max-clients N      registered clients at once (default %u)\n"
		"      --max-region BYTES   largest client region (default %llu)\n"
		"      --max-ring-bytes BYTES  largest ring (default %u)\n"
		"      --max-rings N        most rings per client (default %u)\n"
		"      --tick-ms MS         drain interval (default %u)\n"
		"      --flush-ms MS        longest time events wait in memory (default %u)\n"
		"      --rotate-size BYTES  rotate a segment at this size (default %llu)\n"
		"      --rotate-age S       rotate a segment at this age, 0 = never (default 0)\n"
		"      --zstd-level N       zstd compression level 1..19 (default %d)\n"
		"  -f, --foreground         stay in the foreground (always the case)\n"
		"      --log-level LEVEL    error, warn, info or debug (default info)\n"
		"  -h, --help               show this help\n"
		"  -V, --version            show the version\n"
		"\n"
		"BYTES accept a K, M or G suffix (powers of 1024).\n",
		RP_DEFAULT_SOCKET, RPD_DEFAULT_STATE_DIR, RPD_DEFAULT_MAX_CLIENTS,
		(unsigned long long)RPD_DEFAULT_MAX_REGION, RPD_DEFAULT_MAX_RING,
		RP_RING_COUNT_MAX, RPD_DEFAULT_TICK_MS, RPD_DEFAULT_FLUSH_MS,
		(unsigned long long)RPD_DEFAULT_ROTATE_SIZE, RPD_DEFAULT_ZSTD_LEVEL);
}

/* Parse a decimal number with an optional K/M/G suffix (when sized) within
 * min..max; exits 2 with a message naming the option otherwise. */
static uint64_t ringprofd_number(const char *opt, const char *arg, uint64_t min,
				 uint64_t max, bool sized)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (sized && end != arg && end[0] != '\0' && end[1] == '\0') {
		switch (end[0]) {
		case 'K': case 'k': shift = 10; end++; break;
		case 'M': case 'm': shift = 20; end++; break;
		case 'G': case 'g': shift = 30; end++; break;
		default: break;
		}
	}
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
	    (shift != 0 && v > (UINT64_MAX >> shift)) || (v << shift) < min ||
	    (v << shift) > max) {
		fprintf(stderr, "ringprofd: --%s: invalid value '%s' (expected %llu..%llu)\n",
			opt, arg, (unsigned long long)min, (unsigned long long)max);
		exit(2);
	}
	return (uint64_t)v << shift;
}

static void ringprofd_parse(int argc, char **argv)
{
	struct rpd_conf *conf = &rpd.conf;
	int ch;

	conf->socket_path = RP_DEFAULT_SOCKET;
	conf->state_dir = RPD_DEFAULT_STATE_DIR;
	conf->max_clients = RPD_DEFAULT_MAX_CLIENTS;
	conf->max_region = RPD_DEFAULT_MAX_REGION;
	conf->max_ring_bytes = RPD_DEFAULT_MAX_RING;
	conf->max_rings = RP_RING_COUNT_MAX;
	conf->tick_ms = RPD_DEFAULT_TICK_MS;
	conf->flush_ms = RPD_DEFAULT_FLUSH_MS;
	conf->rotate_size = RPD_DEFAULT_ROTATE_SIZE;
	conf->rotate_age = 0;
	conf->zstd_level = RPD_DEFAULT_ZSTD_LEVEL;
	conf->log_level = LOG_LEVEL_INFO;

	while ((ch = getopt_long(argc, argv, "s:d:fhV", ringprofd_options, NULL)) != -1) {
		switch (ch) {
		case 's':
			conf->socket_path = optarg;
			break;
		case 'd':
			conf->state_dir = optarg;
			break;
		case OPT_MAX_CLIENTS:
			conf->max_clients = (uint32_t)ringprofd_number("max-clients", optarg, 1, 65536, false);
			break;
		case OPT_MAX_REGION:
			conf->max_region = ringprofd_number("max-region", optarg, 4096, 1ull << 40, true);
			break;
		case OPT_MAX_RING_BYTES:
			conf->max_ring_bytes = (uint32_t)ringprofd_number("max-ring-bytes", optarg,
						RP_RING_BYTES_MIN, RP_RING_BYTES_MAX, true);
			break;
		case OPT_MAX_RINGS:
			conf->max_rings = (uint32_t)ringprofd_number("max-rings", optarg, 1,
						RP_RING_COUNT_MAX, false);
			break;
		case OPT_TICK_MS:
			conf->tick_ms = (uint32_t)ringprofd_number("tick-ms", optarg, 1, 1000, false);
			break;
		case OPT_FLUSH_MS:
			conf->flush_ms = (uint32_t)ringprofd_number("flush-ms", optarg, 1, 3600000, false);
			break;
		case OPT_ROTATE_SIZE:
			conf->rotate_size = ringprofd_number("rotate-size", optarg, 4096, 1ull << 40, true);
			break;
		case OPT_ROTATE_AGE:
			conf->rotate_age = ringprofd_number("rotate-age", optarg, 0, 1ull << 32, false);
			break;
		case OPT_ZSTD_LEVEL:
			conf->zstd_level = (int)ringprofd_number("zstd-level", optarg, 1, 19, false);
			break;
		case 'f':
			conf->foreground = true;
			break;
		case OPT_LOG_LEVEL:
			if (log_level_parse(optarg, &conf->log_level) < 0) {
				fprintf(stderr, "ringprofd: --log-level: invalid value '%s' "
					"(expected error, warn, info or debug)\n", optarg);
				exit(2);
			}
			break;
		case 'h':
			ringprofd_usage(stdout);
			exit(0);
		case 'V':
			printf("ringprofd %s (wire %u, shm %u, segment %u)\n", RINGPROF_VERSION,
			       RP_WIRE_VERSION, RP_SHM_VERSION, RP_SEG_VERSION);
			exit(0);
		default:
			fprintf(stderr, "Try 'ringprofd --help'.\n");
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ringprofd: unexpected argument '%s'\nTry 'ringprofd --help'.\n",
			argv[optind]);
		exit(2);
	}
}

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

void ringprofd_tick(uint64_t now)
{
	/* ping at half the interval, so one late tick does not kill us */
	if (ringprofd_watchdog_ns != 0 && now - ringprofd_watchdog_last >= ringprofd_watchdog_ns / 2) {
		sd_notify(0, "WATCHDOG=1");
		ringprofd_watchdog_last = now;
	}
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

	ringprofd_parse(argc, argv);
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
	if (listen_open(rpd.conf.socket_path) < 0)
		exit(1);

	listen_arm();
	loop_arm_tick();
	loop_arm_signal();
	log_info("segments in %s", rpd.conf.state_dir);
	{
		uint64_t usec;

		if (sd_watchdog_enabled(1, &usec) > 0)
			ringprofd_watchdog_ns = usec * 1000;
	}
	sd_notify(0, "READY=1");

	ret = loop_run();
	if (ret < 0)
		log_error("io_uring: %s", strerror(-ret));
	else
		log_info("stopped");
	seg_fini();
	loop_close();
	close(rpd.signal_fd);
	close(rpd.state_fd);
	return ret < 0 ? 1 : 0;
}
