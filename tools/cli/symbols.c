/*
 * symbols.c - the function names behind the adapter's addresses.
 *
 * The adapter (client/ringprof_cyg.h) names a function by the file its code
 * lives in and the function's address in that file:
 *   "<path>+0x<file address>@<GNU build id in hex, may be empty>"
 * elfutils' libdwfl opens the file (and finds its separate debug file by
 * .gnu_debuglink or build id, as gdb does), checks the build id against the
 * recorded one, and gives the symbol at that address; C++ names are
 * demangled by the C++ runtime's __cxa_demangle.  Each file is opened once,
 * each (file, address) named once, each string id of a segment looked up
 * once: after the first events of a function, an event costs an array index.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>

#include <bsd/stdlib.h>

#include "symbols.h"

/* The C++ ABI's demangler (libstdc++); a malloc()ed name or NULL. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define SYMBOLS_IDS_MAX (1u << 22)  /* string ids cached per segment */

struct symbols_module {
	char *path, *build_id;
	Dwfl *dwfl;               /* NULL: the file is missing or another build */
	Dwfl_Module *mod;
};

struct symbols_name {
	size_t mod;               /* index in mods, + 1; 0: empty slot */
	uint64_t addr;
	char *name;
};

static const Dwfl_Callbacks symbols_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static bool symbols_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Split an adapter argument; false when it is not one. */
static bool symbols_parse(const char *a, size_t len, size_t *path_len, uint64_t *addr,
			  const char **bid, size_t *bid_len)
{
	const char *at = memrchr(a, '@', len), *plus;
	char hex[17];
	size_t hl;

	if (!at || !symbols_is_hex(at + 1, len - (size_t)(at - a) - 1))
		return false;
	for (plus = at; plus > a && plus[-1] != '+'; plus--)
		;
	if (plus == a || at - plus < 3 || plus[0] != '0' || plus[1] != 'x')
		return false;
	hl = (size_t)(at - plus - 2);
	if (hl > 16 || !symbols_is_hex(plus + 2, hl))
		return false;
	memcpy(hex, plus + 2, hl);
	hex[hl] = '\0';
	*addr = strtoull(hex, NULL, 16);
	*path_len = (size_t)(plus - 1 - a);
	*bid = at + 1;
	*bid_len = len - (size_t)(at - a) - 1;
	return true;
}

/* Whether the file of m has build id bid (hex); a file without one passes
 * only when none was recorded. */
static bool symbols_build_id_is(Dwfl_Module *mod, const char *bid)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &bits, &vaddr);
	char hex[3];

	if (n <= 0)
		return bid[0] == '\0';
	if (strlen(bid) != 2 * (size_t)n && !(n > 64 && strlen(bid) == 128))
		return false;
	for (int i = 0; i < n && i < 64; i++) {
		snprintf(hex, sizeof(hex), "%02x", bits[i]);
		if (memcmp(hex, bid + 2 * i, 2) != 0)
			return false;
	}
	return true;
}

/* The module of (path, build id), opened when new; its index or -ENOMEM. */
static ssize_t symbols_module(struct symbols *s, const char *path, size_t pl, const char *bid,
			      size_t bl)
{
	struct symbols_module *m;

	for (size_t i = 0; i < s->nmods; i++) {
		m = &s->mods[i];
		if (strlen(m->path) == pl && memcmp(m->path, path, pl) == 0 &&
		    strlen(m->build_id) == bl && memcmp(m->build_id, bid, bl) == 0)
			return (ssize_t)i;
	}
	if (s->nmods == s->mcap) {
		size_t cap = s->mcap ? 2 * s->mcap : 8;

		m = reallocarray(s->mods, cap, sizeof(*m));
		if (!m)
			return -ENOMEM;
		s->mods = m;
		s->mcap = cap;
	}
	m = &s->mods[s->nmods];
	memset(m, 0, sizeof(*m));
	m->path = strndup(path, pl);
	m->build_id = strndup(bid, bl);
	if (!m->path || !m->build_id) {
		free(m->path);
		free(m->build_id);
		return -ENOMEM;
	}
	if (pl > 0 && (m->dwfl = dwfl_begin(&symbols_callbacks)) != NULL) {
		m->mod = dwfl_report_elf(m->dwfl, m->path, m->path, -1, 0, false);
		dwfl_report_end(m->dwfl, NULL, NULL);
		if (!m->mod || !symbols_build_id_is(m->mod, m->build_id)) {
			dwfl_end(m->dwfl);
			m->dwfl = NULL;
			m->mod = NULL;
		}
	}
	return (ssize_t)s->nmods++;
}

static uint64_t symbols_hash(size_t mod, uint64_t addr)
{
	return (addr ^ ((uint64_t)mod << 48)) * 0x9e3779b97f4a7c15ull;
}

