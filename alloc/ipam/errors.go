package ipam

import (
	"errors"
	"fmt"
	"net/netip"
)

// Sentinel errors. Every error this package returns wraps exactly one of
// them, so callers can test the kind with errors.Is and get the details with
// errors.As on the matching typed error.
var (
	// ErrOutsidePool: the address is not in the pool's allocatable set
	// (outside the subnet or ranges, or a network, gateway, broadcast or
	// reserved address). Returned as *OutsidePoolError.
	ErrOutsidePool = errors.New("address is not allocatable in pool")
	// ErrAddressTaken: another owner holds the address. Returned as
	// *AddressTakenError.
	ErrAddressTaken = errors.New("address is already held")
	// ErrOwnerHasAddress: the owner already holds a different address in the
	// pool. Returned as *OwnerHasAddressError.
	ErrOwnerHasAddress = errors.New("owner already holds an address")
	// ErrExhausted: no free address is left. Returned as *ExhaustedError.
	ErrExhausted = errors.New("pool is exhausted")
	// ErrEmptyOwner: the owner string is empty.
	ErrEmptyOwner = errors.New("owner is empty")
)

// OutsidePoolError reports a claim of an address that is not allocatable in
// the pool. It wraps [ErrOutsidePool].
type OutsidePoolError struct {
	Pool    string
	Address netip.Addr
	Owner   string // who tried to claim it
}

func (e *OutsidePoolError) Error() string {
	return fmt.Sprintf("address %s is not allocatable in pool %s", e.Address, e.Pool)
}

func (e *OutsidePoolError) Unwrap() error { return ErrOutsidePool }

// AddressTakenError reports a claim of an address another owner holds. It
// wraps [ErrAddressTaken].
type AddressTakenError struct {
	Pool    string
	Address netip.Addr
	Owner   string // who asked for Address
	Holder  string // who holds it
}

func (e *AddressTakenError) Error() string {
	return fmt.Sprintf("%s in pool %s is held by %s, cannot also give it to %s",
		e.Address, e.Pool, e.Holder, e.Owner)
}

func (e *AddressTakenError) Unwrap() error { return ErrAddressTaken }

// OwnerHasAddressError reports a claim by an owner that already holds a
// different address in the pool: an owner holds at most one address per
// pool. It wraps [ErrOwnerHasAddress].
type OwnerHasAddressError struct {
	Pool      string
	Owner     string
	Held      netip.Addr // what Owner holds
	Requested netip.Addr // what Owner asked for
}

func (e *OwnerHasAddressError) Error() string {
	return fmt.Sprintf("%s already holds %s in pool %s, cannot also give it %s",
		e.Owner, e.Held, e.Pool, e.Requested)
}

func (e *OwnerHasAddressError) Unwrap() error { return ErrOwnerHasAddress }

// ExhaustedError reports that no free address was left for Owner. Nothing
// else in the pool changed. It wraps [ErrExhausted].
type ExhaustedError struct {
	Pool  string
	Size  uint64 // allocatable addresses in the pool (saturating)
	Owner string
}

func (e *ExhaustedError) Error() string {
	unit := "addresses"
	if e.Size == 1 {
		unit = "address"
	}
	return fmt.Sprintf("pool %s (%d %s) is exhausted: no free address for %s",
		e.Pool, e.Size, unit, e.Owner)
}

func (e *ExhaustedError) Unwrap() error { return ErrExhausted }

// emptyOwnerError adds the pool name to ErrEmptyOwner.
type emptyOwnerError struct{ pool string }

func (e *emptyOwnerError) Error() string {
	return fmt.Sprintf("empty owner in pool %s", e.pool)
}

func (e *emptyOwnerError) Unwrap() error { return ErrEmptyOwner }
