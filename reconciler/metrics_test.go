package reconciler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/internal/metricstest"
)

// TestMetricNames: every metric of a pass is registered and passes the
// project's metric-name rules (internal/metricstest).
func TestMetricNames(t *testing.T) {
	m := NewMetrics()
	m.observe(&Result{Pushed: true, Attempts: 2, Plan: &alloc.Plan{Pools: []alloc.PoolUsage{{Pool: "p", Size: 4, Used: 1, Free: 3}}}}, nil, 0, 5)
	names, problems, err := metricstest.Lint(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	want := map[string]bool{
		"metalgit_reconcile_duration_seconds": true, "metalgit_reconcile_total": true,
		"metalgit_commits_pushed_total": true, "metalgit_state_commit_duration_seconds": true,
		"metalgit_push_conflicts_retried_total": true, "metalgit_webhook_body_reads_in_flight": true,
		"metalgit_pool_allocations": true, "metalgit_pool_free_addresses": true,
		"metalgit_webhook_requests_total": true,
	}
	for _, name := range names {
		delete(want, name)
	}
	for name := range want {
		t.Errorf("metric %s not registered", name)
	}
}

// TestObservePushes: a pushed state commit is counted and its commit
// duration observed, also when the pass's apply failed afterwards (the
// pass returns its Result with the error); conflict retries are counted
// the same way. A pass that pushed nothing observes no commit duration.
func TestObservePushes(t *testing.T) {
	m := NewMetrics()
	applyErr := &PassError{Stage: StageApply, Err: errors.New("1 object failed")}
	m.observe(&Result{Pushed: true, Attempts: 3, CommitDuration: 2 * time.Second}, applyErr, time.Second, 5)
	m.observe(&Result{Pushed: true, Attempts: 1, CommitDuration: 500 * time.Millisecond}, nil, time.Second, 5)
	m.observe(&Result{Attempts: 1}, nil, time.Second, 5)
	if got := testutil.ToFloat64(m.commitsPushed); got != 2 {
		t.Errorf("commits pushed = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.conflictRetries); got != 2 {
		t.Errorf("conflict retries = %v, want 2", got)
	}
	want := `
# HELP metalgit_state_commit_duration_seconds Time from the start of a pass's commit step to its state commit pushed, conflict retries included; passes that pushed only.
# TYPE metalgit_state_commit_duration_seconds histogram
metalgit_state_commit_duration_seconds_bucket{le="0.05"} 0
metalgit_state_commit_duration_seconds_bucket{le="0.1"} 0
metalgit_state_commit_duration_seconds_bucket{le="0.25"} 0
metalgit_state_commit_duration_seconds_bucket{le="0.5"} 1
metalgit_state_commit_duration_seconds_bucket{le="1"} 1
metalgit_state_commit_duration_seconds_bucket{le="2.5"} 2
metalgit_state_commit_duration_seconds_bucket{le="5"} 2
metalgit_state_commit_duration_seconds_bucket{le="10"} 2
metalgit_state_commit_duration_seconds_bucket{le="30"} 2
metalgit_state_commit_duration_seconds_bucket{le="60"} 2
metalgit_state_commit_duration_seconds_bucket{le="120"} 2
metalgit_state_commit_duration_seconds_bucket{le="+Inf"} 2
metalgit_state_commit_duration_seconds_sum 2.5
metalgit_state_commit_duration_seconds_count 2
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "metalgit_state_commit_duration_seconds"); err != nil {
		t.Error(err)
	}
}
