# End to end: a real ringprofd, real client processes built on ringprof.h,
# segments read back through libringprof.
add_executable(e2e_client e2e_client.c)
target_link_libraries(e2e_client PRIVATE ringprof::client)
rp_add_test(e2e SOURCES test_e2e.c harness.c LIBS ringprof_reader TIMEOUT 600 LABELS e2e)
add_dependencies(test_e2e e2e_client ringprofd)
