package state

import (
	"bytes"
	"net/netip"
	"strings"
)

// parseCanonical reads data when it is exactly what Marshal writes for the
// entries it holds: the header, then one "key: value" line per entry
// (under "  pool:" lines for allocations), every key and value a plain
// scalar, sorted, and free of the problems parseYAML reports. It adds the
// entries to s and reports true; otherwise it leaves s alone and reports
// false, and parseYAML reads the file. As metalgit alone writes the state,
// nearly every read takes this path, which is many times cheaper than a
// YAML parse.
//
// Writing the entries back must give data byte for byte: the YAML parser
// reads Marshal's output as the entries it was written from (tests check
// it), so both readers agree on every file this one accepts.
func (s *State) parseCanonical(path, name string, data []byte) bool {
	var header, list string
	switch name {
	case BindingsFile:
		header, list = bindingsHeader, "bindings:"
	case AllocationsFile:
		header, list = allocationsHeader, "pools:"
	default:
		return false
	}
	rest, ok := bytes.CutPrefix(data, []byte(header))
	if !ok {
		return false
	}
	lines := strings.Split(string(rest), "\n")
	if len(lines) < 2 || lines[len(lines)-1] != "" {
		return false // no final newline
	}
	lines = lines[:len(lines)-1]
	if lines[0] == list+" {}" && len(lines) == 1 {
		return true
	}
	if lines[0] != list || len(lines) == 1 {
		return false
	}
	first := strings.Count(header, "\n") + 2 // line number of lines[1]
	if name == BindingsFile {
		return s.canonicalBindings(path, lines[1:], first, data)
	}
	return s.canonicalAllocations(path, lines[1:], first, data)
}

// entry splits "<indent>key: value" with plain-scalar key and value.
func entry(line, indent string) (key, value string, ok bool) {
	line, ok = strings.CutPrefix(line, indent)
	if !ok {
		return "", "", false
	}
	key, value, ok = strings.Cut(line, ": ")
	return key, value, ok && plainSafe(key) && plainSafe(value)
}

func (s *State) canonicalBindings(path string, lines []string, first int, data []byte) bool {
	bindings := make([]Binding, 0, len(lines))
	hosts := make(map[string]bool, len(lines))
	for _, line := range lines {
		machine, host, ok := entry(line, "  ")
		if !ok || hosts[host] {
			return false
		}
		if n := len(bindings); n > 0 && bindings[n-1].Machine >= machine {
			return false // unsorted or listed twice
		}
		hosts[host] = true
		bindings = append(bindings, Binding{Machine: machine, Host: host})
	}
	if !bytes.Equal(marshalBindings(bindings), data) {
		return false
	}
	s.Bindings = append(s.Bindings, bindings...)
	for i, b := range bindings {
		s.Sources[BindingKey(b.Machine)] = Location{path, first + i}
	}
	return true
}

func (s *State) canonicalAllocations(path string, lines []string, first int, data []byte) bool {
	allocs := make([]Allocation, 0, len(lines))
	pool := ""
	owners := map[string]bool{}
	for _, line := range lines {
		if p, ok := strings.CutPrefix(line, "  "); ok && strings.HasSuffix(p, ":") && !strings.HasPrefix(p, " ") {
			p = strings.TrimSuffix(p, ":")
			if !plainSafe(p) || p <= pool {
				return false // unsorted or listed twice
			}
			pool = p
			clear(owners)
			continue
		}
		key, owner, ok := entry(line, "    ")
		if !ok || pool == "" || !validOwner(owner) || owners[owner] {
			return false
		}
		addr, err := netip.ParseAddr(key)
		if err != nil || addr.String() != key {
			return false
		}
		if n := len(allocs); n > 0 && allocs[n-1].Pool == pool && allocs[n-1].Address.Compare(addr) >= 0 {
			return false // unsorted or listed twice
		}
		owners[owner] = true
		allocs = append(allocs, Allocation{Pool: pool, Address: addr, Owner: owner})
	}
	if !bytes.Equal(marshalAllocations(allocs), data) {
		return false
	}
	s.Allocations = append(s.Allocations, allocs...)
	line := first
	for i, a := range allocs {
		if i == 0 || a.Pool != allocs[i-1].Pool {
			line++ // the pool's line
		}
		s.Sources[AllocationKey(a.Pool, a.Address)] = Location{path, line}
		line++
	}
	return true
}
