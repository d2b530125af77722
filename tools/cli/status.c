/*
 * status.c - `ringprof status`: ask the running daemon what it is doing.
 *
 * Sends one struct rp_status_request on the registration socket and reads
 * the struct rp_status_reply and its JSON document (ringprof/wire.h).  The
 * document is parsed in full (strict JSON: a reply that is not is reported
 * as malformed, never printed), then printed either as a table in human
 * units or, with --json, re-indented.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <ringprof/wire.h>

#include "cli.h"
#include "json.h"

/* How long the daemon may take to answer; s. */
#define STATUS_TIMEOUT_S 10
/* Nesting accepted in the document. */
#define STATUS_DEPTH_MAX 32

static const char status_usage[] =
	"usage: ringprof status [--socket PATH] [--json]\n"
	"\n"
	"Ask the running ringprofd for its state: the daemon (version, pid, uptime,\n"
	"limits), totals (clients, events and bytes written and per second over the\n"
	"last seconds, events dropped by cause, disk use of the state directory) and\n"
	"one row per client (id, pid, session, name, state, rings in use, threads,\n"
	"events written and per second, bytes written, drops, command line).  A\n"
	"quarantined client is listed with its reason while its process lives.\n"
	"\n"
	"  --socket PATH  the daemon's socket (default: $RINGPROF_SOCKET, else\n"
	"                 " RP_DEFAULT_SOCKET ")\n"
	"  --json         print the daemon's JSON document (indented) instead\n"
	"\n"
	"Exit status: 0, 1 when the daemon cannot be reached, refuses or answers\n"
	"something malformed, 2 for bad usage.\n";

/* ---- a strict JSON reader for the reply ---- */

enum status_jtype { SJ_NULL, SJ_FALSE, SJ_TRUE, SJ_NUM, SJ_STR, SJ_ARR, SJ_OBJ };

struct status_jval {
	enum status_jtype type;
	char *s;                   /* STR: decoded UTF-8; NUM: its text */
	size_t len;
	size_t n;                  /* ARR, OBJ: items */
	struct status_jval *v;
	char **k;                  /* OBJ: keys */
};

struct status_parser {
	const char *p, *start, *end;
	const char *err;           /* first error; p tells where */
};

static int status_parse_value(struct status_parser *ps, struct status_jval *out, int depth);

static void status_jfree(struct status_jval *v)
{
	for (size_t i = 0; i < v->n; i++) {
		status_jfree(&v->v[i]);
		if (v->k)
			free(v->k[i]);
	}
	free(v->v);
	free(v->k);
	free(v->s);
	memset(v, 0, sizeof(*v));
}

static int status_fail(struct status_parser *ps, const char *what)
{
	if (!ps->err)
		ps->err = what;
	return -1;
}

static void status_ws(struct status_parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
				   *ps->p == '\r'))
		ps->p++;
}

static int status_hex4(struct status_parser *ps, uint32_t *cp)
{
	*cp = 0;
	if (ps->end - ps->p < 4)
		return status_fail(ps, "\\u escape cut off");
	for (int i = 0; i < 4; i++) {
		char c = *ps->p++;

		*cp <<= 4;
		if (c >= '0' && c <= '9')
			*cp |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*cp |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*cp |= (uint32_t)(c - 'A' + 10);
		else
			return status_fail(ps, "bad \\u escape");
	}
	return 0;
}

