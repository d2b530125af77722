/*
 * test_client_check.h - the checks every header-compile unit runs against
 * its own static copy of the client (tests/test_client_{c11,c17,cxx}.*).
 * Each unit includes ringprof.h twice in RINGPROF_STATIC mode first.
 */
#ifndef TEST_CLIENT_CHECK_H
#define TEST_CLIENT_CHECK_H

#include <string.h>

/* Copies every published record of ring 0 of this unit's region into out
 * and releases the tail (the daemon's side).  Returns the count. */
static size_t check_drain(struct rp_record *out, size_t max)
{
	struct rp_shm_header *h = rp_test_region(NULL);
	struct rp_ring_ctl *ctl = (struct rp_ring_ctl *)(void *)((unsigned char *)h + h->ring_offset);
	const unsigned char *data = (const unsigned char *)ctl + sizeof(*ctl);
	uint64_t head = rp_load_acquire(&ctl->head); /* pairs with rp_impl_emit() */
	uint64_t tail = rp_load_relaxed(&ctl->tail);
	size_t n = 0;

	while (tail != head && n < max) {
		memcpy(&out[n++], data + (tail & (h->ring_bytes - 1)), RP_REC_BYTES);
		tail += RP_REC_BYTES;
	}
	rp_store_release(&ctl->tail, tail); /* pairs with rp_impl_has_room() */
	return n;
}

static bool check_rec(const struct rp_record *r, uint32_t type, uint32_t id, uint32_t arg)
{
	return RP_REC_TYPE(r->kind_type) == type && RP_REC_ID(r->kind_type) == id && r->arg == arg;
}

/* Registers this unit's region and records one event of each shape.
 * Returns 0, or the number of the first failed step. */
static int check_basic_events(void)
{
	struct rp_record out[8];
	uint32_t k, a;

	if (rp_test_open_region() != 0 || rp_test_region(NULL) == NULL)
		return 1;
	k = rp_kind("Query");
	a = rp_intern("typeck(main)");
	if (k != 1 || a != 2)
		return 2;
	rp_thread_name("main");
	rp_interval_begin(k, a);
	rp_instant(k, 0);
	rp_integer(k, a, 42);
	rp_interval_end(k, a);
	if (check_drain(out, 8) != 6)
		return 3;
	if (!check_rec(&out[0], RP_REC_THREAD_NAME, 3, 0) || !check_rec(&out[1], RP_REC_BEGIN, k, a) ||
	    !check_rec(&out[2], RP_REC_INSTANT, k, 0) || !check_rec(&out[3], RP_REC_INTEGER, k, a) ||
	    !check_rec(&out[4], RP_REC_VALUE, 0, 0) || out[4].ts != 42 ||
	    !check_rec(&out[5], RP_REC_END, k, a))
		return 4;
	return 0;
}

#endif /* TEST_CLIENT_CHECK_H */
