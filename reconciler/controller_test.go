package reconciler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/metalgit/metalgit/reconciler"
)

const testSecret = "s3cret-hook"

// ctlHarness runs a controller whose ticker only ticks when the test says so.
type ctlHarness struct {
	ctl    *reconciler.Controller
	srv    *httptest.Server
	clock  *clocktesting.FakeClock
	cancel context.CancelFunc
	done   chan error
}

func startController(t *testing.T, cfg reconciler.Config, seams ...reconciler.Seams) *ctlHarness {
	t.Helper()
	h := &ctlHarness{clock: clocktesting.NewFakeClock(time.Now()), done: make(chan error, 1)}
	r := newReconciler(t, cfg, append(seams, reconciler.Seams{Clock: h.clock})...)
	h.ctl = reconciler.NewController(r, reconciler.ControllerConfig{
		Interval: time.Hour,
		Metrics:  reconciler.NewMetrics(),
	})
	h.srv = httptest.NewServer(h.ctl.Handler([]byte(testSecret)))
	t.Cleanup(h.srv.Close)
	var ctx context.Context
	ctx, h.cancel = context.WithCancel(context.Background())
	go func() { h.done <- h.ctl.Run(ctx) }()
	t.Cleanup(func() {
		h.cancel()
		if err := <-h.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return h
}

// wait returns the status once cond holds, failing the test after 60 s.
func (h *ctlHarness) wait(t *testing.T, what string, cond func(reconciler.Status) bool) reconciler.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := h.ctl.Wait(ctx, cond)
	if err != nil {
		t.Fatalf("waiting for %s: %v; status %+v", what, err, st)
	}
	return st
}

func passes(n int) func(reconciler.Status) bool {
	return func(s reconciler.Status) bool { return s.Passes >= n }
}

func (h *ctlHarness) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(h.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *ctlHarness) hook(t *testing.T, header, value string) int {
	t.Helper()
	return h.post(t, `{"ref":"refs/heads/main"}`, header, value)
}

// post sends body to /hook with the header, and returns the status.
func (h *ctlHarness) post(t *testing.T, body, header, value string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/hook", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestControllerWebhookTriggersPass(t *testing.T) {
	remote := newRemote(t)
	release := make(chan struct{})
	first := true
	h := startController(t, reconciler.Config{URL: "file://" + remote, Output: filepath.Join(t.TempDir(), "out")},
		reconciler.Seams{BeforePush: func(context.Context, int) error {
			if first { // hold the first pass so /readyz is seen before it
				first = false
				<-release
			}
			return nil
		}})
	if code, _ := h.get(t, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the first pass = %d, want 503", code)
	}
	if code, _ := h.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	close(release)
	st := h.wait(t, "the first pass", passes(1))
	if !st.Ready || st.LastGood == nil || st.LastGood.StateCommit == "" {
		t.Fatalf("after the first pass: %+v", st)
	}
	if code, _ := h.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the first pass = %d, want 200", code)
	}

	pushChange(t, remote, "add extra-300", addHost(300))
	hostCommit := git(t, remote, "rev-parse", "main")
	body := []byte(`{"ref":"refs/heads/main"}`)
	for _, bad := range []struct{ header, value string }{
		{"", ""},
		{reconciler.GitHubSignatureHeader, reconciler.SignGitHub([]byte("wrong"), body)},
		{reconciler.GitHubSignatureHeader, "sha1=abc"},
		{reconciler.GitLabTokenHeader, "wrong"},
	} {
		if code := h.hook(t, bad.header, bad.value); code != http.StatusUnauthorized {
			t.Errorf("hook with %s %q = %d, want 401", bad.header, bad.value, code)
		}
	}
	if st := h.ctl.Status(); st.Passes != 1 {
		t.Errorf("refused hooks ran a pass: %+v", st)
	}
	if head := git(t, remote, "rev-parse", "main"); head != hostCommit {
		t.Errorf("remote moved to %s after refused hooks", head)
	}

	if code := h.hook(t, reconciler.GitHubSignatureHeader, reconciler.SignGitHub([]byte(testSecret), body)); code != http.StatusAccepted {
		t.Fatalf("signed GitHub hook = %d, want 202", code)
	}
	st = h.wait(t, "the webhook's pass", passes(2))
	head := git(t, remote, "rev-parse", "main")
	if st.LastGood == nil || st.LastGood.SourceCommit != hostCommit || st.LastGood.StateCommit != head {
		t.Fatalf("after the webhook: %+v, want computed from %s and pushed as %s", st.LastGood, hostCommit, head)
	}
	if a := showFile(t, remote, "main", "state/allocations.yaml"); !strings.Contains(a, "Host/extra-300") {
		t.Errorf("allocation of extra-300 missing:\n%s", a)
	}

	if code := h.hook(t, reconciler.GitLabTokenHeader, testSecret); code != http.StatusAccepted {
		t.Fatalf("GitLab hook = %d, want 202", code)
	}
	st = h.wait(t, "the GitLab pass", passes(3))
	if st.LastGood.StateCommit != "" || st.ConsecutiveFailures != 0 {
		t.Errorf("third pass should change nothing: %+v", st.LastGood)
	}

	_, metrics := h.get(t, "/metrics")
	for _, want := range []string{
		`metalgit_reconcile_duration_seconds_bucket{result="success"`,
		`metalgit_reconcile_total{result="success"} 3`,
		`metalgit_reconcile_total{result="invalid"} 0`,
		`metalgit_commits_pushed_total 2`,
		`metalgit_push_conflicts_retried_total 0`,
		`metalgit_pool_allocations{pool="provisioning"}`,
		`metalgit_pool_free_addresses{pool="provisioning"}`,
		// The webhook counts into the controller's metrics.
		`metalgit_webhook_requests_total{result="accepted"} 2`,
		`metalgit_webhook_requests_total{result="unauthorized"} 4`,
		`metalgit_webhook_requests_total{result="busy"} 0`,
		`metalgit_webhook_body_reads_in_flight 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestControllerInvalidInventoryKeepsLastRender(t *testing.T) {
	remote := newRemote(t)
	out := filepath.Join(t.TempDir(), "out")
	h := startController(t, reconciler.Config{URL: "file://" + remote, Output: out})
	h.wait(t, "the first pass", passes(1))
	before := readTree(t, out)
	if len(before) == 0 {
		t.Fatal("nothing rendered")
	}

	pushChange(t, remote, "break", func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "hosts", "bad.yaml"), []byte("apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: {name: bad}\nspec: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	bad := git(t, remote, "rev-parse", "main")
	h.clock.Step(time.Hour) // the interval, this time
	st := h.wait(t, "the failed pass", passes(2))
	if st.ConsecutiveFailures != 1 || st.LastError == nil || st.LastError.Commit != bad || !st.LastError.Invalid {
		t.Fatalf("status after an invalid inventory: %+v %+v, want the error at %s", st, st.LastError, bad)
	}
	if head := git(t, remote, "rev-parse", "main"); head != bad {
		t.Errorf("remote moved to %s: something was committed", head)
	}
	if after := readTree(t, out); !equalTrees(before, after) {
		t.Error("the output changed after an invalid inventory")
	}
	if code, _ := h.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d after a failure following a good pass, want 200", code)
	}
	code, body := h.get(t, "/status")
	var got reconciler.Status
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != http.StatusOK {
		t.Fatalf("/status %d: %v\n%s", code, err, body)
	}
	if got.LastError == nil || got.LastError.Commit != bad || !strings.Contains(got.LastError.Error, "invalid inventory") ||
		got.ConsecutiveFailures != 1 || got.LastGood == nil || got.LastGood.StateCommit == "" {
		t.Errorf("/status:\n%s", body)
	}
	_, metrics := h.get(t, "/metrics")
	if !strings.Contains(metrics, `metalgit_reconcile_total{result="invalid"} 1`) {
		t.Errorf("/metrics does not count the invalid pass")
	}
}

func TestControllerCoalescesTriggers(t *testing.T) {
	remote := newRemote(t)
	entered, release := make(chan struct{}), make(chan struct{})
	h := startController(t, reconciler.Config{URL: "file://" + remote}, reconciler.Seams{BeforePush: func(context.Context, int) error {
		close(entered)
		<-release
		return nil
	}})
	<-entered
	for range 20 {
		h.ctl.Trigger()
	}
	close(release)
	h.wait(t, "the coalesced pass", passes(2))
	h.cancel()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	h.done <- nil // for the cleanup
	if st := h.ctl.Status(); st.Passes != 2 {
		t.Errorf("20 triggers during a pass ran %d passes in all, want 2", st.Passes)
	}
}

func TestControllerShutdownFinishesPassInFlight(t *testing.T) {
	remote := newRemote(t)
	entered, release := make(chan struct{}), make(chan struct{})
	passCtxErr := make(chan error, 1)
	h := startController(t, reconciler.Config{URL: "file://" + remote}, reconciler.Seams{BeforePush: func(ctx context.Context, _ int) error {
		close(entered)
		<-release
		passCtxErr <- ctx.Err()
		return nil
	}})
	<-entered
	h.cancel()
	select {
	case err := <-h.done:
		t.Fatalf("Run returned (%v) with a pass in flight", err)
	default:
	}
	close(release)
	if err := <-h.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	h.done <- nil
	if err := <-passCtxErr; err != nil {
		t.Errorf("the pass saw its context end: %v", err)
	}
	st := h.ctl.Status()
	if st.Passes != 1 || st.LastGood == nil || st.LastGood.StateCommit == "" {
		t.Fatalf("status after shutdown: %+v", st)
	}
	if head := git(t, remote, "rev-parse", "main"); head != st.LastGood.StateCommit {
		t.Errorf("remote main is %s, want the state commit %s", head, st.LastGood.StateCommit)
	}
}

// readTree reads the files below dir, by path relative to it.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func equalTrees(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
