/*
 * folded.c - `ringprof folded`: folded stacks ("a;b;c 1234", self time in ns)
 * for flamegraph.pl, inferno and speedscope.
 *
 * Every thread's open intervals form its stack (nest.c matches them as
 * summarize does).  Stacks are nodes of a tree kept in one hash table, keyed
 * by (parent node, frame): an interval's node is found once at its BEGIN and
 * its self time (duration minus the intervals closed directly inside it) is
 * added to the node at its END.  Memory grows with the number of distinct
 * stacks, not with the events.  Lines are printed sorted by stack, bytewise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "cli.h"
#include "export.h"

#define FOLDED_BY_PROCESS 0x1u
#define FOLDED_RECOVER    0x2u

static const char folded_usage[] =
	"usage: ringprof folded [--by-process] [--recover] PATH...\n"
	"\n"
	"Print the intervals as folded stacks for flamegraph.pl, inferno or\n"
	"speedscope: one line per distinct stack, its frames separated by ';',\n"
	"then a space and the stack's self time in nanoseconds (time inside its\n"
	"innermost interval and not inside an interval nested in it), summed over\n"
	"every thread of every process.  A frame is the interval's label as in\n"
	"summarize (\"typeck(main)\" -> \"typeck\"; the kind without argument); ';'\n"
	"in a label becomes ':', control characters and invalid UTF-8 '?'.  An END\n"
	"closes the innermost open BEGIN of the same kind and argument; intervals\n"
	"still open at the end are closed at their thread's last event; ENDs\n"
	"without BEGIN are counted on stderr.  Lines are sorted by stack; stacks\n"
	"of no self time are left out.\n"
	"\n"
	"  --by-process  start every stack with its process name\n"
	"  --recover     read every whole block of a damaged file instead of\n"
	"                stopping (exit status 1 all the same)\n";

/* A stack: its innermost frame and the stack below it (0: none). */
struct folded_node {
	uint32_t parent;
	uint32_t len;
	char *frame;
	uint64_t hash;
	uint64_t self_ns;
};

struct folded {
	struct folded_node *nodes;   /* [0] is the empty stack */
	size_t n, cap;
	uint32_t *slots;             /* node indexes, 0 = empty slot */
	size_t mask;
	struct nest nest;
	bool by_process;
};

static uint64_t folded_hash(uint32_t parent, const char *s, size_t len)
{
	uint64_t h = 1469598103934665603u ^ parent;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h ^ (h >> 29);
}

static int folded_grow(struct folded *f)
{
	size_t cap = f->slots ? (f->mask + 1) * 2 : 1024;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 1; i < f->n; i++) {
		size_t j = f->nodes[i].hash & (cap - 1);

		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = (uint32_t)i;
	}
	free(f->slots);
	f->slots = slots;
	f->mask = cap - 1;
	return 0;
}

/* The node of frame (len bytes) on top of stack parent; 0 without memory. */
static uint32_t folded_node_get(struct folded *f, uint32_t parent, const char *s, size_t len)
{
	uint64_t h = folded_hash(parent, s, len);
	struct folded_node *nd;
	size_t i;

	if (f->n == UINT32_MAX)
		return 0;
	if ((f->n + 1) * 2 > (f->slots ? f->mask + 1 : 0) && folded_grow(f) < 0)
		return 0;
	for (i = h & f->mask; f->slots[i]; i = (i + 1) & f->mask) {
		nd = &f->nodes[f->slots[i]];
		if (nd->hash == h && nd->parent == parent && nd->len == len &&
		    memcmp(nd->frame, s, len) == 0)
			return f->slots[i];
	}
	if (f->n == f->cap) {
		size_t cap = f->cap * 2;

		nd = reallocarray(f->nodes, cap, sizeof(*nd));
		if (!nd)
			return 0;
		f->nodes = nd;
		f->cap = cap;
	}
	nd = &f->nodes[f->n];
	*nd = (struct folded_node){ .parent = parent, .len = (uint32_t)len, .hash = h };
	nd->frame = malloc(len + 1);
	if (!nd->frame)
		return 0;
	memcpy(nd->frame, s, len);
	nd->frame[len] = '\0';
	f->slots[i] = (uint32_t)f->n;
	return (uint32_t)f->n++;
}

