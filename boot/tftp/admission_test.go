package tftp

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metalgit/metalgit/boot/trace"
)

// TestAdmission: the slot bookkeeping alone — limits, which transfer is
// evicted, and that an evicted slot's late release frees nothing.
func TestAdmission(t *testing.T) {
	a := newAdmission(3, 2)
	ip := netip.MustParseAddr
	var evicted []string
	take := func(client, name string) (*slot, Reason) {
		return a.take(ip(client), func(cause error) {
			if !errors.Is(cause, errEvicted) {
				t.Errorf("%s evicted with %v", name, cause)
			}
			evicted = append(evicted, name)
		})
	}
	a1, _ := take("10.0.0.1", "a1")
	a2, _ := take("10.0.0.1", "a2")
	a.acked(a1)
	a.acked(a2)
	if _, why := take("10.0.0.1", "a3"); why != ReasonClientBusy {
		t.Fatalf("third of a client with two acknowledged: %q, want client-busy", why)
	}
	b1, _ := take("10.0.0.2", "b1")
	// The server is full; b1 is the only unacknowledged transfer.
	c1, why := take("10.0.0.3", "c1")
	if why != "" || !slicesEqual(evicted, "b1") {
		t.Fatalf("full server: %q, evicted %v; want c1 admitted, b1 evicted", why, evicted)
	}
	a.release(b1) // the evicted transfer ends later: nothing more is freed
	if a.running != 3 || a.byClient[ip("10.0.0.2")] != 0 {
		t.Fatalf("after b1's late release: running %d, by client %v", a.running, a.byClient)
	}
	a.acked(c1)
	if _, why := take("10.0.0.4", "d1"); why != ReasonBusy {
		t.Fatalf("full, all acknowledged: %q, want busy", why)
	}
	a.release(a1)
	d1, why := take("10.0.0.4", "d1")
	d2, why2 := take("10.0.0.4", "d2")
	if why != "" || why2 != "" || !slicesEqual(evicted, "b1", "d1") {
		t.Fatalf("after a release: %q %q, evicted %v; want d2 to take d1's slot", why, why2, evicted)
	}
	// A client at its limit makes room from its own transfers only.
	e1, _ := take("10.0.0.4", "d3")
	if !slicesEqual(evicted, "b1", "d1", "d2") || e1 == nil {
		t.Fatalf("client at its limit: evicted %v", evicted)
	}
	for _, s := range []*slot{a2, c1, d1, d2, e1} {
		a.release(s)
	}
	if a.running != 0 || len(a.byClient) != 0 || len(a.unacked) != 0 {
		t.Fatalf("after every release: running %d, by client %v, unacked %d", a.running, a.byClient, len(a.unacked))
	}
}

func slicesEqual(got []string, want ...string) bool {
	return strings.Join(got, ",") == strings.Join(want, ",")
}

// holdAcked starts a transfer from ip, acknowledges DATA 1 and then
// holds DATA 2 without an answer: a client the server has heard from.
func holdAcked(t *testing.T, l *lab, ip string) (*rawClient, *net.UDPAddr) {
	t.Helper()
	c := dialFrom(t, l.addr, net.ParseIP(ip))
	c.rrq(t, "5MiB", "octet")
	p := c.recv(t)
	if p.op != opDATA || p.block != 1 {
		t.Fatalf("%s: first packet %s", ip, p)
	}
	c.ack(t, 1)
	if p = c.recv(t); p.op != opDATA || p.block != 2 {
		t.Fatalf("%s: after ACK 1: %s", ip, p)
	}
	return c, p.from
}

// holdSilent starts a transfer from ip and never answers it.
func holdSilent(t *testing.T, l *lab, ip string) *rawClient {
	t.Helper()
	c := dialFrom(t, l.addr, net.ParseIP(ip))
	c.rrq(t, "5MiB", "octet")
	if p := c.recv(t); p.op != opDATA || p.block != 1 {
		t.Fatalf("%s: first packet %s", ip, p)
	}
	return c
}

