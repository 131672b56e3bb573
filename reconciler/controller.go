package reconciler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/apply"
)

// Defaults of ControllerConfig.
const (
	DefaultInterval    = time.Minute
	DefaultPassTimeout = 10 * time.Minute
)

// ControllerConfig configures a Controller. Zero values take the defaults.
type ControllerConfig struct {
	// Interval between passes when nothing triggers one. Default 1m.
	Interval time.Duration
	// PassTimeout bounds one pass. A pass does not see the cancellation of
	// Run's context (so a commit in flight is pushed or not, never cut
	// half-way); this timeout is its only deadline. Default 10m.
	PassTimeout time.Duration
	// Metrics, when set, records every pass.
	Metrics *Metrics
	// Logger receives one line per pass; default the reconciler's.
	Logger *slog.Logger
}

// Status is what the controller knows about its passes.
type Status struct {
	// Ready is true once a pass has succeeded.
	Ready bool `json:"ready"`
	// LastGood is the last successful pass; nil before the first.
	LastGood *GoodPass `json:"lastGood"`
	// LastError is the last failed pass (kept after later successes); nil
	// when no pass has failed.
	LastError *FailedPass `json:"lastError"`
	// ConsecutiveFailures counts the failed passes since the last good one.
	ConsecutiveFailures int `json:"consecutiveFailures"`
	// Passes counts the finished passes, Deferred those of them that
	// left their changes to another writer (see Result.Deferred).
	Passes   int `json:"passes"`
	Deferred int `json:"deferred"`
	// FastForwards counts the passes that started at the head a push
	// event named without fetching (Result.FastForward).
	FastForwards int `json:"fastForwards"`
	// Standby is true while another replica holds the leader election
	// (serve with a cluster): this one runs no pass and is ready.
	Standby bool `json:"standby,omitempty"`
	// LastApply is what the last pass that reached the cluster did there;
	// nil without an Applier or before such a pass.
	LastApply *ApplySummary `json:"lastApply,omitempty"`
}

// SetStandby marks the controller as waiting for the leader election
// (true) or leading (false).
func (c *Controller) SetStandby(standby bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status.Standby = standby
	c.notify()
}

// maxApplyListed bounds the drift and failures ApplySummary lists.
const maxApplyListed = 50

// ApplySummary is what one pass did to the cluster.
type ApplySummary struct {
	Counts map[apply.Outcome]int `json:"counts"`
	// Drift lists fields another manager had changed, taken back (the
	// first maxApplyListed).
	Drift []apply.Drift `json:"drift,omitempty"`
	// Failed lists objects that failed or were in conflict (the first
	// maxApplyListed).
	Failed []apply.ObjectResult `json:"failed,omitempty"`
	Time   time.Time            `json:"time"`
}

func summarizeApply(r *apply.Result, at time.Time) *ApplySummary {
	s := &ApplySummary{Counts: r.Counts, Time: at}
	s.Drift = r.Drift[:min(len(r.Drift), maxApplyListed)]
	for _, o := range r.Objects {
		if (o.Outcome == apply.Failed || o.Outcome == apply.Conflict) && len(s.Failed) < maxApplyListed {
			s.Failed = append(s.Failed, o)
		}
	}
	return s
}

// GoodPass describes a successful pass.
type GoodPass struct {
	// SourceCommit is the branch head the state was computed from.
	SourceCommit string `json:"sourceCommit"`
	// StateCommit is the state commit pushed by the pass, or "" when the
	// state was already up to date.
	StateCommit string    `json:"stateCommit"`
	Time        time.Time `json:"time"`
	// Summary is the plan's one-line count (alloc.Plan.Summary).
	Summary string `json:"summary"`
	// Pools is each pool's usage after the pass.
	Pools []alloc.PoolUsage `json:"pools"`
}

// FailedPass describes a failed pass.
type FailedPass struct {
	// Error is the pass's error, credentials stripped.
	Error string `json:"error"`
	// Stage is the step the pass failed in; Commit the branch head it
	// was at ("" when it failed before fetching one).
	Stage   Stage     `json:"stage"`
	Commit  string    `json:"commit,omitempty"`
	Invalid bool      `json:"invalid"`
	Time    time.Time `json:"time"`
}

// Controller runs passes of a Reconciler on an interval and when
// triggered, and keeps their status. Create it with NewController.
type Controller struct {
	r       *Reconciler
	cfg     ControllerConfig
	log     *slog.Logger
	trigger chan struct{}

	hosts atomic.Pointer[HostTable] // of the last good pass

	// pending counts the triggers since the last pass started; head is
	// the branch head the one push event among them named.
	tmu     sync.Mutex
	pending int
	head    string

	mu      sync.Mutex
	status  Status
	changed chan struct{} // closed and replaced after every pass
}

// NewController returns a controller of r.
func NewController(r *Reconciler, cfg ControllerConfig) *Controller {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.PassTimeout <= 0 {
		cfg.PassTimeout = DefaultPassTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = r.log
	}
	return &Controller{r: r, cfg: cfg, log: cfg.Logger, trigger: make(chan struct{}, 1), changed: make(chan struct{})}
}

// Trigger asks for a pass as soon as possible. It never blocks; triggers
// that arrive while a pass runs coalesce into one more pass.
func (c *Controller) Trigger() {
	c.TriggerPush(Push{})
}

