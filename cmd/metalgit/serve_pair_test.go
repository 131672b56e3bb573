package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metalgit/metalgit/internal/testlog"
	"github.com/metalgit/metalgit/reconciler"
)

// Two serve controllers reconcile one branch, driven by the webhooks a
// real post-receive hook of the remote posts with curl on every push, as
// a Git server does: a push that adds a host gets one state commit, from
// one of them; both serve the same render of it; at least one takes the
// state commit from the push event without fetching; and they settle
// (no commit answers a state commit).
func TestServeTwoControllersDrivenByPushHook(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is missing; CI installs it (hack/ci-deps.sh)")
		}
		t.Skip("needs curl")
	}
	const secret = "pair-secret"
	remote := bareRemote(t)
	type ctl struct {
		base, out string
		log       *testlog.Buffer
		done      chan error
	}
	ctx, cancel := context.WithCancel(context.Background())
	var ctls []*ctl
	t.Cleanup(func() {
		cancel()
		for _, c := range ctls {
			if err := <-c.done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	})
	for range 2 {
		c := &ctl{out: filepath.Join(t.TempDir(), "out"), log: &testlog.Buffer{}, done: make(chan error, 1)}
		o := serveOptions{listen: "127.0.0.1:0", interval: time.Hour}
		o.cfg = reconciler.Config{URL: "file://" + remote, Output: c.out, WorkDir: t.TempDir(), FollowWindow: reconciler.DefaultFollowWindow,
			Logger: slog.New(slog.NewTextHandler(c.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		addrs := make(chan net.Addr, 1)
		go func() { c.done <- o.run(ctx, []byte(secret), func(a net.Addr) { addrs <- a }) }()
		c.base = "http://" + (<-addrs).String()
		ctls = append(ctls, c)
	}
	// The remote's post-receive hook posts a GitLab push event for every
	// ref updated to both controllers.
	hook := "#!/bin/sh\nwhile read old new ref; do\n"
	for _, c := range ctls {
		hook += fmt.Sprintf("  %s -sS -o /dev/null -X POST -H 'X-Gitlab-Token: %s' -H 'Content-Type: application/json' "+
			"--data \"{\\\"ref\\\":\\\"$ref\\\",\\\"before\\\":\\\"$old\\\",\\\"after\\\":\\\"$new\\\"}\" %s/hook\n", curl, secret, c.base)
	}
	hook += "done\n"
	if err := os.WriteFile(filepath.Join(remote, "hooks", "post-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	head := func() string { return gitOut(t, remote, "rev-parse", "main") }
	// settled waits until both controllers' last good pass ran at the
	// remote's head, and returns it.
	settled := func(what string) string {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			h, all := head(), true
			for _, c := range ctls {
				if st := status(t, c.base); st.LastGood == nil || st.LastGood.SourceCommit != h {
					all = false
				}
			}
			if all {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the controllers did not settle at %s:\n%s\n%s", what, h, ctls[0].log, ctls[1].log)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	start := settled("first passes")

	// An operator's push adds a host.
	clone := filepath.Join(t.TempDir(), "clone")
	gitOut(t, "/", "clone", "-q", "-b", "main", remote, clone)
	host, err := os.ReadFile(filepath.Join(clone, "hosts", "server-03.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	added := strings.NewReplacer("server-03", "server-77", "dd:03:01", "dd:77:01", "10.20.0.13", "10.20.0.77").Replace(string(host))
	if err := os.WriteFile(filepath.Join(clone, "hosts", "server-77.yaml"), []byte(added), 0o644); err != nil {
		t.Fatal(err)
	}
	gitOut(t, clone, "add", "-A")
	gitOut(t, clone, "commit", "-q", "-m", "add server-77")
	gitOut(t, clone, "push", "-q", "origin", "main")
	pushed := gitOut(t, clone, "rev-parse", "HEAD")

	end := settled("the push of server-77")
	if commits := gitOut(t, remote, "rev-list", "--count", pushed+".."+end); commits != "1" {
		t.Fatalf("%s state commit(s) answer the push, want 1:\n%s", commits, gitOut(t, remote, "log", "--oneline", start+".."+end))
	}
	if parent := gitOut(t, remote, "rev-parse", end+"^"); parent != pushed {
		t.Fatalf("the state commit's parent is %s, want the push %s", parent, pushed)
	}
	if merges := gitOut(t, remote, "rev-list", "--merges", "main"); merges != "" {
		t.Fatalf("merge commits: %s", merges)
	}
	a, b := readTree(t, ctls[0].out), readTree(t, ctls[1].out)
	if len(a) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("the two controllers serve different renders")
	}
	if _, ok := a["baremetalhost-server-77.yaml"]; !ok {
		t.Fatalf("no BareMetalHost for server-77 in the output: %d files", len(a))
	}
	if status(t, ctls[0].base).FastForwards+status(t, ctls[1].base).FastForwards == 0 {
		t.Errorf("no controller took a state commit from a push event:\n%s\n%s", ctls[0].log, ctls[1].log)
	}
	// Settled: a whole pass of each controller, started after it settled,
	// commits nothing.
	for _, c := range ctls {
		passAfterNow(t, c.base, secret)
	}
	if h := head(); h != end {
		t.Fatalf("the branch moved on to %s after settling at %s", h, end)
	}
}

// passAfterNow waits until the controller at base has run a whole pass
// that started after the call. Each round posts a push event and waits
// for the pass count to grow; the second round's pass started after the
// first one's trigger, even when a pass was running at the first.
func passAfterNow(t *testing.T, base, secret string) {
	t.Helper()
	for range 2 {
		before := status(t, base).Passes
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/hook", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(reconciler.GitLabTokenHeader, secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("push event to %s: %s", base, resp.Status)
		}
		waitFor(t, "a pass of "+base, func() bool { return status(t, base).Passes > before })
	}
}

func status(t *testing.T, base string) reconciler.Status {
	t.Helper()
	resp, err := http.Get(base + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var st reconciler.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
