package reconciler_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metalgit/metalgit/reconciler"
)

func TestPassFileCommitsOnceThenNothing(t *testing.T) {
	remote := newRemote(t)
	seed := git(t, remote, "rev-parse", "main")
	out := filepath.Join(t.TempDir(), "out")
	r := newReconciler(t, reconciler.Config{URL: "file://" + remote, Output: out})

	res, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.SourceCommit != seed || !res.Pushed || res.Attempts != 1 || res.StateCommit == "" {
		t.Fatalf("first pass: %+v, want computed from %s and pushed", res, seed)
	}
	if head := git(t, remote, "rev-parse", "main"); head != res.StateCommit {
		t.Fatalf("remote main is %s, want the state commit %s", head, res.StateCommit)
	}
	if parent := git(t, remote, "rev-parse", res.StateCommit+"^"); parent != seed {
		t.Errorf("state commit's parent is %s, want %s", parent, seed)
	}
	if who := git(t, remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"); who != "metalgit <metalgit@localhost>|metalgit <metalgit@localhost>" {
		t.Errorf("author|committer = %q", who)
	}

	msg := git(t, remote, "log", "-1", "--format=%B", "main")
	for _, want := range []string{
		"allocate 192.168.100.3 to Host/server-01 (pool provisioning)",
		"bind Machine/compute-workers-0 to Host/",
		"reconciler.SourceCommitTrailer",
	} {
		if want == "reconciler.SourceCommitTrailer" {
			want = reconciler.SourceCommitTrailer + ": " + seed
		}
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}
	if trailer := git(t, remote, "log", "-1", "--format=%(trailers:key=Metalgit-Source-Commit,valueonly)", "main"); trailer != seed {
		t.Errorf("trailer = %q, want %s", trailer, seed)
	}
	if lines := strings.Count(msg, "\n"); lines < len(res.Changes)+3 {
		t.Errorf("message has %d lines for %d changes:\n%s", lines, len(res.Changes), msg)
	}
	files := git(t, remote, "diff-tree", "--no-commit-id", "--name-only", "-r", res.StateCommit)
	if files != "state/allocations.yaml\nstate/bindings.yaml" {
		t.Errorf("state commit touches:\n%s", files)
	}
	if a := showFile(t, remote, "main", "state/allocations.yaml"); !strings.Contains(a, "192.168.100.3: Host/server-01") {
		t.Errorf("allocations.yaml:\n%s", a)
	}
	if len(res.OutputFiles) == 0 {
		t.Error("nothing rendered to the output")
	}
	if _, err := os.Stat(filepath.Join(out, "kustomization.yaml")); err != nil {
		t.Error(err)
	}

	// Second pass: the state commit does not trigger another one.
	res2, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res2.Pushed || res2.StateCommit != "" || res2.SourceCommit != res.StateCommit {
		t.Fatalf("second pass: %+v, want nothing committed", res2)
	}
	if n := git(t, remote, "rev-list", "--count", "main"); n != "2" {
		t.Errorf("main has %s commits, want 2", n)
	}
}

func TestPassLocalPath(t *testing.T) {
	remote := newRemote(t)
	r := newReconciler(t, reconciler.Config{URL: remote})
	res, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pushed {
		t.Fatalf("%+v: want pushed", res)
	}
}

func TestPassPushConflictRecomputes(t *testing.T) {
	remote := newRemote(t)
	seed := git(t, remote, "rev-parse", "main")
	r := newReconciler(t, reconciler.Config{URL: remote}, reconciler.Seams{BeforePush: func(_ context.Context, attempt int) error {
		if attempt == 1 {
			pushChange(t, remote, "add extra-11", addHost(11))
		}
		return nil
	}})
	res, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || !res.Pushed {
		t.Fatalf("%+v: want pushed on attempt 2", res)
	}
	if res.SourceCommit == seed {
		t.Fatal("the final plan was computed from the stale head")
	}
	if got := git(t, remote, "log", "--format=%s", "main"); !strings.HasPrefix(got, "metalgit: ") || !strings.Contains(got, "add extra-11") {
		t.Errorf("log:\n%s", got)
	}
	if parent := git(t, remote, "rev-parse", "main^"); parent != res.SourceCommit {
		t.Errorf("state commit's parent %s, want %s", parent, res.SourceCommit)
	}
	if a := showFile(t, remote, "main", "state/allocations.yaml"); !strings.Contains(a, "Host/extra-11") {
		t.Errorf("the new host has no lease:\n%s", a)
	}
	if !strings.Contains(git(t, remote, "log", "-1", "--format=%B", "main"), "to Host/extra-11 (pool provisioning)") {
		t.Error("message lacks the new host's allocation")
	}
	linear(t, remote)
}

