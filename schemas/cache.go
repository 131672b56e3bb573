package schemas

import (
	"sync"
)

// ParseCache keeps the parsed documents and problems of each file a plain
// directory Load read, keyed by the file's path and the SHA-256 of its
// content (or the key LoadOptions.ContentKey gave it), so that the next
// Load with the same cache parses only the files that were added or whose
// content changed. After each Load it holds
// only the files that Load read, so it stays the size of one inventory.
//
// The objects of a load that used a ParseCache are shared with the cache
// and with later loads: treat them as read-only. Inventories loaded from
// a kustomization do not use the cache.
//
// A ParseCache suits the successive loads of one inventory. It is safe for
// concurrent use, but concurrent loads of different roots evict each
// other's entries. The zero ParseCache is empty and ready to use; a
// ParseCache must not be copied after first use.
type ParseCache struct {
	mu      sync.Mutex
	entries map[string]*parsedFile
	hits    int // of the last load
	misses  int
	read    int
}

// parsedFile is what loadFile made of one file's content. It is shared
// between loads and never modified once stored.
type parsedFile struct {
	key      string // "sha256:" and the content's sum, or "key:" and its ContentKey
	inv      *Inventory
	problems Problems
	docs     int
	size     int64 // bytes of the file
}

// ParseCacheStats describes the last load that used a ParseCache.
type ParseCacheStats struct {
	// Hits counts the files reused, Misses those parsed.
	Hits, Misses int
	// Read counts the files read: every file, but for the hits whose
	// LoadOptions.ContentKey the cache held.
	Read int
	// Entries is the number of files held.
	Entries int
}

// Stats returns the counts of the last load.
func (c *ParseCache) Stats() ParseCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ParseCacheStats{Hits: c.hits, Misses: c.misses, Read: c.read, Entries: len(c.entries)}
}

// get returns the parsed content of the file at path when its content
// still has the key, or nil.
func (c *ParseCache) get(path, key string) *parsedFile {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[path]; e != nil && e.key == key {
		c.hits++
		return e
	}
	c.misses++
	return nil
}

// put stores the parsed content of the file at path.
func (c *ParseCache) put(path string, p *parsedFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*parsedFile{}
	}
	c.entries[path] = p
}

// start resets the counts for a new load.
func (c *ParseCache) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hits, c.misses, c.read = 0, 0, 0
}

// noteRead counts a file read.
func (c *ParseCache) noteRead() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read++
}

// retain drops the entries of every file not in files.
func (c *ParseCache) retain(files []string) {
	keep := make(map[string]bool, len(files))
	for _, f := range files {
		keep[f] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for path := range c.entries {
		if !keep[path] {
			delete(c.entries, path)
		}
	}
}
