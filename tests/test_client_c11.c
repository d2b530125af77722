/* test_client_c11.c - ringprof.h as C11, included twice, static mode. */
#define RINGPROF_STATIC
#include <ringprof.h>
#include <ringprof.h>

#include "test_client_check.h"

int client_c11_run(void);

/* 0, or the first failed step. */
int client_c11_run(void)
{
#if !defined(__STDC_VERSION__) || __STDC_VERSION__ != 201112L
	return 100;
#endif
	return check_basic_events();
}
