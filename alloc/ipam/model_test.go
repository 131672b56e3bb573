package ipam

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go4.org/netipx"
)

// This file checks Pool against a tiny reference model that enumerates every
// allocatable address and finds the lowest free one by linear scan. The
// property test feeds it random scenarios from fixed seeds; FuzzPool feeds it
// scenarios decoded from fuzz bytes.

// Scenario addresses are base+offset, offset in [0, maxOffset]. The bases put
// some scenarios at awkward places: the top of the IPv4 and IPv6 spaces, and
// across an IPv6 16-bit group boundary.
const maxOffset = 4095

var bases = []netip.Addr{
	netip.MustParseAddr("10.0.0.0"),
	netip.MustParseAddr("255.255.240.0"),  // +4095 = 255.255.255.255
	netip.MustParseAddr("2001:db8::f800"), // +0x800 = 2001:db8::1:0
	netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:f000"),
}

// addOffset returns base+n without using anything from the package under
// test.
func addOffset(base netip.Addr, n int) netip.Addr {
	b := base.As16()
	carry := uint(n)
	for i := 15; i >= 0 && carry > 0; i-- {
		sum := uint(b[i]) + carry
		b[i] = byte(sum)
		carry = sum >> 8
	}
	a := netip.AddrFrom16(b)
	if base.Is4() {
		a = a.Unmap()
	}
	return a
}

type opKind int

const (
	opAllocate opKind = iota
	opAllocateEach
	opClaim
	opRelease
)

type op struct {
	kind   opKind
	owner  string   // allocate, claim, release
	owners []string // allocateEach
	addr   netip.Addr
}

func (o op) String() string {
	switch o.kind {
	case opAllocate:
		return fmt.Sprintf("Allocate(%q)", o.owner)
	case opAllocateEach:
		return fmt.Sprintf("AllocateEach(%q)", o.owners)
	case opClaim:
		return fmt.Sprintf("Claim(%s, %q)", o.addr, o.owner)
	case opRelease:
		return fmt.Sprintf("Release(%q)", o.owner)
	}
	return "?"
}

type span struct{ lo, hi int } // inclusive offsets

// scenario is a pool (base, ranges minus reserved) and operations on it.
type scenario struct {
	base     netip.Addr
	span     int // offsets used are < span
	ranges   []span
	reserved []span
	owners   []string // every owner the ops may mention
	ops      []op
}

func (sc scenario) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "base %s, ranges %v, reserved %v, %d ops", sc.base, sc.ranges, sc.reserved, len(sc.ops))
	return b.String()
}

// ipset builds the pool's set the way a caller would.
func (sc scenario) ipset(t testing.TB) *netipx.IPSet {
	var b netipx.IPSetBuilder
	for _, r := range sc.ranges {
		b.AddRange(netipx.IPRangeFrom(addOffset(sc.base, r.lo), addOffset(sc.base, r.hi)))
	}
	for _, r := range sc.reserved {
		if r.lo == r.hi {
			b.Remove(addOffset(sc.base, r.lo))
		} else {
			b.RemoveRange(netipx.IPRangeFrom(addOffset(sc.base, r.lo), addOffset(sc.base, r.hi)))
		}
	}
	return buildSet(t, &b)
}

// ownerNames returns n owners whose lexical order differs from their
// numeric order (Host/server-10 < Host/server-2).
func ownerNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		if i%3 == 2 {
			out[i] = fmt.Sprintf("Machine/db-%d", i)
		} else {
			out[i] = fmt.Sprintf("Host/server-%d", i)
		}
	}
	return out
}

// model is the reference implementation: every allocatable address in a
// sorted slice with its owner ("" = free) beside it, scanned from the start
// on every allocation.
type model struct {
	name    string
	addrs   []netip.Addr
	owner   []string // owner[i] holds addrs[i]; "" if free
	index   map[netip.Addr]int
	byOwner map[string]int
}

func newModel(name string, sc scenario) *model {
	member := make([]bool, sc.span)
	for _, r := range sc.ranges {
		for o := r.lo; o <= r.hi; o++ {
			member[o] = true
		}
	}
	for _, r := range sc.reserved {
		for o := r.lo; o <= r.hi; o++ {
			member[o] = false
		}
	}
	m := &model{name: name, index: make(map[netip.Addr]int), byOwner: make(map[string]int)}
	for o, ok := range member {
		if ok {
			a := addOffset(sc.base, o)
			m.index[a] = len(m.addrs)
			m.addrs = append(m.addrs, a)
		}
	}
	m.owner = make([]string, len(m.addrs))
	return m
}

func (m *model) contains(a netip.Addr) bool {
	_, ok := m.index[a]
	return ok
}

