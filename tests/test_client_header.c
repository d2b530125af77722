/*
 * test_client_header.c - runs the header-compile units: ringprof.h built as
 * C11, C17 and C++17 (each twice in one unit, static mode, each with its
 * own copy of the client and its own region) and linked together here.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

int client_c11_run(void);
int client_c17_run(void);
int client_cxx_run(void);

static void setup(void)
{
	unsetenv("RINGPROF_DISABLE");
	unsetenv("RINGPROF_EVENTS");
	unsetenv("RINGPROF_LOSSLESS");
	setenv("RINGPROF_CLOCK", "monotonic", 1);
	setenv("RINGPROF_RING_SIZE", "4096", 1);
	setenv("RINGPROF_RINGS", "2", 1);
	setenv("RINGPROF_STRINGS", "4096", 1);
}

Test(client_header, compiles_as_c11_and_records, .init = setup)
{
	cr_assert_eq(client_c11_run(), 0);
}

Test(client_header, compiles_as_c17_and_scope_ends_at_block_exit, .init = setup)
{
	cr_assert_eq(client_c17_run(), 0);
}

Test(client_header, compiles_as_cxx17_and_raii_scope_ends_on_unwind, .init = setup)
{
	cr_assert_eq(client_cxx_run(), 0);
}

Test(client_header, three_static_copies_keep_separate_regions, .init = setup)
{
	cr_assert_eq(client_c11_run(), 0);
	cr_assert_eq(client_c17_run(), 0);
	cr_assert_eq(client_cxx_run(), 0);
}
