#!/bin/sh
# Install the build into a temporary prefix and check it as a user of it
# would: the exact list of files, libringprof's SONAME and exported symbols,
# the paths written into the units and .pc files; then record with the
# installed ringprofd and two out-of-tree programs and read the segments back
# with two out-of-tree readers: one built with plain cc and pkg-config, one
# with CMake's find_package(ringprof) (ringprof::client, ringprof::reader,
# ringprof::reader_static).
# usage: check.sh BUILD_DIR SOURCE_DIR VERSION SOVERSION
me=check.sh
. "$(dirname "$0")/common.sh"
# BINDIR, SBINDIR, LIBDIR, UNITDIR...: the build's install directories
. "$build/install-dirs.sh"

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log" >&2; fail "cmake --install failed"; }

# 1. Exactly the expected files, no more.
sh "$here/expected.sh" "$build" "$src" "$version" "$soversion" "$SYSCONFDIR" \
	>"$work/expected"
(cd "$prefix" && find . ! -type d | sed 's|^\./||' | sort) >"$work/installed"
if ! diff -u "$work/expected" "$work/installed" >"$work/files.diff"; then
	cat "$work/files.diff" >&2
	fail "installed files differ from the expected list (- missing, + unexpected)"
fi

# 2. libringprof: SONAME, links, and only the API of <ringprof/reader.h>.
lib=$prefix/$LIBDIR
soname=$(readelf -d "$lib/libringprof.so.$version" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libringprof.so.$soversion" ] || fail "SONAME is '$soname', not libringprof.so.$soversion"
[ "$(readlink "$lib/libringprof.so.$soversion")" = "libringprof.so.$version" ] ||
	fail "libringprof.so.$soversion does not point to libringprof.so.$version"
[ "$(readlink "$lib/libringprof.so")" = "libringprof.so.$soversion" ] ||
	fail "libringprof.so does not point to libringprof.so.$soversion"
sed -n 's/^RP_READER_API .*[ *]\(rp_reader_[a-z_]*\)(.*/\1/p' "$src/tools/lib/include/ringprof/reader.h" |
	sort >"$work/api"
nm -D --defined-only "$lib/libringprof.so" | awk '$2 == "T" { print $3 }' | sort >"$work/exported"
[ -s "$work/api" ] || fail "no RP_READER_API function found in reader.h"
diff -u "$work/api" "$work/exported" >&2 ||
	fail "libringprof.so exports other symbols than the RP_READER_API functions"

# 3. Installed paths: the units start the installed daemon; pkg-config
#    files name the prefix.
unitdir=$prefix/$UNITDIR
grep -q "^ExecStart=$prefix/$SBINDIR/ringprofd\( \|$\)" "$unitdir/ringprofd.service" ||
	fail "ringprofd.service does not start $prefix/$SBINDIR/ringprofd"
! grep -n '@[A-Z_]*@' "$unitdir/ringprofd.service" "$unitdir/ringprofd.socket" >&2 ||
	fail "a unit has an unconfigured @VARIABLE@"
export PKG_CONFIG_PATH="$lib/pkgconfig"
[ "$(pkg-config --modversion ringprof)" = "$version" ] || fail "pkg-config: ringprof version"
[ "$(pkg-config --modversion ringprof-client)" = "$version" ] || fail "pkg-config: ringprof-client version"
[ "$(pkg-config --variable=prefix ringprof)" = "$prefix" ] || fail "pkg-config: ringprof prefix"

# 4. The installed tools run (libringprof found through LD_LIBRARY_PATH: no
#    RPATH is installed).
LD_LIBRARY_PATH=$lib "$prefix/bin/ringprof" --help >"$work/help" || fail "installed ringprof --help failed"
grep -q '^usage: ringprof <command>' "$work/help" || fail "installed ringprof --help: $(head -1 "$work/help")"
[ "$("$prefix/$SBINDIR/ringprofd" --version | head -1 | cut -d" " -f1,2)" = "ringprofd $version" ] ||
	fail "installed ringprofd --version is not 'ringprofd $version'"

# 5. Out of tree, plain cc and pkg-config.
cflags="-std=c17 -Wall -Wextra -Werror"
# shellcheck disable=SC2046,SC2086
cc $cflags $(pkg-config --cflags ringprof-client) "$here/client.c" \
	$(pkg-config --libs ringprof-client) -o "$work/pc-client" || fail "pkg-config client did not build"
# shellcheck disable=SC2046,SC2086
cc $cflags $(pkg-config --cflags ringprof) "$here/consumer.c" $(pkg-config --libs ringprof) \
	-Wl,-rpath,"$lib" -o "$work/pc-reader" || fail "pkg-config reader did not build"

# 6. Out of tree, CMake find_package; and a major version it is not.
cmake -S "$here/cmake" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cm.log" 2>&1 ||
	{ cat "$work/cm.log" >&2; fail "find_package(ringprof 0.1) consumer did not configure"; }
cmake --build "$work/cm" >>"$work/cm.log" 2>&1 ||
	{ cat "$work/cm.log" >&2; fail "find_package(ringprof) consumer did not build"; }
if readelf -d "$work/cm/reader_static" | grep -q 'NEEDED.*libringprof'; then
	fail "reader_static needs libringprof.so"
fi
readelf -d "$work/cm/reader" | grep -q "NEEDED.*\[libringprof.so.$soversion\]" ||
	fail "reader does not need libringprof.so.$soversion"
if cmake -S "$here/cmake" -B "$work/cm1" -DCMAKE_PREFIX_PATH="$prefix" \
	-DRINGPROF_WANT=$((${version%%.*} + 1)).0 >"$work/cm1.log" 2>&1; then
	fail "find_package(ringprof $((${version%%.*} + 1)).0) accepted version $version"
fi

# 7. Record with the installed daemon and both clients, read back with all
#    three readers.
sock=$work/ringprof.sock
state=$work/state
"$prefix/$SBINDIR/ringprofd" --socket "$sock" --state-dir "$state" \
	--log-level warn 2>"$work/ringprofd.log" &
dpid=$!
i=0
while [ ! -S "$sock" ]; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 "$dpid" 2>/dev/null; then
		cat "$work/ringprofd.log" >&2
		fail "installed ringprofd did not start"
	fi
	sleep 0.05
done
RINGPROF_SOCKET=$sock RINGPROF_SESSION=pkgconfig "$work/pc-client" || fail "pkg-config client failed"
RINGPROF_SOCKET=$sock RINGPROF_SESSION=cmake "$work/cm/client" || fail "find_package client failed"
kill -TERM "$dpid"
rc=0
wait "$dpid" || rc=$?
[ $rc -eq 0 ] || { cat "$work/ringprofd.log" >&2; fail "ringprofd exited with $rc"; }
dpid=
cat >"$work/want" <<WANT
BEGIN Query typeck(main)
INSTANT QueryCacheHit type_of(main)
END Query typeck(main)
INTEGER ArtifactSize main.o 4096
4 events
WANT
for reader in pc-reader cm/reader cm/reader_static; do
	for session in pkgconfig cmake; do
		"$work/$reader" "$state/$session" >"$work/got" 2>&1 || { cat "$work/got" >&2; fail "$reader $session failed"; }
		diff -u "$work/want" "$work/got" >&2 || fail "$reader read $session wrongly"
	done
done
# A missing path: one line naming it, exit 1.
if "$work/cm/reader_static" "$work/missing" 2>"$work/err"; then
	fail "reader accepted a missing path"
fi
grep -q "$work/missing" "$work/err" || { cat "$work/err" >&2; fail "no path in the error"; }
echo "install: 1 passed, 0 failed"
