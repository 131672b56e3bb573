package schemas

// Index gives the inventory's objects by name. With duplicate names, the
// first document wins (Validate reports the others).
type Index struct {
	Site        *Site
	IPPools     map[string]*IPPool
	NodeTypes   map[string]*NodeType
	Hosts       map[string]*Host
	MachineSets map[string]*MachineSet
	Machines    map[string]*Machine
	OSImages    map[string]*OSImage
	SSHKeys     map[string]*SSHKey
	Secrets     map[string]*Secret
}

// Index builds the name index of the inventory.
func (inv *Inventory) Index() *Index {
	ix := &Index{
		IPPools:     byName(inv.IPPools, func(o *IPPool) string { return o.Metadata.Name }),
		NodeTypes:   byName(inv.NodeTypes, func(o *NodeType) string { return o.Metadata.Name }),
		Hosts:       byName(inv.Hosts, func(o *Host) string { return o.Metadata.Name }),
		MachineSets: byName(inv.MachineSets, func(o *MachineSet) string { return o.Metadata.Name }),
		Machines:    byName(inv.Machines, func(o *Machine) string { return o.Metadata.Name }),
		OSImages:    byName(inv.OSImages, func(o *OSImage) string { return o.Metadata.Name }),
		SSHKeys:     byName(inv.SSHKeys, func(o *SSHKey) string { return o.Metadata.Name }),
		Secrets:     byName(inv.Secrets, func(o *Secret) string { return o.Metadata.Name }),
	}
	if len(inv.Sites) > 0 {
		ix.Site = inv.Sites[0]
	}
	return ix
}

func byName[T any](objs []*T, name func(*T) string) map[string]*T {
	m := make(map[string]*T, len(objs))
	for _, o := range objs {
		if _, dup := m[name(o)]; !dup {
			m[name(o)] = o
		}
	}
	return m
}

// Pool returns the IPPool that machines of this node type draw from: its
// own pool, or the Site's provisioning pool when it names none.
func (ix *Index) Pool(nt *NodeType) string {
	if nt.Spec.Pool != "" || ix.Site == nil {
		return nt.Spec.Pool
	}
	return ix.Site.Spec.ProvisioningPool
}
