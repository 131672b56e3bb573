package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/reconciler"
)

// TestPassRace runs 4 reconcilers in parallel against one remote while
// another writer pushes hosts: every commit's state is valid (no address
// held twice), history is linear and every host ends with a lease.
func TestPassRace(t *testing.T) {
	if testing.Short() {
		t.Skip("race test")
	}
	remote := newRemote(t)
	const writers, passes, hosts = 4, 3, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*passes+hosts)
	wg.Go(func() {
		for n := 11; n < 11+hosts; n++ {
			if err := pushHost(t, remote, n); err != nil {
				errs <- err
			}
		}
	})
	for range writers {
		r := newReconciler(t, reconciler.Config{URL: remote, MaxPushAttempts: 20})
		wg.Go(func() {
			for range passes {
				if _, err := r.Pass(context.Background()); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A final pass catches hosts pushed after the last racing pass.
	if _, err := newReconciler(t, reconciler.Config{URL: remote}).Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	linear(t, remote)
	for _, c := range strings.Fields(git(t, remote, "rev-list", "main")) {
		data, err := gitErr(remote, "show", c+":state/allocations.yaml")
		if err != nil {
			continue // before the first state commit
		}
		if _, problems := state.Parse(c, state.AllocationsFile, []byte(data)); len(problems) > 0 {
			t.Errorf("commit %s: %v", c, problems)
		}
	}
	final := showFile(t, remote, "main", "state/allocations.yaml")
	for n := 11; n < 11+hosts; n++ {
		if !strings.Contains(final, fmt.Sprintf("Host/extra-%d\n", n)) {
			t.Errorf("extra-%d has no lease:\n%s", n, final)
		}
	}
}

// pushHost is pushChange for a goroutine: it returns errors instead of
// failing the test.
func pushHost(t *testing.T, remote string, n int) error {
	for range 50 {
		dir := t.TempDir()
		if out, err := gitErr("/", "clone", "-q", "-b", "main", remote, dir); err != nil {
			return fmt.Errorf("clone: %w: %s", err, out)
		}
		addHost(n)(dir)
		if out, err := gitErr(dir, "add", "-A"); err != nil {
			return fmt.Errorf("add: %w: %s", err, out)
		}
		if out, err := gitErr(dir, "commit", "-q", "-m", fmt.Sprintf("add extra-%d", n)); err != nil {
			return fmt.Errorf("commit: %w: %s", err, out)
		}
		if _, err := gitErr(dir, "push", "-q", "origin", "main"); err == nil {
			return nil
		}
	}
	return fmt.Errorf("pushing extra-%d: rejected 50 times", n)
}
