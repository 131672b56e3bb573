package reconciler

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/fluxcd/pkg/git"
	"github.com/fluxcd/pkg/git/signature"
	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/schemas"
)

// Errors a pass reports; check them with errors.Is.
var (
	// ErrInvalidInventory: the inventory or the state at the branch head has
	// problems, or the state a pass would push does not render (a template
	// fails for a machine it binds); nothing was pushed or rendered.
	ErrInvalidInventory = errors.New("invalid inventory")
	// ErrPushAttempts: every push was rejected because the remote moved.
	ErrPushAttempts = errors.New("push rejected on every attempt")
)

// Result is the outcome of a pass.
type Result struct {
	// SourceCommit is the branch head the final plan was computed from.
	SourceCommit string
	// StateCommit is the state commit pushed; "" when nothing changed.
	StateCommit string
	// Pushed reports whether StateCommit was pushed.
	Pushed bool
	// Deferred reports a pass that left its changes to another writer:
	// this writer follows one whose state commit had already made the
	// changes of its last refused push (Config.FollowWindow). The state
	// commit was made and rendered in the working clone only; nothing
	// was pushed, written to the output or put in Hosts, which is nil.
	// Run the next pass when the branch moves (the other writer's push)
	// or after RetryAfter at the latest: a pass that follows a deferred
	// one pushes whatever is still to change itself.
	Deferred   bool
	RetryAfter time.Duration
	// Attempts counts clone-compute-push rounds (1 without conflicts).
	Attempts int
	// Summary counts the plan's changes; Changes lists them, one line each.
	Summary string
	Changes []string
	// Plan is the final plan.
	Plan *alloc.Plan
	// OutputFiles are the files written to Config.Output.
	OutputFiles []string
	// Hosts is the boot proxy's host table of the final plan.
	Hosts *HostTable
}

// computed is one attempt's checkout and plan.
type computed struct {
	repo *extgogit.Repository
	dir  string // checkout
	root string // inventory root inside the checkout
	// rootInTree is the inventory root's slash-separated path in the tree.
	rootInTree string
	head       string
	// invKey is the inventory's key (inventoryKey); "" when not reusable.
	invKey string
	inv    *schemas.Inventory
	plan   *alloc.Plan
	// state is the hash of the state directory's tree: the head's, then
	// the state commit's once made (the zero hash: no state directory).
	state plumbing.Hash
	fs    *treeFS // of head's tree, made by treeFS
}

// treeFS returns the file system of the head's tree.
func (c *computed) treeFS() (*treeFS, error) {
	if c.fs == nil {
		tree, err := commitTree(c.repo, plumbing.NewHash(c.head))
		if err != nil {
			return nil, err
		}
		c.fs = newTreeFS(c.repo.Storer, tree).confined(c.rootInTree)
	}
	return c.fs, nil
}

// Pass runs one reconcile pass. Errors never carry credentials.
func (r *Reconciler) Pass(ctx context.Context) (*Result, error) {
	return r.PassAt(ctx, "")
}

// PassAt is Pass for a caller that learned from a push event (a signed
// webhook) that the branch is at head. When the working clone holds that
// commit already (the state commit this writer pushed, or the one it made
// and left to another writer: state commits are deterministic) and it is
// the last head fetched or descends from it, the pass starts at head
// without fetching; otherwise, and with head "", it fetches. A stale
// event cannot take the clone back: an older head does not descend from
// the last one fetched.
func (r *Reconciler) PassAt(ctx context.Context, head string) (*Result, error) {
	if err := checkOutput(r.cfg.Output, r.base); err != nil {
		return nil, err
	}
	rem, err := r.resolveRemote()
	if err != nil {
		return nil, fmt.Errorf("reconciling: %w", err)
	}
	sg, secrets, err := r.cfg.Signing.signer()
	if err != nil {
		return nil, redact(fmt.Errorf("reconciling: %w", err), secrets)
	}
	var hint plumbing.Hash
	if plumbing.IsHash(head) {
		hint = plumbing.NewHash(head)
	}
	res, err := r.pass(ctx, rem, sg, hint)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		// Some libraries flatten the error chain; the pass still ended
		// because its context did.
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return res, redact(err, append(rem.secrets, secrets...))
}

func (r *Reconciler) pass(ctx context.Context, rem *remote, sg signature.Signer, hint plumbing.Hash) (*Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, err := r.attempts(ctx, rem, sg, hint)
	if err != nil && !errors.Is(err, ErrInvalidInventory) {
		// The working clone may hold a half-written state: clone afresh.
		r.dropWork()
	}
	return res, err
}

