package callback

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/trace"
)

// Defaults.
const (
	DefaultListen = "0.0.0.0:8081"
	// DefaultMaxBodyBytes bounds a lookup's or heartbeat's body; IPA's
	// heartbeat is a few hundred bytes, with a TLS certificate a few KiB.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxInspectionBytes bounds inspection data: the hardware
	// inventory, extra-hardware facts and the agent's logs.
	DefaultMaxInspectionBytes = 32 << 20
	// DefaultMaxAgentBodyBytes bounds a request of Ironic to an agent
	// (a deploy command carries the configuration drive).
	DefaultMaxAgentBodyBytes = 128 << 20
	// DefaultMaxRequests bounds the requests served at once.
	DefaultMaxRequests = 256
	// DefaultMaxAgents bounds the agents remembered (node → address).
	DefaultMaxAgents = 4096
	// DefaultReadHeaderTimeout bounds the reading of a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultDialTimeout bounds connecting to Ironic or to an agent.
	DefaultDialTimeout = 5 * time.Second
	// DefaultIronicTimeout bounds a whole request of the agent to Ironic.
	DefaultIronicTimeout = 2 * time.Minute
	// DefaultAgentTimeout bounds a whole request of Ironic to an agent:
	// Ironic waits for synchronous commands (wait=true) that long and
	// more only for image writes, which it polls instead.
	DefaultAgentTimeout = 10 * time.Minute
	// DefaultShutdownGrace is how long running requests may go on once
	// the server is told to stop.
	DefaultShutdownGrace = 5 * time.Second
)

// Config configures a Server.
type Config struct {
	// IronicAPIURL is Ironic's API (http://ironic:6385); without it, the
	// host table's Site's (boot.Site), and without that the agent's
	// routes answer 503.
	IronicAPIURL string
	// InspectorURL is ironic-inspector (http://inspector:5050); POST
	// /v1/continue answers 404 without it.
	InspectorURL string
	// AgentProxyURL is the base of the callback_url Ironic is given,
	// as Ironic reaches this proxy (http://192.168.100.2:8081). Required.
	AgentProxyURL string
	// InsecureSkipVerify dials TLS agents without checking their
	// certificate.
	InsecureSkipVerify bool
	// Hosts is the host table: who may call, and which agents may be
	// dialled. Required.
	Hosts *boot.Store
	// Trace records lookups, heartbeats, inspection data and Ironic's
	// calls to agents (nil: nothing is recorded).
	Trace *trace.Ring

	// Limits (the Default… constants when zero).
	MaxBodyBytes       int64
	MaxInspectionBytes int64
	MaxAgentBodyBytes  int64
	MaxRequests        int
	MaxAgents          int
	ReadHeaderTimeout  time.Duration
	DialTimeout        time.Duration
	IronicTimeout      time.Duration
	AgentTimeout       time.Duration
	ShutdownGrace      time.Duration

	// Logger (slog.Default when nil); Registerer receives the metrics
	// (none when nil).
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// FieldError is a problem with one field of a Config.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// upstreams are the parsed URLs of a Config.
type upstreams struct {
	ironic, inspector, agentProxy *url.URL
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults() (Config, upstreams, error) {
	var errs []error
	var u upstreams
	var err error
	if u.ironic, err = baseURL(c.IronicAPIURL, false); err != nil {
		errs = append(errs, &FieldError{"IronicAPIURL", err})
	}
	if u.inspector, err = baseURL(c.InspectorURL, false); err != nil {
		errs = append(errs, &FieldError{"InspectorURL", err})
	}
	if u.agentProxy, err = baseURL(c.AgentProxyURL, true); err != nil {
		errs = append(errs, &FieldError{"AgentProxyURL", err})
	}
	if c.Hosts == nil {
		errs = append(errs, &FieldError{"Hosts", errors.New("required (who may call, which agents may be dialled)")})
	}
	for _, n := range []struct {
		name string
		v    *int64
		def  int64
	}{{"MaxBodyBytes", &c.MaxBodyBytes, DefaultMaxBodyBytes}, {"MaxInspectionBytes", &c.MaxInspectionBytes, DefaultMaxInspectionBytes},
		{"MaxAgentBodyBytes", &c.MaxAgentBodyBytes, DefaultMaxAgentBodyBytes}} {
		if *n.v == 0 {
			*n.v = n.def
		}
		if *n.v < 0 {
			errs = append(errs, &FieldError{n.name, fmt.Errorf("%d: must be at least 1", *n.v)})
		}
	}
	for _, n := range []struct {
		name string
		v    *int
		def  int
	}{{"MaxRequests", &c.MaxRequests, DefaultMaxRequests}, {"MaxAgents", &c.MaxAgents, DefaultMaxAgents}} {
		if *n.v == 0 {
			*n.v = n.def
		}
		if *n.v < 0 {
			errs = append(errs, &FieldError{n.name, fmt.Errorf("%d: must be at least 1", *n.v)})
		}
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{{"ReadHeaderTimeout", &c.ReadHeaderTimeout, DefaultReadHeaderTimeout}, {"DialTimeout", &c.DialTimeout, DefaultDialTimeout},
		{"IronicTimeout", &c.IronicTimeout, DefaultIronicTimeout}, {"AgentTimeout", &c.AgentTimeout, DefaultAgentTimeout},
		{"ShutdownGrace", &c.ShutdownGrace, DefaultShutdownGrace}} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < 0 {
			errs = append(errs, &FieldError{d.name, fmt.Errorf("%s: must be positive", *d.v)})
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, u, errors.Join(errs...)
}

// baseURL parses a base URL (boot.ParseBaseURL); "" is nil unless
// required.
func baseURL(s string, required bool) (*url.URL, error) {
	if s == "" {
		if required {
			return nil, errors.New("required")
		}
		return nil, nil
	}
	return boot.ParseBaseURL(s)
}
