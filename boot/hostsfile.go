package boot

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"

	yaml "go.yaml.in/yaml/v3"
)

// hostsFileFields are the keys of one entry of a hosts file, in the order
// the docs list them.
const hostsFileFields = "mac, name, address, gateway, dnsServers, ntpServers, hostname, bootMode, phase, kernelParams"

// MaxHostsFileSize bounds a hosts file, in bytes: about 80,000 hosts.
const MaxHostsFileSize = 16 << 20

// ErrHostsFileTooLarge is returned for a hosts file over MaxHostsFileSize.
var ErrHostsFileTooLarge = errors.New("hosts file too large")

// LoadHostsFile reads a hosts file (see ParseHosts) into a table. It reads
// at most MaxHostsFileSize bytes: a larger file (or a device that never
// ends) is refused with ErrHostsFileTooLarge.
func LoadHostsFile(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read hosts file: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, MaxHostsFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read hosts file: %w", err)
	}
	if len(data) > MaxHostsFileSize {
		return nil, fmt.Errorf("%s: %w: more than %d bytes; split the hosts over several boot proxies", path, ErrHostsFileTooLarge, MaxHostsFileSize)
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
//	    kernelParams:
//	      inspector: [ipa-debug=1]
//	      installer: [console=ttyS0,115200n8]
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
		return nil, problemsError(file, msgs)
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
			p.addf(k, fieldPath("", k.Value), "unknown key; the file has one key, hosts")
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
		fp := fieldPath(path, k.Value)
		if _, dup := seen[k.Value]; dup {
			p.addf(k, fp, "given twice")
			continue
		}
		seen[k.Value] = v
		switch k.Value {
		case "mac":
			mac, err := net.ParseMAC(p.scalar(v, fp))
			switch {
			case err != nil || len(mac) != 6:
				p.addf(v, fp, "%s is not a MAC address (02:00:00:00:00:01)", quoteShort(v.Value))
			case CheckMAC(mac) != nil:
				p.addf(v, fp, "%v", CheckMAC(mac))
			}
			h.MAC = mac
		case "name":
			h.Name = p.scalar(v, fp)
			if err := CheckName(h.Name); err != nil {
				p.addf(v, fp, "%v", err)
			}
		case "address":
			a, err := netip.ParsePrefix(p.scalar(v, fp))
			if err != nil || !a.Addr().Is4() {
				p.addf(v, fp, "%s is not an IPv4 address with a prefix length (192.168.100.3/24)", quoteShort(v.Value))
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
			if err := CheckHostname(h.Hostname); err != nil && v.Kind == yaml.ScalarNode {
				p.addf(v, fp, "%v", err)
			}
		case "bootMode":
			h.BootMode = p.scalar(v, fp)
			if h.BootMode != BootModeUEFI && h.BootMode != BootModeLegacy {
				p.addf(v, fp, "%s must be UEFI or legacy", quoteShort(v.Value))
			}
		case "phase":
			h.Phase = Phase(p.scalar(v, fp))
			if h.Phase != PhaseInspect && h.Phase != PhaseDeploy && h.Phase != PhaseNone {
				p.addf(v, fp, "%s must be inspect, deploy or none", quoteShort(v.Value))
			}
		case "kernelParams":
			h.KernelParams = p.kernelParams(v, fp)
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

// kernelParams reads {inspector: [...], installer: [...]}, each
// parameter checked with CheckKernelParam on its own line.
func (p *hostsParser) kernelParams(v *yaml.Node, path string) KernelParams {
	var kp KernelParams
	if v.Kind != yaml.MappingNode {
		p.addf(v, path, "must be a mapping with inspector and installer lists ({inspector: [ipa-debug=1]})")
		return kp
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, l := v.Content[i], v.Content[i+1]
		fp := fieldPath(path, k.Value)
		if seen[k.Value] {
			p.addf(k, fp, "given twice")
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "inspector":
			kp.Inspector = p.kernelParamList(l, fp)
		case "installer":
			kp.Installer = p.kernelParamList(l, fp)
		default:
			p.addf(k, fp, "unknown field; known fields: inspector, installer")
		}
	}
	return kp
}

func (p *hostsParser) kernelParamList(v *yaml.Node, path string) []string {
	if v.Kind != yaml.SequenceNode {
		p.addf(v, path, "must be a list of kernel parameters ([console=ttyS0,115200n8])")
		return nil
	}
	if len(v.Content) > MaxKernelParams {
		p.addf(v, path, "%d kernel parameters, more than %d; put the common ones in --inspector-extra-kernel-param / --installer-extra-kernel-param",
			len(v.Content), MaxKernelParams)
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for i, n := range v.Content {
		fp := fmt.Sprintf("%s[%d]", path, i)
		s := p.scalar(n, fp)
		if n.Kind != yaml.ScalarNode {
			continue
		}
		if err := CheckKernelParam(s); err != nil {
			p.addf(n, fp, "%v", err)
			continue
		}
		out = append(out, s)
	}
	return out
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
			p.addf(v, path, "%s is not an IPv4 address", quoteShort(s))
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

// fieldPath appends key to path: path.key for a plain key, else
// path["key"] quoted (and shortened), so that no key can break a problem
// line.
func fieldPath(path, key string) string {
	plain := key != "" && len(key) <= 64
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return path + "[" + quoteShort(key) + "]"
	case path == "":
		return key
	default:
		return path + "." + key
	}
}
