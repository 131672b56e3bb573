package observability_test

import (
	"strings"
	"testing"

	"github.com/metalgit/metalgit/internal/observability"
)

const goodRule = `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: metalgit
  labels: {app: metalgit}
spec:
  groups:
    - name: metalgit.reconcile
      interval: 1m
      rules:
        - alert: PassesFailing
          expr: sum without (result) (increase(x_passes_total{result="error"}[15m])) > 0
          for: 15m
          labels: {severity: critical}
          annotations:
            summary: Passes fail on {{ $labels.instance }}
            description: '{{ $value | humanize }} failed passes.'
            runbook: Run metalgit status.
            runbook_url: docs/observability.md#passesfailing
`

// rules parses goodRule with old replaced by replacement.
func rules(t *testing.T, old, replacement string) (*observability.PrometheusRule, error) {
	t.Helper()
	src := goodRule
	if old != "" {
		if !strings.Contains(src, old) {
			t.Fatalf("the fixture has no %q", old)
		}
		src = strings.Replace(src, old, replacement, 1)
	}
	return observability.ParsePrometheusRule([]byte(src))
}

func TestRuleProblems(t *testing.T) {
	pr, err := rules(t, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if problems := pr.Problems(); len(problems) != 0 {
		t.Errorf("problems with the good rule:\n%s", strings.Join(problems, "\n"))
	}
	if exprs := pr.Spec.Exprs(); len(exprs) != 1 || exprs[0].Where != "alert PassesFailing" {
		t.Errorf("exprs %+v", exprs)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"kind: PrometheusRule", "kind: ConfigMap", "want monitoring.coreos.com/v1 PrometheusRule"},
		{"  name: metalgit\n", "  name: ''\n", "metadata.name is empty"},
		{"interval: 1m", "interval: often", `interval "often" is not a duration`},
		{"for: 15m", "for: 15", `for "15" is not a duration`},
		{"          for: 15m\n", "", `for "" is not a duration`},
		{"severity: critical", "severity: page", `labels.severity "page"`},
		{"            runbook: Run metalgit status.\n", "", "no runbook annotation"},
		{"summary: Passes fail on {{ $labels.instance }}", "summary: ''", "no summary annotation"},
		{"{{ $labels.instance }}", "{{ $labels.instance }", "annotation summary: template: "},
		{"humanize }}", "humanise }}", `function "humanise" not defined`},
		{"expr: sum", "expr: ''\n          x: sum", "field x not found"},
		{"      rules:\n", "      rules: []\n      r:\n", "field r not found"},
	} {
		pr, err := rules(t, tc.old, tc.new)
		var got []string
		if err != nil {
			got = []string{err.Error()}
		} else {
			got = pr.Problems()
		}
		if len(got) != 1 || !strings.Contains(got[0], tc.want) {
			t.Errorf("%q → %q: problems %q, want one containing %q", tc.old, tc.new, got, tc.want)
		}
	}
}

func TestRuleFileProblems(t *testing.T) {
	pr, err := rules(t, "", "")
	if err != nil {
		t.Fatal(err)
	}
	g := pr.Spec.Groups[0]
	other := observability.RuleGroup{Name: g.Name, Rules: []observability.Rule{g.Rules[0]}}
	other.Rules[0].Alert = "Other"
	for name, tc := range map[string]struct {
		file observability.RuleFile
		want string
	}{
		"no groups":      {observability.RuleFile{}, "no rule groups"},
		"a group twice":  {observability.RuleFile{Groups: []observability.RuleGroup{g, other}}, "its name is empty or repeated"},
		"an empty group": {observability.RuleFile{Groups: []observability.RuleGroup{{Name: "g"}}}, "no rules"},
		"an alert twice": {observability.RuleFile{Groups: []observability.RuleGroup{{Name: "g", Rules: append(g.Rules, g.Rules...)}}}, "the alert name is empty or repeated"},
		"a rule without expr": {observability.RuleFile{Groups: []observability.RuleGroup{{Name: "g", Rules: []observability.Rule{{
			Alert: "A", For: "1m", Labels: g.Rules[0].Labels, Annotations: g.Rules[0].Annotations}}}}}, "no expr"},
	} {
		problems := tc.file.Problems()
		if len(problems) != 1 || !strings.Contains(problems[0], tc.want) {
			t.Errorf("%s: problems %q, want one containing %q", name, problems, tc.want)
		}
	}
}

func TestParsePrometheusRuleOneDocument(t *testing.T) {
	if _, err := observability.ParsePrometheusRule([]byte(goodRule + "---\n" + goodRule)); err == nil ||
		!strings.Contains(err.Error(), "more than one document") {
		t.Errorf("two documents: %v", err)
	}
}
