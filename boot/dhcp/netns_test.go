package dhcp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/internal/netnstest"
)

// nsLab is a DHCP server serving inside the server namespace of a pair.
type nsLab struct {
	pair *netnstest.Pair
	srv  *Server
	host boot.Host
}

// startNSLab makes a pair whose client MAC is in the host table and runs
// the server on the server veth, port 67.
func startNSLab(t *testing.T, opts ...netnstest.Option) *nsLab {
	t.Helper()
	mac := net.HardwareAddr{0x02, 0x6d, 0x67, 0x00, 0x00, 0x01}
	pair := netnstest.NewPair(t, append([]netnstest.Option{netnstest.WithClientMAC(mac), netnstest.WithoutClientAddr()}, opts...)...)
	h := boot.Host{MAC: mac, Name: "server-07", Hostname: "server-07", Phase: boot.PhaseInspect,
		Address: netip.MustParsePrefix("10.77.0.50/24"), Gateway: netip.MustParseAddr("10.77.0.1"),
		DNS: []netip.Addr{netip.MustParseAddr("10.77.0.53")}, NTP: []netip.Addr{netip.MustParseAddr("10.77.0.123")}}
	tab, err := boot.NewTable("netns", []boot.Host{h})
	if err != nil {
		t.Fatal(err)
	}
	store := &boot.Store{}
	store.Swap(tab)
	srv := testServer(t, func(c *Config) {
		c.Hosts = store
		c.Interface = pair.Server.Interface
		c.ServerIP = pair.Server.Addr.Addr()
		c.HTTPURL = "http://10.77.0.1:8080"
	})
	ctx, cancel := context.WithCancel(context.Background())
	var conn net.PacketConn
	if err := pair.Server.NS.Do(func() error {
		var err error
		conn, err = srv.Listen(ctx)
		return err
	}); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &nsLab{pair: pair, srv: srv, host: h}
}

