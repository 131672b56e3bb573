package render

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/metalgit/metalgit/schemas"
)

// MachineContext is what user-data and network-data templates see, and what
// the generated network data is built from.
type MachineContext struct {
	Machine     MachineInfo    // .Machine.Name, .Machine.NodeType, .Machine.Set ("" for a standalone Machine)
	Host        HostInfo       // .Host.Name, .Host.Labels, .Host.BootMACAddress, .Host.Interfaces
	Properties  map[string]any // merged Site < NodeType < MachineSet < Machine (later wins, deep-merged maps)
	SSHKeys     []string       // authorized_keys lines, in NodeType order
	AllocatedIP string         // the machine's address, no prefix ("10.0.0.20")
	Gateway     string
	Prefix      int
	DNSServers  []string
	// Not visible to templates (lowercase field names in the template data you build):
	NodeType  *schemas.NodeType          // userData, userDataTemplate(Secret), networkData(...) fields
	Bootstrap []string                   // Site spec.bootstrap.runcmd, appended after the user's own runcmd
	Secrets   map[string]*schemas.Secret // inventory Secrets by name, for *TemplateSecret

	templates *templateCache // parsed templates shared by one render; nil parses every time
	checkOnly bool           // a check: generated network data need not be written (generateNetworkData)
}

// MachineInfo identifies a machine to templates.
type MachineInfo struct{ Name, NodeType, Set string }

// HostInfo describes the host a machine is bound to. Templates see the Go
// field names: .Host.Interfaces are schemas.Interface values, so a
// template writes {{ (index .Host.Interfaces 0).MACAddress }}.
type HostInfo struct {
	Name           string
	Labels         map[string]string
	BootMACAddress string
	Interfaces     []schemas.Interface
}

// cloudConfigHeader is the first line of every user-data metalgit writes.
const cloudConfigHeader = "#cloud-config"

// BootLinkID is the link id of the boot NIC in generated network data when
// the host lists no interfaces. The id is only a reference inside
// network_data.json; cloud-init and glean find the device by its MAC.
const BootLinkID = "eth0"

// templateData is what a template sees: exactly the keys Machine, Host,
// Properties, SSHKeys, AllocatedIP, Gateway, Prefix and DNSServers.
func (mc MachineContext) templateData() map[string]any {
	props := mc.Properties
	if props == nil {
		props = map[string]any{}
	}
	keys := mc.SSHKeys
	if keys == nil {
		keys = []string{}
	}
	dns := mc.DNSServers
	if dns == nil {
		dns = []string{}
	}
	return map[string]any{
		"Machine":     mc.Machine,
		"Host":        mc.Host,
		"Properties":  props,
		"SSHKeys":     keys,
		"AllocatedIP": mc.AllocatedIP,
		"Gateway":     mc.Gateway,
		"Prefix":      mc.Prefix,
		"DNSServers":  dns,
	}
}

func (mc MachineContext) nodeTypeObject() string {
	name := mc.Machine.NodeType
	if mc.NodeType != nil && mc.NodeType.Metadata.Name != "" {
		name = mc.NodeType.Metadata.Name
	}
	return "NodeType/" + name
}

// source is where a user-data or network-data text came from: a field of
// the node type, or the template of a Secret it refers to.
type source struct {
	text     string
	template bool
	object   string // NodeType/x, Secret/s
	field    string // spec.userDataTemplate, stringData.template; the template's name
	via      string // for a Secret: "NodeType/x spec.userDataTemplateSecret"
}

// fail returns a failure of the source's text or result.
func (s source) fail(rule schemas.Rule, format string, args ...any) *dataError {
	return &dataError{object: s.object, field: s.field, via: s.via, rule: rule, msg: fmt.Sprintf(format, args...)}
}

// pick returns the first source that is set among a literal field, a
// template field and a template Secret field; ok is false when none is.
func (mc MachineContext) pick(literal, literalField, tmpl, tmplField, secret, secretField string) (source, bool, error) {
	obj := mc.nodeTypeObject()
	switch {
	case literal != "":
		return source{text: literal, object: obj, field: literalField}, true, nil
	case tmpl != "":
		return source{text: tmpl, object: obj, field: tmplField, template: true}, true, nil
	case secret != "":
		s := mc.Secrets[secret]
		if s == nil {
			return source{}, false, &dataError{object: obj, field: secretField, rule: schemas.RuleReference,
				msg: fmt.Sprintf("Secret %q does not exist in the inventory", secret)}
		}
		src := source{object: schemas.KindSecret + "/" + secret, via: obj + " " + secretField, template: true}
		if text, ok := s.StringData["template"]; ok {
			src.text, src.field = text, "stringData.template"
			return src, true, nil
		}
		enc, ok := s.Data["template"]
		if !ok {
			return source{}, false, src.fail(schemas.RuleSecret, "no key template in data or stringData")
		}
		src.field = "data.template"
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		if err != nil {
			return source{}, false, src.fail(schemas.RuleSecret, "not base64: %v", err)
		}
		src.text = string(raw)
		return src, true, nil
	}
	return source{}, false, nil
}

