package reconciler

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// After a state commit, the next pass plans that state again and renders
// nothing (same inventory, same state tree); the pass after it, at the
// same commit, does no work at all but still repairs the output folder;
// a new commit runs a whole pass again, reading only the files it changed.
func TestSettledPassAndRenderSkip(t *testing.T) {
	remote := seedRemote(t)
	out := filepath.Join(t.TempDir(), "out")
	r := testReconciler(t, Config{URL: "file://" + remote, Output: out})
	pass := func(what string) *Result {
		t.Helper()
		res, err := r.Pass(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return res
	}
	first := pass("allocating")
	if !first.Pushed {
		t.Fatal("the first pass pushed nothing")
	}
	if first.Reused.Inventory || first.Reused.Render || first.Reused.HostsRendered == 0 {
		t.Fatalf("the first pass did not load and render: reused %+v", first.Reused)
	}
	want := readTree(t, out)

	second := pass("at the state commit")
	if second.Pushed || second.SourceCommit != first.StateCommit || second.Plan.Changed() {
		t.Fatalf("second pass: %+v", second)
	}
	if want := (Reuse{Inventory: true, State: true, Plan: true, Render: true}); second.Reused != want {
		t.Fatalf("the second pass reused %+v, want %+v", second.Reused, want)
	}

	third := pass("unchanged")
	if third.Reused != second.Reused {
		t.Fatalf("the third pass reused %+v, want everything", third.Reused)
	}
	if third.SourceCommit != second.SourceCommit || !reflect.DeepEqual(third.Hosts, second.Hosts) || third.Pushed || len(third.OutputFiles) != len(second.OutputFiles) {
		t.Fatalf("third pass %+v, want the second's result", third)
	}

	// A damaged output folder is written again by a skipped pass.
	victim := second.OutputFiles[0]
	if err := os.WriteFile(victim, []byte("hand edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fourth := pass("after the output was edited"); fourth.Reused != second.Reused {
		t.Fatalf("the fourth pass reused %+v, want everything", fourth.Reused)
	}
	if got := readTree(t, out); !equalTrees(got, want) {
		t.Fatal("the output folder was not restored")
	}

	// A new commit outside the state: a whole pass.
	seed := filepath.Join(filepath.Dir(remote), "seed")
	runGit(t, seed, "pull", "-q", "--rebase", "origin", "main")
	host, err := os.ReadFile(filepath.Join(seed, "hosts", "server-03.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	host = bytes.ReplaceAll(bytes.ReplaceAll(host, []byte("server-03"), []byte("server-99")), []byte("dd:03:01"), []byte("dd:99:01"))
	host = bytes.ReplaceAll(host, []byte("10.20.0.13"), []byte("10.20.0.99"))
	writeTestFile(t, filepath.Join(seed, "hosts", "server-99.yaml"), string(host))
	runGit(t, seed, "add", "-A")
	runGit(t, seed, "commit", "-q", "-m", "a host")
	runGit(t, seed, "push", "-q", "origin", "main")
	fifth := pass("after a host was added")
	if !fifth.Pushed {
		t.Fatalf("fifth pass: %+v, want the new host's allocation pushed", fifth)
	}
	// Of the inventory, only the new host's file was parsed (the others
	// have the blob hashes of the last load), only the new host was
	// checked in full, and only its objects were rendered.
	got := fifth.Reused
	if got.Inventory || got.FilesParsed != 1 || got.FilesReused == 0 || got.HostsValidated != 1 || got.Render || got.HostsRendered != 1 || got.HostsReused == 0 {
		t.Fatalf("the fifth pass reused %+v, want the new host alone parsed, validated and rendered", got)
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		files[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func equalTrees(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
