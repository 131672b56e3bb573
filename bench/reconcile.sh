#!/usr/bin/env bash
# Runs the reconciler benchmarks (bench/reconcile_test.go) on a generated
# 1,000-host repository and prints the figures side by side with the goals.
# Every reconciler makes one untimed pass first (clone, checkout, full
# render), so the throughput figures are steady state, not cold starts.
# Usage: bench/reconcile.sh [N]   (N iterations per benchmark, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10}
out=$(go test -run '^$' -bench . -benchtime="${n}x" -timeout 30m ./bench/)
echo "$out" >&2
metric() { awk -v b="$1" -v u="$2" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == u) print $i }' <<<"$out"; }
hook=$(metric BenchmarkPushToCommitWebhook ms/push)
poll=$(metric BenchmarkPushToCommitPoll1s ms/push)
one=$(metric BenchmarkAllocThroughput1Writer allocs/s)
four=$(metric BenchmarkAllocThroughput4Writers allocs/s)
printf '\n%-34s %12s %12s\n' 'push -> state commit (1,000 hosts)' webhook 'poll 1s'
printf '%-34s %9s ms %9s ms   goal: webhook < 1000 ms\n' '' "$hook" "$poll"
printf '%-34s %12s %12s\n' 'allocations/s' '1 writer' '4 writers'
printf '%-34s %12s %12s   goal: 4 writers >= 50%% of 1 (%s%%)\n' '' "$one" "$four" \
  "$(awk -v a="$one" -v b="$four" 'BEGIN { if (a > 0) printf "%.0f", 100 * b / a; else print "n/a" }')"
cpu() { awk -v a="$(metric "$1" cpu-ms/round)" -v b="$(metric "$1" git-cpu-ms/round)" 'BEGIN { printf "%.0f + %.0f", a, b }'; }
printf '%-34s %12s %12s   (metalgit + git server processes)\n' 'CPU ms per round of 10 hosts' \
  "$(cpu BenchmarkAllocThroughput1Writer)" "$(cpu BenchmarkAllocThroughput4Writers)"
