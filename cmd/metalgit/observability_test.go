package main

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/metalgit/metalgit/internal/observability"
)

// Files of deploy/observability and their documentation.
const (
	dashboardFile     = "deploy/observability/grafana-dashboard.json"
	rulesFile         = "deploy/observability/prometheus-rules.yaml"
	observabilityPage = "docs/observability.md"
)

// servedFamilies gathers servedMetrics and moves to the repository root.
func servedFamilies(t *testing.T) map[string]observability.Family {
	t.Helper()
	families, err := observability.Families(servedMetrics(t))
	if err != nil {
		t.Fatal(err)
	}
	chdirRepoRoot(t)
	return families
}

// TestObservabilityFiles: the Grafana dashboard and the PrometheusRule
// are well formed; every metric and label their expressions name is one
// the real registries serve (a metric renamed in the code fails here);
// the dashboard shows every metric; every alert links to its runbook, a
// heading of docs/observability.md named after it.
func TestObservabilityFiles(t *testing.T) {
	families := servedFamilies(t)

	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	dashboard, err := observability.ParseDashboard(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range dashboard.Problems() {
		t.Errorf("%s: %s", dashboardFile, p)
	}
	for _, p := range observability.CheckExprs(dashboard.Exprs(), families) {
		t.Errorf("%s: %s", dashboardFile, p)
	}
	used := observability.Used(dashboard.Exprs(), families)
	for _, name := range slices.Sorted(maps.Keys(families)) {
		if !used[name] {
			t.Errorf("%s: no panel shows %s", dashboardFile, name)
		}
	}

	data, err = os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := observability.ParsePrometheusRule(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rules.Problems() {
		t.Errorf("%s: %s", rulesFile, p)
	}
	for _, p := range observability.CheckExprs(rules.Spec.Exprs(), families) {
		t.Errorf("%s: %s", rulesFile, p)
	}
	anchors := headingAnchors(t, observabilityPage)
	for _, g := range rules.Spec.Groups {
		for _, r := range g.Rules {
			want := observabilityPage + "#" + strings.ToLower(r.Alert)
			if url := r.Annotations["runbook_url"]; url != want {
				t.Errorf("%s: alert %s: runbook_url %q, want %q", rulesFile, r.Alert, url, want)
			}
			if !anchors[strings.ToLower(r.Alert)] {
				t.Errorf("%s has no heading %s, the runbook of alert %s", observabilityPage, r.Alert, r.Alert)
			}
		}
	}

	// The check is not vacuous: the same families refuse a name they
	// do not hold.
	renamed := observability.Expr{Where: "renamed", Expr: `sum(rate(metalgit_reconcile_totals{result="error"}[5m]))`}
	if p := observability.CheckExprs([]observability.Expr{renamed}, families); len(p) != 1 {
		t.Errorf("a metric that is not served: problems %q, want one", p)
	}
}

// TestObservabilityDocsListEveryMetric: the metric table of
// docs/observability.md has one row per metric metalgit serves, with its
// type and label names as the registries give them, and no other.
func TestObservabilityDocsListEveryMetric(t *testing.T) {
	families := servedFamilies(t)
	// A row of the metric table: | `name{label,…}` | type | …
	metricRow := regexp.MustCompile("^\\| `(metalgit_[a-z0-9_]+)(?:\\{([a-z_,]+)\\})?` \\| (counter|gauge|histogram|summary) \\|")
	data, err := os.ReadFile(observabilityPage)
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for line := range strings.SplitSeq(string(data), "\n") {
		m := metricRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, labels, typ := m[1], strings.Split(m[2], ","), m[3]
		if documented[name] {
			t.Errorf("%s: %s has two rows", observabilityPage, name)
		}
		documented[name] = true
		f, ok := families[name]
		if !ok {
			t.Errorf("%s: %s is not a metric metalgit serves", observabilityPage, name)
			continue
		}
		if want := strings.ToLower(f.Type.String()); typ != want {
			t.Errorf("%s: %s is a %s, the page says %s", observabilityPage, name, want, typ)
		}
		if m[2] == "" {
			labels = nil
		}
		slices.Sort(labels)
		if !slices.Equal(labels, f.Labels) {
			t.Errorf("%s: %s has the labels {%s}, the page says {%s}", observabilityPage, name,
				strings.Join(f.Labels, ","), m[2])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(families)) {
		if !documented[name] {
			t.Errorf("%s: no row for %s", observabilityPage, name)
		}
	}
}
