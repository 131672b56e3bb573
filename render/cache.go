package render

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net/netip"
	"sync"

	"github.com/metalgit/metalgit/schemas"
)

// Cache keeps what earlier renders built, so that rendering again after a
// few hosts changed redoes only the work for what changed: the objects of
// each host whose inputs did not change (see hostObjects); without an
// output kustomization, the YAML of each generated object; with one, the
// kustomize build of each part (see build), keyed by the part's objects and
// the output kustomization's files. A hit gives the bytes a build without
// the cache would give; TestRenderCacheGolden checks it on every golden
// case.
//
// A Cache holds only what the last successful render used: entries an
// earlier render made and the last one did not use are dropped, so it
// stays the size of one render's output. It suits the renders of one
// reconciler, one after another; concurrent renders may share it safely,
// but evict each other's entries when their inputs differ.
//
// The zero Cache is empty and ready to use; a Cache must not be copied
// after first use.
//
// A kustomization that builds differently for the same files (remote
// resources, Helm charts fetched by version range, exec plugins) is built
// again only for the parts whose objects changed: use no Cache with such
// a kustomization.
type Cache struct {
	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry
	gen     uint64 // the render in progress, or the last one
	hits    int    // of the last render
	misses  int
	hosts   *hostObjects // of the last successful render
	reused  int          // hosts reused by the last render
}

// hostObjects are the objects generate built for each host in one
// render, keyed by the content they were built from: the inventory's
// objects other than the hosts (world, their schemas.Inventory.WorldDigest)
// and, per host, its hostKey. Objects without digests (an inventory made
// in Go) are never kept.
type hostObjects struct {
	world schemas.Digest
	hosts map[string]hostMemo // by host name
}

// hostKey is what a host's objects are built from besides the world.
type hostKey struct {
	host        schemas.Digest // the Host's (schemas.Source.Digest)
	machine     string         // the bound machine; "" for none
	hostAddr    netip.Addr     // the provisioning lease
	machineAddr netip.Addr     // the machine's address in its own pool, if any
}

type hostMemo struct {
	key  hostKey
	objs []object // shared, never modified
}

// lookup returns the memo of the host name when it has key.
func (m *hostObjects) lookup(name string, key hostKey) (hostMemo, bool) {
	if m == nil || key.host == (schemas.Digest{}) {
		return hostMemo{}, false
	}
	e, ok := m.hosts[name]
	return e, ok && e.key == key
}

// hostObjects returns the host objects of the last render, when it had
// the same world as inv (else none), and an empty set for this render to
// fill; both are nil without a cache or when inv's world has no digest.
func (c *Cache) hostObjects(inv *schemas.Inventory) (memo, next *hostObjects) {
	if c == nil {
		return nil, nil
	}
	world, ok := inv.WorldDigest()
	if !ok {
		return nil, nil
	}
	next = &hostObjects{world: world, hosts: make(map[string]hostMemo, len(inv.Hosts))}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hosts != nil && c.hosts.world == world {
		memo = c.hosts
	}
	return memo, next
}

// keepHostObjects keeps the host objects of a render that generated
// every object, reused of them from the render before.
func (c *Cache) keepHostObjects(next *hostObjects, reused int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hosts, c.reused = next, reused
}

// cacheKey is the SHA-256 of what an entry was built from.
type cacheKey [sha256.Size]byte

type cacheEntry struct {
	out []rendered // shared, never modified
	gen uint64     // the last render that used it
}

// CacheStats describes the last render that used a Cache.
type CacheStats struct {
	// Hits and Misses count the objects (without an output kustomization)
	// or parts (with one) found and built.
	Hits, Misses int
	// Entries is the number held.
	Entries int
	// ReusedHosts counts the hosts whose objects were taken from the
	// render before: same host, world and addresses, by content.
	ReusedHosts int
}

// Stats returns the counts of the last render.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Hits: c.hits, Misses: c.misses, Entries: len(c.entries), ReusedHosts: c.reused}
}

// begin starts a render and returns its generation.
func (c *Cache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.hits, c.misses = 0, 0
	return c.gen
}

// get returns the entry for key and marks it used by render gen.
func (c *Cache) get(gen uint64, key cacheKey) ([]rendered, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		c.misses++
		return nil, false
	}
	c.hits++
	e.gen = max(e.gen, gen)
	return e.out, true
}

// put stores what render gen built for key; out must not change after.
func (c *Cache) put(gen uint64, key cacheKey, out []rendered) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[cacheKey]*cacheEntry{}
	}
	c.entries[key] = &cacheEntry{out: out, gen: gen}
}

// end drops the entries render gen did not use, after it succeeded.
func (c *Cache) end(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.gen < gen {
			delete(c.entries, k)
		}
	}
}

// keyHasher builds cache keys. Every field is written with its length, so
// that different inputs never write the same bytes.
type keyHasher struct {
	h   hash.Hash
	buf [binary.MaxVarintLen64]byte
}

func newKeyHasher() *keyHasher { return &keyHasher{h: sha256.New()} }

// field writes one length-prefixed field.
func (k *keyHasher) field(b []byte) {
	n := binary.PutUvarint(k.buf[:], uint64(len(b)))
	k.h.Write(k.buf[:n])
	k.h.Write(b)
}

func (k *keyHasher) str(s string) { k.field([]byte(s)) }

// object writes an object's kind, name and data, or its content key when
// it has one (the same for the same kind, name and data).
func (k *keyHasher) object(o object) {
	if o.keyed {
		k.str("k")
		k.field(o.key[:])
		return
	}
	k.str("d")
	k.str(o.kind)
	k.str(o.name)
	k.field(o.data)
}

// objectKey is the content key of an object's kind, name and data.
func objectKey(kh *keyHasher, o object) cacheKey {
	kh.str("object")
	kh.str(o.kind)
	kh.str(o.name)
	kh.field(o.data)
	return kh.sum()
}

// sum returns the key and resets the hasher.
func (k *keyHasher) sum() cacheKey {
	var key cacheKey
	k.h.Sum(key[:0])
	k.h.Reset()
	return key
}
