package schemas_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/metalgit/metalgit/internal/fleetgen"
	"github.com/metalgit/metalgit/schemas"
)

// compareCached loads root without and with cache and fails unless both
// give the same inventory, load problems and validation problems. It
// returns the cache's counts for the cached load. With deep, the parsed
// YAML nodes behind each object's Source are compared too (slow).
func compareCached(t *testing.T, root string, cache *schemas.ParseCache, vc *schemas.ValidateCache, deep bool) schemas.ParseCacheStats {
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
	if diff := cmp.Diff(lines(want.Validate()), lines(got.ValidateWith(vc))); diff != "" {
		t.Fatalf("validation problems with a ValidateCache differ (-uncached +cached):\n%s", diff)
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
			cache, vc := &schemas.ParseCache{}, &schemas.ValidateCache{}
			step := func(what string, hits, misses, entries int) {
				t.Helper()
				st := compareCached(t, tc.root, cache, vc, tc.deep)
				// Without ContentKey, every file is read.
				if want := (schemas.ParseCacheStats{Hits: hits, Misses: misses, Read: hits + misses, Entries: entries}); st != want {
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

// TestParseCacheContentKeys: a file whose content key the cache holds is
// taken from the cache without being read; a new key, or a file the keys
// do not know, is read and parsed.
func TestParseCacheContentKeys(t *testing.T) {
	root := t.TempDir()
	if err := fleetgen.WriteDir(root, fleetgen.Spec{Hosts: 20, Machines: 4}); err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{} // path relative to root → key
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			keys[rel] = "v1"
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	n := len(keys)
	opts := schemas.LoadOptions{Cache: &schemas.ParseCache{}, ContentKey: func(p string) (string, bool) {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatalf("ContentKey(%q): not below the root %s", p, root)
		}
		k, ok := keys[rel]
		return k, ok
	}}
	load := func(what string, hits, misses, read int) *schemas.Inventory {
		t.Helper()
		inv, problems, err := schemas.Load(root, opts)
		if err != nil || len(problems) > 0 {
			t.Fatalf("%s: %v %v", what, err, problems)
		}
		if st := opts.Cache.Stats(); st.Hits != hits || st.Misses != misses || st.Read != read {
			t.Fatalf("%s: cache stats %+v, want %d hits, %d misses, %d files read", what, st, hits, misses, read)
		}
		return inv
	}
	load("first load", 0, n, n)
	load("unchanged", n, 0, 0)

	// A content change under the same key is not seen: the file is not read.
	host := filepath.Join("hosts", "host-000003.yaml")
	data, err := os.ReadFile(filepath.Join(root, host))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), "name: host-000003", "name: host-renamed", 1)
	writeFiles(t, root, map[string]string{host: changed})
	if inv := load("same key", n, 0, 0); hasHost(inv, "host-renamed") {
		t.Fatal("a file whose key did not change was read again")
	}
	// A new key reads the file again.
	keys[host] = "v2"
	if inv := load("new key", n-1, 1, 1); !hasHost(inv, "host-renamed") {
		t.Fatal("a file with a new key was not read again")
	}
	// A file the keys do not know is read, and its content compared.
	delete(keys, host)
	load("unknown file", n-1, 1, 1) // its entry has the key, not the sum
	load("unknown file unchanged", n, 0, 1)
	writeFiles(t, root, map[string]string{host: string(data)})
	if inv := load("unknown file changed", n-1, 1, 1); hasHost(inv, "host-renamed") {
		t.Fatal("a changed file the keys do not know was not read again")
	}
}

func hasHost(inv *schemas.Inventory, name string) bool {
	for _, h := range inv.Hosts {
		if h.Metadata.Name == name {
			return true
		}
	}
	return false
}
