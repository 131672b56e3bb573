package tftp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// Server is the TFTP server. Create it with New, then Serve a socket from
// Listen (or ListenAndServe).
type Server struct {
	cfg     Config
	metrics *metrics
	// admit hands out the transfer slots (Config.MaxTransfers,
	// Config.MaxTransfersPerClient).
	admit *admission
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
	return &Server{cfg: cfg, metrics: m, admit: newAdmission(cfg.MaxTransfers, cfg.MaxTransfersPerClient)}, nil
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
	abort, aborted := context.WithCancel(context.Background())
	defer aborted()
	sv := &serving{Server: s, root: root, abort: abort}
	rc, err := newRequestConn(c)
	if err != nil {
		_ = c.Close()
		return fmt.Errorf("tftp: %w", err)
	}
	s.cfg.Logger.Info("tftp server listening", "addr", c.LocalAddr().String(), "root", s.cfg.Root,
		"max_transfers", s.cfg.MaxTransfers, "max_transfers_per_client", s.cfg.MaxTransfersPerClient)
	done := make(chan error, 1)
	go func() { done <- sv.serve(rc) }()
	select {
	case err := <-done:
		_ = c.Close()
		aborted()
		sv.transfers.Wait()
		return fmt.Errorf("tftp: serve %s: %w", c.LocalAddr(), err)
	case <-ctx.Done():
	}
	grace := time.AfterFunc(s.cfg.ShutdownGrace, aborted)
	defer grace.Stop()
	_ = c.Close()
	<-done
	sv.transfers.Wait()
	return nil
}

// serving is one Serve call: the root it opened, the context that aborts
// its transfers and the transfers running.
type serving struct {
	*Server
	root      *os.Root
	abort     context.Context
	transfers sync.WaitGroup
}

// serve reads requests until the socket is closed (nil) or fails.
func (sv *serving) serve(rc *requestConn) error {
	buf := make([]byte, maxRequest+1)
	for {
		n, in, err := rc.read(buf)
		switch {
		case errors.Is(err, net.ErrClosed):
			return nil
		case err != nil:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		sv.request(buf[:n], in)
	}
}

// request handles one packet on the server's port: a request gets a
// socket of its own, from the address it came to; what is not a request
// is dropped.
func (sv *serving) request(b []byte, in incoming) {
	req, err := parseRequest(b)
	if err != nil {
		sv.metrics.byDropped[dropMalformed].Inc()
		sv.cfg.Logger.Debug("tftp: not a request", "from", in.client.String(), "err", err)
		return
	}
	sock, err := openTransferSocket(in.local, in.client, in.ifIndex, sv.cfg.Timeout)
	if err != nil {
		sv.metrics.byDropped[dropSocket].Inc()
		sv.cfg.Logger.Warn("tftp: no socket for a transfer", "from", in.client.String(), "err", err)
		return
	}
	t := sv.begin(req.file, in.client)
	if req.op == opWRQ {
		sv.refuse(sock, t, ReasonWrite)
		sock.Close()
		return
	}
	// stop ends the transfer: the server's abort, or its eviction.
	stop, evict := context.WithCancelCause(sv.abort)
	sl, reason := sv.admit.take(t.client.Addr(), evict)
	if reason != "" {
		evict(nil)
		sv.refuse(sock, t, reason)
		sock.Close()
		return
	}
	sv.metrics.inFlight.Inc()
	sv.transfers.Add(1)
	go func() {
		defer func() {
			evict(nil)
			sock.Close()
			sv.admit.release(sl)
			sv.metrics.inFlight.Dec()
			sv.transfers.Done()
		}()
		sv.read(stop, sock, t, req, func() { sv.admit.acked(sl) })
	}()
}
