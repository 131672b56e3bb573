package boot

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync/atomic"
)

// Phase says what a host boots into over the network.
type Phase string

// Phases of a Host.
const (
	// PhaseInspect: the host is being registered or inspected; it boots
	// the inspection ramdisk.
	PhaseInspect Phase = "inspect"
	// PhaseDeploy: the host is being provisioned (or cleaned); it boots
	// the deploy ramdisk.
	PhaseDeploy Phase = "deploy"
	// PhaseNone: the host gets its address but no boot offer (it boots
	// from disk).
	PhaseNone Phase = "none"
)

// Boot modes of a Host. An empty BootMode means "whatever the firmware
// asks for": the DHCP server always follows the client's option 93.
const (
	BootModeUEFI   = "UEFI"
	BootModeLegacy = "legacy"
)

// Host is one machine the boot proxy may answer.
type Host struct {
	// MAC is the boot interface's MAC address: unicast, not all zeros
	// (CheckMAC).
	MAC net.HardwareAddr
	// Name identifies the host in logs (the inventory Host or the
	// BareMetalHost name); printable (CheckName).
	Name string
	// Address is the host's lease with its prefix length; Gateway, DNS
	// and NTP are optional.
	Address  netip.Prefix
	Gateway  netip.Addr
	DNS, NTP []netip.Addr
	// Hostname is sent in option 12 when set; it must be a DNS name
	// (CheckHostname).
	Hostname string
	// BootMode is UEFI, legacy or "" (follow the client).
	BootMode string
	// Phase is inspect, deploy or none.
	Phase Phase
	// KernelParams are the host's own extra kernel parameters, added to
	// its iPXE script after the Site's (CheckKernelParam).
	KernelParams KernelParams
}

// KernelParams are extra kernel parameters for the ramdisk a host boots:
// Inspector for phase inspect, Installer for phase deploy. Each is one
// word of the kernel command line (key or key=value).
type KernelParams struct {
	Inspector []string
	Installer []string
}

// For returns the parameters of a phase (nil for PhaseNone).
func (k KernelParams) For(p Phase) []string {
	switch p {
	case PhaseInspect:
		return k.Inspector
	case PhaseDeploy:
		return k.Installer
	}
	return nil
}

// Key returns the table key of a MAC address: lower-case, colon form.
func Key(mac net.HardwareAddr) string { return mac.String() }

// Table is an immutable MAC → Host map. Build one with NewTable and never
// change it afterwards; it is shared between goroutines.
type Table struct {
	hosts []Host
	byMAC map[string]int
	// byAddr maps a lease address to its host.
	byAddr map[netip.Addr]int
	// Source says where the table came from (file name, commit, …), for
	// logs and status.
	Source string
	// Site is the Site's settings for every host (WithSite).
	Site Site
}

// NewTable checks hosts and builds a table from them. Every problem is
// reported at once; no table is returned when there is one.
func NewTable(source string, hosts []Host) (*Table, error) {
	t, problems := newTable(source, hosts)
	if len(problems) > 0 {
		return nil, problemsError(source, problems)
	}
	return t, nil
}

// MaxProblems bounds the problems an error of NewTable or ParseHosts
// lists; it says how many more there were.
const MaxProblems = 100

// problemsError lists the problems of source, at most MaxProblems.
func problemsError(source string, problems []string) error {
	shown := problems
	more := ""
	if len(shown) > MaxProblems {
		shown = shown[:MaxProblems]
		more = fmt.Sprintf("\n  … and %d more", len(problems)-MaxProblems)
	}
	return fmt.Errorf("%s: %d problem(s):\n  %s%s", source, len(problems), strings.Join(shown, "\n  "), more)
}

