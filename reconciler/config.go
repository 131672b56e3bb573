package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/reconciler/internal/gitrepo"
	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

// Defaults of Config.
const (
	DefaultBranch          = "main"
	DefaultAuthorName      = "metalgit"
	DefaultAuthorEmail     = "metalgit@localhost"
	DefaultMaxPushAttempts = 5
	DefaultBackoffBase     = 100 * time.Millisecond
	DefaultBackoffMax      = 2 * time.Second
	DefaultFollowWindow    = time.Second
)

// Config configures a Reconciler. Use New to apply the defaults.
type Config struct {
	// URL of the repository: a local path, file://, http://, https://,
	// ssh://[user@]host[:port]/path or scp-like [user@]host:path.
	URL string
	// Branch to reconcile. Default "main".
	Branch string
	// Path of the inventory root inside the repository. Default ".".
	Path string
	// StateDir is the state directory relative to Path. Default "state".
	StateDir string
	// Output is the folder the rendered manifests are written to; "" renders
	// without writing.
	Output string
	// WorkDir is where New creates the Reconciler's work directory, which
	// holds its working clone (reused across passes) until Close removes
	// it. Default os.TempDir().
	WorkDir string
	// AuthorName and AuthorEmail are the author and committer of state
	// commits. Default "metalgit <metalgit@localhost>".
	AuthorName, AuthorEmail string
	// Credentials for the remote; read from files or the environment on
	// every pass, never given as values.
	Credentials Credentials
	// Signing, when its KeyFile is set, signs every state commit (OpenPGP
	// or SSH).
	Signing Signing
	// OnResult, when set, is called by Controller after every successful
	// pass (never after a failed one) with the host table of its plan.
	OnResult func(*HostTable)
	// MaxPushAttempts bounds the attempts (clone, compute, push) of a pass
	// whose pushes are rejected because the remote moved. Default 5.
	MaxPushAttempts int
	// BackoffBase and BackoffMax shape the jittered exponential backoff
	// of retry pushes: the n-th retry waits a random time in [d/2, d] with
	// d = min(BackoffMax, BackoffBase·2^(n-1)), after the fetch and plan
	// that precede it (a retry that finds nothing left to push does not
	// wait).
	BackoffBase, BackoffMax time.Duration
	// FollowWindow is how long a writer that follows another leaves its
	// state commit to that writer (see Result.Deferred). A writer follows
	// after a push of its own was refused because another writer had
	// committed the same changes, and stops when a push of its own lands.
	// 0 means DefaultFollowWindow; negative turns following off, so that
	// every pass pushes its changes itself.
	FollowWindow time.Duration
	// Applier, when set, applies every pass's manifests to a cluster
	// (apply.Cluster); nil leaves the cluster to Flux or Argo CD reading
	// Output.
	Applier Applier
	// Logger receives progress; default discards.
	Logger *slog.Logger
}

// Applier puts a pass's rendered manifests into a cluster, labelled and
// inventoried for the inventory's Site (package apply).
type Applier interface {
	Apply(ctx context.Context, site string, manifests []byte) (*apply.Result, error)
	// BareMetalHosts maps the hosts (label metalgit.dev/host) whose
	// BareMetalHosts metalgit applied for site and the cluster still
	// holds to their state.
	BareMetalHosts(ctx context.Context, site string) (map[string]apply.HostState, error)
}

// Credentials name where the remote's secrets are read from (on every
// pass, never given as values).
type Credentials = gitrepo.Credentials

// Signing names the key state commits are signed with.
type Signing = gitrepo.Signing

// Reconciler runs passes over one repository.
type Reconciler struct {
	cfg Config
	log *slog.Logger

	seams seams

	mu    sync.Mutex    // serialises passes and Close
	base  string        // work directory; "" once closed
	clone *gitrepo.Repo // the working clone; nil until the first pass or after a failure
	// memo holds what passes computed, by the Git hashes of what they
	// computed it from (see memo).
	memo memo
	// parse keeps the parsed inventory files by blob, so that a load
	// parses only the files that changed since the last one; validated
	// keeps the hosts the last validation found clean, so that one checks
	// in full only the hosts that changed; cache keeps each host's
	// rendered objects, so that a render builds only those of the hosts
	// that changed. out skips rewriting Config.Output when the manifests
	// did not change.
	parse     schemas.ParseCache
	validated schemas.ValidateCache
	cache     render.Cache
	out       render.DirWriter
	// following is set while another writer commits the changes this one
	// plans (see Config.FollowWindow); deferred when the last pass left
	// its state commit to that writer.
	following, deferred bool
}

