package observability_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/internal/observability"
)

const goodDashboard = `{
  "uid": "x", "title": "X", "schemaVersion": 39,
  "templating": {"list": [
    {"name": "datasource", "type": "datasource", "query": "prometheus"},
    {"name": "job", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "query": "label_values(x_passes_total{result!=\"\"}, job)"},
    {"name": "route", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "query": {"query": "query_result(count by (route) (x_duration_seconds_count))", "refId": "v"}}
  ]},
  "panels": [
    {"id": 1, "type": "row", "title": "Passes", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "collapsed": true, "panels": [
      {"id": 2, "type": "timeseries", "title": "Passes by result", "gridPos": {"x": 0, "y": 1, "w": 12, "h": 8},
       "datasource": {"type": "prometheus", "uid": "${datasource}"},
       "targets": [{"refId": "A", "expr": "sum by (result) (rate(x_passes_total{job=~\"$job\"}[$__rate_interval]))"}]}
    ]},
    {"id": 3, "type": "stat", "title": "Duration", "gridPos": {"x": 12, "y": 1, "w": 12, "h": 8},
     "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "targets": [{"refId": "A", "expr": "histogram_quantile(0.9, sum by (le) (rate(x_duration_seconds_bucket[5m])))",
                  "datasource": {"type": "prometheus", "uid": "${datasource}"}}]}
  ]
}`

// dashboard parses goodDashboard with old replaced by replacement.
func dashboard(t *testing.T, old, replacement string) *observability.Dashboard {
	t.Helper()
	if !strings.Contains(goodDashboard, old) {
		t.Fatalf("the fixture has no %q", old)
	}
	d, err := observability.ParseDashboard([]byte(strings.Replace(goodDashboard, old, replacement, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDashboardProblems(t *testing.T) {
	d := dashboard(t, "", "")
	if problems := d.Problems(); len(problems) != 0 {
		t.Errorf("problems with the good dashboard:\n%s", strings.Join(problems, "\n"))
	}
	want := []observability.Expr{
		{Where: "variable job", Expr: `x_passes_total{result!=""}`, Label: "job"},
		{Where: "variable route", Expr: "count by (route) (x_duration_seconds_count)"},
		{Where: `panel "Passes by result" target A`, Expr: `sum by (result) (rate(x_passes_total{job=~"$job"}[$__rate_interval]))`},
		{Where: `panel "Duration" target A`, Expr: "histogram_quantile(0.9, sum by (le) (rate(x_duration_seconds_bucket[5m])))"},
	}
	if diff := cmp.Diff(want, d.Exprs()); diff != "" {
		t.Errorf("exprs (-want +got):\n%s", diff)
	}
	if problems := observability.CheckExprs(d.Exprs(), families(t)); len(problems) != 0 {
		t.Errorf("the good dashboard's names:\n%s", strings.Join(problems, "\n"))
	}
	// A metric renamed in a panel fails the names' check.
	d = dashboard(t, "x_passes_total{job", "x_pass_total{job")
	if problems := observability.CheckExprs(d.Exprs(), families(t)); len(problems) != 1 ||
		!strings.Contains(problems[0], `panel "Passes by result" target A: no metric x_pass_total`) {
		t.Errorf("a renamed metric: %q", problems)
	}

	for _, tc := range []struct{ old, new, want string }{
		{`"schemaVersion": 39`, `"schemaVersion": 27`, "schemaVersion 27"},
		{`"uid": "x"`, `"uid": ""`, "no uid"},
		{`"query": "prometheus"`, `"query": "loki"`, "no variable datasource"},
		{`"uid": "${datasource}"},
     "query": "label`, `"uid": "prom"},
     "query": "label`, "variable job: its datasource"},
		{`label_values(x_passes_total{result!=\"\"}, job)`, `x_passes_total`, "variable job: query"},
		{`"id": 3`, `"id": 2`, "panel 2 (Duration): its id is 0 or repeated"},
		{`"x": 12, "y": 1, "w": 12`, `"x": 13, "y": 1, "w": 12`, "no place on the 24-column grid"},
		{`"title": "Duration", "gridPos": {"x": 12, "y": 1, "w": 12, "h": 8},
     "datasource": {"type": "prometheus", "uid": "${datasource}"}`, `"title": "Duration", "gridPos": {"x": 12, "y": 1, "w": 12, "h": 8}`,
			"panel 3 (Duration): its datasource"},
		{`"targets": [{"refId": "A", "expr": "sum`, `"targets": [], "t": [{"refId": "A", "expr": "sum`, "panel 2 (Passes by result): no targets"},
		{`[{"refId": "A", "expr": "histogram`, `[{"refId": "", "expr": "histogram`, "refId is empty or repeated"},
		{`"expr": "histogram_quantile(0.9, sum by (le) (rate(x_duration_seconds_bucket[5m])))"`, `"expr": " "`, "target A: no expr"},
		{`"datasource": {"type": "prometheus", "uid": "${datasource}"}}]}`, `"datasource": {"type": "loki", "uid": "${datasource}"}}]}`,
			"another datasource than the panel's"},
		{`"collapsed": true, "panels": [`, `"collapsed": true, "targets": [{"refId": "A", "expr": "up"}], "panels": [`, "a row with queries"},
	} {
		problems := dashboard(t, tc.old, tc.new).Problems()
		if len(problems) != 1 || !strings.Contains(problems[0], tc.want) {
			t.Errorf("%q → %q: problems %q, want one containing %q", tc.old, tc.new, problems, tc.want)
		}
	}
}

func TestParseDashboardRefusesBadJSON(t *testing.T) {
	if _, err := observability.ParseDashboard([]byte(`{"panels": [}`)); err == nil {
		t.Error("bad JSON parsed")
	}
}
