package tftp

import "github.com/prometheus/client_golang/prometheus"

// Result is how a transfer ended; it is the label of the metrics and the
// "result" attribute of the logs.
type Result string

// Results.
const (
	// ResultCompleted: the client acknowledged the last block.
	ResultCompleted Result = "completed"
	// ResultProbe: the client asked for tsize and ended the transfer
	// after the OACK, as EDK2 does to learn a file's size.
	ResultProbe Result = "probe"
	// ResultFailed: the transfer started and did not complete (the
	// client went silent or aborted, the transfer ran out of time, the
	// server stopped).
	ResultFailed Result = "failed"
	// ResultRefused: the request was answered with an ERROR packet at
	// once (see Reason).
	ResultRefused Result = "refused"
)

// Reason says why a request was refused; it is the label of
// metalgit_tftp_refusals_total and the "reason" attribute of the logs.
type Reason string

// Reasons.
const (
	ReasonWrite        Reason = "write"         // a write request: nothing is written
	ReasonAbsolutePath Reason = "absolute-path" // a file name starting with /
	ReasonOutsideRoot  Reason = "outside-root"  // "..", or a symbolic link, leading out of the root
	ReasonNotFound     Reason = "not-found"     // no such file under the root
	ReasonNotAFile     Reason = "not-a-file"    // a directory, device, FIFO or socket
	ReasonPermission   Reason = "permission"    // the server may not read the file
	ReasonBusy         Reason = "busy"          // Config.MaxTransfers transfers are running, all acknowledged
	ReasonClientBusy   Reason = "client-busy"   // Config.MaxTransfersPerClient transfers of the client are running, all acknowledged
)

var (
	results = []Result{ResultCompleted, ResultProbe, ResultFailed, ResultRefused}
	reasons = []Reason{ReasonWrite, ReasonAbsolutePath, ReasonOutsideRoot, ReasonNotFound, ReasonNotAFile,
		ReasonPermission, ReasonBusy, ReasonClientBusy}
)

// Kinds of packets the server drops before a transfer starts: no answer
// is sent.
const (
	dropMalformed = "malformed" // not a read or write request, or one that does not parse
	dropSocket    = "socket"    // the transfer's socket could not be opened
)

// metrics are the server's Prometheus collectors (metalgit_tftp_…).
type metrics struct {
	transfers *prometheus.CounterVec
	refusals  *prometheus.CounterVec
	dropped   *prometheus.CounterVec
	sent      prometheus.Counter
	evicted   prometheus.Counter
	duration  prometheus.Histogram
	inFlight  prometheus.Gauge
	// The counters of the label values created up front, resolved once.
	byResult  map[Result]prometheus.Counter
	byReason  map[Reason]prometheus.Counter
	byDropped map[string]prometheus.Counter
}

// newMetrics creates the collectors, with their label values at zero, and
// registers them with reg when it is not nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_tftp_transfers_total",
			Help: "TFTP requests handled, by result (completed, probe, failed, refused).",
		}, []string{"result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_tftp_refusals_total",
			Help: "TFTP requests refused with an ERROR packet, by reason (write, absolute-path, outside-root, not-found, not-a-file, permission, busy, client-busy).",
		}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_tftp_dropped_requests_total",
			Help: "Packets on the TFTP port dropped without an answer, by kind (malformed: not a request; socket: no socket for the transfer).",
		}, []string{"kind"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metalgit_tftp_sent_bytes_total",
			Help: "File bytes sent in DATA packets and acknowledged by the clients (those of failed transfers included).",
		}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metalgit_tftp_evicted_total",
			Help: "Transfers ended before their client acknowledged anything, their slot taken by a newer request (a burst of requests, or requests with forged addresses).",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "metalgit_tftp_transfer_duration_seconds",
			Help:    "Time from a read request to the acknowledgement of the last block, for completed transfers.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metalgit_tftp_transfers_in_flight",
			Help: "Transfers running now (at most the configured maximum).",
		}),
		byResult:  map[Result]prometheus.Counter{},
		byReason:  map[Reason]prometheus.Counter{},
		byDropped: map[string]prometheus.Counter{},
	}
	// Known label values exist from the start, so dashboards see zeros.
	for _, r := range results {
		m.byResult[r] = m.transfers.WithLabelValues(string(r))
	}
	for _, r := range reasons {
		m.byReason[r] = m.refusals.WithLabelValues(string(r))
	}
	for _, k := range []string{dropMalformed, dropSocket} {
		m.byDropped[k] = m.dropped.WithLabelValues(k)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.transfers, m.refusals, m.dropped, m.sent, m.evicted, m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RegisterMetrics registers the server's metrics on reg, with their label
// values at zero, as New does. metalgit's metric lint gathers every
// package's metrics this way.
func RegisterMetrics(reg prometheus.Registerer) error {
	_, err := newMetrics(reg)
	return err
}
