package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/metalgit/metalgit/schemas"
)

// BootLinkID is the link id of the boot NIC in generated network data when
// the host lists no interfaces. The id is only a reference inside
// network_data.json; cloud-init and glean find the device by its MAC.
const BootLinkID = "eth0"

// NetworkData returns the network-data of one machine: literal networkData > networkDataTemplate >
// networkDataTemplateSecret > generated OpenStack network_data.json.
//
// A literal or templated result must be a JSON or YAML mapping and is
// returned as written. The generated form puts the machine's address on
// the first interface with a pool, else on the interface with the boot
// MAC (or the bond it belongs to), else, when the host lists no
// interfaces, on one phy link with id BootLinkID for the boot MAC.
func NetworkData(mc MachineContext) (string, error) {
	out, err := networkData(mc)
	if err != nil {
		return "", fmt.Errorf("rendering network-data for Machine/%s: %w", mc.Machine.Name, err)
	}
	return out, nil
}

func networkData(mc MachineContext) (string, error) {
	var spec schemas.NodeTypeSpec
	if mc.NodeType != nil {
		spec = mc.NodeType.Spec
	}
	src, ok, err := mc.pick(spec.NetworkData, "spec.networkData",
		spec.NetworkDataTemplate, "spec.networkDataTemplate",
		spec.NetworkDataTemplateSecret, "spec.networkDataTemplateSecret")
	if err != nil {
		return "", err
	}
	if !ok {
		return generateNetworkData(mc.Host, mc.AllocatedIP, mc.Prefix, mc.Gateway, mc.DNSServers, true, mc.checkOnly)
	}
	text, err := src.render(mc, "network-data")
	if err != nil {
		return "", err
	}
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return "", src.fail(schemas.RuleNetworkData, "result is not valid JSON or YAML: %v", err)
	}
	if _, isMap := v.(map[string]any); !isMap {
		return "", src.fail(schemas.RuleNetworkData, "result is not a JSON object or YAML mapping; network data is one, such as {\"links\": [...], \"networks\": [...]}")
	}
	return text, nil
}

// PreprovisioningNetworkData returns generated network data, in the same
// OpenStack network_data.json form as NetworkData, for a host's
// provisioning lease (DHCP-less inspection). The address goes on the NIC
// with the boot MAC, or on the bond that NIC belongs to; interface pools
// are ignored.
func PreprovisioningNetworkData(host HostInfo, ip string, prefix int, gateway string, dns []string) (string, error) {
	return preprovisioningNetworkData(host, ip, prefix, gateway, dns, false)
}

// preprovisioningNetworkData is PreprovisioningNetworkData; checkOnly
// may skip writing the document (see generateNetworkData).
func preprovisioningNetworkData(host HostInfo, ip string, prefix int, gateway string, dns []string, checkOnly bool) (string, error) {
	out, err := generateNetworkData(host, ip, prefix, gateway, dns, false, checkOnly)
	if err != nil {
		return "", fmt.Errorf("rendering preprovisioning network-data for Host/%s: %w", host.Name, err)
	}
	return out, nil
}

// network_data.json, as Ironic, cloud-init and glean read it.
type ndDocument struct {
	Links    []ndLink    `json:"links"`
	Networks []ndNetwork `json:"networks"`
	Services []ndService `json:"services"`
}

type ndLink struct {
	ID                 string   `json:"id"`
	Type               string   `json:"type"`
	EthernetMACAddress string   `json:"ethernet_mac_address,omitempty"`
	MTU                int      `json:"mtu,omitempty"`
	BondMode           string   `json:"bond_mode,omitempty"`
	BondLinks          []string `json:"bond_links,omitempty"`
	VLANLink           string   `json:"vlan_link,omitempty"`
	VLANID             int      `json:"vlan_id,omitempty"`
	VLANMACAddress     string   `json:"vlan_mac_address,omitempty"`
}

