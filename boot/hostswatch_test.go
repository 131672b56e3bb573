package boot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/metalgit/metalgit/boot"
)

const oneHost = `hosts:
  - mac: "02:00:00:00:00:01"
    address: 192.168.100.3/24
`

const twoHosts = oneHost + `  - mac: "02:00:00:00:00:02"
    address: 192.168.100.4/24
`

// hostsWatch is a WatchHostsFile running on a fake clock, in lock-step
// with the test: the watch looks at the file only when look steps the
// clock one interval.
type hostsWatch struct {
	t      *testing.T
	path   string
	store  *boot.Store
	clock  *clocktesting.FakeClock
	reg    *prometheus.Registry
	looked chan bool
}

const watchInterval = time.Minute

func startHostsWatch(t *testing.T, content string) *hostsWatch {
	t.Helper()
	w := &hostsWatch{t: t, path: filepath.Join(t.TempDir(), "hosts.yaml"), store: &boot.Store{},
		clock: clocktesting.NewFakeClock(time.Now()), reg: prometheus.NewPedanticRegistry(), looked: make(chan bool)}
	w.write(content)
	tab, err := boot.LoadHostsFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	w.store.Swap(tab)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := boot.WithClock(boot.HostsFileConfig{Path: w.path, Store: w.store, Interval: watchInterval, Registerer: w.reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, w.clock, func(changed bool) {
		select {
		case w.looked <- changed:
		case <-ctx.Done():
		}
	})
	done := make(chan error, 1)
	go func() { done <- boot.WatchHostsFile(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("WatchHostsFile: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("WatchHostsFile did not return after its context ended")
		}
	})
	// Running: the ticker is set (after the metrics are registered).
	deadline := time.Now().Add(10 * time.Second)
	for !w.clock.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("the watch set no ticker")
		}
		time.Sleep(time.Millisecond)
	}
	return w
}

func (w *hostsWatch) write(content string) {
	w.t.Helper()
	if err := os.WriteFile(w.path, []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// look moves the clock one interval and returns whether the watch found
// the file changed.
func (w *hostsWatch) look() bool {
	w.t.Helper()
	w.clock.Step(watchInterval)
	select {
	case changed := <-w.looked:
		return changed
	case <-time.After(10 * time.Second):
		w.t.Fatal("the watch did not look at the file one interval on")
		return false
	}
}

// settle looks twice after an edit: the first look only notes the change
// (the file may still be being written), the second, one interval later
// with the file unchanged, loads it. It returns what the second found.
func (w *hostsWatch) settle() bool {
	w.t.Helper()
	if w.look() {
		w.t.Error("a change was loaded the moment it was seen, before it kept still for an interval")
	}
	return w.look()
}

// check compares the table in service and the reload counters.
func (w *hostsWatch) check(what string, hosts int, reloaded, refused int) {
	w.t.Helper()
	if n := w.store.Load().Len(); n != hosts {
		w.t.Errorf("%s: %d hosts in service, want %d", what, n, hosts)
	}
	want := fmt.Sprintf(`# HELP %[1]s Reloads of the hosts file after it changed, by result (reloaded; refused: the file did not load and the previous table stays).
# TYPE %[1]s counter
%[1]s{result="refused"} %[2]d
%[1]s{result="reloaded"} %[3]d
`, boot.MetricHostsFileReloads, refused, reloaded)
	if err := testutil.GatherAndCompare(w.reg, strings.NewReader(want), boot.MetricHostsFileReloads); err != nil {
		w.t.Errorf("%s: %v", what, err)
	}
}

// TestWatchHostsFile drives the watch through the edits an operator
// makes, one interval of the fake clock at a time: an unchanged file is
// not reloaded, an edit is, a broken edit or a removed file is refused
// and counted while the table in service stays, and the next good edit
// is taken.
func TestWatchHostsFile(t *testing.T) {
	w := startHostsWatch(t, oneHost)
	w.check("at start", 1, 0, 0)

	if w.look() {
		t.Error("an unchanged file was seen as changed")
	}
	w.check("unchanged", 1, 0, 0)

	w.write(twoHosts)
	if !w.settle() {
		t.Fatal("an edit was not seen")
	}
	w.check("an added host", 2, 1, 0)
	inService := w.store.Load()

	w.write(twoHosts + "  - mac: nope\n")
	if !w.settle() {
		t.Fatal("a broken edit was not seen")
	}
	w.check("a broken edit", 2, 1, 1)
	if w.store.Load() != inService {
		t.Error("a broken edit replaced the table in service")
	}

	if err := os.Remove(w.path); err != nil {
		t.Fatal(err)
	}
	if !w.settle() {
		t.Fatal("the removal was not seen")
	}
	w.check("a removed file", 2, 1, 2)
	if w.look() {
		t.Error("a file still missing was seen as changed")
	}

	w.write(oneHost)
	if !w.settle() {
		t.Fatal("the file's return was not seen")
	}
	w.check("the file back", 1, 2, 2)
}

// TestWatchHostsFileMidWrite: a file caught between its truncation and
// its new content (an editor or os.WriteFile writing it in place) never
// replaces the table: only what stays for an interval is loaded.
func TestWatchHostsFileMidWrite(t *testing.T) {
	w := startHostsWatch(t, oneHost)
	w.write("")
	if w.look() {
		t.Fatal("the truncated file was loaded at once")
	}
	w.write(twoHosts)
	if w.look() {
		t.Fatal("the file was loaded while it was changing")
	}
	w.check("mid-write", 1, 0, 0)
	if !w.look() {
		t.Fatal("the file, still for an interval, was not loaded")
	}
	w.check("written", 2, 1, 0)
}

func TestWatchHostsFileConfig(t *testing.T) {
	err := boot.WatchHostsFile(t.Context(), boot.HostsFileConfig{})
	if err == nil || !strings.Contains(err.Error(), "Path and Store") {
		t.Fatalf("WatchHostsFile(HostsFileConfig{}) = %v, want an error naming Path and Store", err)
	}
}
