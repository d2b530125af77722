/*
 * test_client_shim.h - a minimal stand-in for the Criterion macros used by
 * test_ring.c, for ThreadSanitizer builds: Criterion's runner cannot start
 * under TSan (its inheritable arena is refused, Snaipe/Criterion#274).
 * Like Criterion, every test runs in its own forked process; the runner
 * prints one line per test and exits non-zero if any failed.
 */
#ifndef TEST_CLIENT_SHIM_H
#define TEST_CLIENT_SHIM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHIM_TESTS_MAX 64

struct shim_test {
	const char *name;
	void (*fn)(void);
};

static struct shim_test shim_tests[SHIM_TESTS_MAX];
static int shim_ntests;

static void shim_register(const char *name, void (*fn)(void))
{
	if (shim_ntests < SHIM_TESTS_MAX) {
		shim_tests[shim_ntests].name = name;
		shim_tests[shim_ntests].fn = fn;
		shim_ntests++;
	}
}

static void shim_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, what);
	_exit(1);
}

#define Test(suite, name, ...) \
	static void suite##_##name(void); \
	__attribute__((constructor)) static void suite##_##name##_register(void) \
	{ \
		shim_register(#suite "::" #name, suite##_##name); \
	} \
	static void suite##_##name(void)

#define cr_assert(c, ...) do { if (!(c)) shim_fail(__FILE__, __LINE__, #c); } while (0)
#define cr_assert_not(c, ...) cr_assert(!(c))
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b))
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b))
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b))
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b))
#define cr_assert_null(p, ...) cr_assert((p) == NULL)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0)

int main(void)
{
	int i, status, failed = 0;
	pid_t pid;

	for (i = 0; i < shim_ntests; i++) {
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			shim_tests[i].fn();
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			printf("[FAIL] %s\n", shim_tests[i].name);
			failed++;
		} else {
			printf("[PASS] %s\n", shim_tests[i].name);
		}
	}
	printf("%d tests, %d failed\n", shim_ntests, failed);
	return failed ? 1 : 0;
}

#endif /* TEST_CLIENT_SHIM_H */
