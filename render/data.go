package render

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	yaml "go.yaml.in/yaml/v3"

	"github.com/metalgit/metalgit/schemas"
)

// MachineContext is what user-data and network-data templates see, and what
// the generated network data is built from.
type MachineContext struct {
	Machine     MachineInfo    // .Machine.Name, .Machine.NodeType, .Machine.Set ("" for a standalone Machine)
	Host        HostInfo       // .Host.Name, .Host.Labels, .Host.BootMACAddress, .Host.Interfaces
	Properties  map[string]any // merged Site < NodeType < MachineSet < Machine (later wins, deep-merged maps)
	SSHKeys     []string       // authorized_keys lines, in NodeType order
	AllocatedIP string         // the machine's address, no prefix ("10.0.0.20")
	Gateway     string
	Prefix      int
	DNSServers  []string
	// Not visible to templates (lowercase field names in the template data you build):
	NodeType  *schemas.NodeType          // userData, userDataTemplate(Secret), networkData(...) fields
	Bootstrap []string                   // Site spec.bootstrap.runcmd, appended after the user's own runcmd
	Secrets   map[string]*schemas.Secret // inventory Secrets by name, for *TemplateSecret
}

// MachineInfo identifies a machine to templates.
type MachineInfo struct{ Name, NodeType, Set string }

// HostInfo describes the host a machine is bound to. Templates see the Go
// field names: .Host.Interfaces are schemas.Interface values, so a
// template writes {{ (index .Host.Interfaces 0).MACAddress }}.
type HostInfo struct {
	Name           string
	Labels         map[string]string
	BootMACAddress string
	Interfaces     []schemas.Interface
}

// cloudConfigHeader is the first line of every user-data metalgit writes.
const cloudConfigHeader = "#cloud-config"

// BootLinkID is the link id of the boot NIC in generated network data when
// the host lists no interfaces. The id is only a reference inside
// network_data.json; cloud-init and glean find the device by its MAC.
const BootLinkID = "eth0"

// templateData is what a template sees: exactly the keys Machine, Host,
// Properties, SSHKeys, AllocatedIP, Gateway, Prefix and DNSServers.
func (mc MachineContext) templateData() map[string]any {
	props := mc.Properties
	if props == nil {
		props = map[string]any{}
	}
	keys := mc.SSHKeys
	if keys == nil {
		keys = []string{}
	}
	dns := mc.DNSServers
	if dns == nil {
		dns = []string{}
	}
	return map[string]any{
		"Machine":     mc.Machine,
		"Host":        mc.Host,
		"Properties":  props,
		"SSHKeys":     keys,
		"AllocatedIP": mc.AllocatedIP,
		"Gateway":     mc.Gateway,
		"Prefix":      mc.Prefix,
		"DNSServers":  dns,
	}
}

func (mc MachineContext) nodeTypeObject() string {
	name := mc.Machine.NodeType
	if mc.NodeType != nil && mc.NodeType.Metadata.Name != "" {
		name = mc.NodeType.Metadata.Name
	}
	return "NodeType/" + name
}

// source is where a user-data or network-data text came from, for errors:
// "NodeType/gpu-server spec.userDataTemplate".
type source struct {
	text     string
	where    string
	template bool
	field    string // template name, the field text/template reports
}

