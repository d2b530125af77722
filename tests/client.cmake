# Client tests: the ring protocol against an in-test consumer, and the
# header compiled as C11, C17 and C++17 (static mode, included twice).

if(RINGPROF_SANITIZE STREQUAL "thread")
  # Criterion cannot start under TSan: same tests, minimal forking runner.
  add_executable(test_ring test_ring.c)
  target_compile_definitions(test_ring PRIVATE RINGPROF_TEST_SHIM)
  target_link_libraries(test_ring PRIVATE ringprof::client)
  add_test(NAME ring COMMAND test_ring)
  set_tests_properties(ring PROPERTIES TIMEOUT 240 LABELS "tsan;client"
    ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1:abort_on_error=1")
else()
  rp_add_test(ring SOURCES test_ring.c LIBS ringprof::client TIMEOUT 240 LABELS tsan client)
endif()
# a fork child without memory (test_ring.c, __wrap_malloc)
target_link_options(test_ring PRIVATE -Wl,--wrap=malloc)

add_library(test_client_c11 OBJECT test_client_c11.c)
set_target_properties(test_client_c11 PROPERTIES C_STANDARD 11)
add_library(test_client_c17 OBJECT test_client_c17.c)
set_target_properties(test_client_c17 PROPERTIES C_STANDARD 17)
add_library(test_client_cxx OBJECT test_client_cxx.cpp)
set_target_properties(test_client_cxx PROPERTIES CXX_STANDARD 17)
foreach(unit test_client_c11 test_client_c17 test_client_cxx)
  target_link_libraries(${unit} PRIVATE ringprof::client)
endforeach()
rp_add_test(client_header SOURCES test_client_header.c
  $<TARGET_OBJECTS:test_client_c11> $<TARGET_OBJECTS:test_client_c17>
  $<TARGET_OBJECTS:test_client_cxx>
  LIBS ringprof::client TIMEOUT 60 LABELS client)

rp_add_test(client_register SOURCES test_client_register.c LIBS ringprof::client TIMEOUT 60
  LABELS client)
