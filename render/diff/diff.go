// Package diff compares two rendered manifest streams object by object,
// for a reviewer: the objects added, removed and changed, and for a
// changed object each field that changed, by its path, with the old and
// the new value. The values of a Secret's data and stringData are never
// kept, only that they changed: a reviewer learns which key changed, and
// nothing of what it holds.
//
// It imports nothing of metalgit: it reads the YAML that render writes.
package diff

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"

	yaml "go.yaml.in/yaml/v3"
)

// Change says what happened to an object or a field.
type Change string

// Changes.
const (
	Added   Change = "added"
	Removed Change = "removed"
	Changed Change = "changed"
)

// Object is one object that differs between the two streams.
type Object struct {
	Kind      string
	Namespace string // "" for a cluster-scoped object
	Name      string
	Change    Change
	// Fields are the fields that changed, by path, for a changed object;
	// none for an added or removed one.
	Fields []Field
}

// Ref is the object as "Kind namespace/name" ("Kind name" without a
// namespace).
func (o Object) Ref() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Result is what differs between two streams, objects sorted by kind,
// namespace, then name.
type Result struct {
	Objects []Object
}

// Empty reports whether the streams hold the same objects.
func (r *Result) Empty() bool { return len(r.Objects) == 0 }

// Count returns how many objects had change c.
func (r *Result) Count(c Change) int {
	n := 0
	for _, o := range r.Objects {
		if o.Change == c {
			n++
		}
	}
	return n
}

// key identifies an object in a stream.
type key struct{ kind, namespace, name string }

func (k key) compare(o key) int {
	return cmp.Or(cmp.Compare(k.kind, o.kind), cmp.Compare(k.namespace, o.namespace), cmp.Compare(k.name, o.name))
}

// Streams compares the objects of two multi-document YAML streams, base
// and head. An object is known by its kind, namespace and name; a stream
// that holds one twice, or a document that is not an object with a kind
// and a name, is an error.
func Streams(base, head []byte) (*Result, error) {
	old, err := objects(base)
	if err != nil {
		return nil, fmt.Errorf("reading the base's objects: %w", err)
	}
	cur, err := objects(head)
	if err != nil {
		return nil, fmt.Errorf("reading the head's objects: %w", err)
	}
	keys := make([]key, 0, len(cur))
	for k := range cur {
		keys = append(keys, k)
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, key.compare)
	r := &Result{}
	for _, k := range keys {
		o := Object{Kind: k.kind, Namespace: k.namespace, Name: k.name}
		a, inOld := old[k]
		b, inCur := cur[k]
		switch {
		case !inOld:
			o.Change = Added
		case !inCur:
			o.Change = Removed
		default:
			o.Fields = compareObjects(k.kind, a, b)
			if len(o.Fields) == 0 {
				continue
			}
			o.Change = Changed
		}
		r.Objects = append(r.Objects, o)
	}
	return r, nil
}

// errNotObject marks a document that is not a Kubernetes object.
var errNotObject = errors.New("not an object with a kind and metadata.name")

// objects decodes a stream's documents by key; empty documents are
// skipped.
func objects(stream []byte) (map[key]map[string]any, error) {
	out := map[key]map[string]any{}
	dec := yaml.NewDecoder(bytes.NewReader(stream))
	for i := 0; ; i++ {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if doc == nil {
			continue
		}
		kind, _ := doc["kind"].(string)
		meta, _ := doc["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		namespace, _ := meta["namespace"].(string)
		if kind == "" || name == "" {
			return nil, fmt.Errorf("document %d: %w", i+1, errNotObject)
		}
		k := key{kind, namespace, name}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("document %d: %s %s/%s appears twice", i+1, kind, namespace, name)
		}
		out[k] = doc
	}
}
