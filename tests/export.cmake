# Export suites: `ringprof chrome`, `folded` and `stat` on fixed segments;
# the chrome output is checked by export_check_chrome.py (python3).
find_program(RINGPROF_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT RINGPROF_PYTHON3)
  find_program(RINGPROF_PYTHON3 python3)
endif()
if(NOT RINGPROF_PYTHON3)
  set(RINGPROF_PYTHON3 /usr/bin/python3)
endif()
rp_add_test(export SOURCES test_export.c test_export_fixture.c test_cli_fixture.c
  LIBS ringprof_codec TIMEOUT 120)
target_compile_definitions(test_export PRIVATE RINGPROF_PYTHON="${RINGPROF_PYTHON3}")
add_dependencies(test_export ringprof_cli)

# Fuzz targets (tests/fuzz/): only with -DRINGPROF_FUZZ=ON and clang, in a
# build directory of their own (`./run test` makes one).  `cmake --build
# --target fuzz` builds them; `ctest -L fuzz` seeds a corpus from whole
# segments and runs each for RINGPROF_FUZZ_SECONDS.
option(RINGPROF_FUZZ "build the libFuzzer targets (clang)" OFF)
set(RINGPROF_FUZZ_SECONDS 30 CACHE STRING "seconds each fuzz target runs under ctest")
if(RINGPROF_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RINGPROF_FUZZ needs clang: -DCMAKE_C_COMPILER=clang")
  endif()
  set(fuzz_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  foreach(lib ringprof_codec ringprof_reader)
    target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link ${fuzz_san})
    target_link_options(${lib} PRIVATE ${fuzz_san})
  endforeach()
  add_custom_target(fuzz)
  foreach(f reader codec)
    add_executable(fuzz_${f} fuzz/fuzz_${f}.c)
    target_compile_options(fuzz_${f} PRIVATE -fsanitize=fuzzer ${fuzz_san})
    target_link_options(fuzz_${f} PRIVATE -fsanitize=fuzzer ${fuzz_san})
    add_dependencies(fuzz fuzz_${f})
    add_test(NAME fuzz_${f} COMMAND fuzz_${f} -max_total_time=${RINGPROF_FUZZ_SECONDS}
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/${f})
    set_tests_properties(fuzz_${f} PROPERTIES LABELS fuzz FIXTURES_REQUIRED fuzz_corpus
      TIMEOUT 600)
  endforeach()
  target_link_libraries(fuzz_reader PRIVATE ringprof_reader)
  target_link_libraries(fuzz_codec PRIVATE ringprof_codec)
  add_executable(fuzz_seed fuzz/fuzz_seed.c)
  target_link_libraries(fuzz_seed PRIVATE ringprof_codec)
  target_link_options(fuzz_seed PRIVATE ${fuzz_san})
  add_dependencies(fuzz fuzz_seed)
  add_test(NAME fuzz_seed COMMAND fuzz_seed ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus)
  set_tests_properties(fuzz_seed PROPERTIES LABELS fuzz FIXTURES_SETUP fuzz_corpus)
endif()
