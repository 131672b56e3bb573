package reconciler_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metalgit/metalgit/reconciler"
)

// TestPassRemoteUnreachableMidPass moves the remote away after the state
// commit is made and before it is pushed: the pass fails with an error
// naming the fetch or push, nothing is rendered, and the remote (moved
// back) is unchanged; the next pass then pushes normally.
func TestPassRemoteUnreachableMidPass(t *testing.T) {
	for _, url := range []string{"", "file://"} {
		t.Run("url="+url+"path", func(t *testing.T) {
			remote := newRemote(t)
			gone := remote + ".gone"
			seed := git(t, remote, "rev-parse", "main")
			out := filepath.Join(t.TempDir(), "out")
			moved := false
			r := newReconciler(t, reconciler.Config{URL: url + remote, Output: out}, reconciler.Seams{BeforePush: func(context.Context, int) error {
				if !moved {
					moved = true
					return os.Rename(remote, gone)
				}
				return nil
			}})
			res, err := r.Pass(context.Background())
			if err == nil {
				t.Fatalf("pass succeeded with the remote gone: %+v", res)
			}
			if !strings.Contains(err.Error(), "fetching branch main") && !strings.Contains(err.Error(), "pushing state commit") {
				t.Errorf("err = %v, want a clear fetch or push error", err)
			}
			t.Logf("error: %v", err)
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output written: %v", err)
			}
			if err := os.Rename(gone, remote); err != nil {
				t.Fatal(err)
			}
			if head := git(t, remote, "rev-parse", "main"); head != seed {
				t.Fatalf("remote moved to %s", head)
			}
			res, err = r.Pass(context.Background())
			if err != nil || !res.Pushed || res.SourceCommit != seed {
				t.Fatalf("pass after the remote came back: %+v, %v", res, err)
			}
			linear(t, remote)
		})
	}
}

// TestPassRemoteUnreachable: a remote that is not there fails the pass at
// the fetch with an error naming the URL.
func TestPassRemoteUnreachable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nothing.git")
	r := newReconciler(t, reconciler.Config{URL: "file://" + missing})
	_, err := r.Pass(context.Background())
	if err == nil || !strings.Contains(err.Error(), "fetching branch main of file://"+missing) {
		t.Fatalf("err = %v, want a fetch error naming the URL", err)
	}
}