func (r *Reconciler) attempts(ctx context.Context, rem *remote, sg signature.Signer, hint plumbing.Hash) (*Result, error) {
	var pushErr error
	var lastHead string
	// A follower defers at most every other pass, so that changes the
	// writer it follows does not make are pushed by the next pass.
	mayDefer := r.following && !r.deferred && r.cfg.FollowWindow > 0
	r.deferred = false
	for attempt := 1; ; attempt++ {
		c, err := r.checkout(ctx, rem, hint)
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reconciling commit %s: %w", c.head, err)
		}
		hint = plumbing.ZeroHash // a retry fetches
		if pushErr != nil && c.head == lastHead {
			// The remote did not move: the push failed for another reason.
			return nil, fmt.Errorf("pushing state commit: %w", pushErr)
		}
		if res, ok, err := r.settledResult(c, attempt); ok || err != nil {
			return res, err
		}
		if err := r.compute(ctx, c); err != nil {
			return nil, err
		}
		res := &Result{SourceCommit: c.head, Attempts: attempt, Plan: c.plan, Summary: c.plan.Summary(), Changes: changeLines(c.plan)}
		if !c.plan.Changed() {
			if attempt > 1 && !r.following && r.cfg.FollowWindow > 0 {
				// Our push was refused and the state at the new head
				// has every change we had: another writer commits
				// what we plan. Follow it.
				r.following = true
				r.log.Info("another writer committed the same changes; following it", "commit", c.head)
			}
			r.log.Info("state up to date", "commit", c.head)
			return r.finish(ctx, c, res)
		}
		if attempt == 1 && mayDefer {
			return r.deferTo(ctx, c, res, sg)
		}
		if attempt > 1 {
			// A retry push waits a jittered time, so that writers refused
			// together do not push together again. It waits after the
			// fetch and plan, not before: a writer whose changes another
			// writer already committed learns it without waiting.
			if err := r.cfg.Sleep(ctx, r.backoff(attempt-1)); err != nil {
				return nil, fmt.Errorf("waiting to retry the push: %w", err)
			}
		}
		// Nothing is committed once the pass is out of time: a pass
		// either pushes a whole state or nothing.
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("before committing the state: %w", err)
		}
		made, err := r.commit(c, res.Changes, sg, true)
		if err != nil {
			return nil, err
		}
		commit := made.hash
		// A state is pushed only if it renders: a pushed state that did
		// not would fail every later pass, which plans it again and finds
		// nothing to change. The working clone's commit is dropped by the
		// next fetch.
		out, err := r.render(ctx, c, res, commit.String())
		if err != nil {
			return nil, err
		}
		if r.cfg.BeforePush != nil {
			if err := r.cfg.BeforePush(ctx, attempt); err != nil {
				return nil, fmt.Errorf("before push: %w", err)
			}
		}
		pushErr = r.push(ctx, c.repo, rem, plumbing.NewHash(c.head), commit, made.objects)
		if pushErr == nil {
			res.StateCommit, res.Pushed = commit.String(), true
			hosts := *res.Hosts
			hosts.StateCommit = res.StateCommit
			res.Hosts = &hosts
			if r.following {
				r.following = false
				r.log.Info("pushed a state commit of our own; no longer following", "commit", commit)
			}
			r.log.Info("pushed state commit", "commit", commit, "source", c.head, "attempt", attempt)
			return r.publish(ctx, c, res, out)
		}
		r.log.Info("push rejected; refetching", "source", c.head, "attempt", attempt, "error", redact(pushErr, rem.secrets))
		if attempt >= r.cfg.MaxPushAttempts {
			return nil, fmt.Errorf("%w (%d attempts): last: %w", ErrPushAttempts, attempt, pushErr)
		}
		lastHead = c.head
	}
}

// deferTo ends a pass of a follower that has changes to make: it makes
// the state commit a push would make, leaving the branch where it is,
// and renders it into the caches while the writer it follows pushes. The
// next pass, at that writer's commit of the same state, then finds the
// commit stored (commits are deterministic), and the state read, planned
// and rendered. Nothing is published: the state is not on the branch.
func (r *Reconciler) deferTo(ctx context.Context, c *computed, res *Result, sg signature.Signer) (*Result, error) {
	made, err := r.commit(c, res.Changes, sg, false)
	if err != nil {
		return nil, err
	}
	if _, err := r.render(ctx, c, res, made.hash.String()); err != nil {
		return nil, err
	}
	res.Hosts = nil
	res.Deferred, res.RetryAfter = true, r.cfg.FollowWindow
	r.deferred = true
	r.log.Info("leaving the state commit to the writer this one follows", "source", c.head, "retry_after", r.cfg.FollowWindow)
	return res, nil
}

