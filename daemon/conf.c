/*
 * conf.c - the daemon's options: one table read by the command line, the
 * configuration file and --check-config.
 *
 * The file holds "key = value" lines whose keys are the long option names;
 * a line whose first non-blank character is '#' is a comment, blank lines
 * are ignored, values are taken verbatim (no quoting, no trailing
 * comments).  The effective configuration is built in one order: defaults,
 * then the file, then the command line, so the command line always wins,
 * also on a reload.  A reload (SIGHUP) applies the options marked live and
 * logs the others as waiting for a restart; live options are never
 * strings, so every string of the running configuration points into argv
 * or into the file text kept from start-up.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "ringprofd.h"

#ifndef RINGPROF_VERSION
#define RINGPROF_VERSION "unknown"
#endif

#define CONF_DEFAULT_STATE_DIR   "/var/lib/ringprof"
#define CONF_DEFAULT_MAX_CLIENTS 256u
#define CONF_DEFAULT_MAX_REGION  (1ull << 30)
#define CONF_DEFAULT_MAX_RING    (64u << 20)
#define CONF_DEFAULT_TICK_MS     1u
#define CONF_DEFAULT_FLUSH_MS    1000u
#define CONF_DEFAULT_ROTATE_SIZE (256ull << 20)
#define CONF_DEFAULT_ZSTD_LEVEL  3
#define CONF_DEFAULT_SOCKET_MODE 0660u
#define CONF_DEFAULT_MAX_PENDING (64ull << 20)

/* Longest formatted value or error message; bytes. */
#define CONF_MSG_MAX 512u

enum conf_type {
	CONF_PATH,    /* a non-empty string */
	CONF_LIST,    /* a string; empty = unset (NULL) */
	CONF_NUM,     /* decimal within min..max */
	CONF_BYTES,   /* decimal with an optional K, M or G suffix */
	CONF_MODE,    /* octal permission bits */
	CONF_LEVEL,   /* a log level name */
	CONF_BOOL,    /* yes/no; a flag on the command line */
};

struct conf_option {
	const char *name;     /* long option and file key */
	int short_name;       /* 0 = none */
	enum conf_type type;
	size_t off;           /* offsetof(struct rpd_conf, ...) */
	size_t size;          /* of the member: 4 or 8 for numbers */
	uint64_t min, max;
	bool live;            /* applied by a reload */
	const char *arg;      /* placeholder in --help */
	const char *help;
};

#define CONF_FIELD(f) offsetof(struct rpd_conf, f), sizeof(((struct rpd_conf *)0)->f)

