package reconciler

import (
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/schemas"
)

// memoKey names what a pass computes from, by the Git hashes it has
// anyway: the inventory (every file of the commit outside the state
// directory, gitrepo.Repo.KeyWithout) and the state directory's tree.
// Two commits with the same key load the same inventory and state, plan
// the same and render the same, whoever made them.
type memoKey struct {
	inventory string
	state     plumbing.Hash // zero: no state directory
	// deleting lists, comma-separated and sorted, the hosts that left the
	// inventory and whose BareMetalHosts the cluster still holds: their
	// addresses wait (alloc.StatusWaiting), so the plan depends on it.
	deleting string
	// deprovisioning lists, the same way, the hosts of bindings whose
	// machine is no longer requested and whose BareMetalHosts still hold
	// its image: binding and address wait (alloc.Options.Deprovisioning).
	deprovisioning string
}

// allocOptions is the plan's view of what the key says of the cluster.
func (k memoKey) allocOptions() alloc.Options {
	return alloc.Options{Deleting: hostSet(k.deleting), Deprovisioning: hostSet(k.deprovisioning)}
}

// hostSet is the membership test of a comma-separated list; nil when
// empty.
func hostSet(list string) func(string) bool {
	if list == "" {
		return nil
	}
	set := map[string]bool{}
	for _, h := range strings.Split(list, ",") {
		set[h] = true
	}
	return func(h string) bool { return set[h] }
}

// memoEntry is what passes learnt about one key. inv and state are set
// when the entry is made; plan and the render once computed. An entry is
// never changed after a field is set, so that a Result may share it.
type memoEntry struct {
	key   memoKey
	inv   *schemas.Inventory // validated
	state *state.State       // read from the state tree, or the plan that wrote it
	plan  *alloc.Plan        // nil until planned
	// stream and hosts are the rendered manifests and the host table;
	// nil until rendered.
	stream []byte
	hosts  *HostTable
}

// memoSize bounds the entries kept: the head's, the state commit's, and
// the last pass's of each, so that a writer that alternates between two
// states (its own and another writer's commit of the same) still hits.
const memoSize = 4

// memo is the one memo of a Reconciler: entries by content key, most
// recently used first. A pass at a key the memo holds reads, plans and
// renders nothing it holds; a pass at a new key takes the inventory of an
// entry with the same inventory key and the state of one with the same
// state tree.
type memo struct {
	entries []*memoEntry
}

// entry returns the entry of key, made from the inventory and state of
// other entries when it is new; inv or state is nil when no entry has it.
func (m *memo) entry(key memoKey) *memoEntry {
	for i, e := range m.entries {
		if e.key == key {
			m.entries = slices.Insert(slices.Delete(m.entries, i, i+1), 0, e)
			return e
		}
	}
	e := &memoEntry{key: key}
	for _, o := range m.entries {
		if e.inv == nil && o.key.inventory == key.inventory {
			e.inv = o.inv
		}
		if e.state == nil && o.key.state == key.state {
			e.state = o.state
		}
	}
	return e
}

// keep records e, evicting the least recently used entry past memoSize.
// Only entries with a valid inventory and state are kept.
func (m *memo) keep(e *memoEntry) {
	if e.inv == nil || e.state == nil || e.key.inventory == "" {
		return
	}
	m.entries = slices.DeleteFunc(m.entries, func(o *memoEntry) bool { return o.key == e.key })
	m.entries = slices.Insert(m.entries, 0, e)
	if len(m.entries) > memoSize {
		m.entries = m.entries[:memoSize]
	}
}

// reset forgets every entry.
func (m *memo) reset() { m.entries = nil }
