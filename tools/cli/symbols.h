/*
 * symbols.h - function names for the events of the -finstrument-functions
 * adapter (client/ringprof_cyg.h), read from the ELF files (symbols.c).
 */
#ifndef RINGPROF_CLI_SYMBOLS_H
#define RINGPROF_CLI_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ringprof/reader.h>

/* The kind of the adapter's intervals (RINGPROF_CYG_KIND). */
#define SYMBOLS_KIND "Function"

struct symbols_module;
struct symbols_name;

/* Zero-initialise (struct symbols s = { 0 }); free with symbols_free(). */
struct symbols {
	struct symbols_module *mods;  /* files, by path and build id */
	size_t nmods, mcap;
	struct symbols_name *names;   /* (module, address) -> name, open addressing */
	size_t nnames, ncap;
	const char **ids;             /* this segment: argument id -> name */
	size_t nids;
};

/*
 * Name the function of an EVENT item of kind "Function" whose argument is
 * an adapter address ("/usr/bin/tcc+0x1a2b0@<build id>"): it->event.arg
 * then points at the demangled name ("tcc_compile", "ns::f(int)"), valid
 * until symbols_free().  A file that is missing, unreadable or of another
 * build id gives "tcc+0x1a2b0"; an address outside any file "0x7f12...".
 * SEGMENT items reset the per-segment cache; other items are left alone,
 * and so is everything when memory runs out.  Never fails.
 */
void symbols_item(struct symbols *s, struct rp_item *it);

/* The name of one adapter argument (len bytes), or NULL when arg is not
 * one; valid until symbols_free(). */
const char *symbols_name(struct symbols *s, const char *arg, size_t len);

/* Free everything s holds. */
void symbols_free(struct symbols *s);

#endif /* RINGPROF_CLI_SYMBOLS_H */
