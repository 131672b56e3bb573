package observability_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/metalgit/metalgit/internal/observability"
)

// families registers a counter with a label, a histogram and a summary,
// and gathers them.
func families(t *testing.T) map[string]observability.Family {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_passes_total", Help: "h"}, []string{"result"})
	c.WithLabelValues("success")
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "x_duration_seconds", Help: "h"}, []string{"route"})
	h.WithLabelValues("script")
	s := prometheus.NewSummary(prometheus.SummaryOpts{Name: "x_size_bytes", Help: "h"})
	// A vector without series is not gathered.
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "x_empty", Help: "h"}, []string{"pool"})
	reg.MustRegister(c, h, s, g)
	fams, err := observability.Families(reg)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func TestFamilies(t *testing.T) {
	got := families(t)
	want := map[string]observability.Family{
		"x_passes_total":     {Type: dto.MetricType_COUNTER, Labels: []string{"result"}},
		"x_duration_seconds": {Type: dto.MetricType_HISTOGRAM, Labels: []string{"route"}},
		"x_size_bytes":       {Type: dto.MetricType_SUMMARY},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestCheckExprs: what exists passes; a misspelt or missing metric, a
// suffix of the wrong type, a label the metric lacks, a grouping label
// no metric has and an expression that does not read each fail, named.
func TestCheckExprs(t *testing.T) {
	fams := families(t)
	good := []observability.Expr{
		{Where: "ok 1", Expr: `sum by (result, job) (rate(x_passes_total{result="error", instance=~".+"}[5m]))`},
		{Where: "ok 2", Expr: `histogram_quantile(0.9, sum by (le, route) (rate(x_duration_seconds_bucket[5m])))`},
		{Where: "ok 3", Expr: `rate(x_duration_seconds_sum[5m]) / rate(x_duration_seconds_count[5m])`},
		{Where: "ok 4", Expr: `x_size_bytes{quantile="0.5"} + x_size_bytes_sum + x_size_bytes_count`},
		{Where: "ok 5", Expr: `x_passes_total`, Label: "result"},
		{Where: "ok 6", Expr: `max without (pod) (x_passes_total{namespace="m"}) and on (service, endpoint, container) x_size_bytes`},
	}
	if problems := observability.CheckExprs(good, fams); len(problems) != 0 {
		t.Errorf("problems with good expressions:\n%s", strings.Join(problems, "\n"))
	}
	for _, tc := range []struct {
		expr observability.Expr
		want string
	}{
		{observability.Expr{Where: "typo", Expr: `rate(x_passes_totl[5m])`}, "typo: no metric x_passes_totl"},
		{observability.Expr{Where: "empty", Expr: `x_empty`}, "empty: no metric x_empty"},
		{observability.Expr{Where: "counter suffix", Expr: `x_passes_total_count`}, "no metric x_passes_total_count"},
		{observability.Expr{Where: "summary bucket", Expr: `x_size_bytes_bucket`}, "no metric x_size_bytes_bucket"},
		{observability.Expr{Where: "label", Expr: `x_passes_total{outcome="x"}`}, "label: x_passes_total has no label outcome (it has: result)"},
		{observability.Expr{Where: "le", Expr: `x_duration_seconds_count{le="1"}`}, "has no label le"},
		{observability.Expr{Where: "by", Expr: `sum by (pool) (x_passes_total)`}, "by: no metric of the expression has the label pool"},
		{observability.Expr{Where: "variable", Expr: `x_passes_total`, Label: "state"}, "has the label state"},
		{observability.Expr{Where: "garbage", Expr: `x_passes_total{`}, "garbage: promql: "},
		{observability.Expr{Where: "constant", Expr: `1`}, "constant: selects no metric"},
	} {
		problems := observability.CheckExprs([]observability.Expr{tc.expr}, fams)
		if len(problems) != 1 || !strings.Contains(problems[0], tc.want) {
			t.Errorf("%s: problems %q, want one containing %q", tc.expr.Expr, problems, tc.want)
		}
	}
}

func TestUsed(t *testing.T) {
	used := observability.Used([]observability.Expr{
		{Expr: `rate(x_duration_seconds_bucket[5m])`}, {Expr: `x_passes_total + nothing`}, {Expr: `x_size_bytes{`},
	}, families(t))
	var got []string
	for name := range used {
		got = append(got, name)
	}
	slices.Sort(got)
	if diff := cmp.Diff([]string{"x_duration_seconds", "x_passes_total"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