type ndNetwork struct {
	ID        string      `json:"id"`
	Type      string      `json:"type"`
	Link      string      `json:"link"`
	IPAddress string      `json:"ip_address,omitempty"`
	Netmask   string      `json:"netmask,omitempty"`
	Routes    []ndRoute   `json:"routes,omitempty"`
	Services  []ndService `json:"services,omitempty"`
}

type ndRoute struct {
	Network string `json:"network"`
	Netmask string `json:"netmask"`
	Gateway string `json:"gateway"`
}

type ndService struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// generateNetworkData builds network_data.json. usePool puts the address on
// the first interface with a pool; without it (or without such an
// interface) the address goes on the boot NIC or its bond. An empty ip
// gives a DHCP network (ipv4_dhcp) on that link. With checkOnly it
// returns "" once the document is built without a failure and cannot be
// larger than MaxDataSize (ndSizeBound): a check needs no text.
func generateNetworkData(host HostInfo, ip string, prefix int, gateway string, dns []string, usePool, checkOnly bool) (string, error) {
	doc := ndDocument{Links: []ndLink{}, Networks: []ndNetwork{}, Services: []ndService{}}
	var carrier string
	var carrierRoutes []schemas.RouteRef
	carrierIndex := 0 // of the carrier in host.Interfaces

	if len(host.Interfaces) == 0 {
		if host.BootMACAddress == "" {
			return "", hostError(host.Name, "spec.bootMACAddress", "the host has neither a bootMACAddress nor interfaces to put the address on")
		}
		doc.Links = append(doc.Links, ndLink{ID: BootLinkID, Type: "phy", EthernetMACAddress: strings.ToLower(host.BootMACAddress)})
		carrier = BootLinkID
	} else {
		links, err := ndInterfaceLinks(host)
		if err != nil {
			return "", err
		}
		doc.Links = links
		byName := map[string]schemas.Interface{}
		index := map[string]int{}
		for i, ifc := range host.Interfaces {
			byName[ifc.Name] = ifc
			if _, dup := index[ifc.Name]; !dup {
				index[ifc.Name] = i
			}
		}
		if usePool {
			for _, ifc := range host.Interfaces {
				if ifc.Pool != "" {
					carrier, carrierRoutes = ifc.Name, ifc.Routes
					break
				}
			}
		}
		if carrier == "" {
			for _, ifc := range host.Interfaces {
				if ifc.Bond == nil && ifc.VLAN == nil && ifc.MACAddress != "" && strings.EqualFold(ifc.MACAddress, host.BootMACAddress) {
					carrier = ifc.Name
					break
				}
			}
			if carrier == "" {
				return "", hostError(host.Name, "spec.interfaces", "no interface has a pool and none has the boot MAC address %s; set pool on the interface that carries the address", host.BootMACAddress)
			}
			// An address on a bond member does not work: use the bond.
			for _, ifc := range host.Interfaces {
				if ifc.Bond != nil && ndContains(ifc.Bond.Interfaces, carrier) {
					carrier = ifc.Name
					break
				}
			}
			carrierRoutes = byName[carrier].Routes
		}
		carrierIndex = index[carrier]
		if !ndLinkExists(doc.Links, carrier) {
			return "", hostError(host.Name, fmt.Sprintf("spec.interfaces[%d]", carrierIndex), "interface %s carries the address but is not a link (a NIC needs a macAddress)", carrier)
		}
	}

	for _, d := range dns {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return "", fmt.Errorf("DNS server %q is not an IP address", d)
		}
		doc.Services = append(doc.Services, ndService{Type: "dns", Address: a.String()})
	}

	nw := ndNetwork{ID: "network0", Link: carrier}
	if ip == "" {
		nw.Type = "ipv4_dhcp"
	} else {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return "", fmt.Errorf("allocated address %q is not an IP address", ip)
		}
		addr = addr.Unmap()
		mask, err := ndNetmask(addr, prefix)
		if err != nil {
			return "", err
		}
		nw.Type, nw.IPAddress, nw.Netmask = "ipv4", addr.String(), mask
		anyAddr := "0.0.0.0"
		if addr.Is6() {
			nw.Type, anyAddr = "ipv6", "::"
		}
		if gateway != "" {
			gw, err := netip.ParseAddr(gateway)
			if err != nil {
				return "", fmt.Errorf("gateway %q is not an IP address", gateway)
			}
			if gw = gw.Unmap(); gw.Is4() != addr.Is4() {
				return "", fmt.Errorf("gateway %s and address %s are of different IP families", gw, addr)
			}
			nw.Routes = append(nw.Routes, ndRoute{Network: anyAddr, Netmask: anyAddr, Gateway: gw.String()})
		}
		for j, r := range carrierRoutes {
			field := fmt.Sprintf("spec.interfaces[%d].routes[%d]", carrierIndex, j)
			p, err := netip.ParsePrefix(r.Network)
			if err != nil {
				return "", hostError(host.Name, field+".network", "interface %s route %q is not a CIDR", carrier, r.Network)
			}
			gw, err := netip.ParseAddr(r.Gateway)
			if err != nil {
				return "", hostError(host.Name, field+".gateway", "interface %s route gateway %q is not an IP address", carrier, r.Gateway)
			}
			p = p.Masked()
			m, err := ndNetmask(p.Addr(), p.Bits())
			if err != nil {
				return "", err
			}
			nw.Routes = append(nw.Routes, ndRoute{Network: p.Addr().String(), Netmask: m, Gateway: gw.String()})
		}
	}
	if len(doc.Services) > 0 {
		nw.Services = doc.Services
	}
	doc.Networks = append(doc.Networks, nw)
	if checkOnly && ndSizeBound(doc) <= MaxDataSize {
		return "", nil
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return "", fmt.Errorf("encoding network data: %w", err)
	}
	if buf.Len() > MaxDataSize {
		e := hostError(host.Name, "spec.interfaces", "%s", sizeMessage("generated network-data", MaxDataSize))
		e.rule = schemas.RuleDataSize
		return "", e
	}
	return buf.String(), nil
}

