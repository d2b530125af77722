#!/bin/sh
# Build the .deb with CPack and check it: its files (exactly those of an
# install to /usr, configuration in /etc), its control fields, conffiles and
# maintainer scripts.  Then, as root, install it for real with dpkg -i
# (purging an installed ringprof first): the ringprof user and group, the
# state directory, the programs from /usr, the units (systemd-analyze
# verify); purge it and check that it is gone.  Not root: fail, unless
# RINGPROF_NO_DPKG_INSTALL=1 asks for the first part only.
# usage: deb.sh BUILD_DIR SOURCE_DIR VERSION SOVERSION
me=deb.sh
. "$(dirname "$0")/common.sh"

arch=$(dpkg --print-architecture)
deb=$work/ringprof_${version}_$arch.deb
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work" >"$work/cpack.log" 2>&1 ||
	{ cat "$work/cpack.log" >&2; fail "cpack -G DEB failed"; }
[ -f "$deb" ] || { cat "$work/cpack.log" >&2; fail "cpack wrote no $(basename "$deb")"; }

# 1. Files: those of an install to /usr, configuration in /etc.
sh "$here/expected.sh" "$build" "$src" "$version" "$soversion" /etc |
	sed -e 's|^/etc/|etc/|' -e t -e 's|^|usr/|' | sort >"$work/expected"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./||' | sort >"$work/files"
if ! diff -u "$work/expected" "$work/files" >"$work/files.diff"; then
	cat "$work/files.diff" >&2
	fail "the .deb's files differ from the expected list (- missing, + unexpected)"
fi

# 2. Control: fields, Depends computed by dpkg-shlibdeps, conffiles, scripts.
field() {
	dpkg-deb -f "$deb" "$1"
}
[ "$(field Package)" = ringprof ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version)"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ "$(field Section)" = devel ] || fail "Section: $(field Section)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ -n "$(field Description)" ] || fail "no Description"
depends=$(field Depends)
for dep in libc6 libbsd0 liburing2 libzstd1 libsystemd0 systemd-sysusers systemd-tmpfiles; do
	echo "$depends" | tr ',' '\n' | grep -q "^ *$dep\( \|$\)" ||
		fail "Depends lacks $dep: $depends"
done
if echo "$depends" | grep -q libringprof; then
	fail "Depends names libringprof, which the package holds: $depends"
fi
mkdir "$work/control"
dpkg-deb -e "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = /etc/ringprof/ringprofd.conf ] ||
	fail "conffiles: $(cat "$work/control/conffiles")"
[ "$(cat "$work/control/shlibs")" = "libringprof $soversion ringprof (>= $version)" ] ||
	fail "shlibs: $(cat "$work/control/shlibs")"
grep -qx 'activate-noawait ldconfig' "$work/control/triggers" || fail "no ldconfig trigger"
for s in postinst prerm postrm; do
	[ -x "$work/control/$s" ] || fail "no executable $s"
	cmp -s "$work/control/$s" "$src/cmake/deb/$s" || fail "$s is not cmake/deb/$s"
done

# 3. Installed for real.
if [ "${RINGPROF_NO_DPKG_INSTALL:-}" = 1 ]; then
	echo "package: 1 passed, 0 failed (RINGPROF_NO_DPKG_INSTALL=1: not installed with dpkg)"
	exit 0
fi
[ "$(id -u)" -eq 0 ] ||
	fail "dpkg -i needs root (CI runs as root); set RINGPROF_NO_DPKG_INSTALL=1 to build and inspect the .deb only"
# status: dpkg's state of the ringprof package, "" when it never heard of it
status() {
	dpkg-query -W -f='${db:Status-Status}' ringprof 2>/dev/null || true
}
case $(status) in
"" | not-installed) ;;
*)
	echo "deb.sh: purging the ringprof package already on this system" >&2
	dpkg --purge ringprof >"$work/purge0.log" 2>&1 || { cat "$work/purge0.log" >&2; fail "dpkg --purge ringprof failed"; }
	;;
esac
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i failed"; }
[ "$(status)" = installed ] || fail "ringprof is '$(status)' after dpkg -i, not installed"
[ "$(dpkg-query -W -f='${Conffiles}' ringprof | awk '{ print $1 }')" = /etc/ringprof/ringprofd.conf ] ||
	fail "dpkg does not know /etc/ringprof/ringprofd.conf as a conffile"

getent passwd ringprof >/dev/null || fail "no ringprof user after dpkg -i"
getent group ringprof >/dev/null || fail "no ringprof group after dpkg -i"
# Each directory of the package's tmpfiles.d entries, as it declares it.
grep -E '^d[ 	]' "$src/systemd/ringprof.tmpfiles" >"$work/dirs" || fail "systemd/ringprof.tmpfiles declares no directory"
grep -q '[ 	]/var/lib/ringprof[ 	]' "$work/dirs" || fail "systemd/ringprof.tmpfiles does not declare /var/lib/ringprof"
while read -r _ path mode user group _; do
	[ -d "$path" ] || fail "$path was not created"
	got=$(stat -c '%a %U %G' "$path")
	[ "$got" = "$(echo "$mode" | sed 's/^0*//') $user $group" ] ||
		fail "$path is '$got', not '$mode $user $group'"
done <"$work/dirs"

[ "$(/usr/sbin/ringprofd --version | head -1 | cut -d" " -f1,2)" = "ringprofd $version" ] ||
	fail "/usr/sbin/ringprofd --version: $(/usr/sbin/ringprofd --version | head -1)"
/usr/bin/ringprof --help >"$work/help" 2>&1 || { cat "$work/help" >&2; fail "/usr/bin/ringprof --help failed"; }
grep -q '^usage: ringprof <command>' "$work/help" || fail "/usr/bin/ringprof --help: $(head -1 "$work/help")"
[ "$(env -u PKG_CONFIG_PATH pkg-config --modversion ringprof)" = "$version" ] ||
	fail "pkg-config does not find ringprof in /usr"
unitdir=/usr/$(. "$build/install-dirs.sh" && echo "$UNITDIR")
grep -q '^ExecStart=/usr/sbin/ringprofd\( \|$\)' "$unitdir/ringprofd.service" ||
	fail "$unitdir/ringprofd.service does not start /usr/sbin/ringprofd"
# --man=no: the pages of Documentation= are in the file list above, and
# man-db may not be installed.
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify --man=no "$unitdir/ringprofd.socket" "$unitdir/ringprofd.service" >"$work/verify" 2>&1 ||
		{ cat "$work/verify" >&2; fail "systemd-analyze verify of the installed units failed"; }
	if [ -s "$work/verify" ]; then
		cat "$work/verify" >&2
		fail "systemd-analyze verify warns about the installed units"
	fi
fi

# 4. Purged: every file, the configuration and the state are gone; the
#    user stays (postrm says why).
dpkg --purge ringprof >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg --purge failed"; }
case $(status) in
"" | not-installed) ;;
*) fail "ringprof is '$(status)' after purge" ;;
esac
while read -r f; do
	[ ! -e "/$f" ] && [ ! -L "/$f" ] || fail "/$f left after purge"
done <"$work/expected"
for d in /etc/ringprof /var/lib/ringprof /run/ringprof /usr/include/ringprof /usr/share/doc/ringprof; do
	[ ! -e "$d" ] || fail "$d left after purge"
done
getent passwd ringprof >/dev/null || fail "purge removed the ringprof user"
echo "package: 1 passed, 0 failed"
