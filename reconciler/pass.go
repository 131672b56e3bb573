package reconciler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/git/signature"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/reconciler/internal/gitrepo"
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

// Stage names a step of a pass.
type Stage string

// The steps of a pass, in order.
const (
	// StageConfig reads what a pass needs before it starts: the output
	// folder's check, the remote's credentials and the signing key.
	StageConfig Stage = "config"
	// StageFetch brings the working clone to the branch head.
	StageFetch Stage = "fetch"
	// StageLoad loads and validates the inventory and reads the state.
	StageLoad Stage = "load"
	// StagePlan binds and allocates: the state's next version.
	StagePlan Stage = "plan"
	// StageCommit commits the next state and pushes it, fetching, loading
	// and planning again when another writer moved the branch.
	StageCommit Stage = "commit"
	// StageRender renders the manifests and the host table.
	StageRender Stage = "render"
	// StagePublish writes the output folder.
	StagePublish Stage = "publish"
	// StageApply applies the manifests to the cluster (Config.Applier).
	StageApply Stage = "apply"
)

// PassError is a failed pass: the step it failed in, the commit it was at
// ("" before the first fetch) and why. Err's text has no credentials in
// it; errors.Is and errors.As see through it (ErrInvalidInventory,
// ErrPushAttempts, context.DeadlineExceeded).
type PassError struct {
	Stage  Stage
	Commit string
	Err    error
}

func (e *PassError) Error() string { return e.Err.Error() }
func (e *PassError) Unwrap() error { return e.Err }

// Result is the outcome of a pass.
type Result struct {
	// SourceCommit is the branch head the final plan was computed from.
	SourceCommit string
	// StateCommit is the state commit pushed; "" when nothing changed.
	StateCommit string
	// Pushed reports whether StateCommit was pushed.
	Pushed bool
	// CommitDuration is the time from the start of the commit step to the
	// state commit pushed: committing, rendering the new state, pushing,
	// and the fetches, plans and waits of conflict retries. 0 unless
	// Pushed.
	CommitDuration time.Duration
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
	// Attempts counts fetch-compute-push rounds (1 without conflicts).
	Attempts int
	// FastForward reports that the pass started at the head its caller
	// named (PassAt) without fetching: the working clone had it.
	FastForward bool
	// Summary counts the plan's changes; Changes lists them, one line each.
	Summary string
	Changes []string
	// Plan is the final plan.
	Plan *alloc.Plan
	// OutputFiles are the files written to Config.Output.
	OutputFiles []string
	// Hosts is the boot proxy's host table of the final plan.
	Hosts *HostTable
	// Following reports that this writer follows another after the pass
	// (see Config.FollowWindow).
	Following bool
	// Reused says what the final attempt took from earlier passes
	// instead of computing it.
	Reused Reuse
	// Applied is what the pass did to the cluster; nil without
	// Config.Applier. A pass whose apply failed for some objects returns
	// it with its PassError (see ApplyResult).
	Applied *apply.Result
}

// Reuse counts what a pass took from earlier passes (see memo).
type Reuse struct {
	// Inventory: the validated inventory was taken whole, no file read.
	// Otherwise FilesParsed files were parsed and FilesReused taken
	// parsed, and HostsValidated hosts were validated in full.
	Inventory                                bool
	FilesParsed, FilesReused, HostsValidated int
	// State: the state directory was not read; Plan: nor planned again.
	State, Plan bool
	// Render: the manifests and host table were taken whole. Otherwise
	// HostsRendered hosts were rendered and HostsReused taken rendered.
	Render                     bool
	HostsRendered, HostsReused int
}

// stepResult says whether a pass goes on to its next step.
type stepResult int

const (
	proceed  stepResult = iota // run the next step
	finished                   // the pass is done: its Result is complete
)

// step is one named step of a pass.
type step struct {
	stage Stage
	run   func(context.Context, *passRun) (stepResult, error)
}

