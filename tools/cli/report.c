/*
 * report.c - `ringprof report BASE NEW -o FILE`: the comparison of two runs
 * as one self-contained HTML page.
 *
 * The page is report.html (built into the binary by embed.cmake) with the
 * comparison written as JSON where it says RINGPROF_DATA; its own script
 * renders the tables.  Nothing is loaded from anywhere else.  The JSON is
 * the one of `ringprof diff --json`, for all processes and for each pair
 * of matched processes:
 *   {"base_paths":[...],"new_paths":[...],
 *    "all":{"items":[...],"base":{totals},"new":{totals}},
 *    "processes":[{name, cmdline, base_pid, new_pid, matched, items, base, new}]}
 * with '<' written as \u003c so no string can close the script element.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "profile.h"

#define REPORT_RECOVER 0x1u
#define REPORT_BY_ARG  0x2u

extern const char report_html[];
extern const size_t report_html_len;

static const char report_usage[] =
	"usage: ringprof report [--recover] [--by-arg] BASE NEW -o FILE\n"
	"\n"
	"Write the comparison of two runs as one HTML page to FILE: BASE and NEW\n"
	"are each a segment file or a directory (a whole build), compared as\n"
	"'ringprof diff' does.  The page needs nothing but itself (no network):\n"
	"totals of both runs, the processes matched with their CPU times (click\n"
	"one to see only its items), and the items with both runs side by side,\n"
	"changes coloured (red: more time, green: less) and columns sorted by a\n"
	"click on their header.\n"
	"\n"
	"  -o, --output FILE  where to write the page (required)\n"
	"  --recover          read every whole block of a damaged file instead of stopping\n"
	"  --by-arg           one row per whole argument instead of per label\n";

static void report_json_paths(FILE *f, char *const *paths, int n)
{
	fputc('[', f);
	for (int i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		profile_json_str(f, paths[i], strlen(paths[i]));
	}
	fputc(']', f);
}

static int report_json(FILE *f, const struct diff *d, char *base, char *new)
{
	int ret;

	fputs("{\"base_paths\":", f);
	report_json_paths(f, &base, 1);
	fputs(",\"new_paths\":", f);
	report_json_paths(f, &new, 1);
	fputs(",\"all\":{", f);
	ret = diff_json_section(f, d, 0, d->npairs);
	fputs("},\"processes\":[", f);
	for (size_t i = 0; ret == 0 && i < d->npairs; i++) {
		fprintf(f, "%s{", i ? "," : "");
		diff_json_pair(f, &d->pairs[i]);
		fputc(',', f);
		ret = diff_json_section(f, d, i, i + 1);
		fputc('}', f);
	}
	fputs("]}", f);
	return ret;
}

/* Write the page to out; 0 or -errno after printing why. */
static int report_write(const char *out, const struct diff *d, char *base, char *new)
{
	static const char marker[] = "/*RINGPROF_DATA*/";
	const char *at = memmem(report_html, report_html_len, marker, sizeof(marker) - 1);
	size_t head = at ? (size_t)(at - report_html) : report_html_len;
	FILE *f;
	int ret;

	if (!at) {
		fprintf(stderr, "ringprof: the built-in page has no data marker\n");
		return -EINVAL;
	}
	f = fopen(out, "w");
	if (!f) {
		ret = -errno;
		fprintf(stderr, "ringprof: %s: %s\n", out, strerror(errno));
		return ret;
	}
	fwrite(report_html, 1, head, f);
	ret = report_json(f, d, base, new);
	if (ret < 0) {
		fprintf(stderr, "ringprof: out of memory\n");
		goto err_file;
	}
	head += sizeof(marker) - 1;
	fwrite(report_html + head, 1, report_html_len - head, f);
	if (ferror(f)) {
		ret = -EIO;
		fprintf(stderr, "ringprof: %s: write error\n", out);
		goto err_file;
	}
	if (fclose(f) != 0) {
		ret = -errno;
		fprintf(stderr, "ringprof: %s: %s\n", out, strerror(errno));
		return ret;
	}
	return 0;
err_file:
	fclose(f);
	return ret;
}

/* Take "-o FILE" / "--output FILE" out of argv (before "--"); the new argc,
 * or -1 when the value is missing or given twice. */
static int report_take_output(int argc, char **argv, const char **out)
{
	int n = 0;
	bool options = true;

	*out = NULL;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && options && strcmp(argv[i], "--") == 0)
			options = false;
		if (i > 0 && options &&
		    (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0)) {
			if (i + 1 >= argc || *out) {
				fprintf(stderr, "ringprof report: %s\n",
					*out ? "-o given twice" : "-o needs a FILE");
				return -1;
			}
			*out = argv[++i];
			continue;
		}
		argv[n++] = argv[i];
	}
	return n;
}

int report_main(int argc, char **argv)
{
	static const struct cli_flag flags[] = {
		{ "--recover", REPORT_RECOVER }, { "--by-arg", REPORT_BY_ARG }, { NULL, 0 }
	};
	const char *out;
	struct diff d;
	unsigned bits;
	int n, ret, status = 0;

	argc = report_take_output(argc, argv, &out);
	if (argc < 0) {
		fputs(report_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	n = cli_parse(argc, argv, flags, &bits, report_usage);
	if (n < 0)
		return n == -2 ? 0 : CLI_EXIT_USAGE;
	if (n != 2 || !out) {
		fprintf(stderr, "ringprof report: %s\n",
			n != 2 ? "give exactly two paths, BASE and NEW" : "no -o FILE given");
		fputs(report_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	ret = diff_open(&d, argv, 1, argv + 1, 1, bits & REPORT_RECOVER ? RP_READER_RECOVER : 0,
			bits & REPORT_BY_ARG);
	if (ret == 0)
		ret = report_write(out, &d, argv[0], argv[1]);
	if (ret < 0 || d.base.damaged || d.new.damaged)
		status = CLI_EXIT_BAD;
	diff_close(&d);
	return status;
}
