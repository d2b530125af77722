/*
 * strtab.c - a segment's string table: open addressing on the id, bytes
 * copied into chunks that are never moved.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reader_int.h"

#define STRTAB_CHUNK_BYTES (64u << 10)

struct strtab_chunk {
	struct strtab_chunk *next;
	size_t used, cap;
	char data[];
};

static size_t strtab_hash(uint32_t id)
{
	return (size_t)(id * 0x9e3779b1u);
}

void strtab_reset(struct strtab *t)
{
	struct strtab_chunk *c = t->chunks;

	/* Keep the newest chunk for the next segment. */
	if (c) {
		struct strtab_chunk *old = c->next;
		while (old) {
			struct strtab_chunk *next = old->next;
			free(old);
			old = next;
		}
		c->next = NULL;
		c->used = 0;
	}
	if (t->slots)
		memset(t->slots, 0, (t->mask + 1) * sizeof(*t->slots));
	t->used = 0;
}

void strtab_free(struct strtab *t)
{
	strtab_reset(t);
	free(t->chunks);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static struct strtab_slot *strtab_find(const struct strtab *t, uint32_t id)
{
	if (!t->slots)
		return NULL;
	for (size_t i = strtab_hash(id) & t->mask;; i = (i + 1) & t->mask) {
		if (t->slots[i].id == id || t->slots[i].id == 0)
			return &t->slots[i];
	}
}

/* Keep the load under one half. */
static int strtab_grow(struct strtab *t)
{
	size_t cap = t->slots ? (t->mask + 1) * 2 : 256;
	struct strtab_slot *old = t->slots, *slots = calloc(cap, sizeof(*slots));
	size_t old_cap = t->slots ? t->mask + 1 : 0;

	if (!slots)
		return -ENOMEM;
	t->slots = slots;
	t->mask = cap - 1;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].id)
			*strtab_find(t, old[i].id) = old[i];
	free(old);
	return 0;
}

static char *strtab_copy(struct strtab *t, const void *bytes, uint32_t len)
{
	struct strtab_chunk *c = t->chunks;
	size_t need = (size_t)len + 1;
	char *p;

	if (!c || c->cap - c->used < need) {
		size_t cap = need > STRTAB_CHUNK_BYTES ? need : STRTAB_CHUNK_BYTES;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = t->chunks;
		t->chunks = c;
	}
	p = c->data + c->used;
	if (len)
		memcpy(p, bytes, len);
	p[len] = '\0';
	c->used += need;
	return p;
}

int strtab_add(struct strtab *t, uint32_t id, const void *bytes, uint32_t len,
	       const char **stored)
{
	struct strtab_slot *s;

	if ((t->used + 1) * 2 > (t->slots ? t->mask + 1 : 0)) {
		int ret = strtab_grow(t);
		if (ret < 0)
			return ret;
	}
	s = strtab_find(t, id);
	if (s->id) {
		if (s->len != len || memcmp(s->bytes, bytes, len) != 0)
			return -EEXIST;
		*stored = s->bytes;
		return 0;
	}
	s->bytes = strtab_copy(t, bytes, len);
	if (!s->bytes)
		return -ENOMEM;
	s->id = id;
	s->len = len;
	t->used++;
	*stored = s->bytes;
	return 0;
}

const char *strtab_get(const struct strtab *t, uint32_t id, uint32_t *len)
{
	const struct strtab_slot *s = id ? strtab_find(t, id) : NULL;

	if (!s || !s->id)
		return NULL;
	*len = s->len;
	return s->bytes;
}