func (m *model) lookup(owner string) (netip.Addr, bool) {
	i, ok := m.byOwner[owner]
	if !ok {
		return netip.Addr{}, false
	}
	return m.addrs[i], true
}

func (m *model) claim(a netip.Addr, owner string) error {
	if owner == "" {
		return &emptyOwnerError{pool: m.name}
	}
	i, ok := m.index[a]
	if !ok {
		return &OutsidePoolError{Pool: m.name, Address: a, Owner: owner}
	}
	if holder := m.owner[i]; holder != "" {
		if holder == owner {
			return nil
		}
		return &AddressTakenError{Pool: m.name, Address: a, Owner: owner, Holder: holder}
	}
	if held, ok := m.lookup(owner); ok {
		return &OwnerHasAddressError{Pool: m.name, Owner: owner, Held: held, Requested: a}
	}
	m.owner[i] = owner
	m.byOwner[owner] = i
	return nil
}

// lowestFree is the index of the lowest free address, or -1.
func (m *model) lowestFree() int {
	for i, o := range m.owner {
		if o == "" {
			return i
		}
	}
	return -1
}

func (m *model) allocate(owner string) (netip.Addr, error) {
	if owner == "" {
		return netip.Addr{}, &emptyOwnerError{pool: m.name}
	}
	if a, ok := m.lookup(owner); ok {
		return a, nil
	}
	i := m.lowestFree()
	if i < 0 {
		return netip.Addr{}, &ExhaustedError{Pool: m.name, Size: uint64(len(m.addrs)), Owner: owner}
	}
	m.owner[i] = owner
	m.byOwner[owner] = i
	return m.addrs[i], nil
}

