package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// copyDir copies an example inventory into a temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func replaceInFile(t *testing.T, path, from, to string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(from)) {
		t.Fatalf("%s does not contain %q", path, from)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte(from), []byte(to), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

type jsonPlan struct {
	Bindings []struct {
		Machine, Host, Status string
	} `json:"bindings"`
	Allocations []struct {
		Pool, Address, Owner, Status string
	} `json:"allocations"`
	Releases []struct {
		Type, Machine, Host, Pool, Address, Owner, Reason string
	} `json:"releases"`
	Problems []struct {
		Type, Owner, Pool, Reason, Message string
		Size                               uint64
	} `json:"problems"`
}

// TestAllocateThenPlanChanges allocates the example site, changes the
// inventory the way pull requests do (remove a host, scale one set in and
// another out) and checks what plan -o json reports, then that allocate
// applies exactly that and is idempotent.
func TestAllocateThenPlanChanges(t *testing.T) {
	dir := copyDir(t, "../../examples/dc1")
	if code, _, stderr := runCLI(t, "allocate", dir); code != 0 {
		t.Fatalf("allocate exited %d: %s", code, stderr)
	}
	before, err := os.ReadFile(filepath.Join(dir, "state", "allocations.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	if err := os.Remove(filepath.Join(dir, "hosts", "server-05.yaml")); err != nil {
		t.Fatal(err)
	}
	replaceInFile(t, filepath.Join(dir, "machinesets.yaml"), "quantity: 3", "quantity: 2")
	replaceInFile(t, filepath.Join(dir, "inventory.yaml"), "quantity: 1\n", "quantity: 3\n")

	code, stdout, stderr := runCLI(t, "plan", "-o", "json", dir)
	if code != 0 {
		t.Fatalf("plan exited %d: %s", code, stderr)
	}
	var p jsonPlan
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatalf("plan -o json is not JSON: %v\n%s", err, stdout)
	}
	var got []string
	for _, b := range p.Bindings {
		got = append(got, "binding "+b.Status+" "+b.Machine+" "+b.Host)
	}
	for _, a := range p.Allocations {
		if a.Status == "new" || strings.HasPrefix(a.Owner, "Machine/") {
			got = append(got, "allocation "+a.Status+" "+a.Pool+" "+a.Address+" "+a.Owner)
		}
	}
	for _, r := range p.Releases {
		got = append(got, "release "+r.Type+" "+r.Machine+r.Owner+" "+r.Host+r.Address+": "+r.Reason)
	}
	for _, pr := range p.Problems {
		got = append(got, "problem "+pr.Type+" "+pr.Owner+": "+pr.Reason)
	}
	// server-05 leaves, so compute-workers-0 binds anew, to server-08,
	// which compute-workers-2 frees (scale-in from 3 to 2); the GPU set
	// grows from 1 to 3: gpu-workers-1 takes server-03 and the tenant
	// address compute-workers-2 released; gpu-workers-2 finds no free host
	// with 4 GPUs (server-02 is pinned by db-0, server-04 has 2).
	want := []string{
		"binding new compute-workers-0 server-08",
		"binding kept compute-workers-1 server-06",
		"binding kept db-0 server-02",
		"binding kept gpu-workers-0 server-01",
		"binding new gpu-workers-1 server-03",
		"binding kept storage-0 server-09",
		"allocation kept tenant 10.0.0.20 Machine/compute-workers-0",
		"allocation kept tenant 10.0.0.21 Machine/compute-workers-1",
		"allocation new tenant 10.0.0.22 Machine/gpu-workers-1",
		"allocation kept tenant 10.0.0.23 Machine/db-0",
		"allocation kept tenant 10.0.0.24 Machine/gpu-workers-0",
		"release binding compute-workers-0 server-05: host no longer in the inventory",
		"release binding compute-workers-2 server-08: machine no longer requested",
		"release allocation Host/server-05 192.168.100.7: host no longer in the inventory",
		"release allocation Machine/compute-workers-2 10.0.0.22: machine no longer requested",
		"problem unbound Machine/gpu-workers-2: all matching hosts are taken",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}

	// plan wrote nothing.
	after, err := os.ReadFile(filepath.Join(dir, "state", "allocations.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("plan changed the state")
	}

	if code, _, stderr := runCLI(t, "allocate", "--fail-on-problems", dir); code != exitFailed || !strings.Contains(stderr, "could not be served") {
		t.Errorf("allocate --fail-on-problems exited %d (%s), want %d", code, stderr, exitFailed)
	}
	// --fail-on-problems still wrote the state; a second pass changes nothing.
	code, stdout, _ = runCLI(t, "plan", "-o", "json", dir)
	p = jsonPlan{}
	if err := json.Unmarshal([]byte(stdout), &p); code != 0 || err != nil {
		t.Fatalf("plan exited %d (%v):\n%s", code, err, stdout)
	}
	for _, b := range p.Bindings {
		if b.Status != "kept" {
			t.Errorf("binding %+v after allocate, want kept", b)
		}
	}
	for _, a := range p.Allocations {
		if a.Status != "kept" {
			t.Errorf("allocation %+v after allocate, want kept", a)
		}
	}
	if len(p.Releases) != 0 || len(p.Problems) != 1 {
		t.Errorf("after allocate: releases %+v, problems %+v; want none and the one unbound machine", p.Releases, p.Problems)
	}
}

func TestPlanMarkdown(t *testing.T) {
	code, stdout, stderr := runCLI(t, "plan", "-o", "markdown", "../../examples/dc2")
	if code != 0 {
		t.Fatalf("plan exited %d: %s", code, stderr)
	}
	for _, want := range []string{
		"### metalgit plan: `../../examples/dc2`",
		"| status | machine | host |\n|---|---|---|\n| new | `Machine/workers-0` | `Host/edge-01` |",
		"| new | provisioning | `172.16.0.10` | `Host/edge-01` |",
		"| provisioning | 245 | 3 | 242 |",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("markdown lacks %q:\n%s", want, stdout)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := map[string][]string{
		"unknown format":  {"plan", "-o", "yaml", "../../examples/dc2"},
		"two paths":       {"validate", "a", "b"},
		"unknown flag":    {"plan", "--nope"},
		"validate format": {"validate", "-o", "markdown", "../../examples/dc2"},
		"unknown command": {"aloccate", "../../examples/dc2"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			if code, _, stderr := runCLI(t, args...); code != exitUsage || !strings.Contains(stderr, "Error:") {
				t.Errorf("exit %d, stderr %q; want %d and an error", code, stderr, exitUsage)
			}
		})
	}
}

// TestStateDirFlag: --state-dir must be a relative path below the
// inventory root; anything else is a usage error.
func TestStateDirFlag(t *testing.T) {
	for _, cmd := range []string{"validate", "plan", "allocate", "render"} {
		for _, dir := range []string{"", ".", "/", "..", "../state", "/tmp/state", "a/../.."} {
			if code, _, stderr := runCLI(t, cmd, "--state-dir", dir, "../../examples/dc2"); code != exitUsage ||
				!strings.Contains(stderr, "must be a relative path below the inventory root") {
				t.Errorf("%s --state-dir %q: exit %d, stderr %q; want a usage error", cmd, dir, code, stderr)
			}
		}
	}
}

// TestInventoryPathNotADirectory: every inventory command names the path
// as it was given.
func TestInventoryPathNotADirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(file, []byte("kind: Site\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{
		filepath.Join(dir, "missing"):           "Error: no such directory: " + filepath.Join(dir, "missing") + "\n",
		filepath.Join(dir, "missing", "deeper"): "Error: no such directory: " + filepath.Join(dir, "missing", "deeper") + "\n",
		"relative/missing":                      "Error: no such directory: relative/missing\n",
		file:                                    "Error: not a directory: " + file + "; name the inventory's directory\n",
		filepath.Join(file, "below-a-file"):     "Error: no such directory: " + filepath.Join(file, "below-a-file") + "\n",
	}
	for _, command := range []string{"validate", "plan", "allocate", "render"} {
		for path, want := range paths {
			t.Run(command+" "+path, func(t *testing.T) {
				code, stdout, stderr := runCLI(t, command, path)
				if code != exitFailed || stdout != "" {
					t.Errorf("exit %d, stdout %q", code, stdout)
				}
				if diff := cmp.Diff(want, stderr); diff != "" {
					t.Errorf("stderr (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestPlanFetchesNothing: plan and validate run on pull requests. A
// kustomization that spells a field in capitals, which kustomize takes
// as the field, is checked like any other: a remote resource in it is a
// problem naming the file, line and field, and nothing reaches the URL.
func TestPlanFetchesNothing(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, "apiVersion: metalgit.dev/v1alpha1\nkind: SSHKey\nmetadata: {name: fetched}\nspec: {publicKey: x}\n")
	}))
	t.Cleanup(srv.Close)
	inv := copyDir(t, "../../examples/dc2")
	kust := filepath.Join(inv, "kustomization.yaml")
	replaceInFile(t, kust, "resources:\n  - base\n  - edge-03.yaml\n", "RESOURCES:\n  - base\n  - edge-03.yaml\n  - "+srv.URL+"/x.yaml\n")
	want := kust + ":8: RESOURCES[2]: \"" + srv.URL + "/x.yaml\" is remote"
	for _, command := range []string{"plan", "validate"} {
		t.Run(command, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, command, inv)
			if code != exitFailed || !strings.Contains(stderr, want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, exitFailed, want)
			}
			if n := requests.Swap(0); n != 0 {
				t.Fatalf("%s sent %d requests to the URL in the kustomization", command, n)
			}
		})
	}
}
