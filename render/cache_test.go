package render_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

// loadAt is load on an inventory root anywhere.
func loadAt(t *testing.T, root string) render.Input {
	t.Helper()
	inv, problems, err := schemas.Load(root, schemas.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	problems = append(problems, inv.Validate()...)
	if len(problems) > 0 {
		t.Fatalf("%s does not validate:\n%v", root, problems)
	}
	plan, err := alloc.Compute(inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return render.Input{Inventory: inv, State: plan.Next, Root: root}
}

// renderBoth renders in without and with cache and fails unless the bytes
// are the same; it returns them.
func renderBoth(t *testing.T, what string, in render.Input, cache *render.Cache) []byte {
	t.Helper()
	want, err := render.Render(in, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := render.Render(in, render.Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Fatalf("%s: cached render differs from the uncached one (-uncached +cached):\n%s", what, diff)
	}
	return got
}

// TestRenderCacheGolden renders every golden case without a cache, with
// an empty one, with the one filled by that render, and again after a
// host changed and after a host was removed: the bytes must be the same,
// and the cache must hold only what the last render used.
func TestRenderCacheGolden(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			in := load(t, name)
			var cache render.Cache
			first := renderBoth(t, "empty cache", in, &cache)
			want, err := os.ReadFile(filepath.Join("testdata", name, "expected.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, want) {
				t.Fatalf("cached render differs from expected.yaml")
			}
			filled := cache.Stats()
			if filled.Misses == 0 || filled.Hits != 0 || filled.Entries != filled.Misses {
				t.Fatalf("first render: %+v, want only misses, each kept", filled)
			}

			renderBoth(t, "filled cache", in, &cache)
			if s := cache.Stats(); s.Misses != 0 || s.Hits != filled.Misses || s.Entries != filled.Entries {
				t.Fatalf("second render: %+v, want %d hits and no misses", s, filled.Misses)
			}

			if len(in.Inventory.Hosts) == 0 {
				return
			}
			h := in.Inventory.Hosts[0]
			in = reloadEdited(t, in, h.Spec.BMC.Address, h.Spec.BMC.Address+"/changed")
			changed := renderBoth(t, "a host changed", in, &cache)
			if !bytes.Contains(changed, []byte(h.Spec.BMC.Address+"/changed\n")) {
				t.Fatal("the changed BMC address is not in the output")
			}
			if s := cache.Stats(); s.Misses == 0 {
				t.Fatalf("after a change: %+v, want a miss for what changed", s)
			}
			if s := cache.Stats(); s.Entries != s.Hits+s.Misses {
				t.Fatalf("after a change: %+v, want the entries of this render alone", s)
			}

			// Remove the last host: parts after it may shift.
			last := in.Inventory.Hosts[len(in.Inventory.Hosts)-1]
			in.Inventory.Hosts = in.Inventory.Hosts[:len(in.Inventory.Hosts)-1]
			removed := renderBoth(t, "a host removed", in, &cache)
			if bytes.Contains(removed, []byte("name: "+last.Metadata.Name+"\n")) {
				t.Fatalf("host %s still rendered", last.Metadata.Name)
			}
			if s := cache.Stats(); s.Entries != s.Hits+s.Misses {
				t.Fatalf("after a removal: %+v, want the entries of this render alone", s)
			}
		})
	}
}

// TestRenderCacheOverlayChange changes the output kustomization's files
// between cached renders: the cache must not serve the old build.
func TestRenderCacheOverlayChange(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(filepath.Join("testdata", "overlay", "inventory"))); err != nil {
		t.Fatal(err)
	}
	in := loadAt(t, root)
	var cache render.Cache
	before := renderBoth(t, "as in testdata", in, &cache)

	// A file the kustomization refers to.
	patch := filepath.Join(root, "render", "cleaning.yaml")
	data, err := os.ReadFile(patch)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte("- op: add\n  path: /metadata/annotations/metalgit.test~1patched\n  value: \"yes\"\n")...)
	if err := os.WriteFile(patch, data, 0o644); err != nil {
		t.Fatal(err)
	}
	patched := renderBoth(t, "patch changed", in, &cache)
	if bytes.Equal(before, patched) || !bytes.Contains(patched, []byte("metalgit.test/patched: \"yes\"\n")) {
		t.Fatal("the changed patch is not applied")
	}
	if s := cache.Stats(); s.Hits != 0 {
		t.Fatalf("after the patch changed: %+v, want no hits", s)
	}

	// The kustomization itself.
	k := filepath.Join(root, "render", "kustomization.yaml")
	kdata, err := os.ReadFile(k)
	if err != nil {
		t.Fatal(err)
	}
	kdata = bytes.Replace(kdata, []byte("namespace: fleet-a"), []byte("namespace: fleet-z"), 1)
	if err := os.WriteFile(k, kdata, 0o644); err != nil {
		t.Fatal(err)
	}
	out := renderBoth(t, "kustomization changed", in, &cache)
	if !bytes.Contains(out, []byte("namespace: fleet-z\n")) || bytes.Contains(out, []byte("namespace: fleet-a\n")) {
		t.Fatal("the new namespace is not applied")
	}
	if s := cache.Stats(); s.Hits != 0 {
		t.Fatalf("after the kustomization changed: %+v, want no hits", s)
	}
}

