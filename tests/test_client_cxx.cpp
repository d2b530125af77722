// test_client_cxx.cpp - ringprof.h as C++17, included twice, static mode;
// rp::scope and RINGPROF_SCOPE as RAII, also across an exception.
#define RINGPROF_STATIC
#include <ringprof.h>
#include <ringprof.h>

#include <stdexcept>

#include "test_client_check.h"

extern "C" int client_cxx_run(void);

static void throws_inside_scope(uint32_t k, uint32_t a)
{
	RINGPROF_SCOPE(k, a);
	rp_instant(k, 0);
	throw std::runtime_error("query cycle");
}

// 0, or the first failed step.
extern "C" int client_cxx_run(void)
{
	struct rp_record out[8];
	uint32_t k, a;
	int ret;

	static_assert(__cplusplus == 201703L, "compiled as C++17");
	ret = check_basic_events();
	if (ret != 0)
		return ret;
	k = rp_kind("Query");
	a = rp_intern("type_of(foo)");
	{
		rp::scope outer(k, a);
		RINGPROF_SCOPE(k, 0);
		rp_instant(k, a);
	}
	if (check_drain(out, 8) != 5)
		return 20;
	if (!check_rec(&out[0], RP_REC_BEGIN, k, a) || !check_rec(&out[1], RP_REC_BEGIN, k, 0) ||
	    !check_rec(&out[2], RP_REC_INSTANT, k, a) || !check_rec(&out[3], RP_REC_END, k, 0) ||
	    !check_rec(&out[4], RP_REC_END, k, a))
		return 21;
	try {
		throws_inside_scope(k, a);
		return 22;
	} catch (const std::runtime_error &) {
	}
	if (check_drain(out, 8) != 3)
		return 23;
	if (!check_rec(&out[0], RP_REC_BEGIN, k, a) || !check_rec(&out[1], RP_REC_INSTANT, k, 0) ||
	    !check_rec(&out[2], RP_REC_END, k, a))
		return 24;
	return 0;
}
