package schemas

import (
	"fmt"
	"slices"
)

// Validate checks every rule of the inventory and reports all problems,
// sorted by file and line. It complements the problems Load reports.
func (inv *Inventory) Validate() Problems {
	return inv.ValidateWith(nil)
}

// ValidateWith is Validate with a cache of the hosts an earlier
// validation found clean (see ValidateCache); nil is no cache. It reports
// the same problems as Validate.
func (inv *Inventory) ValidateWith(cache *ValidateCache) Problems {
	v := &validator{inv: inv, ix: inv.Index(), re: compilePatterns(), pools: map[string]PoolAddresses{}}
	world, keyed := inv.WorldDigest()
	if cache != nil && keyed {
		v.clean = cache.cleanHosts(world)
	}
	v.names()
	v.apiNames()
	v.sites()
	v.ipPools()
	v.nodeTypes()
	v.hosts()
	v.machines()
	v.images()
	v.sshKeys()
	v.secrets()
	v.addressOverlaps()
	v.addressUses()
	v.problems.Sort()
	if cache != nil {
		clean := make(map[Digest]bool, len(inv.Hosts))
		for _, h := range inv.Hosts {
			if d := h.Source.digest; keyed && d != (Digest{}) && v.perDoc[h.Source.File+"\x00"+ObjectRef(KindHost, h.Metadata.Name)] == 0 {
				clean[d] = true
			}
		}
		cache.keep(world, clean, v.checked)
	}
	return v.problems
}

type validator struct {
	inv      *Inventory
	ix       *Index
	re       patterns
	pools    map[string]PoolAddresses // valid pools only
	problems Problems
	// secretRefs maps a template Secret to the first field that references it.
	secretRefs map[string]string
	// perDoc counts the problems reported per document.
	perDoc map[string]int
	// clean are the hosts an earlier validation of the same world found
	// without problems (ValidateCache): their own checks are skipped.
	clean map[Digest]bool
	// checked counts the hosts whose own checks ran.
	checked int
}

// MaxProblemsPerDocument bounds the problems reported for one document;
// past it, one line says that there are more.
const MaxProblemsPerDocument = 100

// at records a problem at a field of a document.
func (v *validator) at(src Source, object, field string, rule Rule, format string, args ...any) {
	if src.failed(field) {
		return // the loader already reported that this value did not decode
	}
	if v.perDoc == nil {
		v.perDoc = map[string]int{}
	}
	key := src.File + "\x00" + object
	v.perDoc[key]++
	switch n := v.perDoc[key]; {
	case n == MaxProblemsPerDocument+1:
		v.problems = append(v.problems, Problem{File: src.File, Line: src.Line, Object: object, Rule: rule,
			Message: fmt.Sprintf("more than %d problems in this document; fix the ones above and validate again", MaxProblemsPerDocument)})
		return
	case n > MaxProblemsPerDocument:
		return
	}
	v.problems = append(v.problems, Problem{
		File: src.File, Line: src.LineOf(field), Object: object, Field: field, Rule: rule,
		Message: fmt.Sprintf(format, args...),
	})
}

func where(src Source) string {
	if src.File == "" {
		return ""
	}
	if src.Line > 0 {
		return fmt.Sprintf(" (%s:%d)", src.File, src.Line)
	}
	return " (" + src.File + ")"
}

func whereField(src Source, field string) string {
	if line := src.LineOf(field); line > 0 && src.File != "" {
		return fmt.Sprintf(" (%s:%d)", src.File, line)
	}
	return where(src)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// isClean reports whether an earlier validation of the same world found
// host h, by its digest, without problems.
func (v *validator) isClean(h *Host) bool {
	d := h.Source.digest
	return d != (Digest{}) && v.clean[d]
}
