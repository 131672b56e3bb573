// Package ra is a minimal IPv6 router advertisement responder for the
// boot proxy's provisioning interface.
//
// Why: iPXE waits about 13 s for a router advertisement before it goes on
// configuring the network. This package answers at once with the least
// advertisement that lets it proceed without changing how anyone routes:
// router lifetime 0 (not a default router), Managed and Other flags off
// (no DHCPv6), no prefix information, and the source link-layer address
// option. It sends one advertisement when it starts, answers every Router
// Solicitation immediately (unicast to the soliciting address, or to
// ff02::1 when the solicitation came from the unspecified address), and
// repeats an unsolicited one every Config.Interval.
//
// Listen opens the ICMPv6 socket on the interface (so a test can open it
// inside a network namespace) and Responder.Serve runs until its context
// is cancelled; Run does both.
package ra
