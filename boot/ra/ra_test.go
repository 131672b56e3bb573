package ra_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/net/ipv6"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/metalgit/metalgit/boot/ra"
	"github.com/metalgit/metalgit/internal/netnstest"
)

// quietLogger discards logs unless the test runs with -v.
func quietLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// serve starts a responder in the pair's server namespace and stops it
// when the test ends. cfg may carry a clock (ra.WithClock).
func serve(t *testing.T, p *netnstest.Pair, cfg ra.Config) {
	t.Helper()
	p.Server.WaitLinkLocal(t, 5*time.Second)
	cfg.Interface = p.Server.Interface
	cfg.Logger = quietLogger(t)
	var r *ra.Responder
	err := p.Server.NS.Do(func() error {
		var err error
		r, err = ra.Listen(cfg)
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", p.Server.NS.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
	})
}

// TestRdisc6 solicits with the real client rdisc6 from the client
// namespace and checks the advertisement it prints.
func TestRdisc6(t *testing.T) {
	t.Parallel()
	netnstest.RequireCommands(t, "rdisc6")
	p := netnstest.NewPair(t, netnstest.WithoutClientAddr())
	reg := prometheus.NewPedanticRegistry()
	// A long interval: only the solicited answer can reach rdisc6 in time.
	serve(t, p, ra.Config{Interval: time.Hour, Registerer: reg})
	p.Client.WaitLinkLocal(t, 5*time.Second)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	out, err := p.Client.NS.Command(ctx, "rdisc6", "-1", "-w", "3000", p.Client.Interface).CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("rdisc6: %v\n%s", err, out)
	}
	t.Logf("rdisc6 answered in %v:\n%s", elapsed, out)
	for _, re := range []string{
		`(?m)^\s*Stateful address conf\.\s*:\s*No$`,
		`(?m)^\s*Stateful other conf\.\s*:\s*No$`,
		`(?m)^\s*Router lifetime\s*:\s*0 \(0x0+\) seconds$`,
		`(?mi)^\s*Source link-layer address\s*:\s*` + regexp.QuoteMeta(p.Server.MAC.String()) + `$`,
	} {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("rdisc6 output does not match %s", re)
		}
	}
	if strings.Contains(string(out), "Prefix") {
		t.Errorf("advertisement carries a prefix:\n%s", out)
	}
	if elapsed > 2*time.Second {
		t.Errorf("rdisc6 took %v; the answer should be immediate", elapsed)
	}
	if got := waitCounter(t, reg, 1, "metalgit_ra_advertisements_sent_total", "reason", "solicited"); got < 1 {
		t.Errorf("solicited advertisements counted = %v, want >= 1", got)
	}
}

