package schemas

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// This file holds the checks of a host's BMC address and MACs beyond their
// syntax: that the address names one BMC, without credentials, and that
// each MAC can be a NIC's own address.

// bmcAuthority returns the authority of a BMC address (what lies between
// :// and the path), or "" without ://.
func bmcAuthority(address string) string {
	_, rest, ok := strings.Cut(address, "://")
	if !ok {
		return ""
	}
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

// redactBMC returns the address without the credentials it may carry
// (user:password@), so that no message repeats them.
func redactBMC(address string) string {
	auth := bmcAuthority(address)
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return address
	}
	scheme, rest, _ := strings.Cut(address, "://")
	return scheme + "://" + rest[at+1:]
}

// bmcURLProblems says what is wrong with a BMC address whose scheme is
// known: credentials in it, no host, an IPv6 host without brackets, a port
// out of range, or no URL at all. No message repeats credentials.
func bmcURLProblems(address string) []string {
	var out []string
	auth := bmcAuthority(address)
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		out = append(out, "the address carries credentials (user:password@ before the host); remove them: credentials go in the Secret named by credentialsName")
		auth = auth[at+1:]
	}
	host, port, hasPort, msg := splitBMCHost(auth)
	switch {
	case msg != "":
		out = append(out, msg)
	case host == "":
		out = append(out, "the address has no host; write the BMC's IP address or name after ://, such as redfish://10.20.0.11/redfish/v1/Systems/1")
	case hasPort && port == "":
		out = append(out, fmt.Sprintf("the address has a ':' after the host but no port; remove the ':' or give the port (1-%d)", MaxPort))
	case hasPort:
		if n, err := strconv.Atoi(port); err != nil || strings.TrimLeft(port, "0123456789") != "" || n < 1 || n > MaxPort {
			out = append(out, fmt.Sprintf("port %s is out of range; use 1-%d, or leave the port out for the driver's default", clip(port), MaxPort))
		}
	}
	if _, err := url.Parse(redactBMC(address)); err != nil && len(out) == 0 {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which the message quotes once
		}
		out = append(out, fmt.Sprintf("%s is not a valid URL: %v", clip(redactBMC(address)), err))
	}
	return out
}

// splitBMCHost splits an authority without credentials into host and port.
// msg says what is wrong with an IPv6 host.
func splitBMCHost(auth string) (host, port string, hasPort bool, msg string) {
	if strings.HasPrefix(auth, "[") {
		end := strings.IndexByte(auth, ']')
		if end < 0 {
			return "", "", false, fmt.Sprintf("the host %s opens a bracket it does not close; write an IPv6 host as [2001:db8::1]", clip(auth))
		}
		inner := auth[1:end]
		if a, err := netip.ParseAddr(strings.Replace(inner, "%25", "%", 1)); err != nil || !a.Is6() {
			return "", "", false, fmt.Sprintf("the bracketed host %s is not an IPv6 address; only an IPv6 host goes in brackets", clip(inner))
		}
		after := auth[end+1:]
		switch {
		case after == "":
			return inner, "", false, ""
		case after[0] == ':':
			return inner, after[1:], true, ""
		}
		return "", "", false, fmt.Sprintf("%s follows the IPv6 host; write [address]:port", clip(after))
	}
	if strings.Count(auth, ":") > 1 {
		return "", "", false, fmt.Sprintf("the host %s is not in brackets; write an IPv6 host in brackets, with any port after them, such as redfish://[2001:db8::1]:8443/redfish/v1/Systems/1", clip(auth))
	}
	host, port, hasPort = strings.Cut(auth, ":")
	return host, port, hasPort, ""
}

// macProblem says why a well-formed MAC cannot be a NIC's own address
// (broadcast, multicast or all zeros), or returns "".
func macProblem(mac string) string {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return ""
	}
	var ones, zeros int
	for _, b := range hw {
		switch b {
		case 0xff:
			ones++
		case 0:
			zeros++
		}
	}
	switch {
	case ones == len(hw):
		return fmt.Sprintf("%s is the broadcast address, which no NIC has as its own; give the MAC of the NIC", mac)
	case hw[0]&1 == 1:
		return fmt.Sprintf("%s is a multicast address (the lowest bit of its first octet, %02x, is set), which no NIC has as its own; check the first octet for a typo", mac, hw[0])
	case zeros == len(hw):
		return fmt.Sprintf("%s is all zeros, which no NIC has; give the MAC of the NIC", mac)
	}
	return ""
}
