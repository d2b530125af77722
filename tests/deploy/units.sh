#!/bin/sh
# units.sh UNITDIR SRCDIR: the configured units (ExecStart= the built
# ringprofd) pass `systemd-analyze verify` without a word, and
# `systemd-analyze security --offline` rates ringprofd.service OK or better
# (overall exposure <= 4.9); the sysusers.d and tmpfiles.d entries apply to
# an empty root.
set -eu
units=$1
src=$2
fail() { echo "units.sh: $*" >&2; exit 1; }

out=$(systemd-analyze verify --man=no "$units/ringprofd.socket" "$units/ringprofd.service" 2>&1) ||
	fail "systemd-analyze verify failed:
$out"
[ -z "$out" ] || fail "systemd-analyze verify is not clean:
$out"

out=$(systemd-analyze security --offline=yes --man=no "$units/ringprofd.service" 2>&1) ||
	fail "systemd-analyze security failed:
$out"
level=$(printf '%s\n' "$out" |
	sed -n 's/^.*Overall exposure level for ringprofd\.service: \([0-9][0-9.]*\) .*$/\1/p')
[ -n "$level" ] || fail "no overall exposure level in:
$out"
awk -v l="$level" 'BEGIN { exit !(l + 0 <= 4.9) }' ||
	fail "exposure $level is above 4.9 (OK):
$out"
echo "ringprofd.service: exposure $level"

root=$(mktemp -d /tmp/ringprof-units.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc" "$root/var/lib" "$root/run"
: >"$root/etc/passwd"
: >"$root/etc/group"
systemd-sysusers --root="$root" "$src/systemd/ringprof.sysusers" >/dev/null 2>&1 ||
	fail "systemd-sysusers rejected ringprof.sysusers"
grep -q '^ringprof:x:[0-9]*:[0-9]*:ringprof event recorder:/var/lib/ringprof:' "$root/etc/passwd" ||
	fail "no ringprof user: $(cat "$root/etc/passwd")"
grep -q '^ringprof:x:[0-9]*:$' "$root/etc/group" || fail "no ringprof group: $(cat "$root/etc/group")"
out=$(systemd-tmpfiles --root="$root" --create "$src/systemd/ringprof.tmpfiles" 2>&1) ||
	fail "systemd-tmpfiles failed: $out"
[ -z "$out" ] || fail "systemd-tmpfiles is not clean: $out"
[ "$(stat -c %a "$root/var/lib/ringprof")" = 750 ] || fail "/var/lib/ringprof is not 0750"
[ "$(stat -c %a "$root/run/ringprof")" = 755 ] || fail "/run/ringprof is not 0755"
