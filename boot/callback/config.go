package callback

import (
	"errors"
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

// FieldError is a problem with one Config field.
type FieldError = boot.FieldError

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
		errs = append(errs, &FieldError{Field: "IronicAPIURL", Err: err})
	}
	if u.inspector, err = baseURL(c.InspectorURL, false); err != nil {
		errs = append(errs, &FieldError{Field: "InspectorURL", Err: err})
	}
	if u.agentProxy, err = baseURL(c.AgentProxyURL, true); err != nil {
		errs = append(errs, &FieldError{Field: "AgentProxyURL", Err: err})
	}
	if c.Hosts == nil {
		errs = append(errs, &FieldError{Field: "Hosts", Err: errors.New("required (who may call, which agents may be dialled)")})
	}
	errs = append(errs, boot.ApplyLimits(
		boot.Limit[int64]{Field: "MaxBodyBytes", Value: &c.MaxBodyBytes, Default: DefaultMaxBodyBytes},
		boot.Limit[int64]{Field: "MaxInspectionBytes", Value: &c.MaxInspectionBytes, Default: DefaultMaxInspectionBytes},
		boot.Limit[int64]{Field: "MaxAgentBodyBytes", Value: &c.MaxAgentBodyBytes, Default: DefaultMaxAgentBodyBytes}))
	errs = append(errs, boot.ApplyLimits(
		boot.Limit[int]{Field: "MaxRequests", Value: &c.MaxRequests, Default: DefaultMaxRequests},
		boot.Limit[int]{Field: "MaxAgents", Value: &c.MaxAgents, Default: DefaultMaxAgents}))
	errs = append(errs, boot.ApplyLimits(
		boot.Limit[time.Duration]{Field: "ReadHeaderTimeout", Value: &c.ReadHeaderTimeout, Default: DefaultReadHeaderTimeout},
		boot.Limit[time.Duration]{Field: "DialTimeout", Value: &c.DialTimeout, Default: DefaultDialTimeout},
		boot.Limit[time.Duration]{Field: "IronicTimeout", Value: &c.IronicTimeout, Default: DefaultIronicTimeout},
		boot.Limit[time.Duration]{Field: "AgentTimeout", Value: &c.AgentTimeout, Default: DefaultAgentTimeout},
		boot.Limit[time.Duration]{Field: "ShutdownGrace", Value: &c.ShutdownGrace, Default: DefaultShutdownGrace}))
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
