package httpboot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
)

// Server is the boot proxy's HTTP server. Create it with New, then Serve
// a listener from Listen; Handler serves without a listener (tests).
type Server struct {
	cfg      Config
	upstream *url.URL
	// buffers lends image downloads that cannot be spliced their copy
	// buffers.
	buffers *bufferPool
	metrics *metrics
	// slots holds one token per request being served (MaxRequests),
	// imageSlots one per image download (MaxImageStreams).
	slots      chan struct{}
	imageSlots chan struct{}
}

// New checks the configuration and registers the metrics. Every problem
// of the configuration is reported at once, each naming its field.
func New(cfg Config) (*Server, error) {
	cfg, upstream, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("http boot server: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("http boot server: register metrics: %w", err)
	}
	return &Server{cfg: cfg, upstream: upstream, metrics: m, buffers: newBufferPool(),
		slots: make(chan struct{}, cfg.MaxRequests), imageSlots: make(chan struct{}, cfg.MaxImageStreams)}, nil
}

// Config returns the configuration with its defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Handler returns the server's handler: what Serve serves, without the
// listener's limits (connections, header size and time).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Listen opens the server's TCP socket on Config.Listen.
func (s *Server) Listen(ctx context.Context) (net.Listener, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", s.cfg.Listen.String())
	if err != nil {
		return nil, fmt.Errorf("http boot server: listen on %s: %w", s.cfg.Listen, err)
	}
	return ln, nil
}

// ListenAndServe listens and serves until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := s.Listen(ctx)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve answers the requests of ln until ctx is cancelled, then stops
// accepting, lets the requests being served finish for
// Config.ShutdownGrace, closes the connections still open and returns
// nil. Serve owns ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		// Requests have no body worth reading: the whole request is
		// bounded like its headers.
		ReadTimeout:    s.cfg.ReadHeaderTimeout,
		MaxHeaderBytes: s.cfg.MaxHeaderBytes,
		IdleTimeout:    s.cfg.IdleTimeout,
		ErrorLog:       slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
	}
	s.cfg.Logger.Info("http boot server listening", "addr", ln.Addr().String(), "http_url", s.cfg.HTTPURL,
		"root", s.cfg.Root, "images", s.upstream.Redacted(), "max_requests", s.cfg.MaxRequests)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(newLimitListener(ln, s.cfg.MaxConns)) }()
	select {
	case err := <-done:
		return fmt.Errorf("http boot server: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.cfg.Logger.Warn("http boot server: requests still running after the shutdown grace, closing them",
			"grace", s.cfg.ShutdownGrace)
		_ = srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http boot server: serve %s: %w", ln.Addr(), err)
	}
	return nil
}