static const struct conf_option conf_options[] = {
	{ "socket", 's', CONF_PATH, CONF_FIELD(socket_path), 0, 0, false, "PATH",
	  "registration socket" },
	{ "state-dir", 'd', CONF_PATH, CONF_FIELD(state_dir), 0, 0, false, "DIR",
	  "where segments are written" },
	{ "max-clients", 0, CONF_NUM, CONF_FIELD(max_clients), 1, 65536, true, "N",
	  "registered clients at once" },
	{ "max-region", 0, CONF_BYTES, CONF_FIELD(max_region), 4096, 1ull << 40, true, "BYTES",
	  "largest client region" },
	{ "max-ring-bytes", 0, CONF_BYTES, CONF_FIELD(max_ring_bytes), RP_RING_BYTES_MIN,
	  RP_RING_BYTES_MAX, true, "BYTES", "largest ring" },
	{ "max-rings", 0, CONF_NUM, CONF_FIELD(max_rings), 1, RP_RING_COUNT_MAX, true, "N",
	  "most rings per client" },
	{ "tick-ms", 0, CONF_NUM, CONF_FIELD(tick_ms), 1, 1000, true, "MS",
	  "drain interval" },
	{ "flush-ms", 0, CONF_NUM, CONF_FIELD(flush_ms), 1, 3600000, true, "MS",
	  "longest time events wait in memory" },
	{ "rotate-size", 0, CONF_BYTES, CONF_FIELD(rotate_size), 4096, 1ull << 40, true, "BYTES",
	  "rotate a segment at this size" },
	{ "rotate-age", 0, CONF_NUM, CONF_FIELD(rotate_age), 0, 1ull << 32, true, "S",
	  "rotate a segment at this age, 0 = never" },
	{ "zstd-level", 0, CONF_NUM, CONF_FIELD(zstd_level), 1, 19, false, "N",
	  "zstd compression level 1..19" },
	{ "foreground", 'f', CONF_BOOL, CONF_FIELD(foreground), 0, 1, true, NULL,
	  "stay in the foreground (always the case)" },
	{ "log-level", 0, CONF_LEVEL, CONF_FIELD(log_level), 0, 0, true, "LEVEL",
	  "error, warn, info or debug" },
	{ "socket-mode", 0, CONF_MODE, CONF_FIELD(socket_mode), 0, 0777, false, "MODE",
	  "octal permissions of the socket" },
	{ "socket-group", 0, CONF_LIST, CONF_FIELD(socket_group), 0, 0, false, "NAME",
	  "group of the socket (unset: the daemon's)" },
	{ "allow-users", 0, CONF_LIST, CONF_FIELD(allow_users), 0, 0, false, "LIST",
	  "users (names or uids, comma-separated) allowed to connect (unset: anyone "
	  "who can open the socket)" },
	{ "allow-groups", 0, CONF_LIST, CONF_FIELD(allow_groups), 0, 0, false, "LIST",
	  "groups allowed to connect (unset: any)" },
	{ "max-string-bytes", 0, CONF_BYTES, CONF_FIELD(max_string_bytes), RP_STRING_BYTES_MIN,
	  RP_STRING_BYTES_MAX, true, "BYTES", "largest string area of a client (larger: refused)" },
	{ "max-pending-bytes", 0, CONF_BYTES, CONF_FIELD(max_pending_bytes), 1ull << 20,
	  1ull << 40, true, "BYTES",
	  "segment bytes of a client waiting for the disk before its events are dropped" },
	{ "session-quota", 0, CONF_BYTES, CONF_FIELD(session_quota), 0, 1ull << 50, true, "BYTES",
	  "disk bytes per session, then its events are dropped (counted), 0 = none" },
	{ "retain-bytes", 0, CONF_BYTES, CONF_FIELD(retain_bytes), 0, 1ull << 50, true, "BYTES",
	  "keep at most this much per session, 0 = all" },
	{ "retain-days", 0, CONF_NUM, CONF_FIELD(retain_days), 0, 36500, true, "N",
	  "remove sealed segments older than N days, 0 = never" },
};

#define CONF_NOPTIONS (sizeof(conf_options) / sizeof(conf_options[0]))

/* getopt codes of the options outside the table */
enum {
	CONF_OPT_CONFIG = 1000,
	CONF_OPT_CHECK,
	CONF_OPT_BASE = 2000,   /* + index into conf_options */
};

/* One option given on the command line, replayed over the file. */
struct conf_arg {
	const struct conf_option *opt;
	const char *value;
};

static struct conf_arg *conf_args;
static size_t conf_nargs;
static const char *conf_path = RPD_DEFAULT_CONFIG;
static bool conf_path_given;   /* --config: a missing file is an error */
static char *conf_text;        /* file text the running strings point into */

static void conf_defaults(struct rpd_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->socket_path = RP_DEFAULT_SOCKET;
	conf->state_dir = CONF_DEFAULT_STATE_DIR;
	conf->max_clients = CONF_DEFAULT_MAX_CLIENTS;
	conf->max_region = CONF_DEFAULT_MAX_REGION;
	conf->max_ring_bytes = CONF_DEFAULT_MAX_RING;
	conf->max_rings = RP_RING_COUNT_MAX;
	conf->tick_ms = CONF_DEFAULT_TICK_MS;
	conf->flush_ms = CONF_DEFAULT_FLUSH_MS;
	conf->rotate_size = CONF_DEFAULT_ROTATE_SIZE;
	conf->zstd_level = CONF_DEFAULT_ZSTD_LEVEL;
	conf->log_level = LOG_LEVEL_INFO;
	conf->socket_mode = CONF_DEFAULT_SOCKET_MODE;
	conf->max_string_bytes = RP_STRING_BYTES_MAX;
	conf->max_pending_bytes = CONF_DEFAULT_MAX_PENDING;
}

