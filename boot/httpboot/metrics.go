package httpboot

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus collectors (metalgit_http_…).
type metrics struct {
	requests       *prometheus.CounterVec
	bytes          *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	upstreamErrors prometheus.Counter
	inFlight       prometheus.Gauge
}

// codes are the status codes whose series exist from the start, per
// route, so dashboards see zeros.
var codes = []int{200, 206, 304, 400, 403, 404, 405, 502, 503, 504}

// newMetrics creates the collectors, with their label values at zero, and
// registers them with reg when it is not nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_http_requests_total",
			Help: "HTTP boot requests answered, by route (script, binary, image) and status code.",
		}, []string{"route", "code"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_http_response_bytes_total",
			Help: "Response body bytes sent, by route (script, binary, image).",
		}, []string{"route"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "metalgit_http_request_duration_seconds",
			Help:    "Time from a request's headers to the end of its response, by route.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900},
		}, []string{"route"}),
		upstreamErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metalgit_http_upstream_errors_total",
			Help: "Image requests the image server failed: unreachable, no answer in time, or a body cut or stalled.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metalgit_http_requests_in_flight",
			Help: "HTTP boot requests being served now.",
		}),
	}
	for _, r := range routes {
		m.bytes.WithLabelValues(r)
		m.duration.WithLabelValues(r)
		for _, c := range codes {
			m.requests.WithLabelValues(r, strconv.Itoa(c))
		}
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.bytes, m.duration, m.upstreamErrors, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// request counts one answered request.
func (m *metrics) request(route string, code int, bytes int64, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.bytes.WithLabelValues(route).Add(float64(bytes))
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// RegisterMetrics registers the server's metrics on reg, with their label
// values at zero, as New does. metalgit's metric lint gathers every
// package's metrics this way.
func RegisterMetrics(reg prometheus.Registerer) error {
	_, err := newMetrics(reg)
	return err
}
