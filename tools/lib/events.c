/*
 * events.c - the EVENTS block payload (ringprof/seg.h): struct rp_seg_events,
 * then per event a head byte (type, RP_EV_F_CLOSE), uleb id, uleb argument,
 * uleb zigzag(ts delta) and, for INTEGER only, uleb value.
 *
 * Version 2 drops the id and argument of an END that closes the innermost
 * open BEGIN (about half the events of a compiler's trace are such ENDs) and
 * codes an argument as its distance from the largest argument so far: a
 * compiler interns a query key just before its first use, so new keys code
 * in one byte instead of three.  Both cut the bytes zstd must model; the
 * example workload went from 3.08 to about 1.6 stored bytes per event.
 */
#include <errno.h>
#include <string.h>

#include "codec.h"

/* Longest encoded event: head + two 32-bit and two 64-bit LEB128 numbers
 * (an argument code of a 32-bit id fits in 5 bytes too: |d| < 2^32). */
#define EVENT_MAX_BYTES (1 + 5 + 5 + 10 + 10)

static bool event_type_is_valid(uint8_t type)
{
	return type == RP_REC_BEGIN || type == RP_REC_END || type == RP_REC_INSTANT ||
	       type == RP_REC_INTEGER || type == RP_REC_THREAD_NAME;
}

static bool event_version_is_known(uint16_t version)
{
	return version >= RP_SEG_VERSION_MIN && version <= RP_SEG_VERSION;
}

static void evstack_reset(struct rp_evstack *s)
{
	s->depth = 0;
	s->deeper = 0;
	s->max_arg = 0;
}

/* True when an END of (kind, arg) closes the entry on top. */
static bool evstack_is_closing(const struct rp_evstack *s, uint32_t kind, uint32_t arg)
{
	return s->deeper == 0 && s->depth != 0 && s->kind[s->depth - 1] == kind &&
	       s->arg[s->depth - 1] == arg;
}

/* The stack after ev: the same in the encoder and the decoder. */
static void evstack_after(struct rp_evstack *s, const struct rp_event *ev)
{
	if (ev->arg > s->max_arg)
		s->max_arg = ev->arg;
	if (ev->type == RP_REC_BEGIN) {
		if (s->depth < RP_EV_STACK_MAX) {
			s->kind[s->depth] = ev->id;
			s->arg[s->depth] = ev->arg;
			s->depth++;
		} else if (s->deeper < UINT32_MAX) {
			s->deeper++;
		}
	} else if (ev->type == RP_REC_END) {
		if (s->deeper != 0)
			s->deeper--;
		else if (s->depth != 0)
			s->depth--;
	}
}

int rp_evenc_begin_version(struct rp_evenc *e, uint16_t version, uint32_t thread,
			   uint64_t first_index, uint64_t first_ticks)
{
	struct rp_seg_events h = {
		.thread = thread,
		.first_index = first_index,
		.first_ticks = first_ticks,
	};

	if (!event_version_is_known(version))
		return -EINVAL;
	/* Keep the allocation of a previous use. */
	e->buf.len = 0;
	e->count = 0;
	e->version = version;
	e->prev_ts = first_ticks;
	evstack_reset(&e->stack);
	return rp_buf_put(&e->buf, &h, sizeof(h));
}

