package apply

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are an Applier's Prometheus metrics; a nil *Metrics records
// nothing.
type Metrics struct {
	objects  *prometheus.CounterVec
	drift    *prometheus.CounterVec
	duration prometheus.Histogram
	last     *prometheus.GaugeVec
}

// NewMetrics registers the apply metrics with reg (none when reg is nil).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_apply_objects_total",
			Help: "Objects passes applied to the cluster, by outcome (created, updated, unchanged, adopted, pruned, deleting, held, failed, conflict).",
		}, []string{"outcome"}),
		drift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_apply_drift_total",
			Help: "Rendered fields another field manager had changed and metalgit took back, by object kind (the manager is in the log and in status).",
		}, []string{"kind"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "metalgit_apply_duration_seconds",
			Help:    "Time a pass took to apply and prune its objects.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 10),
		}),
		last: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metalgit_apply_last_objects",
			Help: "Objects of the last apply, by outcome.",
		}, []string{"outcome"}),
	}
	for _, o := range outcomes {
		m.objects.WithLabelValues(string(o))
		m.last.WithLabelValues(string(o))
	}
	for _, k := range []string{"BareMetalHost", "Secret"} {
		m.drift.WithLabelValues(k)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.objects, m.drift, m.duration, m.last} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("apply metrics: %w", err)
		}
	}
	return m, nil
}

var outcomes = []Outcome{Created, Updated, Unchanged, Adopted, Pruned, Deleting, Held, Failed, Conflict}

func (m *Metrics) observe(r *Result) {
	if m == nil {
		return
	}
	for _, o := range outcomes {
		m.objects.WithLabelValues(string(o)).Add(float64(r.Counts[o]))
		m.last.WithLabelValues(string(o)).Set(float64(r.Counts[o]))
	}
	for _, d := range r.Drift {
		m.drift.WithLabelValues(d.Object.Kind).Inc()
	}
	m.duration.Observe(r.Duration.Seconds())
}
