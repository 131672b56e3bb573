package gitrepo

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"
)

// TestCommitFiles commits changed, new and nested files with Commit
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
	contents := map[string][]byte{"a.yaml": []byte("a\n")} // unchanged
	for name, content := range changed {
		writeTestFile(t, filepath.Join(ref, name), content)
		contents[name] = []byte(content)
	}
	seed := runGit(t, dir, "rev-parse", "main")
	repo, err := extgogit.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := &Repo{dir: dir, repo: repo}
	who := object.Signature{Name: "metal<git>", Email: "metalgit@localhost\n", When: time.Unix(1767225600, 0).UTC()}

	// Without move: stored, the branch stays.
	staying, err := w.Commit(contents, "state\n", who, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if head := runGit(t, dir, "rev-parse", "main"); head != seed {
		t.Fatalf("main moved to %s", head)
	}
	runGit(t, dir, "cat-file", "-e", staying.Hash.String())

	// The same files, author and date give the same commit.
	made, err := w.Commit(contents, "state\n", who, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if made.Hash != staying.Hash {
		t.Fatalf("committed %s, then %s from the same files", staying.Hash, made.Hash)
	}
	commit, written := made.Hash, made.objects

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
	tree := runGit(t, ref, "write-tree")
	if got := runGit(t, dir, "rev-parse", commit.String()+"^{tree}"); got != tree {
		t.Fatalf("tree %s, git writes %s for the same files:\n%s\nwant:\n%s", got, tree,
			runGit(t, dir, "ls-tree", "-r", commit.String()), runGit(t, ref, "ls-files", "-s"))
	}
	// The trees written, by path: those along the changed files' paths.
	if len(made.Trees) != 5 {
		t.Errorf("%d trees written, want 5: %v", len(made.Trees), made.Trees)
	}
	for p, h := range made.Trees {
		if want := runGit(t, ref, "rev-parse", tree+":"+p); h.String() != want {
			t.Errorf("tree %q: %s, want %s", p, h, want)
		}
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
	if _, err := w.Commit(contents, "again\n", who, nil, true); !errors.Is(err, ErrNothingToCommit) {
		t.Fatalf("committing unchanged files: %v, want ErrNothingToCommit", err)
	}
	if head := runGit(t, dir, "rev-parse", "main"); head != commit.String() {
		t.Fatalf("main moved to %s", head)
	}

	// A file where the tree has a directory is refused.
	if _, err := w.Commit(map[string][]byte{"state-b": []byte("a file now\n")}, "bad\n", who, nil, true); err == nil {
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

// TestSync moves a work tree between two commits that differ in every
// way a tree can (changed, added and removed files, a file that becomes
// a directory and one the other way round, a removed nested directory,
// the executable bit, a symlink) and checks it against git's own
// checkout of each commit: the same paths, contents and modes, nothing
// left over.
func TestSync(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "clone")
	runGit(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	for name, content := range map[string]string{
		"same.yaml": "same\n", "changed.yaml": "old\n", "gone.yaml": "gone\n",
		"becomes-dir": "a file\n", "becomes-file/x.yaml": "x\n",
		"deep/er/est/a.yaml": "a\n", "deep/keep.yaml": "keep\n", "tool.sh": "#!/bin/sh\n",
		"hosts/h1.yaml": "h1\n", "hosts/h2.yaml": "h2\n",
	} {
		writeTestFile(t, filepath.Join(dir, name), content)
	}
	if err := os.Symlink("same.yaml", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "-m", "a")
	a := runGit(t, dir, "rev-parse", "HEAD")
	for _, p := range []string{"gone.yaml", "becomes-dir", "becomes-file", "deep/er", "link"} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{
		"changed.yaml": "new\n", "added/new.yaml": "new\n", "becomes-dir/y.yaml": "y\n",
		"becomes-file": "a file now\n", "hosts/h3.yaml": "h3\n",
	} {
		writeTestFile(t, filepath.Join(dir, name), content)
	}
	if err := os.Chmod(filepath.Join(dir, "tool.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("changed.yaml", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "-m", "b")
	b := runGit(t, dir, "rev-parse", "HEAD")

	repo, err := extgogit.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := &Repo{dir: dir, repo: repo, at: plumbing.NewHash(a)}
	runGit(t, dir, "reset", "-q", "--hard", a)
	for _, to := range []string{b, a, b} {
		if err := w.Checkout(plumbing.NewHash(to)); err != nil {
			t.Fatalf("moving to %s: %v", to, err)
		}
		ref := filepath.Join(t.TempDir(), "ref")
		runGit(t, dir, "worktree", "add", "-q", "--detach", ref, to)
		if diff := cmp.Diff(workFiles(t, ref), workFiles(t, dir)); diff != "" {
			t.Fatalf("after moving to %s, the work tree differs from git's checkout (-git +moved):\n%s", to, diff)
		}
		if dirs := emptyDirs(t, dir); len(dirs) > 0 {
			t.Fatalf("directories left empty: %v", dirs)
		}
	}

	// From an empty work tree, as a clone without a checkout has.
	fresh := filepath.Join(t.TempDir(), "fresh")
	runGit(t, dir, "clone", "-q", "--no-checkout", dir, fresh)
	if repo, err = extgogit.PlainOpen(fresh); err != nil {
		t.Fatal(err)
	}
	w = &Repo{dir: fresh, repo: repo}
	if err := w.Checkout(plumbing.NewHash(b)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(workFiles(t, dir), workFiles(t, fresh)); diff != "" {
		t.Fatalf("checking out into an empty work tree (-git +synced):\n%s", diff)
	}
}

// workFiles describes the files below dir, outside .git: path → kind,
// executable bit and content (a symlink's target).
func workFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil // a linked worktree's .git file
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		switch {
		case err != nil:
			return err
		case info.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			files[rel] = "symlink " + target
			return err
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			files[rel] = fmt.Sprintf("file %o %s", info.Mode().Perm()&0o100, data)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// emptyDirs lists the directories below dir, outside .git, with nothing
// in them.
func emptyDirs(t *testing.T, dir string) []string {
	t.Helper()
	var empty []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if d.Name() == ".git" {
			return filepath.SkipDir
		}
		entries, err := os.ReadDir(p)
		if len(entries) == 0 {
			empty = append(empty, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return empty
}

// runGit runs git in dir with a neutral configuration and returns its
// trimmed output.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=someone", "GIT_AUTHOR_EMAIL=someone@example.com",
		"GIT_COMMITTER_NAME=someone", "GIT_COMMITTER_EMAIL=someone@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
