package tftp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/pin/tftp/v3"
)

// Server is the TFTP server. Create it with New, then Serve a socket from
// Listen (or ListenAndServe).
type Server struct {
	cfg     Config
	metrics *metrics
	// slots holds one token per running transfer (Config.MaxTransfers).
	slots chan struct{}
}

// New checks the configuration and registers the metrics.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("tftp: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("tftp: register metrics: %w", err)
	}
	return &Server{cfg: cfg, metrics: m, slots: make(chan struct{}, cfg.MaxTransfers)}, nil
}

// Config returns the configuration with its defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Listen opens the server's socket: UDP on the listen address. A second
// server on the same port fails here.
func (s *Server) Listen(ctx context.Context) (net.PacketConn, error) {
	network := "udp4"
	if s.cfg.Listen.Addr().Is6() && !s.cfg.Listen.Addr().Is4In6() {
		network = "udp6"
	}
	c, err := (&net.ListenConfig{}).ListenPacket(ctx, network, s.cfg.Listen.String())
	if err != nil {
		return nil, fmt.Errorf("tftp: listen on %s: %w", s.cfg.Listen, err)
	}
	return c, nil
}

// ListenAndServe listens and serves until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context) error {
	c, err := s.Listen(ctx)
	if err != nil {
		return err
	}
	return s.Serve(ctx, c)
}

// Serve answers the requests read from c until ctx is cancelled, then
// closes c, lets the running transfers finish (aborting those still
// running after Config.ShutdownGrace) and returns nil. c must be a UDP
// socket from Listen or net.ListenPacket; Serve owns it from then on.
func (s *Server) Serve(ctx context.Context, c net.PacketConn) error {
	root, err := os.OpenRoot(s.cfg.Root)
	if err != nil {
		_ = c.Close()
		return fmt.Errorf("tftp: open root directory: %w", err)
	}
	defer func() { _ = root.Close() }()
	sv := &serving{Server: s, root: root, abort: make(chan struct{})}
	pt := tftp.NewServer(sv.read, sv.write)
	pt.SetTimeout(s.cfg.Timeout)
	pt.SetRetries(s.cfg.Retries)
	// A lost block is sent again as soon as its timeout expires.
	pt.SetBackoff(func(int) time.Duration { return 0 })
	// The client's blksize, not one clamped to the MTU of the interface
	// pin/tftp looks up by index: in a network namespace other than the
	// process's it finds none, and would fall back to 512.
	pt.SetBlockSizeNegotiation(false)
	pt.SetHook(dropHook{sv})
	s.cfg.Logger.Info("tftp server listening", "addr", c.LocalAddr().String(), "root", s.cfg.Root,
		"max_transfers", s.cfg.MaxTransfers)
	done := make(chan error, 1)
	go func() { done <- pt.Serve(c) }()
	select {
	case err := <-done:
		// pin/tftp's Serve returns by itself only when it cannot use c.
		_ = c.Close()
		if err == nil {
			err = errors.New("stopped by itself")
		}
		return fmt.Errorf("tftp: serve %s: %w", c.LocalAddr(), err)
	case <-ctx.Done():
	}
	grace := time.AfterFunc(s.cfg.ShutdownGrace, func() { close(sv.abort) })
	defer grace.Stop()
	pt.Shutdown() // closes c, then waits for the transfers
	<-done
	return nil
}

// serving is one Serve call: the root it opened and the channel that
// aborts its transfers.
type serving struct {
	*Server
	root  *os.Root
	abort chan struct{}
}

// dropHook counts the requests pin/tftp drops before a transfer starts.
// Transfers are accounted for by their handlers, which see more.
type dropHook struct{ sv *serving }

func (dropHook) OnSuccess(tftp.TransferStats) {}

func (h dropHook) OnFailure(st tftp.TransferStats, err error) {
	if st.RemoteAddr != nil {
		return // a transfer's own failure
	}
	kind := dropMalformed
	var ne net.Error
	if errors.As(err, &ne) {
		kind = dropSocket
	}
	h.sv.metrics.byDropped[kind].Inc()
	if kind == dropSocket {
		h.sv.cfg.Logger.Warn("tftp: no socket for a transfer", "err", err)
		return
	}
	h.sv.cfg.Logger.Debug("tftp: not a request", "err", err)
}
