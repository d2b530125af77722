/*
 * events.c - the EVENTS block payload (ringprof/seg.h): struct rp_seg_events,
 * then per event u8 type, uleb id, uleb arg, uleb zigzag(ts delta) and, for
 * INTEGER only, uleb value.
 */
#include <errno.h>
#include <string.h>

#include "codec.h"

/* Longest encoded event: type + two 32-bit and two 64-bit LEB128 numbers. */
#define EVENT_MAX_BYTES (1 + 5 + 5 + 10 + 10)

static bool event_type_is_valid(uint8_t type)
{
	return type == RP_REC_BEGIN || type == RP_REC_END || type == RP_REC_INSTANT ||
	       type == RP_REC_INTEGER || type == RP_REC_THREAD_NAME;
}

int rp_evenc_begin(struct rp_evenc *e, uint32_t thread, uint64_t first_index,
		   uint64_t first_ticks)
{
	struct rp_seg_events h = {
		.thread = thread,
		.first_index = first_index,
		.first_ticks = first_ticks,
	};

	/* Keep the allocation of a previous use. */
	e->buf.len = 0;
	e->count = 0;
	e->prev_ts = first_ticks;
	return rp_buf_put(&e->buf, &h, sizeof(h));
}

int rp_evenc_add(struct rp_evenc *e, const struct rp_event *ev)
{
	uint8_t *p;
	int ret;

	if (!event_type_is_valid(ev->type) || e->count == UINT32_MAX)
		return -EINVAL;
	ret = rp_buf_reserve(&e->buf, EVENT_MAX_BYTES);
	if (ret < 0)
		return ret;
	p = e->buf.data + e->buf.len;
	*p++ = ev->type;
	p += rp_uleb_put(p, ev->id);
	p += rp_uleb_put(p, ev->arg);
	/* Wrapping difference: a clock that steps back gives a small negative. */
	p += rp_uleb_put(p, rp_zigzag((int64_t)(ev->ts - e->prev_ts)));
	if (ev->type == RP_REC_INTEGER)
		p += rp_uleb_put(p, ev->value);
	e->buf.len = (size_t)(p - e->buf.data);
	e->prev_ts = ev->ts;
	e->count++;
	return 0;
}

void rp_evenc_free(struct rp_evenc *e)
{
	rp_buf_free(&e->buf);
	e->count = 0;
}

int rp_evdec_begin(struct rp_evdec *d, const void *payload, size_t len, uint32_t count)
{
	if (len < sizeof(d->hdr))
		return -EBADMSG;
	memcpy(&d->hdr, payload, sizeof(d->hdr));
	d->p = (const uint8_t *)payload + sizeof(d->hdr);
	d->end = (const uint8_t *)payload + len;
	d->left = count;
	d->prev_ts = d->hdr.first_ticks;
	return 0;
}

int rp_evdec_next(struct rp_evdec *d, struct rp_event *ev)
{
	uint64_t id, arg, delta, value = 0;
	uint8_t type;

	if (!d->left)
		return d->p == d->end ? 0 : -EBADMSG;
	if (d->p >= d->end)
		return -EBADMSG;
	type = *d->p++;
	if (!event_type_is_valid(type))
		return -EBADMSG;
	if (rp_uleb_get(&d->p, d->end, &id) < 0 || id > UINT32_MAX ||
	    rp_uleb_get(&d->p, d->end, &arg) < 0 || arg > UINT32_MAX ||
	    rp_uleb_get(&d->p, d->end, &delta) < 0)
		return -EBADMSG;
	if (type == RP_REC_INTEGER && rp_uleb_get(&d->p, d->end, &value) < 0)
		return -EBADMSG;
	d->prev_ts += (uint64_t)rp_unzigzag(delta);
	d->left--;
	ev->type = type;
	ev->id = (uint32_t)id;
	ev->arg = (uint32_t)arg;
	ev->ts = d->prev_ts;
	ev->value = value;
	/* The last event must end the payload exactly. */
	if (!d->left && d->p != d->end)
		return -EBADMSG;
	return 1;
}
