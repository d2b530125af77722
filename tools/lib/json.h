/*
 * json.h - UTF-8 validation and JSON string escaping, shared by ringprofd
 * (its status document) and the `ringprof` command (parsing that document,
 * the chrome and folded exporters), so that one rule decides which bytes
 * are text.
 */
#ifndef RINGPROF_JSON_H
#define RINGPROF_JSON_H

#include <stddef.h>

#include "codec.h"

/* Bytes of the UTF-8 sequence starting at s (n > 0 bytes left): 1 for
 * ASCII, 2-4, or 0 when the bytes there are not valid UTF-8 (a stray or
 * cut-off byte, an overlong form, a surrogate, past U+10FFFF). */
size_t rp_json_utf8_len(const char *s, size_t n);

/* Append s (n bytes) to b as a JSON string, quotes included: '"' and '\\'
 * backslashed, other bytes below 0x20 as \u00xx, bytes that are not UTF-8
 * as \ufffd.  A NUL ends the string when nul is 0, else stands as nul.
 * 0 or -ENOMEM (b then holds a partial string). */
int rp_json_str(struct rp_buf *b, const char *s, size_t n, char nul);

#endif /* RINGPROF_JSON_H */
