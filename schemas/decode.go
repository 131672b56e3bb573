package schemas

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// decoder turns a YAML node into a Go value by the value's json tags,
// strictly: every unknown field and every value of the wrong type is
// reported with its path and line, and decoding goes on so that all
// problems of a document surface at once.
//
// It is written here rather than taken from a YAML library because the
// libraries stop at the first strict-mode error and do not report the field
// path, and an operator fixing a pull request wants every problem, located.
type decoder struct {
	report func(line int, path string, rule Rule, msg string)
	cache  map[reflect.Type]*structInfo
	// active holds the anchored nodes being decoded, to stop alias cycles.
	active map[*yaml.Node]bool
	// visited counts the values decoded in the current document, so that
	// aliases cannot expand a small document into a huge one.
	visited int
}

// maxValues bounds the values one document may expand to through aliases.
const maxValues = 1_000_000

// reset readies the decoder for the next document.
func (d *decoder) reset() { d.visited = 0 }

var (
	quantityType   = reflect.TypeFor[Quantity]()
	stringListType = reflect.TypeFor[StringList]()
)

// fieldInfo describes one struct field by its json name.
type fieldInfo struct {
	index int
	name  string
}

type structInfo struct {
	fields []fieldInfo
	byName map[string]int // json name → struct field index
	names  []string       // sorted json names, for messages
}

