package callback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// Server is the callback proxy. Create it with New, then Serve.
type Server struct {
	cfg        Config
	up         upstreams
	metrics    *metrics
	agents     *agents
	transports *agentTransports
	ironic     *http.Transport
	slots      chan struct{}
	mux        *http.ServeMux
}

// New checks the configuration and registers the metrics; every problem
// names its field.
func New(cfg Config) (*Server, error) {
	cfg, up, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("callback proxy: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("callback proxy: register metrics: %w", err)
	}
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	s := &Server{cfg: cfg, up: up, metrics: m, agents: newAgents(cfg.MaxAgents),
		transports: newAgentTransports(cfg.DialTimeout, cfg.InsecureSkipVerify),
		ironic: &http.Transport{Proxy: nil, DialContext: d.DialContext, TLSHandshakeTimeout: cfg.DialTimeout,
			DisableCompression: true, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second},
		slots: make(chan struct{}, cfg.MaxRequests)}
	s.routes()
	return s, nil
}

// Config returns the configuration with its defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// routes lists everything the proxy answers; the mux answers 404 (and
// 405) to the rest.
func (s *Server) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.toIronic(routeRoot, s.cfg.MaxBodyBytes, nil))
	mux.HandleFunc("GET /v1", s.toIronic(routeV1, s.cfg.MaxBodyBytes, nil))
	mux.HandleFunc("GET /v1/{$}", s.toIronic(routeV1, s.cfg.MaxBodyBytes, nil))
	mux.HandleFunc("GET /v1/lookup", s.toIronic(routeLookup, s.cfg.MaxBodyBytes, checkLookup))
	mux.HandleFunc("POST /v1/heartbeat/{node}", s.heartbeat)
	mux.HandleFunc("POST /v1/continue_inspection", s.toIronic(routeInspection, s.cfg.MaxInspectionBytes, nil))
	mux.HandleFunc("POST /v1/continue", s.toIronic(routeInspector, s.cfg.MaxInspectionBytes, nil))
	mux.HandleFunc("/agents/{node}/{rest...}", s.toAgent)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.refuse(w, r, http.StatusNotFound, reasonPath, toIronic, "other",
			"not found: the callback proxy passes only the agent's lookup, heartbeat and inspection data to Ironic")
	})
	s.mux = mux
}

// Handler returns what Serve serves: the routes behind the concurrency
// bound.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		default:
			w.Header().Set("Retry-After", "1")
			s.refuse(w, r, http.StatusServiceUnavailable, reasonBusy, "", "other", "busy: too many requests, try again")
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

// Listen opens a TCP socket on addr (DefaultListen when "").
func (s *Server) Listen(ctx context.Context, addr string) (net.Listener, error) {
	if addr == "" {
		addr = DefaultListen
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("callback proxy: %w", err)
	}
	return ln, nil
}

// Serve answers ln until ctx ends, then gives running requests
// Config.ShutdownGrace and closes what is left.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		MaxHeaderBytes:    16 << 10,
		IdleTimeout:       time.Minute,
		// Set, so that the server resets each request's write deadline:
		// one set by bound for a request must not carry over to the next
		// request of a kept-alive connection.
		WriteTimeout: s.cfg.AgentTimeout + answerGrace,
		ErrorLog:     slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
	}
	s.cfg.Logger.Info("callback proxy listening", "addr", ln.Addr().String(), "ironic", s.up.ironic.Redacted(),
		"inspector", s.up.inspector.Redacted(), "agent_proxy_url", s.up.agentProxy.Redacted())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("callback proxy: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("callback proxy: serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// clientAddr is the address a request came from.
func clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
