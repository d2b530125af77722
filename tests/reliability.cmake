# Faults and load (issue: reliability): a real ringprofd and real e2e_client
# processes killed, restarted and ended every way; RELIABILITY.md has the
# figures and how to rerun each.
rp_add_test(faults SOURCES test_faults.c faults_harness.c LIBS ringprof_reader
  TIMEOUT 600 LABELS e2e faults)
add_dependencies(test_faults e2e_client ringprofd ringprof_cli)

# 32 clients x 4 threads flat out for 30 s: heavy, normal build only.
if(RINGPROF_SANITIZE STREQUAL "")
  rp_add_test(faults_load SOURCES test_faults_load.c faults_harness.c LIBS ringprof_reader
    TIMEOUT 600 LABELS heavy faults)
  add_dependencies(test_faults_load e2e_client ringprofd)
  # It fills both cores on purpose: a test beside it would see its daemon
  # starved for seconds (lossless producers give up after one second
  # without a heartbeat, clients after two without an answer).
  set_tests_properties(faults_load PROPERTIES RUN_SERIAL TRUE)
endif()