func TestPassGivesUpAfterMaxPushAttempts(t *testing.T) {
	remote := newRemote(t)
	n := 100
	r := newReconciler(t, reconciler.Config{URL: remote, MaxPushAttempts: 3}, reconciler.Seams{BeforePush: func(context.Context, int) error {
		n++
		pushChange(t, remote, "add host", addHost(n))
		return nil
	}})
	_, err := r.Pass(context.Background())
	if !errors.Is(err, reconciler.ErrPushAttempts) {
		t.Fatalf("err = %v, want ErrPushAttempts", err)
	}
	if !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("err = %v, want the attempt count", err)
	}
	if authors := git(t, remote, "log", "--format=%an", "main"); strings.Contains(authors, "metalgit") {
		t.Errorf("a state commit landed:\n%s", authors)
	}
	if got := git(t, remote, "rev-list", "--count", "main"); got != "4" {
		t.Errorf("main has %s commits, want the seed and 3 others", got)
	}
}

func TestPassInvalidInventoryCommitsNothing(t *testing.T) {
	remote := newRemote(t)
	pushChange(t, remote, "break it", func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "hosts", "bad.yaml"), []byte("apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: {name: bad}\nspec: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	head := git(t, remote, "rev-parse", "main")
	out := filepath.Join(t.TempDir(), "out")
	r := newReconciler(t, reconciler.Config{URL: remote, Output: out})
	_, err := r.Pass(context.Background())
	if !errors.Is(err, reconciler.ErrInvalidInventory) {
		t.Fatalf("err = %v, want ErrInvalidInventory", err)
	}
	if !strings.Contains(err.Error(), head) || !strings.Contains(err.Error(), "hosts/bad.yaml") {
		t.Errorf("err does not name the commit %s and the file:\n%v", head, err)
	}
	if now := git(t, remote, "rev-parse", "main"); now != head {
		t.Errorf("remote moved to %s", now)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output written: %v", err)
	}
}

func TestPassStateHandEditedIntoDuplicate(t *testing.T) {
	remote := newRemote(t)
	r := newReconciler(t, reconciler.Config{URL: remote})
	if _, err := r.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	pushChange(t, remote, "hand edit", func(dir string) {
		p := filepath.Join(dir, "state", "allocations.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), "192.168.100.4: Host/server-02", "192.168.100.4: Host/server-01", 1))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	head := git(t, remote, "rev-parse", "main")
	_, err := r.Pass(context.Background())
	if !errors.Is(err, reconciler.ErrInvalidInventory) || !strings.Contains(err.Error(), head) {
		t.Fatalf("err = %v, want ErrInvalidInventory naming %s", err, head)
	}
	if now := git(t, remote, "rev-parse", "main"); now != head {
		t.Errorf("remote moved to %s", now)
	}
}

// A state commit is dated with its source commit's committer date, not
// the clock, so that writers computing the same state make the same
// commit.
func TestStateCommitDatedAsSource(t *testing.T) {
	remote := newRemote(t)
	dir := filepath.Join(t.TempDir(), "clone")
	git(t, "/", "clone", "-q", "-b", "main", remote, dir)
	addHost(40)(dir)
	git(t, dir, "add", "-A")
	cmd := exec.Command("git", "commit", "-q", "-m", "a host, committed long ago")
	cmd.Dir, cmd.Env = dir, append(gitEnv(), "GIT_COMMITTER_DATE=2001-02-03T04:05:06Z", "GIT_AUTHOR_DATE=2000-01-01T00:00:00Z")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	git(t, dir, "push", "-q", "origin", "main")
	res, err := newReconciler(t, reconciler.Config{URL: "file://" + remote}).Pass(context.Background())
	if err != nil || !res.Pushed {
		t.Fatalf("pass: %+v, %v", res, err)
	}
	if got := git(t, remote, "log", "-1", "--format=%aI %cI", res.StateCommit); got != "2001-02-03T04:05:06+00:00 2001-02-03T04:05:06+00:00" {
		t.Errorf("state commit dated %s, want the source's committer date 2001-02-03T04:05:06Z", got)
	}
}

// A failed pass is a PassError naming the step it failed in and the head
// it was at, read with errors.As; errors.Is still sees what it wraps.
func TestPassErrorNamesStageAndCommit(t *testing.T) {
	remote := newRemote(t)
	pushChange(t, remote, "a broken host", func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "hosts", "broken.yaml"), []byte("apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: {name: Broken}\nspec: {}\n"), 0o644); err != nil {
			panic(err)
		}
	})
	head := git(t, remote, "rev-parse", "main")
	r := newReconciler(t, reconciler.Config{URL: remote})
	_, err := r.Pass(context.Background())
	var pe *reconciler.PassError
	if !errors.As(err, &pe) || pe.Stage != reconciler.StageLoad || pe.Commit != head || !errors.Is(err, reconciler.ErrInvalidInventory) {
		t.Fatalf("invalid inventory: %#v (%v), want a load PassError at %s wrapping ErrInvalidInventory", pe, err, head)
	}

	gone := newReconciler(t, reconciler.Config{URL: filepath.Join(t.TempDir(), "missing.git")})
	_, err = gone.Pass(context.Background())
	if !errors.As(err, &pe) || pe.Stage != reconciler.StageFetch || pe.Commit != "" {
		t.Fatalf("missing remote: %#v (%v), want a fetch PassError without a commit", pe, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = newReconciler(t, reconciler.Config{URL: remote}).Pass(ctx)
	if !errors.As(err, &pe) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled pass: %#v (%v), want a PassError that is context.Canceled", pe, err)
	}
}
