package boot

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// hostsFileFields are the keys of one entry of a hosts file, in the order
// the docs list them.
const hostsFileFields = "mac, name, address, gateway, dnsServers, ntpServers, hostname, bootMode, phase"

// LoadHostsFile reads a hosts file (see ParseHosts) into a table.
func LoadHostsFile(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read hosts file: %w", err)
	}
	return ParseHosts(path, data)
}

// ParseHosts parses a hosts file:
//
//	hosts:
//	  - mac: "02:00:00:00:00:01"
//	    address: 192.168.100.3/24
//	    gateway: 192.168.100.1
//	    dnsServers: [8.8.8.8]
//	    ntpServers: [192.168.100.1]
//	    hostname: server-01
//	    phase: inspect          # inspect | deploy | none
//
// name (for logs; default hostname, else the MAC) and bootMode (UEFI or
// legacy) are optional too; phase defaults to inspect. Every problem is
// reported at once as FILE:LINE: hosts[i].field: message.
func ParseHosts(file string, data []byte) (*Table, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not YAML: %w", file, err)
	}
	p := &hostsParser{file: file}
	hosts := p.document(&doc)
	sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].line < p.problems[j].line })
	msgs := make([]string, 0, len(p.problems))
	for _, pr := range p.problems {
		msgs = append(msgs, pr.msg)
	}
	// The entries that parsed are checked together too (duplicate MACs
	// and addresses), so one run reports everything.
	t, err := newTable(file, hosts)
	msgs = append(msgs, err...)
	if len(msgs) > 0 {
		return nil, fmt.Errorf("%s: %d problem(s):\n  %s", file, len(msgs), strings.Join(msgs, "\n  "))
	}
	return t, nil
}

type hostsParser struct {
	file     string
	problems []problem
}

type problem struct {
	line int
	msg  string
}

func (p *hostsParser) addf(n *yaml.Node, path, format string, args ...any) {
	p.problems = append(p.problems, problem{n.Line, fmt.Sprintf("%s:%d: %s: %s", p.file, n.Line, path, fmt.Sprintf(format, args...))})
}

func (p *hostsParser) document(doc *yaml.Node) []Host {
	if doc.Kind == 0 {
		return nil // empty file: no hosts
	}
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		p.addf(root, "(file)", "must be a mapping with one key, hosts")
		return nil
	}
	var seq *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "hosts" {
			p.addf(k, k.Value, "unknown key; the file has one key, hosts")
			continue
		}
		seq = v
	}
	if seq == nil || (seq.Kind == yaml.ScalarNode && seq.Tag == "!!null") {
		return nil
	}
	if seq.Kind != yaml.SequenceNode {
		p.addf(seq, "hosts", "must be a list of hosts")
		return nil
	}
	hosts := make([]Host, 0, len(seq.Content))
	for i, n := range seq.Content {
		if h, ok := p.host(n, fmt.Sprintf("hosts[%d]", i)); ok {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

func (p *hostsParser) host(n *yaml.Node, path string) (Host, bool) {
	if n.Kind != yaml.MappingNode {
		p.addf(n, path, "must be a mapping (mac, address, …)")
		return Host{}, false
	}
	before := len(p.problems)
	h := Host{Phase: PhaseInspect}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fp := path + "." + k.Value
		if _, dup := seen[k.Value]; dup {
			p.addf(k, fp, "given twice")
			continue
		}
		seen[k.Value] = v
		switch k.Value {
		case "mac":
			mac, err := net.ParseMAC(p.scalar(v, fp))
			if err != nil || len(mac) != 6 {
				p.addf(v, fp, "%q is not a MAC address (02:00:00:00:00:01)", v.Value)
			}
			h.MAC = mac
		case "name":
			h.Name = p.scalar(v, fp)
		case "address":
			a, err := netip.ParsePrefix(p.scalar(v, fp))
			if err != nil || !a.Addr().Is4() {
				p.addf(v, fp, "%q is not an IPv4 address with a prefix length (192.168.100.3/24)", v.Value)
			}
			h.Address = a
		case "gateway":
			h.Gateway = p.addr(v, fp)
		case "dnsServers":
			h.DNS = p.addrs(v, fp)
		case "ntpServers":
			h.NTP = p.addrs(v, fp)
		case "hostname":
			h.Hostname = p.scalar(v, fp)
		case "bootMode":
			h.BootMode = p.scalar(v, fp)
			if h.BootMode != BootModeUEFI && h.BootMode != BootModeLegacy {
				p.addf(v, fp, "%q must be UEFI or legacy", v.Value)
			}
		case "phase":
			h.Phase = Phase(p.scalar(v, fp))
			if h.Phase != PhaseInspect && h.Phase != PhaseDeploy && h.Phase != PhaseNone {
				p.addf(v, fp, "%q must be inspect, deploy or none", v.Value)
			}
		default:
			p.addf(k, fp, "unknown field; known fields: %s", hostsFileFields)
		}
	}
	for _, req := range []string{"mac", "address"} {
		if seen[req] == nil {
			p.addf(n, path+"."+req, "required")
		}
	}
	if h.Name == "" {
		h.Name = h.Hostname
	}
	if h.Name == "" && h.MAC != nil {
		h.Name = h.MAC.String()
	}
	if len(p.problems) > before {
		return Host{}, false
	}
	if err := h.check(); err != nil {
		p.addf(n, path, "%v", err)
		return Host{}, false
	}
	return h, true
}

func (p *hostsParser) scalar(v *yaml.Node, path string) string {
	if v.Kind != yaml.ScalarNode {
		p.addf(v, path, "must be a single value")
		return ""
	}
	return v.Value
}

func (p *hostsParser) addr(v *yaml.Node, path string) netip.Addr {
	s := p.scalar(v, path)
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		if s != "" || v.Kind == yaml.ScalarNode {
			p.addf(v, path, "%q is not an IPv4 address", s)
		}
		return netip.Addr{}
	}
	return a
}

func (p *hostsParser) addrs(v *yaml.Node, path string) []netip.Addr {
	if v.Kind != yaml.SequenceNode {
		p.addf(v, path, "must be a list of IPv4 addresses ([8.8.8.8])")
		return nil
	}
	out := make([]netip.Addr, 0, len(v.Content))
	for i, n := range v.Content {
		if a := p.addr(n, fmt.Sprintf("%s[%d]", path, i)); a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}
