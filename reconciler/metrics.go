package reconciler

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricsNamespace prefixes every metric name.
const MetricsNamespace = "metalgit"

// Result labels of the reconcile metrics.
const (
	ResultSuccess = "success" // the pass finished (pushed or nothing to push)
	ResultInvalid = "invalid" // ErrInvalidInventory: the inventory or state at the head is invalid
	ResultError   = "error"   // any other failure (fetch, push, render, …)
	// ResultDeferred: the pass left its changes to the writer it follows
	// (Result.Deferred).
	ResultDeferred = "deferred"
)

// Metrics holds the reconcile metrics in their own registry.
type Metrics struct {
	// Registry holds the metrics below and nothing else; serve it with
	// promhttp.HandlerFor.
	Registry *prometheus.Registry

	duration        *prometheus.HistogramVec
	total           *prometheus.CounterVec
	commitsPushed   prometheus.Counter
	commitDuration  prometheus.Histogram
	conflictRetries prometheus.Counter
	poolAllocations *prometheus.GaugeVec
	poolFree        *prometheus.GaugeVec
	webhookRequests *prometheus.CounterVec
	webhookReads    prometheus.Gauge
}

// NewMetrics registers the reconcile metrics in a new registry, with the
// result label values pre-initialised.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "reconcile_duration_seconds",
			Help:    "Duration of reconcile passes, by result.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"result"}),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "reconcile_total",
			Help: "Reconcile passes, by result (success, invalid, error, deferred).",
		}, []string{"result"}),
		commitsPushed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "commits_pushed_total",
			Help: "State commits pushed.",
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "state_commit_duration_seconds",
			Help:    "Time from the start of a pass's commit step to its state commit pushed, conflict retries included; passes that pushed only.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
		}),
		conflictRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "push_conflicts_retried_total",
			Help: "Pushes rejected because the remote moved, followed by a refetch and a new attempt.",
		}),
		poolAllocations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: MetricsNamespace, Name: "pool_allocations",
			Help: "Addresses allocated per IP pool after the last successful pass.",
		}, []string{"pool"}),
		poolFree: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: MetricsNamespace, Name: "pool_free_addresses",
			Help: "Free addresses per IP pool after the last successful pass.",
		}, []string{"pool"}),
	}
	m.webhookRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: MetricsNamespace, Name: "webhook_requests_total",
		Help: "Webhook requests, by result (accepted, unauthorized, too_large, timeout, busy, bad_request, method_not_allowed).",
	}, []string{"result"})
	m.webhookReads = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: MetricsNamespace, Name: "webhook_body_reads_in_flight",
		Help: "Webhook request bodies being read, before their signature is checked.",
	})
	m.Registry.MustRegister(m.duration, m.total, m.commitsPushed, m.commitDuration, m.conflictRetries, m.poolAllocations, m.poolFree,
		m.webhookRequests, m.webhookReads)
	for _, r := range []string{ResultSuccess, ResultInvalid, ResultError, ResultDeferred} {
		m.duration.WithLabelValues(r)
		m.total.WithLabelValues(r)
	}
	for _, r := range webhookResults {
		m.webhookRequests.WithLabelValues(r)
	}
	return m
}

// webhookResult counts one webhook request.
func (m *Metrics) webhookResult(result string) {
	if m != nil {
		m.webhookRequests.WithLabelValues(result).Inc()
	}
}

// webhookReading adds delta to the bodies being read.
func (m *Metrics) webhookReading(delta float64) {
	if m != nil {
		m.webhookReads.Add(delta)
	}
}

// resultLabel classifies a pass's error.
func resultLabel(err error) string {
	switch {
	case err == nil:
		return ResultSuccess
	case errors.Is(err, ErrInvalidInventory):
		return ResultInvalid
	default:
		return ResultError
	}
}

// observe records one pass. maxAttempts is the reconciler's push bound,
// used to count the retries of a pass that gave up (it returns no Result).
func (m *Metrics) observe(res *Result, err error, d time.Duration, maxAttempts int) {
	if m == nil {
		return
	}
	label := resultLabel(err)
	if err == nil && res != nil && res.Deferred {
		label = ResultDeferred
	}
	m.duration.WithLabelValues(label).Observe(d.Seconds())
	m.total.WithLabelValues(label).Inc()
	if res != nil {
		// A pass whose apply failed returns its Result with the error:
		// its push happened all the same.
		if res.Pushed {
			m.commitsPushed.Inc()
			m.commitDuration.Observe(res.CommitDuration.Seconds())
		}
		if res.Attempts > 1 {
			m.conflictRetries.Add(float64(res.Attempts - 1))
		}
	}
	switch {
	case err == nil && res != nil && res.Plan != nil && !res.Deferred:
		// Pools dropped from the inventory disappear from the metrics.
		m.poolAllocations.Reset()
		m.poolFree.Reset()
		for _, p := range res.Plan.Pools {
			m.poolAllocations.WithLabelValues(p.Pool).Set(float64(p.Used))
			m.poolFree.WithLabelValues(p.Pool).Set(float64(p.Free))
		}
	case errors.Is(err, ErrPushAttempts) && maxAttempts > 1:
		m.conflictRetries.Add(float64(maxAttempts - 1))
	}
}
