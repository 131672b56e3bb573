package trace

import "github.com/prometheus/client_golang/prometheus"

// metrics are the ring's Prometheus collectors (metalgit_trace_…).
type metrics struct {
	events  *prometheus.CounterVec
	macsG   *prometheus.GaugeVec
	evicts  *prometheus.CounterVec
	byEvent map[[2]string]prometheus.Counter
	// Resolved once: known="true" and known="false".
	knownMACs, unknownMACs     prometheus.Gauge
	knownEvicts, unknownEvicts prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_trace_events_total",
			Help: "Boot trace events recorded, by server (dhcp, tftp, http, callback) and kind.",
		}, []string{"server", "kind"}),
		macsG: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metalgit_trace_macs",
			Help: "MACs the boot trace holds events of, by known (in the host table when first recorded: true, false).",
		}, []string{"known"}),
		evicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_trace_evicted_macs_total",
			Help: "MACs dropped from the boot trace with their events to make room for another, by known (true, false).",
		}, []string{"known"}),
		byEvent: map[[2]string]prometheus.Counter{},
	}
	for server, kinds := range kindsOf {
		for _, k := range kinds {
			m.byEvent[[2]string{server, k}] = m.events.WithLabelValues(server, k)
		}
	}
	m.knownMACs, m.unknownMACs = m.macsG.WithLabelValues("true"), m.macsG.WithLabelValues("false")
	m.knownEvicts, m.unknownEvicts = m.evicts.WithLabelValues("true"), m.evicts.WithLabelValues("false")
	return m
}

// event counts one event. byEvent is never written after newMetrics.
func (m *metrics) event(server, kind string) {
	if c, ok := m.byEvent[[2]string{server, kind}]; ok {
		c.Inc()
		return
	}
	m.events.WithLabelValues(server, kind).Inc()
}

func (m *metrics) macs(known, unknown int) {
	m.knownMACs.Set(float64(known))
	m.unknownMACs.Set(float64(unknown))
}

func (m *metrics) evicted(known bool) {
	if known {
		m.knownEvicts.Inc()
		return
	}
	m.unknownEvicts.Inc()
}

// Register registers the ring's metrics on reg.
func (r *Ring) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{r.metrics.events, r.metrics.macsG, r.metrics.evicts} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
