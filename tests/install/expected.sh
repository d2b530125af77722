#!/bin/sh
# Print, sorted, every file an install of BUILD_DIR holds (tests/install/
# files.txt with the build's install directories), relative to the prefix;
# SYSCONFDIR replaces the configuration directory (relative, or /etc for
# the prefix /usr).  The directories come from BUILD_DIR/install-dirs.sh.
# usage: expected.sh BUILD_DIR SOURCE_DIR VERSION SOVERSION SYSCONFDIR
set -eu
build=$1
src=$2
version=$3
soversion=$4
sysconfdir=$5
. "$build/install-dirs.sh"
{
	sed -e '/^#/d' -e "s|@BINDIR@|$BINDIR|" -e "s|@SBINDIR@|$SBINDIR|" \
		-e "s|@INCLUDEDIR@|$INCLUDEDIR|" -e "s|@LIBDIR@|$LIBDIR|" -e "s|@CONFIG@|$CONFIG|" \
		-e "s|@SOVERSION@|$soversion|" -e "s|@VERSION@|$version|" \
		-e "s|@UNITDIR@|$UNITDIR|" -e "s|@SYSUSERSDIR@|$SYSUSERSDIR|" \
		-e "s|@TMPFILESDIR@|$TMPFILESDIR|" -e "s|@SYSCONFDIR@|$sysconfdir|" \
		-e "s|@MANDIR@|$MANDIR|" -e "s|@DOCDIR@|$DOCDIR|" "$src/tests/install/files.txt"
	for h in "$src"/client/*.h; do
		[ "$(basename "$h")" = ringprof.h ] || echo "$INCLUDEDIR/$(basename "$h")"
	done
	[ ! -e "$src/RELIABILITY.md" ] || echo "$DOCDIR/RELIABILITY.md"
} | sort
