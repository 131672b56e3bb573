package reconciler_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/metalgit/metalgit/reconciler"
)

// A writer whose push lost to another writer's commit of the same changes
// follows that writer: its next pass with changes makes and renders its
// state commit in the working clone only, pushes nothing and publishes
// nothing (Deferred); the pass after the other writer's push takes that
// commit without planning or rendering again; and when the other writer
// does not push within the window, the follower pushes itself and stops
// following.
func TestFollowerLeavesItsChangesToTheWriterItFollows(t *testing.T) {
	remote := newRemote(t)
	leader := newReconciler(t, reconciler.Config{URL: remote})
	out := filepath.Join(t.TempDir(), "out")
	follower := newReconciler(t, reconciler.Config{URL: remote, Output: out},
		reconciler.Seams{BeforePush: loseFirstRaceTo(t, leader)})
	pass := func(r *reconciler.Reconciler, what string) *reconciler.Result {
		t.Helper()
		res, err := r.Pass(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return res
	}
	if res := pass(follower, "losing the race"); res.Pushed || res.Deferred || res.Attempts != 2 {
		t.Fatalf("losing the race: pushed %v, deferred %v, %d attempts", res.Pushed, res.Deferred, res.Attempts)
	}
	if res := pass(follower, "after losing"); !res.Following {
		t.Fatal("the writer that lost does not follow")
	}
	rendered := readTree(t, out)

	// A new host: the follower defers.
	pushChange(t, remote, "a host", addHost(60))
	before := git(t, remote, "rev-parse", "main")
	res := pass(follower, "deferring")
	if !res.Deferred || res.Pushed || res.Hosts != nil || res.RetryAfter != reconciler.DefaultFollowWindow || !res.Plan.Changed() {
		t.Fatalf("deferring: deferred %v, pushed %v, hosts %v, retry after %v, changed %v",
			res.Deferred, res.Pushed, res.Hosts != nil, res.RetryAfter, res.Plan.Changed())
	}
	if head := git(t, remote, "rev-parse", "main"); head != before {
		t.Fatalf("a deferred pass moved the branch from %s to %s", before, head)
	}
	if got := readTree(t, out); !equalTrees(got, rendered) {
		t.Fatal("a deferred pass changed the output folder")
	}

	// The leader pushes; the follower takes its commit as it is.
	lead := pass(leader, "leader pushing the host")
	if !lead.Pushed {
		t.Fatal("the leader pushed nothing")
	}
	res = pass(follower, "following the leader's push")
	if res.Deferred || res.Pushed || res.Plan.Changed() || res.SourceCommit != lead.StateCommit || res.Hosts == nil {
		t.Fatalf("after the leader's push: deferred %v, pushed %v, changed %v, source %s (want %s)",
			res.Deferred, res.Pushed, res.Plan.Changed(), res.SourceCommit, lead.StateCommit)
	}
	if !res.Reused.Render || !res.Reused.Plan {
		t.Errorf("the pass at the leader's commit planned or rendered again: reused %+v", res.Reused)
	}
	if _, ok := res.Hosts.Lookup("aa:bb:cc:ee:00:3c"); !ok {
		t.Error("the host table lacks the new host")
	}
	if got := readTree(t, out); equalTrees(got, rendered) {
		t.Error("the output folder was not updated after the leader's push")
	}

	// The leader stays silent: the follower defers once, then pushes.
	pushChange(t, remote, "another host", addHost(61))
	if res := pass(follower, "deferring again"); !res.Deferred {
		t.Fatal("the follower did not defer")
	}
	res = pass(follower, "after the window")
	if res.Deferred || !res.Pushed {
		t.Fatalf("after the window: deferred %v, pushed %v", res.Deferred, res.Pushed)
	}
	if res.Following {
		t.Error("the follower still follows after pushing")
	}
	pushChange(t, remote, "a third host", addHost(62))
	if res := pass(follower, "leading"); res.Deferred || !res.Pushed {
		t.Fatalf("leading: deferred %v, pushed %v", res.Deferred, res.Pushed)
	}
	linear(t, remote)
}

// With following turned off, the writer that lost pushes its next
// changes itself.
func TestFollowingOff(t *testing.T) {
	remote := newRemote(t)
	leader := newReconciler(t, reconciler.Config{URL: remote})
	r := newReconciler(t, reconciler.Config{URL: remote, FollowWindow: -1}, reconciler.Seams{BeforePush: loseFirstRaceTo(t, leader)})
	if _, err := r.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	pushChange(t, remote, "a host", addHost(60))
	res, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Deferred || !res.Pushed {
		t.Fatalf("deferred %v, pushed %v", res.Deferred, res.Pushed)
	}
}

// A controller runs a deferred pass again after RetryAfter without a tick
// or trigger, and counts deferred passes in its status and metrics.
func TestControllerRetriesDeferredPass(t *testing.T) {
	remote := newRemote(t)
	leader := newReconciler(t, reconciler.Config{URL: remote})
	r := newReconciler(t, reconciler.Config{URL: remote, FollowWindow: 50 * time.Millisecond}, reconciler.Seams{BeforePush: loseFirstRaceTo(t, leader)})
	metrics := reconciler.NewMetrics()
	// The interval never passes: the retry comes from RetryAfter alone.
	ctl := reconciler.NewController(r, reconciler.ControllerConfig{Metrics: metrics, Interval: 24 * time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if _, err := ctl.Wait(wctx, func(s reconciler.Status) bool { return s.Passes >= 1 }); err != nil {
		t.Fatal(err)
	}
	pushChange(t, remote, "a host", addHost(60))
	ctl.Trigger()
	// The triggered pass defers; the one after the window pushes.
	st, err := ctl.Wait(wctx, func(s reconciler.Status) bool { return s.LastGood != nil && s.LastGood.StateCommit != "" })
	if err != nil {
		t.Fatalf("no state commit pushed after the window: %+v", st)
	}
	if st.Deferred != 1 || st.Passes != 3 {
		t.Errorf("status: %d passes, %d deferred; want 3 and 1", st.Passes, st.Deferred)
	}
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got float64 = -1
	for _, f := range families {
		if f.GetName() != "metalgit_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == reconciler.ResultDeferred {
					got = m.GetCounter().GetValue()
				}
			}
		}
	}
	if got != 1 {
		t.Errorf("metalgit_reconcile_total{result=%q} = %v, want 1", reconciler.ResultDeferred, got)
	}
}

// loseFirstRaceTo returns a BeforePush hook that, before the first push,
// has leader push the same changes: the writer loses that race.
func loseFirstRaceTo(t *testing.T, leader *reconciler.Reconciler) func(context.Context, int) error {
	lost := false
	return func(context.Context, int) error {
		if !lost {
			lost = true
			if res, err := leader.Pass(context.Background()); err != nil || !res.Pushed {
				t.Errorf("leader: %+v, %v", res, err)
			}
		}
		return nil
	}
}