static void *conf_member(struct rpd_conf *conf, const struct conf_option *o)
{
	return (char *)conf + o->off;
}

static uint64_t conf_get_num(const struct rpd_conf *conf, const struct conf_option *o)
{
	const char *p = (const char *)conf + o->off;

	if (o->size == sizeof(uint64_t)) {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		return v;
	} else {
		uint32_t v;  /* int members (zstd-level) hold values >= 1 */

		memcpy(&v, p, sizeof(v));
		return v;
	}
}

static void conf_set_num(struct rpd_conf *conf, const struct conf_option *o, uint64_t v)
{
	char *p = conf_member(conf, o);

	if (o->size == sizeof(uint64_t)) {
		memcpy(p, &v, sizeof(v));
	} else {
		uint32_t v32 = (uint32_t)v;

		memcpy(p, &v32, sizeof(v32));
	}
}

/* Decimal within min..max, with a K/M/G suffix (powers of 1024) when
 * sized; 0 or -EINVAL. */
static int conf_parse_num(const char *s, uint64_t min, uint64_t max, bool sized, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (sized && end != s && end[0] != '\0' && end[1] == '\0') {
		switch (end[0]) {
		case 'K': case 'k': shift = 10; end++; break;
		case 'M': case 'm': shift = 20; end++; break;
		case 'G': case 'g': shift = 30; end++; break;
		default: break;
		}
	}
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    (shift != 0 && v > (UINT64_MAX >> shift)) || (v << shift) < min ||
	    (v << shift) > max)
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Set o in conf from value (kept by reference for strings): 0, or -EINVAL
 * with msg "invalid value '...' (expected ...)". */
static int conf_set(struct rpd_conf *conf, const struct conf_option *o, const char *value,
		    char *msg, size_t size)
{
	uint64_t v;

	switch (o->type) {
	case CONF_PATH:
		if (value[0] == '\0') {
			snprintf(msg, size, "invalid value '' (expected a path)");
			return -EINVAL;
		}
		*(const char **)conf_member(conf, o) = value;
		return 0;
	case CONF_LIST:
		*(const char **)conf_member(conf, o) = value[0] == '\0' ? NULL : value;
		return 0;
	case CONF_NUM:
	case CONF_BYTES:
		if (conf_parse_num(value, o->min, o->max, o->type == CONF_BYTES, &v) < 0) {
			snprintf(msg, size, "invalid value '%s' (expected %llu..%llu)", value,
				 (unsigned long long)o->min, (unsigned long long)o->max);
			return -EINVAL;
		}
		conf_set_num(conf, o, v);
		return 0;
	case CONF_MODE: {
		char *end;
		unsigned long mode;

		errno = 0;
		mode = strtoul(value, &end, 8);
		if (errno != 0 || end == value || *end != '\0' || mode > o->max ||
		    value[0] == '-') {
			snprintf(msg, size, "invalid value '%s' (expected octal 0..0777)", value);
			return -EINVAL;
		}
		conf_set_num(conf, o, mode);
		return 0;
	}
	case CONF_LEVEL:
		if (log_level_parse(value, conf_member(conf, o)) < 0) {
			snprintf(msg, size, "invalid value '%s' (expected error, warn, info or "
				 "debug)", value);
			return -EINVAL;
		}
		return 0;
	case CONF_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "1") == 0) {
			*(bool *)conf_member(conf, o) = true;
		} else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 ||
			   strcmp(value, "0") == 0) {
			*(bool *)conf_member(conf, o) = false;
		} else {
			snprintf(msg, size, "invalid value '%s' (expected yes or no)", value);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

/* A byte count with the largest suffix that divides it exactly. */
static void conf_format_bytes(char *buf, size_t size, uint64_t v)
{
	static const char suffix[] = "GMK";

	for (int i = 0; i < 3; i++) {
		uint64_t unit = 1ull << (30 - 10 * i);

		if (v != 0 && v % unit == 0) {
			snprintf(buf, size, "%llu%c", (unsigned long long)(v / unit), suffix[i]);
			return;
		}
	}
	snprintf(buf, size, "%llu", (unsigned long long)v);
}

/* The value of o in conf as the file would spell it ("" when unset). */
static void conf_format(char *buf, size_t size, const struct rpd_conf *conf,
			const struct conf_option *o)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	const char *p = (const char *)conf + o->off;

	switch (o->type) {
	case CONF_PATH:
	case CONF_LIST: {
		const char *s;

		memcpy(&s, p, sizeof(s));
		strlcpy(buf, s != NULL ? s : "", size);
		break;
	}
	case CONF_NUM:
		snprintf(buf, size, "%llu", (unsigned long long)conf_get_num(conf, o));
		break;
	case CONF_BYTES:
		conf_format_bytes(buf, size, conf_get_num(conf, o));
		break;
	case CONF_MODE:
		snprintf(buf, size, "%04llo", (unsigned long long)conf_get_num(conf, o));
		break;
	case CONF_LEVEL: {
		enum log_level l;

		memcpy(&l, p, sizeof(l));
		strlcpy(buf, (unsigned)l < 4 ? levels[l] : "?", size);
		break;
	}
	case CONF_BOOL:
		strlcpy(buf, *(const bool *)p ? "yes" : "no", size);
		break;
	}
}

