package trace

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the ring's Prometheus collectors (metalgit_trace_…).
type metrics struct {
	events   *prometheus.CounterVec
	failed   *prometheus.CounterVec
	macsG    *prometheus.GaugeVec
	evicts   *prometheus.CounterVec
	byEvent  map[[2]string]prometheus.Counter
	byFailed map[failedKey]prometheus.Counter
	// Resolved once: known="true" and known="false".
	knownMACs, unknownMACs     prometheus.Gauge
	knownEvicts, unknownEvicts prometheus.Counter
}

// failedKey names a series of metalgit_trace_failed_events_total.
type failedKey struct {
	server, kind string
	known        bool
}

func newMetrics() *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_trace_events_total",
			Help: "Boot trace events recorded, by server (dhcp, tftp, http, callback) and kind.",
		}, []string{"server", "kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_trace_failed_events_total",
			Help: "Boot trace events marked failed (a NAK or DECLINE, a DHCP reply not sent, a TFTP transfer refused or failed, an HTTP status of 400 or more or a response cut off, a callback status that is not 2xx), by server, kind and known (in the host table: true, false).",
		}, []string{"server", "kind", "known"}),
		macsG: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metalgit_trace_macs",
			Help: "MACs the boot trace holds events of, by known (in the host table when first recorded: true, false).",
		}, []string{"known"}),
		evicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_trace_evicted_macs_total",
			Help: "MACs dropped from the boot trace with their events to make room for another, by known (true, false).",
		}, []string{"known"}),
		byEvent:  map[[2]string]prometheus.Counter{},
		byFailed: map[failedKey]prometheus.Counter{},
	}
	for server, kinds := range kindsOf {
		for _, k := range kinds {
			m.byEvent[[2]string{server, k}] = m.events.WithLabelValues(server, k)
			for _, known := range []bool{true, false} {
				m.byFailed[failedKey{server, k, known}] = m.failed.WithLabelValues(server, k, strconv.FormatBool(known))
			}
		}
	}
	m.knownMACs, m.unknownMACs = m.macsG.WithLabelValues("true"), m.macsG.WithLabelValues("false")
	m.knownEvicts, m.unknownEvicts = m.evicts.WithLabelValues("true"), m.evicts.WithLabelValues("false")
	return m
}

// event counts one event, and once more when it failed. byEvent and
// byFailed are never written after newMetrics.
func (m *metrics) event(server, kind string, known, failed bool) {
	if c, ok := m.byEvent[[2]string{server, kind}]; ok {
		c.Inc()
	} else {
		m.events.WithLabelValues(server, kind).Inc()
	}
	if !failed {
		return
	}
	if c, ok := m.byFailed[failedKey{server, kind, known}]; ok {
		c.Inc()
		return
	}
	m.failed.WithLabelValues(server, kind, strconv.FormatBool(known)).Inc()
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
	for _, c := range []prometheus.Collector{r.metrics.events, r.metrics.failed, r.metrics.macsG, r.metrics.evicts} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
