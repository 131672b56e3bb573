// Package alloc computes one planning pass over a validated inventory and
// the previous state: it binds machines to hosts (package binding),
// allocates each host's provisioning lease and each bound machine's address
// (package ipam), releases what the inventory no longer asks for, and
// returns the next state with every change and problem listed.
//
// It is pure computation: no Git, no Kubernetes, no network. The same
// inputs always give the same plan.
package alloc

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/metalgit/metalgit/alloc/binding"
	"github.com/metalgit/metalgit/alloc/ipam"
	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/schemas"
)

// Status says whether an entry existed before the pass or was made by it.
type Status string

// Statuses of bindings and allocations.
const (
	StatusKept Status = "kept"
	StatusNew  Status = "new"
	// StatusWaiting: the address of a host no longer in the inventory,
	// kept while its BareMetalHost is still in the cluster (the operator
	// deprovisions it behind a finalizer; Options.Deleting). A later pass
	// releases it once the object is gone. Also a binding whose machine
	// is no longer requested, and that machine's address, kept while the
	// host is deprovisioned (Options.Deprovisioning).
	StatusWaiting Status = "waiting"
)

// Options are what a pass learns outside the inventory and its state.
type Options struct {
	// Deleting reports whether the BareMetalHost of a host that left the
	// inventory is still in the cluster; nil: none is.
	Deleting func(host string) bool
	// Deprovisioning reports whether the server of host still runs (or
	// is being wiped of) a machine's image: its BareMetalHost is
	// provisioning, provisioned, deprovisioning or being deleted. A
	// machine no longer requested keeps such a host and its address
	// (StatusWaiting), so that neither goes to another machine while the
	// old one may still answer on it; nil: no host is.
	Deprovisioning func(host string) bool
}

// Binding is one machine → host binding the state holds after the pass.
type Binding struct {
	Machine string `json:"machine"`
	Host    string `json:"host"`
	Status  Status `json:"status"`
}

// Allocation is one address the state holds after the pass.
type Allocation struct {
	Pool    string     `json:"pool"`
	Address netip.Addr `json:"address"`
	Owner   string     `json:"owner"`
	Status  Status     `json:"status"`
}

// Release types.
const (
	ReleaseBinding    = "binding"
	ReleaseAllocation = "allocation"
)

// Release is an entry of the previous state that the pass drops.
type Release struct {
	Type    string `json:"type"` // binding | allocation
	Machine string `json:"machine,omitempty"`
	Host    string `json:"host,omitempty"`
	Pool    string `json:"pool,omitempty"`
	Address string `json:"address,omitempty"`
	Owner   string `json:"owner,omitempty"`
	Reason  string `json:"reason"`
}

// Problem types.
const (
	ProblemUnbound   = "unbound"
	ProblemExhausted = "exhausted"
)

