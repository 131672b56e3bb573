package schemas_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/metalgit/metalgit/schemas"
	"github.com/metalgit/metalgit/schemas/fleetgen"
)

// compareCached loads root without and with cache and fails unless both
// give the same inventory, load problems and validation problems. It
// returns the cache's counts for the cached load. With deep, the parsed
// YAML nodes behind each object's Source are compared too (slow).
func compareCached(t *testing.T, root string, cache *schemas.ParseCache, deep bool) schemas.ParseCacheStats {
	t.Helper()
	want, wantProblems, err := schemas.Load(root, schemas.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, gotProblems, err := schemas.Load(root, schemas.LoadOptions{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	st := cache.Stats()
	// Without deep, a Source's parsed nodes are compared only through the
	// lines of the problems below.
	all := cmpopts.IgnoreUnexported(schemas.Source{})
	if deep {
		all = cmp.Exporter(func(reflect.Type) bool { return true })
	}
	if diff := cmp.Diff(want, got, all); diff != "" {
		t.Fatalf("cached inventory differs (-uncached +cached):\n%s", diff)
	}
	if diff := cmp.Diff(lines(wantProblems), lines(gotProblems)); diff != "" {
		t.Fatalf("cached load problems differ (-uncached +cached):\n%s", diff)
	}
	if diff := cmp.Diff(lines(want.Validate()), lines(got.Validate())); diff != "" {
		t.Fatalf("cached validation problems differ (-uncached +cached):\n%s", diff)
	}
	// Validating must not have changed what the cache shares.
	if diff := cmp.Diff(want, got, all); diff != "" {
		t.Fatalf("validation modified the cached inventory (-uncached +cached):\n%s", diff)
	}
	return st
}

func TestParseCacheMatchesUncachedLoad(t *testing.T) {
	dc1 := t.TempDir()
	if err := os.CopyFS(dc1, os.DirFS("../examples/dc1")); err != nil {
		t.Fatal(err)
	}
	fleet := t.TempDir()
	if err := fleetgen.WriteDir(fleet, fleetgen.Spec{Hosts: 100, Machines: 30}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, root, host string // host: an existing host file
		files            int    // YAML files read from root
		deep             bool
	}{
		{"dc1", dc1, "hosts/server-03.yaml", 11, true},
		{"fleet", fleet, "hosts/host-000007.yaml", 101, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := &schemas.ParseCache{}
			step := func(what string, hits, misses, entries int) {
				t.Helper()
				st := compareCached(t, tc.root, cache, tc.deep)
				if want := (schemas.ParseCacheStats{Hits: hits, Misses: misses, Entries: entries}); st != want {
					t.Fatalf("%s: cache stats %+v, want %+v", what, st, want)
				}
			}
			n := tc.files
			step("first load", 0, n, n)
			step("unchanged", n, 0, n)

			host := filepath.Join(tc.root, tc.host)
			data, err := os.ReadFile(host)
			if err != nil {
				t.Fatal(err)
			}
			// The same size and modification time, different content.
			info, err := os.Stat(host)
			if err != nil {
				t.Fatal(err)
			}
			changed := []byte(string(data[:len(data)-2]) + "X\n")
			if len(changed) != len(data) {
				t.Fatalf("changed content has %d bytes, want %d", len(changed), len(data))
			}
			writeFiles(t, tc.root, map[string]string{tc.host: string(changed)})
			if err := os.Chtimes(host, info.ModTime(), info.ModTime()); err != nil {
				t.Fatal(err)
			}
			step("changed file", n-1, 1, n)

			writeFiles(t, tc.root, map[string]string{
				"hosts/added.yaml": "apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: {name: added}\nspec:\n  bmc: {address: 'redfish://10.9.9.9', credentialsName: nope}\n  bootMACAddress: 'zz'\n",
				"broken.yaml":      "apiVersion: metalgit.dev/v1alpha1\nkind: Hots\nmetadata: {name: a}\n---\nkey: [unclosed\n",
			})
			step("added files with problems", n, 2, n+2)
			if inv, problems, err := schemas.Load(tc.root, schemas.LoadOptions{Cache: cache}); err != nil || len(problems) < 2 || len(inv.Validate()) == 0 {
				t.Fatalf("got %d load problems (err %v), want a syntax and a kind problem, and validation problems", len(problems), err)
			}
			step("unchanged with problems", n+2, 0, n+2)

			if err := os.Remove(host); err != nil {
				t.Fatal(err)
			}
			step("deleted file", n+1, 0, n+1)

			// Restoring the deleted file parses it again: its entry was dropped.
			writeFiles(t, tc.root, map[string]string{tc.host: string(data)})
			step("restored file", n+1, 1, n+2)
		})
	}
}
