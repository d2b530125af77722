/*
 * chrome.c - `ringprof chrome`: the Trace Event Format (JSON) that Perfetto
 * UI and chrome://tracing load.
 *
 * Streamed: an interval is written as one complete ("X") event when its END
 * is read, so memory holds only the open intervals of each thread (nest.c),
 * never the trace.  Events therefore come in order of their end, not their
 * start, which both viewers accept.  Times are CLOCK_MONOTONIC in
 * microseconds with the nanoseconds as 3 decimals, so traces of processes
 * recorded on one host line up.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "cli.h"
#include "export.h"

static const char chrome_usage[] =
	"usage: ringprof chrome [-o FILE] [--min-duration NS] [--kinds K1,K2...]\n"
	"                       [--recover] PATH...\n"
	"\n"
	"Write the events as a Trace Event Format JSON file for Perfetto UI\n"
	"(ui.perfetto.dev) or chrome://tracing: one track per thread (pid = the\n"
	"client's pid, tid = its thread number; the thread's name and kernel tid\n"
	"are in its name), intervals as complete events (\"X\", named after their\n"
	"argument, else their kind; category: the kind; args.arg: the argument),\n"
	"instants as thread-scoped instant events (\"i\"), integers as counters\n"
	"(\"C\", named after the kind, one series per argument).  Times are\n"
	"CLOCK_MONOTONIC microseconds with nanosecond decimals.  An END closes the\n"
	"innermost open BEGIN of the same kind and argument, as in summarize;\n"
	"intervals still open at the end are written up to the thread's last event\n"
	"with args.open = true; ENDs without BEGIN are counted on stderr.\n"
	"\n"
	"  -o, --output FILE    write to FILE instead of standard output\n"
	"  --min-duration NS    leave out intervals shorter than NS nanoseconds\n"
	"  --kinds K1,K2...     keep only events of these kinds\n"
	"  --recover            read every whole block of a damaged file instead of\n"
	"                       stopping (exit status 1 all the same)\n";

struct chrome {
	FILE *out;
	bool first;               /* no event written yet */
	uint64_t min_ns;
	char **kinds;             /* NULL: all */
	size_t nkinds;
	struct nest nest;
	uint64_t written;
};

void chrome_json_str(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		size_t n = rp_json_utf8_len(s + i, len - i);

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20 || c == 0x7f || n == 0) {
			fprintf(f, "\\u%04x", c);  /* a control or a stray byte */
		} else {
			fwrite(p + i, 1, n, f);
			i += n;
			continue;
		}
		i++;
	}
	fputc('"', f);
}

/* ns as microseconds with 3 decimals. */
static void chrome_us(FILE *f, int64_t ns)
{
	uint64_t mag = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

	fprintf(f, "%s%" PRIu64 ".%03u", ns < 0 ? "-" : "", mag / 1000, (unsigned)(mag % 1000));
}

/* Start an event: separator, then {"name":name (len bytes). */
static void chrome_start(struct chrome *c, const char *name, size_t len)
{
	fputs(c->first ? "\n{\"name\":" : ",\n{\"name\":", c->out);
	c->first = false;
	chrome_json_str(c->out, name, len);
	c->written++;
}

static void chrome_ids(struct chrome *c, const struct nest_thread *t)
{
	fprintf(c->out, ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32,
		c->nest.procs[t->proc].pid, t->thread);
}

static bool chrome_keeps(const struct chrome *c, const char *kind, size_t kl)
{
	if (!c->kinds)
		return true;
	for (size_t i = 0; i < c->nkinds; i++)
		if (strlen(c->kinds[i]) == kl && memcmp(c->kinds[i], kind, kl) == 0)
			return true;
	return false;
}

/* One complete event for interval o of thread t. */
static void chrome_complete(struct chrome *c, const struct nest_thread *t,
			    const struct nest_open *o, uint64_t dur, bool open)
{
	if (dur < c->min_ns)
		return;
	if (o->arg)
		chrome_start(c, o->arg, o->al);
	else
		chrome_start(c, o->kind, o->kl);
	fputs(",\"cat\":", c->out);
	chrome_json_str(c->out, o->kind, o->kl);
	fputs(",\"ph\":\"X\",\"ts\":", c->out);
	chrome_us(c->out, o->begin_ns);
	fputs(",\"dur\":", c->out);
	chrome_us(c->out, dur > INT64_MAX ? INT64_MAX : (int64_t)dur);
	chrome_ids(c, t);
	if (o->arg || open) {
		fputs(",\"args\":{", c->out);
		if (o->arg) {
			fputs("\"arg\":", c->out);
			chrome_json_str(c->out, o->arg, o->al);
		}
		if (open)
			fputs(o->arg ? ",\"open\":true" : "\"open\":true", c->out);
		fputc('}', c->out);
	}
	fputc('}', c->out);
}

