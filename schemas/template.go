package schemas

import "text/template"

// TemplateFuncs names the functions that user-data and network-data
// templates may call, beyond Go's built-ins; rendering supplies the real
// implementations under the same names.
func TemplateFuncs() template.FuncMap {
	stub := func(...any) (string, error) { return "", nil }
	return template.FuncMap{
		"toYaml": stub, "toJson": stub, "indent": stub, "nindent": stub, "quote": stub,
		"join": stub, "default": stub, "upper": stub, "lower": stub, "trim": stub, "replace": stub,
	}
}
