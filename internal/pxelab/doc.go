// Package pxelab holds what the end-to-end PXE tests boot: a Debian
// kernel (fetched into the cache by hack/pxe-kernel.sh), an initramfs the
// test builds from busybox whose /init plays the Ironic Python Agent
// (DHCP, lookup, heartbeats through the boot proxy's callback URL, one
// HTTP command answered on port 9999, markers on the serial console), and
// QEMU (TCG) virtual machines that PXE boot in a network namespace.
//
// The agent is a stand-in for IPA, which Debian does not package: it
// speaks IPA's side of Ironic's ramdisk API (GET /v1/lookup, POST
// /v1/heartbeat/{node} with callback_url and agent_token, POST
// /v1/commands/ answered) and nothing else. Every line it prints starts
// with AgentMarker.
package pxelab
