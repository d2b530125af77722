/*
 * buf.c - a growable byte buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int rp_buf_reserve(struct rp_buf *b, size_t n)
{
	size_t need, cap;
	uint8_t *p;

	if (n > SIZE_MAX - b->len)
		return -ENOMEM;
	need = b->len + n;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int rp_buf_put(struct rp_buf *b, const void *src, size_t n)
{
	int ret = rp_buf_reserve(b, n);

	if (ret < 0)
		return ret;
	if (n)
		memcpy(b->data + b->len, src, n);
	b->len += n;
	return 0;
}

void rp_buf_free(struct rp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