// waitEvicted reads c's packets (DATA 1 again, as the server resends it)
// until the server's ERROR of an eviction.
func waitEvicted(t *testing.T, c *rawClient) {
	t.Helper()
	for {
		p := c.recv(t)
		if p.op == opERROR {
			if p.code != codeNotDefined || p.msg != errEvicted.Error() {
				t.Fatalf("ERROR %d %q, want the eviction", p.code, p.msg)
			}
			return
		}
	}
}

// TestAcknowledgedTransfersKeepSlots: with MaxTransfers running and each
// acknowledged, the next request is refused as busy; once one ends,
// requests are served again.
func TestAcknowledgedTransfersKeepSlots(t *testing.T) {
	l := startLab(t, func(c *Config) { c.MaxTransfers = 2 })
	m := l.srv.metrics
	h1, tid1 := holdAcked(t, l, "127.0.0.2")
	h2, tid2 := holdAcked(t, l, "127.0.0.3")
	if got := testutil.ToFloat64(m.inFlight); got != 2 {
		t.Fatalf("in flight %v, want 2", got)
	}
	c := dialFrom(t, l.addr, net.ParseIP("127.0.0.4"))
	c.rrq(t, "512", "octet")
	if p := c.recv(t); p.op != opERROR || p.code != codeNotDefined || p.msg != refusal(ReasonBusy).Error() {
		t.Fatalf("third request answered %s, want busy", p)
	}
	waitCounter(t, m.byReason[ReasonBusy], 1)
	// One holder gives up: its slot is free again.
	h1.sendErrorTo(t, tid1, 0, "giving up")
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(m.inFlight) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("in flight %v after an abort, want 1", testutil.ToFloat64(m.inFlight))
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, _, _, err := l.fetch(t, "513", 0, false)
	if err != nil || !bytes.Equal(got, l.files["513"]) {
		t.Fatalf("fetch with a free slot: %d bytes, %v", len(got), err)
	}
	h2.sendErrorTo(t, tid2, 0, "giving up")
	waitCounter(t, m.byResult[ResultFailed], 2)
	waitCounter(t, m.byResult[ResultCompleted], 1)
	if got := testutil.ToFloat64(m.evicted); got != 0 {
		t.Errorf("evicted %v, want 0", got)
	}
}

// TestUnacknowledgedEvicted: transfers no client answered do not keep a
// real client out: its request takes the oldest one's slot at once, and
// that transfer's client is told.
func TestUnacknowledgedEvicted(t *testing.T) {
	silentMAC := mustMAC("52:54:00:00:00:02")
	l := startLab(t, func(c *Config) {
		c.MaxTransfers = 2
		c.MACOf = func(a netip.Addr) (net.HardwareAddr, bool) {
			return silentMAC, a == netip.MustParseAddr("127.0.0.2")
		}
	})
	m := l.srv.metrics
	s1 := holdSilent(t, l, "127.0.0.2")
	s2 := holdSilent(t, l, "127.0.0.3")
	start := time.Now()
	got, _, _, err := l.fetch(t, "513", 0, false)
	if err != nil || !bytes.Equal(got, l.files["513"]) {
		t.Fatalf("fetch while silent transfers hold every slot: %d bytes, %v", len(got), err)
	}
	if d := time.Since(start); d > l.srv.cfg.Timeout {
		t.Errorf("fetch took %s: it waited for a slot", d)
	}
	waitEvicted(t, s1)
	// Once the fetch's transfer has ended, a third silent one fills the
	// server again; the second is then the oldest.
	for deadline := time.Now().Add(20 * time.Second); testutil.ToFloat64(m.inFlight) != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("in flight %v after the fetch, want 1", testutil.ToFloat64(m.inFlight))
		}
		time.Sleep(5 * time.Millisecond)
	}
	holdSilent(t, l, "127.0.0.4")
	if _, _, _, err := l.fetch(t, "1468", 1468, true); err != nil {
		t.Fatalf("second fetch: %v", err)
	}
	waitEvicted(t, s2)
	waitCounter(t, m.evicted, 2)
	waitCounter(t, m.byResult[ResultCompleted], 2)
	waitCounter(t, m.byResult[ResultFailed], 2)
	if !strings.Contains(l.logs.String(), errEvicted.Error()) {
		t.Errorf("no log line of an eviction:\n%s", l.logs.String())
	}
	// The first silent client's trace says what happened.
	evs := l.trace.Events(silentMAC)
	if len(evs) != 1 || evs[0].Attrs[trace.AttrReason] != "evicted" || !evs[0].Failed {
		t.Fatalf("trace of the evicted client: %+v", evs)
	}
	if v := trace.Diagnose(evs, true).String(); !strings.Contains(v, "acknowledged nothing before newer requests") {
		t.Errorf("verdict %q does not name the eviction", v)
	}
}

