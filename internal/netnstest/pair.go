package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Endpoint is one side of a Pair: a namespace and its end of the veth.
type Endpoint struct {
	// NS is the namespace this side lives in.
	NS *NS
	// Interface is the name of this side's veth inside NS.
	Interface string
	// MAC is the veth's hardware address.
	MAC net.HardwareAddr
	// Addr is the IPv4 address and prefix on the veth; the zero Prefix
	// when the side has none (see WithoutClientAddr).
	Addr netip.Prefix
}

// Pair is two namespaces, server and client, joined by a veth pair with
// loopback and both veth ends up. IPv6 duplicate address detection is off
// in both namespaces, so link-local addresses are usable at once.
type Pair struct {
	Server Endpoint
	Client Endpoint
}

// pairConfig collects the Options of NewPair.
type pairConfig struct {
	serverAddr netip.Prefix
	clientAddr netip.Prefix
	clientMAC  net.HardwareAddr
}

// Option changes how NewPair builds a Pair.
type Option func(*pairConfig)

// WithServerAddr sets the server veth's IPv4 address (default 10.77.0.1/24).
func WithServerAddr(p netip.Prefix) Option {
	return func(c *pairConfig) { c.serverAddr = p }
}

// WithClientAddr sets the client veth's IPv4 address (default 10.77.0.2/24).
func WithClientAddr(p netip.Prefix) Option {
	return func(c *pairConfig) { c.clientAddr = p }
}

// WithoutClientAddr leaves the client veth without an IPv4 address, for
// tests where a DHCP client configures it.
func WithoutClientAddr() Option {
	return func(c *pairConfig) { c.clientAddr = netip.Prefix{} }
}

// WithClientMAC sets the client veth's hardware address (default: random).
func WithClientMAC(mac net.HardwareAddr) Option {
	return func(c *pairConfig) { c.clientMAC = mac }
}

// NewPair creates a server and a client namespace with unique names, a
// veth pair between them and addresses on both ends, and registers their
// removal with t.Cleanup. It calls Require first, so it skips (or fails,
// under CI) where namespaces cannot be created.
func NewPair(t testing.TB, opts ...Option) *Pair {
	t.Helper()
	Require(t)
	cfg := pairConfig{
		serverAddr: netip.MustParsePrefix("10.77.0.1/24"),
		clientAddr: netip.MustParsePrefix("10.77.0.2/24"),
	}
	for _, o := range opts {
		o(&cfg)
	}
	id := randomID(t)
	p := &Pair{
		Server: Endpoint{NS: addNS(t, "metalgit-"+id+"-srv"), Interface: "mg" + id + "s", Addr: cfg.serverAddr},
		Client: Endpoint{NS: addNS(t, "metalgit-"+id+"-cli"), Interface: "mg" + id + "c", Addr: cfg.clientAddr},
	}
	disableDAD(t, p.Server.NS)
	disableDAD(t, p.Client.NS)
	addVeth(t, p, cfg.clientMAC)
	for _, e := range []*Endpoint{&p.Server, &p.Client} {
		e.configure(t)
	}
	return p
}

// randomID returns 8 hex digits, so names stay unique across parallel
// tests and processes and veth names stay within IFNAMSIZ (15 bytes).
func randomID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("netnstest: random name: %v", err)
	}
	return hex.EncodeToString(b)
}

// addNS creates a namespace and registers its removal. Removing a
// namespace also removes the veth end inside it.
func addNS(t testing.TB, name string) *NS {
	t.Helper()
	runIP(t, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := ipCommand("netns", "delete", name); err != nil {
			t.Errorf("netnstest: remove namespace %s: %v: %s", name, err, out)
		}
	})
	return &NS{Name: name}
}

// disableDAD turns IPv6 duplicate address detection off for interfaces
// created in ns later. Writes to /proc/sys/net apply to the namespace of
// the writing thread, hence Do.
func disableDAD(t testing.TB, ns *NS) {
	t.Helper()
	err := ns.Do(func() error {
		for _, conf := range []string{"all", "default"} {
			p := "/proc/sys/net/ipv6/conf/" + conf + "/accept_dad"
			if err := os.WriteFile(p, []byte("0"), 0o644); err != nil {
				return fmt.Errorf("disable DAD: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("netnstest: %v", err)
	}
}

// addVeth creates the veth pair with each end directly in its namespace,
// so the host never sees either end.
func addVeth(t testing.TB, p *Pair, clientMAC net.HardwareAddr) {
	t.Helper()
	args := []string{"link", "add", "name", p.Server.Interface, "netns", p.Server.NS.Name,
		"type", "veth", "peer", "name", p.Client.Interface, "netns", p.Client.NS.Name}
	if clientMAC != nil {
		args = append(args, "address", clientMAC.String())
	}
	runIP(t, args...)
}

// configure brings loopback and the veth up, adds the address and reads
// back the MAC.
func (e *Endpoint) configure(t testing.TB) {
	t.Helper()
	runIP(t, "-n", e.NS.Name, "link", "set", "lo", "up")
	if e.Addr.IsValid() {
		runIP(t, "-n", e.NS.Name, "addr", "add", e.Addr.String(), "dev", e.Interface)
	}
	runIP(t, "-n", e.NS.Name, "link", "set", e.Interface, "up")
	err := e.NS.Do(func() error {
		ifi, err := net.InterfaceByName(e.Interface)
		if err != nil {
			return err
		}
		e.MAC = ifi.HardwareAddr
		return nil
	})
	if err != nil {
		t.Fatalf("netnstest: read MAC of %s in %s: %v", e.Interface, e.NS.Name, err)
	}
}

// runIP runs `ip args…` and fails t on error.
func runIP(t testing.TB, args ...string) {
	t.Helper()
	if out, err := ipCommand(args...); err != nil {
		t.Fatalf("netnstest: ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// ipCommand runs `ip args…` with a timeout and returns its combined output.
func ipCommand(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "ip", args...).CombinedOutput()
}