// pick returns the first source that is set among a literal field, a
// template field and a template Secret field; ok is false when none is.
func (mc MachineContext) pick(literal, literalField, tmpl, tmplField, secret, secretField string) (source, bool, error) {
	obj := mc.nodeTypeObject()
	switch {
	case literal != "":
		return source{text: literal, where: obj + " " + literalField}, true, nil
	case tmpl != "":
		return source{text: tmpl, where: obj, template: true, field: tmplField}, true, nil
	case secret != "":
		where := obj + " " + secretField
		s := mc.Secrets[secret]
		if s == nil {
			return source{}, false, fmt.Errorf("%s: Secret %q does not exist in the inventory", where, secret)
		}
		where += ": Secret/" + secret
		if text, ok := s.StringData["template"]; ok {
			return source{text: text, where: where, template: true, field: "stringData.template"}, true, nil
		}
		enc, ok := s.Data["template"]
		if !ok {
			return source{}, false, fmt.Errorf("%s: no key template in data or stringData", where)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if err != nil {
			return source{}, false, fmt.Errorf("%s data.template: not base64: %w", where, err)
		}
		return source{text: string(raw), where: where, template: true, field: "data.template"}, true, nil
	}
	return source{}, false, nil
}

// render executes the source when it is a template.
func (s source) render(mc MachineContext) (string, error) {
	if !s.template {
		return s.text, nil
	}
	out, err := executeTemplate(s.field, s.text, mc.templateData())
	if err != nil {
		return "", fmt.Errorf("%s %w", s.where, err)
	}
	return out, nil
}

// label names the source in errors about its result.
func (s source) label() string {
	if s.template {
		return s.where + " " + s.field
	}
	return s.where
}

// UserData returns the user-data of one machine: literal userData >
// userDataTemplate > userDataTemplateSecret (Secret key "template", from stringData or base64 data); "" when none is set.
//
// The result is cloud-config: its first line is #cloud-config, the SSH keys
// are added to ssh_authorized_keys (the user's own entries kept, no key
// twice) and the Site's bootstrap commands are appended after the user's own
// runcmd entries. When no user-data is set but there are SSH keys or
// bootstrap commands, a minimal cloud-config with them is returned.
func UserData(mc MachineContext) (string, error) {
	out, err := userData(mc)
	if err != nil {
		return "", fmt.Errorf("rendering user-data for Machine/%s: %w", mc.Machine.Name, err)
	}
	return out, nil
}

func userData(mc MachineContext) (string, error) {
	var spec schemas.NodeTypeSpec
	if mc.NodeType != nil {
		spec = mc.NodeType.Spec
	}
	src, ok, err := mc.pick(spec.UserData, "spec.userData",
		spec.UserDataTemplate, "spec.userDataTemplate",
		spec.UserDataTemplateSecret, "spec.userDataTemplateSecret")
	if err != nil {
		return "", err
	}
	var doc *yaml.Node
	if ok {
		text, err := src.render(mc)
		if err != nil {
			return "", err
		}
		doc, err = parseCloudConfig(text)
		if err != nil {
			return "", fmt.Errorf("%s: %w", src.label(), err)
		}
	} else {
		if len(mc.SSHKeys) == 0 && len(mc.Bootstrap) == 0 {
			return "", nil
		}
		doc = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	if err := addSSHKeys(doc, mc.SSHKeys); err != nil {
		return "", fmt.Errorf("%s: %w", src.label(), err)
	}
	if err := appendRuncmd(doc, mc.Bootstrap); err != nil {
		return "", fmt.Errorf("%s: %w", src.label(), err)
	}
	return encodeCloudConfig(doc)
}

// parseCloudConfig checks that text is cloud-config (a #cloud-config first
// line and a YAML mapping) and returns the mapping.
func parseCloudConfig(text string) (*yaml.Node, error) {
	first, rest, _ := strings.Cut(text, "\n")
	if strings.TrimRight(first, " \t\r") != cloudConfigHeader {
		return nil, fmt.Errorf("user-data must start with the line %s, not %q", cloudConfigHeader, first)
	}
	// Blank the header instead of dropping it so that YAML errors keep
	// the template's line numbers.
	body := "\n" + rest
	dec := yaml.NewDecoder(strings.NewReader(body))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
		}
		return nil, fmt.Errorf("result is not valid YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("result holds more than one YAML document; cloud-config is one mapping")
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("result is not valid YAML: %w", err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: root.HeadComment}, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("result is not a YAML mapping (line %d); cloud-config is a mapping such as hostname: x", root.Line)
	}
	// Decoding into a map reports duplicate keys, which a node does not.
	var m map[string]any
	if err := root.Decode(&m); err != nil {
		return nil, fmt.Errorf("result is not valid YAML: %w", err)
	}
	return root, nil
}

// yamlMappingValue returns the value node of key in a mapping, or nil.
func yamlMappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// yamlSequenceAt returns the sequence under key, creating it at the end of the
// mapping when absent and filling it in when null.
func yamlSequenceAt(m *yaml.Node, key string) (*yaml.Node, error) {
	v := yamlMappingValue(m, key)
	if v == nil {
		v = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		m.Content = append(m.Content, yamlStrNode(key), v)
		return v, nil
	}
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		*v = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", HeadComment: v.HeadComment, LineComment: v.LineComment, FootComment: v.FootComment}
		return v, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s (line %d) must be a list", key, v.Line)
	}
	if v.Style&yaml.FlowStyle != 0 {
		// Appended entries read better in block style.
		v.Style &^= yaml.FlowStyle
	}
	return v, nil
}

