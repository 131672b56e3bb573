package reconciler

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

// settledPass is the last pass that found the state up to date. The
// commit it ran at names every file it read, so a later pass that fetches
// the same commit has the same plan and render: it returns this result
// without reading a file (the output folder is still checked, and
// rewritten when something changed it since). Only passes whose
// inventory was keyed (no kustomization at the inventory root, whose
// build may read what the commit does not hold) settle.
type settledPass struct {
	head   string
	res    *Result
	stream []byte // the rendered manifests written to the output
}

// lastRender is the last render: the manifests of an inventory (the very
// object a load returned; reused loads return the same one) and of the
// state directory's tree. A pass with the same two renders the same
// manifests, so it skips rendering: typically the pass after a state
// commit, which plans that commit's state again and finds nothing to do.
type lastRender struct {
	inv    *schemas.Inventory
	state  plumbing.Hash
	stream []byte
	hosts  *HostTable // of the same inventory and state
}

// lastState is the state read last, and the tree of the state directory
// it was read from. state.Read's result is never modified (planning
// builds a new state), so a pass whose state directory has the same tree
// takes it as it is.
type lastState struct {
	tree  plumbing.Hash
	state *state.State
}

// lastPlan is the last plan and what it was planned from. state.State
// and the inventory are never modified, so a plan from the same two is
// the same plan, and a plan from this one's next state is its Settled().
type lastPlan struct {
	inv  *schemas.Inventory
	prev *state.State
	plan *alloc.Plan
}

// plan plans the next state of inv from prev. A pass at a commit whose
// state a plan of this writer wrote (its own state commit, or another
// writer's commit of the same state) takes that plan settled instead of
// planning it again.
func (r *Reconciler) plan(inv *schemas.Inventory, prev *state.State) (*alloc.Plan, error) {
	if lp := r.lastPlan; lp != nil && lp.inv == inv {
		switch prev {
		case lp.prev:
			return lp.plan, nil
		case lp.plan.Next:
			p := lp.plan.Settled()
			r.lastPlan = &lastPlan{inv: inv, prev: prev, plan: p}
			return p, nil
		}
	}
	r.lastPlan = nil
	p, err := alloc.Compute(inv, prev)
	if err != nil {
		return nil, err
	}
	r.lastPlan = &lastPlan{inv: inv, prev: prev, plan: p}
	return p, nil
}

// wrote records that the state commit just made holds the plan's next
// state, so that a pass whose state directory has that commit's tree
// (c.state) takes the state as it is instead of reading the files again.
func (r *Reconciler) wrote(c *computed) {
	r.lastState = &lastState{tree: c.state, state: c.plan.Next}
}

// settledResult returns the settled pass's result when c is at its
// commit; ok is false when the pass must run.
func (r *Reconciler) settledResult(c *computed, attempt int) (res *Result, ok bool, err error) {
	s := r.settled
	if s == nil || s.head != c.head {
		return nil, false, nil
	}
	copied := *s.res
	copied.Attempts = attempt
	copied.Changes = slices.Clone(s.res.Changes)
	if r.cfg.Output != "" {
		files, err := r.out.Write(s.stream)
		if err != nil {
			return nil, false, err
		}
		copied.OutputFiles = files
	}
	r.log.Debug("state up to date; commit already reconciled", "commit", c.head)
	return &copied, true, nil
}

// settle records res, a pass that found nothing to change, as settled.
func (r *Reconciler) settle(c *computed, res *Result, stream []byte) {
	r.settled = nil
	if c.invKey == "" || res.Pushed {
		return
	}
	kept := *res
	kept.Changes = slices.Clone(res.Changes)
	kept.OutputFiles = nil
	r.settled = &settledPass{head: c.head, res: &kept, stream: stream}
}

// render renders the plan's next state, which is the state directory
// c.state of commit (the source commit, or the state commit made), and
// builds its host table, unless the last render had the same inventory
// and state: then its manifests and host entries are taken as they are.
func (r *Reconciler) render(ctx context.Context, c *computed, res *Result, commit string) ([]byte, error) {
	st := c.state
	if lr := r.rendered; lr != nil && lr.inv == c.inv && lr.state == st {
		r.log.Debug("rendered manifests unchanged", "commit", commit)
		hosts := *lr.hosts
		hosts.SourceCommit, hosts.StateCommit = res.SourceCommit, res.StateCommit
		res.Hosts = &hosts
		return lr.stream, nil
	}
	r.rendered = nil
	if err := r.checkoutOverlay(c); err != nil {
		return nil, err
	}
	out, err := render.Render(render.Input{Inventory: c.inv, State: c.plan.Next, Root: c.root}, render.Options{Cache: &r.cache, ReuseHosts: true, Context: ctx})
	var problems schemas.Problems
	if errors.As(err, &problems) {
		return nil, invalid(c, "inventory", problems)
	}
	if err != nil {
		return nil, fmt.Errorf("rendering commit %s: %w", commit, err)
	}
	stats := r.cache.Stats()
	r.log.Debug("rendered", "commit", commit, "bytes", len(out), "cache_hits", stats.Hits, "cache_misses", stats.Misses, "hosts_reused", stats.ReusedHosts, "hits_by_identity", stats.ByIdentity)
	res.Hosts = newHostTable(c.inv, c.plan, res.SourceCommit, res.StateCommit)
	if c.invKey != "" {
		r.rendered = &lastRender{inv: c.inv, state: st, stream: out, hosts: res.Hosts}
	}
	return out, nil
}

// readState reads the state directory of the checkout, unless its tree is
// the one read last.
func (r *Reconciler) readState(c *computed) (*state.State, schemas.Problems, error) {
	tree, err := r.stateTree(c, c.head)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the state tree of commit %s: %w", c.head, err)
	}
	c.state = tree
	if ls := r.lastState; ls != nil && ls.tree == tree {
		return ls.state, nil, nil
	}
	r.lastState = nil
	tfs, err := c.treeFS()
	if err != nil {
		return nil, nil, fmt.Errorf("reading the tree of commit %s: %w", c.head, err)
	}
	st, problems, err := state.ReadFS(tfs, r.stateDirInTree())
	if err != nil {
		return nil, nil, fmt.Errorf("reading state at commit %s: %w", c.head, err)
	}
	if len(problems) == 0 {
		r.lastState = &lastState{tree: tree, state: st}
	}
	return st, problems, nil
}

// stateTree returns the hash of the state directory's tree in commit;
// the zero hash when the commit has none.
func (r *Reconciler) stateTree(c *computed, commit string) (plumbing.Hash, error) {
	tree, err := commitTree(c.repo, plumbing.NewHash(commit))
	if err != nil {
		return plumbing.ZeroHash, err
	}
	sub, err := tree.Tree(r.stateDirInTree())
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return sub.Hash, nil
}

// checkoutOverlay brings the work tree to the head when the head, or the
// commit the work tree holds, has an output kustomization, which
// kustomize reads from the work tree; otherwise the work tree has none
// and needs none.
func (r *Reconciler) checkoutOverlay(c *computed) error {
	overlay := path.Join(r.rootInTree(), render.DefaultOutputKustomization)
	w := r.work
	for _, commit := range []plumbing.Hash{plumbing.NewHash(c.head), w.at} {
		if commit.IsZero() {
			continue
		}
		tree, err := commitTree(w.repo, commit)
		if err != nil {
			return fmt.Errorf("reading the tree of commit %s: %w", commit, err)
		}
		if _, err := tree.FindEntry(overlay); err == nil {
			return w.sync(plumbing.NewHash(c.head))
		}
	}
	return nil
}
