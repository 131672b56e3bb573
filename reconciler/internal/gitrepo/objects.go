package gitrepo

import (
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
)

// maxMemObjects bounds the bytes of the objects a working clone keeps in
// memory; past it, the clone is replaced by a fresh one at the next pass.
const maxMemObjects = 64 << 20

// memObjects is the working clone's storage: the clone's own on disk for
// references, configuration and the objects the clone fetched, and memory
// for every object written since, fetched or committed. A clone fetches
// and commits a few objects at every pass, and writing each into the
// object directory costs a file (or a packfile and its index) whose
// creation, on a busy disk, costs more than everything else the pass
// does with it. The working clone is a cache of the remote: nothing in
// memory needs keeping beyond it.
//
// It embeds the disk storage as a storage.Storer, so that go-git finds
// no storer.PackfileWriter and fetches through SetEncodedObject.
type memObjects struct {
	storage.Storer

	limit int64 // maxMemObjects

	mu    sync.RWMutex
	objs  map[plumbing.Hash]plumbing.EncodedObject
	bytes int64
}

func newMemObjects(disk storage.Storer) *memObjects {
	return &memObjects{Storer: disk, limit: maxMemObjects, objs: map[plumbing.Hash]plumbing.EncodedObject{}}
}

// full reports whether the objects in memory have outgrown their limit.
func (m *memObjects) full() bool {
	if m == nil {
		return false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.bytes > m.limit
}

func (m *memObjects) SetEncodedObject(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	h := obj.Hash()
	if m.Storer.HasEncodedObject(h) == nil {
		return h, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[h]; !ok {
		m.objs[h] = obj
		m.bytes += obj.Size()
	}
	return h, nil
}

func (m *memObjects) mem(h plumbing.Hash) (plumbing.EncodedObject, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	obj, ok := m.objs[h]
	return obj, ok
}

func (m *memObjects) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if obj, ok := m.mem(h); ok {
		if t != plumbing.AnyObject && obj.Type() != t {
			return nil, plumbing.ErrObjectNotFound
		}
		return obj, nil
	}
	return m.Storer.EncodedObject(t, h)
}

func (m *memObjects) HasEncodedObject(h plumbing.Hash) error {
	if _, ok := m.mem(h); ok {
		return nil
	}
	return m.Storer.HasEncodedObject(h)
}

func (m *memObjects) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	if obj, ok := m.mem(h); ok {
		return obj.Size(), nil
	}
	return m.Storer.EncodedObjectSize(h)
}

func (m *memObjects) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	disk, err := m.Storer.IterEncodedObjects(t)
	if err != nil {
		return nil, err
	}
	m.mu.RLock()
	var objs []plumbing.EncodedObject
	for _, obj := range m.objs {
		if t == plumbing.AnyObject || obj.Type() == t {
			objs = append(objs, obj)
		}
	}
	m.mu.RUnlock()
	return storer.NewMultiEncodedObjectIter([]storer.EncodedObjectIter{disk, storer.NewEncodedObjectSliceIter(objs)}), nil
}
