package callback

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Directions of a request.
const (
	toIronic = "to_ironic"
	toAgent  = "to_agent"
)

type metrics struct {
	requests  *prometheus.CounterVec
	refused   *prometheus.CounterVec
	upstream  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	agents    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_callback_requests_total",
			Help: "Requests the callback proxy answered, by direction (to_ironic, to_agent), route and status code.",
		}, []string{"direction", "route", "code"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_callback_refused_total",
			Help: "Requests the callback proxy refused without forwarding them, by reason.",
		}, []string{"reason"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_callback_upstream_errors_total",
			Help: "Forwarded requests that failed to reach Ironic or an agent, or timed out, by direction.",
		}, []string{"direction"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "metalgit_callback_request_duration_seconds",
			Help:    "Time to answer a forwarded request, by direction.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 9),
		}, []string{"direction"}),
		agents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metalgit_callback_agents",
			Help: "Agents the callback proxy can reach: nodes whose heartbeat Ironic accepted.",
		}),
	}
	// Every series a dashboard expects exists at zero from the start.
	for _, d := range []string{toIronic, toAgent} {
		m.upstream.WithLabelValues(d)
		m.durations.WithLabelValues(d)
	}
	for _, r := range []string{routeLookup, routeHeartbeat, routeInspection, routeInspector} {
		m.requests.WithLabelValues(toIronic, r, "200")
	}
	m.requests.WithLabelValues(toAgent, routeAgent, "200")
	for _, r := range []string{reasonPath, reasonBusy, reasonNotLease, reasonLookupMAC, reasonBody, reasonCallback,
		reasonNoUpper, reasonNoAgent, reasonFromLease} {
		m.refused.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.refused, m.upstream, m.durations, m.agents} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RegisterMetrics registers the callback proxy's metrics with reg (for
// the metric-name lint).
func RegisterMetrics(reg prometheus.Registerer) error {
	_, err := newMetrics(reg)
	return err
}