static const struct conf_option *conf_find(const char *key)
{
	for (size_t i = 0; i < CONF_NOPTIONS; i++)
		if (strcmp(conf_options[i].name, key) == 0)
			return &conf_options[i];
	return NULL;
}

/* Read all of path into a NUL-terminated buffer; 0 or -errno. */
static int conf_read(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	int ret;

	if (f == NULL)
		return -errno;
	do {
		if (cap - len < 4096) {
			char *p = reallocarray(buf, cap ? cap * 2 : 8192, 1);

			if (p == NULL) {
				ret = -ENOMEM;
				goto err_read;
			}
			buf = p;
			cap = cap ? cap * 2 : 8192;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n != 0);
	if (ferror(f)) {
		ret = -EIO;
		goto err_read;
	}
	fclose(f);
	buf[len] = '\0';
	*out = buf;
	return 0;

err_read:
	free(buf);
	fclose(f);
	return ret;
}

static char *conf_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* Apply the file at path to conf.  Its text is returned in *text (strings
 * of conf point into it; the caller frees it).  0, or -errno with err
 * holding "<file>: <reason>" or "<file>:<line>: <message>". */
static int conf_load(const char *path, struct rpd_conf *conf, char **text, char *err,
		     size_t errsize)
{
	unsigned first[CONF_NOPTIONS] = { 0 };  /* line that set each key */
	char msg[CONF_MSG_MAX];
	unsigned lineno = 0;
	char *next;
	int ret;

	if ((ret = conf_read(path, text)) < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(-ret));
		return ret;
	}
	for (char *line = *text; line != NULL; line = next) {
		const struct conf_option *o;
		char *key, *value, *eq;

		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		key = conf_trim(line);
		if (key[0] == '\0' || key[0] == '#')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL) {
			snprintf(err, errsize, "%s:%u: expected 'key = value'", path, lineno);
			return -EINVAL;
		}
		*eq = '\0';
		key = conf_trim(key);
		value = conf_trim(eq + 1);
		o = conf_find(key);
		if (o == NULL) {
			snprintf(err, errsize, "%s:%u: unknown key '%s'", path, lineno, key);
			return -EINVAL;
		}
		if (first[o - conf_options] != 0) {
			snprintf(err, errsize, "%s:%u: duplicate key '%s' (first set on line %u)",
				 path, lineno, key, first[o - conf_options]);
			return -EINVAL;
		}
		first[o - conf_options] = lineno;
		if (conf_set(conf, o, value, msg, sizeof(msg)) < 0) {
			snprintf(err, errsize, "%s:%u: %s: %s", path, lineno, key, msg);
			return -EINVAL;
		}
	}
	return 0;
}

