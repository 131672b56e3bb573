#!/usr/bin/env bash
# Runs every Go fuzz target briefly, one `go test -fuzz` invocation per target
# (the go command fuzzes only one target in one package per run).
#
# usage: hack/fuzz.sh [PACKAGES...]        (default ./...)
# env:   GO (go), FUZZ (regexp selecting targets, default ^Fuzz),
#        FUZZTIME (per target, default 30s), FUZZ_FLAGS (extra go test flags)
#
# Failing inputs are written by the go command to <pkg>/testdata/fuzz/<Target>/;
# commit them: they become regression cases for `go test`.
set -euo pipefail

GO="${GO:-go}"
FUZZ="${FUZZ:-^Fuzz}"
FUZZTIME="${FUZZTIME:-30s}"
read -r -a extra <<<"${FUZZ_FLAGS:-}"
pkgs=("$@")
[ "${#pkgs[@]}" -gt 0 ] || pkgs=(./...)

# `go test -list` prints matching names, then "ok <import path> <time>" per package.
if ! listing="$("$GO" test -list "$FUZZ" "${pkgs[@]}" 2>&1)"; then
	printf '%s\n' "$listing" >&2
	echo "fuzz: go test -list failed" >&2
	exit 1
fi
targets="$(awk '
	/^Fuzz[A-Za-z0-9_]*$/ { names[n++] = $1; next }
	$1 == "ok" { for (i = 0; i < n; i++) print $2, names[i]; n = 0 }
' <<<"$listing")"

if [ -z "$targets" ]; then
	echo "fuzz: no fuzz targets matching '$FUZZ' in ${pkgs[*]}"
	exit 0
fi

failed=()
while read -r pkg name; do
	echo ">> fuzz $pkg $name ($FUZZTIME)"
	if ! "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "${extra[@]}" "$pkg" </dev/null; then
		failed+=("$pkg $name")
	fi
done <<<"$targets"

if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz: ${#failed[@]} target(s) failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: all targets passed"
