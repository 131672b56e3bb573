package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// Standard DHCP ports.
const (
	ServerPort = 67
	ClientPort = 68
)

// receiveBuffer is the socket receive buffer asked for, so that bursts
// (a rack powering on, a benchmark) are queued, not dropped.
const receiveBuffer = 4 << 20

// Server is the DHCP server. Create it with New, then Serve a socket
// from Listen (or ListenAndServe).
type Server struct {
	cfg      Config
	serverIP net.IP
	metrics  *metrics
}

// New checks the configuration and registers the metrics.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("dhcp: %w", err)
	}
	m, err := newMetrics(cfg.Registerer, cfg.Hosts)
	if err != nil {
		return nil, fmt.Errorf("dhcp: register metrics: %w", err)
	}
	return &Server{cfg: cfg, serverIP: cfg.ServerIP.AsSlice(), metrics: m}, nil
}

// Config returns the configuration with its defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Listen opens the server's socket: UDP on the listen address, broadcast
// allowed, bound to the interface when one is configured. Unlike
// server4's socket it does not set SO_REUSEPORT, so a second server on
// the same port fails here instead of silently sharing the packets.
func (s *Server) Listen(ctx context.Context) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = setSocketOptions(int(fd), s.cfg.Interface)
		})
		return errors.Join(err, serr)
	}}
	c, err := lc.ListenPacket(ctx, "udp4", s.cfg.Listen.String())
	if err != nil {
		return nil, fmt.Errorf("dhcp: listen on %s: %w", s.cfg.Listen, err)
	}
	return c, nil
}

func setSocketOptions(fd int, ifname string) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
		return fmt.Errorf("allow broadcast: %w", err)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, receiveBuffer) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, receiveBuffer) // best effort without CAP_NET_ADMIN
	}
	if ifname != "" {
		if err := unix.BindToDevice(fd, ifname); err != nil {
			return fmt.Errorf("bind to interface %s: %w", ifname, err)
		}
	}
	return nil
}

// ListenAndServe listens and serves until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context) error {
	c, err := s.Listen(ctx)
	if err != nil {
		return err
	}
	return s.Serve(ctx, c)
}

// Serve answers requests read from c until ctx is cancelled (then it
// closes c and returns nil) or c fails. c must be a UDP socket from
// Listen or net.ListenPacket("udp4", …).
func (s *Server) Serve(ctx context.Context, c net.PacketConn) error {
	pc := ipv4.NewPacketConn(c)
	// The arrival interface lets broadcast replies leave where the
	// request came in, whatever the routing table says.
	if err := pc.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		_ = c.Close()
		return fmt.Errorf("dhcp: ask for packet info: %w", err)
	}
	s.cfg.Logger.Info("dhcp server listening", "addr", c.LocalAddr().String(), "server_ip", s.cfg.ServerIP.String(),
		"interface", s.cfg.Interface, "reply_port", s.cfg.ReplyPort, "http_url", s.cfg.HTTPURL)
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	var wg sync.WaitGroup
	errs := make([]error, s.cfg.Workers)
	for i := range s.cfg.Workers {
		wg.Go(func() {
			if errs[i] = s.worker(ctx, pc); errs[i] != nil {
				_ = c.Close() // stop the other workers too
			}
		})
	}
	wg.Wait()
	_ = c.Close()
	if ctx.Err() != nil {
		return nil
	}
	return errors.Join(errs...)
}

func (s *Server) worker(ctx context.Context, pc *ipv4.PacketConn) error {
	buf := make([]byte, 65536)
	for {
		n, cm, peer, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil //nolint:nilerr // closing the socket is how Serve stops
			}
			return fmt.Errorf("dhcp: read: %w", err)
		}
		start := time.Now()
		s.handle(pc, buf[:n], cm, peer, start)
	}
}

// handle answers one packet.
func (s *Server) handle(pc *ipv4.PacketConn, pkt []byte, cm *ipv4.ControlMessage, peer net.Addr, start time.Time) {
	req, err := dhcpv4.FromBytes(pkt)
	if err != nil {
		s.metrics.malformed.Inc()
		s.cfg.Logger.Debug("dhcp: not a DHCP packet", "from", peer.String(), "err", err)
		return
	}
	res := s.Respond(req)
	s.metrics.count(req.MessageType(), res)
	if res.Reply == nil {
		s.logResult(req, res, nil)
		s.record(req, res, nil)
		return
	}
	// Recorded before it is sent: whoever sees the reply finds it in the
	// trace.
	s.record(req, res, nil)
	dst, wcm := s.destination(req, res.Reply, cm)
	if _, err := pc.WriteTo(res.Reply.ToBytes(), wcm, dst); err != nil {
		s.metrics.sendErrors.Inc()
		s.record(req, res, err)
		s.cfg.Logger.Warn("dhcp: send reply", "mac", req.ClientHWAddr.String(), "xid", req.TransactionID.String(), "to", dst.String(), "err", err)
		return
	}
	s.metrics.latency.Observe(time.Since(start).Seconds())
	s.logResult(req, res, dst)
}

// destination is where a reply goes (RFC 2131 §4.1) and, for broadcasts,
// the interface it leaves by.
func (s *Server) destination(req, reply *dhcpv4.DHCPv4, in *ipv4.ControlMessage) (*net.UDPAddr, *ipv4.ControlMessage) {
	port := func(def int) int {
		if s.cfg.ReplyPort != 0 {
			return int(s.cfg.ReplyPort)
		}
		return def
	}
	if isSet(req.GatewayIPAddr) {
		return &net.UDPAddr{IP: req.GatewayIPAddr, Port: port(ServerPort)}, nil
	}
	nak := reply.MessageType() == dhcpv4.MessageTypeNak
	if isSet(req.ClientIPAddr) && !req.IsBroadcast() && !nak {
		return &net.UDPAddr{IP: req.ClientIPAddr, Port: port(ClientPort)}, nil
	}
	var out *ipv4.ControlMessage
	if in != nil && in.IfIndex > 0 {
		out = &ipv4.ControlMessage{IfIndex: in.IfIndex}
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: port(ClientPort)}, out
}

func isSet(ip net.IP) bool {
	if ip == nil {
		return false
	}
	a, ok := netip.AddrFromSlice(ip.To4())
	return ok && !a.IsUnspecified()
}
