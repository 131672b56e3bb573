#!/usr/bin/env bash
# Side-by-side image proxy benchmark: a 256 MiB image fetched with curl
# from a client network namespace, directly from the origin and through
# metalgit's image proxy (BenchmarkImageProxyLink in boot/httpboot), over a
# veth left as it is (link=none: bound by the CPU) and shaped to 1 and
# 10 Gbit/s (tc tbf). Each round runs every sub-benchmark once, in its own
# process, direct and proxy in an order that alternates per round, so that
# both see the same machine. Prints, per link, each side's MB/s as the
# median of the rounds with the min-max spread, their ratio, and the
# proxy's CPU time per GB and peak resident memory.
#
# Usage: hack/bench/image.sh [ROUNDS]      (as root: namespaces, tc)
#
#   ROUNDS     rounds (default 5)
#   BENCHTIME  downloads per sub-benchmark and round (default 3x)
#   OLD=REV    also run the proxy of the revision REV (a commit that has
#              BenchmarkImageProxyLink), built from a temporary worktree,
#              as a third side "old" in each round: old and new binary
#              side by side
#
# Needs curl, ip and tc (iproute2).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5}
benchtime=${BENCHTIME:-3x}

for c in curl ip tc; do
	command -v "$c" >/dev/null || { echo "image.sh: $c not found (Debian: curl, iproute2)" >&2; exit 1; }
done
if [ "$(id -u)" -ne 0 ]; then
	echo "image.sh: needs root (network namespaces, tc)" >&2
	exit 1
fi

tmp=$(mktemp -d)
cleanup() {
	[ -z "${OLD:-}" ] || git worktree remove --force "$tmp/old-src" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
go test -c -o "$tmp/httpboot.test" ./boot/httpboot/
sides="direct proxy"
if [ -n "${OLD:-}" ]; then
	git worktree add -q --detach "$tmp/old-src" "$OLD"
	(cd "$tmp/old-src" && go test -c -o "$tmp/old.test" ./boot/httpboot/)
	sides="direct proxy old"
fi

: >"$tmp/results"
for r in $(seq "$rounds"); do
	order=$sides
	[ $((r % 2)) -eq 0 ] && order=$(echo "$sides" | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "") }')
	for link in none 1gbit 10gbit; do
		for side in $order; do
			echo "round $r/$rounds: link=$link $side" >&2
			bin=./httpboot.test sub=$side
			[ "$side" = old ] && bin=./old.test sub=proxy
			(cd "$tmp" && $bin -test.run '^$' -test.bench "^BenchmarkImageProxyLink\$/^link=$link\$/^$sub\$" \
				-test.benchtime "$benchtime" -test.timeout 30m) |
				awk -v key="$link $side" '/^BenchmarkImageProxyLink/ {
					out = key
					for (i = 3; i < NF; i += 2) if ($(i+1) ~ /^(MB\/s|proxy-cpu-s\/GB|proxy-peak-RSS-MiB)$/) out = out " " $(i+1) "=" $i
					print out
				}' | tee -a "$tmp/results" >&2
		done
	done
done

awk '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	lo = a[1]; hi = a[n]
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	key = $1 " " $2
	for (i = 3; i <= NF; i++) { split($i, kv, "="); v[key, kv[1]] = v[key, kv[1]] " " kv[2] }
}
END {
	old = ((("none old", "MB/s") in v))
	printf "%-7s %26s %26s %7s %16s %14s", "link", "direct MB/s median (min-max)", "proxy MB/s median (min-max)", "ratio", "proxy cpu-s/GB", "proxy peak MiB"
	if (old) printf " %26s %7s %14s", "old MB/s median (min-max)", "ratio", "old cpu-s/GB"
	printf "\n"
	split("none 1gbit 10gbit", links, " ")
	for (l = 1; l <= 3; l++) {
		k = links[l]
		d = median(v[k " direct", "MB/s"]); dr = sprintf("%.0f (%.0f-%.0f)", d, lo, hi)
		p = median(v[k " proxy", "MB/s"]); pr = sprintf("%.0f (%.0f-%.0f)", p, lo, hi)
		c = median(v[k " proxy", "proxy-cpu-s/GB"])
		m = median(v[k " proxy", "proxy-peak-RSS-MiB"]); mr = sprintf("%.1f", hi)
		printf "%-7s %26s %26s %7.2f %16.2f %14s", k, dr, pr, (d > 0 ? p / d : 0), c, mr
		if (old) {
			o = median(v[k " old", "MB/s"]); orr = sprintf("%.0f (%.0f-%.0f)", o, lo, hi)
			printf " %26s %7.2f %14.2f", orr, (d > 0 ? o / d : 0), median(v[k " old", "proxy-cpu-s/GB"])
		}
		printf "\n"
	}
}' "$tmp/results"
