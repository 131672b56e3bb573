package ipam

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go4.org/netipx"
)

// cmpOpts lets cmp compare netip.Addr (unexported fields) and the unexported
// empty-owner error.
var cmpOpts = []cmp.Option{
	cmp.Comparer(func(x, y netip.Addr) bool { return x == y }),
	cmp.AllowUnexported(emptyOwnerError{}),
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// removeReserved removes reserved entries, each a single address
// ("10.0.0.5") or an inclusive range ("10.0.0.10-10.0.0.20").
func removeReserved(b *netipx.IPSetBuilder, reserved []string) {
	for _, r := range reserved {
		if strings.Contains(r, "-") {
			b.RemoveRange(netipx.MustParseIPRange(r))
		} else {
			b.Remove(addr(r))
		}
	}
}

func buildSet(t testing.TB, b *netipx.IPSetBuilder) *netipx.IPSet {
	t.Helper()
	s, err := b.IPSet()
	if err != nil {
		t.Fatalf("building IPSet: %v", err)
	}
	return s
}

// cidrSet builds the allocatable set the way the caller does for a CIDR
// pool: the subnet minus network, gateway and broadcast, minus reserved.
func cidrSet(t testing.TB, cidr, gateway string, reserved ...string) *netipx.IPSet {
	t.Helper()
	p := netip.MustParsePrefix(cidr)
	var b netipx.IPSetBuilder
	b.AddPrefix(p)
	b.Remove(p.Masked().Addr())
	b.Remove(netipx.PrefixLastIP(p))
	b.Remove(addr(gateway))
	removeReserved(&b, reserved)
	return buildSet(t, &b)
}

// rangeSet builds the allocatable set the way the caller does for a range
// pool: every address of every range (or single address), minus reserved.
func rangeSet(t testing.TB, ranges []string, reserved ...string) *netipx.IPSet {
	t.Helper()
	var b netipx.IPSetBuilder
	for _, r := range ranges {
		switch {
		case strings.Contains(r, "-"):
			b.AddRange(netipx.MustParseIPRange(r))
		case strings.Contains(r, "/"):
			b.AddPrefix(netip.MustParsePrefix(r))
		default:
			b.Add(addr(r))
		}
	}
	removeReserved(&b, reserved)
	return buildSet(t, &b)
}

func mustClaim(t testing.TB, p *Pool, claims []Allocation) {
	t.Helper()
	for _, c := range claims {
		if err := p.Claim(c.Address, c.Owner); err != nil {
			t.Fatalf("Claim(%s, %s): %v", c.Address, c.Owner, err)
		}
	}
}

func a(address, owner string) Allocation {
	return Allocation{Address: addr(address), Owner: owner}
}

func TestAllocateEach(t *testing.T) {
	tests := map[string]struct {
		set      func(t testing.TB) *netipx.IPSet
		claims   []Allocation
		owners   []string
		wantNew  []Allocation
		wantErrs []error
		wantAll  []Allocation
		wantSize uint64
		wantFree uint64
	}{
		"cidr skips network gateway and broadcast": {
			set:      func(t testing.TB) *netipx.IPSet { return cidrSet(t, "10.0.0.0/29", "10.0.0.1") },
			owners:   []string{"Host/a", "Host/b", "Host/c", "Host/d", "Host/e"},
			wantNew:  []Allocation{a("10.0.0.2", "Host/a"), a("10.0.0.3", "Host/b"), a("10.0.0.4", "Host/c"), a("10.0.0.5", "Host/d"), a("10.0.0.6", "Host/e")},
			wantAll:  []Allocation{a("10.0.0.2", "Host/a"), a("10.0.0.3", "Host/b"), a("10.0.0.4", "Host/c"), a("10.0.0.5", "Host/d"), a("10.0.0.6", "Host/e")},
			wantSize: 5,
			wantFree: 0,
		},
		"cidr with gateway at the top": {
			set:      func(t testing.TB) *netipx.IPSet { return cidrSet(t, "10.0.0.0/29", "10.0.0.6") },
			owners:   []string{"Host/a", "Host/b"},
			wantNew:  []Allocation{a("10.0.0.1", "Host/a"), a("10.0.0.2", "Host/b")},
			wantAll:  []Allocation{a("10.0.0.1", "Host/a"), a("10.0.0.2", "Host/b")},
			wantSize: 5,
			wantFree: 3,
		},
		"multi-range set given out of order": {
			set: func(t testing.TB) *netipx.IPSet {
				return rangeSet(t, []string{"192.168.0.5", "10.0.1.0-10.0.1.1", "10.0.0.10-10.0.0.11"})
			},
			owners:   []string{"Host/a", "Host/b", "Host/c", "Host/d"},
			wantNew:  []Allocation{a("10.0.0.10", "Host/a"), a("10.0.0.11", "Host/b"), a("10.0.1.0", "Host/c"), a("10.0.1.1", "Host/d")},
			wantAll:  []Allocation{a("10.0.0.10", "Host/a"), a("10.0.0.11", "Host/b"), a("10.0.1.0", "Host/c"), a("10.0.1.1", "Host/d")},
			wantSize: 5,
			wantFree: 1,
		},
		"reserved single addresses and ranges removed": {
			set: func(t testing.TB) *netipx.IPSet {
				return cidrSet(t, "10.0.0.0/28", "10.0.0.1", "10.0.0.2", "10.0.0.4-10.0.0.6", "10.0.0.8")
			},
			owners:   []string{"Host/a", "Host/b", "Host/c"},
			wantNew:  []Allocation{a("10.0.0.3", "Host/a"), a("10.0.0.7", "Host/b"), a("10.0.0.9", "Host/c")},
			wantAll:  []Allocation{a("10.0.0.3", "Host/a"), a("10.0.0.7", "Host/b"), a("10.0.0.9", "Host/c")},
			wantSize: 16 - 3 - 5,
			wantFree: 16 - 3 - 5 - 3,
		},
		"lowest free first around existing claims": {
			set:      func(t testing.TB) *netipx.IPSet { return cidrSet(t, "10.0.0.0/28", "10.0.0.1") },
			claims:   []Allocation{a("10.0.0.2", "Host/x"), a("10.0.0.4", "Host/y"), a("10.0.0.5", "Host/z")},
			owners:   []string{"Host/a", "Host/b"},
			wantNew:  []Allocation{a("10.0.0.3", "Host/a"), a("10.0.0.6", "Host/b")},
			wantAll:  []Allocation{a("10.0.0.2", "Host/x"), a("10.0.0.3", "Host/a"), a("10.0.0.4", "Host/y"), a("10.0.0.5", "Host/z"), a("10.0.0.6", "Host/b")},
			wantSize: 13,
			wantFree: 8,
		},
		"owners served in lexical order": {
			set:      func(t testing.TB) *netipx.IPSet { return cidrSet(t, "10.0.0.0/28", "10.0.0.1") },
			owners:   []string{"Host/server-2", "Machine/db-0", "Host/server-10", "Host/server-1"},
			wantNew:  []Allocation{a("10.0.0.2", "Host/server-1"), a("10.0.0.3", "Host/server-10"), a("10.0.0.4", "Host/server-2"), a("10.0.0.5", "Machine/db-0")},
			wantAll:  []Allocation{a("10.0.0.2", "Host/server-1"), a("10.0.0.3", "Host/server-10"), a("10.0.0.4", "Host/server-2"), a("10.0.0.5", "Machine/db-0")},
			wantSize: 13,
			wantFree: 9,
		},
		"existing claims never move and are not reported as new": {
			set:      func(t testing.TB) *netipx.IPSet { return cidrSet(t, "10.0.0.0/28", "10.0.0.1") },
			claims:   []Allocation{a("10.0.0.9", "Host/server-1"), a("10.0.0.3", "Host/server-3")},
			owners:   []string{"Host/server-3", "Host/server-2", "Host/server-1", "Host/server-0"},
			wantNew:  []Allocation{a("10.0.0.2", "Host/server-0"), a("10.0.0.4", "Host/server-2")},
			wantAll:  []Allocation{a("10.0.0.2", "Host/server-0"), a("10.0.0.3", "Host/server-3"), a("10.0.0.4", "Host/server-2"), a("10.0.0.9", "Host/server-1")},
			wantSize: 13,
			wantFree: 9,
		},
		"duplicate owners get one address": {
			set:      func(t testing.TB) *netipx.IPSet { return cidrSet(t, "10.0.0.0/29", "10.0.0.1") },
			owners:   []string{"Host/b", "Host/a", "Host/b", "Host/a"},
			wantNew:  []Allocation{a("10.0.0.2", "Host/a"), a("10.0.0.3", "Host/b")},
			wantAll:  []Allocation{a("10.0.0.2", "Host/a"), a("10.0.0.3", "Host/b")},
			wantSize: 5,
			wantFree: 3,
		},
		"exhaustion midway continues and disturbs nobody": {
			set:     func(t testing.TB) *netipx.IPSet { return rangeSet(t, []string{"10.0.0.10-10.0.0.12"}) },
			claims:  []Allocation{a("10.0.0.11", "Host/old")},
			owners:  []string{"Host/d", "Host/c", "Host/b", "Host/a"},
			wantNew: []Allocation{a("10.0.0.10", "Host/a"), a("10.0.0.12", "Host/b")},
			wantErrs: []error{
				&ExhaustedError{Pool: "tenant", Size: 3, Owner: "Host/c"},
				&ExhaustedError{Pool: "tenant", Size: 3, Owner: "Host/d"},
			},
			wantAll:  []Allocation{a("10.0.0.10", "Host/a"), a("10.0.0.11", "Host/old"), a("10.0.0.12", "Host/b")},
			wantSize: 3,
			wantFree: 0,
		},
		"empty owner is an error, others still served": {
			set:      func(t testing.TB) *netipx.IPSet { return cidrSet(t, "10.0.0.0/29", "10.0.0.1") },
			owners:   []string{"Host/a", ""},
			wantNew:  []Allocation{a("10.0.0.2", "Host/a")},
			wantErrs: []error{&emptyOwnerError{pool: "tenant"}},
			wantAll:  []Allocation{a("10.0.0.2", "Host/a")},
			wantSize: 5,
			wantFree: 4,
		},
		"nothing to do": {
			set:      func(t testing.TB) *netipx.IPSet { return cidrSet(t, "10.0.0.0/29", "10.0.0.1") },
			claims:   []Allocation{a("10.0.0.4", "Host/a")},
			owners:   []string{"Host/a"},
			wantAll:  []Allocation{a("10.0.0.4", "Host/a")},
			wantSize: 5,
			wantFree: 4,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewPool("tenant", tc.set(t))
			mustClaim(t, p, tc.claims)
			owners := append([]string(nil), tc.owners...)

			gotNew, gotErrs := p.AllocateEach(owners)

			if diff := cmp.Diff(tc.wantNew, gotNew, cmpOpts...); diff != "" {
				t.Errorf("AllocateEach new allocations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErrs, gotErrs, cmpOpts...); diff != "" {
				t.Errorf("AllocateEach errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAll, p.Allocations(), cmpOpts...); diff != "" {
				t.Errorf("Allocations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.owners, owners); diff != "" {
				t.Errorf("AllocateEach modified its argument (-want +got):\n%s", diff)
			}
			if got := p.Size(); got != tc.wantSize {
				t.Errorf("Size() = %d, want %d", got, tc.wantSize)
			}
			if got := p.Free(); got != tc.wantFree {
				t.Errorf("Free() = %d, want %d", got, tc.wantFree)
			}
		})
	}
}

func TestClaim(t *testing.T) {
	// Allocatable: 10.0.0.2-10.0.0.254 minus 10.0.0.10 and 10.0.0.100-10.0.0.109.
	set := func(t testing.TB) *netipx.IPSet {
		return cidrSet(t, "10.0.0.0/24", "10.0.0.1", "10.0.0.10", "10.0.0.100-10.0.0.109")
	}
	existing := []Allocation{a("10.0.0.20", "Host/a"), a("10.0.0.30", "Host/c")}
	tests := map[string]struct {
		addr         netip.Addr
		owner        string
		wantErr      error // compared with cmp.Diff; nil means success
		wantSentinel error
		wantMsg      string
	}{
		"free address": {
			addr:  addr("10.0.0.21"),
			owner: "Host/b",
		},
		"same claim again is a no-op": {
			addr:  addr("10.0.0.20"),
			owner: "Host/a",
		},
		"outside the subnet": {
			addr:         addr("10.0.1.5"),
			owner:        "Host/b",
			wantErr:      &OutsidePoolError{Pool: "tenant", Address: addr("10.0.1.5"), Owner: "Host/b"},
			wantSentinel: ErrOutsidePool,
			wantMsg:      "address 10.0.1.5 is not allocatable in pool tenant",
		},
		"network address": {
			addr:         addr("10.0.0.0"),
			owner:        "Host/b",
			wantErr:      &OutsidePoolError{Pool: "tenant", Address: addr("10.0.0.0"), Owner: "Host/b"},
			wantSentinel: ErrOutsidePool,
			wantMsg:      "address 10.0.0.0 is not allocatable in pool tenant",
		},
		"gateway": {
			addr:         addr("10.0.0.1"),
			owner:        "Host/b",
			wantErr:      &OutsidePoolError{Pool: "tenant", Address: addr("10.0.0.1"), Owner: "Host/b"},
			wantSentinel: ErrOutsidePool,
			wantMsg:      "address 10.0.0.1 is not allocatable in pool tenant",
		},
		"broadcast": {
			addr:         addr("10.0.0.255"),
			owner:        "Host/b",
			wantErr:      &OutsidePoolError{Pool: "tenant", Address: addr("10.0.0.255"), Owner: "Host/b"},
			wantSentinel: ErrOutsidePool,
			wantMsg:      "address 10.0.0.255 is not allocatable in pool tenant",
		},
		"reserved single address": {
			addr:         addr("10.0.0.10"),
			owner:        "Host/b",
			wantErr:      &OutsidePoolError{Pool: "tenant", Address: addr("10.0.0.10"), Owner: "Host/b"},
			wantSentinel: ErrOutsidePool,
			wantMsg:      "address 10.0.0.10 is not allocatable in pool tenant",
		},
		"just below a reserved range": {
			addr:  addr("10.0.0.99"),
			owner: "Host/b",
		},
		"just above a reserved range": {
			addr:  addr("10.0.0.110"),
			owner: "Host/b",
		},
		"inside reserved range": {
			addr:         addr("10.0.0.105"),
			owner:        "Host/b",
			wantErr:      &OutsidePoolError{Pool: "tenant", Address: addr("10.0.0.105"), Owner: "Host/b"},
			wantSentinel: ErrOutsidePool,
			wantMsg:      "address 10.0.0.105 is not allocatable in pool tenant",
		},
		"other address family": {
			addr:         addr("::ffff:10.0.0.21"),
			owner:        "Host/b",
			wantErr:      &OutsidePoolError{Pool: "tenant", Address: addr("::ffff:10.0.0.21"), Owner: "Host/b"},
			wantSentinel: ErrOutsidePool,
			wantMsg:      "address ::ffff:10.0.0.21 is not allocatable in pool tenant",
		},
		"invalid address": {
			addr:         netip.Addr{},
			owner:        "Host/b",
			wantErr:      &OutsidePoolError{Pool: "tenant", Owner: "Host/b"},
			wantSentinel: ErrOutsidePool,
			wantMsg:      "address invalid IP is not allocatable in pool tenant",
		},
		"taken by another owner": {
			addr:         addr("10.0.0.20"),
			owner:        "Host/b",
			wantErr:      &AddressTakenError{Pool: "tenant", Address: addr("10.0.0.20"), Owner: "Host/b", Holder: "Host/a"},
			wantSentinel: ErrAddressTaken,
			wantMsg:      "10.0.0.20 in pool tenant is held by Host/a, cannot also give it to Host/b",
		},
		"owner already holds another address": {
			addr:         addr("10.0.0.21"),
			owner:        "Host/a",
			wantErr:      &OwnerHasAddressError{Pool: "tenant", Owner: "Host/a", Held: addr("10.0.0.20"), Requested: addr("10.0.0.21")},
			wantSentinel: ErrOwnerHasAddress,
			wantMsg:      "Host/a already holds 10.0.0.20 in pool tenant, cannot also give it 10.0.0.21",
		},
		"taken and owner holds another: taken wins": {
			addr:         addr("10.0.0.30"),
			owner:        "Host/a",
			wantErr:      &AddressTakenError{Pool: "tenant", Address: addr("10.0.0.30"), Owner: "Host/a", Holder: "Host/c"},
			wantSentinel: ErrAddressTaken,
			wantMsg:      "10.0.0.30 in pool tenant is held by Host/c, cannot also give it to Host/a",
		},
		"empty owner": {
			addr:         addr("10.0.0.21"),
			owner:        "",
			wantErr:      &emptyOwnerError{pool: "tenant"},
			wantSentinel: ErrEmptyOwner,
			wantMsg:      "empty owner in pool tenant",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewPool("tenant", set(t))
			mustClaim(t, p, existing)
			before := p.Allocations()

			err := p.Claim(tc.addr, tc.owner)

			if diff := cmp.Diff(tc.wantErr, err, cmpOpts...); diff != "" {
				t.Fatalf("Claim(%s, %q) error (-want +got):\n%s", tc.addr, tc.owner, diff)
			}
			if err == nil {
				if got, ok := p.Owner(tc.addr); !ok || got != tc.owner {
					t.Errorf("Owner(%s) = %q, %t; want %q, true", tc.addr, got, ok, tc.owner)
				}
				if got, ok := p.Lookup(tc.owner); !ok || got != tc.addr {
					t.Errorf("Lookup(%q) = %s, %t; want %s, true", tc.owner, got, ok, tc.addr)
				}
				return
			}
			if !errors.Is(err, tc.wantSentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.wantSentinel)
			}
			if got := err.Error(); got != tc.wantMsg {
				t.Errorf("message = %q, want %q", got, tc.wantMsg)
			}
			if diff := cmp.Diff(before, p.Allocations(), cmpOpts...); diff != "" {
				t.Errorf("failed Claim changed the pool (-before +after):\n%s", diff)
			}
		})
	}
}

func TestErrorsAs(t *testing.T) {
	p := NewPool("tenant", rangeSet(t, []string{"10.0.0.20"}))
	mustClaim(t, p, []Allocation{a("10.0.0.20", "Host/a")})

	var outside *OutsidePoolError
	if err := p.Claim(addr("10.0.0.99"), "Host/b"); !errors.As(err, &outside) || outside.Address != addr("10.0.0.99") {
		t.Errorf("Claim outside: errors.As(*OutsidePoolError) failed for %v", err)
	}
	var taken *AddressTakenError
	if err := p.Claim(addr("10.0.0.20"), "Host/b"); !errors.As(err, &taken) || taken.Holder != "Host/a" {
		t.Errorf("Claim taken: errors.As(*AddressTakenError) failed for %v", err)
	}
	var exhausted *ExhaustedError
	if _, err := p.Allocate("Host/b"); !errors.As(err, &exhausted) || exhausted.Owner != "Host/b" {
		t.Errorf("Allocate: errors.As(*ExhaustedError) failed for %v", err)
	}
	// Wrapped once more by a caller, the kinds still show through.
	wrapped := fmt.Errorf("planning Host/b: %w", &OwnerHasAddressError{Pool: "tenant"})
	var has *OwnerHasAddressError
	if !errors.As(wrapped, &has) || !errors.Is(wrapped, ErrOwnerHasAddress) {
		t.Errorf("wrapped OwnerHasAddressError not found by errors.As/Is")
	}
}

func TestExhausted(t *testing.T) {
	tests := map[string]struct {
		set     func(t testing.TB) *netipx.IPSet
		fill    int // owners Host/n-00 ... allocated first
		owner   string
		wantErr *ExhaustedError
		wantMsg string
	}{
		"22 addresses": {
			set:     func(t testing.TB) *netipx.IPSet { return rangeSet(t, []string{"10.0.0.10-10.0.0.31"}) },
			fill:    22,
			owner:   "Machine/gpu-workers-7",
			wantErr: &ExhaustedError{Pool: "tenant", Size: 22, Owner: "Machine/gpu-workers-7"},
			wantMsg: "pool tenant (22 addresses) is exhausted: no free address for Machine/gpu-workers-7",
		},
		"one address": {
			set:     func(t testing.TB) *netipx.IPSet { return rangeSet(t, []string{"10.0.0.10"}) },
			fill:    1,
			owner:   "Host/b",
			wantErr: &ExhaustedError{Pool: "tenant", Size: 1, Owner: "Host/b"},
			wantMsg: "pool tenant (1 address) is exhausted: no free address for Host/b",
		},
		"empty set": {
			set:     func(t testing.TB) *netipx.IPSet { return rangeSet(t, nil) },
			owner:   "Host/b",
			wantErr: &ExhaustedError{Pool: "tenant", Size: 0, Owner: "Host/b"},
			wantMsg: "pool tenant (0 addresses) is exhausted: no free address for Host/b",
		},
		"nil set": {
			set:     func(t testing.TB) *netipx.IPSet { return nil },
			owner:   "Host/b",
			wantErr: &ExhaustedError{Pool: "tenant", Size: 0, Owner: "Host/b"},
			wantMsg: "pool tenant (0 addresses) is exhausted: no free address for Host/b",
		},
		"everything reserved": {
			set: func(t testing.TB) *netipx.IPSet {
				return cidrSet(t, "10.0.0.0/29", "10.0.0.1", "10.0.0.2-10.0.0.6")
			},
			owner:   "Host/b",
			wantErr: &ExhaustedError{Pool: "tenant", Size: 0, Owner: "Host/b"},
			wantMsg: "pool tenant (0 addresses) is exhausted: no free address for Host/b",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewPool("tenant", tc.set(t))
			for i := range tc.fill {
				if _, err := p.Allocate(fmt.Sprintf("Host/n-%02d", i)); err != nil {
					t.Fatalf("filling: %v", err)
				}
			}
			before := p.Allocations()

			// Ask twice: the second failure must look exactly like the first.
			for range 2 {
				got, err := p.Allocate(tc.owner)
				if got.IsValid() {
					t.Errorf("Allocate(%q) returned address %s with error", tc.owner, got)
				}
				if diff := cmp.Diff(tc.wantErr, err, cmpOpts...); diff != "" {
					t.Fatalf("Allocate(%q) error (-want +got):\n%s", tc.owner, diff)
				}
				if !errors.Is(err, ErrExhausted) {
					t.Errorf("errors.Is(%v, ErrExhausted) = false", err)
				}
				if got := err.Error(); got != tc.wantMsg {
					t.Errorf("message = %q, want %q", got, tc.wantMsg)
				}
			}
			if diff := cmp.Diff(before, p.Allocations(), cmpOpts...); diff != "" {
				t.Errorf("exhaustion disturbed other allocations (-before +after):\n%s", diff)
			}
			if _, ok := p.Lookup(tc.owner); ok {
				t.Errorf("Lookup(%q) found an address after exhaustion", tc.owner)
			}
			if p.Free() != 0 {
				t.Errorf("Free() = %d, want 0", p.Free())
			}
			// Owners that already hold an address still get it.
			for _, al := range before {
				if got, err := p.Allocate(al.Owner); err != nil || got != al.Address {
					t.Errorf("Allocate(%q) = %s, %v; want %s, nil", al.Owner, got, err, al.Address)
				}
			}
			// Releasing one lets the waiting owner in, at that address.
			if len(before) > 0 {
				victim := before[len(before)/2]
				p.Release(victim.Owner)
				got, err := p.Allocate(tc.owner)
				if err != nil || got != victim.Address {
					t.Errorf("after release Allocate(%q) = %s, %v; want %s, nil", tc.owner, got, err, victim.Address)
				}
			}
		})
	}
}

