/*
 * main.c - `ringprof <command>`: dispatch, option parsing and printing
 * helpers shared by the subcommands.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char main_usage[] =
	"usage: ringprof <command> [options] PATH...\n"
	"\n"
	"Read ringprof segment files; a PATH is a segment file or a directory\n"
	"searched recursively for *.rpseg files.\n"
	"\n"
	"commands:\n"
	"  dump       print every item of the segments, one line each\n"
	"  verify     check every block of every segment\n"
	"  summarize  time, count and cache hits per query; artifact sizes\n"
	"  diff       compare two runs item by item (BASE NEW)\n"
	"  report     the comparison of two runs as an HTML page (BASE NEW -o FILE)\n"
	"  chrome     Trace Event Format JSON for Perfetto UI and chrome://tracing\n"
	"  folded     folded stacks for flamegraph.pl, inferno and speedscope\n"
	"  stat       events, sizes, compression and losses of the segments\n"
	"  status     what the running daemon records now (no PATH; --socket PATH)\n"
	"\n"
	"Run 'ringprof <command> --help' for the options of a command.\n";

int cli_parse(int argc, char **argv, const struct cli_flag *flags, unsigned *bits,
	      const char *usage)
{
	int n = 0;
	bool options = true;

	*bits = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool known = false;

		if (options && strcmp(a, "--") == 0) {
			options = false;
			continue;
		}
		if (options && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			fputs(usage, stdout);
			return -2;
		}
		if (options && a[0] == '-' && a[1] != '\0') {
			for (const struct cli_flag *f = flags; f && f->name; f++) {
				if (strcmp(a, f->name) == 0) {
					*bits |= f->bit;
					known = true;
				}
			}
			if (!known) {
				fprintf(stderr, "ringprof %s: unknown option '%s'\n", argv[0], a);
				fputs(usage, stderr);
				return -1;
			}
			continue;
		}
		argv[n++] = argv[i];
	}
	if (n == 0) {
		fprintf(stderr, "ringprof %s: no PATH given\n", argv[0]);
		fputs(usage, stderr);
		return -1;
	}
	return n;
}

struct rp_reader *cli_open(char **paths, int n, unsigned flags)
{
	char err[512];
	struct rp_reader *r = rp_reader_open((const char *const *)paths, (size_t)n, flags,
					     err, sizeof(err));

	if (!r)
		fprintf(stderr, "ringprof: %s\n", err);
	return r;
}

void cli_print_bytes(FILE *f, const char *s, size_t len, bool quote)
{
	if (quote)
		fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (quote && (c == '"' || c == '\\')))
			fprintf(f, c == '"' || c == '\\' ? "\\%c" : "\\x%02x", c);
		else
			fputc(c, f);
	}
	if (quote)
		fputc('"', f);
}

void cli_print_ms(FILE *f, int64_t ns)
{
	uint64_t mag = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

	fprintf(f, "%s%" PRIu64 ".%06" PRIu64, ns < 0 ? "-" : "", mag / 1000000, mag % 1000000);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} cmds[] = {
		{ "dump", dump_main },
		{ "verify", verify_main },
		{ "summarize", summarize_main },
		{ "diff", diff_main },
		{ "report", report_main },
		{ "chrome", chrome_main },
		{ "folded", folded_main },
		{ "stat", stat_main },
		{ "status", status_main },
	};

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (argc < 2) {
		fputs(main_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ringprof: unknown command '%s'\n", argv[1]);
	fputs(main_usage, stderr);
	return CLI_EXIT_USAGE;
}
