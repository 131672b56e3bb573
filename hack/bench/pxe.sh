#!/usr/bin/env bash
# Side-by-side PXE benchmark: the same UEFI VM (QEMU/TCG, EDK2's own PXE →
# TFTP snponly.efi → HTTP script → kernel → agent → first heartbeat at
# Ironic) booted through metalgit's boot proxy and through dnsmasq + a
# static HTTP server, interleaved in one run (BenchmarkPXEToHeartbeat in
# cmd/metalgit); prints each round and the median with the min-max spread.
#
# Usage: hack/bench/pxe.sh [ROUNDS]     (as root: namespaces, taps)
#
#   ROUNDS   boots of each (default 5)
#
# Needs what `make test` needs for the end-to-end PXE test (QEMU, OVMF,
# busybox-static, python3-ironic, `make pxe-kernel`) and dnsmasq
# (CI_EXTRA_DEB_PACKAGES=dnsmasq-base bash hack/ci-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5}
export METALGIT_PXE_DIR="${METALGIT_PXE_DIR:-$(CACHE_DIR="${CACHE_DIR:-$HOME/.cache/metalgit}" bash hack/pxe-kernel.sh)}"
go test -run '^$' -bench '^BenchmarkPXEToHeartbeat$' -benchtime "${rounds}x" -timeout 60m -v ./cmd/metalgit |
	grep -E 'round|median|Benchmark|^ok|FAIL'