// ndInterfaceLinks turns a host's interfaces into links: phy links (NICs with
// a MAC) first, then bonds, then VLANs, each group in the host's order.
func ndInterfaceLinks(host HostInfo) ([]ndLink, error) {
	byName := map[string]schemas.Interface{}
	for _, ifc := range host.Interfaces {
		byName[ifc.Name] = ifc
	}
	// mac resolves the MAC an interface presents: its own, a bond's first
	// member's, a VLAN's parent's.
	var mac func(name string, depth int) string
	mac = func(name string, depth int) string {
		ifc, ok := byName[name]
		if !ok || depth > len(host.Interfaces) {
			return ""
		}
		switch {
		case ifc.MACAddress != "":
			return strings.ToLower(ifc.MACAddress)
		case ifc.Bond != nil && len(ifc.Bond.Interfaces) > 0:
			return mac(ifc.Bond.Interfaces[0], depth+1)
		case ifc.VLAN != nil:
			return mac(ifc.VLAN.Link, depth+1)
		}
		return ""
	}
	var phys, bonds, vlans []ndLink
	for i, ifc := range host.Interfaces {
		switch {
		case ifc.Bond != nil:
			if len(ifc.Bond.Interfaces) == 0 {
				return nil, hostError(host.Name, fmt.Sprintf("spec.interfaces[%d].bond.interfaces", i), "bond %s has no interfaces", ifc.Name)
			}
			for j, m := range ifc.Bond.Interfaces {
				field := fmt.Sprintf("spec.interfaces[%d].bond.interfaces[%d]", i, j)
				member, ok := byName[m]
				if !ok {
					return nil, hostError(host.Name, field, "bond %s references interface %q, which the host does not list", ifc.Name, m)
				}
				if member.Bond != nil || member.VLAN != nil || member.MACAddress == "" {
					return nil, hostError(host.Name, field, "bond %s member %s must be a NIC with a macAddress", ifc.Name, m)
				}
			}
			bonds = append(bonds, ndLink{ID: ifc.Name, Type: "bond", EthernetMACAddress: mac(ifc.Name, 0), MTU: ifc.MTU,
				BondMode: ifc.Bond.Mode, BondLinks: append([]string(nil), ifc.Bond.Interfaces...)})
		case ifc.VLAN != nil:
			if _, ok := byName[ifc.VLAN.Link]; !ok {
				return nil, hostError(host.Name, fmt.Sprintf("spec.interfaces[%d].vlan.link", i), "VLAN %s references interface %q, which the host does not list", ifc.Name, ifc.VLAN.Link)
			}
			m := mac(ifc.VLAN.Link, 0)
			if m == "" {
				return nil, hostError(host.Name, fmt.Sprintf("spec.interfaces[%d].vlan.link", i), "VLAN %s rides on %s, which has no MAC address", ifc.Name, ifc.VLAN.Link)
			}
			vlans = append(vlans, ndLink{ID: ifc.Name, Type: "vlan", MTU: ifc.MTU, VLANLink: ifc.VLAN.Link, VLANID: ifc.VLAN.ID, VLANMACAddress: m})
		case ifc.MACAddress != "":
			phys = append(phys, ndLink{ID: ifc.Name, Type: "phy", EthernetMACAddress: strings.ToLower(ifc.MACAddress), MTU: ifc.MTU})
		}
	}
	links := append(append(phys, bonds...), vlans...)
	if links == nil {
		links = []ndLink{}
	}
	return links, nil
}

