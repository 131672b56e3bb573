// Package ipam allocates addresses from pools: lowest free first, existing
// allocations never move, release frees for reuse.
//
// The caller computes each pool's allocatable set as a *netipx.IPSet (for a
// CIDR pool the subnet minus network, gateway and broadcast; for a range pool
// every address of every range; in both cases minus reserved addresses) and
// ipam only ever hands out addresses inside that set. Existing allocations
// read from the state files are recorded with [Pool.Claim]; new ones are made
// with [Pool.Allocate] or [Pool.AllocateEach]. An owner is a string of the form
// "<Kind>/<name>" (schemas.ObjectRef, for example "Host/server-01") and holds
// at most one address per pool.
//
// Nothing assumes IPv4: sizes are counted exactly and reported saturated at
// math.MaxUint64, and allocation never enumerates the allocatable set, so an
// IPv6 /64 pool works as well as a /24.
//
// The package is pure computation: no I/O and no global state. A Pool is not
// safe for concurrent use.
package ipam

import (
	"math"
	"math/bits"
	"net/netip"
	"slices"

	"go4.org/netipx"
)

// Allocation is one address held by one owner.
type Allocation struct {
	Address netip.Addr
	Owner   string // "<Kind>/<name>", e.g. "Host/server-01"
}

// Pool allocates addresses from one allocatable set. Create pools with
// NewPool; the zero Pool is not usable.
//
// Allocation is lowest free address first. Internally the pool keeps a
// frontier that walks the allocatable ranges forward only: every allocatable
// address below it is either in use or a hole left by Release, and holes are
// kept in a min-heap. Allocate therefore costs amortised O(log n) and never
// rescans the pool from its start, nor keeps per-address state for addresses
// nobody holds.
type Pool struct {
	name   string
	set    *netipx.IPSet
	ranges []netipx.IPRange
	total  uint128 // exact number of allocatable addresses (saturating at 2^128-1)

	byAddr  map[netip.Addr]string
	byOwner map[string]netip.Addr

	// next is the index into ranges of the frontier; frontier is only
	// meaningful while next < len(ranges). Every allocatable address below
	// the frontier is either in byAddr or in holes.
	next     int
	frontier netip.Addr
	// holes holds the addresses released below the frontier. It may contain
	// stale entries (addresses claimed again since, or duplicates); they are
	// discarded lazily when they reach the top.
	holes addrHeap
}