static size_t status_put_cp(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at ps->p (on its quote) into a new NUL-terminated buffer. */
static int status_parse_str(struct status_parser *ps, char **out, size_t *outlen)
{
	const char *q;
	char *o;
	size_t n = 0;

	ps->p++;
	/* decoded bytes never outnumber the encoded ones */
	for (q = ps->p; q < ps->end && *q != '"'; q++)
		if (*q == '\\' && q + 1 < ps->end)
			q++;
	if (q >= ps->end)
		return status_fail(ps, "unterminated string");
	o = malloc((size_t)(q - ps->p) + 1);
	if (!o)
		return status_fail(ps, "out of memory");
	while (*ps->p != '"') {
		const unsigned char *u = (const unsigned char *)ps->p;
		size_t len;

		if (*u < 0x20) {
			free(o);
			return status_fail(ps, "control character in a string");
		}
		if (*u != '\\') {
			if ((len = rp_json_utf8_len(ps->p, (size_t)(ps->end - ps->p))) == 0) {
				free(o);
				return status_fail(ps, "invalid UTF-8 in a string");
			}
			memcpy(o + n, ps->p, len);
			n += len;
			ps->p += len;
			continue;
		}
		ps->p++;
		switch (*ps->p++) {
		case '"': o[n++] = '"'; break;
		case '\\': o[n++] = '\\'; break;
		case '/': o[n++] = '/'; break;
		case 'b': o[n++] = '\b'; break;
		case 'f': o[n++] = '\f'; break;
		case 'n': o[n++] = '\n'; break;
		case 'r': o[n++] = '\r'; break;
		case 't': o[n++] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;

			if (status_hex4(ps, &cp) < 0)
				goto err;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				status_fail(ps, "lone low surrogate");
				goto err;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
					status_fail(ps, "lone high surrogate");
					goto err;
				}
				ps->p += 2;
				if (status_hex4(ps, &lo) < 0)
					goto err;
				if (lo < 0xdc00 || lo > 0xdfff) {
					status_fail(ps, "bad surrogate pair");
					goto err;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			n += status_put_cp(o + n, cp);
			break;
		}
		default:
			ps->p--;
			status_fail(ps, "bad escape");
			goto err;
		}
	}
	ps->p++;
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
err:
	free(o);
	return -1;
}

static int status_parse_num(struct status_parser *ps, struct status_jval *out)
{
	const char *s = ps->p;

#define DIGITS() do { if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') \
		return status_fail(ps, "bad number"); \
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++; } while (0)
	if (*ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0')
		ps->p++;
	else
		DIGITS();
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		DIGITS();
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		DIGITS();
	}
#undef DIGITS
	out->type = SJ_NUM;
	out->len = (size_t)(ps->p - s);
	out->s = strndup(s, out->len);
	return out->s ? 0 : status_fail(ps, "out of memory");
}

/* Append one item (and its key) to an array or object. */
static struct status_jval *status_push(struct status_parser *ps, struct status_jval *c,
				       char *key)
{
	struct status_jval *v = reallocarray(c->v, c->n + 1, sizeof(*v));

	if (!v)
		goto err;
	c->v = v;
	if (c->type == SJ_OBJ) {
		char **k = reallocarray(c->k, c->n + 1, sizeof(*k));

		if (!k)
			goto err;
		c->k = k;
		k[c->n] = key;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	return &c->v[c->n++];
err:
	free(key);
	status_fail(ps, "out of memory");
	return NULL;
}

static int status_parse_container(struct status_parser *ps, struct status_jval *out,
				  int depth)
{
	bool obj = *ps->p == '{';
	char close = obj ? '}' : ']';

	out->type = obj ? SJ_OBJ : SJ_ARR;
	if (depth >= STATUS_DEPTH_MAX)
		return status_fail(ps, "nested too deep");
	ps->p++;
	status_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		struct status_jval *item;
		char *key = NULL;
		size_t klen;

		status_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"')
				return status_fail(ps, "expected a key");
			if (status_parse_str(ps, &key, &klen) < 0)
				return -1;
			status_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return status_fail(ps, "expected ':'");
			}
			ps->p++;
		}
		if (!(item = status_push(ps, out, key)))
			return -1;
		if (status_parse_value(ps, item, depth + 1) < 0)
			return -1;
		status_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return status_fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int status_parse_value(struct status_parser *ps, struct status_jval *out, int depth)
{
	static const struct { const char *word; enum status_jtype type; } words[] = {
		{ "null", SJ_NULL }, { "false", SJ_FALSE }, { "true", SJ_TRUE },
	};

	status_ws(ps);
	if (ps->p >= ps->end)
		return status_fail(ps, "document cut off");
	if (*ps->p == '{' || *ps->p == '[')
		return status_parse_container(ps, out, depth);
	if (*ps->p == '"') {
		out->type = SJ_STR;
		return status_parse_str(ps, &out->s, &out->len);
	}
	if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
		return status_parse_num(ps, out);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].word);

		if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, words[i].word, n) == 0) {
			ps->p += n;
			out->type = words[i].type;
			return 0;
		}
	}
	return status_fail(ps, "unexpected character");
}

