/*
 * strtab.c - a client's interned strings, copied out of its string area.
 *
 * The area is appended to by the client and published with a release store
 * of string_used.  The scan reads string_used once, checks it, copies each
 * new entry header out once and validates the copy: ids must run 1, 2,
 * 3..., lengths stay within RP_STRING_LEN_MAX and the published bytes.  The
 * bytes themselves are not copied: the table keeps the validated offset and
 * length of each, inside the sealed mapping, and the segment writer copies
 * them once, straight from the area.  A client that rewrites its published
 * bytes changes only its own strings, never a bound the daemon relies on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "ringprofd.h"

void strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
}

void strtab_free(struct strtab *t)
{
	free(t->off);
	free(t->len);
	memset(t, 0, sizeof(*t));
}

static int strtab_grow(struct strtab *t)
{
	uint32_t cap = t->cap ? t->cap * 2 : 1024;
	uint32_t *off;
	uint32_t *len;

	off = reallocarray(t->off, (size_t)cap + 1, sizeof(*off));
	if (off == NULL)
		return -ENOMEM;
	t->off = off;
	len = reallocarray(t->len, (size_t)cap + 1, sizeof(*len));
	if (len == NULL)
		return -ENOMEM;
	t->len = len;
	t->cap = cap;
	return 0;
}

int strtab_scan(struct client *c)
{
	struct strtab *t = &c->strtab;
	const uint8_t *area = c->region + c->geo.string_offset;
	uint64_t used, pos;
	int ret;

	t->area = area;
	/* pairs with the release of string_used in rp_impl_publish_strings() */
	used = rp_load_acquire(&((struct rp_shm_header *)c->region)->string_used);
	if (used == t->scanned)
		return 0;
	if (used > c->geo.string_bytes || used < t->scanned || used % 8 != 0) {
		snprintf(c->reason, sizeof(c->reason),
			 "string_used %llu invalid (area %u bytes, %llu scanned)",
			 (unsigned long long)used, c->geo.string_bytes,
			 (unsigned long long)t->scanned);
		return -EBADMSG;
	}
	for (pos = t->scanned; pos < used;) {
		struct rp_str_entry e;
		uint64_t size;

		if (used - pos < sizeof(e))
			goto err_entry;
		memcpy(&e, area + pos, sizeof(e));
		if (e.id != t->count + 1 || e.len > RP_STRING_LEN_MAX)
			goto err_entry;
		size = RP_STR_ENTRY_SIZE(e.len);
		if (size > used - pos)
			goto err_entry;
		if (t->count + 1 > t->cap && (ret = strtab_grow(t)) < 0)
			return ret;
		t->off[e.id] = (uint32_t)(pos + sizeof(e)); /* < string_bytes */
		t->len[e.id] = e.len;
		t->count = e.id;
		pos += size;
		t->scanned = pos;
	}
	return 0;

err_entry:
	snprintf(c->reason, sizeof(c->reason),
		 "bad string entry at offset %llu of the string area",
		 (unsigned long long)pos);
	return -EBADMSG;
}

const char *strtab_get(const struct strtab *t, uint32_t id, uint32_t *len)
{
	*len = t->len[id];
	return (const char *)t->area + t->off[id];
}
