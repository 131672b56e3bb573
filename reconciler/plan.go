package reconciler

import (
	"context"
	"errors"
	"fmt"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/schemas"
)

// plan plans the next state of the head's inventory and state, unless the
// memo entry has the plan: a pass at a commit whose state this writer's
// plan wrote (its own state commit, or another writer's commit of the
// same state) takes that plan settled instead of planning it again.
func (r *Reconciler) plan(_ context.Context, p *passRun) (stepResult, error) {
	e := p.at
	p.res.Reused.Plan = e.plan != nil
	if e.plan == nil {
		plan, err := alloc.Compute(e.inv, e.state)
		var problems schemas.Problems
		if errors.As(err, &problems) {
			return proceed, r.invalid(p, "state", problems)
		}
		if err != nil {
			return proceed, fmt.Errorf("planning at commit %s: %w", p.head, err)
		}
		e.plan = plan
	}
	res := p.res
	res.Plan, res.Summary, res.Changes = e.plan, e.plan.Summary(), changeLines(e.plan)
	return proceed, nil
}