// newTable builds a table and lists its problems (the table is only good
// when there are none).
func newTable(source string, hosts []Host) (*Table, []string) {
	t := &Table{Source: source, hosts: make([]Host, len(hosts)), byMAC: make(map[string]int, len(hosts)),
		byAddr: make(map[netip.Addr]int, len(hosts))}
	copy(t.hosts, hosts)
	sort.SliceStable(t.hosts, func(i, j int) bool { return t.hosts[i].Name < t.hosts[j].Name })
	var problems []string
	byAddr := map[netip.Addr]string{}
	for i, h := range t.hosts {
		who := h.Name
		switch {
		case who == "":
			who = h.MAC.String()
		case CheckName(who) != nil:
			who = quoteShort(who)
		}
		if err := h.check(); err != nil {
			problems = append(problems, fmt.Sprintf("host %s: %v", who, err))
			continue
		}
		k := Key(h.MAC)
		if j, dup := t.byMAC[k]; dup {
			problems = append(problems, fmt.Sprintf("host %s: MAC %s is also host %s's", who, k, t.hosts[j].Name))
			continue
		}
		if other, dup := byAddr[h.Address.Addr()]; dup {
			problems = append(problems, fmt.Sprintf("host %s: address %s is also host %s's", who, h.Address.Addr(), other))
			continue
		}
		byAddr[h.Address.Addr()] = who
		t.byMAC[k] = i
		t.byAddr[h.Address.Addr()] = i
	}
	return t, problems
}

func (h *Host) check() error {
	var bad []string
	if err := CheckMAC(h.MAC); err != nil {
		bad = append(bad, err.Error())
	}
	if err := CheckName(h.Name); err != nil {
		bad = append(bad, err.Error())
	}
	if h.Hostname != "" {
		if err := CheckHostname(h.Hostname); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if !h.Address.IsValid() || !h.Address.Addr().Is4() {
		bad = append(bad, "address must be an IPv4 address with a prefix length (192.168.100.3/24)")
	} else if h.Address.Bits() < 1 || h.Address.Bits() > 31 {
		bad = append(bad, fmt.Sprintf("address %s: prefix length must be 1 to 31", h.Address))
	}
	if h.Gateway.IsValid() && (!h.Gateway.Is4() || (h.Address.IsValid() && !h.Address.Masked().Contains(h.Gateway))) {
		bad = append(bad, fmt.Sprintf("gateway %s is not an IPv4 address inside %s", h.Gateway, h.Address.Masked()))
	}
	for _, a := range append(append([]netip.Addr{}, h.DNS...), h.NTP...) {
		if !a.Is4() {
			bad = append(bad, fmt.Sprintf("DNS/NTP server %s is not an IPv4 address", a))
		}
	}
	switch h.Phase {
	case PhaseInspect, PhaseDeploy, PhaseNone:
	default:
		bad = append(bad, fmt.Sprintf("phase %q must be inspect, deploy or none", h.Phase))
	}
	if err := h.KernelParams.Check(); err != nil {
		bad = append(bad, err.Error())
	}
	switch h.BootMode {
	case "", BootModeUEFI, BootModeLegacy:
	default:
		bad = append(bad, fmt.Sprintf("bootMode %q must be UEFI or legacy", h.BootMode))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// Lookup returns the host whose boot MAC is mac.
func (t *Table) Lookup(mac net.HardwareAddr) (Host, bool) {
	if t == nil {
		return Host{}, false
	}
	i, ok := t.byMAC[Key(mac)]
	if !ok {
		return Host{}, false
	}
	return t.hosts[i], true
}

// LookupAddr returns the host whose lease is addr: the servers that see
// only a client's address (TFTP, HTTP, the callback proxy) learn its MAC
// this way.
func (t *Table) LookupAddr(addr netip.Addr) (Host, bool) {
	if t == nil {
		return Host{}, false
	}
	i, ok := t.byAddr[addr.Unmap()]
	if !ok {
		return Host{}, false
	}
	return t.hosts[i], true
}

// Len is the number of hosts in the table.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.hosts)
}

// Hosts returns a copy of the hosts, sorted by name.
func (t *Table) Hosts() []Host {
	if t == nil {
		return nil
	}
	return append([]Host(nil), t.hosts...)
}

// Store holds the current table. The zero Store holds an empty table;
// Load and Swap may be called from any goroutine.
type Store struct{ p atomic.Pointer[Table] }

// Load returns the current table (nil when none was stored; a nil *Table
// answers no lookups).
func (s *Store) Load() *Table { return s.p.Load() }

// Swap replaces the table and returns the old one.
func (s *Store) Swap(t *Table) *Table { return s.p.Swap(t) }

// MACOf returns the MAC address whose lease is addr in the current table.
func (s *Store) MACOf(addr netip.Addr) (net.HardwareAddr, bool) {
	h, ok := s.Load().LookupAddr(addr)
	return h.MAC, ok
}
