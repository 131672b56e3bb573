package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/schemas"
)

// plan plans the next state of the head's inventory and state, unless the
// memo entry has the plan: a pass at a commit whose state this writer's
// plan wrote (its own state commit, or another writer's commit of the
// same state) takes that plan settled instead of planning it again.
func (r *Reconciler) plan(ctx context.Context, p *passRun) (stepResult, error) {
	if err := r.keyDeleting(ctx, p); err != nil {
		return proceed, err
	}
	e := p.at
	p.res.Reused.Plan = e.plan != nil
	if e.plan == nil {
		plan, err := alloc.ComputeWith(e.inv, e.state, alloc.Options{Deleting: e.key.deletingHosts()})
		var problems schemas.Problems
		if errors.As(err, &problems) {
			return proceed, r.invalid(p, "state", problems)
		}
		if err != nil {
			return proceed, fmt.Errorf("planning at commit %s: %w", p.head, err)
		}
		e.plan = plan
		r.memo.keep(e)
	}
	res := p.res
	res.Plan, res.Summary, res.Changes = e.plan, e.plan.Summary(), changeLines(e.plan)
	return proceed, nil
}

// keyDeleting moves the pass to the memo entry that names the hosts which
// left the inventory while the cluster still holds their BareMetalHosts
// (asked of Config.Applier, only when the state holds such a host): their
// addresses wait until the objects are gone.
func (r *Reconciler) keyDeleting(ctx context.Context, p *passRun) error {
	e := p.at
	if r.cfg.Applier == nil || e.key.deleting != "" {
		return nil
	}
	var removed []string
	for _, a := range e.state.Allocations {
		if kind, name, _ := schemas.SplitObjectRef(a.Owner); kind == schemas.KindHost && !hasHost(e.inv, name) {
			removed = append(removed, name)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	present, err := r.cfg.Applier.BareMetalHosts(ctx, siteOf(e.inv))
	if err != nil {
		return fmt.Errorf("asking the cluster which BareMetalHosts of removed hosts remain: %w", err)
	}
	var still []string
	for _, h := range removed {
		if present[h] {
			still = append(still, h)
		}
	}
	if len(still) == 0 {
		return nil
	}
	slices.Sort(still)
	key := e.key
	key.deleting = strings.Join(slices.Compact(still), ",")
	p.at = r.memo.entry(key)
	return nil
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
