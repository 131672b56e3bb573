package binding

import (
	"fmt"
	"slices"
	"strings"

	"github.com/metalgit/metalgit/schemas"
)

// Expand turns the inventory's MachineSets and Machines into the requests
// Bind takes, sorted by machine name: a MachineSet of quantity n requests
// the machines <set>-0 … <set>-(n-1), a Machine requests itself, pinned to
// its spec.serverName if set. nodeTypes maps node type names to the
// inventory's NodeTypes; requests of one node type share its pointer.
//
// It returns an error, naming the object, for an unknown node type or a
// negative quantity; two requests with the same name (a Machine db-0 beside
// a MachineSet db) are left for Bind to reject.
func Expand(sets []*schemas.MachineSet, machines []*schemas.Machine, nodeTypes map[string]*schemas.NodeType) ([]Request, error) {
	n := len(machines)
	for _, s := range sets {
		if s != nil && s.Spec.Quantity > 0 {
			n += s.Spec.Quantity
		}
	}
	out := make([]Request, 0, n)
	for _, s := range sets {
		if s == nil {
			return nil, fmt.Errorf("binding: nil MachineSet")
		}
		nt := nodeTypes[s.Spec.NodeType]
		if nt == nil {
			return nil, fmt.Errorf("binding: MachineSet %s: unknown node type %s", s.Metadata.Name, s.Spec.NodeType)
		}
		if s.Spec.Quantity < 0 {
			return nil, fmt.Errorf("binding: MachineSet %s: negative quantity %d", s.Metadata.Name, s.Spec.Quantity)
		}
		for i := range s.Spec.Quantity {
			out = append(out, Request{Machine: schemas.MachineName(s.Metadata.Name, i), NodeType: nt})
		}
	}
	for _, m := range machines {
		if m == nil {
			return nil, fmt.Errorf("binding: nil Machine")
		}
		nt := nodeTypes[m.Spec.NodeType]
		if nt == nil {
			return nil, fmt.Errorf("binding: Machine %s: unknown node type %s", m.Metadata.Name, m.Spec.NodeType)
		}
		out = append(out, Request{Machine: m.Metadata.Name, NodeType: nt, Pin: m.Spec.ServerName})
	}
	slices.SortFunc(out, func(a, b Request) int { return strings.Compare(a.Machine, b.Machine) })
	return out, nil
}
