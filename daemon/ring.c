/*
 * ring.c - draining a client's rings into its segment.
 *
 * Shared memory is hostile: each shared field is read once, validated, and
 * only the copy is used.  Records are copied out of the ring into private
 * memory, the tail is released so the producer may reuse the space, and only
 * then is the private copy parsed.  Any inconsistency returns -EBADMSG with
 * c->reason set; the caller quarantines that client alone.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "ringprofd.h"

/* Private copy of ring data being parsed (one thread drains at a time). */
static _Alignas(RP_CACHE_LINE) uint8_t ring_scratch[RPD_COPY_CHUNK];

/* Events an earlier daemon can have taken and not accounted, at most; a
 * larger taken - durable is a scribbled region, clamped so that totals
 * cannot wrap. */
#define RING_INHERIT_MAX (1ull << 40)

struct rp_ring_ctl *ring_ctl_at(uint8_t *region, uint64_t ring_offset, uint64_t ring_stride,
				uint32_t i)
{
	return (struct rp_ring_ctl *)(region + ring_offset + (uint64_t)i * ring_stride);
}

static struct rp_ring_ctl *ring_ctl(const struct client *c, uint32_t i)
{
	return ring_ctl_at(c->region, c->geo.ring_offset, c->geo.ring_stride, i);
}

/* Did the write a killed daemon had in flight for this region reach its
 * file?  The region names it (shm.h inflight_*); the file lies in c's own
 * session directory, under c's own name and pid. */
static bool ring_inflight_landed(const struct client *c)
{
	struct rp_shm_header *hdr = (struct rp_shm_header *)c->region;
	char path[2 * RPD_LABEL_MAX + 80];
	struct stat st;
	/* pairs with the release in seg_inflight() of that daemon */
	uint64_t end = rp_load_acquire(&hdr->inflight_end);
	uint32_t id = rp_load_relaxed(&hdr->inflight_client);
	uint32_t seq = rp_load_relaxed(&hdr->inflight_seq);

	if (end == 0)
		return false;
	snprintf(path, sizeof(path), "%s/%s-%d-%u-%u%s", c->session, c->name, (int)c->pid, id,
		 seq, RP_SEG_SUFFIX);
	return fstatat(rpd.state_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode) && (uint64_t)st.st_size >= end;
}

int ring_attach(struct client *c)
{
	bool landed;

	if (seg_acct_get(c) < 0)
		return -ENOMEM;
	if (seg_acct_map(c) < 0)
		return -ENOMEM;
	c->slots = calloc(c->geo.ring_count, sizeof(*c->slots));
	if (c->slots == NULL)
		return -ENOMEM;
	landed = ring_inflight_landed(c);
	if (landed)
		log_info("client %u: the write an earlier daemon had in flight for it is "
			 "in its file: counted as written", c->id);
	for (uint32_t i = 0; i < c->geo.ring_count; i++) {
		struct rp_ring_ctl *ctl = ring_ctl(c, i);
		struct ring_slot *rs = &c->slots[i];

		/* What a killed daemon took off this ring and had not
		 * accounted on disk: counted when the owner acct_seq names
		 * starts (ring_start).  Pairs with the release of acct_seq in
		 * ring_start() of that daemon; each value is read once and
		 * used only as a count of this client's own drops. */
		rs->inherit_seq = rp_load_acquire(&ctl->acct_seq);
		rs->inherit_taken = rp_load_relaxed(&ctl->taken);
		rs->inherit_durable = rp_load_relaxed(landed ? &ctl->durable_landed : &ctl->durable);
		rs->inherit = true;
		/* Daemons only: from here both say what is on disk, before
		 * this daemon's first write replaces the in-flight record */
		rp_store_relaxed(&ctl->durable, rs->inherit_durable);
		rp_store_relaxed(&ctl->durable_landed, rs->inherit_durable);
		/* Records may have been published before registration:
		 * start from the consumer position the region holds (zero
		 * in a fresh memfd).  Read once; only the daemon writes tail
		 * from now on, and a bad value fails the head check. */
		c->slots[i].tail = rp_load_relaxed(&ring_ctl(c, i)->tail);
		/* A region offered again after a daemon restart: the drops
		 * an earlier daemon recorded are not counted twice.  Read
		 * once; a bad value only skews this client's own counts. */
		c->slots[i].dropped_base = rp_load_relaxed(&ring_ctl(c, i)->dropped_reported);
		c->slots[i].resumed = c->slots[i].tail != 0;
	}
	c->no_slot_base = rp_load_relaxed(&((struct rp_shm_header *)c->region)->no_slot_reported);
	return 0;
}