static int chrome_event(struct chrome *c, const struct rp_item *it)
{
	const char *k = it->event.kind, *a = it->event.arg;
	size_t kl = it->event.kind_len, al = it->event.arg_len;
	struct nest_thread *t = nest_thread_get(&c->nest, it->event.thread);
	struct nest_open o;
	uint64_t dur, self;
	ssize_t i;

	if (!t || nest_event(t, it) < 0)
		return -ENOMEM;
	if (it->event.type == RP_REC_THREAD_NAME || !chrome_keeps(c, k, kl))
		return 0;
	switch (it->event.type) {
	case RP_REC_BEGIN:
		return nest_begin(t, it, 0);
	case RP_REC_END:
		i = nest_match(&c->nest, t, it);
		if (i >= 0) {
			nest_close(t, (size_t)i, it->event.ns, &o, &dur, &self);
			chrome_complete(c, t, &o, dur, false);
			nest_release(&o);
		}
		return 0;
	case RP_REC_INSTANT:
		if (a)
			chrome_start(c, a, al);
		else
			chrome_start(c, k, kl);
		fputs(",\"cat\":", c->out);
		chrome_json_str(c->out, k, kl);
		fputs(",\"ph\":\"i\",\"s\":\"t\",\"ts\":", c->out);
		chrome_us(c->out, it->event.ns);
		chrome_ids(c, t);
		if (a) {
			fputs(",\"args\":{\"arg\":", c->out);
			chrome_json_str(c->out, a, al);
			fputc('}', c->out);
		}
		fputc('}', c->out);
		return 0;
	case RP_REC_INTEGER:
		chrome_start(c, k, kl);
		fputs(",\"cat\":", c->out);
		chrome_json_str(c->out, k, kl);
		fputs(",\"ph\":\"C\",\"ts\":", c->out);
		chrome_us(c->out, it->event.ns);
		chrome_ids(c, t);
		fputs(",\"args\":{", c->out);
		if (a)
			chrome_json_str(c->out, a, al);
		else
			fputs("\"value\"", c->out);
		fprintf(c->out, ":%" PRIu64 "}}", it->event.value);
		return 0;
	default:
		return 0;
	}
}

static void chrome_process_name(struct chrome *c, const struct procid *pr)
{
	chrome_start(c, "process_name", 12);
	fprintf(c->out, ",\"ph\":\"M\",\"ts\":0,\"pid\":%" PRIu32 ",\"tid\":0,\"args\":{\"name\":",
		pr->pid);
	chrome_json_str(c->out, pr->name, strlen(pr->name));
	fputs("}}", c->out);
}

/* "worker-1 (tid 555)": the THREAD_NAME (else "thread N") and the kernel tid
 * when a THREADS item gave it. */
static void chrome_thread_name(struct chrome *c, const struct nest_thread *t)
{
	char num[48], *buf;
	size_t len;
	int n = t->name ? 0 : snprintf(num, sizeof(num), "thread %" PRIu32, t->thread);
	const char *base = t->name ? t->name : num;
	size_t bl = t->name ? t->name_len : (size_t)n;

	if (t->tid == 0) {
		chrome_json_str(c->out, base, bl);
		return;
	}
	buf = malloc(bl + 32);
	if (!buf) {  /* the name alone, then */
		chrome_json_str(c->out, base, bl);
		return;
	}
	memcpy(buf, base, bl);
	len = bl + (size_t)snprintf(buf + bl, 32, " (tid %" PRIu32 ")", t->tid);
	chrome_json_str(c->out, buf, len);
	free(buf);
}

static void chrome_open_complete(void *ctx, const struct nest_thread *t,
				 const struct nest_open *o, uint64_t dur, uint64_t self)
{
	(void)self;
	chrome_complete(ctx, t, o, dur, true);
}

/* Open intervals up to their thread's last event, outermost first, then
 * the thread names. */
