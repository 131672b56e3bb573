#!/usr/bin/env bash
# Compares the benchmarks of two commits side by side, interleaved in one
# run: each round runs every benchmark once with the old commit's test
# binary and once with the new one's (the order alternates per round), so
# that both see the same machine. Prints, per benchmark and unit, the
# median of the rounds and the min–max spread of each side, and new/old.
#
# Usage: hack/bench/compare.sh OLD_REF [NEW_REF [ROUNDS]]
#   NEW_REF defaults to the work tree (uncommitted changes included),
#   ROUNDS to 5.  BENCH_RECONCILE, BENCH_PLAN and BENCH_RENDER select the
#   benchmarks (-test.bench regular expressions); BENCHTIME the iterations
#   of the reconciler benchmarks (default 20x), BENCHTIME_PLAN those of
#   the plan command's (default 20x), BENCHTIME_RENDER render's (1s).
set -euo pipefail
cd "$(dirname "$0")/../.."
old_ref=${1:?usage: hack/bench/compare.sh OLD_REF [NEW_REF [ROUNDS]]}
new_ref=${2:-}
rounds=${3:-5}
reconcile_re=${BENCH_RECONCILE:-'PushToCommit|AllocThroughput'}
plan_re=${BENCH_PLAN:-'PlanCLI'}
render_re=${BENCH_RENDER:-'^BenchmarkRender'}
benchtime=${BENCHTIME:-20x}
benchtime_plan=${BENCHTIME_PLAN:-20x}
benchtime_render=${BENCHTIME_RENDER:-1s}

tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/old" >/dev/null 2>&1 || true; git worktree remove --force "$tmp/new" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add -q --detach "$tmp/old" "$old_ref"
if [ -n "$new_ref" ]; then
	git worktree add -q --detach "$tmp/new" "$new_ref"
	new_dir=$tmp/new
else
	new_dir=$PWD
fi

# pkgdir finds a benchmark's package in a tree: the folder of the first
# of the files given that exists (folders moved over time).
pkgdir() {
	local tree=$1 f
	shift
	for f in "$@"; do
		if [ -f "$tree/$f" ]; then
			dirname "$f"
			return
		fi
	done
}

# Test binaries: side/pkg.test, run from the package's folder.
declare -A dirs
for side in old new; do
	tree=$tmp/old
	[ "$side" = new ] && tree=$new_dir
	for b in reconcile plan render; do
		case $b in
		reconcile) files=(hack/bench/reconcile_test.go bench/reconcile_test.go) ;;
		plan) files=(cmd/metalgit/bench_test.go) ;;
		render) files=(render/bench_test.go) ;;
		esac
		d=$(pkgdir "$tree" "${files[@]}")
		[ -n "$d" ] || { echo "no ${files[*]} in $tree" >&2; exit 1; }
		dirs[$side.$b]=$tree/$d
		(cd "$tree" && go test -c -o "$tmp/$side.$b.test" "./$d") >&2
	done
done

run() { # side bench regexp benchtime
	local side=$1 b=$2 re=$3 bt=$4
	(cd "${dirs[$side.$b]}" && "$tmp/$side.$b.test" -test.run '^$' -test.bench "$re" -test.benchtime "$bt" -test.benchmem -test.timeout 60m) |
		awk -v side="$side" '/^Benchmark/ { name = $1; sub(/-[0-9]+$/, "", name); for (i = 3; i < NF; i += 2) print side, name, $(i+1), $i }'
}

: >"$tmp/results"
for r in $(seq "$rounds"); do
	order="old new"
	[ $((r % 2)) -eq 0 ] && order="new old"
	for side in $order; do
		echo "round $r/$rounds: $side" >&2
		run "$side" reconcile "$reconcile_re" "$benchtime" >>"$tmp/results"
		run "$side" plan "$plan_re" "$benchtime_plan" >>"$tmp/results"
		run "$side" render "$render_re" "$benchtime_render" >>"$tmp/results"
	done
done

# One line per benchmark and unit: median (min–max) of each side.
awk '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	lo = a[1]; hi = a[n]
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ key = $2 " " $3; v[$1, key] = v[$1, key] " " $4; if (!(key in seen)) { seen[key] = 1; keys[++k] = key } }
END {
	printf "%-58s %-14s %24s %24s %8s\n", "benchmark", "unit", "old median (min-max)", "new median (min-max)", "new/old"
	for (i = 1; i <= k; i++) {
		split(keys[i], p, " ")
		mo = median(v["old", keys[i]]); olo = lo; ohi = hi
		mn = median(v["new", keys[i]]); nlo = lo; nhi = hi
		printf "%-58s %-14s %24s %24s %7.2f\n", p[1], p[2], sprintf("%.4g (%.4g-%.4g)", mo, olo, ohi), sprintf("%.4g (%.4g-%.4g)", mn, nlo, nhi), (mo > 0 ? mn / mo : 0)
	}
}' "$tmp/results"
