package reconciler_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/metalgit/metalgit/reconciler"
)

// TestPassOutputOnlyRewrittenOnChange checks that a pass leaves an output
// folder that already holds its manifests alone, and that after a change
// the (cached) render writes what a fresh reconciler writes.
func TestPassOutputOnlyRewrittenOnChange(t *testing.T) {
	remote := newRemote(t)
	out := filepath.Join(t.TempDir(), "out")
	r := newReconciler(t, reconciler.Config{URL: "file://" + remote, Output: out})
	pass := func(what string) *reconciler.Result {
		t.Helper()
		res, err := r.Pass(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return res
	}
	stat := func() os.FileInfo {
		t.Helper()
		info, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	first := pass("first pass")
	before := stat()
	second := pass("second pass")
	if second.Pushed || !os.SameFile(before, stat()) {
		t.Fatalf("a pass with nothing to do replaced the output folder (pushed %v)", second.Pushed)
	}
	if len(second.OutputFiles) != len(first.OutputFiles) {
		t.Fatalf("second pass reports %d files, want %d", len(second.OutputFiles), len(first.OutputFiles))
	}

	pushChange(t, remote, "add a host", addHost(40))
	third := pass("after a change")
	if !third.Pushed || os.SameFile(before, stat()) {
		t.Fatalf("the pass after a change did not rewrite the output folder (pushed %v)", third.Pushed)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := newReconciler(t, reconciler.Config{URL: "file://" + remote, Output: fresh}).Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(third.OutputFiles) {
		t.Fatalf("output holds %d files, a fresh reconciler writes %d", len(third.OutputFiles), len(entries))
	}
	found := false
	for _, e := range entries {
		want, err := os.ReadFile(filepath.Join(fresh, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from a fresh reconciler's", e.Name())
		}
		found = found || e.Name() == "baremetalhost-extra-40.yaml"
	}
	if !found {
		t.Error("the added host is not rendered")
	}
}
