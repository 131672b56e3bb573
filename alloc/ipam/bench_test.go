package ipam

import (
	"fmt"
	"net/netip"
	"testing"

	"go4.org/netipx"
)

func benchOwners(n int) []string {
	owners := make([]string, n)
	for i := range owners {
		owners[i] = fmt.Sprintf("Machine/worker-%d", i)
	}
	return owners
}

// BenchmarkAllocate fills one pool (a /16 minus network, gateway and
// broadcast) with n owners; one op is a whole fill including NewPool.
func BenchmarkAllocate(b *testing.B) {
	set := cidrSet(b, "10.0.0.0/16", "10.0.0.1")
	for _, n := range []int{1_000, 10_000, 50_000} {
		b.Run(fmt.Sprintf("owners=%d", n), func(b *testing.B) {
			owners := benchOwners(n)
			b.ReportAllocs()
			for b.Loop() {
				p := NewPool("bench", set)
				for _, o := range owners {
					if _, err := p.Allocate(o); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/alloc")
		})
	}
}

// BenchmarkAllocateIPv6 is BenchmarkAllocate's 10k fill in a /64.
func BenchmarkAllocateIPv6(b *testing.B) {
	set := rangeSet(b, []string{"2001:db8::/64"}, "2001:db8::", "2001:db8::1")
	owners := benchOwners(10_000)
	b.ReportAllocs()
	for b.Loop() {
		p := NewPool("bench", set)
		for _, o := range owners {
			if _, err := p.Allocate(o); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(owners)), "ns/alloc")
}

// BenchmarkPlanningPass is the planner's shape: 20,000 owners across 4
// pools, each pool already holding claims from the state files for a
// quarter of its owners, scattered, so that new allocations fill holes.
func BenchmarkPlanningPass(b *testing.B) {
	const pools, perPool = 4, 5_000
	sets := make([]*netipx.IPSet, pools)
	owners := make([][]string, pools)
	claims := make([][]Allocation, pools)
	for i := range pools {
		sets[i] = cidrSet(b, fmt.Sprintf("10.%d.0.0/18", i), fmt.Sprintf("10.%d.0.1", i))
		owners[i] = make([]string, perPool)
		for j := range perPool {
			owners[i][j] = fmt.Sprintf("Host/pool%d-server-%d", i, j)
			if j%4 == 0 {
				// every 4th owner already holds 10.i.x.y at 3*j+2
				a := netip.AddrFrom4([4]byte{10, byte(i), byte((3*j + 2) >> 8), byte(3*j + 2)})
				claims[i] = append(claims[i], Allocation{Address: a, Owner: owners[i][j]})
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range pools {
			p := NewPool(fmt.Sprintf("pool%d", i), sets[i])
			for _, c := range claims[i] {
				if err := p.Claim(c.Address, c.Owner); err != nil {
					b.Fatal(err)
				}
			}
			if _, errs := p.AllocateEach(owners[i]); errs != nil {
				b.Fatal(errs)
			}
		}
	}
}

// BenchmarkReleaseAllocate churns a full 10k pool: release a pseudo-random
// owner, allocate a new one (which must refill that hole). One op is one
// release plus one allocate.
func BenchmarkReleaseAllocate(b *testing.B) {
	const n = 10_000
	p := NewPool("bench", cidrSet(b, "10.0.0.0/18", "10.0.0.1"))
	owners := benchOwners(n)
	for _, o := range owners {
		if _, err := p.Allocate(o); err != nil {
			b.Fatal(err)
		}
	}
	fresh := make([]string, n)
	for i := range fresh {
		fresh[i] = fmt.Sprintf("Machine/fresh-%d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := (i * 7919) % n // visits every slot, scattered
		released, _ := p.Release(owners[k])
		got, err := p.Allocate(fresh[k])
		if err != nil || got != released {
			b.Fatalf("Allocate = %s, %v; want the released %s", got, err, released)
		}
		owners[k], fresh[k] = fresh[k], owners[k]
		i++
	}
}
