package bmh

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricSkipped is the gauge of the BareMetalHosts left out of the host
// table at the last build, by the field that made each unusable.
const MetricSkipped = "metalgit_bmh_hosts_skipped"

// metrics are the watch's Prometheus collectors (metalgit_bmh_…).
type metrics struct {
	skipped *prometheus.GaugeVec
}

// newMetrics creates the collectors, with every field label value set to
// zero, and registers them with reg when it is not nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{skipped: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricSkipped,
		Help: "BareMetalHosts left out of the boot proxy's host table at the last build, by the field that made them unusable.",
	}, []string{"field"})}
	for _, f := range Fields() {
		m.skipped.WithLabelValues(f)
	}
	if reg != nil {
		if err := reg.Register(m.skipped); err != nil {
			return nil, fmt.Errorf("bmh: register metrics: %w", err)
		}
	}
	return m, nil
}

// RegisterMetrics registers the watch's metrics on reg, with every field
// label value at zero, as Run does. metalgit's metric lint gathers every
// package's metrics this way.
func RegisterMetrics(reg prometheus.Registerer) error {
	_, err := newMetrics(reg)
	return err
}

// observe sets the gauge from one build's skipped BareMetalHosts.
func (m *metrics) observe(skipped []*FieldError) {
	counts := make(map[string]int, len(Fields()))
	for _, f := range Fields() {
		counts[f] = 0
	}
	for _, fe := range skipped {
		counts[fe.Field]++
	}
	for f, n := range counts {
		m.skipped.WithLabelValues(f).Set(float64(n))
	}
}
