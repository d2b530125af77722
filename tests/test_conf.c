/*
 * test_conf.c - ringprofd's configuration: the file, --check-config, the
 * command line over the file, and SIGHUP reloads of a running daemon.
 * Everything runs the built ringprofd.
 */
#include "deploy/deploy.h"

/* --check-config with no file at all (/dev/null is empty). */
static const char conf_defaults[] =
	"socket = /run/ringprof/ringprof.sock\n"
	"state-dir = /var/lib/ringprof\n"
	"max-clients = 256\n"
	"max-region = 1G\n"
	"max-ring-bytes = 64M\n"
	"max-rings = 1024\n"
	"tick-ms = 1\n"
	"flush-ms = 1000\n"
	"rotate-size = 256M\n"
	"rotate-age = 0\n"
	"zstd-level = 3\n"
	"foreground = no\n"
	"log-level = info\n"
	"socket-mode = 0660\n"
	"socket-group =\n"
	"allow-users =\n"
	"allow-groups =\n"
	"max-string-bytes = 64M\n"
	"max-pending-bytes = 64M\n"
	"session-quota = 0\n"
	"retain-bytes = 0\n"
	"retain-days = 0\n";

/* ringprofd --check-config --config path [extra...]; status, outputs. */
static int conf_check(const char *path, const char *extra1, const char *extra2, char **out,
		      char **err)
{
	const char *argv[] = { build_path("daemon/ringprofd"), "--check-config", "--config", path,
			       extra1, extra2, NULL };

	return run(argv, NULL, out, err);
}

/* The file text in a fresh file under dir; its path in path (128 bytes). */
static void conf_file(char *dir, char *path, const char *text)
{
	tmpdir_make(dir);
	snprintf(path, 128, "%s/ringprofd.conf", dir);
	write_text(path, text);
}

Test(conf, check_config_without_a_file_prints_every_default)
{
	char *out, *err;
	int status = conf_check("/dev/null", NULL, NULL, &out, &err);

	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status, err);
	cr_assert_str_eq(out, conf_defaults);
	cr_assert_str_eq(err, "");
	free(out);
	free(err);
}

Test(conf, check_config_prints_the_values_of_the_file)
{
	char dir[64], path[128], *out, *err;
	int status;

	conf_file(dir, path,
		  "# a comment\n"
		  "\n"
		  "   # an indented comment\n"
		  "max-clients = 7\n"
		  "rotate-size=1048576\n"
		  "\tlog-level   =   debug  \n"
		  "allow-users = alice,1000\n"
		  "socket-mode = 600\n"
		  "retain-bytes = 3G\n"
		  "retain-days = 30\n"
		  "foreground = yes\n"
		  "max-region = 5000\n");
	status = conf_check(path, NULL, NULL, &out, &err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status, err);
	cr_assert_str_eq(out,
			 "socket = /run/ringprof/ringprof.sock\n"
			 "state-dir = /var/lib/ringprof\n"
			 "max-clients = 7\n"
			 "max-region = 5000\n"
			 "max-ring-bytes = 64M\n"
			 "max-rings = 1024\n"
			 "tick-ms = 1\n"
			 "flush-ms = 1000\n"
			 "rotate-size = 1M\n"
			 "rotate-age = 0\n"
			 "zstd-level = 3\n"
			 "foreground = yes\n"
			 "log-level = debug\n"
			 "socket-mode = 0600\n"
			 "socket-group =\n"
			 "allow-users = alice,1000\n"
			 "allow-groups =\n"
			 "max-string-bytes = 64M\n"
			 "max-pending-bytes = 64M\n"
			 "session-quota = 0\n"
			 "retain-bytes = 3G\n"
			 "retain-days = 30\n");
	cr_assert_str_eq(err, "");
	free(out);
	free(err);
	rm_rf(dir);
}

