/*
 * cyg_prog_full - 60 instrumented functions against an adapter whose table
 * has 64 slots (48 usable), for tests/test_cyg.c: main and f00..f46 are
 * named, the calls of f47..f59 (13 functions x 10 calls, entry and exit)
 * are dropped and counted.  Prints the adapter's counters.
 */
#include <inttypes.h>
#include <stdio.h>

#include <ringprof_cyg.h>

#define CYG_FULL_F(n) \
	__attribute__((noinline)) int cyg_full_f##n(int x) { return x + 1; }
#define CYG_FULL_TEN(d) \
	CYG_FULL_F(d##0) CYG_FULL_F(d##1) CYG_FULL_F(d##2) CYG_FULL_F(d##3) CYG_FULL_F(d##4) \
	CYG_FULL_F(d##5) CYG_FULL_F(d##6) CYG_FULL_F(d##7) CYG_FULL_F(d##8) CYG_FULL_F(d##9)

CYG_FULL_TEN(0)
CYG_FULL_TEN(1)
CYG_FULL_TEN(2)
CYG_FULL_TEN(3)
CYG_FULL_TEN(4)
CYG_FULL_TEN(5)

#define CYG_FULL_CALL(n) x = cyg_full_f##n(x);
#define CYG_FULL_CALL_TEN(d) \
	CYG_FULL_CALL(d##0) CYG_FULL_CALL(d##1) CYG_FULL_CALL(d##2) CYG_FULL_CALL(d##3) \
	CYG_FULL_CALL(d##4) CYG_FULL_CALL(d##5) CYG_FULL_CALL(d##6) CYG_FULL_CALL(d##7) \
	CYG_FULL_CALL(d##8) CYG_FULL_CALL(d##9)

int main(void)
{
	struct rp_cyg_counters c;
	volatile int x = 0;

	/* named in the order of their first calls: f00..f09 first, then f10.. */
	for (int i = 0; i < 10; i++) { CYG_FULL_CALL_TEN(0) }
	for (int i = 0; i < 10; i++) { CYG_FULL_CALL_TEN(1) }
	for (int i = 0; i < 10; i++) { CYG_FULL_CALL_TEN(2) }
	for (int i = 0; i < 10; i++) { CYG_FULL_CALL_TEN(3) }
	for (int i = 0; i < 10; i++) { CYG_FULL_CALL_TEN(4) }
	for (int i = 0; i < 10; i++) { CYG_FULL_CALL_TEN(5) }
	rp_cyg_stats(&c);
	printf("enabled=%d unnamed=%" PRIu64 " reentered=%" PRIu64 " functions=%u x=%d\n",
	       (int)c.enabled, c.unnamed, c.reentered, c.functions, (int)x);
	return 0;
}
