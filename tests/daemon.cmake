# ringprofd integration suites: spawn the built daemon (RINGPROF_BUILD_DIR)
# and decode its segments with the codec.  One executable, two ctest
# entries (criterion --filter) that can run in parallel:
#   daemon          registration, draining, rotation, refusals
#   daemon_hostile  garbage in regions and hellos, connection floods, a full
#                   disk (a tmpfs: needs root), bursts beyond
#                   --max-pending-bytes, --session-quota, access control
#                   (switches to uid 65534: needs root)
add_executable(test_daemon test_daemon.c harness.c)
target_link_libraries(test_daemon PRIVATE PkgConfig::CRITERION ringprof_codec ringprof_proto
  PkgConfig::BSD)
target_compile_definitions(test_daemon PRIVATE
  RINGPROF_BUILD_DIR="${PROJECT_BINARY_DIR}"
  RINGPROF_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
add_dependencies(test_daemon ringprofd)
foreach(suite daemon daemon_hostile)
  add_test(NAME ${suite} COMMAND test_daemon --jobs 1 --filter "${suite}/*")
  set_tests_properties(${suite} PROPERTIES TIMEOUT 300 LABELS daemon
    ENVIRONMENT "RINGPROF_BUILD_DIR=${PROJECT_BINARY_DIR};ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endforeach()
