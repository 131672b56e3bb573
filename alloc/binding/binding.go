// Package binding decides which Host each requested machine runs on.
//
// It owns the binding rules and nothing else: given the inventory's hosts,
// the machines the inventory asks for and the bindings the state already
// holds (machine name → host name), Bind computes the bindings after one
// pass, the bindings it releases and the machines it could not bind, with
// the reason. It is pure computation over the model: no I/O, no Git, no
// Kubernetes. Reading and writing the state files, and committing the
// changes, belong to the caller.
//
// The rules:
//
//   - A machine binds to a free host (one not bound to another machine)
//     whose labels match its node type's hostSelector (Kubernetes
//     semantics; a nil selector matches every host) and whose resources are
//     at least the node type's for every resource the node type names (a
//     resource the host does not list counts as zero).
//   - A machine pinned to a host (Machine.spec.serverName) binds to that
//     host only, and only if it exists, is free and matches.
//   - Existing bindings never move: one whose machine is still requested and
//     whose host still exists is kept, even if the host's labels or
//     resources changed since. They are settled before any new binding.
//     One whose machine is no longer requested, or whose host is gone, is
//     released; in the latter case the machine binds anew in the same pass.
//   - New bindings: pinned machines first, then the others; within each
//     group in machine name order, each to the first eligible host in host
//     name order (plain lexical string order for both).
//   - A machine that cannot bind is reported in Result.Unbound with the
//     reason; it never makes Bind fail.
//
// Scale-in: a MachineSet of quantity n requests <set>-0 … <set>-(n-1)
// (see Expand), so lowering n stops requesting the highest indices and
// their bindings are released — unless Options.Hold says the host is still
// being deprovisioned: then the binding stays (StatusWaiting) and its host
// is given to no other machine until a later pass releases it.
package binding

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/metalgit/metalgit/schemas"
)

// Request asks for one machine.
type Request struct {
	// Machine is the machine's name, e.g. "gpu-workers-3" or "db-0".
	Machine string
	// NodeType is the machine's node type: its Spec.HostSelector and
	// Spec.Resources decide which hosts are eligible. Requests that share a
	// node type should share the pointer (Expand does), so that its host
	// list is computed once.
	NodeType *schemas.NodeType
	// Pin is Machine.spec.serverName, "" if the machine is not pinned.
	Pin string
}

// Status says whether a binding existed before the pass or was made by it.
type Status string

// Binding statuses.
const (
	StatusKept Status = "kept"
	StatusNew  Status = "new"
	// StatusWaiting: the machine is no longer requested, but Options.Hold
	// keeps its host until the host is deprovisioned.
	StatusWaiting Status = "waiting"
)

// Options are what a pass learns outside the inventory and its state.
type Options struct {
	// Hold reports whether the host of an existing binding whose machine
	// is no longer requested must stay bound to it for now (its server
	// still runs the machine's image); nil holds none.
	Hold func(machine, host string) bool
}

// Assignment is one binding the state holds after the pass.
type Assignment struct {
	Machine string
	Host    string
	Status  Status
}

// ReleaseReason says why an existing binding was dropped.
type ReleaseReason string

// Release reasons. When both apply, ReleaseMachineGone is given.
const (
	ReleaseMachineGone ReleaseReason = "machine no longer requested"
	ReleaseHostGone    ReleaseReason = "host no longer in the inventory"
)

// Release is an existing binding that the pass dropped.
type Release struct {
	Machine string
	Host    string
	Reason  ReleaseReason
}

// Reason says why a machine could not bind.
type Reason string

// Reasons a machine could not bind.
const (
	// ReasonNoSelectorMatch: no host's labels match the node type's hostSelector.
	ReasonNoSelectorMatch Reason = "no host matches the selector"
	// ReasonResources: hosts match the selector, but none has the node
	// type's resources.
	ReasonResources Reason = "resources too small"
	// ReasonAllTaken: every host that matches the selector and has the
	// resources is bound to another machine.
	ReasonAllTaken Reason = "all matching hosts are taken"
	// ReasonPinnedMissing: the pinned host is not in the inventory.
	ReasonPinnedMissing Reason = "pinned host does not exist"
	// ReasonPinnedTaken: the pinned host is bound to another machine.
	ReasonPinnedTaken Reason = "pinned host is bound to another machine"
	// ReasonPinnedMismatch: the pinned host does not match the node type's
	// selector or lacks its resources.
	ReasonPinnedMismatch Reason = "pinned host does not match the node type"
)

