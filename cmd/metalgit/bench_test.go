package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/metalgit/metalgit/internal/fleetgen"
)

// BenchmarkPlanCLI runs the whole of 'metalgit plan' — load, validate, read
// the state, plan, check what render would reject, print — on
// examples/dc1 and on generated fleets of n hosts and n machines laid out
// one file per host, from an empty state.
func BenchmarkPlanCLI(b *testing.B) {
	type bench struct{ name, dir string }
	cases := []bench{{"dc1", "../../examples/dc1"}}
	for _, n := range []int{1000, 10000} {
		dir := b.TempDir()
		if err := fleetgen.WriteDir(dir, fleetgen.Spec{Hosts: n, Machines: n}); err != nil {
			b.Fatal(err)
		}
		cases = append(cases, bench{fmt.Sprintf("hosts=%d", n), dir})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var stdout, stderr bytes.Buffer
				if code := run(b.Context(), []string{"plan", c.dir}, &stdout, &stderr); code != exitOK {
					b.Fatalf("plan exited %d:\n%s", code, stderr.String())
				}
			}
		})
	}
}
