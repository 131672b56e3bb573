package reconciler_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/reconciler"
)

// editFile replaces from with to in dir/name, which must hold from.
func editFile(t *testing.T, dir, name, from, to string) {
	t.Helper()
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), from) {
		t.Fatalf("%s does not hold %q", name, from)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), from, to, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPassPushesOnlyAStateThatRenders: a template that fails for the
// machines a pass would bind stops the pass before its push, with the
// problem; once the template is fixed, the next pass pushes and renders.
// (Pushed first, such a state would fail every later pass, which would
// find nothing to change and the same render to fail.)
func TestPassPushesOnlyAStateThatRenders(t *testing.T) {
	remote := newRemote(t)
	const good, bad = "hostname: {{ .Machine.Name }}", "hostname: {{ .Machine.Nope }}"
	pushChange(t, remote, "break the template", func(dir string) { editFile(t, dir, "inventory.yaml", good, bad) })
	head := git(t, remote, "rev-parse", "main")
	out := filepath.Join(t.TempDir(), "out")
	r := newReconciler(t, reconciler.Config{URL: remote, Output: out})

	want := reconciler.ErrInvalidInventory.Error() + ": inventory at commit " + head + " has 1 problem(s); nothing committed:\n" +
		"  inventory.yaml:67: NodeType/gpu-server: spec.userDataTemplate: template line 2: <.Machine.Nope>: can't evaluate field Nope in type interface {}; .Machine has .Name, .NodeType and .Set (user-data of Machine/db-0 on Host/server-02, and 1 more)"
	for pass := range 2 {
		_, err := r.Pass(context.Background())
		if !errors.Is(err, reconciler.ErrInvalidInventory) {
			t.Fatalf("pass %d: err = %v, want ErrInvalidInventory", pass, err)
		}
		if diff := cmp.Diff(want, err.Error()); diff != "" {
			t.Errorf("pass %d: error (-want +got):\n%s", pass, diff)
		}
		if now := git(t, remote, "rev-parse", "main"); now != head {
			t.Fatalf("pass %d pushed %s", pass, now)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("pass %d wrote the output: %v", pass, err)
		}
	}

	pushChange(t, remote, "fix the template", func(dir string) { editFile(t, dir, "inventory.yaml", bad, good) })
	res, err := r.Pass(context.Background())
	if err != nil || !res.Pushed {
		t.Fatalf("after the fix: %+v, %v; want pushed", res, err)
	}
	if res.Hosts == nil || res.Hosts.StateCommit != res.StateCommit || res.Hosts.SourceCommit != res.SourceCommit {
		t.Errorf("host table of %+v does not name the pushed commit", res.Hosts)
	}
	if _, err := os.Stat(filepath.Join(out, "secret-gpu-workers-0-user-data.yaml")); err != nil {
		t.Errorf("output: %v", err)
	}
	res, err = r.Pass(context.Background())
	if err != nil || res.Pushed {
		t.Fatalf("second pass: %+v, %v; want nothing to push", res, err)
	}
}

// TestPassExhaustedPoolRendersTheRest: a pool too small for every machine
// does not stop the pass, nor the next ones: the state is pushed, the
// machine without an address is reported and left off its host, and the
// rest of the fleet is rendered.
func TestPassExhaustedPoolRendersTheRest(t *testing.T) {
	seed := t.TempDir()
	reconciler.CopyTree(t, seedDir, seed)
	editFile(t, seed, "inventory.yaml", `ranges: ["10.0.0.20-10.0.0.30", "10.0.0.40-10.0.0.50"]`, `ranges: ["10.0.0.20-10.0.0.23"]`)
	remote := seedRemoteFrom(t, seed)
	out := filepath.Join(t.TempDir(), "out")
	r := newReconciler(t, reconciler.Config{URL: remote, Output: out})

	for pass := range 3 {
		res, err := r.Pass(context.Background())
		if err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
		if res.Pushed != (pass == 0) {
			t.Errorf("pass %d: pushed %v", pass, res.Pushed)
		}
		var problems []string
		for _, p := range res.Plan.Problems {
			problems = append(problems, p.Message)
		}
		if diff := cmp.Diff([]string{"pool tenant (4 addresses) is exhausted: no free address for Machine/gpu-workers-0"}, problems); diff != "" {
			t.Errorf("pass %d: problems (-want +got):\n%s", pass, diff)
		}
		files, err := os.ReadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range files {
			names = append(names, f.Name())
		}
		have := strings.Join(names, " ")
		for _, want := range []string{"baremetalhost-server-01.yaml", "secret-compute-workers-0-network-data.yaml", "secret-db-0-user-data.yaml"} {
			if !strings.Contains(have, want) {
				t.Errorf("pass %d: output lacks %s", pass, want)
			}
		}
		if strings.Contains(have, "gpu-workers-0") {
			t.Errorf("pass %d: gpu-workers-0, which has no address, is rendered: %s", pass, have)
		}
		bmh, err := os.ReadFile(filepath.Join(out, "baremetalhost-server-01.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(bmh), "userData") || strings.Contains(string(bmh), "metalgit.dev/machine") {
			t.Errorf("pass %d: server-01 is rendered with gpu-workers-0:\n%s", pass, bmh)
		}
	}
}