func (d *decoder) structFields(t reflect.Type) *structInfo {
	if info, ok := d.cache[t]; ok {
		return info
	}
	info := &structInfo{byName: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		info.fields = append(info.fields, fieldInfo{index: i, name: name})
		info.byName[name] = i
		info.names = append(info.names, name)
	}
	slices.Sort(info.names)
	if d.cache == nil {
		d.cache = map[reflect.Type]*structInfo{}
	}
	d.cache[t] = info
	return info
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.visited++
	if d.visited > maxValues {
		if d.visited == maxValues+1 {
			d.report(0, path, RuleType, fmt.Sprintf("the document expands to more than %d values through aliases; write it out or use fewer aliases", maxValues))
		}
		return
	}
	if n != nil && n.Kind == yaml.AliasNode {
		// An alias whose anchor is being decoded refers to itself: stop
		// rather than expand it for ever.
		if n.Alias == nil || d.active[n.Alias] {
			d.report(n.Line, path, RuleType, "alias *"+n.Value+" refers to a mapping that contains it; remove the cycle")
			return
		}
		d.decode(n.Alias, v, path) // the anchored node marks itself active
		return
	}
	if n == nil {
		return
	}
	if n.Anchor != "" {
		if d.active == nil {
			d.active = map[*yaml.Node]bool{}
		}
		d.active[n] = true
		defer delete(d.active, n)
	}
	if isNull(n) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			return // unset
		}
		d.report(n.Line, path, RuleType, fmt.Sprintf("must be %s, not null; give a value or remove the field", describe(v.Type())))
		return
	}
	t := v.Type()
	switch t {
	case quantityType:
		switch {
		case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
			v.SetString(n.Value)
		case n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float"):
			// A YAML number: its value counts, not its spelling (0x10, 1_000).
			var f float64
			if err := n.Decode(&f); err != nil {
				d.report(n.Line, path, RuleType, "must be a Kubernetes quantity such as 64 or 256Gi")
				return
			}
			v.SetString(strconv.FormatFloat(f, 'f', -1, 64))
		default:
			d.report(n.Line, path, RuleType, "must be a Kubernetes quantity such as 64 or 256Gi")
		}
		return
	case stringListType:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
			var list []string
			for part := range strings.SplitSeq(n.Value, ",") {
				if p := strings.TrimSpace(part); p != "" {
					list = append(list, p)
				}
			}
			v.Set(reflect.ValueOf(StringList(list)))
			return
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.report(n.Line, path, RuleType, fmt.Sprintf("must be a mapping (object), not %s", nodeKind(n)))
			return
		}
		info := d.structFields(t)
		// <<: *anchor (or a list of them): the merged mappings give
		// defaults, which the mapping's own keys override wherever they stand.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if resolveAlias(n.Content[i]).Tag == "!!merge" {
				d.merge(n.Content[i+1], v, path)
			}
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := resolveAlias(n.Content[i]), n.Content[i+1]
			key := k.Value
			if k.Tag == "!!merge" {
				continue
			}
			if seen[key] {
				d.report(k.Line, joinKey(path, key), RuleType, "appears twice in one mapping; keep one")
				continue
			}
			seen[key] = true
			idx, ok := info.byName[key]
			if !ok {
				msg := unknownFieldMessage(key, info.names)
				if _, isMeta := info.byName["metadata"]; isMeta && path == "" && (key == "name" || key == "labels" || key == "annotations" || key == "namespace") {
					msg = fmt.Sprintf("unknown field %q; it belongs under metadata: metadata.%s", key, key)
				}
				d.report(k.Line, joinKey(path, key), RuleUnknownField, msg)
				continue
			}
			d.decode(val, v.Field(idx), joinKey(path, key))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.report(n.Line, path, RuleType, fmt.Sprintf("must be a mapping (object), not %s", nodeKind(n)))
			return
		}
		if t.Elem().Kind() == reflect.Interface {
			var m map[string]any
			if err := n.Decode(&m); err != nil {
				d.report(n.Line, path, RuleType, "must be a mapping with string keys: "+err.Error())
				return
			}
			v.Set(reflect.ValueOf(m).Convert(t))
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolveAlias(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				d.report(k.Line, path, RuleType, "map keys must be strings")
				continue
			}
			if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				d.report(k.Line, joinKey(path, k.Value), RuleType, "appears twice in one mapping; keep one")
				continue
			}
			ev := reflect.New(t.Elem()).Elem()
			d.decode(n.Content[i+1], ev, joinKey(path, k.Value))
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), ev)
		}
		v.Set(m)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.report(n.Line, path, RuleType, fmt.Sprintf("must be a list, not %s", nodeKind(n)))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), joinIndex(path, i))
		}
		v.Set(s)
	case reflect.String:
		// A plain timestamp (2024-01-01) is a string to JSON and to us.
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!timestamp") {
			hint := ""
			if n.Kind == yaml.ScalarNode {
				hint = "; quote it"
			}
			d.report(n.Line, path, RuleType, fmt.Sprintf("must be a string, not %s%s", nodeKind(n), hint))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.report(n.Line, path, RuleType, fmt.Sprintf("must be true or false, not %s", nodeKind(n)))
			return
		}
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		v.SetBool(b)
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			d.report(n.Line, path, RuleType, fmt.Sprintf("must be an integer, not %s", nodeKind(n)))
			return
		}
		// 1.0 is an integer to JSON Schema; 1.5 is not.
		var f float64
		if err := n.Decode(&f); err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			d.report(n.Line, path, RuleType, fmt.Sprintf("must be an integer, not %s", nodeKind(n)))
			return
		}
		v.SetInt(int64(f))
	case reflect.Interface:
		var a any
		if err := n.Decode(&a); err != nil {
			d.report(n.Line, path, RuleType, err.Error())
			return
		}
		if a != nil {
			v.Set(reflect.ValueOf(a))
		}
	default:
		d.report(n.Line, path, RuleType, fmt.Sprintf("cannot decode into %s", t))
	}
}

// merge decodes the mapping (or list of mappings) of a YAML merge key into
// the struct v. Keys given beside the merge key are decoded after it and win.
func (d *decoder) merge(n *yaml.Node, v reflect.Value, path string) {
	target := resolveAlias(n)
	switch target.Kind {
	case yaml.MappingNode:
		d.decode(n, v, path) // through the alias, so cycles are caught
	case yaml.SequenceNode:
		for i := len(target.Content) - 1; i >= 0; i-- { // earlier mappings win
			d.merge(target.Content[i], v, path)
		}
	default:
		d.report(target.Line, path, RuleType, "a merge key (<<) takes a mapping or a list of mappings")
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!int":
			return "the integer " + n.Value
		case "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!null":
			return "null"
		}
		return fmt.Sprintf("%q (%s)", n.Value, n.Tag)
	}
	return "an unsupported YAML node"
}

func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "an integer"
	case reflect.Struct:
		return "a mapping"
	}
	return "a value"
}

func unknownFieldMessage(key string, known []string) string {
	best := ""
	bestDist := 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field %q; did you mean %q?", key, best)
	}
	return fmt.Sprintf("unknown field %q; remove it (known fields: %s)", key, strings.Join(known, ", "))
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
