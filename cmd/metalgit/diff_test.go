package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// newDiffRepo makes a Git repository whose main branch holds
// examples/dc1 (with its state) as dc1/, makes it the working
// directory, and returns its path.
func newDiffRepo(t *testing.T) string {
	t.Helper()
	repo := filepath.Dir(copyDir(t, "../../examples/dc1"))
	gitOut(t, repo, "init", "-q", "-b", "main")
	commitAll(t, repo, "seed")
	t.Chdir(repo)
	return repo
}

// commitAll commits every file of the repository's work tree.
func commitAll(t *testing.T, repo, message string) {
	t.Helper()
	gitOut(t, repo, "add", "-A")
	gitOut(t, repo, "commit", "-q", "--allow-empty", "-m", message)
}

// commitHash matches the commit a diff's header names, which changes
// from run to run (commit dates).
var commitHash = regexp.MustCompile(` at [0-9a-f]{12}\b`)

// diffCases change the working tree of a repository newDiffRepo made.
var diffCases = map[string]struct {
	change func(t *testing.T, dc1 string)
	args   []string
}{
	"host-added": {change: func(t *testing.T, dc1 string) {
		addHost(t, dc1, "server-11", "aa:bb:cc:dd:11:01", "10.20.0.21")
	}},
	"host-removed": {change: func(t *testing.T, dc1 string) {
		if err := os.Remove(filepath.Join(dc1, "hosts", "server-10.yaml")); err != nil {
			t.Fatal(err)
		}
	}},
	"field-changed": {change: func(t *testing.T, dc1 string) {
		replaceInFile(t, filepath.Join(dc1, "nodetypes.yaml"), "debian-12-generic-amd64.qcow2", "debian-13-generic-amd64.qcow2")
		replaceInFile(t, filepath.Join(dc1, "hosts", "server-03.yaml"), "10.20.0.13", "10.20.0.113")
	}},
	"secret-changed": {change: func(t *testing.T, dc1 string) {
		replaceInFile(t, filepath.Join(dc1, "inventory.yaml"), "    runcmd:\n", "    runcmd:\n      - echo "+secretToken+"\n")
	}},
	"no-change": {change: func(*testing.T, string) {}},
	"markdown": {
		change: func(t *testing.T, dc1 string) {
			addHost(t, dc1, "server-11", "aa:bb:cc:dd:11:01", "10.20.0.21")
			replaceInFile(t, filepath.Join(dc1, "nodetypes.yaml"), "debian-12-generic-amd64.qcow2", "debian-13-generic-amd64.qcow2")
			replaceInFile(t, filepath.Join(dc1, "inventory.yaml"), "    runcmd:\n", "    runcmd:\n      - echo "+secretToken+"\n")
		},
		args: []string{"-o", "markdown"},
	},
}

// secretToken is written into user data, which diff must never print.
const secretToken = "s3cr3t-join-token-42"

// addHost writes a host like server-10 (not bound) under another name,
// MAC and BMC address.
func addHost(t *testing.T, dc1, name, mac, bmc string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dc1, "hosts", "server-10.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("server-10", name, "aa:bb:cc:dd:10:01", mac, "10.20.0.20", bmc).Replace(string(data))
	if err := os.WriteFile(filepath.Join(dc1, "hosts", name+".yaml"), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDiffGolden compares what diff prints for each change of the
// working tree against main with testdata/diff/<case>.txt (-update
// rewrites them).
func TestDiffGolden(t *testing.T) {
	testdata := testdataDir(t)
	for name, tc := range diffCases {
		t.Run(name, func(t *testing.T) {
			repo := newDiffRepo(t)
			tc.change(t, filepath.Join(repo, "dc1"))
			args := append([]string{"diff", "--base", "main", "dc1"}, tc.args...)
			code, stdout, stderr := runCLI(t, args...)
			if code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			got := commitHash.ReplaceAllString(stdout, " at COMMIT")
			if stderr != "" {
				got += "--- stderr\n" + stderr
			}
			golden := filepath.Join(testdata, "diff", name+".txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", golden, d)
			}
		})
	}
}

// testdataDir is cmd/metalgit/testdata, absolute, for tests that change
// the working directory.
func testdataDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "testdata")
}

