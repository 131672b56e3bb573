package schemas

import (
	"strings"
)

// machines checks MachineSets and Machines: node types, quantities and
// their limits, machine names made twice, and hosts pinned twice. It never
// expands a MachineSet into its machines, so its work does not grow with
// the quantities.
func (v *validator) machines() {
	for _, ms := range v.inv.MachineSets {
		obj, src := ObjectRef(KindMachineSet, ms.Metadata.Name), ms.Source
		if v.required(src, obj, "spec.nodeType", ms.Spec.NodeType, "name the NodeType of the machines") {
			v.ref(src, obj, "spec.nodeType", KindNodeType, ms.Spec.NodeType, v.ix.NodeTypes[ms.Spec.NodeType] != nil)
		}
		switch q := ms.Spec.Quantity; {
		case !src.has("spec.quantity"):
			v.at(src, obj, "spec.quantity", RuleRequired, "is required; say how many machines the set holds (0 or more)")
		case q < 0:
			v.at(src, obj, "spec.quantity", RuleOutOfRange, "quantity %d is negative; use 0 or more", q)
		case q > MaxMachineSetQuantity:
			v.at(src, obj, "spec.quantity", RuleOutOfRange, "quantity %d is over %d, the most machines one MachineSet may ask for; lower it, and split a larger fleet into several inventories (one per Site): an inventory holds at most %d machines", q, MaxMachineSetQuantity, MaxMachines)
		}
	}
	pinned := map[string]string{} // host → machine
	for _, m := range v.inv.Machines {
		obj, src := ObjectRef(KindMachine, m.Metadata.Name), m.Source
		if v.required(src, obj, "spec.nodeType", m.Spec.NodeType, "name the NodeType of the machine") {
			v.ref(src, obj, "spec.nodeType", KindNodeType, m.Spec.NodeType, v.ix.NodeTypes[m.Spec.NodeType] != nil)
		}
		if set := v.madeBySet(m.Metadata.Name); set != "" {
			v.at(src, obj, "metadata.name", RuleMachineName, "machine %s is also made by MachineSet/%s; rename the Machine or the MachineSet", m.Metadata.Name, set)
		}
		if host := m.Spec.ServerName; host != "" {
			v.ref(src, obj, "spec.serverName", KindHost, host, v.ix.Hosts[host] != nil)
			if other, dup := pinned[host]; dup {
				v.at(src, obj, "spec.serverName", RuleDuplicatePinned, "Host/%s is already pinned by Machine/%s; a host runs one machine", host, other)
			} else {
				pinned[host] = m.Metadata.Name
			}
		}
	}
	v.machineCount()
}

// madeBySet returns the MachineSet that makes a machine named name
// (<set>-<n>, n in 0 … quantity-1, written without leading zeros), or "".
func (v *validator) madeBySet(name string) string {
	set, n, ok := SplitMachineName(name)
	if !ok {
		return ""
	}
	if ms := v.ix.MachineSets[set]; ms == nil || n >= ms.Spec.Quantity {
		return ""
	}
	return set
}

// machineCount checks that the inventory asks for at most MaxMachines
// machines. A MachineSet counts for at most MaxMachineSetQuantity (a larger
// quantity is a problem of its own). The problem goes to the document
// that takes the count past the limit.
func (v *validator) machineCount() {
	type step struct {
		src        Source
		obj, field string
		n          int
	}
	var steps []step
	for _, ms := range v.inv.MachineSets {
		if q := min(ms.Spec.Quantity, MaxMachineSetQuantity); q > 0 {
			steps = append(steps, step{ms.Source, ObjectRef(KindMachineSet, ms.Metadata.Name), "spec.quantity", q})
		}
	}
	for _, m := range v.inv.Machines {
		steps = append(steps, step{m.Source, ObjectRef(KindMachine, m.Metadata.Name), "", 1})
	}
	total := 0
	for _, s := range steps {
		total += s.n
	}
	if total <= MaxMachines {
		return
	}
	count := 0
	for _, s := range steps {
		if count+s.n > MaxMachines {
			v.at(s.src, s.obj, s.field, RuleMachineLimit, "the inventory asks for %d machines (MachineSets and Machines together), over the limit of %d; this %s takes the count from %d to %d: lower quantities, or split the fleet into several inventories (one per Site)",
				total, MaxMachines, s.obj[:strings.IndexByte(s.obj, '/')], count, count+s.n)
			return
		}
		count += s.n
	}
}
