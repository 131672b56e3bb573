package schemas

import (
	"net/netip"

	"go4.org/netipx"
)

// addressOverlaps checks the rules that span pools, the VIP, pinned IPs
// and MetalLB pools: no address may be allocatable twice or handed out
// while also used elsewhere.
func (v *validator) addressOverlaps() {
	names := sortedKeys(v.pools)
	// Pools against each other and against other pools' reserved addresses.
	for i, a := range names {
		pa := v.pools[a]
		for _, b := range names[i+1:] {
			pb := v.pools[b]
			if pa.Allocatable.Overlaps(pb.Allocatable) {
				v.poolProblem(b, RulePoolOverlap, "allocatable addresses overlap IPPool/%s (%s); pools must not share addresses", a, overlapSample(pa.Allocatable, pb.Allocatable))
			}
		}
		for _, b := range names {
			if b == a || v.pools[b].Reserved == nil {
				continue
			}
			if pa.Allocatable.Overlaps(v.pools[b].Reserved) {
				v.poolProblem(a, RulePoolOverlap, "allocatable addresses include %s, which IPPool/%s reserves; an address reserved anywhere is never allocated: reserve it in this pool too, or, to split one subnet between pools, give them disjoint ranges (range form)", overlapSample(pa.Allocatable, v.pools[b].Reserved), b)
			}
		}
	}
	site := v.ix.Site
	prov, provOK := PoolAddresses{}, false
	if site != nil {
		prov, provOK = v.pools[site.Spec.ProvisioningPool]
	}
	// The boot proxy VIP.
	if site != nil && site.Spec.BootProxy != nil && site.Spec.BootProxy.VIP != "" {
		obj, field := ObjectRef(KindSite, site.Metadata.Name), "spec.bootProxy.vip"
		vip, err := netip.ParsePrefix(site.Spec.BootProxy.VIP)
		switch {
		case err != nil:
			v.at(site.Source, obj, field, RuleVIP, "%q is not an address in CIDR form such as 192.168.100.2/24", site.Spec.BootProxy.VIP)
		default:
			if provOK && !prov.Network.Contains(vip.Addr()) {
				v.at(site.Source, obj, field, RuleVIP, "VIP %s lies outside the provisioning network %s; PXE clients could not reach it", vip.Addr(), prov.Network)
			}
			for _, name := range names {
				if v.pools[name].Allocatable.Contains(vip.Addr()) {
					v.at(site.Source, obj, field, RuleVIP, "VIP %s is allocatable in IPPool/%s and could be handed to a host; add it to that pool's reserved list", vip.Addr(), name)
				}
			}
		}
	}
	// Pinned host addresses.
	pinnedBy := map[netip.Addr]string{}
	for _, h := range v.inv.Hosts {
		if h.Spec.IPAddress == "" {
			continue
		}
		obj, field := ObjectRef(KindHost, h.Metadata.Name), "spec.ipAddress"
		ip, err := parsePlainAddr(h.Spec.IPAddress)
		if err != nil {
			v.at(h.Source, obj, field, RulePinnedIP, "%q is not an IP address%s", h.Spec.IPAddress, zoneHint(h.Spec.IPAddress))
			continue
		}
		if other, dup := pinnedBy[ip]; dup {
			v.at(h.Source, obj, field, RuleDuplicatePinned, "%s is already pinned by %s", ip, other)
		}
		pinnedBy[ip] = obj
		if provOK && !prov.Network.Contains(ip) {
			v.at(h.Source, obj, field, RulePinnedIP, "pinned IP %s lies outside the provisioning network %s", ip, prov.Network)
		}
		for _, name := range names {
			if v.pools[name].Allocatable.Contains(ip) {
				v.at(h.Source, obj, field, RulePinnedIP, "pinned IP %s is allocatable in IPPool/%s and could be handed to another owner; add it to that pool's reserved list", ip, name)
			}
		}
		if site != nil && site.Spec.BootProxy != nil {
			if vip, err := netip.ParsePrefix(site.Spec.BootProxy.VIP); err == nil && vip.Addr() == ip {
				v.at(h.Source, obj, field, RulePinnedIP, "pinned IP %s is the boot proxy VIP", ip)
			}
		}
	}
	// MetalLB pools must stay clear of what IPAM hands out.
	if site != nil && site.Spec.MetalLB != nil {
		for i, p := range site.Spec.MetalLB.Pools {
			for j, a := range p.Addresses {
				r, msg := parseAddressesEntry(a)
				if msg != "" {
					continue
				}
				for _, name := range names {
					if v.pools[name].Allocatable.OverlapsRange(r) {
						v.at(site.Source, ObjectRef(KindSite, site.Metadata.Name), joinIndex(joinIndex("spec.metallb.pools", i)+".addresses", j), RuleMetalLBOverlap,
							"MetalLB addresses %s overlap the allocatable addresses of IPPool/%s; reserve them in that pool or move them", a, name)
					}
				}
			}
		}
	}
}

func (v *validator) poolProblem(name string, rule Rule, format string, args ...any) {
	p := v.ix.IPPools[name]
	field := "spec.ranges"
	if p.Spec.CIDR != "" {
		field = "spec.cidr"
	}
	v.at(p.Source, ObjectRef(KindIPPool, name), field, rule, format, args...)
}

// overlapSample describes the first overlapping range of two sets.
func overlapSample(a, b *netipx.IPSet) string {
	var bld netipx.IPSetBuilder
	bld.AddSet(a)
	bld.Intersect(b)
	s, _ := bld.IPSet()
	if s == nil || len(s.Ranges()) == 0 {
		return "?"
	}
	r := s.Ranges()[0]
	if r.From() == r.To() {
		return r.From().String()
	}
	return r.From().String() + "-" + r.To().String()
}