// step is one operation of a scripted scenario; want is the address
// expected back ("" for none).
type step struct {
	do    string // "allocate", "release" or "claim"
	owner string
	addr  string // claim only
	want  string
}

func TestReleaseAndReuse(t *testing.T) {
	// Allocatable: 10.0.0.2-10.0.0.6.
	set := func(t testing.TB) *netipx.IPSet { return cidrSet(t, "10.0.0.0/29", "10.0.0.1") }
	tests := map[string]struct {
		steps   []step
		wantAll []Allocation
	}{
		"released middle address is reused before higher free ones": {
			steps: []step{
				{do: "allocate", owner: "Host/a", want: "10.0.0.2"},
				{do: "allocate", owner: "Host/b", want: "10.0.0.3"},
				{do: "allocate", owner: "Host/c", want: "10.0.0.4"},
				{do: "release", owner: "Host/b", want: "10.0.0.3"},
				{do: "allocate", owner: "Host/d", want: "10.0.0.3"},
				{do: "allocate", owner: "Host/e", want: "10.0.0.5"},
			},
			wantAll: []Allocation{a("10.0.0.2", "Host/a"), a("10.0.0.3", "Host/d"), a("10.0.0.4", "Host/c"), a("10.0.0.5", "Host/e")},
		},
		"several holes are refilled lowest first": {
			steps: []step{
				{do: "allocate", owner: "Host/a", want: "10.0.0.2"},
				{do: "allocate", owner: "Host/b", want: "10.0.0.3"},
				{do: "allocate", owner: "Host/c", want: "10.0.0.4"},
				{do: "allocate", owner: "Host/d", want: "10.0.0.5"},
				{do: "release", owner: "Host/c", want: "10.0.0.4"},
				{do: "release", owner: "Host/a", want: "10.0.0.2"},
				{do: "allocate", owner: "Host/x", want: "10.0.0.2"},
				{do: "allocate", owner: "Host/y", want: "10.0.0.4"},
				{do: "allocate", owner: "Host/z", want: "10.0.0.6"},
			},
			wantAll: []Allocation{a("10.0.0.2", "Host/x"), a("10.0.0.3", "Host/b"), a("10.0.0.4", "Host/y"), a("10.0.0.5", "Host/d"), a("10.0.0.6", "Host/z")},
		},
		"released claim above the lowest free is used in order": {
			steps: []step{
				{do: "claim", owner: "Host/old", addr: "10.0.0.5", want: "10.0.0.5"},
				{do: "release", owner: "Host/old", want: "10.0.0.5"},
				{do: "allocate", owner: "Host/a", want: "10.0.0.2"},
				{do: "allocate", owner: "Host/b", want: "10.0.0.3"},
				{do: "allocate", owner: "Host/c", want: "10.0.0.4"},
				{do: "allocate", owner: "Host/d", want: "10.0.0.5"},
			},
			wantAll: []Allocation{a("10.0.0.2", "Host/a"), a("10.0.0.3", "Host/b"), a("10.0.0.4", "Host/c"), a("10.0.0.5", "Host/d")},
		},
		"hole claimed by someone else is skipped": {
			steps: []step{
				{do: "allocate", owner: "Host/a", want: "10.0.0.2"},
				{do: "allocate", owner: "Host/b", want: "10.0.0.3"},
				{do: "release", owner: "Host/a", want: "10.0.0.2"},
				{do: "claim", owner: "Host/c", addr: "10.0.0.2", want: "10.0.0.2"},
				{do: "allocate", owner: "Host/d", want: "10.0.0.4"},
			},
			wantAll: []Allocation{a("10.0.0.2", "Host/c"), a("10.0.0.3", "Host/b"), a("10.0.0.4", "Host/d")},
		},
		"same owner released and allocated again gets the lowest free": {
			steps: []step{
				{do: "allocate", owner: "Host/a", want: "10.0.0.2"},
				{do: "allocate", owner: "Host/b", want: "10.0.0.3"},
				{do: "release", owner: "Host/b", want: "10.0.0.3"},
				{do: "release", owner: "Host/a", want: "10.0.0.2"},
				{do: "allocate", owner: "Host/b", want: "10.0.0.2"},
			},
			wantAll: []Allocation{a("10.0.0.2", "Host/b")},
		},
		"release of an unknown owner does nothing": {
			steps: []step{
				{do: "allocate", owner: "Host/a", want: "10.0.0.2"},
				{do: "release", owner: "Host/nobody", want: ""},
				{do: "release", owner: "Host/a", want: "10.0.0.2"},
				{do: "release", owner: "Host/a", want: ""},
			},
		},
		"reuse after exhaustion": {
			steps: []step{
				{do: "allocate", owner: "Host/a", want: "10.0.0.2"},
				{do: "allocate", owner: "Host/b", want: "10.0.0.3"},
				{do: "allocate", owner: "Host/c", want: "10.0.0.4"},
				{do: "allocate", owner: "Host/d", want: "10.0.0.5"},
				{do: "allocate", owner: "Host/e", want: "10.0.0.6"},
				{do: "allocate", owner: "Host/f", want: ""},
				{do: "release", owner: "Host/e", want: "10.0.0.6"},
				{do: "release", owner: "Host/b", want: "10.0.0.3"},
				{do: "allocate", owner: "Host/f", want: "10.0.0.3"},
				{do: "allocate", owner: "Host/g", want: "10.0.0.6"},
				{do: "allocate", owner: "Host/h", want: ""},
			},
			wantAll: []Allocation{a("10.0.0.2", "Host/a"), a("10.0.0.3", "Host/f"), a("10.0.0.4", "Host/c"), a("10.0.0.5", "Host/d"), a("10.0.0.6", "Host/g")},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewPool("tenant", set(t))
			for i, s := range tc.steps {
				var got netip.Addr
				switch s.do {
				case "allocate":
					got, _ = p.Allocate(s.owner)
				case "release":
					got, _ = p.Release(s.owner)
				case "claim":
					if err := p.Claim(addr(s.addr), s.owner); err != nil {
						t.Fatalf("step %d: Claim: %v", i, err)
					}
					got, _ = p.Lookup(s.owner)
				default:
					t.Fatalf("step %d: unknown op %q", i, s.do)
				}
				var want netip.Addr
				if s.want != "" {
					want = addr(s.want)
				}
				if got != want {
					t.Errorf("step %d: %s %s = %s, want %s", i, s.do, s.owner, got, want)
				}
			}
			if diff := cmp.Diff(tc.wantAll, p.Allocations(), cmpOpts...); diff != "" {
				t.Errorf("Allocations (-want +got):\n%s", diff)
			}
			if got, want := p.Free()+uint64(len(p.Allocations())), p.Size(); got != want {
				t.Errorf("Free()+len(Allocations()) = %d, want Size() = %d", got, want)
			}
		})
	}
}