Test(conf, example_file_lists_every_option_with_its_default)
{
	char path[512], dir[64], conf[128], *text, *uncommented, *out, *err, *save = NULL;
	size_t n = 0;
	int status, keys = 0;

	snprintf(path, sizeof(path), "%s/etc/ringprofd.conf", RINGPROF_SOURCE_DIR);
	text = slurp_text(path);
	cr_assert_neq(text[0], '\0', "%s is missing or empty", path);
	/* "#key = value" lines become "key = value" */
	uncommented = calloc(1, strlen(text) + 2);
	cr_assert_not_null(uncommented);
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t k = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz-");

		if (line[0] == '#' && k > 0 && strncmp(line + 1 + k, " =", 2) == 0) {
			n += (size_t)sprintf(uncommented + n, "%s\n", line + 1);
			keys++;
		}
	}
	cr_assert_eq(keys, 22, "%d commented-out options in %s", keys, path);
	conf_file(dir, conf, uncommented);
	status = conf_check(conf, NULL, NULL, &out, &err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status, err);
	/* every key once (a duplicate is an error) and each value the default */
	cr_assert_str_eq(out, conf_defaults);
	free(out);
	free(err);
	free(uncommented);
	free(text);
	rm_rf(dir);
}

struct conf_bad {
	const char *text;
	const char *message;   /* after "ringprofd: <file>:" */
};

Test(conf, bad_lines_name_the_file_and_the_line)
{
	static const struct conf_bad cases[] = {
		{ "max-clients = 4\nmax-clinets = 5\n", "2: unknown key 'max-clinets'" },
		{ "\n\nmax-clients = 0\n", "3: max-clients: invalid value '0' (expected 1..65536)" },
		{ "max-clients = 12x\n", "1: max-clients: invalid value '12x' (expected 1..65536)" },
		{ "rotate-size = 4T\n",
		  "1: rotate-size: invalid value '4T' (expected 4096..1099511627776)" },
		{ "retain-days = -1\n", "1: retain-days: invalid value '-1' (expected 0..36500)" },
		{ "log-level = loud\n",
		  "1: log-level: invalid value 'loud' (expected error, warn, info or debug)" },
		{ "socket-mode = 0800\n",
		  "1: socket-mode: invalid value '0800' (expected octal 0..0777)" },
		{ "foreground = maybe\n", "1: foreground: invalid value 'maybe' (expected yes or no)" },
		{ "# ok\nstate-dir =\n", "2: state-dir: invalid value '' (expected a path)" },
		{ "tick-ms 5\n", "1: expected 'key = value'" },
		{ "tick-ms = 5\nflush-ms = 10\ntick-ms = 6\n",
		  "3: duplicate key 'tick-ms' (first set on line 1)" },
		{ "config = /etc/other.conf\n", "1: unknown key 'config'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dir[64], path[128], want[512], *out, *err;
		int status;

		conf_file(dir, path, cases[i].text);
		status = conf_check(path, NULL, NULL, &out, &err);
		snprintf(want, sizeof(want), "ringprofd: %s:%s\n", path, cases[i].message);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "case %zu: status 0x%x",
			  i, status);
		cr_assert_str_eq(err, want, "case %zu", i);
		cr_assert_str_eq(out, "", "case %zu", i);
		free(out);
		free(err);
		rm_rf(dir);
	}
}

Test(conf, bad_file_stops_the_daemon_before_it_listens)
{
	char dir[64], path[128], want[256], *out, *err;
	const char *argv[6];
	int status;

	conf_file(dir, path, "tick-ms = 0\n");
	argv[0] = build_path("daemon/ringprofd");
	argv[1] = "--config";
	argv[2] = path;
	argv[3] = "--socket";
	argv[4] = "/nonexistent/sock";
	argv[5] = NULL;
	status = run(argv, NULL, &out, &err);
	snprintf(want, sizeof(want),
		 "ringprofd: %s:1: tick-ms: invalid value '0' (expected 1..1000)\n", path);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status 0x%x", status);
	cr_assert_str_eq(err, want);
	free(out);
	free(err);
	rm_rf(dir);
}

