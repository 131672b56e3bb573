package ra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv6"
	"k8s.io/utils/clock"
)

// DefaultInterval is the period of unsolicited advertisements when
// Config.Interval is zero.
const DefaultInterval = 30 * time.Second

// listenRetry is how long Run waits between attempts to open the socket
// while the interface is not ready.
const listenRetry = 200 * time.Millisecond

// Config configures the responder.
type Config struct {
	// Interface is the provisioning interface to advertise on.
	Interface string
	// Interval is the period of unsolicited advertisements; zero means
	// DefaultInterval.
	Interval time.Duration
	// StartTimeout is how long Run keeps trying to open the socket while
	// the interface is not ready (not there yet, or its link-local
	// address still tentative during duplicate address detection), every
	// 200 ms; zero means one attempt.
	StartTimeout time.Duration
	// Logger receives the responder's logs; nil means slog.Default().
	Logger *slog.Logger
	// Registerer, if set, receives the responder's counters
	// (metalgit_ra_*_total).
	Registerer prometheus.Registerer

	// clock drives Interval and StartTimeout; nil means the real clock
	// (tests set a fake one from export_test.go).
	clock clock.WithTicker
}

func (c *Config) clockOrReal() clock.WithTicker {
	if c.clock == nil {
		return clock.RealClock{}
	}
	return c.clock
}

// Responder sends router advertisements on one interface. Create it with
// Listen.
type Responder struct {
	conn      *ndp.Conn
	ifi       *net.Interface
	src       netip.Addr
	interval  time.Duration
	clock     clock.WithTicker
	log       *slog.Logger
	metrics   *metrics
	closeOnce sync.Once
}

// Run listens on cfg.Interface and serves until ctx is cancelled, when it
// returns nil. While the socket cannot be opened it tries again every
// 200 ms for up to cfg.StartTimeout, then returns the last error; ctx
// ending meanwhile returns nil.
func Run(ctx context.Context, cfg Config) error {
	clk := cfg.clockOrReal()
	deadline := clk.Now().Add(cfg.StartTimeout)
	for {
		r, err := Listen(cfg)
		if err == nil {
			return r.Serve(ctx)
		}
		if !clk.Now().Before(deadline) {
			return err
		}
		logger(cfg.Logger).Debug("router advertisements: interface not ready; trying again", "interface", cfg.Interface, "err", err)
		t := clk.NewTimer(listenRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}

// Listen opens the ICMPv6 socket on cfg.Interface, bound to its
// link-local address, and joins the all-routers group. The socket belongs
// to the network namespace of the calling thread. The interface must
// exist and have a usable (not tentative) IPv6 link-local address.
func Listen(cfg Config) (*Responder, error) {
	ifi, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("ra: interface %q: %w", cfg.Interface, err)
	}
	if err := checkLinkLocal(ifi); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	conn, src, err := ndp.Listen(ifi, ndp.LinkLocal)
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return nil, fmt.Errorf("ra: listen on %s (link-local address still tentative? retry after duplicate address detection): %w", ifi.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("ra: listen on %s: %w", ifi.Name, err)
	}
	if err := setup(conn); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("ra: set up socket on %s: %w", ifi.Name, err)
	}
	return &Responder{
		conn:     conn,
		ifi:      ifi,
		src:      src,
		interval: interval(cfg.Interval),
		clock:    cfg.clockOrReal(),
		log:      logger(cfg.Logger).With("interface", ifi.Name),
		metrics:  m,
	}, nil
}

// checkLinkLocal returns a clear error if ifi has no IPv6 link-local
// address (IPv6 disabled, or link never up), which ndp.Listen needs.
func checkLinkLocal(ifi *net.Interface) error {
	addrs, err := ifi.Addrs()
	if err != nil {
		return fmt.Errorf("ra: addresses of %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() == nil && ipn.IP.IsLinkLocalUnicast() {
			return nil
		}
	}
	return fmt.Errorf("ra: interface %s has no IPv6 link-local address (IPv6 disabled or link down?)", ifi.Name)
}

