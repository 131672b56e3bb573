package schemas

import (
	"slices"
	"sync"
)

// World lists the identities of the inventory's objects other than the
// hosts, in order, each kind after its name. Two loads with the same
// ParseCache give equal worlds when none of those objects' files changed
// (the cache hands out the same read-only objects): what is built from a
// host and its world can be kept by the identities of both.
func (inv *Inventory) World() []any {
	var world []any
	world = appendKind(world, KindSite, inv.Sites)
	world = appendKind(world, KindIPPool, inv.IPPools)
	world = appendKind(world, KindNodeType, inv.NodeTypes)
	world = appendKind(world, KindMachineSet, inv.MachineSets)
	world = appendKind(world, KindMachine, inv.Machines)
	world = appendKind(world, KindOSImage, inv.OSImages)
	world = appendKind(world, KindSSHKey, inv.SSHKeys)
	return appendKind(world, KindSecret, inv.Secrets)
}

func appendKind[T any](world []any, kind string, objs []*T) []any {
	world = append(world, kind)
	for _, o := range objs {
		world = append(world, o)
	}
	return world
}

// ValidateCache remembers, between the validations of successive loads
// of one inventory (with one ParseCache, which hands out the same
// read-only object for a file that did not change), the hosts that had no
// problem at all, so that validating again runs a host's own checks (its
// name, fields, interfaces and the pools they name) only for the hosts
// that are new, changed or had problems; the checks across hosts
// (duplicate names and MAC addresses, addresses) run for every host. It
// keeps hosts by identity, and only while the inventory's other objects
// (World) are the same ones, since a host's checks read them.
//
// The zero ValidateCache is empty and ready to use. It is safe for
// concurrent use; concurrent validations of different inventories evict
// each other's hosts.
type ValidateCache struct {
	mu    sync.Mutex
	world []any
	clean map[*Host]bool
	// checked counts the hosts whose own checks the last validation ran.
	checked int
}

// Checked returns how many hosts the last validation with the cache
// checked in full; the others were taken as checked before.
func (c *ValidateCache) Checked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked
}

// cleanHosts returns the hosts found clean by the last validation of an
// inventory with the same world, or nil.
func (c *ValidateCache) cleanHosts(world []any) map[*Host]bool {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Equal(c.world, world) {
		return nil
	}
	return c.clean
}

// keep records the hosts of this validation that had no problem.
func (c *ValidateCache) keep(world []any, clean map[*Host]bool, checked int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.world, c.clean, c.checked = world, clean, checked
}
