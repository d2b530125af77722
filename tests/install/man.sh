#!/bin/sh
# The manual pages: every man/<name>.<section> formats with groff without a
# warning and says .TH <name> <section>; ringprof(1) has a subsection for
# every command `ringprof --help` lists and names every option of its
# `--help`; ringprof.h(3) names every function and RINGPROF_* environment
# variable of client/ringprof.h.
# usage: man.sh SOURCE_DIR RINGPROF_BINARY
set -eu
src=$1
ringprof=$2
fail() {
	echo "man.sh: $*" >&2
	exit 1
}
work=$(mktemp -d /tmp/ringprof-man.XXXXXX)
trap 'rm -rf "$work"' EXIT

n=0
for page in "$src"/man/*.[1-8]; do
	[ -e "$page" ] || fail "no page in $src/man"
	base=$(basename "$page")
	name=${base%.*}
	section=${base##*.}
	groff -man -t -ww -z "$page" >"$work/out" 2>&1 || { cat "$work/out" >&2; fail "$base: groff failed"; }
	[ ! -s "$work/out" ] || { cat "$work/out" >&2; fail "$base: groff warns"; }
	grep -qi "^\.TH \"\{0,1\}$(echo "$name" | sed 's/[.]/\\./g')\"\{0,1\} $section " "$page" ||
		fail "$base: no '.TH $name $section' line"
	n=$((n + 1))
done

# man_text PAGE: the page as plain text, hyphens and quotes as typed.
man_text() {
	groff -man -t -Tutf8 -P-cbou -rLL=200n "$1" 2>/dev/null | sed 's/‐/-/g; s/−/-/g'
}

page=$src/man/ringprof.1
man_text "$page" >"$work/ringprof.txt"
"$ringprof" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' >"$work/commands"
[ -s "$work/commands" ] || fail "ringprof --help lists no command"
while read -r cmd; do
	grep -q "^\.SS \"\{0,1\}ringprof $cmd\>" "$page" || fail "ringprof.1: no '.SS ringprof $cmd'"
	"$ringprof" "$cmd" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u >"$work/options"
	while read -r opt; do
		grep -q -- "$opt\>" "$work/ringprof.txt" || fail "ringprof.1: $cmd option $opt not described"
	done <"$work/options"
done <"$work/commands"

page=$src/man/ringprof.h.3
man_text "$page" >"$work/header.txt"
{
	sed -n 's/^RP_API [^(]*[ *]\(rp_[a-z_]*\)(.*/\1/p' "$src/client/ringprof.h" | grep -v '^rp_impl_'
	sed -n 's/^static inline [^(]*[ *]\(rp_[a-z_]*\)(.*/\1/p' "$src/client/ringprof.h" | grep -v '^rp_impl_'
	grep -o '"RINGPROF_[A-Z_]*"' "$src/client/ringprof.h" | tr -d '"'
	echo RINGPROF_IMPLEMENTATION
	echo RINGPROF_STATIC
	echo RINGPROF_SCOPE
} | sort -u >"$work/names"
[ "$(wc -l <"$work/names")" -gt 15 ] || fail "found too few names in client/ringprof.h"
while read -r name; do
	grep -q "\<$name\>" "$work/header.txt" || fail "ringprof.h.3: $name not described"
done <"$work/names"
echo "man: $n pages, 1 passed, 0 failed"