// passRun is what the steps of one pass share.
type passRun struct {
	rem    *gitrepo.Remote
	signer signature.Signer
	// secrets are the credentials read, stripped from errors and logs.
	secrets []string
	hint    plumbing.Hash // a head a push event named; zero: fetch
	// attempt counts the fetches of the pass; head is the last one's.
	attempt int
	head    plumbing.Hash
	fs      *gitrepo.TreeFS // of head's tree, once read
	// at is the memo entry of head: its inventory and state, and what
	// is known of them (plan, render). After a state commit, it is the
	// state commit's entry.
	at *memoEntry
	// rendered is set once the pass rendered (not taken from the memo).
	rendered bool
	res      *Result
}

// Pass runs one reconcile pass. Errors never carry credentials. A pass
// that failed only to apply some objects (StageApply) returns its Result
// with the error.
func (r *Reconciler) Pass(ctx context.Context) (*Result, error) {
	return r.PassAt(ctx, "")
}

// PassAt is Pass for a caller that learned from a push event (a signed
// webhook) that the branch is at head. When the working clone holds that
// commit already (the state commit this writer pushed, or the one it made
// and left to another writer: state commits are deterministic) and it is
// the last head fetched or descends from it, the pass starts at head
// without fetching; otherwise, and with head "", it fetches.
func (r *Reconciler) PassAt(ctx context.Context, head string) (*Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := &passRun{res: &Result{}}
	if plumbing.IsHash(head) {
		p.hint = plumbing.NewHash(head)
	}
	res, err := r.run(ctx, p)
	if err == nil {
		res.Following = r.following
		return res, nil
	}
	if inner := (*PassError)(nil); errors.As(err, &inner) && inner.Stage == StageApply {
		// Git and the output are done: the result goes with the error.
		res.Following = r.following
		inner.Err = gitrepo.Redact(inner.Err, p.secrets)
		return res, inner
	}
	if !errors.Is(err, ErrInvalidInventory) {
		// The working clone may hold a half-written state: clone afresh.
		r.dropClone()
	}
	pe := &PassError{Stage: StageConfig, Err: err}
	if inner := (*PassError)(nil); errors.As(err, &inner) {
		pe = &PassError{Stage: inner.Stage, Commit: inner.Commit, Err: inner.Err}
	}
	if ctx.Err() != nil && !errors.Is(pe.Err, ctx.Err()) {
		// Some libraries flatten the error chain; the pass still ended
		// because its context did.
		pe.Err = fmt.Errorf("%w: %w", ctx.Err(), pe.Err)
	}
	pe.Err = gitrepo.Redact(pe.Err, p.secrets)
	return nil, pe
}

// run runs the steps of a pass in order, until one fails or finishes it.
func (r *Reconciler) run(ctx context.Context, p *passRun) (*Result, error) {
	if err := r.prepare(p); err != nil {
		return nil, err
	}
	for _, s := range []step{
		{StageFetch, r.fetch},
		{StageLoad, r.load},
		{StagePlan, r.plan},
		{StageCommit, r.commitAndPush},
		{StageRender, r.render},
		{StagePublish, r.publish},
		{StageApply, r.apply},
	} {
		next, err := r.step(ctx, p, s)
		if err != nil || next == finished {
			return p.res, err
		}
	}
	return p.res, nil
}

// step runs s; its error becomes a PassError naming s and the head.
func (r *Reconciler) step(ctx context.Context, p *passRun, s step) (stepResult, error) {
	next, err := s.run(ctx, p)
	if err == nil {
		return next, nil
	}
	var pe *PassError
	if errors.As(err, &pe) {
		return next, err
	}
	pe = &PassError{Stage: s.stage, Err: err}
	if !p.head.IsZero() {
		pe.Commit = p.head.String()
	}
	return next, pe
}

// prepare reads what the pass needs before its first step: the output
// folder is checked, the remote's credentials and the signing key read.
func (r *Reconciler) prepare(p *passRun) error {
	if err := checkOutput(r.cfg.Output, r.base); err != nil {
		return err
	}
	rem, err := gitrepo.ResolveRemote(r.cfg.URL, r.cfg.Credentials)
	if err != nil {
		return fmt.Errorf("reconciling: %w", err)
	}
	p.rem, p.secrets = rem, rem.Secrets
	sg, secrets, err := r.cfg.Signing.Signer()
	p.secrets = append(p.secrets, secrets...)
	if err != nil {
		return fmt.Errorf("reconciling: %w", err)
	}
	p.signer = sg
	return nil
}