static int symbols_grow(struct symbols *s)
{
	size_t cap = s->ncap ? 2 * s->ncap : 1024;
	struct symbols_name *names = calloc(cap, sizeof(*names));

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < s->ncap; i++) {
		size_t j;

		if (!s->names[i].mod)
			continue;
		j = symbols_hash(s->names[i].mod, s->names[i].addr) & (cap - 1);
		while (names[j].mod)
			j = (j + 1) & (cap - 1);
		names[j] = s->names[i];
	}
	free(s->names);
	s->names = names;
	s->ncap = cap;
	return 0;
}

/* The display name of address addr of module m: a malloc()ed string. */
static char *symbols_lookup(const struct symbols_module *m, uint64_t addr)
{
	const char *base = strrchr(m->path, '/'), *sym = NULL;
	GElf_Off off = 0;
	GElf_Sym es;
	Dwarf_Addr bias = 0;
	char *name = NULL, *dem = NULL;
	int status = -1;

	if (m->mod && dwfl_module_getelf(m->mod, &bias) != NULL)
		sym = dwfl_module_addrinfo(m->mod, addr + bias, &off, &es, NULL, NULL, NULL);
	if (!sym) {
		if (m->path[0] == '\0' && asprintf(&name, "0x%" PRIx64, addr) < 0)
			return NULL;
		if (m->path[0] != '\0' &&
		    asprintf(&name, "%s+0x%" PRIx64, base ? base + 1 : m->path, addr) < 0)
			return NULL;
		return name;
	}
	if (sym[0] == '_' && sym[1] == 'Z')
		dem = __cxa_demangle(sym, NULL, NULL, &status);
	if (status == 0 && dem)
		sym = dem;
	if (off == 0)
		name = strdup(sym);
	else if (asprintf(&name, "%s+0x%" PRIx64, sym, (uint64_t)off) < 0)
		name = NULL;
	free(dem);
	return name;
}

const char *symbols_name(struct symbols *s, const char *arg, size_t len)
{
	const char *bid;
	size_t pl, bl, i;
	uint64_t addr;
	ssize_t mod;

	if (!symbols_parse(arg, len, &pl, &addr, &bid, &bl))
		return NULL;
	mod = symbols_module(s, arg, pl, bid, bl);
	if (mod < 0)
		return NULL;
	if ((s->nnames + 1) * 2 > s->ncap && symbols_grow(s) < 0)
		return NULL;
	for (i = symbols_hash((size_t)mod + 1, addr) & (s->ncap - 1); s->names[i].mod;
	     i = (i + 1) & (s->ncap - 1))
		if (s->names[i].mod == (size_t)mod + 1 && s->names[i].addr == addr)
			return s->names[i].name;
	s->names[i].name = symbols_lookup(&s->mods[mod], addr);
	if (!s->names[i].name)
		return NULL;
	s->names[i].mod = (size_t)mod + 1;
	s->names[i].addr = addr;
	s->nnames++;
	return s->names[i].name;
}

void symbols_item(struct symbols *s, struct rp_item *it)
{
	const char *name;
	uint32_t id;

	if (it->kind == RP_ITEM_SEGMENT) {
		if (s->ids)
			memset(s->ids, 0, s->nids * sizeof(*s->ids));
		return;
	}
	if (it->kind != RP_ITEM_EVENT || !it->event.arg || it->event.type > RP_REC_INSTANT ||
	    it->event.kind_len != sizeof(SYMBOLS_KIND) - 1 ||
	    memcmp(it->event.kind, SYMBOLS_KIND, sizeof(SYMBOLS_KIND) - 1) != 0)
		return;
	id = it->event.arg_id;
	if (id < s->nids && s->ids[id]) {
		name = s->ids[id];
	} else {
		name = symbols_name(s, it->event.arg, it->event.arg_len);
		if (!name)
			return;
		if (id >= s->nids && id < SYMBOLS_IDS_MAX) {
			size_t n = s->nids ? s->nids : 1024;
			const char **ids;

			while (n <= id)
				n *= 2;
			ids = reallocarray(s->ids, n, sizeof(*ids));
			if (ids) {
				memset(ids + s->nids, 0, (n - s->nids) * sizeof(*ids));
				s->ids = ids;
				s->nids = n;
			}
		}
		if (id < s->nids)
			s->ids[id] = name;
	}
	it->event.arg = name;
	it->event.arg_len = strlen(name);
}

void symbols_free(struct symbols *s)
{
	for (size_t i = 0; i < s->nmods; i++) {
		if (s->mods[i].dwfl)
			dwfl_end(s->mods[i].dwfl);
		free(s->mods[i].path);
		free(s->mods[i].build_id);
	}
	free(s->mods);
	for (size_t i = 0; i < s->ncap; i++)
		free(s->names[i].name);
	free(s->names);
	free(s->ids);
	memset(s, 0, sizeof(*s));
}