// TestPerClientLimit: one address gets MaxTransfersPerClient transfers;
// a request beyond takes the place of its own unanswered transfer (a
// request sent again), or is refused when all were answered. Other
// clients are served meanwhile.
func TestPerClientLimit(t *testing.T) {
	l := startLab(t, func(c *Config) { c.MaxTransfersPerClient = 2 })
	m := l.srv.metrics
	holdAcked(t, l, "127.0.0.2")
	holdAcked(t, l, "127.0.0.2")
	c := dialFrom(t, l.addr, net.ParseIP("127.0.0.2"))
	c.rrq(t, "512", "octet")
	if p := c.recv(t); p.op != opERROR || p.code != codeNotDefined || p.msg != refusal(ReasonClientBusy).Error() {
		t.Fatalf("third request of one client answered %s, want client-busy", p)
	}
	waitCounter(t, m.byReason[ReasonClientBusy], 1)
	// Another client is served.
	if _, _, _, err := l.fetch(t, "513", 0, false); err != nil {
		t.Fatalf("another client: %v", err)
	}
	// A client whose two requests went unanswered sends a third: it
	// takes the place of its first.
	first := holdSilent(t, l, "127.0.0.3")
	holdSilent(t, l, "127.0.0.3")
	holdSilent(t, l, "127.0.0.3")
	waitEvicted(t, first)
	if got := testutil.ToFloat64(m.byReason[ReasonBusy]); got != 0 {
		t.Errorf("busy refusals %v, want 0", got)
	}
}

// TestFloodOfSilentRequests: requests that are never answered — as from
// forged addresses — arrive faster than transfers time out, from 200
// addresses; a real client fetching meanwhile is served.
func TestFloodOfSilentRequests(t *testing.T) {
	l := startLab(t, nil)
	var senders []*net.UDPConn
	for i := range 200 {
		ip := net.IPv4(127, 0, 1, byte(i+1))
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		senders = append(senders, conn)
	}
	rrq := requestPacket(opRRQ, "5MiB", "octet")
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			_, _ = senders[i%len(senders)].WriteToUDP(rrq, l.addr)
			time.Sleep(time.Millisecond)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	// The flood holds every slot.
	for deadline := time.Now().Add(20 * time.Second); testutil.ToFloat64(l.srv.metrics.inFlight) < DefaultMaxTransfers; {
		if time.Now().After(deadline) {
			t.Fatalf("in flight %v after 20 s of flood, want %d", testutil.ToFloat64(l.srv.metrics.inFlight), DefaultMaxTransfers)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, name := range []string{"513", "3x1468"} {
		got, _, _, err := l.fetch(t, name, 1468, true)
		if err != nil || !bytes.Equal(got, l.files[name]) {
			t.Fatalf("fetch %s during the flood: %d bytes, %v", name, len(got), err)
		}
	}
	if got := testutil.ToFloat64(l.srv.metrics.byReason[ReasonBusy]); got != 0 {
		t.Errorf("busy refusals %v during a flood of silent requests, want 0", got)
	}
	if got := testutil.ToFloat64(l.srv.metrics.evicted); got == 0 {
		t.Error("no transfer evicted")
	}
	if got := testutil.ToFloat64(l.srv.metrics.inFlight); got > float64(DefaultMaxTransfers)+8 {
		t.Errorf("in flight %v, bound %d (and the evicted ones ending)", got, DefaultMaxTransfers)
	}
}