// Unbound is a requested machine left without a host.
type Unbound struct {
	Machine string
	Reason  Reason
	// Detail is human text, e.g. "3 hosts match role=gpu; closest:
	// server-07 has nvidia.com/gpu 2, needs 4".
	Detail string
}

// Result is the outcome of one binding pass.
type Result struct {
	// Bindings are all bindings the state holds after the pass, sorted by machine.
	Bindings []Assignment
	// Released are the existing bindings dropped, sorted by machine.
	Released []Release
	// Unbound are the requested machines left without a host, sorted by machine.
	Unbound []Unbound
}

// Bound returns the bindings after the pass as machine name → host name,
// the form Bind takes as existing bindings.
func (r Result) Bound() map[string]string {
	m := make(map[string]string, len(r.Bindings))
	for _, b := range r.Bindings {
		m[b.Machine] = b.Host
	}
	return m
}

// Bind runs one binding pass: it keeps the existing bindings (machine name
// → host name) that are still valid, releases the others and binds every
// requested machine that has no binding yet, following the package's rules.
//
// It returns an error only for input that validation should have rejected:
// a nil host or node type, two hosts or two requests with the same name, two
// existing bindings naming the same host, an empty name in an existing
// binding, a hostSelector that does not convert, or a quantity that does not
// parse. Whether a machine finds a host is never an error: see
// Result.Unbound.
func Bind(hosts []*schemas.Host, requests []Request, existing map[string]string) (Result, error) {
	return BindWith(hosts, requests, existing, Options{})
}

// BindWith is Bind with opts: a binding Hold keeps is in Result.Bindings
// with StatusWaiting, not in Result.Released.
func BindWith(hosts []*schemas.Host, requests []Request, existing map[string]string, opts Options) (Result, error) {
	p, err := newPass(hosts, requests, existing)
	if err != nil {
		return Result{}, err
	}
	p.hold = opts.Hold
	return p.run(), nil
}

// host is a Host with its resources parsed.
type host struct {
	h *schemas.Host
	// res holds the host's quantity for each resource any requested node
	// type names, indexed like pass.resNames; zero when the host lacks it.
	res []resource.Quantity
	// owner is the machine bound to the host, "" while it is free.
	owner string
}

// need is one resource a node type asks for.
type need struct {
	idx int // index into pass.resNames and host.res
	qty resource.Quantity
}

// nodeType is a NodeType with its selector and resources parsed, and the
// state of its hosts during the pass.
type nodeType struct {
	nt    *schemas.NodeType
	sel   labels.Selector
	needs []need // sorted by resource name
	// eligible are the indices of the hosts that match the selector and have
	// the resources, in host name order; computed on first use.
	eligible []int
	computed bool
	// cursor: every eligible host before it is taken. Hosts only ever
	// become taken during a pass, so it never moves back.
	cursor int
	// why explains an empty cursor; computed on first use (it cannot
	// change during the pass: the eligible list is fixed).
	why *Unbound
}

type pass struct {
	hosts    []host         // sorted by name
	hostIdx  map[string]int // host name → index into hosts
	resNames []string
	reqs     []Request // sorted by machine name
	nts      map[*schemas.NodeType]*nodeType
	existing []existing // sorted by machine name
	hold     func(machine, host string) bool

	bindings []Assignment
	released []Release
	unbound  []Unbound
}

// existing is one binding the state held before the pass.
type existing struct {
	machine, host string
	hostIdx       int // index into pass.hosts, -1 if the host is gone
}

