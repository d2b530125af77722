#!/bin/sh
# man.sh PAGE...: each man page formats with groff -man without a single
# warning (-ww) and renders through man -l.
set -eu
for page in "$@"; do
	out=$(groff -man -ww -z -Tutf8 "$page" 2>&1) || { echo "$page: groff failed: $out" >&2; exit 1; }
	[ -z "$out" ] || { echo "$page: groff warnings:" >&2; echo "$out" >&2; exit 1; }
	out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) ||
		{ echo "$page: man -l failed: $out" >&2; exit 1; }
	[ -z "$out" ] || { echo "$page: man -l warnings:" >&2; echo "$out" >&2; exit 1; }
done
