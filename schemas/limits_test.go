package schemas_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/schemas"
)

// sparse makes a file of size bytes without writing them.
func sparse(t *testing.T, name string, size int64) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// TestLoadLimits: a file or an inventory over its size, too many files or
// too many documents is one problem naming the file and the limit, in a
// plain directory and in a kustomization's tree alike.
func TestLoadLimits(t *testing.T) {
	tests := map[string]struct {
		setup func(t *testing.T, root string)
		want  []string
	}{
		"file over MaxFileBytes": {
			setup: func(t *testing.T, root string) { sparse(t, filepath.Join(root, "big.yaml"), schemas.MaxFileBytes+1) },
			want:  []string{"inv/big.yaml: file too large: 16.0 MiB, the limit is 16 MiB; split the file (an inventory file holds at most 16 MiB)"},
		},
		"file over MaxFileBytes in a kustomization's tree": {
			setup: func(t *testing.T, root string) {
				writeFiles(t, root, map[string]string{"kustomization.yaml": "resources: [key.yaml]\n"})
				sparse(t, filepath.Join(root, "data.bin"), schemas.MaxFileBytes+1)
			},
			want: []string{"inv/data.bin: file too large: 16.0 MiB, the limit is 16 MiB; split the file (an inventory file holds at most 16 MiB)"},
		},
		"inventory over MaxInventoryBytes": {
			setup: func(t *testing.T, root string) {
				for i := range 5 {
					sparse(t, filepath.Join(root, fmt.Sprintf("part-%d.yaml", i)), schemas.MaxInventoryBytes/4)
				}
			},
			want: []string{"inv: the inventory's YAML files hold more than 64 MiB in all; split the site into several inventories"},
		},
		"kustomization's tree over MaxInventoryBytes": {
			setup: func(t *testing.T, root string) {
				writeFiles(t, root, map[string]string{"kustomization.yaml": "resources: [key.yaml]\n"})
				for i := range 5 {
					sparse(t, filepath.Join(root, fmt.Sprintf("part-%d.bin", i)), schemas.MaxInventoryBytes/4)
				}
			},
			want: []string{"inv: the files below the inventory root hold more than 64 MiB; keep only the inventory below it, or split the site"},
		},
		"too many documents": {
			setup: func(t *testing.T, root string) {
				writeFiles(t, root, map[string]string{"many.yaml": strings.Repeat("--- {}\n", schemas.MaxDocuments+1)})
			},
			want: []string{"inv: 100002 documents, more than the 100000 an inventory may hold; split the site into several inventories"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "inv")
			writeFiles(t, root, map[string]string{"key.yaml": confinedKey})
			tc.setup(t, root)
			_, problems, err := loadWithin(t, root)
			if err != nil {
				t.Fatal(err)
			}
			got := lines(problems)
			for i := range got {
				got[i] = strings.TrimPrefix(got[i], filepath.Dir(root)+"/")
			}
			// Documents over the limit come with their own problems
			// (each {} lacks a kind): only the limit is checked here.
			got = slicesFilter(got, func(l string) bool { return !strings.Contains(l, "(document ") })
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadTooManyFiles: past MaxFiles YAML files the walk stops with one
// problem, before any file is read.
func TestLoadTooManyFiles(t *testing.T) {
	fsys := fstest.MapFS{}
	for i := range schemas.MaxFiles + 1 {
		fsys[fmt.Sprintf("inv/%06d.yaml", i)] = &fstest.MapFile{Data: []byte("{}\n")}
	}
	_, problems, err := schemas.Load("inv", schemas.LoadOptions{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"inv: more than 100000 YAML files below the inventory root; keep only the inventory below it, or split the site"}
	if diff := cmp.Diff(want, lines(problems)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestProblemsTruncate: a report lists at most MaxProblems problems, the
// first in sorted order, and says how many more there were.
func TestProblemsTruncate(t *testing.T) {
	var ps schemas.Problems
	for i := range schemas.MaxProblems + 5 {
		ps = append(ps, schemas.Problem{File: fmt.Sprintf("f%05d.yaml", schemas.MaxProblems+5-i), Message: "bad"})
	}
	got := ps.Truncate(schemas.MaxProblems)
	if len(got) != schemas.MaxProblems+1 {
		t.Fatalf("%d problems, want %d and one line saying how many more", len(got), schemas.MaxProblems)
	}
	if got[0].File != "f00001.yaml" {
		t.Errorf("first problem %s, want the first in sorted order", got[0])
	}
	if last := got[len(got)-1].String(); last != "5 more problems not listed (at most 1000 are); fix the ones above and validate again" {
		t.Errorf("last line %q", last)
	}
	if short := ps[:3].Truncate(schemas.MaxProblems); len(short) != 3 {
		t.Errorf("a short report was changed: %v", short)
	}
}

func slicesFilter(s []string, keep func(string) bool) []string {
	var out []string
	for _, x := range s {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// TestLoadStopsOnContext: a load whose context is done reads no file and
// returns the context's error.
func TestLoadStopsOnContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var cache schemas.ParseCache
	_, _, err := schemas.Load("../examples/dc1", schemas.LoadOptions{Context: ctx, Cache: &cache})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Load: %v, want context.Canceled", err)
	}
	if st := cache.Stats(); st.Read != 0 || st.Misses != 0 {
		t.Fatalf("a cancelled load read %d and parsed %d files", st.Read, st.Misses)
	}
}

// TestMachineNames: SplitMachineName undoes MachineName, and refuses
// names no MachineSet makes.
func TestMachineNames(t *testing.T) {
	for _, tc := range []struct {
		set string
		i   int
	}{{"workers", 0}, {"gpu-workers", 12}, {"a-1", 9999}} {
		set, i, ok := schemas.SplitMachineName(schemas.MachineName(tc.set, tc.i))
		if !ok || set != tc.set || i != tc.i {
			t.Errorf("SplitMachineName(MachineName(%q, %d)) = %q, %d, %v", tc.set, tc.i, set, i, ok)
		}
	}
	for _, name := range []string{"workers", "workers-", "workers-01", "workers-x", "workers-+1", "-"} {
		if set, i, ok := schemas.SplitMachineName(name); ok {
			t.Errorf("SplitMachineName(%q) = %q, %d: no set makes that name", name, set, i)
		}
	}
}