// New checks cfg, applies the defaults and returns a Reconciler.
func New(cfg Config) (*Reconciler, error) {
	if cfg.URL == "" {
		return nil, errors.New("reconciler: URL is required (--repo)")
	}
	if cfg.Branch == "" {
		cfg.Branch = DefaultBranch
	}
	if cfg.Path == "" {
		cfg.Path = "."
	}
	cfg.Path = filepath.Clean(cfg.Path)
	if !filepath.IsLocal(cfg.Path) && cfg.Path != "." {
		return nil, fmt.Errorf("reconciler: path %q must be relative and inside the repository (--path)", cfg.Path)
	}
	if cfg.StateDir == "" {
		cfg.StateDir = schemas.DefaultStateDir
	}
	if err := schemas.CheckStateDir(cfg.StateDir); err != nil {
		return nil, fmt.Errorf("reconciler: %w (--state-dir)", err)
	}
	if cfg.AuthorName == "" {
		cfg.AuthorName = DefaultAuthorName
	}
	if cfg.AuthorEmail == "" {
		cfg.AuthorEmail = DefaultAuthorEmail
	}
	if cfg.MaxPushAttempts == 0 {
		cfg.MaxPushAttempts = DefaultMaxPushAttempts
	}
	if cfg.MaxPushAttempts < 1 {
		return nil, fmt.Errorf("reconciler: max push attempts must be at least 1, got %d (--max-push-attempts)", cfg.MaxPushAttempts)
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.FollowWindow == 0 {
		cfg.FollowWindow = DefaultFollowWindow
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	base, err := os.MkdirTemp(cfg.WorkDir, "metalgit-work-")
	if err != nil {
		return nil, fmt.Errorf("reconciler: creating work directory: %w", err)
	}
	if err := checkOutput(cfg.Output, base); err != nil {
		_ = os.RemoveAll(base)
		return nil, err
	}
	r := &Reconciler{cfg: cfg, log: cfg.Logger, base: base, out: render.DirWriter{Dir: cfg.Output}}
	r.seams = seams{clock: clock.RealClock{}, rand: rand.Float64}
	r.seams.sleep = r.sleep
	return r, nil
}

// seams are what tests replace (export_test.go): the clock, the jitter's
// random numbers, the wait before a retry push, and a hook run before
// every push.
type seams struct {
	clock      clock.WithTicker
	rand       func() float64
	sleep      func(ctx context.Context, d time.Duration) error
	beforePush func(ctx context.Context, attempt int) error
}

// sleep waits d on the clock, or until ctx is done.
func (r *Reconciler) sleep(ctx context.Context, d time.Duration) error {
	t := r.seams.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// Close removes the Reconciler's work directory. The Reconciler must not be
// used afterwards.
func (r *Reconciler) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clone = nil
	r.memo.reset()
	if r.base == "" {
		return nil
	}
	err := os.RemoveAll(r.base)
	r.base = ""
	return err
}

// backoff returns the wait before the given retry push (1-based).
func (r *Reconciler) backoff(attempt int) time.Duration {
	d := r.cfg.BackoffBase
	for i := 1; i < attempt && d < r.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, r.cfg.BackoffMax)
	return d/2 + time.Duration(r.seams.rand()*float64(d/2))
}

// checkOutput refuses an output folder that would delete or overwrite
// what metalgit did not write: one that is, holds or lies in the work
// directory base (where the working clones live), or an existing folder that
// a render did not write. It runs when the Reconciler is made and before
// every pass, so that a pass never commits and pushes a state it then
// cannot write out.
func checkOutput(output, base string) error {
	if output == "" {
		return nil
	}
	err := render.CheckOutputDirs([]render.Dir{{Flag: "work directory", Path: base}}, []render.Dir{{Flag: "--output", Path: output}})
	if err == nil {
		err = render.CheckOutputReplaceable(output)
	}
	if err != nil {
		return fmt.Errorf("reconciler: %w", err)
	}
	return nil
}
