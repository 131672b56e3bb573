package schemas

import (
	"encoding/base64"
	"fmt"
	"text/template"
)

// template checks that a Go template parses. A parse error names the
// template's line and, when the template is a block scalar (| or >), the
// file line it is on; otherwise the field's line.
func (v *validator) template(src Source, obj, field, text string) {
	if text == "" {
		return
	}
	_, err := template.New(field).Option("missingkey=error").Funcs(TemplateFuncs()).Parse(text)
	if err == nil {
		return
	}
	msg := err.Error()
	line := src.LineOf(field)
	if tl, _, m, ok := SplitTemplateError(field, err); ok {
		msg = fmt.Sprintf("template line %d: %s", tl, m)
		line = src.templateLine(field, tl, text)
	}
	v.problems = append(v.problems, Problem{File: src.File, Line: line, Object: obj, Field: field, Rule: RuleTemplate,
		Message: "template does not parse: " + msg})
}

// templateSecret checks the template Secret a node type's field names:
// that the inventory has it, with the key template, and that its template
// parses.
func (v *validator) templateSecret(src Source, obj, field, name string) {
	if name == "" {
		return
	}
	s := v.ix.Secrets[name]
	if s == nil {
		v.at(src, obj, field, RuleReference, "Secret %q does not exist in the inventory; add a v1 Secret with label %s and key template", name, LabelUserDataTemplateType)
		return
	}
	if v.secretRefs == nil {
		v.secretRefs = map[string]string{}
	}
	if _, seen := v.secretRefs[name]; !seen {
		v.secretRefs[name] = obj + " " + field
	}
	sobj := ObjectRef(KindSecret, name)
	if text, ok := s.StringData["template"]; ok {
		v.template(s.Source, sobj, "stringData.template", text)
		return
	}
	enc, ok := s.Data["template"]
	if !ok {
		v.at(s.Source, sobj, "data", RuleSecret, "a template Secret needs the key template (in data or stringData); it is referenced by %s", v.secretRefs[name])
		return
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		v.at(s.Source, sobj, "data.template", RuleSecret, "data.template is not base64: %v; use stringData for plain text", err)
		return
	}
	v.template(s.Source, sobj, "data.template", string(raw))
}

// secrets checks that every inventory Secret is a template Secret (it
// carries LabelUserDataTemplateType): BMC credentials never belong in Git.
// It runs after nodeTypes, whose references it names.
func (v *validator) secrets() {
	for _, s := range v.inv.Secrets {
		if _, ok := s.Metadata.Labels[LabelUserDataTemplateType]; ok {
			continue
		}
		ref := ""
		if by, ok := v.secretRefs[s.Metadata.Name]; ok {
			ref = " (it is referenced by " + by + ")"
		}
		v.at(s.Source, ObjectRef(KindSecret, s.Metadata.Name), "metadata.labels", RuleSecret,
			"an inventory Secret is for templates only and must carry the label %s%s; BMC credentials never belong in Git", LabelUserDataTemplateType, ref)
	}
}
