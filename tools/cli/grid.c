/*
 * grid.c - text tables for summarize and diff: cells kept as strings until
 * the widths are known; first column left-aligned, the others right, two
 * spaces between columns.  Widths count bytes (cells are ASCII: other bytes
 * are shown as \xNN).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "cli.h"
#include "profile.h"

static int grid_push(struct grid *g, char *cell)
{
	if (!cell)
		return -ENOMEM;
	if (g->rows == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		char **cells = reallocarray(g->cells, cap, g->cols * sizeof(*cells));
		if (!cells) {
			free(cell);
			return -ENOMEM;
		}
		g->cells = cells;
		g->cap = cap;
	}
	g->cells[g->rows * g->cols + g->fill++] = cell;
	if (g->fill == g->cols) {
		g->fill = 0;
		g->rows++;
	}
	return 0;
}

int grid_open(struct grid *g, size_t cols, const char *const *heads)
{
	memset(g, 0, sizeof(*g));
	g->cols = cols;
	g->hidden = calloc(cols, sizeof(*g->hidden));
	if (!g->hidden)
		return -ENOMEM;
	for (size_t c = 0; c < cols; c++)
		if (grid_push(g, strdup(heads[c])) < 0)
			return -ENOMEM;
	return 0;
}

int grid_cell(struct grid *g, const char *fmt, ...)
{
	va_list ap;
	char *cell;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&cell, fmt, ap);
	va_end(ap);
	return grid_push(g, n < 0 ? NULL : cell);
}

int grid_cell_bytes(struct grid *g, const char *s, size_t len)
{
	char *cell = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&cell, &n);

	if (!m)
		return -ENOMEM;
	cli_print_bytes(m, s, len, false);
	if (fclose(m) != 0) {
		free(cell);
		return -ENOMEM;
	}
	return grid_push(g, cell);
}

void grid_fmt_ms(char *buf, size_t len, int64_t ns, bool sign)
{
	uint64_t mag = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;

	snprintf(buf, len, "%s%" PRIu64 ".%06" PRIu64, ns < 0 ? "-" : sign && ns > 0 ? "+" : "",
		 mag / 1000000, mag % 1000000);
}

int grid_cell_ms(struct grid *g, int64_t ns, bool sign)
{
	char b[32];

	grid_fmt_ms(b, sizeof(b), ns, sign);
	return grid_push(g, strdup(b));
}

void grid_hide_if_zero(struct grid *g, size_t c)
{
	for (size_t r = 1; r < g->rows; r++) {
		const char *s = g->cells[r * g->cols + c];
		if (strcmp(s, "0.000000") != 0 && strcmp(s, "0") != 0 && strcmp(s, "+0") != 0)
			return;
	}
	g->hidden[c] = true;
}

void grid_print(const struct grid *g, FILE *f)
{
	size_t w[g->cols ? g->cols : 1];

	for (size_t c = 0; c < g->cols; c++) {
		w[c] = 0;
		for (size_t r = 0; r < g->rows; r++) {
			size_t l = strlen(g->cells[r * g->cols + c]);
			if (l > w[c])
				w[c] = l;
		}
	}
	for (size_t r = 0; r < g->rows; r++) {
		bool first = true;
		for (size_t c = 0; c < g->cols; c++) {
			const char *s = g->cells[r * g->cols + c];

			if (g->hidden[c])
				continue;
			if (!first)
				fputs("  ", f);
			if (c == 0)
				fprintf(f, "%-*s", (int)w[c], s);
			else
				fprintf(f, "%*s", (int)w[c], s);
			first = false;
		}
		fputc('\n', f);
	}
}

void grid_close(struct grid *g)
{
	for (size_t i = 0; i < g->rows * g->cols + g->fill; i++)
		free(g->cells[i]);
	free(g->cells);
	free(g->hidden);
	memset(g, 0, sizeof(*g));
}