int rp_evenc_begin(struct rp_evenc *e, uint32_t thread, uint64_t first_index,
		   uint64_t first_ticks)
{
	return rp_evenc_begin_version(e, RP_SEG_VERSION, thread, first_index, first_ticks);
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
	if (e->version == 1) {
		*p++ = ev->type;
		p += rp_uleb_put(p, ev->id);
		p += rp_uleb_put(p, ev->arg);
	} else if (ev->type == RP_REC_END && evstack_is_closing(&e->stack, ev->id, ev->arg)) {
		*p++ = RP_REC_END | RP_EV_F_CLOSE;
	} else {
		*p++ = ev->type;
		p += rp_uleb_put(p, ev->id);
		p += rp_uleb_put(p, ev->arg == 0 ? 0 :
				 rp_zigzag((int64_t)ev->arg - (int64_t)e->stack.max_arg) + 1);
	}
	/* Wrapping difference: a clock that steps back gives a small negative. */
	p += rp_uleb_put(p, rp_zigzag((int64_t)(ev->ts - e->prev_ts)));
	if (ev->type == RP_REC_INTEGER)
		p += rp_uleb_put(p, ev->value);
	e->buf.len = (size_t)(p - e->buf.data);
	e->prev_ts = ev->ts;
	e->count++;
	if (e->version != 1)
		evstack_after(&e->stack, ev);
	return 0;
}

void rp_evenc_free(struct rp_evenc *e)
{
	rp_buf_free(&e->buf);
	e->count = 0;
}

int rp_evdec_begin_version(struct rp_evdec *d, uint16_t version, const void *payload,
			   size_t len, uint32_t count)
{
	if (!event_version_is_known(version) || len < sizeof(d->hdr))
		return -EBADMSG;
	memcpy(&d->hdr, payload, sizeof(d->hdr));
	d->p = (const uint8_t *)payload + sizeof(d->hdr);
	d->end = (const uint8_t *)payload + len;
	d->left = count;
	d->version = version;
	d->prev_ts = d->hdr.first_ticks;
	evstack_reset(&d->stack);
	return 0;
}

int rp_evdec_begin(struct rp_evdec *d, const void *payload, size_t len, uint32_t count)
{
	return rp_evdec_begin_version(d, RP_SEG_VERSION, payload, len, count);
}

/* The argument of a version 2 code: 0, or an id in 1..UINT32_MAX. */
static int evdec_arg(const struct rp_evdec *d, uint64_t code, uint64_t *arg)
{
	int64_t delta;

	if (code == 0) {
		*arg = 0;
		return 0;
	}
	delta = rp_unzigzag(code - 1);
	/* max_arg + delta within 1..UINT32_MAX, computed without overflow */
	if (delta < 1 - (int64_t)d->stack.max_arg ||
	    delta > (int64_t)UINT32_MAX - (int64_t)d->stack.max_arg)
		return -EBADMSG;
	*arg = (uint64_t)((int64_t)d->stack.max_arg + delta);
	return 0;
}

int rp_evdec_next(struct rp_evdec *d, struct rp_event *ev)
{
	uint64_t id, arg, delta, value = 0;
	uint8_t head, type;

	if (!d->left)
		return d->p == d->end ? 0 : -EBADMSG;
	if (d->p >= d->end)
		return -EBADMSG;
	head = *d->p++;
	type = head & (uint8_t)~RP_EV_F_CLOSE;
	if (!event_type_is_valid(type))
		return -EBADMSG;
	if (head & RP_EV_F_CLOSE) {
		/* only in version 2, only an END, only with a BEGIN to close */
		if (d->version == 1 || type != RP_REC_END || d->stack.deeper != 0 ||
		    d->stack.depth == 0)
			return -EBADMSG;
		id = d->stack.kind[d->stack.depth - 1];
		arg = d->stack.arg[d->stack.depth - 1];
	} else {
		if (rp_uleb_get(&d->p, d->end, &id) < 0 || id > UINT32_MAX ||
		    rp_uleb_get(&d->p, d->end, &arg) < 0)
			return -EBADMSG;
		if (d->version == 1 ? arg > UINT32_MAX : evdec_arg(d, arg, &arg) < 0)
			return -EBADMSG;
	}
	if (rp_uleb_get(&d->p, d->end, &delta) < 0)
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
	if (d->version != 1)
		evstack_after(&d->stack, ev);
	/* The last event must end the payload exactly. */
	if (!d->left && d->p != d->end)
		return -EBADMSG;
	return 1;
}
