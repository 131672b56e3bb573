#!/usr/bin/env bash
# Side-by-side TFTP benchmark: a 32 MiB file at blksize 1468 fetched with
# curl from metalgit's server (boot/tftp), from tftpd-hpa and from dnsmasq,
# in one run, interleaved: each round runs BenchmarkFetch32MiB's three
# sub-benchmarks (server=metalgit, server=tftpd-hpa, server=dnsmasq) once
# each, the order alternating per
# round, so that both see the same machine. Prints each server's MB/s as
# the median of the rounds with the min-max spread, and their ratio.
#
# Usage: hack/bench/tftp.sh [ROUNDS]        (as root: in.tftpd -s chroots)
#
#   ROUNDS     rounds (default 7)
#   BENCHTIME  fetches per sub-benchmark and round (default 3x)
#   PIN=1      pin CPUs (2 or more, taskset): the test binary (so
#              metalgit's server, and in.tftpd, its child) on CPU 0, curl
#              on CPU 1. Off by default: confined to one CPU, a Go server
#              runs its goroutine, its network poller and the runtime's
#              other threads on that core, and on a machine shared with
#              other work its figures swing more than tftpd-hpa's (one
#              thread); docs/performance.md has both modes.
#
# Needs curl and in.tftpd (Debian tftpd-hpa; CI_EXTRA_DEB_PACKAGES=tftpd-hpa
# bash hack/ci-deps.sh installs it — its package also sets up a tftpd-hpa
# service on port 69, which this script does not use). in.tftpd runs in the
# foreground (-L) on a free loopback port and is stopped by its PID; dnsmasq
# (Debian dnsmasq-base) serves TFTP on 127.0.0.1:69 only (it has no port
# option), DNS and DHCP off, in the foreground, stopped by its PID: port 69 on
# loopback must be free (stop a tftpd-hpa service first).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-7}
benchtime=${BENCHTIME:-3x}

for c in curl in.tftpd dnsmasq; do
	command -v "$c" >/dev/null || { echo "tftp.sh: $c not found (Debian: curl, tftpd-hpa, dnsmasq-base)" >&2; exit 1; }
done
if [ "$(id -u)" -ne 0 ]; then
	echo "tftp.sh: needs root (in.tftpd -s chroots into the served directory)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/tftp.test" ./boot/tftp/

pin=()
if [ "${PIN:-0}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	pin=(taskset -c 0)
	export METALGIT_BENCH_CLIENT_CPU=1
	echo "tftp.sh: servers on CPU 0, curl on CPU 1" >&2
fi

: >"$tmp/results"
for r in $(seq "$rounds"); do
	order="metalgit tftpd-hpa dnsmasq"
	[ $((r % 2)) -eq 0 ] && order="dnsmasq tftpd-hpa metalgit"
	for server in $order; do
		echo "round $r/$rounds: $server" >&2
		(cd "$tmp" && "${pin[@]}" ./tftp.test -test.run '^$' -test.bench "^BenchmarkFetch32MiB\$/^server=$server\$" \
			-test.benchtime "$benchtime" -test.timeout 30m) |
			awk -v server="$server" '/^BenchmarkFetch32MiB/ { for (i = 3; i < NF; i += 2) if ($(i+1) == "MB/s") print server, $i }' |
			tee -a "$tmp/results" >&2
	done
done

awk '
function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	lo = a[1]; hi = a[n]
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ v[$1] = v[$1] " " $2; n[$1]++ }
END {
	printf "%-10s %6s %22s\n", "server", "rounds", "MB/s median (min-max)"
	m1 = median(v["metalgit"]); printf "%-10s %6d %22s\n", "metalgit", n["metalgit"], sprintf("%.2f (%.2f-%.2f)", m1, lo, hi)
	m2 = median(v["tftpd-hpa"]); printf "%-10s %6d %22s\n", "tftpd-hpa", n["tftpd-hpa"], sprintf("%.2f (%.2f-%.2f)", m2, lo, hi)
	m3 = median(v["dnsmasq"]); printf "%-10s %6d %22s\n", "dnsmasq", n["dnsmasq"], sprintf("%.2f (%.2f-%.2f)", m3, lo, hi)
	if (m2 > 0) printf "metalgit/tftpd-hpa: %.2f\n", m1 / m2
	if (m3 > 0) printf "metalgit/dnsmasq: %.2f\n", m1 / m3
}' "$tmp/results"
