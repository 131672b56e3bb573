package boot

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a hostname (RFC 1123 §2.1, RFC 1035 §2.3.4).
const (
	// MaxHostnameLength is the longest hostname, in characters.
	MaxHostnameLength = 253
	// MaxHostnameLabelLength is the longest dot-separated label of a
	// hostname, in characters.
	MaxHostnameLabelLength = 63
)

// Reasons CheckMAC refuses a MAC address; its errors wrap one of them.
var (
	ErrMACLength    = errors.New("not a 6-byte Ethernet address")
	ErrZeroMAC      = errors.New("all zeros")
	ErrBroadcastMAC = errors.New("the broadcast address")
	ErrMulticastMAC = errors.New("a multicast address (the I/G bit, 0x01 of the first octet, is set)")
)

// ErrBadHostname is wrapped by every error of CheckHostname.
var ErrBadHostname = errors.New("not a DNS name")

// ErrBadName is wrapped by every error of CheckName.
var ErrBadName = errors.New("not a usable name")

// macFix ends every error of CheckMAC.
const macFix = "use the MAC address of the host's boot interface"

// CheckMAC returns nil when mac can be a boot interface's address: six
// bytes, unicast (the I/G bit of the first octet clear), not all zeros. A
// DHCP client's chaddr never holds a broadcast, multicast or zero address,
// so a host with one could never be answered. The error wraps
// ErrMACLength, ErrZeroMAC, ErrBroadcastMAC or ErrMulticastMAC.
func CheckMAC(mac net.HardwareAddr) error {
	var why error
	switch {
	case len(mac) != 6:
		why = ErrMACLength
	case string(mac) == "\x00\x00\x00\x00\x00\x00":
		why = ErrZeroMAC
	case string(mac) == "\xff\xff\xff\xff\xff\xff":
		why = ErrBroadcastMAC
	case mac[0]&0x01 != 0:
		why = ErrMulticastMAC
	default:
		return nil
	}
	return fmt.Errorf("MAC %s is %w; %s", mac, why, macFix)
}

// hostnameFix ends every error of CheckHostname.
const hostnameFix = "use lower-case letters, digits and '-' in dot-separated labels of at most 63 characters, at most 253 in all (server-01 or server-01.example.com)"

// CheckHostname returns nil when name is a host name as RFC 1123 §2.1
// allows it, in the lower-case form Kubernetes uses for names: labels
// of a-z, 0-9 and '-', neither starting nor ending with '-', at most
// MaxHostnameLabelLength characters each, separated by single dots, at
// most MaxHostnameLength characters in all, no trailing dot. It is what
// the DHCP server may send in option 12: nothing a DHCP client's script
// could take for a space, a newline or a shell character. The error
// wraps ErrBadHostname, quotes name (shortened when long) and says how
// to fix it.
func CheckHostname(name string) error {
	why := hostnameProblem(name)
	if why == "" {
		return nil
	}
	return fmt.Errorf("hostname %s is %w: %s; %s", quoteShort(name), ErrBadHostname, why, hostnameFix)
}

// hostnameProblem says what is wrong with name, or "" when nothing is.
func hostnameProblem(name string) string {
	if name == "" {
		return "it is empty"
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
		case r >= 'A' && r <= 'Z':
			return fmt.Sprintf("upper-case %q at byte %d (write it in lower case)", r, i)
		default:
			return fmt.Sprintf("%q at byte %d is not allowed", r, i)
		}
	}
	if len(name) > MaxHostnameLength {
		return fmt.Sprintf("it has %d characters, more than %d", len(name), MaxHostnameLength)
	}
	for i, label := range strings.Split(name, ".") {
		switch {
		case label == "":
			return fmt.Sprintf("label %d is empty (a leading, trailing or doubled dot)", i+1)
		case len(label) > MaxHostnameLabelLength:
			return fmt.Sprintf("label %d has %d characters, more than %d", i+1, len(label), MaxHostnameLabelLength)
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Sprintf("label %q starts or ends with '-'", label)
		}
	}
	return ""
}

// MaxNameLength bounds Host.Name, which only appears in logs and
// messages: a Kubernetes namespace, a slash and an object name fit.
const MaxNameLength = 320

// CheckName returns nil when name can stand for a host in logs and
// messages: valid UTF-8 of at most MaxNameLength bytes without control
// characters (no newline can forge a log line or problem). The error wraps
// ErrBadName.
func CheckName(name string) error {
	var why string
	switch {
	case !utf8.ValidString(name):
		why = "it is not valid UTF-8"
	case len(name) > MaxNameLength:
		why = fmt.Sprintf("it has %d bytes, more than %d", len(name), MaxNameLength)
	default:
		for i, r := range name {
			if unicode.IsControl(r) {
				why = fmt.Sprintf("control character %q at byte %d", r, i)
				break
			}
		}
	}
	if why == "" {
		return nil
	}
	return fmt.Errorf("name %s is %w: %s; use printable characters only", quoteShort(name), ErrBadName, why)
}

// quoteShort quotes s for a message, cut to its first 64 bytes.
func quoteShort(s string) string {
	const keep = 64
	if len(s) <= keep {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:keep], len(s))
}