void ring_detach(struct client *c)
{
	if (c->acct != NULL) {
		/* final accountings still on their way get a segment of
		 * their own if they do not arrive */
		seg_acct_close(c);
		/* the accounting keeps the region mapped until its writes
		 * complete: their ctl.durable still has to be published */
		if (c->acct->region != NULL)
			c->region = NULL;
		log_debug("client %u: at most %llu bytes waited for the disk", c->id,
			  (unsigned long long)c->acct->pending_max);
		seg_acct_put(c->acct);
		c->acct = NULL;
	}
	if (c->slots == NULL)
		return;
	for (uint32_t i = 0; i < c->geo.ring_count; i++)
		if (c->slots[i].enc_open)
			rp_evenc_free(&c->slots[i].enc);
	free(c->slots);
	c->slots = NULL;
}

static int ring_bad(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int ring_bad(struct client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static void ring_thread_item(struct client *c, const struct ring_slot *rs,
			     uint32_t slot, uint32_t event)
{
	struct rp_seg_thread item = {
		.thread = rs->thread,
		.tid = rs->tid,
		.slot = slot,
		.event = event,
		.ticks = clock_ticks(c->geo.clock_source),
	};

	if (c->seg != NULL && seg_thread(c->seg, &item) < 0)
		log_error("client %u: out of memory for a thread item", c->id);
}

void ring_flush(struct client *c, struct ring_slot *rs)
{
	struct seg *s = c->seg;
	uint32_t count;

	if (!rs->enc_open)
		return;
	count = rs->enc.count;
	if (count != 0 && s != NULL &&
	    seg_events(s, (uint32_t)(rs - c->slots), rs->thread, count, rs->enc.buf.data,
		       rs->enc.buf.len) == 0) {
		rs->written += count;
		if (rs->seg_seq_marked != s->seq + 1) {
			rs->seg_seq_marked = s->seq + 1;
			s->threads++;
		}
	} else {
		rs->daemon_dropped += count;
	}
	rp_evenc_free(&rs->enc);
	rs->enc_open = false;
}

static void ring_loss_item(const struct ring_slot *rs, struct rp_seg_loss *l)
{
	memset(l, 0, sizeof(*l));
	l->thread = rs->thread;
	l->written = rs->written;
	l->client_dropped = rs->dropped_seen - rs->dropped_base;
	l->daemon_dropped = rs->daemon_dropped;
}

static void ring_start(struct client *c, struct ring_slot *rs, uint32_t slot,
		       struct rp_ring_ctl *ctl, uint64_t seq)
{
	rs->active = true;
	rs->integer_pending = false;
	rs->owner_seq = seq;
	rs->thread = ++c->threads;
	/* written before the OWNED store; ordered by the acquire of state */
	rs->tid = rp_load_relaxed(&ctl->tid);
	rs->written = 0;
	rs->daemon_dropped = 0;
	rs->index = 0;
	rs->seg_seq_marked = 0;
	rs->dropped_seen = rs->dropped_base;
	if (rs->inherit && seq == rs->inherit_seq) {
		/* the same owner a killed daemon drained: what it took and
		 * did not account on disk is counted as dropped here, and is
		 * accounted (durable) once a LOSS item holding it is written */
		uint64_t lost = rs->inherit_taken > rs->inherit_durable
					? rs->inherit_taken - rs->inherit_durable : 0;

		if (lost > RING_INHERIT_MAX)
			lost = RING_INHERIT_MAX;
		rs->daemon_dropped = lost;
		rs->taken = rs->inherit_durable + lost;
		seg_acct_owner(c->acct, slot, rs->thread, rs->inherit_durable);
		if (lost != 0)
			log_info("client %u: thread %u (tid %u): %llu events taken by an "
				 "earlier daemon never reached the disk: counted as dropped",
				 c->id, rs->thread, rs->tid, (unsigned long long)lost);
	} else {
		rs->taken = 0;
		seg_acct_owner(c->acct, slot, rs->thread, 0);
		/* Daemons only; acct_seq last: a daemon killed in between
		 * leaves counts that name the previous owner */
		rp_store_relaxed(&ctl->taken, 0);
		rp_store_relaxed(&ctl->durable, 0);
		rp_store_relaxed(&ctl->durable_landed, 0);
		/* pairs with the acquire in ring_attach() of the next daemon */
		rp_store_release(&ctl->acct_seq, seq);
	}
	rs->inherit = false;
	ring_thread_item(c, rs, slot, RP_THREAD_START);
	log_debug("client %u: thread %u (tid %u) started in slot %u", c->id,
		  rs->thread, rs->tid, slot);
}

/* The owner is gone and its ring drained: END, then its final LOSS. */
static void ring_end(struct client *c, struct ring_slot *rs, uint32_t slot)
{
	struct rp_seg_loss loss;
	int ret;

	ring_flush(c, rs);
	ring_thread_item(c, rs, slot, RP_THREAD_END);
	ring_loss_item(rs, &loss);
	ret = c->seg != NULL ? seg_loss(c->seg, &slot, &loss, 1) : -EIO;
	if (ret < 0)
		log_debug("client %u: loss of thread %u kept for a later segment", c->id,
			  rs->thread);
	/* kept until written; queued again if it is not */
	seg_end_add(c, slot, rs->tid, &loss, ret < 0);
	log_debug("client %u: thread %u ended: %llu written, %llu dropped by the "
		  "client, %llu by the daemon", c->id, rs->thread,
		  (unsigned long long)loss.written, (unsigned long long)loss.client_dropped,
		  (unsigned long long)loss.daemon_dropped);
	status_thread_end(c, rs);
	/* the next owner's drops count from here, in the next daemon too */
	rs->dropped_base = rs->dropped_seen;
	rp_store_relaxed(&ring_ctl(c, slot)->dropped_reported, rs->dropped_seen);
	rs->active = false;
}

static void ring_add(struct client *c, struct ring_slot *rs, const struct rp_event *ev)
{
	struct seg *s = c->seg;

	rs->index++;
	rpd.events_drained++;
	if (s == NULL || seg_use_string(s, &c->strtab, ev->id) < 0 ||
	    seg_use_string(s, &c->strtab, ev->arg) < 0)
		goto err_drop;
	if (!rs->enc_open) {
		if (rp_evenc_begin(&rs->enc, rs->thread, rs->index - 1, ev->ts) < 0)
			goto err_drop;
		rs->enc_open = true;
		rs->enc_since = clock_mono_ns();
	}
	if (rp_evenc_add(&rs->enc, ev) < 0)
		goto err_drop;
	if (rs->enc.buf.len >= RPD_FLUSH_RAW_BYTES)
		ring_flush(c, rs);
	return;

err_drop:
	rs->daemon_dropped++;
}

/* Parse n records of the private copy. */
static int ring_parse(struct client *c, struct ring_slot *rs, uint32_t slot,
		      const uint8_t *p, size_t n)
{
	uint32_t max = c->strtab.count;

	for (size_t k = 0; k < n; k++) {
		struct rp_record rec;
		struct rp_event ev;
		uint32_t type, id;

		memcpy(&rec, p + k * RP_REC_BYTES, sizeof(rec));
		type = RP_REC_TYPE(rec.kind_type);
		id = RP_REC_ID(rec.kind_type);
		if (rs->resumed) {
			rs->resumed = false;
			/* the rest of an INTEGER the previous daemon took (and
			 * lost with it when it was killed) */
			if (type == RP_REC_VALUE && id == 0 && rec.arg == 0)
				continue;
		}
		if (rs->integer_pending) {
			if (type != RP_REC_VALUE || id != 0 || rec.arg != 0)
				return ring_bad(c, "ring %u: INTEGER not followed by VALUE", slot);
			rs->integer.value = rec.ts;
			rs->integer_pending = false;
			ring_add(c, rs, &rs->integer);
			continue;
		}
		switch (type) {
		case RP_REC_BEGIN:
		case RP_REC_END:
		case RP_REC_INSTANT:
		case RP_REC_INTEGER:
		case RP_REC_THREAD_NAME:
			if (id == 0 || id > max)
				return ring_bad(c, "ring %u: undefined string id %u", slot, id);
			if (rec.arg > max)
				return ring_bad(c, "ring %u: undefined string id %u", slot, rec.arg);
			ev.type = (uint8_t)type;
			ev.id = id;
			ev.arg = rec.arg;
			ev.ts = rec.ts;
			ev.value = 0;
			if (type == RP_REC_INTEGER) {
				rs->integer = ev;
				rs->integer_pending = true;
			} else {
				ring_add(c, rs, &ev);
			}
			break;
		case RP_REC_VALUE:
			return ring_bad(c, "ring %u: VALUE without INTEGER", slot);
		default:
			return ring_bad(c, "ring %u: unknown record type %u", slot, type);
		}
	}
	return 0;
}

/* Copy out and parse everything published in one ring. */
static int ring_copy(struct client *c, struct ring_slot *rs, uint32_t slot,
		     struct rp_ring_ctl *ctl)
{
	const uint8_t *data = (const uint8_t *)ctl + sizeof(*ctl);
	uint32_t bytes = c->geo.ring_bytes;
	uint64_t head, avail;
	int ret;

	/* pairs with the release of head in rp_impl_publish() */
	head = rp_load_acquire(&ctl->head);
	avail = head - rs->tail;
	if (avail > bytes || avail % RP_REC_BYTES != 0)
		return ring_bad(c, "ring %u: head %llu invalid (tail %llu, ring %u bytes)",
				slot, (unsigned long long)head,
				(unsigned long long)rs->tail, bytes);
	if (avail == 0)
		return 0;
	/* after head: every id in these records is defined by now */
	if ((ret = strtab_scan(c)) < 0)
		return ret;
	while (avail != 0) {
		uint64_t pos = rs->tail & (bytes - 1);
		uint64_t n = avail;

		if (n > bytes - pos)
			n = bytes - pos;
		if (n > sizeof(ring_scratch))
			n = sizeof(ring_scratch);
		memcpy(ring_scratch, data + pos, n);
		/* taken before the tail moves: a daemon killed after the
		 * release below has these events in ctl.taken.  A VALUE is
		 * the second half of its INTEGER's event. */
		for (uint64_t k = 0; k < n / RP_REC_BYTES; k++) {
			uint32_t kt;

			memcpy(&kt, ring_scratch + k * RP_REC_BYTES +
			       offsetof(struct rp_record, kind_type), sizeof(kt));
			rs->taken += RP_REC_TYPE(kt) != RP_REC_VALUE;
		}
		/* Daemons only; ordered before the tail by its release */
		rp_store_relaxed(&ctl->taken, rs->taken);
		rs->tail += n;
		avail -= n;
		/* pairs with the acquire of tail in the producer's full check */
		rp_store_release(&ctl->tail, rs->tail);
		if ((ret = ring_parse(c, rs, slot, ring_scratch, n / RP_REC_BYTES)) < 0)
			return ret;
	}
	if (rs->integer_pending)
		return ring_bad(c, "ring %u: INTEGER not followed by VALUE", slot);
	return 0;
}

static int ring_drain_slot(struct client *c, uint32_t slot, bool final)
{
	struct rp_ring_ctl *ctl = ring_ctl(c, slot);
	struct ring_slot *rs = &c->slots[slot];
	uint32_t state, expected;
	uint64_t seq;
	int ret;

	/* pairs with the client's release store of OWNED (claim) and of
	 * RETIRED (thread exit) */
	state = rp_load_acquire(&ctl->state);
	if (state == RP_SLOT_FREE) {
		if (rs->active)
			return ring_bad(c, "ring %u: slot freed by the client", slot);
		return 0;
	}
	if (state != RP_SLOT_OWNED && state != RP_SLOT_RETIRED)
		return ring_bad(c, "ring %u: bad slot state %u", slot, state);
	/* written before OWNED; ordered by the acquire above */
	seq = rp_load_relaxed(&ctl->owner_seq);
	if (!rs->active)
		ring_start(c, rs, slot, ctl, seq);
	else if (seq != rs->owner_seq)
		return ring_bad(c, "ring %u: owner changed without retiring", slot);
	if ((ret = ring_copy(c, rs, slot, ctl)) < 0)
		return ret;
	/* pairs with the producer's release when it drops an event */
	rs->dropped_seen = rp_load_acquire(&ctl->dropped);
	if (state == RP_SLOT_RETIRED) {
		ring_end(c, rs, slot);
		expected = RP_SLOT_RETIRED;
		/* pairs with the acquire of the client's FREE->OWNED claim */
		if (!rp_cas_acq_rel(&ctl->state, &expected, RP_SLOT_FREE))
			return ring_bad(c, "ring %u: state changed while retired", slot);
	} else if (final) {
		ring_end(c, rs, slot);
	}
	return 0;
}

int ring_drain(struct client *c, bool final)
{
	struct rp_shm_header *hdr = (struct rp_shm_header *)c->region;
	int ret = 0;

	for (uint32_t i = 0; i < c->geo.ring_count && ret == 0; i++)
		ret = ring_drain_slot(c, i, final);
	/* pairs with the acquire in the lossless producer's wait */
	rp_store_release(&hdr->daemon_heartbeat, clock_mono_ns());
	if (c->seg != NULL)
		seg_flush(c->seg);
	return ret;
}

void ring_flush_older(struct client *c, uint64_t now, uint64_t flush_ns)
{
	for (uint32_t i = 0; i < c->geo.ring_count; i++) {
		struct ring_slot *rs = &c->slots[i];

		/* enc_since may be later than now: the encoder can open
		 * during the drain of the very tick that read now */
		if (rs->enc_open && (flush_ns == 0 ||
				     (now > rs->enc_since && now - rs->enc_since >= flush_ns)))
			ring_flush(c, rs);
	}
}

void ring_loss_all(struct client *c)
{
	struct rp_seg_loss *items;
	uint32_t *slots;
	uint32_t n = 0;

	if (c->seg == NULL || c->slots == NULL)
		return;
	items = calloc(c->geo.ring_count + 1, sizeof(*items));
	slots = calloc(c->geo.ring_count + 1, sizeof(*slots));
	if (items == NULL || slots == NULL) {
		free(items);
		free(slots);
		log_error("client %u: out of memory for loss items", c->id);
		return;
	}
	/* Thread 0: events of threads that found no ring slot (seg.h). */
	if (c->region != NULL) {
		const struct rp_shm_header *hdr = (const struct rp_shm_header *)c->region;
		/* pairs with the acq_rel add in the client's slot claim */
		uint64_t no_slot = rp_load_acquire(&hdr->no_slot_dropped);

		if (no_slot != c->no_slot_base) {
			slots[n] = UINT32_MAX;
			items[n++] = (struct rp_seg_loss){ .thread = 0,
							   .client_dropped = no_slot - c->no_slot_base };
		}
	}
	for (uint32_t i = 0; i < c->geo.ring_count; i++) {
		if (c->slots[i].active) {
			slots[n] = i;
			ring_loss_item(&c->slots[i], &items[n++]);
		}
	}
	if (n != 0 && seg_loss(c->seg, slots, items, n) < 0) {
		log_error("client %u: cannot record loss counters", c->id);
	} else if (c->region != NULL) {
		/* recorded: a daemon the region is offered to next counts on
		 * from here */
		struct rp_shm_header *hdr = (struct rp_shm_header *)c->region;

		if (n != 0 && items[0].thread == 0)
			rp_store_relaxed(&hdr->no_slot_reported,
					 c->no_slot_base + items[0].client_dropped);
		for (uint32_t i = 0; i < c->geo.ring_count; i++)
			if (c->slots[i].active)
				rp_store_relaxed(&ring_ctl(c, i)->dropped_reported,
						 c->slots[i].dropped_seen);
	}
	free(slots);
	free(items);
}

void ring_restart_all(struct client *c)
{
	for (uint32_t i = 0; i < c->geo.ring_count; i++)
		if (c->slots[i].active)
			ring_thread_item(c, &c->slots[i], i, RP_THREAD_START);
	/* ended threads whose final LOSS a failed segment lost */
	seg_end_requeue(c);
}
