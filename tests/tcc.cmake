# Function-level recording of any C/C++ program (client/ringprof_cyg.h) and
# the symbolizer of the tools (tools/cli/symbols.c), then the TinyCC proof.

# The adapter unit: compiled WITHOUT -finstrument-functions.
add_library(cyg_adapter OBJECT cyg_adapter.c)
target_link_libraries(cyg_adapter PRIVATE ringprof::client)

set(RP_CYG_FLAGS -finstrument-functions -finstrument-functions-exclude-file-list=ringprof
  -O1 -fno-inline -fno-optimize-sibling-calls -g)
add_executable(cyg_prog cyg_prog.c $<TARGET_OBJECTS:cyg_adapter>)
target_compile_options(cyg_prog PRIVATE ${RP_CYG_FLAGS})
target_link_libraries(cyg_prog PRIVATE ringprof::client)
add_executable(cyg_prog_cxx cyg_prog_cxx.cpp $<TARGET_OBJECTS:cyg_adapter>)
target_compile_options(cyg_prog_cxx PRIVATE ${RP_CYG_FLAGS})
target_link_libraries(cyg_prog_cxx PRIVATE ringprof::client)

# The same adapter with a table of 64 slots (48 usable): the full-table path.
add_library(cyg_adapter_small OBJECT cyg_adapter.c)
target_compile_definitions(cyg_adapter_small PRIVATE RINGPROF_CYG_SLOTS=64)
target_link_libraries(cyg_adapter_small PRIVATE ringprof::client)
add_executable(cyg_prog_full cyg_prog_full.c $<TARGET_OBJECTS:cyg_adapter_small>)
target_compile_options(cyg_prog_full PRIVATE ${RP_CYG_FLAGS})
target_compile_definitions(cyg_prog_full PRIVATE RINGPROF_CYG_SLOTS=64)
target_link_libraries(cyg_prog_full PRIVATE ringprof::client)

pkg_check_modules(DW REQUIRED IMPORTED_TARGET libdw)
rp_add_test(cyg SOURCES test_cyg.c harness.c ${PROJECT_SOURCE_DIR}/tools/cli/symbols.c
  LIBS ringprof_reader PkgConfig::DW PkgConfig::BSD stdc++ TIMEOUT 120 LABELS cyg)
add_dependencies(test_cyg cyg_prog cyg_prog_cxx cyg_prog_full ringprofd ringprof_cli)

# The TinyCC proof in its short mode (bench/tcc/run --short): fetches the
# Debian source into the build directory, builds tcc three times, compares
# every function's call count with uftrace's.  Normal build only.
if(RINGPROF_SANITIZE STREQUAL "")
  add_test(NAME tcc COMMAND ${PROJECT_SOURCE_DIR}/bench/tcc/run --short --no-build
    --build ${PROJECT_BINARY_DIR})
  set_tests_properties(tcc PROPERTIES TIMEOUT 900 LABELS "tcc;heavy")
endif()