func newPass(hosts []*schemas.Host, requests []Request, state map[string]string) (*pass, error) {
	p := &pass{
		hostIdx: make(map[string]int, len(hosts)),
		nts:     make(map[*schemas.NodeType]*nodeType),
	}

	// Requests, in machine name order.
	p.reqs = slices.Clone(requests)
	byMachine := func(a, b Request) int { return strings.Compare(a.Machine, b.Machine) }
	if !slices.IsSortedFunc(p.reqs, byMachine) { // Expand's output is sorted
		slices.SortFunc(p.reqs, byMachine)
	}
	for i, r := range p.reqs {
		if r.Machine == "" {
			return nil, fmt.Errorf("binding: request with an empty machine name")
		}
		if i > 0 && p.reqs[i-1].Machine == r.Machine {
			return nil, fmt.Errorf("binding: machine %s is requested twice", r.Machine)
		}
		if r.NodeType == nil {
			return nil, fmt.Errorf("binding: machine %s: no node type", r.Machine)
		}
	}

	// Node types: selectors and resources, parsed once each.
	resIdx := map[string]int{}
	for _, r := range p.reqs {
		if _, ok := p.nts[r.NodeType]; ok {
			continue
		}
		nt, err := parseNodeType(r.NodeType, resIdx, &p.resNames)
		if err != nil {
			return nil, err
		}
		p.nts[r.NodeType] = nt
	}

	// Hosts, in name order, with the resources the node types name parsed once.
	p.hosts = make([]host, len(hosts))
	for i, h := range hosts {
		if h == nil {
			return nil, fmt.Errorf("binding: nil host")
		}
		p.hosts[i].h = h
	}
	byName := func(a, b host) int { return strings.Compare(a.h.Metadata.Name, b.h.Metadata.Name) }
	if !slices.IsSortedFunc(p.hosts, byName) {
		slices.SortFunc(p.hosts, byName)
	}
	all := make([]resource.Quantity, len(p.hosts)*len(p.resNames))
	for i := range p.hosts {
		h := &p.hosts[i]
		name := h.h.Metadata.Name
		if i > 0 && p.hosts[i-1].h.Metadata.Name == name {
			return nil, fmt.Errorf("binding: host %s appears twice", name)
		}
		p.hostIdx[name] = i
		h.res = all[i*len(p.resNames) : (i+1)*len(p.resNames) : (i+1)*len(p.resNames)]
		for j, rn := range p.resNames {
			s, ok := h.h.Spec.Resources[rn]
			if !ok {
				continue
			}
			q, err := resource.ParseQuantity(string(s))
			if err != nil {
				return nil, fmt.Errorf("binding: host %s: resource %s: %w", name, rn, err)
			}
			h.res[j] = q
		}
	}

	// Existing bindings: each host at most once. Hosts in the inventory
	// are marked as owned here already; run frees those it releases.
	p.existing = make([]existing, 0, len(state))
	var goneHosts map[string]string // host not in the inventory → machine
	for _, m := range sortedKeys(state) {
		hn := state[m]
		if m == "" || hn == "" {
			return nil, fmt.Errorf("binding: existing binding %q → %q: empty name", m, hn)
		}
		other, hi := "", -1
		if i, ok := p.hostIdx[hn]; ok {
			hi, other = i, p.hosts[i].owner
			p.hosts[i].owner = m
		} else {
			if goneHosts == nil {
				goneHosts = map[string]string{}
			}
			other = goneHosts[hn]
			goneHosts[hn] = m
		}
		if other != "" {
			return nil, fmt.Errorf("binding: existing bindings of machines %s and %s both name host %s", other, m, hn)
		}
		p.existing = append(p.existing, existing{machine: m, host: hn, hostIdx: hi})
	}
	return p, nil
}

func parseNodeType(nt *schemas.NodeType, resIdx map[string]int, resNames *[]string) (*nodeType, error) {
	name := nt.Metadata.Name
	out := &nodeType{nt: nt, sel: labels.Everything()}
	if s := nt.Spec.HostSelector; s != nil {
		ms := &metav1.LabelSelector{MatchLabels: s.MatchLabels}
		for _, e := range s.MatchExpressions {
			ms.MatchExpressions = append(ms.MatchExpressions, metav1.LabelSelectorRequirement{
				Key:      e.Key,
				Operator: metav1.LabelSelectorOperator(e.Operator),
				Values:   e.Values,
			})
		}
		sel, err := metav1.LabelSelectorAsSelector(ms)
		if err != nil {
			return nil, fmt.Errorf("binding: node type %s: hostSelector: %w", name, err)
		}
		out.sel = sel
	}
	for _, rn := range sortedKeys(nt.Spec.Resources) {
		q, err := resource.ParseQuantity(string(nt.Spec.Resources[rn]))
		if err != nil {
			return nil, fmt.Errorf("binding: node type %s: resource %s: %w", name, rn, err)
		}
		idx, ok := resIdx[rn]
		if !ok {
			idx = len(*resNames)
			resIdx[rn] = idx
			*resNames = append(*resNames, rn)
		}
		out.needs = append(out.needs, need{idx: idx, qty: q})
	}
	return out, nil
}

