/*
 * reader_int.h - libringprof internals, prototypes grouped per file.
 */
#ifndef RINGPROF_READER_INT_H
#define RINGPROF_READER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* paths.c: the list of segment files to read. */
struct paths {
	char **v;
	size_t n, cap;
};
/* Append every segment file under each of the n paths (see reader.h, INPUT);
 * 0, or -errno with a one-line message in err. */
int paths_expand(struct paths *p, const char *const *paths, size_t n,
		 char *err, size_t errlen);
void paths_free(struct paths *p);

/* strtab.c: one segment's strings, id -> bytes.  Bytes live in chunks that
 * never move until strtab_reset(), so pointers handed out stay valid. */
struct strtab_slot {
	uint32_t id;        /* 0: empty */
	uint32_t len;
	const char *bytes;  /* NUL-terminated copy */
};
struct strtab_chunk;
struct strtab {
	struct strtab_slot *slots;
	size_t mask;        /* slot count - 1; power of two */
	size_t used;
	struct strtab_chunk *chunks;
};
/* Forget every string (keeps the slot array). */
void strtab_reset(struct strtab *t);
void strtab_free(struct strtab *t);
/* Define id (non-zero) as len bytes.  0 (also when the same bytes were
 * defined before), -EEXIST when id has other bytes, -ENOMEM. */
int strtab_add(struct strtab *t, uint32_t id, const void *bytes, uint32_t len,
	       const char **stored);
/* The bytes of id, or NULL. */
const char *strtab_get(const struct strtab *t, uint32_t id, uint32_t *len);

#endif /* RINGPROF_READER_INT_H */
