package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readTree returns every file below dir, by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = data
	}
	return out
}

func TestRenderCommand(t *testing.T) {
	inv := copyDir(t, "../../render/testdata/section10/inventory")

	// Before allocate: a clear error naming the hosts without a lease.
	code, stdout, stderr := runCLI(t, "render", inv)
	if code != exitFailed || stdout != "" {
		t.Fatalf("render before allocate: exit %d, stdout %q", code, stdout)
	}
	for _, s := range []string{"Host/server-01", "Host/server-02", "run 'metalgit allocate' first"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}

	if code, _, stderr := runCLI(t, "allocate", inv); code != exitOK {
		t.Fatalf("allocate: exit %d\n%s", code, stderr)
	}
	code, stream, stderr := runCLI(t, "render", inv)
	if code != exitOK {
		t.Fatalf("render: exit %d\n%s", code, stderr)
	}

	out := filepath.Join(t.TempDir(), "deploy")
	if code, _, stderr := runCLI(t, "render", inv, "-o", out); code != exitOK {
		t.Fatalf("render -o: exit %d\n%s", code, stderr)
	}
	first := readTree(t, out)
	names := make([]string, 0, len(first))
	for n := range first {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{
		"baremetalhost-server-01.yaml", "baremetalhost-server-02.yaml", "kustomization.yaml",
		"secret-db-0-network-data.yaml", "secret-db-0-user-data.yaml",
		"secret-gpu-workers-0-network-data.yaml", "secret-gpu-workers-0-user-data.yaml",
		"secret-server-01-preprov-network-data.yaml", "secret-server-02-preprov-network-data.yaml",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("files = %q, want %q", names, want)
	}
	kust := string(first["kustomization.yaml"])
	for _, n := range want {
		if n != "kustomization.yaml" && !strings.Contains(kust, "- "+n+"\n") {
			t.Errorf("kustomization.yaml does not list %s:\n%s", n, kust)
		}
	}
	// The files hold the same objects as stdout, in the same order.
	var docs [][]byte
	for _, n := range want {
		if n != "kustomization.yaml" {
			docs = append(docs, first[n])
		}
	}
	if got := string(bytes.Join(docs, []byte("---\n"))); got != stream {
		t.Errorf("the files differ from the stdout stream")
	}

	// A second run gives identical bytes and no leftovers.
	if code, _, stderr := runCLI(t, "render", inv, "-o", out); code != exitOK {
		t.Fatalf("second render -o: exit %d\n%s", code, stderr)
	}
	second := readTree(t, out)
	if len(second) != len(first) {
		t.Errorf("second run wrote %d files, first %d", len(second), len(first))
	}
	for n, data := range first {
		if !bytes.Equal(second[n], data) {
			t.Errorf("%s differs between runs", n)
		}
	}
	parent, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(parent) != 1 {
		t.Errorf("temporary directories left behind next to %s: %v", out, parent)
	}
}

func TestRenderCommandErrors(t *testing.T) {
	inv := copyDir(t, "../../render/testdata/template-error/inventory")
	if code, _, stderr := runCLI(t, "allocate", inv); code != exitOK {
		t.Fatalf("allocate: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "deploy")
	code, stdout, stderr := runCLI(t, "render", inv, "-o", out)
	if code != exitFailed || stdout != "" || !strings.Contains(stderr, "Machine/app-0") {
		t.Errorf("template error: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("render wrote %s despite the error", out)
	}

	code, _, stderr = runCLI(t, "render", "a", "b")
	if code != exitUsage {
		t.Errorf("two paths: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
}
