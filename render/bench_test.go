package render_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/internal/fleetgen"
	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

// BenchmarkRender renders a generated fleet of n hosts, every one bound to
// a machine (Machines == Hosts), from a planned state: one BareMetalHost, a
// preprovisioning network-data Secret and the machine's user-data and
// network-data Secrets per host. Goal: 10,000 hosts under 3 s, linear in n.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			in := benchInput(b, n)
			var out []byte
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var err error
				if out, err = render.Render(in, render.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(len(out))/float64(n), "out-B/host")
			if got := bytes.Count(append([]byte("\n"), out...), []byte("\nkind: BareMetalHost\n")); got != n {
				b.Fatalf("rendered %d BareMetalHosts, want %d", got, n)
			}
		})
	}
}

// benchInput generates, validates and plans an inventory of n hosts and n
// machines; every machine must be bound.
func benchInput(tb testing.TB, n int) render.Input {
	tb.Helper()
	inv, problems := schemas.LoadBytes("fleet.yaml", fleetgen.Documents(fleetgen.Spec{Hosts: n, Machines: n}))
	problems = append(problems, inv.Validate()...)
	if len(problems) > 0 {
		tb.Fatalf("generated inventory does not validate: %v", problems[:min(3, len(problems))])
	}
	plan, err := alloc.Compute(inv, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if len(plan.Problems) > 0 || len(plan.Bindings) != n {
		tb.Fatalf("plan binds %d of %d machines; problems: %v", len(plan.Bindings), n, plan.Problems[:min(3, len(plan.Problems))])
	}
	return render.Input{Inventory: inv, State: plan.Next}
}

// BenchmarkRenderOverlay is BenchmarkRender with an output kustomization
// (a namespace and a label): every object goes through kustomize, in parts.
func BenchmarkRenderOverlay(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			in := benchInput(b, n)
			in.Root = b.TempDir()
			if err := os.MkdirAll(filepath.Join(in.Root, "render"), 0o755); err != nil {
				b.Fatal(err)
			}
			k := "namespace: fleet-b\nlabels:\n- pairs: {team: infra}\n"
			if err := os.WriteFile(filepath.Join(in.Root, "render", "kustomization.yaml"), []byte(k), 0o644); err != nil {
				b.Fatal(err)
			}
			var out []byte
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var err error
				if out, err = render.Render(in, render.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if got := bytes.Count(out, []byte("\n  namespace: fleet-b\n")); got < n {
				b.Fatalf("%d objects in fleet-b, want at least %d", got, n)
			}
		})
	}
}

// BenchmarkRenderCached renders a generated fleet of 1,000 hosts, one
// file per host, again and again with one Cache, 10 host files changed
// and the inventory loaded again (untimed, with a ParseCache) before each
// render: what a reconciler does after a small push.
func BenchmarkRenderCached(b *testing.B) {
	for _, overlay := range []bool{false, true} {
		b.Run(fmt.Sprintf("overlay=%v", overlay), func(b *testing.B) {
			const n = 1000
			root := b.TempDir()
			if err := fleetgen.WriteDir(root, fleetgen.Spec{Hosts: n, Machines: n}); err != nil {
				b.Fatal(err)
			}
			if overlay {
				if err := os.MkdirAll(filepath.Join(root, "render"), 0o755); err != nil {
					b.Fatal(err)
				}
				k := "namespace: fleet-b\nlabels:\n- pairs: {team: infra}\n"
				if err := os.WriteFile(filepath.Join(root, "render", "kustomization.yaml"), []byte(k), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			var parse schemas.ParseCache
			inv, problems, err := schemas.Load(root, schemas.LoadOptions{Cache: &parse})
			if err != nil || len(problems) > 0 {
				b.Fatalf("loading the fleet: %v %v", err, problems)
			}
			plan, err := alloc.Compute(inv, nil)
			if err != nil {
				b.Fatal(err)
			}
			in := render.Input{Inventory: inv, State: plan.Next, Root: root}
			opts := render.Options{Cache: &render.Cache{}}
			if _, err := render.Render(in, opts); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			round := 0
			for b.Loop() {
				b.StopTimer()
				for j := range 10 {
					file := filepath.Join(root, "hosts", fmt.Sprintf("host-%06d.yaml", (round*10+j*97)%n))
					data, err := os.ReadFile(file)
					if err != nil {
						b.Fatal(err)
					}
					if err := os.WriteFile(file, append(data, fmt.Sprintf("# round %d\n", round)...), 0o644); err != nil {
						b.Fatal(err)
					}
				}
				round++
				if in.Inventory, _, err = schemas.Load(root, schemas.LoadOptions{Cache: &parse}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := render.Render(in, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			st := opts.Cache.Stats()
			b.ReportMetric(float64(n-st.ReusedHosts), "hosts-rendered/op")
		})
	}
}

// BenchmarkCheck runs render.Check, what validate and plan add to find
// what render would reject, on the fleet BenchmarkRender renders: every
// machine's user-data and network-data and every host's preprovisioning
// network-data, without building objects.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			in := benchInput(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if problems := render.Check(in.Inventory, in.State); len(problems) > 0 {
					b.Fatal(problems[:1])
				}
			}
		})
	}
}