func (m *model) allocateEach(owners []string) ([]Allocation, []error) {
	sorted := slices.Clone(owners)
	slices.Sort(sorted)
	var made []Allocation
	var errs []error
	for _, o := range sorted {
		if _, held := m.byOwner[o]; held {
			continue
		}
		a, err := m.allocate(o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		made = append(made, Allocation{Address: a, Owner: o})
	}
	slices.SortFunc(made, func(x, y Allocation) int { return x.Address.Compare(y.Address) })
	return made, errs
}

func (m *model) release(owner string) (netip.Addr, bool) {
	i, ok := m.byOwner[owner]
	if !ok {
		return netip.Addr{}, false
	}
	delete(m.byOwner, owner)
	m.owner[i] = ""
	return m.addrs[i], true
}

func (m *model) allocations() []Allocation {
	var out []Allocation
	for i, o := range m.owner { // already in address order
		if o != "" {
			out = append(out, Allocation{Address: m.addrs[i], Owner: o})
		}
	}
	return out
}

// runScenario applies sc to a Pool and to the model, comparing every result
// and checking the invariants after every operation.
func runScenario(t *testing.T, sc scenario) {
	t.Helper()
	p := NewPool("prop", sc.ipset(t))
	m := newModel("prop", sc)

	// The pool's view of the set matches the model's, address by address.
	for o := range sc.span {
		a := addOffset(sc.base, o)
		if got, want := p.Contains(a), m.contains(a); got != want {
			t.Fatalf("%v: Contains(%s) = %t, want %t", sc, a, got, want)
		}
	}
	checkInvariants(t, sc, p, m, -1)

	for i, o := range sc.ops {
		fail := func(what, diff string) {
			t.Helper()
			t.Fatalf("%v\nop %d %v: %s (-model +pool):\n%s", sc, i, o, what, diff)
		}
		switch o.kind {
		case opAllocate:
			_, held := m.byOwner[o.owner]
			lowest := m.lowestFree()
			wantA, wantErr := m.allocate(o.owner)
			gotA, gotErr := p.Allocate(o.owner)
			if diff := cmp.Diff(wantA, gotA, cmpOpts...); diff != "" {
				fail("address", diff)
			}
			if diff := cmp.Diff(wantErr, gotErr, cmpOpts...); diff != "" {
				fail("error", diff)
			}
			// Spelled out although the model implies it: a new
			// allocation is the lowest address that was free.
			if gotErr == nil && !held && gotA != m.addrs[lowest] {
				t.Fatalf("%v\nop %d %v: got %s, lowest free was %s", sc, i, o, gotA, m.addrs[lowest])
			}
		case opAllocateEach:
			wantNew, wantErrs := m.allocateEach(o.owners)
			gotNew, gotErrs := p.AllocateEach(o.owners)
			if diff := cmp.Diff(wantNew, gotNew, cmpOpts...); diff != "" {
				fail("allocations", diff)
			}
			if diff := cmp.Diff(wantErrs, gotErrs, cmpOpts...); diff != "" {
				fail("errors", diff)
			}
		case opClaim:
			wantErr := m.claim(o.addr, o.owner)
			gotErr := p.Claim(o.addr, o.owner)
			if diff := cmp.Diff(wantErr, gotErr, cmpOpts...); diff != "" {
				fail("error", diff)
			}
		case opRelease:
			wantA, wantOK := m.release(o.owner)
			gotA, gotOK := p.Release(o.owner)
			if diff := cmp.Diff(wantA, gotA, cmpOpts...); diff != "" || wantOK != gotOK {
				fail(fmt.Sprintf("address (ok %t, want %t)", gotOK, wantOK), diff)
			}
		}
		// Every result was compared above; the O(pool) invariant check
		// runs after every op of short scenarios, every 10th of long ones.
		if len(sc.ops) <= 300 || i%10 == 0 || i == len(sc.ops)-1 {
			checkInvariants(t, sc, p, m, i)
		}
	}
}

func checkInvariants(t *testing.T, sc scenario, p *Pool, m *model, i int) {
	t.Helper()
	got := p.Allocations()
	seen := make(map[netip.Addr]bool, len(got))
	for _, al := range got {
		if seen[al.Address] {
			t.Fatalf("%v\nafter op %d: duplicate address %s", sc, i, al.Address)
		}
		seen[al.Address] = true
		if !m.contains(al.Address) || !p.Contains(al.Address) {
			t.Fatalf("%v\nafter op %d: %s (held by %s) is not in the allocatable set", sc, i, al.Address, al.Owner)
		}
		if o, ok := p.Owner(al.Address); !ok || o != al.Owner {
			t.Fatalf("%v\nafter op %d: Owner(%s) = %q, %t; want %q", sc, i, al.Address, o, ok, al.Owner)
		}
		if a, ok := p.Lookup(al.Owner); !ok || a != al.Address {
			t.Fatalf("%v\nafter op %d: Lookup(%q) = %s, %t; want %s", sc, i, al.Owner, a, ok, al.Address)
		}
	}
	// slices.Equal first: cmp.Diff on every op is too slow for big pools.
	if want := m.allocations(); !slices.Equal(want, got) {
		t.Fatalf("%v\nafter op %d: Allocations (-model +pool):\n%s", sc, i, cmp.Diff(want, got, cmpOpts...))
	}
	if got, want := p.Size(), uint64(len(m.addrs)); got != want {
		t.Fatalf("%v\nafter op %d: Size() = %d, want %d", sc, i, got, want)
	}
	if got, want := p.Free()+uint64(len(got)), p.Size(); got != want {
		t.Fatalf("%v\nafter op %d: Free()+len(Allocations()) = %d, want Size() = %d", sc, i, got, want)
	}
	for _, o := range sc.owners {
		wantA, wantOK := m.lookup(o)
		if gotA, gotOK := p.Lookup(o); gotA != wantA || gotOK != wantOK {
			t.Fatalf("%v\nafter op %d: Lookup(%q) = %s, %t; want %s, %t", sc, i, o, gotA, gotOK, wantA, wantOK)
		}
	}
}

// otherFamily returns an address of the other family than base, which is
// never allocatable in a scenario pool.
func otherFamily(base netip.Addr) netip.Addr {
	if base.Is4() {
		return netip.MustParseAddr("2001:db8::1")
	}
	return netip.MustParseAddr("10.0.0.1")
}

// randomScenario makes a scenario from r: small dense pools that run out
// (many exhaustion and reuse cases) and larger ones with many holes.
func randomScenario(r *rand.Rand) scenario {
	sc := scenario{base: bases[r.IntN(len(bases))]}
	var maxWidth, nOwners, nOps int
	if r.IntN(8) == 0 {
		sc.span, maxWidth, nOwners, nOps = maxOffset+1, 1500, 50+r.IntN(600), 500+r.IntN(1500)
	} else {
		sc.span, maxWidth, nOwners, nOps = 64, 24, 4+r.IntN(60), 20+r.IntN(300)
	}
	randSpan := func(width int) span {
		lo := r.IntN(sc.span)
		return span{lo: lo, hi: min(lo+r.IntN(width+1), sc.span-1)}
	}
	for range 1 + r.IntN(5) {
		sc.ranges = append(sc.ranges, randSpan(maxWidth))
	}
	for range r.IntN(5) {
		if r.IntN(2) == 0 {
			lo := r.IntN(sc.span)
			sc.reserved = append(sc.reserved, span{lo, lo})
		} else {
			sc.reserved = append(sc.reserved, randSpan(maxWidth/4))
		}
	}
	sc.owners = ownerNames(nOwners)
	owner := func() string {
		if r.IntN(100) == 0 {
			return ""
		}
		return sc.owners[r.IntN(len(sc.owners))]
	}
	m := newModel("prop", sc) // only to aim some claims at interesting addresses
	for range nOps {
		var o op
		switch n := r.IntN(100); {
		case n < 45:
			o = op{kind: opAllocate, owner: owner()}
		case n < 55:
			o = op{kind: opAllocateEach}
			for range 1 + r.IntN(8) {
				o.owners = append(o.owners, owner())
			}
		case n < 70:
			o = op{kind: opClaim, owner: owner()}
			switch k := r.IntN(20); {
			case k == 0:
				o.addr = netip.Addr{}
			case k == 1:
				o.addr = otherFamily(sc.base)
			case k == 2 && sc.base.Is6():
				o.addr = sc.base.WithZone("eth0")
			case k < 8 && len(m.addrs) > 0:
				o.addr = m.addrs[r.IntN(len(m.addrs))] // allocatable, maybe taken
			default:
				o.addr = addOffset(sc.base, r.IntN(sc.span)) // maybe outside or reserved
			}
		default:
			o = op{kind: opRelease, owner: owner()}
		}
		sc.ops = append(sc.ops, o)
	}
	return sc
}

func TestPoolProperties(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 50
	}
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 0x6d6574616c676974)) // "metalgit"
		sc := randomScenario(r)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			runScenario(t, sc)
		})
	}
}

