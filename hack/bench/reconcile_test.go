package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/internal/fleetgen"
	"github.com/metalgit/metalgit/reconciler"
)

const (
	fleetHosts = 1000
	spareHosts = 400 // generated, pushed one batch at a time
	secret     = "bench-secret"
)

func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@localhost",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@localhost")
}

func git(b testing.TB, dir string, args ...string) string {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// fleet is a bare remote seeded with a generated 1,000-host inventory whose
// state is already allocated, a work clone to push inventory changes from,
// and spare host files to add.
type fleet struct {
	remote, clone, spare string
	next                 int
}

func newFleet(b *testing.B) *fleet {
	b.Helper()
	tmp := b.TempDir()
	gen := filepath.Join(tmp, "gen")
	if err := fleetgen.WriteDir(gen, fleetgen.Spec{Hosts: fleetHosts + spareHosts, Machines: 30}); err != nil {
		b.Fatal(err)
	}
	f := &fleet{remote: filepath.Join(tmp, "remote.git"), clone: filepath.Join(tmp, "clone"), spare: filepath.Join(gen, "hosts"), next: fleetHosts}
	git(b, tmp, "init", "-q", "--bare", "-b", "main", f.remote)
	git(b, tmp, "init", "-q", "-b", "main", f.clone)
	for i := range fleetHosts {
		f.copyHost(b, i)
	}
	site, err := os.ReadFile(filepath.Join(gen, "site.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.clone, "site.yaml"), site, 0o644); err != nil {
		b.Fatal(err)
	}
	git(b, f.clone, "add", "-A")
	git(b, f.clone, "commit", "-q", "-m", "fleet")
	git(b, f.clone, "push", "-q", f.remote, "main")
	git(b, f.clone, "remote", "add", "origin", f.remote)
	// Allocate the fleet once, outside the measurement.
	if _, err := newReconciler(b, f, "").Pass(context.Background()); err != nil {
		b.Fatal(err)
	}
	return f
}

func (f *fleet) copyHost(b testing.TB, i int) {
	name := fmt.Sprintf("host-%06d.yaml", i)
	data, err := os.ReadFile(filepath.Join(f.spare, name))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.clone, "hosts"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.clone, "hosts", name), data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// pushHosts adds n spare hosts in one commit on top of the remote's head
// and returns the pushed commit.
func (f *fleet) pushHosts(b testing.TB, n int) string {
	git(b, f.clone, "pull", "-q", "--rebase", "origin", "main")
	for range n {
		if f.next >= fleetHosts+spareHosts {
			b.Fatal("out of spare hosts; lower -benchtime")
		}
		f.copyHost(b, f.next)
		f.next++
	}
	git(b, f.clone, "add", "-A")
	git(b, f.clone, "commit", "-q", "-m", fmt.Sprintf("add %d host(s)", n))
	git(b, f.clone, "push", "-q", "origin", "main")
	return git(b, f.clone, "rev-parse", "HEAD")
}

// head reads the remote's main without forking git when the ref is loose.
func (f *fleet) head(b testing.TB) string {
	if data, err := os.ReadFile(filepath.Join(f.remote, "refs", "heads", "main")); err == nil {
		return strings.TrimSpace(string(data))
	}
	return git(b, f.remote, "rev-parse", "main")
}

// waitMoved waits until the remote's head is no longer from, or for
// limit.
func (f *fleet) waitMoved(b testing.TB, from string, limit time.Duration) {
	for deadline := time.Now().Add(limit); f.head(b) == from && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}

// waitCommitOn waits until the remote's head is a commit whose parent is
// pushed (the state commit computed from it) and returns the time it took.
func (f *fleet) waitCommitOn(b testing.TB, pushed string, start time.Time, limit time.Duration) time.Duration {
	for {
		if h := f.head(b); h != pushed {
			if parent := git(b, f.remote, "rev-parse", h+"^"); parent == pushed {
				return time.Since(start)
			}
			b.Fatalf("remote head %s is not a state commit on %s", h, pushed)
		}
		if time.Since(start) > limit {
			b.Fatalf("no state commit on %s after %s", pushed, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func newReconciler(b testing.TB, f *fleet, workDir string) *reconciler.Reconciler {
	if workDir == "" {
		workDir = b.TempDir()
	}
	r, err := reconciler.New(reconciler.Config{URL: "file://" + f.remote, WorkDir: workDir, MaxPushAttempts: 50,
		BackoffBase: 10 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// runController starts a controller polling every interval with the
// webhook served; it returns the hook URL.
func runController(b *testing.B, f *fleet, interval time.Duration) string {
	ctl := reconciler.NewController(newReconciler(b, f, ""), reconciler.ControllerConfig{Interval: interval})
	srv := httptest.NewServer(ctl.Handler([]byte(secret)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = ctl.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done; srv.Close() })
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if _, err := ctl.Wait(wctx, func(s reconciler.Status) bool { return s.Passes >= 1 }); err != nil {
		b.Fatal(err)
	}
	return srv.URL + "/hook"
}

func postHook(b testing.TB, url string) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set(reconciler.GitHubSignatureHeader, reconciler.SignGitHub([]byte(secret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b.Fatalf("hook: %s", resp.Status)
	}
}

// benchLatency measures push → state commit on the remote.
func benchLatency(b *testing.B, webhook bool) {
	f := newFleet(b)
	interval := time.Second
	if webhook {
		interval = time.Hour
	}
	hook := runController(b, f, interval)
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pushed := f.pushHosts(b, 1)
		b.StartTimer()
		start := time.Now()
		if webhook {
			postHook(b, hook)
		}
		total += f.waitCommitOn(b, pushed, start, time.Minute)
	}
	b.ReportMetric(total.Seconds()*1000/float64(b.N), "ms/push")
}

func BenchmarkPushToCommitWebhook(b *testing.B) { benchLatency(b, true) }
func BenchmarkPushToCommitPoll1s(b *testing.B)  { benchLatency(b, false) }

// benchWriters measures allocations per second with writers reconcilers
// racing on one remote: each round pushes hostsPerRound new hosts, then
// every writer passes until one of its passes finds nothing to do. Every
// pass is given the remote's head as a push event would give it
// (Reconciler.PassAt), so a writer takes a state commit it holds already
// (its own, or the one it left to the writer it follows) without a fetch.
//
// Every reconciler makes one pass before the timer starts, as the
// controllers of the latency benchmarks do, so that the rounds measure the
// steady state: the first pass of a reconciler clones the repository,
// checks out the 1,000-host tree and renders every host from scratch,
// which writers reconcilers would otherwise all do inside the first round.
func benchWriters(b *testing.B, writers int) {
	const hostsPerRound = 10
	f := newFleet(b)
	rs := make([]*reconciler.Reconciler, writers)
	for i := range rs {
		rs[i] = newReconciler(b, f, "")
		if _, err := rs[i].Pass(context.Background()); err != nil {
			b.Fatalf("warming writer %d: %v", i, err)
		}
	}
	var allocs, conflicts, deferred atomic.Int64
	var elapsed, cpu, gitCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		f.pushHosts(b, hostsPerRound)
		b.StartTimer()
		start, cpuStart, gitStart := time.Now(), cpuTime(b, syscall.RUSAGE_SELF), cpuTime(b, syscall.RUSAGE_CHILDREN)
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Go(func() {
				for {
					// As a webhook-fed controller passes: at the head
					// the push event names (the remote's head now).
					res, err := r.PassAt(context.Background(), f.head(b))
					if err != nil {
						b.Error(err)
						return
					}
					conflicts.Add(int64(res.Attempts - 1))
					if res.Deferred {
						// As a controller does: pass again when the
						// branch moves (the webhook of the other
						// writer's push) or after RetryAfter.
						deferred.Add(1)
						f.waitMoved(b, res.SourceCommit, res.RetryAfter)
						continue
					}
					if !res.Pushed {
						return
					}
					for _, a := range res.Plan.Allocations {
						if a.Status == alloc.StatusNew {
							allocs.Add(1)
						}
					}
				}
			})
		}
		wg.Wait()
		elapsed += time.Since(start)
		cpu += cpuTime(b, syscall.RUSAGE_SELF) - cpuStart
		gitCPU += cpuTime(b, syscall.RUSAGE_CHILDREN) - gitStart
	}
	if want := int64(b.N * hostsPerRound); allocs.Load() < want {
		b.Errorf("%d allocations landed, want at least %d", allocs.Load(), want)
	}
	b.ReportMetric(float64(allocs.Load())/elapsed.Seconds(), "allocs/s")
	b.ReportMetric(float64(conflicts.Load())/float64(b.N), "conflicts/round")
	b.ReportMetric(float64(deferred.Load())/float64(b.N), "deferred/round")
	// CPU time of the process per round: on a shared machine it varies
	// less than allocs/s, which waits for CPUs other processes hold.
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/round")
	// The Git server's share: the upload-pack and receive-pack processes
	// the file:// transport starts (and what they start), which run on
	// the same two cores.
	b.ReportMetric(float64(gitCPU.Milliseconds())/float64(b.N), "git-cpu-ms/round")
}

// cpuTime returns the user and system CPU time the process (who =
// RUSAGE_SELF) or its finished children (RUSAGE_CHILDREN) have used.
func cpuTime(b testing.TB, who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkAllocThroughput1Writer(b *testing.B)  { benchWriters(b, 1) }
func BenchmarkAllocThroughput4Writers(b *testing.B) { benchWriters(b, 4) }
