#!/usr/bin/env bash
# Installs the Debian packages CI (and integration tests) need beyond git, make
# and Go.  Idempotent: apt runs only when something is missing.
#
# To add a dependency, append it to DEB_PACKAGES below with a comment saying
# who needs it (e.g. udhcpc, isc-dhcp-client, kea-dhcp4-server, qemu-system-x86
# for DHCP / netboot integration tests).  Extra packages for a one-off run can
# be given in the CI_EXTRA_DEB_PACKAGES environment variable (space-separated).
set -euo pipefail

DEB_PACKAGES=(
	ca-certificates # HTTPS to the Go module proxy; make image and hack/image's tests: the image's CA bundle
	gcc             # cgo, required by `go test -race`
	libc6-dev       # headers/crt for the race runtime link
	openssh-server  # reconciler SSH tests: sshd started by the test on loopback
	openssh-client  # reconciler SSH tests: ssh-keygen for host and user keys
	iproute2        # boot tests: ip netns, veth pairs
	udhcpc          # boot DHCP tests: busybox udhcpc as a real client in a namespace
	isc-dhcp-client # boot DHCP tests: dhclient as a real client in a namespace
	ndisc6          # boot RA tests: rdisc6 solicits a router advertisement
	busybox-static  # netns harness tests: busybox ping when iputils-ping is absent; boot TFTP tests: busybox tftp;
	                # end-to-end PXE: the static busybox of the test ramdisk (replaces Debian's busybox package)
	qemu-system-x86 # boot DHCP tests: real PXE firmware in a VM (TCG)
	ipxe-qemu       # boot DHCP tests: the VM's iPXE option ROM
	ovmf            # boot DHCP tests: UEFI firmware (EDK2) with its native PXE
	curl            # serve test: the remote's post-receive hook posts webhooks; boot TFTP tests: curl tftp://
	tftp-hpa        # boot TFTP tests: the tftp-hpa client (no options, 512-byte blocks)
	ipxe            # boot TFTP: /usr/lib/ipxe, the default --tftp-root (undionly.kpxe, snponly.efi);
	                # make image and hack/image's tests copy undionly.kpxe, snponly.efi and ipxe.efi into the image
	python3-ironic  # callback proxy and end-to-end PXE tests: Debian's Ironic 21.4, run by the tests
	python3-ironic-inspector # callback proxy: inspection data through the proxy to ironic-inspector 11.1
	cpio            # pxelab: the test reads its ramdisk back with cpio -t
)
read -r -a extra <<<"${CI_EXTRA_DEB_PACKAGES:-}"
DEB_PACKAGES+=("${extra[@]}")

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
	echo "ci-deps: not a Debian/Ubuntu system; make sure these are installed: ${DEB_PACKAGES[*]}" >&2
	exit 0
fi

missing=()
for p in "${DEB_PACKAGES[@]}"; do
	if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "ci-deps: all Debian packages present (${DEB_PACKAGES[*]})"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "ci-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo -n)
fi

echo "ci-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q </dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