// compute loads and validates the inventory (reused when only the state
// changed since the last load) and the state of the checkout, and plans
// the next state.
func (r *Reconciler) compute(ctx context.Context, c *computed) error {
	inv, err := r.inventory(ctx, c)
	if err != nil {
		return err
	}
	prev, problems, err := r.readState(c)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return invalid(c, "state", problems)
	}
	plan, err := r.plan(inv, prev)
	if errors.As(err, &problems) {
		return invalid(c, "state", problems)
	}
	if err != nil {
		return fmt.Errorf("planning at commit %s: %w", c.head, err)
	}
	c.inv, c.plan = inv, plan
	return nil
}

// invalid reports problems with paths relative to the repository.
func invalid(c *computed, what string, problems schemas.Problems) error {
	problems.Sort()
	count := len(problems)
	problems = problems.Truncate(schemas.MaxProblems)
	lines := make([]string, len(problems))
	for i, p := range problems {
		if rel, err := filepath.Rel(c.dir, p.File); err == nil && p.File != "" {
			p.File = rel
		}
		lines[i] = "  " + p.String()
	}
	return fmt.Errorf("%w: %s at commit %s has %d problem(s); nothing committed:\n%s",
		ErrInvalidInventory, what, c.head, count, strings.Join(lines, "\n"))
}

// commit makes the state commit of the plan's next state on the
// checked-out head: the head's tree with the state files that changed,
// and nothing else, built without a scan or a write of the work tree.
// With move the branch moves to it (commitFiles). c.state becomes the
// commit's state tree, which a pass that finds the same tree takes as the
// plan's next state without reading it (r.wrote).
//
// The commit is dated with the head's committer date, not the clock: the
// same head, inventory and configuration give the same commit, byte for
// byte, on every writer, so a writer that fetches another's commit of
// the state it computed already has it, and the fetch transfers nothing.
func (r *Reconciler) commit(c *computed, changes []string, sg signature.Signer, move bool) (*madeCommit, error) {
	dir := r.stateDirInTree()
	files := map[string][]byte{}
	for name, data := range state.Marshal(c.plan.Next) {
		files[path.Join(dir, name)] = data
	}
	source, err := c.repo.CommitObject(plumbing.NewHash(c.head))
	if err != nil {
		return nil, fmt.Errorf("committing state: reading commit %s: %w", c.head, err)
	}
	who := object.Signature{Name: r.cfg.AuthorName, Email: r.cfg.AuthorEmail, When: source.Committer.When}
	made, err := r.work.commitFiles(files, commitMessage(c.plan, changes, c.head), who, sg, move)
	if errors.Is(err, errNothingToCommit) {
		err = git.ErrNoStagedFiles
	}
	if err != nil {
		return nil, fmt.Errorf("committing state: %w", err)
	}
	c.state = made.trees[dir]
	r.wrote(c)
	return made, nil
}

// stateDirInTree is the slash-separated path of the state directory in
// the repository's tree.
func (r *Reconciler) stateDirInTree() string {
	return path.Join(filepath.ToSlash(r.cfg.Path), filepath.ToSlash(r.cfg.StateDir))
}

// finish renders the state of a pass that changed nothing (unless the
// last render had the same inventory and state), writes it to the output
// folder and settles the pass. It runs under r.mu, which serialises the
// uses of r.cache, r.out, r.rendered and r.settled.
func (r *Reconciler) finish(ctx context.Context, c *computed, res *Result) (*Result, error) {
	out, err := r.render(ctx, c, res, res.SourceCommit)
	if err != nil {
		return nil, err
	}
	return r.publish(ctx, c, res, out)
}

// publish writes the rendered manifests out to the output folder and
// settles a pass that changed nothing; a pass out of time writes nothing.
// It runs under r.mu.
func (r *Reconciler) publish(ctx context.Context, c *computed, res *Result, out []byte) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("before writing the output: %w", err)
	}
	if r.cfg.Output != "" {
		files, err := r.out.Write(out)
		if err != nil {
			return nil, err
		}
		res.OutputFiles = files
	}
	r.settle(c, res, out)
	return res, nil
}