// TestDiffMasksSecrets: a change of user data says which Secret key
// changed, and neither the value written into it nor the base64 of the
// Secret's data, old or new, appears in any output.
func TestDiffMasksSecrets(t *testing.T) {
	repo := newDiffRepo(t)
	_, before, _ := runCLI(t, "render", "dc1")
	diffCases["secret-changed"].change(t, filepath.Join(repo, "dc1"))
	_, after, _ := runCLI(t, "render", "dc1")
	var values []string
	for _, stream := range []string{before, after} {
		sc := bufio.NewScanner(strings.NewReader(stream))
		for sc.Scan() {
			if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ": "); ok && k == "userData" && len(v) > 8 {
				values = append(values, v)
			}
		}
	}
	if len(values) == 0 {
		t.Fatal("render printed no Secret with userData")
	}
	values = append(values, secretToken, base64.StdEncoding.EncodeToString([]byte(secretToken)))
	for _, format := range []string{"text", "markdown"} {
		code, stdout, stderr := runCLI(t, "diff", "--base", "main", "-o", format, "dc1")
		if code != exitOK || !strings.Contains(stdout, `data.userData: changed (value not shown)`) {
			t.Fatalf("%s: exit %d, stdout:\n%s\nstderr:\n%s", format, code, stdout, stderr)
		}
		for _, v := range values {
			if strings.Contains(stdout+stderr, v) {
				t.Errorf("%s: the output shows %q", format, v)
			}
		}
	}
}

// TestDiffExitCode: 0 with or without differences, unless --exit-code:
// then 1 for differences; 2 for any error, either way.
func TestDiffExitCode(t *testing.T) {
	repo := newDiffRepo(t)
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"diff", "--base", "main", "dc1"}, exitOK},
		{[]string{"diff", "--base", "main", "--exit-code", "dc1"}, exitOK},
		{[]string{"diff", "--base", "no-such-branch", "dc1"}, exitDiffFailed},
		{[]string{"diff", "--base", "main", "--exit-code", "no-such-dir"}, exitDiffFailed},
		{[]string{"diff", "dc1"}, exitUsage},
		{[]string{"diff", "--base", "main", "-o", "json", "dc1"}, exitUsage},
	} {
		if code, _, stderr := runCLI(t, tc.args...); code != tc.want {
			t.Errorf("%v: exit %d, want %d; stderr:\n%s", tc.args, code, tc.want, stderr)
		}
	}
	replaceInFile(t, filepath.Join(repo, "dc1", "hosts", "server-03.yaml"), "10.20.0.13", "10.20.0.113")
	if code, _, _ := runCLI(t, "diff", "--base", "main", "dc1"); code != exitOK {
		t.Errorf("differences without --exit-code: exit %d, want 0", code)
	}
	if code, _, _ := runCLI(t, "diff", "--base", "main", "--exit-code", "dc1"); code != exitDiffers {
		t.Errorf("differences with --exit-code: exit %d, want %d", code, exitDiffers)
	}
	if code, _, _ := runCLI(t, "diff", "--base", "main", "--head", "main", "--exit-code", "dc1"); code != exitOK {
		t.Errorf("--head main against main with --exit-code: exit %d, want 0", code)
	}
}

// TestDiffRefusesEscapingSymlink: a base revision whose inventory holds a
// link out of the inventory root is refused with the problem render
// gives for it, naming the base, and diff exits 2.
func TestDiffRefusesEscapingSymlink(t *testing.T) {
	repo := newDiffRepo(t)
	if err := os.WriteFile(filepath.Join(repo, "outside.yaml"), []byte("apiVersion: metalgit.dev/v1alpha1\nkind: SSHKey\nmetadata: {name: outside}\nspec: {publicKey: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(repo, "dc1", "hosts", "evil.yaml")
	if err := os.Symlink("../../outside.yaml", link); err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "a link out of the inventory")
	code, _, renderErr := runCLI(t, "render", "dc1")
	problem, _, _ := strings.Cut(renderErr, "\n")
	if code != exitFailed || !strings.Contains(problem, "dc1/hosts/evil.yaml") {
		t.Fatalf("render: exit %d, stderr:\n%s", code, renderErr)
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "diff", "--base", "main", "dc1")
	if code != exitDiffFailed || !strings.Contains(stderr, "\nbase: "+problem+"\n") || stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit %d and the line %q", code, stdout, stderr, exitDiffFailed, "base: "+problem)
	}
	if strings.Contains(stderr, "head") {
		t.Errorf("the head is blamed too:\n%s", stderr)
	}

	// From inside the inventory, the base's files are named as render
	// names the working tree's: below the path given.
	t.Chdir(filepath.Join(repo, "dc1"))
	want := "\nbase: hosts/evil.yaml: " + strings.TrimPrefix(problem, "dc1/hosts/evil.yaml: ") + "\n"
	if code, _, stderr := runCLI(t, "diff", "--base", "main"); code != exitDiffFailed || !strings.Contains(stderr, want) {
		t.Errorf("diff in dc1: exit %d, stderr:\n%s\nwant the line %q", code, stderr, want)
	}
}

