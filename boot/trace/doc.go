// Package trace owns the boot trace: a bounded, per-MAC record of what
// each boot proxy server did for a machine (the DHCP exchange, TFTP
// transfers, iPXE scripts, image downloads, the agent's lookup,
// heartbeats and inspection data, Ironic's calls to the agent), so that
// one command can tell where a boot stopped.
//
// A Ring is shared by all servers of one boot proxy. Servers call
// Record; a nil *Ring records nothing, so a server without a trace needs
// no special case. Bounds: at most Config.MaxEvents events per MAC (the
// oldest are dropped) and at most Config.MaxMACs MACs (the MAC seen
// least recently is dropped). MACs outside the host table — anyone on
// the provisioning network can send them — have a separate, smaller
// budget (Config.MaxUnknownMACs), so a flood of invented MACs cannot
// push the hosts being booted out of the ring. Each event is bounded
// too (MaxDetail, MaxAttrs, …) and made printable.
//
// Servers describe their events with the Kind constants and the Attr
// keys Diagnose reads. Diagnose follows the PXE boot chain (Stage
// constants) through a MAC's last boot and returns a Verdict: where it
// stopped and the likely cause. Handler serves a MAC's Report —
// events and verdict — at GET /debug/boot/{mac}.
package trace