/* Defaults, the file (when explicit or present), the command line. */
static int conf_build(struct rpd_conf *conf, char **text, char *err, size_t errsize)
{
	char msg[CONF_MSG_MAX];
	int ret;

	conf_defaults(conf);
	*text = NULL;
	if (conf_path_given || access(conf_path, F_OK) == 0) {
		ret = conf_load(conf_path, conf, text, err, errsize);
		if (ret < 0) {
			free(*text);
			*text = NULL;
			return ret;
		}
	}
	/* validated when parsed: cannot fail */
	for (size_t i = 0; i < conf_nargs; i++)
		conf_set(conf, conf_args[i].opt, conf_args[i].value, msg, sizeof(msg));
	return 0;
}

/* Print text word-wrapped to 79 columns, starting at column col, further
 * lines indented by 27 columns. */
static void conf_usage_wrap(FILE *out, const char *text, int col)
{
	bool first = true;

	while (*text != '\0') {
		int len = (int)strcspn(text, " ");

		if (!first && col + 1 + len > 79) {
			fprintf(out, "\n%27s", "");
			col = 27;
		} else {
			fputc(' ', out);
			col++;
		}
		first = false;
		fprintf(out, "%.*s", len, text);
		col += len;
		text += len;
		text += strspn(text, " ");
	}
	fputc('\n', out);
}

