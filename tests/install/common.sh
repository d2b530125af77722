# common.sh - the start of check.sh and deb.sh, sourced with their arguments
# (BUILD_DIR SOURCE_DIR VERSION SOVERSION) in $1..$4 and $me set to the
# script's name: the arguments, a work directory and a daemon ($dpid, when
# one was started) cleaned up at exit, and fail().
set -eu
build=$1
src=$2
version=$3
soversion=$4
here=$src/tests/install

work=$(mktemp -d "/tmp/ringprof-${me%.sh}.XXXXXX")
dpid=
cleanup() {
	[ -z "$dpid" ] || kill -KILL "$dpid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "$me: $*" >&2
	exit 1
}
