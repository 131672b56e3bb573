package render

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/schemas"
)

// lease is an address with its pool's network facts.
type lease struct {
	addr netip.Addr
	net  schemas.PoolNetwork
}

// prefix is the address's prefix length, 0 without a pool.
func (l lease) prefix() int {
	if !l.net.Network.IsValid() {
		return 0
	}
	return l.net.Network.Bits()
}

// gateway is the pool's gateway, "" when it has none.
func (l lease) gateway() string {
	if !l.net.Gateway.IsValid() {
		return ""
	}
	return l.net.Gateway.String()
}

// requested is one requested machine, expanded from a MachineSet or a Machine.
type requested struct {
	name     string
	set      string // "" for a standalone Machine
	nodeType *schemas.NodeType
	props    []map[string]any // MachineSet, then Machine properties
}

// generator holds what generate and Check need while they walk the hosts.
type generator struct {
	ix        *schemas.Index
	provPool  string
	namespace string
	allocs    map[[2]string]netip.Addr // (pool, owner) → address
	pools     map[string]lease         // pool → network facts (addr unset)
	machines  map[string]requested
	templates *templateCache
	// failures are the user-data and network-data that cannot be
	// rendered; omitted, the hosts and machines the state gives no
	// address or host.
	failures failures
	omitted  []Omission
	// check runs everything that can fail without building objects, and
	// stands in the pool's first address for one the state lacks (Check).
	check bool
}

// newGenerator indexes the inventory and the state.
func newGenerator(in Input) (*generator, *state.State, error) {
	ix := in.Inventory.Index()
	if ix.Site == nil {
		return nil, nil, fmt.Errorf("rendering: the inventory has no Site")
	}
	st := in.State
	if st == nil {
		st = &state.State{}
	}
	g := &generator{
		ix:        ix,
		provPool:  ix.Site.Spec.ProvisioningPool,
		namespace: ix.Site.Spec.Namespace,
		allocs:    make(map[[2]string]netip.Addr, len(st.Allocations)),
		pools:     map[string]lease{},
		machines:  map[string]requested{},
		templates: &templateCache{},
		failures:  failures{ix: ix},
	}
	for _, a := range st.Allocations {
		g.allocs[[2]string{a.Pool, a.Owner}] = a.Address
	}
	for name, p := range ix.IPPools {
		n, errs := p.Spec.Network()
		if len(errs) > 0 {
			return nil, nil, fmt.Errorf("rendering: IPPool/%s is invalid: %s", name, errs[0].Message)
		}
		g.pools[name] = lease{net: n}
	}
	for _, s := range in.Inventory.MachineSets {
		nt := ix.NodeTypes[s.Spec.NodeType]
		for i := range s.Spec.Quantity {
			name := schemas.MachineName(s.Metadata.Name, i)
			g.machines[name] = requested{name: name, set: s.Metadata.Name, nodeType: nt, props: []map[string]any{s.Spec.Properties}}
		}
	}
	for _, m := range in.Inventory.Machines {
		g.machines[m.Metadata.Name] = requested{name: m.Metadata.Name, nodeType: ix.NodeTypes[m.Spec.NodeType],
			props: []map[string]any{nil, m.Spec.Properties}}
	}
	return g, st, nil
}

// bindings returns host → machine for the bindings whose machine and host
// are both still in the inventory (the others are released by the next
// allocate), and records the requested machines left without a host.
func (g *generator) bindings(st *state.State) map[string]requested {
	boundTo := make(map[string]requested, len(st.Bindings))
	bound := make(map[string]bool, len(st.Bindings))
	for _, b := range st.Bindings {
		m, ok := g.machines[b.Machine]
		if !ok || m.nodeType == nil {
			continue
		}
		if g.ix.Hosts[b.Host] == nil {
			g.omit(Omission{Owner: schemas.ObjectRef(schemas.KindMachine, m.name), Host: schemas.ObjectRef(schemas.KindHost, b.Host), Reason: OmittedHostGone})
			bound[m.name] = true
			continue
		}
		boundTo[b.Host] = m
		bound[m.name] = true
	}
	for name, m := range g.machines {
		if !bound[name] && m.nodeType != nil {
			g.omit(Omission{Owner: schemas.ObjectRef(schemas.KindMachine, name), Reason: OmittedUnbound})
		}
	}
	return boundTo
}

