package schemas

import "regexp"

// Patterns and allowed values shared by the Go validation and the JSON
// Schemas, so that both give the same verdict.
const (
	// NamePattern is a DNS-1123 subdomain (at most 253 characters).
	NamePattern = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// NameMaxLength is the longest metadata.name.
	NameMaxLength = 253
	// MACPattern is a colon-separated 48-bit MAC address.
	MACPattern = `^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$`
	// BMCAddressPattern is a BMC address with a scheme Metal3 knows.
	BMCAddressPattern = `^((redfish|redfish-virtualmedia|redfish-uefihttp|idrac-virtualmedia|idrac-redfish|ilo5-virtualmedia|ilo5-redfish)(\+https?)?|ipmi|libvirt)://[^\s/]+.*$`
	// QuantityPattern is a non-negative Kubernetes resource quantity.
	QuantityPattern = `^([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$`
	// HexPattern is a hexadecimal digest.
	HexPattern = `^[0-9a-fA-F]+$`
)

// BMCSchemes are the BMC address schemes that the validation accepts.
var BMCSchemes = []string{
	"redfish", "redfish+http", "redfish+https", "redfish-virtualmedia", "redfish-uefihttp",
	"idrac-virtualmedia", "idrac-redfish", "ilo5-virtualmedia", "ilo5-redfish", "ipmi", "libvirt",
}

// Allowed values of enumerated fields.
var (
	BootModes         = []string{BootModeUEFI, BootModeUEFISecure, BootModeLegacy}
	AttachmentTypes   = []string{AttachmentBridge, AttachmentMacvlan, AttachmentHostNetwork}
	MacvlanModes      = []string{"bridge", "private", "vepa", "passthru"}
	ChecksumTypes     = []string{"md5", "sha256", "sha512"}
	ImageFormats      = []string{"raw", "qcow2", "vdi", "vmdk", "live-iso"}
	BondModes         = []string{"balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"}
	SelectorOperators = []string{"In", "NotIn", "Exists", "DoesNotExist"}
)

// ChecksumLengths maps a checksumType to its length in hex digits.
var ChecksumLengths = map[string]int{"md5": 32, "sha256": 64, "sha512": 128}

// Numeric limits.
const (
	MinVLANID = 1
	MaxVLANID = 4094
	MinMTU    = 68
	MaxMTU    = 65535
	MaxPort   = 65535
	MaxPrefix = 128 // per family: 32 for IPv4, 128 for IPv6
)

// Limits on what an inventory may ask for, so that what validates can be
// applied and served and all work stays bounded.
const (
	// MinPrefixIPv4 and MinPrefixIPv6 are the shortest pool prefixes: an
	// IPv4 pool spans at most a /8 (16,777,216 addresses), an IPv6 pool at
	// most a /48. A shorter prefix is a typo (10.0.0.1/4 for /24) or a
	// network no segment has.
	MinPrefixIPv4 = 8
	MinPrefixIPv6 = 48
	// MaxMachineSetQuantity is the largest quantity of one MachineSet.
	MaxMachineSetQuantity = 10000
	// MaxMachines is the most machines one inventory asks for, MachineSets
	// and Machines together. Split a larger fleet into several inventories
	// (one per Site).
	MaxMachines = 10000
)

// LabelPrefix is the label key prefix that metalgit keeps for itself: it
// labels every BareMetalHost with metalgit.dev/host and, once a machine is
// bound, metalgit.dev/machine.
const LabelPrefix = "metalgit.dev/"

// patterns holds the compiled forms of the patterns above.
type patterns struct {
	name, mac, bmc, quantity, hex *regexp.Regexp
}

func compilePatterns() patterns {
	return patterns{
		name:     regexp.MustCompile(NamePattern),
		mac:      regexp.MustCompile(MACPattern),
		bmc:      regexp.MustCompile(BMCAddressPattern),
		quantity: regexp.MustCompile(QuantityPattern),
		hex:      regexp.MustCompile(HexPattern),
	}
}
