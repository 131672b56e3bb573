package schemas

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
)

// Digest names the content an inventory object was decoded from: its
// file's name and content and its place in the file (or, for an object a
// kustomization built, the built document). Objects with the same digest
// decode to the same value, whoever loaded them; the zero Digest names
// nothing (an object made in Go). The caches that key by it (this
// package's ValidateCache, render's Cache) take an object as the content
// it was decoded from: to change an inventory, change its files and load
// them again, as a reconciler pass does.
type Digest [sha256.Size]byte

// Digest returns the digest of the content the object was decoded from.
func (s Source) Digest() Digest { return s.digest }

// documentDigest is the digest of document index of file name, whose
// content has the SHA-256 fileSum.
func documentDigest(name string, fileSum [sha256.Size]byte, index int) Digest {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write([]byte("file\x00"))
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(name)))])
	h.Write([]byte(name))
	h.Write(fileSum[:])
	h.Write(n[:binary.PutVarint(n[:], int64(index))])
	var d Digest
	h.Sum(d[:0])
	return d
}

// builtDigest is the digest of a document a kustomization built.
func builtDigest(doc []byte) Digest {
	h := sha256.New()
	h.Write([]byte("built\x00"))
	h.Write(doc)
	var d Digest
	h.Sum(d[:0])
	return d
}

// WorldDigest names the inventory's objects other than the hosts, in
// order: two inventories with the same WorldDigest have the same sites,
// pools, node types, machine sets, machines, images, SSH keys and
// Secrets, so what is built from a host and its world can be kept by the
// digests of both. ok is false when an object has no digest.
func (inv *Inventory) WorldDigest() (d Digest, ok bool) {
	h := sha256.New()
	ok = true
	ok = digestKind(h, KindSite, inv.Sites, func(o *Site) Source { return o.Source }) && ok
	ok = digestKind(h, KindIPPool, inv.IPPools, func(o *IPPool) Source { return o.Source }) && ok
	ok = digestKind(h, KindNodeType, inv.NodeTypes, func(o *NodeType) Source { return o.Source }) && ok
	ok = digestKind(h, KindMachineSet, inv.MachineSets, func(o *MachineSet) Source { return o.Source }) && ok
	ok = digestKind(h, KindMachine, inv.Machines, func(o *Machine) Source { return o.Source }) && ok
	ok = digestKind(h, KindOSImage, inv.OSImages, func(o *OSImage) Source { return o.Source }) && ok
	ok = digestKind(h, KindSSHKey, inv.SSHKeys, func(o *SSHKey) Source { return o.Source }) && ok
	ok = digestKind(h, KindSecret, inv.Secrets, func(o *Secret) Source { return o.Source }) && ok
	h.Sum(d[:0])
	return d, ok
}

// digestKind writes the kind and its objects' digests; false when one has
// none.
func digestKind[T any](h hash.Hash, kind string, objs []*T, src func(*T) Source) bool {
	var n [binary.MaxVarintLen64]byte
	h.Write([]byte(kind))
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(objs)))])
	ok := true
	for _, o := range objs {
		d := src(o).digest
		ok = ok && d != Digest{}
		h.Write(d[:])
	}
	return ok
}

// ValidateCache remembers, between the validations of successive loads
// of one inventory, the hosts that had no problem at all, so that validating again runs a host's own checks (its
// name, fields, interfaces and the pools they name) only for the hosts
// that are new, changed or had problems; the checks across hosts
// (duplicate names and MAC addresses, addresses) run for every host. It
// keeps hosts by their Digest, and only while the inventory's other
// objects are the same (WorldDigest), since a host's checks read them.
//
// The zero ValidateCache is empty and ready to use. It is safe for
// concurrent use; concurrent validations of different inventories evict
// each other's hosts.
type ValidateCache struct {
	mu    sync.Mutex
	world Digest
	clean map[Digest]bool
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
func (c *ValidateCache) cleanHosts(world Digest) map[Digest]bool {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.world != world {
		return nil
	}
	return c.clean
}

// keep records the hosts of this validation that had no problem.
func (c *ValidateCache) keep(world Digest, clean map[Digest]bool, checked int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.world, c.clean, c.checked = world, clean, checked
}
