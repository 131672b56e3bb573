package schemas

import (
	"fmt"
	"net/netip"
	"strings"

	"go4.org/netipx"
)

// PoolAddresses are the addresses of an IPPool, worked out from its spec.
type PoolAddresses struct {
	// Network is the pool's subnet (cidr, or gateway/prefix of the range form).
	Network netip.Prefix
	Gateway netip.Addr
	// Allocatable is what IPAM may hand out: CIDR form: the subnet less
	// network, gateway and broadcast; range form: every address of every
	// range (which holds the network and broadcast addresses only with
	// allowNetworkAndBroadcast). Reserved addresses are removed in both forms.
	Allocatable *netipx.IPSet
	// Reserved holds the pool's reserved addresses and ranges.
	Reserved *netipx.IPSet
	// NetworkAndBroadcast is the pool's allowNetworkAndBroadcast: its
	// network and broadcast addresses are host addresses.
	NetworkAndBroadcast bool
}

// Size is the number of allocatable addresses, saturating at the largest uint64.
func (a PoolAddresses) Size() uint64 {
	return SetSize(a.Allocatable)
}

// SetSize counts the addresses of a set, saturating at the largest uint64.
func SetSize(s *netipx.IPSet) uint64 {
	if s == nil {
		return 0
	}
	var total uint64
	for _, r := range s.Ranges() {
		n := rangeSize(r)
		if total+n < total {
			return ^uint64(0)
		}
		total += n
	}
	return total
}

func rangeSize(r netipx.IPRange) uint64 {
	from, to := r.From().As16(), r.To().As16()
	var hiDiff bool
	for i := range 8 {
		if from[i] != to[i] {
			hiDiff = true
		}
	}
	if hiDiff {
		return ^uint64(0)
	}
	var f, t uint64
	for i := 8; i < 16; i++ {
		f = f<<8 | uint64(from[i])
		t = t<<8 | uint64(to[i])
	}
	if t-f == ^uint64(0) {
		return t - f
	}
	return t - f + 1
}

// FieldError is a problem inside one document, before it is placed at a file and line.
type FieldError struct {
	Field   string
	Rule    Rule
	Message string
}

// Addresses works out the pool's addresses. It reports every problem of
// the spec; the result is usable only when there are none.
func (s *IPPoolSpec) Addresses() (PoolAddresses, []FieldError) {
	return s.addresses(true)
}

// PoolNetwork is what a host holding an address of an IPPool is told
// about its network: render writes it into network data and
// BareMetalHost annotations, the boot proxy's host table hands it out
// over DHCP.
type PoolNetwork struct {
	// Network is the pool's subnet; its length is every address's prefix
	// length.
	Network netip.Prefix
	// Gateway is the pool's gateway, the zero Addr when it has none.
	Gateway netip.Addr
	// DNSServers and NTPServers are the spec's, as written; DNS and NTP
	// are those of them that parse, in the same order.
	DNSServers, NTPServers []string
	DNS, NTP               []netip.Addr
	// First is the pool's lowest allocatable address, the zero Addr when
	// it has none.
	First netip.Addr
}

// Network works out the pool's network facts from its addresses
// (Addresses). It reports Addresses' problems; the result is usable only
// when there are none.
func (s *IPPoolSpec) Network() (PoolNetwork, []FieldError) {
	addrs, errs := s.Addresses()
	n := PoolNetwork{Network: addrs.Network, Gateway: addrs.Gateway,
		DNSServers: s.DNSServers, NTPServers: s.NTPServers,
		DNS: parseAddrs(s.DNSServers), NTP: parseAddrs(s.NTPServers)}
	if addrs.Allocatable != nil {
		if r := addrs.Allocatable.Ranges(); len(r) > 0 {
			n.First = r[0].From()
		}
	}
	return n, errs
}

