package schemas

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Rule names a validation rule. Every Problem carries one, so that tests
// and tools can tell problems apart without reading their text.
type Rule string

// Validation rules. Those marked (schema) are checks on one document alone
// that the JSON Schemas in schemas/jsonschema express too.
const (
	RuleYAMLSyntax      Rule = "yaml-syntax"      // the file is not YAML
	RuleKind            Rule = "kind"             // unknown kind or apiVersion (schema)
	RuleUnknownField    Rule = "unknown-field"    // a field the kind does not have (schema)
	RuleType            Rule = "type"             // a value of the wrong type (schema)
	RuleRequired        Rule = "required"         // a required field is empty (schema)
	RuleName            Rule = "name"             // metadata.name is not a DNS-1123 subdomain (schema)
	RuleEnum            Rule = "enum"             // a value outside its allowed set (schema)
	RuleMAC             Rule = "mac"              // malformed MAC address (schema)
	RuleBMCAddress      Rule = "bmc-address"      // BMC address without a known scheme (schema)
	RuleQuantity        Rule = "quantity"         // not a Kubernetes quantity (schema)
	RuleChecksum        Rule = "checksum"         // checksum not hex or length not fitting checksumType (schema)
	RuleAddress         Rule = "address"          // malformed IP address, CIDR or range
	RuleCIDRGateway     Rule = "cidr-gateway"     // gateway is network/broadcast/outside the subnet
	RuleRange           Rule = "range"            // malformed or reversed range
	RulePoolForm        Rule = "pool-form"        // both cidr and ranges, or neither
	RuleRangeGateway    Rule = "range-gateway"    // range pool without consistent prefix/gateway
	RulePoolOverlap     Rule = "pool-overlap"     // allocatable addresses overlap another pool or a reserved address
	RuleVIP             Rule = "vip"              // boot proxy VIP malformed, outside the network, allocatable, or a pool's gateway/network/broadcast
	RulePinnedIP        Rule = "pinned-ip"        // pinned IP malformed, outside the network, allocatable, or a pool's gateway/network/broadcast
	RuleReference       Rule = "reference"        // reference to a missing object
	RuleDuplicateName   Rule = "duplicate-name"   // two documents of one kind share a name
	RuleDuplicateMAC    Rule = "duplicate-mac"    // a MAC used twice
	RuleSSHKey          Rule = "ssh-key"          // not an SSH public key
	RuleInterface       Rule = "interface"        // bond/VLAN referencing missing interfaces, duplicate names
	RuleSelector        Rule = "selector"         // invalid label selector
	RuleSite            Rule = "site"             // not exactly one Site
	RuleTemplate        Rule = "template"         // a Go template that does not parse, or fails when render executes it
	RuleMachineName     Rule = "machine-name"     // a machine name used twice
	RuleURL             Rule = "url"              // malformed URL
	RuleValue           Rule = "value"            // a value that does not fit the rest of the document
	RuleOutOfRange      Rule = "out-of-range"     // a number outside its limits (schema)
	RuleKustomize       Rule = "kustomize"        // kustomize build failed
	RuleSecret          Rule = "secret"           // a template Secret without its label or key
	RuleState           Rule = "state"            // the state directory is inconsistent
	RuleEmptyInventory  Rule = "empty-inventory"  // no documents found
	RuleMetalLBOverlap  Rule = "metallb-overlap"  // a MetalLB pool overlaps a pool's allocatable addresses
	RuleDuplicatePinned Rule = "duplicate-pinned" // two machines pinned to one host, or one IP pinned twice
	RuleUserData        Rule = "user-data"        // user-data that render rejects (not cloud-config, not one YAML mapping)
	RuleNetworkData     Rule = "network-data"     // network-data that render rejects (not a mapping, no interface to carry the address)
	RuleDataSize        Rule = "data-size"        // a user-data or network-data larger than render's limit
	RuleObjectName      Rule = "object-name"      // two rendered objects with one name
)

// Rules of what validates being what can be applied and served: addresses
// the network can use, names and labels the API server takes, BMC URLs and
// MACs that name one device, and bounded machine counts.
const (
	RuleAddressSpace Rule = "address-space"     // a pool wider than /8 (IPv4) or /48 (IPv6), or in multicast, loopback, link-local, unspecified or IPv4-mapped space
	RuleNetworkBcast Rule = "network-broadcast" // a range pool hands out its network or broadcast address without allowNetworkAndBroadcast
	RuleProvisioning Rule = "provisioning-pool" // a provisioning pool the boot proxy cannot serve (IPv6 pool, DNS or NTP server)
	RuleAPIName      Rule = "api-name"          // a name the API server would refuse, as written or in the object names and label values metalgit makes of it
	RuleLabel        Rule = "label"             // a Host label key or value the API server would refuse, or a key under metalgit.dev/
	RuleBMCURL       Rule = "bmc-url"           // a BMC address with credentials, no host, a bad port or an IPv6 host without brackets
	RuleMACUnicast   Rule = "mac-unicast"       // a broadcast, multicast or all-zero MAC where a NIC's own address belongs
	RuleMachineLimit Rule = "machine-limit"     // more machines in the inventory than MaxMachines
	RuleKernelParam  Rule = "kernel-param"      // an extra kernel parameter the boot proxy cannot write into an iPXE script, or too many
)

// SchemaRules are the rules that the JSON Schemas express as well: for
// these, the Go validation and the JSON Schema give the same verdict.
var SchemaRules = []Rule{RuleKind, RuleUnknownField, RuleType, RuleRequired, RuleName, RuleEnum, RuleMAC, RuleBMCAddress, RuleQuantity, RuleChecksum, RuleOutOfRange}

