package gitrepo

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenRevision reads a directory as a commit has it, from the main
// work tree and from a linked one, and refuses a directory outside any
// work tree; the work trees are left as they were.
func TestOpenRevision(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	writeTestFile(t, filepath.Join(repo, "inv", "a.yaml"), "one\n")
	runGit(t, repo, "init", "-q", "-b", "main")
	runGit(t, repo, "add", "-A")
	runGit(t, repo, "commit", "-q", "-m", "one")
	first := runGit(t, repo, "rev-parse", "HEAD")
	writeTestFile(t, filepath.Join(repo, "inv", "a.yaml"), "two\n")
	runGit(t, repo, "commit", "-q", "-am", "two")
	linked := filepath.Join(t.TempDir(), "linked")
	runGit(t, repo, "worktree", "add", "-q", linked, "HEAD~1")
	writeTestFile(t, filepath.Join(repo, "inv", "a.yaml"), "working tree\n")

	for name, tc := range map[string]struct{ dir, rev, want string }{
		"main work tree, a branch":   {filepath.Join(repo, "inv"), "main", "two\n"},
		"main work tree, HEAD~1":     {filepath.Join(repo, "inv"), "HEAD~1", "one\n"},
		"linked work tree, a hash":   {filepath.Join(linked, "inv"), first, "one\n"},
		"linked work tree, a branch": {filepath.Join(linked, "inv"), "main", "two\n"},
	} {
		t.Run(name, func(t *testing.T) {
			tfs, within, commit, err := OpenRevision(tc.dir, tc.rev)
			if err != nil {
				t.Fatal(err)
			}
			if within != "inv" || commit.IsZero() {
				t.Errorf("within %q, commit %s; want inv and a commit", within, commit)
			}
			got, err := fs.ReadFile(tfs, "inv/a.yaml")
			if err != nil || string(got) != tc.want {
				t.Errorf("inv/a.yaml: %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if got, _ := os.ReadFile(filepath.Join(repo, "inv", "a.yaml")); string(got) != "working tree\n" {
		t.Errorf("the work tree's file became %q", got)
	}
	if _, _, _, err := OpenRevision(t.TempDir(), "main"); !errors.Is(err, ErrNotInRepository) {
		t.Errorf("outside a work tree: %v, want ErrNotInRepository", err)
	}
	if _, _, _, err := OpenRevision(repo, "no-such-branch"); err == nil {
		t.Error("an unknown revision resolved")
	}
}