// parseAddrs returns the entries that are IP addresses, nil for none.
func parseAddrs(entries []string) []netip.Addr {
	var out []netip.Addr
	for _, e := range entries {
		if a, err := netip.ParseAddr(e); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// addresses is Addresses; with hints false it offers no example in its
// messages, which saves checking the examples (see cidrHint).
func (s *IPPoolSpec) addresses(hints bool) (PoolAddresses, []FieldError) {
	var errs []FieldError
	add := func(field string, rule Rule, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	var out PoolAddresses
	var allocatable netipx.IPSetBuilder
	type parsedRange struct {
		field string
		r     netipx.IPRange
	}
	var ranges []parsedRange
	switch {
	case s.CIDR != "" && len(s.Ranges) > 0:
		add("spec", RulePoolForm, "has both cidr and ranges; use cidr (<gateway>/<prefix>) or ranges with prefix and gateway, not both")
		return out, errs
	case s.CIDR == "" && len(s.Ranges) == 0:
		add("spec", RulePoolForm, "has neither cidr nor ranges; set cidr: <gateway>/<prefix>, or ranges: [<start>-<end>] with prefix and gateway")
		return out, errs
	case s.CIDR != "":
		p, err := netip.ParsePrefix(s.CIDR)
		if err != nil {
			add("spec.cidr", RuleAddress, "%q is not <gateway>/<prefix> (such as 192.168.100.1/24): %v", s.CIDR, unquoteErr(err))
			return out, errs
		}
		if s.Prefix != 0 || s.Gateway != "" {
			add("spec", RulePoolForm, "prefix and gateway belong to the range form; the cidr form carries both in cidr: <gateway>/<prefix>")
		}
		if s.AllowNetworkAndBroadcast {
			add("spec.allowNetworkAndBroadcast", RulePoolForm, "belongs to the range form; the cidr form never hands out its network, gateway and broadcast addresses: remove it, or write the pool as ranges with prefix and gateway")
		}
		out.Network, out.Gateway = p.Masked(), p.Addr()
		if msg := spaceProblem(p); msg != "" {
			if p.Bits() < minPrefix(p.Addr()) {
				msg += cidrHint(p.Addr(), typicalPrefix(p.Addr()), hints)
			}
			add("spec.cidr", RuleAddressSpace, "%s", msg)
			return out, errs
		}
		netRange := netipx.RangeOfPrefix(out.Network)
		first, last := netRange.From(), netRange.To()
		switch {
		case p.Bits() >= out.Gateway.BitLen()-1:
			add("spec.cidr", RuleCIDRGateway, "%s", tinyCIDRMessage(p, hints))
		case out.Gateway == first:
			add("spec.cidr", RuleCIDRGateway, "gateway %s is the network address of %s; write the gateway's own address%s", out.Gateway, out.Network, cidrHint(first.Next(), p.Bits(), hints))
		case out.Gateway.Is4() && out.Gateway == last:
			add("spec.cidr", RuleCIDRGateway, "gateway %s is the broadcast address of %s; write the gateway's own address%s", out.Gateway, out.Network, cidrHint(first.Next(), p.Bits(), hints))
		}
		allocatable.AddPrefix(out.Network)
		allocatable.Remove(first)
		allocatable.Remove(out.Gateway)
		if out.Gateway.Is4() {
			allocatable.Remove(last)
		}
	default:
		if s.Prefix == 0 || s.Gateway == "" {
			add("spec", RuleRangeGateway, "a range pool needs prefix and gateway; set prefix (such as 24) and gateway (such as 10.0.0.1) for the ranges' network")
		}
		var gw netip.Addr
		if s.Gateway != "" {
			var err error
			if gw, err = parsePlainAddr(s.Gateway); err != nil {
				add("spec.gateway", RuleAddress, "%q is not an IP address%s", s.Gateway, zoneHint(s.Gateway))
			}
		}
		if gw.IsValid() && s.Prefix != 0 {
			if s.Prefix < 0 || s.Prefix > gw.BitLen() {
				add("spec.prefix", RuleRangeGateway, "prefix %d does not fit an IPv%d gateway; use %d-%d", s.Prefix, family(gw), minPrefix(gw), gw.BitLen())
			} else {
				p := netip.PrefixFrom(gw, s.Prefix)
				out.Network = p.Masked()
				out.Gateway = gw
				if msg := spaceProblem(p); msg != "" {
					field := "spec.gateway"
					if s.Prefix < minPrefix(gw) {
						field = "spec.prefix"
						msg += fmt.Sprintf(", such as prefix: %d", typicalPrefix(gw))
					}
					add(field, RuleAddressSpace, "%s", msg)
					out.Network = netip.Prefix{} // no follow-on problems about the ranges
				}
			}
		}
		var seen netipx.IPSetBuilder
		for i, entry := range s.Ranges {
			field := joinIndex("spec.ranges", i)
			r, msg := parseRange(entry)
			if msg != "" {
				add(field, RuleRange, "%s", msg)
				continue
			}
			if out.Network.IsValid() && !(out.Network.Contains(r.From()) && out.Network.Contains(r.To())) {
				add(field, RuleRangeGateway, "range %s lies outside the network %s given by gateway %s and prefix %d; fix the range, gateway or prefix", entry, out.Network, gw, s.Prefix)
			}
			if set, _ := seen.IPSet(); set != nil && set.OverlapsRange(r) {
				add(field, RuleRange, "range %s overlaps an earlier range of this pool; list each address once", entry)
			}
			seen.AddRange(r)
			allocatable.AddRange(r)
			ranges = append(ranges, parsedRange{field, r})
		}
		if gw.IsValid() {
			if set, _ := seen.IPSet(); set != nil && set.Contains(gw) && !s.reservedContains(gw) {
				add("spec.gateway", RuleRangeGateway, "gateway %s lies inside the ranges and would be handed out; move it out of the ranges or add it to reserved", gw)
			}
		}
	}
	var reserved netipx.IPSetBuilder
	for i, entry := range s.Reserved {
		field := joinIndex("spec.reserved", i)
		r, msg := parseAddressOrRange(entry)
		if msg != "" {
			add(field, rangeRule(entry), "%s", msg)
			continue
		}
		if out.Network.IsValid() && !(out.Network.Contains(r.From()) && out.Network.Contains(r.To())) {
			add(field, RuleAddress, "reserved %s lies outside the pool's network %s; remove it or fix the address", entry, out.Network)
		}
		reserved.AddRange(r)
	}
	for i, entry := range s.DNSServers {
		if _, err := parsePlainAddr(entry); err != nil {
			add(joinIndex("spec.dnsServers", i), RuleAddress, "%q is not an IP address%s", entry, zoneHint(entry))
		}
	}
	for i, entry := range s.NTPServers {
		if _, err := parsePlainAddr(entry); err != nil {
			add(joinIndex("spec.ntpServers", i), RuleAddress, "%q is not an IP address%s", entry, zoneHint(entry))
		}
	}
	out.Reserved, _ = reserved.IPSet()
	if out.Reserved != nil {
		allocatable.RemoveSet(out.Reserved)
	}
	out.Allocatable, _ = allocatable.IPSet()
	out.NetworkAndBroadcast = s.AllowNetworkAndBroadcast
	if !s.AllowNetworkAndBroadcast && out.Network.IsValid() {
		network, broadcast := unusableAddresses(out.Network)
		for _, pr := range ranges {
			for _, a := range []netip.Addr{network, broadcast} {
				if a.IsValid() && pr.r.Contains(a) && out.Allocatable.Contains(a) {
					add(pr.field, RuleNetworkBcast, "%s", networkBroadcastMessage(pr.r, a, out.Network))
				}
			}
		}
	}
	if len(errs) == 0 && SetSize(out.Allocatable) == 0 {
		add("spec", RuleValue, "the pool has no allocatable address; widen the cidr or ranges, or reserve less")
	}
	return out, errs
}

func (s *IPPoolSpec) reservedContains(a netip.Addr) bool {
	for _, entry := range s.Reserved {
		if r, msg := parseAddressOrRange(entry); msg == "" && r.Contains(a) {
			return true
		}
	}
	return false
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// parseRange parses <start>-<end>.
func parseRange(entry string) (netipx.IPRange, string) {
	from, to, ok := strings.Cut(strings.TrimSpace(entry), "-")
	if !ok {
		return netipx.IPRange{}, fmt.Sprintf("%q is not a range; write <start>-<end>, such as 10.0.0.20-10.0.0.30", entry)
	}
	a, err1 := parsePlainAddr(strings.TrimSpace(from))
	b, err2 := parsePlainAddr(strings.TrimSpace(to))
	if err1 != nil || err2 != nil {
		return netipx.IPRange{}, fmt.Sprintf("%q is not a range of two IP addresses; write <start>-<end>, such as 10.0.0.20-10.0.0.30", entry)
	}
	if a.Is4() != b.Is4() {
		return netipx.IPRange{}, fmt.Sprintf("range %q mixes IPv4 and IPv6", entry)
	}
	if b.Less(a) {
		return netipx.IPRange{}, fmt.Sprintf("range %q is reversed: its start is after its end; write %s-%s", entry, b, a)
	}
	return netipx.IPRangeFrom(a, b), ""
}

// parseAddressOrRange parses a single address or <start>-<end>.
func parseAddressOrRange(entry string) (netipx.IPRange, string) {
	if strings.Contains(entry, "-") {
		return parseRange(entry)
	}
	a, err := parsePlainAddr(strings.TrimSpace(entry))
	if err != nil {
		return netipx.IPRange{}, fmt.Sprintf("%q is not an IP address or <start>-<end> range%s", entry, zoneHint(entry))
	}
	return netipx.IPRangeFrom(a, a), ""
}

// rangeRule is the rule for a bad entry: range for <start>-<end>, address otherwise.
func rangeRule(entry string) Rule {
	if strings.Contains(entry, "-") {
		return RuleRange
	}
	return RuleAddress
}

// parseAddressesEntry parses a MetalLB address entry: a CIDR or a range.
func parseAddressesEntry(entry string) (netipx.IPRange, string) {
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(strings.TrimSpace(entry))
		if err != nil {
			return netipx.IPRange{}, fmt.Sprintf("%q is not a CIDR or <start>-<end> range", entry)
		}
		return netipx.RangeOfPrefix(p.Masked()), ""
	}
	return parseAddressOrRange(entry)
}

func unquoteErr(err error) string {
	s := err.Error()
	if _, after, ok := strings.Cut(s, "): "); ok {
		return after
	}
	return s
}
