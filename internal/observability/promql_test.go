package observability_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/metalgit/metalgit/internal/observability"
)

func TestParseRefs(t *testing.T) {
	sel := func(metric string, labels ...string) observability.Selector {
		return observability.Selector{Metric: metric, Labels: labels}
	}
	for _, tc := range []struct {
		expr string
		want observability.Refs
	}{
		{"up", observability.Refs{Selectors: []observability.Selector{sel("up")}}},
		{`sum by (result) (rate(metalgit_reconcile_total{job=~"$job", result!="success"}[$__rate_interval]))`,
			observability.Refs{Selectors: []observability.Selector{sel("metalgit_reconcile_total", "job", "result")},
				Grouping: []string{"result"}}},
		// The postfix grouping form, keywords in capitals, a comment.
		{"SUM(a_total) BY (pool, le) # by (not_a_label)\n", observability.Refs{
			Selectors: []observability.Selector{sel("a_total")}, Grouping: []string{"pool", "le"}}},
		{`histogram_quantile(0.99, sum without (instance) (rate(x_seconds_bucket[5m:30s] offset -1h)))`,
			observability.Refs{Selectors: []observability.Selector{sel("x_seconds_bucket")}, Grouping: []string{"instance"}}},
		// Vector matching; numbers in every form; bool; Inf.
		{`a / on (pool) group_left (site) b > bool 1e-3 * 0x1F + .5 - Inf`,
			observability.Refs{Selectors: []observability.Selector{sel("a"), sel("b")}, Grouping: []string{"pool", "site"}}},
		{`a * ignoring(x) group_right b unless c and d or e`,
			observability.Refs{Selectors: []observability.Selector{sel("a"), sel("b"), sel("c"), sel("d"), sel("e")}, Grouping: []string{"x"}}},
		// Strings of every kind are skipped, wherever they are.
		{"label_replace(m{a=\"x\\\"}\"}, \"dst\", '$1', `src`, \"(.*)\")", observability.Refs{
			Selectors: []observability.Selector{sel("m", "a")}}},
		{`count_values("value", build_info) > 0`, observability.Refs{Selectors: []observability.Selector{sel("build_info")}}},
		// Names given by matchers; recording-rule names with colons.
		{`{__name__="m_total", a=~"x|y"} + {"dotted.name"} + job:m:rate5m @ start()`, observability.Refs{Selectors: []observability.Selector{
			sel("m_total", "a"), sel("dotted.name"), sel("job:m:rate5m")}}},
		// Grafana variables outside strings.
		{`increase(m[${__range}]) / $__interval_ms`, observability.Refs{Selectors: []observability.Selector{sel("m")}}},
		{`topk(5, m {a = "b",})`, observability.Refs{Selectors: []observability.Selector{sel("m", "a")}}},
		{"1 + 2", observability.Refs{}},
	} {
		got, err := observability.ParseRefs(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.expr, diff)
		}
	}
}

func TestParseRefsRefuses(t *testing.T) {
	for expr, want := range map[string]string{
		`m{a="b"`:                   "unterminated label matchers",
		`m{a="b}`:                   "unterminated string",
		`rate(m[5m)`:                "unterminated",
		`{a="b"}`:                   "without a metric name",
		`{__name__=~"metalgit_.*"}`: "names no one metric",
		`m{a}`:                      "no match operator",
		`m{a=1}`:                    "not a string",
		`sum by pool (m)`:           "without a label list",
		`m & n`:                     `unexpected '&'`,
		`m + $`:                     "starts no variable",
		`sum by (a (m)`:             `unexpected '('`,
	} {
		_, err := observability.ParseRefs(expr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", expr, err, want)
		}
	}
}

func TestRefsMetrics(t *testing.T) {
	refs, err := observability.ParseRefs(`b + a + b{x="y"}`)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, refs.Metrics()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
