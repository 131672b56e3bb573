package reconciler_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/reconciler"
)

// TestPassRace runs 4 reconcilers in parallel against one remote. Each is
// handed its own stream of pushes, rounds of "add hosts" then "raise my
// MachineSet's quantity by as many", and runs a pass after every push, as
// a webhook would. At the end every allocation has landed (each added host
// holds a provisioning lease, each machine a tenant address), no commit of
// the history holds an address or an owner twice, history is linear, the
// branch only ever moved forward (no force-push) and a final pass commits
// nothing (no commit loop).
func TestPassRace(t *testing.T) {
	const writers = 4
	rounds, perRound := 3, 9 // 4·3·9 hosts + as many machines = 216 allocations
	if testing.Short() {
		rounds, perRound = 2, 2
	}
	remote := newRemote(t)
	// Room for every machine in the tenant pool.
	pushChange(t, remote, "widen tenant pool", func(dir string) {
		p := filepath.Join(dir, "inventory.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(b), `ranges: ["10.0.0.20-10.0.0.30", "10.0.0.40-10.0.0.50"]`, `ranges: ["10.0.0.20-10.0.0.250"]`, 1)
		if s == string(b) {
			t.Fatal("tenant pool ranges not found in inventory.yaml")
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	heads := newHeadWatcher(t, remote)

	start := time.Now()
	var deferred atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds*4)
	for w := range writers {
		r := newReconciler(t, reconciler.Config{
			URL: "file://" + remote, MaxPushAttempts: 30,
			BackoffBase: 5 * time.Millisecond, BackoffMax: 80 * time.Millisecond,
		}, reconciler.Seams{
			Rand:  rand.Float64,
			Sleep: func(_ context.Context, d time.Duration) error { time.Sleep(d); return nil },
		})
		wg.Go(func() {
			pass := func() {
				for {
					res, err := r.Pass(context.Background())
					if err != nil {
						errs <- fmt.Errorf("writer %d: %w", w, err)
						return
					}
					heads.seen(res.SourceCommit)
					if res.Pushed {
						heads.seen(res.StateCommit)
					}
					if !res.Deferred {
						return
					}
					// As a controller does: pass again when the branch
					// moves (its webhook) or after RetryAfter.
					deferred.Add(1)
					waitMoved(t, remote, res.SourceCommit, res.RetryAfter)
				}
			}
			for round := range rounds {
				first := 11 + (w*rounds+round)*perRound
				if err := pushFiles(t, remote, fmt.Sprintf("writer %d: add hosts %d-%d", w, first, first+perRound-1), func(dir string) {
					for n := first; n < first+perRound; n++ {
						addHost(n)(dir)
					}
				}); err != nil {
					errs <- err
					return
				}
				pass()
				if err := pushFiles(t, remote, fmt.Sprintf("writer %d: race-%d quantity %d", w, w, (round+1)*perRound), func(dir string) {
					writeMachineSet(dir, w, (round+1)*perRound)
				}); err != nil {
					errs <- err
					return
				}
				pass()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	elapsed := time.Since(start)

	// No commit loop: a final pass finds nothing to do.
	res, err := newReconciler(t, reconciler.Config{URL: remote}).Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed {
		t.Errorf("final pass committed %s: %v", res.StateCommit, res.Changes)
	}
	heads.stop()
	heads.seen(res.SourceCommit)

	linear(t, remote)
	heads.forwardOnly(t)

	// Zero duplicates in every commit of the history.
	commits := strings.Fields(git(t, remote, "rev-list", "main"))
	stateCommits := 0
	for _, c := range commits {
		data, err := gitErr(remote, "show", c+":state/allocations.yaml")
		if err != nil {
			continue // before the first state commit
		}
		stateCommits++
		st, problems := state.Parse(c, state.AllocationsFile, []byte(data))
		if len(problems) > 0 {
			t.Errorf("commit %s: %v", c, problems)
			continue
		}
		addrs, owners := map[string]bool{}, map[string]bool{}
		for _, a := range st.Allocations {
			addr, owner := a.Pool+"/"+a.Address.String(), a.Pool+"/"+a.Owner
			if addrs[addr] || owners[owner] {
				t.Errorf("commit %s: duplicate %s → %s", c, addr, a.Owner)
			}
			addrs[addr], owners[owner] = true, true
		}
	}

	// Every allocation landed.
	final, problems := state.Parse("main", state.AllocationsFile, []byte(showFile(t, remote, "main", "state/allocations.yaml")))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	held := map[string]string{}
	for _, a := range final.Allocations {
		held[a.Owner] = a.Pool
	}
	want := 0
	for w := range writers {
		for i := range rounds * perRound {
			n := 11 + w*rounds*perRound + i
			for owner, pool := range map[string]string{
				fmt.Sprintf("Host/extra-%d", n):         "provisioning",
				fmt.Sprintf("Machine/race-%d-%d", w, i): "tenant",
			} {
				want++
				if held[owner] != pool {
					t.Errorf("%s holds no %s address", owner, pool)
				}
			}
		}
	}
	t.Logf("%d allocations by %d racing reconcilers in %v; %d commits, %d with state; %d passes deferred to another writer",
		want, writers, elapsed.Round(time.Millisecond), len(commits), stateCommits, deferred.Load())
}

// writeMachineSet writes writer w's MachineSet race-w with quantity q.
func writeMachineSet(dir string, w, q int) {
	y := fmt.Sprintf(`apiVersion: metalgit.dev/v1alpha1
kind: MachineSet
metadata:
  name: race-%d
spec:
  nodeType: compute
  quantity: %d
`, w, q)
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("race-%d.yaml", w)), []byte(y), 0o644); err != nil {
		panic(err)
	}
}

// pushFiles is pushChange for a goroutine: it returns errors instead of
// failing the test.
func pushFiles(t *testing.T, remote, msg string, change func(dir string)) error {
	for range 50 {
		dir := t.TempDir()
		if out, err := gitErr("/", "clone", "-q", "-b", "main", remote, dir); err != nil {
			return fmt.Errorf("clone: %w: %s", err, out)
		}
		change(dir)
		if out, err := gitErr(dir, "add", "-A"); err != nil {
			return fmt.Errorf("add: %w: %s", err, out)
		}
		if out, err := gitErr(dir, "commit", "-q", "-m", msg); err != nil {
			return fmt.Errorf("commit: %w: %s", err, out)
		}
		if _, err := gitErr(dir, "push", "-q", "origin", "main"); err == nil {
			return nil
		}
	}
	return fmt.Errorf("pushing %q: rejected 50 times", msg)
}

// headWatcher records the heads the remote's main takes: it polls the
// branch and is told the commits passes saw and pushed.
type headWatcher struct {
	remote string
	mu     sync.Mutex
	heads  []string
	done   chan struct{}
	wg     sync.WaitGroup
}

// waitMoved waits until the branch main of remote is no longer at from,
// or for limit.
func waitMoved(t *testing.T, remote, from string, limit time.Duration) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if head, err := gitErr(remote, "rev-parse", "main"); err != nil || head != from {
			return
		}
	}
}

func newHeadWatcher(t *testing.T, remote string) *headWatcher {
	h := &headWatcher{remote: remote, done: make(chan struct{})}
	h.seen(git(t, remote, "rev-parse", "main"))
	h.wg.Go(func() {
		for {
			select {
			case <-h.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if head, err := gitErr(remote, "rev-parse", "main"); err == nil {
				h.seen(head)
			}
		}
	})
	t.Cleanup(h.stop)
	return h
}

func (h *headWatcher) seen(commit string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if commit != "" && (len(h.heads) == 0 || h.heads[len(h.heads)-1] != commit) {
		h.heads = append(h.heads, commit)
	}
}

func (h *headWatcher) stop() {
	select {
	case <-h.done:
	default:
		close(h.done)
	}
	h.wg.Wait()
}

// forwardOnly fails unless every head seen is an ancestor of the final
// main, so that no push ever rewrote the branch.
func (h *headWatcher) forwardOnly(t *testing.T) {
	t.Helper()
	final := git(t, h.remote, "rev-parse", "main")
	checked := map[string]bool{}
	for _, c := range h.heads {
		if checked[c] {
			continue
		}
		checked[c] = true
		if _, err := gitErr(h.remote, "merge-base", "--is-ancestor", c, final); err != nil {
			t.Errorf("head %s is not an ancestor of main %s: the branch was rewritten", c, final)
		}
	}
	if len(checked) < 2 {
		t.Errorf("saw %d heads; the watcher did not work", len(checked))
	}
}
