#!/bin/sh
# Install the build into a temporary prefix, build an out-of-tree consumer
# of <ringprof/reader.h> and <ringprof.h> against it, and run it.
# usage: check.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
prefix=$(mktemp -d /tmp/ringprof-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/ringprof.h include/ringprof/reader.h include/ringprof/seg.h \
	 bin/ringprof sbin/ringprofd; do
	[ -e "$prefix/$f" ] || { echo "check.sh: $f not installed" >&2; exit 1; }
done
cc -std=c17 -Wall -Wextra -Werror -I"$prefix/include" "$src/tests/install/consumer.c" \
	-L"$prefix/lib" -lringprof -Wl,-rpath,"$prefix/lib" -o "$prefix/consumer"
# The header-only client compiles against the installed headers alone.
printf '#define RINGPROF_STATIC\n#include <ringprof.h>\nint main(void) { return rp_kind("x") != 0; }\n' \
	>"$prefix/client.c"
cc -std=c17 -Wall -Wextra -Werror -D_GNU_SOURCE -I"$prefix/include" "$prefix/client.c" \
	-pthread -o "$prefix/client"
RINGPROF_DISABLE=1 "$prefix/client"
# A missing path: one line naming it, exit 1.
if "$prefix/consumer" "$prefix/missing" 2>"$prefix/err"; then
	echo "check.sh: consumer accepted a missing path" >&2
	exit 1
fi
grep -q "missing" "$prefix/err" || { cat "$prefix/err" >&2; exit 1; }
# An empty directory holds no events.
mkdir "$prefix/empty"
out=$("$prefix/consumer" "$prefix/empty")
[ "$out" = "0 events" ] || { echo "check.sh: got '$out'" >&2; exit 1; }
echo "install: 1 passed, 0 failed"
