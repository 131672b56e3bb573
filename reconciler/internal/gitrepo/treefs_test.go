package gitrepo

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/metalgit/metalgit/schemas"
)

// TestTreeFS reads a commit's tree through TreeFS and checks it against
// the checkout git makes of it: testing/fstest's checks of an fs.FS, the
// same content for every file, symlinks followed inside the repository
// and refused when they leave it.
func TestTreeFS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	runGit(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	files := map[string]string{
		"site.yaml": "site\n", "hosts/a.yaml": "a\n", "hosts/b.yaml": "b\n",
		"hosts/deep/c.yaml": "c\n", "hosts-b/x.yaml": "x\n", "hosts.yaml": "sorts between\n",
		"state/allocations.yaml": "state\n", "tool.sh": "#!/bin/sh\n",
	}
	for name, content := range files {
		writeTestFile(t, filepath.Join(dir, name), content)
	}
	for link, target := range map[string]string{"linked.yaml": "hosts/a.yaml", "hosts/up.yaml": "../site.yaml", "dirlink": "hosts/deep"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tool.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "-m", "tree")
	repo, err := extgogit.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := (&Repo{repo: repo}).Tree(head.Hash())
	if err != nil {
		t.Fatal(err)
	}
	tfs := NewTreeFS(repo.Storer, tree, ".")

	expected := []string{"site.yaml", "hosts/a.yaml", "hosts/deep/c.yaml", "hosts.yaml", "hosts-b/x.yaml", "linked.yaml", "hosts/up.yaml", "tool.sh"}
	if err := fstest.TestFS(tfs, expected...); err != nil {
		t.Fatal(err)
	}
	disk := os.DirFS(dir)
	for _, name := range append(expected, "dirlink/c.yaml") {
		got, err := fs.ReadFile(tfs, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := fs.ReadFile(disk, name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: %q, checked out %q", name, got, want)
		}
	}
	// The content key of a link is its target's blob.
	if k1, ok1 := tfs.BlobKey("linked.yaml"); !ok1 {
		t.Error("no content key for a symlink to a file")
	} else if k2, _ := tfs.BlobKey("hosts/a.yaml"); k1 != k2 {
		t.Error("a symlink's content key is not its target's")
	}
	if h := plumbing.ComputeHash(plumbing.BlobObject, []byte("a\n")); func() bool { k, _ := tfs.BlobKey("hosts/a.yaml"); return k != string(h[:]) }() {
		t.Error("a file's content key is not its blob hash")
	}

	// Links that leave the repository are not followed.
	for link, target := range map[string]string{"escape.yaml": "../outside.yaml", "abs.yaml": "/etc/hostname", "loop.yaml": "loop.yaml"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "-m", "bad links")
	if head, err = repo.Head(); err != nil {
		t.Fatal(err)
	}
	if tree, err = (&Repo{repo: repo}).Tree(head.Hash()); err != nil {
		t.Fatal(err)
	}
	tfs = NewTreeFS(repo.Storer, tree, ".")
	for name, want := range map[string]string{"escape.yaml": "escapes from the inventory root", "abs.yaml": "escapes from the inventory root", "loop.yaml": "too many levels", "missing.yaml": "not exist"} {
		_, err := fs.ReadFile(tfs, name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("reading %s: %v, want an error saying %q", name, err, want)
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			t.Errorf("reading %s: %T, want a *fs.PathError", name, err)
		}
		if want != "not exist" && want != "too many levels" && !errors.Is(err, schemas.ErrEscapes) {
			t.Errorf("reading %s: %v does not wrap schemas.ErrEscapes", name, err)
		}
	}

	// Confined to a directory, links inside it are followed and links to
	// the rest of the repository are not.
	ctfs := NewTreeFS(repo.Storer, tree, "hosts")
	if _, err := fs.ReadFile(ctfs, "hosts/a.yaml"); err != nil {
		t.Errorf("reading a file in the confining directory: %v", err)
	}
	if _, err := fs.ReadFile(ctfs, "hosts/up.yaml"); err == nil || !errors.Is(err, schemas.ErrEscapes) {
		t.Errorf("a link outside the confining directory: %v, want ErrEscapes", err)
	}
}