// TriggerPush asks for a pass as Trigger does, for a push event. When the
// event names the new head of the branch and is the only trigger before
// the next pass, that pass starts at that head without fetching if the
// working clone holds it already (Reconciler.PassAt): the state commit
// this writer pushed, or the one it made and left to the writer it
// follows.
func (c *Controller) TriggerPush(p Push) {
	c.tmu.Lock()
	c.pending++
	c.head = ""
	if c.pending == 1 && p.Ref == "refs/heads/"+c.r.cfg.Branch {
		c.head = p.After
	}
	c.tmu.Unlock()
	select {
	case c.trigger <- struct{}{}:
	default:
	}
}

// takeHead returns the head the triggers since the last pass named, and
// starts counting them afresh.
func (c *Controller) takeHead() string {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	head := c.head
	c.pending, c.head = 0, ""
	return head
}

// Hosts returns the host table of the last good pass; nil before the
// first. A failed pass never replaces it. The table must not be modified.
func (c *Controller) Hosts() *HostTable {
	return c.hosts.Load()
}

// Status returns a copy of the current status.
func (c *Controller) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status.copy()
}

// Wait blocks until cond holds for the status (checked now and after every
// pass) or ctx is done, and returns the last status seen.
func (c *Controller) Wait(ctx context.Context, cond func(Status) bool) (Status, error) {
	for {
		c.mu.Lock()
		st, ch := c.status.copy(), c.changed
		c.mu.Unlock()
		if cond(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-ch:
		}
	}
}

// Run passes once at once, then on every tick and trigger, until ctx is
// done. A pass in flight when ctx is cancelled runs to its end; Run then
// returns nil.
func (c *Controller) Run(ctx context.Context) error {
	clk := c.r.seams.clock
	ticker := clk.NewTicker(c.cfg.Interval)
	defer ticker.Stop()
	for {
		// A deferred pass is run again after its RetryAfter, or sooner
		// on a tick or trigger (the push of the writer it follows).
		var retry <-chan time.Time
		var timer clock.Timer
		if d := c.pass(ctx); d > 0 {
			timer = clk.NewTimer(d)
			retry = timer.C()
		}
		select {
		case <-ctx.Done():
		case <-ticker.C():
		case <-c.trigger:
		case <-retry:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// pass runs one pass with a context that shutdown does not cancel. It
// returns when to pass again if the pass was deferred, else 0.
func (c *Controller) pass(ctx context.Context) time.Duration {
	// The pass about to start fetches the newest head, or starts at the
	// one the only push event since the last pass named: it answers every
	// trigger received so far.
	select {
	case <-c.trigger:
	default:
	}
	head := c.takeHead()
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.PassTimeout)
	defer cancel()
	start := c.r.seams.clock.Now()
	res, err := c.r.PassAt(pctx, head)
	end := c.r.seams.clock.Now()
	c.cfg.Metrics.observe(res, err, end.Sub(start), c.r.cfg.MaxPushAttempts)
	if err == nil && res.Deferred {
		c.log.Info("reconcile pass deferred to the writer this one follows", "commit", res.SourceCommit, "retry_after", res.RetryAfter)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.status.Passes++
		c.status.Deferred++
		c.notify()
		return res.RetryAfter
	}
	// A pass that failed only to apply some objects has its host table.
	if res != nil && !res.Deferred && res.Hosts != nil {
		c.hosts.Store(res.Hosts)
		if c.r.cfg.OnResult != nil {
			c.r.cfg.OnResult(res.Hosts)
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.status.Passes++
	if res != nil && res.Applied != nil {
		c.status.LastApply = summarizeApply(res.Applied, end)
	}
	if err == nil && res.FastForward {
		c.status.FastForwards++
	}
	if err != nil {
		c.status.ConsecutiveFailures++
		failed := &FailedPass{Error: err.Error(), Invalid: resultLabel(err) == ResultInvalid, Time: end}
		var pe *PassError
		if errors.As(err, &pe) {
			failed.Stage, failed.Commit = pe.Stage, pe.Commit
		}
		c.status.LastError = failed
		c.log.Error("reconcile pass failed", "commit", c.status.LastError.Commit, "failures", c.status.ConsecutiveFailures, "error", err)
	} else {
		c.status.Ready = true
		c.status.ConsecutiveFailures = 0
		c.status.LastGood = &GoodPass{SourceCommit: res.SourceCommit, StateCommit: res.StateCommit, Time: end, Summary: res.Summary}
		if res.Plan != nil {
			c.status.LastGood.Pools = res.Plan.Pools // a plan is never changed once made
		}
		c.log.Info("reconcile pass done", "commit", res.SourceCommit, "state", res.StateCommit, "summary", res.Summary)
	}
	c.notify()
	return 0
}

// notify wakes the waiters of Wait; c.mu must be held.
func (c *Controller) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (s Status) copy() Status {
	if s.LastGood != nil {
		g := *s.LastGood
		s.LastGood = &g
	}
	if s.LastError != nil {
		e := *s.LastError
		s.LastError = &e
	}
	if s.LastApply != nil {
		a := *s.LastApply
		s.LastApply = &a
	}
	return s
}
