# The Debian package: `cpack -G DEB` (or `cmake --build B --target package`)
# in the build directory writes ringprof_<version>_<arch>.deb.  Prefix /usr,
# configuration in /etc (cmake/install-configured.cmake), Depends from
# dpkg-shlibdeps (dpkg-dev), maintainer scripts in cmake/deb/.
set(RINGPROF_PACKAGE_CONTACT "ringprof maintainers <root@localhost>"
  CACHE STRING "Maintainer field of the .deb")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ringprof)
set(CPACK_PACKAGE_VENDOR ringprof)
set(CPACK_PACKAGE_CONTACT "${RINGPROF_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION "ringprof records what a compiler is doing (query start and stop,
cache hits, threads blocked on each other, artifact sizes) at almost no
cost to the compiler: the compiler includes one header, ringprof.h, and
writes 16-byte records into rings in shared memory; the daemon ringprofd
drains them with io_uring into compressed segment files; the ringprof
command summarizes, compares and exports them.  This package holds the
daemon with its systemd socket and service, the ringprof command, the
header and libringprof (shared and static) with pkg-config and CMake files.")
# cpack runs the install with CMAKE_INSTALL_PREFIX=/usr and DESTDIR set to
# its staging directory, so that files configured at install time name
# /usr and /etc, not the staging directory.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# ringprof (the command) needs libringprof.so.N of this same package.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS
  ${PROJECT_BINARY_DIR}/tools/lib)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# postinst runs systemd-sysusers and systemd-tmpfiles (systemd provides
# both; so do the systemd-standalone-* packages).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd-sysusers, systemd-tmpfiles")

set(rp_control ${PROJECT_SOURCE_DIR}/cmake/deb/postinst ${PROJECT_SOURCE_DIR}/cmake/deb/prerm
  ${PROJECT_SOURCE_DIR}/cmake/deb/postrm ${PROJECT_SOURCE_DIR}/cmake/deb/triggers)
if(EXISTS ${PROJECT_SOURCE_DIR}/etc/ringprofd.conf)
  file(WRITE ${PROJECT_BINARY_DIR}/deb/conffiles "/etc/ringprof/ringprofd.conf\n")
  list(APPEND rp_control ${PROJECT_BINARY_DIR}/deb/conffiles)
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${rp_control}")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