// script writes a client script that records the environment it is
// called with on the given events into out. It never touches the
// system's configuration (the clients' default scripts rewrite
// /etc/resolv.conf even inside a namespace).
func script(t *testing.T, out string, events ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dhcp-script")
	body := fmt.Sprintf(`#!/bin/sh
# test DHCP client script: record, configure nothing
case "${1:-$reason}" in
%s) env | sort > %s.tmp && mv %s.tmp %s ;;
esac
exit 0
`, strings.Join(events, "|"), out, out, out)
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil { //nolint:gosec // a script must be executable
		t.Fatal(err)
	}
	return path
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("client script output: %v", err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

func runClient(t *testing.T, cmd *exec.Cmd) (string, error) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func wantEnv(t *testing.T, env map[string]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
}

func TestUdhcpcGetsReservation(t *testing.T) {
	netnstest.RequireCommands(t, "udhcpc")
	l := startNSLab(t)
	out := filepath.Join(t.TempDir(), "env")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := l.pair.Client.NS.Command(ctx, "udhcpc", "-i", l.pair.Client.Interface, "-n", "-q", "-f", "-t", "5", "-T", "2",
		"-s", script(t, out, "bound"), "-x", "93:0000", "-V", "PXEClient:Arch:00000:UNDI:002001")
	if log, err := runClient(t, cmd); err != nil {
		t.Fatalf("udhcpc: %v\n%s", err, log)
	}
	wantEnv(t, readEnv(t, out), map[string]string{
		"ip": "10.77.0.50", "subnet": "255.255.255.0", "mask": "24", "router": "10.77.0.1", "dns": "10.77.0.53",
		"ntpsrv": "10.77.0.123", "hostname": "server-07", "serverid": "10.77.0.1", "siaddr": "10.77.0.1",
		"boot_file": "undionly.kpxe", "tftp": "10.77.0.1", "lease": "3600",
	})
}

func TestUdhcpcAsIPXEGetsScript(t *testing.T) {
	netnstest.RequireCommands(t, "udhcpc")
	l := startNSLab(t)
	out := filepath.Join(t.TempDir(), "env")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// 77 "iPXE" (hex 69505845), as iPXE sends it.
	cmd := l.pair.Client.NS.Command(ctx, "udhcpc", "-i", l.pair.Client.Interface, "-n", "-q", "-f", "-t", "5", "-T", "2",
		"-s", script(t, out, "bound"), "-x", "93:0000", "-x", "0x4d:69505845", "-O", "bootfile")
	if log, err := runClient(t, cmd); err != nil {
		t.Fatalf("udhcpc: %v\n%s", err, log)
	}
	wantEnv(t, readEnv(t, out), map[string]string{
		"ip": "10.77.0.50", "bootfile": "http://10.77.0.1:8080/boot/02-6d-67-00-00-01.ipxe",
	})
}

func TestDhclientGetsReservation(t *testing.T) {
	netnstest.RequireCommands(t, "dhclient")
	l := startNSLab(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Foreground (-d), one try (-1); stopped by its PID once bound.
	cmd := l.pair.Client.NS.Command(ctx, "dhclient", "-4", "-d", "-1", "-sf", script(t, out, "BOUND"),
		"-lf", filepath.Join(dir, "leases"), "-pf", filepath.Join(dir, "pid"), l.pair.Client.Interface)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.Now().Add(45 * time.Second)
	for {
		if _, err := os.Stat(out); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dhclient bound no lease:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantEnv(t, readEnv(t, out), map[string]string{
		"reason": "BOUND", "new_ip_address": "10.77.0.50", "new_subnet_mask": "255.255.255.0", "new_routers": "10.77.0.1",
		"new_domain_name_servers": "10.77.0.53", "new_host_name": "server-07", "new_dhcp_server_identifier": "10.77.0.1",
		"new_dhcp_lease_time": "3600",
	})
	if got := testutil.ToFloat64(l.srv.metrics.outcomes.WithLabelValues(string(OutcomeAck))); got < 1 {
		t.Errorf("acks counted: %v", got)
	}
}

func TestUnknownMACGetsNothing(t *testing.T) {
	netnstest.RequireCommands(t, "udhcpc")
	l := startNSLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Another MAC on the client veth: not in the table.
	if out, err := l.pair.Client.NS.Command(ctx, "ip", "link", "set", "dev", l.pair.Client.Interface, "address", "02:6d:67:00:00:99").CombinedOutput(); err != nil {
		t.Fatalf("set MAC: %v\n%s", err, out)
	}
	out := filepath.Join(t.TempDir(), "env")
	cmd := l.pair.Client.NS.Command(ctx, "udhcpc", "-i", l.pair.Client.Interface, "-n", "-q", "-f", "-t", "2", "-T", "1",
		"-s", script(t, out, "bound", "leasefail"))
	log, err := runClient(t, cmd)
	if err == nil {
		t.Fatalf("udhcpc got a lease for an unknown MAC:\n%s", log)
	}
	if env := readEnv(t, out); env["ip"] != "" {
		t.Errorf("unknown MAC got ip %s", env["ip"])
	}
	if got := testutil.ToFloat64(l.srv.metrics.unknown); got < 2 {
		t.Errorf("unknown MACs counted: %v, want at least the 2 DISCOVERs", got)
	}
	if got := testutil.ToFloat64(l.srv.metrics.outcomes.WithLabelValues(string(OutcomeOffer))); got != 0 {
		t.Errorf("offers sent: %v", got)
	}
}

// TestRelayedRequestAnsweredToRelay: a relay agent in the client namespace
// (its own address as giaddr, port 67) gets the OFFER by unicast.
func TestRelayedRequestAnsweredToRelay(t *testing.T) {
	l := startNSLab(t, netnstest.WithClientAddr(netip.MustParsePrefix("10.77.0.2/24")))
	var relay net.PacketConn
	if err := l.pair.Client.NS.Do(func() error {
		var err error
		relay, err = net.ListenPacket("udp4", "10.77.0.2:67")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = relay.Close() }()
	req, err := dhcpv4.NewDiscovery(l.host.MAC, dhcpv4.WithRelay(net.IPv4(10, 77, 0, 2)), dhcpv4.WithBroadcast(false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := relay.WriteTo(req.ToBytes(), &net.UDPAddr{IP: net.IPv4(10, 77, 0, 1), Port: 67}); err != nil {
		t.Fatal(err)
	}
	if err := relay.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, from, err := relay.ReadFrom(buf)
	if err != nil {
		t.Fatalf("relay got no reply: %v", err)
	}
	got, err := dhcpv4.FromBytes(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	if got.MessageType() != dhcpv4.MessageTypeOffer || got.YourIPAddr.String() != "10.77.0.50" || got.TransactionID != req.TransactionID {
		t.Fatalf("relay got %s", got.Summary())
	}
	if ua, ok := from.(*net.UDPAddr); !ok || ua.Port != 67 {
		t.Errorf("reply from %s", from)
	}
}