// omit records a host or machine left out; nothing is recorded in a check.
func (g *generator) omit(o Omission) {
	if !g.check {
		g.omitted = append(g.omitted, o)
	}
}

// sortedOmissions returns the omissions by owner.
func (g *generator) sortedOmissions() []Omission {
	slices.SortFunc(g.omitted, func(a, b Omission) int {
		return cmp.Or(strings.Compare(a.Owner, b.Owner), strings.Compare(a.Host, b.Host))
	})
	return g.omitted
}

// generate builds every object, unsorted, and lists the hosts and
// machines left out. With a cache, a host whose inputs are those of the
// last render takes the objects built then. The user-data and network-data
// that cannot be rendered come back as schemas.Problems, all of them.
func generate(in Input, helmReleases bool, cache *Cache) ([]object, []Omission, error) {
	g, st, err := newGenerator(in)
	if err != nil {
		return nil, nil, err
	}
	boundTo := g.bindings(st)

	memo, next := cache.hostObjects(in.Inventory)
	kh := newKeyHasher()
	reused := 0
	var objs []object
	for _, h := range in.Inventory.Hosts {
		name := h.Metadata.Name
		if g.ix.Hosts[name] != h {
			continue // a duplicate; validation reports it
		}
		var m *requested
		if bm, ok := boundTo[name]; ok {
			m = &bm
			g.nameClash(bm)
		}
		key := g.hostKey(h, m)
		if e, ok := memo.lookup(name, key); ok {
			next.hosts[name] = e
			objs = append(objs, e.objs...)
			reused++
			continue
		}
		omitted, failed := len(g.omitted), g.failures.len()
		hostObjs, err := g.host(h, m)
		if err != nil {
			return nil, nil, err
		}
		for i := range hostObjs {
			hostObjs[i].group = name
			if next != nil {
				hostObjs[i].key, hostObjs[i].keyed = objectKey(kh, hostObjs[i]), true
			}
		}
		// A host is reused only when it was rendered whole.
		if next != nil && len(g.omitted) == omitted && g.failures.len() == failed {
			next.hosts[name] = hostMemo{key: key, objs: hostObjs}
		}
		objs = append(objs, hostObjs...)
	}
	if g.failures.len() > 0 {
		return nil, nil, g.failures.problems()
	}
	siteObjs, err := siteObjects(g.ix, helmReleases)
	if err != nil {
		return nil, nil, err
	}
	cache.keepHostObjects(next, reused)
	return append(objs, siteObjs...), g.sortedOmissions(), nil
}

// hostKey returns what, besides the inventory's objects other than the
// hosts, the objects of host h bound to m are built from.
func (g *generator) hostKey(h *schemas.Host, m *requested) hostKey {
	k := hostKey{host: h.Source.Digest()}
	if l, ok := g.hostLease(h); ok {
		k.hostAddr = l.addr
	}
	if m != nil {
		k.machine = m.name
		if pool := g.ix.Pool(m.nodeType); pool != "" && pool != g.provPool {
			k.machineAddr = g.allocs[[2]string{pool, schemas.ObjectRef(schemas.KindMachine, m.name)}]
		}
	}
	return k
}

// hostLease returns the host's provisioning lease: its pinned address or
// its allocation in the provisioning pool.
func (g *generator) hostLease(h *schemas.Host) (lease, bool) {
	l := g.pools[g.provPool]
	if h.Spec.IPAddress != "" {
		a, err := netip.ParseAddr(h.Spec.IPAddress)
		if err != nil {
			return l, false
		}
		l.addr = a
		return l, true
	}
	a, ok := g.allocs[[2]string{g.provPool, schemas.ObjectRef(schemas.KindHost, h.Metadata.Name)}]
	l.addr = a
	return l, ok
}

