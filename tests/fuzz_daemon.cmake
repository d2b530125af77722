# fuzz_daemon (tests/fuzz/fuzz_daemon.c): ringprofd's hello, region, string
# and record parsing under libFuzzer.  The daemon's sources are linked in
# unchanged except loop.c (io_uring), which the harness replaces.  Built
# and run like the other fuzz targets (-DRINGPROF_FUZZ=ON, clang, label
# fuzz, RINGPROF_FUZZ_SECONDS).
if(RINGPROF_FUZZ)
  set(fuzz_daemon_san -fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  add_executable(fuzz_daemon fuzz/fuzz_daemon.c
    ../daemon/client.c ../daemon/ring.c ../daemon/strtab.c ../daemon/seg.c
    ../daemon/log.c ../daemon/clock.c ../daemon/access.c ../daemon/status.c
    ../daemon/retain.c)
  target_include_directories(fuzz_daemon PRIVATE ../daemon)
  # the daemon is built by gcc; clang calls its cmsg buffer union a GNU extension
  target_compile_options(fuzz_daemon PRIVATE -fsanitize=fuzzer ${fuzz_daemon_san}
    -Wno-gnu-variable-sized-type-not-at-end -Wno-format-nonliteral)
  target_link_options(fuzz_daemon PRIVATE -fsanitize=fuzzer ${fuzz_daemon_san})
  target_link_libraries(fuzz_daemon PRIVATE ringprof_codec ringprof_proto
    PkgConfig::URING PkgConfig::ZSTD PkgConfig::BSD)
  if(TARGET fuzz)
    add_dependencies(fuzz fuzz_daemon)
  endif()
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/daemon)
  add_test(NAME fuzz_daemon COMMAND fuzz_daemon -max_total_time=${RINGPROF_FUZZ_SECONDS}
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    ${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/daemon ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/daemon-seed)
  set_tests_properties(fuzz_daemon PROPERTIES LABELS fuzz TIMEOUT 600)
endif()
