package dhcp

import (
	"fmt"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/metalgit/metalgit/boot"
)

// Vendor class identifiers (option 60).
const (
	classPXE  = "PXEClient"
	classHTTP = "HTTPClient"
)

// pxeDiscoveryControl is option 43 with PXE sub-option 6
// (PXE_DISCOVERY_CONTROL) = 8: "boot file name present, download it; no
// boot server discovery". EDK2 needs it whenever option 60 PXEClient is
// set, or it treats the offer as proxyDHCP and asks port 4011.
func pxeDiscoveryControl() []byte { return []byte{6, 1, 8, 255} }

// Offer is what a boot reply carries beyond the lease.
type Offer struct {
	// File is option 67 (and the file field when it fits): a TFTP file
	// name or an http(s) URL.
	File string
	// TFTP is true when File is fetched over TFTP from siaddr (option 66
	// is set then).
	TFTP bool
	// Script is true when File is the host's iPXE script (the client is
	// iPXE).
	Script bool
	// Class is option 60 to send back ("" for none); Vendor is option 43.
	Class  string
	Vendor []byte
}

// Decide picks the boot offer for a request from a known host. It returns
// nil and a reason when the reply carries the lease only: the host's phase
// is none, the client is no PXE/HTTP-boot client, or its architecture is
// not one this server boots.
func Decide(cfg *Config, req *dhcpv4.DHCPv4, h boot.Host) (*Offer, string) {
	if h.Phase == boot.PhaseNone {
		return nil, "phase none"
	}
	class := req.ClassIdentifier()
	if isIPXE(req, cfg.UserClass) {
		o := &Offer{File: boot.ScriptURL(cfg.HTTPURL, h.MAC), Script: true}
		if strings.HasPrefix(class, classPXE) {
			o.Class = classPXE // saves iPXE its proxyDHCP wait
		}
		return o, ""
	}
	archs := req.ClientArch()
	if len(archs) == 0 {
		return nil, "no client architecture (option 93): not a network boot"
	}
	arch := archs[0]
	http := func(name string) (*Offer, string) {
		return &Offer{File: boot.BinaryURL(cfg.HTTPURL, name), Class: classHTTP}, ""
	}
	tftp := func(name string) (*Offer, string) {
		o := &Offer{File: name, TFTP: true}
		if strings.HasPrefix(class, classPXE) {
			o.Class, o.Vendor = classPXE, pxeDiscoveryControl()
		}
		return o, ""
	}
	switch arch {
	case iana.INTEL_X86PC:
		return tftp(cfg.BIOSBinary)
	case iana.EFI_IA32, iana.EFI_X86_64, iana.EFI_BC:
		return tftp(cfg.EFIBinary)
	case iana.EFI_ARM64:
		return tftp(cfg.ARM64Binary)
	case iana.EFI_X86_HTTP, iana.EFI_X86_64_HTTP:
		return http(cfg.EFIBinary)
	case iana.EFI_ARM32_HTTP, iana.EFI_ARM64_HTTP:
		return http(cfg.ARM64Binary)
	case iana.INTEL_X86PC_HTTP:
		return http(cfg.BIOSBinary)
	}
	return nil, fmt.Sprintf("client architecture %d (%s) is not booted by this server", uint16(arch), arch)
}

// isIPXE reports whether option 77 names iPXE (the user class of an
// embedded script may be configured instead). iPXE sends the bare string;
// RFC 3004 encoding is accepted too.
func isIPXE(req *dhcpv4.DHCPv4, userClass string) bool {
	raw := req.Options.Get(dhcpv4.OptionUserClassInformation)
	if raw == nil {
		return false
	}
	if string(raw) == userClass {
		return true
	}
	for _, c := range req.UserClass() {
		if c == userClass {
			return true
		}
	}
	return false
}
