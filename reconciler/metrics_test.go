package reconciler

import (
	"testing"

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
		"metalgit_commits_pushed_total": true, "metalgit_push_conflicts_retried_total": true,
		"metalgit_pool_allocations": true, "metalgit_pool_free_addresses": true,
		"metalgit_webhook_requests_total": true, "metalgit_webhook_body_reads_in_flight": true,
	}
	for _, name := range names {
		delete(want, name)
	}
	for name := range want {
		t.Errorf("metric %s not registered", name)
	}
}
