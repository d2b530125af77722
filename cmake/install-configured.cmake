# Runs inside `cmake --install` (and cpack): configures one file with the
# paths of the prefix being installed to, then installs it.  Set by
# rp_install_configured() in cmake/install.cmake:
#   RP_SOURCE, RP_NAME    template and the name to install it as
#   RP_OUTPUT_DIR         where to configure it (under the build directory)
#   RP_DIR                destination, relative to the prefix, or
#                         SYSCONFDIR/<subdir>
#   RP_COPYONLY           install RP_SOURCE as it is
#   RP_VERSION, RP_DESCRIPTION, RP_RUNDIR and the GNUInstallDirs RP_*DIR
#
# The template may use @RINGPROF_PREFIX@, @RINGPROF_BINDIR@,
# @RINGPROF_SBINDIR@, @RINGPROF_LIBDIR@, @RINGPROF_INCLUDEDIR@,
# @RINGPROF_SYSCONFDIR@, @RINGPROF_LOCALSTATEDIR@ (absolute),
# @RINGPROF_RUNDIR@, @RINGPROF_VERSION@ and @RINGPROF_DESCRIPTION@.

# rp_full(<var> <dir>): <dir> made absolute under the prefix.
macro(rp_full var dir)
  if(IS_ABSOLUTE "${dir}")
    set(${var} "${dir}")
  else()
    set(${var} "${RINGPROF_PREFIX}/${dir}")
  endif()
endmacro()

set(RINGPROF_PREFIX "${CMAKE_INSTALL_PREFIX}")
rp_full(RINGPROF_BINDIR "${RP_BINDIR}")
rp_full(RINGPROF_SBINDIR "${RP_SBINDIR}")
rp_full(RINGPROF_LIBDIR "${RP_LIBDIR}")
rp_full(RINGPROF_INCLUDEDIR "${RP_INCLUDEDIR}")
# As GNUInstallDirs: the prefix /usr keeps its configuration in /etc and its
# state in /var; any other prefix keeps both under itself.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" AND NOT IS_ABSOLUTE "${RP_SYSCONFDIR}")
  set(RINGPROF_SYSCONFDIR /etc)
else()
  rp_full(RINGPROF_SYSCONFDIR "${RP_SYSCONFDIR}")
endif()
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" AND NOT IS_ABSOLUTE "${RP_LOCALSTATEDIR}")
  set(RINGPROF_LOCALSTATEDIR /var)
else()
  rp_full(RINGPROF_LOCALSTATEDIR "${RP_LOCALSTATEDIR}")
endif()
set(RINGPROF_RUNDIR "${RP_RUNDIR}")
set(RINGPROF_VERSION "${RP_VERSION}")
set(RINGPROF_DESCRIPTION "${RP_DESCRIPTION}")

if(RP_DIR MATCHES "^SYSCONFDIR/(.*)$")
  set(rp_dest "${RINGPROF_SYSCONFDIR}/${CMAKE_MATCH_1}")
else()
  rp_full(rp_dest "${RP_DIR}")
endif()

# One directory per destination: installs to two prefixes at once (the
# install test and cpack) must not configure over each other.
string(MD5 rp_where "${rp_dest}")
set(RP_OUTPUT "${RP_OUTPUT_DIR}/${rp_where}/${RP_NAME}")
if(RP_COPYONLY)
  configure_file("${RP_SOURCE}" "${RP_OUTPUT}" COPYONLY)
else()
  configure_file("${RP_SOURCE}" "${RP_OUTPUT}" @ONLY)
endif()
file(INSTALL DESTINATION "${rp_dest}" TYPE FILE FILES "${RP_OUTPUT}")
