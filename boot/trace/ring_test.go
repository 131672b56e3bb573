package trace_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metalgit/metalgit/boot/trace"
	"github.com/metalgit/metalgit/internal/metricstest"
)

// mac returns the MAC 02:00:00:00:hi:lo.
func mac(n int) net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 0, byte(n >> 8), byte(n)} }

// clock is a test clock that moves one second per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func newRing(cfg trace.Config) *trace.Ring {
	c := &clock{t: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	cfg.Now = c.now
	return trace.New(cfg)
}

func details(evs []trace.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Detail
	}
	return out
}

func ev(detail string) trace.Event {
	return trace.Event{Server: trace.ServerDHCP, Kind: trace.KindDHCPOffer, Detail: detail}
}

func TestRingKeepsTheLastEventsOfAMACOldestFirst(t *testing.T) {
	r := newRing(trace.Config{MaxEvents: 3})
	if got := r.Events(mac(1)); got != nil {
		t.Fatalf("events of an unseen MAC: %v", got)
	}
	for i := range 5 {
		r.Record(mac(1), ev(fmt.Sprint(i)))
	}
	r.Record(mac(2), ev("other"))
	evs := r.Events(mac(1))
	if diff := cmp.Diff([]string{"2", "3", "4"}, details(evs)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	for i := 1; i < len(evs); i++ {
		if !evs[i].Time.After(evs[i-1].Time) {
			t.Errorf("event %d at %s, not after %s", i, evs[i].Time, evs[i-1].Time)
		}
	}
	// The ring is not the caller's: changing the result changes nothing.
	evs[0].Detail = "changed"
	if got := r.Events(mac(1))[0].Detail; got != "2" {
		t.Errorf("the ring shares its events: %q", got)
	}
	// A time set by the server is kept.
	at := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	r.Record(mac(3), trace.Event{Time: at, Detail: "x"})
	if got := r.Events(mac(3))[0].Time; !got.Equal(at) {
		t.Errorf("time %s, want %s", got, at)
	}
}

func TestRingDropsTheLeastRecentlySeenMAC(t *testing.T) {
	r := newRing(trace.Config{MaxMACs: 2})
	r.Record(mac(1), ev("1"))
	r.Record(mac(2), ev("2"))
	r.Record(mac(1), ev("1 again")) // 2 is now the least recently seen
	r.Record(mac(3), ev("3"))
	if r.Events(mac(2)) != nil || r.Events(mac(1)) == nil || r.Events(mac(3)) == nil {
		t.Errorf("kept 1:%v 2:%v 3:%v", r.Events(mac(1)), r.Events(mac(2)), r.Events(mac(3)))
	}
	if k, u := r.MACs(); k != 2 || u != 0 {
		t.Errorf("MACs() = %d, %d", k, u)
	}
}

// TestRingUnknownMACsCannotEvictHosts: a flood of invented MACs stays in
// its own budget.
func TestRingUnknownMACsCannotEvictHosts(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newRing(trace.Config{MaxMACs: 4, MaxUnknownMACs: 8})
	if err := r.Register(reg); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		r.Record(mac(i), ev("host"))
	}
	for i := 1000; i < 11000; i++ {
		r.RecordUnknown(mac(i), trace.Event{Server: trace.ServerDHCP, Kind: trace.KindDHCPUnknown})
	}
	for i := range 4 {
		if r.Events(mac(i)) == nil {
			t.Errorf("host %s was evicted by unknown MACs", mac(i))
		}
	}
	if k, u := r.MACs(); k != 4 || u != 8 {
		t.Errorf("MACs() = %d known, %d unknown; want 4, 8", k, u)
	}
	if r.Events(mac(10999)) == nil || r.Events(mac(1000)) != nil {
		t.Error("the unknown budget does not keep the most recent MACs")
	}
	want := `
# HELP metalgit_trace_evicted_macs_total MACs dropped from the boot trace with their events to make room for another, by known (true, false).
# TYPE metalgit_trace_evicted_macs_total counter
metalgit_trace_evicted_macs_total{known="false"} 9992
metalgit_trace_evicted_macs_total{known="true"} 0
# HELP metalgit_trace_macs MACs the boot trace holds events of, by known (in the host table when first recorded: true, false).
# TYPE metalgit_trace_macs gauge
metalgit_trace_macs{known="false"} 8
metalgit_trace_macs{known="true"} 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "metalgit_trace_macs", "metalgit_trace_evicted_macs_total"); err != nil {
		t.Error(err)
	}
	if got := eventCount(t, reg, trace.ServerDHCP, trace.KindDHCPUnknown); got != 10000 {
		t.Errorf("unknown-MAC events counted: %v", got)
	}
}

// TestRingCountsFailedEvents: metalgit_trace_failed_events_total counts
// the events marked failed, by server, kind and whether the MAC was in
// the host table, every series there at zero from the start; the other
// events count only in metalgit_trace_events_total.
func TestRingCountsFailedEvents(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	r := newRing(trace.Config{})
	if err := r.Register(reg); err != nil {
		t.Fatal(err)
	}
	kinds := testutil.CollectAndCount(reg, "metalgit_trace_events_total")
	if got := testutil.CollectAndCount(reg, "metalgit_trace_failed_events_total"); kinds == 0 || got != 2*kinds {
		t.Errorf("%d series of metalgit_trace_failed_events_total at the start, want %d (each kind, known and not)", got, 2*kinds)
	}
	r.Record(mac(1), trace.Event{Server: trace.ServerTFTP, Kind: trace.KindTFTP, Failed: true})
	r.Record(mac(1), trace.Event{Server: trace.ServerTFTP, Kind: trace.KindTFTP, Failed: true})
	r.Record(mac(1), trace.Event{Server: trace.ServerTFTP, Kind: trace.KindTFTP})
	r.RecordUnknown(mac(2), trace.Event{Server: trace.ServerHTTP, Kind: trace.KindScript, Failed: true})
	r.Record(mac(3), trace.Event{Server: trace.ServerCallback, Kind: trace.KindHeartbeat})
	got := map[string]float64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "metalgit_trace_failed_events_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if v := m.GetCounter().GetValue(); v != 0 {
				var key []string
				for _, l := range m.GetLabel() {
					key = append(key, l.GetName()+"="+l.GetValue())
				}
				got[strings.Join(key, ",")] = v
			}
		}
	}
	want := map[string]float64{"kind=tftp,known=true,server=tftp": 2, "kind=script,known=false,server=http": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed events (-want +got):\n%s", diff)
	}
	if n := eventCount(t, reg, trace.ServerTFTP, trace.KindTFTP); n != 3 {
		t.Errorf("TFTP events counted: %v, want 3", n)
	}
}

// eventCount reads metalgit_trace_events_total{server,kind} from reg.
func eventCount(t *testing.T, reg *prometheus.Registry, server, kind string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "metalgit_trace_events_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["server"] == server && labels["kind"] == kind {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no metalgit_trace_events_total{server=%q,kind=%q}", server, kind)
	return 0
}

// TestRingMACJoiningTheTable: a MAC first seen unknown (its DHCP request
// came before the table had it) moves to the hosts' budget with its
// events once a server records it as known.
func TestRingMACJoiningTheTable(t *testing.T) {
	r := newRing(trace.Config{MaxMACs: 2, MaxUnknownMACs: 2})
	r.RecordUnknown(mac(1), ev("unknown"))
	r.Record(mac(2), ev("host 2"))
	r.Record(mac(3), ev("host 3"))
	r.Record(mac(1), ev("known")) // joins a full budget: host 2 goes
	if diff := cmp.Diff([]string{"unknown", "known"}, details(r.Events(mac(1)))); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if k, u := r.MACs(); k != 2 || u != 0 {
		t.Errorf("MACs() = %d, %d; want 2, 0", k, u)
	}
	if r.Events(mac(2)) != nil {
		t.Error("the known budget holds more than MaxMACs")
	}
	// Later unknown records of a known MAC keep it in the hosts' budget.
	for i := 10; i < 20; i++ {
		r.RecordUnknown(mac(i), ev("flood"))
	}
	r.RecordUnknown(mac(1), ev("left the table"))
	if k, u := r.MACs(); k != 2 || u != 2 || len(r.Events(mac(1))) != 3 {
		t.Errorf("MACs() = %d, %d; events %v", k, u, details(r.Events(mac(1))))
	}
}

func TestRingBoundsEachEvent(t *testing.T) {
	r := newRing(trace.Config{})
	attrs := map[string]string{"a" + strings.Repeat("k", 100): strings.Repeat("é", 300)}
	for i := range 30 {
		attrs[fmt.Sprintf("a%02d", i)] = "v"
	}
	attrs["a-vc"] = "PXE\x1b[2J\xff"
	r.Record(mac(1), trace.Event{Detail: strings.Repeat("é", 1000), Attrs: attrs})
	attrs["a00"] = "changed by the caller"
	e := r.Events(mac(1))[0]
	if len(e.Detail) > trace.MaxDetail || !strings.HasSuffix(e.Detail, "…") || !strings.HasPrefix(e.Detail, "éé") {
		t.Errorf("detail of %d bytes: %q…", len(e.Detail), e.Detail[:10])
	}
	if len(e.Attrs) != trace.MaxAttrs || e.Attrs["a00"] != "v" || e.Attrs["a-vc"] != "PXE\ufffd[2J\ufffd" {
		t.Errorf("%d attrs, a00=%q", len(e.Attrs), e.Attrs["a00"])
	}
	for k, v := range e.Attrs {
		if len(k) > trace.MaxAttrKey || len(v) > trace.MaxAttrValue {
			t.Errorf("attr %q of %d bytes", k, len(v))
		}
	}
}

func TestNilRingIsANoOp(t *testing.T) {
	var r *trace.Ring
	r.Record(mac(1), ev("x"))
	r.RecordUnknown(mac(1), ev("x"))
	if r.Events(mac(1)) != nil {
		t.Error("a nil ring has events")
	}
	if k, u := r.MACs(); k != 0 || u != 0 {
		t.Error("a nil ring has MACs")
	}
	// An empty MAC is not recorded either.
	r = trace.New(trace.Config{})
	r.Record(nil, ev("x"))
	if k, _ := r.MACs(); k != 0 {
		t.Error("an empty MAC was recorded")
	}
}

// TestRingConcurrent records and reads from many goroutines; run with
// -race.
func TestRingConcurrent(t *testing.T) {
	r := trace.New(trace.Config{MaxEvents: 16, MaxMACs: 32, MaxUnknownMACs: 8})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				m := mac(g*100 + i%50)
				if i%3 == 0 {
					r.RecordUnknown(m, ev("u"))
				} else {
					r.Record(m, trace.Event{Detail: "k", Attrs: map[string]string{"i": fmt.Sprint(i)}})
				}
				for _, e := range r.Events(m) {
					_ = e.Attrs["i"]
				}
			}
		})
	}
	wg.Wait()
	k, u := r.MACs()
	if k > 32 || u > 8 {
		t.Errorf("MACs() = %d, %d past the bounds", k, u)
	}
}

func TestMetricNames(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if err := trace.New(trace.Config{}).Register(reg); err != nil {
		t.Fatal(err)
	}
	_, problems, err := metricstest.Lint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
