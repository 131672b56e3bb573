// Package state reads and writes the state directory: the bindings
// (machine → host) and allocations (pool → address → owner) that metalgit
// alone writes, as deterministic, sorted YAML with one line per entry so
// that every change is a minimal diff and `git log -- state/` is the audit
// log.
package state

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/metalgit/metalgit/schemas"
)

// File names inside the state directory.
const (
	BindingsFile    = "bindings.yaml"
	AllocationsFile = "allocations.yaml"
)

// Kinds of the state documents.
const (
	KindBindings    = "Bindings"
	KindAllocations = "Allocations"
)

// Binding is one machine bound to one host.
type Binding struct {
	Machine string `json:"machine"`
	Host    string `json:"host"`
}

// Allocation is one address of a pool held by an owner, named by
// schemas.ObjectRef ("Host/server-01", "Machine/db-0").
type Allocation struct {
	Pool    string     `json:"pool"`
	Address netip.Addr `json:"address"`
	Owner   string     `json:"owner"`
}

// State is the content of a state directory.
type State struct {
	// Bindings, sorted by machine.
	Bindings []Binding
	// Allocations, sorted by pool, then address.
	Allocations []Allocation
	// Sources remembers where each entry was read, for problems:
	// "binding/<machine>" and "allocation/<pool>/<address>" → file:line.
	Sources map[string]Location
}

// Location is a place in a state file.
type Location struct {
	File string
	Line int
}

// Sort puts bindings and allocations in their canonical order.
func (s *State) Sort() {
	slices.SortFunc(s.Bindings, func(a, b Binding) int { return strings.Compare(a.Machine, b.Machine) })
	slices.SortFunc(s.Allocations, func(a, b Allocation) int {
		return cmp.Or(strings.Compare(a.Pool, b.Pool), a.Address.Compare(b.Address))
	})
}

// BindingMap returns machine → host.
func (s *State) BindingMap() map[string]string {
	m := make(map[string]string, len(s.Bindings))
	for _, b := range s.Bindings {
		m[b.Machine] = b.Host
	}
	return m
}

// Where returns the location of an entry, if it was read from a file.
func (s *State) Where(key string) Location {
	if s == nil || s.Sources == nil {
		return Location{}
	}
	return s.Sources[key]
}

// BindingKey and AllocationKey name entries in Sources.
func BindingKey(machine string) string { return "binding/" + machine }

// AllocationKey names an allocation in Sources.
func AllocationKey(pool string, addr netip.Addr) string {
	return "allocation/" + pool + "/" + addr.String()
}

// Read loads the state directory. A missing directory or file is an empty
// state. Structural problems (syntax, duplicate entries, malformed
// addresses, an owner holding two addresses of one pool, a host bound to
// two machines) come back as Problems, all of them.
//
// Only regular files below dir are read (no FIFO, device, or link out of
// dir), each at most schemas.MaxFileBytes.
func Read(dir string) (*State, schemas.Problems, error) {
	root, err := schemas.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Sources: map[string]Location{}}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading state: %w", err)
	}
	defer func() { _ = root.Close() }()
	return read(func(name string) ([]byte, error) {
		return schemas.ReadFileLimited(root, path.Base(name), schemas.MaxFileBytes)
	},
		func(name string) string { return filepath.Join(dir, name) })
}

// ReadFS is Read of the state directory dir, a slash-separated path in
// fsys; files are named by their paths in fsys.
func ReadFS(fsys fs.FS, dir string) (*State, schemas.Problems, error) {
	return read(func(name string) ([]byte, error) { return schemas.ReadFileLimited(fsys, name, schemas.MaxFileBytes) },
		func(name string) string { return path.Join(dir, name) })
}

// read reads the state files named pathOf(file name) with readFile.
func read(readFile func(string) ([]byte, error), pathOf func(string) string) (*State, schemas.Problems, error) {
	s := &State{Sources: map[string]Location{}}
	var problems schemas.Problems
	for _, name := range []string{BindingsFile, AllocationsFile} {
		file := pathOf(name)
		data, err := readFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading state: %w", err)
		}
		problems = append(problems, s.parse(file, name, data)...)
	}
	s.Sort()
	problems.Sort()
	return s, problems, nil
}

// Parse reads one state file's content; name is the file's base name.
func Parse(path, name string, data []byte) (*State, schemas.Problems) {
	s := &State{Sources: map[string]Location{}}
	problems := s.parse(path, name, data)
	s.Sort()
	return s, problems
}

