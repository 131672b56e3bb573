package reconciler_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/metalgit/metalgit/reconciler"
)

// offline makes the remote unreachable until the returned function runs.
func offline(t *testing.T, remote string) (restore func()) {
	t.Helper()
	if err := os.Rename(remote, remote+".away"); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Rename(remote+".away", remote); err != nil {
			t.Fatal(err)
		}
	}
}

// A pass told by a push event that the branch is at a commit the working
// clone holds, and that descends from the last head fetched, starts there
// without fetching: it works with the remote unreachable. An older head
// or one the clone does not hold is fetched.
func TestPassAtKnownHeadSkipsFetch(t *testing.T) {
	remote := newRemote(t)
	seed := git(t, remote, "rev-parse", "main")
	r := newReconciler(t, reconciler.Config{URL: "file://" + remote})
	first, err := r.Pass(context.Background())
	if err != nil || !first.Pushed {
		t.Fatalf("first pass: %+v, %v", first, err)
	}
	restore := offline(t, remote)
	res, err := r.PassAt(context.Background(), first.StateCommit)
	if err != nil {
		t.Fatalf("a pass at the state commit this writer pushed fetched: %v", err)
	}
	if res.SourceCommit != first.StateCommit || res.Pushed || res.Plan.Changed() || !res.FastForward {
		t.Fatalf("pass at the pushed commit: %+v", res)
	}
	for _, head := range []string{seed, strings.Repeat("ab", 20)} {
		if _, err := r.PassAt(context.Background(), head); err == nil {
			t.Fatalf("a pass at %s (older, or not held) did not fetch", head)
		}
	}
	restore()
	if res, err := r.PassAt(context.Background(), strings.Repeat("ab", 20)); err != nil || res.SourceCommit != first.StateCommit {
		t.Fatalf("after the remote came back: %+v, %v", res, err)
	}
}

// A follower's deferred state commit is the one the writer it follows
// pushes (state commits are deterministic): the push event of that push
// lets it take the commit without fetching.
func TestFollowerTakesLeadersCommitWithoutFetch(t *testing.T) {
	remote := newRemote(t)
	var follower *reconciler.Reconciler
	leader := newReconciler(t, reconciler.Config{URL: "file://" + remote})
	follower = newReconciler(t, reconciler.Config{URL: "file://" + remote, FollowWindow: reconciler.DefaultFollowWindow},
		reconciler.Seams{BeforePush: func(ctx context.Context, attempt int) error {
			if attempt == 1 {
				if res, err := leader.Pass(ctx); err != nil || !res.Pushed {
					t.Fatalf("leader: %+v, %v", res, err)
				}
			}
			return nil
		}})
	// The follower loses the first race and follows.
	if res, err := follower.Pass(context.Background()); err != nil || res.Pushed {
		t.Fatalf("follower's first pass: %+v, %v", res, err)
	}
	pushChange(t, remote, "a host", addHost(41))
	deferred, err := follower.Pass(context.Background())
	if err != nil || !deferred.Deferred {
		t.Fatalf("follower's pass with a change: %+v, %v; want it deferred", deferred, err)
	}
	led, err := leader.Pass(context.Background())
	if err != nil || !led.Pushed {
		t.Fatalf("leader's pass: %+v, %v", led, err)
	}
	restore := offline(t, remote)
	defer restore()
	res, err := follower.PassAt(context.Background(), led.StateCommit)
	if err != nil {
		t.Fatalf("the follower fetched the leader's commit instead of taking its own: %v", err)
	}
	if res.SourceCommit != led.StateCommit || res.Pushed || res.Hosts == nil || !res.FastForward {
		t.Fatalf("follower at the leader's commit: %+v", res)
	}
}

// The controller hands a push event's head to its next pass; an event of
// another branch names none.
func TestControllerPassesAtPushEventHead(t *testing.T) {
	remote := newRemote(t)
	h := startController(t, reconciler.Config{URL: "file://" + remote})
	st := h.wait(t, "the first pass", passes(1))
	pushed := st.LastGood.StateCommit
	if pushed == "" {
		t.Fatalf("the first pass pushed nothing: %+v", st)
	}
	restore := offline(t, remote)
	defer restore()
	push := func(after string) {
		t.Helper()
		body := `{"ref":"refs/heads/main","after":"` + after + `"}`
		if code := h.post(t, body, reconciler.GitHubSignatureHeader, reconciler.SignGitHub([]byte(testSecret), []byte(body))); code != http.StatusAccepted {
			t.Fatalf("hook: %d", code)
		}
	}
	push(pushed)
	st = h.wait(t, "the pass of the push event", passes(2))
	if st.ConsecutiveFailures != 0 || st.LastGood.SourceCommit != pushed || st.FastForwards != 1 {
		t.Fatalf("the pass at the event's head failed or fetched: %+v", st)
	}
	// An event for another branch names no head of this one: fetched.
	push2 := func(ref string) {
		t.Helper()
		h.ctl.TriggerPush(reconciler.Push{Ref: ref, After: pushed})
	}
	push2("refs/heads/other")
	st = h.wait(t, "the pass of another branch's event", passes(3))
	if st.ConsecutiveFailures != 1 {
		t.Fatalf("a pass after another branch's push event did not fetch: %+v", st)
	}
}
