package state_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/metalgit/metalgit/alloc/state"
)

func sample() *state.State {
	return &state.State{
		Bindings: []state.Binding{{Machine: "w-1", Host: "s-2"}, {Machine: "db-0", Host: "s-1"}},
		Allocations: []state.Allocation{
			{Pool: "tenant", Address: netip.MustParseAddr("10.0.0.20"), Owner: "Machine/db-0"},
			{Pool: "prov", Address: netip.MustParseAddr("192.168.0.10"), Owner: "Host/s-2"},
			{Pool: "prov", Address: netip.MustParseAddr("192.168.0.9"), Owner: "Host/s-1"},
			{Pool: "v6", Address: netip.MustParseAddr("fd00::10"), Owner: "Host/s-1"},
		},
	}
}

func TestMarshalIsSortedAndReadable(t *testing.T) {
	got := state.Marshal(sample())
	want := map[string]string{
		state.BindingsFile: `# Machine → host bindings. Written by metalgit; change the inventory, not this file.
apiVersion: metalgit.dev/v1alpha1
kind: Bindings
bindings:
  db-0: s-1
  w-1: s-2
`,
		state.AllocationsFile: `# Pool → address → owner. Written by metalgit; change the inventory, not this file.
apiVersion: metalgit.dev/v1alpha1
kind: Allocations
pools:
  prov:
    192.168.0.9: Host/s-1
    192.168.0.10: Host/s-2
  tenant:
    10.0.0.20: Machine/db-0
  v6:
    fd00::10: Host/s-1
`,
	}
	gotStr := map[string]string{}
	for k, v := range got {
		gotStr[k] = string(v)
	}
	if diff := cmp.Diff(want, gotStr); diff != "" {
		t.Errorf("Marshal (-want +got):\n%s", diff)
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	changed, err := state.Write(dir, sample())
	if err != nil || len(changed) != 2 {
		t.Fatalf("first Write changed %v, err %v; want both files", changed, err)
	}
	got, problems, err := state.Read(dir)
	if err != nil || len(problems) > 0 {
		t.Fatalf("Read: %v %v", err, problems)
	}
	want := sample()
	want.Sort()
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(state.State{}, "Sources"), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if loc := got.Where(state.AllocationKey("prov", netip.MustParseAddr("192.168.0.10"))); loc.Line != 7 {
		t.Errorf("location of 192.168.0.10 = %+v, want line 7", loc)
	}

	// Writing the same state again touches nothing.
	path := filepath.Join(dir, state.BindingsFile)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	changed, err = state.Write(dir, got)
	if err != nil || len(changed) != 0 {
		t.Fatalf("second Write changed %v, err %v; want nothing", changed, err)
	}
	if fi, _ := os.Stat(path); !fi.ModTime().Equal(old) {
		t.Errorf("unchanged file was rewritten")
	}
}

func TestReadMissingDirIsEmpty(t *testing.T) {
	s, problems, err := state.Read(filepath.Join(t.TempDir(), "nope"))
	if err != nil || len(problems) > 0 || len(s.Bindings)+len(s.Allocations) != 0 {
		t.Fatalf("got %+v %v %v, want an empty state", s, problems, err)
	}
}

func TestReadReportsHandEdits(t *testing.T) {
	tests := map[string]struct {
		file, content string
		want          []string
	}{
		"duplicate address": {
			file: state.AllocationsFile,
			content: `apiVersion: metalgit.dev/v1alpha1
kind: Allocations
pools:
  prov:
    192.168.0.9: Host/s-1
    192.168.0.9: Host/s-2
`,
			want: []string{"allocations.yaml:6: pools.prov[192.168.0.9]: address 192.168.0.9 of pool prov is listed twice (for Host/s-1 and Host/s-2); an address has one owner: remove one line"},
		},
		"owner holds two addresses": {
			file: state.AllocationsFile,
			content: `pools:
  prov:
    192.168.0.9: Host/s-1
    192.168.0.10: Host/s-1
`,
			want: []string{"allocations.yaml:4: pools.prov[192.168.0.10]: Host/s-1 holds both 192.168.0.9 and 192.168.0.10 in pool prov; an owner holds one address per pool: remove one line"},
		},
		"malformed address and owner": {
			file: state.AllocationsFile,
			content: `pools:
  prov:
    192.168.0.300: Host/s-1
    192.168.0.7: Rack/r1
`,
			want: []string{
				`allocations.yaml:3: pools.prov[192.168.0.300]: "192.168.0.300" is not an IP address`,
				`allocations.yaml:4: pools.prov[192.168.0.7]: owner "Rack/r1" is not <Kind>/<name> (Host/server-01, Machine/db-0)`,
			},
		},
		"host bound twice": {
			file: state.BindingsFile,
			content: `bindings:
  a-0: s-1
  b-0: s-1
`,
			want: []string{"bindings.yaml:3: bindings.b-0: host s-1 is bound to both a-0 and b-0; a host runs one machine: remove one line"},
		},
		"syntax": {
			file:    state.BindingsFile,
			content: "bindings: [\n",
			want:    []string{"bindings.yaml:1: did not find expected node content; the state is written by metalgit: restore the file from Git history"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, problems := state.Parse(tc.file, tc.file, []byte(tc.content))
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