// TestRenderCacheConcurrent shares a Cache between concurrent renders of
// different inputs (run it with -race): each must still come out right.
func TestRenderCacheConcurrent(t *testing.T) {
	var cache render.Cache
	var wg sync.WaitGroup
	for _, name := range []string{"overlay", "section10", "overlay", "precedence"} {
		in := load(t, name)
		want, err := os.ReadFile(filepath.Join("testdata", name, "expected.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for range 3 {
				got, err := render.Render(in, render.Options{Cache: &cache})
				if err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: concurrent cached render differs from expected.yaml", name)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestDirWriter checks that a DirWriter skips a write only when the
// directory holds what it wrote last, and restores it otherwise.
func TestDirWriter(t *testing.T) {
	in := load(t, "section10")
	out, err := render.Render(in, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	w := &render.DirWriter{Dir: dir}
	want, err := w.Write(out)
	if err != nil {
		t.Fatal(err)
	}
	stat := func() os.FileInfo {
		t.Helper()
		info, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	// check writes stream and reports whether dir was replaced; dir must
	// then hold the files WriteDir writes.
	check := func(what string, stream []byte, replaced bool) {
		t.Helper()
		before := stat()
		files, err := w.Write(stream)
		if err != nil {
			t.Fatal(err)
		}
		if got := !os.SameFile(before, stat()); got != replaced {
			t.Errorf("%s: replaced = %v, want %v", what, got, replaced)
		}
		ref := filepath.Join(t.TempDir(), "ref")
		wantFiles, err := render.WriteDir(ref, stream)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(wantFiles) {
			t.Fatalf("%s: %d files, want %d", what, len(files), len(wantFiles))
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != len(wantFiles) {
			t.Fatalf("%s: %d entries in %s, want %d", what, len(entries), dir, len(wantFiles))
		}
		for i, f := range wantFiles {
			if filepath.Base(files[i]) != filepath.Base(f) {
				t.Fatalf("%s: file %d is %s, want %s", what, i, files[i], f)
			}
			got, err := os.ReadFile(files[i])
			if err != nil {
				t.Fatal(err)
			}
			ref, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, ref) {
				t.Fatalf("%s: %s differs from what WriteDir writes", what, files[i])
			}
		}
	}
	check("same stream", out, false)
	if err := os.WriteFile(want[0], []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("a file edited", out, true)
	if err := os.Remove(want[1]); err != nil {
		t.Fatal(err)
	}
	check("a file removed", out, true)
	if err := os.WriteFile(filepath.Join(dir, "extra.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("a file added", out, true)
	check("same stream again", out, false)
	in.Inventory.Hosts[0].Spec.BMC.Address += "/changed"
	changed, err := render.Render(in, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	check("another stream", changed, true)
	check("that stream again", changed, false)
}

// reloadEdited copies in's inventory root, replaces text in its
// files (from becomes to), and loads the copy afresh, the way a reconciler loads a commit
// that changed those files. The state is kept.
func reloadEdited(t *testing.T, in render.Input, from, to string) render.Input {
	t.Helper()
	root := filepath.Join(t.TempDir(), "inventory")
	if err := os.CopyFS(root, os.DirFS(in.Root)); err != nil {
		t.Fatal(err)
	}
	edited := false
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".yaml" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(data, []byte(from)) {
			return err
		}
		edited = true
		return os.WriteFile(p, bytes.ReplaceAll(data, []byte(from), []byte(to)), 0o644)
	})
	if err != nil || !edited {
		t.Fatalf("editing %q in %s: %v (edited: %v)", from, root, err, edited)
	}
	out := loadAt(t, root)
	out.State = in.State
	return out
}

// TestRenderCacheReusesHostsByContent renders every golden case with a
// cache: the bytes must be those of an uncached render, while a host's
// objects are reused as long as the content it is built from is the same
// (its document, the other objects' documents, its addresses), even
// through a new load of the same files.
func TestRenderCacheReusesHostsByContent(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			in := load(t, name)
			var cache render.Cache
			opts := render.Options{Cache: &cache}
			check := func(what string, reused int) []byte {
				t.Helper()
				want, err := render.Render(in, render.Options{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := render.Render(in, opts)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Fatalf("%s: reusing render differs from the uncached one (-uncached +reusing):\n%s", what, diff)
				}
				if s := cache.Stats(); s.ReusedHosts != reused {
					t.Fatalf("%s: %d hosts reused, want %d", what, s.ReusedHosts, reused)
				}
				return got
			}
			check("empty cache", 0)
			n := len(in.Inventory.Hosts)
			for range 3 {
				check("same inputs", n)
			}
			// A new load of the same files: new objects, same content.
			state := in.State
			in = loadAt(t, in.Root)
			in.State = state
			check("the same files loaded again", n)
			if n == 0 {
				return
			}

			// An allocation moved to another address.
			h := in.Inventory.Hosts[0]
			if in.State != nil && len(in.State.Allocations) > 0 && h.Spec.IPAddress == "" {
				next := *in.State
				next.Allocations = slices.Clone(next.Allocations)
				for i, a := range next.Allocations {
					if a.Owner == schemas.KindHost+"/"+h.Metadata.Name {
						next.Allocations[i].Address = a.Address.Next().Next().Next()
						in.State = &next
						out := check("an address changed", n-1)
						if !bytes.Contains(out, []byte(next.Allocations[i].Address.String()+"/")) {
							t.Fatalf("the moved address %s is not in the output", next.Allocations[i].Address)
						}
						break
					}
				}
			}

			// The file changed (every example keeps its inventory in one
			// file): every document has new content, nothing is reused.
			in = reloadEdited(t, in, h.Spec.BMC.Address, h.Spec.BMC.Address+"/changed")
			if out := check("the file changed", 0); !bytes.Contains(out, []byte(h.Spec.BMC.Address+"/changed\n")) {
				t.Fatal("the changed BMC address is not in the output")
			}
			check("same inputs again", n)
		})
	}
}