static void conf_usage(FILE *out)
{
	struct rpd_conf def;
	char value[CONF_MSG_MAX];

	conf_defaults(&def);
	fprintf(out,
		"Usage: ringprofd [OPTION]...\n"
		"Drain the event rings of ringprof clients into segment files.\n"
		"\n"
		"  -c, --config PATH        configuration file, read when it exists\n"
		"                           (default %s);\n"
		"                           the options below override it\n"
		"      --check-config       validate the configuration, print it and exit\n",
		RPD_DEFAULT_CONFIG);
	for (size_t i = 0; i < CONF_NOPTIONS; i++) {
		const struct conf_option *o = &conf_options[i];
		char head[64];

		snprintf(head, sizeof(head), "%c%c%c --%s%s%s",
			 o->short_name ? '-' : ' ', o->short_name ? o->short_name : ' ',
			 o->short_name ? ',' : ' ', o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		char text[CONF_MSG_MAX + 256];
		int col;

		conf_format(value, sizeof(value), &def, o);
		if (o->type == CONF_BOOL || o->type == CONF_LIST)
			strlcpy(text, o->help, sizeof(text));
		else
			snprintf(text, sizeof(text), "%s (default %s)", o->help, value);
		col = fprintf(out, "  %-24s", head);
		conf_usage_wrap(out, text, col);
	}
	fprintf(out,
		"  -h, --help               show this help\n"
		"  -V, --version            show the version\n"
		"\n"
		"BYTES accept a K, M or G suffix (powers of 1024).  SIGHUP re-reads the\n"
		"configuration file and rotates every segment.\n");
}

static void conf_print(FILE *out, const struct rpd_conf *conf)
{
	char value[CONF_MSG_MAX];

	for (size_t i = 0; i < CONF_NOPTIONS; i++) {
		conf_format(value, sizeof(value), conf, &conf_options[i]);
		fprintf(out, "%s =%s%s\n", conf_options[i].name, value[0] ? " " : "", value);
	}
}

/* Parse argv into conf_args (values checked now), --config and the
 * actions; exits on --help, --version and errors. */
static bool conf_parse_args(int argc, char **argv)
{
	struct option longopts[CONF_NOPTIONS + 5];
	char shortopts[3 * CONF_NOPTIONS + 8] = "c:hV";
	char msg[CONF_MSG_MAX];
	struct rpd_conf scratch;
	bool check = false;
	size_t n = 0;
	int ch;

	conf_defaults(&scratch);
	for (size_t i = 0; i < CONF_NOPTIONS; i++) {
		const struct conf_option *o = &conf_options[i];
		bool flag = o->type == CONF_BOOL;

		longopts[n++] = (struct option){ o->name, flag ? no_argument : required_argument,
						 NULL, (int)(CONF_OPT_BASE + i) };
		if (o->short_name != 0) {
			char s[3] = { (char)o->short_name, flag ? '\0' : ':', '\0' };

			strlcat(shortopts, s, sizeof(shortopts));
		}
	}
	longopts[n++] = (struct option){ "config", required_argument, NULL, CONF_OPT_CONFIG };
	longopts[n++] = (struct option){ "check-config", no_argument, NULL, CONF_OPT_CHECK };
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };

	conf_args = reallocarray(NULL, (size_t)argc + 1, sizeof(*conf_args));
	if (conf_args == NULL)
		fatal(1, "out of memory");
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct conf_option *o = NULL;

		if (ch >= CONF_OPT_BASE) {
			o = &conf_options[ch - CONF_OPT_BASE];
		} else {
			for (size_t i = 0; i < CONF_NOPTIONS && ch != '?'; i++)
				if (conf_options[i].short_name == ch)
					o = &conf_options[i];
		}
		if (o != NULL) {
			const char *value = o->type == CONF_BOOL ? "yes" : optarg;

			if (conf_set(&scratch, o, value, msg, sizeof(msg)) < 0) {
				fprintf(stderr, "ringprofd: --%s: %s\n", o->name, msg);
				exit(2);
			}
			conf_args[conf_nargs++] = (struct conf_arg){ o, value };
			continue;
		}
		switch (ch) {
		case 'c':
		case CONF_OPT_CONFIG:
			conf_path = optarg;
			conf_path_given = true;
			break;
		case CONF_OPT_CHECK:
			check = true;
			break;
		case 'h':
			conf_usage(stdout);
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
	return check;
}

void conf_init(int argc, char **argv)
{
	char err[CONF_MSG_MAX + PATH_MAX];
	bool check = conf_parse_args(argc, argv);

	if (conf_build(&rpd.conf, &conf_text, err, sizeof(err)) < 0) {
		fprintf(stderr, "ringprofd: %s\n", err);
		exit(2);
	}
	if (check) {
		conf_print(stdout, &rpd.conf);
		conf_fini();
		exit(fflush(stdout) == 0 ? 0 : 1);
	}
}

int conf_reload(void)
{
	char err[CONF_MSG_MAX + PATH_MAX];
	char was[CONF_MSG_MAX], now[CONF_MSG_MAX];
	struct rpd_conf next;
	char *text;
	unsigned applied = 0, held = 0;
	int ret;

	if ((ret = conf_build(&next, &text, err, sizeof(err))) < 0) {
		log_error("%s; keeping the running configuration", err);
		return ret;
	}
	/* the new level first, so that it governs the lines below */
	log_init(next.log_level);
	for (size_t i = 0; i < CONF_NOPTIONS; i++) {
		const struct conf_option *o = &conf_options[i];

		conf_format(was, sizeof(was), &rpd.conf, o);
		conf_format(now, sizeof(now), &next, o);
		if (strcmp(was, now) == 0)
			continue;
		if (!o->live) {
			log_warn("reload: %s = %s needs a restart (still %s)", o->name, now,
				 was[0] ? was : "unset");
			held++;
			continue;
		}
		/* live options are numbers or flags: no pointer into text */
		memcpy(conf_member(&rpd.conf, o), conf_member(&next, o), o->size);
		log_info("reload: %s = %s (was %s)", o->name, now, was);
		applied++;
	}
	free(text);
	retain_kick();
	log_info("configuration reloaded from %s: %u changed, %u wait for a restart",
		 conf_path_given || access(conf_path, F_OK) == 0 ? conf_path : "defaults",
		 applied, held);
	return 0;
}

void conf_fini(void)
{
	free(conf_text);
	conf_text = NULL;
	free(conf_args);
	conf_args = NULL;
	conf_nargs = 0;
}
