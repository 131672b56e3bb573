// Package bmh is the boot proxy's standalone host source: it watches the
// Metal3 BareMetalHosts (metal3.io/v1alpha1) of one namespace or of all
// namespaces and, after the initial list and after every change (debounced
// briefly), builds a fresh boot.Table from them and swaps it into a
// boot.Store. It is how the proxy runs next to a cluster without the
// reconciler: the BareMetalHosts that `metalgit render` produced carry
// everything the proxy needs in their spec, labels and annotations.
//
// # Mapping
//
// One BareMetalHost gives one boot.Host:
//
//	MAC       spec.bootMACAddress (required)
//	Address   annotation metalgit.dev/ip-address, CIDR form (required)
//	Gateway   annotation metalgit.dev/gateway (optional)
//	DNS, NTP  annotations metalgit.dev/dns-servers and metalgit.dev/ntp-servers,
//	          comma-separated (optional)
//	Hostname  label metalgit.dev/machine, else the BareMetalHost's name; it
//	          must be a DNS name (boot.CheckHostname)
//	Name      namespace/name
//	BootMode  spec.bootMode: legacy → legacy; UEFI, UEFISecureBoot → UEFI;
//	          unset → "" (the proxy follows the client's option 93)
//	Phase     status.provisioning.state, see below
//
// Phases, from status.provisioning.state:
//
//	"" (not yet seen by the operator), registering, inspecting,
//	match profile, preparing, ready, available           → inspect
//	provisioning, deprovisioning                          → deploy
//	provisioned, externally provisioned, deleting,
//	powering off before delete, unmanaged, detached and
//	any other state                                       → none
//
// A BareMetalHost whose address is missing or malformed, or whose MAC
// (not unicast, all zeros), hostname (not a DNS name), gateway, DNS or NTP
// servers or boot mode cannot be used, is left out of the table; so is one
// whose MAC or address an earlier host (by namespace/name) already has.
// Each is logged with its namespace, name and the offending field, and
// counted in metalgit_bmh_hosts_skipped{field}; the other hosts are served
// as usual.
//
// The annotation and label names are declared here again (package boot and
// its subpackages never import render); a test in cmd checks that they equal
// render's.
package bmh
