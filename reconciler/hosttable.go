package reconciler

import (
	"net/netip"
	"sort"
	"strings"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/schemas"
)

// Host phases in a HostTable.
const (
	// PhaseAvailable: no machine is bound to the host.
	PhaseAvailable = "available"
	// PhaseBound: a machine is bound to the host; it is to be provisioned
	// with the machine's name as hostname.
	PhaseBound = "bound"
)

// HostTable is the boot proxy's view of one good pass: every host of the
// inventory with its boot MAC and the address the plan gives it. It is
// plain data, never changed once built (passes with the same inventory
// and state share the entries of one table), so it can be shared between
// goroutines and swapped atomically (atomic.Pointer[HostTable]).
//
// The boot proxy (package boot) does not import this package: cmd/metalgit
// converts each table into the boot proxy's own with Config.OnResult. The
// entries' DNS and NTP slices are shared (between the hosts of a pool and
// between tables) and are only ever read.
type HostTable struct {
	// SourceCommit is the branch head the table was computed from;
	// StateCommit the state commit that holds it ("" when unchanged).
	SourceCommit, StateCommit string
	// Hosts, sorted by name.
	Hosts []HostEntry
	// Site is the boot proxy's part of the inventory's Site
	// (spec.bootProxy): extra kernel parameters and Ironic's URLs.
	Site  SiteBoot
	byMAC map[string]int
}

// SiteBoot is what the Site's spec.bootProxy says for every host.
type SiteBoot struct {
	KernelParamsInspector, KernelParamsInstaller []string
	IronicAPIURL, IronicHTTPURL                  string
}

// siteBoot reads the boot proxy settings of the inventory's Site.
func siteBoot(inv *schemas.Inventory) SiteBoot {
	var sb SiteBoot
	if len(inv.Sites) == 0 || inv.Sites[0].Spec.BootProxy == nil {
		return sb
	}
	bp := inv.Sites[0].Spec.BootProxy
	if kp := bp.KernelParams; kp != nil {
		sb.KernelParamsInspector, sb.KernelParamsInstaller = kp.Inspector, kp.Installer
	}
	if ir := bp.Ironic; ir != nil {
		sb.IronicAPIURL, sb.IronicHTTPURL = ir.APIURL, ir.HTTPURL
	}
	return sb
}

// HostEntry is one host of a HostTable.
type HostEntry struct {
	// Name is the Host's name; MAC its boot MAC, lower case.
	Name, MAC string
	// Hostname is the bound machine's name, else the host's.
	Hostname string
	// Machine is the bound machine; "" when Phase is PhaseAvailable.
	Machine string
	Phase   string
	// Pool is the IPPool the address comes from; Address (with the pool's
	// prefix length), Gateway, DNS and NTP are zero/empty when the host
	// has no address.
	Pool     string
	Address  netip.Prefix
	Gateway  netip.Addr
	DNS, NTP []netip.Addr
	// KernelParamsInspector and KernelParamsInstaller are the Host's own
	// spec.kernelParams (shared with the inventory: only ever read).
	KernelParamsInspector, KernelParamsInstaller []string
}

// Lookup returns the entry of the host whose boot MAC is mac (any case).
func (t *HostTable) Lookup(mac string) (HostEntry, bool) {
	if t == nil {
		return HostEntry{}, false
	}
	i, ok := t.byMAC[strings.ToLower(mac)]
	if !ok {
		return HostEntry{}, false
	}
	return t.Hosts[i], true
}

// newHostTable builds the table of a plan over its inventory. A host takes
// the address owned by itself or, when none, by the machine bound to it.
func newHostTable(inv *schemas.Inventory, plan *alloc.Plan, source, stateCommit string) *HostTable {
	ix := inv.Index()
	machineOf := map[string]string{}
	for _, b := range plan.Bindings {
		machineOf[b.Host] = b.Machine
	}
	addrOf := map[string]alloc.Allocation{}
	for _, a := range plan.Allocations {
		if _, dup := addrOf[a.Owner]; !dup {
			addrOf[a.Owner] = a
		}
	}
	// The network facts of each pool, worked out once. Entries share their
	// pool's DNS and NTP slices: a table is never changed.
	pools := make(map[string]schemas.PoolNetwork, len(ix.IPPools))
	for name, p := range ix.IPPools {
		pools[name], _ = p.Spec.Network()
	}
	t := &HostTable{SourceCommit: source, StateCommit: stateCommit, byMAC: map[string]int{}, Site: siteBoot(inv)}
	for _, h := range inv.Hosts {
		name := h.Metadata.Name
		e := HostEntry{Name: name, MAC: strings.ToLower(h.Spec.BootMACAddress), Hostname: name, Phase: PhaseAvailable}
		if m := machineOf[name]; m != "" {
			e.Machine, e.Hostname, e.Phase = m, m, PhaseBound
		}
		if kp := h.Spec.KernelParams; kp != nil {
			e.KernelParamsInspector, e.KernelParamsInstaller = kp.Inspector, kp.Installer
		}
		a, ok := addrOf[schemas.ObjectRef(schemas.KindHost, name)]
		if !ok && e.Machine != "" {
			a, ok = addrOf[schemas.ObjectRef(schemas.KindMachine, e.Machine)]
		}
		if ok {
			e.Pool = a.Pool
			addr := a.Address
			if p, ok := pools[a.Pool]; ok && addr.IsValid() {
				if p.Network.IsValid() {
					e.Address = netip.PrefixFrom(addr, p.Network.Bits())
					e.Gateway = p.Gateway
				}
				e.DNS, e.NTP = p.DNS, p.NTP
			}
		}
		t.Hosts = append(t.Hosts, e)
	}
	sort.Slice(t.Hosts, func(i, j int) bool { return t.Hosts[i].Name < t.Hosts[j].Name })
	for i, e := range t.Hosts {
		if e.MAC != "" {
			t.byMAC[e.MAC] = i
		}
	}
	return t
}
