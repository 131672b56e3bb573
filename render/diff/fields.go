package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Field is one field of an object that changed.
type Field struct {
	// Path is the field's path: map keys joined by dots, a key that is
	// not a plain word (letters, digits, '-', '_') quoted in brackets
	// (metadata.annotations["metalgit.dev/ip-address"]), a list item by
	// its index (spec.items[0]) or, in a list of maps that all have a
	// distinct string name, by that name (spec.interfaces[name=eno1]).
	Path string
	// Change is Added when the base lacks the field, Removed when the
	// head does, Changed otherwise.
	Change Change
	// Old and New are the values, as JSON (a string quoted), "" for the
	// side that lacks the field, and "" for a masked field.
	Old, New string
	// Masked marks a value of a Secret's data or stringData: Old and New
	// are never filled in.
	Masked bool
}

// maskedFields are the top-level fields of a Secret whose values a diff
// never shows.
var maskedFields = []string{"data", "stringData"}

// compareObjects returns the fields that differ between a and b, two
// versions of an object of kind, sorted by path.
func compareObjects(kind string, a, b map[string]any) []Field {
	w := walker{}
	for _, k := range unionKeys(a, b) {
		va, inA := a[k]
		vb, inB := b[k]
		w.masked = kind == "Secret" && slices.Contains(maskedFields, k)
		w.compare(pathKey("", k), va, vb, inA, inB)
	}
	return w.fields
}

// walker collects the fields that differ under one top-level field.
//
// Maps are compared key by key, also when one side lacks the map (so an
// added block is listed by its leaves). Lists are compared item by item:
// by name when every item of both lists is a map with a string "name"
// and no name repeats on either side (interfaces, containers), which
// keeps an insertion from showing as a change of every later item;
// otherwise by index. A list that one side lacks is a single value.
type walker struct {
	masked bool
	fields []Field
}

func (w *walker) compare(p string, a, b any, inA, inB bool) {
	ma, aMap := a.(map[string]any)
	mb, bMap := b.(map[string]any)
	switch {
	case aMap && bMap, aMap && !inB, !inA && bMap:
		for _, k := range unionKeys(ma, mb) {
			va, okA := ma[k]
			vb, okB := mb[k]
			w.compare(pathKey(p, k), va, vb, okA, okB)
		}
		return
	}
	la, aList := a.([]any)
	lb, bList := b.([]any)
	if aList && bList {
		w.compareLists(p, la, lb)
		return
	}
	if inA && inB && reflect.DeepEqual(a, b) {
		return
	}
	f := Field{Path: p, Change: Changed, Masked: w.masked}
	switch {
	case !inA:
		f.Change = Added
	case !inB:
		f.Change = Removed
	}
	if !w.masked {
		if inA {
			f.Old = value(a)
		}
		if inB {
			f.New = value(b)
		}
	}
	w.fields = append(w.fields, f)
}

func (w *walker) compareLists(p string, a, b []any) {
	na, okA := names(a)
	nb, okB := names(b)
	if okA && okB {
		all := make([]string, 0, len(na)+len(nb))
		for n := range na {
			all = append(all, n)
		}
		for n := range nb {
			if _, ok := na[n]; !ok {
				all = append(all, n)
			}
		}
		slices.Sort(all)
		for _, n := range all {
			ia, inA := na[n]
			ib, inB := nb[n]
			var va, vb any
			if inA {
				va = a[ia]
			}
			if inB {
				vb = b[ib]
			}
			w.compare(p+"[name="+segment(n)+"]", va, vb, inA, inB)
		}
		return
	}
	for i := range max(len(a), len(b)) {
		var va, vb any
		if i < len(a) {
			va = a[i]
		}
		if i < len(b) {
			vb = b[i]
		}
		w.compare(p+"["+strconv.Itoa(i)+"]", va, vb, i < len(a), i < len(b))
	}
}

// names indexes a list of maps by their "name"; ok false when an item is
// not a map with a string name, or a name repeats. An empty list has no
// names to go by.
func names(list []any) (map[string]int, bool) {
	if len(list) == 0 {
		return nil, false
	}
	out := make(map[string]int, len(list))
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, false
		}
		n, ok := m["name"].(string)
		if !ok {
			return nil, false
		}
		if _, dup := out[n]; dup {
			return nil, false
		}
		out[n] = i
	}
	return out, true
}

// unionKeys returns the keys of a and b, sorted.
func unionKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// plainKey is a map key written as it is in a path.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// pathKey appends the map key k to the path p.
func pathKey(p, k string) string {
	if !plainKey.MatchString(k) {
		return p + "[" + strconv.Quote(k) + "]"
	}
	if p == "" {
		return k
	}
	return p + "." + k
}

// segment is a name as it appears in a path: plain, or quoted.
func segment(s string) string {
	if plainKey.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}

// value formats a value on one line, as JSON: a string quoted, with
// control characters, '<', '>' and '&' escaped, so that no value can end
// a line or a Markdown code block early.
func value(v any) string {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		return strconv.Quote(fmt.Sprint(v))
	}
	return strings.TrimSuffix(b.String(), "\n")
}
