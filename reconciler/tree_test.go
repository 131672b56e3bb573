package reconciler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TestCommitFiles commits changed, new and nested files with commitFiles
// and checks the tree against the one git itself writes for the same
// files, names that sort differently as files and as directories
// included; git fsck --strict must accept the result.
func TestCommitFiles(t *testing.T) {
	tmp := t.TempDir()
	dir, ref := filepath.Join(tmp, "clone"), filepath.Join(tmp, "ref")
	files := map[string]string{
		"a.yaml":              "a\n",
		"state/leases.yaml":   "old\n",
		"state.yaml":          "not the directory\n",
		"state-b/x.yaml":      "x\n",
		"inv/state/pool.yaml": "deep\n",
	}
	for _, d := range []string{dir, ref} {
		runGit(t, tmp, "init", "-q", "-b", "main", d)
		for name, content := range files {
			writeTestFile(t, filepath.Join(d, name), content)
		}
		runGit(t, d, "add", "-A")
		runGit(t, d, "commit", "-q", "-m", "seed", "--date", "2026-01-01T00:00:00Z")
	}
	changed := map[string]string{
		"state/leases.yaml":     "new\n",
		"state/bindings.yaml":   "added\n",
		"state/sub/deeper.yaml": "a new directory\n",
		"inv/state/pool.yaml":   "deep, changed\n",
		"inv/state/a-pool.yaml": "sorts first\n",
	}
	var paths []string
	for name, content := range changed {
		writeTestFile(t, filepath.Join(dir, name), content)
		writeTestFile(t, filepath.Join(ref, name), content)
		paths = append(paths, name)
	}
	seed := runGit(t, dir, "rev-parse", "main")
	repo, err := extgogit.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := &workClone{dir: dir, repo: repo}
	who := object.Signature{Name: "metal<git>", Email: "metalgit@localhost\n", When: time.Unix(1767225600, 0).UTC()}
	commit, written, err := w.commitFiles(paths, "state\n", who, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Every object the commit adds over its parent is among those listed.
	listed := map[string]bool{}
	for _, h := range written {
		listed[h.String()] = true
	}
	for _, line := range strings.Split(runGit(t, dir, "rev-list", "--objects", seed+".."+commit.String()), "\n") {
		if obj, _, _ := strings.Cut(line, " "); !listed[obj] {
			t.Errorf("object %q of the commit is not among the %d written", line, len(written))
		}
	}
	runGit(t, ref, "add", "-A")
	if got, want := runGit(t, dir, "rev-parse", commit.String()+"^{tree}"), runGit(t, ref, "write-tree"); got != want {
		t.Fatalf("tree %s, git writes %s for the same files:\n%s\nwant:\n%s", got, want,
			runGit(t, dir, "ls-tree", "-r", commit.String()), runGit(t, ref, "ls-files", "-s"))
	}
	runGit(t, dir, "fsck", "--strict", "--no-dangling")
	if head := runGit(t, dir, "rev-parse", "main"); head != commit.String() {
		t.Fatalf("main is %s, want the commit %s", head, commit)
	}
	if parent := runGit(t, dir, "rev-parse", "main^"); parent != seed {
		t.Fatalf("parent %s, want the seed commit %s", parent, seed)
	}
	if author := runGit(t, dir, "log", "-1", "--format=%an <%ae> | %cn <%ce>"); author != "metalgit <metalgit@localhost> | metalgit <metalgit@localhost>" {
		t.Fatalf("author and committer %q", author)
	}

	// The same content again: nothing to commit, the branch unchanged.
	if _, _, err := w.commitFiles(paths, "again\n", who, nil); !errors.Is(err, errNothingToCommit) {
		t.Fatalf("committing unchanged files: %v, want errNothingToCommit", err)
	}
	if head := runGit(t, dir, "rev-parse", "main"); head != commit.String() {
		t.Fatalf("main moved to %s", head)
	}

	// A file where the tree has a directory is refused.
	if err := os.RemoveAll(filepath.Join(dir, "state-b")); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(dir, "state-b"), "a file now\n")
	if _, _, err := w.commitFiles([]string{"state-b"}, "bad\n", who, nil); err == nil {
		t.Fatal("a file over a directory was committed")
	}
}

func writeTestFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
