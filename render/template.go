package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	yaml "go.yaml.in/yaml/v3"
)

// templateErrRE matches text/template's errors:
// "template: NAME:LINE: msg" (parse) and
// "template: NAME:LINE:COL: executing "NAME" at <.x>: msg" (execution).
var templateErrRE = regexp.MustCompile(`(?s)^template: ([^:]*):(\d+)(?::\d+)?: (?:executing "[^"]*" at <[^>]*>: )?(.*)$`)

// templateError is a template failure reshaped as
// "FIELD: template line N: message".
type templateError struct {
	field string
	line  int
	msg   string
	err   error
}

func (e *templateError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s: template line %d: %s", e.field, e.line, e.msg)
	}
	return fmt.Sprintf("%s: %s", e.field, e.msg)
}

func (e *templateError) Unwrap() error { return e.err }

func reshapeTemplateError(field string, err error) error {
	te := &templateError{field: field, msg: err.Error(), err: err}
	if m := templateErrRE.FindStringSubmatch(err.Error()); m != nil && m[1] == field {
		te.line, _ = strconv.Atoi(m[2])
		te.msg = m[3]
	}
	return te
}

// executeTemplate runs a user-data or network-data template named after its
// field, with missing keys an error and the functions of
// schemas.TemplateFuncs.
func executeTemplate(field, text string, data any) (string, error) {
	t, err := template.New(field).Option("missingkey=error").Funcs(templateFuncs()).Parse(text)
	if err != nil {
		return "", reshapeTemplateError(field, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return "", reshapeTemplateError(field, err)
	}
	return buf.String(), nil
}

// templateFuncs implements, with Helm's semantics, the functions that
// schemas.TemplateFuncs names.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"toYaml":  tfToYAML,
		"toJson":  tfToJSON,
		"indent":  tfIndent,
		"nindent": func(n int, s string) string { return "\n" + tfIndent(n, s) },
		"quote":   tfQuote,
		"join":    tfJoin,
		"default": tfDefault,
		"upper":   strings.ToUpper,
		"lower":   strings.ToLower,
		"trim":    strings.TrimSpace,
		"replace": func(from, to, s string) string { return strings.ReplaceAll(s, from, to) },
	}
}

// jsonPlain turns v into JSON-shaped values (maps, lists, json.Number, strings,
// bools) so that structs are spelt by their json tags and maps sort.
func jsonPlain(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return jsonNumbers(out), nil
}

// jsonNumbers turns json.Numbers into int64 or float64, which YAML spells as
// numbers.
func jsonNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = jsonNumbers(x)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	}
	return v
}

// tfToYAML renders v as block YAML with 2-space indentation and no trailing
// newline, like Helm's toYaml.
func tfToYAML(v any) (string, error) {
	p, err := jsonPlain(v)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// tfToJSON renders v as compact JSON, like Helm's toJson.
func tfToJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func tfIndent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// tfStrval spells a value as Helm does.
func tfStrval(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []byte:
		return string(t)
	case error:
		return t.Error()
	case fmt.Stringer:
		return t.String()
	}
	return fmt.Sprintf("%v", v)
}

// tfQuote double-quotes each non-nil argument and joins them with spaces.
func tfQuote(args ...any) string {
	var out []string
	for _, a := range args {
		if a != nil {
			out = append(out, strconv.Quote(tfStrval(a)))
		}
	}
	return strings.Join(out, " ")
}

// tfJoin joins a list's non-nil elements with sep; a single value is spelt
// on its own.
func tfJoin(sep string, v any) string {
	if v == nil {
		return ""
	}
	if t, ok := v.([]string); ok {
		return strings.Join(t, sep)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return tfStrval(v)
	}
	var parts []string
	for i := range rv.Len() {
		e := rv.Index(i).Interface()
		if e != nil {
			parts = append(parts, tfStrval(e))
		}
	}
	return strings.Join(parts, sep)
}

// tfDefault returns the given value unless it is missing or empty (nil, zero,
// "", an empty list or map, false), else d. Note that under missingkey=error
// {{ .Properties.x | default 1 }} still fails for a missing x; write
// {{ index .Properties "x" | default 1 }}.
func tfDefault(d any, given ...any) any {
	if len(given) == 0 || tfEmpty(given[0]) {
		return d
	}
	return given[0]
}

func tfEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	case reflect.Struct:
		return false
	}
	return rv.IsZero()
}
