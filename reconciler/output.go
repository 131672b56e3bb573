package reconciler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

// render gives the pass its manifests and host table: those of its memo
// entry, rendered now unless an earlier pass (or this one's commit step)
// rendered the same inventory and state.
func (r *Reconciler) render(ctx context.Context, p *passRun) (stepResult, error) {
	res := p.res
	res.Reused.Render = p.at.stream != nil && !p.rendered
	if err := r.renderEntry(ctx, p, cmp.Or(res.StateCommit, res.SourceCommit)); err != nil {
		return proceed, err
	}
	hosts := *p.at.hosts
	hosts.SourceCommit, hosts.StateCommit = res.SourceCommit, res.StateCommit
	res.Hosts = &hosts
	return proceed, nil
}

// renderEntry renders the memo entry's state (the plan's next), which is
// that of commit, and builds its host table, unless the entry has them.
func (r *Reconciler) renderEntry(ctx context.Context, p *passRun, commit string) error {
	e := p.at
	if e.stream != nil {
		r.log.Debug("rendered manifests unchanged", "commit", commit)
		return nil
	}
	if err := r.checkoutOverlay(p.head); err != nil {
		return err
	}
	root := filepath.Join(r.clone.Dir(), r.cfg.Path)
	out, err := render.Render(render.Input{Inventory: e.inv, State: e.plan.Next, Root: root}, render.Options{Cache: &r.cache, Context: ctx})
	var problems schemas.Problems
	if errors.As(err, &problems) {
		return r.invalid(p, "inventory", problems)
	}
	if err != nil {
		return fmt.Errorf("rendering commit %s: %w", commit, err)
	}
	stats := r.cache.Stats()
	p.rendered = true
	p.res.Reused.HostsReused = stats.ReusedHosts
	p.res.Reused.HostsRendered = len(e.inv.Hosts) - stats.ReusedHosts
	r.log.Debug("rendered", "commit", commit, "bytes", len(out), "cache_hits", stats.Hits, "cache_misses", stats.Misses, "hosts_reused", stats.ReusedHosts)
	e.stream, e.hosts = out, newHostTable(e.inv, e.plan, "", "")
	return nil
}

// checkoutOverlay brings the work tree to head when head, or the commit
// the work tree holds, has an output kustomization, which kustomize reads
// from the work tree; otherwise the work tree has none and needs none.
func (r *Reconciler) checkoutOverlay(head plumbing.Hash) error {
	overlay := path.Join(r.rootInTree(), render.DefaultOutputKustomization)
	for _, commit := range []plumbing.Hash{head, r.clone.CheckedOut()} {
		if commit.IsZero() {
			continue
		}
		has, err := r.clone.HasPath(commit, overlay)
		if err != nil {
			return fmt.Errorf("reading the tree of commit %s: %w", commit, err)
		}
		if has {
			return r.clone.Checkout(head)
		}
	}
	return nil
}

// publish writes the rendered manifests to the output folder; a pass out
// of time writes nothing. An unchanged folder is left alone.
func (r *Reconciler) publish(ctx context.Context, p *passRun) (stepResult, error) {
	if err := ctx.Err(); err != nil {
		return proceed, fmt.Errorf("before writing the output: %w", err)
	}
	if r.cfg.Output != "" {
		files, err := r.out.Write(p.at.stream)
		if err != nil {
			return proceed, err
		}
		p.res.OutputFiles = files
	}
	return proceed, nil
}

// apply applies the rendered manifests to the cluster, on every pass,
// even one that reused everything: a watch there tells the applier what
// changed, so a pass with nothing to change sends nothing.
func (r *Reconciler) apply(ctx context.Context, p *passRun) (stepResult, error) {
	if r.cfg.Applier == nil {
		return finished, nil
	}
	res, err := r.cfg.Applier.Apply(ctx, siteOf(p.at.inv), p.at.stream)
	p.res.Applied = res
	if err != nil {
		return finished, fmt.Errorf("applying commit %s: %w", cmp.Or(p.res.StateCommit, p.res.SourceCommit), err)
	}
	return finished, nil
}