// machineData is a bound machine's rendered user-data and network-data.
type machineData struct {
	m                     requested
	userData, networkData string
	ip                    string // CIDR form
}

// machineContext returns what the templates of m, bound to the host info
// whose lease is hostLease, see. ok is false when the state holds no
// address for m in its node type's pool (recorded as an omission); a
// check takes the pool's first address instead.
func (g *generator) machineContext(info HostInfo, hostLease lease, m requested) (MachineContext, bool) {
	nt := m.nodeType
	owner := schemas.ObjectRef(schemas.KindMachine, m.name)
	addr := hostLease
	if pool := g.ix.Pool(nt); pool != "" && pool != g.provPool {
		a, ok := g.allocs[[2]string{pool, owner}]
		if !ok {
			if !g.check {
				g.omit(Omission{Owner: owner, Host: schemas.ObjectRef(schemas.KindHost, info.Name), Pool: pool, Reason: OmittedNoAddress})
				return MachineContext{}, false
			}
			a = g.pools[pool].net.First
		}
		addr = g.pools[pool]
		addr.addr = a
	}
	layers := []map[string]any{g.ix.Site.Spec.Properties, nt.Spec.Properties}
	layers = append(layers, m.props...)
	mc := MachineContext{
		Machine:     MachineInfo{Name: m.name, NodeType: nt.Metadata.Name, Set: m.set},
		Host:        info,
		Properties:  MergeProperties(layers...),
		SSHKeys:     g.sshKeys(nt),
		AllocatedIP: addr.addr.String(),
		Gateway:     addr.gateway(),
		Prefix:      addr.prefix(),
		DNSServers:  addr.net.DNSServers,
		NodeType:    nt,
		Secrets:     g.ix.Secrets,
		templates:   g.templates,
		checkOnly:   g.check,
	}
	if b := g.ix.Site.Spec.Bootstrap; b != nil {
		mc.Bootstrap = b.Runcmd
	}
	return mc, true
}

// machineData renders the user-data and network-data of m on the host;
// nil when m is left out or either fails (recorded as a failure, naming
// what context says: "Machine/x on Host/y").
func (g *generator) machineData(mc MachineContext, m requested, context string) *machineData {
	userData, uerr := UserData(mc)
	if uerr != nil {
		g.failures.add(uerr, "user-data of "+context, mc.nodeTypeObject())
	}
	networkData, nerr := NetworkData(mc)
	if nerr != nil {
		g.failures.add(nerr, "network-data of "+context, mc.nodeTypeObject())
	}
	if uerr != nil || nerr != nil {
		return nil
	}
	ip := mc.AllocatedIP
	if mc.Prefix > 0 {
		ip = fmt.Sprintf("%s/%d", ip, mc.Prefix)
	}
	return &machineData{m: m, userData: userData, networkData: networkData, ip: ip}
}

// nameClash records a failure when a Secret of machine m would have the
// name of a host's preprovisioning network-data Secret: the machine
// <host>-preprov's network-data is <host>-preprov-network-data.
func (g *generator) nameClash(m requested) {
	host, ok := strings.CutSuffix(m.name, "-preprov")
	if !ok || g.ix.Hosts[host] == nil {
		return
	}
	de := &dataError{object: schemas.ObjectRef(schemas.KindMachine, m.name), field: "metadata.name", rule: schemas.RuleObjectName,
		msg: fmt.Sprintf("the machine's network-data Secret %s-network-data would have the name of the preprovisioning network-data Secret of Host/%s; rename the machine", m.name, host)}
	if m.set != "" {
		de.object = schemas.ObjectRef(schemas.KindMachineSet, m.set)
	}
	g.failures.add(de, schemas.ObjectRef(schemas.KindMachine, m.name), de.object)
}
