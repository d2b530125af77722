/*
 * log.c - one line per event on stderr, "ringprofd: " prefix.
 *
 * Each line is formatted into one buffer and written with one write(2), so
 * lines from the daemon never interleave with each other.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ringprofd.h"

static enum log_level log_max = LOG_LEVEL_INFO;

void log_init(enum log_level level)
{
	log_max = level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (level > log_max)
		return;
	n = snprintf(line, sizeof(line), "ringprofd: ");
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* Nothing useful to do when stderr is gone. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

#define LOG_FN(fn, level)                        \
	void fn(const char *fmt, ...)            \
	{                                        \
		va_list ap;                      \
		va_start(ap, fmt);               \
		log_vwrite(level, fmt, ap);      \
		va_end(ap);                      \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(status);
}
