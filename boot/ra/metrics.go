package ra

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons an advertisement is sent, the "reason" label of
// metalgit_ra_advertisements_sent_total.
const (
	reasonStartup   = "startup"
	reasonPeriodic  = "periodic"
	reasonSolicited = "solicited"
)

// metrics are the responder's counters; unregistered when no Registerer
// is configured.
type metrics struct {
	sent          *prometheus.CounterVec
	solicitations prometheus.Counter
	sendErrors    prometheus.Counter
}

// newMetrics creates the counters and registers them with reg, if set.
// Counters already registered there (by an earlier responder) are reused.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_ra_advertisements_sent_total",
			Help: "Router advertisements sent, by reason (startup, periodic, solicited).",
		}, []string{"reason"}),
		solicitations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metalgit_ra_solicitations_received_total",
			Help: "Router solicitations received.",
		}),
		sendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metalgit_ra_send_errors_total",
			Help: "Router advertisements that could not be sent.",
		}),
	}
	// Known label values exist from the start, so dashboards see zeros.
	for _, r := range []string{reasonStartup, reasonPeriodic, reasonSolicited} {
		m.sent.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.sent, err = register(reg, m.sent); err != nil {
		return nil, err
	}
	if m.solicitations, err = register(reg, m.solicitations); err != nil {
		return nil, err
	}
	if m.sendErrors, err = register(reg, m.sendErrors); err != nil {
		return nil, err
	}
	return m, nil
}

// RegisterMetrics registers the responder's counters on reg, with their
// label values at zero, as Listen does; counters already there are
// reused. metalgit's metric lint gathers every package's metrics this
// way.
func RegisterMetrics(reg prometheus.Registerer) error {
	_, err := newMetrics(reg)
	return err
}

// register registers c with reg, or returns the collector already
// registered under the same description.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("ra: register metrics: %w", err)
}