func (s *State) parse(path, name string, data []byte) schemas.Problems {
	if s.parseCanonical(path, name, data) {
		return nil
	}
	return s.parseYAML(path, name, data)
}

// parseYAML reads a state file of any YAML form and reports all its
// problems.
func (s *State) parseYAML(path, name string, data []byte) schemas.Problems {
	var problems schemas.Problems
	add := func(line int, field, format string, args ...any) {
		problems = append(problems, schemas.Problem{File: path, Line: line, Field: field, Rule: schemas.RuleState,
			Message: fmt.Sprintf(format, args...)})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p := schemas.SyntaxProblem(path, err, "the state is written by metalgit: restore the file from Git history")
		p.Rule = schemas.RuleState
		return append(problems, p)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		add(root.Line, "", "a state file must be a mapping; restore the file from Git history")
		return problems
	}
	wantKind, listKey := KindBindings, "bindings"
	if name == AllocationsFile {
		wantKind, listKey = KindAllocations, "pools"
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "apiVersion":
			if v.Value != schemas.APIVersion {
				add(v.Line, "apiVersion", "unknown apiVersion %q; expected %s", v.Value, schemas.APIVersion)
			}
		case "kind":
			if v.Value != wantKind {
				add(v.Line, "kind", "kind %q in %s; expected %s", v.Value, name, wantKind)
			}
		case listKey:
			list = v
		default:
			add(k.Line, k.Value, "unknown field %q in a state file; remove it", k.Value)
		}
	}
	if list == nil || (list.Kind == yaml.ScalarNode && list.Tag == "!!null") {
		return problems
	}
	if list.Kind != yaml.MappingNode {
		add(list.Line, listKey, "must be a mapping")
		return problems
	}
	if name == BindingsFile {
		hosts := map[string]string{}
		machines := map[string]bool{}
		for i := 0; i+1 < len(list.Content); i += 2 {
			k, v := list.Content[i], list.Content[i+1]
			field := "bindings." + k.Value
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				add(k.Line, field, "must name a host")
				continue
			}
			if machines[k.Value] {
				add(k.Line, field, "machine %s is listed twice; keep one line", k.Value)
				continue
			}
			machines[k.Value] = true
			if other, dup := hosts[v.Value]; dup {
				add(k.Line, field, "host %s is bound to both %s and %s; a host runs one machine: remove one line", v.Value, other, k.Value)
				continue
			}
			hosts[v.Value] = k.Value
			s.Bindings = append(s.Bindings, Binding{Machine: k.Value, Host: v.Value})
			s.Sources[BindingKey(k.Value)] = Location{path, k.Line}
		}
		return problems
	}
	for i := 0; i+1 < len(list.Content); i += 2 {
		pk, pv := list.Content[i], list.Content[i+1]
		pool := pk.Value
		if pv.Kind == yaml.ScalarNode && pv.Tag == "!!null" {
			continue
		}
		if pv.Kind != yaml.MappingNode {
			add(pk.Line, "pools."+pool, "must map addresses to owners")
			continue
		}
		owners := map[string]string{}
		addrs := map[netip.Addr]string{}
		for j := 0; j+1 < len(pv.Content); j += 2 {
			ak, av := pv.Content[j], pv.Content[j+1]
			field := "pools." + pool + "[" + ak.Value + "]"
			addr, err := netip.ParseAddr(ak.Value)
			if err != nil {
				add(ak.Line, field, "%q is not an IP address", ak.Value)
				continue
			}
			owner := av.Value
			if av.Kind != yaml.ScalarNode || !validOwner(owner) {
				add(ak.Line, field, "owner %q is not <Kind>/<name> (Host/server-01, Machine/db-0)", owner)
				continue
			}
			if prev, dup := addrs[addr]; dup {
				add(ak.Line, field, "address %s of pool %s is listed twice (for %s and %s); an address has one owner: remove one line", addr, pool, prev, owner)
				continue
			}
			addrs[addr] = owner
			if prev, dup := owners[owner]; dup {
				add(ak.Line, field, "%s holds both %s and %s in pool %s; an owner holds one address per pool: remove one line", owner, prev, addr, pool)
				continue
			}
			owners[owner] = addr.String()
			s.Allocations = append(s.Allocations, Allocation{Pool: pool, Address: addr, Owner: owner})
			s.Sources[AllocationKey(pool, addr)] = Location{path, ak.Line}
		}
	}
	return problems
}

func validOwner(owner string) bool {
	kind, name, ok := schemas.SplitObjectRef(owner)
	return ok && name != "" && (kind == schemas.KindHost || kind == schemas.KindMachine)
}

