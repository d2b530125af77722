/*
 * json.c - UTF-8 validation and JSON string escaping (json.h).
 */
#include <stdint.h>
#include <stdio.h>

#include "json.h"

size_t rp_json_utf8_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0u) != 0x80u)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	/* overlong forms, UTF-16 surrogates and code points past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int rp_json_str(struct rp_buf *b, const char *s, size_t n, char nul)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[8];
	int err;

	if ((err = rp_buf_put(b, "\"", 1)) < 0)
		return err;
	for (size_t i = 0; i < n;) {
		size_t len = 1;

		if (u[i] == '\0') {
			if (nul == '\0')
				break;
			err = rp_buf_put(b, &nul, 1);
		} else if (u[i] == '"' || u[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)u[i];
			err = rp_buf_put(b, esc, 2);
		} else if (u[i] < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			err = rp_buf_put(b, esc, 6);
		} else if ((len = rp_json_utf8_len(s + i, n - i)) == 0) {
			len = 1;
			err = rp_buf_put(b, "\\ufffd", 6);
		} else {
			err = rp_buf_put(b, s + i, len);
		}
		if (err < 0)
			return err;
		i += len;
	}
	return rp_buf_put(b, "\"", 1);
}