// render executes the source when it is a template; a literal is
// returned as it is. Either is bounded by MaxDataSize.
func (s source) render(mc MachineContext, what string) (string, error) {
	if !s.template {
		if len(s.text) > MaxDataSize {
			return "", s.fail(schemas.RuleDataSize, "%s", sizeMessage(what, MaxDataSize))
		}
		return s.text, nil
	}
	out, err := mc.templates.execute(s.field, s.text, mc.templateData())
	var te *templateError
	if errors.As(err, &te) {
		return "", &dataError{object: s.object, field: s.field, via: s.via, line: te.line, rule: te.rule, msg: te.msg, err: te.err}
	}
	return out, err
}

// UserData returns the user-data of one machine: literal userData >
// userDataTemplate > userDataTemplateSecret (Secret key "template", from stringData or base64 data); "" when none is set.
//
// The result is cloud-config: its first line is #cloud-config, the SSH keys
// are added to ssh_authorized_keys (the user's own entries kept, no key
// twice) and the Site's bootstrap commands are appended after the user's own
// runcmd entries. When no user-data is set but there are SSH keys or
// bootstrap commands, a minimal cloud-config with them is returned.
func UserData(mc MachineContext) (string, error) {
	out, err := userData(mc)
	if err != nil {
		return "", fmt.Errorf("rendering user-data for Machine/%s: %w", mc.Machine.Name, err)
	}
	return out, nil
}

func userData(mc MachineContext) (string, error) {
	var spec schemas.NodeTypeSpec
	if mc.NodeType != nil {
		spec = mc.NodeType.Spec
	}
	src, ok, err := mc.pick(spec.UserData, "spec.userData",
		spec.UserDataTemplate, "spec.userDataTemplate",
		spec.UserDataTemplateSecret, "spec.userDataTemplateSecret")
	if err != nil {
		return "", err
	}
	var doc *yaml.Node
	if ok {
		text, err := src.render(mc, "user-data")
		if err != nil {
			return "", err
		}
		doc, err = parseCloudConfig(text)
		if err != nil {
			return "", src.fail(schemas.RuleUserData, "%v", err)
		}
	} else {
		if len(mc.SSHKeys) == 0 && len(mc.Bootstrap) == 0 {
			return "", nil
		}
		doc = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		// What there is to blame when keys and bootstrap alone fail.
		src = source{object: mc.nodeTypeObject(), field: "spec.sshKeys"}
	}
	if err := addSSHKeys(doc, mc.SSHKeys); err != nil {
		return "", src.fail(schemas.RuleUserData, "%v", err)
	}
	if err := appendRuncmd(doc, mc.Bootstrap); err != nil {
		return "", src.fail(schemas.RuleUserData, "%v", err)
	}
	out, err := encodeCloudConfig(doc)
	if err != nil {
		return "", err
	}
	if len(out) > MaxDataSize {
		return "", src.fail(schemas.RuleDataSize, "%s", sizeMessage("user-data, with the SSH keys and the Site's bootstrap commands added,", MaxDataSize))
	}
	return out, nil
}

// parseCloudConfig checks that text is cloud-config (a #cloud-config first
// line and a YAML mapping) and returns the mapping.
func parseCloudConfig(text string) (*yaml.Node, error) {
	first, rest, _ := strings.Cut(text, "\n")
	if strings.TrimRight(first, " \t\r") != cloudConfigHeader {
		return nil, fmt.Errorf("user-data must start with the line %s, not %q", cloudConfigHeader, first)
	}
	// Blank the header instead of dropping it so that YAML errors keep
	// the template's line numbers.
	body := "\n" + rest
	dec := yaml.NewDecoder(strings.NewReader(body))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
		}
		return nil, fmt.Errorf("result is not valid YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("result holds more than one YAML document; cloud-config is one mapping")
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("result is not valid YAML: %w", err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: root.HeadComment}, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("result is not a YAML mapping (line %d); cloud-config is a mapping such as hostname: x", root.Line)
	}
	// Decoding into a map reports duplicate keys, which a node does not.
	var m map[string]any
	if err := root.Decode(&m); err != nil {
		return nil, fmt.Errorf("result is not valid YAML: %w", err)
	}
	return root, nil
}