// yamlStrNode is a string scalar. Words that YAML 1.1 (cloud-init's PyYAML)
// reads as booleans are double-quoted.
func yamlStrNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "on", "off", "true", "false", "null", "~", "":
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// sshKeyIdentity is what makes two authorized_keys lines the same key: the
// type and the key material, not the comment.
func sshKeyIdentity(line string) string {
	f := strings.Fields(line)
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return strings.TrimSpace(line)
}

func addSSHKeys(doc *yaml.Node, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	seq, err := yamlSequenceAt(doc, "ssh_authorized_keys")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, n := range seq.Content {
		if n.Kind == yaml.ScalarNode {
			seen[sshKeyIdentity(n.Value)] = true
		}
	}
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" || seen[sshKeyIdentity(k)] {
			continue
		}
		seen[sshKeyIdentity(k)] = true
		seq.Content = append(seq.Content, yamlStrNode(k))
	}
	return nil
}

func appendRuncmd(doc *yaml.Node, cmds []string) error {
	if len(cmds) == 0 {
		return nil
	}
	seq, err := yamlSequenceAt(doc, "runcmd")
	if err != nil {
		return err
	}
	for _, c := range cmds {
		seq.Content = append(seq.Content, yamlStrNode(c))
	}
	return nil
}

func encodeCloudConfig(doc *yaml.Node) (string, error) {
	if len(doc.Content) == 0 && doc.HeadComment == "" && doc.FootComment == "" {
		return cloudConfigHeader + "\n", nil
	}
	var buf bytes.Buffer
	buf.WriteString(cloudConfigHeader + "\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", fmt.Errorf("encoding user-data: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("encoding user-data: %w", err)
	}
	return buf.String(), nil
}

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
		return generateNetworkData(mc.Host, mc.AllocatedIP, mc.Prefix, mc.Gateway, mc.DNSServers, true)
	}
	text, err := src.render(mc)
	if err != nil {
		return "", err
	}
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return "", fmt.Errorf("%s: result is not valid JSON or YAML: %w", src.label(), err)
	}
	if _, isMap := v.(map[string]any); !isMap {
		return "", fmt.Errorf("%s: result is not a JSON object or YAML mapping; network data is one, such as {\"links\": [...], \"networks\": [...]}", src.label())
	}
	return text, nil
}

