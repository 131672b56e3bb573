#!/usr/bin/env bash
# Runs the reconciler benchmarks (hack/bench/reconcile_test.go) on a generated
# 1,000-host repository and prints the figures side by side with the goals.
# Every reconciler makes one untimed pass first (clone, full render), so
# the throughput figures are steady state, not cold starts.
#
# The throughput benchmarks run RUNS times, 1 writer and 4 writers in
# turn, so that each ratio compares runs made a few seconds apart: on a
# shared machine the speed of one run can differ from the next by a fifth.
# Every run is printed; the goal is judged on the median ratio.
#
# Usage: hack/bench/reconcile.sh [N [RUNS]]   (N iterations per benchmark,
# default 20; RUNS default 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20}
runs=${2:-5}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go test -c -o "$bin/bench.test" ./hack/bench/
run() { (cd hack/bench && "$bin/bench.test" -test.run '^$' -test.bench "$1" -test.benchtime="${n}x" -test.timeout 30m); }
metric() { awk -v b="$1" -v u="$2" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == u) print $i }' <<<"$3"; }

out=$(run 'PushToCommit')
echo "$out" >&2
hook=$(metric BenchmarkPushToCommitWebhook ms/push "$out")
poll=$(metric BenchmarkPushToCommitPoll1s ms/push "$out")
printf '\n%-34s %12s %12s\n' 'push -> state commit (1,000 hosts)' webhook 'poll 1s'
printf '%-34s %9s ms %9s ms   goal: webhook < 1000 ms\n' '' "$hook" "$poll"

printf '\n%-6s %12s %12s %8s   %-26s %s\n' run '1 writer' '4 writers' ratio 'CPU ms/round, 1 writer' '4 writers (metalgit + git server)'
ratios=()
for r in $(seq "$runs"); do
	one=$(run 'AllocThroughput1Writer$')
	four=$(run 'AllocThroughput4Writers$')
	echo "$one"$'\n'"$four" >&2
	a=$(metric BenchmarkAllocThroughput1Writer allocs/s "$one")
	b=$(metric BenchmarkAllocThroughput4Writers allocs/s "$four")
	ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a > 0) printf "%.0f", 100 * b / a; else print 0 }')
	ratios+=("$ratio")
	cpu() { awk -v a="$(metric "$1" cpu-ms/round "$2")" -v b="$(metric "$1" git-cpu-ms/round "$2")" 'BEGIN { printf "%.0f + %.0f", a, b }'; }
	printf '%-6s %12s %12s %7s%%   %-26s %s\n' "$r" "$a" "$b" "$ratio" \
		"$(cpu BenchmarkAllocThroughput1Writer "$one")" "$(cpu BenchmarkAllocThroughput4Writers "$four")"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
printf 'allocations/s, 4 racing writers vs 1: median %s%% of %s runs   goal: >= 50%%\n' "$median" "$runs"
