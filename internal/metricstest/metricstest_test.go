package metricstest_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/metalgit/metalgit/internal/metricstest"
)

func TestLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(
		prometheus.NewCounter(prometheus.CounterOpts{Name: "jobs_done", Help: "Jobs done."}),
		prometheus.NewGauge(prometheus.GaugeOpts{Name: "metalgit_pass_duration", Help: "How long the last pass took."}),
		prometheus.NewGauge(prometheus.GaugeOpts{Name: "metalgit_hosts_total", Help: "Hosts."}),
		prometheus.NewCounter(prometheus.CounterOpts{Name: "metalgit_ok_total", Help: "Fine."}),
	)
	names, problems, err := metricstest.Lint(reg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"jobs_done", "metalgit_hosts_total", "metalgit_ok_total", "metalgit_pass_duration"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	want := []string{
		`jobs_done: counter metrics should have "_total" suffix`,
		"jobs_done: lacks the metalgit_ prefix",
		`metalgit_hosts_total: non-counter metrics should not have "_total" suffix`,
		"metalgit_pass_duration: a duration without the _seconds suffix",
	}
	if diff := cmp.Diff(want, problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