// PreprovisioningNetworkData returns generated network data, in the same
// OpenStack network_data.json form as NetworkData, for a host's
// provisioning lease (DHCP-less inspection). The address goes on the NIC
// with the boot MAC, or on the bond that NIC belongs to; interface pools
// are ignored.
func PreprovisioningNetworkData(host HostInfo, ip string, prefix int, gateway string, dns []string) (string, error) {
	out, err := generateNetworkData(host, ip, prefix, gateway, dns, false)
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
// gives a DHCP network (ipv4_dhcp) on that link.
func generateNetworkData(host HostInfo, ip string, prefix int, gateway string, dns []string, usePool bool) (string, error) {
	doc := ndDocument{Links: []ndLink{}, Networks: []ndNetwork{}, Services: []ndService{}}
	var carrier string
	var carrierRoutes []schemas.RouteRef

	if len(host.Interfaces) == 0 {
		if host.BootMACAddress == "" {
			return "", fmt.Errorf("host %s has neither a bootMACAddress nor interfaces to put the address on", host.Name)
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
		for _, ifc := range host.Interfaces {
			byName[ifc.Name] = ifc
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
				return "", fmt.Errorf("host %s: no interface has a pool and none has the boot MAC address %s; set pool on the interface that carries the address", host.Name, host.BootMACAddress)
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
		if !ndLinkExists(doc.Links, carrier) {
			return "", fmt.Errorf("host %s: interface %s carries the address but is not a link (a NIC needs a macAddress)", host.Name, carrier)
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
		for _, r := range carrierRoutes {
			p, err := netip.ParsePrefix(r.Network)
			if err != nil {
				return "", fmt.Errorf("interface %s route %q is not a CIDR", carrier, r.Network)
			}
			gw, err := netip.ParseAddr(r.Gateway)
			if err != nil {
				return "", fmt.Errorf("interface %s route gateway %q is not an IP address", carrier, r.Gateway)
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

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return "", fmt.Errorf("encoding network data: %w", err)
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
	for _, ifc := range host.Interfaces {
		switch {
		case ifc.Bond != nil:
			if len(ifc.Bond.Interfaces) == 0 {
				return nil, fmt.Errorf("host %s: bond %s has no interfaces", host.Name, ifc.Name)
			}
			for _, m := range ifc.Bond.Interfaces {
				member, ok := byName[m]
				if !ok {
					return nil, fmt.Errorf("host %s: bond %s references interface %q, which the host does not list", host.Name, ifc.Name, m)
				}
				if member.Bond != nil || member.VLAN != nil || member.MACAddress == "" {
					return nil, fmt.Errorf("host %s: bond %s member %s must be a NIC with a macAddress", host.Name, ifc.Name, m)
				}
			}
			bonds = append(bonds, ndLink{ID: ifc.Name, Type: "bond", EthernetMACAddress: mac(ifc.Name, 0), MTU: ifc.MTU,
				BondMode: ifc.Bond.Mode, BondLinks: append([]string(nil), ifc.Bond.Interfaces...)})
		case ifc.VLAN != nil:
			if _, ok := byName[ifc.VLAN.Link]; !ok {
				return nil, fmt.Errorf("host %s: VLAN %s references interface %q, which the host does not list", host.Name, ifc.Name, ifc.VLAN.Link)
			}
			m := mac(ifc.VLAN.Link, 0)
			if m == "" {
				return nil, fmt.Errorf("host %s: VLAN %s rides on %s, which has no MAC address", host.Name, ifc.Name, ifc.VLAN.Link)
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

// MergeProperties deep-merges property maps, later ones winning.
// Maps merge key by key; any other value (lists included) replaces the
// earlier one; a null in a later layer removes the key. The layers are
// not modified and the result shares no maps or lists with them.
func MergeProperties(layers ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, l := range layers {
		mergeInto(out, l)
	}
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
			dm := map[string]any{}
			mergeInto(dm, sm)
			dst[k] = dm
			continue
		}
		dst[k] = deepCopy(v)
	}
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}

// Templates.

// templateErrRE matches text/template's errors:
// "template: NAME:LINE: msg" (parse) and
// "template: NAME:LINE:COL: executing "NAME" at <.x>: msg" (execution).
var templateErrRE = regexp.MustCompile(`(?s)^template: ([^:]*):(\d+)(?::\d+)?: (?:executing "[^"]*" at <[^>]*>: )?(.*)$`)

// templateError is a template failure reshaped as
// "FIELD: template line N: message".
type templateError struct {
	field string
	line  int
	msg   string
	err   error
}

func (e *templateError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s: template line %d: %s", e.field, e.line, e.msg)
	}
	return fmt.Sprintf("%s: %s", e.field, e.msg)
}

func (e *templateError) Unwrap() error { return e.err }

func reshapeTemplateError(field string, err error) error {
	te := &templateError{field: field, msg: err.Error(), err: err}
	if m := templateErrRE.FindStringSubmatch(err.Error()); m != nil && m[1] == field {
		te.line, _ = strconv.Atoi(m[2])
		te.msg = m[3]
	}
	return te
}

// executeTemplate runs a user-data or network-data template named after its
// field, with missing keys an error and the functions of
// schemas.TemplateFuncs.
func executeTemplate(field, text string, data any) (string, error) {
	t, err := template.New(field).Option("missingkey=error").Funcs(templateFuncs()).Parse(text)
	if err != nil {
		return "", reshapeTemplateError(field, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return "", reshapeTemplateError(field, err)
	}
	return buf.String(), nil
}

// templateFuncs implements, with Helm's semantics, the functions that
// schemas.TemplateFuncs names.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"toYaml":  tfToYAML,
		"toJson":  tfToJSON,
		"indent":  tfIndent,
		"nindent": func(n int, s string) string { return "\n" + tfIndent(n, s) },
		"quote":   tfQuote,
		"join":    tfJoin,
		"default": tfDefault,
		"upper":   strings.ToUpper,
		"lower":   strings.ToLower,
		"trim":    strings.TrimSpace,
		"replace": func(from, to, s string) string { return strings.ReplaceAll(s, from, to) },
	}
}

// jsonPlain turns v into JSON-shaped values (maps, lists, json.Number, strings,
// bools) so that structs are spelt by their json tags and maps sort.
func jsonPlain(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return jsonNumbers(out), nil
}

// jsonNumbers turns json.Numbers into int64 or float64, which YAML spells as
// numbers.
func jsonNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = jsonNumbers(x)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	}
	return v
}

// tfToYAML renders v as block YAML with 2-space indentation and no trailing
// newline, like Helm's toYaml.
func tfToYAML(v any) (string, error) {
	p, err := jsonPlain(v)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// tfToJSON renders v as compact JSON, like Helm's toJson.
func tfToJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func tfIndent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// tfStrval spells a value as Helm does.
func tfStrval(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []byte:
		return string(t)
	case error:
		return t.Error()
	case fmt.Stringer:
		return t.String()
	}
	return fmt.Sprintf("%v", v)
}

// tfQuote double-quotes each non-nil argument and joins them with spaces.
func tfQuote(args ...any) string {
	var out []string
	for _, a := range args {
		if a != nil {
			out = append(out, strconv.Quote(tfStrval(a)))
		}
	}
	return strings.Join(out, " ")
}

// tfJoin joins a list's non-nil elements with sep; a single value is spelt
// on its own.
func tfJoin(sep string, v any) string {
	if v == nil {
		return ""
	}
	if t, ok := v.([]string); ok {
		return strings.Join(t, sep)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return tfStrval(v)
	}
	var parts []string
	for i := range rv.Len() {
		e := rv.Index(i).Interface()
		if e != nil {
			parts = append(parts, tfStrval(e))
		}
	}
	return strings.Join(parts, sep)
}

// tfDefault returns the given value unless it is missing or empty (nil, zero,
// "", an empty list or map, false), else d. Note that under missingkey=error
// {{ .Properties.x | default 1 }} still fails for a missing x; write
// {{ index .Properties "x" | default 1 }}.
func tfDefault(d any, given ...any) any {
	if len(given) == 0 || tfEmpty(given[0]) {
		return d
	}
	return given[0]
}

func tfEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	case reflect.Struct:
		return false
	}
	return rv.IsZero()
}
