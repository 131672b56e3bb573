package render

import (
	"fmt"
	"slices"
	"strings"

	"github.com/metalgit/metalgit/alloc/binding"
	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/schemas"
)

// exampleMAC is the boot MAC of the stand-in host of a representative
// context when no host matches the node type.
const exampleMAC = "02:00:00:00:00:00"

// Check finds what Render would reject in a validated inventory whose
// state st alloc.Compute accepts (pass the plan's next state, so that the
// bindings a pass would make are checked too), without building any
// object: it executes every bound machine's user-data and network-data
// with the context Render gives it (the same code), generates every
// host's preprovisioning network-data, and checks the Site's objects and
// the names of the machines' Secrets. An address the state does not hold
// yet is stood in by its pool's first address.
//
// A node type that no machine in st is bound to is checked with a
// representative context: its first requested machine by name (or
// <nodetype>-example), on the host a new machine of it would bind to
// (the first matching host by name, taken or not), or, when no host
// matches, on a stand-in host with boot MAC 02:00:00:00:00:00 and no
// interfaces. Its problems say so.
//
// Problems name the file, document, field and template line, and the
// machine or host they were found for; one failure shared by many
// machines is one problem that counts them.
func Check(inv *schemas.Inventory, st *state.State) schemas.Problems {
	g, st, err := newGenerator(Input{Inventory: inv, State: st})
	if err != nil {
		return schemas.Problems{{Rule: schemas.RuleValue, Message: err.Error()}}
	}
	g.check = true
	boundTo := g.bindings(st)
	checked := map[*schemas.NodeType]bool{}
	for _, h := range inv.Hosts {
		if g.ix.Hosts[h.Metadata.Name] != h {
			continue
		}
		var m *requested
		if bm, ok := boundTo[h.Metadata.Name]; ok {
			m = &bm
			checked[bm.nodeType] = true
		}
		if _, err := g.host(h, m); err != nil {
			host := schemas.ObjectRef(schemas.KindHost, h.Metadata.Name)
			g.failures.add(err, host, host)
		}
	}
	for _, nt := range inv.NodeTypes {
		if g.ix.NodeTypes[nt.Metadata.Name] == nt && !checked[nt] {
			g.representative(inv, nt)
		}
	}
	names := make([]string, 0, len(g.machines))
	for name := range g.machines {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		g.nameClash(g.machines[name])
	}
	if _, err := siteObjects(g.ix, true); err != nil {
		site := schemas.ObjectRef(schemas.KindSite, g.ix.Site.Metadata.Name)
		g.failures.add(&dataError{object: site, rule: schemas.RuleValue, msg: strings.TrimPrefix(err.Error(), "rendering "+site+": ")}, site, site)
	}
	return g.failures.problems()
}

// representative checks the user-data and network-data of node type nt,
// which no machine is bound to, with a representative context (see Check).
func (g *generator) representative(inv *schemas.Inventory, nt *schemas.NodeType) {
	m := requested{name: nt.Metadata.Name + "-example", nodeType: nt}
	var first string
	for name, r := range g.machines {
		if r.nodeType == nt && (first == "" || name < first) {
			first, m = name, r
		}
	}
	var h *schemas.Host
	if res, err := binding.Bind(inv.Hosts, []binding.Request{{Machine: m.name, NodeType: nt}}, nil); err == nil && len(res.Bindings) == 1 {
		h = g.ix.Hosts[res.Bindings[0].Host]
	}
	info := HostInfo{Name: "example", BootMACAddress: exampleMAC}
	hostLease := g.pools[g.provPool]
	hostLease.addr = hostLease.net.First
	onHost := "a stand-in host (no host matches the node type)"
	if h != nil {
		info = HostInfo{Name: h.Metadata.Name, Labels: h.Metadata.Labels, BootMACAddress: h.Spec.BootMACAddress, Interfaces: h.Spec.Interfaces}
		if l, ok := g.hostLease(h); ok {
			hostLease = l
		}
		onHost = schemas.ObjectRef(schemas.KindHost, h.Metadata.Name)
	}
	mc, _ := g.machineContext(info, hostLease, m)
	g.machineData(mc, m, fmt.Sprintf("%s on %s, a representative context: no machine of %s is bound", schemas.ObjectRef(schemas.KindMachine, m.name), onHost, mc.nodeTypeObject()))
}
