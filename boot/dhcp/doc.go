// Package dhcp is the boot proxy's DHCPv4 server: it answers only the MAC
// addresses of its host table (boot.Store) with their reserved address and
// the PXE boot facts their firmware needs, and stays silent for everyone
// else. Packets are parsed and built with github.com/insomniacslk/dhcp.
//
// What it answers:
//
//   - DISCOVER → OFFER, REQUEST → ACK (selecting, init-reboot, renewing,
//     rebinding) or NAK when the requested address is not the host's;
//     INFORM → ACK without a lease; RELEASE and DECLINE are logged and
//     counted (a DECLINE means something else holds the host's address).
//   - Option 54 (server identifier) and siaddr are always the configured
//     server IP; option 97 (client UUID) is mirrored; relay agent
//     information (82) and client identifier (61) are copied back.
//   - Boot offer by option 93 (client architecture), see Decide.
//
// Where replies go (RFC 2131 §4.1): to the relay (giaddr) on port 67 when
// the request was relayed; to ciaddr on port 68 when the client has an
// address and did not ask for broadcast; else broadcast on the interface
// the request came in on. A configured reply port replaces 67/68 in every
// case (as Kea's -P does, for tests and benchmarks on loopback).
//
// With Config.Trace, every exchange is recorded in the boot trace
// (boot/trace) before its reply is sent: the outcome, options 93, 60 and
// 77, the boot file offered and how it is fetched, siaddr, the address,
// giaddr, and why no boot file was offered; unknown MACs in the trace's
// separate budget.
package dhcp
