# What `cmake --install` puts where (GNUInstallDirs, relative to the install
# prefix), and the files that let code outside the tree use it:
# find_package(ringprof CONFIG) and pkg-config ringprof / ringprof-client.
#
# Files that name an installed path (units, .pc files) are configured when
# installing, not when configuring, so that `cmake --install --prefix P` and
# the .deb (prefix /usr) each get their own paths: cmake/install-configured.cmake.
include(CMakePackageConfigHelpers)

set(RINGPROF_RUNDIR /run/ringprof CACHE STRING "runtime directory of ringprofd (its socket)")
set(RINGPROF_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/ringprof)

# rp_install_dir(<var> <pkg-config variable of systemd> <default>): a
# directory of systemd's layout relative to the install prefix ("lib/..."),
# from systemd.pc when it is there.
function(rp_install_dir var pcvar default)
  set(dir ${default})
  if(PKG_CONFIG_EXECUTABLE)
    execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --define-variable=prefix=
        --define-variable=root_prefix= --define-variable=rootprefix=
        --variable=${pcvar} systemd
      OUTPUT_VARIABLE out OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
    if(rc EQUAL 0 AND out MATCHES "^/(.+)$")
      set(dir ${CMAKE_MATCH_1})
    endif()
  endif()
  set(${var} ${dir} CACHE STRING "install directory for ${pcvar}, relative to the prefix")
endfunction()
rp_install_dir(RINGPROF_INSTALL_UNITDIR systemdsystemunitdir lib/systemd/system)
rp_install_dir(RINGPROF_INSTALL_SYSUSERSDIR sysusersdir lib/sysusers.d)
rp_install_dir(RINGPROF_INSTALL_TMPFILESDIR tmpfilesdir lib/tmpfiles.d)

# rp_install_configured(<source> <name> <dir> [COPYONLY]): at install time,
# configure <source> (@VAR@ only; see cmake/install-configured.cmake for the
# variables) and install it as <dir>/<name>.  <dir> is relative to the
# prefix, or starts with SYSCONFDIR/ (the prefix's configuration directory:
# /etc for the prefix /usr).
function(rp_install_configured source name dir)
  cmake_parse_arguments(C "COPYONLY" "" "" ${ARGN})
  install(CODE "
    set(RP_SOURCE \"${source}\")
    set(RP_NAME \"${name}\")
    set(RP_OUTPUT_DIR \"${PROJECT_BINARY_DIR}/install-configured\")
    set(RP_DIR \"${dir}\")
    set(RP_COPYONLY ${C_COPYONLY})
    set(RP_VERSION \"${PROJECT_VERSION}\")
    set(RP_DESCRIPTION \"${PROJECT_DESCRIPTION}\")
    set(RP_RUNDIR \"${RINGPROF_RUNDIR}\")
    set(RP_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
    set(RP_SBINDIR \"${CMAKE_INSTALL_SBINDIR}\")
    set(RP_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
    set(RP_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
    set(RP_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")
    set(RP_LOCALSTATEDIR \"${CMAKE_INSTALL_LOCALSTATEDIR}\")
    include(\"${PROJECT_SOURCE_DIR}/cmake/install-configured.cmake\")")
endfunction()

# Headers: the client (every header of client/), the contract it and the
# reader include, the reader (tools/lib/CMakeLists.txt).
install(DIRECTORY proto/ringprof DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
file(GLOB rp_client_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/client/*.h)
install(FILES ${rp_client_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# find_package(ringprof CONFIG): ringprof::client (header-only),
# ringprof::reader (libringprof.so), ringprof::reader_static (libringprof.a).
install(TARGETS ringprof_proto ringprof_client EXPORT ringprofTargets)
install(EXPORT ringprofTargets NAMESPACE ringprof:: FILE ringprofTargets.cmake
        DESTINATION ${RINGPROF_INSTALL_CMAKEDIR})
configure_package_config_file(cmake/ringprofConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ringprofConfig.cmake
  INSTALL_DESTINATION ${RINGPROF_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ringprofConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ringprofConfig.cmake
              ${PROJECT_BINARY_DIR}/ringprofConfigVersion.cmake
        DESTINATION ${RINGPROF_INSTALL_CMAKEDIR})

# pkg-config: ringprof (the reader) and ringprof-client (the header).
rp_install_configured(${PROJECT_SOURCE_DIR}/cmake/ringprof.pc.in ringprof.pc
  ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
rp_install_configured(${PROJECT_SOURCE_DIR}/cmake/ringprof-client.pc.in ringprof-client.pc
  ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# systemd: units (socket activation), the ringprof user and group, the
# runtime and state directories; the daemon's configuration file.
foreach(unit ringprofd.service ringprofd.socket)
  if(EXISTS ${PROJECT_SOURCE_DIR}/systemd/${unit}.in)
    rp_install_configured(${PROJECT_SOURCE_DIR}/systemd/${unit}.in ${unit}
      ${RINGPROF_INSTALL_UNITDIR})
  endif()
endforeach()
if(EXISTS ${PROJECT_SOURCE_DIR}/systemd/ringprof.sysusers)
  install(FILES systemd/ringprof.sysusers RENAME ringprof.conf
          DESTINATION ${RINGPROF_INSTALL_SYSUSERSDIR})
endif()
if(EXISTS ${PROJECT_SOURCE_DIR}/systemd/ringprof.tmpfiles)
  install(FILES systemd/ringprof.tmpfiles RENAME ringprof.conf
          DESTINATION ${RINGPROF_INSTALL_TMPFILESDIR})
endif()
if(EXISTS ${PROJECT_SOURCE_DIR}/etc/ringprofd.conf)
  rp_install_configured(${PROJECT_SOURCE_DIR}/etc/ringprofd.conf ringprofd.conf
    SYSCONFDIR/ringprof COPYONLY)
endif()

# Manual pages: man/<name>.<section>.
file(GLOB rp_man_pages CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.[1-8])
foreach(page ${rp_man_pages})
  string(REGEX REPLACE ".*\\.([1-8])$" "\\1" section ${page})
  install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

# Documentation.
foreach(doc README.md BENCHMARKS.md RELIABILITY.md)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${doc})
    install(FILES ${doc} DESTINATION ${CMAKE_INSTALL_DOCDIR})
  endif()
endforeach()

# The install directories, for the install and package tests
# (tests/install/*.sh source this file).
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/install-dirs.sh CONTENT "\
BINDIR='${CMAKE_INSTALL_BINDIR}'
SBINDIR='${CMAKE_INSTALL_SBINDIR}'
INCLUDEDIR='${CMAKE_INSTALL_INCLUDEDIR}'
LIBDIR='${CMAKE_INSTALL_LIBDIR}'
SYSCONFDIR='${CMAKE_INSTALL_SYSCONFDIR}'
MANDIR='${CMAKE_INSTALL_MANDIR}'
DOCDIR='${CMAKE_INSTALL_DOCDIR}'
UNITDIR='${RINGPROF_INSTALL_UNITDIR}'
SYSUSERSDIR='${RINGPROF_INSTALL_SYSUSERSDIR}'
TMPFILESDIR='${RINGPROF_INSTALL_TMPFILESDIR}'
CONFIG='$<IF:$<BOOL:$<CONFIG>>,$<LOWER_CASE:$<CONFIG>>,noconfig>'
")
