package dhcp

import (
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/metalgit/metalgit/boot"
)

// metrics are the server's Prometheus collectors (metalgit_dhcp_…).
type metrics struct {
	received   *prometheus.CounterVec
	outcomes   *prometheus.CounterVec
	unknown    prometheus.Counter
	naks       prometheus.Counter
	declines   prometheus.Counter
	sendErrors prometheus.Counter
	malformed  prometheus.Counter
	latency    prometheus.Histogram
	hosts      prometheus.GaugeFunc
	// The counters of the label values created up front, resolved once:
	// WithLabelValues hashes its labels on every call.
	receivedByType map[dhcpv4.MessageType]prometheus.Counter
	byOutcome      map[Outcome]prometheus.Counter
}

// newMetrics creates the collectors, with their label values at zero, and
// registers them with reg when it is not nil. The hosts gauge reads the
// table in store (0 for none) when it is scraped.
func newMetrics(reg prometheus.Registerer, store *boot.Store) (*metrics, error) {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_dhcp_packets_received_total",
			Help: "DHCP packets received, by message type.",
		}, []string{"type"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metalgit_dhcp_requests_total",
			Help: "DHCP requests handled, by outcome (offer, ack, nak, inform-ack, release, decline, unknown-mac, other-server, ignored).",
		}, []string{"outcome"}),
		unknown: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metalgit_dhcp_unknown_macs_total",
			Help: "DHCP requests from MAC addresses not in the host table (never answered).",
		}),
		naks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metalgit_dhcp_naks_total",
			Help: "DHCPNAKs sent: a client asked for an address that is not its own.",
		}),
		declines: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metalgit_dhcp_declines_total",
			Help: "DHCPDECLINEs received: a client found its address in use on the network.",
		}),
		sendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metalgit_dhcp_send_errors_total",
			Help: "Replies that could not be sent.",
		}),
		malformed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "metalgit_dhcp_malformed_packets_total",
			Help: "Packets that are not DHCP (not answered).",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "metalgit_dhcp_reply_duration_seconds",
			Help:    "Time from receiving a request to sending its reply.",
			Buckets: []float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3},
		}),
		hosts: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "metalgit_dhcp_hosts",
			Help: "Hosts in the table the server answers from (0 until the first table is in).",
		}, func() float64 {
			if store == nil {
				return 0
			}
			if t := store.Load(); t != nil {
				return float64(t.Len())
			}
			return 0
		}),
	}
	// Known label values exist from the start, so dashboards see zeros.
	m.receivedByType = make(map[dhcpv4.MessageType]prometheus.Counter)
	m.byOutcome = make(map[Outcome]prometheus.Counter)
	for _, t := range []dhcpv4.MessageType{dhcpv4.MessageTypeDiscover, dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeDecline,
		dhcpv4.MessageTypeRelease, dhcpv4.MessageTypeInform} {
		m.receivedByType[t] = m.received.WithLabelValues(typeLabel(t))
	}
	for _, o := range []Outcome{OutcomeOffer, OutcomeAck, OutcomeNak, OutcomeInformAck, OutcomeRelease, OutcomeDecline,
		OutcomeUnknownMAC, OutcomeOtherServer, OutcomeIgnored} {
		m.byOutcome[o] = m.outcomes.WithLabelValues(string(o))
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.received, m.outcomes, m.unknown, m.naks, m.declines, m.sendErrors, m.malformed, m.latency, m.hosts} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RegisterMetrics registers the server's metrics on reg, with their label
// values at zero, as New does (the hosts gauge reading store, which may
// be nil). metalgit's metric lint gathers every package's metrics this
// way.
func RegisterMetrics(reg prometheus.Registerer, store *boot.Store) error {
	_, err := newMetrics(reg, store)
	return err
}

// typeLabel is a message type as a metric label: discover, request, …
func typeLabel(t dhcpv4.MessageType) string {
	switch t {
	case dhcpv4.MessageTypeDiscover:
		return "discover"
	case dhcpv4.MessageTypeOffer:
		return "offer"
	case dhcpv4.MessageTypeRequest:
		return "request"
	case dhcpv4.MessageTypeDecline:
		return "decline"
	case dhcpv4.MessageTypeAck:
		return "ack"
	case dhcpv4.MessageTypeNak:
		return "nak"
	case dhcpv4.MessageTypeRelease:
		return "release"
	case dhcpv4.MessageTypeInform:
		return "inform"
	case dhcpv4.MessageTypeNone:
		return "bootp"
	}
	return "other"
}

func (m *metrics) count(mt dhcpv4.MessageType, res Result) {
	if c, ok := m.receivedByType[mt]; ok {
		c.Inc()
	} else {
		m.received.WithLabelValues(typeLabel(mt)).Inc()
	}
	if c, ok := m.byOutcome[res.Outcome]; ok {
		c.Inc()
	} else {
		m.outcomes.WithLabelValues(string(res.Outcome)).Inc()
	}
	switch res.Outcome {
	case OutcomeUnknownMAC:
		m.unknown.Inc()
	case OutcomeNak:
		m.naks.Inc()
	case OutcomeDecline:
		m.declines.Inc()
	}
}
