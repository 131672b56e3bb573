package reconciler

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metalgit/metalgit/schemas"
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
	cfg.Sleep = func(context.Context, time.Duration) error { return nil }
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
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
	var first *schemas.Inventory
	var r *Reconciler
	r = testReconciler(t, Config{URL: "file://" + remote, BeforePush: func(ctx context.Context, attempt int) error {
		if attempt == 1 {
			first = r.work.inv.inv
			mine, err := r.work.repo.Head()
			if err != nil {
				t.Fatal(err)
			}
			res, err := other.Pass(ctx)
			if err != nil || !res.Pushed {
				t.Fatalf("other writer: %+v, %v", res, err)
			}
			if res.StateCommit != mine.Hash().String() {
				t.Errorf("the other writer pushed %s, this one made %s of the same state", res.StateCommit, mine.Hash())
			}
		}
		return nil
	}})
	res, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed || res.Attempts != 2 || res.Plan.Changed() {
		t.Fatalf("pushed %v after %d attempts, plan changed %v: want nothing to push on attempt 2", res.Pushed, res.Attempts, res.Plan.Changed())
	}
	if first == nil || r.work.inv.inv != first {
		t.Error("the inventory was loaded again although only the state changed")
	}
}

// An inventory change, or a root kustomization, means loading afresh.
func TestInventoryKey(t *testing.T) {
	remote := seedRemote(t)
	r := testReconciler(t, Config{URL: "file://" + remote})
	if _, err := r.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	key := func() string {
		t.Helper()
		c := r.computed(runGit(t, remote, "rev-parse", "main"))
		k, err := r.inventoryKey(c)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	stateCommit := key()
	seed := filepath.Join(filepath.Dir(remote), "seed")
	edit := func(msg, file, content string) string {
		t.Helper()
		runGit(t, seed, "pull", "-q", "--rebase", "origin", "main")
		if err := os.WriteFile(filepath.Join(seed, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		runGit(t, seed, "add", "-A")
		runGit(t, seed, "commit", "-q", "-m", msg)
		runGit(t, seed, "push", "-q", "origin", "main")
		if _, err := r.Pass(context.Background()); err != nil && !strings.Contains(err.Error(), "invalid") {
			t.Fatal(err)
		}
		return key()
	}
	if k := edit("state only", "state/notes.txt", "hand note\n"); k != stateCommit {
		t.Error("a change inside the state directory changed the inventory key")
	}
	if k := edit("not yaml", "README.extra", "x\n"); k == stateCommit || k == "" {
		t.Errorf("a change outside the state directory kept the key (%q)", k)
	}
	// A kustomization reads only the inventory root without its state
	// directory: its inventory is keyed like a plain one.
	before := key()
	if k := edit("kustomize", "kustomization.yaml", "resources: []\n"); k == "" || k == before {
		t.Errorf("a root kustomization gave key %q (before: %q), want a new one", k, before)
	}
}