Test(conf, command_line_overrides_the_file)
{
	char dir[64], path[128], *out, *err;
	int status;

	conf_file(dir, path, "tick-ms = 5\nmax-clients = 3\nlog-level = warn\n");
	status = conf_check(path, "--max-clients=9", "--log-level=debug", &out, &err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x: %s", status, err);
	cr_assert(strstr(out, "\nmax-clients = 9\n") != NULL, "%s", out);
	cr_assert(strstr(out, "\ntick-ms = 5\n") != NULL, "%s", out);
	cr_assert(strstr(out, "\nlog-level = debug\n") != NULL, "%s", out);
	free(out);
	free(err);

	/* a bad command-line value keeps its own message */
	status = conf_check(path, "--max-clients", "0", &out, &err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status 0x%x", status);
	cr_assert_str_eq(err, "ringprofd: --max-clients: invalid value '0' (expected 1..65536)\n");
	free(out);
	free(err);
	rm_rf(dir);
}

Test(conf, explicit_missing_file_is_an_error)
{
	char *out, *err;
	int status = conf_check("/nonexistent/ringprofd.conf", NULL, NULL, &out, &err);

	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status 0x%x", status);
	cr_assert_str_eq(err, "ringprofd: /nonexistent/ringprofd.conf: No such file or directory\n");
	cr_assert_str_eq(out, "");
	free(out);
	free(err);
}

/* SIGHUP and wait for the n-th reload to be logged (applied or refused). */
static void reload_signal(const struct daemon *d, int n)
{
	kill(d->pid, SIGHUP);
	log_wait_n(d, "SIGHUP: reloading the configuration", n);
}

Test(reload, sighup_applies_the_log_level_and_the_client_limit, .timeout = 120)
{
	struct daemon d;
	const char *extra[] = { "--config", d.conf, NULL };
	const char *forever[] = { "--threads", "1", "--forever", NULL };
	const char *refused[] = { "--threads", "1", "--events", "100", NULL };
	char want[256];
	pid_t holder;

	daemon_dirs(&d);
	write_text(d.conf, "log-level = info\nmax-clients = 8\n");
	daemon_spawn(&d, extra, 0);

	/* at info, opening a segment is not logged */
	deploy_client_run(d.sock, "before", "100");
	log_wait_n(&d, "gone", 1);
	cr_assert_eq(log_count(&d, "ringprofd: opened "), 0);

	write_text(d.conf, "log-level = debug\nmax-clients = 1\nzstd-level = 9\n");
	reload_signal(&d, 1);
	log_wait_n(&d, "configuration reloaded from", 1);
	cr_assert_eq(log_count(&d, "ringprofd: reload: log-level = debug (was info)"), 1);
	cr_assert_eq(log_count(&d, "ringprofd: reload: max-clients = 1 (was 8)"), 1);
	cr_assert_eq(log_count(&d,
		"ringprofd: reload: zstd-level = 9 needs a restart (still 3)"), 1);
	snprintf(want, sizeof(want), "ringprofd: configuration reloaded from %s: 2 changed, 1 wait "
		 "for a restart", d.conf);
	cr_assert_eq(log_count(&d, want), 1);

	/* debug now: segments opened are logged; the limit is 1 client */
	holder = client_spawn(d.sock, "after", forever, NULL, NULL);
	log_wait_n(&d, "ringprofd: opened ", 1);
	client_wait_code(client_spawn(d.sock, "refused", refused, NULL, NULL), 3);
	log_wait_n(&d, "too many clients (limit 1)", 1);
	kill(holder, SIGUSR1);
	client_wait_code(holder, 0);
	daemon_terminate(&d);
	daemon_cleanup(&d);
}

Test(reload, bad_file_keeps_the_running_configuration, .timeout = 120)
{
	struct daemon d;
	const char *extra[] = { "--config", d.conf, NULL };
	char want[256];

	daemon_dirs(&d);
	write_text(d.conf, "max-clients = 4\n");
	daemon_spawn(&d, extra, 0);

	write_text(d.conf, "log-level = debug\nnope = 1\n");
	reload_signal(&d, 1);
	snprintf(want, sizeof(want), "ringprofd: %s:2: unknown key 'nope'; keeping the running "
		 "configuration", d.conf);
	log_wait_n(&d, want, 1);
	cr_assert_eq(log_count(&d, "ringprofd: reload: "), 0);

	/* still running, still at info, still recording */
	deploy_client_run(d.sock, "kept", "1000");
	log_wait_n(&d, "gone", 1);
	cr_assert_eq(log_count(&d, "ringprofd: opened "), 0);
	daemon_terminate(&d);
	cr_assert_eq(deploy_count_events(d.state), 1000);
	daemon_cleanup(&d);
}
