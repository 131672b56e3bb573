package schemas

import (
	"net/netip"
	"strings"
)

// hosts checks every Host, and MACs across hosts; a host an earlier
// validation found clean (validator.clean) takes part in the checks across
// hosts only.
func (v *validator) hosts() {
	type macUse struct {
		object string
		src    Source
		field  string
	}
	macs := map[string]macUse{}
	useMAC := func(src Source, obj, field, mac string) {
		key := strings.ToLower(mac)
		if prev, dup := macs[key]; dup && prev.object != obj {
			v.at(src, obj, field, RuleDuplicateMAC, "MAC %s is already used by %s%s; each NIC belongs to one host", mac, prev.object, whereField(prev.src, prev.field))
			return
		}
		macs[key] = macUse{obj, src, field}
	}
	for _, h := range v.inv.Hosts {
		obj, src, spec := ObjectRef(KindHost, h.Metadata.Name), h.Source, &h.Spec
		if v.isClean(h) {
			// Checked before and found clean, so its MACs are well
			// formed: only the check across hosts, in the same order.
			useMAC(src, obj, "spec.bootMACAddress", spec.BootMACAddress)
			for i, ifc := range spec.Interfaces {
				if ifc.MACAddress != "" && !strings.EqualFold(ifc.MACAddress, spec.BootMACAddress) {
					useMAC(src, obj, joinIndex("spec.interfaces", i)+".macAddress", ifc.MACAddress)
				}
			}
			continue
		}
		v.checked++
		if v.required(src, obj, "spec.bmc.address", spec.BMC.Address, "give the BMC URL, such as redfish://10.20.0.11/redfish/v1/Systems/1") {
			if !v.re.bmc.MatchString(spec.BMC.Address) {
				v.at(src, obj, "spec.bmc.address", RuleBMCAddress, "%q has no known scheme; start it with one of %s followed by ://", redactBMC(spec.BMC.Address), strings.Join(BMCSchemes, ", "))
			} else {
				for _, msg := range bmcURLProblems(spec.BMC.Address) {
					v.at(src, obj, "spec.bmc.address", RuleBMCURL, "%s", msg)
				}
			}
		}
		v.required(src, obj, "spec.bmc.credentialsName", spec.BMC.CredentialsName, "name the Secret (in the Site's namespace) that holds the BMC username and password")
		if v.required(src, obj, "spec.bootMACAddress", spec.BootMACAddress, "give the MAC of the NIC that PXE boots, such as aa:bb:cc:dd:ee:01") {
			switch {
			case !v.re.mac.MatchString(spec.BootMACAddress):
				v.at(src, obj, "spec.bootMACAddress", RuleMAC, "%q is not a MAC address; write six colon-separated hex pairs, such as aa:bb:cc:dd:ee:01", spec.BootMACAddress)
			case macProblem(spec.BootMACAddress) != "":
				v.at(src, obj, "spec.bootMACAddress", RuleMACUnicast, "%s", macProblem(spec.BootMACAddress))
			default:
				useMAC(src, obj, "spec.bootMACAddress", spec.BootMACAddress)
			}
		}
		v.enum(src, obj, "spec.bootMode", spec.BootMode, BootModes)
		v.quantities(src, obj, "spec.resources", spec.Resources)
		if h := spec.RootDeviceHints; h != nil && h.MinSizeGigabytes < 0 {
			v.at(src, obj, "spec.rootDeviceHints.minSizeGigabytes", RuleOutOfRange, "must not be negative")
		}
		v.interfaces(src, obj, spec, useMAC)
		v.kernelParams(src, obj, "spec.kernelParams", spec.KernelParams)
	}
}