static void chrome_finish(struct chrome *c, uint64_t *open)
{
	for (size_t i = 0; i < c->nest.nthreads; i++) {
		struct nest_thread *t = &c->nest.threads[i];

		*open += nest_drain(t, true, chrome_open_complete, c);
		if (!t->seen)
			continue;
		chrome_start(c, "thread_name", 11);
		fputs(",\"ph\":\"M\",\"ts\":0", c->out);
		chrome_ids(c, t);
		fputs(",\"args\":{\"name\":", c->out);
		chrome_thread_name(c, t);
		fputs("}}", c->out);
	}
}

static int chrome_item(void *ctx, const struct rp_item *it)
{
	struct chrome *c = ctx;
	struct nest_thread *t;
	int ret;

	switch (it->kind) {
	case RP_ITEM_SEGMENT:
		ret = nest_segment(&c->nest, it);
		if (ret == 1)
			chrome_process_name(c, &c->nest.procs[c->nest.cur]);
		return ret;
	case RP_ITEM_THREAD:
		t = nest_thread_get(&c->nest, it->thread.t.thread);
		if (!t)
			return -ENOMEM;
		t->tid = it->thread.t.tid;
		return 0;
	case RP_ITEM_EVENT:
		return chrome_event(c, it);
	default:
		return 0;
	}
}

static int chrome_kinds(struct chrome *c, char *list)
{
	for (char *s = list, *tok; (tok = strsep(&s, ",")) != NULL;) {
		char **k = reallocarray(c->kinds, c->nkinds + 1, sizeof(*k));

		if (!k)
			return -ENOMEM;
		c->kinds = k;
		c->kinds[c->nkinds++] = tok;
	}
	return 0;
}

int chrome_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "min-duration", required_argument, NULL, 'm' },
		{ "kinds", required_argument, NULL, 'k' },
		{ "recover", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct chrome c = { .out = stdout, .first = true };
	const char *output = NULL;
	unsigned flags = RP_READER_ALLOW_UNSEALED;
	struct input in;
	uint64_t open = 0;
	int opt, status = 0;
	char *end;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			output = optarg;
			break;
		case 'm':
			errno = 0;
			c.min_ns = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-') {
				fprintf(stderr, "ringprof chrome: --min-duration wants ns, not '%s'\n",
					optarg);
				goto err_usage;
			}
			break;
		case 'k':
			if (chrome_kinds(&c, optarg) < 0)
				goto err_nomem;
			break;
		case 'r':
			flags |= RP_READER_RECOVER;
			break;
		case 'h':
			fputs(chrome_usage, stdout);
			free(c.kinds);
			return 0;
		case ':':
			fprintf(stderr, "ringprof chrome: option '%s' needs a value\n",
				argv[optind - 1]);
			goto err_usage;
		default:
			fprintf(stderr, "ringprof chrome: unknown option '%s'\n", argv[optind - 1]);
			goto err_usage;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "ringprof chrome: no PATH given\n");
		goto err_usage;
	}
	if (input_open(&in, argv + optind, argc - optind, flags) < 0) {
		free(c.kinds);
		return CLI_EXIT_BAD;
	}
	if (output && strcmp(output, "-") != 0) {
		c.out = fopen(output, "w");
		if (!c.out) {
			fprintf(stderr, "ringprof chrome: %s: %s\n", output, strerror(errno));
			input_close(&in);
			free(c.kinds);
			return CLI_EXIT_BAD;
		}
	}
	setvbuf(c.out, NULL, _IOFBF, 1 << 20);
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", c.out);
	if (input_read(&in, "chrome", chrome_item, &c) < 0 && !in.failed)
		goto err_nomem_input;
	if (in.damaged || in.failed)
		status = CLI_EXIT_BAD;
	chrome_finish(&c, &open);
	fputs("\n]}\n", c.out);
	nest_warn(&c.nest, open, "chrome", "written with \"open\": true");
	if ((c.out == stdout ? fflush(c.out) : fclose(c.out)) != 0 || (c.out == stdout && ferror(stdout))) {
		fprintf(stderr, "ringprof chrome: %s: %s\n", output && c.out != stdout ? output :
			"standard output", strerror(errno));
		status = CLI_EXIT_BAD;
	}
	input_close(&in);
	nest_free(&c.nest);
	free(c.kinds);
	return status;

err_nomem_input:
	if (c.out != stdout)
		fclose(c.out);
	input_close(&in);
	nest_free(&c.nest);
err_nomem:
	free(c.kinds);
	return CLI_EXIT_BAD;
err_usage:
	fputs(chrome_usage, stderr);
	free(c.kinds);
	return CLI_EXIT_USAGE;
}
