// Package metricstest holds metalgit's rules for metric names, for the
// tests that lint the metrics the processes serve: promlint's (as
// prometheus/client_golang's testutil.GatherAndLint applies them: help
// text, base units, _total on counters and only there, no reserved
// suffixes, no camel case) and metalgit's own (the metalgit_ prefix,
// _seconds on a duration).
package metricstest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Prefix starts every metalgit metric name.
const Prefix = "metalgit_"

// Lint gathers g and returns the names of the metric families it holds,
// sorted, and one line per problem with them, "name: what is wrong".
func Lint(g prometheus.Gatherer) (names, problems []string, err error) {
	lint, err := testutil.GatherAndLint(g)
	if err != nil {
		return nil, nil, fmt.Errorf("linting metrics: %w", err)
	}
	for _, p := range lint {
		problems = append(problems, p.Metric+": "+p.Text)
	}
	families, err := g.Gather()
	if err != nil {
		return nil, nil, fmt.Errorf("gathering metrics: %w", err)
	}
	for _, f := range families {
		name := f.GetName()
		names = append(names, name)
		if !strings.HasPrefix(name, Prefix) {
			problems = append(problems, name+": lacks the "+Prefix+" prefix")
		}
		if strings.Contains(name, "duration") && !strings.HasSuffix(name, "_seconds") {
			problems = append(problems, name+": a duration without the _seconds suffix")
		}
	}
	slices.Sort(names)
	slices.Sort(problems)
	return names, problems, nil
}
