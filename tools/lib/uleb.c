/*
 * uleb.c - unsigned LEB128: 7 bits per byte, low group first, the top bit
 * set on every byte but the last.
 */
#include <errno.h>

#include "codec.h"

size_t rp_uleb_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

int rp_uleb_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t r = 0;

	/* 10 bytes carry 70 bits: the 10th may only hold bit 63. */
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (q >= end)
			return -EBADMSG;
		uint8_t b = *q++;
		if (shift == 63 && b > 1)
			return -EBADMSG;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*p = q;
			*v = r;
			return 0;
		}
	}
	return -EBADMSG;
}