func ndLinkExists(links []ndLink, id string) bool {
	for _, l := range links {
		if l.ID == id {
			return true
		}
	}
	return false
}

func ndContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ndNetmask spells a prefix length as a mask of addr's family: dotted for
// IPv4 (255.255.255.0), IPv6 form for IPv6 (ffff:ffff:ffff:ffff::).
func ndNetmask(addr netip.Addr, prefix int) (string, error) {
	bits := addr.BitLen()
	if prefix < 0 || prefix > bits {
		return "", fmt.Errorf("prefix /%d is out of range for %s", prefix, addr)
	}
	b := make([]byte, bits/8)
	for i := range b {
		switch {
		case prefix >= 8*(i+1):
			b[i] = 0xff
		case prefix > 8*i:
			b[i] = byte(0xff << (8 - (prefix - 8*i)))
		}
	}
	m, _ := netip.AddrFromSlice(b)
	return m.String(), nil
}

// ndSizeBound is more than the length of doc written as indented JSON:
// every member counts a line of 64 bytes besides its value, and every
// string six bytes per byte (JSON's longest escape, \u00XX).
func ndSizeBound(doc ndDocument) int {
	const member = 64
	str := func(ss ...string) int {
		n := 0
		for _, s := range ss {
			n += member + 6*len(s)
		}
		return n
	}
	size := 4 * member
	for _, l := range doc.Links {
		size += 4*member + str(l.ID, l.Type, l.EthernetMACAddress, l.BondMode, l.VLANLink, l.VLANMACAddress) + str(l.BondLinks...)
	}
	services := func(ss []ndService) int {
		n := 0
		for _, s := range ss {
			n += 2*member + str(s.Type, s.Address)
		}
		return n
	}
	for _, n := range doc.Networks {
		size += 4*member + str(n.ID, n.Type, n.Link, n.IPAddress, n.Netmask) + services(n.Services)
		for _, r := range n.Routes {
			size += 2*member + str(r.Network, r.Netmask, r.Gateway)
		}
	}
	return size + services(doc.Services)
}