static const struct status_jval *status_get(const struct status_jval *o, const char *key)
{
	if (!o || o->type != SJ_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->k[i], key) == 0)
			return &o->v[i];
	return NULL;
}

/* A non-negative integer member, or false. */
static bool status_u64(const struct status_jval *o, const char *key, uint64_t *out)
{
	const struct status_jval *v = status_get(o, key);
	char *end;

	if (!v || v->type != SJ_NUM || v->s[0] == '-')
		return false;
	errno = 0;
	*out = strtoull(v->s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* A string member, or fallback. */
static const char *status_strv(const struct status_jval *o, const char *key, const char *fallback)
{
	const struct status_jval *v = status_get(o, key);

	return v && v->type == SJ_STR ? v->s : fallback;
}

/* ---- printing ---- */

static void status_indent(int depth)
{
	for (int i = 0; i < depth; i++)
		fputs("  ", stdout);
}

static void status_print_str(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Two spaces per level; an object or array of scalars stays on one line
 * only when empty. */
static void status_print_json(const struct status_jval *v, int depth)
{
	switch (v->type) {
	case SJ_NULL: fputs("null", stdout); return;
	case SJ_FALSE: fputs("false", stdout); return;
	case SJ_TRUE: fputs("true", stdout); return;
	case SJ_NUM: fputs(v->s, stdout); return;
	case SJ_STR: status_print_str(v->s, v->len); return;
	case SJ_ARR:
	case SJ_OBJ:
		break;
	}
	putchar(v->type == SJ_OBJ ? '{' : '[');
	for (size_t i = 0; i < v->n; i++) {
		printf(i ? ",\n" : "\n");
		status_indent(depth + 1);
		if (v->type == SJ_OBJ) {
			status_print_str(v->k[i], strlen(v->k[i]));
			fputs(": ", stdout);
		}
		status_print_json(&v->v[i], depth + 1);
	}
	if (v->n) {
		putchar('\n');
		status_indent(depth);
	}
	putchar(v->type == SJ_OBJ ? '}' : ']');
}

/* v exact (followed by one) below exact_below, else divided by base until
 * under it, with one decimal and the unit of that many divisions. */
static const char *status_scaled(char *buf, size_t len, uint64_t v, uint64_t exact_below,
				 double base, const char *one, const char *const units[6])
{
	double d = (double)v;
	int u = -1;

	if (v < exact_below) {
		snprintf(buf, len, "%" PRIu64 "%s", v, one);
		return buf;
	}
	while (d >= base && u < 5) {
		d /= base;
		u++;
	}
	snprintf(buf, len, "%.1f%s", d, units[u]);
	return buf;
}

/* Counts: exact below 10000, else k, M, G with one decimal. */
static const char *status_count(char *buf, size_t len, uint64_t v)
{
	static const char *const units[] = { "k", "M", "G", "T", "P", "E" };

	return status_scaled(buf, len, v, 10000, 1000, "", units);
}

/* Bytes: exact below 1 KiB, else KiB, MiB... with one decimal. */
static const char *status_bytes(char *buf, size_t len, uint64_t v)
{
	static const char *const units[] = { " KiB", " MiB", " GiB", " TiB", " PiB", " EiB" };

	return status_scaled(buf, len, v, 1024, 1024, " B", units);
}

static const char *status_uptime(char *buf, size_t len, uint64_t ms)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
	return buf;
}

/* A member as a human count ("?" when missing). */
#define STATUS_U64(o, key, fmt, buf) \
	(status_u64((o), (key), &u) ? fmt(buf, sizeof(buf), u) : "?")

static void status_print_table(const struct status_jval *doc)
{
	const struct status_jval *d = status_get(doc, "daemon");
	const struct status_jval *t = status_get(doc, "totals");
	const struct status_jval *dr = status_get(t, "dropped");
	const struct status_jval *disk = status_get(t, "disk");
	const struct status_jval *cl = status_get(doc, "clients");
	char a[32], b[32], c[32], e[32];
	uint64_t u, omitted = 0;

	if (status_u64(d, "pid", &u))
		snprintf(a, sizeof(a), "%" PRIu64, u);
	else
		strlcpy(a, "?", sizeof(a));
	printf("ringprofd %s (pid %s), up %s, socket %s\n", status_strv(d, "version", "?"), a,
	       STATUS_U64(d, "uptime_ms", status_uptime, b),
	       status_strv(d, "socket", "?"));
	printf("state dir %s: %s%s used, %s free\n", status_strv(d, "state_dir", "?"),
	       (status_get(disk, "used_complete") &&
		status_get(disk, "used_complete")->type == SJ_FALSE) ? "over " : "",
	       STATUS_U64(disk, "used_bytes", status_bytes, a),
	       STATUS_U64(disk, "free_bytes", status_bytes, b));
	printf("clients: %s active, %s seen, %s quarantined\n",
	       STATUS_U64(t, "clients", status_count, a),
	       STATUS_U64(t, "clients_seen", status_count, b),
	       STATUS_U64(t, "quarantined", status_count, c));
	printf("written: %s events (%s/s), %s (%s/s)\n",
	       STATUS_U64(t, "events_written", status_count, a),
	       STATUS_U64(t, "events_per_s", status_count, b),
	       STATUS_U64(t, "bytes_written", status_bytes, c),
	       STATUS_U64(t, "bytes_per_s", status_bytes, e));
	printf("dropped: %s ring full, %s no ring slot, %s by the daemon\n",
	       STATUS_U64(dr, "ring_full", status_count, a),
	       STATUS_U64(dr, "no_slot", status_count, b),
	       STATUS_U64(dr, "daemon", status_count, c));
	putchar('\n');
	if (cl->n == 0) {
		printf("no clients\n");
	} else {
		printf("%4s %8s %-12s %-12s %-11s %7s %7s %8s %7s %10s %7s %s\n", "ID", "PID",
		       "SESSION", "NAME", "STATE", "RINGS", "THREADS", "EVENTS", "EV/S", "BYTES",
		       "DROPS", "COMMAND");
	}
	for (size_t i = 0; i < cl->n; i++) {
		const struct status_jval *k = &cl->v[i], *kd = status_get(k, "dropped");
		uint64_t drops = 0, x;
		char rings[24], id[24], pid[24], th[24], drop[32];

		if (status_u64(kd, "ring_full", &x))
			drops += x;
		if (status_u64(kd, "no_slot", &x))
			drops += x;
		if (status_u64(kd, "daemon", &x))
			drops += x;
		snprintf(rings, sizeof(rings), "%s/", STATUS_U64(k, "rings_in_use", status_count, a));
		strlcat(rings, STATUS_U64(k, "rings", status_count, a), sizeof(rings));
		snprintf(id, sizeof(id), "%s", STATUS_U64(k, "id", status_count, a));
		if (status_u64(k, "pid", &u))
			snprintf(pid, sizeof(pid), "%" PRIu64, u);
		else
			strlcpy(pid, "?", sizeof(pid));
		snprintf(th, sizeof(th), "%s", STATUS_U64(k, "threads", status_count, a));
		printf("%4s %8s %-12s %-12s %-11s %7s %7s %8s %7s %10s %7s %s\n", id, pid,
		       status_strv(k, "session", "?"), status_strv(k, "name", "?"),
		       status_strv(k, "state", "?"), rings, th,
		       STATUS_U64(k, "events_written", status_count, b),
		       STATUS_U64(k, "events_per_s", status_count, c),
		       STATUS_U64(k, "bytes_written", status_bytes, e),
		       status_count(drop, sizeof(drop), drops), status_strv(k, "command", ""));
		if (status_strv(k, "reason", NULL))
			printf("%4s reason: %s\n", "", status_strv(k, "reason", ""));
	}
	if (status_u64(doc, "clients_omitted", &omitted) && omitted)
		printf("(%" PRIu64 " more clients not shown: the status is capped at %u bytes)\n",
		       omitted, RP_STATUS_PAYLOAD_MAX);
}

/* ---- the exchange ---- */

/* Read exactly n bytes; n, or fewer when the daemon closed, or -errno. */
static ssize_t status_read(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, (char *)buf + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return got ? (ssize_t)got : -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int status_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = STATUS_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ringprof: status: cannot connect to %s: %s\n", path,
			strerror(ENAMETOOLONG));
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "ringprof: status: cannot connect to %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Report a short read: the daemon closed, timed out, or failed. */
static void status_short(const char *path, ssize_t got, size_t want, const char *what)
{
	if (got == -EAGAIN || got == -EWOULDBLOCK)
		fprintf(stderr, "ringprof: status: %s: no reply within %d s\n", path,
			STATUS_TIMEOUT_S);
	else if (got < 0)
		fprintf(stderr, "ringprof: status: %s: cannot read the reply: %s\n", path,
			strerror((int)-got));
	else
		fprintf(stderr, "ringprof: status: malformed reply from %s: %s cut off after "
			"%zd of %zu bytes\n", path, what, got, want);
}

/* Ask the daemon at path; the JSON document into *json (NUL-terminated).
 * 0 or CLI_EXIT_BAD with the error printed. */
static int status_ask(const char *path, char **json, size_t *len)
{
	struct rp_status_request q = {
		.magic = RP_STATUS_MAGIC, .version = RP_WIRE_VERSION, .size = sizeof(q),
	};
	struct rp_status_reply r;
	ssize_t got;
	int fd = status_connect(path);

	if (fd < 0)
		return CLI_EXIT_BAD;
	if (send(fd, &q, sizeof(q), MSG_NOSIGNAL) != (ssize_t)sizeof(q)) {
		fprintf(stderr, "ringprof: status: %s: cannot send the request: %s\n", path,
			strerror(errno));
		goto err_fd;
	}
	/* magic, version and size first: they say what follows */
	if ((got = status_read(fd, &r, 8)) != 8) {
		status_short(path, got, 8, "reply header");
		goto err_fd;
	}
	if (r.magic == RP_ANSWER_MAGIC && r.size == sizeof(struct rp_answer)) {
		struct rp_answer a;

		memcpy(&a, &r, 8);
		if (status_read(fd, (char *)&a + 8, sizeof(a) - 8) == sizeof(a) - 8) {
			a.reason[sizeof(a.reason) - 1] = '\0';
			fprintf(stderr, "ringprof: status: the daemon at %s does not answer status "
				"requests: %s\n", path, a.reason);
			goto err_fd;
		}
	}
	if (r.magic != RP_STATUS_REPLY_MAGIC) {
		fprintf(stderr, "ringprof: status: malformed reply from %s: magic 0x%08" PRIx32
			", expected 0x%08x\n", path, r.magic, RP_STATUS_REPLY_MAGIC);
		goto err_fd;
	}
	if (r.version != RP_WIRE_VERSION || r.size != sizeof(r)) {
		fprintf(stderr, "ringprof: status: %s answers protocol version %u (%u bytes); "
			"this ringprof speaks version %u\n", path, r.version, r.size,
			RP_WIRE_VERSION);
		goto err_fd;
	}
	if ((got = status_read(fd, (char *)&r + 8, sizeof(r) - 8)) != sizeof(r) - 8) {
		status_short(path, got < 0 ? got : got + 8, sizeof(r), "reply header");
		goto err_fd;
	}
	r.reason[sizeof(r.reason) - 1] = '\0';
	if (r.status != 0) {
		fprintf(stderr, "ringprof: status: refused by the daemon: %s\n",
			r.reason[0] ? r.reason : strerror(r.status < 0 ? -r.status : r.status));
		goto err_fd;
	}
	if (r.payload_len > RP_STATUS_PAYLOAD_MAX) {
		fprintf(stderr, "ringprof: status: malformed reply from %s: payload of %" PRIu32
			" bytes exceeds %u\n", path, r.payload_len, RP_STATUS_PAYLOAD_MAX);
		goto err_fd;
	}
	*json = malloc((size_t)r.payload_len + 1);
	if (!*json) {
		fprintf(stderr, "ringprof: out of memory\n");
		goto err_fd;
	}
	if ((got = status_read(fd, *json, r.payload_len)) != (ssize_t)r.payload_len) {
		status_short(path, got, r.payload_len, "document");
		free(*json);
		*json = NULL;
		goto err_fd;
	}
	(*json)[r.payload_len] = '\0';
	*len = r.payload_len;
	close(fd);
	return 0;

err_fd:
	close(fd);
	return CLI_EXIT_BAD;
}

/* Parse and check the shape the table relies on; 0 or CLI_EXIT_BAD. */
static int status_check(const char *path, const char *json, size_t len,
			struct status_jval *doc)
{
	struct status_parser ps = { .p = json, .start = json, .end = json + len };
	const char *what = NULL;
	uint64_t format;

	if (status_parse_value(&ps, doc, 0) == 0) {
		status_ws(&ps);
		if (ps.p != ps.end)
			status_fail(&ps, "text after the document");
	}
	if (ps.err) {
		fprintf(stderr, "ringprof: status: malformed reply from %s: %s at byte %zu of "
			"the document\n", path, ps.err, (size_t)(ps.p - ps.start));
		return CLI_EXIT_BAD;
	}
	if (doc->type != SJ_OBJ)
		what = "not an object";
	else if (!status_u64(doc, "format", &format) || format != RP_STATUS_FORMAT)
		what = "unknown \"format\"";
	else if (!status_get(doc, "daemon") || status_get(doc, "daemon")->type != SJ_OBJ)
		what = "no \"daemon\" object";
	else if (!status_get(doc, "totals") || status_get(doc, "totals")->type != SJ_OBJ)
		what = "no \"totals\" object";
	else if (!status_get(doc, "clients") || status_get(doc, "clients")->type != SJ_ARR)
		what = "no \"clients\" array";
	for (size_t i = 0; !what && i < status_get(doc, "clients")->n; i++)
		if (status_get(doc, "clients")->v[i].type != SJ_OBJ)
			what = "a client is not an object";
	if (what) {
		fprintf(stderr, "ringprof: status: malformed reply from %s: %s\n", path, what);
		return CLI_EXIT_BAD;
	}
	return 0;
}

int status_main(int argc, char **argv)
{
	const char *path = getenv("RINGPROF_SOCKET");
	struct status_jval doc = { 0 };
	bool json = false;
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (!path || !*path)
		path = RP_DEFAULT_SOCKET;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(status_usage, stdout);
			return 0;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--socket") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "ringprof status: --socket needs a PATH\n");
				fputs(status_usage, stderr);
				return CLI_EXIT_USAGE;
			}
			path = argv[++i];
		} else if (strncmp(a, "--socket=", 9) == 0) {
			path = a + 9;
		} else if (a[0] == '-') {
			fprintf(stderr, "ringprof status: unknown option '%s'\n", a);
			fputs(status_usage, stderr);
			return CLI_EXIT_USAGE;
		} else {
			fprintf(stderr, "ringprof status: unexpected argument '%s'\n", a);
			fputs(status_usage, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if ((ret = status_ask(path, &text, &len)) != 0)
		return ret;
	if ((ret = status_check(path, text, len, &doc)) == 0) {
		if (json) {
			status_print_json(&doc, 0);
			putchar('\n');
		} else {
			status_print_table(&doc);
		}
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "ringprof: status: cannot write the output: %s\n",
				strerror(errno));
			ret = CLI_EXIT_BAD;
		}
	}
	status_jfree(&doc);
	free(text);
	return ret;
}
