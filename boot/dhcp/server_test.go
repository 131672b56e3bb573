package dhcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metalgit/metalgit/boot/trace"
)

// loopback is a running server on 127.0.0.1 and a client socket whose
// port is the server's reply port.
type loopback struct {
	srv    *Server
	trace  *trace.Ring
	reg    *prometheus.Registry
	server *net.UDPAddr
	client net.PacketConn
}

func startLoopback(t *testing.T, mod func(*Config)) *loopback {
	t.Helper()
	// The client listens on all addresses: broadcast replies reach it too.
	client, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	reg := prometheus.NewRegistry()
	ring := trace.New(trace.Config{})
	srv := testServer(t, func(c *Config) {
		c.Trace = ring
		c.Listen = netip.MustParseAddrPort("127.0.0.1:0")
		c.ServerIP = netip.MustParseAddr("127.0.0.1")
		c.ReplyPort = udpPort(t, client)
		c.Registerer = reg
		if mod != nil {
			mod(c)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := srv.Listen(ctx)
	if err != nil {
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
	server, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		t.Fatalf("server address %v", conn.LocalAddr())
	}
	return &loopback{srv: srv, trace: ring, server: server, reg: reg, client: client}
}

func (l *loopback) nclient(t *testing.T, mac net.HardwareAddr) *nclient4.Client {
	t.Helper()
	c, err := nclient4.NewWithConn(l.client, mac, nclient4.WithServerAddr(l.server), nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(3))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// send writes one request to the server.
func (l *loopback) send(t *testing.T, m *dhcpv4.DHCPv4) {
	t.Helper()
	if _, err := l.client.WriteTo(m.ToBytes(), l.server); err != nil {
		t.Fatal(err)
	}
}

// waitCounter waits until the counter named by name (and label values)
// reaches want.
func (l *loopback) waitCounter(t *testing.T, c prometheus.Collector, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(c) < want {
		if time.Now().After(deadline) {
			t.Fatalf("counter stayed at %v, want %v", testutil.ToFloat64(c), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLoopbackDORA(t *testing.T) {
	l := startLoopback(t, nil)
	c := l.nclient(t, macKnown)
	ctx := context.Background()
	// nclient4's DISCOVER sets the broadcast flag: the offer is broadcast.
	offer, err := c.DiscoverOffer(ctx, biosIPXE()...)
	if err != nil {
		t.Fatal(err)
	}
	if offer.YourIPAddr.String() != "192.168.100.3" || offer.ServerIdentifier().String() != "127.0.0.1" || offer.ServerIPAddr.String() != "127.0.0.1" {
		t.Fatalf("offer: %s", offer.Summary())
	}
	if !strings.HasSuffix(offer.BootFileNameOption(), "/boot/02-00-00-00-00-01.ipxe") {
		t.Errorf("iPXE boot file %q", offer.BootFileNameOption())
	}
	lease, err := c.RequestFromOffer(ctx, offer)
	if err != nil {
		t.Fatal(err)
	}
	if lease.ACK.YourIPAddr.String() != "192.168.100.3" || lease.ACK.IPAddressLeaseTime(0) != time.Hour {
		t.Fatalf("ack: %s", lease.ACK.Summary())
	}
	// Renewal: unicast from the client's address, answered to ciaddr.
	renew, err := dhcpv4.NewRenewFromAck(lease.ACK)
	if err != nil {
		t.Fatal(err)
	}
	renew.ClientIPAddr = net.IPv4(127, 0, 0, 1).To4() // the address the test client really has
	if _, err := c.SendAndRead(ctx, l.server, renew, nclient4.IsMessageType(dhcpv4.MessageTypeNak)); err != nil {
		t.Fatalf("renew with a foreign ciaddr: want a NAK: %v", err)
	}
	// INFORM from the client's configured address: answered to ciaddr.
	inform, err := c.Inform(ctx, net.IPv4(127, 0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !inform.YourIPAddr.IsUnspecified() || inform.Router()[0].String() != "192.168.100.1" {
		t.Errorf("inform ack: %s", inform.Summary())
	}
	m := l.srv.metrics
	for label, want := range map[string]float64{"discover": 1, "request": 2, "inform": 1} {
		if got := testutil.ToFloat64(m.received.WithLabelValues(label)); got != want {
			t.Errorf("received{type=%s} = %v, want %v", label, got, want)
		}
	}
	if got := testutil.ToFloat64(m.naks); got != 1 {
		t.Errorf("naks = %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(l.reg, "metalgit_dhcp_reply_duration_seconds"); err != nil || n != 1 {
		t.Errorf("latency histogram: %d series, %v", n, err)
	}
	script := "http://192.168.100.2:8080/boot/02-00-00-00-00-01.ipxe"
	ipxe := map[string]string{"arch": "0", "vendorClass": "PXEClient:Arch:00000:UNDI:002001", "userClass": "iPXE",
		"address": "192.168.100.3", "siaddr": "127.0.0.1", "offered": script, "offer": "ipxe-script"}
	want := []traced{
		{trace.KindDHCPOffer, "DISCOVER → OFFER 192.168.100.3, " + script, false, ipxe},
		{trace.KindDHCPAck, "REQUEST → ACK 192.168.100.3, no boot file: no client architecture (option 93): not a network boot", false,
			map[string]string{"address": "192.168.100.3", "siaddr": "127.0.0.1", "reason": "no client architecture (option 93): not a network boot"}},
		{trace.KindDHCPNak, "REQUEST → NAK: requested 127.0.0.1, the host's address is 192.168.100.3", true,
			map[string]string{"address": "192.168.100.3", "reason": "requested 127.0.0.1, the host's address is 192.168.100.3"}},
		{trace.KindDHCPInform, "INFORM → ACK 192.168.100.3, no boot file: no client architecture (option 93): not a network boot", false,
			map[string]string{"address": "192.168.100.3", "siaddr": "127.0.0.1", "reason": "no client architecture (option 93): not a network boot"}},
	}
	if diff := cmp.Diff(want, tracedEvents(l.trace, macKnown)); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
}

// traced is what a test checks of a trace event.
type traced struct {
	Kind   string
	Detail string
	Failed bool
	Attrs  map[string]string
}

func tracedEvents(r *trace.Ring, mac net.HardwareAddr) []traced {
	var out []traced
	for _, e := range r.Events(mac) {
		if e.Server != trace.ServerDHCP || e.Time.IsZero() {
			out = append(out, traced{Kind: "bad event: " + e.Server + " at " + e.Time.String()})
		}
		out = append(out, traced{e.Kind, e.Detail, e.Failed, e.Attrs})
	}
	return out
}

func TestLoopbackNAKForWrongAddress(t *testing.T) {
	l := startLoopback(t, nil)
	c := l.nclient(t, macKnown)
	offer, err := c.DiscoverOffer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	offer.YourIPAddr = net.IPv4(192, 168, 100, 200).To4() // ask for another address
	_, err = c.RequestFromOffer(context.Background(), offer)
	var nak *nclient4.ErrNak
	if !errors.As(err, &nak) {
		t.Fatalf("want a NAK, got %v", err)
	}
	if !strings.Contains(nak.Nak.Message(), "192.168.100.3") {
		t.Errorf("NAK message %q", nak.Nak.Message())
	}
	evs := tracedEvents(l.trace, macKnown)
	if len(evs) != 2 || evs[1].Kind != trace.KindDHCPNak || !evs[1].Failed {
		t.Errorf("trace: %+v", evs)
	}
}

// TestLoopbackSilence: unknown MACs, RELEASE, DECLINE and garbage get no
// reply; each is counted, and the next known request's reply is the only
// packet that arrives.
func TestLoopbackSilence(t *testing.T) {
	l := startLoopback(t, func(c *Config) { c.Workers = 1 })
	m := l.srv.metrics
	l.send(t, discover(t, macUnknown))
	l.send(t, request(t, macKnown, dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease), dhcpv4.WithClientIP(net.IPv4(192, 168, 100, 3))))
	l.send(t, request(t, macKnown, dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(192, 168, 100, 3)))))
	if _, err := l.client.WriteTo([]byte("not dhcp at all"), l.server); err != nil {
		t.Fatal(err)
	}
	l.waitCounter(t, m.unknown, 1)
	l.waitCounter(t, m.outcomes.WithLabelValues(string(OutcomeRelease)), 1)
	l.waitCounter(t, m.declines, 1)
	l.waitCounter(t, m.malformed, 1)
	known := discover(t, macKnown)
	l.send(t, known)
	buf := make([]byte, 1500)
	if err := l.client.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, _, err := l.client.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dhcpv4.FromBytes(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	if got.TransactionID != known.TransactionID || got.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("first packet back is %s xid %s, want the OFFER to xid %s", got.MessageType(), got.TransactionID, known.TransactionID)
	}
	// The unknown MAC is in the trace, in the unknown budget.
	unknown := tracedEvents(l.trace, macUnknown)
	if diff := cmp.Diff([]traced{{trace.KindDHCPUnknown, "DISCOVER ignored: the MAC is not in the host table", false,
		map[string]string{"reason": "MAC not in the host table"}}}, unknown); diff != "" {
		t.Errorf("unknown MAC's trace (-want +got):\n%s", diff)
	}
	if k, u := l.trace.MACs(); k != 1 || u != 1 {
		t.Errorf("trace MACs: %d known, %d unknown", k, u)
	}
	var kinds []string
	for _, e := range tracedEvents(l.trace, macKnown) {
		kinds = append(kinds, fmt.Sprintf("%s failed=%v", e.Kind, e.Failed))
	}
	if diff := cmp.Diff([]string{"dhcp-release failed=false", "dhcp-decline failed=true", "dhcp-offer failed=false"}, kinds); diff != "" {
		t.Errorf("known MAC's trace (-want +got):\n%s", diff)
	}
}

// TestLoopbackRelay: a relayed request is answered by unicast to giaddr
// (port 67, here the reply port), not broadcast.
func TestLoopbackRelay(t *testing.T) {
	relay, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = relay.Close() }()
	l := startLoopback(t, func(c *Config) { c.ReplyPort = udpPort(t, relay) })
	req := discover(t, macKnown, dhcpv4.WithRelay(net.IPv4(127, 0, 0, 1)), dhcpv4.WithBroadcast(false))
	if _, err := relay.WriteTo(req.ToBytes(), l.server); err != nil {
		t.Fatal(err)
	}
	if err := relay.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, _, err := relay.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dhcpv4.FromBytes(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	if got.MessageType() != dhcpv4.MessageTypeOffer || !got.GatewayIPAddr.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("relay got %s", got.Summary())
	}
	if evs := tracedEvents(l.trace, macKnown); len(evs) != 1 || evs[0].Attrs["relay"] != "127.0.0.1" {
		t.Errorf("trace: %+v", evs)
	}
}

func TestDestination(t *testing.T) {
	s := testServer(t, nil)
	sr := testServer(t, func(c *Config) { c.ReplyPort = 1068 })
	ack := func() *dhcpv4.DHCPv4 { r, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeAck)); return r }
	nak := func() *dhcpv4.DHCPv4 { r, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeNak)); return r }
	ip := func(s string) net.IP { return net.ParseIP(s).To4() }
	cases := []struct {
		name   string
		srv    *Server
		req    *dhcpv4.DHCPv4
		reply  *dhcpv4.DHCPv4
		want   string
		ifaced bool
	}{
		{"relay", s, discover(t, macKnown, dhcpv4.WithRelay(ip("10.0.0.1"))), ack(), "10.0.0.1:67", false},
		{"relay, reply port", sr, discover(t, macKnown, dhcpv4.WithRelay(ip("10.0.0.1"))), ack(), "10.0.0.1:1068", false},
		{"no address: broadcast", s, discover(t, macKnown, dhcpv4.WithBroadcast(false)), ack(), "255.255.255.255:68", true},
		{"broadcast flag", s, discover(t, macKnown), ack(), "255.255.255.255:68", true},
		{"renewing: unicast to ciaddr", s, request(t, macKnown, dhcpv4.WithClientIP(ip("192.168.100.3"))), ack(), "192.168.100.3:68", false},
		{"renewing with broadcast flag", s, request(t, macKnown, dhcpv4.WithClientIP(ip("192.168.100.3")), dhcpv4.WithBroadcast(true)), ack(), "255.255.255.255:68", true},
		{"NAK without relay: broadcast", s, request(t, macKnown, dhcpv4.WithClientIP(ip("192.168.100.3"))), nak(), "255.255.255.255:68", true},
		{"broadcast, reply port", sr, discover(t, macKnown), ack(), "255.255.255.255:1068", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst, cm := tc.srv.destination(tc.req, tc.reply, ipv4cm(7))
			if dst.String() != tc.want {
				t.Errorf("destination %s, want %s", dst, tc.want)
			}
			if tc.ifaced != (cm != nil && cm.IfIndex == 7) {
				t.Errorf("leaves by the arrival interface: %v, want %v", cm != nil, tc.ifaced)
			}
		})
	}
}

func TestSecondServerOnSamePortFails(t *testing.T) {
	l := startLoopback(t, nil)
	s2 := testServer(t, func(c *Config) {
		c.Listen = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(l.server.Port))
	})
	c, err := s2.Listen(context.Background())
	if err == nil {
		_ = c.Close()
		t.Fatal("a second server on the same port started")
	}
	if !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error %q", err)
	}
}

// udpPort is the local port of a UDP socket.
func udpPort(t *testing.T, c net.PacketConn) uint16 {
	t.Helper()
	a, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		t.Fatalf("not a UDP socket: %v", c.LocalAddr())
	}
	return uint16(a.Port) //nolint:gosec // a port fits 16 bits
}
