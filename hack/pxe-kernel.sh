#!/usr/bin/env bash
# Fetches the Linux kernel the end-to-end PXE tests boot (Debian's
# linux-image-*-amd64 package, downloaded with apt, never installed) and
# keeps what they need in a cache directory (never in the repository):
#
#   $PXE_DIR/vmlinuz         the kernel
#   $PXE_DIR/modules/*.ko    virtio, virtio_ring, virtio_pci_legacy_dev,
#                            virtio_pci_modern_dev, virtio_pci, failover,
#                            net_failover, virtio_net (Debian builds them as
#                            modules; the test's initramfs loads them)
#   $PXE_DIR/version         the package the files came from
#
# PXE_KERNEL_PACKAGE picks the package; by default the newest
# linux-image-6.1.0-N-amd64 apt knows. Idempotent: nothing is fetched when
# the cache holds that package already. About 70 MB downloaded, 2 s here.
#
# env: CACHE_DIR (~/.cache/metalgit), PXE_DIR ($CACHE_DIR/pxe-kernel),
#      PXE_KERNEL_PACKAGE. Prints PXE_DIR on stdout.
set -euo pipefail

CACHE_DIR="${CACHE_DIR:-$HOME/.cache/metalgit}"
PXE_DIR="${PXE_DIR:-$CACHE_DIR/pxe-kernel}"
MODULES=(virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net)

log() { printf 'pxe-kernel: %s\n' "$*" >&2; }

pkg="${PXE_KERNEL_PACKAGE:-}"
if [ -z "$pkg" ]; then
	pkg="$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -n 1)"
	if [ -z "$pkg" ]; then
		log "apt knows no linux-image-6.1.0-N-amd64 package (run apt-get update)"
		exit 1
	fi
fi

if [ -s "$PXE_DIR/version" ] && [ "$(cat "$PXE_DIR/version")" = "$pkg" ] && [ -s "$PXE_DIR/vmlinuz" ]; then
	echo "$PXE_DIR"
	exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf -- "$work"' EXIT
log "downloading $pkg"
# apt-get download writes into the current directory; _apt cannot write
# into a private temporary directory, which apt reports and works around.
(cd "$work" && apt-get download -q "$pkg" >&2 2>/dev/null) || (cd "$work" && apt-get download "$pkg" >&2)
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/x"
out="$work/out"
mkdir -p "$out/modules"
cp "$work"/x/boot/vmlinuz-* "$out/vmlinuz"
for m in "${MODULES[@]}"; do
	f="$(find "$work/x/lib/modules" -name "$m.ko" -print -quit)"
	if [ -z "$f" ]; then
		log "$pkg has no module $m.ko"
		exit 1
	fi
	cp "$f" "$out/modules/"
done
echo "$pkg" >"$out/version"
mkdir -p "$(dirname "$PXE_DIR")"
rm -rf -- "$PXE_DIR"
mv "$out" "$PXE_DIR"
log "cached in $PXE_DIR"
echo "$PXE_DIR"