/* The node a new interval of thread t starts from: its innermost open
 * interval's, else its process's frame (--by-process) or the empty stack. */
static uint32_t folded_base(struct folded *f, const struct nest_thread *t)
{
	const char *name;

	if (t->depth)
		return (uint32_t)t->stack[t->depth - 1].user;
	if (!f->by_process)
		return 0;
	name = f->nest.procs[t->proc].name;
	return folded_node_get(f, 0, name, strlen(name));
}

/* Self time of interval o to its stack (a nest_drain() callback). */
static void folded_add(void *ctx, const struct nest_thread *t, const struct nest_open *o,
		       uint64_t dur, uint64_t self)
{
	struct folded *f = ctx;
	uint64_t *s = &f->nodes[o->user].self_ns;

	(void)t;
	(void)dur;

	*s = *s + self < *s ? UINT64_MAX : *s + self;
}

static int folded_event(struct folded *f, const struct rp_item *it)
{
	struct nest_thread *t = nest_thread_get(&f->nest, it->event.thread);
	const char *l;
	size_t ll;
	uint32_t base, node;
	ssize_t i;

	if (!t || nest_event(t, it) < 0)
		return -ENOMEM;
	if (it->event.type == RP_REC_BEGIN) {
		l = nest_label(it->event.kind, it->event.kind_len, it->event.arg,
			       it->event.arg_len, &ll);
		if (ll == 0) {  /* an empty argument: the kind, not an empty frame */
			l = it->event.kind;
			ll = it->event.kind_len;
		}
		base = folded_base(f, t);
		node = base || !f->by_process ? folded_node_get(f, base, l, ll) : 0;
		return node ? nest_begin(t, it, node) : -ENOMEM;
	}
	if (it->event.type == RP_REC_END) {
		i = nest_match(&f->nest, t, it);
		if (i >= 0) {
			struct nest_open o;
			uint64_t dur, self;

			nest_close(t, (size_t)i, it->event.ns, &o, &dur, &self);
			folded_add(f, t, &o, dur, self);
			nest_release(&o);
		}
	}
	return 0;
}

/* Append frame s as folded text: ';' as ':', controls and invalid UTF-8
 * as '?'. */
static void folded_frame(FILE *m, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		size_t n;

		if (c >= 0x80) {
			n = rp_json_utf8_len(s + i, len - i);
			if (n) {
				fwrite(p + i, 1, n, m);
				i += n;
				continue;
			}
			fputc('?', m);
		} else if (c < 0x20 || c == 0x7f) {
			fputc('?', m);
		} else {
			fputc(c == ';' ? ':' : c, m);
		}
		i++;
	}
}

struct folded_line {
	char *stack;
	uint64_t self_ns;
};

static int folded_line_cmp(const void *pa, const void *pb)
{
	const struct folded_line *a = pa, *b = pb;

	return strcmp(a->stack, b->stack);
}

/* The stack of node as text into *out (malloc'd); 0 or -ENOMEM. */
static int folded_stack(const struct folded *f, uint32_t node, char **out)
{
	uint32_t path[256], *deep = NULL, *frames = path;
	size_t depth = 0, cap = 256, len = 0;
	FILE *m;
	int ret = 0;

	for (uint32_t n = node; n; n = f->nodes[n].parent) {
		if (depth == cap) {
			uint32_t *d = reallocarray(deep, cap * 2, sizeof(*d));

			if (!d) {
				ret = -ENOMEM;
				goto err_path;
			}
			if (!deep)
				memcpy(d, path, sizeof(path));
			deep = frames = d;
			cap *= 2;
		}
		frames[depth++] = n;
	}
	m = open_memstream(out, &len);
	if (!m) {
		ret = -ENOMEM;
		goto err_path;
	}
	while (depth-- > 0) {
		const struct folded_node *nd = &f->nodes[frames[depth]];

		folded_frame(m, nd->frame, nd->len);
		if (depth)
			fputc(';', m);
	}
	if (fclose(m) != 0)
		ret = -ENOMEM;
err_path:
	free(deep);
	return ret;
}

