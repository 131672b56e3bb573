package schemas

import "k8s.io/apimachinery/pkg/util/validation"

// sites checks the Site: exactly one, its namespace, provisioning pool,
// boot proxy, MetalLB pools and zones.
func (v *validator) sites() {
	switch len(v.inv.Sites) {
	case 0:
		if len(v.docs()) > 0 {
			v.problems = append(v.problems, Problem{File: v.inv.Root, Rule: RuleSite, Message: "the inventory has no Site; add one Site document (kind: Site)"})
		}
		return
	case 1:
	default:
		for _, s := range v.inv.Sites[1:] {
			v.at(s.Source, ObjectRef(KindSite, s.Metadata.Name), "", RuleSite, "an inventory holds exactly one Site; the first is Site/%s%s; split sites into separate inventories (or kustomize overlays)", v.inv.Sites[0].Metadata.Name, where(v.inv.Sites[0].Source))
		}
	}
	for _, s := range v.inv.Sites {
		obj, src, spec := ObjectRef(KindSite, s.Metadata.Name), s.Source, &s.Spec
		v.required(src, obj, "spec.namespace", spec.Namespace, "set the namespace for BareMetalHosts and their Secrets")
		if spec.Namespace != "" {
			if errs := validation.IsDNS1123Label(spec.Namespace); len(errs) > 0 {
				v.at(src, obj, "spec.namespace", RuleValue, "%q is not a valid namespace: %s", spec.Namespace, errs[0])
			}
		}
		if v.required(src, obj, "spec.provisioningPool", spec.ProvisioningPool, "name the IPPool that gives every host its PXE lease") {
			v.ref(src, obj, "spec.provisioningPool", KindIPPool, spec.ProvisioningPool, v.ix.IPPools[spec.ProvisioningPool] != nil)
		}
		if bp := spec.BootProxy; bp != nil {
			v.required(src, obj, "spec.bootProxy.vip", bp.VIP, "give the boot proxy's address in CIDR form, such as 192.168.100.2/24")
			if a := bp.Attachment; a != nil {
				if v.required(src, obj, "spec.bootProxy.attachment.type", a.Type, "use bridge, macvlan or hostNetwork") {
					v.enum(src, obj, "spec.bootProxy.attachment.type", a.Type, AttachmentTypes)
				}
				v.enum(src, obj, "spec.bootProxy.attachment.mode", a.Mode, MacvlanModes)
				switch a.Type {
				case AttachmentBridge:
					if a.Bridge == "" {
						v.at(src, obj, "spec.bootProxy.attachment.bridge", RuleValue, "a bridge attachment needs the bridge name; set bridge: br0")
					}
				case AttachmentMacvlan:
					if a.Master == "" {
						v.at(src, obj, "spec.bootProxy.attachment.master", RuleValue, "a macvlan attachment needs its parent interface; set master: eth0")
					}
				}
			}
			if ir := bp.Ironic; ir != nil {
				v.required(src, obj, "spec.bootProxy.ironic.apiURL", ir.APIURL, "give Ironic's API URL, such as http://ironic.metal3-system.svc:6385")
				v.url(src, obj, "spec.bootProxy.ironic.apiURL", ir.APIURL)
				v.url(src, obj, "spec.bootProxy.ironic.httpURL", ir.HTTPURL)
			}
			v.kernelParams(src, obj, "spec.bootProxy.kernelParams", bp.KernelParams)
			if p := bp.Ports; p != nil {
				v.port(src, obj, "spec.bootProxy.ports.dhcp", p.DHCP)
				v.port(src, obj, "spec.bootProxy.ports.tftp", p.TFTP)
				v.port(src, obj, "spec.bootProxy.ports.http", p.HTTP)
				v.port(src, obj, "spec.bootProxy.ports.callback", p.Callback)
			}
		}
		if ml := spec.MetalLB; ml != nil {
			seen := map[string]bool{}
			for i, p := range ml.Pools {
				field := joinIndex("spec.metallb.pools", i)
				if v.required(src, obj, field+".name", p.Name, "name the MetalLB pool") && seen[p.Name] {
					v.at(src, obj, field+".name", RuleDuplicateName, "MetalLB pool %q is listed twice", p.Name)
				}
				seen[p.Name] = true
				if len(p.Addresses) == 0 {
					v.at(src, obj, field+".addresses", RuleRequired, "is required; list CIDRs or <start>-<end> ranges")
				}
				for j, a := range p.Addresses {
					if _, msg := parseAddressesEntry(a); msg != "" {
						v.at(src, obj, joinIndex(field+".addresses", j), rangeRule(a), "%s", msg)
					}
				}
			}
		}
		for _, zone := range sortedKeys(spec.Zones) {
			z := spec.Zones[zone]
			field := joinKey("spec.zones", zone)
			if v.required(src, obj, field+".pool", z.Pool, "name the IPPool of the zone") {
				v.ref(src, obj, field+".pool", KindIPPool, z.Pool, v.ix.IPPools[z.Pool] != nil)
			}
			if z.VLAN != 0 && (z.VLAN < MinVLANID || z.VLAN > MaxVLANID) {
				v.at(src, obj, field+".vlan", RuleOutOfRange, "VLAN %d is out of range; use %d-%d", z.VLAN, MinVLANID, MaxVLANID)
			}
		}
	}
}
