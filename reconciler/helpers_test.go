package reconciler_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metalgit/metalgit/reconciler"
)

// seedDir is the example inventory the remotes start from (without state).
const seedDir = "../examples/dc1"

// gitEnv isolates the git CLI from the user's configuration.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=someone", "GIT_AUTHOR_EMAIL=someone@example.com",
		"GIT_COMMITTER_NAME=someone", "GIT_COMMITTER_EMAIL=someone@example.com",
	)
}

// git runs the git CLI in dir and returns its trimmed output.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := gitErr(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func gitErr(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// newRemote creates a bare repository whose main branch holds the example
// inventory without its state directory, and returns its path.
func newRemote(t testing.TB) string {
	t.Helper()
	return seedRemoteFrom(t, seedDir)
}

// seedRemoteFrom makes a bare remote whose main holds the files of dir
// (without a state directory).
func seedRemoteFrom(t testing.TB, dir string) string {
	t.Helper()
	tmp := t.TempDir()
	bare, seed := filepath.Join(tmp, "remote.git"), filepath.Join(tmp, "seed")
	git(t, tmp, "init", "-q", "--bare", "-b", "main", bare)
	git(t, tmp, "init", "-q", "-b", "main", seed)
	reconciler.CopyTree(t, dir, seed)
	git(t, seed, "add", "-A")
	git(t, seed, "commit", "-q", "-m", "inventory")
	git(t, seed, "push", "-q", bare, "main")
	return bare
}

// pushChange clones the remote, lets change edit the work tree, commits
// and pushes, retrying when another writer pushed first.
func pushChange(t testing.TB, remote, msg string, change func(dir string)) {
	t.Helper()
	for range 50 {
		dir := filepath.Join(t.TempDir(), "clone")
		git(t, "/", "clone", "-q", "-b", "main", remote, dir)
		change(dir)
		git(t, dir, "add", "-A")
		git(t, dir, "commit", "-q", "-m", msg)
		if _, err := gitErr(dir, "push", "-q", "origin", "main"); err == nil {
			return
		}
	}
	t.Fatalf("pushing %q: rejected 50 times", msg)
}

// hostYAML is a schedulable host numbered n (n ≥ 11, clear of the example's).
func hostYAML(n int) string { return reconciler.HostYAML(n) }

func addHost(n int) func(dir string) {
	return func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "hosts", fmt.Sprintf("extra-%d.yaml", n)), []byte(hostYAML(n)), 0o644); err != nil {
			panic(err)
		}
	}
}

// newReconciler returns a reconciler for remote with test defaults: no
// real sleeping, a fixed jitter.
func newReconciler(t testing.TB, cfg reconciler.Config, seams ...reconciler.Seams) *reconciler.Reconciler {
	t.Helper()
	cfg.WorkDir = t.TempDir()
	r, err := reconciler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.SetSeams(reconciler.Seams{
		Sleep: func(context.Context, time.Duration) error { return nil },
		Rand:  func() float64 { return 0.5 },
	})
	for _, s := range seams {
		r.SetSeams(s)
	}
	return r
}

// showFile returns a file's content at a commit of the remote.
func showFile(t testing.TB, remote, commit, path string) string {
	t.Helper()
	return git(t, remote, "show", commit+":"+path)
}

// linear fails when the remote's main has a merge commit.
func linear(t testing.TB, remote string) {
	t.Helper()
	if merges := git(t, remote, "rev-list", "--merges", "main"); merges != "" {
		t.Errorf("history has merge commits: %s", merges)
	}
}