func (p *pass) run() Result {
	// 1. Settle the existing bindings before any new one.
	p.bindings = make([]Assignment, 0, len(p.reqs))
	bound := make([]bool, len(p.reqs)) // by index into p.reqs
	// Both lists are sorted by machine name: walk them together.
	ri := 0
	for _, e := range p.existing {
		for ri < len(p.reqs) && p.reqs[ri].Machine < e.machine {
			ri++
		}
		requested := ri < len(p.reqs) && p.reqs[ri].Machine == e.machine
		switch {
		case !requested && p.hold != nil && p.hold(e.machine, e.host):
			// The host stays owned (newPass marked it, if it is still in
			// the inventory).
			p.bindings = append(p.bindings, Assignment{Machine: e.machine, Host: e.host, Status: StatusWaiting})
		case !requested:
			if e.hostIdx >= 0 {
				p.hosts[e.hostIdx].owner = ""
			}
			p.released = append(p.released, Release{Machine: e.machine, Host: e.host, Reason: ReleaseMachineGone})
		case e.hostIdx < 0:
			p.released = append(p.released, Release{Machine: e.machine, Host: e.host, Reason: ReleaseHostGone})
		default: // newPass marked the host as owned already
			bound[ri] = true
			p.bindings = append(p.bindings, Assignment{Machine: e.machine, Host: e.host, Status: StatusKept})
		}
	}

	// 2. Pinned machines, in name order.
	for i, r := range p.reqs {
		if r.Pin != "" && !bound[i] {
			p.bindPinned(r)
		}
	}
	// 3. The others, in name order.
	for i, r := range p.reqs {
		if r.Pin == "" && !bound[i] {
			p.bindAny(r)
		}
	}

	slices.SortFunc(p.bindings, func(a, b Assignment) int { return strings.Compare(a.Machine, b.Machine) })
	slices.SortFunc(p.unbound, func(a, b Unbound) int { return strings.Compare(a.Machine, b.Machine) })
	// p.released is in machine order already.
	return Result{Bindings: p.bindings, Released: p.released, Unbound: p.unbound}
}

func (p *pass) bind(r Request, hi int) {
	p.hosts[hi].owner = r.Machine
	p.bindings = append(p.bindings, Assignment{Machine: r.Machine, Host: p.hosts[hi].h.Metadata.Name, Status: StatusNew})
}

func (p *pass) bindPinned(r Request) {
	hi, ok := p.hostIdx[r.Pin]
	if !ok {
		p.unbound = append(p.unbound, Unbound{Machine: r.Machine, Reason: ReasonPinnedMissing,
			Detail: fmt.Sprintf("serverName %s: no such host", r.Pin)})
		return
	}
	h := &p.hosts[hi]
	if h.owner != "" {
		p.unbound = append(p.unbound, Unbound{Machine: r.Machine, Reason: ReasonPinnedTaken,
			Detail: fmt.Sprintf("%s is bound to machine %s", r.Pin, h.owner)})
		return
	}
	nt := p.nts[r.NodeType]
	var why []string
	if !nt.sel.Matches(labels.Set(h.h.Metadata.Labels)) {
		why = append(why, "does not match "+failedRequirements(nt.sel, h.h.Metadata.Labels))
	}
	why = append(why, p.shortfalls(nt, h)...)
	if len(why) > 0 {
		p.unbound = append(p.unbound, Unbound{Machine: r.Machine, Reason: ReasonPinnedMismatch,
			Detail: fmt.Sprintf("%s %s (node type %s)", r.Pin, strings.Join(why, "; "), nt.nt.Metadata.Name)})
		return
	}
	p.bind(r, hi)
}

