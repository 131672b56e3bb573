// Package observability checks the Grafana dashboard and the Prometheus
// alerting rules under deploy/observability against the metrics
// metalgit serves: it reads the metric and label names of PromQL
// expressions (ParseRefs), the expressions of a dashboard's panels and
// variables and of a PrometheusRule's alerts, checks the files' shape
// (Dashboard.Problems, PrometheusRule.Problems) and every name against
// the families a registry gathers (Families, CheckExprs).
//
// ParseRefs is a scanner, not the Prometheus parser: the parser's
// module (github.com/prometheus/prometheus) would bring a 35 MB module
// and a module graph of some 250 modules, and raise client_golang and
// prometheus/common under the product, for a test.
package observability
