package reconciler

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/reconciler/internal/gitrepo"
	"github.com/metalgit/metalgit/schemas"
)

// load gives the head's memo entry its validated inventory and its state,
// unless an entry with the same inventory or state tree had them.
//
// The inventory is loaded from the commit's tree in the object store,
// confined to the inventory root (nothing is checked out): a plain
// directory reading and parsing only the files whose blobs were not
// parsed before (r.parse), a kustomization built from an in-memory copy
// of the root; then validated, in full only for the hosts that changed
// (r.validated).
func (r *Reconciler) load(ctx context.Context, p *passRun) (stepResult, error) {
	e, reuse := p.at, &p.res.Reused
	*reuse = Reuse{Inventory: e.inv != nil, State: e.state != nil}
	if e.inv == nil {
		tfs, err := r.headFS(p)
		if err != nil {
			return proceed, err
		}
		opts := schemas.LoadOptions{StateDir: r.cfg.StateDir, Cache: &r.parse, FS: tfs, ContentKey: tfs.BlobKey, Context: ctx}
		inv, problems, err := schemas.Load(r.rootInTree(), opts)
		if err != nil {
			return proceed, fmt.Errorf("loading inventory at commit %s: %w", p.head, err)
		}
		problems = append(problems, inv.ValidateWith(&r.validated)...)
		st := r.parse.Stats()
		reuse.FilesParsed, reuse.FilesReused, reuse.HostsValidated = st.Misses, st.Hits, r.validated.Checked()
		r.log.Debug("loaded inventory", "commit", p.head, "parsed", st.Misses, "reused", st.Hits, "read", st.Read, "hosts_checked", r.validated.Checked())
		if len(problems) > 0 {
			return proceed, r.invalid(p, "inventory", problems)
		}
		e.inv = inv
	}
	if e.state == nil {
		tfs, err := r.headFS(p)
		if err != nil {
			return proceed, err
		}
		st, problems, err := state.ReadFS(tfs, r.stateDirInTree())
		if err != nil {
			return proceed, fmt.Errorf("reading state at commit %s: %w", p.head, err)
		}
		if len(problems) > 0 {
			return proceed, r.invalid(p, "state", problems)
		}
		e.state = st
	}
	r.memo.keep(e)
	return proceed, nil
}

// headFS returns the file system of the head's tree, confined to the
// inventory root.
func (r *Reconciler) headFS(p *passRun) (*gitrepo.TreeFS, error) {
	if p.fs == nil {
		tfs, err := r.clone.FS(p.head, r.rootInTree())
		if err != nil {
			return nil, fmt.Errorf("reading the tree of commit %s: %w", p.head, err)
		}
		p.fs = tfs
	}
	return p.fs, nil
}

// invalid reports problems with paths relative to the repository.
func (r *Reconciler) invalid(p *passRun, what string, problems schemas.Problems) error {
	problems.Sort()
	count := len(problems)
	problems = problems.Truncate(schemas.MaxProblems)
	lines := make([]string, len(problems))
	for i, pr := range problems {
		if rel, err := filepath.Rel(r.clone.Dir(), pr.File); err == nil && pr.File != "" {
			pr.File = rel
		}
		lines[i] = "  " + pr.String()
	}
	return fmt.Errorf("%w: %s at commit %s has %d problem(s); nothing committed:\n%s",
		ErrInvalidInventory, what, p.head, count, strings.Join(lines, "\n"))
}

// rootInTree is the slash-separated path of the inventory root in the
// repository's tree.
func (r *Reconciler) rootInTree() string {
	return path.Clean(filepath.ToSlash(r.cfg.Path))
}

// stateDirInTree is the slash-separated path of the state directory in
// the repository's tree.
func (r *Reconciler) stateDirInTree() string {
	return path.Join(r.rootInTree(), filepath.ToSlash(r.cfg.StateDir))
}
