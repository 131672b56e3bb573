package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metalgit/metalgit/internal/kubetest"
	"github.com/metalgit/metalgit/internal/testlog"
)

// replica is one `metalgit serve` process of the leader election test.
type replica struct {
	cmd  *exec.Cmd
	base string
	log  *testlog.Buffer
}

func startReplica(t *testing.T, args ...string) *replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	r := &replica{base: "http://" + addr, log: &testlog.Buffer{}}
	r.cmd = exec.Command(os.Args[0], append([]string{"serve", "--listen", addr}, args...)...) //nolint:gosec // the test binary runs metalgit's main
	r.cmd.Env = append(os.Environ(), envRunMain+"=1")
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = r.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = r.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("replica %s log:\n%s", r.base, r.log)
		}
	})
	return r
}

// leading reports whether the replica runs passes (its /status has no
// standby), false when it does not answer.
func (r *replica) leading() (leads, answers bool) {
	resp, err := http.Get(r.base + "/status")
	if err != nil {
		return false, false
	}
	defer func() { _ = resp.Body.Close() }()
	var st struct {
		Standby bool `json:"standby"`
		Passes  int  `json:"passes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return false, false
	}
	return !st.Standby && st.Passes > 0, true
}

func waitLeader(t *testing.T, rs []*replica, timeout time.Duration) *replica {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var leaders []*replica
		for _, r := range rs {
			if l, _ := r.leading(); l {
				leaders = append(leaders, r)
			}
		}
		if len(leaders) > 1 {
			t.Fatalf("%d replicas lead at once", len(leaders))
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no replica leads after %s", timeout)
	return nil
}

// stateCommits counts, per source commit, the state commits on the
// remote's branch (their Metalgit-Source-Commit trailers).
func stateCommits(t *testing.T, remote string) map[string]int {
	t.Helper()
	out := gitOut(t, remote, "log", "--format=%(trailers:key=Metalgit-Source-Commit,valueonly)", "main")
	counts := map[string]int{}
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			counts[l]++
		}
	}
	return counts
}

// TestServeLeaderElection: two serve replicas on one repository and one
// cluster; one leads (runs passes: commits and applies), the other stands
// by and is ready. The leader is killed (SIGKILL: no release); the other
// takes over once the Lease expires and commits the next change; no
// source commit gets two state commits.
func TestServeLeaderElection(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two serve processes against an API server")
	}
	env := kubetest.Start(t)
	env.InstallCRDs(t, append(siteCRDs(t), kubetest.CRDFile(t, "metal3.io_baremetalhosts.yaml"))...)
	siteNamespaces(t, env)
	kubeconfig := env.Kubeconfig(t, "admin", "system:masters")
	remote := bareRemote(t)
	args := []string{"--repo", "file://" + remote, "--kubeconfig", kubeconfig, "--no-webhook", "--interval", "1s",
		"--leader-election-lease-duration", "4s", "--leader-election-renew-deadline", "3s", "--leader-election-retry-period", "500ms"}
	rs := []*replica{startReplica(t, args...), startReplica(t, args...)}
	leader := waitLeader(t, rs, 2*time.Minute)
	other := rs[0]
	if other == leader {
		other = rs[1]
	}
	resp, err := http.Get(other.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the standing-by replica is not ready: %s", resp.Status)
	}
	if n := len(stateCommits(t, remote)); n != 1 {
		t.Fatalf("%d state commits after the first passes, want 1", n)
	}

	if err := leader.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if next := waitLeader(t, []*replica{other}, time.Minute); next != other {
		t.Fatal("the other replica did not take over")
	}

	// A change after the handover is committed once, by the new leader.
	work := filepath.Join(t.TempDir(), "work")
	gitOut(t, filepath.Dir(work), "clone", "-q", remote, work)
	gitOut(t, work, "rm", "-q", "hosts/server-10.yaml")
	gitOut(t, work, "-c", "user.name=t", "-c", "user.email=t@example", "commit", "-q", "-m", "server-10 leaves")
	gitOut(t, work, "push", "-q", "origin", "main")
	deadline := time.Now().Add(2 * time.Minute)
	for len(stateCommits(t, remote)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the new leader never committed the change: %v", stateCommits(t, remote))
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // passes on: nothing more to commit
	for src, n := range stateCommits(t, remote) {
		if n != 1 {
			t.Errorf("source commit %s has %d state commits", src, n)
		}
	}
	if !strings.Contains(other.log.String(), "leading: running passes") {
		t.Errorf("the new leader did not log its leadership")
	}

	// status --server adds the leader's last pass and pool usage to the
	// cluster's rows (no operator runs here: the states are empty).
	table := runOK(t, "status", "--kubeconfig", kubeconfig, "--server", other.base)
	for _, want := range []string{"MACHINE IP", "10.0.0.24/24", "last good pass: ",
		"pool tenant: 5 of ", "pool provisioning: 9 of "} {
		if !strings.Contains(table, want) {
			t.Errorf("status --server lacks %q:\n%s", want, table)
		}
	}
}
