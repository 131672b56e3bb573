package reconciler

import (
	"context"
	"fmt"
	"path"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/reconciler/internal/gitrepo"
)

// commitAndPush commits the plan's next state on the head and pushes it
// with a compare-and-swap. A state is pushed only if it renders: a
// pushed state that did not would fail every later pass. When another
// writer moved the branch first, it fetches, loads and plans again at the
// new head and retries after a jittered backoff, at most
// Config.MaxPushAttempts times. A retry that finds its changes made by the
// other writer follows that writer (Config.FollowWindow): the follower's
// next pass with changes leaves them to it (deferTo).
func (r *Reconciler) commitAndPush(ctx context.Context, p *passRun) (stepResult, error) {
	// A follower defers at most every other pass, so that changes the
	// writer it follows does not make are pushed by the next pass.
	mayDefer := r.following && !r.deferred && r.cfg.FollowWindow > 0
	r.deferred = false
	start := r.seams.clock.Now()
	for {
		if !p.at.plan.Changed() {
			if p.attempt > 1 && !r.following && r.cfg.FollowWindow > 0 {
				// Our push was refused and the state at the new head
				// has every change we had: another writer commits
				// what we plan. Follow it.
				r.following = true
				r.log.Info("another writer committed the same changes; following it", "commit", p.head)
			}
			r.log.Info("state up to date", "commit", p.head)
			return proceed, nil
		}
		if p.attempt == 1 && mayDefer {
			return r.deferTo(ctx, p)
		}
		if p.attempt > 1 {
			// A retry push waits after the fetch and plan, not before: a
			// writer whose changes another writer already committed
			// learns it without waiting.
			if err := r.seams.sleep(ctx, r.backoff(p.attempt-1)); err != nil {
				return proceed, fmt.Errorf("waiting to retry the push: %w", err)
			}
		}
		// Nothing is committed once the pass is out of time: a pass
		// either pushes a whole state or nothing.
		if err := ctx.Err(); err != nil {
			return proceed, fmt.Errorf("before committing the state: %w", err)
		}
		source := p.head
		made, err := r.commitState(p, true)
		if err != nil {
			return proceed, err
		}
		if err := r.renderEntry(ctx, p, made.Hash.String()); err != nil {
			return proceed, err
		}
		if r.seams.beforePush != nil {
			if err := r.seams.beforePush(ctx, p.attempt); err != nil {
				return proceed, fmt.Errorf("before push: %w", err)
			}
		}
		pushErr := r.clone.PushCAS(ctx, source, made)
		if pushErr == nil {
			p.res.StateCommit, p.res.Pushed = made.Hash.String(), true
			p.res.CommitDuration = r.seams.clock.Since(start)
			if r.following {
				r.following = false
				r.log.Info("pushed a state commit of our own; no longer following", "commit", made.Hash)
			}
			r.log.Info("pushed state commit", "commit", made.Hash, "source", source, "attempt", p.attempt)
			return proceed, nil
		}
		r.log.Info("push rejected; refetching", "source", source, "attempt", p.attempt, "error", gitrepo.Redact(pushErr, p.secrets))
		if p.attempt >= r.cfg.MaxPushAttempts {
			return proceed, fmt.Errorf("%w (%d attempts): last: %w", ErrPushAttempts, p.attempt, pushErr)
		}
		if err := r.refetch(ctx, p, source, pushErr); err != nil {
			return proceed, err
		}
	}
}

// refetch runs the fetch, load and plan steps again after a refused push
// of a state commit made on source.
func (r *Reconciler) refetch(ctx context.Context, p *passRun, source plumbing.Hash, pushErr error) error {
	if _, err := r.step(ctx, p, step{StageFetch, r.fetch}); err != nil {
		return err
	}
	if p.head == source {
		// The remote did not move: the push failed for another reason.
		return fmt.Errorf("pushing state commit: %w", pushErr)
	}
	for _, s := range []step{{StageLoad, r.load}, {StagePlan, r.plan}} {
		if _, err := r.step(ctx, p, s); err != nil {
			return err
		}
	}
	return nil
}

// deferTo ends a pass of a follower that has changes to make: it makes
// the state commit a push would make, leaving the branch where it is,
// and renders it into the memo while the writer it follows pushes. The
// next pass, at that writer's commit of the same state, then finds the
// commit stored (commits are deterministic), and the state read, planned
// and rendered. Nothing is published: the state is not on the branch.
func (r *Reconciler) deferTo(ctx context.Context, p *passRun) (stepResult, error) {
	made, err := r.commitState(p, false)
	if err != nil {
		return proceed, err
	}
	if err := r.renderEntry(ctx, p, made.Hash.String()); err != nil {
		return proceed, err
	}
	p.res.Deferred, p.res.RetryAfter = true, r.cfg.FollowWindow
	r.deferred = true
	r.log.Info("leaving the state commit to the writer this one follows", "source", p.head, "retry_after", r.cfg.FollowWindow)
	return finished, nil
}

// commitState makes the state commit of the plan's next state on the
// head: the head's tree with the state files that changed, and nothing
// else. With move the branch moves to it. The commit's memo entry (its
// state is the plan's next, planned settled) becomes the pass's.
//
// The commit is dated with the head's committer date, not the clock: the
// same head, inventory and configuration give the same commit, byte for
// byte, on every writer, so a writer that fetches another's commit of
// the state it computed already has it, and the fetch transfers nothing.
func (r *Reconciler) commitState(p *passRun, move bool) (*gitrepo.Commit, error) {
	plan := p.at.plan
	dir := r.stateDirInTree()
	files := map[string][]byte{}
	for name, data := range state.Marshal(plan.Next) {
		files[path.Join(dir, name)] = data
	}
	when, err := r.clone.CommitTime(p.head)
	if err != nil {
		return nil, fmt.Errorf("committing state: %w", err)
	}
	who := object.Signature{Name: r.cfg.AuthorName, Email: r.cfg.AuthorEmail, When: when}
	made, err := r.clone.Commit(files, commitMessage(plan, p.res.Changes, p.head.String()), who, p.signer, move)
	if err != nil {
		return nil, fmt.Errorf("committing state: %w", err)
	}
	// The settled plan holds for the same hosts still being deleted.
	next := r.memo.entry(memoKey{inventory: p.at.key.inventory, state: made.Trees[dir], deleting: p.at.key.deleting,
		deprovisioning: p.at.key.deprovisioning})
	if next.inv == nil {
		next.inv = p.at.inv
	}
	if next.state == nil {
		next.state = plan.Next
	}
	if next.plan == nil {
		next.plan = plan.Settled()
	}
	r.memo.keep(next)
	p.at = next
	return made, nil
}