// byteReader hands out fuzz bytes, then zeros.
type byteReader struct{ data []byte }

func (r *byteReader) next() int {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return int(b)
}

// scenarioFromBytes decodes a small pool (a few ranges inside a /24 minus a
// few reserved) and up to 256 operations from fuzz input.
func scenarioFromBytes(data []byte) scenario {
	r := &byteReader{data}
	sc := scenario{base: bases[r.next()%len(bases)], span: 256}
	for range 1 + r.next()%4 {
		lo := r.next()
		sc.ranges = append(sc.ranges, span{lo, min(lo+r.next()%48, 255)})
	}
	for range r.next() % 4 {
		lo := r.next()
		sc.reserved = append(sc.reserved, span{lo, min(lo+r.next()%8, 255)})
	}
	sc.owners = ownerNames(24)
	owner := func(b int) string {
		if b%(len(sc.owners)+1) == len(sc.owners) {
			return ""
		}
		return sc.owners[b%(len(sc.owners)+1)]
	}
	for len(r.data) >= 2 && len(sc.ops) < 256 {
		k, x := r.next(), r.next()
		switch k % 8 {
		case 0, 1, 2:
			sc.ops = append(sc.ops, op{kind: opAllocate, owner: owner(x)})
		case 3:
			o := op{kind: opAllocateEach, owners: []string{owner(x)}}
			for range (k >> 3) % 6 {
				o.owners = append(o.owners, owner(r.next()))
			}
			sc.ops = append(sc.ops, o)
		case 4, 5:
			o := op{kind: opClaim, owner: owner(x)}
			switch y := r.next(); (k >> 3) % 16 {
			case 0:
				o.addr = netip.Addr{}
			case 1:
				o.addr = otherFamily(sc.base)
			case 2:
				o.addr = addOffset(sc.base, y).WithZone("eth0") // no-op zone for IPv4
			default:
				o.addr = addOffset(sc.base, y)
			}
			sc.ops = append(sc.ops, o)
		default:
			sc.ops = append(sc.ops, op{kind: opRelease, owner: owner(x)})
		}
	}
	return sc
}

func FuzzPool(f *testing.F) {
	// base, ranges, reserved, then (kind, owner[, extra]) pairs.
	f.Add([]byte{0, 0, 2, 20, 0})
	f.Add([]byte{0, 1, 2, 10, 10, 40, 1, 5, 3, 0, 1, 0, 2, 0, 3, 6, 1, 0, 4, 0, 5})
	f.Add([]byte{3, 3, 250, 47, 0, 7, 100, 20, 2, 250, 3, 10, 7,
		0, 0, 0, 1, 4, 2, 251, 6, 0, 0, 3, 43, 1, 2, 3, 4, 5, 6, 0, 9, 7, 2, 0, 2})
	f.Add([]byte{2, 1, 0, 47, 1, 40, 0,
		4, 1, 40, 0, 1, 0, 2, 0, 3, 6, 0, 0, 4, 0, 5, 0, 6, 0, 7, 6, 2, 6, 1, 0, 8, 0, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		runScenario(t, scenarioFromBytes(data))
	})
}
