/* test_client_c17.c - ringprof.h as C17, included twice, static mode; the
 * cleanup-based RINGPROF_SCOPE. */
#define RINGPROF_STATIC
#include <ringprof.h>
#include <ringprof.h>

#include "test_client_check.h"

int client_c17_run(void);

/* Leaves its scope early: the END must still be recorded. */
static int scoped_early_return(uint32_t k, uint32_t a)
{
	RINGPROF_SCOPE(k, a);
	rp_instant(k, 0);
	if (a != 0)
		return 1;
	rp_instant(k, 1);
	return 0;
}

/* 0, or the first failed step. */
int client_c17_run(void)
{
	struct rp_record out[8];
	uint32_t k, a;
	int ret;

#if !defined(__STDC_VERSION__) || __STDC_VERSION__ != 201710L
	return 100;
#endif
	ret = check_basic_events();
	if (ret != 0)
		return ret;
	k = rp_kind("GenericActivity");
	a = rp_intern("codegen");
	{
		RINGPROF_SCOPE(k, a);
		RINGPROF_SCOPE(k, 0);
		rp_instant(k, a);
	}
	if (check_drain(out, 8) != 5)
		return 10;
	if (!check_rec(&out[0], RP_REC_BEGIN, k, a) || !check_rec(&out[1], RP_REC_BEGIN, k, 0) ||
	    !check_rec(&out[2], RP_REC_INSTANT, k, a) || !check_rec(&out[3], RP_REC_END, k, 0) ||
	    !check_rec(&out[4], RP_REC_END, k, a))
		return 11;
	if (scoped_early_return(k, a) != 1 || check_drain(out, 8) != 3)
		return 12;
	if (!check_rec(&out[0], RP_REC_BEGIN, k, a) || !check_rec(&out[1], RP_REC_INSTANT, k, 0) ||
	    !check_rec(&out[2], RP_REC_END, k, a))
		return 13;
	return 0;
}
