package schemas

import (
	"fmt"
	"net/netip"
	"strings"
)

// addressUses checks that the boot proxy can serve the provisioning pool,
// and that the boot proxy VIP and pinned host IPs are host addresses: not
// a pool's gateway, nor the network or broadcast address of a pool's
// network. It runs on valid pools only (validator.pools); malformed
// addresses are addressOverlaps' to report.
func (v *validator) addressUses() {
	site := v.ix.Site
	if site == nil {
		return
	}
	v.provisioningPool(site)
	names := sortedKeys(v.pools)
	if bp := site.Spec.BootProxy; bp != nil && bp.VIP != "" {
		if vip, err := netip.ParsePrefix(bp.VIP); err == nil {
			uses := v.poolUses(names, vip.Addr())
			if !hasPoolNetwork(v.pools, vip.Masked()) {
				if network, broadcast := unusableAddresses(vip); vip.Addr() == network || vip.Addr() == broadcast {
					uses = append(uses, fmt.Sprintf("%s of its own prefix, %s", unusableName(vip.Addr(), vip), vip.Masked()))
				}
			}
			for _, use := range uses {
				v.at(site.Source, ObjectRef(KindSite, site.Metadata.Name), "spec.bootProxy.vip", RuleVIP, "VIP %s is %s, which the boot proxy cannot take; use a free host address of the provisioning network and reserve it in its pool", vip.Addr(), use)
			}
		}
	}
	for _, h := range v.inv.Hosts {
		if h.Spec.IPAddress == "" {
			continue
		}
		ip, err := parsePlainAddr(h.Spec.IPAddress)
		if err != nil {
			continue // reported by addressOverlaps
		}
		for _, use := range v.poolUses(names, ip) {
			v.at(h.Source, ObjectRef(KindHost, h.Metadata.Name), "spec.ipAddress", RulePinnedIP, "pinned IP %s is %s, which a host cannot take; pin a free host address of the provisioning network and reserve it in its pool", ip, use)
		}
	}
}

// poolUses says what a is in the valid pools (names, sorted) whose network
// holds it, when that keeps it from being a host's address: a pool's
// gateway, or the network or broadcast address of its network (unless the
// pool has allowNetworkAndBroadcast).
func (v *validator) poolUses(names []string, a netip.Addr) []string {
	var uses []string
	for _, name := range names {
		p := v.pools[name]
		switch network, broadcast := unusableAddresses(p.Network); {
		case !p.Network.Contains(a):
		case a == p.Gateway:
			uses = append(uses, "the gateway of IPPool/"+name)
		case p.NetworkAndBroadcast:
		case a == network || a == broadcast:
			uses = append(uses, fmt.Sprintf("%s of IPPool/%s (%s)", unusableName(a, p.Network), name, p.Network))
		}
	}
	return uses
}

// hasPoolNetwork reports whether a valid pool's network is n.
func hasPoolNetwork(pools map[string]PoolAddresses, n netip.Prefix) bool {
	for _, p := range pools {
		if p.Network == n {
			return true
		}
	}
	return false
}

// provisioningPool checks that the boot proxy can serve the Site's
// provisioning pool: its DHCP server hands out IPv4 leases and IPv4 DNS
// and NTP servers only.
func (v *validator) provisioningPool(site *Site) {
	name := site.Spec.ProvisioningPool
	p, ok := v.pools[name]
	if !ok {
		return // missing or invalid: reported elsewhere
	}
	if !p.Network.Addr().Is4() {
		v.at(site.Source, ObjectRef(KindSite, site.Metadata.Name), "spec.provisioningPool", RuleProvisioning,
			"IPPool/%s is an IPv6 pool (%s), and the boot proxy's DHCP serves IPv4 only, so no host could PXE boot from it; name an IPv4 pool here (machines may still take IPv6 addresses from their node type's pool)", name, p.Network)
		return
	}
	pool := v.ix.IPPools[name]
	for _, list := range []struct {
		field, what string
		entries     []string
	}{
		{"spec.dnsServers", "DNS server", pool.Spec.DNSServers},
		{"spec.ntpServers", "NTP server", pool.Spec.NTPServers},
	} {
		for i, entry := range list.entries {
			if a, err := netip.ParseAddr(strings.TrimSpace(entry)); err == nil && !a.Is4() {
				v.at(pool.Source, ObjectRef(KindIPPool, name), joinIndex(list.field, i), RuleProvisioning,
					"%s %s is IPv6, and this is the provisioning pool of Site/%s, whose boot proxy hands out IPv4 servers only over DHCP; list IPv4 servers here", list.what, a, site.Metadata.Name)
			}
		}
	}
}