// Problem is a request the pass could not serve. It is not an error: every
// other binding and allocation goes ahead.
type Problem struct {
	Type    string `json:"type"` // unbound | exhausted
	Owner   string `json:"owner"`
	Pool    string `json:"pool,omitempty"`
	Size    uint64 `json:"size,omitempty"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// PoolUsage summarises one pool after the pass.
type PoolUsage struct {
	Pool string `json:"pool"`
	Size uint64 `json:"size"`
	Used int    `json:"used"`
	Free uint64 `json:"free"`
}

// Plan is the outcome of one pass.
type Plan struct {
	// Bindings and Allocations list everything the state holds after the
	// pass, sorted (bindings by machine; allocations by pool, address).
	Bindings    []Binding    `json:"bindings"`
	Allocations []Allocation `json:"allocations"`
	// Releases list what the previous state held and the pass drops.
	Releases []Release `json:"releases"`
	// Problems list the machines and owners the pass could not serve.
	Problems []Problem   `json:"problems"`
	Pools    []PoolUsage `json:"pools"`
	// Next is the state after the pass.
	Next *state.State `json:"-"`
}

// Changed reports whether the pass changes the state.
func (p *Plan) Changed() bool {
	if len(p.Releases) > 0 {
		return true
	}
	for _, b := range p.Bindings {
		if b.Status == StatusNew {
			return true
		}
	}
	for _, a := range p.Allocations {
		if a.Status == StatusNew {
			return true
		}
	}
	return false
}

// Counts returns the number of new and kept bindings and allocations.
func (p *Plan) Counts() (newB, keptB, newA, keptA int) {
	for _, b := range p.Bindings {
		if b.Status == StatusNew {
			newB++
		} else {
			keptB++
		}
	}
	for _, a := range p.Allocations {
		if a.Status == StatusNew {
			newA++
		} else {
			keptA++
		}
	}
	return
}

// Summary is one line counting the plan's changes.
func (p *Plan) Summary() string {
	newB, keptB, newA, keptA := p.Counts()
	line := fmt.Sprintf("%d new and %d kept bindings, %d new and %d kept allocations, %d released, %d problems",
		newB, keptB, newA, keptA, len(p.Releases), len(p.Problems))
	deleting := 0
	for _, a := range p.Allocations {
		if kind, _, _ := schemas.SplitObjectRef(a.Owner); a.Status == StatusWaiting && kind == schemas.KindHost {
			deleting++
		}
	}
	if deleting > 0 {
		line += fmt.Sprintf(", %d waiting for BareMetalHost deletion", deleting)
	}
	deprovisioning := 0
	for _, b := range p.Bindings {
		if b.Status == StatusWaiting {
			deprovisioning++
		}
	}
	if deprovisioning > 0 {
		line += fmt.Sprintf(", %d machines waiting for their hosts' deprovisioning", deprovisioning)
	}
	return line
}

// demand is one (pool, owner) pair the inventory asks an address for.
type demand struct{ pool, owner string }

// Compute runs one pass. The inventory must have passed validation. The
// previous state must match the inventory's pools: an address outside its
// pool (or not allocatable there) is a state problem and Compute returns
// them all as schemas.Problems without a plan, because the state cannot be
// trusted. Entries whose owner, machine, host or pool left the inventory
// are released.
func Compute(inv *schemas.Inventory, prev *state.State) (*Plan, error) {
	return ComputeWith(inv, prev, Options{})
}

// ComputeWith is Compute with what the cluster tells: a host that left
// the inventory keeps its address (StatusWaiting) while opts.Deleting
// says its BareMetalHost is still there.
func ComputeWith(inv *schemas.Inventory, prev *state.State, opts Options) (*Plan, error) {
	if prev == nil {
		prev = &state.State{}
	}
	ix := inv.Index()
	if ix.Site == nil {
		return nil, errors.New("planning: the inventory has no Site")
	}
	plan := &Plan{Bindings: []Binding{}, Allocations: []Allocation{}, Releases: []Release{}, Problems: []Problem{}, Pools: []PoolUsage{}}

	// Bindings.
	reqs, err := binding.Expand(inv.MachineSets, inv.Machines, ix.NodeTypes)
	if err != nil {
		return nil, fmt.Errorf("planning machines: %w", err)
	}
	var bopts binding.Options
	if opts.Deprovisioning != nil {
		bopts.Hold = func(_, host string) bool { return opts.Deprovisioning(host) }
	}
	res, err := binding.BindWith(inv.Hosts, reqs, prev.BindingMap(), bopts)
	if err != nil {
		return nil, fmt.Errorf("planning bindings: %w", err)
	}
	next := &state.State{}
	bound := make(map[string]string, len(res.Bindings))
	waitingMachines := map[string]bool{} // machines no longer requested, kept while their hosts deprovision
	for _, b := range res.Bindings {
		plan.Bindings = append(plan.Bindings, Binding{Machine: b.Machine, Host: b.Host, Status: Status(b.Status)})
		next.Bindings = append(next.Bindings, state.Binding{Machine: b.Machine, Host: b.Host})
		if b.Status == binding.StatusWaiting {
			waitingMachines[b.Machine] = true
			continue
		}
		bound[b.Machine] = b.Host
	}
	for _, r := range res.Released {
		plan.Releases = append(plan.Releases, Release{Type: ReleaseBinding, Machine: r.Machine, Host: r.Host, Reason: string(r.Reason)})
	}
	for _, u := range res.Unbound {
		msg := fmt.Sprintf("%s cannot bind: %s", schemas.ObjectRef(schemas.KindMachine, u.Machine), u.Reason)
		if u.Detail != "" {
			msg += " (" + u.Detail + ")"
		}
		plan.Problems = append(plan.Problems, Problem{Type: ProblemUnbound, Owner: schemas.ObjectRef(schemas.KindMachine, u.Machine), Reason: string(u.Reason), Message: msg})
	}

	// What the inventory asks addresses for.
	provPool := ix.Site.Spec.ProvisioningPool
	wanted := map[demand]bool{}
	for _, h := range inv.Hosts {
		if h.Spec.IPAddress == "" {
			wanted[demand{provPool, schemas.ObjectRef(schemas.KindHost, h.Metadata.Name)}] = true
		}
	}
	machineTypes := map[string]*schemas.NodeType{}
	for _, r := range reqs {
		machineTypes[r.Machine] = r.NodeType
	}
	for machine := range bound {
		nt := machineTypes[machine]
		if nt == nil {
			continue
		}
		if pool := ix.Pool(nt); pool != "" && pool != provPool {
			wanted[demand{pool, schemas.ObjectRef(schemas.KindMachine, machine)}] = true
		}
	}

	// Pools, with the previous allocations claimed or released.
	pools := map[string]*ipam.Pool{}
	for _, p := range inv.IPPools {
		if _, dup := pools[p.Metadata.Name]; dup {
			continue
		}
		addrs, errs := p.Spec.Addresses()
		if len(errs) > 0 {
			return nil, fmt.Errorf("planning: IPPool/%s is invalid: %s", p.Metadata.Name, errs[0].Message)
		}
		pools[p.Metadata.Name] = ipam.NewPool(p.Metadata.Name, addrs.Allocatable)
	}
	var stateProblems schemas.Problems
	held := map[demand]bool{}
	for _, a := range prev.Allocations {
		d := demand{a.Pool, a.Owner}
		pool := pools[a.Pool]
		rel := Release{Type: ReleaseAllocation, Pool: a.Pool, Address: a.Address.String(), Owner: a.Owner}
		switch {
		case pool == nil:
			rel.Reason = "pool no longer in the inventory"
		case !wanted[d]:
			rel.Reason = releaseReason(a.Owner, ix, machineTypes, bound, pool.Name() == provPool)
		}
		status := StatusKept
		switch kind, name, _ := schemas.SplitObjectRef(a.Owner); {
		case pool == nil:
		case kind == schemas.KindHost && ix.Hosts[name] == nil && opts.Deleting != nil && opts.Deleting(name),
			kind == schemas.KindMachine && waitingMachines[name]:
			rel.Reason, status = "", StatusWaiting
		}
		if rel.Reason != "" {
			plan.Releases = append(plan.Releases, rel)
			continue
		}
		if err := pool.Claim(a.Address, a.Owner); err != nil {
			loc := prev.Where(state.AllocationKey(a.Pool, a.Address))
			stateProblems = append(stateProblems, schemas.Problem{File: loc.File, Line: loc.Line,
				Field: "pools." + a.Pool + "[" + a.Address.String() + "]", Rule: schemas.RuleState,
				Message: claimMessage(err, a)})
			continue
		}
		held[d] = true
		plan.Allocations = append(plan.Allocations, Allocation{Pool: a.Pool, Address: a.Address, Owner: a.Owner, Status: status})
	}
	if len(stateProblems) > 0 {
		stateProblems.Sort()
		return nil, stateProblems
	}

	// New allocations, pool by pool, owners in lexical order.
	newOwners := map[string][]string{}
	for d := range wanted {
		if !held[d] {
			newOwners[d.pool] = append(newOwners[d.pool], d.owner)
		}
	}
	poolNames := make([]string, 0, len(pools))
	for name := range pools {
		poolNames = append(poolNames, name)
	}
	slices.Sort(poolNames)
	for _, name := range poolNames {
		pool := pools[name]
		got, errs := pool.AllocateEach(newOwners[name])
		for _, a := range got {
			plan.Allocations = append(plan.Allocations, Allocation{Pool: name, Address: a.Address, Owner: a.Owner, Status: StatusNew})
		}
		for _, err := range errs {
			var ex *ipam.ExhaustedError
			if !errors.As(err, &ex) {
				return nil, fmt.Errorf("planning pool %s: %w", name, err)
			}
			plan.Problems = append(plan.Problems, Problem{Type: ProblemExhausted, Owner: ex.Owner, Pool: ex.Pool, Size: ex.Size,
				Reason: "pool exhausted", Message: ex.Error()})
		}
		for _, a := range pool.Allocations() {
			next.Allocations = append(next.Allocations, state.Allocation{Pool: name, Address: a.Address, Owner: a.Owner})
		}
		plan.Pools = append(plan.Pools, PoolUsage{Pool: name, Size: pool.Size(), Used: len(pool.Allocations()), Free: pool.Free()})
	}

	slices.SortFunc(plan.Allocations, func(a, b Allocation) int {
		return cmp.Or(strings.Compare(a.Pool, b.Pool), a.Address.Compare(b.Address))
	})
	// Bindings first, then allocations.
	slices.SortFunc(plan.Releases, func(a, b Release) int {
		return cmp.Or(-strings.Compare(a.Type, b.Type), strings.Compare(a.Machine, b.Machine),
			strings.Compare(a.Pool, b.Pool), strings.Compare(a.Owner, b.Owner))
	})
	slices.SortFunc(plan.Problems, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.Owner, b.Owner))
	})
	next.Sort()
	plan.Next = next
	return plan, nil
}

// releaseReason explains why an owner no longer needs its address.
func releaseReason(owner string, ix *schemas.Index, requested map[string]*schemas.NodeType, bound map[string]string, provisioning bool) string {
	kind, name, _ := schemas.SplitObjectRef(owner)
	switch kind {
	case schemas.KindHost:
		h := ix.Hosts[name]
		switch {
		case h == nil:
			return "host no longer in the inventory"
		case h.Spec.IPAddress != "":
			return "host has a pinned IP (spec.ipAddress)"
		case !provisioning:
			return "not the provisioning pool"
		}
	case schemas.KindMachine:
		if _, ok := requested[name]; !ok {
			return "machine no longer requested"
		}
		if _, ok := bound[name]; !ok {
			return "machine is not bound to a host"
		}
		return "machine's node type uses another pool"
	}
	return "owner no longer in the inventory"
}

func claimMessage(err error, a state.Allocation) string {
	switch {
	case errors.Is(err, ipam.ErrOutsidePool):
		return fmt.Sprintf("%s of %s is not an allocatable address of pool %s (outside it, reserved, or its network/gateway/broadcast); restore the state file from Git history or fix the pool", a.Address, a.Owner, a.Pool)
	default:
		return err.Error() + "; restore the state file from Git history"
	}
}

// Settled returns the plan a pass computes from p.Next with the same
// inventory: the same state, bindings, allocations, problems and pool
// usage, every binding and allocation kept and nothing released. Compute
// reaches a fixed point in one pass (a state it wrote has nothing left to
// change), so a caller that already planned a state it then committed
// can take this instead of planning it again. p is not modified.
func (p *Plan) Settled() *Plan {
	s := *p
	s.Bindings = slices.Clone(p.Bindings)
	for i := range s.Bindings {
		s.Bindings[i].Status = StatusKept
	}
	s.Allocations = slices.Clone(p.Allocations)
	for i := range s.Allocations {
		s.Allocations[i].Status = StatusKept
	}
	s.Releases = []Release{}
	s.Problems = slices.Clone(p.Problems)
	s.Pools = slices.Clone(p.Pools)
	return &s
}
