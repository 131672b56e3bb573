package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/metalgit/metalgit/schemas"
)

// cloudConfigHeader is the first line of every user-data metalgit writes.
const cloudConfigHeader = "#cloud-config"

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
