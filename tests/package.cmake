# Install and packaging: an install into a temporary prefix used from out of
# the tree (pkg-config and find_package), the .deb, the manual pages.  The
# install and package tests run in the normal build only: sanitizer builds
# install libraries that need their runtime.
if(RINGPROF_SANITIZE STREQUAL "")
  add_test(NAME install COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install/check.sh
    ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${PROJECT_VERSION} ${PROJECT_VERSION_MAJOR})
  set_tests_properties(install PROPERTIES TIMEOUT 180 LABELS install)

  # Builds the .deb and, as root, installs and purges it for real on this
  # system (RINGPROF_NO_DPKG_INSTALL=1: build and inspect it only).
  add_test(NAME package COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install/deb.sh
    ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${PROJECT_VERSION} ${PROJECT_VERSION_MAJOR})
  set_tests_properties(package PROPERTIES TIMEOUT 300 LABELS package
    RESOURCE_LOCK ringprof_system_install)
endif()

# Every page of man/ formats without a warning, and ringprof(1) and
# ringprof.h(3) name every command, option, function and environment
# variable there is.
add_test(NAME man COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install/man.sh
  ${PROJECT_SOURCE_DIR} $<TARGET_FILE:ringprof_cli>)
set_tests_properties(man PROPERTIES TIMEOUT 60 LABELS install
  ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