func TestAllocateIdempotent(t *testing.T) {
	tests := map[string]struct {
		claims []Allocation
		owner  string
		want   netip.Addr
	}{
		"allocated owner": {
			owner: "Host/a",
			want:  addr("10.0.0.2"),
		},
		"claimed owner keeps the claim, not the lowest free": {
			claims: []Allocation{a("10.0.0.6", "Host/a")},
			owner:  "Host/a",
			want:   addr("10.0.0.6"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewPool("tenant", cidrSet(t, "10.0.0.0/29", "10.0.0.1"))
			mustClaim(t, p, tc.claims)
			for i := range 3 {
				got, err := p.Allocate(tc.owner)
				if err != nil || got != tc.want {
					t.Fatalf("call %d: Allocate(%q) = %s, %v; want %s, nil", i, tc.owner, got, err, tc.want)
				}
			}
			if diff := cmp.Diff([]Allocation{{Address: tc.want, Owner: tc.owner}}, p.Allocations(), cmpOpts...); diff != "" {
				t.Errorf("Allocations (-want +got):\n%s", diff)
			}
			if got := p.Free(); got != 4 {
				t.Errorf("Free() = %d, want 4", got)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	p := NewPool("tenant", cidrSet(t, "10.0.0.0/29", "10.0.0.1"))
	if got := p.Name(); got != "tenant" {
		t.Errorf("Name() = %q", got)
	}
	contains := map[string]bool{
		"10.0.0.0": false, "10.0.0.1": false, "10.0.0.2": true, "10.0.0.6": true, "10.0.0.7": false, "10.0.0.8": false,
	}
	for s, want := range contains {
		if got := p.Contains(addr(s)); got != want {
			t.Errorf("Contains(%s) = %t, want %t", s, got, want)
		}
	}
	if got := p.Allocations(); got != nil {
		t.Errorf("Allocations() of an empty pool = %v, want nil", got)
	}
	if _, err := p.Allocate(""); !errors.Is(err, ErrEmptyOwner) {
		t.Errorf("Allocate(\"\") error = %v, want ErrEmptyOwner", err)
	}
	if _, err := p.Allocate("Host/a"); err != nil {
		t.Fatal(err)
	}
	if got, ok := p.Owner(addr("10.0.0.2")); !ok || got != "Host/a" {
		t.Errorf("Owner(10.0.0.2) = %q, %t", got, ok)
	}
	if got, ok := p.Owner(addr("10.0.0.3")); ok {
		t.Errorf("Owner(10.0.0.3) = %q, true; want none", got)
	}
	if got, ok := p.Lookup("Host/a"); !ok || got != addr("10.0.0.2") {
		t.Errorf("Lookup(Host/a) = %s, %t", got, ok)
	}
	if got, ok := p.Lookup("Host/b"); ok {
		t.Errorf("Lookup(Host/b) = %s, true; want none", got)
	}
}

func TestIPv6(t *testing.T) {
	tests := map[string]struct {
		set      func(t testing.TB) *netipx.IPSet
		claims   []Allocation
		owners   int // Host/v6-0 ... allocated in order
		want     []netip.Addr
		wantSize uint64
		wantFree uint64
	}{
		"/64 saturates at 2^64-1": {
			set:      func(t testing.TB) *netipx.IPSet { return rangeSet(t, []string{"2001:db8::/64"}) },
			owners:   2,
			want:     []netip.Addr{addr("2001:db8::"), addr("2001:db8::1")},
			wantSize: math.MaxUint64,     // 2^64
			wantFree: math.MaxUint64 - 1, // 2^64-2
		},
		"/64 minus network and gateway": {
			set: func(t testing.TB) *netipx.IPSet {
				return rangeSet(t, []string{"2001:db8::/64"}, "2001:db8::", "2001:db8::1")
			},
			owners:   3,
			want:     []netip.Addr{addr("2001:db8::2"), addr("2001:db8::3"), addr("2001:db8::4")},
			wantSize: math.MaxUint64 - 1,     // 2^64-2
			wantFree: math.MaxUint64 - 1 - 3, // 2^64-5
		},
		"/64 with a claim at the far end": {
			set:      func(t testing.TB) *netipx.IPSet { return rangeSet(t, []string{"2001:db8::/64"}, "2001:db8::") },
			claims:   []Allocation{a("2001:db8::ffff:ffff:ffff:ffff", "Host/far"), a("2001:db8::2", "Host/near")},
			owners:   2,
			want:     []netip.Addr{addr("2001:db8::1"), addr("2001:db8::3")},
			wantSize: math.MaxUint64,
			wantFree: math.MaxUint64 - 4,
		},
		"whole address space": {
			set:      func(t testing.TB) *netipx.IPSet { return rangeSet(t, []string{"::/0"}) },
			owners:   1,
			want:     []netip.Addr{addr("::")},
			wantSize: math.MaxUint64,
			wantFree: math.MaxUint64,
		},
		"range crossing a 16-bit group": {
			set:      func(t testing.TB) *netipx.IPSet { return rangeSet(t, []string{"2001:db8::fffe-2001:db8::1:1"}) },
			owners:   4,
			want:     []netip.Addr{addr("2001:db8::fffe"), addr("2001:db8::ffff"), addr("2001:db8::1:0"), addr("2001:db8::1:1")},
			wantSize: 4,
			wantFree: 0,
		},
		"top of the address space": {
			set: func(t testing.TB) *netipx.IPSet {
				return rangeSet(t, []string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"})
			},
			owners:   2,
			want:     []netip.Addr{addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")},
			wantSize: 2,
			wantFree: 0,
		},
		"top of the IPv4 space": {
			set:      func(t testing.TB) *netipx.IPSet { return rangeSet(t, []string{"255.255.255.254/31"}) },
			owners:   2,
			want:     []netip.Addr{addr("255.255.255.254"), addr("255.255.255.255")},
			wantSize: 2,
			wantFree: 0,
		},
		"mixed families: IPv4 sorts first": {
			set:      func(t testing.TB) *netipx.IPSet { return rangeSet(t, []string{"2001:db8::1", "10.0.0.1"}) },
			owners:   2,
			want:     []netip.Addr{addr("10.0.0.1"), addr("2001:db8::1")},
			wantSize: 2,
			wantFree: 0,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewPool("v6", tc.set(t))
			mustClaim(t, p, tc.claims)
			var got []netip.Addr
			for i := range tc.owners {
				a, err := p.Allocate(fmt.Sprintf("Host/v6-%d", i))
				if err != nil {
					t.Fatalf("Allocate: %v", err)
				}
				got = append(got, a)
			}
			if diff := cmp.Diff(tc.want, got, cmpOpts...); diff != "" {
				t.Errorf("allocated (-want +got):\n%s", diff)
			}
			if got := p.Size(); got != tc.wantSize {
				t.Errorf("Size() = %d, want %d", got, tc.wantSize)
			}
			if got := p.Free(); got != tc.wantFree {
				t.Errorf("Free() = %d, want %d", got, tc.wantFree)
			}
			// A released IPv6 address is reused first.
			if len(got) > 0 {
				first, _ := p.Release("Host/v6-0")
				again, err := p.Allocate("Host/v6-again")
				if err != nil || again != first {
					t.Errorf("reuse: Allocate = %s, %v; want %s", again, err, first)
				}
			}
		})
	}
}
