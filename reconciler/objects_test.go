package reconciler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The objects a working clone fetches and commits after its clone stay
// in memory: passes that fetch changes and push state commits add no file
// to the clone's object directory. A clone whose objects outgrow the
// limit is replaced by a fresh one.
func TestWorkingCloneKeepsNewObjectsInMemory(t *testing.T) {
	remote := seedRemote(t)
	seed := filepath.Join(filepath.Dir(remote), "seed")
	r := testReconciler(t, Config{URL: "file://" + remote})
	pass := func() *Result {
		t.Helper()
		res, err := r.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	pass()
	w := r.work
	objects := objectFiles(t, w.dir)
	for i := range 3 {
		runGit(t, seed, "pull", "-q", "--rebase", "origin", "main")
		writeTestFile(t, filepath.Join(seed, "hosts", fmt.Sprintf("extra-%d.yaml", 50+i)), HostYAML(50+i))
		runGit(t, seed, "add", "-A")
		runGit(t, seed, "commit", "-q", "-m", "a host")
		runGit(t, seed, "push", "-q", "origin", "main")
		if res := pass(); !res.Pushed {
			t.Fatalf("pass %d pushed nothing: %+v", i, res)
		}
	}
	if r.work != w {
		t.Fatal("the working clone was replaced")
	}
	if got := objectFiles(t, w.dir); got != objects {
		t.Errorf("the object directory went from %d to %d files", objects, got)
	}
	if w.mem.bytes == 0 {
		t.Error("no objects in memory")
	}

	// Past the limit, the next pass clones afresh, and works.
	w.mem.limit = w.mem.bytes - 1
	pass()
	if r.work == w {
		t.Error("a working clone past its memory limit was kept")
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