// Problem is one thing wrong with an inventory, located as precisely as the
// loader can: file, line, document and field.
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Object  string `json:"object,omitempty"` // Kind/name
	Field   string `json:"field,omitempty"`  // dotted path: spec.interfaces[2].bond.mode
	Rule    Rule   `json:"rule"`
	Message string `json:"message"`
}

// String formats the problem as FILE:LINE: Kind/name: field.path: message.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	}
	if p.Object != "" {
		b.WriteString(p.Object)
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is a list of problems; as an error it prints one per line.
type Problems []Problem

// Error implements error.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Sort orders problems by file, line, object, field and message.
func (ps Problems) Sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Object, b.Object),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// Source is where a document came from: its file, its first line and its
// parsed node, so that a problem in any field can name that field's line.
type Source struct {
	File string
	Line int
	// digest names the content the object was decoded from (see Digest).
	digest Digest
	node   *yaml.Node // the document's top-level mapping, as decoded
	lines  *yaml.Node // the same document as written in File, for line numbers; nil if unknown
	// bad holds the paths whose values did not decode, so that validation
	// adds no follow-on problems about them.
	bad map[string]bool
}

// failed reports whether the value at path, or one around it, did not decode.
func (s Source) failed(path string) bool {
	if len(s.bad) == 0 {
		return false
	}
	for p := path; ; {
		if s.bad[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return false
		}
		p = p[:i]
	}
}

// nodeAt returns the node of the field at path, or nil.
func (s Source) nodeAt(path string) *yaml.Node {
	n := s.lines
	for _, seg := range splitPath(path) {
		n = resolveAlias(n)
		switch {
		case n == nil:
			return nil
		case seg.index >= 0 && n.Kind == yaml.SequenceNode && seg.index < len(n.Content):
			n = n.Content[seg.index]
		case seg.index < 0 && n.Kind == yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg.key {
					next = n.Content[i+1]
					break
				}
			}
			if next == nil {
				return nil
			}
			n = next
		default:
			return nil
		}
	}
	return resolveAlias(n)
}

// NewSource returns a Source for a document parsed from file; node is the
// document's top-level mapping and may be nil.
func NewSource(file string, node *yaml.Node) Source {
	s := Source{File: file, node: node, lines: node}
	if node != nil {
		s.Line = node.Line
	}
	return s
}

// TemplateLine returns the file line of line n (1-based) of the text at
// path when the text is written as a block scalar (| or >), whose lines
// follow the key's line; otherwise, or when n is past the text's last
// line, it returns what LineOf returns for a line it cannot place.
func (s Source) TemplateLine(path string, n int) int {
	var text string
	if node := s.nodeAt(path); node != nil {
		text = node.Value
	}
	return s.templateLine(path, n, text)
}

// templateLine is TemplateLine for a template whose text is given: the
// field's own text, or what it decodes to (a Secret's base64 data), whose
// line count bounds n.
func (s Source) templateLine(path string, n int, text string) int {
	node := s.nodeAt(path)
	if node == nil || node.Kind != yaml.ScalarNode || node.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 || n < 1 {
		return s.LineOf(path)
	}
	last := strings.Count(strings.TrimRight(text, "\n"), "\n") + 1
	return node.Line + min(n, last)
}

// LineOf returns the line of the field at path (spec.interfaces[2].name),
// or of its nearest present ancestor, or the document's line.
func (s Source) LineOf(path string) int {
	if s.lines == nil {
		return s.Line
	}
	n := s.lines
	line := s.Line
	for _, seg := range splitPath(path) {
		n = resolveAlias(n)
		switch {
		case n.Kind == yaml.MappingNode && seg.index < 0:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg.key {
					line = n.Content[i].Line
					next = n.Content[i+1]
					break
				}
			}
			if next == nil {
				return line
			}
			n = next
		case n.Kind == yaml.SequenceNode && seg.index >= 0 && seg.index < len(n.Content):
			n = n.Content[seg.index]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

type pathSeg struct {
	key   string
	index int // -1 for a key
}

// splitPath splits "spec.a[2].b[key.with.dots]" into segments.
func splitPath(path string) []pathSeg {
	var segs []pathSeg
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return segs
			}
			inner := path[1:end]
			if i, err := strconv.Atoi(inner); err == nil {
				segs = append(segs, pathSeg{index: i})
			} else {
				segs = append(segs, pathSeg{key: inner, index: -1})
			}
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			segs = append(segs, pathSeg{key: path[:end], index: -1})
			path = path[end:]
		}
	}
	return segs
}

// joinKey appends a map key or field name to a path.
func joinKey(path, key string) string {
	if strings.ContainsAny(key, ".[]") || key == "" {
		return path + "[" + key + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// joinIndex appends a list index to a path.
func joinIndex(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// has reports whether the document has the field at path.
func (s Source) has(path string) bool {
	if s.lines == nil {
		return true
	}
	n := resolveAlias(s.lines)
	for _, seg := range splitPath(path) {
		switch {
		case n == nil:
			return false
		case seg.index >= 0:
			if n.Kind != yaml.SequenceNode || seg.index >= len(n.Content) {
				return false
			}
			n = resolveAlias(n.Content[seg.index])
		case n.Kind == yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg.key {
					next = resolveAlias(n.Content[i+1])
					break
				}
			}
			if next == nil {
				return false
			}
			n = next
		default:
			return false
		}
	}
	return true
}
