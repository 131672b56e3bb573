package reconciler_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/metalgit/metalgit/reconciler"
)

// TestControllerHostTableOnlyAfterGoodPasses: the host table is published
// (Hosts and OnResult) after a good pass and kept through a failed one.
func TestControllerHostTableOnlyAfterGoodPasses(t *testing.T) {
	remote := newRemote(t)
	var mu sync.Mutex
	var got []*reconciler.HostTable
	h := startController(t, reconciler.Config{URL: "file://" + remote, OnResult: func(ht *reconciler.HostTable) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ht)
	}})
	h.wait(t, "the first pass", passes(1))
	first := h.ctl.Hosts()
	if first == nil || len(first.Hosts) == 0 {
		t.Fatalf("no host table after a good pass: %+v", first)
	}
	if first.StateCommit == "" || first.StateCommit != git(t, remote, "rev-parse", "main") {
		t.Errorf("table state commit %q, want the remote head", first.StateCommit)
	}
	var withAddr int
	for _, e := range first.Hosts {
		if e.MAC == "" || e.Hostname == "" || (e.Phase != reconciler.PhaseBound && e.Phase != reconciler.PhaseAvailable) {
			t.Errorf("incomplete entry %+v", e)
		}
		if e.Address.IsValid() {
			withAddr++
			if !e.Gateway.IsValid() || !e.Address.Contains(e.Gateway) {
				t.Errorf("%s: address %s, gateway %s", e.Name, e.Address, e.Gateway)
			}
			if len(e.DNS) == 0 {
				t.Errorf("%s: no DNS servers", e.Name)
			}
		}
		if l, ok := first.Lookup(e.MAC); !ok || l.Name != e.Name {
			t.Errorf("Lookup(%s) = %+v, %v", e.MAC, l, ok)
		}
	}
	if withAddr == 0 {
		t.Error("no host has an address")
	}

	pushChange(t, remote, "break", func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "hosts", "bad.yaml"), []byte("apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: {name: bad}\nspec: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	h.clock.Step(time.Hour)
	st := h.wait(t, "the failed pass", passes(2))
	if st.LastError == nil {
		t.Fatalf("second pass did not fail: %+v", st)
	}
	if h.ctl.Hosts() != first {
		t.Error("a failed pass replaced the host table")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != first {
		t.Errorf("OnResult called %d times, want once with the first table", len(got))
	}
}