// NewPool returns an empty pool named name that allocates from allocatable.
// A nil set is treated as empty. The set is not modified.
func NewPool(name string, allocatable *netipx.IPSet) *Pool {
	if allocatable == nil {
		allocatable = &netipx.IPSet{}
	}
	p := &Pool{
		name:    name,
		set:     allocatable,
		ranges:  allocatable.Ranges(),
		byAddr:  make(map[netip.Addr]string),
		byOwner: make(map[string]netip.Addr),
	}
	for _, r := range p.ranges {
		p.total = p.total.addSat(rangeSize(r))
	}
	if len(p.ranges) > 0 {
		p.frontier = p.ranges[0].From()
	}
	return p
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// Size returns the number of allocatable addresses, saturated at
// math.MaxUint64.
func (p *Pool) Size() uint64 { return p.total.sat64() }

// Free returns the number of allocatable addresses nobody holds, saturated at
// math.MaxUint64. Unless Size saturates, Free() + len(Allocations()) == Size().
func (p *Pool) Free() uint64 {
	return p.total.sub(uint128{lo: uint64(len(p.byAddr))}).sat64()
}

// Contains reports whether a is in the pool's allocatable set.
func (p *Pool) Contains(a netip.Addr) bool { return p.set.Contains(a) }

// Claim records that owner holds a, as read from the state files. It never
// moves anything: on error the pool is unchanged. Claiming an address the
// owner already holds is a no-op.
//
// Errors: [*OutsidePoolError] (errors.Is [ErrOutsidePool]) if a is not
// allocatable, [*AddressTakenError] if another owner holds a,
// [*OwnerHasAddressError] if owner already holds a different address, and
// [ErrEmptyOwner] for an empty owner.
func (p *Pool) Claim(a netip.Addr, owner string) error {
	if owner == "" {
		return &emptyOwnerError{pool: p.name}
	}
	if !p.Contains(a) {
		return &OutsidePoolError{Pool: p.name, Address: a, Owner: owner}
	}
	if holder, ok := p.byAddr[a]; ok {
		if holder == owner {
			return nil
		}
		return &AddressTakenError{Pool: p.name, Address: a, Owner: owner, Holder: holder}
	}
	if held, ok := p.byOwner[owner]; ok {
		return &OwnerHasAddressError{Pool: p.name, Owner: owner, Held: held, Requested: a}
	}
	// If a lies below the frontier it is a hole in the heap; that entry is
	// now stale and gets dropped when it reaches the top.
	p.byAddr[a] = owner
	p.byOwner[owner] = a
	return nil
}

// Allocate gives owner an address. If owner already holds one, that one is
// returned (Allocate is idempotent); otherwise owner gets the lowest free
// address. If none is free it returns [*ExhaustedError] and changes nothing.
// An empty owner is rejected with [ErrEmptyOwner].
func (p *Pool) Allocate(owner string) (netip.Addr, error) {
	if owner == "" {
		return netip.Addr{}, &emptyOwnerError{pool: p.name}
	}
	if a, ok := p.byOwner[owner]; ok {
		return a, nil
	}
	a, ok := p.lowestFree()
	if !ok {
		return netip.Addr{}, &ExhaustedError{Pool: p.name, Size: p.Size(), Owner: owner}
	}
	// No bookkeeping for the heap or frontier: a is now used, so it is
	// skipped (and passed) by the next lowestFree.
	p.byAddr[a] = owner
	p.byOwner[owner] = a
	return a, nil
}

// AllocateEach allocates for every owner that does not hold an address yet,
// serving owners in lexical order of the owner string (so "Host/server-10"
// comes before "Host/server-2") regardless of the order given. It carries on
// after errors. It returns the allocations it made (not those owners already
// held), sorted by address, and the errors in serving order; either is nil
// when empty. owners is not modified.
func (p *Pool) AllocateEach(owners []string) ([]Allocation, []error) {
	sorted := slices.Clone(owners)
	slices.Sort(sorted)
	var (
		made []Allocation
		errs []error
	)
	for _, owner := range sorted {
		if _, held := p.byOwner[owner]; held {
			continue // already held, or a duplicate in owners
		}
		a, err := p.Allocate(owner)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		made = append(made, Allocation{Address: a, Owner: owner})
	}
	slices.SortFunc(made, compareAllocations)
	return made, errs
}

// Release frees owner's address and returns it; a later Allocate may reuse
// it (lowest free first). It reports false if owner holds nothing.
func (p *Pool) Release(owner string) (netip.Addr, bool) {
	a, ok := p.byOwner[owner]
	if !ok {
		return netip.Addr{}, false
	}
	delete(p.byOwner, owner)
	delete(p.byAddr, a)
	if p.next >= len(p.ranges) || a.Less(p.frontier) {
		p.holes.push(a)
	}
	return a, true
}

// Lookup returns the address owner holds.
func (p *Pool) Lookup(owner string) (netip.Addr, bool) {
	a, ok := p.byOwner[owner]
	return a, ok
}

// Owner returns the owner holding a.
func (p *Pool) Owner(a netip.Addr) (string, bool) {
	o, ok := p.byAddr[a]
	return o, ok
}

// Allocations returns every allocation in the pool, sorted by address; nil
// if there are none.
func (p *Pool) Allocations() []Allocation {
	if len(p.byAddr) == 0 {
		return nil
	}
	out := make([]Allocation, 0, len(p.byAddr))
	for a, o := range p.byAddr {
		out = append(out, Allocation{Address: a, Owner: o})
	}
	slices.SortFunc(out, compareAllocations)
	return out
}

// lowestFree returns the lowest allocatable address nobody holds, dropping
// stale holes and moving the frontier past used addresses as it goes.
func (p *Pool) lowestFree() (netip.Addr, bool) {
	// Every hole is below the frontier, so a live hole beats the frontier.
	for len(p.holes) > 0 {
		a := p.holes[0]
		if _, used := p.byAddr[a]; !used {
			return a, true
		}
		p.holes.pop()
	}
	for p.next < len(p.ranges) {
		if _, used := p.byAddr[p.frontier]; !used {
			return p.frontier, true
		}
		p.advance()
	}
	return netip.Addr{}, false
}

// advance moves the frontier to the next allocatable address, crossing into
// the next range at the end of one (never calling Next past the top of the
// address space).
func (p *Pool) advance() {
	if p.frontier == p.ranges[p.next].To() {
		p.next++
		if p.next < len(p.ranges) {
			p.frontier = p.ranges[p.next].From()
		}
		return
	}
	p.frontier = p.frontier.Next()
}

func compareAllocations(x, y Allocation) int {
	if c := x.Address.Compare(y.Address); c != 0 {
		return c
	}
	if x.Owner < y.Owner {
		return -1
	}
	if x.Owner > y.Owner {
		return 1
	}
	return 0
}

// addrHeap is a binary min-heap of addresses. Hand-written instead of
// container/heap to avoid boxing every netip.Addr in an interface.
type addrHeap []netip.Addr

func (h *addrHeap) push(a netip.Addr) {
	*h = append(*h, a)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s[i].Less(s[parent]) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *addrHeap) pop() {
	s := *h
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		least := i
		if l := 2*i + 1; l < n && s[l].Less(s[least]) {
			least = l
		}
		if r := 2*i + 2; r < n && s[r].Less(s[least]) {
			least = r
		}
		if least == i {
			break
		}
		s[i], s[least] = s[least], s[i]
		i = least
	}
	*h = s
}

// uint128 is an unsigned 128-bit count, enough to size any IPv6 set exactly
// (the full space, 2^128, saturates at 2^128-1, which still saturates to
// math.MaxUint64).
type uint128 struct{ hi, lo uint64 }

func u128From16(b [16]byte) uint128 {
	var u uint128
	for i := range 8 {
		u.hi = u.hi<<8 | uint64(b[i])
		u.lo = u.lo<<8 | uint64(b[8+i])
	}
	return u
}

var maxUint128 = uint128{hi: math.MaxUint64, lo: math.MaxUint64}

func (u uint128) addSat(v uint128) uint128 {
	lo, c := bits.Add64(u.lo, v.lo, 0)
	hi, c := bits.Add64(u.hi, v.hi, c)
	if c != 0 {
		return maxUint128
	}
	return uint128{hi: hi, lo: lo}
}

// sub returns u-v; callers guarantee v <= u.
func (u uint128) sub(v uint128) uint128 {
	lo, b := bits.Sub64(u.lo, v.lo, 0)
	hi, _ := bits.Sub64(u.hi, v.hi, b)
	return uint128{hi: hi, lo: lo}
}

func (u uint128) sat64() uint64 {
	if u.hi != 0 {
		return math.MaxUint64
	}
	return u.lo
}

// rangeSize returns the number of addresses in r (To-From+1), saturating.
func rangeSize(r netipx.IPRange) uint128 {
	return u128From16(r.To().As16()).sub(u128From16(r.From().As16())).addSat(uint128{lo: 1})
}
