package schemas_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/internal/fleetgen"
	"github.com/metalgit/metalgit/schemas"
)

// ValidateWith reports what Validate reports, through edits that make
// hosts clash with hosts it took as checked (a duplicate MAC before and
// after them in file order, a duplicate name), give a host problems of
// its own, and change the objects hosts are checked against; it checks
// in full only the hosts that are new, changed or had problems.
func TestValidateCacheMatchesValidate(t *testing.T) {
	root := t.TempDir()
	if err := fleetgen.WriteDir(root, fleetgen.Spec{Hosts: 20, Machines: 4}); err != nil {
		t.Fatal(err)
	}
	parse, vc := &schemas.ParseCache{}, &schemas.ValidateCache{}
	host := func(name, mac string) string {
		return "apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: {name: " + name + "}\nspec:\n" +
			"  bmc: {address: \"redfish://10.201.0.1/redfish/v1/Systems/1\", credentialsName: " + name + "-bmc}\n" +
			"  bootMACAddress: \"" + mac + "\"\n"
	}
	step := func(what string, checked int, wantProblems bool) {
		t.Helper()
		inv, problems, err := schemas.Load(root, schemas.LoadOptions{Cache: parse})
		if err != nil || len(problems) > 0 {
			t.Fatalf("%s: %v %v", what, err, problems)
		}
		want := lines(inv.Validate())
		got := lines(inv.ValidateWith(vc))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s: ValidateWith differs from Validate (-Validate +ValidateWith):\n%s", what, diff)
		}
		if wantProblems != (len(want) > 0) {
			t.Fatalf("%s: problems %v", what, want)
		}
		if n := vc.Checked(); n != checked {
			t.Fatalf("%s: %d hosts checked in full, want %d", what, n, checked)
		}
	}
	step("first validation", 20, false)
	step("unchanged", 0, false)
	writeFiles(t, root, map[string]string{"hosts/zz.yaml": host("zz", "02:00:00:00:00:03")})
	step("a new host with the MAC of a checked one, after it", 1, true)
	writeFiles(t, root, map[string]string{"hosts/aa.yaml": host("aa", "02:00:00:00:00:05")})
	step("a new host with the MAC of a checked one, before it", 2, true) // aa, and zz again
	if err := os.Remove(filepath.Join(root, "hosts", "zz.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "hosts", "aa.yaml")); err != nil {
		t.Fatal(err)
	}
	step("the clashing hosts removed", 1, false) // host-000005 had the clash
	writeFiles(t, root, map[string]string{"hosts/again.yaml": host("host-000007", "02:00:00:00:01:07")})
	step("a host named as a checked one", 1, true)
	writeFiles(t, root, map[string]string{"hosts/again.yaml": host("Bad_Name", "02:00:00:00:01:07")})
	step("a host with problems of its own", 2, true) // and host-000007, which had the clash
	step("unchanged, with problems", 1, true)
	if err := os.Remove(filepath.Join(root, "hosts", "again.yaml")); err != nil {
		t.Fatal(err)
	}
	step("the bad host removed", 0, false)
	site, err := os.ReadFile(filepath.Join(root, "site.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, root, map[string]string{"site.yaml": strings.Replace(string(site), "pool: tenant-0", "pool: tenant-1", 1)})
	step("another object changed", 20, false)
	step("unchanged again", 0, false)
}
