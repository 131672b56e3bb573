package schemas

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"go4.org/netipx"
)

// This file holds the checks of where a pool's addresses lie and which of
// them hosts can use: the address space (prefix length, special-purpose
// blocks), the network and broadcast addresses, and the examples that the
// messages offer, each checked to validate before it is offered.

// specialBlock is an address block that no host on a network segment can
// use as its own address.
type specialBlock struct {
	prefix netip.Prefix
	name   string
	fix    string // how to fix a pool inside it
}

// specialBlocks lists the special-purpose blocks a pool must stay out of
// (RFC 6890): unspecified, loopback, link-local, multicast, the IPv4
// reserved block with the limited broadcast address, and IPv4-mapped IPv6.
func specialBlocks() []specialBlock {
	const useSubnet = "use the subnet the hosts are on"
	return []specialBlock{
		{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (unspecified)`, useSubnet},
		{netip.MustParsePrefix("127.0.0.0/8"), "loopback", useSubnet},
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local", useSubnet},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast", useSubnet},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved (with the limited broadcast address)", useSubnet},
		{netip.MustParsePrefix("::/128"), "unspecified", useSubnet},
		{netip.MustParsePrefix("::1/128"), "loopback", useSubnet},
		{netip.MustParsePrefix("::ffff:0:0/96"), "IPv4-mapped", "write an IPv4 pool with plain IPv4 addresses (10.0.0.1/24, not ::ffff:10.0.0.1/120)"},
		{netip.MustParsePrefix("fe80::/10"), "link-local", useSubnet},
		{netip.MustParsePrefix("ff00::/8"), "multicast", useSubnet},
	}
}

// minPrefix is the shortest pool prefix of a's family.
func minPrefix(a netip.Addr) int {
	if a.Is4() {
		return MinPrefixIPv4
	}
	return MinPrefixIPv6
}

// typicalPrefix is the prefix length the messages suggest for a's family.
func typicalPrefix(a netip.Addr) int {
	if a.Is4() {
		return 24
	}
	return 64
}

// spaceProblem says what is wrong with where a pool's network p lies, or
// returns "". The message of a prefix that is too short ends where an
// example of the right prefix may follow.
func spaceProblem(p netip.Prefix) string {
	network := p.Masked()
	if least := minPrefix(p.Addr()); p.Bits() < least {
		return fmt.Sprintf("prefix /%d is shorter than /%d, the widest IPv%d pool (IPv4: /%d, IPv6: /%d): the pool would span %s; give the prefix of the subnet the hosts are on",
			p.Bits(), least, family(p.Addr()), MinPrefixIPv4, MinPrefixIPv6, network)
	}
	for _, b := range specialBlocks() {
		if network.Overlaps(b.prefix) {
			return fmt.Sprintf("network %s overlaps %s, the %s block, whose addresses no host on a network segment can use; %s", network, b.prefix, b.name, b.fix)
		}
	}
	return ""
}

// unusableAddresses returns the addresses of network p that no host can
// have: for IPv4 up to /30 the network and broadcast addresses, for IPv6
// up to /126 the network address (the Subnet-Router anycast address, RFC
// 4291). /31 (RFC 3021), /127 (RFC 6164) and single addresses have none;
// then the results are not valid.
func unusableAddresses(p netip.Prefix) (network, broadcast netip.Addr) {
	p = p.Masked()
	if p.Addr().Is4() {
		if p.Bits() > 30 {
			return netip.Addr{}, netip.Addr{}
		}
		r := netipx.RangeOfPrefix(p)
		return r.From(), r.To()
	}
	if p.Bits() > 126 {
		return netip.Addr{}, netip.Addr{}
	}
	return p.Addr(), netip.Addr{}
}

// unusableName names what a is in network p, given that it is one of
// unusableAddresses(p).
func unusableName(a netip.Addr, p netip.Prefix) string {
	switch {
	case a != p.Masked().Addr():
		return "the broadcast address"
	case a.Is6():
		return "the Subnet-Router anycast address (RFC 4291)"
	}
	return "the network address"
}

// networkBroadcastMessage is the problem of range r holding a, the network
// or broadcast address of network.
func networkBroadcastMessage(r netipx.IPRange, a netip.Addr, network netip.Prefix) string {
	var fix string
	switch {
	case r.From() == r.To():
	case a == r.From():
		fix = fmt.Sprintf("start the range at %s, ", a.Next())
	default:
		fix = fmt.Sprintf("end the range at %s, ", a.Prev())
	}
	return fmt.Sprintf("range %s-%s holds %s, %s of %s, which no host can use; %sreserve %s, or set allowNetworkAndBroadcast: true if this network routes it to a host",
		r.From(), r.To(), a, unusableName(a, network), network, fix, a)
}

// tinyCIDRMessage is the problem of a cidr whose prefix leaves no address
// to allocate: IPv4 /31 and /32, IPv6 /127 and /128.
func tinyCIDRMessage(p netip.Prefix, hints bool) string {
	gw := p.Addr()
	if p.Bits() == gw.BitLen() {
		return fmt.Sprintf("a /%d holds the gateway alone and leaves no address to allocate; write the gateway with the prefix of its subnet%s",
			p.Bits(), cidrHint(gw, typicalPrefix(gw), hints))
	}
	r := netipx.RangeOfPrefix(p.Masked())
	host := r.From()
	if gw == host {
		host = r.To()
	}
	msg := fmt.Sprintf("a /%d leaves no address to allocate in the cidr form, which skips the network, gateway and broadcast addresses", p.Bits())
	example := IPPoolSpec{Ranges: StringList{host.String() + "-" + host.String()}, Prefix: p.Bits(), Gateway: gw.String()}
	if !hints || !example.valid() {
		return msg + "; widen the prefix"
	}
	gateway := example.Gateway
	if gw.Is6() {
		gateway = strconv.Quote(gateway) // 2001:db8:: ends in a colon
	}
	return fmt.Sprintf("%s; for a point-to-point link write the range form instead of cidr: ranges: [%q], prefix: %d, gateway: %s",
		msg, example.Ranges[0], example.Prefix, gateway)
}

// cidrHint returns ", such as <a>/<bits>" when that cidr validates as a
// pool of its own, and "" otherwise or without hints. An a that is the
// network or broadcast address of the prefix is moved to the first host
// address.
func cidrHint(a netip.Addr, bits int, hints bool) string {
	if !hints {
		return ""
	}
	p := netip.PrefixFrom(a, bits)
	if !p.IsValid() {
		return ""
	}
	if network, broadcast := unusableAddresses(p); a == network || a == broadcast {
		a = p.Masked().Addr().Next()
	}
	example := IPPoolSpec{CIDR: netip.PrefixFrom(a, bits).String()}
	if !example.valid() {
		return ""
	}
	return ", such as " + example.CIDR
}

// valid reports whether the pool spec has no problem of its own.
func (s *IPPoolSpec) valid() bool {
	_, errs := s.addresses(false)
	return len(errs) == 0
}

// errZone is the error of an address with an IPv6 zone (fe80::1%eth0).
var errZone = errors.New("an address with a zone")

// parsePlainAddr parses an IP address without a zone: a zone names an
// interface of one machine and means nothing in an inventory.
func parsePlainAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err
	}
	if a.Zone() != "" {
		return netip.Addr{}, errZone
	}
	return a, nil
}

// zoneHint explains why an address with a zone is refused, or returns "".
func zoneHint(s string) string {
	if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && a.Zone() != "" {
		return fmt.Sprintf("; remove the zone %q: an inventory address names no interface", "%"+a.Zone())
	}
	return ""
}
