package reconciler

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/metalgit/metalgit/reconciler/internal/gitrepo"
)

// fetch brings the working clone to the newest commit of the branch: a
// fetch when the clone can be reused, else a clone. A head a push event
// named (PassAt) is taken without a fetch when the clone holds it and it
// descends from the last head fetched. It also sets the memo entry of
// the head.
func (r *Reconciler) fetch(ctx context.Context, p *passRun) (stepResult, error) {
	p.attempt++
	p.res.Attempts = p.attempt
	hint := p.hint
	p.hint = plumbing.ZeroHash // a retry fetches
	head, err := r.fetchHead(ctx, p.rem, hint)
	if err != nil {
		return proceed, err
	}
	if !hint.IsZero() {
		p.res.FastForward = head == hint
	}
	p.head, p.fs, p.rendered = head, nil, false
	if err := ctx.Err(); err != nil {
		return proceed, fmt.Errorf("reconciling commit %s: %w", head, err)
	}
	key, err := r.memoKey(head)
	if err != nil {
		return proceed, fmt.Errorf("reading the tree of commit %s: %w", head, err)
	}
	p.at = r.memo.entry(key)
	p.res.SourceCommit = head.String()
	return proceed, nil
}

func (r *Reconciler) fetchHead(ctx context.Context, rem *gitrepo.Remote, hint plumbing.Hash) (plumbing.Hash, error) {
	if r.base == "" {
		return plumbing.ZeroHash, errors.New("reconciler is closed")
	}
	if r.clone != nil && !r.clone.Reusable(rem) {
		r.dropClone()
	}
	if r.clone == nil {
		return r.cloneAfresh(ctx, rem)
	}
	if r.clone.FastForward(hint) {
		r.log.Debug("took the head the push event named, without fetching", "commit", hint)
		return hint, nil
	}
	head, err := r.clone.Fetch(ctx)
	if err != nil {
		// Start afresh: a clone reports the remote's errors as well.
		r.log.Info("updating the working clone failed; cloning afresh", "error", gitrepo.Redact(err, rem.Secrets))
		r.dropClone()
		return r.cloneAfresh(ctx, rem)
	}
	return head, nil
}

func (r *Reconciler) cloneAfresh(ctx context.Context, rem *gitrepo.Remote) (plumbing.Hash, error) {
	repo, head, err := gitrepo.Clone(ctx, filepath.Join(r.base, "clone"), rem, r.cfg.Branch)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	r.clone = repo
	return head, nil
}

// dropClone discards the working clone; the next pass clones afresh.
func (r *Reconciler) dropClone() {
	if r.clone != nil {
		_ = r.clone.Remove()
		r.clone = nil
	}
}

// memoKey is the memo key of commit.
func (r *Reconciler) memoKey(commit plumbing.Hash) (memoKey, error) {
	inv, err := r.clone.KeyWithout(commit, r.stateDirInTree())
	if err != nil {
		return memoKey{}, err
	}
	st, err := r.clone.SubtreeHash(commit, r.stateDirInTree())
	if err != nil {
		return memoKey{}, err
	}
	return memoKey{inventory: inv, state: st}, nil
}
