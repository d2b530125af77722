# End to end: a real ringprofd, real client processes built on ringprof.h,
# segments read back through libringprof.
add_executable(e2e_client e2e_client.c)
target_link_libraries(e2e_client PRIVATE ringprof::client)
rp_add_test(e2e SOURCES test_e2e.c LIBS ringprof_reader TIMEOUT 600 LABELS e2e)
add_dependencies(test_e2e e2e_client ringprofd)

# cmake --install into a temporary prefix, then an out-of-tree consumer
# (plain cc: not in sanitizer builds, whose library needs their runtime).
if(RINGPROF_SANITIZE STREQUAL "")
  add_test(NAME install COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install/check.sh
    ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_tests_properties(install PROPERTIES TIMEOUT 120 LABELS install)
endif()
