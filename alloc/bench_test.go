package alloc_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/internal/fleetgen"
	"github.com/metalgit/metalgit/schemas"
)

var benchSizes = []int{1000, 10000, 50000}

// BenchmarkPlan plans a generated inventory of n hosts and n machines
// across 4 pools from an empty state: every host gets a lease, every
// machine a host and an address.
func BenchmarkPlan(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			inv := generated(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				p, err := alloc.Compute(inv, nil)
				if err != nil {
					b.Fatal(err)
				}
				if want := n + min(n, schemas.MaxMachines); len(p.Problems) > 0 || len(p.Allocations) != want {
					b.Fatalf("plan has %d allocations and %d problems, want %d and 0", len(p.Allocations), len(p.Problems), want)
				}
			}
		})
	}
}

// BenchmarkPlanCommand is the whole of 'metalgit plan' but the printing,
// on an inventory laid out as one file per host: read and parse every
// file, validate, read the (empty) state, plan.
func BenchmarkPlanCommand(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			if err := fleetgen.WriteDir(dir, fleetgen.Spec{Hosts: n, Machines: min(n, schemas.MaxMachines)}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				inv, problems, err := schemas.Load(dir, schemas.LoadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				problems = append(problems, inv.Validate()...)
				if len(problems) > 0 {
					b.Fatal(problems[:1])
				}
				st, problems, err := state.Read(filepath.Join(dir, schemas.DefaultStateDir))
				if err != nil || len(problems) > 0 {
					b.Fatal(err, problems)
				}
				if _, err := alloc.Compute(inv, st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func generated(tb testing.TB, n int) *schemas.Inventory {
	tb.Helper()
	inv, problems := schemas.LoadBytes("fleet.yaml", fleetgen.Documents(fleetgen.Spec{Hosts: n, Machines: min(n, schemas.MaxMachines)}))
	problems = append(problems, inv.Validate()...)
	if len(problems) > 0 {
		tb.Fatalf("generated inventory does not validate: %v", problems[:min(3, len(problems))])
	}
	return inv
}

func TestGeneratedInventoryPlansCleanly(t *testing.T) {
	p, err := alloc.Compute(generated(t, 300), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) > 0 || len(p.Bindings) != 300 || len(p.Allocations) != 600 {
		t.Fatalf("got %d bindings, %d allocations, problems %v", len(p.Bindings), len(p.Allocations), p.Problems)
	}
}
