package tftp

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metalgit/metalgit/boot/trace"
)

// Defaults.
const (
	DefaultListen = "0.0.0.0:69"
	// DefaultRoot is where Debian's ipxe package puts undionly.kpxe,
	// snponly.efi and ipxe.efi.
	DefaultRoot = "/usr/lib/ipxe"
	// DefaultMaxTransfers bounds the transfers running at once: a rack of
	// 64 machines may all chainload at the same second, and each
	// transfer of an iPXE binary takes milliseconds on a LAN.
	DefaultMaxTransfers = 64
	// DefaultMaxTransfersPerClient bounds the transfers of one client
	// address: firmware fetches one file at a time.
	DefaultMaxTransfersPerClient = 4
	// DefaultTimeout is how long a block waits for its acknowledgement
	// before it is sent again.
	DefaultTimeout = 2 * time.Second
	// DefaultRetries is how many times a block is sent again.
	DefaultRetries = 5
	// DefaultMaxTransferTime bounds a whole transfer, however fast its
	// client acknowledges.
	DefaultMaxTransferTime = 5 * time.Minute
	// DefaultShutdownGrace is how long running transfers may go on once
	// the server is told to stop.
	DefaultShutdownGrace = 5 * time.Second
	// MinBlockSize and MaxBlockSize are RFC 2348's bounds of blksize;
	// 512 is also the size without the option (RFC 1350). A client gets
	// the block size it asks for within them, whatever the MTU: clients
	// ask for what theirs allows (EDK2 1468, iPXE 1432).
	MinBlockSize = 512
	MaxBlockSize = 65464
)

// Config configures a Server.
type Config struct {
	// Listen is the UDP address requests come to (DefaultListen), IPv4
	// or IPv6.
	Listen netip.AddrPort
	// Root is the directory served (DefaultRoot). It must exist when
	// the server is created; it is opened once when serving starts.
	Root string
	// MaxTransfers bounds the transfers running at once
	// (DefaultMaxTransfers), MaxTransfersPerClient those of one client
	// address (DefaultMaxTransfersPerClient). A request beyond either
	// takes the slot of the oldest transfer not acknowledged yet, and is
	// refused as busy when every transfer has been (see admission).
	MaxTransfers          int
	MaxTransfersPerClient int
	// Timeout is the wait for each acknowledgement (DefaultTimeout),
	// Retries how many times an unacknowledged block is sent again
	// (DefaultRetries).
	Timeout time.Duration
	Retries int
	// MaxTransferTime bounds a whole transfer (DefaultMaxTransferTime).
	MaxTransferTime time.Duration
	// ShutdownGrace is how long running transfers may go on once the
	// context of Serve ends (DefaultShutdownGrace).
	ShutdownGrace time.Duration
	// MACOf returns the MAC address of a client address when it is
	// known (from the DHCP leases: boot.Store.MACOf), for the logs and
	// the trace; nil when none is.
	MACOf func(netip.Addr) (net.HardwareAddr, bool)
	// Trace records the end of each transfer of a client whose MAC
	// MACOf knows (none when nil): a client without a lease cannot be
	// recorded, and is in the logs only.
	Trace *trace.Ring
	// Logger (slog.Default when nil); Registerer receives the metrics
	// (none when nil).
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if !c.Listen.IsValid() {
		c.Listen = netip.MustParseAddrPort(DefaultListen)
	}
	if c.Root == "" {
		c.Root = DefaultRoot
	}
	if fi, err := os.Stat(c.Root); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		errs = append(errs, fmt.Errorf("root directory %s: %w (Debian's ipxe package installs the iPXE binaries in %s)", c.Root, err, DefaultRoot))
	} else if !fi.IsDir() {
		errs = append(errs, fmt.Errorf("root directory %s: not a directory", c.Root))
	}
	if c.MaxTransfers == 0 {
		c.MaxTransfers = DefaultMaxTransfers
	}
	if c.MaxTransfers < 0 {
		errs = append(errs, fmt.Errorf("max transfers %d: must be at least 1", c.MaxTransfers))
	}
	if c.MaxTransfersPerClient == 0 {
		c.MaxTransfersPerClient = DefaultMaxTransfersPerClient
	}
	if c.MaxTransfersPerClient < 0 {
		errs = append(errs, fmt.Errorf("max transfers per client %d: must be at least 1", c.MaxTransfersPerClient))
	}
	c.Timeout = orDuration(c.Timeout, DefaultTimeout)
	c.MaxTransferTime = orDuration(c.MaxTransferTime, DefaultMaxTransferTime)
	c.ShutdownGrace = orDuration(c.ShutdownGrace, DefaultShutdownGrace)
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"timeout", c.Timeout}, {"max transfer time", c.MaxTransferTime}, {"shutdown grace", c.ShutdownGrace}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %s: must be positive", d.name, d.v))
		}
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.Retries < 0 {
		errs = append(errs, fmt.Errorf("retries %d: must be at least 1", c.Retries))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, errors.Join(errs...)
}

func orDuration(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
