package dhcp

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/metalgit/metalgit/boot"
)

// benchHosts is the size of the benchmarks' host table (hack/bench/dhcp.sh
// uses the same).
const benchHosts = 10000

// benchServer is a server with benchHosts hosts in 10.42.0.0/16, real
// metrics and an info-level logger that writes nowhere (the ACK log line
// is still formatted, as in production).
func benchServer(b *testing.B, mod func(*Config)) (*Server, []net.HardwareAddr) {
	b.Helper()
	hosts := make([]boot.Host, benchHosts)
	macs := make([]net.HardwareAddr, benchHosts)
	base := netip.MustParseAddr("10.42.0.10").As4()
	for i := range hosts {
		macs[i] = net.HardwareAddr{2, 0x42, 0, 0, byte(i >> 8), byte(i)}
		a := base
		n := int(a[2])<<8 | int(a[3]) + i
		a[2], a[3] = byte(n>>8), byte(n)
		hosts[i] = boot.Host{MAC: macs[i], Name: macs[i].String(), Address: netip.PrefixFrom(netip.AddrFrom4(a), 16),
			Phase: boot.PhaseInspect}
	}
	tab, err := boot.NewTable("bench", hosts)
	if err != nil {
		b.Fatal(err)
	}
	store := &boot.Store{}
	store.Swap(tab)
	cfg := Config{Hosts: store, ServerIP: netip.MustParseAddr("127.0.0.1"), Registerer: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return s, macs
}

// benchRequests are perfdhcp-like relayed requests (giaddr set), a
// DISCOVER and the REQUEST that selects the host's address, per MAC.
func benchRequests(b *testing.B, s *Server, macs []net.HardwareAddr, relay net.IP) [][]byte {
	b.Helper()
	out := make([][]byte, 0, 2*len(macs))
	for i, mac := range macs {
		xid := dhcpv4.TransactionID{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
		d, err := dhcpv4.NewDiscovery(mac, dhcpv4.WithTransactionID(xid), dhcpv4.WithRelay(relay))
		if err != nil {
			b.Fatal(err)
		}
		h, ok := s.cfg.Hosts.Load().Lookup(mac)
		if !ok {
			b.Fatalf("%s not in the table", mac)
		}
		r, err := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithTransactionID(xid), dhcpv4.WithRelay(relay),
			dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.serverIP)),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(h.Address.Addr().AsSlice())))
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, d.ToBytes(), r.ToBytes())
	}
	return out
}

// BenchmarkRespond is the server's work for one packet without the
// socket: parse, answer, count, log, serialize.
func BenchmarkRespond(b *testing.B) {
	s, macs := benchServer(b, nil)
	pkts := benchRequests(b, s, macs, net.IPv4(127, 0, 0, 1))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		req, err := dhcpv4.FromBytes(pkts[i%len(pkts)])
		if err != nil {
			b.Fatal(err)
		}
		res := s.Respond(req)
		s.metrics.count(req.MessageType(), res)
		if res.Reply == nil {
			b.Fatalf("no reply: %s", res.Reason)
		}
		if len(res.Reply.ToBytes()) == 0 {
			b.Fatal("empty reply")
		}
		s.logResult(req, res, nil)
	}
}

// BenchmarkServeLoopback drives a real server on 127.0.0.1 with up to
// inFlight outstanding requests and reports exchanges (request + reply)
// per second.
func BenchmarkServeLoopback(b *testing.B) {
	const inFlight = 64
	client, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	caddr, ok := client.LocalAddr().(*net.UDPAddr)
	if !ok {
		b.Fatalf("client address %v", client.LocalAddr())
	}
	port := uint16(caddr.Port) //nolint:gosec // a UDP port fits
	s, macs := benchServer(b, func(c *Config) {
		c.Listen = netip.MustParseAddrPort("127.0.0.1:0")
		c.ReplyPort = port
	})
	pkts := benchRequests(b, s, macs, net.IPv4(127, 0, 0, 1))
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := s.Listen(ctx)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conn) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Serve: %v", err)
		}
	}()
	server := conn.LocalAddr()

	tokens := make(chan struct{}, inFlight)
	received := make(chan error, 1)
	go func() {
		buf := make([]byte, 1500)
		for range b.N {
			if err := client.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
				received <- err
				return
			}
			if _, _, err := client.ReadFrom(buf); err != nil {
				received <- err
				return
			}
			<-tokens
		}
		received <- nil
	}()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		tokens <- struct{}{}
		if _, err := client.WriteTo(pkts[i%len(pkts)], server); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-received; err != nil {
		b.Fatalf("replies: %v (a reply was lost?)", err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "replies/s")
}

// TestNewReplyMatchesLibrary: the hot path's newReply builds the same
// packet as dhcpv4.NewReplyFromRequest, byte for byte.
func TestNewReplyMatchesLibrary(t *testing.T) {
	relayInfo := dhcpv4.OptGeneric(dhcpv4.OptionRelayAgentInformation, []byte{1, 3, 'e', 't', '0'})
	clientID := dhcpv4.OptClientIdentifier([]byte{1, 2, 0, 0, 0, 0, 1})
	mods := []dhcpv4.Modifier{dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(127, 0, 0, 1)))}
	for name, req := range map[string]*dhcpv4.DHCPv4{
		"plain":    discover(t, macKnown),
		"relayed":  discover(t, macKnown, dhcpv4.WithRelay(net.IPv4(10, 0, 0, 1)), dhcpv4.WithOption(relayInfo)),
		"clientid": discover(t, macKnown, dhcpv4.WithOption(clientID), dhcpv4.WithBroadcast(true)),
	} {
		want, err := dhcpv4.NewReplyFromRequest(req, mods...)
		if err != nil {
			t.Fatal(err)
		}
		if got := newReply(req, mods...); string(got.ToBytes()) != string(want.ToBytes()) {
			t.Errorf("%s: newReply\n%s\nwant\n%s", name, got.Summary(), want.Summary())
		}
	}
}
