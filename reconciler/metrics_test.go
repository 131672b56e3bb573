package reconciler

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/metalgit/metalgit/alloc"
)

// TestMetricNames lints every metric name: the namespace prefix, _total on
// counters and only there, _seconds on durations.
func TestMetricNames(t *testing.T) {
	m := NewMetrics()
	m.observe(&Result{Pushed: true, Attempts: 2, Plan: &alloc.Plan{Pools: []alloc.PoolUsage{{Pool: "p", Size: 4, Used: 1, Free: 3}}}}, nil, 0, 5)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"metalgit_reconcile_duration_seconds": true, "metalgit_reconcile_total": true,
		"metalgit_commits_pushed_total": true, "metalgit_push_conflicts_retried_total": true,
		"metalgit_pool_allocations": true, "metalgit_pool_free_addresses": true,
		"metalgit_webhook_requests_total": true, "metalgit_webhook_body_reads_in_flight": true,
	}
	for _, f := range families {
		name := f.GetName()
		delete(want, name)
		if !strings.HasPrefix(name, MetricsNamespace+"_") {
			t.Errorf("%s lacks the %s_ prefix", name, MetricsNamespace)
		}
		if isCounter := f.GetType() == dto.MetricType_COUNTER; isCounter != strings.HasSuffix(name, "_total") {
			t.Errorf("%s (%s): counters and only counters end in _total", name, f.GetType())
		}
		if strings.Contains(name, "duration") && !strings.HasSuffix(name, "_seconds") {
			t.Errorf("%s is a duration without the _seconds suffix", name)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no help", name)
		}
	}
	for name := range want {
		t.Errorf("metric %s not registered", name)
	}
}
