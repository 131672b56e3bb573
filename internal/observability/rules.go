package observability

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// PrometheusRule is the Prometheus Operator's resource
// (monitoring.coreos.com/v1): its spec is a Prometheus rules file.
type PrometheusRule struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec RuleFile `yaml:"spec"`
}

// RuleFile is a Prometheus rules file.
type RuleFile struct {
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is a group of rules evaluated together.
type RuleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is an alerting rule (recording rules are not used).
type Rule struct {
	Alert         string            `yaml:"alert"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for"`
	KeepFiringFor string            `yaml:"keep_firing_for,omitempty"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

// ParsePrometheusRule decodes a PrometheusRule, refusing fields it does
// not know (a misspelt annotations or for would be silently dropped by
// Prometheus).
func ParsePrometheusRule(data []byte) (*PrometheusRule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var pr PrometheusRule
	if err := dec.Decode(&pr); err != nil {
		return nil, fmt.Errorf("decoding the PrometheusRule: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); err == nil {
		return nil, errors.New("decoding the PrometheusRule: more than one document")
	}
	return &pr, nil
}

// Problems lists what is wrong with the resource around its rules.
func (pr *PrometheusRule) Problems() []string {
	var problems []string
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
		problems = append(problems, fmt.Sprintf("%s/%s, want monitoring.coreos.com/v1 PrometheusRule", pr.APIVersion, pr.Kind))
	}
	if pr.Metadata.Name == "" {
		problems = append(problems, "metadata.name is empty")
	}
	return append(problems, pr.Spec.Problems()...)
}

// isSeverity reports the values an alert's severity label may take.
func isSeverity(s string) bool { return s == "critical" || s == "warning" || s == "info" }

// isDuration reports Prometheus' duration syntax: 30s, 5m, 1h30m, 500ms.
func isDuration(s string) bool {
	if s == "" {
		return false
	}
	for s != "" {
		digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
		if digits == 0 {
			return false
		}
		s = s[digits:]
		switch {
		case strings.HasPrefix(s, "ms"):
			s = s[2:]
		case s != "" && strings.IndexByte("smhdwy", s[0]) >= 0:
			s = s[1:]
		default:
			return false
		}
	}
	return true
}

// Problems lists what is wrong with the rules: every group named once
// and holding rules; every rule an alert named once, with an
// expression, a for duration, a severity label (critical, warning,
// info) and summary, description and runbook annotations whose
// templates parse as Prometheus parses them.
func (f RuleFile) Problems() []string {
	var problems []string
	if len(f.Groups) == 0 {
		problems = append(problems, "no rule groups")
	}
	groups, alerts := map[string]bool{}, map[string]bool{}
	for i, g := range f.Groups {
		where := fmt.Sprintf("group %d (%s)", i, g.Name)
		if g.Name == "" || groups[g.Name] {
			problems = append(problems, where+": its name is empty or repeated")
		}
		groups[g.Name] = true
		if g.Interval != "" && !isDuration(g.Interval) {
			problems = append(problems, fmt.Sprintf("%s: interval %q is not a duration", where, g.Interval))
		}
		if len(g.Rules) == 0 {
			problems = append(problems, where+": no rules")
		}
		for j, r := range g.Rules {
			problems = append(problems, r.problems(fmt.Sprintf("%s rule %d (%s)", where, j, r.Alert), alerts)...)
		}
	}
	return problems
}

func (r Rule) problems(where string, alerts map[string]bool) []string {
	var problems []string
	if r.Alert == "" || alerts[r.Alert] {
		problems = append(problems, where+": the alert name is empty or repeated")
	}
	alerts[r.Alert] = true
	if r.Expr == "" {
		problems = append(problems, where+": no expr")
	}
	if !isDuration(r.For) {
		problems = append(problems, fmt.Sprintf("%s: for %q is not a duration", where, r.For))
	}
	if r.KeepFiringFor != "" && !isDuration(r.KeepFiringFor) {
		problems = append(problems, fmt.Sprintf("%s: keep_firing_for %q is not a duration", where, r.KeepFiringFor))
	}
	if !isSeverity(r.Labels["severity"]) {
		problems = append(problems, fmt.Sprintf("%s: labels.severity %q is not critical, warning or info", where, r.Labels["severity"]))
	}
	for _, a := range []string{"summary", "description", "runbook"} {
		if r.Annotations[a] == "" {
			problems = append(problems, fmt.Sprintf("%s: no %s annotation", where, a))
		}
	}
	for k, v := range r.Annotations {
		if err := parseAlertTemplate(v); err != nil {
			problems = append(problems, fmt.Sprintf("%s: annotation %s: %v", where, k, err))
		}
	}
	for k, v := range r.Labels {
		if err := parseAlertTemplate(v); err != nil {
			problems = append(problems, fmt.Sprintf("%s: label %s: %v", where, k, err))
		}
	}
	return problems
}

// Exprs returns the rules' expressions.
func (f RuleFile) Exprs() []Expr {
	var out []Expr
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, Expr{Where: "alert " + r.Alert, Expr: r.Expr})
		}
	}
	return out
}

// parseAlertTemplate parses an annotation or label the way Prometheus
// expands it: a Go template with $labels, $value and $externalLabels
// defined, and Prometheus' functions (those these rules may use are
// stubbed; any other is an error).
func parseAlertTemplate(text string) error {
	const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	stub := func(v any) string { return fmt.Sprint(v) }
	_, err := template.New("alert").Funcs(template.FuncMap{
		"humanize": stub, "humanizeDuration": stub, "humanizePercentage": stub, "humanize1024": stub,
		"toUpper": stub, "toLower": stub, "title": stub,
	}).Parse(defs + text)
	if err != nil {
		return fmt.Errorf("template: %w", err)
	}
	return nil
}
