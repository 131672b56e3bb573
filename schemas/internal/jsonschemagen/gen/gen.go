// Package gen builds the JSON Schemas (draft 2020-12) of the inventory
// kinds from the Go types of package schemas: their json tags give the
// fields, their doc comments the descriptions, and the table in rules.go
// the constraints that the Go validation checks too.
package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"

	"github.com/metalgit/metalgit/schemas"
)

// Draft is the JSON Schema dialect of every generated file.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// InventoryFile is the schema that accepts a document of any kind.
const InventoryFile = "inventory.json"

// obj is a JSON object of a schema; encoding/json writes its keys sorted.
type obj = map[string]any

var (
	quantityType   = reflect.TypeFor[schemas.Quantity]()
	stringListType = reflect.TypeFor[schemas.StringList]()
)

// Files returns the schema files by name (host.json, ..., inventory.json),
// each 2-space indented with sorted keys and a trailing newline. src holds
// the Go source of package schemas, read for doc comments.
func Files(src fs.FS) (map[string][]byte, error) {
	docs, err := readDocs(src)
	if err != nil {
		return nil, err
	}
	g := &generator{docs: docs, used: map[field]bool{}, usedTypes: map[string]bool{}}
	for _, k := range schemas.Kinds {
		if !slices.ContainsFunc(documents, func(d document) bool { return d.kind == k }) {
			return nil, fmt.Errorf("kind %s has no entry in the generator's documents table", k)
		}
	}
	files := map[string][]byte{}
	defs := obj{}
	var dispatch []any
	var kinds, apiVersions []any
	for _, d := range documents {
		s, err := g.document(d)
		if err != nil {
			return nil, err
		}
		if d.ownFile {
			file := obj{"$schema": Draft, "title": d.kind}
			for k, v := range s {
				file[k] = v
			}
			data, err := encode(file)
			if err != nil {
				return nil, err
			}
			files[d.fileName()] = data
		}
		defs[d.kind] = s
		dispatch = append(dispatch, obj{
			"if":   obj{"properties": obj{"kind": obj{"const": d.kind}}, "required": []any{"kind"}},
			"then": obj{"$ref": "#/$defs/" + d.kind},
		})
		kinds = append(kinds, d.kind)
		if !slices.Contains(apiVersions, any(d.apiVersion)) {
			apiVersions = append(apiVersions, d.apiVersion)
		}
	}
	for f := range fieldRules {
		if !g.used[f] {
			return nil, fmt.Errorf("constraint table names %s.%s, which no inventory type has", f.typ, f.name)
		}
	}
	for typ := range typeRules {
		if !g.usedTypes[typ] {
			return nil, fmt.Errorf("constraint table names type %s, which no inventory document uses", typ)
		}
	}
	inv := obj{
		"$schema": Draft,
		"title":   "metalgit inventory document",
		"description": fmt.Sprintf("One document of a metalgit inventory: a %s kind (%s) or a v1 Secret holding a template.",
			schemas.APIVersion, strings.Join(schemas.Kinds, ", ")),
		"type":     "object",
		"required": []any{"apiVersion", "kind"},
		"properties": obj{
			"apiVersion": obj{"enum": apiVersions},
			"kind":       obj{"enum": kinds},
		},
		"allOf": dispatch,
		"$defs": defs,
	}
	data, err := encode(inv)
	if err != nil {
		return nil, err
	}
	files[InventoryFile] = data
	return files, nil
}

// document describes one kind.
type document struct {
	apiVersion, kind string
	typ              reflect.Type
	ownFile          bool // a file <kind>.json of its own, besides inventory.json
}

func (d document) fileName() string { return strings.ToLower(d.kind) + ".json" }

func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding schema: %w", err)
	}
	return b.Bytes(), nil
}

type generator struct {
	docs      map[string]string // "Type" and "Type.Field" → doc comment
	used      map[field]bool    // fieldRules entries applied
	usedTypes map[string]bool   // struct types met
}

// document returns the schema of one kind's documents.
func (g *generator) document(d document) (obj, error) {
	s, err := g.structSchema(d.typ, false)
	if err != nil {
		return nil, err
	}
	props, ok := s["properties"].(obj)
	if !ok {
		return nil, fmt.Errorf("%s: the schema of %s has no properties", d.kind, d.typ)
	}
	props["apiVersion"] = obj{"const": d.apiVersion, "description": "The API version of " + d.kind + " documents."}
	props["kind"] = obj{"const": d.kind}
	required := []any{"apiVersion", "kind", "metadata"}
	if _, ok := props["spec"]; ok {
		required = append(required, "spec")
	}
	s["required"] = required
	return s, nil
}

