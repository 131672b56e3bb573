package gitrepo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// The objects a working clone fetches and commits after its clone stay
// in memory: fetches of new commits and pushed state commits add no file
// to the clone's object directory. A clone whose objects outgrow the
// limit is no longer reusable.
func TestWorkingCloneKeepsNewObjectsInMemory(t *testing.T) {
	tmp := t.TempDir()
	bare, seed := filepath.Join(tmp, "remote.git"), filepath.Join(tmp, "seed")
	runGit(t, tmp, "init", "-q", "--bare", "-b", "main", bare)
	runGit(t, tmp, "init", "-q", "-b", "main", seed)
	writeTestFile(t, filepath.Join(seed, "hosts", "a.yaml"), "a\n")
	runGit(t, seed, "add", "-A")
	runGit(t, seed, "commit", "-q", "-m", "seed")
	runGit(t, seed, "push", "-q", bare, "main")
	runGit(t, seed, "remote", "add", "origin", bare)

	rem, err := ResolveRemote("file://"+bare, Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	repo, _, err := Clone(ctx, filepath.Join(tmp, "clone"), rem, "main")
	if err != nil {
		t.Fatal(err)
	}
	objects := objectFiles(t, repo.Dir())
	for i := range 3 {
		runGit(t, seed, "pull", "-q", "--rebase", "origin", "main")
		writeTestFile(t, filepath.Join(seed, "hosts", fmt.Sprintf("extra-%d.yaml", i)), fmt.Sprintf("%d\n", i))
		runGit(t, seed, "add", "-A")
		runGit(t, seed, "commit", "-q", "-m", "a host")
		runGit(t, seed, "push", "-q", "origin", "main")
		head, err := repo.Fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		who := object.Signature{Name: "metalgit", Email: "metalgit@localhost", When: time.Unix(1767225600, 0).UTC()}
		made, err := repo.Commit(map[string][]byte{fmt.Sprintf("state/%d.yaml", i): []byte("state\n")}, "state\n", who, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := repo.PushCAS(ctx, head, made); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	if got := objectFiles(t, repo.Dir()); got != objects {
		t.Errorf("the object directory went from %d to %d files", objects, got)
	}
	if repo.mem.bytes == 0 {
		t.Error("no objects in memory")
	}
	if !repo.Reusable(rem) {
		t.Fatal("a clone within its limits is not reusable")
	}
	repo.mem.limit = repo.mem.bytes - 1
	if repo.Reusable(rem) {
		t.Error("a working clone past its memory limit is reusable")
	}
}

// objectFiles counts the files below a clone's .git/objects.
func objectFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(dir, ".git", "objects"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
