package reconciler_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// The output folder is checked before anything is committed or pushed: a
// folder that holds what metalgit did not write, or that holds the work
// directory, refuses the Reconciler (or the pass), and the remote does
// not move.
func TestOutputCheckedBeforeCommit(t *testing.T) {
	remote := newRemote(t)
	head := git(t, remote, "rev-parse", "main")
	work := t.TempDir()
	foreign := t.TempDir()
	putFile(t, filepath.Join(foreign, "notes.txt"), "mine\n")
	for name, output := range map[string]string{"foreign files": foreign, "holds the work directory": work} {
		_, err := reconciler.New(reconciler.Config{URL: "file://" + remote, Output: output, WorkDir: work})
		if err == nil {
			t.Errorf("%s: New accepted --output %s", name, output)
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	r := newReconciler(t, reconciler.Config{URL: "file://" + remote, Output: out})
	putFile(t, filepath.Join(out, "notes.txt"), "mine\n")
	if _, err := r.Pass(context.Background()); err == nil || !strings.Contains(err.Error(), "it holds notes.txt, which metalgit did not write") {
		t.Fatalf("pass: %v, want the output refused", err)
	}
	if now := git(t, remote, "rev-parse", "main"); now != head {
		t.Fatalf("the remote moved from %s to %s although the output was refused", head, now)
	}
	if data, err := os.ReadFile(filepath.Join(out, "notes.txt")); err != nil || string(data) != "mine\n" {
		t.Fatalf("notes.txt: %q, %v", data, err)
	}
}

// A pass out of time stops with the context's error, commits nothing and
// writes no output, whichever step it was at: the fetch, or (at a head
// the working clone holds, which it takes without fetching) the load and
// the render.
func TestPassStopsOnContext(t *testing.T) {
	remote := newRemote(t)
	out := filepath.Join(t.TempDir(), "out")
	r := newReconciler(t, reconciler.Config{URL: "file://" + remote, Output: out})
	res, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	head := git(t, remote, "rev-parse", "main")
	ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	// The held heads first: a failed fetch drops the working clone.
	for _, step := range []struct {
		name string
		pass func() (*reconciler.Result, error)
	}{
		{"held state commit", func() (*reconciler.Result, error) { return r.PassAt(ctx, res.StateCommit) }},
		{"fetch", func() (*reconciler.Result, error) { return r.Pass(ctx) }},
	} {
		name := step.name
		if _, err := step.pass(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want the context's deadline", name, err)
		}
		if now := git(t, remote, "rev-parse", "main"); now != head {
			t.Fatalf("%s: the remote moved", name)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: a pass out of time wrote the output (%v)", name, err)
		}
	}
}