// structSchema returns the schema of a struct type: its json fields, no others.
func (g *generator) structSchema(t reflect.Type, nullable bool) (obj, error) {
	props := obj{}
	var required []any
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := jsonName(f)
		if !ok {
			continue
		}
		key := field{t.Name(), name}
		r, hasRule := fieldRules[key]
		if hasRule {
			g.used[key] = true
		}
		fs, err := g.schemaOf(f.Type, r)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		if desc := g.fieldDoc(t, f, name); desc != "" {
			fs["description"] = desc
		}
		if r.required {
			required = append(required, name)
		}
		props[name] = fs
	}
	s := obj{
		"type":                 typeList("object", nullable),
		"properties":           props,
		"additionalProperties": false,
	}
	if len(required) > 0 {
		s["required"] = required
	}
	if desc := g.docs[t.Name()]; desc != "" {
		s["description"] = desc
	}
	g.usedTypes[t.Name()] = true
	if tr := typeRules[t.Name()]; tr != nil {
		tr(s)
	}
	return s, nil
}

// schemaOf returns the schema of a value of type t under rule r. Pointers,
// maps, slices and interfaces may be null, as the Go decoder takes null
// for "not set" there; a required list may not.
func (g *generator) schemaOf(t reflect.Type, r rule) (obj, error) {
	switch t {
	case quantityType:
		return obj{"oneOf": []any{
			obj{"type": "string", "pattern": schemas.QuantityPattern},
			obj{"type": "number", "minimum": 0},
		}}, nil
	case stringListType:
		return obj{
			"type":  []any{"string", "array", "null"},
			"items": stringSchema(rule{pattern: r.pattern, enum: r.enum}),
		}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return stringSchema(r), nil
	case reflect.Bool:
		return obj{"type": "boolean"}, nil
	case reflect.Int:
		return intSchema(r), nil
	case reflect.Interface:
		return obj{}, nil
	case reflect.Pointer:
		if t.Elem().Kind() == reflect.Struct {
			return g.structSchema(t.Elem(), true)
		}
		s, err := g.schemaOf(t.Elem(), r)
		if err != nil {
			return nil, err
		}
		if ty, ok := s["type"].(string); ok {
			s["type"] = typeList(ty, true)
		}
		return s, nil
	case reflect.Struct:
		return g.structSchema(t, false)
	case reflect.Slice:
		items, err := g.schemaOf(t.Elem(), rule{pattern: r.pattern, enum: r.enum})
		if err != nil {
			return nil, err
		}
		s := obj{"type": typeList("array", !r.required), "items": items}
		if r.required {
			s["minItems"] = 1
		}
		return s, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key %s is not a string", t.Key())
		}
		s := obj{"type": typeList("object", true)}
		if t.Elem().Kind() != reflect.Interface {
			vs, err := g.schemaOf(t.Elem(), rule{})
			if err != nil {
				return nil, err
			}
			s["additionalProperties"] = vs
		}
		return s, nil
	}
	return nil, fmt.Errorf("no JSON Schema for Go type %s", t)
}

// stringSchema is the schema of a string. The Go validation takes an empty
// optional string for "not set", so an optional enum allows "" and an
// optional pattern matches the empty string too.
func stringSchema(r rule) obj {
	s := obj{"type": "string"}
	if r.required && len(r.enum) == 0 {
		s["minLength"] = 1
	}
	if r.maxLength > 0 {
		s["maxLength"] = r.maxLength
	}
	if len(r.enum) > 0 {
		enum := strAny(r.enum)
		if !r.required {
			enum = append(enum, "")
		}
		s["enum"] = enum
	}
	switch {
	case r.pattern == "":
	case r.required:
		s["pattern"] = r.pattern
	default:
		s["anyOf"] = []any{obj{"const": ""}, obj{"pattern": r.pattern}}
	}
	return s
}

// intSchema is the schema of an integer within [min, max], or 0 as well
// when 0 means "not set".
func intSchema(r rule) obj {
	s := obj{"type": "integer"}
	lo := r.min
	if r.unsetZero && lo != nil && *lo <= 1 {
		lo = limit(0) // 0 joins [1, max] without a gap
	}
	bounds := s
	if r.unsetZero && lo != nil && *lo > 0 {
		bounds = obj{}
		s["anyOf"] = []any{obj{"const": 0}, bounds}
	}
	if lo != nil {
		bounds["minimum"] = *lo
	}
	if r.max != nil {
		bounds["maximum"] = *r.max
	}
	return s
}

func typeList(t string, nullable bool) any {
	if nullable {
		return []any{t, "null"}
	}
	return t
}

func strAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// jsonName returns a field's name as the Go decoder reads it.
func jsonName(f reflect.StructField) (string, bool) {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" || !f.IsExported() {
		return "", false
	}
	if name == "" {
		name = f.Name
	}
	return name, true
}

// fieldDoc is the description of field f of struct t: its doc comment with
// the Go name replaced by the json name. Without one, a struct-typed field
// keeps its type's doc.
func (g *generator) fieldDoc(t reflect.Type, f reflect.StructField, name string) string {
	d := g.docs[t.Name()+"."+f.Name]
	if rest, ok := strings.CutPrefix(d, f.Name+" "); ok {
		return name + " " + rest
	}
	return d
}
