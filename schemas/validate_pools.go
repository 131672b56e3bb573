package schemas

// ipPools checks each IPPool's spec (IPPoolSpec.Addresses) and keeps the
// valid pools in v.pools for the checks across pools (addressOverlaps,
// addressUses).
func (v *validator) ipPools() {
	for _, p := range v.inv.IPPools {
		obj := ObjectRef(KindIPPool, p.Metadata.Name)
		if p.Spec.Prefix < 0 || p.Spec.Prefix > MaxPrefix {
			v.at(p.Source, obj, "spec.prefix", RuleOutOfRange, "prefix %d is out of range; use %d-32 for IPv4, %d-128 for IPv6", p.Spec.Prefix, MinPrefixIPv4, MinPrefixIPv6)
			continue
		}
		addrs, errs := p.Spec.Addresses()
		for _, e := range errs {
			v.at(p.Source, obj, e.Field, e.Rule, "%s", e.Message)
		}
		if len(errs) == 0 && v.ix.IPPools[p.Metadata.Name] == p {
			v.pools[p.Metadata.Name] = addrs
		}
	}
}