// TestDiffFetchesNothing: a revision whose inventory is a kustomization
// naming a URL is refused as render refuses it, on each side that holds
// it, and nothing reaches the URL.
func TestDiffFetchesNothing(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, "apiVersion: metalgit.dev/v1alpha1\nkind: SSHKey\nmetadata: {name: fetched}\nspec: {publicKey: x}\n")
	}))
	t.Cleanup(srv.Close)
	repo := newDiffRepo(t)
	kust := filepath.Join(repo, "dc1", "kustomization.yaml")
	k := "resources:\n  - inventory.yaml\n  - nodetypes.yaml\n  - machinesets.yaml\n  - " + srv.URL + "/x.yaml\n"
	if err := os.WriteFile(kust, []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "a remote resource")
	code, _, renderErr := runCLI(t, "render", "dc1")
	problem, _, _ := strings.Cut(renderErr, "\n")
	if code != exitFailed || !strings.Contains(problem, "is remote") {
		t.Fatalf("render: exit %d, stderr:\n%s", code, renderErr)
	}
	if err := os.Remove(kust); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "diff", "--base", "HEAD", "--head", "main", "dc1")
	for _, side := range []string{"base", "head"} {
		if !strings.Contains(stderr, "\n"+side+": "+problem+"\n") {
			t.Errorf("the %s's problem is missing: want the line %q in\n%s", side, side+": "+problem, stderr)
		}
	}
	if code != exitDiffFailed || stdout != "" {
		t.Errorf("exit %d, stdout %q; want %d and nothing", code, stdout, exitDiffFailed)
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("diff sent %d requests to the URL in the kustomization", n)
	}
}

// TestDiffDocExample makes the change docs/commands.md describes and
// checks that diff prints what the page shows, the commit aside.
func TestDiffDocExample(t *testing.T) {
	page, err := os.ReadFile("../../docs/commands.md")
	if err != nil {
		t.Fatal(err)
	}
	const command = "$ metalgit diff --base main dc1\n"
	_, block, ok := strings.Cut(string(page), "```text\n"+command)
	if !ok {
		t.Fatalf("docs/commands.md shows no %q", command)
	}
	want, _, _ := strings.Cut(block, "```\n")
	repo := newDiffRepo(t)
	diffCases["markdown"].change(t, filepath.Join(repo, "dc1"))
	code, stdout, stderr := runCLI(t, strings.Fields(command)[2:]...)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	norm := func(s string) string { return commitHash.ReplaceAllString(s, " at COMMIT") }
	if d := cmp.Diff(norm(want), norm(stdout)); d != "" {
		t.Errorf("docs/commands.md shows another output (-page +actual):\n%s", d)
	}
}

// TestDiffOutputKustomization: each side's render/kustomization.yaml is
// read from that side's tree and applied to it; one reached through a
// link is refused as render refuses it.
func TestDiffOutputKustomization(t *testing.T) {
	repo := newDiffRepo(t)
	overlay := filepath.Join(repo, "dc1", "render")
	if err := os.Mkdir(overlay, 0o755); err != nil {
		t.Fatal(err)
	}
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ncommonAnnotations: {team: infra}\n"
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "an output kustomization")
	if err := os.RemoveAll(overlay); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "diff", "--base", "main", "dc1")
	want := "~ BareMetalHost metal3-system/server-01\n    metadata.annotations.team: \"infra\" → (none)\n"
	if code != exitOK || !strings.Contains(stdout, want) {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s\nwant %q", code, stdout, stderr, want)
	}

	if err := os.MkdirAll(filepath.Join(repo, "elsewhere"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "elsewhere", "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../elsewhere", overlay); err != nil {
		t.Fatal(err)
	}
	commitAll(t, repo, "a linked output kustomization")
	_, _, renderErr := runCLI(t, "render", "dc1")
	if err := os.Remove(overlay); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "diff", "--base", "main", "dc1")
	wantErr := "is not a directory (a symbolic link is not followed)"
	if code != exitDiffFailed || stdout != "" || !strings.Contains(renderErr, wantErr) || !strings.Contains(stderr, "Error: base (main at ") || !strings.Contains(stderr, wantErr) {
		t.Errorf("exit %d, stdout %q, stderr %q (render: %q); want %d and %q", code, stdout, stderr, renderErr, exitDiffFailed, wantErr)
	}
}
