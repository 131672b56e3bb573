package render

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

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
	return schemas.ObjectRef(schemas.KindNodeType, name)
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
		src := source{object: schemas.ObjectRef(schemas.KindSecret, secret), via: obj + " " + secretField, template: true}
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
