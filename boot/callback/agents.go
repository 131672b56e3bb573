package callback

import (
	"container/list"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// agent is where a node's agent listens, learnt from a heartbeat Ironic
// accepted.
type agent struct {
	node string
	// mac is the host whose lease addr was when the agent heartbeated.
	mac    string
	scheme string
	addr   netip.AddrPort
	// path is the callback_url's path (IPA sends none).
	path string
	// transport dials this agent (its own for a TLS agent: its CA).
	transport http.RoundTripper
	element   *list.Element
}

// agents remembers node → agent, at most max, the least recently
// heartbeated forgotten first.
type agents struct {
	mu    sync.Mutex
	max   int
	nodes map[string]*agent
	order *list.List // of *agent, most recent first
}

func newAgents(limit int) *agents {
	return &agents{max: limit, nodes: map[string]*agent{}, order: list.New()}
}

// put records a node's agent and returns how many are remembered.
func (a *agents) put(ag *agent) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if old := a.nodes[ag.node]; old != nil {
		a.order.Remove(old.element)
	}
	for a.order.Len() >= a.max {
		oldest := a.order.Back()
		if old, ok := a.order.Remove(oldest).(*agent); ok {
			delete(a.nodes, old.node)
		}
	}
	ag.element = a.order.PushFront(ag)
	a.nodes[ag.node] = ag
	return len(a.nodes)
}

func (a *agents) get(node string) *agent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nodes[node]
}

// agentTransports builds the transports that dial agents.
type agentTransports struct {
	dialTimeout time.Duration
	insecure    bool
	plain       *http.Transport
}

func newAgentTransports(dialTimeout time.Duration, insecure bool) *agentTransports {
	return &agentTransports{dialTimeout: dialTimeout, insecure: insecure, plain: agentTransport(dialTimeout, nil)}
}

// forScheme returns the transport of an agent: the shared plain one for
// http, one verifying caPEM (or nothing, when insecure) for https. An
// https agent without a CA is verified against the system roots.
func (t *agentTransports) forScheme(scheme string, caPEM []byte) (http.RoundTripper, bool) {
	if scheme == "http" {
		return t.plain, true
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case t.insecure:
		cfg.InsecureSkipVerify = true //nolint:gosec // --callback-insecure-skip-verify
	case len(caPEM) > 0:
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, false
		}
		cfg.RootCAs = pool
	}
	return agentTransport(t.dialTimeout, cfg), true
}

func agentTransport(dialTimeout time.Duration, tlsCfg *tls.Config) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout}
	return &http.Transport{
		// Agents are dialled where their heartbeat says, never through an
		// environment proxy.
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   dialTimeout,
		DisableCompression:    true,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 0, // bounded by the request's context
	}
}