// Marshal renders the state files: file name → content. The output is
// deterministic: sorted, one entry per line, addresses in numeric order.
func Marshal(s *State) map[string][]byte {
	c := *s
	c.Bindings = slices.Clone(s.Bindings)
	c.Allocations = slices.Clone(s.Allocations)
	c.Sort()
	return map[string][]byte{BindingsFile: marshalBindings(c.Bindings), AllocationsFile: marshalAllocations(c.Allocations)}
}

// marshalBindings writes the bindings file of sorted bindings.
func marshalBindings(bindings []Binding) []byte {
	var b bytes.Buffer
	b.Grow(160 + 48*len(bindings))
	b.WriteString(bindingsHeader)
	if len(bindings) == 0 {
		b.WriteString("bindings: {}\n")
		return b.Bytes()
	}
	b.WriteString("bindings:\n")
	for _, bd := range bindings {
		b.WriteString("  ")
		b.WriteString(scalar(bd.Machine))
		b.WriteString(": ")
		b.WriteString(scalar(bd.Host))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// marshalAllocations writes the allocations file of sorted allocations.
func marshalAllocations(allocs []Allocation) []byte {
	var b bytes.Buffer
	b.Grow(160 + 48*len(allocs))
	b.WriteString(allocationsHeader)
	if len(allocs) == 0 {
		b.WriteString("pools: {}\n")
		return b.Bytes()
	}
	b.WriteString("pools:\n")
	pool := ""
	for _, a := range allocs {
		if a.Pool != pool || pool == "" {
			pool = a.Pool
			b.WriteString("  ")
			b.WriteString(scalar(pool))
			b.WriteString(":\n")
		}
		b.WriteString("    ")
		b.WriteString(scalar(a.Address.String()))
		b.WriteString(": ")
		b.WriteString(scalar(a.Owner))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// The first lines of the state files.
var (
	bindingsHeader = "# Machine → host bindings. Written by metalgit; change the inventory, not this file.\n" +
		"apiVersion: " + schemas.APIVersion + "\nkind: " + KindBindings + "\n"
	allocationsHeader = "# Pool → address → owner. Written by metalgit; change the inventory, not this file.\n" +
		"apiVersion: " + schemas.APIVersion + "\nkind: " + KindAllocations + "\n"
)

// scalar writes a string as YAML would, quoted only where needed.
func scalar(s string) string {
	if plainSafe(s) {
		return s // the common case, without an encoder per value
	}
	out, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// Write writes the state files into dir, creating it if needed. Files whose
// content is unchanged are not touched; each changed file is replaced
// atomically (temporary file + rename). It reports which files changed.
func Write(dir string, s *State) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("writing state: %w", err)
	}
	files := Marshal(s)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	var changed []string
	for _, name := range names {
		path := filepath.Join(dir, name)
		old, err := os.ReadFile(path)
		if err == nil && bytes.Equal(old, files[name]) {
			continue
		}
		tmp, err := os.CreateTemp(dir, "."+name+".*")
		if err != nil {
			return changed, fmt.Errorf("writing state: %w", err)
		}
		_, werr := tmp.Write(files[name])
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr); err != nil {
			_ = os.Remove(tmp.Name())
			return changed, fmt.Errorf("writing state %s: %w", path, err)
		}
		if err := os.Chmod(tmp.Name(), 0o644); err != nil {
			_ = os.Remove(tmp.Name())
			return changed, fmt.Errorf("writing state %s: %w", path, err)
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			_ = os.Remove(tmp.Name())
			return changed, fmt.Errorf("writing state %s: %w", path, err)
		}
		changed = append(changed, path)
	}
	return changed, nil
}

// plainSafe reports whether YAML writes s as a plain scalar: the forms
// that make up nearly all of a state file: names and owners (a letter
// first, then letters, digits, '.', '_', '-' and at most one '/'; without
// a '/', none of the words YAML reads as a boolean or null) and dotted
// IPv4 addresses (three dots: never a number). Anything else goes through
// the YAML encoder.
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	if strings.Count(s, ".") == 3 && strings.Trim(s, "0123456789.") == "" && s[0] != '.' && s[len(s)-1] != '.' {
		return true
	}
	c := s[0]
	if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return false
	}
	slashes := 0
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '/' {
			slashes++
			continue
		}
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	switch {
	case slashes > 1:
		return false
	case slashes == 1:
		return true
	}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		return false
	}
	return true
}