func (p *pass) bindAny(r Request) {
	nt := p.nts[r.NodeType]
	if !nt.computed {
		p.computeEligible(nt)
	}
	for nt.cursor < len(nt.eligible) && p.hosts[nt.eligible[nt.cursor]].owner != "" {
		nt.cursor++
	}
	if nt.cursor < len(nt.eligible) {
		p.bind(r, nt.eligible[nt.cursor])
		nt.cursor++
		return
	}
	if nt.why == nil {
		reason, detail := p.whyUnbound(nt)
		nt.why = &Unbound{Reason: reason, Detail: detail}
	}
	p.unbound = append(p.unbound, Unbound{Machine: r.Machine, Reason: nt.why.Reason, Detail: nt.why.Detail})
}

func (p *pass) computeEligible(nt *nodeType) {
	nt.computed = true
	for i := range p.hosts {
		h := &p.hosts[i]
		if nt.sel.Matches(labels.Set(h.h.Metadata.Labels)) && hasResources(nt, h) {
			nt.eligible = append(nt.eligible, i)
		}
	}
}

func hasResources(nt *nodeType, h *host) bool {
	for _, n := range nt.needs {
		if h.res[n.idx].Cmp(n.qty) < 0 {
			return false
		}
	}
	return true
}

// whyUnbound explains why no host is left for a node type whose eligible
// hosts are all taken. When no host is eligible at all it scans the hosts
// again to tell a selector mismatch from too small resources; bindAny keeps
// the answer, so that happens at most once per node type and pass.
func (p *pass) whyUnbound(nt *nodeType) (Reason, string) {
	sel := selectorString(nt)
	if n := len(nt.eligible); n > 0 {
		return ReasonAllTaken, fmt.Sprintf("%s: %s with enough resources, all bound to other machines",
			nt.nt.Metadata.Name, hostCount(n, sel))
	}
	matched, closest, closestShort := 0, -1, 0
	for i := range p.hosts {
		h := &p.hosts[i]
		if !nt.sel.Matches(labels.Set(h.h.Metadata.Labels)) {
			continue
		}
		matched++
		short := 0
		for _, n := range nt.needs {
			if h.res[n.idx].Cmp(n.qty) < 0 {
				short++
			}
		}
		if closest < 0 || short < closestShort {
			closest, closestShort = i, short
		}
	}
	if matched == 0 {
		if len(p.hosts) == 0 {
			return ReasonNoSelectorMatch, fmt.Sprintf("%s: the inventory has no hosts", nt.nt.Metadata.Name)
		}
		return ReasonNoSelectorMatch, fmt.Sprintf("%s: no host matches %s", nt.nt.Metadata.Name, sel)
	}
	h := &p.hosts[closest]
	return ReasonResources, fmt.Sprintf("%s: %s; closest: %s %s", nt.nt.Metadata.Name, hostCount(matched, sel),
		h.h.Metadata.Name, strings.Join(p.shortfalls(nt, h), "; "))
}

// shortfalls describes each resource of nt that h lacks, in resource name order.
func (p *pass) shortfalls(nt *nodeType, h *host) []string {
	var out []string
	for _, n := range nt.needs {
		if h.res[n.idx].Cmp(n.qty) >= 0 {
			continue
		}
		rn := p.resNames[n.idx]
		need := nt.nt.Spec.Resources[rn]
		if have, ok := h.h.Spec.Resources[rn]; ok {
			out = append(out, fmt.Sprintf("has %s %s, needs %s", rn, have, need))
		} else {
			out = append(out, fmt.Sprintf("has no %s, needs %s", rn, need))
		}
	}
	return out
}

// failedRequirements lists the selector's requirements that the labels do not meet.
func failedRequirements(sel labels.Selector, l map[string]string) string {
	reqs, _ := sel.Requirements()
	var failed []string
	for _, r := range reqs {
		if !r.Matches(labels.Set(l)) {
			failed = append(failed, r.String())
		}
	}
	return strings.Join(failed, ", ")
}

func selectorString(nt *nodeType) string {
	if s := nt.sel.String(); s != "" {
		return s
	}
	return "the empty selector"
}

func hostCount(n int, sel string) string {
	if n == 1 {
		return "1 host matches " + sel
	}
	return fmt.Sprintf("%d hosts match %s", n, sel)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare[string])
	return keys
}