// yamlMappingValue returns the value node of key in a mapping, or nil.
func yamlMappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// yamlSequenceAt returns the sequence under key, creating it at the end of the
// mapping when absent and filling it in when null.
func yamlSequenceAt(m *yaml.Node, key string) (*yaml.Node, error) {
	v := yamlMappingValue(m, key)
	if v == nil {
		v = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		m.Content = append(m.Content, yamlStrNode(key), v)
		return v, nil
	}
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		*v = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", HeadComment: v.HeadComment, LineComment: v.LineComment, FootComment: v.FootComment}
		return v, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s (line %d) must be a list", key, v.Line)
	}
	if v.Style&yaml.FlowStyle != 0 {
		// Appended entries read better in block style.
		v.Style &^= yaml.FlowStyle
	}
	return v, nil
}

// yamlStrNode is a string scalar. Words that YAML 1.1 (cloud-init's PyYAML)
// reads as booleans are double-quoted.
func yamlStrNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "on", "off", "true", "false", "null", "~", "":
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// sshKeyIdentity is what makes two authorized_keys lines the same key: the
// type and the key material, not the comment.
func sshKeyIdentity(line string) string {
	f := strings.Fields(line)
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return strings.TrimSpace(line)
}

func addSSHKeys(doc *yaml.Node, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	seq, err := yamlSequenceAt(doc, "ssh_authorized_keys")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, n := range seq.Content {
		if n.Kind == yaml.ScalarNode {
			seen[sshKeyIdentity(n.Value)] = true
		}
	}
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" || seen[sshKeyIdentity(k)] {
			continue
		}
		seen[sshKeyIdentity(k)] = true
		seq.Content = append(seq.Content, yamlStrNode(k))
	}
	return nil
}

func appendRuncmd(doc *yaml.Node, cmds []string) error {
	if len(cmds) == 0 {
		return nil
	}
	seq, err := yamlSequenceAt(doc, "runcmd")
	if err != nil {
		return err
	}
	for _, c := range cmds {
		seq.Content = append(seq.Content, yamlStrNode(c))
	}
	return nil
}

func encodeCloudConfig(doc *yaml.Node) (string, error) {
	if len(doc.Content) == 0 && doc.HeadComment == "" && doc.FootComment == "" {
		return cloudConfigHeader + "\n", nil
	}
	var buf bytes.Buffer
	buf.WriteString(cloudConfigHeader + "\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", fmt.Errorf("encoding user-data: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("encoding user-data: %w", err)
	}
	return buf.String(), nil
}

// NetworkData returns the network-data of one machine: literal networkData > networkDataTemplate >
// networkDataTemplateSecret > generated OpenStack network_data.json.
//
// A literal or templated result must be a JSON or YAML mapping and is
// returned as written. The generated form puts the machine's address on
// the first interface with a pool, else on the interface with the boot
// MAC (or the bond it belongs to), else, when the host lists no
// interfaces, on one phy link with id BootLinkID for the boot MAC.
func NetworkData(mc MachineContext) (string, error) {
	out, err := networkData(mc)
	if err != nil {
		return "", fmt.Errorf("rendering network-data for Machine/%s: %w", mc.Machine.Name, err)
	}
	return out, nil
}

func networkData(mc MachineContext) (string, error) {
	var spec schemas.NodeTypeSpec
	if mc.NodeType != nil {
		spec = mc.NodeType.Spec
	}
	src, ok, err := mc.pick(spec.NetworkData, "spec.networkData",
		spec.NetworkDataTemplate, "spec.networkDataTemplate",
		spec.NetworkDataTemplateSecret, "spec.networkDataTemplateSecret")
	if err != nil {
		return "", err
	}
	if !ok {
		return generateNetworkData(mc.Host, mc.AllocatedIP, mc.Prefix, mc.Gateway, mc.DNSServers, true, mc.checkOnly)
	}
	text, err := src.render(mc, "network-data")
	if err != nil {
		return "", err
	}
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return "", src.fail(schemas.RuleNetworkData, "result is not valid JSON or YAML: %v", err)
	}
	if _, isMap := v.(map[string]any); !isMap {
		return "", src.fail(schemas.RuleNetworkData, "result is not a JSON object or YAML mapping; network data is one, such as {\"links\": [...], \"networks\": [...]}")
	}
	return text, nil
}

// MergeProperties deep-merges property maps, later ones winning.
// Maps merge key by key; any other value (lists included) replaces the
// earlier one; a null in a later layer removes the key. The layers are
// not modified and the result shares no maps or lists with them.
func MergeProperties(layers ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, l := range layers {
		mergeInto(out, l)
	}
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
			dm := map[string]any{}
			mergeInto(dm, sm)
			dst[k] = dm
			continue
		}
		dst[k] = deepCopy(v)
	}
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}
