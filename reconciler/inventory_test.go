package reconciler

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// These tests look inside a Reconciler, so they live in the package; the
// helpers of the external tests are out of reach, hence the small copies.

// seedRemote creates a bare repository whose main holds the example
// inventory without its state, and returns its path.
func seedRemote(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	bare, seed := filepath.Join(tmp, "remote.git"), filepath.Join(tmp, "seed")
	runGit(t, tmp, "init", "-q", "--bare", "-b", "main", bare)
	runGit(t, tmp, "init", "-q", "-b", "main", seed)
	CopyTree(t, "../examples/dc1", seed)
	runGit(t, seed, "add", "-A")
	runGit(t, seed, "commit", "-q", "-m", "inventory")
	runGit(t, seed, "push", "-q", bare, "main")
	runGit(t, seed, "remote", "add", "origin", bare)
	return bare
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=someone", "GIT_AUTHOR_EMAIL=someone@example.com",
		"GIT_COMMITTER_NAME=someone", "GIT_COMMITTER_EMAIL=someone@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func testReconciler(t *testing.T, cfg Config) *Reconciler {
	t.Helper()
	cfg.WorkDir = t.TempDir()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.seams.sleep = func(context.Context, time.Duration) error { return nil }
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// A writer whose push is rejected because another writer committed the
// same state recomputes from the new head with the inventory it already
// loaded, and finds nothing left to do. The other writer's commit is the
// very commit this one made (state commits are deterministic), so the
// refetch transfers nothing.
func TestRejectedPushReusesInventoryWhenOnlyStateChanged(t *testing.T) {
	remote := seedRemote(t)
	other := testReconciler(t, Config{URL: "file://" + remote})
	r := testReconciler(t, Config{URL: "file://" + remote})
	r.seams.beforePush = func(ctx context.Context, attempt int) error {
		if attempt == 1 {
			mine := runGit(t, r.clone.Dir(), "rev-parse", "refs/heads/main")
			res, err := other.Pass(ctx)
			if err != nil || !res.Pushed {
				t.Fatalf("other writer: %+v, %v", res, err)
			}
			if res.StateCommit != mine {
				t.Errorf("the other writer pushed %s, this one made %s of the same state", res.StateCommit, mine)
			}
		}
		return nil
	}
	res, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed || res.Attempts != 2 || res.Plan.Changed() {
		t.Fatalf("pushed %v after %d attempts, plan changed %v: want nothing to push on attempt 2", res.Pushed, res.Attempts, res.Plan.Changed())
	}
	// Attempt 2 is at the other writer's commit of the state this one
	// committed: everything comes from the memo.
	if want := (Reuse{Inventory: true, State: true, Plan: true, Render: true}); res.Reused != want {
		t.Errorf("attempt 2 reused %+v, want %+v", res.Reused, want)
	}
}

// An inventory change, or a root kustomization, means loading afresh; a
// change in the state directory keeps the inventory's key.
func TestMemoKey(t *testing.T) {
	remote := seedRemote(t)
	r := testReconciler(t, Config{URL: "file://" + remote})
	if _, err := r.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	key := func() memoKey {
		t.Helper()
		k, err := r.memoKey(plumbing.NewHash(runGit(t, remote, "rev-parse", "main")))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	stateCommit := key()
	seed := filepath.Join(filepath.Dir(remote), "seed")
	edit := func(msg, file, content string) memoKey {
		t.Helper()
		runGit(t, seed, "pull", "-q", "--rebase", "origin", "main")
		if err := os.WriteFile(filepath.Join(seed, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		runGit(t, seed, "add", "-A")
		runGit(t, seed, "commit", "-q", "-m", msg)
		runGit(t, seed, "push", "-q", "origin", "main")
		if _, err := r.Pass(context.Background()); err != nil && !errors.Is(err, ErrInvalidInventory) {
			t.Fatal(err)
		}
		return key()
	}
	if k := edit("state only", "state/notes.txt", "hand note\n"); k.inventory != stateCommit.inventory || k.state == stateCommit.state {
		t.Errorf("a change inside the state directory gave key %+v, was %+v", k, stateCommit)
	}
	if k := edit("not yaml", "README.extra", "x\n"); k.inventory == stateCommit.inventory || k.inventory == "" {
		t.Errorf("a change outside the state directory kept the key (%q)", k.inventory)
	}
	// A kustomization reads only the inventory root without its state
	// directory: its inventory is keyed like a plain one.
	before := key()
	if k := edit("kustomize", "kustomization.yaml", "resources: []\n"); k.inventory == "" || k.inventory == before.inventory {
		t.Errorf("a root kustomization gave key %q (before: %q), want a new one", k.inventory, before.inventory)
	}
}

func writeTestFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