func (v *validator) interfaces(src Source, obj string, spec *HostSpec, useMAC func(Source, string, string, string)) {
	names := map[string]bool{}
	for _, ifc := range spec.Interfaces {
		names[ifc.Name] = true
	}
	seen := map[string]bool{}
	for i, ifc := range spec.Interfaces {
		field := joinIndex("spec.interfaces", i)
		if v.required(src, obj, field+".name", ifc.Name, "name the interface, such as eno1, bond0 or bond0.100") && seen[ifc.Name] {
			v.at(src, obj, field+".name", RuleInterface, "interface %q is listed twice", ifc.Name)
		}
		seen[ifc.Name] = true
		if ifc.MACAddress != "" {
			switch {
			case !v.re.mac.MatchString(ifc.MACAddress):
				v.at(src, obj, field+".macAddress", RuleMAC, "%q is not a MAC address; write six colon-separated hex pairs, such as aa:bb:cc:dd:ee:02", ifc.MACAddress)
			case strings.EqualFold(ifc.MACAddress, spec.BootMACAddress):
				// The boot NIC: its MAC is checked as spec.bootMACAddress.
			case macProblem(ifc.MACAddress) != "":
				v.at(src, obj, field+".macAddress", RuleMACUnicast, "%s", macProblem(ifc.MACAddress))
			default:
				useMAC(src, obj, field+".macAddress", ifc.MACAddress)
			}
		}
		if ifc.MTU != 0 && (ifc.MTU < MinMTU || ifc.MTU > MaxMTU) {
			v.at(src, obj, field+".mtu", RuleOutOfRange, "MTU %d is out of range; use %d-%d", ifc.MTU, MinMTU, MaxMTU)
		}
		if ifc.Bond != nil && ifc.VLAN != nil {
			v.at(src, obj, field, RuleInterface, "an interface is a bond or a VLAN, not both; split it into two interfaces")
		}
		if b := ifc.Bond; b != nil {
			if v.required(src, obj, field+".bond.mode", b.Mode, "use a Linux bonding mode such as 802.3ad or active-backup") {
				v.enum(src, obj, field+".bond.mode", b.Mode, BondModes)
			}
			if len(b.Interfaces) == 0 {
				v.at(src, obj, field+".bond.interfaces", RuleRequired, "is required; list the interfaces the bond aggregates")
			}
			for j, member := range b.Interfaces {
				switch {
				case member == ifc.Name:
					v.at(src, obj, joinIndex(field+".bond.interfaces", j), RuleInterface, "bond %s cannot contain itself", ifc.Name)
				case !names[member]:
					v.at(src, obj, joinIndex(field+".bond.interfaces", j), RuleInterface, "bond %s references interface %q, which this host does not list; add it to spec.interfaces or fix the name", ifc.Name, member)
				}
			}
		}
		if vl := ifc.VLAN; vl != nil {
			if vl.ID == 0 && !src.has(field+".vlan.id") {
				v.at(src, obj, field+".vlan.id", RuleRequired, "is required; give the 802.1Q tag (%d-%d)", MinVLANID, MaxVLANID)
			} else if vl.ID < MinVLANID || vl.ID > MaxVLANID {
				v.at(src, obj, field+".vlan.id", RuleOutOfRange, "VLAN %d is out of range; use %d-%d", vl.ID, MinVLANID, MaxVLANID)
			}
			if v.required(src, obj, field+".vlan.link", vl.Link, "name the interface the VLAN rides on") {
				switch {
				case vl.Link == ifc.Name:
					v.at(src, obj, field+".vlan.link", RuleInterface, "VLAN %s cannot ride on itself", ifc.Name)
				case !names[vl.Link]:
					v.at(src, obj, field+".vlan.link", RuleInterface, "VLAN %s references interface %q, which this host does not list; add it to spec.interfaces or fix the name", ifc.Name, vl.Link)
				}
			}
		}
		v.ref(src, obj, field+".pool", KindIPPool, ifc.Pool, v.ix.IPPools[ifc.Pool] != nil)
		for j, r := range ifc.Routes {
			rf := joinIndex(field+".routes", j)
			if v.required(src, obj, rf+".network", r.Network, "give the destination in CIDR form") {
				if _, err := netip.ParsePrefix(r.Network); err != nil {
					v.at(src, obj, rf+".network", RuleAddress, "%q is not a CIDR such as 10.1.0.0/16", r.Network)
				}
			}
			if v.required(src, obj, rf+".gateway", r.Gateway, "give the next hop") {
				if _, err := netip.ParseAddr(r.Gateway); err != nil {
					v.at(src, obj, rf+".gateway", RuleAddress, "%q is not an IP address", r.Gateway)
				}
			}
		}
	}
}
