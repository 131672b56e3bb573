package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/alloc/binding"
	"github.com/metalgit/metalgit/schemas"
)

// plan plans the next state of the head's inventory and state, unless the
// memo entry has the plan: a pass at a commit whose state this writer's
// plan wrote (its own state commit, or another writer's commit of the
// same state) takes that plan settled instead of planning it again.
//
// With a cluster, a plan that releases what the cluster still uses (see
// keyCluster) is planned again under a key that says so.
func (r *Reconciler) plan(ctx context.Context, p *passRun) (stepResult, error) {
	if err := r.planEntry(p, p.at); err != nil {
		return proceed, err
	}
	base := p.at
	if err := r.keyCluster(ctx, p); err != nil {
		return proceed, err
	}
	if p.at != base {
		if err := r.planEntry(p, p.at); err != nil {
			return proceed, err
		}
	}
	res := p.res
	res.Plan, res.Summary, res.Changes = p.at.plan, p.at.plan.Summary(), changeLines(p.at.plan)
	return proceed, nil
}

// planEntry plans e unless it holds its plan; Result.Reused.Plan says
// which, for the entry the pass ends at.
func (r *Reconciler) planEntry(p *passRun, e *memoEntry) error {
	p.res.Reused.Plan = e.plan != nil
	if e.plan != nil {
		return nil
	}
	plan, err := alloc.ComputeWith(e.inv, e.state, e.key.allocOptions())
	var problems schemas.Problems
	if errors.As(err, &problems) {
		return r.invalid(p, "state", problems)
	}
	if err != nil {
		return fmt.Errorf("planning at commit %s: %w", p.head, err)
	}
	e.plan = plan
	r.memo.keep(e)
	return nil
}

// keyCluster moves the pass to the memo entry that names what the cluster
// still uses of what the plan releases (asked of Config.Applier, only
// when the plan releases a host's address or a scaled-in machine's
// binding):
//   - hosts that left the inventory while the cluster still holds their
//     BareMetalHosts: their addresses wait until the objects are gone;
//   - hosts of machines no longer requested whose BareMetalHosts still
//     hold (or are being wiped of) the machine's image: binding and
//     address wait until the operator has deprovisioned the host.
func (r *Reconciler) keyCluster(ctx context.Context, p *passRun) error {
	e := p.at
	if r.cfg.Applier == nil || e.key.deleting != "" || e.key.deprovisioning != "" {
		return nil
	}
	var removed, scaledIn []string
	for _, rel := range e.plan.Releases {
		switch {
		case rel.Type == alloc.ReleaseBinding && rel.Reason == string(binding.ReleaseMachineGone):
			scaledIn = append(scaledIn, rel.Host)
		case rel.Type == alloc.ReleaseAllocation:
			if kind, name, _ := schemas.SplitObjectRef(rel.Owner); kind == schemas.KindHost && !hasHost(e.inv, name) {
				removed = append(removed, name)
			}
		}
	}
	if len(removed) == 0 && len(scaledIn) == 0 {
		return nil
	}
	present, err := r.cfg.Applier.BareMetalHosts(ctx, siteOf(e.inv))
	if err != nil {
		return fmt.Errorf("asking the cluster which BareMetalHosts of released hosts remain: %w", err)
	}
	key := e.key
	key.deleting = joinHosts(removed, func(h string) bool { _, ok := present[h]; return ok })
	key.deprovisioning = joinHosts(scaledIn, func(h string) bool { return present[h].HoldsImage() })
	if key != e.key {
		p.at = r.memo.entry(key)
	}
	return nil
}

// joinHosts is the sorted, comma-separated list of the hosts keep keeps.
func joinHosts(hosts []string, keep func(string) bool) string {
	var out []string
	for _, h := range hosts {
		if keep(h) {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ",")
}

func hasHost(inv *schemas.Inventory, name string) bool {
	for _, h := range inv.Hosts {
		if h.Metadata.Name == name {
			return true
		}
	}
	return false
}

// siteOf names the inventory's Site ("" without one).
func siteOf(inv *schemas.Inventory) string {
	if len(inv.Sites) > 0 {
		return inv.Sites[0].Metadata.Name
	}
	return ""
}