static int folded_print(struct folded *f)
{
	struct folded_line *lines;
	size_t n = 0;
	int ret = 0;

	lines = calloc(f->n ? f->n : 1, sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	for (uint32_t i = 1; i < f->n; i++) {
		if (!f->nodes[i].self_ns)
			continue;
		ret = folded_stack(f, i, &lines[n].stack);
		if (ret < 0)
			goto err_lines;
		lines[n++].self_ns = f->nodes[i].self_ns;
	}
	qsort(lines, n, sizeof(*lines), folded_line_cmp);
	for (size_t i = 0; i < n;) {
		uint64_t self = lines[i].self_ns;
		size_t j = i + 1;

		/* stacks the frame cleaning made identical are one line */
		for (; j < n && strcmp(lines[j].stack, lines[i].stack) == 0; j++)
			self = self + lines[j].self_ns < self ? UINT64_MAX : self + lines[j].self_ns;
		printf("%s %" PRIu64 "\n", lines[i].stack, self);
		i = j;
	}
err_lines:
	for (size_t i = 0; i < n; i++)
		free(lines[i].stack);
	free(lines);
	return ret;
}

/* Intervals still open: closed at their thread's last event, innermost
 * first so that each one's self time leaves out those inside it. */
static void folded_finish(struct folded *f, uint64_t *open)
{
	for (size_t i = 0; i < f->nest.nthreads; i++)
		*open += nest_drain(&f->nest.threads[i], false, folded_add, f);
}

static int folded_item(void *ctx, const struct rp_item *it)
{
	struct folded *f = ctx;

	if (it->kind == RP_ITEM_SEGMENT)
		return nest_segment(&f->nest, it);
	if (it->kind == RP_ITEM_EVENT)
		return folded_event(f, it);
	return 0;
}

static void folded_free(struct folded *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->nodes[i].frame);
	free(f->nodes);
	free(f->slots);
	nest_free(&f->nest);
}

int folded_main(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "--by-process", FOLDED_BY_PROCESS }, { "--recover", FOLDED_RECOVER }, { NULL, 0 }
	};
	struct folded f = { 0 };
	struct input in;
	uint64_t open = 0;
	unsigned bits;
	int n, status = CLI_EXIT_BAD;

	n = cli_parse(argc, argv, flags, &bits, folded_usage);
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_USAGE;
	f.by_process = bits & FOLDED_BY_PROCESS;
	if (input_open(&in, argv, n, RP_READER_ALLOW_UNSEALED |
		       (bits & FOLDED_RECOVER ? RP_READER_RECOVER : 0)) < 0)
		return CLI_EXIT_BAD;
	f.cap = 1024;
	f.nodes = calloc(f.cap, sizeof(*f.nodes));
	if (!f.nodes) {
		fprintf(stderr, "ringprof: out of memory\n");
		goto out;
	}
	f.n = 1;
	if (input_read(&in, "folded", folded_item, &f) < 0)
		goto out;
	folded_finish(&f, &open);
	if (folded_print(&f) < 0) {
		fprintf(stderr, "ringprof: out of memory\n");
		goto out;
	}
	nest_warn(&f.nest, open, "folded", "closed at the thread's last event");
	status = in.damaged ? CLI_EXIT_BAD : 0;
out:
	input_close(&in);
	folded_free(&f);
	return status;
}
