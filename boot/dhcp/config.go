package dhcp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/trace"
)

// Defaults.
const (
	DefaultListen    = "0.0.0.0:67"
	DefaultLeaseTime = time.Hour
	// MinLeaseTime and MaxLeaseTime bound Config.LeaseTime: option 51
	// counts whole seconds in 32 bits (RFC 2132 §9.2), and 0xffffffff
	// would mean "infinite".
	MinLeaseTime     = time.Second
	MaxLeaseTime     = (1<<32 - 2) * time.Second
	DefaultUserClass = "iPXE"
	// DefaultHTTPPort is the boot proxy's HTTP port; the default HTTP base
	// URL is http://SERVER-IP:8080.
	DefaultHTTPPort = 8080
)

// Config configures a Server.
type Config struct {
	// Listen is the UDP address to receive on (DefaultListen).
	Listen netip.AddrPort
	// ReplyPort, when set, replaces 67 and 68 as the destination port of
	// every reply.
	ReplyPort uint16
	// Interface, when set, binds the socket to that interface.
	Interface string
	// ServerIP is option 54 and siaddr. When unset it is the Listen
	// address, else the first IPv4 address of Interface.
	ServerIP netip.Addr
	// HTTPURL is the base of iPXE script and HTTP boot URLs
	// (http://SERVER-IP:8080 when empty).
	HTTPURL string
	// LeaseTime is option 51, from MinLeaseTime to MaxLeaseTime. The
	// zero value of a Config built in code means DefaultLeaseTime; a
	// command line must refuse 0 itself (metalgit's --lease-time does).
	LeaseTime time.Duration
	// UserClass is the option 77 value that marks iPXE (DefaultUserClass).
	UserClass string
	// BIOSBinary, EFIBinary and ARM64Binary name the boot binaries
	// (boot.BIOSBinary, boot.EFIBinary, boot.ARM64Binary).
	BIOSBinary, EFIBinary, ARM64Binary string
	// Hosts is the host table; required.
	Hosts *boot.Store
	// Logger (slog.Default when nil); Registerer receives the metrics
	// (none when nil).
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Trace records each exchange per MAC (none when nil): known hosts'
	// exchanges with Record, unknown MACs' with RecordUnknown.
	Trace *trace.Ring
	// Workers is the number of goroutines reading the socket
	// (2×GOMAXPROCS when 0).
	Workers int
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Hosts == nil {
		errs = append(errs, errors.New("no host table (Config.Hosts)"))
	}
	if !c.Listen.IsValid() {
		c.Listen = netip.MustParseAddrPort(DefaultListen)
	}
	if !c.Listen.Addr().Is4() {
		errs = append(errs, fmt.Errorf("listen address %s: must be IPv4", c.Listen))
	}
	if !c.ServerIP.IsValid() {
		ip, err := DefaultServerIP(c.Listen.Addr(), c.Interface)
		if err != nil {
			errs = append(errs, err)
		}
		c.ServerIP = ip
	} else if !c.ServerIP.Is4() {
		errs = append(errs, fmt.Errorf("server IP %s: must be IPv4", c.ServerIP))
	}
	if c.HTTPURL == "" && c.ServerIP.IsValid() {
		c.HTTPURL = fmt.Sprintf("http://%s:%d", c.ServerIP, DefaultHTTPPort)
	}
	if u, err := url.Parse(c.HTTPURL); c.HTTPURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		errs = append(errs, fmt.Errorf("HTTP URL %q: must be an absolute http:// or https:// URL", c.HTTPURL))
	}
	if c.LeaseTime == 0 {
		c.LeaseTime = DefaultLeaseTime
	}
	if err := CheckLeaseTime(c.LeaseTime); err != nil {
		errs = append(errs, fmt.Errorf("lease time %w", err))
	}
	c.UserClass = or(c.UserClass, DefaultUserClass)
	c.BIOSBinary = or(c.BIOSBinary, boot.BIOSBinary)
	c.EFIBinary = or(c.EFIBinary, boot.EFIBinary)
	c.ARM64Binary = or(c.ARM64Binary, boot.ARM64Binary)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Workers <= 0 {
		c.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	return c, errors.Join(errs...)
}

// CheckLeaseTime returns nil when d can be sent in option 51: from
// MinLeaseTime to MaxLeaseTime. Its error starts with d.
func CheckLeaseTime(d time.Duration) error {
	if d < MinLeaseTime || d > MaxLeaseTime {
		return fmt.Errorf("%s: must be from %s to %s (option 51 holds whole seconds in 32 bits); the default is %s",
			d, MinLeaseTime, MaxLeaseTime, DefaultLeaseTime)
	}
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// DefaultServerIP is the server IP a Config without one gets: the listen
// address when it is a unicast address, else the first IPv4 address of
// the interface. The other boot servers default to it too.
func DefaultServerIP(listen netip.Addr, ifname string) (netip.Addr, error) {
	if !listen.IsUnspecified() {
		return listen, nil
	}
	if ifname == "" {
		return netip.Addr{}, errors.New("no server IP: set the server IP (option 54 and siaddr), an interface, or a listen address that is not 0.0.0.0")
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %s: %w", ifname, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %s: %w", ifname, err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok && n.IP.To4() != nil {
				return ip, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no IPv4 address: set the server IP", ifname)
}