// setup joins the all-routers group, where solicitations are sent, and
// filters the socket to Router Solicitations.
func setup(conn *ndp.Conn) error {
	if err := conn.JoinGroup(netip.MustParseAddr("ff02::2")); err != nil {
		return fmt.Errorf("join ff02::2: %w", err)
	}
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeRouterSolicitation)
	if err := conn.SetICMPFilter(&f); err != nil {
		return fmt.Errorf("ICMPv6 filter: %w", err)
	}
	return nil
}

func interval(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultInterval
	}
	return d
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// Close closes the socket. Serve closes it too; calling both is safe.
func (r *Responder) Close() error {
	var err error
	r.closeOnce.Do(func() { err = r.conn.Close() })
	return err
}

// Serve advertises once, then answers solicitations and advertises every
// interval until ctx is cancelled, when it closes the socket and returns
// nil. It returns an error if reading from the socket fails.
func (r *Responder) Serve(ctx context.Context) error {
	stop := make(chan struct{})
	solicits := make(chan netip.Addr)
	readErr := make(chan error, 1) // the reader sends exactly once
	var wg sync.WaitGroup
	wg.Go(func() { readErr <- r.readSolicitations(stop, solicits) })

	err := r.loop(ctx, solicits, readErr)
	close(stop)
	_ = r.Close()
	wg.Wait()
	r.log.Info("router advertisements stopped")
	return err
}

// loop sends the advertisements until ctx is cancelled or the reader
// stops.
func (r *Responder) loop(ctx context.Context, solicits <-chan netip.Addr, readErr <-chan error) error {
	r.log.Info("router advertisements started", "source", r.src, "interval", r.interval)
	r.advertise(allNodes(), reasonStartup)
	ticker := r.clock.NewTicker(r.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
			r.advertise(allNodes(), reasonPeriodic)
		case from := <-solicits:
			r.advertise(replyTo(from), reasonSolicited)
		case err := <-readErr:
			if err != nil {
				return fmt.Errorf("ra: read on %s: %w", r.ifi.Name, err)
			}
			return nil // closed by Close
		}
	}
}

// readSolicitations passes the source of each Router Solicitation to
// solicits until the socket fails or is closed. It returns nil once
// closed or stopped.
func (r *Responder) readSolicitations(stop <-chan struct{}, solicits chan<- netip.Addr) error {
	for {
		msg, _, from, err := r.conn.ReadFrom()
		if err != nil {
			select {
			case <-stop:
				return nil
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if _, ok := msg.(*ndp.RouterSolicitation); !ok {
			continue
		}
		r.metrics.solicitations.Inc()
		r.log.Debug("router solicitation", "from", from)
		select {
		case solicits <- from:
		case <-stop:
			return nil
		}
	}
}

// allNodes is ff02::1, where unsolicited advertisements go.
func allNodes() netip.Addr { return netip.IPv6LinkLocalAllNodes() }

// replyTo returns where to answer a solicitation from src: src itself,
// or all nodes when src is unspecified (RFC 4861, section 6.2.6).
func replyTo(src netip.Addr) netip.Addr {
	if src.IsUnspecified() {
		return allNodes()
	}
	return src
}

// advertise sends one advertisement to dst. A failed send is logged and
// counted, not fatal: the next solicitation or tick tries again.
func (r *Responder) advertise(dst netip.Addr, reason string) {
	if err := r.conn.WriteTo(r.message(), nil, dst); err != nil {
		r.metrics.sendErrors.Inc()
		r.log.Warn("send router advertisement", "to", dst, "reason", reason, "error", err)
		return
	}
	r.metrics.sent.WithLabelValues(reason).Inc()
	r.log.Debug("router advertisement sent", "to", dst, "reason", reason)
}

// message is the advertisement: not a default router, no DHCPv6, no
// prefix, only the source link-layer address.
func (r *Responder) message() *ndp.RouterAdvertisement {
	return &ndp.RouterAdvertisement{
		RouterLifetime:       0,
		ManagedConfiguration: false,
		OtherConfiguration:   false,
		Options: []ndp.Option{
			&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: r.ifi.HardwareAddr},
		},
	}
}
