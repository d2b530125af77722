/*
 * cyg_prog - a C program built with -finstrument-functions and the adapter,
 * for tests/test_cyg.c.  Known calls: leaf 2000 (1000 from main, 500 from
 * each of two threads), fib 1973 (fib(15)), worker 2, main 1.  With the
 * argument "jump", jump_outer -> jump_inner -> longjmp() back to main: the
 * intervals of those two stay open.  Prints the adapter's counters.
 */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <ringprof_cyg.h>

static jmp_buf cyg_prog_jump;
static volatile int cyg_prog_sink;

__attribute__((noinline)) static int leaf(int x)
{
	return x + 1;
}

__attribute__((noinline)) int fib(int n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 500; i++)
		cyg_prog_sink += leaf(i);
	return NULL;
}

__attribute__((noinline)) static void jump_inner(void)
{
	longjmp(cyg_prog_jump, 1);
}

__attribute__((noinline)) static void jump_outer(void)
{
	jump_inner();
	cyg_prog_sink++;
}

int main(int argc, char **argv)
{
	struct rp_cyg_counters c;
	pthread_t t[2];

	for (int i = 0; i < 1000; i++)
		cyg_prog_sink += leaf(i);
	cyg_prog_sink += fib(15);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	if (argc > 1 && strcmp(argv[1], "jump") == 0 && setjmp(cyg_prog_jump) == 0)
		jump_outer();
	rp_cyg_stats(&c);
	printf("enabled=%d unnamed=%" PRIu64 " reentered=%" PRIu64 " functions=%u\n",
	       (int)c.enabled, c.unnamed, c.reentered, c.functions);
	return 0;
}