// waitCounter polls counter for up to 2 s until it reaches want, since
// counters are bumped just after the packet is sent, and returns its last
// value.
func waitCounter(t *testing.T, reg prometheus.Gatherer, want float64, name string, labels ...string) float64 {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := counter(t, reg, name, labels...)
		if got >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// counter returns the value of the counter name in reg whose labels
// include all of labels (name=value pairs), or -1 if there is none.
func counter(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m.GetLabel(), labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

func hasLabels(have []*dto.LabelPair, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, l := range have {
			found = found || (l.GetName() == want[i] && l.GetValue() == want[i+1])
		}
		if !found {
			return false
		}
	}
	return true
}

// TestUnsolicited listens in the client namespace and checks the startup
// advertisement and the periodic ones, field by field, each periodic one
// sent when the fake clock reaches the next interval.
func TestUnsolicited(t *testing.T) {
	t.Parallel()
	p := netnstest.NewPair(t)
	p.Client.WaitLinkLocal(t, 5*time.Second)
	conn := listenClient(t, p)
	serverLL := p.Server.WaitLinkLocal(t, 5*time.Second)
	clk := clocktesting.NewFakeClock(time.Now())
	reg := prometheus.NewPedanticRegistry()
	serve(t, p, ra.WithClock(ra.Config{Interval: time.Hour, Registerer: reg}, clk))

	// next reads the next multicast advertisement from the server.
	next := func(what string) {
		t.Helper()
		if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		for {
			msg, cm, from, err := conn.ReadFrom()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			adv, ok := msg.(*ndp.RouterAdvertisement)
			if !ok || cm == nil || !cm.Dst.Equal(net.IPv6linklocalallnodes) {
				continue
			}
			checkAdvertisement(t, adv, p.Server.MAC)
			if from.WithZone("") != serverLL.WithZone("") {
				t.Errorf("%s: advertisement from %v, want %v", what, from, serverLL)
			}
			return
		}
	}
	next("the startup advertisement")
	waitUntil(t, "the responder's ticker", clk.HasWaiters)
	for i := 1; i <= 2; i++ {
		clk.Step(time.Hour)
		next(fmt.Sprintf("periodic advertisement %d", i))
		if got := waitCounter(t, reg, float64(i), "metalgit_ra_advertisements_sent_total", "reason", "periodic"); got != float64(i) {
			t.Errorf("periodic advertisements counted = %v, want %d", got, i)
		}
	}
	if got := counter(t, reg, "metalgit_ra_advertisements_sent_total", "reason", "startup"); got != 1 {
		t.Errorf("startup advertisements counted = %v, want 1", got)
	}
}

// waitUntil polls cond until it holds, for up to 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// listenClient opens an NDP socket in the client namespace that reports
// each packet's destination.
func listenClient(t *testing.T, p *netnstest.Pair) *ndp.Conn {
	t.Helper()
	var conn *ndp.Conn
	err := p.Client.NS.Do(func() error {
		ifi, err := net.InterfaceByName(p.Client.Interface)
		if err != nil {
			return err
		}
		conn, _, err = ndp.Listen(ifi, ndp.LinkLocal)
		if err != nil {
			return err
		}
		return conn.SetControlMessage(ipv6.FlagDst, true)
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", p.Client.NS.Name, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// checkAdvertisement checks the fields that make the advertisement
// harmless: not a router, no DHCPv6, no prefix, the server's MAC.
func checkAdvertisement(t *testing.T, adv *ndp.RouterAdvertisement, mac net.HardwareAddr) {
	t.Helper()
	if adv.RouterLifetime != 0 || adv.ManagedConfiguration || adv.OtherConfiguration {
		t.Errorf("advertisement: lifetime %v, M %v, O %v; want 0, false, false",
			adv.RouterLifetime, adv.ManagedConfiguration, adv.OtherConfiguration)
	}
	var lla net.HardwareAddr
	for _, o := range adv.Options {
		switch o := o.(type) {
		case *ndp.LinkLayerAddress:
			if o.Direction == ndp.Source {
				lla = o.Addr
			}
		case *ndp.PrefixInformation:
			t.Errorf("advertisement carries prefix %v", o.Prefix)
		}
	}
	if lla.String() != mac.String() {
		t.Errorf("source link-layer address = %v, want %v", lla, mac)
	}
}

// TestRunStopsOnCancel runs Run itself inside the server namespace.
func TestRunStopsOnCancel(t *testing.T) {
	t.Parallel()
	p := netnstest.NewPair(t)
	p.Server.WaitLinkLocal(t, 5*time.Second)
	reg := prometheus.NewPedanticRegistry()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- p.Server.NS.Do(func() error {
			return ra.Run(ctx, ra.Config{Interface: p.Server.Interface, Logger: quietLogger(t), Registerer: reg})
		})
	}()
	// Serving: the startup advertisement went out.
	if got := waitCounter(t, reg, 1, "metalgit_ra_advertisements_sent_total", "reason", "startup"); got != 1 {
		t.Fatalf("startup advertisements counted = %v, want 1", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestRunWaitsForTheInterface: Run started while the interface has no
// usable link-local address (down, as during boot or duplicate address
// detection) tries again every 200 ms of the clock and serves once the
// address is there.
func TestRunWaitsForTheInterface(t *testing.T) {
	t.Parallel()
	p := netnstest.NewPair(t)
	p.Server.WaitLinkLocal(t, 5*time.Second)
	ip := func(args ...string) {
		t.Helper()
		if out, err := p.Server.NS.Command(t.Context(), "ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	ip("link", "set", "dev", p.Server.Interface, "down")
	clk := clocktesting.NewFakeClock(time.Now())
	reg := prometheus.NewPedanticRegistry()
	cfg := ra.WithClock(ra.Config{Interface: p.Server.Interface, StartTimeout: time.Minute, Interval: time.Hour,
		Registerer: reg, Logger: quietLogger(t)}, clk)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Server.NS.Do(func() error { return ra.Run(ctx, cfg) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	sent := func() float64 { return counter(t, reg, "metalgit_ra_advertisements_sent_total", "reason", "startup") }

	waitUntil(t, "Run to wait before trying again", clk.HasWaiters)
	if got := sent(); got > 0 {
		t.Fatalf("startup advertisements counted = %v before the interface was up", got)
	}
	ip("link", "set", "dev", p.Server.Interface, "up")
	p.Server.WaitLinkLocal(t, 5*time.Second)
	for steps := 0; sent() < 1; steps++ {
		if steps == 10 {
			t.Fatal("Run did not serve ten tries after the interface came up")
		}
		clk.Step(200 * time.Millisecond)
		// Run waits to try again, or serves (the startup advertisement
		// goes out before the ticker is set).
		waitUntil(t, "Run to try again", func() bool { return clk.HasWaiters() || sent() >= 1 })
	}
}

// TestRunGivesUpAtStartTimeout: on an interface that never appears, Run
// tries until StartTimeout has passed on its clock, and no longer.
func TestRunGivesUpAtStartTimeout(t *testing.T) {
	t.Parallel()
	const name = "mg-missing1"
	clk := clocktesting.NewFakeClock(time.Now())
	cfg := ra.WithClock(ra.Config{Interface: name, StartTimeout: time.Second, Logger: quietLogger(t)}, clk)
	done := make(chan error, 1)
	go func() { done <- ra.Run(t.Context(), cfg) }()
	var err error
	returned := func() bool {
		select {
		case err = <-done:
			return true
		default:
			return false
		}
	}
	// Tries at 0, 200, 400, 600 and 800 ms wait for the next one.
	for elapsed := time.Duration(0); elapsed < time.Second; elapsed += 200 * time.Millisecond {
		waitUntil(t, "Run to wait before trying again", func() bool { return clk.HasWaiters() || returned() })
		if !clk.HasWaiters() {
			t.Fatalf("Run returned %v %v after it started, before its StartTimeout of 1s", err, elapsed)
		}
		clk.Step(200 * time.Millisecond)
	}
	waitUntil(t, "Run to give up", returned)
	if err == nil || !strings.Contains(err.Error(), `interface "`+name+`"`) {
		t.Fatalf("Run = %v; want the error naming %q", err, name)
	}
}

// TestRunStopsWhileWaiting: cancelled while it waits to try again, Run
// returns nil.
func TestRunStopsWhileWaiting(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakeClock(time.Now())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- ra.Run(ctx, ra.WithClock(ra.Config{Interface: "mg-missing2", StartTimeout: time.Hour, Logger: quietLogger(t)}, clk))
	}()
	waitUntil(t, "Run to wait before trying again", clk.HasWaiters)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestMissingInterface(t *testing.T) {
	t.Parallel()
	const name = "mg-missing0"
	err := ra.Run(t.Context(), ra.Config{Interface: name, Logger: quietLogger(t)})
	if err == nil || !strings.Contains(err.Error(), `interface "`+name+`"`) ||
		!strings.Contains(err.Error(), "no such network interface") {
		t.Fatalf("Run on a missing interface = %v; want an error naming %q", err, name)
	}
}

// TestNoLinkLocal uses loopback, which never has a link-local address.
func TestNoLinkLocal(t *testing.T) {
	t.Parallel()
	err := ra.Run(t.Context(), ra.Config{Interface: "lo", Logger: quietLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "no IPv6 link-local address") {
		t.Fatalf("Run on lo = %v; want a missing link-local error", err)
	}
}

// TestSharedRegistry starts two responders on one registry; the second
// reuses the first one's counters.
func TestSharedRegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	for range 2 {
		p := netnstest.NewPair(t)
		serve(t, p, ra.Config{Interval: time.Hour, Registerer: reg})
	}
	if got := waitCounter(t, reg, 2, "metalgit_ra_advertisements_sent_total", "reason", "startup"); got != 2 {
		t.Errorf("startup advertisements counted = %v, want 2", got)
	}
}
