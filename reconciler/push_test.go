package reconciler_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/metalgit/metalgit/reconciler"
)

// concurrentCommitHook is a pre-receive hook that, on its first run, moves
// main to a new commit on top of it, outside the quarantine of the push
// being received: another writer's push landing between the
// advertisement the reconciler checked and its own update. Receive-pack
// must then refuse the update, whose old value no longer matches.
const concurrentCommitHook = `#!/bin/sh
set -e
[ -e "$GIT_DIR/hook-ran" ] && exit 0
touch "$GIT_DIR/hook-ran"
unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
export GIT_AUTHOR_NAME=other GIT_AUTHOR_EMAIL=other@localhost GIT_COMMITTER_NAME=other GIT_COMMITTER_EMAIL=other@localhost
next=$(git commit-tree -p main -m "another writer" main^{tree})
git update-ref refs/heads/main "$next"
`

// TestPushRefusedByServerAfterAdvertisement: the branch moves after the
// reconciler saw it at its source commit; the server refuses the update
// (no force), the reconciler fetches the new head, recomputes and pushes
// on top of it.
func TestPushRefusedByServerAfterAdvertisement(t *testing.T) {
	for _, url := range []string{"", "file://"} {
		t.Run("url="+url+"path", func(t *testing.T) {
			remote := newRemote(t)
			hook := filepath.Join(remote, "hooks", "pre-receive")
			if err := os.WriteFile(hook, []byte(concurrentCommitHook), 0o755); err != nil {
				t.Fatal(err)
			}
			seed := git(t, remote, "rev-parse", "main")
			r := newReconciler(t, reconciler.Config{URL: url + remote})
			res, err := r.Pass(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(remote, "hook-ran")); err != nil {
				t.Fatalf("the hook did not run: %v", err)
			}
			if !res.Pushed || res.Attempts != 2 {
				t.Fatalf("pushed %v after %d attempts, want a push on attempt 2", res.Pushed, res.Attempts)
			}
			other := git(t, remote, "rev-parse", "main^")
			if msg := git(t, remote, "log", "-1", "--format=%s", other); msg != "another writer" {
				t.Fatalf("the state commit's parent is %q, want the other writer's commit", msg)
			}
			if parent := git(t, remote, "rev-parse", other+"^"); parent != seed {
				t.Fatalf("the other writer's commit is on %s, want %s", parent, seed)
			}
			if res.SourceCommit != other || git(t, remote, "rev-parse", "main") != res.StateCommit {
				t.Fatalf("result %+v; remote main %s", res, git(t, remote, "rev-parse", "main"))
			}
			if !strings.Contains(git(t, remote, "log", "-1", "--format=%B", "main"), other) {
				t.Error("the state commit does not name the commit it was computed from")
			}
			linear(t, remote)
			git(t, remote, "fsck", "--strict", "--no-dangling")
		})
	}
}

// TestRetryWaitsOnlyToPushAgain: a writer refused because another writer
// pushed first fetches and plans again at once; it waits its jittered
// backoff only when something is left for it to push.
func TestRetryWaitsOnlyToPushAgain(t *testing.T) {
	for _, c := range []struct {
		name      string
		other     func(t *testing.T, remote string)
		wantSleep []time.Duration
	}{
		{"the other writer committed the same state", func(t *testing.T, remote string) {
			other := newReconciler(t, reconciler.Config{URL: remote})
			if res, err := other.Pass(context.Background()); err != nil || !res.Pushed {
				t.Fatalf("other writer: %+v, %v", res, err)
			}
		}, nil},
		{"a host was added meanwhile", func(t *testing.T, remote string) {
			pushChange(t, remote, "a host", addHost(60))
		}, []time.Duration{75 * time.Millisecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			remote := newRemote(t)
			var slept []time.Duration
			r := newReconciler(t, reconciler.Config{URL: remote, BackoffBase: 100 * time.Millisecond},
				reconciler.Seams{Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
					BeforePush: func(_ context.Context, attempt int) error {
						if attempt == 1 {
							c.other(t, remote)
						}
						return nil
					}})
			res, err := r.Pass(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempts != 2 {
				t.Fatalf("%d attempts, want 2", res.Attempts)
			}
			if diff := cmp.Diff(c.wantSleep, slept); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			linear(t, remote)
		})
	}
}

// TestCommitDuration: a pass that pushes reports the time from the start
// of its commit step to the push, the wait before a retry included; a
// pass with nothing to push reports none.
func TestCommitDuration(t *testing.T) {
	remote := newRemote(t)
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	r := newReconciler(t, reconciler.Config{URL: remote, BackoffBase: 100 * time.Millisecond},
		reconciler.Seams{Clock: clk, Rand: func() float64 { return 0.5 },
			Sleep: func(_ context.Context, d time.Duration) error { clk.Step(d); return nil },
			BeforePush: func(_ context.Context, attempt int) error {
				if attempt == 1 {
					pushChange(t, remote, "a host", addHost(61))
				}
				return nil
			}})
	res, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pushed || res.Attempts != 2 || res.CommitDuration != 75*time.Millisecond {
		t.Fatalf("pushed %v after %d attempts in %v, want a push on attempt 2 after the 75ms wait",
			res.Pushed, res.Attempts, res.CommitDuration)
	}
	res, err = r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed || res.CommitDuration != 0 {
		t.Fatalf("a pass with nothing to push: pushed %v, commit duration %v", res.Pushed, res.CommitDuration)
	}
}
