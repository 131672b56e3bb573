package state

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// randomState makes a sorted state of n bindings and n allocations over
// three pools; odd owners and IPv6 addresses need quoting when withOdd.
func randomState(rng *rand.Rand, n int, withOdd bool) *State {
	s := &State{}
	for i := range n {
		s.Bindings = append(s.Bindings, Binding{Machine: fmt.Sprintf("set-%d", i), Host: fmt.Sprintf("host-%04d", rng.IntN(100000)*n+i)})
	}
	pools := []string{"bmc", "provisioning", "workload"}
	used := map[netip.Addr]bool{}
	for i := range n {
		pool := pools[rng.IntN(len(pools))]
		addr := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(1 + rng.IntN(250))})
		if withOdd && i%7 == 3 {
			addr = netip.MustParseAddr(fmt.Sprintf("fd00::%x", rng.IntN(65536)))
		}
		if used[addr] {
			continue
		}
		used[addr] = true
		owner := fmt.Sprintf("Host/h-%d", i)
		if withOdd && i%5 == 1 {
			owner = fmt.Sprintf("Machine/db %d", i) // a space: quoted
		}
		s.Allocations = append(s.Allocations, Allocation{Pool: pool, Address: addr, Owner: owner})
	}
	s.Sort()
	return s
}

// checkSameAsYAML fails unless reading data gives what the YAML reader
// alone gives: entries, their lines and problems.
func checkSameAsYAML(t *testing.T, name string, data []byte) (fast bool) {
	t.Helper()
	var got, want State
	got.Sources, want.Sources = map[string]Location{}, map[string]Location{}
	fast = (&State{Sources: map[string]Location{}}).parseCanonical("/state/"+name, name, data)
	gotProblems := got.parse("/state/"+name, name, data)
	wantProblems := want.parseYAML("/state/"+name, name, data)
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Fatalf("%s (canonical path %v): entries differ from the YAML reader's (-yaml +read):\n%s\n%s", name, fast, diff, data)
	}
	if diff := cmp.Diff(wantProblems, gotProblems, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("%s: problems differ from the YAML reader's (-yaml +read):\n%s\n%s", name, diff, data)
	}
	return fast
}

// TestCanonicalParseMatchesYAML: every file Marshal writes reads the same
// through the canonical path as through YAML, and the canonical path takes
// every file without quoted scalars.
func TestCanonicalParseMatchesYAML(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 50, 1000} {
		for _, odd := range []bool{false, true} {
			s := randomState(rng, n, odd)
			plain := map[string]bool{BindingsFile: true, AllocationsFile: true}
			for _, b := range s.Bindings {
				plain[BindingsFile] = plain[BindingsFile] && plainSafe(b.Machine) && plainSafe(b.Host)
			}
			for _, a := range s.Allocations {
				plain[AllocationsFile] = plain[AllocationsFile] && plainSafe(a.Pool) && plainSafe(a.Address.String()) && plainSafe(a.Owner)
			}
			for name, data := range Marshal(s) {
				if fast := checkSameAsYAML(t, name, data); fast != plain[name] {
					t.Errorf("n=%d odd=%v %s: canonical path %v, every scalar plain %v", n, odd, name, fast, plain[name])
				}
			}
		}
	}
}

// TestCanonicalParseRefusesHandEdits: edited files leave the canonical
// path and read as YAML reads them, problems included.
func TestCanonicalParseRefusesHandEdits(t *testing.T) {
	s := randomState(rand.New(rand.NewPCG(3, 4)), 20, false)
	files := Marshal(s)
	edits := map[string]func(string) string{
		"swapped lines": func(d string) string {
			l := strings.Split(d, "\n")
			l[5], l[6] = l[6], l[5]
			return strings.Join(l, "\n")
		},
		"duplicated line": func(d string) string {
			l := strings.Split(d, "\n")
			return strings.Join(append(l[:6:6], l[5:]...), "\n")
		},
		"comment":          func(d string) string { return d + "# a note\n" },
		"no final newline": func(d string) string { return strings.TrimSuffix(d, "\n") },
		"crlf":             func(d string) string { return strings.ReplaceAll(d, "\n", "\r\n") },
		"trailing space":   func(d string) string { return strings.Replace(d, "\n    ", " \n    ", 1) },
		"unknown field":    func(d string) string { return d + "extra: 1\n" },
		"flow style":       func(d string) string { return strings.Replace(d, ": ", ":  ", 1) },
		"padded address":   func(d string) string { return strings.Replace(d, "    10.", "    010.", 1) },
		"bad owner":        func(d string) string { return strings.Replace(d, ": Host/", ": Hostx/", 1) },
		"header changed":   func(d string) string { return strings.Replace(d, "Written by", "written by", 1) },
		"tab indent":       func(d string) string { return strings.Replace(d, "\n  ", "\n\t", 1) },
	}
	for what, edit := range edits {
		for name, data := range files {
			edited := edit(string(data))
			if edited == string(data) {
				continue
			}
			if fast := checkSameAsYAML(t, name, []byte(edited)); fast {
				t.Errorf("%s of %s took the canonical path", what, name)
			}
		}
	}
	// The same owner twice in a pool, the same host bound twice.
	dupOwner := "pools:\n  p:\n    10.0.0.1: Host/a\n    10.0.0.2: Host/a\n"
	dupHost := "bindings:\n  m-0: h\n  m-1: h\n"
	for name, body := range map[string]string{AllocationsFile: allocationsHeader + dupOwner, BindingsFile: bindingsHeader + dupHost} {
		if checkSameAsYAML(t, name, []byte(body)) {
			t.Errorf("%s with a duplicate took the canonical path", name)
		}
	}
}

// FuzzStateParse: any file reads as the YAML reader reads it.
func FuzzStateParse(f *testing.F) {
	for name, data := range Marshal(randomState(rand.New(rand.NewPCG(5, 6)), 8, true)) {
		f.Add(name == AllocationsFile, data)
	}
	for name, data := range Marshal(randomState(rand.New(rand.NewPCG(7, 8)), 8, false)) {
		f.Add(name == AllocationsFile, data)
	}
	f.Fuzz(func(t *testing.T, allocations bool, data []byte) {
		name := BindingsFile
		if allocations {
			name = AllocationsFile
		}
		checkSameAsYAML(t, name, data)
	})
}
