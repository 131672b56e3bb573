package observability

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Family is a metric family a registry serves: its type and the label
// names its series have.
type Family struct {
	Type   dto.MetricType
	Labels []string
}

// Families gathers g and returns its metric families by name. A family
// with no series (a vector no label values were set on) is not
// gathered: give every label value a series first.
func Families(g prometheus.Gatherer) (map[string]Family, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, fmt.Errorf("gathering metrics: %w", err)
	}
	out := make(map[string]Family, len(mfs))
	for _, mf := range mfs {
		f := Family{Type: mf.GetType()}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(f.Labels, l.GetName()) {
					f.Labels = append(f.Labels, l.GetName())
				}
			}
		}
		slices.Sort(f.Labels)
		out[mf.GetName()] = f
	}
	return out, nil
}

// isTargetLabel reports the labels a scrape gives every series of its
// target, which no registry holds: Prometheus' job and instance, and
// those of a Prometheus Operator ServiceMonitor.
func isTargetLabel(name string) bool {
	switch name {
	case "job", "instance", "namespace", "pod", "service", "container", "endpoint":
		return true
	}
	return false
}

// Expr is a PromQL expression of a dashboard or rules file.
type Expr struct {
	// Where names it for the messages: the panel and target, the alert.
	Where string
	Expr  string
	// Label is a label name the expression's metrics must have besides
	// those it names (the label of a label_values() variable).
	Label string
}

// CheckExprs reads each expression and returns one line per problem:
// an expression that does not read, a metric families lacks, a label a
// selector matches on that its metric lacks, a grouping label none of
// the expression's metrics has. A histogram's _bucket, _sum and _count
// series, and a summary's _sum and _count, name their family.
func CheckExprs(exprs []Expr, families map[string]Family) []string {
	var problems []string
	for _, e := range exprs {
		refs, err := ParseRefs(e.Expr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", e.Where, err))
			continue
		}
		if len(refs.Selectors) == 0 {
			problems = append(problems, e.Where+": selects no metric")
		}
		if e.Label != "" {
			refs.Grouping = append(refs.Grouping, e.Label)
		}
		problems = append(problems, checkRefs(e.Where, refs, families)...)
	}
	return problems
}

// checkRefs checks one expression's names against families.
func checkRefs(where string, refs Refs, families map[string]Family) []string {
	var problems []string
	all, missing := map[string]bool{}, false
	for _, sel := range refs.Selectors {
		_, labels, ok := familyOf(sel.Metric, families)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: no metric %s", where, sel.Metric))
			missing = true
			continue
		}
		for _, l := range labels {
			all[l] = true
		}
		for _, l := range sel.Labels {
			if !slices.Contains(labels, l) && !isTargetLabel(l) {
				problems = append(problems, fmt.Sprintf("%s: %s has no label %s (it has: %s)", where, sel.Metric, l,
					strings.Join(labels, ", ")))
			}
		}
	}
	if missing {
		return problems // a metric missing leaves its labels unknown
	}
	for _, l := range refs.Grouping {
		if !all[l] && !isTargetLabel(l) {
			problems = append(problems, fmt.Sprintf("%s: no metric of the expression has the label %s it groups or matches by", where, l))
		}
	}
	return problems
}

// familyOf returns the family of a series name, and the label names its
// series have: a family's own, or a histogram's or summary's series.
func familyOf(name string, families map[string]Family) (string, []string, bool) {
	if f, ok := families[name]; ok {
		if f.Type == dto.MetricType_SUMMARY {
			return name, append(slices.Clone(f.Labels), "quantile"), true
		}
		return name, f.Labels, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		f, ok := families[base]
		switch {
		case !ok:
		case f.Type == dto.MetricType_HISTOGRAM && suffix == "_bucket":
			return base, append(slices.Clone(f.Labels), "le"), true
		case f.Type == dto.MetricType_HISTOGRAM, f.Type == dto.MetricType_SUMMARY && suffix != "_bucket":
			return base, f.Labels, true
		}
	}
	return "", nil, false
}

// Used returns the families the expressions select, by name;
// expressions that do not read are left out.
func Used(exprs []Expr, families map[string]Family) map[string]bool {
	used := map[string]bool{}
	for _, e := range exprs {
		refs, err := ParseRefs(e.Expr)
		if err != nil {
			continue
		}
		for _, name := range refs.Metrics() {
			if f, _, ok := familyOf(name, families); ok {
				used[f] = true
			}
		}
	}
	return used
}
