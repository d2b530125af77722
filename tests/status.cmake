# `ringprof status` against a real ringprofd with real clients (e2e_client)
# and hand-made peers; the JSON is checked by status_check.py (python3).
find_program(RINGPROF_STATUS_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT RINGPROF_STATUS_PYTHON3)
  find_program(RINGPROF_STATUS_PYTHON3 python3 REQUIRED)
endif()
rp_add_test(status SOURCES test_status.c harness.c LIBS ringprof_proto TIMEOUT 300 LABELS daemon)
target_compile_definitions(test_status PRIVATE
  RINGPROF_PYTHON3="${RINGPROF_STATUS_PYTHON3}")
add_dependencies(test_status ringprofd ringprof_cli e2e_client)
