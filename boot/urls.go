package boot

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Default boot binaries the DHCP server offers and the TFTP/HTTP servers
// serve (iPXE builds).
const (
	// BIOSBinary is chainloaded by BIOS PXE ROMs (option 93 = 0).
	BIOSBinary = "undionly.kpxe"
	// EFIBinary is chainloaded by x86 UEFI firmware (93 = 6, 7, 9);
	// EFIFullBinary is the alternative with iPXE's own NIC drivers.
	EFIBinary     = "snponly.efi"
	EFIFullBinary = "ipxe.efi"
	// ARM64Binary is chainloaded by ARM64 UEFI firmware (93 = 11, 19).
	ARM64Binary = "snp-arm64.efi"
)

// MACPath is the form a MAC takes in URLs: lower-case hex pairs joined by
// dashes (iPXE's ${mac:hexhyp}).
func MACPath(mac net.HardwareAddr) string {
	return strings.ReplaceAll(mac.String(), ":", "-")
}

// ScriptURL is the URL of a host's iPXE script under the HTTP base URL:
// BASE/boot/MAC.ipxe.
func ScriptURL(base string, mac net.HardwareAddr) string {
	return strings.TrimSuffix(base, "/") + "/boot/" + MACPath(mac) + ".ipxe"
}

// BinaryURL is the URL of a boot binary under the HTTP base URL, for UEFI
// HTTP boot: BASE/NAME.
func BinaryURL(base, name string) string {
	return strings.TrimSuffix(base, "/") + "/" + name
}

// ParseBaseURL parses the base URL of a server the boot proxy talks to or
// advertises (Ironic, its image server, the proxy's own URLs): absolute
// http or https, with a host and no user, query or fragment (credentials
// never go in flags or the inventory). The path loses its trailing
// slashes.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q: want an absolute http:// or https:// URL", s)
	case u.Host == "":
		return nil, fmt.Errorf("%q: no host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%q: a base URL has no user, query or fragment", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}
